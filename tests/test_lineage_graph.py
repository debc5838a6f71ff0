"""The lineage graph read from OpenLineage events, its layout and its DOT/SVG/text renderings.

Real third-party events (the Marquez fixtures) are read from ../shared (not part of the
project); those tests skip with the reason when that folder is absent.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fairtrail.cli import cli
from lineage import (
    UNVERSIONED,
    Edge,
    JobNode,
    LineageError,
    LineageGraph,
    build_graph,
    dataset_id,
    format_text,
    job_id,
    read_events,
    to_dot,
    to_svg,
)
from lineage._layout import layered_layout, layering

from _shared import MARQUEZ, needs_marquez

SVG = "{http://www.w3.org/2000/svg}"
START = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------------------------
# Building events by hand
# ---------------------------------------------------------------------------------------------


def at(minutes: float) -> str:
    return (START + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def ds(name: str, version: str | None = None, ns: str = "file", **facets: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": ns, "name": name, "facets": dict(facets)}
    if version is not None:
        out["facets"]["version"] = {"datasetVersion": version}
    return out


def ev(
    kind: str,
    run: str,
    minutes: float,
    job: str = "train",
    ns: str = "credit",
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": at(minutes),
        "run": {"runId": run, "facets": run_facets or {}},
        "job": {"namespace": ns, "name": job, "facets": job_facets or {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def edges(graph: LineageGraph) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in graph.edges}


# ---------------------------------------------------------------------------------------------
# Real third-party events: the Marquez fixtures
# ---------------------------------------------------------------------------------------------


def marquez_events() -> list[Any]:
    """metadata.template.json with its time placeholders filled in.

    The placeholders are {{RUN_START_TIME}} and {{RUN_END_TIME_AFTER_<n>_MINUTES}}.
    """

    def fill(match: re.Match[str]) -> str:
        minutes = match.group(1)
        return at(int(minutes) if minutes else 0)

    text = (MARQUEZ / "metadata.template.json").read_text(encoding="utf-8")
    text = re.sub(r"\{\{RUN_(?:START_TIME|END_TIME_AFTER_(\d+)_MINUTES)\}\}", fill, text)
    assert "{{" not in text
    events: list[Any] = json.loads(text)
    return events


@needs_marquez
def test_marquez_metadata_graph() -> None:
    events = marquez_events()
    graph = build_graph(events)
    assert len(graph.jobs) == 13
    assert len(graph.datasets) == 13
    # Every run completes, so the edges are every event's inputs → job → outputs.
    expected = set()
    for event in events:
        job = job_id(event["job"]["namespace"], event["job"]["name"])
        expected |= {(dataset_id(d["namespace"], d["name"]), job) for d in event.get("inputs", [])}
        expected |= {(job, dataset_id(d["namespace"], d["name"])) for d in event.get("outputs", [])}
    assert edges(graph) == expected
    # Read by hand in the fixture: etl_orders_7_days reads public.menus, public.menu_items,
    # public.orders and public.categories and writes public.orders_7_days; email_discounts reads
    # public.discounts and public.customers and writes nothing; delivery_times_7_days writes
    # public.top_delivery_times and public.discounts.
    food = "food_delivery"
    orders_7_days = graph.node(job_id(food, "etl_orders_7_days"))
    assert isinstance(orders_7_days, JobNode)
    assert set(orders_7_days.inputs) == {
        dataset_id(food, f"public.{t}") for t in ("menus", "menu_items", "orders", "categories")
    }
    assert orders_7_days.outputs == (dataset_id(food, "public.orders_7_days"),)
    email = graph.node(job_id(food, "email_discounts"))
    assert isinstance(email, JobNode)
    assert email.outputs == ()
    assert set(email.inputs) == {
        dataset_id(food, "public.discounts"),
        dataset_id(food, "public.customers"),
    }
    times = graph.node(job_id(food, "delivery_times_7_days"))
    assert isinstance(times, JobNode)
    assert set(times.outputs) == {
        dataset_id(food, "public.top_delivery_times"),
        dataset_id(food, "public.discounts"),
    }

    # Each run is a START (with the datasets and facets) and a COMPLETE: 13 runs, merged.
    assert len(graph.runs) == len({e["run"]["runId"] for e in events}) == 13
    assert all(run.state == "COMPLETE" for run in graph.runs)
    first = events[0]
    complete = next(
        e
        for e in events
        if e["run"]["runId"] == first["run"]["runId"] and e["eventType"] == "COMPLETE"
    )
    menus_job = graph.node(job_id(first["job"]["namespace"], first["job"]["name"]))
    assert isinstance(menus_job, JobNode)
    assert menus_job.runs[0].started_at == dt.datetime.fromisoformat(first["eventTime"])
    assert menus_job.runs[0].ended_at == dt.datetime.fromisoformat(complete["eventTime"])
    assert menus_job.description == first["job"]["facets"]["documentation"]["description"]

    # No version facet: versioned by schema. The reader names no version and is linked to the
    # version written before it ended.
    written = first["outputs"][0]
    menus = graph.node(dataset_id(written["namespace"], written["name"]))
    assert not isinstance(menus, JobNode)
    assert menus.description == written["facets"]["documentation"]["description"]
    assert menus.source_name == written["facets"]["dataSource"]["name"]
    assert menus.fields == tuple(f["name"] for f in written["facets"]["schema"]["fields"])
    (version,) = menus.versions
    assert version.version.startswith("schema:")
    assert version.written_by == (first["run"]["runId"],)
    readers = [e for e in events if any(d["name"] == written["name"] for d in e.get("inputs", []))]
    assert version.read_by == tuple(e["run"]["runId"] for e in readers)

    assert format_text(graph).splitlines()[-1] == "13 jobs, 13 datasets, 13 runs"
    root = ET.fromstring(to_svg(graph))
    assert len(root.findall(f"{SVG}g/{SVG}g[@data-source]")) == len(graph.edges)


@needs_marquez
def test_marquez_apples() -> None:
    files = sorted((MARQUEZ / "apples").glob("*.json"))
    events = [event for path in files for event in read_events(path)]
    assert events
    assert all("schemaURL" not in e for e in events)
    graph = build_graph(events)
    assert {j.id for j in graph.jobs} == {
        job_id(e["job"]["namespace"], e["job"]["name"]) for e in events
    }
    names = {
        dataset_id(d["namespace"], d["name"]) for e in events for d in e["inputs"] + e["outputs"]
    }
    assert {d.id for d in graph.datasets} == names
    # Two apple pickings (1_ and 7_): red delicious, then crab apples. Marquez would draw
    # gather_apples from its latest run only (crab apples); every completed run counts here.
    gather = graph.node(job_id("grandmas.kitchen", "gather_apples"))
    assert isinstance(gather, JobNode)
    assert [run.run_id for run in gather.runs] == [
        e["run"]["runId"] for e in events if e["job"]["name"] == "gather_apples"
    ]
    assert set(gather.inputs) == {
        dataset_id("laurents-orchard", "red.delicious"),
        dataset_id("backyard", "crab.apples"),
    }
    # Times with +10:00 come out in UTC.
    first = dt.datetime.fromisoformat(events[0]["eventTime"])
    assert gather.runs[0].started_at == first
    assert gather.runs[0].started_at is not None
    assert gather.runs[0].started_at.utcoffset() == dt.timedelta(0)
    # No version facet, no schema: one "unversioned" version, written by both pickings.
    apples = graph.node(dataset_id("grandmas.kitchen", "apples"))
    assert not isinstance(apples, JobNode)
    assert [v.version for v in apples.versions] == [UNVERSIONED]
    assert apples.versions[0].written_by == tuple(r.run_id for r in gather.runs)


# ---------------------------------------------------------------------------------------------
# Hand-made events
# ---------------------------------------------------------------------------------------------


def test_second_run_writes_a_new_version_and_both_are_kept() -> None:
    v1, v2 = "a" * 64, "b" * 64
    graph = build_graph(
        [
            ev("COMPLETE", "prep-1", 0, job="prepare", outputs=[ds("clean.csv", v1)]),
            ev("COMPLETE", "fit-1", 5, inputs=[ds("clean.csv", v1)]),
            ev("COMPLETE", "prep-2", 10, job="prepare", outputs=[ds("clean.csv", v2)]),
            ev("COMPLETE", "fit-2", 15, inputs=[ds("clean.csv")]),  # names no version
        ]
    )
    clean = graph.node(dataset_id("file", "clean.csv"))
    assert not isinstance(clean, JobNode)
    assert [(v.version, v.written_by, v.read_by) for v in clean.versions] == [
        (v1, ("prep-1",), ("fit-1",)),
        (v2, ("prep-2",), ("fit-2",)),  # the version written last before fit-2 ran
    ]
    assert clean.versions[0].id == f"{clean.id}#{v1}"
    prepare = graph.node(job_id("credit", "prepare"))
    assert isinstance(prepare, JobNode)
    assert [run.outputs for run in prepare.runs] == [((clean.id, v1),), ((clean.id, v2),)]
    assert edges(graph) == {(prepare.id, clean.id), (clean.id, job_id("credit", "train"))}
    text = format_text(graph)
    assert f"writes file:clean.csv @ {v1[:12]}, {v2[:12]}" in text


def test_failed_run_is_kept_with_its_error_but_draws_no_edge() -> None:
    error = {"message": "column 'age' is missing", "programmingLanguage": "python"}
    graph = build_graph(
        [
            ev("START", "r1", 0, inputs=[ds("train.csv")]),
            ev("FAIL", "r1", 1, run_facets={"errorMessage": error}),
        ]
    )
    (job,) = graph.jobs
    (run,) = job.runs
    assert (run.state, run.error, job.state) == ("FAIL", error["message"], "FAIL")
    assert run.inputs == ((dataset_id("file", "train.csv"), UNVERSIONED),)
    assert graph.edges == ()
    assert len(graph.datasets) == 1
    assert "color=red" in to_dot(graph)
    assert f"error: {error['message']}" in format_text(graph)


def test_events_of_a_run_are_merged_in_time_order() -> None:
    effect = {"removed_rows": 12, "by_group": {"F": 0.04, "M": 0.02}}
    composition = {"groups": {"F": 40, "M": 60}}
    doc_old = {"description": "draft"}
    doc_new = {"description": "Cleaned training rows"}
    stats = {"rowCount": 100, "size": 2048}
    start = ev(
        "START",
        "r1",
        0,
        job_facets={"documentation": {"description": "Trains the model"}},
        inputs=[ds("raw.csv", schema={"fields": [{"name": "age", "type": "int"}]})],
        outputs=[ds("clean.csv", documentation=doc_old)],
    )
    complete = ev(
        "COMPLETE",
        "r1",
        3,
        run_facets={"fairtrail_stepEffect": effect},
        outputs=[
            ds("clean.csv", "c" * 64, documentation=doc_new, fairtrail_groupComposition=composition)
        ],
    )
    complete["outputs"][0]["outputFacets"] = {"outputStatistics": stats}
    late_running = ev("RUNNING", "r1", 4)  # out of order, after COMPLETE: the run stays complete
    graph = build_graph([complete, late_running, start])  # listed out of order
    (job,) = graph.jobs
    (run,) = job.runs
    assert run.state == "COMPLETE"
    assert run.started_at == dt.datetime.fromisoformat(start["eventTime"])
    assert run.ended_at == dt.datetime.fromisoformat(complete["eventTime"])
    assert run.step_effect == effect
    assert job.description == "Trains the model"
    clean = graph.node(dataset_id("file", "clean.csv"))
    assert not isinstance(clean, JobNode)
    assert clean.description == doc_new["description"]  # the later facet replaced the earlier
    assert clean.row_count == stats["rowCount"]
    assert clean.fairtrail == {"fairtrail_groupComposition": composition}
    (version,) = clean.versions
    assert (version.version, version.row_count) == ("c" * 64, stats["rowCount"])
    raw = graph.node(dataset_id("file", "raw.csv"))
    assert not isinstance(raw, JobNode)
    assert raw.fields == ("age",)
    assert raw.versions[0].version.startswith("schema:")  # what Marquez does: by schema
    assert json.loads(json.dumps(graph.to_dict()))["jobs"][0]["runs"][0]["state"] == "COMPLETE"


def test_schema_version_depends_on_the_schema_only() -> None:
    fields = [{"name": "age", "type": "int"}, {"name": "sex", "type": "string"}]
    graph = build_graph(
        [
            ev("COMPLETE", "r1", 0, outputs=[ds("a.csv", schema={"fields": fields})]),
            ev("COMPLETE", "r2", 1, outputs=[ds("a.csv", schema={"fields": fields})]),
            ev("COMPLETE", "r3", 2, outputs=[ds("a.csv", schema={"fields": fields[:1]})]),
        ]
    )
    (data,) = graph.datasets
    assert [v.written_by for v in data.versions] == [("r1", "r2"), ("r3",)]


def test_parent_and_child_jobs() -> None:
    parent = {"job": {"namespace": "credit", "name": "pipeline"}, "run": {"runId": "p1"}}
    graph = build_graph(
        [
            ev("START", "p1", 0, job="pipeline"),
            ev("COMPLETE", "c1", 1, job="prepare", run_facets={"parent": parent}),
            ev("COMPLETE", "p1", 2, job="pipeline"),
        ]
    )
    child = graph.node(job_id("credit", "prepare"))
    top = graph.node(job_id("credit", "pipeline"))
    assert isinstance(child, JobNode)
    assert isinstance(top, JobNode)
    assert child.parent == top.id
    assert child.runs[0].parent_run == "p1"
    assert top.parent is None
    assert f"(parent {top.id})" in format_text(graph)


def test_dataset_and_job_events_add_nodes() -> None:
    dataset_event = {
        "eventTime": at(0),
        "dataset": ds("census.csv", documentation={"description": "Census extract"}),
    }
    job_event = {"eventTime": at(1), "job": {"namespace": "credit", "name": "report"}}
    graph = build_graph([dataset_event, job_event])
    assert [j.id for j in graph.jobs] == [job_id("credit", "report")]
    (census,) = graph.datasets
    assert census.description == "Census extract"
    assert graph.runs == ()
    assert graph.edges == ()
    assert format_text(graph).splitlines()[-2:] == [
        "dataset file:census.csv (no runs)",
        "1 jobs, 1 datasets, 0 runs",
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([ev("START", "r", 0), "oops"], "Event 2: an event must be a JSON object"),
        ([{"run": {"runId": "r"}, "job": {"namespace": "n"}}], r"Event 1: job\.name must be"),
        ([{"run": {}, "job": {"namespace": "n", "name": "j"}}], r"Event 1: run\.runId must be"),
        ([{"eventTime": at(0)}], "Event 1: 'job' must be an object"),
        ([{"dataset": {"name": "x"}}], r"Event 1: dataset\.namespace must be"),
    ],
)
def test_unreadable_events_are_named(events: list[Any], message: str) -> None:
    with pytest.raises(LineageError, match=message):
        build_graph(events)


def test_lenient_about_the_rest() -> None:
    event = ev("COMPLETE", "r", 0, outputs=[ds("ok.csv")])
    event["eventTime"] = "yesterday"
    event["eventType"] = "SOMETHING"
    event["inputs"] = ["not a dataset", {"namespace": "file"}]
    event["run"]["facets"] = {"errorMessage": "not an object", "parent": 7}
    (run,) = build_graph([event]).runs
    assert (run.state, run.started_at, run.error, run.parent_run, run.inputs) == (
        "OTHER",
        None,
        None,
        None,
        (),
    )


# ---------------------------------------------------------------------------------------------
# Layout and rendering
# ---------------------------------------------------------------------------------------------


def cycle_events() -> list[dict[str, Any]]:
    # a reads x, writes y; b reads y, writes x: x → a → y → b → x.
    return [
        ev("COMPLETE", "r1", 0, job="a", inputs=[ds("x")], outputs=[ds("y")]),
        ev("COMPLETE", "r2", 1, job="b", inputs=[ds("y")], outputs=[ds("x")]),
    ]


def test_a_cycle_is_laid_out_and_drawn() -> None:
    graph = build_graph(cycle_events())
    assert len(graph.edges) == 4
    layers = layering([n.id for n in graph.nodes], edges(graph))
    assert sorted(layers.values()) == [0, 1, 2, 3]  # one edge reversed, the rest in a chain
    root = ET.fromstring(to_svg(graph))
    drawn = {
        (g.get("data-source"), g.get("data-target"))
        for g in root.iter(f"{SVG}g")
        if g.get("data-source")
    }
    assert drawn == edges(graph)
    assert "4 runs" not in format_text(graph)
    assert format_text(graph).splitlines()[-1] == "2 jobs, 2 datasets, 2 runs"


def test_layout_puts_every_edge_forward_and_splits_long_ones() -> None:
    nodes = [f"n{i}" for i in range(6)]
    links = [("n0", "n1"), ("n1", "n2"), ("n2", "n3"), ("n0", "n3"), ("n4", "n5"), ("n3", "n0")]
    layout = layered_layout(nodes, links)
    for (source, target), chain in layout.chains.items():
        assert (chain[0], chain[-1]) == (source, target)
        xs = [layout.positions[n][0] for n in chain]
        assert xs == sorted(xs) or xs == sorted(xs, reverse=True)  # monotone: no zig-zag
        steps = {abs(b - a) for a, b in itertools.pairwise(xs)}
        assert len(steps) == 1  # one layer at a time, through dummies
    assert len(layout.chains) == len(links)
    assert sum(len(layer) for layer in layout.layers) == len(layout.positions)


HOSTILE = ["<img src=x>", "say \"hi\" & 'bye'", "two\nlines", 'back\\slash\\"', "a\\"]


def hostile_graph() -> LineageGraph:
    return build_graph(
        [
            ev(
                "COMPLETE",
                "r1",
                0,
                job=HOSTILE[0],
                ns=HOSTILE[1],
                inputs=[ds(HOSTILE[2], ns=HOSTILE[3])],
                outputs=[ds(HOSTILE[4]), ds("x" * 40)],
            )
        ]
    )


def dot_strings(text: str) -> list[str]:
    """The quoted strings of a DOT text, read as Graphviz reads them; fails on anything else.

    Outside strings only plain words and punctuation may appear (no ``<`` that would open an
    HTML label). In a string ``\\"`` is a quote and ``\\\\`` a backslash pair; a label then
    reads ``\\\\`` as a backslash and ``\\n`` as a line break.
    """
    strings, i = [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j, raw = i + 1, ""
            while text[j] != '"':
                if text[j] == "\\" and text[j + 1] in '"\\':
                    raw += text[j : j + 2]
                    j += 2
                else:
                    assert text[j] != "\n", "a raw line break inside a string"
                    raw += text[j]
                    j += 1
            label = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), raw)
            strings.append(label)
            i = j + 1
        else:
            assert re.fullmatch(r"[\w\s=\[\];,{}>\-]", c), f"unexpected {c!r} outside a string"
            i += 1
    return strings


def test_hostile_names_are_escaped_in_dot() -> None:
    graph = hostile_graph()
    strings = dot_strings(to_dot(graph))
    for node in graph.nodes:
        assert node.name in strings  # the label, intact
        assert node.id in strings  # the id, namespace included
    assert all(any(name in node.id for node in graph.nodes) for name in HOSTILE)


def test_hostile_names_are_escaped_in_svg() -> None:
    graph = hostile_graph()
    svg = to_svg(graph)
    root = ET.fromstring(svg)  # well-formed
    texts = [t.text for t in root.iter(f"{SVG}text")]
    titles = "\n".join(t.text or "" for t in root.iter(f"{SVG}title"))
    for name in HOSTILE:
        assert name in texts  # escaped, not dropped
        assert name in titles
    assert "<img" not in svg
    assert root.find(f".//{SVG}img") is None
    long = "x" * 40
    assert long not in texts
    (shown,) = [t for t in texts if t and t.startswith("xx")]  # shortened, with an ellipsis
    assert shown.endswith("…")
    assert long.startswith(shown[:-1])
    assert long in titles
    nodes = {g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("data-node")}
    assert nodes == {n.id for n in graph.nodes}


def test_characters_xml_cannot_carry_and_terminal_escapes() -> None:
    name = "bad\x00name\x1b[31m"
    graph = build_graph([ev("COMPLETE", "r1", 0, job=name)])
    root = ET.fromstring(to_svg(graph))
    assert "bad\ufffdname\ufffd[31m" in [t.text for t in root.iter(f"{SVG}text")]
    assert "\x1b" not in format_text(graph)
    assert "\\x1b[31m" in format_text(graph)
    assert "\x00" not in to_dot(graph)


def determinism_events() -> list[dict[str, Any]]:
    events = [
        ev(
            "COMPLETE",
            f"run-{i}",
            i,
            job=f"step{i % 4}",
            inputs=[ds(f"d{i}")],
            outputs=[ds(f"d{i + 1}")],
        )
        for i in range(10)
    ]
    return events + cycle_events()


def test_renderings_are_deterministic() -> None:
    events = determinism_events()
    shuffled = list(events)
    random.Random(3).shuffle(shuffled)
    one, two = build_graph(events), build_graph(shuffled)
    assert one == two
    for render in (to_svg, to_dot, format_text):
        assert render(one) == render(two) == render(build_graph(events))


def test_empty_graph() -> None:
    graph = build_graph([])
    assert ET.fromstring(to_svg(graph)).tag == f"{SVG}svg"
    assert to_dot(graph).startswith("digraph lineage {")
    assert format_text(graph) == "0 jobs, 0 datasets, 0 runs"
    with pytest.raises(KeyError):
        graph.node("job:x:y")
    assert Edge("a", "b") == Edge("a", "b")


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["lineage", "show", *args], catch_exceptions=False)


def summary(events: list[dict[str, Any]]) -> str:
    jobs = {(e["job"]["namespace"], e["job"]["name"]) for e in events}
    data = {(d["namespace"], d["name"]) for e in events for d in e["inputs"] + e["outputs"]}
    runs = {e["run"]["runId"] for e in events}
    return f"{len(jobs)} jobs, {len(data)} datasets, {len(runs)} runs"


def test_cli_show_file(tmp_path: Path) -> None:
    # A bundle is shown only after verification: see test_lineage_audit.py.
    events = determinism_events()
    file = write_jsonl(tmp_path / "events.jsonl", events)
    result = invoke(str(file))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == summary(events)
    as_json = invoke(str(file), "--json")
    assert as_json.exit_code == 0
    assert len(json.loads(as_json.output)["jobs"]) == len({e["job"]["name"] for e in events})


def test_cli_writes_dot_and_svg(tmp_path: Path) -> None:
    events = determinism_events()
    file = write_jsonl(tmp_path / "events.jsonl", events)
    out = tmp_path / "out"
    out.mkdir()
    result = invoke(str(file), "--dot", str(out / "g.dot"), "--svg", str(out / "g.svg"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["g.dot", "g.svg"]  # no temporary files
    graph = build_graph(events)
    assert (out / "g.dot").read_text(encoding="utf-8") == to_dot(graph)
    root = ET.parse(out / "g.svg").getroot()
    assert {g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("data-node")} == {
        n.id for n in graph.nodes
    }


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    line: str = lines[0]
    return line


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "folder", "without lineage/events.jsonl"),
        (lambda p: write_jsonl(p / "bad.jsonl", [{"run": {"runId": "r"}}]), "Event 1: 'job'"),
        (lambda p: p / "missing.jsonl", "Cannot read"),
        (lambda p: write_bytes(p / "latin1.jsonl", b'{"a": "caf\xe9"}\n'), "is not UTF-8 text"),
        (
            lambda p: write_jsonl(p / "nobundle" / "lineage" / "events.jsonl", []).parent.parent,
            "manifest.json is missing",
        ),
    ],
)
def test_cli_errors_are_one_line(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    (tmp_path / "folder").mkdir()
    assert expected in one_error_line(invoke(str(make(tmp_path))))


def test_cli_unwritable_output(tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "events.jsonl", cycle_events())
    line = one_error_line(invoke(str(file), "--svg", str(tmp_path / "no" / "such" / "g.svg")))
    assert "Cannot write" in line


def test_cli_missing_file_in_a_real_process(tmp_path: Path, fairtrail_cli: Any) -> None:
    proc = fairtrail_cli("lineage", "show", "missing.jsonl", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "missing.jsonl" in proc.stderr
    assert "Traceback" not in proc.stderr
