"""Shared fixtures: small predictions tables whose numbers are easy to derive by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


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
