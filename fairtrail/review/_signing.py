"""The Sign-off page's logic: the decision status, recording a decision, the PDF export.

Which decision stands is :func:`fairtrail.signoff.decision_status`'s to say; the page words
its :class:`~fairtrail.signoff.DecisionStatus` exactly as the report does (the report's
:func:`reports.status_line`, :func:`reports.status_note` and :func:`reports.signoff_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from audit import Bundle, BundleError, BundleVerificationError
from fairtrail.review._bundles import BundleEntry, Review
from fairtrail.signoff import DecisionStatus, decision_status
from reports import signoff_rows, signoff_section, status_line, status_note

__all__ = [
    "chain_summary",
    "export_report",
    "record_signoff",
    "records_frame",
    "revocable",
    "signoff_status",
    "standing_decisions",
    "status_line",
    "status_note",
]


def signoff_status(
    review: Review, records: Sequence[Any], *, today: date | None = None
) -> dict[str, Any]:
    """The report's sign-off section for ``review``: the decision status and the records.

    ``records`` are :class:`fairtrail.signoff.Signoff` objects (or mappings of their fields)
    of this audit; a decision made on other files of the bundle (another manifest) is listed
    but never counts. The status is :func:`fairtrail.signoff.decision_status`'s, worded by
    :func:`reports.signoff_section`.
    """
    return signoff_section(decision_status(records, review.manifest_sha256, today=today))


_FRAME_COLUMNS = [
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


def records_frame(status: DecisionStatus) -> pd.DataFrame:
    """The records of a decision status as a table, oldest first, worded as in the report.

    ``note`` says what happened to each: revoked, made on other files, expired.

    Examples
    --------
    >>> from fairtrail.signoff import decision_status
    >>> records = [{"seq": 1, "decision": "approve", "reviewer": "Ada"},
    ...            {"seq": 2, "decision": "revoke", "revokes": 1, "reviewer": "Ada"}]
    >>> frame = records_frame(decision_status(records, "a" * 64))
    >>> frame[["#", "decision", "note"]].values.tolist()
    [['#1', 'Approved', 'revoked by #2'], ['#2', 'Revoked #1', '']]
    """
    rows = []
    for record, r in zip(status.records, signoff_rows(status), strict=True):
        notes = []
        if record.revoked_by is not None:
            notes.append(f"revoked by #{record.revoked_by}")
        if record.other_manifest:
            notes.append(f"made on another version of the bundle ({r['other_manifest']}…)")
        if record.expired:
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
    return pd.DataFrame(rows, columns=_FRAME_COLUMNS)


def revocable(status: DecisionStatus) -> list[int]:
    """The numbers of this audit's decisions that stand (may still be revoked)."""
    return list(status.revocable)


def standing_decisions(
    store: Any, entries: Sequence[BundleEntry], *, today: date | None = None
) -> dict[str, str | None]:
    """Each listed audit's standing decision (``approve``, …; None when none stands)."""
    out: dict[str, str | None] = {}
    for e in entries:
        if not e.audit_id:
            continue
        status = store.decision_status(e.audit_id, e.manifest_sha256, today=today)
        out[e.audit_id] = status.decision
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
    try:  # opened once: verified, and the manifest's digest read from what was verified
        current = Bundle.open(review.path).manifest_sha256
    except BundleError as exc:
        problem = exc.problems[0] if isinstance(exc, BundleVerificationError) else str(exc)
        raise SignoffError(
            f"The bundle '{review.path}' no longer verifies ({problem}); nothing was signed."
        ) from None
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
