"""The in-memory engine's median of the scores, found from the histogram's bins.

Only the scores of the bins that hold the two middle rows are sorted; the result must be
``np.median``'s, and the rows above it per cell the direct count, whatever the ties, the
binning (exact or equal-width) and the chunking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import count_statistics, prepare_data


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 400),
    distinct=st.sampled_from([1, 2, 7, 50, 10_000]),
    bins=st.sampled_from([10, 20, 10_000]),
    chunk=st.sampled_from([7, 1 << 21]),
    weighted=st.booleans(),
)
def test_median_and_rows_above_it(
    seed: int, n: int, distinct: int, bins: int, chunk: int, weighted: bool
) -> None:
    rng = np.random.default_rng(seed)
    score = np.round(rng.random(n) * distinct) / distinct  # ties when few distinct values
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "g": rng.choice(["a", "b", "c"], n),
            "s": score,
            "w": rng.random(n) + 0.5,
        }
    )
    data = prepare_data(
        frame, y_true="y", y_pred="p", sensitive_features=["g"], y_score="s",
        sample_weight="w" if weighted else None,
    )  # fmt: skip
    stats = count_statistics(data, score_bins=bins, chunk=chunk)
    hist = stats.scores
    assert hist is not None
    median = float(np.median(score))
    assert hist.median == median
    above = score > median
    cells = stats.categories[0]
    for i, cell in enumerate(stats.cells[:, 0]):
        mask = above & (frame["g"].to_numpy() == cells[cell])
        assert hist.above_median_count[i] == mask.sum()
        want = frame["w"].to_numpy()[mask].sum() if weighted else mask.sum()
        assert abs(hist.above_median_weight[i] - want) <= 1e-9 * max(1.0, want)
