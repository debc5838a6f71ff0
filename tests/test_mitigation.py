"""Mitigators wrap fairlearn faithfully (same predictions for the same seed), route through a
Pipeline, refuse what they cannot do, and survive a skops round trip against an allow-list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient, GridSearch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from audit import FairtrailError
from audit.datasets import load_adult
from audit.mitigation._estimators import (
    DecorrelatedClassifier,
    MitigationError,
    ReductionClassifier,
    ThresholdOptimizerClassifier,
    group_labels,
)
from audit.mitigation._persist import UntrustedModelError, load_model, save_model

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]


@pytest.fixture(scope="module")
def adult() -> dict[str, Any]:
    """6,000 real Adult rows: scaled numeric features, sex, and income > 50K; two halves."""
    frame = load_adult().dropna(subset=["sex"]).sample(6000, random_state=3)
    X = StandardScaler().fit_transform(frame[NUMERIC].to_numpy(dtype=float))
    y = (frame["income"].str.startswith(">50K")).to_numpy(dtype=int)
    sex = frame["sex"].to_numpy(dtype=object)
    return {
        "X": X[:3000], "y": y[:3000], "sex": sex[:3000],
        "X_test": X[3000:], "y_test": y[3000:], "sex_test": sex[3000:],
    }  # fmt: skip


# fairlearn 0.15's own code triggers pandas 3 deprecations (our wrappers silence them).
fairlearn_internals = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


def selection_gap(pred: Any, groups: Any) -> float:
    rates = pd.Series(pred).groupby(np.asarray(groups)).mean()
    return float(rates.max() - rates.min())


# ---------------------------------------------------------------------------------------------
# The wrappers predict what fairlearn predicts, with the seed given once
# ---------------------------------------------------------------------------------------------


@fairlearn_internals
def test_exponentiated_gradient_predictions_equal_fairlearns(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    ours = ReductionClassifier(LogisticRegression(), difference_bound=0.02, random_state=7).fit(
        X, y, sensitive_features=sex
    )
    theirs = ExponentiatedGradient(
        LogisticRegression(), DemographicParity(difference_bound=0.02), max_iter=50
    )
    theirs.fit(X, y, sensitive_features=sex)
    X_test = adult["X_test"]
    np.testing.assert_allclose(ours.predict_proba(X_test), theirs._pmf_predict(X_test))
    np.testing.assert_array_equal(ours.predict(X_test), theirs.predict(X_test, random_state=7))
    assert len(ours.predictors_) > 1  # a real mixture: the randomized path is exercised
    assert ours.weights_.sum() == pytest.approx(1.0)


@fairlearn_internals
def test_grid_search_keeps_the_family_and_fairlearns_pick(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    ours = ReductionClassifier(LogisticRegression(), method="grid_search", grid_size=7).fit(
        X, y, sensitive_features=sex
    )
    theirs = GridSearch(LogisticRegression(), DemographicParity(difference_bound=0.01), grid_size=7)
    theirs.fit(X, y, sensitive_features=sex)
    assert len(ours.family_) == 7
    np.testing.assert_array_equal(ours.predict(adult["X_test"]), theirs.predict(adult["X_test"]))


@fairlearn_internals
def test_threshold_optimizer_predictions_equal_fairlearns(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    model = LogisticRegression().fit(X, y)
    for constraints in ("demographic_parity", "equalized_odds"):
        ours = ThresholdOptimizerClassifier(
            model, constraints=constraints, prefit=True, random_state=11
        ).fit(X, y, sensitive_features=sex)
        theirs = ThresholdOptimizer(
            estimator=model, constraints=constraints, prefit=True, predict_method="predict_proba"
        ).fit(X, y, sensitive_features=sex)
        X_test, s_test = adult["X_test"], adult["sex_test"]
        np.testing.assert_allclose(
            ours.predict_proba(X_test, sensitive_features=s_test),
            theirs._pmf_predict(X_test, sensitive_features=s_test),
        )
        np.testing.assert_array_equal(
            ours.predict(X_test, sensitive_features=s_test),
            theirs.predict(X_test, sensitive_features=s_test, random_state=11),
        )


def test_mitigation_reduces_the_disparity_it_constrains(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    X_test, s_test = adult["X_test"], adult["sex_test"]
    base = LogisticRegression().fit(X, y)
    base_gap = selection_gap(base.predict(X_test), s_test)
    assert base_gap > 0.05  # the gap between men and women, even without sex as a feature
    reduced = ReductionClassifier(LogisticRegression(), difference_bound=0.01, random_state=0)
    assert selection_gap(reduced.fit(X, y, sensitive_features=sex).predict(X_test), s_test) < (
        base_gap / 2
    )
    decorrelated = DecorrelatedClassifier(LogisticRegression(), alpha=1.0)
    decorrelated.fit(X, y, sensitive_features=sex)
    assert selection_gap(decorrelated.predict(X_test, sensitive_features=s_test), s_test) < (
        base_gap
    )


def test_same_seed_same_predictions_and_the_global_rng_is_untouched(
    adult: dict[str, Any],
) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is what is checked
    first = ReductionClassifier(difference_bound=0.02, random_state=5).fit(
        X, y, sensitive_features=sex
    )
    again = ReductionClassifier(difference_bound=0.02, random_state=5).fit(
        X, y, sensitive_features=sex
    )
    X_test = adult["X_test"]
    np.testing.assert_array_equal(first.predict(X_test), again.predict(X_test))
    np.testing.assert_array_equal(first.predict(X_test), first.predict(X_test))
    other = ReductionClassifier(difference_bound=0.02, random_state=6).fit(
        X, y, sensitive_features=sex
    )
    assert (other.predict(X_test) != first.predict(X_test)).any()  # the draws do matter
    unseeded = ReductionClassifier(difference_bound=0.02).fit(X, y, sensitive_features=sex)
    unseeded.predict(X_test)  # random_state=None: fresh entropy, still not the global RNG
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0]
    assert (after[1] == state[1]).all()
    assert after[2:] == state[2:]


def test_pipeline_routes_sensitive_features(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "mitigate",
                    ReductionClassifier(difference_bound=0.02, random_state=0).set_fit_request(
                        sensitive_features=True
                    ),
                ),
            ]
        )
        pipe.fit(X, y, sensitive_features=sex)
        routed = pipe.predict(adult["X_test"])
    direct = ReductionClassifier(difference_bound=0.02, random_state=0).fit(
        StandardScaler().fit_transform(X), y, sensitive_features=sex
    )
    scaled = StandardScaler().fit(X).transform(adult["X_test"])
    np.testing.assert_array_equal(routed, direct.predict(scaled))


def test_several_features_are_their_intersection() -> None:
    labels = group_labels(pd.DataFrame({"sex": ["F", "M", "F"], "race": ["a", "a", "b"]}))
    assert labels.tolist() == ["F × a", "M × a", "F × b"]


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


class NoScores(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier with only predict: no scores to threshold."""

    def fit(self, X: Any, y: Any) -> NoScores:
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X: Any) -> Any:
        return np.zeros(len(X), dtype=int)


def test_errors_name_the_problem(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    with pytest.raises(MitigationError, match=r"'constraints' parameter must be one of"):
        ReductionClassifier(constraints="fairness").fit(X, y, sensitive_features=sex)
    with pytest.raises(MitigationError, match=r"'difference_bound' .* in \[0, 1\]\. Got 2"):
        ReductionClassifier(difference_bound=2).fit(X, y, sensitive_features=sex)
    with pytest.raises(MitigationError, match=r"NoScores has no predict_proba"):
        ThresholdOptimizerClassifier(NoScores()).fit(X, y, sensitive_features=sex)
    with pytest.raises(MitigationError, match=r"not supported with equalized_odds"):
        ThresholdOptimizerClassifier(constraints="equalized_odds", tolerance=0.05).fit(
            X, y, sensitive_features=sex
        )
    with pytest.raises(MitigationError, match=r"one row per sample \(3000\)\. Got 2999"):
        ReductionClassifier().fit(X, y, sensitive_features=sex[:-1])
    with pytest.raises(MitigationError, match=r"binary labels 0/1\. Got values \[0, 1, 2\]"):
        ReductionClassifier().fit(X, np.r_[y[:-1], 2], sensitive_features=sex)
    missing = sex.copy()
    missing[3] = None
    with pytest.raises(MitigationError, match=r"\['sensitive_features'\] have missing values"):
        ReductionClassifier().fit(X, y, sensitive_features=missing)


def test_a_group_with_one_class_is_refused_for_rate_parity() -> None:
    # Group b has no positive labels: its true positive rate is undefined.
    X = np.arange(8, dtype=float).reshape(-1, 1)
    y = np.array([0, 1, 0, 1, 0, 0, 0, 0])
    g = np.array(["a"] * 4 + ["b"] * 4)
    message = "Group 'b' has no positive labels in y (all 0): true_positive_rate_parity needs"
    with pytest.raises(MitigationError, match=re.escape(message)):
        ReductionClassifier(constraints="true_positive_rate_parity").fit(X, y, sensitive_features=g)
    with pytest.raises(MitigationError, match=re.escape(message)):
        ThresholdOptimizerClassifier(constraints="true_positive_rate_parity").fit(
            X, y, sensitive_features=g
        )


def test_unknown_group_at_predict_time(adult: dict[str, Any]) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    model = ThresholdOptimizerClassifier(LogisticRegression().fit(X, y), prefit=True)
    model.fit(X, y, sensitive_features=sex)
    with pytest.raises(MitigationError, match=r"Group 'Other' was not seen in fit"):
        model.predict(X[:2], sensitive_features=["Female", "Other"])


# ---------------------------------------------------------------------------------------------
# skops: round trips, and refusals before anything is loaded
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda X, y: ReductionClassifier(difference_bound=0.02, random_state=3),
        lambda X, y: ReductionClassifier(method="grid_search", grid_size=5),
        lambda X, y: ThresholdOptimizerClassifier(
            LogisticRegression().fit(X, y), prefit=True, random_state=3
        ),
        lambda X, y: DecorrelatedClassifier(alpha=0.5),
    ],
    ids=["exponentiated_gradient", "grid_search", "threshold_optimizer", "decorrelated"],
)
def test_skops_round_trip(adult: dict[str, Any], tmp_path: Path, make: Any) -> None:
    X, y, sex = adult["X"], adult["y"], adult["sex"]
    model = make(X, y).fit(X, y, sensitive_features=sex)
    save_model(model, tmp_path / "model.skops")
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]  # no temporary left
    back = load_model(tmp_path / "model.skops")
    kwargs = {} if isinstance(model, ReductionClassifier) else {"sensitive_features": sex}
    X_test = adult["X_test"][: len(sex)]
    np.testing.assert_array_equal(back.predict(X_test, **kwargs), model.predict(X_test, **kwargs))


def test_skops_refuses_an_unlisted_type(tmp_path: Path) -> None:
    model = NoScores().fit([[0.0]], [0])
    save_model(model, tmp_path / "m.skops")
    name = f"{NoScores.__module__}.{NoScores.__qualname__}"
    with pytest.raises(UntrustedModelError, match=re.escape(f"instantiate [{name!r}]")):
        load_model(tmp_path / "m.skops")
    assert isinstance(load_model(tmp_path / "m.skops", trusted=[name]), NoScores)


def test_skops_does_not_trust_a_tree_unless_asked(tmp_path: Path) -> None:
    # skops trusts scikit-learn's estimators but not the Cython Tree inside a decision tree.
    save_model(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]), tmp_path / "t.skops")
    with pytest.raises(UntrustedModelError, match=r"\['sklearn\.tree\._tree\.Tree'\]"):
        load_model(tmp_path / "t.skops")
    tree = load_model(tmp_path / "t.skops", trusted=["sklearn.tree._tree.Tree"])
    assert tree.predict([[1.0]]).tolist() == [1]


def test_a_corrupt_model_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.skops").write_bytes(b"not a zip at all")
    with pytest.raises(FairtrailError, match=r"'bad\.skops' is not a skops model file"):
        load_model(tmp_path / "bad.skops")
    with pytest.raises(FairtrailError, match=r"Cannot read model"):
        load_model(tmp_path / "missing.skops")
