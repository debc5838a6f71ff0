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
    missing_values = ["NA", "?"]    # optional: also missing, besides the empty field

    [audit]
    min_group_size = 30
    engine = "auto"                 # memory | duckdb | spark | auto: who counts the rows
    memory_limit = "2GB"            # DuckDB's, when it counts: "2GB", "512 MiB", "80%"
                                    # (default: 80% of RAM)

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

Every unknown key and every value of the wrong type or range is refused when the file is read,
as one line naming the file, the line of the key (found in the text: TOML keeps no positions),
the key, what was expected and what was found. The file must be UTF-8 (a byte order mark is
accepted). ``data.missing_values`` lists strings besides the empty field, which is always
missing (listing ``""`` changes nothing; listing ``pos_label`` is refused).
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit._exceptions import DataValidationError, SpecError
from audit._policy import Policy, Threshold
from audit._result import (
    AuditOptions,
    OptionError,
    _decode,
    _encode,
    _one_line,
    _shown,
    check_memory_limit,
    check_n_boot,
)
from audit._roles import Roles

__all__ = [
    "AuditSpec",
    "DataSpec",
    "LineageSpec",
    "TomlLines",
    "check_memory_limit",
    "decode_text",
    "load_spec",
    "parse_policy",
    "parse_spec",
]

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
    #: Strings that mean "missing" in a CSV file, besides the empty field (none by default:
    #: a category spelled ``NA`` stays a category unless it is listed here).
    missing_values: tuple[str, ...] = ()

    def roles(self, options: AuditOptions | None = None) -> Roles:
        """The columns' roles, with how to read and count them (from ``options``).

        Parameters
        ----------
        options : AuditOptions, optional
            Gives ``score_type``, ``max_categories``, ``task``, ``score_bins`` and
            ``regression_bins`` (an audit's options, which a spec's ``[data]`` fills);
            without them, those of this table and the defaults.

        Returns
        -------
        Roles

        Examples
        --------
        >>> DataSpec("y", "p", ("sex",), y_score="s").roles().columns()
        {'y_true': 'y', 'y_pred': 'p', 'y_score': 's', 'sensitive_features[0]': 'sex'}
        """
        roles = Roles(
            y_true=self.y_true,
            y_pred=self.y_pred,
            sensitive_features=tuple(self.sensitive_features),
            y_score=self.y_score,
            sample_weight=self.sample_weight,
            pos_label=self.pos_label,
            score_type=self.score_type,
            max_categories=self.max_categories,
            task=self.task,
            missing_values=tuple(self.missing_values),
        )
        return roles if options is None else roles.with_options(options)


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

    def roles(self) -> Roles:
        """The columns' roles (``[data]``) with how to read and count them (the options)."""
        return self.data.roles(self.options)

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


def deprecated_options(
    audit: Mapping[str, Any], origin: str | _Where
) -> tuple[dict[str, Any], list[str]]:
    """The ``[audit]`` table without its deprecated keys, and a note on each.

    ``n_boot = 0`` still means no intervals (``intervals = false``); any other ``n_boot``
    (a non-negative integer, as ``AuditOptions(n_boot=...)`` takes),
    ``bootstrap_score_bins`` and ``verdict_interval = "percentile"`` no longer change
    anything: intervals are exact or analytic, and every verdict is decided on the interval
    implied by simultaneous intervals of the compared groups.

    Examples
    --------
    >>> table, notes = deprecated_options({"n_boot": 0, "min_group_size": 10}, "s.toml")
    >>> table, notes[0][:48]
    ({'min_group_size': 10, 'intervals': False}, 's.toml: audit.n_boot is no longer used (interval')
    """
    name = origin.origin if isinstance(origin, _Where) else origin  # notes name the file
    table = {k: v for k, v in audit.items() if k not in _DEPRECATED_AUDIT_KEYS}
    notes = []
    if "n_boot" in audit:
        n_boot = audit["n_boot"]
        try:
            check_n_boot(n_boot)
        except OptionError as exc:
            raise _option_error(exc, origin) from None
        if n_boot == 0 and "intervals" not in audit:
            table["intervals"] = False
        notes.append(
            f"{name}: audit.n_boot is no longer used (intervals are exact or analytic, "
            "not bootstrapped); remove it"
            + (", and write intervals = false for point estimates only." if n_boot == 0 else ".")
        )
    if "bootstrap_score_bins" in audit:
        notes.append(
            f"{name}: audit.bootstrap_score_bins is no longer used (score intervals come "
            "from the histograms analytically); remove it."
        )
    if audit.get("verdict_interval") == "percentile":
        table["verdict_interval"] = "simultaneous"
        notes.append(
            f"{name}: audit.verdict_interval = 'percentile' is no longer used: a percentile "
            "interval of a max − min excludes the truth at parity, so every verdict is "
            "decided on the interval implied by simultaneous group intervals; remove it."
        )
    return table, notes


_POLICY_KEYS = {"name", "version", "decision_rule", "thresholds"}
_LINEAGE_KEYS = {f.name for f in dataclasses.fields(LineageSpec)}
#: The roles of [data] that name one column.
_COLUMN_KEYS = ("y_true", "y_pred", "y_score", "sample_weight")
#: How sensitive features are joined in the name of an intersection (as audit._attributes does).
_JOIN = " × "


class TomlLines:
    r"""Where each key of a TOML text is written: ``("audit", "memory_limit") → line``.

    tomllib keeps no positions; this reads the text once, following ``[table]`` and
    ``[[array]]`` headers (the n-th table of an array is ``(name, n)``, from 0) and dotted
    keys, skipping the inside of multi-line strings, so that an error can name the line a
    reader has to fix.

    Parameters
    ----------
    text : str
        The TOML text.

    Examples
    --------
    >>> lines = TomlLines('[data]\ny_true = "y"\n\n[[criterion]]\nname = "x"\naudit.engine = 1\n')
    >>> lines.line("data", "y_true"), lines.line("criterion", 0, "name")
    (2, 5)
    >>> lines.line("criterion", 0, "audit", "engine"), lines.line("data", "nope")
    (6, 1)
    >>> lines.line("elsewhere")  # unknown: 0
    0
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)"""
    _KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")
    _PARTS = re.compile(_PART)

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[str | int, ...], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        table: tuple[str | int, ...] = ()
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:  # inside a multi-line string
                if line.count(fence) % 2 == 1:
                    fence = None
                continue
            header = self._HEADER.match(line)
            if header:
                name = self._split(header.group(2))
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    table = (*name, counts[name] - 1)
                else:
                    table = name
                self.at.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                parts = self._split(key.group(1))
                for end in range(1, len(parts) + 1):  # a.b = 1 also writes the table a
                    self.at.setdefault((*table, *parts[:end]), number)
                rest = line[key.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        fence = quote

    @classmethod
    def _split(cls, dotted: str) -> tuple[str, ...]:
        return tuple(part.strip("\"'") for part in cls._PARTS.findall(dotted))

    def line(self, *path: str | int) -> int:
        """The line of ``path`` or of the nearest enclosing table (0 when unknown)."""
        while path:
            if path in self.at:
                return self.at[path]
            path = path[:-1]
        return 0


class _Where:
    """``origin:line`` of a key path when the text is known, else ``origin``."""

    def __init__(self, origin: str, lines: TomlLines | None = None) -> None:
        self.origin = origin
        self.lines = lines

    def __call__(self, *path: str | int) -> str:
        line = self.lines.line(*path) if self.lines is not None and path else 0
        return f"{self.origin}:{line}" if line else self.origin


def _at(origin: str | _Where, *path: str | int) -> str:
    return origin(*path) if isinstance(origin, _Where) else origin


def decode_text(data: bytes, name: str, advice: str = "save it as UTF-8") -> str:
    r"""The text of a file that must be UTF-8; a leading byte order mark is dropped.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file, as named in the error.
    advice : str
        What the error ends with.

    Returns
    -------
    str

    Raises
    ------
    SpecError
        ``name:line: ...``, with the line and the byte of the line where decoding failed.

    Examples
    --------
    >>> decode_text(b"\xef\xbb\xbfa = 1\n", "s.toml")
    'a = 1\n'
    >>> decode_text(b"a = 1\nb = '\xe9'\n", "s.toml")
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: s.toml:2: the file must be UTF-8 text, but byte 6 of line 2
    (0xE9) is not valid UTF-8 (invalid continuation byte); save it as UTF-8.
    """
    hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise SpecError(
            f"{name}:{line}: the file must be UTF-8 text{hint}, but byte {column} of line {line} "
            f"(0x{data[start]:02X}) is not valid UTF-8 ({exc.reason}); {advice}."
        ) from None


def _check_keys(
    table: Mapping[str, Any], allowed: set[str], where: str, origin: str | _Where
) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        path = (*where.rstrip(".").split("."), unknown[0]) if where else (unknown[0],)
        raise SpecError(
            f"{_at(origin, *path)}: unknown key '{where}{unknown[0]}'; allowed keys: "
            f"{sorted(allowed)}."
        )


def _table(
    raw: Mapping[str, Any], key: str, origin: str | _Where, required: bool = False
) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        if required:
            raise SpecError(f"{_at(origin)}: the [{key}] table is missing.")
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{_at(origin, key)}: [{key}] must be a table; got {_shown(value)}.")
    return value


def _decode_table(tp: Any, table: Mapping[str, Any], section: str, where: _Where) -> dict[str, Any]:
    """Each value of a table as the type of its field, or a SpecError at the key's line."""
    hints = typing.get_type_hints(tp)
    decoded = {}
    for key, value in table.items():
        try:
            decoded[key] = _decode(hints[key], value, f"{section}.{key}")
        except (TypeError, ValueError, KeyError) as exc:
            raise SpecError(f"{where(section, key)}: {_one_line(_reason(exc))}.") from None
    return decoded


def _reason(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def parse_spec(
    raw: Mapping[str, Any],
    *,
    base_dir: Path | str = ".",
    origin: str = "<spec>",
    text: str | None = None,
) -> AuditSpec:
    """Validate a spec given as a mapping (the parsed TOML).

    Every option is checked here, so that a bad value is refused before any data is read.

    Parameters
    ----------
    raw : mapping
        The tables ``data`` (required), ``audit``, ``policy`` and ``lineage``.
    base_dir : str or Path
        The folder relative paths are resolved against.
    origin : str
        Where the spec came from, named in every error (a file name).
    text : str, optional
        The TOML text ``raw`` was parsed from: errors then give the line of the key.

    Returns
    -------
    AuditSpec

    Raises
    ------
    SpecError
        One line: ``origin:line: key ... what was expected; got what``.

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
    >>> text = '''
    ... [data]
    ... y_true = "y"
    ... y_pred = "p"
    ... sensitive_features = ["g"]
    ... [audit]
    ... memory_limit = "lots"
    ... '''
    >>> parse_spec(tomllib.loads(text), origin="spec.toml", text=text)
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: spec.toml:7: audit.memory_limit must be a size such as ...
    """
    where = _Where(origin, TomlLines(text) if text is not None else None)
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{origin}: a spec is a table of tables ([data], [audit], [policy], [lineage]); "
            f"got {type(raw).__name__}."
        )
    _check_keys(raw, {"data", "audit", "policy", "lineage"}, "", where)
    data = _table(raw, "data", where, required=True)
    audit = _table(raw, "audit", where)
    policy = _table(raw, "policy", where)
    lineage = _table(raw, "lineage", where)
    _check_keys(data, _DATA_KEYS, "data.", where)
    _check_keys(
        {k: v for k, v in audit.items() if k not in _DEPRECATED_AUDIT_KEYS},
        _AUDIT_KEYS,
        "audit.",
        where,
    )
    _check_keys(lineage, _LINEAGE_KEYS, "lineage.", where)
    audit, deprecations = deprecated_options(audit, where)
    for key in ("y_true", "y_pred", "sensitive_features"):
        if key not in data:
            raise SpecError(f"{where('data')}: data.{key} is required.")
    pos = data.get("pos_label")
    if pos is not None and (
        not isinstance(pos, str | int | float | bool)
        or (isinstance(pos, float) and not math.isfinite(pos))
    ):
        raise SpecError(
            f"{where('data', 'pos_label')}: data.pos_label must be a string or a finite "
            f"number; got {_shown(pos)}."
        )
    data_spec = DataSpec(
        **_decode_table(
            DataSpec, {k: v for k, v in data.items() if k != "pos_label"}, "data", where
        ),
        pos_label=pos,
    )
    _check_data(data_spec, where)
    options = AuditOptions(
        **_decode_table(AuditOptions, audit, "audit", where),
        **{k: getattr(data_spec, k) for k in _FROM_DATA},
    )
    lineage_spec = LineageSpec(**_decode_table(LineageSpec, lineage, "lineage", where))
    if data_spec.table is not None:
        if data_spec.path is not None:
            raise SpecError(f"{where('data', 'table')}: give data.path or data.table, not both.")
        if options.engine not in ("spark", "auto"):
            raise SpecError(
                f"{where('data', 'table')}: data.table names a Spark table; set [audit] "
                "engine = 'spark'."
            )
    roles = data_spec.roles(options)
    try:
        roles.check()
    except DataValidationError as exc:  # at the line of the role that repeats a column
        key = roles.repeated_role() or "sensitive_features"
        raise SpecError(f"{where('data', key)}: data: {exc}") from None
    checked_options(options, where)
    _check_options_against_data(options, data_spec, where)
    pol = _parse_policy(policy, where)
    _check_lineage(lineage_spec, where)
    return AuditSpec(
        data_spec, options, pol, Path(base_dir), origin, lineage_spec, tuple(deprecations)
    )


def _check_data(d: DataSpec, where: _Where) -> None:
    """What [data] says beyond its types: columns named, a known format, missing values."""
    for key in _COLUMN_KEYS:
        column = getattr(d, key)
        if column is not None and not column.strip():
            raise SpecError(f"{where('data', key)}: data.{key} must name a column; got {column!r}.")
    if not d.sensitive_features:
        raise SpecError(
            f"{where('data', 'sensitive_features')}: data.sensitive_features must name at "
            "least one column."
        )
    for i, feature in enumerate(d.sensitive_features):
        if not feature.strip():
            raise SpecError(
                f"{where('data', 'sensitive_features')}: data.sensitive_features[{i}] must "
                f"name a column; got {feature!r}."
            )
    for key in ("path", "table"):
        value = getattr(d, key)
        if value is not None and not value.strip():
            raise SpecError(f"{where('data', key)}: data.{key} must not be empty.")
    if d.format is not None and d.format not in ("csv", "parquet"):
        raise SpecError(
            f"{where('data', 'format')}: data.format must be 'csv' or 'parquet'; got {d.format!r}."
        )
    if isinstance(d.pos_label, str) and d.pos_label in d.missing_values:
        raise SpecError(
            f"{where('data', 'missing_values')}: data.missing_values lists {d.pos_label!r}, "
            "which is data.pos_label: a positive label cannot also mean missing."
        )


def parse_policy(policy: Mapping[str, Any], origin: str = "<spec>") -> Policy:
    """Validate a ``[policy]`` table (name, version, decision_rule, thresholds).

    Examples
    --------
    >>> parse_policy({"thresholds": {"demographic_parity_ratio": 0.8}}).thresholds[0].threshold
    0.8
    """
    return _parse_policy(policy, _Where(origin))


def _parse_policy(policy: Mapping[str, Any], where: _Where) -> Policy:
    _check_keys(policy, _POLICY_KEYS, "policy.", where)
    thresholds = []
    raw_thresholds = policy.get("thresholds", {})
    if not isinstance(raw_thresholds, dict):
        raise SpecError(
            f"{where('policy', 'thresholds')}: [policy.thresholds] must be a table of "
            "criterion = threshold."
        )
    for criterion, value in raw_thresholds.items():
        here = ("policy", "thresholds", criterion)
        attributes = None
        if isinstance(value, dict):
            _check_keys(
                value, {"threshold", "attributes"}, f"policy.thresholds.{criterion}.", where
            )
            attributes = value.get("attributes")
            if attributes is not None and not (
                isinstance(attributes, list)
                and all(isinstance(a, str) and a.strip() for a in attributes)
            ):
                raise SpecError(
                    f"{where(*here, 'attributes')}: policy.thresholds.{criterion}.attributes "
                    f"must be a list of attribute names; got {_shown(attributes)}."
                )
            if "threshold" not in value:
                raise SpecError(
                    f"{where(*here)}: policy.thresholds.{criterion} needs a 'threshold'."
                )
            value = value["threshold"]
        try:
            thresholds.append(
                Threshold(criterion, value, tuple(attributes) if attributes is not None else None)
            )
        except SpecError as exc:
            raise SpecError(f"{where(*here)}: policy.thresholds: {_one_line(str(exc))}") from None
    for key in ("name", "version", "decision_rule"):
        if key in policy and not isinstance(policy[key], str):
            raise SpecError(
                f"{where('policy', key)}: policy.{key} must be a string; got {_shown(policy[key])}."
            )
    try:
        return Policy(
            tuple(thresholds),
            policy.get("decision_rule", "interval"),
            policy.get("name", "unnamed policy"),
            policy.get("version", "0"),
        )
    except SpecError as exc:
        raise SpecError(
            f"{where('policy', 'decision_rule')}: policy: {_one_line(str(exc))}"
        ) from None


def _option_error(exc: OptionError, origin: str | _Where) -> SpecError:
    """An option's error as a spec gives it: at the key's line, under its table."""
    section = "data" if exc.field in _FROM_DATA else "audit"
    return SpecError(f"{_at(origin, section, exc.field)}: {section}.{exc.field}{exc.problem}.")


def checked_options(options: AuditOptions, origin: str | _Where) -> AuditOptions:
    """``options`` checked (:meth:`AuditOptions.check`), an error naming the spec's key.

    Examples
    --------
    >>> checked_options(AuditOptions(max_categories=1), "s.toml")
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: s.toml: data.max_categories must be at least 2; got 1.
    """
    try:
        return options.check()
    except OptionError as exc:
        raise _option_error(exc, origin) from None


def _check_options_against_data(o: AuditOptions, d: DataSpec, where: _Where) -> None:
    """Options that name sensitive features (or need a column), checked against [data]."""
    features = list(d.sensitive_features)
    for i, combo in enumerate(o.intersections):
        unknown = [f for f in combo if f not in features]
        if unknown:
            raise SpecError(
                f"{where('audit', 'intersections')}: audit.intersections[{i}] names {unknown}, "
                f"which are not in data.sensitive_features {features}."
            )
    unknown = sorted(set(o.reference_groups) - set(features))
    if unknown:
        raise SpecError(
            f"{where('audit', 'reference_groups')}: audit.reference_groups names {unknown}, "
            f"which are not in data.sensitive_features {features}."
        )
    if o.disparity_method == "reference":
        missing = [f for f in features if f not in o.reference_groups]
        if missing:
            raise SpecError(
                f"{where('audit', 'disparity_method')}: audit.disparity_method = 'reference' "
                f"needs a reference group for {missing} in audit.reference_groups."
            )
    combos = [tuple(c) for c in o.intersections if len(c) > 1]
    if not o.intersections and len(features) > 1:
        combos = [tuple(features)]
    attributes = [*features, *(_JOIN.join(c) for c in combos)]
    unknown = sorted(set(o.reference_population) - set(attributes))
    if unknown:
        raise SpecError(
            f"{where('audit', 'reference_population')}: audit.reference_population names "
            f"{unknown}, which are not audited attributes {attributes}."
        )
    if o.ll144_rate == "scoring_rate" and d.y_score is None:
        raise SpecError(
            f"{where('audit', 'll144_rate')}: audit.ll144_rate = 'scoring_rate' needs data.y_score."
        )


def _check_lineage(s: LineageSpec, where: _Where) -> None:
    def fail(key: str, problem: str) -> SpecError:
        return SpecError(f"{where('lineage', key)}: lineage.{key} {problem}.")

    if not s.namespace.strip():
        raise fail("namespace", "must not be empty")
    if s.job is not None and not s.job.strip():
        raise fail("job", "must not be empty (leave it out for '<spec file name>.audit')")
    for i, path in enumerate(s.upstream):
        if not path.strip():
            raise SpecError(
                f"{where('lineage', 'upstream')}: lineage.upstream[{i}] must name an events "
                "file; got ''."
            )
    if s.url is not None and not _is_http_url(s.url):
        raise fail(
            "url",
            "must be an http or https URL with a host, such as 'http://localhost:5000'; "
            f"got {s.url!r}",
        )
    if not s.api_key_env.strip():
        raise fail("api_key_env", "must name an environment variable; got ''")
    if not 0 <= s.tolerance <= 1:
        raise fail("tolerance", f"must be in [0, 1]; got {s.tolerance}")
    if not (math.isfinite(s.timeout) and s.timeout > 0):
        raise fail("timeout", f"must be a positive number of seconds; got {s.timeout}")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number in range raises ValueError
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url == url.strip()


def _read(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML of a spec file and its text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"Cannot read spec '{path}': {exc.strerror or exc}.") from None
    text = decode_text(data, path.name)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: not valid TOML: {exc}.") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML spec file; a missing file, bad UTF-8 or bad TOML is a one-line SpecError."""
    return _read(Path(path))[0]


def load_spec(path: str | Path) -> AuditSpec:
    r"""Read and validate a TOML audit spec file.

    The file must be UTF-8 (a byte order mark is accepted). Errors name the file and the
    line of the key (see :func:`parse_spec`).

    Parameters
    ----------
    path : str or Path
        The spec file; relative paths in it are resolved against its folder.

    Returns
    -------
    AuditSpec

    Raises
    ------
    SpecError
        The file is missing, is not UTF-8 (with the line and byte), is not valid TOML (with
        the line), or its content is invalid (with the line of the key).

    Examples
    --------
    >>> import tempfile
    >>> spec = Path(tempfile.mkdtemp()) / "audit.toml"
    >>> _ = spec.write_bytes(b'[data]\ny_true = "y"\ny_pred = "p"\nsensitive_features = ["\xe9"]\n')
    >>> load_spec(spec)
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: audit.toml:4: the file must be UTF-8 text, but byte 24 of
    line 4 (0xE9) is not valid UTF-8 (invalid continuation byte); save it as UTF-8.
    """
    path = Path(path)
    raw, text = _read(path)
    return parse_spec(raw, base_dir=path.parent, origin=path.name, text=text)
