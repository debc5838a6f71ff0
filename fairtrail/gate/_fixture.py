"""The ``fairtrail_audit`` fixture's object: audits predictions with the gate's policy."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from audit import AuditOptions, AuditResult, Policy, audit_predictions
from fairtrail.gate._policy import GatePolicy, load_gate_policy

__all__ = ["AuditFixture"]

_POLICY_KEY = pytest.StashKey[GatePolicy]()


class AuditFixture:
    """Callable: ``fairtrail_audit(y_true, y_pred, *, sensitive_features, ...)``."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._config = request.config

    @property
    def policy(self) -> GatePolicy | None:
        """The gate policy given with ``--fairtrail-policy`` (None without one)."""
        path = self._config.getoption("fairtrail_policy")
        if not path:
            return None
        stash = self._config.stash
        if _POLICY_KEY not in stash:
            stash[_POLICY_KEY] = load_gate_policy(path)
        return stash[_POLICY_KEY]

    def __call__(
        self,
        y_true: Any,
        y_pred: Any,
        *,
        sensitive_features: Any,
        y_score: Any = None,
        sample_weight: Any = None,
        pos_label: Any = None,
        policy: Policy | None = None,
        **options: Any,
    ) -> AuditResult:
        """Audit predictions; the gate policy's thresholds apply unless ``policy`` is given."""
        __tracebackhide__ = True
        gate = self.policy
        known = {f.name for f in dataclasses.fields(AuditOptions)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"fairtrail_audit got an unknown option {unknown[0]!r}; options are the fields "
                f"of audit.AuditOptions: {sorted(known)}."
            )
        base = AuditOptions(**options)
        if gate is not None:
            if gate.min_group_size is not None and "min_group_size" not in options:
                base = dataclasses.replace(base, min_group_size=gate.min_group_size)
            if gate.interval is not None and "verdict_interval" not in options:
                base = dataclasses.replace(base, verdict_interval=gate.interval)
            if policy is None:
                policy = gate.audit_policy()
        return audit_predictions(
            y_true,
            y_pred,
            sensitive_features=sensitive_features,
            y_score=y_score,
            sample_weight=sample_weight,
            pos_label=pos_label,
            policy=policy,
            options=base,
        )
