"""Offline validation of OpenLineage events against the official schemas, facets included.

The schemas and the Marquez fixtures are read from ../shared (not part of the project); the
tests skip with the reason when that folder is absent.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openlineage.client import set_producer
from openlineage.client.event_v2 import Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    datasource_dataset,
    documentation_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    schema_dataset,
)
from openlineage.client.serde import Serde

from audit import FairtrailError
from lineage import LineageError, SchemaStore, read_events, validate_events

from _shared import MARQUEZ, SPEC, needs_spec

pytestmark = needs_spec


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore(SPEC)


def emitted_event() -> dict[str, Any]:
    """A run event as openlineage-python writes it, with several standard dataset facets."""
    set_producer("https://github.com/fairtrail/fairtrail/tree/0.1.0")
    facets = {
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name="sex", type="string"),
                schema_dataset.SchemaDatasetFacetFields(name="y_true", type="int64"),
            ]
        ),
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description="Predictions of the credit model"
        ),
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name="team:risk-data", type="TEAM")]
        ),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name="local", uri="file:///data/predictions.csv"
        ),
    }
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=dt.datetime.now(dt.UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="credit-risk", name="prepare"),
        outputs=[OutputDataset(namespace="file", name="/data/predictions.csv", facets=facets)],
    )
    out: dict[str, Any] = json.loads(Serde.to_json(event))
    return out


def messages(report: Any) -> list[str]:
    return [str(p) for p in report.problems]


# ---------------------------------------------------------------------------------------------
# Events written by openlineage-python conform; injected defects are caught with their place
# ---------------------------------------------------------------------------------------------


def test_emitted_event_is_valid_in_strict_mode(store: SchemaStore) -> None:
    report = validate_events([emitted_event()], store)
    assert report.valid, messages(report)
    assert report.n_events == 1
    assert report.n_facets == 4


def test_naive_timestamp_is_caught(store: SchemaStore) -> None:
    event = emitted_event()
    event["eventTime"] = dt.datetime.now().replace(tzinfo=None).isoformat()  # no zone
    assert messages(validate_events([event], store)) == [
        f"event 1, eventTime: {event['eventTime']!r} is not a 'date-time'"
    ]


def test_relative_producer_uri_is_caught(store: SchemaStore) -> None:
    # `producer` has format "uri": checked only when rfc3986-validator is installed (a
    # declared dependency; the validator refuses to run without it).
    event = emitted_event()
    event["producer"] = "fairtrail 0.1.0"
    assert messages(validate_events([event], store)) == [
        "event 1, producer: 'fairtrail 0.1.0' is not a 'uri'"
    ]


def test_validation_refuses_to_run_without_a_format_checker(
    store: SchemaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without rfc3986-validator jsonschema silently accepts any string as a "uri".
    from jsonschema import Draft202012Validator

    from lineage import _validate

    checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
    del checkers["uri"]
    monkeypatch.setattr(Draft202012Validator.FORMAT_CHECKER, "checkers", checkers)
    _validate._validator_class.cache_clear()
    try:
        with pytest.raises(LineageError, match=r"uri \(needs rfc3986-validator\)"):
            validate_events([emitted_event()], store)
    finally:
        monkeypatch.undo()
        _validate._validator_class.cache_clear()
    assert validate_events([emitted_event()], store).valid


def test_numpy_value_written_by_the_client_is_caught(store: SchemaStore) -> None:
    # openlineage-python writes some numpy scalars (np.int32, np.float32, np.bool_; np.int64
    # and np.float64 pass) as a "<<non-serializable: …>>" string (../shared/NOTES.md). The
    # facet's schema wants an integer there.
    set_producer("https://github.com/fairtrail/fairtrail/tree/0.1.0")
    facet = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=np.int32(48842)  # type: ignore[arg-type]
    )
    written = json.loads(Serde.to_json(facet))
    assert written["rowCount"] == "<<non-serializable: int32>>"
    event = emitted_event()
    event["outputs"][0]["outputFacets"] = {"outputStatistics": written}
    assert messages(validate_events([event], store)) == [
        "event 1, outputs[0].outputFacets.outputStatistics.rowCount: "
        "'<<non-serializable: int32>>' is not of type 'integer'"
    ]


def test_bad_facet_field_is_caught_inside_the_facet(store: SchemaStore) -> None:
    # The core schema alone accepts this event: it does not look inside facets.
    event = emitted_event()
    event["outputs"][0]["facets"]["schema"]["fields"][1]["name"] = 7
    core_only = copy.deepcopy(event)
    for facet in core_only["outputs"][0]["facets"].values():
        facet["_schemaURL"] = event["schemaURL"].split("#")[0] + "#/$defs/DatasetFacet"
    assert validate_events([core_only], store).valid
    assert messages(validate_events([event], store)) == [
        "event 1, outputs[0].facets.schema.fields[1].name: 7 is not of type 'string'"
    ]


def test_unknown_facet_schema_is_an_error_in_strict_and_skipped_in_lenient(
    store: SchemaStore,
) -> None:
    event = emitted_event()
    event["run"]["facets"] = {
        "vendor_thing": {
            "_producer": "https://example.com/x",
            "_schemaURL": "https://example.com/schemas/Thing.json",
            "anything": 1,
        }
    }
    strict = validate_events([event], store)
    assert messages(strict) == [
        "event 1, run.facets.vendor_thing: schema https://example.com/schemas/Thing.json is "
        "not in the local spec folder"
    ]
    lenient = validate_events([event], store, strict=False)
    assert lenient.valid
    assert [str(p) for p in lenient.skipped] == messages(strict)


def test_facet_without_schema_url_and_event_without_schema_url(store: SchemaStore) -> None:
    event = emitted_event()
    del event["outputs"][0]["facets"]["documentation"]["_schemaURL"]
    assert messages(validate_events([event], store)) == [
        "event 1, outputs[0].facets.documentation: '_schemaURL' is a required property",
        "event 1, outputs[0].facets.documentation: facet without _schemaURL",
    ]
    bare = emitted_event()
    del bare["schemaURL"]
    assert messages(validate_events([bare], store)) == [
        "event 1, schemaURL: missing: strict mode needs it"
    ]
    assert validate_events([bare], store, strict=False).valid


def test_broken_run_event_is_reported_as_a_run_event(store: SchemaStore) -> None:
    event = emitted_event()
    event["eventType"] = "DONE"
    found = messages(validate_events([event], store))
    assert found == [
        "event 1, eventType: 'DONE' is not one of "
        "['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']"
    ]


def test_schema_urls_cannot_escape_the_spec_folder(store: SchemaStore) -> None:
    event = emitted_event()
    event["outputs"][0]["facets"]["schema"]["_schemaURL"] = (
        "https://openlineage.io/spec/../../../etc/passwd"
    )
    assert "is not in the local spec folder" in messages(validate_events([event], store))[0]


def test_missing_spec_folder_is_a_clear_error(tmp_path: Path) -> None:
    # one base class for every error fairtrail reports to its users
    with pytest.raises(FairtrailError, match=r"OpenLineage spec folder '.*nope' does not exist"):
        SchemaStore(tmp_path / "nope")
    assert issubclass(LineageError, FairtrailError)


# ---------------------------------------------------------------------------------------------
# Real third-party events: the Marquez fixtures
# ---------------------------------------------------------------------------------------------


def marquez_template() -> list[Any]:
    # The template's {{…}} placeholders are times that Marquez fills in when it loads them.
    text = (MARQUEZ / "metadata.template.json").read_text()
    events: list[Any] = json.loads(re.sub(r"\{\{\w+\}\}", "2020-02-22T22:00:00.000Z", text))
    return events


def test_marquez_metadata_is_valid(store: SchemaStore) -> None:
    events = marquez_template()
    report = validate_events(events, store)
    assert report.valid, messages(report)[:3]
    assert report.n_events == 26
    assert report.n_facets == 84  # every facet checked against its own schema
    # Their schemaURL says "#/definitions/RunEvent" for a schema using "$defs": an alias.
    assert events[0]["schemaURL"].endswith("#/definitions/RunEvent")


def test_marquez_apples_are_valid_leniently_but_not_strictly(store: SchemaStore) -> None:
    files = sorted((MARQUEZ / "apples").glob("*.json"))
    assert len(files) == 8
    for path in files:
        events = read_events(path)
        assert validate_events(events, store, strict=False).valid, path.name
        assert not validate_events(events, store).valid  # they carry no schemaURL


# ---------------------------------------------------------------------------------------------
# Reading files, and the command line
# ---------------------------------------------------------------------------------------------


def test_read_events_jsonl_list_and_single(tmp_path: Path) -> None:
    a, b = emitted_event(), emitted_event()
    (tmp_path / "e.jsonl").write_text(json.dumps(a) + "\n\n" + json.dumps(b) + "\n")
    (tmp_path / "e.json").write_text(json.dumps([a, b], indent=2))
    (tmp_path / "one.json").write_text(json.dumps(a, indent=2))
    assert read_events(tmp_path / "e.jsonl") == [a, b]
    assert read_events(tmp_path / "e.json") == [a, b]
    assert read_events(tmp_path / "one.json") == [a]
    (tmp_path / "bad.jsonl").write_text(json.dumps(a) + "\n{not json\n")
    with pytest.raises(LineageError, match=r"'bad.jsonl', line 2 is not valid JSON"):
        read_events(tmp_path / "bad.jsonl")


def test_cli_validate_exit_codes(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    good, bad = emitted_event(), emitted_event()
    bad["eventTime"] = "yesterday"
    (tmp_path / "good.jsonl").write_text(json.dumps(good) + "\n")
    (tmp_path / "bad.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    ok = fairtrail_cli("lineage", "validate", "good.jsonl", "--spec-dir", str(SPEC), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "good.jsonl: 1 events, 4 facets, strict: valid"
    no = fairtrail_cli("lineage", "validate", "bad.jsonl", "--spec-dir", str(SPEC), cwd=tmp_path)
    assert no.returncode == 1
    assert no.stdout.splitlines() == [
        "bad.jsonl: event 2, eventTime: 'yesterday' is not a 'date-time'",
        "bad.jsonl: 2 events, 8 facets, strict: INVALID (1 problems)",
    ]
    missing = fairtrail_cli("lineage", "validate", "good.jsonl", "--spec-dir", "nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert "OpenLineage spec folder 'nope' does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
