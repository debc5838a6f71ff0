"""The TOML mitigation spec read by ``fairtrail mitigate``.

::

    [data]
    path = "applicants.csv"           # relative to the spec file; CSV or Parquet
    y_true = "income"
    task = "binary_classification"    # or "regression" (constraint bounded_group_loss)
    pos_label = ">50K"                # needed unless labels are 0/1
    sensitive_features = ["sex"]      # several: the mitigators constrain their intersection
    split_column = "split"            # optional: rows "train" and "test" (else a random split)
    test_size = 0.3                   # held-out share of the random split

    [model]
    estimator = "logistic_regression" # or "hist_gradient_boosting"; or path = "model.skops"
                                      # (regression: "linear_regression" or
                                      # "hist_gradient_boosting")
    numeric_features = ["age", "hours_per_week"]
    categorical_features = ["education", "occupation"]

    [mitigation]
    constraint = "demographic_parity"
    difference_bounds = [0.05, 0.02]  # exponentiated gradient points
    tolerances = [0.0, 0.05]          # post-processing points
    alphas = [1.0, 0.5]               # correlation remover points
    selection = "best_passing"        # or "least_disparity"
    max_performance_loss = 0.02
    n_jobs = 2

    [audit]                           # intervals of every candidate's audit
    confidence_level = 0.95

    [policy]                          # what "passing" means for the selection rule
    [policy.thresholds]
    demographic_parity_difference = 0.05

A regression spec sets ``data.task = "regression"`` (numeric ``y_true``, no ``pos_label``)
and ``mitigation.constraint = "bounded_group_loss"`` with ``loss``, ``bound_shares`` or
``upper_bounds``.

Every unknown key and every value of the wrong type is refused with the key's full name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit._exceptions import SpecError
from audit._policy import Policy
from audit._result import AuditOptions, _decode
from audit._spec import (
    _check_keys,
    _table,
    checked_options,
    deprecated_options,
    parse_policy,
    read_toml,
)
from audit.mitigation._sweep import SweepPlan
from audit.mitigation._tradeoff import (
    PERFORMANCE_METRICS,
    REGRESSION_CONSTRAINTS,
    REGRESSION_PERFORMANCE_METRICS,
    SelectionRule,
)

__all__ = ["ESTIMATORS", "MitigationSpec", "load_mitigation_spec", "parse_mitigation_spec"]

#: Estimators a spec can name, by task (each built with the plan's random_state where it has
#: one); the first is the default.
ESTIMATORS = {
    "binary_classification": ("logistic_regression", "hist_gradient_boosting"),
    "regression": ("linear_regression", "hist_gradient_boosting"),
}
_TASKS = tuple(ESTIMATORS)
#: Plan fields given in TOML as arrays.
_TUPLE_KEYS = (
    "methods",
    "difference_bounds",
    "tolerances",
    "alphas",
    "upper_bounds",
    "bound_shares",
)

_DATA_KEYS = {
    "path",
    "format",
    "y_true",
    "task",
    "pos_label",
    "sensitive_features",
    "split_column",
    "train_value",
    "test_value",
    "test_size",
}
_MODEL_KEYS = {"estimator", "params", "path", "trusted", "numeric_features", "categorical_features"}
_PLAN_KEYS = {f.name for f in dataclasses.fields(SweepPlan)}
_MITIGATION_KEYS = _PLAN_KEYS | {
    "performance_metric",
    "selection",
    "max_performance_loss",
    "n_jobs",
}


@dataclass(frozen=True)
class MitigationSpec:
    """A validated mitigation spec: the data, the model, the sweep and how to choose."""

    path: str
    y_true: str
    sensitive_features: tuple[str, ...]
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    plan: SweepPlan
    rule: SelectionRule
    policy: Policy | None
    options: AuditOptions
    pos_label: str | int | float | bool | None = None
    format: str | None = None
    split_column: str | None = None
    train_value: str = "train"
    test_value: str = "test"
    test_size: float = 0.3
    estimator: str | None = "logistic_regression"
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    model_path: str | None = None
    trusted: tuple[str, ...] = ()
    performance_metric: str | None = None
    task: str = "binary_classification"
    n_jobs: int = 1
    base_dir: Path = Path(".")
    origin: str = "<spec>"
    #: Notes on keys that no longer do anything (kept readable).
    deprecations: tuple[str, ...] = ()

    def data_path(self) -> Path:
        """The data file, resolved against the spec's folder."""
        p = Path(self.path)
        return p if p.is_absolute() else self.base_dir / p

    def resolved_model_path(self) -> Path | None:
        """The fitted model file, resolved against the spec's folder."""
        if self.model_path is None:
            return None
        p = Path(self.model_path)
        return p if p.is_absolute() else self.base_dir / p

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain data (for the bundle's ``mitigation/spec.json``)."""
        return {
            "data": {
                "path": self.path,
                "y_true": self.y_true,
                "task": self.task,
                "pos_label": self.pos_label,
                "sensitive_features": list(self.sensitive_features),
                "split_column": self.split_column,
                "test_size": self.test_size,
            },
            "model": {
                "estimator": self.estimator,
                "params": dict(self.estimator_params),
                "path": self.model_path,
                "numeric_features": list(self.numeric_features),
                "categorical_features": list(self.categorical_features),
            },
            "mitigation": {
                **self.plan.to_dict(),
                "performance_metric": self.performance_metric,
                "selection": self.rule.kind,
                "max_performance_loss": self.rule.max_performance_loss,
                "n_jobs": self.n_jobs,
            },
        }


def _names(value: Any, key: str, origin: str, *, required: bool = False) -> tuple[str, ...]:
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{origin}: {key} must be a list of column names; got {value!r}.")
    if required and not value:
        raise SpecError(f"{origin}: {key} must name at least one column.")
    return tuple(value)


def parse_mitigation_spec(
    raw: Mapping[str, Any], *, base_dir: Path | str = ".", origin: str = "<spec>"
) -> MitigationSpec:
    """Validate a mitigation spec given as a mapping (the parsed TOML).

    Examples
    --------
    >>> spec = parse_mitigation_spec({
    ...     "data": {"path": "d.csv", "y_true": "y", "sensitive_features": ["sex"]},
    ...     "model": {"numeric_features": ["age"]},
    ...     "mitigation": {"constraint": "equalized_odds", "tolerances": [0.0]}})
    >>> spec.plan.constraint, spec.estimator, len(spec.plan.points())
    ('equalized_odds', 'logistic_regression', 7)
    >>> parse_mitigation_spec({"data": {}, "mitigation": {"bounds": [0.1]}})
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: <spec>: unknown key 'mitigation.bounds'; allowed keys: [...].
    """
    _check_keys(raw, {"data", "model", "mitigation", "audit", "policy"}, "", origin)
    data = _table(raw, "data", origin, required=True)
    model = _table(raw, "model", origin)
    mitigation = _table(raw, "mitigation", origin)
    audit = _table(raw, "audit", origin)
    _check_keys(data, _DATA_KEYS, "data.", origin)
    _check_keys(model, _MODEL_KEYS, "model.", origin)
    _check_keys(mitigation, _MITIGATION_KEYS, "mitigation.", origin)
    for key in ("path", "y_true", "sensitive_features"):
        if key not in data:
            raise SpecError(f"{origin}: data.{key} is required.")
    for key in ("path", "y_true", "format", "split_column", "train_value", "test_value", "task"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{origin}: data.{key} must be a string; got {data[key]!r}.")
    task = data.get("task", "binary_classification")
    if task not in _TASKS:
        raise SpecError(f"{origin}: data.task must be one of {list(_TASKS)}; got {task!r}.")
    pos = data.get("pos_label")
    if pos is not None and not isinstance(pos, str | int | float | bool):
        raise SpecError(f"{origin}: data.pos_label must be a string or a number; got {pos!r}.")
    if pos is not None and task == "regression":
        raise SpecError(f"{origin}: data.pos_label is for classification; data.task is regression.")
    test_size = data.get("test_size", 0.3)
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, int | float)
        or not 0 < test_size < 1
    ):
        raise SpecError(f"{origin}: data.test_size must be a number in (0, 1); got {test_size!r}.")
    sensitive = _names(data["sensitive_features"], "data.sensitive_features", origin, required=True)
    numeric = _names(model.get("numeric_features"), "model.numeric_features", origin)
    categorical = _names(model.get("categorical_features"), "model.categorical_features", origin)
    model_path = model.get("path")
    estimator = model.get("estimator", None if model_path else ESTIMATORS[task][0])
    if model_path is not None and "estimator" in model:
        raise SpecError(
            f"{origin}: give model.estimator (to fit) or model.path (fitted), not both."
        )
    if model_path is not None and not isinstance(model_path, str):
        raise SpecError(f"{origin}: model.path must be a string; got {model_path!r}.")
    if model_path is None and estimator not in ESTIMATORS[task]:
        raise SpecError(
            f"{origin}: model.estimator must be one of {list(ESTIMATORS[task])} for data.task "
            f"{task!r}; got {estimator!r}."
        )
    if not numeric and not categorical:
        raise SpecError(
            f"{origin}: the model needs features: set model.numeric_features and/or "
            "model.categorical_features."
        )
    clash = sorted(set(numeric + categorical) & {*sensitive, data["y_true"]})
    if clash:
        raise SpecError(
            f"{origin}: {clash[0]!r} is the label or a sensitive feature; it cannot also be a "
            "model feature (mitigation constrains the model through the groups, not by using them)."
        )
    params = model.get("params", {})
    if not isinstance(params, dict):
        raise SpecError(f"{origin}: [model.params] must be a table; got {params!r}.")
    trusted = _names(model.get("trusted"), "model.trusted", origin)
    plan_args = {k: v for k, v in mitigation.items() if k in _PLAN_KEYS}
    for key in _TUPLE_KEYS:
        if isinstance(plan_args.get(key), list):
            plan_args[key] = tuple(plan_args[key])
    if model_path is not None and "methods" not in plan_args and task != "regression":
        # A fitted model is used as it is: post-processing needs no refit.
        plan_args["methods"] = ("threshold_optimizer", "group_thresholds")
    try:
        plan = SweepPlan(**plan_args)
        rule = SelectionRule(
            mitigation.get("selection", "best_passing"), mitigation.get("max_performance_loss")
        )
    except SpecError as exc:
        raise SpecError(f"{origin}: mitigation: {exc}") from None
    if (plan.constraint in REGRESSION_CONSTRAINTS) != (task == "regression"):
        raise SpecError(
            f"{origin}: mitigation.constraint {plan.constraint!r} does not fit data.task "
            f"{task!r}: regression takes {list(REGRESSION_CONSTRAINTS)}, classification the "
            "others."
        )
    metric = mitigation.get("performance_metric")
    metrics = REGRESSION_PERFORMANCE_METRICS if task == "regression" else PERFORMANCE_METRICS
    if metric is not None and metric not in metrics:
        raise SpecError(
            f"{origin}: mitigation.performance_metric must be one of {list(metrics)} for "
            f"data.task {task!r}; got {metric!r}."
        )
    n_jobs = mitigation.get("n_jobs", 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise SpecError(
            f"{origin}: mitigation.n_jobs must be -1 or a positive int; got {n_jobs!r}."
        )
    audit, deprecations = deprecated_options(audit, origin)
    try:
        options = _decode(AuditOptions, audit, "audit")
    except (TypeError, ValueError, KeyError) as exc:
        raise SpecError(f"{origin}: {exc}.") from None
    checked_options(options, origin)
    policy = parse_policy(raw["policy"], origin) if "policy" in raw else None
    return MitigationSpec(
        path=data["path"],
        y_true=data["y_true"],
        sensitive_features=sensitive,
        numeric_features=numeric,
        categorical_features=categorical,
        plan=plan,
        rule=rule,
        policy=policy,
        options=options,
        pos_label=pos,
        format=data.get("format"),
        split_column=data.get("split_column"),
        train_value=data.get("train_value", "train"),
        test_value=data.get("test_value", "test"),
        test_size=float(test_size),
        estimator=estimator,
        estimator_params=params,
        deprecations=tuple(deprecations),
        model_path=model_path,
        trusted=trusted,
        performance_metric=metric,
        task=task,
        n_jobs=n_jobs,
        base_dir=Path(base_dir),
        origin=origin,
    )


def load_mitigation_spec(path: str | Path) -> MitigationSpec:
    """Read and validate a TOML mitigation spec file.

    Raises
    ------
    SpecError
        The file is missing, is not valid TOML (with the line), or its content is invalid.
    """
    path = Path(path)
    return parse_mitigation_spec(read_toml(path), base_dir=path.parent, origin=path.name)
