"""The counting step as SQL: the aggregate queries every SQL engine runs, and their assembly.

An engine (DuckDB, Spark) runs these queries over the predictions; none returns rows:

1. **guard**: the distinct values of the key columns (sensitive features, labels) in the
   first :data:`FIRST_ROWS` rows, and how many; an identifier column is refused here, before
   anything is grouped by it;
2. **profile**: one row of totals: row count, missing values, the score's and weight's
   problems, their minimum and maximum;
3. **groups**: one ``GROUP BY`` over a single integer key coding each row's cell, labels and
   score bin (see :mod:`audit._engines._keys`), with counts, weight and score sums, each
   group's smallest and largest score, and the missing values of the other columns;
4. **median** (only with more distinct scores than histogram bins): the scores of the one or
   two bins holding the median, to make it exact.

A value first seen after the first rows sends the ``GROUP BY`` round once more with every
value listed; few distinct scores sharing a bin send it round by value. Everything else
happens here, in memory, on the aggregates: the in-memory path's validation functions on the
distinct values, its cell order and its score bins, so the
:class:`~audit._statistics.CellStatistics` equal the in-memory engine's: counts exactly, sums
to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit._engines._base import (
    Counted,
    Dialect,
    Roles,
    SqlSource,
    groups_sql,
    missing_counts,
    number_columns,
    numbers,
    one,
    role_columns,
    sum_by,
)
from audit._engines._keys import (
    OTHER,
    KeyColumn,
    KeySpace,
    dense_cells,
    labels_of,
    present,
    sensitive_column,
)
from audit._engines._scores import Located, bin_sql, histogram
from audit._exceptions import DataValidationError
from audit._statistics import CellStatistics, equal_width_bins
from audit._validation import (
    missing_values_error,
    negative_weight_error,
    not_finite_error,
    outside_unit_error,
    zero_weight_error,
)

__all__ = [
    "FIRST_ROWS",
    "Counted",
    "Dialect",
    "Roles",
    "SqlSource",
    "all_values",
    "check_identifiers",
    "count_with_sql",
    "number_columns",
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


def _profile_sql(d: Dialect, roles: Roles) -> str:
    """Totals: rows, missing values of the key columns, the problems of score and weight."""
    q = d.q
    parts = ["COUNT(*) AS n_rows"]
    for key in ("y_true", "y_pred"):
        label = q(getattr(roles, key))
        parts.append(f"COUNT(*) - COUNT({label}) AS {key}_missing")
    for i, f in enumerate(roles.sensitive_features):
        parts.append(f"COUNT(*) - COUNT({q(f)}) AS f{i}_missing")
    for key, column in (("s", roles.y_score), ("w", roles.sample_weight)):
        if column is None:
            continue
        c = q(column)
        bad = f"({c} IS NULL OR isnan({c}) OR {d.inf(c)})"
        parts += [
            f"COUNT_IF({c} IS NULL OR isnan({c})) AS {key}_nan",
            f"COUNT_IF({c} IS NOT NULL AND {d.inf(c)}) AS {key}_inf",
            f"MIN(CASE WHEN NOT {bad} THEN {c} END) AS {key}_min",
            f"MAX(CASE WHEN NOT {bad} THEN {c} END) AS {key}_max",
        ]
        if key == "s":
            parts.append(f"COUNT_IF(NOT {bad} AND ({c} < 0 OR {c} > 1)) AS s_outside")
        else:
            parts += [f"COUNT_IF({c} < 0) AS w_negative", f"COUNT_IF({c} <> 0) AS w_nonzero"]
    return "SELECT " + ", ".join(parts) + " FROM {src}"


def _check_profile(
    src: SqlSource,
    roles: Roles,
    p: dict[str, Any],
    types: dict[str, str],
    values: dict[str, list[Any]],
) -> tuple[KeyColumn, KeyColumn, str, tuple[str, str]]:
    """Raise the in-memory path's error for the first problem the totals show, in its order.

    Returns the label key columns, the positive label and the labels.
    """
    if p["n_rows"] == 0:
        raise DataValidationError("The data is empty: 0 rows to audit.")
    for key in ("y_true", "y_pred"):
        column = getattr(roles, key)
        if p[f"{key}_missing"]:
            where = src.first_row(column, lambda s: s.isna().to_numpy())
            raise missing_values_error(column, key, int(p[f"{key}_missing"]), where)
    # The labels are validated (binary, pos_label) before the score, as the in-memory path does.
    labels = labels_of(
        (
            (roles.y_true, types[roles.y_true], present(values[roles.y_true])),
            (roles.y_pred, types[roles.y_pred], present(values[roles.y_pred])),
        ),
        roles.pos_label,
    )
    for key, column, role in (
        ("s", roles.y_score, "y_score"),
        ("w", roles.sample_weight, "sample_weight"),
    ):
        if column is None:
            continue
        if p[f"{key}_nan"] or p[f"{key}_inf"]:
            where = src.first_row(
                column, lambda s: ~np.isfinite(s.to_numpy("float64", na_value=np.nan))
            )
            raise not_finite_error(column, role, int(p[f"{key}_nan"]), int(p[f"{key}_inf"]), where)
        if key == "s" and roles.score_type == "probability" and p["s_outside"]:
            where = src.first_row(column, lambda s: ((s < 0) | (s > 1)).to_numpy(bool))
            raise outside_unit_error(column, int(p["s_outside"]), p["s_min"], p["s_max"], where)
        if key == "w":
            if p["w_negative"]:
                found: list[float] = []
                where = src.first_row(column, partial(_negative, found=found))
                raise negative_weight_error(column, found[0] if found else p["w_min"], where)
            if not p["w_nonzero"]:
                raise zero_weight_error(column)
    return labels


def _negative(values: pd.Series, found: list[float]) -> npt.NDArray[np.bool_]:
    """Negative weights; the first one found is kept for the message."""
    hits: npt.NDArray[np.bool_] = (values < 0).to_numpy(bool)
    if hits.any() and not found:
        found.append(float(values.to_numpy()[hits][0]))
    return hits


def check_identifiers(src: SqlSource, roles: Roles) -> dict[str, list[Any]]:
    """List the key columns' values in the first rows; refuse an id column before grouping.

    A column with very many values in the first rows (an identifier, as a sensitive feature
    or a label) is counted exactly and refused as the in-memory path refuses it. Returns each
    key column's values in the first rows.
    """
    d = src.dialect
    names = [*roles.sensitive_features]
    if roles.task != "regression":
        names += [roles.y_true, roles.y_pred]
    head = one(src.query(_guard_sql(d, names), "guard"))
    for i, column in enumerate(names):
        is_label = column in (roles.y_true, roles.y_pred) and roles.task != "regression"
        limit = _MAX_LABEL_VALUES if is_label else 100 * roles.max_categories
        if (head[f"d{i}"] or 0) <= limit:
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
    return {column: list(head[f"v{i}"] or []) for i, column in enumerate(names)}


def all_listed(
    src: SqlSource,
    space: KeySpace,
    meanings: Sequence[npt.NDArray[np.int64]],
    values: dict[str, list[Any]],
    attempt: int,
    say: Callable[[str], None],
) -> bool:
    """Whether every grouped value was among the listed ones; if not, list all of them.

    The key columns' values are listed from the first rows; a value seen only later is coded
    :data:`~audit._engines._keys.OTHER`. Then every value of those columns is listed (a scan
    per column) into ``values`` and the caller counts again, once.
    """
    unlisted = [c.name for c, m in zip(space.columns, meanings, strict=True)
                if (m == OTHER).any()]  # fmt: skip
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


def count_with_sql(
    src: SqlSource,
    roles: Roles,
    *,
    on_step: Callable[[str], None] | None = None,
) -> Counted:
    """Count the predictions ``src`` holds into cell statistics, with aggregate queries only.

    Raises
    ------
    DataValidationError
        The same error, with the same words, as the in-memory path would raise (rows are
        located by ``src.first_row``).
    """
    say = on_step or (lambda _text: None)
    columns = src.columns()
    names = [c for c, _ in columns]
    wanted = {"y_true": roles.y_true, "y_pred": roles.y_pred}
    if roles.y_score:
        wanted["y_score"] = roles.y_score
    if roles.sample_weight:
        wanted["sample_weight"] = roles.sample_weight
    for i, f in enumerate(roles.sensitive_features):
        wanted[f"sensitive_features[{i}]"] = f
    for role, column in wanted.items():
        if column not in names:
            raise DataValidationError(
                f"Column '{column}' ({role}) is not in the data. Columns present: {names}."
            )
    duplicated = {f for f in roles.sensitive_features if roles.sensitive_features.count(f) > 1}
    if duplicated:
        raise DataValidationError(f"sensitive_features lists {sorted(duplicated)} more than once.")
    if roles.task == "regression":
        from audit._engines._regression import count_regression

        if roles.y_score or roles.pos_label is not None:
            given = "y_score" if roles.y_score else "pos_label"
            raise DataValidationError(
                f"{given} is for binary classification; a regression audit compares y_pred "
                f"with y_true and takes no {given}."
            )
        return count_regression(src, roles, columns, roles.regression_bins, say)
    say("guard: the key columns' values in the first rows")
    values = check_identifiers(src, roles)
    say("profile: row count, missing values, score and weight checks")
    profile = one(src.query(_profile_sql(src.dialect, roles), "profile"))
    types = dict(columns)
    if profile["n_rows"] == 0:
        raise DataValidationError("The data is empty: 0 rows to audit.")
    # Scores: equal-width bins in SQL, with each group's smallest and largest score: when every
    # bin holds one value, the bins are the distinct values (the in-memory engine's exact bins).
    probability = roles.score_type == "probability"
    binning = None
    tail, tail_sql = 1, "0"
    if roles.y_score:
        lo, hi = (0.0, 1.0) if probability else (profile["s_min"], profile["s_max"])
    for attempt in range(2):
        yt_col, yp_col, pos, labels = _check_profile(src, roles, profile, types, values)
        features, categories = sensitive_keys(roles, profile, types, values)
        if roles.y_score:
            binning = equal_width_bins(lo, hi, roles.score_bins)
            tail, tail_sql = binning.ece_bin.size, bin_sql(src.dialect, roles.y_score, binning)
        space = KeySpace((*features, yt_col, yp_col), tail)
        if not space.fits():
            raise DataValidationError(
                f"The sensitive features {list(roles.sensitive_features)} have too many "
                "combinations of values to count by one key; audit fewer features at once."
            )
        say("groups: one GROUP BY over the cells, labels and score bins")
        key_sql = space.key_sql(src.dialect, tail_sql)
        groups = src.query(groups_sql(src.dialect, roles, columns, key_sql), "groups")
        meanings, bins, key_missing = space.decode(numbers(groups, "k").astype(np.int64))
        if all_listed(src, space, meanings, values, attempt, say):
            break
    cell, codes, observed = dense_cells(meanings[: len(features)], categories)
    yt, yp = meanings[-2], meanings[-1]
    n_cells = codes.shape[0]
    n = numbers(groups, "n")
    weighted = roles.sample_weight is not None
    w = numbers(groups, "w") if weighted else n
    confusion = cell * 4 + 2 * yt + yp
    count = sum_by(confusion, n, n_cells * 4).round().astype(np.int64)
    weight = sum_by(confusion, w, n_cells * 4) if weighted else count.astype(np.float64)
    missing = missing_counts(groups, columns, role_columns(roles), key_missing, cell, n, n_cells)
    scores = None
    if roles.y_score and binning is not None:
        located = Located(features, categories, observed)
        scores = histogram(
            src, roles, groups, binning, bins, cell, yt, n_cells, located, columns, space, say
        )
    unknown = {
        f: int(profile[f"f{i}_missing"] or 0) for i, f in enumerate(roles.sensitive_features)
    }
    statistics = CellStatistics(
        features=tuple(roles.sensitive_features),
        categories=tuple(categories),
        cells=codes,
        confusion_count=count.reshape(n_cells, 4),
        confusion_weight=weight.reshape(n_cells, 4),
        missing_columns=tuple(c for c, _ in columns),
        missing_count=missing,
        scores=scores,
        weighted=weighted,
    )
    return Counted(statistics, pos, labels, unknown, int(profile["n_rows"]), src.dialect.name)


def sensitive_keys(
    roles: Roles, profile: dict[str, Any], types: dict[str, str], values: dict[str, list[Any]]
) -> tuple[list[KeyColumn], list[tuple[str, ...]]]:
    """Each sensitive feature's key column and categories, from its listed distinct values."""
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
