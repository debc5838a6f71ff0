"""Every bad input gets one clear error naming the column, the expectation and what was found."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import (
    AuditOptions,
    DataValidationError,
    UndefinedMetricWarning,
    audit_predictions,
    prepare_data,
)


def prep(df: pd.DataFrame, **kw: object) -> object:
    args: dict[str, object] = {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]}
    args.update(kw)
    return prepare_data(df, **args)  # type: ignore[arg-type]


def frame(**cols: object) -> pd.DataFrame:
    base: dict[str, object] = {"y": [0, 1, 1, 0], "p": [0, 1, 0, 0], "g": ["a", "a", "b", "b"]}
    base.update(cols)
    return pd.DataFrame(base)


def test_missing_column_lists_present_columns() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"^Column 'race' \(sensitive_features\[1\]\) is not in the data\. "
        r"Columns present: \['y', 'p', 'g'\]\.$",
    ):
        prep(frame(), sensitive_features=["g", "race"])


def test_empty_data() -> None:
    with pytest.raises(DataValidationError, match=r"^The data is empty: 0 rows to audit\.$"):
        prep(frame().iloc[:0])


def test_non_binary_label_lists_values() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"Column 'y' \(y_true\) must be binary: expected at most 2 distinct values, "
        r"found 3: \['0', '1', '2'\]",
    ):
        prep(frame(y=[0, 1, 2, 0]))


def test_labels_of_both_columns_together_must_be_binary() -> None:
    with pytest.raises(DataValidationError, match=r"together must hold at most 2 distinct labels"):
        prep(frame(y=["a", "b", "a", "b"], p=["a", "c", "a", "a"]), pos_label="a")


def test_text_labels_need_pos_label() -> None:
    with pytest.raises(DataValidationError, match=r"set pos_label to the positive"):
        prep(frame(y=["no", "yes", "no", "no"], p=["no", "no", "yes", "no"]))


def test_absent_pos_label_is_named() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"pos_label='maybe' is not among the labels of columns 'y' and 'p': "
        r"found \['no', 'yes'\]",
    ):
        prep(frame(y=["no", "yes", "no", "no"], p=["no", "no", "yes", "no"]), pos_label="maybe")


def test_text_labels_with_pos_label_are_encoded() -> None:
    out = prep(frame(y=["no", "yes", "yes", "no"], p=["no", "yes", "no", "no"]), pos_label="yes")
    assert out.y_true.tolist() == [0, 1, 1, 0]  # type: ignore[attr-defined]
    assert out.y_pred.tolist() == [0, 1, 0, 0]  # type: ignore[attr-defined]


def test_missing_label_is_refused_with_row() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"Column 'y' \(y_true\) has 1 missing values \(first at row 2\)",
    ):
        prep(frame(y=[0, 1, None, 0]))


@pytest.mark.parametrize(
    ("bad", "found"),
    [(np.nan, "1 NaN/missing and 0 infinite"), (np.inf, "0 NaN/missing and 1 infinite")],
)
def test_nan_or_inf_score_is_refused(bad: float, found: str) -> None:
    with pytest.raises(
        DataValidationError,
        match=rf"Column 's' \(y_score\) must hold finite numbers; found {found} values "
        r"\(first at row 1\)",
    ):
        prep(frame(s=[0.1, bad, 0.3, 0.4]), y_score="s")


def test_score_outside_unit_interval_when_probability() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"Column 's' \(y_score\) has 1 values outside \[0, 1\] \(min 0.1, max 1.5, "
        r"first at row 3\), but scores are declared as probabilities",
    ):
        prep(frame(s=[0.1, 0.2, 0.3, 1.5]), y_score="s")


def test_unbounded_scores_allowed_when_declared() -> None:
    out = prep(frame(s=[-3.0, 0.2, 0.3, 7.5]), y_score="s", score_type="score")
    assert out.y_score.tolist() == [-3.0, 0.2, 0.3, 7.5]  # type: ignore[attr-defined]


def test_text_in_score_column_is_refused() -> None:
    with pytest.raises(DataValidationError, match=r"must hold numbers; found 'high' at row 0"):
        prep(frame(s=["high", "0.2", "0.3", "0.4"]), y_score="s")


def test_negative_weight_is_refused() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"Column 'w' \(sample_weight\) must be non-negative; found -1 at row 2",
    ):
        prep(frame(w=[1.0, 2.0, -1.0, 1.0]), sample_weight="w")


def test_all_zero_weights_are_refused() -> None:
    with pytest.raises(DataValidationError, match=r"is zero for every row"):
        prep(frame(w=[0.0, 0.0, 0.0, 0.0]), sample_weight="w")


def test_identifier_like_sensitive_column_is_refused() -> None:
    df = pd.DataFrame({"y": [0, 1] * 30, "p": [1, 0] * 30, "g": [f"id{i}" for i in range(60)]})
    with pytest.raises(
        DataValidationError,
        match=r"Sensitive feature 'g' has 60 distinct values, more than max_categories=50; "
        r"it looks like an identifier",
    ):
        prep(df)


def test_missing_sensitive_values_become_unknown_and_are_counted() -> None:
    out = prep(frame(g=["a", None, "b", None]))
    feature = out.features[0]  # type: ignore[attr-defined]
    assert feature.categories == ("a", "b", "unknown")
    assert feature.codes.tolist() == [0, 2, 1, 2]
    assert feature.n_missing == 2


def test_all_missing_sensitive_column_is_refused() -> None:
    with pytest.raises(DataValidationError, match=r"Sensitive feature 'g' has no values"):
        prep(frame(g=[None, None, None, None]))


def test_length_mismatch_names_both() -> None:
    with pytest.raises(DataValidationError, match=r"^y_pred has 3 rows but y_true has 4\.$"):
        audit_predictions([0, 1, 1, 0], [0, 1, 0], sensitive_features=["a", "a", "b", "b"])
    with pytest.raises(
        DataValidationError, match=r"^sensitive_features has 3 rows but y_true has 4\.$"
    ):
        audit_predictions([0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=["a", "a", "b"])


def test_unknown_reference_group_is_named() -> None:
    from audit import SpecError

    with pytest.raises(
        SpecError,
        match=r"reference_groups: 'Z' is not a category of 'g'\. Categories: \['a', 'b'\]",
    ):
        audit_predictions(
            [0, 1, 1, 0],
            [0, 1, 0, 0],
            sensitive_features={"g": ["a", "a", "b", "b"]},
            options=AuditOptions(
                intervals=False, disparity_method="reference", reference_groups={"g": "Z"}
            ),
        )


def test_unknown_category_reported_not_dropped() -> None:
    # Group b holds only actual negatives (positions 2 mod 4 of y = [0, 1] * 20): its TPR is
    # undefined, which must warn.
    with pytest.warns(UndefinedMetricWarning, match=r"undefined and reported as NaN"):
        r = audit_predictions(
            [0, 1] * 20,
            [0, 1] * 20,
            sensitive_features={"g": ["a", None, "b", "a"] * 10},
            options=AuditOptions(intervals=False, min_group_size=1),
        )
    groups = {g.group: g for g in r.attribute("g").groups}
    assert groups["unknown"].count == 10
    assert groups["unknown"].unknown
    assert r.data.unknown_counts == {"g": 10}
    assert r.attribute("g").ll144.unknown_count == 10
    assert "unknown" not in r.attribute("g").disparities[0].groups_compared


def test_sensitive_values_differing_only_by_surrounding_spaces_are_one_group() -> None:
    # Adult's raw files write " Male"; a hand-made table writes "Male".
    out = prep(frame(g=[" Male", "Male", "Female ", None]))
    feature = out.features[0]  # type: ignore[attr-defined]
    assert feature.categories == ("Female", "Male", "unknown")
    assert feature.codes.tolist() == [1, 1, 0, 2]
    assert feature.n_missing == 1


def test_numeric_sensitive_values_are_named_as_written() -> None:
    out = prep(frame(g=[2.0, 1.0, np.nan, 2.5]))
    feature = out.features[0]  # type: ignore[attr-defined]
    assert feature.categories == ("1", "2", "2.5", "unknown")
    assert feature.codes.tolist() == [1, 0, 3, 2]


def test_existing_unknown_category_absorbs_missing_values() -> None:
    out = prep(frame(g=["unknown", None, "b", "b"]))
    feature = out.features[0]  # type: ignore[attr-defined]
    assert feature.categories == ("b", "unknown")
    assert feature.codes.tolist() == [1, 1, 0, 0]


def test_identifier_column_with_millions_of_values_is_refused_by_its_raw_count() -> None:
    n = 6000  # > 100 × max_categories: refused before the values are formatted
    df = pd.DataFrame({"y": [0, 1] * (n // 2), "p": [1, 0] * (n // 2), "g": np.arange(n)})
    with pytest.raises(DataValidationError, match=r"'g' has 6000 distinct values, more than max_c"):
        prep(df, max_categories=50)


@pytest.mark.parametrize(
    ("y", "shown"),
    [
        ([0, 1, 5, 0], "['0', '1', '5']"),  # counted over a small range
        ([-3, 1, 0, 0], "['-3', '0', '1']"),  # negative values shifted before counting
        ([0, 1, 2_000_000, 0], "['0', '1', '2000000']"),  # wide range: hashed instead
    ],
)
def test_non_binary_integer_labels_are_listed_for_any_range(y: list[int], shown: str) -> None:
    for dtype in ("int8", "int64") if max(map(abs, y)) < 128 else ("int64",):
        df = frame(y=pd.array(y, dtype=dtype))
        with pytest.raises(DataValidationError, match="found 3: " + re.escape(shown)):
            prep(df)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64", "uint64", "bool"])
def test_binary_labels_of_any_integer_dtype(dtype: str) -> None:
    out = prep(frame(y=pd.array([0, 1, 1, 0], dtype=dtype), p=pd.array([0, 1, 0, 0], dtype=dtype)))
    assert out.y_true.tolist() == [0, 1, 1, 0]  # type: ignore[attr-defined]
    assert out.y_pred.tolist() == [0, 1, 0, 0]  # type: ignore[attr-defined]


def test_categorical_sensitive_column_drops_unused_categories() -> None:
    # Files are read as categoricals; a DataFrame's categorical may declare categories that
    # no row has. They are not groups.
    g = pd.Categorical(["b", None, "b", "a"], categories=["z", "b", "a", "unused"])
    out = prep(frame(g=g))
    feature = out.features[0]  # type: ignore[attr-defined]
    assert feature.categories == ("a", "b", "unknown")
    assert feature.codes.tolist() == [1, 2, 1, 0]


def test_categorical_numeric_sensitive_values_are_named_like_numbers() -> None:
    out = prep(frame(g=pd.Categorical([2.0, 1.0, 2.5, 1.0])))
    assert out.features[0].categories == ("1", "2", "2.5")  # type: ignore[attr-defined]


def test_categorical_labels() -> None:
    y = pd.Categorical(["no", "yes", "yes", "no"])
    p = pd.Categorical(["no", "yes", "no", "no"], categories=["no", "yes", "maybe"])
    out = prep(frame(y=y, p=p), pos_label="yes")
    assert out.y_true.tolist() == [0, 1, 1, 0]  # type: ignore[attr-defined]
    assert out.y_pred.tolist() == [0, 1, 0, 0]  # type: ignore[attr-defined]


def test_integer_labels_against_text_labels_compare_as_text() -> None:
    # y_true holds integers far apart, y_pred text: both are compared as text, per distinct
    # value (not per integer in between), and together they hold three labels.
    with pytest.raises(
        DataValidationError,
        match=r"together must hold at most 2 distinct labels, found 3: "
        r"\['0', '1000000000', 'x'\]",
    ):
        prep(frame(y=[0, 10**9, 10**9, 0], p=["0", "x", "x", "0"]))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["a", " a", "B", "", "é", "a "])), max_size=40
    ),
    dtype=st.sampled_from(["str", "string[pyarrow]"]),
)
def test_arrow_dictionary_codes_equal_pandas_factorize(
    values: list[str | None], dtype: str
) -> None:
    """The Arrow path of a string column gives pd.factorize's codes and values exactly."""
    from audit._validation import _factorize

    series = pd.Series(values, dtype=dtype)
    codes, uniques = _factorize(series)
    want_codes, want_uniques = pd.factorize(series, use_na_sentinel=True)
    np.testing.assert_array_equal(codes, want_codes)
    assert uniques == list(want_uniques)
