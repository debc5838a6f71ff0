"""``assert_fair``: a fairness assertion for tests that users write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from audit import AuditResult, Threshold
from fairtrail._terminal import visible
from fairtrail.gate._evaluate import evaluate
from fairtrail.gate._policy import Action, GateCriterion, GatePolicy

__all__ = ["assert_fair"]


def assert_fair(
    result: AuditResult,
    criterion: str | None = None,
    *,
    attribute: str | None = None,
    threshold: float | None = None,
    decision_rule: Literal["interval", "point"] | None = None,
    interval: Literal["simultaneous", "percentile"] | None = None,
    on_inconclusive: Action = "fail",
) -> None:
    """Assert that an audit result meets fairness criteria; fail with a per-group table.

    Parameters
    ----------
    result : AuditResult
        From :func:`audit.audit_predictions`, :func:`audit.run_audit`,
        :func:`audit.read_bundle` or the ``fairtrail_audit`` fixture.
    criterion : str, optional
        ``demographic_parity_ratio``, ``equalized_odds_difference``, … None: every
        criterion the audit's policy judged.
    attribute : str, optional
        One attribute (``"sex"``, ``"sex × race"``); default every audited attribute (or
        those the audit's policy named).
    threshold : float, optional
        The limit; default the one in the audit's policy.
    decision_rule : {"interval", "point"}, optional
        Default: the audit policy's, else ``"interval"`` (pass only when the whole interval
        is within the threshold).
    interval : {"simultaneous", "percentile"}, optional
        Which group intervals the failure's table shows: simultaneous (all groups at once)
        or each group's own. Default: the audit's ``verdict_interval``. Verdicts are decided
        on the criterion's interval either way.
    on_inconclusive : {"fail", "warn", "pass"}
        What an inconclusive verdict does (``"warn"`` and ``"pass"`` both let it pass).

    Raises
    ------
    AssertionError
        Naming each failing criterion with its estimate, interval and threshold, and a
        table of the groups.
    ValueError
        A criterion without a threshold that the audit did not judge; an unknown attribute.

    Examples
    --------
    >>> from audit import audit_predictions, AuditOptions
    >>> sex = (["F"] * 4 + ["M"] * 4) * 50
    >>> result = audit_predictions([0, 1, 1, 0] * 100, [0, 1, 0, 0, 1, 1, 1, 0] * 50,
    ...                            sensitive_features={"sex": sex},
    ...                            options=AuditOptions())
    >>> assert_fair(result, "demographic_parity_ratio", threshold=0.8)
    Traceback (most recent call last):
    ...
    AssertionError: 1 fairness check failed:
    demographic_parity_ratio[sex] = 0.3333, 95% interval [...]; the policy ...
    ...
    """
    __tracebackhide__ = True
    judged = [
        c
        for c in result.criteria
        if (criterion is None or c.criterion == criterion)
        and (attribute is None or c.attribute == attribute)
    ]
    if threshold is not None:
        if criterion is None:
            raise ValueError("assert_fair: a threshold needs a criterion (criterion=...).")
        Threshold(criterion, threshold)  # validates the pair, with a clear message
        limits: dict[tuple[str, float], tuple[str, ...] | None] = {
            (criterion, threshold): None if attribute is None else (attribute,)
        }
    else:
        if not judged:
            what = f"{criterion!r}" if criterion else "any criterion"
            raise ValueError(
                f"assert_fair: audit {result.audit_id[:12]} did not judge {what}"
                f"{f' on {attribute!r}' if attribute else ''}; pass threshold=... "
                f"(judged: {sorted({c.criterion for c in result.criteria})})."
            )
        by_limit: dict[tuple[str, float], list[str]] = {}
        for c in judged:
            by_limit.setdefault((c.criterion, c.threshold), []).append(c.attribute)
        limits = {key: tuple(attrs) for key, attrs in by_limit.items()}
    rule = decision_rule or (result.criteria[0].decision_rule if result.criteria else "interval")
    policy = GatePolicy(
        name="assert_fair",
        version="0",
        decision_rule=rule,
        interval=interval,
        min_group_size=None,
        criteria=tuple(
            GateCriterion(name, limit, attrs, "error", on_inconclusive, 0)
            for (name, limit), attrs in limits.items()
        ),
        waivers=(),
        regression=None,
        path=Path("<assert_fair>"),
        sha256="",
    )
    try:
        checks = evaluate(policy, result, today=datetime.now(UTC).date())
    except Exception as exc:  # a GateError: say it as the ValueError it is
        raise ValueError(f"assert_fair: {exc}") from None
    failed = [c for c in checks if c.outcome == "failed"]
    if failed:
        heading = f"{len(failed)} fairness check{'s' * (len(failed) > 1)} failed:"
        text = "\n\n".join([heading + "\n" + failed[0].detail, *(c.detail for c in failed[1:])])
        raise AssertionError(visible(text, newlines=True))  # labels shown, never obeyed
