"""Columns of any type: found by name, their missing values, and their values as canonical text.

The lineage recorder describes tables it did not choose: a Parquet file's struct, list or map
columns, pandas columns of Python objects, Arrow-backed columns pandas cannot compute on,
duplicated or non-text column names. This module is what lets the facets and digests treat
every column the same way.

- :func:`column_at` is the first column of a name (``frame[name]`` is a DataFrame when the
  name is duplicated).
- :func:`missing_mask` is a column's missing values, also where ``Series.isna`` raises.
- :func:`is_nested` tells the columns whose values are containers: an Arrow-backed struct,
  list, map or union column, or an ``object`` column holding dicts, lists, tuples, sets or
  arrays.
- :func:`canonical_text` writes any value as one canonical text (below); a nested column's
  row digest, distinct count and group labels are those of its values' canonical texts.

**Canonical text** of a value, recursively:

- missing (None, NaN, NA, NaT) is ``null``; booleans ``true``/``false``;
- a whole number (``3``, ``3.0``) its integer digits, any other float its shortest ``repr``
  (``inf``, ``-inf`` for the infinities); a :class:`~decimal.Decimal` its own text (``1.50``);
- text a JSON string (``"a"``, non-ASCII escaped);
- bytes ``x"…"`` with their hex digits;
- a date, time, timestamp or duration its ISO 8601 text as a JSON string (timestamps and
  durations through pandas: the same instant gives the same text whether numpy or Arrow
  held it);
- a mapping (a struct's value) ``{"key":value,…}`` with keys as text in sorted order;
- a list, tuple, array or set ``[value,…]`` (a set's items in sorted order of their text; a
  map's value is a list of ``[key, value]`` pairs, in order);
- anything else its ``str`` as a JSON string (deterministic when that ``str`` is).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "ARROW_OR_PANDAS_ERRORS",
    "CONTAINERS",
    "arrow_type",
    "canonical_text",
    "column_at",
    "is_nested",
    "missing_mask",
    "number_kind",
    "value_label",
]

#: Python values that hold other values: a column holding any of them is nested.
CONTAINERS = (Mapping, list, tuple, set, frozenset, np.ndarray)
#: What :func:`pandas.api.types.infer_dtype` calls a column that holds no container.
_SCALAR_KINDS = frozenset(
    {
        "empty", "string", "bytes", "floating", "integer", "mixed-integer-float", "decimal",
        "complex", "categorical", "boolean", "datetime64", "datetime", "date", "timedelta64",
        "timedelta", "time", "period", "interval",
    }
)  # fmt: skip
#: What pandas and pyarrow raise for an operation a column's type does not support.
ARROW_OR_PANDAS_ERRORS = (TypeError, ValueError, NotImplementedError, pa.ArrowException)


def column_at(frame: pd.DataFrame, name: Any) -> pd.Series:
    """The first column of ``frame`` named ``name``, as a Series.

    ``frame[name]`` is a DataFrame when the name is duplicated; lineage describes a
    duplicated name by its first column.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame([[1, "x"]], columns=["a", "a"])
    >>> column_at(frame, "a").tolist()
    [1]
    """
    where = frame.columns.get_loc(name)
    if isinstance(where, slice):
        position = where.start or 0
    elif isinstance(where, np.ndarray):
        position = int(np.flatnonzero(where)[0])
    else:
        position = int(where)
    return frame.iloc[:, position]


def missing_mask(series: pd.Series) -> np.ndarray:
    """Whether each value of ``series`` is missing, as a boolean array.

    ``Series.isna`` where it works; Arrow's null bitmap for Arrow-backed types pandas cannot
    test (e.g. ``month_day_nano_interval``).

    Examples
    --------
    >>> import pandas as pd
    >>> missing_mask(pd.Series([{"a": 1}, None, [2]])).tolist()
    [False, True, False]
    """
    try:
        return np.asarray(series.isna().to_numpy(dtype=bool), dtype=bool)
    except ARROW_OR_PANDAS_ERRORS:
        pass
    if isinstance(series.dtype, pd.ArrowDtype):
        nulls = pa.array(series.array).is_null()
        return np.asarray(nulls.to_numpy(zero_copy_only=False), dtype=bool)
    return np.array([_is_missing(v) for v in series.tolist()], dtype=bool)


def number_kind(dtype: Any) -> str | None:
    """``"b"`` for a boolean dtype, ``"n"`` for real numbers (numpy, pandas or Arrow), else None.

    Arrow-backed types are judged by their Arrow type (pandas calls intervals numeric and
    raises on other questions about them); complex numbers are not real numbers.

    Examples
    --------
    >>> import numpy as np, pandas as pd, pyarrow as pa
    >>> number_kind(np.dtype("uint64")), number_kind(pd.BooleanDtype()), number_kind(object)
    ('n', 'b', None)
    >>> number_kind(pd.ArrowDtype(pa.month_day_nano_interval())) is None
    True
    """
    if isinstance(dtype, pd.ArrowDtype):
        arrow = dtype.pyarrow_dtype
        if pa.types.is_boolean(arrow):
            return "b"
        return "n" if pa.types.is_integer(arrow) or pa.types.is_floating(arrow) else None
    try:
        if pd.api.types.is_bool_dtype(dtype):
            return "b"
        numeric = pd.api.types.is_numeric_dtype(dtype)
    except ARROW_OR_PANDAS_ERRORS:
        return None
    return "n" if numeric and getattr(dtype, "kind", "") != "c" else None


def _is_nested_type(arrow: pa.DataType) -> bool:
    if isinstance(arrow, pa.DictionaryType):
        return _is_nested_type(arrow.value_type)
    if isinstance(arrow, pa.ExtensionType):
        return _is_nested_type(arrow.storage_type)
    return bool(pa.types.is_nested(arrow))


def is_nested(series: pd.Series, missing: np.ndarray | None = None) -> bool:
    """Whether ``series`` holds containers (structs, lists, maps, arrays, dicts, sets).

    Parameters
    ----------
    series : pandas.Series
    missing : numpy.ndarray of bool, optional
        :func:`missing_mask` of ``series``, when already known.

    Examples
    --------
    >>> import pandas as pd
    >>> is_nested(pd.Series([{"a": 1}, None])), is_nested(pd.Series(["a", None]))
    (True, False)
    """
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return _is_nested_type(dtype.pyarrow_dtype)
    if not pd.api.types.is_object_dtype(dtype):
        return False
    if pd.api.types.infer_dtype(series, skipna=True) in _SCALAR_KINDS:  # fast, in C
        return False
    values = series.to_numpy(dtype=object)
    if missing is not None:
        values = values[~missing]
    return any(isinstance(v, CONTAINERS) for v in values)


def arrow_type(series: pd.Series) -> pa.DataType | None:
    """The Arrow type of a column's values: its own if Arrow-backed, inferred for ``object``.

    None for other columns (their pandas dtype describes them) and for an ``object`` column
    whose values Arrow cannot type. An ``object`` column of missing values only is ``null``.

    Examples
    --------
    >>> import pandas as pd
    >>> arrow_type(pd.Series([{"a": 1, "b": [1.5]}, None]))
    StructType(struct<a: int64, b: list<item: double>>)
    >>> arrow_type(pd.Series([1, 2])) is None
    True
    """
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return dtype.pyarrow_dtype
    if not pd.api.types.is_object_dtype(dtype):
        return None
    try:
        return pa.infer_type(series.to_numpy(dtype=object), from_pandas=True)
    except (*ARROW_OR_PANDAS_ERRORS, OverflowError, RecursionError):
        return None


def _is_missing(value: Any) -> bool:
    """Whether a single value is missing, as :func:`pandas.isna` says (containers never are)."""
    if isinstance(value, CONTAINERS):
        return False
    missing = pd.isna(value)
    return isinstance(missing, bool | np.bool_) and bool(missing)


def _number(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == math.floor(value) and abs(value) < 2.0**63:
        return str(int(value))
    return repr(value)


def _temporal(value: Any) -> str | None:
    """The ISO 8601 text of a date, time, timestamp or duration; None for anything else."""
    if isinstance(value, pd.Timestamp | np.datetime64 | dt.datetime):
        try:
            return pd.Timestamp(value).isoformat()
        except (ValueError, OverflowError):  # out of pandas' range: the value's own text
            return str(value)
    if isinstance(value, pd.Timedelta | np.timedelta64 | dt.timedelta):
        try:
            return pd.Timedelta(value).isoformat()
        except (ValueError, OverflowError):
            return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return None


def canonical_text(value: Any) -> str:
    r"""The canonical text of any value (see the module documentation).

    Examples
    --------
    >>> import numpy as np
    >>> canonical_text({"b": [1.0, None, 2.5], "a": b"\x00\xff"})
    '{"a":x"00ff","b":[1,null,2.5]}'
    >>> canonical_text(np.array([1, 2])) == canonical_text([1.0, 2.0])
    True
    """
    if _is_missing(value):
        return "null"
    temporal = _temporal(value)  # before numbers: numpy's timedelta64 is an integer type
    if temporal is not None:
        return json.dumps(temporal)
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _number(float(value))
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f'x"{bytes(value).hex()}"'
    if isinstance(value, Mapping):
        items = sorted((str(k), canonical_text(v)) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in items) + "}"
    if isinstance(value, set | frozenset):
        return "[" + ",".join(sorted(canonical_text(v) for v in value)) + "]"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return canonical_text(value.item())
    if isinstance(value, list | tuple | np.ndarray):
        return "[" + ",".join(canonical_text(v) for v in value) + "]"
    return json.dumps(str(value))


def value_label(value: Any) -> str | None:
    """A value as a group label: None when missing, the canonical text of a container, else str.

    Examples
    --------
    >>> value_label("F"), value_label(3), value_label(None), value_label({"k": 1})
    ('F', '3', None, '{"k":1}')
    """
    if isinstance(value, CONTAINERS):
        return canonical_text(value)
    return None if _is_missing(value) else str(value)
