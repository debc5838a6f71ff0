"""The DuckDB engine: the aggregate queries run inside DuckDB's scan of CSV or Parquet files.

No row reaches pandas: DuckDB reads the files (one, a folder of parts, or a glob) and returns
only aggregates. Parquet is DuckDB's own scan; CSV is parsed by pyarrow, as the in-memory
path parses it, and streamed to DuckDB as a dataset: one parser, so one reading of every
row. ``memory_limit`` bounds DuckDB's memory (it spills to a temporary folder); progress is
read from DuckDB while a query runs.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset

from audit._engines._base import Dialect, Roles, number_columns
from audit._engines._files import InputFiles
from audit._exceptions import DataValidationError, SpecError
from audit._io import MAX_FIELD_BYTES, csv_convert

__all__ = ["DUCKDB", "DuckDBSource"]

DUCKDB = Dialect("duckdb")


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: The view of a CSV input: the files as a pyarrow dataset, which DuckDB scans.
_CSV_VIEW = "fairtrail_csv"
#: Arrow's first block size for the CSV dataset; a longer field reads again with larger blocks.
_FIRST_BLOCK = 1 << 24


def _parquet_sql(inputs: InputFiles) -> str:
    """DuckDB's scan of Parquet files; parts whose columns differ in order or type by name."""
    files = "[" + ", ".join(_string(str(p)) for p in inputs.files) + "]"
    by_name = ", union_by_name = true" if len(inputs.groups()) > 1 else ""
    return f"read_parquet({files}{by_name})"


def csv_dataset(inputs: InputFiles, numbers: dict[str, str], block: int) -> pa.dataset.Dataset:
    """CSV files as a pyarrow dataset parsed exactly as the in-memory path parses them.

    The same parser, missing strings, number syntax and errors: DuckDB aggregates what
    pyarrow reads, so the engines cannot disagree on a row. Columns are matched by name.
    """
    import pyarrow.dataset as ds

    names = inputs.csv_header()
    convert = csv_convert(names, numbers, inputs.missing_values, text=pa.string())
    types = convert.column_types
    schema = pa.schema([(n, types[n]) for n in names])
    fmt = ds.CsvFileFormat(
        read_options=pacsv.ReadOptions(block_size=block), convert_options=convert
    )
    return ds.dataset([str(p) for p in inputs.files], schema=schema, format=fmt)


class DuckDBSource:
    """Predictions files read by DuckDB.

    Parameters
    ----------
    inputs : InputFiles
    roles : Roles
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (``"1GB"``); default DuckDB's (80% of RAM).
    threads : int, optional
        DuckDB's threads; default one per core.
    on_progress : callable, optional
        Called as ``on_progress(query, fraction)`` while a query runs (about 4 times a second).
    """

    dialect = DUCKDB

    def __init__(
        self,
        inputs: InputFiles,
        roles: Roles,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        on_progress: Callable[[str, float], None] | None = None,
    ) -> None:
        import duckdb

        self.inputs = inputs
        self.roles = roles
        self.name = inputs.spec
        self.on_progress = on_progress
        self.timings: dict[str, float] = {}
        numbers = number_columns(roles)
        inputs.check(roles.role_map(), numbers)  # may refuse the files: before anything is made
        self._numbers = numbers if inputs.format == "csv" else {}
        self._block = _FIRST_BLOCK
        self._spill = tempfile.TemporaryDirectory(prefix="fairtrail-duckdb-")
        # Only aggregates are read back: no order to keep, so LIMIT need not buffer rows.
        config: dict[str, Any] = {
            "temp_directory": self._spill.name,
            "preserve_insertion_order": False,
        }
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        try:
            self._db = duckdb.connect(config=config)
        except duckdb.Error as exc:
            self._spill.cleanup()
            first = str(exc).strip().splitlines()[0][:200]
            raise SpecError(
                f"audit.memory_limit must be a size such as '2GB' or '512MiB'; got "
                f"{memory_limit!r} ({first})."
            ) from None
        self._error = duckdb.Error
        # DuckDB 2.0 folds isnan() to false from a Parquet column's min/max statistics, which
        # leave NaN out: a NaN score or category would pass as a number (measured here).
        self._db.execute("SET disabled_optimizers = 'statistics_propagation'")
        if inputs.format == "parquet":
            self._from = _parquet_sql(inputs)
            self._widen_floats()
        else:
            self._from = _CSV_VIEW
            self._db.register(_CSV_VIEW, csv_dataset(inputs, numbers, self._block))

    def _widen_floats(self) -> None:
        """Read number role columns, and decimal role columns, as double.

        As the in-memory path does: DuckDB would square a FLOAT score in single precision,
        overflow an unsigned 64-bit score when it bins it, and write a decimal category with
        its trailing zeros.
        """
        numbers = number_columns(self.roles)
        roles = self.roles.role_map()
        narrow = [
            name
            for name, sql_type in self.columns()
            if (name in numbers and sql_type.upper() != "DOUBLE")
            or (name in roles and sql_type.upper().startswith("DECIMAL"))
        ]
        if narrow:
            casts = ", ".join(f"CAST({DUCKDB.q(c)} AS DOUBLE) AS {DUCKDB.q(c)}" for c in narrow)
            self._from = f"(SELECT * REPLACE ({casts}) FROM {self._from})"

    def close(self) -> None:
        """Close DuckDB and remove its spill folder."""
        self._db.close()
        self._spill.cleanup()

    def columns(self) -> list[tuple[str, str]]:
        """The columns and their DuckDB types, in the files' order."""
        try:
            rows = self._db.execute(f"DESCRIBE SELECT * FROM {self._from}").fetchall()
        except self._error as exc:
            raise self._problem(exc) from None
        return [(str(r[0]), str(r[1])) for r in rows]

    def query(self, sql: str, step: str) -> pa.Table:
        """Run one aggregate query over the files; progress is reported while it runs."""
        text = sql.replace("{src}", self._from)
        started = time.perf_counter()
        while True:
            try:
                with self._progress(step):
                    table = self._db.sql(text).to_arrow_table()
                break
            except self._error as exc:
                if "straddl" in str(exc) and self._block < MAX_FIELD_BYTES:  # a long field
                    self._block = min(self._block * 16, MAX_FIELD_BYTES)
                    dataset = csv_dataset(self.inputs, self._numbers, self._block)
                    self._db.register(_CSV_VIEW, dataset)
                    continue
                raise self._problem(exc) from None
        self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started
        return table

    def first_row(self, column: str, check: Callable[[pd.Series], npt.NDArray[np.bool_]]) -> str:
        """Where the first row failing ``check`` is (the files streamed with pyarrow)."""
        return self.inputs.first_row(column, check, self._numbers)

    def head(self, columns: Sequence[str], rows: int) -> pa.Table:
        """The files' first rows, read in order with pyarrow (a row group at a time)."""
        return self.inputs.head(columns, rows, self._numbers)

    def _problem(self, exc: Exception) -> DataValidationError:
        """DuckDB could not read the files: the in-memory path's words when it has any."""
        self.inputs.csv_problem(self._numbers)
        first = str(exc).strip().splitlines()[0][:300]
        return DataValidationError(f"'{self.inputs.spec}' could not be read: {first}")

    @contextlib.contextmanager
    def _progress(self, step: str) -> Iterator[None]:
        if self.on_progress is None:
            yield
            return
        report = self.on_progress
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.25):
                with contextlib.suppress(Exception):  # the query may finish meanwhile
                    progress = self._db.query_progress()
                    if progress >= 0:
                        report(step, min(progress / 100.0, 1.0))

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            report(step, 1.0)
