"""Fairness policies: thresholds per criterion, and the verdict rule.

A criterion is ``<name>_<measure>`` where measure is ``difference`` (must stay at or below the
threshold) or ``ratio`` (must stay at or above it). Names are the fairlearn ones —
``demographic_parity``, ``equal_opportunity``, ``equalized_odds`` — plus ``predictive_parity``,
``error_rate_parity`` and any metric name (``false_negative_rate_difference``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from audit._exceptions import SpecError
from audit._metrics import METRIC_INFO, REGRESSION_METRICS
from audit._result import Estimate, Verdict

__all__ = ["NAMED_CRITERIA", "Policy", "Threshold", "judge", "parse_criterion"]

#: Criteria with a name of their own, and the metrics they compare between groups.
NAMED_CRITERIA: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equal_opportunity": ("true_positive_rate",),
    "equalized_odds": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity": ("precision",),
    "error_rate_parity": ("error_rate",),
}


def parse_criterion(name: str) -> tuple[tuple[str, ...], Literal["difference", "ratio"]]:
    """Split a criterion name into the metrics it compares and its measure.

    Examples
    --------
    >>> parse_criterion("equalized_odds_difference")
    (('true_positive_rate', 'false_positive_rate'), 'difference')
    >>> parse_criterion("false_negative_rate_ratio")
    (('false_negative_rate',), 'ratio')
    """
    for measure in ("difference", "ratio"):
        suffix = "_" + measure
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in NAMED_CRITERIA:
                return NAMED_CRITERIA[base], measure
            if base in METRIC_INFO:
                return (base,), measure
    known = sorted(f"{n}_{m}" for n in NAMED_CRITERIA for m in ("difference", "ratio"))
    raise SpecError(
        f"Unknown criterion {name!r}: expected '<criterion>_difference' or '<criterion>_ratio' "
        f"with a criterion in {sorted(NAMED_CRITERIA)} or a metric in {sorted(METRIC_INFO)} "
        f"(for example {known[:3]})."
    )


@dataclass(frozen=True)
class Threshold:
    """One criterion's threshold, applied to some attributes (all when ``attributes`` is None)."""

    criterion: str
    threshold: float
    attributes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        metrics, measure = parse_criterion(self.criterion)
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise SpecError(
                f"The threshold of {self.criterion!r} must be a finite number; got {t!r}."
            )
        if measure == "ratio" and not 0.0 < t <= 1.0:
            raise SpecError(
                f"The threshold of {self.criterion!r} is a minimum ratio and must be in (0, 1]; "
                f"got {t!r}."
            )
        in_y_units = all(m in REGRESSION_METRICS for m in metrics)  # MAE …: not a rate
        if measure == "difference" and not (t >= 0.0 and (in_y_units or t <= 1.0)):
            allowed = "at least 0 (in the units of y)" if in_y_units else "in [0, 1]"
            raise SpecError(
                f"The threshold of {self.criterion!r} is a maximum difference and must be "
                f"{allowed}; got {t!r}."
            )


@dataclass(frozen=True)
class Policy:
    """A fairness policy: thresholds and how verdicts are decided.

    Parameters
    ----------
    thresholds : tuple of Threshold
    decision_rule : {"interval", "point"}
        ``"interval"``: pass only when the whole confidence interval lies within the threshold,
        fail only when it lies wholly beyond it, otherwise inconclusive. ``"point"``: compare
        the point estimate.
    name, version : str
        Recorded in the result and the report.

    Examples
    --------
    >>> p = Policy((Threshold("demographic_parity_ratio", 0.8),))
    >>> p.thresholds[0].criterion
    'demographic_parity_ratio'
    """

    thresholds: tuple[Threshold, ...] = ()
    decision_rule: Literal["interval", "point"] = "interval"
    name: str = "unnamed policy"
    version: str = "0"

    def __post_init__(self) -> None:
        if self.decision_rule not in ("interval", "point"):
            raise SpecError(
                f"decision_rule must be 'interval' or 'point'; got {self.decision_rule!r}."
            )


def judge(
    estimate: Estimate,
    measure: Literal["difference", "ratio"],
    threshold: float,
    decision_rule: Literal["interval", "point"],
    interval: Literal["simultaneous", "percentile"] = "percentile",
) -> Verdict:
    """Verdict of one disparity against its threshold.

    With ``decision_rule="interval"`` the verdict is *pass* when the whole interval lies within
    the threshold, *fail* when it lies wholly beyond, *inconclusive* otherwise (or when the
    disparity is undefined). ``interval`` picks the percentile or the simultaneous bounds.

    Examples
    --------
    >>> judge(Estimate(0.85, 0.82, 0.88), "ratio", 0.8, "interval")
    'pass'
    >>> judge(Estimate(0.85, 0.78, 0.90), "ratio", 0.8, "interval")
    'inconclusive'
    >>> judge(Estimate(0.85, 0.78, 0.90), "ratio", 0.8, "point")
    'pass'
    >>> judge(Estimate(0.15, 0.12, 0.18), "difference", 0.1, "interval")
    'fail'
    >>> judge(Estimate(0.15, 0.12, 0.18, 0.08, 0.25), "difference", 0.1, "interval",
    ...       "simultaneous")
    'inconclusive'
    """
    if not estimate.defined:
        return "inconclusive"
    if decision_rule == "point":
        within = (
            estimate.value <= threshold
            if measure == "difference"
            else (estimate.value >= threshold)
        )
        return "pass" if within else "fail"
    lo, hi = (
        (estimate.lower, estimate.upper)
        if interval == "percentile"
        else (estimate.simultaneous_lower, estimate.simultaneous_upper)
    )
    if math.isnan(lo) or math.isnan(hi):
        return "inconclusive"
    if measure == "difference":
        return "pass" if hi <= threshold else "fail" if lo > threshold else "inconclusive"
    return "pass" if lo >= threshold else "fail" if hi < threshold else "inconclusive"
