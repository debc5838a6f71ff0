"""A real OpenLineage HTTP receiver on loopback, for tests: ``POST /api/v1/lineage``.

``with Receiver() as receiver:`` serves on ``127.0.0.1`` at a free port (``receiver.url``) from
a daemon thread, like Marquez: 201 for a JSON object, 400 for anything else, 404 for other
paths. Every request is recorded (:attr:`Receiver.requests`); the accepted events, in order of
arrival, are :attr:`Receiver.events`. Behaviours switch by setting attributes, even while it
runs:

- ``status = 500`` (or 503…): answer every lineage request with that status; with
  ``fail_after = n`` too, only once ``n`` events were accepted;
- ``hang = 5.0``: wait that long before answering (a slow endpoint); leaving the ``with``
  block releases waiting requests at once, so no test waits for the hang;
- ``api_key = "k"``: answer 401 unless the request carries ``Authorization: Bearer k``.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Receiver", "Request", "dead_url"]

PATH = "/api/v1/lineage"


@dataclass(frozen=True)
class Request:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (or would have, for a hung request)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads: no socket outlives it
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, event = receiver._answer(self.path, dict(self.headers.items()), body)
        receiver._record(Request("POST", self.path, dict(self.headers.items()), body, status))
        if receiver.hang and receiver._released.wait(receiver.hang):
            return  # released by close(): the client has long given up
        if event is not None:
            receiver._accept(event)
        payload = b"" if event is not None else json.dumps({"code": status}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def do_GET(self) -> None:
        self.send_error(404 if self.path != PATH else 405)


class Receiver:
    """A Marquez-like lineage endpoint on loopback; use as a context manager."""

    def __init__(
        self,
        *,
        status: int | None = None,
        fail_after: int | None = None,
        hang: float = 0.0,
        api_key: str | None = None,
    ) -> None:
        self.status = status
        self.fail_after = fail_after
        self.hang = hang
        self.api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._events: list[Any] = []
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the server to give a client."""
        assert self._server is not None, "the receiver is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[Request]:
        """Every request received, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def events(self) -> list[Any]:
        """The bodies answered with 201, parsed, in order of arrival."""
        with self._lock:
            return list(self._events)

    def __enter__(self) -> Receiver:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._released.set()
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """(status, the event when it is to be accepted)."""
        if path != PATH:
            return 404, None
        if self.api_key is not None and headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, None
        if self.status is not None:
            with self._lock:
                accepted = len(self._events)
            if self.fail_after is None or accepted >= self.fail_after:
                return self.status, None
        try:
            event = json.loads(body)
        except ValueError:
            return 400, None
        return (201, event) if isinstance(event, dict) else (400, None)

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _accept(self, event: Any) -> None:
        with self._lock:
            self._events.append(event)


def dead_url() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens (a port just bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
