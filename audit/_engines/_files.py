"""The input files of an out-of-core audit: one file, a folder of parts, or a glob.

Also where a row is, in words, for error messages: the files are streamed in order with
pyarrow until the first row that fails a check (only when the scan found such a row).
"""

from __future__ import annotations

import functools
import glob
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from audit._exceptions import DataValidationError
from audit._io import (
    check_columns,
    check_names,
    check_parts,
    check_quotes,
    check_role_types,
    csv_batches,
    csv_header,
    decimals_as_floats,
    infer_format,
    parquet_schema,
    physical_line,
)

__all__ = ["InputFiles", "find_files"]

_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class InputFiles:
    """The files of one predictions input, in the order their rows are counted.

    Parts are matched by column name: their columns may come in any order, but every part
    must have the same columns of the same kinds (:meth:`check`). Only an empty CSV field is
    missing, and the strings of ``missing_values``.
    """

    spec: str
    files: tuple[Path, ...]
    format: str
    missing_values: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """Total bytes."""
        return sum(p.stat().st_size for p in self.files)

    @functools.cached_property
    def _headers(self) -> dict[Path, list[str]]:
        if self.format == "parquet":
            return {p: parquet_schema(p).names for p in self.files}
        return {p: csv_header(p) for p in self.files}

    def header(self, path: Path) -> list[str]:
        """One file's column names, in its order."""
        return self._headers[path]

    def csv_header(self) -> list[str]:
        """The column names of the first file (every part has the same, in some order)."""
        return self.header(self.files[0])

    def groups(self) -> list[tuple[list[str], list[Path]]]:
        """The files grouped by their columns' order (and, for Parquet, their types).

        Each group's header (its columns in its order) and files. One group, usually; the
        groups of parts that differ are matched by column name when they are read.
        """
        groups: dict[tuple[str, ...], list[Path]] = {}
        for p in self.files:
            key = tuple(self.header(p))
            if self.format == "parquet":
                key += tuple(str(f.type) for f in parquet_schema(p))
            groups.setdefault(key, []).append(p)
        return [(self.header(paths[0]), paths) for paths in groups.values()]

    def check(self, roles: Mapping[str, str], number_columns: Mapping[str, str]) -> None:
        """Refuse parts that differ, names used twice, absent role columns, unfit types.

        ``roles`` maps each role column to its role. The in-memory path's checks of its one
        file, in its order and its words, part by part.
        """
        schemas = []
        for p in self.files:
            names = self.header(p)
            check_names(p.name, names)
            check_columns(p, roles, names)
            if self.format == "parquet":
                types = {f.name: f.type for f in parquet_schema(p)}
                check_role_types(p.name, types, roles, number_columns)
            else:
                types = {n: pa.float64() if n in number_columns else pa.string() for n in names}
                check_quotes(p)
            schemas.append((p.name, types))
        check_parts(schemas)

    def _csv_batches(
        self, path: Path, number_columns: Mapping[str, str]
    ) -> Iterator[pa.RecordBatch]:
        """The batches of one CSV file as the in-memory path converts it; its errors."""
        return csv_batches(path, self.header(path), number_columns, self.missing_values)

    def batches(
        self, column: str, number_columns: Mapping[str, str]
    ) -> Iterator[tuple[Path, int, pd.Series]]:
        """``(file, position of the batch's first row, values)`` of one column, streamed."""
        for path in self.files:
            start = 0
            if self.format == "parquet":
                for batch in pq.ParquetFile(path).iter_batches(columns=[column]):
                    yield path, start, batch.column(0).to_pandas()
                    start += batch.num_rows
                continue
            for batch in self._csv_batches(path, number_columns):
                values = batch.column(batch.schema.get_field_index(column)).to_pandas()
                yield path, start, values
                start += batch.num_rows

    def head(
        self, columns: Sequence[str], rows: int, number_columns: Mapping[str, str]
    ) -> pa.Table:
        """The first ``rows`` rows of ``columns``, read in order as the in-memory path reads them.

        Raises the in-memory path's error for a malformed CSV row among them.
        """
        wanted = list(dict.fromkeys(columns))
        batches: list[pa.RecordBatch] = []
        have = 0
        for path in self.files:
            if self.format == "parquet":
                # Text as dictionaries, as the files hold it: listing its values is then cheap.
                stream: Iterator[pa.RecordBatch] = pq.ParquetFile(
                    path, read_dictionary=wanted
                ).iter_batches(batch_size=min(rows, 1 << 16), columns=wanted)
            else:
                stream = (b.select(wanted) for b in self._csv_batches(path, number_columns))
            for batch in stream:
                batches.append(batch.slice(0, rows - have))
                have += batches[-1].num_rows
                if have >= rows:
                    break
            if have >= rows:
                break
        if not batches:  # no rows at all
            return pa.table({c: pa.array([], pa.null()) for c in wanted})
        # Parts may differ in a column's width (int32 and int64) or its order: promote, as a
        # scan would, and match by name.
        tables = [pa.Table.from_batches([b]).select(wanted) for b in batches]
        return decimals_as_floats(pa.concat_tables(tables, promote_options="permissive"), wanted)

    def first_row(
        self,
        column: str,
        check: Callable[[pd.Series], npt.NDArray[np.bool_]],
        number_columns: Mapping[str, str],
    ) -> str:
        """Where the first row whose ``column`` fails ``check`` is: ``line 7 of x.csv``."""
        for path, start, values in self.batches(column, number_columns):
            hits = np.flatnonzero(check(values))
            if hits.size:
                i = start + int(hits[0])
                if self.format == "csv":
                    return f"line {physical_line(path, i)} of {path.name}"
                return f"row {i} of {path.name}"
        return "a row"  # the engine counted one, the stream found none: say no more

    def csv_problem(self, number_columns: Mapping[str, str]) -> None:
        """Raise the in-memory path's error for a malformed CSV row, if there is one."""
        if self.format != "csv":
            return
        for path in self.files:
            for _ in self._csv_batches(path, number_columns):
                pass
            check_quotes(path)


def find_files(
    spec: str | Path, file_format: str | None = None, missing_values: Sequence[str] = ()
) -> InputFiles:
    r"""The files of ``spec``, sorted by path.

    ``spec`` is a file, a folder (every file of the format in it, recursively) or a glob.

    Raises
    ------
    DataValidationError
        Nothing matches, or the format cannot be told.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("part-1.csv", "part-0.csv"):
    ...     _ = (folder / name).write_text("y,p\\n1,0\\n")
    >>> [p.name for p in find_files(folder, "csv").files]
    ['part-0.csv', 'part-1.csv']
    """
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        if file_format is None:
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
            )
            kinds = {infer_format(p) for p in found if _known(p)}
            if len(kinds) != 1:
                raise DataValidationError(
                    f"Cannot tell the format of the files in '{path}': found "
                    f"{sorted(kinds) or 'no .csv or .parquet files'}; set format in [data]."
                )
            file_format = kinds.pop()
        files = [
            p
            for p in sorted(path.rglob("*"))
            if p.is_file()
            and not p.name.startswith((".", "_"))
            and _known(p)
            and infer_format(p) == file_format
        ]
    elif _GLOB.search(text):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    else:
        if not path.is_file():
            raise DataValidationError(f"Data file '{path}' does not exist.")
        files = [path]
    if not files:
        raise DataValidationError(f"No data files match '{text}'.")
    fmt = infer_format(files[0], file_format)
    return InputFiles(text, tuple(files), fmt, tuple(missing_values))


def _known(path: Path) -> bool:
    try:
        infer_format(path)
    except DataValidationError:
        return False
    return True
