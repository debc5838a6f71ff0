"""The counting step: one pass over the rows into sufficient statistics per intersectional cell.

A *cell* is one combination of the categories of every sensitive feature (``Female × Black``).
Everything fairtrail reports — per-group rates, disparities, intervals — is a pure
function of the :class:`CellStatistics` computed here. This is the only module that sees rows,
so it is the only one an out-of-core engine (DuckDB, Spark) has to replace.

Confusion bins are ordered ``(tn, fp, fn, tp)``: bin index ``2 * y_true + y_pred``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from audit._validation import PreparedData

__all__ = [
    "CONFUSION_BINS",
    "REGRESSION_MOMENTS",
    "CellStatistics",
    "RegressionMoments",
    "ScoreHistogram",
    "count_statistics",
    "median_bins",
    "middle_ranks",
    "middle_value",
]

CONFUSION_BINS = ("tn", "fp", "fn", "tp")

#: Number of equal-width bins of the expected calibration error (over [0, 1]).
ECE_BINS = 10


@dataclass(frozen=True)
class ScoreHistogram:
    """Per-cell, per-label histograms of the score, with weighted moments per bin.

    Arrays have shape ``(n_cells, 2, n_bins)``; axis 1 is the true label (0, 1). ``exact`` is
    True when every bin holds a single distinct score value: AUC, Brier score and calibration
    error computed from the histogram then equal the row-level values exactly.

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,)
        The bins' edges (exact bins: the distinct values, the last repeated).
    exact : bool
        Whether every bin holds a single distinct score value.
    count : ndarray of shape (n_cells, 2, n_bins)
        Rows per cell, true label and score bin.
    weight : ndarray of shape (n_cells, 2, n_bins)
        Sample-weight sums ``Σw`` (equal to the counts when unweighted).
    score_sum, score_sumsq : ndarray of shape (n_cells, 2, n_bins)
        ``Σw·s`` and ``Σw·s²``.
    ece_bin : ndarray of shape (n_bins,)
        The calibration-error bin (0 … ``ECE_BINS`` − 1) of each score bin.
    median : float
        The median of every score (``np.median``'s, unweighted).
    above_median_count, above_median_weight : ndarray of shape (n_cells,)
        Rows, and their weight, per cell with a score above the median.
    weight_sq : ndarray of shape (n_cells, 2, n_bins) or None
        Sums of squared sample weights ``Σw²`` (effective sample sizes, weighted variances);
        None when unweighted (``Σw²`` then equals ``count``).
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
    weight_sq: npt.NDArray[np.float64] | None = None

    @property
    def n_bins(self) -> int:
        """Number of score bins."""
        return int(self.count.shape[2])


#: The weighted moment sums of a regression audit, in the order of the last axis of
#: :attr:`RegressionMoments.moments` (``e = ŷ − y``; ``c`` is :attr:`RegressionMoments.shift`).
REGRESSION_MOMENTS = ("w", "w·e", "w·e²", "w·|e|", "w·(ŷ − c)", "w·(y − c)", "w·(y − c)²")


@dataclass(frozen=True)
class RegressionMoments:
    """Per-cell weighted moment sums of a regression audit, in joint residual × y_true bins.

    Points are exact: every metric is a function of the moment sums over all bins (plus the
    centred ``y_true`` moments per cell, which make R² numerically stable). The intervals need
    each cell's second moments of the summands, ``Σxxᵀ``: the bins' sums give its part between
    the bins (``Σ n_b·x̄_b·x̄_bᵀ``) and ``within_scatter`` the part within them, so the total is
    exact whatever the bins. (The bins were cut for an earlier bootstrap; one per cell would
    now do, and would let the engines drop the quantile binning.)

    Attributes
    ----------
    count : ndarray of shape (n_cells, n_bins)
        Rows per cell and bin.
    moments : ndarray of shape (n_cells, n_bins, 7)
        Sums in the order of :data:`REGRESSION_MOMENTS`.
    shift : float
        ``c``: the population's weighted mean of ``y_true``.
    y_mean, y_m2 : ndarray of shape (n_cells,)
        Weighted mean of ``y_true`` per cell and ``Σw·(y − mean)²`` per cell (two passes).
    y_any, y_varies : ndarray of shape (n_cells,)
        The smallest ``y_true`` value of each cell and whether any other differs from it: a group's
        ``y_true`` is constant (R² undefined) exactly when no cell varies and all share one
        value. (Decided on the values, not on a rounded ``Σw·(y − ȳ)²``.)
    within_scatter : ndarray of shape (n_cells, 7, 7)
        Per cell, ``Σ (x − x̄_bin)(x − x̄_bin)ᵀ`` over its rows, where ``x`` is a row's
        vector of the seven summands and ``x̄_bin`` their mean in the row's bin: the
        variation the bins hide (see ``_group_stats._cell_products``).
    """

    count: npt.NDArray[np.int64]
    moments: npt.NDArray[np.float64]
    shift: float
    y_mean: npt.NDArray[np.float64]
    y_m2: npt.NDArray[np.float64]
    y_any: npt.NDArray[np.float64]
    y_varies: npt.NDArray[np.bool_]
    within_scatter: npt.NDArray[np.float64]

    @property
    def n_bins(self) -> int:
        """Number of moment bins per cell."""
        return int(self.count.shape[1])


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
        Row counts per confusion bin ``(tn, fp, fn, tp)``; shape ``(n_cells, 0)`` for a
        regression audit.
    confusion_weight : ndarray of shape (n_cells, 4)
        Sample-weight sums per bin (equal to the counts when unweighted).
    missing_columns : tuple of str
        The input's columns, in the order of the columns of ``missing_count``.
    missing_count : ndarray of shape (n_cells, n_columns)
        Missing values per column of the input, per cell.
    scores : ScoreHistogram or None
        Score statistics when a score column was given.
    weighted : bool
        Whether sample weights were given.
    regression : RegressionMoments or None
        The moments of a regression audit (None for classification).
    confusion_weight_sq : ndarray of shape (n_cells, 4) or None
        Sums of squared sample weights ``Σw²`` per bin ``(tn, fp, fn, tp)`` (Korn–Graubard
        effective sample sizes); None when unweighted (``Σw²`` then equals the counts) and
        for a regression audit (its moments are in ``regression``).
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
    regression: RegressionMoments | None = None
    confusion_weight_sq: npt.NDArray[np.float64] | None = None

    @property
    def task(self) -> str:
        """``"regression"`` or ``"binary_classification"``."""
        return "binary_classification" if self.regression is None else "regression"

    @property
    def cell_count(self) -> npt.NDArray[np.int64]:
        """Rows per cell."""
        counts = self.confusion_count if self.regression is None else self.regression.count
        out: npt.NDArray[np.int64] = counts.sum(axis=1)
        return out

    @property
    def cell_weight(self) -> npt.NDArray[np.float64]:
        """Weight per cell."""
        weights = (
            self.confusion_weight if self.regression is None else self.regression.moments[..., 0]
        )
        out: npt.NDArray[np.float64] = weights.sum(axis=1)
        return out

    @property
    def n_rows(self) -> int:
        """Total number of rows counted."""
        return int(self.cell_count.sum())

    @property
    def n_cells(self) -> int:
        """Number of observed cells."""
        return int(self.cells.shape[0])


#: Rows counted at a time: temporaries stay at a few tens of MB whatever the table's size.
CHUNK_ROWS = 1 << 21


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(start, min(n, start + size)) for start in range(0, n, size)]


def _cell_index(
    data: PreparedData, chunk: int = CHUNK_ROWS
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Map each row to a dense index of its observed cell; return (row_cell, cell_codes)."""
    sizes = [len(f.categories) for f in data.features]
    n_possible = int(np.prod(sizes, dtype=np.float64))

    def key(rows: slice) -> npt.NDArray[np.int64]:
        out = np.zeros(rows.stop - rows.start, dtype=np.int64)
        for feature, size in zip(data.features, sizes, strict=True):
            out *= size
            out += feature.codes[rows]
        return out

    parts = _chunks(data.n_rows, chunk)
    if n_possible <= min(4 * max(data.n_rows, 1_000_000), np.iinfo(np.int32).max):
        # One pass computes each row's key into the array that then becomes its dense cell
        # index, in place, through a lookup table of the observed keys.
        row_cell = np.empty(data.n_rows, dtype=np.int32)
        present = np.zeros(n_possible, dtype=bool)
        for rows in parts:
            row_cell[rows] = key(rows)
            present[row_cell[rows]] = True
        observed = np.flatnonzero(present)
        dense = np.full(n_possible, -1, dtype=np.int32)
        dense[observed] = np.arange(observed.size, dtype=np.int32)
        for rows in parts:
            row_cell[rows] = dense[row_cell[rows]]
    else:  # too many possible combinations for a lookup table: sort instead
        observed, inverse = np.unique(key(slice(0, data.n_rows)), return_inverse=True)
        row_cell = inverse.astype(np.int32)
    codes = np.empty((observed.size, len(sizes)), dtype=np.int64)
    rest = observed.copy()
    for j in range(len(sizes) - 1, -1, -1):
        codes[:, j] = rest % sizes[j]
        rest //= sizes[j]
    return row_cell, codes


@dataclass(frozen=True)
class _ScoreBinning:
    """How scores map to histogram bins: one bin per distinct value, or equal widths."""

    edges: npt.NDArray[np.float64]
    exact: bool
    ece_bin: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64] | None  # the distinct values (exact bins)
    lo: float = 0.0
    width: float = 1.0

    def index(self, score: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        if self.values is not None:
            return np.searchsorted(self.values, score).astype(np.intp)
        n_bins = self.ece_bin.size
        # (s − lo) / width · n_bins, in that order (as the SQL engines compute it), in place
        scaled = score - self.lo
        scaled /= self.width
        scaled *= n_bins
        out: npt.NDArray[np.intp] = scaled.astype(np.intp)
        np.minimum(out, n_bins - 1, out=out)
        return out


def score_bins(score: npt.NDArray[np.float64], max_bins: int, probability: bool) -> _ScoreBinning:
    """Choose the score bins: exact (one per distinct value) when there are few values.

    Depends on the scores only through their distinct values (and their minimum and maximum),
    so an engine that has only the distinct values chooses the same bins.
    """
    # A sample of just over max_bins rows tells when there are more distinct scores than
    # bins (the common case of continuous scores) without sorting every score.
    probe = 2 * max_bins + 1
    sample = score if score.size <= probe else score[:: max(1, score.size // probe)]
    if np.unique(sample).size <= max_bins:
        values = np.unique(score)
        if values.size <= max_bins:
            edges = np.append(values, values[-1])
            ece = np.minimum(np.floor(values * ECE_BINS), ECE_BINS - 1).astype(np.int64)
            return _ScoreBinning(edges, True, np.clip(ece, 0, ECE_BINS - 1), values)
    lo, hi = (0.0, 1.0) if probability else (float(score.min()), float(score.max()))
    return equal_width_bins(lo, hi, max_bins)


def equal_width_bins(lo: float, hi: float, max_bins: int) -> _ScoreBinning:
    """``max_bins`` (rounded up to a multiple of 10) equal-width bins from ``lo`` to ``hi``.

    A score ``s`` falls in bin ``min(int((s − lo) / width · n_bins), n_bins − 1)``.
    """
    n_bins = int(np.ceil(max_bins / ECE_BINS) * ECE_BINS)
    width = (hi - lo) or 1.0
    edges = lo + width * np.arange(n_bins + 1) / n_bins
    ece = (np.arange(n_bins) * ECE_BINS // n_bins).astype(np.int64)
    return _ScoreBinning(edges, False, ece, None, lo, width)


def count_statistics(
    data: PreparedData,
    *,
    score_bins: int = 10_000,
    probability: bool = True,
    regression_bins: int = 8,
    chunk: int = CHUNK_ROWS,
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
    regression_bins : int, default 8
        Regression only: quantile bins of the residual and of ``y_true`` each (their product
        is the number of moment bins per cell).
    chunk : int, default CHUNK_ROWS
        Rows counted at a time (bounds the memory of temporaries; the counts do not depend
        on it).

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
    row_cell, codes = _cell_index(data, chunk)
    n_cells = codes.shape[0]
    if data.task == "regression":
        return _regression_statistics(data, row_cell.astype(np.int64), codes, regression_bins)
    w = data.sample_weight
    size = n_cells * 4
    count = np.zeros(size, dtype=np.int64)
    weight = np.zeros(size) if w is not None else None
    weight_sq = np.zeros(size) if w is not None else None  # Σw², only when weighted
    for rows in _chunks(data.n_rows, chunk):
        index = row_cell[rows].astype(np.intp)  # cell · 4 + y_true · 2 + y_pred, in place
        index *= 4
        index += data.y_true[rows] * 2
        index += data.y_pred[rows]
        count += np.bincount(index, minlength=size)
        if weight is not None and weight_sq is not None and w is not None:
            w_rows = w[rows]
            weight += np.bincount(index, weights=w_rows, minlength=size)
            weight_sq += np.bincount(index, weights=w_rows * w_rows, minlength=size)
    count = count.reshape(n_cells, 4)
    weight = count.astype(np.float64) if weight is None else weight.reshape(n_cells, 4)
    missing_columns, missing_count = _missing_counts(data, row_cell, n_cells)
    scores = None
    if data.y_score is not None:
        scores = _score_histogram(data, row_cell, n_cells, score_bins, probability, chunk)
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
        confusion_weight_sq=None if weight_sq is None else weight_sq.reshape(n_cells, 4),
    )


def _score_histogram(
    data: PreparedData,
    row_cell: npt.NDArray[np.int32],
    n_cells: int,
    max_bins: int,
    probability: bool,
    chunk: int,
) -> ScoreHistogram:
    score = data.y_score
    assert score is not None
    binning = score_bins(score, max_bins, probability)
    n_bins = binning.ece_bin.size
    size = n_cells * 2 * n_bins
    shape = (n_cells, 2, n_bins)
    w = data.sample_weight
    sums: dict[str, npt.NDArray[Any]] = {}

    def add(name: str, part: npt.NDArray[Any]) -> None:  # one chunk: no zeroed array to add to
        if name in sums:
            sums[name] += part
        else:
            sums[name] = part

    # The bin of every row, kept (2 bytes a row) for the median's bins afterwards.
    bin_of: npt.NDArray[np.signedinteger[Any]] = np.empty(
        data.n_rows, dtype=np.int16 if n_bins < 2**15 else np.int32
    )
    for rows in _chunks(data.n_rows, chunk):
        s, cell = score[rows], row_cell[rows]
        index = binning.index(s)
        bin_of[rows] = index
        key = cell.astype(np.intp)  # (cell · 2 + y_true) · n_bins + bin, in place
        key *= 2
        key += data.y_true[rows]
        key *= n_bins
        key += index
        add("count", np.bincount(key, minlength=size))
        ws = s if w is None else s * w[rows]
        if w is not None:
            w_rows = w[rows]
            add("weight", np.bincount(key, weights=w_rows, minlength=size))
            add("weight_sq", np.bincount(key, weights=w_rows * w_rows, minlength=size))
        add("score_sum", np.bincount(key, weights=ws, minlength=size))
        add("score_sumsq", np.bincount(key, weights=ws * s, minlength=size))
    count = sums["count"].astype(np.int64, copy=False)
    weight = sums["weight"] if w is not None else count.astype(np.float64)
    weight_sq = sums.get("weight_sq")  # Σw², only when weighted
    score_sum, score_sumsq = sums["score_sum"], sums["score_sumsq"]
    median, above_count, above_weight = _median_and_above(
        data, row_cell, bin_of, count.reshape(shape), weight.reshape(shape)
    )
    return ScoreHistogram(
        edges=binning.edges,
        exact=binning.exact,
        count=count.reshape(shape),
        weight=weight.reshape(shape),
        score_sum=score_sum.reshape(shape),
        score_sumsq=score_sumsq.reshape(shape),
        ece_bin=binning.ece_bin,
        median=median,
        above_median_count=above_count,
        above_median_weight=above_weight,
        weight_sq=None if weight_sq is None else weight_sq.reshape(shape),
    )


def middle_ranks(total: int) -> list[int]:
    """The 0-based ranks of the middle rows of ``total`` (one twice when ``total`` is odd).

    Examples
    --------
    >>> middle_ranks(5), middle_ranks(4)
    ([2, 2], [1, 2])
    """
    return [(total - 1) // 2, total // 2]


def median_bins(ends: npt.NDArray[np.integer[Any]], middle: list[int]) -> tuple[int, int, int]:
    """The first and last bins holding the middle rows, and the rows before the first.

    ``ends`` are the cumulative row counts of bins in score order.

    Examples
    --------
    >>> # bins of 2, 0, 3 and 4 rows: rows 0-1, none, 2-4, 5-8
    >>> median_bins(np.array([2, 2, 5, 9]), middle_ranks(9))  # row 4: bin 2, after 2 rows
    (2, 2, 2)
    >>> median_bins(np.array([2, 2, 5, 10]), middle_ranks(10))  # rows 4 and 5: bins 2 and 3
    (2, 3, 2)
    """
    first, last = (int(np.searchsorted(ends, k, side="right")) for k in middle)
    return first, last, int(ends[first - 1]) if first > 0 else 0


def middle_value(ordered: npt.NDArray[np.float64], before: int, middle: list[int]) -> float:
    """``np.median``'s value from the sorted scores of the bins holding the middle rows.

    ``before`` rows precede ``ordered[0]``; the two middle rows are averaged (when they
    differ: the average of equal values may not be exactly the value).

    Examples
    --------
    >>> middle_value(np.array([0.3, 0.5]), 4, middle_ranks(10))  # ranks 4 and 5
    0.4
    """
    low, high = ordered[middle[0] - before], ordered[middle[1] - before]
    return float(np.mean([low, high])) if low != high else float(low)


def _median_and_above(
    data: PreparedData,
    row_cell: npt.NDArray[np.int32],
    bin_of: npt.NDArray[np.signedinteger[Any]],
    count: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64],
) -> tuple[float, npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The median of every score (``np.median``'s) and, per cell, the rows and weight above it.

    Bins are in score order, so the two middle rows lie in the bins where the cumulative
    counts pass them: only the scores of those bins are sorted, and every bin after them
    is wholly above the median.
    """
    score = data.y_score
    assert score is not None
    n_cells = count.shape[0]
    ends = np.cumsum(count.sum(axis=(0, 1)))
    middle = middle_ranks(int(ends[-1]))
    first, last, before = median_bins(ends, middle)
    hit = np.flatnonzero((bin_of >= first) & (bin_of <= last))
    fetched = score[hit]
    median = middle_value(np.sort(fetched), before, middle)
    above = fetched > median
    fetched_cells = row_cell[hit][above]
    above_count = count[:, :, last + 1 :].sum(axis=(1, 2)) + np.bincount(
        fetched_cells, minlength=n_cells
    )
    if data.sample_weight is None:
        return median, above_count, above_count.astype(np.float64)
    above_weight = weight[:, :, last + 1 :].sum(axis=(1, 2)) + np.bincount(
        fetched_cells, weights=data.sample_weight[hit][above], minlength=n_cells
    )
    return median, above_count, above_weight


def _missing_counts(
    data: PreparedData, row_cell: npt.NDArray[np.signedinteger[Any]], n_cells: int
) -> tuple[tuple[str, ...], npt.NDArray[np.int64]]:
    columns = tuple(data.missing)
    out = np.zeros((n_cells, len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        mask = data.missing[column]
        if mask.any():
            out[:, j] = np.bincount(row_cell[mask], minlength=n_cells)
    return columns, out


#: Fine bins of the histogram that regression moment bins are cut from.
FINE_BINS = 1 << 14


def fine_index(values: npt.NDArray[np.float64], lo: float, width: float) -> npt.NDArray[np.int64]:
    """The fine histogram bin (0 … FINE_BINS − 1) of each value between ``lo`` and ``lo + width``.

    SQL engines compute ``LEAST(FLOOR((v − lo) / width · FINE_BINS), FINE_BINS − 1)`` with the
    same floating-point operations, so every engine counts the same fine histogram.
    """
    out: npt.NDArray[np.int64] = np.minimum(
        np.floor((values - lo) / width * FINE_BINS), FINE_BINS - 1
    ).astype(np.int64)
    return out


def quantile_edges(
    fine_counts: npt.NDArray[np.int64], lo: float, width: float, n_bins: int
) -> npt.NDArray[np.float64]:
    """Inner edges of ``n_bins`` bins holding about equal numbers of rows.

    Each edge is the upper boundary of the fine bin in which the cumulative count first
    reaches ``k / n_bins`` of the rows: a quantile to within one fine bin, decided by integer
    counts alone, so that every engine cuts the same bins whatever the order of the rows.

    Examples
    --------
    >>> counts = np.zeros(FINE_BINS, dtype=np.int64); counts[[0, FINE_BINS - 1]] = 5
    >>> quantile_edges(counts, 0.0, 1.0, 2).tolist()  # half the rows at 0, half at 1
    [6.103515625e-05]
    """
    ends = np.cumsum(fine_counts)
    total = int(ends[-1])
    targets = np.ceil(np.arange(1, n_bins) * total / n_bins).astype(np.int64)
    upper = np.searchsorted(ends, np.maximum(targets, 1), side="left") + 1
    edges: npt.NDArray[np.float64] = np.unique(lo + width * upper.astype(np.float64) / FINE_BINS)
    return edges


def _range(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    lo = float(values.min())
    return lo, (float(values.max()) - lo) or 1.0


def _quantile_bin(values: npt.NDArray[np.float64], n_bins: int) -> npt.NDArray[np.int64]:
    """Bin index (0 … n_bins − 1) of each value by the values' own quantiles."""
    lo, width = _range(values)
    counts = np.bincount(fine_index(values, lo, width), minlength=FINE_BINS)
    inner = quantile_edges(counts, lo, width, n_bins)
    return np.searchsorted(inner, values, side="right").astype(np.int64)


def _regression_statistics(
    data: PreparedData,
    row_cell: npt.NDArray[np.int64],
    codes: npt.NDArray[np.int64],
    n_bins: int,
) -> CellStatistics:
    n_cells = codes.shape[0]
    y = data.y_true.astype(np.float64, copy=False)
    p = data.y_pred.astype(np.float64, copy=False)
    w = data.sample_weight
    weight = np.ones_like(y) if w is None else w
    total = float(weight.sum())
    shift = float(np.dot(weight, y) / total)
    e = p - y
    key = (
        row_cell * (n_bins * n_bins) + _quantile_bin(e, n_bins) * n_bins + _quantile_bin(y, n_bins)
    )
    size = n_cells * n_bins * n_bins
    count = np.bincount(key, minlength=size)
    yc, pc = y - shift, p - shift
    columns = [weight, weight * e, weight * e * e, weight * np.abs(e), weight * pc, weight * yc]
    columns.append(columns[5] * yc)
    sums = [np.bincount(key, weights=c, minlength=size) for c in columns]
    # Second pass: deviations from the bin means, their products summed per cell.
    with np.errstate(invalid="ignore", divide="ignore"):
        per_row = [np.where(count > 0, total_b / count, 0.0) for total_b in sums]
    deviations = [c - mean_b[key] for c, mean_b in zip(columns, per_row, strict=True)]
    k = len(columns)
    scatter = np.zeros((n_cells, k, k))
    for i in range(k):
        for j in range(i, k):
            s_ij = np.bincount(row_cell, weights=deviations[i] * deviations[j], minlength=n_cells)
            scatter[:, i, j] = scatter[:, j, i] = s_ij
    del deviations, per_row
    moments = (
        np.stack(sums, axis=-1)
        .reshape(n_cells, n_bins * n_bins, len(REGRESSION_MOMENTS))
        .astype(np.float64)
    )
    # Centred y_true moments per cell, in two passes (numerically stable R²).
    cell_w = np.bincount(row_cell, weights=weight, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.bincount(row_cell, weights=weight * y, minlength=n_cells) / cell_w
    y_mean = np.where(cell_w > 0, y_mean, shift)
    d = y - y_mean[row_cell]
    y_m2 = np.bincount(row_cell, weights=weight * d * d, minlength=n_cells)
    y_any = np.full(n_cells, np.inf)
    np.minimum.at(y_any, row_cell, y)  # the smallest value of each cell
    y_max = np.full(n_cells, -np.inf)
    np.maximum.at(y_max, row_cell, y)
    y_varies = y_max != y_any
    missing_columns, missing_count = _missing_counts(data, row_cell, n_cells)
    return CellStatistics(
        features=tuple(f.name for f in data.features),
        categories=tuple(f.categories for f in data.features),
        cells=codes,
        confusion_count=np.zeros((n_cells, 0), dtype=np.int64),
        confusion_weight=np.zeros((n_cells, 0), dtype=np.float64),
        missing_columns=missing_columns,
        missing_count=missing_count,
        scores=None,
        weighted=w is not None,
        regression=RegressionMoments(
            count=count.reshape(n_cells, n_bins * n_bins).astype(np.int64),
            moments=moments,
            shift=shift,
            y_mean=y_mean.astype(np.float64),
            y_m2=y_m2.astype(np.float64),
            y_any=y_any,
            y_varies=y_varies,
            within_scatter=scatter,
        ),
    )
