"""From sufficient statistics to an :class:`~audit.AuditResult`: the assembly.

:func:`audit_statistics` never sees a row: it works on :class:`CellStatistics` only, whatever
engine counted them. Every group value has its own interval (see ``_intervals``: exact or
analytic, inside its range); a disparity's interval is the one implied by a confidence set of
the group values it compares (``_disparities``). The groups are built in :mod:`audit._attributes`,
the criteria judged in :mod:`audit._criteria`.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from audit._attributes import (
    JOIN,
    MAX_LISTED_COMBINATIONS,
    Attribute,
    attribute_names,
    attribute_result,
    estimate,
    group_matrix,
    overall_reason,
    reference_index,
)
from audit._criteria import judge_criteria
from audit._disparities import (
    DISPARITY_INTERVAL,
    GroupMetric,
)
from audit._exceptions import SpecError, UndefinedMetricWarning
from audit._group_stats import ScoreCells, group_values
from audit._metrics import (
    auc_tie_bound,
)
from audit._policy import Policy
from audit._result import (
    AttributeResult,
    AuditOptions,
    AuditResult,
    CellRow,
    DataSummary,
)
from audit._statistics import CellStatistics

__all__ = ["audit_statistics", "compute_audit", "warn_undefined"]


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
    work: list[Attribute] = []
    unlisted = 0
    for features in attribute_names(stats, options):
        matrix, cats, unknown, left_out = group_matrix(stats, features)
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
        attr = Attribute(
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
        attr.reference = reference_index(attr, options)
        work.append(attr)

    overall = {}
    for name in metric_names:
        lo, hi = (
            whole.intervals[name].bounds(level)
            if whole.intervals is not None
            else (np.array([math.nan]), np.array([math.nan]))
        )
        overall[name] = estimate(
            float(whole.values[name][0]), lo[0], hi[0], overall_reason(name, probability)
        )
    attributes = [attribute_result(a, stats, options, total_weight, probability) for a in work]
    notes = _notes(work, attributes, options, unlisted) + _missing_note(stats)
    criteria = judge_criteria(policy, work, attributes, options) if policy else ()
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
    work: Sequence[Attribute],
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
