"""Group-specific thresholds from score histograms: Hardt et al.'s post-processing, at scale.

fairlearn's :class:`~fairlearn.postprocessing.ThresholdOptimizer` walks every row of every
group in Python to build its trade-off curves. Here those curves are built from the audit
core's sufficient statistics instead: the per-cell, per-label score histograms of
:func:`audit._statistics.count_statistics`. A cut between two score bins gives one point of a
group's curve (its confusion counts are cumulative sums of the histogram), so after the one
counting pass the optimisation costs ``O(n_cells × score_bins + grid_size × n_cells)``,
whatever the number of rows.

The optimisation is fairlearn's (0.15), step for step:

1. Per group, every cut gives a point (constraint metric, objective); for equalized odds
   (false positive rate, true positive rate): the ROC curve.
2. The upper convex hull of those points (Andrew's monotone chain, collinear points dropped).
   Any point on the hull is reachable by randomizing between the two thresholds of its
   segment.
3. The hull is read at ``grid_size + 1`` equally spaced values of the constraint metric
   over [0, 1].
4. Simple constraints: the common grid value that maximises the objective weighted by group
   size (with ``tolerance``: one grid value per group, at most ``tolerance`` apart, chosen by
   fairlearn's sliding window). Equalized odds: at each false positive rate the lowest of the
   groups' hulls is reachable by every group (a group above it mixes in a coin flip); the
   best such point by the pooled objective.

When the histogram is exact (at most ``score_bins`` distinct scores: one bin per value) the
points, thresholds and choices are the ones fairlearn computes, bit for bit. With
equal-width bins the cuts are between occupied bins: every point is still one fairlearn
considers, with the same counts, and its threshold (the middle of the gap between the two
bins) is within half a bin width of fairlearn's; but cuts inside a bin are not available, so
the hull can lie slightly lower, the objective can only be lower, and the chosen grid point
and hull segment can differ (on Adult: the same common value or one grid step away).

Where this differs from fairlearn, on purpose:

- A group with a single class is refused only where the constraint or objective needs the
  missing class (fairlearn refuses it always).
- A missing sensitive value is its own group, ``"unknown"`` (the audit core's rule).
- Predictions draw from ``random_state`` only, never from NumPy's global generator
  (fairlearn#1261). With an integer seed, randomized predictions equal fairlearn's
  ``predict(..., random_state=seed)`` whenever the rules are equal.
- ``deterministic=True`` offers one threshold per group (see :class:`GroupRule`).
- ``flip`` (thresholding "score below t") and sample weights are not offered.

The parts, each importing only those above it: :mod:`~audit.mitigation._threshold_rules`
(errors, parameter values, the frozen results), :mod:`~audit.mitigation._threshold_inputs`
(validation and counting: the only code that sees rows when fitting),
:mod:`~audit.mitigation._threshold_curves` (cuts, hull, grid),
:mod:`~audit.mitigation._threshold_fit` (the optimisation) and
:mod:`~audit.mitigation._threshold_apply` (rows to groups, probabilities, draws). This module
holds the estimator and re-exports every public name.

References
----------
Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
NeurIPS. https://arxiv.org/abs/1610.02413
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from audit._validation import check_same_length
from audit.mitigation._threshold_apply import (
    draw,
    positive_probability,
    predict_thresholds,
    threshold_probability,
)
from audit.mitigation._threshold_fit import check_parameters, fit_thresholds, optimize_thresholds
from audit.mitigation._threshold_inputs import feature_frame, score_array, score_statistics
from audit.mitigation._threshold_rules import (
    EQUALIZED_ODDS_OBJECTIVES,
    GROUP_THRESHOLD_CONSTRAINTS,
    OBJECTIVES,
    FloatArray,
    GroupRule,
    GroupThresholds,
    InfeasibleConstraintError,
    Rates,
    ThresholdError,
)

__all__ = [
    "EQUALIZED_ODDS_OBJECTIVES",
    "GROUP_THRESHOLD_CONSTRAINTS",
    "OBJECTIVES",
    "GroupRule",
    "GroupThresholdClassifier",
    "GroupThresholds",
    "InfeasibleConstraintError",
    "Rates",
    "ThresholdError",
    "fit_thresholds",
    "optimize_thresholds",
    "predict_thresholds",
    "score_statistics",
    "threshold_probability",
]

_SCORE_SOURCES = ("auto", "predict_proba", "decision_function", "predict")


class GroupThresholdClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Group-specific thresholds on a model's scores, from score histograms (fast).

    The post-processing of Hardt et al., as fairlearn's ``ThresholdOptimizer`` computes it
    (see the module docstring), with the trade-off curves built from the audit core's score
    histograms: fitting costs one counting pass over the rows plus a fixed amount of work per
    group, so it scales to tens of millions of rows. The fitted rules are in ``thresholds_``
    (:class:`GroupThresholds`), with the rates they achieve.

    Parameters
    ----------
    estimator : estimator or None, default None
        The scorer. None: ``X`` is the score itself (one column) and nothing is fitted.
    constraints : str, default "demographic_parity"
        One of :data:`GROUP_THRESHOLD_CONSTRAINTS`.
    objective : str, default "accuracy_score"
        One of :data:`OBJECTIVES` (:data:`EQUALIZED_ODDS_OBJECTIVES` for equalized odds).
    tolerance : float or None, default None
        Largest allowed difference of the constraint metric between groups (fairlearn's
        ``tol``); not with equalized odds.
    grid_size : int, default 1000
        Steps of the grid of constraint values.
    score_bins : int, default 10000
        Histogram bins (exact when there are at most this many distinct scores).
    prefit : bool, default False
        Use ``estimator`` as already fitted.
    predict_method : {"auto", "predict_proba", "decision_function", "predict"}
        The estimator's method giving the score: ``"auto"`` takes the positive-class column
        of ``predict_proba``, else ``decision_function``.
    deterministic : bool, default False
        Predict with one threshold per group (:class:`GroupRule`) instead of the randomized
        rule; with a ``tolerance``, ``fit`` raises if those thresholds cannot meet it.
    random_state : int, numpy RandomState or Generator, or None
        Draws of the randomized rule. An int gives the same predictions at every call; None
        draws fresh entropy. NumPy's global generator is never used.

    Attributes
    ----------
    estimator_ : estimator or None
        The fitted scorer.
    thresholds_ : GroupThresholds
        The rules and what they achieve on the training data.
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is the positive class.
    predict_method_ : str or None
        The method used for scores.

    Notes
    -----
    ``sensitive_features`` is a keyword-only argument of ``fit``, ``predict``,
    ``predict_proba`` and ``score``, requested by default under scikit-learn's metadata
    routing (like ``groups`` in ``GroupKFold``), so it reaches this step inside a
    :class:`~sklearn.pipeline.Pipeline`.

    References
    ----------
    Hardt, M., Price, E., Srebro, N. (2016). Equality of Opportunity in Supervised Learning.
    NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> group = np.where(rng.random(2000) < 0.5, "a", "b")
    >>> y = (rng.random(2000) < np.where(group == "a", 0.3, 0.6)).astype(int)
    >>> score = np.clip(0.5 * y + 0.5 * rng.random(2000), 0, 1)
    >>> clf = GroupThresholdClassifier(random_state=0).fit(score, y, sensitive_features=group)
    >>> pred = clf.predict(score, sensitive_features=group)
    >>> rates = [pred[group == g].mean() for g in ("a", "b")]
    >>> bool(abs(rates[0] - rates[1]) < 0.05)
    True
    """

    # Requested by default under metadata routing. RUF012 (mutable class attribute) is
    # ignored: scikit-learn reads these plain dicts, as in its own GroupsConsumerMixin.
    __metadata_request__fit = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__predict = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__predict_proba = {"sensitive_features": True}  # noqa: RUF012
    __metadata_request__score = {"sensitive_features": True}  # noqa: RUF012

    def __init__(
        self,
        estimator: Any = None,
        *,
        constraints: str = "demographic_parity",
        objective: str = "accuracy_score",
        tolerance: float | None = None,
        grid_size: int = 1000,
        score_bins: int = 10_000,
        prefit: bool = False,
        predict_method: str = "auto",
        deterministic: bool = False,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.constraints = constraints
        self.objective = objective
        self.tolerance = tolerance
        self.grid_size = grid_size
        self.score_bins = score_bins
        self.prefit = prefit
        self.predict_method = predict_method
        self.deterministic = deterministic
        self.random_state = random_state

    def _score_method(self, estimator: Any) -> str:
        name = type(estimator).__name__
        if self.predict_method == "auto":
            for method in ("predict_proba", "decision_function"):
                if hasattr(estimator, method):
                    return method
            raise ThresholdError(
                f"GroupThresholdClassifier(predict_method='auto') needs a score, but the "
                f"estimator {name} has neither predict_proba nor decision_function. Set "
                "predict_method='predict' to threshold its predict output."
            )
        if not hasattr(estimator, self.predict_method):
            raise ThresholdError(
                f"GroupThresholdClassifier(predict_method={self.predict_method!r}) thresholds "
                f"the estimator's {self.predict_method} output, but the estimator {name} has "
                f"no {self.predict_method}."
            )
        return str(self.predict_method)

    def _scores(self, X: Any) -> FloatArray:
        if self.estimator_ is None:
            return score_array(X, "X (the scores: estimator is None)")
        method = str(self.predict_method_)
        out = np.asarray(getattr(self.estimator_, method)(X))
        source = f"{type(self.estimator_).__name__}.{method}(X)"
        if method == "predict_proba":
            if out.ndim != 2 or out.shape[1] != 2:
                raise ThresholdError(
                    f"{source} must have 2 columns (a binary classifier). Got shape {out.shape}."
                )
            out = out[:, 1]
            source += "[:, 1]"
        return score_array(out, source)

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> GroupThresholdClassifier:
        """Fit the estimator (unless ``prefit`` or None) and the group thresholds.

        Parameters
        ----------
        X : array-like or DataFrame
            The estimator's input; with ``estimator=None`` the scores, one column.
        y : array-like of shape (n_samples,)
            Binary labels (two distinct values; the larger one is positive).
        sensitive_features : array-like, Series, DataFrame or dict of array-like
            Group membership; several features are combined into their intersection.

        Returns
        -------
        self

        Raises
        ------
        ThresholdError
            Bad parameters, labels that are missing or not binary, an estimator without the
            method ``predict_method`` needs, a group without a class the constraint needs.
        InfeasibleConstraintError
            ``deterministic`` with an unreachable ``tolerance``.
        DataValidationError
            ``X`` (its scores), ``y`` and ``sensitive_features`` of different lengths
            (:class:`ThresholdError` is a subclass).
        """
        owner = "GroupThresholdClassifier"
        check_parameters(
            owner, self.constraints, self.objective, self.tolerance, self.grid_size,
            self.score_bins,
        )  # fmt: skip
        if self.predict_method not in _SCORE_SOURCES:
            raise ThresholdError(
                f"The 'predict_method' parameter of {owner} must be one of "
                f"{list(_SCORE_SOURCES)}. Got {self.predict_method!r}."
            )
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ThresholdError(f"y must be one label per row (1-D). Got shape {labels.shape}.")
        missing = pd.isna(labels)
        if missing.any():
            raise ThresholdError(
                f"y must hold a label in every row; found {int(missing.sum())} missing values "
                f"(first at row {int(np.flatnonzero(missing)[0])})."
            )
        classes = np.unique(labels)
        if classes.size != 2:
            raise ThresholdError(
                f"y must hold exactly 2 classes (a binary task). Got {classes.size}: "
                f"{classes.tolist()[:5]}."
            )
        if self.estimator is None:
            self.estimator_ = None
            self.predict_method_ = None
        else:
            if self.predict_method != "auto":
                self._score_method(self.estimator)  # fail before an expensive fit
            if self.prefit:
                try:
                    check_is_fitted(self.estimator)
                except NotFittedError as exc:
                    raise ThresholdError(
                        f"prefit=True but the estimator {type(self.estimator).__name__} is not "
                        f"fitted ({exc}). Fit it first or set prefit=False."
                    ) from None
                self.estimator_ = self.estimator
            else:
                self.estimator_ = clone(self.estimator).fit(X, y)
            self.predict_method_ = self._score_method(self.estimator_)
        scores = self._scores(X)
        frame = feature_frame(sensitive_features)
        check_same_length({"y": labels, "X": scores, "sensitive_features": frame})
        self.thresholds_ = fit_thresholds(
            (labels == classes[1]).astype(np.int8),
            scores,
            frame,
            constraints=self.constraints,
            objective=self.objective,
            tolerance=self.tolerance,
            grid_size=self.grid_size,
            score_bins=self.score_bins,
            deterministic=self.deterministic,
        )
        self.classes_ = classes
        return self

    def _positive_probability(self, X: Any, sensitive_features: Any) -> FloatArray:
        check_is_fitted(self, "thresholds_")
        scores = self._scores(X)
        frame = feature_frame(sensitive_features)
        check_same_length({"X": scores, "sensitive_features": frame})
        return positive_probability(self.thresholds_, scores, frame, self.deterministic)

    def predict_proba(self, X: Any, *, sensitive_features: Any) -> FloatArray:
        """Probability of each class under the group rules (0/1 when ``deterministic``).

        Parameters
        ----------
        X : array-like or DataFrame
        sensitive_features : array-like, Series, DataFrame or dict of array-like

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns in the order of ``classes_``.
        """
        positive = self._positive_probability(X, sensitive_features)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any, *, sensitive_features: Any) -> npt.NDArray[Any]:
        """Predicted labels; the randomized rule draws from ``random_state``.

        Parameters
        ----------
        X : array-like or DataFrame
        sensitive_features : array-like, Series, DataFrame or dict of array-like

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_``.
        """
        probability = self._positive_probability(X, sensitive_features)
        out = draw(probability, self.deterministic, self.random_state)
        labels: npt.NDArray[Any] = self.classes_[out]
        return labels

    def score(self, X: Any, y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` (which needs ``sensitive_features``).

        Parameters
        ----------
        X : array-like or DataFrame
        y : array-like of shape (n_samples,)
        sensitive_features : array-like, Series, DataFrame or dict of array-like
        sample_weight : array-like, optional

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        predicted = self.predict(X, sensitive_features=sensitive_features)
        return float(accuracy_score(y, predicted, sample_weight=sample_weight))
