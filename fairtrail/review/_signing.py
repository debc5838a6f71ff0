"""The Sign-off page's logic: the decision status, recording a decision, the PDF export."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from audit import verify_bundle
from audit._bundle import MANIFEST
from fairtrail.review._bundles import BundleEntry, Review
from reports._sections import signoff_section


def signoff_status(
    review: Review, records: Sequence[Any], *, today: date | None = None
) -> dict[str, Any]:
    """The decision status and the earlier decisions, as the report prints them.

    ``records`` are :class:`fairtrail.signoff.Signoff` objects (or mappings of their fields)
    of this audit; a decision made on other files of the bundle (another manifest) is listed
    but never counts.
    """
    plain = [r if isinstance(r, Mapping) else asdict(r) for r in records]
    return signoff_section(
        plain,
        manifest_sha256=review.manifest_sha256,
        today=today or datetime.now(UTC).date(),
    )


def records_frame(section: Mapping[str, Any]) -> pd.DataFrame:
    """The decisions of a :func:`signoff_status` as a table, oldest first.

    ``note`` says what happened to each: revoked, made on other files, expired.
    """
    rows = []
    for r in section["records"]:
        notes = []
        if r["revoked_by"] is not None:
            notes.append(f"revoked by #{r['revoked_by']}")
        if r["other_manifest"]:
            notes.append(f"made on another version of the bundle ({r['other_manifest']}…)")
        if r["expired"]:
            notes.append(r["expired"])
        rows.append(
            {
                "#": r["seq"],
                "decision": r["decision"],
                "reviewer": r["reviewer"],
                "role": r["role"],
                "conditions": r["conditions"],
                "valid until": r["expiry"],
                "recorded (UTC)": r["timestamp"],
                "comment": r["comment"],
                "note": "; ".join(notes),
                "hash": r["hash"],
            }
        )
    columns = [
        "#",
        "decision",
        "reviewer",
        "role",
        "conditions",
        "valid until",
        "recorded (UTC)",
        "comment",
        "note",
        "hash",
    ]
    return pd.DataFrame(rows, columns=columns)


def revocable(section: Mapping[str, Any]) -> list[int]:
    """The sequence numbers of this audit's decisions that stand (may still be revoked)."""
    return [
        int(r["seq"].lstrip("#"))
        for r in section["records"]
        if r["code"] in ("approve", "approve_with_conditions", "reject")
        and r["revoked_by"] is None
        and r["seq"] != "—"
    ]


def standing_decisions(
    store: Any, entries: Sequence[BundleEntry], *, today: date | None = None
) -> dict[str, str | None]:
    """Each listed audit's standing decision (``approve``, …; None when none stands)."""
    out: dict[str, str | None] = {}
    for e in entries:
        if not e.audit_id:
            continue
        plain = [asdict(r) for r in store.records(e.audit_id)]
        section = signoff_section(
            plain, manifest_sha256=e.manifest_sha256, today=today or datetime.now(UTC).date()
        )
        out[e.audit_id] = section["decision"]
    return out


def _signer(reviewer: Any) -> str:
    return f"{reviewer.name} ({reviewer.username})" if reviewer.name else reviewer.username


def record_signoff(
    store: Any,
    review: Review,
    reviewer: Any,
    *,
    decision: str,
    conditions: str = "",
    expiry: str = "",
    comment: str = "",
    revokes: int | None = None,
) -> Any:
    """Record a signed-in reviewer's decision on the bundle exactly as it was reviewed.

    The bundle is verified again first, and its manifest must still be the one the reviewer
    opened: a decision always names the files it was made on.

    Raises
    ------
    SignoffError
        The reviewer may not sign, the bundle changed or fails verification, or the record
        itself is refused by the store (see :meth:`SignoffStore.record`).
    """
    from fairtrail.signoff import SignoffError

    if reviewer is None or not getattr(reviewer, "may_sign", False):
        who = "Nobody is signed in" if reviewer is None else f"{_signer(reviewer)} may view"
        raise SignoffError(f"{who}: only a signed-in reviewer with signing rights can sign.")
    problems = verify_bundle(review.path)
    if problems:
        raise SignoffError(
            f"The bundle '{review.path}' no longer verifies ({problems[0]}); nothing was signed."
        )
    current = hashlib.sha256((review.path / MANIFEST).read_bytes()).hexdigest()
    if current != review.manifest_sha256:
        raise SignoffError(
            "The bundle was rewritten after it was opened (its manifest changed): open it "
            "again and review what changed before signing. Nothing was signed."
        )
    return store.record(
        review.audit_id,
        review.manifest_sha256,
        reviewer=_signer(reviewer),
        role=reviewer.role,
        decision=decision,
        conditions=conditions,
        expiry=expiry,
        comment=comment,
        revokes=revokes,
    )


def chain_summary(store: Any) -> dict[str, Any]:
    """Where the sign-offs live, the head of the chain, how many records, what is wrong."""
    from fairtrail.signoff import GENESIS

    records = store.records()
    return {
        "location": str(getattr(store, "location", getattr(store, "path", ""))),
        "head": records[-1].hash if records else GENESIS,
        "records": len(records),
        "problems": store.verify(),
    }


def export_report(review: Review, store: Any, out: str | Path) -> Any:
    """Render the bundle's PDF report with this audit's sign-offs and the chain's head.

    Returns the :class:`reports.Rendered` report.
    """
    from reports import render_report

    signoffs = [asdict(r) for r in store.records(review.audit_id)]
    return render_report(review.path, out, signoffs=signoffs, chain=chain_summary(store))
