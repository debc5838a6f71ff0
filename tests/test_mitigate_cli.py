"""``fairtrail mitigate``: its TOML spec and the command, end to end on real Adult rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from audit import SpecError
from audit.datasets import load_adult
from audit.mitigation import (
    ReductionClassifier,
    load_chosen_model,
    parse_mitigation_spec,
    read_tradeoff,
)
from fairtrail.cli import cli

NUMERIC = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss"]

DATA = {"path": "d.csv", "y_true": "income", "pos_label": ">50K", "sensitive_features": ["sex"]}
SPEC = {
    "data": DATA,
    "model": {"numeric_features": NUMERIC, "categorical_features": ["education"]},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mitigation": {"bound": 0.1}}, "unknown key 'mitigation.bound'"),
        ({"model": {"numeric_features": ["sex"]}}, "'sex' is the label or a sensitive feature"),
        ({"model": {"estimator": "svm", "numeric_features": ["age"]}}, "model.estimator must be"),
        ({"model": {"estimator": "logistic_regression", "path": "m.skops"}}, "not both"),
        ({"model": {}}, "the model needs features"),
        ({"mitigation": {"n_jobs": 0}}, "mitigation.n_jobs must be"),
        ({"mitigation": {"tolerances": [2]}}, "mitigation: The 'tolerances' parameter"),
        ({"mitigation": {"performance_metric": "auc"}}, "performance_metric must be one of"),
        ({"mitigation": {"selection": "least_disparity"}}, "needs max_performance_loss"),
        ({"data": {**DATA, "sensitive_features": []}}, "at least one column"),
        ({"data": {**DATA, "test_size": 1.5}}, "data.test_size"),
        ({"audit": {"n_boot": -1}}, "audit.n_boot must be a non-negative integer"),
    ],
)  # fmt: skip
def test_mitigation_spec_refuses_bad_values_naming_the_key(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        parse_mitigation_spec({**SPEC, **change})


def test_fitted_model_spec_defaults_to_post_processing() -> None:
    spec = parse_mitigation_spec(
        {**SPEC, "model": {"path": "m.skops", "numeric_features": ["age"]}}
    )
    assert spec.plan.active_methods() == ("threshold_optimizer", "group_thresholds")
    assert spec.estimator is None
    assert spec.resolved_model_path() == Path("m.skops")


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mitigate")
    frame = load_adult().dropna().sample(4000, random_state=2)
    frame.to_csv(folder / "adult.csv", index=False)
    return folder


def write_spec(folder: Path, extra: str = "", data: str = "adult.csv") -> Path:
    text = f"""
[data]
path = "{data}"
y_true = "income"
pos_label = ">50K"
sensitive_features = ["sex"]
test_size = 0.4

[model]
numeric_features = {json.dumps(NUMERIC)}
categorical_features = ["education", "occupation"]

[mitigation]
methods = ["threshold_optimizer", "group_thresholds", "correlation_remover"]
tolerances = [0.0, 0.05]
alphas = [1.0]
{extra}

[audit]
confidence_level = 0.95

[policy]
name = "cli test"
[policy.thresholds]
demographic_parity_difference = 0.08
"""
    path = folder / "spec.toml"
    path.write_text(text)
    return path


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_cli_mitigate_writes_a_verified_bundle(adult_csv: Path) -> None:
    spec = write_spec(adult_csv)
    result = CliRunner().invoke(cli, ["mitigate", str(spec), "--out", str(adult_csv / "out")])
    assert result.exit_code == 0, result.output
    assert "Mitigation trade-off: demographic_parity on sex" in result.output
    assert "Who pays" in result.output
    t = read_tradeoff(adult_csv / "out")
    assert t.chosen is not None
    assert len(t.candidates) == 6
    assert t.n_test == 1600  # 40% of 4,000 held out
    # The saved model is the features and the chosen mitigator: it predicts from raw columns.
    model = load_chosen_model(adult_csv / "out")
    frame = pd.read_csv(adult_csv / "adult.csv")
    step = model.steps[-1][1]
    needs_groups = not isinstance(step, ReductionClassifier)
    pred = (
        step.predict(model[:-1].transform(frame), sensitive_features=frame["sex"])
        if needs_groups
        else model.predict(frame)
    )
    assert set(np.unique(pred)) <= {0, 1}
    assert len(pred) == 4000


@pytest.mark.parametrize(
    ("edit", "message", "where"),
    [
        (lambda f: f.assign(income=f["income"].where(f.index != 7, "?")), "(y_true) must be", ""),
        (lambda f: f.assign(age=f.age.where(f.index != 9)), "'age' (numeric feature)", "line 11"),
        (lambda f: f.assign(sex=f.sex.where(f.index != 3)), "'sex' (sensitive feature)", "line 5"),
    ],
)  # fmt: skip
def test_cli_mitigate_refuses_bad_data_in_one_line(
    tmp_path: Path, adult_csv: Path, edit: Any, message: str, where: str
) -> None:
    frame = pd.read_csv(adult_csv / "adult.csv").reset_index(drop=True)
    edit(frame).to_csv(tmp_path / "adult.csv", index=False)
    spec = write_spec(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("not a bundle")
    result = CliRunner().invoke(cli, ["mitigate", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output
    assert where in result.output  # the CSV line (header is line 1), when the row matters
    assert "Traceback" not in result.output
    assert (tmp_path / "out" / "keep.txt").read_text() == "not a bundle"


def test_cli_mitigate_refuses_an_untrusted_fitted_model(tmp_path: Path, adult_csv: Path) -> None:
    import skops.io as sio
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.read_csv(adult_csv / "adult.csv")
    tree = DecisionTreeClassifier(max_depth=3).fit(frame[NUMERIC], frame["income"] == ">50K")
    (tmp_path / "model.skops").write_bytes(sio.dumps(tree))
    shutil.copy(adult_csv / "adult.csv", tmp_path / "adult.csv")
    spec = write_spec(tmp_path, extra="")
    text = (
        spec.read_text()
        .replace(
            'categorical_features = ["education", "occupation"]',
            'path = "model.skops"\ncategorical_features = []',
        )
        .replace('methods = ["threshold_optimizer", "group_thresholds", "correlation_remover"]', "")
    )
    spec.write_text(text)
    result = CliRunner().invoke(cli, ["mitigate", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Refusing to load 'model.skops'" in result.output
    spec.write_text(
        text.replace(
            'path = "model.skops"', 'path = "model.skops"\ntrusted = ["sklearn.tree._tree.Tree"]'
        )
    )
    result = CliRunner().invoke(cli, ["mitigate", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output
    t = read_tradeoff(tmp_path / "out")
    assert [c.name for c in t.candidates] == [
        "baseline",
        "threshold_opt(0)",
        "threshold_opt(0.05)",
        "hist_threshold(0)",
        "hist_threshold(0.05)",
    ]


REGRESSION_SPEC = {
    "data": {"path": "d.csv", "y_true": "y", "task": "regression", "sensitive_features": ["g"]},
    "model": {"numeric_features": ["x0"]},
    "mitigation": {"constraint": "bounded_group_loss"},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": {**REGRESSION_SPEC["data"], "pos_label": 1}}, "pos_label is for classification"),
        ({"data": {**REGRESSION_SPEC["data"], "task": "ranking"}}, "data.task must be one of"),
        ({"mitigation": {}}, "constraint 'demographic_parity' does not fit data.task 'regression'"),
        ({"model": {"estimator": "logistic_regression", "numeric_features": ["x0"]}},
         r"one of \['linear_regression', 'hist_gradient_boosting'\] for data.task 'regression'"),
        ({"mitigation": {"constraint": "bounded_group_loss", "performance_metric": "accuracy"}},
         r"performance_metric must be one of \['root_mean_squared_error'"),
        ({"mitigation": {"constraint": "bounded_group_loss", "bound_shares": [2]}},
         r"mitigation: The 'bound_shares' parameter"),
    ],
)  # fmt: skip
def test_regression_spec_refusals(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_mitigation_spec({**REGRESSION_SPEC, **change})


def test_regression_spec_defaults() -> None:
    spec = parse_mitigation_spec(REGRESSION_SPEC)
    assert (spec.task, spec.estimator, spec.plan.loss) == (
        "regression",
        "linear_regression",
        "square",
    )
    assert [p.name for p in spec.plan.points()] == [
        "expgrad(0.95×worst)",
        "expgrad(0.9×worst)",
        "gridsearch(10)",
    ]
    assert spec.to_dict()["data"]["task"] == "regression"


def test_cli_mitigate_regression_saves_the_audited_model(tmp_path: Path) -> None:
    # Group b sits 2 higher and depends on x1, which a model of x0 and x1 without g cannot
    # tell apart from noise: its errors are larger in b.
    rng = np.random.default_rng(1)
    n = 4000
    g = np.where(rng.random(n) < 0.7, "a", "b")
    x = rng.normal(size=(n, 2))
    y = 2 * x[:, 0] + 1.5 * (g == "b") * x[:, 1] + 2.0 * (g == "b") + rng.normal(size=n)
    split = np.where(np.arange(n) < 2500, "train", "test")
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "g": g, "y": y, "split": split})
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "spec.toml").write_text(
        """
[data]
path = "d.csv"
y_true = "y"
task = "regression"
sensitive_features = ["g"]
split_column = "split"

[model]
numeric_features = ["x0", "x1"]

[mitigation]
constraint = "bounded_group_loss"
bound_shares = [0.9, 0.7]
methods = ["exponentiated_gradient"]

[audit]
confidence_level = 0.95

[policy]
name = "regression test"
[policy.thresholds]
root_mean_squared_error_difference = 0.5
"""
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["mitigate", str(tmp_path / "spec.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Mitigation trade-off: bounded_group_loss on g" in result.output
    assert "units of y" in result.output
    t = read_tradeoff(out)
    assert t.chosen is not None
    assert t.chosen.startswith("expgrad(")  # the baseline's gap (~0.7) fails the policy
    assert "Who pays" in result.output
    # The saved model is the one audited: its held-out RMSE is the chosen candidate's.
    model = load_chosen_model(out)
    test = frame[frame.split == "test"]
    pred = model.predict(test)
    rmse = float(np.sqrt(np.mean((pred - test["y"].to_numpy()) ** 2)))
    assert rmse == pytest.approx(t.candidate(t.chosen).performance.value, rel=1e-12)
