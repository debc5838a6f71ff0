"""Listing the key columns' values: from the first rows, then all of them when needed.

The counting queries (:mod:`audit._engines._sql`, :mod:`audit._engines._regression`) key
each row by the positions of its values in these lists; an identifier column is refused
here, before anything is grouped by it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from audit._engines._base import Dialect, Roles, SqlSource, one
from audit._engines._checks import check_no_values
from audit._engines._keys import KeyColumn, KeySpace, sensitive_column
from audit._exceptions import DataValidationError

__all__ = [
    "FIRST_ROWS",
    "Head",
    "all_listed",
    "all_values",
    "check_identifiers",
    "sensitive_keys",
]

#: Above this many (approximately) distinct raw labels, the labels are not grouped by.
_MAX_LABEL_VALUES = 100_000


#: The first rows, where the distinct values of the key columns are listed from.
FIRST_ROWS = 1_000_000


def _guard_sql(d: Dialect, columns: Sequence[str]) -> str:
    """Distinct values of the key columns in the first rows (and how many, approximately)."""
    parts = []
    for i, c in enumerate(columns):
        parts += [
            f"approx_count_distinct({d.q(c)}) AS d{i}",
            f"{d.distinct_list.format(d.q(c))} AS v{i}",
        ]
    listed = ", ".join(d.q(c) for c in columns)
    head = f"(SELECT {listed} FROM {{src}} LIMIT {FIRST_ROWS}) AS head"
    return "SELECT " + ", ".join(parts) + " FROM " + head


@dataclass(frozen=True)
class Head:
    """What the first rows show: each key column's distinct values, and the finite scores.

    ``scores`` is None when the rows were not read in order from files (a Spark table).
    """

    values: dict[str, list[Any]]
    scores: npt.NDArray[np.float64] | None


def _first_rows(src: SqlSource, roles: Roles, names: list[str]) -> tuple[Head, dict[str, int]]:
    """The key columns' distinct values in the first rows, and how many each has."""
    score = [roles.y_score] if roles.y_score and roles.task != "regression" else []
    table = src.head([*names, *score], FIRST_ROWS)
    if table is None:  # not files: the engine lists them (approximately counted)
        row = one(src.query(_guard_sql(src.dialect, names), "guard"))
        values = {c: list(row[f"v{i}"] or []) for i, c in enumerate(names)}
        counts = {c: int(row[f"d{i}"] or 0) for i, c in enumerate(names)}
        return Head(values, None), counts
    values = {c: [v for v in pc.unique(table.column(c)).to_pylist() if v is not None]
              for c in names}  # fmt: skip
    scores = None
    if score:
        raw = pc.cast(table.column(score[0]), pa.float64(), safe=False)
        all_scores = np.asarray(raw.to_numpy(zero_copy_only=False), dtype=np.float64)
        scores = all_scores[np.isfinite(all_scores)]
    return Head(values, scores), {c: len(v) for c, v in values.items()}


def check_identifiers(src: SqlSource, roles: Roles) -> Head:
    """List the key columns' values in the first rows; refuse an id column before grouping.

    The first rows are read from the files in order (a Spark table's are the engine's to
    choose). A column with very many values there (an identifier, as a sensitive feature or
    a label) is counted exactly and refused as the in-memory path refuses it.
    """
    d = src.dialect
    names = [*roles.sensitive_features]
    if roles.task != "regression":
        names += [roles.y_true, roles.y_pred]
    head, counts = _first_rows(src, roles, names)
    for column in names:
        is_label = column in (roles.y_true, roles.y_pred) and roles.task != "regression"
        limit = _MAX_LABEL_VALUES if is_label else 100 * roles.max_categories
        if counts[column] <= limit:
            continue
        exact = one(src.query(f"SELECT COUNT(DISTINCT {d.q(column)}) AS n FROM {{src}}",
                               "distinct"))["n"]  # fmt: skip
        if exact <= limit:
            continue
        if is_label:
            role = "y_true" if column == roles.y_true else "y_pred"
            raise DataValidationError(
                f"Column '{column}' ({role}) must be binary: expected at most 2 distinct "
                f"values, found {exact:,}."
            )
        raise DataValidationError(
            f"Sensitive feature '{column}' has {exact} distinct values, more than "
            f"max_categories={roles.max_categories}; it looks like an identifier or a "
            "continuous column. Bin it (for example into age bands) or raise max_categories."
        )
    return head


def all_listed(
    src: SqlSource,
    space: KeySpace,
    positions: Sequence[npt.NDArray[np.int64]],
    values: dict[str, list[Any]],
    attempt: int,
    say: Callable[[str], None],
) -> bool:
    """Whether every grouped value was among the listed ones; if not, list all of them.

    The key columns' values are listed from the first rows; a value seen only later is coded
    :data:`~audit._engines._keys.OTHER`. Then every value of those columns is listed (a scan
    per column) into ``values`` and the caller counts again, once.
    """
    unlisted = space.unlisted(positions)
    if not unlisted:
        return True
    if attempt:  # every value was listed the second time: cannot happen
        raise AssertionError(f"values of {unlisted} are still not listed")
    say(f"values of {unlisted} beyond the first rows: listing all, counting again")
    for name in unlisted:
        values[name] = all_values(src, name)
    return False


def all_values(src: SqlSource, column: str) -> list[Any]:
    """Every distinct value of a column (when the first rows did not show them all)."""
    d = src.dialect
    rows = src.query(f"SELECT DISTINCT {d.q(column)} AS v FROM {{src}}", "distinct values")
    return list(rows.column("v").to_pylist())


def sensitive_keys(
    roles: Roles, profile: dict[str, Any], types: dict[str, str], values: dict[str, list[Any]]
) -> tuple[list[KeyColumn], list[tuple[str, ...]]]:
    """Each sensitive feature's key column and categories, from its listed distinct values."""
    check_no_values(roles, profile)
    features, categories = [], []
    for i, f in enumerate(roles.sensitive_features):
        column, cats = sensitive_column(
            f,
            types[f],
            values[f],
            bool(profile[f"f{i}_missing"]),
            roles.max_categories,
        )
        features.append(column)
        categories.append(cats)
    return features, categories
