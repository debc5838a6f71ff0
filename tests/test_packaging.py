"""Build the wheel, install it outside the repo, and run the demo from there.

The flat layout hides missing package data when tests run from the repo root, so this test
installs the wheel into a separate folder and runs ``python -m fairtrail demo`` with the
working directory and import path pointing away from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("fairtrail-*.whl")
    return built


def test_wheel_holds_packages_data_and_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "audit/__init__.py",
        "audit/datasets/data/adult.csv.gz",
        "audit/datasets/data/german.csv.gz",
        "audit/datasets/data/SOURCES.json",
        "audit/datasets/data/ATTRIBUTION.md",
        "lineage/__init__.py",
        *(
            f"lineage/spec/facets/1-0-0/{name}.json"  # custom facet schemas: package data
            for name in (
                "AuditResultDatasetFacet",
                "ContentDigestDatasetFacet",
                "GroupCompositionDatasetFacet",
                "StepEffectRunFacet",
            )
        ),
        "lineage/spec/facets/1-1-0/ContentDigestDatasetFacet.json",  # the file-list digest
        "audit/_engines/java/DenseGroupBy.java",  # Spark's dense counter, compiled on use
        "reports/__init__.py",
        "reports/templates/report.html.j2",
        "reports/assets/report.css",
        "reports/assets/fonts/DejaVuSans.ttf",
        "reports/assets/fonts/DejaVuSans-Bold.ttf",
        "reports/assets/fonts/LICENSE-DejaVu.txt",
        "fairtrail/cli.py",
        "fairtrail/_app.py",  # the review app (app.py), which `fairtrail app` serves
    ):
        assert required in names, f"{required} missing from the wheel"
    assert not any(n.startswith("tests/") for n in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "fairtrail = fairtrail.cli:main" in text


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    where = subprocess.run(
        [sys.executable, "-c", "import audit, fairtrail; print(audit.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target)), where.stdout
    app = subprocess.run(
        [sys.executable, "-c", "from fairtrail._cli_app import app_path; print(app_path())"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert app.stdout.strip() == str(target / "fairtrail" / "_app.py")
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairtrail",
            "demo",
            "--dataset",
            "german",
            "--out",
            "bundle",
            "--quiet",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Status:" in demo.stdout
    manifest = json.loads((work / "bundle" / "manifest.json").read_text())
    assert {"result.json", "predictions.parquet", "provenance.json"} <= set(manifest["files"])
    # The demo ends with the report, rendered from the installed package's own assets.
    assert (work / "bundle" / "report.pdf").is_file()
    assert "Report: " in demo.stdout
    verify = subprocess.run(
        [sys.executable, "-m", "fairtrail", "verify", "bundle/report.pdf", "bundle"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "seal intact" in verify.stdout
