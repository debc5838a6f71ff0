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

The **file-list digest** (:func:`file_list_digest`) stands in for the file digest when the
bytes are too many to read for provenance alone (a folder of Parquet parts counted out of
core): the sha256 of each file's name, size and modification time and, for Parquet, its footer.
It proves which files were read, not what their bytes were (see the function).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lineage._validate import LineageError

__all__ = [
    "FILE_LIST_ALGORITHM",
    "file_list_digest",
    "file_list_entries",
    "file_sha256",
    "row_digest",
]

_CHUNK = 1 << 20
#: The name of the file-list digest's definition (the ``fileListAlgorithm`` recorded).
FILE_LIST_ALGORITHM = "fairtrail-filelist-v1"
_PARQUET_MAGIC = b"PAR1"
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


def _parquet_footer(path: Path) -> dict[str, Any]:
    """What a Parquet file's footer says about it, read without its data pages."""
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as handle:
            handle.seek(-8, os.SEEK_END)
            tail = handle.read(8)
            length = int.from_bytes(tail[:4], "little")
            if tail[4:] != _PARQUET_MAGIC or length + 12 > handle.tell():
                raise ValueError("no plain Parquet footer (not Parquet, or encrypted)")
            handle.seek(-8 - length, os.SEEK_END)
            footer = handle.read(length)
        with pq.ParquetFile(path) as parquet:
            meta, schema = parquet.metadata, parquet.schema_arrow
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise LineageError(f"Cannot read the Parquet footer of '{path}': {exc}") from None
    return {
        "num_rows": int(meta.num_rows),
        "num_row_groups": int(meta.num_row_groups),
        "created_by": meta.created_by,
        "schema": schema.to_string(show_field_metadata=False, show_schema_metadata=False),
        "footer_sha256": hashlib.sha256(footer).hexdigest(),
    }


def file_list_entries(
    files: Sequence[str | Path], *, parquet: bool = False
) -> list[dict[str, Any]]:
    """The entries :func:`file_list_digest` hashes, one per file, in the order given.

    Each entry: ``path`` (relative to the deepest folder holding every file, ``/``-separated),
    ``bytes`` (size), ``mtime_ns`` (modification time, ns since the epoch) and, when
    ``parquet``, ``num_rows``, ``num_row_groups``, ``created_by``, ``schema`` (the Arrow schema
    as text, without metadata) and ``footer_sha256`` (sha256 of the serialized footer, the
    Thrift ``FileMetaData`` before the final length and ``PAR1``: every row group's column
    chunks with their statistics, sizes, offsets and encodings, and the key-value metadata).

    Raises
    ------
    LineageError
        A Parquet file's footer cannot be read.
    """
    paths = [Path(os.path.abspath(f)) for f in files]
    if not paths:
        return []
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    entries = []
    for path in paths:
        stat = path.stat()
        entry: dict[str, Any] = {
            "path": PurePath(os.path.relpath(path, common)).as_posix(),
            "bytes": int(stat.st_size),
            "mtime_ns": int(stat.st_mtime_ns),
        }
        if parquet:
            entry.update(_parquet_footer(path))
        entries.append(entry)
    return entries


def file_list_digest(files: Sequence[str | Path], *, parquet: bool = False) -> str:
    """The sha256 of a list of files' names, sizes, times and Parquet footers (not their bytes).

    The digest (``fairtrail-filelist-v1``) is the sha256 of the canonical JSON of
    :func:`file_list_entries` — a list in the order of ``files``, keys sorted, no spaces,
    non-ASCII escaped (``json.dumps(entries, sort_keys=True, separators=(",", ":"))``,
    UTF-8).

    **What it proves**: which files (by path relative to their common folder) of which sizes
    and modification times, and for Parquet which footers — row counts, schema, writer, and
    every row group's column-chunk statistics and sizes — were read. Adding, removing,
    renaming or reordering a file, or rewriting one (new time, or a new footer), changes it.
    Reading only names, ``stat`` and footers, it costs milliseconds per file whatever the size.

    **What it does not prove**: the bytes. An edit that keeps the size and the modification
    time (``touch -d``, a file system with coarse times, an edit within the same tick) and,
    for Parquet, leaves the footer unchanged (the same statistics, e.g. a value changed
    within a page's range) is not detected; use :func:`file_sha256` for that. Copying the
    files elsewhere usually changes their times, and so the digest: it identifies the files
    as they were read, not their content wherever it goes.

    Parameters
    ----------
    files : sequence of str or Path
        In the order the rows were read.
    parquet : bool, default False
        The files are Parquet: include their footers.

    Returns
    -------
    str
        64 hex digits.

    Raises
    ------
    LineageError
        A Parquet file's footer cannot be read.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("part-0.csv", "part-1.csv"):
    ...     _ = (folder / name).write_text("y,p 1,0 ")
    ...     os.utime(folder / name, ns=(0, 1_700_000_000_000_000_000))
    >>> file_list_entries(sorted(folder.iterdir()))[1]
    {'path': 'part-1.csv', 'bytes': 8, 'mtime_ns': 1700000000000000000}
    >>> before = file_list_digest(sorted(folder.iterdir()))
    >>> _ = (folder / "part-2.csv").write_text("y,p 0,0 ")
    >>> before == file_list_digest(sorted(folder.iterdir()))
    False
    """
    canonical = json.dumps(
        file_list_entries(files, parquet=parquet),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
