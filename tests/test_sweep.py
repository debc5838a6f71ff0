"""The mitigation sweep: its plan, its candidates, its bundle files, its spec and its CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from audit import AuditOptions, BundleError, SpecError, audit_predictions, write_bundle
from audit._policy import Policy, Threshold
from audit.datasets import load_adult
from audit.mitigation import (
    MODEL_FILE,
    TRADEOFF_FILE,
    DecorrelatedClassifier,
    MitigationError,
    ReductionClassifier,
    SweepPlan,
    ThresholdOptimizerClassifier,
    TradeOff,
    load_chosen_model,
    read_tradeoff,
    run_sweep,
    sweep_files,
)

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]
POLICY = Policy(
    (Threshold("demographic_parity_difference", 0.12, ("sex",)),), name="test", version="7"
)


@pytest.fixture(scope="module")
def adult() -> dict[str, Any]:
    """5,000 real Adult rows: scaled numeric features, sex and income > 50K; 3,000 to train."""
    frame = load_adult().sample(5000, random_state=11).reset_index(drop=True)
    X = StandardScaler().fit_transform(frame[NUMERIC].to_numpy(dtype=float))
    y = frame["income"].str.startswith(">50K").to_numpy(dtype=int)
    sex = frame["sex"].astype(str).to_numpy()
    return {
        "X": X[:3000], "y": y[:3000], "sf": {"sex": sex[:3000]},
        "X_test": X[3000:], "y_test": y[3000:], "sf_test": {"sex": sex[3000:]},
    }  # fmt: skip


PLAN = SweepPlan(
    methods=(
        "exponentiated_gradient",
        "threshold_optimizer",
        "group_thresholds",
        "correlation_remover",
    ),
    difference_bounds=(0.02,),
    tolerances=(0.0, 0.05),
    alphas=(1.0,),
    random_state=5,
)


def sweep_of(adult: dict[str, Any], plan: SweepPlan = PLAN, **kwargs: Any) -> Any:
    """The test's sweep; ``estimator``, ``policy``, ``options`` and run_sweep's keywords
    can be changed."""
    settings: dict[str, Any] = {
        "estimator": LogisticRegression(),
        "policy": POLICY,
        "options": AuditOptions(random_state=0),
        **kwargs,
    }
    return run_sweep(
        settings.pop("estimator"),
        adult["X"],
        adult["y"],
        adult["X_test"],
        adult["y_test"],
        sensitive_features_train=adult["sf"],
        sensitive_features_test=adult["sf_test"],
        plan=plan,
        **settings,
    )


@pytest.fixture(scope="module")
def sweep(adult: dict[str, Any]) -> Any:
    return sweep_of(adult)


# ---------------------------------------------------------------------------------------------
# The plan


def test_plan_lists_points_per_method_and_drops_what_the_constraint_cannot_do() -> None:
    plan = SweepPlan(difference_bounds=(0.1, 0.02), tolerances=(0.0, 0.03), alphas=(1.0,))
    assert [p.name for p in plan.points()] == [
        "expgrad(0.1)", "expgrad(0.02)", "gridsearch(10)", "threshold_opt(0)",
        "threshold_opt(0.03)", "hist_threshold(0)", "hist_threshold(0.03)", "corr_remover(1)",
    ]  # fmt: skip
    odds = SweepPlan("equalized_odds", tolerances=(0.0, 0.03), alphas=(1.0,))
    assert [p.name for p in odds.points() if "threshold" in p.name] == [
        "threshold_opt(0)",
        "hist_threshold(0)",
    ]
    assert "not equalized_odds" in odds.skipped()[0]
    errors = SweepPlan("error_rate_parity")
    assert {p.method for p in errors.points()} == {
        "exponentiated_gradient",
        "grid_search",
        "correlation_remover",
    }
    assert "do not support error_rate_parity" in errors.skipped()[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"constraint": "parity"}, "'constraint' parameter of SweepPlan"),
        ({"methods": ("boosting",)}, "'methods' parameter"),
        (
            {"constraint": "error_rate_parity", "methods": ("threshold_optimizer",)},
            "does not support constraint 'error_rate_parity'",
        ),
        ({"difference_bounds": (0.1, 1.5)}, "'difference_bounds' parameter"),
        ({"tolerances": ("a",)}, "'tolerances' parameter"),
        ({"grid_size": 1}, "'grid_size' parameter"),
        ({"random_state": -1}, "'random_state' parameter"),
    ],
)
def test_plan_refuses_bad_settings_naming_them(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        SweepPlan(**kwargs)


# ---------------------------------------------------------------------------------------------
# The sweep


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_each_candidate_is_its_mitigator_fitted_on_train_and_audited_on_held_out(
    adult: dict[str, Any], sweep: Any
) -> None:
    t = sweep.tradeoff
    assert [c.name for c in t.candidates] == ["baseline", *(p.name for p in PLAN.points())]
    assert t.n_test == len(adult["y_test"])
    assert t.attribute == "sex"
    # The same estimators fitted directly give the same held-out predictions and audits.
    X, y, sex, Xt, sext = adult["X"], adult["y"], adult["sf"]["sex"], adult["X_test"], adult[
        "sf_test"
    ]["sex"]  # fmt: skip
    base = LogisticRegression().fit(X, y)
    expgrad = ReductionClassifier(LogisticRegression(), difference_bound=0.02, random_state=5)
    thresholds = ThresholdOptimizerClassifier(base, tolerance=0.05, prefit=True, random_state=5)
    direct = {
        "baseline": base.predict(Xt),
        "expgrad(0.02)": expgrad.fit(X, y, sensitive_features=sex).predict(Xt),
        "threshold_opt(0.05)": thresholds.fit(X, y, sensitive_features=sex)
        .predict(Xt, sensitive_features=sext),
        "corr_remover(1)": DecorrelatedClassifier(LogisticRegression(), alpha=1.0)
        .fit(X, y, sensitive_features=sex)
        .predict(Xt, sensitive_features=sext),
    }  # fmt: skip
    for name, pred in direct.items():
        c = t.candidate(name)
        audit = audit_predictions(adult["y_test"], pred, sensitive_features={"sex": sext})
        assert c.performance.value == pytest.approx(float((pred == adult["y_test"]).mean()))
        rates = pd.Series(pred).groupby(sext).mean()
        assert c.disparity.value == pytest.approx(float(rates.max() - rates.min()))
        assert audit.overall["accuracy"].value == pytest.approx(c.performance.value)
    assert set(sweep.models) == {c.name for c in t.candidates}


def test_chosen_candidate_satisfies_the_policy_on_held_out_data(
    adult: dict[str, Any], sweep: Any
) -> None:
    t = sweep.tradeoff
    assert t.chosen is not None
    chosen = t.candidate(t.chosen)
    # The interval decision rule: the whole (simultaneous, the default) interval within 0.12.
    criterion = next(
        c for c in sweep.audits[t.chosen].criteria if c.criterion == "demographic_parity_difference"
    )
    assert criterion.verdict == "pass"
    assert sweep.audits[t.chosen].options.verdict_interval == "simultaneous"
    assert criterion.estimate.simultaneous_upper <= 0.12
    passing = [c for c in t.candidates if c.status == "pass"]
    assert chosen.performance.value == max(c.performance.value for c in passing)
    # Predicting again with the chosen model gives the audited disparity.
    model = sweep.chosen_model
    kwargs = (
        {}
        if isinstance(model, ReductionClassifier)
        else {"sensitive_features": adult["sf_test"]["sex"]}
    )
    pred = model.predict(adult["X_test"], **kwargs)
    rates = pd.Series(pred).groupby(adult["sf_test"]["sex"]).mean()
    assert chosen.disparity.value == pytest.approx(float(rates.max() - rates.min()))


def test_same_seed_same_frontier_and_global_rng_untouched(
    adult: dict[str, Any], sweep: Any
) -> None:
    np.random.seed(123)  # noqa: NPY002 - the global generator is what must stay untouched
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    again = sweep_of(adult, n_jobs=2)  # in worker processes, in another order
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002

    def frontier(t: TradeOff) -> list[Any]:
        return [
            (c.name, c.performance.value, c.disparity.value, c.pareto, c.status)
            for c in t.candidates
        ]

    assert frontier(again.tradeoff) == frontier(sweep.tradeoff)
    assert again.tradeoff.chosen == sweep.tradeoff.chosen
    other = sweep_of(adult, SweepPlan(**{**PLAN.to_dict(), "random_state": 6}))
    randomized = "threshold_opt(0.05)"  # a randomized rule: another seed, other draws
    assert other.tradeoff.candidate(randomized).performance.value != pytest.approx(
        sweep.tradeoff.candidate(randomized).performance.value, abs=1e-9
    )


def test_a_point_that_cannot_fit_is_recorded_and_the_rest_go_on(adult: dict[str, Any]) -> None:
    plan = SweepPlan(methods=("threshold_optimizer", "group_thresholds"), tolerances=(0.0,))
    result = sweep_of(
        adult,
        plan,
        estimator=LinearSVC(),  # no predict_proba: fairlearn's ThresholdOptimizer needs it here
        policy=None,
        options=AuditOptions(intervals=False),
    )
    t = result.tradeoff
    assert list(t.failures) == ["threshold_opt(0)"]
    assert "predict_proba" in t.failures["threshold_opt(0)"]
    assert [c.name for c in t.candidates] == ["baseline", "hist_threshold(0)"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y_test": np.zeros(3)}, "'X_test' parameter must have one row per label"),
        (
            {"sf_test": {"sex": np.array(["a"] * 5)}},
            "'sensitive_features_test' parameter must have",
        ),
        ({"sf_test": {"gender": None}}, "must have the columns of 'sensitive_features_train'"),
    ],
)
def test_sweep_refuses_inconsistent_inputs(
    adult: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    data = {**adult, **change}
    if "gender" in data["sf_test"]:
        data["sf_test"] = {"gender": adult["sf_test"]["sex"]}
    with pytest.raises(MitigationError, match=message):
        sweep_of(data, policy=None, options=None)


# ---------------------------------------------------------------------------------------------
# The bundle


def test_bundle_keeps_tradeoff_audits_and_a_reloadable_chosen_model(
    tmp_path: Path, adult: dict[str, Any], sweep: Any
) -> None:
    files = sweep_files(sweep)
    bundle = write_bundle(sweep.audits["baseline"], tmp_path / "b", extra_files=files)
    back = read_tradeoff(bundle)
    # NaN is not equal to itself: compare the plain data (NaN as None), and the types.
    assert back.to_dict() == json.loads(json.dumps(sweep.tradeoff.to_dict()))
    assert isinstance(back.candidates[0].disparity.simultaneous_lower, float)
    info = json.loads((bundle / "mitigation" / "sweep.json").read_text())
    assert info["chosen"] == sweep.tradeoff.chosen
    assert info["plan"]["random_state"] == 5
    model = load_chosen_model(bundle)
    kwargs = (
        {}
        if isinstance(model, ReductionClassifier)
        else {"sensitive_features": adult["sf_test"]["sex"]}
    )
    original = sweep.chosen_model
    np.testing.assert_array_equal(
        model.predict(adult["X_test"], **kwargs), original.predict(adult["X_test"], **kwargs)
    )
    for name in sweep.audits:
        assert (bundle / "mitigation" / "audits" / f"{name}.json").is_file()
    # Tampering is detected before anything is read.
    (bundle / TRADEOFF_FILE).write_text(json.dumps({**back.to_dict(), "chosen": "baseline"}))
    with pytest.raises(BundleError, match="does not match its sha256"):
        read_tradeoff(bundle)
    with pytest.raises(BundleError, match="failed verification"):
        load_chosen_model(bundle)


def test_tradeoff_from_dict_refuses_other_versions_and_malformed_data(sweep: Any) -> None:
    data = sweep.tradeoff.to_dict()
    with pytest.raises(BundleError, match="schema_version"):
        TradeOff.from_dict({**data, "schema_version": "0.1"})
    broken = {**data, "candidates": [{"name": "x"}]}
    with pytest.raises(BundleError, match="malformed"):
        TradeOff.from_dict(broken)


def test_no_chosen_candidate_means_no_model_file(tmp_path: Path, adult: dict[str, Any]) -> None:
    strict = Policy((Threshold("demographic_parity_difference", 0.0001, ("sex",)),))
    result = sweep_of(
        adult,
        SweepPlan(methods=("correlation_remover",), alphas=(0.5,)),
        policy=strict,
        options=AuditOptions(),
    )
    assert result.tradeoff.chosen is None
    assert result.chosen_model is None
    assert MODEL_FILE not in sweep_files(result)
    bundle = write_bundle(
        result.audits["baseline"], tmp_path / "b", extra_files=sweep_files(result)
    )
    with pytest.raises(BundleError, match="holds no chosen model"):
        load_chosen_model(bundle)


@pytest.mark.parametrize("name", ["hist_threshold(0.05)", "threshold_opt(0)", "corr_remover(1)"])
def test_every_kind_of_candidate_saves_and_reloads_with_the_default_allow_list(
    tmp_path: Path, adult: dict[str, Any], sweep: Any, name: str
) -> None:
    from audit.mitigation import load_model, save_model

    model = sweep.models[name]
    save_model(model, tmp_path / "m.skops")
    back = load_model(tmp_path / "m.skops")  # nothing added to the allow-list
    groups = adult["sf_test"]["sex"]
    np.testing.assert_array_equal(
        back.predict(adult["X_test"], sensitive_features=groups),
        model.predict(adult["X_test"], sensitive_features=groups),
    )
