"""fairtrail lineage: dataset provenance as OpenLineage events.

So far: content digests of files and of logical rows (:func:`file_sha256`,
:func:`row_digest`), and offline validation of OpenLineage events against the published JSON
Schemas, facets included (:func:`validate_events`). Recording events is the rest of its issue.
"""

from lineage._digest import file_sha256, row_digest
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
    "file_sha256",
    "read_events",
    "row_digest",
    "validate_events",
]
