"""The audit bundle: a folder that the CLI writes and the report, app and gate read.

:class:`Bundle` is the one door to it: it owns the file layout and the manifest. Every other
module names a bundle's files through its constants (``Bundle.RESULT``, ``Bundle.EVENTS``...)
and reads them through an opened :class:`Bundle`, never by building paths of its own.

::

    bundle/
      result.json                  the AuditResult (schema-versioned)
      spec.json                    the resolved spec, every default filled in
      spec.toml                    the spec as written (when there was one)
      environment.json             versions, platform, command line, seed
      lineage/events.jsonl         the OpenLineage events (``fairtrail run``, the demo)
      provenance.json              where the data came from (the demo)
      predictions.parquet          the audited predictions (the demo)
      mitigation/tradeoff.json     a sweep's trade-off (``fairtrail mitigate``, the demo)
      mitigation/sweep.json        the sweep's plan, timings and model record
      mitigation/audits/<c>.json   each candidate's held-out audit
      mitigation/model.skops       the chosen model (skops)
      manifest.json                sha256 and size of every other file
      report.pdf                   the sign-off report (``fairtrail report``), sealed on its own

Writing is atomic: files go to a temporary sibling folder, are flushed to disk, and the folder
is renamed into place. A crash leaves either the previous bundle or the new one at the path,
never a mix; a replaced bundle is moved aside first and removed only after the new one is in
place. Only a bundle is ever replaced: a symbolic link, a file, a folder that is not a bundle
or a bundle holding files its manifest does not list is refused and left as it is.

Reading trusts nothing: a manifest of the wrong shape, a file name leading out of the bundle,
a digest that is not one, JSON that is not UTF-8 or too large is a :class:`BundleError` naming
the file and the problem. :meth:`Bundle.open` verifies every file once; the parts it reads
(result, spec, events, trade-off...) are decoded on first use from the very bytes it verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from audit._exceptions import BundleError, SpecError
from audit._result import AuditResult
from audit._spec import decode_text

if TYPE_CHECKING:  # reading a trade-off is decoded on first use only
    from audit.mitigation._tradeoff import TradeOff

__all__ = [
    "BUNDLE_FORMAT",
    "Bundle",
    "BundleVerificationError",
    "Manifest",
    "ManifestEntry",
    "check_bundle_target",
    "environment_info",
    "parse_manifest",
    "read_bundle",
    "require_intact",
    "result_json",
    "verify_bundle",
    "write_bundle",
]

# The layout: every file name of a bundle, spelled here and nowhere else (``Bundle.<NAME>``).
BUNDLE_FORMAT = "fairtrail-bundle/1"
MANIFEST = "manifest.json"
RESULT = "result.json"
SPEC = "spec.json"
SPEC_TEXT = "spec.toml"
ENVIRONMENT = "environment.json"
EVENTS = "lineage/events.jsonl"
PROVENANCE = "provenance.json"
PREDICTIONS = "predictions.parquet"
#: The sign-off report, written after the bundle: not in the manifest (which the report
#: embeds), it carries its own seal instead (``fairtrail verify``).
REPORT = "report.pdf"
TRADEOFF = "mitigation/tradeoff.json"
SWEEP = "mitigation/sweep.json"
CANDIDATE_AUDITS = "mitigation/audits"
MODEL_SUFFIX = ".skops"
MODEL = "mitigation/model.skops"

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


#: A manifest lists names and digests; a bigger file is not one (and is not read whole).
MAX_MANIFEST_BYTES = 16 * 2**20
#: The largest ``result.json`` read (the results of many intersections take a few MiB); also
#: the largest part kept in memory when a bundle is opened.
MAX_RESULT_BYTES = 256 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = ("sha256", "size")
#: The files an opened bundle decodes: their bytes are kept while they are verified.
_PARTS = frozenset({RESULT, SPEC, SPEC_TEXT, ENVIRONMENT, EVENTS, PROVENANCE, TRADEOFF, SWEEP})


def _digest(path: Path, *, keep: bool = False) -> tuple[str, bytes | None]:
    """The sha256 of a file, and its bytes when ``keep`` (else None: read in chunks)."""
    if keep:
        data = path.read_bytes()
        return hashlib.sha256(data).hexdigest(), data
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), None


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


def _shown(value: object) -> str:
    """``repr(value)``, cut to one short line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _display(name: str) -> str:
    """A file name as written in a message: as is when printable, else its ``repr``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return repr(name)
    return name if name.isprintable() else repr(name)


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    kinds = {dict: "an object", list: "an array", str: "a string", type(None): "null"}
    return kinds.get(type(value), f"the number {_shown(value)}")


def _name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a file of a bundle; None when it can.

    Examples
    --------
    >>> _name_problem(Bundle.EVENTS) is None
    True
    >>> _name_problem("../outside.txt")
    "must be a relative path inside the bundle, without '.', '..' or empty parts"
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    if size > 1024 or "\x00" in name or "\\" in name:
        return "must be a file name of at most 1024 bytes, without NUL or backslash"
    if name.startswith("/") or any(part in ("", ".", "..") for part in name.split("/")):
        return "must be a relative path inside the bundle, without '.', '..' or empty parts"
    if name in (MANIFEST, REPORT):
        return "names the manifest or the report, which a manifest does not list"
    return None


def _read_manifest(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The manifest of the bundle folder ``path``: its bytes, and its content, shape checked.

    Raises
    ------
    BundleError
        Naming the first problem (without the bundle's path).
    """
    file = path / MANIFEST
    try:
        if not file.is_file():
            raise BundleError(f"'{path}' is not a fairtrail bundle: {MANIFEST} is missing.")
        size = file.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise BundleError(
                f"{MANIFEST} is {size:,} bytes; a manifest lists file names and digests and is "
                "at most 16 MiB."
            )
        with file.open("rb") as f:
            data = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise BundleError(f"{MANIFEST} cannot be read: {exc.strerror or exc}.") from None
    return data, parse_manifest(data)


def parse_manifest(data: bytes) -> dict[str, Any]:
    """A bundle manifest's bytes, decoded and its shape checked: what verification trusts.

    A manifest is a UTF-8 JSON object with ``"format": "fairtrail-bundle/1"`` and ``"files"``,
    an object of relative file names (no ``..``, no leading ``/``) to ``{"sha256": 64
    lowercase hexadecimal digits, "size": bytes}``; ``audit_id``, ``created_at`` and
    ``status`` are strings when present. At most 16 MiB. :meth:`Manifest.parse` gives the
    same, typed.

    Parameters
    ----------
    data : bytes
        The content of a ``manifest.json`` (of a bundle, or attached to a report).

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    BundleError
        One line naming the first problem.

    Examples
    --------
    >>> entry = {"sha256": "0" * 64, "size": 2}
    >>> parse_manifest(b'{"format": "fairtrail-bundle/1", "files": {"result.json": {}}}')
    Traceback (most recent call last):
    ...
    audit._exceptions.BundleError: manifest.json: files['result.json'] must be an object with
    exactly 'sha256' and 'size'; got the keys [].
    >>> manifest = {"format": BUNDLE_FORMAT, "files": {"../etc/passwd": entry}}
    >>> parse_manifest(json.dumps(manifest).encode())
    Traceback (most recent call last):
    ...
    audit._exceptions.BundleError: manifest.json: the file name '../etc/passwd' must be a
    relative path inside the bundle, without '.', '..' or empty parts.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleError(
            f"{MANIFEST} is more than 16 MiB; a manifest lists file names and digests."
        )
    try:
        text = decode_text(data, MANIFEST, advice="the manifest is damaged")
    except SpecError as exc:
        raise BundleError(str(exc)) from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{MANIFEST} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{MANIFEST} is not valid JSON: {exc or 'nested too deeply'}.") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST} must hold a JSON object; got {_json_kind(manifest)}.")
    if "format" not in manifest:
        raise BundleError(f"{MANIFEST} has no 'format'; expected {BUNDLE_FORMAT!r}.")
    if manifest["format"] != BUNDLE_FORMAT:
        raise BundleError(
            f"{MANIFEST} has format {_shown(manifest['format'])}; expected {BUNDLE_FORMAT!r}."
        )
    for key in ("audit_id", "created_at", "status"):
        if key in manifest and not isinstance(manifest[key], str):
            raise BundleError(
                f"{MANIFEST}: '{key}' must be a string; got {_json_kind(manifest[key])}."
            )
    files = manifest.get("files")
    if not isinstance(files, dict):
        got = "nothing" if "files" not in manifest else _json_kind(files)
        raise BundleError(
            f"{MANIFEST}: 'files' must be an object of file name to "
            f'{{"sha256": ..., "size": ...}}; got {got}.'
        )
    for name, entry in files.items():
        problem = _name_problem(name)
        if problem is not None:
            raise BundleError(f"{MANIFEST}: the file name {_shown(name)} {problem}.")
        here = f"{MANIFEST}: files[{_shown(name)}]"
        if not isinstance(entry, dict) or sorted(entry) != sorted(_ENTRY_KEYS):
            kind = (
                f"the keys {_shown(sorted(entry))}"
                if isinstance(entry, dict)
                else _json_kind(entry)
            )
            raise BundleError(
                f"{here} must be an object with exactly 'sha256' and 'size'; got {kind}."
            )
        digest, length = entry["sha256"], entry["size"]
        if not isinstance(digest, str) or _SHA256.fullmatch(digest) is None:
            raise BundleError(
                f"{here}.sha256 must be 64 lowercase hexadecimal digits; got {_shown(digest)}."
            )
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise BundleError(
                f"{here}.size must be a whole number of bytes, at least 0; got {_shown(length)}."
            )
    return manifest


@dataclass(frozen=True)
class ManifestEntry:
    """One file as the manifest records it: its sha256 (64 lowercase hex digits) and size."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """A bundle's ``manifest.json``, its shape checked (:func:`parse_manifest`), typed.

    Attributes
    ----------
    files : mapping of str to ManifestEntry
        Every file of the bundle but the manifest and the report, by name (read-only).
    audit_id, created_at, status : str or None
        The audit's id, when the bundle was written (ISO 8601, UTC) and the audit's status.
    format : str
        ``"fairtrail-bundle/1"``.

    Examples
    --------
    >>> m = Manifest.parse(b'{"format": "fairtrail-bundle/1", "audit_id": "a1", "files": '
    ...                    b'{"result.json": {"sha256": "' + b"0" * 64 + b'", "size": 2}}}')
    >>> m.audit_id, m.files["result.json"].size, m.status
    ('a1', 2, None)
    >>> m.to_dict()["files"]["result.json"]["size"]
    2
    """

    files: Mapping[str, ManifestEntry]
    audit_id: str | None = None
    created_at: str | None = None
    status: str | None = None
    format: str = BUNDLE_FORMAT

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """A manifest's bytes, checked as :func:`parse_manifest` checks them.

        Raises
        ------
        BundleError
            One line naming the first problem.
        """
        return cls._from_checked(parse_manifest(data))

    @classmethod
    def _from_checked(cls, manifest: Mapping[str, Any]) -> Manifest:
        """The typed form of what :func:`parse_manifest` returned."""
        files = {
            name: ManifestEntry(entry["sha256"], entry["size"])
            for name, entry in sorted(manifest["files"].items())
        }
        return cls(
            files=MappingProxyType(files),
            audit_id=manifest.get("audit_id"),
            created_at=manifest.get("created_at"),
            status=manifest.get("status"),
            format=manifest["format"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON data (the keys it has: absent ones are left out)."""
        data: dict[str, Any] = {"format": self.format}
        for key in ("audit_id", "created_at", "status"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data["files"] = {n: {"sha256": e.sha256, "size": e.size} for n, e in self.files.items()}
        return data


class BundleVerificationError(BundleError):
    """A bundle whose manifest is malformed or whose files do not match it.

    The message names the first problem, as ``Bundle '<path>' failed verification: <problem>``;
    :attr:`problems` holds every problem, each as :func:`verify_bundle` words it.

    Attributes
    ----------
    path : Path
        The bundle folder.
    problems : tuple of str
        One line per problem (at least one).
    """

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__(f"Bundle '{path}' failed verification: {self.problems[0]}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.problems))


def _present_files(path: Path) -> tuple[set[str], list[str]]:
    """Every file (or link, or other non-folder) under ``path``, and folders that cannot be read.

    Symbolic links to folders count as files: they are not followed.
    """
    present: set[str] = set()
    unreadable: list[str] = []

    def failed(exc: OSError) -> None:
        unreadable.append(f"{exc.filename}: {exc.strerror or exc}")

    for folder, dirs, files in os.walk(path, onerror=failed):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in (*files, *links):
            present.add(Path(os.path.relpath(os.path.join(folder, name), path)).as_posix())
    return present, unreadable


def _file_problem(
    path: Path, root: str, name: str, entry: Mapping[str, Any], *, keep: bool
) -> tuple[str | None, bytes | None]:
    """What is wrong with one listed file (None: it matches), and its bytes if ``keep``."""
    file = path / name
    try:
        real = os.path.realpath(file)
        if os.path.commonpath([root, real]) != root:
            return f"{_display(name)} leads outside the bundle (a symbolic link to '{real}').", None
        if not file.is_file():
            return f"{_display(name)} is listed in the manifest but missing.", None
        changed = f"{_display(name)} does not match its sha256 in the manifest (changed)."
        if file.stat().st_size != entry["size"]:
            return changed, None
        digest, data = _digest(file, keep=keep and entry["size"] <= MAX_RESULT_BYTES)
        if digest != entry["sha256"] or (data is not None and len(data) != entry["size"]):
            return changed, None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        return f"{_display(name)} cannot be read: {reason}.", None
    return None, data


def _check_files(
    path: Path, manifest: Mapping[str, Any], keep: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, bytes]]:
    """The problems of a bundle folder against its manifest; the matching bytes of ``keep``."""
    entries: dict[str, Any] = manifest["files"]
    root = os.path.realpath(path)
    problems = []
    kept = {}
    for name, entry in sorted(entries.items()):
        problem, data = _file_problem(path, root, name, entry, keep=name in keep)
        if problem is not None:
            problems.append(problem)
        elif data is not None:
            kept[name] = data
    present, unreadable = _present_files(path)
    problems += [f"A folder of the bundle cannot be read: {u}." for u in unreadable]
    for name in sorted(present - set(entries) - {MANIFEST, REPORT}):
        problems.append(f"{_display(name)} is not listed in the manifest (added after writing).")
    return problems, kept


def verify_bundle(path: str | Path) -> list[str]:
    """Check every file of a bundle against its manifest; return the problems found.

    An empty list means the bundle is intact: the manifest is well formed, every listed file
    exists inside the bundle with its recorded sha256 and size, and no unlisted file was
    added. A malformed manifest is one problem; nothing here raises for a bad bundle.
    :meth:`Bundle.open` makes the same checks, and raises.

    Parameters
    ----------
    path : str or Path
        The bundle folder.

    Returns
    -------
    list of str
        One line per problem.

    Examples
    --------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / MANIFEST).write_text(json.dumps({"format": BUNDLE_FORMAT, "files": []}))
    >>> print(*verify_bundle(folder))
    manifest.json: 'files' must be an object of file name to {"sha256": ..., "size": ...};
    got an array.
    """
    path = Path(path)
    try:
        _, manifest = _read_manifest(path)
    except BundleError as exc:
        return [str(exc)]
    return _check_files(path, manifest)[0]


def require_intact(path: str | Path) -> None:
    """Raise :class:`BundleError` naming the first problem unless the bundle is intact.

    The same check as :meth:`Bundle.open`, for a caller that needs no part of the bundle.
    """
    Bundle.open(path)


def _missing_result(path: Path) -> BundleError:
    return BundleError(f"Bundle '{path}': {RESULT} is missing.")


def _read_result_file(path: Path) -> bytes:
    """The bytes of ``result.json`` in the folder ``path`` (unverified), its size checked."""
    file = path / RESULT
    try:
        if not file.is_file():
            raise _missing_result(path)
        size = file.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise BundleError(
                f"Bundle '{path}': {RESULT} is {size:,} bytes; a result is at most 256 MiB."
            )
        return file.read_bytes()
    except OSError as exc:
        raise BundleError(
            f"Bundle '{path}': cannot read {RESULT}: {exc.strerror or exc}."
        ) from None


def _decode_result(path: Path, raw: bytes) -> AuditResult:
    """The :class:`AuditResult` in the bytes of the ``result.json`` of the bundle ``path``."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"Bundle '{path}': {RESULT} is not UTF-8 text (byte {exc.start + 1}: {exc.reason})."
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BundleError(
            f"Bundle '{path}': cannot read {RESULT}: {exc or 'nested too deeply'}"
        ) from None
    if not isinstance(data, dict):
        raise BundleError(
            f"Bundle '{path}': {RESULT} must hold a JSON object; got {_json_kind(data)}."
        )
    try:
        return AuditResult.from_dict(data)
    except BundleError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
        # what the field-by-field decoding does not expect (a number too large for a float...)
        raise BundleError(f"Bundle '{path}': {RESULT} is malformed: {exc}") from None


def _decode_tradeoff(data: bytes) -> TradeOff:
    """The trade-off in the bytes of a bundle's ``mitigation/tradeoff.json``.

    Raises
    ------
    BundleError
        The bytes are not UTF-8 JSON, or not a trade-off.
    """
    from audit.mitigation._tradeoff import TradeOff

    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"{TRADEOFF} cannot be read: {exc}") from None
    return TradeOff.from_dict(value)


def _decode_events(path: Path, data: bytes) -> list[Any]:
    """Events from the bytes of a bundle's events file, as :func:`lineage.read_events` reads.

    JSON Lines (one event a line), or JSON (one event, or a list).
    """
    where = f"Bundle '{path}': {EVENTS}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(
            f"{where} is not UTF-8 text (byte {exc.start + 1}: {exc.reason})."
        ) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            events = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BundleError(f"{where} is not valid JSON: {exc or 'nested too deeply'}.") from None
        return list(events)
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except (ValueError, RecursionError) as exc:
            if number == 1 and stripped.startswith("{"):
                try:  # one pretty-printed event
                    return [json.loads(text)]
                except (ValueError, RecursionError):
                    pass
            raise BundleError(
                f"{where}, line {number} is not valid JSON: {exc or 'nested too deeply'}."
            ) from None
    return out


_SEALED = object()  # the key to Bundle's constructor: a Bundle is opened or written


class Bundle:
    r"""An audit bundle: its file layout, its manifest, and its parts, verified once.

    A bundle is a folder of files listed with their sha256 in ``manifest.json``. Get one with
    :meth:`open` (every file is checked against the manifest then, and only then) or
    :meth:`write` (atomic). Its parts are read on first use, from the bytes that were
    verified: a change to the folder after it was opened does not reach them.

    The class attributes are the bundle's file names: ``RESULT``, ``SPEC``, ``SPEC_TEXT``,
    ``ENVIRONMENT``, ``EVENTS``, ``PROVENANCE``, ``PREDICTIONS``, ``TRADEOFF``, ``SWEEP``,
    ``MODEL``, ``CANDIDATE_AUDITS`` (a folder), ``MANIFEST`` and ``REPORT`` (neither listed
    in the manifest); ``FORMAT`` is the manifest's format.

    Attributes
    ----------
    path : Path
        The bundle folder.
    manifest : Manifest
        The manifest, typed.
    manifest_bytes : bytes
        The manifest's bytes, as verified.
    manifest_sha256 : str
        Their sha256: what identifies the exact files of the bundle (sign-offs name it).

    Examples
    --------
    >>> import tempfile
    >>> from audit import AuditOptions, audit_predictions
    >>> result = audit_predictions(
    ...     [0, 1, 1, 0] * 50, [0, 1, 0, 0, 1, 1, 1, 0] * 25,
    ...     sensitive_features={"sex": (["F"] * 4 + ["M"] * 4) * 25},
    ...     options=AuditOptions(intervals=False))
    >>> folder = Path(tempfile.mkdtemp()) / "bundle"
    >>> _ = Bundle.write(result, folder, spec_text="[data]\n")
    >>> bundle = Bundle.open(folder)  # verified here, once
    >>> bundle.result.audit_id == result.audit_id
    True
    >>> sorted(bundle.manifest.files)
    ['environment.json', 'result.json', 'spec.toml']
    >>> bundle.spec_text, bundle.spec, bundle.events(), bundle.tradeoff, bundle.report
    ('[data]\n', None, [], None, None)
    >>> bundle.has(Bundle.RESULT), bundle.has(Bundle.EVENTS)
    (True, False)
    """

    FORMAT: ClassVar[str] = BUNDLE_FORMAT
    MANIFEST: ClassVar[str] = MANIFEST
    RESULT: ClassVar[str] = RESULT
    SPEC: ClassVar[str] = SPEC
    SPEC_TEXT: ClassVar[str] = SPEC_TEXT
    ENVIRONMENT: ClassVar[str] = ENVIRONMENT
    EVENTS: ClassVar[str] = EVENTS
    PROVENANCE: ClassVar[str] = PROVENANCE
    PREDICTIONS: ClassVar[str] = PREDICTIONS
    REPORT: ClassVar[str] = REPORT
    TRADEOFF: ClassVar[str] = TRADEOFF
    SWEEP: ClassVar[str] = SWEEP
    CANDIDATE_AUDITS: ClassVar[str] = CANDIDATE_AUDITS
    MODEL: ClassVar[str] = MODEL

    path: Path
    manifest: Manifest
    manifest_bytes: bytes
    manifest_sha256: str
    _parts: Mapping[str, bytes]

    def __init__(
        self,
        path: Path,
        manifest_bytes: bytes,
        manifest: Manifest,
        parts: Mapping[str, bytes],
        *,
        _key: object = None,
    ) -> None:
        if _key is not _SEALED:
            raise TypeError(
                "A Bundle is not built directly: Bundle.open(path) verifies a bundle folder, "
                "Bundle.write(result, path) writes one."
            )
        self.path = path
        self.manifest = manifest
        self.manifest_bytes = manifest_bytes
        self.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        self._parts = MappingProxyType(dict(parts))

    def __repr__(self) -> str:
        return f"Bundle('{self.path}')"

    @classmethod
    def open(cls, path: str | Path) -> Bundle:
        """Open the bundle folder ``path``, checking every file against its manifest.

        The manifest must be well formed, every file it lists present inside the folder with
        its sha256 and size, and no other file there but the manifest and ``report.pdf``
        (:func:`verify_bundle`). The parts the class decodes (result, spec, environment,
        events, provenance, trade-off, sweep) are kept as verified.

        Parameters
        ----------
        path : str or Path
            The bundle folder.

        Returns
        -------
        Bundle

        Raises
        ------
        BundleError
            ``Bundle '<path>' does not exist or is not a folder.``
        BundleVerificationError
            ``Bundle '<path>' failed verification: <the first problem>`` (all of them in its
            ``problems``).

        Examples
        --------
        >>> import tempfile
        >>> Bundle.open(tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        audit._bundle.BundleVerificationError: Bundle '...' failed verification: '...' is not
        a fairtrail bundle: manifest.json is missing.
        """
        path = Path(path)
        if not path.is_dir():
            raise BundleError(f"Bundle '{path}' does not exist or is not a folder.")
        try:
            data, manifest = _read_manifest(path)
        except BundleError as exc:
            raise BundleVerificationError(path, [str(exc)]) from None
        problems, parts = _check_files(path, manifest, keep=_PARTS)
        if problems:
            raise BundleVerificationError(path, problems)
        return cls(path, data, Manifest._from_checked(manifest), parts, _key=_SEALED)

    @classmethod
    def write(
        cls,
        result: AuditResult,
        path: str | Path,
        *,
        spec: Mapping[str, Any] | None = None,
        spec_text: str | None = None,
        environment: Mapping[str, Any] | None = None,
        extra_files: Mapping[str, bytes] | None = None,
    ) -> Bundle:
        r"""Write an audit bundle atomically, replacing an earlier bundle at ``path``.

        Parameters
        ----------
        result : AuditResult
            Written as ``result.json``.
        path : str or Path
            The bundle folder: missing, empty, or an earlier bundle (see
            :func:`check_bundle_target`; anything else is refused and left as it is).
        spec : mapping, optional
            The resolved spec, written as ``spec.json``.
        spec_text : str, optional
            The spec file as written, kept as ``spec.toml``.
        environment : mapping, optional
            Defaults to :func:`environment_info` with the result's seed.
        extra_files : mapping of str to bytes, optional
            More files (relative names, for example ``Bundle.EVENTS``).

        Returns
        -------
        Bundle
            The bundle written (its files are not read or hashed again).

        Raises
        ------
        BundleError
            When ``path`` cannot take the bundle (see :func:`check_bundle_target`), an extra
            file name is not a relative path inside the bundle, or the folder cannot be written
            (the operating system's reason, one line).

        Examples
        --------
        >>> import tempfile
        >>> from audit import AuditOptions, audit_predictions
        >>> result = audit_predictions(
        ...     [0, 1, 1, 0] * 50, [0, 1, 0, 0, 1, 1, 1, 0] * 25,
        ...     sensitive_features={"sex": (["F"] * 4 + ["M"] * 4) * 25},
        ...     options=AuditOptions(intervals=False))
        >>> bundle = Bundle.write(result, Path(tempfile.mkdtemp()) / "b",
        ...                       extra_files={Bundle.EVENTS: b'{"eventType": "START"}\n'})
        >>> bundle.events()
        [{'eventType': 'START'}]
        >>> Bundle.open(bundle.path).manifest_sha256 == bundle.manifest_sha256
        True
        """
        path = check_bundle_target(path)
        files: dict[str, bytes] = {RESULT: result_json(result)}
        if spec is not None:
            files[SPEC] = _json_bytes(spec)
        if spec_text is not None:
            files[SPEC_TEXT] = spec_text.encode()
        files[ENVIRONMENT] = _json_bytes(
            dict(environment)
            if environment is not None
            else environment_info(result.options.random_state)
        )
        for name, content in (extra_files or {}).items():
            if _name_problem(name) is not None:
                raise BundleError(
                    f"extra file name {name!r} must be a relative path inside the bundle."
                )
            files[name] = content
        token = uuid.uuid4().hex[:12]
        tmp = path.parent / f".{path.name}.tmp-{token}"
        old = path.parent / f".{path.name}.old-{token}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
            manifest = _write_files(tmp, files, result)
            moved = False
            if path.exists():
                os.rename(path, old)
                moved = True
            try:
                os.rename(tmp, path)
            except BaseException:
                if moved:
                    os.rename(old, path)  # put the earlier bundle back
                raise
            _fsync_dir(path.parent)
            if moved:
                shutil.rmtree(old, ignore_errors=True)  # the new bundle is in place either way
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                name = str(exc.filename or "")
                name = str(path.parent) if name.startswith(str(tmp)) else name  # not ours
                where = f" ('{name}')" if name else ""
                raise BundleError(
                    f"Cannot write the bundle to '{path}': {exc.strerror or exc}{where}."
                ) from None
            raise
        parts = {n: b for n, b in files.items() if n in _PARTS and len(b) <= MAX_RESULT_BYTES}
        checked = Manifest._from_checked(json.loads(manifest))
        return cls(path, manifest, checked, parts, _key=_SEALED)

    # --- the files -------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """Whether the bundle holds the file ``name`` (listed in its manifest, so verified).

        The manifest and ``report.pdf`` are not listed: see :attr:`report`.
        """
        return name in self.manifest.files

    def file(self, name: str) -> bytes:
        """The bytes of the bundle's file ``name`` (a name its manifest lists).

        Raises
        ------
        BundleError
            The bundle holds no such file, or it cannot be read.
        """
        if not self.has(name):
            raise BundleError(f"Bundle '{self.path}' holds no {_display(name)}.")
        kept = self._parts.get(name)
        if kept is not None:
            return kept
        try:
            return (self.path / name).read_bytes()
        except OSError as exc:
            raise BundleError(
                f"Bundle '{self.path}': cannot read {_display(name)}: {exc.strerror or exc}."
            ) from None

    def _json(self, name: str) -> Any:
        """The JSON value of the listed file ``name``; None when the bundle does not hold it."""
        if not self.has(name):
            return None
        try:
            return json.loads(self.file(name).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise BundleError(
                f"Bundle '{self.path}': {name} is not UTF-8 text (byte {exc.start + 1}: "
                f"{exc.reason})."
            ) from None
        except (ValueError, RecursionError) as exc:
            raise BundleError(
                f"Bundle '{self.path}': {name} is not valid JSON: {exc or 'nested too deeply'}."
            ) from None

    def _object(self, name: str) -> dict[str, Any] | None:
        value = self._json(name)
        if value is not None and not isinstance(value, dict):
            raise BundleError(
                f"Bundle '{self.path}': {name} must hold a JSON object; got {_json_kind(value)}."
            )
        return value

    # --- the parts -------------------------------------------------------------------------

    @cached_property
    def result(self) -> AuditResult:
        """The audit result (``result.json``).

        Raises
        ------
        BundleError
            ``result.json`` is missing or malformed.
        """
        if not self.has(RESULT):
            raise _missing_result(self.path)
        raw = self._parts.get(RESULT)
        return _decode_result(self.path, raw if raw is not None else _read_result_file(self.path))

    @cached_property
    def spec(self) -> dict[str, Any] | None:
        """The resolved spec (``spec.json``, every default filled in), or None."""
        return self._object(SPEC)

    @cached_property
    def spec_text(self) -> str | None:
        """The spec as written (``spec.toml``), or None."""
        if not self.has(SPEC_TEXT):
            return None
        try:
            return self.file(SPEC_TEXT).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(
                f"Bundle '{self.path}': {SPEC_TEXT} is not UTF-8 text (byte {exc.start + 1}: "
                f"{exc.reason})."
            ) from None

    @cached_property
    def environment(self) -> dict[str, Any] | None:
        """Versions, platform, command line and seed (``environment.json``), or None."""
        return self._object(ENVIRONMENT)

    @cached_property
    def provenance(self) -> dict[str, Any]:
        """Where the data came from (``provenance.json``); {} when not recorded as an object."""
        value = self._json(PROVENANCE)
        return value if isinstance(value, dict) else {}

    @cached_property
    def _events(self) -> tuple[Any, ...]:
        if not self.has(EVENTS):
            return ()
        return tuple(_decode_events(self.path, self.file(EVENTS)))

    def events(self) -> list[Any]:
        """The OpenLineage events (``lineage/events.jsonl``), oldest first; [] without any."""
        return list(self._events)

    @cached_property
    def tradeoff(self) -> TradeOff | None:
        """A mitigation sweep's trade-off (``mitigation/tradeoff.json``), or None."""
        return _decode_tradeoff(self.file(TRADEOFF)) if self.has(TRADEOFF) else None

    @property
    def models(self) -> dict[str, Path]:
        """The saved models (skops files) the bundle holds, by file name; {} when none.

        The chosen model of a mitigation sweep is ``Bundle.MODEL``.
        """
        return {n: self.path / n for n in self.manifest.files if n.endswith(MODEL_SUFFIX)}

    @property
    def report(self) -> Path | None:
        """The sign-off report (``report.pdf``, sealed on its own), or None when not written."""
        file = self.path / REPORT
        return file if file.is_file() else None

    @staticmethod
    def candidate_audit(name: str) -> str:
        """The file name of a mitigation candidate's held-out audit.

        Examples
        --------
        >>> Bundle.candidate_audit("baseline")
        'mitigation/audits/baseline.json'
        """
        return f"{CANDIDATE_AUDITS}/{name}.json"


def read_bundle(path: str | Path, *, verify: bool = True) -> AuditResult:
    """Read the result of a bundle, verifying it against its manifest first.

    ``read_bundle(path)`` is ``Bundle.open(path).result``.

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    verify : bool, default True
        Check every file against the manifest first (:meth:`Bundle.open`).

    Returns
    -------
    AuditResult

    Raises
    ------
    BundleError
        When the bundle is missing, altered (with ``verify``), its manifest or its result is
        malformed: one line naming the file and the problem.
    """
    if verify:
        return Bundle.open(path).result
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"Bundle '{path}' does not exist or is not a folder.")
    return _decode_result(path, _read_result_file(path))


def check_bundle_target(path: str | Path) -> Path:
    """Refuse a bundle folder that writing would damage, before anything is written.

    A bundle is written to a temporary sibling folder and renamed into place; an earlier
    bundle at ``path`` is moved aside and removed. So ``path`` may be missing, an empty
    folder, or a bundle holding only the files its manifest lists (and its ``report.pdf``).
    Anything else is refused and left as it is: a symbolic link (whatever it points to: the
    link would be replaced, and nothing is deleted through one), a file, a folder that is not
    a bundle, or a bundle holding files its manifest does not list.

    Parameters
    ----------
    path : str or Path
        Where the bundle is to be written (``--out``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    BundleError
        One line naming ``path``, what is there and what to do.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "notes.txt").write_text("mine") and None
    >>> check_bundle_target(folder / "new") == folder / "new"
    True
    >>> check_bundle_target(folder / "notes.txt")
    Traceback (most recent call last):
    ...
    audit._exceptions.BundleError: Refusing to write the bundle to '...notes.txt': it is a file,
    not a folder. Choose another --out folder.
    """
    path = Path(path)
    shown = f"'{path}'"
    if path.name in ("", ".."):
        raise BundleError(
            f"Refusing to write the bundle to {shown}: name the bundle's own folder (for "
            "example --out audit-bundle)."
        )
    try:
        if path.is_symlink():
            raise BundleError(
                f"Refusing to write the bundle to {shown}: it is a symbolic link (to "
                f"'{os.readlink(path)}'), which would be replaced. Give the folder itself, or "
                "another --out folder."
            )
        if not path.exists():
            _check_parent(path, shown)
            return path
        if not path.is_dir():
            raise BundleError(
                f"Refusing to write the bundle to {shown}: it is a file, not a folder. Choose "
                "another --out folder."
            )
        if not any(path.iterdir()):
            return path
        if not (path / MANIFEST).is_file():
            raise BundleError(
                f"Refusing to replace {shown}: it exists and is not a fairtrail bundle (no "
                f"{MANIFEST}); its files stay as they are. Choose another --out folder."
            )
        try:
            listed = set(_read_manifest(path)[1]["files"])
        except BundleError as exc:
            raise BundleError(
                f"Refusing to replace {shown}: its {MANIFEST} is not a fairtrail manifest "
                f"({str(exc).rstrip('.')}); its files stay as they are. Choose another --out "
                "folder."
            ) from None
        present, unreadable = _present_files(path)
        if unreadable:
            raise BundleError(
                f"Refusing to replace {shown}: a folder in it cannot be read ({unreadable[0]})."
            )
        extra = sorted(present - listed - {MANIFEST, REPORT})
        if extra:
            more = f" and {len(extra) - 1} more files" if len(extra) > 1 else ""
            raise BundleError(
                f"Refusing to replace the bundle {shown}: it holds {_display(extra[0])}{more}, "
                "which its manifest does not list (added after it was written). Move "
                f"{'them' if more else 'it'} away or choose another --out folder."
            )
    except OSError as exc:
        raise BundleError(f"Cannot use {shown} for the bundle: {exc.strerror or exc}.") from None
    return path


def _check_parent(path: Path, shown: str) -> None:
    """Refuse a bundle folder whose nearest existing parent is a file or cannot be written."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BundleError(
                    f"Cannot write the bundle to {shown}: '{parent}' is a file, not a folder."
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise BundleError(
                    f"Cannot write the bundle to {shown}: the folder '{parent}' is not writable."
                )
            return


def write_bundle(
    result: AuditResult,
    path: str | Path,
    *,
    spec: Mapping[str, Any] | None = None,
    spec_text: str | None = None,
    environment: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an audit bundle atomically; return its folder (``Bundle.write(...).path``).

    See :meth:`Bundle.write` for the parameters and errors.
    """
    return Bundle.write(
        result,
        path,
        spec=spec,
        spec_text=spec_text,
        environment=environment,
        extra_files=extra_files,
    ).path


def _write_files(folder: Path, files: Mapping[str, bytes], result: AuditResult) -> bytes:
    """Every file, then the manifest, into ``folder``, flushed to disk; the manifest's bytes."""
    entries = {}
    for name, content in sorted(files.items()):
        target = folder / name
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
    data = _json_bytes(manifest)
    _write(folder / MANIFEST, data)
    _fsync_dir(folder)
    return data
