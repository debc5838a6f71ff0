"""fairtrail lineage: dataset provenance as OpenLineage events.

- :class:`Tracker` records runs, steps, reads and writes as OpenLineage events, with content
  digests (:func:`file_sha256`, :func:`row_digest`), group composition and per-step effects on
  every sensitive group (:func:`composition`, :func:`step_effect`). Files an engine counted
  out of core are recorded from its counts (:meth:`TrackedRun.input_files`,
  :meth:`Composition.from_statistics`) with a file-list digest (:func:`file_list_digest`).
- Transports: :class:`JsonlFileTransport` (default), :class:`RecordingTransport`.
- HTTP (Marquez): :class:`BestEffortHttpTransport` sends live and never raises;
  :func:`push_events` sends a file's events later, in order (:class:`HttpEndpoint`).
- :func:`validate_events` checks events offline against the published JSON Schemas, facets
  included; fairtrail's own facet schemas ship in ``lineage/spec``.
"""

# First: importing audit checks that audit, lineage and reports are fairtrail's.
import audit  # noqa: F401 - imported for that check, in audit/_origin.py
from lineage._audit import audit_result_facet
from lineage._digest import (
    FILE_LIST_ALGORITHM,
    file_list_digest,
    file_list_entries,
    file_sha256,
    row_digest,
)
from lineage._facets import (
    FAIRTRAIL_SPEC_PREFIX,
    AuditResultDatasetFacet,
    ContentDigestDatasetFacet,
    GroupCompositionDatasetFacet,
    StepEffectRunFacet,
)
from lineage._graph import (
    UNVERSIONED,
    DatasetNode,
    DatasetVersion,
    Edge,
    JobNode,
    LineageGraph,
    RunRecord,
    build_graph,
    dataset_id,
    job_id,
)
from lineage._groups import JOINT, Composition, GroupEffect, StepEffect, composition, step_effect
from lineage._http import (
    BestEffortHttpTransport,
    Delivery,
    DeliverySummary,
    EndpointError,
    HttpEndpoint,
    PushReport,
    push_events,
)
from lineage._layout import format_text, to_dot, to_svg
from lineage._tracker import MAX_FILE_SHA256_BYTES, PRODUCER, DatasetRef, TrackedRun, Tracker
from lineage._transport import (
    JsonlFileTransport,
    RecordingTransport,
    TeeTransport,
    events_to_jsonl,
)
from lineage._validate import (
    LineageError,
    Problem,
    SchemaStore,
    ValidationReport,
    read_events,
    validate_events,
)

__all__ = [
    "FAIRTRAIL_SPEC_PREFIX",
    "FILE_LIST_ALGORITHM",
    "JOINT",
    "MAX_FILE_SHA256_BYTES",
    "PRODUCER",
    "UNVERSIONED",
    "AuditResultDatasetFacet",
    "BestEffortHttpTransport",
    "Composition",
    "ContentDigestDatasetFacet",
    "DatasetNode",
    "DatasetRef",
    "DatasetVersion",
    "Delivery",
    "DeliverySummary",
    "Edge",
    "EndpointError",
    "GroupCompositionDatasetFacet",
    "GroupEffect",
    "HttpEndpoint",
    "JobNode",
    "JsonlFileTransport",
    "LineageError",
    "LineageGraph",
    "Problem",
    "PushReport",
    "RecordingTransport",
    "RunRecord",
    "SchemaStore",
    "StepEffect",
    "StepEffectRunFacet",
    "TeeTransport",
    "TrackedRun",
    "Tracker",
    "ValidationReport",
    "audit_result_facet",
    "build_graph",
    "composition",
    "dataset_id",
    "events_to_jsonl",
    "file_list_digest",
    "file_list_entries",
    "file_sha256",
    "format_text",
    "job_id",
    "push_events",
    "read_events",
    "row_digest",
    "step_effect",
    "to_dot",
    "to_svg",
    "validate_events",
]
