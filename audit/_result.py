"""Frozen result objects of an audit, with a versioned JSON form.

The objects hold numbers and words only; nothing here computes a metric. ``to_dict`` gives
strict JSON (undefined values become ``null``), ``from_dict`` reads it back and refuses a
schema version it does not know.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import re
import types
import typing
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from audit._exceptions import BundleError, SpecError

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
    "OptionError",
    "RepresentationTest",
    "check_memory_limit",
    "check_n_boot",
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


class OptionError(SpecError):
    """An option of the wrong type or out of its range: which, what was expected and found.

    Every entry point reports it in its own words around the same text: ``AuditOptions.x``
    when checked in Python, ``audit_predictions: options.x``, ``spec.toml:7: audit.x``.

    Parameters
    ----------
    field : str
        The option (``"min_group_size"``).
    problem : str
        What follows the option's name, up to the final full stop
        (``" must be at least 1; got 0"``; a nested value begins with its path,
        ``".sex.F must be a number, got 'x'"``).
    owner : str
        What comes before ``.field`` in the message.
    """

    def __init__(self, field: str, problem: str, owner: str = "AuditOptions") -> None:
        super().__init__(f"{owner}.{field}{problem}.")
        self.field = field
        self.problem = problem
        self.owner = owner

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (by joblib's workers) by its parts
        return (type(self), (self.field, self.problem, self.owner))


def _one_line(text: str) -> str:
    """``text`` with its line breaks (of a multi-line repr) made spaces: one line."""
    return re.sub(r"\s*\n\s*", " ", text)


def _shown(value: object) -> str:
    """``repr(value)`` on one line, cut to 80 characters (a spec from Python holds anything).

    Examples
    --------
    >>> _shown("lots"), len(_shown(list(range(40)))), _shown(list(range(40)))[-5:]
    ("'lots'", 80, '21...')
    """
    text = _one_line(repr(value))
    return text if len(text) <= 80 else text[:77] + "..."


_MEMORY = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib|%)", re.IGNORECASE)
_MEMORY_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
#: Below this DuckDB cannot scan a file (a CSV block alone is about 5 MiB per thread).
MIN_MEMORY_LIMIT = 64 * 2**20
MAX_MEMORY_LIMIT = 2**50  # 1024 TiB


def check_memory_limit(value: object, name: str = "memory_limit") -> str:
    """Check a DuckDB memory limit: a size such as ``"2GB"`` or ``"512 MiB"``, or ``"80%"``.

    A size is a number (digits, with an optional decimal part), optional spaces and a unit,
    ``B``, ``KB``, ``MB``, ``GB``, ``TB`` (powers of 1000) or ``KiB``, ``MiB``, ``GiB``,
    ``TiB`` (powers of 1024), in any case, from 64 MiB to 1024 TiB; a percentage (of the
    memory) is from 1% to 100%. That is a subset of what DuckDB reads (it also reads
    ``1e3MB``, ``.5GB``, and ``-1GB`` as no limit). The empty string means DuckDB's default
    (80% of the memory).

    Parameters
    ----------
    value : object
        The limit (``audit.memory_limit`` or the command line's ``--memory-limit``).
    name : str
        What to call it in the error.

    Returns
    -------
    str
        ``value`` without surrounding spaces.

    Raises
    ------
    SpecError
        Naming ``name``, what a limit looks like and what was given.

    Examples
    --------
    >>> check_memory_limit("512 MiB"), check_memory_limit(" 80% "), check_memory_limit("")
    ('512 MiB', '80%', '')
    >>> check_memory_limit("lots", "--memory-limit")
    Traceback (most recent call last):
    ...
    audit._exceptions.SpecError: --memory-limit must be a size such as '2GB', '512 MiB' or
    '80%' (a number, then B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, or %); got 'lots'.
    """
    expected = (
        "a size such as '2GB', '512 MiB' or '80%' (a number, then B, KB, MB, GB, TB, KiB, "
        "MiB, GiB or TiB, or %)"
    )
    if not isinstance(value, str):
        raise SpecError(f"{name} must be {expected}; got {_shown(value)}.")
    text = value.strip()
    if not text:
        return ""
    found = _MEMORY.fullmatch(text)
    if found is None:
        raise SpecError(f"{name} must be {expected}; got {_shown(value)}.")
    number, unit = float(found.group(1)), found.group(2).lower()
    if unit == "%":
        if not 1 <= number <= 100:
            raise SpecError(f"{name} must be from 1% to 100% of the memory; got {_shown(value)}.")
    elif not MIN_MEMORY_LIMIT <= number * _MEMORY_UNITS[unit] <= MAX_MEMORY_LIMIT:
        raise SpecError(
            f"{name} must be from 64 MiB (DuckDB cannot scan a file in less) to 1024 TiB; "
            f"got {_shown(value)}."
        )
    return text


def check_n_boot(n_boot: object) -> None:
    """Check the deprecated ``n_boot`` (read, never used beyond ``0``: no intervals).

    Raises
    ------
    OptionError
        Unless ``n_boot`` is a non-negative integer.

    Examples
    --------
    >>> check_n_boot(-1)
    Traceback (most recent call last):
    ...
    audit._result.OptionError: AuditOptions.n_boot must be a non-negative integer; got -1.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise OptionError("n_boot", f" must be a non-negative integer; got {_shown(n_boot)}")


@dataclass(frozen=True)
class AuditOptions:
    """The resolved options an audit ran with.

    Like a scikit-learn estimator's ``__init__``, building the options stores them and
    checks nothing (beyond the deprecated ``n_boot``, which is not stored); every entry point
    that runs an audit calls :meth:`check`, the one place where an option's type and range
    are checked. Reading a stored result (:meth:`AuditResult.from_dict`) checks only types:
    a range rule added later must not make old evidence unreadable.
    """

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
    #: ``intervals=False``; any other non-negative integer does nothing. Not stored.
    n_boot: InitVar[int | None] = None

    def __post_init__(self, n_boot: int | None) -> None:
        if n_boot is None:
            return
        check_n_boot(n_boot)
        warnings.warn(
            "AuditOptions(n_boot=...) is deprecated and does nothing: intervals are exact or "
            "analytic, not bootstrapped. Use intervals=False for point estimates only.",
            DeprecationWarning,
            stacklevel=3,
        )
        if n_boot == 0:
            object.__setattr__(self, "intervals", False)

    def check(self, owner: str = "AuditOptions") -> AuditOptions:
        """Check every option's type, then its range; the first problem is raised.

        Parameters
        ----------
        owner : str
            What the error calls the options (``owner.field must be ...``).

        Returns
        -------
        AuditOptions
            ``self``, checked.

        Raises
        ------
        OptionError
            A :class:`SpecError` naming the option, what was expected and what was found.

        Examples
        --------
        >>> AuditOptions(min_group_size=10).check().min_group_size
        10
        >>> AuditOptions(confidence_level=1.5).check()
        Traceback (most recent call last):
        ...
        audit._result.OptionError: AuditOptions.confidence_level must be in (0, 1); got 1.5.
        >>> AuditOptions(disparity_method="to_everything").check("options")
        Traceback (most recent call last):
        ...
        audit._result.OptionError: options.disparity_method must be one of ['between_groups',
        'to_overall', 'reference'], got 'to_everything'.
        """
        hints = _option_types()
        for f in dataclasses.fields(self):
            try:
                _decode(hints[f.name], _encode(getattr(self, f.name)), f.name)
            except (TypeError, ValueError, KeyError) as exc:
                reason = _one_line(str(exc.args[0]) if exc.args else str(exc))
                raise OptionError(f.name, reason.removeprefix(f.name), owner) from None
        problems = _range_problems(self)
        if problems:
            name, problem = problems[0]
            raise OptionError(name, problem, owner)
        return self


#: Options whose values a spec's ``[data]`` table gives as strings (``DataSpec`` declares them
#: ``str``): their values are checked with the ranges, in the words the spec has always used.
_SPELLED_OUT = ("score_type", "task")


@functools.cache
def _option_types() -> dict[str, Any]:
    """The type of each option as :meth:`AuditOptions.check` checks it."""
    hints = typing.get_type_hints(AuditOptions)
    return {**hints, **dict.fromkeys(_SPELLED_OUT, str)}


def _range_problems(o: AuditOptions) -> list[tuple[str, str]]:
    """``(field, what is wrong)`` for each option out of its range (types already checked)."""
    problems = []

    def within(name: str, ok: bool, expected: str) -> None:
        if not ok:
            problems.append((name, f" must be {expected}; got {_shown(getattr(o, name))}"))

    within("confidence_level", 0.0 < o.confidence_level < 1.0, "in (0, 1)")
    within("min_group_size", o.min_group_size >= 1, "at least 1")
    within("score_bins", 10 <= o.score_bins <= 1_000_000, "from 10 to 1000000")
    within("regression_bins", 1 <= o.regression_bins <= 1000, "from 1 to 1000")
    within("max_categories", o.max_categories >= 2, "at least 2")
    within("score_type", o.score_type in ("probability", "score"), "'probability' or 'score'")
    within(
        "task",
        o.task in ("binary_classification", "regression"),
        "'binary_classification' or 'regression'",
    )
    within(
        "engine",
        o.engine in ("memory", "duckdb", "spark", "auto"),
        "'memory', 'duckdb', 'spark' or 'auto'",
    )
    within("four_fifths_threshold", 0.0 < o.four_fifths_threshold <= 1.0, "in (0, 1]")
    within("significance_level", 0.0 < o.significance_level < 1.0, "in (0, 1)")
    within("ll144_min_share", 0.0 <= o.ll144_min_share < 1.0, "in [0, 1)")
    for attribute, shares in o.reference_population.items():
        values = list(shares.values())
        if not values or not all(math.isfinite(v) and v > 0 for v in values):
            problems.append(
                (
                    "reference_population",
                    f" must give positive shares; got {_shown(dict(shares))} for {attribute!r}",
                )
            )
        elif not math.isclose(sum(values), 1.0, abs_tol=1e-6):
            problems.append(
                (
                    "reference_population",
                    f" must give shares summing to 1; those of {attribute!r} sum to "
                    f"{sum(values):.6g}",
                )
            )
    try:
        check_memory_limit(o.memory_limit)
    except SpecError as exc:
        problems.append(("memory_limit", str(exc).removeprefix("memory_limit").removesuffix(".")))
    return problems


@dataclass(frozen=True)
class CellRow:
    """One intersectional cell: its row count and, for classification, confusion counts."""

    categories: tuple[str, ...]
    count: int
    tn: int | None = None
    fp: int | None = None
    fn: int | None = None
    tp: int | None = None


@dataclass(frozen=True, repr=False)
class AuditResult:
    """The result of an audit: per-group metrics, disparities, criteria and verdicts.

    Its ``repr`` is one line (what was audited and the status); in a notebook it shows as
    the table of policy criteria (:meth:`_repr_html_`).
    """

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

    def __repr__(self) -> str:
        """One line: the audit, its rows and source, the status, how many attributes and criteria.

        Examples
        --------
        >>> from audit import Policy, Threshold, audit_predictions
        >>> # both groups select half their 1000 rows: ratio 1, which passes a minimum of 0.8
        >>> r = audit_predictions([0, 1] * 1000, [0, 1, 1, 0] * 500,
        ...                       sensitive_features={"g": ["a"] * 1000 + ["b"] * 1000},
        ...                       policy=Policy((Threshold("demographic_parity_ratio", 0.8),)))
        >>> r
        AuditResult(audit_id='...', rows=2000, source='<arrays>', status='pass', attributes=1,
        criteria=1)
        """
        return (
            f"AuditResult(audit_id={self.audit_id!r}, rows={self.data.n_rows}, "
            f"source={self.data.source!r}, status={self.status!r}, "
            f"attributes={len(self.attributes)}, criteria={len(self.criteria)})"
        )

    def _repr_html_(self) -> str:
        """The criteria table for a notebook (IPython's rich display): every text escaped.

        Each criterion with its attribute, estimate and interval (three decimals, as the
        command line prints them; ``undefined`` when the estimate is), threshold and verdict,
        then what each criterion leaves out (:func:`criterion_notes`).

        Examples
        --------
        >>> from audit import Policy, Threshold, audit_predictions
        >>> r = audit_predictions([0, 1] * 1000, [0, 1, 1, 0] * 500,
        ...                       sensitive_features={"<b>g</b>": ["a"] * 1000 + ["b"] * 1000},
        ...                       policy=Policy((Threshold("demographic_parity_ratio", 0.8),)))
        >>> print(r._repr_html_())
        <div class="fairtrail-audit-result">
        <p><strong>Audit</strong> ... · 2,000 rows from &lt;arrays&gt; · status
        <strong>pass</strong> · policy unnamed policy (version 0)</p>
        <table>
        <thead><tr><th>criterion</th><th>attribute</th><th>estimate [95% interval]</th>...</thead>
        <tbody>
        <tr><td>demographic_parity_ratio</td><td>&lt;b&gt;g&lt;/b&gt;</td><td>1.000 [...</tr>
        </tbody>
        </table>
        </div>
        """
        e = html.escape
        d = self.data
        level = f"{self.options.confidence_level:.0%}" if self.options.intervals else "no"
        head = (
            f"<p><strong>Audit</strong> {e(self.audit_id)} · {d.n_rows:,} rows from "
            f"{e(d.source)} · status <strong>{e(self.status)}</strong>"
        )
        if self.criteria:
            head += f" · policy {e(self.policy_name)} (version {e(self.policy_version)})"
        parts = ['<div class="fairtrail-audit-result">', head + "</p>"]
        if self.criteria:
            bound = {"max": "≤", "min": "≥"}
            header = ["criterion", "attribute", f"estimate [{level} interval]", "threshold"]
            parts += [
                "<table>",
                "<thead><tr>"
                + "".join(f"<th>{e(h)}</th>" for h in [*header, "verdict"])
                + "</tr></thead>",
                "<tbody>",
            ]
            for c in self.criteria:
                cells = [
                    c.criterion,
                    c.attribute,
                    _shown_estimate(c.estimate),
                    f"{bound.get(c.bound, c.bound)} {c.threshold:g}",
                    c.verdict,
                ]
                parts.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in cells) + "</tr>")
            parts += ["</tbody>", "</table>"]
            notes = [
                f"{c.criterion} on {c.attribute}: {line}"
                for c in self.criteria
                for line in criterion_notes(c)
            ]
            if notes:
                parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
        else:
            names = ", ".join(a.name for a in self.attributes)
            parts.append(f"<p>No policy criteria; attributes audited: {e(names)}.</p>")
        parts.append("</div>")
        return "\n".join(parts)

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

        Every field's type is checked; the options' ranges are not (:meth:`AuditOptions.check`
        is for the entry points that run an audit): a result is evidence, and a range rule
        added after it was written must not make it unreadable.

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


def _number(x: float) -> str:
    """A number as the command line prints it: three decimals, ``—`` when NaN."""
    return "—" if math.isnan(x) else f"{x:.3f}"


def _shown_estimate(e: Estimate) -> str:
    """``value [lower, upper]`` as the command line prints it; ``undefined`` when NaN.

    Examples
    --------
    >>> _shown_estimate(Estimate(0.5, 0.25, 0.75)), _shown_estimate(Estimate(0.5))
    ('0.500 [0.250, 0.750]', '0.500')
    >>> _shown_estimate(Estimate(NAN, undefined_reason="no rows"))
    'undefined'
    """
    if not e.defined:
        return "undefined"
    if math.isnan(e.lower):
        return _number(e.value)
    return f"{_number(e.value)} [{_number(e.lower)}, {_number(e.upper)}]"


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
    """``value`` (plain JSON data) as the type ``tp``, or an error naming ``path``.

    A TypeError, ValueError or KeyError when ``value`` is not of the type. Only types are
    checked: dataclasses are built with their constructors, which store their fields and
    check no range (:class:`AuditOptions` is checked by :meth:`AuditOptions.check` where an
    audit starts, never when evidence is read back).
    """
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
