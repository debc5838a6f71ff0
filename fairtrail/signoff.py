"""The sign-off store: append-only, hash-chained decisions on audit bundles, in SQLite.

Each record holds a reviewer's decision on one bundle (identified by its audit id and the
sha256 of its manifest, so a decision names exactly the files it was made on), and the hash of
the record before it. A record's ``hash`` is the sha256 of its canonical JSON (every field but
the hash, the sequence number and the previous hash included), so:

- **editing** a record changes its hash, which no longer matches, and breaks the next link;
- **deleting** a record breaks the link of the one after it; deleting the *last* records is
  caught by SQLite's ``AUTOINCREMENT`` counter, which remembers the highest number handed out;
- **reordering** changes the sequence numbers inside the hashes.

Triggers refuse ``UPDATE`` and ``DELETE``; revoking a decision is a new record
(``decision="revoke"``, ``revokes=<seq>``). Writers take the database lock with
``BEGIN IMMEDIATE`` (WAL journal), so concurrent writers queue and none is lost.

What this does not do: someone who can rewrite the whole file can rebuild a consistent chain.
Anchoring the head hash elsewhere (the report prints it) is what makes that visible.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["DECISIONS", "GENESIS", "Signoff", "SignoffError", "SignoffStore"]

#: What a reviewer may decide (``revoke`` withdraws an earlier record).
DECISIONS = ("approve", "approve_with_conditions", "reject", "revoke")
#: The "previous hash" of the first record.
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signoffs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_id TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    role TEXT NOT NULL,
    decision TEXT NOT NULL,
    conditions TEXT NOT NULL,
    expiry TEXT NOT NULL,
    comment TEXT NOT NULL,
    revokes INTEGER,
    timestamp TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS signoffs_no_update BEFORE UPDATE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-off records are append-only: record a revocation instead'); END;
CREATE TRIGGER IF NOT EXISTS signoffs_no_delete BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, 'sign-off records are append-only: record a revocation instead'); END;
"""
_FIELDS = (
    "seq",
    "audit_id",
    "manifest_sha256",
    "reviewer",
    "role",
    "decision",
    "conditions",
    "expiry",
    "comment",
    "revokes",
    "timestamp",
    "prev_hash",
    "hash",
)


class SignoffError(ValueError):
    """A sign-off that cannot be recorded (it names the field and what was expected)."""


@dataclass(frozen=True)
class Signoff:
    """One recorded decision."""

    seq: int
    audit_id: str
    manifest_sha256: str
    reviewer: str
    role: str
    decision: str
    conditions: str
    expiry: str
    comment: str
    revokes: int | None
    timestamp: str
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        """The sha256 of this record's canonical JSON, without its own hash."""
        return _digest({k: v for k, v in asdict(self).items() if k != "hash"})


def _digest(fields: dict[str, object]) -> str:
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SignoffStore:
    """Sign-off records in a SQLite file (created on first use).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = SignoffStore(pathlib.Path(tempfile.mkdtemp()) / "signoffs.db")
    >>> first = store.record("a1", "f" * 64, reviewer="Ada", role="chair", decision="approve",
    ...                      now=datetime(2026, 11, 25, 10, tzinfo=UTC))
    >>> first.seq, first.prev_hash == GENESIS, store.verify()
    (1, True, [])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    def record(
        self,
        audit_id: str,
        manifest_sha256: str,
        *,
        reviewer: str,
        role: str,
        decision: str,
        conditions: str = "",
        expiry: str = "",
        comment: str = "",
        revokes: int | None = None,
        now: datetime | None = None,
    ) -> Signoff:
        """Append a decision; returns the stored record.

        Raises
        ------
        SignoffError
            An empty reviewer, role or audit id; a manifest digest that is not 64 hex
            characters; an unknown decision; conditions missing for
            ``approve_with_conditions``; a revocation that names no earlier record; an expiry
            that is not a date (YYYY-MM-DD).
        """
        for name, value in (("audit_id", audit_id), ("reviewer", reviewer), ("role", role)):
            if not isinstance(value, str) or not value.strip():
                raise SignoffError(f"The '{name}' of a sign-off must be a non-empty string.")
        digest_ok = len(manifest_sha256) == 64 and all(
            c in "0123456789abcdef" for c in manifest_sha256
        )
        if not digest_ok:
            raise SignoffError(
                "The 'manifest_sha256' of a sign-off must be 64 lowercase hex characters (the "
                f"bundle manifest's sha256). Got {manifest_sha256!r}."
            )
        if decision not in DECISIONS:
            raise SignoffError(
                f"The 'decision' of a sign-off must be one of {list(DECISIONS)}. Got {decision!r}."
            )
        if decision == "approve_with_conditions" and not conditions.strip():
            raise SignoffError("An 'approve_with_conditions' sign-off needs its conditions.")
        if (decision == "revoke") != (revokes is not None):
            raise SignoffError("'revokes' names the record a 'revoke' withdraws, and only then.")
        if expiry:
            try:
                datetime.strptime(expiry, "%Y-%m-%d")
            except ValueError:
                raise SignoffError(
                    f"The 'expiry' of a sign-off must be a date YYYY-MM-DD. Got {expiry!r}."
                ) from None
        when = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: the chain stays linear
            try:
                if revokes is not None:
                    found = db.execute(
                        "SELECT audit_id FROM signoffs WHERE seq = ?", (revokes,)
                    ).fetchone()
                    if found is None or found[0] != audit_id:
                        raise SignoffError(
                            f"'revokes' must name an earlier sign-off of audit {audit_id!r}. "
                            f"Got {revokes!r}."
                        )
                last = db.execute("SELECT seq, hash FROM signoffs ORDER BY seq DESC LIMIT 1")
                row = last.fetchone()
                seq_row = db.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'signoffs'"
                ).fetchone()
                seq = (seq_row[0] if seq_row else 0) + 1
                fields: dict[str, object] = {
                    "seq": seq,
                    "audit_id": audit_id,
                    "manifest_sha256": manifest_sha256,
                    "reviewer": reviewer.strip(),
                    "role": role.strip(),
                    "decision": decision,
                    "conditions": conditions.strip(),
                    "expiry": expiry,
                    "comment": comment.strip(),
                    "revokes": revokes,
                    "timestamp": when,
                    "prev_hash": row[1] if row else GENESIS,
                }
                fields["hash"] = _digest(fields)
                db.execute(
                    f"INSERT INTO signoffs ({', '.join(_FIELDS)}) "
                    f"VALUES ({', '.join('?' * len(_FIELDS))})",
                    [fields[k] for k in _FIELDS],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return Signoff(**fields)  # type: ignore[arg-type]

    def records(self, audit_id: str | None = None) -> list[Signoff]:
        """Every record (of one audit), oldest first."""
        query = f"SELECT {', '.join(_FIELDS)} FROM signoffs"
        args: tuple[str, ...] = ()
        if audit_id is not None:
            query += " WHERE audit_id = ?"
            args = (audit_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY seq", args).fetchall()
        return [Signoff(*row) for row in rows]

    def verify(self) -> list[str]:
        """What is wrong with the chain (empty: no record was edited, deleted or reordered)."""
        problems = []
        previous = GENESIS
        expected_seq = 1
        for r in self.records():
            if r.seq != expected_seq:
                problems.append(
                    f"records {expected_seq}–{r.seq - 1} are missing (deleted): the sequence "
                    f"jumps to {r.seq}."
                )
            if r.prev_hash != previous:
                problems.append(
                    f"record {r.seq} does not follow the record before it (its previous hash "
                    f"{r.prev_hash[:12]}… is not {previous[:12]}…)."
                )
            if r.expected_hash() != r.hash:
                problems.append(
                    f"record {r.seq} was edited: its content no longer matches its hash."
                )
            previous, expected_seq = r.hash, r.seq + 1
        with self._connect() as db:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'signoffs'").fetchone()
        issued = row[0] if row else 0
        if issued >= expected_seq:
            problems.append(
                f"records {expected_seq}–{issued} are missing (deleted from the end): "
                f"{issued} were recorded."
            )
        return problems
