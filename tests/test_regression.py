"""Regression audits: MAE, RMSE, mean error, mean prediction and R² from per-cell moments.

Oracles: a table small enough to do by hand (fractions), scikit-learn's metric functions per
group through fairlearn's MetricFrame (hypothesis, weights included), and a brute-force row
bootstrap for the intervals.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Callable
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    mean_absolute_error,
    r2_score,
    root_mean_squared_error,
)

from audit import (
    REGRESSION_METRICS,
    AuditOptions,
    AuditResult,
    DataValidationError,
    Policy,
    SpecError,
    Threshold,
    UndefinedMetricWarning,
    audit_predictions,
)
from audit._result import AuditResult as ResultClass

TOL = {"rel": 1e-12, "abs": 1e-12}


def regress(y_true: Any, y_pred: Any, groups: Any, **options: Any) -> AuditResult:
    sample_weight = options.pop("sample_weight", None)
    policy = options.pop("policy", None)
    opts = {"intervals": False, "min_group_size": 1, "task": "regression", **options}
    return audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"g": list(groups)},
        sample_weight=sample_weight,
        policy=policy,
        options=AuditOptions(**opts),
    )


# ---------------------------------------------------------------------------------------------
# By hand
# ---------------------------------------------------------------------------------------------

#             group a                       group b
Y_TRUE = [*[1.0, 2.0, 4.0, 5.0], *[10.0, 10.0, 13.0]]
Y_PRED = [*[2.0, 2.0, 3.0, 7.0], *[9.0, 12.0, 13.0]]
GROUPS = ["a"] * 4 + ["b"] * 3


def test_hand_derived_values() -> None:
    # a: errors e = ŷ − y = (1, 0, −1, 2); ȳ = 3, Σ(y − ȳ)² = 4 + 1 + 1 + 4 = 10.
    # b: errors (−1, 2, 0); ȳ = 11, Σ(y − ȳ)² = 1 + 1 + 4 = 6.
    expected = {
        "a": {
            "mean_absolute_error": F(4, 4),
            "root_mean_squared_error": math.sqrt(6 / 4),
            "mean_error": F(2, 4),
            "mean_prediction": F(14, 4),
            "r2_score": 1 - F(6, 10),
        },
        "b": {
            "mean_absolute_error": F(3, 3),
            "root_mean_squared_error": math.sqrt(5 / 3),
            "mean_error": F(1, 3),
            "mean_prediction": F(34, 3),
            "r2_score": 1 - F(5, 6),
        },
    }
    result = regress(Y_TRUE, Y_PRED, GROUPS, intervals=True)
    assert result.task == "regression"
    for g in result.attribute("g").groups:
        for name in REGRESSION_METRICS:
            assert g.metrics[name].value == pytest.approx(float(expected[g.group][name]), **TOL)
    # overall: e = (1, 0, −1, 2, −1, 2, 0), Σe² = 11; ȳ = 45/7,
    # Σy² = 1 + 4 + 16 + 25 + 100 + 100 + 169 = 415, so SST = 415 − 45²/7
    sst = F(415) - F(45**2, 7)
    assert result.overall["r2_score"].value == pytest.approx(float(1 - 11 / sst), **TOL)
    assert result.overall["mean_error"].value == pytest.approx(3 / 7, **TOL)
    # disparities: MAE 1 vs 1 → difference 0, ratio 1; mean error ½ vs ⅓ → difference ⅙
    d = {(x.metric, x.measure): x.estimate for x in result.attribute("g").disparities}
    assert d[("mean_absolute_error", "difference")].value == pytest.approx(0.0, **TOL)
    assert d[("mean_absolute_error", "ratio")].value == pytest.approx(1.0, **TOL)
    assert d[("mean_error", "difference")].value == pytest.approx(1 / 6, **TOL)
    assert d[("r2_score", "difference")].value == pytest.approx(0.4 - 1 / 6, **TOL)


def test_weighted_hand_values() -> None:
    # a: y = (0, 2), ŷ = (1, 1), w = (1, 3): MAE = 1, ME = (1 − 3)/4, ȳ_w = 1.5,
    # SST = 1·2.25 + 3·0.25 = 3, SSE = 4 → R² = −1/3.
    result = regress(
        [0.0, 2.0, 5.0, 7.0], [1.0, 1.0, 5.0, 6.0], "aabb", sample_weight=[1.0, 3.0, 1.0, 1.0]
    )
    a = result.attribute("g").groups[0].metrics
    assert a["mean_absolute_error"].value == pytest.approx(1.0, **TOL)
    assert a["mean_error"].value == pytest.approx(-0.5, **TOL)
    assert a["mean_prediction"].value == pytest.approx(1.0, **TOL)
    assert a["r2_score"].value == pytest.approx(-1 / 3, **TOL)


def test_constant_y_true_makes_r2_nan_where_sklearn_forces_a_finite_value() -> None:
    # Group b's y_true is constant: R² = 1 − SSE/0 is undefined. sklearn says 0.0 (or 1.0
    # for a perfect fit) by default, −inf with force_finite=False; ours is NaN with a reason.
    y, p = [1.0, 2.0, 3.0, 5.0, 5.0, 5.0], [1.5, 2.0, 2.5, 4.0, 5.0, 6.0]
    with pytest.warns(UndefinedMetricWarning):
        result = regress(y, p, "aaabbb")
    b = result.attribute("g").groups[1].metrics["r2_score"]
    assert math.isnan(b.value)
    assert b.undefined_reason == "y_true is constant in the group (or the group is empty)"
    assert r2_score(y[3:], p[3:]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert r2_score(y[3:], p[3:], force_finite=False) == -math.inf
    r2 = {(x.metric, x.measure): x for x in result.attribute("g").disparities}
    assert "b" in r2[("r2_score", "difference")].excluded_groups


def test_ratio_of_signed_metrics_is_refused_when_a_value_is_negative() -> None:
    # Group a under-predicts (mean error −1), b over-predicts (+1): a ratio of −1 to 1 means
    # nothing, so it is NaN with the reason; the difference (2) is reported.
    result = regress([2.0, 4.0, 0.0, 2.0], [1.0, 3.0, 1.0, 3.0], "aabb")
    d = {(x.metric, x.measure): x.estimate for x in result.attribute("g").disparities}
    assert d[("mean_error", "difference")].value == pytest.approx(2.0, **TOL)
    ratio = d[("mean_error", "ratio")]
    assert math.isnan(ratio.value)
    assert ratio.undefined_reason == (
        "the compared values include negative numbers: a ratio is not meaningful"
    )


# ---------------------------------------------------------------------------------------------
# Against scikit-learn through MetricFrame
# ---------------------------------------------------------------------------------------------


def _peers() -> dict[str, Any]:
    def mean_error(y: Any, p: Any, sample_weight: Any = None) -> float:
        return float(np.average(np.asarray(p) - np.asarray(y), weights=sample_weight))

    def mean_prediction(y: Any, p: Any, sample_weight: Any = None) -> float:
        return float(np.average(np.asarray(p), weights=sample_weight))

    def r2(y: Any, p: Any, sample_weight: Any = None) -> float:
        return float(r2_score(y, p, sample_weight=sample_weight, force_finite=False))

    return {
        "mean_absolute_error": mean_absolute_error,
        "root_mean_squared_error": root_mean_squared_error,
        "mean_error": mean_error,
        "mean_prediction": mean_prediction,
        "r2_score": r2,
    }


@st.composite
def regression_data(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray | None]:
    n = draw(st.integers(2, 200))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = rng.choice([f"g{i}" for i in range(k)], n)
    loc = draw(st.sampled_from([0.0, 50.0, 1e4]))  # far from 0: tests the centring
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    y = loc + scale * rng.standard_normal(n)
    if draw(st.booleans()):
        y = np.round(y, 1)  # ties, and sometimes a constant group
    if draw(st.booleans()):  # one group constant
        y[g == "g0"] = loc
    p = y + scale * rng.standard_t(3, n) + (g == "g0") * scale
    weight = np.round(rng.uniform(0.1, 5.0, n), 3) if draw(st.booleans()) else None
    return pd.DataFrame({"y": y, "p": p, "g": g}), weight


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(regression_data())
def test_every_group_value_equals_sklearn_through_metricframe(
    case: tuple[pd.DataFrame, np.ndarray | None],
) -> None:
    df, weight = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        result = regress(df["y"], df["p"], df["g"], sample_weight=weight)
    params = None if weight is None else {k: {"sample_weight": weight} for k in _peers()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mf = MetricFrame(
            metrics=_peers(),
            y_true=df["y"],
            y_pred=df["p"],
            sensitive_features=df["g"],
            sample_params=params,
        )
    for g in result.attribute("g").groups:
        for name in REGRESSION_METRICS:
            ours, peer = g.metrics[name].value, float(mf.by_group.loc[g.group, name])
            if name == "r2_score" and df.loc[df["g"] == g.group, "y"].nunique() == 1:
                # y_true constant: ours is NaN. sklearn says −inf, or with weights whatever
                # its rounded weighted mean leaves (seen: −9.3e22 for three rows of 50.0).
                assert math.isnan(ours), g.group
                continue
            # R² rests on Σ(y − ȳ)²: the two sides sum in different orders, so it carries
            # the cancellation of 1 − SSE/SST; everything else agrees to 1e-12.
            tol = {"rel": 1e-9, "abs": 1e-9} if name == "r2_score" else TOL
            assert ours == pytest.approx(peer, **tol), (g.group, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff = mf.difference()
    disparities = {(d.metric, d.measure): d.estimate for d in result.attribute("g").disparities}
    for name in ("mean_absolute_error", "root_mean_squared_error", "mean_prediction"):
        ours = disparities[(name, "difference")].value
        if mf.by_group[name].notna().all() and len(mf.by_group) > 1:
            assert ours == pytest.approx(
                float(diff[name]), rel=1e-9, abs=1e-9 * df["y"].abs().max()
            )


# ---------------------------------------------------------------------------------------------
# Intervals against a brute-force row bootstrap
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("errors", ["normal", "heavy-tailed"])
def test_interval_widths_match_a_row_bootstrap(errors: str) -> None:
    """Percentile-interval widths equal those of a row bootstrap within Monte-Carlo error.

    Bins alone (each resampled row carrying its bin's mean) would lose the variation inside
    a bin: with t(3) errors that made the RMSE interval about half as wide as it should be.
    With 2000 replicates each side, a width's relative Monte-Carlo error is about 3–4 %
    (for the heavy tail more); the tolerance is 15 %.
    """
    rng = np.random.default_rng(7)
    n = 3000
    g = rng.choice(["a", "b"], n, p=[0.3, 0.7])
    y = rng.normal(50.0, 10.0, n)
    noise = rng.normal(0, 4.0, n) if errors == "normal" else 3.0 * rng.standard_t(3, n)
    p = y + noise + (g == "a") * 2.0
    ours = regress(y, p, g, intervals=True, random_state=1).attribute("g").groups[0]
    assert ours.group == "a"
    mask_idx = np.flatnonzero(g == "a")
    reps = {name: [] for name in REGRESSION_METRICS}
    peers = _peers()
    for _ in range(2000):
        i = rng.integers(0, n, n)
        sel = i[np.isin(i, mask_idx)]
        for name in REGRESSION_METRICS:
            reps[name].append(peers[name](y[sel], p[sel]))
    for name in REGRESSION_METRICS:
        lo, hi = np.quantile(reps[name], [0.025, 0.975])
        e = ours.metrics[name]
        assert e.upper - e.lower == pytest.approx(hi - lo, rel=0.15), name
        # and centred where the row bootstrap is (within a quarter of the width)
        assert abs((e.upper + e.lower) / 2 - (hi + lo) / 2) < 0.25 * (hi - lo), name


# ---------------------------------------------------------------------------------------------
# Input, policy, result round trip, CLI
# ---------------------------------------------------------------------------------------------


def test_nan_prediction_is_refused_naming_the_column() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"^Column 'y_pred' \(y_pred\) must hold finite numbers; found 1 NaN/missing "
        r"and 0 infinite values \(first at row 1\)\.$",  # 0-based, as in pandas
    ):
        regress([1.0, 2.0, 3.0], [1.0, math.nan, 3.0], "aab")


def test_text_target_is_refused_naming_the_column() -> None:
    with pytest.raises(
        DataValidationError, match=r"Column 'y_true' \(y_true\) must hold numbers; found 'x'"
    ):
        regress(["1", "x", "3"], [1.0, 2.0, 3.0], "aab")


@pytest.mark.parametrize(
    ("extra", "name"), [({"y_score": [0.1, 0.2]}, "y_score"), ({"pos_label": 1}, "pos_label")]
)
def test_classification_only_inputs_are_refused(extra: dict[str, Any], name: str) -> None:
    with pytest.raises(DataValidationError, match=f"^{name} is for binary classification"):
        audit_predictions(
            [1.0, 2.0],
            [1.0, 2.0],
            sensitive_features={"g": ["a", "b"]},
            options=AuditOptions(task="regression", intervals=False),
            **extra,
        )


def test_classification_criterion_in_a_regression_policy_is_a_spec_error() -> None:
    policy = Policy((Threshold("demographic_parity_ratio", 0.8),))
    with pytest.raises(SpecError, match=r"needs the metric 'selection_rate'.*a regression audit"):
        regress(Y_TRUE, Y_PRED, GROUPS, policy=policy)


def test_regression_policy_verdicts() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    g = np.repeat(["a", "b"], n // 2)
    y = rng.normal(10, 2, n)
    p = y + rng.normal(0, 1, n) * np.where(g == "a", 1.0, 3.0)  # b's errors 3× larger
    policy = Policy(
        (
            Threshold("mean_absolute_error_difference", 0.5),  # true: 0.8·(3 − 1) ≈ 1.6
            Threshold("mean_error_difference", 0.5),  # both unbiased: ≈ 0
        )
    )
    result = regress(y, p, g, policy=policy, intervals=True, min_group_size=30)
    for c in result.criteria:  # the bounds behind the verdict surround the estimate
        e = c.estimate
        assert e.simultaneous_lower <= e.value <= e.simultaneous_upper, c.criterion
    verdicts = {c.criterion: c.verdict for c in result.criteria}
    assert verdicts == {"mean_absolute_error_difference": "fail", "mean_error_difference": "pass"}
    assert result.status == "fail"


def test_result_round_trips_through_json() -> None:
    result = regress(Y_TRUE, Y_PRED, GROUPS, intervals=True)
    again = ResultClass.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()  # (NaN ≠ NaN in dataclass equality)
    assert again.attributes[0].groups == result.attributes[0].groups
    assert again.attributes[0].ll144 is None
    assert again.cells[0].count == 4
    assert again.cells[0].tp is None


def test_cli_runs_a_regression_spec(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    rng = np.random.default_rng(0)
    n = 600
    sex = rng.choice(["F", "M"], n)
    y = rng.normal(30, 5, n)
    pd.DataFrame({"income": y, "predicted": y + rng.normal(0, 1, n), "sex": sex}).to_csv(
        tmp_path / "pred.csv", index=False
    )
    (tmp_path / "audit.toml").write_text(
        """
[data]
path = "pred.csv"
task = "regression"
y_true = "income"
y_pred = "predicted"
sensitive_features = ["sex"]

[audit]

[policy.thresholds]
mean_absolute_error_difference = 2.0
"""
    )
    out = fairtrail_cli("run", "audit.toml", "--out", "bundle", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "regression" in out.stdout
    assert "MAE" in out.stdout
    assert "mean_absolute_error_difference" in out.stdout
    assert (tmp_path / "bundle" / "result.json").is_file()


def test_difference_thresholds_of_errors_are_in_the_units_of_y() -> None:
    assert Threshold("mean_absolute_error_difference", 2500.0).threshold == 2500.0
    with pytest.raises(SpecError, match=r"must be at least 0 \(in the units of y\); got -1"):
        Threshold("mean_error_difference", -1.0)
    with pytest.raises(SpecError, match=r"must be in \[0, 1\]; got 2"):
        Threshold("true_positive_rate_difference", 2.0)


def test_adult_hours_example_runs_and_matches_sklearn(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # The README's regression example, end to end on the real data: the CLI's per-group MAE
    # equals scikit-learn's on the predictions it audited.
    example = Path(__file__).parents[1] / "examples" / "adult_hours"
    sys.path.insert(0, str(example))
    try:
        from make_predictions import main as make_predictions
    finally:
        sys.path.remove(str(example))
    predictions = pd.read_parquet(make_predictions(tmp_path))
    (tmp_path / "audit.toml").write_text((example / "audit.toml").read_text())
    out = fairtrail_cli("run", "audit.toml", "--out", "b", "--quiet", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    from audit import read_bundle

    result = read_bundle(tmp_path / "b")
    for g in result.attribute("sex").groups:
        rows = predictions[predictions["sex"] == g.group]
        want = mean_absolute_error(rows["hours"], rows["predicted_hours"])
        assert g.metrics["mean_absolute_error"].value == pytest.approx(want, **TOL)


def test_cells_whose_rows_all_weigh_zero_do_not_break_the_intervals() -> None:
    rng = np.random.default_rng(2)
    n = 400
    g = np.where(np.arange(n) < 40, "z", np.where(np.arange(n) % 2, "a", "b"))
    y = rng.normal(0, 1, n)
    p = y + rng.normal(0, 0.5, n)
    w = np.where(g == "z", 0.0, 1.0)  # group z is present but weighs nothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        result = regress(y, p, g, sample_weight=w, intervals=True)
    groups = {x.group: x for x in result.attribute("g").groups}
    for name in ("a", "b"):
        mae = groups[name].metrics["mean_absolute_error"]
        assert math.isfinite(mae.lower)
        assert mae.lower < mae.value < mae.upper
    assert math.isnan(groups["z"].metrics["mean_absolute_error"].value)  # zero weight: empty
