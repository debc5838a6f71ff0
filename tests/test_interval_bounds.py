"""Simultaneous (family-wise) bounds, and exact bounds for rates observed at 0 or 1."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from audit import AuditOptions, AuditResult, audit_predictions
from audit._bootstrap import percentile_interval, resample_bins, simultaneous_interval
from audit._metrics import confusion_metrics

from _tables import Z_TOL, audit_cells

# ---------------------------------------------------------------------------------------------
# Simultaneous bounds
# ---------------------------------------------------------------------------------------------


def sidak(k: int) -> float:
    """Šidák critical value for K independent standard normals at 95 %."""
    return float(sps.norm.ppf((1 + 0.95 ** (1 / k)) / 2))


def sidak_tolerance(k: int, n: int) -> float:
    """Z_TOL Monte-Carlo standard errors of the max-type critical value from n replicates.

    For K independent N(0, 1) columns, max|Z| has CDF G(x) = (2Φ(x) - 1)^K, so its 95 %
    quantile is the Šidák value q = Φ⁻¹((1 + 0.95^(1/K)) / 2). Error of the estimate from n
    replicates: (i) the sample quantile, sd sqrt(0.95·0.05/n) / g(q), with
    g(q) = K (2Φ(q) - 1)^(K-1) · 2φ(q) the density of max|Z| at q; (ii) studentising by the
    estimated sd (relative sd 1/sqrt(2n)) scales q: sd ≈ q / sqrt(2n). The two are added
    (conservative whatever their correlation).
    """
    q = sidak(k)
    density = k * (0.95 ** ((k - 1) / k)) * 2 * sps.norm.pdf(q)
    return Z_TOL * (math.sqrt(0.95 * 0.05 / n) / density + q / math.sqrt(2 * n))


class TestSimultaneousInterval:
    @pytest.mark.parametrize("k", [1, 4, 10])
    def test_critical_value_is_sidak_for_independent_normals(self, k: int) -> None:
        n = 20_000
        reps = np.random.default_rng(100 + k).normal(size=(n, k))
        lo, hi, q = simultaneous_interval(reps, np.zeros(k), 0.95)
        assert abs(q - sidak(k)) <= sidak_tolerance(k, n)  # ≈ 0.06 to 0.11
        se = reps.std(axis=0, ddof=1)
        np.testing.assert_allclose(lo, -q * se, rtol=1e-12)
        np.testing.assert_allclose(hi, q * se, rtol=1e-12)

    def test_sidak_check_can_fail(self) -> None:
        # The same check tells K = 4 from K = 10 (Šidák 2.49 vs 2.80): a critical value
        # computed for the wrong number of groups would be caught.
        n = 20_000
        _, _, q4 = simultaneous_interval(
            np.random.default_rng(104).normal(size=(n, 4)), np.zeros(4), 0.95
        )
        assert abs(q4 - sidak(4)) <= sidak_tolerance(4, n)
        assert abs(q4 - sidak(10)) > sidak_tolerance(10, n)
        assert abs(q4 - 1.959964) > sidak_tolerance(1, n)  # nor a per-group (unadjusted) one

    def test_simultaneous_wider_than_per_group(self) -> None:
        reps = np.random.default_rng(5).normal(loc=0.3, scale=0.05, size=(4000, 6))
        est = np.full(6, 0.3)
        s_lo, s_hi, q = simultaneous_interval(reps, est, 0.95)
        lo, hi, _ = percentile_interval(reps, 0.95)
        assert q > 1.96
        assert np.all(s_hi - s_lo > hi - lo)
        assert np.all(s_lo < lo)
        assert np.all(s_hi > hi)

    def test_simultaneous_wider_than_per_group_in_an_audit(self, cells_frame: pd.DataFrame) -> None:
        # In "g × h" the four cells of a and b have >= 85 rows (eligible); c's are too small.
        r = audit_cells(cells_frame, n_boot=1000, random_state=0)
        checked = 0
        for g in r.attribute("g × h").groups:
            for name in ("selection_rate", "accuracy", "false_positive_rate"):
                e = g.metrics[name]
                if g.count >= 30:
                    assert e.simultaneous_upper - e.simultaneous_lower > e.upper - e.lower
                    assert e.simultaneous_lower <= e.value <= e.simultaneous_upper
                    checked += 1
                else:
                    assert math.isnan(e.simultaneous_lower)
        assert checked == 12

    def test_joint_coverage_simultaneous_vs_per_group(self) -> None:
        # 10 groups of 60 rows, true selection probabilities 0.2 ... 0.65; 200 datasets, each
        # bootstrapped the way the engine does (multinomial cells, 1000 replicates). Joint
        # coverage = all 10 rates inside their intervals at once.
        # Simultaneous intervals: nominal 0.95; 200 datasets give sd sqrt(.95·.05/200) =
        # 0.0154; we allow 3.5 sd below plus 0.03 for the normal approximation at n = 60:
        # >= 0.87. Per-group 95 % intervals: joint coverage ≈ 0.95^10 = 0.60 (sd 0.035):
        # must be <= 0.60 + 3.5·0.035 ≈ 0.72, and well below the simultaneous one.
        k, n_per, n_sims, n_boot = 10, 60, 200, 1000
        truth = np.linspace(0.2, 0.65, k)
        rng = np.random.default_rng(777)
        joint_sim = joint_pct = 0
        for _ in range(n_sims):
            selected = rng.binomial(n_per, truth)
            # one cell per group; bins (tn, fp, fn, tp) with y_true = 0 for simplicity
            count = np.stack([n_per - selected, selected, 0 * selected, 0 * selected], axis=1)
            w, _ = resample_bins(count, count.astype(float), n_boot, rng)
            reps = confusion_metrics(w)["selection_rate"]
            value = selected / n_per
            s_lo, s_hi, _ = simultaneous_interval(reps, value, 0.95)
            lo, hi, _ = percentile_interval(reps, 0.95)
            joint_sim += bool(np.all((s_lo <= truth) & (truth <= s_hi)))
            joint_pct += bool(np.all((lo <= truth) & (truth <= hi)))
        assert joint_sim / n_sims >= 0.87
        assert joint_pct / n_sims <= 0.72
        assert joint_sim - joint_pct >= 0.15 * n_sims


# ---------------------------------------------------------------------------------------------
# Rates observed at exactly 0 or 1: exact binomial bounds, not a collapsed bootstrap
# ---------------------------------------------------------------------------------------------


def _boundary_audit(**options: Any) -> AuditResult:
    #   group A: 30 actual positives, all found (TPR 30/30); 20 negatives, none flagged (FPR 0/20)
    #   group B: 30 actual positives, 24 found (TPR 0.8);   20 negatives, 4 flagged (FPR 0.2)
    y = [1] * 30 + [0] * 20 + [1] * 30 + [0] * 20
    p = [1] * 30 + [0] * 20 + [1] * 24 + [0] * 6 + [1] * 4 + [0] * 16
    g = ["A"] * 50 + ["B"] * 50
    return audit_predictions(
        y, p, sensitive_features={"g": g}, options=AuditOptions(**{"n_boot": 400, **options})
    )


def test_rate_of_1_gets_the_exact_binomial_lower_bound() -> None:
    a = _boundary_audit(min_group_size=20).attribute("g").groups[0]  # 20 negatives each
    tpr, fpr = a.metrics["true_positive_rate"], a.metrics["false_positive_rate"]
    # Clopper–Pearson for n of n: lower (α/2)^(1/n); for 0 of n: upper 1 − (α/2)^(1/n).
    assert tpr.value == 1.0
    assert tpr.lower == pytest.approx(0.025 ** (1 / 30), rel=1e-12)  # 0.8843
    assert tpr.upper == 1.0
    assert fpr.value == 0.0
    assert fpr.lower == 0.0
    assert fpr.upper == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-12)  # 0.1684
    # Simultaneous bounds over the 2 groups: each boundary rate gets the Bonferroni share
    # α/2 of the family's error, i.e. a 97.5 % exact interval.
    assert tpr.simultaneous_lower == pytest.approx(0.0125 ** (1 / 30), rel=1e-12)
    assert fpr.simultaneous_upper == pytest.approx(1 - 0.0125 ** (1 / 20), rel=1e-12)


def test_boundary_rates_widen_the_disparity_bounds_behind_a_verdict() -> None:
    # Equal opportunity: TPR 1.0 (A) vs 0.8 (B) -> difference 0.2. With A's interval stuck at
    # [1, 1], the lower end of the difference bounds would be 1 − U_B ≈ 0.04 > 0: "A surely
    # finds more". A's exact simultaneous lower bound for 30/30 is 0.0125^(1/30) ≈ 0.864,
    # below U_B, so the lower end is 0: the data do not exclude equal TPRs.
    from audit import Policy, Threshold

    r = audit_predictions(
        [1] * 30 + [0] * 20 + [1] * 30 + [0] * 20,
        [1] * 30 + [0] * 20 + [1] * 24 + [0] * 6 + [1] * 4 + [0] * 16,
        sensitive_features={"g": ["A"] * 50 + ["B"] * 50},
        policy=Policy((Threshold("equal_opportunity_difference", 0.25),)),
        options=AuditOptions(n_boot=400),
    )
    c = r.criteria[0]
    b = r.attribute("g").groups[1].metrics["true_positive_rate"]
    a_lower = 0.0125 ** (1 / 30)  # A's simultaneous lower bound among 2 estimates
    assert c.estimate.value == pytest.approx(0.2, abs=1e-12)
    # max(0, L_A − U_B) and U_A − L_B with U_A = 1 (every bound comes from one family)
    assert c.estimate.simultaneous_lower <= max(0.0, a_lower - b.upper) + 1e-12
    assert c.estimate.simultaneous_upper >= 1.0 - b.simultaneous_lower - 1e-12
    assert c.estimate.simultaneous_lower == 0.0
    assert c.verdict == "inconclusive"  # 0.2 < 0.25, but the upper end 1 − L_B exceeds 0.25


def test_no_bootstrap_means_no_interval_even_at_the_boundary() -> None:
    a = _boundary_audit(n_boot=0).attribute("g").groups[0]
    assert math.isnan(a.metrics["true_positive_rate"].lower)
    assert math.isnan(a.metrics["true_positive_rate"].simultaneous_lower)
