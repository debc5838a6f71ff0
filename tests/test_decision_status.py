"""Which sign-off decision stands: ``fairtrail.signoff.decision_status``, judged once, and the
report's section and the review app's helpers wording the same status the same way.

Every expected status is derived by hand from the records listed in the test (the rule: the
newest decision on this manifest that no standing revocation withdraws; an approval past its
expiry date has expired).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from fairtrail import review as rv
from fairtrail.signoff import (
    DecisionState,
    DecisionStatus,
    SignoffStore,
    decision_status,
)
from reports import signoff_section

MINE, THEIRS = "a" * 64, "b" * 64
DAY = date(2026, 12, 5)
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def record(seq: int, decision: str, **fields: Any) -> dict[str, Any]:
    """Record ``seq`` as the store would hold it: made on MINE at 2026-11-2<seq> 10:00 UTC."""
    base = {"seq": seq, "audit_id": "a1", "decision": decision, "reviewer": f"R{seq}",
            "role": "reviewer", "manifest_sha256": MINE, "conditions": "", "expiry": "",
            "comment": "", "revokes": None, "timestamp": f"2026-11-2{seq}T10:00:00+00:00",
            "hash": f"{seq}" * 64, "prev_hash": f"{seq - 1}" * 64}  # fmt: skip
    return base | fields


def rendered(status: DecisionStatus) -> tuple[str, str]:
    """The status line and note, checked equal in the report's section and the app's page."""
    section = signoff_section(status)
    frame = rv.records_frame(status)
    assert rv.status_line(status) == section["status"]
    assert rv.status_note(status) == section["status_note"]
    assert section["decision"] == status.decision
    rows = section["records"]
    assert list(frame["#"]) == [r["seq"] for r in rows]
    assert list(frame["decision"]) == [r["decision"] for r in rows]
    assert list(frame["recorded (UTC)"]) == [r["timestamp"] for r in rows]
    assert list(frame["hash"]) == [r["hash"] for r in rows]
    assert rv.revocable(status) == list(status.revocable)
    return section["status"], section["status_note"]


def test_no_record_awaits_sign_off() -> None:
    status = decision_status([], MINE, today=DAY)
    assert status.state is DecisionState.AWAITING
    assert (status.standing, status.decision, status.decided_by, status.decided_at) == (
        None, None, None, None
    )  # fmt: skip
    assert (status.records, status.revocable, status.as_of) == ((), (), DAY)
    assert rendered(status) == ("Awaiting sign-off", "")
    assert signoff_section(status)["blank_lines"] == 3  # signature lines on paper instead


def test_an_approval_stands() -> None:
    status = decision_status([record(1, "approve")], MINE, today=DAY)
    assert status.state is DecisionState.APPROVED
    assert status.decision == "approve"
    assert (status.decided_by, status.decided_at, status.decided_on) == (
        "R1", "2026-11-21T10:00:00+00:00", MINE
    )  # fmt: skip
    assert status.revocable == (1,)
    assert rendered(status) == ("Approved", "From record #1 (R1, 2026-11-21 10:00:00 UTC).")


def test_the_newest_decision_stands() -> None:
    # #1 approves, #2 (newer) rejects: #2 stands; both may still be revoked.
    status = decision_status([record(1, "approve"), record(2, "reject")], MINE, today=DAY)
    assert status.state is DecisionState.REJECTED
    assert status.standing is not None
    assert status.standing.seq == 2
    assert status.revocable == (1, 2)
    assert rendered(status) == ("Rejected", "From record #2 (R2, 2026-11-22 10:00:00 UTC).")


def test_a_revocation_withdraws_its_record_and_revoking_it_reinstates() -> None:
    # #1 approve, #2 reject, #3 revokes #2 → #1 is the newest standing: approved.
    records = [record(1, "approve"), record(2, "reject"), record(3, "revoke", revokes=2)]
    status = decision_status(records, MINE, today=DAY)
    assert status.state is DecisionState.APPROVED
    assert [r.revoked_by for r in status.records] == [None, 3, None]
    assert [r.revokes for r in status.records] == [None, None, 2]
    assert status.revocable == (1,)  # #2 is withdrawn, #3 is not a decision
    assert rendered(status) == ("Approved", "From record #1 (R1, 2026-11-21 10:00:00 UTC).")
    assert [r["decision"] for r in signoff_section(status)["records"]] == [
        "Approved", "Rejected", "Revoked #2"
    ]  # fmt: skip
    assert list(rv.records_frame(status)["note"]) == ["", "revoked by #3", ""]
    # #4 revokes the revocation #3: #2 stands again.
    again = decision_status([*records, record(4, "revoke", revokes=3)], MINE, today=DAY)
    assert again.state is DecisionState.REJECTED
    assert [r.revoked_by for r in again.records] == [None, None, 4, None]
    # Revoking the only decision leaves nothing standing.
    gone = decision_status([record(1, "approve"), record(2, "revoke", revokes=1)], MINE, today=DAY)
    assert gone.state is DecisionState.AWAITING
    assert rendered(gone) == (
        "Awaiting sign-off",
        "No decision on this version of the bundle stands: every decision recorded was "
        "revoked or made on a different version of the bundle.",
    )


def test_a_decision_on_another_manifest_is_listed_but_ignored() -> None:
    records = [record(1, "approve"), record(2, "reject", manifest_sha256=THEIRS)]
    status = decision_status(records, MINE, today=DAY)
    assert status.state is DecisionState.APPROVED  # the rejection was of other files
    assert [r.other_manifest for r in status.records] == [False, True]
    assert status.revocable == (1, 2)  # still revocable: it stands on its own files
    assert rendered(status)[0] == "Approved"
    assert list(rv.records_frame(status)["note"]) == [
        "", f"made on another version of the bundle ({'b' * 16}…)"
    ]  # fmt: skip
    only_theirs = decision_status([record(1, "approve", manifest_sha256=THEIRS)], MINE, today=DAY)
    assert only_theirs.state is DecisionState.AWAITING
    assert rendered(only_theirs)[0] == "Awaiting sign-off"
    # A revocation withdraws its record whatever files it was made on.
    revoked = [record(1, "approve"), record(2, "revoke", revokes=1, manifest_sha256=THEIRS)]
    assert decision_status(revoked, MINE, today=DAY).state is DecisionState.AWAITING
    # An older caller's record without a manifest is taken as made on this bundle.
    old = {"decision": "approve", "reviewer": "Ada", "timestamp": "2026-11-25T10:00:00Z"}
    status = decision_status([old], MINE, today=DAY)
    assert (status.state, status.decided_on) == (DecisionState.APPROVED, MINE)
    assert rendered(status) == ("Approved", "From the record (Ada, 2026-11-25 10:00:00 UTC).")


def test_an_approval_expires_after_its_last_day() -> None:
    approval = record(1, "approve_with_conditions", conditions="re-audit", expiry="2026-12-01")
    last_day = decision_status([approval], MINE, today=date(2026, 12, 1))
    assert last_day.state is DecisionState.APPROVED_WITH_CONDITIONS
    assert rendered(last_day)[0] == "Approved with conditions"
    after = decision_status([approval], MINE, today=date(2026, 12, 2))
    assert after.state is DecisionState.EXPIRED
    assert after.decision is None  # nothing stands, but the record that expired is named
    assert after.decided_by == "R1"
    assert after.revocable == (1,)
    assert rendered(after) == (
        "Approval expired on 2026-12-01",
        "From record #1 (R1, 2026-11-21 10:00:00 UTC).",
    )
    assert list(rv.records_frame(after)["note"]) == ["expired on 2026-12-01"]
    # The newest decision rules even when it expired: no falling back to an older approval.
    older = decision_status([record(0, "approve"), approval], MINE, today=date(2026, 12, 2))
    assert older.state is DecisionState.EXPIRED
    # A rejection does not expire.
    rejection = decision_status([record(1, "reject", expiry="2000-01-01")], MINE, today=DAY)
    assert rejection.state is DecisionState.REJECTED


def store_with(tmp_path: Path, *decisions: tuple[str, int | None]) -> SignoffStore:
    store = SignoffStore(tmp_path / "signoffs.db")
    for decision, revokes in decisions:
        store.record("a1", MINE, reviewer="Ada", role="chair", decision=decision,
                     revokes=revokes, now=NOW)  # fmt: skip
    return store


def tamper(store: SignoffStore, sql: str) -> None:
    """What someone with write access to the file can do: drop the guards, then edit."""
    assert store.path is not None
    db = sqlite3.connect(store.path)
    try:
        db.executescript("DROP TRIGGER signoffs_no_update; DROP TRIGGER signoffs_no_delete;" + sql)
    finally:
        db.close()


def test_the_store_judges_its_records_as_the_function_does(tmp_path: Path) -> None:
    store = store_with(tmp_path, ("approve", None), ("reject", None), ("revoke", 2))
    status = store.decision_status("a1", MINE, today=DAY)
    assert status == decision_status(store.records("a1"), MINE, today=DAY)
    assert status == decision_status([asdict(r) for r in store.records("a1")], MINE, today=DAY)
    assert status.state is DecisionState.APPROVED  # #2 is revoked by #3: #1 stands
    assert status.standing is not None
    assert status.standing.hash == store.records("a1")[0].hash
    assert store.decision_status("another audit", MINE, today=DAY).records == ()


def test_a_tampered_chain_is_judged_as_stored_and_reported_beside(tmp_path: Path) -> None:
    # The store's semantics: records are read as they are; verify() says what was changed.
    # The status follows what is stored, and both renderers print the same line, while the
    # chain block (report) and the tampering warning (app) come from verify().
    store = store_with(tmp_path, ("approve", None))
    tamper(store, "UPDATE signoffs SET decision = 'reject';")
    status = store.decision_status("a1", MINE, today=DAY)
    assert status.state is DecisionState.REJECTED
    assert rendered(status)[0] == "Rejected"
    problems = store.verify()
    assert problems == ["record 1 was edited: its content no longer matches its hash."]
    chain = rv.chain_summary(store)
    assert chain["problems"] == problems
    block = signoff_section(status, chain=chain)["chain"]
    assert not block["intact"]
    assert block["verdict"] == "BROKEN: 1 problem found when this report was written:"
    # Deleting a revocation reinstates the decision it withdrew; verify() catches the deletion.
    store = store_with(tmp_path / "deleted", ("approve", None), ("revoke", 1))
    assert store.decision_status("a1", MINE, today=DAY).state is DecisionState.AWAITING
    tamper(store, "DELETE FROM signoffs WHERE seq = 2;")
    assert store.decision_status("a1", MINE, today=DAY).state is DecisionState.APPROVED
    assert store.verify() == [
        "records 2–2 are missing (deleted from the end): 2 were recorded."
    ]  # fmt: skip


def test_records_given_to_the_report_are_judged_the_same() -> None:
    records = [record(1, "reject"), record(2, "approve"), record(3, "revoke", revokes=2)]
    status = decision_status(records, MINE, today=DAY)
    assert signoff_section(records, manifest_sha256=MINE, today=DAY) == signoff_section(status)
    with pytest.raises(TypeError, match="needs manifest_sha256"):
        signoff_section(records)


def test_the_renderers_word_what_they_are_given() -> None:
    # A status built by hand, no rule applied: the report and the app print it as it is.
    status = decision_status([record(1, "approve")], MINE, today=DAY)
    assert status.standing is not None
    forced = replace(status, state=DecisionState.EXPIRED, standing=replace(
        status.standing, expiry="2026-01-01"))  # fmt: skip
    assert rendered(forced)[0] == "Approval expired on 2026-01-01"
    assert forced.decision is None
