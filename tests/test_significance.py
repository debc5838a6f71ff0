"""Four-fifths rows, NYC Local Law 144 tables and the representation test.

Every expected number is derived by hand from confusion counts written in the comments, or
computed with scipy on a table written out here (statsmodels is not installed: the pooled
two-proportion z-test is written out with scipy.stats.norm).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from audit import AuditOptions, AuditResult, SpecError, audit_predictions
from audit._intervals import clopper_pearson
from audit._regulatory import fisher_exact_p
from audit._result import FourFifthsRow

Counts = tuple[int, int, int, int]  # (tn, fp, fn, tp)


def build(groups: dict[str | None, Counts]) -> pd.DataFrame:
    """Rows with the given confusion counts per group (None = missing sensitive value)."""
    rows: list[tuple[int, int, Any]] = []
    for g, counts in groups.items():
        for (yt, yp), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), counts, strict=True):
            rows += [(yt, yp, g)] * k
    return pd.DataFrame(rows, columns=["y", "p", "g"]).astype({"g": object})


def audit(df: pd.DataFrame, name: str = "sex", **options: Any) -> AuditResult:
    return audit_predictions(
        df["y"].to_numpy(),
        df["p"].to_numpy(),
        sensitive_features={name: df["g"].to_numpy(dtype=object)},
        y_score=df["s"].to_numpy() if "s" in df else None,
        options=AuditOptions(**options),
    )


def pooled_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test, group 1 minus group 2: (z, two-sided p)."""
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    return z, 2 * sps.norm.sf(abs(z))


def by_group(rows: tuple[FourFifthsRow, ...]) -> dict[str, FourFifthsRow]:
    return {r.group: r for r in rows}


# ---------------------------------------------------------------------------------------------
# Four-fifths rule
# ---------------------------------------------------------------------------------------------
#   group     tn  fp  fn  tp   rows  selected  rate
#   M         25  20  15  40    100     60     0.60   highest rate among eligible groups
#   F         30  10  14  26     80     36     0.45   ratio 0.45 / 0.60 = 0.75 < 0.8
#   X          4   0   5   1     10      1     0.10   too small (< 30 rows): not eligible
#   (missing)  2  16   2  20     40     36     0.90   "unknown": excluded, though highest
FOUR_FIFTHS = {
    "M": (25, 20, 15, 40),
    "F": (30, 10, 14, 26),
    "X": (4, 0, 5, 1),
    None: (2, 16, 2, 20),
}


@pytest.fixture(scope="module")
def four_fifths() -> dict[str, FourFifthsRow]:
    return by_group(audit(build(FOUR_FIFTHS)).attribute("sex").four_fifths)


class TestFourFifths:
    def test_reference_is_highest_rate_eligible_group(
        self, four_fifths: dict[str, FourFifthsRow]
    ) -> None:
        assert set(four_fifths) == {"F", "M", "X", "unknown"}
        assert {r.reference_group for r in four_fifths.values()} == {"M"}
        # X (10 rows) is too small and "unknown" is excluded by default: the unknown group
        # selects more often (0.9 > 0.6) but M is the reference.
        assert {g for g, r in four_fifths.items() if r.eligible} == {"F", "M"}

    def test_counts_rates_and_impact_ratios(self, four_fifths: dict[str, FourFifthsRow]) -> None:
        expected = {  # group: (count, selected, rate, impact ratio vs 0.6, flagged)
            "M": (100, 60, 0.60, 1.0, False),
            "F": (80, 36, 0.45, 0.75, True),
            "X": (10, 1, 0.10, 0.10 / 0.60, False),  # below 0.8 but not eligible
            "unknown": (40, 36, 0.90, 1.5, False),
        }
        for g, (count, selected, rate, ratio, flagged) in expected.items():
            row = four_fifths[g]
            assert row.count == count
            assert row.selected == selected
            assert row.selection_rate == pytest.approx(rate)
            assert row.impact_ratio == pytest.approx(ratio)
            assert row.flagged is flagged

    def test_reference_row_has_no_test(self, four_fifths: dict[str, FourFifthsRow]) -> None:
        m = four_fifths["M"]
        assert math.isnan(m.z_statistic)
        assert math.isnan(m.z_p_value)
        assert math.isnan(m.fisher_p_value)
        assert m.significant is False

    def test_z_test_by_hand(self, four_fifths: dict[str, FourFifthsRow]) -> None:
        # F vs M: pooled p = 96/180; se = sqrt(96/180 · 84/180 · (1/80 + 1/100))
        #   = sqrt(0.248889 · 0.0225) = 0.0748331; z = (0.45 - 0.60) / se = -2.004459;
        #   p = 2·(1 - Φ(2.004459)) = 0.04502.
        f = four_fifths["F"]
        assert f.z_statistic == pytest.approx(-2.004459, abs=1e-6)
        assert f.z_p_value == pytest.approx(0.04502, abs=1e-5)
        z, p = pooled_z(36, 80, 60, 100)
        assert f.z_statistic == pytest.approx(z, rel=1e-12)
        assert f.z_p_value == pytest.approx(p, rel=1e-12)
        for g, (x, n) in {"X": (1, 10), "unknown": (36, 40)}.items():
            z, p = pooled_z(x, n, 60, 100)
            assert four_fifths[g].z_statistic == pytest.approx(z, rel=1e-12)
            assert four_fifths[g].z_p_value == pytest.approx(p, rel=1e-12)

    def test_fisher_by_scipy(self, four_fifths: dict[str, FourFifthsRow]) -> None:
        # 2x2 tables: rows = (group, reference M), columns = (selected, not selected)
        tables = {
            "F": [[36, 44], [60, 40]],
            "X": [[1, 9], [60, 40]],
            "unknown": [[36, 4], [60, 40]],
        }
        for g, table in tables.items():
            expected = sps.fisher_exact(table).pvalue
            assert four_fifths[g].fisher_p_value == pytest.approx(expected, rel=1e-12)

    def test_significant_uses_z_when_expected_counts_are_large(
        self, four_fifths: dict[str, FourFifthsRow]
    ) -> None:
        # F vs M: smallest expected count 80·84/180 = 37.3 >= 5, so the z-test decides:
        # z p = 0.045 < 0.05 -> significant, although Fisher's p = 0.0515 is not.
        f = four_fifths["F"]
        assert f.fisher_p_value > 0.05 > f.z_p_value
        assert f.p_value == f.z_p_value
        assert f.significant is True

    def test_significant_uses_fisher_for_small_expected_counts(self) -> None:
        #   group  tn  fp  fn  tp  rows  selected  rate
        #   M      15   2  10   3    30      5     1/6    reference
        #   F      20   0  19   1    40      1     0.025
        # Pooled selection 6/70; expected selected in F = 40·6/70 = 3.43 < 5 -> Fisher.
        # z = (0.025 - 1/6) / sqrt(6/70 · 64/70 · (1/40 + 1/30)) = -2.0953, p = 0.036 (< 0.05),
        # Fisher on [[1, 39], [5, 25]]: p = 0.0773 (> 0.05) -> not significant.
        rows = by_group(
            audit(build({"M": (15, 2, 10, 3), "F": (20, 0, 19, 1)})).attribute("sex").four_fifths
        )
        f = rows["F"]
        assert f.reference_group == "M"
        assert f.z_statistic == pytest.approx(-2.0953, abs=1e-4)
        assert f.z_p_value < 0.05
        assert f.fisher_p_value == pytest.approx(sps.fisher_exact([[1, 39], [5, 25]]).pvalue)
        assert f.fisher_p_value > 0.05
        assert f.significant is False
        assert f.impact_ratio == pytest.approx(0.025 / (5 / 30))
        assert f.flagged is True

    def test_small_expected_counts_can_be_significant(
        self, four_fifths: dict[str, FourFifthsRow]
    ) -> None:
        # X vs M: expected non-selected in X = 10·49/110 = 4.45 < 5 -> Fisher decides.
        x = four_fifths["X"]
        p_fisher = sps.fisher_exact([[1, 9], [60, 40]]).pvalue
        assert x.p_value == pytest.approx(p_fisher, rel=1e-12)
        assert x.significant is bool(x.q_value < 0.05)

    def test_q_values_are_benjamini_hochberg_over_the_compared_groups(
        self, four_fifths: dict[str, FourFifthsRow]
    ) -> None:
        # Three groups are compared with M: F (z-test), X and unknown (Fisher or z by their
        # expected counts). BH by its definition: q_i = min over p_j ≥ p_i of p_j · m / rank_j.
        tested = {g: r.p_value for g, r in four_fifths.items() if g != "M"}
        assert len(tested) == 3
        ranked = sorted(tested.values())
        for g, p in tested.items():
            want = min(min(1.0, q * 3 / (ranked.index(q) + 1)) for q in ranked if q >= p)
            assert four_fifths[g].q_value == pytest.approx(want, rel=1e-12), g
            assert four_fifths[g].significant is (want < 0.05)
        assert math.isnan(four_fifths["M"].q_value)

    def test_a_group_significant_alone_is_not_significant_among_several(self) -> None:
        # M selects 250 of 500; A, B and C select 209, 218 and 230 of 500. One at a time,
        # B differs from M at p ≈ 0.04 < 0.05. Tested together with A and C (p ≈ 0.01 and
        # 0.2), its BH q-value is p · 3/2 ≈ 0.06: not significant at a 5 % false discovery
        # rate.
        def counts(selected: int) -> Counts:
            return (250 - selected // 2, selected // 2, 250 - (selected - selected // 2),
                    selected - selected // 2)  # fmt: skip

        df = build({"M": counts(250), "A": counts(209), "B": counts(218), "C": counts(230)})
        rows = by_group(audit(df).attribute("sex").four_fifths)
        p = {g: pooled_z(rows[g].selected, 500, 250, 500)[1] for g in "ABC"}
        assert p["A"] < 0.05 / 3
        assert 0.05 / 1.5 < p["B"] < 0.05
        assert p["C"] > 0.1
        assert rows["B"].p_value == pytest.approx(p["B"], rel=1e-12)
        assert rows["B"].q_value == pytest.approx(p["B"] * 3 / 2, rel=1e-12)
        assert rows["B"].significant is False
        assert rows["A"].significant is True

    def test_ratio_of_exactly_four_fifths_is_not_flagged(self) -> None:
        #   M: 50 of 100 selected (0.5); F: 40 of 100 (0.4, ratio 0.8 exactly);
        #   G: 39 of 100 (0.39, ratio 0.78)
        df = build({"M": (25, 25, 25, 25), "F": (30, 20, 30, 20), "G": (31, 19, 30, 20)})
        rows = by_group(audit(df).attribute("sex").four_fifths)
        assert rows["F"].impact_ratio == pytest.approx(0.8)
        assert rows["F"].flagged is False
        assert rows["G"].impact_ratio == pytest.approx(0.78)
        assert rows["G"].flagged is True
        stricter = by_group(audit(df, four_fifths_threshold=0.9).attribute("sex").four_fifths)
        assert stricter["F"].flagged is True

    # Deliberately ignored: a random group may select nobody (precision undefined) or have
    # no actual positives (true positive rate undefined); the four-fifths rows do not care.
    @pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")
    @settings(max_examples=25, deadline=None)
    @given(
        n1=st.integers(30, 120),
        n2=st.integers(30, 120),
        data=st.data(),
    )
    def test_two_groups_match_hand_computation(self, n1: int, n2: int, data: st.DataObject) -> None:
        x1 = data.draw(st.integers(0, n1), label="x1")
        x2 = data.draw(st.integers(0, n2), label="x2")
        if x1 * n2 == x2 * n1:  # equal rates: which one is the reference is a tie-break
            x2 = (x2 + 1) % (n2 + 1)
            if x1 * n2 == x2 * n1:
                return
        # y_true = y_pred: tn = not selected, tp = selected
        df = build({"A": (n1 - x1, 0, 0, x1), "B": (n2 - x2, 0, 0, x2)})
        rows = by_group(audit(df).attribute("sex").four_fifths)
        rate = {"A": x1 / n1, "B": x2 / n2}
        ref = max(rate, key=rate.__getitem__)
        other = "B" if ref == "A" else "A"
        (xo, no), (xr, nr) = ((x1, n1), (x2, n2)) if other == "A" else ((x2, n2), (x1, n1))
        row = rows[other]
        assert row.reference_group == ref
        ratio = rate[other] / rate[ref]  # rate[ref] > 0 since the rates differ
        assert row.impact_ratio == pytest.approx(ratio, rel=1e-12)
        assert row.flagged is (ratio < 0.8)
        z, p = pooled_z(xo, no, xr, nr)
        if math.isnan(z):
            assert math.isnan(row.z_statistic)
        else:
            assert row.z_statistic == pytest.approx(z, rel=1e-9)
            assert row.z_p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        table = [[xo, no - xo], [xr, nr - xr]]
        p_fisher = sps.fisher_exact(table).pvalue
        assert row.fisher_p_value == pytest.approx(p_fisher, rel=1e-9)
        sel, n = xo + xr, no + nr
        smallest = min(no * sel / n, no * (n - sel) / n, nr * sel / n, nr * (n - sel) / n)
        decisive = p_fisher if smallest < 5 else p
        assert row.significant is bool(not math.isnan(decisive) and decisive < 0.05)


# ---------------------------------------------------------------------------------------------
# NYC Local Law 144
# ---------------------------------------------------------------------------------------------
#   race       tn  fp  fn  tp   rows  selected  rate    share of 500
#   A         100  50  25  75    250    125     0.500   0.500
#   B          60  30  30  30    150     60     0.400   0.300
#   C          14  16  10  20     60     36     0.600   0.120   most selected (counted)
#   D           1   3   0   4      8      7     0.875   0.016   < 2 %: excludable
#   E           4   1   3   2     10      3     0.300   0.020   exactly 2 %: counted
#   (missing)   1   9   1  11     22     20     0.909   0.044   unknown: not a row
LL144 = {
    "A": (100, 50, 25, 75),
    "B": (60, 30, 30, 30),
    "C": (14, 16, 10, 20),
    "D": (1, 3, 0, 4),
    "E": (4, 1, 3, 2),
    None: (1, 9, 1, 11),
}


class TestLL144:
    def test_selection_rate_table(self) -> None:
        df = build(LL144)
        table = audit(df, name="race").attribute("race").ll144
        assert table.rate_kind == "selection_rate"
        assert table.unknown_count == 22
        assert table.most_selected == "C"
        rows = {r.category: r for r in table.rows}
        assert set(rows) == {"A", "B", "C", "D", "E"}
        expected = {  # category: (count, rate, impact ratio vs C's 0.6, share, excludable)
            "A": (250, 0.5, 0.5 / 0.6, 0.5, False),
            "B": (150, 0.4, 0.4 / 0.6, 0.3, False),
            "C": (60, 0.6, 1.0, 0.12, False),
            "D": (8, 0.875, math.nan, 0.016, True),
            "E": (10, 0.3, 0.5, 0.02, False),
        }
        for cat, (count, rate, ratio, share, excludable) in expected.items():
            row = rows[cat]
            assert row.count == count
            assert row.rate == pytest.approx(rate)
            assert row.share == pytest.approx(share)
            assert row.excludable is excludable
            if math.isnan(ratio):
                assert math.isnan(row.impact_ratio)
            else:
                assert row.impact_ratio == pytest.approx(ratio)

    def test_selection_rates_match_fairlearn(self) -> None:
        df = build(LL144)
        table = audit(df, name="race").attribute("race").ll144
        race = df["g"].fillna("unknown")
        mf = MetricFrame(
            metrics=selection_rate, y_true=df["y"], y_pred=df["p"], sensitive_features=race
        )
        for row in table.rows:
            assert row.rate == pytest.approx(mf.by_group[row.category])

    def test_unknown_count_equals_missing_rows(self) -> None:
        df = build(LL144)
        r = audit(df, name="race")
        assert r.attribute("race").ll144.unknown_count == int(df["g"].isna().sum()) == 22
        assert r.data.unknown_counts["race"] == 22

    def test_scoring_rate_counts_scores_strictly_above_the_median(self) -> None:
        # 9 scores: A .2 .5 .5 .9, B .1 .5 .7 .8 .3; sorted .1 .2 .3 .5 .5 .5 .7 .8 .9 ->
        # median .5 (the 5th). Strictly above it: A {.9} -> 1/4, B {.7, .8} -> 2/5.
        # (Counting ties would give A 3/4, B 3/5 and make A the most selected.)
        # Impact ratio of A = 0.25 / 0.4 = 0.625.
        rows = [  # (y, p, group, score): every group has all four confusion cells
            (0, 0, "A", 0.2),
            (0, 1, "A", 0.5),
            (1, 0, "A", 0.5),
            (1, 1, "A", 0.9),
            (0, 0, "B", 0.1),
            (0, 1, "B", 0.5),
            (1, 0, "B", 0.7),
            (1, 1, "B", 0.8),
            (0, 0, "B", 0.3),
        ]
        df = pd.DataFrame(rows, columns=["y", "p", "g", "s"])
        table = audit(df, name="race", ll144_rate="scoring_rate").attribute("race").ll144
        assert table.rate_kind == "scoring_rate"
        assert table.median_score == pytest.approx(0.5)
        got = {r.category: r for r in table.rows}
        assert got["A"].rate == pytest.approx(0.25)
        assert got["B"].rate == pytest.approx(0.4)
        assert table.most_selected == "B"
        assert got["A"].impact_ratio == pytest.approx(0.625)
        assert got["B"].impact_ratio == pytest.approx(1.0)
        assert (got["A"].count, got["B"].count) == (4, 5)

    def test_scoring_rate_median_is_over_the_full_sample(self) -> None:
        # Known scores: A .2 .4 .46 .9, B .1 .45 .7 .8 .3; three rows without a race score
        # .95 .96 .97. The full sample of 12 sorted: .1 .2 .3 .4 .45 .46 .7 .8 .9 .95 .96 .97
        # -> median (.46 + .7) / 2 = .58: A {.9} -> 0.25, B {.7, .8} -> 0.4.
        # (The median of the 9 known rows, .45, would give A 0.5 and make A most selected.)
        rows = [
            (0, 0, "A", 0.2),
            (0, 1, "A", 0.4),
            (1, 0, "A", 0.46),
            (1, 1, "A", 0.9),
            (0, 0, "B", 0.1),
            (0, 1, "B", 0.45),
            (1, 0, "B", 0.7),
            (1, 1, "B", 0.8),
            (0, 0, "B", 0.3),
            (0, 0, None, 0.95),
            (1, 1, None, 0.96),
            (0, 1, None, 0.97),
        ]
        df = pd.DataFrame(rows, columns=["y", "p", "g", "s"]).astype({"g": object})
        table = audit(df, name="race", ll144_rate="scoring_rate").attribute("race").ll144
        assert table.median_score == pytest.approx(0.58)
        got = {r.category: r for r in table.rows}
        assert set(got) == {"A", "B"}
        assert got["A"].rate == pytest.approx(0.25)
        assert got["B"].rate == pytest.approx(0.4)
        assert table.most_selected == "B"
        assert table.unknown_count == 3

    def test_scoring_rate_needs_scores(self) -> None:
        with pytest.raises(SpecError, match=r"scoring_rate.*y_score"):
            audit(build(LL144), name="race", ll144_rate="scoring_rate")


# ---------------------------------------------------------------------------------------------
# Representation against a reference population
# ---------------------------------------------------------------------------------------------
#   race A 300 rows, B 200, C 100 (n = 600); reference shares A .5, B .3, C .2
#   expected counts 300, 180, 120; chi² = 0 + 20²/180 + 20²/120 = 2.2222 + 3.3333 = 50/9
#   df = 2, and for 2 degrees of freedom P(χ² > x) = exp(-x/2): p = exp(-25/9) = 0.062177
REPRESENTED = {"A": (75, 75, 75, 75), "B": (50, 50, 50, 50), "C": (25, 25, 25, 25)}
SHARES = {"A": 0.5, "B": 0.3, "C": 0.2}


class TestRepresentation:
    def check(self, result: AuditResult) -> None:
        rep = result.attribute("race").representation
        assert rep is not None
        assert rep.observed_share == pytest.approx({"A": 0.5, "B": 1 / 3, "C": 1 / 6})
        assert rep.expected_share == pytest.approx(SHARES)
        assert rep.representation_ratio == pytest.approx({"A": 1.0, "B": 10 / 9, "C": 5 / 6})
        assert rep.chi2_statistic == pytest.approx(50 / 9)
        assert rep.p_value == pytest.approx(math.exp(-25 / 9))
        scipy_result = sps.chisquare([300, 200, 100], [300, 180, 120])
        assert rep.chi2_statistic == pytest.approx(scipy_result.statistic, rel=1e-12)
        assert rep.p_value == pytest.approx(scipy_result.pvalue, rel=1e-12)
        assert rep.most_under_represented[0] == "C"
        assert "A" not in rep.most_under_represented

    def test_chi_square_by_hand_and_scipy(self) -> None:
        self.check(audit(build(REPRESENTED), name="race", reference_population={"race": SHARES}))

    def test_rows_with_unknown_race_are_not_counted(self) -> None:
        df = build({**REPRESENTED, None: (5, 5, 5, 5)})
        self.check(audit(df, name="race", reference_population={"race": SHARES}))

    def test_reference_category_absent_from_data(self) -> None:
        # shares A .5, B .3, C .1, E .1 -> expected counts 300, 180, 60, 60; observed E = 0:
        # chi² = 0 + 400/180 + 1600/60 + 3600/60 = 88.888..., df = 3
        shares = {"A": 0.5, "B": 0.3, "C": 0.1, "E": 0.1}
        rep = (
            audit(build(REPRESENTED), name="race", reference_population={"race": shares})
            .attribute("race")
            .representation
        )
        assert rep is not None
        assert rep.observed_share["E"] == 0.0
        assert rep.representation_ratio["E"] == 0.0
        assert rep.chi2_statistic == pytest.approx(400 / 180 + 1600 / 60 + 3600 / 60)
        expected = sps.chisquare([300, 200, 100, 0], [300, 180, 60, 60])
        assert rep.p_value == pytest.approx(expected.pvalue, rel=1e-9)
        assert rep.p_value == pytest.approx(sps.chi2.sf(88.0 + 8 / 9, 3), rel=1e-9)

    def test_no_reference_no_test(self) -> None:
        assert audit(build(REPRESENTED), name="race").attribute("race").representation is None

    def test_category_missing_from_reference_is_an_error(self) -> None:
        df = build({**REPRESENTED, "D": (1, 1, 1, 1)})
        with pytest.raises(SpecError, match=r"race.*'D'"):
            audit(df, name="race", reference_population={"race": SHARES})

    def test_shares_must_sum_to_one(self) -> None:
        with pytest.raises(SpecError, match=r"sum.*1\.1"):
            audit(
                build(REPRESENTED),
                name="race",
                reference_population={"race": {"A": 0.5, "B": 0.3, "C": 0.3}},
            )


def test_built_tables_have_the_written_counts() -> None:
    # The helper itself: the four-fifths table has 230 rows, 40 with a missing sex.
    df = build(FOUR_FIFTHS)
    assert len(df) == 230
    assert int(df["g"].isna().sum()) == 40
    assert int(df.loc[df["g"] == "F", "p"].sum()) == 36
    assert np.array_equal(
        df.loc[df["g"] == "X", ["y", "p"]].value_counts().sort_index().to_numpy(),
        np.array([4, 5, 1]),  # (0,0) 4, (1,0) 5, (1,1) 1; no (0,1)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 60)
    .flatmap(lambda n1: st.tuples(st.integers(0, n1), st.just(n1), st.integers(1, 60)))
    .flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[2]), st.just(t[2])))
)
def test_fisher_exact_p_equals_scipys(table: tuple[int, int, int, int]) -> None:
    """Every small table (ties included: equal rows, symmetric margins) against scipy."""
    x1, n1, x2, n2 = table
    expected = sps.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert fisher_exact_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "table",
    [
        (3_000, 10_000, 3_150, 10_000),  # near the middle: p about 0.02
        (480_000, 1_600_000, 3_100_000, 10_000_000),  # 100M-row audit sizes: p tiny
        (299_500, 1_000_000, 3_000_000, 10_000_000),  # close rates at large n: p about 0.3
        (5, 2_000_000, 20, 3_000_000),  # rare selection in huge groups
        (0, 5_000_000, 9_000_000, 10_000_000),  # p below the smallest double: 0
    ],
)
def test_fisher_exact_p_equals_scipys_at_scale(table: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = table
    expected = sps.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert fisher_exact_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-7, abs=1e-300)


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_clopper_pearson_at_the_boundary_is_scipys(level: float) -> None:
    """0 of n and n of n against scipy's beta quantiles, up to 10 million trials."""
    n = np.array([1, 2, 7, 30, 1_000, 10**7], dtype=float)
    alpha = 1 - level
    lo, hi = clopper_pearson(np.zeros(n.size), n, np.array(level))
    np.testing.assert_allclose(hi, sps.beta.ppf(1 - alpha / 2, 1, n), rtol=1e-10)
    assert (lo == 0).all()
    lo, hi = clopper_pearson(n, n, np.array(level))
    np.testing.assert_allclose(lo, sps.beta.ppf(alpha / 2, n, 1), rtol=1e-10)
    assert (hi == 1).all()
    lo, hi = clopper_pearson(np.array([0.0]), np.array([0.0]), np.array(level))
    assert np.isnan([lo, hi]).all()  # no trials, no interval


def test_an_audit_imports_no_scipy_stats() -> None:
    """scipy.stats takes about a second to import: the audit does without it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from audit import AuditOptions, audit_predictions\n"
        "rng = np.random.default_rng(0)\n"
        "y = rng.integers(0, 2, 500); p = rng.integers(0, 2, 500)\n"
        "g = rng.choice(['a', 'b'], 500)\n"
        "audit_predictions(y, p, y_score=rng.random(500), sensitive_features=g,\n"
        "                  options=AuditOptions())\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
