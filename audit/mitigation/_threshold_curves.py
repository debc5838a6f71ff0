"""The geometry of group thresholds: each group's cuts, their convex hull, the grid.

Pure functions of one group's score histogram, written to give fairlearn's (0.15) numbers:
its metric formulas and order of operations (``_tradeoff_curve_utilities.METRIC_DICT``), its
hull test (``_filter_points_to_get_convex_hull``), its reading of the hull on the grid
(``_interpolate_curve``) and its sliding window under a tolerance
(``_relaxed_constraints.maximize_objective_with_tolerance``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.mitigation._threshold_rules import FloatArray, IntArray

__all__: list[str] = []


def metric(name: str, tp: Any, fp: Any, tn: Any, fn: Any) -> Any:
    """A metric of confusion counts, with fairlearn's formulas and order of operations.

    Counts may be arrays or numpy scalars; an undefined value (0/0) is NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "selection_rate":
            return (tp + fp) / (tp + tn + fp + fn)
        if name == "true_positive_rate":
            return tp / (tp + fn)
        if name == "false_positive_rate":
            return fp / (tn + fp)
        if name == "true_negative_rate":
            return tn / (tn + fp)
        if name == "false_negative_rate":
            return fn / (tp + fn)
        if name == "accuracy_score":
            return (tp + tn) / (tp + tn + fp + fn)
        if name == "balanced_accuracy_score":
            return 0.5 * tp / (tp + fn) + 0.5 * tn / (tn + fp)
    raise AssertionError(name)  # parameters are validated before


@dataclass(frozen=True)
class Curve:
    """One group's cuts (all of them, and the hull vertices) as confusion counts."""

    threshold: FloatArray  # per cut, descending: inf, midpoints..., -inf
    tp: IntArray
    fp: IntArray
    positives: int
    negatives: int
    hull: IntArray  # indices into the cuts, in increasing x
    x: FloatArray  # constraint metric per cut
    y: FloatArray  # objective per cut (TPR for equalized odds)


def upper_hull(x: FloatArray, y: FloatArray, order: IntArray) -> IntArray:
    """Upper convex hull of the points taken in ``order`` (sorted by x, then y).

    Andrew's monotone chain with fairlearn's test, so that collinear and nearly collinear
    points are kept or dropped exactly as fairlearn does.
    """
    xs, ys = x[order].tolist(), y[order].tolist()
    keep: list[int] = []
    for i, (x2, y2) in enumerate(zip(xs, ys, strict=True)):
        while len(keep) >= 2:
            i0, i1 = keep[-2], keep[-1]
            x0, y0 = xs[i0], ys[i0]
            if (ys[i1] - y0) * (x2 - x0) <= (y2 - y0) * (xs[i1] - x0):
                keep.pop()
            else:
                break
        keep.append(i)
    out: IntArray = order[np.asarray(keep, dtype=np.int64)]
    return out


def group_curve(
    counts: IntArray, lower: FloatArray, upper: FloatArray, x_metric: str, y_metric: str
) -> Curve:
    """All cuts of one group's histogram (counts of shape (2, n_bins)) and their hull.

    ``lower`` and ``upper`` are the bins' lower and upper edges (both the bin's value for an
    exact histogram).
    """
    occupied = np.flatnonzero(counts.sum(axis=0))[::-1]  # descending scores
    neg_bins, pos_bins = counts[0, occupied], counts[1, occupied]
    fp = np.concatenate([[0], np.cumsum(neg_bins)]).astype(np.int64)
    tp = np.concatenate([[0], np.cumsum(pos_bins)]).astype(np.int64)
    threshold = np.empty(occupied.size + 1)
    threshold[0] = np.inf
    threshold[-1] = -np.inf
    # Between an occupied bin and the next lower occupied one: the middle of the gap (for
    # exact bins, fairlearn's midpoint of two neighbouring scores).
    threshold[1:-1] = (lower[occupied[:-1]] + upper[occupied[1:]]) / 2
    positives, negatives = int(tp[-1]), int(fp[-1])
    tn, fn = negatives - fp, positives - tp
    x = np.asarray(metric(x_metric, tp, fp, tn, fn), dtype=np.float64)
    y = np.asarray(metric(y_metric, tp, fp, tn, fn), dtype=np.float64)
    order = np.lexsort((y, x)).astype(np.int64)
    return Curve(threshold, tp, fp, positives, negatives, upper_hull(x, y, order), x, y)


@dataclass(frozen=True)
class OnGrid:
    """One group's hull read at every grid point (fairlearn's ``_interpolate_curve``)."""

    y: FloatArray
    p0: FloatArray
    vertex0: IntArray  # cut index of the left vertex (operation0)
    vertex1: IntArray


def on_grid(curve: Curve, grid: FloatArray) -> OnGrid:
    """Read the hull at the grid values: the segment, ``p0`` and the objective at each."""
    hx, hy = curve.x[curve.hull], curve.y[curve.hull]
    index = np.searchsorted(hx, grid, side="right") - 1
    # At a grid point equal to a vertex, take the segment to its left (fairlearn's convention).
    index[1:] = np.where(grid[1:] == hx[index[1:]], index[1:] - 1, index[1:])
    p0 = (hx[index + 1] - grid) / (hx[index + 1] - hx[index])
    y = p0 * hy[index] + (1 - p0) * hy[index + 1]
    return OnGrid(y, p0, curve.hull[index], curve.hull[index + 1])


def best_within_tolerance(
    grid: FloatArray, weighted: list[FloatArray], tolerance: float
) -> tuple[list[int], float]:
    """One grid index per group, all within ``tolerance``, maximising the weighted sum.

    fairlearn's sliding window (``maximize_objective_with_tolerance``): for each window of
    grid values at most ``tolerance`` wide, each group takes its best point in the window
    (the latest on ties); the best window wins, later windows winning ties with no larger
    spread.
    """
    best: list[int] = []
    best_value, best_spread = -math.inf, math.inf
    start = 0
    for end in range(grid.size):
        while grid[end] - grid[start] > tolerance:
            start += 1
        picks = [end - int(np.argmax(w[start : end + 1][::-1])) for w in weighted]
        value = sum(w[i] for w, i in zip(weighted, picks, strict=True))
        spread = float(np.ptp(grid[picks]))
        if value > best_value or (value == best_value and spread <= best_spread):
            best, best_value, best_spread = picks, float(value), spread
    return best, best_value
