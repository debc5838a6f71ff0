"""Per-group values and bootstrap replicates of the score and regression metrics.

Confusion metrics are one matrix product away from the cell counts (see ``_engine``); score
and regression metrics need more: histograms collapsed to coarse bins for the replicates,
centred moments for R², within-bin scatter for the regression bootstrap. Each class takes
the cell statistics once and then answers for any grouping of the cells.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import numpy.typing as npt

from audit._bootstrap import resample_bins
from audit._metrics import REGRESSION_METRICS, SCORE_METRICS, regression_metrics, score_metrics
from audit._result import AuditOptions
from audit._statistics import RegressionMoments, ScoreHistogram

__all__ = ["RegressionReplicates", "ScoreReplicates", "by_group"]

FloatArray = npt.NDArray[np.float64]


def _coarse_scores(
    hist: ScoreHistogram, n_coarse: int, probability: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Map each fine score bin to one of few coarse bins (nested in calibration bins)."""
    lower = hist.edges[:-1]
    if probability:
        per = max(1, n_coarse // 10)
        frac = np.clip(lower * 10 - hist.ece_bin, 0.0, 1.0 - 1e-12)
        coarse = hist.ece_bin * per + np.minimum((frac * per).astype(np.int64), per - 1)
        return coarse.astype(np.int64), np.repeat(np.arange(10), per).astype(np.int64)
    pooled = np.cumsum(hist.count.sum(axis=(0, 1)))
    coarse = np.minimum(pooled * n_coarse // max(int(pooled[-1]), 1), n_coarse - 1)
    return coarse.astype(np.int64), np.zeros(n_coarse, dtype=np.int64)


def _collapse(values: FloatArray, index: npt.NDArray[np.int64], size: int) -> FloatArray:
    """Sum the last axis of ``values`` into ``size`` bins by ``index``."""
    onehot = np.zeros((index.size, size))
    onehot[np.arange(index.size), index] = 1.0
    out: FloatArray = values @ onehot
    return out


def _score_values(
    weight: FloatArray,
    ssum: FloatArray,
    ssq: FloatArray,
    ece: npt.NDArray[np.int64],
    probability: bool,
) -> dict[str, FloatArray]:
    values = score_metrics(weight, ssum, ssq, ece)
    if not probability:
        for name in ("brier_score_loss", "expected_calibration_error"):
            values[name] = np.full_like(values[name], np.nan)
    return values


class RegressionReplicates:
    """Regression metrics: exact points from the moment sums, replicates from the bins.

    A row bootstrap picks bins (multinomially) and then rows within them. Carrying each
    bin's mean row gets the first stage exactly; the second stage adds, given ``n*`` rows
    drawn in a cell, a sum with mean 0 and covariance about ``(n*/n)·S``, where ``S`` is the
    cell's within-bin scatter of the summands. It is added as a Gaussian draw, so every
    replicate sum has the row bootstrap's mean and covariance (not only its bins').
    """

    def __init__(self, moments: RegressionMoments, n_boot: int, rng: np.random.Generator) -> None:
        self.m = moments
        sums = moments.moments
        w, extra = resample_bins(
            moments.count,
            sums[..., 0],
            n_boot,
            rng,
            tuple(np.moveaxis(sums[..., 1:], -1, 0)),
            sum_last_axis=True,
        )
        reps = np.stack([w, *extra], axis=-1)  # (n_boot, n_cells, 7)
        n_cell = moments.count.sum(axis=1).astype(np.float64)
        mean_weight = sums[..., 0].sum(axis=1) / np.maximum(n_cell, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            # rows drawn in each cell (exact unweighted; by the mean weight otherwise)
            n_drawn = np.where(mean_weight > 0, reps[..., 0] / mean_weight, 0.0)
        # The symmetric square root of each cell's scatter (PSD; eigh tolerates rank
        # deficiency). Unlike V·√Λ it does not depend on the eigenvectors' signs or on their
        # basis within a repeated eigenvalue, so it moves continuously with the scatter: two
        # engines whose sums differ by rounding draw the same replicates, to rounding.
        values, vectors = np.linalg.eigh(moments.within_scatter)
        scaled = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
        root = np.einsum("cik,cjk->cij", scaled, vectors)
        noise = np.einsum("cij,bcj->bci", root, rng.standard_normal(reps.shape))
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.sqrt(np.where(n_cell > 0, n_drawn / n_cell, 0.0))
        replicates = reps + noise * scale[..., None]
        # Sums of non-negative summands (w, w·e², w·|e|, w·(y − c)²) stay non-negative: the
        # Gaussian stand-in for the within-bin variation must not make a squared error < 0.
        nonnegative = [0, 2, 3, 6]
        replicates[..., nonnegative] = np.maximum(replicates[..., nonnegative], 0.0)
        self.replicates = replicates

    def _sst(self, matrix: FloatArray) -> FloatArray:
        """Σw·(y − ȳ_g)² per group from the centred cell moments (Chan et al.'s update)."""
        cell_w = self.m.moments[..., 0].sum(axis=1)
        g_w = matrix @ cell_w
        with np.errstate(invalid="ignore", divide="ignore"):
            g_mean = np.where(g_w > 0, (matrix @ (cell_w * self.m.y_mean)) / g_w, 0.0)
        spread = matrix * cell_w[None, :] * (self.m.y_mean[None, :] - g_mean[:, None]) ** 2
        total: FloatArray = matrix @ self.m.y_m2 + spread.sum(axis=1)
        return total

    def _constant(self, matrix: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether ``y_true`` is constant in each group (exactly, from the cell values)."""
        present = (matrix * (self.m.count.sum(axis=1) > 0)[None, :]) > 0
        values = np.where(present, self.m.y_any[None, :], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty groups: all-NaN rows
            one_value = np.nanmax(values, axis=1) == np.nanmin(values, axis=1)
        varies = (present & self.m.y_varies[None, :]).any(axis=1)
        out: npt.NDArray[np.bool_] = one_value & ~varies
        return out

    def overall(self) -> tuple[dict[str, float], dict[str, FloatArray]]:
        one = np.ones((1, self.m.count.shape[0]))
        points = regression_metrics(
            self.m.moments.sum(axis=(0, 1)), self._sst(one)[0], self.m.shift, self._constant(one)[0]
        )
        reps = regression_metrics(self.replicates.sum(axis=1), shift=self.m.shift)
        return {k: float(v) for k, v in points.items()}, reps

    def groups(
        self, matrix: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, npt.NDArray[np.int64]]]:
        points = regression_metrics(
            matrix @ self.m.moments.sum(axis=1),
            self._sst(matrix),
            self.m.shift,
            self._constant(matrix),
        )
        reps = regression_metrics(
            by_group(matrix, self.replicates, replicated=True), shift=self.m.shift
        )
        count = (matrix @ self.m.count.sum(axis=1)).round().astype(np.int64)
        return points, reps, dict.fromkeys(REGRESSION_METRICS, count)


class ScoreReplicates:
    """Score metrics from the fine histogram; replicates from a coarse one, re-centred.

    Resampling thousands of fine bins per replicate would be slow, so replicates are drawn
    over few coarse bins (nested in the calibration bins) and shifted by the difference
    between the exact and the coarse point estimate.
    """

    def __init__(
        self,
        hist: ScoreHistogram,
        options: AuditOptions,
        rng: np.random.Generator,
        probability: bool,
    ) -> None:
        self.hist, self.probability = hist, probability
        self.coarse, self.coarse_ece = _coarse_scores(
            hist, options.bootstrap_score_bins, probability
        )
        n = self.coarse_ece.size
        count = _collapse(hist.count.astype(np.float64), self.coarse, n).round().astype(np.int64)
        c_w = _collapse(hist.weight, self.coarse, n)
        c_s = _collapse(hist.score_sum, self.coarse, n)
        c_q = _collapse(hist.score_sumsq, self.coarse, n)
        rw, (rs, rq) = resample_bins(count, c_w, options.n_boot, rng, (c_s, c_q))
        self.replicates = (rw, rs, rq)

    def _point(
        self, w: FloatArray, s: FloatArray, q: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
        n = self.coarse_ece.size
        fine = _score_values(w, s, q, self.hist.ece_bin, self.probability)
        coarse = _score_values(
            _collapse(w, self.coarse, n),
            _collapse(s, self.coarse, n),
            _collapse(q, self.coarse, n),
            self.coarse_ece,
            self.probability,
        )
        return fine, coarse

    def overall(self) -> dict[str, tuple[float, FloatArray]]:
        h = self.hist
        fine, coarse = self._point(h.weight.sum(0), h.score_sum.sum(0), h.score_sumsq.sum(0))
        rw, rs, rq = (r.sum(axis=1) for r in self.replicates)
        reps = _score_values(rw, rs, rq, self.coarse_ece, self.probability)
        return {k: (float(fine[k]), reps[k] + (fine[k] - coarse[k])) for k in SCORE_METRICS}

    def groups(
        self, matrix: FloatArray
    ) -> dict[str, tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]]:
        h = self.hist
        w, s, q = (by_group(matrix, a) for a in (h.weight, h.score_sum, h.score_sumsq))
        fine, coarse = self._point(w, s, q)
        rw, rs, rq = (by_group(matrix, a, replicated=True) for a in self.replicates)
        reps = _score_values(rw, rs, rq, self.coarse_ece, self.probability)
        count = by_group(matrix, h.count.astype(np.float64)).round().astype(np.int64)
        support = _score_support(count)
        return {k: (fine[k], reps[k] + (fine[k] - coarse[k]), support[k]) for k in SCORE_METRICS}


def by_group(matrix: FloatArray, a: FloatArray, *, replicated: bool = False) -> FloatArray:
    """Sum cell statistics into groups: ``matrix`` (groups × cells) applied to the cell axis.

    ``a`` has the cells on axis 0, or on axis 1 after the replicates when ``replicated``; one
    BLAS matrix product (numpy's einsum does not use BLAS for these shapes).
    """
    if replicated:
        batched = a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))
        out: FloatArray = np.matmul(matrix, batched)
        return out.reshape(a.shape[0], matrix.shape[0], *a.shape[2:])
    flat = a.reshape(a.shape[0], math.prod(a.shape[1:]))
    return (matrix @ flat).reshape(matrix.shape[0], *a.shape[1:])


def _score_support(count: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
    per_label = count.sum(axis=-1)  # (..., 2)
    n = per_label.sum(axis=-1)
    return {
        "roc_auc": per_label.min(axis=-1),
        "brier_score_loss": n,
        "expected_calibration_error": n,
    }
