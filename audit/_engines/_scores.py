"""The score histogram from the engine's aggregates, and the exact median.

Exact bins (one per distinct score) or equal-width ones, as the in-memory engine chooses; with
equal-width bins a last query fetches the scores of the median's bin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit._engines._base import Dialect, Roles, SqlSource, groups_sql, literal, numbers, sum_by
from audit._engines._keys import KeyColumn, KeySpace
from audit._statistics import (
    ScoreHistogram,
    median_bins,
    middle_ranks,
    middle_value,
    score_bins,
)

__all__ = [
    "SCORE_PROBLEMS",
    "Located",
    "MedianWindow",
    "bin_sql",
    "histogram",
    "median_window",
    "score_code_sql",
]

#: The score's problems, coded after the bins: missing or NaN, infinite, outside [0, 1].
SCORE_PROBLEMS = ("s_nan", "s_inf", "s_outside")

#: The share of rows on each side of the first rows' median whose scores the ``GROUP BY``
#: lists: the exact median needs no query of its own when the median of all rows is among
#: them (the first rows' median is off by about 0.0005 of the rows when they are 1M rows in
#: no particular order; the window is five times that).
_WINDOW = 0.0025


def bin_sql(d: Dialect, score: str, binning: Any) -> str:
    """The equal-width bin of the score, with the in-memory engine's arithmetic."""
    s = d.q(score)
    n_bins = binning.ece_bin.size
    return (
        f"LEAST(CAST(FLOOR(({s} - {literal(binning.lo)}) / {literal(binning.width)} * "
        f"{n_bins}) AS BIGINT), {n_bins - 1})"
    )


def score_code_sql(d: Dialect, score: str, binning: Any, probability: bool) -> str:
    """The score's bin, or its problem (coded after the bins, in :data:`SCORE_PROBLEMS`).

    The rows with a problem are counted, not binned: the checks refuse them afterwards.
    """
    s = d.q(score)
    n = binning.ece_bin.size
    outside = f"WHEN {s} < 0 OR {s} > 1 THEN {n + 2} " if probability else ""
    return (
        f"(CASE WHEN {s} IS NULL OR isnan({s}) THEN {n} WHEN {d.inf(s)} THEN {n + 1} "
        f"{outside}ELSE {bin_sql(d, score, binning)} END)"
    )


@dataclass(frozen=True)
class MedianWindow:
    """The bins ``first`` … ``last`` around the first rows' median, whose scores are listed.

    The list takes the scores from ``lo`` to ``hi`` (a bin more on each side, so that float
    rounding at an edge cannot leave a score of the window's bins out).
    """

    first: int
    last: int
    lo: float
    hi: float

    def list_sql(self, d: Dialect, roles: Roles) -> str:
        """The aggregate listing each group's scores in the window (with weights: pairs)."""
        s = d.q(roles.y_score or "")
        item = d.pair.format(s, d.q(roles.sample_weight)) if roles.sample_weight else s
        within = f"{s} >= {literal(self.lo)} AND {s} < {literal(self.hi)}"
        assert d.list_agg is not None  # no window otherwise (see median_window)
        return f"{d.list_agg.format(item)} FILTER (WHERE {within}) AS ms"


def median_window(
    d: Dialect, scores: npt.NDArray[np.float64] | None, binning: Any
) -> MedianWindow | None:
    """The bins around the median of the first rows' finite scores.

    None without them, or when the engine lists no values in a ``GROUP BY``.
    """
    if scores is None or scores.size == 0 or d.list_agg is None:
        return None
    n_bins = binning.ece_bin.size
    ends = np.quantile(scores, [0.5 - _WINDOW, 0.5 + _WINDOW])
    first, last = np.clip(np.floor((ends - binning.lo) / binning.width * n_bins), 0, n_bins - 1)
    return MedianWindow(
        int(first),
        int(last),
        float(binning.lo + binning.width * (first - 1) / n_bins),
        float(binning.lo + binning.width * (last + 2) / n_bins),
    )


@dataclass(frozen=True)
class Located:
    """Finds the cell of raw rows fetched from the engine (the median query's)."""

    features: Sequence[KeyColumn]
    categories: Sequence[tuple[str, ...]]
    observed: npt.NDArray[np.int64]

    def cells(self, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
        """The dense cell of each row of ``frame`` (columns ``k0 …``, raw values)."""
        key = np.zeros(len(frame), dtype=np.int64)
        for i, (c, cats) in enumerate(zip(self.features, self.categories, strict=True)):
            index = pd.Index(list(c.values), dtype=object)
            raw = pd.Index(frame[f"k{i}"].astype(object))
            position = index.get_indexer(raw)
            position = np.where(position >= 0, position, len(c.values))  # missing
            key = key * len(cats) + c.meaning[position]
        out: npt.NDArray[np.int64] = np.searchsorted(self.observed, key).astype(np.int64)
        return out


def histogram(
    src: SqlSource,
    roles: Roles,
    groups: pa.Table,
    equal: Any,
    bins: npt.NDArray[np.int64],
    cell: npt.NDArray[np.int64],
    y_true: npt.NDArray[np.int64],
    n_cells: int,
    located: Located,
    columns: Sequence[tuple[str, str]],
    space: KeySpace,
    window: MedianWindow | None,
    on_step: Callable[[str], None],
) -> ScoreHistogram:
    probability = roles.score_type == "probability"
    n = numbers(groups, "n")
    weighted = roles.sample_weight is not None
    w = numbers(groups, "w") if weighted else n
    w2 = numbers(groups, "w2") if weighted else None
    s1, s2 = numbers(groups, "s1"), numbers(groups, "s2")
    score_value: npt.NDArray[np.float64] | None
    if "smin" not in groups.column_names:  # the first rows show more values than bins
        binning, bin_index, score_value = equal, bins, None
    else:
        n_bins = equal.ece_bin.size
        lowest = np.full(n_bins, np.inf)
        np.minimum.at(lowest, bins, numbers(groups, "smin"))
        highest = np.full(n_bins, -np.inf)
        np.maximum.at(highest, bins, numbers(groups, "smax"))
        used = np.isfinite(lowest)
        single = lowest[used] == highest[used]
        distinct_at_least = int(used.sum() + (~single).sum())
        if single.all() and used.sum() <= roles.score_bins:
            # One value per bin: the values are the bins; the in-memory engine bins them exactly.
            values = lowest[used]
            binning = score_bins(values, roles.score_bins, probability)
            position = np.cumsum(used) - 1  # bin → index among the used bins
            bin_index = position[bins]
            score_value = values[bin_index]
        elif distinct_at_least > roles.score_bins:
            binning, bin_index, score_value = equal, bins, None
        else:
            # Few values, some sharing a bin: count by the value itself (a rare, second scan).
            on_step("groups: by score value (few distinct scores)")
            keys = KeySpace(space.columns, 1)
            s = src.dialect.q(roles.y_score or "")
            groups = src.query(
                groups_sql(src.dialect, roles, columns, keys.key_sql(src.dialect, "0"),
                            [f"{s} AS sv"]),
                "groups by value",
            )  # fmt: skip
            meanings, _, _ = keys.decode(numbers(groups, "k").astype(np.int64))
            cell = np.searchsorted(
                located.observed,
                _cell_key(meanings[: len(located.features)], located.categories),
            ).astype(np.int64)
            y_true = meanings[-2]
            n = numbers(groups, "n")
            w = numbers(groups, "w") if weighted else n
            w2 = numbers(groups, "w2") if weighted else None
            s1, s2 = numbers(groups, "s1"), numbers(groups, "s2")
            score_value = numbers(groups, "sv")
            binning = score_bins(np.unique(score_value), roles.score_bins, probability)
            bin_index = binning.index(score_value).astype(np.int64)
    size = n_cells * 2 * binning.ece_bin.size
    key = (cell * 2 + y_true) * binning.ece_bin.size + bin_index
    count = sum_by(key, n, size).round().astype(np.int64)
    weight = sum_by(key, w, size) if weighted else count.astype(np.float64)
    weight_sq = None if w2 is None else sum_by(key, w2, size)
    score_sum = sum_by(key, s1, size)
    score_sumsq = sum_by(key, s2, size)
    # The median of every score, exactly (np.median's definition), and the rows above it.
    total = int(n.sum())
    middle = middle_ranks(total)
    if score_value is not None:
        order = np.argsort(score_value, kind="stable")
        ends = np.cumsum(n[order])
        picked = [score_value[order][np.searchsorted(ends, k, side="right")] for k in middle]
        median = middle_value(np.array(picked), middle[0], middle)
        above = score_value > median
        above_count = sum_by(cell[above], n[above], n_cells)
        above_weight = sum_by(cell[above], w[above], n_cells)
    else:
        listed = None
        if window is not None:
            listed = _listed_median(groups, window, binning, bin_index, n, w, cell, n_cells, middle)
        if listed is None:
            on_step("median: the scores of the median's histogram bin")
            listed = _binned_median(
                src, roles, binning, bin_index, n, w, cell, n_cells, middle, located
            )
        median, above_count, above_weight = listed
    above_n: npt.NDArray[np.int64] = np.asarray(above_count).round().astype(np.int64)
    if not weighted:
        above_weight = above_n.astype(np.float64)
    shape = (n_cells, 2, binning.ece_bin.size)
    return ScoreHistogram(
        edges=binning.edges,
        exact=binning.exact,
        count=count.reshape(shape),
        weight=np.asarray(weight, dtype=np.float64).reshape(shape),
        score_sum=score_sum.reshape(shape),
        score_sumsq=score_sumsq.reshape(shape),
        ece_bin=binning.ece_bin,
        median=median,
        above_median_count=above_n,
        above_median_weight=np.asarray(above_weight, dtype=np.float64),
        weight_sq=None if weight_sq is None else weight_sq.reshape(shape),
    )


def _cell_key(
    codes: Sequence[npt.NDArray[np.int64]], categories: Sequence[tuple[str, ...]]
) -> npt.NDArray[np.int64]:
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, cats in zip(codes, categories, strict=True):
        key = key * len(cats) + c
    return key


@dataclass(frozen=True)
class Fetched:
    """The scores of the bins that hold the median, each with its cell and weight.

    Every score of the bins from the one after ``before`` rows up to bin ``last``.
    """

    values: npt.NDArray[np.float64]
    cell: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    before: int
    last: int

    def median(
        self,
        bin_index: npt.NDArray[np.int64],
        n: npt.NDArray[np.float64],
        w: npt.NDArray[np.float64],
        cell: npt.NDArray[np.int64],
        n_cells: int,
        middle: list[int],
    ) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The exact median (np.median's), and the rows and weight above it by cell."""
        median = middle_value(np.sort(self.values), self.before, middle)
        # The bins after the fetched ones are wholly above the median; within them, the
        # fetched scores above it.
        high = bin_index > self.last
        above_count = sum_by(cell[high], n[high], n_cells)
        above_weight = sum_by(cell[high], w[high], n_cells)
        hit = self.values > median
        above_count += sum_by(self.cell[hit], np.ones(int(hit.sum())), n_cells)
        above_weight += sum_by(self.cell[hit], self.weight[hit], n_cells)
        return median, above_count, above_weight


def _listed_median(
    groups: pa.Table,
    window: MedianWindow,
    binning: Any,
    bin_index: npt.NDArray[np.int64],
    n: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    cell: npt.NDArray[np.int64],
    n_cells: int,
    middle: list[int],
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """The exact median from the scores the groups listed; None if the median is not there."""
    per_bin = sum_by(bin_index, n, binning.ece_bin.size).round().astype(np.int64)
    ends = np.cumsum(per_bin)
    before = int(ends[window.first - 1]) if window.first > 0 else 0
    through = int(ends[window.last])
    if not (before <= middle[0] and middle[1] < through):
        return None
    rows = np.flatnonzero((bin_index >= window.first) & (bin_index <= window.last))
    lists = groups.column("ms").take(pa.array(rows)).combine_chunks()
    group_of = rows[np.asarray(pc.list_parent_indices(lists), dtype=np.int64)]
    flat = pc.list_flatten(lists)
    if pa.types.is_list(flat.type) or pa.types.is_large_list(flat.type):  # (score, weight)
        pairs = np.asarray(pc.list_flatten(flat), dtype=np.float64).reshape(-1, 2)
        values, weights = pairs[:, 0], pairs[:, 1]
    else:
        values = np.asarray(flat, dtype=np.float64)
        weights = np.ones(values.size)
    if values.size != through - before:  # the lists do not hold the window's rows
        return None
    fetched = Fetched(values, cell[group_of], weights, before, window.last)
    return fetched.median(bin_index, n, w, cell, n_cells, middle)


def _binned_median(
    src: SqlSource,
    roles: Roles,
    binning: Any,
    bin_index: npt.NDArray[np.int64],
    n: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    cell: npt.NDArray[np.int64],
    n_cells: int,
    middle: list[int],
    located: Located,
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The exact median from the scores of the bins holding the middle rows (a query)."""
    n_bins = binning.ece_bin.size
    per_bin = sum_by(bin_index, n, n_bins).round().astype(np.int64)
    first, last, before = median_bins(np.cumsum(per_bin), middle)
    bins = sorted({first, last})
    q = src.dialect.q
    s = q(roles.y_score or "")
    expr = bin_sql(src.dialect, roles.y_score or "", binning)
    features = ", ".join(f"{q(f)} AS k{i}" for i, f in enumerate(roles.sensitive_features))
    weight = f", {q(roles.sample_weight)} AS w" if roles.sample_weight else ""
    rows = src.query(
        f"SELECT {s} AS s, {features}{weight} FROM {{src}} WHERE {expr} IN "
        f"({', '.join(map(str, bins))})",
        "median",
    ).to_pandas()
    values = rows["s"].to_numpy(np.float64)
    weights = rows["w"].to_numpy(np.float64) if roles.sample_weight else np.ones(len(rows))
    fetched = Fetched(values, located.cells(rows), weights, before, last)
    return fetched.median(bin_index, n, w, cell, n_cells, middle)
