"""Every per-group value and disparity against fairlearn's MetricFrame and scikit-learn.

fairlearn and scikit-learn are the peers: their metric functions run on the rows of each group
(MetricFrame), ours on sufficient statistics. Values must agree to 1e-12 wherever the metric
is defined. Where it is not (a zero denominator), the peers return 0 (or, for balanced
accuracy, the recall of the one class present); ours is NaN with a reason. That difference
is deliberate, and each case is asserted explicitly below, by name.

Peer calls are wrapped in ``warnings.catch_warnings()`` (fairlearn and scikit-learn warn on
undefined values); our calls never are.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import fairlearn.metrics as fm
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    roc_auc_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from audit import (
    CONFUSION_METRICS,
    METRIC_INFO,
    SCORE_METRICS,
    AuditOptions,
    AuditResult,
    Policy,
    Threshold,
    UndefinedMetricWarning,
    audit_predictions,
)
from audit.datasets import load_adult

TOL = {"rel": 1e-12, "abs": 1e-12}
JOIN = " × "


@contextmanager
def peer_warnings_ignored() -> Iterator[None]:
    """fairlearn / scikit-learn warn on undefined values; only their calls go in here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ---------------------------------------------------------------------------------------------
# Peer metric functions
# ---------------------------------------------------------------------------------------------


def _table(y_true: Any, y_pred: Any, sample_weight: Any = None) -> tuple[float, ...]:
    """Weighted (tn, fp, fn, tp) of the rows, by plain sums."""
    t = np.asarray(y_true) == 1
    p = np.asarray(y_pred) == 1
    w = np.ones(t.size) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return tuple(float(w[m].sum()) for m in (~t & ~p, ~t & p, t & ~p, t & p))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


# Metrics neither fairlearn nor scikit-learn names: small definitions (NaN when undefined).
def base_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    tn, fp, fn, tp = _table(y_true, y_pred, sample_weight)
    return _ratio(fn + tp, tn + fp + fn + tp)


def negative_predictive_value(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    tn, _, fn, _ = _table(y_true, y_pred, sample_weight)
    return _ratio(tn, tn + fn)


def false_discovery_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    _, fp, _, tp = _table(y_true, y_pred, sample_weight)
    return _ratio(fp, fp + tp)


def false_omission_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    tn, _, fn, _ = _table(y_true, y_pred, sample_weight)
    return _ratio(fn, tn + fn)


def error_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    tn, fp, fn, tp = _table(y_true, y_pred, sample_weight)
    return _ratio(fp + fn, tn + fp + fn + tp)


def expected_calibration_error(y_true: Any, y_prob: Any, sample_weight: Any = None) -> float:
    """Σ_b (n_b/n)·|mean(y)_b − mean(s)_b|, bins [k/10, (k+1)/10), 1.0 in the last bin."""
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(y_prob, dtype=float)
    w = np.ones_like(s) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    b = np.minimum(np.floor(s * 10).astype(int), 9)
    gap = sum(abs(float(np.sum((w * (y - s))[b == k]))) for k in range(10))
    return gap / float(np.sum(w))


CONFUSION_PEERS: dict[str, Callable[..., float]] = {
    "base_rate": base_rate,
    "selection_rate": fm.selection_rate,
    "true_positive_rate": partial(fm.true_positive_rate, pos_label=1),
    "false_positive_rate": partial(fm.false_positive_rate, pos_label=1),
    "false_negative_rate": partial(fm.false_negative_rate, pos_label=1),
    "true_negative_rate": partial(fm.true_negative_rate, pos_label=1),
    "precision": partial(precision_score, zero_division=0),
    "negative_predictive_value": negative_predictive_value,
    "false_discovery_rate": false_discovery_rate,
    "false_omission_rate": false_omission_rate,
    "accuracy": accuracy_score,
    "error_rate": error_rate,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_score": partial(f1_score, zero_division=0),
}
SCORE_PEERS: dict[str, Callable[..., float]] = {
    "roc_auc": roc_auc_score,
    "brier_score_loss": partial(brier_score_loss, pos_label=1),
    "expected_calibration_error": expected_calibration_error,
}
# Where a metric is undefined, what the peer says instead.
PEER_SAYS_ZERO = {
    "true_positive_rate",
    "false_negative_rate",
    "false_positive_rate",
    "true_negative_rate",
    "precision",
    "f1_score",
}


def test_peers_cover_every_metric() -> None:
    assert set(CONFUSION_PEERS) == set(CONFUSION_METRICS)
    assert set(SCORE_PEERS) == set(SCORE_METRICS)


# ---------------------------------------------------------------------------------------------
# Comparison of a whole result with MetricFrame
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    frame: pd.DataFrame  # sensitive feature columns
    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray
    weight: np.ndarray | None

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)

    def attributes(self) -> list[tuple[str, ...]]:
        """Our attributes: each feature, and the full intersection when there are several."""
        single = [(f,) for f in self.features]
        return single + ([self.features] if len(self.features) > 1 else [])

    def sensitive(self, features: tuple[str, ...]) -> pd.Series | pd.DataFrame:
        return self.frame[features[0]] if len(features) == 1 else self.frame[list(features)]


def run_ours(data: Data, **options: Any) -> AuditResult:
    opts = {"intervals": False, "min_group_size": 1, **options}
    return audit_predictions(
        data.y_true,
        data.y_pred,
        sensitive_features=data.frame,
        y_score=data.y_score,
        sample_weight=data.weight,
        options=AuditOptions(**opts),
    )


def run_quiet(data: Data, **options: Any) -> AuditResult:
    """Ours, where undefined values are expected: the one warning is asserted, not hidden."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_ours(data, **options)
    # Groups without rows (empty intersections) have every value undefined and a note of
    # their own ("N combinations of categories have no rows"); the warning is for the rest.
    undefined = any(
        not e.defined
        for a in result.attributes
        for g in a.groups
        if g.count > 0
        for e in g.metrics.values()
    )
    ours = [w for w in caught if issubclass(w.category, UndefinedMetricWarning)]
    others = [w for w in caught if not issubclass(w.category, UndefinedMetricWarning)]
    assert not others, [str(w.message) for w in others]
    assert len(ours) == (1 if undefined else 0)
    return result


def metric_frames(data: Data, features: tuple[str, ...]) -> tuple[MetricFrame, MetricFrame]:
    params = None
    if data.weight is not None:
        params = {name: {"sample_weight": data.weight} for name in CONFUSION_PEERS}
    score_params = None
    if data.weight is not None:
        score_params = {name: {"sample_weight": data.weight} for name in SCORE_PEERS}
    sf = data.sensitive(features)
    with peer_warnings_ignored():
        confusion = MetricFrame(
            metrics={**CONFUSION_PEERS, "count": fm.count},
            y_true=data.y_true,
            y_pred=data.y_pred,
            sensitive_features=sf,
            sample_params=params,
        )
        scores = MetricFrame(
            metrics=SCORE_PEERS,
            y_true=data.y_true,
            y_pred=data.y_score,
            sensitive_features=sf,
            sample_params=score_params,
        )
    return confusion, scores


def undefined_by_rows(y: np.ndarray, p: np.ndarray) -> dict[str, bool]:
    """When each metric has a zero denominator, from the rows themselves (weights > 0)."""
    n, pos, ppos = y.size, int(y.sum()), int(p.sum())
    neg, pneg = n - pos, n - ppos
    return {
        "base_rate": n == 0,
        "selection_rate": n == 0,
        "accuracy": n == 0,
        "error_rate": n == 0,
        "true_positive_rate": pos == 0,
        "false_negative_rate": pos == 0,
        "false_positive_rate": neg == 0,
        "true_negative_rate": neg == 0,
        "precision": ppos == 0,
        "false_discovery_rate": ppos == 0,
        "negative_predictive_value": pneg == 0,
        "false_omission_rate": pneg == 0,
        "f1_score": pos == 0 and ppos == 0,
        "balanced_accuracy": pos == 0 or neg == 0,
        "roc_auc": pos == 0 or neg == 0,
        "brier_score_loss": n == 0,
        "expected_calibration_error": n == 0,
    }


def check_value(
    name: str, ours: Any, peer: float, peer_accuracy: float, undefined: bool, where: str
) -> None:
    """One metric of one group: equal to the peer where defined; NaN (peer 0 etc.) if not."""
    if not undefined:
        assert ours.defined, (where, name, ours)
        assert ours.value == pytest.approx(peer, **TOL), (where, name)
        return
    assert math.isnan(ours.value), (where, name, ours.value)
    if name in PEER_SAYS_ZERO:
        assert peer == 0.0, (where, name, peer)
    elif name == "balanced_accuracy":
        # scikit-learn: the recall of the one class present, which is the accuracy.
        assert peer == pytest.approx(peer_accuracy, **TOL), (where, peer)
    else:  # our own definitions above, and roc_auc_score with one class: NaN too
        assert math.isnan(peer), (where, name, peer)


def compare_with_metricframe(result: AuditResult, data: Data) -> int:
    """Every group of every attribute against MetricFrame; returns the groups compared."""
    compared = 0
    for features in data.attributes():
        confusion, scores = metric_frames(data, features)
        peer = pd.concat([confusion.by_group, scores.by_group], axis=1)
        attribute = result.attribute(JOIN.join(features))
        keys = set()
        for g in attribute.groups:
            key = g.categories[0] if len(features) == 1 else tuple(g.categories)
            keys.add(key)
            row = peer.loc[key]
            mask = np.ones(data.y_true.size, dtype=bool)
            for f, c in zip(features, g.categories, strict=True):
                mask &= data.frame[f].to_numpy() == c
            undefined = undefined_by_rows(data.y_true[mask], data.y_pred[mask])
            if mask.sum() == 0:
                # An empty combination: MetricFrame lists it with NaN everywhere; ours has
                # n = 0 and every value undefined for the reason "no rows".
                assert g.count == 0
                assert math.isnan(row["count"])
                for name in (*CONFUSION_METRICS, *SCORE_METRICS):
                    assert math.isnan(row[name]), (g.group, name)
                    assert not g.metrics[name].defined
                    assert g.metrics[name].undefined_reason == "no rows"
                compared += 1
                continue
            assert g.count == row["count"] == mask.sum()
            weight = mask.sum() if data.weight is None else data.weight[mask].sum()
            assert g.weight == pytest.approx(weight, **TOL)
            for name in (*CONFUSION_METRICS, *SCORE_METRICS):
                est = g.metrics[name]
                check_value(name, est, row[name], row["accuracy"], undefined[name], g.group)
                if undefined[name]:
                    assert est.undefined_reason == METRIC_INFO[name].undefined_when
                else:
                    assert est.undefined_reason is None
            compared += 1
        # The same groups, the combinations without rows included (fairlearn lists them too).
        assert keys == set(peer.index)
    # The whole population.
    confusion, scores = metric_frames(data, data.features[:1])
    overall = pd.concat([confusion.overall, scores.overall])
    undefined = undefined_by_rows(data.y_true, data.y_pred)
    for name in (*CONFUSION_METRICS, *SCORE_METRICS):
        check_value(
            name, result.overall[name], overall[name], overall["accuracy"], undefined[name], "all"
        )
    return compared


# ---------------------------------------------------------------------------------------------
# Random data (hypothesis)
# ---------------------------------------------------------------------------------------------

RATES = st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0])


@st.composite
def random_data(draw: st.DrawFn, *, all_cells_complete: bool = False) -> Data:
    """Up to 300 rows, 1-3 sensitive features of 1-4 categories, some rare.

    Per category of the first feature, P(y=1) and P(ŷ=1) are drawn from {0, .1, .5, .9, 1}:
    groups without positives, without negatives, without predicted positives or negatives
    (one-class and empty-outcome groups) are common. With ``all_cells_complete`` every
    combination of categories gets one row of each of tn, fp, fn, tp first, so that every
    group of every attribute has every metric defined and positive.
    """
    k = draw(st.integers(1, 3))
    n_cats = [draw(st.integers(1, 4)) for _ in range(k)]
    n = draw(st.integers(1, 300))
    weighted = draw(st.booleans())
    p_true = [draw(RATES) for _ in range(n_cats[0])]
    p_pred = [draw(RATES) for _ in range(n_cats[0])]
    concentration = draw(st.sampled_from([0.3, 1.0, 10.0]))  # low: some categories rare
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = ["sex", "race", "age"][:k]
    cats = [
        [f"{name[0].upper()}{i}" for i in range(m)] for name, m in zip(names, n_cats, strict=True)
    ]
    codes = [rng.choice(m, n, p=rng.dirichlet(np.full(m, concentration))) for m in n_cats]
    y_true = (rng.random(n) < np.asarray(p_true)[codes[0]]).astype(np.int64)
    y_pred = (rng.random(n) < np.asarray(p_pred)[codes[0]]).astype(np.int64)
    # Scores on a grid of 0.01 (many ties), loosely related to the label; 0 and 1 included.
    y_score = np.round(np.clip(0.3 * y_true + rng.random(n) * 0.8 - 0.05, 0.0, 1.0), 2)
    if all_cells_complete:
        grid = np.array(np.meshgrid(*[np.arange(m) for m in n_cats], indexing="ij"))
        combos = grid.reshape(k, -1).T  # every combination of categories
        forced = np.repeat(combos, 4, axis=0)
        bins = np.tile(np.arange(4), len(combos))
        codes = [np.concatenate([forced[:, j], codes[j]]) for j in range(k)]
        y_true = np.concatenate([bins // 2, y_true])
        y_pred = np.concatenate([bins % 2, y_pred])
        y_score = np.concatenate([np.full(len(bins), 0.45), y_score])
    size = y_true.size
    weight = np.round(rng.uniform(0.1, 4.0, size), 3) if weighted else None
    frame = pd.DataFrame(
        {name: np.asarray(c, dtype=object)[code] for name, c, code in zip(names, cats, codes,
                                                                         strict=True)}
    )  # fmt: skip
    return Data(frame, y_true, y_pred, y_score, weight)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_data())
def test_every_group_value_equals_metricframe(data: Data) -> None:
    result = run_quiet(data)
    assert result.data.score_binning.startswith("exact")
    assert compare_with_metricframe(result, data) >= len(data.features)


# ---------------------------------------------------------------------------------------------
# Disparities against MetricFrame.difference/ratio and fairlearn's named functions
# ---------------------------------------------------------------------------------------------

DISPARITY_METRICS = (*CONFUSION_METRICS, "roc_auc", "brier_score_loss")
NAMED = {
    "demographic_parity": (fm.demographic_parity_difference, fm.demographic_parity_ratio),
    "equal_opportunity": (fm.equal_opportunity_difference, fm.equal_opportunity_ratio),
    "equalized_odds": (fm.equalized_odds_difference, fm.equalized_odds_ratio),
}
POLICY = Policy(
    tuple(Threshold(f"{c}_{m}", 0.5) for c in NAMED for m in ("difference", "ratio")),
    decision_rule="point",
)


def compare_disparities(data: Data, method: str) -> None:
    result = run_ours(data, disparity_method=method)  # must not warn: everything is defined
    result_with_policy = audit_predictions(
        data.y_true,
        data.y_pred,
        sensitive_features=data.frame,
        y_score=data.y_score,
        sample_weight=data.weight,
        policy=POLICY,
        options=AuditOptions(intervals=False, min_group_size=1, disparity_method=method),
    )
    for features in data.attributes():
        name = JOIN.join(features)
        confusion, scores = metric_frames(data, features)
        with peer_warnings_ignored():
            diff = pd.concat(
                [confusion.difference(method=method), scores.difference(method=method)]
            )
            ratio = pd.concat([confusion.ratio(method=method), scores.ratio(method=method)])
        by_metric = {(d.metric, d.measure): d.estimate for d in result.attribute(name).disparities}
        if method == "between_groups" and len(confusion.by_group) < 2:
            # One group only: fairlearn says difference 0 and ratio 1 (no disparity); ours
            # says there is nothing to compare. (To the overall value, both say 0 and 1.)
            assert diff.eq(0).all()
            assert ratio.eq(1).all()
            for estimate in by_metric.values():
                assert math.isnan(estimate.value)
                assert estimate.undefined_reason == (
                    "fewer than two groups with sufficient data and a defined value"
                )
            continue
        for metric in DISPARITY_METRICS:
            assert by_metric[(metric, "difference")].value == pytest.approx(diff[metric], **TOL), (
                name,
                metric,
            )
            assert by_metric[(metric, "ratio")].value == pytest.approx(ratio[metric], **TOL), (
                name,
                metric,
            )
        criteria = {c.criterion: c.estimate.value for c in result_with_policy.criteria
                    if c.attribute == name}  # fmt: skip
        for criterion, (difference_fn, ratio_fn) in NAMED.items():
            with peer_warnings_ignored():
                kwargs = {
                    "sensitive_features": data.sensitive(features),
                    "method": method,
                    "sample_weight": data.weight,
                }
                want_diff = difference_fn(data.y_true, data.y_pred, **kwargs)
                want_ratio = ratio_fn(data.y_true, data.y_pred, **kwargs)
            assert criteria[f"{criterion}_difference"] == pytest.approx(want_diff, **TOL)
            assert criteria[f"{criterion}_ratio"] == pytest.approx(want_ratio, **TOL)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_data(all_cells_complete=True), st.sampled_from(["between_groups", "to_overall"]))
def test_disparities_equal_metricframe_and_named_functions(data: Data, method: str) -> None:
    compare_disparities(data, method)


# ---------------------------------------------------------------------------------------------
# Where the peers say 0 for an undefined value: ours is NaN. By name, on small examples.
# ---------------------------------------------------------------------------------------------


def two_groups(
    y_true: list[int],
    y_pred: list[int],
    sample_weight: list[float] | None = None,
    *,
    undefined: bool = True,
) -> tuple[Data, AuditResult]:
    """Group "u" holds the given rows; group "d" has one row of each of tn, fp, fn, tp."""
    yt = np.array([*y_true, 0, 0, 1, 1])
    yp = np.array([*y_pred, 0, 1, 0, 1])
    groups = ["u"] * len(y_true) + ["d"] * 4
    score = np.linspace(0.1, 0.9, yt.size).round(2)
    weight = None if sample_weight is None else np.array([*sample_weight, 1, 1, 1, 1], float)
    data = Data(pd.DataFrame({"g": groups}), yt, yp, score, weight)
    if undefined:
        with pytest.warns(UndefinedMetricWarning):
            result = run_ours(data)
    else:
        result = run_ours(data)  # everything defined: must not warn
    return data, result


def ours_and_peer(data: Data, result: AuditResult, metric: str) -> tuple[Any, float]:
    ours = next(g for g in result.attribute("g").groups if g.group == "u").metrics[metric]
    confusion, scores = metric_frames(data, ("g",))
    frame = pd.concat([confusion.by_group, scores.by_group], axis=1)
    return ours, float(frame.loc["u", metric])


def test_one_class_population_with_scores_emits_no_runtime_warning() -> None:
    # No actual positives at all: AUC is undefined everywhere. That deserves the one
    # UndefinedMetricWarning, and no numpy RuntimeWarning ("All-NaN slice encountered").
    data = Data(pd.DataFrame({"g": ["a", "b"]}), np.array([0, 0]), np.array([0, 1]),
                np.array([0.2, 0.4]), None)  # fmt: skip
    result = run_quiet(data)
    assert math.isnan(result.overall["roc_auc"].value)
    assert result.overall["brier_score_loss"].value == pytest.approx(0.1, **TOL)  # (.04+.16)/2


def test_tpr_of_group_without_positives_is_nan_where_fairlearn_says_0() -> None:
    data, result = two_groups([0, 0, 0], [0, 1, 0])
    ours, peer = ours_and_peer(data, result, "true_positive_rate")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group has no actual positives"
    assert peer == 0.0


def test_fnr_of_group_without_positives_is_nan_where_fairlearn_says_0() -> None:
    data, result = two_groups([0, 0, 0], [0, 1, 0])
    ours, peer = ours_and_peer(data, result, "false_negative_rate")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group has no actual positives"
    assert peer == 0.0


@pytest.mark.parametrize("metric", ["false_positive_rate", "true_negative_rate"])
def test_fpr_and_tnr_of_group_without_negatives_are_nan_where_fairlearn_says_0(
    metric: str,
) -> None:
    data, result = two_groups([1, 1, 1], [1, 0, 1])
    ours, peer = ours_and_peer(data, result, metric)
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group has no actual negatives"
    assert peer == 0.0


def test_precision_of_group_without_predicted_positives_is_nan_where_sklearn_says_0() -> None:
    data, result = two_groups([0, 1, 1], [0, 0, 0])
    ours, peer = ours_and_peer(data, result, "precision")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group has no predicted positives"
    assert peer == 0.0


def test_f1_of_group_without_any_positives_is_nan_where_sklearn_says_0() -> None:
    data, result = two_groups([0, 0], [0, 0])
    ours, peer = ours_and_peer(data, result, "f1_score")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group has no actual and no predicted positives"
    assert peer == 0.0


def test_f1_of_group_with_no_true_positive_is_0_like_sklearn() -> None:
    # Not undefined: 2·0 / (0 + 1 + 1) = 0 — both say 0.
    data, result = two_groups([0, 1], [1, 0], undefined=False)
    ours, peer = ours_and_peer(data, result, "f1_score")
    assert ours.value == 0.0
    assert peer == 0.0


def test_balanced_accuracy_of_one_class_group_is_nan_where_sklearn_gives_recall_of_present_class() -> (  # noqa: E501
    None
):
    # Negatives only, 3 of 4 predicted right: sklearn says 3/4 (the recall of class 0).
    data, result = two_groups([0, 0, 0, 0], [0, 1, 0, 0])
    ours, peer = ours_and_peer(data, result, "balanced_accuracy")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group lacks actual positives or actual negatives"
    assert peer == pytest.approx(0.75, **TOL)


def test_roc_auc_of_one_class_group_is_nan_like_sklearn() -> None:
    data, result = two_groups([1, 1, 1], [1, 0, 1])
    ours, peer = ours_and_peer(data, result, "roc_auc")
    assert math.isnan(ours.value)
    assert ours.undefined_reason == "the group lacks actual positives or actual negatives"
    assert math.isnan(peer)


def test_weighted_tpr_of_group_without_positives_is_nan_where_fairlearn_says_0() -> None:
    data, result = two_groups([0, 0, 0], [1, 1, 0], sample_weight=[0.5, 2.0, 1.5])
    ours, peer = ours_and_peer(data, result, "true_positive_rate")
    assert math.isnan(ours.value)
    assert peer == 0.0
    ours_fpr, peer_fpr = ours_and_peer(data, result, "false_positive_rate")
    assert ours_fpr.value == pytest.approx(2.5 / 4.0, **TOL)  # (0.5 + 2) / 4
    assert peer_fpr == pytest.approx(2.5 / 4.0, **TOL)


def test_equal_opportunity_ratio_ignores_group_without_positives_where_fairlearn_gives_0() -> None:
    # Groups a and b have TPR 1/2 and 3/4; group z has no actual positives. fairlearn counts
    # z's TPR as 0, so its ratio is 0 and its difference 3/4; ours leaves z out (undefined):
    # ratio (1/2)/(3/4) = 2/3 and difference 1/4.
    #        a: TPR 1/2    b: TPR 3/4       z: no positives
    y_true = [1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    y_pred = [1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 0]
    group = list("aaaabbbbbzzz")
    policy = Policy(
        (Threshold("equal_opportunity_ratio", 0.8), Threshold("equal_opportunity_difference", 0.1)),
        decision_rule="point",
    )
    with pytest.warns(UndefinedMetricWarning):
        r = audit_predictions(
            y_true,
            y_pred,
            sensitive_features={"g": group},
            policy=policy,
            options=AuditOptions(intervals=False, min_group_size=1),
        )
    with peer_warnings_ignored():
        peer_ratio = fm.equal_opportunity_ratio(y_true, y_pred, sensitive_features=group)
        peer_diff = fm.equal_opportunity_difference(y_true, y_pred, sensitive_features=group)
    assert peer_ratio == 0.0
    assert peer_diff == pytest.approx(0.75, **TOL)
    ours = {c.criterion: c for c in r.criteria}
    assert ours["equal_opportunity_ratio"].estimate.value == pytest.approx(2 / 3, **TOL)
    assert ours["equal_opportunity_difference"].estimate.value == pytest.approx(0.25, **TOL)
    assert "z" in ours["equal_opportunity_ratio"].excluded_groups


# ---------------------------------------------------------------------------------------------
# The real Adult data
# ---------------------------------------------------------------------------------------------

NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@pytest.fixture(scope="module")
def adult() -> Data:
    raw = load_adult()
    assert len(raw) == 48842
    df = raw.dropna()
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    assert set(df["income"].unique()) == {">50K", "<=50K"}
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with peer_warnings_ignored():
        model.fit(train[NUMERIC].to_numpy(float), (train["income"] == ">50K").to_numpy(int))
        proba = model.predict_proba(test[NUMERIC].to_numpy(float))[:, 1]
    score = np.round(proba, 4)
    frame = pd.DataFrame({c: test[c].to_numpy(dtype=object) for c in ("sex", "race")})
    return Data(
        frame=frame,
        y_true=(test["income"] == ">50K").to_numpy(dtype=np.int64),
        y_pred=(score >= 0.5).astype(np.int64),
        y_score=score,
        weight=None,
    )


@pytest.mark.slow
def test_adult_every_group_value_equals_metricframe(adult: Data) -> None:
    result = run_ours(adult)  # every group of the Adult test split is large: no warning
    assert result.data.n_rows == len(adult.y_true)
    assert result.data.score_binning.startswith("exact")
    assert result.data.roc_auc_max_binning_error == 0.0
    assert [a.name for a in result.attributes] == ["sex", "race", "sex × race"]
    assert compare_with_metricframe(result, adult) == 2 + 5 + 10


@pytest.mark.slow
def test_adult_disparities_equal_metricframe(adult: Data) -> None:
    compare_disparities(adult, "between_groups")


@pytest.mark.slow
def test_adult_with_sample_weights_equals_metricframe(adult: Data) -> None:
    weighted = Data(
        adult.frame, adult.y_true, adult.y_pred, adult.y_score,
        np.round(np.random.default_rng(0).uniform(0.5, 2.0, adult.y_true.size), 3),
    )  # fmt: skip
    result = run_ours(weighted)
    assert compare_with_metricframe(result, weighted) == 2 + 5 + 10
