"""Applying group thresholds to rows: each row's group, its ``P(Ŷ = 1)``, the draws.

The rules are :class:`~audit.mitigation._threshold_rules.GroupThresholds`; a row's group is
found from its sensitive features, encoded as when fitting (a group not seen when fitting is
an error, never a silent default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit._validation import check_same_length
from audit.mitigation._common import uniform_draws
from audit.mitigation._threshold_inputs import feature_frame, prepared, score_array
from audit.mitigation._threshold_rules import JOIN, FloatArray, GroupThresholds, ThresholdError

__all__ = ["predict_thresholds", "threshold_probability"]

#: Above this many possible feature combinations, rows find their group by binary search
#: instead of a lookup table.
_TABLE_LIMIT = 1 << 22


def _mixed_radix(
    digits: list[npt.NDArray[np.signedinteger[Any]]], radix: list[int], dtype: Any
) -> npt.NDArray[np.signedinteger[Any]]:
    """One integer key per row from its digits, one digit (and base) per feature."""
    key: npt.NDArray[np.signedinteger[Any]] = np.zeros(digits[0].size, dtype=dtype)
    for digit, base in zip(digits, radix, strict=True):
        key *= base
        key += digit
    return key


def _row_groups(
    thresholds: GroupThresholds, frame: pd.DataFrame, scores: FloatArray
) -> npt.NDArray[np.signedinteger[Any]]:
    """Each row's group (index into ``thresholds.groups``); unknown groups are an error.

    ``frame`` comes from :func:`feature_frame`, with as many rows as ``scores``. Columns are
    matched to the fitted features by name when they carry all those names, else by
    position. The features are encoded by :func:`audit._validation.prepare_data`, with a
    placeholder label column (all 0: labels are not needed to apply a rule), so categories
    are normalised exactly as when fitting.
    """
    fit_names = thresholds.features
    if set(fit_names) <= set(frame.columns) and len(frame.columns) == len(fit_names):
        frame = frame[list(fit_names)]
    elif len(frame.columns) != len(fit_names):
        raise ThresholdError(
            f"The 'sensitive_features' parameter must have the {len(fit_names)} feature(s) "
            f"the thresholds were fitted on ({list(fit_names)}). Got {len(frame.columns)}: "
            f"{list(frame.columns)}."
        )
    features = prepared(scores, frame).features
    # Mixed-radix key over the fitted categories, one extra digit per feature for "unseen".
    radix = [len(c) + 1 for c in thresholds.categories]
    n_keys = int(np.prod(radix, dtype=np.float64))
    dtype = np.int32 if n_keys < np.iinfo(np.int32).max else np.int64
    row_digits: list[npt.NDArray[np.signedinteger[Any]]] = []
    for feature, fit_categories, base in zip(features, thresholds.categories, radix, strict=True):
        position = {c: k for k, c in enumerate(fit_categories)}
        lookup: npt.NDArray[np.signedinteger[Any]] = np.array(
            [position.get(c, base - 1) for c in feature.categories], dtype=dtype
        )
        row_digits.append(lookup[feature.codes])
    key = _mixed_radix(row_digits, radix, dtype)
    rule_digits = [
        np.array([fit_categories.index(rule.categories[j]) for rule in thresholds.groups])
        for j, fit_categories in enumerate(thresholds.categories)
    ]
    rule_keys = _mixed_radix(rule_digits, radix, np.int64)
    group: npt.NDArray[np.signedinteger[Any]]
    if n_keys <= _TABLE_LIMIT:
        table = np.full(n_keys, -1, dtype=np.int32)
        table[rule_keys] = np.arange(rule_keys.size)
        group = table[key]
    else:
        order = np.argsort(rule_keys)
        at = np.minimum(np.searchsorted(rule_keys[order], key), rule_keys.size - 1)
        group = np.where(rule_keys[order][at] == key, order[at], -1)
    missing = group < 0
    if missing.any():
        rows = np.flatnonzero(missing)
        codes = np.unique(np.column_stack([f.codes[rows] for f in features]), axis=0)
        combos = [
            JOIN.join(f.categories[c] for f, c in zip(features, row, strict=True))
            for row in codes.tolist()
        ]
        raise ThresholdError(
            f"sensitive_features holds {len(combos)} group(s) not seen when fitting "
            f"({rows.size} rows, first at row {int(rows[0])}): {combos[:5]}. Groups fitted: "
            f"{[g.group for g in thresholds.groups][:20]}. A rule exists only for groups "
            "present in the fitted data."
        )
    return group


def positive_probability(
    thresholds: GroupThresholds, scores: FloatArray, frame: pd.DataFrame, deterministic: bool
) -> FloatArray:
    """:func:`threshold_probability` on validated scores and features of equal length."""
    group = _row_groups(thresholds, frame, scores)
    rules = thresholds.groups
    if deterministic:
        cut = np.array([r.threshold for r in rules])
        above: FloatArray = (scores > cut[group]).astype(np.float64)
        return above
    p0 = np.array([r.p0 for r in rules])
    p1 = 1 - p0
    zero = np.zeros_like(p0)
    # fairlearn's arithmetic, p0·[s > t0] + p1·[s > t1], for each of the four outcomes of the
    # two comparisons; then the coin of equalized odds. A row looks its value up.
    values = np.stack([zero + zero, zero + p1, p0 + zero, p0 + p1], axis=1)
    p_ignore = np.array([r.p_ignore for r in rules])[:, None]
    constant = np.array([r.prediction_constant for r in rules])[:, None]
    if p_ignore.any():
        values = p_ignore * constant + (1 - p_ignore) * values
    t0 = np.array([r.threshold0 for r in rules])
    t1 = np.array([r.threshold1 for r in rules])
    outcome: npt.NDArray[Any] = group * 4
    outcome += 2 * (scores > t0[group])
    outcome += scores > t1[group]
    probability: FloatArray = values.ravel()[outcome]
    return probability


def draw(probability: FloatArray, deterministic: bool, random_state: Any) -> npt.NDArray[np.int8]:
    """0/1 labels: the deterministic rule's as they are, else ``P(Ŷ = 1) ≥ u``."""
    if deterministic:
        return probability.astype(np.int8)
    draws = uniform_draws(random_state, probability.size)
    return (probability >= draws).astype(np.int8)


def threshold_probability(
    thresholds: GroupThresholds,
    y_score: Any,
    sensitive_features: Any,
    *,
    deterministic: bool = False,
) -> FloatArray:
    """``P(Ŷ = 1)`` of each row under its group's rule (0 or 1 for the deterministic rule).

    Parameters
    ----------
    thresholds : GroupThresholds
    y_score : array-like of shape (n_samples,)
    sensitive_features : array-like, Series, DataFrame or dict of array-like
        The same features as when fitting: by name when the columns carry all the fitted
        names, else by position.
    deterministic : bool, default False
        Use each group's single threshold.

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ThresholdError
        A group not seen when fitting, non-finite scores, a different number of features.
    DataValidationError
        Mismatched lengths (:class:`ThresholdError` is a subclass).

    Examples
    --------
    >>> from audit.mitigation._thresholds import fit_thresholds
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
    >>> threshold_probability(result, [0.1, 0.7], ["a", "b"]).tolist()
    [0.0, 1.0]
    """
    scores = score_array(y_score, "y_score")
    frame = feature_frame(sensitive_features)
    check_same_length({"y_score": scores, "sensitive_features": frame})
    return positive_probability(thresholds, scores, frame, deterministic)


def predict_thresholds(
    thresholds: GroupThresholds,
    y_score: Any,
    sensitive_features: Any,
    *,
    deterministic: bool = False,
    random_state: Any = None,
) -> npt.NDArray[np.int8]:
    """Predicted labels (0/1) under the group rules.

    The randomized rule predicts 1 when ``P(Ŷ = 1) ≥ u``, with ``u`` uniform on [0, 1)
    drawn from ``random_state`` row by row (fairlearn's rule: with the same integer seed and
    equal rules the predictions equal fairlearn's).

    Parameters
    ----------
    thresholds : GroupThresholds
    y_score : array-like of shape (n_samples,)
    sensitive_features : array-like, Series, DataFrame or dict of array-like
    deterministic : bool, default False
        Use each group's single threshold (no randomness).
    random_state : int, numpy RandomState or Generator, or None
        The source of the draws. An int gives the same predictions at every call; None draws
        fresh entropy (not reproducible). NumPy's global generator is never used.

    Returns
    -------
    ndarray of int8, shape (n_samples,)

    Raises
    ------
    ThresholdError, DataValidationError
        As :func:`threshold_probability`.
    MitigationError
        A bad ``random_state`` (the parent class of :class:`ThresholdError`).

    Examples
    --------
    >>> from audit.mitigation._thresholds import fit_thresholds
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
    >>> predict_thresholds(result, [0.1, 0.7, 0.7], ["a", "a", "b"], random_state=0).tolist()
    [0, 1, 1]
    """
    probability = threshold_probability(
        thresholds, y_score, sensitive_features, deterministic=deterministic
    )
    return draw(probability, deterministic, random_state)
