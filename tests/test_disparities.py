"""Hand-derived disparities: between groups, to the overall value, to a reference group.

Every expected value is an exact fraction derived from the confusion tables written in the
comments (``tn, fp, fn, tp``); nothing is copied from the output of the code under test.
"""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any

import pytest

from audit import (
    CONFUSION_METRICS,
    AuditOptions,
    AuditResult,
    Policy,
    SpecError,
    Threshold,
    audit_predictions,
)

from _tables import EXACT, POINT, by_group, disparity, rows_of

# ---------------------------------------------------------------------------------------------
# Disparities
# ---------------------------------------------------------------------------------------------

# Groups of "race" (tn, fp, fn, tp), min_group_size = 3:
#   a (4, 1, 2, 3) n=10, pos 5, neg 5: sel 4/10 = 2/5, TPR 3/5, FPR 1/5
#   b (2, 2, 1, 3) n=8,  pos 4, neg 4: sel 5/8,        TPR 3/4, FPR 2/4 = 1/2
#   c (3, 1, 2, 2) n=8,  pos 4, neg 4: sel 3/8,        TPR 2/4 = 1/2, FPR 1/4
#   d (0, 1, 1, 0) n=2 (< 3, excluded): sel 1/2, TPR 0/1 = 0, FPR 1/1 = 1
#   unknown (missing race) (0, 2, 1, 2) n=5 (excluded): sel 4/5, TPR 2/3, FPR 2/2 = 1
# Whole population: tn = 9, fp = 7, fn = 7, tp = 10; n = 33, ppos = 17, pos = 17, neg = 16.
DISPARITY_TABLES = {"a": (4, 1, 2, 3), "b": (2, 2, 1, 3), "c": (3, 1, 2, 2), "d": (0, 1, 1, 0),
                    None: (0, 2, 1, 2)}  # fmt: skip


def disparity_audit(**options: Any) -> AuditResult:
    y_true, y_pred, race = rows_of(DISPARITY_TABLES)
    opts = {"intervals": False, "min_group_size": 3, **options}
    return audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"race": race},
        options=AuditOptions(**opts),
        policy=Policy(
            tuple(
                Threshold(f"{c}_{m}", 0.5)
                for c in ("demographic_parity", "equal_opportunity", "equalized_odds")
                for m in ("difference", "ratio")
            ),
            decision_rule="point",
        ),
    )


def criterion(result: AuditResult, name: str) -> float:
    found = [c for c in result.criteria if c.criterion == name]
    assert len(found) == 1
    return found[0].estimate.value


def test_groups_of_the_disparity_example() -> None:
    r = disparity_audit()
    groups = by_group(r, "race")
    assert set(groups) == {"a", "b", "c", "d", "unknown"}
    assert r.data.unknown_counts == {"race": 5}
    assert groups["unknown"].unknown
    assert not groups["d"].sufficient
    assert groups["d"].count == 2
    assert groups["unknown"].metrics["selection_rate"].value == pytest.approx(0.8, **EXACT)


def test_between_groups_difference_and_ratio_by_hand() -> None:
    r = disparity_audit()
    expected = {
        # selection rate: max b 5/8, min c 3/8 → difference 2/8, ratio (3/8)/(5/8) = 3/5
        "selection_rate": (F(1, 4), F(3, 5), "b", "c"),
        # TPR: max b 3/4, min c 1/2 → 1/4 and 2/3 (d's 0 would be the minimum if included)
        "true_positive_rate": (F(1, 4), F(2, 3), "b", "c"),
        # FPR: max b 1/2, min a 1/5 → 3/10 and 2/5 (d's and unknown's 1 would be the maximum)
        "false_positive_rate": (F(3, 10), F(2, 5), "b", "a"),
    }
    for metric, (diff, ratio, hi, lo) in expected.items():
        d = disparity(r, "race", metric, "difference")
        q = disparity(r, "race", metric, "ratio")
        assert d.estimate.value == pytest.approx(float(diff), **EXACT), metric
        assert q.estimate.value == pytest.approx(float(ratio), **EXACT), metric
        for x in (d, q):
            assert x.method == "between_groups"
            assert x.groups_compared == ("a", "b", "c")
            assert (x.highest_group, x.lowest_group) == (hi, lo)
            assert set(x.excluded_groups) == {"d", "unknown"}
            assert "min_group_size=3" in x.excluded_groups["d"]
            assert "unknown" in x.excluded_groups["unknown"]


def test_named_criteria_by_hand() -> None:
    r = disparity_audit()
    # demographic parity = selection rate; equal opportunity = TPR;
    # equalized odds difference = max(TPR 1/4, FPR 3/10) = 3/10, ratio = min(2/3, 2/5) = 2/5.
    assert criterion(r, "demographic_parity_difference") == pytest.approx(0.25, **EXACT)
    assert criterion(r, "demographic_parity_ratio") == pytest.approx(0.6, **EXACT)
    assert criterion(r, "equal_opportunity_difference") == pytest.approx(0.25, **EXACT)
    assert criterion(r, "equal_opportunity_ratio") == pytest.approx(2 / 3, **EXACT)
    assert criterion(r, "equalized_odds_difference") == pytest.approx(0.3, **EXACT)
    assert criterion(r, "equalized_odds_ratio") == pytest.approx(0.4, **EXACT)
    verdicts = {c.criterion: c.verdict for c in r.criteria}
    # Point rule, thresholds 0.5: differences ≤ 0.5 pass; ratios 0.6, 2/3 pass, 0.4 fails.
    assert verdicts == {
        "demographic_parity_difference": "pass", "demographic_parity_ratio": "pass",
        "equal_opportunity_difference": "pass", "equal_opportunity_ratio": "pass",
        "equalized_odds_difference": "pass", "equalized_odds_ratio": "fail",
    }  # fmt: skip


def test_to_overall_by_hand() -> None:
    r = disparity_audit(disparity_method="to_overall")
    # The overall rate is over all 33 rows, the excluded groups included (as fairlearn).
    # Selection: overall 17/33.
    #   |2/5 − 17/33| = 19/165, |5/8 − 17/33| = 29/264, |3/8 − 17/33| = 37/264 → max 37/264
    #   ratios: a (2/5)/(17/33) = 66/85, b (17/33)/(5/8) = 136/165, c (3/8)/(17/33) = 99/136
    #   → min 99/136
    # TPR: overall 10/17.
    #   |3/5 − 10/17| = 1/85, |3/4 − 10/17| = 11/68, |1/2 − 10/17| = 3/34 → max 11/68
    #   ratios: a 50/51, b (10/17)/(3/4) = 40/51, c (1/2)/(10/17) = 17/20 → min 40/51
    assert r.overall["selection_rate"].value == pytest.approx(17 / 33, **EXACT)
    assert r.overall["true_positive_rate"].value == pytest.approx(10 / 17, **EXACT)
    for metric, diff, ratio in (
        ("selection_rate", F(37, 264), F(99, 136)),
        ("true_positive_rate", F(11, 68), F(40, 51)),
    ):
        d = disparity(r, "race", metric, "difference")
        q = disparity(r, "race", metric, "ratio")
        assert d.method == "to_overall"
        assert d.estimate.value == pytest.approx(float(diff), **EXACT), metric
        assert q.estimate.value == pytest.approx(float(ratio), **EXACT), metric
        assert set(d.excluded_groups) == {"d", "unknown"}


def test_unknown_category_included_on_request() -> None:
    r = disparity_audit(include_unknown_in_disparities=True)
    d = disparity(r, "race", "selection_rate", "difference")
    q = disparity(r, "race", "selection_rate", "ratio")
    # unknown's 4/5 is now the maximum: 4/5 − 3/8 = 17/40, (3/8)/(4/5) = 15/32.
    assert d.estimate.value == pytest.approx(17 / 40, **EXACT)
    assert q.estimate.value == pytest.approx(15 / 32, **EXACT)
    assert set(d.groups_compared) == {"a", "b", "c", "unknown"}
    assert set(d.excluded_groups) == {"d"}


def test_group_whose_metric_rests_on_too_few_rows_is_excluded() -> None:
    # min_group_size = 5: a (10 rows, 5 positives) takes part in TPR; b and c have 8 rows
    # (enough for the selection rate) but only 4 actual positives each (too few for the TPR).
    r = disparity_audit(min_group_size=5)
    sel = disparity(r, "race", "selection_rate", "difference")
    assert sel.groups_compared == ("a", "b", "c")
    assert sel.estimate.value == pytest.approx(0.25, **EXACT)
    tpr = disparity(r, "race", "true_positive_rate", "difference")
    assert tpr.groups_compared == ("a",)
    assert {"b", "c"} <= set(tpr.excluded_groups)
    assert "min_group_size=5" in tpr.excluded_groups["b"]
    # One group left: no difference between groups can be computed.
    assert math.isnan(tpr.estimate.value)
    assert tpr.estimate.undefined_reason is not None
    # The group values themselves are still reported.
    assert by_group(r, "race")["b"].metrics["true_positive_rate"].value == 0.75


def test_ratio_of_rates_all_zero_is_undefined() -> None:
    # No false positives in any group: FPR is 0 everywhere; the difference is 0 and the ratio
    # 0/0 is undefined (not 1, not 0).
    y_true, y_pred, group = rows_of({"a": (2, 0, 1, 1), "b": (3, 0, 0, 2)})
    r = audit_predictions(y_true, y_pred, sensitive_features={"g": group}, options=POINT)
    assert disparity(r, "g", "false_positive_rate", "difference").estimate.value == 0.0
    ratio = disparity(r, "g", "false_positive_rate", "ratio").estimate
    assert math.isnan(ratio.value)
    assert ratio.undefined_reason is not None


# Groups of "sex" for the reference method (tn, fp, fn, tp), min_group_size = 1:
#   F (4, 0, 1, 3) n=8:  sel 3/8,  TPR 3/4, FPR 0/4 = 0
#   M (3, 2, 2, 3) n=10: sel 5/10, TPR 3/5, FPR 2/5
#   X (1, 2, 1, 1) n=5:  sel 3/5,  TPR 1/2, FPR 2/3
REFERENCE_TABLES = {"F": (4, 0, 1, 3), "M": (3, 2, 2, 3), "X": (1, 2, 1, 1)}


def reference_audit(**options: Any) -> AuditResult:
    y_true, y_pred, sex = rows_of(REFERENCE_TABLES)
    opts = {"intervals": False, "min_group_size": 1, "disparity_method": "reference",
            "reference_groups": {"sex": "M"}, **options}  # fmt: skip
    return audit_predictions(
        y_true, y_pred, sensitive_features={"sex": sex}, options=AuditOptions(**opts),
        policy=Policy((Threshold("equalized_odds_difference", 0.5),
                       Threshold("equalized_odds_ratio", 0.5)), decision_rule="point"),
    )  # fmt: skip


def test_reference_group_by_hand() -> None:
    r = reference_audit()
    # Selection vs M (1/2): |3/8 − 1/2| = 1/8, |3/5 − 1/2| = 1/10 → 1/8;
    #   ratios (3/8)/(1/2) = 3/4, (1/2)/(3/5) = 5/6 → 3/4.
    #   (between_groups would give 3/5 − 3/8 = 9/40 and 5/8.)
    # TPR vs M (3/5): |3/4 − 3/5| = 3/20, |1/2 − 3/5| = 1/10 → 3/20;
    #   ratios (3/5)/(3/4) = 4/5, (1/2)/(3/5) = 5/6 → 4/5.
    # FPR vs M (2/5): |0 − 2/5| = 2/5, |2/3 − 2/5| = 4/15 → 2/5; ratios 0/(2/5) = 0, 3/5 → 0.
    for metric, diff, ratio in (
        ("selection_rate", F(1, 8), F(3, 4)),
        ("true_positive_rate", F(3, 20), F(4, 5)),
        ("false_positive_rate", F(2, 5), F(0, 1)),
    ):
        d = disparity(r, "sex", metric, "difference")
        q = disparity(r, "sex", metric, "ratio")
        assert d.method == "reference: M"
        assert d.estimate.value == pytest.approx(float(diff), **EXACT), metric
        assert q.estimate.value == pytest.approx(float(ratio), **EXACT), metric
    # Equalized odds: difference max(3/20, 2/5) = 2/5; ratio min(4/5, 0) = 0.
    assert criterion(r, "equalized_odds_difference") == pytest.approx(0.4, **EXACT)
    assert criterion(r, "equalized_odds_ratio") == 0.0


def test_reference_group_too_small_gives_undefined_disparities() -> None:
    r = reference_audit(min_group_size=11)  # M has 10 rows
    d = disparity(r, "sex", "selection_rate", "difference")
    assert math.isnan(d.estimate.value)
    assert d.estimate.undefined_reason is not None
    assert "reference" in d.estimate.undefined_reason


def test_reference_group_must_be_given_for_every_feature() -> None:
    y_true, y_pred, sex = rows_of(REFERENCE_TABLES)
    race = (["A", "B"] * len(sex))[: len(sex)]
    with pytest.raises(SpecError, match=r"needs a reference group for \['race'\]"):
        audit_predictions(
            y_true, y_pred,
            sensitive_features={"sex": sex, "race": race},
            options=AuditOptions(intervals=False, disparity_method="reference",
                                 reference_groups={"sex": "M"}),
        )  # fmt: skip


def test_reference_group_must_be_a_category() -> None:
    y_true, y_pred, sex = rows_of(REFERENCE_TABLES)
    with pytest.raises(SpecError, match=r"'Q' is not a category of 'sex'"):
        audit_predictions(
            y_true, y_pred, sensitive_features={"sex": sex},
            options=AuditOptions(intervals=False, disparity_method="reference",
                                 reference_groups={"sex": "Q"}),
        )  # fmt: skip


def test_disparity_values_match_group_values() -> None:
    # For every metric, the between-groups difference is max − min of the compared groups'
    # reported values, and the ratio is min / max.
    r = disparity_audit()
    groups = by_group(r, "race")
    for name in CONFUSION_METRICS:
        d = disparity(r, "race", name, "difference")
        q = disparity(r, "race", name, "ratio")
        values = [groups[g].metrics[name].value for g in d.groups_compared]
        assert d.estimate.value == pytest.approx(max(values) - min(values), **EXACT), name
        assert q.estimate.value == pytest.approx(min(values) / max(values), **EXACT), name
