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
import pyarrow.compute as pc

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


def _numbers(values: np.ndarray, missing: np.ndarray) -> tuple[memoryview, memoryview]:
    """(kinds, payload) of a numeric column: whole numbers as int64, others as float bits.

    The bytes are returned as views of the arrays' buffers, to be hashed without copies.
    """
    if values.dtype.kind == "b":
        kinds = np.where(missing, _KIND_MISSING, _KIND_BOOL).astype(np.uint8)
        payload = np.where(missing, 0, values.astype(np.int64))
        return kinds.data, payload.astype("<i8", copy=False).data
    if values.dtype.kind in "iu":
        whole = ~missing
        payload = values.astype("<i8", copy=True)
        payload[missing] = 0
    else:
        floats = values.astype(np.float64, copy=False)
        with np.errstate(invalid="ignore"):
            whole = ~missing & np.isfinite(floats) & (np.floor(floats) == floats)
            whole &= np.abs(floats) < 2.0**63
        payload = floats.astype(np.float64, copy=True)  # its IEEE-754 bits, as int64
        payload[missing] = 0.0
        payload = payload.view("<i8")
        payload[whole] = floats[whole].astype(np.int64)
    kinds = np.full(values.shape, _KIND_FLOAT, dtype=np.uint8)
    kinds[whole] = _KIND_INT
    kinds[missing] = _KIND_MISSING
    return kinds.data, payload.data


def _texts(series: pd.Series) -> tuple[memoryview, memoryview, memoryview]:
    """(missing flags, int64 byte lengths, utf-8 bytes) of a column taken as text."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # each category's text, gathered by Arrow
        codes = series.cat.codes.to_numpy()
        texts = [v if isinstance(v, str) else str(v) for v in series.cat.categories]
        arr = pc.take(pa.array(texts, type=pa.large_string()), pa.array(codes, mask=codes < 0))
    else:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = series.astype("string")
        elif not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            missing = series.isna().to_numpy(dtype=bool)
            text = [
                None if m else (v if isinstance(v, str) else str(v))
                for v, m in zip(series.to_numpy(dtype=object), missing, strict=True)
            ]
            series = pd.Series(text, dtype="string")
        arr = pa.array(series, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):  # Arrow-backed columns read from files
        arr = arr.combine_chunks()
    if arr.type not in (pa.string(), pa.large_string()):
        arr = arr.cast(pa.large_string())
    arr = arr.fill_null("")
    offset_type = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offset_type)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    lengths = np.diff(offsets).astype("<i8")
    data = arr.buffers()[2]
    payload = memoryview(b"" if data is None else data)[int(offsets[0]) : int(offsets[-1])]
    missing = (lengths == 0).astype(np.uint8)  # "" and missing are one, as in CSV
    return missing.data, lengths.data, payload


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
        if isinstance(series.dtype, pd.CategoricalDtype) and not pd.api.types.is_string_dtype(
            series.cat.categories.dtype
        ):
            # The values (missing as NA: an int category column may have missing rows).
            codes = series.cat.codes.to_numpy()
            categories = pd.array(series.cat.categories.to_numpy())  # nullable: room for NA
            series = pd.Series(categories.take(codes, allow_fill=True))
        digest.update(b"\1" + str(name).encode("utf-8") + b"\0")
        missing = series.isna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(series.dtype) or (
            pd.api.types.is_numeric_dtype(series.dtype)
        ):
            values = series.to_numpy(dtype=None, na_value=0) if missing.any() else series.to_numpy()
            digest.update(b"n")
            for part in _numbers(np.asarray(values), missing):
                digest.update(part)
        else:
            digest.update(b"t")
            for text_part in _texts(series):
                digest.update(text_part)
    return digest.hexdigest()
