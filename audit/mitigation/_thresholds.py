"""Group-specific thresholds from score histograms: Hardt et al.'s post-processing, at scale.

fairlearn's :class:`~fairlearn.postprocessing.ThresholdOptimizer` walks every row of every
group in Python to build its trade-off curves. Here those curves are built from the audit
core's sufficient statistics instead: the per-cell, per-label score histograms of
:func:`audit._statistics.count_statistics`. A cut between two score bins gives one point of a
group's curve (its confusion counts are cumulative sums of the histogram), so after the one
counting pass the optimisation costs ``O(n_cells × score_bins + grid_size × n_cells)``,
whatever the number of rows.

The optimisation is fairlearn's (0.15), step for step:

1. Per group, every cut gives a point (constraint metric, objective); for equalized odds
   (false positive rate, true positive rate): the ROC curve.
2. The upper convex hull of those points (Andrew's monotone chain, collinear points dropped).
   Any point on the hull is reachable by randomizing between the two thresholds of its
   segment.
3. The hull is read at ``grid_size + 1`` equally spaced values of the constraint metric
   over [0, 1].
4. Simple constraints: the common grid value that maximises the objective weighted by group
   size (with ``tolerance``: one grid value per group, at most ``tolerance`` apart, chosen by
   fairlearn's sliding window). Equalized odds: at each false positive rate the lowest of the
   groups' hulls is reachable by every group (a group above it mixes in a coin flip); the
   best such point by the pooled objective.

When the histogram is exact (at most ``score_bins`` distinct scores: one bin per value) the
points, thresholds and choices are the ones fairlearn computes, bit for bit. With
equal-width bins the cuts are between occupied bins: every point is still one fairlearn
considers, with the same counts, and its threshold (the middle of the gap between the two
bins) is within half a bin width of fairlearn's; but cuts inside a bin are not available, so
the hull can lie slightly lower, the objective can only be lower, and the chosen grid point
and hull segment can differ (on Adult: the same common value or one grid step away).

Where this differs from fairlearn, on purpose:

- A group with a single class is refused only where the constraint or objective needs the
  missing class (fairlearn refuses it always).
- A missing sensitive value is its own group, ``"unknown"`` (the audit core's rule).
- Predictions draw from ``random_state`` only, never from NumPy's global generator
  (fairlearn#1261). With an integer seed, randomized predictions equal fairlearn's
  ``predict(..., random_state=seed)`` whenever the rules are equal.
- ``deterministic=True`` offers one threshold per group (see :class:`GroupRule`).
- ``flip`` (thresholding "score below t") and sample weights are not offered.

References
----------
Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
NeurIPS. https://arxiv.org/abs/1610.02413
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from audit._statistics import CellStatistics, count_statistics
from audit._validation import PreparedData, check_same_length, prepare_data
from audit.mitigation._common import MitigationError, uniform_draws

__all__ = [
    "CONSTRAINTS",
    "EQUALIZED_ODDS_OBJECTIVES",
    "OBJECTIVES",
    "GroupRule",
    "GroupThresholdClassifier",
    "GroupThresholds",
    "InfeasibleConstraintError",
    "Rates",
    "ThresholdError",
    "fit_thresholds",
    "optimize_thresholds",
    "predict_thresholds",
    "score_statistics",
    "threshold_probability",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The constraints, each with the metric it equalises across groups (fairlearn's names;
#: ``selection_rate_parity`` is a synonym of ``demographic_parity``). Equalized odds
#: equalises the false and the true positive rate.
CONSTRAINTS: Mapping[str, str] = {
    "demographic_parity": "selection_rate",
    "selection_rate_parity": "selection_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "equalized_odds": "false_positive_rate",
}
#: Objectives for the single-metric constraints.
OBJECTIVES = (
    "accuracy_score",
    "balanced_accuracy_score",
    "selection_rate",
    "true_positive_rate",
    "true_negative_rate",
)
#: Objectives for equalized odds (non-decreasing in true positives, as fairlearn requires).
EQUALIZED_ODDS_OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")

_JOIN = " × "
_SCORE_SOURCES = ("auto", "predict_proba", "decision_function", "predict")
#: Above this many possible feature combinations, rows find their group by binary search
#: instead of a lookup table.
_TABLE_LIMIT = 1 << 22


class ThresholdError(MitigationError):
    """Group thresholds cannot be fitted or applied to this data with these parameters."""


class InfeasibleConstraintError(ThresholdError):
    """The constraint cannot be met within the requested tolerance by the requested rule."""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """Rates of a decision rule in one group, on the data the rule was fitted on.

    For a randomized rule they are expected values over its random draws. A rate whose
    denominator is zero in the group (no positives, no negatives) is NaN.

    Attributes
    ----------
    selection_rate : float
        ``P(Ŷ = 1)``.
    true_positive_rate : float
        ``P(Ŷ = 1 | Y = 1)``.
    false_positive_rate : float
        ``P(Ŷ = 1 | Y = 0)``.
    accuracy_score : float
        ``P(Ŷ = Y)``.

    Examples
    --------
    >>> Rates(0.5, 1.0, 0.0, 1.0).selection_rate
    0.5
    """

    selection_rate: float
    true_positive_rate: float
    false_positive_rate: float
    accuracy_score: float


@dataclass(frozen=True)
class GroupRule:
    """The decision rule of one group: two thresholds mixed at random, or one threshold.

    **Randomized rule** (fairlearn's, the one the optimisation chooses). For a row of this
    group with score ``s``::

        P(Ŷ = 1 | s) = (1 − p_ignore) · (p0 · [s > threshold0] + (1 − p0) · [s > threshold1])
                       + p_ignore · prediction_constant

    ``threshold0`` and ``threshold1`` are the neighbouring vertices of the group's convex hull
    (fairlearn's ``operation0``/``operation1``, both ``">"``; ``inf`` predicts no one,
    ``-inf`` everyone) and ``p0`` is fairlearn's ``p0``. ``p_ignore`` and
    ``prediction_constant`` are used by equalized odds only (0 otherwise): with probability
    ``p_ignore`` the outcome is replaced by a coin that shows 1 with probability
    ``prediction_constant``.

    **Deterministic rule**: ``Ŷ = [s > threshold]``, the single cut of this group (any cut
    between two score bins, not only hull vertices) whose constraint metric is closest to the
    value the randomized rule reaches (``constraint_value``; for equalized odds the cut
    closest to the common (false positive rate, true positive rate) in the larger of the two
    differences); ties go to the better objective (for equalized odds, the higher true
    positive rate), then to the higher threshold. For a single-metric constraint its metric
    is within half a step of the target, a step being what one score bin adds to the metric
    (the bin's rows over the metric's denominator in the group); so groups are only
    approximately equal under it: :attr:`GroupThresholds.deterministic_spread` says how far.
    With ``tolerance``, ``deterministic=True`` makes fitting fail when that spread exceeds it.

    Attributes
    ----------
    group : str
        The group's label: its category of each sensitive feature, joined by ``" × "``.
    categories : tuple of str
        The group's category of each sensitive feature.
    n_rows, n_positives : int
        Rows of the group in the fitted data, and those with ``y_true = 1``.
    threshold0, threshold1, p0, p_ignore, prediction_constant : float
        The randomized rule.
    constraint_value : float
        The constraint metric the randomized rule reaches in this group (a grid point; for
        equalized odds the false positive rate).
    objective_value : float
        The group's objective at that point (on its convex hull).
    rates : Rates
        Expected rates of the randomized rule on the fitted data.
    threshold : float
        The deterministic rule's threshold.
    deterministic_rates : Rates
        Rates of the deterministic rule on the fitted data.

    Examples
    --------
    >>> rule = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], ["a", "a", "b", "b"],
    ...                       grid_size=4).groups[0]
    >>> rule.group, rule.threshold, rule.rates.selection_rate
    ('a', 0.5, 0.5)
    """

    group: str
    categories: tuple[str, ...]
    n_rows: int
    n_positives: int
    threshold0: float
    threshold1: float
    p0: float
    p_ignore: float
    prediction_constant: float
    constraint_value: float
    objective_value: float
    rates: Rates
    threshold: float
    deterministic_rates: Rates


@dataclass(frozen=True)
class GroupThresholds:
    """Group-specific thresholds chosen under a fairness constraint, with what they achieve.

    Built by :func:`optimize_thresholds`; applied by :func:`predict_thresholds`.

    Attributes
    ----------
    constraints, objective : str
        As given (``selection_rate_parity`` is kept as given; it means demographic parity).
    tolerance : float or None
        The largest allowed difference of the constraint metric between groups (None: equal).
    grid_size : int
        Number of steps of the grid of constraint values over [0, 1].
    features : tuple of str
        Sensitive feature names; the groups are their combinations.
    categories : tuple of tuple of str
        The categories of each feature seen in the fitted data.
    groups : tuple of GroupRule
        One rule per group (observed combination), in the order of the categories.
    constraint_metric : str
        The metric made equal (``"false_positive_rate"`` and the true positive rate for
        equalized odds).
    constraint_value : float
        The common value the randomized rules reach (for equalized odds the false positive
        rate; ``common_true_positive_rate`` is the true positive rate). With a tolerance the
        groups' values differ: this is their mean weighted by group size.
    common_true_positive_rate : float
        Equalized odds only (NaN otherwise).
    constraint_spread : float
        Largest minus smallest constraint value across groups under the randomized rules
        (0 without tolerance).
    objective_value : float
        The objective of the randomized rules: the group-size-weighted mean of the groups'
        objectives for simple constraints, the objective of the pooled counts for equalized
        odds (as fairlearn).
    deterministic_spread : float
        The constraint spread under the deterministic rules (for equalized odds the larger of
        the false and the true positive rate spreads).
    deterministic_objective_value : float
        The objective under the deterministic rules (computed as ``objective_value``).
    n_rows : int
        Rows fitted on.
    exact_histogram : bool
        Whether the score histogram had one bin per distinct score (thresholds then are
        fairlearn's midpoints between neighbouring scores).

    Notes
    -----
    With equal-width bins (``exact_histogram`` False) a cut sits at a bin edge ``e`` and the
    rule is ``score > e``; a row whose score equals an edge exactly is counted in the bin above
    but predicted below it, so the rates reported here can differ from those of the rule on
    the fitted rows by the share of such rows (none for continuous scores).

    Examples
    --------
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], ["a", "a", "b", "b"],
    ...                         grid_size=4)
    >>> [g.group for g in result.groups], result.constraint_value, result.objective_value
    (['a', 'b'], 0.5, 1.0)
    """

    constraints: str
    objective: str
    tolerance: float | None
    grid_size: int
    features: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    groups: tuple[GroupRule, ...]
    constraint_metric: str
    constraint_value: float
    common_true_positive_rate: float
    constraint_spread: float
    objective_value: float
    deterministic_spread: float
    deterministic_objective_value: float
    n_rows: int
    exact_histogram: bool

    def group(self, label: str) -> GroupRule:
        """The rule of one group by its label (``"Female × Black"``).

        Raises
        ------
        KeyError
            Naming the groups present.

        Examples
        --------
        >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
        >>> result.group("b").threshold
        0.6
        """
        for rule in self.groups:
            if rule.group == label:
                return rule
        raise KeyError(f"No group {label!r}. Groups present: {[g.group for g in self.groups]}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: infinite thresholds as ``"inf"``/``"-inf"``, NaN as None.

        Examples
        --------
        >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
        >>> result.to_dict()["groups"][0]["threshold"]
        0.5
        """

        def plain(value: Any) -> Any:
            if isinstance(value, float) and math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        out: dict[str, Any] = plain(asdict(self))
        return out


# ---------------------------------------------------------------------------------------------
# Counting: the audit core's statistics for (y_true, y_score, sensitive_features)
# ---------------------------------------------------------------------------------------------


def _feature_frame(sensitive_features: Any) -> tuple[pd.DataFrame, bool]:
    """The sensitive features as a DataFrame with a RangeIndex; and whether names were given."""
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame, True
    if isinstance(sensitive_features, Mapping):
        columns = {
            str(k): (v.reset_index(drop=True) if isinstance(v, pd.Series) else pd.Series(v))
            for k, v in sensitive_features.items()
        }
        return pd.DataFrame(columns, copy=False), True
    if isinstance(sensitive_features, pd.Series):
        name = "sensitive_feature" if sensitive_features.name is None else sensitive_features.name
        return sensitive_features.reset_index(drop=True).rename(str(name)).to_frame(), True
    values = np.asarray(sensitive_features, dtype=object)
    if values.ndim == 1:
        return pd.DataFrame({"sensitive_feature": values}, copy=False), False
    if values.ndim == 2:
        table = {f"sensitive_feature_{j}": values[:, j] for j in range(values.shape[1])}
        return pd.DataFrame(table, copy=False), False
    raise ThresholdError(
        "The 'sensitive_features' parameter must be one column or a table of columns "
        f"(1-D or 2-D). Got an array of shape {values.shape}."
    )


def _score_array(y_score: Any, source: str) -> FloatArray:
    """Scores as a finite 1-D float64 array (the error names ``source``)."""
    try:
        scores = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ThresholdError(f"{source} must hold numbers. Got: {exc}.") from None
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ThresholdError(
            f"{source} must be one score per row (1-D). Got an array of shape {scores.shape}."
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ThresholdError(
            f"{source} must hold finite numbers; found {int(np.isnan(scores).sum())} NaN and "
            f"{int(np.isinf(scores).sum())} infinite values (first at row {first})."
        )
    return scores


def _prepared(
    scores: FloatArray, sensitive_features: Any, labels: Any = None
) -> tuple[PreparedData, tuple[str, ...], bool]:
    """``prepare_data`` on the features, with the labels and scores when fitting.

    The audit core counts predictions too; thresholds need none, so the label column is passed
    as ``y_pred`` as well (its confusion counts are then just positives and negatives, unused).
    To apply fitted rules (``labels`` None) only the features are encoded, with a placeholder
    label column of zeros (the scores were validated by :func:`_score_array`).
    """
    frame, named = _feature_frame(sensitive_features)
    names = tuple(frame.columns)
    reserved = sorted({"y_true", "y_score"} & set(names))
    if reserved:
        raise ThresholdError(
            f"A sensitive feature may not be named {reserved[0]!r} (used for the labels and "
            "scores); rename it."
        )
    if labels is None:
        check_same_length({"y_score": scores, "sensitive_features": frame})
        columns: dict[str, npt.NDArray[Any]] = {"y_true": np.zeros(scores.size, dtype=np.int8)}
    else:
        y = np.asarray(labels)
        if y.ndim != 1:
            raise ThresholdError(f"y_true must be one label per row (1-D). Got shape {y.shape}.")
        check_same_length({"y_true": y, "y_score": scores, "sensitive_features": frame})
        columns = {"y_true": y, "y_score": scores}
    data = pd.DataFrame({**{n: frame[n] for n in names}, **columns}, copy=False)
    prepared = prepare_data(
        data,
        y_true="y_true",
        y_pred="y_true",
        y_score=None if labels is None else "y_score",
        sensitive_features=list(names),
        score_type="score",
    )
    return prepared, names, named


def score_statistics(
    y_true: Any, y_score: Any, sensitive_features: Any, *, score_bins: int = 10_000
) -> CellStatistics:
    """Per-cell, per-label score histograms of (y_true, y_score), by the audit core's counting.

    A thin layer over :func:`audit._validation.prepare_data` and
    :func:`audit._statistics.count_statistics`: validation, cells and histograms are the
    audit's own (one pass over the rows). Bins span the observed score range.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels, 0/1 or booleans.
    y_score : array-like of shape (n_samples,)
        Finite scores (probabilities or any real score; higher means more likely positive).
    sensitive_features : array-like, Series, DataFrame or dict of array-like
        One feature or several: the groups are their combinations (cells).
    score_bins : int, default 10000
        At most this many distinct scores: one bin per value (exact); otherwise this many
        equal-width bins.

    Returns
    -------
    CellStatistics
        With ``scores`` set.

    Raises
    ------
    DataValidationError
        Non-binary labels, non-finite scores, mismatched lengths.

    Examples
    --------
    >>> stats = score_statistics([0, 1, 1], [0.1, 0.9, 0.4], ["a", "a", "b"])
    >>> stats.scores.count[0].tolist()  # cell a: label 0, label 1 over the bins 0.1, 0.4, 0.9
    [[1, 0, 0], [0, 0, 1]]
    """
    scores = _score_array(y_score, "y_score")
    prepared, _, _ = _prepared(scores, sensitive_features, y_true)
    return count_statistics(prepared, score_bins=score_bins, probability=False)


# ---------------------------------------------------------------------------------------------
# Optimisation: pure functions of the statistics
# ---------------------------------------------------------------------------------------------


def _metric(name: str, tp: Any, fp: Any, tn: Any, fn: Any) -> Any:
    """A metric of confusion counts, with fairlearn's formulas and order of operations."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "selection_rate":
            return (tp + fp) / (tp + tn + fp + fn)
        if name == "true_positive_rate":
            return tp / (tp + fn)
        if name == "false_positive_rate":
            return fp / (tn + fp)
        if name == "true_negative_rate":
            return tn / (tn + fp)
        if name == "false_negative_rate":
            return fn / (tp + fn)
        if name == "accuracy_score":
            return (tp + tn) / (tp + tn + fp + fn)
        if name == "balanced_accuracy_score":
            return 0.5 * tp / (tp + fn) + 0.5 * tn / (tn + fp)
    raise AssertionError(name)  # parameters are validated before


@dataclass(frozen=True)
class _Curve:
    """One group's cuts (all of them, and the hull vertices) as confusion counts."""

    threshold: FloatArray  # per cut, descending: inf, midpoints..., -inf
    tp: IntArray
    fp: IntArray
    positives: int
    negatives: int
    hull: IntArray  # indices into the cuts, in increasing x
    x: FloatArray  # constraint metric per cut
    y: FloatArray  # objective per cut (TPR for equalized odds)


def _upper_hull(x: FloatArray, y: FloatArray, order: IntArray) -> IntArray:
    """Upper convex hull of the points taken in ``order`` (sorted by x, then y).

    Andrew's monotone chain with fairlearn's test, so that collinear and nearly collinear
    points are kept or dropped exactly as fairlearn does.
    """
    xs, ys = x[order].tolist(), y[order].tolist()
    keep: list[int] = []
    for i, (x2, y2) in enumerate(zip(xs, ys, strict=True)):
        while len(keep) >= 2:
            i0, i1 = keep[-2], keep[-1]
            x0, y0 = xs[i0], ys[i0]
            if (ys[i1] - y0) * (x2 - x0) <= (y2 - y0) * (xs[i1] - x0):
                keep.pop()
            else:
                break
        keep.append(i)
    out: IntArray = order[np.asarray(keep, dtype=np.int64)]
    return out


def _group_curve(
    counts: IntArray, lower: FloatArray, upper: FloatArray, x_metric: str, y_metric: str
) -> _Curve:
    """All cuts of one group's histogram (counts of shape (2, n_bins)) and their hull."""
    occupied = np.flatnonzero(counts.sum(axis=0))[::-1]  # descending scores
    neg_bins, pos_bins = counts[0, occupied], counts[1, occupied]
    fp = np.concatenate([[0], np.cumsum(neg_bins)]).astype(np.int64)
    tp = np.concatenate([[0], np.cumsum(pos_bins)]).astype(np.int64)
    threshold = np.empty(occupied.size + 1)
    threshold[0] = np.inf
    threshold[-1] = -np.inf
    # Between an occupied bin and the next lower occupied one: the middle of the gap (for
    # exact bins, fairlearn's midpoint of two neighbouring scores).
    threshold[1:-1] = (lower[occupied[:-1]] + upper[occupied[1:]]) / 2
    positives, negatives = int(tp[-1]), int(fp[-1])
    tn, fn = negatives - fp, positives - tp
    x = np.asarray(_metric(x_metric, tp, fp, tn, fn), dtype=np.float64)
    y = np.asarray(_metric(y_metric, tp, fp, tn, fn), dtype=np.float64)
    order = np.lexsort((y, x)).astype(np.int64)
    return _Curve(threshold, tp, fp, positives, negatives, _upper_hull(x, y, order), x, y)


@dataclass(frozen=True)
class _OnGrid:
    """One group's hull read at every grid point (fairlearn's ``_interpolate_curve``)."""

    y: FloatArray
    p0: FloatArray
    vertex0: IntArray  # cut index of the left vertex (operation0)
    vertex1: IntArray


def _on_grid(curve: _Curve, grid: FloatArray) -> _OnGrid:
    hx, hy = curve.x[curve.hull], curve.y[curve.hull]
    index = np.searchsorted(hx, grid, side="right") - 1
    # At a grid point equal to a vertex, take the segment to its left (fairlearn's convention).
    index[1:] = np.where(grid[1:] == hx[index[1:]], index[1:] - 1, index[1:])
    p0 = (hx[index + 1] - grid) / (hx[index + 1] - hx[index])
    y = p0 * hy[index] + (1 - p0) * hy[index + 1]
    return _OnGrid(y, p0, curve.hull[index], curve.hull[index + 1])


def _best_within_tolerance(
    grid: FloatArray, weighted: list[FloatArray], tolerance: float
) -> tuple[list[int], float]:
    """One grid index per group, all within ``tolerance``, maximising the weighted sum.

    fairlearn's sliding window (``maximize_objective_with_tolerance``): for each window of
    grid values at most ``tolerance`` wide, each group takes its best point in the window
    (the latest on ties); the best window wins, later windows winning ties with no larger
    spread.
    """
    best: list[int] = []
    best_value, best_spread = -math.inf, math.inf
    start = 0
    for end in range(grid.size):
        while grid[end] - grid[start] > tolerance:
            start += 1
        picks = [end - int(np.argmax(w[start : end + 1][::-1])) for w in weighted]
        value = sum(w[i] for w, i in zip(weighted, picks, strict=True))
        spread = float(np.ptp(grid[picks]))
        if value > best_value or (value == best_value and spread <= best_spread):
            best, best_value, best_spread = picks, float(value), spread
    return best, best_value


def _needs(constraints: str, objective: str) -> list[tuple[int, str]]:
    """The classes every group must have, with the parameter that needs each."""
    uses = {
        "selection_rate": (),
        "true_positive_rate": (1,),
        "false_negative_rate": (1,),
        "false_positive_rate": (0,),
        "true_negative_rate": (0,),
        "accuracy_score": (),
        "balanced_accuracy_score": (0, 1),
    }
    needed: list[tuple[int, str]] = []
    constraint_classes = (
        (0, 1) if constraints == "equalized_odds" else uses[CONSTRAINTS[constraints]]
    )
    for label in constraint_classes:
        needed.append((label, f"constraints={constraints!r}"))
    for label in uses[objective]:
        if label not in constraint_classes:
            needed.append((label, f"objective={objective!r}"))
    return needed


def _check_parameters(
    owner: str,
    constraints: Any,
    objective: Any,
    tolerance: Any,
    grid_size: Any,
    score_bins: Any = 10_000,
) -> float | None:
    """Validate the optimisation parameters; return the tolerance (None when 0 or None)."""
    if not isinstance(constraints, str) or constraints not in CONSTRAINTS:
        raise ThresholdError(
            f"The 'constraints' parameter of {owner} must be one of {list(CONSTRAINTS)}. "
            f"Got {constraints!r}."
        )
    allowed = EQUALIZED_ODDS_OBJECTIVES if constraints == "equalized_odds" else OBJECTIVES
    if not isinstance(objective, str) or objective not in allowed:
        raise ThresholdError(
            f"The 'objective' parameter of {owner} must be one of {list(allowed)} with "
            f"constraints={constraints!r}. Got {objective!r}."
        )
    for name, value, low in (("grid_size", grid_size, 1), ("score_bins", score_bins, 2)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ThresholdError(
                f"The '{name}' parameter of {owner} must be an int >= {low}. Got {value!r}."
            )
    if tolerance is None:
        return None
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float | np.integer | np.floating)
        or not 0.0 <= float(tolerance) <= 1.0
    ):
        raise ThresholdError(
            f"The 'tolerance' parameter of {owner} must be a float in [0, 1] or None. "
            f"Got {tolerance!r}."
        )
    if constraints == "equalized_odds" and tolerance:
        raise ThresholdError(
            f"The 'tolerance' parameter of {owner} must be None with "
            f"constraints='equalized_odds' (fairlearn relaxes only single-metric constraints). "
            f"Got {tolerance!r}."
        )
    return float(tolerance) or None  # 0 means exact parity, as in fairlearn


def _rates(tp: float, fp: float, positives: int, negatives: int) -> Rates:
    n = positives + negatives
    with np.errstate(divide="ignore", invalid="ignore"):
        return Rates(
            selection_rate=float((tp + fp) / n),
            true_positive_rate=float(tp / positives) if positives else math.nan,
            false_positive_rate=float(fp / negatives) if negatives else math.nan,
            accuracy_score=float((tp + negatives - fp) / n),
        )


def optimize_thresholds(
    statistics: CellStatistics,
    *,
    constraints: str = "demographic_parity",
    objective: str = "accuracy_score",
    tolerance: float | None = None,
    grid_size: int = 1000,
    deterministic: bool = False,
) -> GroupThresholds:
    """Choose group-specific thresholds from score histograms (Hardt et al., as fairlearn).

    A pure function of the cell statistics: no rows are read. See the module docstring for
    the steps; they are those of fairlearn's ``ThresholdOptimizer`` with ``flip=False``.

    Parameters
    ----------
    statistics : CellStatistics
        From :func:`score_statistics` (or :func:`audit._statistics.count_statistics` of a
        table with a score column). Each observed cell is a group.
    constraints : str, default "demographic_parity"
        One of :data:`CONSTRAINTS`: the metric equalised across groups.
    objective : str, default "accuracy_score"
        One of :data:`OBJECTIVES` (:data:`EQUALIZED_ODDS_OBJECTIVES` for equalized odds),
        maximised subject to the constraint.
    tolerance : float or None, default None
        Allow the constraint metric to differ by up to this much between groups (fairlearn's
        ``tol``; 0 or None: equal). Not with equalized odds.
    grid_size : int, default 1000
        Steps of the grid of constraint values over [0, 1].
    deterministic : bool, default False
        Require the deterministic rules to meet ``tolerance`` (see Raises).

    Returns
    -------
    GroupThresholds

    Raises
    ------
    ThresholdError
        Bad parameters; no score histogram; a group lacking a class that the constraint or
        objective needs (for example a true positive rate without positives).
    InfeasibleConstraintError
        ``deterministic`` with a ``tolerance`` that one threshold per group cannot meet.

    References
    ----------
    Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
    NeurIPS.

    Examples
    --------
    Group a (4 rows) has negatives at 0.125, 0.25 and positives at 0.75, 0.875; group b
    (8 rows) has one positive in four. At a common selection rate ``s`` ≤ 1/2 a's accuracy
    is ``1/2 + s`` up to ``s = 1/2``; b's is ``3/4 + s`` up to ``s = 1/4``, then ``5/4 − s``.
    Weighted 1/3 and 2/3 the sum rises to ``s = 1/4`` and falls after it: 11/12. There b
    cuts between its scores 0.5 and 0.375 (at 0.4375), and a selects 1 in 4 by taking the
    cut at 0.5 (2 in 4) half of the time and no one the other half:

    >>> y = [0, 0, 1, 1] + [0, 0, 0, 0, 0, 0, 1, 1]
    >>> score = [0.125, 0.25, 0.75, 0.875] + [0.0625 * k for k in range(1, 7)] + [0.5, 0.625]
    >>> stats = score_statistics(y, score, ["a"] * 4 + ["b"] * 8)
    >>> result = optimize_thresholds(stats, grid_size=4)
    >>> [(g.group, g.threshold0, g.threshold1, g.p0) for g in result.groups]
    [('a', inf, 0.5, 0.5), ('b', inf, 0.4375, 0.0)]
    >>> result.constraint_value, result.objective_value  # 11/12
    (0.25, 0.916666...)

    The deterministic rule of a is its cut at 0.8125, which selects 1 in 4 exactly:

    >>> [g.threshold for g in result.groups], result.deterministic_spread
    ([0.8125, 0.4375], 0.0)
    """
    owner = "optimize_thresholds"
    tol = _check_parameters(owner, constraints, objective, tolerance, grid_size)
    histogram = statistics.scores
    if histogram is None:
        raise ThresholdError(
            "The statistics have no score histogram: count a table with a y_score column "
            "(score_statistics does)."
        )
    if statistics.weighted:
        raise ThresholdError(
            "The statistics are weighted, but group thresholds use row counts (as fairlearn, "
            "which takes no sample weights): count the table without sample_weight."
        )
    equalized_odds = constraints == "equalized_odds"
    x_metric = CONSTRAINTS[constraints]
    y_metric = "true_positive_rate" if equalized_odds else objective
    cell_categories = [
        tuple(statistics.categories[j][code] for j, code in enumerate(cell))
        for cell in statistics.cells.tolist()
    ]
    labels = [_JOIN.join(c) for c in cell_categories]
    counts = histogram.count
    class_counts = counts.sum(axis=2)  # (n_cells, 2)
    for label_value, who in _needs(constraints, objective):
        lacking = np.flatnonzero(class_counts[:, label_value] == 0)
        if lacking.size:
            g = int(lacking[0])
            kind = "positives (y_true = 1)" if label_value == 1 else "negatives (y_true = 0)"
            raise ThresholdError(
                f"Group {labels[g]!r} has only one class in y_true (all {1 - label_value}): "
                f"{who} needs {kind} in every group."
            )

    edges = histogram.edges
    lower = edges[:-1]
    upper = edges[:-1] if histogram.exact else edges[1:]
    curves = [_group_curve(counts[g], lower, upper, x_metric, y_metric) for g in range(len(labels))]
    grid = np.linspace(0, 1, grid_size + 1)
    on_grid = [_on_grid(c, grid) for c in curves]
    n_rows = int(class_counts.sum())
    shares = [(c.positives + c.negatives) / n_rows for c in curves]

    p_ignore = [0.0] * len(curves)
    constant = 0.0
    common_tpr = math.nan
    if equalized_odds:
        y_min = np.min(np.stack([o.y for o in on_grid]), axis=0)
        n_positive = int(class_counts[:, 1].sum())
        n_negative = n_rows - n_positive
        values = np.around(
            _metric(
                objective,
                n_positive * y_min,
                n_negative * grid,
                n_negative * (1.0 - grid),
                n_positive * (1.0 - y_min),
            ),
            15,
        )
        best = int(np.argmax(values))
        picks = [best] * len(curves)
        objective_value = float(values[best])
        constant, common_tpr = float(grid[best]), float(y_min[best])
        for g, o in enumerate(on_grid):
            y_g, x_g = float(o.y[best]), float(grid[best])
            # Mix in the coin (a point on the diagonal) to bring the group down to y_min.
            p_ignore[g] = 0.0 if y_g == x_g else (y_g - common_tpr) / (y_g - x_g)
    elif tol is None:
        total = shares[0] * on_grid[0].y
        for share, o in zip(shares[1:], on_grid[1:], strict=True):
            total = total + share * o.y
        best = int(np.argmax(total))
        picks = [best] * len(curves)
        objective_value = float(total[best])
    else:
        weighted = [o.y * share for o, share in zip(on_grid, shares, strict=True)]
        picks, objective_value = _best_within_tolerance(grid, weighted, tol)

    rules: list[GroupRule] = []
    det_x: list[float] = []
    det_y: list[float] = []
    det_counts = np.zeros(2)  # pooled deterministic (tp, fp), for equalized odds
    for g, (curve, o, i) in enumerate(zip(curves, on_grid, picks, strict=True)):
        p0 = float(o.p0[i])
        v0, v1 = int(o.vertex0[i]), int(o.vertex1[i])
        keep = 1.0 - p_ignore[g]
        tp = keep * (p0 * curve.tp[v0] + (1 - p0) * curve.tp[v1])
        fp = keep * (p0 * curve.fp[v0] + (1 - p0) * curve.fp[v1])
        tp += p_ignore[g] * constant * curve.positives
        fp += p_ignore[g] * constant * curve.negatives
        target_x = float(grid[i])
        if equalized_odds:
            distance = np.maximum(np.abs(curve.x - target_x), np.abs(curve.y - common_tpr))
        else:
            distance = np.abs(curve.x - target_x)
        cut = int(np.lexsort((-curve.y, distance))[0])
        det_x.append(float(curve.x[cut]))
        det_y.append(float(curve.y[cut]))
        det_counts += (curve.tp[cut], curve.fp[cut])
        rules.append(
            GroupRule(
                group=labels[g],
                categories=cell_categories[g],
                n_rows=curve.positives + curve.negatives,
                n_positives=curve.positives,
                threshold0=float(curve.threshold[v0]),
                threshold1=float(curve.threshold[v1]),
                p0=p0,
                p_ignore=float(p_ignore[g]),
                prediction_constant=constant,
                constraint_value=target_x,
                objective_value=float(o.y[i]),
                rates=_rates(tp, fp, curve.positives, curve.negatives),
                threshold=float(curve.threshold[cut]),
                deterministic_rates=_rates(
                    float(curve.tp[cut]), float(curve.fp[cut]), curve.positives, curve.negatives
                ),
            )
        )
    if equalized_odds:
        tpr = [r.deterministic_rates.true_positive_rate for r in rules]
        deterministic_spread = max(float(np.ptp(det_x)), float(np.ptp(tpr)))
        n_positive = int(class_counts[:, 1].sum())
        tp_all, fp_all = float(det_counts[0]), float(det_counts[1])
        deterministic_objective = float(
            _metric(objective, tp_all, fp_all, n_rows - n_positive - fp_all, n_positive - tp_all)
        )
    else:
        deterministic_spread = float(np.ptp(det_x))
        deterministic_objective = float(sum(s * y for s, y in zip(shares, det_y, strict=True)))
    constraint_values = [r.constraint_value for r in rules]
    if deterministic and tol is not None and deterministic_spread > tol:
        spread = ", ".join(f"{r.group}: {x:.4g}" for r, x in zip(rules, det_x, strict=True))
        raise InfeasibleConstraintError(
            f"tolerance={tol} cannot be met with one threshold per group: the closest single "
            f"thresholds give {x_metric} {spread} (spread {deterministic_spread:.4g} > {tol}). "
            "Use the randomized rule (deterministic=False), a larger tolerance, or more "
            "score_bins."
        )
    return GroupThresholds(
        constraints=constraints,
        objective=objective,
        tolerance=tol,
        grid_size=int(grid_size),
        features=statistics.features,
        categories=statistics.categories,
        groups=tuple(rules),
        constraint_metric=x_metric,
        constraint_value=float(np.dot(shares, constraint_values)),
        common_true_positive_rate=common_tpr,
        constraint_spread=float(np.ptp(constraint_values)),
        objective_value=objective_value,
        deterministic_spread=deterministic_spread,
        deterministic_objective_value=deterministic_objective,
        n_rows=n_rows,
        exact_histogram=histogram.exact,
    )


def fit_thresholds(
    y_true: Any,
    y_score: Any,
    sensitive_features: Any,
    *,
    constraints: str = "demographic_parity",
    objective: str = "accuracy_score",
    tolerance: float | None = None,
    grid_size: int = 1000,
    score_bins: int = 10_000,
    deterministic: bool = False,
) -> GroupThresholds:
    """Group-specific thresholds for scores, straight from the rows: the fast path.

    :func:`score_statistics` (one counting pass over the rows, no estimator) then
    :func:`optimize_thresholds`.

    Parameters
    ----------
    y_true, y_score, sensitive_features, score_bins
        As in :func:`score_statistics`.
    constraints, objective, tolerance, grid_size, deterministic
        As in :func:`optimize_thresholds`.

    Returns
    -------
    GroupThresholds

    Raises
    ------
    ThresholdError, InfeasibleConstraintError, DataValidationError
        See :func:`score_statistics` and :func:`optimize_thresholds`.

    Examples
    --------
    >>> result = fit_thresholds([0, 1, 0, 1, 1], [0.2, 0.8, 0.1, 0.4, 0.6], list("aabbb"),
    ...                         constraints="true_positive_rate_parity", grid_size=2)
    >>> [(g.group, g.threshold) for g in result.groups]
    [('a', 0.5), ('b', 0.25)]
    """
    _check_parameters("fit_thresholds", constraints, objective, tolerance, grid_size, score_bins)
    statistics = score_statistics(y_true, y_score, sensitive_features, score_bins=score_bins)
    return optimize_thresholds(
        statistics,
        constraints=constraints,
        objective=objective,
        tolerance=tolerance,
        grid_size=grid_size,
        deterministic=deterministic,
    )


# ---------------------------------------------------------------------------------------------
# Applying the rules
# ---------------------------------------------------------------------------------------------


def _row_groups(
    thresholds: GroupThresholds, sensitive_features: Any, scores: FloatArray
) -> npt.NDArray[np.signedinteger[Any]]:
    """Each row's group (index into ``thresholds.groups``); unknown groups are an error.

    The features are encoded by :func:`audit._validation.prepare_data`, with a placeholder
    label column (all 0: labels are not needed to apply a rule), so categories are
    normalised exactly as when fitting.
    """
    frame, named = _feature_frame(sensitive_features)
    fit_names = thresholds.features
    if named and set(fit_names) <= set(frame.columns) and len(frame.columns) == len(fit_names):
        frame = frame[list(fit_names)]
    elif len(frame.columns) != len(fit_names):
        raise ThresholdError(
            f"The 'sensitive_features' parameter must have the {len(fit_names)} feature(s) "
            f"the thresholds were fitted on ({list(fit_names)}). Got {len(frame.columns)}: "
            f"{list(frame.columns)}."
        )
    prepared, _, _ = _prepared(scores, frame)
    # Mixed-radix key over the fitted categories, one extra digit per feature for "unseen".
    radix = [len(c) + 1 for c in thresholds.categories]
    n_keys = int(np.prod(radix, dtype=np.float64))
    dtype = np.int32 if n_keys < np.iinfo(np.int32).max else np.int64
    key: npt.NDArray[np.signedinteger[Any]] = np.zeros(scores.size, dtype=dtype)
    for feature, fit_categories, base in zip(
        prepared.features, thresholds.categories, radix, strict=True
    ):
        position = {c: k for k, c in enumerate(fit_categories)}
        lookup: npt.NDArray[np.signedinteger[Any]] = np.array(
            [position.get(c, base - 1) for c in feature.categories], dtype=dtype
        )
        key *= base
        key += lookup[feature.codes]
    rule_keys = np.zeros(len(thresholds.groups), dtype=np.int64)
    for g, rule in enumerate(thresholds.groups):
        for fit_categories, base, category in zip(
            thresholds.categories, radix, rule.categories, strict=True
        ):
            rule_keys[g] = rule_keys[g] * base + fit_categories.index(category)
    group: npt.NDArray[np.signedinteger[Any]]
    if n_keys <= _TABLE_LIMIT:
        table = np.full(n_keys, -1, dtype=np.int32)
        table[rule_keys] = np.arange(rule_keys.size)
        group = table[key]
    else:
        order = np.argsort(rule_keys)
        at = np.minimum(np.searchsorted(rule_keys[order], key), rule_keys.size - 1)
        group = np.where(rule_keys[order][at] == key, order[at], -1)
    missing = group < 0
    if missing.any():
        rows = np.flatnonzero(missing)
        codes = np.unique(np.column_stack([f.codes[rows] for f in prepared.features]), axis=0)
        combos = [
            _JOIN.join(f.categories[c] for f, c in zip(prepared.features, row, strict=True))
            for row in codes.tolist()
        ]
        raise ThresholdError(
            f"sensitive_features holds {len(combos)} group(s) not seen when fitting "
            f"({rows.size} rows, first at row {int(rows[0])}): {combos[:5]}. Groups fitted: "
            f"{[g.group for g in thresholds.groups][:20]}. A rule exists only for groups "
            "present in the fitted data."
        )
    return group


def threshold_probability(
    thresholds: GroupThresholds,
    y_score: Any,
    sensitive_features: Any,
    *,
    deterministic: bool = False,
) -> FloatArray:
    """``P(Ŷ = 1)`` of each row under its group's rule (0 or 1 for the deterministic rule).

    Parameters
    ----------
    thresholds : GroupThresholds
    y_score : array-like of shape (n_samples,)
    sensitive_features : array-like, Series, DataFrame or dict of array-like
        The same features as when fitting (by name when both have names, else by position).
    deterministic : bool, default False
        Use each group's single threshold.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ThresholdError
        A group not seen when fitting, non-finite scores, mismatched lengths.

    Examples
    --------
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
    >>> threshold_probability(result, [0.1, 0.7], ["a", "b"]).tolist()
    [0.0, 1.0]
    """
    scores = _score_array(y_score, "y_score")
    group = _row_groups(thresholds, sensitive_features, scores)
    rules = thresholds.groups
    if deterministic:
        cut = np.array([r.threshold for r in rules])
        above: FloatArray = (scores > cut[group]).astype(np.float64)
        return above
    p0 = np.array([r.p0 for r in rules])
    p1 = 1 - p0
    zero = np.zeros_like(p0)
    # fairlearn's arithmetic, p0·[s > t0] + p1·[s > t1], for each of the four outcomes of the
    # two comparisons; then the coin of equalized odds. A row looks its value up.
    values = np.stack([zero + zero, zero + p1, p0 + zero, p0 + p1], axis=1)
    p_ignore = np.array([r.p_ignore for r in rules])[:, None]
    constant = np.array([r.prediction_constant for r in rules])[:, None]
    if p_ignore.any():
        values = p_ignore * constant + (1 - p_ignore) * values
    t0 = np.array([r.threshold0 for r in rules])
    t1 = np.array([r.threshold1 for r in rules])
    outcome: npt.NDArray[Any] = group * 4
    outcome += 2 * (scores > t0[group])
    outcome += scores > t1[group]
    probability: FloatArray = np.asarray(values, dtype=np.float64).ravel()[outcome]
    return probability


def predict_thresholds(
    thresholds: GroupThresholds,
    y_score: Any,
    sensitive_features: Any,
    *,
    deterministic: bool = False,
    random_state: Any = None,
) -> npt.NDArray[np.int8]:
    """Predicted labels (0/1) under the group rules.

    The randomized rule predicts 1 when ``P(Ŷ = 1) ≥ u``, with ``u`` uniform on [0, 1)
    drawn from ``random_state`` row by row (fairlearn's rule: with the same integer seed and
    equal rules the predictions equal fairlearn's).

    Parameters
    ----------
    thresholds : GroupThresholds
    y_score : array-like of shape (n_samples,)
    sensitive_features : array-like, Series, DataFrame or dict of array-like
    deterministic : bool, default False
        Use each group's single threshold (no randomness).
    random_state : int, numpy RandomState or Generator, or None
        The source of the draws. An int gives the same predictions at every call; None draws
        fresh entropy (not reproducible). NumPy's global generator is never used.

    Returns
    -------
    ndarray of int8, shape (n_samples,)

    Raises
    ------
    ThresholdError
        As :func:`threshold_probability`; a bad ``random_state``.

    Examples
    --------
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
    >>> predict_thresholds(result, [0.1, 0.7, 0.7], ["a", "a", "b"], random_state=0).tolist()
    [0, 1, 1]
    """
    probability = threshold_probability(
        thresholds, y_score, sensitive_features, deterministic=deterministic
    )
    if deterministic:
        return probability.astype(np.int8)
    draws = uniform_draws(random_state, probability.size)
    return (probability >= draws).astype(np.int8)


# ---------------------------------------------------------------------------------------------
# The scikit-learn estimator
# ---------------------------------------------------------------------------------------------


class GroupThresholdClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Group-specific thresholds on a model's scores, from score histograms (fast).

    The post-processing of Hardt et al., as fairlearn's ``ThresholdOptimizer`` computes it
    (see the module docstring), with the trade-off curves built from the audit core's score
    histograms: fitting costs one counting pass over the rows plus a fixed amount of work per
    group, so it scales to tens of millions of rows. The fitted rules are in ``thresholds_``
    (:class:`GroupThresholds`), with the rates they achieve.

    Parameters
    ----------
    estimator : estimator or None, default None
        The scorer. None: ``X`` is the score itself (one column) and nothing is fitted.
    constraints : str, default "demographic_parity"
        One of :data:`CONSTRAINTS`.
    objective : str, default "accuracy_score"
        One of :data:`OBJECTIVES` (:data:`EQUALIZED_ODDS_OBJECTIVES` for equalized odds).
    tolerance : float or None, default None
        Largest allowed difference of the constraint metric between groups (fairlearn's
        ``tol``); not with equalized odds.
    grid_size : int, default 1000
        Steps of the grid of constraint values.
    score_bins : int, default 10000
        Histogram bins (exact when there are at most this many distinct scores).
    prefit : bool, default False
        Use ``estimator`` as already fitted.
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}
        The estimator's method giving the score: ``"auto"`` takes the positive-class column
        of ``predict_proba``, else ``decision_function``.
    deterministic : bool, default False
        Predict with one threshold per group (:class:`GroupRule`) instead of the randomized
        rule; with a ``tolerance``, ``fit`` raises if those thresholds cannot meet it.
    random_state : int, numpy RandomState or Generator, or None
        Draws of the randomized rule. An int gives the same predictions at every call; None
        draws fresh entropy. NumPy's global generator is never used.

    Attributes
    ----------
    estimator_ : estimator or None
        The fitted scorer.
    thresholds_ : GroupThresholds
        The rules and what they achieve on the training data.
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is the positive class.
    predict_method_ : str or None
        The method used for scores.

    Notes
    -----
    ``sensitive_features`` is a keyword-only argument of ``fit``, ``predict``,
    ``predict_proba`` and ``score``, requested by default under scikit-learn's metadata
    routing (like ``groups`` in ``GroupKFold``), so it reaches this step inside a
    :class:`~sklearn.pipeline.Pipeline`.

    References
    ----------
    Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
    NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> group = np.where(rng.random(2000) < 0.5, "a", "b")
    >>> y = (rng.random(2000) < np.where(group == "a", 0.3, 0.6)).astype(int)
    >>> score = np.clip(0.5 * y + 0.5 * rng.random(2000), 0, 1)
    >>> clf = GroupThresholdClassifier(random_state=0).fit(score, y, sensitive_features=group)
    >>> pred = clf.predict(score, sensitive_features=group)
    >>> rates = [pred[group == g].mean() for g in ("a", "b")]
    >>> bool(abs(rates[0] - rates[1]) < 0.05)
    True
    """

    # Requested by default under metadata routing. RUF012 (mutable class attribute) is
    # ignored: scikit-learn reads these plain dicts, as in its own GroupsConsumerMixin.
    __metadata_request__fit = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__predict = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__predict_proba = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__score = {"sensitive_features": True}  # noqa: RUF012

    def __init__(
        self,
        estimator: Any = None,
        *,
        constraints: str = "demographic_parity",
        objective: str = "accuracy_score",
        tolerance: float | None = None,
        grid_size: int = 1000,
        score_bins: int = 10_000,
        prefit: bool = False,
        predict_method: str = "auto",
        deterministic: bool = False,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.objective = objective
        self.tolerance = tolerance
        self.grid_size = grid_size
        self.score_bins = score_bins
        self.prefit = prefit
        self.predict_method = predict_method
        self.deterministic = deterministic
        self.random_state = random_state

    def _score_method(self, estimator: Any) -> str:
        name = type(estimator).__name__
        if self.predict_method == "auto":
            for method in ("predict_proba", "decision_function"):
                if hasattr(estimator, method):
                    return method
            raise ThresholdError(
                f"GroupThresholdClassifier(predict_method='auto') needs a score, but the "
                f"estimator {name} has neither predict_proba nor decision_function. Set "
                "predict_method='predict' to threshold its predict output."
            )
        if not hasattr(estimator, self.predict_method):
            raise ThresholdError(
                f"GroupThresholdClassifier(predict_method={self.predict_method!r}) thresholds "
                f"the estimator's {self.predict_method} output, but the estimator {name} has "
                f"no {self.predict_method}."
            )
        return str(self.predict_method)

    def _scores(self, X: Any) -> FloatArray:
        if self.estimator_ is None:
            return _score_array(X, "X (the scores: estimator is None)")
        method = str(self.predict_method_)
        out = np.asarray(getattr(self.estimator_, method)(X))
        source = f"{type(self.estimator_).__name__}.{method}(X)"
        if method == "predict_proba":
            if out.ndim != 2 or out.shape[1] != 2:
                raise ThresholdError(
                    f"{source} must have 2 columns (a binary classifier). Got shape {out.shape}."
                )
            out = out[:, 1]
            source += "[:, 1]"
        return _score_array(out, source)

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> GroupThresholdClassifier:
        """Fit the estimator (unless ``prefit`` or None) and the group thresholds.

        Parameters
        ----------
        X : array-like or DataFrame
            The estimator's input; with ``estimator=None`` the scores, one column.
        y : array-like of shape (n_samples,)
            Binary labels (two distinct values; the larger one is positive).
        sensitive_features : array-like, Series, DataFrame or dict of array-like
            Group membership; several features are combined into their intersection.

        Returns
        -------
        self

        Raises
        ------
        ThresholdError
            Bad parameters, labels that are not binary, an estimator without the method
            ``predict_method`` needs, a group without a class the constraint needs.
        InfeasibleConstraintError
            ``deterministic`` with an unreachable ``tolerance``.
        """
        owner = "GroupThresholdClassifier"
        _check_parameters(
            owner, self.constraints, self.objective, self.tolerance, self.grid_size,
            self.score_bins,
        )  # fmt: skip
        if self.predict_method not in _SCORE_SOURCES:
            raise ThresholdError(
                f"The 'predict_method' parameter of {owner} must be one of "
                f"{list(_SCORE_SOURCES)}. Got {self.predict_method!r}."
            )
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ThresholdError(f"y must be one label per row (1-D). Got shape {labels.shape}.")
        classes = np.unique(labels)
        if classes.size != 2:
            raise ThresholdError(
                f"y must hold exactly 2 classes (a binary task). Got {classes.size}: "
                f"{classes.tolist()[:5]}."
            )
        if self.estimator is None:
            self.estimator_ = None
            self.predict_method_ = None
        else:
            if self.predict_method != "auto":
                self._score_method(self.estimator)  # fail before an expensive fit
            if self.prefit:
                try:
                    check_is_fitted(self.estimator)
                except NotFittedError as exc:
                    raise ThresholdError(
                        f"prefit=True but the estimator {type(self.estimator).__name__} is not "
                        f"fitted ({exc}). Fit it first or set prefit=False."
                    ) from None
                self.estimator_ = self.estimator
            else:
                self.estimator_ = clone(self.estimator).fit(X, y)
            self.predict_method_ = self._score_method(self.estimator_)
        self.thresholds_ = fit_thresholds(
            (labels == classes[1]).astype(np.int8),
            self._scores(X),
            sensitive_features,
            constraints=self.constraints,
            objective=self.objective,
            tolerance=self.tolerance,
            grid_size=self.grid_size,
            score_bins=self.score_bins,
            deterministic=self.deterministic,
        )
        self.classes_ = classes
        return self

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> FloatArray:
        """Probability of each class under the group rules (0/1 when ``deterministic``).

        Parameters
        ----------
        X : array-like or DataFrame
        sensitive_features : array-like, Series, DataFrame or dict of array-like

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "thresholds_")
        positive = threshold_probability(
            self.thresholds_,
            self._scores(X),
            sensitive_features,
            deterministic=self.deterministic,
        )
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any, *, sensitive_features: Any) -> npt.NDArray[Any]:
        """Predicted labels; the randomized rule draws from ``random_state``.

        Parameters
        ----------
        X : array-like or DataFrame
        sensitive_features : array-like, Series, DataFrame or dict of array-like

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        check_is_fitted(self, "thresholds_")
        out = predict_thresholds(
            self.thresholds_,
            self._scores(X),
            sensitive_features,
            deterministic=self.deterministic,
            random_state=self.random_state,
        )
        labels: npt.NDArray[Any] = self.classes_[out]
        return labels

    def score(self, X: Any, y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` (which needs ``sensitive_features``).

        Parameters
        ----------
        X : array-like or DataFrame
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, Series, DataFrame or dict of array-like
        sample_weight : array-like, optional

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        predicted = self.predict(X, sensitive_features=sensitive_features)
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))
