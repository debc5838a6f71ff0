"""Rows in, for group thresholds: validated scores and features, and the score histograms.

The one boundary of :mod:`audit.mitigation._thresholds`: everything here checks what it is
given and names the parameter; the optimisation and the rules trust its output. Counting is
the audit core's own (:func:`audit._validation.prepare_data` then
:func:`audit._statistics.count_statistics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from audit._exceptions import DataValidationError
from audit._statistics import CellStatistics, count_statistics
from audit._validation import PreparedData, check_same_length, prepare_data
from audit.mitigation._threshold_rules import FloatArray, ThresholdError

__all__ = ["score_statistics"]


def check_count(owner: str, name: str, value: Any, low: int) -> None:
    """Refuse a count parameter that is not an int (bools excluded) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ThresholdError(
            f"The '{name}' parameter of {owner} must be an int >= {low}. Got {value!r}."
        )


def feature_frame(sensitive_features: Any) -> pd.DataFrame:
    """The sensitive features as a DataFrame with a RangeIndex, one column per feature.

    Unnamed features are called ``sensitive_feature`` (one) or ``sensitive_feature_<j>``.
    The columns of a mapping must have equal lengths (pandas would pad the short ones with
    missing values, which would then count as the category ``"unknown"``).
    """
    frame: pd.DataFrame
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    elif isinstance(sensitive_features, Mapping):
        columns = {
            str(k): (v.reset_index(drop=True) if isinstance(v, pd.Series) else pd.Series(v))
            for k, v in sensitive_features.items()
        }
        if columns:
            check_same_length({f"sensitive_features[{k!r}]": v for k, v in columns.items()})
        frame = pd.DataFrame(columns, copy=False)
    elif isinstance(sensitive_features, pd.Series):
        name = "sensitive_feature" if sensitive_features.name is None else sensitive_features.name
        frame = sensitive_features.reset_index(drop=True).rename(str(name)).to_frame()
    else:
        values = np.asarray(sensitive_features, dtype=object)
        if values.ndim == 1:
            frame = pd.DataFrame({"sensitive_feature": values}, copy=False)
        elif values.ndim == 2:
            table = {f"sensitive_feature_{j}": values[:, j] for j in range(values.shape[1])}
            frame = pd.DataFrame(table, copy=False)
        else:
            raise ThresholdError(
                "The 'sensitive_features' parameter must be one column or a table of columns "
                f"(1-D or 2-D). Got an array of shape {values.shape}."
            )
    if frame.shape[1] == 0:
        raise ThresholdError(
            "The 'sensitive_features' parameter must hold at least one feature (column). Got none."
        )
    return frame


def score_array(y_score: Any, source: str) -> FloatArray:
    """Scores as a finite 1-D float64 array (the error names ``source``)."""
    try:
        scores = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ThresholdError(f"{source} must hold numbers. Got: {exc}.") from None
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ThresholdError(
            f"{source} must be one score per row (1-D). Got an array of shape {scores.shape}."
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ThresholdError(
            f"{source} must hold finite numbers; found {int(np.isnan(scores).sum())} NaN and "
            f"{int(np.isinf(scores).sum())} infinite values (first at row {first})."
        )
    return scores


def _is_zero_or_one(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    try:
        return float(str(value)) in (0.0, 1.0)
    except ValueError:
        return False


def _check_zero_one(labels: npt.NDArray[Any]) -> None:
    """Refuse labels other than 0/1 and booleans, naming ``y_true``.

    Run only when :func:`~audit._validation.prepare_data` has refused the labels: its message
    asks for a ``pos_label``, a parameter these functions do not take.
    """
    values = pd.unique(pd.Series(labels, copy=False)).tolist()
    distinct = [v for v in values if not pd.isna(v)]
    other = [v for v in distinct if not _is_zero_or_one(v)]
    if other:
        shown = sorted(distinct, key=str)[:10]
        raise ThresholdError(
            "The 'y_true' parameter must hold the labels 0/1 or booleans (1 is the positive "
            f"class). Got {len(distinct)} distinct values: {shown}. Map them to 0/1 "
            "(GroupThresholdClassifier takes any two labels)."
        )


def prepared(scores: FloatArray, frame: pd.DataFrame, labels: Any = None) -> PreparedData:
    """``prepare_data`` on the features, with the labels and scores when fitting.

    The callers have checked that the lengths agree. The audit core counts predictions too;
    thresholds need none, so the label column is passed as ``y_pred`` as well (its confusion
    counts are then just positives and negatives, unused). To apply fitted rules (``labels``
    None) only the features are encoded, with a placeholder label column of zeros (the scores
    were validated by :func:`score_array`).
    """
    names = tuple(frame.columns)
    reserved = sorted({"y_true", "y_pred", "y_score"} & set(names))
    if reserved:
        raise ThresholdError(
            f"A sensitive feature may not be named {reserved[0]!r} (used for the labels and "
            "scores); rename it."
        )
    columns: dict[str, Any]
    if labels is None:
        zeros = np.zeros(scores.size, dtype=np.int8)
        columns = {"y_true": zeros, "y_pred": zeros}
    else:
        columns = {"y_true": labels, "y_pred": labels, "y_score": scores}
    data = pd.DataFrame({**{n: frame[n] for n in names}, **columns}, copy=False)
    try:
        return prepare_data(
            data,
            y_true="y_true",
            y_pred="y_pred",  # a placeholder: one role per column
            y_score=None if labels is None else "y_score",
            sensitive_features=list(names),
            score_type="score",
        )
    except DataValidationError:
        if labels is not None:
            _check_zero_one(labels)  # a clearer error than "set pos_label"
        raise


def score_statistics(
    y_true: Any, y_score: Any, sensitive_features: Any, *, score_bins: int = 10_000
) -> CellStatistics:
    """Per-cell, per-label score histograms of (y_true, y_score), by the audit core's counting.

    A thin layer over :func:`audit._validation.prepare_data` and
    :func:`audit._statistics.count_statistics`: validation, cells and histograms are the
    audit's own (one pass over the rows). Bins span the observed score range.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels, 0/1 or booleans.
    y_score : array-like of shape (n_samples,)
        Finite scores (probabilities or any real score; higher means more likely positive).
    sensitive_features : array-like, Series, DataFrame or dict of array-like
        One feature or several: the groups are their combinations (cells).
    score_bins : int, default 10000
        At most this many distinct scores: one bin per value (exact); otherwise this many
        equal-width bins.

    Returns
    -------
    CellStatistics
        With ``scores`` set.

    Raises
    ------
    ThresholdError
        Scores that are not finite numbers, labels other than 0/1, a bad ``score_bins``.
    DataValidationError
        Missing labels, mismatched lengths (:class:`ThresholdError` is a subclass).

    Examples
    --------
    >>> stats = score_statistics([0, 1, 1], [0.1, 0.9, 0.4], ["a", "a", "b"])
    >>> stats.scores.count[0].tolist()  # cell a: label 0, label 1 over the bins 0.1, 0.4, 0.9
    [[1, 0, 0], [0, 0, 1]]
    """
    check_count("score_statistics", "score_bins", score_bins, 2)
    scores = score_array(y_score, "y_score")
    labels = np.asarray(y_true)
    if labels.ndim != 1:
        raise ThresholdError(f"y_true must be one label per row (1-D). Got shape {labels.shape}.")
    frame = feature_frame(sensitive_features)
    check_same_length({"y_true": labels, "y_score": scores, "sensitive_features": frame})
    data = prepared(scores, frame, labels)
    return count_statistics(data, score_bins=score_bins, probability=False)
