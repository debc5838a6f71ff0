"""``fairtrail demo``: a full audit of a bundled real dataset, with its provenance.

Adult (UCI, CC BY 4.0): drop rows with missing values (a real preparation step, and a skewed
one: its effect on each group is recorded), split train/test, train a logistic regression
without the sensitive columns, predict the test split, and audit sex × race against a
demonstration policy. German Credit works the same way with sex × age group.

Every step is recorded as OpenLineage events (see :mod:`lineage`): the bundled raw file →
``drop_missing`` → ``split`` → ``train_model`` → ``predict`` → the predictions file → the
audit → its result. The events are the bundle's ``lineage/events.jsonl``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit import AuditOptions, AuditResult, Bundle, Policy, Threshold, load_spec
from audit.datasets import dataset_info, dataset_path, load_adult, load_german
from audit.mitigation import Sweep, SweepPlan, run_sweep, sweep_files
from fairtrail._provenance import audit_with_lineage
from lineage import RecordingTransport, StepEffect, Tracker

__all__ = ["DEMO_DATASETS", "DemoRun", "run_demo"]


@dataclass(frozen=True)
class _DemoDataset:
    target: str
    pos_label: str
    sensitive: tuple[str, ...]
    load: Callable[[], pd.DataFrame]


DEMO_DATASETS = {
    "adult": _DemoDataset("income", ">50K", ("sex", "race"), load_adult),
    "german": _DemoDataset("credit", "good", ("sex", "age_group"), load_german),
}

_SPEC = """\
# fairtrail audit spec written by `fairtrail demo` ({dataset}).
# Re-run this audit with:  fairtrail run spec.toml --out <folder>

[data]
path = "predictions.parquet"
y_true = "y_true"
y_pred = "y_pred"
y_score = "y_score"
pos_label = "{pos_label}"
sensitive_features = {sensitive}

[audit]
random_state = {seed}
min_group_size = 30
confidence_level = 0.95

[policy]
name = "fairtrail demonstration policy"
version = "1"
decision_rule = "interval"

[policy.thresholds]
demographic_parity_ratio = 0.8
equal_opportunity_difference = 0.1
equalized_odds_difference = 0.1
predictive_parity_difference = 0.1

[lineage]
namespace = "{namespace}"
job = "{dataset}_income_model.audit"
"""


@dataclass(frozen=True)
class DemoRun:
    """What the demo did: the preparation steps, the model's quality and the audit."""

    dataset: str
    rows_raw: int
    rows_prepared: int
    steps: tuple[StepEffect, ...]
    test_accuracy: float
    result: AuditResult
    bundle: Path
    events: list[dict[str, Any]]
    sweep: Sweep | None = None


#: The OpenLineage namespace of the demo's jobs.
NAMESPACE = "fairtrail-demo"


def _split(prepared: pd.DataFrame, ds: _DemoDataset, seed: int) -> tuple[pd.DataFrame, ...]:
    from sklearn.model_selection import train_test_split

    if "split" in prepared.columns:  # Adult comes with its own train/test split
        return (
            prepared[prepared["split"] == "train"],
            prepared[prepared["split"] == "test"],
        )
    train, test = train_test_split(
        prepared, test_size=0.3, random_state=seed, stratify=prepared[ds.target]
    )
    return train, test


def _features(frame: pd.DataFrame, ds: _DemoDataset) -> tuple[list[str], list[str]]:
    drop = {ds.target, "split", *ds.sensitive, "fnlwgt", "personal_status", "age"}
    features = [c for c in frame.columns if c not in drop]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    return numeric, [c for c in features if c not in numeric]


def _as_object(frame: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    out = frame[numeric + categorical].copy()
    for c in categorical:
        out[c] = out[c].astype(object)
    return out


def _fit(train: pd.DataFrame, ds: _DemoDataset) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = _features(train, ds)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    y_train = (train[ds.target] == ds.pos_label).to_numpy()
    return model.fit(_as_object(train, numeric, categorical), y_train)


def _predict(model: Any, test: pd.DataFrame, ds: _DemoDataset, negative: str) -> pd.DataFrame:
    numeric, categorical = _features(test, ds)
    x_test = _as_object(test, numeric, categorical)
    score = model.predict_proba(x_test)[:, 1]
    predicted = model.predict(x_test)
    return pd.DataFrame(
        {
            "y_true": test[ds.target].astype(str).to_numpy(),
            "y_pred": [ds.pos_label if p else negative for p in predicted],
            "y_score": score.round(6),
            **{c: test[c].astype(str).to_numpy() for c in ds.sensitive},
        }
    )


#: Steps the demo reports to ``on_step``: load, prepare, train, mitigate, the audit's four,
#: write.
DEMO_STEPS = 9

#: The demo's mitigation: demographic parity on sex (the demo model's largest gap), nine
#: operating points across the five methods, chosen by a selection policy that asks for
#: the whole 95% interval of the demographic parity difference within 0.05.
DEMO_MITIGATION = SweepPlan(
    "demographic_parity", difference_bounds=(0.05, 0.02), tolerances=(0.0, 0.05)
)
DEMO_MITIGATION_FEATURE = "sex"
DEMO_SELECTION_POLICY = Policy(
    (Threshold("demographic_parity_difference", 0.05, (DEMO_MITIGATION_FEATURE,)),),
    decision_rule="interval",
    name="fairtrail demonstration selection policy",
    version="1",
)


def _mitigate(
    model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    ds: _DemoDataset,
    *,
    seed: int,
) -> tuple[Sweep, dict[str, bytes]]:
    """Sweep mitigations of the trained model (its fitted features, its estimator as baseline)."""
    numeric, categorical = _features(train, ds)
    feature = DEMO_MITIGATION_FEATURE
    features = model[:-1]
    x_train = np.asarray(features.transform(_as_object(train, numeric, categorical)), np.float64)
    x_test = np.asarray(features.transform(_as_object(test, numeric, categorical)), np.float64)
    sweep = run_sweep(
        model[-1],
        x_train,
        (train[ds.target] == ds.pos_label).to_numpy().astype(np.int64),
        x_test,
        (test[ds.target] == ds.pos_label).to_numpy().astype(np.int64),
        sensitive_features_train={feature: train[feature].astype(str).to_numpy()},
        sensitive_features_test={feature: test[feature].astype(str).to_numpy()},
        plan=replace(DEMO_MITIGATION, random_state=seed),
        policy=DEMO_SELECTION_POLICY,
        options=AuditOptions(random_state=seed),
        prefit=True,
        n_jobs=min(2, os.cpu_count() or 1),  # fairlearn's reductions run single-threaded
    )
    chosen = sweep.chosen_model
    if chosen is not None:
        from sklearn.pipeline import Pipeline

        chosen = Pipeline([("features", features), ("mitigation", chosen)])
    return sweep, sweep_files(sweep, model=chosen, details={"sensitive_features": [feature]})


def run_demo(
    dataset: str = "adult",
    out: str | Path = "fairtrail-demo",
    *,
    seed: int = 0,
    mitigate: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> DemoRun:
    """Prepare a bundled dataset, train a model, audit it and write the bundle, with lineage.

    Parameters
    ----------
    dataset : {"adult", "german"}
    out : str or Path
        The bundle folder to write (replaced atomically if it is an earlier bundle).
    seed : int, default 0
    mitigate : bool, default True
        Also sweep mitigations of the model (:data:`DEMO_MITIGATION`) and store the
        trade-off, every candidate's audit and the chosen model under ``mitigation/``.
    on_step : callable, optional
        Called with a short description before each step (for progress display).

    Returns
    -------
    DemoRun
    """
    if dataset not in DEMO_DATASETS:
        from audit import SpecError

        raise SpecError(f"Unknown demo dataset {dataset!r}. Available: {sorted(DEMO_DATASETS)}.")
    ds = DEMO_DATASETS[dataset]
    info = dataset_info(dataset)
    out = Path(out).resolve()
    say = on_step or (lambda _msg: None)
    recorder = RecordingTransport()
    tracker = Tracker(NAMESPACE, recorder, sensitive_features=ds.sensitive)
    job = f"{dataset}_income_model.prepare_and_train"
    with tracker.run(
        job,
        description=f"Prepare the {info['title']} data, train a logistic regression and "
        "predict the test split (fairtrail demo).",
        owners=["fairtrail demo"],
    ) as run:
        say(f"Loading the bundled {dataset} dataset")
        raw = run.input(
            ds.load(),
            path=dataset_path(dataset),
            owner=info["origin"],
            source=info["origin"],
            source_uri=info["url"],
            licence=info["licence"],
            description=f"{info['title']}. {info['citation']}",
        )
        say("Preparing: dropping rows with missing values")
        prepared = run.step(
            "drop_missing",
            raw,
            lambda d: d.dropna().reset_index(drop=True),
            description="Drop rows with any missing value.",
        )
        train, test = run.step(
            "split", prepared, lambda d: _split(d, ds, seed), outputs=["train", "test"]
        )
        say(
            "Training a logistic regression (sensitive columns excluded), predicting the test split"
        )
        model = run.step(
            "train_model",
            train,
            lambda d: _fit(d, ds),
            description="LogisticRegression(max_iter=2000) on one-hot and scaled features; "
            "sensitive columns, fnlwgt and age excluded.",
        )
        negative = next(str(v) for v in prepared[ds.target].unique() if v != ds.pos_label)
        predictions = run.step("predict", (model, test), lambda m, t: _predict(m, t, ds, negative))
        buffer = io.BytesIO()
        predictions.to_parquet(buffer, index=False)
        predictions_bytes = buffer.getvalue()
        run.output(
            predictions,
            path=out / Bundle.PREDICTIONS,
            data=predictions_bytes,
            description="Predictions of the model on the test split, with the sensitive columns.",
        )
    accuracy = float((predictions["y_true"] == predictions["y_pred"]).mean())
    sweep: Sweep | None = None
    mitigation_files: dict[str, bytes] = {}
    if mitigate:
        points = len(DEMO_MITIGATION.points())
        say(f"Sweeping {points} mitigations of the model ({DEMO_MITIGATION.constraint})")
        sweep, mitigation_files = _mitigate(model, train, test, ds, seed=seed)
    spec_text = _SPEC.format(
        dataset=dataset,
        pos_label=ds.pos_label,
        sensitive=json.dumps(list(ds.sensitive)),
        seed=seed,
        namespace=NAMESPACE,
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "predictions.parquet").write_bytes(predictions_bytes)
        spec_path = Path(tmp) / "spec.toml"
        spec_path.write_text(spec_text, encoding="utf-8")
        spec = load_spec(spec_path)
        summary = {
            "dataset": dataset,
            "source": info,
            "model": {
                "estimator": "LogisticRegression(max_iter=2000)",
                "features_excluded": sorted(ds.sensitive),
                "test_accuracy": accuracy,
            },
            "lineage": Bundle.EVENTS,
        }
        recorded = audit_with_lineage(
            spec,
            lambda _result: out,
            spec_text=spec_text,
            on_step=lambda _step, text: say(text),
            upstream_events=recorder.events,
            data_recorded_as=out / Bundle.PREDICTIONS,
            extra_files={
                Bundle.PREDICTIONS: predictions_bytes,
                Bundle.PROVENANCE: (json.dumps(summary, indent=2) + "\n").encode(),
                **mitigation_files,
            },
        )
    say("Writing the audit bundle")
    return DemoRun(
        dataset,
        len(raw),
        len(prepared),
        tuple(run.effects),
        accuracy,
        recorded.result,
        recorded.bundle,
        recorded.events,
        sweep,
    )
