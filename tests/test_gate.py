"""The gate's judgement, without pytest: estimates, verdicts, outcomes, waivers, baselines."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from _gate import FAIR, UNFAIR, rates_arrays, rates_bundle, rates_result

from audit import (
    AuditOptions,
    BundleError,
    Estimate,
    Policy,
    Threshold,
    UndefinedMetricWarning,
    audit_predictions,
    judge,
)
from audit._policy import parse_criterion
from fairtrail.gate import (
    GateError,
    assert_fair,
    criterion_estimate,
    parse_gate_policy,
    regression_verdict,
    run_gate,
)
from fairtrail.gate._evaluate import evaluate, outcome_of
from fairtrail.gate._policy import Waiver

TODAY = date(2026, 12, 4)


def policy(body: str, head: str = "") -> str:
    return head + body


DP = '[[criterion]]\nname = "demographic_parity_ratio"\nthreshold = {t}\n'


def test_the_estimate_is_the_hand_derived_disparity() -> None:
    # F selects 100/400 = 1/4, M 300/400 = 3/4: ratio 1/3, difference 1/2; TPR = FPR = rate.
    r = rates_result(UNFAIR)
    for criterion, value in [
        ("demographic_parity_ratio", 1 / 3),
        ("demographic_parity_difference", 1 / 2),
        ("equal_opportunity_difference", 1 / 2),
        ("false_positive_rate_ratio", 1 / 3),
    ]:
        est, why = criterion_estimate(r, criterion, "sex")
        assert est.value == pytest.approx(value, rel=1e-12), criterion
        assert why is None  # the audit judged no criterion: read from its disparity


def test_a_judged_criterion_is_read_from_the_audit_with_its_explanation() -> None:
    r = rates_result(UNFAIR, thresholds=(Threshold("equalized_odds_difference", 0.1),))
    est, why = criterion_estimate(r, "equalized_odds_difference", "sex")
    assert est.value == pytest.approx(1 / 2)  # max(TPR diff 1/2, FPR diff 1/2)
    assert why is not None
    assert why.startswith("equalized_odds_difference on sex: difference")


def test_a_combined_criterion_the_audit_did_not_judge_is_refused() -> None:
    with pytest.raises(GateError, match=r"combines .*did not judge it.*--fairtrail-spec"):
        criterion_estimate(rates_result(UNFAIR), "equalized_odds_difference", "sex")


def test_missing_attribute_and_metric_are_named() -> None:
    r = rates_result(UNFAIR)
    with pytest.raises(GateError, match=r"Attribute 'race' was not audited .*\['sex'\]"):
        criterion_estimate(r, "demographic_parity_ratio", "race")
    with pytest.raises(GateError, match=r"needs the metric 'roc_auc'.*without a y_score column"):
        criterion_estimate(r, "roc_auc_difference", "sex")


@pytest.mark.parametrize("decision_rule", ["interval", "point"])
@pytest.mark.parametrize("interval", ["simultaneous", "percentile"])
def test_verdicts_from_disparities_equal_the_audit_engines(
    decision_rule: str, interval: str
) -> None:
    """Peer check: the gate re-judging recorded disparities agrees with the engine judging.

    The same rows are audited twice: once with the thresholds in the audit's own policy (the
    engine judges from its bootstrap replicates), once without (the gate judges from the
    recorded disparity). Thresholds straddle the estimates, so every verdict occurs.
    """
    groups = {"F": (2000, 800), "M": (2000, 1000), "X": (400, 200)}  # 0.4, 0.5, 0.5
    thresholds = [Threshold("demographic_parity_ratio", t) for t in (0.6, 0.8, 0.95)] + [
        Threshold("true_positive_rate_difference", t) for t in (0.02, 0.1, 0.3)
    ]
    verdicts = set()
    for t in thresholds:
        text = (
            f'decision_rule = "{decision_rule}"\ninterval = "{interval}"\n'
            f'[[criterion]]\nname = "{t.criterion}"\nthreshold = {t.threshold}\n'
        )
        gate = parse_gate_policy(text, "p.toml")
        (check,) = evaluate(gate, rates_result(groups, seed=3), today=TODAY)
        engine = rates_result(groups, thresholds=(t,), seed=3)
        # the engine's estimate, judged under the same rule and interval
        c = engine.criteria[0]
        _, measure = parse_criterion(t.criterion)
        expected = judge(c.estimate, measure, t.threshold, decision_rule, interval)  # type: ignore[arg-type]
        assert check.estimate == c.estimate
        assert check.verdict == expected
        if decision_rule == "interval" and interval == "simultaneous":
            assert check.verdict == c.verdict  # the engine's own default rule
        verdicts.add(check.verdict)
    assert verdicts >= {"pass", "fail"}


@pytest.mark.parametrize(
    ("verdict", "severity", "on_inconclusive", "expected"),
    [
        ("pass", "error", "fail", "passed"),
        ("fail", "error", "pass", "failed"),
        ("fail", "warn", "fail", "warned"),
        ("inconclusive", "error", "fail", "failed"),
        ("inconclusive", "error", "warn", "warned"),
        ("inconclusive", "error", "pass", "passed"),
        ("inconclusive", "warn", "fail", "warned"),  # the lesser of severity and action
        ("inconclusive", "warn", "pass", "passed"),
    ],
)
def test_outcome_table(verdict: str, severity: str, on_inconclusive: str, expected: str) -> None:
    assert outcome_of(verdict, severity, on_inconclusive, None, TODAY)[0] == expected  # type: ignore[arg-type]


def _waiver(expires: date) -> Waiver:
    return Waiver(
        "demographic_parity_ratio", "sex", "ada", "known", "FAIR-1", expires, "threshold", 9
    )


def test_waivers_hold_through_their_expiry_date_then_fail() -> None:
    current = outcome_of("fail", "error", "fail", _waiver(TODAY), TODAY)
    assert current == ("waived", "fail; waived by FAIR-1 (ada, until 2026-12-04): known")
    expired = outcome_of("fail", "warn", "fail", _waiver(TODAY - timedelta(days=1)), TODAY)
    assert expired == ("failed", "fail; severity warn; waiver FAIR-1 (ada, until 2026-12-03) "
                                 "EXPIRED on 2026-12-03")  # fmt: skip
    unneeded = outcome_of("pass", "error", "fail", _waiver(TODAY - timedelta(days=1)), TODAY)
    assert unneeded[0] == "warned"
    assert "no longer needed" in unneeded[1]
    assert outcome_of("pass", "error", "fail", _waiver(TODAY), TODAY) == ("passed", "pass")


def test_a_failing_check_shows_its_table_with_hand_derived_rates() -> None:
    gate = parse_gate_policy(DP.format(t=0.8), "p.toml")
    (check,) = evaluate(gate, rates_result(UNFAIR), today=TODAY)
    assert (check.verdict, check.outcome, check.nodeid) == (
        "fail", "failed", "fairness::demographic_parity_ratio[sex]",
    )  # fmt: skip
    assert check.message.startswith("demographic_parity_ratio[sex] = 0.3333, 95% interval [")
    assert check.message.endswith("; the policy requires at least 0.8: fail")
    lines = check.detail.splitlines()
    assert lines[2].split() == ["group", "count", "selection_rate", "interval", "note"]
    assert lines[3].split()[:3] == ["F", "400", "0.2500"]
    assert lines[4].split()[:3] == ["M", "400", "0.7500"]


def test_small_and_undefined_groups_are_marked_in_the_table() -> None:
    # X: 10 rows (below min_group_size 30), 0 predicted positive of 5 actual negatives
    y_true, y_pred, g = rates_arrays({"F": (200, 100), "M": (200, 100), "X": (10, 0)})
    with pytest.warns(UndefinedMetricWarning):  # X has no predicted positive: precision NaN
        r = audit_predictions(y_true, y_pred, sensitive_features={"sex": g},
                              options=AuditOptions())  # fmt: skip
    gate = parse_gate_policy(DP.format(t=0.8), "p.toml")
    (check,) = evaluate(gate, r, today=TODAY)
    (row,) = [line for line in check.detail.splitlines() if line.startswith("X ")]
    assert "too small to decide a verdict" in row
    assert check.estimate.value == pytest.approx(1.0)  # F and M both 1/2; X excluded


def test_a_group_left_out_of_one_part_says_why_in_the_table() -> None:
    # Y has 200 rows but only 20 actual negatives (its FPR rests on 20 < 30): left out of the
    # FPR part of equalized odds, kept in the TPR part. The table says so beside its "—".
    y_true, y_pred, g = rates_arrays({"F": (400, 200), "M": (400, 200)})
    y_true = np.r_[y_true, [1] * 180 + [0] * 20]
    y_pred = np.r_[y_pred, [1] * 90 + [0] * 90 + [1] * 10 + [0] * 10]
    g = np.r_[g, ["Y"] * 200]
    policy = Policy((Threshold("equalized_odds_difference", 0.2),))
    r = audit_predictions(y_true, y_pred, sensitive_features={"sex": g}, policy=policy)
    gate = parse_gate_policy(
        'interval = "simultaneous"\n[[criterion]]\nname = "equalized_odds_difference"\n'
        "threshold = 0.2\n",
        "p.toml",
    )
    (check,) = evaluate(gate, r, today=TODAY)
    (row,) = [line for line in check.detail.splitlines() if line.startswith("Y ")]
    reason = "false_positive_rate rests on 20 actual negatives, fewer than min_group_size=30"
    assert f"not compared: {reason}" in row
    assert "—" in row  # no simultaneous interval: Y is not in the FPR family
    assert f"Not compared: Y ({reason})." in check.detail


def test_an_attribute_the_audit_lacks_is_named_with_the_policy_line() -> None:
    text = DP.format(t=0.8) + 'attributes = ["race"]\n'
    gate = parse_gate_policy(text, "p.toml")
    with pytest.raises(GateError, match=r"p\.toml:1: demographic_parity_ratio names attribute "
                                        r"'race', which audit \w+ did not audit"):  # fmt: skip
        evaluate(gate, rates_result(UNFAIR), today=TODAY)


def test_a_different_minimum_group_size_is_refused() -> None:
    gate = parse_gate_policy("min_group_size = 50\n" + DP.format(t=0.8), "p.toml")
    with pytest.raises(GateError, match=r"policy sets min_group_size = 50, but audit .* = 30"):
        evaluate(gate, rates_result(UNFAIR), today=TODAY)
    assert evaluate(gate, rates_result(UNFAIR, min_group_size=50), today=TODAY)


def test_intervals_are_required_unless_the_rule_is_point() -> None:
    gate = parse_gate_policy(DP.format(t=0.8), "p.toml")
    with pytest.raises(GateError, match=r"has none \(intervals = false\)"):
        evaluate(gate, rates_result(UNFAIR, intervals=False), today=TODAY)
    point = parse_gate_policy('decision_rule = "point"\n' + DP.format(t=0.3), "p.toml")
    (check,) = evaluate(point, rates_result(UNFAIR, intervals=False), today=TODAY)
    assert check.verdict == "pass"  # 1/3 ≥ 0.3
    assert check.message == (
        "demographic_parity_ratio[sex] = 0.3333; the policy requires at least 0.3: pass"
    )


E = Estimate


@pytest.mark.parametrize(
    ("now", "before", "measure", "rule", "expected"),
    [
        # difference: worse = higher. Tolerance 0.02 throughout.
        (E(0.065, 0.05, 0.09), E(0.05, 0.03, 0.07), "difference", "interval", "pass"),  # +.015
        (E(0.20, 0.15, 0.25), E(0.05, 0.03, 0.07), "difference", "interval", "fail"),  # gap .08
        (E(0.10, 0.08, 0.12), E(0.05, 0.03, 0.07), "difference", "interval", "inconclusive"),
        (E(0.10, 0.08, 0.12), E(0.05, 0.03, 0.07), "difference", "point", "fail"),  # +0.05
        (E(0.01, 0.00, 0.03), E(0.05, 0.03, 0.07), "difference", "interval", "pass"),  # better
        # ratio: worse = lower
        (E(0.60, 0.55, 0.65), E(0.90, 0.85, 0.95), "ratio", "interval", "fail"),  # gap 0.20
        (E(0.86, 0.80, 0.92), E(0.90, 0.85, 0.95), "ratio", "interval", "inconclusive"),
        (E(0.89, 0.80, 0.92), E(0.90, 0.85, 0.95), "ratio", "interval", "pass"),  # -0.01
        (E(math.nan), E(0.90, 0.85, 0.95), "ratio", "point", "inconclusive"),
    ],
)
def test_regression_verdicts(
    now: Estimate, before: Estimate, measure: str, rule: str, expected: str
) -> None:
    assert regression_verdict(now, before, measure, 0.02, rule, "percentile") == expected  # type: ignore[arg-type]


def test_run_gate_with_a_baseline_bundle(tmp_path: Path) -> None:
    base, _ = rates_bundle(tmp_path / "before", FAIR)
    now, _ = rates_bundle(tmp_path / "now", UNFAIR)
    text = DP.format(t=0.3) + '[regression]\nbaseline = "before"\ntolerance = 0.02\n'
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    run = run_gate(tmp_path / "p.toml", bundle=now, today=TODAY)
    threshold, regression = run.checks
    assert threshold.kind == "threshold"
    assert regression.kind == "regression"
    assert regression.nodeid == "fairness::no_regression::demographic_parity_ratio[sex]"
    # 0.50/0.52 → 1/3: far below the baseline's interval
    assert (regression.verdict, regression.outcome) == ("fail", "failed")
    assert regression.baseline is not None
    assert regression.baseline.value == pytest.approx(0.5 / 0.52)
    assert run.baseline_source == f"bundle {base}"
    # the other way round nothing got worse
    back = run_gate(tmp_path / "p.toml", bundle=base, baseline=now, today=TODAY)
    assert back.checks[1].verdict == "pass"


def test_a_tampered_bundle_is_refused(tmp_path: Path) -> None:
    bundle, _ = rates_bundle(tmp_path / "b", UNFAIR)
    (tmp_path / "p.toml").write_text(DP.format(t=0.8), encoding="utf-8")
    result = bundle / "result.json"
    text = result.read_text(encoding="utf-8")
    assert '"min_group_size": 30' in text
    result.write_text(text.replace('"min_group_size": 30', '"min_group_size": 3'), "utf-8")
    with pytest.raises(BundleError, match=r"failed verification: result\.json does not match"):
        run_gate(tmp_path / "p.toml", bundle=bundle, today=TODAY)


def test_assert_fair_passes_and_fails_with_the_table() -> None:
    fair, unfair = rates_result(FAIR), rates_result(UNFAIR)
    assert_fair(fair, "demographic_parity_ratio", threshold=0.8)
    assert_fair(fair, "demographic_parity_difference", attribute="sex", threshold=0.1)
    with pytest.raises(AssertionError) as err:
        assert_fair(unfair, "demographic_parity_ratio", threshold=0.8)
    text = str(err.value)
    assert text.startswith("1 fairness check failed:\ndemographic_parity_ratio[sex] = 0.3333")
    table = [line.split() for line in text.splitlines()[-3:]]
    assert table[0] == ["group", "count", "selection_rate", "interval", "note"]
    assert table[1][:3] == ["F", "400", "0.2500"]
    assert table[2][:3] == ["M", "400", "0.7500"]
    # without a threshold: the audit's own criteria
    judged = rates_result(UNFAIR, thresholds=(Threshold("demographic_parity_difference", 0.1),))
    with pytest.raises(AssertionError, match=r"demographic_parity_difference\[sex\] = 0\.5000"):
        assert_fair(judged)
    with pytest.raises(ValueError, match="did not judge 'demographic_parity_ratio'"):
        assert_fair(judged, "demographic_parity_ratio")
    with pytest.raises(ValueError, match=r"must be in \(0, 1\]; got 1\.5"):
        assert_fair(fair, "demographic_parity_ratio", threshold=1.5)
