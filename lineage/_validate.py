"""Offline validation of OpenLineage events: the core schema *and* every facet's own schema.

The core OpenLineage schema does not look inside facets: a facet is any object with
``_producer`` and ``_schemaURL``. So each facet is validated separately against the schema its
``_schemaURL`` names, resolved to a local copy of the published schemas
(``https://openlineage.io/spec/<path>`` → ``<spec_dir>/<path>``). Nothing is fetched from the
network.

Two modes:

- **strict** (for fairtrail's own events): the event names its ``schemaURL`` and every facet
  names a schema that resolves locally and conforms to it.
- **lenient** (for third-party events): facets whose schema is not available locally (vendor
  or custom facets) are listed as skipped rather than as errors, and an event without
  ``schemaURL`` is checked against the newest core schema available.

In both modes formats are checked (``date-time`` with its time zone, ``uri``, ``uuid``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from audit import FairtrailError
from lineage._facets import FAIRTRAIL_SPEC_PREFIX, SPEC_DIR

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = [
    "LineageError",
    "Problem",
    "SchemaStore",
    "ValidationReport",
    "read_events",
    "validate_events",
]

#: Where the published OpenLineage schemas live online; mapped to a local folder.
SPEC_PREFIX = "https://openlineage.io/spec/"
_VERSION = re.compile(r"^(\d+)-(\d+)-(\d+)$")
#: Where facets sit in an event: (path to a facets object, whether it is a list of datasets).
_FACET_PLACES = (
    (("run", "facets"), False),
    (("job", "facets"), False),
    (("dataset", "facets"), False),
    (("inputs",), True),
    (("outputs",), True),
)
_DATASET_FACET_KEYS = ("facets", "inputFacets", "outputFacets")


class LineageError(FairtrailError):
    """A lineage file or schema folder cannot be used (missing, unreadable, not JSON)."""


@dataclass(frozen=True)
class Problem:
    """One reason an event does not conform."""

    event: int  # 0-based position in the file
    location: str  # where in the event, e.g. "outputs[0].facets.schema.fields[1].name"
    message: str

    def __str__(self) -> str:
        return f"event {self.event + 1}, {self.location or 'event'}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a sequence of events."""

    n_events: int
    n_facets: int
    problems: tuple[Problem, ...]
    skipped: tuple[Problem, ...] = ()  # lenient mode: facets whose schema is not available

    @property
    def valid(self) -> bool:
        """True when no event has a problem."""
        return not self.problems


@dataclass
class SchemaStore:
    """Local copies of JSON Schemas, addressed by their published URLs.

    Parameters
    ----------
    spec_dir : Path
        A folder laid out like ``https://openlineage.io/spec/``: ``2-0-2/OpenLineage.json``,
        ``facets/1-0-0/SchemaDatasetFacet.json`` and so on.
    extra : mapping of str to Path
        More URL prefixes and the folders they map to (for custom facet schemas).
        fairtrail's own facet schemas (:data:`~lineage.FAIRTRAIL_SPEC_PREFIX`, shipped in the
        package) are always included.
    """

    spec_dir: Path
    extra: Mapping[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spec_dir = Path(self.spec_dir)
        if not self.spec_dir.is_dir():
            raise LineageError(
                f"OpenLineage spec folder '{self.spec_dir}' does not exist: pass the folder "
                "holding the published schemas (e.g. 2-0-2/OpenLineage.json)."
            )
        self._documents: dict[str, Any] = {}

    def _path(self, url: str) -> Path | None:
        roots = {
            SPEC_PREFIX: self.spec_dir,
            FAIRTRAIL_SPEC_PREFIX: SPEC_DIR,
            **{k: Path(v) for k, v in self.extra.items()},
        }
        for prefix, root in roots.items():
            if url.startswith(prefix):
                path = (root / url[len(prefix) :]).resolve()
                if root.resolve() in path.parents:  # no escaping the folder with ../
                    return path
        return None

    def document(self, url: str) -> Any | None:
        """The schema document at ``url`` (without fragment), or None when not available."""
        if url not in self._documents:
            path = self._path(url)
            if path is None or not path.is_file():
                self._documents[url] = None
            else:
                try:
                    self._documents[url] = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise LineageError(f"Schema '{path}' is not readable JSON: {exc}") from None
        return self._documents[url]

    @cached_property
    def registry(self) -> Registry[Any]:
        def retrieve(uri: str) -> Resource[Any]:
            doc = self.document(uri)
            if doc is None:
                raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
            return Resource.from_contents(doc, default_specification=DRAFT202012)

        return Registry(retrieve=retrieve)  # type: ignore[call-arg]

    def newest_core(self) -> str | None:
        """URL of the newest core schema in the folder (``<x-y-z>/OpenLineage.json``)."""
        versions = []
        for child in self.spec_dir.iterdir():
            m = _VERSION.match(child.name)
            if m and (child / "OpenLineage.json").is_file():
                versions.append((tuple(int(g) for g in m.groups()), child.name))
        if not versions:
            return None
        return f"{SPEC_PREFIX}{max(versions)[1]}/OpenLineage.json"


def _split(url: str) -> tuple[str, str]:
    base, _, fragment = url.partition("#")
    return base, fragment


def _pointer(doc: Any, fragment: str) -> str | None:
    """A JSON pointer fragment that exists in ``doc``; ``definitions`` ↔ ``$defs`` aliased.

    Older clients (Marquez's fixtures among them) write ``#/definitions/RunEvent`` for schemas
    that keep their definitions under ``$defs``.
    """
    candidates = [fragment]
    if fragment.startswith("/definitions/"):
        candidates.append("/$defs/" + fragment[len("/definitions/") :])
    for candidate in candidates:
        node = doc
        ok = True
        for part in candidate.strip("/").split("/") if candidate.strip("/") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                ok = False
                break
        if ok:
            return candidate
    return None


def _location(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _facets(event: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(location, facet name, facet) for every facet of an event."""
    for path, is_list in _FACET_PLACES:
        node: Any = event
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            continue
        if is_list:
            if not isinstance(node, list):
                continue
            for i, dataset in enumerate(node):
                if not isinstance(dataset, dict):
                    continue
                for key in _DATASET_FACET_KEYS:
                    facets = dataset.get(key)
                    if isinstance(facets, dict):
                        for name, facet in facets.items():
                            yield _location([*path, i, key]), name, facet
        elif isinstance(node, dict):
            for name, facet in node.items():
                yield _location(path), name, facet


#: Formats the OpenLineage schemas use; jsonschema checks a format only if its checker imports.
_FORMATS = {"date-time": "rfc3339-validator", "uri": "rfc3986-validator", "uuid": "jsonschema"}


@cache
def _validator_class() -> type[Draft202012Validator]:
    """The 2020-12 validator of jsonschema, imported on first use; needs the format checkers."""
    from jsonschema import Draft202012Validator

    missing = sorted(
        f"{name} (needs {package})"
        for name, package in _FORMATS.items()
        if name not in Draft202012Validator.FORMAT_CHECKER.checkers
    )
    if missing:
        raise LineageError(
            "Cannot check the formats OpenLineage events use: " + ", ".join(missing) + ". "
            "Reinstall fairtrail with its dependencies."
        )
    return Draft202012Validator


def _best_match(errors: Iterable[Any]) -> Any:
    from jsonschema.exceptions import best_match

    return best_match(errors)


def _errors(store: SchemaStore, instance: Any, url: str, where: str, index: int) -> list[Problem]:
    base, fragment = _split(url)
    doc = store.document(base)
    if doc is None:
        return [Problem(index, where, f"schema {base} is not in the local spec folder")]
    if not fragment and not where and isinstance(instance, dict):
        # The core schema is a oneOf of the event types: check the one the event's shape
        # says it is, so that a broken run event is not reported as a missing "dataset".
        kind = (
            "RunEvent"
            if "run" in instance
            else "DatasetEvent"
            if "dataset" in instance
            else "JobEvent"
        )
        if _pointer(doc, "/$defs/" + kind):
            fragment = "/$defs/" + kind
    pointer = _pointer(doc, fragment)
    if pointer is None:
        return [Problem(index, where, f"schema {url} names a fragment that does not exist")]
    schema = {"$ref": f"{base}#{pointer}"} if pointer else {"$ref": base}
    cls = _validator_class()
    validator = cls(schema, registry=store.registry, format_checker=cls.FORMAT_CHECKER)
    try:
        errors = list(validator.iter_errors(instance))
    except Unresolvable as exc:
        return [Problem(index, where, f"schema {url} refers to an unavailable schema: {exc}")]
    problems = []
    for error in errors:
        # For oneOf/anyOf failures name the most relevant branch, not the whole union.
        shown = _best_match(error.context) if error.context else error
        assert shown is not None
        loc = _location([where, *shown.absolute_path]) if where else _location(shown.absolute_path)
        problems.append(Problem(index, loc, shown.message))
    return problems


def validate_events(
    events: Iterable[Mapping[str, Any]], store: SchemaStore, *, strict: bool = True
) -> ValidationReport:
    """Validate OpenLineage events against the core schema and each facet's schema.

    Parameters
    ----------
    events : iterable of dict
        Parsed events.
    store : SchemaStore
        The local schemas.
    strict : bool, default True
        See the module documentation.

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "9-9-9").mkdir()
    >>> core = {"$id": "https://openlineage.io/spec/9-9-9/OpenLineage.json",
    ...         "type": "object", "required": ["eventTime"]}
    >>> _ = (folder / "9-9-9" / "OpenLineage.json").write_text(json.dumps(core))
    >>> url = "https://openlineage.io/spec/9-9-9/OpenLineage.json"
    >>> report = validate_events([{"schemaURL": url}], SchemaStore(folder))
    >>> [str(p) for p in report.problems]
    ["event 1, event: 'eventTime' is a required property"]
    """
    problems: list[Problem] = []
    skipped: list[Problem] = []
    n_events = n_facets = 0
    for index, event in enumerate(events):
        n_events += 1
        if not isinstance(event, dict):
            problems.append(Problem(index, "", "an event must be a JSON object"))
            continue
        url = event.get("schemaURL")
        if not isinstance(url, str):
            if strict:
                problems.append(Problem(index, "schemaURL", "missing: strict mode needs it"))
                continue
            url = store.newest_core()
            if url is None:
                problems.append(Problem(index, "", "no core schema in the spec folder"))
                continue
            # Checked as if it named the newest schema (which requires the field itself).
            event = {**event, "schemaURL": url}
        problems += _errors(store, event, url, "", index)
        for where, name, facet in _facets(event):
            n_facets += 1
            loc = f"{where}.{name}"
            facet_url = facet.get("_schemaURL") if isinstance(facet, dict) else None
            if not isinstance(facet_url, str):
                problems.append(Problem(index, loc, "facet without _schemaURL"))
                continue
            base, fragment = _split(facet_url)
            if store.document(base) is None:
                (problems if strict else skipped).append(
                    Problem(index, loc, f"schema {base} is not in the local spec folder")
                )
                continue
            if not fragment:  # a facet file's own definition, named after the file
                fragment = "/$defs/" + Path(base).stem
            problems += _errors(store, facet, f"{base}#{fragment}", loc, index)
    return ValidationReport(n_events, n_facets, tuple(problems), tuple(skipped))


def read_events(path: str | Path) -> list[Any]:
    """Events from a JSON Lines file (one event per line) or a JSON file (one event or a list).

    Raises
    ------
    LineageError
        The file is missing, is not UTF-8 text, or a line is not JSON (with its line number).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LineageError(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise LineageError(
            f"'{path.name}' is not UTF-8 text (byte {exc.start}): expected OpenLineage events "
            "as JSON Lines or JSON."
        ) from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LineageError(f"'{path.name}' is not valid JSON: {exc}.") from None
        return list(data)
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as exc:
            if number == 1 and stripped.startswith("{"):
                try:  # one pretty-printed event
                    return [json.loads(text)]
                except ValueError:
                    pass
            raise LineageError(f"'{path.name}', line {number} is not valid JSON: {exc}.") from None
    return events
