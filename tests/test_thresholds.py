"""Fitting group thresholds from score histograms (audit.mitigation._threshold_fit and
_threshold_inputs, through audit.mitigation._thresholds).

Expected values are derived by hand (in comments) or come from the peer, fairlearn's
``ThresholdOptimizer``, fitted on the same scores. fairlearn takes precomputed scores through
a prefit estimator whose ``predict`` returns its input column (``ScoreAsIs``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audit import DataValidationError, count_statistics, prepare_data
from audit.datasets import load_adult
from audit.mitigation._thresholds import (
    GroupThresholds,
    InfeasibleConstraintError,
    ThresholdError,
    fit_thresholds,
    optimize_thresholds,
    predict_thresholds,
    score_statistics,
    threshold_probability,
)

SIMPLE = (
    "demographic_parity",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
    "true_negative_rate_parity",
    "false_negative_rate_parity",
)


class ScoreAsIs(BaseEstimator):  # type: ignore[misc]
    """A 'model' whose prediction is its one input column: fairlearn on precomputed scores."""

    def fit(self, X: Any, y: Any = None) -> ScoreAsIs:
        self.fitted_ = True
        return self

    def predict(self, X: Any) -> Any:
        return np.asarray(X, dtype=np.float64)[:, 0]


def fairlearn_fit(
    y: Any, score: Any, groups: Any, constraints: str, objective: str = "accuracy_score",
    tol: float | None = None, grid_size: int = 1000,
) -> ThresholdOptimizer:  # fmt: skip
    peer = ThresholdOptimizer(
        estimator=ScoreAsIs().fit(None),
        constraints=constraints,
        objective=objective,
        grid_size=grid_size,
        prefit=True,
        predict_method="predict",
        tol=tol,
    )
    return peer.fit(np.asarray(score).reshape(-1, 1), y, sensitive_features=groups)


def peer_rules(peer: ThresholdOptimizer) -> dict[str, tuple[float, float, float, float]]:
    """fairlearn's rule per group: (threshold0, threshold1, p0, p_ignore)."""
    return {
        str(group): (b.operation0.threshold, b.operation1.threshold, b.p0, b.get("p_ignore", 0.0))
        for group, b in peer.interpolated_thresholder_.interpolation_dict.items()
    }


def our_rules(result: GroupThresholds, key: Any = None) -> dict[str, tuple[float, ...]]:
    return {
        (key(g) if key else g.group): (g.threshold0, g.threshold1, g.p0, g.p_ignore)
        for g in result.groups
    }


def peer_probability(peer: ThresholdOptimizer, score: Any, groups: Any) -> Any:
    return peer._pmf_predict(np.asarray(score).reshape(-1, 1), sensitive_features=groups)[:, 1]


# ---------------------------------------------------------------------------------------------
# Hand-derived oracles
# ---------------------------------------------------------------------------------------------

# Group a (4 rows): negatives at 0.125, 0.25, positives at 0.75, 0.875.
# Group b (8 rows): negatives at 0.0625 … 0.375 (six), positives at 0.5, 0.625.
ORACLE_Y = [0, 0, 1, 1] + [0] * 6 + [1, 1]
ORACLE_SCORE = [0.125, 0.25, 0.75, 0.875] + [0.0625 * k for k in range(1, 7)] + [0.5, 0.625]
ORACLE_GROUP = ["a"] * 4 + ["b"] * 8


def test_demographic_parity_by_hand() -> None:
    # Accuracy against the selection rate s (every cut of a group, then the upper hull):
    #   a: (0, 1/2) (1/4, 3/4) (1/2, 1) (3/4, 3/4) (1, 1/2) → hull (0, 1/2) (1/2, 1) (1, 1/2)
    #      (1/4, 3/4) lies on the first segment and is dropped.
    #   b: (0, 3/4) (1/8, 7/8) (1/4, 1) then −1/8 per step → hull (0, 3/4) (1/4, 1) (1, 1/4)
    # Weighted 4/12 and 8/12, on the grid 0, 1/4, 1/2, 3/4, 1:
    #   s = 0: 1/3·1/2 + 2/3·3/4 = 2/3;  s = 1/4: 1/3·3/4 + 2/3·1 = 11/12;
    #   s = 1/2: 1/3·1 + 2/3·3/4 = 5/6  → s* = 1/4, objective 11/12.
    # At s = 1/4, a sits halfway along (0, 1/2)–(1/2, 1): p0 = 1/2 between no one (inf) and
    # its cut between 0.75 and 0.25 (0.5). b sits on its vertex (1/4, 1): fairlearn takes the
    # segment to its left, p0 = 0, threshold1 = the cut between 0.5 and 0.375 = 0.4375.
    result = fit_thresholds(ORACLE_Y, ORACLE_SCORE, ORACLE_GROUP, grid_size=4)
    assert our_rules(result) == {"a": (np.inf, 0.5, 0.5, 0.0), "b": (np.inf, 0.4375, 0.0, 0.0)}
    assert result.constraint_value == 0.25
    assert result.objective_value == pytest.approx(11 / 12, abs=1e-15)
    a, b = result.groups
    # a: expected counts 1/2·(tp 2, fp 0) → tp 1: TPR 1/2, FPR 0, selection 1/4, accuracy 3/4.
    assert (a.rates.selection_rate, a.rates.true_positive_rate) == (0.25, 0.5)
    assert (a.rates.false_positive_rate, a.rates.accuracy_score) == (0.0, 0.75)
    assert (b.rates.selection_rate, b.rates.accuracy_score) == (0.25, 1.0)
    # Deterministic: a's cut between 0.875 and 0.75 (0.8125) selects 1 of 4 = 1/4 exactly.
    assert (a.threshold, b.threshold) == (0.8125, 0.4375)
    assert result.deterministic_spread == 0.0
    assert result.deterministic_objective_value == pytest.approx(11 / 12, abs=1e-15)


def test_equalized_odds_by_hand() -> None:
    # a: P 0.875, N 0.75, P 0.625, N 0.125 → ROC points (FPR, TPR): (0,0) (0,1/2) (1/2,1/2)
    #    (1/2,1) (1,1); hull (0,0) (0,1/2) (1/2,1) (1,1).
    # b: P 0.5, N 0.25, N 0.125 → (0,0) (0,1) (1/2,1) (1,1); hull (0,0) (0,1) (1,1).
    # Grid FPR 0, 1/2, 1 (grid_size 2): lowest hull 1/2, 1, 1. Pooled 3 positives, 4
    # negatives: accuracy (3·TPR + 4·(1 − FPR)) / 7 = 11/14, 5/7, 3/7 → FPR 0, TPR 1/2.
    # a at FPR 0: vertex (0, 1/2) = cut between 0.875 and 0.75 (0.8125), p0 = 1, no coin.
    # b at FPR 0: vertex (0, 1) = cut between 0.5 and 0.25 (0.375), next vertex (1, 1) = −inf;
    #    its TPR 1 must come down to 1/2: coin with P(1) = FPR 0, p_ignore = (1 − 1/2)/(1 − 0).
    y = [1, 0, 1, 0, 1, 0, 0]
    score = [0.875, 0.75, 0.625, 0.125, 0.5, 0.25, 0.125]
    group = list("aaaabbb")
    result = fit_thresholds(y, score, group, constraints="equalized_odds", grid_size=2)
    assert our_rules(result) == {"a": (0.8125, 0.375, 1.0, 0.0), "b": (0.375, -np.inf, 1.0, 0.5)}
    assert (result.constraint_value, result.common_true_positive_rate) == (0.0, 0.5)
    assert result.objective_value == pytest.approx(11 / 14, abs=1e-15)
    for rule in result.groups:
        assert rule.prediction_constant == 0.0
        assert (rule.rates.true_positive_rate, rule.rates.false_positive_rate) == (0.5, 0.0)
    # Deterministic: a's cut 0.8125 is the target itself. b's cuts are (0,0) (0,1) (1/2,1)
    # (1,1), at distances 1/2, 1/2, 1/2, 1 from (0, 1/2): the tie goes to TPR 1 and then to
    # the higher threshold, 0.375. TPRs 1/2 and 1: spread 1/2.
    assert [g.threshold for g in result.groups] == [0.8125, 0.375]
    assert result.deterministic_spread == 0.5
    # Each group's objective is its accuracy under its rule (after b's coin), not its hull's
    # TPR: a: tp 1 of 2, fp 0 of 2 → (1 + 2)/4 = 3/4; b: tp 1/2 of 1 (the rule's tp 1, kept
    # with probability 1/2; the coin shows 1 with probability 0), fp 0 of 2 → 5/2 / 3 = 5/6.
    assert [g.objective_value for g in result.groups] == pytest.approx([3 / 4, 5 / 6], abs=1e-15)
    assert [g.rates.accuracy_score for g in result.groups] == pytest.approx([3 / 4, 5 / 6])


# Group a: positive 0.9, negative 0.1 (2 rows). Group b: positive 0.8, negatives 0.3, 0.2.
TOL_Y = [1, 0, 1, 0, 0]
TOL_SCORE = [0.9, 0.1, 0.8, 0.3, 0.2]
TOL_GROUP = list("aabbb")


def test_tolerance_by_hand() -> None:
    # Accuracy hulls: a = 1/2 + s up to s = 1/2, then 3/2 − s; b = 2/3 + s up to 1/3, then
    # 4/3 − s ((2/3, 2/3) is collinear). Weights 2/5 and 3/5. grid_size 10, tolerance 0.25:
    # windows hold up to 3 neighbouring grid points. In {0.3, 0.4, 0.5} a takes 0.5 (1) and
    # b 0.3 (29/30): 2/5 + 3/5·29/30 = 0.98; every other window is lower (for example
    # {0.4, 0.5, 0.6}: too wide; {0.2, 0.3, 0.4}: a at 0.4, 2/5·0.9 + 3/5·29/30 = 0.94).
    result = fit_thresholds(TOL_Y, TOL_SCORE, TOL_GROUP, tolerance=0.25, grid_size=10)
    assert [g.constraint_value for g in result.groups] == pytest.approx([0.5, 0.3], abs=1e-15)
    assert result.objective_value == pytest.approx(0.98, abs=1e-12)
    assert result.constraint_spread == pytest.approx(0.2, abs=1e-15)
    # Deterministic: a's cut at 1/2 (threshold 0.5), b's closest cut to 0.3 is 1/3 (between
    # 0.8 and 0.3: 0.55); spread 1/2 − 1/3 = 1/6 ≤ 0.25, so deterministic=True is feasible.
    assert [g.threshold for g in result.groups] == [0.5, 0.55]
    assert result.deterministic_spread == pytest.approx(1 / 6, abs=1e-15)
    again = fit_thresholds(
        TOL_Y, TOL_SCORE, TOL_GROUP, tolerance=0.25, grid_size=10, deterministic=True
    )
    assert again == result


def test_deterministic_tolerance_infeasible() -> None:
    # tolerance 0.15: windows of 2 grid points; best {0.4, 0.5}: a 0.5 (1), b 0.4 (14/15):
    # 2/5 + 3/5·14/15 = 0.96. One cut per group reaches only s ∈ {0, 1/2, 1} in a and
    # {0, 1/3, 2/3, 1} in b: the closest to 0.5 and 0.4 are 1/2 and 1/3, spread 1/6 > 0.15.
    with pytest.raises(
        InfeasibleConstraintError,
        match=r"^tolerance=0\.15 cannot be met with one threshold per group: the closest single "
        r"thresholds give selection_rate a: 0\.5, b: 0\.3333 \(spread 0\.1667 > 0\.15\)",
    ):
        fit_thresholds(
            TOL_Y, TOL_SCORE, TOL_GROUP, tolerance=0.15, grid_size=10, deterministic=True
        )
    randomized = fit_thresholds(TOL_Y, TOL_SCORE, TOL_GROUP, tolerance=0.15, grid_size=10)
    assert randomized.objective_value == pytest.approx(0.96, abs=1e-12)
    assert [g.constraint_value for g in randomized.groups] == pytest.approx([0.5, 0.4])


def test_common_constraint_value_is_the_grid_value() -> None:
    # Three separable groups, half positives, of 2, 8 and 2 rows: each group's accuracy is
    # 1/2 + s up to s = 1/2, then 3/2 − s, so all peak at s = 1/2 (grid 0, 1/2, 1). In floating
    # point the shares 2/12, 8/12, 2/12 add up to just below 1: their weighted mean of 1/2
    # would be 0.49999999999999994. The common value is the grid value itself, as fairlearn's.
    y = [0, 1] + [0] * 4 + [1] * 4 + [0, 1]
    score = [0.2, 0.8, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.3, 0.7]  # a, b, c
    group = ["a"] * 2 + ["b"] * 8 + ["c"] * 2
    result = fit_thresholds(y, score, group, grid_size=2)
    assert [g.constraint_value for g in result.groups] == [0.5, 0.5, 0.5]
    assert result.constraint_value == 0.5
    assert result.constraint_spread == 0.0
    assert result.objective_value == pytest.approx(1.0, abs=1e-15)  # the same weighted sum
    assert fairlearn_fit(y, score, group, "demographic_parity", grid_size=2)._x_best == 0.5


def test_a_single_class_group_is_fine_where_the_metrics_are_defined() -> None:
    # Group b has only negatives: demographic parity with accuracy is defined (b's accuracy
    # is 1 − s), fairlearn refuses it anyway. a = TOL's group a: 1/2 + s up to 1/2.
    # Weights 2/4, 2/4: s = 0 → 1/2·1/2 + 1/2·1 = 3/4; s = 1/2 → 1/2·1 + 1/2·1/2 = 3/4; in
    # between 3/4 as well: a flat top, and the first grid point wins: s* = 0.
    result = fit_thresholds([1, 0, 0, 0], [0.9, 0.1, 0.3, 0.2], list("aabb"), grid_size=2)
    assert result.constraint_value == 0.0
    assert result.objective_value == 0.75
    b = result.group("b")
    assert np.isnan(b.rates.true_positive_rate)
    assert b.rates.false_positive_rate == 0.0


# ---------------------------------------------------------------------------------------------
# Exact histograms: the same rules as fairlearn, bit for bit
# ---------------------------------------------------------------------------------------------


def _random_table(seed: int) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 1500))
    group = np.array(list("abcd"))[rng.integers(0, int(rng.integers(2, 5)), n)]
    y = (rng.random(n) < rng.uniform(0.2, 0.7)).astype(int)
    decimals = int(rng.integers(1, 4))  # 11 to 1001 distinct scores: exact histograms
    score = np.round(np.clip(0.3 * y + 0.8 * rng.random(n), 0, 1), decimals)
    return y, score, group


CASES = [
    (c, objective, tol)
    for c in (*SIMPLE, "equalized_odds")
    for objective in ("accuracy_score", "balanced_accuracy_score")
    for tol in ((None,) if c == "equalized_odds" else (None, 0.05))
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("constraints", "objective", "tol"), CASES)
def test_exact_histogram_equals_fairlearn(
    seed: int, constraints: str, objective: str, tol: float | None
) -> None:
    y, score, group = _random_table(seed)
    grid_size = (10, 100, 1000, 250)[seed]
    peer = fairlearn_fit(y, score, group, constraints, objective, tol, grid_size)
    ours = fit_thresholds(
        y, score, group, constraints=constraints, objective=objective, tolerance=tol,
        grid_size=grid_size,
    )  # fmt: skip
    assert ours.exact_histogram
    assert our_rules(ours) == peer_rules(peer)
    np.testing.assert_array_equal(
        threshold_probability(ours, score, group), peer_probability(peer, score, group)
    )
    if tol is None:  # one common point: fairlearn's grid value, as it is
        assert ours.constraint_value == peer._x_best
    if constraints == "equalized_odds":
        assert ours.common_true_positive_rate == peer._y_best


# ---------------------------------------------------------------------------------------------
# Adult: logistic regression trained on the train split, thresholds fitted on the test split
# ---------------------------------------------------------------------------------------------

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship"]
ADULT_CONSTRAINTS = (
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
)
FEATURES = {"sex": ["sex"], "race": ["race"], "sex × race": ["sex", "race"]}


@pytest.fixture(scope="module")
def adult() -> dict[str, Any]:
    df = load_adult().dropna()
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    columns = NUMERIC + CATEGORICAL
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), NUMERIC), (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(train[columns], (train["income"] == ">50K").to_numpy(int))
    score = model.predict_proba(test[columns])[:, 1]
    frame = test[["sex", "race"]].astype(object).reset_index(drop=True)
    return {"score": score, "y": (test["income"] == ">50K").to_numpy(int), "frame": frame}


@pytest.fixture(scope="module")
def adult_peers(adult: dict[str, Any]) -> dict[tuple[str, str], ThresholdOptimizer]:
    """fairlearn fitted once per (features, constraint); several sensitive features are
    merged by fairlearn into one label "Female,White"."""
    return {
        (name, c): fairlearn_fit(adult["y"], adult["score"], adult["frame"][cols], c)
        for name, cols in FEATURES.items()
        for c in ADULT_CONSTRAINTS
    }


def _fairlearn_label(rule: Any) -> str:
    return ",".join(rule.categories)


@pytest.mark.slow
@pytest.mark.parametrize("features", list(FEATURES))
@pytest.mark.parametrize("constraints", ADULT_CONSTRAINTS)
def test_adult_exact_histogram_equals_fairlearn(
    adult: dict[str, Any], adult_peers: Any, features: str, constraints: str
) -> None:
    groups = adult["frame"][FEATURES[features]]
    peer = adult_peers[(features, constraints)]
    # 15,060 test rows, about 15,040 distinct scores: 100,000 bins make the histogram exact.
    ours = fit_thresholds(
        adult["y"], adult["score"], groups, constraints=constraints, score_bins=100_000
    )
    assert ours.exact_histogram
    assert len(ours.groups) == {"sex": 2, "race": 5, "sex × race": 10}[features]
    assert our_rules(ours, _fairlearn_label) == peer_rules(peer)
    # Same rules and the same seed: the same randomized predictions as fairlearn.
    X = adult["score"].reshape(-1, 1)
    expected = peer.predict(X, sensitive_features=groups, random_state=7)
    got = predict_thresholds(ours, adult["score"], groups, random_state=7)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.slow
@pytest.mark.parametrize("features", list(FEATURES))
@pytest.mark.parametrize("constraints", ADULT_CONSTRAINTS)
def test_adult_binned_histogram_close_to_fairlearn(
    adult: dict[str, Any], adult_peers: Any, features: str, constraints: str
) -> None:
    """10,000 equal-width bins (width w ≈ 1e-4 here) instead of one per score.

    Every cut between two occupied bins is a cut fairlearn considers too, with the same
    counts; its threshold, the middle of the gap between the bins, lies within w/2 of
    fairlearn's (the midpoint of the scores on either side: the lower one is at most w below
    the gap, the upper one at most w above it). Cuts inside a bin are missing, so our hull
    lies on or below fairlearn's: the objective can only be lower, and the best grid point
    can move. Tolerances: the objective within 1e-3 below fairlearn's; the common constraint
    value within 2 grid steps (0.002); where both rules use a cut with the same counts, the
    thresholds within w/2; and at least 70% of the (group, vertex) pairs are such cuts.
    """
    y, score = adult["y"], adult["score"]
    groups = adult["frame"][FEATURES[features]]
    peer = adult_peers[(features, constraints)]
    ours = fit_thresholds(y, score, groups, constraints=constraints)
    assert not ours.exact_histogram
    width = (score.max() - score.min()) / 10_000
    p_ours = threshold_probability(ours, score, groups)
    p_peer = peer_probability(peer, score, groups)

    def accuracy(p: Any) -> float:
        return float(np.mean(y * p + (1 - y) * (1 - p)))

    assert accuracy(p_peer) - 1e-3 <= accuracy(p_ours) <= accuracy(p_peer) + 1e-9
    labels = groups.astype(str).agg(",".join, axis=1).to_numpy()
    rules = peer_rules(peer)
    same, pairs = 0, 0
    for rule in ours.groups:
        rows = labels == _fairlearn_label(rule)
        # The constraint metric of each rule, from its row probabilities.
        on = {"demographic_parity": rows, "true_positive_rate_parity": rows & (y == 1)}.get(
            constraints, rows & (y == 0)
        )
        assert abs(p_ours[on].mean() - p_peer[on].mean()) <= 0.002 + 1e-12
        if constraints == "equalized_odds":
            positives = rows & (y == 1)
            assert abs(p_ours[positives].mean() - p_peer[positives].mean()) <= 0.01
        peer_t0, peer_t1, _, _ = rules[_fairlearn_label(rule)]
        for ours_t, peer_t in ((rule.threshold0, peer_t0), (rule.threshold1, peer_t1)):
            pairs += 1
            if (score[rows] > ours_t).sum() == (score[rows] > peer_t).sum():
                same += 1
                if np.isfinite(peer_t):
                    assert abs(ours_t - peer_t) <= width / 2
                else:
                    assert ours_t == peer_t
    assert same >= 0.7 * pairs


def test_equalized_odds_rates_are_equal_on_the_fitted_rows(adult: dict[str, Any]) -> None:
    """Each group's expected FPR and TPR, averaged from row probabilities, equal the common
    point (up to rounding): the rates reported in the result agree with the rows."""
    y, score, groups = adult["y"], adult["score"], adult["frame"]
    result = fit_thresholds(y, score, groups, constraints="equalized_odds", score_bins=100_000)
    probability = threshold_probability(result, score, groups)
    labels = groups.astype(str).agg(" × ".join, axis=1).to_numpy()
    for rule in result.groups:
        rows = labels == rule.group
        fpr = probability[rows & (y == 0)].mean()
        tpr = probability[rows & (y == 1)].mean()
        assert fpr == pytest.approx(result.constraint_value, abs=1e-9)
        assert tpr == pytest.approx(result.common_true_positive_rate, abs=1e-9)
        assert rule.rates.false_positive_rate == pytest.approx(fpr, abs=1e-9)
        assert rule.rates.true_positive_rate == pytest.approx(tpr, abs=1e-9)
        assert rule.rates.selection_rate == pytest.approx(probability[rows].mean(), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Inputs: several features, the statistics path, labels
# ---------------------------------------------------------------------------------------------


def test_forms_of_sensitive_features_give_the_same_groups() -> None:
    rng = np.random.default_rng(3)
    n = 600
    sex, race = rng.choice(["F", "M"], n), rng.choice(["x", "y", "z"], n)
    y = (rng.random(n) < 0.4).astype(int)
    score = np.round(rng.random(n), 2)
    frame = pd.DataFrame({"sex": sex, "race": race})
    by_frame = fit_thresholds(y, score, frame)
    by_dict = fit_thresholds(y, score, {"sex": sex, "race": race})
    by_array = fit_thresholds(y, score, np.column_stack([sex, race]))
    assert by_frame == by_dict
    assert our_rules(by_frame) == our_rules(by_array)
    assert [g.group for g in by_frame.groups][:2] == ["F × x", "F × y"]
    # The intersection is what fairlearn calls the merged columns.
    peer = fairlearn_fit(y, score, frame, "demographic_parity")
    assert our_rules(by_frame, _fairlearn_label) == peer_rules(peer)
    # At predict time named columns are matched by name, whatever their order.
    swapped = frame[["race", "sex"]]
    np.testing.assert_array_equal(
        threshold_probability(by_frame, score, swapped),
        threshold_probability(by_frame, score, frame),
    )


def test_optimize_thresholds_is_a_function_of_the_statistics() -> None:
    stats = score_statistics(ORACLE_Y, ORACLE_SCORE, ORACLE_GROUP)
    assert stats.scores is not None
    assert stats.scores.exact
    direct = optimize_thresholds(stats, grid_size=4)
    assert direct == fit_thresholds(ORACLE_Y, ORACLE_SCORE, ORACLE_GROUP, grid_size=4)
    assert direct == optimize_thresholds(stats, grid_size=4)


def test_labels_other_than_zero_one_are_refused_naming_y_true() -> None:
    # The audit core's message asks for a pos_label, which fit_thresholds does not take.
    score, group = [0.1, 0.9, 0.2, 0.8], list("aabb")
    with pytest.raises(
        ThresholdError,
        match=r"^The 'y_true' parameter must hold the labels 0/1 or booleans \(1 is the "
        r"positive class\)\. Got 2 distinct values: \[0, 2\]\. Map them to 0/1 "
        r"\(GroupThresholdClassifier takes any two labels\)\.$",
    ):
        fit_thresholds([0, 2, 0, 2], score, group)
    with pytest.raises(ThresholdError, match=r"Got 2 distinct values: \['no', 'yes'\]"):
        score_statistics(["no", "yes", "no", "yes"], score, group)
    with pytest.raises(ThresholdError, match=r"Got 3 distinct values: \[0\.0, 0\.5, 1\.0\]"):
        fit_thresholds([0.0, 1.0, 0.5, 1.0], score, group)
    # Missing labels keep the audit core's message; 0/1 as text, floats or booleans are labels.
    with pytest.raises(DataValidationError, match=r"has 1 missing values \(first at row 2\)"):
        fit_thresholds([0.0, 1.0, np.nan, 1.0], score, group)
    expected = fit_thresholds([0, 1, 0, 1], score, group)
    for labels in (["0", "1", "0", "1"], [0.0, 1.0, 0.0, 1.0], [False, True, False, True]):
        assert fit_thresholds(labels, score, group) == expected


def test_features_of_different_lengths_or_none_are_refused() -> None:
    # pandas would pad the shorter column of a dict with missing values, which would become
    # the group "unknown" (here: b × y and unknown × y, silently).
    y, score = [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]
    with pytest.raises(
        DataValidationError,
        match=r"^sensitive_features\['r'\] has 4 rows but sensitive_features\['s'\] has 3\.$",
    ):
        fit_thresholds(y, score, {"s": list("aab"), "r": list("xxyy")})
    for empty in ({}, np.empty((4, 0))):
        with pytest.raises(
            ThresholdError,
            match=r"^The 'sensitive_features' parameter must hold at least one feature "
            r"\(column\)\. Got none\.$",
        ):
            fit_thresholds(y, score, empty)


def test_score_bins_is_checked_by_score_statistics() -> None:
    with pytest.raises(
        ThresholdError,
        match=r"^The 'score_bins' parameter of score_statistics must be an int >= 2\. Got 0\.$",
    ):
        score_statistics([0, 1], [0.1, 0.9], ["a", "a"], score_bins=0)


def test_result_to_dict_is_plain_json() -> None:
    result = fit_thresholds(ORACLE_Y, ORACLE_SCORE, ORACLE_GROUP, grid_size=4)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["groups"][0]["threshold0"] == "inf"
    assert data["groups"][1]["threshold1"] == 0.4375
    assert data["groups"][0]["rates"]["selection_rate"] == 0.25


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_single_class_group_is_refused_where_a_rate_needs_both() -> None:
    sex = ["Female"] * 4 + ["Male"] * 4
    race = ["Other", "Other", "White", "White"] * 2
    y = [0, 0, 1, 0, 1, 0, 1, 0]
    score = [0.1, 0.2, 0.9, 0.3, 0.8, 0.4, 0.7, 0.2]
    groups = {"sex": sex, "race": race}
    with pytest.raises(
        ThresholdError,
        match=r"^Group 'Female × Other' has only one class in y_true \(all 0\): "
        r"constraints='true_positive_rate_parity' needs positives \(y_true = 1\) in every "
        r"group\.$",
    ):
        fit_thresholds(y, score, groups, constraints="true_positive_rate_parity")
    with pytest.raises(ThresholdError, match=r"objective='balanced_accuracy_score' needs pos"):
        fit_thresholds(y, score, groups, objective="balanced_accuracy_score")
    with pytest.raises(ThresholdError, match=r"constraints='equalized_odds' needs positives"):
        fit_thresholds(y, score, groups, constraints="equalized_odds")
    fit_thresholds(y, score, groups, constraints="false_positive_rate_parity")  # negatives: ok


def test_weighted_statistics_are_refused() -> None:
    data = pd.DataFrame(
        {"y": [0, 1, 0, 1], "s": [0.2, 0.8, 0.3, 0.9], "g": list("aabb"), "w": [1, 2, 1, 1]}
    )
    data["p"] = data["y"]
    prepared = prepare_data(
        data, y_true="y", y_pred="p", y_score="s", sensitive_features=["g"], sample_weight="w"
    )
    with pytest.raises(ThresholdError, match=r"^The statistics are weighted, but group thr"):
        optimize_thresholds(count_statistics(prepared))


def test_fairlearn_refuses_what_we_accept() -> None:
    """Documented differences: fairlearn raises on a single-class group even for demographic
    parity, where the rates are defined (we fit it)."""
    y, score, group = [1, 0, 0, 0], [0.9, 0.1, 0.3, 0.2], list("aabb")
    with pytest.raises(ValueError, match="Degenerate labels"):
        fairlearn_fit(y, score, group, "demographic_parity")
    assert fit_thresholds(y, score, group).objective_value == 0.75
