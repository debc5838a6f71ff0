"""Disparities of one attribute's groups: their values, and the bounds a confidence set implies.

A disparity's interval is implied by simultaneous (Bonferroni) intervals of the group values
it compares, so it covers where the groups tie (at parity), which no interval of the
max − min itself does. The same bounds at a multiple of the data give the sample size an
inconclusive verdict needs (:func:`needed_scale`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from audit._intervals import FloatArray, GroupIntervals
from audit._policy import judge
from audit._result import Estimate

__all__ = [
    "DISPARITY_INTERVAL",
    "MAX_SCALE",
    "GroupMetric",
    "Measure",
    "disparity_bounds",
    "disparity_point",
    "needed_scale",
]

Measure = Literal["difference", "ratio"]

#: How a disparity's interval is derived (recorded in every result).
DISPARITY_INTERVAL = (
    "implied by simultaneous intervals of the compared group values (each at a Bonferroni "
    "share of 1 − level): with probability at least the level every compared value lies in "
    "its interval, and then the max − min lies between max(0, max lower − min upper) and "
    "max upper − min lower (likewise for ratios, and for distances to the overall or "
    "reference value)"
)


@dataclass
class GroupMetric:
    """One metric over the groups of one attribute."""

    values: FloatArray  # (n_groups,)
    support: npt.NDArray[np.int64]  # rows the estimate rests on, per group
    eligible: npt.NDArray[np.bool_]  # may take part in disparities and verdicts
    overall: float
    intervals: GroupIntervals | None  # None when the audit computes no intervals
    overall_intervals: GroupIntervals | None
    signed: bool = False  # values may be negative (mean error, R²): no ratio


def disparity_point(
    m: GroupMetric, method: str, reference: int | None
) -> dict[Measure, tuple[float, str | None]]:
    """Point value (and, when undefined, why) of the difference and ratio of one metric."""
    idx = np.flatnonzero(m.eligible)
    if method == "reference":
        assert reference is not None
        if not m.eligible[reference]:
            reason = "the reference group has too little data or an undefined value"
            return {"difference": (math.nan, reason), "ratio": (math.nan, reason)}
        base = float(m.values[reference])
        idx = idx[idx != reference]
    else:
        base = m.overall
    if (method == "between_groups" and idx.size < 2) or idx.size < 1:
        reason = "fewer than two groups with sufficient data and a defined value"
        return {"difference": (math.nan, reason), "ratio": (math.nan, reason)}
    v = m.values[idx]
    if method == "between_groups":
        hi, lo = float(v.max()), float(v.min())
        diff = hi - lo
        ratio = lo / hi if hi > 0 else math.nan
    else:
        diff = float(np.abs(v - base).max())
        with np.errstate(invalid="ignore", divide="ignore"):
            pair = np.minimum(v, base) / np.maximum(v, base)
        ratio = float(pair.min()) if np.isfinite(pair).all() else math.nan
    ratio_reason = None if not math.isnan(ratio) else "the compared rates are all 0"
    if m.signed and ((v < 0).any() or (method != "between_groups" and base < 0)):
        ratio = math.nan
        ratio_reason = "the compared values include negative numbers: a ratio is not meaningful"
    return {"difference": (diff, None), "ratio": (ratio, ratio_reason)}


def _ratio(num: float, den: float, empty: float) -> float:
    return num / den if den > 0 else empty


def _family_size(metrics: Sequence[GroupMetric], method: str) -> int:
    """How many intervals a disparity's confidence set holds (the Bonferroni divisor)."""
    per_metric = [int(m.eligible.sum()) + (method == "to_overall") for m in metrics]
    return sum(per_metric)


def disparity_bounds(
    metrics: Sequence[GroupMetric],
    method: str,
    reference: int | None,
    level: float,
    scale: float = 1.0,
) -> dict[Measure, tuple[float, float]]:
    """Bounds on a disparity implied by simultaneous intervals of every compared value.

    Each compared value (every eligible group of every metric, and the overall value for
    ``to_overall``) gets its interval at level ``1 − (1 − level)/K`` for K values. With
    probability at least ``level`` every value lies in its interval (Bonferroni), and then
    the true max − min lies between ``max(0, max L − min U)`` and ``max U − min L``
    (likewise for ratios and distances to the overall or reference value). Several metrics
    combine as the criterion does: the largest difference, the smallest ratio.
    ``scale`` gives the bounds the same estimates would have with ``scale`` times the data.
    """
    nan = (math.nan, math.nan)
    family = _family_size(metrics, method)
    if family == 0 or any(m.intervals is None for m in metrics):
        return {"difference": nan, "ratio": nan}
    each = 1.0 - (1.0 - level) / family
    diffs, ratios = [], []
    for m in metrics:
        assert m.intervals is not None
        assert m.overall_intervals is not None
        lo_all, hi_all = m.intervals.bounds(each, scale)
        if not m.signed:  # a ratio of values that cannot be negative
            lo_all = np.maximum(lo_all, 0.0)
        bounds = {int(g): (float(lo_all[g]), float(hi_all[g])) for g in np.flatnonzero(m.eligible)}
        if method == "to_overall":
            o_lo, o_hi = m.overall_intervals.bounds(each, scale)
            bounds[-1] = (float(o_lo[0]), float(o_hi[0]))
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
                    _ratio(max(min(lows), 0.0), max(highs), math.nan),
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
            r_lo.append(_ratio(max(min(lg, lb), 0.0), max(ug, ub), math.nan))
            overlap = lg <= ub and lb <= ug
            r_hi.append(1.0 if overlap else min(1.0, _ratio(min(ug, ub), max(lg, lb), 1.0)))
        diffs.append((max(d_lo), max(d_hi)))
        ratios.append((min(r_lo), min(r_hi)))
    return {
        "difference": (max(d[0] for d in diffs), max(d[1] for d in diffs)),
        "ratio": (min(r[0] for r in ratios), min(r[1] for r in ratios)),
    }


#: Largest multiple of the data the sample-size statement looks for.
MAX_SCALE = 1e6


def _clears(
    bounds: tuple[float, float], measure: Measure, threshold: float
) -> Literal["pass", "fail"] | None:
    """The verdict the interval ``bounds`` gives (None while it straddles the threshold)."""
    lo, hi = bounds
    est = Estimate((lo + hi) / 2.0, lo, hi, lo, hi)
    verdict = judge(est, measure, threshold, "interval", "simultaneous")
    return None if verdict == "inconclusive" else verdict


def needed_scale(
    metrics: Sequence[GroupMetric],
    method: str,
    reference: int | None,
    level: float,
    measure: Measure,
    threshold: float,
) -> tuple[float, Literal["pass", "fail"] | None]:
    """The least multiple of the data at which the interval would clear the threshold.

    The estimates are held fixed and every count multiplied by the factor (found by
    bisection on its logarithm, to within 1 %). ``(nan, None)`` when no amount up to
    :data:`MAX_SCALE` times the data would decide it (an estimate at the threshold).
    """

    def outcome(scale: float) -> Literal["pass", "fail"] | None:
        b = disparity_bounds(metrics, method, reference, level, scale)[measure]
        return _clears(b, measure, threshold)

    if outcome(MAX_SCALE) is None:
        return math.nan, None
    lo, hi = 0.0, math.log(MAX_SCALE)
    while hi - lo > 0.01:
        mid = (lo + hi) / 2.0
        if outcome(math.exp(mid)) is None:
            lo = mid
        else:
            hi = mid
    scale = math.exp(hi)
    return scale, outcome(scale)
