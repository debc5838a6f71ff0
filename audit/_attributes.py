"""Groups of an attribute: which cells they hold, their values and bounds, their disparities.

An attribute is a sensitive feature or an intersection of several; its groups aggregate the
cells of :class:`~audit._statistics.CellStatistics` (a 0/1 matrix), and every value, bound
and disparity derives from those sums.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from audit._disparities import (
    GroupMetric,
    disparity_bounds,
    disparity_point,
)
from audit._exceptions import SpecError
from audit._metrics import (
    METRIC_INFO,
    SUPPORT_NAME,
)
from audit._regulatory import four_fifths, ll144_table, representation_test
from audit._result import (
    AttributeResult,
    AuditOptions,
    Disparity,
    Estimate,
    GroupResult,
)
from audit._statistics import CellStatistics
from audit._validation import UNKNOWN_CATEGORY

__all__ = [
    "JOIN",
    "MAX_LISTED_COMBINATIONS",
    "NO_ROWS",
    "Attribute",
    "FloatArray",
    "attribute_names",
    "attribute_result",
    "estimate",
    "group_matrix",
    "merge_exclusions",
    "overall_reason",
    "reference_index",
]


FloatArray = npt.NDArray[np.float64]


#: Separator of categories in the label of an intersectional group.
JOIN = " × "


#: Intersections with more combinations than this list only the combinations seen in the data.
MAX_LISTED_COMBINATIONS = 10_000


#: The reason given for every metric of a group without rows.
NO_ROWS = "no rows"


@dataclass
class Attribute:
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


def attribute_names(stats: CellStatistics, options: AuditOptions) -> list[tuple[str, ...]]:
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


def group_matrix(
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


def estimate(
    value: float,
    lower: float,
    upper: float,
    reason: str | None,
    sim: tuple[float, float] = (math.nan, math.nan),
) -> Estimate:
    if math.isnan(value):
        return Estimate(math.nan, undefined_reason=reason or "undefined")
    return Estimate(float(value), float(lower), float(upper), float(sim[0]), float(sim[1]))


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


def attribute_result(
    a: Attribute,
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
            per_group[g][name] = estimate(m.values[g], lo[g], hi[g], reason, (s_lo[g], s_hi[g]))
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
                    estimate=estimate(point, b[0], b[1], reason, b),
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


def overall_reason(name: str, probability: bool) -> str:
    if name in ("brier_score_loss", "expected_calibration_error") and not probability:
        return "scores are not probabilities (score_type = 'score')"
    return "undefined for the whole population: " + METRIC_INFO[name].undefined_when


def _group_reason(name: str, probability: bool) -> str:
    if name in ("brier_score_loss", "expected_calibration_error") and not probability:
        return "scores are not probabilities (score_type = 'score')"
    return METRIC_INFO[name].undefined_when


def _exclusions(
    a: Attribute, m: GroupMetric, metric: str, options: AuditOptions, probability: bool
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


def merge_exclusions(parts: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Every group excluded from any part of a criterion, with each distinct reason."""
    reasons: dict[str, list[str]] = {}
    for part in parts:
        for group, why in part.items():
            if why not in reasons.setdefault(group, []):
                reasons[group].append(why)
    return {group: "; ".join(why) for group, why in reasons.items()}


def reference_index(a: Attribute, options: AuditOptions) -> int | None:
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


def _method_label(options: AuditOptions, a: Attribute) -> str:
    if a.reference is not None:
        return f"reference: {a.labels[a.reference]}"
    return options.disparity_method
