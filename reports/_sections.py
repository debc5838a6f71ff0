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
from typing import Any, Protocol

from markupsafe import Markup

from audit.mitigation import TradeOff, signed_change
from reports._charts import REPORT_FONT, TradeoffPoint, tradeoff_chart
from reports._context import fmt, interval

__all__ = [
    "DECISIONS",
    "STATUS_LINES",
    "DecisionRecordView",
    "DecisionStatusView",
    "integrity_section",
    "mitigation_section",
    "provenance_section",
    "reproducibility_section",
    "signoff_rows",
    "signoff_section",
    "status_line",
    "status_note",
]

#: Sign-off decisions and how the report names them.
DECISIONS = {
    "approve": "Approved",
    "approve_with_conditions": "Approved with conditions",
    "reject": "Rejected",
    "revoke": "Revoked",
}
#: The decision status line of each state (the values of ``fairtrail.signoff.DecisionState``);
#: ``{expiry}`` is the standing approval's expiry date.
STATUS_LINES = {
    "awaiting": "Awaiting sign-off",
    "approved": DECISIONS["approve"],
    "approved_with_conditions": DECISIONS["approve_with_conditions"],
    "rejected": DECISIONS["reject"],
    "expired": "Approval expired on {expiry}",
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


class DecisionRecordView(Protocol):
    """One judged sign-off record, as the report prints it.

    :class:`fairtrail.signoff.DecisionRecord` is one; the report reads these fields and
    decides nothing.
    """

    @property
    def seq(self) -> int | None:
        """The record's number in the store; None when not recorded."""

    @property
    def decision(self) -> str:
        """The decision as recorded (``approve``, …, ``revoke``)."""

    @property
    def revokes(self) -> int | None:
        """The record this revocation withdraws; None for a decision."""

    @property
    def reviewer(self) -> str:
        """Who recorded it."""

    @property
    def role(self) -> str:
        """The reviewer's role."""

    @property
    def conditions(self) -> str:
        """The conditions of an approval (may be empty)."""

    @property
    def expiry(self) -> str:
        """The last day an approval holds (YYYY-MM-DD or empty)."""

    @property
    def timestamp(self) -> str:
        """When it was recorded (ISO 8601)."""

    @property
    def comment(self) -> str:
        """The reviewer's comment (may be empty)."""

    @property
    def manifest_sha256(self) -> str:
        """The manifest it was made on (empty: not recorded)."""

    @property
    def hash(self) -> str:
        """The record's hash (empty: not recorded)."""

    @property
    def prev_hash(self) -> str:
        """The previous record's hash (empty: not recorded)."""

    @property
    def revoked_by(self) -> int | None:
        """The revocation that withdraws it; None if none does."""

    @property
    def other_manifest(self) -> bool:
        """Made on another version of the bundle (listed, never counted)."""

    @property
    def expired(self) -> bool:
        """An approval whose expiry date has passed."""


class DecisionStatusView(Protocol):
    """Which sign-off decision stands on a bundle, as the report prints it.

    :class:`fairtrail.signoff.DecisionStatus` is one (``fairtrail.signoff.decision_status``
    applies the rules); ``state`` is one of :data:`STATUS_LINES`' keys.
    """

    @property
    def state(self) -> str:
        """``awaiting``, ``approved``, ``approved_with_conditions``, ``rejected`` or ``expired``."""

    @property
    def manifest_sha256(self) -> str:
        """The sha256 of the bundle's manifest."""

    @property
    def as_of(self) -> date:
        """The date expiries were judged on."""

    @property
    def standing(self) -> DecisionRecordView | None:
        """The record that decides the state; None when awaiting."""

    @property
    def records(self) -> Sequence[DecisionRecordView]:
        """Every record judged, oldest first."""

    @property
    def decision(self) -> str | None:
        """The standing decision's code; None when none stands or it expired."""


def _when(timestamp: str) -> str:
    """A record's time in UTC to the second, or the text as recorded if it is not ISO 8601."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        return timestamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_line(status: DecisionStatusView) -> str:
    """The decision status in words: the report's cover line and the app's headline.

    Examples
    --------
    >>> from fairtrail.signoff import decision_status
    >>> status_line(decision_status([], "a" * 64))
    'Awaiting sign-off'
    >>> lapsed = [{"seq": 1, "decision": "approve", "expiry": "2026-11-30"}]
    >>> status_line(decision_status(lapsed, "a" * 64, today=date(2026, 12, 1)))
    'Approval expired on 2026-11-30'
    """
    expiry = status.standing.expiry if status.standing is not None else ""
    return STATUS_LINES[status.state].format(expiry=expiry)


def status_note(status: DecisionStatusView) -> str:
    """Which record the status comes from, or why none stands (empty: nothing recorded).

    Examples
    --------
    >>> from fairtrail.signoff import decision_status
    >>> record = {"seq": 1, "decision": "reject", "reviewer": "Ada",
    ...           "timestamp": "2026-11-21T10:00:00+00:00"}
    >>> status_note(decision_status([record], "a" * 64))
    'From record #1 (Ada, 2026-11-21 10:00:00 UTC).'
    """
    current = status.standing
    if current is not None:
        which = f"record #{current.seq}" if current.seq is not None else "the record"
        return f"From {which} ({current.reviewer}, {_when(current.timestamp)})."
    if status.records:
        return (
            "No decision on this version of the bundle stands: every decision recorded was "
            "revoked or made on a different version of the bundle."
        )
    return ""


def signoff_rows(status: DecisionStatusView) -> list[dict[str, Any]]:
    """Each record of the status as the report's table prints it, oldest first.

    ``seq`` (``#3``, or ``—``), ``decision`` (its name; a revocation names its record),
    ``reviewer``, ``role``, ``conditions``, ``expiry``, ``expired`` (``expired on …`` or
    empty), ``timestamp`` (UTC), ``comment``, ``hash`` and ``prev_hash`` (16 hex digits, or
    ``—``), ``revoked_by`` (a number or None), ``other_manifest`` (16 hex digits of the other
    manifest, or empty) and ``code`` (the decision as recorded).
    """
    rows = []
    for r in status.records:
        label = DECISIONS.get(r.decision, r.decision)
        if r.revokes is not None:
            label = f"{label} #{r.revokes}"
        rows.append(
            {
                "seq": f"#{r.seq}" if r.seq is not None else "—",
                "decision": label,
                "reviewer": r.reviewer,
                "role": r.role,
                "conditions": r.conditions,
                "expiry": r.expiry,
                "expired": f"expired on {r.expiry}" if r.expired else "",
                "timestamp": _when(r.timestamp),
                "comment": r.comment,
                "hash": _short(r.hash),
                "prev_hash": _short(r.prev_hash),
                "revoked_by": r.revoked_by,
                "other_manifest": _short(r.manifest_sha256) if r.other_manifest else "",
                "code": r.decision,
            }
        )
    return rows


def _chain_block(chain: Mapping[str, Any]) -> dict[str, Any]:
    problems = [str(p) for p in chain.get("problems", [])]
    verdict = "intact (verified when this report was written)"
    if problems:
        plural = "s" if len(problems) > 1 else ""
        verdict = f"BROKEN: {len(problems)} problem{plural} found when this report was written:"
    return {
        "location": str(chain.get("location", "not recorded")),
        "head": str(chain.get("head") or "—"),
        "records": f"{int(chain.get('records', 0)):,}",
        "intact": not problems,
        "verdict": verdict,
        "problems": problems,
    }


def signoff_section(
    status: DecisionStatusView | Sequence[Mapping[str, Any]],
    *,
    chain: Mapping[str, Any] | None = None,
    manifest_sha256: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The sign-off chain (oldest first), the decision status, and where the chain lives.

    The report words a :class:`DecisionStatusView` (``fairtrail.signoff.decision_status``
    decides which record stands, what is revoked, made on other files or expired); it applies
    no rule of its own.

    Parameters
    ----------
    status : DecisionStatusView, or sequence of mapping
        The decision status of this bundle; or the sign-off records themselves, oldest first,
        as ``dataclasses.asdict`` of ``fairtrail.signoff.Signoff`` (what
        :func:`render_report`'s ``signoffs`` takes), with ``manifest_sha256`` and ``today``:
        ``fairtrail.signoff.decision_status`` judges them.
    chain : mapping, optional
        The store the records come from: ``location`` (str), ``head`` (hash of its last
        record), ``records`` (how many it holds, all audits) and ``problems`` (what
        ``SignoffStore.verify`` found; empty: intact). None: the chain is not described.
    manifest_sha256 : str, optional
        With records only: the sha256 of this bundle's manifest.
    today : date, optional
        With records only: the date expiries are judged on; default today in UTC.

    Returns
    -------
    dict
        ``records`` (rows for the template, :func:`signoff_rows`), ``status`` (the cover's
        decision line, :func:`status_line`), ``decision`` (the standing decision's code,
        None when none stands or it expired), ``status_note`` (:func:`status_note`),
        ``as_of``, ``manifest_sha256``, ``chain`` (or None) and ``blank_lines`` (empty
        signature lines when nothing was recorded).

    Examples
    --------
    >>> from fairtrail.signoff import decision_status
    >>> mine, theirs = "a" * 64, "b" * 64
    >>> records = [
    ...     {"seq": 1, "decision": "approve", "reviewer": "Ada", "manifest_sha256": mine},
    ...     {"seq": 2, "decision": "revoke", "revokes": 1, "reviewer": "Ada",
    ...      "manifest_sha256": mine},
    ...     {"seq": 3, "decision": "approve", "reviewer": "Bo", "manifest_sha256": theirs},
    ... ]
    >>> section = signoff_section(decision_status(records, mine, today=date(2026, 12, 1)))
    >>> section["status"], [r["decision"] for r in section["records"]]
    ('Awaiting sign-off', ['Approved', 'Revoked #1', 'Approved'])
    >>> section["records"][0]["revoked_by"], section["records"][2]["other_manifest"]
    (2, 'bbbbbbbbbbbbbbbb')
    """
    if isinstance(status, Sequence):
        # Records, as render_report(signoffs=...) takes them: the sign-off module judges them
        # (the report's one import from fairtrail: the rules are never the report's).
        from fairtrail.signoff import decision_status

        if manifest_sha256 is None:
            raise TypeError("signoff_section() needs manifest_sha256 to judge sign-off records.")
        status = decision_status(status, manifest_sha256, today=today)
    rows = signoff_rows(status)
    return {
        "records": rows,
        "status": status_line(status),
        "decision": status.decision,
        "status_note": status_note(status),
        "as_of": status.as_of.isoformat(),
        "manifest_sha256": status.manifest_sha256,
        "chain": _chain_block(chain) if chain is not None else None,
        "blank_lines": 0 if rows else 3,
    }


def integrity_section(manifest: Mapping[str, Any], manifest_sha256: str) -> dict[str, Any]:
    """Every file of the bundle with its sha256, and how to check the PDF."""
    files = [
        {"name": name, "sha256": entry["sha256"], "size": f"{entry['size']:,}"}
        for name, entry in sorted(manifest.get("files", {}).items())
    ]
    return {"files": files, "manifest_sha256": manifest_sha256}
