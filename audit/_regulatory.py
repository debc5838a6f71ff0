"""Regulatory views of an attribute: EEOC four-fifths, NYC Local Law 144, representation.

Computed from the same working state as the metrics (``_engine``); rendered by the report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from audit._exceptions import SpecError
from audit._result import (
    AuditOptions,
    FourFifthsRow,
    LL144Row,
    LL144Table,
    RepresentationTest,
)
from audit._statistics import CellStatistics

if TYPE_CHECKING:
    from audit._attributes import Attribute, FloatArray

__all__ = [
    "benjamini_hochberg",
    "fisher_exact_p",
    "four_fifths",
    "ll144_table",
    "representation_test",
]


def _ztest(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Two-proportion z-test with pooled variance; (z, two-sided p)."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2.0))  # 2 · P(Z > |z|)


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test of ``[[x1, n1 - x1], [x2, n2 - x2]]``.

    The probability, with both margins fixed, of a table no more likely than the observed one
    (``scipy.stats.fisher_exact``'s definition; ties within a relative 1e-7, as R's
    ``fisher.test``). The hypergeometric probabilities come from their ratio between
    neighbouring tables, multiplied out from the most likely table, so that the sum is exact
    to rounding for any counts without importing scipy.stats (a second per audit).

    Examples
    --------
    >>> round(fisher_exact_p(1, 10, 60, 100), 6)  # scipy.stats.fisher_exact: 0.0047703...
    0.00477
    >>> fisher_exact_p(3, 10, 3, 10)
    1.0
    """
    selected, total = x1 + x2, n1 + n2
    lo, hi = max(0, selected - n2), min(selected, n1)
    if lo == hi:
        return 1.0
    rest = total - selected - n1

    def step(k: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Log P(k + 1) − log P(k), k the number selected in the first row."""
        out: npt.NDArray[np.float64] = np.log((selected - k) * (n1 - k)) - np.log(
            (k + 1) * (rest + k + 1)
        )
        return out

    mode = min(max((selected + 1) * (n1 + 1) // (total + 2), lo), hi)

    def log_pmf(k: int) -> float:  # to within about 1e-7: only to tell a vanishing p
        lg = math.lgamma
        return -(lg(k + 1) + lg(selected - k + 1) + lg(n1 - k + 1) + lg(rest + k + 1))

    if log_pmf(x1) - log_pmf(mode) < -800:  # every table as unlikely: p < 1e-340, 0.0
        return 0.0
    sd = math.sqrt(n1 * selected * (total - selected) * (total - n1) / total**2 / max(total - 1, 1))
    # Only the tables near the mode and the observed one count: beyond, the probabilities
    # vanish. The window grows until what it leaves out is below 1e-12 of the observed one.
    reach = int(2 * abs(x1 - mode) + 40 * sd) + 40
    while True:
        a, b = max(lo, mode - reach), min(hi, mode + reach)
        steps = step(np.arange(a, b, dtype=np.float64))
        m = mode - a
        log_p = np.concatenate([-np.cumsum(steps[:m][::-1])[::-1], [0.0], np.cumsum(steps[m:])])
        p = np.exp(log_p)  # P(k) / P(mode), summed outwards from the mode
        observed = p[x1 - a]
        left_out = 0.0
        for end, at, sign in ((a, lo, -1), (b, hi, 1)):
            if end != at:  # log-concave: the tail beyond is at most geometric from its edge
                k = end - 1.0 if sign < 0 else float(end)
                ratio = float(np.exp(sign * step(np.array([k]))[0]))
                left_out += math.inf if ratio >= 1 else float(p[end - a]) / (1 - ratio)
        # (An observed table that underflows beside the mode has p below 1e-300: 0.)
        if left_out <= 1e-12 * observed or observed == 0 or (a == lo and b == hi):
            break
        reach *= 2
    return min(1.0, float(p[p <= observed * (1 + 1e-7)].sum() / p.sum()))


def four_fifths(
    a: Attribute, stats: CellStatistics, options: AuditOptions
) -> tuple[FourFifthsRow, ...]:
    count = a.count
    selected = (a.matrix @ stats.confusion_count[:, [1, 3]].sum(axis=1)).round().astype(np.int64)
    rate = a.metrics["selection_rate"].values
    usable = a.metrics["selection_rate"].eligible
    if not usable.any():
        return ()
    ref = int(np.flatnonzero(usable)[np.argmax(rate[usable])])
    tests = []
    for g in range(len(a.labels)):
        if g == ref:
            tests.append((math.nan, math.nan, math.nan, math.nan))
            continue
        x1, n1, x2, n2 = int(selected[g]), int(count[g]), int(selected[ref]), int(count[ref])
        z, p_z = _ztest(x1, n1, x2, n2)
        p_f = fisher_exact_p(x1, n1, x2, n2)
        tests.append((z, p_z, p_f, p_f if _min_expected(x1, n1, x2, n2) < 5 else p_z))
    q = benjamini_hochberg(np.array([t[3] for t in tests]))
    rows = []
    for g, label in enumerate(a.labels):
        z, p_z, p_f, p = tests[g]
        ratio = rate[g] / rate[ref] if rate[ref] > 0 else math.nan
        rows.append(
            FourFifthsRow(
                group=label,
                count=int(count[g]),
                selected=int(selected[g]),
                selection_rate=float(rate[g]),
                impact_ratio=float(ratio),
                reference_group=a.labels[ref],
                flagged=bool(usable[g] and ratio < options.four_fifths_threshold),
                z_statistic=float(z),
                z_p_value=float(p_z),
                fisher_p_value=float(p_f),
                p_value=float(p),
                q_value=float(q[g]),
                significant=bool(q[g] < options.significance_level),
                eligible=bool(usable[g]),
            )
        )
    return tuple(rows)


def benjamini_hochberg(p: FloatArray) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN entries are not tests.

    Declaring significant every test with ``q < α`` controls the false discovery rate at α
    (for independent or positively dependent tests).

    Examples
    --------
    >>> import numpy as np
    >>> benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03])).round(3).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    if tested.size:
        order = tested[np.argsort(p[tested], kind="stable")]
        m = order.size
        scaled = p[order] * m / np.arange(1, m + 1)
        q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def _min_expected(x1: int, n1: int, x2: int, n2: int) -> float:
    n = n1 + n2
    if n == 0:
        return 0.0
    sel = x1 + x2
    return min(n1 * sel / n, n1 * (n - sel) / n, n2 * sel / n, n2 * (n - sel) / n)


def ll144_table(a: Attribute, stats: CellStatistics, options: AuditOptions) -> LL144Table:
    scoring = options.ll144_rate == "scoring_rate"
    if scoring and stats.scores is None:
        raise SpecError("ll144_rate = 'scoring_rate' needs a y_score column.")
    if scoring:
        assert stats.scores is not None
        hits = a.matrix @ stats.scores.above_median_weight
        median = stats.scores.median
    else:
        hits = a.matrix @ stats.confusion_weight[:, [1, 3]].sum(axis=1)
        median = math.nan
    total = float(stats.confusion_weight.sum())
    known = ~a.unknown
    share = a.weight / total
    rate = np.divide(hits, a.weight, out=np.full_like(hits, np.nan), where=a.weight > 0)
    counted = known & (share >= options.ll144_min_share) & np.isfinite(rate)
    top = int(np.flatnonzero(counted)[np.argmax(rate[counted])]) if counted.any() else None
    rows = tuple(
        LL144Row(
            category=a.labels[g],
            count=int(a.count[g]),
            rate=float(rate[g]),
            impact_ratio=float(rate[g] / rate[top])
            if top is not None and rate[top] > 0 and counted[g]
            else math.nan,
            share=float(share[g]),
            excludable=bool(share[g] < options.ll144_min_share),
        )
        for g in range(len(a.labels))
        if known[g]
    )
    return LL144Table(
        attribute=a.name,
        rate_kind=options.ll144_rate,
        median_score=median,
        rows=rows,
        unknown_count=int(a.count[a.unknown].sum()),
        most_selected=a.labels[top] if top is not None else None,
    )


def representation_test(a: Attribute, options: AuditOptions) -> RepresentationTest | None:
    shares = options.reference_population.get(a.name)
    if shares is None:
        return None
    known = [i for i, u in enumerate(a.unknown) if not u]
    present = {a.labels[i] for i in known}
    unlisted = sorted(present - set(shares))
    if unlisted:
        raise SpecError(
            f"reference_population for '{a.name}' must give a share for every category in the "
            f"data; missing: {unlisted}."
        )
    names = sorted(shares)
    expected = np.array([shares[n] for n in names], dtype=np.float64)
    if (expected <= 0).any() or not math.isclose(float(expected.sum()), 1.0, abs_tol=1e-6):
        raise SpecError(
            f"reference_population for '{a.name}' must hold positive shares summing to 1; "
            f"got a sum of {float(expected.sum()):.6g}."
        )
    observed = np.array([float(a.count[a.labels.index(n)]) if n in present else 0.0 for n in names])
    n = observed.sum()
    from scipy.special import chdtrc  # chi-square survival function (scipy.stats: 1 s import)

    chi2 = float((((observed - expected * n) ** 2) / (expected * n)).sum())
    p = float(chdtrc(len(names) - 1, chi2))
    obs_share = observed / n
    ratio = obs_share / expected
    under = tuple(names[i] for i in np.argsort(ratio) if ratio[i] < 1.0)
    return RepresentationTest(
        attribute=a.name,
        observed_share=dict(zip(names, map(float, obs_share), strict=True)),
        expected_share=dict(zip(names, map(float, expected), strict=True)),
        representation_ratio=dict(zip(names, map(float, ratio), strict=True)),
        chi2_statistic=float(chi2),
        p_value=float(p),
        most_under_represented=under[:3],
    )
