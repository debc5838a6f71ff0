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
from scipy import stats as sps

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
    regression_metrics,
    score_metrics,
)
from audit._policy import Policy, judge, parse_criterion
from audit._result import (
    AttributeResult,
    AuditOptions,
    AuditResult,
    CellRow,
    CriterionResult,
    DataSummary,
    Disparity,
    Estimate,
    FourFifthsRow,
    GroupResult,
    LL144Row,
    LL144Table,
    RepresentationTest,
)
from audit._statistics import CellStatistics, RegressionMoments, ScoreHistogram
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


def _coarse_scores(
    hist: ScoreHistogram, n_coarse: int, probability: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Map each fine score bin to one of few coarse bins (nested in calibration bins)."""
    lower = hist.edges[:-1]
    if probability:
        per = max(1, n_coarse // 10)
        frac = np.clip(lower * 10 - hist.ece_bin, 0.0, 1.0 - 1e-12)
        coarse = hist.ece_bin * per + np.minimum((frac * per).astype(np.int64), per - 1)
        return coarse.astype(np.int64), np.repeat(np.arange(10), per).astype(np.int64)
    pooled = np.cumsum(hist.count.sum(axis=(0, 1)))
    coarse = np.minimum(pooled * n_coarse // max(int(pooled[-1]), 1), n_coarse - 1)
    return coarse.astype(np.int64), np.zeros(n_coarse, dtype=np.int64)


def _collapse(values: FloatArray, index: npt.NDArray[np.int64], size: int) -> FloatArray:
    """Sum the last axis of ``values`` into ``size`` bins by ``index``."""
    onehot = np.zeros((index.size, size))
    onehot[np.arange(index.size), index] = 1.0
    out: FloatArray = values @ onehot
    return out


def _score_values(
    weight: FloatArray,
    ssum: FloatArray,
    ssq: FloatArray,
    ece: npt.NDArray[np.int64],
    probability: bool,
) -> dict[str, FloatArray]:
    values = score_metrics(weight, ssum, ssq, ece)
    if not probability:
        for name in ("brier_score_loss", "expected_calibration_error"):
            values[name] = np.full_like(values[name], np.nan)
    return values


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


def _ztest(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Two-proportion z-test with pooled variance; (z, two-sided p)."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    return z, float(2 * sps.norm.sf(abs(z)))


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
        regression = _RegressionBootstrap(stats.regression, n_boot, rng)
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
        scores = _ScoreBootstrap(hist, options, rng, probability)
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
            reps = confusion_metrics(_by_group(matrix, rep_conf, replicated=True))
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


class _RegressionBootstrap:
    """Regression metrics: exact points from the moment sums, replicates from the bins.

    A row bootstrap picks bins (multinomially) and then rows within them. Carrying each
    bin's mean row gets the first stage exactly; the second stage adds, given ``n*`` rows
    drawn in a cell, a sum with mean 0 and covariance about ``(n*/n)·S``, where ``S`` is the
    cell's within-bin scatter of the summands. It is added as a Gaussian draw, so every
    replicate sum has the row bootstrap's mean and covariance (not only its bins').
    """

    def __init__(self, moments: RegressionMoments, n_boot: int, rng: np.random.Generator) -> None:
        self.m = moments
        sums = moments.moments
        w, extra = resample_bins(
            moments.count,
            sums[..., 0],
            n_boot,
            rng,
            tuple(np.moveaxis(sums[..., 1:], -1, 0)),
            sum_last_axis=True,
        )
        reps = np.stack([w, *extra], axis=-1)  # (n_boot, n_cells, 7)
        n_cell = moments.count.sum(axis=1).astype(np.float64)
        mean_weight = sums[..., 0].sum(axis=1) / np.maximum(n_cell, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            # rows drawn in each cell (exact unweighted; by the mean weight otherwise)
            n_drawn = np.where(mean_weight > 0, reps[..., 0] / mean_weight, 0.0)
        # A square root of each cell's scatter (symmetric PSD; eigh tolerates rank deficiency).
        values, vectors = np.linalg.eigh(moments.within_scatter)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
        noise = np.einsum("cij,bcj->bci", root, rng.standard_normal(reps.shape))
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.sqrt(np.where(n_cell > 0, n_drawn / n_cell, 0.0))
        self.replicates = reps + noise * scale[..., None]

    def _sst(self, matrix: FloatArray) -> FloatArray:
        """Σw·(y − ȳ_g)² per group from the centred cell moments (Chan et al.'s update)."""
        cell_w = self.m.moments[..., 0].sum(axis=1)
        g_w = matrix @ cell_w
        with np.errstate(invalid="ignore", divide="ignore"):
            g_mean = np.where(g_w > 0, (matrix @ (cell_w * self.m.y_mean)) / g_w, 0.0)
        spread = matrix * cell_w[None, :] * (self.m.y_mean[None, :] - g_mean[:, None]) ** 2
        total: FloatArray = matrix @ self.m.y_m2 + spread.sum(axis=1)
        return total

    def _constant(self, matrix: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether ``y_true`` is constant in each group (exactly, from the cell values)."""
        present = (matrix * (self.m.count.sum(axis=1) > 0)[None, :]) > 0
        values = np.where(present, self.m.y_any[None, :], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty groups: all-NaN rows
            one_value = np.nanmax(values, axis=1) == np.nanmin(values, axis=1)
        varies = (present & self.m.y_varies[None, :]).any(axis=1)
        out: npt.NDArray[np.bool_] = one_value & ~varies
        return out

    def overall(self) -> tuple[dict[str, float], dict[str, FloatArray]]:
        one = np.ones((1, self.m.count.shape[0]))
        points = regression_metrics(
            self.m.moments.sum(axis=(0, 1)), self._sst(one)[0], self.m.shift, self._constant(one)[0]
        )
        reps = regression_metrics(self.replicates.sum(axis=1), shift=self.m.shift)
        return {k: float(v) for k, v in points.items()}, reps

    def groups(
        self, matrix: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, npt.NDArray[np.int64]]]:
        points = regression_metrics(
            matrix @ self.m.moments.sum(axis=1),
            self._sst(matrix),
            self.m.shift,
            self._constant(matrix),
        )
        reps = regression_metrics(
            _by_group(matrix, self.replicates, replicated=True), shift=self.m.shift
        )
        count = (matrix @ self.m.count.sum(axis=1)).round().astype(np.int64)
        return points, reps, dict.fromkeys(REGRESSION_METRICS, count)


class _ScoreBootstrap:
    """Score metrics from the fine histogram; replicates from a coarse one, re-centred.

    Resampling thousands of fine bins per replicate would be slow, so replicates are drawn
    over few coarse bins (nested in the calibration bins) and shifted by the difference
    between the exact and the coarse point estimate.
    """

    def __init__(
        self,
        hist: ScoreHistogram,
        options: AuditOptions,
        rng: np.random.Generator,
        probability: bool,
    ) -> None:
        self.hist, self.probability = hist, probability
        self.coarse, self.coarse_ece = _coarse_scores(
            hist, options.bootstrap_score_bins, probability
        )
        n = self.coarse_ece.size
        count = _collapse(hist.count.astype(np.float64), self.coarse, n).round().astype(np.int64)
        c_w = _collapse(hist.weight, self.coarse, n)
        c_s = _collapse(hist.score_sum, self.coarse, n)
        c_q = _collapse(hist.score_sumsq, self.coarse, n)
        rw, (rs, rq) = resample_bins(count, c_w, options.n_boot, rng, (c_s, c_q))
        self.replicates = (rw, rs, rq)

    def _point(
        self, w: FloatArray, s: FloatArray, q: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        n = self.coarse_ece.size
        fine = _score_values(w, s, q, self.hist.ece_bin, self.probability)
        coarse = _score_values(
            _collapse(w, self.coarse, n),
            _collapse(s, self.coarse, n),
            _collapse(q, self.coarse, n),
            self.coarse_ece,
            self.probability,
        )
        return fine, coarse

    def overall(self) -> dict[str, tuple[float, FloatArray]]:
        h = self.hist
        fine, coarse = self._point(h.weight.sum(0), h.score_sum.sum(0), h.score_sumsq.sum(0))
        rw, rs, rq = (r.sum(axis=1) for r in self.replicates)
        reps = _score_values(rw, rs, rq, self.coarse_ece, self.probability)
        return {k: (float(fine[k]), reps[k] + (fine[k] - coarse[k])) for k in SCORE_METRICS}

    def groups(
        self, matrix: FloatArray
    ) -> dict[str, tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]]:
        h = self.hist
        w, s, q = (_by_group(matrix, a) for a in (h.weight, h.score_sum, h.score_sumsq))
        fine, coarse = self._point(w, s, q)
        rw, rs, rq = (_by_group(matrix, a, replicated=True) for a in self.replicates)
        reps = _score_values(rw, rs, rq, self.coarse_ece, self.probability)
        count = _by_group(matrix, h.count.astype(np.float64)).round().astype(np.int64)
        support = _score_support(count)
        return {k: (fine[k], reps[k] + (fine[k] - coarse[k]), support[k]) for k in SCORE_METRICS}


def _by_group(matrix: FloatArray, a: FloatArray, *, replicated: bool = False) -> FloatArray:
    """Sum cell statistics into groups: ``matrix`` (groups × cells) applied to the cell axis.

    ``a`` has the cells on axis 0, or on axis 1 after the replicates when ``replicated``; one
    BLAS matrix product (numpy's einsum does not use BLAS for these shapes).
    """
    if replicated:
        batched = a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))
        out: FloatArray = np.matmul(matrix, batched)
        return out.reshape(a.shape[0], matrix.shape[0], *a.shape[2:])
    flat = a.reshape(a.shape[0], math.prod(a.shape[1:]))
    return (matrix @ flat).reshape(matrix.shape[0], *a.shape[1:])


def _score_support(count: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    per_label = count.sum(axis=-1)  # (..., 2)
    n = per_label.sum(axis=-1)
    return {
        "roc_auc": per_label.min(axis=-1),
        "brier_score_loss": n,
        "expected_calibration_error": n,
    }


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
        four_fifths=_four_fifths(a, stats, options) if stats.regression is None else (),
        ll144=_ll144(a, stats, options) if stats.regression is None else None,
        representation=_representation(a, options),
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


def _four_fifths(
    a: _Attribute, stats: CellStatistics, options: AuditOptions
) -> tuple[FourFifthsRow, ...]:
    count = a.count
    selected = (a.matrix @ stats.confusion_count[:, [1, 3]].sum(axis=1)).round().astype(np.int64)
    rate = a.metrics["selection_rate"].values
    usable = a.metrics["selection_rate"].eligible
    if not usable.any():
        return ()
    ref = int(np.flatnonzero(usable)[np.argmax(rate[usable])])
    tests = []
    for g in range(len(a.labels)):
        if g == ref:
            tests.append((math.nan, math.nan, math.nan, math.nan))
            continue
        x1, n1, x2, n2 = int(selected[g]), int(count[g]), int(selected[ref]), int(count[ref])
        z, p_z = _ztest(x1, n1, x2, n2)
        p_f = float(sps.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)
        tests.append((z, p_z, p_f, p_f if _min_expected(x1, n1, x2, n2) < 5 else p_z))
    q = benjamini_hochberg(np.array([t[3] for t in tests]))
    rows = []
    for g, label in enumerate(a.labels):
        z, p_z, p_f, p = tests[g]
        ratio = rate[g] / rate[ref] if rate[ref] > 0 else math.nan
        rows.append(
            FourFifthsRow(
                group=label,
                count=int(count[g]),
                selected=int(selected[g]),
                selection_rate=float(rate[g]),
                impact_ratio=float(ratio),
                reference_group=a.labels[ref],
                flagged=bool(usable[g] and ratio < options.four_fifths_threshold),
                z_statistic=float(z),
                z_p_value=float(p_z),
                fisher_p_value=float(p_f),
                p_value=float(p),
                q_value=float(q[g]),
                significant=bool(q[g] < options.significance_level),
                eligible=bool(usable[g]),
            )
        )
    return tuple(rows)


def benjamini_hochberg(p: FloatArray) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN entries are not tests.

    Declaring significant every test with ``q < α`` controls the false discovery rate at α
    (for independent or positively dependent tests).

    Examples
    --------
    >>> import numpy as np
    >>> benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03])).round(3).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if tested.size:
        order = tested[np.argsort(p[tested], kind="stable")]
        m = order.size
        scaled = p[order] * m / np.arange(1, m + 1)
        q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def _min_expected(x1: int, n1: int, x2: int, n2: int) -> float:
    n = n1 + n2
    if n == 0:
        return 0.0
    sel = x1 + x2
    return min(n1 * sel / n, n1 * (n - sel) / n, n2 * sel / n, n2 * (n - sel) / n)


def _ll144(a: _Attribute, stats: CellStatistics, options: AuditOptions) -> LL144Table:
    scoring = options.ll144_rate == "scoring_rate"
    if scoring and stats.scores is None:
        raise SpecError("ll144_rate = 'scoring_rate' needs a y_score column.")
    if scoring:
        assert stats.scores is not None
        hits = a.matrix @ stats.scores.above_median_weight
        median = stats.scores.median
    else:
        hits = a.matrix @ stats.confusion_weight[:, [1, 3]].sum(axis=1)
        median = math.nan
    total = float(stats.confusion_weight.sum())
    known = ~a.unknown
    share = a.weight / total
    rate = np.divide(hits, a.weight, out=np.full_like(hits, np.nan), where=a.weight > 0)
    counted = known & (share >= options.ll144_min_share) & np.isfinite(rate)
    top = int(np.flatnonzero(counted)[np.argmax(rate[counted])]) if counted.any() else None
    rows = tuple(
        LL144Row(
            category=a.labels[g],
            count=int(a.count[g]),
            rate=float(rate[g]),
            impact_ratio=float(rate[g] / rate[top])
            if top is not None and rate[top] > 0 and counted[g]
            else math.nan,
            share=float(share[g]),
            excludable=bool(share[g] < options.ll144_min_share),
        )
        for g in range(len(a.labels))
        if known[g]
    )
    return LL144Table(
        attribute=a.name,
        rate_kind=options.ll144_rate,
        median_score=median,
        rows=rows,
        unknown_count=int(a.count[a.unknown].sum()),
        most_selected=a.labels[top] if top is not None else None,
    )


def _representation(a: _Attribute, options: AuditOptions) -> RepresentationTest | None:
    shares = options.reference_population.get(a.name)
    if shares is None:
        return None
    known = [i for i, u in enumerate(a.unknown) if not u]
    present = {a.labels[i] for i in known}
    unlisted = sorted(present - set(shares))
    if unlisted:
        raise SpecError(
            f"reference_population for '{a.name}' must give a share for every category in the "
            f"data; missing: {unlisted}."
        )
    names = sorted(shares)
    expected = np.array([shares[n] for n in names], dtype=np.float64)
    if (expected <= 0).any() or not math.isclose(float(expected.sum()), 1.0, abs_tol=1e-6):
        raise SpecError(
            f"reference_population for '{a.name}' must hold positive shares summing to 1; "
            f"got a sum of {float(expected.sum()):.6g}."
        )
    observed = np.array([float(a.count[a.labels.index(n)]) if n in present else 0.0 for n in names])
    n = observed.sum()
    chi2, p = sps.chisquare(observed, expected * n)
    obs_share = observed / n
    ratio = obs_share / expected
    under = tuple(names[i] for i in np.argsort(ratio) if ratio[i] < 1.0)
    return RepresentationTest(
        attribute=a.name,
        observed_share=dict(zip(names, map(float, obs_share), strict=True)),
        expected_share=dict(zip(names, map(float, expected), strict=True)),
        representation_ratio=dict(zip(names, map(float, ratio), strict=True)),
        chi2_statistic=float(chi2),
        p_value=float(p),
        most_under_represented=under[:3],
    )


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
