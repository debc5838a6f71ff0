"""``fairtrail demo``: a full audit of a bundled real dataset, with no set-up.

Adult (UCI, CC BY 4.0): drop rows with missing values (a real preparation step whose effect on
each group is recorded), train a logistic regression on the train split without the sensitive
columns, predict the test split, and audit sex × race against a demonstration policy.
German Credit works the same way with sex × age group.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from audit import AuditResult, load_spec, run_audit, write_bundle
from audit.datasets import dataset_info, load_adult, load_german

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
n_boot = {n_boot}
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
"""


@dataclass(frozen=True)
class DemoRun:
    """What the demo did: the preparation, the model's quality and the audit."""

    dataset: str
    rows_raw: int
    rows_prepared: int
    preparation: dict[str, Any]
    test_accuracy: float
    result: AuditResult
    bundle: Path


def _group_counts(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {
        c: {str(k): int(v) for k, v in frame[c].value_counts(dropna=False).sort_index().items()}
        for c in columns
    }


def _drop_missing_step(
    raw: pd.DataFrame, sensitive: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    prepared = raw.dropna().reset_index(drop=True)
    before, after = _group_counts(raw, sensitive), _group_counts(prepared, sensitive)
    effect = {
        c: {
            g: {
                "rows_in": n,
                "rows_out": after[c].get(g, 0),
                "removed_rate": (n - after[c].get(g, 0)) / n,
            }
            for g, n in before[c].items()
        }
        for c in sensitive
    }
    step = {
        "step": "drop_missing",
        "description": "drop rows with any missing value",
        "rows_in": len(raw),
        "rows_out": len(prepared),
        "by_group": effect,
    }
    return prepared, step


def _fit_predict(prepared: pd.DataFrame, ds: _DemoDataset, seed: int) -> tuple[pd.DataFrame, float]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if "split" in prepared.columns:
        train = prepared[prepared["split"] == "train"]
        test = prepared[prepared["split"] == "test"]
    else:
        train, test = train_test_split(
            prepared, test_size=0.3, random_state=seed, stratify=prepared[ds.target]
        )
    drop = {ds.target, "split", *ds.sensitive, "fnlwgt", "personal_status", "age"}
    features = [c for c in prepared.columns if c not in drop]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(prepared[c].dtype)]
    categorical = [c for c in features if c not in numeric]

    def as_object(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[features].copy()
        for c in categorical:
            out[c] = out[c].astype(object)
        return out

    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    y_train = (train[ds.target] == ds.pos_label).to_numpy()
    model.fit(as_object(train), y_train)
    x_test = as_object(test)
    score = model.predict_proba(x_test)[:, 1]
    predicted = model.predict(x_test)
    y_test = (test[ds.target] == ds.pos_label).to_numpy()
    neg = next(v for v in prepared[ds.target].unique() if v != ds.pos_label)
    predictions = pd.DataFrame(
        {
            "y_true": test[ds.target].astype(str).to_numpy(),
            "y_pred": [ds.pos_label if p else str(neg) for p in predicted],
            "y_score": score.round(6),
            **{c: test[c].astype(str).to_numpy() for c in ds.sensitive},
        }
    )
    return predictions, float((predicted == y_test).mean())


#: Steps the demo reports to ``on_step``: load, prepare, train, the audit's four, write.
DEMO_STEPS = 8


def run_demo(
    dataset: str = "adult",
    out: str | Path = "fairtrail-demo",
    *,
    n_boot: int = 1000,
    seed: int = 0,
    on_step: Callable[[str], None] | None = None,
) -> DemoRun:
    """Prepare a bundled dataset, train a model, audit it and write the bundle.

    Parameters
    ----------
    dataset : {"adult", "german"}
    out : str or Path
        The bundle folder to write (replaced atomically if it is an earlier bundle).
    n_boot : int, default 1000
    seed : int, default 0
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
    say = on_step or (lambda _msg: None)
    say(f"Loading the bundled {dataset} dataset")
    raw = ds.load()
    say("Preparing: dropping rows with missing values")
    prepared, step = _drop_missing_step(raw, ds.sensitive)
    say("Training a logistic regression (sensitive columns excluded) and predicting the test split")
    predictions, accuracy = _fit_predict(prepared, ds, seed)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pq_path = Path(tmp) / "predictions.parquet"
        predictions.to_parquet(pq_path, index=False)
        spec_text = _SPEC.format(
            dataset=dataset,
            pos_label=ds.pos_label,
            sensitive=json.dumps(list(ds.sensitive)),
            n_boot=n_boot,
            seed=seed,
        )
        spec_path = Path(tmp) / "spec.toml"
        spec_path.write_text(spec_text, encoding="utf-8")
        spec = load_spec(spec_path)
        result = run_audit(spec, on_step=lambda _step, text: say(text))
        predictions_bytes = pq_path.read_bytes()
    say("Writing the audit bundle")
    buffer = io.StringIO()
    json.dump(
        {
            "dataset": dataset,
            "source": dataset_info(dataset),
            "preparation": [step],
            "model": {
                "estimator": "LogisticRegression(max_iter=2000)",
                "features_excluded": sorted(ds.sensitive),
                "test_accuracy": accuracy,
            },
        },
        buffer,
        indent=2,
    )
    bundle = write_bundle(
        result,
        out,
        spec=spec.to_dict(),
        spec_text=spec_text,
        extra_files={
            "predictions.parquet": predictions_bytes,
            "provenance.json": (buffer.getvalue() + "\n").encode(),
        },
    )
    return DemoRun(dataset, len(raw), len(prepared), step, accuracy, result, Path(bundle))
