"""The bootstrap: multinomial cell resampling against a brute-force row bootstrap, the
intervals an audit reports, their coverage, simultaneous bounds, weights and edge cases.

Every random number comes from a generator with a fixed seed, so each test is deterministic;
tolerances are derived from the Monte-Carlo error in the comment next to them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from audit import AuditOptions, AuditResult, CellStatistics, audit_predictions
from audit._bootstrap import percentile_interval, resample_bins
from audit._metrics import confusion_metrics
from audit._statistics import count_statistics
from audit._validation import prepare_data

from _tables import N_ROWS, Z_TOL, audit_cells, frame_from_cells

# ---------------------------------------------------------------------------------------------
# A small table built from hand-chosen confusion counts (tn, fp, fn, tp) per cell g × h.
#
#   cell      tn  fp  fn  tp   rows  selected (fp+tp)
#   a × x     60   5  30   5    100   10   (selection rate 0.10)
#   a × y      4  30   6  60    100   90   (selection rate 0.90)
#   b × x     40  20  15  25    100   45
#   b × y     35  10  20  20     85   30
#   c × x      6   2   0   1      9    3
#   c × y      4   1   1   0      6    1
#                                 400
# Group a = 200 rows, selection 100/200 = 0.5, but made of two very different cells (the
# negative control below needs that). Group c = 15 rows with only 2 actual positives (fn + tp
# = 0 + 1 + 1 + 0) and 4 predicted positives, so its true positive rate is undefined in a
# replicate with no positive of c: probability (1 - 2/400)^400 under a row bootstrap.
# ---------------------------------------------------------------------------------------------
GROUPS = ("a", "b", "c")
METRICS = (
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
    "balanced_accuracy",
)
B = 4000  # replicates per resampler


def rates_by_hand(c: np.ndarray) -> dict[str, np.ndarray]:
    """The compared metrics from counts (..., 4) = (tn, fp, fn, tp), NaN when a denominator is 0.

    Written out independently of audit._metrics, straight from the definitions.
    """
    tn, fp, fn, tp = (c[..., k].astype(float) for k in range(4))

    def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.full(a.shape, np.nan)
        np.divide(a, b, out=out, where=b > 0)
        return out

    n = tn + fp + fn + tp
    tpr = div(tp, tp + fn)
    tnr = div(tn, tn + fp)
    return {
        "selection_rate": div(fp + tp, n),
        "true_positive_rate": tpr,
        "false_positive_rate": div(fp, fp + tn),
        "precision": div(tp, tp + fp),
        "accuracy": div(tp + tn, n),
        "balanced_accuracy": (tpr + tnr) / 2,
    }


def row_bootstrap(df: pd.DataFrame, n_boot: int, seed: int) -> dict[tuple[str, str], np.ndarray]:
    """Brute force: resample row indices with replacement, recount per group, recompute."""
    rng = np.random.default_rng(seed)
    n = len(df)
    gcode = df["g"].map({g: i for i, g in enumerate(GROUPS)}).to_numpy()
    row_bin = gcode * 4 + 2 * df["y"].to_numpy() + df["p"].to_numpy()
    idx = rng.integers(0, n, size=(n_boot, n))
    key = np.arange(n_boot)[:, None] * (len(GROUPS) * 4) + row_bin[idx]
    counts = np.bincount(key.ravel(), minlength=n_boot * len(GROUPS) * 4).reshape(
        n_boot, len(GROUPS), 4
    )
    out: dict[tuple[str, str], np.ndarray] = {}
    per_group = rates_by_hand(counts)
    overall = rates_by_hand(counts.sum(axis=1))
    for m in METRICS:
        for k, g in enumerate(GROUPS):
            out[(m, g)] = per_group[m][:, k]
        out[(m, "overall")] = overall[m]
    return out


def cell_statistics(df: pd.DataFrame) -> CellStatistics:
    return count_statistics(prepare_data(df, y_true="y", y_pred="p", sensitive_features=["g", "h"]))


def replicates_by_group(
    stats: CellStatistics, weights: np.ndarray
) -> dict[tuple[str, str], np.ndarray]:
    """Aggregate replicate cell bins (n_boot, n_cells, 4) to groups of g, then the metrics."""
    g_codes = stats.cells[:, stats.features.index("g")]
    labels = stats.categories[stats.features.index("g")]
    out: dict[tuple[str, str], np.ndarray] = {}
    overall = confusion_metrics(weights.sum(axis=1))
    for k, label in enumerate(labels):
        metrics = confusion_metrics(weights[:, g_codes == k, :].sum(axis=1))
        for m in METRICS:
            out[(m, label)] = metrics[m]
    for m in METRICS:
        out[(m, "overall")] = overall[m]
    return out


def fairtrail_bootstrap(
    df: pd.DataFrame, n_boot: int, seed: int
) -> dict[tuple[str, str], np.ndarray]:
    stats = cell_statistics(df)
    w, _ = resample_bins(
        stats.confusion_count, stats.confusion_weight, n_boot, np.random.default_rng(seed)
    )
    return replicates_by_group(stats, w)


QUANTILES = (0.025, 0.5, 0.975)


def distribution_mismatches(
    a: dict[tuple[str, str], np.ndarray], b: dict[tuple[str, str], np.ndarray]
) -> list[tuple[str, str, str]]:
    """(metric, group, kind) for every check where two replicate samples disagree.

    kinds:
      "undefined"  the fractions of undefined (NaN) replicates differ by more than Z_TOL
                   standard errors of a difference of two proportions,
                   sqrt(f(1-f)(1/n_a + 1/n_b)) with f the pooled fraction;
      "ks"         two-sample Kolmogorov-Smirnov p-value of the defined replicates < 0.001;
      "q<p>"       the p-quantile of one sample is not where it should be in the other.

    Quantile error, derived on the probability scale (no density estimate needed, and valid
    for the discrete distributions of count ratios): let x = the p-quantile of sample A
    (inverted-CDF, so x is a data value). Under equal distributions F, F(x) is the k-th
    uniform order statistic of n_a, k = ceil(p n_a): mean ≈ p, variance ≈ p(1-p)/n_a (Beta
    distribution). The empirical CDF of sample B at a fixed point has variance ≈ p(1-p)/n_b,
    independently. So F_B(x) - p has standard error sqrt(p(1-p)(1/n_a + 1/n_b)) (≈ 0.0035
    at p = 0.025 and 0.011 at p = 0.5 for n = 4000). With ties F_B jumps at x, so we require
    F_B(x-) - tol <= p <= F_B(x) + tol, tol = Z_TOL standard errors; and the same with A and
    B swapped.
    """
    bad: list[tuple[str, str, str]] = []
    for key in sorted(a):
        xa, xb = a[key], b[key]
        na_nan, nb_nan = np.isnan(xa).sum(), np.isnan(xb).sum()
        pooled = (na_nan + nb_nan) / (xa.size + xb.size)
        se = math.sqrt(pooled * (1 - pooled) * (1 / xa.size + 1 / xb.size))
        if abs(na_nan / xa.size - nb_nan / xb.size) > Z_TOL * se:
            bad.append((*key, "undefined"))
        da, db = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
        if sps.ks_2samp(da, db).pvalue < 0.001:
            bad.append((*key, "ks"))
        for p in QUANTILES:
            tol = Z_TOL * math.sqrt(p * (1 - p) * (1 / da.size + 1 / db.size))
            for s, other in ((da, db), (db, da)):
                x = np.quantile(s, p, method="inverted_cdf")
                below, at_or_below = np.mean(other < x), np.mean(other <= x)
                if not (below - tol <= p <= at_or_below + tol):
                    bad.append((*key, f"q{p}"))
                    break
    return bad


@pytest.fixture(scope="module")
def brute_force(cells_frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    return row_bootstrap(cells_frame, B, seed=2024)


class TestEquivalenceWithRowBootstrap:
    def test_point_values_of_the_two_paths_agree(self, cells_frame: pd.DataFrame) -> None:
        # Sanity check of the two pipelines on the data itself (no resampling): group a has
        # selection (5 + 5 + 30 + 60) / 200 = 0.5, c has TPR 1 / 2 and precision 1 / 4.
        stats = cell_statistics(cells_frame)
        ours = replicates_by_group(stats, stats.confusion_weight[None].astype(float))
        assert ours[("selection_rate", "a")][0] == 0.5
        assert ours[("true_positive_rate", "c")][0] == 0.5
        assert ours[("precision", "c")][0] == 0.25
        assert ours[("selection_rate", "overall")][0] == (10 + 90 + 45 + 30 + 3 + 1) / 400

    def test_multinomial_cells_match_row_bootstrap(
        self, cells_frame: pd.DataFrame, brute_force: dict[tuple[str, str], np.ndarray]
    ) -> None:
        ours = fairtrail_bootstrap(cells_frame, B, seed=99)
        assert distribution_mismatches(ours, brute_force) == []

    def test_fraction_of_undefined_replicates_matches_the_analytic_value(
        self, cells_frame: pd.DataFrame, brute_force: dict[tuple[str, str], np.ndarray]
    ) -> None:
        # A replicate has no actual positive of group c when none of the 400 draws hits one of
        # its 2 positive rows: (1 - 2/400)^400 ≈ 0.1347; no predicted positive of c (4 rows):
        # (1 - 4/400)^400 ≈ 0.0180. The count in B replicates is binomial: tolerance Z_TOL
        # standard errors sqrt(B p (1 - p)).
        ours = fairtrail_bootstrap(cells_frame, B, seed=99)
        for metric, k in (("true_positive_rate", 2), ("precision", 4)):
            p = (1 - k / N_ROWS) ** N_ROWS
            tol = Z_TOL * math.sqrt(B * p * (1 - p))
            for sample in (ours, brute_force):
                assert abs(np.isnan(sample[(metric, "c")]).sum() - B * p) <= tol
        # Group c's undefined TPR replicates must be present at all (the check is not vacuous).
        assert np.isnan(ours[("true_positive_rate", "c")]).sum() > 0.1 * B

    def test_detects_a_stratified_resampler(
        self, cells_frame: pd.DataFrame, brute_force: dict[tuple[str, str], np.ndarray]
    ) -> None:
        # Negative control: keeping each cell's size fixed (resampling within cells) removes
        # the between-cell variance. For group a's selection rate: row bootstrap variance
        # 0.5·0.5/200 = 0.00125 (sd 0.035); stratified (100·0.1·0.9 + 100·0.9·0.1)/200² =
        # 0.00045 (sd 0.021). The comparison must flag it.
        stats = cell_statistics(cells_frame)
        rng = np.random.default_rng(99)
        count = stats.confusion_count
        w = np.stack(
            [rng.multinomial(int(c.sum()), c / c.sum(), size=B) for c in count], axis=1
        ).astype(float)
        bad = distribution_mismatches(replicates_by_group(stats, w), brute_force)
        assert ("selection_rate", "a", "ks") in bad
        assert ("selection_rate", "a", "q0.025") in bad

    def test_detects_wrong_probabilities(
        self, cells_frame: pd.DataFrame, brute_force: dict[tuple[str, str], np.ndarray]
    ) -> None:
        # Negative control: add-one smoothed bin probabilities (count + 1) / (N + 24) give
        # group c's positive bins a mass of (2 + 2) / 424, so TPR(c) is undefined in about
        # (1 - 4/424)^400 ≈ 2.3 % of replicates instead of 13.5 %.
        stats = cell_statistics(cells_frame)
        flat = stats.confusion_count.reshape(-1).astype(float) + 1
        rng = np.random.default_rng(99)
        draws = rng.multinomial(N_ROWS, flat / flat.sum(), size=B).astype(float)
        w = draws.reshape(B, *stats.confusion_count.shape)
        bad = distribution_mismatches(replicates_by_group(stats, w), brute_force)
        assert ("true_positive_rate", "c", "undefined") in bad


# ---------------------------------------------------------------------------------------------
# Intervals reported by audit_predictions
# ---------------------------------------------------------------------------------------------


class TestReportedIntervals:
    def test_intervals_are_percentiles_of_same_seed_replicates(
        self, cells_frame: pd.DataFrame
    ) -> None:
        n_boot, seed = 500, 7
        r = audit_cells(cells_frame, n_boot=n_boot, random_state=seed)
        reps = fairtrail_bootstrap(cells_frame, n_boot, seed)
        groups = {g.group: g for g in r.attribute("g").groups}
        for m in METRICS:
            for label in GROUPS:
                x = reps[(m, label)]
                est = groups[label].metrics[m]
                defined = x[~np.isnan(x)]
                # percentile interval: numpy's default (linear) quantiles of defined replicates
                assert est.lower == pytest.approx(np.quantile(defined, 0.025), abs=1e-12)
                assert est.upper == pytest.approx(np.quantile(defined, 0.975), abs=1e-12)
                assert est.n_undefined_replicates == int(np.isnan(x).sum())
            x = reps[(m, "overall")]
            defined = x[~np.isnan(x)]
            assert r.overall[m].lower == pytest.approx(np.quantile(defined, 0.025), abs=1e-12)
            assert r.overall[m].upper == pytest.approx(np.quantile(defined, 0.975), abs=1e-12)
        # The TPR of c really has undefined replicates here (about 13.5 % of 500).
        assert groups["c"].metrics["true_positive_rate"].n_undefined_replicates > 30

    def test_simultaneous_bounds_are_max_t_bounds_of_same_seed_replicates(
        self, cells_frame: pd.DataFrame
    ) -> None:
        # Groups a (200 rows) and b (185) are eligible (>= 30 rows), c (15) is not. The
        # simultaneous bounds are value ± q·se, se the replicates' sd, q the 95 % quantile of
        # max over eligible groups of |replicate - value| / se.
        n_boot, seed = 500, 3
        r = audit_cells(cells_frame, n_boot=n_boot, random_state=seed)
        reps = fairtrail_bootstrap(cells_frame, n_boot, seed)
        groups = {g.group: g for g in r.attribute("g").groups}
        value = np.array([0.5, 75 / 185])  # selection rates of a, b by hand
        x = np.stack([reps[("selection_rate", "a")], reps[("selection_rate", "b")]], axis=1)
        se = x.std(axis=0, ddof=1)
        q = np.quantile(np.max(np.abs(x - value) / se, axis=1), 0.95)
        for k, label in enumerate(("a", "b")):
            est = groups[label].metrics["selection_rate"]
            assert est.value == pytest.approx(value[k], abs=1e-15)
            assert est.simultaneous_lower == pytest.approx(value[k] - q * se[k], abs=1e-12)
            assert est.simultaneous_upper == pytest.approx(value[k] + q * se[k], abs=1e-12)
        assert math.isnan(groups["c"].metrics["selection_rate"].simultaneous_lower)

    def test_same_seed_gives_identical_intervals(self, cells_frame: pd.DataFrame) -> None:
        def intervals(result: AuditResult) -> list[tuple[object, ...]]:
            out = []
            for a in result.attributes:
                for g in a.groups:
                    for name, e in sorted(g.metrics.items()):
                        out.append(
                            (
                                a.name,
                                g.group,
                                name,
                                e.lower,
                                e.upper,
                                e.simultaneous_lower,
                                e.simultaneous_upper,
                            )
                        )
                for d in a.disparities:
                    out.append((a.name, d.metric, d.measure, d.estimate.lower, d.estimate.upper))
            return out

        first = intervals(audit_cells(cells_frame, n_boot=300, random_state=11))
        second = intervals(audit_cells(cells_frame, n_boot=300, random_state=11))
        # NaN != NaN, so compare through repr (bit-identical floats print identically).
        assert repr(first) == repr(second)
        other = intervals(audit_cells(cells_frame, n_boot=300, random_state=12))
        assert repr(first) != repr(other)
        changed = [
            (x, y)
            for x, y in zip(first, other, strict=True)
            if x[:3] == ("g", "a", "selection_rate")
        ]
        assert changed
        assert changed[0][0][3:5] != changed[0][1][3:5]

    @pytest.mark.slow
    def test_percentile_interval_coverage(self) -> None:
        # 200 datasets of a group "a" (120 rows, true selection probability 0.3) and a group
        # "b" (80 rows, 0.6). If the 95 % interval had exact coverage, the number of datasets
        # whose interval covers 0.3 would be Binomial(200, 0.95): mean 190, sd 3.08. We allow
        # 3.5 sd below (179), less a further 2 % (4 datasets) for the known slight
        # undercoverage of percentile intervals at this size: >= 175 of 200. Above, more than
        # 198 would be too wide intervals (P(>= 199) = 4e-4 under 0.95).
        rng = np.random.default_rng(20240601)
        group = np.repeat(["a", "b"], [120, 80])
        prob = np.where(group == "a", 0.3, 0.6)
        covered = 0
        for i in range(200):
            y_pred = (rng.random(200) < prob).astype(int)
            y_true = rng.integers(0, 2, 200)
            r = audit_predictions(
                y_true,
                y_pred,
                sensitive_features={"g": group},
                options=AuditOptions(n_boot=500, random_state=i),
            )
            est = r.attribute("g").groups[0].metrics["selection_rate"]
            assert r.attribute("g").groups[0].group == "a"
            covered += est.lower <= 0.3 <= est.upper
        assert 175 <= covered <= 198


# ---------------------------------------------------------------------------------------------
# Weights, n_boot edge cases, undefined replicates
# ---------------------------------------------------------------------------------------------


def test_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(3)
    n = 160
    sex = np.array(["F", "M"] * (n // 2))
    race = rng.choice(["A", "B"], n)
    y_true = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < np.where(sex == "M", 0.6, 0.35)).astype(int)
    score = np.round(rng.random(n), 1)
    weight = rng.integers(1, 4, n)
    # min_group_size counts rows, not weight, so a group can be eligible for disparities with
    # its rows repeated but not with weights; min_group_size=1 makes both eligible everywhere.
    opts = AuditOptions(n_boot=50, random_state=0, min_group_size=1)
    weighted = audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"sex": sex, "race": race},
        y_score=score,
        sample_weight=weight.astype(float),
        options=opts,
    )
    rep = np.repeat(np.arange(n), weight)
    repeated = audit_predictions(
        y_true[rep],
        y_pred[rep],
        sensitive_features={"sex": sex[rep], "race": race[rep]},
        y_score=score[rep],
        options=opts,
    )
    assert weighted.data.total_weight == repeated.data.n_rows == weight.sum()
    assert set(weighted.overall) == set(repeated.overall)
    assert "roc_auc" in weighted.overall
    for name, e in weighted.overall.items():
        assert e.value == pytest.approx(repeated.overall[name].value, rel=1e-12, abs=1e-12)
    for a_w, a_r in zip(weighted.attributes, repeated.attributes, strict=True):
        assert a_w.name == a_r.name
        for g_w, g_r in zip(a_w.groups, a_r.groups, strict=True):
            assert g_w.group == g_r.group
            assert g_w.weight == g_r.count
            assert g_w.share == pytest.approx(g_r.share, rel=1e-12)
            for name, e in g_w.metrics.items():
                assert e.value == pytest.approx(g_r.metrics[name].value, rel=1e-12, abs=1e-12)
        for d_w, d_r in zip(a_w.disparities, a_r.disparities, strict=True):
            assert (d_w.metric, d_w.measure) == (d_r.metric, d_r.measure)
            assert d_w.estimate.value == pytest.approx(d_r.estimate.value, rel=1e-12, abs=1e-12)
        for l_w, l_r in zip(a_w.ll144.rows, a_r.ll144.rows, strict=True):
            assert l_w.rate == pytest.approx(l_r.rate, rel=1e-12)
            assert l_w.impact_ratio == pytest.approx(l_r.impact_ratio, rel=1e-12)
    # Peer check of one weighted value by hand: F's weighted selection rate.
    f = sex == "F"
    by_hand = (weight * y_pred)[f].sum() / weight[f].sum()
    got = weighted.attribute("sex").groups[0].metrics["selection_rate"].value
    assert got == pytest.approx(by_hand, rel=1e-12)


class TestNumberOfReplicates:
    def test_n_boot_zero_gives_values_without_intervals(self, cells_frame: pd.DataFrame) -> None:
        r0 = audit_cells(cells_frame, n_boot=0)
        r1 = audit_cells(cells_frame, n_boot=100)
        for a0, a1 in zip(r0.attributes, r1.attributes, strict=True):
            for g0, g1 in zip(a0.groups, a1.groups, strict=True):
                for name, e in g0.metrics.items():
                    assert e.value == g1.metrics[name].value
                    assert math.isnan(e.lower)
                    assert math.isnan(e.upper)
                    assert math.isnan(e.simultaneous_lower)
                    assert math.isnan(e.simultaneous_upper)
                    assert e.n_undefined_replicates == 0
            for d in a0.disparities:
                assert math.isnan(d.estimate.lower)
                assert math.isnan(d.estimate.upper)
        # a: 0.5 selected, b: 75/185
        sel = {g.group: g.metrics["selection_rate"].value for g in r0.attribute("g").groups}
        assert sel["a"] == 0.5
        assert sel["b"] == 75 / 185
        ratio = next(
            d
            for d in r0.attribute("g").disparities
            if d.metric == "selection_rate" and d.measure == "ratio"
        )
        assert ratio.estimate.value == pytest.approx((75 / 185) / 0.5)
        assert math.isnan(r0.overall["accuracy"].lower)

    @pytest.mark.parametrize("n_boot", [2, 3])
    def test_few_replicates_work(self, cells_frame: pd.DataFrame, n_boot: int) -> None:
        r = audit_cells(cells_frame, n_boot=n_boot, random_state=1)
        reps = fairtrail_bootstrap(cells_frame, n_boot, seed=1)
        a = {g.group: g for g in r.attribute("g").groups}["a"]
        e = a.metrics["selection_rate"]
        x = np.sort(reps[("selection_rate", "a")])
        # linear interpolation between order statistics, by hand: position 0.025·(n-1)
        lo = x[0] + 0.025 * (n_boot - 1) * (x[1] - x[0])
        hi = x[-2] + (1 - 0.025 * (n_boot - 1)) * (x[-1] - x[-2])
        assert e.lower == pytest.approx(lo, abs=1e-12)
        assert e.upper == pytest.approx(hi, abs=1e-12)
        assert math.isfinite(e.simultaneous_lower)
        assert math.isfinite(e.simultaneous_upper)


def test_percentile_interval_half_undefined_boundary() -> None:
    # 10 replicates: up to 5 undefined (half) still give an interval, 6 do not.
    base = np.arange(10.0)
    five = base.copy()
    five[:5] = np.nan
    six = base.copy()
    six[:6] = np.nan
    lo, hi, bad = percentile_interval(np.stack([base, five, six], axis=1), 0.9)
    assert bad.tolist() == [0, 5, 6]
    # defined values 0..9: 5 % quantile at position 0.45 -> 0.45; 5..9: 5 + 0.05·4 = 5.2
    assert lo[0] == pytest.approx(0.45)
    assert hi[0] == pytest.approx(8.55)
    assert lo[1] == pytest.approx(5.2)
    assert hi[1] == pytest.approx(8.8)
    assert math.isnan(lo[2])
    assert math.isnan(hi[2])


def test_undefined_replicates_in_an_audit() -> None:
    # Group a: 200 rows (tn 60, fp 40, fn 30, tp 70). Group c: 2 rows, one true positive and
    # one true negative, so every metric of c is defined on the data. N = 202.
    # A replicate has no positive of c with probability P1 = (1 - 1/202)^202 ≈ 0.3670, then
    # c's TPR is undefined; balanced accuracy is undefined when c lacks positives or
    # negatives: 2·P1 - (1 - 2/202)^202 ≈ 0.599 > 1/2, so its interval must be NaN, while
    # the TPR's (undefined < 1/2) is defined. Counts are binomial over n_boot replicates.
    cells = {("a", "x"): (60, 40, 30, 70), ("c", "x"): (1, 0, 0, 1)}
    df = frame_from_cells(cells)
    n, n_boot = len(df), 2000
    r = audit_predictions(
        df["y"],
        df["p"],
        sensitive_features={"g": df["g"]},
        options=AuditOptions(n_boot=n_boot, random_state=4),
    )
    c = {g.group: g for g in r.attribute("g").groups}["c"]
    p1 = (1 - 1 / n) ** n
    p_bal = 2 * p1 - (1 - 2 / n) ** n
    tpr, bal = c.metrics["true_positive_rate"], c.metrics["balanced_accuracy"]
    for e, p in ((tpr, p1), (bal, p_bal)):
        assert abs(e.n_undefined_replicates - n_boot * p) <= Z_TOL * math.sqrt(n_boot * p * (1 - p))
    assert tpr.value == 1.0
    assert bal.value == 1.0
    # TPR of c is 1 in every replicate where it is defined (c's only positive is a TP), so
    # the bootstrap alone says [1, 1]. The reported interval is the exact binomial one for
    # 1 success in 1 trial: [(α/2)^(1/1), 1] = [0.025, 1].
    assert tpr.lower == pytest.approx(0.025, abs=1e-12)
    assert tpr.upper == 1.0
    assert bal.n_undefined_replicates > n_boot // 2
    assert math.isnan(bal.lower)
    assert math.isnan(bal.upper)
    # Same counts as the replicates drawn with the same seed.
    stats = count_statistics(prepare_data(df, y_true="y", y_pred="p", sensitive_features=["g"]))
    w, _ = resample_bins(
        stats.confusion_count, stats.confusion_weight, n_boot, np.random.default_rng(4)
    )
    c_code = stats.categories[0].index("c")
    m = rates_by_hand(w[:, stats.cells[:, 0] == c_code, :].sum(axis=1))
    assert tpr.n_undefined_replicates == int(np.isnan(m["true_positive_rate"]).sum())
    assert bal.n_undefined_replicates == int(np.isnan(m["balanced_accuracy"]).sum())
