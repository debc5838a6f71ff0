"""scikit-learn estimators around fairlearn's mitigators: seeded, routable, with clear errors.

fairlearn does the mitigation; these wrappers add what an audit trail needs:

- **Reproducible predictions.** fairlearn's randomized predictors draw from the global NumPy
  RNG unless given a ``random_state`` at every ``predict`` call (fairlearn#1261). Each wrapper
  takes ``random_state`` once, in ``__init__``, and passes it on, so the same seed gives the
  same predictions and the global RNG is never touched.
- **The scikit-learn contract.** ``sensitive_features`` is a keyword-only argument of ``fit``
  (and of ``predict`` where the method needs it), so it routes through a
  :class:`~sklearn.pipeline.Pipeline` with metadata routing
  (``set_fit_request(sensitive_features=True)``).
- **Errors that say what is wrong**: an unknown constraint, an estimator without the
  ``predict_proba`` a method needs, a group whose labels are all one class.

Several sensitive features are combined into their intersection (one group per combination),
as fairlearn does when given several columns.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from audit.mitigation._common import MitigationError, uniform_draws

__all__ = [
    "REDUCTION_CONSTRAINTS",
    "THRESHOLD_CONSTRAINTS",
    "DecorrelatedClassifier",
    "MitigationError",
    "ReductionClassifier",
    "ThresholdOptimizerClassifier",
    "group_labels",
]

#: Constraints of the reductions, by the name of the disparity they bound.
REDUCTION_CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "error_rate_parity",
)
#: Constraints of fairlearn's ThresholdOptimizer that fairtrail offers.
THRESHOLD_CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
)
_METHODS = ("exponentiated_gradient", "grid_search")
_JOINT = " × "
#: pandas' category for deprecations that become errors in its next major version.
_PANDAS_DEPRECATION: type[Warning] = getattr(pd.errors, "Pandas4Warning", FutureWarning)


def group_labels(sensitive_features: Any, n_rows: int | None = None) -> pd.Series:
    """One group label per row: the value, or the intersection of several features.

    Parameters
    ----------
    sensitive_features : array-like, Series, DataFrame or dict of array-like
        One feature, or several (their combinations are the groups, labelled ``"a × b"``).
    n_rows : int, optional
        The number of rows expected (of ``X`` and ``y``).

    Returns
    -------
    pandas.Series of str

    Raises
    ------
    MitigationError
        Missing values, or a length other than ``n_rows``.

    Examples
    --------
    >>> group_labels({"sex": ["F", "M"], "race": ["a", "b"]}).tolist()
    ['F × a', 'M × b']
    """
    if isinstance(sensitive_features, dict):
        frame = pd.DataFrame(sensitive_features)
    elif isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features
    else:
        values = np.asarray(sensitive_features, dtype=object)
        frame = pd.DataFrame(values if values.ndim == 2 else {"sensitive_features": values})
    if n_rows is not None and len(frame) != n_rows:
        raise MitigationError(
            f"The 'sensitive_features' parameter must have one row per sample ({n_rows}). "
            f"Got {len(frame)}."
        )
    missing = [str(c) for c in frame.columns if frame[c].isna().any()]
    if missing:
        raise MitigationError(
            f"The sensitive feature(s) {missing} have missing values: a mitigator needs every "
            "row's group. Drop or label those rows first."
        )
    labels = frame.astype(str).agg(_JOINT.join, axis=1)
    return labels.reset_index(drop=True).rename("group")


def _check_binary(y: Any) -> np.ndarray[Any, Any]:
    labels = np.asarray(y)
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise MitigationError(
            f"The 'y' parameter must hold binary labels 0/1. Got values {sorted(values)[:5]}."
        )
    return labels.astype(np.int64)


def _check_classes(y: np.ndarray[Any, Any], groups: pd.Series, constraint: str) -> None:
    """Refuse a constraint on a rate that is undefined in some group."""
    needs = {
        "equalized_odds": (0, 1),
        "true_positive_rate_parity": (1,),
        "false_positive_rate_parity": (0,),
    }.get(constraint, ())
    for label in needs:
        present = set(groups[y == label])
        lacking = sorted(set(groups) - present)
        if lacking:
            kind = "positive" if label == 1 else "negative"
            raise MitigationError(
                f"Group {lacking[0]!r} has no {kind} labels in y (all {1 - label}): "
                f"{constraint} needs both classes in every group."
            )


def _needs_method(estimator: Any, method: str, why: str) -> None:
    if not hasattr(estimator, method):
        raise MitigationError(f"The estimator {type(estimator).__name__} has no {method}: {why}.")


@contextlib.contextmanager
def _fairlearn_internals() -> Iterator[None]:
    """Silence the deprecations fairlearn 0.15's own code triggers under pandas 3.

    ``utility_parity.load_data`` grows a float Series with ``.at`` and sets booleans in it
    (Pandas4Warning: results are right today; the warning is not the user's to act on).
    Other warnings still surface.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _PANDAS_DEPRECATION)
        yield


def _reduction_constraint(name: str, difference_bound: float) -> Any:
    from fairlearn import reductions

    classes = {
        "demographic_parity": reductions.DemographicParity,
        "equalized_odds": reductions.EqualizedOdds,
        "true_positive_rate_parity": reductions.TruePositiveRateParity,
        "false_positive_rate_parity": reductions.FalsePositiveRateParity,
        "error_rate_parity": reductions.ErrorRateParity,
    }
    if name not in classes:
        raise MitigationError(
            f"The 'constraints' parameter must be one of {list(classes)}. Got {name!r}."
        )
    return classes[name](difference_bound=difference_bound)


class ReductionClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier trained under a fairness constraint by a fairlearn reduction.

    Wraps :class:`fairlearn.reductions.ExponentiatedGradient` (a randomized mixture of refits
    of ``estimator``) or :class:`fairlearn.reductions.GridSearch` (the best of a grid of
    Lagrange multipliers). The constraint bounds the difference of the named rate between
    groups (e.g. demographic parity: ``max_a P(Ŷ=1 | A=a) − min_a …`` at most
    ``difference_bound``, on the training data).

    Parameters
    ----------
    estimator : classifier, default LogisticRegression(max_iter=1000)
        Refit by the reduction (with ``sample_weight``).
    method : {"exponentiated_gradient", "grid_search"}
    constraints : str
        One of :data:`REDUCTION_CONSTRAINTS`.
    difference_bound : float, default 0.01
        The constraint's bound; sweep it to trace the trade-off (``eps`` does not: see
        ../shared/NOTES.md).
    grid_size : int, default 10
        ``grid_search`` only.
    max_iter : int, default 50
        ``exponentiated_gradient`` only.
    random_state : int or None
        Seeds the randomized predictions of ``exponentiated_gradient``.

    Attributes
    ----------
    predictors_ : list of classifiers
        The mixture's predictors with positive weight (exponentiated gradient), or the one
        grid search chose.
    weights_ : ndarray
        Their weights (summing to 1).
    family_ : list of classifiers
        ``grid_search`` only: every model of the grid, one per Lagrange multiplier.
    classes_ : ndarray

    References
    ----------
    Agarwal, A., Beygelzimer, A., Dudík, M., Langford, J., Wallach, H. (2018). A Reductions
    Approach to Fair Classification. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); g = np.where(rng.random(400) < 0.5, "a", "b")
    >>> y = (X[:, 0] + (g == "a") > 0.5).astype(int)
    >>> clf = ReductionClassifier(difference_bound=0.02, random_state=0)
    >>> clf = clf.fit(X, y, sensitive_features=g)
    >>> p = clf.predict(X)
    >>> bool(abs(p[g == "a"].mean() - p[g == "b"].mean()) < 0.15)
    True
    >>> bool((clf.predict(X) == p).all())  # seeded: the same predictions again
    True
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "exponentiated_gradient",
        constraints: str = "demographic_parity",
        difference_bound: float = 0.01,
        grid_size: int = 10,
        max_iter: int = 50,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.constraints = constraints
        self.difference_bound = difference_bound
        self.grid_size = grid_size
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> ReductionClassifier:
        """Fit under the constraint; ``sensitive_features`` gives each row's group."""
        from fairlearn.reductions import ExponentiatedGradient, GridSearch

        if self.method not in _METHODS:
            raise MitigationError(
                f"The 'method' parameter of ReductionClassifier must be one of {list(_METHODS)}. "
                f"Got {self.method!r}."
            )
        bound = self.difference_bound
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not 0 <= bound <= 1:
            raise MitigationError(
                "The 'difference_bound' parameter of ReductionClassifier must be a number in "
                f"[0, 1]. Got {bound!r}."
            )
        y = _check_binary(y)
        groups = group_labels(sensitive_features, len(y))
        _check_classes(y, groups, self.constraints)
        constraint = _reduction_constraint(self.constraints, float(bound))
        base = clone(self.estimator) if self.estimator is not None else _default_estimator()
        mitigator = (
            ExponentiatedGradient(base, constraint, max_iter=self.max_iter)
            if self.method == "exponentiated_gradient"
            else GridSearch(base, constraint, grid_size=self.grid_size)
        )
        with _fairlearn_internals():
            mitigator.fit(X, y, sensitive_features=groups.to_numpy())
        self.predictors_, self.weights_, family = _reduction_result(mitigator, self.method)
        if family is not None:
            self.family_ = family
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray[Any, Any]:
        """Probability of each class: the mixture's weighted vote of its predictors' labels.

        For ``grid_search`` (one predictor) this is 0 or 1; ask the predictor itself
        (``predictors_[0]``) for scores.
        """
        check_is_fitted(self, "predictors_")
        positive = np.zeros(_n_rows(X))
        for predictor, weight in zip(self.predictors_, self.weights_, strict=True):
            positive += weight * np.asarray(predictor.predict(X), dtype=np.float64)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray[Any, Any]:
        """Predicted labels: 1 with the mixture's probability, drawn from ``random_state``.

        The draw is fairlearn's (``positive >= RandomState(random_state).rand(n)``), so the
        labels equal ``ExponentiatedGradient.predict(X, random_state=random_state)``.
        """
        positive = self.predict_proba(X)[:, 1]
        if len(self.predictors_) == 1:
            return positive.round().astype(np.int64)
        draws = uniform_draws(self.random_state, len(positive))
        return np.asarray(positive >= draws, dtype=np.int64)


def _reduction_result(
    mitigator: Any, method: str
) -> tuple[list[Any], np.ndarray[Any, Any], list[Any] | None]:
    """A fitted reduction as plain estimators and arrays (what prediction needs, what skops saves).

    Returns ``(predictors, weights, family)``: ExponentiatedGradient's predictors with positive
    weight, in the order of its ``weights_`` (the order its randomized ``predict`` draws in),
    and family None; or GridSearch's pick with weight 1 and its whole family.
    """
    if method == "exponentiated_gradient":
        weights = mitigator.weights_
        keep = [i for i in weights.index if weights[i] > 0]
        predictors = [mitigator.predictors_[i] for i in keep]
        return predictors, np.array([weights[i] for i in keep], dtype=np.float64), None
    family = list(mitigator.predictors_)
    return [family[int(mitigator.best_idx_)]], np.array([1.0]), family


def _default_estimator() -> LogisticRegression:
    return LogisticRegression(max_iter=1000)


class ThresholdOptimizerClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Group-specific thresholds on a model's scores: fairlearn's ThresholdOptimizer, seeded.

    Post-processing (Hardt et al.): for each group a threshold (randomized between two
    neighbouring thresholds) on the estimator's score, chosen to maximise ``objective``
    subject to the constraint. ``tolerance`` relaxes the constraint to a maximum difference
    between groups (fairlearn's ``tol``; not for equalized odds).

    Parameters
    ----------
    estimator : classifier
    constraints : str
        One of :data:`THRESHOLD_CONSTRAINTS`.
    objective : {"accuracy_score", "balanced_accuracy_score"}
    tolerance : float or None
    prefit : bool, default False
        Use ``estimator`` as fitted (it is not refit).
    predict_method : {"predict_proba", "decision_function", "auto"}
    grid_size : int, default 1000
    random_state : int or None
        Seeds the randomized thresholds at predict time.

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator whose scores are thresholded.
    rules_ : dict of str to dict
        Per group, fairlearn's interpolated rule as numbers: ``p0``, ``threshold0``,
        ``greater0`` (1 for ``score > t``, 0 for ``<``), the same with 1, and ``p_ignore``
        and ``prediction_constant`` when the rule ignores the score with some probability.
    classes_ : ndarray

    References
    ----------
    Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
    NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); g = np.where(rng.random(400) < 0.5, "a", "b")
    >>> y = (X[:, 0] + (g == "a") > 0.5).astype(int)
    >>> model = LogisticRegression().fit(X, y)
    >>> clf = ThresholdOptimizerClassifier(model, prefit=True, random_state=0)
    >>> clf = clf.fit(X, y, sensitive_features=g)
    >>> p = clf.predict(X, sensitive_features=g)
    >>> bool(abs(p[g == "a"].mean() - p[g == "b"].mean()) < 0.05)
    True
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        constraints: str = "demographic_parity",
        objective: str = "accuracy_score",
        tolerance: float | None = None,
        prefit: bool = False,
        predict_method: str = "predict_proba",
        grid_size: int = 1000,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.objective = objective
        self.tolerance = tolerance
        self.prefit = prefit
        self.predict_method = predict_method
        self.grid_size = grid_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> ThresholdOptimizerClassifier:
        """Fit the estimator (unless ``prefit``) and the group thresholds."""
        from fairlearn.postprocessing import ThresholdOptimizer

        if self.constraints not in THRESHOLD_CONSTRAINTS:
            raise MitigationError(
                "The 'constraints' parameter of ThresholdOptimizerClassifier must be one of "
                f"{list(THRESHOLD_CONSTRAINTS)}. Got {self.constraints!r}."
            )
        if self.tolerance is not None and self.constraints == "equalized_odds":
            raise MitigationError(
                "The 'tolerance' parameter of ThresholdOptimizerClassifier is not supported "
                "with equalized_odds (fairlearn relaxes only single-rate constraints); use "
                "None."
            )
        estimator = self.estimator if self.estimator is not None else _default_estimator()
        if self.predict_method != "auto":
            _needs_method(
                estimator,
                self.predict_method,
                f"ThresholdOptimizerClassifier(predict_method={self.predict_method!r}) "
                "thresholds its output",
            )
        y = _check_binary(y)
        groups = group_labels(sensitive_features, len(y))
        _check_classes(y, groups, self.constraints)
        optimizer = ThresholdOptimizer(
            estimator=estimator,
            constraints=self.constraints,
            objective=self.objective,
            grid_size=self.grid_size,
            prefit=self.prefit,
            predict_method=self.predict_method,
            tol=self.tolerance,
        )
        with _fairlearn_internals():
            optimizer.fit(X, y, sensitive_features=groups.to_numpy())
        # Keep the estimator and each group's rule as plain values (skops can save them).
        thresholder = optimizer.interpolated_thresholder_
        self.estimator_ = thresholder.estimator_
        self.predict_method_ = thresholder._predict_method
        self.rules_ = {
            str(group): _rule(interpolation)
            for group, interpolation in thresholder.interpolation_dict.items()
        }
        self.classes_ = np.array([0, 1])
        return self

    def _scores(self, X: Any) -> np.ndarray[Any, Any]:
        method = self.predict_method_
        if method == "auto":  # as fairlearn resolves it
            method = next(
                m
                for m in ("predict_proba", "decision_function", "predict")
                if hasattr(self.estimator_, m)
            )
        if method == "predict_proba":
            return np.asarray(self.estimator_.predict_proba(X))[:, 1]
        return np.asarray(getattr(self.estimator_, method)(X), dtype=np.float64)

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> np.ndarray[Any, Any]:
        """Probability of each class under the group's randomized threshold rule."""
        check_is_fitted(self, "rules_")
        groups = group_labels(sensitive_features, _n_rows(X)).to_numpy()
        unknown = sorted(set(groups) - set(self.rules_))
        if unknown:
            raise MitigationError(
                f"Group {unknown[0]!r} was not seen in fit: ThresholdOptimizerClassifier has "
                f"thresholds for {sorted(self.rules_)}."
            )
        scores = self._scores(X)
        positive = np.zeros(len(scores))
        for group, rule in self.rules_.items():
            rows = groups == group
            positive[rows] = _apply_rule(rule, scores[rows])
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any, *, sensitive_features: Any) -> np.ndarray[Any, Any]:
        """Predicted labels: 1 with the rule's probability, drawn from ``random_state``.

        The draw is fairlearn's, so the labels equal ``ThresholdOptimizer.predict(X,
        sensitive_features=..., random_state=random_state)``.
        """
        positive = self.predict_proba(X, sensitive_features=sensitive_features)[:, 1]
        draws = uniform_draws(self.random_state, len(positive))
        return np.asarray(positive >= draws, dtype=np.int64)


def _rule(interpolation: Any) -> dict[str, float]:
    """A fairlearn interpolation (p0·[s op0 t0] + p1·[s op1 t1], maybe ignored) as numbers."""
    rule = {
        "p0": float(interpolation.p0),
        "threshold0": float(interpolation.operation0.threshold),
        "greater0": float(interpolation.operation0.operator == ">"),
        "p1": float(interpolation.p1),
        "threshold1": float(interpolation.operation1.threshold),
        "greater1": float(interpolation.operation1.operator == ">"),
    }
    if "p_ignore" in interpolation:
        rule["p_ignore"] = float(interpolation.p_ignore)
        rule["prediction_constant"] = float(interpolation.prediction_constant)
    return rule


def _apply_rule(rule: dict[str, float], scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    def side(k: str) -> np.ndarray[Any, Any]:
        t = rule["threshold" + k]
        return (scores > t) if rule["greater" + k] else (scores < t)

    out = rule["p0"] * side("0") + rule["p1"] * side("1")
    if "p_ignore" in rule:
        out = rule["p_ignore"] * rule["prediction_constant"] + (1 - rule["p_ignore"]) * out
    return np.asarray(out, dtype=np.float64)


def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


class DecorrelatedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Pre-processing: remove the features' linear correlation with the groups, then fit.

    fairlearn's :class:`~fairlearn.preprocessing.CorrelationRemover` projects the
    (numeric) features onto the complement of the one-hot encoded groups; ``alpha`` blends
    between the original (0) and the fully decorrelated features (1). The groups are needed
    at predict time too, to transform the features the same way.

    Parameters
    ----------
    estimator : classifier, default LogisticRegression(max_iter=1000)
    alpha : float in [0, 1], default 1.0

    Attributes
    ----------
    remover_ : fairlearn.preprocessing.CorrelationRemover
    estimator_ : fitted classifier
    groups_ : tuple of str
        The groups seen in ``fit``, in the order of the one-hot columns.
    classes_ : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> g = np.where(rng.random(400) < 0.5, "a", "b")
    >>> X = np.c_[rng.normal(size=400) + (g == "a") * 2, rng.normal(size=400)]
    >>> y = (X[:, 0] > 1).astype(int)
    >>> clf = DecorrelatedClassifier(alpha=1.0).fit(X, y, sensitive_features=g)
    >>> p = clf.predict(X, sensitive_features=g)
    >>> bool(abs(p[g == "a"].mean() - p[g == "b"].mean()) < 0.2)
    True
    """

    def __init__(self, estimator: Any = None, *, alpha: float = 1.0) -> None:
        self.estimator = estimator
        self.alpha = alpha

    def _with_groups(self, X: Any, groups: pd.Series) -> pd.DataFrame:
        frame = pd.DataFrame(np.asarray(X, dtype=np.float64)).reset_index(drop=True)
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
        unknown = sorted(set(groups) - set(self.groups_))
        if unknown:
            raise MitigationError(
                f"Group {unknown[0]!r} was not seen in fit: DecorrelatedClassifier knows "
                f"{list(self.groups_)}."
            )
        for i, group in enumerate(self.groups_):
            frame[f"_group{i}"] = (groups.to_numpy() == group).astype(np.float64)
        return frame

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> DecorrelatedClassifier:
        """Fit the correlation remover and the estimator on the transformed features."""
        from fairlearn.preprocessing import CorrelationRemover

        alpha = self.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
            raise MitigationError(
                f"The 'alpha' parameter of DecorrelatedClassifier must be in [0, 1]. Got {alpha!r}."
            )
        y = _check_binary(y)
        groups = group_labels(sensitive_features, len(y))
        self.groups_ = tuple(sorted(set(groups)))
        frame = self._with_groups(X, groups)
        ids = [c for c in frame.columns if c.startswith("_group")]
        self.remover_ = CorrelationRemover(sensitive_feature_ids=ids, alpha=float(alpha))
        transformed = self.remover_.fit_transform(frame)
        base = clone(self.estimator) if self.estimator is not None else _default_estimator()
        self.estimator_ = base.fit(transformed, y)
        self.classes_ = np.array([0, 1])
        return self

    def _transform(self, X: Any, sensitive_features: Any) -> Any:
        check_is_fitted(self, "remover_")
        groups = group_labels(sensitive_features, _n_rows(X))
        return self.remover_.transform(self._with_groups(X, groups))

    def predict(self, X: Any, *, sensitive_features: Any) -> np.ndarray[Any, Any]:
        """Predicted labels of the decorrelated features."""
        return np.asarray(self.estimator_.predict(self._transform(X, sensitive_features)))

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> np.ndarray[Any, Any]:
        """Class probabilities of the decorrelated features."""
        _needs_method(self.estimator_, "predict_proba", "predict_proba was asked for")
        return np.asarray(self.estimator_.predict_proba(self._transform(X, sensitive_features)))
