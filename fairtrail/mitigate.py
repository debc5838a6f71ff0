"""``fairtrail mitigate``: a mitigation sweep from a TOML spec, written as an audit bundle.

Reads the training data the spec names, splits off held-out rows (the spec's split column,
or a stratified random split), builds the model's features (numeric features standardised,
categorical ones one-hot encoded; fitted on the training rows only), fits the baseline and
every point of the sweep, audits each on the held-out rows and chooses one by the spec's
rule. The bundle's ``result.json`` is the audit of the **baseline** (the model as trained);
the trade-off, every candidate's audit and the chosen model are under ``mitigation/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit import (
    DataValidationError,
    SpecError,
    binary_labels,
    check_present,
    finite_column,
    read_predictions,
    write_bundle,
)
from audit.mitigation import (
    MitigationSpec,
    Sweep,
    load_mitigation_spec,
    load_model,
    run_sweep,
    sweep_files,
)

__all__ = ["MITIGATE_STEPS", "MitigationRun", "prepare_features", "run_mitigation"]

#: Steps reported to ``on_step``: read, prepare, sweep, write.
MITIGATE_STEPS = 4


@dataclass(frozen=True)
class MitigationRun:
    """What ``fairtrail mitigate`` did: the sweep, the split sizes and the bundle."""

    sweep: Sweep
    n_train: int
    n_test: int
    bundle: Path
    #: The spec's notes on keys that no longer do anything.
    notes: tuple[str, ...] = ()


def prepare_features(
    train: pd.DataFrame, test: pd.DataFrame, numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> tuple[Any, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Fit the feature transform on ``train``; return it and both splits transformed.

    Numeric features are standardised; categorical ones one-hot encoded (a category seen
    only in ``test`` encodes as all zeros). The result is a dense float matrix.

    Examples
    --------
    >>> tr = pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]})
    >>> _, a, b = prepare_features(tr, tr.iloc[:1], ("x",), ("c",))
    >>> a.tolist(), b.tolist()
    ([[-1.0, 1.0, 0.0], [1.0, 0.0, 1.0]], [[-1.0, 1.0, 0.0]])
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    transform = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(numeric)),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(categorical),
            ),
        ]
    )
    columns = [*numeric, *categorical]
    x_train = np.asarray(transform.fit_transform(train[columns]), dtype=np.float64)
    x_test = np.asarray(transform.transform(test[columns]), dtype=np.float64)
    return transform, x_train, x_test


def _estimator(spec: MitigationSpec) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression

    seed = spec.plan.random_state
    estimator: Any
    if spec.estimator == "logistic_regression":
        estimator = LogisticRegression(max_iter=1000)
    elif spec.estimator == "linear_regression":
        estimator = LinearRegression()
    elif spec.task == "regression":
        estimator = HistGradientBoostingRegressor(random_state=seed)
    else:
        estimator = HistGradientBoostingClassifier(random_state=seed)
    try:
        return estimator.set_params(**spec.estimator_params)
    except ValueError as exc:
        raise SpecError(f"{spec.origin}: model.params: {exc}") from None


def _split(
    frame: pd.DataFrame, y: Any, spec: MitigationSpec
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    if spec.split_column is not None:
        split = frame[spec.split_column].astype("string")
        other = sorted(set(split.dropna().unique()) - {spec.train_value, spec.test_value})
        if other or split.isna().any():
            found = other[:3] if other else ["<missing>"]
            raise DataValidationError(
                f"Column '{spec.split_column}' (data.split_column) must hold only "
                f"'{spec.train_value}' and '{spec.test_value}'; found {found}."
            )
        train = np.flatnonzero((split == spec.train_value).to_numpy())
        test = np.flatnonzero((split == spec.test_value).to_numpy())
    else:
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(
            np.arange(len(frame)),
            test_size=spec.test_size,
            random_state=spec.plan.random_state,
            stratify=None if spec.task == "regression" else y,
        )
        train, test = np.sort(train), np.sort(test)
    for name, rows in (("training", train), ("held-out", test)):
        if len(rows) == 0:
            raise DataValidationError(f"The {name} split of '{spec.path}' has no rows.")
    return train, test


def run_mitigation(
    spec: MitigationSpec | str | Path,
    out: str | Path,
    *,
    spec_text: str | None = None,
    n_jobs: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> MitigationRun:
    """Run the sweep a mitigation spec describes and write the bundle to ``out``.

    Parameters
    ----------
    spec : MitigationSpec, or the path of a TOML spec
    out : str or Path
        The bundle folder (replaced atomically if it is an earlier bundle).
    spec_text : str, optional
        The spec as written, kept in the bundle (read from the file when ``spec`` is a path).
    n_jobs : int, optional
        Overrides ``mitigation.n_jobs``.
    on_step : callable, optional
        Called with a short description before each step.

    Returns
    -------
    MitigationRun
    """
    if not isinstance(spec, MitigationSpec):
        path = Path(spec)
        spec = load_mitigation_spec(path)
        spec_text = spec_text or path.read_text(encoding="utf-8")
    say = on_step or (lambda _msg: None)
    say(f"Reading {spec.path}")
    regression = spec.task == "regression"
    text = [*spec.sensitive_features, *spec.categorical_features]
    if not regression:
        text.append(spec.y_true)
    if spec.split_column:
        text.append(spec.split_column)
    numbers = {c: "numeric feature" for c in spec.numeric_features}
    if regression:
        numbers[spec.y_true] = "y_true"
    frame, where = read_predictions(
        spec.data_path(),
        text_columns=list(dict.fromkeys(text)),
        number_columns=numbers,
        file_format=spec.format,
    )
    if len(frame) == 0:
        raise DataValidationError(f"'{spec.path}' has no rows.")
    say("Preparing the split and the features")
    y: np.ndarray[Any, Any]
    if regression:
        y = finite_column(frame[spec.y_true], "y_true", where)
    else:
        (labels,), _, _ = binary_labels([(frame[spec.y_true], "y_true")], spec.pos_label, where)
        y = labels.astype(np.int64)
    for c in spec.numeric_features:
        frame[c] = finite_column(frame[c], "numeric feature", where)
    for c in spec.sensitive_features:
        check_present(frame[c], "sensitive feature", where)
    categorical = list(spec.categorical_features)
    frame[categorical] = (
        frame[categorical].astype(object).where(frame[categorical].notna(), "(missing)")
    )
    train, test = _split(frame, y, spec)
    sf = frame[list(spec.sensitive_features)].astype(str)
    model_file = spec.resolved_model_path()
    transform = None
    x_train: Any
    x_test: Any
    if model_file is not None:
        estimator = load_model(model_file, trusted=spec.trusted)
        columns = [*spec.numeric_features, *spec.categorical_features]
        x_train = frame.iloc[train][columns].reset_index(drop=True)
        x_test = frame.iloc[test][columns].reset_index(drop=True)
    else:
        estimator = _estimator(spec)
        transform, x_train, x_test = prepare_features(
            frame.iloc[train], frame.iloc[test], spec.numeric_features, spec.categorical_features
        )
    say(f"Fitting and auditing {len(spec.plan.points()) + 1} candidates")
    sweep = run_sweep(
        estimator,
        x_train,
        y[train],
        x_test,
        y[test],
        sensitive_features_train=sf.iloc[train].reset_index(drop=True),
        sensitive_features_test=sf.iloc[test].reset_index(drop=True),
        plan=spec.plan,
        policy=spec.policy,
        rule=spec.rule,
        performance_metric=spec.performance_metric,
        options=spec.options,
        prefit=model_file is not None,
        n_jobs=spec.n_jobs if n_jobs is None else n_jobs,
    )
    say("Writing the bundle")
    chosen = sweep.chosen_model
    if chosen is not None and transform is not None:
        from sklearn.pipeline import Pipeline

        chosen = Pipeline([("features", transform), ("mitigation", chosen)])
    details = {
        "data": spec.path,
        "n_train": len(train),
        "n_test": len(test),
        "numeric_features": list(spec.numeric_features),
        "categorical_features": list(spec.categorical_features),
        "sensitive_features": list(spec.sensitive_features),
    }
    bundle = write_bundle(
        sweep.audits[sweep.tradeoff.baseline],
        out,
        spec={"mitigation_spec": spec.to_dict()},
        spec_text=spec_text,
        extra_files=sweep_files(sweep, model=chosen, details=details),
    )
    return MitigationRun(sweep, len(train), len(test), Path(bundle), spec.deprecations)
