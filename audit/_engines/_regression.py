"""The counting step of a regression audit as SQL: moments per cell and moment bin.

Three aggregate queries, none returning rows:

1. **profile**: row count, the labels' and weight's problems, the ranges of the residual
   ``e = ŷ − y`` and of ``y``, and the weighted mean of ``y`` (the shift ``c``);
2. **fine**: fine equal-width histograms of ``e`` and of ``y`` (``GROUPING SETS``), from which
   the moment bins' edges are cut by counts alone, as the in-memory engine cuts them;
3. **groups**: one ``GROUP BY`` over the raw sensitive values and both bins, with the seven
   moment sums of :data:`~audit._statistics.REGRESSION_MOMENTS`, their 28 cross products (the
   within-bin scatter, by the one-pass formula), and ``min``/``max`` of ``y``.

Points equal the in-memory engine's to rounding; the moment bins are the same, so the
intervals are too (the scatter to about 1e-9, from its one-pass formula).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from audit._engines._base import (
    Aggregate,
    Counted,
    Roles,
    SqlSource,
    literal,
    missing_counts,
    missing_counts_sql,
    numbers,
    one,
    role_columns,
    sum_by,
)
from audit._engines._keys import KeySpace, dense_cells
from audit._engines._listing import all_listed, check_identifiers, sensitive_keys
from audit._exceptions import DataValidationError
from audit._statistics import (
    FINE_BINS,
    REGRESSION_MOMENTS,
    CellStatistics,
    RegressionMoments,
    quantile_edges,
)
from audit._validation import negative_weight_error, not_finite_error, zero_weight_error

__all__ = ["count_regression"]

_NUMERIC = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "INT",
    "BIGINT",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
    "INTEGER",
    "LONG",
    "SHORT",
    "BYTE",
)


def _is_number_type(sql_type: str) -> bool:
    t = sql_type.upper()
    return t.startswith(_NUMERIC)


def count_regression(
    src: SqlSource,
    roles: Roles,
    columns: Sequence[tuple[str, str]],
    n_bins: int,
    say: Callable[[str], None],
) -> Counted:
    """Count a regression audit's moments with aggregate queries (see the module)."""
    d, q = src.dialect, src.dialect.q
    types = dict(columns)
    for key in ("y_true", "y_pred"):
        column = getattr(roles, key)
        if not _is_number_type(types[column]):
            raise DataValidationError(
                f"Column '{column}' ({key}) must hold numbers for a regression audit; engine "
                f"'{d.name}' found type {types[column]} (convert it, or use engine = 'memory', "
                "which parses numbers written as text)."
            )
    y, p = q(roles.y_true), q(roles.y_pred)
    w = q(roles.sample_weight) if roles.sample_weight else None
    weight = w or "CAST(1 AS DOUBLE)"
    e = f"({p} - {y})"
    parts = ["COUNT(*) AS n_rows"]
    checked = [("y_true", roles.y_true), ("y_pred", roles.y_pred)]
    if roles.sample_weight:
        checked.append(("w", roles.sample_weight))
    for key, column in checked:
        c = q(column)
        parts += [
            f"COUNT_IF({c} IS NULL OR isnan({c})) AS {key}_nan",
            f"COUNT_IF({c} IS NOT NULL AND {d.inf(c)}) AS {key}_inf",
        ]
    if w:
        parts += [
            f"COUNT_IF({w} < 0) AS w_negative",
            f"COUNT_IF({w} <> 0) AS w_nonzero",
            f"MIN({w}) AS w_min",
        ]
    parts += [
        f"MIN({e}) AS e_min",
        f"MAX({e}) AS e_max",
        f"MIN({y}) AS y_min",
        f"MAX({y}) AS y_max",
        f"SUM({weight}) AS w_total",
        f"SUM({weight} * {y}) AS wy_total",
    ]
    for i, f in enumerate(roles.sensitive_features):
        parts.append(f"COUNT(*) - COUNT({q(f)}) AS f{i}_missing")
    say("guard: the key columns' values in the first rows")
    values = check_identifiers(src, roles).values
    say("profile: row count, label and weight checks, ranges")
    profile = one(src.query("SELECT " + ", ".join(parts) + " FROM {src}", "profile"))
    if profile["n_rows"] == 0:
        raise DataValidationError("The data is empty: 0 rows to audit.")
    for key, column in checked:
        role = "sample_weight" if key == "w" else key
        if profile[f"{key}_nan"] or profile[f"{key}_inf"]:
            where = src.first_row(
                column, lambda s: ~np.isfinite(s.to_numpy("float64", na_value=np.nan))
            )
            raise not_finite_error(
                column, role, int(profile[f"{key}_nan"]), int(profile[f"{key}_inf"]), where
            )
    if roles.sample_weight:
        column = roles.sample_weight
        if profile["w_negative"]:
            where = src.first_row(column, lambda s: (s < 0).to_numpy(bool))
            raise negative_weight_error(column, float(profile["w_min"]), where)
        if not profile["w_nonzero"]:
            raise zero_weight_error(column)
    features, categories = sensitive_keys(roles, profile, types, values)

    # Fine histograms of e and y: the moment bins' edges, from counts alone.
    ranges = {}
    for name, lo_key, hi_key in (("e", "e_min", "e_max"), ("y", "y_min", "y_max")):
        lo = float(profile[lo_key])
        ranges[name] = (lo, (float(profile[hi_key]) - lo) or 1.0)

    def fine(expr: str, name: str) -> str:
        lo, width = ranges[name]
        return (
            f"LEAST(CAST(FLOOR(({expr} - {literal(lo)}) / {literal(width)} * {FINE_BINS}) "
            f"AS BIGINT), {FINE_BINS - 1})"
        )

    say("fine: histograms of the residual and of y_true")
    fine_rows = src.query(
        f"SELECT {fine(e, 'e')} AS fe, {fine(y, 'y')} AS fy, COUNT(*) AS n FROM {{src}} "
        f"GROUP BY GROUPING SETS (({fine(e, 'e')}), ({fine(y, 'y')}))",
        "fine",
    ).to_pandas()
    edges = {}
    for name in ("e", "y"):
        rows = fine_rows[fine_rows[f"f{name}"].notna()]
        counts = np.zeros(FINE_BINS, dtype=np.int64)
        np.add.at(counts, rows[f"f{name}"].to_numpy(np.int64), rows["n"].to_numpy(np.int64))
        lo, width = ranges[name]
        edges[name] = quantile_edges(counts, lo, width, n_bins)

    def binned(expr: str, name: str) -> str:
        terms = [f"CASE WHEN {expr} >= {literal(float(x))} THEN 1 ELSE 0 END" for x in edges[name]]
        return " + ".join(terms) if terms else "0"

    shift = float(profile["wy_total"]) / float(profile["w_total"])
    c = literal(shift)
    summands = [
        weight,
        f"{weight} * {e}",
        f"{weight} * {e} * {e}",
        f"{weight} * ABS({e})",
        f"{weight} * ({p} - {c})",
        f"{weight} * ({y} - {c})",
        f"{weight} * ({y} - {c}) * ({y} - {c})",
    ]
    tail = f"({binned(e, 'e')}) * {n_bins} + ({binned(y, 'y')})"
    aggregates: list[Aggregate | str] = ["COUNT(*) AS n"]
    aggregates += [f"SUM({x}) AS s{i}" for i, x in enumerate(summands)]
    k = len(summands)
    aggregates += [
        f"SUM(({summands[i]}) * ({summands[j]})) AS x{i}_{j}" for i in range(k) for j in range(i, k)
    ]
    aggregates += [f"MIN({y}) AS y_lo", f"MAX({y}) AS y_hi", f"SUM({weight} * {y}) AS wy"]
    aggregates += missing_counts_sql(d, columns, role_columns(roles))
    say("groups: one GROUP BY over the cells and the moment bins")
    for attempt in range(2):
        space = KeySpace(tuple(features), n_bins * n_bins)
        key = f"{space.key_sql(d, tail)} AS k"
        groups = src.query(
            "SELECT " + ", ".join([key, *map(str, aggregates)]) + " FROM {src} GROUP BY 1", "groups"
        )
        keys = numbers(groups, "k").astype(np.int64)
        if all_listed(src, space, space.positions(keys)[0], values, attempt, say):
            meanings, slots, key_missing = space.decode(keys)
            break
        features, categories = sensitive_keys(roles, profile, types, values)
    cell, codes, _ = dense_cells(meanings, categories)
    unknown = {
        f: int(profile[f"f{i}_missing"] or 0) for i, f in enumerate(roles.sensitive_features)
    }
    return _assemble(
        src, roles, columns, groups, n_bins, shift, int(profile["n_rows"]),
        cell, codes, slots, tuple(categories), unknown, key_missing,
    )  # fmt: skip


def _assemble(
    src: SqlSource,
    roles: Roles,
    columns: Sequence[tuple[str, str]],
    groups: pa.Table,
    n_bins: int,
    shift: float,
    n_rows: int,
    cell: npt.NDArray[np.int64],
    codes: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    categories: tuple[tuple[str, ...], ...],
    unknown: dict[str, int],
    key_missing: dict[str, npt.NDArray[np.bool_]],
) -> Counted:
    n_cells = codes.shape[0]
    n_slots = n_bins * n_bins
    slot = cell * n_slots + slots
    size = n_cells * n_slots
    n = numbers(groups, "n")
    count = sum_by(slot, n, size).round().astype(np.int64)
    k = len(REGRESSION_MOMENTS)
    sums = np.stack([sum_by(slot, numbers(groups, f"s{i}"), size) for i in range(k)], axis=-1)
    # Within-bin scatter per cell: Σ_bins (Σ x xᵀ − (Σx)(Σx)ᵀ / n).
    scatter = np.zeros((n_cells, k, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(k):
            for j in range(i, k):
                cross = sum_by(slot, numbers(groups, f"x{i}_{j}"), size)
                within = cross - np.where(count > 0, sums[:, i] * sums[:, j] / count, 0.0)
                per_cell = within.reshape(n_cells, n_slots).sum(axis=1)
                scatter[:, i, j] = scatter[:, j, i] = per_cell
    moments = sums.reshape(n_cells, n_slots, k)
    cell_w = moments[..., 0].sum(axis=1)
    wy = sum_by(cell, numbers(groups, "wy"), n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(cell_w > 0, wy / cell_w, shift)
        # Σw(y − ȳ)² = Σw(y − c)² − (Σw(y − c))² / Σw, per cell
        y_m2 = np.where(
            cell_w > 0,
            moments[..., 6].sum(axis=1) - moments[..., 5].sum(axis=1) ** 2 / cell_w,
            0.0,
        )
    y_lo = np.full(n_cells, np.inf)
    np.minimum.at(y_lo, cell, numbers(groups, "y_lo"))
    y_hi = np.full(n_cells, -np.inf)
    np.maximum.at(y_hi, cell, numbers(groups, "y_hi"))
    missing = missing_counts(groups, columns, role_columns(roles), key_missing, cell, n, n_cells)
    statistics = CellStatistics(
        features=tuple(roles.sensitive_features),
        categories=categories,
        cells=codes,
        confusion_count=np.zeros((n_cells, 0), dtype=np.int64),
        confusion_weight=np.zeros((n_cells, 0), dtype=np.float64),
        missing_columns=tuple(c for c, _ in columns),
        missing_count=missing,
        scores=None,
        weighted=roles.sample_weight is not None,
        regression=RegressionMoments(
            count=count.reshape(n_cells, n_slots),
            moments=moments,
            shift=shift,
            y_mean=np.asarray(y_mean, dtype=np.float64),
            y_m2=np.asarray(y_m2, dtype=np.float64),
            y_any=y_lo,
            y_varies=y_hi != y_lo,
            within_scatter=scatter,
        ),
    )
    return Counted(statistics, "", ("", ""), unknown, n_rows, src.dialect.name)
