"""The gate as a pytest plugin, run by pytest itself (``pytester``): items, outcomes, messages,
exit codes, the JUnit XML and the JSON summary, and that an unused plugin costs nothing."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

# pytester's in-process runs restore sys.modules afterwards, and a C extension cannot be
# loaded twice in one process: import what the audit core loads lazily before any run.
import pyarrow.csv  # noqa: F401
import pytest
import scipy.stats  # noqa: F401
from _gate import FAIR, UNFAIR, rates_arrays, rates_bundle

from fairtrail.signoff import SignoffStore

pytest_plugins = ["pytester"]

TODAY = datetime.now(UTC).date()  # the date the plugin judges waivers on
DP_RATIO = '[[criterion]]\nname = "demographic_parity_ratio"\nthreshold = {t}\n'
DP_DIFF = '[[criterion]]\nname = "demographic_parity_difference"\nthreshold = {t}\n'


def gate(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--fairtrail-only", "-v", "-p", "no:cacheprovider", *args)


def lines(out: pytest.LineMatcher, patterns: list[str]) -> None:
    """``fnmatch_lines`` with ``[`` taken literally (node ids and intervals have brackets)."""
    out.fnmatch_lines([p.replace("[", "[[]") for p in patterns])


def write_policy(pytester: pytest.Pytester, text: str) -> Path:
    path = pytester.path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_fair_model_passes_one_item_per_criterion(pytester: pytest.Pytester) -> None:
    _bundle, _ = rates_bundle(pytester.path / "bundle", FAIR)
    write_policy(pytester, DP_RATIO.format(t=0.8) + DP_DIFF.format(t=0.1))
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.OK
    run.assert_outcomes(passed=2)
    lines(
        run.stdout,
        [
            "*collected 2 items",
            "fairness::demographic_parity_ratio[sex] PASSED*",
            "fairness::demographic_parity_difference[sex] PASSED*",
            "*= fairtrail gate =*",
            "policy unnamed policy 0 (*policy.toml) on audit * (bundle bundle)",
        ],
    )


def test_an_unfair_model_fails_with_the_group_table_and_no_traceback(
    pytester: pytest.Pytester,
) -> None:
    rates_bundle(pytester.path / "bundle", UNFAIR)
    write_policy(pytester, 'name = "hiring"\nversion = "2"\n' + DP_RATIO.format(t=0.8))
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.assert_outcomes(failed=1)
    # F selects 100 of 400 (1/4), M 300 of 400 (3/4): ratio 1/3
    lines(
        run.stdout,
        [
            "fairness::demographic_parity_ratio[sex] FAILED*",
            "*_ fairness::demographic_parity_ratio[sex] _*",
            "demographic_parity_ratio[sex] = 0.3333, 95% interval [*]; the policy "
            "requires at least 0.8: fail",
            "group  count  selection_rate  interval*note",
            "F        400          0.2500  [*]",
            "M        400          0.7500  [*]",
            "(policy *policy.toml:3)",
        ],
    )
    assert "Traceback" not in run.stdout.str()
    assert "_plugin.py" not in run.stdout.str()


@pytest.mark.parametrize(
    ("action", "status", "ret"),
    [("fail", "FAILED", 1), ("warn", "WARNED", 0), ("pass", "PASSED", 0)],
)
def test_an_inconclusive_verdict_does_what_the_policy_says(
    pytester: pytest.Pytester, action: str, status: str, ret: int
) -> None:
    # 40/100 against 50/100: ratio 0.8 exactly at the threshold, so the interval straddles it
    rates_bundle(pytester.path / "bundle", {"F": (100, 40), "M": (100, 50)})
    write_policy(pytester, f'on_inconclusive = "{action}"\n' + DP_RATIO.format(t=0.8))
    run = gate(
        pytester,
        "--fairtrail-policy=policy.toml",
        "--fairtrail-bundle=bundle",
        "--fairtrail-json=gate.json",
    )
    assert run.ret == ret
    lines(run.stdout, [f"fairness::demographic_parity_ratio[sex] {status}*"])
    (check,) = json.loads((pytester.path / "gate.json").read_text("utf-8"))["checks"]
    assert check["verdict"] == "inconclusive"
    assert check["estimate"]["value"] == pytest.approx(0.8)
    assert check["estimate"]["lower"] < 0.8 < check["estimate"]["upper"]
    if action == "warn":
        lines(run.stdout, ["*1 warned in*"])


def _waiver(expires: str) -> str:
    return (
        '[[waiver]]\ncriterion = "demographic_parity_ratio"\nattribute = "sex"\n'
        'owner = "ada@example.org"\nreason = "Retraining with reweighing, due in January."\n'
        f'ticket = "FAIR-7"\nexpires = {expires}\n'
    )


def test_a_current_waiver_lets_a_failure_pass_as_waived(pytester: pytest.Pytester) -> None:
    rates_bundle(pytester.path / "bundle", UNFAIR)
    until = (TODAY + timedelta(days=30)).isoformat()
    write_policy(pytester, DP_RATIO.format(t=0.8) + _waiver(until))
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.OK
    lines(
        run.stdout,
        [
            "fairness::demographic_parity_ratio[sex] WAIVED*",
            f"WAIVED   fairness::demographic_parity_ratio[sex]: * fail; waived by FAIR-7 "
            f"(ada@example.org, until {until}): Retraining with reweighing, due in January.",
            "*1 waived in*",
        ],
    )


def test_an_expired_waiver_fails_and_says_so(pytester: pytest.Pytester) -> None:
    rates_bundle(pytester.path / "bundle", UNFAIR)
    expired = (TODAY - timedelta(days=1)).isoformat()
    write_policy(pytester, DP_RATIO.format(t=0.8) + _waiver(expired))
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    lines(
        run.stdout,
        [
            "fairness::demographic_parity_ratio[sex] FAILED*",
            f"*the policy requires at least 0.8: fail; waiver FAIR-7 (ada@example.org, until "
            f"{expired}) EXPIRED on {expired}",
        ],
    )


def _signed_bundles(folder: Path, store: SignoffStore) -> tuple[str, str]:
    """Two bundles in ``folder``: ``approved`` (fair) signed off, ``rejected`` (unfair) not."""
    ids = []
    for name, groups, decision in (("approved", FAIR, "approve"), ("rejected", UNFAIR, "reject")):
        path, result = rates_bundle(folder / name, groups)
        digest = hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest()
        store.record(result.audit_id, digest, reviewer="ada", role="chair", decision=decision)
        ids.append(result.audit_id)
    return ids[0], ids[1]


def test_a_disparity_worse_than_the_approved_baseline_fails(pytester: pytest.Pytester) -> None:
    store = SignoffStore(pytester.path / "signoffs.db")
    approved_id, _ = _signed_bundles(pytester.path / "audits", store)
    rates_bundle(pytester.path / "candidate", UNFAIR)
    write_policy(
        pytester,
        DP_RATIO.format(t=0.2)  # 1/3 passes this lax limit: only the regression catches it
        + '[regression]\nbundles = "audits"\nsignoffs = "signoffs.db"\ntolerance = 0.02\n',
    )
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=candidate")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    lines(
        run.stdout,
        [
            "fairness::demographic_parity_ratio[sex] PASSED*",
            "fairness::no_regression::demographic_parity_ratio[sex] FAILED*",
            # the baseline's ratio is 0.50 / 0.52
            f"demographic_parity_ratio[sex]: 0.9615 [*] in the baseline audit {approved_id[:12]}"
            " → 0.3333 [*] now; the policy allows at most 0.02 lower: fail",
            f"baseline: audit {approved_id[:12]} (*audits/approved: newest approved bundle in *)",
        ],
    )


@pytest.mark.parametrize(
    ("if_none", "status", "ret"), [("fail", "FAILED", 1), ("skip", "SKIPPED", 0)]
)
def test_without_an_approved_baseline_the_regression_check_fails_or_skips(
    pytester: pytest.Pytester, if_none: str, status: str, ret: int
) -> None:
    store = SignoffStore(pytester.path / "signoffs.db")
    rates_bundle(pytester.path / "audits" / "unsigned", FAIR)
    store.verify()  # creates the empty store
    rates_bundle(pytester.path / "candidate", FAIR)
    write_policy(
        pytester,
        DP_RATIO.format(t=0.8) + '[regression]\nbundles = "audits"\nsignoffs = "signoffs.db"\n'
        f'tolerance = 0.02\nif_no_baseline = "{if_none}"\n',
    )
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=candidate", "-rs")
    assert run.ret == ret
    lines(
        run.stdout,
        [
            f"fairness::no_regression::demographic_parity_ratio[sex] {status}*",
            "*no baseline to compare with: no bundle in *audits has a standing approval in *",
        ],
    )


@pytest.mark.parametrize(
    ("policy", "args", "message"),
    [
        (
            DP_RATIO.format(t=1.5),
            ("--fairtrail-bundle=bundle",),
            "ERROR: fairtrail gate: policy.toml:3: criterion[1].threshold: The threshold of "
            "'demographic_parity_ratio' is a minimum ratio and must be in (0, 1]; got 1.5.",
        ),
        (
            DP_RATIO.format(t=0.8),
            ("--fairtrail-bundle=bundle", "--fairtrail-spec=audit.toml"),
            "ERROR: Give the fairness gate one audit: --fairtrail-bundle (an audit bundle "
            "folder) or --fairtrail-spec (an audit spec to run first), not both.",
        ),
        (
            DP_RATIO.format(t=0.8) + 'attributes = ["race"]\n',
            ("--fairtrail-bundle=bundle",),
            "ERROR: fairtrail gate: policy.toml:1: demographic_parity_ratio names attribute "
            "'race', which audit * did not audit; attributes: ['sex'].",
        ),
        (
            DP_RATIO.format(t=0.8),
            ("--fairtrail-bundle=nowhere",),
            "ERROR: fairtrail gate: Bundle 'nowhere' does not exist or is not a folder.",
        ),
    ],
)
def test_bad_input_is_a_usage_error_in_one_line(
    pytester: pytest.Pytester, policy: str, args: tuple[str, ...], message: str
) -> None:
    rates_bundle(pytester.path / "bundle", FAIR)
    write_policy(pytester, policy)
    run = gate(pytester, "--fairtrail-policy=policy.toml", *args)
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    lines(run.stderr, [message])
    assert "Traceback" not in run.stderr.str() + run.stdout.str()


def test_gate_options_without_a_policy_or_an_audit_are_refused(pytester: pytest.Pytester) -> None:
    run = pytester.runpytest("--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    lines(
        run.stderr, ["ERROR: --fairtrail-bundle needs --fairtrail-policy (the gate's policy file)."]
    )
    run = pytester.runpytest("--fairtrail-policy=policy.toml", "--fairtrail-json=gate.json")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    lines(run.stderr, ["ERROR: --fairtrail-json needs an audit to gate: *"])


def test_a_tampered_bundle_is_refused(pytester: pytest.Pytester) -> None:
    bundle, _ = rates_bundle(pytester.path / "bundle", UNFAIR)
    (bundle / "result.json").write_bytes((bundle / "result.json").read_bytes() + b" ")
    write_policy(pytester, DP_RATIO.format(t=0.8))
    run = gate(pytester, "--fairtrail-policy=policy.toml", "--fairtrail-bundle=bundle")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    lines(
        run.stderr,
        [
            "ERROR: fairtrail gate: Bundle 'bundle' failed verification: result.json does not "
            "match its sha256 in the manifest (changed)."
        ],
    )


def test_junit_xml_has_one_testcase_per_check_and_suite_properties(
    pytester: pytest.Pytester,
) -> None:
    _, result = rates_bundle(pytester.path / "bundle", UNFAIR)
    until = (TODAY + timedelta(days=3)).isoformat()
    write_policy(
        pytester,
        DP_RATIO.format(t=0.8) + DP_DIFF.format(t=0.6) + 'severity = "warn"\n' + _waiver(until),
    )
    run = gate(
        pytester,
        "--fairtrail-policy=policy.toml",
        "--fairtrail-bundle=bundle",
        "--junitxml=out.xml",
        "-o",
        "junit_family=xunit2",
        "-W",
        "error",  # record_property would warn under xunit2 and fail the run
    )
    assert run.ret == pytest.ExitCode.OK
    lines(run.stdout, ["*1 passed, 1 waived in*"])  # difference 1/2 ≤ 0.6 passes
    suite = ET.parse(pytester.path / "out.xml").getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["fairtrail.audit_id"] == result.audit_id
    assert props["fairtrail.outcome"] == "pass"
    assert (props["fairtrail.passed"], props["fairtrail.waived"], props["fairtrail.failed"]) == (
        "1", "1", "0",
    )  # fmt: skip
    policy_sha = hashlib.sha256((pytester.path / "policy.toml").read_bytes()).hexdigest()
    assert props["fairtrail.policy_sha256"] == policy_sha
    cases = [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")]
    assert cases == [
        ("fairness", "demographic_parity_ratio[sex]"),
        ("fairness", "demographic_parity_difference[sex]"),
    ]
    assert all(c.find("properties") is None for c in suite.iter("testcase"))  # xunit2-valid


def test_the_json_summary_lists_every_check_including_deselected_ones(
    pytester: pytest.Pytester,
) -> None:
    bundle, result = rates_bundle(pytester.path / "bundle", UNFAIR)
    write_policy(pytester, DP_RATIO.format(t=0.8) + DP_DIFF.format(t=0.6))
    out = pytester.path / "reports" / "gate.json"
    run = gate(
        pytester,
        "--fairtrail-policy=policy.toml",
        "--fairtrail-bundle=bundle",
        f"--fairtrail-json={out}",
        "-k",
        "difference",
    )
    assert run.ret == pytest.ExitCode.OK
    run.assert_outcomes(passed=1, deselected=1)
    data = json.loads(out.read_text("utf-8"))
    manifest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    assert data["audit"]["audit_id"] == result.audit_id
    assert data["audit"]["manifest_sha256"] == manifest
    assert (
        data["policy"]["sha256"]
        == hashlib.sha256((pytester.path / "policy.toml").read_bytes()).hexdigest()
    )
    ratio, diff = data["checks"]
    assert (ratio["id"], ratio["verdict"], ratio["outcome"]) == (
        "fairness::demographic_parity_ratio[sex]", "fail", "not_run",
    )  # fmt: skip
    assert (diff["verdict"], diff["outcome"], diff["threshold"], diff["bound"]) == (
        "pass", "passed", 0.6, "max",
    )  # fmt: skip
    assert diff["estimate"]["value"] == pytest.approx(0.5)  # 3/4 - 1/4
    assert data["totals"] == {
        "passed": 1, "failed": 0, "warned": 0, "waived": 0, "skipped": 0, "not_run": 1,
    }  # fmt: skip
    assert (data["outcome"], data["pytest_exitstatus"]) == ("pass", 0)


def test_the_gate_can_run_the_audit_from_a_spec(pytester: pytest.Pytester) -> None:
    y_true, y_pred, g = rates_arrays(UNFAIR)
    rows = ["label,pred,sex", *(f"{t},{p},{s}" for t, p, s in zip(y_true, y_pred, g, strict=True))]
    (pytester.path / "predictions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (pytester.path / "audit.toml").write_text(
        '[data]\npath = "predictions.csv"\ny_true = "label"\ny_pred = "pred"\n'
        'sensitive_features = ["sex"]\n[audit]\nmin_group_size = 30\n',
        encoding="utf-8",
    )
    write_policy(
        pytester,
        "min_group_size = 100\n"  # the spec's 30 is overridden by the policy's
        '[[criterion]]\nname = "equalized_odds_difference"\nthreshold = 0.1\n',
    )
    run = gate(
        pytester,
        "--fairtrail-policy=policy.toml",
        "--fairtrail-spec=audit.toml",
        "--fairtrail-json=gate.json",
    )
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    # TPR and FPR differences are both 3/4 - 1/4: a combined criterion, judged by the audit
    lines(run.stdout, ["equalized_odds_difference[sex] = 0.5000, *: fail"])
    data = json.loads((pytester.path / "gate.json").read_text("utf-8"))
    assert data["audit"]["source"] == "spec audit.toml"
    assert data["audit"]["manifest_sha256"] is None


def test_users_tests_get_the_fixture_and_assert_fair(pytester: pytest.Pytester) -> None:
    write_policy(pytester, "min_group_size = 50\n" + DP_RATIO.format(t=0.8))
    pytester.makepyfile(
        test_model=f"""
        from fairtrail.gate import assert_fair

        Y_TRUE, Y_PRED, SEX = {[a.tolist() for a in rates_arrays(UNFAIR)]}

        def test_policy_applies(fairtrail_audit):
            result = fairtrail_audit(Y_TRUE, Y_PRED, sensitive_features={{"sex": SEX}})
            assert result.options.min_group_size == 50
            assert [c.criterion for c in result.criteria] == ["demographic_parity_ratio"]

        def test_unfair(fairtrail_audit):
            result = fairtrail_audit(Y_TRUE, Y_PRED, sensitive_features={{"sex": SEX}})
            assert_fair(result, "demographic_parity_difference", threshold=0.1)
        """
    )
    # a policy alone gives the fixture its thresholds and options, and collects no checks
    run = pytester.runpytest("--fairtrail-policy=policy.toml", "-p", "no:cacheprovider")
    run.assert_outcomes(passed=1, failed=1)
    lines(
        run.stdout,
        [
            "E       AssertionError: 1 fairness check failed:",
            "E       demographic_parity_difference[sex] = 0.5000, *: fail",
            "E       group  count  selection_rate  interval*note",
        ],
    )
    out = run.stdout.str()
    assert "_assert.py" not in out
    assert "_fixture.py" not in out
    run = pytester.runpytest("-p", "no:cacheprovider")  # no policy: the audit has no criteria
    run.assert_outcomes(passed=0, failed=2)
    lines(run.stdout, ["E       AssertionError: assert 30 == 50"])  # the default minimum


def test_an_unused_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_light="""
        import sys

        def test_nothing_heavy_was_imported():
            assert "fairtrail.pytest_plugin" in sys.modules  # the plugin is active
            heavy = {"audit", "fairtrail.gate", "pandas", "numpy", "scipy", "sklearn",
                     "weasyprint", "openlineage", "streamlit"}
            assert sorted(heavy & set(sys.modules)) == []
        """
    )
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    run.assert_outcomes(passed=1)
