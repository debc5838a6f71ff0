"""Sums of squared sample weights (Σw²) per confusion bin and per score bin, in every engine.

The in-memory engine is checked against a hand-derived table; DuckDB against the in-memory
engine (Spark's checks are in ``test_engine_spark.py``, which owns the Spark session; every
engine-equivalence test there and in ``test_engine_duckdb.py`` also compares Σw² through
``_engines.assert_same_statistics``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _engines import (
    ROLES,
    assert_same_statistics,
    memory_statistics,
    predictions_frame,
    write,
    write_parts,
)

from audit import count_statistics, prepare_data
from audit._engines import Roles, count_files, find_files
from audit._statistics import CellStatistics

#: Eight rows, two cells; weights are binary fractions, so every sum below is exact.
#:
#: ====  ===  ===  ===  ====  ==========================
#: g     y    p    s    w     confusion bin, score bin
#: ====  ===  ===  ===  ====  ==========================
#: a     0    0    0.2  1.5   tn, (y=0, s=0.2)
#: a     0    0    0.2  2.0   tn, (y=0, s=0.2)
#: a     1    1    0.8  3.0   tp, (y=1, s=0.8)
#: a     1    0    0.2  0.5   fn, (y=1, s=0.2)
#: b     0    1    0.8  4.0   fp, (y=0, s=0.8)
#: b     1    1    0.8  1.0   tp, (y=1, s=0.8)
#: b     1    1    0.8  2.5   tp, (y=1, s=0.8)
#: b     0    0    0.2  0.0   tn, (y=0, s=0.2)   (a zero weight is allowed)
#: ====  ===  ===  ===  ====  ==========================
TINY = pd.DataFrame(
    {
        "g": list("aaaabbbb"),
        "y": [0, 0, 1, 1, 0, 1, 1, 0],
        "p": [0, 0, 1, 0, 1, 1, 1, 0],
        "s": [0.2, 0.2, 0.8, 0.2, 0.8, 0.8, 0.8, 0.2],
        "w": [1.5, 2.0, 3.0, 0.5, 4.0, 1.0, 2.5, 0.0],
    }
)

# Σw² per cell and confusion bin (tn, fp, fn, tp):
#   a: tn = 1.5² + 2.0² = 2.25 + 4 = 6.25;  fp = 0;  fn = 0.5² = 0.25;  tp = 3.0² = 9
#   b: tn = 0.0² = 0;  fp = 4.0² = 16;  fn = 0;  tp = 1.0² + 2.5² = 1 + 6.25 = 7.25
CONFUSION_WEIGHT_SQ = [[6.25, 0.0, 0.25, 9.0], [0.0, 16.0, 0.0, 7.25]]
# (For contrast, Σw: a = [3.5, 0, 0.5, 3]; b = [0, 4, 0, 3.5]; counts a = [2, 0, 1, 1].)
CONFUSION_WEIGHT = [[3.5, 0.0, 0.5, 3.0], [0.0, 4.0, 0.0, 3.5]]

# Σw² per cell, label and score bin; two distinct scores, so exact bins (0.2, 0.8):
#   a, y=0: 0.2 → 1.5² + 2.0² = 6.25;  0.8 → 0
#   a, y=1: 0.2 → 0.5² = 0.25;         0.8 → 3.0² = 9
#   b, y=0: 0.2 → 0.0² = 0;            0.8 → 4.0² = 16
#   b, y=1: 0.2 → 0;                   0.8 → 1.0² + 2.5² = 7.25
SCORE_WEIGHT_SQ = [[[6.25, 0.0], [0.25, 9.0]], [[0.0, 16.0], [0.0, 7.25]]]

TINY_ROLES = Roles(y_true="y", y_pred="p", sensitive_features=("g",), y_score="s",
                   sample_weight="w")  # fmt: skip


def _tiny_memory(weighted: bool) -> CellStatistics:
    prepared = prepare_data(
        TINY,
        y_true="y",
        y_pred="p",
        sensitive_features=["g"],
        y_score="s",
        sample_weight="w" if weighted else None,
    )
    return count_statistics(prepared)


def _check_tiny(stats: CellStatistics) -> None:
    assert stats.categories == (("a", "b"),)
    assert stats.weighted
    assert stats.confusion_weight_sq is not None
    np.testing.assert_array_equal(stats.confusion_weight_sq, CONFUSION_WEIGHT_SQ)
    np.testing.assert_array_equal(stats.confusion_weight, CONFUSION_WEIGHT)
    assert stats.scores is not None
    assert stats.scores.exact
    np.testing.assert_array_equal(stats.scores.edges, [0.2, 0.8, 0.8])
    assert stats.scores.weight_sq is not None
    assert stats.scores.weight_sq.shape == stats.scores.weight.shape == (2, 2, 2)
    np.testing.assert_array_equal(stats.scores.weight_sq, SCORE_WEIGHT_SQ)


def test_the_in_memory_engine_counts_the_hand_derived_squared_weights() -> None:
    _check_tiny(_tiny_memory(weighted=True))


def test_the_in_memory_engines_squared_weights_do_not_depend_on_the_chunks() -> None:
    prepared = prepare_data(
        TINY, y_true="y", y_pred="p", sensitive_features=["g"], y_score="s", sample_weight="w"
    )
    _check_tiny(count_statistics(prepared, chunk=3))  # chunks split cells and bins


def test_duckdb_counts_the_hand_derived_squared_weights(tmp_path: Path) -> None:
    path = write(TINY, tmp_path / "tiny.parquet")
    _check_tiny(count_files(find_files(path), TINY_ROLES, "duckdb").statistics)


def test_unweighted_and_regression_audits_leave_them_none(tmp_path: Path) -> None:
    unweighted = _tiny_memory(weighted=False)
    assert not unweighted.weighted
    assert unweighted.confusion_weight_sq is None
    assert unweighted.scores is not None
    assert unweighted.scores.weight_sq is None

    path = write(TINY, tmp_path / "tiny.parquet")
    roles = Roles(**{**TINY_ROLES.__dict__, "sample_weight": None})
    duck = count_files(find_files(path), roles, "duckdb").statistics
    assert duck.confusion_weight_sq is None
    assert duck.scores is not None
    assert duck.scores.weight_sq is None

    # A weighted regression audit: its moments carry the weights; no confusion bins.
    regression = Roles(y_true="y", y_pred="s", sensitive_features=("g",), sample_weight="w",
                       task="regression")  # fmt: skip
    for stats in (
        memory_statistics(path, regression),
        count_files(find_files(path), regression, "duckdb").statistics,
    ):
        assert stats.weighted
        assert stats.regression is not None
        assert stats.confusion_weight_sq is None
        assert stats.scores is None


@pytest.mark.parametrize("dtype", ["int32", "int64", "float64"])
def test_duckdb_equals_the_in_memory_engine_over_parts(tmp_path: Path, dtype: str) -> None:
    """A random weighted table with scores in three Parquet parts. Integer weights whose
    squares overflow their type (int32: 60,000² > 2³¹; int64: 4·10⁹² > 2⁶³) are squared as
    doubles, as in memory; some weights are 0."""
    frame = predictions_frame(6_000, seed=11, score_decimals=3)
    rng = np.random.default_rng(11)
    if dtype == "int32":
        frame["weight"] = rng.integers(0, 60_000, len(frame)).astype(np.int32)
    elif dtype == "int64":
        frame["weight"] = rng.integers(0, 4_000_000_000, len(frame)).astype(np.int64)
    whole = write(frame, tmp_path / "whole.parquet")
    parts = write_parts(frame, tmp_path / "parts")
    want = memory_statistics(whole, ROLES)
    got = count_files(find_files(parts), ROLES, "duckdb").statistics
    assert_same_statistics(got, want)  # Σw² included, to rounding
    assert want.confusion_weight_sq is not None
    assert got.confusion_weight_sq is not None
    assert want.scores is not None
    assert want.scores.weight_sq is not None
    # Σw² differs from Σw and from the counts here (so the comparison is not vacuous), and
    # it adds up to the table's Σw² (np.dot as the peer).
    w = frame["weight"].to_numpy(np.float64)
    total = float(np.dot(w, w))
    assert got.confusion_weight_sq.sum() == pytest.approx(total, rel=1e-12)
    assert want.scores.weight_sq.sum() == pytest.approx(total, rel=1e-12)
    assert not np.allclose(want.confusion_weight_sq, want.confusion_weight)


def test_few_distinct_scores_sharing_a_bin_count_them_by_value(tmp_path: Path) -> None:
    """Five distinct scores in 20 equal-width bins, two in the first bin: the groups are
    counted again by score value (a second GROUP BY); Σw² comes from that one."""
    frame = predictions_frame(3_000, seed=5)
    rng = np.random.default_rng(5)
    frame["score"] = rng.choice([0.01, 0.02, 0.5, 0.51, 0.9], len(frame))
    path = write(frame, tmp_path / "few.parquet")
    roles = Roles(**{**ROLES.__dict__, "score_bins": 20})
    steps: list[str] = []
    got = count_files(find_files(path), roles, "duckdb", on_step=steps.append).statistics
    assert any(s.startswith("groups: by score value") for s in steps)
    want = memory_statistics(path, roles)
    assert want.scores is not None
    assert want.scores.exact
    assert_same_statistics(got, want)
