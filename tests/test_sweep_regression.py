"""The regression sweep (bounded group loss): bounds resolved from the baseline, every number of
the frontier against a direct computation and fairlearn, the choice, notes and refusals.

The data: group ``b`` (30%) sits 2 higher than ``a`` and depends on a feature that ``a`` does
not, so a linear model without the group errs more in ``b``; bounding every group's loss
trades overall error for a smaller gap.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from audit import AuditOptions, SpecError, audit_predictions
from audit._policy import Policy, Threshold
from audit.mitigation import (
    MitigationError,
    ReductionRegressor,
    SweepPlan,
    TradeOff,
    run_sweep,
)

N_TRAIN = 3000
SEED = 3


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 5000
    g = np.where(rng.random(n) < 0.7, "a", "b")
    X = rng.normal(size=(n, 2))
    b = g == "b"
    y = 2 * X[:, 0] + 1.5 * b * X[:, 1] + 2.0 * b + rng.normal(size=n)
    t = N_TRAIN
    return {
        "X": X[:t], "y": y[:t], "sf": {"g": g[:t]},
        "X_test": X[t:], "y_test": y[t:], "sf_test": {"g": g[t:]},
    }  # fmt: skip


def sweep_of(data: dict[str, Any], plan: SweepPlan, **kwargs: Any) -> Any:
    return run_sweep(
        LinearRegression(),
        data["X"],
        data["y"],
        data["X_test"],
        data["y_test"],
        sensitive_features_train=data["sf"],
        sensitive_features_test=data["sf_test"],
        plan=plan,
        **{"options": AuditOptions(random_state=0), **kwargs},
    )


PLAN = SweepPlan("bounded_group_loss", bound_shares=(0.9, 0.7), random_state=SEED)
POLICY = Policy(
    (Threshold("root_mean_squared_error_difference", 0.4, ("g",)),), name="reg", version="1"
)


@pytest.fixture(scope="module")
def sweep(data: dict[str, Any]) -> Any:
    return sweep_of(data, PLAN, policy=POLICY)


def test_bounds_are_shares_of_the_baselines_worst_training_loss(
    data: dict[str, Any], sweep: Any
) -> None:
    # Hand-derived: fairlearn's square loss clips y and predictions to the training range.
    low, high = data["y"].min(), data["y"].max()
    pred = np.clip(LinearRegression().fit(data["X"], data["y"]).predict(data["X"]), low, high)
    g = data["sf"]["g"]
    worst = max(np.mean((data["y"][g == k] - pred[g == k]) ** 2) for k in ("a", "b"))
    t = sweep.tradeoff
    assert [c.name for c in t.candidates] == [
        "baseline",
        "expgrad(0.9×worst)",
        "expgrad(0.7×worst)",
        "gridsearch(10)",
    ]
    for name, share in (("expgrad(0.9×worst)", 0.9), ("expgrad(0.7×worst)", 0.7)):
        params = t.candidate(name).params
        assert params["upper_bound"] == pytest.approx(share * worst, rel=1e-12)
        assert params["loss"] == "square"
        model = sweep.models[name]
        assert isinstance(model, ReductionRegressor)
        # The sweep's model is the reduction as fitted directly, with the plan's seed.
        direct = ReductionRegressor(
            LinearRegression(), upper_bound=share * worst, random_state=SEED
        ).fit(data["X"], data["y"], sensitive_features=g)
        np.testing.assert_array_equal(model.predict(data["X_test"]), direct.predict(data["X_test"]))
        # The bound is met on the training rows (a note would say otherwise).
        assert max(model.group_losses_.values()) <= share * worst * (1 + 1e-6)
    # Grid search is given the loosest bound, only to be checked.
    assert t.candidate("gridsearch(10)").params["upper_bound"] == pytest.approx(0.9 * worst)
    assert t.task == "regression"
    assert (t.performance_metric, t.criterion) == (
        "root_mean_squared_error",
        "root_mean_squared_error_difference",
    )
    assert t.higher_is_better is False


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_frontier_numbers_equal_a_direct_computation(data: dict[str, Any], sweep: Any) -> None:
    y, g = data["y_test"], data["sf_test"]["g"]
    t = sweep.tradeoff
    preds = {c.name: _predict(sweep.models[c.name], data["X_test"]) for c in t.candidates}
    base = preds["baseline"]
    base_rmse = {k: root_mean_squared_error(y[g == k], base[g == k]) for k in ("a", "b")}
    base_gap = abs(base_rmse["a"] - base_rmse["b"])
    for c in t.candidates:
        p = preds[c.name]
        assert c.performance.value == pytest.approx(root_mean_squared_error(y, p))
        rmse = {k: root_mean_squared_error(y[g == k], p[g == k]) for k in ("a", "b")}
        gap = abs(rmse["a"] - rmse["b"])
        assert c.disparity.value == pytest.approx(gap)
        frame = MetricFrame(
            metrics=root_mean_squared_error, y_true=y, y_pred=p, sensitive_features=g
        )
        assert c.disparity.value == pytest.approx(frame.difference())  # fairlearn agrees
        for cost in c.groups:
            k = cost.group
            values = {
                "mean_absolute_error": mean_absolute_error(y[g == k], p[g == k]),
                "root_mean_squared_error": rmse[k],
                "mean_error": np.mean(p[g == k] - y[g == k]),
                "mean_prediction": np.mean(p[g == k]),
            }
            assert cost.values == pytest.approx(values)
            assert cost.changes["root_mean_squared_error"] == pytest.approx(rmse[k] - base_rmse[k])
            assert cost.count == int((g == k).sum())
        d_perf = root_mean_squared_error(y, p) - root_mean_squared_error(y, base)
        assert c.performance_change == pytest.approx(d_perf)
        if c.name != "baseline" and gap < base_gap:
            # RMSE lost (an increase) per unit of gap removed
            assert c.cost_per_point == pytest.approx(d_perf / (base_gap - gap))
    assert t.candidate("expgrad(0.7×worst)").disparity.value < 0.5 * base_gap


def _predict(model: Any, X: Any) -> Any:
    return np.asarray(model.predict(X), dtype=float)


def test_pareto_front_is_monotone_and_the_choice_passes_on_held_out_data(
    data: dict[str, Any], sweep: Any
) -> None:
    t = sweep.tradeoff
    front = t.pareto_candidates  # by better performance first: increasing RMSE
    losses = [c.performance.value for c in front]
    gaps = [c.disparity.value for c in front]
    assert losses == sorted(losses)
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert t.candidate("baseline").status == "fail"  # its gap (≈ 0.7) is over 0.4
    assert t.chosen is not None
    chosen = t.candidate(t.chosen)
    # Recompute the verdict independently: the whole simultaneous interval within 0.4.
    audit = audit_predictions(
        data["y_test"],
        _predict(sweep.models[t.chosen], data["X_test"]),
        sensitive_features=data["sf_test"],
        policy=POLICY,
        options=AuditOptions(random_state=0, task="regression"),
    )
    assert audit.criteria[0].verdict == "pass"
    assert audit.criteria[0].estimate.simultaneous_upper <= 0.4
    passing = [c for c in t.candidates if c.status == "pass"]
    assert chosen.performance.value == min(c.performance.value for c in passing)
    assert "points" not in t.rationale  # changes in units of y, not percentage points
    assert f"{t.chosen} is chosen: it has the lowest root_mean_squared_error" in t.rationale


def test_same_seed_same_frontier_and_round_trip(data: dict[str, Any], sweep: Any) -> None:
    again = sweep_of(data, PLAN, policy=POLICY)
    for name in ("expgrad(0.9×worst)", "expgrad(0.7×worst)"):
        np.testing.assert_array_equal(
            sweep.models[name].predict(data["X_test"]), again.models[name].predict(data["X_test"])
        )

    def numbers(t: TradeOff) -> list[Any]:
        return [(c.name, c.performance, c.disparity, c.groups) for c in t.candidates]

    assert numbers(again.tradeoff) == numbers(sweep.tradeoff)
    plain = sweep.tradeoff.to_dict()
    assert TradeOff.from_dict(plain).to_dict() == plain  # NaN is None in plain data


def test_absolute_loss_is_judged_by_mean_absolute_error(data: dict[str, Any]) -> None:
    plan = SweepPlan("bounded_group_loss", methods=("grid_search",), loss="absolute", grid_size=4)
    t = sweep_of(data, plan, options=AuditOptions(intervals=False)).tradeoff
    assert (t.performance_metric, t.criterion) == (
        "mean_absolute_error",
        "mean_absolute_error_difference",
    )
    y, g = data["y_test"], data["sf_test"]["g"]
    base = LinearRegression().fit(data["X"], data["y"]).predict(data["X_test"])
    mae = {k: mean_absolute_error(y[g == k], base[g == k]) for k in ("a", "b")}
    assert t.candidate("baseline").disparity.value == pytest.approx(abs(mae["a"] - mae["b"]))


def test_an_unmet_bound_is_a_note_not_a_failure(data: dict[str, Any]) -> None:
    # 5% of the worst group's loss is below the noise: no linear model reaches it.
    plan = SweepPlan("bounded_group_loss", methods=("exponentiated_gradient",), bound_shares=0.05)
    t = sweep_of(data, plan, options=AuditOptions(intervals=False)).tradeoff
    assert [c.name for c in t.candidates] == ["baseline", "expgrad(0.05×worst)"]
    assert t.failures == {}
    assert t.notes["expgrad(0.05×worst)"].startswith(
        "BoundNotMetWarning: ReductionRegressor did not meet upper_bound="
    )


def test_plan_refusals() -> None:
    with pytest.raises(SpecError, match=r"'threshold_optimizer' does not support .*bounded_group"):
        SweepPlan("bounded_group_loss", methods=("threshold_optimizer",))
    with pytest.raises(SpecError, match=r"'correlation_remover' does not support"):
        SweepPlan("bounded_group_loss", methods=("correlation_remover",))
    with pytest.raises(SpecError, match=r"'loss' parameter of SweepPlan must be one of"):
        SweepPlan("bounded_group_loss", loss="hinge")
    for bad in (0, 1.5, [], [0.5, -1]):
        with pytest.raises(SpecError, match=r"'bound_shares' .* numbers in \(0, 1\]"):
            SweepPlan("bounded_group_loss", bound_shares=bad)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match=r"'upper_bounds' .* numbers in \(0, inf\]"):
        SweepPlan("bounded_group_loss", upper_bounds=(0.0,))
    plan = SweepPlan("bounded_group_loss", upper_bounds=(2.0, 1.5))
    assert [p.name for p in plan.points()] == ["expgrad(≤2)", "expgrad(≤1.5)", "gridsearch(10)"]
    assert plan.skipped() == (
        "methods ['threshold_optimizer', 'group_thresholds', 'correlation_remover'] do not "
        "support bounded_group_loss",
    )


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("y", np.array(["1.5"] * N_TRAIN), r"'y_train' parameter of run_sweep must be numeric"),
        ("y_test", np.r_[math.nan, np.ones(1999)], r"'y_test' parameter of run_sweep must be fin"),
    ],
)
def test_sweep_refuses_bad_targets(
    data: dict[str, Any], where: str, value: Any, message: str
) -> None:
    with pytest.raises(MitigationError, match=message):
        sweep_of({**data, where: value}, PLAN)
