"""fairtrail's pytest plugin (the ``pytest11`` entry point): the fairness gate.

This module is imported by every pytest run in an environment where fairtrail is installed,
so it imports nothing but pytest: the audit core, pandas and the rest load only when a
``--fairtrail-*`` option is given or the ``fairtrail_audit`` fixture is used.

::

    pytest --fairtrail-policy fairness.toml --fairtrail-bundle audit-bundle/
    pytest --fairtrail-policy fairness.toml --fairtrail-spec audit.toml --fairtrail-only
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["fairtrail_audit"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """The gate's command-line options (``pytest --help``, group "fairtrail")."""
    group = parser.getgroup("fairtrail", "fairness gate (fairtrail)")
    group.addoption(
        "--fairtrail-policy",
        metavar="TOML",
        help="Gate policy file: one test per criterion per attribute.",
    )
    group.addoption(
        "--fairtrail-bundle", metavar="DIR", help="Audit bundle to judge (verified first)."
    )
    group.addoption(
        "--fairtrail-spec",
        metavar="TOML",
        help="Audit spec to run first (instead of --fairtrail-bundle), with the policy's "
        "thresholds and minimum group size.",
    )
    group.addoption(
        "--fairtrail-baseline",
        metavar="DIR",
        help="Baseline bundle for the policy's [regression] check (overrides the policy's).",
    )
    group.addoption(
        "--fairtrail-json",
        metavar="PATH",
        help="Write a JSON summary of every check here (atomically).",
    )
    group.addoption(
        "--fairtrail-only",
        action="store_true",
        help="Collect only the gate's checks, not the test files under the root.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the gate when it has an audit to judge (and only then load the audit core).

    ``--fairtrail-policy`` alone gives the ``fairtrail_audit`` fixture its thresholds and
    collects no gate checks; with ``--fairtrail-bundle`` or ``--fairtrail-spec`` the gate
    judges that audit.
    """
    policy = config.getoption("fairtrail_policy")
    bundle, spec = config.getoption("fairtrail_bundle"), config.getoption("fairtrail_spec")
    if bundle and spec:
        raise pytest.UsageError(
            "Give the fairness gate one audit: --fairtrail-bundle (an audit bundle folder) or "
            "--fairtrail-spec (an audit spec to run first), not both."
        )
    needs_audit = [
        flag
        for flag, name in (
            ("--fairtrail-baseline", "fairtrail_baseline"),
            ("--fairtrail-json", "fairtrail_json"),
            ("--fairtrail-only", "fairtrail_only"),
        )
        if config.getoption(name)
    ]
    if needs_audit and not (bundle or spec):
        raise pytest.UsageError(
            f"{needs_audit[0]} needs an audit to gate: --fairtrail-bundle or --fairtrail-spec "
            "(with --fairtrail-policy)."
        )
    if (bundle or spec) and not policy:
        raise pytest.UsageError(
            f"{'--fairtrail-bundle' if bundle else '--fairtrail-spec'} needs --fairtrail-policy "
            "(the gate's policy file)."
        )
    if not (bundle or spec):
        return
    from fairtrail.gate._plugin import GatePlugin

    config.pluginmanager.register(GatePlugin(config), "fairtrail-gate")


@pytest.fixture
def fairtrail_audit(request: pytest.FixtureRequest) -> Any:
    """Audit predictions in a test, with the gate policy's thresholds when one is given.

    Returns a function ``fairtrail_audit(y_true, y_pred, *, sensitive_features, y_score=None,
    sample_weight=None, **options)`` → :class:`audit.AuditResult` (``options`` are
    :class:`audit.AuditOptions` fields; ``policy=`` overrides the gate policy). The policy
    given with ``--fairtrail-policy`` sets the thresholds, ``min_group_size`` and
    ``verdict_interval``. Check the result with :func:`fairtrail.gate.assert_fair`.

    Examples
    --------
    ::

        from fairtrail.gate import assert_fair

        def test_model_is_fair(fairtrail_audit):
            result = fairtrail_audit(y_test, model.predict(X_test),
                                     sensitive_features=X_test[["sex", "race"]])
            assert_fair(result, criterion="demographic_parity_ratio", threshold=0.8)
    """
    from fairtrail.gate._fixture import AuditFixture

    return AuditFixture(request)
