"""Confidence intervals from sufficient statistics: exact where possible, always in range.

Every group value of every metric gets its interval from the per-group sums alone, without
resampling. Each method is a function of the level, so that one family of groups can be
given a shared (Bonferroni) level, and of a *scale*: the interval the same estimates would
have with ``scale`` times the data (the sample size an inconclusive verdict needs).

This module holds :class:`GroupIntervals`, the proportion methods and the pieces the others
share; :mod:`audit._score_intervals` has ROC AUC, Brier score and calibration error,
:mod:`audit._regression_intervals` the regression metrics. Methods, by metric (the metrics
documentation states them too):

* **Rates** (selection rate, TPR, FPR, precision, accuracy, …): the Clopper–Pearson exact
  binomial interval of successes over trials. It holds its level at every n and every rate,
  0 and 1 included, and stays in [0, 1]. With sample weights, the Korn–Graubard version:
  the same interval at the effective number of trials ``p(1 − p) / var(p)`` (Kish's
  ``(Σw)² / Σw²`` at a rate of 0 or 1), never more than the rows.
* **F1**: ``F1 = 2J / (1 + J)``, where ``J = TP / (TP + FP + FN)`` is a binomial proportion
  of the rows that are not true negatives: the Clopper–Pearson bounds of ``J``, mapped.
* **Balanced accuracy**: ``(TPR + TNR) / 2`` by MOVER (Zou & Donner 2008): the two rates'
  exact bounds combined in quadrature (they rest on disjoint rows, so are independent).

References
----------
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated
in the case of the binomial. Biometrika 26, 404–413.
Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193–201.
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
Biometrics Bulletin 2, 110–114.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import numpy.typing as npt

from audit._metrics import divide

__all__ = [
    "Bounds",
    "BoundsFn",
    "FloatArray",
    "GroupIntervals",
    "balanced_accuracy_intervals",
    "clopper_pearson",
    "complement_intervals",
    "ddof",
    "jaccard_f1_intervals",
    "kish",
    "proportion_intervals",
    "satterthwaite",
    "special",
    "t_quantile",
]

FloatArray = npt.NDArray[np.float64]
Bounds = tuple[FloatArray, FloatArray]
BoundsFn = Callable[[FloatArray, float], Bounds]


def special() -> ModuleType:
    """``scipy.special``, imported on first use (its import costs about 0.3 s)."""
    import scipy.special as sc

    module: ModuleType = sc
    return module


@dataclass(frozen=True)
class GroupIntervals:
    """One metric's values for some groups, with their confidence bounds at any level.

    Attributes
    ----------
    values : ndarray of shape (n_groups,)
        The point estimates (NaN where undefined).
    method : str
        The interval's method, in words (shown beside every interval).
    bounds_fn : callable
        ``bounds_fn(level, scale)`` with ``level`` an array of shape (n_groups,): the lower and
        upper bounds, at ``scale`` times the data.
    """

    values: FloatArray
    method: str
    bounds_fn: BoundsFn
    #: Bounds already computed at one level for every group, by (level, scale): a group's
    #: simultaneous bounds, its disparities and its criteria often ask for the same ones.
    _cache: dict[tuple[float, float], Bounds] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def bounds(self, level: float | FloatArray, scale: float = 1.0) -> Bounds:
        """Lower and upper bounds of every group at ``level`` (one level, or one per group).

        NaN where the value is undefined; otherwise the bounds contain the estimate.

        Examples
        --------
        >>> import numpy as np
        >>> iv = proportion_intervals(np.array([3.0]), np.array([10.0]))
        >>> [round(float(b[0]), 4) for b in iv.bounds(0.95)]  # scipy: beta.ppf(.025, 3, 8)
        [0.0667, 0.6525]
        """
        levels = np.asarray(level, dtype=np.float64)
        uniform = levels.size > 0 and bool((levels == levels.flat[0]).all())
        key = (float(levels.flat[0]), float(scale)) if uniform else None
        if key is not None and key in self._cache:
            lo, hi = self._cache[key]
            return lo.copy(), hi.copy()
        lv = np.broadcast_to(np.asarray(level, dtype=np.float64), self.values.shape)
        lo, hi = self.bounds_fn(np.array(lv), scale)
        defined = np.isfinite(self.values)
        with np.errstate(invalid="ignore"):
            lo = np.where(defined, np.fmin(lo, self.values), np.nan)
            hi = np.where(defined, np.fmax(hi, self.values), np.nan)
        if key is not None:
            self._cache[key] = (lo.copy(), hi.copy())
        return lo, hi


def clopper_pearson(successes: FloatArray, trials: FloatArray, level: FloatArray) -> Bounds:
    """Clopper–Pearson exact bounds of a binomial proportion (non-integer counts allowed).

    ``lower = B⁻¹(α/2; x, n − x + 1)`` (0 when ``x = 0``) and ``upper = B⁻¹(1 − α/2; x + 1,
    n − x)`` (1 when ``x = n``), with ``B⁻¹`` the beta quantile and ``α = 1 − level``. Its
    coverage is at least ``level`` for every n and every true proportion. NaN where ``n = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = clopper_pearson(np.array([0.0, 30.0]), np.array([10.0, 30.0]), np.array(0.95))
    >>> [round(float(x), 4) for x in (lo[0], hi[0], lo[1], hi[1])]
    [0.0, 0.3085, 0.8843, 1.0]
    """
    x, n, lv = np.broadcast_arrays(
        np.asarray(successes, np.float64), np.asarray(trials, np.float64), np.asarray(level)
    )
    alpha = 1.0 - lv
    lower = np.full(x.shape, np.nan)
    upper = np.full(x.shape, np.nan)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0)
    if not ok.any():
        return lower, upper
    sc = special()
    n = np.where(ok, n, 1.0)
    x = np.where(ok, np.clip(x, 0.0, n), 0.5)
    some, short = x > 0, x < n
    with np.errstate(invalid="ignore"):
        lo = sc.betaincinv(np.where(some, x, 1.0), n - x + 1.0, alpha / 2.0)
        hi = sc.betaincinv(x + 1.0, np.where(short, n - x, 1.0), 1.0 - alpha / 2.0)
    lower = np.where(ok, np.where(some, lo, 0.0), np.nan)
    upper = np.where(ok, np.where(short, hi, 1.0), np.nan)
    return lower, upper


def t_quantile(df: FloatArray, level: FloatArray) -> FloatArray:
    """Two-sided Student t critical value ``t_{df}(1 − (1 − level)/2)``; df at least 1."""
    sc = special()
    out: FloatArray = sc.stdtrit(np.maximum(df, 1.0), 1.0 - (1.0 - level) / 2.0)
    return out


def ddof(rows: FloatArray) -> FloatArray:
    """``n / (n − 1)``: the sample variance's correction (1 where ``n ≤ 1``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(rows > 1, rows / (rows - 1.0), 1.0)
    return out


def kish(weight: FloatArray, weight_sq: FloatArray) -> FloatArray:
    """Kish's effective size ``(Σw)² / Σw²`` (NaN where ``Σw² = 0``)."""
    return divide(weight**2, weight_sq)


def satterthwaite(
    estimate: FloatArray, nu: FloatArray, df: FloatArray, level: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Bounds of a positive mean estimate taken as ``θ·χ²_ν/ν`` (Satterthwaite).

    The level is first raised so that, as ``ν`` grows, the bounds tend to Student's t on
    ``df`` degrees of freedom rather than the normal: the mean's own variance is estimated.
    """
    sc = special()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = t_quantile(df, level)
        alpha = 2.0 * sc.ndtr(-t)  # the normal tail that t's quantile leaves
        ok = np.isfinite(nu) & (nu > 0)
        nu_ok = np.where(ok, nu, 1.0)
        upper_q = sc.chdtri(nu_ok, alpha / 2.0)  # χ²_ν quantile at 1 − α/2
        lower_q = sc.chdtri(nu_ok, 1.0 - alpha / 2.0)
        lo = np.where(ok, nu * estimate / upper_q, estimate)
        hi = np.where(ok, nu * estimate / lower_q, estimate)
    return lo, hi


def _effective_trials(
    successes_w: FloatArray,
    trials_w: FloatArray,
    successes_sq: FloatArray,
    trials_sq: FloatArray,
    trials: FloatArray,
) -> FloatArray:
    """Korn–Graubard effective trials of a weighted proportion: ``p(1 − p) / var(p)``.

    ``var(p) = Σw²(y − p)² / (Σw)²`` (the ratio estimator's linearised variance); at a
    proportion of 0 or 1 Kish's ``(Σw)² / Σw²``. Never more than the rows themselves.
    """
    p = divide(successes_w, trials_w)
    failures_sq = trials_sq - successes_sq
    with np.errstate(invalid="ignore", divide="ignore"):
        var = ((1.0 - p) ** 2 * successes_sq + p**2 * failures_sq) / trials_w**2
        by_var = p * (1.0 - p) / var
        kish = trials_w**2 / trials_sq
    n_eff = np.where((p > 0) & (p < 1) & (var > 0), by_var, kish)
    n_eff = np.where(np.isfinite(n_eff), n_eff, 0.0)
    out: FloatArray = np.minimum(n_eff, trials)
    return out


def proportion_intervals(
    successes: FloatArray,
    trials: FloatArray,
    successes_sq: FloatArray | None = None,
    trials_sq: FloatArray | None = None,
    trials_rows: FloatArray | None = None,
) -> GroupIntervals:
    """Exact (Clopper–Pearson) intervals of ``successes / trials`` per group.

    Parameters
    ----------
    successes, trials : ndarray of shape (n_groups,)
        Weighted (or plain) counts.
    successes_sq, trials_sq : ndarray, optional
        Σw² of the successes' and the trials' rows: the proportion is weighted, and its
        interval is Korn & Graubard's (effective trials). Omit both when unweighted.
    trials_rows : ndarray, optional
        The rows behind ``trials`` (caps the effective trials). Default: ``trials``.

    Examples
    --------
    >>> import numpy as np
    >>> iv = proportion_intervals(np.array([1.0, 39.0]), np.array([40.0, 40.0]))
    >>> lo, hi = iv.bounds(0.95)
    >>> [round(float(v), 4) for v in (lo[0], hi[0], lo[1], hi[1])]  # inside [0, 1]
    [0.0006, 0.1316, 0.8684, 0.9994]
    """
    successes = np.asarray(successes, np.float64)
    trials = np.asarray(trials, np.float64)
    values = divide(successes, trials)
    if successes_sq is None or trials_sq is None:
        x_eff, n_eff = successes, trials
        method = "Clopper–Pearson exact"
    else:
        rows = trials if trials_rows is None else np.asarray(trials_rows, np.float64)
        n_eff = _effective_trials(successes, trials, successes_sq, trials_sq, rows)
        x_eff = np.where(np.isfinite(values), values, 0.0) * n_eff
        method = "Clopper–Pearson exact at Korn–Graubard effective sizes (weighted)"

    def bounds(level: FloatArray, scale: float) -> Bounds:
        return clopper_pearson(x_eff * scale, n_eff * scale, level)

    return GroupIntervals(values, method, bounds)


def complement_intervals(rate: GroupIntervals, values: FloatArray) -> GroupIntervals:
    """Intervals of ``1 − rate`` (FNR from TPR, error rate from accuracy): ``[1 − U, 1 − L]``.

    Clopper–Pearson bounds are symmetric: those of ``n − x`` of ``n`` are one minus those of
    ``x`` of ``n``, so the complement costs no second computation.

    Examples
    --------
    >>> import numpy as np
    >>> tpr = proportion_intervals(np.array([8.0]), np.array([10.0]))
    >>> fnr = complement_intervals(tpr, np.array([0.2]))
    >>> direct = proportion_intervals(np.array([2.0]), np.array([10.0]))
    >>> bool(np.allclose(fnr.bounds(0.9), direct.bounds(0.9)))
    True
    """

    def bounds(level: FloatArray, scale: float) -> Bounds:
        lo, hi = rate.bounds(level, scale)
        return 1.0 - hi, 1.0 - lo

    return GroupIntervals(values, rate.method, bounds)


def jaccard_f1_intervals(jaccard: GroupIntervals) -> GroupIntervals:
    """F1 intervals from the exact intervals of ``J = TP / (TP + FP + FN)``.

    ``F1 = 2J / (1 + J)`` increases with ``J``, so ``J``'s bounds map to F1's.

    Examples
    --------
    >>> import numpy as np
    >>> j = proportion_intervals(np.array([8.0]), np.array([10.0]))  # TP 8, FP + FN 2
    >>> f1 = jaccard_f1_intervals(j)
    >>> round(float(f1.values[0]), 4), [round(float(b[0]), 4) for b in f1.bounds(0.95)]
    (0.8889, [0.6149, 0.9872])
    """

    def f1(j: FloatArray) -> FloatArray:
        out: FloatArray = 2.0 * j / (1.0 + j)
        return out

    def bounds(level: FloatArray, scale: float) -> Bounds:
        lo, hi = jaccard.bounds_fn(level, scale)
        return f1(lo), f1(hi)

    return GroupIntervals(
        f1(jaccard.values), "exact, from the Jaccard index J = F1/(2 − F1)", bounds
    )


def balanced_accuracy_intervals(tpr: GroupIntervals, tnr: GroupIntervals) -> GroupIntervals:
    """``(TPR + TNR) / 2`` by MOVER: the two rates' exact bounds combined in quadrature.

    The rates rest on disjoint rows (actual positives, actual negatives), so they are
    independent; the method of variance estimates recovery (Zou & Donner 2008; Newcombe
    1998's method 10 for a difference) takes each rate's distance to its own bound as its
    standard error at that side: ``L = B − ½√((t − l_t)² + (n − l_n)²)``, likewise ``U``,
    kept inside [0, 1].

    References
    ----------
    Zou, G. Y. & Donner, A. (2008). Construction of confidence limits about effect measures:
    a general approach. Statistics in Medicine 27, 1693–1702.

    Examples
    --------
    >>> import numpy as np
    >>> tpr = proportion_intervals(np.array([40.0]), np.array([50.0]))
    >>> tnr = proportion_intervals(np.array([45.0]), np.array([50.0]))
    >>> ba = balanced_accuracy_intervals(tpr, tnr)
    >>> lo, hi = ba.bounds(0.95)
    >>> round(float(ba.values[0]), 4), bool(0.75 < lo[0] < 0.85 < hi[0] < 0.93)
    (0.85, True)
    """

    def bounds(level: FloatArray, scale: float) -> Bounds:
        (l1, h1), (l2, h2) = tpr.bounds(level, scale), tnr.bounds(level, scale)  # cached
        t, n = tpr.values, tnr.values
        center = (t + n) / 2.0
        lo = center - np.sqrt((t - l1) ** 2 + (n - l2) ** 2) / 2.0
        hi = center + np.sqrt((h1 - t) ** 2 + (h2 - n) ** 2) / 2.0
        return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)

    method = "MOVER: the exact TPR and TNR bounds combined in quadrature"
    return GroupIntervals((tpr.values + tnr.values) / 2.0, method, bounds)
