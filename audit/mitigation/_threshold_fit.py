"""Fitting group thresholds: the optimisation over the score histograms, and the fast path.

:func:`optimize_thresholds` is a pure function of the cell statistics (no rows); the steps
are those of fairlearn's ``ThresholdOptimizer`` (see :mod:`audit.mitigation._thresholds`).
:func:`fit_thresholds` counts the rows first (:func:`score_statistics`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from audit._statistics import CellStatistics
from audit.mitigation._threshold_curves import (
    Curve,
    OnGrid,
    best_within_tolerance,
    group_curve,
    metric,
    on_grid,
)
from audit.mitigation._threshold_inputs import check_count, score_statistics
from audit.mitigation._threshold_rules import (
    EQUALIZED_ODDS_OBJECTIVES,
    GROUP_THRESHOLD_CONSTRAINTS,
    JOIN,
    OBJECTIVES,
    FloatArray,
    GroupRule,
    GroupThresholds,
    InfeasibleConstraintError,
    Rates,
    ThresholdError,
)

__all__ = ["fit_thresholds", "optimize_thresholds"]

#: The classes each metric needs in a group to be defined (0: negatives, 1: positives).
_CLASSES_NEEDED: dict[str, tuple[int, ...]] = {
    "selection_rate": (),
    "true_positive_rate": (1,),
    "false_negative_rate": (1,),
    "false_positive_rate": (0,),
    "true_negative_rate": (0,),
    "accuracy_score": (),
    "balanced_accuracy_score": (0, 1),
}


def check_parameters(
    owner: str,
    constraints: Any,
    objective: Any,
    tolerance: Any,
    grid_size: Any,
    score_bins: Any = 10_000,
) -> float | None:
    """Validate the optimisation parameters; return the tolerance (None when 0 or None)."""
    if not isinstance(constraints, str) or constraints not in GROUP_THRESHOLD_CONSTRAINTS:
        raise ThresholdError(
            f"The 'constraints' parameter of {owner} must be one of "
            f"{list(GROUP_THRESHOLD_CONSTRAINTS)}. Got {constraints!r}."
        )
    allowed = EQUALIZED_ODDS_OBJECTIVES if constraints == "equalized_odds" else OBJECTIVES
    if not isinstance(objective, str) or objective not in allowed:
        raise ThresholdError(
            f"The 'objective' parameter of {owner} must be one of {list(allowed)} with "
            f"constraints={constraints!r}. Got {objective!r}."
        )
    check_count(owner, "grid_size", grid_size, 1)
    check_count(owner, "score_bins", score_bins, 2)
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


def _check_classes(class_counts: Any, labels: list[str], constraints: str, objective: str) -> None:
    """Refuse a group lacking a class that the constraint or the objective needs."""
    needed: list[tuple[int, str]] = []
    constraint_classes = (
        (0, 1)
        if constraints == "equalized_odds"
        else _CLASSES_NEEDED[GROUP_THRESHOLD_CONSTRAINTS[constraints]]
    )
    for label in constraint_classes:
        needed.append((label, f"constraints={constraints!r}"))
    for label in _CLASSES_NEEDED[objective]:
        if label not in constraint_classes:
            needed.append((label, f"objective={objective!r}"))
    for label_value, who in needed:
        lacking = np.flatnonzero(class_counts[:, label_value] == 0)
        if lacking.size:
            g = int(lacking[0])
            kind = "positives (y_true = 1)" if label_value == 1 else "negatives (y_true = 0)"
            raise ThresholdError(
                f"Group {labels[g]!r} has only one class in y_true (all {1 - label_value}): "
                f"{who} needs {kind} in every group."
            )


def _rates(tp: float, fp: float, positives: int, negatives: int) -> Rates:
    """The rates of (expected) counts ``tp``, ``fp`` in a group; NaN where undefined."""
    n = positives + negatives
    return Rates(
        selection_rate=float((tp + fp) / n),
        true_positive_rate=float(tp / positives) if positives else math.nan,
        false_positive_rate=float(fp / negatives) if negatives else math.nan,
        accuracy_score=float((tp + negatives - fp) / n),
    )


def _equalized_odds_choice(
    objective: str, grids: list[OnGrid], grid: FloatArray, n_positive: int, n_negative: int
) -> tuple[int, float, float, list[float]]:
    """Fairlearn's equalized odds: the grid index, its objective, the common TPR, p_ignore.

    At each false positive rate the lowest of the groups' hulls is reachable by every group
    (a group above it mixes in a coin showing 1 with probability equal to that rate).
    """
    y_min = np.min(np.stack([o.y for o in grids]), axis=0)
    values = np.around(
        metric(
            objective,
            n_positive * y_min,
            n_negative * grid,
            n_negative * (1.0 - grid),
            n_positive * (1.0 - y_min),
        ),
        15,
    )
    best = int(np.argmax(values))
    x, common_tpr = float(grid[best]), float(y_min[best])
    p_ignore = []
    for o in grids:
        y_g = float(o.y[best])
        # Mix in the coin (a point on the diagonal) to bring the group down to y_min.
        p_ignore.append(0.0 if y_g == x else (y_g - common_tpr) / (y_g - x))
    return best, float(values[best]), common_tpr, p_ignore


def _deterministic_cut(curve: Curve, target_x: float, target_y: float | None) -> int:
    """The deterministic rule's cut: the one closest to the target, ties as in GroupRule.

    For equalized odds (``target_y`` given) the distance is the larger of the two metrics'.
    """
    distance = np.abs(curve.x - target_x)
    if target_y is not None:
        distance = np.maximum(distance, np.abs(curve.y - target_y))
    return int(np.lexsort((-curve.y, distance))[0])


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

    A pure function of the cell statistics: no rows are read. See the module docstring of
    :mod:`audit.mitigation._thresholds` for the steps; they are those of fairlearn's
    ``ThresholdOptimizer`` with ``flip=False``.

    Parameters
    ----------
    statistics : CellStatistics
        From :func:`score_statistics` (or :func:`audit._statistics.count_statistics` of a
        table with a score column). Each observed cell is a group.
    constraints : str, default "demographic_parity"
        One of :data:`GROUP_THRESHOLD_CONSTRAINTS`: the metric equalised across groups.
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
    tol = check_parameters("optimize_thresholds", constraints, objective, tolerance, grid_size)
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
    x_metric = GROUP_THRESHOLD_CONSTRAINTS[constraints]
    y_metric = "true_positive_rate" if equalized_odds else objective
    cell_categories = [
        tuple(statistics.categories[j][code] for j, code in enumerate(cell))
        for cell in statistics.cells.tolist()
    ]
    labels = [JOIN.join(c) for c in cell_categories]
    counts = histogram.count
    class_counts = counts.sum(axis=2)  # (n_cells, 2)
    _check_classes(class_counts, labels, constraints, objective)

    edges = histogram.edges
    lower = edges[:-1]
    upper = edges[:-1] if histogram.exact else edges[1:]
    curves = [group_curve(counts[g], lower, upper, x_metric, y_metric) for g in range(len(labels))]
    grid = np.linspace(0, 1, grid_size + 1)
    grids = [on_grid(c, grid) for c in curves]
    n_rows = int(class_counts.sum())
    n_positive = int(class_counts[:, 1].sum())
    shares = [(c.positives + c.negatives) / n_rows for c in curves]

    p_ignore = [0.0] * len(curves)
    constant = 0.0
    common_tpr = math.nan
    if equalized_odds:
        best, objective_value, common_tpr, p_ignore = _equalized_odds_choice(
            objective, grids, grid, n_positive, n_rows - n_positive
        )
        picks = [best] * len(curves)
        constant = float(grid[best])
    elif tol is None:
        total = shares[0] * grids[0].y
        for share, o in zip(shares[1:], grids[1:], strict=True):
            total = total + share * o.y
        best = int(np.argmax(total))
        picks = [best] * len(curves)
        objective_value = float(total[best])
    else:
        weighted = [o.y * share for o, share in zip(grids, shares, strict=True)]
        picks, objective_value = best_within_tolerance(grid, weighted, tol)

    rules: list[GroupRule] = []
    det_x: list[float] = []
    det_y: list[float] = []
    det_tp, det_fp = 0, 0  # pooled deterministic counts, for equalized odds
    for g, (curve, o, i) in enumerate(zip(curves, grids, picks, strict=True)):
        p0 = float(o.p0[i])
        v0, v1 = int(o.vertex0[i]), int(o.vertex1[i])
        keep = 1.0 - p_ignore[g]
        tp = keep * (p0 * curve.tp[v0] + (1 - p0) * curve.tp[v1])
        fp = keep * (p0 * curve.fp[v0] + (1 - p0) * curve.fp[v1])
        tp += p_ignore[g] * constant * curve.positives
        fp += p_ignore[g] * constant * curve.negatives
        target_x = float(grid[i])
        # Equalized odds: the group's objective after the coin; otherwise its hull's value.
        group_objective = (
            metric(objective, tp, fp, curve.negatives - fp, curve.positives - tp)
            if equalized_odds
            else o.y[i]
        )
        cut = _deterministic_cut(curve, target_x, common_tpr if equalized_odds else None)
        det_x.append(float(curve.x[cut]))
        det_y.append(float(curve.y[cut]))
        det_tp, det_fp = det_tp + int(curve.tp[cut]), det_fp + int(curve.fp[cut])
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
                objective_value=float(group_objective),
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
        n_negative = n_rows - n_positive
        deterministic_objective = float(
            metric(
                objective,
                np.float64(det_tp),
                np.float64(det_fp),
                np.float64(n_negative - det_fp),
                np.float64(n_positive - det_tp),
            )
        )
    else:
        deterministic_spread = float(np.ptp(det_x))
        deterministic_objective = float(sum(s * y for s, y in zip(shares, det_y, strict=True)))
    if deterministic and tol is not None and deterministic_spread > tol:
        spread = ", ".join(f"{r.group}: {x:.4g}" for r, x in zip(rules, det_x, strict=True))
        raise InfeasibleConstraintError(
            f"tolerance={tol} cannot be met with one threshold per group: the closest single "
            f"thresholds give {x_metric} {spread} (spread {deterministic_spread:.4g} > {tol}). "
            "Use the randomized rule (deterministic=False), a larger tolerance, or more "
            "score_bins."
        )
    constraint_values = [r.constraint_value for r in rules]
    constraint_spread = float(np.ptp(constraint_values))
    return GroupThresholds(
        constraints=constraints,
        objective=objective,
        tolerance=tol,
        grid_size=int(grid_size),
        features=statistics.features,
        categories=statistics.categories,
        groups=tuple(rules),
        constraint_metric=x_metric,
        # A common grid value as it is (a weighted mean of equal values can drift by an ulp).
        constraint_value=(
            constraint_values[0]
            if constraint_spread == 0
            else float(np.dot(shares, constraint_values))
        ),
        common_true_positive_rate=common_tpr,
        constraint_spread=constraint_spread,
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
    check_parameters("fit_thresholds", constraints, objective, tolerance, grid_size, score_bins)
    statistics = score_statistics(y_true, y_score, sensitive_features, score_bins=score_bins)
    return optimize_thresholds(
        statistics,
        constraints=constraints,
        objective=objective,
        tolerance=tolerance,
        grid_size=grid_size,
        deterministic=deterministic,
    )
