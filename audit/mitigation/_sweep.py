"""The mitigation sweep: fit every candidate of a plan, audit each on held-out data, choose.

A :class:`SweepPlan` names the constraint and the operating points to try: fairlearn's
reductions over a sweep of ``difference_bounds`` (``ExponentiatedGradient``) and one
``GridSearch`` family, post-processing over ``tolerances`` (fairlearn's
``ThresholdOptimizer`` and fairtrail's histogram :class:`GroupThresholdClassifier`), and
pre-processing over ``alphas`` (``CorrelationRemover``). :func:`run_sweep` fits the baseline,
then every point (in parallel with ``n_jobs``: one BLAS thread per worker), predicts the
held-out rows and hands them to :func:`evaluate_candidates`.

Regression (``constraint="bounded_group_loss"``) uses fairlearn's two reductions with
:class:`ReductionRegressor`: one ``ExponentiatedGradient`` point per bound on every group's
mean ``loss`` (``upper_bounds`` in the loss's units, or by default ``bound_shares`` of the
baseline's worst group loss on the training rows) and one ``GridSearch`` family.
Post-processing and the correlation remover are for classifiers only (fairlearn's
``ThresholdOptimizer`` thresholds scores; fairtrail's correlation remover wraps a
classifier).

Post-processing points reuse the fitted baseline (``prefit``); the reductions and the
correlation remover refit a clone of the estimator. A point that cannot be fitted (for
example a constraint that is infeasible at its tolerance) does not stop the sweep: it is
recorded in :attr:`TradeOff.failures` with its error, and shown as such. Only the baseline
must fit.

Every point draws its randomized predictions from the plan's ``random_state``, so the same
seed gives the same frontier.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from audit._exceptions import FairtrailError, SpecError
from audit._policy import Policy
from audit._result import AuditOptions, AuditResult
from audit.mitigation._common import MitigationError
from audit.mitigation._estimators import (
    REDUCTION_CONSTRAINTS,
    THRESHOLD_CONSTRAINTS,
    DecorrelatedClassifier,
    ReductionClassifier,
    ThresholdOptimizerClassifier,
    group_labels,
)
from audit.mitigation._regression import (
    REGRESSION_LOSSES,
    ReductionRegressor,
    _check_target,
    group_losses,
)
from audit.mitigation._tradeoff import (
    CONSTRAINT_CRITERIA,
    LOSS_CRITERIA,
    REGRESSION_CONSTRAINTS,
    Predictions,
    SelectionRule,
    TradeOff,
    _task_of,
    evaluate_candidates,
)

__all__ = ["METHODS", "Sweep", "SweepPlan", "SweepPoint", "run_sweep"]

#: The mitigation methods a sweep can use, in the order their points are listed.
METHODS = (
    "exponentiated_gradient",
    "grid_search",
    "threshold_optimizer",
    "group_thresholds",
    "correlation_remover",
)
_SUPPORTED = {
    "exponentiated_gradient": (*REDUCTION_CONSTRAINTS, *REGRESSION_CONSTRAINTS),
    "grid_search": (*REDUCTION_CONSTRAINTS, *REGRESSION_CONSTRAINTS),
    "threshold_optimizer": THRESHOLD_CONSTRAINTS,
    "group_thresholds": THRESHOLD_CONSTRAINTS,
    "correlation_remover": tuple(c for c in CONSTRAINT_CRITERIA if c not in REGRESSION_CONSTRAINTS),
}
#: Rough relative fit cost, to start the slowest points first when running in parallel.
_COST = {
    "exponentiated_gradient": 0,
    "grid_search": 1,
    "correlation_remover": 2,
    "threshold_optimizer": 3,
    "group_thresholds": 4,
}


@dataclass(frozen=True)
class SweepPoint:
    """One operating point to fit: a method and its settings."""

    name: str
    method: str
    params: Mapping[str, Any]


def _numbers(
    name: str, values: Any, low: float, high: float, *, open_low: bool = False
) -> tuple[float, ...]:
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = (values,)
    ok = isinstance(values, list | tuple) and all(
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and (low < v if open_low else low <= v)
        and v <= high
        for v in values
    )
    if not ok or not values:
        where = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        raise SpecError(
            f"The '{name}' parameter of SweepPlan must be a list of numbers in {where}. "
            f"Got {values!r}."
        )
    return tuple(dict.fromkeys(float(v) for v in values))


@dataclass(frozen=True)
class SweepPlan:
    """What a mitigation sweep tries.

    Parameters
    ----------
    constraint : str, default "demographic_parity"
        A key of :data:`CONSTRAINT_CRITERIA`.
    methods : tuple of str, optional
        Some of :data:`METHODS`. Default: every method that supports ``constraint``
        (post-processing does not support ``error_rate_parity``). Naming a method that
        does not support it is an error.
    difference_bounds : tuple of float, default (0.05, 0.02)
        One ``exponentiated_gradient`` point per bound (the constraint's
        ``difference_bound``; sweeping ``eps`` does not trace the trade-off).
    grid_size : int, default 10
        The ``grid_search`` family's size (one point: fairlearn's pick from the family).
    tolerances : tuple of float, default (0.0, 0.05)
        One point per tolerance for each post-processing method (0: exact parity). With
        ``equalized_odds`` only 0 is possible (fairlearn relaxes single-metric
        constraints only); the others are left out and listed in :meth:`skipped`.
    alphas : tuple of float, default (1.0, 0.5)
        One ``correlation_remover`` point per alpha (1: remove all linear correlation).
    loss : {"square", "absolute"}, default "square"
        ``bounded_group_loss`` only: the loss bounded in every group (one of
        :data:`REGRESSION_LOSSES`); the frontier's disparity is the difference of its metric
        between groups (:data:`LOSS_CRITERIA`).
    upper_bounds : tuple of float, optional
        ``bounded_group_loss`` only: one ``exponentiated_gradient`` point per bound on every
        group's mean loss, in the loss's units (squared units of ``y`` for ``"square"``).
    bound_shares : tuple of float, default (0.95, 0.9)
        ``bounded_group_loss`` without ``upper_bounds``: each bound as a share (in (0, 1]) of
        the baseline's worst group loss on the training rows, so the sweep needs no
        knowledge of the scale of ``y``.
    random_state : int, default 0
        Seeds every randomized prediction.

    Examples
    --------
    >>> [p.name for p in SweepPlan(tolerances=(0.0,), alphas=(1.0,)).points()]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['expgrad(0.05)', 'expgrad(0.02)', 'gridsearch(10)', 'threshold_opt(0)',
     'hist_threshold(0)', 'corr_remover(1)']
    >>> plan = SweepPlan("error_rate_parity")
    >>> sorted({p.method for p in plan.points()})
    ['correlation_remover', 'exponentiated_gradient', 'grid_search']
    >>> [p.name for p in SweepPlan("bounded_group_loss", bound_shares=(0.9, 0.8)).points()]
    ['expgrad(0.9×worst)', 'expgrad(0.8×worst)', 'gridsearch(10)']
    """

    constraint: str = "demographic_parity"
    methods: tuple[str, ...] | None = None
    difference_bounds: tuple[float, ...] = (0.05, 0.02)
    grid_size: int = 10
    tolerances: tuple[float, ...] = (0.0, 0.05)
    alphas: tuple[float, ...] = (1.0, 0.5)
    loss: str = "square"
    upper_bounds: tuple[float, ...] | None = None
    bound_shares: tuple[float, ...] = (0.95, 0.9)
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.constraint not in CONSTRAINT_CRITERIA:
            raise SpecError(
                f"The 'constraint' parameter of SweepPlan must be one of "
                f"{list(CONSTRAINT_CRITERIA)}. Got {self.constraint!r}."
            )
        if self.methods is not None:
            given: Any = self.methods
            methods = (given,) if isinstance(given, str) else tuple(given)
            unknown = [m for m in methods if m not in METHODS]
            if unknown or not methods:
                raise SpecError(
                    f"The 'methods' parameter of SweepPlan must list some of {list(METHODS)}. "
                    f"Got {list(methods)!r}."
                )
            for m in methods:
                if self.constraint not in _SUPPORTED[m]:
                    raise SpecError(
                        f"The method {m!r} does not support constraint {self.constraint!r}; "
                        f"it supports {list(_SUPPORTED[m])}."
                    )
            object.__setattr__(self, "methods", tuple(dict.fromkeys(methods)))
        object.__setattr__(
            self, "difference_bounds", _numbers("difference_bounds", self.difference_bounds, 0, 1)
        )
        object.__setattr__(self, "tolerances", _numbers("tolerances", self.tolerances, 0, 1))
        object.__setattr__(self, "alphas", _numbers("alphas", self.alphas, 0, 1))
        if self.loss not in REGRESSION_LOSSES:
            raise SpecError(
                f"The 'loss' parameter of SweepPlan must be one of {list(REGRESSION_LOSSES)}. "
                f"Got {self.loss!r}."
            )
        if self.upper_bounds is not None:
            bounds = _numbers("upper_bounds", self.upper_bounds, 0, math.inf, open_low=True)
            object.__setattr__(self, "upper_bounds", bounds)
        shares = _numbers("bound_shares", self.bound_shares, 0, 1, open_low=True)
        object.__setattr__(self, "bound_shares", shares)
        size = self.grid_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 2:
            raise SpecError(
                f"The 'grid_size' parameter of SweepPlan must be an int >= 2. Got {size!r}."
            )
        seed = self.random_state
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SpecError(
                "The 'random_state' parameter of SweepPlan must be a non-negative int. "
                f"Got {seed!r}."
            )

    @property
    def task(self) -> str:
        """``"regression"`` for ``bounded_group_loss``, else ``"binary_classification"``."""
        return _task_of(self.constraint)

    @property
    def criterion(self) -> str:
        """The disparity on the frontier's axis."""
        if self.task == "regression":
            return LOSS_CRITERIA[self.loss]
        return CONSTRAINT_CRITERIA[self.constraint]

    def active_methods(self) -> tuple[str, ...]:
        """The methods used: those named, or every one supporting the constraint."""
        if self.methods is not None:
            return self.methods
        return tuple(m for m in METHODS if self.constraint in _SUPPORTED[m])

    def _tolerances(self) -> tuple[float, ...]:
        if self.constraint == "equalized_odds":
            return tuple(t for t in self.tolerances if t == 0) or (0.0,)
        return self.tolerances

    def points(self) -> tuple[SweepPoint, ...]:
        """Every operating point, in method order."""
        out: list[SweepPoint] = []
        for m in self.active_methods():
            if m == "exponentiated_gradient" and self.task == "regression":
                if self.upper_bounds is not None:
                    out += [
                        SweepPoint(f"expgrad(≤{b:g})", m, {"upper_bound": b})
                        for b in self.upper_bounds
                    ]
                else:
                    out += [
                        SweepPoint(f"expgrad({f:g}×worst)", m, {"bound_share": f})
                        for f in self.bound_shares
                    ]
            elif m == "exponentiated_gradient":
                out += [
                    SweepPoint(f"expgrad({b:g})", m, {"difference_bound": b})
                    for b in self.difference_bounds
                ]
            elif m == "grid_search":
                out.append(
                    SweepPoint(f"gridsearch({self.grid_size})", m, {"grid_size": self.grid_size})
                )
            elif m in ("threshold_optimizer", "group_thresholds"):
                short = "threshold_opt" if m == "threshold_optimizer" else "hist_threshold"
                out += [
                    SweepPoint(f"{short}({t:g})", m, {"tolerance": t}) for t in self._tolerances()
                ]
            else:
                out += [SweepPoint(f"corr_remover({a:g})", m, {"alpha": a}) for a in self.alphas]
        return tuple(out)

    def skipped(self) -> tuple[str, ...]:
        """Points of the plan that were left out, and why."""
        notes = []
        if self.constraint == "equalized_odds":
            dropped = [t for t in self.tolerances if t != 0]
            if dropped and {"threshold_optimizer", "group_thresholds"} & set(self.active_methods()):
                notes.append(
                    f"tolerances {dropped} not used: post-processing relaxes only single-metric "
                    "constraints, not equalized_odds"
                )
        if self.methods is None:
            unused = [m for m in METHODS if m not in self.active_methods()]
            if unused:
                notes.append(f"methods {unused} do not support {self.constraint}")
        return tuple(notes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with the methods actually used."""
        return {
            "constraint": self.constraint,
            "methods": list(self.active_methods()),
            "difference_bounds": list(self.difference_bounds),
            "grid_size": self.grid_size,
            "tolerances": list(self.tolerances),
            "alphas": list(self.alphas),
            "loss": self.loss,
            "upper_bounds": None if self.upper_bounds is None else list(self.upper_bounds),
            "bound_shares": list(self.bound_shares),
            "random_state": self.random_state,
        }


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: the trade-off, each candidate's audit and its fitted model."""

    plan: SweepPlan
    tradeoff: TradeOff
    audits: Mapping[str, AuditResult]
    models: Mapping[str, Any] = field(repr=False)
    seconds: float

    @property
    def chosen_model(self) -> Any | None:
        """The chosen candidate's fitted model, or None when none was chosen."""
        chosen = self.tradeoff.chosen
        return None if chosen is None else self.models[chosen]


@dataclass(frozen=True)
class _Fitted:
    name: str
    model: Any
    y_pred: Any
    seconds: float
    error: str | None = None
    note: str | None = None


def _build(point: SweepPoint, estimator: Any, baseline: Any, constraint: str, seed: int) -> Any:
    p = point.params
    if constraint in REGRESSION_CONSTRAINTS:
        return ReductionRegressor(
            clone(estimator),
            method=point.method,
            loss=p["loss"],
            upper_bound=p["upper_bound"],
            grid_size=p.get("grid_size", 10),
            random_state=seed,
        )
    if point.method in ("exponentiated_gradient", "grid_search"):
        return ReductionClassifier(
            clone(estimator),
            method=point.method,
            constraints=constraint,
            difference_bound=p.get("difference_bound", 0.01),
            grid_size=p.get("grid_size", 10),
            random_state=seed,
        )
    if point.method in ("threshold_optimizer", "group_thresholds"):
        from audit.mitigation._thresholds import GroupThresholdClassifier

        post = (
            ThresholdOptimizerClassifier
            if point.method == "threshold_optimizer"
            else GroupThresholdClassifier
        )
        return post(
            baseline,
            constraints=constraint,
            tolerance=p["tolerance"] or None,
            prefit=True,
            random_state=seed,
        )
    return DecorrelatedClassifier(clone(estimator), alpha=p["alpha"])


def _fit_point(
    point: SweepPoint,
    estimator: Any,
    baseline: Any,
    constraint: str,
    seed: int,
    data: tuple[Any, Any, pd.DataFrame, Any, pd.DataFrame],
    one_thread: bool,
) -> _Fitted:
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    try:
        with (
            threadpool_limits(limits=1) if one_thread else contextlib.nullcontext(),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            model, y_pred = _fit_predict(point, estimator, baseline, constraint, seed, data)
    except Exception as exc:
        text = str(exc) if isinstance(exc, FairtrailError) else f"{type(exc).__name__}: {exc}"
        return _Fitted(point.name, None, None, time.perf_counter() - start, text)
    said = dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught)
    note = "; ".join(said) or None
    return _Fitted(point.name, model, y_pred, time.perf_counter() - start, note=note)


def _fit_predict(
    point: SweepPoint,
    estimator: Any,
    baseline: Any,
    constraint: str,
    seed: int,
    data: tuple[Any, Any, pd.DataFrame, Any, pd.DataFrame],
) -> tuple[Any, Any]:
    X_train, y_train, sf_train, X_test, sf_test = data
    model = _build(point, estimator, baseline, constraint, seed)
    model.fit(X_train, y_train, sensitive_features=sf_train)
    if isinstance(model, ReductionClassifier | ReductionRegressor):
        return model, model.predict(X_test)
    return model, model.predict(X_test, sensitive_features=sf_test)


def _frame(sensitive_features: Any, name: str, n: int) -> pd.DataFrame:
    if isinstance(sensitive_features, pd.Series):
        frame = sensitive_features.to_frame()
    elif isinstance(sensitive_features, pd.DataFrame | Mapping):
        frame = pd.DataFrame(sensitive_features)
    else:
        raise MitigationError(
            f"The '{name}' parameter must be a DataFrame, Series or dict of named columns. "
            f"Got {type(sensitive_features).__name__}."
        )
    if len(frame) != n:
        raise MitigationError(
            f"The '{name}' parameter must have one row per sample ({n}). Got {len(frame)}."
        )
    if frame.shape[1] == 0:
        raise MitigationError(f"The '{name}' parameter must hold at least one column.")
    return frame.reset_index(drop=True)


def _resolve_bounds(
    plan: SweepPlan,
    points: tuple[SweepPoint, ...],
    fitted: Any,
    y_train: Any,
    sf_train: pd.DataFrame,
) -> tuple[SweepPoint, ...]:
    """Regression points with their loss and absolute ``upper_bound``.

    Shares are of the baseline's worst group loss on the training rows (the loss fairlearn
    bounds: on ``y`` and predictions clipped to the training range). Grid search does not use
    its bound (see :class:`ReductionRegressor`); it is given the loosest, to be checked.
    """
    y_range = (float(np.min(y_train)), float(np.max(y_train)))
    losses = group_losses(
        y_train, fitted, group_labels(sf_train, len(y_train)), loss=plan.loss, y_range=y_range
    )
    worst = max(losses.values())
    bounds = plan.upper_bounds or tuple(f * worst for f in plan.bound_shares)
    out = []
    for p in points:
        bound = p.params["bound_share"] * worst if "bound_share" in p.params else None
        bound = p.params.get("upper_bound", bound if bound is not None else max(bounds))
        out.append(replace(p, params={**p.params, "loss": plan.loss, "upper_bound": bound}))
    return tuple(out)


def run_sweep(
    estimator: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    sensitive_features_train: Any,
    sensitive_features_test: Any,
    plan: SweepPlan | None = None,
    policy: Policy | None = None,
    rule: SelectionRule | None = None,
    performance_metric: str | None = None,
    options: AuditOptions | None = None,
    prefit: bool = False,
    n_jobs: int = 1,
) -> Sweep:
    """Fit the baseline and every point of ``plan``, audit each on the held-out rows, choose.

    Parameters
    ----------
    estimator : classifier or regressor
        The model to mitigate, with ``fit(..., sample_weight=)`` (reductions reweight it);
        a classifier with ``predict_proba`` (post-processing needs scores), or a regressor
        for ``bounded_group_loss``.
    X_train, y_train : array-like
        Training rows and their 0/1 labels (numeric targets for regression): every
        candidate is fitted on these only.
    X_test, y_test : array-like
        Held-out rows and their labels or targets: every candidate is audited on these only.
    sensitive_features_train, sensitive_features_test : DataFrame or dict of named columns
        Each row's group. Several columns: the mitigators constrain their intersection and
        the frontier judges it.
    plan : SweepPlan, optional
        Default :class:`SweepPlan` (demographic parity, 9 points).
    policy, rule, performance_metric, options
        As in :func:`evaluate_candidates`. ``performance_metric`` defaults to accuracy, or
        for regression to the bounded loss's metric (``root_mean_squared_error`` for the
        square loss, ``mean_absolute_error`` for the absolute loss).
    prefit : bool, default False
        ``estimator`` is already fitted on ``X_train``: it is the baseline as it is.
    n_jobs : int, default 1
        Points fitted at once (processes; each limited to one BLAS thread). -1: one per core.

    Returns
    -------
    Sweep

    Raises
    ------
    MitigationError
        The inputs are inconsistent, or the baseline cannot be fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> g = np.repeat(["a", "b"], 200); x = rng.normal(size=(400, 1)) + (g == "a")[:, None]
    >>> y = (x[:, 0] + rng.normal(size=400) > 0.5).astype(int)
    >>> sweep = run_sweep(
    ...     LogisticRegression(), x[::2], y[::2], x[1::2], y[1::2],
    ...     sensitive_features_train={"g": g[::2]}, sensitive_features_test={"g": g[1::2]},
    ...     plan=SweepPlan(methods=("threshold_optimizer",), tolerances=(0.0,)),
    ...     options=AuditOptions(intervals=False))
    >>> [c.name for c in sweep.tradeoff.candidates]
    ['baseline', 'threshold_opt(0)']
    >>> mitigated = sweep.tradeoff.candidate("threshold_opt(0)")
    >>> baseline = sweep.tradeoff.candidate("baseline")
    >>> bool(mitigated.disparity.value < baseline.disparity.value)
    True
    """
    plan = plan or SweepPlan()
    regression = plan.task == "regression"
    if regression:
        y_train = _check_target(y_train, "The 'y_train' parameter of run_sweep")
        y_test = _check_target(y_test, "The 'y_test' parameter of run_sweep")
        if performance_metric is None:
            performance_metric = LOSS_CRITERIA[plan.loss].removesuffix("_difference")
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    for name, X, y in (("X_train", X_train, y_train), ("X_test", X_test, y_test)):
        if len(X) != len(y):
            raise MitigationError(
                f"The '{name}' parameter must have one row per label ({len(y)}). Got {len(X)}."
            )
    sf_train = _frame(sensitive_features_train, "sensitive_features_train", len(y_train))
    sf_test = _frame(sensitive_features_test, "sensitive_features_test", len(y_test))
    if list(sf_train.columns) != list(sf_test.columns):
        raise MitigationError(
            "The 'sensitive_features_test' parameter must have the columns of "
            f"'sensitive_features_train' ({list(sf_train.columns)}). Got {list(sf_test.columns)}."
        )
    start = time.perf_counter()
    if prefit:
        baseline = estimator
        base_seconds = math.nan
    else:
        try:
            baseline = clone(estimator).fit(X_train, y_train)
        except Exception as exc:
            raise MitigationError(
                f"The baseline estimator {type(estimator).__name__} could not be fitted: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        base_seconds = time.perf_counter() - start
    base_pred = np.asarray(baseline.predict(X_test))
    data = (X_train, y_train, sf_train, X_test, sf_test)
    points = plan.points()
    if regression:
        points = _resolve_bounds(plan, points, baseline.predict(X_train), y_train, sf_train)
    order = sorted(range(len(points)), key=lambda i: _COST[points[i].method])
    args = (plan.constraint, plan.random_state)
    if n_jobs == 1 or len(points) <= 1:
        fitted = [_fit_point(points[i], estimator, baseline, *args, data, False) for i in order]
    else:
        from joblib import Parallel, delayed

        fitted = Parallel(n_jobs=n_jobs)(
            delayed(_fit_point)(points[i], estimator, baseline, *args, data, True) for i in order
        )
    by_name = {f.name: f for f in fitted}
    candidates = [Predictions("baseline", "unmitigated", base_pred, {}, base_seconds)]
    failures: dict[str, str] = {}
    notes: dict[str, str] = {}
    models: dict[str, Any] = {"baseline": baseline}
    for point in points:
        f = by_name[point.name]
        if f.error is not None:
            failures[point.name] = f.error
            continue
        if f.note is not None:
            notes[point.name] = f.note
        models[point.name] = f.model
        candidates.append(
            Predictions(point.name, point.method, f.y_pred, dict(point.params), f.seconds)
        )
    tradeoff, audits = evaluate_candidates(
        y_test,
        candidates,
        sensitive_features={str(c): sf_test[c].to_numpy() for c in sf_test.columns},
        constraint=plan.constraint,
        policy=policy,
        performance_metric=performance_metric,
        criterion=plan.criterion,
        rule=rule,
        options=options,
    )
    tradeoff = replace(tradeoff, failures=failures, skipped=plan.skipped(), notes=notes)
    return Sweep(plan, tradeoff, audits, models, time.perf_counter() - start)
