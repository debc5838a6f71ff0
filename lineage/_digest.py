"""Content digests of datasets: the bytes of a file, and the logical rows of a table.

The **file digest** is the sha256 of the bytes: it changes with any re-encoding (CSV vs
Parquet, compression, column order on disk).

The **row digest** is the sha256 of a canonical form of the table's values: the same data
written as CSV and read back, or written as Parquet, gives the same digest; any changed value
(also in the last row), a changed row order, an added or removed row or column changes it.
Canonical form, column by column in name order:

- a number that is a whole number (``3``, ``3.0``) is that integer; any other float is its
  IEEE-754 bits; booleans are their own kind; an unsigned 64-bit integer past the int64
  range (2⁶³ and above) is its own kind too (its 64 bits would otherwise read as a negative
  integer);
- text is its UTF-8 bytes; an empty string counts as missing (CSV cannot tell them apart);
- missing values (None, NaN, NA, NaT) are one marker;
- dates and times are their text as pandas writes them to CSV;
- a categorical column is its values;
- a nested column (struct, list, map, union, or an ``object`` column holding dicts, lists,
  tuples, sets or arrays) is the canonical text of each value
  (:func:`~lineage._values.canonical_text`: keys in sorted order, numbers as above, bytes as
  hex, missing as ``null`` at any depth), marked apart from text. Every value inside counts:
  a change in the last element of a long list changes the digest;
- decimals, binary, and other values that are not numbers, text or times are their ``str``.

Columns go in order of their names as text; a duplicated name's columns in frame order. A
name holding NUL is written with its length, so that no two tables share their bytes.

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
from lineage._values import canonical_text, is_nested, missing_mask, number_kind

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
_KIND_MISSING, _KIND_INT, _KIND_FLOAT, _KIND_BOOL, _KIND_UINT_HIGH = 0, 1, 2, 3, 4


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
    high = np.zeros(values.shape, dtype=bool)
    if values.dtype.kind in "iu":
        whole = ~missing
        if values.dtype == np.uint64:  # past int64: its own kind, the same 64 bits
            high = ~missing & (values >= np.uint64(2**63))
            whole &= ~high
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
    kinds[high] = _KIND_UINT_HIGH
    kinds[missing] = _KIND_MISSING
    return kinds.data, payload.data


def _texts(series: pd.Series) -> tuple[memoryview, memoryview, memoryview]:
    """(missing flags, int64 byte lengths, utf-8 bytes) of a column taken as text."""
    try:
        return _arrow_texts(series)
    except UnicodeEncodeError:  # text that is not valid Unicode (lone surrogates)
        return _python_texts(series)


def _python_texts(series: pd.Series) -> tuple[memoryview, memoryview, memoryview]:
    """As :func:`_arrow_texts`, for text Arrow refuses: UTF-8 with surrogates kept as bytes.

    Valid text gets the same bytes either way; only text holding lone surrogates (which an
    ``object`` column can, and UTF-8 cannot encode) needs this slower path.
    """
    missing = missing_mask(series)
    chunks = [
        b"" if m else (v if isinstance(v, str) else str(v)).encode("utf-8", "surrogatepass")
        for v, m in zip(series.tolist(), missing.tolist(), strict=True)
    ]
    lengths = np.array([len(c) for c in chunks], dtype="<i8")
    flags = (lengths == 0).astype(np.uint8)  # "" and missing are one, as in CSV
    return flags.data, lengths.data, memoryview(b"".join(chunks))


def _arrow_texts(series: pd.Series) -> tuple[memoryview, memoryview, memoryview]:
    """(missing flags, int64 byte lengths, utf-8 bytes) of a column, gathered by Arrow."""
    if isinstance(series.dtype, pd.CategoricalDtype):  # each category's text, gathered by Arrow
        codes = series.cat.codes.to_numpy()
        texts = [v if isinstance(v, str) else str(v) for v in series.cat.categories]
        arr = pc.take(pa.array(texts, type=pa.large_string()), pa.array(codes, mask=codes < 0))
    else:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = series.astype("string")
        elif not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            missing = missing_mask(series)
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


def _name_bytes(name: Any) -> bytes:
    r"""A column's name in the digest: ``\1`` name ``\0``; length-prefixed if it holds NUL.

    A name without NUL keeps the bytes fairtrail-rows-v1 has always given it. One holding
    NUL would make the end of the name ambiguous (two different tables could give the same
    bytes), so it is ``\2``, its byte length as 8 bytes, the name, ``\0``. Names that are
    not valid UTF-8 text (lone surrogates) keep them (``surrogatepass``).
    """
    text = str(name).encode("utf-8", "surrogatepass")
    if b"\0" not in text:
        return b"\1" + text + b"\0"
    return b"\2" + len(text).to_bytes(8, "little") + text + b"\0"


def _nested_texts(series: pd.Series, missing: np.ndarray) -> tuple[memoryview, ...]:
    """(missing flags, int64 byte lengths, utf-8 bytes) of a nested column's canonical texts."""
    texts = [
        None if m else canonical_text(v)
        for v, m in zip(series.tolist(), missing.tolist(), strict=True)
    ]
    return _texts(pd.Series(texts, dtype="string"))


def _number_values(series: pd.Series, missing: np.ndarray) -> np.ndarray:
    """A numeric or boolean column as a numpy array, missing values as 0 (flagged apart).

    An Arrow-backed column keeps its own numpy type: integers stay exact (not floats) and
    booleans booleans (Arrow refuses 0 as a boolean).
    """
    if not missing.any():
        return np.asarray(series.to_numpy())
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        arrow = dtype.pyarrow_dtype
        if pa.types.is_boolean(arrow):
            return np.asarray(series.to_numpy(dtype=bool, na_value=False))
        return np.asarray(series.to_numpy(dtype=arrow.to_pandas_dtype(), na_value=0))
    return np.asarray(series.to_numpy(dtype=None, na_value=0))


def row_digest(frame: pd.DataFrame) -> str:
    """The sha256 of a table's values in canonical form (see the module documentation).

    Columns are taken in order of ``str`` of their labels (columns whose labels give the same
    text, such as a duplicated name, in their order in the frame). Nested columns (structs,
    lists, maps, arrays, dicts) are digested as the canonical texts of their values
    (:func:`~lineage._values.canonical_text`, marked apart from text columns), so a value
    anywhere inside them counts.

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
    >>> nested = pd.DataFrame({"p": [{"x": 1, "tags": ["a"]}, None]})
    >>> row_digest(nested) == row_digest(pd.DataFrame({"p": [{"tags": ["a"], "x": 1.0}, None]}))
    True
    """
    digest = hashlib.sha256()
    digest.update(f"fairtrail-rows-v1\0{len(frame)}\0{frame.shape[1]}\0".encode())
    labels = list(frame.columns)
    for position in sorted(range(len(labels)), key=lambda i: str(labels[i])):
        series = frame.iloc[:, position]
        if isinstance(series.dtype, pd.CategoricalDtype) and not pd.api.types.is_string_dtype(
            series.cat.categories.dtype
        ):
            # The values (missing as NA: an int category column may have missing rows).
            codes = series.cat.codes.to_numpy()
            categories = pd.array(series.cat.categories.to_numpy())  # nullable: room for NA
            series = pd.Series(categories.take(codes, allow_fill=True))
        digest.update(_name_bytes(labels[position]))
        missing = missing_mask(series)
        if number_kind(series.dtype) is not None:
            digest.update(b"n")
            for part in _numbers(_number_values(series, missing), missing):
                digest.update(part)
        elif is_nested(series, missing):
            digest.update(b"j")
            for part in _nested_texts(series, missing):
                digest.update(part)
        else:
            digest.update(b"t")
            for text_part in _texts(series):
                digest.update(text_part)
    return digest.hexdigest()
