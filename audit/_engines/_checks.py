"""The checks of the counting step: the totals they read, and the in-memory path's errors.

The totals (rows, missing values, the score's and weight's problems and ranges) come from the
groups of the ``GROUP BY`` (:func:`profile_of`), or from a query of their own
(:func:`profile_sql`) when listed values are refused before any grouping; either way
:func:`check_profile` raises the in-memory path's first error, in its order and its words.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit._engines._base import (
    Aggregate,
    Dialect,
    Roles,
    SqlSource,
    is_float_type,
    numbers,
    one,
)
from audit._engines._keys import KeyColumn, KeySpace, labels_of, present
from audit._engines._scores import SCORE_PROBLEMS
from audit._exceptions import DataValidationError
from audit._validation import (
    missing_values_error,
    negative_weight_error,
    no_values_error,
    not_finite_error,
    nul_error,
    nul_rows,
    outside_unit_error,
    zero_weight_error,
)

__all__ = [
    "check_no_values",
    "check_nul",
    "check_profile",
    "checks_sql",
    "label_keys",
    "profile_of",
    "profile_sql",
    "score_range",
    "text_roles",
]


def _range_sql(d: Dialect, key: str, column: str) -> list[Aggregate]:
    """The smallest and largest finite value of a number column."""
    c = d.q(column)
    bad = f"({c} IS NULL OR isnan({c}) OR {d.inf(c)})"
    return [
        Aggregate("MIN", f"CASE WHEN NOT {bad} THEN {c} END", f"{key}_min", per_cell=True),
        Aggregate("MAX", f"CASE WHEN NOT {bad} THEN {c} END", f"{key}_max", per_cell=True),
    ]


def checks_sql(d: Dialect, key: str, column: str) -> list[Aggregate]:
    """The problems of a number column (score ``s``, weight ``w``) and its finite range."""
    c = d.q(column)
    bad = f"({c} IS NULL OR isnan({c}) OR {d.inf(c)})"
    parts = [
        Aggregate("COUNT_IF", f"{c} IS NULL OR isnan({c})", f"{key}_nan", per_cell=True),
        Aggregate("COUNT_IF", f"{c} IS NOT NULL AND {d.inf(c)}", f"{key}_inf", per_cell=True),
        *_range_sql(d, key, column),
    ]
    if key == "s":
        outside = f"NOT {bad} AND ({c} < 0 OR {c} > 1)"
        parts.append(Aggregate("COUNT_IF", outside, "s_outside", per_cell=True))
    else:
        parts += [
            Aggregate("COUNT_IF", f"{c} < 0", "w_negative", per_cell=True),
            Aggregate("COUNT_IF", f"{c} <> 0", "w_nonzero", per_cell=True),
        ]
    return parts


def profile_sql(d: Dialect, roles: Roles, types: dict[str, str]) -> str:
    """Totals: rows, missing values of the key columns, the problems of score and weight.

    A NaN in a float key column is missing, as the in-memory path reads it.
    """
    q = d.q

    def missing(column: str) -> str:
        if is_float_type(types.get(column, "")):
            return f"COUNT_IF({q(column)} IS NULL OR isnan({q(column)}))"
        return f"COUNT(*) - COUNT({q(column)})"

    parts: list[Aggregate | str] = ["COUNT(*) AS n_rows"]
    for key in ("y_true", "y_pred"):
        parts.append(f"{missing(getattr(roles, key))} AS {key}_missing")
    for i, f in enumerate(roles.sensitive_features):
        parts.append(f"{missing(f)} AS f{i}_missing")
    for key, column in (("s", roles.y_score), ("w", roles.sample_weight)):
        if column is not None:
            parts += checks_sql(d, key, column)
    return "SELECT " + ", ".join(map(str, parts)) + " FROM {src}"


def check_profile(
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
    labels = label_keys(roles, types, values)
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


def text_roles(roles: Roles) -> list[tuple[str, str]]:
    """The columns read as text that hold a role (labels, sensitive features), and the roles."""
    out = [] if roles.task == "regression" else [(roles.y_true, "y_true"), (roles.y_pred, "y_pred")]
    out += [(f, f"sensitive_features[{i}]") for i, f in enumerate(roles.sensitive_features)]
    return out


def check_nul(src: SqlSource, roles: Roles, values: dict[str, list[Any]]) -> None:
    """Refuse a NUL character in a listed value, at its first row, as the in-memory path does.

    ``values`` must list every value of the text role columns.
    """
    for column, role in text_roles(roles):
        if any(isinstance(v, str) and "\x00" in v for v in values.get(column, ())):
            raise nul_error(column, role, src.first_row(column, nul_rows))


def check_no_values(roles: Roles, profile: dict[str, Any]) -> None:
    """Refuse a sensitive feature missing in every row (its count from the totals)."""
    for i, f in enumerate(roles.sensitive_features):
        n = profile.get("n_rows")
        if n and profile.get(f"f{i}_missing") == n:
            raise no_values_error(f, int(n))


def label_keys(
    roles: Roles, types: dict[str, str], values: dict[str, list[Any]]
) -> tuple[KeyColumn, KeyColumn, str, tuple[str, str]]:
    """Both label columns' key columns (validated binary), the positive label, the labels."""
    return labels_of(
        (
            (roles.y_true, types[roles.y_true], present(values[roles.y_true])),
            (roles.y_pred, types[roles.y_pred], present(values[roles.y_pred])),
        ),
        roles.pos_label,
    )


def _negative(values: pd.Series, found: list[float]) -> npt.NDArray[np.bool_]:
    """Negative weights; the first one found is kept for the message."""
    hits: npt.NDArray[np.bool_] = (values < 0).to_numpy(bool)
    if hits.any() and not found:
        found.append(float(values.to_numpy()[hits][0]))
    return hits


def score_range(src: SqlSource, score: str) -> tuple[float, float]:
    """The smallest and largest finite score ((0, 1) when there is none: the checks refuse)."""
    sql = "SELECT " + ", ".join(map(str, _range_sql(src.dialect, "s", score))) + " FROM {src}"
    row = one(src.query(sql, "range"))
    if row["s_min"] is None:
        return 0.0, 1.0
    return float(row["s_min"]), float(row["s_max"])


def profile_of(
    groups: pa.Table,
    space: KeySpace,
    positions: Sequence[npt.NDArray[np.int64]],
    codes: npt.NDArray[np.int64],
    binning: Any,
    roles: Roles,
) -> dict[str, Any]:
    """The totals :func:`check_profile` reads, from the groups (as the profile query's)."""
    n = numbers(groups, "n")

    def rows(where: npt.NDArray[np.bool_]) -> int:
        return round(float(n[where].sum()))

    columns = space.columns
    profile: dict[str, Any] = {"n_rows": round(float(n.sum()))}
    for i in range(len(roles.sensitive_features)):
        profile[f"f{i}_missing"] = rows(positions[i] == len(columns[i].values))
    for key, j in (("y_true", -2), ("y_pred", -1)):
        profile[f"{key}_missing"] = rows(positions[j] == len(columns[j].values))
    if binning is not None:
        n_bins = binning.ece_bin.size
        for k, problem in enumerate(SCORE_PROBLEMS):
            profile[problem] = rows(codes == n_bins + k)
        finite = (codes < n_bins) | (codes == n_bins + SCORE_PROBLEMS.index("s_outside"))
        for key, extreme in (("s_min", pc.min), ("s_max", pc.max)):
            name = "smin" if key == "s_min" else "smax"
            profile[key] = None
            if name in groups.column_names:
                profile[key] = extreme(groups.column(name).filter(pa.array(finite))).as_py()
    if roles.sample_weight:
        for key in ("w_nan", "w_inf", "w_negative", "w_nonzero"):
            profile[key] = int(numbers(groups, key).sum())
        profile["w_min"] = pc.min(groups.column("w_min")).as_py()
        profile["w_max"] = pc.max(groups.column("w_max")).as_py()
    return profile
