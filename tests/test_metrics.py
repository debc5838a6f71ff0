"""Hand-derived oracles for every metric, undefined case, intersection and disparity.

Every expected value below is derived by hand from a confusion table written in a comment,
as an exact fraction; nothing is copied from the output of the code under test. Tables are
written ``tn, fp, fn, tp`` (the order of the sufficient statistics), with
``n = tn + fp + fn + tp``, ``pos = fn + tp`` (actual positives), ``neg = tn + fp``,
``ppos = fp + tp`` (predicted positives) and ``pneg = tn + fn``.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction as F

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

import audit
from audit import (
    CONFUSION_METRICS,
    METRIC_INFO,
    REGRESSION_METRICS,
    SCORE_METRICS,
    AuditOptions,
    AuditResult,
    UndefinedMetricWarning,
    audit_predictions,
    audit_statistics,
    count_statistics,
    prepare_data,
)
from audit._metrics import confusion_metrics, score_metrics

from _tables import EXACT, POINT, assert_values, by_group, disparity, rows_of

# ---------------------------------------------------------------------------------------------
# Hand-derived tables
# ---------------------------------------------------------------------------------------------

# T1: tn=5, fp=2, fn=1, tp=4; n=12, pos=5, neg=7, ppos=6, pneg=6.
T1 = (5, 2, 1, 4)
T1_EXPECTED = {
    "base_rate": F(5, 12),  # pos / n
    "selection_rate": F(6, 12),  # ppos / n
    "true_positive_rate": F(4, 5),  # tp / pos
    "false_positive_rate": F(2, 7),  # fp / neg
    "false_negative_rate": F(1, 5),  # fn / pos
    "true_negative_rate": F(5, 7),  # tn / neg
    "precision": F(4, 6),  # tp / ppos
    "negative_predictive_value": F(5, 6),  # tn / pneg
    "false_discovery_rate": F(2, 6),  # fp / ppos
    "false_omission_rate": F(1, 6),  # fn / pneg
    "accuracy": F(9, 12),  # (tn + tp) / n
    "error_rate": F(3, 12),  # (fp + fn) / n
    "balanced_accuracy": (F(4, 5) + F(5, 7)) / 2,  # (28/35 + 25/35) / 2 = 53/70
    "f1_score": F(8, 11),  # 2·4 / (2·4 + 2 + 1)
}
assert T1_EXPECTED["balanced_accuracy"] == F(53, 70)

# T2: tn=1, fp=3, fn=2, tp=2; n=8, pos=4, neg=4, ppos=5, pneg=3.
T2 = (1, 3, 2, 2)
T2_EXPECTED = {
    "base_rate": F(4, 8),
    "selection_rate": F(5, 8),
    "true_positive_rate": F(2, 4),
    "false_positive_rate": F(3, 4),
    "false_negative_rate": F(2, 4),
    "true_negative_rate": F(1, 4),
    "precision": F(2, 5),
    "negative_predictive_value": F(1, 3),
    "false_discovery_rate": F(3, 5),
    "false_omission_rate": F(2, 3),
    "accuracy": F(3, 8),
    "error_rate": F(5, 8),
    "balanced_accuracy": F(3, 8),  # (1/2 + 1/4) / 2
    "f1_score": F(4, 9),  # 4 / (4 + 3 + 2)
}

# T1 + T2 (the whole population): tn=6, fp=5, fn=3, tp=6; n=20, pos=9, neg=11, ppos=11, pneg=9.
OVERALL_EXPECTED = {
    "base_rate": F(9, 20),
    "selection_rate": F(11, 20),
    "true_positive_rate": F(6, 9),
    "false_positive_rate": F(5, 11),
    "false_negative_rate": F(3, 9),
    "true_negative_rate": F(6, 11),
    "precision": F(6, 11),
    "negative_predictive_value": F(6, 9),
    "false_discovery_rate": F(5, 11),
    "false_omission_rate": F(3, 9),
    "accuracy": F(12, 20),
    "error_rate": F(8, 20),
    "balanced_accuracy": F(20, 33),  # (2/3 + 6/11) / 2 = (22/33 + 18/33) / 2
    "f1_score": F(12, 20),  # 12 / (12 + 5 + 3)
}


def test_hand_tables_cover_every_confusion_metric() -> None:
    assert set(T1_EXPECTED) == set(CONFUSION_METRICS)
    assert set(T2_EXPECTED) == set(CONFUSION_METRICS)
    assert set(OVERALL_EXPECTED) == set(CONFUSION_METRICS)
    assert set(METRIC_INFO) == set(CONFUSION_METRICS) | set(SCORE_METRICS) | set(REGRESSION_METRICS)
    assert len(CONFUSION_METRICS) == 14


# ---------------------------------------------------------------------------------------------
# confusion_metrics: the function
# ---------------------------------------------------------------------------------------------


def test_confusion_metrics_of_t1() -> None:
    m = confusion_metrics(np.array(T1, dtype=float))
    assert list(m) == list(CONFUSION_METRICS)
    assert_values(m, T1_EXPECTED)


def test_confusion_metrics_of_t2() -> None:
    assert_values(confusion_metrics(np.array(T2, dtype=float)), T2_EXPECTED)


def test_confusion_metrics_of_fractional_weights() -> None:
    # Weighted table tn=4, fp=1.5, fn=0.5, tp=2; n=8, pos=2.5, neg=5.5, ppos=3.5, pneg=4.5.
    m = confusion_metrics(np.array([4.0, 1.5, 0.5, 2.0]))
    assert_values(m, WEIGHTED_F_EXPECTED)


def test_confusion_metrics_keeps_leading_axes() -> None:
    # (2 replicates, 3 groups, 4 bins); each entry equals the metrics of its own table.
    tables = np.array([[T1, T2, (1, 1, 1, 1)], [T2, T1, (2, 0, 0, 2)]], dtype=float)
    m = confusion_metrics(tables)
    for name in CONFUSION_METRICS:
        assert m[name].shape == (2, 3)
    assert_values({k: v[0, 0] for k, v in m.items()}, T1_EXPECTED)
    assert_values({k: v[1, 1] for k, v in m.items()}, T1_EXPECTED)
    assert_values({k: v[0, 1] for k, v in m.items()}, T2_EXPECTED)
    # (1, 1, 1, 1): every rate is 1/2. (2, 0, 0, 2): a perfect classifier.
    assert all(v[0, 2] == pytest.approx(0.5, **EXACT) for v in m.values())
    assert m["accuracy"][1, 2] == 1.0
    assert m["false_positive_rate"][1, 2] == 0.0
    assert m["f1_score"][1, 2] == 1.0


# Each metric, a table where it is undefined (zero denominator), and why.
UNDEFINED_CASES = [
    # metric, (tn, fp, fn, tp)
    ("base_rate", (0, 0, 0, 0)),  # empty group
    ("selection_rate", (0, 0, 0, 0)),
    ("accuracy", (0, 0, 0, 0)),
    ("error_rate", (0, 0, 0, 0)),
    ("true_positive_rate", (3, 1, 0, 0)),  # pos = 0
    ("false_negative_rate", (3, 1, 0, 0)),
    ("false_positive_rate", (0, 0, 2, 3)),  # neg = 0
    ("true_negative_rate", (0, 0, 2, 3)),
    ("precision", (3, 0, 2, 0)),  # ppos = 0
    ("false_discovery_rate", (3, 0, 2, 0)),
    ("negative_predictive_value", (0, 3, 0, 2)),  # pneg = 0
    ("false_omission_rate", (0, 3, 0, 2)),
    ("f1_score", (4, 0, 0, 0)),  # no actual and no predicted positives: 2tp + fp + fn = 0
    ("balanced_accuracy", (3, 1, 0, 0)),  # no actual positives
    ("balanced_accuracy", (0, 0, 2, 3)),  # no actual negatives
]


def test_every_confusion_metric_has_an_undefined_case() -> None:
    assert {m for m, _ in UNDEFINED_CASES} == set(CONFUSION_METRICS)


@pytest.mark.parametrize(("metric", "table"), UNDEFINED_CASES)
def test_confusion_metric_is_nan_not_zero_when_undefined(
    metric: str, table: tuple[int, int, int, int]
) -> None:
    value = confusion_metrics(np.array(table, dtype=float))[metric]
    assert np.isnan(value)


def test_zero_numerators_are_defined_zeros_not_nan() -> None:
    # tn=3, fp=1, fn=0, tp=0: precision = 0/1 = 0 (defined), f1 = 0/(0 + 1 + 0) = 0 (defined),
    # fpr = 1/4, npv = 3/3 = 1, for = 0/3 = 0; only TPR, FNR and balanced accuracy are undefined.
    m = confusion_metrics(np.array([3.0, 1.0, 0.0, 0.0]))
    assert m["precision"] == 0.0
    assert m["f1_score"] == 0.0
    assert m["false_omission_rate"] == 0.0
    assert m["false_positive_rate"] == pytest.approx(0.25, **EXACT)
    assert m["negative_predictive_value"] == 1.0
    undefined = {k for k, v in m.items() if np.isnan(v)}
    assert undefined == {"true_positive_rate", "false_negative_rate", "balanced_accuracy"}


def test_undefined_reasons_are_documented() -> None:
    # The reason of each metric names its zero denominator.
    expected = {
        "base_rate": "the group is empty",
        "selection_rate": "the group is empty",
        "accuracy": "the group is empty",
        "error_rate": "the group is empty",
        "true_positive_rate": "the group has no actual positives",
        "false_negative_rate": "the group has no actual positives",
        "false_positive_rate": "the group has no actual negatives",
        "true_negative_rate": "the group has no actual negatives",
        "precision": "the group has no predicted positives",
        "false_discovery_rate": "the group has no predicted positives",
        "negative_predictive_value": "the group has no predicted negatives",
        "false_omission_rate": "the group has no predicted negatives",
        "f1_score": "the group has no actual and no predicted positives",
        "balanced_accuracy": "the group lacks actual positives or actual negatives",
        "roc_auc": "the group lacks actual positives or actual negatives",
        "brier_score_loss": "the group is empty",
        "expected_calibration_error": "the group is empty",
        "mean_absolute_error": "the group is empty",
        "root_mean_squared_error": "the group is empty",
        "mean_error": "the group is empty",
        "mean_prediction": "the group is empty",
        "r2_score": "y_true is constant in the group (or the group is empty)",
    }
    assert {k: v.undefined_when for k, v in METRIC_INFO.items()} == expected


# ---------------------------------------------------------------------------------------------
# score_metrics: the function
# ---------------------------------------------------------------------------------------------


def test_score_metrics_on_a_hand_histogram() -> None:
    # Three score bins at 0.2, 0.45, 0.8 (calibration bins 2, 4, 8).
    #   negatives: 2 at 0.2, 1 at 0.45;   positives: 1 at 0.45, 3 at 0.8.   n0 = 3, n1 = 4.
    # AUC: pairs n0·n1 = 12. The positive at 0.45 beats 2 negatives and ties 1 (½): 2.5;
    #      each positive at 0.8 beats all 3: 9.  AUC = 11.5 / 12 = 23/24.
    # Brier: 2·0.2² + 0.45² + 0.55² + 3·0.2² = 0.08 + 0.2025 + 0.3025 + 0.12 = 0.705;
    #        / 7 = 141/1400.
    # ECE: bin 2: |0 − 0.4| = 0.4; bin 4: |1 − 0.9| = 0.1; bin 8: |3 − 2.4| = 0.6;
    #      sum 1.1 / 7 = 11/70.
    s = np.array([0.2, 0.45, 0.8])
    w = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]])
    m = score_metrics(w, w * s, w * s * s, np.array([2, 4, 8]))
    assert_values(
        m,
        {
            "roc_auc": F(23, 24),
            "brier_score_loss": F(141, 1400),
            "expected_calibration_error": F(11, 70),
        },
    )


def test_score_metrics_undefined_cases() -> None:
    s = np.array([0.2, 0.8])
    one_class = np.array([[2.0, 1.0], [0.0, 0.0]])  # negatives only
    empty = np.zeros((2, 2))
    m = score_metrics(
        np.stack([one_class, empty]),
        np.stack([one_class * s, empty]),
        np.stack([one_class * s * s, empty]),
        np.array([2, 8]),
    )
    # One class: AUC undefined, Brier = (2·0.04 + 0.64)/3 = 0.24, ECE = |0 − 1.2|/3 = 0.4.
    assert np.isnan(m["roc_auc"][0])
    assert m["brier_score_loss"][0] == pytest.approx(0.24, **EXACT)
    assert m["expected_calibration_error"][0] == pytest.approx(0.4, **EXACT)
    # Empty: every score metric undefined.
    assert all(np.isnan(v[1]) for v in m.values())


# ---------------------------------------------------------------------------------------------
# End to end: audit_predictions
# ---------------------------------------------------------------------------------------------


def test_every_confusion_metric_end_to_end() -> None:
    y_true, y_pred, group = rows_of({"g": T1, "h": T2})
    r = audit_predictions(y_true, y_pred, sensitive_features={"team": group}, options=POINT)
    groups = by_group(r, "team")
    assert [g.group for g in r.attribute("team").groups] == ["g", "h"]
    assert (groups["g"].count, groups["h"].count) == (12, 8)
    assert_values(groups["g"].metrics, T1_EXPECTED)
    assert_values(groups["h"].metrics, T2_EXPECTED)
    assert_values(r.overall, OVERALL_EXPECTED)
    assert all(e.undefined_reason is None for g in groups.values() for e in g.metrics.values())


def test_row_order_and_label_spelling_do_not_matter() -> None:
    y_true, y_pred, group = rows_of({"g": T1, "h": T2})
    order = np.random.default_rng(7).permutation(len(y_true))
    words = np.array(["no", "yes"])
    r = audit_predictions(
        words[np.array(y_true)[order]],
        words[np.array(y_pred)[order]],
        sensitive_features={"team": np.array(group)[order]},
        pos_label="yes",
        options=POINT,
    )
    assert r.data.pos_label == "yes"
    groups = by_group(r, "team")
    assert_values(groups["g"].metrics, T1_EXPECTED)
    assert_values(groups["h"].metrics, T2_EXPECTED)


def test_point_values_do_not_depend_on_the_bootstrap() -> None:
    y_true, y_pred, group = rows_of({"g": T1, "h": T2})
    r = audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"team": group},
        options=AuditOptions(random_state=3, min_group_size=1),
    )
    assert_values(by_group(r, "team")["g"].metrics, T1_EXPECTED)
    assert_values(r.overall, OVERALL_EXPECTED)


# Weighted example, group F (y, ŷ, weight, score):
#   r1 (1, 1, 2.0, 0.95)  tp       r2 (1, 0, 0.5, 0.35)  fn      r3 (0, 1, 1.5, 0.65)  fp
#   r4 (0, 0, 3.0, 0.25)  tn       r5 (0, 0, 1.0, 0.35)  tn
# Weighted table tn = 3 + 1 = 4, fp = 1.5, fn = 0.5, tp = 2; n = 8, pos = 2.5, neg = 5.5,
# ppos = 3.5, pneg = 4.5.
WEIGHTED_F_EXPECTED = {
    "base_rate": F(5, 16),  # 2.5 / 8
    "selection_rate": F(7, 16),  # 3.5 / 8
    "true_positive_rate": F(4, 5),  # 2 / 2.5
    "false_positive_rate": F(3, 11),  # 1.5 / 5.5
    "false_negative_rate": F(1, 5),  # 0.5 / 2.5
    "true_negative_rate": F(8, 11),  # 4 / 5.5
    "precision": F(4, 7),  # 2 / 3.5
    "negative_predictive_value": F(8, 9),  # 4 / 4.5
    "false_discovery_rate": F(3, 7),  # 1.5 / 3.5
    "false_omission_rate": F(1, 9),  # 0.5 / 4.5
    "accuracy": F(3, 4),  # 6 / 8
    "error_rate": F(1, 4),  # 2 / 8
    "balanced_accuracy": F(42, 55),  # (4/5 + 8/11) / 2 = (44/55 + 40/55) / 2
    "f1_score": F(2, 3),  # 4 / (4 + 1.5 + 0.5)
}
WEIGHTED_F_SCORES = {
    # AUC: n1·n0 = 2.5 · 5.5 = 13.75 pair weight. r1 (w 2, 0.95) is above all negatives:
    # 2 · 5.5 = 11. r2 (w 0.5, 0.35) is above r4 (w 3) and tied with r5 (w 1, ½):
    # 0.5 · (3 + 0.5) = 1.75. AUC = 12.75 / 13.75 = 51/55.
    "roc_auc": F(51, 55),
    # Brier: Σ w (s − y)² = 2·0.05² + 0.5·0.65² + 1.5·0.65² + 3·0.25² + 1·0.35²
    #      = 0.005 + 0.21125 + 0.63375 + 0.1875 + 0.1225 = 1.16; / 8 = 29/200.
    "brier_score_loss": F(29, 200),
    # ECE: bin 9 {r1}: |2 − 1.9| = 0.1; bin 3 {r2, r5}: |0.5 − (0.175 + 0.35)| = 0.025;
    # bin 6 {r3}: |0 − 0.975| = 0.975; bin 2 {r4}: |0 − 0.75| = 0.75. Sum 1.85 / 8 = 37/160.
    "expected_calibration_error": F(37, 160),
}
WEIGHTED_ROWS = {
    # group: (y_true, y_pred, weight, score)
    "F": [(1, 1, 2.0, 0.95), (1, 0, 0.5, 0.35), (0, 1, 1.5, 0.65), (0, 0, 3.0, 0.25),
          (0, 0, 1.0, 0.35)],
    "M": [(0, 0, 1.0, 0.15), (0, 1, 1.0, 0.55), (1, 0, 1.0, 0.45), (1, 1, 1.0, 0.85)],
}  # fmt: skip


def weighted_example(scale: float = 1.0) -> AuditResult:
    rows = [(g, *row) for g, group_rows in WEIGHTED_ROWS.items() for row in group_rows]
    return audit_predictions(
        [r[1] for r in rows],
        [r[2] for r in rows],
        sensitive_features={"sex": [r[0] for r in rows]},
        sample_weight=[r[3] * scale for r in rows],
        y_score=[r[4] for r in rows],
        options=POINT,
    )


def test_weighted_example_by_hand() -> None:
    r = weighted_example()
    f = by_group(r, "sex")["F"]
    assert f.count == 5  # rows, not weight
    assert f.weight == pytest.approx(8.0, **EXACT)
    assert r.data.weighted
    assert r.data.total_weight == pytest.approx(12.0, **EXACT)
    assert f.share == pytest.approx(8 / 12, **EXACT)
    assert_values(f.metrics, WEIGHTED_F_EXPECTED)
    assert_values(f.metrics, WEIGHTED_F_SCORES)


def test_weighted_example_score_metrics_agree_with_sklearn() -> None:
    y, _, w, s = zip(*WEIGHTED_ROWS["F"], strict=True)
    f = by_group(weighted_example(), "sex")["F"].metrics
    assert f["roc_auc"].value == pytest.approx(roc_auc_score(y, s, sample_weight=w), **EXACT)
    assert f["brier_score_loss"].value == pytest.approx(
        brier_score_loss(y, s, sample_weight=w), **EXACT
    )


def test_scaling_all_weights_changes_no_metric() -> None:
    a, b = weighted_example(), weighted_example(scale=10.0)
    for name in (*CONFUSION_METRICS, *SCORE_METRICS):
        for ga, gb in zip(a.attribute("sex").groups, b.attribute("sex").groups, strict=True):
            assert gb.metrics[name].value == pytest.approx(ga.metrics[name].value, **EXACT)


def test_integer_weights_equal_row_repetition() -> None:
    rng = np.random.default_rng(11)
    n = 400
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, 1 - y_true)
    score = np.round(np.clip(0.35 * y_true + 0.65 * rng.random(n), 0, 1), 2)
    weight = rng.integers(0, 4, n)  # 0 to 3: a zero weight is a row repeated zero times
    for key in {(s, c) for s, c in zip(sex, race, strict=True)}:  # keep every cell non-empty
        weight[np.flatnonzero((sex == key[0]) & (race == key[1]))[0]] = 1
    options = AuditOptions(intervals=False, min_group_size=1)
    weighted = audit_predictions(
        y_true, y_pred, sensitive_features={"sex": sex, "race": race}, y_score=score,
        sample_weight=weight.astype(float), options=options,
    )  # fmt: skip
    rep = np.repeat(np.arange(n), weight)
    repeated = audit_predictions(
        y_true[rep], y_pred[rep], sensitive_features={"sex": sex[rep], "race": race[rep]},
        y_score=score[rep], options=options,
    )  # fmt: skip
    names = (*CONFUSION_METRICS, *SCORE_METRICS)
    for name in names:
        assert weighted.overall[name].value == pytest.approx(
            repeated.overall[name].value, **EXACT
        ), name
    for attr in ("sex", "race", "sex × race"):
        gw, gr = by_group(weighted, attr), by_group(repeated, attr)
        assert set(gw) == set(gr)
        for label in gw:
            assert gw[label].weight == pytest.approx(gr[label].count, **EXACT)
            for name in names:
                assert gw[label].metrics[name].value == pytest.approx(
                    gr[label].metrics[name].value, **EXACT
                ), (attr, label, name)


# ---------------------------------------------------------------------------------------------
# Undefined values end to end: NaN with the documented reason, never 0
# ---------------------------------------------------------------------------------------------


def assert_undefined(estimate: audit.Estimate, metric: str) -> None:
    assert math.isnan(estimate.value), metric
    assert estimate.value != 0
    assert not estimate.defined
    assert estimate.undefined_reason == METRIC_INFO[metric].undefined_when
    assert math.isnan(estimate.lower)
    assert math.isnan(estimate.upper)


@pytest.mark.parametrize(("metric", "table"), [(m, t) for m, t in UNDEFINED_CASES if sum(t) > 0])
def test_undefined_metric_end_to_end(metric: str, table: tuple[int, int, int, int]) -> None:
    y_true, y_pred, group = rows_of({"u": table, "d": T1})
    with pytest.warns(UndefinedMetricWarning, match="undefined"):
        r = audit_predictions(y_true, y_pred, sensitive_features={"g": group}, options=POINT)
    groups = by_group(r, "g")
    assert_undefined(groups["u"].metrics[metric], metric)
    # The other group is still the hand value of T1.
    assert groups["d"].metrics[metric].value == pytest.approx(float(T1_EXPECTED[metric]), **EXACT)
    # The undefined group is left out of the disparity, with the reason.
    d = disparity(r, "g", metric, "difference")
    assert "u" not in d.groups_compared
    assert METRIC_INFO[metric].undefined_when in d.excluded_groups["u"]
    assert any(n.startswith("undefined") or "undefined" in n for n in r.notes)


@pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")
def test_group_of_zero_weight_is_empty_for_every_metric() -> None:
    # Group "u" has 3 rows, all with weight 0: it is empty, so even base rate, selection rate,
    # accuracy, error rate, Brier score and ECE are undefined ("the group is empty").
    y_true, y_pred, group = rows_of({"u": (1, 0, 1, 1), "d": T1})
    weight = [0.0 if g == "u" else 1.0 for g in group]
    score = [0.3] * len(group)
    r = audit_predictions(
        y_true, y_pred, sensitive_features={"g": group}, sample_weight=weight, y_score=score,
        options=POINT,
    )  # fmt: skip
    u = by_group(r, "g")["u"]
    assert u.count == 3
    assert u.weight == 0.0
    for name in (*CONFUSION_METRICS, *SCORE_METRICS):
        assert_undefined(u.metrics[name], name)
    assert_values(by_group(r, "g")["d"].metrics, T1_EXPECTED)


@pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")
def test_balanced_accuracy_of_one_class_group_is_nan() -> None:
    # "u": tn=3, fp=1, fn=0, tp=0 — negatives only. sklearn's balanced_accuracy_score would say
    # 3/4 (the recall of the class present); ours is undefined.
    y_true, y_pred, group = rows_of({"u": (3, 1, 0, 0), "d": T1})
    r = audit_predictions(y_true, y_pred, sensitive_features={"g": group}, options=POINT)
    assert_undefined(by_group(r, "g")["u"].metrics["balanced_accuracy"], "balanced_accuracy")


def test_roc_auc_of_one_class_group_is_nan_with_reason() -> None:
    # "u": positives only (fn=1, tp=2). AUC needs both classes; Brier and ECE do not.
    # Brier of u: scores 0.25 (y=1, ŷ=0), 0.65, 0.95 (y=1, ŷ=1):
    #   (0.75² + 0.35² + 0.05²)/3 = (0.5625 + 0.1225 + 0.0025)/3 = 0.6875/3 = 11/48.
    # ECE of u: bins 2, 6, 9, one positive each: (0.75 + 0.35 + 0.05)/3 = 1.15/3 = 23/60.
    # Group "d" has one row of each of tn, fp, fn, tp.
    y_true = [1, 1, 1, 0, 0, 1, 1]
    y_pred = [0, 1, 1, 0, 1, 0, 1]
    score = [0.25, 0.65, 0.95, 0.15, 0.45, 0.55, 0.85]
    group = ["u", "u", "u", "d", "d", "d", "d"]
    with pytest.warns(UndefinedMetricWarning):
        r = audit_predictions(
            y_true, y_pred, sensitive_features={"g": group}, y_score=score, options=POINT
        )
    u = by_group(r, "g")["u"].metrics
    assert_undefined(u["roc_auc"], "roc_auc")
    assert u["brier_score_loss"].value == pytest.approx(11 / 48, **EXACT)
    assert u["expected_calibration_error"].value == pytest.approx(23 / 60, **EXACT)


@pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")
def test_undefined_for_the_whole_population() -> None:
    # No actual positives anywhere: the overall TPR is undefined, with the reason.
    r = audit_predictions(
        [0, 0, 0, 0], [0, 1, 0, 1], sensitive_features={"g": ["a", "a", "b", "b"]}, options=POINT
    )
    tpr = r.overall["true_positive_rate"]
    assert math.isnan(tpr.value)
    assert tpr.undefined_reason is not None
    assert METRIC_INFO["true_positive_rate"].undefined_when in tpr.undefined_reason
    assert r.overall["false_positive_rate"].value == pytest.approx(0.5, **EXACT)


@pytest.mark.filterwarnings("ignore::audit.UndefinedMetricWarning")
def test_brier_and_ece_are_undefined_for_non_probability_scores() -> None:
    r = audit_predictions(
        [0, 1, 0, 1], [0, 1, 1, 1], sensitive_features={"g": ["a", "a", "b", "b"]},
        y_score=[-2.0, 3.0, 0.5, 7.5], options=AuditOptions(intervals=False, min_group_size=1,
                                                            score_type="score"),
    )  # fmt: skip
    for g in r.attribute("g").groups:
        assert g.metrics["roc_auc"].value == 1.0  # each group: the positive scores higher
        for name in ("brier_score_loss", "expected_calibration_error"):
            e = g.metrics[name]
            assert math.isnan(e.value)
            assert e.undefined_reason is not None
            assert "score_type" in e.undefined_reason


def test_no_warning_when_every_group_metric_is_defined() -> None:
    y_true, y_pred, group = rows_of({"g": T1, "h": T2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = audit_predictions(y_true, y_pred, sensitive_features={"team": group}, options=POINT)
    assert not any("undefined" in n for n in r.notes)


# ---------------------------------------------------------------------------------------------
# Scores: ECE over 10 bins, Brier, AUC with ties
# ---------------------------------------------------------------------------------------------

# Ten rows of one group (score, y); ŷ = [score ≥ 0.5].
ECE_ROWS = [
    (0.05, 0), (0.15, 1), (0.25, 0), (0.25, 1), (0.55, 1),
    (0.65, 0), (0.75, 1), (0.85, 1), (0.95, 1), (1.0, 0),
]  # fmt: skip
# ECE, per bin |Σy − Σs| (bins [k/10, (k+1)/10), the last one closed: 1.0 is in bin 9):
#   bin 0: |0 − 0.05| = 0.05         bin 1: |1 − 0.15| = 0.85
#   bin 2: |1 − 0.50| = 0.50         bins 3, 4: empty
#   bin 5: |1 − 0.55| = 0.45         bin 6: |0 − 0.65| = 0.65
#   bin 7: |1 − 0.75| = 0.25         bin 8: |1 − 0.85| = 0.15
#   bin 9: {0.95 (y=1), 1.0 (y=0)}: |1 − 1.95| = 0.95
#   sum 3.85, / 10 rows = 0.385 = 77/200.
#   (Were 1.0 a bin of its own: bin 9 |1 − 0.95| = 0.05 and |0 − 1| = 1, giving 0.395.)
# Brier: Σ(s − y)² = 0.0025 + 0.7225 + 0.0625 + 0.5625 + 0.2025 + 0.4225 + 0.0625 + 0.0225
#        + 0.0025 + 1 = 3.0625; / 10 = 49/160.
# AUC: positives 0.15, 0.25, 0.55, 0.75, 0.85, 0.95; negatives 0.05, 0.25, 0.65, 1.0; 24 pairs.
#   0.15 beats 1; 0.25 beats 1 and ties 1: 1.5; 0.55 beats 2; 0.75, 0.85, 0.95 beat 3 each.
#   (1 + 1.5 + 2 + 9) / 24 = 13.5 / 24 = 9/16.
ECE_EXPECTED = {
    "expected_calibration_error": F(77, 200),
    "brier_score_loss": F(49, 160),
    "roc_auc": F(9, 16),
}


def ece_audit(options: AuditOptions = POINT) -> AuditResult:
    score = [s for s, _ in ECE_ROWS]
    y = [t for _, t in ECE_ROWS]
    return audit_predictions(
        y, [int(s >= 0.5) for s in score], sensitive_features={"g": ["one"] * 10},
        y_score=score, options=options,
    )  # fmt: skip


def test_ece_brier_auc_by_hand_over_ten_bins() -> None:
    r = ece_audit()
    assert r.data.score_binning.startswith("exact")
    assert r.data.roc_auc_max_binning_error == 0.0
    assert_values(by_group(r, "g")["one"].metrics, ECE_EXPECTED)
    assert_values(r.overall, ECE_EXPECTED)


def test_score_of_exactly_one_is_in_the_last_calibration_bin() -> None:
    # A positive at 0.95 and a negative at 1.0. Bin 9 holds both: |1 − 1.95| / 2 = 0.475.
    # (Were 1.0 in a bin of its own: (|1 − 0.95| + |0 − 1|) / 2 = 0.525.)
    r = audit_predictions(
        [1, 0], [1, 0], sensitive_features={"g": ["a", "a"]}, y_score=[0.95, 1.0], options=POINT
    )
    assert r.overall["expected_calibration_error"].value == pytest.approx(0.475, **EXACT)


def test_ece_and_brier_stay_exact_with_equal_width_score_bins() -> None:
    # 9 distinct scores > score_bins=5 forces equal-width bins (10 of width 0.1, one per
    # calibration bin), so ECE and Brier are unchanged; only the AUC may move, within the
    # reported bound (0.95 and 1.0 now tie: AUC (13.5 + 0.5)/24, bound (½·2 tied pairs)/24).
    # score_bins=5 is below what a spec or audit_predictions accepts (10): the counting step
    # is called directly, to see it fall back to equal-width bins with few distinct scores.
    score = [s for s, _ in ECE_ROWS]
    frame = pd.DataFrame({"y": [t for _, t in ECE_ROWS], "p": [int(s >= 0.5) for s in score],
                          "s": score, "g": ["one"] * 10})  # fmt: skip
    prepared = prepare_data(frame, y_true="y", y_pred="p", y_score="s", sensitive_features=["g"])
    stats = count_statistics(prepared, score_bins=5)
    r = audit_statistics(stats, options=AuditOptions(intervals=False, min_group_size=1))
    assert r.data.score_binning.startswith("equal-width")
    m = by_group(r, "g")["one"].metrics
    assert_values(
        m,
        {k: v for k, v in ECE_EXPECTED.items() if k != "roc_auc"},
    )
    bound = r.data.roc_auc_max_binning_error
    assert bound > 0
    assert abs(m["roc_auc"].value - float(ECE_EXPECTED["roc_auc"])) <= bound + 1e-12


def ece_by_definition(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Σ_b (n_b/n)·|mean(y)_b − mean(s)_b| with bins [k/10, (k+1)/10), 1.0 in the last."""
    b = np.minimum(np.floor(s * 10).astype(int), 9)
    total = 0.0
    for k in range(10):
        m = b == k
        total += abs(float(np.sum(w[m] * y[m])) - float(np.sum(w[m] * s[m])))
    return total / float(np.sum(w))


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_with_ties_equals_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(5)
    n = 600
    g = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    s = rng.integers(0, 5, n) / 4  # five distinct scores: many ties within and across labels
    s = np.where(rng.random(n) < 0.6, np.clip(s + 0.25 * y, 0, 1), s)
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    r = audit_predictions(
        y, y, sensitive_features={"g": g}, y_score=s, sample_weight=w if weighted else None,
        options=POINT,
    )  # fmt: skip
    assert r.data.score_binning.startswith("exact")
    for label, grp in by_group(r, "g").items():
        m = g == label
        want_auc = roc_auc_score(y[m], s[m], sample_weight=w[m])
        want_brier = brier_score_loss(y[m], s[m], sample_weight=w[m])
        assert grp.metrics["roc_auc"].value == pytest.approx(want_auc, **EXACT)
        assert grp.metrics["brier_score_loss"].value == pytest.approx(want_brier, **EXACT)
        assert grp.metrics["expected_calibration_error"].value == pytest.approx(
            ece_by_definition(y[m], s[m], w[m]), **EXACT
        )
    assert r.overall["roc_auc"].value == pytest.approx(
        roc_auc_score(y, s, sample_weight=w), **EXACT
    )


# ---------------------------------------------------------------------------------------------
# Intersections: sex × race
# ---------------------------------------------------------------------------------------------

# Cells (tn, fp, fn, tp):
#   F×A (2, 1, 0, 1) n=4: sel 2/4, TPR 1/1, FPR 1/3, precision 1/2, accuracy 3/4
#   F×B (1, 0, 1, 2) n=4: sel 2/4, TPR 2/3, FPR 0/1, precision 2/2, accuracy 3/4
#   M×A (2, 0, 1, 1) n=4: sel 1/4, TPR 1/2, FPR 0/2, precision 1/1, accuracy 3/4
#   M×B (0, 2, 1, 3) n=6: sel 5/6, TPR 3/4, FPR 2/2, precision 3/5, accuracy 3/6
# Marginals (sums of cells):
#   F = (3, 1, 1, 3) n=8:  sel 4/8,  TPR 3/4, FPR 1/4, precision 3/4, accuracy 6/8
#   M = (2, 2, 2, 4) n=10: sel 6/10, TPR 4/6, FPR 2/4, precision 4/6, accuracy 6/10
#   A = (4, 1, 1, 2) n=8:  sel 3/8,  TPR 2/3, FPR 1/5, precision 2/3, accuracy 6/8
#   B = (1, 2, 2, 5) n=10: sel 7/10, TPR 5/7, FPR 2/3, precision 5/7, accuracy 6/10
CELLS = {("F", "A"): (2, 1, 0, 1), ("F", "B"): (1, 0, 1, 2), ("M", "A"): (2, 0, 1, 1),
         ("M", "B"): (0, 2, 1, 3)}  # fmt: skip
SOME = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")
INTERSECTION_EXPECTED = {
    "F × A": (F(2, 4), F(1, 1), F(1, 3), F(1, 2), F(3, 4)),
    "F × B": (F(2, 4), F(2, 3), F(0, 1), F(2, 2), F(3, 4)),
    "M × A": (F(1, 4), F(1, 2), F(0, 2), F(1, 1), F(3, 4)),
    "M × B": (F(5, 6), F(3, 4), F(2, 2), F(3, 5), F(3, 6)),
    "F": (F(4, 8), F(3, 4), F(1, 4), F(3, 4), F(6, 8)),
    "M": (F(6, 10), F(4, 6), F(2, 4), F(4, 6), F(6, 10)),
    "A": (F(3, 8), F(2, 3), F(1, 5), F(2, 3), F(6, 8)),
    "B": (F(7, 10), F(5, 7), F(2, 3), F(5, 7), F(6, 10)),
}


def intersection_audit() -> AuditResult:
    y_true, y_pred, cell = rows_of(CELLS)
    order = np.random.default_rng(1).permutation(len(y_true))  # rows in no particular order
    return audit_predictions(
        np.array(y_true)[order],
        np.array(y_pred)[order],
        sensitive_features={
            "sex": [cell[i][0] for i in order],
            "race": [cell[i][1] for i in order],
        },
        options=POINT,
    )


def test_intersection_cells_by_hand() -> None:
    r = intersection_audit()
    assert [a.name for a in r.attributes] == ["sex", "race", "sex × race"]
    cells = by_group(r, "sex × race")
    assert set(cells) == {"F × A", "F × B", "M × A", "M × B"}
    assert cells["M × B"].categories == ("M", "B")
    assert {k: g.count for k, g in cells.items()} == {
        "F × A": 4, "F × B": 4, "M × A": 4, "M × B": 6
    }  # fmt: skip
    for label in ("F × A", "F × B", "M × A", "M × B"):
        assert_values(cells[label].metrics, dict(zip(SOME, INTERSECTION_EXPECTED[label],
                                                     strict=True)))  # fmt: skip
    # The sufficient statistics are the hand tables.
    assert {(c.categories, (c.tn, c.fp, c.fn, c.tp)) for c in r.cells} == set(CELLS.items())


def test_marginal_groups_by_hand() -> None:
    r = intersection_audit()
    sex, race = by_group(r, "sex"), by_group(r, "race")
    assert (sex["F"].count, sex["M"].count, race["A"].count, race["B"].count) == (8, 10, 8, 10)
    for label, groups in (("F", sex), ("M", sex), ("A", race), ("B", race)):
        assert_values(groups[label].metrics, dict(zip(SOME, INTERSECTION_EXPECTED[label],
                                                      strict=True)))  # fmt: skip


def test_marginal_groups_equal_the_sum_of_their_cells() -> None:
    r = intersection_audit()
    cells = by_group(r, "sex × race")
    for feature, position in (("sex", 0), ("race", 1)):
        for label, g in by_group(r, feature).items():
            members = [c for c in cells.values() if c.categories[position] == label]
            assert g.count == sum(c.count for c in members)
            summed = np.sum([CELLS[c.categories] for c in members], axis=0).astype(float)
            expected = confusion_metrics(summed)
            for name in CONFUSION_METRICS:
                assert g.metrics[name].value == pytest.approx(float(expected[name]), **EXACT)


def test_three_features_give_marginals_and_the_full_intersection() -> None:
    # Per combination of a ∈ {x, y}, b ∈ {p, q}, c ∈ {u, v}: rows (y=0, ŷ=0) and (y=1, ŷ=1);
    # cell x × p × u also has a missed positive (y=1, ŷ=0): tn=1, fp=0, fn=1, tp=1, TPR 1/2.
    rows = []
    for a in "xy":
        for b in "pq":
            for c in "uv":
                rows += [(a, b, c, 0, 0), (a, b, c, 1, 1)]
    rows.append(("x", "p", "u", 1, 0))
    r = audit_predictions(
        [row[3] for row in rows], [row[4] for row in rows],
        sensitive_features={k: [row[i] for row in rows] for i, k in enumerate("abc")},
        options=POINT,
    )  # fmt: skip
    assert [x.name for x in r.attributes] == ["a", "b", "c", "a × b × c"]
    cells = by_group(r, "a × b × c")
    assert len(cells) == 8
    assert cells["x × p × u"].count == 3
    assert cells["x × p × u"].metrics["true_positive_rate"].value == pytest.approx(0.5, **EXACT)
    assert cells["y × q × v"].metrics["true_positive_rate"].value == 1.0  # 1/1
    # Marginal x: 4 cells, 9 rows, 5 positives of which 4 found: TPR 4/5; y: 4/4.
    a = by_group(r, "a")
    assert a["x"].count == 9
    assert a["x"].metrics["true_positive_rate"].value == pytest.approx(0.8, **EXACT)
    assert a["y"].metrics["true_positive_rate"].value == 1.0
    # Marginal p (of b): cells x×p×u, x×p×v, y×p×u, y×p×v: TPR 4/5, accuracy 8/9.
    b = by_group(r, "b")
    assert b["p"].metrics["true_positive_rate"].value == pytest.approx(0.8, **EXACT)
    assert b["p"].metrics["accuracy"].value == pytest.approx(8 / 9, **EXACT)


def test_counting_in_chunks_gives_the_same_statistics() -> None:
    # The counting step works through the rows in chunks; the statistics must not depend on
    # the chunk size (here 7 rows, so chunks split cells, labels and score bins).
    from audit._statistics import count_statistics
    from audit._validation import prepare_data

    rng = np.random.default_rng(5)
    n = 500
    df = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),
            "p": rng.integers(0, 2, n),
            "s": rng.random(n).round(3),
            "w": rng.uniform(0.5, 2.0, n),
            "g": rng.choice(["a", "b", None], n),
            "h": rng.choice(["x", "y"], n),
        }
    )
    prepared = prepare_data(
        df, y_true="y", y_pred="p", y_score="s", sample_weight="w", sensitive_features=["g", "h"]
    )
    whole = count_statistics(prepared, chunk=n)
    chunked = count_statistics(prepared, chunk=7)
    assert whole.scores is not None
    assert chunked.scores is not None
    np.testing.assert_array_equal(whole.cells, chunked.cells)
    np.testing.assert_array_equal(whole.confusion_count, chunked.confusion_count)
    np.testing.assert_allclose(whole.confusion_weight, chunked.confusion_weight, rtol=1e-13)
    np.testing.assert_array_equal(whole.scores.count, chunked.scores.count)
    for field in ("weight", "score_sum", "score_sumsq", "above_median_weight"):
        np.testing.assert_allclose(
            getattr(whole.scores, field), getattr(chunked.scores, field), rtol=1e-12, atol=1e-12
        )
    np.testing.assert_array_equal(
        whole.scores.above_median_count, chunked.scores.above_median_count
    )
    np.testing.assert_array_equal(whole.missing_count, chunked.missing_count)
    # and the confusion counts by brute force over the rows
    for cell, counts in zip(whole.cells, whole.confusion_count, strict=True):
        g = prepared.features[0].categories[cell[0]]
        h = prepared.features[1].categories[cell[1]]
        rows = df[(df["g"].fillna("unknown") == g) & (df["h"] == h)]
        want = [((rows["y"] == t) & (rows["p"] == q)).sum() for t in (0, 1) for q in (0, 1)]
        assert counts.tolist() == want
