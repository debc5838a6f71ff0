"""The trade-off frontier: Pareto filtering, cost numbers against a direct computation, and a
choice that satisfies the policy on held-out data.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from audit import AuditOptions, Policy, SpecError, Threshold
from audit.datasets import load_adult
from audit.mitigation._estimators import ReductionClassifier, ThresholdOptimizerClassifier
from audit.mitigation._tradeoff import (
    Predictions,
    SelectionRule,
    TradeOff,
    evaluate_candidates,
    pareto_front,
)

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
POLICY = Policy((Threshold("demographic_parity_difference", 0.05),), name="dp 5 points")

values = st.one_of(st.floats(0, 1, allow_nan=False), st.just(math.nan))


@given(st.lists(st.tuples(values, values), min_size=1, max_size=30))
def test_pareto_front_is_monotone_and_dominates_the_rest(points: list[tuple[float, float]]) -> None:
    perf, disp = [p for p, _ in points], [d for _, d in points]
    front = pareto_front(perf, disp)
    chosen = sorted({(disp[i], perf[i]) for i, f in enumerate(front) if f})
    # Along the front, less disparity costs performance: strictly increasing both ways.
    for (d0, p0), (d1, p1) in itertools.pairwise(chosen):
        assert d0 < d1
        assert p0 < p1
    for i, on_front in enumerate(front):
        if math.isnan(perf[i]) or math.isnan(disp[i]):
            assert not on_front
        elif not on_front:  # dominated by a point of the front
            assert any(p >= perf[i] and d <= disp[i] for d, p in chosen)


@pytest.fixture(scope="module")
def sweep() -> dict[str, Any]:
    """A small real sweep on Adult: baseline, two reductions, a post-processing; held-out."""
    frame = load_adult().dropna(subset=["sex"]).sample(8000, random_state=4)
    X = StandardScaler().fit_transform(frame[NUMERIC].to_numpy(dtype=float))
    y = frame["income"].str.startswith(">50K").to_numpy(dtype=int)
    sex = frame["sex"].to_numpy(dtype=object)
    train, test = slice(0, 5000), slice(5000, None)
    base = LogisticRegression().fit(X[train], y[train])
    predictions = [Predictions("unmitigated", "unmitigated", base.predict(X[test]))]
    for bound in (0.05, 0.01):
        m = ReductionClassifier(LogisticRegression(), difference_bound=bound, random_state=0)
        m.fit(X[train], y[train], sensitive_features=sex[train])
        name = f"exponentiated_gradient({bound})"
        predictions.append(
            Predictions(name, "exponentiated_gradient", m.predict(X[test]), {"bound": bound})
        )
    post = ThresholdOptimizerClassifier(base, prefit=True, random_state=0)
    post.fit(X[train], y[train], sensitive_features=sex[train])
    predictions.append(
        Predictions(
            "threshold_optimizer",
            "threshold_optimizer",
            post.predict(X[test], sensitive_features=sex[test]),
        )
    )
    return {"y": y[test], "sex": sex[test], "predictions": predictions}


def evaluate(sweep: dict[str, Any], **kwargs: Any) -> TradeOff:
    tradeoff, _ = evaluate_candidates(
        sweep["y"],
        sweep["predictions"],
        sensitive_features={"sex": sweep["sex"]},
        constraint="demographic_parity",
        options=AuditOptions(random_state=1),
        **kwargs,
    )
    return tradeoff


def test_cost_numbers_equal_a_direct_computation(sweep: dict[str, Any]) -> None:
    tradeoff = evaluate(sweep, policy=POLICY)
    y, sex = sweep["y"], sweep["sex"]
    base_pred = sweep["predictions"][0].y_pred
    for candidate, given_ in zip(tradeoff.candidates, sweep["predictions"], strict=True):
        pred = given_.y_pred
        accuracy = float((pred == y).mean())
        gap = demographic_parity_difference(y, pred, sensitive_features=sex)  # the peer
        assert candidate.performance.value == pytest.approx(accuracy)
        assert candidate.disparity.value == pytest.approx(gap)
        assert candidate.performance.lower <= accuracy <= candidate.performance.upper
        assert candidate.performance_change == pytest.approx(accuracy - (base_pred == y).mean())
        for group in candidate.groups:
            rows = sex == group.group
            ours, base = pred[rows], base_pred[rows]
            truth = y[rows]
            direct = {
                "accuracy": (ours == truth).mean() - (base == truth).mean(),
                "selection_rate": ours.mean() - base.mean(),
                "true_positive_rate": ours[truth == 1].mean() - base[truth == 1].mean(),
                "false_positive_rate": ours[truth == 0].mean() - base[truth == 0].mean(),
            }
            assert group.count == rows.sum()
            for metric, change in direct.items():
                assert group.changes[metric] == pytest.approx(change), (candidate.name, metric)
        if candidate.name != "unmitigated" and candidate.disparity_change < 0:
            assert candidate.cost_per_point == pytest.approx(
                -candidate.performance_change / -candidate.disparity_change
            )


def test_the_chosen_point_satisfies_the_policy_on_held_out_data(sweep: dict[str, Any]) -> None:
    tradeoff = evaluate(sweep, policy=POLICY)
    assert tradeoff.candidate("unmitigated").status != "pass"  # mitigation is needed
    assert tradeoff.chosen is not None
    chosen = tradeoff.candidate(tradeoff.chosen)
    assert chosen.status == "pass"
    # "with confidence": the whole (simultaneous) interval lies within the threshold
    assert chosen.disparity.simultaneous_upper <= 0.05
    passing = [c for c in tradeoff.candidates if c.status == "pass"]
    assert chosen.performance.value == max(c.performance.value for c in passing)
    assert tradeoff.chosen in tradeoff.rationale
    assert "Who pays" in tradeoff.rationale


def test_least_disparity_within_a_loss_limit(sweep: dict[str, Any]) -> None:
    rule = SelectionRule("least_disparity", max_performance_loss=0.02)
    tradeoff = evaluate(sweep, policy=POLICY, rule=rule)
    within = [c for c in tradeoff.candidates if -c.performance_change <= 0.02]
    assert tradeoff.chosen == min(within, key=lambda c: c.disparity.value).name


def test_nothing_chosen_when_nothing_passes(sweep: dict[str, Any]) -> None:
    strict = Policy((Threshold("demographic_parity_difference", 0.0001),), name="impossible")
    tradeoff = evaluate(sweep, policy=strict)
    assert tradeoff.chosen is None
    assert tradeoff.rationale.startswith("No candidate satisfies every criterion")


def test_to_dict_is_plain_json(sweep: dict[str, Any]) -> None:
    import json

    data = evaluate(sweep, policy=POLICY).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["candidates"][0]["cost_per_point"] is None  # NaN → null
    assert data["candidates"][0]["cost_note"] == "the baseline"


def test_refusals() -> None:
    y = np.array([0, 1] * 50)
    p = [Predictions("a", "unmitigated", y), Predictions("a", "x", y)]
    groups = {"g": np.array(["x", "y"] * 50)}
    with pytest.raises(SpecError, match=r"Candidate names must be unique"):
        evaluate_candidates(y, p, sensitive_features=groups, constraint="demographic_parity")
    with pytest.raises(SpecError, match=r"'constraint' parameter must be one of"):
        evaluate_candidates(y, p[:1], sensitive_features=groups, constraint="fair")
    with pytest.raises(SpecError, match=r"'least_disparity' rule needs max_performance_loss"):
        SelectionRule("least_disparity")
    for bad in (-0.1, math.inf, True, "0.1"):
        with pytest.raises(SpecError, match=r"max_performance_loss must be a finite number >= 0"):
            SelectionRule(max_performance_loss=bad)  # type: ignore[arg-type]
    cases: list[tuple[str, dict[str, Any], str]] = [
        # a share of accuracy cannot exceed 1 (a regression loss in units of y can)
        ("demographic_parity", {"rule": SelectionRule(max_performance_loss=5)},
         r"share of accuracy and must be at most 1. Got 5"),
        ("bounded_group_loss", {"performance_metric": "accuracy"},
         r"'performance_metric' .* for constraint 'bounded_group"),
        ("bounded_group_loss", {"criterion": "demographic_parity_difference"},
         r"'criterion' parameter must be the difference of a reg"),
        ("demographic_parity", {"criterion": "mean_absolute_error_ratio"},
         r"difference of a classification metric"),
    ]  # fmt: skip
    for constraint, kwargs, message in cases:
        with pytest.raises(SpecError, match=message):
            evaluate_candidates(
                y, p[:1], sensitive_features=groups, constraint=constraint, **kwargs
            )
