"""``Bundle``, the typed front door of an audit bundle: written atomically, verified once when
opened, its parts typed and read from the bytes that were verified.

File names are spelled here as literals on purpose: the test is an independent statement of
the layout, not a reuse of ``Bundle``'s constants.
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import audit._bundle
from audit import (
    AuditOptions,
    AuditResult,
    Bundle,
    BundleError,
    BundleVerificationError,
    FairtrailError,
    Manifest,
    audit_predictions,
    read_bundle,
    verify_bundle,
    write_bundle,
)
from audit.mitigation import Predictions, TradeOff, evaluate_candidates, load_chosen_model

ROOT = Path(__file__).resolve().parents[1]

# 200 rows: F (rows 0-3 of every 8) selects 1/4, M selects 3/4; y_true is 1 half the time.
Y_TRUE = [0, 1, 1, 0] * 50
Y_PRED = [0, 1, 0, 0, 1, 1, 1, 0] * 25
SEX = (["F"] * 4 + ["M"] * 4) * 25
JOB = {"namespace": "ns", "name": "prepare"}
EVENTS = [
    {"eventType": "START", "eventTime": "2026-12-01T10:00:00Z", "run": {"runId": "r1"}, "job": JOB},
    {
        "eventType": "COMPLETE",
        "eventTime": "2026-12-01T10:05:00Z",
        "run": {"runId": "r1"},
        "job": JOB,
        "outputs": [{"namespace": "file", "name": "predictions.csv"}],
    },
]
PROVENANCE = {"source": {"title": "Hand-made rows"}, "data_period": "2026"}
SPEC = {"data": {"path": "predictions.csv"}, "policy": {"name": "p"}}
SPEC_TEXT = '[data]\npath = "predictions.csv"\n'
ENVIRONMENT = {"python": "3.11.0", "packages": {"numpy": "2.0"}, "argv": ["fairtrail"], "seed": 7}


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return audit_predictions(
        Y_TRUE, Y_PRED, sensitive_features={"sex": SEX}, options=AuditOptions(intervals=False)
    )


@pytest.fixture(scope="module")
def tradeoff() -> TradeOff:
    """Two candidates on the same rows: the baseline, and one that predicts y_true exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined rates of a perfect predictor are notes
        t, _ = evaluate_candidates(
            Y_TRUE,
            [
                Predictions("baseline", "unmitigated", Y_PRED),
                Predictions("exact", "oracle", Y_TRUE),
            ],
            sensitive_features={"sex": SEX},
            constraint="demographic_parity",
            options=AuditOptions(intervals=False),
        )
    return t


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in events).encode()


def full_bundle(folder: Path, result: AuditResult, tradeoff: TradeOff) -> Path:
    return write_bundle(
        result,
        folder,
        spec=SPEC,
        spec_text=SPEC_TEXT,
        environment=ENVIRONMENT,
        extra_files={
            "lineage/events.jsonl": jsonl(EVENTS),
            "provenance.json": json.dumps(PROVENANCE).encode(),
            "mitigation/tradeoff.json": json.dumps(tradeoff.to_dict()).encode(),
            "mitigation/model.skops": b"not really a model",
            "notes/readme.txt": b"kept as it is",
        },
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files hashed against the manifest, in order (every call of the bundle's digest)."""
    calls: list[str] = []
    real = audit._bundle._digest

    def digest(path: Path, *, keep: bool = False) -> tuple[str, bytes | None]:
        calls.append(path.name)
        return real(path, keep=keep)

    monkeypatch.setattr(audit._bundle, "_digest", digest)
    return calls


# --- every typed part is what was written --------------------------------------------------


def test_every_part_of_an_opened_bundle_equals_what_was_written(
    tmp_path: Path, result: AuditResult, tradeoff: TradeOff
) -> None:
    path = full_bundle(tmp_path / "b", result, tradeoff)
    bundle = Bundle.open(path)
    assert bundle.path == path
    assert bundle.result.to_dict() == result.to_dict()
    assert bundle.spec == SPEC
    assert bundle.spec_text == SPEC_TEXT
    assert bundle.environment == ENVIRONMENT
    assert bundle.events() == EVENTS
    assert bundle.provenance == PROVENANCE
    assert bundle.tradeoff is not None
    # NaN is not equal to itself: compare the plain data (NaN as None).
    assert bundle.tradeoff.to_dict() == json.loads(json.dumps(tradeoff.to_dict()))
    assert bundle.models == {"mitigation/model.skops": path / "mitigation" / "model.skops"}
    assert bundle.file("notes/readme.txt") == b"kept as it is"
    assert bundle.has("notes/readme.txt")
    assert not bundle.has("notes/other.txt")
    assert bundle.report is None


def test_the_manifest_is_typed_and_its_digest_is_that_of_its_bytes(
    tmp_path: Path, result: AuditResult
) -> None:
    path = write_bundle(result, tmp_path / "b", spec_text=SPEC_TEXT)
    raw = (path / "manifest.json").read_bytes()
    on_disk = json.loads(raw)
    bundle = Bundle.open(path)
    assert bundle.manifest_bytes == raw
    assert bundle.manifest_sha256 == hashlib.sha256(raw).hexdigest()
    manifest = bundle.manifest
    assert isinstance(manifest, Manifest)
    assert (manifest.format, manifest.audit_id, manifest.status) == (
        "fairtrail-bundle/1",
        result.audit_id,
        result.status,
    )
    assert manifest.created_at == on_disk["created_at"]
    assert sorted(manifest.files) == ["environment.json", "result.json", "spec.toml"]
    body = (path / "result.json").read_bytes()
    entry = manifest.files["result.json"]
    assert (entry.sha256, entry.size) == (hashlib.sha256(body).hexdigest(), len(body))
    assert manifest.to_dict() == on_disk
    with pytest.raises(TypeError):
        manifest.files["x"] = entry  # type: ignore[index]


def test_a_bundle_without_lineage_or_mitigation(tmp_path: Path, result: AuditResult) -> None:
    bundle = Bundle.open(write_bundle(result, tmp_path / "b"))
    assert bundle.events() == []
    assert bundle.tradeoff is None
    assert bundle.models == {}
    assert bundle.spec is None
    assert bundle.spec_text is None
    assert bundle.provenance == {}
    assert bundle.report is None
    with pytest.raises(BundleError, match=r"^Bundle '.*' holds no lineage/events\.jsonl\.$"):
        bundle.file("lineage/events.jsonl")


def test_events_are_a_fresh_list_each_time(tmp_path: Path, result: AuditResult) -> None:
    path = write_bundle(result, tmp_path / "b", extra_files={"lineage/events.jsonl": jsonl(EVENTS)})
    bundle = Bundle.open(path)
    bundle.events().clear()
    assert bundle.events() == EVENTS


def test_the_report_is_found_and_is_not_in_the_manifest(
    tmp_path: Path, result: AuditResult
) -> None:
    path = write_bundle(result, tmp_path / "b")
    (path / "report.pdf").write_bytes(b"%PDF-1.7 sealed on its own")
    bundle = Bundle.open(path)  # the report does not count as an added file
    assert bundle.report == path / "report.pdf"
    assert not bundle.has("report.pdf")


def test_write_returns_the_bundle_as_opening_it_would(tmp_path: Path, result: AuditResult) -> None:
    written = Bundle.write(result, tmp_path / "b", spec=SPEC, environment=ENVIRONMENT)
    opened = Bundle.open(tmp_path / "b")
    assert written.path == opened.path == tmp_path / "b"
    assert written.manifest == opened.manifest
    assert written.manifest_bytes == opened.manifest_bytes
    assert written.manifest_sha256 == opened.manifest_sha256
    assert written.result.to_dict() == opened.result.to_dict() == result.to_dict()
    assert written.spec == opened.spec == SPEC
    assert written.environment == opened.environment == ENVIRONMENT


def test_write_keeps_the_output_folder_checks(tmp_path: Path, result: AuditResult) -> None:
    target = tmp_path / "precious"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    with pytest.raises(BundleError, match=r"Refusing to replace .*is not a fairtrail bundle"):
        Bundle.write(result, target)
    assert (target / "thesis.tex").read_text() == "years of work"


def test_a_bundle_is_only_opened_or_written(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"Bundle\.open\(path\)"):
        Bundle(tmp_path, b"{}", Manifest(files={}), {})


# --- verified once, when opened ------------------------------------------------------------


def test_opening_hashes_each_file_once_and_reading_parts_hashes_none(
    tmp_path: Path, result: AuditResult, tradeoff: TradeOff, counted: list[str]
) -> None:
    path = full_bundle(tmp_path / "b", result, tradeoff)
    listed = json.loads((path / "manifest.json").read_text())["files"]
    assert counted == []  # writing digests the bytes it writes, not the files
    bundle = Bundle.open(path)
    assert sorted(counted) == sorted(Path(name).name for name in listed)
    counted.clear()
    _ = (bundle.result, bundle.spec, bundle.spec_text, bundle.environment, bundle.provenance)
    _ = (bundle.events(), bundle.tradeoff, bundle.models, bundle.report, bundle.manifest_sha256)
    _ = [bundle.file(name) for name in listed]
    assert counted == []


def test_readers_given_an_opened_bundle_do_not_verify_again(
    tmp_path: Path, result: AuditResult, tradeoff: TradeOff, counted: list[str]
) -> None:
    from fairtrail.gate import run_gate
    from fairtrail.review import open_review
    from reports._report import report_context

    bundle = Bundle.open(full_bundle(tmp_path / "b", result, tradeoff))
    counted.clear()
    review = open_review(bundle)
    assert review.manifest_sha256 == bundle.manifest_sha256
    assert review.events == tuple(EVENTS)
    context, attachments, _ = report_context(bundle, today=date(2026, 12, 4))
    assert attachments["manifest.json"] == bundle.manifest_bytes
    assert attachments["lineage_events.jsonl"] == jsonl(EVENTS)
    assert context["audit_id"] == result.audit_id
    policy = tmp_path / "gate.toml"
    policy.write_text(
        'decision_rule = "point"\n[[criterion]]\nname = "demographic_parity_ratio"\n'
        "threshold = 0.8\n"
    )
    run = run_gate(policy, bundle=bundle, today=date(2026, 12, 4))
    assert (run.manifest_sha256, run.source) == (bundle.manifest_sha256, f"bundle {bundle.path}")
    with pytest.raises(FairtrailError, match=r"'model\.skops' is not a skops model file"):
        load_chosen_model(bundle)  # found through the opened bundle, not verified again
    assert counted == []


def test_a_change_after_opening_never_reaches_the_parts(
    tmp_path: Path, result: AuditResult, tradeoff: TradeOff
) -> None:
    path = full_bundle(tmp_path / "b", result, tradeoff)
    bundle = Bundle.open(path)
    altered = {**result.to_dict(), "status": "pass" if result.status != "pass" else "fail"}
    (path / "result.json").write_text(json.dumps(altered))
    (path / "lineage" / "events.jsonl").write_bytes(jsonl(EVENTS[:1]))
    (path / "spec.toml").write_text("[changed]\n")
    # Verified once: the parts are the bytes that were verified, whatever the folder holds now.
    assert bundle.result.to_dict() == result.to_dict()
    assert bundle.events() == EVENTS
    assert bundle.spec_text == SPEC_TEXT
    assert bundle.file("result.json") != (path / "result.json").read_bytes()
    # Opening it again refuses it, naming the first file that changed.
    with pytest.raises(BundleVerificationError) as refused:
        Bundle.open(path)
    assert refused.value.problems == tuple(verify_bundle(path))
    assert refused.value.problems[0] == (
        "lineage/events.jsonl does not match its sha256 in the manifest (changed)."
    )


# --- refused at open, with today's messages ------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda p: (p / "result.json").write_text("{}"),
            "result.json does not match its sha256 in the manifest (changed).",
        ),
        (
            lambda p: (p / "environment.json").unlink(),
            "environment.json is listed in the manifest but missing.",
        ),
        (
            lambda p: (p / "extra.txt").write_text("x"),
            "extra.txt is not listed in the manifest (added after writing).",
        ),
        (
            lambda p: (p / "manifest.json").write_text('{"format": "fairtrail-bundle/1"}'),
            "manifest.json: 'files' must be an object of file name to {\"sha256\": ..., "
            '"size": ...}; got nothing.',
        ),
        (
            lambda p: (p / "manifest.json").unlink(),
            "'{p}' is not a fairtrail bundle: manifest.json is missing.",
        ),
    ],
    ids=["changed", "missing", "added", "malformed manifest", "no manifest"],
)
def test_a_tampered_bundle_is_refused_at_open_as_today(
    tmp_path: Path, result: AuditResult, change: Any, problem: str
) -> None:
    path = write_bundle(result, tmp_path / "b")
    change(path)
    problem = problem.replace("{p}", str(path))
    expected = f"Bundle '{path}' failed verification: {problem}"
    with pytest.raises(BundleVerificationError) as refused:
        Bundle.open(path)
    assert str(refused.value) == expected
    assert refused.value.problems[0] == problem
    assert refused.value.path == path
    assert isinstance(refused.value, BundleError)
    # the wrappers say the same
    assert verify_bundle(path)[0] == problem
    with pytest.raises(BundleError) as again:
        read_bundle(path)
    assert str(again.value) == expected


def test_a_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as refused:
        Bundle.open(tmp_path / "nowhere")
    assert (
        str(refused.value) == f"Bundle '{tmp_path / 'nowhere'}' does not exist or is not a folder."
    )
    assert not isinstance(refused.value, BundleVerificationError)


def test_a_malformed_part_is_one_bundle_error_when_read(
    tmp_path: Path, result: AuditResult
) -> None:
    """A part that its manifest lists as written but that does not decode: named when read."""
    path = write_bundle(
        result,
        tmp_path / "b",
        extra_files={"lineage/events.jsonl": b'{"eventType": "START"}\n{"eventType": \n'},
    )
    bundle = Bundle.open(path)  # its digest matches: it was written like this
    with pytest.raises(BundleError) as refused:
        bundle.events()
    assert str(refused.value).startswith(
        f"Bundle '{path}': lineage/events.jsonl, line 2 is not valid JSON: "
    )


# --- the layout has one home ---------------------------------------------------------------

LAYOUT = {
    "manifest.json",
    "result.json",
    "spec.json",
    "spec.toml",
    "environment.json",
    "lineage/events.jsonl",
    "provenance.json",
    "predictions.parquet",
    "report.pdf",
    "mitigation/tradeoff.json",
    "mitigation/sweep.json",
    "mitigation/audits",
    "mitigation/model.skops",
    "fairtrail-bundle/1",
}
#: Code (not docstrings) elsewhere that still spells a bundle file name, in files whose owners
#: have yet to move to ``Bundle``'s constants. Nothing may be added to this list.
NOT_YET_MOVED = {
    ("app.py", "report.pdf"),  # a temporary file's name, not the bundle's
    ("fairtrail/demo.py", "predictions.parquet"),  # in the spec's TOML text and a temp file
    ("fairtrail/demo.py", "spec.toml"),  # a temporary file's name, not the bundle's
}


def _spelled(path: Path) -> list[tuple[str, int]]:
    """The bundle file names written as string constants in ``path`` (docstrings excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.value, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in LAYOUT and id(node) not in docstrings
    ]


def test_every_bundle_file_name_is_spelled_once_in_the_bundle_module() -> None:
    home = [name for name, _ in _spelled(ROOT / "audit" / "_bundle.py")]
    assert sorted(home) == sorted(LAYOUT)
    files = [ROOT / "app.py"] + [
        p
        for package in ("audit", "fairtrail", "lineage", "reports")
        for p in (ROOT / package).rglob("*.py")
    ]
    elsewhere = {
        (str(p.relative_to(ROOT)), name, line)
        for p in files
        if p != ROOT / "audit" / "_bundle.py"
        for name, line in _spelled(p)
    }
    assert sorted(e for e in elsewhere if e[:2] not in NOT_YET_MOVED) == []
