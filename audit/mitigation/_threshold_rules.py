"""What group thresholds are: their errors, parameter values and frozen results.

The results of :func:`~audit.mitigation._thresholds.fit_thresholds` (:class:`GroupThresholds`,
one :class:`GroupRule` per group, with the :class:`Rates` each rule achieves) hold plain
numbers and compute nothing; fitting is in :mod:`audit.mitigation._threshold_fit`, applying
the rules in :mod:`audit.mitigation._thresholds`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from audit.mitigation._common import MitigationError

__all__ = [
    "EQUALIZED_ODDS_OBJECTIVES",
    "GROUP_THRESHOLD_CONSTRAINTS",
    "OBJECTIVES",
    "GroupRule",
    "GroupThresholds",
    "InfeasibleConstraintError",
    "Rates",
    "ThresholdError",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The constraints, each with the metric it equalises across groups (fairlearn's names;
#: ``selection_rate_parity`` is a synonym of ``demographic_parity``). Equalized odds
#: equalises the false and the true positive rate.
GROUP_THRESHOLD_CONSTRAINTS: Mapping[str, str] = {
    "demographic_parity": "selection_rate",
    "selection_rate_parity": "selection_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "equalized_odds": "false_positive_rate",
}
#: Objectives for the single-metric constraints.
OBJECTIVES = (
    "accuracy_score",
    "balanced_accuracy_score",
    "selection_rate",
    "true_positive_rate",
    "true_negative_rate",
)
#: Objectives for equalized odds (non-decreasing in true positives, as fairlearn requires).
EQUALIZED_ODDS_OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")

#: Joins a group's categories into its label (``"Female × Black"``).
JOIN = " × "


class ThresholdError(MitigationError):
    """Group thresholds cannot be fitted or applied to this data with these parameters."""


class InfeasibleConstraintError(ThresholdError):
    """The constraint cannot be met within the requested tolerance by the requested rule."""


@dataclass(frozen=True)
class Rates:
    """Rates of a decision rule in one group, on the data the rule was fitted on.

    For a randomized rule they are expected values over its random draws. A rate whose
    denominator is zero in the group (no positives, no negatives) is NaN.

    Attributes
    ----------
    selection_rate : float
        ``P(Ŷ = 1)``.
    true_positive_rate : float
        ``P(Ŷ = 1 | Y = 1)``.
    false_positive_rate : float
        ``P(Ŷ = 1 | Y = 0)``.
    accuracy_score : float
        ``P(Ŷ = Y)``.

    Examples
    --------
    >>> Rates(0.5, 1.0, 0.0, 1.0).selection_rate
    0.5
    """

    selection_rate: float
    true_positive_rate: float
    false_positive_rate: float
    accuracy_score: float


@dataclass(frozen=True)
class GroupRule:
    """The decision rule of one group: two thresholds mixed at random, or one threshold.

    **Randomized rule** (fairlearn's, the one the optimisation chooses). For a row of this
    group with score ``s``::

        P(Ŷ = 1 | s) = (1 − p_ignore) · (p0 · [s > threshold0] + (1 − p0) · [s > threshold1])
                       + p_ignore · prediction_constant

    ``threshold0`` and ``threshold1`` are the neighbouring vertices of the group's convex hull
    (fairlearn's ``operation0``/``operation1``, both ``">"``; ``inf`` predicts no one,
    ``-inf`` everyone) and ``p0`` is fairlearn's ``p0``. ``p_ignore`` and
    ``prediction_constant`` are used by equalized odds only (0 otherwise): with probability
    ``p_ignore`` the outcome is replaced by a coin that shows 1 with probability
    ``prediction_constant``.

    **Deterministic rule**: ``Ŷ = [s > threshold]``, the single cut of this group (any cut
    between two score bins, not only hull vertices) whose constraint metric is closest to the
    value the randomized rule reaches (``constraint_value``; for equalized odds the cut
    closest to the common (false positive rate, true positive rate) in the larger of the two
    differences); ties go to the better objective (for equalized odds, the higher true
    positive rate), then to the higher threshold. For a single-metric constraint its metric
    is within half a step of the target, a step being what one score bin adds to the metric
    (the bin's rows over the metric's denominator in the group); so groups are only
    approximately equal under it: :attr:`GroupThresholds.deterministic_spread` says how far.
    With ``tolerance``, ``deterministic=True`` makes fitting fail when that spread exceeds it.

    Attributes
    ----------
    group : str
        The group's label: its category of each sensitive feature, joined by ``" × "``.
    categories : tuple of str
        The group's category of each sensitive feature.
    n_rows, n_positives : int
        Rows of the group in the fitted data, and those with ``y_true = 1``.
    threshold0, threshold1, p0, p_ignore, prediction_constant : float
        The randomized rule.
    constraint_value : float
        The constraint metric the randomized rule reaches in this group (a grid point; for
        equalized odds the false positive rate).
    objective_value : float
        The group's objective under the randomized rule (for a single-metric constraint, its
        convex hull at ``constraint_value``; for equalized odds, after the coin).
    rates : Rates
        Expected rates of the randomized rule on the fitted data.
    threshold : float
        The deterministic rule's threshold.
    deterministic_rates : Rates
        Rates of the deterministic rule on the fitted data.

    Examples
    --------
    >>> from audit.mitigation._thresholds import fit_thresholds
    >>> rule = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], ["a", "a", "b", "b"],
    ...                       grid_size=4).groups[0]
    >>> rule.group, rule.threshold, rule.rates.selection_rate
    ('a', 0.5, 0.5)
    """

    group: str
    categories: tuple[str, ...]
    n_rows: int
    n_positives: int
    threshold0: float
    threshold1: float
    p0: float
    p_ignore: float
    prediction_constant: float
    constraint_value: float
    objective_value: float
    rates: Rates
    threshold: float
    deterministic_rates: Rates


@dataclass(frozen=True)
class GroupThresholds:
    """Group-specific thresholds chosen under a fairness constraint, with what they achieve.

    Built by :func:`~audit.mitigation._thresholds.optimize_thresholds`; applied by
    :func:`~audit.mitigation._thresholds.predict_thresholds`.

    Attributes
    ----------
    constraints, objective : str
        As given (``selection_rate_parity`` is kept as given; it means demographic parity).
    tolerance : float or None
        The largest allowed difference of the constraint metric between groups (None: equal).
    grid_size : int
        Number of steps of the grid of constraint values over [0, 1].
    features : tuple of str
        Sensitive feature names; the groups are their combinations.
    categories : tuple of tuple of str
        The categories of each feature seen in the fitted data.
    groups : tuple of GroupRule
        One rule per group (observed combination), in the order of the categories.
    constraint_metric : str
        The metric made equal (``"false_positive_rate"`` and the true positive rate for
        equalized odds).
    constraint_value : float
        The common value the randomized rules reach (for equalized odds the false positive
        rate; ``common_true_positive_rate`` is the true positive rate). With a tolerance the
        groups' values differ: this is their mean weighted by group size.
    common_true_positive_rate : float
        Equalized odds only (NaN otherwise).
    constraint_spread : float
        Largest minus smallest constraint value across groups under the randomized rules
        (0 without tolerance).
    objective_value : float
        The objective of the randomized rules: the group-size-weighted mean of the groups'
        objectives for simple constraints, the objective of the pooled counts for equalized
        odds (as fairlearn).
    deterministic_spread : float
        The constraint spread under the deterministic rules (for equalized odds the larger of
        the false and the true positive rate spreads).
    deterministic_objective_value : float
        The objective under the deterministic rules (computed as ``objective_value``).
    n_rows : int
        Rows fitted on.
    exact_histogram : bool
        Whether the score histogram had one bin per distinct score (thresholds then are
        fairlearn's midpoints between neighbouring scores).

    Notes
    -----
    With equal-width bins (``exact_histogram`` False) a cut sits at a bin edge ``e`` and the
    rule is ``score > e``; a row whose score equals an edge exactly is counted in the bin above
    but predicted below it, so the rates reported here can differ from those of the rule on
    the fitted rows by the share of such rows (none for continuous scores).

    Examples
    --------
    >>> from audit.mitigation._thresholds import fit_thresholds
    >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], ["a", "a", "b", "b"],
    ...                         grid_size=4)
    >>> [g.group for g in result.groups], result.constraint_value, result.objective_value
    (['a', 'b'], 0.5, 1.0)
    """

    constraints: str
    objective: str
    tolerance: float | None
    grid_size: int
    features: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    groups: tuple[GroupRule, ...]
    constraint_metric: str
    constraint_value: float
    common_true_positive_rate: float
    constraint_spread: float
    objective_value: float
    deterministic_spread: float
    deterministic_objective_value: float
    n_rows: int
    exact_histogram: bool

    def group(self, label: str) -> GroupRule:
        """The rule of one group by its label (``"Female × Black"``).

        Raises
        ------
        KeyError
            Naming the groups present.

        Examples
        --------
        >>> from audit.mitigation._thresholds import fit_thresholds
        >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
        >>> result.group("b").threshold
        0.6
        """
        for rule in self.groups:
            if rule.group == label:
                return rule
        raise KeyError(f"No group {label!r}. Groups present: {[g.group for g in self.groups]}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: infinite thresholds as ``"inf"``/``"-inf"``, NaN as None.

        Examples
        --------
        >>> from audit.mitigation._thresholds import fit_thresholds
        >>> result = fit_thresholds([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.9], list("aabb"))
        >>> result.to_dict()["groups"][0]["threshold"]
        0.5
        """

        def plain(value: Any) -> Any:
            if isinstance(value, float) and math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        out: dict[str, Any] = plain(asdict(self))
        return out
