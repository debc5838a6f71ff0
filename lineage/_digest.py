"""Content digests of datasets: the bytes of a file, and the logical rows of a table.

The **file digest** is the sha256 of the bytes: it changes with any re-encoding (CSV vs
Parquet, compression, column order on disk).

The **row digest** is the sha256 of a canonical form of the table's values: the same data
written as CSV and read back, or written as Parquet, gives the same digest; any changed value
(also in the last row), a changed row order, an added or removed row or column changes it.
Canonical form, column by column in name order:

- a number that is a whole number (``3``, ``3.0``) is that integer; any other float is its
  IEEE-754 bits; booleans are their own kind;
- text is its UTF-8 bytes; an empty string counts as missing (CSV cannot tell them apart);
- missing values (None, NaN, NA, NaT) are one marker;
- dates and times are their text as pandas writes them to CSV;
- a categorical column is its values.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["file_sha256", "row_digest"]

_CHUNK = 1 << 20
_KIND_MISSING, _KIND_INT, _KIND_FLOAT, _KIND_BOOL = 0, 1, 2, 3


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as 64 hex digits.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _numbers(values: np.ndarray, missing: np.ndarray) -> tuple[bytes, bytes]:
    """(kinds, payload) of a numeric column: whole numbers as int64, others as float bits."""
    if values.dtype.kind == "b":
        kinds = np.where(missing, _KIND_MISSING, _KIND_BOOL).astype(np.uint8)
        payload = np.where(missing, 0, values.astype(np.int64))
        return kinds.tobytes(), payload.astype("<i8").tobytes()
    if values.dtype.kind in "iu":
        whole = ~missing
        payload = np.where(missing, 0, values).astype("<i8")
    else:
        floats = values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            whole = ~missing & np.isfinite(floats) & (np.floor(floats) == floats)
            whole &= np.abs(floats) < 2.0**63
        ints = np.where(whole, floats, 0.0).astype(np.int64)
        bits = np.where(missing, 0.0, floats).view(np.int64)
        payload = np.where(whole, ints, bits).astype("<i8")
    kinds = np.full(values.shape, _KIND_FLOAT, dtype=np.uint8)
    kinds[whole] = _KIND_INT
    kinds[missing] = _KIND_MISSING
    return kinds.tobytes(), payload.tobytes()


def _texts(series: pd.Series) -> tuple[bytes, bytes, bytes]:
    """(missing flags, int64 byte lengths, utf-8 bytes) of a column taken as text."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = series.astype("string")
    elif not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        missing = series.isna().to_numpy(dtype=bool)
        text = [
            None if m else (v if isinstance(v, str) else str(v))
            for v, m in zip(series.to_numpy(dtype=object), missing, strict=True)
        ]
        series = pd.Series(text, dtype="string")
    arr = pa.array(series, type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):  # Arrow-backed columns read from files
        arr = arr.combine_chunks()
    arr = arr.fill_null("")
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    lengths = np.diff(offsets).astype("<i8")
    data = arr.buffers()[2]
    payload = b"" if data is None else data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]
    missing = (lengths == 0).astype(np.uint8)  # "" and missing are one, as in CSV
    return missing.tobytes(), lengths.tobytes(), payload


def row_digest(frame: pd.DataFrame) -> str:
    """The sha256 of a table's values in canonical form (see the module documentation).

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    str
        64 hex digits.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2], "s": ["a", None]})
    >>> b = pd.DataFrame({"s": ["a", ""], "x": [1.0, 2.0]})  # other order, float, "" for None
    >>> row_digest(a) == row_digest(b)
    True
    >>> row_digest(a) == row_digest(a.iloc[::-1])
    False
    """
    digest = hashlib.sha256()
    digest.update(f"fairtrail-rows-v1\0{len(frame)}\0{frame.shape[1]}\0".encode())
    for name in sorted(frame.columns, key=str):
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(series.cat.categories.dtype)
        digest.update(b"\1" + str(name).encode("utf-8") + b"\0")
        missing = series.isna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(series.dtype) or (
            pd.api.types.is_numeric_dtype(series.dtype)
        ):
            values = series.to_numpy(dtype=None, na_value=0) if missing.any() else series.to_numpy()
            kinds, payload = _numbers(np.asarray(values), missing)
            digest.update(b"n" + kinds + payload)
        else:
            flags, lengths, data = _texts(series)
            digest.update(b"t" + flags + lengths + data)
    return digest.hexdigest()
