"""The sign-off store: append-only, hash-chained decisions on bundles, in SQLite or PostgreSQL.

Each record holds a reviewer's decision on one bundle (identified by its audit id and the
sha256 of its manifest, so a decision names exactly the files it was made on), and the hash of
the record before it. A record's ``hash`` is the sha256 of its canonical JSON (every field but
the hash, the sequence number and the previous hash included), so:

- **editing** a record changes its hash, which no longer matches, and breaks the next link;
- **deleting** a record breaks the link of the one after it; deleting the *last* records is
  caught by the database's counter of numbers handed out, which deletions do not lower;
- **reordering** changes the sequence numbers inside the hashes.

Revoking a decision is a new record (``decision="revoke"``, ``revokes=<seq>``); the database
refuses to change or remove records.

Which decision stands
---------------------
:func:`decision_status` (or :meth:`SignoffStore.decision_status`) judges an audit's records
for one bundle, identified by its manifest's sha256, and returns a :class:`DecisionStatus`:
its :class:`DecisionState`, the record that decides it, and every record with what the rules
made of it. The report and the review app only word it.

Where records live
------------------
``SignoffStore(path)`` keeps them in a SQLite file (the default). Writers take the database
lock with ``BEGIN IMMEDIATE`` (WAL journal), so concurrent writers queue and none is lost;
triggers refuse ``UPDATE`` and ``DELETE``; the ``AUTOINCREMENT`` counter (``sqlite_sequence``)
is the count of numbers handed out.

``SignoffStore("postgresql://user:password@host/db")`` (or ``postgres://``) keeps them in
PostgreSQL, through psycopg 3 (``pip install "fairtrail[postgres]"``; imported only for a
URL). The same records hash identically in both: validation, hashing and checking are shared,
only the SQL differs.

- The ``signoffs`` table is created if missing, in the first schema of the connection's
  ``search_path``; ``seq`` is a ``GENERATED ALWAYS AS IDENTITY`` column, whose sequence never
  hands a number out twice and is the count of numbers handed out.
- plpgsql triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` (SQLite has no
  ``TRUNCATE``), with the same message (SQLSTATE 23000, integrity constraint violation).
- Writers queue on a transaction-level advisory lock rather than ``LOCK TABLE``, so a role
  granted only ``SELECT, INSERT`` on the table (and ``USAGE`` on its sequence) can sign off.
  Checking takes the same lock in shared mode, so it never mistakes a number being written
  for a deleted record. A writer takes its number only after every check has passed, so a
  refused sign-off leaves no gap; a writer cut off between taking its number and committing
  (a lost connection, a killed process) does leave one, which ``verify`` reports as a
  deletion: the error is on the side of suspicion.
- A connection that cannot be made, or an operation the server refuses, is a
  :class:`SignoffError` naming the database (its password masked) and the server's reason.

What this does not do: someone who can rewrite the whole file, or who owns the database and
resets the sequence, can rebuild a consistent chain. Anchoring the head hash elsewhere (the
report prints it) is what makes that visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DECISIONS",
    "GENESIS",
    "DecisionRecord",
    "DecisionState",
    "DecisionStatus",
    "Signoff",
    "SignoffError",
    "SignoffStore",
    "decision_status",
]

#: What a reviewer may decide (``revoke`` withdraws an earlier record).
DECISIONS = ("approve", "approve_with_conditions", "reject", "revoke")
#: The "previous hash" of the first record.
GENESIS = "0" * 64

_APPEND_ONLY = "sign-off records are append-only: record a revocation instead"
_SQLITE_SCHEMA = f"""
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
BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END;
CREATE TRIGGER IF NOT EXISTS signoffs_no_delete BEFORE DELETE ON signoffs
BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END;
"""
_POSTGRES_SCHEMA = (
    """CREATE TABLE signoffs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit_id TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    role TEXT NOT NULL,
    decision TEXT NOT NULL,
    conditions TEXT NOT NULL,
    expiry TEXT NOT NULL,
    comment TEXT NOT NULL,
    revokes BIGINT,
    timestamp TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)""",
    f"""CREATE OR REPLACE FUNCTION signoffs_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
END
$$""",
    *(
        f"CREATE TRIGGER signoffs_no_{event.lower()} BEFORE {event} ON signoffs "
        "FOR EACH STATEMENT EXECUTE FUNCTION signoffs_append_only()"
        for event in ("UPDATE", "DELETE", "TRUNCATE")
    ),
)
#: First key of the PostgreSQL advisory locks ("SIGN"); the second is the table's oid
#: (0 while creating the table), so stores in different schemas do not wait for each other.
_LOCK_NAMESPACE = 0x5349474E
_TABLE_LOCK = f"{_LOCK_NAMESPACE}, 'signoffs'::regclass::oid::int"
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
_MAX_SEQ = 2**63 - 1  # PostgreSQL BIGINT, SQLite INTEGER


class SignoffError(ValueError):
    """A sign-off that cannot be recorded, or a store that cannot be reached.

    The message names the field and what was expected, or the database (password masked) and
    the reason.
    """


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


# --- the parts that differ between databases -------------------------------------------------

#: Run one statement with parameters; the rows it returns (none for an INSERT).
_Query = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class _Statements:
    """The SQL of one database, with parameters in its driver's style."""

    all_rows: str
    rows_of_audit: str
    audit_of: str  # the audit id of record ?
    head: str  # the hash of the last record
    next_seq: str  # the number of the record being written (taken last: it may not roll back)
    issued: str  # the highest number ever handed out (no row or NULL: none)
    insert: str

    @classmethod
    def build(cls, mark: str, *, next_seq: str, issued: str, overriding: str) -> _Statements:
        select = f"SELECT {', '.join(_FIELDS)} FROM signoffs"
        return cls(
            all_rows=f"{select} ORDER BY seq",
            rows_of_audit=f"{select} WHERE audit_id = {mark} ORDER BY seq",
            audit_of=f"SELECT audit_id FROM signoffs WHERE seq = {mark}",
            head="SELECT hash FROM signoffs ORDER BY seq DESC LIMIT 1",
            next_seq=next_seq,
            issued=issued,
            insert=f"INSERT INTO signoffs ({', '.join(_FIELDS)}) {overriding}"
            f"VALUES ({', '.join([mark] * len(_FIELDS))})",
        )


class _Backend(Protocol):
    location: str
    path: Path | None
    sql: _Statements

    def writing(self) -> AbstractContextManager[_Query]:
        """A transaction that holds the writers' lock: one writer at a time."""

    def reading(self, *, settled: bool = False) -> AbstractContextManager[_Query]:
        """Reads; ``settled``: one snapshot, taken after writers in flight have finished."""


class _SQLite:
    sql = _Statements.build(
        "?",
        next_seq="SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'signoffs'",
        issued="SELECT seq FROM sqlite_sequence WHERE name = 'signoffs'",
        overriding="",
    )

    def __init__(self, path: Path) -> None:
        self.path: Path | None = path
        self.location = str(path)
        self._file = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SQLITE_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._file, timeout=60, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[_Query]:
        with self._connect() as db:
            db.execute(begin)
            try:
                yield lambda sql, args: db.execute(sql, args).fetchall()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def writing(self) -> AbstractContextManager[_Query]:
        return self._transaction("BEGIN IMMEDIATE")  # the chain stays linear

    def reading(self, *, settled: bool = False) -> AbstractContextManager[_Query]:
        # In WAL mode a read transaction sees one snapshot and never waits for writers:
        # a number is only handed out in the same transaction as its record.
        return self._transaction("BEGIN")


class _PostgreSQL:
    sql = _Statements.build(
        "%s",
        next_seq="SELECT nextval(pg_get_serial_sequence('signoffs', 'seq'))",
        issued="SELECT pg_sequence_last_value(pg_get_serial_sequence('signoffs', 'seq')::regclass)",
        overriding="OVERRIDING SYSTEM VALUE ",
    )

    def __init__(self, url: str) -> None:
        self.path: Path | None = None
        self.location = _mask_url(url)
        self._url = url
        self._secrets = _url_passwords(url)
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise SignoffError(
                f"Sign-offs in PostgreSQL ({self.location}) need psycopg 3, which is not "
                'installed: pip install "fairtrail[postgres]".'
            ) from None
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise SignoffError(
                f"The sign-off database URL {self.location} is not valid: {self._reason(exc)}"
            ) from None
        self._secrets |= {str(params.get("password") or "")} - {""}
        self._options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params and "PGCONNECT_TIMEOUT" not in os.environ:
            self._options["connect_timeout"] = 10  # libpq's default is to wait forever
        with self._connect() as db:
            if db.execute("SELECT to_regclass('signoffs')").fetchone() == (None,):
                self._create(db)

    def _create(self, db: psycopg.Connection[tuple[Any, ...]]) -> None:
        # A session lock, so that the check below runs in a transaction started after it.
        db.execute(f"SELECT pg_advisory_lock({_LOCK_NAMESPACE}, 0)")
        try:
            with db.transaction():
                if db.execute("SELECT to_regclass('signoffs')").fetchone() == (None,):
                    for statement in _POSTGRES_SCHEMA:
                        db.execute(statement)
        finally:
            db.execute(f"SELECT pg_advisory_unlock({_LOCK_NAMESPACE}, 0)")

    def _reason(self, exc: Exception) -> str:
        """The server's or libpq's message on one line, without the URL's password."""
        text = str(exc).replace(self._url, self.location)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        lines = (" ".join(line.split()) for line in text.splitlines())
        return (
            "; ".join(line for line in lines if line)
            .removeprefix("connection failed: ")
            .removeprefix("connection is bad: ")
        )

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        import psycopg

        try:
            db = psycopg.connect(self._url, **self._options)
        except psycopg.Error as exc:
            raise SignoffError(
                f"Cannot connect to the sign-off database {self.location}: {self._reason(exc)}"
            ) from None
        with db:
            try:
                yield db
            except psycopg.Error as exc:
                raise SignoffError(
                    f"The sign-off database {self.location} reported an error: {self._reason(exc)}"
                ) from None

    @contextmanager
    def _transaction(self, lock: str | None) -> Iterator[_Query]:
        import psycopg

        with self._connect() as db:
            # Read committed whatever the server's default: each statement after the lock
            # must see what the writers before us committed.
            db.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            with db.transaction():
                if lock is not None:
                    db.execute(f"SELECT {lock}({_TABLE_LOCK})")

                def query(sql: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
                    cursor = db.execute(sql, args)
                    return cursor.fetchall() if cursor.description is not None else []

                yield query

    def writing(self) -> AbstractContextManager[_Query]:
        return self._transaction("pg_advisory_xact_lock")

    def reading(self, *, settled: bool = False) -> AbstractContextManager[_Query]:
        # The sequence is not transactional: a writer's number is visible before its record
        # is. A settled read waits for writers in flight (and holds new ones back).
        return self._transaction("pg_advisory_xact_lock_shared" if settled else None)


_URL_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#]*)")


def _split_authority(url: str) -> tuple[str, str, str]:
    """``scheme://``, the authority (``user:password@hosts``) and the rest of a URL."""
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return scheme + "://", rest[:cut], rest[cut:]


def _url_passwords(url: str) -> set[str]:
    """The passwords written in a URL, as written and decoded."""
    _, authority, rest = _split_authority(url)
    found = {m.group(2) for m in _QUERY_PASSWORD.finditer(rest)}
    userinfo, at, _ = authority.rpartition("@")
    if at and ":" in userinfo:
        found.add(userinfo.partition(":")[2])
    return {p for raw in found for p in (raw, unquote(raw))} - {""}


def _mask_url(url: str) -> str:
    """The URL with any password replaced by ``***``.

    >>> _mask_url("postgresql://ada:s3cret@db.example.org/fairtrail?password=s3cret")
    'postgresql://ada:***@db.example.org/fairtrail?password=***'
    """
    scheme, authority, rest = _split_authority(url)
    userinfo, at, hosts = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:***@{hosts}"
    return scheme + authority + _QUERY_PASSWORD.sub(r"\1***", rest)


def _open(target: str | Path) -> _SQLite | _PostgreSQL:
    if isinstance(target, str) and (match := _URL_SCHEME.match(target)):
        if match["scheme"].lower() in ("postgresql", "postgres"):
            return _PostgreSQL(target)
        raise SignoffError(
            "A sign-off store is a SQLite file (a path) or a PostgreSQL database (a "
            f"postgresql:// URL). Got a {match['scheme']}:// URL: {_mask_url(target)}."
        )
    return _SQLite(Path(target))


def _check_text(name: str, value: object) -> None:
    """Text both databases store unchanged: a string, no NUL, no lone surrogate."""
    if not isinstance(value, str):
        raise SignoffError(
            f"The '{name}' of a sign-off must be a string. Got {type(value).__name__}."
        )
    if "\x00" in value:
        raise SignoffError(
            f"The '{name}' of a sign-off must not contain NUL characters. Got {value!r}."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SignoffError(
            f"The '{name}' of a sign-off must be valid Unicode text. Got {value!r}."
        ) from None


# --- the store: one implementation of validation, hashing and checking ------------------------


class SignoffStore:
    """Sign-off records in a SQLite file or a PostgreSQL database (created on first use).

    Parameters
    ----------
    target : str or path-like
        A file path (SQLite; missing folders are created), or a ``postgresql://`` or
        ``postgres://`` URL (libpq's syntax, e.g.
        ``postgresql://reviewer:secret@db.example.org:5432/fairtrail`` or
        ``postgresql:///fairtrail?host=/run/postgresql``). PostgreSQL needs psycopg 3
        (``pip install "fairtrail[postgres]"``); connections wait at most 10 s unless the URL
        sets ``connect_timeout``.

    Attributes
    ----------
    location : str
        Where the records live: the file, or the URL with its password masked (``***``).
    path : Path or None
        The SQLite file; ``None`` for PostgreSQL.

    Raises
    ------
    SignoffError
        A URL of another database; psycopg missing; an invalid URL; a server that cannot be
        reached or refuses the connection (the message names the database, never the
        password).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = SignoffStore(pathlib.Path(tempfile.mkdtemp()) / "signoffs.db")
    >>> first = store.record("a1", "f" * 64, reviewer="Ada", role="chair", decision="approve",
    ...                      now=datetime(2026, 11, 25, 10, tzinfo=UTC))
    >>> first.seq, first.prev_hash == GENESIS, store.verify()
    (1, True, [])
    >>> first.hash == first.expected_hash()
    True
    >>> store.location.endswith("signoffs.db")
    True
    """

    def __init__(self, target: str | Path) -> None:
        self._backend: _Backend = _open(target)
        self.path: Path | None = self._backend.path

    @property
    def location(self) -> str:
        """Where the records live: the file, or the URL with its password masked."""
        return self._backend.location

    def __repr__(self) -> str:
        return f"SignoffStore({self.location!r})"

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
            An empty reviewer, role or audit id; text that is not a string or holds a NUL
            character; a manifest digest that is not 64 hex characters; an unknown decision;
            conditions missing for ``approve_with_conditions``; a revocation that names no
            earlier record of the same audit; an expiry that is not a date (YYYY-MM-DD); a
            database that cannot be reached or refuses the write.
        """
        for name, value in (("audit_id", audit_id), ("reviewer", reviewer), ("role", role)):
            if not isinstance(value, str) or not value.strip():
                raise SignoffError(f"The '{name}' of a sign-off must be a non-empty string.")
        texts = {
            "audit_id": audit_id,
            "manifest_sha256": manifest_sha256,
            "reviewer": reviewer,
            "role": role,
            "conditions": conditions,
            "expiry": expiry,
            "comment": comment,
        }
        for name, value in texts.items():
            _check_text(name, value)
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
        bad_revokes = SignoffError(
            f"'revokes' must name an earlier sign-off of audit {audit_id!r}. Got {revokes!r}."
        )
        if revokes is not None and (
            not isinstance(revokes, int) or isinstance(revokes, bool) or not 0 < revokes <= _MAX_SEQ
        ):
            raise bad_revokes
        if expiry:
            try:
                datetime.strptime(expiry, "%Y-%m-%d")
            except ValueError:
                raise SignoffError(
                    f"The 'expiry' of a sign-off must be a date YYYY-MM-DD. Got {expiry!r}."
                ) from None
        content: dict[str, object] = {
            "audit_id": audit_id,
            "manifest_sha256": manifest_sha256,
            "reviewer": reviewer.strip(),
            "role": role.strip(),
            "decision": decision,
            "conditions": conditions.strip(),
            "expiry": expiry,
            "comment": comment.strip(),
            "revokes": revokes,
            "timestamp": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        }
        sql = self._backend.sql
        with self._backend.writing() as query:
            if revokes is not None and query(sql.audit_of, (revokes,)) != [(audit_id,)]:
                raise bad_revokes
            head = query(sql.head, ())
            # Last: PostgreSQL does not give a number back when the transaction rolls back.
            ((seq,),) = query(sql.next_seq, ())
            fields = {"seq": seq, **content, "prev_hash": head[0][0] if head else GENESIS}
            fields["hash"] = _digest(fields)
            query(sql.insert, [fields[k] for k in _FIELDS])
        return Signoff(**fields)

    def records(self, audit_id: str | None = None) -> list[Signoff]:
        """Every record (of one audit), oldest first."""
        sql = self._backend.sql
        with self._backend.reading() as query:
            if audit_id is None:
                rows = query(sql.all_rows, ())
            else:
                rows = query(sql.rows_of_audit, (audit_id,))
        return [Signoff(*row) for row in rows]

    def decision_status(
        self, audit_id: str, manifest_sha256: str, *, today: date | None = None
    ) -> DecisionStatus:
        """Which decision stands on a bundle: :func:`decision_status` of this audit's records.

        Parameters
        ----------
        audit_id : str
            The audit whose records are judged (a revocation names a record of its own audit).
        manifest_sha256 : str
            The sha256 of the bundle's manifest: only decisions on these files count.
        today : date, optional
            The date expiries are judged on; default today in UTC.

        Returns
        -------
        DecisionStatus

        Raises
        ------
        SignoffError
            The database cannot be reached or refuses the read.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = SignoffStore(pathlib.Path(tempfile.mkdtemp()) / "signoffs.db")
        >>> store.decision_status("a1", "f" * 64).state
        <DecisionState.AWAITING: 'awaiting'>
        >>> _ = store.record("a1", "f" * 64, reviewer="Ada", role="chair", decision="reject")
        >>> status = store.decision_status("a1", "f" * 64)
        >>> status.state, status.decided_by, status.standing.seq
        (<DecisionState.REJECTED: 'rejected'>, 'Ada', 1)
        """
        return decision_status(self.records(audit_id), manifest_sha256, today=today)

    def verify(self) -> list[str]:
        """What is wrong with the chain (empty: no record was edited, deleted or reordered)."""
        sql = self._backend.sql
        with self._backend.reading(settled=True) as query:
            records = [Signoff(*row) for row in query(sql.all_rows, ())]
            issued_row = query(sql.issued, ())
        problems = []
        previous = GENESIS
        expected_seq = 1
        for r in records:
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
        issued = issued_row[0][0] if issued_row and issued_row[0][0] is not None else 0
        if issued >= expected_seq:
            problems.append(
                f"records {expected_seq}–{issued} are missing (deleted from the end): "
                f"{issued} were recorded."
            )
        return problems


# --- which decision stands --------------------------------------------------------------------

#: Decisions that approve, and every decision that decides (a revocation only withdraws one).
_APPROVALS = ("approve", "approve_with_conditions")
_DECIDING = (*_APPROVALS, "reject")


class DecisionState(StrEnum):
    """Where the sign-off of one bundle stands.

    ``AWAITING``: no decision on the bundle's manifest stands (none was recorded, or each was
    revoked or made on other files). ``APPROVED``, ``APPROVED_WITH_CONDITIONS``, ``REJECTED``:
    the standing decision. ``EXPIRED``: the standing decision is an approval whose expiry date
    has passed (it does not fall back to an older approval).

    Examples
    --------
    >>> DecisionState("rejected") is DecisionState.REJECTED
    True
    """

    AWAITING = "awaiting"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REJECTED = "rejected"
    EXPIRED = "expired"


_STATE_OF = {
    "approve": DecisionState.APPROVED,
    "approve_with_conditions": DecisionState.APPROVED_WITH_CONDITIONS,
    "reject": DecisionState.REJECTED,
}


@dataclass(frozen=True)
class DecisionRecord:
    """One sign-off record as :func:`decision_status` judged it.

    The record's fields as recorded (text; a record of an older caller may lack ``seq``,
    ``manifest_sha256``, ``hash`` and ``prev_hash``: None or empty), then what the rules made
    of it.

    Attributes
    ----------
    seq : int or None
        The record's number in the store; None when not recorded (or not an integer).
    decision : str
        ``approve``, ``approve_with_conditions``, ``reject`` or ``revoke``.
    revokes : int or None
        The record this revocation withdraws; None for a decision.
    reviewer, role, conditions, expiry, timestamp, comment : str
        As recorded (``expiry`` YYYY-MM-DD or empty; ``timestamp`` ISO 8601).
    manifest_sha256 : str
        The manifest the decision was made on; empty when not recorded (taken as the bundle's).
    hash, prev_hash : str
        The record's hash and the previous record's; empty when not recorded.
    revoked_by : int or None
        The revocation (itself not revoked) that withdraws this record; None if none does.
    other_manifest : bool
        Made on another manifest: listed, never counted.
    expired : bool
        An approval whose expiry date is before the status's date.
    """

    seq: int | None
    decision: str
    revokes: int | None
    reviewer: str
    role: str
    conditions: str
    expiry: str
    timestamp: str
    comment: str
    manifest_sha256: str
    hash: str
    prev_hash: str
    revoked_by: int | None
    other_manifest: bool
    expired: bool


@dataclass(frozen=True)
class DecisionStatus:
    """Which sign-off decision stands on one bundle, and the records it was derived from.

    Built by :func:`decision_status`; frozen, no rules of its own beyond reading its fields.

    Attributes
    ----------
    state : DecisionState
        Awaiting, approved, approved with conditions, rejected, or expired.
    manifest_sha256 : str
        The sha256 of the bundle's manifest the records were judged for.
    as_of : date
        The date expiries were judged on.
    standing : DecisionRecord or None
        The record that decides ``state`` (for ``EXPIRED``, the approval that expired); None
        when awaiting.
    records : tuple of DecisionRecord
        Every record judged, oldest first (those on other files and revocations included).
    """

    state: DecisionState
    manifest_sha256: str
    as_of: date
    standing: DecisionRecord | None
    records: tuple[DecisionRecord, ...]

    @property
    def decision(self) -> str | None:
        """The standing decision (``approve``, …); None when none stands or it expired."""
        if self.standing is None or self.state is DecisionState.EXPIRED:
            return None
        return self.standing.decision

    @property
    def decided_by(self) -> str | None:
        """Who made the standing decision (its reviewer); None when awaiting."""
        return None if self.standing is None else self.standing.reviewer

    @property
    def decided_at(self) -> str | None:
        """When the standing decision was recorded (ISO 8601, as recorded); None when awaiting."""
        return None if self.standing is None else self.standing.timestamp

    @property
    def decided_on(self) -> str | None:
        """The manifest the standing decision was made on; None when awaiting.

        An older record without one is taken as made on the bundle's.
        """
        if self.standing is None:
            return None
        return self.standing.manifest_sha256 or self.manifest_sha256

    @property
    def revocable(self) -> tuple[int, ...]:
        """The numbers of the decisions not revoked: a reviewer may still revoke them.

        Decisions made on other files, and approvals that expired, included.
        """
        return tuple(
            r.seq
            for r in self.records
            if r.seq is not None and r.decision in _DECIDING and r.revoked_by is None
        )


def _number(value: object) -> int | None:
    """A record number, or None for anything that is not an integer (``True`` is not)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def decision_status(
    records: Iterable[Signoff | Mapping[str, Any]],
    manifest_sha256: str,
    *,
    today: date | None = None,
) -> DecisionStatus:
    """Judge an audit's sign-off records for one bundle: which decision stands.

    The standing decision is the newest record that

    - is a decision (``approve``, ``approve_with_conditions`` or ``reject``), not a revocation;
    - is not revoked (by a revocation that is not itself revoked);
    - was made on this bundle: its ``manifest_sha256`` is the bundle's (a record without one,
      from a caller that predates the chain, is taken as made on this bundle).

    A revocation withdraws the record it names whatever manifest it was made on; revoking a
    revocation reinstates the record that one withdrew. An approval whose expiry date is
    before ``today`` has expired (an expiry date is the last day the approval holds): the state
    is then ``EXPIRED``, with no falling back to an older approval. No standing decision:
    ``AWAITING``. The records are taken as read: a chain that :meth:`SignoffStore.verify`
    finds broken does not change what stands (the report and the app print its problems beside
    the status).

    Parameters
    ----------
    records : iterable of Signoff or mapping
        The audit's records, oldest first: :class:`Signoff` objects, or mappings of their
        fields (``dataclasses.asdict``), where ``seq``, ``hash``, ``prev_hash``, ``revokes``
        and ``manifest_sha256`` may be missing.
    manifest_sha256 : str
        The sha256 of the bundle's manifest.
    today : date, optional
        The date expiries are judged on; default today in UTC.

    Returns
    -------
    DecisionStatus

    Examples
    --------
    >>> mine, theirs = "a" * 64, "b" * 64
    >>> records = [
    ...     {"seq": 1, "decision": "approve", "reviewer": "Ada", "manifest_sha256": mine},
    ...     {"seq": 2, "decision": "revoke", "revokes": 1, "reviewer": "Ada",
    ...      "manifest_sha256": mine},
    ...     {"seq": 3, "decision": "approve", "reviewer": "Bo", "manifest_sha256": theirs},
    ...     {"seq": 4, "decision": "reject", "reviewer": "Cy", "manifest_sha256": mine},
    ... ]
    >>> status = decision_status(records, mine, today=date(2026, 12, 1))
    >>> status.state, status.decided_by, status.decision
    (<DecisionState.REJECTED: 'rejected'>, 'Cy', 'reject')
    >>> [(r.seq, r.revoked_by, r.other_manifest) for r in status.records]
    [(1, 2, False), (2, None, False), (3, None, True), (4, None, False)]
    >>> decision_status(records[:3], mine).state
    <DecisionState.AWAITING: 'awaiting'>
    >>> lapsed = [{"seq": 1, "decision": "approve", "expiry": "2026-11-30"}]
    >>> decision_status(lapsed, mine, today=date(2026, 12, 1)).state
    <DecisionState.EXPIRED: 'expired'>
    """
    today = today or datetime.now(UTC).date()
    plain = [asdict(r) if isinstance(r, Signoff) else r for r in records]
    by_seq = {s: r for r in plain if (s := _number(r.get("seq"))) is not None}
    # Newest first, so every record that could revoke a record is settled before it.
    revoked_by: dict[int, int] = {}
    for number in sorted(by_seq, reverse=True):
        r = by_seq[number]
        target = _number(r.get("revokes"))
        if r.get("decision") == "revoke" and number not in revoked_by and target is not None:
            revoked_by.setdefault(target, number)

    judged = []
    standing = None  # the newest decision that counts
    for r in plain:
        seq = _number(r.get("seq"))
        decision = str(r.get("decision", ""))
        made_on = str(r.get("manifest_sha256") or "")
        expiry = str(r.get("expiry") or "")
        ends = _day(expiry)
        record = DecisionRecord(
            seq=seq,
            decision=decision,
            revokes=_number(r.get("revokes")) if decision == "revoke" else None,
            reviewer=str(r.get("reviewer", "")),
            role=str(r.get("role", "")),
            conditions=str(r.get("conditions") or ""),
            expiry=expiry,
            timestamp=str(r.get("timestamp", "")),
            comment=str(r.get("comment") or ""),
            manifest_sha256=made_on,
            hash=str(r.get("hash") or ""),
            prev_hash=str(r.get("prev_hash") or ""),
            revoked_by=revoked_by.get(seq) if seq is not None else None,
            other_manifest=bool(made_on) and made_on != manifest_sha256,
            expired=decision in _APPROVALS and ends is not None and ends < today,
        )
        judged.append(record)
        if decision in _DECIDING and record.revoked_by is None and not record.other_manifest:
            standing = record

    if standing is None:
        state = DecisionState.AWAITING
    elif standing.expired:
        state = DecisionState.EXPIRED
    else:
        state = _STATE_OF[standing.decision]
    return DecisionStatus(
        state=state,
        manifest_sha256=manifest_sha256,
        as_of=today,
        standing=standing,
        records=tuple(judged),
    )
