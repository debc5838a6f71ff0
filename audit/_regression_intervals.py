"""Confidence intervals of the regression metrics, from per-group moment sums.

MAE and MSE (so RMSE) by a Satterthwaite (scaled χ²) approximation, which keeps them
positive and follows their right skew; mean error and mean prediction by Student's t; R² by
the delta method on ``log(1 − R²)`` (so it stays below 1). Each a function of the level and
of a multiple of the data, as every interval of :mod:`audit._intervals`.
"""

from __future__ import annotations

import numpy as np

from audit._intervals import (
    Bounds,
    BoundsFn,
    FloatArray,
    GroupIntervals,
    ddof,
    kish,
    satterthwaite,
    special,
    t_quantile,
)
from audit._metrics import divide

__all__ = ["regression_intervals"]


def _folded_normal(mu: FloatArray, var: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and variance of ``|X|``, ``X ~ N(mu, var)``."""
    sc = special()
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
    n_eff = np.minimum(kish(s0, products[:, 0, 0]), rows)
    correction = ddof(rows)

    def ratio_variance(k: int) -> tuple[FloatArray, FloatArray]:
        r = divide(sums[:, k], s0)
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
    mu = divide(sums[:, 1], s0)
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
            lo, hi = satterthwaite(estimate, nu * scale, n_eff * scale - 1.0, level)
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
            q = t_quantile(n_eff * scale - 1.0, level)
            half = q * np.sqrt(var / scale)
            return r + offset - half, r + offset + half

        return bounds

    out["mean_error"] = GroupIntervals(values["mean_error"], "Student t", student(1, 0.0))
    out["mean_prediction"] = GroupIntervals(
        values["mean_prediction"], "Student t", student(4, shift)
    )
    # log(1 − R²) = log(MSE) − log(var y): gradient of both, linearised per row.
    m5, m6 = divide(sums[:, 5], s0), divide(sums[:, 6], s0)
    var_y = divide(total_sum_of_squares, s0)
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
        q = t_quantile(n_eff * scale - 1.0, level)
        half = q * np.sqrt(var_log / scale)
        with np.errstate(over="ignore", invalid="ignore"):
            return 1.0 - np.exp(log_ratio + half), 1.0 - np.exp(log_ratio - half)

    out["r2_score"] = GroupIntervals(
        values["r2_score"],
        "delta method on log(1 − R²) with a normal-theory floor, Student t",
        r2_bounds,
    )
    return out
