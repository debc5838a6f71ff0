"""The lineage graph read from OpenLineage events: jobs, datasets, their versions and runs.

Node ids follow Marquez (``marquez.service.models.NodeId``): ``job:<namespace>:<name>`` and
``dataset:<namespace>:<name>``; a dataset version is ``<dataset id>#<version>``.

Where fairtrail departs from Marquez:

- **Versions by content.** Marquez versions a dataset by its schema. fairtrail keys a version by
  the ``version`` facet's ``datasetVersion``, which fairtrail sets to a content digest. Without
  that facet the version is ``schema:<sha256>`` of the schema facet's field names and types (what
  Marquez does); without either it is :data:`UNVERSIONED`. An input that names neither is taken
  to be the version last written by a run that started before the reading run ended (Marquez
  too links a run's inputs to the dataset's current version).
- **Every run counts.** Marquez draws a job's edges from its latest run only. Here the edges are
  the union over every run that completed; failed, aborted and unfinished runs are kept with
  their state and what they read and wrote, but draw no edge. Every version seen is kept, with
  the runs that wrote and read it.

The events of one run (START, RUNNING, COMPLETE, …) are merged by ``runId`` in ``eventTime``
order (times without a zone are taken as UTC; unreadable times sort last, in file order): later
events add facets and replace same-named ones. A terminal state (COMPLETE, FAIL, ABORT) is the
run's state even when a RUNNING event is timed after it. Dataset and job events (no ``run``)
add their dataset or job as a node. An event that cannot be read at all (not an object, no job
namespace or name, no run id) raises :class:`LineageError`; anything else is read leniently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from lineage._validate import LineageError

__all__ = [
    "UNVERSIONED",
    "DatasetNode",
    "DatasetVersion",
    "Edge",
    "JobNode",
    "LineageGraph",
    "RunRecord",
    "build_graph",
    "dataset_id",
    "job_id",
]

#: The version of a dataset whose facets name neither a version nor a schema.
UNVERSIONED = "unversioned"
#: Run states after which nothing more happens; they win over START/RUNNING whatever the time.
TERMINAL = ("COMPLETE", "FAIL", "ABORT")
_STATES = ("START", "RUNNING", *TERMINAL, "OTHER")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IO_FACETS = {"inputs": "inputFacets", "outputs": "outputFacets"}


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a dataset, and the runs that wrote and read it."""

    dataset: str  # the dataset's node id
    version: str  # a content digest, "schema:<sha256>" or UNVERSIONED
    written_by: tuple[str, ...] = ()  # run ids, in time order
    read_by: tuple[str, ...] = ()
    row_count: int | None = None
    fairtrail: Mapping[str, Any] = field(default_factory=dict, hash=False)  # fairtrail_* facets

    @property
    def id(self) -> str:
        """``<dataset id>#<version>``, as Marquez writes a dataset version's node id."""
        return f"{self.dataset}#{self.version}"


@dataclass(frozen=True)
class RunRecord:
    """One run of a job: its events merged."""

    run_id: str
    job: str  # the job's node id
    state: str  # START, RUNNING, COMPLETE, FAIL, ABORT or OTHER
    started_at: datetime | None = None  # UTC
    ended_at: datetime | None = None
    error: str | None = None  # the errorMessage run facet's message
    inputs: tuple[tuple[str, str], ...] = ()  # (dataset id, version) pairs
    outputs: tuple[tuple[str, str], ...] = ()
    parent_run: str | None = None
    step_effect: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class JobNode:
    """A job: what it is, its runs, and the datasets its completed runs read and wrote."""

    id: str
    namespace: str
    name: str
    description: str | None = None
    owners: tuple[str, ...] = ()
    job_type: str | None = None
    parent: str | None = None  # the parent job's node id (from the ``parent`` run facet)
    runs: tuple[RunRecord, ...] = ()  # in time order
    inputs: tuple[str, ...] = ()  # dataset ids
    outputs: tuple[str, ...] = ()

    @property
    def state(self) -> str | None:
        """The state of the latest run, or None when the job has no run."""
        return self.runs[-1].state if self.runs else None


@dataclass(frozen=True)
class DatasetNode:
    """A dataset: its latest description and every version seen."""

    id: str
    namespace: str
    name: str
    description: str | None = None
    owners: tuple[str, ...] = ()
    source_name: str | None = None
    source_uri: str | None = None
    fields: tuple[str, ...] = ()
    row_count: int | None = None
    versions: tuple[DatasetVersion, ...] = ()  # in the order first seen
    fairtrail: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Edge:
    """``dataset → job`` (the job read it) or ``job → dataset`` (the job wrote it)."""

    source: str
    target: str


@dataclass(frozen=True)
class LineageGraph:
    """Jobs and datasets (sorted by id) and the edges between them."""

    jobs: tuple[JobNode, ...]
    datasets: tuple[DatasetNode, ...]
    edges: tuple[Edge, ...]

    @property
    def runs(self) -> tuple[RunRecord, ...]:
        """Every run of every job."""
        return tuple(run for job in self.jobs for run in job.runs)

    @property
    def nodes(self) -> tuple[JobNode | DatasetNode, ...]:
        """The jobs, then the datasets."""
        return (*self.jobs, *self.datasets)

    def node(self, node_id: str) -> JobNode | DatasetNode:
        """The job or dataset with this id; KeyError when there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (times as ISO strings)."""
        return {"schema_version": 1, **_plain(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Reading events
# ---------------------------------------------------------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def job_id(namespace: str, name: str) -> str:
    """The Marquez node id of a job.

    Examples
    --------
    >>> job_id("food_delivery", "etl_menus")
    'job:food_delivery:etl_menus'
    """
    return f"job:{namespace}:{name}"


def dataset_id(namespace: str, name: str) -> str:
    """The Marquez node id of a dataset.

    Examples
    --------
    >>> dataset_id("file", "/data/train.csv")
    'dataset:file:/data/train.csv'
    """
    return f"dataset:{namespace}:{name}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _names(index: int, what: str, node: Any) -> tuple[str, str]:
    if not isinstance(node, dict):
        raise LineageError(f"Event {index + 1}: '{what}' must be an object. Got {node!r}.")
    out = []
    for key in ("namespace", "name"):
        if _text(node.get(key)) is None:
            raise LineageError(
                f"Event {index + 1}: {what}.{key} must be a non-empty string. "
                f"Got {node.get(key)!r}."
            )
        out.append(node[key])
    return out[0], out[1]


def _owners(facets: Mapping[str, Any]) -> tuple[str, ...]:
    owners = _obj(facets.get("ownership")).get("owners")
    if not isinstance(owners, list):
        return ()
    return tuple(o["name"] for o in owners if isinstance(o, dict) and _text(o.get("name")))


def _row_count(facets: Mapping[str, Any]) -> int | None:
    for key in ("dataQualityMetrics", "outputStatistics"):
        count = _obj(facets.get(key)).get("rowCount")
        if isinstance(count, int) and not isinstance(count, bool):
            return count
    return None


def _fairtrail(facets: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sorted(facets.items()) if k.startswith("fairtrail_")}


def _schema_fields(facets: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = _obj(facets.get("schema")).get("fields")
    return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []


def _version(facets: Mapping[str, Any]) -> str | None:
    """The version the facets name: the version facet, else a digest of the schema."""
    named = _text(_obj(facets.get("version")).get("datasetVersion"))
    if named:
        return named
    schema = _schema_fields(facets)
    if schema:
        shape = [[f.get("name"), f.get("type")] for f in schema]
        digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
        return f"schema:{digest}"
    return None


class _Run:
    """A run's events merged, while reading."""

    def __init__(self, job: str, first: tuple[Any, ...]) -> None:
        self.job = job
        self.first = self.last = first
        self.types: list[tuple[str, datetime | None]] = []
        self.facets: dict[str, Any] = {}
        self.io: dict[str, dict[str, dict[str, Any]]] = {"inputs": {}, "outputs": {}}


def _merge_facets(into: dict[str, Any], dataset: dict[str, Any], io_key: str) -> None:
    """Add a dataset's facets and its input/output facets; later ones replace earlier ones."""
    into.update(_obj(dataset.get("facets")))
    into.update(_obj(dataset.get(io_key)))


def _datasets(event: dict[str, Any], place: str) -> list[dict[str, Any]]:
    found = event.get(place)
    if not isinstance(found, list):
        return []
    return [
        d
        for d in found
        if isinstance(d, dict) and _text(d.get("namespace")) and _text(d.get("name"))
    ]


def build_graph(events: Iterable[Any]) -> LineageGraph:
    """Build the lineage graph of a sequence of parsed OpenLineage events.

    See the module documentation for how runs are merged and versions keyed.

    Parameters
    ----------
    events : iterable of dict
        Run events (dataset and job events add their nodes), in any order.

    Returns
    -------
    LineageGraph

    Raises
    ------
    LineageError
        An event is not an object, or names no job namespace/name or run id.

    Examples
    --------
    >>> def event(kind, run, time, inputs=(), outputs=()):
    ...     return {"eventType": kind, "eventTime": time, "run": {"runId": run},
    ...             "job": {"namespace": "ns", "name": "train"},
    ...             "inputs": [{"namespace": "file", "name": n} for n in inputs],
    ...             "outputs": [{"namespace": "file", "name": n} for n in outputs]}
    >>> graph = build_graph([
    ...     event("START", "r1", "2024-01-01T10:00:00Z", inputs=["train.csv"]),
    ...     event("COMPLETE", "r1", "2024-01-01T10:05:00Z", outputs=["model.pkl"]),
    ... ])
    >>> [(e.source, e.target) for e in graph.edges]
    [('dataset:file:train.csv', 'job:ns:train'), ('job:ns:train', 'dataset:file:model.pkl')]
    >>> run = graph.jobs[0].runs[0]
    >>> run.state, run.started_at.isoformat(), run.outputs
    ('COMPLETE', '2024-01-01T10:00:00+00:00', (('dataset:file:model.pkl', 'unversioned'),))
    >>> build_graph([{"eventType": "START", "run": {"runId": "r"}, "job": {"name": "x"}}])
    Traceback (most recent call last):
    ...
    lineage._validate.LineageError: Event 1: job.namespace must be a non-empty string. Got None.
    """
    ordered = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise LineageError(f"Event {index + 1}: an event must be a JSON object. Got {event!r}.")
        if "run" in event:
            _names(index, "job", event.get("job"))
            if _text(_obj(event["run"]).get("runId")) is None:
                raise LineageError(f"Event {index + 1}: run.runId must be a non-empty string.")
        elif "dataset" in event:
            _names(index, "dataset", event["dataset"])
        else:
            _names(index, "job", event.get("job"))
        when = _time(event.get("eventTime"))
        ordered.append(((when is None, when or _EPOCH, index), when, event))
    ordered.sort(key=lambda item: item[0])

    jobs: dict[str, tuple[str, str, dict[str, Any]]] = {}
    datasets: dict[str, tuple[str, str, dict[str, Any]]] = {}
    runs: dict[str, _Run] = {}
    for key, when, event in ordered:
        if "dataset" in event and "run" not in event:
            ns, name = event["dataset"]["namespace"], event["dataset"]["name"]
            node = datasets.setdefault(dataset_id(ns, name), (ns, name, {}))
            node[2].update(_obj(event["dataset"].get("facets")))
            continue
        ns, name = event["job"]["namespace"], event["job"]["name"]
        this_job = job_id(ns, name)
        jobs.setdefault(this_job, (ns, name, {}))[2].update(_obj(event["job"].get("facets")))
        run = None
        if "run" in event:
            run = runs.setdefault(event["run"]["runId"], _Run(this_job, key))
            run.last = key
            kind = event.get("eventType")
            run.types.append((kind if kind in _STATES else "OTHER", when))
            run.facets.update(_obj(event["run"].get("facets")))
        for place, io_key in _IO_FACETS.items():
            for dataset in _datasets(event, place):
                ds = dataset_id(dataset["namespace"], dataset["name"])
                node = datasets.setdefault(ds, (dataset["namespace"], dataset["name"], {}))
                _merge_facets(node[2], dataset, io_key)
                if run is not None:
                    _merge_facets(run.io[place].setdefault(ds, {}), dataset, io_key)
    return _freeze(jobs, datasets, runs)


def _state(types: list[tuple[str, datetime | None]]) -> str:
    terminal = [kind for kind, _ in types if kind in TERMINAL]
    return terminal[-1] if terminal else types[-1][0]


def _freeze(
    jobs: dict[str, tuple[str, str, dict[str, Any]]],
    datasets: dict[str, tuple[str, str, dict[str, Any]]],
    runs: dict[str, _Run],
) -> LineageGraph:
    in_order = sorted(runs.items(), key=lambda item: (item[1].first, item[0]))
    written: dict[str, list[tuple[tuple[Any, ...], str]]] = {}  # dataset → (run start, version)
    resolved: dict[str, dict[str, dict[str, str]]] = {}  # run → place → dataset → version
    for run_id, run in in_order:
        resolved[run_id] = {"outputs": {}, "inputs": {}}
        for ds, facets in run.io["outputs"].items():
            version = _version(facets) or UNVERSIONED
            resolved[run_id]["outputs"][ds] = version
            written.setdefault(ds, []).append((run.first, version))
    for run_id, run in in_order:
        for ds, facets in run.io["inputs"].items():
            earlier = [w for w in written.get(ds, []) if w[0] <= run.last and w[0] != run.first]
            fallback = max(earlier)[1] if earlier else UNVERSIONED
            resolved[run_id]["inputs"][ds] = _version(facets) or fallback

    versions: dict[str, dict[str, dict[str, Any]]] = {}  # dataset → version → what we know
    records: dict[str, list[RunRecord]] = {}
    parents: dict[str, str] = {}
    for run_id, run in in_order:
        for place, role in (("outputs", "written_by"), ("inputs", "read_by")):
            for ds, version in resolved[run_id][place].items():
                entry = versions.setdefault(ds, {}).setdefault(
                    version, {"written_by": [], "read_by": [], "facets": {}}
                )
                entry[role].append(run_id)
                entry["facets"].update(run.io[place][ds])
        parent = _obj(run.facets.get("parent"))
        parent_job = _obj(parent.get("job"))
        if _text(parent_job.get("namespace")) and _text(parent_job.get("name")):
            parents[run.job] = job_id(parent_job["namespace"], parent_job["name"])
        starts = [t for kind, t in run.types if kind == "START" and t is not None]
        times = [t for _, t in run.types if t is not None]
        ends = [t for kind, t in run.types if kind in TERMINAL and t is not None]
        step = run.facets.get("fairtrail_stepEffect")
        record = RunRecord(
            run_id=run_id,
            job=run.job,
            state=_state(run.types),
            started_at=starts[0] if starts else (times[0] if times else None),
            ended_at=ends[-1] if ends else None,
            error=_text(_obj(run.facets.get("errorMessage")).get("message")),
            inputs=tuple(sorted(resolved[run_id]["inputs"].items())),
            outputs=tuple(sorted(resolved[run_id]["outputs"].items())),
            parent_run=_text(_obj(parent.get("run")).get("runId")),
            step_effect=step if isinstance(step, dict) else None,
        )
        records.setdefault(run.job, []).append(record)

    job_nodes = []
    for jid, (ns, name, facets) in sorted(jobs.items()):
        done = [r for r in records.get(jid, []) if r.state == "COMPLETE"]
        job_nodes.append(
            JobNode(
                id=jid,
                namespace=ns,
                name=name,
                description=_text(_obj(facets.get("documentation")).get("description")),
                owners=_owners(facets),
                job_type=_text(_obj(facets.get("jobType")).get("jobType")),
                parent=parents.get(jid),
                runs=tuple(records.get(jid, [])),
                inputs=tuple(sorted({ds for r in done for ds, _ in r.inputs})),
                outputs=tuple(sorted({ds for r in done for ds, _ in r.outputs})),
            )
        )
    dataset_nodes = []
    for did, (ns, name, facets) in sorted(datasets.items()):
        source = _obj(facets.get("dataSource"))
        dataset_nodes.append(
            DatasetNode(
                id=did,
                namespace=ns,
                name=name,
                description=_text(_obj(facets.get("documentation")).get("description")),
                owners=_owners(facets),
                source_name=_text(source.get("name")),
                source_uri=_text(source.get("uri")),
                fields=tuple(f["name"] for f in _schema_fields(facets) if _text(f.get("name"))),
                row_count=_row_count(facets),
                versions=tuple(
                    DatasetVersion(
                        dataset=did,
                        version=version,
                        written_by=tuple(entry["written_by"]),
                        read_by=tuple(entry["read_by"]),
                        row_count=_row_count(entry["facets"]),
                        fairtrail=_fairtrail(entry["facets"]),
                    )
                    for version, entry in versions.get(did, {}).items()
                ),
                fairtrail=_fairtrail(facets),
            )
        )
    edges = {Edge(ds, job.id) for job in job_nodes for ds in job.inputs}
    edges |= {Edge(job.id, ds) for job in job_nodes for ds in job.outputs}
    return LineageGraph(
        tuple(job_nodes),
        tuple(dataset_nodes),
        tuple(sorted(edges, key=lambda e: (e.source, e.target))),
    )
