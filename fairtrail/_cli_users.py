"""``fairtrail users``: the local reviewers who may sign in to the review app.

Registered on the main command group in :mod:`fairtrail.cli`. Errors print one line on
standard error and exit 2, like every other ``fairtrail`` command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.text import Text

from fairtrail._cli_common import console as _console
from fairtrail._cli_common import fail as _fail
from fairtrail._terminal import plain, visible
from fairtrail.identity import IdentityError, add_user, default_users_path, load_users

__all__ = ["users"]

_FILE_OPTION = click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Users file (default: $FAIRTRAIL_USERS, else ~/.config/fairtrail/users.toml).",
)


def _fail_os(exc: OSError) -> NoReturn:
    _fail(f"{exc.strerror or exc}: {exc.filename}")


@click.group()
def users() -> None:
    """The local reviewers who may sign in to the review app (salted scrypt hashes)."""


@users.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", required=True, help='What they sign as, e.g. "chair".')
@_FILE_OPTION
@click.option("--viewer-only", is_flag=True, help="May sign in and view, but not sign off.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def users_add(
    username: str, name: str, role: str, path: Path | None, viewer_only: bool, password_stdin: bool
) -> None:
    """Add USERNAME to the users file, or replace that user's entry.

    Asks for the password twice (not echoed) unless --password-stdin is given.
    """
    path = path or default_users_path()
    try:
        existed = path.exists() and username in load_users(path).local
    except IdentityError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail_os(exc)
    if password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            _fail("--password-stdin found no password on the first line of standard input.")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(path, username, password, name=name, role=role, may_sign=not viewer_only)
    except IdentityError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail_os(exc)
    click.echo(
        visible(
            f"{'Updated' if existed else 'Added'} user '{username}' in {path} "
            f"({'viewer only' if viewer_only else 'may sign'})."
        )
    )


@users.command("list")
@_FILE_OPTION
def users_list(path: Path | None) -> None:
    """List the users of the users file (never their password hashes)."""
    from rich.table import Table

    path = path or default_users_path()
    try:
        directory = load_users(path)
    except IdentityError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail_os(exc)
    console = _console()
    if not directory.local and not directory.oidc_reviewers:
        console.print(plain(f"No users in {path}."), soft_wrap=True)
        return
    if directory.local:
        table = Table("username", "name", "role", "may sign", title=plain(str(path)))
        for username in sorted(directory.local):
            user = directory.local[username]
            table.add_row(
                _cell(username), _cell(user.name), _cell(user.role),
                "yes" if user.may_sign else "no",
            )  # fmt: skip
        console.print(table)
    if directory.oidc_reviewers:
        table = Table("e-mail (OIDC)", "role", "may sign")
        for address, role in sorted(directory.oidc_reviewers.items()):
            table.add_row(_cell(address), _cell(role), "yes")
        console.print(table)


def _cell(text: str) -> Text:
    """A table cell of user text: escaped, never markup, folded rather than cut."""
    return Text(visible(text), overflow="fold")
