"""Shared fixtures: small predictions tables whose numbers are easy to derive by hand, and
the command line run as a real subprocess."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from _tables import CELLS, N_ROWS, frame_from_cells, make_predictions, run_cli

#: ``fairtrail_cli("run", "audit.toml", cwd=folder)``: the CLI in a fresh process.
CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fairtrail_cli() -> CLI:
    """Run ``python -m fairtrail ARGS`` in ``cwd`` with a minimal environment."""
    return run_cli


@pytest.fixture
def predictions() -> pd.DataFrame:
    """400 rows, two sexes, three races, a score; every group large and both classes present."""
    return make_predictions()


@pytest.fixture(scope="session")
def cells_frame() -> pd.DataFrame:
    """The rows of the hand-chosen cell table ``_tables.CELLS`` (g × h), shuffled."""
    df = frame_from_cells(CELLS)
    assert len(df) == N_ROWS
    return df


# --- a throwaway PostgreSQL server (the sign-off store's second backend) ----------------------

_NO_POSTGRES = (
    "The PostgreSQL tests need the PostgreSQL server binaries (initdb, postgres), found with "
    "`pg_config --bindir` or in /usr/lib/postgresql/*/bin. `make check` installs them "
    "(apt-get install postgresql); here: {found}."
)


def _postgres_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres`` (the newest installed version)."""
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    number = re.compile(r"\d+")
    candidates += sorted(versions, key=lambda p: [int(n) for n in number.findall(p.parent.name)],
                         reverse=True)  # fmt: skip
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    found = f"none in {', '.join(map(str, candidates))}" if candidates else "none at all"
    pytest.fail(_NO_POSTGRES.format(found=found), pytrace=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session; the URL of its empty database.

    ``initdb`` into a fresh folder, then ``postgres`` listening only on a unix socket in that
    folder (no TCP port), with durability off for speed; stopped and deleted at the end. As
    root, both run as the ``postgres`` user (the server refuses to run as root). The URL's
    user, ``postgres``, is the server's superuser (trust authentication).
    """
    import psycopg

    bindir = _postgres_bindir()
    as_user: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="fairtrail-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("Running as root, the PostgreSQL tests need a 'postgres' user "
                        "(apt-get install postgresql creates it).", pytrace=False)  # fmt: skip
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    data = root / "data"
    init = subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        capture_output=True, text=True, cwd=root, **as_user,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}{init.stderr}", pytrace=False)
    log = root / "server.log"
    settings = {"listen_addresses": "", "unix_socket_directories": str(root), "fsync": "off",
                "synchronous_commit": "off", "full_page_writes": "off",
                "shared_buffers": "16MB", "max_connections": "60"}  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            [bindir / "postgres", "-D", data, *(f"-c{k}={v}" for k, v in settings.items())],
            stdout=out, stderr=subprocess.STDOUT, cwd=root, **as_user,
        )  # fmt: skip
    admin_url = f"postgresql://postgres@/postgres?host={root}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin_url, autocommit=True) as db:
                    db.execute("CREATE DATABASE fairtrail")
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"PostgreSQL did not start:\n{log.read_text()}", pytrace=False)
                time.sleep(0.05)
        yield f"postgresql://postgres@/fairtrail?host={root}"
    finally:
        server.send_signal(signal.SIGINT)  # "fast" shutdown: end sessions, checkpoint, exit
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (dropped afterwards)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(postgres_url)
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://{params['user']}@/{name}?host={params['host']}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def german_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's German Credit bundle with lineage and a mitigation sweep (seed 0), built
    once per session. Read-only: copy it (``shutil.copytree``) before writing into it."""
    from fairtrail.demo import run_demo

    out = tmp_path_factory.mktemp("german") / "german"
    run_demo("german", out, seed=0, mitigate=True)
    return out


@pytest.fixture(scope="session")
def review_bundles(tmp_path_factory: pytest.TempPathFactory, german_bundle: Path) -> Path:
    """A folder of two real bundles for the review app: German Credit with lineage and a
    mitigation sweep ("german"), and a re-audit with another seed and no sweep
    ("german-reaudit", written second, so newest). Read-only: copy before altering."""
    import shutil

    from fairtrail.demo import run_demo

    folder = tmp_path_factory.mktemp("review-bundles")
    shutil.copytree(german_bundle, folder / "german")
    run_demo("german", folder / "german-reaudit", seed=1, mitigate=False)
    return folder
