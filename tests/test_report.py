"""The PDF sign-off report, read back: numbers, sections, attachments, escaping, no fetching,
determinism, the seal and ``fairtrail verify``.

The bundle is the real German Credit demo (audit, lineage and a mitigation sweep), rendered
once per module; PDFs are read back with pypdf.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import re
import shutil
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from audit import (
    AuditOptions,
    Policy,
    Threshold,
    audit_predictions,
    criterion_notes,
    read_bundle,
    write_bundle,
)
from audit._bundle import verify_bundle
from audit._exceptions import UndefinedMetricWarning
from fairtrail.cli import cli
from fairtrail.signoff import SignoffStore
from reports import render_report, verify_report
from reports._context import fmt
from reports._pdf import check_seal, html_to_pdf, read_attachments
from reports._report import render_html, report_context
from reports._sections import signoff_section

SECTIONS = [
    "Executive summary",
    "Data provenance",
    "Who is in the data",
    "Metrics by group",
    "Regulatory tables",
    "Mitigation",
    "Limitations and caveats",
    "Reproducibility",
    "Sign-off",
]
HOSTILE = "<img src=file:///etc/passwd>"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, german_bundle: Path) -> Path:
    out = tmp_path_factory.mktemp("report") / "bundle"
    shutil.copytree(german_bundle, out)  # the session's demo bundle: this module writes into it
    return out


@pytest.fixture(scope="module")
def pdf(bundle: Path) -> bytes:
    rendered = render_report(bundle)
    assert rendered.refused == ()
    assert rendered.path == bundle / "report.pdf"
    return rendered.path.read_bytes()


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_numbers_from_the_result_appear_in_the_text(bundle: Path, pdf: bytes) -> None:
    result = read_bundle(bundle)
    text = flat(text_of(pdf))
    assert result.audit_id in text
    for c in result.criteria:
        assert f"{c.criterion} on {c.attribute}" in text
        assert fmt(c.estimate.value) in text
    for a in result.attributes:
        for g in a.groups:
            assert f"{g.group}" in text
            assert f"{g.count:,}" in text
            assert fmt(g.metrics["selection_rate"].value) in text
    tradeoff = json.loads((bundle / "mitigation" / "tradeoff.json").read_text())
    assert tradeoff["rationale"][:60] in text


def test_each_verdict_prints_its_own_interval_and_what_would_decide_it(
    bundle: Path, pdf: bytes
) -> None:
    """The interval beside a verdict is the one that decided it; inconclusive ones say how
    much data would decide them, and every group left out of a criterion is named."""
    result = read_bundle(bundle)
    text = flat(text_of(pdf))
    for c in result.criteria:
        e = c.estimate
        if e.defined:
            assert f"between {fmt(e.lower)} and {fmt(e.upper)}" in text, c.criterion
        for note in criterion_notes(c):
            assert flat(note)[:70] in text, (c.criterion, note)
    assert any(c.would_decide for c in result.criteria), "the demo has no decidable verdict"


def test_sections_in_order_with_bookmarks_header_and_page_numbers(bundle: Path, pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == SECTIONS
    n = len(reader.pages)
    audit_id = read_bundle(bundle).audit_id
    for i, page in enumerate(reader.pages[1:], start=2):  # the cover has no header
        text = page.extract_text()
        assert f"fairtrail audit {audit_id}" in text
        assert f"Page {i} of {n}" in text
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in raw
    assert b'pdfaid:conformance="B"' in raw
    first = reader.pages[0].extract_text()
    assert "Awaiting sign-off" in first  # no decision recorded yet


def test_attachments_equal_the_bundle_files(bundle: Path, pdf: bytes) -> None:
    attached = read_attachments(pdf)
    assert attached == {
        "result.json": (bundle / "result.json").read_bytes(),
        "lineage_events.jsonl": (bundle / "lineage" / "events.jsonl").read_bytes(),
        "mitigation_tradeoff.json": (bundle / "mitigation" / "tradeoff.json").read_bytes(),
        "manifest.json": (bundle / "manifest.json").read_bytes(),
    }


def test_two_renders_are_byte_identical(bundle: Path, pdf: bytes, tmp_path: Path) -> None:
    again = render_report(bundle, tmp_path / "again.pdf")
    assert again.path.read_bytes() == pdf


def test_the_report_does_not_break_the_bundle(bundle: Path, pdf: bytes) -> None:
    assert verify_bundle(bundle) == []  # report.pdf is sealed on its own, not in the manifest
    assert verify_report(bundle / "report.pdf", bundle) == []


def test_verify_detects_a_changed_byte_in_the_pdf(bundle: Path, pdf: bytes, tmp_path: Path) -> None:
    for where in (len(pdf) // 3, len(pdf) - 40):
        changed = bytearray(pdf)
        changed[where] ^= 0x01
        path = tmp_path / "changed.pdf"
        path.write_bytes(bytes(changed))
        problems = verify_report(path)
        assert any("changed after it was sealed" in p for p in problems), problems
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "changed.pdf")])
    assert result.exit_code == 1
    assert "changed after it was sealed" in result.output


def test_verify_detects_a_changed_bundle_file(bundle: Path, pdf: bytes, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    assert verify_report(copy / "report.pdf", copy) == []
    env = copy / "environment.json"
    env.write_bytes(env.read_bytes().replace(b'"seed": 0', b'"seed": 1'))
    problems = verify_report(copy / "report.pdf", copy)
    assert problems == [
        f"Bundle '{copy}' failed verification: environment.json does not match its sha256 in "
        "the manifest (changed)."
    ]
    result = CliRunner().invoke(cli, ["verify", str(copy / "report.pdf"), str(copy)])
    assert result.exit_code == 1
    assert "environment.json does not match" in result.output


@pytest.mark.filterwarnings("ignore::audit._exceptions.UndefinedMetricWarning")
def test_verify_detects_a_report_of_another_bundle(pdf: bytes, tmp_path: Path) -> None:
    other = tmp_path / "other"
    y = np.array([0, 1] * 100)
    result = audit_predictions(y, y, sensitive_features={"g": np.array(["a", "b"] * 100)},
                               options=AuditOptions(intervals=False))  # fmt: skip
    write_bundle(result, other)
    (tmp_path / "r.pdf").write_bytes(pdf)
    problems = verify_report(tmp_path / "r.pdf", other)
    assert problems[0].startswith("The attached manifest is not")
    assert "Attachment result.json differs from the bundle's file." in problems


def _hostile_bundle(path: Path) -> Path:
    rng = np.random.default_rng(0)
    g = np.where(rng.random(600) < 0.5, HOSTILE, "b & <c>")
    y = rng.integers(0, 2, 600)
    p = np.where(g == HOSTILE, rng.random(600) < 0.6, rng.random(600) < 0.4).astype(int)
    policy = Policy((Threshold("demographic_parity_difference", 0.1),), name="p<script>")
    with warnings.catch_warnings():  # small-sample metrics are undefined: expected here
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        result = audit_predictions(y, p, sensitive_features={"<b>group</b>": g}, policy=policy,
                                   options=AuditOptions())  # fmt: skip
    return write_bundle(result, path)


def test_hostile_labels_render_as_text(tmp_path: Path) -> None:
    bundle = _hostile_bundle(tmp_path / "hostile")
    rendered = render_report(bundle)
    assert rendered.refused == ()  # nothing tried to load file:///etc/passwd
    pdf = rendered.path.read_bytes()
    text = flat(text_of(pdf))
    assert HOSTILE in text
    assert "b & <c>" in text
    assert "<b>group</b>" in text
    assert "p<script>" in text
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:  # no image was embedded anywhere
        resources = page.get("/Resources", {})
        xobjects = resources.get("/XObject", {}) if resources else {}
        assert all(x.get_object().get("/Subtype") != "/Image" for x in xobjects.values())
    # Sections without data say so instead of disappearing.
    assert "No mitigation was run for this audit" in text
    assert "The bundle holds no lineage events" in text


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Counter.hits.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_and_file_urls_are_never_fetched(server: str, tmp_path: Path) -> None:
    outside = tmp_path / "secret.css"
    outside.write_text("body { color: blue }")
    html = f"""<html><head>
    <link rel="stylesheet" href="{server}/a.css">
    <style>@import url({server}/b.css); @import url(file://{outside});</style>
    </head><body><p>x</p>
    <img src="{server}/c.png"><img src="file:///etc/passwd"><img src="../_pdf.py">
    <img src="fonts/../../_pdf.py"><svg><image href="{server}/d.png"/></svg>
    </body></html>"""
    pdf, refused = html_to_pdf(html, created=_when(), attachments={"a.json": b"{}"})
    assert _Counter.hits == []  # no request reached the server
    joined = "\n".join(refused)
    for url in (f"{server}/a.css", f"{server}/b.css", f"{server}/c.png", "file:///etc/passwd"):
        assert url in joined
    assert str(outside) in joined
    assert "_pdf.py" in joined
    assert check_seal(pdf) is None
    assert read_attachments(pdf) == {"a.json": b"{}"}


def _when() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_signoffs_render_with_the_decision(bundle: Path, tmp_path: Path) -> None:
    records = [
        {"reviewer": "Ada <admin>", "role": "ethics chair", "decision": "approve_with_conditions",
         "conditions": "re-audit in 90 days", "expiry": "2027-03-01",
         "timestamp": "2026-11-25T10:00:00Z", "comment": "Female selection gap to watch."},
    ]  # fmt: skip
    rendered = render_report(
        bundle, tmp_path / "signed.pdf", signoffs=records, today=date(2026, 11, 25)
    )
    text = flat(text_of(rendered.path.read_bytes()))
    assert "Ada <admin>" in text
    assert "Approved with conditions" in text
    assert "re-audit in 90 days" in text
    first = PdfReader(rendered.path).pages[0].extract_text()
    assert "Approved with conditions" in first


def test_cli_report_writes_into_the_bundle_and_refuses_a_changed_bundle(
    bundle: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    (copy / "report.pdf").unlink()
    result = CliRunner().invoke(cli, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "report.pdf").is_file()
    result = CliRunner().invoke(cli, ["verify", str(copy / "report.pdf"), str(copy)])
    assert result.exit_code == 0, result.output
    (copy / "result.json").write_text("{}")
    result = CliRunner().invoke(cli, ["report", str(copy), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "result.json does not match its sha256" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_the_pdf_is_tagged_with_its_language(pdf: bytes) -> None:
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])  # a pypdf BooleanObject
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en"


@pytest.mark.filterwarnings("ignore::audit._exceptions.UndefinedMetricWarning")
def test_a_regression_bundle_says_the_selection_rules_do_not_apply(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    g = np.where(rng.random(400) < 0.5, "a", "b")
    y = rng.normal(size=400)
    y_pred = y + np.where(g == "a", 0.5, 1.5) * rng.normal(size=400)
    policy = Policy((Threshold("mean_absolute_error_difference", 0.2),), name="reg")
    result = audit_predictions(y, y_pred, sensitive_features={"g": g}, policy=policy,
                               options=AuditOptions(task="regression"))  # fmt: skip
    rendered = render_report(write_bundle(result, tmp_path / "reg"))
    text = flat(text_of(rendered.path.read_bytes()))
    assert "rules (NYC Local Law 144, the EEOC four-fifths rule) do not apply" in text
    (criterion,) = result.criteria
    assert fmt(criterion.estimate.value) in text
    for group in result.attribute("g").groups:
        assert fmt(group.metrics["root_mean_squared_error"].value) in text


def test_reading_a_bundle_imports_neither_sklearn_nor_weasyprint() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from reports import render_report, verify_report; "
        "from audit.mitigation import TradeOff, read_tradeoff; "
        "print(sorted(m for m in ('sklearn', 'fairlearn', 'skops', 'weasyprint') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # imported on first use: report/verify start fast
    import audit.mitigation as mitigation

    assert [n for n in mitigation.__all__ if not hasattr(mitigation, n)] == []


def test_verify_refuses_a_pdf_without_a_seal_and_a_missing_file(tmp_path: Path) -> None:
    pdf, _ = html_to_pdf("<p>x</p>", created=_when())
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(pdf.replace(b"fairtrail-seal-sha256:", b"something-else-sha256:"))
    problems = verify_report(plain)
    assert problems[0] == (
        "plain.pdf: the PDF has no fairtrail seal (it was not written by fairtrail report)."
    )
    assert problems[1] == "plain.pdf carries no manifest.json."
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 2  # a usage error, not a verdict
    assert "does not exist" in result.output


# The sign-off chain. Pure tests of the status rules first (no PDF), then one PDF with a real
# store's records read back.

MINE, THEIRS = "a" * 64, "b" * 64
DAY = date(2026, 12, 5)


def _record(seq: int, decision: str, **fields: Any) -> dict[str, Any]:
    base = {"seq": seq, "decision": decision, "reviewer": f"R{seq}", "role": "reviewer",
            "manifest_sha256": MINE, "conditions": "", "expiry": "", "comment": "",
            "revokes": None, "timestamp": f"2026-11-2{seq}T10:00:00+00:00",
            "hash": f"{seq}" * 64, "prev_hash": f"{seq - 1}" * 64}  # fmt: skip
    return base | fields


def _status(records: list[dict[str, Any]], today: date | None = DAY) -> str:
    status: str = signoff_section(records, manifest_sha256=MINE, today=today)["status"]
    return status


def test_signoff_status_skips_revoked_decisions() -> None:
    records = [
        _record(1, "reject"),
        _record(2, "approve"),
        _record(3, "revoke", revokes=2),
    ]
    section = signoff_section(records, manifest_sha256=MINE, today=DAY)
    assert section["status"] == "Rejected"  # #2 is withdrawn: #1 is the newest standing
    assert section["status_note"] == "From record #1 (R1, 2026-11-21 10:00:00 UTC)."
    rows = section["records"]
    assert [r["seq"] for r in rows] == ["#1", "#2", "#3"]
    assert [r["decision"] for r in rows] == ["Rejected", "Approved", "Revoked #2"]
    assert [r["revoked_by"] for r in rows] == [None, 3, None]
    assert [(r["hash"], r["prev_hash"]) for r in rows] == [
        ("1" * 16, "0" * 16), ("2" * 16, "1" * 16), ("3" * 16, "2" * 16),
    ]  # fmt: skip
    # Revoking everything leaves nothing standing; revoking the revocation reinstates #1.
    gone = [_record(1, "approve"), _record(2, "revoke", revokes=1)]
    assert _status(gone) == "Awaiting sign-off"
    assert _status([*gone, _record(3, "revoke", revokes=2)]) == "Approved"


def test_signoff_status_ignores_decisions_on_another_manifest() -> None:
    records = [_record(1, "approve"), _record(2, "reject", manifest_sha256=THEIRS)]
    section = signoff_section(records, manifest_sha256=MINE, today=DAY)
    assert section["status"] == "Approved"  # the rejection was of other files
    assert [r["other_manifest"] for r in section["records"]] == ["", "b" * 16]
    only_theirs = [_record(1, "approve", manifest_sha256=THEIRS)]
    assert _status(only_theirs) == "Awaiting sign-off"
    section = signoff_section(only_theirs, manifest_sha256=MINE, today=DAY)
    assert "made on a different version of the bundle" in section["status_note"]
    # ... but a revocation withdraws its record whatever files it was made on.
    revoked = [_record(1, "approve"), _record(2, "revoke", revokes=1, manifest_sha256=THEIRS)]
    assert _status(revoked) == "Awaiting sign-off"


def test_signoff_status_says_when_an_approval_expired() -> None:
    records = [_record(1, "approve_with_conditions", conditions="re-audit", expiry="2026-12-01")]
    assert _status(records, today=date(2026, 12, 1)) == "Approved with conditions"  # last day
    section = signoff_section(records, manifest_sha256=MINE, today=date(2026, 12, 2))
    assert section["status"] == "Approval expired on 2026-12-01"
    assert section["records"][0]["expired"] == "expired on 2026-12-01"
    assert section["as_of"] == "2026-12-02"
    # The newest decision rules even when it expired: no falling back to an older approval.
    assert _status([_record(0, "approve"), *records]) == "Approval expired on 2026-12-01"
    # A rejection does not expire; without ``today`` the real date judges (2000 is past).
    assert _status([_record(1, "reject", expiry="2000-01-01")]) == "Rejected"
    old = [_record(1, "approve", expiry="2000-01-01")]
    assert _status(old, today=None) == "Approval expired on 2000-01-01"


def test_signoff_without_records_or_with_old_style_records() -> None:
    section = signoff_section([], manifest_sha256=MINE, today=DAY)
    assert section["status"] == "Awaiting sign-off"
    assert (section["records"], section["blank_lines"], section["chain"]) == ([], 3, None)
    old = {"reviewer": "Ada", "role": "chair", "decision": "approve_with_conditions",
           "conditions": "watch", "expiry": "2027-03-01", "timestamp": "2026-11-25T10:00:00Z",
           "comment": ""}  # fmt: skip
    section = signoff_section([old], manifest_sha256=MINE, today=DAY)
    assert section["status"] == "Approved with conditions"  # no manifest: taken as this one
    (row,) = section["records"]
    assert (row["seq"], row["hash"], row["prev_hash"], row["revoked_by"]) == ("—", "—", "—", None)
    assert row["timestamp"] == "2026-11-25 10:00:00 UTC"


def test_signoff_chain_block() -> None:
    chain = {"location": "/srv/signoffs.db", "head": "f" * 64, "records": 1234, "problems": []}
    block = signoff_section([], manifest_sha256=MINE, chain=chain, today=DAY)["chain"]
    assert block == {"location": "/srv/signoffs.db", "head": "f" * 64, "records": "1,234",
                     "intact": True, "problems": [],
                     "verdict": "intact (verified when this report was written)"}  # fmt: skip
    broken = chain | {"problems": ["record 2 was edited: its content no longer matches its hash."]}
    block = signoff_section([], manifest_sha256=MINE, chain=broken, today=DAY)["chain"]
    assert not block["intact"]
    assert block["verdict"] == "BROKEN: 1 problem found when this report was written:"
    assert block["problems"] == broken["problems"]


def test_a_broken_chain_prints_each_problem_in_red(bundle: Path) -> None:
    problems = ["record 2 was edited: its content no longer matches its hash.",
                "records 4–5 are missing (deleted): the sequence jumps to 6."]  # fmt: skip
    chain = {"location": "x.db", "head": "e" * 64, "records": 6, "problems": problems}
    context, _, _ = report_context(bundle, signoffs=[_record(1, "approve")], chain=chain)
    html = render_html(context)
    assert "intact (verified" not in html
    assert "BROKEN: 2 problems found when this report was written:" in html
    for p in problems:
        assert f'<li class="problem">{p}</li>' in html
    # The bundle's manifest is not MINE: the record is listed but nothing stands.
    assert context["decision"] == "Awaiting sign-off"


HOSTILE_REVIEWER = "<script>alert(1)</script> " + "Q" * 150
HOSTILE_CONDITIONS = "{{ 7 * 7 }} {% if true %}" + " " + "W" * 150
HOSTILE_COMMENT = "</td></tr></table><b>" + "x" * 400


@pytest.fixture(scope="module")
def chained(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real store: one record of another audit, then approve, its revocation, a hostile
    rejection made on other files, and a conditional approval that expired; one PDF."""
    store = SignoffStore(tmp_path_factory.mktemp("signoffs") / "signoffs.db")
    mine = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    audit = read_bundle(bundle).audit_id

    def at(day: int) -> datetime:
        return datetime(2026, 11, day, 9, 30, tzinfo=UTC)

    store.record("another", "c" * 64, reviewer="Zed", role="x", decision="approve", now=at(1))
    store.record(audit, mine, reviewer="Ada", role="ethics chair", decision="approve",
                 comment="Looks fine.", now=at(2))  # fmt: skip
    store.record(audit, mine, reviewer="Ada", role="ethics chair", decision="revoke", revokes=2,
                 comment="The age gap was missed.", now=at(3))  # fmt: skip
    store.record(audit, "d" * 64, reviewer=HOSTILE_REVIEWER, role="<i>role</i>",
                 decision="reject", conditions=HOSTILE_CONDITIONS, comment=HOSTILE_COMMENT,
                 now=at(4))  # fmt: skip
    store.record(audit, mine, reviewer="Grace", role="risk officer",
                 decision="approve_with_conditions", conditions="Re-audit in 90 days.",
                 expiry="2026-12-01", now=at(5))  # fmt: skip
    everything = store.records()
    chain = {"location": str(store.path), "head": everything[-1].hash,
             "records": len(everything), "problems": store.verify()}  # fmt: skip
    records = store.records(audit)
    rendered = render_report(
        bundle,
        tmp_path_factory.mktemp("chained") / "signed.pdf",
        signoffs=[dataclasses.asdict(s) for s in records],
        chain=chain,
        today=date(2026, 12, 5),
    )
    assert rendered.refused == ()
    reader = PdfReader(rendered.path)
    (page,) = [p for p in reader.pages if "Decision status on" in p.extract_text()]
    return {"records": records, "chain": chain, "reader": reader, "page": page}


def test_the_pdf_prints_the_chain_and_the_status(chained: dict[str, Any]) -> None:
    page_text = chained["page"].extract_text()
    text = flat(page_text)
    assert "Decision status on 2026-12-05: Approval expired on 2026-12-01." in text
    assert "From record #5 (Grace, 2026-11-05 09:30:00 UTC)." in text
    cover = flat(chained["reader"].pages[0].extract_text())
    assert "Approval expired on 2026-12-01" in cover
    for r in chained["records"]:  # seq numbers 2-5 (1 is another audit's), short hashes
        assert f"#{r.seq}" in text
        assert r.hash[:16] in text
        assert r.prev_hash[:16] in text
    assert chained["records"][0].hash not in text  # shortened in the table
    assert "Zed" not in text
    assert "Revoked #2" in text
    assert "revoked by #3" in text
    assert "expired on 2026-12-01" in text
    assert "made on a different version of the bundle (manifest dddddddddddddddd…)" in text
    assert chained["chain"]["head"] in text  # in full, to anchor elsewhere
    assert chained["chain"]["head"] == chained["records"][-1].hash
    assert "Records 5 in the store (all audits)" in text
    assert "intact (verified when this report was written)" in text


def _runs(text: str, letter: str) -> list[int]:
    """The lengths of the runs of ``letter`` that are not part of a word."""
    return [len(run) for run in re.findall(f"(?<![A-Za-z]){letter}+(?![A-Za-z])", text)]


def test_hostile_signoff_strings_render_escaped_and_wrapped(chained: dict[str, Any]) -> None:
    page = chained["page"]
    text = page.extract_text()
    squashed = "".join(text.split())
    for hostile in ("<script>alert(1)</script>", "{{ 7 * 7 }} {% if true %}",
                    "</td></tr></table><b>", "<i>role</i>"):  # fmt: skip
        assert "".join(hostile.split()) in squashed  # as text, not markup or a template
    # Long unbroken strings wrap inside their column (DejaVu Sans at 7.8 pt: Q is 6.1 pt
    # wide, W 7.7 pt, x 4.6 pt): reviewer column 30 mm - 3 mm padding = 76 pt, at most 12 Q;
    # conditions 40 mm - 3 mm = 105 pt, at most 13 W; the comment spans 167 mm = 473 pt, at
    # most 102 x. Every letter is printed (the runs add up).
    for letter, total, most in (("Q", 150, 12), ("W", 150, 13), ("x", 400, 102)):
        runs = _runs(text, letter)
        assert sum(runs) == total, (letter, runs)
        assert len(runs) > 1, (letter, runs)
        assert max(runs) <= most, (letter, runs)
    # Nothing starts outside the page.
    width = float(page.mediabox.width)
    starts: list[float] = []
    page.extract_text(visitor_text=lambda t, cm, tm, *_: starts.append(cm[0] * tm[4] + cm[4]))
    assert starts
    assert all(0 <= x < width for x in starts)


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"format": "fairtrail-bundle/1", "files": {"result.json": "abc"}}',  # not an object
        b'{"format": "fairtrail-bundle/1", "files": ["result.json"]}',  # a list
        b'{"format": "fairtrail-bundle/1", "files": {"result.json": {"sha256": 1, "size": 2}}}',
        b"[1, 2]",
        b"\xff\xfe",
    ],
)
def test_verify_names_a_malformed_attached_manifest(tmp_path: Path, manifest: bytes) -> None:
    # A sealed PDF whose attached manifest has the wrong shape: one problem, never a crash.
    pdf, _ = html_to_pdf(
        "<html><body><p>x</p></body></html>",
        created=_when(),
        attachments={"manifest.json": manifest, "result.json": b"{}"},
    )
    (tmp_path / "r.pdf").write_bytes(pdf)
    problems = verify_report(tmp_path / "r.pdf")
    assert len(problems) == 1
    assert problems[0].startswith("The attached manifest.json is unreadable (manifest.json")
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "r.pdf")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
