"""Mitigation with an explicit accuracy-cost trade-off.

fairlearn's mitigators wrapped as seeded scikit-learn estimators (:class:`ReductionClassifier`,
:class:`ThresholdOptimizerClassifier`, :class:`DecorrelatedClassifier`); the trade-off of
their held-out predictions, audited by the audit engine (:func:`evaluate_candidates`); and
models saved with skops against an allow-list (:func:`save_model`, :func:`load_model`).
"""

from audit.mitigation._estimators import (
    REDUCTION_CONSTRAINTS,
    THRESHOLD_CONSTRAINTS,
    DecorrelatedClassifier,
    MitigationError,
    ReductionClassifier,
    ThresholdOptimizerClassifier,
    group_labels,
)
from audit.mitigation._persist import TRUSTED_TYPES, UntrustedModelError, load_model, save_model
from audit.mitigation._tradeoff import (
    CONSTRAINT_CRITERIA,
    Candidate,
    GroupCost,
    Predictions,
    SelectionRule,
    TradeOff,
    evaluate_candidates,
    pareto_front,
)

__all__ = [
    "CONSTRAINT_CRITERIA",
    "REDUCTION_CONSTRAINTS",
    "THRESHOLD_CONSTRAINTS",
    "TRUSTED_TYPES",
    "Candidate",
    "DecorrelatedClassifier",
    "GroupCost",
    "MitigationError",
    "Predictions",
    "ReductionClassifier",
    "SelectionRule",
    "ThresholdOptimizerClassifier",
    "TradeOff",
    "UntrustedModelError",
    "evaluate_candidates",
    "group_labels",
    "load_model",
    "pareto_front",
    "save_model",
]
