"""The Compare page's logic: a re-audit against an earlier audit, disparity by disparity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from audit import METRIC_INFO, AuditResult, Estimate
from fairtrail.review._bundles import BundleEntry, Review


def baselines(
    review: Review, entries: Sequence[BundleEntry], decisions: Mapping[str, str | None]
) -> list[BundleEntry]:
    """The bundles to compare ``review`` against, the likeliest first.

    Intact bundles other than ``review`` itself: audits of the same data first, then those
    with a standing approval (``decisions`` maps an audit id to its standing decision), then
    the newest.
    """
    own = review.path.resolve()
    source = review.data_name
    others = [e for e in entries if e.intact and e.path.resolve() != own]
    newest_first = sorted(others, key=lambda e: e.created_at, reverse=True)
    return sorted(
        newest_first,
        key=lambda e: (
            e.source != source,
            not str(decisions.get(e.audit_id or "") or "").startswith("approve"),
        ),
    )


def comparability(before: Review, after: Review) -> list[str]:
    """Why two audits may not be comparable (empty: same data, task, policy and attributes)."""
    b, a = before.result, after.result
    out = []
    if b.task != a.task:
        out.append(f"The audits are of different tasks ({b.task} and {a.task}).")
    if before.data_name != after.data_name:
        out.append(
            f"The audits are of different data ({before.data_name!r} and {after.data_name!r}): "
            "a change may be a different population, not a different model."
        )
    if (b.policy_name, b.policy_version) != (a.policy_name, a.policy_version):
        out.append(
            f"The policies differ ({b.policy_name} {b.policy_version} and "
            f"{a.policy_name} {a.policy_version}): verdicts may change with the limits."
        )
    names_b, names_a = {x.name for x in b.attributes}, {x.name for x in a.attributes}
    if names_b != names_a:
        only = sorted(names_b ^ names_a)
        out.append(f"Attributes audited in only one of them: {', '.join(only)}.")
    return out


def _sides(before: Estimate | None, now: Estimate | None) -> dict[str, float]:
    """An estimate's value and interval in both audits, NaN where an audit lacks it."""
    out = {}
    for side, e in (("before", before), ("now", now)):
        out[side] = e.value if e else math.nan
        out[f"{side} lower"] = e.lower if e else math.nan
        out[f"{side} upper"] = e.upper if e else math.nan
    return out


def _worse(measure: str, metric: str, before: float, after: float) -> bool:
    """Whether a disparity moved away from parity (a difference grew, a ratio fell)."""
    if math.isnan(before) or math.isnan(after):
        return False
    return abs(after) > abs(before) if measure == "difference" else after < before


def _clear(lo_b: float, hi_b: float, lo_a: float, hi_a: float) -> bool:
    """Whether two intervals do not overlap (a change larger than the sampling noise)."""
    if any(math.isnan(x) for x in (lo_b, hi_b, lo_a, hi_a)):
        return False
    return hi_a < lo_b or lo_a > hi_b


def compare_disparities(before: Review, after: Review) -> pd.DataFrame:
    """Every disparity of two audits side by side: change, intervals, and what got worse.

    One row per attribute, metric and measure present in either audit. ``worse``: the
    disparity moved away from parity; ``clearly worse``: it did and the two intervals do not
    overlap. A disparity in only one audit has NaN on the other side and a ``note``.
    The worst changes come first.
    """

    def index(r: AuditResult) -> dict[tuple[str, str, str], Any]:
        return {(a.name, d.metric, d.measure): d for a in r.attributes for d in a.disparities}

    b, a = index(before.result), index(after.result)
    rows = []
    for key in [*b, *(k for k in a if k not in b)]:
        db, da = b.get(key), a.get(key)
        eb = db.estimate if db else None
        ea = da.estimate if da else None
        sides = _sides(eb, ea)
        worse = _worse(key[2], key[1], sides["before"], sides["now"])
        note = (
            "only in the earlier audit"
            if da is None
            else "only in this audit"
            if db is None
            else "; ".join(
                f"{side}: {e.undefined_reason}"
                for side, e in (("earlier", eb), ("now", ea))
                if e is not None and not e.defined
            )
        )
        rows.append(
            {
                "attribute": key[0],
                "metric": key[1],
                "measure": key[2],
                **sides,
                "change": sides["now"] - sides["before"],
                "worse": worse,
                "clearly worse": worse
                and _clear(
                    sides["before lower"],
                    sides["before upper"],
                    sides["now lower"],
                    sides["now upper"],
                ),
                "note": note,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    away = frame.apply(
        lambda r: abs(r["change"]) if r["measure"] == "difference" else -r["change"], axis=1
    )
    frame = frame.assign(_away=away.where(frame["worse"], -math.inf))
    frame = frame.sort_values(
        ["clearly worse", "worse", "_away"], ascending=False, kind="stable"
    ).drop(columns="_away")
    return frame.reset_index(drop=True)


def comparison_summary(table: pd.DataFrame) -> tuple[str, str]:
    """A one-line verdict on a :func:`compare_disparities` table: ``(level, text)``.

    ``level`` is ``"error"`` when a disparity got clearly worse (beyond its intervals),
    ``"warning"`` when some moved away from parity within the noise, ``"success"`` otherwise.
    """
    if table.empty:
        return "info", "Neither audit has disparities to compare."
    worse = int(table["worse"].sum())
    clearly = table[table["clearly worse"]]
    if len(clearly):
        names = ", ".join(
            f"{r['metric'].replace('_', ' ')} {r['measure']} on {r['attribute']}"
            for r in clearly.head(3).to_dict("records")
        )
        more = f" and {len(clearly) - 3} more" if len(clearly) > 3 else ""
        return "error", (
            f"{len(clearly)} disparit{'y' if len(clearly) == 1 else 'ies'} got clearly worse "
            f"(the intervals do not overlap): {names}{more}."
        )
    if worse:
        return "warning", (
            f"No disparity got clearly worse: {worse} of {len(table)} moved away from parity, "
            "each by less than its intervals' overlap (within sampling noise)."
        )
    return "success", f"None of the {len(table)} disparities moved away from parity."


def compare_groups(before: Review, after: Review, attribute: str, metric: str) -> pd.DataFrame:
    """One metric per group in two audits: before, now, change, intervals; worse marked.

    ``worse`` follows the metric's direction (a lower accuracy, a higher error); for a
    metric with no better direction (selection rate) it is left empty (NA).
    """

    def groups(r: Review) -> dict[str, Any]:
        try:
            return {g.group: g for g in r.result.attribute(attribute).groups}
        except KeyError:
            return {}

    gb, ga = groups(before), groups(after)
    info = METRIC_INFO.get(metric)
    higher = None if info is None else info.higher_is_better
    rows = []
    for name in [*gb, *(k for k in ga if k not in gb)]:
        sides = _sides(
            gb[name].metrics.get(metric) if name in gb else None,
            ga[name].metrics.get(metric) if name in ga else None,
        )
        change = sides["now"] - sides["before"]
        worse: bool | None = None
        if higher is not None and not math.isnan(change):
            worse = change < 0 if higher else change > 0
        rows.append(
            {
                "group": name,
                "count before": gb[name].count if name in gb else pd.NA,
                "count now": ga[name].count if name in ga else pd.NA,
                **sides,
                "change": change,
                "worse": worse,
                "small": (name in gb and not gb[name].sufficient)
                or (name in ga and not ga[name].sufficient),
            }
        )
    return pd.DataFrame(rows)


def compare_criteria(before: Review, after: Review) -> pd.DataFrame:
    """Each criterion's verdict and estimate in both audits (a verdict that changed first)."""

    def index(r: Review) -> dict[tuple[str, str], Any]:
        return {(c.criterion, c.attribute): c for c in r.result.criteria}

    b, a = index(before), index(after)
    rows = []
    for key in [*b, *(k for k in a if k not in b)]:
        cb, ca = b.get(key), a.get(key)
        rows.append(
            {
                "criterion": key[0],
                "attribute": key[1],
                "verdict before": cb.verdict if cb else "—",
                "verdict now": ca.verdict if ca else "—",
                "before": cb.estimate.value if cb else math.nan,
                "now": ca.estimate.value if ca else math.nan,
                "changed": (cb.verdict if cb else None) != (ca.verdict if ca else None),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values("changed", ascending=False, kind="stable").reset_index(drop=True)
