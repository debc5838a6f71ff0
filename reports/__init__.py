"""fairtrail reports: the PDF sign-off report of an audit bundle, and its verification.

:func:`render_report` renders a bundle's sealed PDF/A-3b report (templates and one render
function; every figure and sentence is prepared in Python, the template only lays it out);
:func:`verify_report` proves a report was not altered and belongs to its bundle.
"""

from reports._report import REPORT_FILE, Rendered, render_html, render_report, verify_report

__all__ = ["REPORT_FILE", "Rendered", "render_html", "render_report", "verify_report"]
