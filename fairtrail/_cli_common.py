"""What every command of the command line shares: exit codes, errors, console, progress.

Exit codes, the one-line error, the output console and the progress bar.

A module of its own so that the subcommand modules (sign-off, users, app) need not import
:mod:`fairtrail.cli`, which imports them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import NoReturn

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from fairtrail._terminal import visible

__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_PASS", "console", "fail", "steps", "written"]

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def fail(message: str) -> NoReturn:
    """Print ``message`` as one line on standard error, escaped (:func:`visible`); exit 2."""
    Console(stderr=True, highlight=False, markup=False).print(
        Text.assemble(("fairtrail: error:", "bold red"), " ", visible(message)), soft_wrap=True
    )
    sys.exit(EXIT_ERROR)


def console() -> Console:
    """Standard output; wide enough for the tables when it is not a terminal.

    Markup is off: what the commands print is built as :class:`~rich.text.Text`, with user
    text escaped by :func:`~fairtrail._terminal.visible`, so no ``[`` in it is ever a tag.
    """
    out = Console(highlight=False, markup=False)
    if not out.is_terminal:
        out = Console(highlight=False, markup=False, width=132)
    return out


def written(what: str, path: object) -> Text:
    """``<what> written to <path>``, the path in bold."""
    return Text.assemble(f"{what} written to ", (visible(str(path)), "bold"))


@contextlib.contextmanager
def steps(total: int) -> Iterator[Callable[..., None]]:
    """A progress bar over ``total`` steps, on standard error; the callable starts a step.

    On a terminal it redraws in place and disappears when done; elsewhere (CI logs, pipes)
    nothing is printed.
    """
    err = Console(stderr=True, markup=False)
    if not err.is_terminal:  # rich would still end the hidden display with a newline
        yield lambda text, advance=True: None
        return
    columns = (
        # A step's text may quote a file or a column name: escaped, and never markup.
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Starting", total=total)
        started = False

        def step(text: str, advance: bool = True) -> None:
            """Start the next step; with ``advance=False``, only say more about this one."""
            nonlocal started
            if started and advance:
                progress.advance(task)
            started = True
            progress.update(task, description=visible(text))

        yield step
        progress.update(task, completed=total)
