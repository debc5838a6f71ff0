"""``fairtrail signoff``: check and list the sign-off store (a SQLite file or PostgreSQL).

Registered on the main command group in :mod:`fairtrail.cli`. A PostgreSQL URL may come
from ``$FAIRTRAIL_SIGNOFF_DATABASE`` instead of the command line, where ``ps`` would show
its password.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.text import Text

from fairtrail._terminal import visible

if TYPE_CHECKING:
    from fairtrail.signoff import SignoffStore

__all__ = ["signoff"]

_DATABASE = click.argument("database", envvar="FAIRTRAIL_SIGNOFF_DATABASE")


def _store(database: str) -> SignoffStore:
    """The store at DATABASE (an existing SQLite file or a postgresql:// URL), or exit 2."""
    from fairtrail._cli_common import fail as _fail
    from fairtrail.signoff import SignoffError, SignoffStore

    if "://" not in database and not Path(database).is_file():
        _fail(
            f"The sign-off database '{database}' is not a file. Give a SQLite file or a "
            "postgresql:// URL."
        )
    try:
        return SignoffStore(database)
    except SignoffError as exc:
        _fail(str(exc))


@click.group()
def signoff() -> None:
    """The sign-off store: append-only, hash-chained decisions on bundles."""


@signoff.command("verify")
@_DATABASE
def signoff_verify(database: str) -> None:
    """Check that no record of a sign-off DATABASE was edited, deleted or reordered.

    DATABASE is a SQLite file or a postgresql:// URL. Exits 0 when the chain holds, 1 when
    it does not (each problem is printed), 2 when the database cannot be read.
    """
    from fairtrail._cli_common import EXIT_FAIL
    from fairtrail._cli_common import console as _console
    from fairtrail._cli_common import fail as _fail
    from fairtrail.signoff import SignoffError

    store = _store(database)
    try:
        problems = store.verify()
        records = store.records()
    except SignoffError as exc:
        _fail(str(exc))
    console = _console()
    for p in problems:
        console.print(Text.assemble(("✗", "bold red"), " ", visible(p)), soft_wrap=True)
    if problems:
        sys.exit(EXIT_FAIL)
    head = records[-1].hash if records else "(empty)"
    console.print(
        Text.assemble(("✓", "bold"), f" {len(records)} records, chain intact; head {visible(head)}")
    )


@signoff.command("list")
@_DATABASE
@click.option("--audit", "audit_id", default=None, help="Only this audit's records.")
def signoff_list(database: str, audit_id: str | None) -> None:
    """List the records of a sign-off DATABASE (SQLite file or postgresql:// URL), oldest first.

    Exits 2 when the database cannot be read.
    """
    from rich.table import Table

    from fairtrail._cli_common import console as _console
    from fairtrail._cli_common import fail as _fail
    from fairtrail.signoff import SignoffError

    try:
        records = _store(database).records(audit_id)
    except SignoffError as exc:
        _fail(str(exc))
    table = Table("seq", "time", "audit", "reviewer", "role", "decision", "conditions", "hash")
    for r in records:
        decision = r.decision + (f" #{r.revokes}" if r.revokes is not None else "")
        # Every cell may hold what someone typed or a database row: Text, escaped, no markup.
        table.add_row(
            *(
                Text(visible(cell), overflow="fold")
                for cell in (
                    str(r.seq), r.timestamp, r.audit_id, r.reviewer, r.role, decision,
                    r.conditions, r.hash[:12],
                )
            )
        )  # fmt: skip
    _console().print(table)
