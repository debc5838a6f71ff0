"""fairtrail's audit core: subgroup metrics, disparities and verdicts from sufficient statistics.

Pure computation: data in, frozen result objects out.

Examples
--------
>>> from audit import audit_predictions, AuditOptions
>>> sex = ["F"] * 4 + ["M"] * 4
>>> r = audit_predictions([0, 1, 1, 0] * 2 * 25, [0, 1, 0, 0, 1, 1, 1, 0] * 25,
...                       sensitive_features={"sex": sex * 25},
...                       options=AuditOptions(intervals=False))
>>> [g.metrics["selection_rate"].value for g in r.attribute("sex").groups]
[0.25, 0.75]
"""

# First: audit, lineage and reports must be fairtrail's (an ImportError names a clash).
from audit import _origin  # noqa: F401 - imported for that check, in audit/_origin.py
from audit._api import AUDIT_STEPS, audit_predictions, run_audit
from audit._assembly import audit_statistics
from audit._bundle import (
    Bundle,
    BundleVerificationError,
    Manifest,
    ManifestEntry,
    check_bundle_target,
    read_bundle,
    result_json,
    verify_bundle,
    write_bundle,
)
from audit._engines._dense import DenseRefused, dense_jar
from audit._exceptions import (
    BundleError,
    DataValidationError,
    FairtrailError,
    SpecError,
    UndefinedMetricWarning,
)
from audit._files import write_atomically
from audit._io import read_predictions
from audit._metrics import CONFUSION_METRICS, METRIC_INFO, REGRESSION_METRICS, SCORE_METRICS
from audit._policy import NAMED_CRITERIA, Policy, Threshold, judge, parse_criterion
from audit._result import (
    AttributeResult,
    AuditOptions,
    AuditResult,
    CriterionResult,
    DataSummary,
    Disparity,
    Estimate,
    GroupResult,
    Verdict,
    criterion_notes,
)
from audit._roles import Roles
from audit._spec import (
    AuditSpec,
    DataSpec,
    LineageSpec,
    TomlLines,
    check_memory_limit,
    decode_text,
    load_spec,
    parse_spec,
)
from audit._statistics import CellStatistics, count_statistics
from audit._validation import (
    UNKNOWN_CATEGORY,
    binary_labels,
    check_present,
    finite_column,
    prepare_data,
)

__all__ = [
    "AUDIT_STEPS",
    "CONFUSION_METRICS",
    "METRIC_INFO",
    "NAMED_CRITERIA",
    "REGRESSION_METRICS",
    "SCORE_METRICS",
    "UNKNOWN_CATEGORY",
    "AttributeResult",
    "AuditOptions",
    "AuditResult",
    "AuditSpec",
    "Bundle",
    "BundleError",
    "BundleVerificationError",
    "CellStatistics",
    "CriterionResult",
    "DataSpec",
    "DataSummary",
    "DataValidationError",
    "DenseRefused",
    "Disparity",
    "Estimate",
    "FairtrailError",
    "GroupResult",
    "LineageSpec",
    "Manifest",
    "ManifestEntry",
    "Policy",
    "Roles",
    "SpecError",
    "Threshold",
    "TomlLines",
    "UndefinedMetricWarning",
    "Verdict",
    "audit_predictions",
    "audit_statistics",
    "binary_labels",
    "check_bundle_target",
    "check_memory_limit",
    "check_present",
    "count_statistics",
    "criterion_notes",
    "decode_text",
    "dense_jar",
    "finite_column",
    "judge",
    "load_spec",
    "parse_criterion",
    "parse_spec",
    "prepare_data",
    "read_bundle",
    "read_predictions",
    "result_json",
    "run_audit",
    "verify_bundle",
    "write_atomically",
    "write_bundle",
]
