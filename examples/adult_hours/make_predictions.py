"""Predict weekly working hours in UCI Adult with a ridge regression, for a regression audit.

Writes ``predictions.parquet`` next to this file (or to the folder given as the argument):
the true and predicted hours of the test split, with sex and race for the audit. Sex and race
are not model features.

Run ``python make_predictions.py`` and then ``fairtrail run audit.toml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from sklearn.linear_model import Ridge

from audit.datasets import load_adult

FEATURES = ["age", "education_num", "capital_gain", "capital_loss", "occupation", "workclass"]


def main(out: Path) -> Path:
    """Fit on the train split, predict the test split, write ``out/predictions.parquet``."""
    df = load_adult().dropna()
    train, test = df[df["split"] == "train"], df[df["split"] == "test"]
    x_train = pd.get_dummies(train[FEATURES], dtype=float)
    x_test = pd.get_dummies(test[FEATURES], dtype=float).reindex(
        columns=x_train.columns, fill_value=0.0
    )
    model = Ridge(alpha=1.0).fit(x_train, train["hours_per_week"])
    target = out / "predictions.parquet"
    pd.DataFrame(
        {
            "hours": test["hours_per_week"].to_numpy(float),
            "predicted_hours": model.predict(x_test),
            "sex": test["sex"].to_numpy(),
            "race": test["race"].to_numpy(),
        }
    ).to_parquet(target, index=False)
    return target


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
