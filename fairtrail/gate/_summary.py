"""The gate's JSON summary: what was judged, against what, and every check's outcome."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from audit import Estimate
from fairtrail.gate._run import GateRun

__all__ = ["SUMMARY_VERSION", "summary"]

SUMMARY_VERSION = "1"
OUTCOMES = ("passed", "failed", "warned", "waived", "skipped", "not_run")


def _number(x: float) -> float | None:
    return None if math.isnan(x) else x


def _estimate(e: Estimate | None, interval: str) -> dict[str, Any] | None:
    if e is None:
        return None
    lo, hi = (
        (e.simultaneous_lower, e.simultaneous_upper)
        if interval == "simultaneous"
        else (e.lower, e.upper)
    )
    return {
        "value": _number(e.value),
        "lower": _number(lo),
        "upper": _number(hi),
        "undefined_reason": e.undefined_reason,
    }


def summary(
    run: GateRun, ran: Mapping[str, str], exitstatus: int, started: datetime
) -> dict[str, Any]:
    """Plain, strict-JSON data of a gate run.

    ``ran`` maps a check's node id to the outcome its test had; a check absent from it was
    not run (deselected with ``-k``, or the run stopped early): ``"not_run"``.
    """
    from fairtrail import __version__

    checks = []
    for c in run.checks:
        checks.append(
            {
                "id": c.nodeid,
                "kind": c.kind,
                "criterion": c.criterion,
                "attribute": c.attribute,
                "verdict": c.verdict,
                "outcome": ran.get(c.nodeid, "not_run"),
                "severity": c.severity,
                "estimate": _estimate(c.estimate, c.interval),
                "baseline": _estimate(c.baseline, c.interval),
                "threshold" if c.kind == "threshold" else "tolerance": c.threshold,
                "bound": c.bound,
                "interval": c.interval,
                "waiver": None
                if c.waiver is None
                else {
                    "owner": c.waiver.owner,
                    "ticket": c.waiver.ticket,
                    "reason": c.waiver.reason,
                    "expires": c.waiver.expires.isoformat(),
                },
                "policy_line": c.line,
                "message": c.message,
            }
        )
    totals = {k: sum(1 for c in checks if c["outcome"] == k) for k in OUTCOMES}
    outcome = "fail" if totals["failed"] else "warn" if totals["warned"] else "pass"
    p, r = run.policy, run.result
    return {
        "schema_version": SUMMARY_VERSION,
        "fairtrail_version": __version__,
        "started_at": started.astimezone(UTC).isoformat(timespec="seconds"),
        "policy": {
            "name": p.name,
            "version": p.version,
            "path": str(p.path),
            "sha256": p.sha256,
            "decision_rule": p.decision_rule,
        },
        "audit": {
            "audit_id": r.audit_id,
            "created_at": r.created_at,
            "source": run.source,
            "data": r.data.source,
            "manifest_sha256": run.manifest_sha256,
            "status": r.status,
        },
        "baseline": None
        if run.baseline is None
        else {"audit_id": run.baseline.audit_id, "source": run.baseline_source},
        "checks": checks,
        "totals": totals,
        "outcome": outcome,
        "pytest_exitstatus": exitstatus,
    }
