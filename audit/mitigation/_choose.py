"""Choosing a candidate of the trade-off by a selection rule, and writing why.

Works on audited :class:`~audit.mitigation.Candidate` objects. Performance is compared in
its own direction (higher accuracy, lower regression loss); changes of rates are written in
percentage points, changes in the units of ``y`` as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit._metrics import METRIC_INFO, REGRESSION_METRICS

if TYPE_CHECKING:
    from audit._policy import Policy
    from audit.mitigation._tradeoff import Candidate, SelectionRule


@dataclass(frozen=True)
class Axes:
    """The frontier's two axes and the task they belong to."""

    metric: str
    criterion: str
    task: str

    @property
    def sign(self) -> float:
        """+1 when a higher performance is better, −1 for a loss."""
        return -1.0 if METRIC_INFO[self.metric].higher_is_better is False else 1.0

    def lost(self, c: Candidate) -> float:
        """How much performance ``c`` lost against the baseline (negative: gained)."""
        return -self.sign * c.performance_change


def signed_change(value: float, in_y_units: bool) -> str:
    """A signed change for a table: percentage points of a rate, or as it is in units of ``y``.

    Examples
    --------
    >>> signed_change(-0.031, False), signed_change(0.25, True), signed_change(math.nan, True)
    ('-3.1', '+0.25', '—')
    """
    if math.isnan(value):
        return "—"
    return f"{value:+.3g}" if in_y_units else f"{100 * value:+.1f}"


def change_text(value: float, in_y_units: bool) -> str:
    """A signed change in a sentence: with its unit for rates (points).

    Examples
    --------
    >>> change_text(-0.031, False), change_text(0.25, True)
    ('-3.1 points', '+0.25')
    """
    return signed_change(value, in_y_units) + ("" if in_y_units else " points")


def choose(
    candidates: list[Candidate],
    rule: SelectionRule,
    axes: Axes,
    policy: Policy | None,
    confidence: float,
) -> tuple[str | None, str]:
    """The chosen candidate's name (None when none qualifies) and the rationale."""
    metric, criterion = axes.metric, axes.criterion
    limit = rule.max_performance_loss
    within = [c for c in candidates if limit is None or axes.lost(c) <= limit + 1e-12]
    if rule.kind == "best_passing":
        if policy is None:
            return None, "No policy was given, so no candidate can be chosen as satisfying it."
        admissible = [c for c in within if c.status == "pass"]
        if not admissible:
            return None, (
                f"No candidate satisfies every criterion of policy '{policy.name}' on the "
                f"held-out data"
                + (f" within a {metric} loss of {limit:.3g}" if limit else "")
                + f"; none is chosen. Closest: {_closest(candidates).name}."
            )
        best = max(admissible, key=lambda c: (axes.sign * c.performance.value, -c.disparity.value))
        best_word = "highest" if axes.sign > 0 else "lowest"
        how = (
            f"it has the {best_word} {metric} of the {len(admissible)} of {len(candidates)} "
            f"candidates that satisfy every criterion of policy '{policy.name}' on the "
            f"held-out data"
            + (
                f" with {confidence:.0%} confidence (decision rule: whole interval within "
                "each threshold)"
                if policy.decision_rule == "interval"
                else " (point estimates)"
            )
        )
    else:
        defined = [c for c in within if not math.isnan(c.disparity.value)]
        if not defined:
            return None, f"No candidate loses at most {limit:.3g} {metric}; none is chosen."
        best = min(defined, key=lambda c: (c.disparity.value, -axes.sign * c.performance.value))
        how = f"it has the lowest {criterion} among candidates losing at most {limit:.3g} {metric}"
    text = f"{best.name} is chosen: {how}. " + describe_cost(best, candidates[0], axes)
    return best.name, text


def _closest(candidates: list[Candidate]) -> Candidate:
    defined = [c for c in candidates if not math.isnan(c.disparity.value)] or candidates
    return min(defined, key=lambda c: c.disparity.value)


def describe_cost(c: Candidate, base: Candidate, axes: Axes) -> str:
    """What choosing ``c`` costs against the baseline ``base``, and who pays most, in words."""
    if c.name == base.name:
        traded = "performance" if axes.task == "regression" else "accuracy"
        return f"It is the unmitigated model: no {traded} is traded."
    metric, criterion = axes.metric, axes.criterion
    metric_y = metric in REGRESSION_METRICS  # not a rate: its change as it is
    disp_y = axes.task == "regression"
    text = (
        f"{metric} {c.performance.value:.3f} against {base.performance.value:.3f} unmitigated "
        f"({change_text(c.performance_change, metric_y)}); {criterion} "
        f"{c.disparity.value:.3f} against {base.disparity.value:.3f} "
        f"({change_text(c.disparity_change, disp_y)})"
    )
    if not math.isnan(c.cost_per_point) and not disp_y:
        text += f": {c.cost_per_point:.2f} {metric} points per point of disparity removed"
    elif not math.isnan(c.cost_per_point):
        text += f": {c.cost_per_point:.3g} {metric} lost per unit of disparity removed"
    return text + _who_pays(c, axes) + "."


def _who_pays(c: Candidate, axes: Axes) -> str:
    """The group whose own performance got the most worse."""
    if axes.task == "regression":
        key = axes.criterion.removesuffix("_difference")  # the loss the disparity compares
        worse = 1.0  # a loss: an increase is worse
    else:
        key, worse = "accuracy", -1.0
    payers = sorted(
        (g for g in c.groups if not math.isnan(g.changes.get(key, math.nan))),
        key=lambda g: -worse * g.changes[key],
    )
    if not payers:
        return ""
    p = payers[0]
    if axes.task == "regression":
        return (
            f". Who pays: group {p.group} has the largest change of {key} "
            f"({change_text(p.changes[key], True)}, to {p.values[key]:.3g})"
        )
    return (
        f". Who pays: group {p.group} loses the most accuracy "
        f"({change_text(p.changes['accuracy'], False)}, selection rate "
        f"{change_text(p.changes['selection_rate'], False)})"
    )
