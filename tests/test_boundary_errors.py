"""Bad input at every boundary: one line naming what and where, a fairtrail error, exit 2.

The spec and gate policy files (encoding, every option checked when read, with its line), the
bundle's manifest (any shape), the bundle's output folder (links, files, other people's
folders), and the Python entry points given arguments of the wrong type. Expected messages are
written out by hand; the fuzz tests only check the kind of the outcome.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import audit._bundle
from audit import (
    AuditOptions,
    AuditResult,
    AuditSpec,
    BundleError,
    DataSpec,
    DataValidationError,
    FairtrailError,
    Policy,
    SpecError,
    Threshold,
    audit_predictions,
    load_spec,
    parse_spec,
    read_bundle,
    run_audit,
    verify_bundle,
    write_bundle,
)
from audit._bundle import BUNDLE_FORMAT, check_bundle_target, parse_manifest
from audit._spec import check_memory_limit
from fairtrail.gate import GatePolicyError, load_gate_policy

CLI = Callable[..., Any]

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

#: A spec whose lines are known: {data} is line 6, {audit} line 8, {lineage} line 10, and
#: {tail} starts at line 11.
SPEC = """\
[data]
path = "pred.csv"
y_true = "y_true"
y_pred = "y_pred"
sensitive_features = ["sex"]
{data}
[audit]
{audit}
[lineage]
{lineage}
{tail}"""

POLICY = """\
name = "{name}"
[[criterion]]
name = "demographic_parity_ratio"
threshold = 0.8
"""


def spec_text(data: str = "", audit: str = "", lineage: str = "", tail: str = "") -> str:
    return SPEC.format(data=data, audit=audit, lineage=lineage, tail=tail)


def write_predictions(folder: Path) -> None:
    # F selects 100 of 200, M 100 of 200: a ratio of 1 with 400 rows, so a run passes.
    df = pd.DataFrame(
        {"y_true": [0, 1] * 200, "y_pred": [1, 1, 0, 0] * 100, "sex": ["F"] * 200 + ["M"] * 200}
    )
    df.to_csv(folder / "pred.csv", index=False)


def one_error_line(out: Any) -> str:
    """The CLI failed with exit 2 and wrote exactly one line to stderr: that line."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return str(lines[0])


def raises_one_line(error: type[Exception], call: Callable[[], Any]) -> str:
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    return message


@pytest.fixture
def result() -> AuditResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics of the small groups
        return audit_predictions(
            [0, 1] * 50,
            [1, 0, 0, 1] * 25,
            sensitive_features={"g": ["a", "b"] * 50},
            options=AuditOptions(intervals=False),
        )


# ---------------------------------------------------------------------------------------------
# 1. Spec and gate policy files that are not UTF-8
# ---------------------------------------------------------------------------------------------

UTF8 = spec_text().encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (  # Latin-1 é then "x": byte 25 of line 5 ('sensitive_features = ["s' is 24 bytes)
            UTF8.replace(b'["sex"]', b'["s\xe9x"]'),
            "audit.toml:5: the file must be UTF-8 text, but byte 25 of line 5 (0xE9) is not "
            "valid UTF-8 (invalid continuation byte); save it as UTF-8.",
        ),
        (  # saved as UTF-16 (with its byte order mark FF FE)
            spec_text().encode("utf-16"),
            "audit.toml:1: the file must be UTF-8 text (it looks like UTF-16), but byte 1 of "
            "line 1 (0xFF) is not valid UTF-8 (invalid start byte); save it as UTF-8.",
        ),
        (  # Windows-1252 curly quote 0x93 in a comment on line 2
            b"[data]\n# \x93quoted\x94\n",
            "audit.toml:2: the file must be UTF-8 text, but byte 3 of line 2 (0x93) is not "
            "valid UTF-8 (invalid start byte); save it as UTF-8.",
        ),
        (  # the first byte of a two-byte character, then the end of the file
            b"[data]\n# caf\xc3",
            "audit.toml:2: the file must be UTF-8 text, but byte 6 of line 2 (0xC3) is not "
            "valid UTF-8 (unexpected end of data); save it as UTF-8.",
        ),
    ],
)
def test_a_spec_that_is_not_utf8_names_the_file_line_and_byte(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "audit.toml").write_bytes(content)
    assert raises_one_line(SpecError, lambda: load_spec(tmp_path / "audit.toml")) == message


def test_a_spec_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "audit.toml").write_bytes(b"\xef\xbb\xbf" + UTF8)
    spec = load_spec(tmp_path / "audit.toml")
    assert spec.data.sensitive_features == ("sex",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (  # 'name = "politique ' is 18 bytes: é is byte 19
            POLICY.format(name="politique équité").encode("latin-1"),
            "policy.toml:1: the file must be UTF-8 text, but byte 19 of line 1 (0xE9) is not "
            "valid UTF-8 (invalid continuation byte); save it as UTF-8.",
        ),
        (
            POLICY.format(name="p").encode("utf-16"),
            "policy.toml:1: the file must be UTF-8 text (it looks like UTF-16), but byte 1 of "
            "line 1 (0xFF) is not valid UTF-8 (invalid start byte); save it as UTF-8.",
        ),
        (
            POLICY.format(name="p").encode() + b"# \x93\n",
            "policy.toml:5: the file must be UTF-8 text, but byte 3 of line 5 (0x93) is not "
            "valid UTF-8 (invalid start byte); save it as UTF-8.",
        ),
    ],
)
def test_a_gate_policy_that_is_not_utf8_names_the_file_line_and_byte(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "policy.toml").write_bytes(content)
    got = raises_one_line(GatePolicyError, lambda: load_gate_policy(tmp_path / "policy.toml"))
    assert got == message


def test_a_gate_policy_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_bytes(b"\xef\xbb\xbf" + POLICY.format(name="p").encode())
    policy = load_gate_policy(tmp_path / "policy.toml")
    assert (policy.name, policy.criteria[0].line) == ("p", 2)  # lines as without the mark


def test_cli_run_of_a_latin1_spec_is_one_line_with_exit_2(
    tmp_path: Path, fairtrail_cli: CLI
) -> None:
    write_predictions(tmp_path)
    (tmp_path / "audit.toml").write_bytes(UTF8.replace(b'["sex"]', b'["s\xe9x"]'))
    line = one_error_line(fairtrail_cli("run", "audit.toml", cwd=tmp_path))
    assert line == (
        "fairtrail: error: audit.toml:5: the file must be UTF-8 text, but byte 25 of line 5 "
        "(0xE9) is not valid UTF-8 (invalid continuation byte); save it as UTF-8."
    )


# ---------------------------------------------------------------------------------------------
# 2. Every option checked when the spec is read, with the line of its key
# ---------------------------------------------------------------------------------------------

_AUDIT_KEYS = (
    "['confidence_level', 'disparity_method', 'engine', 'four_fifths_threshold', "
    "'include_unknown_in_disparities', 'intersections', 'intervals', 'll144_min_share', "
    "'ll144_rate', 'memory_limit', 'min_group_size', 'random_state', 'reference_groups', "
    "'reference_population', 'regression_bins', 'score_bins', 'significance_level', "
    "'verdict_interval']"
)
_MEMORY = (
    "must be a size such as '2GB', '512 MiB' or '80%' (a number, then B, KB, MB, GB, TB, KiB, "
    "MiB, GiB or TiB, or %)"
)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"audit": 'memory_limit = "lots"'}, f"8: audit.memory_limit {_MEMORY}; got 'lots'."),
        ({"audit": 'memory_limit = "2"'}, f"8: audit.memory_limit {_MEMORY}; got '2'."),
        ({"audit": 'memory_limit = "1e3MB"'}, f"8: audit.memory_limit {_MEMORY}; got '1e3MB'."),
        ({"audit": 'memory_limit = "-1GB"'}, f"8: audit.memory_limit {_MEMORY}; got '-1GB'."),
        (
            {"audit": 'memory_limit = "10 MB"'},
            "8: audit.memory_limit must be from 64 MiB (DuckDB cannot scan a file in less) to "
            "1024 TiB; got '10 MB'.",
        ),
        (
            {"audit": 'memory_limit = "150%"'},
            "8: audit.memory_limit must be from 1% to 100% of the memory; got '150%'.",
        ),
        ({"audit": "memory_limit = 2"}, "8: audit.memory_limit must be a string, got 2."),
        (
            {"audit": 'engine = "gpu"'},
            "8: audit.engine must be one of ['memory', 'duckdb', 'spark', 'auto'], got 'gpu'.",
        ),
        (
            {"audit": "score_bins = 10000000"},
            "8: audit.score_bins must be from 10 to 1000000; got 10000000.",
        ),
        (
            {"audit": "significance_level = 0"},
            "8: audit.significance_level must be in (0, 1); got 0.0.",
        ),
        (
            {"audit": "confidence_level = nan"},
            "8: audit.confidence_level must be in (0, 1); got nan.",
        ),
        (
            {"audit": 'intersections = [["sex", "race"]]'},
            "8: audit.intersections[0] names ['race'], which are not in "
            "data.sensitive_features ['sex'].",
        ),
        (
            {"audit": 'disparity_method = "reference"'},
            "8: audit.disparity_method = 'reference' needs a reference group for ['sex'] in "
            "audit.reference_groups.",
        ),
        (
            {"audit": 'll144_rate = "scoring_rate"'},
            "8: audit.ll144_rate = 'scoring_rate' needs data.y_score.",
        ),
        (
            {"audit": "reference_population = { sex = { F = 0.5, M = 0.6 } }"},
            "8: audit.reference_population must give shares summing to 1; those of 'sex' sum "
            "to 1.1.",
        ),
        ({"audit": "x.y = 1"}, f"8: unknown key 'audit.x'; allowed keys: {_AUDIT_KEYS}."),
        ({"data": 'format = "xlsx"'}, "6: data.format must be 'csv' or 'parquet'; got 'xlsx'."),
        (
            {"data": 'score_type = "logit"'},
            "6: data.score_type must be 'probability' or 'score'; got 'logit'.",
        ),
        (
            {"data": 'task = "ranking"'},
            "6: data.task must be 'binary_classification' or 'regression'; got 'ranking'.",
        ),
        ({"data": 'missing_values = "NA"'}, "6: data.missing_values must be a list, got 'NA'."),
        (
            {"data": 'missing_values = ["NA", 0]'},
            "6: data.missing_values[1] must be a string, got 0.",
        ),
        ({"data": 'y_score = ""'}, "6: data.y_score must name a column; got ''."),
        (
            {"data": "pos_label = nan"},
            "6: data.pos_label must be a string or a finite number; got nan.",
        ),
        (
            {"lineage": 'url = "ftp://example.org"'},
            "10: lineage.url must be an http or https URL with a host, such as "
            "'http://localhost:5000'; got 'ftp://example.org'.",
        ),
        (
            {"lineage": "timeout = inf"},
            "10: lineage.timeout must be a positive number of seconds; got inf.",
        ),
        (
            {"tail": '[policy.thresholds]\ndemographic_parity_ratio = "0.8"\n'},
            "12: policy.thresholds: The threshold of 'demographic_parity_ratio' must be a finite "
            "number; got '0.8'.",
        ),
    ],
)
def test_every_option_is_checked_when_read_with_its_line(
    tmp_path: Path, parts: dict[str, str], message: str
) -> None:
    (tmp_path / "audit.toml").write_text(spec_text(**parts), encoding="utf-8")
    got = raises_one_line(SpecError, lambda: load_spec(tmp_path / "audit.toml"))
    assert got == f"audit.toml:{message}"


def test_missing_values_listing_the_positive_label_is_refused() -> None:
    raw = {
        "data": {
            "y_true": "y",
            "y_pred": "p",
            "sensitive_features": ["g"],
            "pos_label": "NA",
            "missing_values": ["NA", "?"],
        }
    }
    assert raises_one_line(SpecError, lambda: parse_spec(raw)) == (
        "<spec>: data.missing_values lists 'NA', which is data.pos_label: a positive label "
        "cannot also mean missing."
    )


def test_missing_values_may_list_the_empty_field(tmp_path: Path) -> None:
    # The empty field is always missing; listing it changes nothing and is accepted.
    (tmp_path / "audit.toml").write_text(spec_text(data='missing_values = ["", "NA"]'))
    assert load_spec(tmp_path / "audit.toml").data.missing_values == ("", "NA")


@pytest.mark.parametrize(
    "value",
    ["2GB", "2 gb", "512 MiB", "512mib", "1.5GB", "80%", "100 %", "1%", " 4 TiB ", "64MiB", ""],
)
def test_memory_limits_in_the_safe_subset_are_accepted(value: str) -> None:
    assert check_memory_limit(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    [
        "lots",
        "2",
        "2G",
        "1e3MB",
        ".5GB",
        "5.GB",
        "-1GB",
        "0%",
        "0.5%",
        "150%",
        "1,5GB",
        "2 megabytes",
        "10MB",
        "1025 TiB",
        "100000000000000000000000000000TB",
        None,
        2.0,
    ],
)
def test_memory_limits_outside_the_safe_subset_are_refused(value: object) -> None:
    message = raises_one_line(SpecError, lambda: check_memory_limit(value, "--memory-limit"))
    assert message.startswith("--memory-limit must be ")
    assert message.endswith(f"got {value!r}.")


@settings(max_examples=60, deadline=None)
@given(
    number=st.one_of(
        st.integers(0, 10**6).map(str),
        st.decimals(0, 10**4, places=2, allow_nan=False, allow_infinity=False).map(str),
    ),
    space=st.sampled_from(["", " "]),
    unit=st.sampled_from(["B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "%", "gb"]),
)
def test_every_memory_limit_accepted_is_read_by_duckdb(number: str, space: str, unit: str) -> None:
    import duckdb

    value = f"{number}{space}{unit}"
    try:
        checked = check_memory_limit(value)
    except SpecError:
        return
    with duckdb.connect(config={"memory_limit": checked}) as db:  # DuckDB's own parser
        assert db.execute("SELECT current_setting('memory_limit')").fetchone()


def test_cli_memory_limit_in_the_spec_is_one_line_with_exit_2(
    tmp_path: Path, fairtrail_cli: CLI
) -> None:
    write_predictions(tmp_path)
    (tmp_path / "audit.toml").write_text(
        spec_text(audit='engine = "duckdb"\nmemory_limit = "lots"')
    )
    line = one_error_line(fairtrail_cli("run", "audit.toml", cwd=tmp_path))
    assert line == f"fairtrail: error: audit.toml:9: audit.memory_limit {_MEMORY}; got 'lots'."


def test_cli_memory_limit_option_is_one_line_with_exit_2(
    tmp_path: Path, fairtrail_cli: CLI
) -> None:
    write_predictions(tmp_path)
    (tmp_path / "audit.toml").write_text(spec_text())
    out = fairtrail_cli(
        "run", "audit.toml", "--engine", "duckdb", "--memory-limit", "lots", cwd=tmp_path
    )
    line = one_error_line(out)
    assert line.startswith("fairtrail: error: ")
    assert "memory_limit" in line or "memory-limit" in line
    assert line.endswith(f"{_MEMORY}; got 'lots'.")


# ---------------------------------------------------------------------------------------------
# 3. Bundles whose manifest has the wrong shape
# ---------------------------------------------------------------------------------------------

_FILES = '\'files\' must be an object of file name to {"sha256": ..., "size": ...}'
_PATH = "must be a relative path inside the bundle, without '.', '..' or empty parts."


def _manifest(bundle: Path) -> dict[str, Any]:
    return dict(json.loads((bundle / "manifest.json").read_text()))


def _files_as_list(m: dict[str, Any]) -> Any:
    return {**m, "files": list(m["files"])}


def _entry(name: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(m: dict[str, Any]) -> Any:
        m = copy.deepcopy(m)
        m["files"]["result.json"][name] = value
        return m

    return change


def _listed(name: str) -> Callable[[dict[str, Any]], Any]:
    def change(m: dict[str, Any]) -> Any:
        m = copy.deepcopy(m)
        m["files"][name] = m["files"]["result.json"]
        return m

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_files_as_list, f"manifest.json: {_FILES}; got an array."),
        (
            lambda m: {k: v for k, v in m.items() if k != "files"},
            f"manifest.json: {_FILES}; got nothing.",
        ),
        (lambda m: [m], "manifest.json must hold a JSON object; got an array."),
        (lambda m: "manifest", "manifest.json must hold a JSON object; got a string."),
        (
            lambda m: {k: v for k, v in m.items() if k != "format"},
            "manifest.json has no 'format'; expected 'fairtrail-bundle/1'.",
        ),
        (
            lambda m: {**m, "format": "fairtrail-bundle/9"},
            "manifest.json has format 'fairtrail-bundle/9'; expected 'fairtrail-bundle/1'.",
        ),
        (
            lambda m: {**m, "audit_id": 5},
            "manifest.json: 'audit_id' must be a string; got the number 5.",
        ),
        (
            _entry("sha256", 5),
            "manifest.json: files['result.json'].sha256 must be 64 lowercase hexadecimal "
            "digits; got 5.",
        ),
        (
            _entry("sha256", "abc"),
            "manifest.json: files['result.json'].sha256 must be 64 lowercase hexadecimal "
            "digits; got 'abc'.",
        ),
        (
            _entry("sha256", "A" * 64),
            "manifest.json: files['result.json'].sha256 must be 64 lowercase hexadecimal "
            f"digits; got '{'A' * 64}'.",
        ),
        (
            _entry("size", -1),
            "manifest.json: files['result.json'].size must be a whole number of bytes, at "
            "least 0; got -1.",
        ),
        (
            _entry("size", "10"),
            "manifest.json: files['result.json'].size must be a whole number of bytes, at "
            "least 0; got '10'.",
        ),
        (
            _entry("x", 1),
            "manifest.json: files['result.json'] must be an object with exactly 'sha256' and "
            "'size'; got the keys ['sha256', 'size', 'x'].",
        ),
        (
            lambda m: {**m, "files": {**m["files"], "result.json": [1]}},
            "manifest.json: files['result.json'] must be an object with exactly 'sha256' and "
            "'size'; got an array.",
        ),
        (_listed("../outside.txt"), f"manifest.json: the file name '../outside.txt' {_PATH}"),
        (_listed("/etc/passwd"), f"manifest.json: the file name '/etc/passwd' {_PATH}"),
        (_listed("a//b"), f"manifest.json: the file name 'a//b' {_PATH}"),
        (_listed("./result.json"), f"manifest.json: the file name './result.json' {_PATH}"),
        (_listed(""), "manifest.json: the file name '' must be a non-empty string."),
        (
            _listed("a\\b"),
            "manifest.json: the file name 'a\\\\b' must be a file name of at most 1024 bytes, "
            "without NUL or backslash.",
        ),
        (
            _listed("manifest.json"),
            "manifest.json: the file name 'manifest.json' names the manifest or the report, "
            "which a manifest does not list.",
        ),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_bundle_error(
    tmp_path: Path, result: AuditResult, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "manifest.json").write_text(json.dumps(change(_manifest(bundle))))
    assert verify_bundle(bundle) == [problem]
    message = raises_one_line(BundleError, lambda: read_bundle(bundle))
    assert message == f"Bundle '{bundle}' failed verification: {problem}"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (  # '{"format": "' is 12 bytes: 0xFF is byte 13
            b'{"format": "\xff"}',
            "manifest.json:1: the file must be UTF-8 text, but byte 13 of line 1 (0xFF) is not "
            "valid UTF-8 (invalid start byte); the manifest is damaged.",
        ),
        (b'{"files": ', "manifest.json is not valid JSON: Expecting value at line 1, column 11."),
        (b"", "manifest.json is not valid JSON: Expecting value at line 1, column 1."),
    ],
)
def test_a_manifest_that_is_not_utf8_json_is_one_bundle_error(
    tmp_path: Path, result: AuditResult, content: bytes, problem: str
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "manifest.json").write_bytes(content)
    assert verify_bundle(bundle) == [problem]


def test_a_huge_manifest_is_not_read(tmp_path: Path, result: AuditResult) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    with (bundle / "manifest.json").open("r+b") as f:
        f.truncate(16 * 2**20 + 1)  # sparse: no 16 MiB written
    assert verify_bundle(bundle) == [
        "manifest.json is 16,777,217 bytes; a manifest lists file names and digests and is at "
        "most 16 MiB."
    ]


def test_a_deeply_nested_manifest_is_one_bundle_error(tmp_path: Path, result: AuditResult) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "manifest.json").write_text("[" * 100_000)
    (problem,) = verify_bundle(bundle)
    assert problem.startswith("manifest.json is not valid JSON: ")


def test_a_listed_file_leading_out_of_the_bundle_is_a_problem(
    tmp_path: Path, result: AuditResult
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    (bundle / "link").symlink_to(outside)
    m = _manifest(bundle)
    m["files"]["link"] = {"sha256": hashlib.sha256(b"secret").hexdigest(), "size": 6}
    (bundle / "manifest.json").write_text(json.dumps(m))
    real = os.path.realpath(outside)
    assert verify_bundle(bundle) == [
        f"link leads outside the bundle (a symbolic link to '{real}')."
    ]


def test_a_result_that_is_not_an_object_is_one_bundle_error(
    tmp_path: Path, result: AuditResult
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    body = b"[1, 2]"
    (bundle / "result.json").write_bytes(body)
    m = _manifest(bundle)
    m["files"]["result.json"] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    (bundle / "manifest.json").write_text(json.dumps(m))
    assert raises_one_line(BundleError, lambda: read_bundle(bundle)) == (
        f"Bundle '{bundle}': result.json must hold a JSON object; got an array."
    )


def test_a_result_with_a_number_too_large_is_one_bundle_error(
    tmp_path: Path, result: AuditResult
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    data = result.to_dict()
    data["options"]["confidence_level"] = 10**400  # no float holds it
    (bundle / "result.json").write_text(json.dumps(data))
    message = raises_one_line(BundleError, lambda: read_bundle(bundle, verify=False))
    assert (
        message == f"Bundle '{bundle}': result.json is malformed: int too large to convert to float"
    )


@pytest.mark.parametrize("command", ["show", "report"])
def test_cli_show_and_report_of_a_malformed_manifest_exit_2_with_one_line(
    tmp_path: Path, result: AuditResult, fairtrail_cli: CLI, command: str
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "manifest.json").write_text(json.dumps(_files_as_list(_manifest(bundle))))
    line = one_error_line(fairtrail_cli(command, "b", cwd=tmp_path))
    problem = f"manifest.json: {_FILES}; got an array."
    assert line == f"fairtrail: error: Bundle 'b' failed verification: {problem}"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
NAMES = st.one_of(
    st.sampled_from(
        [
            "result.json",
            "spec.json",
            "environment.json",
            "lineage",
            "../x",
            "/abs",
            "a/../b",
            "",
            ".",
            "a//b",
            "manifest.json",
            "report.pdf",
            "x\x00y",
            "a\\b",
            "\udcff",
            "a\nb",
            "x" * 2000,
        ]
    ),
    st.text(max_size=12),
)
ENTRIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "sha256": st.one_of(JSON, st.text("0123456789abcdefABCDEF", min_size=63, max_size=65)),
            "size": st.one_of(JSON, st.integers(-2, 10**6)),
        },
        optional={"extra": JSON},
    ),
)
MANIFESTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "format": st.one_of(st.just(BUNDLE_FORMAT), JSON),
            "files": st.one_of(JSON, st.dictionaries(NAMES, ENTRIES, max_size=4)),
        },
        optional={"audit_id": JSON, "status": JSON, "created_at": JSON},
    ),
)


@pytest.fixture(scope="module")
def fuzzed_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = audit_predictions(
            [0, 1] * 20,
            [1, 0] * 20,
            sensitive_features={"g": ["a", "b"] * 20},
            options=AuditOptions(intervals=False),
        )
    return write_bundle(r, tmp_path_factory.mktemp("fuzz") / "b", extra_files={"lineage/e": b"x"})


def _check_bundle_outcome(bundle: Path) -> None:
    problems = verify_bundle(bundle)
    assert all(isinstance(p, str) and "\n" not in p for p in problems), problems
    try:
        read_bundle(bundle)
    except BundleError as exc:
        message = str(exc)
    else:
        assert not problems
        return
    assert "\n" not in message, message
    assert problems, "read_bundle refused a bundle verify_bundle found intact"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest=MANIFESTS)
def test_fuzz_any_manifest_shape_is_a_problem_or_a_bundle_error(
    fuzzed_bundle: Path, manifest: Any
) -> None:
    (fuzzed_bundle / "manifest.json").write_text(json.dumps(manifest))
    _check_bundle_outcome(fuzzed_bundle)


@settings(max_examples=150, deadline=None)
@given(
    content=st.one_of(
        st.binary(max_size=64),
        st.builds(lambda m, cut: json.dumps(m).encode()[:cut], MANIFESTS, st.integers(0, 200)),
    )
)
def test_fuzz_any_manifest_bytes_are_a_problem_or_a_bundle_error(
    fuzzed_bundle: Path, content: bytes
) -> None:
    (fuzzed_bundle / "manifest.json").write_bytes(content)
    _check_bundle_outcome(fuzzed_bundle)
    try:  # what a report's attached manifest goes through too
        assert isinstance(parse_manifest(content), dict)
    except BundleError as exc:
        assert "\n" not in str(exc)  # noqa: PT017 (the outcome may be either)


# ---------------------------------------------------------------------------------------------
# 4. The output folder: never replace a link, a file or someone else's folder
# ---------------------------------------------------------------------------------------------


def test_a_symlink_to_a_folder_is_refused_and_nothing_is_deleted(
    tmp_path: Path, result: AuditResult
) -> None:
    real = write_bundle(result, tmp_path / "real")  # even a bundle, behind a link
    before = sorted(p.name for p in real.iterdir())
    (tmp_path / "link").symlink_to(real)
    message = raises_one_line(BundleError, lambda: write_bundle(result, tmp_path / "link"))
    assert message == (
        f"Refusing to write the bundle to '{tmp_path / 'link'}': it is a symbolic link (to "
        f"'{real}'), which would be replaced. Give the folder itself, or another --out folder."
    )
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == before
    assert verify_bundle(real) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # no debris


@pytest.mark.parametrize("target", ["file", "missing"])
def test_a_symlink_to_a_file_or_nothing_is_refused(
    tmp_path: Path, result: AuditResult, target: str
) -> None:
    if target == "file":
        (tmp_path / "file").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / target)
    message = raises_one_line(BundleError, lambda: write_bundle(result, tmp_path / "link"))
    assert message.startswith(
        f"Refusing to write the bundle to '{tmp_path / 'link'}': it is a symbolic link"
    )
    if target == "file":
        assert (tmp_path / "file").read_text() == "mine"


def test_a_file_is_refused_and_kept(tmp_path: Path, result: AuditResult) -> None:
    (tmp_path / "out").write_text("mine")
    assert raises_one_line(BundleError, lambda: write_bundle(result, tmp_path / "out")) == (
        f"Refusing to write the bundle to '{tmp_path / 'out'}': it is a file, not a folder. "
        "Choose another --out folder."
    )
    assert (tmp_path / "out").read_text() == "mine"


def test_a_folder_with_other_content_is_refused_and_kept(
    tmp_path: Path, result: AuditResult
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("years of work")
    assert raises_one_line(BundleError, lambda: write_bundle(result, tmp_path / "out")) == (
        f"Refusing to replace '{tmp_path / 'out'}': it exists and is not a fairtrail bundle (no "
        "manifest.json); its files stay as they are. Choose another --out folder."
    )
    assert (tmp_path / "out" / "thesis.tex").read_text() == "years of work"


def test_a_bundle_holding_files_of_the_user_is_not_replaced(
    tmp_path: Path, result: AuditResult
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "notes.txt").write_text("reviewer's notes")
    assert raises_one_line(BundleError, lambda: write_bundle(result, bundle)) == (
        f"Refusing to replace the bundle '{bundle}': it holds notes.txt, which its manifest does "
        "not list (added after it was written). Move it away or choose another --out folder."
    )
    assert (bundle / "notes.txt").read_text() == "reviewer's notes"


def test_a_bundle_with_a_malformed_manifest_is_not_replaced(
    tmp_path: Path, result: AuditResult
) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "manifest.json").write_text("[]")
    assert raises_one_line(BundleError, lambda: write_bundle(result, bundle)) == (
        f"Refusing to replace '{bundle}': its manifest.json is not a fairtrail manifest "
        "(manifest.json must hold a JSON object; got an array); its files stay as they are. "
        "Choose another --out folder."
    )


def test_a_clean_bundle_and_its_report_are_replaced(tmp_path: Path, result: AuditResult) -> None:
    bundle = write_bundle(result, tmp_path / "b")
    (bundle / "report.pdf").write_bytes(b"%PDF")  # made from this bundle: goes with it
    write_bundle(result, bundle, spec={"x": 1})
    assert verify_bundle(bundle) == []
    assert not (bundle / "report.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path, result: AuditResult) -> None:
    (tmp_path / "afile").write_text("mine")
    target = tmp_path / "afile" / "b"
    assert raises_one_line(BundleError, lambda: write_bundle(result, target)) == (
        f"Cannot write the bundle to '{target}': '{tmp_path / 'afile'}' is a file, not a folder."
    )


def test_an_unwritable_folder_is_refused(
    tmp_path: Path, result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod does not stop root (the CI container): say what os.access would say for a user.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    assert raises_one_line(BundleError, lambda: write_bundle(result, tmp_path / "b")) == (
        f"Cannot write the bundle to '{tmp_path / 'b'}': the folder '{tmp_path}' is not writable."
    )


def test_a_failed_write_is_one_line_and_keeps_the_earlier_bundle(
    tmp_path: Path, result: AuditResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = write_bundle(result, tmp_path / "b")

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(audit._bundle, "_write", disk_full)
    assert raises_one_line(BundleError, lambda: write_bundle(result, bundle)) == (
        f"Cannot write the bundle to '{bundle}': No space left on device ('{tmp_path}')."
    )
    assert verify_bundle(bundle) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # the temporary folder removed


def test_check_bundle_target_accepts_what_write_bundle_replaces(
    tmp_path: Path, result: AuditResult
) -> None:
    (tmp_path / "empty").mkdir()
    bundle = write_bundle(result, tmp_path / "b")
    for target in (tmp_path / "new" / "deeper", tmp_path / "empty", bundle):
        assert check_bundle_target(target) == target


@pytest.mark.parametrize("kind", ["link to folder", "link to file", "file", "other folder"])
def test_cli_run_out_is_refused_in_one_line_and_nothing_is_lost(
    tmp_path: Path, fairtrail_cli: CLI, kind: str
) -> None:
    write_predictions(tmp_path)
    (tmp_path / "audit.toml").write_text(spec_text())
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "mine.txt").write_text("mine")
    if kind == "link to folder":
        (tmp_path / "out").symlink_to("real")
        expected = (
            "Refusing to write the bundle to 'out': it is a symbolic link (to 'real'), which "
            "would be replaced. Give the folder itself, or another --out folder."
        )
    elif kind == "link to file":
        (tmp_path / "out").symlink_to("real/mine.txt")
        expected = None  # click refuses a file for --out first (a usage error, exit 2)
    elif kind == "file":
        (tmp_path / "out").write_text("mine")
        expected = None
    else:
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "mine.txt").write_text("mine")
        expected = (
            "Refusing to replace 'out': it exists and is not a fairtrail bundle (no "
            "manifest.json); its files stay as they are. Choose another --out folder."
        )
    out = fairtrail_cli("run", "audit.toml", "--out", "out", "-q", cwd=tmp_path)
    if expected is not None:
        assert one_error_line(out) == f"fairtrail: error: {expected}"
    else:
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
    assert (tmp_path / "real" / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["mine.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


# ---------------------------------------------------------------------------------------------
# 5. The Python API given arguments of the wrong type
# ---------------------------------------------------------------------------------------------

FRAME = pd.DataFrame({"y": [0, 1] * 50, "p": [1, 0, 0, 1] * 25, "g": ["a", "b"] * 50})
RAW = {"data": {"y_true": "y", "y_pred": "p", "sensitive_features": ["g"]}}
_KINDS = "an AuditSpec, a dict or the path of a TOML spec file"


def only_fairtrail_errors(call: Callable[[], Any]) -> None:
    """``call`` returns a result or raises a fairtrail error of one line; nothing else."""
    try:
        outcome = _audit(call)
    except FairtrailError as exc:
        event(type(exc).__name__)  # --hypothesis-show-statistics: how often each
        message = str(exc)
    else:
        event("a result")
        assert isinstance(outcome, AuditResult)
        return
    assert "\n" not in message, message


def _audit(call: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics: not what these tests are about
        return call()


def test_run_audit_takes_a_spec_a_dict_or_a_path(tmp_path: Path) -> None:
    (tmp_path / "audit.toml").write_text(
        '[data]\ny_true = "y"\ny_pred = "p"\nsensitive_features = ["g"]\n'
    )
    results = [
        _audit(lambda spec=spec: run_audit(spec, FRAME))  # type: ignore[misc]
        for spec in (parse_spec(RAW), RAW, tmp_path / "audit.toml", str(tmp_path / "audit.toml"))
    ]
    # In each block of 4 rows, g = a on rows 0 and 2 (y_pred 1, 0): selection 1/2; b on
    # rows 1 and 3 (y_pred 0, 1): 1/2 as well.
    values = {r.attribute("g").groups[0].metrics["selection_rate"].value for r in results}
    assert values == {0.5}


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            (FRAME, RAW),
            SpecError,
            "run_audit(spec, data): the first argument is a pandas DataFrame and the second the "
            "spec; pass the spec first: run_audit(spec, data).",
        ),
        (
            (FRAME,),
            SpecError,
            "run_audit(spec, data): the first argument is a pandas DataFrame; pass the spec "
            f"first ({_KINDS}), then the data.",
        ),
        ((3, FRAME), SpecError, f"run_audit(spec, data): spec must be {_KINDS}; got int."),
        ((None, FRAME), SpecError, f"run_audit(spec, data): spec must be {_KINDS}; got None."),
        (
            ([RAW], FRAME),
            SpecError,
            f"run_audit(spec, data): spec must be {_KINDS}; got list.",
        ),
        (
            ('[data]\ny_true = "y"', FRAME),
            SpecError,
            f"run_audit(spec, data): spec must be {_KINDS}; got a string of several lines (to "
            "audit TOML text, parse it with tomllib.loads and pass the dict).",
        ),
        (
            (RAW, [[0, 1]]),
            DataValidationError,
            "run_audit(spec, data): data must be a pandas DataFrame, or None to read data.path; "
            "got list.",
        ),
        (
            (RAW, FRAME["g"]),
            DataValidationError,
            "run_audit(spec, data): data must be a pandas DataFrame, or None to read data.path; "
            "got a pandas Series.",
        ),
        (
            ({"data": []}, FRAME),
            SpecError,
            "<spec>: [data] must be a table; got [].",
        ),
        (
            (AuditSpec(DataSpec("y", "p", "g")), FRAME),  # type: ignore[arg-type]
            SpecError,
            "<spec>: data.sensitive_features must be a list, got 'g'.",
        ),
        (
            (AuditSpec(DataSpec("y", "p", ("g",)), options={}), FRAME),  # type: ignore[arg-type]
            SpecError,
            "run_audit(spec, data): spec.options must be an audit.AuditOptions; got dict.",
        ),
        (
            (AuditSpec(DataSpec("y", "p", ("g",)), AuditOptions(memory_limit="lots")), FRAME),
            SpecError,
            f"<spec>: audit.memory_limit {_MEMORY}; got 'lots'.",
        ),
        (
            (AuditSpec(DataSpec("y", "p", ("g",)), policy=Policy([("x", 1)])), FRAME),  # type: ignore[arg-type]
            SpecError,
            "run_audit(spec, data): spec.policy.thresholds must be a tuple of audit.Threshold; "
            "got [('x', 1)].",
        ),
    ],
)
def test_run_audit_with_arguments_of_the_wrong_type(
    args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    assert raises_one_line(error, lambda: run_audit(*args)) == message


def test_run_audit_callbacks_must_be_callable() -> None:
    assert raises_one_line(SpecError, lambda: run_audit(RAW, FRAME, on_step="print")) == (  # type: ignore[arg-type]
        "run_audit: on_step must be callable or None; got a string."
    )


_ARRAY = "must be a 1-D array-like (a list, a NumPy array or a pandas Series)"
_FEATURES = (
    "must be the values of one feature (a list, an array or a Series), several (a DataFrame or "
    "a 2-D array) or a dict of name to values"
)
Y = [0, 1, 1, 0]
G = ["F", "F", "M", "M"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"y_true": "0110"}, DataValidationError, f"y_true {_ARRAY}; got a string."),
        ({"y_true": 5}, DataValidationError, f"y_true {_ARRAY}; got int."),
        ({"y_true": None}, DataValidationError, "y_true is required; got None."),
        ({"y_pred": {"a": 1}}, DataValidationError, f"y_pred {_ARRAY}; got dict."),
        ({"y_pred": {0, 1}}, DataValidationError, f"y_pred {_ARRAY}; got set."),
        (
            {"y_true": [[0], [1], [1], [0]]},
            DataValidationError,
            f"y_true {_ARRAY}; got an array of shape (4, 1).",
        ),
        (
            {"y_true": np.zeros((2, 2))},
            DataValidationError,
            f"y_true {_ARRAY}; got an array of shape (2, 2).",
        ),
        ({"y_true": np.float64(1.0)}, DataValidationError, f"y_true {_ARRAY}; got numpy.float64."),
        ({"y_true": np.array(1)}, DataValidationError, f"y_true {_ARRAY}; got a scalar."),
        (
            {"y_true": [[0, 1], [1]]},
            DataValidationError,
            f"y_true {_ARRAY}; got a ragged sequence (items of different lengths).",
        ),
        (
            {"y_score": pd.DataFrame({"s": [0.1] * 4})},
            DataValidationError,
            f"y_score {_ARRAY}; got a pandas DataFrame; pass one of its columns (a Series).",
        ),
        ({"y_true": [0, 1]}, DataValidationError, "y_pred has 4 rows but y_true has 2."),
        (
            {"sensitive_features": None},
            DataValidationError,
            f"sensitive_features {_FEATURES}; got None.",
        ),
        (
            {"sensitive_features": "FFMM"},
            DataValidationError,
            f"sensitive_features {_FEATURES}; got a string.",
        ),
        (
            {"sensitive_features": 3},
            DataValidationError,
            f"sensitive_features {_FEATURES}; got int.",
        ),
        (
            {"sensitive_features": np.zeros((4, 1, 1))},
            DataValidationError,
            f"sensitive_features {_FEATURES}; got the shape (4, 1, 1).",
        ),
        ({"sensitive_features": {}}, DataValidationError, "sensitive_features has no features."),
        (
            {"sensitive_features": {"sex": G, "age": [1, 2]}},
            DataValidationError,
            "sensitive_features['age'] has 2 rows but y_true has 4.",
        ),
        (
            {"sensitive_features": {1: G, "1": G}},
            DataValidationError,
            "sensitive_features names ['1'] more than once.",
        ),
        (
            {"sensitive_features": G[:3]},
            DataValidationError,
            "sensitive_features has 3 rows but y_true has 4.",
        ),
        (
            {"policy": {"demographic_parity_ratio": 0.8}},
            SpecError,
            "policy must be an audit.Policy or None; got dict (for example "
            "Policy((Threshold('demographic_parity_ratio', 0.8),))).",
        ),
        (
            {"options": {"intervals": False}},
            SpecError,
            "options must be an audit.AuditOptions or None; got dict.",
        ),
        (
            {"options": AuditOptions(confidence_level="0.9")},  # type: ignore[arg-type]
            SpecError,
            "options.confidence_level must be a number, got '0.9'.",
        ),
        (
            {"options": AuditOptions(min_group_size=0)},
            SpecError,
            "options.min_group_size must be at least 1; got 0.",
        ),
        (
            {"pos_label": [1]},
            SpecError,
            "pos_label must be a label (a string or a finite number) or None; got [1].",
        ),
    ],
)
def test_audit_predictions_with_arguments_of_the_wrong_type(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"y_true": Y, "y_pred": Y, "sensitive_features": G, **kwargs}
    got = raises_one_line(error, lambda: audit_predictions(**arguments))
    prefixed = message.startswith(("y_pred has", "sensitive_features has 3"))
    assert got == (message if prefixed else f"audit_predictions: {message}")


def test_audit_predictions_names_columns_of_a_frame_with_numbers() -> None:
    # pd.DataFrame(array) names its columns 0, 1: audited as '0' and '1'.
    frame = pd.DataFrame(np.array([G, ["x", "y", "x", "y"]]).T)
    r = _audit(
        lambda: audit_predictions(Y * 10, Y * 10, sensitive_features=pd.concat([frame] * 10))
    )
    assert [a.name for a in r.attributes][:2] == ["0", "1"]


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(),
    st.text("ab1 \n", max_size=3),
    st.binary(max_size=2),
)
LISTS = st.lists(SCALARS, max_size=6)
JUNK = st.one_of(
    SCALARS,
    LISTS,
    LISTS.map(lambda v: np.array(v, dtype=object)),
    LISTS.map(lambda v: pd.Series(v, dtype=object)),
    st.dictionaries(st.text("gh", max_size=2), LISTS, max_size=3),
    st.lists(st.lists(SCALARS, max_size=3), max_size=4),
    st.sets(st.integers(), max_size=3),
    st.integers(0, 3).map(lambda k: np.zeros((4, k))),
    st.builds(object),
    st.just(AuditOptions()),
    st.just(Policy()),
    st.just(FRAME),
    st.just(RAW),
)
LABELS = st.lists(st.sampled_from([0, 1]), min_size=4, max_size=4)


#: Good values of each argument of audit_predictions (the first is used unless junk is drawn).
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "y_true": st.one_of(st.just(Y), LABELS, LABELS.map(np.array), LABELS.map(pd.Series)),
    "y_pred": st.one_of(st.just([0, 1, 0, 1]), LABELS),
    "sensitive_features": st.sampled_from([G, {"sex": G}, pd.DataFrame({"sex": G}), np.array(G)]),
    "y_score": st.sampled_from([None, [0.1, 0.9, 0.4, 0.6]]),
    "sample_weight": st.sampled_from([None, [1.0, 2.0, 1.0, 0.5]]),
    "pos_label": st.sampled_from([None, 1]),
    "policy": st.sampled_from(
        [None, Policy((Threshold("demographic_parity_ratio", 0.8),), decision_rule="point")]
    ),
    "options": st.just(AuditOptions(intervals=False, min_group_size=1)),
}


@st.composite
def prediction_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Good arguments, up to three of them replaced by junk: every check gets reached."""
    junk = draw(st.sets(st.sampled_from(sorted(GOOD)), max_size=3))
    return {name: draw(JUNK if name in junk else good) for name, good in GOOD.items()}


@settings(max_examples=300, deadline=None)
@given(arguments=prediction_arguments())
def test_fuzz_audit_predictions_raises_only_fairtrail_errors(arguments: dict[str, Any]) -> None:
    only_fairtrail_errors(lambda: audit_predictions(**arguments))


@settings(max_examples=200, deadline=None)
@given(
    spec=st.one_of(
        st.just(RAW),
        st.just(parse_spec(RAW)),
        st.dictionaries(
            st.sampled_from(["data", "audit", "policy", "lineage", "x"]), JUNK, max_size=3
        ),
        JUNK,
    ),
    data=st.one_of(st.just(FRAME), st.just(FRAME[["y", "p"]]), JUNK),
)
def test_fuzz_run_audit_raises_only_fairtrail_errors(spec: Any, data: Any) -> None:
    only_fairtrail_errors(lambda: run_audit(spec, data))
