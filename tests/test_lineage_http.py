"""HTTP delivery of OpenLineage events against a real server on loopback (tests/_receiver.py).

Nothing may be lost: the live transport never raises and stops after one failed attempt; the
file keeps every event; a push after the endpoint comes back sends them all, in order.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CLI
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.composite import CompositeConfig, CompositeTransport
from openlineage.client.transport.http import HttpTransport

from audit import AuditOptions, audit_predictions, write_bundle
from fairtrail.cli import cli
from lineage import (
    BestEffortHttpTransport,
    EndpointError,
    HttpEndpoint,
    LineageError,
    push_events,
    read_events,
)

from _receiver import Receiver, dead_url

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://github.com/fairtrail/fairtrail/tests"
KEY = "s3cret-Key-9f2c"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def run_event(job: str, event_type: str, run_id: str, minute: int) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": (T0 + timedelta(minutes=minute)).isoformat(),
        "run": {"runId": run_id},
        "job": {"namespace": "fairtrail-tests", "name": job},
        "inputs": [],
        "outputs": [],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


@pytest.fixture
def events() -> list[dict[str, Any]]:
    """Three jobs, each START then COMPLETE: six events in file order."""
    out = []
    for i, job in enumerate(["prepare", "train", "audit"]):
        run_id = str(uuid.UUID(int=i + 1, version=4))
        out += [
            run_event(job, "START", run_id, 2 * i),
            run_event(job, "COMPLETE", run_id, 2 * i + 1),
        ]
    return out


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


@pytest.fixture
def counted_posts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of openlineage's HttpTransport.emit (one per attempted event)."""
    calls: list[int] = []
    original = HttpTransport.emit

    def emit(self: HttpTransport, event: Any) -> Any:
        calls.append(1)
        return original(self, event)

    monkeypatch.setattr(HttpTransport, "emit", emit)
    return calls


# --- HttpEndpoint ---------------------------------------------------------------------------


def test_endpoint_repr_and_messages_hide_the_key_and_url_credentials() -> None:
    endpoint = HttpEndpoint("https://bob:pw-42@lineage.example.org", api_key=KEY)
    assert KEY not in repr(endpoint)
    assert "api_key='***'" in repr(endpoint)
    assert "pw-42" not in repr(endpoint)
    assert endpoint.target == "https://***@lineage.example.org/api/v1/lineage"
    assert KEY not in str(BestEffortHttpTransport(endpoint).summary())


@pytest.mark.parametrize(
    "url", ["localhost:5000", "ftp://host", "http://", "http://host:99999", " http://host"]
)
def test_endpoint_refuses_a_url_that_is_not_http_with_a_host(url: str) -> None:
    with pytest.raises(EndpointError, match=r"The 'url' parameter of HttpEndpoint must be"):
        HttpEndpoint(url)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retries": True}, "retries"),
        ({"api_key": ""}, "api_key"),
    ],
)
def test_endpoint_names_the_bad_parameter(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(EndpointError, match=rf"The '{parameter}' parameter of HttpEndpoint"):
        HttpEndpoint("http://localhost:5000", **kwargs)


def test_endpoint_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.delenv("OPENLINEAGE_ENDPOINT", raising=False)
    assert HttpEndpoint.from_env() is None
    monkeypatch.setenv("OPENLINEAGE_URL", "http://marquez:5000")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", KEY)
    endpoint = HttpEndpoint.from_env(timeout=1.5)
    assert endpoint == HttpEndpoint("http://marquez:5000", api_key=KEY, timeout=1.5)
    other = HttpEndpoint.from_env("http://other:1", api_key_env="FAIRTRAIL_TEST_UNSET_KEY")
    assert other is not None
    assert other.url == "http://other:1"
    assert other.api_key is None


# --- push_events ----------------------------------------------------------------------------


def test_push_delivers_every_event_in_order(events: list[dict[str, Any]]) -> None:
    with Receiver() as receiver:
        report = push_events(events, HttpEndpoint(receiver.url, timeout=2))
    assert report.complete
    assert (report.sent, report.total) == (6, 6)
    assert receiver.events == events
    assert [r.path for r in receiver.requests] == ["/api/v1/lineage"] * 6
    assert {r.headers["Content-Type"] for r in receiver.requests} == {"application/json"}
    assert all("Authorization" not in r.headers for r in receiver.requests)


def test_api_key_is_sent_as_bearer_and_never_shown(
    events: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Receiver(api_key=KEY) as receiver:
        ok = push_events(events[:2], HttpEndpoint(receiver.url, api_key=KEY, timeout=2))
        wrong = push_events(events[:2], HttpEndpoint(receiver.url, api_key="nope", timeout=2))
        with BestEffortHttpTransport(HttpEndpoint(receiver.url, timeout=2)) as keyless:
            keyless.emit(events[0])
    assert ok.complete
    assert [r.headers["Authorization"] for r in receiver.requests[:2]] == [f"Bearer {KEY}"] * 2
    assert receiver.events == events[:2]
    assert (wrong.sent, wrong.failed_at) == (0, 0)
    assert wrong.reason is not None
    assert wrong.reason.startswith("HTTP 401")
    assert "HTTP 401" in str(keyless.summary().reason)
    shown = [str(ok), repr(ok), str(wrong), repr(wrong), str(keyless.summary())]
    shown += [repr(d) for d in keyless.deliveries] + [caplog.text]
    assert not [s for s in shown if KEY in s]


def test_push_reports_a_500_with_status_and_body(events: list[dict[str, Any]]) -> None:
    with Receiver(status=500) as receiver:
        report = push_events(events, HttpEndpoint(receiver.url, timeout=2))
    assert (report.sent, report.total, report.failed_at) == (0, 6, 0)
    assert report.reason == 'HTTP 500 Internal Server Error: {"code": 500}'
    assert len(receiver.requests) == 1  # a 500 is an answer, not retried


def test_a_503_is_retried_then_reported(events: list[dict[str, Any]]) -> None:
    with Receiver(status=503) as receiver:
        report = push_events(events, HttpEndpoint(receiver.url, timeout=2, retries=1))
    assert report.reason is not None
    assert report.reason.startswith("HTTP 503")
    assert len(receiver.requests) == 2  # the first attempt and one retry


def test_push_stops_at_the_first_failure_and_a_second_push_resends_all(
    events: list[dict[str, Any]],
) -> None:
    with Receiver(status=500, fail_after=2) as receiver:
        endpoint = HttpEndpoint(receiver.url, timeout=2)
        first = push_events(events, endpoint)
        assert (first.sent, first.total, first.failed_at) == (2, 6, 2)
        assert "event 3 failed: HTTP 500" in str(first)
        assert receiver.events == events[:2]
        assert len(receiver.requests) == 3  # nothing after the failure
        receiver.status = None
        second = push_events(events, endpoint)
    assert second.complete
    assert second.sent == 6
    assert receiver.events == events[:2] + events  # resent from the start: an upsert


def test_push_refuses_an_event_that_is_not_an_object(events: list[dict[str, Any]]) -> None:
    with (
        Receiver() as receiver,
        pytest.raises(LineageError, match=r"Event 2 is a list, not a JSON object"),
    ):
        push_events([events[0], []], HttpEndpoint(receiver.url))  # type: ignore[list-item]
    assert receiver.requests == []


def test_push_ignores_openlineage_disabled(
    events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    with Receiver() as receiver:
        report = push_events(events, HttpEndpoint(receiver.url, timeout=2))
    assert report.complete
    assert receiver.events == events


# --- the live transport ---------------------------------------------------------------------


def test_live_transport_delivers_and_records_each_event(events: list[dict[str, Any]]) -> None:
    with Receiver() as receiver, BestEffortHttpTransport(HttpEndpoint(receiver.url)) as live:
        for event in events:
            live.emit(event)
    assert receiver.events == events
    summary = live.summary()
    assert (summary.delivered, summary.failed, summary.reason) == (6, 0, None)
    assert summary.complete
    assert [d.event_type for d in live.deliveries] == ["START", "COMPLETE"] * 3
    assert live.deliveries[0].run_id == events[0]["run"]["runId"]


def test_live_transport_down_endpoint_costs_one_attempt_and_never_raises(
    events: list[dict[str, Any]], counted_posts: list[int]
) -> None:
    with BestEffortHttpTransport(HttpEndpoint(dead_url(), timeout=1)) as live:
        for event in events:
            live.emit(event)  # must not raise
    summary = live.summary()
    assert (summary.delivered, summary.failed) == (0, 6)
    assert summary.reason is not None
    assert "cannot connect" in summary.reason
    assert "refused" in summary.reason.lower()
    assert len(counted_posts) == 1
    first, *rest = live.deliveries
    assert first.reason == summary.reason
    assert not first.delivered
    assert all(d.reason == f"not sent: {summary.reason}" for d in rest)
    assert "0 of 6 events delivered" in str(summary)


def test_live_transport_slow_endpoint_times_out_once(events: list[dict[str, Any]]) -> None:
    with Receiver(hang=5.0) as receiver:
        with BestEffortHttpTransport(HttpEndpoint(receiver.url, timeout=0.3)) as live:
            for event in events[:3]:
                live.emit(event)
        assert len(receiver.requests) == 1  # one timeout, not one per event
    summary = live.summary()
    assert (summary.delivered, summary.failed) == (0, 3)
    assert summary.reason is not None
    assert "within 0.3 s (timed out)" in summary.reason
    assert receiver.events == []


def test_live_transport_stops_after_a_500(events: list[dict[str, Any]]) -> None:
    with (
        Receiver(status=500, fail_after=1) as receiver,
        BestEffortHttpTransport(HttpEndpoint(receiver.url)) as live,
    ):
        for event in events:
            live.emit(event)
    summary = live.summary()
    assert (summary.delivered, summary.failed) == (1, 5)
    assert summary.reason is not None
    assert summary.reason.startswith("HTTP 500")
    assert len(receiver.requests) == 2


def test_live_transport_reports_openlineage_disabled(
    events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    with Receiver() as receiver, BestEffortHttpTransport(HttpEndpoint(receiver.url)) as live:
        assert "OPENLINEAGE_DISABLED=true" in str(live.summary().reason)  # before any event
        live.emit(events[0])
    assert receiver.requests == []
    assert (live.summary().delivered, live.summary().failed) == (0, 1)


def test_inside_composite_with_a_file_nothing_is_lost_when_the_endpoint_is_down(
    tmp_path: Path,
) -> None:
    """Live: file + HTTP (down). Later: push the file to the endpoint, now up."""
    path = tmp_path / "events.jsonl"
    composite = CompositeTransport(
        CompositeConfig(
            transports=[
                {"type": "file", "log_file_path": str(path), "append": True},
                {"type": "lineage.BestEffortHttpTransport", "url": dead_url(), "timeout": "1"},
            ]
        )
    )
    live = composite.transports[1]
    assert isinstance(live, BestEffortHttpTransport)
    run_id = str(uuid.uuid4())
    sent = [
        RunEvent(
            eventType=state,
            eventTime=(T0 + timedelta(minutes=i)).isoformat(),
            run=Run(runId=run_id),
            job=Job(namespace="fairtrail-tests", name="audit"),
            producer=PRODUCER,
        )
        for i, state in enumerate([RunState.START, RunState.RUNNING, RunState.COMPLETE])
    ]
    for event in sent:
        composite.emit(event)  # the HTTP failure does not reach the composite
    composite.close()
    assert (live.summary().delivered, live.summary().failed) == (0, 3)

    kept = read_events(path)
    assert [e["eventType"] for e in kept] == ["START", "RUNNING", "COMPLETE"]
    with Receiver() as receiver:
        report = push_events(kept, HttpEndpoint(receiver.url, timeout=2))
    assert report.complete
    assert report.sent == 3
    assert receiver.events == kept


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def bundle(tmp_path: Path, predictions: pd.DataFrame, events: list[dict[str, Any]]) -> Path:
    result = audit_predictions(
        predictions["y_true"],
        predictions["y_pred"],
        sensitive_features=predictions[["sex"]],
        options=AuditOptions(intervals=False),
    )
    jsonl = "".join(json.dumps(e) + "\n" for e in events).encode()
    return write_bundle(result, tmp_path / "bundle", extra_files={"lineage/events.jsonl": jsonl})


@pytest.mark.slow  # a fresh `python -m fairtrail`: ~4 s of imports
def test_cli_push_bundle_exit_0(
    fairtrail_cli: CLI, bundle: Path, events: list[dict[str, Any]]
) -> None:
    with Receiver() as receiver:
        proc = fairtrail_cli("lineage", "push", str(bundle), "--url", receiver.url, cwd=bundle)
    assert proc.returncode == 0, proc.stderr
    assert "Sent 6 of 6 events" in proc.stdout
    assert receiver.events == events


@pytest.mark.slow  # a fresh `python -m fairtrail`: ~4 s of imports
def test_cli_push_endpoint_down_exit_1(fairtrail_cli: CLI, tmp_path: Path, events: Any) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", events)
    proc = fairtrail_cli("lineage", "push", str(path), "--url", dead_url(), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Sent 0 of 6 events" in proc.stdout
    assert "event 1 failed: cannot connect" in proc.stdout
    assert f"All 6 events are still in {path}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.slow  # a fresh `python -m fairtrail`: ~4 s of imports
def test_cli_push_refuses_a_tampered_bundle_exit_2(fairtrail_cli: CLI, bundle: Path) -> None:
    events_file = bundle / "lineage" / "events.jsonl"
    lines = events_file.read_text().splitlines(keepends=True)
    events_file.write_text("".join(lines[:-1]))  # drop the last COMPLETE
    with Receiver() as receiver:
        proc = fairtrail_cli("lineage", "push", str(bundle), "--url", receiver.url, cwd=bundle)
    assert proc.returncode == 2
    assert "failed verification; nothing was sent" in proc.stderr
    assert "lineage/events.jsonl does not match its sha256" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert receiver.requests == []


def test_cli_push_without_url_exit_2(tmp_path: Path, events: Any) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", events)
    result = CliRunner().invoke(cli, ["lineage", "push", str(path)], env={"OPENLINEAGE_URL": None})
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "fairtrail: error: No endpoint to push to: pass --url or set OPENLINEAGE_URL."
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "localhost:5000"], "The 'url' parameter of HttpEndpoint must be"),
        (["--timeout", "0"], "Invalid value for '--timeout'"),
        (["--api-key-env", "FAIRTRAIL_TEST_UNSET_KEY"], "which is not set"),
    ],
)
def test_cli_push_usage_errors_exit_2(
    tmp_path: Path, events: Any, args: list[str], message: str
) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", events)
    env = {"OPENLINEAGE_URL": "http://127.0.0.1:9"}
    result = CliRunner().invoke(cli, ["lineage", "push", str(path), *args], env=env)
    assert result.exit_code == 2
    assert message in result.output


def test_cli_push_takes_the_key_from_the_named_variable(tmp_path: Path, events: Any) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", events)
    with Receiver(api_key=KEY) as receiver:
        result = CliRunner().invoke(
            cli,
            ["lineage", "push", str(path), "--api-key-env", "MY_LINEAGE_KEY"],
            env={"OPENLINEAGE_URL": receiver.url, "MY_LINEAGE_KEY": KEY},
        )
    assert result.exit_code == 0, result.output
    assert receiver.events == events
    assert KEY not in result.output
