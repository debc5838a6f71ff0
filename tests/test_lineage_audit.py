"""``fairtrail run`` records the audit as an OpenLineage job, with the preparation upstream.

The chain: a Tracker run writes the predictions file (upstream events) → ``fairtrail run``
reads it (same file digest: the graph connects) → writes ``result.json`` whose facet carries
the verdicts. HTTP delivery goes to a real receiver on loopback; a dead endpoint loses nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from audit import read_bundle
from fairtrail.cli import cli
from lineage import SchemaStore, Tracker, read_events, validate_events

from _receiver import Receiver, dead_url
from _shared import SPEC, needs_spec
from _tables import make_predictions, run_cli

SPEC_TOML = """\
[data]
path = "predictions.parquet"
y_true = "y_true"
y_pred = "y_pred"
sensitive_features = ["sex", "race"]

[audit]

[policy]
name = "test policy"
version = "3"
[policy.thresholds]
demographic_parity_ratio = 0.8

[lineage]
namespace = "credit"
upstream = ["prepare.jsonl"]
{extra}
"""


def _prepare(folder: Path, predictions: pd.DataFrame) -> None:
    tracker = Tracker("credit", path=folder / "prepare.jsonl", sensitive_features=["sex", "race"])
    with tracker.run("prepare") as run:
        frame = run.input(predictions, name="scored")
        run.write_parquet(frame, folder / "predictions.parquet")


def _audit(fairtrail_cli: Any, folder: Path, extra: str = "") -> Any:
    (folder / "audit.toml").write_text(SPEC_TOML.format(extra=extra))
    return fairtrail_cli("run", "audit.toml", "--out", "bundle", "-q", cwd=folder)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One audited bundle shared by the read-only tests of this module."""
    folder = tmp_path_factory.mktemp("audited")
    _prepare(folder, make_predictions())
    proc = _audit(run_cli, folder)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Lineage: 6 OpenLineage events" in proc.stdout  # 4 upstream + the audit's 2
    return folder


def test_bundle_holds_upstream_then_audit_events(audited: Path) -> None:
    events = read_events(audited / "bundle" / "lineage" / "events.jsonl")
    upstream = read_events(audited / "prepare.jsonl")
    # prepare START, write child START/COMPLETE, prepare COMPLETE; then the audit's two.
    assert len(upstream) == 4
    assert events[:4] == upstream
    audit_events = events[4:]
    assert [(e["job"]["name"], e["eventType"]) for e in audit_events] == [
        ("audit.audit", "START"),
        ("audit.audit", "COMPLETE"),
    ]
    assert all(e["job"]["namespace"] == "credit" for e in events)


def test_audit_reads_the_file_the_preparation_wrote(audited: Path) -> None:
    events = read_events(audited / "bundle" / "lineage" / "events.jsonl")
    written = events[3]["outputs"][0]
    (read,) = events[-1]["inputs"]
    file_digest = hashlib.sha256((audited / "predictions.parquet").read_bytes()).hexdigest()
    assert (read["namespace"], read["name"]) == (written["namespace"], written["name"])
    assert read["facets"]["version"]["datasetVersion"] == file_digest
    assert written["facets"]["version"]["datasetVersion"] == file_digest
    groups = {
        (g["feature"], g["value"]): g["count"]
        for g in read["facets"]["fairtrail_groupComposition"]["groups"]
    }
    assert groups[("sex", "F")] == groups[("sex", "M")] == 200  # the fixture alternates F, M


def test_result_dataset_carries_the_verdicts(audited: Path) -> None:
    bundle = audited / "bundle"
    result = read_bundle(bundle)
    events = read_events(bundle / "lineage" / "events.jsonl")
    (output,) = events[-1]["outputs"]
    assert output["name"] == str((bundle / "result.json").resolve())
    facet = output["facets"]["fairtrail_auditResult"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert facet["resultSha256"] == manifest["files"]["result.json"]["sha256"]
    assert output["facets"]["version"]["datasetVersion"] == facet["resultSha256"]
    assert facet["auditId"] == result.audit_id
    assert facet["status"] == result.status
    assert (facet["policyName"], facet["policyVersion"]) == ("test policy", "3")
    assert [(c["criterion"], c["attribute"], c["verdict"]) for c in facet["criteria"]] == [
        (c.criterion, c.attribute, c.verdict) for c in result.criteria
    ]
    assert facet["criteria"][0]["estimate"] == pytest.approx(result.criteria[0].estimate.value)


def test_show_verifies_the_bundle_first(audited: Path, tmp_path: Path) -> None:
    bundle = shutil.copytree(audited / "bundle", tmp_path / "bundle")
    events_file = bundle / "lineage" / "events.jsonl"
    shown = CliRunner().invoke(cli, ["lineage", "show", str(bundle)])
    assert shown.exit_code == 0, shown.output
    assert shown.output == CliRunner().invoke(cli, ["lineage", "show", str(events_file)]).output
    assert "audit.audit" in shown.output

    events_file.write_text("".join(events_file.read_text().splitlines(keepends=True)[:-1]))
    refused = CliRunner().invoke(cli, ["lineage", "show", str(bundle)])
    assert refused.exit_code == 2
    assert refused.stdout == ""
    assert "failed verification; nothing was shown" in refused.stderr
    assert "lineage/events.jsonl does not match its sha256" in refused.stderr
    # The events file itself is still readable, by explicit choice.
    assert CliRunner().invoke(cli, ["lineage", "show", str(events_file)]).exit_code == 0


@needs_spec
def test_bundle_events_validate_strictly(audited: Path) -> None:
    events = read_events(audited / "bundle" / "lineage" / "events.jsonl")
    report = validate_events(events, SchemaStore(SPEC), strict=True)
    assert report.problems == ()


def test_events_reach_a_live_endpoint(
    tmp_path: Path, predictions: pd.DataFrame, fairtrail_cli: Any
) -> None:
    _prepare(tmp_path, predictions)
    with Receiver() as receiver:
        proc = _audit(fairtrail_cli, tmp_path, f'url = "{receiver.url}"')
        received = receiver.events
    assert proc.returncode in (0, 1), proc.stderr
    events = read_events(tmp_path / "bundle" / "lineage" / "events.jsonl")
    assert received == events[4:]  # the audit's own; the upstream run sent (or not) its own
    assert "sent to" in proc.stdout


def test_endpoint_down_loses_nothing_and_push_sends_later(
    tmp_path: Path, predictions: pd.DataFrame, fairtrail_cli: Any
) -> None:
    _prepare(tmp_path, predictions)
    proc = _audit(fairtrail_cli, tmp_path, f'url = "{dead_url()}"\ntimeout = 2.0')
    assert proc.returncode in (0, 1), proc.stderr  # the verdict decides, not the endpoint
    assert "fairtrail lineage push" in proc.stdout
    bundle = tmp_path / "bundle"
    events = read_events(bundle / "lineage" / "events.jsonl")
    assert len(events) == 6
    with Receiver() as receiver:
        push = fairtrail_cli("lineage", "push", str(bundle), "--url", receiver.url, cwd=tmp_path)
        received = receiver.events
    assert push.returncode == 0, push.stdout + push.stderr
    assert received == events


# --- defects a validator must catch ----------------------------------------------------------


@needs_spec
@pytest.mark.parametrize(
    ("defect", "where"),
    [
        ("naive_time", "eventTime"),
        ("numpy_value", "dataQualityMetrics.rowCount"),
        ("custom_facet_extra_key", "fairtrail_groupComposition"),
        ("custom_facet_bad_digest", "fairtrail_contentDigest"),
        ("step_effect_bad_rate", "fairtrail_stepEffect.groups[0].removedRate"),
    ],
)
def test_validate_catches_injected_defects(
    audited: Path, tmp_path: Path, fairtrail_cli: Any, defect: str, where: str
) -> None:
    events = read_events(audited / "bundle" / "lineage" / "events.jsonl")
    bad = copy.deepcopy(events)
    completed = bad[-1]
    read = completed["inputs"][0]["facets"]
    if defect == "naive_time":
        completed["eventTime"] = dt.datetime(2026, 1, 1, 12, 0).isoformat()  # no time zone
    elif defect == "numpy_value":
        # What openlineage-python writes for a numpy int32 (OpenLineage#4937).
        read["dataQualityMetrics"]["rowCount"] = f"<<non-serializable: int32 {np.int32(400)}>>"
    elif defect == "custom_facet_extra_key":
        read["fairtrail_groupComposition"]["unexpected"] = 1
    elif defect == "custom_facet_bad_digest":
        read["fairtrail_contentDigest"]["fileSha256"] = "not-a-digest"
    else:
        with Tracker("x", path=tmp_path / "t.jsonl", sensitive_features=["sex"]).run("j") as run:
            frame = run.input(pd.DataFrame({"sex": ["F", "M"] * 20}), name="d")
            run.step("s", frame, lambda d: d[1:])
        stepped = read_events(tmp_path / "t.jsonl")[2]
        stepped["run"]["facets"]["fairtrail_stepEffect"]["groups"][0]["removedRate"] = 1.5
        bad[-1] = stepped
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in bad))
    proc = fairtrail_cli("lineage", "validate", str(path), "--spec-dir", str(SPEC), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = [line for line in proc.stdout.splitlines() if line.startswith("bad.jsonl: event")]
    assert problems, proc.stdout
    assert all(where in line for line in problems), proc.stdout
