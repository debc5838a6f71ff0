"""Bootstrap by multinomial resampling of cell statistics.

Resampling N rows with replacement and then counting them gives, for every bin of the cell
statistics, exactly a multinomial draw with N trials and the observed bin shares as
probabilities. So a replicate costs one multinomial draw over a few hundred bins instead of a
pass over the rows. With sample weights each resampled row carries its bin's mean weight
(exact when weights are constant within a bin, an approximation otherwise).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "boundary_interval",
    "percentile_interval",
    "resample_bins",
    "simultaneous_interval",
    "widen_at_boundary",
]

FloatArray = npt.NDArray[np.float64]


def resample_bins(
    count: npt.NDArray[np.int64],
    weight: FloatArray,
    n_boot: int,
    rng: np.random.Generator,
    extra: tuple[FloatArray, ...] = (),
    *,
    sum_last_axis: bool = False,
) -> tuple[FloatArray, tuple[FloatArray, ...]]:
    """Draw bootstrap replicates of binned statistics.

    Parameters
    ----------
    count : ndarray of int, any shape
        Row counts per bin (all bins together hold the N rows).
    weight : ndarray, same shape
        Weight sums per bin.
    n_boot : int
        Number of replicates.
    rng : numpy.random.Generator
    extra : tuple of ndarray, same shape
        Further per-bin sums (for example score sums) carried with the mean per row.
    sum_last_axis : bool, default False
        Return replicates summed over the last axis of ``count`` (bins nested in cells),
        without holding every bin of every replicate in memory at once.

    Returns
    -------
    weight_replicates : ndarray of shape (n_boot, *count.shape)
        Or ``(n_boot, *count.shape[:-1])`` with ``sum_last_axis``.
    extra_replicates : tuple of ndarray, each of the same shape

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[5, 5], [0, 10]])
    >>> w, _ = resample_bins(c, c.astype(float), 3, np.random.default_rng(0))
    >>> w.shape, float(w[0].sum()), float(w[:, 1, 0].max())  # empty bins stay empty
    ((3, 2, 2), 20.0, 0.0)
    """
    flat = count.reshape(-1)
    total = int(flat.sum())
    draws = rng.multinomial(total, flat / total, size=n_boot).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_row = [np.where(flat > 0, s.reshape(-1) / flat, 0.0) for s in (weight, *extra)]
    shape = (n_boot, *count.shape)

    def carried(p: FloatArray) -> FloatArray:
        out: FloatArray = (draws * p).reshape(shape)
        return out.sum(axis=-1) if sum_last_axis else out

    return carried(per_row[0]), tuple(carried(p) for p in per_row[1:])


def percentile_interval(
    replicates: FloatArray, level: float, shift: FloatArray | float = 0.0
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """Percentile interval over axis 0, ignoring undefined (NaN) replicates.

    Parameters
    ----------
    replicates : ndarray of shape (n_boot, ...)
    level : float
        Confidence level, for example 0.95.
    shift : float or ndarray
        Added to both bounds (used to re-centre coarse-binned replicates on the exact
        point estimate).

    Returns
    -------
    lower, upper : ndarray
        NaN where fewer than half of the replicates are defined.
    n_undefined : ndarray of int
        Number of undefined replicates.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi, bad = percentile_interval(np.arange(101.0)[:, None], 0.9)
    >>> round(float(lo[0]), 9), round(float(hi[0]), 9), int(bad[0])
    (5.0, 95.0, 0)
    """
    alpha = (1.0 - level) / 2.0
    undefined = np.isnan(replicates).sum(axis=0)
    enough = (undefined <= replicates.shape[0] // 2) & (replicates.shape[0] > 1)
    lower = np.full(replicates.shape[1:], np.nan)
    upper = np.full(replicates.shape[1:], np.nan)
    if enough.any():
        chosen = replicates[:, enough]
        q = _nanquantile_linear(
            chosen, (alpha, 1.0 - alpha), replicates.shape[0] - undefined[enough]
        )
        lower[enough] = q[0] + (shift[enough] if isinstance(shift, np.ndarray) else shift)
        upper[enough] = q[1] + (shift[enough] if isinstance(shift, np.ndarray) else shift)
    return lower, upper, undefined.astype(np.int64)


def _nanquantile_linear(
    x: FloatArray, probabilities: tuple[float, ...], n_defined: npt.NDArray[np.int64]
) -> FloatArray:
    """``np.nanquantile(x, probabilities, axis=0)`` (method "linear") in one vectorised sort.

    numpy's nanquantile loops over columns in Python when NaNs are present; sorting once puts
    each column's NaNs last, so the k defined values are the first k rows.
    """
    ordered = np.sort(x, axis=0)
    last = n_defined - 1
    out = np.empty((len(probabilities), *x.shape[1:]))
    for i, p in enumerate(probabilities):
        position = p * last
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, last)
        t = position - below
        a = np.take_along_axis(ordered, below[None], axis=0)[0]
        b = np.take_along_axis(ordered, above[None], axis=0)[0]
        diff = b - a
        # numpy's _lerp: a + diff·t, computed from the nearer end for t ≥ 0.5
        out[i] = np.where(t >= 0.5, b - diff * (1.0 - t), a + diff * t)
    return out


def simultaneous_interval(
    replicates: FloatArray, estimate: FloatArray, level: float
) -> tuple[FloatArray, FloatArray, float]:
    """Simultaneous (family-wise) bounds across groups by a max-type bootstrap.

    Each group's deviation is studentised by its bootstrap standard error; the ``level``
    quantile ``q`` of the maximum over groups gives bounds ``estimate ± q·se`` that hold for
    all groups at once (Cherian & Candès, 2024).

    Parameters
    ----------
    replicates : ndarray of shape (n_boot, n_groups)
    estimate : ndarray of shape (n_groups,)
    level : float

    Returns
    -------
    lower, upper : ndarray of shape (n_groups,)
        NaN for groups without a finite standard error; equal to the estimate for groups
        whose replicates never vary.
    critical_value : float
        The quantile ``q`` (NaN when no group qualifies).

    References
    ----------
    Cherian, J. J. & Candès, E. J. (2024). Statistical inference for fairness auditing.
    Journal of the American Statistical Association.

    Examples
    --------
    >>> import numpy as np
    >>> reps = np.random.default_rng(0).normal(size=(2000, 5))
    >>> lo, hi, q = simultaneous_interval(reps, np.zeros(5), 0.95)
    >>> 2.3 < q < 2.8  # above 1.96: five bounds must hold at once
    True
    """
    se = (
        np.nanstd(replicates, axis=0, ddof=1)
        if replicates.shape[0] > 1
        else np.full(replicates.shape[1:], np.nan)
    )
    usable = np.isfinite(se) & (se > 0) & np.isfinite(estimate)
    lower = np.full(estimate.shape, np.nan)
    upper = np.full(estimate.shape, np.nan)
    # A group whose replicates never vary (a rate of exactly 0 or 1) gets a degenerate
    # interval: the bootstrap cannot see its uncertainty (a known limit of the method).
    flat = np.isfinite(se) & (se == 0) & np.isfinite(estimate)
    lower[flat] = upper[flat] = estimate[flat]
    if not usable.any():
        return lower, upper, float("nan")
    z = np.abs(replicates[:, usable] - estimate[usable]) / se[usable]
    worst = np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=1)
    q = float(np.quantile(worst[np.isfinite(worst)], level))
    lower[usable] = estimate[usable] - q * se[usable]
    upper[usable] = estimate[usable] + q * se[usable]
    return lower, upper, q


def boundary_interval(
    value: FloatArray, trials: npt.NDArray[np.int64], level: float
) -> tuple[FloatArray, FloatArray]:
    """Clopper–Pearson bounds for proportions estimated at exactly 0 or 1.

    A bootstrap cannot see past an observed 0 % or 100 %: every replicate repeats it, and the
    interval collapses to a point (30 of 30 actual positives found gives TPR 1 "[1, 1]").
    The exact binomial interval does not: for 30 of 30 at 95 % it is [0.884, 1].

    Parameters
    ----------
    value : ndarray
        Estimated proportions.
    trials : ndarray of int
        The rows each proportion rests on (its support).
    level : float

    Returns
    -------
    lower, upper : ndarray
        The exact bounds where ``value`` is 0 or 1 and ``trials`` > 0; NaN elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = boundary_interval(np.array([1.0, 0.0, 0.5]), np.array([30, 10, 8]), 0.95)
    >>> [round(float(x), 3) for x in (lo[0], hi[0], lo[1], hi[1])], bool(np.isnan(lo[2]))
    ([0.884, 1.0, 0.0, 0.308], True)
    """
    alpha = 1.0 - level
    n = np.asarray(trials, dtype=np.float64)
    edge = ((value == 0.0) | (value == 1.0)) & (n > 0)
    lower = np.full(np.shape(value), np.nan)
    upper = np.full(np.shape(value), np.nan)
    # At the boundary the beta quantiles are closed forms: Beta(1, n) has CDF 1 − (1 − x)^n,
    # so 0 of n has upper bound 1 − (α/2)^(1/n); n of n has lower bound (α/2)^(1/n).
    with np.errstate(invalid="ignore", divide="ignore"):
        zero = edge & (value == 0.0)
        one = edge & (value == 1.0)
        lower[zero], upper[zero] = 0.0, -np.expm1(np.log(alpha / 2) / n[zero])
        lower[one], upper[one] = np.exp(np.log(alpha / 2) / n[one]), 1.0
    return lower, upper


def widen_at_boundary(
    lower: FloatArray,
    upper: FloatArray,
    value: FloatArray,
    trials: npt.NDArray[np.int64],
    level: float,
) -> tuple[FloatArray, FloatArray]:
    """``lower``/``upper`` widened to :func:`boundary_interval` where a proportion is 0 or 1.

    Bounds that are NaN (no bootstrap, or too many undefined replicates) stay NaN.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = widen_at_boundary(np.array([1.0]), np.array([1.0]), np.array([1.0]),
    ...                            np.array([30]), 0.95)
    >>> round(float(lo[0]), 3), float(hi[0])
    (0.884, 1.0)
    """
    b_lo, b_hi = boundary_interval(value, trials, level)
    edge = ~np.isnan(b_lo) & ~np.isnan(lower) & ~np.isnan(upper)  # no interval: none made
    return np.where(edge, np.fmin(lower, b_lo), lower), np.where(edge, np.fmax(upper, b_hi), upper)
