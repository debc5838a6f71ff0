"""The audit bundle: a folder that the CLI writes and the report, app and gate read.

::

    bundle/
      result.json        the AuditResult (schema-versioned)
      spec.json          the resolved spec, every default filled in
      spec.toml          the spec as written (when there was one)
      environment.json   versions, platform, command line, seed
      manifest.json      sha256 and size of every other file
      report.pdf         the sign-off report (``fairtrail report``), sealed on its own

Writing is atomic: files go to a temporary sibling folder, are flushed to disk, and the folder
is renamed into place. A crash leaves either the previous bundle or the new one at the path,
never a mix; a replaced bundle is moved aside first and removed only after the new one is in
place.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from audit._exceptions import BundleError
from audit._result import AuditResult

__all__ = [
    "BUNDLE_FORMAT",
    "environment_info",
    "read_bundle",
    "require_intact",
    "result_json",
    "verify_bundle",
    "write_bundle",
]

BUNDLE_FORMAT = "fairtrail-bundle/1"
MANIFEST = "manifest.json"
RESULT = "result.json"
#: The sign-off report, written after the bundle: not in the manifest (which the report
#: embeds), it carries its own seal instead (``fairtrail verify``).
REPORT = "report.pdf"

_PACKAGES = ("fairtrail", "numpy", "pandas", "scipy", "pyarrow", "scikit-learn", "fairlearn")


def environment_info(seed: int | None = None) -> dict[str, Any]:
    """Versions, platform and command line, for the reproducibility record.

    Examples
    --------
    >>> sorted(environment_info(seed=0))
    ['argv', 'packages', 'platform', 'python', 'seed']
    """
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "argv": list(sys.argv),
        "seed": seed,
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def result_json(result: AuditResult) -> bytes:
    """The bytes of a bundle's ``result.json`` for ``result`` (what the manifest digests)."""
    return _json_bytes(result.to_dict())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bundle(
    result: AuditResult,
    path: str | Path,
    *,
    spec: Mapping[str, Any] | None = None,
    spec_text: str | None = None,
    environment: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an audit bundle atomically, replacing an earlier bundle at ``path``.

    Parameters
    ----------
    result : AuditResult
    path : str or Path
        The bundle folder. An existing folder is replaced only if it is a bundle (has a
        manifest) or is empty.
    spec : mapping, optional
        The resolved spec, written as ``spec.json``.
    spec_text : str, optional
        The spec file as written, kept as ``spec.toml``.
    environment : mapping, optional
        Defaults to :func:`environment_info` with the result's seed.
    extra_files : mapping of str to bytes, optional
        More files (relative names, for example ``lineage/events.jsonl``).

    Returns
    -------
    Path
        The bundle folder.

    Raises
    ------
    BundleError
        When ``path`` exists and is not a bundle.
    """
    path = Path(path)
    if path.exists() and (
        not path.is_dir() or (any(path.iterdir()) and not (path / MANIFEST).is_file())
    ):
        raise BundleError(
            f"Refusing to replace '{path}': it exists and is not a fairtrail bundle "
            f"(no {MANIFEST}). Choose another --out folder."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    tmp = path.parent / f".{path.name}.tmp-{token}"
    tmp.mkdir()
    try:
        files: dict[str, bytes] = {RESULT: result_json(result)}
        if spec is not None:
            files["spec.json"] = _json_bytes(spec)
        if spec_text is not None:
            files["spec.toml"] = spec_text.encode()
        files["environment.json"] = _json_bytes(
            dict(environment)
            if environment is not None
            else environment_info(result.options.random_state)
        )
        for name, content in (extra_files or {}).items():
            if Path(name).is_absolute() or ".." in Path(name).parts or name == MANIFEST:
                raise BundleError(
                    f"extra file name {name!r} must be a relative path inside the bundle."
                )
            files[name] = content
        entries = {}
        for name, content in sorted(files.items()):
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(target, content)
            entries[name] = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
        manifest = {
            "format": BUNDLE_FORMAT,
            "audit_id": result.audit_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "status": result.status,
            "files": entries,
        }
        _write(tmp / MANIFEST, _json_bytes(manifest))
        _fsync_dir(tmp)
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{token}"
            os.rename(path, old)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_bundle(path: str | Path) -> list[str]:
    """Check every file of a bundle against its manifest; return the problems found.

    An empty list means the bundle is intact: every listed file exists with its recorded
    sha256 and size, and no unlisted file was added.
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        return [f"'{path}' is not a fairtrail bundle: {MANIFEST} is missing."]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["files"]
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} is unreadable: {exc}"]
    if fmt != BUNDLE_FORMAT:
        return [f"{MANIFEST} has format {fmt!r}; expected {BUNDLE_FORMAT!r}."]
    problems = []
    for name, entry in sorted(entries.items()):
        f = path / name
        if not f.is_file():
            problems.append(f"{name} is listed in the manifest but missing.")
        elif f.stat().st_size != entry["size"] or _sha256(f) != entry["sha256"]:
            problems.append(f"{name} does not match its sha256 in the manifest (changed).")
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    for name in sorted(present - set(entries) - {MANIFEST, REPORT}):
        problems.append(f"{name} is not listed in the manifest (added after writing).")
    return problems


def require_intact(path: str | Path) -> None:
    """Raise :class:`BundleError` naming the first problem unless the bundle is intact."""
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"Bundle '{path}' does not exist or is not a folder.")
    problems = verify_bundle(path)
    if problems:
        raise BundleError(f"Bundle '{path}' failed verification: {problems[0]}")


def read_bundle(path: str | Path, *, verify: bool = True) -> AuditResult:
    """Read the result of a bundle, verifying it against its manifest first.

    Raises
    ------
    BundleError
        When the bundle is missing, altered (with ``verify``) or its result is malformed.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"Bundle '{path}' does not exist or is not a folder.")
    if verify:
        require_intact(path)
    try:
        data = json.loads((path / RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"Bundle '{path}': cannot read {RESULT}: {exc}") from None
    return AuditResult.from_dict(data)
