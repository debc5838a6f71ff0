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
    auc_intervals,
    balanced_accuracy_intervals,
    brier_intervals,
    ece_intervals,
    jaccard_f1_intervals,
    proportion_intervals,
    regression_intervals,
)
from audit._metrics import (
    _RATES,
    CONFUSION_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
    confusion_metrics,
    confusion_support,
    regression_metrics,
    score_metrics,
)
from audit._statistics import CellStatistics, RegressionMoments, ScoreHistogram

__all__ = ["GroupValues", "by_group", "group_values"]

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
    weighted = stats.weighted and stats.confusion_weight_sq is not None
    weight_sq = by_group(matrix, stats.confusion_weight_sq) if weighted else None  # type: ignore[arg-type]

    def rate(num: tuple[float, ...], den: tuple[float, ...]) -> GroupIntervals:
        n, d = np.array(num) > 0, np.array(den, dtype=np.float64)
        nv = n.astype(np.float64)
        if weight_sq is None:
            return proportion_intervals(count @ nv, count @ d)
        return proportion_intervals(
            weight @ nv, weight @ d, weight_sq @ nv, weight_sq @ d, count @ d
        )

    out = {
        r.info.name: rate(r.numerator, r.denominator) for r in _RATES if r.info.name != "f1_score"
    }
    out["f1_score"] = jaccard_f1_intervals(rate((0, 0, 0, 1), (0, 1, 1, 1)))
    out["balanced_accuracy"] = balanced_accuracy_intervals(
        out["true_positive_rate"], out["true_negative_rate"]
    )
    # The point values are the metrics' own (weighted sums), to the last bit.
    return (
        values,
        support,
        {k: dataclasses.replace(out[k], values=values[k]) for k in CONFUSION_METRICS},
    )


def _scores(
    matrix: FloatArray, hist: ScoreHistogram, probability: bool, intervals: bool
) -> tuple[dict[str, FloatArray], dict[str, IntArray], dict[str, GroupIntervals] | None]:
    count = by_group(matrix, hist.count.astype(np.float64))
    weight = by_group(matrix, hist.weight)
    s_sum = by_group(matrix, hist.score_sum)
    s_sq = by_group(matrix, hist.score_sumsq)
    values = score_metrics(weight, s_sum, s_sq, hist.ece_bin)
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
    weight_sq = (
        by_group(matrix, hist.weight_sq)
        if hist.weight_sq is not None
        else count  # unweighted: Σw² = Σ1 = the rows
    )
    out = {
        "roc_auc": auc_intervals(count, weight, weight_sq, values["roc_auc"]),
        "brier_score_loss": brier_intervals(
            count, weight, weight_sq, s_sum, s_sq, values["brier_score_loss"]
        ),
        "expected_calibration_error": ece_intervals(
            count,
            weight,
            weight_sq,
            s_sum,
            s_sq,
            hist.ece_bin,
            values["expected_calibration_error"],
        ),
    }
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
    stats: CellStatistics, matrix: FloatArray, *, probability: bool, intervals: bool
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
            v, s, i = _scores(matrix, stats.scores, probability, intervals)
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
