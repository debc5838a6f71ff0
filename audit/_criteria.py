"""Criteria: a policy's thresholds judged on the attributes' disparities, with explanations."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from audit._attributes import Attribute, estimate, merge_exclusions
from audit._disparities import (
    Measure,
    disparity_bounds,
    disparity_point,
    needed_scale,
)
from audit._exceptions import SpecError
from audit._metrics import (
    REGRESSION_METRICS,
)
from audit._policy import Policy, judge, parse_criterion
from audit._result import (
    AttributeResult,
    AuditOptions,
    CriterionResult,
    Disparity,
    criterion_notes,
)

__all__ = ["judge_criteria"]


def _phrase(verdict: str, measure: Measure) -> str:
    side = "maximum" if measure == "difference" else "minimum"
    return {
        "pass": f"the whole interval is within the {side}",
        "fail": f"the whole interval is beyond the {side}",
        "inconclusive": f"the interval straddles the {side}, so the data cannot decide",
    }[verdict]


def judge_criteria(
    policy: Policy,
    work: Sequence[Attribute],
    attributes: Sequence[AttributeResult],
    options: AuditOptions,
) -> tuple[CriterionResult, ...]:
    names = [a.name for a in work]
    out = []
    level = options.confidence_level
    for t in policy.thresholds:
        metrics, measure = parse_criterion(t.criterion)
        missing = [m for m in metrics if m not in work[0].metrics]
        if missing:
            why = (
                f"a {options.task.replace('_', ' ')} audit computes {list(work[0].metrics)}"
                if options.task == "regression" or missing[0] in REGRESSION_METRICS
                else "score metrics need a y_score column"
            )
            raise SpecError(
                f"Criterion {t.criterion!r} needs the metric {missing[0]!r}, which this audit "
                f"does not compute ({why})."
            )
        targets = t.attributes if t.attributes is not None else tuple(names)
        for target in targets:
            if target not in names:
                raise SpecError(
                    f"Criterion {t.criterion!r} names attribute {target!r}, which is not "
                    f"audited. Attributes: {names}."
                )
            a = work[names.index(target)]
            parts = [
                disparity_point(a.metrics[m], options.disparity_method, a.reference)[measure]
                for m in metrics
            ]
            points = np.array([p[0] for p in parts])
            combine = max if measure == "difference" else min
            point = float(combine(points)) if np.isfinite(points).all() else math.nan
            chosen = [a.metrics[m] for m in metrics]
            bounds = disparity_bounds(chosen, options.disparity_method, a.reference, level)
            attr = attributes[names.index(target)]
            disp = [
                d
                for m in metrics
                for d in attr.disparities
                if d.metric == m and d.measure == measure
            ]
            reason = next((p[1] for p in parts if p[1]), None)
            b = bounds[measure]
            est = estimate(point, b[0], b[1], reason, b)
            verdict = judge(
                est, measure, t.threshold, policy.decision_rule, options.verdict_interval
            )
            worst = disp[0]
            if np.isfinite(points).all():
                worst = disp[
                    int(np.argmax(points) if measure == "difference" else np.argmin(points))
                ]
            excluded = merge_exclusions([d.excluded_groups for d in disp])
            scale, would = math.nan, None
            rows: dict[str, int] = {}
            if verdict == "inconclusive" and est.defined and policy.decision_rule == "interval":
                scale, would = needed_scale(
                    chosen, options.disparity_method, a.reference, level, measure, t.threshold
                )
                if would is not None:
                    compared = sorted(
                        {int(g) for m in chosen for g in np.flatnonzero(m.eligible)},
                        key=lambda g: (a.count[g], a.labels[g]),
                    )
                    rows = {a.labels[g]: math.ceil(scale * int(a.count[g])) for g in compared}
            criterion = CriterionResult(
                criterion=t.criterion,
                attribute=target,
                metrics=metrics,
                measure=measure,
                bound="max" if measure == "difference" else "min",
                threshold=float(t.threshold),
                estimate=est,
                verdict=verdict,
                decision_rule=policy.decision_rule,
                interval=options.verdict_interval,
                explanation="",
                excluded_groups=excluded,
                data_factor=scale,
                rows_to_decide=rows,
                would_decide=would,
            )
            out.append(
                dataclasses.replace(criterion, explanation=_explain(criterion, worst, attr, level))
            )
    return tuple(out)


def _explain(c: CriterionResult, worst: Disparity, attr: AttributeResult, level: float) -> str:
    """The criterion's verdict in one paragraph (with :func:`criterion_notes`)."""
    est, measure = c.estimate, c.measure
    head = f"{c.criterion} on {c.attribute}:"
    notes = "".join(f" {line}" for line in criterion_notes(c))
    if not est.defined:
        return f"{head} cannot be judged — {est.undefined_reason}.{notes} Verdict: inconclusive."
    label = worst.metric.replace("_", " ")
    by_name = {g.group: g for g in attr.groups}
    hi_g, lo_g = worst.highest_group, worst.lowest_group
    detail = ""
    if hi_g is not None and lo_g is not None:
        v_hi = by_name[hi_g].metrics[worst.metric].value
        v_lo = by_name[lo_g].metrics[worst.metric].value
        detail = f" The {label} ranges from {v_lo:.3f} ({lo_g}) to {v_hi:.3f} ({hi_g})."
    side = "at most" if measure == "difference" else "at least"
    if c.decision_rule == "point":
        tail = f"The policy requires {side} {c.threshold:g} for the point estimate."
    else:
        tail = (
            f"{level:.0%} interval {est.lower:.3f} to {est.upper:.3f} (from simultaneous "
            f"intervals of the compared groups); the policy requires {side} {c.threshold:g}: "
            f"{_phrase(c.verdict, measure)}."
        )
    return (
        f"{head} {measure} {est.value:.3f} ({worst.method}).{detail} {tail}{notes} "
        f"Verdict: {c.verdict}."
    )
