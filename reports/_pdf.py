"""HTML to a sealed PDF/A-3b with the bundle's files attached, and reading it back.

**Reproducible.** The same HTML, attachments and date give the same bytes: the document and
attachment dates are the bundle's, the fonts are the package's own DejaVu Sans (system fonts
never enter), and ``SOURCE_DATE_EPOCH`` is set to the bundle's date while WeasyPrint writes
(fontTools, WeasyPrint's font subsetter when HarfBuzz's is not installed, stamps the current
time into each embedded font otherwise). The variable is process-wide, so renders hold a lock.

**Sealed.** The PDF's file identifier (trailer ``/ID``, which PDF/A requires anyway) carries
``fairtrail-seal-sha256:<digest>``, the sha256 of the whole file with the digest's 64 hex
characters written as zeros. Changing any byte of the PDF, the seal included, breaks it:
:func:`check_seal` finds out from the PDF alone. (The seal proves integrity, not
authorship: whoever can run fairtrail can seal a new PDF. Who approved what is the sign-off
store's part.)

**Attachments.** PDF/A-3 is the PDF/A that keeps embedded files (PDF/A-1 and -2 drop or
empty them). WeasyPrint 70 lists each one twice in the catalogue's ``/AF`` array; a finisher
keeps the first.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from audit import Bundle
from reports._weasy import ASSETS, weasyprint_module

__all__ = ["ASSETS", "SEAL_PREFIX", "check_seal", "html_to_pdf", "read_attachments"]

#: What the seal looks like inside the PDF, before its 64 hex digits.
SEAL_PREFIX = b"fairtrail-seal-sha256:"
_PLACEHOLDER = SEAL_PREFIX + b"0" * 64
_SEAL = re.compile(re.escape(SEAL_PREFIX) + rb"([0-9a-f]{64})")
_LOCK = threading.Lock()


@contextmanager
def _source_date_epoch(when: datetime) -> Iterator[None]:
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
    try:
        yield
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def _dedupe_attached_files(document: Any, pdf: Any) -> None:
    import pydyf  # type: ignore[import-untyped]

    if "AF" in pdf.catalog:
        unique: list[Any] = []
        for reference in pdf.catalog["AF"]:
            if reference not in unique:
                unique.append(reference)
        pdf.catalog["AF"] = pydyf.Array(unique)


class _Refusals(logging.Handler):
    """Collects what WeasyPrint would not load (the fetcher's refusals), to report them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def html_to_pdf(
    html: str,
    *,
    created: datetime,
    attachments: Mapping[str, bytes] = {},
    descriptions: Mapping[str, str] = {},
) -> tuple[bytes, list[str]]:
    """Render ``html`` to a sealed PDF/A-3b with ``attachments`` embedded.

    Parameters
    ----------
    html : str
        A complete document; relative URLs resolve inside the package's assets.
    created : datetime
        The document's date (and its attachments'); timezone-aware.
    attachments : mapping of str to bytes
        File name in the PDF → content.
    descriptions : mapping of str to str
        File name → a description shown by PDF readers.

    Returns
    -------
    (bytes, list of str)
        The PDF, and the resources WeasyPrint could not or would not load (empty for the
        report's own template).
    """
    weasyprint = weasyprint_module()
    from reports._fetcher import AssetsFetcher

    fetcher = AssetsFetcher(ASSETS)
    utc = created.astimezone(UTC).replace(tzinfo=None)  # WeasyPrint writes naive UTC as Z
    files = [
        weasyprint.Attachment(
            string=content,
            name=name,
            description=descriptions.get(name, name),
            relationship="Source" if name == Bundle.RESULT else "Supplement",
            created=utc,
            modified=utc,
            url_fetcher=fetcher,
        )
        for name, content in attachments.items()
    ]
    refusals = _Refusals()
    logger = logging.getLogger("weasyprint")
    with _LOCK, _source_date_epoch(created):
        logger.addHandler(refusals)
        try:
            document = weasyprint.HTML(
                string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher
            )
            with warnings.catch_warnings():
                # WeasyPrint 70 opens its sRGB profile (PDF/A's output intent) and never closes
                # it; the file is closed when the render's document is freed, in this call.
                warnings.simplefilter("ignore", ResourceWarning)
                pdf = document.write_pdf(
                    pdf_variant="pdf/a-3b",
                    pdf_identifier=_PLACEHOLDER,
                    pdf_tags=True,
                    attachments=files,
                    finisher=_dedupe_attached_files,
                )
        finally:
            logger.removeHandler(refusals)
    return _seal(pdf), refusals.messages


def _seal(pdf: bytes) -> bytes:
    if pdf.count(_PLACEHOLDER) != 1:
        raise RuntimeError("The PDF's identifier should hold the seal placeholder exactly once.")
    digest = hashlib.sha256(pdf).hexdigest().encode()
    return pdf.replace(_PLACEHOLDER, SEAL_PREFIX + digest)


def check_seal(pdf: bytes) -> str | None:
    """None when the PDF's seal holds; otherwise what is wrong.

    Examples
    --------
    >>> body = b"%PDF-1.7 ... /ID [(" + _PLACEHOLDER + b") (x)] ... %%EOF"
    >>> sealed = _seal(body)
    >>> check_seal(sealed) is None
    True
    >>> check_seal(sealed.replace(b"1.7", b"1.6"))
    'the PDF was changed after it was sealed (its sha256 no longer matches its seal)'
    """
    seals = list(_SEAL.finditer(pdf))
    if not seals:
        return "the PDF has no fairtrail seal (it was not written by fairtrail report)"
    if len(seals) > 1:
        return "the PDF has more than one fairtrail seal"
    found = seals[0].group(1)
    start, end = seals[0].span(1)
    digest = hashlib.sha256(pdf[:start] + b"0" * 64 + pdf[end:]).hexdigest().encode()
    if digest != found:
        return "the PDF was changed after it was sealed (its sha256 no longer matches its seal)"
    return None


def read_attachments(pdf: bytes) -> dict[str, bytes]:
    """The files embedded in a PDF, by name (pypdf)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    out: dict[str, bytes] = {}
    for name, contents in reader.attachments.items():
        out[name] = contents[0]
    return out
