"""Regulatory views of an attribute: EEOC four-fifths, NYC Local Law 144, representation.

Computed from the same working state as the metrics (``_engine``); rendered by the report.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

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
    from audit._engine import FloatArray, _Attribute

__all__ = ["benjamini_hochberg", "four_fifths", "ll144_table", "representation_test"]


def _ztest(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Two-proportion z-test with pooled variance; (z, two-sided p)."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x1 / n1 - x2 / n2) / se
    # scipy.stats takes ~1 s to import: only audits pay it, not report, verify or show.
    from scipy import stats as sps

    return z, float(2 * sps.norm.sf(abs(z)))


def four_fifths(
    a: _Attribute, stats: CellStatistics, options: AuditOptions
) -> tuple[FourFifthsRow, ...]:
    from scipy import stats as sps

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
        p_f = float(sps.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue)
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


def ll144_table(a: _Attribute, stats: CellStatistics, options: AuditOptions) -> LL144Table:
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


def representation_test(a: _Attribute, options: AuditOptions) -> RepresentationTest | None:
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
    from scipy import stats as sps

    chi2, p = sps.chisquare(observed, expected * n)
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
