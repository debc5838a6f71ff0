"""``fairtrail report`` and ``fairtrail verify``: the sign-off PDF of an audit bundle.

:func:`render_report` reads an opened (so verified) :class:`audit.Bundle`, builds the
template's plain data (:mod:`reports._context`, :mod:`reports._sections`), renders the jinja2
template with autoescaping and ``StrictUndefined``, and writes a sealed PDF/A-3b with the
result, the lineage events, the trade-off and the manifest attached (:mod:`reports._pdf`).
:func:`verify_report` checks a PDF's seal, its attachments against the manifest it carries,
and, given the bundle, against the bundle's files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from audit import Bundle, BundleError, Manifest, write_atomically
from reports._context import audit_sections
from reports._pdf import check_seal, html_to_pdf, read_attachments
from reports._sections import (
    integrity_section,
    mitigation_section,
    provenance_section,
    reproducibility_section,
    signoff_section,
)

__all__ = ["REPORT_FILE", "Rendered", "render_html", "render_report", "verify_report"]

#: The report's name inside a bundle (sealed on its own; not in the manifest).
REPORT_FILE = Bundle.REPORT
#: The bundle's manifest, attached to the PDF under its own name.
MANIFEST = Bundle.MANIFEST
#: The names in the PDF of the bundle files attached besides the manifest.
RESULT_ATTACHMENT = Bundle.RESULT
EVENTS_ATTACHMENT = "lineage_events.jsonl"
TRADEOFF_ATTACHMENT = "mitigation_tradeoff.json"
#: The bundle files attached to the PDF (besides the manifest): name in the PDF → in the bundle.
ATTACHED = {
    RESULT_ATTACHMENT: Bundle.RESULT,
    EVENTS_ATTACHMENT: Bundle.EVENTS,
    TRADEOFF_ATTACHMENT: Bundle.TRADEOFF,
}
_TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Rendered:
    """A written report: where, its size and sha256, and any resource WeasyPrint refused."""

    path: Path
    size: int
    sha256: str
    refused: tuple[str, ...]


def _opened(bundle: str | Path | Bundle) -> Bundle:
    """``bundle`` itself, or the bundle folder ``bundle`` opened (verified once, here)."""
    return bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)


def report_context(
    bundle: str | Path | Bundle,
    *,
    signoffs: Sequence[Mapping[str, Any]] = (),
    chain: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> tuple[dict[str, Any], dict[str, bytes], datetime]:
    """The template's data, the files to attach, and the report's date, from a bundle.

    The report's date is the bundle's (``created_at``), which keeps renders reproducible;
    sign-off expiries are judged on ``today`` instead (default: today in UTC), since an
    approval expires whenever the report is written. See :func:`render_report`.

    Raises
    ------
    BundleError
        The bundle is missing, altered or malformed.
    """
    bundle = _opened(bundle)
    result = bundle.result
    created = _created(bundle)
    events = bundle.events()
    provenance = bundle.provenance
    source = provenance.get("source", {})
    tradeoff = bundle.tradeoff
    environment = bundle.environment or {}
    spec_text = bundle.spec_text or None
    prov = provenance_section(events, source)
    model = provenance.get("model", {})
    manifest_sha256 = bundle.manifest_sha256
    signoff = signoff_section(signoffs, manifest_sha256=manifest_sha256, chain=chain, today=today)
    context = {
        "audit_id": result.audit_id,
        "created": created.strftime("%Y-%m-%d %H:%M UTC"),
        "created_iso": created.isoformat(),
        "system": source.get("title") or result.data.source,
        "model": model.get("estimator") or "not recorded",
        "data_source": result.data.source,
        "data_period": provenance.get("data_period", "not recorded"),
        "task": result.task.replace("_", " "),
        "policy_name": result.policy_name,
        "policy_version": result.policy_version,
        "status": result.status,
        "decision": signoff["status"],
        **audit_sections(result, prov["skewed_steps"]),
        "provenance": prov,
        "mitigation": mitigation_section(tradeoff),
        "reproducibility": reproducibility_section(environment, spec_text, bundle.spec),
        "signoff": signoff,
        "integrity": integrity_section(bundle.manifest.to_dict(), manifest_sha256),
    }
    attachments = {}
    for name, path in ATTACHED.items():
        if bundle.has(path):
            attachments[name] = bundle.file(path)
    attachments[MANIFEST] = bundle.manifest_bytes
    return context, attachments, created


def _created(bundle: Bundle) -> datetime:
    """When the bundle was written (its manifest's ``created_at``): the report's date."""
    created = bundle.manifest.created_at
    try:
        return datetime.fromisoformat(created or "")
    except ValueError:
        raise BundleError(
            f"Bundle '{bundle.path}': {MANIFEST} has no 'created_at' date and time (ISO 8601; "
            f"got {created!r}), which dates the report."
        ) from None


def render_html(context: Mapping[str, Any]) -> str:
    """The report's HTML from its data (autoescaped; a missing name is an error)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def render_report(
    bundle: str | Path | Bundle,
    out: str | Path | None = None,
    *,
    signoffs: Sequence[Mapping[str, Any]] = (),
    chain: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> Rendered:
    """Render the sign-off PDF of a bundle and write it atomically.

    Parameters
    ----------
    bundle : str, Path or Bundle
        An opened audit bundle, or its folder (then opened, so verified, first).
    out : str or Path, optional
        Where to write the PDF; default ``<bundle>/report.pdf``.
    signoffs : sequence of mapping
        Recorded decisions, oldest first, as ``dataclasses.asdict`` of
        ``fairtrail.signoff.Signoff`` (``reviewer``, ``role``, ``decision``, ``conditions``,
        ``expiry``, ``timestamp``, ``comment``; and ``seq``, ``hash``, ``prev_hash``,
        ``revokes``, ``manifest_sha256``, which older callers may leave out); none: empty
        signature lines. The decision status is the newest decision on this bundle's manifest
        that is neither revoked nor expired (:func:`reports._sections.signoff_section`).
    chain : mapping, optional
        The sign-off store: ``location``, ``head`` (hash of its last record), ``records``
        (how many it holds) and ``problems`` (``SignoffStore.verify()``; empty: intact),
        printed so the head hash can be anchored elsewhere.
    today : date, optional
        The date sign-off expiries are judged on; default today in UTC (the PDF's own dates
        are the bundle's, whatever ``today`` is).

    Returns
    -------
    Rendered

    Raises
    ------
    BundleError
        The bundle is missing, altered or malformed.
    """
    bundle = _opened(bundle)
    context, attachments, created = report_context(
        bundle, signoffs=signoffs, chain=chain, today=today
    )
    pdf, refused = html_to_pdf(
        render_html(context),
        created=created,
        attachments=attachments,
        descriptions={
            RESULT_ATTACHMENT: "The audit result (fairtrail result schema)",
            MANIFEST: "The bundle manifest: sha256 and size of every file",
            EVENTS_ATTACHMENT: "The OpenLineage events of the data's preparation",
            TRADEOFF_ATTACHMENT: "The mitigation trade-off and the chosen candidate",
        },
    )
    target = Path(out) if out is not None else bundle.path / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, pdf)
    return Rendered(target, len(pdf), hashlib.sha256(pdf).hexdigest(), tuple(refused))


def verify_report(pdf_path: str | Path, bundle: str | Path | Bundle | None = None) -> list[str]:
    """Check a report PDF; return what does not match (empty: it was not altered).

    The PDF's seal must hold (no byte changed since it was written); every attached file
    must match its sha256 in the attached manifest; with ``bundle`` (an opened bundle, or its
    folder, then opened), the attached manifest must be the bundle's and every attached file
    the bundle's file, and the bundle must match its manifest.
    """
    pdf_path = Path(pdf_path)
    try:
        pdf = pdf_path.read_bytes()
    except OSError as exc:
        return [f"Cannot read {pdf_path}: {exc}"]
    problems = []
    broken = check_seal(pdf)
    if broken:
        problems.append(f"{pdf_path.name}: {broken}.")
    try:
        attached = read_attachments(pdf)
    except Exception as exc:  # a damaged PDF: say so rather than crash
        return [*problems, f"{pdf_path.name}: its attachments cannot be read ({exc})."]
    if MANIFEST not in attached:
        return [*problems, f"{pdf_path.name} carries no {MANIFEST}."]
    try:  # the bundle's own shape check: an entry that is not an object is a problem too
        manifest = Manifest.parse(attached[MANIFEST])
    except BundleError as exc:
        return [*problems, f"The attached {MANIFEST} is unreadable ({exc})."]
    for name, data in sorted(attached.items()):
        if name == MANIFEST:
            continue
        entry = manifest.files.get(ATTACHED.get(name, name))
        if entry is None:
            problems.append(f"Attachment {name} is not listed in the attached manifest.")
        elif hashlib.sha256(data).hexdigest() != entry.sha256:
            problems.append(f"Attachment {name} does not match its sha256 in the manifest.")
    if bundle is not None:
        problems += _against_bundle(bundle, attached, manifest)
    return problems


def _against_bundle(
    bundle: str | Path | Bundle, attached: Mapping[str, bytes], manifest: Manifest
) -> list[str]:
    try:
        opened = _opened(bundle)
    except BundleError as exc:
        return [str(exc)]
    problems = []
    if opened.manifest_bytes != attached[MANIFEST]:
        problems.append(
            f"The attached manifest is not {opened.path}/{MANIFEST}: the report was made from "
            f"another bundle (audit {manifest.audit_id!r})."
        )
    for name, data in sorted(attached.items()):
        if name == MANIFEST:
            continue
        file = ATTACHED.get(name, name)
        if not opened.has(file) or opened.file(file) != data:
            problems.append(f"Attachment {name} differs from the bundle's file.")
    return problems
