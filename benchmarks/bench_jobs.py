"""What ``bench_audit.py`` measures: the synthetic data and one job per measured item.

Each ``setup_*`` (or ``_job_*``) does the untimed work (imports, loading a DataFrame) and
returns the job whose call is timed; ``bench_audit.py`` runs each in a fresh process.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = 20_240_601
GENERATOR_VERSION = 1
FEATURES = ("sex", "race", "age_band")
SEX = ("Female", "Male", "Nonbinary")
RACE = ("Asian", "Black", "Hispanic", "White")
AGE = ("18-24", "25-34", "35-49", "50-64", "65+")


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def data_stem(out: Path, n: int) -> Path:
    return out / "data" / f"bench_{n}"


def generate(out: Path, n: int) -> dict[str, Any]:
    """Write ``bench_{n}.parquet`` and ``.csv`` under ``out/data`` unless already there."""
    stem = data_stem(out, n)
    meta_path = stem.with_suffix(".json")
    parquet, csv = stem.with_suffix(".parquet"), stem.with_suffix(".csv")
    want = {"rows": n, "seed": SEED, "generator_version": GENERATOR_VERSION}
    if meta_path.is_file() and parquet.is_file() and csv.is_file():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()):
            meta["reused"] = True
            return meta
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    stem.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    sex = rng.choice(len(SEX), size=n, p=[0.49, 0.48, 0.03])
    race = rng.choice(len(RACE), size=n, p=[0.08, 0.14, 0.18, 0.60])
    age = rng.choice(len(AGE), size=n, p=[0.14, 0.24, 0.27, 0.23, 0.12])
    # Group-dependent base rate (logit scale).
    logit = (
        -0.7
        + np.array([-0.15, 0.15, 0.0])[sex]
        + np.array([0.2, -0.35, -0.2, 0.1])[race]
        + np.array([-0.6, -0.1, 0.2, 0.3, 0.0])[age]
    )
    y_true = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    # Score: informative, better separated for some groups.
    separation = 1.2 + np.array([0.0, 0.2, -0.3, 0.3])[race] + 0.1 * age
    z = 0.6 * logit + separation * (2.0 * y_true - 1.0) + rng.normal(0.0, 1.0, n)
    y_score = np.round(1.0 / (1.0 + np.exp(-z)), 6)
    # Group-dependent decision threshold ⇒ group-dependent selection and error rates.
    threshold = 0.5 + np.array([0.03, -0.02, 0.0])[sex] + np.array([0.0, 0.05, 0.02, -0.02])[race]
    y_pred = (y_score >= threshold).astype(np.int8)
    del logit, separation, z, threshold

    def text(values: tuple[str, ...], codes: Any) -> Any:
        return pc.take(pa.array(values, pa.string()), pa.array(codes.astype(np.int8)))

    table = pa.table(
        {
            "sex": text(SEX, sex),
            "race": text(RACE, race),
            "age_band": text(AGE, age),
            "y_true": pa.array(y_true),
            "y_pred": pa.array(y_pred),
            "y_score": pa.array(y_score),
        }
    )
    del sex, race, age, y_true, y_pred, y_score
    pq.write_table(table, parquet)
    pacsv.write_csv(table, csv)
    meta = {
        **want,
        "columns": table.column_names,
        "parquet_bytes": parquet.stat().st_size,
        "csv_bytes": csv.stat().st_size,
        "generate_seconds": round(time.perf_counter() - t0, 2),
        "reused": False,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


# ---------------------------------------------------------------------------------------------
# Workers: each returns (untimed setup done) a job whose call is the measured work.
# ---------------------------------------------------------------------------------------------


def spec_raw(path: str | None, intervals: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "y_true": "y_true",
        "y_pred": "y_pred",
        "y_score": "y_score",
        "sensitive_features": list(FEATURES),
    }
    if path is not None:
        data["path"] = path
    return {
        "data": data,
        "audit": {"intervals": intervals, "random_state": 0},
        "policy": {
            "name": "benchmark policy",
            "thresholds": {
                "demographic_parity_ratio": 0.8,
                "equalized_odds_difference": 0.1,
                "equal_opportunity_difference": {"threshold": 0.1, "attributes": ["sex"]},
                "predictive_parity_ratio": 0.8,
            },
        },
    }


def _head(stem: Path, rows: int) -> Any:
    """The first ``rows`` rows of the Parquet file, without reading the rest."""
    import pyarrow.parquet as pq

    batch = next(pq.ParquetFile(stem.with_suffix(".parquet")).iter_batches(batch_size=rows))
    return batch.to_pandas()


def _load_frame(stem: Path, rows: int, **kwargs: Any) -> Any:
    import pandas as pd

    df = pd.read_parquet(stem.with_suffix(".parquet"), **kwargs)
    if rows < len(df):
        df = df.iloc[:rows].copy()
    return df


def _fairtrail_check(result: Any) -> dict[str, Any]:
    return {
        "rows": result.data.n_rows,
        "tp": sum(c.tp for c in result.cells),
        "cells": len(result.cells),
        "status": result.status,
        "criteria": len(result.criteria),
        "attributes": [a.name for a in result.attributes],
    }


def _job_fairtrail(
    source: str, intervals: bool = True
) -> Callable[[Path, int], Callable[[], dict[str, Any]]]:
    def setup(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
        import warnings

        sys.path.insert(0, str(ROOT))
        from audit import parse_spec, run_audit

        if source == "memory":
            df = _load_frame(stem, rows)
            spec = parse_spec(spec_raw(None, intervals))
        else:
            df = None
            spec = parse_spec(spec_raw(str(stem.with_suffix("." + source))))
        # Untimed warm-up on 10,000 rows: what the audit imports on first use (scipy.special
        # for the intervals) and first-call set-up are not counted, as imports are not.
        small = _head(stem, 10_000) if df is None else df.iloc[:10_000]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_audit(parse_spec(spec_raw(None, intervals)), small)

        def job() -> dict[str, Any]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = run_audit(spec, df)
            return _fairtrail_check(result)

        return job

    return setup


def _encoded(stem: Path, rows: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    df = _load_frame(stem, rows)
    arrays = {c: pd.factorize(df[c], sort=True)[0].astype(np.intp) for c in FEATURES}
    arrays["y_true"] = df["y_true"].to_numpy().astype(np.intp)
    arrays["y_pred"] = df["y_pred"].to_numpy().astype(np.intp)
    arrays["y_score"] = df["y_score"].to_numpy(dtype=np.float64)
    return arrays


def setup_floor_bincount(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
    import numpy as np

    a = _encoded(stem, rows)
    s, r, g, yt, yp = a["sex"], a["race"], a["age_band"], a["y_true"], a["y_pred"]
    n_cells = len(SEX) * len(RACE) * len(AGE)

    def job() -> dict[str, Any]:
        t0 = time.perf_counter()
        key = ((s * len(RACE) + r) * len(AGE) + g) * 4 + yt * 2 + yp
        t1 = time.perf_counter()
        counts = np.bincount(key, minlength=n_cells * 4).reshape(n_cells, 4)
        t2 = time.perf_counter()
        return {
            "rows": int(counts.sum()),
            "tp": int(counts[:, 3].sum()),
            "id_s": t1 - t0,
            "bincount_s": t2 - t1,
        }

    return job


def setup_floor_scores(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
    """The bincount floor plus the per-cell, per-label score histograms an audit with y_score
    needs (count, score sum, score sum of squares over 10,000 equal-width bins)."""
    import numpy as np

    a = _encoded(stem, rows)
    s, r, g, yt, yp, score = (a[k] for k in (*FEATURES, "y_true", "y_pred", "y_score"))
    n_cells, n_bins = len(SEX) * len(RACE) * len(AGE), 10_000

    def job() -> dict[str, Any]:
        cell = (s * len(RACE) + r) * len(AGE) + g
        counts = np.bincount(cell * 4 + yt * 2 + yp, minlength=n_cells * 4)
        bins = np.minimum((score * n_bins).astype(np.intp), n_bins - 1)
        key = (cell * 2 + yt) * n_bins + bins
        size = n_cells * 2 * n_bins
        h = np.bincount(key, minlength=size)
        h_sum = np.bincount(key, weights=score, minlength=size)
        h_sq = np.bincount(key, weights=score * score, minlength=size)
        del h_sum, h_sq
        return {"rows": int(counts.sum()), "tp": int(counts[3::4].sum()), "hist": int(h.sum())}

    return job


def setup_floor_encode(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
    import pandas as pd

    df = _load_frame(stem, rows)
    columns = [df[c] for c in FEATURES]

    def job() -> dict[str, Any]:
        sizes = [len(pd.factorize(col, sort=True)[1]) for col in columns]
        return {"rows": len(columns[0]), "categories": sizes}

    return job


def _job_duckdb(source: str) -> Callable[[Path, int], Callable[[], dict[str, Any]]]:
    def setup(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
        import duckdb

        path = stem.with_suffix("." + source).as_posix().replace("'", "''")
        reader = "read_csv" if source == "csv" else "read_parquet"
        query = (
            "SELECT sex, race, age_band, y_true, y_pred, count(*) AS n "
            f"FROM {reader}('{path}') GROUP BY ALL"
        )
        con = duckdb.connect()

        def job() -> dict[str, Any]:
            out = con.execute(query).fetchall()
            return {
                "rows": int(sum(row[5] for row in out)),
                "tp": int(sum(row[5] for row in out if int(row[3]) == 1 and int(row[4]) == 1)),
                "groups": len(out),
            }

        return job

    return setup


def setup_metricframe(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
    """fairlearn MetricFrame point estimates of fairtrail's metrics, for each sensitive feature
    and their intersection, with difference() and ratio() (fairtrail's disparities)."""
    import warnings

    import numpy as np
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        brier_score_loss,
        confusion_matrix,
        f1_score,
        precision_score,
        roc_auc_score,
        zero_one_loss,
    )

    def _cm(y_true: Any, y_pred: Any) -> Any:
        return confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()  # tn, fp, fn, tp

    def _div(a: float, b: float) -> float:
        return float(a / b) if b else math.nan

    def npv(t: Any, p: Any) -> float:
        tn, _fp, fn, _tp = _cm(t, p)
        return _div(tn, tn + fn)

    def fdr(t: Any, p: Any) -> float:
        _tn, fp, _fn, tp = _cm(t, p)
        return _div(fp, fp + tp)

    def false_omission(t: Any, p: Any) -> float:
        tn, _fp, fn, _tp = _cm(t, p)
        return _div(fn, fn + tn)

    def base_rate(t: Any, p: Any) -> float:
        return float(np.mean(t))

    def ece(t: Any, s: Any) -> float:
        s = np.asarray(s, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        b = np.minimum((s * 10).astype(np.intp), 9)
        n = np.bincount(b, minlength=10)
        gap = np.abs(
            np.bincount(b, weights=t, minlength=10) - np.bincount(b, weights=s, minlength=10)
        )
        return float(gap.sum() / n.sum())

    label_metrics = {
        "base_rate": base_rate,
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "true_negative_rate": true_negative_rate,
        "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
        "negative_predictive_value": npv,
        "false_discovery_rate": fdr,
        "false_omission_rate": false_omission,
        "accuracy": accuracy_score,
        "error_rate": zero_one_loss,
        "balanced_accuracy": balanced_accuracy_score,
        "f1_score": lambda t, p: f1_score(t, p, zero_division=np.nan),
    }
    score_metrics = {
        "roc_auc": roc_auc_score,
        "brier_score_loss": brier_score_loss,
        "expected_calibration_error": ece,
    }
    df = _load_frame(stem, rows)
    yt = df["y_true"].to_numpy()
    yp = df["y_pred"].to_numpy()
    ys = df["y_score"].to_numpy()
    groupings = [[f] for f in FEATURES] + [list(FEATURES)]

    def job() -> dict[str, Any]:
        n_groups = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cols in groupings:
                sf = df[cols]
                for metrics, pred in ((label_metrics, yp), (score_metrics, ys)):
                    mf = MetricFrame(metrics=metrics, y_true=yt, y_pred=pred, sensitive_features=sf)
                    mf.difference()
                    mf.ratio()
                    n_groups += len(mf.by_group) if metrics is label_metrics else 0
        return {
            "rows": len(yt),
            "groups": n_groups,
            "metrics": len(label_metrics) + len(score_metrics),
        }

    return job


def setup_aequitas(stem: Path, rows: int) -> Callable[[], dict[str, Any]]:
    """aequitas Audit (crosstabs + disparities vs the majority group) of y_pred for each feature
    and the intersection; runs in a separate venv (aequitas needs pandas < 3)."""
    import warnings

    import aequitas
    from aequitas import Audit

    df = _load_frame(stem, rows)[["y_true", "y_pred", *FEATURES]]
    df["y_true"] = df["y_true"].astype("int64")
    df["y_pred"] = df["y_pred"].astype("int64")
    inter = " × ".join(FEATURES)

    def job() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = df.copy()
            d[inter] = d["sex"] + " × " + d["race"] + " × " + d["age_band"]
            audit = Audit(
                d,
                score_column="y_pred",
                label_column="y_true",
                sensitive_attribute_column=[*FEATURES, inter],
            )
            audit.audit()
            groups = len(audit.disparity_df)
        return {"rows": len(df), "groups": groups, "version": getattr(aequitas, "__version__", "")}

    return job


WORKERS: dict[str, Callable[[Path, int], Callable[[], dict[str, Any]]]] = {
    "fairtrail_memory": _job_fairtrail("memory"),
    "fairtrail_parquet": _job_fairtrail("parquet"),
    "fairtrail_csv": _job_fairtrail("csv"),
    "fairtrail_points": _job_fairtrail("memory", intervals=False),
    "floor_bincount": setup_floor_bincount,
    "floor_encode": setup_floor_encode,
    "floor_scores": setup_floor_scores,
    "duckdb_parquet": _job_duckdb("parquet"),
    "duckdb_csv": _job_duckdb("csv"),
    "metricframe": setup_metricframe,
    "aequitas": setup_aequitas,
}

LABELS = {
    "fairtrail_memory": "fairtrail audit, in-memory DataFrame",
    "fairtrail_parquet": "fairtrail audit, from Parquet",
    "fairtrail_csv": "fairtrail audit, from CSV",
    "fairtrail_points": "  same, in memory, points only (no CIs)",
    "floor_bincount": "floor: np.bincount (pre-encoded)",
    "floor_encode": "  encoding: pd.factorize ×3 text cols",
    "floor_scores": "floor + score histograms (extra)",
    "duckdb_parquet": "DuckDB GROUP BY ALL, Parquet",
    "duckdb_csv": "DuckDB GROUP BY ALL, CSV",
    "metricframe": "fairlearn MetricFrame (points only)",
    "aequitas": "aequitas Audit (points only)",
}
