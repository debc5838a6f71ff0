r"""Regression under a bound on every group's loss: fairlearn's BoundedGroupLoss, seeded.

:class:`ReductionRegressor` trains a regressor with fairlearn's reductions
(:class:`~fairlearn.reductions.ExponentiatedGradient` or
:class:`~fairlearn.reductions.GridSearch`) under
:class:`~fairlearn.reductions.BoundedGroupLoss`: every group's mean loss on the training data
at most ``upper_bound`` (Agarwal, Dudík & Wu 2019, "bounded group loss"). It follows
:class:`~audit.mitigation.ReductionClassifier`: seeded predictions that never touch NumPy's
global RNG, ``sensitive_features`` as a keyword of ``fit`` (routable in a ``Pipeline``), the
fitted mixture kept as plain estimators and arrays (skops can save it), errors that name the
parameter.

Several sensitive features
--------------------------
fairlearn bounds the loss of each *intersection cell*, never of a feature's groups on their
own. Given several columns, ``fairlearn.utils._input_validation._validate_and_reformat_input``
joins them into one label per row (``_merge_columns``: the values as strings joined by ``,``,
with ``,`` and ``\`` escaped), and ``ConditionalLossMoment.load_data`` makes one constraint
per distinct label (``tags.groupby(group_id)``). So ``sex`` and ``race`` together give one
bound per observed ``sex × race`` cell; there is no way to bound "each sex" and "each race"
separately, a cell absent from the training data has no constraint, and a small cell gets a
bound on a noisy mean (the reductions add ``λ_g / P(A=g)`` to its rows' weights). fairtrail
labels the cells itself (:func:`~audit.mitigation.group_labels`, ``"Male × White"``) and
passes fairlearn one column: the same partition, with readable keys in ``group_losses_``.
GridSearch searches a grid of dimension (number of cells − 1): fairlearn only logs that it
wants ``grid_size ≥ 2**(cells − 1)`` and more than 4 dimensions is not advised; prefer
exponentiated gradient for intersections.
"""

from __future__ import annotations

import inspect
import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone, is_classifier
from sklearn.linear_model import LinearRegression, QuantileRegressor
from sklearn.utils.validation import check_is_fitted

from audit.mitigation._common import MitigationError, uniform_draws
from audit.mitigation._estimators import (
    _METHODS,
    _fairlearn_internals,
    _n_rows,
    _reduction_result,
    group_labels,
)

__all__ = ["REGRESSION_LOSSES", "BoundNotMetWarning", "ReductionRegressor", "group_losses"]

#: Losses a :class:`ReductionRegressor` can bound, by name.
REGRESSION_LOSSES = ("square", "absolute")
#: A bound counts as met up to this relative slack (the linear program's precision).
_BOUND_RTOL = 1e-6


class BoundNotMetWarning(UserWarning):
    """A fitted model's training loss in some group is above the ``upper_bound`` asked for.

    fairlearn returns its best trade-off rather than failing, so the model is kept; its
    ``group_losses_`` say by how much each group misses.
    """


class ReductionRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A regressor trained with every group's mean loss bounded, by a fairlearn reduction.

    Bounded group loss: among (mixtures of) refits of ``estimator``, minimise the mean loss
    subject to ``E[ℓ(Y, h(X)) | A=a] ≤ upper_bound`` for every group ``a`` on the training
    data, where ``ℓ`` is the square loss ``(y − ŷ)²`` or the absolute loss ``|y − ŷ|``, both
    computed on ``y`` and ``ŷ`` clipped to ``y_range`` (fairlearn's ``SquareLoss`` and
    ``AbsoluteLoss``).

    - ``exponentiated_gradient`` returns a randomized mixture. Its predictions follow
      fairlearn's ``ExponentiatedGradient.predict`` for regression exactly: **each row gets the
      output of one predictor, drawn with probability** ``weights_`` (not the weighted average
      of the predictors' outputs), from ``random_state``; the same seed gives the same
      predictions as ``ExponentiatedGradient.predict(X, random_state=seed)``. The bound is on
      the mixture's *expected* loss per group (what ``group_losses_`` reports).
    - ``grid_search`` refits ``estimator`` once per point of a grid of Lagrange multipliers and
      predicts with one of them, deterministically. fairlearn's GridSearch **does not read**
      ``upper_bound``: for BoundedGroupLoss its grid is the multipliers ``λ ≥ 0`` with
      ``‖λ‖₁ = 2``, and it picks the model minimising ``½·mean loss + ½·worst group loss``.
      ``upper_bound`` is only checked against that pick; ``family_`` holds the whole grid.

    After fitting, if some group's training loss is above ``upper_bound`` (the bound cannot
    be met with this estimator, or the reduction stopped short of it), the model is kept and
    a :class:`BoundNotMetWarning` names the group and its loss.

    Several sensitive features are combined into their intersection: one bound per cell (see
    the module's notes for what fairlearn does and does not support).

    Parameters
    ----------
    estimator : regressor, optional
        Refit by the reduction with ``fit(X, y, sample_weight=...)``: it must accept
        ``sample_weight`` and should minimise the weighted ``loss`` (the reduction's best
        response). Default: ``LinearRegression()`` for ``"square"``,
        ``QuantileRegressor(quantile=0.5, alpha=0.0)`` (least absolute deviations) for
        ``"absolute"``.
    method : {"exponentiated_gradient", "grid_search"}
    loss : {"square", "absolute"}
        One of :data:`REGRESSION_LOSSES`. fairlearn's ``ZeroOneLoss`` is left out: it is
        ``AbsoluteLoss(0, 1)``, the error rate of 0/1 labels; on real-valued targets it only
        clips them to [0, 1]. Bound a classifier's errors with
        :class:`~audit.mitigation.ReductionClassifier` instead.
    upper_bound : float
        Required. The bound on every group's mean loss, in the units of the loss on ``y`` as
        given: squared units of ``y`` for ``"square"`` (a root mean squared error of 12 hours
        in every group is ``upper_bound=144``), units of ``y`` for ``"absolute"``. Must be
        > 0 and below the largest loss ``y_range`` allows (``(max − min)²`` or
        ``max − min``), else it bounds nothing.
    y_range : (float, float), optional
        ``(min, max)`` to which targets and predictions are clipped inside the loss. Default:
        the smallest and largest training ``y`` (recorded in ``y_range_``).
    grid_size : int, default 10
        ``grid_search`` only.
    max_iter : int, default 50
        ``exponentiated_gradient`` only.
    random_state : int, RandomState, Generator or None
        Seeds the randomized predictions of ``exponentiated_gradient``; None draws fresh
        entropy (not NumPy's global RNG).

    Attributes
    ----------
    predictors_ : list of regressors
        The mixture's predictors with positive weight (exponentiated gradient), or the one
        grid search chose.
    weights_ : ndarray of shape (len(predictors_),)
        Their probabilities (summing to 1), in the order the draw uses.
    family_ : list of regressors
        ``grid_search`` only: every model of the grid, one per Lagrange multiplier.
    y_range_ : tuple of float
        The ``(min, max)`` the loss clipped to.
    group_losses_ : dict of str to float
        Each group's mean training loss, in expectation over the mixture:
        ``Σ_j weights_[j] · mean_{i in group} ℓ(y_i, predictors_[j](x_i))``, the quantity
        the bound constrains.

    Raises
    ------
    MitigationError
        From ``fit``: an unknown ``method`` or ``loss``; ``upper_bound`` missing, ≤ 0 or not
        below the largest possible loss; a bad ``y_range``, ``grid_size``, ``max_iter`` or
        ``random_state``; ``y`` not numeric, not finite or constant; a classifier, or an
        estimator whose ``fit`` takes no ``sample_weight``; lengths that differ; missing
        sensitive values.

    Warns
    -----
    BoundNotMetWarning
        From ``fit``: some group's training loss is above ``upper_bound``.

    See Also
    --------
    audit.mitigation.ReductionClassifier : the same reductions for binary classification.

    References
    ----------
    Agarwal, A., Dudík, M., Wu, Z. S. (2019). Fair Regression: Quantitative Definitions and
    Reduction-based Algorithms. ICML.

    Examples
    --------
    Group ``b`` sits 3 higher than group ``a``, which a model without the group cannot see:

    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> g = np.where(rng.random(300) < 0.7, "a", "b")
    >>> X = rng.normal(size=(300, 1))
    >>> y = 2 * X[:, 0] + np.where(g == "b", 3.0, 0.0) + rng.normal(size=300)
    >>> plain = LinearRegression().fit(X, y)
    >>> bool(((y - plain.predict(X)) ** 2)[g == "b"].mean() > 4)
    True
    >>> reg = ReductionRegressor(upper_bound=4.0, random_state=0)
    >>> reg = reg.fit(X, y, sensitive_features=g)
    >>> {group: round(loss, 2) for group, loss in reg.group_losses_.items()}
    {'a': 2.26, 'b': 4.0}
    >>> bool((reg.predict(X) == reg.predict(X)).all())  # seeded: the same draw again
    True
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        method: str = "exponentiated_gradient",
        loss: str = "square",
        upper_bound: float | None = None,
        y_range: tuple[float, float] | None = None,
        grid_size: int = 10,
        max_iter: int = 50,
        random_state: Any = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.loss = loss
        self.upper_bound = upper_bound
        self.y_range = y_range
        self.grid_size = grid_size
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> ReductionRegressor:
        """Fit under the bound; ``sensitive_features`` gives each row's group.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Numeric, finite targets.
        sensitive_features : array-like, Series, DataFrame or dict of array-like
            One group per row; several features are combined into their intersection.

        Returns
        -------
        ReductionRegressor
            ``self``, fitted.

        Examples
        --------
        >>> reg = ReductionRegressor(method="grid_search", upper_bound=1.0)
        >>> X = [[0.0], [1.0], [2.0], [3.0]]
        >>> reg = reg.fit(X, [0.0, 1.0, 2.0, 3.0], sensitive_features=["a", "a", "b", "b"])
        >>> {group: round(loss, 6) for group, loss in reg.group_losses_.items()}
        {'a': 0.0, 'b': 0.0}
        """
        from fairlearn.reductions import (
            AbsoluteLoss,
            BoundedGroupLoss,
            ExponentiatedGradient,
            GridSearch,
            SquareLoss,
        )

        self._check_params()
        if not hasattr(X, "shape"):  # fairlearn's moments read X.shape: lists become arrays
            X = np.asarray(X)
        target = _check_target(y)
        if _n_rows(X) != len(target):
            raise MitigationError(
                f"The 'X' parameter of ReductionRegressor must have one row per target in y "
                f"({len(target)}). Got {_n_rows(X)}."
            )
        groups = group_labels(sensitive_features, len(target))
        low, high = self._range(target)
        loss = (SquareLoss if self.loss == "square" else AbsoluteLoss)(low, high)
        bound = self._check_bound(float(loss.max), low, high)
        base = clone(self.estimator) if self.estimator is not None else _default(self.loss)
        _check_estimator(base)
        constraint = BoundedGroupLoss(loss, upper_bound=bound)
        mitigator = (
            ExponentiatedGradient(base, constraint, max_iter=self.max_iter)
            if self.method == "exponentiated_gradient"
            else GridSearch(base, constraint, grid_size=self.grid_size)
        )
        with _fairlearn_internals():
            mitigator.fit(X, target, sensitive_features=groups.to_numpy())
        self.predictors_, self.weights_, family = _reduction_result(mitigator, self.method)
        if family is not None:
            self.family_ = family
        self.y_range_ = (low, high)
        self.group_losses_ = self._group_losses(X, target, groups.to_numpy())
        self._warn_if_unmet(bound)
        return self

    def predict(self, X: Any) -> npt.NDArray[np.float64]:
        """Predicted targets: each row from one predictor, drawn with ``weights_``.

        The draw is fairlearn's (``RandomState(random_state).choice(outputs, p=weights)`` row
        by row: one uniform per row, mapped through the cumulative weights), so the
        predictions equal ``ExponentiatedGradient.predict(X, random_state=random_state)``.
        With one predictor (always for ``grid_search``) they are its predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Examples
        --------
        >>> reg = ReductionRegressor(method="grid_search", upper_bound=1.0)
        >>> X, y, g = [[0.0], [1.0], [2.0]], [0.0, 2.0, 4.0], ["a", "b", "b"]
        >>> reg = reg.fit(X, y, sensitive_features=g)
        >>> reg.predict([[3.0]]).round(6).tolist()
        [6.0]
        """
        check_is_fitted(self, "predictors_")
        outputs = self._outputs(X)
        if outputs.shape[1] == 1:
            return outputs[:, 0]
        cdf = np.cumsum(self.weights_)
        cdf /= cdf[-1]
        draws = uniform_draws(self.random_state, len(outputs))
        chosen = cdf.searchsorted(draws, side="right")
        return outputs[np.arange(len(outputs)), chosen]

    def _outputs(self, X: Any) -> npt.NDArray[np.float64]:
        """Every predictor's predictions, one column each."""
        columns = [np.asarray(p.predict(X), dtype=np.float64).reshape(-1) for p in self.predictors_]
        return np.column_stack(columns)

    def _check_params(self) -> None:
        if self.method not in _METHODS:
            raise MitigationError(
                f"The 'method' parameter of ReductionRegressor must be one of {list(_METHODS)}. "
                f"Got {self.method!r}."
            )
        if self.loss not in REGRESSION_LOSSES:
            hint = (
                " (zero_one is the error rate of 0/1 labels: use ReductionClassifier)"
                if self.loss == "zero_one"
                else ""
            )
            raise MitigationError(
                f"The 'loss' parameter of ReductionRegressor must be one of "
                f"{list(REGRESSION_LOSSES)}. Got {self.loss!r}{hint}."
            )
        for name in ("grid_size", "max_iter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise MitigationError(
                    f"The '{name}' parameter of ReductionRegressor must be an int ≥ 1. "
                    f"Got {value!r}."
                )
        uniform_draws(self.random_state, 0)  # refuses a random_state of another type now

    def _range(self, y: npt.NDArray[np.float64]) -> tuple[float, float]:
        if self.y_range is None:
            return float(y.min()), float(y.max())
        try:
            low, high = (float(v) for v in self.y_range)
        except (TypeError, ValueError):
            low = high = math.nan
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise MitigationError(
                "The 'y_range' parameter of ReductionRegressor must be (min, max) with finite "
                f"min < max, or None. Got {self.y_range!r}."
            )
        return low, high

    def _check_bound(self, largest: float, low: float, high: float) -> float:
        bound = self.upper_bound
        if isinstance(bound, bool) or not isinstance(bound, int | float | np.floating):
            raise MitigationError(
                "The 'upper_bound' parameter of ReductionRegressor must be a number > 0 (the "
                f"bound on every group's mean {self.loss} loss, in the units of that loss on "
                f"y). Got {bound!r}."
            )
        if not (math.isfinite(bound) and bound > 0):
            raise MitigationError(
                "The 'upper_bound' parameter of ReductionRegressor must be a finite number > 0 "
                f"(a mean {self.loss} loss). Got {bound!r}."
            )
        if bound >= largest:
            raise MitigationError(
                f"The 'upper_bound' parameter of ReductionRegressor must be below the largest "
                f"possible {self.loss} loss on y_range [{low:g}, {high:g}], {largest:g}, or it "
                f"bounds nothing. Got {bound!r}."
            )
        return float(bound)

    def _group_losses(
        self, X: Any, y: npt.NDArray[np.float64], groups: npt.NDArray[Any]
    ) -> dict[str, float]:
        """Each group's loss in expectation over the mixture: Σ_j weight_j · loss of j."""
        outputs = self._outputs(X)
        expected: dict[str, float] = {}
        for j, weight in enumerate(self.weights_):
            losses = group_losses(y, outputs[:, j], groups, loss=self.loss, y_range=self.y_range_)
            for group, value in losses.items():
                expected[group] = expected.get(group, 0.0) + float(weight) * value
        return expected

    def _warn_if_unmet(self, bound: float) -> None:
        group, worst = max(self.group_losses_.items(), key=lambda item: item[1])
        if worst <= bound * (1 + _BOUND_RTOL):
            return
        why = (
            "fairlearn's grid search does not use the bound: it picks the grid model with the "
            "least ½·mean loss + ½·worst group loss (family_ holds them all)"
            if self.method == "grid_search"
            else "exponentiated gradient returns its best trade-off when mixtures of this "
            "estimator's refits cannot meet the bound (or max_iter stops it first)"
        )
        warnings.warn(
            f"ReductionRegressor did not meet upper_bound={bound:g} on its training data: group "
            f"{group!r} has a mean {self.loss} loss of {worst:.6g}; {why}. Raise 'upper_bound' "
            "or use a more flexible estimator; group_losses_ has every group's loss.",
            BoundNotMetWarning,
            stacklevel=3,
        )


def _check_target(
    y: Any, where: str = "The 'y' parameter of ReductionRegressor"
) -> npt.NDArray[np.float64]:
    """``y`` as a finite, non-constant float vector, or a MitigationError saying why not."""
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise MitigationError(
            f"{where} must be one target per row, shape (n_samples,). Got shape {values.shape}."
        )
    if values.dtype.kind not in "biuf":
        raise MitigationError(
            f"{where} must be numeric (regression targets). "
            f"Got dtype {values.dtype}: {values[:3].tolist()}."
        )
    target = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(target))
    if len(bad):
        raise MitigationError(
            f"{where} must be finite. Got "
            f"{len(bad)} NaN or infinite value(s), the first at row {int(bad[0])}."
        )
    if len(target) == 0 or target.min() == target.max():
        raise MitigationError(
            f"{where} must take at least two distinct values "
            f"(a regression target). Got {np.unique(target).tolist()[:1]}."
        )
    return target


def group_losses(
    y_true: Any, y_pred: Any, groups: Any, *, loss: str, y_range: tuple[float, float]
) -> dict[str, float]:
    """Each group's mean loss, as :class:`ReductionRegressor` bounds it.

    The loss is fairlearn's (``SquareLoss`` or ``AbsoluteLoss`` on ``y_range``: targets and
    predictions clipped to it).

    Examples
    --------
    >>> group_losses([0.0, 1.0, 2.0, 4.0], [0.0, 2.0, 2.0, 1.0], ["a", "a", "b", "b"],
    ...              loss="square", y_range=(0.0, 3.0))
    {'a': 0.5, 'b': 2.0}
    """
    from fairlearn.reductions import AbsoluteLoss, SquareLoss

    fl_loss = (SquareLoss if loss == "square" else AbsoluteLoss)(*y_range)
    row_loss = fl_loss.eval(np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=float))
    names, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    sums = np.bincount(codes, weights=row_loss, minlength=len(names))
    sizes = np.bincount(codes, minlength=len(names))
    return {str(n): float(v) for n, v in zip(names, sums / sizes, strict=True)}


def _check_estimator(estimator: Any) -> None:
    name = type(estimator).__name__
    if is_classifier(estimator):
        raise MitigationError(
            "The 'estimator' parameter of ReductionRegressor must be a regressor (it is "
            f"refit on y as given). Got {name}, a classifier."
        )
    fit = getattr(estimator, "fit", None)
    if not callable(fit) or not hasattr(estimator, "predict"):
        raise MitigationError(
            "The 'estimator' parameter of ReductionRegressor must have fit and predict. "
            f"Got {name}."
        )
    params = inspect.signature(fit).parameters.values()
    if not any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in params):
        raise MitigationError(
            f"The 'estimator' parameter of ReductionRegressor must accept sample_weight in "
            f"fit: the reduction refits it on reweighted rows. {name}.fit takes no "
            "sample_weight."
        )


def _default(loss: str) -> Any:
    """The estimator whose weighted fit minimises ``loss``: the reduction's best response."""
    if loss == "absolute":
        return QuantileRegressor(quantile=0.5, alpha=0.0)
    return LinearRegression()
