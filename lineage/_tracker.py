"""Recording dataset provenance as OpenLineage events: :class:`Tracker` and its runs.

::

    tracker = Tracker("credit-risk", sensitive_features=["sex", "race"])
    with tracker.run("prepare_training_set") as run:
        raw = run.read_csv("data/applications.csv", owner="risk-data-team")
        clean = run.step("drop_missing", raw, lambda d: d.dropna())
        train, test = run.step("split", clean, split, outputs=["train", "test"])
        run.write_parquet(train, "data/train.parquet")

The run is an OpenLineage job run (START when the ``with`` block opens, COMPLETE when it
ends, FAIL with the error when it raises). Each step is a child job ``<job>.<step>`` with its
own run (a ``parent`` facet points at the enclosing run) that reads the step's input datasets
and writes its outputs as in-memory datasets ``<job>.<step>[.<output>]``; writing a frame to a
file is a child job ``<job>.write_<file name>``. So the graph reads: file → step → … → file.

Every dataset gets the standard ``schema``, ``dataQualityMetrics`` and ``version`` facets
(``datasetVersion`` is the content digest: the file's sha256 for a file, the row digest for an
in-memory frame), ``fairtrail_contentDigest`` (both digests), ``fairtrail_groupComposition``
(rows per sensitive group) and, when given, ``ownership``, ``dataSource``, ``documentation``
and a ``licence`` tag; written files get ``lifecycleStateChange`` (CREATE or OVERWRITE) and
``columnLineage`` where it is known. Each step's run gets ``fairtrail_stepEffect``.

No column stops a record, whatever its type or name: struct, list, map, union, dictionary,
binary, decimal, temporal, null-typed and extension columns, nested or all-missing values,
empty, duplicated, non-text or control-character names. The schema names every column (a
Parquet file's own Arrow type for columns pandas holds as Python objects, with nested
``fields``); row digests, distinct counts and group counts take a nested value by its
canonical text (``lineage/_values.py``); a duplicated name is described by its first column
wherever a facet needs one key per name.

Files follow OpenLineage's naming: namespace ``file``, name the absolute path. Events go to
the transport given (default: a JSON Lines file); fairtrail reads no OpenLineage
configuration files or environment variables.

Input files counted out of core (DuckDB, Spark) are recorded by :meth:`TrackedRun.input_files`
without reading their rows: the same facets, from what the engine counted, with a file-list
digest in place of the file's sha256 for large files and folders of parts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle  # noqa: TID251 - dumps only, to digest a model; nothing is ever loaded
import re
import traceback
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from openlineage.client import event_v2
from openlineage.client.facet_v2 import (
    BaseFacet,
    dataset_type_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    lifecycle_state_change_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    tags_dataset,
)
from openlineage.client.transport.transport import Transport
from openlineage.client.uuid import generate_new_uuid

from lineage._digest import FILE_LIST_ALGORITHM, file_list_digest, file_sha256, row_digest
from lineage._facets import (
    ContentDigestDatasetFacet,
    column_lineage_facet,
    columns_schema_facet,
    counts_quality_facet,
    quality_facet,
    schema_facet,
)
from lineage._groups import Composition, StepEffect, composition, step_effect
from lineage._transport import JsonlFileTransport
from lineage._validate import LineageError

if TYPE_CHECKING:
    from audit._engines import Counted, InputFiles

__all__ = ["MAX_FILE_SHA256_BYTES", "PRODUCER", "DatasetRef", "TrackedRun", "Tracker"]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "0+unknown"


FAIRTRAIL_VERSION = _version("fairtrail")
#: The ``producer`` of every event and facet: the fairtrail release.
PRODUCER = f"https://pypi.org/project/fairtrail/{FAIRTRAIL_VERSION}/"
FILE_NAMESPACE = "file"
#: An input counted out of core that is one file up to this size (2 GiB) is digested whole
#: (``fileSha256``); a larger file, or several, get the file-list digest instead.
MAX_FILE_SHA256_BYTES = 2 << 30
#: The package whose version is an engine's (``processing_engine`` run facet).
_ENGINE_PACKAGES = {"duckdb": "duckdb", "spark": "pyspark"}
_GLOB = re.compile(r"[*?\[]")


def _spec_name(spec: str) -> str:
    """The dataset name of files given as ``spec``: the file or folder, or the glob, resolved.

    A glob keeps its pattern; the folders before its first wildcard are resolved.
    """
    path = Path(spec)
    if path.exists() or not _GLOB.search(spec):
        return str(path.resolve())
    parts = PurePath(spec).parts
    first = next(i for i, part in enumerate(parts) if _GLOB.search(part))
    head = Path(*parts[:first]) if first else Path()
    return str(head.resolve().joinpath(*parts[first:]))


def _parquet_types(path: Path | None, data: bytes | None) -> dict[str, pa.DataType] | None:
    """The Arrow types of a Parquet file's columns (read from its footer); None if not Parquet.

    pandas holds struct, map, decimal, binary, date, time and extension columns as Python
    objects; the file says what they are. A duplicated name gets its first column's type. A
    file that is not Parquet, or whose footer cannot be read, gives None: the types are then
    the frame's own.
    """
    import pyarrow.parquet as pq

    try:
        if data is not None:
            if data[-4:] != b"PAR1":
                return None
            schema = pq.read_schema(pa.BufferReader(data))
        elif path is not None and path.is_file():
            with path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() < 12:
                    return None
                handle.seek(-4, os.SEEK_END)
                if handle.read(4) != b"PAR1":
                    return None
            schema = pq.read_schema(path)
        else:
            return None
    except (OSError, ValueError, pa.ArrowException):
        return None
    types: dict[str, pa.DataType] = {}
    for field in schema:
        types.setdefault(field.name, field.type)
    return types


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as recorded: its identity, version, facets and group composition."""

    namespace: str
    name: str
    version: str | None
    facets: Mapping[str, BaseFacet]
    composition: Composition | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Meta:
    owner: str | Sequence[str] | None = None
    source: str | None = None
    source_uri: str | None = None
    licence: str | None = None
    description: str | None = None

    def facets(self) -> dict[str, BaseFacet]:
        out: dict[str, BaseFacet] = {}
        owners = [self.owner] if isinstance(self.owner, str) else list(self.owner or ())
        if owners:
            out["ownership"] = ownership_dataset.OwnershipDatasetFacet(
                owners=[ownership_dataset.Owner(name=o) for o in owners]
            )
        if self.source or self.source_uri:
            out["dataSource"] = datasource_dataset.DatasourceDatasetFacet(
                name=self.source, uri=self.source_uri
            )
        if self.description:
            out["documentation"] = documentation_dataset.DocumentationDatasetFacet(
                description=self.description
            )
        if self.licence:
            out["tags"] = tags_dataset.TagsDatasetFacet(
                tags=[tags_dataset.TagsDatasetFacetFields("licence", self.licence, "USER")]
            )
        return out


class Tracker:
    """Records the provenance of datasets as OpenLineage events.

    Parameters
    ----------
    namespace : str
        The OpenLineage namespace of the jobs (and of in-memory datasets).
    transport : openlineage.client.transport.Transport, optional
        Where events go. Default: a :class:`~lineage.JsonlFileTransport` appending to
        ``path``.
    path : str or Path, default "openlineage.jsonl"
        The events file of the default transport.
    sensitive_features : sequence of str, default ()
        Columns whose groups are counted in every dataset and every step.
    tolerance : float, default 0.05
        A step is flagged when groups' removed rates differ by more than this (and the
        difference is significant at ``significance_level``; see :func:`step_effect`).
    min_group_size : int, default 30
        Smaller groups are reported but do not decide a flag.
    significance_level : float, default 0.01
    row_digests : bool, default True
        Compute the logical row digest of every frame (≈0.2 s per million rows).

    Examples
    --------
    >>> import pandas as pd
    >>> from lineage import RecordingTransport
    >>> recorder = RecordingTransport()
    >>> tracker = Tracker("demo", recorder, sensitive_features=["g"])
    >>> raw = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, None, 2.0, 3.0]})
    >>> with tracker.run("prepare") as run:
    ...     raw = run.input(raw, name="applications")
    ...     clean = run.step("drop_missing", raw, lambda d: d.dropna())
    >>> [(e["job"]["name"], e["eventType"]) for e in recorder.events]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('prepare', 'START'), ('prepare.drop_missing', 'START'),
     ('prepare.drop_missing', 'COMPLETE'), ('prepare', 'COMPLETE')]
    >>> [(g.value, g.rows_in, g.rows_out) for g in run.effects[0].groups]
    [('a', 2, 1), ('b', 2, 2)]
    """

    def __init__(
        self,
        namespace: str,
        transport: Transport | None = None,
        *,
        path: str | Path = "openlineage.jsonl",
        sensitive_features: Sequence[str] = (),
        tolerance: float = 0.05,
        min_group_size: int = 30,
        significance_level: float = 0.01,
        row_digests: bool = True,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValueError(
                "The 'namespace' parameter of Tracker must be a non-empty string. "
                f"Got {namespace!r}."
            )
        if not 0 <= tolerance <= 1:
            raise ValueError(
                f"The 'tolerance' parameter of Tracker must be in [0, 1]. Got {tolerance!r}."
            )
        if not 0 < significance_level <= 1:
            raise ValueError(
                "The 'significance_level' parameter of Tracker must be in (0, 1]. "
                f"Got {significance_level!r}."
            )
        if isinstance(sensitive_features, str):
            sensitive_features = [sensitive_features]
        self.namespace = namespace
        self.transport = transport if transport is not None else JsonlFileTransport(path)
        self.sensitive_features = tuple(sensitive_features)
        self.tolerance = tolerance
        self.min_group_size = min_group_size
        self.significance_level = significance_level
        self.row_digests = row_digests
        self._known: dict[int, tuple[weakref.ref[Any] | None, Any, DatasetRef]] = {}

    @contextlib.contextmanager
    def run(
        self,
        job: str,
        *,
        description: str | None = None,
        owners: Sequence[str] = (),
        parent: TrackedRun | None = None,
    ) -> Iterator[TrackedRun]:
        """Open a run of ``job``: START now, COMPLETE at the end, FAIL if the block raises.

        Parameters
        ----------
        job : str
            The job's name (stable across runs: re-runs are runs of the same job).
        description : str, optional
            The job's ``documentation`` facet.
        owners : sequence of str
            The job's ``ownership`` facet.
        parent : TrackedRun, optional
            Makes this run a child of another (a ``parent`` run facet).
        """
        if not isinstance(job, str) or not job:
            raise ValueError(
                f"The 'job' parameter of Tracker.run must be a non-empty string. Got {job!r}."
            )
        run = TrackedRun(self, job, description=description, owners=tuple(owners), parent=parent)
        run._emit("START")
        try:
            yield run
        except BaseException as exc:
            run._emit("FAIL", error=exc)
            raise
        run._emit("COMPLETE")

    # --- datasets known by object ----------------------------------------------------------

    def _remember(self, obj: Any, ref: DatasetRef) -> None:
        try:
            self._known[id(obj)] = (weakref.ref(obj), None, ref)
        except TypeError:  # not weak-referenceable: keep it alive so its id stays its own
            self._known[id(obj)] = (None, obj, ref)

    def _lookup(self, obj: Any) -> DatasetRef | None:
        entry = self._known.get(id(obj))
        if entry is None:
            return None
        wref, strong, ref = entry
        alive = strong if wref is None else wref()
        return ref if alive is obj else None

    def _describe(
        self,
        obj: Any,
        *,
        namespace: str,
        name: str,
        path: Path | None = None,
        data: bytes | None = None,
        meta: _Meta = _Meta(),
        derived_from: Sequence[tuple[DatasetRef, pd.DataFrame]] = (),
    ) -> DatasetRef:
        facets: dict[str, BaseFacet] = {}
        file_digest = size = None
        if data is not None:
            file_digest, size = hashlib.sha256(data).hexdigest(), len(data)
        elif path is not None and path.is_file():
            file_digest, size = file_sha256(path), path.stat().st_size
        comp = None
        columns: tuple[str, ...] = ()
        digest = ContentDigestDatasetFacet(fileSha256=file_digest, bytes=size)
        if isinstance(obj, pd.DataFrame):
            columns = tuple(str(c) for c in obj.columns)
            facets["schema"] = schema_facet(obj, _parquet_types(path, data))
            facets["dataQualityMetrics"] = quality_facet(obj, size=size)
            if self.row_digests:
                digest.rowDigest = row_digest(obj)
                digest.rowDigestAlgorithm = "fairtrail-rows-v1"
            comp = composition(obj, self.sensitive_features)
            if comp is not None:
                facets["fairtrail_groupComposition"] = comp.to_facet()
            lineage = column_lineage_facet(obj, [(r.namespace, r.name, f) for r, f in derived_from])
            if lineage is not None:
                facets["columnLineage"] = lineage
        elif obj is not None:
            digest.objectType = f"{type(obj).__module__}.{type(obj).__qualname__}"
            with contextlib.suppress(Exception):  # an object pickle cannot write: no digest
                blob = pickle.dumps(obj, protocol=5)
                digest.objectSha256 = hashlib.sha256(blob).hexdigest()
            facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
                datasetType="MODEL" if hasattr(obj, "fit") else "OBJECT"
            )
        version = file_digest or digest.rowDigest or digest.objectSha256
        if version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=version
            )
        facets["fairtrail_contentDigest"] = digest
        facets.update(meta.facets())
        return DatasetRef(namespace, name, version, facets, comp, columns)


class TrackedRun:
    """One run of a job, opened by :meth:`Tracker.run`; records what it reads, does and writes.

    Attributes
    ----------
    run_id : str
    job : str
    inputs, outputs : list of DatasetRef
        What the run read and wrote (the files; steps' in-memory datasets are their own).
    effects : list of StepEffect
        Each step's effect on the sensitive groups, in order.
    """

    def __init__(
        self,
        tracker: Tracker,
        job: str,
        *,
        description: str | None = None,
        owners: tuple[str, ...] = (),
        parent: TrackedRun | None = None,
        job_type: str = "JOB",
    ) -> None:
        self.tracker = tracker
        self.job = job
        self.run_id = str(generate_new_uuid())
        self.description = description
        self.owners = owners
        self.parent = parent
        self.job_type = job_type
        self.inputs: list[DatasetRef] = []
        self.outputs: list[DatasetRef] = []
        self.effects: list[StepEffect] = []
        self.run_facets: dict[str, BaseFacet] = {}

    # --- reading -----------------------------------------------------------------------------

    def read_csv(
        self,
        path: str | Path,
        *,
        owner: str | Sequence[str] | None = None,
        source: str | None = None,
        source_uri: str | None = None,
        licence: str | None = None,
        description: str | None = None,
        **read_kwargs: Any,
    ) -> pd.DataFrame:
        """Read a CSV file with :func:`pandas.read_csv` and record it as an input.

        ``owner``, ``source`` (a name), ``source_uri``, ``licence`` and ``description`` go
        into the dataset's ``ownership``, ``dataSource``, ``tags`` and ``documentation``
        facets. Other keywords go to pandas.
        """
        frame = pd.read_csv(path, **read_kwargs)
        meta = _Meta(owner, source, source_uri, licence, description)
        return self._input_file(frame, Path(path), meta)

    def read_parquet(
        self,
        path: str | Path,
        *,
        owner: str | Sequence[str] | None = None,
        source: str | None = None,
        source_uri: str | None = None,
        licence: str | None = None,
        description: str | None = None,
        **read_kwargs: Any,
    ) -> pd.DataFrame:
        """Read a Parquet file with :func:`pandas.read_parquet` and record it as an input."""
        frame = pd.read_parquet(path, **read_kwargs)
        meta = _Meta(owner, source, source_uri, licence, description)
        return self._input_file(frame, Path(path), meta)

    def input(
        self,
        frame: pd.DataFrame,
        *,
        path: str | Path | None = None,
        name: str | None = None,
        namespace: str | None = None,
        owner: str | Sequence[str] | None = None,
        source: str | None = None,
        source_uri: str | None = None,
        licence: str | None = None,
        description: str | None = None,
        data: bytes | None = None,
    ) -> pd.DataFrame:
        """Record a frame read by other means as an input of this run; returns the frame.

        Give ``path`` (the file it was read from: digested, named by OpenLineage's file
        convention; ``data``, the file's bytes, when they are not at ``path``) or ``name``
        (and optionally ``namespace``, default the tracker's).
        """
        meta = _Meta(owner, source, source_uri, licence, description)
        if path is not None:
            return self._input_file(frame, Path(path), meta, data)
        if not name:
            raise ValueError("TrackedRun.input needs 'path' or 'name' to identify the dataset.")
        ref = self.tracker._describe(
            frame, namespace=namespace or self.tracker.namespace, name=name, meta=meta
        )
        self.tracker._remember(frame, ref)
        self.inputs.append(ref)
        return frame

    def input_files(
        self,
        inputs: InputFiles,
        counted: Counted,
        *,
        owner: str | Sequence[str] | None = None,
        source: str | None = None,
        source_uri: str | None = None,
        licence: str | None = None,
        description: str | None = None,
    ) -> DatasetRef:
        """Record files an engine counted out of core as one input dataset, without reading rows.

        The dataset is named by OpenLineage's file convention: namespace ``file``, name the
        resolved ``inputs.spec`` (the file, the folder, or the glob pattern with the folders
        before its first wildcard resolved). One file read in memory by :meth:`input` gets
        the same name, so the graph connects the two.

        Its facets come from the files' metadata (and one small file's bytes) and from
        ``counted``; no row is read:

        - ``fairtrail_contentDigest``: for one file of at most
          :data:`MAX_FILE_SHA256_BYTES` (2 GiB), ``fileSha256`` and ``bytes``, as for a file
          read in memory. For a larger file or several files, reading every byte would cost
          as much as the audit: ``fileListSha256`` (algorithm ``fairtrail-filelist-v1``, see
          :func:`~lineage.file_list_digest`), ``files`` (their number) and ``bytes`` (their
          total). The file-list digest covers each file's path relative to their common
          folder, size and modification time (ns) in ``inputs.files`` order and, for
          Parquet, its footer (row count, row groups, schema, writer, and the sha256 of the
          footer with every row group's column-chunk statistics). It proves which files of
          which sizes, times and Parquet layouts were read, **not their bytes**: an edit
          that keeps the size and the modification time (and, for Parquet, the footer) is
          not detected. No row digest (it needs the rows). ``version`` is the file's sha256
          or the file-list digest.
        - ``schema``: every column of the input in order (the engine's), with its Arrow type
          from the first file when Parquet, and nested ``fields`` for struct, list, map and
          union columns (a struct's fields, a list's element, a map's key and value); a
          CSV's columns are named without types (the engine's types are not in
          ``counted``).
        - ``dataQualityMetrics``: ``rowCount``, ``bytes``, and per column ``nullCount`` and
          ``count`` (non-missing values), from the engine's missing counts.
        - ``fairtrail_groupComposition``: rows per group of the tracker's sensitive features
          and per intersectional cell, from the counted cells
          (:meth:`Composition.from_statistics`: missing values are told apart from a value
          ``"unknown"``; labels are the audit's categories).
        - ``ownership``, ``dataSource``, ``documentation`` and a ``licence`` tag, when given.

        The run's ``processing_engine`` facet (on the events after START) names the engine
        that counted (``duckdb`` or ``spark``) and its package's version.

        Parameters
        ----------
        inputs : audit._engines.InputFiles
            The files, in the order their rows were counted.
        counted : audit._engines.Counted
            What the engine counted from them.
        owner, source, source_uri, licence, description
            As for :meth:`read_csv`.

        Returns
        -------
        DatasetRef
            The dataset as recorded (also appended to :attr:`inputs`).

        Raises
        ------
        LineageError
            A Parquet file's footer cannot be read.

        Examples
        --------
        >>> import pandas as pd, tempfile, pathlib
        >>> from audit import count_statistics, prepare_data
        >>> from audit._engines import Counted, find_files
        >>> from lineage import RecordingTransport
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> frame = pd.DataFrame({"sex": ["F", "M", None, "F"], "y": ["1", "0", "1", "0"],
        ...                       "p": ["1", "1", "0", "0"]})
        >>> for i in (0, 1):
        ...     frame.iloc[2 * i : 2 * i + 2].to_parquet(folder / f"part-{i}.parquet")
        >>> stats = count_statistics(prepare_data(frame, y_true="y", y_pred="p",
        ...                                       sensitive_features=["sex"], pos_label="1"))
        >>> counted = Counted(stats, "1", ("0", "1"), {"sex": 1}, 4, "duckdb")
        >>> recorder = RecordingTransport()
        >>> with Tracker("demo", recorder, sensitive_features=["sex"]).run("audit") as run:
        ...     ref = run.input_files(find_files(folder), counted)
        >>> ref.name == str(folder.resolve()), ref.facets["fairtrail_contentDigest"].files
        (True, 2)
        >>> [(g["value"] if "value" in g else None, g["count"])
        ...  for g in ref.facets["fairtrail_groupComposition"].groups]
        [('F', 2), ('M', 1), (None, 1)]
        >>> recorder.events[-1]["run"]["facets"]["processing_engine"]["name"]
        'duckdb'
        """
        import pyarrow.parquet as pq

        meta = _Meta(owner, source, source_uri, licence, description)
        files = tuple(Path(p) for p in inputs.files)
        parquet = inputs.format == "parquet"
        total = sum(p.stat().st_size for p in files)
        digest = ContentDigestDatasetFacet(bytes=total)
        if len(files) == 1 and total <= MAX_FILE_SHA256_BYTES:
            digest.fileSha256 = version = file_sha256(files[0])
        else:
            digest.fileListSha256 = version = file_list_digest(files, parquet=parquet)
            digest.fileListAlgorithm = FILE_LIST_ALGORITHM
            digest.files = len(files)
        statistics = counted.statistics
        columns = tuple(statistics.missing_columns)
        types: dict[str, pa.DataType] = {}
        if parquet:
            try:
                schema = pq.read_schema(files[0])
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise LineageError(
                    f"Cannot read the Parquet schema of '{files[0]}': {exc}"
                ) from None
            for field in schema:  # a duplicated name: its first field
                types.setdefault(field.name, field.type)
        nulls = np.asarray(statistics.missing_count, dtype=np.int64).sum(axis=0)
        null_counts: dict[str, int] = {}
        for column, n in zip(columns, nulls.tolist(), strict=True):
            null_counts.setdefault(str(column), int(n))
        facets: dict[str, BaseFacet] = {
            "schema": columns_schema_facet([(c, types.get(c)) for c in columns]),
            "dataQualityMetrics": counts_quality_facet(counted.n_rows, null_counts, size=total),
        }
        comp = Composition.from_statistics(statistics, self.tracker.sensitive_features)
        if comp is not None:
            facets["fairtrail_groupComposition"] = comp.to_facet()
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=version
        )
        facets["fairtrail_contentDigest"] = digest
        facets.update(meta.facets())
        ref = DatasetRef(FILE_NAMESPACE, _spec_name(inputs.spec), version, facets, comp, columns)
        self.inputs.append(ref)
        engine = counted.engine
        self.run_facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
            version=_version(_ENGINE_PACKAGES.get(engine, engine)),
            name=engine,
            openlineageAdapterVersion=_version("openlineage-python"),
        )
        return ref

    def _input_file(
        self, frame: pd.DataFrame, path: Path, meta: _Meta, data: bytes | None = None
    ) -> pd.DataFrame:
        ref = self.tracker._describe(
            frame,
            namespace=FILE_NAMESPACE,
            name=str(path.resolve()),
            path=path,
            data=data,
            meta=meta,
        )
        self.tracker._remember(frame, ref)
        self.inputs.append(ref)
        return frame

    # --- steps -------------------------------------------------------------------------------

    def _child(self, name: str, description: str | None, job_type: str) -> TrackedRun:
        return TrackedRun(
            self.tracker,
            f"{self.job}.{name}",
            description=description,
            parent=self,
            job_type=job_type,
        )

    def _ref_of(self, obj: Any, name: str) -> DatasetRef:
        ref = self.tracker._lookup(obj)
        if ref is None:  # produced outside the tracker: recorded as an in-memory dataset
            ref = self.tracker._describe(obj, namespace=self.tracker.namespace, name=name)
            self.tracker._remember(obj, ref)
        return ref

    def step(
        self,
        name: str,
        data: Any,
        fn: Callable[..., Any],
        *,
        description: str | None = None,
        outputs: Sequence[str] | None = None,
    ) -> Any:
        """Run ``fn`` on ``data`` as a recorded step; return what ``fn`` returns.

        Parameters
        ----------
        name : str
            The step's name; its job is ``<job>.<name>``.
        data : object or tuple
            The step's input; a tuple is several inputs, passed as ``fn(*data)``.
        fn : callable
            The step. A list or tuple it returns is several outputs (e.g. a split).
        description : str, optional
        outputs : sequence of str, optional
            Names of the outputs (default ``output`` or ``output_0``, ``output_1``…).

        Returns
        -------
        object
            What ``fn`` returned, unchanged.

        Raises
        ------
        Exception
            Whatever ``fn`` raises, after a FAIL event for the step.
        """
        args = data if isinstance(data, tuple) else (data,)
        child = self._child(name, description, "TASK")
        in_refs = [
            self._ref_of(a, f"{child.job}.input" + (f"_{i}" if len(args) > 1 else ""))
            for i, a in enumerate(args)
        ]
        child.inputs = list(in_refs)
        child._emit("START")
        try:
            result = fn(*args)
            items = list(result) if isinstance(result, (list, tuple)) else [result]
            single = not isinstance(result, (list, tuple))
            names = (
                list(outputs)
                if outputs is not None
                else (["output"] if single else [f"output_{i}" for i in range(len(items))])
            )
            if len(names) != len(items):
                raise LineageError(
                    f"Step '{name}': 'outputs' names {len(names)} outputs but the step "
                    f"returned {len(items)}."
                )
            frames_in = [
                (r, a) for r, a in zip(in_refs, args, strict=True) if isinstance(a, pd.DataFrame)
            ]
            out_refs = []
            for out_name, item in zip(names, items, strict=True):
                ds_name = child.job if single and outputs is None else f"{child.job}.{out_name}"
                ref = self.tracker._describe(
                    item,
                    namespace=self.tracker.namespace,
                    name=ds_name,
                    meta=_Meta(
                        description=f"Output '{out_name}' of step '{name}' of job '{self.job}'."
                    ),
                    derived_from=frames_in,
                )
                self.tracker._remember(item, ref)
                out_refs.append((out_name, ref))
            child.outputs = [r for _, r in out_refs]
            before = next((r.composition for r, _ in frames_in if r.composition), None)
            after = [(n, r.composition) for n, r in out_refs if r.composition is not None]
            if before is not None and after:
                effect = step_effect(
                    name,
                    before,
                    after,
                    tolerance=self.tracker.tolerance,
                    min_group_size=self.tracker.min_group_size,
                    significance_level=self.tracker.significance_level,
                )
                child.run_facets["fairtrail_stepEffect"] = effect.to_facet()
                self.effects.append(effect)
        except BaseException as exc:
            child._emit("FAIL", error=exc)
            raise
        child._emit("COMPLETE")
        return result

    # --- writing -----------------------------------------------------------------------------

    def write_parquet(
        self,
        frame: pd.DataFrame,
        path: str | Path,
        *,
        owner: str | Sequence[str] | None = None,
        licence: str | None = None,
        description: str | None = None,
        **write_kwargs: Any,
    ) -> Path:
        """Write ``frame`` to Parquet atomically and record the file as an output."""
        return self._write(
            frame,
            Path(path),
            "parquet",
            _Meta(owner, None, None, licence, description),
            write_kwargs,
        )

    def write_csv(
        self,
        frame: pd.DataFrame,
        path: str | Path,
        *,
        owner: str | Sequence[str] | None = None,
        licence: str | None = None,
        description: str | None = None,
        **write_kwargs: Any,
    ) -> Path:
        """Write ``frame`` to CSV atomically (no index by default) and record it as an output."""
        write_kwargs.setdefault("index", False)
        return self._write(
            frame, Path(path), "csv", _Meta(owner, None, None, licence, description), write_kwargs
        )

    def _write(
        self, frame: pd.DataFrame, path: Path, kind: str, meta: _Meta, kwargs: dict[str, Any]
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            if kind == "parquet":
                frame.to_parquet(tmp, **kwargs)
            else:
                frame.to_csv(tmp, **kwargs)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            existed = path.exists()
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.output(frame, path=path, meta=meta, existed=existed)
        return path

    def output(
        self,
        obj: Any,
        *,
        path: str | Path | None = None,
        name: str | None = None,
        namespace: str | None = None,
        data: bytes | None = None,
        owner: str | Sequence[str] | None = None,
        licence: str | None = None,
        description: str | None = None,
        facets: Mapping[str, BaseFacet] | None = None,
        meta: _Meta | None = None,
        existed: bool | None = None,
    ) -> DatasetRef:
        """Record ``obj`` (a frame, a model, or None for a file only) as written by this run.

        Give ``path`` (where it is or will be stored; ``data``, its bytes, when the file is
        not written yet) or ``name``/``namespace``. A frame that came out of a step is linked
        to it by a child job ``<job>.write_<file name>``. ``facets`` adds facets (e.g. an
        audit's ``fairtrail_auditResult``).
        """
        meta = meta or _Meta(owner=owner, licence=licence, description=description)
        if path is not None:
            p = Path(path)
            ns, ds_name = FILE_NAMESPACE, str(p.resolve())
            if existed is None:
                existed = p.exists() and data is not None
        elif name:
            p, ns, ds_name = None, namespace or self.tracker.namespace, name
        else:
            raise ValueError("TrackedRun.output needs 'path' or 'name' to identify the dataset.")
        source = self.tracker._lookup(obj) if obj is not None else None
        frames = [(source, obj)] if source is not None and isinstance(obj, pd.DataFrame) else []
        ref = self.tracker._describe(
            obj, namespace=ns, name=ds_name, path=p, data=data, meta=meta, derived_from=frames
        )
        extra: dict[str, BaseFacet] = dict(facets or {})
        if p is not None:
            state = lifecycle_state_change_dataset.LifecycleStateChange
            extra["lifecycleStateChange"] = (
                lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                    lifecycleStateChange=state.OVERWRITE if existed else state.CREATE
                )
            )
        ref = DatasetRef(
            ref.namespace,
            ref.name,
            ref.version,
            {**ref.facets, **extra},
            ref.composition,
            ref.columns,
        )
        if source is not None and (source.namespace, source.name) != (ns, ds_name):
            label = Path(ds_name).name if p is not None else ds_name
            writer = self._child(f"write_{label}", f"Write {ds_name}", "TASK")
            writer.inputs, writer.outputs = [source], [ref]
            writer._emit("START")
            writer._emit("COMPLETE")
        self.outputs.append(ref)
        return ref

    # --- events ------------------------------------------------------------------------------

    def _job_facets(self) -> dict[str, BaseFacet]:
        facets: dict[str, BaseFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="FAIRTRAIL", jobType=self.job_type
            )
        }
        if self.description:
            facets["documentation"] = documentation_job.DocumentationJobFacet(
                description=self.description
            )
        if self.owners:
            facets["ownership"] = ownership_job.OwnershipJobFacet(
                owners=[ownership_job.Owner(name=o) for o in self.owners]
            )
        return facets

    def _run_facets(self, event_type: str, error: BaseException | None) -> dict[str, BaseFacet]:
        facets: dict[str, BaseFacet] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=FAIRTRAIL_VERSION,
                name="fairtrail",
                openlineageAdapterVersion=_version("openlineage-python"),
            )
        }
        if self.parent is not None:
            root = self.parent
            while root.parent is not None:
                root = root.parent
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=self.parent.run_id),
                job=parent_run.Job(namespace=self.tracker.namespace, name=self.parent.job),
                root=parent_run.Root(
                    run=parent_run.RootRun(runId=root.run_id),
                    job=parent_run.RootJob(namespace=self.tracker.namespace, name=root.job),
                ),
            )
        if event_type != "START":
            facets.update(self.run_facets)
        if error is not None:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"{type(error).__name__}: {error}",
                programmingLanguage="python",
                stackTrace="".join(traceback.format_exception(error)),
            )
        return facets

    def _emit(self, event_type: str, error: BaseException | None = None) -> None:
        ending = event_type != "START"

        def own(facets: Mapping[str, BaseFacet]) -> dict[str, Any]:
            for facet in facets.values():
                facet._producer = PRODUCER
            return dict(facets)

        event = event_v2.RunEvent(
            eventType=event_v2.RunState[event_type],
            eventTime=_now(),
            run=event_v2.Run(runId=self.run_id, facets=own(self._run_facets(event_type, error))),
            job=event_v2.Job(
                namespace=self.tracker.namespace, name=self.job, facets=own(self._job_facets())
            ),
            inputs=[
                event_v2.InputDataset(namespace=r.namespace, name=r.name, facets=own(r.facets))
                for r in self.inputs
            ],
            outputs=[
                event_v2.OutputDataset(namespace=r.namespace, name=r.name, facets=own(r.facets))
                for r in (self.outputs if ending else [])
            ],
            producer=PRODUCER,
        )
        self.tracker.transport.emit(event)
