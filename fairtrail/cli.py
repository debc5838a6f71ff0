"""The ``fairtrail`` command line.

Exit codes: 0 every criterion passed (or no policy), 1 a criterion failed or could not be
confirmed (inconclusive), 2 a usage, spec, data or bundle error — printed as one line.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from fairtrail import __version__
from fairtrail._cli_common import EXIT_FAIL, EXIT_PASS
from fairtrail._cli_common import console as _console
from fairtrail._cli_common import fail as _fail
from fairtrail._cli_common import steps as _steps
from fairtrail._cli_common import written as _written
from fairtrail._terminal import plain, visible

__all__ = ["main"]


def _exit_code(status: str) -> int:
    return EXIT_PASS if status in ("pass", "no_policy") else EXIT_FAIL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fairtrail")
def cli() -> None:
    """fairtrail: fairness and data-provenance audits of machine-learning models."""


@cli.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),  # a file or a link is refused in one line, not by click
    default=None,
    help="Bundle folder to write (default: audit-<id> next to the spec).",
)
@click.option(
    "--no-intervals", is_flag=True, help="Point estimates only (verdicts then inconclusive)."
)
@click.option("--n-boot", type=int, default=None, hidden=True)  # deprecated: 0 = --no-intervals
@click.option("--seed", type=int, default=None, help="Override audit.random_state.")
@click.option(
    "--engine",
    type=click.Choice(["memory", "duckdb", "spark", "auto"]),
    default=None,
    help="Override audit.engine: who counts the rows (duckdb: out of core; auto: duckdb for "
    "folders, globs and files over a tenth of the memory).",
)
@click.option(
    "--memory-limit", default=None, help="Override audit.memory_limit (DuckDB), e.g. 1GB."
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def run(
    spec: Path,
    out: Path | None,
    no_intervals: bool,
    n_boot: int | None,
    seed: int | None,
    engine: str | None,
    memory_limit: str | None,
    quiet: bool,
) -> None:
    """Audit the predictions a TOML SPEC describes and write an audit bundle."""
    import dataclasses

    from audit import AUDIT_STEPS, FairtrailError, check_memory_limit, load_spec
    from fairtrail._provenance import audit_with_lineage
    from fairtrail._render import print_delivery, print_result

    console = _console()
    try:
        parsed = load_spec(spec)
        options = parsed.options
        if n_boot is not None:
            console.print(
                "note: --n-boot is no longer used (intervals are exact or analytic); "
                "--no-intervals replaces --n-boot 0.",
                soft_wrap=True,
            )
        if no_intervals or n_boot == 0:
            options = dataclasses.replace(options, intervals=False)
        if seed is not None:
            options = dataclasses.replace(options, random_state=seed)
        if engine is not None:
            options = dataclasses.replace(options, engine=engine)  # type: ignore[arg-type]
        if memory_limit is not None:
            limit = check_memory_limit(memory_limit, "--memory-limit")
            options = dataclasses.replace(options, memory_limit=limit)
        parsed = dataclasses.replace(parsed, options=options)
        with _steps(len(AUDIT_STEPS)) as step, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics are listed in the result's notes
            seen: set[str] = set()

            def on_step(name: str, text: str) -> None:
                step(text, advance=name not in seen)
                seen.add(name)

            recorded = audit_with_lineage(
                parsed,
                lambda r: out or spec.parent / f"audit-{r.audit_id[:12]}",
                spec_text=spec.read_text(encoding="utf-8"),
                on_step=on_step,
                on_progress=lambda query, done: step(f"Counting: {query} {done:.0%}", False),
            )
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    print_result(console, recorded.result, groups=not quiet)
    print_delivery(console, recorded)
    console.print(_written("Bundle", recorded.bundle), soft_wrap=True)
    sys.exit(_exit_code(recorded.result.status))


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
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--skip-mitigation", is_flag=True, help="Audit only; do not sweep mitigations (saves ~30 s)."
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def demo(dataset: str, out: Path, seed: int, skip_mitigation: bool, quiet: bool) -> None:
    """Audit a bundled real dataset end to end (no set-up needed).

    Exits 0 when the demo ran, whatever the verdicts: it demonstrates, it does not gate.
    """
    from audit import FairtrailError
    from fairtrail._provenance import EVENTS_FILE
    from fairtrail._render import print_result, print_steps, print_tradeoff
    from fairtrail.demo import DEMO_STEPS, run_demo

    console = _console()
    try:
        with _steps(DEMO_STEPS) as step, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = run_demo(
                dataset,
                out,
                seed=seed,
                mitigate=not skip_mitigation,
                on_step=step,
            )
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    removed = run.rows_raw - run.rows_prepared
    console.print(
        Text.assemble(
            ("Dataset", "bold"),
            f" {visible(dataset)}: {run.rows_raw:,} rows; dropping rows with missing values "
            f"removed {removed:,} ({removed / run.rows_raw:.1%}).",
        )
    )
    print_steps(console, run.steps)
    console.print(
        Text.assemble(
            ("Model", "bold"), f" logistic regression, test accuracy {run.test_accuracy:.3f}"
        )
    )
    print_result(console, run.result, groups=not quiet)
    if run.sweep is not None:
        console.print(
            Text.assemble(
                ("Mitigation", "bold"),
                f" {len(run.sweep.tradeoff.candidates)} candidates fitted and audited on the "
                f"test split in {run.sweep.seconds:.1f} s",
            )
        )
        print_tradeoff(console, run.sweep.tradeoff, groups=not quiet)
    console.print(
        plain(
            f"Lineage: {len(run.events)} OpenLineage events in {run.bundle / EVENTS_FILE} "
            f"(see `fairtrail lineage show {run.bundle}`)"
        ),
        soft_wrap=True,
    )
    console.print(_written("Bundle", run.bundle), soft_wrap=True)
    try:
        rendered = _render_report(run.bundle, None)
    except FairtrailError as exc:
        _fail(str(exc))
    console.print(
        Text.assemble(
            "Report: ",
            (visible(str(rendered.path)), "bold"),
            visible(f" (check it with `fairtrail verify {rendered.path} {run.bundle}`)"),
        ),
        soft_wrap=True,
    )


@cli.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only the criteria, not the group tables.")
def show(bundle: Path, quiet: bool) -> None:
    """Verify an audit BUNDLE against its manifest and print its result."""
    from audit import Bundle, FairtrailError
    from fairtrail._render import print_result

    console = _console()
    try:
        result = Bundle.open(bundle).result
    except FairtrailError as exc:
        _fail(str(exc))
    console.print(plain(f"Bundle {bundle}: every file matches its manifest."), soft_wrap=True)
    print_result(console, result, groups=not quiet)
    sys.exit(_exit_code(result.status))


@cli.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),  # a file or a link is refused in one line, not by click
    default=None,
    help="Bundle folder to write (default: mitigation-<id> next to the spec).",
)
@click.option("--jobs", "-j", type=int, default=None, help="Override mitigation.n_jobs.")
@click.option("--quiet", "-q", is_flag=True, help="Print the frontier only, not who pays.")
def mitigate(spec: Path, out: Path | None, jobs: int | None, quiet: bool) -> None:
    """Sweep mitigations over the data a TOML SPEC describes; choose one; write a bundle.

    Exits 0 when a candidate was chosen, 1 when none satisfies the selection rule.
    """
    from audit import FairtrailError
    from fairtrail._render import print_tradeoff
    from fairtrail.mitigate import MITIGATE_STEPS, run_mitigation

    console = _console()
    target = out or spec.parent / f"mitigation-{spec.stem}"
    try:
        with _steps(MITIGATE_STEPS) as step, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics are listed in the audits' notes
            run = run_mitigation(spec, target, n_jobs=jobs, on_step=step)
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    t = run.sweep.tradeoff
    for note in run.notes:
        console.print(plain(f"note: {note}", "dim"), soft_wrap=True)
    console.print(
        Text.assemble(
            ("Sweep", "bold"),
            f" {len(t.candidates) + len(t.failures)} candidates ({run.n_train:,} training rows, "
            f"{run.n_test:,} held-out) in {run.sweep.seconds:.1f} s",
        )
    )
    print_tradeoff(console, t, groups=not quiet)
    console.print(_written("Bundle", run.bundle), soft_wrap=True)
    sys.exit(EXIT_PASS if t.chosen is not None else EXIT_FAIL)


@cli.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PDF to write (default: report.pdf inside the bundle).",
)
def report(bundle: Path, out: Path | None) -> None:
    """Render the sign-off PDF of an audit BUNDLE (verified against its manifest first)."""
    from audit import FairtrailError

    try:
        rendered = _render_report(bundle, out)
    except FairtrailError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    _console().print(
        _written("Report", rendered.path).append(
            f" ({rendered.size / 1024:.0f} KiB, sha256 {visible(rendered.sha256[:16])}…)"
        ),
        soft_wrap=True,
    )


def _render_report(bundle: Path, out: Path | None) -> Any:
    from audit import Bundle
    from reports import render_report

    rendered = render_report(Bundle.open(bundle), out)
    if rendered.refused:  # the report's own template loads nothing it may not
        _fail("the report refused to load: " + "; ".join(rendered.refused))
    return rendered


@cli.command()
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "bundle", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False
)
def verify(pdf: Path, bundle: Path | None) -> None:
    """Prove a report PDF was not altered (and, given its BUNDLE, that it belongs to it).

    Exits 0 when everything matches, 1 when something differs (each difference is printed).
    """
    from reports import verify_report

    problems = verify_report(pdf, bundle)
    console = _console()
    if problems:
        for p in problems:
            console.print(Text.assemble(("✗", "bold red"), " ", visible(p)), soft_wrap=True)
        sys.exit(EXIT_FAIL)
    against = f"; it belongs to bundle {bundle}, which is intact" if bundle is not None else ""
    console.print(
        Text.assemble(
            ("✓", "bold"),
            " ",
            visible(f"{pdf}: seal intact; attachments match the attached manifest{against}"),
        ),
        soft_wrap=True,
    )


def _register() -> None:
    from fairtrail._cli_app import app
    from fairtrail._cli_signoff import signoff
    from fairtrail._cli_users import users

    cli.add_command(app)
    cli.add_command(signoff)
    cli.add_command(users)


def main() -> None:
    """Entry point of the ``fairtrail`` script."""
    cli(prog_name="fairtrail")


@cli.command("spark-jar")
def spark_jar() -> None:
    """Print the path of the Spark engine's dense counter jar (compiled on first use).

    For a Spark session started outside fairtrail, e.g. on a cluster:
    ``spark-submit --jars J --driver-class-path J job.py`` with ``J=$(fairtrail spark-jar)``.
    Without it the Spark engine counts the groups with Spark SQL: the same result, slower.
    Exits 2 when it cannot be built (no PySpark, no JDK), saying why.
    """
    from audit import DenseRefused, dense_jar

    try:
        click.echo(visible(str(dense_jar())))
    except ImportError:
        _fail("the Spark engine needs PySpark: pip install 'fairtrail[spark]'")
    except DenseRefused as refused:
        _fail(f"the dense counter's jar cannot be built: {refused}")


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
        console.print(plain(f"{events.name}: {problem}"), soft_wrap=True)
    for problem in report.skipped:
        console.print(plain(f"{events.name}: skipped {problem}"), soft_wrap=True)
    mode = "lenient" if lenient else "strict"
    verdict = "valid" if report.valid else f"INVALID ({len(report.problems)} problems)"
    console.print(
        plain(
            f"{events.name}: {report.n_events} events, {report.n_facets} facets, {mode}: {verdict}"
        ),
        soft_wrap=True,
    )
    sys.exit(EXIT_PASS if report.valid else EXIT_FAIL)


def _read_lineage(source: Path, action: str) -> tuple[Path, list[Any]]:
    """The events file of SOURCE and its events; exits 2 naming the problem otherwise.

    SOURCE is an events file, or a bundle folder whose files match its manifest.
    """
    from audit import Bundle, BundleError, BundleVerificationError
    from lineage import LineageError, read_events

    events_file = source
    try:
        if source.is_dir():
            events_file = source / Bundle.EVENTS
            if not events_file.is_file():
                _fail(
                    f"'{source}' is a folder without {Bundle.EVENTS}: pass an events file "
                    "(JSON Lines or JSON) or an audit bundle folder."
                )
            try:
                return events_file, Bundle.open(source).events()
            except BundleVerificationError as exc:
                _fail(
                    f"Bundle '{source}' failed verification; nothing was {action}: "
                    f"{exc.problems[0]} (pass {events_file} itself to use its events anyway)."
                )
            except BundleError as exc:
                _fail(str(exc))
        return events_file, read_events(events_file)
    except LineageError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")


@lineage.command("show")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--dot",
    "dot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the graph as Graphviz DOT to this file.",
)
@click.option(
    "--svg",
    "svg_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the graph as SVG to this file (laid out here; Graphviz is not needed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the graph as JSON instead of text.")
def lineage_show(source: Path, dot_file: Path | None, svg_file: Path | None, as_json: bool) -> None:
    """Show the lineage graph of SOURCE: an OpenLineage events file or an audit bundle folder.

    A bundle's events are read from <bundle>/lineage/events.jsonl, and only if every file of the
    bundle matches its manifest. Prints the jobs in topological order with the datasets and
    versions their runs read and wrote. Exits 0, or 2 when the input cannot be read or the
    bundle fails verification.
    """
    import json

    from audit import write_atomically
    from lineage import LineageError, build_graph, format_text, to_dot, to_svg

    events_file, events = _read_lineage(source, "shown")
    try:
        graph = build_graph(events)
    except LineageError as exc:
        _fail(f"'{events_file}': {exc}")
    for path, render in ((dot_file, to_dot), (svg_file, to_svg)):
        if path is not None:
            try:
                write_atomically(path, render(graph).encode())
            except OSError as exc:
                _fail(f"Cannot write '{path}': {exc.strerror or exc}.")
    if as_json:
        click.echo(json.dumps(graph.to_dict(), indent=2, sort_keys=True))  # ASCII: \u escapes
    else:
        click.echo(visible(format_text(graph), newlines=True))


@lineage.command("push")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--url",
    default=None,
    help="Server to send the events to, e.g. http://localhost:5000; events are posted to "
    "<url>/api/v1/lineage. Default: $OPENLINEAGE_URL.",
)
@click.option(
    "--api-key-env",
    default=None,
    metavar="NAME",
    help="Environment variable holding the API key, sent as a Bearer token (the key itself is "
    "never taken on the command line). Default: OPENLINEAGE_API_KEY, when set.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the endpoint, per event.",
)
def lineage_push(source: Path, url: str | None, api_key_env: str | None, timeout: float) -> None:
    """Send the OpenLineage events of SOURCE to an HTTP endpoint (Marquez-compatible).

    SOURCE is an events file (JSON Lines or JSON) or an audit bundle folder, whose
    lineage/events.jsonl is sent only if the bundle matches its manifest. Events go in file
    order and the push stops at the first failure; pushing again resends from the first event,
    which is safe (the endpoint updates the runs it already holds). Nothing is written.

    Exits 0 when every event was sent, 1 when the endpoint failed (the events stay in the
    file), 2 on a usage or input error.
    """
    import os
    import shlex

    from lineage import EndpointError, HttpEndpoint, LineageError, push_events

    if api_key_env is not None and not os.environ.get(api_key_env):
        _fail(f"--api-key-env names the environment variable {api_key_env!r}, which is not set.")
    try:
        endpoint = HttpEndpoint.from_env(url, api_key_env or "OPENLINEAGE_API_KEY", timeout=timeout)
    except EndpointError as exc:
        _fail(f"{exc} (from {'--url' if url else 'OPENLINEAGE_URL'})")
    if endpoint is None:
        _fail("No endpoint to push to: pass --url or set OPENLINEAGE_URL.")
    events_file, events = _read_lineage(source, "sent")
    try:
        if os.getenv("OPENLINEAGE_DISABLED", "").lower().strip() == "true":
            Console(stderr=True, highlight=False, markup=False).print(
                "note: OPENLINEAGE_DISABLED=true does not apply to `lineage push`, an explicit "
                "request to send."
            )
        report = push_events(events, endpoint)
    except LineageError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.strerror or exc}: {exc.filename}")
    console = _console()
    if report.complete:
        console.print(
            plain(
                f"Sent {report.sent} of {report.total} events from {events_file} to "
                f"{report.target}."
            ),
            soft_wrap=True,
        )
        sys.exit(EXIT_PASS)
    assert report.failed_at is not None
    console.print(
        plain(
            f"Sent {report.sent} of {report.total} events to {report.target}; event "
            f"{report.failed_at + 1} failed: {report.reason}."
        ),
        soft_wrap=True,
    )
    console.print(
        plain(
            f"All {report.total} events are still in {events_file}; run `fairtrail lineage "
            f"push {shlex.quote(str(source))}` again when the endpoint is back (events sent "
            "already are sent again, which is safe)."
        ),
        soft_wrap=True,
    )
    sys.exit(EXIT_FAIL)


_register()
