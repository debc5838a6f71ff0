"""The sign-off store: the hash chain, tamper evidence, concurrent writers and refusals."""

from __future__ import annotations

import itertools
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from fairtrail.cli import cli
from fairtrail.signoff import GENESIS, SignoffError, SignoffStore

DIGEST = "ab" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def filled(path: Path, n: int = 4) -> SignoffStore:
    store = SignoffStore(path)
    for i in range(n):
        store.record(f"audit-{i % 2}", DIGEST, reviewer=f"r{i}", role="reviewer",
                     decision="approve", now=NOW)  # fmt: skip
    return store


def tamper(path: Path, sql: str) -> None:
    """What someone with write access to the file can do: drop the guards, then edit."""
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER signoffs_no_update; DROP TRIGGER signoffs_no_delete;" + sql)
    db.commit()
    db.close()


def test_records_form_a_chain(tmp_path: Path) -> None:
    store = filled(tmp_path / "s.db")
    records = store.records()
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    for r in records:
        assert r.hash == r.expected_hash()
    assert [r.reviewer for r in store.records("audit-1")] == ["r1", "r3"]
    assert store.verify() == []


def test_the_database_refuses_edits_and_deletions(tmp_path: Path) -> None:
    filled(tmp_path / "s.db")
    db = sqlite3.connect(tmp_path / "s.db")
    for sql in ("UPDATE signoffs SET decision = 'reject'", "DELETE FROM signoffs WHERE seq = 2"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)
    db.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE signoffs SET decision = 'reject' WHERE seq = 2", "record 2 was edited"),
        ("UPDATE signoffs SET timestamp = '2020-01-01' WHERE seq = 1", "record 1 was edited"),
        ("DELETE FROM signoffs WHERE seq = 2", "records 2–2 are missing (deleted)"),
        ("DELETE FROM signoffs WHERE seq >= 3", "records 3–4 are missing (deleted from the end)"),
        ("UPDATE signoffs SET seq = 9 WHERE seq = 4", "record 9 was edited"),
    ],
)
def test_verify_detects_tampering(tmp_path: Path, sql: str, message: str) -> None:
    store = filled(tmp_path / "s.db")
    tamper(tmp_path / "s.db", sql)
    problems = store.verify()
    assert any(message in p for p in problems), problems
    result = CliRunner().invoke(cli, ["signoff", "verify", str(tmp_path / "s.db")])
    assert result.exit_code == 1
    assert message in result.output


def test_a_rebuilt_hash_is_still_caught_by_the_next_link(tmp_path: Path) -> None:
    store = filled(tmp_path / "s.db")
    edited = store.records()[1]
    fields = {**edited.__dict__, "decision": "reject"}
    from fairtrail.signoff import Signoff

    new_hash = Signoff(**fields).expected_hash()
    tamper(tmp_path / "s.db", f"UPDATE signoffs SET decision='reject', hash='{new_hash}' "
                              "WHERE seq = 2")  # fmt: skip
    assert store.verify() == [
        f"record 3 does not follow the record before it (its previous hash {edited.hash[:12]}… "
        f"is not {new_hash[:12]}…)."
    ]


def _write(args: tuple[str, int]) -> int:
    path, writer = args
    store = SignoffStore(path)
    for i in range(50):
        store.record(f"audit-{writer}", DIGEST, reviewer=f"w{writer}", role="r",
                     decision="approve", comment=str(i))  # fmt: skip
    return writer


@pytest.mark.slow
def test_twenty_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    SignoffStore(path)
    with ProcessPoolExecutor(max_workers=20) as pool:
        assert sorted(pool.map(_write, [(path, w) for w in range(20)])) == list(range(20))
    store = SignoffStore(path)
    records = store.records()
    assert len(records) == 1000
    assert [r.seq for r in records] == list(range(1, 1001))
    for w in range(20):
        assert [r.comment for r in store.records(f"audit-{w}")] == [str(i) for i in range(50)]
    assert store.verify() == []


def test_revoking_is_a_new_record(tmp_path: Path) -> None:
    store = filled(tmp_path / "s.db", 1)
    revocation = store.record("audit-0", DIGEST, reviewer="Ada", role="chair",
                              decision="revoke", revokes=1, comment="data changed")  # fmt: skip
    assert revocation.seq == 2
    assert [r.decision for r in store.records()] == ["approve", "revoke"]
    assert store.verify() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reviewer": " "}, "'reviewer' of a sign-off must be a non-empty string"),
        ({"role": ""}, "'role' of a sign-off must be a non-empty string"),
        ({"decision": "maybe"}, r"'decision' of a sign-off must be one of \['approve'"),
        ({"decision": "approve_with_conditions"}, "needs its conditions"),
        ({"decision": "revoke"}, "'revokes' names the record"),
        ({"decision": "revoke", "revokes": 7}, "'revokes' must name an earlier sign-off"),
        ({"expiry": "next year"}, "'expiry' of a sign-off must be a date YYYY-MM-DD"),
        ({"manifest_sha256": "xyz"}, "'manifest_sha256' of a sign-off must be 64 lowercase"),
    ],
)
def test_refusals_name_the_field(tmp_path: Path, change: dict[str, object], message: str) -> None:
    store = SignoffStore(tmp_path / "s.db")
    args: dict[str, object] = {"reviewer": "Ada", "role": "chair", "decision": "approve",
                               "manifest_sha256": DIGEST, **change}  # fmt: skip
    digest = args.pop("manifest_sha256")
    with pytest.raises(SignoffError, match=message):
        store.record("audit-0", digest, **args)  # type: ignore[arg-type]
    assert store.records() == []


def test_cli_lists_and_verifies(tmp_path: Path) -> None:
    filled(tmp_path / "s.db", 2)
    result = CliRunner().invoke(cli, ["signoff", "verify", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert "2 records" in result.output
    result = CliRunner().invoke(cli, ["signoff", "list", str(tmp_path / "s.db")])
    assert result.exit_code == 0
    assert "r0" in result.output
    assert "r1" in result.output
