"""The DuckDB engine counts what the in-memory engine counts, and refuses what it refuses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _engines import (
    DATA,
    ROLES,
    assert_same_result,
    assert_same_statistics,
    audit_file,
    memory_statistics,
    predictions_frame,
    same_error,
    write,
    write_parts,
)

from audit import DataValidationError
from audit._engines import Roles, choose_engine, count_files, find_files


def duckdb_statistics(path: Path | str, roles: Roles = ROLES, **kwargs: str) -> object:
    return count_files(find_files(path), roles, "duckdb", **kwargs).statistics


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("decimals", "score_bins"),
    [(2, 10_000), (6, 50)],  # exact bins (101 values), equal-width bins (median query)
)
def test_statistics_equal_the_in_memory_engines(
    tmp_path: Path, suffix: str, weighted: bool, decimals: int, score_bins: int
) -> None:
    path = write(predictions_frame(5_000, score_decimals=decimals), tmp_path / f"p{suffix}")
    roles = Roles(
        **{
            **ROLES.__dict__,
            "score_bins": score_bins,
            "sample_weight": "weight" if weighted else None,
        }
    )
    got = count_files(find_files(path), roles, "duckdb")
    want = memory_statistics(path, roles)
    assert_same_statistics(got.statistics, want)
    assert want.scores is not None
    assert want.scores.exact == (decimals == 2)  # both binnings are exercised
    assert got.n_rows == 5_000
    assert got.labels == ("<=50K", ">50K")


def test_typed_parquet_columns_numeric_labels_and_float_groups(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 3_000
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, n),  # int64 labels: 0/1 need no pos_label
            "p": rng.integers(0, 2, n).astype(bool),  # bool predictions
            "band": rng.choice([1.0, 2.0, 3.5, np.nan], n),  # a float feature with NaN
            "score": rng.random(n).astype(np.float32),  # squared in double, as in memory
            "k": rng.integers(0, 9, n),  # named like the engines' group-key alias
        }
    )
    path = write(frame, tmp_path / "typed.parquet")
    roles = Roles(y_true="y", y_pred="p", sensitive_features=("band",), y_score="score")
    got = duckdb_statistics(path, roles)
    assert_same_statistics(got, memory_statistics(path, roles))  # type: ignore[arg-type]
    assert got.categories == (("1", "2", "3.5", "unknown"),)  # type: ignore[attr-defined]


def test_whole_audits_agree_metric_by_metric(tmp_path: Path) -> None:
    path = write(predictions_frame(20_000, score_decimals=4), tmp_path / "p.parquet")
    extra = {"audit": {"intersections": [["sex", "race"]]}}
    memory = audit_file(path, "memory", **DATA, **extra)
    duck = audit_file(path, "duckdb", **DATA, **extra)
    assert (memory.options.engine, duck.options.engine) == ("memory", "duckdb")
    assert_same_result(duck, memory)


def test_a_folder_of_parquet_parts_equals_the_whole_file(tmp_path: Path) -> None:
    frame = predictions_frame(9_000, score_decimals=3)
    whole = write(frame, tmp_path / "whole.parquet")
    parts = write_parts(frame, tmp_path / "parts")
    (parts / "_SUCCESS").write_text("")  # as Spark leaves it: not data
    assert [p.name for p in find_files(parts).files] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert choose_engine("auto", find_files(parts)) == "duckdb"  # several files
    assert choose_engine("auto", find_files(whole)) == "memory"  # a small file
    assert_same_statistics(duckdb_statistics(parts), memory_statistics(whole, ROLES))  # type: ignore[arg-type]
    assert_same_statistics(
        duckdb_statistics(str(parts / "part-*.parquet")), memory_statistics(whole, ROLES)
    )  # type: ignore[arg-type]
    assert_same_result(audit_file(parts, "auto", **DATA), audit_file(whole, "memory", **DATA))


def test_more_data_than_duckdbs_memory_limit_still_completes(tmp_path: Path) -> None:
    """5M rows (about 250 MiB as DuckDB holds them) counted under a 128 MB memory limit."""
    n = 5_000_000
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["A", "B", "C", "D", "E"], n),
            "label": rng.integers(0, 2, n),
            "pred": rng.integers(0, 2, n),
            "score": rng.random(n),  # about 3M distinct: equal-width bins and a median query
            "id": np.arange(n).astype(str),  # a wide text column that must be scanned too
        }
    )
    path = tmp_path / "big.parquet"
    frame.to_parquet(path, index=False, row_group_size=100_000)  # streamed a group at a time
    roles = Roles(
        y_true="label", y_pred="pred", sensitive_features=("sex", "race"), y_score="score"
    )
    got = count_files(find_files(path), roles, "duckdb", memory_limit="128MB")
    assert got.n_rows == n
    want = memory_statistics(path, roles)
    assert_same_statistics(got.statistics, want)


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text("label,pred,sex,race,score,weight\n" + "\n".join(rows) + "\n", "utf-8")
    return path


GOOD = ["<=50K,>50K,Female,A,0.2,1.0", ">50K,>50K,Male,B,0.7,2.0"] * 20


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (
            "<=50K,>50K,Male,A,abc,1.0",
            "'bad.csv', line 12: column 'score' (y_score) must hold numbers; found 'abc'.",
        ),
        (
            "<=50K,>50K,Male,A,nan,1.0",
            "Column 'score' (y_score) must hold finite numbers; "
            "found 1 NaN/missing and 0 infinite values (first at "
            "line 12 of bad.csv).",
        ),
        (
            "<=50K,>50K,Male,A,inf,1.0",
            "found 0 NaN/missing and 1 infinite values (first at line 12 of bad.csv)",
        ),
        (
            ",>50K,Male,A,0.5,1.0",
            "Column 'label' (y_true) has 1 missing values (first at line "
            "12 of bad.csv); every row needs a y_true.",
        ),
        (
            "<=50K,>50K,Male,A,1.5,1.0",
            "Column 'score' (y_score) has 1 values outside [0, 1] "
            "(min 0.2, max 1.5, first at line 12 of bad.csv)",
        ),
        (
            "<=50K,>50K,Male,A,0.5,-2",
            "Column 'weight' (sample_weight) must be non-negative; found -2 at line 12 of bad.csv.",
        ),
        ("<=50K,>50K,Male,A,0.5", "'bad.csv', line 12 is malformed: Expected 6 columns, got 5"),
        (
            "maybe,>50K,Male,A,0.5,1.0",
            "Column 'label' (y_true) must be binary: expected at "
            "most 2 distinct values, found 3: ['<=50K', '>50K', "
            "'maybe'].",
        ),
    ],
)
def test_bad_csv_rows_give_the_in_memory_engines_error(
    tmp_path: Path, bad_row: str, message: str
) -> None:
    path = _csv(tmp_path, [*GOOD[:10], bad_row, *GOOD[10:]])
    error = same_error(path, "duckdb", **DATA)
    assert message in error


def test_a_score_outside_0_1_among_many_values_gives_the_in_memory_engines_error(
    tmp_path: Path,
) -> None:
    """With more distinct scores in the first rows than bins, the GROUP BY keeps no smallest
    and largest score per group: the message's range comes from a query of its own."""
    frame = predictions_frame(12_000, score_decimals=6)
    frame.loc[7_000, "score"] = 1.25
    path = write(frame, tmp_path / "p.parquet")
    assert frame["score"].nunique() > 10_000  # the default score_bins
    error = same_error(path, "duckdb", **DATA)
    low = frame["score"].min()
    assert f"has 1 values outside [0, 1] (min {low:g}, max 1.25, first at row 7000" in error


def test_an_identifier_column_is_refused_before_grouping(tmp_path: Path) -> None:
    frame = predictions_frame(6_000).assign(sex=[f"person-{i}" for i in range(6_000)])
    path = write(frame, tmp_path / "ids.parquet")
    roles = Roles(**{**ROLES.__dict__, "max_categories": 50})
    with pytest.raises(DataValidationError) as duck:
        duckdb_statistics(path, roles)
    with pytest.raises(DataValidationError) as memory:
        memory_statistics(path, roles)
    assert str(duck.value) == str(memory.value)
    assert re.search(r"Sensitive feature 'sex' has 6000 distinct values", str(duck.value))


def test_missing_files_and_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"No data files match '.*nothing-\*\.parquet'"):
        find_files(str(tmp_path / "nothing-*.parquet"))
    path = write(predictions_frame(100), tmp_path / "p.parquet")
    roles = Roles(**{**ROLES.__dict__, "y_score": "proba"})
    missing = r"Column 'proba' \(y_score\) is not in 'p.parquet'"
    with pytest.raises(DataValidationError, match=missing):
        duckdb_statistics(path, roles)


def regression_frame(n: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(np.array(["F", "M", None], dtype=object), n),
            "race": rng.choice(list("ABC"), n),
            "hours": rng.normal(40, 10, n).round(1),
            "weight": rng.random(n) + 0.5,
        }
    )
    frame["predicted"] = frame["hours"] + rng.normal(0, 5, n) + np.where(frame["sex"] == "F", 2, 0)
    return frame


REGRESSION = {
    "y_true": "hours",
    "y_pred": "predicted",
    "sensitive_features": ["sex", "race"],
    "task": "regression",
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_moments_equal_the_in_memory_engines(
    tmp_path: Path, suffix: str, weighted: bool
) -> None:
    path = write(regression_frame(20_000), tmp_path / f"r{suffix}")
    roles = Roles(
        y_true="hours",
        y_pred="predicted",
        sensitive_features=("sex", "race"),
        sample_weight="weight" if weighted else None,
        task="regression",
    )
    got = duckdb_statistics(path, roles)
    want = memory_statistics(path, roles)
    g, w = got.regression, want.regression  # type: ignore[attr-defined]
    assert got.categories == want.categories  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got.cells, want.cells)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(g.count, w.count)  # the same moment bins, row for row
    np.testing.assert_array_equal(g.y_any, w.y_any)
    np.testing.assert_array_equal(g.y_varies, w.y_varies)
    np.testing.assert_array_equal(got.missing_count, want.missing_count)  # type: ignore[attr-defined]
    assert g.shift == pytest.approx(w.shift, rel=1e-13)
    scale = np.abs(w.moments).max(axis=(0, 1))  # each moment in its own units
    np.testing.assert_allclose(g.moments / scale, w.moments / scale, atol=1e-12)
    np.testing.assert_allclose(g.y_mean, w.y_mean, rtol=1e-12)
    np.testing.assert_allclose(g.y_m2, w.y_m2, rtol=1e-10)
    # the within-bin scatter by the one-pass formula: to about 1e-9 of its scale
    np.testing.assert_allclose(
        g.within_scatter, w.within_scatter, rtol=0, atol=1e-9 * np.abs(w.within_scatter).max()
    )


def test_regression_audits_agree_with_their_intervals(tmp_path: Path) -> None:
    path = write(regression_frame(30_000), tmp_path / "r.parquet")
    memory = audit_file(path, "memory", **REGRESSION, sample_weight="weight")
    duck = audit_file(path, "duckdb", **REGRESSION, sample_weight="weight")
    numbers = ["value", "lower", "upper", "simultaneous_lower", "simultaneous_upper"]
    g, w = duck.groups_frame(), memory.groups_frame()
    pd.testing.assert_frame_equal(g.drop(columns=numbers), w.drop(columns=numbers))
    # replicates are drawn from the same bins with noise scaled by the scatter: equal to
    # rounding (hours are tens: 1e-6 is far below a reported digit)
    np.testing.assert_allclose(
        g[numbers].to_numpy(float), w[numbers].to_numpy(float), rtol=0, atol=1e-6
    )


def test_a_regression_label_that_is_not_finite_gives_the_same_error(tmp_path: Path) -> None:
    frame = regression_frame(200)
    frame.loc[57, "predicted"] = np.inf
    path = write(frame, tmp_path / "r.csv")
    assert same_error(path, "duckdb", **REGRESSION) == (
        "Column 'predicted' (y_pred) must hold finite numbers; found 0 NaN/missing and 1 "
        "infinite values (first at line 59 of r.csv)."
    )


def test_auto_counts_large_files_with_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audit._engines as engines

    path = write(predictions_frame(1_000), tmp_path / "p.parquet")
    assert choose_engine("auto", find_files(path)) == "memory"
    monkeypatch.setattr(engines, "AUTO_SHARE", path.stat().st_size / engines._memory_bytes() / 2)
    assert choose_engine("auto", find_files(path)) == "duckdb"  # larger than the share
    assert audit_file(path, "auto", **DATA).options.engine == "duckdb"  # recorded as chosen


def test_the_cli_counts_a_folder_with_duckdb(
    tmp_path: Path, fairtrail_cli: Callable[..., Any]
) -> None:
    parts = tmp_path / "predictions"
    parts.mkdir()
    frame = predictions_frame(6_000)
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 2)):
        write(frame.iloc[chunk], parts / f"part-{i}.parquet")
    (tmp_path / "audit.toml").write_text(
        '[data]\npath = "predictions"\ny_true = "label"\ny_pred = "pred"\ny_score = "score"\n'
        'pos_label = ">50K"\nsensitive_features = ["sex", "race"]\n'
        "[audit]\n"
        "[policy.thresholds]\ndemographic_parity_ratio = 0.5\n",
        encoding="utf-8",
    )
    out = fairtrail_cli(
        "run", "audit.toml", "--engine", "duckdb", "--out", "bundle", "-q", cwd=tmp_path
    )
    assert out.returncode in (0, 1), out.stderr
    result = json.loads((tmp_path / "bundle" / "result.json").read_text("utf-8"))
    assert result["options"]["engine"] == "duckdb"
    assert result["data"]["n_rows"] == 6_000
    memory = audit_file(parts / "part-0.parquet", "memory", **DATA)  # sanity: a real audit
    assert memory.data.n_rows == 3_000


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("order", ["score", None])
def test_the_median_is_exact_wherever_the_first_rows_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weighted: bool, order: str | None
) -> None:
    """The GROUP BY lists the scores around the first rows' median. Sorted by score, the first
    rows' median is far below the median of all rows: a query fetches the median's bin."""
    import audit._engines._listing as sql  # where the first rows are listed

    monkeypatch.setattr(sql, "FIRST_ROWS", 100 if order else 10_000)
    frame = predictions_frame(3_000, score_decimals=6)
    if order:
        frame = frame.sort_values(order, ignore_index=True)
    path = write(frame, tmp_path / "p.parquet")
    roles = Roles(
        **{**ROLES.__dict__, "score_bins": 50, "sample_weight": "weight" if weighted else None}
    )
    steps: list[str] = []
    got = count_files(find_files(path), roles, "duckdb", on_step=steps.append)
    want = memory_statistics(path, roles)
    assert want.scores is not None
    assert not want.scores.exact
    assert_same_statistics(got.statistics, want)
    assert any(s.startswith("median") for s in steps) == (order is not None)


def test_values_first_seen_after_the_listed_rows_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key columns' values are listed from the first rows; later ones send a recount."""
    import audit._engines._listing as sql  # where the first rows are listed

    monkeypatch.setattr(sql, "FIRST_ROWS", 100)
    frame = predictions_frame(3_000).sort_values(["race", "label"], ignore_index=True)
    frame.loc[2_990:, "sex"] = "Non-binary"  # a small group, only in the last rows
    assert set(frame["race"].iloc[:100]) == {"A"}  # D, C, B and ">50K" come later
    path = write(frame, tmp_path / "sorted.parquet")
    steps: list[str] = []
    got = count_files(find_files(path), ROLES, "duckdb", on_step=steps.append)
    assert_same_statistics(got.statistics, memory_statistics(path, ROLES))
    assert got.statistics.categories[0] == ("Female", "Male", "Non-binary", "unknown")
    assert any("beyond the first rows" in s for s in steps)
    reg = regression_frame(2_000).sort_values("race", ignore_index=True)
    path = write(reg, tmp_path / "r.parquet")
    roles = Roles(y_true="hours", y_pred="predicted", sensitive_features=("sex", "race"),
                  task="regression")  # fmt: skip
    got_r = duckdb_statistics(path, roles)
    np.testing.assert_array_equal(got_r.regression.count,  # type: ignore[attr-defined]
                                  memory_statistics(path, roles).regression.count)  # type: ignore[union-attr]  # fmt: skip


def test_a_csv_with_a_byte_order_mark_is_read_by_both_engines(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    rows = "".join(f"{t},{p},{g}\n" for t, p, g in [(1, 0, "a"), (0, 0, "b"), (1, 1, "a")] * 20)
    path.write_bytes("\ufeffy,p,g\n".encode() + rows.encode())
    roles = Roles(y_true="y", y_pred="p", sensitive_features=("g",))
    assert_same_statistics(duckdb_statistics(path, roles), memory_statistics(path, roles))  # type: ignore[arg-type]
