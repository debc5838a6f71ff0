"""Mitigation with an explicit accuracy-cost trade-off.

fairlearn's mitigators wrapped as seeded scikit-learn estimators (:class:`ReductionClassifier`,
:class:`ThresholdOptimizerClassifier`, :class:`DecorrelatedClassifier`); the trade-off of
their held-out predictions, audited by the audit engine (:func:`evaluate_candidates`); and
models saved with skops against an allow-list (:func:`save_model`, :func:`load_model`); the
sweep over methods and tolerances (:class:`SweepPlan`, :func:`run_sweep`), its TOML spec
(:func:`load_mitigation_spec`) and its place in the audit bundle (:func:`sweep_files`,
:func:`read_tradeoff`, :func:`load_chosen_model`).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.mitigation._choose import Axes, change_text, choose, describe_cost, signed_change
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
    from audit.mitigation._regression import (
        REGRESSION_LOSSES,
        BoundNotMetWarning,
        ReductionRegressor,
    )
    from audit.mitigation._spec import (
        ESTIMATORS,
        MitigationSpec,
        load_mitigation_spec,
        parse_mitigation_spec,
    )
    from audit.mitigation._store import (
        MODEL_FILE,
        SWEEP_FILE,
        TRADEOFF_FILE,
        load_chosen_model,
        read_tradeoff,
        sweep_files,
    )
    from audit.mitigation._sweep import METHODS, Sweep, SweepPlan, SweepPoint, run_sweep
    from audit.mitigation._thresholds import (
        GROUP_THRESHOLD_CONSTRAINTS,
        GroupThresholdClassifier,
        GroupThresholds,
        InfeasibleConstraintError,
        ThresholdError,
    )
    from audit.mitigation._tradeoff import (
        CONSTRAINT_CRITERIA,
        LOSS_CRITERIA,
        PERFORMANCE_METRICS,
        REGRESSION_CONSTRAINTS,
        REGRESSION_PERFORMANCE_METRICS,
        TRADEOFF_SCHEMA_VERSION,
        Candidate,
        GroupCost,
        Predictions,
        SelectionRule,
        TradeOff,
        evaluate_candidates,
        pareto_front,
    )

#: Where each public name lives. The package imports its modules on first use, so that
#: reading a trade-off (the report, the app) does not import scikit-learn and fairlearn.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        (
            "REDUCTION_CONSTRAINTS",
            "THRESHOLD_CONSTRAINTS",
            "DecorrelatedClassifier",
            "MitigationError",
            "ReductionClassifier",
            "ThresholdOptimizerClassifier",
            "group_labels",
        ),
        "audit.mitigation._estimators",
    ),
    **dict.fromkeys(
        ("Axes", "change_text", "choose", "describe_cost", "signed_change"),
        "audit.mitigation._choose",
    ),
    **dict.fromkeys(
        ("TRUSTED_TYPES", "UntrustedModelError", "load_model", "save_model"),
        "audit.mitigation._persist",
    ),
    **dict.fromkeys(
        ("REGRESSION_LOSSES", "BoundNotMetWarning", "ReductionRegressor"),
        "audit.mitigation._regression",
    ),
    **dict.fromkeys(
        ("ESTIMATORS", "MitigationSpec", "load_mitigation_spec", "parse_mitigation_spec"),
        "audit.mitigation._spec",
    ),
    **dict.fromkeys(
        (
            "MODEL_FILE",
            "SWEEP_FILE",
            "TRADEOFF_FILE",
            "load_chosen_model",
            "read_tradeoff",
            "sweep_files",
        ),
        "audit.mitigation._store",
    ),
    **dict.fromkeys(
        ("METHODS", "Sweep", "SweepPlan", "SweepPoint", "run_sweep"), "audit.mitigation._sweep"
    ),
    **dict.fromkeys(
        (
            "GROUP_THRESHOLD_CONSTRAINTS",
            "GroupThresholdClassifier",
            "GroupThresholds",
            "InfeasibleConstraintError",
            "ThresholdError",
        ),
        "audit.mitigation._thresholds",
    ),
    **dict.fromkeys(
        (
            "CONSTRAINT_CRITERIA",
            "LOSS_CRITERIA",
            "PERFORMANCE_METRICS",
            "REGRESSION_CONSTRAINTS",
            "REGRESSION_PERFORMANCE_METRICS",
            "TRADEOFF_SCHEMA_VERSION",
            "Candidate",
            "GroupCost",
            "Predictions",
            "SelectionRule",
            "TradeOff",
            "evaluate_candidates",
            "pareto_front",
        ),
        "audit.mitigation._tradeoff",
    ),
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'audit.mitigation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CONSTRAINT_CRITERIA",
    "ESTIMATORS",
    "GROUP_THRESHOLD_CONSTRAINTS",
    "LOSS_CRITERIA",
    "METHODS",
    "MODEL_FILE",
    "PERFORMANCE_METRICS",
    "REDUCTION_CONSTRAINTS",
    "REGRESSION_CONSTRAINTS",
    "REGRESSION_LOSSES",
    "REGRESSION_PERFORMANCE_METRICS",
    "SWEEP_FILE",
    "THRESHOLD_CONSTRAINTS",
    "TRADEOFF_FILE",
    "TRADEOFF_SCHEMA_VERSION",
    "TRUSTED_TYPES",
    "Axes",
    "BoundNotMetWarning",
    "Candidate",
    "DecorrelatedClassifier",
    "GroupCost",
    "GroupThresholdClassifier",
    "GroupThresholds",
    "InfeasibleConstraintError",
    "MitigationError",
    "MitigationSpec",
    "Predictions",
    "ReductionClassifier",
    "ReductionRegressor",
    "SelectionRule",
    "Sweep",
    "SweepPlan",
    "SweepPoint",
    "ThresholdError",
    "ThresholdOptimizerClassifier",
    "TradeOff",
    "UntrustedModelError",
    "change_text",
    "choose",
    "describe_cost",
    "evaluate_candidates",
    "group_labels",
    "load_chosen_model",
    "load_mitigation_spec",
    "load_model",
    "pareto_front",
    "parse_mitigation_spec",
    "read_tradeoff",
    "run_sweep",
    "save_model",
    "signed_change",
    "sweep_files",
]
