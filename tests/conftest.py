"""Shared fixtures: small predictions tables whose numbers are easy to derive by hand, and
the command line run as a real subprocess."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pandas as pd
import pytest

from _tables import CELLS, N_ROWS, frame_from_cells, make_predictions, run_cli

#: ``fairtrail_cli("run", "audit.toml", cwd=folder)``: the CLI in a fresh process.
CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def fairtrail_cli() -> CLI:
    """Run ``python -m fairtrail ARGS`` in ``cwd`` with a minimal environment."""
    return run_cli


@pytest.fixture
def predictions() -> pd.DataFrame:
    """400 rows, two sexes, three races, a score; every group large and both classes present."""
    return make_predictions()


@pytest.fixture(scope="session")
def cells_frame() -> pd.DataFrame:
    """The rows of the hand-chosen cell table ``_tables.CELLS`` (g × h), shuffled."""
    df = frame_from_cells(CELLS)
    assert len(df) == N_ROWS
    return df
