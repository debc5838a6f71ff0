"""Hostile inputs: every malformed file refused in one clear line, every engine agreeing.

Each case writes a small predictions file (or a folder of parts) and a spec, then runs
``fairtrail run`` with the in-memory engine and with DuckDB. A refused input must exit 2 with
exactly one line on standard error — the message written out here by hand — and no traceback,
in the same words in both engines. An odd but valid input must give the same groups, counts
and metric values in both, and the counts derived by hand in the case.

The Spark engine runs a representative subset (tests/test_hostile_spark.py is not needed: the
subset is marked ``slow`` here and shares the cases).
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import math
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit import AuditResult, FairtrailError, parse_spec, run_audit
from fairtrail.cli import cli

ENGINES = ("memory", "duckdb")
ROWS = "0,1,F\n1,1,M\n" * 20  # y, p, sex: F has y 0, p 1; M has y 1, p 1 (20 rows each)


def base(n: int = 40) -> pd.DataFrame:
    """y 0/1 alternating, p 1 1 0 0, sex F/M alternating: F and M have 20 rows each at 40."""
    return pd.DataFrame(
        {"y": [0, 1] * (n // 2), "p": [1, 1, 0, 0] * (n // 4), "sex": ["F", "M"] * (n // 2)}
    )


@dataclass(frozen=True)
class Case:
    """One hostile input: how to write it, and what every engine must answer.

    ``error`` is the exact one-line message (after ``fairtrail: error: ``); ``groups`` the
    counts derived by hand for a valid input (attribute → group → n).
    """

    name: str
    write: Callable[[Path], dict[str, Any]]
    error: str | None = None
    groups: dict[str, dict[str, int]] | None = None
    engines: tuple[str, ...] = ENGINES
    spark: bool = False


CASES: list[Case] = []


def case(
    error: str | None = None,
    groups: dict[str, dict[str, int]] | None = None,
    engines: tuple[str, ...] = ENGINES,
    spark: bool = False,
) -> Callable[[Callable[[Path], dict[str, Any]]], Callable[[Path], dict[str, Any]]]:
    def register(write: Callable[[Path], dict[str, Any]]) -> Callable[[Path], dict[str, Any]]:
        CASES.append(Case(write.__name__, write, error, groups, engines, spark))
        return write

    return register


def data(path: str, sf: tuple[str, ...] = ("sex",), **extra: Any) -> dict[str, Any]:
    """The spec's [data] table."""
    return {"path": path, "y_true": "y", "y_pred": "p", "sensitive_features": list(sf), **extra}


def csv(folder: Path, text: str | bytes, sf: tuple[str, ...] = ("sex",), **extra: Any) -> dict:
    (folder / "x.csv").write_bytes(text.encode() if isinstance(text, str) else text)
    return data("x.csv", sf, **extra)


def parquet(folder: Path, table: pa.Table | pd.DataFrame, **kw: Any) -> dict[str, Any]:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(table, folder / "x.parquet")
    return data("x.parquet", **kw)


SEX = {"sex": {"F": 20, "M": 20}}
MULTI = ("duckdb",)  # folders of parts: the in-memory engine reads one file

# --- Silent wrong results, now refused or right ------------------------------------------------


@case(groups={"sex": {"F": 40, "M": 40}, "race": {"A": 40, "B": 20, "C": 20}}, engines=MULTI,
      spark=True)  # fmt: skip
def parts_in_another_order(d: Path) -> dict[str, Any]:
    # Two parts of 40 rows; race A B C A repeats: A 20, B 10, C 10 per part.
    (d / "parts").mkdir()
    df = base().assign(race=["A", "B", "C", "A"] * 10)
    df.to_csv(d / "parts/a.csv", index=False)
    df[["race", "sex", "p", "y"]].to_csv(d / "parts/b.csv", index=False)
    return data("parts", ("sex", "race"))


@case(groups={"sex": {"F": 40, "M": 40}}, engines=MULTI, spark=True)
def parquet_parts_in_another_order(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    df = base()
    df.to_parquet(d / "parts/a.parquet", index=False)
    df[["sex", "p", "y"]].to_parquet(d / "parts/b.parquet", index=False)
    return data("parts")


@case(groups={"region": {"EU": 20, "NA": 20}}, spark=True)
def a_category_spelled_na(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,region\n" + "0,1,NA\n1,1,EU\n" * 20, ("region",))


@case(groups={"region": {"EU": 20, "unknown": 20}})
def na_declared_missing(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,region\n" + "0,1,NA\n1,1,EU\n" * 20, ("region",), missing_values=["NA"])


@case(error="Column 'y' (y_true) is not in 'x.csv'. Columns present: ['y;p;sex']. The header "
      "looks semicolon-separated; fairtrail reads commas.")  # fmt: skip
def a_semicolon_separated_file(d: Path) -> dict[str, Any]:
    return csv(d, "y;p;sex\n" + ROWS.replace(",", ";"))


@case(error="'x.csv', line 1: the name of column 1 is not UTF-8 text; save the file as UTF-8.")
def a_utf16_file(d: Path) -> dict[str, Any]:
    return csv(d, ("y,p,sex\n" + ROWS).encode("utf-16"))


@case(groups={"sex": {"N/A": 20, "null": 20}})
def null_strings_are_values_unless_declared(d: Path) -> dict[str, Any]:
    # pyarrow's and DuckDB's default lists of missing strings would drop both.
    return csv(d, "y,p,sex\n" + "0,1,null\n1,1,N/A\n" * 20)


@case(error="s.toml:5: data: Column 'y' is named for two roles, y_true and "
      "sensitive_features[0]; each column plays one role.")  # fmt: skip
def sensitive_feature_is_the_label(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS, ("y",))


@case(error="s.toml:6: data: Column 'p' is named for two roles, y_pred and y_score; each "
      "column plays one role.")  # fmt: skip
def prediction_is_the_score(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS, y_score="p")


@case(error="s.toml:5: data: sensitive_features lists 'sex' more than once.")
def a_feature_listed_twice(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS, ("sex", "sex"))


@case(
    error="Column 't' (sensitive feature) holds dates or times (timestamp[us, "
    "tz=America/New_York]) in 'x.parquet'; bin it into periods (for example a year or a month "
    "column) to compare groups.",
    spark=True,
)
def timestamps_at_a_daylight_saving_change(d: Path) -> dict[str, Any]:
    # 01:30 EDT and 01:30 EST on 2021-11-07: one engine merged them, the other did not.
    utc = pd.to_datetime(["2021-11-07 05:30:00+00:00", "2021-11-07 06:30:00+00:00"] * 20)
    return parquet(d, base().assign(t=utc.tz_convert("America/New_York")), sf=("t",))


@case(error="Column 'dt' (sensitive feature) holds dates or times (date32[day]) in "
      "'x.parquet'; bin it into periods (for example a year or a month column) to compare "
      "groups.")  # fmt: skip
def dates_as_a_sensitive_feature(d: Path) -> dict[str, Any]:
    days = [datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)] * 20
    return parquet(d, base().assign(dt=days), sf=("dt",))


@case(groups={"t": {"2021-11-07 01:30 EDT": 20, "2021-11-07 01:30 EST": 20}})
def timestamps_as_text_are_text(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,t\n" + "0,1,2021-11-07 01:30 EDT\n1,1,2021-11-07 01:30 EST\n" * 20, ("t",))


@case(error="Column 'sex' (sensitive feature) holds a NUL character (\\x00) at line 42 of x.csv;"
      " text never holds one: is the file binary or corrupt?", spark=True)  # fmt: skip
def a_nul_inside_a_value(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,sex\n" + ROWS.encode() + b"1,0,F\x00\n")


@case(error="Column 'y' (y_true) holds a NUL character (\\x00) at line 42 of x.csv; text never "
      "holds one: is the file binary or corrupt?")  # fmt: skip
def a_nul_inside_a_label(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,sex\n" + ROWS.encode() + b"1\x00,0,F\n")


@case(error="Column 'sex' (sensitive feature) holds a NUL character (\\x00) at line 42 of x.csv;"
      " text never holds one: is the file binary or corrupt?")  # fmt: skip
def a_nul_after_the_first_rows(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "1,0,M\x00\n" + "0,1,F\n" * 5)


@case(error="Column 'sex' (sensitive feature) holds a NUL character (\\x00) at row 3 of "
      "x.parquet; text never holds one: is the file binary or corrupt?")  # fmt: skip
def a_nul_in_parquet_text(d: Path) -> dict[str, Any]:
    df = base()
    df.loc[3, "sex"] = "M\x00"
    return parquet(d, df)


# --- Tracebacks, now one line ------------------------------------------------------------------


@case(error="'x.csv' has 2 columns named 'sex' (columns 3 and 4); each column needs a name of "
      "its own.", spark=True)  # fmt: skip
def duplicate_column_names(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex,sex\n" + "0,1,F,F\n1,1,M,M\n" * 20)


@case(error="'x.parquet' has 2 columns named 'sex' (columns 3 and 4); each column needs a name "
      "of its own.")  # fmt: skip
def duplicate_parquet_column_names(d: Path) -> dict[str, Any]:
    arrays = [pa.array([0, 1] * 20), pa.array([1, 1] * 20), pa.array(["F", "M"] * 20)]
    return parquet(d, pa.table([*arrays, arrays[2]], names=["y", "p", "sex", "sex"]))


@case(error="'x.csv' has 2 columns named 'note' (columns 4 and 5); each column needs a name of "
      "its own.")  # fmt: skip
def duplicate_unused_column_names(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex,note,note\n" + "0,1,F,a,b\n1,1,M,a,b\n" * 20)


@case(error="Column 'y' (y_true) has 1 missing values (first at row 3 of x.parquet); every row "
      "needs a y_true.")  # fmt: skip
def nan_in_a_float_label(d: Path) -> dict[str, Any]:
    df = base().astype({"y": float})
    df.loc[3, "y"] = np.nan
    return parquet(d, df)


@case(groups={"g": {"1": 10, "2": 20, "unknown": 10}})
def nan_in_a_float_sensitive_feature(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(g=[1.0, 2.0, np.nan, 2.0] * 10), sf=("g",))


@case(groups={"g": {"0": 20, "1": 20}})
def negative_zero_is_zero(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(g=[0.0, 1.0, -0.0, 1.0] * 10), sf=("g",))


@case(groups=SEX, spark=True)
def nested_columns_the_audit_does_not_use(d: Path) -> dict[str, Any]:
    table = pa.Table.from_pandas(base(), preserve_index=False)
    table = table.append_column("s", pa.array([{"a": 1, "b": "x"}] * 40))
    table = table.append_column("l", pa.array([[1, 2]] * 40))
    table = table.append_column("m", pa.array([[("k", 1)]] * 40, pa.map_(pa.string(), pa.int64())))
    return parquet(d, table)


@case(groups=SEX)
def a_list_of_fixed_size_binaries_the_audit_does_not_use(d: Path) -> dict[str, Any]:
    # numpy cannot hold it: pandas gets it Arrow-backed; lineage describes it.
    table = pa.Table.from_pandas(base(), preserve_index=False)
    values = pa.array([[b"ab"], [b"cd"]] * 20, pa.list_(pa.binary(2)))
    return parquet(d, table.append_column("x", values))


@case(groups={"g": {"0": 20, "unknown": 20}})
def nan_that_parquet_statistics_leave_out(d: Path) -> dict[str, Any]:
    # DuckDB folded isnan() to false from the column's min/max (which skip NaN).
    return parquet(d, base().assign(g=[0.0, np.nan] * 20), sf=("g",))


@case(error="Column 's' (y_score) must hold finite numbers; found 20 NaN/missing and 0 infinite "
      "values (first at row 1 of x.parquet).")  # fmt: skip
def nan_scores_that_parquet_statistics_leave_out(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(s=[0.0, np.nan] * 20), y_score="s", score_type="score")


@case(groups=SEX)
def unsigned_64_bit_scores(d: Path) -> dict[str, Any]:
    s = pa.array([1, 2**64 - 1] * 20, pa.uint64())
    table = pa.Table.from_pandas(base(), preserve_index=False).append_column("s", s)
    return parquet(d, table, y_score="s", score_type="score")


@case(error="Column 's' (sensitive feature) must hold categories (text, numbers or booleans); "
      "found type struct<a: int64> in 'x.parquet'.")  # fmt: skip
def a_struct_as_a_sensitive_feature(d: Path) -> dict[str, Any]:
    table = pa.Table.from_pandas(base(), preserve_index=False)
    return parquet(d, table.append_column("s", pa.array([{"a": 1}, {"a": 2}] * 20)), sf=("s",))


@case(error="Column 'y' (y_true) must hold labels (text, numbers or booleans); found type "
      "list<element: int64> in 'x.parquet'.")  # fmt: skip
def a_list_as_the_label(d: Path) -> dict[str, Any]:
    table = pa.table({"y": pa.array([[0], [1]] * 20), "p": [1] * 40, "sex": ["F", "M"] * 20})
    return parquet(d, table)


@case(error="Column 'y' (y_true) must hold labels (text, numbers or booleans); found type "
      "binary in 'x.parquet'.")  # fmt: skip
def bytes_as_the_label(d: Path) -> dict[str, Any]:
    return parquet(d, pa.table({"y": [b"0", b"1"] * 20, "p": [1] * 40, "sex": ["F", "M"] * 20}))


@case(error="Column 'y' has type int64 in 'a.parquet' but large_string in 'b.parquet'; every "
      "part must give a column the same type.", engines=MULTI, spark=True)  # fmt: skip
def parquet_parts_with_conflicting_types(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    base().to_parquet(d / "parts/a.parquet", index=False)
    base().astype({"y": str}).to_parquet(d / "parts/b.parquet", index=False)
    return data("parts")


@case(groups={"g": {"1": 40, "2": 20, "2.5": 20}}, engines=MULTI)
def parquet_parts_with_int_and_float(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    pq.write_table(pa.table({"y": [0, 1] * 20, "p": [1] * 40, "g": [1, 2] * 20}),
                   d / "parts/a.parquet")  # fmt: skip
    pq.write_table(pa.table({"y": [0, 1] * 20, "p": [1] * 40, "g": [1.0, 2.5] * 20}),
                   d / "parts/b.parquet")  # fmt: skip
    return data("parts", ("g",))


@case(error="Column 'race' (sensitive_features[1]) is not in 'b.csv'. Columns present: ['y', "
      "'p', 'sex'].", engines=MULTI)  # fmt: skip
def a_part_without_a_role_column(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    df = base().assign(race="A")
    df.to_csv(d / "parts/a.csv", index=False)
    df.drop(columns="race").to_csv(d / "parts/b.csv", index=False)
    return data("parts", ("sex", "race"))


@case(error="Part 'b.csv' has a column 'extra', which 'a.csv' has not; every part must have "
      "the same columns.", engines=MULTI)  # fmt: skip
def a_part_with_an_extra_column(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    base().to_csv(d / "parts/a.csv", index=False)
    base().assign(extra=1).to_csv(d / "parts/b.csv", index=False)
    return data("parts")


@case(error="Part 'b.csv' has no column 'note', which 'a.csv' has; every part must have the "
      "same columns.", engines=MULTI)  # fmt: skip
def a_part_without_an_unused_column(d: Path) -> dict[str, Any]:
    (d / "parts").mkdir()
    base().assign(note="n").to_csv(d / "parts/a.csv", index=False)
    base().to_csv(d / "parts/b.csv", index=False)
    return data("parts")


# --- Unclear errors, now clear -----------------------------------------------------------------


@case(error="Sensitive feature 'sex' has no values: all 40 rows are missing.", spark=True)
def a_sensitive_feature_missing_everywhere(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "0,1,\n1,1,\n" * 20)


@case(error="Sensitive feature 'sex' has no values: all 40 rows are missing.")
def a_null_typed_parquet_feature(d: Path) -> dict[str, Any]:
    return parquet(d, pa.table({"y": [0, 1] * 20, "p": [1] * 40, "sex": pa.nulls(40)}))


@case(groups={"sex": {"F": 20, "M": 20}})
def a_ten_megabyte_field(d: Path) -> dict[str, Any]:
    df = base().assign(note="x")
    df.loc[5, "note"] = "z" * 10_000_000
    df.to_csv(d / "x.csv", index=False)
    return data("x.csv")


@case(error="Column 'y' (y_true) has 1 missing values (first at line 13 of x.csv); every row "
      "needs a y_true.")  # fmt: skip
def line_numbers_after_a_quoted_newline(d: Path) -> dict[str, Any]:
    # Data row 10 is on line 12 of an editor; the quoted line break before it adds one.
    df = base().assign(note="a").astype({"y": object})
    df.loc[1, "note"] = "two\nlines"
    df.loc[10, "y"] = None
    df.to_csv(d / "x.csv", index=False)
    return data("x.csv")


@case(error="'x.csv', line 45 is malformed: Expected 3 columns, got 2: 1,0.")
def line_numbers_after_blank_lines(d: Path) -> dict[str, Any]:
    # 41 lines, three blank ones (42-44), then the short row on line 45.
    return csv(d, "y,p,sex\n" + ROWS + "\n\n\n1,0\n")


@case(error="'x.csv', line 42: column 'note' holds bytes that are not UTF-8 text; save the "
      "file as UTF-8.", spark=True)  # fmt: skip
def invalid_utf8_in_an_unused_column(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,sex,note\n" + b"0,1,F,a\n1,1,M,b\n" * 20 + b"1,0,F,\xff\xfe\n")


@case(error="'x.csv', line 42: column 'sex' holds bytes that are not UTF-8 text; save the file "
      "as UTF-8.")  # fmt: skip
def invalid_utf8_in_a_sensitive_feature(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,sex\n" + ROWS.encode() + b"1,0,\xe9\n")


@case(error="'x.csv', line 1: the name of column 3 is not UTF-8 text; save the file as UTF-8.")
def invalid_utf8_in_the_header(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,s\xe9x\n" + ROWS.encode(), ("s\u00e9x",))


@case(error="Column 's' (y_score) must hold numbers; found type large_string in 'x.parquet'.")
def text_in_a_parquet_score(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(s=["0.5", "abc"] * 20), y_score="s")


@case(error="Column 's' (y_score) must hold numbers; found type bool in 'x.parquet'.")
def booleans_in_a_parquet_score(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(s=[True, False] * 20), y_score="s")


@case(error="Column 's' (y_score) must hold finite numbers; found 1 NaN/missing and 0 infinite "
      "values (first at row 4 of x.parquet).", spark=True)  # fmt: skip
def nan_in_a_parquet_score(d: Path) -> dict[str, Any]:
    df = base().assign(s=0.5)
    df.loc[4, "s"] = np.nan
    return parquet(d, df, y_score="s")


@case(groups=SEX, spark=True)
def boolean_predictions_beside_01_labels(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "0,True,F\n1,True,M\n" * 20)


@case(groups=SEX)
def boolean_text_labels_without_pos_label(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "False,TRUE,F\ntrue,true,M\n" * 20)


@case(groups=SEX)
def boolean_text_labels_with_pos_label(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "False,True,F\nTrue,True,M\n" * 20, pos_label="True")


@case(error="Columns 'y' (y_true) and 'p' (y_pred) together must hold at most 2 distinct "
      "labels, found 3: ['True', 'no', 'yes'].")  # fmt: skip
def yes_no_beside_booleans(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "yes,True,F\nno,True,M\n" * 20, pos_label="yes")


@case(groups=SEX)
def parquet_boolean_labels(d: Path) -> dict[str, Any]:
    return parquet(d, pa.table({"y": [False, True] * 20, "p": [1] * 40, "sex": ["F", "M"] * 20}))


@case(groups=SEX)
def dictionary_encoded_integer_labels(d: Path) -> dict[str, Any]:
    y = pa.array([0, 1] * 20).dictionary_encode()
    return parquet(d, pa.table({"y": y, "p": [1] * 40, "sex": ["F", "M"] * 20}))


# --- Numbers, text and structure that both engines must read alike ----------------------------

SCORED = "y,p,sex,s\n" + "0,1,F,0.2\n1,1,M,0.7\n" * 20


@case(groups={"sex": {"F": 22, "M": 21}}, spark=True)
def numbers_with_spaces_signs_and_exponents(d: Path) -> dict[str, Any]:
    return csv(d, SCORED + "1,0,F, 0.5\n0,0,M,+.5\n1,1,F,5e-1 \n", y_score="s")


@pytest.mark.parametrize("spelling", ["0x1p-1", "0.2_5", "0,5", "½", "1/2", "--1", "0.5.5"])
def test_number_spellings_one_engine_would_parse_are_refused_by_both(
    tmp_path: Path, spelling: str
) -> None:
    quoted = f'"{spelling}"' if "," in spelling else spelling
    text = SCORED + f"1,0,F,{quoted}\n"
    want = f"'x.csv', line 42: column 's' (y_score) must hold numbers; found {spelling!r}."
    for engine in ENGINES:
        folder = tmp_path / engine
        folder.mkdir()
        code, lines = run_cli(folder, csv(folder, text, y_score="s"), engine)
        assert (code, lines) == (2, [f"fairtrail: error: {want}"]), engine


@pytest.mark.parametrize(
    ("spelling", "nan", "inf"),
    [
        ("Infinity", 0, 1),
        ("inf", 0, 1),
        ("-inf", 0, 1),
        ("NaN", 1, 0),
        ("nan", 1, 0),
        ("1e400", 0, 1),
    ],
)
def test_non_finite_spellings_are_counted_alike(
    tmp_path: Path, spelling: str, nan: int, inf: int
) -> None:
    want = (
        f"Column 's' (y_score) must hold finite numbers; found {nan} NaN/missing and {inf} "
        "infinite values (first at line 42 of x.csv)."
    )
    for engine in ENGINES:
        folder = tmp_path / engine
        folder.mkdir()
        code, lines = run_cli(folder, csv(folder, SCORED + f"1,0,F,{spelling}\n", y_score="s"),
                              engine)  # fmt: skip
        assert (code, lines) == (2, [f"fairtrail: error: {want}"]), engine


@case(groups={"sex": {"F": 20, "M": 20, "unknown": 1}})
def a_quoted_empty_field_is_missing(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + '1,0,""\n')


@case(groups=SEX)
def windows_line_endings(d: Path) -> dict[str, Any]:
    return csv(d, ("y,p,sex\r\n" + "0,1,F\r\n1,1,M\r\n" * 20).encode())


@case(groups=SEX)
def a_byte_order_mark(d: Path) -> dict[str, Any]:
    return csv(d, b"\xef\xbb\xbfy,p,sex\n" + ROWS.encode())


@case(groups=SEX, spark=True)
def gzipped_csv(d: Path) -> dict[str, Any]:
    (d / "x.csv.gz").write_bytes(gzip.compress(("y,p,sex\n" + ROWS).encode()))
    return data("x.csv.gz")


@case(error="The data is empty: 0 rows to audit.", spark=True)
def only_a_header(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n")


@case(error="The data is empty: 0 rows to audit.")
def only_a_header_without_a_newline(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex")


@case(error="'x.csv' is empty: expected a header line of column names.")
def an_empty_file(d: Path) -> dict[str, Any]:
    return csv(d, "")


@case(error="The data is empty: 0 rows to audit.")
def a_parquet_file_without_rows(d: Path) -> dict[str, Any]:
    return parquet(d, base().iloc[:0])


@case(error="'x.csv', line 42 is malformed: Expected 3 columns, got 2: 1,0.", spark=True)
def a_short_row(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "1,0\n")


@case(error="'x.csv', line 42 is malformed: Expected 3 columns, got 4: 1,0,F,extra.")
def a_long_row(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "1,0,F,extra\n")


@case(error="'x.csv', line 42: a quoted value is never closed; close its quote, or double a "
      "quote inside a value.")  # fmt: skip
def an_unterminated_quote(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + '1,0,"F\n')


@case(groups={"sex": {'F"': 1, "F": 20, "M": 20}})
def a_stray_quote_inside_a_value(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + '1,0,F"\n')


@case(groups=SEX)
def spaces_around_a_label(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "0,1,F\n1, 1 ,M\n" * 20)


@case(groups={"sex": {"F": 21, "M": 20}})
def spaces_around_a_category_merge(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "1,0, F\n")


@case(groups={"sex": {"F": 20, "M": 20, "unknown": 2}})
def a_category_named_unknown_joins_the_missing(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "1,0,unknown\n0,0,\n")


@case(error="Column 'y' (y_true) must be binary: expected at most 2 distinct values, found 3: "
      "['0', '1', 'NA'].")  # fmt: skip
def a_label_spelled_na_is_a_third_label(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "NA,0,F\n")


@case(error="Column 'y' (y_true) has 1 missing values (first at line 42 of x.csv); every row "
      "needs a y_true.")  # fmt: skip
def a_label_declared_missing(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + ROWS + "NA,0,F\n", missing_values=["NA"])


@case(error="Column 'p' (y_pred) is not in 'x.csv'. Columns present: ['y', ' p', 'sex'].")
def a_space_in_a_column_name(d: Path) -> dict[str, Any]:
    return csv(d, "y, p,sex\n" + ROWS)


@case(groups=SEX)
def a_nul_in_an_unused_column_name(d: Path) -> dict[str, Any]:
    return csv(d, b"y,p,sex,no\x00te\n" + b"0,1,F,a\n1,1,M,b\n" * 20)


@case(error="'x.parquet' is not a readable Parquet file: Parquet magic bytes not found in "
      "footer. Either the file is corrupted or this is not a parquet file.")  # fmt: skip
def not_a_parquet_file(d: Path) -> dict[str, Any]:
    (d / "x.parquet").write_bytes(b"PAR1garbage")
    return data("x.parquet")


@case(groups={"g": {"1.5": 20, "2": 20}})
def decimal_categories(d: Path) -> dict[str, Any]:
    values = pa.array([decimal.Decimal("1.50"), decimal.Decimal("2.00")] * 20, pa.decimal128(5, 2))
    table = pa.Table.from_pandas(base(), preserve_index=False).append_column("g", values)
    return parquet(d, table, sf=("g",))


@case(groups=SEX)
def decimal_scores(d: Path) -> dict[str, Any]:
    values = pa.array([decimal.Decimal("0.50"), decimal.Decimal("0.25")] * 20, pa.decimal128(5, 2))
    table = pa.Table.from_pandas(base(), preserve_index=False).append_column("s", values)
    return parquet(d, table, y_score="s")


@case(groups={"g": {str(2**53): 20, str(2**53 + 1): 20}})
def integers_beyond_float_precision(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(g=[2**53 + 1, 2**53] * 20), sf=("g",))


@case(groups={"g": {"5": 20, str(2**64 - 1): 20}})
def unsigned_64_bit_categories(d: Path) -> dict[str, Any]:
    g = pa.array([2**64 - 1, 5] * 20, pa.uint64())
    return parquet(d, pa.Table.from_pandas(base(), preserve_index=False).append_column("g", g),
                   sf=("g",))  # fmt: skip


@case(groups={"b": {"False": 20, "True": 20}})
def boolean_categories(d: Path) -> dict[str, Any]:
    return parquet(d, base().assign(b=[True, False] * 20), sf=("b",))


@case(groups={"sex": {"F\x1b[2J": 20, "M\x1b]0;pwned\x07": 20}})
def escape_sequences_in_labels(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + "0,1,F\x1b[2J\n1,1,M\x1b]0;pwned\x07\n" * 20)


@case(groups={"sex[/]": {"[bold]F": 20, "M[/]": 20}})
def rich_markup_in_names_and_labels(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex[/]\n" + "0,1,[bold]F\n1,1,M[/]\n" * 20, ("sex[/]",))


@case(groups={"s\u202eex": {"F\u202e": 20, "M": 20}})
def bidi_overrides_in_names_and_labels(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,s\u202eex\n" + "0,1,F\u202e\n1,1,M\n" * 20, ("s\u202eex",))


@case(groups={"sex": {"F" * 120: 60, "M" * 120: 60}})
def long_labels(d: Path) -> dict[str, Any]:
    return csv(d, "y,p,sex\n" + f"0,1,{'F' * 120}\n1,1,{'M' * 120}\n" * 60)


# --- Running the cases -------------------------------------------------------------------------


def run_cli(folder: Path, table: dict[str, Any], engine: str) -> tuple[int, list[str]]:
    """``fairtrail run`` on the case: its exit code and its lines on standard error.

    A traceback fails the test here, whatever the exit code.
    """
    spec = folder / "s.toml"
    spec.write_text(toml(table, engine), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(spec), "--out", str(folder / "bundle"), "-q"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback: {result.exception!r}") from result.exception
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stderr.splitlines()


def toml(table: dict[str, Any], engine: str) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        text = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text) + '"'

    lines = ["[data]", *(f"{k} = {value(v)}" for k, v in table.items())]
    return "\n".join([*lines, "[audit]", f'engine = "{engine}"', "min_group_size = 1", ""])


def summary(result: AuditResult) -> dict[str, Any]:
    """What must agree between engines: groups, counts, every metric value, the labels."""

    def number(x: float | None) -> Any:
        return None if x is None else ("nan" if math.isnan(x) else round(x, 12))

    return {
        "rows": result.data.n_rows,
        "labels": (result.data.pos_label, tuple(result.data.labels)),
        "unknown": dict(result.data.unknown_counts),
        "groups": {
            a.name: [
                (g.group, g.count, {m: number(v.value) for m, v in sorted(g.metrics.items())})
                for g in a.groups
            ]
            for a in result.attributes
        },
    }


def audit(folder: Path, table: dict[str, Any], engine: str) -> AuditResult:
    spec = parse_spec(
        {"data": table, "audit": {"engine": engine, "min_group_size": 1}}, base_dir=folder
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_audit(spec)


@pytest.fixture
def written(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Case, Path, dict[str, Any]]:
    c: Case = request.param
    return c, tmp_path, c.write(tmp_path)


@pytest.mark.parametrize("written", CASES, ids=[c.name for c in CASES], indirect=True)
def test_every_engine_gives_the_same_answer(written: tuple[Case, Path, dict[str, Any]]) -> None:
    c, folder, table = written
    if c.error is not None:
        for engine in c.engines:
            code, lines = run_cli(folder, table, engine)
            assert (code, lines) == (2, [f"fairtrail: error: {c.error}"]), engine
            with pytest.raises(FairtrailError) as raised:  # the API: the same words
                audit(folder, table, engine)
            # A spec given as a dict has no file and no lines: '<spec>' names it instead.
            assert str(raised.value) == re.sub(r"^s\.toml:\d+: ", "<spec>: ", c.error), engine
        return
    answers = {engine: summary(audit(folder, table, engine)) for engine in c.engines}
    first = answers[c.engines[0]]
    for engine, answer in answers.items():
        assert answer == first, engine
    assert c.groups is not None
    by_hand = {name: {g: n for g, n, _ in groups if n} for name, groups in first["groups"].items()}
    assert {k: by_hand[k] for k in c.groups} == c.groups
    code, lines = run_cli(folder, table, c.engines[-1])  # and the command line runs it
    assert code in (0, 1), lines
    assert lines == []


def test_the_corpus_holds_at_least_sixty_cases() -> None:
    parametrized = 7 + 6  # the number spellings above
    assert len(CASES) + parametrized >= 60


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    try:
        from audit._engines._spark import spark_session
    except ImportError:  # `make check` installs pyspark (the dev extra) and Java
        pytest.fail("the Spark subset needs pyspark: pip install '.[dev]'", pytrace=False)
    session = spark_session()
    yield session
    session.stop()


SPARK_CASES = [c for c in CASES if c.spark]


@pytest.mark.slow
@pytest.mark.parametrize("c", SPARK_CASES, ids=[c.name for c in SPARK_CASES])
def test_spark_gives_the_same_answer(spark: Any, tmp_path: Path, c: Case) -> None:
    table = c.write(tmp_path)
    if c.error is not None:
        with pytest.raises(FairtrailError) as raised:
            audit(tmp_path, table, "spark")
        assert str(raised.value) == c.error
        return
    assert summary(audit(tmp_path, table, "spark")) == summary(audit(tmp_path, table, c.engines[0]))


def test_the_spark_subset_covers_every_kind() -> None:
    kinds = {"error" if c.error else "result" for c in SPARK_CASES}
    assert kinds == {"error", "result"}
    assert len(SPARK_CASES) >= 15


def test_missing_values_are_counted_per_column_in_the_notes(tmp_path: Path) -> None:
    # 20 'NA' regions declared missing (the group 'unknown'), 1 empty note of 40 rows.
    text = "y,p,region,note\n" + "0,1,NA,a\n1,1,EU,b\n" * 19 + "0,1,NA,\n1,1,EU,b\n"
    table = csv(tmp_path, text, ("region",), missing_values=["NA"])
    for engine in ENGINES:
        notes = [n for n in audit(tmp_path, table, engine).notes if n.startswith("Values read")]
        assert notes == [
            "Values read as missing, per column: 'region' 20 (the group 'unknown'), 'note' 1. "
            "Only empty fields, nulls and the spec's data.missing_values are missing; any other "
            "text is a value."
        ], engine
