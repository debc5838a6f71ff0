"""The trade-off frontier: every candidate audited on held-out data, its cost, and the choice.

Each candidate's predictions on the held-out split are audited by the audit engine
(:func:`audit.audit_predictions`), so performance and disparity come with the same bootstrap
intervals as any audit. Against the unmitigated *baseline* each candidate gets a cost table:

- ``performance_change``: candidate − baseline of the performance metric (negative: lost);
- ``disparity_change``: candidate − baseline of the constrained disparity (negative: less);
- ``cost_per_point``: performance points lost per point of disparity removed,
  ``−performance_change / −disparity_change`` (NaN with a reason when nothing was removed);
- per group (**who pays**): the change of accuracy, true and false positive rate and
  selection rate.

The Pareto-efficient candidates are those that no other candidate beats on both axes
(higher performance, lower disparity; point estimates). A :class:`SelectionRule` picks one
and writes why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from audit._api import audit_predictions
from audit._exceptions import SpecError
from audit._policy import Policy, Threshold
from audit._result import AuditOptions, AuditResult, Estimate, _encode, decode_versioned

__all__ = [
    "CONSTRAINT_CRITERIA",
    "PERFORMANCE_METRICS",
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
}
#: Version of :meth:`TradeOff.to_dict`'s layout.
TRADEOFF_SCHEMA_VERSION = "1.0"
#: Group metrics in the cost table.
GROUP_METRICS = ("accuracy", "true_positive_rate", "false_positive_rate", "selection_rate")
#: Performance metrics a trade-off can use (overall metrics of the audit).
PERFORMANCE_METRICS = ("accuracy", "balanced_accuracy", "f1_score", "true_positive_rate")


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
        if loss is not None and (not isinstance(loss, int | float) or not 0 <= loss <= 1):
            raise SpecError(
                f"max_performance_loss must be a number in [0, 1] (a share). Got {loss!r}."
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

    def candidate(self, name: str) -> Candidate:
        """A candidate by name (KeyError naming those present)."""
        for c in self.candidates:
            if c.name == name:
                return c
        raise KeyError(f"No candidate {name!r}. Present: {[c.name for c in self.candidates]}.")

    @property
    def pareto_candidates(self) -> tuple[Candidate, ...]:
        """The Pareto-efficient candidates, by decreasing performance."""
        front = [c for c in self.candidates if c.pareto]
        return tuple(sorted(front, key=lambda c: -c.performance.value))

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


def evaluate_candidates(
    y_true: Any,
    candidates: Sequence[Predictions],
    *,
    sensitive_features: Mapping[str, Any],
    constraint: str,
    policy: Policy | None = None,
    performance_metric: str = "accuracy",
    rule: SelectionRule | None = None,
    options: AuditOptions | None = None,
) -> tuple[TradeOff, dict[str, AuditResult]]:
    """Audit each candidate's held-out predictions and build the trade-off.

    Parameters
    ----------
    y_true : array-like of shape (n_test,)
        Held-out labels: data no candidate was trained on.
    candidates : sequence of Predictions
        The first is the baseline (the unmitigated model).
    sensitive_features : mapping of str to array-like
        The held-out rows' features; several are judged on their intersection, the groups
        the mitigators constrain.
    constraint : str
        A key of :data:`CONSTRAINT_CRITERIA`: the disparity on the frontier's axis.
    policy : Policy, optional
        Judged on every candidate; without one, the constraint's criterion with threshold
        1.0 (always within) so the frontier still has intervals.
    performance_metric : {"accuracy", "balanced_accuracy", "f1_score", "true_positive_rate"}
    rule : SelectionRule, optional
        Default ``best_passing`` without a loss limit.
    options : AuditOptions, optional
        Bootstrap settings (``n_boot``, ``random_state``, ``confidence_level``).

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
    ...     options=AuditOptions(n_boot=0))
    >>> [(c.name, c.performance.value, c.disparity.value, c.pareto) for c in t.candidates]
    [('base', 0.8, 0.4, False), ('fair', 1.0, 0.0, True)]
    >>> t.chosen, t.candidate("base").status, t.candidate("fair").cost_per_point
    ('fair', 'fail', -0.5)
    """
    if constraint not in CONSTRAINT_CRITERIA:
        raise SpecError(
            f"The 'constraint' parameter must be one of {list(CONSTRAINT_CRITERIA)}. "
            f"Got {constraint!r}."
        )
    if performance_metric not in PERFORMANCE_METRICS:
        raise SpecError(
            f"The 'performance_metric' parameter must be one of {list(PERFORMANCE_METRICS)}. "
            f"Got {performance_metric!r}."
        )
    if not candidates:
        raise SpecError("evaluate_candidates needs at least one candidate (the baseline).")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise SpecError(f"Candidate names must be unique. Got {names}.")
    rule = rule or SelectionRule()
    options = options or AuditOptions()
    criterion = CONSTRAINT_CRITERIA[constraint]
    attribute = _attribute_name(sensitive_features)
    judged = Threshold(criterion, 1.0, (attribute,))
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
    perf = {n: a.overall[performance_metric] for n, a in audits.items()}
    disp = {n: _criterion(a, judged).estimate for n, a in audits.items()}
    efficient = pareto_front([perf[n].value for n in names], [disp[n].value for n in names])
    base_groups = {g: v for g, (_, v) in _group_values(base_audit, attribute).items()}
    evaluated = []
    for c, pareto in zip(candidates, efficient, strict=True):
        audit = audits[c.name]
        d_perf = perf[c.name].value - perf[base.name].value
        d_disp = disp[c.name].value - disp[base.name].value
        cost, note = _cost_per_point(d_perf, d_disp, c.name == base.name)
        status = _status(audit, judged) if policy is not None else "no_policy"
        groups = tuple(
            GroupCost(
                group,
                count,
                values,
                {m: values[m] - base_groups.get(group, {}).get(m, math.nan) for m in values},
            )
            for group, (count, values) in _group_values(audit, attribute).items()
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
    chosen, rationale = _choose(
        evaluated,
        rule,
        performance_metric,
        criterion,
        full_policy if policy else None,
        options.confidence_level,
    )
    tradeoff = TradeOff(
        constraint=constraint,
        criterion=criterion,
        attribute=attribute,
        performance_metric=performance_metric,
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
        if (
            c.criterion == judged.criterion
            and judged.attributes
            and c.attribute == judged.attributes[0]
        ):
            return c
    raise AssertionError(f"{judged.criterion} was not judged")  # the policy always holds it


def _status(audit: AuditResult, judged: Threshold) -> str:
    """The policy's verdict without the frontier's own always-within criterion."""
    verdicts = [
        c.verdict
        for c in audit.criteria
        if not (c.criterion == judged.criterion and c.threshold == 1.0)
    ]
    if not verdicts:
        return "no_policy"
    if "fail" in verdicts:
        return "fail"
    return "pass" if all(v == "pass" for v in verdicts) else "inconclusive"


def _group_values(audit: AuditResult, attribute: str) -> dict[str, tuple[int, dict[str, float]]]:
    return {
        g.group: (g.count, {m: g.metrics[m].value for m in GROUP_METRICS})
        for g in audit.attribute(attribute).groups
    }


def _cost_per_point(d_perf: float, d_disp: float, is_baseline: bool) -> tuple[float, str | None]:
    if is_baseline:
        return math.nan, "the baseline"
    if math.isnan(d_perf) or math.isnan(d_disp):
        return math.nan, "performance or disparity undefined"
    if d_disp >= 0:
        return math.nan, "disparity not reduced"
    return -d_perf / -d_disp, None


def _choose(
    candidates: list[Candidate],
    rule: SelectionRule,
    metric: str,
    criterion: str,
    policy: Policy | None,
    confidence: float,
) -> tuple[str | None, str]:
    base = candidates[0]
    limit = rule.max_performance_loss
    within = [c for c in candidates if limit is None or -c.performance_change <= limit + 1e-12]
    if rule.kind == "best_passing":
        if policy is None:
            return None, "No policy was given, so no candidate can be chosen as satisfying it."
        admissible = [c for c in within if c.status == "pass"]
        if not admissible:
            return None, (
                f"No candidate satisfies every criterion of policy '{policy.name}' on the "
                f"held-out data"
                + (f" within a {metric} loss of {limit:.3f}" if limit else "")
                + f"; none is chosen. Closest: {_closest(candidates).name}."
            )
        best = max(admissible, key=lambda c: (c.performance.value, -c.disparity.value))
        how = (
            f"it has the highest {metric} of the {len(admissible)} of {len(candidates)} "
            f"candidates that satisfy every criterion of policy '{policy.name}' on the "
            f"held-out data"
            + (
                f" with {confidence:.0%} confidence (decision rule: whole interval within "
                "each threshold)"
                if policy.decision_rule == "interval"
                else " (point estimates)"
            )
        )
    else:
        defined = [c for c in within if not math.isnan(c.disparity.value)]
        if not defined:
            return None, f"No candidate loses at most {limit:.3f} {metric}; none is chosen."
        best = min(defined, key=lambda c: (c.disparity.value, -c.performance.value))
        how = f"it has the lowest {criterion} among candidates losing at most {limit:.3f} {metric}"
    text = f"{best.name} is chosen: {how}. " + _describe_cost(best, base, metric, criterion)
    return best.name, text


def _closest(candidates: list[Candidate]) -> Candidate:
    defined = [c for c in candidates if not math.isnan(c.disparity.value)] or candidates
    return min(defined, key=lambda c: c.disparity.value)


def _describe_cost(c: Candidate, base: Candidate, metric: str, criterion: str) -> str:
    if c.name == base.name:
        return "It is the unmitigated model: no accuracy is traded."
    text = (
        f"{metric} {c.performance.value:.3f} against {base.performance.value:.3f} unmitigated "
        f"({100 * c.performance_change:+.1f} points); {criterion} {c.disparity.value:.3f} "
        f"against {base.disparity.value:.3f} ({100 * c.disparity_change:+.1f} points)"
    )
    if not math.isnan(c.cost_per_point):
        text += f": {c.cost_per_point:.2f} {metric} points per point of disparity removed"
    payers = sorted(
        (g for g in c.groups if not math.isnan(g.changes.get("accuracy", math.nan))),
        key=lambda g: g.changes["accuracy"],
    )
    if payers:
        worst = payers[0]
        text += (
            f". Who pays: group {worst.group} loses the most accuracy "
            f"({100 * worst.changes['accuracy']:+.1f} points, selection rate "
            f"{100 * worst.changes['selection_rate']:+.1f} points)"
        )
    return text + "."
