"""Intervals: each method against an independent oracle, and the rules every interval keeps.

Oracles: scipy's beta, t and χ² quantiles; DeLong's variance and the regression variances
computed row by row (not from the histograms and moments the audit uses); Monte Carlo for
the quantile of a sum of folded normals; hand arithmetic in comments.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction as F

import numpy as np
import pytest
import scipy.stats as sps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import AuditOptions, AuditResult, Policy, Threshold, audit_predictions, judge
from audit._intervals import (
    balanced_accuracy_intervals,
    clopper_pearson,
    jaccard_f1_intervals,
    proportion_intervals,
)
from audit._score_intervals import delong_variance, folded_normal_sum_quantile

from _tables import rows_of

QUIET = pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")


def cp_oracle(x: float, n: float, level: float) -> tuple[float, float]:
    a = 1 - level
    lo = 0.0 if x == 0 else sps.beta.ppf(a / 2, x, n - x + 1)
    hi = 1.0 if x == n else sps.beta.ppf(1 - a / 2, x + 1, n - x)
    return float(lo), float(hi)


# ---------------------------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 10**7),
    share=st.floats(0, 1),
    level=st.floats(0.5, 0.99999),
)
def test_clopper_pearson_is_scipys_beta_quantiles(n: int, share: float, level: float) -> None:
    x = round(share * n)
    lo, hi = clopper_pearson(np.array([x], float), np.array([n], float), np.array(level))
    want = cp_oracle(x, n, level)
    assert lo[0] == pytest.approx(want[0], rel=1e-9, abs=1e-300)
    assert hi[0] == pytest.approx(want[1], rel=1e-9)
    assert 0.0 <= lo[0] <= x / n <= hi[0] <= 1.0


def test_issue_examples_stay_in_range() -> None:
    # 1 of 40 and 39 of 40 (the bootstrap's simultaneous bounds were [−0.038, 0.088] and
    # [0.917, 1.033]): exact bounds, inside [0, 1].
    lo, hi = proportion_intervals(np.array([1.0, 39.0]), np.array([40.0, 40.0])).bounds(0.95)
    assert (lo[0], hi[0]) == pytest.approx(cp_oracle(1, 40, 0.95), rel=1e-9)
    assert (lo[1], hi[1]) == pytest.approx(cp_oracle(39, 40, 0.95), rel=1e-9)
    assert lo[0] > 0
    assert hi[1] < 1


def test_weighted_rate_uses_korn_graubard_effective_trials() -> None:
    # Rows (y, w): (1, 1), (0, 1), (1, 2), (0, 2). p = (1 + 2)/6 = 1/2.
    # var(p) = Σw²(y − p)²/(Σw)² = ¼·(1 + 1 + 4 + 4)/36 = 2.5/36, so the effective trials are
    # p(1 − p)/var = ¼ · 36/2.5 = 3.6, and the interval is Clopper–Pearson at 1.8 of 3.6.
    iv = proportion_intervals(
        np.array([3.0]), np.array([6.0]), np.array([5.0]), np.array([10.0]), np.array([4.0])
    )
    lo, hi = iv.bounds(0.95)
    assert float(iv.values[0]) == 0.5
    assert (lo[0], hi[0]) == pytest.approx(cp_oracle(1.8, 3.6, 0.95), rel=1e-9)
    assert "Korn–Graubard" in iv.method


def test_constant_weights_give_the_unweighted_interval() -> None:
    x, n = np.array([7.0, 0.0, 20.0]), np.array([20.0, 15.0, 20.0])
    c = 2.5  # every row weighs 2.5: Σw = 2.5·count, Σw² = 6.25·count
    weighted = proportion_intervals(c * x, c * n, c * c * x, c * c * n, n).bounds(0.9)
    plain = proportion_intervals(x, n).bounds(0.9)
    np.testing.assert_allclose(weighted, plain, rtol=1e-9)


def test_f1_maps_the_exact_bounds_of_the_jaccard_index() -> None:
    # TP 8, FP + FN 2: J = 8/10, F1 = 2·8/(2·8 + 2) = 16/18.
    f1 = jaccard_f1_intervals(proportion_intervals(np.array([8.0]), np.array([10.0])))
    lo, hi = f1.bounds(0.95)
    j_lo, j_hi = cp_oracle(8, 10, 0.95)
    assert float(f1.values[0]) == pytest.approx(16 / 18)
    assert (lo[0], hi[0]) == pytest.approx((2 * j_lo / (1 + j_lo), 2 * j_hi / (1 + j_hi)))


def test_balanced_accuracy_combines_the_exact_bounds_in_quadrature() -> None:
    # MOVER: B = (0.8 + 0.9)/2; L = B − ½√((0.8 − l₁)² + (0.9 − l₂)²), U likewise.
    tpr = proportion_intervals(np.array([40.0]), np.array([50.0]))
    tnr = proportion_intervals(np.array([45.0]), np.array([50.0]))
    lo, hi = balanced_accuracy_intervals(tpr, tnr).bounds(0.95)
    (a_lo, a_hi), (b_lo, b_hi) = cp_oracle(40, 50, 0.95), cp_oracle(45, 50, 0.95)
    want_lo = 0.85 - math.hypot(0.8 - a_lo, 0.9 - b_lo) / 2
    want_hi = 0.85 + math.hypot(a_hi - 0.8, b_hi - 0.9) / 2
    assert (lo[0], hi[0]) == pytest.approx((want_lo, want_hi))


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def delong_by_rows(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong's variance from the rows: every positive against every negative."""
    pos, neg = score[y == 1], score[y == 0]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = kernel.mean(axis=1), kernel.mean(axis=0)
    auc = float(kernel.mean())
    return auc, float(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(6, 80), levels=st.integers(2, 12))
def test_delong_variance_from_histograms_equals_the_rows(seed: int, n: int, levels: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:4] = [0, 1, 0, 1]  # two of each label at least (sample variances)
    score = rng.integers(0, levels, n) + 0.3 * y  # ties within and across labels
    values = np.unique(score)
    count = np.zeros((1, 2, values.size))
    np.add.at(count, (0, y, np.searchsorted(values, score)), 1.0)
    auc, var = delong_by_rows(score, y)
    got = delong_variance(count, count, count, np.array([auc]))
    assert got[0] == pytest.approx(var, rel=1e-9, abs=1e-15)


def test_auc_at_perfect_separation_has_a_real_interval() -> None:
    # 10 positives all above 20 negatives: AUC 1, DeLong's variance 0. The interval must not
    # collapse to [1, 1] (the truth may well be below 1 with 10 positives). The score
    # interval's lower end solves (1 − θ)² = t₉²·V_HM(θ, 10, 20): about 0.78 by hand.
    y = np.array([0] * 20 + [1] * 10)
    score = np.r_[np.linspace(0.05, 0.4, 20), np.linspace(0.6, 0.95, 10)]
    r = audit_predictions(
        y, (score > 0.5).astype(int), sensitive_features={"g": ["a"] * 30}, y_score=score
    )
    e = r.attribute("g").groups[0].metrics["roc_auc"]
    assert e.value == 1.0
    assert e.upper == 1.0
    t = sps.t.ppf(0.975, 9)

    def hanley_mcneil(theta: float, m: int = 10, n: int = 20) -> float:
        q1, q2 = theta / (2 - theta), 2 * theta**2 / (1 + theta)
        return (theta * (1 - theta) + (m - 1) * (q1 - theta**2) + (n - 1) * (q2 - theta**2)) / (
            m * n
        )

    from scipy.optimize import brentq

    want = brentq(lambda th: (1 - th) ** 2 - t**2 * hanley_mcneil(th), 0.3, 0.99)
    assert e.lower == pytest.approx(want, abs=1e-6)
    assert 0.75 < want < 0.8


def test_folded_normal_sum_quantile_against_simulation() -> None:
    rng = np.random.default_rng(1)
    z = np.abs(rng.standard_normal((400_000, 10)))
    for sd in (np.ones(10), np.r_[5.0, np.ones(9)], np.r_[1.0, 1, 1, 0.1, 0.1, np.zeros(5)]):
        for level in (0.9, 0.95, 0.99, 0.999):
            simulated = float(np.quantile(z @ sd, level))
            q = folded_normal_sum_quantile(sd[None], np.array([level]))[0]
            # never more than 1 % below the simulated quantile, and not far above it
            assert simulated * 0.99 <= q <= simulated * 1.15, (sd, level, q, simulated)


def test_calibrated_scores_get_an_ece_interval_from_zero() -> None:
    # A calibrated model's true ECE is 0 while the plug-in is always above it; the interval
    # must reach 0 (a bootstrap of the plug-in never does).
    rng = np.random.default_rng(5)
    s = rng.random(400)
    y = (rng.random(400) < s).astype(int)
    r = audit_predictions(y, (s > 0.5).astype(int), sensitive_features={"g": ["a"] * 400},
                          y_score=s)  # fmt: skip
    e = r.overall["expected_calibration_error"]
    assert e.value > 0
    assert e.lower == 0.0
    assert e.upper < 1


def test_brier_score_interval_by_rows() -> None:
    # the union of the delta method on the logit scale (se(B)/(B(1 − B)), se from the rows'
    # squared errors) and a Satterthwaite scaled χ²
    rng = np.random.default_rng(2)
    s = np.round(rng.random(300), 3)  # few enough distinct values for exact bins
    y = (rng.random(300) < s).astype(int)
    r = audit_predictions(y, (s > 0.5).astype(int), sensitive_features={"g": ["a"] * 300},
                          y_score=s)  # fmt: skip
    d = (s - y) ** 2
    b, se = d.mean(), d.std(ddof=1) / math.sqrt(d.size)
    t = sps.t.ppf(0.975, d.size - 1)
    logit = math.log(b / (1 - b))
    half = t * se / (b * (1 - b))
    delta = (1 / (1 + math.exp(-(logit - half))), 1 / (1 + math.exp(-(logit + half))))
    # Satterthwaite: B·ν/χ²_ν at the normal tail that t₂₉₉ leaves, ν = 2B²/se²
    nu, alpha = 2 * b**2 / se**2, 2 * sps.norm.sf(t)
    scaled = (nu * b / sps.chi2.ppf(1 - alpha / 2, nu), nu * b / sps.chi2.ppf(alpha / 2, nu))
    want = (min(delta[0], scaled[0]), max(delta[1], scaled[1]))  # their union
    e = r.overall["brier_score_loss"]
    assert e.value == pytest.approx(b, rel=1e-12)
    assert (e.lower, e.upper) == pytest.approx(want, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------


def one_group_regression(seed: int, bias: float, n: int) -> tuple[np.ndarray, AuditResult]:
    """Errors ``e ~ N(bias, 2²)`` on ``n`` rows of one group, and their regression audit."""
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    e = rng.normal(bias, 2.0, n)
    r = audit_predictions(y, y + e, sensitive_features={"g": ["a"] * n},
                          options=AuditOptions(task="regression"))  # fmt: skip
    return e, r


def test_mean_error_interval_is_students_t() -> None:
    e, r = one_group_regression(3, 0.4, 40)
    got = r.overall["mean_error"]
    want = sps.t.interval(0.95, 39, loc=e.mean(), scale=e.std(ddof=1) / math.sqrt(40))
    assert got.value == pytest.approx(e.mean(), rel=1e-9)
    assert (got.lower, got.upper) == pytest.approx(want, rel=1e-7)


def test_rmse_interval_is_satterthwaite_with_the_normal_theory_cap() -> None:
    # Errors with mean 0: the normal-theory ν is n (mean of n χ²₁), so ν = min(ν̂, n).
    e, r = one_group_regression(4, 0.0, 60)
    mse = float((e**2).mean())
    var = float((e**2).var(ddof=1) / 60)
    mu, s2 = e.mean(), e.var(ddof=1)
    nu = min(2 * mse**2 / var, 60 * (s2 + mu**2) ** 2 / (s2**2 + 2 * mu**2 * s2))
    t = sps.t.ppf(0.975, 59)
    alpha = 2 * sps.norm.sf(t)
    want = (
        math.sqrt(nu * mse / sps.chi2.ppf(1 - alpha / 2, nu)),
        math.sqrt(nu * mse / sps.chi2.ppf(alpha / 2, nu)),
    )
    got = r.overall["root_mean_squared_error"]
    assert got.value == pytest.approx(math.sqrt(mse), rel=1e-9)
    assert (got.lower, got.upper) == pytest.approx(want, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# Every interval in its range, containing its estimate
# ---------------------------------------------------------------------------------------------

RANGE = {
    "mean_error": (-math.inf, math.inf),
    "mean_prediction": (-math.inf, math.inf),
    "r2_score": (-math.inf, 1.0),
    "mean_absolute_error": (0.0, math.inf),
    "root_mean_squared_error": (0.0, math.inf),
}


def assert_in_range(result: AuditResult) -> None:
    estimates = [(n, e) for n, e in result.overall.items()]
    estimates += [(n, e) for a in result.attributes for g in a.groups for n, e in g.metrics.items()]
    for name, e in estimates:
        if not e.defined:
            continue
        lo, hi = RANGE.get(name, (0.0, 1.0))
        for a, b in ((e.lower, e.upper), (e.simultaneous_lower, e.simultaneous_upper)):
            if math.isnan(a):
                continue
            assert lo <= a <= e.value <= b <= hi, (name, e)
    for a in result.attributes:
        for d in a.disparities:
            e = d.estimate
            if e.defined and not math.isnan(e.lower):
                top = 1.0 if d.measure == "ratio" else math.inf
                assert 0.0 <= e.lower <= e.value <= e.upper <= top, (d.metric, d.measure, e)


@QUIET
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    sizes=st.lists(st.integers(1, 60), min_size=2, max_size=4),
    rate=st.sampled_from([0.0, 0.02, 0.3, 0.97, 1.0]),
    weighted=st.booleans(),
)
def test_every_classification_interval_is_in_range(
    seed: int, sizes: list[int], rate: float, weighted: bool
) -> None:
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    y = (rng.random(n) < rate).astype(int)
    p = (rng.random(n) < rate).astype(int)
    s = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.2, n), 0, 1)
    r = audit_predictions(
        y, p, sensitive_features={"g": g}, y_score=s,
        sample_weight=rng.lognormal(0, 0.5, n) if weighted else None,
        options=AuditOptions(min_group_size=1),
    )  # fmt: skip
    assert_in_range(r)


@QUIET
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), sizes=st.lists(st.integers(2, 40), min_size=2, max_size=3))
def test_every_regression_interval_is_in_range(seed: int, sizes: list[int]) -> None:
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    y = rng.normal(0, 1, n)
    r = audit_predictions(
        y, y + rng.exponential(1, n) - 1, sensitive_features={"g": g},
        options=AuditOptions(task="regression", min_group_size=1),
    )  # fmt: skip
    assert_in_range(r)


# ---------------------------------------------------------------------------------------------
# Disparities: derived from the simultaneous bounds, one interval per verdict
# ---------------------------------------------------------------------------------------------


def test_parity_example_of_the_issue_covers_zero() -> None:
    # Two groups of 1,000 that both select 300: the difference is 0, and its interval is
    # [max(0, max L − min U), max U − min L] with each group's exact bounds at 1 − 0.05/2.
    y, p, g = rows_of({"a": (500, 300, 200, 0), "b": (500, 300, 200, 0)})
    r = audit_predictions(y, p, sensitive_features={"g": g})
    lo, hi = cp_oracle(300, 1000, 1 - 0.05 / 2)
    d = next(
        d for d in r.attribute("g").disparities
        if d.metric == "selection_rate" and d.measure == "difference"
    )  # fmt: skip
    assert d.estimate.value == 0.0
    assert (d.estimate.lower, d.estimate.upper) == pytest.approx((0.0, hi - lo), rel=1e-9)
    ratio = next(
        d for d in r.attribute("g").disparities
        if d.metric == "selection_rate" and d.measure == "ratio"
    )  # fmt: skip
    assert (ratio.estimate.lower, ratio.estimate.upper) == pytest.approx((lo / hi, 1.0))
    # the simultaneous group bounds are the ones the disparity is built from
    for grp in r.attribute("g").groups:
        e = grp.metrics["selection_rate"]
        assert (e.simultaneous_lower, e.simultaneous_upper) == pytest.approx((lo, hi))


@QUIET
def test_three_of_a_hundred_against_none_is_not_a_zero_width_ratio() -> None:
    # 3/100 against 0/100: ratio 0. Bounds: 0 / max U up to min U / max L, at 1 − 0.05/2:
    # U(0/100) = 0.0362 and L(3/100) = 0.0042, so the upper bound is capped at 1.
    y, p, g = rows_of({"a": (97, 3, 0, 0), "b": (100, 0, 0, 0)})
    r = audit_predictions(y, p, sensitive_features={"g": g})
    ratio = next(
        d for d in r.attribute("g").disparities
        if d.metric == "selection_rate" and d.measure == "ratio"
    )  # fmt: skip
    assert ratio.estimate.value == 0.0
    assert (ratio.estimate.lower, ratio.estimate.upper) == (0.0, 1.0)


@QUIET
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    method=st.sampled_from(["between_groups", "to_overall", "reference"]),
    rule=st.sampled_from(["interval", "point"]),
)
def test_the_printed_interval_is_the_one_that_decided(seed: int, method: str, rule: str) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(g == "a", 0.3, 0.4)).astype(int)
    policy = Policy(
        (
            Threshold("demographic_parity_difference", 0.1),
            Threshold("equalized_odds_difference", 0.15),
            Threshold("demographic_parity_ratio", 0.8),
        ),
        decision_rule=rule,  # type: ignore[arg-type]
    )
    options = AuditOptions(disparity_method=method, reference_groups={"g": "a"})  # type: ignore[arg-type]
    r = audit_predictions(y, p, sensitive_features={"g": g}, policy=policy, options=options)
    frame = r.criteria_frame()
    for c, row in zip(r.criteria, frame.itertuples(), strict=True):
        e = c.estimate
        assert (row.lower, row.upper) == (e.lower, e.upper)
        assert (e.simultaneous_lower, e.simultaneous_upper) == (e.lower, e.upper)
        for kind in ("simultaneous", "percentile"):
            assert judge(e, c.measure, c.threshold, rule, kind) == c.verdict  # type: ignore[arg-type]
        if rule == "interval" and not math.isnan(e.lower):
            assert f"interval {e.lower:.3f} to {e.upper:.3f}" in c.explanation


# ---------------------------------------------------------------------------------------------
# Exclusions, empty cells, and what would decide
# ---------------------------------------------------------------------------------------------


def test_equalized_odds_lists_groups_left_out_of_either_part() -> None:
    # C has 200 rows but only 20 actual negatives: its FPR rests on 20 < 30 and it leaves the
    # FPR part, while it stays in the TPR part.
    tables = {
        "A": (100, 20, 30, 50),  # TPR 50/80,  FPR 20/120
        "B": (90, 30, 40, 40),  # TPR 40/80,  FPR 30/120
        "C": (2, 18, 60, 120),  # TPR 120/180, FPR 18/20
    }
    y, p, g = rows_of(tables)
    policy = Policy((Threshold("equalized_odds_difference", 0.1),))
    r = audit_predictions(y, p, sensitive_features={"g": g}, policy=policy)
    (c,) = r.criteria
    # TPR gap over A, B, C: 2/3 − 1/2 = 1/6; FPR gap over A, B: 1/4 − 1/6 = 1/12.
    assert c.estimate.value == pytest.approx(float(F(2, 3) - F(1, 2)))
    reason = "false_positive_rate rests on 20 actual negatives, fewer than min_group_size=30"
    assert c.excluded_groups == {"C": reason}
    assert f"Not compared: C ({reason})." in c.explanation


@QUIET
def test_empty_intersection_cells_are_listed() -> None:
    sex = ["F"] * 40 + ["M"] * 40 + ["M"] * 40
    race = ["A"] * 40 + ["A"] * 40 + ["B"] * 40  # no F × B row
    r = audit_predictions([0, 1] * 60, [0, 1, 1, 0] * 30,
                          sensitive_features={"sex": sex, "race": race})  # fmt: skip
    groups = {g.group: g for g in r.attribute("sex × race").groups}
    assert list(groups) == ["F × A", "F × B", "M × A", "M × B"]
    empty = groups["F × B"]
    assert (empty.count, empty.weight, empty.share, empty.sufficient) == (0, 0.0, 0.0, False)
    for e in empty.metrics.values():
        assert math.isnan(e.value)
        assert e.undefined_reason == "no rows"
    for d in r.attribute("sex × race").disparities:
        assert d.excluded_groups["F × B"] == "no rows"
    assert any("have no rows" in note for note in r.notes)


def needed_factor_by_bisection(x: tuple[int, int], n: int, threshold: float) -> float:
    """The least f with the difference's upper bound ≤ threshold at counts × f (scipy)."""

    def upper(f: float) -> float:
        level = 1 - 0.05 / 2
        lo = cp_oracle(min(x) * f, n * f, level)[0]
        hi = cp_oracle(max(x) * f, n * f, level)[1]
        return hi - lo

    a, b = 1.0, 1e6
    for _ in range(200):
        mid = math.sqrt(a * b)
        a, b = (mid, b) if upper(mid) > threshold else (a, mid)
    return b


def test_inconclusive_says_how_much_data_would_decide() -> None:
    # 50/100 against 56/100 selected: a gap of 0.06 against a limit of 0.1, undecided at 100
    # rows per group; with f times the rows and the same rates the bounds shrink.
    y, p, g = rows_of({"a": (25, 25, 25, 25), "b": (22, 28, 22, 28)})
    policy = Policy((Threshold("demographic_parity_difference", 0.1),))
    r = audit_predictions(y, p, sensitive_features={"g": g}, policy=policy)
    (c,) = r.criteria
    assert c.verdict == "inconclusive"
    want = needed_factor_by_bisection((50, 56), 100, 0.1)
    assert c.would_decide == "pass"
    assert c.data_factor == pytest.approx(want, rel=0.02)
    assert list(c.rows_to_decide) == ["a", "b"]
    assert c.rows_to_decide["a"] == pytest.approx(100 * want, rel=0.02)
    assert "would decide it (pass): about" in c.explanation
    frame = r.criteria_frame()
    assert frame.loc[0, "would_decide"] == "pass"


def test_a_failing_direction_and_an_estimate_at_the_limit() -> None:
    # 40/100 against 56/100: 0.16 > 0.1, inconclusive now, would fail with more data.
    y, p, g = rows_of({"a": (30, 20, 30, 20), "b": (22, 28, 22, 28)})
    policy = Policy((Threshold("demographic_parity_difference", 0.1),))
    (c,) = audit_predictions(y, p, sensitive_features={"g": g}, policy=policy).criteria
    assert (c.verdict, c.would_decide) == ("inconclusive", "fail")
    # exactly at the limit: no amount of data decides it
    y, p, g = rows_of({"a": (25, 25, 25, 25), "b": (20, 30, 20, 30)})
    (c,) = audit_predictions(y, p, sensitive_features={"g": g}, policy=policy).criteria
    assert c.estimate.value == pytest.approx(0.1)
    assert c.verdict == "inconclusive"
    assert c.would_decide is None
    assert math.isnan(c.data_factor)
    assert dict(c.rows_to_decide) == {}


# ---------------------------------------------------------------------------------------------
# Options: no intervals, deprecated bootstrap settings, older results
# ---------------------------------------------------------------------------------------------


def test_n_boot_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match=r"n_boot=\.\.\.\) is deprecated"):
        off = AuditOptions(n_boot=0)  # type: ignore[call-arg]
    assert off.intervals is False
    with pytest.warns(DeprecationWarning, match="does nothing"):
        on = AuditOptions(n_boot=500)  # type: ignore[call-arg]
    assert on.intervals is True
    assert "n_boot" not in AuditResult.__dataclass_fields__


def test_a_result_of_schema_1_0_is_read() -> None:
    y, p, g = rows_of({"a": (25, 25, 25, 25), "b": (22, 28, 22, 28)})
    r = audit_predictions(y, p, sensitive_features={"g": g})
    data = r.to_dict()
    data["schema_version"] = "1.0"
    data["options"] = {k: v for k, v in data["options"].items() if k != "intervals"}
    data["options"]["n_boot"] = 0
    data.pop("interval_methods")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old = AuditResult.from_dict(data)
    assert old.options.intervals is False
    assert old.schema_version == "1.0"
    assert dict(old.interval_methods) == {}


def test_without_intervals_points_are_unchanged() -> None:
    y, p, g = rows_of({"a": (25, 25, 25, 25), "b": (22, 28, 22, 28)})
    with_iv = audit_predictions(y, p, sensitive_features={"g": g})
    without = audit_predictions(y, p, sensitive_features={"g": g},
                                options=AuditOptions(intervals=False))  # fmt: skip
    for a, b in zip(with_iv.groups_frame().itertuples(), without.groups_frame().itertuples(),
                    strict=True):  # fmt: skip
        assert a.value == b.value or (math.isnan(a.value) and math.isnan(b.value))
        assert math.isnan(b.lower)
    assert dict(without.interval_methods) == {}
    assert "Clopper–Pearson" in with_iv.interval_methods["selection_rate"]


@QUIET
@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_constant_weights_change_no_interval(task: str) -> None:
    """Every row weighing 2.5 is the unweighted audit: effective sizes are the rows."""
    rng = np.random.default_rng(8)
    n = 300
    g = rng.choice(["a", "b", "c"], n)
    if task == "regression":
        y = rng.normal(0, 1, n)
        p, s = y + rng.normal(0.2, 1, n), None
    else:
        y = rng.integers(0, 2, n)
        s = np.round(np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n), 0, 1), 3)
        p = (s > 0.5).astype(int)
    options = AuditOptions(task=task)  # type: ignore[arg-type]
    plain = audit_predictions(y, p, sensitive_features={"g": g}, y_score=s, options=options)
    weighted = audit_predictions(
        y, p, sensitive_features={"g": g}, y_score=s, sample_weight=np.full(n, 2.5),
        options=options,
    )  # fmt: skip
    a, b = plain.groups_frame(), weighted.groups_frame()
    for column in ("value", "lower", "upper", "simultaneous_lower", "simultaneous_upper"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-7, atol=1e-12, err_msg=column)
    np.testing.assert_allclose(
        plain.disparities_frame()[["lower", "upper"]],
        weighted.disparities_frame()[["lower", "upper"]],
        rtol=1e-7, atol=1e-12,
    )  # fmt: skip
