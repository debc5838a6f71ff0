"""The ``fairtrail`` command line.

Exit codes: 0 every criterion passed (or no policy), 1 a criterion failed or could not be
confirmed (inconclusive), 2 a usage, spec, data or bundle error — printed as one line.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from fairtrail import __version__

__all__ = ["main"]

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> NoReturn:
    Console(stderr=True, highlight=False).print(
        f"[bold red]fairtrail: error:[/bold red] {message}", soft_wrap=True
    )
    sys.exit(EXIT_ERROR)


def _console() -> Console:
    """Standard output; wide enough for the tables when it is not a terminal."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=132)
    return console


@contextlib.contextmanager
def _steps(total: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` steps, on standard error; the callable starts a step.

    On a terminal it redraws in place and disappears when done; elsewhere (CI logs, pipes)
    nothing is printed.
    """
    console = Console(stderr=True)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Starting", total=total)
        started = False

        def step(text: str) -> None:
            nonlocal started
            if started:
                progress.advance(task)
            started = True
            progress.update(task, description=text)

        yield step
        progress.update(task, completed=total)


def _exit_code(status: str) -> int:
    return EXIT_PASS if status in ("pass", "no_policy") else EXIT_FAIL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fairtrail")
def cli() -> None:
    """fairtrail: fairness and data-provenance audits of machine-learning models."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Bundle folder to write (default: audit-<id> next to the spec).",
)
@click.option("--n-boot", type=int, default=None, help="Override audit.n_boot.")
@click.option("--seed", type=int, default=None, help="Override audit.random_state.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def run(spec: Path, out: Path | None, n_boot: int | None, seed: int | None, quiet: bool) -> None:
    """Audit the predictions a TOML SPEC describes and write an audit bundle."""
    import dataclasses

    from audit import AUDIT_STEPS, FairtrailError, load_spec, run_audit, write_bundle
    from fairtrail._render import print_result

    console = _console()
    try:
        parsed = load_spec(spec)
        options = parsed.options
        if n_boot is not None:
            options = dataclasses.replace(options, n_boot=n_boot)
        if seed is not None:
            options = dataclasses.replace(options, random_state=seed)
        parsed = dataclasses.replace(parsed, options=options)
        with _steps(len(AUDIT_STEPS)) as step, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics are listed in the result's notes
            result = run_audit(parsed, on_step=lambda _name, text: step(text))
        target = out or spec.parent / f"audit-{result.audit_id[:12]}"
        write_bundle(
            result, target, spec=parsed.to_dict(), spec_text=spec.read_text(encoding="utf-8")
        )
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    print_result(console, result, groups=not quiet)
    console.print(f"Bundle written to [bold]{target}[/bold]")
    sys.exit(_exit_code(result.status))


@cli.command()
@click.option(
    "--dataset",
    type=click.Choice(["adult", "german"]),
    default="adult",
    show_default=True,
    help="Bundled real dataset to audit.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("fairtrail-demo"),
    show_default=True,
    help="Bundle folder to write.",
)
@click.option("--n-boot", type=int, default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def demo(dataset: str, out: Path, n_boot: int, seed: int, quiet: bool) -> None:
    """Audit a bundled real dataset end to end (no set-up needed).

    Exits 0 when the demo ran, whatever the verdicts: it demonstrates, it does not gate.
    """
    from audit import FairtrailError
    from fairtrail._render import print_result
    from fairtrail.demo import DEMO_STEPS, run_demo

    console = _console()
    try:
        with _steps(DEMO_STEPS) as step, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = run_demo(dataset, out, n_boot=n_boot, seed=seed, on_step=step)
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    removed = run.rows_raw - run.rows_prepared
    console.print(
        f"[bold]Dataset[/bold] {dataset}: {run.rows_raw:,} rows; dropping rows with "
        f"missing values removed {removed:,} ({removed / run.rows_raw:.1%})."
    )
    for feature, groups in run.preparation["by_group"].items():
        parts = ", ".join(f"{g} {v['removed_rate']:.1%}" for g, v in groups.items())
        console.print(f"  removed by {feature}: {parts}")
    console.print(f"[bold]Model[/bold] logistic regression, test accuracy {run.test_accuracy:.3f}")
    print_result(console, run.result, groups=not quiet)
    console.print(f"Bundle written to [bold]{run.bundle}[/bold]")


@cli.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def show(bundle: Path, quiet: bool) -> None:
    """Verify an audit BUNDLE against its manifest and print its result."""
    from audit import FairtrailError, read_bundle
    from fairtrail._render import print_result

    console = _console()
    try:
        result = read_bundle(bundle)
    except FairtrailError as exc:
        _fail(str(exc))
    console.print(f"Bundle {bundle}: every file matches its manifest.")
    print_result(console, result, groups=not quiet)
    sys.exit(_exit_code(result.status))


def main() -> None:
    """Entry point of the ``fairtrail`` script."""
    cli(prog_name="fairtrail")


@cli.group()
def lineage() -> None:
    """Work with OpenLineage events."""


@lineage.command("validate")
@click.argument("events", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--spec-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FAIRTRAIL_OPENLINEAGE_SPEC",
    required=True,
    help="Folder of the published OpenLineage schemas (2-0-2/OpenLineage.json, facets/…); "
    "or set FAIRTRAIL_OPENLINEAGE_SPEC.",
)
@click.option(
    "--lenient",
    is_flag=True,
    help="For third-party events: skip facets whose schema is not in the folder, and check "
    "events without schemaURL against the newest core schema.",
)
def lineage_validate(events: Path, spec_dir: Path, lenient: bool) -> None:
    """Validate the OpenLineage EVENTS file (JSON Lines or JSON) offline, facets included.

    Exits 0 when every event conforms, 1 when one does not (each problem on its own line),
    2 when the file or the schema folder cannot be used.
    """
    from lineage import LineageError, SchemaStore, read_events, validate_events

    console = _console()
    try:
        report = validate_events(read_events(events), SchemaStore(spec_dir), strict=not lenient)
    except LineageError as exc:
        _fail(str(exc))
    for problem in report.problems:
        console.print(f"{events.name}: {problem}", markup=False, soft_wrap=True)
    for problem in report.skipped:
        console.print(f"{events.name}: skipped {problem}", markup=False, soft_wrap=True)
    mode = "lenient" if lenient else "strict"
    verdict = "valid" if report.valid else f"INVALID ({len(report.problems)} problems)"
    console.print(
        f"{events.name}: {report.n_events} events, {report.n_facets} facets, {mode}: {verdict}"
    )
    sys.exit(EXIT_PASS if report.valid else EXIT_FAIL)
