"""Confidence intervals from sufficient statistics: exact where possible, always in range.

Every group value of every metric gets its interval from the per-group sums alone, without
resampling. Each method is a function of the level, so that one family of groups can be
given a shared (Bonferroni) level, and of a *scale*: the interval the same estimates would
have with ``scale`` times the data (the sample size an inconclusive verdict needs).

Methods, by metric (the metrics documentation states them too):

* **Rates** (selection rate, TPR, FPR, precision, accuracy, …): the Clopper–Pearson exact
  binomial interval of successes over trials. It holds its level at every n and every rate,
  0 and 1 included, and stays in [0, 1]. With sample weights, the Korn–Graubard version:
  the same interval at the effective number of trials ``p(1 − p) / var(p)`` (Kish's
  ``(Σw)² / Σw²`` at a rate of 0 or 1), never more than the rows.
* **F1**: ``F1 = 2J / (1 + J)``, where ``J = TP / (TP + FP + FN)`` is a binomial proportion
  of the rows that are not true negatives: the Clopper–Pearson bounds of ``J``, mapped.
* **Balanced accuracy**: ``(TPR + TNR) / 2`` by MOVER (Zou & Donner 2008): the two rates'
  exact bounds combined in quadrature (they rest on disjoint rows, so are independent).
* **ROC AUC**: a score interval, every θ with ``(Â − θ)² ≤ t²·max(V, V_HM(θ))``: V is
  DeLong's variance from the placement values (read off the score histograms), V_HM(θ)
  Hanley & McNeil's variance at θ (which keeps small groups and perfect separation from a
  zero-width interval), t Student's on ``min(positives, negatives) − 1`` degrees of
  freedom. Inside [0, 1].
* **Brier score**: the union of the delta method on the logit scale and a Satterthwaite
  scaled χ², Student's t on ``n − 1``.
* **Expected calibration error** ``Σ_b |μ_b|``, ``μ_b = E[(Y − S)·1{S in bin b}]``: the
  triangle inequality bounds ``|ECE − ECE^| ≤ Σ_b |μ̂_b − μ_b|``, whose quantile comes from the
  bins' (floored) variances. Valid where the truth is 0 (a calibrated model), where a
  bootstrap of the biased plug-in never covers.
* **Regression**: MAE and MSE (so RMSE) by a Satterthwaite (scaled χ²) approximation, which
  keeps them positive and follows their right skew; mean error and mean prediction by
  Student's t; R² by the delta method on ``log(1 − R²)`` (so it stays below 1).

References
----------
Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated
in the case of the binomial. Biometrika 26, 404–413.
Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193–201.
DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
more correlated ROC curves: a nonparametric approach. Biometrics 44, 837–845.
Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a ROC curve.
Radiology 143, 29–36.
Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
Mann–Whitney statistic. Part 2. Statistics in Medicine 25, 559–573.
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
Biometrics Bulletin 2, 110–114.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import numpy.typing as npt

__all__ = [
    "GroupIntervals",
    "auc_intervals",
    "balanced_accuracy_intervals",
    "brier_intervals",
    "clopper_pearson",
    "complement_intervals",
    "delong_variance",
    "ece_intervals",
    "folded_normal_sum_quantile",
    "jaccard_f1_intervals",
    "proportion_intervals",
    "regression_intervals",
]

FloatArray = npt.NDArray[np.float64]
Bounds = tuple[FloatArray, FloatArray]
BoundsFn = Callable[[FloatArray, float], Bounds]


def _sc() -> ModuleType:
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
    sc = _sc()
    n = np.where(ok, n, 1.0)
    x = np.where(ok, np.clip(x, 0.0, n), 0.5)
    some, short = x > 0, x < n
    with np.errstate(invalid="ignore"):
        lo = sc.betaincinv(np.where(some, x, 1.0), n - x + 1.0, alpha / 2.0)
        hi = sc.betaincinv(x + 1.0, np.where(short, n - x, 1.0), 1.0 - alpha / 2.0)
    lower = np.where(ok, np.where(some, lo, 0.0), np.nan)
    upper = np.where(ok, np.where(short, hi, 1.0), np.nan)
    return lower, upper


def _t_quantile(df: FloatArray, level: FloatArray) -> FloatArray:
    """Two-sided Student t critical value ``t_{df}(1 − (1 − level)/2)``; df at least 1."""
    sc = _sc()
    out: FloatArray = sc.stdtrit(np.maximum(df, 1.0), 1.0 - (1.0 - level) / 2.0)
    return out


def _divide(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(np.broadcast_shapes(np.shape(num), np.shape(den)), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


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
    p = _divide(successes_w, trials_w)
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
    values = _divide(successes, trials)
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
        (l1, h1), (l2, h2) = tpr.bounds_fn(level, scale), tnr.bounds_fn(level, scale)
        t, n = tpr.values, tnr.values
        center = (t + n) / 2.0
        lo = center - np.sqrt((t - l1) ** 2 + (n - l2) ** 2) / 2.0
        hi = center + np.sqrt((h1 - t) ** 2 + (h2 - n) ** 2) / 2.0
        return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)

    method = "MOVER: the exact TPR and TNR bounds combined in quadrature"
    return GroupIntervals((tpr.values + tnr.values) / 2.0, method, bounds)


def _logit_bounds(
    center: FloatArray, variance: FloatArray, df: FloatArray, level: FloatArray
) -> Bounds:
    """``expit(logit(c) ± t·se/(c(1 − c)))``: inside (0, 1); NaN where ``c`` is 0 or 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where((center > 0) & (center < 1), center, np.nan)
        se = np.sqrt(variance) / (c * (1.0 - c))
        ell = np.log(c / (1.0 - c))
        q = _t_quantile(df, level)
        lo = 1.0 / (1.0 + np.exp(-(ell - q * se)))
        hi = 1.0 / (1.0 + np.exp(-(ell + q * se)))
    return lo, hi


def _hanley_mcneil_variance(theta: FloatArray, m: FloatArray, n: FloatArray) -> FloatArray:
    """Hanley & McNeil's (1982) variance of the AUC at ``theta`` with m positives, n negatives.

    ``θ(1 − θ)[1 + (m − 1)(1 − θ)/(2 − θ) + (n − 1)θ/(1 + θ)] / (mn)``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = (
            theta
            * (1.0 - theta)
            * (1.0 + (m - 1.0) * (1.0 - theta) / (2.0 - theta) + (n - 1.0) * theta / (1.0 + theta))
            / (m * n)
        )
    return out


def _ddof(rows: FloatArray) -> FloatArray:
    """``n / (n − 1)``: the sample variance's correction (1 where ``n ≤ 1``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(rows > 1, rows / (rows - 1.0), 1.0)
    return out


def _kish(weight: FloatArray, weight_sq: FloatArray) -> FloatArray:
    return _divide(weight**2, weight_sq)


def delong_variance(
    count: FloatArray, weight: FloatArray, weight_sq: FloatArray, values: FloatArray
) -> FloatArray:
    """DeLong's variance of the AUC per group, from per-label score histograms.

    A positive in bin b has placement ``G_b`` (the share of negatives below it, ties ½), a
    negative ``H_b`` (the share of positives above it); the variance is
    ``Σw²(G − A)²/W₁² + Σw²(H − A)²/W₀²``, each part with the sample-variance correction
    ``n/(n − 1)``. Within a bin, positives and negatives count as ties, as in the point
    estimate. Shapes as in :func:`auc_intervals`.
    """
    w0, w1 = weight[:, 0, :], weight[:, 1, :]
    q0, q1 = weight_sq[:, 0, :], weight_sq[:, 1, :]
    big_w0, big_w1 = w0.sum(axis=1), w1.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        placement_pos = (np.cumsum(w0, axis=1) - 0.5 * w0) / big_w0[:, None]
        placement_neg = (big_w1[:, None] - np.cumsum(w1, axis=1) + 0.5 * w1) / big_w1[:, None]
        a = values[:, None]
        var_pos = (q1 * (placement_pos - a) ** 2).sum(axis=1) / big_w1**2
        var_neg = (q0 * (placement_neg - a) ** 2).sum(axis=1) / big_w0**2
    m_rows, n_rows = count[:, 1, :].sum(axis=1), count[:, 0, :].sum(axis=1)
    out: FloatArray = var_pos * _ddof(m_rows) + var_neg * _ddof(n_rows)
    return out


def _auc_score_bounds(
    auc: FloatArray, delong: FloatArray, m: FloatArray, n: FloatArray, q: FloatArray
) -> Bounds:
    """The θ with ``(Â − θ)² ≤ q²·max(V_DeLong, V_HM(θ))``: lower and upper ends.

    Both ends are found together by bisection (45 halvings) between ``Â`` and 0 or 1;
    where the condition holds at 0 (or 1) that is the end.
    """
    a2, d2, m2, n2, q2 = (np.concatenate([x, x]) for x in (auc, delong, m, n, q))
    edge = np.concatenate([np.zeros(auc.shape), np.ones(auc.shape)])

    def outside(theta: FloatArray) -> npt.NDArray[np.bool_]:
        var = np.fmax(d2, _hanley_mcneil_variance(theta, m2, n2))
        out: npt.NDArray[np.bool_] = (a2 - theta) ** 2 > q2**2 * var
        return out

    with np.errstate(invalid="ignore", divide="ignore"):
        reached = ~outside(edge)  # the condition holds all the way to the edge
        inner, outer = a2.copy(), edge
        for _ in range(45):  # 2⁻⁴⁵: far below any printed digit
            mid = (inner + outer) / 2.0
            out = outside(mid)
            outer = np.where(out, mid, outer)
            inner = np.where(out, inner, mid)
        ends = np.where(reached, edge, inner)
    return ends[: auc.size], ends[auc.size :]


def auc_intervals(
    count: FloatArray, weight: FloatArray, weight_sq: FloatArray, values: FloatArray
) -> GroupIntervals:
    """ROC AUC intervals from per-group, per-label score histograms.

    Parameters
    ----------
    count, weight, weight_sq : ndarray of shape (n_groups, 2, n_bins)
        Rows, Σw and Σw² per true label (axis 1: negatives, positives) and score bin, in
        increasing score order (equal to one another when unweighted).
    values : ndarray of shape (n_groups,)
        The AUC point estimates (from the same histograms).

    Notes
    -----
    A score interval: every θ with ``(Â − θ)² ≤ t²·max(V_DeLong, V_HM(θ))``, where
    ``V_DeLong`` is the estimate's DeLong variance (:func:`delong_variance`) and ``V_HM(θ)``
    Hanley & McNeil's variance of an AUC of θ with m positives and n negatives (effective
    sizes when weighted), and t is Student's on ``min(m, n) − 1`` degrees of freedom. The
    Hanley–McNeil term, solved for θ as in Newcombe's score intervals, keeps a small group
    or a perfect separation (DeLong's variance 0) from a zero-width interval, and keeps the
    interval inside [0, 1].

    References
    ----------
    Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
    Mann–Whitney statistic. Part 2: asymptotic methods and evaluation. Statistics in
    Medicine 25, 559–573.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> c = np.zeros((1, 2, 20)); np.add.at(c, (0, 0, rng.integers(0, 12, 60)), 1)
    >>> np.add.at(c, (0, 1, rng.integers(8, 20, 40)), 1)
    >>> from audit._metrics import score_metrics
    >>> auc = score_metrics(c, c, c, np.zeros(20, dtype=np.int64))["roc_auc"]
    >>> lo, hi = auc_intervals(c, c, c, auc).bounds(0.95)
    >>> bool(0 < lo[0] < auc[0] < hi[0] < 1)
    True
    """
    delong = delong_variance(count, weight, weight_sq, values)
    m_rows, n_rows = count[:, 1, :].sum(axis=1), count[:, 0, :].sum(axis=1)
    m_eff = np.minimum(_kish(weight[:, 1, :].sum(axis=1), weight_sq[:, 1, :].sum(axis=1)), m_rows)
    n_eff = np.minimum(_kish(weight[:, 0, :].sum(axis=1), weight_sq[:, 0, :].sum(axis=1)), n_rows)
    auc = np.where(np.isfinite(values), np.clip(values, 0.0, 1.0), 0.5)

    def bounds(level: FloatArray, scale: float) -> Bounds:
        m, n = m_eff * scale, n_eff * scale
        q = _t_quantile(np.minimum(m, n) - 1.0, level)
        lo, hi = _auc_score_bounds(auc, np.nan_to_num(delong) / scale, m, n, q)
        undefined = ~np.isfinite(values)
        return np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)

    method = "score interval with variance max(DeLong, Hanley–McNeil), Student t"
    return GroupIntervals(values, method, bounds)


def brier_intervals(
    rows: FloatArray,
    weight: FloatArray,
    q: FloatArray,
    qd: FloatArray,
    qd2: FloatArray,
    values: FloatArray,
) -> GroupIntervals:
    """Brier score intervals: the union of two approximations, Student t on ``n − 1``.

    The delta method on the logit scale, and a Satterthwaite scaled χ² (``ν = 2B²/var``).
    Squared errors are skewed; each approximation alone under-covers slightly with 30 rows
    (0.93–0.94 measured), their union does not.

    Parameters
    ----------
    rows, weight : ndarray of shape (n_groups,)
        Rows and Σw.
    q, qd, qd2 : ndarray of shape (n_groups,)
        ``Σw²``, ``Σw²·d`` and ``Σw²·d²`` with ``d = (s − y)²`` (taken at its score bin's
        mean: exact with one bin per distinct score; with 10,000 equal-width bins the
        spread within a bin is below 10⁻⁴).
    values : ndarray of shape (n_groups,)

    Notes
    -----
    ``var(B) = Σw²(d − B)² / (Σw)²`` times ``n/(n − 1)``; ``Σw²(d − B)² = qd2 − 2B·qd + B²·q``.

    Examples
    --------
    >>> import numpy as np
    >>> # 30 negatives at 0.2, 10 at 0.7; 10 positives at 0.2, 30 at 0.7: d = s² or (1 − s)²
    >>> d = np.array([0.04] * 30 + [0.49] * 10 + [0.64] * 10 + [0.09] * 30)
    >>> b = float(d.mean())  # by hand: (1.2 + 4.9 + 6.4 + 2.7) / 80 = 0.19
    >>> iv = brier_intervals(np.array([80.0]), np.array([80.0]), np.array([80.0]),
    ...                      np.array([d.sum()]), np.array([(d**2).sum()]), np.array([b]))
    >>> lo, hi = iv.bounds(0.95)
    >>> bool(0 < lo[0] < b < hi[0] < 1), round(b, 4)
    (True, 0.19)
    """
    spread = np.clip(qd2 - 2.0 * values * qd + values**2 * q, 0.0, None)
    variance = _divide(spread, weight**2) * _ddof(rows)
    n_eff = np.minimum(_kish(weight, q), rows)

    with np.errstate(invalid="ignore", divide="ignore"):
        nu = 2.0 * values**2 / variance  # Satterthwaite: B as a scaled χ²

    def bounds(level: FloatArray, scale: float) -> Bounds:
        df = n_eff * scale - 1.0
        lo, hi = _logit_bounds(values, variance / scale, df, level)
        s_lo, s_hi = _satterthwaite(values, nu * scale, df, level)
        # The union of the two: squared errors are skewed, and each approximation follows
        # one side of the skew (measured: neither alone holds 0.94 with 30 rows).
        lo, hi = np.fmin(lo, s_lo), np.fmin(np.fmax(hi, s_hi), 1.0)
        # At an estimate of exactly 0 (or 1) every squared error is 0 (or 1): the exact
        # bound of a [0, 1] variable never seen away from that end in n rows.
        with np.errstate(invalid="ignore", divide="ignore"):
            reach = -np.expm1(np.log((1.0 - level) / 2.0) / (n_eff * scale))
        lo = np.where(values == 0, 0.0, np.where(values == 1, 1.0 - reach, lo))
        hi = np.where(values == 0, reach, np.where(values == 1, 1.0, hi))
        return lo, hi

    method = "union of the delta method on the logit scale and a Satterthwaite scaled χ²"
    return GroupIntervals(values, method, bounds)


def folded_normal_sum_quantile(sd: FloatArray, level: FloatArray) -> FloatArray:
    """Upper ``level`` quantile of ``Σ_b |X_b|``, independent ``X_b ~ N(0, sd_b²)``, per row.

    The larger of two gamma approximations: one matching the sum's mean and variance, one
    (shifted) matching its third cumulant too. Checked against simulation in the tests.

    Parameters
    ----------
    sd : ndarray of shape (n, n_terms)
    level : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> q = folded_normal_sum_quantile(np.array([[1.0, 0.0]]), np.array([0.95]))
    >>> 1.95 < float(q[0]) < 2.0  # |N(0, 1)|: 1.96
    True
    """
    sc = _sc()
    c1 = math.sqrt(2.0 / math.pi)
    k3_unit = 2.0 * c1 - 3.0 * c1 + 2.0 * c1**3  # third cumulant of |N(0, 1)|
    mean = c1 * sd.sum(axis=1)
    var = (1.0 - 2.0 / math.pi) * (sd**2).sum(axis=1)
    k3 = k3_unit * (sd**3).sum(axis=1)
    out = np.zeros(mean.shape)
    ok = np.isfinite(var) & (var > 0)
    if ok.any():
        m, v, k, lv = mean[ok], var[ok], k3[ok], level[ok]
        shape = m**2 / v
        plain = sc.gammaincinv(shape, lv) * v / m
        skew = k / v**1.5
        shape3 = 4.0 / skew**2
        theta3 = np.sqrt(v / shape3)
        shifted = m - shape3 * theta3 + sc.gammaincinv(shape3, lv) * theta3
        out[ok] = np.fmax(plain, shifted)
    return out


def ece_intervals(
    rows: FloatArray,
    weight: FloatArray,
    gap: FloatArray,
    a: FloatArray,
    b: FloatArray,
    q: FloatArray,
    rows_in_bin: FloatArray,
    positives_in_bin: FloatArray,
    values: FloatArray,
) -> GroupIntervals:
    """Expected calibration error intervals ``[ECE^ − q, ECE^ + q]``, inside [0, 1].

    ``ECE = Σ_b |μ_b|`` with ``μ_b = E[(Y − S)·1{S in b}]`` over the calibration bins, so
    ``|ECE^ − ECE| ≤ Σ_b |μ̂_b − μ_b|``; ``q`` is that sum's ``level`` quantile with
    ``μ̂_b − μ_b ~ N(0, v_b)``. Each ``v_b`` is at least ``P̃_b·ỹ_b(1 − ỹ_b)/n`` (the label
    variance alone, with add-one shares), so a bin seen rarely or never still counts.

    Parameters
    ----------
    rows, weight : ndarray of shape (n_groups,)
        Rows and Σw.
    gap : ndarray of shape (n_groups, 10)
        ``Σw·(y − s)`` per calibration bin (so ``μ̂_b = gap / Σw``).
    a, b, q : ndarray of shape (n_groups, 10)
        Per calibration bin: ``Σw²·(y − s)²``, ``Σw²·(y − s)`` and ``Σw²`` (from score-bin
        means and spreads), for ``Σw²·(y − s − μ_b)² = a − 2μ_b·b + μ_b²·q``.
    rows_in_bin, positives_in_bin : ndarray of shape (n_groups, 10)
    values : ndarray of shape (n_groups,)

    Examples
    --------
    >>> import numpy as np
    >>> # calibrated: 100 rows at s = 0.25 (25 positives) and 100 at 0.75 (75 positives)
    >>> g = np.zeros((1, 10)); a = np.zeros((1, 10)); n = np.zeros((1, 10))
    >>> a[0, 2] = 75 * 0.25**2 + 25 * 0.75**2; a[0, 7] = a[0, 2]; n[0, [2, 7]] = 100
    >>> pos = np.zeros((1, 10)); pos[0, 2], pos[0, 7] = 25, 75
    >>> b = np.zeros((1, 10))  # Σ(y − s) = 0 in each bin
    >>> iv = ece_intervals(np.array([200.0]), np.array([200.0]), g, a, b, n, n, pos,
    ...                    np.array([0.0]))
    >>> lo, hi = iv.bounds(0.95)
    >>> float(lo[0]), bool(0 < hi[0] < 0.2)
    (0.0, True)
    """
    n_cal = gap.shape[1]
    q_all = q.sum(axis=1)
    mu = _divide(gap, weight[:, None])
    inside = a - 2.0 * mu * b + mu**2 * q
    outside = mu**2 * (q_all[:, None] - q)
    variance = _divide(np.clip(inside + outside, 0.0, None), weight[:, None] ** 2)
    variance = variance * _ddof(rows)[:, None]
    share = (rows_in_bin + 1.0) / (rows[:, None] + n_cal)
    rate = (positives_in_bin + 1.0) / (rows_in_bin + 2.0)
    floor = _divide(share * rate * (1.0 - rate), rows[:, None])
    variance = np.where(rows[:, None] > 0, np.fmax(np.nan_to_num(variance), floor), np.nan)

    def bounds(level: FloatArray, scale: float) -> Bounds:
        q_sum = folded_normal_sum_quantile(np.sqrt(variance / scale), level)
        return np.maximum(values - q_sum, 0.0), np.minimum(values + q_sum, 1.0)

    method = "|ECE^ − ECE| ≤ Σ|μ̂_b − μ_b| (normal bins, gamma quantile of the sum)"
    return GroupIntervals(values, method, bounds)


def _satterthwaite(
    estimate: FloatArray, nu: FloatArray, df: FloatArray, level: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Bounds of a positive mean estimate taken as ``θ·χ²_ν/ν`` (Satterthwaite).

    The level is first raised so that, as ``ν`` grows, the bounds tend to Student's t on
    ``df`` degrees of freedom rather than the normal: the mean's own variance is estimated.
    """
    sc = _sc()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = _t_quantile(df, level)
        alpha = 2.0 * sc.ndtr(-t)  # the normal tail that t's quantile leaves
        ok = np.isfinite(nu) & (nu > 0)
        nu_ok = np.where(ok, nu, 1.0)
        upper_q = sc.chdtri(nu_ok, alpha / 2.0)  # χ²_ν quantile at 1 − α/2
        lower_q = sc.chdtri(nu_ok, 1.0 - alpha / 2.0)
        lo = np.where(ok, nu * estimate / upper_q, estimate)
        hi = np.where(ok, nu * estimate / lower_q, estimate)
    return lo, hi


def _folded_normal(mu: FloatArray, var: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and variance of ``|X|``, ``X ~ N(mu, var)``."""
    sc = _sc()
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(var)
        z = np.where(sd > 0, mu / sd, np.inf * np.sign(mu))
        mean = sd * np.sqrt(2.0 / np.pi) * np.exp(-(z**2) / 2.0) + mu * (1.0 - 2.0 * sc.ndtr(-z))
        mean = np.where(sd > 0, mean, np.abs(mu))
    return mean, np.clip(var + mu**2 - mean**2, 0.0, None)


def regression_intervals(
    rows: FloatArray,
    sums: FloatArray,
    products: FloatArray,
    shift: float,
    values: dict[str, FloatArray],
    total_sum_of_squares: FloatArray,
) -> dict[str, GroupIntervals]:
    """Intervals of every regression metric from per-group moment sums.

    Parameters
    ----------
    rows : ndarray of shape (n_groups,)
    sums : ndarray of shape (n_groups, 7)
        ``Σx`` of the summands ``x = (w, w·e, w·e², w·|e|, w·(ŷ − c), w·(y − c), w·(y − c)²)``.
    products : ndarray of shape (n_groups, 7, 7)
        ``Σxxᵀ`` over the group's rows.
    shift : float
        ``c``.
    values : dict of str to ndarray
        The point estimates (``regression_metrics``).
    total_sum_of_squares : ndarray of shape (n_groups,)
        ``Σw·(y − ȳ)²`` per group (computed stably).

    Notes
    -----
    A metric that is a ratio of sums ``S_k / S_0`` has the linearised variance
    ``gᵀ(Σxxᵀ)g`` with ``g = (e_k − r·e_0)/S_0``; R² uses the gradient of
    ``log(MSE) − log(var y)``.

    MAE and MSE are means of positive, right-skewed values: each is taken as a scaled χ²
    with ``ν = 2·mean²/var`` (Satterthwaite). A sample's fourth moments are noisy, so ``ν``
    is never taken above what errors drawn from a normal distribution with the group's
    mean and spread of ``e`` would give: that keeps small groups from intervals narrower
    than normal errors would allow. R²'s variance likewise has a normal-theory floor.
    """
    s0 = sums[:, 0]
    n_eff = np.minimum(_kish(s0, products[:, 0, 0]), rows)
    correction = _ddof(rows)

    def ratio_variance(k: int) -> tuple[FloatArray, FloatArray]:
        r = _divide(sums[:, k], s0)
        g = np.zeros(sums.shape)
        g[:, k] = 1.0
        g[:, 0] = -r
        with np.errstate(invalid="ignore", divide="ignore"):
            g = g / s0[:, None]
            var = np.einsum("gi,gij,gj->g", g, products, g) * correction
        return r, np.clip(var, 0.0, None)

    out: dict[str, GroupIntervals] = {}
    mae, var_mae = ratio_variance(3)
    mse, var_mse = ratio_variance(2)
    mu = _divide(sums[:, 1], s0)
    sigma2 = np.clip(mse - mu**2, 0.0, None) * correction
    with np.errstate(invalid="ignore", divide="ignore"):
        nu_mse = np.fmin(
            2.0 * mse**2 / var_mse,
            n_eff * (sigma2 + mu**2) ** 2 / (sigma2**2 + 2.0 * mu**2 * sigma2),
        )
        folded_mean, folded_var = _folded_normal(mu, sigma2)
        nu_mae = np.fmin(2.0 * mae**2 / var_mae, 2.0 * folded_mean**2 * n_eff / folded_var)

    def positive(estimate: FloatArray, nu: FloatArray, root: bool) -> BoundsFn:
        def bounds(level: FloatArray, scale: float) -> Bounds:
            lo, hi = _satterthwaite(estimate, nu * scale, n_eff * scale - 1.0, level)
            return (np.sqrt(lo), np.sqrt(hi)) if root else (lo, hi)

        return bounds

    satt = "Satterthwaite scaled χ², ν at most its normal-theory value, t-calibrated"
    out["mean_absolute_error"] = GroupIntervals(
        values["mean_absolute_error"], satt, positive(mae, nu_mae, False)
    )
    out["root_mean_squared_error"] = GroupIntervals(
        values["root_mean_squared_error"], satt + " (of the MSE)", positive(mse, nu_mse, True)
    )

    def student(k: int, offset: float) -> BoundsFn:
        r, var = ratio_variance(k)

        def bounds(level: FloatArray, scale: float) -> Bounds:
            q = _t_quantile(n_eff * scale - 1.0, level)
            half = q * np.sqrt(var / scale)
            return r + offset - half, r + offset + half

        return bounds

    out["mean_error"] = GroupIntervals(values["mean_error"], "Student t", student(1, 0.0))
    out["mean_prediction"] = GroupIntervals(
        values["mean_prediction"], "Student t", student(4, shift)
    )
    # log(1 − R²) = log(MSE) − log(var y): gradient of both, linearised per row.
    m5, m6 = _divide(sums[:, 5], s0), _divide(sums[:, 6], s0)
    var_y = _divide(total_sum_of_squares, s0)
    g = np.zeros(sums.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        g[:, 2] = 1.0 / mse
        g[:, 0] = -1.0 - (-m6 + 2.0 * m5**2) / var_y
        g[:, 6] = -1.0 / var_y
        g[:, 5] = 2.0 * m5 / var_y
        g = g / s0[:, None]
        var_log = np.clip(np.einsum("gi,gij,gj->g", g, products, g) * correction, 0.0, None)
        # Normal theory: log MSE varies by 2/ν, log var(y) by 2/(n − 1).
        floor = 2.0 / nu_mse + 2.0 / np.maximum(n_eff - 1.0, 1.0)
        var_log = np.fmax(var_log, floor)
        log_ratio = np.log(1.0 - values["r2_score"])

    def r2_bounds(level: FloatArray, scale: float) -> Bounds:
        q = _t_quantile(n_eff * scale - 1.0, level)
        half = q * np.sqrt(var_log / scale)
        with np.errstate(over="ignore", invalid="ignore"):
            return 1.0 - np.exp(log_ratio + half), 1.0 - np.exp(log_ratio - half)

    out["r2_score"] = GroupIntervals(
        values["r2_score"],
        "delta method on log(1 − R²) with a normal-theory floor, Student t",
        r2_bounds,
    )
    return out
