"""Confidence intervals of the score metrics (ROC AUC, Brier score, calibration error).

From the per-group, per-label score histograms and calibration-bin sums, as every interval
of :mod:`audit._intervals`: a function of the level and of a multiple of the data.

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

References
----------
DeLong, E. R., DeLong, D. M. & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
more correlated ROC curves: a nonparametric approach. Biometrics 44, 837–845.
Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a ROC curve.
Radiology 143, 29–36.
Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
Mann–Whitney statistic. Part 2. Statistics in Medicine 25, 559–573.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from audit._intervals import (
    Bounds,
    FloatArray,
    GroupIntervals,
    ddof,
    kish,
    satterthwaite,
    special,
    t_quantile,
)
from audit._metrics import divide

__all__ = [
    "auc_intervals",
    "brier_intervals",
    "delong_variance",
    "ece_intervals",
    "folded_normal_sum_quantile",
]


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
    out: FloatArray = var_pos * ddof(m_rows) + var_neg * ddof(n_rows)
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
    m_eff = np.minimum(kish(weight[:, 1, :].sum(axis=1), weight_sq[:, 1, :].sum(axis=1)), m_rows)
    n_eff = np.minimum(kish(weight[:, 0, :].sum(axis=1), weight_sq[:, 0, :].sum(axis=1)), n_rows)
    auc = np.where(np.isfinite(values), np.clip(values, 0.0, 1.0), 0.5)

    def bounds(level: FloatArray, scale: float) -> Bounds:
        m, n = m_eff * scale, n_eff * scale
        q = t_quantile(np.minimum(m, n) - 1.0, level)
        lo, hi = _auc_score_bounds(auc, np.nan_to_num(delong) / scale, m, n, q)
        undefined = ~np.isfinite(values)
        return np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)

    method = "score interval with variance max(DeLong, Hanley–McNeil), Student t"
    return GroupIntervals(values, method, bounds)


def _logit_bounds(
    center: FloatArray, variance: FloatArray, df: FloatArray, level: FloatArray
) -> Bounds:
    """``expit(logit(c) ± t·se/(c(1 − c)))``: inside (0, 1); NaN where ``c`` is 0 or 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where((center > 0) & (center < 1), center, np.nan)
        se = np.sqrt(variance) / (c * (1.0 - c))
        ell = np.log(c / (1.0 - c))
        q = t_quantile(df, level)
        lo = 1.0 / (1.0 + np.exp(-(ell - q * se)))
        hi = 1.0 / (1.0 + np.exp(-(ell + q * se)))
    return lo, hi


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
    variance = divide(spread, weight**2) * ddof(rows)
    n_eff = np.minimum(kish(weight, q), rows)

    with np.errstate(invalid="ignore", divide="ignore"):
        nu = 2.0 * values**2 / variance  # Satterthwaite: B as a scaled χ²

    def bounds(level: FloatArray, scale: float) -> Bounds:
        df = n_eff * scale - 1.0
        lo, hi = _logit_bounds(values, variance / scale, df, level)
        s_lo, s_hi = satterthwaite(values, nu * scale, df, level)
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
    sc = special()
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
    mu = divide(gap, weight[:, None])
    inside = a - 2.0 * mu * b + mu**2 * q
    outside = mu**2 * (q_all[:, None] - q)
    variance = divide(np.clip(inside + outside, 0.0, None), weight[:, None] ** 2)
    variance = variance * ddof(rows)[:, None]
    share = (rows_in_bin + 1.0) / (rows[:, None] + n_cal)
    rate = (positives_in_bin + 1.0) / (rows_in_bin + 2.0)
    floor = divide(share * rate * (1.0 - rate), rows[:, None])
    variance = np.where(rows[:, None] > 0, np.fmax(np.nan_to_num(variance), floor), np.nan)

    def bounds(level: FloatArray, scale: float) -> Bounds:
        q_sum = folded_normal_sum_quantile(np.sqrt(variance / scale), level)
        return np.maximum(values - q_sum, 0.0), np.minimum(values + q_sum, 1.0)

    method = "|ECE^ − ECE| ≤ Σ|μ̂_b − μ_b| (normal bins, gamma quantile of the sum)"
    return GroupIntervals(values, method, bounds)
