"""``fairtrail app``: the review app (Streamlit) on 127.0.0.1.

Registered on the main command group in :mod:`fairtrail.cli`. The app's settings travel as
environment variables (``FAIRTRAIL_BUNDLES``, ``FAIRTRAIL_SIGNOFFS``, ``FAIRTRAIL_USERS``);
the server's safety settings are passed on Streamlit's command line, so they hold whatever
folder the command runs from (as in the repository's ``.streamlit/config.toml``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

__all__ = ["APP_SETTINGS", "app", "app_path", "streamlit_command"]

#: Streamlit settings of the review app: loopback only, small uploads, no usage statistics,
#: no tracebacks in the browser.
APP_SETTINGS = {
    "server.address": "127.0.0.1",
    "server.headless": "true",
    "server.maxUploadSize": "50",
    "server.enableXsrfProtection": "true",
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "type",
    "client.toolbarMode": "viewer",
    "runner.magicEnabled": "false",
}


def app_path() -> Path:
    """The app's script: inside the installed package, or ``app.py`` of a source checkout.

    Examples
    --------
    >>> app_path().name in ("app.py", "_app.py")
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "_app.py", here.parent / "app.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("The review app's script (app.py) is not installed.")


def streamlit_command(port: int) -> list[str]:
    """The command that serves the app on ``127.0.0.1:port``.

    Examples
    --------
    >>> cmd = streamlit_command(8600)
    >>> cmd[cmd.index("--server.address") + 1], cmd[cmd.index("--server.port") + 1]
    ('127.0.0.1', '8600')
    """
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path())]
    for key, value in {**APP_SETTINGS, "server.port": str(port)}.items():
        cmd += [f"--{key}", value]
    return cmd


@click.command()
@click.argument(
    "bundles", required=False, type=click.Path(file_okay=False, path_type=Path), default=Path(".")
)
@click.option(
    "--signoffs",
    default=None,
    help="Sign-off store: a SQLite file or a postgresql:// URL [default: BUNDLES/signoffs.db].",
)
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reviewers file (fairtrail users add) [default: $FAIRTRAIL_USERS, else "
    "~/.config/fairtrail/users.toml].",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
def app(bundles: Path, signoffs: str | None, users_file: Path | None, port: int) -> None:
    """Open the review app on 127.0.0.1 for the audit bundles in BUNDLES."""
    from fairtrail._cli_common import fail as _fail

    if not bundles.is_dir():
        _fail(f"The bundle folder '{bundles}' does not exist.")
    env = dict(os.environ)
    env["FAIRTRAIL_BUNDLES"] = str(bundles.resolve())
    if signoffs:
        env["FAIRTRAIL_SIGNOFFS"] = signoffs
    if users_file is not None:
        env["FAIRTRAIL_USERS"] = str(users_file.resolve())
    click.echo(f"fairtrail review app: http://127.0.0.1:{port}  (Ctrl+C to stop)", err=True)
    try:
        code = subprocess.call(streamlit_command(port), env=env)
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
