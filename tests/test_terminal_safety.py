"""User text on a terminal is shown, never obeyed: controls, escapes, bidi, markup, widths.

Whatever came from data, a spec, a bundle or a path — a column name, a group label, a file
name, a note, an error message quoting one — reaches the terminal through
``fairtrail._terminal.visible``: every control (C0 but a newline the program composed, DEL,
C1), every format character (bidi marks, overrides, isolates) becomes an escape such as
``\\x1b`` or ``\\u202e``. Rich markup in user text is printed as it is written. Tables keep
every number whole at 80 columns and at the 132 of a non-terminal.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

# pytester's in-process runs restore sys.modules afterwards, and a C extension cannot be
# loaded twice in one process: import what the audit core loads lazily before any run.
import pyarrow.csv  # noqa: F401
import pytest
import scipy.stats  # noqa: F401
from _gate import rates_arrays
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from audit import (
    AuditOptions,
    AuditResult,
    Estimate,
    Policy,
    Threshold,
    audit_predictions,
    write_bundle,
)
from audit.mitigation import Candidate, GroupCost, SelectionRule, TradeOff
from fairtrail._render import print_result, print_tradeoff
from fairtrail._terminal import plain, visible
from fairtrail.cli import _fail, _steps, cli
from fairtrail.signoff import SignoffStore

from _shared import SPEC, needs_spec

pytest_plugins = ["pytester"]

# --- what a terminal must never receive from user text ---------------------------------------

#: The bidi controls the issue names: marks, embeddings and overrides, isolates.
BIDI = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def acts(char: str) -> bool:
    """Whether a terminal acts on ``char`` instead of showing it (or it disguises text).

    C0 controls (newline included: a newline from user text is shown as ``\\n``), DEL, C1,
    the bidi controls, and the other format characters, lone surrogates and the line and
    paragraph separators.
    """
    code = ord(char)
    return (
        code < 0x20
        or 0x7F <= code <= 0x9F
        or char in BIDI
        or unicodedata.category(char) in ("Cf", "Cs", "Zl", "Zp")
    )


def raw(text: str) -> list[str]:
    """The characters of ``text`` a terminal would act on, line breaks aside."""
    return [c for c in text if acts(c) and c != "\n"]


#: Sequences a hostile file could hold: clear screen, window title (OSC ... BEL), a C1 CSI,
#: NUL, DEL, bidi override and isolate, LRM, ALM, BOM, line separator, CR, tab, backspace,
#: rich markup, and a backslash.
HOSTILE = [
    "\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\x00", "\x7f", "\x85", "\u202e", "\u2066",
    "\u200e", "\u061c", "\ufeff", "\u2028", "\r", "\t", "\n", "\x08", "[/]", "[bold red]",
    "\\",
]  # fmt: skip
hostile_text = st.lists(
    st.one_of(st.characters(exclude_categories=()), st.sampled_from(HOSTILE))
).map("".join)
printable_text = st.text(st.characters(exclude_categories=()).filter(str.isprintable))

_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|([tnr]))")


def unescape(shown: str) -> str:
    """Undo ``visible`` on text that held no backslash (written here from its definition)."""

    def one(m: re.Match[str]) -> str:
        if m[4]:
            return {"t": "\t", "n": "\n", "r": "\r"}[m[4]]
        return chr(int(m[1] or m[2] or m[3], 16))

    return _ESCAPE.sub(one, shown)


# --- visible(): the one place that decides --------------------------------------------------


@given(hostile_text)
def test_visible_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = visible(text)
    assert [c for c in shown if acts(c)] == []
    assert raw(visible(text, newlines=True)) == []


@given(printable_text)
def test_visible_returns_printable_text_unchanged(text: str) -> None:
    assert visible(text) == text
    lines = text + "\n" + text
    assert visible(lines, newlines=True) == lines


@given(hostile_text.filter(lambda t: "\\" not in t))
def test_visible_drops_nothing(text: str) -> None:
    # Every character is either kept or written as an escape that names it.
    assert unescape(visible(text)) == text
    assert unescape(visible(text, newlines=True)) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x00", "\\x00"),
        ("sex\x1b[2J", "sex\\x1b[2J"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\x7fb", "a\\x7fb"),
        ("\x9b2J\x85", "\\x9b2J\\x85"),
        ("exe.\u202etxt", "exe.\\u202etxt"),
        ("\u2066x\u2069", "\\u2066x\\u2069"),
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),
        ("\ufeffbom", "\\ufeffbom"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("\udc80", "\\udc80"),  # an undecodable byte of a file name (surrogateescape)
        ("a\u2028b", "a\\u2028b"),
        ("one\ntwo\r\tx\x08", "one\\ntwo\\r\\tx\\x08"),
        ("[bold red]x[/] C:\\data ü 中 😀", "[bold red]x[/] C:\\data ü 中 😀"),
    ],
)
def test_visible_escapes_each_kind(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_plain_is_never_markup() -> None:
    out = io.StringIO()
    console = Console(file=out, width=60, color_system=None, markup=True)
    console.print(plain("sex[/] [bold]x[/bold] \x1b[2J"))
    assert out.getvalue() == "sex[/] [bold]x[/bold] \\x1b[2J\n"


# --- the one-line error ----------------------------------------------------------------------


def test_fail_prints_one_escaped_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _fail("Column 'sex\x1b[2J[/]' [bold]x[/bold] is\nnot \x00 in '\u202eexe.txt'")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "fairtrail: error: Column 'sex\\x1b[2J[/]' [bold]x[/bold] is\\nnot \\x00 in "
        "'\\u202eexe.txt'\n"
    )


def test_a_progress_step_naming_a_file_is_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal: the bar is drawn
    monkeypatch.setenv("COLUMNS", "80")
    with _steps(2) as step:
        step("Reading pred\x1b]0;t\x07[/]\u202e.csv")
    err = capsys.readouterr().err
    assert "Reading pred\\x1b]0;t\\x07[/]\\u202e.csv" in err
    assert "\u202e" not in err
    assert "\x07" not in err
    assert "\x1b]" not in err


# --- the commands, on hostile data --------------------------------------------------------------

COLUMN = "sex\x1b[2J[/]"  # clear screen, and a closing tag that made rich raise
LABELS = {  # label: (rows, predicted positive); half of each group's rows are positives
    "F\x1b]0;title\x07": (500, 100),  # sets the window title
    "M\u202eexe.txt\u2066": (500, 400),  # bidi override, isolate
    "[bold]x[/bold]\x9b2J": (500, 250),  # markup, C1 CSI
}
#: How each appears: escaped, markup as written.
SHOWN = ["F\\x1b]0;title\\x07", "M\\u202eexe.txt\\u2066", "[bold]x[/bold]\\x9b2J"]
DATA_FILE = "pred\x1b]0;t\x07\u202e.csv"  # no "[": it would make the path a glob
AUDIT_SPEC = """
[data]
path = "pred\\u001b]0;t\\u0007\\u202e.csv"
y_true = "y_true"
y_pred = "y_pred"
sensitive_features = ["sex\\u001b[2J[/]", "[bold red]grp"]
[audit]
[policy]
name = "hiring\\u001b[31m[/]"
[policy.thresholds]
demographic_parity_ratio = 0.8
"""
RICH_CODES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*A")


def hostile_folder(folder: Path) -> Path:
    """The CSV and the spec; F selects 100 of 500 (1/5), M 400 of 500 (4/5): ratio 1/4."""
    y_true, y_pred, g = rates_arrays(LABELS)
    lines = ["y_true,y_pred," + COLUMN + ",[bold red]grp"]
    for i, (t, p, label) in enumerate(zip(y_true, y_pred, g, strict=True)):
        lines.append(f'{t},{p},"{label}",{"ab"[i % 2]}')
    (folder / DATA_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "audit.toml").write_text(AUDIT_SPEC, encoding="utf-8")
    return folder


def cli_run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fairtrail", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1]), **env},
    )


def assert_inert(text: str) -> None:
    """No raw control, escape, bidi or C1 character: only rich's own styles and cursor moves."""
    assert raw(RICH_CODES.sub("", text)) == [], repr(text[:2000])


def assert_shows_the_names(out: str) -> None:
    assert "sex\\x1b[2J[/]" in out
    assert "[bold red]grp" in out
    for label in SHOWN:
        assert label in out


@pytest.fixture(scope="module")
def hostile_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = hostile_folder(tmp_path_factory.mktemp("hostile"))
    proc = cli_run("run", "audit.toml", "--out", "out[/]x", cwd=folder)
    return folder, proc.stdout + "\0" + proc.stderr + "\0" + str(proc.returncode)


def test_run_shows_hostile_names_escaped_and_markup_literally(
    hostile_bundle: tuple[Path, str],
) -> None:
    folder, captured = hostile_bundle
    out, err, code = captured.split("\0")
    assert code == "1", err  # a failed criterion: ratio 1/4 < 0.8
    assert err.strip() == ""  # no progress bar off a terminal
    assert_inert(out)
    assert_shows_the_names(out)
    assert "pred\\x1b]0;t\\x07\\u202e.csv" in out
    assert "Policy hiring\\x1b[31m[/]" in out
    assert "0.250" in out  # (100/500) / (400/500)
    assert "Status: FAIL" in out
    assert "Bundle written to out[/]x" in out  # the path's markup, literally
    assert (folder / "out[" / "]x" / "manifest.json").is_file()


def test_show_of_the_hostile_bundle(hostile_bundle: tuple[Path, str]) -> None:
    folder, _ = hostile_bundle
    proc = cli_run("show", "out[/]x", cwd=folder)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == ""
    assert_inert(proc.stdout)
    assert_shows_the_names(proc.stdout)
    assert "Bundle out[/]x: every file matches its manifest." in proc.stdout


def test_lineage_show_of_the_hostile_bundle(hostile_bundle: tuple[Path, str]) -> None:
    folder, _ = hostile_bundle
    proc = cli_run("lineage", "show", "out[/]x", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert_inert(proc.stdout + proc.stderr)
    assert "pred\\x1b]0;t\\x07\\u202e.csv" in proc.stdout


@needs_spec
def test_lineage_validate_names_a_hostile_file_escaped(hostile_bundle: tuple[Path, str]) -> None:
    folder, _ = hostile_bundle
    first = (folder / "out[" / "]x" / "lineage" / "events.jsonl").read_text("utf-8").splitlines()[0]
    bad = json.loads(first)
    bad["eventTime"] = "yes\x1b[2J\u202eterday"
    name = "ev\x1b]0;t\x07\u202e.jsonl"
    (folder / name).write_text(first + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    proc = cli_run("lineage", "validate", name, "--spec-dir", str(SPEC), cwd=folder)
    assert proc.returncode == 1, proc.stderr  # the second event's time is not a date-time
    assert_inert(proc.stdout + proc.stderr)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ev\\x1b]0;t\\x07\\u202e.jsonl: event 2, eventTime: ")
    assert lines[-1].startswith("ev\\x1b]0;t\\x07\\u202e.jsonl: 2 events, ")
    assert lines[-1].endswith("strict: INVALID (1 problems)")


def test_click_usage_errors_quote_hostile_arguments_escaped() -> None:
    result = CliRunner().invoke(cli, ["verify", "gone\x1b[2J\u202e[/].pdf"])
    assert result.exit_code == 2
    assert_inert(result.output)
    assert "gone\\x1b[2J\\u202e[/].pdf" in result.output


def test_run_on_a_terminal_at_80_columns(hostile_bundle: tuple[Path, str]) -> None:
    folder, _ = hostile_bundle
    proc = cli_run("run", "audit.toml", "--out", "tty", cwd=folder, FORCE_COLOR="1", COLUMNS="80")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    # The progress bar's own cursor moves and the tables' colours: nothing from the data.
    assert_inert(proc.stdout)
    assert_inert(proc.stderr)
    plain_out = RICH_CODES.sub("", proc.stdout)
    assert_shows_the_names(plain_out)
    assert "…" not in plain_out
    assert max(cell_len(line) for line in plain_out.splitlines()) <= 80
    for number in ("0.200", "0.800", "0.500", "500", "33.3%", "0.250"):
        assert number in plain_out


def test_an_error_quoting_a_hostile_name_is_one_escaped_line(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path)
    spec = (folder / "audit.toml").read_text(encoding="utf-8")
    (folder / "audit.toml").write_text(
        spec.replace('y_pred = "y_pred"', 'y_pred = "y_pred"\ny_score = "nope\\u001b[2J[/]"'),
        encoding="utf-8",
    )
    proc = cli_run("run", "audit.toml", cwd=folder)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fairtrail: error: ")
    assert "nope\\x1b[2J[/]" in lines[0]
    assert_inert(proc.stderr)


def test_a_hostile_path_in_an_error(tmp_path: Path) -> None:
    proc = cli_run("show", "gone\x1b[2J[/]\u202e\x9b", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert "gone\\x1b[2J[/]\\u202e\\x9b" in proc.stderr
    assert_inert(proc.stderr)


# --- users and sign-offs -----------------------------------------------------------------------


def test_users_list_shows_names_and_roles_escaped(tmp_path: Path) -> None:
    users = str(tmp_path / "users.toml")
    name, role = "Ada\x1b[2J[/]", "\u202echair[bold]"
    added = CliRunner().invoke(
        cli,
        ["users", "add", "ada", "--name", name, "--role", role, "--file", users,
         "--password-stdin"],
        input="s3cret\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = CliRunner().invoke(cli, ["users", "list", "--file", users])
    assert listed.exit_code == 0, listed.output
    assert_inert(listed.output)
    assert "Ada\\x1b[2J[/]" in listed.output
    assert "\\u202echair[bold]" in listed.output


def test_signoff_list_shows_reviewers_escaped(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    SignoffStore(db).record(
        "audit-1", "ab" * 32, reviewer="r\x1b]0;t\x07[/]", role="\u2066chair",
        decision="approve_with_conditions", conditions="only [red]if\x9b",
    )  # fmt: skip
    listed = CliRunner().invoke(cli, ["signoff", "list", db])
    assert listed.exit_code == 0, listed.output
    assert_inert(listed.output)
    flat = "".join(listed.output.split())  # cells fold at the console's width
    for shown in ("r\\x1b]0;t\\x07[/]", "\\u2066chair", "only[red]if\\x9b"):
        assert "".join(shown.split()) in flat


# --- tables keep their numbers ------------------------------------------------------------------

#: 120-character labels; rows and positives chosen so every rate is exact (see rates_arrays):
#: A: 30 of 120 = 0.250, B: 120 of 240 = 0.500, C: 270 of 360 = 0.750 (TPR = FPR = selection
#: rate; precision (k/2)/k = 0.500 everywhere); shares 120/720, 240/720, 360/720.
LONG = {
    "\x1b[2J" + "A" * 116: (120, 30),
    "\u202e" + "B" * 119: (240, 120),
    "[/]" + "C" * 117: (360, 270),
}


def long_result() -> AuditResult:
    y_true, y_pred, g = rates_arrays(LONG)
    return audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"g": g},
        policy=Policy((Threshold("demographic_parity_ratio", 0.8),)),
        options=AuditOptions(),
    )


def label_column(out: str) -> list[str]:
    """For each table printed, its first column's lines joined (a folded label, whole)."""
    tables: list[str] = []
    for line in out.splitlines():
        if line.startswith("┏"):
            tables.append("")
        elif line.startswith("│"):
            tables[-1] += line.split("│")[1].strip()
    return tables


@pytest.mark.parametrize("width", [80, 132])
def test_group_tables_keep_every_number_with_long_labels(width: int) -> None:
    out = io.StringIO()
    print_result(Console(file=out, width=width, color_system=None), long_result())
    text = out.getvalue()
    assert_inert(text)
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= width
    for number in ("120", "240", "360", "16.7%", "33.3%", "50.0%", "0.250", "0.500", "0.750"):
        assert number in text
    # The criterion's interval, and 3 groups × 4 metrics (selection rate, TPR, FPR, precision).
    assert len(re.findall(r"\[\d\.\d{3}, \d\.\d{3}\]", text)) == 1 + 12
    # The groups in the audit's order, sorted: "\x1b" (A) < "[" (C) < "\u202e" (B).
    labels = "".join(visible(label) for label in sorted(LONG))
    groups = label_column(text)[1:]  # the first table is the criteria table
    assert groups
    assert all(column == labels for column in groups)


def test_the_criteria_table_fits_80_columns_whole() -> None:
    out = io.StringIO()
    print_result(Console(file=out, width=80, color_system=None), long_result(), groups=False)
    text = out.getvalue()
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    assert text.count("┏") == 1  # one table: the estimate's header on two lines
    assert "≥ 0.8" in text
    assert "fail" in text
    assert "0.333" in text  # 0.250 / 0.750


def _group(label: str, accuracy: float) -> GroupCost:
    return GroupCost(
        label,
        1234,
        {"accuracy": accuracy},
        {
            "accuracy": -0.05,
            "true_positive_rate": 0.1,
            "false_positive_rate": -0.021,
            "selection_rate": 0.333,
        },
    )


def _candidate(name: str, groups: tuple[GroupCost, ...]) -> Candidate:
    return Candidate(
        name=name,
        method="threshold",
        params={},
        performance=Estimate(0.812, 0.8, 0.824),
        disparity=Estimate(0.0456, 0.01, 0.0812),
        status="pass",
        pareto=True,
        performance_change=-0.031,
        disparity_change=-0.123,
        cost_per_point=0.25,
        cost_note=None,
        groups=groups,
        fit_seconds=12.34,
    )


def test_tradeoff_tables_keep_every_number_at_80_columns() -> None:
    groups = (_group("\x1b[2J" + "G" * 116, 0.7), _group("\u202e[/]" + "H" * 116, 0.9))
    t = TradeOff(
        constraint="demographic_parity",
        criterion="demographic_parity_difference",
        attribute="sex\x1b]0;t\x07[/]",
        performance_metric="accuracy",
        baseline="baseline",
        candidates=(
            _candidate("baseline", groups),
            _candidate("thr\x1b[31m[bold]" + "x" * 100, groups),
        ),
        rule=SelectionRule(),
        chosen="thr\x1b[31m[bold]" + "x" * 100,
        rationale="chosen for [red]reasons\x9b",
        n_test=1600,
        policy_name="p\u2066",
        policy_version="1",
        failures={"bad\x1b": "boom [/]\x07"},
        notes={"n\u202e": "note [b]"},
    )
    out = io.StringIO()
    print_tradeoff(Console(file=out, width=80, color_system=None), t)
    text = out.getvalue()
    assert_inert(text)
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    # 0.812 [0.800, 0.824]; 0.046 [0.010, 0.081]; -3.1 and -12.3 points; cost 0.25; 12.3 s;
    # who pays: 1,234 rows, -5.0, +10.0, -2.1, +33.3 points, accuracy 0.700 and 0.900.
    for number in (
        "0.812 [0.800, 0.824]", "0.046 [0.010, 0.081]", "-3.1", "-12.3", "0.25", "12.3",
        "1,234", "-5.0", "+10.0", "-2.1", "+33.3", "0.700", "0.900",
    ):  # fmt: skip
        assert number in text
    for shown in ("sex\\x1b]0;t\\x07[/]", "chosen for [red]reasons\\x9b", "p\\u2066",
                  "bad\\x1b: boom [/]\\x07", "Note on n\\u202e: note [b]"):  # fmt: skip
        assert shown in text


# --- the gate ------------------------------------------------------------------------------


def hostile_gate_bundle(folder: Path) -> Path:
    """F selects 100 of 400 (1/4), M 300 of 400 (3/4): ratio 1/3, a failure at 0.8."""
    y_true, y_pred, g = rates_arrays(
        {"F\x1b]0;title\x07": (400, 100), "M\u202e[bold]x": (400, 300)}
    )
    result = audit_predictions(
        y_true, y_pred, sensitive_features={COLUMN: g}, options=AuditOptions()
    )
    write_bundle(result, folder)
    return folder


def test_the_gate_prints_hostile_names_escaped(pytester: pytest.Pytester) -> None:
    hostile_gate_bundle(pytester.path / "bundle")
    (pytester.path / "policy.toml").write_text(
        'name = "hiring\\u001b[2J[/]"\n'
        '[[criterion]]\nname = "demographic_parity_ratio"\nthreshold = 0.8\n',
        encoding="utf-8",
    )
    run = pytester.runpytest(
        "--fairtrail-only", "-v", "-rA", "-p", "no:cacheprovider",
        "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle",
    )  # fmt: skip
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.assert_outcomes(failed=1)
    out = run.stdout.str()
    assert_inert(out + run.stderr.str())
    assert "fairness::demographic_parity_ratio[sex\\x1b[2J[/]] FAILED" in out
    assert "F\\x1b]0;title\\x07" in out  # the failure's group table
    assert "M\\u202e[bold]x" in out
    assert "policy hiring\\x1b[2J[/] 0" in out  # the gate's summary section
    assert "FAILED   fairness::demographic_parity_ratio[sex\\x1b[2J[/]]: " in out  # :8, then " "


def test_a_gate_usage_error_naming_a_hostile_path(pytester: pytest.Pytester) -> None:
    (pytester.path / "policy.toml").write_text(
        '[[criterion]]\nname = "demographic_parity_ratio"\nthreshold = 0.8\n', encoding="utf-8"
    )
    run = pytester.runpytest(
        "--fairtrail-only", "-p", "no:cacheprovider", "--fairtrail-policy=policy.toml",
        "--fairtrail-bundle=gone\x1b[2J\u202e",
    )  # fmt: skip
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    err = run.stderr.str()
    assert_inert(err + run.stdout.str())
    assert "gone\\x1b[2J\\u202e" in err
