"""Public entry points: audit a DataFrame or file by spec, or arrays fairlearn-style."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit._assembly import compute_audit, warn_undefined
from audit._engines import Counted, InputFiles, choose_engine, count_files, find_files
from audit._engines._base import number_columns
from audit._exceptions import DataValidationError, SpecError
from audit._io import read_predictions
from audit._policy import Policy, Threshold
from audit._result import AuditOptions, AuditResult, _shown
from audit._roles import Roles
from audit._spec import AuditSpec, DataSpec, LineageSpec, load_spec, parse_spec
from audit._statistics import CellStatistics, count_statistics
from audit._validation import PreparedData, check_same_length, prepare_data

__all__ = ["AUDIT_STEPS", "audit_predictions", "run_audit"]


#: The steps :func:`run_audit` reports to ``on_step``, in order ("read" only for a file).
AUDIT_STEPS = ("read", "validate", "count", "intervals")
_INTERVALS_STEP = "Intervals, disparities, verdicts"
_RUN = "run_audit(spec, data)"
_SPEC_KINDS = "an AuditSpec, a dict or the path of a TOML spec file"


def _kind(value: object) -> str:
    """What a wrong argument is, for a message: ``None``, ``a pandas DataFrame``, ``int``..."""
    if value is None:
        return "None"
    if isinstance(value, str | bytes):
        return "a string" if isinstance(value, str) else "bytes"
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "pyspark") and type(value).__name__ in ("DataFrame", "Series"):
        return f"a {'Spark' if module == 'pyspark' else 'pandas'} {type(value).__name__}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    return type(value).__name__ if module == "builtins" else f"{module}.{type(value).__name__}"


def _check_run_arguments(
    spec: object, data: object, callbacks: Mapping[str, object]
) -> tuple[AuditSpec, Any]:
    """:func:`run_audit`'s spec (parsed or loaded when a dict or a path) and data, checked."""
    if isinstance(spec, pd.DataFrame) or _is_spark(spec):
        swapped = isinstance(data, AuditSpec | Mapping | str | os.PathLike)
        raise SpecError(
            f"{_RUN}: the first argument is {_kind(spec)}"
            + (
                " and the second the spec; pass the spec first: run_audit(spec, data)."
                if swapped
                else f"; pass the spec first ({_SPEC_KINDS}), then the data."
            )
        )
    if isinstance(spec, Mapping):
        spec = parse_spec(spec)
    elif isinstance(spec, str | os.PathLike):
        path = os.fspath(spec)
        if not isinstance(path, str) or "\n" in path:
            raise SpecError(
                f"{_RUN}: spec must be {_SPEC_KINDS}; got "
                + ("bytes" if not isinstance(path, str) else "a string of several lines")
                + " (to audit TOML text, parse it with tomllib.loads and pass the dict)."
            )
        spec = load_spec(path)
    elif isinstance(spec, AuditSpec):
        _recheck_spec(spec)
    else:
        raise SpecError(f"{_RUN}: spec must be {_SPEC_KINDS}; got {_kind(spec)}.")
    if data is not None and not isinstance(data, pd.DataFrame) and not _is_spark(data):
        raise DataValidationError(
            f"{_RUN}: data must be a pandas DataFrame, or None to read data.path; "
            f"got {_kind(data)}."
        )
    for name, callback in callbacks.items():
        if callback is not None and not callable(callback):
            raise SpecError(f"run_audit: {name} must be callable or None; got {_kind(callback)}.")
    return spec, data


def _recheck_spec(spec: AuditSpec) -> None:
    """Check an AuditSpec built in Python (not by parse_spec) as a parsed one is checked."""
    parts = {"data": DataSpec, "options": AuditOptions, "policy": Policy, "lineage": LineageSpec}
    for name, tp in parts.items():
        if not isinstance(getattr(spec, name), tp):
            raise SpecError(
                f"{_RUN}: spec.{name} must be an audit.{tp.__name__}; "
                f"got {_kind(getattr(spec, name))}."
            )
    _check_policy(spec.policy, f"{_RUN}: spec.policy")
    if not isinstance(spec.origin, str) or not isinstance(spec.base_dir, str | os.PathLike):
        raise SpecError(f"{_RUN}: spec.origin must be a string and spec.base_dir a path.")
    try:
        parse_spec(spec.to_dict(), base_dir=spec.base_dir, origin=spec.origin)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"{_RUN}: the AuditSpec cannot be used: {exc}.") from None
    # to_dict() gives the options [data] carries (score_type, max_categories, task) as the
    # data's; the audit runs with the options' own.
    spec.options.check(f"{_RUN}: spec.options")


def _check_policy(policy: Policy, where: str) -> None:
    thresholds = policy.thresholds
    if not isinstance(thresholds, tuple | list) or not all(
        isinstance(t, Threshold) for t in thresholds
    ):
        raise SpecError(
            f"{where}.thresholds must be a tuple of audit.Threshold; got {_shown(thresholds)}."
        )
    for key in ("name", "version"):
        if not isinstance(getattr(policy, key), str):
            raise SpecError(f"{where}.{key} must be a string; got {_shown(getattr(policy, key))}.")


def run_audit(
    spec: AuditSpec | Mapping[str, Any] | str | os.PathLike[str],
    data: pd.DataFrame | None = None,
    *,
    on_step: Callable[[str, str], None] | None = None,
    on_data: Callable[[pd.DataFrame], None] | None = None,
    on_files: Callable[[InputFiles, Counted], None] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
) -> AuditResult:
    """Run an audit as a spec describes it.

    Parameters
    ----------
    spec : AuditSpec, dict, str or Path
        From :func:`load_spec` or :func:`parse_spec`; a dict is parsed with
        :func:`parse_spec`, a path loaded with :func:`load_spec`.
    data : pandas.DataFrame, optional
        The predictions table; read from ``spec.data.path`` when omitted.
    on_step : callable, optional
        Called as ``on_step(step, description)`` when each step of :data:`AUDIT_STEPS`
        starts (for progress displays).
    on_data : callable, optional
        Called with the predictions table once it is read, before validation (for
        provenance records: digests and group counts of exactly what was audited).
    on_files : callable, optional
        With an out-of-core engine (``audit.engine``), called instead of ``on_data`` with
        the input files and what the engine counted.
    on_progress : callable, optional
        With an out-of-core engine, called as ``on_progress(query, fraction)`` during scans.

    Returns
    -------
    AuditResult

    Raises
    ------
    SpecError
        The spec is malformed, or is not an AuditSpec, a dict or a path (the arguments
        swapped, for example).
    DataValidationError
        The data cannot be audited, or ``data`` is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from audit import parse_spec
    >>> # a: selection rate 0.25 (y_pred 1 on 1 of 4 rows); b: 0.75 (3 of 4)
    >>> df = pd.DataFrame({"y": [0, 1] * 200, "p": [1, 0, 0, 0, 1, 1, 1, 0] * 50,
    ...                    "g": (["a"] * 4 + ["b"] * 4) * 50})
    >>> spec = parse_spec({"data": {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]},
    ...                    "policy": {"thresholds": {"demographic_parity_ratio": 0.8}}})
    >>> result = run_audit(spec, df)
    >>> result.criteria[0].verdict, round(result.criteria[0].estimate.value, 3)  # 0.25 / 0.75
    ('fail', 0.333)
    >>> run_audit(df, spec)
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: run_audit(spec, data): the first argument is a pandas DataFrame
    and the second the spec; pass the spec first: run_audit(spec, data).
    """
    spec, data = _check_run_arguments(
        spec,
        data,
        {"on_step": on_step, "on_data": on_data, "on_files": on_files, "on_progress": on_progress},
    )
    d = spec.data
    roles = spec.roles()
    say = on_step or (lambda _step, _text: None)
    describe = None
    if d.table is not None or _is_spark(data):
        return _run_spark(spec, roles, data, say)
    if data is None:
        path = spec.data_path()
        if path is None:
            raise SpecError(f"{spec.origin}: data.path is required when no DataFrame is given.")
        if spec.options.engine != "memory":
            inputs = find_files(path, d.format, d.missing_values)
            engine = choose_engine(spec.options.engine, inputs)
            if engine != "memory":
                return _run_engine(spec, roles, inputs, engine, say, on_files, on_progress)
        elif path.is_dir() or any(c in str(path) for c in "*?["):
            raise SpecError(
                f"{spec.origin}: data.path '{d.path}' is a folder or a glob; the in-memory "
                "engine reads one file. Set [audit] engine = 'duckdb' (or 'auto', or 'spark')."
            )
        say("read", f"Reading {path.name}")
        numbers = number_columns(roles)
        data, describe = read_predictions(
            path,
            text_columns={c: r for c, r in roles.role_map().items() if c not in numbers},
            number_columns=numbers,
            file_format=d.format,
            missing_values=d.missing_values,
        )
        source = d.path or str(path)  # as written in the spec: relative to the spec file
    else:
        source = "<DataFrame>"
    if on_data is not None:
        on_data(data)
    say("validate", f"Validating {len(data):,} rows")
    prepared = (
        prepare_data(data, roles, describe_row=describe) if describe else prepare_data(data, roles)
    )
    say("count", "Counting cell statistics")
    stats = _count(prepared, spec.options)
    say("intervals", _INTERVALS_STEP)
    return _audit_result(
        stats,
        roles,
        options=spec.options,
        policy=spec.policy,
        source=source,
        pos_label=prepared.pos_label,
        labels=prepared.labels,
        unknown_counts={f.name: f.n_missing for f in prepared.features},
        notes=spec.deprecations,
        stacklevel=2,
    )


def _audit_result(
    stats: CellStatistics,
    roles: Roles,
    *,
    options: AuditOptions,
    policy: Policy | None,
    source: str,
    pos_label: str,
    labels: tuple[str, str],
    unknown_counts: Mapping[str, int],
    notes: tuple[str, ...] = (),
    stacklevel: int,
) -> AuditResult:
    """Every step after the count, for every path: the result, then the undefined warning.

    ``notes`` (the spec's deprecation notes: keys that no longer do anything) come first in
    the result's notes. ``stacklevel`` is the warning's, counted from the caller.
    """
    result = compute_audit(
        stats,
        options=options,
        policy=policy,
        source=source,
        roles=roles.columns(sensitive=False),
        pos_label=pos_label,
        labels=labels,
        unknown_counts=unknown_counts,
    )
    if notes:
        result = dataclasses.replace(result, notes=(*notes, *result.notes))
    warn_undefined(result, stacklevel=stacklevel + 1)
    return result


def _run_engine(
    spec: AuditSpec,
    roles: Roles,
    inputs: InputFiles,
    engine: str,
    say: Callable[[str, str], None],
    on_files: Callable[[InputFiles, Counted], None] | None,
    on_progress: Callable[[str, float], None] | None,
) -> AuditResult:
    """Count with DuckDB or Spark; every later step is the in-memory path's."""
    size = inputs.size
    say("read", f"Scanning {len(inputs.files)} {inputs.format} file(s), {size / 2**20:,.0f} MiB")
    say("validate", f"Counting with {engine}: profile, then one GROUP BY")
    counted = count_files(
        inputs,
        roles,
        engine,
        memory_limit=spec.options.memory_limit or None,
        on_step=lambda text: say("count", text),
        on_progress=on_progress,
    )
    if on_files is not None:
        on_files(inputs, counted)
    return _audit_counted(spec, roles, counted, engine, spec.data.path or inputs.spec, say)


def _is_spark(data: Any) -> bool:
    """Whether ``data`` is a Spark DataFrame (without importing pyspark)."""
    return type(data).__module__.startswith("pyspark.")


def _run_spark(
    spec: AuditSpec, roles: Roles, data: Any, say: Callable[[str, str], None]
) -> AuditResult:
    """Count a Spark DataFrame, or the spec's Spark table, with Spark SQL."""
    from audit._engines._spark import count_dataframe, spark_session

    if data is None:
        table = spec.data.table or ""
        say("read", f"Reading the Spark table {table}")
        data = spark_session().table(table)
        name = table
    else:
        name = "<Spark DataFrame>"
    say("validate", "Counting with spark: profile, then one GROUP BY")
    counted = count_dataframe(data, roles, name=name, on_step=lambda text: say("count", text))
    return _audit_counted(spec, roles, counted, "spark", name, say)


def _audit_counted(
    spec: AuditSpec,
    roles: Roles,
    counted: Counted,
    engine: str,
    source: str,
    say: Callable[[str, str], None],
) -> AuditResult:
    """Every step after the count, as for the in-memory path."""
    say("intervals", _INTERVALS_STEP)
    return _audit_result(
        counted.statistics,
        roles,
        options=dataclasses.replace(spec.options, engine=engine),  # type: ignore[arg-type]
        policy=spec.policy,
        source=source,
        pos_label=counted.pos_label,
        labels=counted.labels,
        unknown_counts=counted.unknown_counts,
        notes=spec.deprecations,
        stacklevel=3,
    )


def _count(prepared: PreparedData, options: AuditOptions) -> CellStatistics:
    return count_statistics(
        prepared,
        score_bins=options.score_bins,
        probability=options.score_type == "probability",
        regression_bins=options.regression_bins,
    )


def _sensitive_frame(sensitive_features: Any, n: int) -> pd.DataFrame:
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features.reset_index(drop=True)
    elif isinstance(sensitive_features, pd.Series):
        name = (
            sensitive_features.name
            if sensitive_features.name is not None
            else "sensitive_feature_0"
        )
        frame = pd.DataFrame({str(name): sensitive_features.to_numpy()})
    elif isinstance(sensitive_features, Mapping):
        frame = pd.DataFrame({str(k): np.asarray(v) for k, v in sensitive_features.items()})
    else:
        arr = np.asarray(sensitive_features, dtype=object)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise DataValidationError(
                f"sensitive_features must be 1-D or 2-D; got an array of shape {arr.shape}."
            )
        frame = pd.DataFrame({f"sensitive_feature_{i}": arr[:, i] for i in range(arr.shape[1])})
    if len(frame) != n:
        raise DataValidationError(f"sensitive_features has {len(frame)} rows but y_true has {n}.")
    return frame


_ARRAY = "a 1-D array-like (a list, a NumPy array or a pandas Series)"
_FEATURES = (
    "the values of one feature (a list, an array or a Series), several (a DataFrame or a 2-D "
    "array) or a dict of name to values"
)


def _check_1d(name: str, values: Any) -> int:
    """The length of a 1-D array-like argument; a DataValidationError naming it otherwise."""
    got = None
    if isinstance(values, str | bytes):
        got = _kind(values)
    elif isinstance(values, pd.DataFrame):
        got = "a pandas DataFrame; pass one of its columns (a Series)"
    elif isinstance(values, Mapping | set | frozenset) or not hasattr(values, "__len__"):
        got = _kind(values)
    else:
        try:
            shape = np.shape(values)
        except (ValueError, TypeError):
            shape = None
        if shape is None:
            got = "a ragged sequence (items of different lengths)"
        elif len(shape) != 1:
            got = "a scalar" if not shape else f"an array of shape {shape}"
    if got is not None:
        raise DataValidationError(f"audit_predictions: {name} must be {_ARRAY}; got {got}.")
    return len(values)


def _check_audit_arguments(
    arrays: Mapping[str, object],
    sensitive_features: object,
    pos_label: object,
    policy: object,
    options: object,
) -> Any:
    """:func:`audit_predictions`'s arguments checked; the sensitive features, names as text."""
    for name, values in arrays.items():
        if values is None:
            if name in ("y_true", "y_pred"):
                raise DataValidationError(f"audit_predictions: {name} is required; got None.")
            continue
        _check_1d(name, values)
    n = _check_1d("y_true", arrays["y_true"])
    features: Any = sensitive_features
    if isinstance(features, pd.DataFrame):
        names = [str(c) for c in features.columns]
        if not names:
            raise DataValidationError("audit_predictions: sensitive_features has no columns.")
        features = features.set_axis(names, axis=1)  # the names a role refers to
    elif isinstance(features, Mapping):
        names = [str(k) for k in features]
        if not names:
            raise DataValidationError("audit_predictions: sensitive_features has no features.")
        for key, values in features.items():
            length = _check_1d(f"sensitive_features[{key!r}]", values)
            if length != n:
                raise DataValidationError(
                    f"audit_predictions: sensitive_features[{key!r}] has {length} rows but "
                    f"y_true has {n}."
                )
    elif isinstance(features, pd.Series):
        names = [str(features.name)]
    else:
        if (
            features is None
            or isinstance(features, str | bytes | set | frozenset)
            or not (hasattr(features, "__len__"))
        ):
            raise DataValidationError(
                f"audit_predictions: sensitive_features must be {_FEATURES}; got {_kind(features)}."
            )
        try:
            shape = np.shape(features)
        except (ValueError, TypeError):
            shape = (-1, -1, -1)
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] == 0):
            raise DataValidationError(
                f"audit_predictions: sensitive_features must be {_FEATURES}; got "
                + ("a ragged sequence" if shape == (-1, -1, -1) else f"the shape {shape}")
                + "."
            )
        names = []
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise DataValidationError(
            f"audit_predictions: sensitive_features names {duplicated} more than once."
        )
    if pos_label is not None and (
        not isinstance(pos_label, str | int | float | bool | np.generic)
        or (isinstance(pos_label, float | np.floating) and not np.isfinite(pos_label))
    ):
        raise SpecError(
            "audit_predictions: pos_label must be a label (a string or a finite number) or "
            f"None; got {_shown(pos_label)}."
        )
    if policy is not None:
        if not isinstance(policy, Policy):
            raise SpecError(
                "audit_predictions: policy must be an audit.Policy or None; got "
                f"{_kind(policy)} (for example Policy((Threshold('demographic_parity_ratio', "
                "0.8),)))."
            )
        _check_policy(policy, "audit_predictions: policy")
    if options is not None:
        if not isinstance(options, AuditOptions):
            raise SpecError(
                f"audit_predictions: options must be an audit.AuditOptions or None; "
                f"got {_kind(options)}."
            )
        options.check("audit_predictions: options")
    return features


def audit_predictions(
    y_true: Sequence[Any] | np.ndarray[Any, Any] | pd.Series,
    y_pred: Sequence[Any] | np.ndarray[Any, Any] | pd.Series,
    *,
    sensitive_features: Any,
    y_score: Sequence[float] | np.ndarray[Any, Any] | pd.Series | None = None,
    sample_weight: Sequence[float] | np.ndarray[Any, Any] | pd.Series | None = None,
    pos_label: Hashable | None = None,
    policy: Policy | None = None,
    options: AuditOptions | None = None,
) -> AuditResult:
    """Audit predictions given as arrays, in fairlearn's vocabulary.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted binary labels (true and predicted values when
        ``options.task == "regression"``).
    sensitive_features : array-like, Series, DataFrame or dict of arrays
        One or more sensitive features; a DataFrame's or dict's names are used.
    y_score : array-like of shape (n_samples,), optional
        Scores or probabilities of the positive class.
    sample_weight : array-like of shape (n_samples,), optional
    pos_label : scalar, optional
        Required unless labels are 0/1 or booleans.
    policy : Policy, optional
    options : AuditOptions, optional

    Returns
    -------
    AuditResult

    Raises
    ------
    DataValidationError
        An array is missing, not 1-D, of another length than ``y_true``, or its values cannot
        be audited.
    SpecError
        ``pos_label``, ``policy`` or ``options`` is of the wrong type or out of range.

    Examples
    --------
    Group F below has no actual positives: its true positive rate is undefined (NaN, with
    the reason), and an ``UndefinedMetricWarning`` says so.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     r = audit_predictions([0, 1] * 50, [0, 1, 0, 0] * 25,
    ...                           sensitive_features={"sex": ["F", "M"] * 50},
    ...                           options=AuditOptions(intervals=False))
    >>> [(g.group, g.metrics["true_positive_rate"].value) for g in r.attribute("sex").groups]
    [('F', nan), ('M', 0.5)]
    >>> r.attribute("sex").groups[0].metrics["true_positive_rate"].undefined_reason
    'the group has no actual positives'
    >>> caught[0].category.__name__
    'UndefinedMetricWarning'
    >>> audit_predictions("0101", [0, 1, 0, 1], sensitive_features=["F", "F", "M", "M"])
    Traceback (most recent call last):
    ...
    audit._exceptions.DataValidationError: audit_predictions: y_true must be a 1-D array-like
    (a list, a NumPy array or a pandas Series); got a string.
    """
    sensitive_features = _check_audit_arguments(
        {"y_true": y_true, "y_pred": y_pred, "y_score": y_score, "sample_weight": sample_weight},
        sensitive_features,
        pos_label,
        policy,
        options,
    )
    named = {"y_true": y_true, "y_pred": y_pred, "y_score": y_score, "sample_weight": sample_weight}
    check_same_length(named)
    n = len(y_true)
    frame = _sensitive_frame(sensitive_features, n)
    features = [str(c) for c in frame.columns]
    reserved = {"y_true", "y_pred", "y_score", "sample_weight"} & set(features)
    if reserved:
        raise DataValidationError(
            f"sensitive_features may not be named {sorted(reserved)}: those names are roles."
        )
    for role, values in named.items():
        if values is not None:
            frame[role] = np.asarray(values)
    opts = options or AuditOptions()
    roles = Roles(
        "y_true",
        "y_pred",
        tuple(features),
        y_score="y_score" if y_score is not None else None,
        sample_weight="sample_weight" if sample_weight is not None else None,
        pos_label=pos_label,
    ).with_options(opts)
    prepared = prepare_data(frame, roles)
    return _audit_result(
        _count(prepared, opts),
        roles,
        options=opts,
        policy=policy,
        source="<arrays>",
        pos_label=prepared.pos_label,
        labels=prepared.labels,
        unknown_counts={f.name: f.n_missing for f in prepared.features},
        stacklevel=2,
    )
