"""The fairness gate: judge an audit against a policy file, in pytest or from Python.

``pytest --fairtrail-policy policy.toml --fairtrail-bundle BUNDLE`` collects one test per
policy criterion per attribute (see :mod:`fairtrail.pytest_plugin`); in tests that users
write, :func:`assert_fair` fails with a per-group table.
"""

from fairtrail.gate._assert import assert_fair
from fairtrail.gate._evaluate import GateCheck, GateError, criterion_estimate, regression_verdict
from fairtrail.gate._policy import (
    GateCriterion,
    GatePolicy,
    GatePolicyError,
    RegressionCheck,
    Waiver,
    load_gate_policy,
    parse_gate_policy,
)
from fairtrail.gate._run import GateRun, run_gate

__all__ = [
    "GateCheck",
    "GateCriterion",
    "GateError",
    "GatePolicy",
    "GatePolicyError",
    "GateRun",
    "RegressionCheck",
    "Waiver",
    "assert_fair",
    "criterion_estimate",
    "load_gate_policy",
    "parse_gate_policy",
    "regression_verdict",
    "run_gate",
]
