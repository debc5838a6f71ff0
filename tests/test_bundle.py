"""The audit bundle: manifest, tamper detection, and atomic replacement under a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from audit import (
    AuditOptions,
    AuditResult,
    BundleError,
    audit_predictions,
    read_bundle,
    verify_bundle,
    write_bundle,
)


@pytest.fixture
def result(predictions: pd.DataFrame) -> AuditResult:
    return audit_predictions(
        predictions["y_true"],
        predictions["y_pred"],
        y_score=predictions["y_score"],
        sensitive_features=predictions[["sex", "race"]],
        options=AuditOptions(),
    )


def test_round_trip_and_manifest(tmp_path: Path, result: AuditResult) -> None:
    path = write_bundle(result, tmp_path / "b", spec={"x": 1}, spec_text="[data]\n")
    manifest = json.loads((path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"result.json", "spec.json", "spec.toml", "environment.json"}
    assert verify_bundle(path) == []
    again = read_bundle(path)
    assert again.to_dict() == result.to_dict()
    env = json.loads((path / "environment.json").read_text())
    assert env["seed"] == result.options.random_state
    assert env["packages"]["numpy"]


def test_result_json_is_strict_json_with_nulls_for_undefined(
    tmp_path: Path, result: AuditResult
) -> None:
    text = (write_bundle(result, tmp_path / "b") / "result.json").read_text()
    assert "NaN" not in text
    assert "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


@pytest.mark.parametrize("change", ["edit", "delete", "add"])
def test_tampering_is_detected(tmp_path: Path, result: AuditResult, change: str) -> None:
    path = write_bundle(result, tmp_path / "b")
    if change == "edit":
        data = json.loads((path / "result.json").read_text())
        data["status"] = "pass"
        (path / "result.json").write_text(json.dumps(data))
        expected = "result.json does not match its sha256"
    elif change == "delete":
        (path / "environment.json").unlink()
        expected = "environment.json is listed in the manifest but missing"
    else:
        (path / "extra.txt").write_text("x")
        expected = "extra.txt is not listed in the manifest"
    assert any(expected in p for p in verify_bundle(path))
    with pytest.raises(BundleError, match="failed verification"):
        read_bundle(path)


def test_refuses_to_replace_a_folder_that_is_not_a_bundle(
    tmp_path: Path, result: AuditResult
) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    with pytest.raises(BundleError, match=r"Refusing to replace .*is not a fairtrail bundle"):
        write_bundle(result, target)
    assert (target / "thesis.tex").read_text() == "years of work"


def test_unknown_schema_version_is_refused(tmp_path: Path, result: AuditResult) -> None:
    data = result.to_dict()
    data["schema_version"] = "99"
    with pytest.raises(BundleError, match=r"schema_version '99' is not supported"):
        AuditResult.from_dict(data)


def test_malformed_result_is_refused(result: AuditResult) -> None:
    data = result.to_dict()
    data["data"]["n_rows"] = "many"
    with pytest.raises(BundleError, match=r"result\.data\.n_rows must be an integer"):
        AuditResult.from_dict(data)


def test_kill_during_write_leaves_previous_bundle_intact(tmp_path: Path) -> None:
    """SIGKILL a writer half-way through replacing a bundle: the old bundle survives."""
    target = tmp_path / "bundle"
    script = textwrap.dedent(
        f"""
        import sys, time
        import audit._bundle as b
        from audit import AuditOptions, audit_predictions, write_bundle

        r = audit_predictions([0, 1, 1, 0] * 20, [0, 1, 0, 0] * 20,
                              sensitive_features={{"g": ["a", "b"] * 40}},
                              options=AuditOptions(intervals=False))
        write_bundle(r, {str(target)!r})
        print(r.audit_id, flush=True)
        real_write = b._write

        def slow_write(path, data):
            real_write(path, data)
            print("WROTE", path.name, flush=True)
            time.sleep(60)  # the parent kills us here

        b._write = slow_write
        r2 = audit_predictions([1, 1, 1, 0] * 20, [1, 1, 0, 0] * 20,
                               sensitive_features={{"g": ["a", "b"] * 40}},
                               options=AuditOptions(intervals=False))
        write_bundle(r2, {str(target)!r})
        """
    )
    with subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", script], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        first_id = proc.stdout.readline().strip()
        line = proc.stdout.readline()
        assert line.startswith("WROTE"), line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert verify_bundle(target) == []
    assert read_bundle(target).audit_id == first_id
    # The next write succeeds and replaces it; the debris of the killed write does not matter.
    r3 = audit_predictions(
        [0, 1, 1, 0] * 10,
        [0, 1, 1, 0] * 10,
        sensitive_features={"g": ["a", "a", "b", "b"] * 10},
        options=AuditOptions(intervals=False, min_group_size=1),
    )
    write_bundle(r3, target)
    assert read_bundle(target).audit_id == r3.audit_id
