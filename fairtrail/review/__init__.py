"""The review app's logic: what each page shows, from an audit bundle's aggregated results.

``app.py`` is a shell (widgets → one call here → display); everything a reviewer sees is
computed and worded here, so it is tested without a browser. Pages read the bundle's
aggregated files (``result.json``, the trade-off, the lineage events), never its rows: the
cost of an interaction does not grow with the size of the audited data.

Tables are :class:`pandas.DataFrame` objects with undefined values as NaN (shown as empty
cells, never as 0) and a ``note`` column saying why; charts are Vega-Lite specifications
(plain dicts), which the app hands to ``st.vega_lite_chart``.

Which sign-off decision stands is the sign-off module's to say
(:class:`fairtrail.signoff.DecisionStatus`); the Sign-off page words it as the report does
(:func:`status_line`, :func:`status_note`, :func:`records_frame`).
"""

from __future__ import annotations

from fairtrail.review._bundles import (
    BundleEntry,
    Review,
    bundle_entry,
    find_bundles,
    open_review,
    unpack_bundle,
)
from fairtrail.review._compare import (
    baselines,
    comparability,
    compare_criteria,
    compare_disparities,
    compare_groups,
    comparison_summary,
)
from fairtrail.review._explore import (
    criteria_charts,
    csv_bytes,
    group_chart,
    group_table,
    metric_choices,
    overview,
    provenance,
)
from fairtrail.review._signing import (
    chain_summary,
    export_report,
    record_signoff,
    records_frame,
    revocable,
    signoff_status,
    standing_decisions,
    status_line,
    status_note,
)
from fairtrail.review._tradeoff import (
    Selection,
    candidate_changes,
    cost_table,
    frontier_chart,
    frontier_table,
    limit_range,
    select_candidate,
)

__all__ = [
    "BundleEntry",
    "Review",
    "Selection",
    "baselines",
    "bundle_entry",
    "candidate_changes",
    "chain_summary",
    "comparability",
    "compare_criteria",
    "compare_disparities",
    "compare_groups",
    "comparison_summary",
    "cost_table",
    "criteria_charts",
    "csv_bytes",
    "export_report",
    "find_bundles",
    "frontier_chart",
    "frontier_table",
    "group_chart",
    "group_table",
    "limit_range",
    "metric_choices",
    "open_review",
    "overview",
    "provenance",
    "record_signoff",
    "records_frame",
    "revocable",
    "select_candidate",
    "signoff_status",
    "standing_decisions",
    "status_line",
    "status_note",
    "unpack_bundle",
]
