"""Helpers shared by several test modules (on the test path: ``from _tables import …``).

They build rows from hand-written tables and pick results apart; they never compute an
expected value.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import audit
from audit import AuditOptions, AuditResult, GroupResult, audit_predictions

EXACT = {"rel": 1e-12, "abs": 1e-12}
#: Point estimates only, every group eligible: for hand-derived values.
POINT = AuditOptions(intervals=False, min_group_size=1)

# Monte-Carlo tolerances, in standard errors. With a few dozen checks per comparison a
# 4.5-sigma bound keeps the chance of a false alarm below 1e-3 (two-sided normal tail 6.8e-6
# per check), while the wrong resamplers in test_bootstrap miss by tens of sigmas.
Z_TOL = 4.5


def rows_of(tables: Mapping[Any, tuple[int, int, int, int]]) -> tuple[list[int], list[int], list]:
    """y_true, y_pred and group label of rows holding each group's (tn, fp, fn, tp) table."""
    y_true: list[int] = []
    y_pred: list[int] = []
    group: list[Any] = []
    for label, table in tables.items():
        for (t, p), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), table, strict=True):
            y_true += [t] * k
            y_pred += [p] * k
            group += [label] * k
    return y_true, y_pred, group


def by_group(result: AuditResult, attribute: str) -> dict[str, GroupResult]:
    return {g.group: g for g in result.attribute(attribute).groups}


def disparity(result: AuditResult, attribute: str, metric: str, measure: str) -> audit.Disparity:
    found = [
        d
        for d in result.attribute(attribute).disparities
        if d.metric == metric and d.measure == measure
    ]
    assert len(found) == 1, (metric, measure, found)
    return found[0]


def assert_values(got: Mapping[str, Any], expected: Mapping[str, F]) -> None:
    """Each expected fraction equals the value (an Estimate or a float/array) to 1e-12."""
    for name, frac in expected.items():
        value = got[name]
        value = value.value if hasattr(value, "value") else float(value)
        assert value == pytest.approx(float(frac), **EXACT), name


# A table of hand-chosen confusion counts (tn, fp, fn, tp) per cell g × h (test_bootstrap
# explains the choice).
CELLS: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("a", "x"): (60, 5, 30, 5),
    ("a", "y"): (4, 30, 6, 60),
    ("b", "x"): (40, 20, 15, 25),
    ("b", "y"): (35, 10, 20, 20),
    ("c", "x"): (6, 2, 0, 1),
    ("c", "y"): (4, 1, 1, 0),
}
N_ROWS = 400


def frame_from_cells(cells: dict[tuple[str, str], tuple[int, int, int, int]]) -> pd.DataFrame:
    """Rows with the given (tn, fp, fn, tp) per (g, h) cell, in a fixed shuffled order."""
    rows = []
    for (g, h), counts in cells.items():
        for (yt, yp), k in zip(((0, 0), (0, 1), (1, 0), (1, 1)), counts, strict=True):
            rows += [(yt, yp, g, h)] * k
    df = pd.DataFrame(rows, columns=["y", "p", "g", "h"])
    order = np.random.default_rng(12345).permutation(len(df))
    return df.iloc[order].reset_index(drop=True)


def audit_cells(df: pd.DataFrame, **options: Any) -> AuditResult:
    return audit_predictions(
        df["y"],
        df["p"],
        sensitive_features={"g": df["g"], "h": df["h"]},
        options=AuditOptions(**options),
    )


def make_predictions() -> pd.DataFrame:
    """400 rows, two sexes, three races, a score; every group large and both classes present."""
    rng = np.random.default_rng(7)
    n = 400
    sex = np.array(["F", "M"] * (n // 2))
    race = np.array(["A", "B", "C", "A"] * (n // 4))
    y_true = rng.integers(0, 2, n)
    y_pred = (rng.random(n) < np.where(sex == "M", 0.6, 0.4)).astype(int)
    score = np.round(rng.random(n), 2)
    return pd.DataFrame(
        {"y_true": y_true, "y_pred": y_pred, "y_score": score, "sex": sex, "race": race}
    )


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fairtrail ARGS`` in ``cwd`` in a fresh process, minimal environment."""
    return subprocess.run(
        [sys.executable, "-m", "fairtrail", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])},
    )
