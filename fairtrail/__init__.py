"""fairtrail: fairness and data-provenance audits of machine-learning models.

``import fairtrail`` is the front door to the user API. It is fast: it imports neither pandas
nor DuckDB, and each name below imports the package that defines it when it is first used.
Each is that package's own object (``fairtrail.Bundle is audit.Bundle``):

- auditing: :func:`audit_predictions`, :func:`run_audit`, :func:`load_spec`, :func:`parse_spec`,
  :class:`AuditOptions`, :class:`Policy`, :class:`Threshold`, :class:`AuditResult` (from
  ``audit``);
- bundles: :class:`Bundle`, :func:`read_bundle`, :func:`verify_bundle` (``audit``);
- the sign-off report: :func:`render_report`, :func:`verify_report` (``reports``); the
  sign-offs themselves: :class:`SignoffStore` (``fairtrail.signoff``);
- the fairness gate in tests: :func:`assert_fair` (``fairtrail.gate``);
- provenance: :class:`Tracker`, :func:`read_events`, :func:`validate_events`,
  :func:`build_graph` (``lineage``);
- errors: :class:`FairtrailError` and its subclasses :class:`DataValidationError`,
  :class:`SpecError`, :class:`BundleError`, :class:`LineageError`.

The packages stay importable as they were (``audit``, ``lineage``, ``reports``,
``fairtrail.gate``, ...), and the command line is :mod:`fairtrail.cli`. A name that needs
``audit`` first checks that ``audit`` is fairtrail's own, not another distribution's package
of that name; ``audit`` then checks ``lineage`` and ``reports`` (see ``audit/_origin.py``).

Examples
--------
>>> import fairtrail
>>> result = fairtrail.audit_predictions(
...     [0, 1, 1, 0] * 50, [0, 1, 0, 0, 1, 1, 1, 0] * 25,
...     sensitive_features={"sex": (["F"] * 4 + ["M"] * 4) * 25},
...     options=fairtrail.AuditOptions(intervals=False))
>>> [group.metrics["selection_rate"].value for group in result.attribute("sex").groups]
[0.25, 0.75]
>>> fairtrail.assert_fair(result, "demographic_parity_difference", threshold=0.6,
...                       decision_rule="point")  # 0.75 - 0.25 = 0.5 <= 0.6: passes
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~7 ms)

if TYPE_CHECKING:  # what a type checker sees; at run time, each is imported on first use
    from audit import (
        AuditOptions,
        AuditResult,
        Bundle,
        BundleError,
        DataValidationError,
        FairtrailError,
        Policy,
        SpecError,
        Threshold,
        audit_predictions,
        load_spec,
        parse_spec,
        read_bundle,
        run_audit,
        verify_bundle,
    )
    from fairtrail.gate import assert_fair
    from fairtrail.signoff import SignoffStore
    from lineage import LineageError, Tracker, build_graph, read_events, validate_events
    from reports import render_report, verify_report

    __version__: str

__all__ = [
    "AuditOptions",
    "AuditResult",
    "Bundle",
    "BundleError",
    "DataValidationError",
    "FairtrailError",
    "LineageError",
    "Policy",
    "SignoffStore",
    "SpecError",
    "Threshold",
    "Tracker",
    "__version__",
    "assert_fair",
    "audit_predictions",
    "build_graph",
    "load_spec",
    "parse_spec",
    "read_bundle",
    "read_events",
    "render_report",
    "run_audit",
    "validate_events",
    "verify_bundle",
    "verify_report",
]

# Where each name of __all__ is defined (the imports above, as data for run time).
_SOURCES = {
    "audit": (
        "AuditOptions",
        "AuditResult",
        "Bundle",
        "BundleError",
        "DataValidationError",
        "FairtrailError",
        "Policy",
        "SpecError",
        "Threshold",
        "audit_predictions",
        "load_spec",
        "parse_spec",
        "read_bundle",
        "run_audit",
        "verify_bundle",
    ),
    "fairtrail.gate": ("assert_fair",),
    "fairtrail.signoff": ("SignoffStore",),
    "lineage": ("LineageError", "Tracker", "build_graph", "read_events", "validate_events"),
    "reports": ("render_report", "verify_report"),
}
_SOURCE = {name: module for module, names in _SOURCES.items() for name in names}
# The sources that import audit (the sign-off store needs only the standard library).
_THROUGH_AUDIT = frozenset(_SOURCES) - {"fairtrail.signoff"}

#: The folder that holds fairtrail's packages: fairtrail, audit, lineage and reports.
_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _not_fairtrails(where: str, why: str, advice: str) -> ImportError:
    return ImportError(
        f"the 'audit' package at {where} is not fairtrail's ({why}); fairtrail installs "
        f"packages named audit, lineage and reports (in {_HOME}): {advice}.",
        name="audit",
    )


def _import_audit() -> None:
    """Import ``audit``, checking that it is fairtrail's.

    ``audit`` checks ``lineage`` and ``reports`` when it is imported, but an ``audit`` that
    is not fairtrail's cannot check itself: another one first on the import path (checked
    before it runs), or another distribution's ``__init__.py`` written over fairtrail's.
    """
    ours = os.path.join(_HOME, "audit", "__init__.py")
    if "audit" not in sys.modules:
        import importlib.util  # here: `import fairtrail` stays fast

        spec = importlib.util.find_spec("audit")  # where it is, without running it
        found = spec.origin if spec is not None and spec.has_location else None
        if spec is not None and os.path.realpath(found or "") != os.path.realpath(ours):
            where = found or next(iter(spec.submodule_search_locations or ()), "?")
            if os.path.basename(where) == "__init__.py":
                where = os.path.dirname(where)
            from importlib import metadata  # ~30 ms: only to name the clash

            owners = [
                f"'{owner} {metadata.version(owner)}'"
                for owner in dict.fromkeys(metadata.packages_distributions().get("audit", ()))
                if owner != "fairtrail"
            ]
            if owners:
                why = f"it belongs to the distribution {', '.join(owners)}"
                advice = "uninstall the other distribution or use a separate virtual environment"
            else:
                why = "no installed distribution claims it, and it comes first on the import path"
                advice = "rename or remove the other package, or use a separate virtual environment"
            raise _not_fairtrails(where, why, advice)
        importlib.import_module("audit")
    if "audit._origin" not in sys.modules:  # fairtrail's audit imports its check first thing
        raise _not_fairtrails(
            os.path.dirname(ours),
            "its __init__.py is another distribution's, written over fairtrail's",
            "uninstall the other distribution, then reinstall fairtrail, or use a separate "
            "virtual environment",
        )


def _attribute(name: str) -> object:
    """``fairtrail.<name>``: imported from its package on first use, then kept."""
    if name == "__version__":
        from importlib import metadata  # ~30 ms: only when the version is asked for

        try:
            value: object = metadata.version("fairtrail")
        except metadata.PackageNotFoundError:  # running from a source tree without installing
            value = "0+unknown"
    elif name in _SOURCE:
        import importlib

        if _SOURCE[name] in _THROUGH_AUDIT:
            _import_audit()  # first: audit's import checks that lineage and reports are ours
        value = getattr(importlib.import_module(_SOURCE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name stays an error
    __getattr__ = _attribute
