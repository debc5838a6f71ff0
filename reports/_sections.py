"""The report's sections from the bundle's other files.

Provenance, mitigation, reproducibility, sign-off and integrity, as plain data for the
template (like :mod:`reports._context`).
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
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
    "revoke": "Revoked",
}
_APPROVALS = ("approve", "approve_with_conditions")
_DECIDING = (*_APPROVALS, "reject")


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
                "file_sha256": _short(
                    digest.get("fileSha256")
                    or digest.get("fileListSha256")
                    or digest.get("objectSha256")
                ),
                "digest_of": "files" if digest.get("fileListSha256") else "file",
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


def _when(timestamp: str) -> str:
    """A record's time in UTC to the second, or the text as recorded if it is not ISO 8601."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        return timestamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _expiry(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _seq(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def signoff_section(
    records: Sequence[Mapping[str, Any]],
    *,
    manifest_sha256: str,
    chain: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The sign-off chain (oldest first), the decision status, and where the chain lives.

    The decision status is the newest record that

    - is a decision (``approve``, ``approve_with_conditions`` or ``reject``), not a revocation;
    - is not revoked (by a revocation that is not itself revoked);
    - was made on this bundle: its ``manifest_sha256`` is the bundle's (a record without one,
      from a caller that predates the chain, is taken as made on this bundle).

    An approval whose expiry date is before ``today`` has expired: the status then says
    ``Approval expired on <expiry>`` (an expiry date is the last day the approval holds). No
    such record: ``Awaiting sign-off``. A revocation withdraws the record it names whatever
    manifest it was made on; revoking a revocation reinstates the record that one withdrew.

    Parameters
    ----------
    records : sequence of mapping
        Sign-off records oldest first, as ``dataclasses.asdict`` of ``fairtrail.signoff.Signoff``:
        ``reviewer``, ``role``, ``decision``, ``conditions``, ``expiry`` (YYYY-MM-DD or empty),
        ``timestamp``, ``comment``; optionally ``seq``, ``hash``, ``prev_hash``, ``revokes``
        and ``manifest_sha256``.
    manifest_sha256 : str
        The sha256 of this bundle's manifest.
    chain : mapping, optional
        The store the records come from: ``location`` (str), ``head`` (hash of its last
        record), ``records`` (how many it holds, all audits) and ``problems`` (what
        ``SignoffStore.verify`` found; empty: intact). None: the chain is not described.
    today : date, optional
        The date expiries are judged on; default today in UTC.

    Returns
    -------
    dict
        ``records`` (rows for the template), ``status`` (the cover's decision line),
        ``decision`` (the standing decision's code, None when none stands or it expired),
        ``status_note``, ``as_of``, ``manifest_sha256``, ``chain`` (or None) and
        ``blank_lines`` (empty signature lines when nothing was recorded).

    Examples
    --------
    >>> mine, theirs = "a" * 64, "b" * 64
    >>> records = [
    ...     {"seq": 1, "decision": "approve", "reviewer": "Ada", "manifest_sha256": mine},
    ...     {"seq": 2, "decision": "revoke", "revokes": 1, "reviewer": "Ada",
    ...      "manifest_sha256": mine},
    ...     {"seq": 3, "decision": "approve", "reviewer": "Bo", "manifest_sha256": theirs},
    ... ]
    >>> section = signoff_section(records, manifest_sha256=mine, today=date(2026, 12, 1))
    >>> section["status"], [r["decision"] for r in section["records"]]
    ('Awaiting sign-off', ['Approved', 'Revoked #1', 'Approved'])
    >>> section["records"][0]["revoked_by"], section["records"][2]["other_manifest"]
    (2, 'bbbbbbbbbbbbbbbb')
    """
    today = today or datetime.now(UTC).date()
    by_seq = {s: r for r in records if (s := _seq(r.get("seq"))) is not None}
    # Newest first, so every record that could revoke a record is settled before it.
    revoked_by: dict[int, int] = {}
    for number in sorted(by_seq, reverse=True):
        r = by_seq[number]
        target = _seq(r.get("revokes"))
        if r.get("decision") == "revoke" and number not in revoked_by and target is not None:
            revoked_by.setdefault(target, number)

    rows = []
    standing = None  # the newest decision that counts: (its row, the date it expired or "")
    for r in records:
        seq = _seq(r.get("seq"))
        decision = str(r.get("decision", ""))
        target = _seq(r.get("revokes"))
        label = DECISIONS.get(decision, decision)
        if decision == "revoke" and target is not None:
            label = f"{label} #{target}"
        made_on = str(r.get("manifest_sha256") or "")
        expiry = str(r.get("expiry") or "")
        ends = _expiry(expiry)
        expired = decision in _APPROVALS and ends is not None and ends < today
        row = {
            "seq": f"#{seq}" if seq is not None else "—",
            "decision": label,
            "reviewer": str(r.get("reviewer", "")),
            "role": str(r.get("role", "")),
            "conditions": str(r.get("conditions") or ""),
            "expiry": expiry,
            "expired": f"expired on {expiry}" if expired else "",
            "timestamp": _when(str(r.get("timestamp", ""))),
            "comment": str(r.get("comment") or ""),
            "hash": _short(r.get("hash")),
            "prev_hash": _short(r.get("prev_hash")),
            "revoked_by": revoked_by.get(seq) if seq is not None else None,
            "other_manifest": _short(made_on) if made_on and made_on != manifest_sha256 else "",
            "code": decision,
        }
        rows.append(row)
        if decision in _DECIDING and row["revoked_by"] is None and not row["other_manifest"]:
            standing = (row, expiry if expired else "")

    standing_decision = None
    if standing is not None:
        current, expired_on = standing
        standing_decision = None if expired_on else current["code"]
        status = f"Approval expired on {expired_on}" if expired_on else current["decision"]
        which = f"record {current['seq']}" if current["seq"] != "—" else "the record"
        note = f"From {which} ({current['reviewer']}, {current['timestamp']})."
    else:
        status = "Awaiting sign-off"
        note = (
            "No decision on this version of the bundle stands: every decision recorded was "
            "revoked or made on a different version of the bundle."
            if rows
            else ""
        )

    chain_block = None
    if chain is not None:
        problems = [str(p) for p in chain.get("problems", [])]
        verdict = "intact (verified when this report was written)"
        if problems:
            plural = "s" if len(problems) > 1 else ""
            verdict = f"BROKEN: {len(problems)} problem{plural} found when this report was written:"
        chain_block = {
            "location": str(chain.get("location", "not recorded")),
            "head": str(chain.get("head") or "—"),
            "records": f"{int(chain.get('records', 0)):,}",
            "intact": not problems,
            "verdict": verdict,
            "problems": problems,
        }
    return {
        "records": rows,
        "status": status,
        "decision": standing_decision,
        "status_note": note,
        "as_of": today.isoformat(),
        "manifest_sha256": manifest_sha256,
        "chain": chain_block,
        "blank_lines": 0 if rows else 3,
    }


def integrity_section(manifest: Mapping[str, Any], manifest_sha256: str) -> dict[str, Any]:
    """Every file of the bundle with its sha256, and how to check the PDF."""
    files = [
        {"name": name, "sha256": entry["sha256"], "size": f"{entry['size']:,}"}
        for name, entry in sorted(manifest.get("files", {}).items())
    ]
    return {"files": files, "manifest_sha256": manifest_sha256}
