"""Print an audit result as rich tables (the CLI's only output format besides the bundle).

Every piece of text that came from the data, the spec, a bundle or a path is shown through
:func:`fairtrail._terminal.plain` (escaped, never markup). Tables keep their numbers whole:
a number column is as wide as its widest cell, a label column folds, and a table too wide
for the console is printed in parts that repeat the labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from audit import AuditResult, Bundle, Estimate, criterion_notes
from audit.mitigation import Candidate, GroupCost, TradeOff, signed_change
from fairtrail._terminal import plain, visible
from lineage import JOINT, StepEffect

if TYPE_CHECKING:
    from fairtrail._provenance import RecordedAudit

__all__ = [
    "TableColumn",
    "print_delivery",
    "print_result",
    "print_steps",
    "print_table",
    "print_tradeoff",
]

_VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "inconclusive": "bold yellow"}
_STATUS_WORDS = {
    "pass": "PASS — every criterion is met",
    "fail": "FAIL — at least one criterion is violated",
    "inconclusive": "INCONCLUSIVE — no criterion fails, but the data cannot confirm them all",
    "no_policy": "NO POLICY — metrics only, nothing judged",
}
_GROUP_METRICS = (
    ("selection_rate", "selection rate"),
    ("true_positive_rate", "TPR"),
    ("false_positive_rate", "FPR"),
    ("precision", "precision"),
    ("roc_auc", "AUC"),
    ("mean_absolute_error", "MAE"),
    ("root_mean_squared_error", "RMSE"),
    ("mean_error", "mean error"),
    ("r2_score", "R²"),
)
#: Width a label column keeps in a table before the table is printed in parts.
_LABEL_WIDTH = 12


def _num(x: float, digits: int = 3) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def _interval(e: Estimate, sep: str = " ") -> str:
    if not e.defined:
        return "undefined"
    if math.isnan(e.lower):
        return _num(e.value)
    return f"{_num(e.value)}{sep}[{_num(e.lower)}, {_num(e.upper)}]"


@dataclass(frozen=True)
class TableColumn:
    """A column of :func:`print_table`: its header and its cells, top to bottom.

    A cell is a ``str`` or a ``(str, style)`` pair; it is shown as it is (escaped by
    :func:`~fairtrail._terminal.visible`, never read as markup). ``narrow`` is the header on
    several lines, used when the one-line header would not fit the console.
    """

    header: str
    cells: Sequence[str | tuple[str, str]]
    justify: JustifyMethod = "right"
    narrow: str | None = None


def _cell(value: str | tuple[str, str], newlines: bool) -> Text:
    """A table cell, escaped, in its style."""
    text, style = (value, "") if isinstance(value, str) else value
    return plain(text, style, newlines=newlines)


def _width(value: str | tuple[str, str], newlines: bool) -> int:
    """The widest line of a cell as shown."""
    text = visible(value if isinstance(value, str) else value[0], newlines=newlines)
    return max(cell_len(line) for line in text.split("\n"))


def _layout(
    width: int,
    labels: Sequence[TableColumn],
    fixed: Sequence[TableColumn],
    values: Sequence[TableColumn],
    show_edge: bool,
    narrow: bool,
) -> tuple[dict[int, str], dict[int, int], list[list[TableColumn]]]:
    """Each column's header and width, and the value columns of each part of the table."""
    headers = {
        id(c): (c.narrow if narrow and c.narrow else c.header) for c in [*labels, *fixed, *values]
    }
    widths = {
        id(c): max(_width(headers[id(c)], True), *(_width(x, True) for x in c.cells))
        for c in [*fixed, *values]
    }
    # A column costs its width, a cell of padding on each side and one border.
    base = (1 if show_edge else -1) + sum(widths[id(c)] + 3 for c in fixed)
    for c in labels:
        label = max(_width(headers[id(c)], True), *(_width(x, False) for x in c.cells))
        base += min(label, _LABEL_WIDTH) + 3
    parts: list[list[TableColumn]] = []
    most = len(values)  # value columns in a part: as many as fit, then as even as they fit
    while not parts or most > -(-len(values) // len(parts)):
        if parts:
            most = -(-len(values) // len(parts))
        parts = [[]]
        used = base
        for column in values:
            cost = widths[id(column)] + 3
            if parts[-1] and (used + cost > width or len(parts[-1]) == most):
                parts.append([])
                used = base
            parts[-1].append(column)
            used += cost
    return headers, widths, parts


def print_table(
    console: Console,
    title: str,
    labels: Sequence[TableColumn],
    values: Sequence[TableColumn],
    *,
    fixed: Sequence[TableColumn] = (),
    show_edge: bool = True,
) -> None:
    """Print a table whose numbers are never cut: in parts when the console is too narrow.

    The ``labels`` columns come first and fold their text; the ``fixed`` and ``values``
    columns never wrap and are as wide as their widest line. When the labels (at up to 12
    cells each), the fixed columns and the value columns do not fit the console's width even
    with the columns' ``narrow`` headers, the value columns are spread over several tables,
    each repeating the labels and the fixed columns. A value column too wide for the console
    on its own is printed whole all the same (the terminal wraps the line; nothing is cut).

    Parameters
    ----------
    console : rich.console.Console
    title : str
        Shown above the table (above the first part; later parts add "(continued)").
    labels, values : sequence of TableColumn
        The columns, each with as many cells as the others.
    fixed : sequence of TableColumn, optional
        Columns after the labels that every part repeats (a count, a share).
    show_edge : bool, default True
        Draw the table's outer border.

    Examples
    --------
    >>> from rich.console import Console
    >>> console = Console(width=40, color_system=None)
    >>> print_table(console, "Sizes", [TableColumn("group", ["a" * 30], "left")],
    ...             [TableColumn("n", ["1,234"]), TableColumn("share", ["12.5%"])])
    Sizes
    ┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━┓
    ┃ group                ┃     n ┃ share ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━┩
    │ aaaaaaaaaaaaaaaaaaaa │ 1,234 │ 12.5% │
    │ aaaaaaaaaa           │       │       │
    └──────────────────────┴───────┴───────┘
    """
    headers, widths, parts = _layout(console.width, labels, fixed, values, show_edge, False)
    if len(parts) > 1:
        headers, widths, parts = _layout(console.width, labels, fixed, values, show_edge, True)
    for i, part in enumerate(parts):
        heading = plain(title)
        if i:
            heading.append(" (continued)")
        table = Table(title=heading, title_justify="left", show_edge=show_edge)
        for c in labels:
            table.add_column(_cell(headers[id(c)], True), justify=c.justify, overflow="fold")
        for c in [*fixed, *part]:
            table.add_column(
                _cell(headers[id(c)], True),
                justify=c.justify,
                no_wrap=True,
                min_width=widths[id(c)],
            )
        # Labels are user text: a newline in one is shown as \n; the other cells are ours.
        columns = [*((c, False) for c in labels), *((c, True) for c in [*fixed, *part])]
        for i in range(len(labels[0].cells) if labels else 0):
            table.add_row(*(_cell(c.cells[i], newlines) for c, newlines in columns))
        console.print(table, crop=False)


def print_result(console: Console, result: AuditResult, *, groups: bool = True) -> None:
    """Print the verdicts and per-group tables of ``result``."""
    d = result.data
    level = f"{result.options.confidence_level:.0%}"
    task = "regression" if result.task == "regression" else f"positive label {d.pos_label!r}"
    console.print(
        Text.assemble(
            ("Audit", "bold"),
            f" {visible(result.audit_id)}  ·  {d.n_rows:,} rows from {visible(d.source)}  ·  "
            f"{visible(task)}  ·  ",
            f"{level} intervals (exact or analytic)"
            if result.options.intervals
            else "no intervals (point estimates only)",
        )
    )
    if result.policy_name:
        rule = result.criteria[0].decision_rule if result.criteria else "—"
        console.print(
            Text.assemble(
                ("Policy", "bold"),
                f" {visible(result.policy_name)} (version {visible(result.policy_version)}), "
                f"decision rule: {visible(rule)}",
            )
        )
    if result.criteria:
        bound = {"max": "≤", "min": "≥"}
        print_table(
            console,
            "Policy criteria",
            [
                TableColumn("criterion", [c.criterion for c in result.criteria], "left"),
                TableColumn("attribute", [c.attribute for c in result.criteria], "left"),
            ],
            [
                TableColumn(
                    f"estimate [{level} interval]",
                    [_interval(c.estimate) for c in result.criteria],
                    "left",
                    narrow=f"estimate\n[{level} interval]",
                ),
                TableColumn(
                    "threshold", [f"{bound[c.bound]} {c.threshold:g}" for c in result.criteria]
                ),
                TableColumn(
                    "verdict",
                    [(c.verdict, _VERDICT_STYLE[c.verdict]) for c in result.criteria],
                    "left",
                ),
            ],
        )
        for c in result.criteria:
            for line in criterion_notes(c):
                console.print(
                    plain(f"  {c.criterion} on {c.attribute}: {line}", "dim"), soft_wrap=True
                )
    if groups:
        names = set(result.overall)
        metrics = [(k, label) for k, label in _GROUP_METRICS if k in names]
        for a in result.attributes:
            excluded = {d.metric: d.excluded_groups for d in a.disparities}
            print_table(
                console,
                f"Groups by {a.name}",
                [
                    TableColumn(
                        "group",
                        [
                            (g.group, "") if g.sufficient else (g.group + " †", "dim")
                            for g in a.groups
                        ],
                        "left",
                    )
                ],
                [
                    TableColumn(
                        f"{label}\n[{level} CI]",
                        [
                            _interval(g.metrics[k], sep="\n")
                            + (" †" if g.group in excluded[k] else "")
                            for g in a.groups
                        ],
                    )
                    for k, label in metrics
                ],
                fixed=[
                    TableColumn("n", [f"{g.count:,}" for g in a.groups]),
                    TableColumn("share", [f"{g.share:.1%}" for g in a.groups]),
                ],
            )
        console.print(
            f"† insufficient data: fewer than {result.options.min_group_size} rows in the group, "
            "or behind the rate (e.g. actual positives for TPR), or the unknown category; "
            "reported but never deciding a verdict. Undefined rates show as 'undefined', never 0.",
            markup=False,
        )
    for note in result.notes:
        console.print(Text.assemble(("note: ", "dim"), visible(note)))
    style = _VERDICT_STYLE.get(result.status, "bold")
    console.print(Text(f"Status: {_STATUS_WORDS[result.status]}", style=style))


def print_delivery(console: Console, recorded: RecordedAudit) -> None:
    """One line on the lineage events: where they are kept and whether they reached HTTP."""
    events = recorded.bundle / Bundle.EVENTS
    console.print(
        plain(f"Lineage: {len(recorded.events)} OpenLineage events in {events}"), soft_wrap=True
    )
    d = recorded.delivery
    if d is None:
        return
    if d.complete:
        console.print(plain(f"  sent to {d.target}: {d.delivered} events."), soft_wrap=True)
    else:
        console.print(
            plain(
                f"  not all sent to {d.target} ({d.reason}): {d.delivered} of "
                f"{d.delivered + d.failed} delivered. The events are kept in the bundle; send "
                f"them later with `fairtrail lineage push {recorded.bundle}`.",
                "yellow",
            ),
            soft_wrap=True,
        )


def print_steps(console: Console, effects: Sequence[StepEffect]) -> None:
    """Each preparation step's effect on every group: removed rates, flagged gaps first."""
    for effect in effects:
        outputs = ", ".join(f"{n} {r:,}" for n, r in effect.outputs)
        console.print(
            Text.assemble(
                ("Step", "bold"), visible(f" {effect.step}: {effect.rows_in:,} rows in → {outputs}")
            )
        )
        for flag in effect.flags:
            console.print(
                Text.assemble(
                    "  ",
                    ("flagged", "bold red"),
                    visible(
                        f" {flag.feature} ({flag.output}): removed "
                        f"{flag.highest.removed_rate:.1%} of {flag.highest.value} but "
                        f"{flag.lowest.removed_rate:.1%} of {flag.lowest.value} "
                        f"(gap {flag.gap:.1%} > tolerance {effect.tolerance:.0%})"
                    ),
                ),
                soft_wrap=True,
            )
        single = len(effect.outputs) == 1
        if single and all(g.rows_in == g.rows_out for g in effect.groups):
            console.print("  every group kept all its rows", markup=False)
            continue
        by_feature: dict[tuple[str, str], list[str]] = {}
        for g in effect.groups:
            if g.rows_in and JOINT not in g.feature:  # intersections: in the bundle's lineage
                rate = g.removed_rate if single else 1 - g.removed_rate
                by_feature.setdefault((g.output, g.feature), []).append(
                    f"{g.value or '(missing)'} {rate:.1%}"
                )
        for (output, feature), parts in by_feature.items():
            label = "removed" if single else f"share in {output}"
            console.print(plain(f"  {label} by {feature}: {', '.join(parts)}"), soft_wrap=True)


_signed_points = partial(signed_change, in_y_units=False)  # changes of rates, in points
_signed = partial(signed_change, in_y_units=True)  # changes in units of y


def print_tradeoff(console: Console, tradeoff: TradeOff, *, groups: bool = True) -> None:
    """Print the frontier table, the chosen candidate with its rationale, and who pays."""
    t = tradeoff
    metric, criterion = t.performance_metric, t.criterion
    regression = t.task == "regression"
    change = _signed if regression else _signed_points
    units = (
        f"Δ: change against the baseline (units of y); cost: {metric} lost per unit of "
        "disparity removed"
        if regression
        else f"Δ: points against the baseline; cost: {metric} points lost per point of "
        "disparity removed"
    )
    cs = t.candidates
    print_table(
        console,
        f"Mitigation trade-off: {t.constraint} on {t.attribute}; disparity = {criterion} "
        f"(held-out, {t.n_test:,} rows). {units}; ★ chosen",
        [
            TableColumn(
                "candidate",
                [
                    ("★ " + c.name, "bold") if c.name == t.chosen else ("  " + c.name, "")
                    for c in cs
                ],
                "left",
            )
        ],
        [
            TableColumn(f"{metric} [CI]", [_interval(c.performance) for c in cs], "left"),
            TableColumn("disparity [CI]", [_interval(c.disparity) for c in cs], "left"),
            TableColumn("Δ perf", [change(c.performance_change) for c in cs]),
            TableColumn("Δ disp", [change(c.disparity_change) for c in cs]),
            TableColumn("cost", [_num(c.cost_per_point, 2) for c in cs]),
            TableColumn("Pareto", ["yes" if c.pareto else "" for c in cs], "left"),
            TableColumn(
                "policy",
                [(c.status, _VERDICT_STYLE.get(c.status, "")) for c in cs],
                "left",
            ),
            TableColumn("fit s", [_num(c.fit_seconds, 1) for c in cs]),
        ],
        show_edge=False,
    )
    for name, error in t.failures.items():
        console.print(
            Text.assemble(("  failed: ", "red"), visible(f"{name}: {error}")), soft_wrap=True
        )
    for note in t.skipped:
        console.print(plain(f"Skipped: {note}."), soft_wrap=True)
    for name, note in t.notes.items():
        console.print(plain(f"Note on {name}: {note}"), soft_wrap=True)
    rule = t.rule.kind + (
        f", at most {t.rule.max_performance_loss:.3g} {metric} lost"
        if t.rule.max_performance_loss is not None
        else ""
    )
    console.print(
        Text.assemble(
            ("Selection", "bold"),
            visible(
                f" rule {rule}; policy {t.policy_name or '—'}"
                + (f" (version {t.policy_version})" if t.policy_version else "")
            ),
        ),
        soft_wrap=True,
    )
    console.print(
        Text.assemble(
            ("Chosen", "bold"), " ", visible(("" if t.chosen else "none. ") + t.rationale)
        ),
        soft_wrap=True,
    )
    if not groups or t.chosen is None or t.chosen == t.baseline:
        return
    _print_who_pays(console, t, t.candidate(t.chosen))


#: Who-pays columns by task: (header, GroupCost field, metric, formatter).
_PAYS_COLUMNS: dict[str, tuple[tuple[str, str, str, Callable[[float], str]], ...]] = {
    "binary_classification": (
        ("Δ accuracy", "changes", "accuracy", _signed_points),
        ("Δ TPR", "changes", "true_positive_rate", _signed_points),
        ("Δ FPR", "changes", "false_positive_rate", _signed_points),
        ("Δ selection rate", "changes", "selection_rate", _signed_points),
        ("accuracy", "values", "accuracy", _num),
    ),
    "regression": (
        ("Δ MAE", "changes", "mean_absolute_error", _signed),
        ("Δ RMSE", "changes", "root_mean_squared_error", _signed),
        ("Δ mean error", "changes", "mean_error", _signed),
        ("MAE", "values", "mean_absolute_error", _num),
        ("RMSE", "values", "root_mean_squared_error", _num),
    ),
}


def _print_who_pays(console: Console, t: TradeOff, chosen: Candidate) -> None:
    """Each group's change under the chosen candidate, the group that lost most first."""
    regression = t.task == "regression"
    # The performance each group loses: its accuracy, or its error in the disparity's metric.
    key = t.criterion.removesuffix("_difference") if regression else "accuracy"
    worse = 1.0 if regression else -1.0

    def most_lost_first(g: GroupCost) -> tuple[bool, float]:
        change = g.changes.get(key, math.nan)
        return math.isnan(change), -worse * change

    rows = sorted(chosen.groups, key=most_lost_first)
    print_table(
        console,
        f"Who pays: {t.chosen} against the baseline, per group "
        + ("(units of y)" if regression else "(points)"),
        [TableColumn("group", [g.group for g in rows], "left")],
        [
            TableColumn(header, [fmt(getattr(g, field)[metric]) for g in rows])
            for header, field, metric, fmt in _PAYS_COLUMNS[t.task]
        ],
        fixed=[TableColumn("n", [f"{g.count:,}" for g in rows])],
    )
