"""The gate inside a pytest run: one test item per check, statuses, summary, JSON, JUnit.

Registered by :mod:`fairtrail.pytest_plugin` only when a ``--fairtrail-*`` option is given.
Every problem with the inputs (policy, bundle, spec, baseline) is a ``pytest.UsageError``:
one line, pytest's exit code 4, no traceback. Failed checks are failed tests (exit code 1).
What reaches pytest's terminal from the policy or the bundle (item names, messages, tables)
goes through :func:`fairtrail._terminal.visible`: escaped, never obeyed.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from audit import FairtrailError
from fairtrail._terminal import visible
from fairtrail.gate._evaluate import GateCheck
from fairtrail.gate._run import GateRun, run_gate

__all__ = ["GatePlugin"]

_STATUS = {
    "warned": ("warned", "w", ("WARNED", {"yellow": True})),
    "waived": ("waived", "v", ("WAIVED", {"yellow": True})),
}


class GateFailed(Exception):
    """A check failed: its item shows the check's table, not a traceback."""


class CheckItem(pytest.Item):
    """One gate check as a test."""

    def __init__(self, *, check: GateCheck, policy_path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.policy_path = policy_path

    def runtest(self) -> None:
        """Fail or skip as the check's outcome says (warned and waived checks pass)."""
        if self.check.outcome == "failed":
            raise GateFailed(visible(self.check.message))
        if self.check.outcome == "skipped":
            pytest.skip(visible(self.check.message))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The check's estimate, interval, threshold and per-group table."""
        if isinstance(excinfo.value, GateFailed):
            where = f"{self.policy_path}:{self.check.line}"
            return visible(f"{self.check.detail}\n\n(policy {where})", newlines=True)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Point at the policy line that set the check."""
        return self.policy_path, max(self.check.line - 1, 0), visible(self.check.nodeid)


class ChecksCollector(pytest.Collector):
    """A group of checks: ``fairness`` (thresholds) or ``no_regression`` (against a baseline)."""

    def __init__(
        self, *, checks: list[GateCheck], policy_path: Path, kind: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.checks = checks
        self.policy_path = policy_path
        self.kind = kind

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        """The checks of this group as items; under ``fairness``, the regression group too."""
        out: list[pytest.Item | pytest.Collector] = [
            CheckItem.from_parent(self, name=visible(c.name), check=c, policy_path=self.policy_path)
            for c in self.checks
            if c.kind == self.kind
        ]
        regression = [c for c in self.checks if c.kind == "regression"]
        if self.kind == "threshold" and regression:
            out.append(
                ChecksCollector.from_parent(
                    self,
                    name="no_regression",
                    checks=regression,
                    policy_path=self.policy_path,
                    kind="regression",
                )
            )
        return out

    def reportinfo(self) -> tuple[Path, int, str]:
        """The policy file."""
        return self.policy_path, 0, self.name


class GatePlugin:
    """The gate's hooks for one pytest run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.run: GateRun | None = None
        self.ran: dict[str, str] = {}
        self.started = datetime.now(UTC)
        self.options = {
            key: config.getoption(f"fairtrail_{key}")
            for key in ("policy", "bundle", "spec", "baseline", "json", "only")
        }

    def _today(self) -> date:
        return self.started.date()

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """With ``--fairtrail-only`` nothing under the root is collected."""
        return True if self.options["only"] else None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Judge the audit and put one item per check first (before ``-k`` deselects)."""
        try:
            self.run = run_gate(
                self.options["policy"],
                bundle=self.options["bundle"],
                spec=self.options["spec"],
                baseline=self.options["baseline"],
                today=self._today(),
            )
        except FairtrailError as exc:
            raise pytest.UsageError(visible(f"fairtrail gate: {exc}")) from None
        except OSError as exc:
            raise pytest.UsageError(
                visible(f"fairtrail gate: {exc.strerror or exc}: {exc.filename}")
            ) from None
        collector = ChecksCollector.from_parent(
            session,
            name="fairness",
            nodeid="fairness",  # not "::fairness": the session's own id is empty
            checks=list(self.run.checks),
            policy_path=self.run.policy.path,
            kind="threshold",
        )
        items[:0] = list(session.genitems(collector))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Mark passing checks that warned or were waived, for their status word."""
        report = yield
        if isinstance(item, CheckItem) and report.when == "call":
            outcome = item.check.outcome if report.passed else report.outcome
            report.fairtrail_outcome = outcome  # type: ignore[attr-defined]
            self.ran[item.check.nodeid] = outcome
        elif isinstance(item, CheckItem) and report.when == "setup" and report.skipped:
            self.ran[item.check.nodeid] = "skipped"
        return report

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """``WARNED`` and ``WAIVED`` instead of ``PASSED``."""
        outcome = getattr(report, "fairtrail_outcome", None)
        if report.when == "call" and report.passed and outcome in _STATUS:
            return _STATUS[outcome]
        return None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The gate's verdict, and every check that did not simply pass, one line each."""
        if self.run is None:
            return
        tr = terminalreporter
        tr.section("fairtrail gate", sep="=")
        run = self.run
        tr.line(
            visible(
                f"policy {run.policy.name} {run.policy.version} ({run.policy.path}) on audit "
                f"{run.result.audit_id[:12]} ({run.source})"
            )
        )
        if run.baseline is not None:
            tr.line(
                visible(f"baseline: audit {run.baseline.audit_id[:12]} ({run.baseline_source})")
            )
        for c in run.checks:
            outcome = self.ran.get(c.nodeid)
            if outcome in (None, "passed"):
                continue
            tr.line(
                visible(f"{outcome.upper():8} {c.nodeid}: {c.message}"),
                red=outcome == "failed",
                yellow=outcome in ("warned", "waived"),
            )
        path = self.options["json"]
        if path:
            tr.line(visible(f"JSON summary: {path}"))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Suite-level JUnit properties and the JSON summary (before junitxml writes)."""
        if self.run is None:
            return
        summary = self.summary(int(exitstatus))
        xml = _junit(self.config)
        if xml is not None:
            for key, value in _properties(summary):
                xml.add_global_property(key, value)
        path = self.options["json"]
        if path:
            from audit import write_atomically

            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False)
            write_atomically(target, (data + "\n").encode("utf-8"))

    def summary(self, exitstatus: int) -> dict[str, Any]:
        """The JSON summary: policy, audit, baseline, every check and the totals."""
        assert self.run is not None
        from fairtrail.gate._summary import summary

        return summary(self.run, self.ran, exitstatus, self.started)


def _junit(config: pytest.Config) -> Any:
    """The junitxml plugin's writer of this run, if ``--junitxml`` was given."""
    try:
        from _pytest.junitxml import xml_key  # private, stable since pytest 7
    except ImportError:  # pragma: no cover - a future pytest
        return None
    return config.stash.get(xml_key, None)


def _properties(summary: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "fairtrail.policy", f"{summary['policy']['name']} {summary['policy']['version']}"
    yield "fairtrail.policy_sha256", summary["policy"]["sha256"]
    yield "fairtrail.audit_id", summary["audit"]["audit_id"]
    if summary["audit"].get("manifest_sha256"):
        yield "fairtrail.manifest_sha256", summary["audit"]["manifest_sha256"]
    if summary["baseline"]:
        yield "fairtrail.baseline_audit_id", summary["baseline"]["audit_id"]
    yield "fairtrail.outcome", summary["outcome"]
    for key, n in summary["totals"].items():
        yield f"fairtrail.{key}", str(n)
