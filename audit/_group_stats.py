"""Per-group values and intervals of every metric, from the cell statistics.

A group (a category, or a combination of categories) is a set of cells; ``matrix`` (groups ×
cells, 0/1) sums the cells' statistics into the groups' with one matrix product. Each
function returns the metrics' point values, their supports (the rows a value rests on) and,
when asked, their :class:`~audit._intervals.GroupIntervals`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import numpy.typing as npt

from audit._intervals import (
    GroupIntervals,
    balanced_accuracy_intervals,
    complement_intervals,
    jaccard_f1_intervals,
    proportion_intervals,
)
from audit._metrics import (
    _RATES,
    CONFUSION_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
    brier_from_totals,
    calibration_onehot,
    confusion_metrics,
    confusion_support,
    ece_from_gaps,
    regression_metrics,
    roc_auc_from_histogram,
)
from audit._regression_intervals import regression_intervals
from audit._score_intervals import auc_intervals, brier_intervals, ece_intervals
from audit._statistics import CellStatistics, RegressionMoments, ScoreHistogram

__all__ = ["GroupValues", "ScoreCells", "by_group", "group_values"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class GroupValues:
    """Every metric's values per group, their supports and (optionally) their intervals."""

    values: dict[str, FloatArray]
    support: dict[str, IntArray]
    intervals: dict[str, GroupIntervals] | None


def by_group(matrix: FloatArray, a: FloatArray) -> FloatArray:
    """Sum cell statistics into groups: ``matrix`` (groups × cells) applied to axis 0 of ``a``.

    One BLAS matrix product over the flattened trailing axes.

    Examples
    --------
    >>> import numpy as np
    >>> by_group(np.array([[1.0, 1.0, 0.0]]), np.arange(6.0).reshape(3, 2)).tolist()
    [[2.0, 4.0]]
    """
    flat = a.reshape(a.shape[0], math.prod(a.shape[1:]))
    out: FloatArray = (matrix @ flat).reshape(matrix.shape[0], *a.shape[1:])
    return out


def _confusion(
    matrix: FloatArray, stats: CellStatistics, intervals: bool
) -> tuple[dict[str, FloatArray], dict[str, IntArray], dict[str, GroupIntervals] | None]:
    count = by_group(matrix, stats.confusion_count.astype(np.float64))
    weight = by_group(matrix, stats.confusion_weight)
    values = confusion_metrics(weight)
    support = confusion_support(count.round().astype(np.int64))
    if not intervals:
        return values, support, None
    squares = stats.confusion_weight_sq  # None when unweighted
    weight_sq = None if squares is None else by_group(matrix, squares)

    def rate(num: tuple[float, ...], den: tuple[float, ...]) -> GroupIntervals:
        n, d = np.array(num) > 0, np.array(den, dtype=np.float64)
        nv = n.astype(np.float64)
        if weight_sq is None:
            return proportion_intervals(count @ nv, count @ d)
        return proportion_intervals(
            weight @ nv, weight @ d, weight_sq @ nv, weight_sq @ d, count @ d
        )

    out: dict[str, GroupIntervals] = {}
    built: dict[tuple[tuple[float, ...], tuple[float, ...]], GroupIntervals] = {}
    for r in _RATES:
        if r.info.name == "f1_score":
            continue
        other = tuple(d - n for n, d in zip(r.numerator, r.denominator, strict=True))
        twin = built.get((r.denominator, other))  # this rate is one minus that one
        if twin is not None:
            out[r.info.name] = complement_intervals(twin, values[r.info.name])
        else:
            # The point values are the metrics' own (weighted sums), to the last bit.
            iv = dataclasses.replace(rate(r.numerator, r.denominator), values=values[r.info.name])
            out[r.info.name] = built[(r.denominator, r.numerator)] = iv
    out["f1_score"] = jaccard_f1_intervals(rate((0, 0, 0, 1), (0, 1, 1, 1)))
    out["balanced_accuracy"] = balanced_accuracy_intervals(
        out["true_positive_rate"], out["true_negative_rate"]
    )
    for name in ("f1_score", "balanced_accuracy"):
        out[name] = dataclasses.replace(out[name], values=values[name])
    return values, support, {k: out[k] for k in CONFUSION_METRICS}


@dataclasses.dataclass(frozen=True)
class ScoreCells:
    """The score histogram's per-cell sums, reduced once for every grouping of the cells.

    AUC needs each group's whole histogram; the Brier score and the calibration error only
    need sums per label or per calibration bin, and their variances sums of squares that
    add up over cells. All arrays have the cells on axis 0.
    """

    count: FloatArray  # (cells, 2, bins)
    weight: FloatArray | None  # (cells, 2, bins); None when unweighted (= count)
    weight_sq: FloatArray | None  # Σw², likewise
    label_weight: FloatArray  # (cells, 2): Σw per true label
    label_sum: FloatArray  # Σw·s per true label
    label_sumsq: FloatArray  # Σw·s² per true label
    brier_q: FloatArray  # (cells,): Σw² ; Σw²·d̄ ; Σw²·d̄², d̄ a bin's mean (s − y)²
    brier_qd: FloatArray
    brier_qd2: FloatArray
    cal_gap: FloatArray  # (cells, 10): Σw·(y − s) per calibration bin
    cal_a: FloatArray  # Σw²·(y − s)² per calibration bin
    cal_b: FloatArray  # Σw²·(y − s)
    cal_q: FloatArray  # Σw²
    cal_rows: FloatArray  # rows
    cal_pos: FloatArray  # rows with y = 1

    @classmethod
    def of(cls, hist: ScoreHistogram) -> ScoreCells:
        """Reduce a histogram (one pass over its bins).

        Within a score bin, ``Σw·(y − s)²`` is exact from the bin's sums; the squared
        weights' sums take it in proportion ``Σw²/Σw`` (exact when unweighted). Sums per
        calibration bin are matrix products of the bins with a 0/1 map, so the only
        bin-by-bin array is the squared errors' (for the Brier score's variance).
        """
        weighted = hist.weight_sq is not None
        # Unweighted, the weights are the counts already in floating point.
        count = hist.count.astype(np.float64) if weighted else hist.weight
        weight = hist.weight
        q = hist.weight_sq if hist.weight_sq is not None else count
        onehot = calibration_onehot(hist.ece_bin)
        n_cells, _, n_bins = count.shape

        def per_cal(a: FloatArray) -> FloatArray:  # (cells, 2, bins) → (cells, 2, 10)
            out: FloatArray = (a.reshape(n_cells * 2, n_bins) @ onehot).reshape(n_cells, 2, -1)
            return out

        # Σw·(y − s)² per bin: s² for negatives, 1 − 2s + s² for positives
        squared = hist.score_sumsq.copy()
        squared[:, 1, :] += weight[:, 1, :] - 2.0 * hist.score_sum[:, 1, :]
        w_cal, s_cal = per_cal(weight), per_cal(hist.score_sum)
        q_cal = per_cal(q) if weighted else w_cal
        rows_cal = per_cal(count) if weighted else w_cal
        gap = w_cal[:, 1, :] - s_cal.sum(axis=1)  # Σw·(y − s) per calibration bin
        if weighted:
            ratio = np.divide(q, weight, out=np.zeros_like(q), where=weight > 0)
            q_squared = ratio * squared
            cal_a = per_cal(q_squared).sum(axis=1)
            q_gap = ratio * (np.array([0.0, 1.0])[None, :, None] * weight - hist.score_sum)
            cal_b = per_cal(q_gap).sum(axis=1)
            brier_qd = q_squared.sum(axis=(1, 2))
            d2 = q_squared * squared
        else:  # Σw² = Σw = rows: the calibration sums are the plain ones
            cal_a = per_cal(squared).sum(axis=1)
            cal_b = gap
            brier_qd = squared.sum(axis=(1, 2))
            d2 = np.square(squared, out=squared)
        # Σw²·d̄² with d̄ = Σw·(y − s)²/Σw, a bin's mean squared error (0 where it is empty)
        np.divide(d2, weight, out=d2, where=weight > 0)
        return cls(
            count=count,
            weight=weight if weighted else None,
            weight_sq=q if weighted else None,
            label_weight=weight.sum(axis=-1),
            label_sum=hist.score_sum.sum(axis=-1),
            label_sumsq=hist.score_sumsq.sum(axis=-1),
            brier_q=q.sum(axis=(1, 2)),
            brier_qd=brier_qd,
            brier_qd2=d2.sum(axis=(1, 2)),
            cal_gap=gap,
            cal_a=cal_a,
            cal_b=cal_b,
            cal_q=q_cal.sum(axis=1),
            cal_rows=rows_cal.sum(axis=1),
            cal_pos=rows_cal[:, 1, :],
        )


def _scores(
    matrix: FloatArray, cells: ScoreCells, probability: bool, intervals: bool
) -> tuple[dict[str, FloatArray], dict[str, IntArray], dict[str, GroupIntervals] | None]:
    count = by_group(matrix, cells.count)
    weight = count if cells.weight is None else by_group(matrix, cells.weight)

    def g(a: FloatArray) -> FloatArray:
        return by_group(matrix, a)

    label_weight = g(cells.label_weight)
    total = label_weight.sum(axis=-1)
    gap = g(cells.cal_gap)
    values = {
        "roc_auc": roc_auc_from_histogram(weight),
        "brier_score_loss": brier_from_totals(
            label_weight, g(cells.label_sum), g(cells.label_sumsq)
        ),
        "expected_calibration_error": ece_from_gaps(gap, total),
    }
    if not probability:
        for name in ("brier_score_loss", "expected_calibration_error"):
            values[name] = np.full_like(values[name], np.nan)
    per_label = count.round().astype(np.int64).sum(axis=-1)
    rows = per_label.sum(axis=-1)
    support = {
        "roc_auc": per_label.min(axis=-1),
        "brier_score_loss": rows,
        "expected_calibration_error": rows,
    }
    if not intervals:
        return values, support, None
    weight_sq = count if cells.weight_sq is None else by_group(matrix, cells.weight_sq)
    n = rows.astype(np.float64)
    out = {
        "roc_auc": auc_intervals(count, weight, weight_sq, values["roc_auc"]),
        "brier_score_loss": brier_intervals(
            n, total, g(cells.brier_q), g(cells.brier_qd), g(cells.brier_qd2),
            values["brier_score_loss"],
        ),
        "expected_calibration_error": ece_intervals(
            n, total, gap, g(cells.cal_a), g(cells.cal_b), g(cells.cal_q), g(cells.cal_rows),
            g(cells.cal_pos), values["expected_calibration_error"],
        ),
    }  # fmt: skip
    return values, support, out


def _sst(m: RegressionMoments, matrix: FloatArray) -> FloatArray:
    """Σw·(y − ȳ_g)² per group from the centred cell moments (Chan et al.'s update)."""
    cell_w = m.moments[..., 0].sum(axis=1)
    g_w = matrix @ cell_w
    with np.errstate(invalid="ignore", divide="ignore"):
        g_mean = np.where(g_w > 0, (matrix @ (cell_w * m.y_mean)) / g_w, 0.0)
    spread = matrix * cell_w[None, :] * (m.y_mean[None, :] - g_mean[:, None]) ** 2
    total: FloatArray = matrix @ m.y_m2 + spread.sum(axis=1)
    return total


def _constant(m: RegressionMoments, matrix: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether ``y_true`` is constant in each group (exactly, from the cell values)."""
    present = (matrix * (m.count.sum(axis=1) > 0)[None, :]) > 0
    values = np.where(present, m.y_any[None, :], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty groups: all-NaN rows
        one_value = np.nanmax(values, axis=1) == np.nanmin(values, axis=1)
    varies = (present & m.y_varies[None, :]).any(axis=1)
    out: npt.NDArray[np.bool_] = one_value & ~varies
    return out


def _cell_products(m: RegressionMoments) -> FloatArray:
    """``Σxxᵀ`` per cell: the bins' means' outer products, plus the scatter within bins."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(m.count[..., None] > 0, m.moments / m.count[..., None], 0.0)
    between = np.einsum("cb,cbi,cbj->cij", m.count.astype(np.float64), mean, mean)
    out: FloatArray = between + m.within_scatter
    return out


def _regression(
    matrix: FloatArray, m: RegressionMoments, intervals: bool
) -> tuple[dict[str, FloatArray], dict[str, IntArray], dict[str, GroupIntervals] | None]:
    sums = matrix @ m.moments.sum(axis=1)
    sst = _sst(m, matrix)
    values = regression_metrics(sums, sst, m.shift, _constant(m, matrix))
    rows = matrix @ m.count.sum(axis=1).astype(np.float64)
    support = dict.fromkeys(REGRESSION_METRICS, rows.round().astype(np.int64))
    if not intervals:
        return values, support, None
    products = by_group(matrix, _cell_products(m))
    return values, support, regression_intervals(rows, sums, products, m.shift, values, sst)


def group_values(
    stats: CellStatistics,
    matrix: FloatArray,
    *,
    probability: bool,
    intervals: bool,
    score_cells: ScoreCells | None = None,
) -> GroupValues:
    """Every metric of the audit for the groups of ``matrix``.

    Parameters
    ----------
    stats : CellStatistics
    matrix : ndarray of shape (n_groups, n_cells)
        Which cells make each group (0/1); a row of zeros is an empty group.
    probability : bool
        Scores are probabilities (Brier score and calibration error are defined).
    intervals : bool
        Also build each metric's intervals.
    score_cells : ScoreCells, optional
        ``ScoreCells.of(stats.scores)``, when several groupings share it.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit._statistics import count_statistics
    >>> from audit._validation import prepare_data
    >>> df = pd.DataFrame({"y": [0, 1, 1, 0], "p": [0, 1, 0, 0], "g": list("aabb")})
    >>> stats = count_statistics(prepare_data(df, y_true="y", y_pred="p",
    ...                                       sensitive_features=["g"]))
    >>> gv = group_values(stats, np.eye(2), probability=True, intervals=True)
    >>> gv.values["true_positive_rate"].tolist(), int(gv.support["true_positive_rate"][1])
    ([1.0, 0.0], 1)
    """
    if stats.regression is not None:
        values, support, ivs = _regression(matrix, stats.regression, intervals)
    else:
        values, support, ivs = _confusion(matrix, stats, intervals)
        if stats.scores is not None:
            cells = score_cells if score_cells is not None else ScoreCells.of(stats.scores)
            v, s, i = _scores(matrix, cells, probability, intervals)
            values.update(v)
            support.update(s)
            if ivs is not None and i is not None:
                ivs.update(i)
    names = (
        list(REGRESSION_METRICS)
        if stats.regression is not None
        else list(CONFUSION_METRICS) + (list(SCORE_METRICS) if stats.scores is not None else [])
    )
    return GroupValues(
        {k: values[k] for k in names},
        {k: support[k] for k in names},
        None if ivs is None else {k: ivs[k] for k in names},
    )
