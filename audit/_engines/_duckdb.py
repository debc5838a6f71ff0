"""The DuckDB engine: the aggregate queries run inside DuckDB's scan of CSV or Parquet files.

No row reaches pandas: DuckDB reads the files (one, a folder of parts, or a glob) and returns
only aggregates. ``memory_limit`` bounds DuckDB's memory (it spills to a temporary folder);
progress is read from DuckDB while a query runs.
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

from audit._engines._base import Dialect, Roles, number_columns
from audit._engines._files import CSV_NULLS, InputFiles
from audit._exceptions import DataValidationError

__all__ = ["DUCKDB", "DuckDBSource"]

DUCKDB = Dialect("duckdb")


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
        files = "[" + ", ".join(_string(str(p)) for p in inputs.files) + "]"
        if inputs.format == "parquet":
            self._from = f"read_parquet({files})"
            self._numbers: dict[str, str] = {}
        else:
            header = inputs.csv_header()  # may refuse the file: before anything is created
            numbers = number_columns(roles)
            self._numbers = numbers
            types = ", ".join(
                f"{_string(c)}: {_string('DOUBLE' if c in numbers else 'VARCHAR')}" for c in header
            )
            nulls = "[" + ", ".join(_string(v) for v in CSV_NULLS) + "]"
            self._from = (
                f"read_csv({files}, header = true, auto_detect = false, delim = ',', "
                f"quote = '\"', escape = '\"', columns = {{{types}}}, nullstr = {nulls})"
            )
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
        self._db = duckdb.connect(config=config)
        self._error = duckdb.Error
        if inputs.format == "parquet":
            self._widen_floats()

    def _widen_floats(self) -> None:
        """Read single-precision score and weight columns as double.

        As the in-memory path does: DuckDB would square a FLOAT score in single precision.
        """
        narrow = [
            name
            for name, sql_type in self.columns()
            if name in (self.roles.y_score, self.roles.sample_weight)
            or (self.roles.task == "regression" and name in (self.roles.y_true, self.roles.y_pred))
            if sql_type.upper() in ("FLOAT", "REAL", "FLOAT4")
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
        try:
            with self._progress(step):
                table = self._db.sql(text).to_arrow_table()
        except self._error as exc:
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
