"""What every SQL engine shares.

The dialect, the roles, the source protocol, the counted result, and the helpers that build
the ``GROUP BY`` and read its aggregates back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from audit._roles import Roles
from audit._statistics import CellStatistics

__all__ = [
    "Aggregate",
    "Counted",
    "Dialect",
    "Roles",
    "SqlSource",
    "group_aggregates",
    "groups_sql",
    "literal",
    "missing_counts",
    "missing_counts_sql",
    "number_columns",
    "numbers",
    "one",
    "role_columns",
    "select_groups",
    "sum_by",
]


@dataclass(frozen=True)
class Dialect:
    """How an engine writes what differs between SQL dialects."""

    name: str
    quote_char: str = '"'
    isinf: str = "isinf({})"
    #: An aggregate listing a column's distinct values.
    distinct_list: str = "list(DISTINCT {})"
    #: Appended to ``{src}`` for a cheap sample of about 1% of the rows.
    sample: str = " USING SAMPLE 1 PERCENT (system)"
    #: Whether a backslash escapes in string literals (Spark) or is a plain character.
    backslash_escapes: bool = False
    #: An aggregate listing a column's values (with repeats), or None when the engine would
    #: give up its fast aggregation for it (Spark: an object hash aggregate, sorting).
    list_agg: str | None = "list({})"
    #: A two-element array of two number expressions.
    pair: str = "[{}, {}]"

    def q(self, name: str) -> str:
        """A quoted identifier."""
        c = self.quote_char
        return c + name.replace(c, c + c) + c

    def string(self, value: str) -> str:
        """A string literal."""
        if self.backslash_escapes:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def literal(self, value: Any, sql_type: str) -> str:
        """``value`` as a literal of a column of ``sql_type`` (for ``CASE column WHEN …``)."""
        if isinstance(value, bool | np.bool_):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | np.integer):
            return str(int(value))
        if isinstance(value, float | np.floating):
            return f"CAST({self.string(repr(float(value)))} AS DOUBLE)"
        if isinstance(value, str):
            return self.string(value)
        return f"CAST({self.string(str(value))} AS {sql_type})"

    def inf(self, expr: str) -> str:
        """True when ``expr`` is infinite."""
        return self.isinf.format(expr)


@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a ``GROUP BY``: ``func(arg) AS alias``.

    Kept apart (not as SQL text) so that an engine may compute it without SQL: the Spark
    engine's dense counter (:mod:`audit._engines._dense`) takes ``SUM``, ``COUNT_IF``, ``MIN``
    and ``MAX`` of number expressions.
    """

    func: str  # COUNT | SUM | COUNT_IF | MIN | MAX
    arg: str
    alias: str
    #: Only its totals per cell (or over all rows) are read, never a group's own value: an
    #: engine may aggregate it per cell and labels instead (the checks, missing values).
    per_cell: bool = False

    def __str__(self) -> str:
        return f"{self.func}({self.arg}) AS {self.alias}"


class SqlSource(Protocol):
    """An engine's view of the predictions: its columns, and queries that return aggregates."""

    dialect: Dialect
    name: str

    def columns(self) -> list[tuple[str, str]]:
        """``(name, type)`` of every column, in the data's order (type as the engine says)."""
        ...

    def query(self, sql: str, step: str) -> pa.Table:
        """Run ``SELECT … FROM {src} …`` (``{src}`` stands for the data) and return the result."""
        ...

    def first_row(self, column: str, check: Callable[[pd.Series], npt.NDArray[np.bool_]]) -> str:
        """Where the first row failing ``check`` is, in words (``line 7 of x.csv``)."""
        ...

    def head(self, columns: Sequence[str], rows: int) -> pa.Table | None:
        """The first ``rows`` rows of ``columns`` read from files in order; None for a table."""
        ...


@dataclass(frozen=True)
class Counted:
    """What an engine's count gives the audit: the statistics and what validation learnt."""

    statistics: CellStatistics
    pos_label: str
    labels: tuple[str, str]
    unknown_counts: dict[str, int]
    n_rows: int
    engine: str
    queries: dict[str, float] = field(default_factory=dict)  # seconds per query


def number_columns(roles: Roles) -> dict[str, str]:
    """The columns read as numbers (float64), each with its role.

    As the in-memory path reads them: score and weight, and for a regression audit both labels.
    """
    pairs = [(roles.y_score, "y_score"), (roles.sample_weight, "sample_weight")]
    if roles.task == "regression":
        pairs += [(roles.y_true, "y_true"), (roles.y_pred, "y_pred")]
    return {column: role for column, role in pairs if column}


def is_float_type(sql_type: str) -> bool:
    t = sql_type.upper()
    return t.startswith(("DOUBLE", "FLOAT", "REAL"))


def literal(x: float) -> str:
    return f"CAST('{x!r}' AS DOUBLE)"


def role_columns(roles: Roles) -> set[str]:
    """Columns whose missing values need no count of their own.

    The key shows the sensitive features' missing values; labels, score and weight have none
    (validation refuses them).
    """
    named = [roles.y_true, roles.y_pred, roles.y_score, roles.sample_weight]
    return {c for c in (*named, *roles.sensitive_features) if c}


def missing_counts_sql(
    d: Dialect, columns: Sequence[tuple[str, str]], skip: set[str]
) -> list[Aggregate]:
    """``COUNT_IF(column is missing) AS m<j>`` for the other columns (NaN is missing in floats)."""
    out = []
    for j, (name, sql_type) in enumerate(columns):
        if name in skip:
            continue
        c = d.q(name)
        missing = f"{c} IS NULL OR isnan({c})" if is_float_type(sql_type) else f"{c} IS NULL"
        out.append(Aggregate("COUNT_IF", missing, f"m{j}", per_cell=True))
    return out


def missing_counts(
    groups: pa.Table,
    columns: Sequence[tuple[str, str]],
    skip: set[str],
    key_missing: dict[str, npt.NDArray[np.bool_]],
    cell: npt.NDArray[np.int64],
    n: npt.NDArray[np.float64],
    n_cells: int,
) -> npt.NDArray[np.int64]:
    """Missing values per cell and column.

    From the key for the sensitive features, 0 for labels, score and weight (validated),
    counted in the scan for the other columns.
    """
    out = np.zeros((n_cells, len(columns)), dtype=np.int64)
    for j, (name, _) in enumerate(columns):
        if name in key_missing:
            hit = key_missing[name]
            out[:, j] = sum_by(cell[hit], n[hit], n_cells).round()
        elif name not in skip:
            out[:, j] = sum_by(cell, numbers(groups, f"m{j}"), n_cells).round()
    return out


def group_aggregates(
    d: Dialect,
    roles: Roles,
    columns: Sequence[tuple[str, str]],
    extra_aggregates: Sequence[Aggregate | str] = (),
    extremes: bool = True,
) -> list[Aggregate | str]:
    """The aggregates of the ``GROUP BY`` of the counts and sums (see :func:`groups_sql`).

    With weights, ``w`` is their sum and ``w2`` the sum of their squares, each group's own
    (not ``per_cell``: the score histogram reads them per bin). The square is taken in
    double precision, as the in-memory engine takes it: an integer weight column squared as
    integers could overflow (an error, or a silent wrap). A NULL weight adds nothing to
    either sum; the checks refuse it, and a NaN, infinite or negative one, afterwards.
    """
    q = d.q
    aggregates: list[Aggregate | str] = [Aggregate("COUNT", "*", "n")]
    w = q(roles.sample_weight) if roles.sample_weight else None
    if w:
        as_double = f"CAST({w} AS DOUBLE)"
        aggregates += [
            Aggregate("SUM", w, "w"),
            Aggregate("SUM", f"{as_double} * {as_double}", "w2"),
        ]
    if roles.y_score:
        s = q(roles.y_score)
        sw = f"{s} * {w}" if w else s
        aggregates += [Aggregate("SUM", sw, "s1"), Aggregate("SUM", f"{sw} * {s}", "s2")]
        if extremes:
            aggregates += [Aggregate("MIN", s, "smin"), Aggregate("MAX", s, "smax")]
    aggregates += missing_counts_sql(d, columns, role_columns(roles))
    aggregates += extra_aggregates
    return aggregates


def groups_sql(
    d: Dialect,
    roles: Roles,
    columns: Sequence[tuple[str, str]],
    key: str,
    extra_keys: Sequence[str] = (),
    extra_aggregates: Sequence[Aggregate | str] = (),
    extremes: bool = True,
) -> str:
    """The ``GROUP BY`` of the counts and sums by ``key``.

    ``extremes``: each group's smallest and largest score too (they tell whether every bin
    holds one value: not needed when the first rows already show more values than bins).
    """
    aggregates = group_aggregates(d, roles, columns, extra_aggregates, extremes)
    return select_groups(key, extra_keys, aggregates)


def select_groups(
    key: str, extra_keys: Sequence[str], aggregates: Sequence[Aggregate | str]
) -> str:
    """``SELECT key AS k, … GROUP BY`` the keys, by position."""
    keys = [f"{key} AS k", *extra_keys]
    # By position: a data column named like an alias would win over the alias.
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    selected = ", ".join([*keys, *map(str, aggregates)])
    return "SELECT " + selected + " FROM {src} GROUP BY " + group


def one(table: pa.Table) -> dict[str, Any]:
    return {k: v[0] for k, v in table.to_pydict().items()}


def numbers(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    """A numeric aggregate column as float64 (an empty SUM is NULL: 0)."""
    column = pc.fill_null(pc.cast(table.column(name), pa.float64()), 0.0)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def sum_by(
    index: npt.NDArray[np.int64], weights: npt.NDArray[Any], size: int
) -> npt.NDArray[np.float64]:
    """``weights`` summed by ``index`` into ``size`` slots."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)
