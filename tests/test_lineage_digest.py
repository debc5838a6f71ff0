"""Content digests: file bytes, and logical rows that survive re-encoding but not edits."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit import parse_spec, run_audit
from audit.datasets import load_adult
from lineage import file_sha256, row_digest

from _tables import make_predictions


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    # Real data: text with missing values, integers, a float column; 48,842 rows.
    frame = load_adult().head(5000).copy()
    frame["ratio"] = frame["capital_gain"] / (frame["hours_per_week"] + 0.5)
    return frame


def test_file_digest_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # more than one read block
    (tmp_path / "b").write_bytes(data)
    assert file_sha256(tmp_path / "b") == hashlib.sha256(data).hexdigest()


def test_csv_and_parquet_round_trips_keep_the_row_digest(
    adult: pd.DataFrame, tmp_path: Path
) -> None:
    adult.to_csv(tmp_path / "a.csv", index=False)
    adult.to_parquet(tmp_path / "a.parquet", index=False)
    from_csv = pd.read_csv(tmp_path / "a.csv")
    from_parquet = pd.read_parquet(tmp_path / "a.parquet")
    assert from_csv.dtypes.tolist() != adult.dtypes.tolist()  # the encodings do differ
    assert row_digest(from_csv) == row_digest(adult)
    assert row_digest(from_parquet) == row_digest(adult)
    assert file_sha256(tmp_path / "a.csv") != file_sha256(tmp_path / "a.parquet")


def test_a_change_in_the_last_row_changes_the_digest(adult: pd.DataFrame) -> None:
    base = row_digest(adult)
    last = adult.iloc[-1]
    other_sex = "Female" if last["sex"] == "Male" else "Male"
    assert not pd.isna(last["occupation"])
    for column, value in (("age", 99), ("sex", other_sex), ("ratio", 0.125), ("occupation", None)):
        edited = adult.copy()
        edited.loc[edited.index[-1], column] = value
        assert row_digest(edited) != base, column


def test_row_order_rows_and_columns_count_but_column_order_does_not(adult: pd.DataFrame) -> None:
    base = row_digest(adult)
    assert row_digest(adult.iloc[::-1]) != base
    assert row_digest(adult.iloc[:-1]) != base
    assert row_digest(adult.drop(columns=["ratio"])) != base
    assert row_digest(adult[list(reversed(adult.columns))]) == base


def test_canonical_values() -> None:
    # whole floats are integers; "" is missing; NaN and None are one marker; categoricals
    # are their values
    a = pd.DataFrame({"n": [1, 2, None], "s": ["x", "", None], "c": ["u", "v", "u"]})
    b = pd.DataFrame(
        {
            "n": pd.array([1, 2, None], dtype="Int64"),
            "s": ["x", None, np.nan],
            "c": pd.Categorical(["u", "v", "u"]),
        }
    )
    assert row_digest(a) == row_digest(b)
    # but 1.5 is not 1 or 2, "nan" is text, and True is not 1
    assert row_digest(pd.DataFrame({"n": [1.5]})) != row_digest(pd.DataFrame({"n": [1]}))
    assert row_digest(pd.DataFrame({"s": ["nan"]})) != row_digest(pd.DataFrame({"s": [None]}))
    assert row_digest(pd.DataFrame({"b": [True]})) != row_digest(pd.DataFrame({"b": [1]}))
    # value boundaries are kept: ["ab", "c"] is not ["a", "bc"]
    assert row_digest(pd.DataFrame({"s": ["ab", "c"]})) != row_digest(
        pd.DataFrame({"s": ["a", "bc"]})
    )


def test_arrow_backed_text_in_several_chunks(tmp_path: Path) -> None:
    # Parquet written in row groups reads back as chunked Arrow-backed text columns.
    frame = pd.DataFrame({"s": [f"v{i % 7}" for i in range(5000)], "n": range(5000)})
    frame.to_parquet(tmp_path / "p.parquet", row_group_size=1000)
    back = pd.read_parquet(tmp_path / "p.parquet")
    assert row_digest(back) == row_digest(frame)
    assert row_digest(back.astype({"s": object})) == row_digest(frame)


def test_digest_of_a_tiny_table_derived_by_hand() -> None:
    # The canonical form written out: header, then per column (in name order) its name, its
    # kind and its buffers. Numbers: one kind byte per row (0 missing, 1 integer, 2 float),
    # then int64 little-endian payloads (float bits for non-whole floats, 0 for missing).
    # Text: one missing flag per row, int64 byte lengths, then the UTF-8 bytes.
    frame = pd.DataFrame({"s": ["é", None], "n": [3.0, 0.5]})
    half = np.float64(0.5).view(np.int64).item()
    expected = hashlib.sha256(
        b"fairtrail-rows-v1\x002\x002\x00"
        + b"\x01n\x00n"
        + bytes([1, 2])
        + (3).to_bytes(8, "little")
        + half.to_bytes(8, "little", signed=True)
        + b"\x01s\x00t"
        + bytes([0, 1])
        + (2).to_bytes(8, "little")
        + (0).to_bytes(8, "little")
        + "é".encode()
    ).hexdigest()
    assert row_digest(frame) == expected


@pytest.mark.parametrize(
    ("categorical", "plain"),
    [
        (pd.Categorical(["b", None, "a", "b"]), ["b", None, "a", "b"]),
        (pd.Categorical([2, None, 1, 2]), [2.0, np.nan, 1.0, 2.0]),  # was a crash: NaN → int
        (pd.Categorical([True, None, False, True]), pd.array([True, None, False, True])),
        (pd.Categorical([1.5, np.nan, 1.5, 2.0]), [1.5, np.nan, 1.5, 2.0]),
        (pd.Categorical(["x", 1, None, "x"]), ["x", "1", None, "x"]),  # mixed: taken as text
        (
            pd.Categorical(pd.to_datetime(["2024-01-02", None, "2024-01-02", "2023-05-06"])),
            pd.to_datetime(["2024-01-02", None, "2024-01-02", "2023-05-06"]),
        ),
    ],
)
def test_a_categorical_column_is_its_values(categorical: Any, plain: Any) -> None:
    assert row_digest(pd.DataFrame({"c": categorical})) == row_digest(pd.DataFrame({"c": plain}))
    sliced = pd.DataFrame({"c": categorical}).iloc[1:]  # codes not starting at the first row
    assert row_digest(sliced) == row_digest(pd.DataFrame({"c": plain}).iloc[1:])


def test_the_audit_loader_frame_has_the_file_rows_digest(tmp_path: Path) -> None:
    # `fairtrail run` describes the frame the audit loaded (sensitive features categorical);
    # its digest must be that of the rows in the file.
    frame = make_predictions()
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    spec = parse_spec(
        {
            "data": {
                "path": str(tmp_path / "p.parquet"),
                "y_true": "y_true",
                "y_pred": "y_pred",
                "sensitive_features": ["sex", "race"],
            },
            "audit": {"intervals": False},
        }
    )
    loaded: list[pd.DataFrame] = []
    run_audit(spec, on_data=loaded.append)
    assert isinstance(loaded[0]["sex"].dtype, pd.CategoricalDtype)
    assert row_digest(loaded[0]) == row_digest(frame[list(loaded[0].columns)])
