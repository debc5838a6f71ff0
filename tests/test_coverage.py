"""The coverage battery: every interval fairtrail prints, on populations with known truths.

A smaller run of ``benchmarks/coverage.py`` (which ``make coverage`` runs in full, with 500
audits per setting): each setting of the issue's list — parity and near parity, 2, 3 and 5
groups, 30, 100 and 1,000 rows per group, rates at 0 and 1, rare outcomes, AUC and
calibration error, a regression — audited a few hundred times. For every interval kind,
coverage must not fall below the nominal 0.95 by more than binomial noise allows (a
one-sided 99.5 % bound), and no interval may leave its parameter's range.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _study() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "coverage_study", ROOT / "benchmarks" / "coverage.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_study"] = module
    spec.loader.exec_module(module)
    return module


STUDY = _study()
BY_NAME = {s.name: s for s in STUDY.SETTINGS}

#: (setting, audits, disparity methods): about 40 s on 2 cores.
BATTERY = [
    ("parity 2×1000", 300, ("between_groups", "to_overall", "reference")),
    ("parity 5×30", 400, ("between_groups",)),
    ("parity 3×100", 400, ("between_groups",)),
    ("near parity 2×1000", 300, ("between_groups",)),
    ("equalized odds gap 0.01, 2×1000", 300, ("between_groups",)),
    ("rates at 0 and 1, 3×40", 300, ("between_groups", "to_overall")),
    ("rare 3% vs 1%, 2×1000", 300, ("between_groups",)),
    ("weighted parity 3×100", 300, ("between_groups",)),
    ("scores 3×30", 300, ("between_groups",)),
    ("scores 2×1000", 200, ("between_groups",)),
    ("weighted scores 3×100", 300, ("between_groups",)),
    ("regression 3×30", 400, ("between_groups",)),
]
NOMINAL = 0.95
Z = 2.576  # one-sided 99.5 %: a correct interval fails a kind about once in 200 checks


def lowest_allowed(n: int) -> float:
    return NOMINAL - Z * math.sqrt(NOMINAL * (1 - NOMINAL) / n)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "runs", "methods"), BATTERY, ids=[b[0] for b in BATTERY])
def test_every_interval_kind_covers(name: str, runs: int, methods: tuple[str, ...]) -> None:
    tallies = STUDY.run_setting(BY_NAME[name], runs, methods=methods)
    checked = 0
    for kind, variants in tallies.items():
        t = variants["printed"]
        assert t.out_of_range == 0, (name, kind, "left its range")
        if t.defined < 50:  # e.g. a TPR with too few positives to be compared
            continue
        assert t.coverage >= lowest_allowed(t.defined), (name, kind, t)
        checked += 1
    assert checked >= 3, (name, sorted(tallies))


def test_the_battery_can_fail() -> None:
    """The old percentile interval of a max − min at parity: 0 covered of 200, refused."""
    t = STUDY.Tally()
    for _ in range(200):
        t.add(0.002, 0.07, 0.0, (0.0, 1.0))  # excludes the true 0, as the bootstrap did
    assert not t.coverage >= lowest_allowed(t.defined)
    t = STUDY.Tally()
    t.add(-0.01, 0.05, 0.02, (0.0, 1.0))
    assert t.out_of_range == 1


def test_the_truths_are_right() -> None:
    """The numerical truths against closed forms: AUC of Beta scores, ECE of a calibrated model."""
    # S ~ U(0, 1) = Beta(1, 1) with P(Y=1|S) = S: positives have density 2s, negatives
    # 2(1 − s); AUC = ∫∫_{s1>s0} 4 s1 (1 − s0) = 5/6. Calibrated: ECE 0. Brier: E[S(1 − S)] = 1/6.
    t = STUDY._score_truths(1.0, 1.0, 1.0)
    assert t["roc_auc"] == pytest.approx(5 / 6, abs=1e-6)
    assert t["expected_calibration_error"] == pytest.approx(0.0, abs=1e-9)
    assert t["brier_score_loss"] == pytest.approx(1 / 6, abs=1e-6)
    # Normal errors N(0, 2²): MAE = 2·√(2/π), RMSE = 2.
    r = STUDY._regression_truths(0.0, 2.0, "normal")
    assert r["mean_absolute_error"] == pytest.approx(2 * math.sqrt(2 / math.pi))
    assert r["root_mean_squared_error"] == pytest.approx(2.0)
    assert r["r2_score"] == pytest.approx(1 - 4 / 9)
