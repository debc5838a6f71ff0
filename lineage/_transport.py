"""Where events go: a JSON Lines file (the default, durable) or a list in memory (tests, bundles).

Both are openlineage-python ``Transport`` subclasses, so they also work inside its
``CompositeTransport`` next to an HTTP transport. Both refuse an event that the client could
not serialise (numpy values come out as ``"<<non-serializable…>>"`` strings, NaN as the
invalid token ``NaN``) instead of writing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from openlineage.client.serde import Serde
from openlineage.client.transport.transport import Transport

from lineage._validate import LineageError

__all__ = [
    "JsonlFileTransport",
    "RecordingTransport",
    "TeeTransport",
    "event_to_dict",
    "events_to_jsonl",
]


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _refuse_object(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def event_to_dict(event: Any) -> dict[str, Any]:
    """An event as the JSON object it is sent as; refuses values that do not serialise.

    An attrs event (``event_v2.RunEvent``) is converted as the OpenLineage client converts it
    (``Serde.to_dict``: nulls dropped, enums as values), but a value the client would write
    as a ``"<<non-serializable…>>"`` string is refused instead. Only values are judged, so a
    column or dataset whose *name* reads like that placeholder is recorded as it is.

    Raises
    ------
    LineageError
        When a facet holds a value JSON cannot write (a numpy scalar other than ``int64`` or
        ``float64``, NaN or infinity).

    Examples
    --------
    >>> event_to_dict({"eventType": "START", "name": "<<non-serializable: x>>"})["name"]
    '<<non-serializable: x>>'
    """
    try:
        data = event if isinstance(event, dict) else Serde.to_dict(event)
        text = json.dumps(data, default=_refuse_object, sort_keys=not isinstance(event, dict))
    except TypeError as exc:  # a numpy value, or another object JSON cannot write
        raise LineageError(
            f"An OpenLineage event holds a value that does not serialise: {exc}"
        ) from None
    try:
        parsed: dict[str, Any] = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise LineageError(
            f"An OpenLineage event holds a number JSON cannot represent ({exc}); "
            "undefined values must be left out."
        ) from None
    return parsed


def _jsonl_line(event: dict[str, Any]) -> str:
    """One compact JSON line; text that is not valid Unicode (lone surrogates) is escaped."""
    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # e.g. a column name with a lone surrogate, from a DataFrame
        line = json.dumps(event, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return line + "\n"


def events_to_jsonl(events: list[dict[str, Any]]) -> bytes:
    r"""Events as JSON Lines bytes (one compact event per line, UTF-8).

    Text is written as itself, except in an event holding text that is not valid Unicode (a
    lone surrogate, which UTF-8 cannot encode): that event's non-ASCII text is escaped
    (``\udc80``), which JSON readers turn back into the same text.

    Examples
    --------
    >>> events_to_jsonl([{"name": "é"}])
    b'{"name":"\xc3\xa9"}\n'
    >>> line = events_to_jsonl([{"name": "\udc80"}])
    >>> line
    b'{"name":"\\udc80"}\n'
    >>> json.loads(line) == {"name": "\udc80"}
    True
    """
    return "".join(_jsonl_line(e) for e in events).encode("utf-8")


class RecordingTransport(Transport):
    """Keeps every event, as a dict, in :attr:`events`.

    Examples
    --------
    >>> t = RecordingTransport()
    >>> t.emit({"eventType": "START"})
    >>> t.events
    [{'eventType': 'START'}]
    """

    kind = "fairtrail_recording"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: Any) -> None:
        """Record ``event``."""
        self.events.append(event_to_dict(event))


class JsonlFileTransport(Transport):
    r"""Appends each event as one line to a JSON Lines file, flushed to disk before returning.

    A crash loses at most the event being written; every earlier line is complete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lineage" / "events.jsonl"
    >>> JsonlFileTransport(path).emit({"eventType": "START"})
    >>> path.read_text().splitlines()
    ['{"eventType":"START"}']
    """

    kind = "fairtrail_jsonl"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def emit(self, event: Any) -> None:
        """Append ``event`` and fsync."""
        line = events_to_jsonl([event_to_dict(event)])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


class TeeTransport(Transport):
    """Sends each event to several transports in order (the first should be the durable one).

    An error of any transport propagates: give best-effort transports (such as the HTTP one)
    that record their failures instead of raising.

    Examples
    --------
    >>> a, b = RecordingTransport(), RecordingTransport()
    >>> TeeTransport(a, b).emit({"eventType": "START"})
    >>> a.events == b.events == [{"eventType": "START"}]
    True
    """

    kind = "fairtrail_tee"

    def __init__(self, *transports: Transport) -> None:
        if not transports:
            raise ValueError("TeeTransport needs at least one transport.")
        self.transports = transports

    def emit(self, event: Any) -> None:
        """Send ``event`` to every transport."""
        for transport in self.transports:
            transport.emit(event)

    def close(self, timeout: float = -1) -> bool:
        """Close every transport; True when all closed cleanly."""
        return all([t.close(timeout) for t in self.transports])
