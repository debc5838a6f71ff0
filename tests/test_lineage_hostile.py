"""Hostile inputs: no column of the input table crashes the lineage recorder.

A Parquet file may hold columns of any Arrow type — struct, list, map, dictionary, binary,
decimal, date, time, timestamp, duration, null, half float, uint64, extension types, nulls at
every depth — and columns with any name, whether the audit uses them or not. ``fairtrail run``
records lineage from the frame it read (in-memory engine) or from the file's footer and the
engine's counts (DuckDB); both must describe every column and never raise.

What lineage does with such columns (decided in ``lineage/_values.py`` and documented there):

- **schema**: every column, with a type string — the pandas dtype, or for columns pandas holds
  as Python objects the Parquet file's Arrow type (else the type Arrow infers from the
  values); the DuckDB path gives the file's Arrow types. Structs, lists, maps and unions get
  nested ``fields`` (a struct's fields, a list's element, a map's key and value).
- **row digest**: defined for every column. Nested values are digested as their canonical text
  (keys sorted, every element counted), marked apart from text columns.
- **group counts**: defined. A nested value is a group labelled by its canonical text.
- **quality**: nulls, counts and distinct values for every column (nested values by canonical
  text); minimum, maximum and sum for real numbers only.
- names: any text, duplicated (the first column describes the name where a mapping needs one
  key) or not text at all (``str`` of the label).

Tests that validate events against the official OpenLineage schemas skip, saying why, when
``../shared`` is absent.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import subprocess
import sys
import tempfile
import uuid
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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import FairtrailError, parse_spec
from fairtrail._provenance import RecordedAudit, audit_with_lineage
from fairtrail.cli import cli
from lineage import (
    RecordingTransport,
    SchemaStore,
    Tracker,
    composition,
    events_to_jsonl,
    read_events,
    row_digest,
    validate_events,
)

from _shared import SPEC, needs_spec

N = 12
ENGINES = ("memory", "duckdb")
POINT = pa.struct([("x", pa.int64())])


def _every(k: int, value: Callable[[int], Any]) -> list[Any]:
    """``value(i)`` for i in 0..N-1, None where i is a multiple of ``k``."""
    return [None if i % k == 0 else value(i) for i in range(N)]


@dataclass(frozen=True)
class Case:
    """A hostile column: its values, and how the in-memory path names its type.

    ``memory_type`` is what pandas holds after the audit's read (its dtype, or for Python
    objects the Parquet file's Arrow type); ``children`` the nested field names expected.
    """

    array: Callable[[], pa.Array]
    memory_type: str
    children: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    "struct": Case(
        lambda: pa.array(
            _every(4, lambda i: {"a": i, "b": str(i)}),
            pa.struct([("a", pa.int64()), ("b", pa.string())]),
        ),
        "struct<a: int64, b: string>",
        ("a", "b"),
    ),
    "list": Case(
        lambda: pa.array(_every(3, lambda i: [i, i + 1]), pa.list_(pa.int64())),
        "list<element: int64>",  # Parquet names a list's element "element"
        ("element",),
    ),
    "large_list": Case(
        lambda: pa.array(_every(5, lambda i: [str(i)]), pa.large_list(pa.string())),
        "large_list<element: string>",
        ("element",),
    ),
    "fixed_size_list": Case(
        lambda: pa.array([[i, -i] for i in range(N)], pa.list_(pa.int32(), 2)),
        "fixed_size_list<element: int32>[2]",
        ("element",),
    ),
    "map": Case(
        lambda: pa.array(
            _every(5, lambda i: [("k", i), ("j", None)]), pa.map_(pa.string(), pa.int64())
        ),
        "map<string, int64 ('extra')>",
        ("key", "value"),
    ),
    "list_of_struct": Case(
        lambda: pa.array(_every(4, lambda i: [{"x": i}, None]), pa.list_(POINT)),
        "list<element: struct<x: int64>>",
        ("element",),
    ),
    "map_of_struct": Case(
        lambda: pa.array(_every(3, lambda i: [("p", {"x": i})]), pa.map_(pa.string(), POINT)),
        "map<string, struct<x: int64> ('extra')>",
        ("key", "value"),
    ),
    "nested_nulls": Case(
        lambda: pa.array(
            [None, {"a": None}, {"a": []}, {"a": [None]}, {"a": [{"x": None}]}, {"a": [{"x": 1}]}]
            * (N // 6),
            pa.struct([("a", pa.list_(POINT))]),
        ),
        "struct<a: list<element: struct<x: int64>>>",
        ("a",),
    ),
    "all_null_struct": Case(lambda: pa.nulls(N, POINT), "struct<x: int64>", ("x",)),
    "dictionary_of_string": Case(
        lambda: pa.array(_every(6, lambda i: "ab"[i % 2])).dictionary_encode(), "category[str]"
    ),
    "dictionary_of_int": Case(
        lambda: pa.array(_every(6, lambda i: i % 3), pa.int64()).dictionary_encode(),
        "float64",  # pandas: ints with missing values
    ),
    "dictionary_of_date": Case(
        lambda: pa.array(
            _every(6, lambda i: dt.date(2024, 1, 1 + i % 2)), pa.date32()
        ).dictionary_encode(),
        "date32[day]",
    ),
    "binary": Case(
        lambda: pa.array(_every(4, lambda i: bytes([i, 0, 255])), pa.binary()), "binary"
    ),
    "large_binary": Case(
        lambda: pa.array(_every(4, lambda i: b"\0" * i), pa.large_binary()), "large_binary"
    ),
    "fixed_size_binary": Case(
        lambda: pa.array([bytes([i, i]) for i in range(N)], pa.binary(2)), "fixed_size_binary[2]"
    ),
    "decimal128": Case(
        lambda: pa.array(_every(4, lambda i: decimal.Decimal(i) / 4), pa.decimal128(10, 2)),
        "decimal128(10, 2)",
    ),
    "decimal256": Case(
        lambda: pa.array(
            _every(4, lambda i: decimal.Decimal(f"1{'0' * 30}{i}")), pa.decimal256(40, 0)
        ),
        "decimal256(40, 0)",
    ),
    "date32": Case(
        lambda: pa.array(_every(4, lambda i: dt.date(2024, 2, 1 + i)), pa.date32()), "date32[day]"
    ),
    "date64": Case(
        lambda: pa.array(_every(4, lambda i: dt.date(1900, 1, 1 + i)), pa.date64()),
        "date32[day]",  # Parquet stores dates as days
    ),
    "time32": Case(
        lambda: pa.array(_every(4, lambda i: dt.time(i, 30)), pa.time32("s")),
        "time32[ms]",  # Parquet's coarsest time unit
    ),
    "time64": Case(
        lambda: pa.array(_every(4, lambda i: dt.time(23, 59, 59, i)), pa.time64("ns")),
        "time64[ns]",
    ),
    "timestamp": Case(
        lambda: pa.array(_every(4, lambda i: dt.datetime(2024, 3, 1, i)), pa.timestamp("ms")),
        "datetime64[ms]",
    ),
    "timestamp_tz": Case(
        lambda: pa.array(
            _every(4, lambda i: dt.datetime(2024, 3, 1, i, tzinfo=dt.UTC)),
            pa.timestamp("us", tz="Asia/Kolkata"),
        ),
        "datetime64[us, Asia/Kolkata]",
    ),
    "timestamp_far": Case(
        lambda: pa.array(_every(4, lambda i: dt.datetime(3000 + i, 1, 1)), pa.timestamp("us")),
        "datetime64[us]",  # past pandas' nanosecond range
    ),
    "duration": Case(
        lambda: pa.array(_every(4, lambda i: dt.timedelta(days=i)), pa.duration("ms")),
        "timedelta64[ms]",
    ),
    "null": Case(lambda: pa.nulls(N), "null"),
    "float16": Case(
        lambda: pa.array(np.array([np.nan, 0.5, -2.0, 65504.0] * (N // 4), dtype=np.float16)),
        "float16",
    ),
    "uint64": Case(
        lambda: pa.array(_every(6, lambda i: 2**64 - i), pa.uint64()),
        "float64",  # pandas: uint64 with missing values
    ),
    "uuid": Case(
        lambda: pa.ExtensionArray.from_storage(
            pa.uuid(), pa.array(_every(4, lambda i: uuid.UUID(int=i).bytes), pa.binary(16))
        ),
        "extension<arrow.uuid>",
    ),
    "all_null_string": Case(lambda: pa.nulls(N, pa.string()), "category[object]"),
}

#: Types that Parquet cannot hold: they reach lineage only through a DataFrame.
FRAME_ONLY: dict[str, Callable[[], pa.Array]] = {
    "interval": lambda: pa.array(
        _every(3, lambda i: pa.MonthDayNano([i, -i, i * 1000])), pa.month_day_nano_interval()
    ),
    "sparse_union": lambda: pa.UnionArray.from_sparse(
        pa.array([i % 2 for i in range(N)], pa.int8()),
        [pa.array(range(N)), pa.array([str(i) for i in range(N)])],
    ),
}

NAMES = {
    "empty": "",
    "dots": "a.b.c",
    "quotes": 'it\'s "quoted" `x`',
    "newline": "two\nlines\r\n",
    "nul": "nul\0byte",
    "ansi": "\x1b[31mred\x1b[0m\x07",
    "bidi": "abc\u202edcba\u2066x\u2069",
    "long": "n" * 100_000,
    "placeholder": "<<non-serializable: int32>>",
}


def _table(extra: pa.Array | None = None, **more: pa.Array) -> pa.Table:
    """12 rows with text roles (y_true 1 in a third, y_pred 1 in two thirds, sex F/M)."""
    columns: dict[str, pa.Array] = {
        "y_true": pa.array(["1", "0", "0"] * (N // 3)),
        "y_pred": pa.array(["1", "1", "0"] * (N // 3)),
        "sex": pa.array(["F", "M"] * (N // 2)),
    }
    if extra is not None:
        columns["extra"] = extra
    return pa.table({**columns, **more})


def _spec(path: Path, engine: str) -> Any:
    return parse_spec(
        {
            "data": {
                "path": str(path),
                "y_true": "y_true",
                "y_pred": "y_pred",
                "sensitive_features": ["sex"],
                "pos_label": "1",
            },
            "audit": {"engine": engine},
            "policy": {"thresholds": {"demographic_parity_ratio": 0.8}},
        }
    )


def _audit(path: Path, engine: str) -> RecordedAudit:
    """What ``fairtrail run`` does, in process: audit the file and record its lineage."""
    return audit_with_lineage(_spec(path, engine), lambda _: path.parent / f"bundle-{engine}")


def _read_facets(recorded: RecordedAudit) -> dict[str, Any]:
    """The facets of the predictions read, on the run's COMPLETE event."""
    (read,) = recorded.events[-1]["inputs"]
    facets: dict[str, Any] = read["facets"]
    return facets


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], RecordedAudit]:
    """``audited(case, engine)``: the case's Parquet file audited once per engine (cached)."""
    root = tmp_path_factory.mktemp("hostile")

    @functools.cache
    def run(case: str, engine: str) -> RecordedAudit:
        folder = root / case
        path = folder / "predictions.parquet"
        if not path.exists():
            folder.mkdir()
            pq.write_table(_table(CASES[case].array()), path)
        return _audit(path, engine)

    return run


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore(SPEC)


def _field(facets: dict[str, Any], name: str) -> dict[str, Any]:
    (field,) = [f for f in facets["schema"]["fields"] if f["name"] == name]
    found: dict[str, Any] = field
    return found


# --- every type, through the path `fairtrail run` takes ----------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
def test_unused_column_of_any_type_is_described(
    audited: Callable[[str, str], RecordedAudit], case: str, engine: str
) -> None:
    recorded = audited(case, engine)
    assert recorded.bundle.is_dir()
    assert [e["eventType"] for e in recorded.events] == ["START", "COMPLETE"]
    facets = _read_facets(recorded)
    field = _field(facets, "extra")
    path = recorded.bundle.parent / "predictions.parquet"
    # The file's own type (pyarrow reads it from the footer) out of core; pandas' in memory.
    file_type = str(pq.read_schema(path).field("extra").type)
    assert field["type"] == (CASES[case].memory_type if engine == "memory" else file_type)
    assert tuple(f["name"] for f in field["fields"]) == CASES[case].children
    nulls = pq.read_table(path).column("extra").null_count
    metrics = facets["dataQualityMetrics"]["columnMetrics"]["extra"]
    if case != "float16":  # pandas counts NaN as missing, DuckDB does not: the engines' own
        assert metrics["nullCount"] == nulls
    assert facets["dataQualityMetrics"]["rowCount"] == N
    groups = facets["fairtrail_groupComposition"]["groups"]
    assert [(g["value"], g["count"]) for g in groups] == [("F", 6), ("M", 6)]


@needs_spec
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
def test_events_with_any_column_type_validate(
    audited: Callable[[str, str], RecordedAudit], store: SchemaStore, case: str, engine: str
) -> None:
    report = validate_events(audited(case, engine).events, store, strict=True)
    assert report.problems == ()


@pytest.mark.parametrize("case", list(CASES))
def test_row_digest_of_any_column_is_deterministic(
    audited: Callable[[str, str], RecordedAudit], tmp_path: Path, case: str
) -> None:
    first = _read_facets(audited(case, "memory"))["fairtrail_contentDigest"]
    path = audited(case, "memory").bundle.parent / "predictions.parquet"
    again = _read_facets(_audit(path, "memory"))["fairtrail_contentDigest"]
    assert first["rowDigest"] == again["rowDigest"]
    # The same table written again (new bytes, same values) gives the same row digest.
    copy = tmp_path / "copy.parquet"
    pq.write_table(pq.read_table(path), copy, compression="zstd")
    assert copy.read_bytes() != path.read_bytes()
    rewritten = _read_facets(_audit(copy, "memory"))["fairtrail_contentDigest"]
    assert rewritten["rowDigest"] == first["rowDigest"]
    assert rewritten["fileSha256"] != first["fileSha256"]
    # The column counts: the table without it has another digest.
    without = pq.read_table(path).drop_columns(["extra"]).to_pandas()
    assert row_digest(without) != first["rowDigest"]


@pytest.mark.parametrize(
    ("case", "arrow"),
    [
        pytest.param(case, arrow, id=f"{case}-{'arrow' if arrow else 'numpy'}")
        for case in [*CASES, *FRAME_ONLY]
        for arrow in (False, True)
        if arrow or case != "sparse_union"  # pandas holds a union only Arrow-backed
    ],
)
def test_group_counts_of_any_column_are_defined(case: str, arrow: bool) -> None:
    array = CASES[case].array() if case in CASES else FRAME_ONLY[case]()
    table = _table(array)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype if arrow else None)
    recorder = RecordingTransport()
    with Tracker("ns", recorder, sensitive_features=["extra", "sex"]).run("job") as run:
        frame = run.input(frame, name="predictions")
        run.step("head", frame, lambda d: d.iloc[: N // 2])
    (ref,) = run.inputs
    comp = ref.composition
    assert comp is not None
    # Every row is in one group of the feature; missing rows are the column's nulls.
    assert sum(comp.counts["extra"].values()) == N
    missing = 0 if case == "sparse_union" else array.null_count  # a union has no nulls of its own
    if case == "float16":
        missing = int(np.isnan(array.to_numpy(zero_copy_only=False)).sum())  # NaN is missing
    assert comp.counts["extra"].get(None, 0) == missing
    assert sum(comp.cells.values()) == N
    assert row_digest(frame) == row_digest(frame.copy(deep=True))
    assert [e["eventType"] for e in recorder.events] == ["START", "START", "COMPLETE", "COMPLETE"]


def test_struct_groups_are_labelled_by_canonical_text() -> None:
    # struct values {a: i, b: "i"} for i = 1..11 not a multiple of 4: nine groups of one row,
    # three missing rows (i = 0, 4, 8). Keys sorted, numbers bare, text quoted.
    comp = composition(_table(CASES["struct"].array()).to_pandas(), ["extra"])
    assert comp is not None
    counts = comp.counts["extra"]
    assert counts[None] == 3
    assert counts['{"a":1,"b":"1"}'] == 1
    assert len(counts) == 9 + 1


@needs_spec
@pytest.mark.parametrize("case", list(FRAME_ONLY))
def test_frame_only_types_validate(store: SchemaStore, case: str) -> None:
    frame = _table(FRAME_ONLY[case]()).to_pandas(types_mapper=pd.ArrowDtype)
    recorder = RecordingTransport()
    with Tracker("ns", recorder, sensitive_features=["extra"]).run("job") as run:
        run.input(frame, name="predictions")
    assert validate_events(recorder.events, store, strict=True).problems == ()


# --- names ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RecordedAudit]:
    """A Parquet file with an unused int column named by each hostile name, audited."""
    path = tmp_path_factory.mktemp("names") / "predictions.parquet"
    more = {name: pa.array(range(N)) for name in NAMES.values()}
    pq.write_table(_table(**more), path)
    return {engine: _audit(path, engine) for engine in ENGINES}


@pytest.mark.parametrize("engine", ENGINES)
def test_unused_columns_with_hostile_names_are_described(
    named: dict[str, RecordedAudit], engine: str
) -> None:
    facets = _read_facets(named[engine])
    fields = [f["name"] for f in facets["schema"]["fields"]]
    metrics = facets["dataQualityMetrics"]["columnMetrics"]
    assert len(fields) == 3 + len(NAMES)
    for name in NAMES.values():
        if name == "" and engine == "duckdb":
            continue  # DuckDB names an empty column itself; lineage records the engine's names
        assert name in fields
        assert metrics[name]["nullCount"] == 0
        if engine == "memory":
            assert _field(facets, name)["type"] == "int64"
    # The events file holds the names as written (JSON escapes, no raw control characters).
    line = events_to_jsonl(named[engine].events[-1:])
    assert b"\x1b" not in line
    assert b"\0" not in line
    assert json.loads(line)["inputs"][0]["facets"]["schema"]["fields"] == facets["schema"]["fields"]


@needs_spec
@pytest.mark.parametrize("engine", ENGINES)
def test_events_with_hostile_names_validate(
    named: dict[str, RecordedAudit], store: SchemaStore, engine: str
) -> None:
    assert validate_events(named[engine].events, store, strict=True).problems == ()


def _api_frames() -> dict[str, pd.DataFrame]:
    """DataFrames given through the API: names Parquet cannot carry, or not text at all."""
    nested = [{"k": i} for i in range(4)]
    return {
        "int_names": pd.DataFrame({0: ["F", "M"] * 2, 1: [1.5, None, 2.0, 3.0], "1": nested}),
        "duplicated": pd.DataFrame(
            [["F", 1, {"k": 1}], ["M", 2, {"k": 2}], ["F", 3, None], ["M", 4, {"k": 4}]],
            columns=["sex", "dup", "dup"],
        ),
        "duplicated_feature": pd.DataFrame(
            [["F", "x"], ["M", "y"], ["F", "x"], ["F", "y"]], columns=["sex", "sex"]
        ),
        "tuple_names": pd.DataFrame({("a", 1): [1, 2, 3, 4], ("a", "1"): nested}),
        "hostile_names": pd.DataFrame({name: nested for name in NAMES.values()}),
        "zero_rows": pd.DataFrame({"sex": pd.Series([], dtype=object), "s": []}),
        "no_columns": pd.DataFrame(index=range(3)),
    }


@pytest.mark.parametrize(("name", "frame"), list(_api_frames().items()))
def test_frames_through_the_api_are_recorded(name: str, frame: pd.DataFrame) -> None:
    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder, sensitive_features=["sex", "dup", "1"])
    with tracker.run("job") as run:
        frame = run.input(frame, name="given")
        run.step("copy", frame, lambda d: d.copy())
        run.step("head", frame, lambda d: d.iloc[:2])
    fields = recorder.events[-1]["inputs"][0]["facets"]["schema"]["fields"]
    assert [f["name"] for f in fields] == [str(c) for c in frame.columns]  # duplicates included
    (ref,) = run.inputs
    assert row_digest(frame) == row_digest(frame.copy(deep=True))
    if name == "duplicated_feature":  # a duplicated feature is counted on its first column
        assert ref.composition is not None
        assert dict(ref.composition.counts["sex"]) == {"F": 3, "M": 1}
    events = [e["eventType"] for e in recorder.events]
    assert events == ["START", "START", "COMPLETE", "START", "COMPLETE", "COMPLETE"]


@needs_spec
@pytest.mark.parametrize(("name", "frame"), list(_api_frames().items()))
def test_frames_through_the_api_validate(
    store: SchemaStore, name: str, frame: pd.DataFrame
) -> None:
    recorder = RecordingTransport()
    with Tracker("ns", recorder, sensitive_features=["sex", "dup"]).run("job") as run:
        frame = run.input(frame, name="given")
        run.step("head", frame, lambda d: d.iloc[:2])
    assert validate_events(recorder.events, store, strict=True).problems == ()


def test_a_lone_surrogate_in_a_name_or_value_is_recorded(tmp_path: Path) -> None:
    # Only a DataFrame can carry one (Parquet text is UTF-8); UTF-8 cannot encode it, nor
    # can Arrow hold it. Names are written escaped; values are digested with their bytes.
    path = tmp_path / "events.jsonl"
    columns = pd.Index(["bad\udc80", "g"], dtype=object)  # pandas' text index refuses it
    frame = pd.DataFrame([["x\udc80", "a\udc80"], ["y", "b"]], columns=columns, dtype=object)
    with Tracker("ns", path=path, sensitive_features=["g"]).run("job") as run:
        run.input(frame, name="given")
    assert b"\\udc80" in path.read_bytes()
    facets = read_events(path)[-1]["inputs"][0]["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]] == ["bad\udc80", "g"]
    assert [g["value"] for g in facets["fairtrail_groupComposition"]["groups"]] == ["a\udc80", "b"]
    clean = frame.replace({"x\udc80": "x"})
    assert row_digest(frame) == row_digest(frame.copy()) != row_digest(clean)


# --- digests: values that used to collide or be left out --------------------------------------


def test_a_change_deep_in_a_long_list_changes_the_digest() -> None:
    # numpy prints a 2000-element array as "[0 1 2 ... 1997 1998 1999]": a digest of that
    # text would not see an element in the middle change. Every element counts.
    values = np.arange(2000)
    changed = values.copy()
    changed[1000] = -1
    a = pd.DataFrame({"l": [values, None]})
    b = pd.DataFrame({"l": [changed, None]})
    assert str(values) == str(changed)
    assert row_digest(a) != row_digest(b)


def test_nested_values_digest_by_value_not_by_layout() -> None:
    # Dict key order, int vs whole float, list vs numpy array, numpy vs Arrow columns: equal
    # values, equal digests. A struct is not the text of its canonical form.
    a = pd.DataFrame({"s": [{"a": 1, "b": [1, 2]}, None]})
    b = pd.DataFrame({"s": [{"b": np.array([1.0, 2.0]), "a": 1.0}, None]})
    arrow = pa.table({"s": pa.array([{"a": 1, "b": [1, 2]}, None])}).to_pandas(
        types_mapper=pd.ArrowDtype
    )
    assert row_digest(a) == row_digest(b) == row_digest(arrow)
    text = pd.DataFrame({"s": ['{"a":1,"b":[1,2]}', None]})
    assert row_digest(a) != row_digest(text)
    assert row_digest(a) != row_digest(pd.DataFrame({"s": [{"a": 1, "b": [2, 1]}, None]}))


def test_uint64_past_int64_is_not_a_negative_int() -> None:
    # 2**64 - 1 has the bits of int64 -1; they are different numbers.
    big = pd.DataFrame({"n": np.array([2**64 - 1], dtype=np.uint64)})
    minus_one = pd.DataFrame({"n": np.array([-1], dtype=np.int64)})
    assert row_digest(big) != row_digest(minus_one)
    small = pd.DataFrame({"n": np.array([5], dtype=np.uint64)})
    assert row_digest(small) == row_digest(pd.DataFrame({"n": [5]}))  # unchanged below 2**63


def test_names_holding_nul_do_not_collide() -> None:
    # With each name written as "\1" name "\0" then the column's kind "n" (no rows, no
    # payload), both tables below would give the bytes \1 a \0 n \1 b \0 n \1 c \0 n \1 d \0 n:
    # 3 columns each, names sorted. A name holding NUL is written with its length instead.
    a = pd.DataFrame({"a": [], "b\0n\1c": [], "d": []}, dtype="int64")
    b = pd.DataFrame({"a\0n\1b": [], "c": [], "d": []}, dtype="int64")
    assert row_digest(a) != row_digest(b)


def test_digest_is_the_same_in_another_process() -> None:
    # Sets, dicts and hashing order differ between processes (PYTHONHASHSEED); the digest not.
    code = (
        "import pandas as pd; from lineage import row_digest; "
        "print(row_digest(pd.DataFrame({'s': [{'b': {'y', 'x', 'z'}, 'a': {1: 'u', 2: 'v'}}]})))"
    )
    root = Path(__file__).parents[1]
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
    (digest,) = digests
    assert len(digest) == 64


# --- the command line ------------------------------------------------------------------------


SPEC_TOML = """\
[data]
path = "predictions.parquet"
y_true = "y_true"
y_pred = "y_pred"
sensitive_features = ["sex"]
pos_label = "1"

[audit]

[policy]
[policy.thresholds]
demographic_parity_ratio = 0.8
"""


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    """``fairtrail run --engine E`` on a file with a struct and a list column nobody uses."""
    folder = tmp_path_factory.mktemp("cli")
    table = _table(
        point=CASES["struct"].array(),
        tags=CASES["list"].array(),
    )
    pq.write_table(table, folder / "predictions.parquet")
    (folder / "audit.toml").write_text(SPEC_TOML)
    runs = {}
    for engine in ENGINES:
        out = folder / f"bundle-{engine}"
        args = ["run", str(folder / "audit.toml"), "--out", str(out), "--engine", engine, "-q"]
        runs[engine] = (CliRunner().invoke(cli, args), out)
    return runs


@pytest.mark.parametrize("engine", ENGINES)
def test_cli_run_with_nested_columns_writes_a_bundle(
    cli_runs: dict[str, tuple[Any, Path]], engine: str
) -> None:
    result, out = cli_runs[engine]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    assert (out / "manifest.json").is_file()
    events = read_events(out / "lineage" / "events.jsonl")
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    fields = {f["name"]: f for f in events[-1]["inputs"][0]["facets"]["schema"]["fields"]}
    assert fields["point"]["type"] == "struct<a: int64, b: string>"
    assert [f["name"] for f in fields["point"]["fields"]] == ["a", "b"]
    assert fields["tags"]["type"] == "list<element: int64>"
    assert f"Lineage: 2 OpenLineage events in {out}" in result.output


@needs_spec
@pytest.mark.parametrize("engine", ENGINES)
def test_cli_run_with_nested_columns_events_validate(
    cli_runs: dict[str, tuple[Any, Path]], store: SchemaStore, engine: str
) -> None:
    _, out = cli_runs[engine]
    events = read_events(out / "lineage" / "events.jsonl")
    assert validate_events(events, store, strict=True).problems == ()


# --- random schemas (hypothesis) ------------------------------------------------------------

_NAMES = st.text(max_size=8)
_LEAVES: list[pa.DataType] = [
    pa.null(),
    pa.bool_(),
    pa.int8(),
    pa.int64(),
    pa.uint64(),
    pa.float16(),
    pa.float64(),
    pa.string(),
    pa.large_string(),
    pa.binary(),
    pa.binary(3),
    pa.decimal128(12, 3),
    pa.decimal256(45, 2),
    pa.date32(),
    pa.date64(),
    pa.time32("ms"),
    pa.time64("ns"),
    pa.timestamp("s"),
    pa.timestamp("ns", tz="UTC"),
    pa.duration("us"),
    pa.month_day_nano_interval(),
    pa.dictionary(pa.int16(), pa.string()),
]


def _nest(children: st.SearchStrategy[pa.DataType]) -> st.SearchStrategy[pa.DataType]:
    struct_fields = st.lists(
        st.tuples(_NAMES, children), min_size=1, max_size=3, unique_by=lambda f: f[0]
    )
    return st.one_of(
        children.map(pa.list_),
        children.map(pa.large_list),
        st.builds(pa.list_, children, st.integers(1, 2)),
        st.builds(pa.map_, st.sampled_from([pa.string(), pa.int32()]), children),
        struct_fields.map(lambda fs: pa.struct([pa.field(n, t) for n, t in fs])),
    )


ARROW_TYPES = st.recursive(st.sampled_from(_LEAVES), _nest, max_leaves=5)
_UTC = dt.UTC


def _values(t: pa.DataType) -> st.SearchStrategy[Any]:
    """Python values of Arrow type ``t`` (None anywhere a value may be missing)."""
    if pa.types.is_null(t):
        return st.none()
    if pa.types.is_boolean(t):
        inner: st.SearchStrategy[Any] = st.booleans()
    elif pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        inner = st.integers(int(info.min), int(info.max))
    elif pa.types.is_floating(t):
        inner = st.floats(width=16 if t == pa.float16() else 64)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        inner = st.text(max_size=4)
    elif pa.types.is_fixed_size_binary(t):
        inner = st.binary(min_size=t.byte_width, max_size=t.byte_width)
    elif pa.types.is_binary(t):
        inner = st.binary(max_size=4)
    elif pa.types.is_decimal(t):
        bound = 10**t.precision - 1
        inner = st.integers(-bound, bound).map(lambda k: decimal.Decimal(f"{k}E-{t.scale}"))
    elif pa.types.is_date(t):
        inner = st.dates()
    elif pa.types.is_time32(t):
        inner = st.times().map(lambda v: v.replace(microsecond=v.microsecond // 1000 * 1000))
    elif pa.types.is_time(t):
        inner = st.times()
    elif pa.types.is_timestamp(t):
        low, high = (dt.datetime(1700, 1, 1), dt.datetime(2200, 1, 1))
        if t.unit == "ns":
            low, high = dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)
        inner = st.datetimes(low, high).map(
            lambda v: v.replace(microsecond=0, tzinfo=_UTC if t.tz else None)
        )
    elif pa.types.is_duration(t):
        inner = st.timedeltas(dt.timedelta(days=-1000), dt.timedelta(days=1000))
    elif pa.types.is_interval(t):
        inner = st.tuples(
            st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1), st.integers()
        ).map(lambda v: pa.MonthDayNano([v[0], v[1], max(min(v[2], 2**63 - 1), -(2**63))]))
    elif pa.types.is_map(t):
        inner = st.lists(
            st.tuples(_values(t.key_type).filter(lambda k: k is not None), _values(t.item_type)),
            max_size=3,
        )
    elif pa.types.is_fixed_size_list(t):
        inner = st.lists(_values(t.value_type), min_size=t.list_size, max_size=t.list_size)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = st.lists(_values(t.value_type), max_size=3)
    elif pa.types.is_struct(t):
        inner = st.fixed_dictionaries({f.name: _values(f.type) for f in t})
    else:  # pragma: no cover - every type ARROW_TYPES draws is above
        raise AssertionError(f"no values for {t}")
    return st.none() | inner


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    """A table of 0-5 rows and 1-4 columns of random (nested) Arrow types and random names."""
    rows = draw(st.integers(0, 5))
    types = draw(st.lists(ARROW_TYPES, min_size=1, max_size=4))
    names = draw(st.lists(_NAMES, min_size=len(types), max_size=len(types)))  # may repeat
    arrays = [pa.array(draw(st.lists(_values(t), min_size=rows, max_size=rows)), t) for t in types]
    return pa.table(arrays, names=names)


_HAS_SPEC = (SPEC / "2-0-2" / "OpenLineage.json").is_file()


def _frames(table: pa.Table, parquet: Path | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """The table as pandas holds it: numpy-backed, Arrow-backed, and read back from Parquet.

    A conversion pyarrow refuses (a list of fixed-size binary to numpy, a map of nulls to an
    Arrow-backed column) is left out: no frame reaches the recorder that way.
    """
    readers: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        ("numpy", table.to_pandas),
        ("arrow", lambda: table.to_pandas(types_mapper=pd.ArrowDtype)),
    ]
    if parquet is not None:
        readers.append(("parquet", lambda: pq.ParquetFile(parquet).read().to_pandas()))
    for label, read in readers:
        try:
            frame = read()
        except pa.ArrowException:
            continue
        yield label, frame


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(table=tables(), data=st.data())
def test_recorder_never_raises_on_random_schemas(table: pa.Table, data: st.DataObject) -> None:
    features = data.draw(st.lists(st.sampled_from(table.column_names) | _NAMES, max_size=3))
    with tempfile.TemporaryDirectory() as folder:
        parquet: Path | None = Path(folder) / "random.parquet"
        try:
            pq.write_table(table, parquet)
        except pa.ArrowNotImplementedError:  # e.g. intervals: Parquet cannot hold them
            parquet = None
        frames = list(_frames(table, parquet))
        recorder = RecordingTransport()
        try:
            with Tracker("ns", recorder, sensitive_features=features).run("job") as run:
                for label, frame in frames:
                    path = parquet if label == "parquet" else None
                    frame = run.input(frame, path=path, name=f"in_{label}")
                    head = run.step(f"head_{label}", frame, lambda d: d.iloc[:2])
                    run.output(head, name=f"out_{label}")
        except FairtrailError:
            pass  # a refusal lineage names is allowed; any other exception fails the test
        for label, frame in frames:
            assert row_digest(frame) == row_digest(frame.copy(deep=True)), label
        if frames and frames[-1][0] == "parquet":  # read twice, digested alike
            again = pq.ParquetFile(parquet).read().to_pandas()
            assert row_digest(frames[-1][1]) == row_digest(again)
    if _HAS_SPEC:
        report = validate_events(recorder.events, _store(), strict=True)
        assert report.problems == ()


@functools.cache
def _store() -> SchemaStore:
    return SchemaStore(SPEC)
