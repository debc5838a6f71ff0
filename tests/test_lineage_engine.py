"""Recording inputs an engine counted out of core: ``TrackedRun.input_files``.

No row of the files is read for provenance: the digest is the file's sha256 (one small file)
or the file-list digest (names, sizes, times, Parquet footers); the schema, quality and group
facets come from the engine's counts. The group facet must equal what an in-memory read of
the same data records. Events validate against the official OpenLineage schemas and the
shipped facet schemas when ../shared is present.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openlineage.client.serde import Serde

from audit import count_statistics, load_spec, prepare_data
from audit._engines import Counted, InputFiles, Roles, count_files, find_files
from fairtrail._provenance import audit_with_lineage
from lineage import (
    FILE_LIST_ALGORITHM,
    Composition,
    DatasetRef,
    RecordingTransport,
    SchemaStore,
    Tracker,
    composition,
    file_list_digest,
    file_list_entries,
    file_sha256,
    read_events,
    validate_events,
)

from _shared import SPEC, needs_spec

Count = Callable[..., tuple[InputFiles, Counted]]
FEATURES = ("sex", "race")


def _predictions() -> pd.DataFrame:
    """30 rows, text labels. Missing values in both features; "unknown" is also a real value.

    sex:  F 10, M 9, None 6, "unknown" 5            race: A 15, B 11, None 4
    rows 0-9 F/A, 10-18 M/B, 19-21 None/A, 22-23 None/None, 24 None/B,
    25-26 "unknown"/A, 27-28 "unknown"/None, 29 "unknown"/B
    """
    sex = ["F"] * 10 + ["M"] * 9 + [None] * 6 + ["unknown"] * 5
    race = ["A"] * 10 + ["B"] * 9 + ["A"] * 3 + [None] * 2 + ["B"] + ["A"] * 2 + [None] * 2
    race += ["B"]
    return pd.DataFrame(
        {
            "y_true": ["1", "0", "0"] * 10,
            "y_pred": ["1", "1", "0"] * 10,
            "sex": pd.array(sex, dtype=object),
            "race": pd.array(race, dtype=object),
        }
    )


def _write_parts(frame: pd.DataFrame, folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(frame) // n)
    paths = []
    for i in range(n):
        path = folder / f"part-{i:05d}.parquet"
        frame.iloc[i * size : (i + 1) * size].to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture
def count() -> Count:
    """``count(spec)`` → the files of ``spec`` and what DuckDB counted in them."""

    def run(spec: str | Path, features: tuple[str, ...] = FEATURES) -> tuple[InputFiles, Counted]:
        inputs = find_files(spec)
        roles = Roles("y_true", "y_pred", features, pos_label="1")
        return inputs, count_files(inputs, roles, "duckdb")

    return run


def _record(inputs: InputFiles, counted: Counted, **kwargs: Any) -> tuple[DatasetRef, list[Any]]:
    recorder = RecordingTransport()
    with Tracker("ns", recorder, sensitive_features=FEATURES).run("audit") as run:
        ref = run.input_files(inputs, counted, **kwargs)
    return ref, recorder.events


def _facet(ref: DatasetRef, name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(Serde.to_json(ref.facets[name]))
    return out


# --- digests --------------------------------------------------------------------------------


def test_one_small_file_is_digested_whole(tmp_path: Path, count: Count) -> None:
    path = tmp_path / "predictions.parquet"
    _predictions().to_parquet(path, index=False)
    ref, _ = _record(*count(path))
    raw = path.read_bytes()
    digest = _facet(ref, "fairtrail_contentDigest")
    assert digest["fileSha256"] == hashlib.sha256(raw).hexdigest() == file_sha256(path)
    assert digest["bytes"] == len(raw)
    assert not {"fileListSha256", "fileListAlgorithm", "files"} & set(digest)
    # Named and versioned as the same file read in memory: the lineage graph connects them.
    with Tracker("ns", RecordingTransport()).run("read") as run:
        run.input(pd.read_parquet(path), path=path)
    (in_memory,) = run.inputs
    assert (ref.namespace, ref.name, ref.version) == (
        "file",
        str(path.resolve()),
        digest["fileSha256"],
    )
    assert (in_memory.namespace, in_memory.name, in_memory.version) == (
        ref.namespace,
        ref.name,
        ref.version,
    )


def test_a_file_above_the_limit_gets_the_file_list_digest(
    tmp_path: Path, count: Count, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "predictions.parquet"
    _predictions().to_parquet(path, index=False)
    monkeypatch.setattr("lineage._tracker.MAX_FILE_SHA256_BYTES", path.stat().st_size - 1)
    ref, _ = _record(*count(path))
    digest = _facet(ref, "fairtrail_contentDigest")
    assert "fileSha256" not in digest  # not read: the point of the limit
    assert digest["fileListSha256"] == file_list_digest([path], parquet=True) == ref.version
    assert (digest["fileListAlgorithm"], digest["files"]) == (FILE_LIST_ALGORITHM, 1)
    assert digest["bytes"] == path.stat().st_size


def test_file_list_digest_follows_its_definition(tmp_path: Path) -> None:
    # The definition in the docstring, computed here from os.stat and the raw footer bytes.
    parts = tmp_path / "parts"
    (parts / "b").mkdir(parents=True)
    files = [parts / "a.csv", parts / "b" / "c.csv"]
    files[0].write_text("y_true,y_pred\n1,0\n")
    files[1].write_text("y_true,y_pred\n1,1\n0,0\n")
    entries = [
        {"path": p.relative_to(parts).as_posix(), "bytes": p.stat().st_size,
         "mtime_ns": p.stat().st_mtime_ns}
        for p in files
    ]  # fmt: skip
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":"))
    assert file_list_digest(files) == hashlib.sha256(canonical.encode()).hexdigest()

    (part,) = _write_parts(_predictions().iloc[:7], tmp_path / "pq", n=1)
    raw = part.read_bytes()
    footer_length = int.from_bytes(raw[-8:-4], "little")
    assert raw[-4:] == b"PAR1"
    (entry,) = file_list_entries([part], parquet=True)
    assert entry["path"] == "part-00000.parquet"
    assert (entry["bytes"], entry["num_rows"], entry["num_row_groups"]) == (len(raw), 7, 1)
    assert entry["created_by"].startswith("parquet-cpp-arrow")
    schema = [line.split(": ") for line in entry["schema"].splitlines()]
    assert [name for name, _ in schema] == ["y_true", "y_pred", "sex", "race"]  # no metadata
    assert {kind for _, kind in schema} <= {"string", "large_string"}
    footer = raw[-8 - footer_length : -8]
    assert entry["footer_sha256"] == hashlib.sha256(footer).hexdigest()


def test_folder_digest_is_stable_and_changes_with_its_parts(tmp_path: Path, count: Count) -> None:
    folder = tmp_path / "parts"
    paths = _write_parts(_predictions(), folder)
    first, _ = _record(*count(folder))
    again, _ = _record(*count(folder))
    digest = _facet(first, "fairtrail_contentDigest")
    assert digest == _facet(again, "fairtrail_contentDigest")
    assert (digest["fileListAlgorithm"], digest["files"]) == (FILE_LIST_ALGORITHM, 3)
    assert digest["bytes"] == sum(p.stat().st_size for p in paths)
    assert digest["fileListSha256"] == file_list_digest(paths, parquet=True) == first.version
    assert "fileSha256" not in digest
    assert first.name == str(folder.resolve())

    # A part replaced by other rows (another size and footer), its time put back.
    before = paths[1].stat()
    replaced = _predictions().iloc[10:18].copy()
    replaced.loc[replaced.index[0], "race"] = "Z"  # another maximum in the footer's statistics
    replaced.to_parquet(paths[1], index=False)
    os.utime(paths[1], ns=(before.st_atime_ns, before.st_mtime_ns))
    changed, _ = _record(*count(folder))
    assert _facet(changed, "fairtrail_contentDigest")["fileListSha256"] != digest["fileListSha256"]
    footers = [e["footer_sha256"] for e in file_list_entries(paths, parquet=True)]
    assert len(set(footers)) == 3

    # A part added.
    _predictions().iloc[:5].to_parquet(folder / "part-00003.parquet", index=False)
    added, _ = _record(*count(folder))
    added_digest = _facet(added, "fairtrail_contentDigest")
    assert added_digest["files"] == 4
    assert added_digest["fileListSha256"] not in {
        digest["fileListSha256"],
        _facet(changed, "fairtrail_contentDigest")["fileListSha256"],
    }


def test_same_size_edit_keeping_the_time_is_not_detected(tmp_path: Path) -> None:
    # The documented limit: the file-list digest does not read the bytes.
    files = [tmp_path / "part-0.csv", tmp_path / "part-1.csv"]
    for f in files:
        f.write_text("y_true,y_pred\n1,0\n")
    before = file_list_digest(files)
    stat = files[1].stat()
    files[1].write_text("y_true,y_pred\n0,0\n")  # same size, another label
    os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_list_digest(files) == before
    files[1].write_text("y_true,y_pred\n0,0\n")  # a new modification time is detected
    os.utime(files[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert file_list_digest(files) != before


def test_glob_is_named_with_its_folder_resolved(
    tmp_path: Path, count: Count, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _write_parts(_predictions(), tmp_path / "parts")
    monkeypatch.chdir(tmp_path)
    ref, _ = _record(*count("parts/part-*.parquet"))
    assert ref.name == f"{tmp_path.resolve()}/parts/part-*.parquet"
    assert ref.version == file_list_digest(paths, parquet=True)


# --- schema, quality and groups from the counts ------------------------------------------------


def test_group_composition_equals_the_in_memory_facet(tmp_path: Path, count: Count) -> None:
    path = tmp_path / "predictions.parquet"
    _predictions().to_parquet(path, index=False)
    ref, _ = _record(*count(path))
    recorder = RecordingTransport()
    with Tracker("ns", recorder, sensitive_features=FEATURES).run("read") as run:
        run.input(pd.read_parquet(path), path=path)
    (in_memory,) = run.inputs
    facet = _facet(ref, "fairtrail_groupComposition")
    assert facet == _facet(in_memory, "fairtrail_groupComposition")
    # By hand (see _predictions): "unknown" rows and missing rows are separate groups.
    groups = {(g["feature"], g.get("value")): g["count"] for g in facet["groups"]}
    assert groups == {
        ("sex", "F"): 10, ("sex", "M"): 9, ("sex", "unknown"): 5, ("sex", None): 6,
        ("race", "A"): 15, ("race", "B"): 11, ("race", None): 4,
    }  # fmt: skip
    assert [g for g in facet["groups"] if "value" not in g] == [
        {"feature": "sex", "count": 6, "missing": True, "share": 6 / 30},
        {"feature": "race", "count": 4, "missing": True, "share": 4 / 30},
    ]
    cells = {tuple(c["values"].get(f) for f in FEATURES): c["count"] for c in facet["cells"]}
    assert cells == {
        ("F", "A"): 10, ("M", "B"): 9, (None, "A"): 3, (None, None): 2, (None, "B"): 1,
        ("unknown", "A"): 2, ("unknown", None): 2, ("unknown", "B"): 1,
    }  # fmt: skip
    assert "cellsTruncated" not in facet

    # Quality: rows and nulls per column as pandas counts them; schema: the file's columns.
    quality = _facet(ref, "dataQualityMetrics")
    nulls = pd.read_parquet(path).isna().sum()
    assert (quality["rowCount"], quality["bytes"]) == (30, path.stat().st_size)
    assert {c: m["nullCount"] for c, m in quality["columnMetrics"].items()} == nulls.to_dict()
    assert quality["columnMetrics"]["sex"]["count"] == 24
    fields = _facet(ref, "schema")["fields"]
    assert [f["name"] for f in fields] == ["y_true", "y_pred", "sex", "race"]
    assert all(f["type"] in ("string", "large_string") for f in fields)


def test_two_features_mixing_missing_and_unknown_leave_their_cell_out() -> None:
    # The cell (unknown, unknown) holds 4 rows: sex missing in 2, race missing in 2; which rows
    # miss both is not in the statistics. Groups stay exact; that cell is left out.
    frame = pd.DataFrame(
        {
            "sex": ["F", "F", None, "unknown", None, "unknown"],
            "race": ["A", None, "unknown", None, None, "unknown"],
            "y": [1, 0, 1, 0, 1, 0],
            "p": [1, 0, 1, 0, 1, 0],
        }
    )
    stats = count_statistics(
        prepare_data(frame, y_true="y", y_pred="p", sensitive_features=["sex", "race"])
    )
    got = Composition.from_statistics(stats)
    want = composition(frame, ["sex", "race"])
    assert got is not None
    assert want is not None
    assert got.counts == want.counts
    assert got.rows == want.rows == 6
    assert got.cells == {("F", "A"): 1, ("F", None): 1}
    assert {k: n for k, n in want.cells.items() if k[0] == "F"} == got.cells
    assert got.cells_truncated
    assert not want.cells_truncated
    assert got.to_facet().cellsTruncated is True


def test_features_are_those_of_the_tracker() -> None:
    frame = _predictions()
    stats = count_statistics(
        prepare_data(frame, y_true="y_true", y_pred="y_pred", sensitive_features=["sex", "race"],
                     pos_label="1")
    )  # fmt: skip
    only_race = Composition.from_statistics(stats, ["race", "age"])
    assert only_race == composition(frame, ["race", "age"])
    assert only_race is not None
    assert only_race.absent == ("age",)
    assert Composition.from_statistics(stats, ["y_true"]) is None  # a column, not counted


# --- validation and the audit end to end ----------------------------------------------------


@needs_spec
def test_events_validate_strictly(tmp_path: Path, count: Count) -> None:
    single = tmp_path / "one.parquet"
    _predictions().to_parquet(single, index=False)
    _write_parts(_predictions(), tmp_path / "parts")
    csv_parts = tmp_path / "csv"
    csv_parts.mkdir()
    _predictions().iloc[:15].to_csv(csv_parts / "a.csv", index=False)
    _predictions().iloc[15:].to_csv(csv_parts / "b.csv", index=False)
    events = []
    for spec in (single, tmp_path / "parts", str(tmp_path / "parts" / "*.parquet"), csv_parts):
        _, recorded = _record(*count(spec), owner="risk", licence="CC0", description="d")
        events += recorded
    store = SchemaStore(SPEC)
    assert validate_events(events, store, strict=True).problems == ()
    digest = events[-1]["inputs"][0]["facets"]["fairtrail_contentDigest"]
    assert "/facets/1-1-0/ContentDigestDatasetFacet.json" in digest["_schemaURL"]
    assert events[-1]["inputs"][0]["facets"]["schema"]["fields"][0] == {
        "name": "y_true",
        "fields": [],
    }  # CSV: named, not typed

    # Bundles written before 1-1-0 name the old schema and still validate against it; the new
    # fields are refused there, and the new schema wants the algorithm with the digest.
    old = json.loads(json.dumps(events[1]))
    old_digest = old["inputs"][0]["facets"]["fairtrail_contentDigest"]
    old_digest["_schemaURL"] = old_digest["_schemaURL"].replace("1-1-0", "1-0-0")
    assert validate_events([old], store).problems == ()
    listed = json.loads(json.dumps(events[3]))
    listed["inputs"][0]["facets"]["fairtrail_contentDigest"]["_schemaURL"] = old_digest[
        "_schemaURL"
    ]
    assert validate_events([listed], store).problems != ()
    lacking = json.loads(json.dumps(events[3]))
    del lacking["inputs"][0]["facets"]["fairtrail_contentDigest"]["fileListAlgorithm"]
    (problem,) = validate_events([lacking], store).problems
    assert "fileListAlgorithm" in problem.message


SPEC_TOML = """\
[data]
path = "parts"
y_true = "y_true"
y_pred = "y_pred"
pos_label = "1"
sensitive_features = ["sex", "race"]

[audit]
engine = "duckdb"

[policy]
name = "test policy"
version = "1"
[policy.thresholds]
demographic_parity_ratio = 0.8

[lineage]
namespace = "credit"
"""


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """One audit of a folder of three Parquet parts with DuckDB, through the lineage recorder."""
    tmp_path = tmp_path_factory.mktemp("audited")
    parts = _write_parts(pd.concat([_predictions()] * 4, ignore_index=True), tmp_path / "parts")
    (tmp_path / "audit.toml").write_text(SPEC_TOML)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics of small cells
        audit_with_lineage(load_spec(tmp_path / "audit.toml"), lambda r: tmp_path / "bundle")
    return tmp_path, parts


def test_audit_with_duckdb_records_the_folder(audited: tuple[Path, list[Path]]) -> None:
    import duckdb

    folder, parts = audited
    events = read_events(folder / "bundle" / "lineage" / "events.jsonl")
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("audit.audit", "START"),
        ("audit.audit", "COMPLETE"),
    ]
    (read,) = events[-1]["inputs"]
    assert (read["namespace"], read["name"]) == ("file", str((folder / "parts").resolve()))
    digest = read["facets"]["fairtrail_contentDigest"]
    assert digest["fileListSha256"] == file_list_digest(parts, parquet=True)
    assert (digest["fileListAlgorithm"], digest["files"]) == (FILE_LIST_ALGORITHM, 3)
    assert read["facets"]["version"]["datasetVersion"] == digest["fileListSha256"]
    assert read["facets"]["dataQualityMetrics"]["rowCount"] == 120
    groups = {
        (g["feature"], g.get("value")): g["count"]
        for g in read["facets"]["fairtrail_groupComposition"]["groups"]
    }
    assert (groups[("sex", "unknown")], groups[("sex", None)]) == (20, 24)  # 4 × (5, 6)
    engine = events[-1]["run"]["facets"]["processing_engine"]
    assert (engine["name"], engine["version"]) == ("duckdb", duckdb.__version__)
    assert events[0]["run"]["facets"]["processing_engine"]["name"] == "fairtrail"  # START


@needs_spec
def test_audit_with_duckdb_events_validate(audited: tuple[Path, list[Path]]) -> None:
    folder, _ = audited
    events = read_events(folder / "bundle" / "lineage" / "events.jsonl")
    assert validate_events(events, SchemaStore(SPEC), strict=True).problems == ()
