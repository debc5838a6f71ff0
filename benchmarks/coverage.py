"""Coverage of every interval fairtrail prints, by simulation with known true values.

Usage (from the repository root, with the project's venv)::

    python benchmarks/coverage.py                 # every setting, 500 audits each
    python benchmarks/coverage.py --runs 200      # fewer audits (wider binomial error)
    python benchmarks/coverage.py --old 7ae0179   # also the intervals of an older commit
    python benchmarks/coverage.py --only parity   # settings whose name contains "parity"

Each *setting* draws independent data sets from a population whose true group values are
known (rates by construction; AUC, Brier score and calibration error by numerical
integration; regression metrics in closed form), audits each with fairtrail's public API
and counts, for every *interval kind*, how often the printed interval contains the truth,
its mean width, and how often it leaves the parameter's range. Groups have fixed sizes
(stratified sampling, as in a designed audit sample).

``--old REF`` runs the same settings, with the same data, through the fairtrail of git
commit ``REF`` (checked out with ``git worktree`` under ``.bench/``) in a subprocess, so that
old and new intervals are measured side by side. The table is printed and written to
``.bench/coverage.json``. ``tests/test_coverage.py`` runs a smaller battery of the same
settings in the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 0.95
SEED = 20_261_207

# ---------------------------------------------------------------------------------------------
# Populations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A population, the audit asked of samples from it, and the truths to compare with."""

    name: str
    kind: str  # "rates", "scores", "regression"
    sizes: tuple[int, ...]  # rows per group (fixed: a stratified sample)
    #: rates: per group (base rate, TPR, FPR); scores: per group (exponent a of the
    #: calibration curve P(Y=1 | S=s) = s^a, Beta(α, β) of the score); regression: per group
    #: (mean, sd) of the error ŷ − y.
    params: tuple[tuple[float, ...], ...]
    metrics: tuple[str, ...]  # group metrics whose intervals are checked
    disparities: tuple[str, ...] = ()  # metrics whose differences and ratios are checked
    criteria: tuple[str, ...] = ()  # policy criteria whose verdict intervals are checked
    weighted: bool = False
    min_group_size: int = 30
    errors: str = "normal"  # regression: "normal" or "exponential"

    @property
    def groups(self) -> list[str]:
        return [f"g{i}" for i in range(len(self.sizes))]


def _rates(base: float, tpr: float, fpr: float) -> dict[str, float]:
    sr = base * tpr + (1 - base) * fpr
    precision = base * tpr / sr if sr > 0 else math.nan
    return {
        "selection_rate": sr,
        "true_positive_rate": tpr,
        "false_positive_rate": fpr,
        "precision": precision,
        "accuracy": base * tpr + (1 - base) * (1 - fpr),
        "balanced_accuracy": (tpr + 1 - fpr) / 2,
        # F1 = 2TP / (2TP + FP + FN), in population shares
        "f1_score": 2 * base * tpr / (2 * base * tpr + (1 - base) * fpr + base * (1 - tpr)),
    }


def _overall_rates(s: Setting) -> dict[str, float]:
    """The whole sample's true values: the groups' mixed by their (fixed) sizes."""
    total = sum(s.sizes)
    w = [n / total for n in s.sizes]
    base = sum(wi * p[0] for wi, p in zip(w, s.params, strict=True))
    tp = sum(wi * p[0] * p[1] for wi, p in zip(w, s.params, strict=True))
    fp = sum(wi * (1 - p[0]) * p[2] for wi, p in zip(w, s.params, strict=True))
    sr = tp + fp
    return {
        "selection_rate": sr,
        "true_positive_rate": tp / base,
        "false_positive_rate": fp / (1 - base),
        "precision": tp / sr if sr > 0 else math.nan,
        "accuracy": tp + (1 - base) - fp,
    }


_GRID = (np.arange(400_000) + 0.5) / 400_000  # midpoints: numerical integration over (0, 1)


def _score_truths(a: float, alpha: float, beta: float) -> dict[str, float]:
    """AUC, Brier score and calibration error of scores S ~ Beta(α, β), P(Y=1|S) = S^a."""
    from scipy import stats as st

    s = _GRID
    f = st.beta.pdf(s, alpha, beta)
    f = f / f.sum()
    g = s**a
    f1, f0 = f * g, f * (1 - g)
    p1, p0 = f1.sum(), f0.sum()
    below0 = np.cumsum(f0) - 0.5 * f0  # negatives below each point, ties halved
    auc = float((f1 * below0).sum() / (p1 * p0))
    brier = float((f * (s**2 - 2 * s * g + g)).sum())
    b = np.minimum((s * 10).astype(int), 9)
    gap = np.bincount(b, weights=f * (g - s), minlength=10)
    return {
        "roc_auc": auc,
        "brier_score_loss": brier,
        "expected_calibration_error": float(np.abs(gap).sum()),
    }


def _regression_truths(mu: float, sd: float, errors: str) -> dict[str, float]:
    """Truths for y ~ N(10, 3²) and an independent error e = ŷ − y."""
    var_y = 9.0
    if errors == "normal":
        z = mu / sd
        mae = sd * math.sqrt(2 / math.pi) * math.exp(-(z**2) / 2) + mu * math.erf(z / math.sqrt(2))
        mse = mu**2 + sd**2
    else:  # e = mu + sd·(X − 1), X ~ Exp(1): mean mu, sd sd
        c = sd - mu  # e < 0 ⇔ X < c/sd
        t = c / sd
        # E|e| = E[e] + 2·E[max(−e, 0)]; with X ~ Exp(1): E[(c − sd·X)⁺] = c − sd(1 − e^{−t})
        neg = c - sd * (1 - math.exp(-t)) if t > 0 else 0.0
        mae = mu + 2 * neg
        mse = mu**2 + sd**2
    return {
        "mean_absolute_error": mae,
        "root_mean_squared_error": math.sqrt(mse),
        "mean_error": mu,
        "mean_prediction": 10.0 + mu,
        "r2_score": 1.0 - mse / var_y,
    }


def truths(s: Setting) -> dict[str, dict[str, float]]:
    """True value of each metric per group (and ``"__overall__"``)."""
    out: dict[str, dict[str, float]] = {}
    for name, p in zip(s.groups, s.params, strict=True):
        if s.kind == "rates":
            out[name] = _rates(*p)
        elif s.kind == "scores":
            out[name] = _score_truths(*p)
        else:
            out[name] = _regression_truths(p[0], p[1], s.errors)
    if s.kind == "rates":
        out["__overall__"] = _overall_rates(s)
    return out


def sample(s: Setting, rng: np.random.Generator) -> dict[str, Any]:
    """One data set from the setting's population (arrays for ``audit_predictions``)."""
    parts: dict[str, list[Any]] = {"y_true": [], "y_pred": [], "g": [], "y_score": [], "w": []}
    for name, n, p in zip(s.groups, s.sizes, s.params, strict=True):
        if s.kind == "rates":
            base, tpr, fpr = p
            y = rng.random(n) < base
            pred = np.where(y, rng.random(n) < tpr, rng.random(n) < fpr)
            parts["y_true"].append(y.astype(np.int64))
            parts["y_pred"].append(pred.astype(np.int64))
        elif s.kind == "scores":
            a, alpha, beta = p
            score = rng.beta(alpha, beta, n)
            y = rng.random(n) < score**a
            parts["y_true"].append(y.astype(np.int64))
            parts["y_pred"].append((score > 0.5).astype(np.int64))
            parts["y_score"].append(score)
        else:
            mu, sd = p
            y = rng.normal(10.0, 3.0, n)
            if s.errors == "normal":
                e = rng.normal(mu, sd, n)
            else:
                e = mu + sd * (rng.exponential(1.0, n) - 1.0)
            parts["y_true"].append(y)
            parts["y_pred"].append(y + e)
        parts["g"].append(np.full(n, name))
        if s.weighted:
            # Weights independent of the outcome: the weighted truth is the unweighted one.
            parts["w"].append(rng.lognormal(0.0, 0.5, n))
    return {k: np.concatenate(v) for k, v in parts.items() if v}


# ---------------------------------------------------------------------------------------------
# The settings
# ---------------------------------------------------------------------------------------------

_DP = ("selection_rate",)
_EO = ("true_positive_rate", "false_positive_rate")


def _same(k: int, p: tuple[float, ...]) -> tuple[tuple[float, ...], ...]:
    return tuple(p for _ in range(k))


def _rates_setting(
    name: str,
    sizes: Sequence[int],
    params: Sequence[tuple[float, ...]],
    *,
    criteria: tuple[str, ...] = ("demographic_parity_difference",),
    metrics: tuple[str, ...] = ("selection_rate", "true_positive_rate", "false_positive_rate"),
    **kw: Any,
) -> Setting:
    return Setting(name, "rates", tuple(sizes), tuple(params), metrics, _DP, criteria, **kw)


SETTINGS: tuple[Setting, ...] = (
    # At parity (the example: two groups of 1,000 selecting at 0.30).
    _rates_setting("parity 2×1000", (1000, 1000), _same(2, (0.4, 0.45, 0.2333))),
    _rates_setting("parity 3×100", (100,) * 3, _same(3, (0.4, 0.6, 0.15))),
    _rates_setting("parity 5×30", (30,) * 5, _same(5, (0.5, 0.5, 0.5))),
    _rates_setting("parity 2×30", (30, 30), _same(2, (0.3, 0.5, 0.2))),
    # Near parity: a true gap of 0.01.
    _rates_setting("near parity 2×1000", (1000, 1000), ((0.4, 0.45, 0.2333), (0.4, 0.47, 0.24))),
    _rates_setting(
        "near parity 3×100", (100,) * 3, ((0.4, 0.6, 0.15), (0.4, 0.6, 0.1667), (0.4, 0.6, 0.15))
    ),
    # A clear gap.
    _rates_setting(
        "gap 3×100",
        (100,) * 3,
        ((0.5, 0.3, 0.1), (0.5, 0.5, 0.1), (0.5, 0.7, 0.1)),
        metrics=(
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "precision",
            "accuracy",
            "balanced_accuracy",
            "f1_score",
        ),
    ),
    # Rates at 0 and 1, and close to them.
    _rates_setting(
        "rates at 0 and 1, 3×40", (40,) * 3, ((0.5, 0.0, 0.0), (0.5, 1.0, 1.0), (0.5, 1.0, 0.0))
    ),
    _rates_setting("1 in 40 selected, 2×40", (40, 40), ((0.5, 0.05, 0.0), (0.5, 0.95, 1.0))),
    # Rare outcomes: 3 % against 1 %.
    _rates_setting(
        "rare 3% vs 1%, 2×1000",
        (1000, 1000),
        ((0.03, 1.0, 0.0), (0.01, 1.0, 0.0)),
        metrics=("selection_rate",),
    ),
    _rates_setting(
        "rare 3% vs 1%, 2×100",
        (100, 100),
        ((0.03, 1.0, 0.0), (0.01, 1.0, 0.0)),
        metrics=("selection_rate",),
    ),
    # Equalized odds (two metrics in one criterion), at and near parity.
    _rates_setting(
        "equalized odds 3×100",
        (100,) * 3,
        _same(3, (0.5, 0.7, 0.2)),
        criteria=("equalized_odds_difference", "demographic_parity_ratio"),
        min_group_size=10,
    ),
    _rates_setting(
        "equalized odds gap 0.01, 2×1000",
        (1000, 1000),
        ((0.5, 0.7, 0.2), (0.5, 0.71, 0.2)),
        criteria=("equalized_odds_difference",),
    ),
    # Sample weights (independent of the outcome).
    _rates_setting("weighted parity 3×100", (100,) * 3, _same(3, (0.4, 0.6, 0.15)), weighted=True),
    # Scores: AUC, Brier score, calibration error (calibrated and not).
    Setting(
        "scores 3×30",
        "scores",
        (30,) * 3,
        ((1.0, 2.0, 3.0), (0.6, 2.0, 3.0), (1.0, 1.0, 1.0)),
        ("roc_auc", "brier_score_loss", "expected_calibration_error"),
        ("roc_auc",),
    ),
    Setting(
        "scores 3×100",
        "scores",
        (100,) * 3,
        ((1.0, 2.0, 3.0), (0.6, 2.0, 3.0), (1.0, 1.0, 1.0)),
        ("roc_auc", "brier_score_loss", "expected_calibration_error"),
        ("roc_auc", "expected_calibration_error"),
    ),
    Setting(
        "scores 2×1000",
        "scores",
        (1000, 1000),
        ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0)),
        ("roc_auc", "brier_score_loss", "expected_calibration_error"),
        ("roc_auc", "expected_calibration_error"),
    ),
    Setting(
        "weighted scores 3×100",
        "scores",
        (100,) * 3,
        ((1.0, 2.0, 3.0), (0.6, 2.0, 3.0), (1.0, 1.0, 1.0)),
        ("roc_auc", "brier_score_loss", "expected_calibration_error"),
        ("roc_auc",),
        weighted=True,
    ),
    # Regression: normal errors with group-dependent bias and spread.
    Setting(
        "regression 3×30",
        "regression",
        (30,) * 3,
        ((0.0, 2.0), (0.5, 2.0), (0.0, 3.0)),
        ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
        ("mean_absolute_error", "root_mean_squared_error"),
    ),
    Setting(
        "regression 3×100",
        "regression",
        (100,) * 3,
        ((0.0, 2.0), (0.5, 2.0), (0.0, 2.0)),
        ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
        ("mean_absolute_error", "root_mean_squared_error"),
    ),
    Setting(
        "regression 2×1000",
        "regression",
        (1000, 1000),
        ((0.0, 2.0), (0.0, 2.0)),
        ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
        ("mean_absolute_error", "root_mean_squared_error"),
    ),
)

#: Settings outside the battery's promise, measured and published as they are.
STRESS: tuple[Setting, ...] = (
    Setting(
        "regression, skewed errors, 3×30",
        "regression",
        (30,) * 3,
        ((0.0, 2.0), (0.5, 2.0), (0.0, 3.0)),
        ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
        ("mean_absolute_error",),
        errors="exponential",
    ),
    Setting(
        "regression, skewed errors, 3×100",
        "regression",
        (100,) * 3,
        ((0.0, 2.0), (0.5, 2.0), (0.0, 3.0)),
        ("mean_absolute_error", "root_mean_squared_error", "mean_error", "r2_score"),
        ("mean_absolute_error",),
        errors="exponential",
    ),
)


# ---------------------------------------------------------------------------------------------
# Auditing a sample and scoring its intervals
# ---------------------------------------------------------------------------------------------

#: Parameter ranges: an interval outside them is counted as out of range.
RANGES = {
    "mean_error": (-math.inf, math.inf),
    "mean_prediction": (-math.inf, math.inf),
    "r2_score": (-math.inf, 1.0),
    "mean_absolute_error": (0.0, math.inf),
    "root_mean_squared_error": (0.0, math.inf),
}
METHODS = ("between_groups", "to_overall", "reference")


@dataclass
class Tally:
    """Coverage counts of one interval kind."""

    covered: int = 0
    defined: int = 0
    width: float = 0.0
    out_of_range: int = 0
    undefined: int = 0

    def add(self, lo: float, hi: float, truth: float, rng: tuple[float, float]) -> None:
        if math.isnan(lo) or math.isnan(hi) or math.isnan(truth):
            self.undefined += 1
            return
        self.defined += 1
        self.covered += int(lo - 1e-12 <= truth <= hi + 1e-12)
        self.width += hi - lo
        self.out_of_range += int(lo < rng[0] - 1e-12 or hi > rng[1] + 1e-12)

    @property
    def coverage(self) -> float:
        return self.covered / self.defined if self.defined else math.nan


def _audit(s: Setting, data: dict[str, Any], method: str) -> Any:
    from audit import AuditOptions, Policy, Threshold, audit_predictions

    fields = {f.name for f in dataclasses.fields(AuditOptions)}
    opts: dict[str, Any] = {
        "confidence_level": LEVEL,
        "min_group_size": s.min_group_size,
        "disparity_method": method,
    }
    if method == "reference":
        opts["reference_groups"] = {"g": "g0"}
    if s.kind == "regression":
        opts["task"] = "regression"
    if "n_boot" in fields:  # the bootstrap of older commits
        opts["n_boot"] = 1000
        opts["random_state"] = int(data["seed"])
    thresholds = [Threshold(c, 0.5 if c.endswith("ratio") else 0.1) for c in s.criteria]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return audit_predictions(
            data["y_true"],
            data["y_pred"],
            sensitive_features={"g": data["g"]},
            y_score=data.get("y_score"),
            sample_weight=data.get("w"),
            policy=Policy(tuple(thresholds)) if thresholds else None,
            options=AuditOptions(**opts),
        )


def _truth_of(
    measure: str, method: str, values: dict[str, float], ref: float, overall: float
) -> float:
    v = list(values.values())
    if not v:
        return math.nan
    if method == "between_groups":
        return (
            max(v) - min(v)
            if measure == "difference"
            else (min(v) / max(v) if max(v) > 0 else math.nan)
        )
    base = ref if method == "reference" else overall
    if measure == "difference":
        return max(abs(x - base) for x in v)
    pairs = [min(x, base) / max(x, base) if max(x, base) > 0 else math.nan for x in v]
    return min(pairs)


def score(
    s: Setting,
    result: Any,
    method: str,
    truth: dict[str, dict[str, float]],
    tallies: dict[str, dict[str, Tally]],
    old: bool,
) -> None:
    """Add one audit's intervals to the tallies: ``tallies[kind][variant]``."""

    def tally(kind: str, variant: str = "printed") -> Tally:
        return tallies.setdefault(kind, {}).setdefault(variant, Tally())

    a = result.attribute("g")
    groups = {g.group: g for g in a.groups}
    overall_truth = truth.get("__overall__", {})
    if method == "between_groups":
        for m in s.metrics:
            rng = RANGES.get(m, (0.0, 1.0))
            joint: list[bool] = []
            for name in s.groups:
                e = groups[name].metrics[m]
                t = truth[name][m]
                tally(f"{m}: each group").add(e.lower, e.upper, t, rng)
                lo, hi = e.simultaneous_lower, e.simultaneous_upper
                if not (math.isnan(lo) or math.isnan(hi) or math.isnan(t)):
                    joint.append(lo - 1e-12 <= t <= hi + 1e-12)
                    tally(f"{m}: all groups jointly (bounds)").add(lo, hi, t, rng)
            if joint:
                k = tally(f"{m}: all groups jointly")
                k.defined += 1
                k.covered += int(all(joint))
            if m in overall_truth:
                e = result.overall[m]
                tally(f"{m}: whole population").add(e.lower, e.upper, overall_truth[m], rng)
    for m in s.disparities:
        for d in a.disparities:
            if d.metric != m:
                continue
            compared = {g: truth[g][m] for g in d.groups_compared if g in truth}
            ref_group = d.method.split(": ", 1)[1] if d.method.startswith("reference") else None
            ref = truth[ref_group][m] if ref_group else math.nan
            if ref_group:
                compared[ref_group] = ref
            t = _truth_of(d.measure, method, compared, ref, overall_truth.get(m, math.nan))
            rng = (0.0, 1.0) if d.measure == "ratio" else (0.0, math.inf)
            kind = f"{m} {d.measure} ({method.replace('_', ' ')})"
            e = d.estimate
            tally(kind, "printed").add(e.lower, e.upper, t, rng)
            if old:
                tally(kind, "simultaneous").add(e.simultaneous_lower, e.simultaneous_upper, t, rng)
    if method == "between_groups":
        for c in result.criteria:
            vals = []
            for m in c.metrics:
                compared = {
                    g: truth[g][m]
                    for d in a.disparities
                    if d.metric == m and d.measure == c.measure
                    for g in d.groups_compared
                }
                vals.append(_truth_of(c.measure, "between_groups", compared, math.nan, math.nan))
            t = (max(vals) if c.measure == "difference" else min(vals)) if vals else math.nan
            rng = (0.0, 1.0) if c.measure == "ratio" else (0.0, math.inf)
            kind = f"criterion {c.criterion}"
            e = c.estimate
            tally(kind, "printed").add(e.lower, e.upper, t, rng)
            if old:
                tally(kind, "simultaneous").add(e.simultaneous_lower, e.simultaneous_upper, t, rng)


def run_setting(
    s: Setting,
    runs: int,
    old: bool = False,
    seed: int = SEED,
    methods: Sequence[str] | None = None,
) -> dict[str, dict[str, Tally]]:
    """Audit ``runs`` samples of the setting; the tallies by interval kind and variant.

    ``methods``: the disparity methods audited (default: all three for rate settings).
    """
    truth = truths(s)
    tallies: dict[str, dict[str, Tally]] = {}
    if methods is None:
        methods = METHODS if s.kind == "rates" else ("between_groups",)
    base = np.random.SeedSequence([seed, sum(map(ord, s.name))])
    for i, child in enumerate(base.spawn(runs)):
        rng = np.random.default_rng(child)
        data = sample(s, rng)
        data["seed"] = i
        for method in methods:
            score(s, _audit(s, data, method), method, truth, tallies, old)
    return tallies


# ---------------------------------------------------------------------------------------------
# Old commits, side by side
# ---------------------------------------------------------------------------------------------


def _worktree(ref: str) -> Path:
    """A checkout of ``ref`` under .bench/ (created once with ``git worktree``)."""
    path = ROOT / ".bench" / f"fairtrail-{ref}"
    if not (path / "audit" / "__init__.py").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach", str(path), ref],
            check=True,
            capture_output=True,
        )
    return path


def _as_json(t: dict[str, dict[str, Tally]]) -> dict[str, dict[str, dict[str, float]]]:
    return {k: {v: dataclasses.asdict(x) for v, x in d.items()} for k, d in t.items()}


def _from_json(d: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, Tally]]:
    return {k: {v: Tally(**x) for v, x in variants.items()} for k, variants in d.items()}


def run_old(ref: str, names: list[str], runs: int) -> dict[str, dict[str, dict[str, Tally]]]:
    """The settings through the fairtrail of commit ``ref``, in a subprocess."""
    tree = _worktree(ref)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps({"names": names, "runs": runs})],
        env=env,
        cwd=str(tree),
        check=True,
        capture_output=True,
        text=True,
    )
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    return {name: _from_json(t) for name, t in raw.items()}


def _worker(arg: str) -> None:
    job = json.loads(arg)
    by_name = {s.name: s for s in (*SETTINGS, *STRESS)}
    out = {n: _as_json(run_setting(by_name[n], job["runs"], old=True)) for n in job["names"]}
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _fmt(t: Tally | None) -> str:
    if t is None or not t.defined:
        return f"{'—':>7} {'':>7}"
    width = t.width / t.defined if t.defined and t.width else math.nan
    w = "" if math.isnan(width) else f"{width:7.3f}"
    mark = "!" if t.out_of_range else " "
    return f"{t.coverage:6.3f}{mark} {w:>7}"


def table(
    new: dict[str, dict[str, dict[str, Tally]]],
    old: dict[str, dict[str, dict[str, Tally]]] | None,
    runs: int,
) -> Iterator[str]:
    head = f"{'setting / interval kind':<58} {'new cov.':>7} {'width':>7}"
    if old is not None:
        head += f"  {'old cov.':>7} {'width':>7}  {'old sim.':>7} {'width':>7}"
    yield head
    yield "-" * len(head)
    for name, kinds in new.items():
        yield name
        for kind, variants in kinds.items():
            if kind.endswith("(bounds)"):
                continue
            line = f"  {kind:<56} {_fmt(variants.get('printed'))}"
            if old is not None:
                o = old.get(name, {}).get(kind, {})
                line += f"  {_fmt(o.get('printed'))}  {_fmt(o.get('simultaneous'))}"
            yield line
    yield ""
    yield (
        f"coverage: share of the {runs} audits per setting whose interval holds the true value "
        f"(nominal {LEVEL:.2f}; binomial sd about {math.sqrt(LEVEL * (1 - LEVEL) / runs):.3f}); "
        "'all groups jointly': every group's simultaneous interval at once. width: mean "
        "width. '!': some intervals left the parameter's range. old sim.: the older "
        "commit's simultaneous bounds (its verdicts used them; it printed 'old cov.')."
    )


#: The summary's columns: a label and which interval kinds it takes the lowest coverage of.
SUMMARY = (
    ("each group", lambda k: k.endswith(": each group")),
    ("all groups jointly", lambda k: k.endswith(": all groups jointly")),
    ("whole population", lambda k: k.endswith(": whole population")),
    (
        "disparities and criteria",
        lambda k: (" (" in k or k.startswith("criterion ")) and not k.endswith("(bounds)"),
    ),
)


def _lowest(kinds: dict[str, dict[str, Tally]], keep: Callable[[str], bool], variant: str) -> str:
    found = [
        t.coverage
        for k, v in kinds.items()
        if keep(k)
        for t in [v.get(variant)]
        if t is not None and t.defined
    ]
    return f"{min(found):.3f}" if found else "—"


def summary(
    new: dict[str, dict[str, dict[str, Tally]]],
    old: dict[str, dict[str, dict[str, Tally]]] | None,
) -> Iterator[str]:
    """A markdown table: per setting, the lowest coverage of each family of interval kinds.

    New beside old (old: the intervals it printed; its verdicts used its simultaneous
    bounds, shown in the full table).
    """
    head = "| setting | " + " | ".join(
        f"{label}: new" + (f" | {label}: old" if old is not None else "") for label, _ in SUMMARY
    )
    yield head + " |"
    yield "|---" * (1 + len(SUMMARY) * (2 if old is not None else 1)) + "|"
    for name, kinds in new.items():
        cells = []
        for _, keep in SUMMARY:
            cells.append(_lowest(kinds, keep, "printed"))
            if old is not None:
                cells.append(_lowest(old.get(name, {}), keep, "printed"))
        yield f"| {name} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--old", default=None, help="a git commit to measure beside")
    parser.add_argument("--old-runs", type=int, default=None, help="default: --runs")
    parser.add_argument("--only", default="", help="settings whose name contains this")
    parser.add_argument("--stress", action="store_true", help="also the STRESS settings")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "coverage.json")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0
    chosen = [s for s in (*SETTINGS, *(STRESS if args.stress else ())) if args.only in s.name]
    t0 = time.perf_counter()
    new = {}
    for s in chosen:
        t = time.perf_counter()
        new[s.name] = run_setting(s, args.runs)
        print(f"  {s.name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    old = None
    if args.old:
        t = time.perf_counter()
        try:
            old = run_old(args.old, [s.name for s in chosen], args.old_runs or args.runs)
            print(f"  old ({args.old}): {time.perf_counter() - t:.1f} s", file=sys.stderr)
        except (subprocess.CalledProcessError, OSError) as exc:
            why = getattr(exc, "stderr", "") or str(exc)
            last = (str(why).strip().splitlines() or ["?"])[-1]
            print(f"  old ({args.old}) not measured: {last}", file=sys.stderr)
    lines = list(table(new, old, args.runs))
    print("\n".join(lines))
    print()
    print("\n".join(summary(new, old)))
    print(f"\n{len(chosen)} settings, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "runs": args.runs,
                "old": args.old,
                "new": {n: _as_json(t) for n, t in new.items()},
                "old_results": None if old is None else {n: _as_json(t) for n, t in old.items()},
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
