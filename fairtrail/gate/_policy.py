"""The gate's policy file: thresholds, severities, waivers and the regression check, as TOML.

::

    name = "credit model fairness policy"
    version = "3"
    decision_rule = "interval"      # interval | point
    interval = "simultaneous"       # simultaneous | percentile (default: the audit's own)
    min_group_size = 30             # groups smaller than this never decide a verdict
    on_inconclusive = "warn"        # fail | warn | pass (default for every criterion)

    [[criterion]]
    name = "demographic_parity_ratio"
    threshold = 0.8                 # every attribute of the audit, unless `attributes` is given

    [[criterion]]
    name = "equalized_odds_difference"
    threshold = 0.1
    attributes = ["sex", "race"]
    severity = "warn"               # error (fails the build, the default) | warn (reports)

    [[waiver]]
    criterion = "equalized_odds_difference"
    attribute = "race"
    owner = "ada@example.org"
    reason = "Too few positives among Amer-Indian-Eskimo applicants; relabelling under way."
    ticket = "FAIR-142"
    expires = 2027-03-31

    [regression]                    # optional: compare with an earlier, approved audit
    baseline = "approved-bundle"    # a bundle folder; or `bundles` + `signoffs` below
    tolerance = 0.02

Paths are relative to the policy file. Every error names the file and line, the key, what
was expected and what was found. The file must be UTF-8 (a byte order mark is accepted).
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from audit import Policy, SpecError, Threshold, decode_text, parse_criterion
from fairtrail.gate._errors import GatePolicyError
from fairtrail.gate._toml import Lines, Reader

__all__ = [
    "GateCriterion",
    "GatePolicy",
    "GatePolicyError",
    "RegressionCheck",
    "Waiver",
    "load_gate_policy",
    "parse_gate_policy",
]

Severity = Literal["error", "warn"]
Action = Literal["fail", "warn", "pass"]
CheckKind = Literal["threshold", "regression"]


@dataclass(frozen=True)
class GateCriterion:
    """One ``[[criterion]]``: a threshold on some attributes (all when ``attributes`` is None)."""

    criterion: str
    threshold: float
    attributes: tuple[str, ...] | None
    severity: Severity
    on_inconclusive: Action
    line: int


@dataclass(frozen=True)
class Waiver:
    """An approved, time-limited exception for one criterion on one attribute."""

    criterion: str
    attribute: str
    owner: str
    reason: str
    ticket: str
    expires: date
    check: CheckKind
    line: int

    def expired(self, today: date) -> bool:
        """Whether the waiver has run out (it holds through its expiry date)."""
        return today > self.expires

    def describe(self) -> str:
        """``ticket (owner, until date)``."""
        return f"{self.ticket} ({self.owner}, until {self.expires.isoformat()})"


@dataclass(frozen=True)
class RegressionCheck:
    """``[regression]``: no disparity may get worse than the baseline's by more than ``tolerance``.

    The baseline is ``baseline`` (a bundle folder), or the newest bundle in ``bundles`` with a
    standing approval in the sign-off store ``signoffs`` (a SQLite file or a PostgreSQL URL).
    """

    tolerance: float
    baseline: Path | None
    bundles: Path | None
    signoffs: str | None
    severity: Severity
    on_inconclusive: Action
    if_no_baseline: Literal["fail", "skip"]
    line: int


@dataclass(frozen=True)
class GatePolicy:
    """A parsed, validated gate policy file."""

    name: str
    version: str
    decision_rule: Literal["interval", "point"]
    interval: Literal["simultaneous", "percentile"] | None
    min_group_size: int | None
    criteria: tuple[GateCriterion, ...]
    waivers: tuple[Waiver, ...]
    regression: RegressionCheck | None
    path: Path
    sha256: str

    def audit_policy(self) -> Policy:
        """The thresholds as an audit-core :class:`audit.Policy` (to run an audit with)."""
        return Policy(
            tuple(Threshold(c.criterion, c.threshold, c.attributes) for c in self.criteria),
            self.decision_rule,
            self.name,
            self.version,
        )

    def waiver_for(self, check: CheckKind, criterion: str, attribute: str) -> Waiver | None:
        """The waiver covering one check, if any."""
        for w in self.waivers:
            if (w.check, w.criterion, w.attribute) == (check, criterion, attribute):
                return w
        return None


_TOP = {
    "name",
    "version",
    "decision_rule",
    "interval",
    "min_group_size",
    "on_inconclusive",
    "severity",
    "criterion",
    "waiver",
    "regression",
}
_CRITERION = {"name", "threshold", "attributes", "severity", "on_inconclusive"}
_WAIVER = {"criterion", "attribute", "owner", "reason", "ticket", "expires", "check"}
_REGRESSION = {
    "baseline",
    "bundles",
    "signoffs",
    "tolerance",
    "severity",
    "on_inconclusive",
    "if_no_baseline",
}


def parse_gate_policy(text: str, path: str | Path = "<policy>") -> GatePolicy:
    """Validate a gate policy given as TOML text.

    Parameters
    ----------
    text : str
        The policy file's content.
    path : str or Path
        Where it came from: named in errors; relative paths in it are resolved against its
        folder.

    Returns
    -------
    GatePolicy

    Raises
    ------
    GatePolicyError
        ``file:line: what is wrong``: bad TOML, an unknown key, a value of the wrong type or
        range, an attribute given two thresholds for one criterion, a waiver of nothing.

    Examples
    --------
    >>> p = parse_gate_policy('''
    ... [[criterion]]
    ... name = "demographic_parity_ratio"
    ... threshold = 0.8
    ... ''', "policy.toml")
    >>> p.criteria[0].threshold, p.criteria[0].severity, p.criteria[0].line
    (0.8, 'error', 2)
    >>> parse_gate_policy('''
    ... [[criterion]]
    ... name = "demographic_parity_ratio"
    ... threshold = 1.5
    ... ''', "policy.toml")
    Traceback (most recent call last):
    ...
    fairtrail.gate._errors.GatePolicyError: policy.toml:4: criterion[1].threshold: ...
    """
    path = Path(path)
    name = path.name
    text = text.removeprefix("\ufeff")  # a byte order mark, as some editors write
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        where = f"{name}:{found.group(1)}" if found else name
        raise GatePolicyError(f"{where}: not valid TOML: {exc}.") from None
    lines = Lines(text)
    r = Reader(name, lines)
    r.keys(raw, _TOP, ())
    meta = {}
    for key in ("name", "version"):
        meta[key] = (
            r.string(raw, key, ()) if key in raw else ("unnamed policy", "0")[key == "version"]
        )
    decision_rule = r.choice(raw, "decision_rule", (), ("interval", "point"), "interval")
    interval = r.choice(raw, "interval", (), ("simultaneous", "percentile"), None)
    severity = r.choice(raw, "severity", (), ("error", "warn"), "error")
    on_inconclusive = r.choice(raw, "on_inconclusive", (), ("fail", "warn", "pass"), "fail")
    min_group_size = None
    if "min_group_size" in raw:
        value = raw["min_group_size"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise r.fail(
                ("min_group_size",), f"min_group_size must be an integer ≥ 1; got {value!r}."
            )
        min_group_size = value

    criteria = []
    for i, table in enumerate(r.array(raw, "criterion")):
        here: tuple[str | int, ...] = ("criterion", i)
        r.keys(table, _CRITERION, here)
        r.required(table, ("name", "threshold"), here)
        criterion = r.string(table, "name", here)
        attributes = table.get("attributes")
        if attributes is not None and not (
            isinstance(attributes, list)
            and attributes
            and all(isinstance(a, str) and a for a in attributes)
        ):
            raise r.fail(
                (*here, "attributes"),
                f"{r.label((*here, 'attributes'))} must be a non-empty list of attribute "
                f"names; got {attributes!r}.",
            )
        try:
            parse_criterion(criterion)
        except SpecError as exc:
            raise r.fail((*here, "name"), f"{r.label((*here, 'name'))}: {exc}") from None
        try:
            threshold = Threshold(criterion, table["threshold"], None)
        except SpecError as exc:
            raise r.fail((*here, "threshold"), f"{r.label((*here, 'threshold'))}: {exc}") from None
        criteria.append(
            GateCriterion(
                criterion=criterion,
                threshold=float(threshold.threshold),
                attributes=tuple(attributes) if attributes is not None else None,
                severity=r.choice(table, "severity", here, ("error", "warn"), severity),
                on_inconclusive=r.choice(
                    table, "on_inconclusive", here, ("fail", "warn", "pass"), on_inconclusive
                ),
                line=lines.line(*here),
            )
        )
    _no_overlap(criteria, r)

    waivers: list[Waiver] = []
    for i, table in enumerate(r.array(raw, "waiver")):
        here = ("waiver", i)
        r.keys(table, _WAIVER, here)
        r.required(table, ("criterion", "attribute", "owner", "reason", "ticket", "expires"), here)
        texts = {
            k: r.string(table, k, here)
            for k in ("criterion", "attribute", "owner", "reason", "ticket")
        }
        expires = table["expires"]
        if not isinstance(expires, date) or hasattr(expires, "hour"):
            raise r.fail(
                (*here, "expires"),
                f"{r.label((*here, 'expires'))} must be a TOML date such as 2027-03-31 (no "
                f"quotes); got {expires!r}.",
            )
        check = r.choice(table, "check", here, ("threshold", "regression"), "threshold")
        if check == "threshold" and not any(
            c.criterion == texts["criterion"]
            and (c.attributes is None or texts["attribute"] in c.attributes)
            for c in criteria
        ):
            raise r.fail(
                here,
                f"{r.label(here)} waives {texts['criterion']} on {texts['attribute']!r}, which "
                "no [[criterion]] of this policy checks.",
            )
        waiver = Waiver(**texts, expires=expires, check=check, line=lines.line(*here))
        if any(
            (w.check, w.criterion, w.attribute) == (check, waiver.criterion, waiver.attribute)
            for w in waivers
        ):
            raise r.fail(
                here,
                f"{r.label(here)}: {waiver.criterion} on {waiver.attribute!r} is already waived "
                "by an earlier [[waiver]]; keep one.",
            )
        waivers.append(waiver)

    regression = None
    if "regression" in raw:
        regression = _regression(raw["regression"], r, path.parent, lines)
    if not criteria:
        raise GatePolicyError(
            f"{name}:1: the policy checks nothing: add a [[criterion]] with a name and a "
            "threshold (the [regression] check compares the criteria too)."
        )
    return GatePolicy(
        name=meta["name"],
        version=meta["version"],
        decision_rule=decision_rule,
        interval=interval,
        min_group_size=min_group_size,
        criteria=tuple(criteria),
        waivers=tuple(waivers),
        regression=regression,
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _no_overlap(criteria: list[GateCriterion], r: Reader) -> None:
    """Refuse two thresholds for the same criterion on the same attribute."""
    for i, c in enumerate(criteria):
        for j in range(i):
            d = criteria[j]
            if d.criterion != c.criterion:
                continue
            if c.attributes is None or d.attributes is None:
                shared = "every attribute"
            else:
                common = sorted(set(c.attributes) & set(d.attributes))
                if not common:
                    continue
                shared = ", ".join(repr(a) for a in common)
            raise r.fail(
                ("criterion", i),
                f"criterion[{i + 1}] gives {c.criterion} a second threshold on {shared} "
                f"(criterion[{j + 1}], line {d.line}); give each attribute one threshold.",
            )


def _regression(table: Any, r: Reader, base: Path, lines: Lines) -> RegressionCheck:
    here: tuple[str | int, ...] = ("regression",)
    r.keys(table, _REGRESSION, here)
    r.required(table, ("tolerance",), here)
    tolerance = table["tolerance"]
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise r.fail(
            (*here, "tolerance"),
            f"regression.tolerance must be a number ≥ 0 (in the disparity's units); "
            f"got {tolerance!r}.",
        )
    has_baseline = "baseline" in table
    has_store = "bundles" in table or "signoffs" in table
    if has_baseline == has_store or (has_store and not {"bundles", "signoffs"} <= set(table)):
        raise r.fail(
            here,
            "[regression] needs either 'baseline' (a bundle folder) or both 'bundles' (a folder "
            "of bundles) and 'signoffs' (the sign-off store that approved one of them).",
        )

    def resolve(key: str) -> Path | None:
        if key not in table:
            return None
        p = Path(r.string(table, key, here))
        return p if p.is_absolute() else base / p

    signoffs = None
    if "signoffs" in table:
        signoffs = r.string(table, "signoffs", here)
        scheme = signoffs.partition("://")[0].lower() if "://" in signoffs else None
        if scheme is not None and scheme not in ("postgresql", "postgres"):
            raise r.fail(
                (*here, "signoffs"),
                "regression.signoffs must be a SQLite file (a path) or a postgresql:// URL; "
                f"got a {scheme}:// URL.",
            )
        if "://" not in signoffs and not Path(signoffs).is_absolute():
            signoffs = str(base / signoffs)
    return RegressionCheck(
        tolerance=float(tolerance),
        baseline=resolve("baseline"),
        bundles=resolve("bundles"),
        signoffs=signoffs,
        severity=r.choice(table, "severity", here, ("error", "warn"), "error"),
        on_inconclusive=r.choice(table, "on_inconclusive", here, ("fail", "warn", "pass"), "warn"),
        if_no_baseline=r.choice(table, "if_no_baseline", here, ("fail", "skip"), "fail"),
        line=lines.line(*here),
    )


def load_gate_policy(path: str | Path) -> GatePolicy:
    r"""Read and validate a gate policy file.

    Parameters
    ----------
    path : str or Path
        The policy file: UTF-8 text (a byte order mark is accepted).

    Returns
    -------
    GatePolicy

    Raises
    ------
    GatePolicyError
        The file cannot be read, is not UTF-8 (naming the line and byte), or see
        :func:`parse_gate_policy`.

    Examples
    --------
    >>> import tempfile
    >>> policy = Path(tempfile.mkdtemp()) / "policy.toml"
    >>> _ = policy.write_bytes(b'name = "politique \xe9quit\xe9"\n')  # Latin-1, not UTF-8
    >>> load_gate_policy(policy)
    Traceback (most recent call last):
    ...
    fairtrail.gate._errors.GatePolicyError: policy.toml:1: the file must be UTF-8 text, but byte
    19 of line 1 (0xE9) is not valid UTF-8 (invalid continuation byte); save it as UTF-8.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GatePolicyError(
            f"Cannot read the policy file '{path}': {exc.strerror or exc}."
        ) from None
    try:
        text = decode_text(data, path.name)
    except SpecError as exc:
        raise GatePolicyError(str(exc)) from None
    return parse_gate_policy(text, path)
