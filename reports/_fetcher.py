"""The only way the report renderer reads anything: ``data:`` URLs and the package's assets.

WeasyPrint 70 takes an *instance* of :class:`weasyprint.urls.URLFetcher` as ``url_fetcher=``
and calls its ``fetch(url)``, which must return a ``URLFetcherResponse``. An exception raised
there is logged on the ``weasyprint`` logger and the resource is left out; with
``fail_on_errors=True`` the render stops with ``FatalURLFetchingError`` (a
``BaseException``). :class:`AssetsFetcher` never calls urllib's openers: it parses ``data:``
URLs itself and reads regular files inside one folder, so a report can never open a network
connection, follow a redirect or read a file outside the package, whatever a template or a
label from the data says.

Every other door WeasyPrint has must be given this fetcher too: ``HTML(...)``,
``CSS(...)`` and ``Attachment(...)`` each build an unrestricted default fetcher when none is
passed, and plain paths in ``stylesheets=`` or ``attachments=`` are opened directly. The
renderer passes strings and bytes only.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from reports._weasy import ASSETS, weasyprint_module

weasyprint_module()  # imported once, without its environment warning
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

__all__ = ["AssetsFetcher", "URLRefusedError"]

# A fixed table rather than ``mimetypes`` (whose answers depend on /etc/mime.types);
# WeasyPrint refuses a stylesheet whose type is not text/css.
_CONTENT_TYPES = {
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ttf": "font/ttf",
}


class URLRefusedError(ValueError):
    """A URL the report renderer will not read (it names the URL and why)."""


class AssetsFetcher(URLFetcher):  # type: ignore[misc]
    """Serve ``data:`` URLs and regular files inside ``root``; refuse everything else.

    Parameters
    ----------
    root : Path, default the package's ``reports/assets``
        Resolved once; a file is served only if its own resolved path is inside it (no
        ``..``, no symlink out of it).
    fail_on_errors : bool, default False
        True: a refused URL stops the render (``FatalURLFetchingError``). False: WeasyPrint
        logs it and leaves the resource out.
    max_bytes : int, default 20 MiB
        The largest file or ``data:`` payload served.

    Examples
    --------
    >>> fetcher = AssetsFetcher()
    >>> fetcher.fetch("data:text/plain,hello").read()
    b'hello'
    >>> fetcher.fetch("https://example.com/x.png")
    Traceback (most recent call last):
    ...
    reports._fetcher.URLRefusedError: URL scheme 'https' is not allowed ...
    """

    def __init__(
        self, root: Path = ASSETS, *, fail_on_errors: bool = False, max_bytes: int = 20 * 2**20
    ) -> None:
        super().__init__(
            allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=fail_on_errors
        )
        # No urllib handler is left: even a code path reaching OpenerDirector.open cannot open
        # anything.
        self.handlers: list[Any] = []
        self.handle_open: dict[str, Any] = {}
        self.handle_error: dict[str, Any] = {}
        self.process_request: dict[str, Any] = {}
        self.process_response: dict[str, Any] = {}
        self.root = Path(root).resolve(strict=True)
        self.max_bytes = max_bytes

    def fetch(self, url: Any, headers: Any = None) -> URLFetcherResponse:
        """The resource at ``url``, or :class:`URLRefusedError` saying why not."""
        if not isinstance(url, str):
            raise URLRefusedError(f"A URL must be a string. Got {type(url).__name__}.")
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return self._file(url)
        raise URLRefusedError(
            f"URL scheme {scheme!r} is not allowed (only data: and the report's own assets). "
            f"Got {url[:200]!r}."
        )

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> URLFetcherResponse:
        """Urllib's name for :meth:`fetch` (never opens a connection)."""
        return self.fetch(getattr(url, "full_url", url))

    def _data(self, url: str) -> URLFetcherResponse:
        """``data:[<type>][;base64],<payload>`` (RFC 2397), parsed here."""
        header, comma, payload = url[5:].partition(",")
        if not comma:
            raise URLRefusedError(f"Malformed data: URL (no comma): {url[:80]!r}.")
        params = header.split(";")
        encoded = params[-1].strip().lower() == "base64"
        if encoded:
            params = params[:-1]
        media_type = params[0].strip() or "text/plain"
        try:
            raw = unquote_to_bytes(payload)
            body = base64.b64decode(raw) if encoded else raw
        except (binascii.Error, ValueError) as exc:
            raise URLRefusedError(f"Malformed base64 in a data: URL: {exc}.") from None
        if len(body) > self.max_bytes:
            raise URLRefusedError(f"A data: URL holds {len(body)} bytes; at most {self.max_bytes}.")
        return URLFetcherResponse(url, body, {"Content-Type": media_type})

    def _file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise URLRefusedError(f"A file: URL with a host is not allowed. Got {url!r}.")
        path = unquote(parts.path)
        if "\x00" in path or ".." in path.replace("\\", "/").split("/"):
            raise URLRefusedError(f"A file: URL must not contain '..' or NUL. Got {url!r}.")
        try:
            resolved = Path(url2pathname(path)).resolve(strict=True)
        except (OSError, RuntimeError):
            raise URLRefusedError(f"No such asset: {url!r}.") from None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            raise URLRefusedError(
                f"Only files inside the report's assets ({self.root}) may be read. Got {url!r}."
            )
        # O_NOFOLLOW: a symlink swapped in after resolve() is refused too.
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            body = handle.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            raise URLRefusedError(f"Asset {resolved.name} is larger than {self.max_bytes} bytes.")
        kind = _CONTENT_TYPES.get(resolved.suffix.lower(), "application/octet-stream")
        return URLFetcherResponse(resolved.as_uri(), body, {"Content-Type": kind})
