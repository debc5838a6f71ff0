"""Frozen result objects of an audit, with a versioned JSON form.

The objects hold numbers and words only; nothing here computes a metric. ``to_dict`` gives
strict JSON (undefined values become ``null``), ``from_dict`` reads it back and refuses a
schema version it does not know.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from audit._exceptions import BundleError

__all__ = [
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "AttributeResult",
    "AuditOptions",
    "AuditResult",
    "CellRow",
    "CriterionResult",
    "DataSummary",
    "Disparity",
    "Estimate",
    "FourFifthsRow",
    "GroupResult",
    "LL144Row",
    "LL144Table",
    "RepresentationTest",
    "criterion_notes",
]

SCHEMA_VERSION = "1.1"
#: Older schema versions this version reads (their missing fields take their defaults).
READABLE_VERSIONS = ("1.0", SCHEMA_VERSION)
NAN = float("nan")

Verdict = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence intervals; NaN value means undefined (see reason).

    For a group's value, ``lower``/``upper`` is its own interval (for the method of each
    metric see :attr:`AuditResult.interval_methods`) and ``simultaneous_lower``/
    ``simultaneous_upper`` hold jointly for all the groups of the attribute that take part in
    its disparities (Bonferroni; NaN for the others). For a disparity or a criterion both
    pairs are the same interval: the one implied by simultaneous intervals of the compared
    values, which covers at parity; a verdict is decided on it.
    """

    value: float
    lower: float = NAN
    upper: float = NAN
    simultaneous_lower: float = NAN
    simultaneous_upper: float = NAN
    undefined_reason: str | None = None

    @property
    def defined(self) -> bool:
        """Whether the value is a number."""
        return not math.isnan(self.value)


@dataclass(frozen=True)
class GroupResult:
    """One group (a category, or a combination of categories) of an attribute."""

    group: str
    categories: tuple[str, ...]
    count: int
    weight: float
    share: float
    sufficient: bool
    unknown: bool
    metrics: Mapping[str, Estimate]
    missing_rate: Mapping[str, float]


@dataclass(frozen=True)
class Disparity:
    """A difference or ratio of one metric between the groups of an attribute."""

    metric: str
    measure: Literal["difference", "ratio"]
    method: str
    estimate: Estimate
    groups_compared: tuple[str, ...]
    excluded_groups: Mapping[str, str]
    highest_group: str | None
    lowest_group: str | None


@dataclass(frozen=True)
class FourFifthsRow:
    """EEOC four-fifths check of one group against the highest-selection-rate group.

    ``p_value`` is the test that applies: Fisher's exact test when an expected count of the
    2×2 table is below 5, the pooled two-proportion z-test otherwise. ``q_value`` adjusts it
    for the several groups of the attribute tested at once (Benjamini–Hochberg), and
    ``significant`` means ``q_value < significance_level``: the false discovery rate among
    the groups declared significant is controlled.
    """

    group: str
    count: int
    selected: int
    selection_rate: float
    impact_ratio: float
    reference_group: str
    flagged: bool
    z_statistic: float
    z_p_value: float
    fisher_p_value: float
    p_value: float
    q_value: float
    significant: bool
    eligible: bool


@dataclass(frozen=True)
class LL144Row:
    """NYC Local Law 144 figures of one category."""

    category: str
    count: int
    rate: float
    impact_ratio: float
    share: float
    excludable: bool


@dataclass(frozen=True)
class LL144Table:
    """NYC Local Law 144 table for one attribute (selection rate or scoring rate)."""

    attribute: str
    rate_kind: Literal["selection_rate", "scoring_rate"]
    median_score: float
    rows: tuple[LL144Row, ...]
    unknown_count: int
    most_selected: str | None


@dataclass(frozen=True)
class RepresentationTest:
    """Observed group shares against reference-population shares (chi-square goodness of fit)."""

    attribute: str
    observed_share: Mapping[str, float]
    expected_share: Mapping[str, float]
    representation_ratio: Mapping[str, float]
    chi2_statistic: float
    p_value: float
    most_under_represented: tuple[str, ...]


@dataclass(frozen=True)
class AttributeResult:
    """Everything computed for one attribute: a feature (``sex``) or an intersection."""

    name: str
    features: tuple[str, ...]
    groups: tuple[GroupResult, ...]
    disparities: tuple[Disparity, ...]
    four_fifths: tuple[FourFifthsRow, ...]
    ll144: LL144Table | None  # None for a regression audit
    representation: RepresentationTest | None = None


@dataclass(frozen=True)
class CriterionResult:
    """One policy criterion judged on one attribute.

    ``excluded_groups`` lists every group left out of any of the criterion's metrics, with
    the reasons. For an inconclusive verdict, ``data_factor`` is about how many times the
    data (every group's rows multiplied alike) would let the interval clear the threshold if
    the estimates held, ``would_decide`` the verdict it would then give and
    ``rows_to_decide`` the rows each compared group would need, smallest group first
    (NaN, None and empty when it does not apply or no amount of data would decide).
    """

    criterion: str
    attribute: str
    metrics: tuple[str, ...]
    measure: Literal["difference", "ratio"]
    bound: Literal["max", "min"]
    threshold: float
    estimate: Estimate
    verdict: Verdict
    decision_rule: Literal["interval", "point"]
    interval: Literal["simultaneous", "percentile"]
    explanation: str
    excluded_groups: Mapping[str, str]
    data_factor: float = NAN
    rows_to_decide: Mapping[str, int] = field(default_factory=dict)
    would_decide: Literal["pass", "fail"] | None = None


def criterion_notes(c: CriterionResult) -> list[str]:
    """What a criterion leaves out, and what would decide it: sentences for every reader.

    The groups left out of any of the criterion's metrics with the reasons, and, for an
    inconclusive verdict that more data would decide, how much more (if the estimates held).

    Examples
    --------
    >>> from audit import AuditOptions, Policy, Threshold, audit_predictions
    >>> r = audit_predictions([0, 1] * 60, [0, 1, 1, 1] * 30,
    ...                       sensitive_features={"g": ["a"] * 100 + ["b"] * 20},
    ...                       policy=Policy((Threshold("demographic_parity_ratio", 0.8),)))
    >>> criterion_notes(r.criteria[0])
    ['Not compared: b (20 rows, fewer than min_group_size=30).']
    """
    lines = []
    if c.excluded_groups:
        left = "; ".join(f"{g} ({why})" for g, why in c.excluded_groups.items())
        lines.append(f"Not compared: {left}.")
    if c.would_decide is not None and c.rows_to_decide:
        group, rows = next(iter(c.rows_to_decide.items()))
        more = c.data_factor
        now = math.floor(rows / more + 1e-9)  # rows = ⌈factor · now⌉
        if more > 100:
            lines.append(
                f"Even 100× the data would not decide it at these estimates (about "
                f"{more:,.0f}× would, {c.would_decide}): the estimate is close to the limit."
            )
        else:
            amount = (
                f"about {more:.1f}× the data" if more >= 1.95 else f"about {more - 1:.0%} more data"
            )
            lines.append(
                f"If the estimates held, {amount} would decide it ({c.would_decide}): about "
                f"{rows:,} rows in {group} (now {now:,}), the smallest group compared, and as "
                "many times more in every other group."
            )
    return lines


@dataclass(frozen=True)
class DataSummary:
    """What was audited."""

    source: str
    n_rows: int
    total_weight: float
    weighted: bool
    pos_label: str
    labels: tuple[str, str]
    roles: Mapping[str, str]
    sensitive_features: tuple[str, ...]
    unknown_counts: Mapping[str, int]
    score_binning: str
    roc_auc_max_binning_error: float


@dataclass(frozen=True)
class AuditOptions:
    """The resolved options an audit ran with."""

    confidence_level: float = 0.95
    #: Compute confidence intervals (exact or analytic; see ``interval_methods``). Without
    #: them verdicts under the interval rule are inconclusive; points are unchanged.
    intervals: bool = True
    random_state: int = 0
    min_group_size: int = 30
    disparity_method: Literal["between_groups", "to_overall", "reference"] = "between_groups"
    reference_groups: Mapping[str, str] = field(default_factory=dict)
    include_unknown_in_disparities: bool = False
    intersections: tuple[tuple[str, ...], ...] = ()
    task: Literal["binary_classification", "regression"] = "binary_classification"
    score_type: Literal["probability", "score"] = "probability"
    score_bins: int = 10_000
    regression_bins: int = 8
    max_categories: int = 50
    four_fifths_threshold: float = 0.8
    significance_level: float = 0.05
    ll144_min_share: float = 0.02
    ll144_rate: Literal["selection_rate", "scoring_rate"] = "selection_rate"
    verdict_interval: Literal["simultaneous", "percentile"] = "simultaneous"
    reference_population: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: Which engine counted the rows (``memory``, ``duckdb``, ``spark``; a spec may say
    #: ``auto``, and the result records the engine it chose) and DuckDB's memory limit.
    engine: Literal["memory", "duckdb", "spark", "auto"] = "memory"
    memory_limit: str = ""
    #: Deprecated (intervals are no longer bootstrapped): ``n_boot=0`` means
    #: ``intervals=False``; any other value does nothing. Not stored.
    n_boot: InitVar[int | None] = None

    def __post_init__(self, n_boot: int | None) -> None:
        if n_boot is None:
            return
        warnings.warn(
            "AuditOptions(n_boot=...) is deprecated and does nothing: intervals are exact or "
            "analytic, not bootstrapped. Use intervals=False for point estimates only.",
            DeprecationWarning,
            stacklevel=3,
        )
        if n_boot == 0:
            object.__setattr__(self, "intervals", False)


@dataclass(frozen=True)
class CellRow:
    """One intersectional cell: its row count and, for classification, confusion counts."""

    categories: tuple[str, ...]
    count: int
    tn: int | None = None
    fp: int | None = None
    fn: int | None = None
    tp: int | None = None


@dataclass(frozen=True)
class AuditResult:
    """The result of an audit: per-group metrics, disparities, criteria and verdicts."""

    audit_id: str
    created_at: str
    task: Literal["binary_classification", "regression"]
    data: DataSummary
    options: AuditOptions
    policy_name: str
    policy_version: str
    status: Literal["pass", "fail", "inconclusive", "no_policy"]
    overall: Mapping[str, Estimate]
    attributes: tuple[AttributeResult, ...]
    criteria: tuple[CriterionResult, ...]
    cells: tuple[CellRow, ...]
    notes: tuple[str, ...]
    #: How each metric's intervals were computed (metric name, and "disparities").
    interval_methods: Mapping[str, str] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    def attribute(self, name: str) -> AttributeResult:
        """The result of one attribute by name (``"sex"`` or ``"sex × race"``).

        Raises
        ------
        KeyError
            Naming the attributes present.
        """
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(
            f"Attribute {name!r} is not in this result. "
            f"Present: {[a.name for a in self.attributes]}."
        )

    def groups_frame(self) -> pd.DataFrame:
        """Per-group metrics as a long table: one row per attribute, group and metric."""
        rows = [
            {
                "attribute": a.name,
                "group": g.group,
                "count": g.count,
                "sufficient": g.sufficient,
                "metric": name,
                "value": e.value,
                "lower": e.lower,
                "upper": e.upper,
                "simultaneous_lower": e.simultaneous_lower,
                "simultaneous_upper": e.simultaneous_upper,
                "undefined_reason": e.undefined_reason,
            }
            for a in self.attributes
            for g in a.groups
            for name, e in g.metrics.items()
        ]
        return pd.DataFrame(rows)

    def disparities_frame(self) -> pd.DataFrame:
        """Every disparity with its interval, one row per attribute, metric and measure."""
        rows = [
            {
                "attribute": a.name,
                "metric": d.metric,
                "measure": d.measure,
                "method": d.method,
                "value": d.estimate.value,
                "lower": d.estimate.lower,
                "upper": d.estimate.upper,
                "highest_group": d.highest_group,
                "lowest_group": d.lowest_group,
                "undefined_reason": d.estimate.undefined_reason,
            }
            for a in self.attributes
            for d in a.disparities
        ]
        return pd.DataFrame(rows)

    def criteria_frame(self) -> pd.DataFrame:
        """Policy criteria with estimate, the interval that decided the verdict, and the verdict.

        ``excluded`` lists the groups left out of any of the criterion's metrics (with
        reasons); ``data_factor`` and ``would_decide`` say, for an inconclusive verdict, how
        many times the data would decide it and which way, if the estimates held.
        """
        rows = [
            {
                "criterion": c.criterion,
                "attribute": c.attribute,
                "threshold": c.threshold,
                "bound": c.bound,
                "value": c.estimate.value,
                "lower": c.estimate.lower,
                "upper": c.estimate.upper,
                "verdict": c.verdict,
                "excluded": "; ".join(f"{g} ({why})" for g, why in c.excluded_groups.items()),
                "data_factor": c.data_factor,
                "would_decide": c.would_decide,
            }
            for c in self.criteria
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (NaN as ``None``), including ``schema_version``."""
        out = _encode(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditResult:
        """Rebuild a result from :meth:`to_dict` output.

        Raises
        ------
        BundleError
            When the schema version is unknown or a field is missing or malformed.
        """
        options = data.get("options")
        if data.get("schema_version") == "1.0" and isinstance(options, Mapping):
            # 1.0 bootstrapped: n_boot = 0 meant no intervals.
            data = {**data, "options": {**options, "intervals": options.get("n_boot") != 0}}
        result = decode_versioned(cls, data, READABLE_VERSIONS, "result")
        assert isinstance(result, AuditResult)
        return result


def decode_versioned(
    tp: type, data: Mapping[str, Any], version: str | tuple[str, ...], what: str
) -> Any:
    """Rebuild a dataclass ``tp`` from its plain data, checking ``schema_version`` first.

    Raises
    ------
    BundleError
        The version is not ``version`` (or one of them), or a field is missing or malformed
        (naming ``what``).
    """
    found = data.get("schema_version")
    accepted = (version,) if isinstance(version, str) else version
    if found not in accepted:
        expected = repr(accepted[-1]) if len(accepted) == 1 else f"one of {list(accepted)}"
        raise BundleError(f"{what} schema_version {found!r} is not supported; expected {expected}.")
    try:
        return _decode(tp, data, what)
    except (TypeError, KeyError, ValueError) as exc:
        raise BundleError(f"{what}.json is malformed: {exc}") from None


def _encode(value: Any) -> Any:
    """Plain strict-JSON data: dataclasses as dicts, NaN as None, NumPy scalars as numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return value


def _decode(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise TypeError(f"{path} must be an object")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _decode(hints[f.name], value[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f"{path}.{f.name} is missing")
        return tp(**kwargs)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if float in inner and value is None:
            return NAN
        return _decode(inner[0], value, path)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{path} must be one of {list(args)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"{path} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        return tuple(
            _decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if origin in (Mapping, dict) or tp is dict:
        if not isinstance(value, Mapping):
            raise TypeError(f"{path} must be a table of names to values, got {value!r}")
        return {k: _decode(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is float:
        if value is None:
            return NAN
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{path} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{path} must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{path} must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise TypeError(f"{path} must be a string, got {value!r}")
        return value
    raise TypeError(f"{path}: unsupported type {tp!r}")
