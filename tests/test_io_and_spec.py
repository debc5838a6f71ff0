"""Reading files with explicit types, corrupt CSVs with line numbers, and spec validation."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from audit import DataValidationError, SpecError, load_spec, parse_spec, run_audit

SPEC = """
[data]
path = "{path}"
y_true = "y_true"
y_pred = "y_pred"
y_score = "y_score"
sensitive_features = ["sex", "race"]

[audit]
confidence_level = 0.9

[policy]
name = "test"
[policy.thresholds]
demographic_parity_ratio = 0.8
"""


def write_spec(tmp_path: Path, data_name: str, text: str = SPEC) -> Path:
    spec = tmp_path / "audit.toml"
    spec.write_text(text.format(path=data_name), encoding="utf-8")
    return spec


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_csv_gzip_and_parquet_give_the_same_result(
    tmp_path: Path, predictions: pd.DataFrame, fmt: str
) -> None:
    name = f"pred.{fmt}"
    if fmt == "parquet":
        predictions.to_parquet(tmp_path / name)
    elif fmt == "csv.gz":
        with gzip.open(tmp_path / name, "wt") as f:
            predictions.to_csv(f, index=False)
    else:
        predictions.to_csv(tmp_path / name, index=False)
    from_file = run_audit(load_spec(write_spec(tmp_path, name)))
    in_memory = run_audit(load_spec(write_spec(tmp_path, name)), predictions)
    assert from_file.cells == in_memory.cells
    assert from_file.groups_frame().drop(columns=[]).equals(in_memory.groups_frame())


def test_csv_with_too_many_fields_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "y_true,y_pred,y_score,sex,race\n1,0,0.5,F,A\n0,1,0.2,M,B\n0,0,0.1,M,B,extra\n"
    )
    with pytest.raises(
        DataValidationError,
        match=r"^'p\.csv', line 4 is malformed: Expected 5 columns, got 6: 0,0,0\.1,M,B,extra\.$",
    ):
        run_audit(load_spec(write_spec(tmp_path, "p.csv")))


def test_csv_with_text_in_score_names_the_line_and_column(tmp_path: Path) -> None:
    rows = "".join(f"{i % 2},{(i // 2) % 2},0.{i},F,A\n" for i in range(1, 9))
    (tmp_path / "p.csv").write_text("y_true,y_pred,y_score,sex,race\n" + rows + "1,1,high,M,B\n")
    with pytest.raises(
        DataValidationError,
        match=r"^'p\.csv', line 10: column 'y_score' \(y_score\) must hold numbers; "
        r"found 'high'\.$",
    ):
        run_audit(load_spec(write_spec(tmp_path, "p.csv")))


def test_csv_empty_score_field_is_a_missing_value_with_line(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("y_true,y_pred,y_score,sex,race\n1,0,0.5,F,A\n0,1,,M,B\n")
    with pytest.raises(
        DataValidationError,
        match=r"Column 'y_score' \(y_score\) must hold finite numbers; found 1 NaN/missing "
        r"and 0 infinite values \(first at line 3 of p\.csv\)",
    ):
        run_audit(load_spec(write_spec(tmp_path, "p.csv")))


def test_missing_column_in_file(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("y_true,y_pred,y_score,sex\n1,0,0.5,F\n")
    with pytest.raises(DataValidationError, match=r"Column 'race' .* is not in 'p\.csv'"):
        run_audit(load_spec(write_spec(tmp_path, "p.csv")))


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("")
    with pytest.raises(DataValidationError, match=r"'p\.csv' is empty"):
        run_audit(load_spec(write_spec(tmp_path, "p.csv")))
    with pytest.raises(DataValidationError, match=r"Data file '.*nope\.csv' does not exist"):
        run_audit(load_spec(write_spec(tmp_path, "nope.csv")))


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "p.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataValidationError, match=r"'p\.parquet' is not a readable Parquet file"):
        run_audit(load_spec(write_spec(tmp_path, "p.parquet")))


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(DataValidationError, match=r"Cannot tell the format of 'p\.xlsx'"):
        run_audit(load_spec(write_spec(tmp_path, "p.xlsx")))


def test_invalid_toml_is_a_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "a.toml"
    spec.write_text("[data\ny_true = 1\n")
    with pytest.raises(SpecError, match=r"^a\.toml: not valid TOML: .*line 1"):
        load_spec(spec)


def minimal(**sections: dict[str, object]) -> dict[str, object]:
    raw: dict[str, object] = {"data": {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]}}
    raw.update(sections)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (minimal(extra={}), r"unknown key 'extra'"),
        (minimal(audit={"n_bot": 3}), r"unknown key 'audit\.n_bot'; allowed keys: \["),
        (
            minimal(audit={"n_boot": "1000"}),
            r"audit\.n_boot must be a non-negative integer; got '1000'",
        ),
        (minimal(audit={"confidence_level": 1.5}), r"confidence_level must be in \(0, 1\)"),
        (minimal(audit={"intervals": "no"}), r"audit\.intervals must be true or false, got 'no'"),
        (minimal(audit={"disparity_method": "x"}), r"disparity_method must be one of"),
        (
            minimal(policy={"thresholds": {"demographic_parity_ratio": 1.2}}),
            r"is a minimum ratio and must be in \(0, 1\]; got 1\.2",
        ),
        (
            minimal(policy={"thresholds": {"fairness_score": 0.1}}),
            r"Unknown criterion 'fairness_score'",
        ),
        (
            minimal(policy={"thresholds": {"demographic_parity_ratio": "0.8"}}),
            r"must be a finite number; got '0\.8'",
        ),
        (minimal(policy={"decision_rule": "vibes"}), r"decision_rule must be 'interval' or"),
        ({"data": {"y_true": "y"}}, r"data\.y_pred is required"),
    ],
)
def test_spec_errors_name_the_key(raw: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)


def test_policy_naming_an_attribute_not_audited(predictions: pd.DataFrame) -> None:
    spec = parse_spec(
        {
            "data": {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": ["sex"]},
            "audit": {"intervals": False},
            "policy": {
                "thresholds": {
                    "demographic_parity_ratio": {"threshold": 0.8, "attributes": ["age"]}
                }
            },
        }
    )
    with pytest.raises(SpecError, match=r"names attribute 'age', which is not audited"):
        run_audit(spec, predictions)


def test_score_criterion_without_scores(predictions: pd.DataFrame) -> None:
    spec = parse_spec(
        {
            "data": {"y_true": "y_true", "y_pred": "y_pred", "sensitive_features": ["sex"]},
            "audit": {"intervals": False},
            "policy": {"thresholds": {"roc_auc_difference": 0.05}},
        }
    )
    with pytest.raises(SpecError, match=r"needs the metric 'roc_auc'.*need a y_score column"):
        run_audit(spec, predictions)


def test_resolved_spec_round_trips(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, "x.csv"))
    resolved = spec.to_dict()
    assert resolved["audit"]["confidence_level"] == 0.9
    assert "n_boot" not in resolved["audit"]
    assert resolved["audit"]["min_group_size"] == 30  # default filled in
    again = parse_spec(
        {
            "data": {k: v for k, v in resolved["data"].items() if v is not None},
            "audit": resolved["audit"],  # data-carried options (score_type …) stay in data
            "policy": resolved["policy"],
        }
    )
    assert again.options == spec.options
    assert again.policy == spec.policy


def test_run_audit_reports_each_step_in_order(tmp_path: Path, predictions: pd.DataFrame) -> None:
    from audit import AUDIT_STEPS

    predictions.to_csv(tmp_path / "x.csv", index=False)
    seen: list[tuple[str, str]] = []
    spec = load_spec(write_spec(tmp_path, "x.csv"))
    run_audit(spec, on_step=lambda step, text: seen.append((step, text)))
    assert [s for s, _ in seen] == list(AUDIT_STEPS)
    assert seen[0][1] == "Reading x.csv"
    assert seen[-1] == ("intervals", "Intervals, disparities, verdicts")
    seen.clear()
    run_audit(spec, pd.read_csv(tmp_path / "x.csv"), on_step=lambda s, t: seen.append((s, t)))
    assert [s for s, _ in seen] == list(AUDIT_STEPS[1:])  # nothing to read
