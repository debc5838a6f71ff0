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
        return run_demo("adult", out, seed=0)


def test_preparation_step_recorded_per_group(adult_run) -> None:  # type: ignore[no-untyped-def]
    # 48,842 raw rows; 3,620 have at least one '?' (counted in the raw UCI files).
    assert adult_run.rows_raw == 48_842
    assert adult_run.rows_prepared == 48_842 - 3_620
    drop = adult_run.steps[0]
    assert drop.step == "drop_missing"
    by_sex = {g.value: g for g in drop.groups if g.feature == "sex"}
    assert by_sex["Female"].rows_in + by_sex["Male"].rows_in == 48_842
    assert sum(g.rows_in - g.rows_out for g in by_sex.values()) == 3_620
    # Dropping missing values is skewed: race is flagged (Asian-Pac-Islander loses the most).
    flagged = {f.feature: f for f in drop.flags}
    assert flagged["race"].highest.value == "Asian-Pac-Islander"
    assert flagged["race"].gap > 0.05


def test_lineage_chain_from_raw_file_to_audit(adult_run) -> None:  # type: ignore[no-untyped-def]
    from lineage import build_graph

    graph = build_graph(adult_run.events)
    prefix = "adult_income_model.prepare_and_train"
    names = {j.name for j in graph.jobs}
    assert {f"{prefix}.{s}" for s in ("drop_missing", "split", "train_model", "predict")} <= names
    assert "adult_income_model.audit" in names
    predictions = str(adult_run.bundle / "predictions.parquet")
    result = str(adult_run.bundle / "result.json")
    by_name = {j.name: j for j in graph.jobs}
    audit_job = by_name["adult_income_model.audit"]
    assert [d.split(":", 2)[2] for d in audit_job.inputs] == [predictions]
    assert [d.split(":", 2)[2] for d in audit_job.outputs] == [result]
    writer = by_name[f"{prefix}.write_predictions.parquet"]
    assert [d.split(":", 2)[2] for d in writer.outputs] == [predictions]


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


def test_demo_sweeps_mitigations_and_stores_the_choice(adult_run) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    from audit.mitigation import load_chosen_model, read_tradeoff
    from fairtrail.demo import DEMO_MITIGATION, DEMO_SELECTION_POLICY

    t = read_tradeoff(adult_run.bundle)  # verified against the manifest
    assert t.to_dict() == adult_run.sweep.tradeoff.to_dict()
    mitigated = [c for c in t.candidates if c.name != t.baseline]
    assert len(mitigated) >= 8
    assert len({c.method for c in mitigated}) == len(DEMO_MITIGATION.active_methods()) == 5
    assert t.policy_name == DEMO_SELECTION_POLICY.name
    assert t.chosen is not None
    assert "Who pays" in t.rationale
    chosen = t.candidate(t.chosen)
    assert chosen.status == "pass"
    # The chosen model, reloaded from the bundle, reproduces the audited disparity on the
    # test split: selection rates by sex computed here directly.
    predictions = pd.read_parquet(adult_run.bundle / "predictions.parquet")
    model = load_chosen_model(adult_run.bundle)
    from audit.datasets import load_adult
    from fairtrail.demo import DEMO_DATASETS, _as_object, _features, _split

    ds = DEMO_DATASETS["adult"]
    _, test = _split(load_adult().dropna().reset_index(drop=True), ds, 0)
    numeric, categorical = _features(test, ds)
    x_test = model[:-1].transform(_as_object(test, numeric, categorical))
    step = model.steps[-1][1]
    sex = test["sex"].astype(str).to_numpy()
    try:
        pred = step.predict(x_test, sensitive_features={"sex": sex})
    except TypeError:  # the reductions predict without the groups
        pred = step.predict(x_test)
    assert len(pred) == len(predictions)
    rates = pd.Series(np.asarray(pred)).groupby(sex).mean()
    assert chosen.disparity.value == pytest.approx(float(rates.max() - rates.min()))
