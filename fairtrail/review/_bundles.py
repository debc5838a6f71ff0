"""The Audits page's logic: the bundles of a folder, opening one, and unpacking an upload.

A bundle is opened (:meth:`audit.Bundle.open`: every file verified against its manifest, once)
before anything of it is shown; the pages then read its aggregated parts only (the result, the
trade-off, the lineage events), never the audited rows.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import AuditResult, Bundle, BundleError, BundleVerificationError, verify_bundle
from audit.mitigation import TradeOff


@dataclass(frozen=True)
class BundleEntry:
    """A bundle of a folder, as the Audits page lists it."""

    path: Path
    name: str
    audit_id: str | None
    created_at: str
    status: str
    source: str
    manifest_sha256: str
    intact: bool
    problems: tuple[str, ...]
    has_tradeoff: bool
    has_lineage: bool


def _manifest(path: Path) -> dict[str, Any]:
    """The manifest of a bundle that failed verification, read as it is (to list the bundle)."""
    try:
        data = json.loads((path / Bundle.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The manifest of bundle '{path}' cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise BundleError(f"The manifest of bundle '{path}' is not a JSON object.")
    return data


def data_name(provenance: Mapping[str, Any], fallback: str) -> str:
    """What data an audit is of: the source's title in ``provenance.json``, else ``fallback``.

    Examples
    --------
    >>> data_name({"source": {"title": "Adult (Census Income)"}}, "predictions.parquet")
    'Adult (Census Income)'
    >>> data_name({}, "predictions.parquet")
    'predictions.parquet'
    """
    source = provenance.get("source")
    title = source.get("title") if isinstance(source, Mapping) else None
    return str(title or provenance.get("dataset") or fallback)


def bundle_entry(path: str | Path) -> BundleEntry:
    """One bundle's identity, status and integrity (every file checked against the manifest).

    Examples
    --------
    >>> import tempfile
    >>> bundle_entry(tempfile.mkdtemp()).problems
    ("'...' is not a fairtrail bundle: manifest.json is missing.",)
    """
    path = Path(path)
    try:
        bundle = Bundle.open(path)
    except BundleVerificationError as exc:
        return _failed_entry(path, exc.problems)
    except BundleError:  # not a folder: what verification says of it
        return _failed_entry(path, tuple(verify_bundle(path)))
    manifest = bundle.manifest
    try:
        result_data = json.loads(bundle.file(Bundle.RESULT).decode("utf-8")).get("data", {})
        source = data_name(bundle.provenance, str(result_data.get("source", "")))
    except (OSError, ValueError, AttributeError):
        source = ""
    return BundleEntry(
        path=path,
        name=path.name,
        audit_id=manifest.audit_id,
        created_at=manifest.created_at or "",
        status=manifest.status or "unknown",
        source=source,
        manifest_sha256=bundle.manifest_sha256,
        intact=True,
        problems=(),
        has_tradeoff=bundle.has(Bundle.TRADEOFF),
        has_lineage=bundle.has(Bundle.EVENTS),
    )


def _failed_entry(path: Path, problems: tuple[str, ...]) -> BundleEntry:
    """A bundle that failed verification, listed with what its manifest says, as it is."""
    manifest_file = path / Bundle.MANIFEST
    try:
        manifest = _manifest(path) if manifest_file.is_file() else {}
    except BundleError as exc:
        manifest, problems = {}, (*problems, str(exc))
    files = manifest.get("files", {}) if isinstance(manifest.get("files"), dict) else {}
    digest = ""
    if manifest_file.is_file():
        digest = hashlib.sha256(manifest_file.read_bytes()).hexdigest()
    return BundleEntry(
        path=path,
        name=path.name,
        audit_id=manifest.get("audit_id"),
        created_at=str(manifest.get("created_at", "")),
        status=str(manifest.get("status", "unknown")),
        source="",
        manifest_sha256=digest,
        intact=False,
        problems=problems,
        has_tradeoff=Bundle.TRADEOFF in files,
        has_lineage=Bundle.EVENTS in files,
    )


def find_bundles(folder: str | Path) -> list[BundleEntry]:
    """The bundles in ``folder`` (the folder itself, or its sub-folders), newest first.

    A sub-folder is a bundle when it holds a ``manifest.json``; one that fails verification
    is listed with its problems, so a reviewer sees it rather than missing it.

    Raises
    ------
    BundleError
        ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"The bundle folder '{folder}' does not exist or is not a folder.")
    if (folder / Bundle.MANIFEST).is_file():
        return [bundle_entry(folder)]
    paths = [p for p in sorted(folder.iterdir()) if (p / Bundle.MANIFEST).is_file()]
    # Hashing releases the GIL: bundles are verified side by side, one per core.
    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        entries = list(pool.map(bundle_entry, paths))
    return sorted(entries, key=lambda e: e.created_at, reverse=True)


@dataclass(frozen=True)
class Review:
    """An opened, verified bundle: its result, trade-off and lineage, never its rows."""

    path: Path
    manifest_sha256: str
    result: AuditResult
    tradeoff: TradeOff | None
    events: tuple[Any, ...]
    provenance: Mapping[str, Any]

    @property
    def audit_id(self) -> str:
        """The audit's id."""
        return self.result.audit_id

    @property
    def data_name(self) -> str:
        """What data the audit is of (the source's title when recorded)."""
        return data_name(self.provenance, self.result.data.source)

    @property
    def attributes(self) -> list[str]:
        """The audited attributes, single features first, then intersections."""
        return [a.name for a in self.result.attributes]


def open_review(bundle: str | Path | Bundle) -> Review:
    """Read what the pages show of a bundle, opened (so verified against its manifest) once.

    Parameters
    ----------
    bundle : str, Path or Bundle
        An opened bundle, or its folder (then opened here).

    Raises
    ------
    BundleError
        The bundle is missing, altered or malformed: it is not shown at all.
    """
    opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    return Review(
        path=opened.path,
        manifest_sha256=opened.manifest_sha256,
        result=opened.result,
        tradeoff=opened.tradeoff,
        events=tuple(opened.events()),
        provenance=opened.provenance,
    )


#: Uploaded bundles: at most this many files and bytes once unpacked.
MAX_UPLOAD_FILES = 200


MAX_UPLOAD_BYTES = 512 * 1024 * 1024


def unpack_bundle(data: bytes, into: str | Path) -> Path:
    """Unpack an uploaded bundle (a zip of the bundle folder) safely, then verify it.

    Refuses archives with absolute paths, ``..``, links, too many files or too many bytes
    (zip bombs), and bundles that fail verification. The bundle may be at the zip's root
    or in one folder inside it.

    Raises
    ------
    BundleError
        Naming what is wrong with the upload.
    """
    import zipfile

    into = Path(into)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BundleError("The upload is not a zip file of an audit bundle.") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_UPLOAD_FILES:
            raise BundleError(
                f"The upload holds {len(infos)} files; a bundle has at most {MAX_UPLOAD_FILES}."
            )
        if sum(i.file_size for i in infos) > MAX_UPLOAD_BYTES:
            raise BundleError(
                f"The upload unpacks to more than {MAX_UPLOAD_BYTES // 2**20} MiB; refused."
            )
        for info in infos:
            name = info.filename
            parts = Path(name).parts
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if name.startswith(("/", "\\")) or ".." in parts or ":" in name or is_link:
                raise BundleError(f"The upload holds an unsafe path {name!r}; refused.")
        into.mkdir(parents=True, exist_ok=True)
        for info in infos:
            target = into / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src:
                target.write_bytes(src.read(MAX_UPLOAD_BYTES + 1))
    root = into
    if not (root / Bundle.MANIFEST).is_file():
        inner = [p for p in into.iterdir() if p.is_dir() and (p / Bundle.MANIFEST).is_file()]
        if len(inner) != 1:
            raise BundleError(f"The upload holds no audit bundle (no {Bundle.MANIFEST}).")
        root = inner[0]
    Bundle.open(root)
    return root
