"""The Trade-off explorer's logic: which candidate a reviewer's limit chooses, and who pays."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from audit import REGRESSION_METRICS
from audit.mitigation import (
    Axes,
    Candidate,
    SelectionRule,
    TradeOff,
    change_text,
    choose,
    describe_cost,
)
from fairtrail.review._format import COLOURS, chart_value, words


def _axes(t: TradeOff) -> Axes:
    return Axes(t.performance_metric, t.criterion, t.task)


def frontier_table(tradeoff: TradeOff) -> pd.DataFrame:
    """Every candidate of the frontier, one row each.

    Performance and disparity with their intervals, the changes against the baseline, the
    policy's verdict on held-out data, Pareto membership and the recorded choice.
    """
    rows = [
        {
            "candidate": c.name,
            "method": c.method,
            tradeoff.performance_metric: c.performance.value,
            "performance lower": c.performance.lower,
            "performance upper": c.performance.upper,
            tradeoff.criterion: c.disparity.value,
            "disparity lower": c.disparity.lower,
            "disparity upper": c.disparity.upper,
            "performance change": c.performance_change,
            "disparity change": c.disparity_change,
            "verdict": c.status,
            "pareto": c.pareto,
            "chosen": c.name == tradeoff.chosen,
        }
        for c in tradeoff.candidates
    ]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Selection:
    """Which candidate a limit chooses, what it costs overall and who pays."""

    limit_kind: str  # "max_disparity" or "max_performance_loss"
    limit: float
    candidate: Candidate | None
    text: str
    groups: pd.DataFrame


def limit_range(tradeoff: TradeOff, kind: str) -> tuple[float, float, float]:
    """The slider's range and start: ``(low, high, start)``.

    For ``"max_disparity"`` the candidates' disparities, for ``"max_performance_loss"``
    their performance losses (from 0); ``start`` is the recorded choice's value, so the
    explorer opens on the choice the mitigation made (``high`` without one).
    """
    axes = _axes(tradeoff)

    def value(c: Candidate) -> float:
        return c.disparity.value if kind == "max_disparity" else max(axes.lost(c), 0.0)

    defined = [v for c in tradeoff.candidates if not math.isnan(v := value(c))]
    if not defined:
        return 0.0, 0.0, 0.0
    low = min(defined) if kind == "max_disparity" else 0.0
    high = max(defined)
    start = high
    if tradeoff.chosen is not None:
        chosen = value(tradeoff.candidate(tradeoff.chosen))
        start = chosen if not math.isnan(chosen) else high
    return low, high, start


def select_candidate(tradeoff: TradeOff, kind: str, limit: float) -> Selection:
    """The candidate a reviewer's limit chooses.

    ``kind="max_disparity"``: the best performance among candidates whose disparity is at
    most ``limit`` (ties: the lower disparity). ``kind="max_performance_loss"``: the lowest
    disparity among candidates losing at most ``limit`` of the performance metric against
    the baseline (the ``least_disparity`` selection rule of the mitigation spec).

    Raises
    ------
    ValueError
        An unknown ``kind`` or a limit that is not a finite number >= 0.
    """
    if kind not in ("max_disparity", "max_performance_loss"):
        raise ValueError(
            f"The 'kind' of a limit must be 'max_disparity' or 'max_performance_loss'. "
            f"Got {kind!r}."
        )
    if not (isinstance(limit, int | float) and math.isfinite(limit) and limit >= 0):
        raise ValueError(f"The 'limit' must be a finite number >= 0. Got {limit!r}.")
    axes = _axes(tradeoff)
    candidates = list(tradeoff.candidates)
    base = tradeoff.candidate(tradeoff.baseline)
    if kind == "max_performance_loss":
        name, text = choose(
            candidates, SelectionRule("least_disparity", float(limit)), axes, None, 0.95
        )
    else:
        within = [
            c
            for c in candidates
            if not math.isnan(c.disparity.value) and c.disparity.value <= limit + 1e-12
        ]
        if within:
            best = max(within, key=lambda c: (axes.sign * c.performance.value, -c.disparity.value))
            name = best.name
            text = (
                f"{best.name}: the best {tradeoff.performance_metric} among the {len(within)} of "
                f"{len(candidates)} candidates whose {tradeoff.criterion} is at most "
                f"{limit:.3g}. " + describe_cost(best, base, axes)
            )
        else:
            name = None
            text = f"No candidate has a {tradeoff.criterion} of at most {limit:.3g}."
    chosen = tradeoff.candidate(name) if name is not None else None
    return Selection(kind, float(limit), chosen, text, cost_table(tradeoff, chosen))


def cost_table(tradeoff: TradeOff, candidate: Candidate | None) -> pd.DataFrame:
    """Who pays: each group's rates under ``candidate`` and their change from the baseline.

    Changes of rates are in percentage points; of regression losses in units of ``y``.
    """
    if candidate is None:
        return pd.DataFrame(columns=["group", "count"])
    y_units = tradeoff.task == "regression"
    rows = []
    for g in candidate.groups:
        row: dict[str, Any] = {"group": g.group, "count": g.count}
        for m, v in g.values.items():
            row[m] = v
        for m, v in g.changes.items():
            row[f"Δ {m}" + ("" if y_units else " (points)")] = v if y_units else 100 * v
        rows.append(row)
    return pd.DataFrame(rows)


def frontier_chart(tradeoff: TradeOff, selection: Selection | None = None) -> dict[str, Any]:
    """Performance against disparity for every candidate, with intervals (Vega-Lite).

    The Pareto front is a line; the recorded choice is a ring; the candidate a limit
    selects is a large star; the limit itself a dashed line.
    """
    perf, disp = tradeoff.performance_metric, tradeoff.criterion
    picked = selection.candidate.name if selection and selection.candidate else None
    data = [
        {
            "candidate": c.name,
            "performance": chart_value(c.performance.value),
            "performance_lower": chart_value(c.performance.lower),
            "performance_upper": chart_value(c.performance.upper),
            "disparity": chart_value(c.disparity.value),
            "disparity_lower": chart_value(c.disparity.lower),
            "disparity_upper": chart_value(c.disparity.upper),
            "verdict": c.status,
            "pareto": c.pareto,
            "role": "selected by the limit"
            if c.name == picked
            else ("recorded choice" if c.name == tradeoff.chosen else "candidate"),
        }
        for c in tradeoff.candidates
    ]
    x = {
        "field": "disparity",
        "type": "quantitative",
        "title": words(disp),
        "scale": {"zero": False},
    }
    y = {
        "field": "performance",
        "type": "quantitative",
        "title": words(perf),
        "scale": {"zero": False},
    }
    tooltip = [
        {"field": "candidate"},
        {"field": "performance", "format": ".4f"},
        {"field": "disparity", "format": ".4f"},
        {"field": "verdict"},
        {"field": "role"},
    ]
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "rule", "color": "#9aa5b1"},
            "encoding": {
                "x": {**x, "field": "disparity_lower"},
                "x2": {"field": "disparity_upper"},
                "y": y,
            },
        },
        {
            "mark": {"type": "rule", "color": "#9aa5b1"},
            "encoding": {
                "x": x,
                "y": {**y, "field": "performance_lower"},
                "y2": {"field": "performance_upper"},
            },
        },
        {
            "transform": [{"filter": "datum.pareto"}],
            "mark": {"type": "line", "color": "#1f4e79", "strokeDash": [5, 3], "point": False},
            "encoding": {"x": x, "y": y, "order": {"field": "disparity"}},
        },
        {
            "mark": {"type": "point", "filled": True, "size": 70},
            "encoding": {
                "x": x,
                "y": y,
                "color": {
                    "field": "verdict",
                    "type": "nominal",
                    "scale": {
                        "domain": ["pass", "fail", "inconclusive", "no_policy"],
                        "range": [
                            COLOURS["pass"],
                            COLOURS["fail"],
                            COLOURS["inconclusive"],
                            "#1f4e79",
                        ],
                    },
                },
                "tooltip": tooltip,
            },
        },
        {
            "transform": [{"filter": "datum.role === 'recorded choice'"}],
            "mark": {"type": "point", "size": 400, "strokeWidth": 2, "color": "#111"},
            "encoding": {"x": x, "y": y, "tooltip": tooltip},
        },
        {
            "transform": [{"filter": "datum.role === 'selected by the limit'"}],
            "mark": {
                "type": "point",
                "shape": "diamond",
                "size": 420,
                "filled": True,
                "color": "#6a1b9a",
                "opacity": 0.85,
            },
            "encoding": {"x": x, "y": y, "tooltip": tooltip},
        },
        {
            "transform": [{"filter": "datum.role !== 'candidate'"}],
            "mark": {"type": "text", "dx": 12, "align": "left", "fontWeight": "bold"},
            "encoding": {"x": x, "y": y, "text": {"field": "candidate"}},
        },
    ]
    if selection is not None and selection.limit_kind == "max_disparity":
        layers.append(
            {
                "data": {"values": [{"limit": selection.limit}]},
                "mark": {"type": "rule", "strokeDash": [6, 4], "color": "#6a1b9a"},
                "encoding": {"x": {"field": "limit", "type": "quantitative"}},
            }
        )
    return {"data": {"values": data}, "height": 380, "layer": layers}


def candidate_changes(tradeoff: TradeOff, candidate: Candidate) -> tuple[str, str]:
    """A candidate's performance and disparity changes against the baseline, as text.

    Rates change in percentage points; regression losses and their differences in units of
    ``y`` (as the report writes them).
    """
    return (
        change_text(
            candidate.performance_change, tradeoff.performance_metric in REGRESSION_METRICS
        ),
        change_text(candidate.disparity_change, tradeoff.task == "regression"),
    )
