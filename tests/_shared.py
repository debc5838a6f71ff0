"""Where the shared, non-project material lives (../shared): OpenLineage schemas and fixtures.

Tests that need it skip with this reason when it is absent (CI clones the project alone).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("FAIRTRAIL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SPEC = SHARED / "openlineage-spec"
MARQUEZ = SHARED / "marquez-fixtures"

needs_marquez = pytest.mark.skipif(
    not (MARQUEZ / "metadata.template.json").is_file(),
    reason=f"the Marquez fixtures are not at {MARQUEZ} (set FAIRTRAIL_SHARED)",
)
needs_spec = pytest.mark.skipif(
    not (SPEC / "2-0-2" / "OpenLineage.json").is_file(),
    reason=f"the official OpenLineage schemas are not at {SPEC} (set FAIRTRAIL_SHARED)",
)
