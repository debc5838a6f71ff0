"""The PDF sign-off report, read back: numbers, sections, attachments, escaping, no fetching,
determinism, the seal and ``fairtrail verify``.

The bundle is the real German Credit demo (audit, lineage and a mitigation sweep), rendered
once per module; PDFs are read back with pypdf.
"""

from __future__ import annotations

import http.server
import io
import json
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from audit import AuditOptions, Policy, Threshold, audit_predictions, read_bundle, write_bundle
from audit._bundle import verify_bundle
from audit._exceptions import UndefinedMetricWarning
from fairtrail.cli import cli
from fairtrail.demo import run_demo
from reports import render_report, verify_report
from reports._context import fmt
from reports._pdf import check_seal, html_to_pdf, read_attachments

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
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "bundle"
    run_demo("german", out, n_boot=100, seed=0, mitigate=True)
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
                               options=AuditOptions(n_boot=0))  # fmt: skip
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
                                   options=AuditOptions(n_boot=50))  # fmt: skip
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
    rendered = render_report(bundle, tmp_path / "signed.pdf", signoffs=records)
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
                               options=AuditOptions(n_boot=50, task="regression"))  # fmt: skip
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
