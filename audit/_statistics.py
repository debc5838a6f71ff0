"""The counting step: one pass over the rows into sufficient statistics per intersectional cell.

A *cell* is one combination of the categories of every sensitive feature (``Female × Black``).
Everything fairtrail reports — per-group rates, disparities, bootstrap replicates — is a pure
function of the :class:`CellStatistics` computed here. This is the only module that sees rows,
so it is the only one an out-of-core engine (DuckDB, Spark) has to replace.

Confusion bins are ordered ``(tn, fp, fn, tp)``: bin index ``2 * y_true + y_pred``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audit._validation import PreparedData

__all__ = ["CONFUSION_BINS", "CellStatistics", "ScoreHistogram", "count_statistics"]

CONFUSION_BINS = ("tn", "fp", "fn", "tp")

#: Number of equal-width bins of the expected calibration error (over [0, 1]).
ECE_BINS = 10


@dataclass(frozen=True)
class ScoreHistogram:
    """Per-cell, per-label histograms of the score, with weighted moments per bin.

    Arrays have shape ``(n_cells, 2, n_bins)``; axis 1 is the true label (0, 1). ``exact`` is
    True when every bin holds a single distinct score value: AUC, Brier score and calibration
    error computed from the histogram then equal the row-level values exactly.
    """

    edges: npt.NDArray[np.float64]
    exact: bool
    count: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    score_sum: npt.NDArray[np.float64]
    score_sumsq: npt.NDArray[np.float64]
    ece_bin: npt.NDArray[np.int64]
    median: float
    above_median_count: npt.NDArray[np.int64]
    above_median_weight: npt.NDArray[np.float64]

    @property
    def n_bins(self) -> int:
        """Number of score bins."""
        return int(self.count.shape[2])


@dataclass(frozen=True)
class CellStatistics:
    """Sufficient statistics of a binary-classification audit, one row per observed cell.

    Attributes
    ----------
    features : tuple of str
        Sensitive feature names, in the order of the columns of ``cells``.
    categories : tuple of tuple of str
        Category labels of each feature; ``cells`` holds codes into these.
    cells : ndarray of shape (n_cells, n_features)
        The category codes of each observed cell.
    confusion_count : ndarray of shape (n_cells, 4)
        Row counts per confusion bin ``(tn, fp, fn, tp)``.
    confusion_weight : ndarray of shape (n_cells, 4)
        Sample-weight sums per bin (equal to the counts when unweighted).
    missing_count : ndarray of shape (n_cells, n_columns)
        Missing values per column of the input, per cell.
    scores : ScoreHistogram or None
        Score statistics when a score column was given.
    """

    features: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    cells: npt.NDArray[np.int64]
    confusion_count: npt.NDArray[np.int64]
    confusion_weight: npt.NDArray[np.float64]
    missing_columns: tuple[str, ...]
    missing_count: npt.NDArray[np.int64]
    scores: ScoreHistogram | None
    weighted: bool

    @property
    def n_rows(self) -> int:
        """Total number of rows counted."""
        return int(self.confusion_count.sum())

    @property
    def n_cells(self) -> int:
        """Number of observed cells."""
        return int(self.cells.shape[0])


def _cell_index(
    data: PreparedData,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Map each row to a dense index of its observed cell; return (row_cell, cell_codes)."""
    sizes = [len(f.categories) for f in data.features]
    n_possible = int(np.prod(sizes, dtype=np.float64))
    key = np.zeros(data.n_rows, dtype=np.int64)
    for feature, size in zip(data.features, sizes, strict=True):
        key *= size
        key += feature.codes
    if n_possible <= 4 * max(data.n_rows, 1_000_000):
        present = np.bincount(key, minlength=n_possible) > 0
        observed = np.flatnonzero(present)
        dense = np.full(n_possible, -1, dtype=np.int64)
        dense[observed] = np.arange(observed.size)
        row_cell = dense[key]
    else:  # too many possible combinations for a lookup table: sort instead
        observed, row_cell = np.unique(key, return_inverse=True)
    codes = np.empty((observed.size, len(sizes)), dtype=np.int64)
    rest = observed.copy()
    for j in range(len(sizes) - 1, -1, -1):
        codes[:, j] = rest % sizes[j]
        rest //= sizes[j]
    return row_cell.astype(np.int64, copy=False), codes


def _score_bins(
    score: npt.NDArray[np.float64], max_bins: int, probability: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], bool, npt.NDArray[np.int64]]:
    """Assign each score to a bin; return (row_bin, edges, exact, ece_bin_of_bin)."""
    # Exact bins (one per distinct value) when there are few distinct values.
    sample = score if score.size <= 200_000 else score[:: max(1, score.size // 200_000)]
    if np.unique(sample).size <= max_bins:
        values = np.unique(score)
        if values.size <= max_bins:
            row_bin = np.searchsorted(values, score).astype(np.int64)
            edges = np.append(values, values[-1])
            ece = np.minimum(np.floor(values * ECE_BINS), ECE_BINS - 1).astype(np.int64)
            return row_bin, edges, True, np.clip(ece, 0, ECE_BINS - 1)
    n_bins = int(np.ceil(max_bins / ECE_BINS) * ECE_BINS)
    lo, hi = (0.0, 1.0) if probability else (float(score.min()), float(score.max()))
    width = (hi - lo) or 1.0
    row_bin = np.minimum(((score - lo) / width * n_bins).astype(np.int64), n_bins - 1)
    edges = lo + width * np.arange(n_bins + 1) / n_bins
    ece = np.arange(n_bins) * ECE_BINS // n_bins
    return row_bin, edges, False, ece.astype(np.int64)


def count_statistics(
    data: PreparedData, *, score_bins: int = 10_000, probability: bool = True
) -> CellStatistics:
    """Count a validated table into per-cell sufficient statistics, in one pass.

    Parameters
    ----------
    data : PreparedData
        Output of :func:`audit._validation.prepare_data`.
    score_bins : int, default 10000
        Maximum number of score bins. Scores with at most this many distinct values get one
        bin per value (exact AUC); otherwise equal-width bins (AUC within a bound reported
        by the metrics).
    probability : bool, default True
        Scores are probabilities: equal-width bins span [0, 1].

    Returns
    -------
    CellStatistics

    Examples
    --------
    >>> import pandas as pd
    >>> from audit._validation import prepare_data
    >>> df = pd.DataFrame({"y": [0, 1, 1, 0], "p": [0, 1, 0, 0], "g": list("aabb")})
    >>> stats = count_statistics(prepare_data(df, y_true="y", y_pred="p",
    ...                                       sensitive_features=["g"]))
    >>> stats.confusion_count.tolist()  # rows: cells a, b; columns: tn, fp, fn, tp
    [[1, 0, 0, 1], [1, 0, 1, 0]]
    """
    row_cell, codes = _cell_index(data)
    n_cells = codes.shape[0]
    bin_index = row_cell * 4 + data.y_true.astype(np.int64) * 2 + data.y_pred
    count = np.bincount(bin_index, minlength=n_cells * 4).reshape(n_cells, 4)
    w = data.sample_weight
    weight = (
        count.astype(np.float64)
        if w is None
        else np.bincount(bin_index, weights=w, minlength=n_cells * 4).reshape(n_cells, 4)
    )
    missing_columns = tuple(data.missing)
    missing_count = np.zeros((n_cells, len(missing_columns)), dtype=np.int64)
    for j, column in enumerate(missing_columns):
        mask = data.missing[column]
        if mask.any():
            missing_count[:, j] = np.bincount(row_cell[mask], minlength=n_cells)
    scores = None
    if data.y_score is not None:
        scores = _score_histogram(data, row_cell, n_cells, score_bins, probability)
    return CellStatistics(
        features=tuple(f.name for f in data.features),
        categories=tuple(f.categories for f in data.features),
        cells=codes,
        confusion_count=count.astype(np.int64),
        confusion_weight=weight.astype(np.float64),
        missing_columns=missing_columns,
        missing_count=missing_count,
        scores=scores,
        weighted=w is not None,
    )


def _score_histogram(
    data: PreparedData,
    row_cell: npt.NDArray[np.int64],
    n_cells: int,
    max_bins: int,
    probability: bool,
) -> ScoreHistogram:
    score = data.y_score
    assert score is not None
    row_bin, edges, exact, ece_bin = _score_bins(score, max_bins, probability)
    n_bins = ece_bin.size
    key = (row_cell * 2 + data.y_true) * n_bins + row_bin
    size = n_cells * 2 * n_bins
    shape = (n_cells, 2, n_bins)
    w = data.sample_weight
    count = np.bincount(key, minlength=size)
    weight = count.astype(np.float64) if w is None else np.bincount(key, weights=w, minlength=size)
    ws = score if w is None else score * w
    score_sum = np.bincount(key, weights=ws, minlength=size)
    score_sumsq = np.bincount(key, weights=ws * score, minlength=size)
    median = float(np.median(score))
    above = score > median
    above_count = np.bincount(row_cell[above], minlength=n_cells)
    above_weight = (
        above_count.astype(np.float64)
        if w is None
        else np.bincount(row_cell[above], weights=w[above], minlength=n_cells)
    )
    return ScoreHistogram(
        edges=edges,
        exact=exact,
        count=count.reshape(shape).astype(np.int64),
        weight=weight.reshape(shape).astype(np.float64),
        score_sum=score_sum.reshape(shape).astype(np.float64),
        score_sumsq=score_sumsq.reshape(shape).astype(np.float64),
        ece_bin=ece_bin,
        median=median,
        above_median_count=above_count.astype(np.int64),
        above_median_weight=above_weight.astype(np.float64),
    )
