"""Applying group thresholds (audit.mitigation._threshold_apply) and the estimator
GroupThresholdClassifier (audit.mitigation._thresholds).

Expected values are derived by hand (in comments) or follow from the functions' definitions
(the estimator equals the functions on its scores). The fitting itself, against fairlearn, is
checked in tests/test_thresholds.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from audit import DataValidationError, FairtrailError
from audit.mitigation import _threshold_apply as apply_module
from audit.mitigation._thresholds import (
    GroupThresholdClassifier,
    GroupThresholds,
    InfeasibleConstraintError,
    ThresholdError,
    fit_thresholds,
    predict_thresholds,
    threshold_probability,
)

# ---------------------------------------------------------------------------------------------
# Rows to groups
# ---------------------------------------------------------------------------------------------


def test_missing_sensitive_value_is_its_own_group() -> None:
    # The audit core's rule: a missing category is the group "unknown", at fit and predict.
    group = ["a", "a", None, None, "b", "b"]
    result = fit_thresholds([0, 1, 0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8, 0.3, 0.7], group)
    assert [g.group for g in result.groups] == ["a", "b", "unknown"]
    # Each group is separable: accuracy 1 at selection rate 1/2 with the cut between its
    # two scores (unknown: between 0.8 and 0.2, 0.5).
    assert result.group("unknown").threshold == 0.5
    np.testing.assert_array_equal(
        threshold_probability(result, [0.6, 0.4, 0.4], [None, np.nan, "a"], deterministic=True),
        [1, 0, 0],
    )


def test_many_feature_combinations_use_the_search_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    n = 3000
    frame = pd.DataFrame({f: rng.choice(["p", "q"], n) for f in ("f1", "f2", "f3")})
    y = (rng.random(n) < 0.5).astype(int)
    score = np.round(rng.random(n), 3)
    result = fit_thresholds(y, score, frame, constraints="equalized_odds")
    by_table = threshold_probability(result, score, frame)
    monkeypatch.setattr(apply_module, "_TABLE_LIMIT", 0)
    np.testing.assert_array_equal(threshold_probability(result, score, frame), by_table)
    unseen = frame.head(2).assign(f2=["r", "q"])
    with pytest.raises(ThresholdError, match=r"1 group\(s\) not seen .*\['(p|q) × r × (p|q)'\]"):
        threshold_probability(result, score[:2], unseen)


def test_unknown_group_at_predict_time() -> None:
    result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
    with pytest.raises(
        ThresholdError,
        match=r"^sensitive_features holds 1 group\(s\) not seen when fitting \(2 rows, first "
        r"at row 1\): \['c'\]\. Groups fitted: \['a', 'b'\]\.",
    ):
        predict_thresholds(result, [0.5, 0.5, 0.5, 0.5], ["a", "c", "b", "c"], random_state=0)
    two = fit_thresholds([0, 1] * 4, [0.1, 0.9] * 4, {"s": list("aabbaabb"), "r": list("xxxxyyyy")})
    with pytest.raises(ThresholdError, match=r"must have the 2 feature\(s\) the thresholds were"):
        threshold_probability(two, [0.5], ["a"])
    with pytest.raises(ThresholdError, match=r"not seen when fitting .*: \['b × z'\]"):
        threshold_probability(two, [0.5], {"s": ["b"], "r": ["z"]})


# ---------------------------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def randomized() -> tuple[GroupThresholds, Any, Any]:
    rng = np.random.default_rng(11)
    n = 4000
    group = rng.choice(["a", "b", "c"], n)
    y = (rng.random(n) < np.select([group == "a", group == "b"], [0.2, 0.5], 0.7)).astype(int)
    score = np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    result = fit_thresholds(y, score, group, constraints="equalized_odds")
    probability = threshold_probability(result, score, group)
    assert ((probability > 0) & (probability < 1)).sum() > 100  # the draws matter
    return result, score, group


def test_same_seed_same_predictions_and_global_rng_untouched(randomized: Any) -> None:
    result, score, group = randomized
    state = np.random.get_state()  # noqa: NPY002 (the global generator is what we check)
    first = predict_thresholds(result, score, group, random_state=0)
    second = predict_thresholds(result, score, group, random_state=0)
    other = predict_thresholds(result, score, group, random_state=1)
    unseeded = predict_thresholds(result, score, group)
    generator = predict_thresholds(result, score, group, random_state=np.random.default_rng(0))
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0]
    assert after[2:] == state[2:]
    np.testing.assert_array_equal(after[1], state[1])
    np.testing.assert_array_equal(first, second)
    assert (first != other).any()
    assert unseeded.shape == generator.shape == first.shape
    deterministic = predict_thresholds(result, score, group, deterministic=True, random_state=5)
    expected = score > np.array([result.group(g).threshold for g in group])
    np.testing.assert_array_equal(deterministic, expected.astype(np.int8))


def test_estimator_predictions_reproducible_across_fits(randomized: Any) -> None:
    _, score, group = randomized
    y = (score > 0.5).astype(int) ^ (np.arange(score.size) % 7 == 0)
    a = GroupThresholdClassifier(constraints="equalized_odds", random_state=3)
    b = clone(a)
    pa = a.fit(score, y, sensitive_features=group).predict(score, sensitive_features=group)
    pb = b.fit(score, y, sensitive_features=group).predict(score, sensitive_features=group)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_array_equal(pa, a.predict(score, sensitive_features=group))


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------


def _features_table(n: int = 800, seed: int = 5) -> tuple[pd.DataFrame, Any, Any]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["u", "v", "w"])
    group = pd.Series(rng.choice(["F", "M"], n), name="sex")
    logit = X["u"] + 0.5 * X["v"] + np.where(group == "M", 0.8, -0.4)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return X, y, group


def test_estimator_equals_the_function_on_its_scores() -> None:
    X, y, group = _features_table()
    clf = GroupThresholdClassifier(
        LogisticRegression(), constraints="true_positive_rate_parity", random_state=0
    ).fit(X, y, sensitive_features=group)
    model = LogisticRegression().fit(X, y)
    score = model.predict_proba(X)[:, 1]
    expected = fit_thresholds(y, score, group, constraints="true_positive_rate_parity")
    assert clf.thresholds_ == expected
    assert clf.predict_method_ == "predict_proba"
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X, sensitive_features=group)
    np.testing.assert_array_equal(proba[:, 1], threshold_probability(expected, score, group))
    np.testing.assert_array_equal(
        clf.predict(X, sensitive_features=group),
        predict_thresholds(expected, score, group, random_state=0),
    )


def test_estimator_keeps_string_labels_and_uses_decision_function() -> None:
    X, y, group = _features_table()
    labels = np.where(y == 1, "yes", "no")
    clf = GroupThresholdClassifier(LinearSVC(), deterministic=True)
    clf.fit(X, labels, sensitive_features=group)
    assert clf.predict_method_ == "decision_function"
    assert set(clf.predict(X, sensitive_features=group)) <= {"no", "yes"}
    proba = clf.predict_proba(X, sensitive_features=group)
    assert set(np.unique(proba)) <= {0.0, 1.0}
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])


def test_pipeline_routes_sensitive_features() -> None:
    X, y, group = _features_table()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(), GroupThresholdClassifier(LogisticRegression(), random_state=0)
        )
        pipe.fit(X, y, sensitive_features=group)  # requested by default, no set_fit_request
        predicted = pipe.predict(X, sensitive_features=group)
        accuracy = pipe.score(X, y, sensitive_features=group)
        # An alias through set_*_request, the scikit-learn way.
        aliased = make_pipeline(
            StandardScaler(),
            GroupThresholdClassifier(LogisticRegression(), random_state=0)
            .set_fit_request(sensitive_features="sex")
            .set_predict_request(sensitive_features="sex"),
        )
        aliased.fit(X, y, sex=group)
        np.testing.assert_array_equal(aliased.predict(X, sex=group), predicted)
    scaled = StandardScaler().fit_transform(X)
    score = LogisticRegression().fit(scaled, y).predict_proba(scaled)[:, 1]
    expected = fit_thresholds(y, score, group)
    assert pipe[-1].thresholds_ == expected
    np.testing.assert_array_equal(
        predicted, predict_thresholds(expected, score, group, random_state=0)
    )
    assert accuracy == np.mean(predicted == y)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_errors_are_fairtrail_value_errors() -> None:
    assert issubclass(ThresholdError, DataValidationError)
    assert issubclass(InfeasibleConstraintError, ThresholdError)
    assert issubclass(ThresholdError, ValueError)
    assert issubclass(ThresholdError, FairtrailError)


def test_estimator_without_the_score_method() -> None:
    X, y, group = _features_table()
    with pytest.raises(
        ThresholdError,
        match=r"^GroupThresholdClassifier\(predict_method='predict_proba'\) thresholds the "
        r"estimator's predict_proba output, but the estimator LinearSVC has no predict_proba\.$",
    ):
        GroupThresholdClassifier(LinearSVC(), predict_method="predict_proba").fit(
            X, y, sensitive_features=group
        )
    with pytest.raises(
        ThresholdError,
        match=r"the estimator LinearRegression has neither predict_proba nor decision_function\. "
        r"Set predict_method='predict'",
    ):
        GroupThresholdClassifier(LinearRegression()).fit(X, y, sensitive_features=group)
    regression = GroupThresholdClassifier(LinearRegression(), predict_method="predict")
    assert regression.fit(X, y, sensitive_features=group).predict_method_ == "predict"
    with pytest.raises(ThresholdError, match=r"prefit=True but the estimator LogisticRegres"):
        GroupThresholdClassifier(LogisticRegression(), prefit=True).fit(
            X, y, sensitive_features=group
        )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"tolerance": 1.5},
            r"^The 'tolerance' parameter of GroupThresholdClassifier must be a float in "
            r"\[0, 1\] or None\. Got 1\.5\.$",
        ),
        (
            {"constraints": "equalized_odds", "tolerance": 0.05},
            r"^The 'tolerance' parameter of GroupThresholdClassifier must be None with "
            r"constraints='equalized_odds'",
        ),
        (
            {"constraints": "parity"},
            r"^The 'constraints' parameter of GroupThresholdClassifier must be one of "
            r"\['demographic_parity', .*\]\. Got 'parity'\.$",
        ),
        (
            {"constraints": "equalized_odds", "objective": "selection_rate"},
            r"'objective' parameter .* must be one of \['accuracy_score', "
            r"'balanced_accuracy_score'\] with constraints='equalized_odds'\. Got 'selection_",
        ),
        ({"grid_size": 0}, r"'grid_size' parameter .* must be an int >= 1\. Got 0\."),
        ({"predict_method": "proba"}, r"'predict_method' parameter .* Got 'proba'\.$"),
    ],
)
def test_bad_parameters(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        GroupThresholdClassifier(**params).fit([0.1, 0.9], [0, 1], sensitive_features=["a", "a"])


def test_bad_data() -> None:
    with pytest.raises(
        ThresholdError,
        match=r"^y_score must hold finite numbers; found 1 NaN and 1 infinite values "
        r"\(first at row 1\)\.$",
    ):
        fit_thresholds([0, 1, 0], [0.1, np.nan, np.inf], ["a", "a", "b"])
    with pytest.raises(ThresholdError, match=r"^X \(the scores: estimator is None\) must hold"):
        GroupThresholdClassifier().fit([0.2, np.nan], [0, 1], sensitive_features=["a", "a"])
    with pytest.raises(ThresholdError, match=r"must be one score per row \(1-D\)\. Got an array"):
        GroupThresholdClassifier().fit(np.ones((2, 3)), [0, 1], sensitive_features=["a", "a"])
    with pytest.raises(DataValidationError, match=r"^y_score has 2 rows but y_true has 3\.$"):
        fit_thresholds([0, 1, 0], [0.1, 0.2], ["a", "a", "b"])
    with pytest.raises(ThresholdError, match=r"^y must hold exactly 2 classes .* Got 1: \[1\]"):
        GroupThresholdClassifier().fit([0.1, 0.9], [1, 1], sensitive_features=["a", "a"])


def test_missing_labels_are_refused_by_the_estimator() -> None:
    # y = [1, NaN, 1, NaN] has the two "classes" 1 and NaN; the larger one (NaN) was taken as
    # positive and no row equals NaN: every row became a negative, silently.
    score, group = [0.1, 0.9, 0.2, 0.8], list("aabb")
    with pytest.raises(
        ThresholdError,
        match=r"^y must hold a label in every row; found 2 missing values \(first at row 1\)\.$",
    ):
        GroupThresholdClassifier().fit(score, [1.0, np.nan, 1.0, np.nan], sensitive_features=group)
    labels = np.array(["yes", None, "no", "yes"], dtype=object)
    with pytest.raises(ThresholdError, match=r"found 1 missing values \(first at row 1\)"):
        GroupThresholdClassifier().fit(score, labels, sensitive_features=group)


def test_estimator_length_errors_name_its_parameters() -> None:
    # The estimator's parameters are X, y and sensitive_features (not y_true and y_score).
    score, group = [0.1, 0.9, 0.2, 0.8], list("aabb")
    with pytest.raises(DataValidationError, match=r"^X has 4 rows but y has 3\.$"):
        GroupThresholdClassifier().fit(score, [0, 1, 0], sensitive_features=group)
    with pytest.raises(DataValidationError, match=r"^sensitive_features has 3 rows but y has 4\.$"):
        GroupThresholdClassifier().fit(score, [0, 1, 0, 1], sensitive_features=group[:3])
    clf = GroupThresholdClassifier(random_state=0).fit(
        score, [0, 1, 0, 1], sensitive_features=group
    )
    for method in (clf.predict, clf.predict_proba):
        with pytest.raises(
            DataValidationError, match=r"^sensitive_features has 4 rows but X has 3\.$"
        ):
            method(score[:3], sensitive_features=group)
    X, y, sex = _features_table(n=40)
    model = GroupThresholdClassifier(LogisticRegression()).fit(X, y, sensitive_features=sex)
    with pytest.raises(DataValidationError, match=r"^sensitive_features has 30 rows but X has 40"):
        model.predict(X, sensitive_features=sex[:30])
    with pytest.raises(DataValidationError, match=r"^sensitive_features has 30 rows but y has 40"):
        GroupThresholdClassifier(LogisticRegression()).fit(X, y, sensitive_features=sex[:30])


def test_features_of_different_lengths_at_predict_time() -> None:
    two = fit_thresholds([0, 1] * 4, [0.1, 0.9] * 4, {"s": list("aabbaabb"), "r": list("xxxxyyyy")})
    with pytest.raises(
        DataValidationError,
        match=r"^sensitive_features\['r'\] has 2 rows but sensitive_features\['s'\] has 1\.$",
    ):
        threshold_probability(two, [0.5, 0.5], {"s": ["a"], "r": ["x", "x"]})
    with pytest.raises(
        DataValidationError, match=r"^sensitive_features has 1 rows but y_score has 2\.$"
    ):
        predict_thresholds(two, [0.5, 0.5], {"s": ["a"], "r": ["x"]}, random_state=0)
