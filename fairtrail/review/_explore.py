"""The Overview, Groups and Provenance pages' logic: tables, charts, findings, CSV."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fairtrail.review._bundles import Review
from fairtrail.review._format import COLOURS, chart_value, interval_text, words
from reports import GROUP_COLUMNS, criteria_rows, findings, provenance_section


def overview(review: Review) -> dict[str, Any]:
    """The verdict of each criterion with its interval and its meaning, and the findings.

    Returns a dict with ``status``, ``criteria`` (a DataFrame: criterion, attribute,
    estimate, interval, threshold, verdict, meaning), ``findings`` (ranked, most severe
    first) and ``counts`` (criteria per verdict).
    """
    result = review.result
    prov = provenance_section(review.events, review.provenance.get("source", {}))
    rows = criteria_rows(result)
    frame = pd.DataFrame(
        [
            {
                "criterion": r["criterion"],
                "attribute": r["attribute"],
                "estimate": r["estimate"],
                "interval": r["interval"],
                "threshold": r["threshold"],
                "verdict": r["verdict_word"],
                "meaning": r["words"],
            }
            for r in rows
        ],
        columns=[
            "criterion",
            "attribute",
            "estimate",
            "interval",
            "threshold",
            "verdict",
            "meaning",
        ],
    )
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("pass", "fail", "inconclusive")}
    return {
        "status": result.status,
        "criteria": frame,
        "findings": findings(result, prov["skewed_steps"]),
        "counts": counts,
        "n_rows": result.data.n_rows,
        "policy": f"{result.policy_name} {result.policy_version}".strip(),
        "source": review.provenance.get("source", {}).get("title") or result.data.source,
        "confidence": result.options.confidence_level,
    }


def criteria_charts(review: Review) -> list[tuple[str, dict[str, Any]]]:
    """Each criterion's estimate and interval against its limit, one chart per measure.

    Differences and ratios have different scales, so each gets its own chart (a title and
    a Vega-Lite spec). The interval is the one the verdict used; an undefined estimate is
    written as such at its limit.
    """
    result = review.result
    charts = []
    for measure, title in (
        ("difference", "Differences (0 is parity)"),
        ("ratio", "Ratios (1 is parity)"),
    ):
        data = []
        for c in result.criteria:
            if c.measure != measure:
                continue
            e = c.estimate
            lo, hi = e.lower, e.upper  # the interval that decided the verdict
            data.append(
                {
                    "criterion": f"{words(c.criterion)} · {c.attribute}",
                    "value": chart_value(e.value),
                    "lower": chart_value(lo),
                    "upper": chart_value(hi),
                    "threshold": c.threshold,
                    "verdict": c.verdict,
                    "note": "" if e.defined else "undefined: " + (e.undefined_reason or ""),
                }
            )
        if data:
            charts.append((title, _criteria_spec(data)))
    return charts


def _criteria_spec(data: list[dict[str, Any]]) -> dict[str, Any]:
    y = {
        "field": "criterion",
        "type": "nominal",
        "title": None,
        "sort": None,
        "axis": {"labelLimit": 320},
    }
    verdicts = ["pass", "fail", "inconclusive"]
    colour = {
        "field": "verdict",
        "type": "nominal",
        "scale": {"domain": verdicts, "range": [COLOURS[v] for v in verdicts]},
    }
    x = {"type": "quantitative", "scale": {"zero": False}}
    tooltip = [
        {"field": "criterion"},
        {"field": "value", "format": ".3f"},
        {"field": "lower", "format": ".3f"},
        {"field": "upper", "format": ".3f"},
        {"field": "threshold", "format": ".3f"},
        {"field": "verdict"},
        {"field": "note"},
    ]
    return {
        "data": {"values": data},
        "height": {"step": 30},
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 2},
                "encoding": {
                    "y": y,
                    "x": {**x, "field": "lower", "title": "estimate"},
                    "x2": {"field": "upper"},
                    "color": colour,
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 80},
                "encoding": {
                    "y": y,
                    "x": {**x, "field": "value"},
                    "color": colour,
                    "tooltip": tooltip,
                },
            },
            {
                "mark": {"type": "tick", "color": "#333", "thickness": 2, "size": 20},
                "encoding": {"y": y, "x": {**x, "field": "threshold"}, "tooltip": tooltip},
            },
            {
                "transform": [{"filter": "datum.value === null"}],
                "mark": {
                    "type": "text",
                    "align": "left",
                    "dx": 8,
                    "color": "#666",
                    "fontStyle": "italic",
                },
                "encoding": {
                    "y": y,
                    "x": {**x, "field": "threshold"},
                    "text": {"value": "undefined"},
                },
            },
        ],
    }


def metric_choices(review: Review) -> list[str]:
    """The per-group metrics of the audit, the task's usual ones first."""
    present: list[str] = []
    for a in review.result.attributes:
        for g in a.groups:
            present.extend(m for m in g.metrics if m not in present)
    usual = [m for m in GROUP_COLUMNS[review.result.task] if m in present]
    return usual + [m for m in present if m not in usual]


def group_table(
    review: Review,
    attribute: str,
    metrics: Sequence[str],
    *,
    simultaneous: bool = False,
) -> pd.DataFrame:
    """Per-group metrics of one attribute with intervals; small and unknown groups marked.

    One row per group: ``group``, ``count``, ``share``, ``small`` (fewer rows than the
    audit's ``min_group_size``: shown, but kept out of disparities), ``unknown``, then for
    each metric its value, ``<metric> interval`` (text), ``<metric> lower`` and
    ``<metric> upper`` (each group's own interval, or the simultaneous one), and ``note``
    with the reason of every undefined value and of every group left out of a metric's
    disparities.

    Raises
    ------
    KeyError
        An attribute or metric that is not in the audit (naming those present).
    """
    a = review.result.attribute(attribute)
    known = metric_choices(review)
    for m in metrics:
        if m not in known:
            raise KeyError(f"Metric {m!r} is not in this audit. Present: {known}.")
    excluded = {d.metric: d.excluded_groups for d in a.disparities if d.measure == "difference"}
    rows = []
    for g in a.groups:
        row: dict[str, Any] = {
            "group": g.group,
            "count": g.count,
            "share": g.share,
            "small": not g.sufficient,
            "unknown": g.unknown,
        }
        notes = []
        for m in metrics:
            e = g.metrics.get(m)
            if e is None:
                row[m] = row[f"{m} lower"] = row[f"{m} upper"] = math.nan
                row[f"{m} interval"] = ""
                notes.append(f"{words(m)}: not computed for this audit")
                continue
            lo, hi = (
                (e.simultaneous_lower, e.simultaneous_upper) if simultaneous else (e.lower, e.upper)
            )
            row[m], row[f"{m} lower"], row[f"{m} upper"] = e.value, lo, hi
            row[f"{m} interval"] = interval_text(lo, hi)
            if not e.defined:
                notes.append(f"{words(m)}: {e.undefined_reason or 'undefined'}")
            elif g.group in excluded.get(m, {}) and g.sufficient and not g.unknown:
                notes.append(f"{words(m)}: not compared ({excluded[m][g.group]})")
        row["note"] = "; ".join(notes)
        rows.append(row)
    columns = ["group", "count", "share", "small", "unknown"]
    columns += [c for m in metrics for c in (m, f"{m} interval", f"{m} lower", f"{m} upper")]
    columns.append("note")
    return pd.DataFrame(rows, columns=columns)


def group_chart(review: Review, attribute: str, metric: str) -> dict[str, Any]:
    """One metric per group of an attribute with its interval (Vega-Lite).

    Small groups are drawn hollow and orange; the overall value is a dashed line.
    """
    table = group_table(review, attribute, [metric])
    overall = review.result.overall.get(metric)
    data = [
        {
            "group": r["group"],
            "value": chart_value(r[metric]),
            "lower": chart_value(r[f"{metric} lower"]),
            "upper": chart_value(r[f"{metric} upper"]),
            "count": int(r["count"]),
            "size": "small group" if r["small"] else "enough rows",
            "note": r["note"],
        }
        for r in table.to_dict("records")
    ]
    y = {
        "field": "group",
        "type": "nominal",
        "title": None,
        "sort": None,
        "axis": {"labelLimit": 320},
    }
    size_colour = {
        "field": "size",
        "type": "nominal",
        "title": None,
        "scale": {"domain": ["enough rows", "small group"], "range": ["#1f4e79", COLOURS["small"]]},
    }
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "rule", "strokeWidth": 2},
            "encoding": {
                "y": y,
                "x": {
                    "field": "lower",
                    "type": "quantitative",
                    "title": words(metric),
                    "scale": {"zero": False},
                },
                "x2": {"field": "upper"},
                "color": size_colour,
            },
        },
        {
            "mark": {"type": "point", "size": 90, "strokeWidth": 2},
            "encoding": {
                "y": y,
                "x": {"field": "value", "type": "quantitative"},
                "color": size_colour,
                "fill": {
                    "condition": {"test": "datum.size === 'small group'", "value": "white"},
                    "field": "size",
                    "type": "nominal",
                    "scale": {
                        "domain": ["enough rows", "small group"],
                        "range": ["#1f4e79", COLOURS["small"]],
                    },
                    "legend": None,
                },
                "tooltip": [
                    {"field": "group"},
                    {"field": "count", "format": ","},
                    {"field": "value", "format": ".3f"},
                    {"field": "lower", "format": ".3f"},
                    {"field": "upper", "format": ".3f"},
                    {"field": "note"},
                ],
            },
        },
    ]
    if overall is not None and overall.defined:
        layers.append(
            {
                "data": {"values": [{"overall": overall.value}]},
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#555"},
                "encoding": {"x": {"field": "overall", "type": "quantitative"}},
            }
        )
    return {"data": {"values": data}, "height": {"step": 28}, "layer": layers}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _neutralise(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'``."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV that is safe to open in a spreadsheet.

    Text cells (and column names) starting with ``=``, ``+``, ``-``, ``@``, a tab or a line
    break are prefixed with ``'`` (OWASP's advice against CSV injection), so a group named
    ``=HYPERLINK(...)`` stays text; numbers stay numbers (a negative change is not text);
    undefined values are empty cells. Lines end with CRLF (RFC 4180).

    Examples
    --------
    >>> frame = pd.DataFrame({"group": ["=1+1", "F"], "change": [-0.5, float("nan")]})
    >>> csv_bytes(frame).decode().splitlines()
    ['group,change', "'=1+1,-0.5", 'F,']
    """
    out = frame.copy()
    out.columns = [_neutralise(str(c)) for c in out.columns]
    for column in out.columns:
        if not (
            pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column])
        ):
            out[column] = out[column].map(_neutralise)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\r\n")  # RFC 4180: a lone CR is quoted
    return buffer.getvalue().encode("utf-8")


def provenance(review: Review) -> dict[str, Any]:
    """The lineage graph (SVG), datasets with digests and owners, and each step's effects.

    Returns the report's provenance section (``available``, ``datasets``, ``steps``,
    ``summary``, or ``why`` when the bundle has no lineage) with ``graph_svg`` drawn top
    to bottom in the screen's fonts, and ``steps_frame``: one row per step and group (rows
    in, rows out, share removed).
    """
    section = provenance_section(review.events, review.provenance.get("source", {}))
    if not section["available"]:
        return section
    from lineage import build_graph, to_svg

    section["graph_svg"] = to_svg(build_graph(review.events), vertical=True)
    section["steps_frame"] = pd.DataFrame(
        [
            {"step": s["job"], "flagged": s["flagged"], **g}
            for s in section["steps"]
            for g in s["groups"]
        ],
        columns=["step", "flagged", "feature", "value", "rows_in", "rows_out", "removed"],
    )
    return section
