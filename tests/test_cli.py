"""The command line: exit codes 0 / 1 / 2, one readable error line, never a traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest


def spec_file(tmp_path: Path, threshold: float, extra: str = "") -> Path:
    spec = tmp_path / "audit.toml"
    spec.write_text(
        f"""
[data]
path = "pred.csv"
y_true = "y_true"
y_pred = "y_pred"
sensitive_features = ["sex"]
{extra}
[audit]

[policy]
[policy.thresholds]
demographic_parity_ratio = {threshold}
"""
    )
    return spec


@pytest.fixture
def balanced(tmp_path: Path) -> Path:
    # F: selection 0.5, M: selection 0.5 (2000 rows each) -> ratio 1.0 exactly, and enough
    # rows for the simultaneous bounds (about 0.5 ± 0.025 each) to keep the ratio above 0.8.
    df = pd.DataFrame(
        {"y_true": [0, 1] * 2000, "y_pred": [1, 1, 0, 0] * 1000, "sex": ["F"] * 2000 + ["M"] * 2000}
    )
    df.to_csv(tmp_path / "pred.csv", index=False)
    return tmp_path


@pytest.fixture
def skewed(tmp_path: Path) -> Path:
    # F: selection 0.2, M: selection 0.8 (500 rows each) -> ratio 0.25, far below 0.8.
    f_pred = [1] * 100 + [0] * 400
    m_pred = [1] * 400 + [0] * 100
    df = pd.DataFrame(
        {"y_true": [0, 1] * 500, "y_pred": f_pred + m_pred, "sex": ["F"] * 500 + ["M"] * 500}
    )
    df.to_csv(tmp_path / "pred.csv", index=False)
    return tmp_path


def test_run_passes_with_exit_0_and_writes_bundle(
    balanced: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    spec_file(balanced, 0.8)
    out = fairtrail_cli("run", "audit.toml", "--out", "bundle", cwd=balanced)
    assert out.returncode == 0, out.stderr
    assert "demographic_parity_ratio" in out.stdout
    assert "pass" in out.stdout
    assert (balanced / "bundle" / "manifest.json").is_file()
    shown = fairtrail_cli("show", "bundle", "--quiet", cwd=balanced)
    assert shown.returncode == 0
    assert "every file matches its manifest" in shown.stdout


def test_run_fails_with_exit_1(
    skewed: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    spec_file(skewed, 0.8)
    out = fairtrail_cli("run", "audit.toml", "--out", "bundle", "-q", cwd=skewed)
    assert out.returncode == 1, out.stderr
    assert "Status: FAIL" in out.stdout
    assert "0.250" in out.stdout  # 0.2 / 0.8, derived by hand in the fixture


def test_data_error_is_one_line_with_exit_2(
    skewed: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    spec_file(skewed, 0.8, extra='y_score = "nope"')
    out = fairtrail_cli("run", "audit.toml", cwd=skewed)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fairtrail: error: Column 'nope' (y_score) is not in 'pred.csv'")


def test_spec_error_and_missing_spec_exit_2(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    (tmp_path / "bad.toml").write_text("[data]\ny_true = 'y'\n")
    out = fairtrail_cli("run", "bad.toml", cwd=tmp_path)
    assert out.returncode == 2
    assert "data.y_pred is required" in out.stderr
    out = fairtrail_cli("run", "missing.toml", cwd=tmp_path)
    assert out.returncode == 2
    assert "Cannot read spec" in out.stderr
    assert "Traceback" not in out.stderr


def test_usage_error_exit_2(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    out = fairtrail_cli("run", cwd=tmp_path)
    assert out.returncode == 2
    assert "Missing argument 'SPEC'" in out.stderr


def test_show_of_tampered_bundle_exit_2(
    balanced: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    spec_file(balanced, 0.8)
    assert fairtrail_cli("run", "audit.toml", "--out", "b", "-q", cwd=balanced).returncode == 0
    (balanced / "b" / "result.json").write_text("{}")
    out = fairtrail_cli("show", "b", cwd=balanced)
    assert out.returncode == 2
    assert "result.json does not match its sha256" in out.stderr


def test_run_says_what_is_left_out_and_what_would_decide(
    tmp_path: Path, fairtrail_cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # F selects 50 of 100, M 56 of 100: a gap of 0.06 against a limit of 0.1, undecided at
    # 100 rows each. X has 10 rows: reported, not compared.
    pred = [1] * 50 + [0] * 50 + [1] * 56 + [0] * 44 + [1] * 5 + [0] * 5
    df = pd.DataFrame(
        {"y_true": [0, 1] * 105, "y_pred": pred, "sex": ["F"] * 100 + ["M"] * 100 + ["X"] * 10}
    )
    df.to_csv(tmp_path / "pred.csv", index=False)
    spec = (
        spec_file(tmp_path, 0.8)
        .read_text()
        .replace("demographic_parity_ratio = 0.8", "demographic_parity_difference = 0.1")
    )
    (tmp_path / "audit.toml").write_text(spec.replace("[audit]\n", "[audit]\nn_boot = 500\n"))
    out = fairtrail_cli("run", "audit.toml", "--out", "b", "-q", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    text = " ".join(out.stdout.split())  # as one line, whatever the terminal's width
    assert "95% intervals (exact or analytic)" in text
    assert "bootstrap" not in text.replace("not bootstrapped", "")
    assert "audit.n_boot is no longer used" in text  # the old key: read, with a note
    assert "not compared: X (10 rows, fewer than min_group_size=30)" in text.replace(
        "Not compared", "not compared"
    )
    assert "would decide it (pass): about" in text
    assert "rows in F (now 100)" in text or "rows in M (now 100)" in text
