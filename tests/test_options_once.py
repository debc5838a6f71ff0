"""Options are checked in one place (``AuditOptions.check``), in the same words everywhere.

Each bad value of each option is refused with the same text after the option's name by every
entry point: the options checked in Python (built directly or by ``dataclasses.replace``),
``audit_predictions``, ``run_audit`` with a spec built in Python, ``parse_spec`` (with the
key's line when the TOML text is known) and the mitigation spec. Only the prefix differs.
Stored results are evidence: reading one never applies a range rule. The expected messages
are written out by hand.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from audit import (
    AuditOptions,
    AuditResult,
    AuditSpec,
    BundleError,
    DataSpec,
    Policy,
    SpecError,
    Threshold,
    audit_predictions,
    parse_spec,
    prepare_data,
    read_bundle,
    run_audit,
    write_bundle,
)
from audit._engines import Roles
from audit.mitigation import parse_mitigation_spec

_MEMORY = (
    " must be a size such as '2GB', '512 MiB' or '80%' (a number, then B, KB, MB, GB, TB, "
    "KiB, MiB, GiB or TiB, or %)"
)

#: (option, bad value, what follows the option's name in every message).
CASES: list[tuple[str, Any, str]] = [
    ("confidence_level", 1.5, " must be in (0, 1); got 1.5."),
    ("confidence_level", 0.0, " must be in (0, 1); got 0.0."),
    ("confidence_level", math.nan, " must be in (0, 1); got nan."),
    ("confidence_level", "0.9", " must be a number, got '0.9'."),
    ("intervals", "yes", " must be true or false, got 'yes'."),
    ("random_state", 1.5, " must be an integer, got 1.5."),
    ("min_group_size", -3, " must be at least 1; got -3."),
    ("min_group_size", 0, " must be at least 1; got 0."),
    ("min_group_size", 2.5, " must be an integer, got 2.5."),
    (
        "disparity_method",
        "to_everything",
        " must be one of ['between_groups', 'to_overall', 'reference'], got 'to_everything'.",
    ),
    ("reference_groups", {"g": 1}, ".g must be a string, got 1."),
    ("include_unknown_in_disparities", 1, " must be true or false, got 1."),
    ("intersections", (("g", 1),), "[0][1] must be a string, got 1."),
    ("task", "ranking", " must be 'binary_classification' or 'regression'; got 'ranking'."),
    ("score_type", "logit", " must be 'probability' or 'score'; got 'logit'."),
    ("score_bins", 5, " must be from 10 to 1000000; got 5."),
    ("score_bins", 2_000_000, " must be from 10 to 1000000; got 2000000."),
    ("regression_bins", 0, " must be from 1 to 1000; got 0."),
    ("max_categories", 1, " must be at least 2; got 1."),
    ("four_fifths_threshold", 0.0, " must be in (0, 1]; got 0.0."),
    ("four_fifths_threshold", 1.5, " must be in (0, 1]; got 1.5."),
    ("significance_level", 1.0, " must be in (0, 1); got 1.0."),
    ("ll144_min_share", 1.0, " must be in [0, 1); got 1.0."),
    ("ll144_min_share", -0.1, " must be in [0, 1); got -0.1."),
    (
        "ll144_rate",
        "impact_rate",
        " must be one of ['selection_rate', 'scoring_rate'], got 'impact_rate'.",
    ),
    (
        "verdict_interval",
        "bootstrap",
        " must be one of ['simultaneous', 'percentile'], got 'bootstrap'.",
    ),
    (
        "reference_population",
        {"g": {"a": 0.5, "b": 0.6}},
        " must give shares summing to 1; those of 'g' sum to 1.1.",
    ),
    (
        "reference_population",
        {"g": {"a": -0.5, "b": 1.5}},
        " must give positive shares; got {'a': -0.5, 'b': 1.5} for 'g'.",
    ),
    ("reference_population", {"g": {"a": "half"}}, ".g.a must be a number, got 'half'."),
    (
        "engine",
        "gpu",
        " must be one of ['memory', 'duckdb', 'spark', 'auto'], got 'gpu'.",
    ),
    ("memory_limit", "lots", f"{_MEMORY}; got 'lots'."),
    (
        "memory_limit",
        "10 MB",
        " must be from 64 MiB (DuckDB cannot scan a file in less) to 1024 TiB; got '10 MB'.",
    ),
    ("memory_limit", "150%", " must be from 1% to 100% of the memory; got '150%'."),
    ("memory_limit", 2, " must be a string, got 2."),
]
IDS = [f"{name}={value!r}" for name, value, _ in CASES]
#: Options a spec gives in its [data] table.
FROM_DATA = ("score_type", "max_categories", "task")
DATA = {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]}
Y = [0, 1] * 50
P = [0, 1, 1, 0] * 25
G = {"g": ["a"] * 50 + ["b"] * 50}


def plain(value: Any) -> Any:
    """A value as TOML (and so a parsed spec) gives it: tuples as lists."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def spec_of(name: str, value: Any) -> dict[str, Any]:
    if name in FROM_DATA:
        return {"data": {**DATA, name: plain(value)}}
    return {"data": DATA, "audit": {name: plain(value)}}


def refused(call: Any) -> str:
    with pytest.raises(SpecError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.mark.parametrize(("name", "value", "problem"), CASES, ids=IDS)
def test_an_option_is_refused_in_the_same_words_by_every_entry_point(
    name: str, value: Any, problem: str
) -> None:
    bad = {name: value}
    section = "data" if name in FROM_DATA else "audit"
    assert refused(lambda: AuditOptions(**bad).check()) == f"AuditOptions.{name}{problem}"
    assert refused(lambda: dataclasses.replace(AuditOptions(), **bad).check()) == (
        f"AuditOptions.{name}{problem}"
    )
    assert (
        refused(lambda: audit_predictions(Y, P, sensitive_features=G, options=AuditOptions(**bad)))
        == f"audit_predictions: options.{name}{problem}"
    )
    assert refused(lambda: parse_spec(spec_of(name, value))) == (
        f"<spec>: {section}.{name}{problem}"
    )


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [c for c in CASES if c[0] not in FROM_DATA],
    ids=[i for i, c in zip(IDS, CASES, strict=True) if c[0] not in FROM_DATA],
)
def test_an_audit_option_is_refused_in_the_same_words_by_the_other_entry_points(
    name: str, value: Any, problem: str
) -> None:
    bad = {name: value}
    frame = pd.DataFrame({"y": Y, "p": P, **G})
    spec = AuditSpec(DataSpec("y", "p", ("g",)), AuditOptions(**bad))
    assert refused(lambda: run_audit(spec, frame)) == f"<spec>: audit.{name}{problem}"
    mitigation = {
        "data": {"path": "d.csv", "y_true": "y", "sensitive_features": ["g"]},
        "model": {"numeric_features": ["x"]},
        "audit": {name: plain(value)},
    }
    assert refused(lambda: parse_mitigation_spec(mitigation)) == f"<spec>: audit.{name}{problem}"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [c for c in CASES if c[0] in FROM_DATA],
    ids=[i for i, c in zip(IDS, CASES, strict=True) if c[0] in FROM_DATA],
)
def test_an_option_of_a_python_spec_that_data_carries_is_checked_as_the_options_say(
    name: str, value: Any, problem: str
) -> None:
    # to_dict() writes score_type, max_categories and task from [data]; the audit runs with
    # the options' own, so those are checked too (they once reached the data's checks).
    frame = pd.DataFrame({"y": Y, "p": P, **G})
    spec = AuditSpec(DataSpec("y", "p", ("g",)), AuditOptions(**{name: value}))
    assert refused(lambda: run_audit(spec, frame)) == (
        f"run_audit(spec, data): spec.options.{name}{problem}"
    )


def test_the_spec_names_the_line_of_the_key() -> None:
    text = (
        "[data]\n"  # 1
        'y_true = "y"\n'  # 2
        'y_pred = "p"\n'  # 3
        'sensitive_features = ["g"]\n'  # 4
        "max_categories = 1\n"  # 5
        "[audit]\n"  # 6
        "confidence_level = 0.9\n"  # 7
        "min_group_size = -3\n"  # 8
    )
    assert refused(lambda: parse_spec(tomllib.loads(text), origin="a.toml", text=text)) == (
        "a.toml:8: audit.min_group_size must be at least 1; got -3."
    )
    text = text.replace("min_group_size = -3", "min_group_size = 3")
    assert refused(lambda: parse_spec(tomllib.loads(text), origin="a.toml", text=text)) == (
        "a.toml:5: data.max_categories must be at least 2; got 1."
    )


# ---------------------------------------------------------------------------------------------
# The deprecated n_boot: read as before, refused in the same words when not a count
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "toml"), [(-1, "-1"), ("1000", '"1000"'), (2.5, "2.5"), (True, "true")]
)
def test_n_boot_that_is_not_a_count_is_refused_in_the_same_words(value: Any, toml: str) -> None:
    problem = f" must be a non-negative integer; got {value!r}."
    assert refused(lambda: AuditOptions(n_boot=value)) == f"AuditOptions.n_boot{problem}"  # type: ignore[call-arg]
    assert refused(lambda: dataclasses.replace(AuditOptions(), n_boot=value)) == (  # type: ignore[call-arg]
        f"AuditOptions.n_boot{problem}"
    )
    raw = {"data": DATA, "audit": {"n_boot": value}}
    assert refused(lambda: parse_spec(raw)) == f"<spec>: audit.n_boot{problem}"
    mitigation = {
        "data": {"path": "d.csv", "y_true": "y", "sensitive_features": ["g"]},
        "model": {"numeric_features": ["x"]},
        "audit": {"n_boot": value},
    }
    assert refused(lambda: parse_mitigation_spec(mitigation)) == f"<spec>: audit.n_boot{problem}"
    text = (
        '[data]\ny_true = "y"\ny_pred = "p"\nsensitive_features = ["g"]\n'
        f"[audit]\nn_boot = {toml}\n"  # line 6
    )
    assert refused(lambda: parse_spec(tomllib.loads(text), origin="a.toml", text=text)) == (
        f"a.toml:6: audit.n_boot{problem}"
    )


def test_n_boot_keeps_its_meaning() -> None:
    # 0: no intervals; any other count: nothing (a warning in Python, a note in a spec).
    with pytest.warns(DeprecationWarning, match="does nothing"):
        assert AuditOptions(n_boot=0).intervals is False  # type: ignore[call-arg]
    with pytest.warns(DeprecationWarning, match="does nothing"):
        assert AuditOptions(n_boot=1).intervals is True  # type: ignore[call-arg]
    spec = parse_spec({"data": DATA, "audit": {"n_boot": 1}})
    assert spec.options.intervals is True
    assert spec.deprecations[0].startswith("<spec>: audit.n_boot is no longer used")
    assert parse_spec({"data": DATA, "audit": {"n_boot": 0}}).options.intervals is False


# ---------------------------------------------------------------------------------------------
# Evidence stays readable: no range rule applies to a stored result
# ---------------------------------------------------------------------------------------------


def _result() -> AuditResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics are not the point here
        return audit_predictions(Y, P, sensitive_features=G)


def test_a_result_with_options_out_of_todays_ranges_is_still_read(tmp_path: Path) -> None:
    data = _result().to_dict()
    # Options a later rule refuses (an older fairtrail wrote them): min_group_size 0, 5 score
    # bins, a reference population summing to 1.1, an unknown-looking memory limit.
    data["options"].update(
        min_group_size=0,
        score_bins=5,
        reference_population={"g": {"a": 0.5, "b": 0.6}},
        memory_limit="lots",
    )
    old = AuditResult.from_dict(data)
    assert (old.options.min_group_size, old.options.score_bins) == (0, 5)
    assert old.options.memory_limit == "lots"
    with pytest.raises(SpecError, match=r"^AuditOptions\.min_group_size must be at least 1"):
        old.options.check()  # refused only where an audit would run with it
    write_bundle(old, tmp_path / "bundle")
    again = read_bundle(tmp_path / "bundle")
    assert again.options == old.options


def test_a_stored_result_of_the_wrong_type_is_still_refused() -> None:
    data = _result().to_dict()
    data["options"]["min_group_size"] = "thirty"
    with pytest.raises(
        BundleError, match=r"options\.min_group_size must be an integer, got 'thirty'"
    ):
        AuditResult.from_dict(data)


# ---------------------------------------------------------------------------------------------
# repr: one line; notebook HTML: the criteria table, every text escaped
# ---------------------------------------------------------------------------------------------


def test_repr_is_one_short_line() -> None:
    r = _result()
    r = dataclasses.replace(r, data=dataclasses.replace(r.data, source="a\nb.csv"))
    text = repr(r)
    assert "\n" not in text
    assert text == (
        f"AuditResult(audit_id={r.audit_id!r}, rows=100, source='a\\nb.csv', "
        "status='no_policy', attributes=1, criteria=0)"
    )


def test_html_shows_the_criteria_as_the_command_line_does() -> None:
    # a: selection rate 1/4 (y_pred 1 on 1 row of each 4); b: 3/4. Ratio 0.25 / 0.75 = 1/3;
    # difference 0.75 - 0.25 = 0.5. No intervals: the point decides.
    r = audit_predictions(
        [0, 1] * 200,
        [1, 0, 0, 0, 1, 1, 1, 0] * 50,
        sensitive_features={"g": (["a"] * 4 + ["b"] * 4) * 50},
        policy=Policy(
            (
                Threshold("demographic_parity_ratio", 0.8),
                Threshold("demographic_parity_difference", 0.6),
            ),
            decision_rule="point",
        ),
        options=AuditOptions(intervals=False),
    )
    page = r._repr_html_()
    assert (
        "<tr><td>demographic_parity_ratio</td><td>g</td><td>0.333</td><td>≥ 0.8</td>"
        "<td>fail</td></tr>"
    ) in page
    assert (
        "<tr><td>demographic_parity_difference</td><td>g</td><td>0.500</td><td>≤ 0.6</td>"
        "<td>pass</td></tr>"
    ) in page
    assert "<th>estimate [no interval]</th>" in page


def test_html_says_undefined_for_an_undefined_estimate() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = audit_predictions(
            Y, P, sensitive_features=G, policy=Policy((Threshold("demographic_parity_ratio", 0.8),))
        )
    c = r.criteria[0]
    undefined = dataclasses.replace(c.estimate, value=math.nan, undefined_reason="no groups")
    page = dataclasses.replace(
        r, criteria=(dataclasses.replace(c, estimate=undefined),)
    )._repr_html_()
    assert "<td>g</td><td>undefined</td><td>≥ 0.8</td>" in page


def test_html_escapes_attribute_and_group_names() -> None:
    attribute = "<script>alert('a')</script>"
    small = "<script>alert('g')</script>"
    # The group `small` has 20 rows, fewer than min_group_size=30: named in the notes.
    r = audit_predictions(
        [0, 1] * 60,
        [0, 1, 1, 0] * 30,
        sensitive_features={attribute: ["big"] * 100 + [small] * 20},
        policy=Policy((Threshold("demographic_parity_ratio", 0.8),)),
    )
    page = r._repr_html_()
    assert "<script>" not in page
    assert "<td>&lt;script&gt;alert(&#x27;a&#x27;)&lt;/script&gt;</td>" in page
    assert "Not compared: &lt;script&gt;alert(&#x27;g&#x27;)&lt;/script&gt; (20 rows" in page


# ---------------------------------------------------------------------------------------------
# One Roles type: a spec's [data], prepare_data and the engines describe the columns alike
# ---------------------------------------------------------------------------------------------


def test_a_spec_gives_its_roles_with_the_options_that_read_them() -> None:
    spec = parse_spec(
        {
            "data": {**DATA, "y_score": "s", "score_type": "score", "missing_values": ["NA"]},
            "audit": {"score_bins": 50},
        }
    )
    assert spec.roles() == Roles(
        "y",
        "p",
        ("g",),
        y_score="s",
        score_type="score",
        score_bins=50,
        missing_values=("NA",),
    )
    assert spec.roles().columns() == {
        "y_true": "y",
        "y_pred": "p",
        "y_score": "s",
        "sensitive_features[0]": "g",
    }
    assert spec.roles().columns(sensitive=False) == {"y_true": "y", "y_pred": "p", "y_score": "s"}
    assert spec.roles().role_map() == {
        "y": "y_true",
        "p": "y_pred",
        "s": "y_score",
        "g": "sensitive_features[0]",
    }


def test_prepare_data_takes_roles_or_its_keyword_arguments() -> None:
    frame = pd.DataFrame({"y": Y, "p": P, **G})
    by_roles = prepare_data(frame, Roles("y", "p", ("g",)))
    by_keywords = prepare_data(frame, y_true="y", y_pred="p", sensitive_features=["g"])
    assert by_roles.features[0].categories == by_keywords.features[0].categories == ("a", "b")
    assert by_roles.y_true.tolist() == by_keywords.y_true.tolist() == Y
    with pytest.raises(TypeError, match=r"roles or the keyword arguments of roles, not both"):
        prepare_data(frame, Roles("y", "p", ("g",)), y_true="y")
    with pytest.raises(TypeError, match=r"needs the columns"):
        prepare_data(frame)


def test_a_column_named_for_two_roles_is_refused_at_the_line_of_the_second() -> None:
    text = '[data]\ny_true = "y"\ny_pred = "p"\nsensitive_features = ["g", "y"]\n'
    assert refused(lambda: parse_spec(tomllib.loads(text), origin="a.toml", text=text)) == (
        "a.toml:4: data: Column 'y' is named for two roles, y_true and sensitive_features[1]; "
        "each column plays one role."
    )
