"""The Spark engine: the counting step's aggregate queries, run as Spark SQL.

Spark reads the predictions — CSV or Parquet files, a table, or any DataFrame — and returns
only aggregates, as the DuckDB engine does; the queries are :mod:`audit._engines._sql`'s,
written in Spark's dialect (backquoted names, no ``isinf``).

CSV files are read as the in-memory path reads them: every column as text, the score and
the weight (and a regression's labels) as numbers, the same strings read as missing (the
empty field and the declared ``missing_values``), the same number syntax. A value that is not
a number stops the count, and the in-memory path's error (with its line number) is raised.

Run on a cluster by starting the session yourself (``spark-submit``, a notebook, Databricks,
``SparkSession.builder.remote(...)``) before the audit: :func:`spark_session` returns the
active session and creates a local one only when there is none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from audit._engines._base import Aggregate, Counted, Dialect, Roles, number_columns
from audit._engines._dense import DenseRefused, dense_groups, dense_jar
from audit._engines._files import InputFiles
from audit._engines._sql import count_with_sql
from audit._exceptions import DataValidationError, SpecError
from audit._io import csv_null_values

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["SPARK", "SparkSource", "count_dataframe", "spark_session"]

#: Spark SQL: backquoted names; no ``isinf`` (a value is compared with both infinities);
#: ``collect_set`` lists distinct values (without NULL); ``TABLESAMPLE`` samples rows; a
#: backslash escapes in string literals (and ``'a''b'`` is two literals joined: ``ab``).
SPARK = Dialect(
    "spark",
    quote_char="`",
    isinf="({0} = double('inf') OR {0} = double('-inf'))",
    distinct_list="collect_set({})",
    sample=" TABLESAMPLE (1 PERCENT)",
    backslash_escapes=True,
    list_agg=None,  # collect_list would make the GROUP BY an object hash aggregate: 1.6x slower
)

_T = TypeVar("_T")

#: Spark's logging in a session fairtrail starts: errors only, no executor stack traces.
_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

# The number syntax of pyarrow's CSV reader (the in-memory path), blanks and tabs around it
# allowed: Spark's own cast accepts more (``0.5d``, hex, other blanks), which must not pass.
_BLANK = "[ \t]*"
_NUMBER = f"^{_BLANK}[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?{_BLANK}$"
_INF = f"^{_BLANK}[+]?(?i:inf|infinity){_BLANK}$"
_MINUS_INF = f"^{_BLANK}-(?i:inf|infinity){_BLANK}$"
_NAN = f"^{_BLANK}[+-]?(?i:nan){_BLANK}$"


def _spark_errors() -> tuple[type[Exception], ...]:
    """The exceptions a failed Spark query raises in Python."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SpecError(
            "engine 'spark' needs PySpark and Java 17 or later: pip install 'fairtrail[spark]'."
        ) from None


def _first_line(exc: BaseException) -> str:
    """The first line of what went wrong.

    A Py4J error names only the call that failed: its innermost Java cause says why.
    """
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None:
        with contextlib.suppress(Exception):  # the JVM may be gone: keep Py4J's words
            while java.getCause() is not None:
                java = java.getCause()
            text = str(java.getMessage() or java.toString())
    text = text.strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def spark_session() -> SparkSession:
    """The active Spark session, or a new local one.

    A session that already exists (``spark-submit``, a notebook, Databricks, a Spark Connect
    session) is returned unchanged: to audit on a cluster, start the session there before
    the audit, for example ``SparkSession.builder.master("spark://host:7077").getOrCreate()``
    or ``SparkSession.builder.remote("sc://host:15002").getOrCreate()``. Without one, a local
    session is started: ``local[2]``, 4 shuffle partitions, no web UI, UTC session time zone,
    case-sensitive column names (as the other engines), Spark's log at ERROR, and the dense
    counter (:func:`~audit._engines._dense.dense_jar`, compiled on first use when a JDK is
    there) on the class path. It lives until the Python process ends (or
    ``spark_session().stop()``).

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    SpecError
        PySpark is not installed.
    """
    _require_pyspark()
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    try:
        return SparkSession.active()
    except PySparkRuntimeError:  # NO_ACTIVE_OR_DEFAULT_SESSION: start one
        pass
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("fairtrail")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.caseSensitive", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if _LOG_CONFIG.is_file():
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG_CONFIG.as_uri()}"
        )
    with contextlib.suppress(DenseRefused):  # no JDK: the groups' GROUP BY runs as SQL
        builder = builder.config("spark.driver.extraClassPath", str(dense_jar()))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _hadoop_path(path: Path) -> str:
    """An absolute path for Spark, its glob characters escaped (Spark globs every path)."""
    text = str(path.resolve())
    for c in "\\*?[]{}":
        text = text.replace(c, "\\" + c)
    return text


def _text_column(name: str, nulls: list[str], *, strict: bool) -> Column:
    """A CSV text column; the in-memory path's null strings become NULL.

    Spark decodes bytes that are not UTF-8 as U+FFFD where pyarrow refuses them: ``strict``
    fails the query on that character, to ask pyarrow whether the file is valid.
    """
    from pyspark.sql import functions as F

    raw = F.col(SPARK.q(name))
    value = F.when(raw.isin(nulls), F.lit(None)).otherwise(raw)
    if strict:
        message = f"column '{name}' holds U+FFFD: not UTF-8?"
        value = F.when(raw.contains("\ufffd"), F.raise_error(F.lit(message))).otherwise(value)
    return value.alias(name)


def _number_column(name: str, nulls: list[str]) -> Column:
    """A CSV number column, parsed as pyarrow parses it; any other text fails the query."""
    from pyspark.sql import functions as F

    raw = F.col(SPARK.q(name))
    number = F.expr(f"try_cast({SPARK.q(name)} AS DOUBLE)")
    return (
        F.when(raw.isNull() | raw.isin(nulls), F.lit(None).cast("double"))
        .when(raw.rlike(_INF), F.lit(float("inf")))
        .when(raw.rlike(_MINUS_INF), F.lit(float("-inf")))
        .when(raw.rlike(_NAN), F.lit(float("nan")))
        .when(raw.rlike(_NUMBER) & number.isNotNull(), number)
        .otherwise(F.raise_error(F.lit(f"column '{name}' holds a value that is not a number")))
        .alias(name)
    )


def _numbers_as_double(frame: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """Numeric number columns (score, weight...) as DOUBLE, as the in-memory path reads them.

    The in-memory path computes in float64: without the cast a FLOAT score's square would be
    rounded to single precision, and a DECIMAL column would sum as decimals.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, NumericType

    def cast(field: Any) -> bool:
        return (
            field.name in columns
            and isinstance(field.dataType, NumericType)
            and not isinstance(field.dataType, DoubleType)
        )

    fields = frame.schema.fields
    if not any(cast(f) for f in fields):
        return frame
    return frame.select(
        [
            F.col(SPARK.q(f.name)).cast("double").alias(f.name)
            if cast(f)
            else F.col(SPARK.q(f.name))
            for f in fields
        ]
    )


def _check_number_types(frame: DataFrame, numbers: dict[str, str]) -> None:
    """A score or weight column must hold numbers: text is not parsed, as in memory it is."""
    from pyspark.sql.types import NumericType

    for field in frame.schema.fields:
        if field.name in numbers and not isinstance(field.dataType, NumericType):
            raise DataValidationError(
                f"Column '{field.name}' ({numbers[field.name]}) must hold numbers; engine "
                f"'spark' found type {field.dataType.simpleString().upper()} (cast it to double, "
                "or use engine = 'memory', which parses numbers written as text)."
            )


def _read_files(
    spark: SparkSession, inputs: InputFiles, roles: Roles, *, checked: bool = False
) -> DataFrame:
    """The files as a DataFrame: Parquet as it is, CSV typed as the in-memory path types it.

    ``checked``: pyarrow has read the CSV files without error. They are then read as Spark's
    ``multiLine`` CSV (quoted values may hold line breaks; one task per file), and U+FFFD is
    taken as a character of the data. Otherwise lines are split before parsing (so a large
    file is read in parallel), and U+FFFD fails the query (Spark's decoding of bytes that are
    not UTF-8, which pyarrow refuses).
    """
    from pyspark.sql.types import StringType, StructField, StructType

    numbers = number_columns(roles)
    try:
        if inputs.format == "parquet":
            # Parts whose columns differ in order or type are read apart, matched by name.
            parts = [spark.read.parquet(*map(_hadoop_path, files)) for _, files in inputs.groups()]
            return functools.reduce(lambda a, b: a.unionByName(b), parts)
        nulls = csv_null_values(inputs.missing_values)
        frames = []
        for header, files in inputs.groups():
            # Parse every column of every row, or a short row passes as long as the columns a
            # query reads are in it (spark.sql.csv.parser.columnPruning.enabled, for this read).
            reader = spark.read.option("columnPruning", "false")
            raw = reader.csv(
                [_hadoop_path(p) for p in files],
                schema=StructType([StructField(c, StringType()) for c in header]),
                header=True,
                enforceSchema=False,  # every file's header must be its group's
                mode="FAILFAST",
                sep=",",
                quote='"',
                escape='"',  # a quote inside a quoted value is doubled, as pyarrow reads it
                encoding="UTF-8",
                multiLine=checked,
            )
            frames.append(
                raw.select(
                    [
                        _number_column(c, nulls)
                        if c in numbers
                        else _text_column(c, nulls, strict=not checked)
                        for c in inputs.csv_header()  # every group in the first file's order
                    ]
                )
            )
        return functools.reduce(lambda a, b: a.unionByName(b), frames)
    except _spark_errors() as exc:
        raise DataValidationError(
            f"'{inputs.spec}' could not be read: {_first_line(exc)}"
        ) from None


class SparkSource:
    """Predictions in a Spark DataFrame — files, a table or any DataFrame — queried with SQL.

    Implements :class:`audit._engines._sql.SqlSource`: each query runs over a temporary view
    of the DataFrame (``{src}`` in the SQL text), created for the query and dropped after it.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    dataframe : pyspark.sql.DataFrame or str
        The predictions, one row per individual, or the name of a table (read with
        ``spark.table``).
    roles : Roles
        Which column plays which role.
    name : str, optional
        How messages name the data: default the table's name, the files, or
        ``"<Spark DataFrame>"``.
    inputs : InputFiles, optional
        The files ``dataframe`` reads (set by :meth:`from_files`): a failing row is then
        located by its line, and a file Spark cannot read gets the in-memory path's error.

    Attributes
    ----------
    timings : dict of str to float
        Seconds spent in each query step (``profile``, ``groups``, ...).

    Raises
    ------
    DataValidationError
        The table cannot be read.
    """

    dialect = SPARK

    def __init__(
        self,
        spark: SparkSession,
        dataframe: DataFrame | str,
        roles: Roles,
        *,
        name: str | None = None,
        inputs: InputFiles | None = None,
    ) -> None:
        if isinstance(dataframe, str):
            name = name or dataframe
            try:
                dataframe = spark.table(dataframe)
            except _spark_errors() as exc:
                raise DataValidationError(
                    f"Spark table '{dataframe}' could not be read: {_first_line(exc)}"
                ) from None
        self.spark = spark
        self.roles = roles
        self.inputs = inputs
        self.name = name or (inputs.spec if inputs is not None else "<Spark DataFrame>")
        self.timings: dict[str, float] = {}
        #: Why the dense counter did not run (then the SQL ``GROUP BY`` did), if it did not.
        self.dense_refused: str | None = None
        numbers = number_columns(roles)
        # A CSV input's number columns and their roles, for pyarrow when it reads the files
        # again to find a row or to explain an error.
        self._numbers = numbers if inputs is not None and inputs.format == "csv" else {}
        _check_number_types(dataframe, numbers)
        self.dataframe = _numbers_as_double(dataframe, tuple(numbers))
        self._view = f"fairtrail_{uuid.uuid4().hex}"
        # Reads the files again when a query failed but pyarrow reads them (see from_files).
        self._reread: Callable[[], DataFrame] | None = None

    @classmethod
    def from_files(cls, spark: SparkSession, inputs: InputFiles, roles: Roles) -> SparkSource:
        """Predictions files read by Spark.

        Parquet files are read as they are. CSV files are read with a header, every column as
        text except the number columns (score, weight; a regression's labels), the in-memory
        path's missing-value strings as NULL, and malformed rows failing the read
        (``FAILFAST``). Lines are split before parsing (so one large file is read in parallel);
        if a query fails and pyarrow reads the files without error, they are read again as
        Spark's ``multiLine`` CSV, whose quoted values may hold line breaks.

        Parameters
        ----------
        spark : pyspark.sql.SparkSession
        inputs : InputFiles
            One file, the parts of a folder, or a glob's matches.
        roles : Roles

        Returns
        -------
        SparkSource

        Raises
        ------
        DataValidationError
            Spark cannot read the files.
        """
        inputs.check(roles.role_map(), number_columns(roles))
        source = cls(spark, _read_files(spark, inputs, roles), roles, inputs=inputs)
        if inputs.format == "csv":
            source._reread = lambda: _read_files(spark, inputs, roles, checked=True)
        return source

    def columns(self) -> list[tuple[str, str]]:
        """The columns and their Spark SQL types (``DOUBLE``, ``STRING``, ``BIGINT``...)."""
        return [(f.name, f.dataType.simpleString().upper()) for f in self.dataframe.schema.fields]

    def query(self, sql: str, step: str) -> pa.Table:
        """Run one aggregate query (``{src}`` is the data) and return its result."""
        return self._timed(step, lambda: self._run(sql))

    def dense_groups(
        self, key_sql: str, aggregates: Sequence[Aggregate | str], tail: int, step: str
    ) -> pa.Table | None:
        """The ``GROUP BY`` of the groups by the dense counter, or None to run it as SQL.

        See :mod:`audit._engines._dense`; the reason it did not run is kept in
        ``dense_refused``.
        """

        def run() -> pa.Table | None:
            self.dataframe.createOrReplaceTempView(self._view)
            try:
                return dense_groups(self.spark, self._view, key_sql, aggregates, tail)
            except DenseRefused as refused:
                self.dense_refused = str(refused)
                return None
            finally:
                self.spark.catalog.dropTempView(self._view)

        return self._timed(step, run)

    def _timed(self, step: str, run: Callable[[], _T]) -> _T:
        """``run()``, timed as ``step``; a failure is the in-memory path's error when it has one.

        A CSV that Spark cannot read as it was asked (quoted line breaks, bytes that are not
        UTF-8) is read again by pyarrow's rules, and ``run`` tried once more.
        """
        started = time.perf_counter()
        try:
            result = run()
        except _spark_errors() as exc:
            if self.inputs is None:
                raise
            problem = self._problem(exc)  # raises the in-memory path's error if it has one
            if self._reread is None:
                raise problem from None
            # pyarrow reads the files: read them as they are (quoted line breaks, U+FFFD).
            self.dataframe = _numbers_as_double(self._reread(), tuple(number_columns(self.roles)))
            self._reread = None
            try:
                result = run()
            except _spark_errors() as again:
                raise self._problem(again) from None
        self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started
        return result

    def _run(self, sql: str) -> pa.Table:
        self.dataframe.createOrReplaceTempView(self._view)
        try:
            result = self.spark.sql(sql.replace("{src}", self._view))
            to_arrow = getattr(result, "toArrow", None)  # PySpark 4
            if to_arrow is not None:
                table: pa.Table = to_arrow()
                return table
            # PySpark 3.5: rows (its toPandas does not support pandas 3, and warns).
            rows = result.collect()
            return pa.table({c: [r[i] for r in rows] for i, c in enumerate(result.columns)})
        finally:
            self.spark.catalog.dropTempView(self._view)

    def first_row(self, column: str, check: Callable[[pd.Series], npt.NDArray[np.bool_]]) -> str:
        """Where the first row failing ``check`` is: its line in the files, else ``a row``.

        A DataFrame's rows have no order, so only file inputs can say which row.
        """
        if self.inputs is None:
            return "a row"
        return self.inputs.first_row(column, check, self._numbers)

    def head(self, columns: Sequence[str], rows: int) -> pa.Table | None:
        """The files' first rows, read with pyarrow (a DataFrame's rows have no order: None)."""
        if self.inputs is None:
            return None
        return self.inputs.head(columns, rows, self._numbers)

    def _problem(self, exc: BaseException) -> DataValidationError:
        """Spark could not read the files: the in-memory path's words when it has any."""
        assert self.inputs is not None
        self.inputs.csv_problem(self._numbers)
        return DataValidationError(f"'{self.inputs.spec}' could not be read: {_first_line(exc)}")


def count_dataframe(
    dataframe: DataFrame,
    roles: Roles,
    *,
    name: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Counted:
    """Count the predictions in a Spark DataFrame into cell statistics, with Spark SQL.

    Only aggregates leave Spark: a profile of the columns, one ``GROUP BY`` over the sensitive
    values, labels and scores, and, with many distinct scores, the scores of the median's bin.

    Parameters
    ----------
    dataframe : pyspark.sql.DataFrame
        One row per individual, with the columns ``roles`` names. Its rows have no order, so
        errors say ``a row`` instead of a line. Cache it first if it is costly to compute:
        it is scanned two or three times.
    roles : Roles
        Which column plays which role.
    name : str, optional
        How messages name the data.
    on_step : callable, optional
        Called with a description of each query before it runs.

    Returns
    -------
    Counted
        The statistics, with the seconds each query took in ``queries``.

    Raises
    ------
    DataValidationError
        The same error, in the same words, as the in-memory path would raise on these rows.

    Examples
    --------
    Starting Spark takes seconds, so these lines are not run as tests:

    >>> roles = Roles(y_true="label", y_pred="pred", sensitive_features=("sex", "race"),
    ...               y_score="score", pos_label=">50K")
    >>> frame = spark_session().read.parquet("predictions/")  # doctest: +SKIP
    >>> counted = count_dataframe(frame, roles)  # doctest: +SKIP
    >>> counted.statistics.categories  # doctest: +SKIP
    (('Female', 'Male', 'unknown'), ('A', 'B', 'C', 'D'))
    """
    source = SparkSource(dataframe.sparkSession, dataframe, roles, name=name)
    counted = count_with_sql(source, roles, on_step=on_step)
    return dataclasses.replace(counted, queries=dict(source.timings))
