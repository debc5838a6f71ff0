"""Judging an audit result against a gate policy: one check per criterion per attribute.

Pure functions of the result (and of a baseline result): no rows are read. A criterion the
audit judged itself is re-judged from its recorded estimate and intervals; a single-metric
criterion the audit did not judge is read from the attribute's recorded disparity, which
has the same estimate and intervals. A criterion combining several metrics (equalized odds)
needs the audit to have judged it: the interval of a maximum is not recorded otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from audit import (
    AttributeResult,
    AuditResult,
    Estimate,
    FairtrailError,
    Verdict,
    judge,
    parse_criterion,
)
from fairtrail._terminal import visible
from fairtrail.gate._policy import (
    Action,
    CheckKind,
    GateCriterion,
    GatePolicy,
    RegressionCheck,
    Severity,
    Waiver,
)

__all__ = [
    "GateCheck",
    "GateError",
    "Outcome",
    "criterion_estimate",
    "evaluate",
    "group_table",
    "outcome_of",
    "regression_verdict",
]

Outcome = Literal["passed", "failed", "warned", "waived", "skipped"]
_RANK = {"pass": 0, "warn": 1, "fail": 2}


class GateError(FairtrailError, ValueError):
    """The gate cannot judge: the bundle does not hold what the policy asks about."""


@dataclass(frozen=True)
class GateCheck:
    """One gate check: a criterion on an attribute, against a threshold or a baseline."""

    kind: CheckKind
    criterion: str
    attribute: str
    verdict: Verdict | None  # None: not judged (skipped)
    outcome: Outcome
    severity: Severity
    estimate: Estimate
    threshold: float
    bound: Literal["max", "min"]
    interval: Literal["simultaneous", "percentile"]
    message: str
    detail: str
    waiver: Waiver | None
    line: int
    baseline: Estimate | None = None

    @property
    def name(self) -> str:
        """``criterion[attribute]``, the test item's name."""
        return f"{self.criterion}[{self.attribute}]"

    @property
    def nodeid(self) -> str:
        """The pytest node id: ``fairness::…`` or ``fairness::no_regression::…``."""
        prefix = "fairness" if self.kind == "threshold" else "fairness::no_regression"
        return f"{prefix}::{self.name}"


def criterion_estimate(
    result: AuditResult, criterion: str, attribute: str
) -> tuple[Estimate, str | None]:
    """A criterion's estimate on one attribute, and the audit's explanation when it judged it.

    Raises
    ------
    GateError
        The attribute was not audited, the audit lacks a metric, or a combined criterion was
        not judged by the audit (its interval is not recorded).

    Examples
    --------
    >>> from audit import audit_predictions, AuditOptions
    >>> r = audit_predictions([1, 0] * 100, [1, 0] * 50 + [1, 1, 0, 1] * 25,
    ...                       sensitive_features={"g": ["a"] * 100 + ["b"] * 100},
    ...                       options=AuditOptions(intervals=False))
    >>> est, why = criterion_estimate(r, "demographic_parity_difference", "g")
    >>> est.value, why   # selection rates 1/2 and 3/4
    (0.25, None)
    """
    names = [a.name for a in result.attributes]
    if attribute not in names:
        raise GateError(
            f"Attribute {attribute!r} was not audited in audit {result.audit_id[:12]}; "
            f"attributes: {names}."
        )
    for c in result.criteria:
        if c.criterion == criterion and c.attribute == attribute:
            return c.estimate, c.explanation
    metrics, measure = parse_criterion(criterion)
    attr = result.attribute(attribute)
    computed = {d.metric for d in attr.disparities}
    missing = [m for m in metrics if m not in computed]
    if missing:
        raise GateError(
            f"Criterion {criterion!r} needs the metric {missing[0]!r}, which audit "
            f"{result.audit_id[:12]} did not compute (a {result.task.replace('_', ' ')} audit"
            f"{'' if result.data.roles.get('y_score') else ' without a y_score column'})."
        )
    if len(metrics) > 1:
        raise GateError(
            f"Criterion {criterion!r} on {attribute!r} combines {list(metrics)}; audit "
            f"{result.audit_id[:12]} did not judge it, so the interval of the combination is "
            "not recorded. Add it to the audit spec's [policy.thresholds], or run the gate "
            "from the spec (--fairtrail-spec)."
        )
    for d in attr.disparities:
        if d.metric == metrics[0] and d.measure == measure:
            return d.estimate, None
    raise GateError(f"Audit {result.audit_id[:12]} has no {criterion} on {attribute!r}.")


def _bounds(e: Estimate, interval: str) -> tuple[float, float]:
    """A group's simultaneous or own interval (for a disparity both are the same)."""
    if interval == "simultaneous":
        return e.simultaneous_lower, e.simultaneous_upper
    return e.lower, e.upper


def _num(x: float, width: int = 0) -> str:
    text = "undefined" if math.isnan(x) else f"{x:.4f}"
    return text.rjust(width) if width else text


def _interval_text(e: Estimate, interval: str) -> str:
    lo, hi = _bounds(e, interval)
    if math.isnan(lo) or math.isnan(hi):
        return "—"
    return f"[{lo:.4f}, {hi:.4f}]"


def group_table(attr: AttributeResult, metrics: Sequence[str], interval: str) -> str:
    """The groups of an attribute as a fixed-width text table: count, each metric, interval.

    Examples
    --------
    >>> from audit import audit_predictions, AuditOptions
    >>> r = audit_predictions([1, 0] * 100, [1, 0] * 50 + [1, 1, 0, 1] * 25,
    ...                       sensitive_features={"g": ["a"] * 100 + ["b"] * 100},
    ...                       options=AuditOptions(intervals=False))
    >>> print(group_table(r.attribute("g"), ["selection_rate"], "percentile"))
    group  count  selection_rate  interval  note
    a        100          0.5000  —
    b        100          0.7500  —
    """
    header = ["group", "count"]
    for m in metrics:
        header += [m, "interval"]
    header.append("note")
    rows = []
    excluded = {d.metric: d.excluded_groups for d in attr.disparities if d.measure == "difference"}
    for g in attr.groups:
        row = [visible(g.group), f"{g.count:,}"]  # widths of what a terminal shows
        notes = []
        for m in metrics:
            e = g.metrics[m]
            row += [_num(e.value), _interval_text(e, interval)]
            if not e.defined and e.undefined_reason:
                notes.append(e.undefined_reason)
            elif g.group in excluded.get(m, {}) and g.sufficient and not g.unknown:
                notes.append(f"not compared: {excluded[m][g.group]}")
        if not g.sufficient:
            notes.insert(0, "too small to decide a verdict")
        if g.unknown:
            notes.insert(0, "unknown category")
        row.append(visible("; ".join(dict.fromkeys(notes))))
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    right = {i for i in range(1, len(header) - 1) if header[i] != "interval"}

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(line(r) for r in [header, *rows])


def outcome_of(
    verdict: Verdict,
    severity: Severity,
    on_inconclusive: Action,
    waiver: Waiver | None,
    today: date,
) -> tuple[Outcome, str]:
    """What a verdict means for the build, and why.

    A failed verdict acts as the severity says; an inconclusive one as the lesser of the
    severity and ``on_inconclusive``. A current waiver turns a failure or a warning into
    *waived*; an expired waiver fails whatever the severity, saying so.

    Examples
    --------
    >>> outcome_of("fail", "error", "warn", None, date(2027, 1, 1))
    ('failed', 'fail')
    >>> outcome_of("inconclusive", "error", "warn", None, date(2027, 1, 1))
    ('warned', 'inconclusive; the policy warns on inconclusive')
    """
    if verdict == "pass":
        if waiver is not None and waiver.expired(today):
            return "warned", (
                f"pass; waiver {waiver.describe()} expired on {waiver.expires.isoformat()} and "
                "is no longer needed: remove it"
            )
        return "passed", "pass"
    level = "fail" if severity == "error" else "warn"
    why: str = verdict
    if verdict == "inconclusive":
        level = min(level, on_inconclusive, key=_RANK.__getitem__)
        why = f"inconclusive; the policy {_VERB[on_inconclusive]} on inconclusive"
    elif severity == "warn":
        why = "fail; severity warn"
    if level == "pass":
        return "passed", why
    if waiver is not None:
        if waiver.expired(today):
            return "failed", (
                f"{why}; waiver {waiver.describe()} EXPIRED on {waiver.expires.isoformat()}"
            )
        return "waived", f"{why}; waived by {waiver.describe()}: {waiver.reason}"
    return ("failed" if level == "fail" else "warned"), why


_VERB = {"fail": "fails", "warn": "warns", "pass": "passes"}


def _threshold_check(
    result: AuditResult,
    policy: GatePolicy,
    c: GateCriterion,
    attribute: str,
    interval: Literal["simultaneous", "percentile"],
    today: date,
) -> GateCheck:
    estimate, explanation = criterion_estimate(result, c.criterion, attribute)
    metrics, measure = parse_criterion(c.criterion)
    verdict = judge(estimate, measure, c.threshold, policy.decision_rule, interval)
    waiver = policy.waiver_for("threshold", c.criterion, attribute)
    outcome, why = outcome_of(verdict, c.severity, c.on_inconclusive, waiver, today)
    side = "at most" if measure == "difference" else "at least"
    level = f"{result.options.confidence_level:.0%}"
    summary = (
        f"{c.criterion}[{attribute}] = {_num(estimate.value)}"
        + (
            ""
            if policy.decision_rule == "point"
            else f", {level} interval {_interval_text(estimate, 'percentile')}"
        )
        + f"; the policy requires {side} {c.threshold:g}: {why}"
    )
    if not estimate.defined:
        summary += f" (undefined: {estimate.undefined_reason})"
    detail = [summary]
    if explanation:
        detail.append(explanation)
    detail += ["", group_table(result.attribute(attribute), metrics, interval)]
    return GateCheck(
        kind="threshold",
        criterion=c.criterion,
        attribute=attribute,
        verdict=verdict,
        outcome=outcome,
        severity=c.severity,
        estimate=estimate,
        threshold=c.threshold,
        bound="max" if measure == "difference" else "min",
        interval=interval,
        message=summary,
        detail="\n".join(detail),
        waiver=waiver,
        line=c.line,
    )


def regression_verdict(
    now: Estimate,
    before: Estimate,
    measure: Literal["difference", "ratio"],
    tolerance: float,
    decision_rule: Literal["interval", "point"],
    interval: Literal["simultaneous", "percentile"],
) -> Verdict:
    """Whether a disparity got worse than the baseline's by more than ``tolerance``.

    A difference gets worse by growing, a ratio by falling. With the interval rule the
    verdict is *fail* only when the two intervals are more than ``tolerance`` apart in the
    worse direction (a worsening beyond the sampling noise), *pass* when the point estimate
    moved by at most ``tolerance``, otherwise *inconclusive*. With the point rule, the point
    estimates decide. An undefined side is inconclusive.

    Examples
    --------
    >>> before = Estimate(0.05, 0.03, 0.07, 0.02, 0.08)
    >>> regression_verdict(Estimate(0.06, 0.04, 0.08, 0.03, 0.09), before, "difference",
    ...                    0.02, "interval", "percentile")
    'pass'
    >>> regression_verdict(Estimate(0.15, 0.12, 0.18, 0.1, 0.2), before, "difference",
    ...                    0.02, "interval", "percentile")
    'fail'
    >>> regression_verdict(Estimate(0.10, 0.08, 0.12, 0.06, 0.14), before, "difference",
    ...                    0.02, "interval", "percentile")
    'inconclusive'
    """
    if not (now.defined and before.defined):
        return "inconclusive"
    sign = 1.0 if measure == "difference" else -1.0
    change = sign * (now.value - before.value)  # > 0: worse
    if decision_rule == "point":
        return "fail" if change > tolerance else "pass"
    if change <= tolerance:
        return "pass"
    lo_n, hi_n = _bounds(now, interval)
    lo_b, hi_b = _bounds(before, interval)
    gap = lo_n - hi_b if measure == "difference" else lo_b - hi_n
    if math.isnan(gap):
        return "inconclusive"
    return "fail" if gap > tolerance else "inconclusive"


def _regression_check(
    result: AuditResult,
    baseline: AuditResult,
    policy: GatePolicy,
    reg: RegressionCheck,
    c: GateCriterion,
    attribute: str,
    interval: Literal["simultaneous", "percentile"],
    today: date,
) -> GateCheck:
    now, _ = criterion_estimate(result, c.criterion, attribute)
    metrics, measure = parse_criterion(c.criterion)
    waiver = policy.waiver_for("regression", c.criterion, attribute)
    common = dict(
        kind="regression",
        criterion=c.criterion,
        attribute=attribute,
        severity=reg.severity,
        estimate=now,
        threshold=reg.tolerance,
        bound="max" if measure == "difference" else "min",
        interval=interval,
        waiver=waiver,
        line=reg.line,
    )
    try:
        before, _ = criterion_estimate(baseline, c.criterion, attribute)
    except GateError as exc:
        text = f"not compared: the baseline audit {baseline.audit_id[:12]} lacks it ({exc})"
        return GateCheck(verdict=None, outcome="skipped", message=text, detail=text, **common)  # type: ignore[arg-type]
    verdict = regression_verdict(
        now, before, measure, reg.tolerance, policy.decision_rule, interval
    )
    outcome, why = outcome_of(verdict, reg.severity, reg.on_inconclusive, waiver, today)
    worse = "higher" if measure == "difference" else "lower"
    summary = (
        f"{c.criterion}[{attribute}]: {_num(before.value)} {_interval_text(before, interval)} in "
        f"the baseline audit {baseline.audit_id[:12]} → {_num(now.value)} "
        f"{_interval_text(now, interval)} now; the policy allows at most {reg.tolerance:g} "
        f"{worse}: {why}"
    )
    detail = [
        summary,
        "",
        f"now (audit {result.audit_id[:12]}):",
        group_table(result.attribute(attribute), metrics, interval),
        "",
        f"baseline (audit {baseline.audit_id[:12]}):",
        group_table(baseline.attribute(attribute), metrics, interval)
        if attribute in [a.name for a in baseline.attributes]
        else "(attribute not audited)",
    ]
    return GateCheck(
        verdict=verdict,
        outcome=outcome,
        message=summary,
        detail="\n".join(detail),
        baseline=before,
        **common,  # type: ignore[arg-type]
    )


def _targets(result: AuditResult, c: GateCriterion, policy: GatePolicy) -> tuple[str, ...]:
    names = [a.name for a in result.attributes]
    if c.attributes is None:
        return tuple(names)
    for a in c.attributes:
        if a not in names:
            raise GateError(
                f"{policy.path.name}:{c.line}: {c.criterion} names attribute {a!r}, which audit "
                f"{result.audit_id[:12]} did not audit; attributes: {names}."
            )
    return c.attributes


def evaluate(
    policy: GatePolicy,
    result: AuditResult,
    *,
    baseline: AuditResult | None = None,
    no_baseline: str | None = None,
    today: date,
) -> tuple[GateCheck, ...]:
    """Every check of ``policy`` on ``result``: thresholds, then the regression check.

    Parameters
    ----------
    policy : GatePolicy
    result : AuditResult
        The audit under test.
    baseline : AuditResult, optional
        The audit to compare with when the policy has ``[regression]``.
    no_baseline : str, optional
        Why there is no baseline (the regression checks then fail or skip, as the policy's
        ``if_no_baseline`` says).
    today : date
        The date waivers are judged on.

    Raises
    ------
    GateError
        The audit cannot answer the policy: a different minimum group size, an attribute or a
        metric it lacks, a combined criterion it did not judge.
    """
    wanted = policy.min_group_size
    if wanted is not None and wanted != result.options.min_group_size:
        raise GateError(
            f"{policy.path.name}: the policy sets min_group_size = {wanted}, but audit "
            f"{result.audit_id[:12]} was run with min_group_size = "
            f"{result.options.min_group_size}: its disparities exclude other groups. Re-run "
            f"the audit with [audit] min_group_size = {wanted}, or run the gate from the spec "
            "(--fairtrail-spec)."
        )
    interval = policy.interval or result.options.verdict_interval
    if not result.options.intervals and policy.decision_rule == "interval":
        raise GateError(
            f"{policy.path.name}: the policy judges with intervals (decision_rule = "
            f"'interval'), but audit {result.audit_id[:12]} has none (intervals = false)."
        )
    checks = [
        _threshold_check(result, policy, c, attribute, interval, today)
        for c in policy.criteria
        for attribute in _targets(result, c, policy)
    ]
    reg = policy.regression
    if reg is not None:
        for c in policy.criteria:
            for attribute in _targets(result, c, policy):
                if baseline is not None:
                    checks.append(
                        _regression_check(
                            result, baseline, policy, reg, c, attribute, interval, today
                        )
                    )
                    continue
                estimate, _ = criterion_estimate(result, c.criterion, attribute)
                text = f"no baseline to compare with: {no_baseline or 'none given'}"
                _, measure = parse_criterion(c.criterion)
                checks.append(
                    GateCheck(
                        kind="regression",
                        criterion=c.criterion,
                        attribute=attribute,
                        verdict=None,
                        outcome="failed" if reg.if_no_baseline == "fail" else "skipped",
                        severity=reg.severity,
                        estimate=estimate,
                        threshold=reg.tolerance,
                        bound="max" if measure == "difference" else "min",
                        interval=interval,
                        message=text,
                        detail=text,
                        waiver=None,
                        line=reg.line,
                    )
                )
    return tuple(checks)
