"""Metrics as pure functions of sufficient statistics.

Each confusion-matrix rate is a ratio of two linear forms of the weighted counts
``(tn, fp, fn, tp)``, so every group (any grouping of the cells) is computed by one matrix
product. A rate whose denominator is zero is **undefined**: NaN, with the reason recorded —
never 0 (fairlearn and scikit-learn return 0 there, which lets one tiny group decide a ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audit._statistics import ECE_BINS

__all__ = [
    "CONFUSION_METRICS",
    "METRIC_INFO",
    "PROPORTION_METRICS",
    "REGRESSION_METRICS",
    "SCORE_METRICS",
    "MetricInfo",
    "brier_from_totals",
    "calibration_onehot",
    "confusion_metrics",
    "divide",
    "ece_from_gaps",
    "regression_metrics",
    "roc_auc_from_histogram",
    "score_metrics",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means: its formula, when it is undefined, and which way is better."""

    name: str
    formula: str
    undefined_when: str
    higher_is_better: bool | None


@dataclass(frozen=True)
class _Rate:
    info: MetricInfo
    numerator: tuple[float, float, float, float]
    denominator: tuple[float, float, float, float]


def _rate(
    name: str,
    formula: str,
    undefined: str,
    better: bool | None,
    num: tuple[float, float, float, float],
    den: tuple[float, float, float, float],
) -> _Rate:
    return _Rate(MetricInfo(name, formula, undefined, better), num, den)


# Coefficients over (tn, fp, fn, tp).
_RATES: tuple[_Rate, ...] = (
    _rate("base_rate", "P(Y=1 | A=a)", "the group is empty", None, (0, 0, 1, 1), (1, 1, 1, 1)),
    _rate("selection_rate", "P(Ŷ=1 | A=a)", "the group is empty", None, (0, 1, 0, 1), (1, 1, 1, 1)),
    _rate(
        "true_positive_rate",
        "P(Ŷ=1 | Y=1, A=a)",
        "the group has no actual positives",
        True,
        (0, 0, 0, 1),
        (0, 0, 1, 1),
    ),
    _rate(
        "false_positive_rate",
        "P(Ŷ=1 | Y=0, A=a)",
        "the group has no actual negatives",
        False,
        (0, 1, 0, 0),
        (1, 1, 0, 0),
    ),
    _rate(
        "false_negative_rate",
        "P(Ŷ=0 | Y=1, A=a)",
        "the group has no actual positives",
        False,
        (0, 0, 1, 0),
        (0, 0, 1, 1),
    ),
    _rate(
        "true_negative_rate",
        "P(Ŷ=0 | Y=0, A=a)",
        "the group has no actual negatives",
        True,
        (1, 0, 0, 0),
        (1, 1, 0, 0),
    ),
    _rate(
        "precision",
        "P(Y=1 | Ŷ=1, A=a)",
        "the group has no predicted positives",
        True,
        (0, 0, 0, 1),
        (0, 1, 0, 1),
    ),
    _rate(
        "negative_predictive_value",
        "P(Y=0 | Ŷ=0, A=a)",
        "the group has no predicted negatives",
        True,
        (1, 0, 0, 0),
        (1, 0, 1, 0),
    ),
    _rate(
        "false_discovery_rate",
        "P(Y=0 | Ŷ=1, A=a)",
        "the group has no predicted positives",
        False,
        (0, 1, 0, 0),
        (0, 1, 0, 1),
    ),
    _rate(
        "false_omission_rate",
        "P(Y=1 | Ŷ=0, A=a)",
        "the group has no predicted negatives",
        False,
        (0, 0, 1, 0),
        (1, 0, 1, 0),
    ),
    _rate("accuracy", "P(Ŷ=Y | A=a)", "the group is empty", True, (1, 0, 0, 1), (1, 1, 1, 1)),
    _rate("error_rate", "P(Ŷ≠Y | A=a)", "the group is empty", False, (0, 1, 1, 0), (1, 1, 1, 1)),
    _rate(
        "f1_score",
        "2·TP / (2·TP + FP + FN)",
        "the group has no actual and no predicted positives",
        True,
        (0, 0, 0, 2),
        (0, 1, 1, 2),
    ),
)

_BALANCED = MetricInfo(
    "balanced_accuracy",
    "(TPR + TNR) / 2",
    "the group lacks actual positives or actual negatives",
    True,
)

#: Names of the metrics computed from confusion counts, in report order.
CONFUSION_METRICS: tuple[str, ...] = (
    *(r.info.name for r in _RATES[:12]),
    _BALANCED.name,
    _RATES[12].info.name,
)

SCORE_METRICS: tuple[str, ...] = ("roc_auc", "brier_score_loss", "expected_calibration_error")

_SCORE_INFO = (
    MetricInfo(
        "roc_auc",
        "P(S₁ > S₀) + ½·P(S₁ = S₀), S₁ a positive's and S₀ a negative's score",
        "the group lacks actual positives or actual negatives",
        True,
    ),
    MetricInfo("brier_score_loss", "mean of (S − Y)²", "the group is empty", False),
    MetricInfo(
        "expected_calibration_error",
        f"Σ_b (n_b/n)·|mean(Y)_b − mean(S)_b| over {ECE_BINS} equal-width score bins",
        "the group is empty",
        False,
    ),
)

_REGRESSION_INFO = (
    MetricInfo("mean_absolute_error", "mean of |Ŷ − Y|", "the group is empty", False),
    MetricInfo("root_mean_squared_error", "√(mean of (Ŷ − Y)²)", "the group is empty", False),
    MetricInfo(
        "mean_error",
        "mean of (Ŷ − Y): > 0 over-predicts, < 0 under-predicts",
        "the group is empty",
        None,
    ),
    MetricInfo("mean_prediction", "mean of Ŷ", "the group is empty", None),
    MetricInfo(
        "r2_score",
        "1 − Σ(Y − Ŷ)² / Σ(Y − mean Y)², mean over the group",
        "y_true is constant in the group (or the group is empty)",
        True,
    ),
)

#: Metrics that are proportions of their support (successes / trials): their intervals are
#: widened to the exact binomial bounds where an estimate is exactly 0 or 1.
PROPORTION_METRICS: tuple[str, ...] = tuple(r.info.name for r in _RATES)

#: The regression metrics, in display order.
REGRESSION_METRICS: tuple[str, ...] = tuple(i.name for i in _REGRESSION_INFO)

METRIC_INFO: dict[str, MetricInfo] = {
    **{r.info.name: r.info for r in _RATES},
    _BALANCED.name: _BALANCED,
    **{i.name: i for i in _SCORE_INFO},
    **{i.name: i for i in _REGRESSION_INFO},
}

#: What each metric's support counts: the rows its estimate rests on.
SUPPORT_NAME: dict[str, str] = {
    "base_rate": "rows",
    "selection_rate": "rows",
    "accuracy": "rows",
    "error_rate": "rows",
    "true_positive_rate": "actual positives",
    "false_negative_rate": "actual positives",
    "false_positive_rate": "actual negatives",
    "true_negative_rate": "actual negatives",
    "precision": "predicted positives",
    "false_discovery_rate": "predicted positives",
    "negative_predictive_value": "predicted negatives",
    "false_omission_rate": "predicted negatives",
    "balanced_accuracy": "actual positives or negatives (the fewer)",
    "f1_score": "actual or predicted positives",
    "roc_auc": "actual positives or negatives (the fewer)",
    "brier_score_loss": "rows",
    "expected_calibration_error": "rows",
    **dict.fromkeys(REGRESSION_METRICS, "rows"),
}

_NUM = np.array([r.numerator for r in _RATES], dtype=np.float64).T  # (4, n_rates)
_DEN = np.array([r.denominator for r in _RATES], dtype=np.float64).T
_RATE_INDEX = {r.info.name: i for i, r in enumerate(_RATES)}


def divide(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den`` where ``den > 0``, NaN elsewhere (and no division warning).

    Examples
    --------
    >>> divide(np.array([1.0, 1.0]), np.array([4.0, 0.0]))
    array([0.25,  nan])
    """
    out = np.full(np.broadcast_shapes(np.shape(num), np.shape(den)), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def confusion_metrics(weights: FloatArray) -> dict[str, FloatArray]:
    """Every confusion-matrix metric from weighted counts.

    Parameters
    ----------
    weights : ndarray of shape (..., 4)
        Weighted counts ``(tn, fp, fn, tp)``; any leading shape (groups, replicates).

    Returns
    -------
    dict of str to ndarray of shape (...)
        One array per name in :data:`CONFUSION_METRICS`; NaN where undefined.

    Examples
    --------
    >>> import numpy as np
    >>> m = confusion_metrics(np.array([[3.0, 1.0, 0.0, 0.0]]))  # no actual positives
    >>> float(m["false_positive_rate"][0]), bool(np.isnan(m["true_positive_rate"][0]))
    (0.25, True)
    """
    w = np.asarray(weights, dtype=np.float64)
    rates = divide(w @ _NUM, w @ _DEN)
    out = {name: rates[..., i] for name, i in _RATE_INDEX.items()}
    out["balanced_accuracy"] = (out["true_positive_rate"] + out["true_negative_rate"]) / 2
    return {name: out[name] for name in CONFUSION_METRICS}


def confusion_support(count: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    """How many rows each confusion metric rests on (its denominator, unweighted).

    Parameters
    ----------
    count : ndarray of shape (..., 4)
        Row counts ``(tn, fp, fn, tp)``.

    Examples
    --------
    >>> import numpy as np
    >>> s = confusion_support(np.array([[50, 10, 3, 2]]))
    >>> int(s["true_positive_rate"][0]), int(s["precision"][0]), int(s["f1_score"][0])
    (5, 12, 15)
    """
    c = np.asarray(count, dtype=np.int64)
    tn, fp, fn, tp = (c[..., i] for i in range(4))
    n = tn + fp + fn + tp
    pos, neg = fn + tp, tn + fp
    out = {
        "base_rate": n,
        "selection_rate": n,
        "accuracy": n,
        "error_rate": n,
        "true_positive_rate": pos,
        "false_negative_rate": pos,
        "false_positive_rate": neg,
        "true_negative_rate": neg,
        "precision": tp + fp,
        "false_discovery_rate": tp + fp,
        "negative_predictive_value": tn + fn,
        "false_omission_rate": tn + fn,
        "balanced_accuracy": np.minimum(pos, neg),
        "f1_score": tp + fp + fn,
    }
    return {name: out[name] for name in CONFUSION_METRICS}


def roc_auc_from_histogram(weight: FloatArray) -> FloatArray:
    """ROC AUC from per-label score histograms ``weight`` of shape (..., 2, n_bins).

    Within one bin, positive and negative scores count as ties (½), as in the
    Mann-Whitney statistic; with one bin per distinct score this is the exact AUC.
    """
    w0, w1 = weight[..., 0, :], weight[..., 1, :]
    n0, n1 = w0.sum(axis=-1), w1.sum(axis=-1)
    below = np.cumsum(w0, axis=-1) - w0  # negative weight strictly below each bin
    pairs = (w1 * (below + 0.5 * w0)).sum(axis=-1)
    out: FloatArray = np.clip(divide(pairs, n0 * n1), 0.0, 1.0)  # rounding of weighted sums
    return out


def brier_from_totals(
    label_weight: FloatArray, label_score_sum: FloatArray, label_score_sumsq: FloatArray
) -> FloatArray:
    """Brier score from per-label totals (shape (..., 2)): Σw·(s − y)² / Σw.

    With ``y`` 0 or 1, ``Σw(s − y)² = Σws² − 2·Σ_{y=1} ws + Σ_{y=1} w``.
    """
    total = label_weight.sum(axis=-1)
    sq = label_score_sumsq.sum(axis=-1)
    out: FloatArray = np.clip(
        divide(sq - 2.0 * label_score_sum[..., 1] + label_weight[..., 1], total), 0.0, 1.0
    )
    return out


def ece_from_gaps(gap: FloatArray, total_weight: FloatArray) -> FloatArray:
    """Expected calibration error from ``gap`` (..., 10) = Σw·(y − s) per calibration bin."""
    out: FloatArray = divide(np.abs(gap).sum(axis=-1), total_weight)
    return out


def calibration_onehot(ece_bin: npt.NDArray[np.int64]) -> FloatArray:
    """(n_bins, 10) 0/1 matrix: which calibration bin each score bin belongs to."""
    onehot = np.zeros((ece_bin.size, ECE_BINS))
    onehot[np.arange(ece_bin.size), ece_bin] = 1.0
    return onehot


def score_metrics(
    weight: FloatArray,
    score_sum: FloatArray,
    score_sumsq: FloatArray,
    ece_bin: npt.NDArray[np.int64],
) -> dict[str, FloatArray]:
    """AUC, Brier score and expected calibration error from per-label score histograms.

    Parameters
    ----------
    weight, score_sum, score_sumsq : ndarray of shape (..., 2, n_bins)
        Weight, weighted score sum and weighted squared-score sum per true label and bin,
        bins in increasing score order.
    ece_bin : ndarray of shape (n_bins,)
        The calibration bin (0 to 9) of each score bin.

    Returns
    -------
    dict of str to ndarray of shape (...)

    Notes
    -----
    Within one bin, positive and negative scores count as ties (½), as in the
    Mann-Whitney statistic; with one bin per distinct score this is the exact AUC. The
    Brier score needs only per-label totals and the calibration error only sums per
    calibration bin (:func:`brier_from_totals`, :func:`ece_from_gaps`).

    Examples
    --------
    >>> import numpy as np
    >>> # negatives score 0.1 and 0.5; positives score 0.5 and 0.9
    >>> w = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    >>> s = w * np.array([0.1, 0.5, 0.9])
    >>> m = score_metrics(w, s, s * np.array([0.1, 0.5, 0.9]), np.array([1, 5, 9]))
    >>> float(m["roc_auc"])  # pairs: (0.5>0.1)=1, (0.5=0.5)=0.5, (0.9>0.1)=1, (0.9>0.5)=1
    0.875
    """
    brier = brier_from_totals(weight.sum(axis=-1), score_sum.sum(axis=-1), score_sumsq.sum(axis=-1))
    y = np.array([0.0, 1.0])[:, None]
    gap = (y * weight - score_sum).sum(axis=-2) @ calibration_onehot(ece_bin)
    ece = ece_from_gaps(gap, weight.sum(axis=(-2, -1)))
    return {
        "roc_auc": roc_auc_from_histogram(weight),
        "brier_score_loss": brier,
        "expected_calibration_error": ece,
    }


def auc_tie_bound(weight: FloatArray) -> FloatArray:
    """Largest possible error of the histogram AUC: half the share of pairs tied in a bin.

    Examples
    --------
    >>> import numpy as np
    >>> float(auc_tie_bound(np.array([[1.0, 1.0], [1.0, 1.0]])))
    0.25
    """
    w0, w1 = weight[..., 0, :], weight[..., 1, :]
    return divide(0.5 * (w0 * w1).sum(axis=-1), w0.sum(axis=-1) * w1.sum(axis=-1))


def regression_metrics(
    moments: FloatArray,
    total_sum_of_squares: FloatArray | None = None,
    shift: float = 0.0,
    constant: npt.NDArray[np.bool_] | None = None,
) -> dict[str, FloatArray]:
    """Every regression metric from weighted moment sums.

    Parameters
    ----------
    moments : ndarray of shape (..., 7)
        Per group (and replicate): ``W = Σw``, ``Σw·e``, ``Σw·e²``, ``Σw·|e|``,
        ``Σw·(ŷ − c)``, ``Σw·(y − c)``, ``Σw·(y − c)²`` with ``e = ŷ − y`` and ``c`` a shift
        (see :class:`~audit._statistics.RegressionMoments`) that keeps the sums small.
    total_sum_of_squares : ndarray of shape (...), optional
        ``Σw·(y − ȳ)²`` computed stably (from centred cell moments); by default it is
        ``Σw·(y − c)² − (Σw·(y − c))² / W``, which loses digits when the group's mean is far
        from ``c`` relative to its spread.
    shift : float
        The shift ``c`` of the moments.
    constant : ndarray of bool, shape (...), optional
        Where ``y_true`` is known to be constant: R² is undefined there. Elsewhere R² is
        undefined only when the total sum of squares is not positive.

    Returns
    -------
    dict of str to ndarray of shape (...)
        One array per name in :data:`REGRESSION_METRICS`; NaN where undefined.

    Examples
    --------
    >>> import numpy as np
    >>> y, p = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 3.0])
    >>> e = p - y
    >>> m = regression_metrics(np.array([3, e.sum(), (e**2).sum(), abs(e).sum(), p.sum(),
    ...                                  y.sum(), (y**2).sum()], dtype=float))
    >>> [round(float(m[k]), 6) for k in REGRESSION_METRICS]  # R²: 1 − 2 / (14/3)
    [0.666667, 0.816497, 0.0, 2.333333, 0.571429]
    """
    m = np.asarray(moments, dtype=np.float64)
    w = m[..., 0]
    mse = divide(m[..., 2], w)
    if total_sum_of_squares is None:
        total_sum_of_squares = m[..., 6] - divide(m[..., 5] ** 2, w)
    sst = (
        total_sum_of_squares if constant is None else np.where(constant, 0.0, total_sum_of_squares)
    )
    return {
        "mean_absolute_error": divide(m[..., 3], w),
        "root_mean_squared_error": np.sqrt(mse),
        "mean_error": divide(m[..., 1], w),
        "mean_prediction": divide(m[..., 4], w) + shift,
        "r2_score": 1.0 - divide(m[..., 2], sst),
    }
