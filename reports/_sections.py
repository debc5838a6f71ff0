"""The report's sections from the bundle's other files.

Provenance, mitigation, reproducibility, sign-off and integrity, as plain data for the
template (like :mod:`reports._context`).
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import Markup

from audit.mitigation import TradeOff
from audit.mitigation._choose import signed_change
from reports._charts import REPORT_FONT, TradeoffPoint, tradeoff_chart
from reports._context import fmt, interval

__all__ = [
    "DECISIONS",
    "integrity_section",
    "mitigation_section",
    "provenance_section",
    "reproducibility_section",
    "signoff_section",
]

#: Sign-off decisions and how the report names them.
DECISIONS = {
    "approve": "Approved",
    "approve_with_conditions": "Approved with conditions",
    "reject": "Rejected",
}


def _short(digest: str | None) -> str:
    """The first 16 hex digits of a digest (64 bits: enough to tell versions apart)."""
    return digest[:16] if digest else "—"


def provenance_section(events: Sequence[Any] | None, source: Mapping[str, Any]) -> dict[str, Any]:
    """The lineage graph, its datasets and the preparation steps' effect on each group."""
    if not events:
        return {
            "available": False,
            "why": "The bundle holds no lineage events (lineage/events.jsonl): where the data "
            "came from was not recorded for this audit.",
            "skewed_steps": [],
        }
    from lineage import build_graph, to_svg

    graph = build_graph(events)
    datasets = []
    for d in graph.datasets:
        digest = d.fairtrail.get("fairtrail_contentDigest", {})
        is_source = bool(source) and Path(d.name).name == source.get("file")
        datasets.append(
            {
                "name": d.name,
                "rows": f"{d.row_count:,}" if d.row_count is not None else "—",
                "version": _short(d.versions[-1].version if d.versions else None),
                "file_sha256": _short(digest.get("fileSha256") or digest.get("objectSha256")),
                "row_digest": _short(digest.get("rowDigest")),
                "owners": ", ".join(d.owners) or "not recorded",
                "origin": " · ".join(
                    x
                    for x in (
                        d.source_uri or d.source_name,
                        source.get("licence", "licence not recorded") if is_source else None,
                    )
                    if x
                )
                or "—",
            }
        )
    steps = []
    for job in graph.jobs:
        for run in job.runs:
            effect = run.step_effect
            if not effect:
                continue
            groups = [
                {
                    "feature": g["feature"],
                    "value": g["value"],
                    "rows_in": f"{g['rowsIn']:,}",
                    "rows_out": f"{g['rowsOut']:,}",
                    "removed": f"{100 * g['removedRate']:.1f}%",
                }
                for g in effect.get("groups", [])
                if " × " not in g["feature"]
            ]
            flags = [
                {
                    "p_value": float(f.get("pValue", math.nan)),
                    "text": f"{f['feature']}: {100 * f['highestRemovedRate']:.1f}% of "
                    f"{f['highestValue']} removed against {100 * f['lowestRemovedRate']:.1f}% "
                    f"of {f['lowestValue']} (p = {float(f.get('pValue', math.nan)):.1e}).",
                }
                for f in effect.get("flags", [])
            ]
            steps.append(
                {
                    "job": job.name,
                    "description": job.description or "",
                    "flagged": bool(effect.get("flagged")),
                    "groups": groups,
                    "flags": flags,
                }
            )
    return {
        "available": True,
        "graph_svg": Markup(to_svg(graph, vertical=True, font_family=REPORT_FONT)),
        "datasets": datasets,
        "steps": steps,
        "skewed_steps": [s for s in steps if s["flagged"]],
        "source": dict(source),
        "summary": f"{len(graph.jobs)} jobs, {len(graph.datasets)} datasets, "
        f"{len(graph.runs)} runs",
    }


def mitigation_section(tradeoff: TradeOff | None) -> dict[str, Any]:
    """The trade-off chart, the cost table (who pays) and the rationale."""
    if tradeoff is None:
        return {
            "available": False,
            "why": "No mitigation was run for this audit (the bundle has no "
            "mitigation/tradeoff.json): the model was audited as it is.",
        }
    t = tradeoff
    rates = t.task != "regression"
    change = partial(signed_change, in_y_units=not rates)

    points = [
        TradeoffPoint(
            name=c.name,
            performance=c.performance.value,
            performance_lower=c.performance.lower,
            performance_upper=c.performance.upper,
            disparity=c.disparity.value,
            disparity_lower=c.disparity.lower,
            disparity_upper=c.disparity.upper,
            pareto=c.pareto,
            chosen=c.name == t.chosen,
            baseline=c.name == t.baseline,
        )
        for c in t.candidates
    ]
    chart = tradeoff_chart(
        points,
        x_label=t.criterion,
        y_label=t.performance_metric,
        higher_is_better=t.higher_is_better,
        title=f"{t.constraint} on {t.attribute}: held-out performance against disparity",
    )
    candidates = [
        {
            "name": c.name,
            "chosen": c.name == t.chosen,
            "performance": fmt(c.performance.value),
            "performance_interval": interval(c.performance),
            "disparity": fmt(c.disparity.value),
            "disparity_interval": interval(c.disparity),
            "performance_change": change(c.performance_change),
            "disparity_change": change(c.disparity_change),
            "cost": fmt(c.cost_per_point, 2) if not math.isnan(c.cost_per_point) else "—",
            "pareto": c.pareto,
            "status": c.status,
        }
        for c in t.candidates
    ]
    pays: list[dict[str, Any]] = []
    columns: list[str] = []
    if t.chosen is not None and t.chosen != t.baseline:
        chosen = t.candidate(t.chosen)
        keys = list(chosen.groups[0].changes) if chosen.groups else []
        columns = [k.replace("_", " ") for k in keys]
        for g in chosen.groups:
            pays.append(
                {
                    "group": g.group,
                    "count": f"{g.count:,}",
                    "changes": [change(g.changes[k]) for k in keys],
                }
            )
    return {
        "available": True,
        "chart_svg": Markup(chart),
        "candidates": candidates,
        "failures": dict(t.failures),
        "notes": dict(t.notes),
        "rationale": t.rationale,
        "chosen": t.chosen,
        "constraint": t.constraint,
        "criterion": t.criterion,
        "metric": t.performance_metric,
        "units": "percentage points" if rates else "units of y",
        "who_pays": pays,
        "who_pays_columns": columns,
        "n_test": f"{t.n_test:,}",
    }


def reproducibility_section(
    environment: Mapping[str, Any], spec_text: str | None, spec: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Versions, the spec, the seed and the command that re-runs the audit."""
    argv = [str(a) for a in environment.get("argv", [])]
    if argv:
        argv[0] = Path(argv[0]).name
    if spec_text is None and spec is not None:
        spec_text = json.dumps(spec, indent=2, sort_keys=True)
    return {
        "python": environment.get("python", "not recorded"),
        "platform": environment.get("platform", "not recorded"),
        "packages": sorted(environment.get("packages", {}).items()),
        "seed": environment.get("seed", "not recorded"),
        "command": shlex.join(argv) if argv else "not recorded",
        "spec_text": spec_text or "No spec was recorded.",
    }


def signoff_section(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The recorded decisions (newest last), or empty signature lines; the decision status."""
    rows = [
        {
            "reviewer": str(r.get("reviewer", "")),
            "role": str(r.get("role", "")),
            "decision": DECISIONS.get(str(r.get("decision")), str(r.get("decision", ""))),
            "conditions": str(r.get("conditions") or "—"),
            "expiry": str(r.get("expiry") or "—"),
            "timestamp": str(r.get("timestamp", "")),
            "comment": str(r.get("comment") or ""),
        }
        for r in records
    ]
    status = rows[-1]["decision"] if rows else "Awaiting sign-off"
    return {"records": rows, "status": status, "blank_lines": 0 if rows else 3}


def integrity_section(manifest: Mapping[str, Any], manifest_sha256: str) -> dict[str, Any]:
    """Every file of the bundle with its sha256, and how to check the PDF."""
    files = [
        {"name": name, "sha256": entry["sha256"], "size": f"{entry['size']:,}"}
        for name, entry in sorted(manifest.get("files", {}).items())
    ]
    return {"files": files, "manifest_sha256": manifest_sha256}
