"""Shared fixtures: small predictions tables whose numbers are easy to derive by hand, and
the command line run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _tables import CELLS, N_ROWS, frame_from_cells

#: ``fairtrail_cli("run", "audit.toml", cwd=folder)``: the CLI in a fresh process.
CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fairtrail_cli() -> CLI:
    """Run ``python -m fairtrail ARGS`` in ``cwd`` with a minimal environment."""

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fairtrail", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])},
        )

    return run


@pytest.fixture
def predictions() -> pd.DataFrame:
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


@pytest.fixture(scope="session")
def cells_frame() -> pd.DataFrame:
    """The rows of the hand-chosen cell table ``_tables.CELLS`` (g × h), shuffled."""
    df = frame_from_cells(CELLS)
    assert len(df) == N_ROWS
    return df
