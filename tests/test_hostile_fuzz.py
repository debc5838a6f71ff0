"""Fuzzing the file boundary: random CSV bytes and random Parquet schemas.

Whatever the bytes or the types, an audit either succeeds or raises a fairtrail error — never
another exception — and the in-memory and DuckDB engines give the same groups and numbers or
the same error, word for word.
"""

from __future__ import annotations

import datetime
import decimal
import math
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import AuditResult, FairtrailError, parse_spec, run_audit

#: Fields that have broken a reader somewhere: quotes, NUL, bytes that are not UTF-8, line
#: breaks, the strings some readers take as missing, numbers in odd spellings.
FIXTURE = [HealthCheck.function_scoped_fixture]
TOKENS = [b"0", b"1", b"F", b"M", b"NA", b"", b'"', b'""', b"\x00", b"\xff", b"\xc3\xa9",
          b"True", b"false", b" 1", b"1e400", b"nan", b"\r", b"\n", b'"a\nb"', b'"x,y"',
          b"null", b"-0", b"0.5", b"\x1b[2J"]  # fmt: skip


def outcome(folder: Path, data: dict[str, Any], engine: str) -> Any:
    """The audit's groups and values, or its error's text; anything else fails the test."""
    spec = parse_spec(
        {"data": data, "audit": {"engine": engine, "min_group_size": 1}}, base_dir=folder
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_audit(spec)
    except FairtrailError as exc:
        text = str(exc)
        assert "\n" not in text.strip() or "\\n" in repr(text), text  # one line
        return ("error", text)
    return ("result", summary(result))


def summary(result: AuditResult) -> Any:
    def number(x: float) -> Any:
        return "nan" if math.isnan(x) else round(x, 12)

    def group(g: Any) -> Any:
        return (g.group, g.count, sorted((k, number(v.value)) for k, v in g.metrics.items()))

    return [(a.name, [group(g) for g in a.groups]) for a in result.attributes]


def agree(folder: Path, data: dict[str, Any]) -> None:
    memory = outcome(folder, data, "memory")
    duckdb = outcome(folder, data, "duckdb")
    assert memory == duckdb


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.lists(st.sampled_from(TOKENS), min_size=2, max_size=5).map(lambda f: b",".join(f)),
        min_size=0,
        max_size=12,
    ),
    filler=st.integers(min_value=0, max_value=30),
)
def test_csv_bytes(tmp_path_factory: Any, rows: list[bytes], filler: int) -> None:
    folder = tmp_path_factory.mktemp("csv")
    good = b"0,1,F,0.2\n1,1,M,0.7\n" * filler
    (folder / "x.csv").write_bytes(b"y,p,sex,s\n" + good + b"\n".join(rows) + b"\n")
    data = {"path": "x.csv", "y_true": "y", "y_pred": "p", "sensitive_features": ["sex"]}
    agree(folder, data)
    agree(folder, {**data, "y_score": "s", "score_type": "score"})


def _values(kind: str, n: int) -> pa.Array:
    """``n`` values of a column of one kind (each alternating between two values or null)."""
    two: dict[str, tuple[list[Any], pa.DataType]] = {
        "int": ([0, 1], pa.int64()),
        "int8": ([0, 1], pa.int8()),
        "uint64": ([1, 2**64 - 1], pa.uint64()),
        "float": ([0.0, 1.0], pa.float64()),
        "float32": ([0.25, 0.75], pa.float32()),
        "float_nan": ([0.0, float("nan")], pa.float64()),
        "bool": ([False, True], pa.bool_()),
        "text": (["a", "b"], pa.string()),
        "large_text": (["0", "1"], pa.large_string()),
        "null_text": (["a", None], pa.string()),
        "null": ([None, None], pa.null()),
        "timestamp": (
            [datetime.datetime(2021, 1, 1), datetime.datetime(2022, 1, 1)],
            pa.timestamp("us", tz="UTC"),
        ),
        "date": ([datetime.date(2021, 1, 1), datetime.date(2022, 1, 1)], pa.date32()),
        "struct": ([{"a": 1}, {"a": 2}], pa.struct([("a", pa.int64())])),
        "list": ([[1], [2, 3]], pa.list_(pa.int64())),
        "map": ([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64())),
        "binary": ([b"0", b"1"], pa.binary()),
        "decimal": ([decimal.Decimal("0.10"), decimal.Decimal("0.90")], pa.decimal128(4, 2)),
    }
    values, arrow_type = two[kind]
    array = pa.array([values[i % 2] for i in range(n)], arrow_type)
    return array


KINDS = ["int", "int8", "uint64", "float", "float32", "float_nan", "bool", "text", "large_text",
         "null_text", "null", "timestamp", "date", "struct", "list", "map", "binary", "decimal",
         "dict_text"]  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=5, max_size=5), n=st.integers(1, 30))
def test_parquet_schemas(tmp_path_factory: Any, kinds: list[str], n: int) -> None:
    folder = tmp_path_factory.mktemp("parquet")
    columns = {}
    for name, kind in zip(["y", "p", "g", "s", "extra"], kinds, strict=True):
        if kind == "dict_text":
            columns[name] = _values("text", n).dictionary_encode()
        else:
            columns[name] = _values(kind, n)
    pq.write_table(pa.table(columns), folder / "x.parquet")
    data = {"path": "x.parquet", "y_true": "y", "y_pred": "p", "sensitive_features": ["g"]}
    agree(folder, data)
    agree(folder, {**data, "y_score": "s", "score_type": "score"})
