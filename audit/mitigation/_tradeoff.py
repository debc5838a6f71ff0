"""The trade-off frontier: every candidate audited on held-out data, its cost, and the choice.

Each candidate's predictions on the held-out split are audited by the audit engine
(:func:`audit.audit_predictions`), so performance and disparity come with the same
intervals as any audit. Against the unmitigated *baseline* each candidate gets a cost table:

- ``performance_change``: candidate − baseline of the performance metric (for accuracy,
  negative: lost; for a regression loss, positive: lost);
- ``disparity_change``: candidate − baseline of the constrained disparity (negative: less);
- ``cost_per_point``: performance lost per unit of disparity removed,
  ``lost / −disparity_change`` with ``lost = −performance_change`` (or
  ``+performance_change`` for a loss); NaN with a reason when nothing was removed;
- per group (**who pays**): the change of accuracy, true and false positive rate and
  selection rate.

The Pareto-efficient candidates are those that no other candidate beats on both axes
(better performance, lower disparity; point estimates). A :class:`SelectionRule` picks one
and writes why.

Regression (constraint ``bounded_group_loss``): performance is a loss or R² of the audit's
regression metrics (lower is better for the losses: a *loss* of performance is then an
increase), the disparity is a difference of a regression metric between groups (in the
units of ``y``: ``root_mean_squared_error_difference`` for the square loss), and the cost
table per group has the groups' errors instead of rates. Changes of rates are reported in
percentage points, changes in the units of ``y`` as they are.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from audit._api import audit_predictions
from audit._exceptions import SpecError
from audit._metrics import METRIC_INFO, REGRESSION_METRICS
from audit._policy import Policy, Threshold, parse_criterion
from audit._result import AuditOptions, AuditResult, Estimate, _encode, decode_versioned
from audit.mitigation._choose import Axes, choose

__all__ = [
    "CONSTRAINT_CRITERIA",
    "LOSS_CRITERIA",
    "PERFORMANCE_METRICS",
    "REGRESSION_CONSTRAINTS",
    "REGRESSION_PERFORMANCE_METRICS",
    "TRADEOFF_SCHEMA_VERSION",
    "Candidate",
    "GroupCost",
    "Predictions",
    "SelectionRule",
    "TradeOff",
    "evaluate_candidates",
    "pareto_front",
]

#: The disparity (a policy criterion) each mitigation constraint bounds.
CONSTRAINT_CRITERIA = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
    "true_positive_rate_parity": "equal_opportunity_difference",
    "false_positive_rate_parity": "false_positive_rate_difference",
    "error_rate_parity": "error_rate_parity_difference",
    "bounded_group_loss": "root_mean_squared_error_difference",
}
#: Constraints of regression models (the others are for binary classifiers).
REGRESSION_CONSTRAINTS = ("bounded_group_loss",)
#: The disparity shown for each bounded loss: the difference of its metric between groups.
LOSS_CRITERIA = {
    "square": "root_mean_squared_error_difference",
    "absolute": "mean_absolute_error_difference",
}
#: Version of :meth:`TradeOff.to_dict`'s layout.
TRADEOFF_SCHEMA_VERSION = "1.0"
#: Group metrics in the cost table, by task.
GROUP_METRICS = ("accuracy", "true_positive_rate", "false_positive_rate", "selection_rate")
REGRESSION_GROUP_METRICS = (
    "mean_absolute_error",
    "root_mean_squared_error",
    "mean_error",
    "mean_prediction",
)
#: Performance metrics a trade-off of classifiers can use (overall metrics of the audit).
PERFORMANCE_METRICS = ("accuracy", "balanced_accuracy", "f1_score", "true_positive_rate")
#: Performance metrics a trade-off of regressors can use (losses: lower is better).
REGRESSION_PERFORMANCE_METRICS = ("root_mean_squared_error", "mean_absolute_error", "r2_score")
#: The judged criterion's threshold: always within, so the frontier has intervals without
#: judging (a rate difference is at most 1; a difference in units of y is finite).
_WITHIN = {"binary_classification": 1.0, "regression": sys.float_info.max}


@dataclass(frozen=True)
class Predictions:
    """A candidate's predictions on the held-out rows, with how it was made.

    ``method`` names the mitigation (``"unmitigated"`` for the baseline); ``params`` its
    settings (plain values, recorded as given); ``fit_seconds`` the time its fit took.
    """

    name: str
    method: str
    y_pred: Any
    params: Mapping[str, Any] = field(default_factory=dict)
    fit_seconds: float = math.nan


@dataclass(frozen=True)
class GroupCost:
    """What one group's rates became under a candidate, and the change from the baseline."""

    group: str
    count: int
    values: Mapping[str, float]
    changes: Mapping[str, float]


@dataclass(frozen=True)
class Candidate:
    """One point of the trade-off, audited on the held-out split."""

    name: str
    method: str
    params: Mapping[str, Any]
    performance: Estimate
    disparity: Estimate
    status: str  # the policy's verdict on held-out data: pass, fail, inconclusive, no_policy
    pareto: bool
    performance_change: float
    disparity_change: float
    cost_per_point: float
    cost_note: str | None
    groups: tuple[GroupCost, ...]
    fit_seconds: float


@dataclass(frozen=True)
class SelectionRule:
    """How to choose a candidate.

    ``"best_passing"``: the best performance among candidates that satisfy every criterion
    of the policy on held-out data (with the policy's decision rule: with ``"interval"``, the
    whole confidence interval within the threshold), optionally losing at most
    ``max_performance_loss``. ``"least_disparity"``: the lowest disparity among candidates
    losing at most ``max_performance_loss`` (required then).

    ``max_performance_loss`` is in the performance metric's units: a share for accuracy and
    the other rates (0.02: two points; at most 1), units of ``y`` for a regression loss (an
    increase of the loss).
    """

    kind: Literal["best_passing", "least_disparity"] = "best_passing"
    max_performance_loss: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("best_passing", "least_disparity"):
            raise SpecError(
                "The 'kind' of a selection rule must be 'best_passing' or 'least_disparity'. "
                f"Got {self.kind!r}."
            )
        loss = self.max_performance_loss
        if loss is not None and (
            isinstance(loss, bool)
            or not isinstance(loss, int | float)
            or not (math.isfinite(loss) and loss >= 0)
        ):
            raise SpecError(
                "max_performance_loss must be a finite number >= 0 (a share of a rate such as "
                f"accuracy, or units of y for a regression loss). Got {loss!r}."
            )
        if self.kind == "least_disparity" and loss is None:
            raise SpecError("The 'least_disparity' rule needs max_performance_loss.")


@dataclass(frozen=True)
class TradeOff:
    """The frontier of a mitigation sweep, the chosen candidate and why."""

    constraint: str
    criterion: str
    attribute: str
    performance_metric: str
    baseline: str
    candidates: tuple[Candidate, ...]
    rule: SelectionRule
    chosen: str | None
    rationale: str
    n_test: int
    policy_name: str
    policy_version: str
    #: Points of a sweep that could not be fitted, with the error (name → message).
    failures: Mapping[str, str] = field(default_factory=dict)
    #: Points of a sweep's plan that were left out, and why.
    skipped: tuple[str, ...] = ()
    #: Points that fitted with a warning (name → message), e.g. a loss bound not met.
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def task(self) -> str:
        """``"regression"`` for a bounded-group-loss trade-off, else ``"binary_classification"``."""
        return _task_of(self.constraint)

    @property
    def higher_is_better(self) -> bool:
        """Whether a higher performance value is better (False for the regression losses)."""
        return _higher_is_better(self.performance_metric)

    def candidate(self, name: str) -> Candidate:
        """A candidate by name (KeyError naming those present)."""
        for c in self.candidates:
            if c.name == name:
                return c
        raise KeyError(f"No candidate {name!r}. Present: {[c.name for c in self.candidates]}.")

    @property
    def pareto_candidates(self) -> tuple[Candidate, ...]:
        """The Pareto-efficient candidates, best performance first (disparity falls along it)."""
        front = [c for c in self.candidates if c.pareto]
        sign = 1.0 if self.higher_is_better else -1.0
        return tuple(sorted(front, key=lambda c: -sign * c.performance.value))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (NaN as None), with ``schema_version``."""
        out: dict[str, Any] = {"schema_version": TRADEOFF_SCHEMA_VERSION, **_encode(self)}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TradeOff:
        """Rebuild a trade-off from :meth:`to_dict` output.

        Raises
        ------
        BundleError
            When the schema version is unknown or a field is missing or malformed.
        """
        out = decode_versioned(cls, data, TRADEOFF_SCHEMA_VERSION, "tradeoff")
        assert isinstance(out, TradeOff)
        return out


def pareto_front(performance: Sequence[float], disparity: Sequence[float]) -> list[bool]:
    """Whether each point is Pareto-efficient (higher performance and lower disparity win).

    A point is efficient when no other has higher-or-equal performance and lower-or-equal
    disparity with one of them strictly better. Points with a NaN are not efficient.

    Examples
    --------
    >>> pareto_front([0.85, 0.84, 0.83, 0.80], [0.17, 0.05, 0.08, 0.01])
    [True, True, False, True]
    """
    points = list(zip(performance, disparity, strict=True))
    out = []
    for i, (p, d) in enumerate(points):
        if math.isnan(p) or math.isnan(d):
            out.append(False)
            continue
        dominated = any(
            (q >= p and e <= d) and (q > p or e < d)
            for j, (q, e) in enumerate(points)
            if j != i and not (math.isnan(q) or math.isnan(e))
        )
        out.append(not dominated)
    return out


def _attribute_name(sensitive_features: Mapping[str, Any]) -> str:
    return " × ".join(sensitive_features)


def _higher_is_better(metric: str) -> bool:
    return METRIC_INFO[metric].higher_is_better is not False


def _task_of(constraint: str) -> Literal["binary_classification", "regression"]:
    return "regression" if constraint in REGRESSION_CONSTRAINTS else "binary_classification"


def _check_axes(
    constraint: str, performance_metric: str | None, criterion: str | None
) -> tuple[str, str]:
    """The performance metric and the disparity criterion, defaulted and checked."""
    if constraint not in CONSTRAINT_CRITERIA:
        raise SpecError(
            f"The 'constraint' parameter must be one of {list(CONSTRAINT_CRITERIA)}. "
            f"Got {constraint!r}."
        )
    regression = constraint in REGRESSION_CONSTRAINTS
    allowed = REGRESSION_PERFORMANCE_METRICS if regression else PERFORMANCE_METRICS
    metric = performance_metric or allowed[0]
    if metric not in allowed:
        raise SpecError(
            f"The 'performance_metric' parameter must be one of {list(allowed)} for constraint "
            f"{constraint!r}. Got {metric!r}."
        )
    criterion = criterion or CONSTRAINT_CRITERIA[constraint]
    metrics, measure = parse_criterion(criterion)
    if measure != "difference" or regression != all(m in REGRESSION_METRICS for m in metrics):
        kind = "a regression metric" if regression else "a classification metric"
        raise SpecError(
            f"The 'criterion' parameter must be the difference of {kind} for constraint "
            f"{constraint!r} (for example {CONSTRAINT_CRITERIA[constraint]!r}). Got "
            f"{criterion!r}."
        )
    return metric, criterion


def evaluate_candidates(
    y_true: Any,
    candidates: Sequence[Predictions],
    *,
    sensitive_features: Mapping[str, Any],
    constraint: str,
    policy: Policy | None = None,
    performance_metric: str | None = None,
    criterion: str | None = None,
    rule: SelectionRule | None = None,
    options: AuditOptions | None = None,
) -> tuple[TradeOff, dict[str, AuditResult]]:
    """Audit each candidate's held-out predictions and build the trade-off.

    Parameters
    ----------
    y_true : array-like of shape (n_test,)
        Held-out labels (0/1, or numeric targets for ``bounded_group_loss``): data no
        candidate was trained on.
    candidates : sequence of Predictions
        The first is the baseline (the unmitigated model).
    sensitive_features : mapping of str to array-like
        The held-out rows' features; several are judged on their intersection, the groups
        the mitigators constrain.
    constraint : str
        A key of :data:`CONSTRAINT_CRITERIA`: the disparity on the frontier's axis. With
        ``bounded_group_loss`` (in :data:`REGRESSION_CONSTRAINTS`) the candidates are audited
        as regressions.
    policy : Policy, optional
        Judged on every candidate; without one, the constraint's criterion with a threshold
        that always holds, so the frontier still has intervals.
    performance_metric : str, optional
        One of :data:`PERFORMANCE_METRICS` (default ``"accuracy"``) or, for regression, of
        :data:`REGRESSION_PERFORMANCE_METRICS` (default ``"root_mean_squared_error"``).
    criterion : str, optional
        The disparity on the frontier's axis, a ``*_difference`` criterion of the task's
        metrics. Default: ``CONSTRAINT_CRITERIA[constraint]`` (for the absolute loss, pass
        ``LOSS_CRITERIA["absolute"]``).
    rule : SelectionRule, optional
        Default ``best_passing`` without a loss limit.
    options : AuditOptions, optional
        Interval settings (``intervals``, ``confidence_level``); ``task``
        follows the constraint.

    Returns
    -------
    (TradeOff, dict of str to AuditResult)
        The trade-off, and each candidate's full audit by name.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1] * 200); g = np.array(["a"] * 200 + ["b"] * 200)
    >>> fair = y.copy()  # perfect, and selects half of each group
    >>> base = y.copy(); base[np.flatnonzero(y[:200] == 0)[:80]] = 1  # 80 false positives in a
    >>> # a: selection 180/200 = 0.9, accuracy 120/200; b: 0.5 and 1.0. Overall 320/400 = 0.8
    >>> t, _ = evaluate_candidates(
    ...     y, [Predictions("base", "unmitigated", base), Predictions("fair", "oracle", fair)],
    ...     sensitive_features={"g": g}, constraint="demographic_parity",
    ...     policy=Policy((Threshold("demographic_parity_difference", 0.1),),
    ...                   decision_rule="point"),
    ...     options=AuditOptions(intervals=False))
    >>> [(c.name, c.performance.value, c.disparity.value, c.pareto) for c in t.candidates]
    [('base', 0.8, 0.4, False), ('fair', 1.0, 0.0, True)]
    >>> t.chosen, t.candidate("base").status, t.candidate("fair").cost_per_point
    ('fair', 'fail', -0.5)

    A regression: the baseline is off by 2 in group b only (RMSE 0 in a, 2 in b; overall
    √(200·4/400) = √2); the candidate is off by 1 everywhere (RMSE 1 in both groups):

    >>> y = np.arange(400.0)
    >>> t, _ = evaluate_candidates(
    ...     y, [Predictions("base", "unmitigated", y + 2 * (g == "b")),
    ...         Predictions("bgl", "bounded", y + 1)],
    ...     sensitive_features={"g": g}, constraint="bounded_group_loss",
    ...     options=AuditOptions(intervals=False))
    >>> t.performance_metric, t.criterion, t.higher_is_better
    ('root_mean_squared_error', 'root_mean_squared_error_difference', False)
    >>> [(c.name, round(c.performance.value, 4), c.disparity.value) for c in t.candidates]
    [('base', 1.4142, 2.0), ('bgl', 1.0, 0.0)]
    """
    metric, criterion = _check_axes(constraint, performance_metric, criterion)
    if not candidates:
        raise SpecError("evaluate_candidates needs at least one candidate (the baseline).")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise SpecError(f"Candidate names must be unique. Got {names}.")
    rule = rule or SelectionRule()
    task = _task_of(constraint)
    limit = rule.max_performance_loss
    if task == "binary_classification" and limit is not None and limit > 1:
        raise SpecError(
            f"max_performance_loss is a share of {metric} and must be at most 1. Got {limit!r}."
        )
    options = replace(options or AuditOptions(), task=task)
    attribute = _attribute_name(sensitive_features)
    judged = Threshold(criterion, _WITHIN[task], (attribute,))
    full_policy = (
        Policy((*policy.thresholds, judged), policy.decision_rule, policy.name, policy.version)
        if policy is not None
        else Policy((judged,), name="the constraint only")
    )
    audits: dict[str, AuditResult] = {}
    for c in candidates:
        audits[c.name] = audit_predictions(
            y_true,
            c.y_pred,
            sensitive_features=dict(sensitive_features),
            policy=full_policy,
            options=options,
        )
    base = candidates[0]
    base_audit = audits[base.name]
    sign = 1.0 if _higher_is_better(metric) else -1.0
    perf = {n: a.overall[metric] for n, a in audits.items()}
    disp = {n: _criterion(a, judged).estimate for n, a in audits.items()}
    efficient = pareto_front([sign * perf[n].value for n in names], [disp[n].value for n in names])
    group_metrics = REGRESSION_GROUP_METRICS if task == "regression" else GROUP_METRICS
    base_groups = {
        g: v for g, (_, v) in _group_values(base_audit, attribute, group_metrics).items()
    }
    evaluated = []
    for c, pareto in zip(candidates, efficient, strict=True):
        audit = audits[c.name]
        d_perf = perf[c.name].value - perf[base.name].value
        d_disp = disp[c.name].value - disp[base.name].value
        cost, note = _cost_per_point(sign * d_perf, d_disp, c.name == base.name)
        status = _status(audit, judged) if policy is not None else "no_policy"
        groups = tuple(
            GroupCost(
                group,
                count,
                values,
                {m: values[m] - base_groups.get(group, {}).get(m, math.nan) for m in values},
            )
            for group, (count, values) in _group_values(audit, attribute, group_metrics).items()
        )
        evaluated.append(
            Candidate(
                name=c.name,
                method=c.method,
                params=dict(c.params),
                performance=perf[c.name],
                disparity=disp[c.name],
                status=status,
                pareto=pareto,
                performance_change=d_perf,
                disparity_change=d_disp,
                cost_per_point=cost,
                cost_note=note,
                groups=groups,
                fit_seconds=float(c.fit_seconds),
            )
        )
    chosen, rationale = choose(
        evaluated,
        rule,
        Axes(metric, criterion, task),
        full_policy if policy else None,
        options.confidence_level,
    )
    tradeoff = TradeOff(
        constraint=constraint,
        criterion=criterion,
        attribute=attribute,
        performance_metric=metric,
        baseline=base.name,
        candidates=tuple(evaluated),
        rule=rule,
        chosen=chosen,
        rationale=rationale,
        n_test=int(base_audit.data.n_rows),
        policy_name=policy.name if policy else "",
        policy_version=policy.version if policy else "",
    )
    return tradeoff, audits


def _criterion(audit: AuditResult, judged: Threshold) -> Any:
    for c in audit.criteria:
        if _is_judged(c, judged):
            return c
    raise AssertionError(f"{judged.criterion} was not judged")  # the policy always holds it


def _is_judged(c: Any, judged: Threshold) -> bool:
    return bool(
        c.criterion == judged.criterion
        and judged.attributes
        and c.attribute == judged.attributes[0]
        and c.threshold == judged.threshold
    )


def _status(audit: AuditResult, judged: Threshold) -> str:
    """The policy's verdict without the frontier's own always-within criterion."""
    verdicts = [c.verdict for c in audit.criteria if not _is_judged(c, judged)]
    if not verdicts:
        return "no_policy"
    if "fail" in verdicts:
        return "fail"
    return "pass" if all(v == "pass" for v in verdicts) else "inconclusive"


def _group_values(
    audit: AuditResult, attribute: str, metrics: tuple[str, ...]
) -> dict[str, tuple[int, dict[str, float]]]:
    return {
        g.group: (g.count, {m: g.metrics[m].value for m in metrics})
        for g in audit.attribute(attribute).groups
    }


def _cost_per_point(gain: float, d_disp: float, is_baseline: bool) -> tuple[float, str | None]:
    """Performance lost per unit of disparity removed (``gain`` > 0: performance improved)."""
    if is_baseline:
        return math.nan, "the baseline"
    if math.isnan(gain) or math.isnan(d_disp):
        return math.nan, "performance or disparity undefined"
    if d_disp >= 0:
        return math.nan, "disparity not reduced"
    return -gain / -d_disp, None
