"""From sufficient statistics to an :class:`~audit.AuditResult`.

:func:`audit_statistics` never sees a row: it works on :class:`CellStatistics` only, whatever
engine counted them. Bootstrap replicates are multinomial draws of the cell bins (see
``_bootstrap``); every interval below is derived from the same draws.
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from audit._bootstrap import (
    percentile_interval,
    resample_bins,
    simultaneous_interval,
    widen_at_boundary,
)
from audit._exceptions import SpecError, UndefinedMetricWarning
from audit._metrics import (
    CONFUSION_METRICS,
    METRIC_INFO,
    PROPORTION_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
    SUPPORT_NAME,
    auc_tie_bound,
    confusion_metrics,
    confusion_support,
)
from audit._policy import Policy, judge, parse_criterion
from audit._regulatory import four_fifths, ll144_table, representation_test
from audit._replicates import RegressionReplicates, ScoreReplicates, by_group
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
)
from audit._statistics import CellStatistics
from audit._validation import UNKNOWN_CATEGORY

__all__ = ["audit_statistics"]

FloatArray = npt.NDArray[np.float64]
Measure = Literal["difference", "ratio"]

#: Separator of categories in the label of an intersectional group.
JOIN = " × "


@dataclass
class _Metric:
    """One metric over the groups of one attribute, with its bootstrap replicates."""

    values: FloatArray  # (n_groups,)
    replicates: FloatArray  # (n_boot, n_groups), re-centred on the exact point estimate
    support: npt.NDArray[np.int64]  # rows the estimate rests on, per group
    eligible: npt.NDArray[np.bool_]  # may take part in disparities and verdicts
    overall: float
    overall_replicates: FloatArray  # (n_boot,)
    unit_interval: bool = True  # values lie in [0, 1] (rates, AUC …), not errors in y units
    proportion: bool = False  # successes / support: exact bounds at an estimate of 0 or 1

    def widen(
        self, lower: FloatArray, upper: FloatArray, level: float, groups: npt.NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray]:
        """Bounds of ``groups`` widened to exact binomial bounds where the rate is 0 or 1."""
        if not self.proportion:
            return lower, upper
        return widen_at_boundary(lower, upper, self.values[groups], self.support[groups], level)


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
    metrics: dict[str, _Metric]
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
) -> tuple[FloatArray, list[tuple[str, ...]], npt.NDArray[np.bool_]]:
    cols = [stats.features.index(f) for f in features]
    keys, inverse = np.unique(stats.cells[:, cols], axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    matrix = np.zeros((keys.shape[0], stats.n_cells))
    matrix[inverse, np.arange(stats.n_cells)] = 1.0
    cats = [
        tuple(stats.categories[c][int(k)] for c, k in zip(cols, row, strict=True)) for row in keys
    ]
    unknown = np.array([UNKNOWN_CATEGORY in c for c in cats], dtype=bool)
    return matrix, cats, unknown


def _estimate(
    value: float,
    lower: float,
    upper: float,
    undefined: int,
    reason: str | None,
    sim: tuple[float, float] = (math.nan, math.nan),
) -> Estimate:
    if math.isnan(value):
        return Estimate(
            math.nan, undefined_reason=reason or "undefined", n_undefined_replicates=int(undefined)
        )
    return Estimate(
        float(value), float(lower), float(upper), float(sim[0]), float(sim[1]), None, int(undefined)
    )


def _disparity_arrays(
    m: _Metric, method: str, reference: int | None
) -> dict[Measure, tuple[float, FloatArray, str | None]]:
    """Point value and replicates of the difference and ratio of one metric."""
    n_boot = m.replicates.shape[0]
    idx = np.flatnonzero(m.eligible)
    if method == "reference":
        assert reference is not None
        if not m.eligible[reference]:
            reason = "the reference group has too little data or an undefined value"
            nan = np.full(n_boot, np.nan)
            return {"difference": (math.nan, nan, reason), "ratio": (math.nan, nan, reason)}
        base, base_reps = float(m.values[reference]), m.replicates[:, reference]
        idx = idx[idx != reference]
    else:
        base, base_reps = m.overall, m.overall_replicates
    if (method == "between_groups" and idx.size < 2) or idx.size < 1:
        reason = "fewer than two groups with sufficient data and a defined value"
        nan = np.full(n_boot, np.nan)
        return {"difference": (math.nan, nan, reason), "ratio": (math.nan, nan, reason)}
    v, r = m.values[idx], m.replicates[:, idx]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN replicate rows give NaN
        if method == "between_groups":
            hi, lo = float(v.max()), float(v.min())
            diff, diff_r = hi - lo, np.nanmax(r, axis=1) - np.nanmin(r, axis=1)
            ratio = lo / hi if hi > 0 else math.nan
            ratio_r = np.nanmin(r, axis=1) / np.nanmax(r, axis=1)
        else:
            diff = float(np.abs(v - base).max())
            diff_r = np.nanmax(np.abs(r - base_reps[:, None]), axis=1)
            pair = np.minimum(v, base) / np.maximum(v, base)
            ratio = float(pair.min()) if np.isfinite(pair).all() else math.nan
            pair_r = np.minimum(r, base_reps[:, None]) / np.maximum(r, base_reps[:, None])
            ratio_r = np.nanmin(pair_r, axis=1)
    ratio_r = np.where(np.isfinite(ratio_r), ratio_r, np.nan)
    ratio_reason = None if not math.isnan(ratio) else "the compared rates are all 0"
    if (v < 0).any() or (method != "between_groups" and base < 0):
        # A signed quantity (mean error, R²): a ratio of values of either sign means nothing.
        ratio, ratio_r = math.nan, np.full(n_boot, np.nan)
        ratio_reason = "the compared values include negative numbers: a ratio is not meaningful"
    return {"difference": (diff, diff_r, None), "ratio": (ratio, ratio_r, ratio_reason)}


def _ratio(num: float, den: float, empty: float) -> float:
    return num / den if den > 0 else empty


def _simultaneous_bounds(
    metrics: Sequence[_Metric], method: str, reference: int | None, level: float
) -> dict[Measure, tuple[float, float]]:
    """Bounds on a disparity implied by simultaneous intervals of every compared rate.

    With probability at least ``level`` every compared rate lies in its simultaneous interval
    (one family across all groups and metrics), and then the true max − min lies between
    ``max(0, max L − min U)`` and ``max U − min L`` (likewise for ratios and for distances to
    the overall or reference rate). Several metrics combine as the criterion does: the
    largest difference, the smallest ratio.
    """
    nan = (math.nan, math.nan)
    columns, estimates, owners = [], [], []
    for k, m in enumerate(metrics):
        idx = np.flatnonzero(m.eligible)
        columns.append(m.replicates[:, idx])
        estimates.append(m.values[idx])
        owners += [(k, int(i)) for i in idx]
        if method == "to_overall":
            columns.append(m.overall_replicates[:, None])
            estimates.append(np.array([m.overall]))
            owners.append((k, -1))
    reps = np.concatenate(columns, axis=1)
    if reps.shape[0] < 2 or reps.shape[1] == 0:
        return {"difference": nan, "ratio": nan}
    lo_all, hi_all, _ = simultaneous_interval(reps, np.concatenate(estimates), level)
    share = 1.0 - (1.0 - level) / reps.shape[1]  # Bonferroni share for rates at 0 or 1
    for k, m in enumerate(metrics):
        cols = np.array([j for j, (kk, g) in enumerate(owners) if kk == k and g >= 0], np.intp)
        groups = np.array([owners[j][1] for j in cols], dtype=np.intp)
        if cols.size:
            lo_all[cols], hi_all[cols] = m.widen(lo_all[cols], hi_all[cols], share, groups)
    if all(m.unit_interval for m in metrics):
        lo_all, hi_all = np.clip(lo_all, 0.0, 1.0), np.clip(hi_all, 0.0, 1.0)
    diffs, ratios = [], []
    for k in range(len(metrics)):
        bounds = {g: (lo_all[j], hi_all[j]) for j, (kk, g) in enumerate(owners) if kk == k}
        if any(math.isnan(lo) or math.isnan(hi) for lo, hi in bounds.values()):
            return {"difference": nan, "ratio": nan}
        if method == "between_groups":
            if len(bounds) < 2:
                return {"difference": nan, "ratio": nan}
            lows = [b[0] for b in bounds.values()]
            highs = [b[1] for b in bounds.values()]
            diffs.append((max(0.0, max(lows) - min(highs)), max(highs) - min(lows)))
            ratios.append(
                (
                    _ratio(min(lows), max(highs), math.nan),
                    min(1.0, _ratio(min(highs), max(lows), 1.0)),
                )
            )
            continue
        base_key = -1 if method == "to_overall" else reference
        if base_key not in bounds or len(bounds) < 2:
            return {"difference": nan, "ratio": nan}
        lb, ub = bounds.pop(base_key)
        d_lo, d_hi, r_lo, r_hi = [], [], [], []
        for lg, ug in bounds.values():
            d_lo.append(max(0.0, lg - ub, lb - ug))
            d_hi.append(max(ug - lb, ub - lg))
            r_lo.append(_ratio(min(lg, lb), max(ug, ub), math.nan))
            overlap = lg <= ub and lb <= ug
            r_hi.append(1.0 if overlap else _ratio(min(ug, ub), max(lg, lb), 1.0))
        diffs.append((max(d_lo), max(d_hi)))
        ratios.append((min(r_lo), min(r_hi)))
    return {
        "difference": (max(d[0] for d in diffs), max(d[1] for d in diffs)),
        "ratio": (min(r[0] for r in ratios), min(r[1] for r in ratios)),
    }


def _phrase(verdict: str, measure: Measure) -> str:
    side = "maximum" if measure == "difference" else "minimum"
    return {
        "pass": f"the whole interval is within the {side}",
        "fail": f"the whole interval is beyond the {side}",
        "inconclusive": f"the interval straddles the {side}, so the data cannot decide",
    }[verdict]


def warn_undefined(result: AuditResult, stacklevel: int) -> None:
    """Warn once (``UndefinedMetricWarning``) when some group metric is undefined."""
    undefined = sum(
        1 for a in result.attributes for g in a.groups for e in g.metrics.values() if not e.defined
    )
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
    intervals and listed in ``excluded_groups`` with the reason.

    Warns ``UndefinedMetricWarning`` once when some group metric is undefined.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit._statistics import count_statistics
    >>> from audit._validation import prepare_data
    >>> df = pd.DataFrame({"y": [0, 1] * 50, "p": [0, 1, 1, 1] * 25, "g": ["a"] * 60 + ["b"] * 40})
    >>> stats = count_statistics(prepare_data(df, y_true="y", y_pred="p", sensitive_features=["g"]))
    >>> result = audit_statistics(stats, options=AuditOptions(n_boot=200))
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
    if options.n_boot < 0:
        raise SpecError(f"n_boot must be a non-negative integer; got {options.n_boot!r}.")
    if (options.task == "regression") != (stats.regression is not None):
        raise SpecError(
            f"options.task is {options.task!r} but the statistics were counted for {stats.task!r}."
        )
    rng = np.random.default_rng(options.random_state)
    level = options.confidence_level
    n_boot = options.n_boot
    total_weight = float(stats.cell_weight.sum())
    probability = options.score_type == "probability"
    hist = stats.scores

    # One set of bootstrap draws of the cells, shared by every attribute and metric.
    if stats.regression is not None:
        regression = RegressionReplicates(stats.regression, n_boot, rng)
        metric_names: list[str] = list(REGRESSION_METRICS)
        overall_values, overall_reps = regression.overall()
    else:
        rep_conf, _ = resample_bins(stats.confusion_count, stats.confusion_weight, n_boot, rng)
        overall_values = {
            k: float(v) for k, v in confusion_metrics(stats.confusion_weight.sum(axis=0)).items()
        }
        overall_reps = confusion_metrics(rep_conf.sum(axis=1))
        metric_names = list(CONFUSION_METRICS)
    scores = None
    if hist is not None:
        metric_names += list(SCORE_METRICS)
        scores = ScoreReplicates(hist, options, rng, probability)
        for name, (value, score_reps) in scores.overall().items():
            overall_values[name], overall_reps[name] = value, score_reps

    work: list[_Attribute] = []
    for features in _attribute_names(stats, options):
        matrix, cats, unknown = _group_matrix(stats, features)
        count = (matrix @ stats.cell_count).round().astype(np.int64)
        g_weight = matrix @ stats.cell_weight
        if stats.regression is not None:
            values, reps, support = regression.groups(matrix)
        else:
            g_count = (matrix @ stats.confusion_count).round().astype(np.int64)
            values = confusion_metrics(matrix @ stats.confusion_weight)
            reps = confusion_metrics(by_group(matrix, rep_conf, replicated=True))
            support = confusion_support(g_count)
        if scores is not None:
            for name, (v, r, sup) in scores.groups(matrix).items():
                values[name], reps[name], support[name] = v, r, sup
        base = (count >= options.min_group_size) & (
            ~unknown | options.include_unknown_in_disparities
        )
        metrics = {
            name: _Metric(
                values=values[name],
                replicates=reps[name],
                support=support[name],
                eligible=base
                & np.isfinite(values[name])
                & (support[name] >= options.min_group_size),
                overall=overall_values[name],
                overall_replicates=overall_reps[name],
                unit_interval=name not in REGRESSION_METRICS,
                proportion=name in PROPORTION_METRICS,
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
    overall_support = (
        confusion_support(stats.confusion_count.sum(axis=0, keepdims=True))
        if stats.regression is None
        else {}
    )
    for name in metric_names:
        lo, hi, bad = percentile_interval(overall_reps[name][:, None], level)
        if name in PROPORTION_METRICS:
            point = np.array([overall_values[name]])
            lo, hi = widen_at_boundary(lo, hi, point, overall_support[name], level)
        overall[name] = _estimate(
            overall_values[name], lo[0], hi[0], int(bad[0]), _overall_reason(name, probability)
        )
    attributes = [_attribute_result(a, stats, options, total_weight, probability) for a in work]
    notes = _notes(work, attributes, options)
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
    )


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
        lo, hi, bad = percentile_interval(m.replicates, level)
        lo, hi = m.widen(lo, hi, level, np.arange(n_groups))
        s_lo = np.full(n_groups, np.nan)
        s_hi = np.full(n_groups, np.nan)
        if m.eligible.any() and m.replicates.shape[0] > 1:
            family = np.flatnonzero(m.eligible)
            sl, sh, _ = simultaneous_interval(m.replicates[:, family], m.values[family], level)
            # Bonferroni share of the family's error for each rate stuck at 0 or 1
            sl, sh = m.widen(sl, sh, 1.0 - (1.0 - level) / family.size, family)
            s_lo[family], s_hi[family] = sl, sh
        for g in range(n_groups):
            reason = _group_reason(name, probability) if math.isnan(m.values[g]) else None
            per_group[g][name] = _estimate(
                m.values[g], lo[g], hi[g], bad[g], reason, (s_lo[g], s_hi[g])
            )
        excluded = _exclusions(a, m, name, options, probability)
        arrays = _disparity_arrays(m, options.disparity_method, a.reference)
        bounds = _simultaneous_bounds([m], options.disparity_method, a.reference, level)
        order = np.flatnonzero(m.eligible)
        hi_g = a.labels[order[np.argmax(m.values[order])]] if order.size else None
        lo_g = a.labels[order[np.argmin(m.values[order])]] if order.size else None
        for measure in ("difference", "ratio"):
            point, reps, reason = arrays[measure]
            dlo, dhi, dbad = percentile_interval(reps[:, None], level)
            disparities.append(
                Disparity(
                    metric=name,
                    measure=measure,
                    method=_method_label(options, a),
                    estimate=_estimate(point, dlo[0], dhi[0], dbad[0], reason, bounds[measure]),
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
            share=float(a.weight[g] / total_weight),
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


def _notes(
    work: Sequence[_Attribute], attributes: Sequence[AttributeResult], options: AuditOptions
) -> list[str]:
    notes = []
    undefined = sum(
        1 for a in attributes for g in a.groups for e in g.metrics.values() if not e.defined
    )
    if undefined:
        notes.append(
            f"{undefined} group metric values are undefined (NaN, each with its reason), "
            + (
                "for example R² in a group whose y_true is constant."
                if options.task == "regression"
                else "for example a true positive rate in a group without actual positives."
            )
        )
    small = sum(int((a.count < options.min_group_size).sum()) for a in work)
    if small:
        notes.append(
            f"{small} groups have fewer than min_group_size={options.min_group_size} rows: "
            "they are reported but never decide a verdict."
        )
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
    a: _Attribute, m: _Metric, metric: str, options: AuditOptions, probability: bool
) -> dict[str, str]:
    out = {}
    minimum = options.min_group_size
    for g, label in enumerate(a.labels):
        if a.unknown[g] and not options.include_unknown_in_disparities:
            out[label] = "unknown category (missing sensitive value)"
        elif a.count[g] < minimum:
            out[label] = f"{int(a.count[g])} rows, fewer than min_group_size={minimum}"
        elif math.isnan(m.values[g]):
            out[label] = "undefined: " + _group_reason(metric, probability)
        elif m.support[g] < minimum:
            out[label] = (
                f"{metric} rests on {int(m.support[g])} {SUPPORT_NAME[metric]}, "
                f"fewer than min_group_size={minimum}"
            )
    return out


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
    if wanted not in a.categories:
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
                _disparity_arrays(a.metrics[m], options.disparity_method, a.reference)[measure]
                for m in metrics
            ]
            points = np.array([p[0] for p in parts])
            reps = np.stack([p[1] for p in parts], axis=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                combine = np.max if measure == "difference" else np.min
                point = float(combine(points)) if np.isfinite(points).all() else math.nan
                combined = combine(reps, axis=1)
            lo, hi, bad = percentile_interval(combined[:, None], level)
            bounds = _simultaneous_bounds(
                [a.metrics[m] for m in metrics], options.disparity_method, a.reference, level
            )
            attr = attributes[names.index(target)]
            disp = [
                d
                for m in metrics
                for d in attr.disparities
                if d.metric == m and d.measure == measure
            ]
            reason = next((p[2] for p in parts if p[2]), None)
            est = _estimate(point, lo[0], hi[0], bad[0], reason, bounds[measure])
            verdict = judge(
                est, measure, t.threshold, policy.decision_rule, options.verdict_interval
            )
            worst = disp[0]
            if np.isfinite(points).all():
                worst = disp[
                    int(np.argmax(points) if measure == "difference" else np.argmin(points))
                ]
            out.append(
                CriterionResult(
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
                    explanation=_explain(
                        t.criterion,
                        target,
                        worst,
                        est,
                        verdict,
                        measure,
                        t.threshold,
                        level,
                        policy.decision_rule,
                        options.verdict_interval,
                        attr,
                    ),
                    excluded_groups=worst.excluded_groups,
                )
            )
    return tuple(out)


def _explain(
    criterion: str,
    attribute: str,
    worst: Disparity,
    est: Estimate,
    verdict: str,
    measure: Measure,
    threshold: float,
    level: float,
    rule: str,
    interval: str,
    attr: AttributeResult,
) -> str:
    label = worst.metric.replace("_", " ")
    if not est.defined:
        return (
            f"{criterion} on {attribute}: cannot be judged — {est.undefined_reason}. "
            "Verdict: inconclusive."
        )
    by_name = {g.group: g for g in attr.groups}
    hi_g, lo_g = worst.highest_group, worst.lowest_group
    detail = ""
    if hi_g is not None and lo_g is not None:
        v_hi = by_name[hi_g].metrics[worst.metric].value
        v_lo = by_name[lo_g].metrics[worst.metric].value
        detail = f" The {label} ranges from {v_lo:.3f} ({lo_g}) to {v_hi:.3f} ({hi_g})."
    what = "difference" if measure == "difference" else "ratio"
    side = "at most" if measure == "difference" else "at least"
    if rule == "point":
        tail = f"The policy requires {side} {threshold:g} for the point estimate."
    else:
        lo, hi = (
            (est.simultaneous_lower, est.simultaneous_upper)
            if interval == "simultaneous"
            else (est.lower, est.upper)
        )
        kind = "simultaneous " if interval == "simultaneous" else ""
        tail = (
            f"{level:.0%} {kind}interval {lo:.3f} to {hi:.3f}; the policy requires "
            f"{side} {threshold:g}: {_phrase(verdict, measure)}."
        )
    return (
        f"{criterion} on {attribute}: {what} {est.value:.3f} ({worst.method}).{detail} "
        f"{tail} Verdict: {verdict}."
    )
