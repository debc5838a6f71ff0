"""Recording provenance with ``Tracker``: events, digests, group effects, failures.

Events go to the in-memory ``RecordingTransport``; every event type is validated strictly
against the official schemas (and fairtrail's own facet schemas) when ../shared is present.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openlineage.client.serde import Serde

from lineage import (
    JsonlFileTransport,
    LineageError,
    RecordingTransport,
    SchemaStore,
    Tracker,
    composition,
    read_events,
    row_digest,
    step_effect,
    validate_events,
)

from _shared import SPEC, needs_spec


def _frame() -> pd.DataFrame:
    # Group a: 1000 rows, 100 with x missing; group b: 1000 rows, 10 with x missing.
    return pd.DataFrame(
        {
            "g": ["a"] * 1000 + ["b"] * 1000,
            "x": [np.nan] * 100 + [1.0] * 900 + [2.0] * 990 + [np.nan] * 10,
            "y": np.arange(2000),
        }
    )


def _facets(dataset: dict[str, Any]) -> dict[str, Any]:
    facets: dict[str, Any] = dataset["facets"]
    return facets


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[RecordingTransport, Any, Path]:
    raw_path = tmp_path / "raw.csv"
    _frame().to_csv(raw_path, index=False)
    recorder = RecordingTransport()
    tracker = Tracker("test-ns", recorder, sensitive_features=["g"])
    with tracker.run("prepare", description="Prepare the data.", owners=["team-a"]) as run:
        raw = run.read_csv(raw_path, owner="data-team", source="census", licence="CC BY 4.0")
        clean = run.step("drop_missing", raw, lambda d: d.dropna())
        train, _test = run.step(
            "split", clean, lambda d: (d.iloc[::2], d.iloc[1::2]), outputs=["train", "test"]
        )
        run.write_parquet(train, tmp_path / "train.parquet")
    return recorder, run, tmp_path


def test_events_in_order_with_parent_links(recorded: tuple[RecordingTransport, Any, Path]) -> None:
    recorder, run, _ = recorded
    seen = [(e["job"]["name"], e["eventType"]) for e in recorder.events]
    assert seen == [
        ("prepare", "START"),
        ("prepare.drop_missing", "START"),
        ("prepare.drop_missing", "COMPLETE"),
        ("prepare.split", "START"),
        ("prepare.split", "COMPLETE"),
        ("prepare.write_train.parquet", "START"),
        ("prepare.write_train.parquet", "COMPLETE"),
        ("prepare", "COMPLETE"),
    ]
    parent_id = recorder.events[0]["run"]["runId"]
    assert recorder.events[-1]["run"]["runId"] == parent_id == run.run_id
    for event in recorder.events[1:-1]:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent_id
        assert (parent["job"]["namespace"], parent["job"]["name"]) == ("test-ns", "prepare")
        assert event["run"]["runId"] != parent_id
    for event in recorder.events:
        assert event["eventTime"].endswith("+00:00")  # timezone-aware UTC
        assert event["producer"].startswith("https://pypi.org/project/fairtrail/")
    assert recorder.events[0]["outputs"] == []  # START: nothing written yet
    job_facets = recorder.events[0]["job"]["facets"]
    assert job_facets["documentation"]["description"] == "Prepare the data."
    assert job_facets["ownership"]["owners"] == [{"name": "team-a"}]


def test_step_effect_per_group(recorded: tuple[RecordingTransport, Any, Path]) -> None:
    recorder, run, _ = recorded
    drop = recorder.events[2]
    effect = drop["run"]["facets"]["fairtrail_stepEffect"]
    rates = {g["value"]: g["removedRate"] for g in effect["groups"]}
    assert rates == pytest.approx({"a": 100 / 1000, "b": 10 / 1000})
    assert effect["flagged"] is True
    (flag,) = effect["flags"]
    assert (flag["highestValue"], flag["lowestValue"]) == ("a", "b")
    assert flag["gap"] == pytest.approx(0.09)
    # The split sends alternate rows of the 1,890 kept to train: 450 of a's 900, 495 of b's 990.
    split = recorder.events[4]["run"]["facets"]["fairtrail_stepEffect"]
    train = {g["value"]: g["rowsOut"] for g in split["groups"] if g["output"] == "train"}
    assert train == {"a": 450, "b": 495}
    assert split["flagged"] is False
    assert [e.step for e in run.effects] == ["drop_missing", "split"]


def test_datasets_carry_digests_schema_owner_and_groups(
    recorded: tuple[RecordingTransport, Any, Path],
) -> None:
    recorder, _, tmp_path = recorded
    complete = recorder.events[-1]
    (raw,) = complete["inputs"]
    assert raw["namespace"] == "file"
    assert raw["name"] == str((tmp_path / "raw.csv").resolve())
    f = _facets(raw)
    raw_bytes = (tmp_path / "raw.csv").read_bytes()
    assert f["version"]["datasetVersion"] == hashlib.sha256(raw_bytes).hexdigest()
    assert f["fairtrail_contentDigest"]["fileSha256"] == hashlib.sha256(raw_bytes).hexdigest()
    assert f["fairtrail_contentDigest"]["rowDigest"] == row_digest(
        pd.read_csv(tmp_path / "raw.csv")
    )
    assert [x["name"] for x in f["schema"]["fields"]] == ["g", "x", "y"]
    assert f["dataQualityMetrics"]["rowCount"] == 2000
    assert f["dataQualityMetrics"]["columnMetrics"]["x"]["nullCount"] == 110
    assert f["ownership"]["owners"] == [{"name": "data-team"}]
    assert f["dataSource"]["name"] == "census"
    assert f["tags"]["tags"][0] == {"key": "licence", "value": "CC BY 4.0", "source": "USER"}
    groups = {g["value"]: g["count"] for g in f["fairtrail_groupComposition"]["groups"]}
    assert groups == {"a": 1000, "b": 1000}
    (written,) = complete["outputs"]
    train_bytes = (tmp_path / "train.parquet").read_bytes()
    assert _facets(written)["version"]["datasetVersion"] == hashlib.sha256(train_bytes).hexdigest()
    assert _facets(written)["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"


def test_in_memory_version_is_the_row_digest_and_survives_reencoding(
    recorded: tuple[RecordingTransport, Any, Path],
) -> None:
    recorder, _, tmp_path = recorded
    split_train = recorder.events[4]["outputs"][0]
    assert split_train["name"] == "prepare.split.train"
    rows = _facets(split_train)["fairtrail_contentDigest"]["rowDigest"]
    assert _facets(split_train)["version"]["datasetVersion"] == rows
    # The file written from it holds the same rows: the same logical digest, read back.
    written = recorder.events[-1]["outputs"][0]
    assert _facets(written)["fairtrail_contentDigest"]["rowDigest"] == rows
    assert row_digest(pd.read_parquet(tmp_path / "train.parquet")) == rows


def test_column_lineage_where_known(tmp_path: Path) -> None:
    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder)
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1.0, 2.0, 3.0, 4.0]})
    with tracker.run("job") as run:
        frame = run.input(frame, name="source")
        out = run.step("derive", frame, lambda d: d[d.a > 1].assign(b=d.b * 2, c=1))
        run.step("reset", out, lambda d: d.reset_index(drop=True))
    derive = recorder.events[2]["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert set(derive) == {"a", "b"}  # c is new: not known
    assert derive["a"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"
    assert derive["b"]["inputFields"][0]["transformations"][0]["subtype"] == "TRANSFORMATION"
    assert derive["a"]["inputFields"][0]["name"] == "source"
    reset = recorder.events[4]["outputs"][0]["facets"]["columnLineage"]["fields"]
    # Rows cannot be matched after reset_index, but equal-length unchanged values still are.
    assert reset["a"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"


def test_overwrite_is_recorded(tmp_path: Path) -> None:
    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder)
    frame = pd.DataFrame({"a": [1, 2]})
    for _ in range(2):
        with tracker.run("job") as run:
            run.write_csv(frame, tmp_path / "out.csv")
    states = [
        o["facets"]["lifecycleStateChange"]["lifecycleStateChange"]
        for e in recorder.events
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "job"
        for o in e["outputs"]
    ]
    assert states == ["CREATE", "OVERWRITE"]
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic write left no temporary file


def test_failed_step_emits_fail_and_reraises() -> None:
    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder)

    def broken(d: pd.DataFrame) -> pd.DataFrame:
        raise KeyError("no column 'zip'")

    frame = pd.DataFrame({"a": [1]})
    with pytest.raises(KeyError, match="zip"), tracker.run("job") as run:
        run.step("select", run.input(frame, name="src"), broken)
    seen = [(e["job"]["name"], e["eventType"]) for e in recorder.events]
    assert seen == [
        ("job", "START"),
        ("job.select", "START"),
        ("job.select", "FAIL"),
        ("job", "FAIL"),
    ]
    error = recorder.events[2]["run"]["facets"]["errorMessage"]
    assert error["message"] == "KeyError: \"no column 'zip'\""
    assert error["programmingLanguage"] == "python"
    assert "broken" in error["stackTrace"]


def test_model_output_and_multiple_inputs() -> None:
    from sklearn.linear_model import LogisticRegression

    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder, sensitive_features=["g"])
    df = pd.DataFrame({"g": ["a", "b"] * 20, "x": np.linspace(0, 1, 40), "y": [0, 1] * 20})
    with tracker.run("job") as run:
        df = run.input(df, name="data")
        model = run.step("fit", df, lambda d: LogisticRegression().fit(d[["x"]], d.y))
        run.step("predict", (model, df), lambda m, d: d.assign(p=m.predict(d[["x"]])))
    fit_out = recorder.events[2]["outputs"][0]["facets"]
    assert fit_out["datasetType"]["datasetType"] == "MODEL"
    assert fit_out["fairtrail_contentDigest"]["objectType"].endswith("LogisticRegression")
    assert (
        fit_out["version"]["datasetVersion"] == fit_out["fairtrail_contentDigest"]["objectSha256"]
    )
    predict = recorder.events[3]
    assert [i["name"] for i in predict["inputs"]] == ["job.fit", "data"]


def test_outputs_names_must_match() -> None:
    tracker = Tracker("ns", RecordingTransport())
    with (
        pytest.raises(LineageError, match="'outputs' names 3 outputs but the step returned 2"),
        tracker.run("job") as run,
    ):
        run.step(
            "split",
            pd.DataFrame({"a": [1, 2]}),
            lambda d: (d[:1], d[1:]),
            outputs=["a", "b", "c"],
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespace": ""}, "'namespace' parameter of Tracker must be a non-empty string"),
        ({"tolerance": 1.5}, r"'tolerance' parameter of Tracker must be in \[0, 1\]. Got 1.5"),
        ({"significance_level": 0}, "'significance_level' parameter of Tracker"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict[str, Any], message: str) -> None:
    args = {"namespace": "ns", **kwargs}
    with pytest.raises(ValueError, match=message):
        Tracker(args.pop("namespace"), RecordingTransport(), **args)


def test_jsonl_file_transport_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tracker = Tracker("ns", path=path)
    with tracker.run("job") as run:
        run.input(pd.DataFrame({"a": [1]}), name="src")
    events = read_events(path)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert path.read_text().count("\n") == 2


def test_transport_refuses_unserialisable_values() -> None:
    with pytest.raises(LineageError, match="does not serialise"):
        RecordingTransport().emit({"eventType": "START", "n": np.int32(3)})
    with pytest.raises(LineageError, match="number JSON cannot represent"):
        RecordingTransport().emit({"eventType": "START", "n": float("nan")})
    path = Path("/nonexistent-never-written")
    with pytest.raises(LineageError):
        JsonlFileTransport(path).emit({"x": np.float32(1)})


# --- group effects: hand oracles -----------------------------------------------------------


def _effect(before: dict[str, int], after: dict[str, int], **kwargs: Any) -> Any:
    frame_in = pd.DataFrame({"g": [g for g, n in before.items() for _ in range(n)]})
    frame_out = pd.DataFrame({"g": [g for g, n in after.items() for _ in range(n)]})
    c_in, c_out = composition(frame_in, ["g"]), composition(frame_out, ["g"])
    assert c_in is not None
    assert c_out is not None
    return step_effect("s", c_in, [("output", c_out)], **kwargs)


def test_small_groups_do_not_decide_a_flag() -> None:
    # c loses 10 of 20 rows (50%) but has fewer than min_group_size=30 rows in.
    effect = _effect({"a": 1000, "b": 1000, "c": 20}, {"a": 990, "b": 985, "c": 10})
    assert not effect.flagged
    assert {g.value: g.removed_rate for g in effect.groups}["c"] == 0.5


def test_gap_must_be_significant() -> None:
    # 40 rows each: a loses 4 (10%), b loses 0. Gap 0.10 > 0.05, but chi-square p ≈ 0.12.
    effect = _effect({"a": 40, "b": 40}, {"a": 36, "b": 40})
    assert not effect.flagged
    # Ten times the rows, same rates: p < 0.001 → flagged.
    effect = _effect({"a": 400, "b": 400}, {"a": 360, "b": 400})
    assert effect.flagged
    assert effect.flags[0].p_value < 0.001


def test_added_rows_flag_on_the_gap_alone() -> None:
    effect = _effect({"a": 100, "b": 100}, {"a": 200, "b": 100})
    (flag,) = effect.flags
    assert flag.highest.value == "b"
    assert flag.lowest.value == "a"
    assert flag.lowest.removed_rate == -1.0
    assert np.isnan(flag.p_value)
    assert "pValue" not in effect.to_facet().flags[0]


def test_tolerance_is_respected() -> None:
    effect = _effect({"a": 1000, "b": 1000}, {"a": 900, "b": 990}, tolerance=0.1)
    assert not effect.flagged  # gap 0.09 ≤ 0.1


def test_missing_values_are_a_group() -> None:
    frame = pd.DataFrame({"g": ["a", None, None], "h": ["x", "x", None]})
    c = composition(frame, ["g", "h"])
    assert c is not None
    facet = c.to_facet()
    missing = [g for g in facet.groups if g.get("missing")]
    assert [(g["feature"], g["count"]) for g in missing] == [("g", 2), ("h", 1)]
    assert all("value" not in g for g in missing)
    assert {json.dumps(cell["values"], sort_keys=True): cell["count"] for cell in facet.cells} == {
        '{"g": "a", "h": "x"}': 1,
        '{"h": "x"}': 1,
        "{}": 1,
    }


# --- strict validation of every event type -------------------------------------------------


@needs_spec
def test_every_event_type_validates_strictly(tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier

    recorder = RecordingTransport()
    tracker = Tracker("ns", recorder, sensitive_features=["g", "h"])
    frame = pd.DataFrame({"g": ["a", "b", None] * 20, "h": ["x", "y"] * 30, "v": range(60)})
    frame.to_csv(tmp_path / "in.csv", index=False)
    with tracker.run("ok", description="d", owners=["o"]) as run:
        raw = run.read_csv(
            tmp_path / "in.csv",
            owner="x",
            source="s",
            source_uri="https://e.org",
            licence="CC0",
            description="raw",
        )
        kept = run.step("filter", raw, lambda d: d[d.v > 5])
        model = run.step("fit", kept, lambda d: DummyClassifier().fit(d[["v"]], d.h))
        run.step("two", (model, kept), lambda m, d: [d[:10], d[10:]])
        run.write_parquet(kept, tmp_path / "out.parquet")
        run.write_parquet(kept, tmp_path / "out.parquet")  # OVERWRITE
    with pytest.raises(RuntimeError), tracker.run("failing") as run:
        run.step("boom", raw, lambda d: (_ for _ in ()).throw(RuntimeError("x")))
    types = {e["eventType"] for e in recorder.events}
    assert types == {"START", "COMPLETE", "FAIL"}
    report = validate_events(recorder.events, SchemaStore(SPEC), strict=True)
    assert report.problems == ()
    names = {n for e in recorder.events for d in e["inputs"] + e["outputs"] for n in d["facets"]}
    assert {
        "fairtrail_groupComposition",
        "fairtrail_contentDigest",
        "columnLineage",
        "lifecycleStateChange",
        "datasetType",
        "tags",
        "dataSource",
    } <= names


def test_quality_metrics_derived_by_hand() -> None:
    from lineage._facets import quality_facet

    frame = pd.DataFrame(
        {
            "f": [0.0, -0.0, np.nan, 2.5, np.inf, 2.5],  # 0 and -0 are one value; inf counts
            "i": np.array([3, 1, 3, 3, 7, 1], dtype=np.int16),
            "n": pd.array([1, None, 1, None, 2, 2], dtype="Int64"),
            "s": ["a", None, "b", "a", "", "a"],  # "" is a value here (not the row digest)
        }
    )
    metrics = json.loads(Serde.to_json(quality_facet(frame, size=123)))
    assert (metrics["rowCount"], metrics["bytes"]) == (6, 123)
    columns = metrics["columnMetrics"]
    assert all(c.pop("quantiles") == {} for c in columns.values())  # the client's default
    assert columns["f"] == {
        "nullCount": 1,
        "distinctCount": 3,
        "count": 5.0,
        "min": 0.0,
        "max": 2.5,
        "sum": 5.0,
    }  # min/max/sum over the finite values
    assert columns["i"] == {
        "nullCount": 0,
        "distinctCount": 3,
        "count": 6.0,
        "min": 1.0,
        "max": 7.0,
        "sum": 18.0,
    }
    assert columns["n"] == {
        "nullCount": 2,
        "distinctCount": 2,
        "count": 4.0,
        "min": 1.0,
        "max": 2.0,
        "sum": 6.0,
    }
    assert columns["s"] == {"nullCount": 1, "distinctCount": 3, "count": 5.0}
