"""From sufficient statistics to an :class:`~audit.AuditResult`.

:func:`audit_statistics` never sees a row: it works on :class:`CellStatistics` only, whatever
engine counted them. Every group value has its own interval (see ``_intervals``: exact or
analytic, inside its range); a disparity's interval is the one implied by a confidence set of
the group values it compares (``_disparities``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from audit._disparities import (
    DISPARITY_INTERVAL,
    GroupMetric,
    Measure,
    disparity_bounds,
    disparity_point,
    needed_scale,
)
from audit._exceptions import SpecError, UndefinedMetricWarning
from audit._group_stats import ScoreCells, group_values
from audit._metrics import (
    METRIC_INFO,
    REGRESSION_METRICS,
    SUPPORT_NAME,
    auc_tie_bound,
)
from audit._policy import Policy, judge, parse_criterion
from audit._regulatory import four_fifths, ll144_table, representation_test
from audit._result import (
    AttributeResult,
    AuditOptions,
    AuditResult,
    CellRow,
    CriterionResult,
    DataSummary,
    Disparity,
    Estimate,
    GroupResult,
    criterion_notes,
)
from audit._statistics import CellStatistics
from audit._validation import UNKNOWN_CATEGORY

__all__ = ["audit_statistics"]

FloatArray = npt.NDArray[np.float64]

#: Separator of categories in the label of an intersectional group.
JOIN = " × "

#: Intersections with more combinations than this list only the combinations seen in the data.
MAX_LISTED_COMBINATIONS = 10_000

#: The reason given for every metric of a group without rows.
NO_ROWS = "no rows"


@dataclass
class _Attribute:
    """Working state of one attribute while the result is assembled."""

    name: str
    features: tuple[str, ...]
    labels: list[str]
    categories: list[tuple[str, ...]]
    unknown: npt.NDArray[np.bool_]
    matrix: FloatArray  # (n_groups, n_cells) 0/1 aggregation
    count: npt.NDArray[np.int64]
    weight: FloatArray
    metrics: dict[str, GroupMetric]
    reference: int | None = None


def _attribute_names(stats: CellStatistics, options: AuditOptions) -> list[tuple[str, ...]]:
    names: list[tuple[str, ...]] = [(f,) for f in stats.features]
    extra = list(options.intersections)
    if not extra and len(stats.features) > 1:
        extra = [stats.features]
    for combo in extra:
        unknown = [f for f in combo if f not in stats.features]
        if unknown:
            raise SpecError(
                f"intersections names {unknown}, which are not sensitive features "
                f"{list(stats.features)}."
            )
        if len(combo) > 1 and tuple(combo) not in names:
            names.append(tuple(combo))
    return names


def _group_matrix(
    stats: CellStatistics, features: tuple[str, ...]
) -> tuple[FloatArray, list[tuple[str, ...]], npt.NDArray[np.bool_], int]:
    """Groups of ``features``: every combination of their categories, empty ones included.

    Returns the aggregation matrix, the groups' categories, which hold the unknown category,
    and how many empty combinations were left unlisted (beyond
    :data:`MAX_LISTED_COMBINATIONS`).
    """
    cols = [stats.features.index(f) for f in features]
    sizes = [len(stats.categories[c]) for c in cols]
    observed, inverse = np.unique(stats.cells[:, cols], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    total = math.prod(sizes)
    if total <= MAX_LISTED_COMBINATIONS:
        keys = np.array(list(itertools.product(*(range(s) for s in sizes))), dtype=np.int64)
        keys = keys.reshape(total, len(cols))
        position = np.zeros(observed.shape[0], dtype=np.intp)
        for i, row in enumerate(observed):
            position[i] = int(np.ravel_multi_index(tuple(int(k) for k in row), sizes))
        row_of_cell = position[inverse]
        unlisted = 0
    else:
        keys, row_of_cell = observed, inverse
        unlisted = total - observed.shape[0]
    matrix = np.zeros((keys.shape[0], stats.n_cells))
    matrix[row_of_cell, np.arange(stats.n_cells)] = 1.0
    cats = [
        tuple(stats.categories[c][int(k)] for c, k in zip(cols, row, strict=True)) for row in keys
    ]
    unknown = np.array([UNKNOWN_CATEGORY in c for c in cats], dtype=bool)
    return matrix, cats, unknown, unlisted


def _estimate(
    value: float,
    lower: float,
    upper: float,
    reason: str | None,
    sim: tuple[float, float] = (math.nan, math.nan),
) -> Estimate:
    if math.isnan(value):
        return Estimate(math.nan, undefined_reason=reason or "undefined")
    return Estimate(float(value), float(lower), float(upper), float(sim[0]), float(sim[1]))


def _phrase(verdict: str, measure: Measure) -> str:
    side = "maximum" if measure == "difference" else "minimum"
    return {
        "pass": f"the whole interval is within the {side}",
        "fail": f"the whole interval is beyond the {side}",
        "inconclusive": f"the interval straddles the {side}, so the data cannot decide",
    }[verdict]


def _undefined_count(attributes: Sequence[AttributeResult]) -> int:
    """Undefined group values, not counting groups without rows (noted on their own)."""
    return sum(
        1
        for a in attributes
        for g in a.groups
        if g.count > 0
        for e in g.metrics.values()
        if not e.defined
    )


def warn_undefined(result: AuditResult, stacklevel: int) -> None:
    """Warn once (``UndefinedMetricWarning``) when some group metric is undefined."""
    undefined = _undefined_count(result.attributes)
    if undefined:
        warnings.warn(
            f"{undefined} group metric values are undefined and reported as NaN with a "
            "reason (never as 0); see the undefined_reason of each estimate.",
            UndefinedMetricWarning,
            stacklevel=stacklevel + 1,
        )


def audit_statistics(
    stats: CellStatistics,
    *,
    options: AuditOptions,
    policy: Policy | None = None,
    source: str = "<data>",
    roles: Mapping[str, str] | None = None,
    pos_label: str = "1",
    labels: tuple[str, str] = ("0", "1"),
    unknown_counts: Mapping[str, int] | None = None,
) -> AuditResult:
    """Compute an audit result from cell statistics alone.

    Parameters
    ----------
    stats : CellStatistics
        Output of the counting step.
    options : AuditOptions
    policy : Policy, optional
        Without one, metrics and disparities are reported and the status is ``"no_policy"``.
    source, roles, pos_label, labels, unknown_counts
        Descriptions recorded in the result's :class:`DataSummary`.

    Returns
    -------
    AuditResult

    Notes
    -----
    A group takes part in a metric's disparities only when it has at least
    ``min_group_size`` rows *and* the metric rests on at least ``min_group_size`` rows of it
    (a true positive rate on its actual positives, a precision on its predicted positives),
    and it is not the unknown category. Other groups are reported with their values and
    intervals and listed in ``excluded_groups`` with the reason. Every combination of an
    intersection's categories is listed, those without rows with ``count = 0`` and every
    value undefined ("no rows").

    Warns ``UndefinedMetricWarning`` once when some group metric is undefined.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit._statistics import count_statistics
    >>> from audit._validation import prepare_data
    >>> df = pd.DataFrame({"y": [0, 1] * 50, "p": [0, 1, 1, 1] * 25, "g": ["a"] * 60 + ["b"] * 40})
    >>> stats = count_statistics(prepare_data(df, y_true="y", y_pred="p", sensitive_features=["g"]))
    >>> result = audit_statistics(stats, options=AuditOptions())
    >>> [(g.group, g.metrics["selection_rate"].value) for g in result.attribute("g").groups]
    [('a', 0.75), ('b', 0.75)]
    """
    result = compute_audit(
        stats,
        options=options,
        policy=policy,
        source=source,
        roles=roles,
        pos_label=pos_label,
        labels=labels,
        unknown_counts=unknown_counts,
    )
    warn_undefined(result, stacklevel=2)
    return result


def compute_audit(
    stats: CellStatistics,
    *,
    options: AuditOptions,
    policy: Policy | None = None,
    source: str = "<data>",
    roles: Mapping[str, str] | None = None,
    pos_label: str = "1",
    labels: tuple[str, str] = ("0", "1"),
    unknown_counts: Mapping[str, int] | None = None,
) -> AuditResult:
    """:func:`audit_statistics` without the warning (for callers that warn themselves)."""
    if not 0.0 < options.confidence_level < 1.0:
        raise SpecError(f"confidence_level must be in (0, 1); got {options.confidence_level!r}.")
    if (options.task == "regression") != (stats.regression is not None):
        raise SpecError(
            f"options.task is {options.task!r} but the statistics were counted for {stats.task!r}."
        )
    level = options.confidence_level
    total_weight = float(stats.cell_weight.sum())
    probability = options.score_type == "probability"
    hist = stats.scores
    with_intervals = options.intervals

    score_cells = ScoreCells.of(hist) if hist is not None else None
    whole = group_values(
        stats,
        np.ones((1, stats.n_cells)),
        probability=probability,
        intervals=with_intervals,
        score_cells=score_cells,
    )
    metric_names = list(whole.values)
    work: list[_Attribute] = []
    unlisted = 0
    for features in _attribute_names(stats, options):
        matrix, cats, unknown, left_out = _group_matrix(stats, features)
        unlisted += left_out
        count = (matrix @ stats.cell_count).round().astype(np.int64)
        g_weight = matrix @ stats.cell_weight
        gv = group_values(
            stats,
            matrix,
            probability=probability,
            intervals=with_intervals,
            score_cells=score_cells,
        )
        base = (count >= options.min_group_size) & (
            ~unknown | options.include_unknown_in_disparities
        )
        metrics = {
            name: GroupMetric(
                values=gv.values[name],
                support=gv.support[name],
                eligible=base
                & np.isfinite(gv.values[name])
                & (gv.support[name] >= options.min_group_size),
                overall=float(whole.values[name][0]),
                intervals=None if gv.intervals is None else gv.intervals[name],
                overall_intervals=None if whole.intervals is None else whole.intervals[name],
                signed=name in ("mean_error", "mean_prediction", "r2_score"),
            )
            for name in metric_names
        }
        attr = _Attribute(
            name=JOIN.join(features),
            features=features,
            labels=[JOIN.join(c) for c in cats],
            categories=cats,
            unknown=unknown,
            matrix=matrix,
            count=count,
            weight=g_weight,
            metrics=metrics,
        )
        attr.reference = _reference_index(attr, options)
        work.append(attr)

    overall = {}
    for name in metric_names:
        lo, hi = (
            whole.intervals[name].bounds(level)
            if whole.intervals is not None
            else (np.array([math.nan]), np.array([math.nan]))
        )
        overall[name] = _estimate(
            float(whole.values[name][0]), lo[0], hi[0], _overall_reason(name, probability)
        )
    attributes = [_attribute_result(a, stats, options, total_weight, probability) for a in work]
    notes = _notes(work, attributes, options, unlisted) + _missing_note(stats)
    criteria = _criteria(policy, work, attributes, options) if policy else ()
    status: Literal["pass", "fail", "inconclusive", "no_policy"] = "no_policy"
    if criteria:
        verdicts = {c.verdict for c in criteria}
        status = (
            "fail"
            if "fail" in verdicts
            else ("inconclusive" if "inconclusive" in verdicts else "pass")
        )
    tie = math.nan
    binning = "no score"
    if hist is not None:
        # One population-wide bound; NaN when the AUC itself is undefined (one class).
        tie = float(auc_tie_bound(hist.weight.sum(0)[None])[0])
        binning = (
            f"exact: one bin per distinct score ({hist.n_bins} values)"
            if hist.exact
            else f"equal-width: {hist.n_bins} bins"
        )
    cells = tuple(
        CellRow(
            tuple(stats.categories[j][int(k)] for j, k in enumerate(row)),
            int(n),
            *map(int, confusion),
        )
        for row, n, confusion in zip(
            stats.cells, stats.cell_count, stats.confusion_count, strict=True
        )
    )
    methods = (
        {name: whole.intervals[name].method for name in metric_names}
        if whole.intervals is not None
        else {}
    )
    if methods:
        methods["disparities"] = DISPARITY_INTERVAL
    return AuditResult(
        audit_id=uuid.uuid4().hex,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        task=options.task,
        data=DataSummary(
            source=source,
            n_rows=stats.n_rows,
            total_weight=total_weight,
            weighted=stats.weighted,
            pos_label=pos_label,
            labels=labels,
            roles=dict(roles or {}),
            sensitive_features=stats.features,
            unknown_counts=dict(unknown_counts or {f: 0 for f in stats.features}),
            score_binning=binning,
            roc_auc_max_binning_error=0.0 if hist is not None and hist.exact else tie,
        ),
        options=options,
        policy_name=policy.name if policy else "",
        policy_version=policy.version if policy else "",
        status=status,
        overall=overall,
        attributes=tuple(attributes),
        criteria=criteria,
        cells=cells,
        notes=tuple(notes),
        interval_methods=methods,
    )


def _group_bounds(
    m: GroupMetric, level: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Each group's own interval, and the simultaneous ones of the eligible groups."""
    n = m.values.shape[0]
    nan = np.full(n, np.nan)
    if m.intervals is None:
        return nan, nan, nan.copy(), nan.copy()
    lo, hi = m.intervals.bounds(level)
    s_lo, s_hi = np.full(n, np.nan), np.full(n, np.nan)
    family = np.flatnonzero(m.eligible)
    if family.size:
        sl, sh = m.intervals.bounds(1.0 - (1.0 - level) / family.size)
        s_lo[family], s_hi[family] = sl[family], sh[family]
    return lo, hi, s_lo, s_hi


def _attribute_result(
    a: _Attribute,
    stats: CellStatistics,
    options: AuditOptions,
    total_weight: float,
    probability: bool,
) -> AttributeResult:
    level = options.confidence_level
    n_groups = len(a.labels)
    per_group: list[dict[str, Estimate]] = [{} for _ in range(n_groups)]
    disparities = []
    for name, m in a.metrics.items():
        lo, hi, s_lo, s_hi = _group_bounds(m, level)
        for g in range(n_groups):
            reason = None
            if math.isnan(m.values[g]):
                reason = NO_ROWS if a.count[g] == 0 else _group_reason(name, probability)
            per_group[g][name] = _estimate(m.values[g], lo[g], hi[g], reason, (s_lo[g], s_hi[g]))
        excluded = _exclusions(a, m, name, options, probability)
        points = disparity_point(m, options.disparity_method, a.reference)
        bounds = disparity_bounds([m], options.disparity_method, a.reference, level)
        order = np.flatnonzero(m.eligible)
        hi_g = a.labels[order[np.argmax(m.values[order])]] if order.size else None
        lo_g = a.labels[order[np.argmin(m.values[order])]] if order.size else None
        for measure in ("difference", "ratio"):
            point, reason = points[measure]
            b = bounds[measure]
            disparities.append(
                Disparity(
                    metric=name,
                    measure=measure,
                    method=_method_label(options, a),
                    estimate=_estimate(point, b[0], b[1], reason, b),
                    groups_compared=tuple(a.labels[i] for i in order),
                    excluded_groups=excluded,
                    highest_group=hi_g,
                    lowest_group=lo_g,
                )
            )
    missing = a.matrix @ stats.missing_count
    sufficient = a.count >= options.min_group_size
    groups = tuple(
        GroupResult(
            group=a.labels[g],
            categories=a.categories[g],
            count=int(a.count[g]),
            weight=float(a.weight[g]),
            share=float(a.weight[g] / total_weight) if total_weight > 0 else math.nan,
            sufficient=bool(sufficient[g]),
            unknown=bool(a.unknown[g]),
            metrics=per_group[g],
            missing_rate={
                c: float(missing[g, j] / a.count[g]) if a.count[g] else math.nan
                for j, c in enumerate(stats.missing_columns)
            },
        )
        for g in range(n_groups)
    )
    return AttributeResult(
        name=a.name,
        features=a.features,
        groups=groups,
        disparities=tuple(disparities),
        four_fifths=four_fifths(a, stats, options) if stats.regression is None else (),
        ll144=ll144_table(a, stats, options) if stats.regression is None else None,
        representation=representation_test(a, options),
    )


def _missing_note(stats: CellStatistics) -> list[str]:
    """How many values of each column were read as missing (none: no note).

    A sensitive feature's missing values form its group ``unknown``; only an empty field (and
    the spec's ``missing_values``) is missing, so a category spelled ``NA`` is a category.
    """
    totals = np.asarray(stats.missing_count).sum(axis=0)
    parts = [
        f"'{c}' {int(n):,}" + (" (the group 'unknown')" if c in stats.features else "")
        for c, n in zip(stats.missing_columns, totals, strict=True)
        if n
    ]
    if not parts:
        return []
    return [
        "Values read as missing, per column: " + ", ".join(parts) + ". Only empty fields, nulls "
        "and the spec's data.missing_values are missing; any other text is a value."
    ]


def _notes(
    work: Sequence[_Attribute],
    attributes: Sequence[AttributeResult],
    options: AuditOptions,
    unlisted: int,
) -> list[str]:
    notes = []
    undefined = _undefined_count(attributes)
    if undefined:
        notes.append(
            f"{undefined} group metric values are undefined (NaN, each with its reason), "
            + (
                "for example R² in a group whose y_true is constant."
                if options.task == "regression"
                else "for example a true positive rate in a group without actual positives."
            )
        )
    empty = sum(int((a.count == 0).sum()) for a in work)
    if empty:
        notes.append(
            f"{empty} combinations of categories have no rows: they are listed with n = 0 "
            "and every value undefined (no rows)."
        )
    if unlisted:
        notes.append(
            f"{unlisted} further combinations of categories have no rows and are not listed "
            f"(more than {MAX_LISTED_COMBINATIONS:,} combinations in an intersection)."
        )
    small = sum(int(((a.count > 0) & (a.count < options.min_group_size)).sum()) for a in work)
    if small:
        notes.append(
            f"{small} groups have fewer than min_group_size={options.min_group_size} rows: "
            "they are reported but never decide a verdict."
        )
    if not options.intervals:
        notes.append("No intervals were computed (intervals = false): verdicts need them.")
    return notes


def _overall_reason(name: str, probability: bool) -> str:
    if name in ("brier_score_loss", "expected_calibration_error") and not probability:
        return "scores are not probabilities (score_type = 'score')"
    return "undefined for the whole population: " + METRIC_INFO[name].undefined_when


def _group_reason(name: str, probability: bool) -> str:
    if name in ("brier_score_loss", "expected_calibration_error") and not probability:
        return "scores are not probabilities (score_type = 'score')"
    return METRIC_INFO[name].undefined_when


def _exclusions(
    a: _Attribute, m: GroupMetric, metric: str, options: AuditOptions, probability: bool
) -> dict[str, str]:
    out = {}
    minimum = options.min_group_size
    for g, label in enumerate(a.labels):
        if a.count[g] == 0:
            out[label] = NO_ROWS
        elif a.unknown[g] and not options.include_unknown_in_disparities:
            out[label] = "unknown category (missing sensitive value)"
        elif a.count[g] < minimum:
            out[label] = f"{int(a.count[g])} rows, fewer than min_group_size={minimum}"
        elif math.isnan(m.values[g]):
            out[label] = f"{metric} undefined: " + _group_reason(metric, probability)
        elif m.support[g] < minimum:
            out[label] = (
                f"{metric} rests on {int(m.support[g])} {SUPPORT_NAME[metric]}, "
                f"fewer than min_group_size={minimum}"
            )
    return out


def _merge_exclusions(parts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Every group excluded from any part of a criterion, with each distinct reason."""
    reasons: dict[str, list[str]] = {}
    for part in parts:
        for group, why in part.items():
            if why not in reasons.setdefault(group, []):
                reasons[group].append(why)
    return {group: "; ".join(why) for group, why in reasons.items()}


def _reference_index(a: _Attribute, options: AuditOptions) -> int | None:
    if options.disparity_method != "reference":
        return None
    missing = [f for f in a.features if f not in options.reference_groups]
    if missing:
        raise SpecError(
            f"disparity_method = 'reference' needs a reference group for {missing} in "
            "reference_groups."
        )
    wanted = tuple(options.reference_groups[f] for f in a.features)
    if wanted not in a.categories or a.count[a.categories.index(wanted)] == 0:
        for f, value in zip(a.features, wanted, strict=True):
            present = sorted({c[a.features.index(f)] for c in a.categories})
            if value not in present:
                raise SpecError(
                    f"reference_groups: {value!r} is not a category of '{f}'. "
                    f"Categories: {present}."
                )
        raise SpecError(f"reference group {JOIN.join(wanted)!r} has no rows in '{a.name}'.")
    return a.categories.index(wanted)


def _method_label(options: AuditOptions, a: _Attribute) -> str:
    if a.reference is not None:
        return f"reference: {a.labels[a.reference]}"
    return options.disparity_method


def _criteria(
    policy: Policy,
    work: Sequence[_Attribute],
    attributes: Sequence[AttributeResult],
    options: AuditOptions,
) -> tuple[CriterionResult, ...]:
    names = [a.name for a in work]
    out = []
    level = options.confidence_level
    for t in policy.thresholds:
        metrics, measure = parse_criterion(t.criterion)
        missing = [m for m in metrics if m not in work[0].metrics]
        if missing:
            why = (
                f"a {options.task.replace('_', ' ')} audit computes {list(work[0].metrics)}"
                if options.task == "regression" or missing[0] in REGRESSION_METRICS
                else "score metrics need a y_score column"
            )
            raise SpecError(
                f"Criterion {t.criterion!r} needs the metric {missing[0]!r}, which this audit "
                f"does not compute ({why})."
            )
        targets = t.attributes if t.attributes is not None else tuple(names)
        for target in targets:
            if target not in names:
                raise SpecError(
                    f"Criterion {t.criterion!r} names attribute {target!r}, which is not "
                    f"audited. Attributes: {names}."
                )
            a = work[names.index(target)]
            parts = [
                disparity_point(a.metrics[m], options.disparity_method, a.reference)[measure]
                for m in metrics
            ]
            points = np.array([p[0] for p in parts])
            combine = max if measure == "difference" else min
            point = float(combine(points)) if np.isfinite(points).all() else math.nan
            chosen = [a.metrics[m] for m in metrics]
            bounds = disparity_bounds(chosen, options.disparity_method, a.reference, level)
            attr = attributes[names.index(target)]
            disp = [
                d
                for m in metrics
                for d in attr.disparities
                if d.metric == m and d.measure == measure
            ]
            reason = next((p[1] for p in parts if p[1]), None)
            b = bounds[measure]
            est = _estimate(point, b[0], b[1], reason, b)
            verdict = judge(
                est, measure, t.threshold, policy.decision_rule, options.verdict_interval
            )
            worst = disp[0]
            if np.isfinite(points).all():
                worst = disp[
                    int(np.argmax(points) if measure == "difference" else np.argmin(points))
                ]
            excluded = _merge_exclusions([d.excluded_groups for d in disp])
            scale, would = math.nan, None
            rows: dict[str, int] = {}
            if verdict == "inconclusive" and est.defined and policy.decision_rule == "interval":
                scale, would = needed_scale(
                    chosen, options.disparity_method, a.reference, level, measure, t.threshold
                )
                if would is not None:
                    compared = sorted(
                        {int(g) for m in chosen for g in np.flatnonzero(m.eligible)},
                        key=lambda g: (a.count[g], a.labels[g]),
                    )
                    rows = {a.labels[g]: math.ceil(scale * int(a.count[g])) for g in compared}
            criterion = CriterionResult(
                criterion=t.criterion,
                attribute=target,
                metrics=metrics,
                measure=measure,
                bound="max" if measure == "difference" else "min",
                threshold=float(t.threshold),
                estimate=est,
                verdict=verdict,
                decision_rule=policy.decision_rule,
                interval=options.verdict_interval,
                explanation="",
                excluded_groups=excluded,
                data_factor=scale,
                rows_to_decide=rows,
                would_decide=would,
            )
            out.append(
                dataclasses.replace(criterion, explanation=_explain(criterion, worst, attr, level))
            )
    return tuple(out)


def _explain(c: CriterionResult, worst: Disparity, attr: AttributeResult, level: float) -> str:
    """The criterion's verdict in one paragraph (with :func:`criterion_notes`)."""
    est, measure = c.estimate, c.measure
    head = f"{c.criterion} on {c.attribute}:"
    notes = "".join(f" {line}" for line in criterion_notes(c))
    if not est.defined:
        return f"{head} cannot be judged — {est.undefined_reason}.{notes} Verdict: inconclusive."
    label = worst.metric.replace("_", " ")
    by_name = {g.group: g for g in attr.groups}
    hi_g, lo_g = worst.highest_group, worst.lowest_group
    detail = ""
    if hi_g is not None and lo_g is not None:
        v_hi = by_name[hi_g].metrics[worst.metric].value
        v_lo = by_name[lo_g].metrics[worst.metric].value
        detail = f" The {label} ranges from {v_lo:.3f} ({lo_g}) to {v_hi:.3f} ({hi_g})."
    side = "at most" if measure == "difference" else "at least"
    if c.decision_rule == "point":
        tail = f"The policy requires {side} {c.threshold:g} for the point estimate."
    else:
        tail = (
            f"{level:.0%} interval {est.lower:.3f} to {est.upper:.3f} (from simultaneous "
            f"intervals of the compared groups); the policy requires {side} {c.threshold:g}: "
            f"{_phrase(c.verdict, measure)}."
        )
    return (
        f"{head} {measure} {est.value:.3f} ({worst.method}).{detail} {tail}{notes} "
        f"Verdict: {c.verdict}."
    )
