"""The TOML audit spec: what data, which options, which policy.

::

    [data]
    path = "predictions.csv"        # a file, a folder of parts or a glob; relative to the spec
    # table = "analytics.scores"    # or a Spark table, with [audit] engine = "spark"
    y_true = "label"
    y_pred = "prediction"
    y_score = "score"               # optional
    pos_label = ">50K"              # needed unless labels are 0/1
    sensitive_features = ["sex", "race"]

    [audit]
    min_group_size = 30
    engine = "auto"                 # memory | duckdb | spark | auto: who counts the rows
    memory_limit = "2GB"            # DuckDB's, when it counts (default: 80% of RAM)

    [policy]
    name = "hiring policy"
    [policy.thresholds]
    demographic_parity_ratio = 0.8
    equalized_odds_difference = { threshold = 0.1, attributes = ["sex"] }

    [lineage]                       # optional: how `fairtrail run` records the audit
    namespace = "credit-risk"       # OpenLineage namespace of the audit job
    job = "credit_model.audit"      # default: "<spec file name>.audit"
    upstream = ["prepare.jsonl"]    # events of the data preparation, copied into the bundle
    url = "http://marquez:5000"     # also send events here (or set OPENLINEAGE_URL)

Every unknown key and every value of the wrong type is refused with the key's full name.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit._exceptions import SpecError
from audit._policy import Policy, Threshold
from audit._result import AuditOptions, _decode, _encode

__all__ = ["AuditSpec", "DataSpec", "LineageSpec", "load_spec", "parse_policy", "parse_spec"]

Label = str | int | float | bool


@dataclass(frozen=True)
class DataSpec:
    """Where the predictions are and which column plays which role."""

    y_true: str
    y_pred: str
    sensitive_features: tuple[str, ...]
    path: str | None = None
    format: str | None = None
    y_score: str | None = None
    sample_weight: str | None = None
    pos_label: Label | None = None
    score_type: str = "probability"
    max_categories: int = 50
    task: str = "binary_classification"
    table: str | None = None  # a Spark table (engine "spark"), instead of path


@dataclass(frozen=True)
class LineageSpec:
    """How ``fairtrail run`` records the audit as OpenLineage events (see :mod:`lineage`)."""

    namespace: str = "fairtrail"
    job: str | None = None
    upstream: tuple[str, ...] = ()
    url: str | None = None
    api_key_env: str = "OPENLINEAGE_API_KEY"
    timeout: float = 5.0
    row_digests: bool = True
    tolerance: float = 0.05


@dataclass(frozen=True)
class AuditSpec:
    """A parsed, validated audit spec."""

    data: DataSpec
    options: AuditOptions = field(default_factory=AuditOptions)
    policy: Policy = field(default_factory=Policy)
    base_dir: Path = Path(".")
    origin: str = "<spec>"
    lineage: LineageSpec = field(default_factory=LineageSpec)
    #: Notes on keys that no longer do anything (kept readable), shown with the result.
    deprecations: tuple[str, ...] = ()

    def job_name(self) -> str:
        """The audit's OpenLineage job: ``lineage.job`` or ``<spec file name>.audit``."""
        if self.lineage.job:
            return self.lineage.job
        stem = Path(self.origin).stem if self.origin != "<spec>" else "fairtrail"
        return f"{stem}.audit"

    def upstream_paths(self) -> list[Path]:
        """The upstream events files, resolved against the spec's folder."""
        return [
            p if p.is_absolute() else self.base_dir / p for p in map(Path, self.lineage.upstream)
        ]

    def data_path(self) -> Path | None:
        """The data file, resolved against the spec's folder."""
        if self.data.path is None:
            return None
        p = Path(self.data.path)
        return p if p.is_absolute() else self.base_dir / p

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec (every default filled in) as plain data."""
        policy = {
            "name": self.policy.name,
            "version": self.policy.version,
            "decision_rule": self.policy.decision_rule,
            "thresholds": {
                t.criterion: {"threshold": t.threshold, "attributes": list(t.attributes)}
                if t.attributes is not None
                else t.threshold
                for t in self.policy.thresholds
            },
        }
        audit = {k: v for k, v in _encode(self.options).items() if k not in _FROM_DATA}
        return {
            "data": _encode(self.data),
            "audit": audit,
            "policy": policy,
            "lineage": _encode(self.lineage),
        }


#: Options set in the [data] table (they describe the data) and carried into AuditOptions.
_FROM_DATA = ("score_type", "max_categories", "task")
_DATA_KEYS = {f.name for f in dataclasses.fields(DataSpec)}
_AUDIT_KEYS = {f.name for f in dataclasses.fields(AuditOptions)} - set(_FROM_DATA)
#: Keys of [audit] from the bootstrap's time: still read, each with a note.
_DEPRECATED_AUDIT_KEYS = {"n_boot", "bootstrap_score_bins"}


def deprecated_options(audit: Mapping[str, Any], origin: str) -> tuple[dict[str, Any], list[str]]:
    """The ``[audit]`` table without its deprecated keys, and a note on each.

    ``n_boot = 0`` still means no intervals (``intervals = false``); any other ``n_boot``,
    ``bootstrap_score_bins`` and ``verdict_interval = "percentile"`` no longer change
    anything: intervals are exact or analytic, and every verdict is decided on the interval
    implied by simultaneous intervals of the compared groups.

    Examples
    --------
    >>> table, notes = deprecated_options({"n_boot": 0, "min_group_size": 10}, "s.toml")
    >>> table, notes[0][:48]
    ({'min_group_size': 10, 'intervals': False}, 's.toml: audit.n_boot is no longer used (interval')
    """
    table = {k: v for k, v in audit.items() if k not in _DEPRECATED_AUDIT_KEYS}
    notes = []
    if "n_boot" in audit:
        n_boot = audit["n_boot"]
        if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
            raise SpecError(
                f"{origin}: audit.n_boot must be a non-negative integer; got {n_boot!r}."
            )
        if n_boot == 0 and "intervals" not in audit:
            table["intervals"] = False
        notes.append(
            f"{origin}: audit.n_boot is no longer used (intervals are exact or analytic, "
            "not bootstrapped); remove it"
            + (", and write intervals = false for point estimates only." if n_boot == 0 else ".")
        )
    if "bootstrap_score_bins" in audit:
        notes.append(
            f"{origin}: audit.bootstrap_score_bins is no longer used (score intervals come "
            "from the histograms analytically); remove it."
        )
    if audit.get("verdict_interval") == "percentile":
        table["verdict_interval"] = "simultaneous"
        notes.append(
            f"{origin}: audit.verdict_interval = 'percentile' is no longer used: a percentile "
            "interval of a max − min excludes the truth at parity, so every verdict is "
            "decided on the interval implied by simultaneous group intervals; remove it."
        )
    return table, notes


_POLICY_KEYS = {"name", "version", "decision_rule", "thresholds"}
_LINEAGE_KEYS = {f.name for f in dataclasses.fields(LineageSpec)}


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, origin: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SpecError(
            f"{origin}: unknown key '{where}{unknown[0]}'; allowed keys: {sorted(allowed)}."
        )


def _table(raw: Mapping[str, Any], key: str, origin: str, required: bool = False) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise SpecError(f"{origin}: the [{key}] table is missing.")
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{origin}: [{key}] must be a table; got {value!r}.")
    return value


def parse_spec(
    raw: Mapping[str, Any], *, base_dir: Path | str = ".", origin: str = "<spec>"
) -> AuditSpec:
    """Validate a spec given as a mapping (the parsed TOML).

    Examples
    --------
    >>> spec = parse_spec({"data": {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]},
    ...                    "policy": {"thresholds": {"demographic_parity_ratio": 0.8}}})
    >>> spec.policy.thresholds[0].threshold
    0.8
    >>> parse_spec({"data": {"y_true": "y"}, "audit": {"n_bot": 10}})
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: <spec>: unknown key 'audit.n_bot'; allowed keys: [...].
    """
    _check_keys(raw, {"data", "audit", "policy", "lineage"}, "", origin)
    data = _table(raw, "data", origin, required=True)
    audit = _table(raw, "audit", origin)
    policy = _table(raw, "policy", origin)
    _check_keys(data, _DATA_KEYS, "data.", origin)
    _check_keys(
        {k: v for k, v in audit.items() if k not in _DEPRECATED_AUDIT_KEYS},
        _AUDIT_KEYS,
        "audit.",
        origin,
    )
    audit, deprecations = deprecated_options(audit, origin)
    lineage = _table(raw, "lineage", origin)
    _check_keys(lineage, _LINEAGE_KEYS, "lineage.", origin)
    for key in ("y_true", "y_pred", "sensitive_features"):
        if key not in data:
            raise SpecError(f"{origin}: data.{key} is required.")
    pos = data.get("pos_label")
    if pos is not None and not isinstance(pos, str | int | float | bool):
        raise SpecError(f"{origin}: data.pos_label must be a string or a number; got {pos!r}.")
    try:
        data_spec = _decode(DataSpec, {k: v for k, v in data.items() if k != "pos_label"}, "data")
        options = _decode(
            AuditOptions,
            {
                **audit,
                **{k: getattr(data_spec, k) for k in _FROM_DATA},
            },
            "audit",
        )
        lineage_spec = _decode(LineageSpec, lineage, "lineage")
    except (TypeError, ValueError, KeyError) as exc:
        raise SpecError(f"{origin}: {exc}.") from None
    data_spec = dataclasses.replace(data_spec, pos_label=pos)
    if data_spec.table is not None:
        if data_spec.path is not None:
            raise SpecError(f"{origin}: give data.path or data.table, not both.")
        if options.engine not in ("spark", "auto"):
            raise SpecError(
                f"{origin}: data.table names a Spark table; set [audit] engine = 'spark'."
            )
    if not data_spec.sensitive_features:
        raise SpecError(f"{origin}: data.sensitive_features must name at least one column.")
    _check_options(options, origin)
    pol = parse_policy(policy, origin)
    if not lineage_spec.namespace:
        raise SpecError(f"{origin}: lineage.namespace must not be empty.")
    if not 0 <= lineage_spec.tolerance <= 1:
        raise SpecError(
            f"{origin}: lineage.tolerance must be in [0, 1]; got {lineage_spec.tolerance}."
        )
    if not lineage_spec.timeout > 0:
        raise SpecError(f"{origin}: lineage.timeout must be positive; got {lineage_spec.timeout}.")
    return AuditSpec(
        data_spec, options, pol, Path(base_dir), origin, lineage_spec, tuple(deprecations)
    )


def parse_policy(policy: Mapping[str, Any], origin: str = "<spec>") -> Policy:
    """Validate a ``[policy]`` table (name, version, decision_rule, thresholds).

    Examples
    --------
    >>> parse_policy({"thresholds": {"demographic_parity_ratio": 0.8}}).thresholds[0].threshold
    0.8
    """
    _check_keys(policy, _POLICY_KEYS, "policy.", origin)
    thresholds = []
    raw_thresholds = policy.get("thresholds", {})
    if not isinstance(raw_thresholds, dict):
        raise SpecError(f"{origin}: [policy.thresholds] must be a table of criterion = threshold.")
    for criterion, value in raw_thresholds.items():
        attributes = None
        if isinstance(value, dict):
            _check_keys(
                value, {"threshold", "attributes"}, f"policy.thresholds.{criterion}.", origin
            )
            attributes = value.get("attributes")
            if attributes is not None and not (
                isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)
            ):
                raise SpecError(
                    f"{origin}: policy.thresholds.{criterion}.attributes must be a list of "
                    f"attribute names; got {attributes!r}."
                )
            value = value.get("threshold")
        try:
            thresholds.append(
                Threshold(criterion, value, tuple(attributes) if attributes is not None else None)
            )
        except SpecError as exc:
            raise SpecError(f"{origin}: policy.thresholds: {exc}") from None
    for key in ("name", "version", "decision_rule"):
        if key in policy and not isinstance(policy[key], str):
            raise SpecError(f"{origin}: policy.{key} must be a string; got {policy[key]!r}.")
    try:
        return Policy(
            tuple(thresholds),
            policy.get("decision_rule", "interval"),
            policy.get("name", "unnamed policy"),
            policy.get("version", "0"),
        )
    except SpecError as exc:
        raise SpecError(f"{origin}: policy: {exc}") from None


def _check_options(o: AuditOptions, origin: str) -> None:
    problems = []
    if not 0.0 < o.confidence_level < 1.0:
        problems.append(f"audit.confidence_level must be in (0, 1); got {o.confidence_level!r}")
    if o.min_group_size < 1:
        problems.append(f"audit.min_group_size must be at least 1; got {o.min_group_size!r}")
    if o.score_bins < 10:
        problems.append(f"audit.score_bins must be at least 10; got {o.score_bins!r}")
    if o.max_categories < 2:
        problems.append(f"data.max_categories must be at least 2; got {o.max_categories!r}")
    if o.score_type not in ("probability", "score"):
        problems.append(f"data.score_type must be 'probability' or 'score'; got {o.score_type!r}")
    if o.task not in ("binary_classification", "regression"):
        problems.append(
            f"data.task must be 'binary_classification' or 'regression'; got {o.task!r}"
        )
    if o.engine not in ("memory", "duckdb", "spark", "auto"):
        problems.append(
            f"audit.engine must be 'memory', 'duckdb', 'spark' or 'auto'; got {o.engine!r}"
        )
    if o.regression_bins < 1:
        problems.append(f"audit.regression_bins must be at least 1; got {o.regression_bins!r}")
    if problems:
        raise SpecError(f"{origin}: {problems[0]}.")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML spec file; a missing file or bad TOML is a one-line SpecError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"Cannot read spec '{path}': {exc.strerror or exc}.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: not valid TOML: {exc}.") from None


def load_spec(path: str | Path) -> AuditSpec:
    """Read and validate a TOML audit spec file.

    Raises
    ------
    SpecError
        The file is missing, is not valid TOML (with the line), or its content is invalid.
    """
    path = Path(path)
    return parse_spec(read_toml(path), base_dir=path.parent, origin=path.name)
