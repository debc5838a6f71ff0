"""Errors and warnings raised by fairtrail's audit core.

Every error names the parameter or column, what was expected and what was found, so that the
CLI can print it as one readable line.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "DataValidationError",
    "FairtrailError",
    "SpecError",
    "UndefinedMetricWarning",
]


class FairtrailError(Exception):
    """Base class of every error fairtrail raises on purpose (bad data, bad spec, bad bundle)."""


class DataValidationError(FairtrailError, ValueError):
    """The input data cannot be audited as given (missing column, NaN score, bad label...)."""


class SpecError(FairtrailError, ValueError):
    """An audit spec or policy is malformed (unknown key, wrong type, impossible threshold...)."""


class BundleError(FairtrailError, ValueError):
    """An audit bundle is missing, incomplete, or its files do not match its manifest."""


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for some group (for example TPR with no actual positives).

    The value is reported as NaN together with the reason; it is never replaced by 0.
    """
