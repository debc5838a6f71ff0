"""fairtrail lineage: dataset provenance as OpenLineage events.

So far: offline validation of OpenLineage events against the published JSON Schemas, facets
included (:func:`validate_events`). Recording events is the rest of its issue.
"""

from lineage._validate import (
    LineageError,
    Problem,
    SchemaStore,
    ValidationReport,
    read_events,
    validate_events,
)

__all__ = [
    "LineageError",
    "Problem",
    "SchemaStore",
    "ValidationReport",
    "read_events",
    "validate_events",
]
