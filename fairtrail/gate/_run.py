"""One gate run: read the policy, get the audit, find the baseline, and judge.

The audit is a verified bundle, or a spec run now with the policy's thresholds. The baseline
is a bundle folder, or the newest bundle with a standing approval in the sign-off store.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from audit import AuditResult, Bundle, BundleError, load_spec, run_audit
from fairtrail.gate._evaluate import GateCheck, GateError, evaluate
from fairtrail.gate._policy import GatePolicy, RegressionCheck, load_gate_policy

__all__ = ["GateRun", "run_gate"]


@dataclass(frozen=True)
class GateRun:
    """What a gate run judged, and the checks it made."""

    policy: GatePolicy
    result: AuditResult
    source: str  # "bundle <path>" or "spec <path>"
    manifest_sha256: str | None
    baseline: AuditResult | None
    baseline_source: str | None
    checks: tuple[GateCheck, ...]


def _audit_from_spec(spec_path: Path, policy: GatePolicy) -> AuditResult:
    spec = load_spec(spec_path)
    options = spec.options
    if policy.min_group_size is not None:
        options = dataclasses.replace(options, min_group_size=policy.min_group_size)
    if policy.interval is not None:
        options = dataclasses.replace(options, verdict_interval=policy.interval)
    spec = dataclasses.replace(spec, options=options, policy=policy.audit_policy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics are in the result's notes
        return run_audit(spec)


def _approved_baseline(
    reg: RegressionCheck, under_test: AuditResult, today: date
) -> tuple[Path | None, str]:
    """The newest intact bundle with a standing approval, or why there is none."""
    from fairtrail.review import find_bundles, standing_decisions
    from fairtrail.signoff import SignoffError, SignoffStore

    assert reg.bundles is not None
    assert reg.signoffs is not None
    if "://" not in reg.signoffs and not Path(reg.signoffs).is_file():
        raise GateError(
            f"The sign-off store '{reg.signoffs}' ([regression] signoffs) does not exist."
        )
    try:
        store = SignoffStore(reg.signoffs)
        problems = store.verify()
        if problems:
            raise GateError(
                f"The sign-off store {store.location} failed verification, so its approvals "
                f"cannot be trusted: {problems[0]}"
            )
        entries = [
            e
            for e in find_bundles(reg.bundles)
            if e.intact and e.audit_id and e.audit_id != under_test.audit_id
        ]
        decisions = standing_decisions(store, entries, today=today)
    except SignoffError as exc:
        raise GateError(str(exc)) from None
    for e in entries:  # newest first
        if str(decisions.get(e.audit_id or "") or "").startswith("approve"):
            return e.path, f"newest approved bundle in {reg.bundles} ({store.location})"
    return None, (
        f"no bundle in {reg.bundles} has a standing approval in {store.location} (approvals "
        "count only for the exact files they were made on, while not revoked or expired)"
    )


def run_gate(
    policy: str | Path | GatePolicy,
    *,
    bundle: str | Path | Bundle | None = None,
    spec: str | Path | None = None,
    baseline: str | Path | None = None,
    today: date,
) -> GateRun:
    """Judge an audit against a gate policy.

    Parameters
    ----------
    policy : path or GatePolicy
        The gate policy file.
    bundle : path or Bundle, optional
        An audit bundle to judge: opened (so verified against its manifest), or its folder,
        then opened first.
    spec : path, optional
        An audit spec to run instead, with the policy's thresholds, minimum group size and
        interval.
    baseline : path, optional
        The baseline bundle of the regression check (overrides the policy's).
    today : date
        The date waivers and approvals are judged on.

    Raises
    ------
    FairtrailError
        A bad policy, a bundle that fails verification, a spec or data that cannot be audited,
        or an audit that cannot answer the policy (:class:`GateError`).
    """
    gate = policy if isinstance(policy, GatePolicy) else load_gate_policy(policy)
    if (bundle is None) == (spec is None):
        raise GateError("Give exactly one of bundle (an audit bundle) and spec (an audit spec).")
    manifest = None
    if bundle is not None:
        opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
        result = opened.result
        manifest = opened.manifest_sha256
        source = f"bundle {opened.path if isinstance(bundle, Bundle) else bundle}"
    else:
        assert spec is not None
        result = _audit_from_spec(Path(spec), gate)
        source = f"spec {spec}"
    reg = gate.regression
    base_result, base_source, why = None, None, None
    if reg is not None or baseline is not None:
        if reg is None:
            raise GateError(
                f"{gate.path.name}: a baseline was given but the policy has no [regression] "
                "table (tolerance, severity) to judge it with."
            )
        path: Path | None = Path(baseline) if baseline is not None else reg.baseline
        if path is None:
            path, why = _approved_baseline(reg, result, today)
            base_source = why if path is not None else None
        else:
            base_source = f"bundle {path}"
        if path is not None:
            try:
                base_result = Bundle.open(path).result
            except BundleError as exc:
                raise GateError(f"The regression baseline: {exc}") from None
            base_source = (
                f"{path}: {base_source}" if base_source != f"bundle {path}" else base_source
            )
            if base_result.task != result.task:
                raise GateError(
                    f"The baseline audit {base_result.audit_id[:12]} is a {base_result.task} "
                    f"audit; the audit under test is a {result.task} audit."
                )
    checks = evaluate(gate, result, baseline=base_result, no_baseline=why, today=today)
    return GateRun(
        policy=gate,
        result=result,
        source=source,
        manifest_sha256=manifest,
        baseline=base_result,
        baseline_source=base_source,
        checks=checks,
    )
