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
place. Only a bundle is ever replaced: a symbolic link, a file, a folder that is not a bundle
or a bundle holding files its manifest does not list is refused and left as it is.

Reading trusts nothing: a manifest of the wrong shape, a file name leading out of the bundle,
a digest that is not one, JSON that is not UTF-8 or too large is a :class:`BundleError` naming
the file and the problem.
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
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from audit._exceptions import BundleError, SpecError
from audit._result import AuditResult
from audit._spec import decode_text

__all__ = [
    "BUNDLE_FORMAT",
    "check_bundle_target",
    "environment_info",
    "parse_manifest",
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


#: A manifest lists names and digests; a bigger file is not one (and is not read whole).
MAX_MANIFEST_BYTES = 16 * 2**20
#: The largest ``result.json`` read (the results of many intersections take a few MiB).
MAX_RESULT_BYTES = 256 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ENTRY_KEYS = ("sha256", "size")


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
    >>> _name_problem("lineage/events.jsonl") is None
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


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the bundle folder ``path``, its shape checked.

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
    return parse_manifest(data)


def parse_manifest(data: bytes) -> dict[str, Any]:
    """A bundle manifest's bytes, decoded and its shape checked: what verification trusts.

    A manifest is a UTF-8 JSON object with ``"format": "fairtrail-bundle/1"`` and ``"files"``,
    an object of relative file names (no ``..``, no leading ``/``) to ``{"sha256": 64
    lowercase hexadecimal digits, "size": bytes}``; ``audit_id``, ``created_at`` and
    ``status`` are strings when present. At most 16 MiB.

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


def _file_problem(path: Path, root: str, name: str, entry: Mapping[str, Any]) -> str | None:
    """What is wrong with one listed file of a bundle; None when it matches the manifest."""
    file = path / name
    try:
        real = os.path.realpath(file)
        if os.path.commonpath([root, real]) != root:
            return f"{_display(name)} leads outside the bundle (a symbolic link to '{real}')."
        if not file.is_file():
            return f"{_display(name)} is listed in the manifest but missing."
        if file.stat().st_size != entry["size"] or _sha256(file) != entry["sha256"]:
            return f"{_display(name)} does not match its sha256 in the manifest (changed)."
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        return f"{_display(name)} cannot be read: {reason}."
    return None


def verify_bundle(path: str | Path) -> list[str]:
    """Check every file of a bundle against its manifest; return the problems found.

    An empty list means the bundle is intact: the manifest is well formed, every listed file
    exists inside the bundle with its recorded sha256 and size, and no unlisted file was
    added. A malformed manifest is one problem; nothing here raises for a bad bundle.

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
        manifest = _read_manifest(path)
    except BundleError as exc:
        return [str(exc)]
    entries: dict[str, Any] = manifest["files"]
    root = os.path.realpath(path)
    problems = []
    for name, entry in sorted(entries.items()):
        problem = _file_problem(path, root, name, entry)
        if problem is not None:
            problems.append(problem)
    present, unreadable = _present_files(path)
    problems += [f"A folder of the bundle cannot be read: {u}." for u in unreadable]
    for name in sorted(present - set(entries) - {MANIFEST, REPORT}):
        problems.append(f"{_display(name)} is not listed in the manifest (added after writing).")
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

    Parameters
    ----------
    path : str or Path
        The bundle folder.
    verify : bool, default True
        Check every file against the manifest first (:func:`verify_bundle`).

    Returns
    -------
    AuditResult

    Raises
    ------
    BundleError
        When the bundle is missing, altered (with ``verify``), its manifest or its result is
        malformed: one line naming the file and the problem.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"Bundle '{path}' does not exist or is not a folder.")
    if verify:
        require_intact(path)
    file = path / RESULT
    try:
        if not file.is_file():
            raise BundleError(f"Bundle '{path}': {RESULT} is missing.")
        size = file.stat().st_size
        if size > MAX_RESULT_BYTES:
            raise BundleError(
                f"Bundle '{path}': {RESULT} is {size:,} bytes; a result is at most 256 MiB."
            )
        raw = file.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise BundleError(
            f"Bundle '{path}': cannot read {RESULT}: {exc.strerror or exc}."
        ) from None
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
            listed = set(_read_manifest(path)["files"])
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
    """Write an audit bundle atomically, replacing an earlier bundle at ``path``.

    Parameters
    ----------
    result : AuditResult
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
        More files (relative names, for example ``lineage/events.jsonl``).

    Returns
    -------
    Path
        The bundle folder.

    Raises
    ------
    BundleError
        When ``path`` cannot take the bundle (see :func:`check_bundle_target`), an extra file
        name is not a relative path inside the bundle, or the folder cannot be written (the
        operating system's reason, one line).
    """
    path = check_bundle_target(path)
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
        _write_files(tmp, files, result)
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
            name = str(path.parent) if name.startswith(str(tmp)) else name  # not our temporary
            where = f" ('{name}')" if name else ""
            raise BundleError(
                f"Cannot write the bundle to '{path}': {exc.strerror or exc}{where}."
            ) from None
        raise
    return path


def _write_files(folder: Path, files: Mapping[str, bytes], result: AuditResult) -> None:
    """Every file and then the manifest into ``folder``, each flushed to disk."""
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
    _write(folder / MANIFEST, _json_bytes(manifest))
    _fsync_dir(folder)
