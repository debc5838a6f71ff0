"""The sign-off store in PostgreSQL: what only PostgreSQL has (URLs and passwords, connection
errors, TRUNCATE, sequences, roles, locks), and that both backends hash the same records alike.

The contract shared with SQLite is in test_signoff.py, run against both backends.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from fairtrail.signoff import _TABLE_LOCK, SignoffError, SignoffStore, _mask_url

DIGEST = "ab" * 32
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://ada:s3cret@db.example.org:5432/fairtrail",
         "postgresql://ada:***@db.example.org:5432/fairtrail"),
        ("postgres://ada:p%40ss%3Aword@db/fairtrail?sslmode=require",
         "postgres://ada:***@db/fairtrail?sslmode=require"),
        ("postgresql://ada@db/fairtrail?sslmode=require&password=s3cret&application_name=x",
         "postgresql://ada@db/fairtrail?sslmode=require&password=***&application_name=x"),
        ("postgresql://ada:a@b@h1:5432,h2:5433/fairtrail",
         "postgresql://ada:***@h1:5432,h2:5433/fairtrail"),
        ("postgresql:///fairtrail?host=/run/postgresql", "postgresql:///fairtrail?host=/run/postgresql"),
        ("postgresql://ada@db", "postgresql://ada@db"),
    ],
)  # fmt: skip
def test_the_location_never_shows_a_password(url: str, masked: str) -> None:
    assert _mask_url(url) == masked


def test_a_store_says_where_it_is_without_the_password(fresh_postgres_url: str) -> None:
    params = conninfo_to_dict(fresh_postgres_url)
    url = f"postgresql://{params['user']}:s3cret@/{params['dbname']}?host={params['host']}"
    store = SignoffStore(url)  # trust authentication: the password is not checked
    assert store.location == f"postgresql://postgres:***@/{params['dbname']}?host={params['host']}"
    assert "s3cret" not in repr(store)
    assert store.path is None


def test_an_unreachable_server_is_one_readable_line() -> None:
    port = closed_port()
    with pytest.raises(SignoffError) as caught:
        SignoffStore(f"postgresql://ada:s3cret@127.0.0.1:{port}/fairtrail")
    message = str(caught.value)
    assert message.startswith(
        f"Cannot connect to the sign-off database postgresql://ada:***@127.0.0.1:{port}/fairtrail:"
    )
    assert "Connection refused" in message
    assert "s3cret" not in message
    assert "\n" not in message
    assert caught.value.__suppress_context__  # no chained psycopg error (and its URL) to print


def test_a_missing_database_is_named(postgres_url: str) -> None:
    params = conninfo_to_dict(postgres_url)
    with pytest.raises(SignoffError, match='database "nowhere" does not exist') as caught:
        SignoffStore(f"postgresql://postgres:s3cret@/nowhere?host={params['host']}")
    assert "postgresql://postgres:***@/nowhere" in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://ada:s3cret@[::1/fairtrail",
         r'The sign-off database URL postgresql://ada:\*\*\*@\[::1/fairtrail is not valid: end of '
         r'string reached when looking for matching "\]"'),
        ("postgresql://ada:s3cret@127.0.0.1:notaport/fairtrail",
         r'invalid integer value "notaport" for connection option "port"'),
        ("postgresql://ada:s3cret@127.0.0.1/fairtrail?colour=blue",
         'invalid URI query parameter: "colour"'),
        ("mysql://ada:s3cret@db/fairtrail",
         r"a SQLite file \(a path\) or a PostgreSQL database \(a postgresql:// URL\). Got a "
         r"mysql:// URL: mysql://ada:\*\*\*@db/fairtrail\."),
    ],
)  # fmt: skip
def test_a_bad_url_is_one_readable_line(url: str, message: str) -> None:
    with pytest.raises(SignoffError, match=message) as caught:
        SignoffStore(url)
    assert "s3cret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    with pytest.raises(
        SignoffError,
        match=r'need psycopg 3, which is not installed: pip install "fairtrail\[postgres\]"',
    ):
        SignoffStore("postgresql://ada:s3cret@db/fairtrail")


def test_sqlite_never_imports_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from fairtrail.signoff import SignoffStore\n"
        f"store = SignoffStore({str(tmp_path / 's.db')!r})\n"
        f"store.record('a', {DIGEST!r}, reviewer='Ada', role='chair', decision='approve')\n"
        "assert store.verify() == [] and len(store.records()) == 1\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_both_backends_store_and_hash_the_same_records(
    tmp_path: Path, fresh_postgres_url: str
) -> None:
    stores = [SignoffStore(tmp_path / "s.db"), SignoffStore(fresh_postgres_url)]
    for store in stores:
        store.record(
            "credit-2026",
            DIGEST,
            reviewer=" Zoë Ødegård ",
            role="chair",
            decision="approve_with_conditions",
            conditions="re-audit in Q3 — ≤ 5 %",
            expiry="2027-03-31",
            comment='日本語 ✓ "quoted" \\ back',
            now=NOW,
        )
        store.record(
            "credit-2026",
            DIGEST,
            reviewer="Ben",
            role="risk",
            decision="reject",
            now=datetime(2026, 11, 25, 12, 30, 15, 999, tzinfo=UTC),
        )
        store.record("credit-2026", DIGEST, reviewer="Ada", role="chair", decision="revoke",
                     revokes=1, now=NOW)  # fmt: skip
    in_sqlite, in_postgres = (store.records() for store in stores)
    assert in_sqlite == in_postgres
    assert [type(v) for v in in_postgres[2].__dict__.values()] == [
        type(v) for v in in_sqlite[2].__dict__.values()
    ]
    assert in_postgres[0].reviewer == "Zoë Ødegård"
    assert all(store.verify() == [] for store in stores)


def test_truncate_is_refused_and_caught(fresh_postgres_url: str) -> None:
    store = SignoffStore(fresh_postgres_url)
    for i in range(3):
        store.record("a", DIGEST, reviewer=f"r{i}", role="r", decision="approve")
    with psycopg.connect(fresh_postgres_url, autocommit=True) as db:
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            db.execute("TRUNCATE signoffs")
        db.execute("ALTER TABLE signoffs DISABLE TRIGGER USER")
        db.execute("TRUNCATE signoffs")
    assert store.verify() == ["records 1–3 are missing (deleted from the end): 3 were recorded."]


def test_numbers_are_never_handed_out_twice(fresh_postgres_url: str) -> None:
    store = SignoffStore(fresh_postgres_url)
    for i in range(4):
        store.record("a", DIGEST, reviewer=f"r{i}", role="r", decision="approve")
    with psycopg.connect(fresh_postgres_url, autocommit=True) as db:
        db.execute("SET session_replication_role = replica")
        db.execute("DELETE FROM signoffs WHERE seq >= 3")
    assert store.record("a", DIGEST, reviewer="r", role="r", decision="approve").seq == 5
    assert store.verify() == ["records 3–4 are missing (deleted): the sequence jumps to 5."]


def test_a_role_that_may_only_read_and_insert_can_sign_off(fresh_postgres_url: str) -> None:
    params = conninfo_to_dict(fresh_postgres_url)
    role = f"reviewer_{params['dbname']}"
    as_reviewer = f"postgresql://{role}@/{params['dbname']}?host={params['host']}"
    with psycopg.connect(fresh_postgres_url, autocommit=True) as db:
        db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        with pytest.raises(SignoffError, match="permission denied for schema public"):
            SignoffStore(as_reviewer)  # may not create the table
        SignoffStore(fresh_postgres_url)  # the owner does
        with psycopg.connect(fresh_postgres_url, autocommit=True) as db:
            db.execute(f"GRANT SELECT, INSERT ON signoffs TO {role}")
            db.execute(f"GRANT USAGE ON SEQUENCE signoffs_seq_seq TO {role}")
        reviewer = SignoffStore(as_reviewer)
        assert (
            reviewer.record("a", DIGEST, reviewer="Ada", role="chair", decision="approve").seq == 1
        )
        assert reviewer.verify() == []
    finally:
        with psycopg.connect(fresh_postgres_url, autocommit=True) as db:
            db.execute(f"DROP OWNED BY {role}")
            db.execute(f"DROP ROLE {role}")


def test_checking_waits_for_a_writer_in_flight_and_sees_its_lost_number(
    fresh_postgres_url: str,
) -> None:
    store = SignoffStore(fresh_postgres_url)
    store.record("a", DIGEST, reviewer="Ada", role="chair", decision="approve")
    results: list[list[str]] = []
    with psycopg.connect(fresh_postgres_url) as writer:
        # A writer that holds the lock and has taken its number, but not yet committed.
        writer.execute(f"SELECT pg_advisory_xact_lock({_TABLE_LOCK})")
        writer.execute("SELECT nextval(pg_get_serial_sequence('signoffs', 'seq'))")
        checker = threading.Thread(target=lambda: results.append(store.verify()))
        checker.start()
        time.sleep(0.5)
        assert results == []  # still waiting
        writer.rollback()  # the writer dies: its number is lost
    checker.join(10)
    assert results == [["records 2–2 are missing (deleted from the end): 2 were recorded."]]


def test_stores_opened_at_once_create_the_table_once(fresh_postgres_url: str) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        stores = list(pool.map(lambda _: SignoffStore(fresh_postgres_url), range(8)))
    for i, store in enumerate(stores):
        store.record("a", DIGEST, reviewer=f"r{i}", role="r", decision="approve")
    assert [r.seq for r in stores[0].records()] == list(range(1, 9))
    assert stores[-1].verify() == []


def test_a_database_that_refuses_connections_is_a_readable_error(
    fresh_postgres_url: str, postgres_url: str
) -> None:
    store = SignoffStore(fresh_postgres_url)
    name = conninfo_to_dict(fresh_postgres_url)["dbname"]
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    with pytest.raises(SignoffError) as caught:
        store.records()
    assert str(caught.value) == (
        f"Cannot connect to the sign-off database {fresh_postgres_url}: connection to server on "
        f'socket "{conninfo_to_dict(fresh_postgres_url)["host"]}/.s.PGSQL.5432" failed: FATAL: '
        f'database "{name}" is not currently accepting connections'
    )
