"""``fairtrail demo`` on the bundled Adult data: the preparation step and the audit it writes."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from audit import load_spec, read_bundle, run_audit
from fairtrail.demo import run_demo


@pytest.fixture(scope="module")
def adult_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo") / "bundle"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined intersectional rates are expected here
        return run_demo("adult", out, n_boot=200, seed=0)


def test_preparation_step_recorded_per_group(adult_run) -> None:  # type: ignore[no-untyped-def]
    # 48,842 raw rows; 3,620 have at least one '?' (counted in the raw UCI files).
    assert adult_run.rows_raw == 48_842
    assert adult_run.rows_prepared == 48_842 - 3_620
    by_sex = adult_run.preparation["by_group"]["sex"]
    assert by_sex["Female"]["rows_in"] + by_sex["Male"]["rows_in"] == 48_842
    removed = sum(v["rows_in"] - v["rows_out"] for v in by_sex.values())
    assert removed == 3_620


def test_audit_covers_sex_race_and_intersection(adult_run) -> None:  # type: ignore[no-untyped-def]
    r = adult_run.result
    assert [a.name for a in r.attributes] == ["sex", "race", "sex × race"]
    assert r.data.n_rows == 15_060  # the test split after dropping missing rows
    assert len(r.criteria) == 4 * 3
    assert 0.8 < adult_run.test_accuracy < 0.9


def test_bundle_verifies_and_its_spec_reruns(adult_run) -> None:  # type: ignore[no-untyped-def]
    bundle: Path = adult_run.bundle
    again = read_bundle(bundle)
    assert again.audit_id == adult_run.result.audit_id
    provenance = json.loads((bundle / "provenance.json").read_text())
    assert provenance["source"]["licence"] == "CC BY 4.0"
    # The bundle is self-contained: its spec points at its own predictions file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rerun = run_audit(load_spec(bundle / "spec.toml"))
    assert rerun.cells == again.cells
    assert [c.estimate.value for c in rerun.criteria] == [c.estimate.value for c in again.criteria]
