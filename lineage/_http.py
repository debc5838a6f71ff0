"""Sending OpenLineage events to an HTTP endpoint (Marquez-compatible), without losing any.

The durable home of fairtrail's lineage is a JSON Lines file (in an audit bundle,
``lineage/events.jsonl``). An HTTP endpoint — ``POST <url>/api/v1/lineage``, one event per
request, the API key as ``Authorization: Bearer <key>`` — is an optional second destination:

- **live**, while an audit runs: :class:`BestEffortHttpTransport`, an OpenLineage transport
  (standalone, or next to a file transport inside openlineage's ``CompositeTransport``) whose
  ``emit`` never raises. It records what happened to each event and stops trying after the
  first failure, so a down or slow endpoint costs one attempt, not one per event;
- **later**: :func:`push_events` sends the events read back from the file, in file order.

Both post through openlineage-python's own ``HttpTransport`` (``requests`` with a urllib3
``Retry`` adapter), so a pushed event's body is byte-for-byte the body the live path would have
sent for it: openlineage's ``Serde`` writes both (keys sorted, null members dropped).

Retries are deliberately narrow: an answer of 429, 502, 503 or 504 is retried
``HttpEndpoint.retries`` times with a short backoff (``Retry-After`` is not obeyed: a server
cannot make an audit wait); a refused connection or a timeout is not retried, because the events
are safe in the file and ``fairtrail lineage push`` sends them when the endpoint is back.

The API key is never written to a log, an error message or a ``repr``; credentials in a URL
(``https://user:secret@host``) are shown as ``***``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urljoin, urlsplit, urlunsplit

from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from openlineage.client.transport.transport import Config, Transport

from lineage._validate import LineageError

if TYPE_CHECKING:
    from openlineage.client.client import Event

__all__ = [
    "BestEffortHttpTransport",
    "Delivery",
    "DeliverySummary",
    "EndpointError",
    "HttpEndpoint",
    "PushReport",
    "push_events",
]

log = logging.getLogger(__name__)
# The summary is how failures are reported; without logging configured, stay quiet
# (no stderr output through logging's last-resort handler, e.g. in the CLI).
log.addHandler(logging.NullHandler())

#: Seconds to wait for the endpoint to accept a connection and then to answer.
DEFAULT_TIMEOUT = 5.0
#: How many times an answer of 429/502/503/504 is retried.
DEFAULT_RETRIES = 2
_BACKOFF_FACTOR = 0.2  # urllib3: no wait before the first retry, then 0.4 s, 0.8 s…
_RETRY_STATUSES = (429, 502, 503, 504)
_BODY_CHARS = 200  # of a failed answer's body, in the reason
_DISABLED = "OPENLINEAGE_DISABLED"
_SETTINGS = {"url", "endpoint", "timeout", "retries", "api_key", "apiKey", "apikey"}


class EndpointError(LineageError, ValueError):
    """An HTTP endpoint's settings cannot be used (URL, timeout, retries, API key)."""


def _redact(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``***@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


@dataclass(frozen=True, repr=False)
class HttpEndpoint:
    """Where and how to send OpenLineage events over HTTP.

    Parameters
    ----------
    url : str
        The server, ``http://`` or ``https://`` with a host, e.g. ``http://localhost:5000``.
    api_key : str or None, default None
        Sent as ``Authorization: Bearer <api_key>``. Never shown by ``repr`` or in messages.
    timeout : float, default 5.0
        Seconds to wait for a connection and then for an answer, per attempt.
    endpoint : str, default "api/v1/lineage"
        The path joined to ``url`` (with :func:`urllib.parse.urljoin`, as openlineage does).
    retries : int, default 2
        How many times an answer of 429, 502, 503 or 504 is retried (short backoff). A refused
        connection or a timeout is never retried.

    Raises
    ------
    EndpointError
        A parameter has the wrong type or value (the message names it).

    Examples
    --------
    >>> endpoint = HttpEndpoint("http://localhost:5000", api_key="s3cret")
    >>> endpoint
    HttpEndpoint(url='http://localhost:5000', api_key='***', timeout=5.0,
                 endpoint='api/v1/lineage', retries=2)
    >>> endpoint.target
    'http://localhost:5000/api/v1/lineage'
    >>> HttpEndpoint("localhost:5000")
    Traceback (most recent call last):
    ...
    lineage._http.EndpointError: The 'url' parameter of HttpEndpoint must be an http or https
    URL with a host, such as 'http://localhost:5000'. Got 'localhost:5000'.
    """

    url: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    endpoint: str = "api/v1/lineage"
    retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not _is_http_url(self.url):
            shown = _redact(self.url) if isinstance(self.url, str) else self.url
            raise EndpointError(
                "The 'url' parameter of HttpEndpoint must be an http or https URL with a host, "
                f"such as 'http://localhost:5000'. Got {shown!r}."
            )
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key):
            raise EndpointError(
                "The 'api_key' parameter of HttpEndpoint must be a non-empty string or None. "
                f"Got {'an empty string' if self.api_key == '' else type(self.api_key).__name__}."
            )
        timeout = self.timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise EndpointError(
                "The 'timeout' parameter of HttpEndpoint must be a positive number of seconds. "
                f"Got {timeout!r}."
            )
        if not isinstance(self.endpoint, str):
            raise EndpointError(
                "The 'endpoint' parameter of HttpEndpoint must be a path such as "
                f"'api/v1/lineage'. Got {self.endpoint!r}."
            )
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise EndpointError(
                "The 'retries' parameter of HttpEndpoint must be an integer >= 0. "
                f"Got {self.retries!r}."
            )

    def __repr__(self) -> str:
        key = None if self.api_key is None else "***"
        return (
            f"HttpEndpoint(url={_redact(self.url)!r}, api_key={key!r}, timeout={self.timeout!r}, "
            f"endpoint={self.endpoint!r}, retries={self.retries!r})"
        )

    @property
    def target(self) -> str:
        """The URL events are posted to, credentials in it shown as ``***``."""
        return _redact(urljoin(self.url.strip(), self.endpoint))

    @classmethod
    def from_env(
        cls,
        url: str | None = None,
        api_key_env: str = "OPENLINEAGE_API_KEY",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> HttpEndpoint | None:
        """The endpoint named by ``url`` or by the environment; None when there is none.

        Reads ``OPENLINEAGE_URL`` when ``url`` is not given, the API key from the variable
        ``api_key_env`` and the path from ``OPENLINEAGE_ENDPOINT`` (as openlineage-python
        does). Empty variables count as unset.

        Parameters
        ----------
        url : str, optional
            Takes precedence over ``OPENLINEAGE_URL``.
        api_key_env : str, default "OPENLINEAGE_API_KEY"
            Name of the environment variable that holds the API key.
        timeout, retries
            As for :class:`HttpEndpoint`.

        Returns
        -------
        HttpEndpoint or None
            None when neither ``url`` nor ``OPENLINEAGE_URL`` names a server.

        Raises
        ------
        EndpointError
            The URL or another setting is invalid.

        Examples
        --------
        >>> HttpEndpoint.from_env("http://localhost:5000", api_key_env="FAIRTRAIL_NO_SUCH_VAR")
        HttpEndpoint(url='http://localhost:5000', api_key=None, timeout=5.0,
                     endpoint='api/v1/lineage', retries=2)
        """
        url = url or os.environ.get("OPENLINEAGE_URL", "").strip() or None
        if url is None:
            return None
        return cls(
            url,
            api_key=os.environ.get(api_key_env) or None,
            timeout=timeout,
            endpoint=os.environ.get("OPENLINEAGE_ENDPOINT") or "api/v1/lineage",
            retries=retries,
        )

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> HttpEndpoint:
        """An endpoint from a transport configuration mapping (openlineage's factory style).

        Keys: ``url`` (required), ``api_key`` (or ``apiKey``), ``timeout``, ``endpoint``,
        ``retries``; ``type`` is ignored.

        Examples
        --------
        >>> HttpEndpoint.from_dict({"type": "lineage.BestEffortHttpTransport",
        ...                         "url": "https://lineage.example.org", "timeout": 2})
        HttpEndpoint(url='https://lineage.example.org', api_key=None, timeout=2,
                     endpoint='api/v1/lineage', retries=2)
        """
        unknown = sorted(set(params) - _SETTINGS - {"type"})
        if unknown:
            raise EndpointError(
                f"Unknown HttpEndpoint settings {unknown}; expected some of "
                "['api_key', 'endpoint', 'retries', 'timeout', 'url']."
            )
        if "url" not in params:
            raise EndpointError("The HttpEndpoint settings need a 'url'. Got none.")
        key = params.get("api_key") or params.get("apiKey") or params.get("apikey")
        timeout = params.get("timeout", DEFAULT_TIMEOUT)
        retries = params.get("retries", DEFAULT_RETRIES)
        try:  # openlineage's environment-variable configuration gives strings
            timeout = float(timeout) if isinstance(timeout, str) else timeout
            retries = int(retries) if isinstance(retries, str) else retries
        except ValueError:
            pass  # the constructor names the parameter and the value
        return cls(
            params["url"],
            api_key=key,
            timeout=timeout,
            endpoint=params.get("endpoint", "api/v1/lineage"),
            retries=retries,
        )


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and url == url.strip()


# ---------------------------------------------------------------------------------------------
# One attempt at one event, through openlineage's HttpTransport


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (cause, context, urllib3 ``reason``, args)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(current.args)
        stack += [e for e in reversed(linked) if isinstance(e, BaseException)]


class _Sender:
    """Posts one event at a time with openlineage's ``HttpTransport``; returns why not."""

    def __init__(self, endpoint: HttpEndpoint) -> None:
        self.endpoint = endpoint
        auth = (
            ApiKeyTokenProvider({"api_key": endpoint.api_key})
            if endpoint.api_key
            else TokenProvider({})
        )
        retry = {
            "total": endpoint.retries,
            "connect": 0,
            "read": 0,
            "other": 0,
            "status": endpoint.retries,
            "status_forcelist": list(_RETRY_STATUSES),
            "allowed_methods": ["POST"],
            "backoff_factor": _BACKOFF_FACTOR,
            "raise_on_status": False,  # hand back the last answer, with its status and body
            "respect_retry_after_header": False,
        }
        config = HttpConfig(
            url=endpoint.url,
            endpoint=endpoint.endpoint,
            timeout=endpoint.timeout,
            auth=auth,
            retry=retry,
        )
        try:
            self._http = HttpTransport(config)
        except ValueError:  # HttpEndpoint checked the URL already; keep openlineage's text out
            raise EndpointError(
                f"openlineage's HttpTransport refused the URL {endpoint.target!r}."
            ) from None

    def send(self, event: Event | Mapping[str, Any]) -> str | None:
        """Post ``event``; None when the endpoint accepted it (2xx), else the reason."""
        try:
            # HttpTransport.emit serializes with Serde.to_json, which takes plain dicts too.
            response = self._http.emit(cast("Event", event))
        except Exception as exc:  # emit must not raise: every failure becomes a reason
            answer = getattr(exc, "response", None)  # requests' HTTPError for a 4xx/5xx
            if getattr(answer, "status_code", None) is not None:
                return self._scrub(_status_reason(answer))
            return self._scrub(self._reason(exc))
        if not 200 <= response.status_code < 300:
            return self._scrub(_status_reason(response))
        return None

    def _reason(self, exc: BaseException) -> str:
        chain = list(_chain(exc))
        host = urlsplit(self.endpoint.url).netloc.rpartition("@")[2]
        if any(isinstance(e, TimeoutError) for e in chain):
            return f"no answer from {host} within {self.endpoint.timeout:g} s (timed out)"
        errors = [e for e in chain if isinstance(e, OSError) and e.strerror]
        if errors:
            return f"cannot connect to {host}: {errors[-1].strerror}"
        root = chain[-1]
        return f"{type(root).__name__}: {root}"

    def _scrub(self, text: str) -> str:
        """Never let the key or URL credentials through, even if a server echoes them."""
        url = self.endpoint.url
        text = text.replace(url, _redact(url))
        secrets = [self.endpoint.api_key, urlsplit(url).password]
        for secret in filter(None, secrets):
            text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self._http.close()


def _status_reason(response: Any) -> str:
    body = " ".join(str(getattr(response, "text", "") or "").split())
    if len(body) > _BODY_CHARS:
        body = body[:_BODY_CHARS] + "…"
    phrase = getattr(response, "reason", "") or ""
    head = f"HTTP {response.status_code} {phrase}".rstrip()
    return f"{head}: {body}" if body else head


def _event_field(event: Any, *path: str) -> str | None:
    node = event
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)
    if isinstance(node, Enum):
        node = node.value
    return None if node is None else str(node)


def _disabled() -> bool:
    # The same test openlineage's client and transport factory make.
    return os.getenv(_DISABLED, "").lower().strip() == "true"


# ---------------------------------------------------------------------------------------------
# The live path


@dataclass(frozen=True)
class Delivery:
    """What happened to one event given to :class:`BestEffortHttpTransport`."""

    index: int  # 0-based, in the order the transport received the events
    event_type: str | None  # START, COMPLETE… (None for dataset and job events)
    run_id: str | None
    delivered: bool
    reason: str | None = None  # why it was not delivered


@dataclass(frozen=True)
class DeliverySummary:
    """How many events reached the endpoint, how many did not, and why.

    ``reason`` is the first failure (the one that stopped delivery), or why nothing was sent at
    all (``OPENLINEAGE_DISABLED``); None when every event was delivered.
    """

    target: str
    delivered: int
    failed: int
    reason: str | None = None

    @property
    def complete(self) -> bool:
        """True when every event was delivered and nothing stopped delivery."""
        return self.failed == 0 and self.reason is None

    def __str__(self) -> str:
        total = self.delivered + self.failed
        text = f"{self.delivered} of {total} events delivered to {self.target}"
        return f"{text}; {self.reason}" if self.reason else text


class _EndpointConfig(Config):
    """openlineage's configuration object for :class:`BestEffortHttpTransport`."""

    def __init__(self, endpoint: HttpEndpoint) -> None:
        self.endpoint = endpoint

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> _EndpointConfig:
        return cls(HttpEndpoint.from_dict(params))


class BestEffortHttpTransport(Transport):
    """An OpenLineage transport that tries to post each event and never raises.

    A thin layer over openlineage-python's ``HttpTransport``. Every event's outcome is recorded
    (:attr:`deliveries`, :meth:`summary`). After the first failure of any kind — refused
    connection, timeout, an answer other than 2xx — it stops trying for the rest of its life and
    counts the later events as not sent: a down endpoint costs one attempt, a slow one costs one
    ``timeout``, and the endpoint never holds a later event without an earlier one. Nothing is
    lost as long as a file transport records the same events: ``fairtrail lineage push`` sends
    them all again, in order, once the endpoint is back.

    Use it standalone, or next to a file transport inside openlineage's ``CompositeTransport``
    with the configuration ``{"type": "lineage.BestEffortHttpTransport", "url": ...}`` (keys as
    for :meth:`HttpEndpoint.from_dict`).

    ``OPENLINEAGE_DISABLED=true`` makes openlineage's client and transport factory drop every
    event silently (even an explicitly passed transport never sees them). When the variable is
    set as this transport is created, it sends nothing either, and says so: the summary's reason
    names the variable from the start, and every event it is given counts as not sent.

    Parameters
    ----------
    config : HttpEndpoint
        Where to send the events. (openlineage's transport factory passes the configuration
        object it built from a mapping.)

    Examples
    --------
    >>> transport = BestEffortHttpTransport(HttpEndpoint("http://localhost:5000"))
    >>> transport.summary()
    DeliverySummary(target='http://localhost:5000/api/v1/lineage', delivered=0, failed=0,
                    reason=None)
    >>> transport.close()
    True
    """

    kind = "fairtrail_best_effort_http"
    config_class = _EndpointConfig

    def __init__(self, config: HttpEndpoint | _EndpointConfig) -> None:
        self.endpoint = config.endpoint if isinstance(config, _EndpointConfig) else config
        self._sender = _Sender(self.endpoint)
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._reason: str | None = None
        if _disabled():
            self._reason = (
                f"{_DISABLED}=true is set: nothing is sent over HTTP (openlineage's client drops "
                "every event when it is set)"
            )
            log.warning("OpenLineage HTTP delivery to %s: %s.", self.endpoint.target, self._reason)

    def emit(self, event: Event | Mapping[str, Any]) -> None:
        """Post ``event`` unless delivery has stopped; record the outcome. Never raises."""
        with self._lock:
            index = len(self._deliveries)
            event_type = _event_field(event, "eventType")
            run_id = _event_field(event, "run", "runId")
            reason = None
            if self._reason is not None:
                reason = f"not sent: {self._reason}"
            else:
                failure = self._sender.send(event)
                if failure is not None:
                    self._reason = failure
                    reason = failure
                    log.warning(
                        "OpenLineage HTTP delivery to %s stopped at event %d: %s.",
                        self.endpoint.target,
                        index + 1,
                        failure,
                    )
            self._deliveries.append(
                Delivery(index, event_type, run_id, delivered=reason is None, reason=reason)
            )

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """The outcome of every event so far, in the order they were emitted."""
        with self._lock:
            return tuple(self._deliveries)

    def summary(self) -> DeliverySummary:
        """Counts of delivered and not delivered events, and the first failure's reason."""
        with self._lock:
            delivered = sum(d.delivered for d in self._deliveries)
            failed = len(self._deliveries) - delivered
            return DeliverySummary(self.endpoint.target, delivered, failed, self._reason)

    def close(self, timeout: float = -1) -> bool:
        """Release the HTTP connections. Nothing is queued, so this never waits."""
        self._sender.close()
        return True

    def __enter__(self) -> BestEffortHttpTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# The later path


@dataclass(frozen=True)
class PushReport:
    """The outcome of :func:`push_events`."""

    target: str
    sent: int
    total: int
    failed_at: int | None = None  # 0-based index of the event that failed
    reason: str | None = None

    @property
    def complete(self) -> bool:
        """True when every event was sent."""
        return self.failed_at is None

    def __str__(self) -> str:
        text = f"sent {self.sent} of {self.total} events to {self.target}"
        if self.failed_at is None:
            return text
        return f"{text}; event {self.failed_at + 1} failed: {self.reason}"


def push_events(events: Sequence[Mapping[str, Any]], endpoint: HttpEndpoint) -> PushReport:
    """Send already-serialized OpenLineage events to ``endpoint``, in order, stopping at a failure.

    Each event is posted on its own, in the order given (the order of the file it was read
    from). The first failure — refused connection, timeout, or an answer other than 2xx (the
    reason then carries the status and the start of the body) — stops the push, so the endpoint
    never holds a later event without an earlier one. Pushing again resends from the first
    event: that is safe, because OpenLineage consumers such as Marquez treat an event re-sent
    for the same run as an update of what they hold (an upsert), not as a new run.

    Bodies are written by openlineage's ``Serde``, as on the live path: keys sorted, members
    whose value is null left out. This does not go through ``OpenLineageClient``, so
    ``OPENLINEAGE_DISABLED`` does not apply: a push is an explicit request to send.

    Parameters
    ----------
    events : sequence of dict
        Events as read back from a JSON Lines file (:func:`read_events`).
    endpoint : HttpEndpoint

    Returns
    -------
    PushReport
        ``sent`` events were accepted; ``failed_at`` and ``reason`` say where and why it stopped.

    Raises
    ------
    LineageError
        An event is not a JSON object (checked before anything is sent).

    Examples
    --------
    >>> push_events([], HttpEndpoint("http://localhost:5000"))
    PushReport(target='http://localhost:5000/api/v1/lineage', sent=0, total=0, failed_at=None,
               reason=None)
    """
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise LineageError(
                f"Event {index + 1} is a {type(event).__name__}, not a JSON object; "
                "nothing was sent."
            )
    if not events:
        return PushReport(endpoint.target, 0, 0)
    sender = _Sender(endpoint)
    try:
        for index, event in enumerate(events):
            reason = sender.send(event)
            if reason is not None:
                return PushReport(endpoint.target, index, len(events), index, reason)
    finally:
        sender.close()
    return PushReport(endpoint.target, len(events), len(events))
