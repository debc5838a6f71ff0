"""fairtrail reports: the PDF sign-off report of an audit bundle, and its verification.

:func:`render_report` renders a bundle's sealed PDF/A-3b report (templates and one render
function; every figure and sentence is prepared in Python, the template only lays it out);
:func:`verify_report` proves a report was not altered and belongs to its bundle.

The report's wording is public too, so that the review app shows what the report prints:
the criteria and findings (:func:`criteria_rows`, :func:`findings`, :data:`GROUP_COLUMNS`),
the provenance section (:func:`provenance_section`), and the sign-off section, which words a
decision status (:class:`DecisionStatusView`, as ``fairtrail.signoff.decision_status``
returns it) without deciding anything: :func:`signoff_section`, :func:`status_line`,
:func:`status_note`, :func:`signoff_rows`.
"""

# First: importing audit checks that audit, lineage and reports are fairtrail's.
import audit  # noqa: F401 - imported for that check, in audit/_origin.py
from reports._context import GROUP_COLUMNS, criteria_rows, findings
from reports._report import REPORT_FILE, Rendered, render_html, render_report, verify_report
from reports._sections import (
    DecisionRecordView,
    DecisionStatusView,
    provenance_section,
    signoff_rows,
    signoff_section,
    status_line,
    status_note,
)

__all__ = [
    "GROUP_COLUMNS",
    "REPORT_FILE",
    "DecisionRecordView",
    "DecisionStatusView",
    "Rendered",
    "criteria_rows",
    "findings",
    "provenance_section",
    "render_html",
    "render_report",
    "signoff_rows",
    "signoff_section",
    "status_line",
    "status_note",
    "verify_report",
]
