"""Print an audit result as rich tables (the CLI's only output format besides the bundle)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from audit import AuditResult, Estimate, criterion_notes
from audit.mitigation import Candidate, GroupCost, TradeOff
from audit.mitigation._choose import signed_change
from lineage import StepEffect
from lineage._groups import JOINT

if TYPE_CHECKING:
    from fairtrail._provenance import RecordedAudit

__all__ = ["print_delivery", "print_result", "print_steps", "print_tradeoff"]

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


def _num(x: float, digits: int = 3) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def _interval(e: Estimate, sep: str = " ") -> str:
    if not e.defined:
        return "undefined"
    if math.isnan(e.lower):
        return _num(e.value)
    return f"{_num(e.value)}{sep}[{_num(e.lower)}, {_num(e.upper)}]"


def print_result(console: Console, result: AuditResult, *, groups: bool = True) -> None:
    """Print the verdicts and per-group tables of ``result``."""
    d = result.data
    level = f"{result.options.confidence_level:.0%}"
    task = "regression" if result.task == "regression" else f"positive label {d.pos_label!r}"
    console.print(
        f"[bold]Audit[/bold] {result.audit_id}  ·  {d.n_rows:,} rows from {d.source}  ·  "
        f"{task}  ·  "
        + (
            f"{level} intervals (exact or analytic)"
            if result.options.intervals
            else "no intervals (point estimates only)"
        )
    )
    if result.policy_name:
        console.print(
            f"[bold]Policy[/bold] {result.policy_name} (version {result.policy_version}), "
            f"decision rule: {result.criteria[0].decision_rule if result.criteria else '—'}"
        )
    if result.criteria:
        table = Table(title="Policy criteria", title_justify="left")
        for col in (
            "criterion",
            "attribute",
            f"estimate [{level} interval]",
            "threshold",
            "verdict",
        ):
            table.add_column(
                col, justify="right" if col == "threshold" else "left", no_wrap=col != "attribute"
            )
        for c in result.criteria:
            bound = "≤" if c.bound == "max" else "≥"
            table.add_row(
                c.criterion,
                c.attribute,
                _interval(c.estimate),
                f"{bound} {c.threshold:g}",
                Text(c.verdict, style=_VERDICT_STYLE[c.verdict]),
            )
        console.print(table)
        for c in result.criteria:
            for line in criterion_notes(c):
                console.print(
                    Text(f"  {c.criterion} on {c.attribute}: {line}", style="dim"), soft_wrap=True
                )
    if groups:
        names = set(result.overall)
        metrics = [(k, label) for k, label in _GROUP_METRICS if k in names]
        for a in result.attributes:
            table = Table(title=f"Groups by {a.name}", title_justify="left")
            table.add_column("group", no_wrap=True)
            table.add_column("n", justify="right", no_wrap=True)
            table.add_column("share", justify="right", no_wrap=True)
            excluded = {d.metric: d.excluded_groups for d in a.disparities}
            for _, label in metrics:
                table.add_column(f"{label}\n[{level} CI]", justify="right", no_wrap=True)
            for g in a.groups:
                mark = "" if g.sufficient else " †"
                table.add_row(
                    Text(g.group + mark, style="" if g.sufficient else "dim"),
                    f"{g.count:,}",
                    f"{g.share:.1%}",
                    *[
                        _interval(g.metrics[k], sep="\n") + (" †" if g.group in excluded[k] else "")
                        for k, _ in metrics
                    ],
                )
            console.print(table)
        console.print(
            f"† insufficient data: fewer than {result.options.min_group_size} rows in the group, "
            "or behind the rate (e.g. actual positives for TPR), or the unknown category; "
            "reported but never deciding a verdict. Undefined rates show as 'undefined', never 0."
        )
    for note in result.notes:
        console.print(Text.assemble(("note: ", "dim"), note))
    style = _VERDICT_STYLE.get(result.status, "bold")
    console.print(Text(f"Status: {_STATUS_WORDS[result.status]}", style=style))


def print_delivery(console: Console, recorded: RecordedAudit) -> None:
    """One line on the lineage events: where they are kept and whether they reached HTTP."""
    console.print(
        f"Lineage: {len(recorded.events)} OpenLineage events in "
        f"{recorded.bundle / 'lineage' / 'events.jsonl'}",
        soft_wrap=True,
    )
    d = recorded.delivery
    if d is None:
        return
    if d.complete:
        console.print(f"  sent to {d.target}: {d.delivered} events.", soft_wrap=True)
    else:
        console.print(
            f"  not all sent to {d.target} ({d.reason}): {d.delivered} of "
            f"{d.delivered + d.failed} delivered. The events are kept in the bundle; send them "
            f"later with `fairtrail lineage push {recorded.bundle}`.",
            soft_wrap=True,
            markup=False,  # the reason quotes the server's answer
            style="yellow",
        )


def print_steps(console: Console, effects: Sequence[StepEffect]) -> None:
    """Each preparation step's effect on every group: removed rates, flagged gaps first."""
    for effect in effects:
        outputs = ", ".join(f"{n} {r:,}" for n, r in effect.outputs)
        console.print(f"[bold]Step[/bold] {effect.step}: {effect.rows_in:,} rows in → {outputs}")
        for flag in effect.flags:
            console.print(
                f"  [bold red]flagged[/bold red] {flag.feature} ({flag.output}): removed "
                f"{flag.highest.removed_rate:.1%} of {flag.highest.value} but "
                f"{flag.lowest.removed_rate:.1%} of {flag.lowest.value} "
                f"(gap {flag.gap:.1%} > tolerance {effect.tolerance:.0%})",
                soft_wrap=True,
            )
        single = len(effect.outputs) == 1
        if single and all(g.rows_in == g.rows_out for g in effect.groups):
            console.print("  every group kept all its rows")
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
            console.print(f"  {label} by {feature}: {', '.join(parts)}", soft_wrap=True)


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
    table = Table(
        title=f"Mitigation trade-off: {t.constraint} on {t.attribute}; disparity = {criterion} "
        f"(held-out, {t.n_test:,} rows). {units}; ★ chosen",
        title_justify="left",
        show_edge=False,
    )
    for col, right in (
        ("candidate", False),
        (f"{metric} [CI]", False),
        ("disparity [CI]", False),
        ("Δ perf", True),
        ("Δ disp", True),
        ("cost", True),
        ("Pareto", False),
        ("policy", False),
        ("fit s", True),
    ):
        table.add_column(col, justify="right" if right else "left", no_wrap=True)
    for c in t.candidates:
        is_chosen = c.name == t.chosen
        table.add_row(
            Text(("★ " if is_chosen else "  ") + c.name, style="bold" if is_chosen else ""),
            _interval(c.performance),
            _interval(c.disparity),
            change(c.performance_change),
            change(c.disparity_change),
            _num(c.cost_per_point, 2),
            "yes" if c.pareto else "",
            Text(c.status, style=_VERDICT_STYLE.get(c.status, "")),
            _num(c.fit_seconds, 1),
        )
    for name, error in t.failures.items():
        table.add_row("  " + name, Text(f"failed: {error}", style="red"), *[""] * 7)
    console.print(table)
    for note in t.skipped:
        console.print(f"Skipped: {note}.", soft_wrap=True)
    for name, note in t.notes.items():
        console.print(f"Note on {name}: {escape(note)}", soft_wrap=True)
    rule = t.rule.kind + (
        f", at most {t.rule.max_performance_loss:.3g} {metric} lost"
        if t.rule.max_performance_loss is not None
        else ""
    )
    console.print(
        f"[bold]Selection[/bold] rule {rule}; policy {t.policy_name or '—'}"
        + (f" (version {t.policy_version})" if t.policy_version else ""),
        soft_wrap=True,
    )
    console.print(
        f"[bold]Chosen[/bold] {'' if t.chosen else 'none. '}{escape(t.rationale)}", soft_wrap=True
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
    pays = Table(
        title=f"Who pays: {t.chosen} against the baseline, per group "
        + ("(units of y)" if regression else "(points)"),
        title_justify="left",
    )
    columns = _PAYS_COLUMNS[t.task]
    for col in ("group", "n", *(c[0] for c in columns)):
        pays.add_column(col, justify="left" if col == "group" else "right", no_wrap=True)

    def most_lost_first(g: GroupCost) -> tuple[bool, float]:
        change = g.changes.get(key, math.nan)
        return math.isnan(change), -worse * change

    for g in sorted(chosen.groups, key=most_lost_first):
        cells = [fmt(getattr(g, field)[metric]) for _, field, metric, fmt in columns]
        pays.add_row(escape(g.group), f"{g.count:,}", *cells)
    console.print(pays)
