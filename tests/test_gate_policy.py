"""The gate's policy file: what it accepts, and errors that name the file, line and key."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from fairtrail.gate import GatePolicyError, load_gate_policy, parse_gate_policy

FULL = """\
name = "credit policy"
version = "3"
decision_rule = "point"
interval = "percentile"
min_group_size = 50
on_inconclusive = "warn"

[[criterion]]
name = "demographic_parity_ratio"
threshold = 0.8
attributes = ["sex", "race"]

[[criterion]]
name = "demographic_parity_ratio"
threshold = 0.7
attributes = ["sex × race"]
severity = "warn"

[[criterion]]
name = "equalized_odds_difference"
threshold = 0.1
on_inconclusive = "fail"

[[waiver]]
criterion = "equalized_odds_difference"
attribute = "race"
owner = "ada@example.org"
reason = "Relabelling under way."
ticket = "FAIR-142"
expires = 2027-03-31

[regression]
baseline = "approved"
tolerance = 0.02
"""


def test_a_full_policy_is_read_with_lines_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(FULL, encoding="utf-8")
    p = load_gate_policy(path)
    assert (p.name, p.version, p.decision_rule, p.interval, p.min_group_size) == (
        "credit policy", "3", "point", "percentile", 50,
    )  # fmt: skip
    dp, dp_x, eo = p.criteria
    assert (dp.criterion, dp.threshold, dp.attributes, dp.severity, dp.on_inconclusive) == (
        "demographic_parity_ratio", 0.8, ("sex", "race"), "error", "warn",
    )  # fmt: skip
    assert (dp_x.threshold, dp_x.attributes, dp_x.severity) == (0.7, ("sex × race",), "warn")
    assert (eo.attributes, eo.on_inconclusive) == (None, "fail")
    assert [c.line for c in p.criteria] == [8, 13, 19]  # the [[criterion]] headers
    (w,) = p.waivers
    assert (w.ticket, w.expires, w.check, w.line) == (
        "FAIR-142",
        date(2027, 3, 31),
        "threshold",
        24,
    )
    assert w.expired(date(2027, 3, 31)) is False  # holds through its expiry date
    assert w.expired(date(2027, 4, 1)) is True
    assert p.waiver_for("threshold", "equalized_odds_difference", "race") is w
    assert p.waiver_for("threshold", "equalized_odds_difference", "sex") is None
    assert p.regression is not None
    assert p.regression.baseline == tmp_path / "approved"  # relative to the policy file
    assert (p.regression.tolerance, p.regression.severity, p.regression.on_inconclusive) == (
        0.02, "error", "warn",
    )  # fmt: skip
    assert p.regression.line == 32
    audit_policy = p.audit_policy()
    assert [(t.criterion, t.threshold, t.attributes) for t in audit_policy.thresholds] == [
        ("demographic_parity_ratio", 0.8, ("sex", "race")),
        ("demographic_parity_ratio", 0.7, ("sex × race",)),
        ("equalized_odds_difference", 0.1, None),
    ]
    assert audit_policy.decision_rule == "point"
    assert len(p.sha256) == 64


def _replace(old: str, new: str) -> str:
    assert old in FULL
    return FULL.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            _replace("threshold = 0.8", "threshold = 1.5"),
            "policy.toml:10: criterion[1].threshold: The threshold of 'demographic_parity_ratio' "
            "is a minimum ratio and must be in (0, 1]; got 1.5.",
        ),
        (
            _replace("threshold = 0.1", 'threshold = "0.1"'),
            "policy.toml:21: criterion[3].threshold: The threshold of "
            "'equalized_odds_difference' must be a finite number; got '0.1'.",
        ),
        (
            _replace('severity = "warn"', 'severity = "fatal"'),
            "policy.toml:17: criterion[2].severity must be one of ['error', 'warn']; got 'fatal'.",
        ),
        (
            _replace('on_inconclusive = "fail"', 'on_inconclusives = "fail"'),
            "policy.toml:22: unknown key 'criterion[3].on_inconclusives'; allowed keys: ",
        ),
        (
            _replace('name = "equalized_odds_difference"', 'name = "equalised_odds_difference"'),
            "policy.toml:20: criterion[3].name: Unknown criterion 'equalised_odds_difference'",
        ),
        (
            _replace('attributes = ["sex × race"]', 'attributes = ["race"]'),
            "policy.toml:13: criterion[2] gives demographic_parity_ratio a second threshold on "
            "'race' (criterion[1], line 8); give each attribute one threshold.",
        ),
        (
            _replace("expires = 2027-03-31", 'expires = "2027-03-31"'),
            "policy.toml:30: waiver[1].expires must be a TOML date such as 2027-03-31 (no "
            "quotes); got '2027-03-31'.",
        ),
        (
            _replace('ticket = "FAIR-142"\n', ""),
            "policy.toml:24: waiver[1] needs 'ticket'.",
        ),
        (
            _replace('owner = "ada@example.org"', 'owner = ""'),
            "policy.toml:27: waiver[1].owner must be a non-empty string; got ''.",
        ),
        (
            _replace('attribute = "race"', 'attribute = "age"').replace(
                'name = "equalized_odds_difference"\nthreshold = 0.1',
                'name = "equalized_odds_difference"\nthreshold = 0.1\nattributes = ["race"]',
            ),
            "policy.toml:25: waiver[1] waives equalized_odds_difference on 'age', which no "
            "[[criterion]] of this policy checks.",
        ),
        (
            _replace("tolerance = 0.02", "tolerance = -0.02"),
            "policy.toml:34: regression.tolerance must be a number ≥ 0",
        ),
        (
            _replace('baseline = "approved"\n', ""),
            "policy.toml:32: [regression] needs either 'baseline' (a bundle folder) or both",
        ),
        (
            _replace("min_group_size = 50", "min_group_size = 0"),
            "policy.toml:5: min_group_size must be an integer ≥ 1; got 0.",
        ),
        (
            _replace("[[criterion]]\nname", "[[criterion]\nname"),
            "policy.toml:8: not valid TOML:",
        ),
    ],
)
def test_errors_name_the_line_the_key_and_what_was_found(text: str, message: str) -> None:
    with pytest.raises(GatePolicyError, match=re.escape(message)):
        parse_gate_policy(text, "policy.toml")


def test_a_second_waiver_of_the_same_check_is_refused() -> None:
    waiver = FULL[FULL.index("[[waiver]]") : FULL.index("[regression]")]
    text = FULL.replace("[regression]", waiver + "[regression]")
    with pytest.raises(GatePolicyError, match=r"policy\.toml:32: waiver\[2\]: .* already waived"):
        parse_gate_policy(text, "policy.toml")


def test_a_policy_without_criteria_is_refused() -> None:
    with pytest.raises(GatePolicyError, match=r"policy\.toml:1: the policy checks nothing"):
        parse_gate_policy('name = "empty"\n', "policy.toml")


def test_lines_inside_multiline_strings_are_not_taken_for_keys() -> None:
    text = _replace(
        'reason = "Relabelling under way."',
        'reason = """\nthreshold = 3\nRelabelling."""',
    ).replace('ticket = "FAIR-142"', "ticket = 7")
    with pytest.raises(GatePolicyError, match=r"policy\.toml:31: waiver\[1\]\.ticket must be"):
        parse_gate_policy(text, "policy.toml")


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(GatePolicyError, match=r"Cannot read the policy file '.*missing\.toml'"):
        load_gate_policy(tmp_path / "missing.toml")
