"""Audits whose rates are chosen by hand, for the gate's tests.

``rates_result({"F": (400, 100), "M": (400, 300)})``: group F has 400 rows of which 100 are
predicted positive (selection rate 1/4), M 400 rows with 300 (3/4). Half of each group's
rows are actual positives and predictions are spread evenly over them, so the true and false
positive rates both equal the selection rate: every difference and ratio is derived by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audit import AuditOptions, AuditResult, Policy, Threshold, audit_predictions, write_bundle


def rates_arrays(
    groups: dict[str, tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y_true, y_pred, group: per group n rows (even), half positive, k predicted positive.

    The k positive predictions are split evenly between actual positives and negatives (k
    even), so TPR = FPR = selection rate = k / n.
    """
    y_true, y_pred, g = [], [], []
    for name, (n, k) in groups.items():
        assert n % 2 == 0
        assert k % 2 == 0
        half = n // 2
        for label in (1, 0):
            y_true += [label] * half
            y_pred += [1] * (k // 2) + [0] * (half - k // 2)
        g += [name] * n
    return np.array(y_true), np.array(y_pred), np.array(g)


def rates_result(
    groups: dict[str, tuple[int, int]],
    *,
    thresholds: tuple[Threshold, ...] = (),
    intervals: bool = True,
    seed: int = 0,
    min_group_size: int = 30,
) -> AuditResult:
    y_true, y_pred, g = rates_arrays(groups)
    return audit_predictions(
        y_true,
        y_pred,
        sensitive_features={"sex": g},
        policy=Policy(thresholds) if thresholds else None,
        options=AuditOptions(intervals=intervals, random_state=seed, min_group_size=min_group_size),
    )


def rates_bundle(
    folder: Path, groups: dict[str, tuple[int, int]], **kwargs: object
) -> tuple[Path, AuditResult]:
    result = rates_result(groups, **kwargs)  # type: ignore[arg-type]
    write_bundle(result, folder)
    return folder, result


#: Selection rates 1/4 and 3/4: ratio 1/3, difference 1/2 (clearly unfair at 400 rows each).
UNFAIR = {"F": (400, 100), "M": (400, 300)}
#: Selection rates 0.50 and 0.52: ratio 0.50/0.52 ≈ 0.96, difference 0.02 (clearly fair).
FAIR = {"F": (2000, 1000), "M": (2000, 1040)}
