"""ReductionRegressor wraps fairlearn's BoundedGroupLoss faithfully: the same predictions as
fairlearn for the same seed, group losses that a direct computation confirms and that respect
a feasible bound (hand-derived on tiny tables), one bound per intersection cell, a Pipeline,
refusals that name the parameter, and a skops round trip.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.reductions import (
    AbsoluteLoss,
    BoundedGroupLoss,
    ExponentiatedGradient,
    GridSearch,
    SquareLoss,
)
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import NotFittedError, UnsetMetadataPassedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from audit.datasets import load_adult
from audit.mitigation._common import MitigationError
from audit.mitigation._persist import load_model, save_model
from audit.mitigation._regression import BoundNotMetWarning, ReductionRegressor

NUMERIC = ["age", "education_num", "capital_gain", "capital_loss"]
N_TRAIN = 800  # enough rows for a mixture of two predictors; one fit takes about 1.5 s


@contextlib.contextmanager
def fairlearn_internals() -> Iterator[None]:
    """fairlearn 0.15's own code triggers pandas 3 deprecations (our wrapper silences them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        yield


def square(y: Any, pred: Any) -> Any:
    return (np.asarray(y) - np.asarray(pred)) ** 2


def absolute(y: Any, pred: Any) -> Any:
    return np.abs(np.asarray(y) - np.asarray(pred))


def mean_by_group(values: Any, groups: Any) -> dict[str, float]:
    """A direct numpy computation, independent of fairlearn and of the wrapper."""
    groups = np.asarray(groups, dtype=str)
    return {str(g): float(np.asarray(values)[groups == g].mean()) for g in np.unique(groups)}


def mixture_losses(
    model: ReductionRegressor, X: Any, y: Any, groups: Any, loss: Callable[[Any, Any], Any]
) -> dict[str, float]:
    """Σ_j w_j · mean over the group of loss(clip(y), clip(h_j(X))), clipped to y_range_."""
    low, high = model.y_range_
    total: dict[str, float] = {}
    for predictor, weight in zip(model.predictors_, model.weights_, strict=True):
        pred = np.clip(predictor.predict(X), low, high)
        for group, value in mean_by_group(loss(np.clip(y, low, high), pred), groups).items():
            total[group] = total.get(group, 0.0) + weight * value
    return total


def fairlearns_losses(mitigator: Any) -> dict[str, float]:
    """fairlearn's own group losses of its fitted mixture (its moment's gamma)."""
    moment = mitigator.constraints_
    if isinstance(mitigator, GridSearch):
        gamma = moment.gamma(mitigator.predictors_[mitigator.best_idx_].predict)
        return {str(g): float(v) for g, v in gamma.items()}
    weights = mitigator.weights_[mitigator.weights_ > 0]
    gammas = pd.DataFrame(
        {j: moment.gamma(mitigator.predictors_[j].predict) for j in weights.index}
    )
    return {str(g): float(v) for g, v in (gammas @ weights).items()}


@pytest.fixture(scope="module")
def hours() -> dict[str, Any]:
    """1,200 real Adult rows: hours worked per week from scaled numeric features and income.

    The bound is feasible by construction and binding: a linear regression refit with
    group-balanced weights (a model in the reduction's class) meets it, the unweighted fit
    does not.
    """
    frame = load_adult().dropna(subset=["sex"]).sample(1200, random_state=0)
    X = StandardScaler().fit_transform(frame[NUMERIC].to_numpy(dtype=float))
    X = np.c_[X, frame["income"].str.startswith(">50K").to_numpy(dtype=float)]
    y = frame["hours_per_week"].to_numpy(dtype=float)
    sex = frame["sex"].to_numpy(dtype=object)
    X_train, y_train, s_train = X[:N_TRAIN], y[:N_TRAIN], sex[:N_TRAIN]
    plain = LinearRegression().fit(X_train, y_train)
    share = pd.Series(s_train).map(pd.Series(s_train).value_counts(normalize=True))
    balanced = LinearRegression().fit(X_train, y_train, sample_weight=1 / share.to_numpy())
    plain_worst = max(mean_by_group(square(y_train, plain.predict(X_train)), s_train).values())
    bound = max(mean_by_group(square(y_train, balanced.predict(X_train)), s_train).values())
    assert bound < plain_worst  # the bound binds: the unconstrained fit misses it
    return {
        "X": X_train, "y": y_train, "sex": s_train, "bound": bound, "plain": plain,
        "X_test": X[N_TRAIN:], "y_test": y[N_TRAIN:], "sex_test": sex[N_TRAIN:],
    }  # fmt: skip


@pytest.fixture(scope="module")
def exp_grad(hours: dict[str, Any]) -> tuple[ReductionRegressor, Any]:
    """Ours and fairlearn's ExponentiatedGradient, square loss, the same bound."""
    X, y, sex, bound = hours["X"], hours["y"], hours["sex"], hours["bound"]
    ours = ReductionRegressor(upper_bound=bound, random_state=7).fit(X, y, sensitive_features=sex)
    theirs = ExponentiatedGradient(
        LinearRegression(), BoundedGroupLoss(SquareLoss(y.min(), y.max()), upper_bound=bound)
    )
    with fairlearn_internals():
        theirs.fit(X, y, sensitive_features=sex)
    return ours, theirs


@pytest.fixture(scope="module")
def grid_search(hours: dict[str, Any]) -> tuple[ReductionRegressor, Any]:
    X, y, sex, bound = hours["X"], hours["y"], hours["sex"], hours["bound"]
    ours = ReductionRegressor(method="grid_search", grid_size=7, upper_bound=bound * 2)
    ours.fit(X, y, sensitive_features=sex)
    theirs = GridSearch(
        LinearRegression(),
        BoundedGroupLoss(SquareLoss(y.min(), y.max()), upper_bound=bound * 2),
        grid_size=7,
    )
    with fairlearn_internals():
        theirs.fit(X, y, sensitive_features=sex)
    return ours, theirs


# ---------------------------------------------------------------------------------------------
# The same predictions as fairlearn, on real data
# ---------------------------------------------------------------------------------------------


def test_exponentiated_gradient_predictions_equal_fairlearns(
    hours: dict[str, Any], exp_grad: tuple[ReductionRegressor, Any]
) -> None:
    ours, theirs = exp_grad
    X_test = hours["X_test"]
    with fairlearn_internals():
        expected = theirs.predict(X_test, random_state=7)
    np.testing.assert_array_equal(ours.predict(X_test), expected)
    assert len(ours.predictors_) > 1  # a real mixture: the randomized path is exercised
    assert ours.weights_.sum() == pytest.approx(1.0)
    # Each row is one predictor's output (fairlearn draws, it does not average).
    outputs = np.column_stack([p.predict(X_test) for p in ours.predictors_])
    assert (ours.predict(X_test)[:, None] == outputs).any(axis=1).all()
    average = outputs @ ours.weights_
    assert not np.allclose(ours.predict(X_test), average)


def test_grid_search_keeps_the_family_and_fairlearns_pick(
    hours: dict[str, Any], grid_search: tuple[ReductionRegressor, Any]
) -> None:
    ours, theirs = grid_search
    assert len(ours.family_) == 7
    np.testing.assert_array_equal(ours.predict(hours["X_test"]), theirs.predict(hours["X_test"]))
    for mine, fairlearns in zip(ours.family_, theirs.predictors_, strict=True):
        np.testing.assert_allclose(mine.coef_, fairlearns.coef_)


def test_group_losses_are_what_fairlearn_and_numpy_compute(
    hours: dict[str, Any],
    exp_grad: tuple[ReductionRegressor, Any],
    grid_search: tuple[ReductionRegressor, Any],
) -> None:
    X, y, sex = hours["X"], hours["y"], hours["sex"]
    for ours, theirs in (exp_grad, grid_search):
        assert ours.y_range_ == (y.min(), y.max())
        direct = mixture_losses(ours, X, y, sex, square)
        assert ours.group_losses_ == pytest.approx(direct, rel=1e-12)
        with fairlearn_internals():
            assert ours.group_losses_ == pytest.approx(fairlearns_losses(theirs), rel=1e-12)


def test_a_feasible_bound_is_met_in_training_and_helps_the_worst_group_held_out(
    hours: dict[str, Any], exp_grad: tuple[ReductionRegressor, Any]
) -> None:
    ours, _ = exp_grad
    bound = hours["bound"]
    assert max(ours.group_losses_.values()) <= bound * (1 + 1e-9)
    assert max(ours.group_losses_.values()) == pytest.approx(bound)  # binding, as it should
    # Held out the bound is not guaranteed, but the worst group must do better than unmitigated.
    X_test, y_test, s_test = hours["X_test"], hours["y_test"], hours["sex_test"]
    plain = mean_by_group(square(y_test, hours["plain"].predict(X_test)), s_test)
    mitigated = mean_by_group(square(y_test, ours.predict(X_test)), s_test)
    worst = max(plain, key=plain.__getitem__)
    assert mitigated[worst] < plain[worst]


def test_same_seed_same_predictions_and_the_global_rng_is_untouched(
    hours: dict[str, Any], exp_grad: tuple[ReductionRegressor, Any]
) -> None:
    X, y, sex, X_test = hours["X"], hours["y"], hours["sex"], hours["X_test"]
    first, _ = exp_grad
    state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is what is checked
    again = ReductionRegressor(upper_bound=hours["bound"], random_state=7)
    again.fit(X, y, sensitive_features=sex)
    np.testing.assert_array_equal(again.predict(X_test), first.predict(X_test))
    np.testing.assert_array_equal(first.predict(X_test), first.predict(X_test))
    other = again.set_params(random_state=8)  # the seed is read at predict time
    assert (other.predict(X_test) != first.predict(X_test)).any()  # the draws do matter
    other.set_params(random_state=None).predict(X_test)  # fresh entropy, not the global RNG
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0]
    assert (after[1] == state[1]).all()
    assert after[2:] == state[2:]


def test_pipeline_routes_sensitive_features(hours: dict[str, Any]) -> None:
    X, y, sex = hours["X"], hours["y"], hours["sex"]
    bound = 2 * hours["bound"]  # grid search (fast) picks a model within it
    with sklearn.config_context(enable_metadata_routing=True):
        mitigate = ReductionRegressor(method="grid_search", grid_size=7, upper_bound=bound)
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("mitigate", mitigate.set_fit_request(sensitive_features=True)),
            ]
        )
        pipe.fit(X, y, sensitive_features=sex)
        routed = pipe.predict(hours["X_test"])
    scaler = StandardScaler().fit(X)
    direct = ReductionRegressor(method="grid_search", grid_size=7, upper_bound=bound)
    direct.fit(scaler.transform(X), y, sensitive_features=sex)
    np.testing.assert_array_equal(routed, direct.predict(scaler.transform(hours["X_test"])))
    unrouted = ReductionRegressor(method="grid_search", grid_size=7, upper_bound=bound)
    with (
        sklearn.config_context(enable_metadata_routing=True),
        pytest.raises(UnsetMetadataPassedError, match=r"\[sensitive_features\] are passed"),
    ):
        Pipeline([("mitigate", unrouted)]).fit(X, y, sensitive_features=sex)


# ---------------------------------------------------------------------------------------------
# Hand oracles: a model that can only predict a constant c (DummyRegressor, weighted mean or
# weighted median), 6 rows of group a with y = 0 and 2 rows of group b with y = 4.
#   square loss:   a: c²,  b: (4 − c)²,  mean 0.75·c² + 0.25·(4 − c)², unconstrained c = 1.
#   absolute loss: a: |c|, b: |4 − c|,   mean 1 + 0.5·c on [0, 4],      unconstrained c = 0.
# ---------------------------------------------------------------------------------------------

X8 = np.zeros((8, 1))
Y8 = np.array([0.0] * 6 + [4.0] * 2)
G8 = np.array(["a"] * 6 + ["b"] * 2)


def test_square_loss_bound_binds_where_the_algebra_says() -> None:
    # Bound 5: b needs (4 − c)² ≤ 5, so c ≥ 4 − √5, and the best is c = 4 − √5 with
    # a = (4 − √5)² ≈ 3.11 and b = 5. For any mixture of constants (Jensen) the mean c̄
    # satisfies (4 − c̄)² ≤ loss_b, so loss_a ≥ c̄² ≥ (4 − √loss_b)²: nothing beats it.
    model = ReductionRegressor(DummyRegressor(), upper_bound=5.0, random_state=0)
    losses = model.fit(X8, Y8, sensitive_features=G8).group_losses_
    assert losses["b"] <= 5.0 * (1 + 1e-9)
    assert losses["b"] == pytest.approx(5.0)
    assert losses["a"] >= (4 - math.sqrt(losses["b"])) ** 2 - 1e-12
    assert losses["a"] == pytest.approx((4 - math.sqrt(5)) ** 2, abs=0.01)  # near-optimal
    assert losses == pytest.approx(mixture_losses(model, X8, Y8, G8, square), rel=1e-12)


def test_absolute_loss_mixes_two_constants_and_predicts_one_or_the_other() -> None:
    # The weighted median is 0 or 4, never in between: a bound 3 on b needs c̄ ≥ 1, met by
    # predicting 4 with probability 1/4 and 0 with 3/4: a = 1/4·4 = 1, b = 3/4·4 = 3.
    # Each row gets 0 or 4 (fairlearn draws a predictor per row), never the average 1.
    model = ReductionRegressor(
        DummyRegressor(strategy="median"), loss="absolute", upper_bound=3.0, random_state=4
    )
    model.fit(X8, Y8, sensitive_features=G8)
    constants = sorted(float(p.constant_.ravel()[0]) for p in model.predictors_)
    assert constants == [0.0, 4.0]
    assert dict(zip(constants, sorted(model.weights_, reverse=True), strict=True)) == (
        pytest.approx({0.0: 0.75, 4.0: 0.25})
    )
    assert model.group_losses_ == pytest.approx({"a": 1.0, "b": 3.0})
    assert model.group_losses_ == pytest.approx(mixture_losses(model, X8, Y8, G8, absolute))
    theirs = ExponentiatedGradient(
        DummyRegressor(strategy="median"), BoundedGroupLoss(AbsoluteLoss(0, 4), upper_bound=3.0)
    )
    X = np.zeros((200, 1))
    with fairlearn_internals():
        theirs.fit(X8, Y8, sensitive_features=G8)
        expected = theirs.predict(X, random_state=4)
    predictions = model.predict(X)
    np.testing.assert_array_equal(predictions, expected)
    assert set(predictions.tolist()) == {0.0, 4.0}


def test_grid_search_picks_by_fairlearns_rule_and_ignores_the_bound() -> None:
    # BoundedGroupLoss's grid for grid_size 5: λ ≥ 0 with λ_a + λ_b = 2, step 1/2; the
    # weights λ_g / P(g) make the weighted mean c = 2·λ_b: c ∈ {4, 3, 2, 1, 0}.
    # fairlearn picks the least ½·mean + ½·worst: c = 4: ½·12 + ½·16 = 14; 3: 8;
    # 2: ½·4 + ½·4 = 4; 1: ½·3 + ½·9 = 6; 0: 10. So c = 2, with losses a = b = 4.
    model = ReductionRegressor(DummyRegressor(), method="grid_search", grid_size=5)
    model.set_params(upper_bound=15.0).fit(X8, Y8, sensitive_features=G8)
    assert [float(p.constant_.ravel()[0]) for p in model.family_] == [4.0, 3.0, 2.0, 1.0, 0.0]
    np.testing.assert_array_equal(model.predict(X8), np.full(8, 2.0))
    assert model.group_losses_ == pytest.approx({"a": 4.0, "b": 4.0})
    # A bound the pick misses does not change the pick: it is only reported.
    message = r"group '[ab]' has a mean square loss of 4; fairlearn's grid search does not use"
    with pytest.warns(BoundNotMetWarning, match=message):
        model.set_params(upper_bound=3.5).fit(X8, Y8, sensitive_features=G8)
    np.testing.assert_array_equal(model.predict(X8), np.full(8, 2.0))


def test_the_loss_clips_to_y_range() -> None:
    # y_range (0, 2): y of b counts as 2 and the grid's c ∈ {4, 3, 2, 1, 0} as {2, 2, 2, 1, 0}.
    # Losses a: clip(c)², b: (2 − clip(c))²; ½·mean + ½·worst: c ≥ 2: ½·3 + ½·4 = 3.5;
    # c = 1: ½·1 + ½·1 = 1; c = 0: ½·1 + ½·4 = 2.5. So c = 1 (unclipped it was c = 2).
    model = ReductionRegressor(
        DummyRegressor(), method="grid_search", grid_size=5, upper_bound=3.0, y_range=(0, 2)
    )
    model.fit(X8, Y8, sensitive_features=G8)
    assert model.y_range_ == (0.0, 2.0)
    np.testing.assert_array_equal(model.predict(X8), np.full(8, 1.0))
    assert model.group_losses_ == pytest.approx({"a": 1.0, "b": 1.0})  # unclipped b: 9


def test_an_infeasible_bound_keeps_the_model_and_warns() -> None:
    # max(c², (4 − c)²) ≥ 4 for every c (and every mixture, by Jensen): a bound 3 is infeasible.
    model = ReductionRegressor(DummyRegressor(), upper_bound=3.0, random_state=0)
    with pytest.warns(BoundNotMetWarning, match=r"did not meet upper_bound=3 .* Raise 'upper_"):
        model.fit(X8, Y8, sensitive_features=G8)
    assert min(model.group_losses_.values()) >= 4.0 - 1e-3
    assert model.predict(X8).shape == (8,)


# ---------------------------------------------------------------------------------------------
# Several sensitive features: one bound per intersection cell, as fairlearn does
# ---------------------------------------------------------------------------------------------


def test_several_features_bound_every_intersection_cell() -> None:
    # X says only the sex, so a linear model predicts one value per sex. Cells (rows, y):
    # F×a (4, 0), F×b (2, 3), M×a (4, 2), M×b (2, 6). Unconstrained: F 1, M 20/6, so the
    # cells lose F×a 1, F×b 4, M×a 16/9, M×b 64/9 ≈ 7.1; by sex F 2, M 32/9 ≈ 3.56.
    sex = np.array(["F"] * 6 + ["M"] * 6, dtype=object)
    race = np.array(["a"] * 4 + ["b"] * 2 + ["a"] * 4 + ["b"] * 2, dtype=object)
    y = np.array([0.0] * 4 + [3.0] * 2 + [2.0] * 4 + [6.0] * 2)
    X = (sex == "M").astype(float).reshape(-1, 1)
    cells = pd.DataFrame({"sex": sex, "race": race})

    # By sex alone both groups are under 5 already: nothing changes, M×b stays at 64/9.
    by_sex = ReductionRegressor(LinearRegression(), upper_bound=5.0, random_state=1)
    by_sex.fit(X, y, sensitive_features=sex)
    assert by_sex.group_losses_ == pytest.approx({"F": 2.0, "M": 32 / 9})
    cell_losses = mean_by_group(square(y, by_sex.predict(X)), sex + " × " + race)
    assert cell_losses["M × b"] == pytest.approx(64 / 9)

    # By the cells, M×b is held at 5 (M predicts ≥ 6 − √5); M×a pays (as in the 2-group case).
    model = ReductionRegressor(LinearRegression(), upper_bound=5.0, random_state=1)
    model.fit(X, y, sensitive_features=cells)
    losses = model.group_losses_
    assert sorted(losses) == ["F × a", "F × b", "M × a", "M × b"]
    assert losses["M × b"] == pytest.approx(5.0)
    assert losses["M × a"] == pytest.approx((math.sqrt(5) - 4) ** 2, abs=0.01)
    assert (losses["F × a"], losses["F × b"]) == pytest.approx((1.0, 4.0))
    assert losses == pytest.approx(mixture_losses(model, X, y, sex + " × " + race, square))

    # fairlearn given the two columns: its constraints are the same four cells (joined by ",").
    theirs = ExponentiatedGradient(
        LinearRegression(), BoundedGroupLoss(SquareLoss(0.0, 6.0), upper_bound=5.0)
    )
    with fairlearn_internals():
        theirs.fit(X, y, sensitive_features=cells)
        expected = theirs.predict(X, random_state=1)
        fairlearn_cells = fairlearns_losses(theirs)
    assert list(theirs.constraints_.index) == ["F,a", "F,b", "M,a", "M,b"]
    assert fairlearn_cells == pytest.approx(
        {key.replace(" × ", ","): value for key, value in losses.items()}
    )
    np.testing.assert_array_equal(model.predict(X), expected)


# ---------------------------------------------------------------------------------------------
# Refusals: each names the parameter, what was expected and what was found
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "sgd"}, r"'method' parameter of ReductionRegressor must be one of "
         r"\['exponentiated_gradient', 'grid_search'\]\. Got 'sgd'\."),
        ({"loss": "huber"}, r"'loss' parameter .* one of \['square', 'absolute'\]\. Got 'huber'\."),
        ({"loss": "zero_one"}, r"Got 'zero_one' \(zero_one is the error rate of 0/1 labels: use "
         r"ReductionClassifier\)"),
        ({"upper_bound": None}, r"'upper_bound' parameter .* must be a number > 0 .* Got None\."),
        ({"upper_bound": True}, r"'upper_bound' parameter .* must be a number > 0 .* Got True\."),
        ({"upper_bound": 0}, r"'upper_bound' parameter .* finite number > 0 .* Got 0\."),
        ({"upper_bound": -1.0}, r"'upper_bound' parameter .* finite number > 0 .* Got -1\.0\."),
        ({"upper_bound": math.nan}, r"'upper_bound' parameter .* finite number > 0 .* Got nan\."),
        ({"upper_bound": 16.0}, r"'upper_bound' parameter .* below the largest possible square "
         r"loss on y_range \[0, 4\], 16, or it bounds nothing\. Got 16\.0\."),
        ({"upper_bound": 4.0, "loss": "absolute"}, r"'upper_bound' .* largest possible absolute "
         r"loss on y_range \[0, 4\], 4,"),
        ({"upper_bound": 5.0, "y_range": (0.0, 2.0)}, r"'upper_bound' .* y_range \[0, 2\], 4,"),
        ({"y_range": (4.0, 0.0)}, r"'y_range' parameter .* finite min < max, or None\. "
         r"Got \(4\.0, 0\.0\)\."),
        ({"y_range": (0.0, math.inf)}, r"'y_range' parameter .* Got \(0\.0, inf\)\."),
        ({"y_range": (0.0, 1.0, 2.0)}, r"'y_range' parameter .* Got \(0\.0, 1\.0, 2\.0\)\."),
        ({"grid_size": 0}, r"'grid_size' parameter of ReductionRegressor must be an int ≥ 1\. "
         r"Got 0\."),
        ({"max_iter": 2.5}, r"'max_iter' parameter .* an int ≥ 1\. Got 2\.5\."),
        ({"random_state": "seed"}, r"'random_state' parameter must be an int, a numpy "
         r"RandomState or Generator, or None\. Got 'seed'\."),
        ({"estimator": LogisticRegression()}, r"'estimator' parameter .* must be a regressor .* "
         r"Got LogisticRegression, a classifier\."),
        ({"estimator": KNeighborsRegressor()}, r"'estimator' parameter .* must accept "
         r"sample_weight in fit: .* KNeighborsRegressor\.fit takes no sample_weight\."),
    ],
)  # fmt: skip
def test_parameters_are_refused_by_name(params: dict[str, Any], match: str) -> None:
    model = ReductionRegressor(DummyRegressor(), upper_bound=1.0).set_params(**params)
    with pytest.raises(MitigationError, match=match):
        model.fit(X8, Y8, sensitive_features=G8)


@pytest.mark.parametrize(
    ("X", "y", "groups", "match"),
    [
        (X8, np.array(list("abcdefgh")), G8, r"'y' parameter of ReductionRegressor must be "
         r"numeric \(regression targets\)\. Got dtype <U1: \['a', 'b', 'c'\]\."),
        (X8, np.r_[Y8[:3], np.nan, Y8[4:]], G8, r"'y' parameter .* must be finite\. Got 1 NaN "
         r"or infinite value\(s\), the first at row 3\."),
        (X8, np.r_[Y8[:7], np.inf], G8, r"'y' .* must be finite\. .* the first at row 7\."),
        (X8, pd.Series(Y8, dtype="Float64").mask(np.arange(8) == 5), G8,
         r"'y' .* must be finite\. .* the first at row 5\."),
        (X8, np.full(8, 2.0), G8, r"'y' parameter .* at least two distinct values .* "
         r"Got \[2\.0\]\."),
        (X8, np.c_[Y8, Y8], G8, r"'y' parameter .* shape \(n_samples,\)\. Got shape \(8, 2\)\."),
        (X8[:7], Y8, G8, r"'X' parameter .* one row per target in y \(8\)\. Got 7\."),
        (X8, Y8, G8[:7], r"'sensitive_features' parameter must have one row per sample \(8\)\. "
         r"Got 7\."),
        (X8, Y8, np.r_[G8[:2], None, G8[3:]], r"The sensitive feature\(s\) "
         r"\['sensitive_features'\] have missing values"),
        (X8, Y8, {"sex": G8, "race": [None] + ["x"] * 7}, r"The sensitive feature\(s\) "
         r"\['race'\] have missing values"),
    ],
)  # fmt: skip
def test_data_is_refused_by_name(X: Any, y: Any, groups: Any, match: str) -> None:
    with pytest.raises(MitigationError, match=match):
        ReductionRegressor(DummyRegressor(), upper_bound=1.0).fit(X, y, sensitive_features=groups)


def test_predict_before_fit_is_refused() -> None:
    with pytest.raises(NotFittedError):
        ReductionRegressor(upper_bound=1.0).predict(X8)


# ---------------------------------------------------------------------------------------------
# skops
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["exponentiated_gradient", "grid_search", "absolute"])
def test_skops_round_trip(
    hours: dict[str, Any],
    exp_grad: tuple[ReductionRegressor, Any],
    grid_search: tuple[ReductionRegressor, Any],
    tmp_path: Path,
    which: str,
) -> None:
    if which == "absolute":
        model = ReductionRegressor(
            DummyRegressor(strategy="median"), loss="absolute", upper_bound=3.0, random_state=4
        ).fit(X8, Y8, sensitive_features=G8)
        X_test = np.zeros((50, 1))
    else:
        model = (exp_grad if which == "exponentiated_gradient" else grid_search)[0]
        X_test = hours["X_test"]
    save_model(model, tmp_path / "model.skops")
    back = load_model(tmp_path / "model.skops")  # no extra trusted types needed
    assert isinstance(back, ReductionRegressor)
    np.testing.assert_array_equal(back.predict(X_test), model.predict(X_test))
    assert back.group_losses_ == model.group_losses_
    assert back.y_range_ == model.y_range_
    np.testing.assert_array_equal(back.weights_, model.weights_)
    assert back.get_params(deep=False).keys() == model.get_params(deep=False).keys()
