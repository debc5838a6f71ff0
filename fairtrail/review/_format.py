"""What the review pages share: colours, numbers for charts, labels and intervals."""

from __future__ import annotations

import math

#: Colours shared with the report (verdicts, small groups, the chosen point).
COLOURS = {"pass": "#1a7f37", "fail": "#c62828", "inconclusive": "#b26a00", "small": "#b26a00"}


def chart_value(x: float) -> float | None:
    """A number for a chart's data (JSON has no NaN)."""
    return None if x is None or math.isnan(x) else float(x)


def words(metric: str) -> str:
    """A metric's name as words (``true_positive_rate`` → ``true positive rate``)."""
    return metric.replace("_", " ")


def interval_text(lower: float, upper: float) -> str:
    """``[lower, upper]`` with three decimals, or empty without an interval.

    Examples
    --------
    >>> interval_text(0.5, 0.625), interval_text(float("nan"), 1.0)
    ('[0.500, 0.625]', '')
    """
    if math.isnan(lower) or math.isnan(upper):
        return ""
    return f"[{lower:.3f}, {upper:.3f}]"
