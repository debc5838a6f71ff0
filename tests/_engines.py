"""Helpers for the engine tests: the in-memory path's statistics of a file, and comparisons."""

from __future__ import annotations

import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit import AuditResult, count_statistics, parse_spec, prepare_data, run_audit
from audit._engines import Roles
from audit._engines._base import number_columns
from audit._io import read_predictions
from audit._statistics import CellStatistics

#: The roles of :func:`predictions_frame`'s columns, and the same as a spec's ``[data]``.
ROLES = Roles(
    y_true="label",
    y_pred="pred",
    sensitive_features=("sex", "race"),
    y_score="score",
    sample_weight="weight",
    pos_label=">50K",
)
DATA = {
    "y_true": "label",
    "y_pred": "pred",
    "y_score": "score",
    "sample_weight": "weight",
    "pos_label": ">50K",
    "sensitive_features": ["sex", "race"],
}


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV or Parquet, by the suffix of ``path``; returns ``path``."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def write_parts(frame: pd.DataFrame, folder: Path, parts: int = 3) -> Path:
    """``frame`` as ``parts`` Parquet files ``part-00000.parquet`` … in a new ``folder``."""
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        write(frame.iloc[chunk], folder / f"part-{i:05d}.parquet")
    return folder


def memory_statistics(path: Path, roles: Roles) -> CellStatistics:
    """What the in-memory engine counts from ``path`` (read, validate, count)."""
    labels = [] if roles.task == "regression" else [roles.y_true, roles.y_pred]
    frame, describe = read_predictions(
        path,
        text_columns=[*labels, *roles.sensitive_features],
        number_columns=number_columns(roles),
    )
    prepared = prepare_data(
        frame,
        y_true=roles.y_true,
        y_pred=roles.y_pred,
        sensitive_features=list(roles.sensitive_features),
        y_score=roles.y_score,
        sample_weight=roles.sample_weight,
        pos_label=roles.pos_label,
        score_type=roles.score_type,
        max_categories=roles.max_categories,
        describe_row=describe,
        task=roles.task,
    )
    return count_statistics(
        prepared,
        score_bins=roles.score_bins,
        probability=roles.score_type == "probability",
        regression_bins=roles.regression_bins,
    )


def _same_weight_sq(got: Any, want: Any, weighted: bool) -> None:
    """Sums of squared weights: None in both unless weighted, then equal to rounding."""
    assert (got is None, want is None) == (not weighted, not weighted)
    if got is not None:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def assert_same_statistics(got: CellStatistics, want: CellStatistics) -> None:
    """Counts, cells and categories exactly; weight, squared weight and score sums to rounding."""
    assert got.features == want.features
    assert got.categories == want.categories
    np.testing.assert_array_equal(got.cells, want.cells)
    np.testing.assert_array_equal(got.confusion_count, want.confusion_count)
    np.testing.assert_allclose(got.confusion_weight, want.confusion_weight, rtol=1e-12)
    classification = want.regression is None
    _same_weight_sq(
        got.confusion_weight_sq, want.confusion_weight_sq, want.weighted and classification
    )
    assert got.missing_columns == want.missing_columns
    np.testing.assert_array_equal(got.missing_count, want.missing_count)
    assert got.weighted == want.weighted
    assert (got.scores is None) == (want.scores is None)
    if got.scores is None or want.scores is None:
        return
    g, w = got.scores, want.scores
    assert g.exact == w.exact
    assert g.median == w.median
    np.testing.assert_array_equal(g.edges, w.edges)
    np.testing.assert_array_equal(g.ece_bin, w.ece_bin)
    np.testing.assert_array_equal(g.count, w.count)
    np.testing.assert_array_equal(g.above_median_count, w.above_median_count)
    for name in ("weight", "score_sum", "score_sumsq", "above_median_weight"):
        np.testing.assert_allclose(getattr(g, name), getattr(w, name), rtol=1e-12, atol=1e-12)
    _same_weight_sq(g.weight_sq, w.weight_sq, want.weighted)


def audit_file(path: Path | str, engine: str, **data: Any) -> AuditResult:
    """``run_audit`` of a spec over ``path`` with ``engine``; 200 replicates, seed 0."""
    audit: dict[str, Any] = {"engine": engine, "random_state": 0}
    audit.update(data.pop("audit", {}))
    thresholds = (
        {"mean_absolute_error_difference": 2.0}
        if data.get("task") == "regression"
        else {"demographic_parity_ratio": 0.8, "equalized_odds_difference": 0.1}
    )
    spec = parse_spec(
        {"data": {"path": str(path), **data}, "audit": audit, "policy": {"thresholds": thresholds}}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined rates of small cells, in both engines
        return run_audit(spec)


def same_error(path: Path | str, engine: str, **data: Any) -> str:
    """The error ``engine`` gives for ``path``, asserted word for word the in-memory engine's."""
    from audit import DataValidationError

    errors = []
    for name in ("memory", engine):
        with pytest.raises(DataValidationError) as caught:
            audit_file(path, name, **data)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    return errors[1]


def assert_same_result(got: AuditResult, want: AuditResult) -> None:
    """Every group metric, disparity and verdict; intervals to rounding."""
    numbers = ["value", "lower", "upper", "simultaneous_lower", "simultaneous_upper"]
    g, w = got.groups_frame(), want.groups_frame()
    pd.testing.assert_frame_equal(g.drop(columns=numbers), w.drop(columns=numbers))
    np.testing.assert_allclose(
        g[numbers].to_numpy(float), w[numbers].to_numpy(float), rtol=1e-9, atol=1e-12
    )
    gd, wd = got.disparities_frame(), want.disparities_frame()
    numbers = ["value", "lower", "upper"]
    pd.testing.assert_frame_equal(gd.drop(columns=numbers), wd.drop(columns=numbers))
    np.testing.assert_allclose(
        gd[numbers].to_numpy(float), wd[numbers].to_numpy(float), rtol=1e-9, atol=1e-12
    )
    assert [c.verdict for c in got.criteria] == [c.verdict for c in want.criteria]
    assert got.cells == want.cells
    assert got.data.unknown_counts == want.data.unknown_counts
    assert (got.data.labels, got.data.pos_label) == (want.data.labels, want.data.pos_label)
    for f in fields(want.overall[next(iter(want.overall))]):
        del f  # Estimate fields are compared through the frames above
    for name, e in want.overall.items():
        assert got.overall[name].value == pytest.approx(e.value, rel=1e-12, nan_ok=True)


def predictions_frame(n: int, *, seed: int = 0, score_decimals: int = 2) -> pd.DataFrame:
    """Text labels, two features (one with missing values), a score, weights, another column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(
                np.array(["Female", "Male", None], dtype=object), n, p=[0.45, 0.45, 0.1]
            ),
            "race": rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05]),
            "label": rng.choice(["<=50K", ">50K"], n, p=[0.7, 0.3]),
            "pred": rng.choice(["<=50K", ">50K"], n, p=[0.6, 0.4]),
            "score": rng.random(n).round(score_decimals),
            "weight": rng.random(n) + 0.5,
            "note": rng.choice(np.array(["x", None], dtype=object), n),
        }
    )
