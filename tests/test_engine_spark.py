"""The Spark engine counts what the in-memory engine counts, and refuses what it refuses.

One local Spark session serves the module (it takes about 10 s to start, and its first query
another 10 s to warm up); each later count takes about a second.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from _engines import (
    DATA,
    ROLES,
    assert_same_result,
    assert_same_statistics,
    audit_file,
    memory_statistics,
    predictions_frame,
    same_error,
    write,
    write_parts,
)

from audit import DataValidationError, count_statistics, prepare_data
from audit._engines import Roles, count_files, find_files
from audit._statistics import CellStatistics

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# `make check` installs both (pyspark with the dev extra, Java by scripts/install_system_packages):
# their absence is a broken set-up, not a reason to skip.
try:
    import pyspark
except ImportError:
    pytest.fail("the Spark engine's tests need pyspark: pip install '.[dev]'", pytrace=False)
_JAVA_HOME = Path(os.environ.get("JAVA_HOME") or "/nonexistent")
if shutil.which("javac") is None and not (_JAVA_HOME / "bin" / "javac").is_file():
    pytest.fail(
        "the Spark engine's tests need a Java 17 JDK (javac compiles the dense counter): "
        "scripts/install_system_packages installs it (apt-get install openjdk-17-jdk-headless)",
        pytrace=False,
    )

pytestmark = [pytest.mark.slow]
if int(pyspark.__version__.split(".")[0]) < 4:
    # PySpark 3.5's Py4J (0.10.9.7) leaves its sockets to the garbage collector.
    pytestmark += [
        pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
        pytest.mark.filterwarnings(
            "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
        ),
    ]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from audit._engines._spark import spark_session

    session = spark_session()
    yield session
    session.stop()


def to_spark(spark: SparkSession, frame: pd.DataFrame) -> DataFrame:
    """``frame`` (text and float columns) as a Spark DataFrame, built from rows: no pandas
    conversion, so any PySpark; missing values become NULL."""
    schema = ", ".join(f"`{c}` {'double' if frame[c].dtype.kind == 'f' else 'string'}"
                       for c in frame)  # fmt: skip
    rows = frame.astype(object).where(frame.notna(), None)
    return spark.createDataFrame(list(rows.itertuples(index=False, name=None)), schema)


def spark_statistics(path: Path | str, roles: Roles = ROLES) -> CellStatistics:
    return count_files(find_files(path), roles, "spark").statistics


def test_the_dialect_has_no_isinf_and_quotes_with_backquotes() -> None:
    from audit._engines._spark import SPARK

    assert SPARK.inf("`s`") == "(`s` = double('inf') OR `s` = double('-inf'))"
    assert SPARK.q("a`b") == "`a``b`"


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize(
    ("decimals", "score_bins"),
    [(2, 10_000), (6, 20)],  # exact bins (101 values); equal-width bins and the median query
)
def test_statistics_equal_the_in_memory_engines(
    spark: SparkSession, tmp_path: Path, suffix: str, decimals: int, score_bins: int
) -> None:
    path = write(predictions_frame(2_000, score_decimals=decimals), tmp_path / f"p{suffix}")
    roles = Roles(**{**ROLES.__dict__, "score_bins": score_bins})
    steps: list[str] = []
    got = count_files(find_files(path), roles, "spark", on_step=steps.append)
    want = memory_statistics(path, roles)
    assert_same_statistics(got.statistics, want)
    assert want.scores is not None
    assert want.scores.exact == (decimals == 2)  # both binnings are exercised
    assert any(s.startswith("median") for s in steps) == (decimals == 6)
    assert not any("without the dense counter" in s for s in steps)  # it counted the groups
    assert (got.n_rows, got.engine) == (2_000, "spark")
    assert got.labels == ("<=50K", ">50K")
    sex_missing = want.missing_count[:, want.missing_columns.index("sex")].sum()
    assert got.unknown_counts == {"sex": sex_missing, "race": 0}
    assert sex_missing > 0


def test_unweighted_counts_and_a_whole_audit(spark: SparkSession, tmp_path: Path) -> None:
    path = write(predictions_frame(3_000, score_decimals=4), tmp_path / "p.parquet")
    roles = Roles(**{**ROLES.__dict__, "sample_weight": None, "score_bins": 50})
    assert_same_statistics(spark_statistics(path, roles), memory_statistics(path, roles))
    memory = audit_file(path, "memory", **DATA)
    on_spark = audit_file(path, "spark", **DATA)
    assert (memory.options.engine, on_spark.options.engine) == ("memory", "spark")
    assert_same_result(on_spark, memory)


def test_typed_parquet_columns_numeric_labels_and_float_groups(
    spark: SparkSession, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    n = 1_000
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),  # int64 labels: 0/1 need no pos_label
            "p": rng.integers(0, 2, n).astype(bool),  # bool predictions
            "band": rng.choice([1.0, 2.0, 3.5, np.nan], n),  # a float feature with NaN
            "score": rng.random(n).astype(np.float32),  # squared in float64, as in memory
            "weight": rng.integers(1, 4, n),  # integer weights
        }
    )
    path = write(frame, tmp_path / "typed.parquet")
    roles = Roles(y_true="y", y_pred="p", sensitive_features=("band",), y_score="score",
                  sample_weight="weight")  # fmt: skip
    got = spark_statistics(path, roles)
    assert_same_statistics(got, memory_statistics(path, roles))
    assert got.categories == (("1", "2", "3.5", "unknown"),)


def test_a_folder_of_parquet_parts_equals_the_whole_file(
    spark: SparkSession, tmp_path: Path
) -> None:
    frame = predictions_frame(3_000, score_decimals=3)
    whole = write(frame, tmp_path / "whole.parquet")
    parts = write_parts(
        frame, tmp_path / "parts [2024]"
    )  # a glob character in the path: Spark must not glob it
    (parts / "_SUCCESS").write_text("")  # as Spark leaves it: not data
    assert len(find_files(parts).files) == 3
    assert_same_statistics(spark_statistics(parts), memory_statistics(whole, ROLES))


def test_a_dataframe_and_a_table_equal_the_in_memory_engines(spark: SparkSession) -> None:
    from audit._engines._spark import SparkSource, count_dataframe

    frame = predictions_frame(2_000, score_decimals=2)
    dataframe = to_spark(spark, frame)
    prepared = prepare_data(
        frame,
        y_true="label",
        y_pred="pred",
        sensitive_features=["sex", "race"],
        y_score="score",
        sample_weight="weight",
        pos_label=">50K",
    )
    want = count_statistics(prepared)
    counted = count_dataframe(dataframe, ROLES)
    assert_same_statistics(counted.statistics, want)
    # A DataFrame has no first rows to read from files: Spark lists the key columns' values.
    assert {"guard", "groups"} <= set(counted.queries)  # seconds per query
    assert all(seconds > 0 for seconds in counted.queries.values())
    assert counted.unknown_counts == {"sex": prepared.features[0].n_missing, "race": 0}

    dataframe.createOrReplaceTempView("fairtrail_predictions")
    try:
        source = SparkSource(spark, "fairtrail_predictions", ROLES)
        assert source.name == "fairtrail_predictions"
        assert ("score", "DOUBLE") in source.columns()
        assert ("sex", "STRING") in source.columns()
    finally:
        spark.catalog.dropTempView("fairtrail_predictions")
    assert spark.catalog.listTables() == []  # the engine's own views are gone too


def test_a_dataframes_errors_name_the_column_and_say_a_row(spark: SparkSession) -> None:
    from audit._engines._spark import count_dataframe

    frame = predictions_frame(50)
    frame.loc[7, "weight"] = -2.0
    dataframe = to_spark(spark, frame)
    with pytest.raises(DataValidationError) as caught:
        count_dataframe(dataframe, ROLES)
    # A DataFrame's rows have no order: no line to point at.
    assert str(caught.value) == (
        "Column 'weight' (sample_weight) must be non-negative; found -2 at a row."
    )
    with pytest.raises(DataValidationError, match=r"Column 'proba' \(y_score\) is not in the data"):
        count_dataframe(dataframe, Roles(**{**ROLES.__dict__, "y_score": "proba"}))
    # Numbers written as text are not parsed (the in-memory engine parses them).
    as_text = to_spark(spark, frame.assign(score=frame["score"].astype(str)))
    with pytest.raises(DataValidationError) as caught:
        count_dataframe(as_text, ROLES)
    assert str(caught.value) == (
        "Column 'score' (y_score) must hold numbers; engine 'spark' found type STRING (cast it "
        "to double, or use engine = 'memory', which parses numbers written as text)."
    )


GOOD = ["<=50K,>50K,Female,A,0.2,1.0", ">50K,>50K,Male,B,0.7,2.0"] * 20
NOT_A_NUMBER = "'bad.csv', line 12: column '{}' ({}) must hold numbers; found '{}'."
NOT_FINITE = "found {} NaN/missing and {} infinite values (first at line 12 of bad.csv)."


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("<=50K,>50K,Male,A,abc,1.0", NOT_A_NUMBER.format("score", "y_score", "abc")),
        # Spark's cast reads Java's syntax (0.5d, hex); pyarrow, and so fairtrail, does not.
        ("<=50K,>50K,Male,A,0.5d,1.0", NOT_A_NUMBER.format("score", "y_score", "0.5d")),
        ("<=50K,>50K,Male,A,0.5,1.0x", NOT_A_NUMBER.format("weight", "sample_weight", "1.0x")),
        (
            "<=50K,>50K,Male,A,nan,1.0",
            "Column 'score' (y_score) must hold finite numbers; " + NOT_FINITE.format(1, 0),
        ),
        ("<=50K,>50K,Male,A,,1.0", NOT_FINITE.format(1, 0)),  # missing
        ("<=50K,>50K,Male,A,-Infinity,1.0", NOT_FINITE.format(0, 1)),
        ("<=50K,>50K,Male,A,0.5", "'bad.csv', line 12 is malformed: Expected 6 columns, got 5"),
    ],
)
def test_bad_csv_rows_give_the_in_memory_engines_error(
    spark: SparkSession, tmp_path: Path, bad_row: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    rows = [*GOOD[:10], bad_row, *GOOD[10:]]
    path.write_text("label,pred,sex,race,score,weight\n" + "\n".join(rows) + "\n", "utf-8")
    error = same_error(path, "spark", **DATA)
    assert message in error


def test_bytes_that_are_not_utf8_give_the_in_memory_engines_error(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Spark decodes them as U+FFFD; pyarrow refuses them (far enough in for the header check
    to pass)."""
    path = tmp_path / "latin1.csv"
    rows = [*GOOD * 200, "<=50K,>50K,Fem\xe9,A,0.2,1.0"]
    path.write_bytes(("label,pred,sex,race,score,weight\n" + "\n".join(rows)).encode("latin-1"))
    error = same_error(path, "spark", **DATA)
    assert error == (
        "'latin1.csv', line 8002: column 'sex' holds bytes that are not UTF-8 text; save the "
        "file as UTF-8."
    )


def test_csv_text_is_read_as_the_in_memory_engine_reads_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Null strings, blanks around numbers, doubled quotes, a quoted line break, U+FFFD."""
    path = tmp_path / "odd.csv"
    rows = [
        *GOOD[:10],
        "<=50K,>50K,NA,A, 0.5 ,1.0",  # 'NA' is a category; blanks around a number are allowed
        '<=50K,>50K,"Ma""le",A,+.5,1e0',  # a doubled quote; a leading + and a bare point
        '>50K,>50K,"Fe\nmale",B,0.25,',  # a line break inside quotes; an empty field
        ">50K,>50K,Male,\ufffd,0.5,1.0",  # U+FFFD written as UTF-8: a character like others
        *GOOD[10:],
    ]
    path.write_text("label,pred,sex,race,score,weight\n" + "\n".join(rows) + "\n", "utf-8")
    roles = Roles(**{**ROLES.__dict__, "sample_weight": None})
    got = spark_statistics(path, roles)
    assert_same_statistics(got, memory_statistics(path, roles))
    assert got.categories[0] == ("Fe\nmale", "Female", 'Ma"le', "Male", "NA")  # sorted
    assert got.categories[1] == ("A", "B", "\ufffd")


def test_run_audit_takes_a_spark_dataframe_or_a_table(spark: SparkSession) -> None:
    from audit import audit_predictions, parse_spec, run_audit

    frame = predictions_frame(3_000, score_decimals=2)
    data = {"y_true": "label", "y_pred": "pred", "y_score": "score", "pos_label": ">50K",
            "sensitive_features": ["sex", "race"]}  # fmt: skip
    raw = {"audit": {"engine": "spark"},
           "policy": {"thresholds": {"demographic_parity_ratio": 0.8}}}  # fmt: skip
    memory = audit_predictions(
        frame["label"], frame["pred"], y_score=frame["score"], pos_label=">50K",
        sensitive_features=frame[["sex", "race"]],
        policy=parse_spec({"data": data, **raw}).policy,
        options=parse_spec({"data": data, **raw}).options,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined rates of small cells, as in memory
        from_frame = run_audit(parse_spec({"data": data, **raw}), to_spark(spark, frame))
        to_spark(spark, frame).createOrReplaceTempView("fairtrail_scores")
        try:
            from_table = run_audit(
                parse_spec({"data": {**data, "table": "fairtrail_scores"}, **raw})
            )
        finally:
            spark.catalog.dropTempView("fairtrail_scores")
    for result in (from_frame, from_table):
        assert result.options.engine == "spark"
        assert [c.verdict for c in result.criteria] == [c.verdict for c in memory.criteria]
        assert result.cells == memory.cells
        g, w = result.groups_frame(), memory.groups_frame()
        np.testing.assert_allclose(g["value"].to_numpy(float), w["value"].to_numpy(float),
                                   rtol=1e-12)  # fmt: skip
    assert from_table.data.source == "fairtrail_scores"


# --- the dense counter (audit/_engines/_dense.py) ---------------------------------------------


def _same_column(name: str, got: pa.ChunkedArray, want: pa.ChunkedArray) -> None:
    """Equal NULLs; integers exactly; doubles exactly (NaN equal), sums up to rounding.

    A SUM of only NULLs is NULL in SQL and 0 from the counter: ``numbers()`` reads both as 0.
    """
    assert got.type.equals(want.type) or pa.types.is_integer(want.type), (name, got.type)
    if name in ("s1", "s2", "w", "w2", "wi_sum"):
        want = pc.fill_null(want, 0)
    assert got.is_null().to_pylist() == want.is_null().to_pylist(), name
    g = got.drop_null().to_numpy().astype(np.float64)
    w = want.drop_null().to_numpy().astype(np.float64)
    if pa.types.is_integer(want.type):
        assert got.to_pylist() == want.to_pylist(), name
    elif name in ("s1", "s2", "w", "w2", "wi_sum"):
        np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(g, w, err_msg=name)  # -0.0 == 0.0, NaN == NaN


def test_the_dense_counter_equals_spark_sqls_group_by(spark: SparkSession) -> None:
    """Every kind of aggregate the groups use, on NULL, NaN, ±inf, -0.0 and out-of-range
    scores, integer and double weights and a column with missing values, spread over four
    partitions: Spark SQL's own GROUP BY of the same aggregates is the oracle. A per-cell
    aggregate (checks, missing values) is compared per key prefix (cell and labels): the
    counter gives its value once, at the prefix's first group, NULL or 0 at the others."""
    from audit._engines._base import Aggregate, group_aggregates, select_groups
    from audit._engines._checks import checks_sql
    from audit._engines._dense import dense_groups
    from audit._engines._spark import SPARK

    rng = np.random.default_rng(7)
    n = 3_000
    special = [None, float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, 1.5, -0.25]
    score = [special[i] if i < len(special) else float(v)
             for i, v in enumerate(np.round(rng.random(n), 3))]  # fmt: skip
    score = [score[i] if i % 97 else special[i % len(special)] for i in range(n)]
    weight = [None if i % 211 == 5 else float(v) for i, v in enumerate(rng.integers(-1, 4, n))]
    rows = [
        (("a", "b", "c", "d")[i % 4], score[i], int(rng.integers(-5, 50)),
         None if i % 4 == 3 else weight[i], None if i % 7 == 0 else "x")
        for i in range(n)
    ]  # fmt: skip
    frame = spark.createDataFrame(rows, "g string, s double, wi int, wd double, x string")
    frame.repartition(4).createOrReplaceTempView("dense_oracle")
    columns = [("g", "STRING"), ("s", "DOUBLE"), ("wi", "INT"), ("wd", "DOUBLE"), ("x", "STRING")]
    roles = Roles(y_true="g", y_pred="g", sensitive_features=("g",), y_score="s",
                  sample_weight="wd")  # fmt: skip
    extra: list[Aggregate | str] = [
        *checks_sql(SPARK, "s", "s"),
        *checks_sql(SPARK, "w", "wd"),  # g = 'd' has no weights: its w_min is NULL
        Aggregate("SUM", "`wi`", "wi_sum"),
        Aggregate("MIN", "`wi`", "wi_min"),
        Aggregate("MAX", "`wi`", "wi_max"),
        Aggregate("MAX", "`wi`", "wi_cell_max", per_cell=True),
    ]
    aggregates = group_aggregates(SPARK, roles, columns, extra, extremes=True)
    bins = (
        "CASE WHEN s IS NULL OR isnan(s) OR s = double('inf') OR s = double('-inf') "
        "OR s < 0 OR s > 1 THEN 10 ELSE LEAST(CAST(FLOOR(s * 10) AS BIGINT), 9) END"
    )
    prefix = "CAST(CASE g WHEN 'a' THEN 0 WHEN 'b' THEN 1 WHEN 'c' THEN 2 ELSE 3 END AS BIGINT)"
    key = f"{prefix} * 11 + ({bins})"
    per_group = [a for a in aggregates if not (isinstance(a, Aggregate) and a.per_cell)]
    per_cell = [a for a in aggregates if isinstance(a, Aggregate) and a.per_cell]
    assert {a.alias for a in per_cell} >= {"m4", "w_nan", "w_min", "s_outside", "wi_cell_max"}

    def oracle(by: str, chosen: list[Aggregate | str]) -> pa.Table:
        sql = select_groups(by, (), chosen).replace("{src}", "dense_oracle")
        return spark.sql(sql).toArrow().sort_by("k")

    got = dense_groups(spark, "dense_oracle", key, aggregates, 11).sort_by("k")
    assert got.column_names == ["k", *(str(a).rsplit(" AS ", 1)[1] for a in aggregates)]
    want = oracle(key, per_group)
    assert got.num_rows == want.num_rows
    assert sum(got.column("n").to_pylist()) == n
    for name in want.column_names:
        _same_column(name, got.column(name), want.column(name))

    # Per cell: the counter's one value per prefix, at the prefix's first (smallest) key.
    keys = np.asarray(got.column("k").to_pylist())
    first = np.r_[True, keys[1:] // 11 != keys[:-1] // 11]
    want_cells = oracle(prefix, per_cell)
    for a in per_cell:
        column = got.column(a.alias)
        others = column.filter(pa.array(~first)).to_pylist()
        assert set(others) <= ({None} if a.func in ("MIN", "MAX") else {0}), a.alias
        at_first = pa.chunked_array([column.filter(pa.array(first))])
        _same_column(a.alias, at_first, want_cells.column(a.alias))
    assert want_cells.column("w_min").null_count == 1  # g = 'd' (no weights): NULL in both
    # The squared weights are each group's own sum (not per cell), as the histogram reads them.
    assert "w2" in want.column_names

    # By hand: every infinite score counted once, in the prefixes' totals.
    assert sum(got.column("s_inf").to_pylist()) == sum(
        1 for v in score if v is not None and abs(v) == np.inf
    )


def test_the_sql_group_by_counts_when_the_dense_blocks_would_not_fit(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audit._engines import _dense

    monkeypatch.setattr(_dense, "MAX_BYTES", 1_000)  # less than one block of 10,003 bins
    path = write(predictions_frame(1_500, score_decimals=6), tmp_path / "p.parquet")
    steps: list[str] = []
    got = count_files(find_files(path), ROLES, "spark", on_step=steps.append)
    assert [s for s in steps if "without the dense counter" in s] == [
        "groups: as SQL, without the dense counter (too many groups for dense blocks "
        "(more than 0 blocks of 10003 slots))"
    ]
    assert_same_statistics(got.statistics, memory_statistics(path, ROLES))


def test_squared_weights_by_the_dense_counter_and_by_sql_equal_the_in_memory_engines(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Σw² per confusion bin and per score bin, from three Parquet parts of integer weights
    whose squares overflow int64 (up to 4·10⁹, some 0): counted by the dense counter, then by
    the SQL ``GROUP BY`` it falls back to; both equal the in-memory engine's to rounding."""
    from audit._engines import _dense

    frame = predictions_frame(2_000, seed=11, score_decimals=3)
    frame["weight"] = np.random.default_rng(11).integers(0, 4_000_000_000, len(frame))
    whole = write(frame, tmp_path / "whole.parquet")
    parts = write_parts(frame, tmp_path / "parts")
    want = memory_statistics(whole, ROLES)
    assert want.confusion_weight_sq is not None
    assert want.scores is not None
    assert want.scores.weight_sq is not None
    w = frame["weight"].to_numpy(np.float64)
    assert want.confusion_weight_sq.sum() == pytest.approx(float(np.dot(w, w)), rel=1e-12)

    steps: list[str] = []
    dense = count_files(find_files(parts), ROLES, "spark", on_step=steps.append)
    assert not any("without the dense counter" in s for s in steps)  # the counter ran
    assert_same_statistics(dense.statistics, want)  # Σw² included

    monkeypatch.setattr(_dense, "MAX_BYTES", 1_000)  # less than one block: SQL counts
    steps.clear()
    by_sql = count_files(find_files(parts), ROLES, "spark", on_step=steps.append)
    assert any("without the dense counter" in s for s in steps)
    assert_same_statistics(by_sql.statistics, want)


def test_the_dense_counters_jar_is_compiled_once_or_refused_without_a_jdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    from audit._engines._dense import DenseRefused, dense_jar

    monkeypatch.setenv("FAIRTRAIL_CACHE", str(tmp_path / "cache"))
    jar = dense_jar()
    assert jar.parent == tmp_path / "cache" / "spark"
    assert "fairtrail/spark/DenseGroupBy.class" in zipfile.ZipFile(jar).namelist()
    stamp = jar.stat().st_mtime_ns
    assert dense_jar() == jar
    assert jar.stat().st_mtime_ns == stamp
    assert [p.name for p in jar.parent.iterdir()] == [jar.name]  # no staged file left

    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("FAIRTRAIL_CACHE", str(tmp_path / "a-file"))
    with pytest.raises(DenseRefused, match=r"^the jar could not be built in .*a-file/spark: "):
        dense_jar()

    monkeypatch.setenv("FAIRTRAIL_CACHE", str(tmp_path / "other"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no javac on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(DenseRefused, match=r"^javac \(a JDK\) was not found$"):
        dense_jar()


def test_fairtrail_spark_jar_prints_the_jar_or_says_why_not(tmp_path: Path) -> None:
    import subprocess
    import sys

    def spark_jar(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fairtrail", "spark-jar"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            env={"PYTHONPATH": str(Path(__file__).parents[1]), **env},
        )

    javac = Path(shutil.which("javac") or _JAVA_HOME / "bin" / "javac").resolve()
    made = spark_jar(PATH=f"{javac.parent}:/usr/bin:/bin", FAIRTRAIL_CACHE=str(tmp_path / "c"))
    assert made.returncode == 0, made.stderr
    (printed,) = made.stdout.splitlines()
    assert Path(printed).parent == tmp_path / "c" / "spark"
    assert Path(printed).is_file()

    refused = spark_jar(PATH=str(tmp_path), FAIRTRAIL_CACHE=str(tmp_path / "empty"))
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.strip() == (
        "fairtrail: error: the dense counter's jar cannot be built: javac (a JDK) was not found"
    )
