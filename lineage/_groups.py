"""Who is in a dataset, and how a preparation step changed it, group by group.

A step's effect on a group is its **removed rate**, ``1 - rows_out / rows_in``: the share of
the group's rows that the step dropped (negative when it added rows). A step is **flagged**
for a feature when, among groups with at least ``min_group_size`` rows in, the highest and
lowest removed rates differ by more than ``tolerance`` *and* a chi-square test of
independence of (group × kept/removed) rejects at ``significance_level`` — so that a random
wobble in a small group does not raise a flag. When rows were added the test does not apply
and the gap alone decides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit import UNKNOWN_CATEGORY
from lineage._facets import GroupCompositionDatasetFacet, StepEffectRunFacet, plain
from lineage._values import ARROW_OR_PANDAS_ERRORS, column_at, is_nested, value_label

if TYPE_CHECKING:
    from audit import CellStatistics

__all__ = ["Composition", "GroupEffect", "StepEffect", "composition", "step_effect"]

#: Label of the joint group of several features, e.g. "Female × Black".
JOINT = " × "
_MISSING = "(missing)"
MAX_CELLS = 1000
#: The category an audit's statistics give missing sensitive values.
_UNKNOWN = UNKNOWN_CATEGORY


def _value_order(item: tuple[str | None, Any]) -> tuple[bool, str]:
    """Sort key of a (value, …) pair: values in order, missing (None) last."""
    return (item[0] is None, item[0] or "")


def _cell_order(item: tuple[tuple[str | None, ...], Any]) -> list[tuple[bool, str]]:
    """Sort key of a (cell, …) pair: as :func:`composition` orders cells."""
    return [(v is None, v or "") for v in item[0]]


@dataclass(frozen=True)
class Composition:
    """Rows per group of each sensitive feature present in a dataset.

    ``counts[feature][value]``; a ``None`` value stands for rows where the feature is missing.
    ``cells`` holds the intersectional counts when two or more features are present;
    ``cells_truncated`` says that some cells could not be counted and are left out of it
    (see :meth:`from_statistics`).
    """

    rows: int
    features: tuple[str, ...]
    absent: tuple[str, ...]
    counts: Mapping[str, Mapping[str | None, int]]
    cells: Mapping[tuple[str | None, ...], int]
    cells_truncated: bool = False

    @classmethod
    def from_statistics(
        cls, statistics: CellStatistics, sensitive_features: Sequence[str] | None = None
    ) -> Composition | None:
        """The composition of the rows an audit counted, from its cell statistics alone.

        For inputs counted out of core, whose rows are never in memory: the same composition
        :func:`composition` gives for the same rows, with one difference in labels (below).

        The statistics name a missing sensitive value with the category ``"unknown"``, which
        also holds rows whose value *is* the text ``"unknown"``. The two are told apart by
        each cell's missing count of the feature's own column (``missing_count``): in a cell
        of ``n`` rows whose feature is ``"unknown"`` and of which ``m`` are missing, ``m``
        rows are missing (``None`` here, ``"missing": true`` in the facet) and ``n − m`` hold
        ``"unknown"``. Rows per group are therefore exact. An intersectional cell is exact
        too, unless two or more of its features mix missing and ``"unknown"`` rows: how the
        two splits combine is not in the statistics, so such a cell is left out of ``cells``
        and ``cells_truncated`` is set (the facet's ``cellsTruncated``). It never happens
        when no value is the text ``"unknown"``.

        Labels are the audit's categories: text with surrounding spaces stripped (values that
        differ only in spaces are one group) and whole floats without ``.0``. For text
        without surrounding spaces and for integers they are the values themselves, as
        :func:`composition` labels them.

        Parameters
        ----------
        statistics : audit.CellStatistics
            The counted cells; ``missing_columns`` must include each feature counted.
        sensitive_features : sequence of str, optional
            The features to report, in order (default: the statistics' own). One that is
            not a column of the data is reported as absent; one that is a column but was not
            counted (not a sensitive feature of the audit) cannot be counted here and is
            left out.

        Returns
        -------
        Composition or None
            None when no feature asked for was counted.

        Raises
        ------
        ValueError
            A feature has an ``"unknown"`` category but its column's missing values were not
            counted.

        Examples
        --------
        >>> import pandas as pd
        >>> from audit import count_statistics, prepare_data
        >>> frame = pd.DataFrame({"sex": ["F", "M", None, "unknown", "F"],
        ...                       "y": [1, 0, 1, 0, 1], "p": [1, 1, 0, 0, 1]})
        >>> stats = count_statistics(
        ...     prepare_data(frame, y_true="y", y_pred="p", sensitive_features=["sex"])
        ... )
        >>> stats.categories, stats.cell_count.tolist()
        ((('F', 'M', 'unknown'),), [2, 1, 2])
        >>> dict(Composition.from_statistics(stats).counts["sex"])
        {'F': 2, 'M': 1, 'unknown': 1, None: 1}
        >>> Composition.from_statistics(stats) == composition(frame, ["sex"])
        True
        """
        features = tuple(statistics.features)
        wanted = features if sensitive_features is None else tuple(sensitive_features)
        present = tuple(f for f in wanted if f in features)
        absent = tuple(
            f for f in wanted if f not in features and f not in statistics.missing_columns
        )
        if not present:
            return None
        where = [features.index(f) for f in present]
        column = {c: j for j, c in enumerate(statistics.missing_columns)}
        sizes = np.asarray(statistics.cell_count, dtype=np.int64)
        n_cells = sizes.shape[0]
        missing = np.zeros((n_cells, len(present)), dtype=np.int64)
        for k, i in enumerate(where):
            if present[k] in column:
                missing[:, k] = statistics.missing_count[:, column[present[k]]]
            elif _UNKNOWN in statistics.categories[i]:
                raise ValueError(
                    f"Cannot tell missing values of '{present[k]}' from the category "
                    f"'{_UNKNOWN}': the statistics do not count that column's missing values "
                    f"(missing_columns: {list(statistics.missing_columns)})."
                )
        labels = [
            [statistics.categories[i][int(code)] for code in statistics.cells[:, i]] for i in where
        ]
        counts: dict[str, dict[str | None, int]] = {}
        for k, feature in enumerate(present):
            merged: dict[str | None, int] = {}
            for label, n, m in zip(labels[k], sizes.tolist(), missing[:, k].tolist(), strict=True):
                for value, count in ((label, n - m), (None, m)):
                    if count:
                        merged[value] = merged.get(value, 0) + count
            counts[feature] = dict(sorted(merged.items(), key=_value_order))
        cells: dict[tuple[str | None, ...], int] = {}
        truncated = False
        if len(present) > 1:
            cells, truncated = _split_cells(labels, sizes.tolist(), missing.tolist())
        return cls(int(sizes.sum()), present, absent, counts, cells, truncated)

    def to_facet(self) -> GroupCompositionDatasetFacet:
        """The ``fairtrail_groupComposition`` facet of this composition."""
        groups = []
        for feature in self.features:
            for value, n in self.counts[feature].items():
                entry: dict[str, Any] = {"feature": str(feature), "count": n}
                entry.update({"missing": True} if value is None else {"value": value})
                if self.rows:
                    entry["share"] = n / self.rows
                groups.append(entry)
        cells = [
            {
                "values": {
                    str(f): v for f, v in zip(self.features, key, strict=True) if v is not None
                },
                "count": n,
            }
            for key, n in list(self.cells.items())[:MAX_CELLS]
        ]
        return GroupCompositionDatasetFacet(
            sensitiveFeatures=[str(f) for f in self.features],
            rowCount=self.rows,
            groups=plain(groups),
            absentFeatures=[str(f) for f in self.absent] or None,
            cells=cells or None,
            cellsTruncated=(len(self.cells) > MAX_CELLS or self.cells_truncated) or None,
        )

    def joint_counts(self) -> dict[str, int]:
        """Counts per intersectional cell, labelled ``"a × b"`` (``(missing)`` for missing)."""
        return {
            JOINT.join(_MISSING if v is None else v for v in key): n
            for key, n in self.cells.items()
        }


def _split_cells(
    labels: Sequence[Sequence[str]], sizes: Sequence[int], missing: Sequence[Sequence[int]]
) -> tuple[dict[tuple[str | None, ...], int], bool]:
    """Cells with missing values apart from ``"unknown"``; whether some could not be split.

    ``labels[k][c]`` is feature ``k``'s category in cell ``c``, ``sizes[c]`` the cell's rows
    and ``missing[c][k]`` how many of them miss feature ``k``. A cell where one feature mixes
    missing and present rows splits in two; where two or more do, the joint split is not
    known and the cell is left out.
    """
    cells: dict[tuple[str | None, ...], int] = {}
    truncated = False
    n_features = len(labels)
    for c, (n, m) in enumerate(zip(sizes, missing, strict=True)):
        key: list[str | None] = [None if m[k] == n else labels[k][c] for k in range(n_features)]
        mixed = [k for k in range(n_features) if 0 < m[k] < n]
        if len(mixed) > 1:
            truncated = True
            continue
        parts = [(key, n)]
        if mixed:
            (k,) = mixed
            parts = [(key, n - m[k]), ([*key[:k], None, *key[k + 1 :]], m[k])]
        for part, count in parts:
            if count:
                cell = tuple(part)
                cells[cell] = cells.get(cell, 0) + count
    return dict(sorted(cells.items(), key=_cell_order)), truncated


def _codes(series: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Integer codes of a column's values (sorted when they sort) and the code's labels.

    Missing values get the last code, labelled None. A value is labelled by its ``str``; a
    container (a struct, list, map or array value, which pandas cannot group) by its
    canonical text (:func:`~lineage._values.canonical_text`), as is every value of a column
    pandas cannot factorize.
    """
    codes: np.ndarray | None = None
    if not is_nested(series):
        try:
            try:
                codes, uniques = pd.factorize(series, sort=True)
            except TypeError:  # values of several types that do not compare
                codes, uniques = pd.factorize(series, sort=False)
            labels = [value_label(v) for v in uniques]
        except ARROW_OR_PANDAS_ERRORS:
            codes = None
    if codes is None:
        texts = pd.Series([value_label(v) for v in series.tolist()], dtype=object)
        codes, uniques = pd.factorize(texts, sort=True)
        labels = [str(v) for v in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(None)
    return np.asarray(codes, dtype=np.intp), labels


def composition(frame: pd.DataFrame, sensitive_features: Sequence[str]) -> Composition | None:
    """Count the rows of each group of each sensitive feature (None when none is a column).

    A feature is a column when a column label equals it; a duplicated name is counted on its
    first column. Groups are labelled by ``str`` of their values; values that are containers
    (struct, list, map, array) by their canonical text
    (:func:`~lineage._values.canonical_text`), so a nested column is counted rather than
    refused.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["F", "M", "F", None], "race": ["a", "a", "b", "b"]})
    >>> c = composition(df, ["sex", "race", "age"])
    >>> dict(c.counts["sex"]), c.absent
    ({'F': 2, 'M': 1, None: 1}, ('age',))
    >>> c.joint_counts()
    {'F × a': 1, 'F × b': 1, 'M × a': 1, '(missing) × b': 1}
    >>> dict(composition(pd.DataFrame({"g": [{"k": 1}, {"k": 1}, None]}), ["g"]).counts["g"])
    {'{"k":1}': 2, None: 1}
    """
    present = tuple(f for f in sensitive_features if f in frame.columns)
    absent = tuple(f for f in sensitive_features if f not in frame.columns)
    if not present:
        return None
    # Each feature is factorized once (values in sorted order, missing last); the marginal
    # and the intersectional counts are bincounts of the codes.
    coded = [_codes(column_at(frame, feature)) for feature in present]
    counts: dict[str, dict[str | None, int]] = {}
    for feature, (codes, labels) in zip(present, coded, strict=True):
        merged: dict[str | None, int] = {}
        for label, n in zip(labels, np.bincount(codes, minlength=len(labels)), strict=True):
            if n:
                merged[label] = merged.get(label, 0) + int(n)
        counts[feature] = dict(sorted(merged.items(), key=_value_order))
    cells: dict[tuple[str | None, ...], int] = {}
    if len(present) > 1:
        shape = tuple(len(labels) for _, labels in coded)
        if math.prod(shape) <= max(len(frame), 1 << 20):
            flat = np.ravel_multi_index(tuple(codes for codes, _ in coded), shape)
            sizes = np.bincount(flat, minlength=math.prod(shape))
            nonzero = np.flatnonzero(sizes)
            keys = np.stack(np.unravel_index(nonzero, shape), axis=1)
            found = sizes[nonzero]
        else:  # too many combinations for a dense count: the combinations present, sorted
            keys, found = np.unique(
                np.stack([codes for codes, _ in coded], axis=1), axis=0, return_counts=True
            )
        for key, n in zip(keys.tolist(), found.tolist(), strict=True):  # sorted by values
            cell = tuple(labels[i] for (_, labels), i in zip(coded, key, strict=True))
            cells[cell] = cells.get(cell, 0) + int(n)
    return Composition(len(frame), present, absent, counts, cells)


@dataclass(frozen=True)
class GroupEffect:
    """Rows in and out of a step for one group of one feature, in one output."""

    output: str
    feature: str
    value: str | None
    rows_in: int
    rows_out: int

    @property
    def removed_rate(self) -> float:
        """``1 - rows_out / rows_in``; NaN when the group had no rows in."""
        return 1.0 - self.rows_out / self.rows_in if self.rows_in else float("nan")


@dataclass(frozen=True)
class StepFlag:
    """A feature whose groups lost rows at rates further apart than the tolerance."""

    output: str
    feature: str
    highest: GroupEffect
    lowest: GroupEffect
    p_value: float  # NaN when the test does not apply (rows were added)

    @property
    def gap(self) -> float:
        """Highest minus lowest removed rate."""
        return self.highest.removed_rate - self.lowest.removed_rate


@dataclass(frozen=True)
class StepEffect:
    """How one step changed every group's size, and the features where it was uneven."""

    step: str
    rows_in: int
    outputs: tuple[tuple[str, int], ...]
    groups: tuple[GroupEffect, ...]
    flags: tuple[StepFlag, ...]
    tolerance: float
    min_group_size: int
    significance_level: float

    @property
    def flagged(self) -> bool:
        """True when some feature's removed rates differ beyond the tolerance."""
        return bool(self.flags)

    def to_facet(self) -> StepEffectRunFacet:
        """The ``fairtrail_stepEffect`` facet of this effect."""
        groups = []
        for g in self.groups:
            entry: dict[str, Any] = {
                "output": g.output,
                "feature": str(g.feature),
                "rowsIn": g.rows_in,
                "rowsOut": g.rows_out,
            }
            entry.update({"missing": True} if g.value is None else {"value": g.value})
            if g.rows_in:
                entry["removedRate"] = g.removed_rate
            groups.append(entry)
        flags = [
            {
                "output": f.output,
                "feature": str(f.feature),
                "highestValue": f.highest.value or _MISSING,
                "highestRemovedRate": f.highest.removed_rate,
                "lowestValue": f.lowest.value or _MISSING,
                "lowestRemovedRate": f.lowest.removed_rate,
                "gap": f.gap,
                "pValue": None if np.isnan(f.p_value) else f.p_value,
            }
            for f in self.flags
        ]
        return StepEffectRunFacet(
            step=self.step,
            rowsIn=self.rows_in,
            outputs=[{"name": n, "rowsOut": r} for n, r in self.outputs],
            tolerance=self.tolerance,
            minGroupSize=self.min_group_size,
            significanceLevel=self.significance_level,
            groups=plain(groups),
            flags=plain(flags),
            flagged=self.flagged,
        )


def _by_feature(c: Composition) -> dict[str, Mapping[str | None, int]]:
    out: dict[str, Mapping[str | None, int]] = dict(c.counts)
    if len(c.features) > 1:
        joint: dict[str | None, int] = {k: n for k, n in c.joint_counts().items()}
        out[JOINT.join(str(f) for f in c.features)] = joint
    return out


def _chi2_p(effects: Sequence[GroupEffect]) -> float:
    from scipy.stats import chi2_contingency

    kept = np.array([g.rows_out for g in effects], dtype=float)
    total = np.array([g.rows_in for g in effects], dtype=float)
    if (kept > total).any():
        return float("nan")  # rows were added: no kept/removed table
    table = np.vstack([kept, total - kept])
    if (table.sum(axis=1) == 0).any():
        return 1.0  # nothing removed (or nothing kept) in any group: no difference
    return float(chi2_contingency(table).pvalue)


def step_effect(
    step: str,
    before: Composition,
    after: Sequence[tuple[str, Composition]],
    *,
    tolerance: float = 0.05,
    min_group_size: int = 30,
    significance_level: float = 0.01,
) -> StepEffect:
    """Compare the groups of a step's input with those of each of its outputs.

    Parameters
    ----------
    step : str
    before : Composition
        The step's input.
    after : sequence of (name, Composition)
        Each output.
    tolerance : float, default 0.05
        Largest acceptable gap between groups' removed rates.
    min_group_size : int, default 30
        Groups with fewer rows in are reported but do not decide a flag.
    significance_level : float, default 0.01
        A gap flags only if the chi-square test rejects equal removal at this level.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"g": ["a"] * 1000 + ["b"] * 1000,
    ...                     "x": [None] * 100 + [1.0] * 1890 + [None] * 10})
    >>> clean = raw.dropna()
    >>> effect = step_effect("drop_missing", composition(raw, ["g"]),
    ...                      [("output", composition(clean, ["g"]))])
    >>> [(g.value, round(g.removed_rate, 3)) for g in effect.groups]
    [('a', 0.1), ('b', 0.01)]
    >>> effect.flagged, round(effect.flags[0].gap, 2)
    (True, 0.09)
    """
    groups: list[GroupEffect] = []
    flags: list[StepFlag] = []
    for name, out in after:
        out_counts = _by_feature(out)
        for feature, counts_in in _by_feature(before).items():
            if feature not in out_counts:
                continue
            counts_out = out_counts[feature]
            values = list(counts_in) + [v for v in counts_out if v not in counts_in]
            effects = [
                GroupEffect(name, feature, v, counts_in.get(v, 0), counts_out.get(v, 0))
                for v in values
            ]
            groups += effects
            eligible = [g for g in effects if g.rows_in >= min_group_size]
            if len(eligible) < 2:
                continue
            hi = max(eligible, key=lambda g: g.removed_rate)
            lo = min(eligible, key=lambda g: g.removed_rate)
            if hi.removed_rate - lo.removed_rate <= tolerance:
                continue
            p = _chi2_p(eligible)
            if np.isnan(p) or p < significance_level:
                flags.append(StepFlag(name, feature, hi, lo, p))
    return StepEffect(
        step,
        before.rows,
        tuple((n, c.rows) for n, c in after),
        tuple(groups),
        tuple(flags),
        tolerance,
        min_group_size,
        significance_level,
    )
