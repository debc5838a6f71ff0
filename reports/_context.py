"""From an audit bundle to the plain data the report template shows.

Every number the report prints is formatted here and every sentence is written here, so the
template only lays things out (no computation in templates). The charts are SVG text from
:mod:`reports._charts`, which escapes what it draws; they are the only markup the template
does not escape. Sections whose data the bundle lacks carry ``available = False`` and a
sentence saying what is missing, so the template can say so instead of leaving them out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from audit import METRIC_INFO, AuditResult, CriterionResult, Estimate, criterion_notes
from reports._charts import ForestRow, forest_plot, heat_map

__all__ = ["GROUP_COLUMNS", "audit_sections", "criteria_rows", "findings", "fmt", "interval"]

#: Per-group columns of the metrics tables, by task.
GROUP_COLUMNS = {
    "binary_classification": (
        "base_rate",
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
        "precision",
        "accuracy",
    ),
    "regression": ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
}
SHORT = {
    "base_rate": "base rate",
    "selection_rate": "selection rate",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "precision": "precision",
    "accuracy": "accuracy",
    "mean_absolute_error": "MAE",
    "root_mean_squared_error": "RMSE",
    "mean_error": "mean error",
    "r2_score": "R²",
}
_VERDICT_WORD = {"pass": "Pass", "fail": "Fail", "inconclusive": "Inconclusive"}


def fmt(x: float, digits: int = 3) -> str:
    """A number for the report; undefined values say so (never 0).

    Examples
    --------
    >>> fmt(0.25), fmt(float("nan")), fmt(12345.678, 1)
    ('0.250', 'undefined', '12345.7')
    """
    return "undefined" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def interval(e: Estimate) -> str:
    """``[lower, upper]`` of an estimate, or an empty string without one.

    Examples
    --------
    >>> interval(Estimate(0.5, 0.4, 0.6))
    '[0.400, 0.600]'
    """
    return "" if math.isnan(e.lower) or math.isnan(e.upper) else f"[{fmt(e.lower)}, {fmt(e.upper)}]"


def _bounds(c: CriterionResult) -> tuple[float, float]:
    """The interval that decided the criterion's verdict."""
    return c.estimate.lower, c.estimate.upper


def _metric_words(metrics: Sequence[str]) -> str:
    return " and ".join(m.replace("_", " ") for m in metrics)


def criterion_sentence(c: CriterionResult, confidence: float) -> str:
    """What a criterion's verdict means, in words a non-statistician can follow."""
    e = c.estimate
    notes = "".join(f" {line}" for line in criterion_notes(c))
    if not e.defined:
        return f"Cannot be judged: {e.undefined_reason or 'the estimate is undefined'}.{notes}"
    lo, hi = _bounds(c)
    limit = "at most" if c.bound == "max" else "at least"
    what = (
        f"The gap in {_metric_words(c.metrics)} between the groups of {c.attribute} is "
        f"{fmt(e.value)}"
        if c.measure == "difference"
        else f"The lowest group's {_metric_words(c.metrics)} is {fmt(e.value)} times the "
        f"highest group's on {c.attribute}"
    )
    plausible = (
        f"; with {confidence:.0%} confidence it lies between {fmt(lo)} and {fmt(hi)}"
        if not math.isnan(lo)
        else ""
    )
    rule = f"The policy requires {limit} {fmt(c.threshold)}."
    if c.decision_rule == "point":
        judged = "Judged on the estimate alone (the policy's decision rule)."
    elif c.verdict == "pass":
        judged = "The whole plausible range is within the limit."
    elif c.verdict == "fail":
        judged = "Even the most favourable plausible value is beyond the limit."
    else:
        judged = "The plausible range straddles the limit: the data cannot tell."
    return f"{what}{plausible}. {rule} {judged}{notes}"


def _margin(c: CriterionResult) -> float:
    """How far beyond (positive) or within the limit the criterion's interval lies."""
    lo, hi = _bounds(c)
    value = c.estimate.value
    if c.bound == "max":
        near = lo if not math.isnan(lo) else value
        return near - c.threshold
    near = hi if not math.isnan(hi) else value
    return c.threshold - near


def findings(
    result: AuditResult, skewed_steps: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Failed and inconclusive criteria and skewed preparation steps, most severe first.

    Severity: a failed criterion, then an inconclusive one, then a skewed step. Within a
    severity, the strongest evidence first: the criterion whose interval lies furthest beyond
    its limit, the step with the smallest p-value.
    """
    out: list[dict[str, Any]] = []
    confidence = result.options.confidence_level
    for c in result.criteria:
        if c.verdict == "pass":
            continue
        severity = 0 if c.verdict == "fail" else 1
        evidence = _margin(c)
        strength = (
            f"the interval lies {fmt(abs(evidence))} beyond the limit"
            if evidence > 0
            else "interval reaches the limit"
        )
        out.append(
            {
                "key": (severity, -evidence if not math.isnan(evidence) else math.inf),
                "severity": "high" if severity == 0 else "medium",
                "title": f"{c.criterion} on {c.attribute}: {_VERDICT_WORD[c.verdict].lower()}",
                "evidence": strength if c.estimate.defined else "undefined estimate",
                "text": criterion_sentence(c, confidence),
            }
        )
    for step in skewed_steps:
        for flag in step["flags"]:
            out.append(
                {
                    "key": (2, flag["p_value"]),
                    "severity": "review",
                    "title": f"Preparation step {step['job']} removed rows unevenly",
                    "evidence": f"p = {flag['p_value']:.1e}",
                    "text": flag["text"],
                }
            )
    out.sort(key=lambda f: f["key"])
    for rank, f in enumerate(out, 1):
        f["rank"] = rank
        del f["key"]
    return out


def criteria_rows(result: AuditResult) -> list[dict[str, Any]]:
    """Each criterion: estimate, interval, threshold and verdict as text, and its meaning."""
    confidence = result.options.confidence_level
    rows = []
    for c in result.criteria:
        lo, hi = _bounds(c)
        rows.append(
            {
                "criterion": c.criterion,
                "attribute": c.attribute,
                "verdict": c.verdict,
                "verdict_word": _VERDICT_WORD[c.verdict],
                "estimate": fmt(c.estimate.value),
                "interval": "" if math.isnan(lo) else f"[{fmt(lo)}, {fmt(hi)}]",
                "threshold": ("≤ " if c.bound == "max" else "≥ ") + fmt(c.threshold),
                "words": criterion_sentence(c, confidence),
            }
        )
    return rows


def _population(result: AuditResult) -> dict[str, Any]:
    attributes = []
    for a in result.attributes:
        audited = list(a.groups[0].missing_rate) if a.groups else []
        # Only columns with a missing value in some group get a column of their own.
        columns = [c for c in audited if any(g.missing_rate.get(c, 0.0) > 0 for g in a.groups)]
        groups = []
        for g in a.groups:
            base = g.metrics.get("base_rate")
            groups.append(
                {
                    "group": g.group,
                    "count": f"{g.count:,}",
                    "share": f"{100 * g.share:.1f}%",
                    "base_rate": fmt(base.value) if base is not None else "—",
                    "small": not g.sufficient,
                    "unknown": g.unknown,
                    "missing": [
                        f"{100 * g.missing_rate[c]:.1f}%"
                        if not math.isnan(g.missing_rate[c])
                        else "—"
                        for c in columns
                    ],
                }
            )
        unknown = sum(result.data.unknown_counts.get(f, 0) for f in a.features)
        attributes.append(
            {
                "name": a.name,
                "groups": groups,
                "missing_columns": columns,
                "complete_columns": [c for c in audited if c not in columns],
                "unknown_count": f"{unknown:,}",
            }
        )
    return {
        "n_rows": f"{result.data.n_rows:,}",
        "weighted": result.data.weighted,
        "min_group_size": result.options.min_group_size,
        "attributes": attributes,
    }


def _metrics(result: AuditResult) -> dict[str, Any]:
    columns = GROUP_COLUMNS[result.task]
    attributes = []
    for a in result.attributes:
        rows = []
        for g in a.groups:
            cells = []
            for m in columns:
                e = g.metrics.get(m)
                cells.append(
                    {"value": "—", "interval": ""}
                    if e is None
                    else {"value": fmt(e.value), "interval": interval(e)}
                )
            rows.append(
                {
                    "group": g.group,
                    "count": f"{g.count:,}",
                    "small": not g.sufficient,
                    "cells": cells,
                }
            )
        attributes.append({"name": a.name, "rows": rows})
    forest = [
        ForestRow(
            label=f"{c.criterion} · {c.attribute}",
            value=c.estimate.value,
            lower=_bounds(c)[0],
            upper=_bounds(c)[1],
            threshold=c.threshold,
            bound=c.bound,
            verdict=c.verdict,
            note=c.estimate.undefined_reason,
        )
        for c in result.criteria
    ]
    return {
        "columns": [SHORT[m] for m in columns],
        "column_names": list(columns),
        "attributes": attributes,
        "forest_svg": Markup(forest_plot(forest, title="Each criterion against its limit"))
        if forest
        else None,
        "heat_maps": _heat_maps(result),
        "confidence": f"{result.options.confidence_level:.0%}",
    }


def _heat_maps(result: AuditResult) -> list[dict[str, Any]]:
    """One heat map per two-feature intersection, of the first criterion's metric.

    (One map: each SVG chart costs WeasyPrint a few hundred milliseconds, and the tables
    above hold every metric of every cell.)
    """
    metrics = (
        [result.criteria[0].metrics[0]] if result.criteria else [GROUP_COLUMNS[result.task][1]]
    )
    out = []
    for a in result.attributes:
        if len(a.features) != 2:
            continue
        rows = sorted({g.categories[0] for g in a.groups if not g.unknown})
        cols = sorted({g.categories[1] for g in a.groups if not g.unknown})
        cell = {g.categories: g for g in a.groups}
        for m in metrics:
            values = [
                [cell[(r, c)].metrics[m].value if (r, c) in cell else None for c in cols]
                for r in rows
            ]
            counts = [[cell[(r, c)].count if (r, c) in cell else 0 for c in cols] for r in rows]
            small = [[(r, c) in cell and not cell[(r, c)].sufficient for c in cols] for r in rows]
            info = METRIC_INFO[m]
            svg = heat_map(
                rows,
                cols,
                values,
                title=f"{m.replace('_', ' ')} by {a.name}",
                counts=counts,
                small=small,
                small_note=f"† fewer than {result.options.min_group_size} rows",
                low_is_good=None if info.higher_is_better is None else not info.higher_is_better,
            )
            out.append({"title": f"{m} by {a.name}", "svg": Markup(svg)})
    return out


def _regulatory(result: AuditResult) -> dict[str, Any]:
    if result.task == "regression":
        return {"available": False, "why": "This is a regression audit: selection-rate rules "
                "(NYC Local Law 144, the EEOC four-fifths rule) do not apply."}  # fmt: skip
    ll144 = []
    four_fifths = []
    for a in result.attributes:
        if a.ll144 is not None:
            t = a.ll144
            ll144.append(
                {
                    "attribute": a.name,
                    "rate_kind": t.rate_kind.replace("_", " "),
                    "most_selected": t.most_selected or "—",
                    "unknown_count": f"{t.unknown_count:,}",
                    "rows": [
                        {
                            "category": r.category,
                            "count": f"{r.count:,}",
                            "rate": fmt(r.rate),
                            "impact_ratio": fmt(r.impact_ratio),
                            "share": f"{100 * r.share:.1f}%",
                            "excludable": r.excludable,
                        }
                        for r in t.rows
                    ],
                }
            )
        if a.four_fifths:
            four_fifths.append(
                {
                    "attribute": a.name,
                    "rows": [
                        {
                            "group": r.group,
                            "count": f"{r.count:,}",
                            "rate": fmt(r.selection_rate),
                            "impact_ratio": fmt(r.impact_ratio),
                            "reference": r.reference_group,
                            "flagged": r.flagged,
                            "p_value": f"{r.p_value:.2g}" if not math.isnan(r.p_value) else "—",
                            "q_value": f"{r.q_value:.2g}" if not math.isnan(r.q_value) else "—",
                            "significant": r.significant,
                            "eligible": r.eligible,
                        }
                        for r in a.four_fifths
                    ],
                }
            )
    return {
        "available": True,
        "ll144": ll144,
        "four_fifths": four_fifths,
        "threshold": fmt(result.options.four_fifths_threshold, 2),
        "ll144_min_share": f"{100 * result.options.ll144_min_share:.0f}%",
        "significance": fmt(result.options.significance_level, 2),
    }


def audit_sections(
    result: AuditResult, skewed_steps: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The summary, population, metrics and regulatory sections of ``result``."""
    criteria = criteria_rows(result)
    return {
        "summary": {
            "status": result.status,
            "criteria": criteria,
            "passing": [c for c in criteria if c["verdict"] == "pass"],
            "findings": findings(result, skewed_steps),
            "policy_name": result.policy_name,
        },
        "population": _population(result),
        "metrics": _metrics(result),
        "regulatory": _regulatory(result),
        "notes": list(result.notes),
    }
