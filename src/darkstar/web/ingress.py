"""Home Assistant ingress: trust only the ingress proxy, serve the UI under its prefix.

As an add-on, Darkstar sits behind the Supervisor's ingress proxy: Home Assistant has
already authenticated the user, and the proxy forwards ``/api/hassio_ingress/<id>/...`` as
``/...`` from one fixed address (``172.30.32.2``) with the prefix in ``X-Ingress-Path``.
With ``darkstar serve --ingress-proxy ADDRESS``:

* :class:`IngressGuard` refuses every peer but ``ADDRESS`` (HTTP 403, a WebSocket before
  its handshake), so nothing on the add-on network reaches the API around Home Assistant's
  login; the one exception is ``GET /api/v1/health`` from loopback (the container's own
  health check);
* what comes from the proxy needs no API token (the routes and ``/live`` read
  :func:`ingress_trusted`);
* ``index.html`` gets ``<base href="<prefix>/">`` (:func:`with_base_href`), so the UI's
  relative URLs (assets, API, WebSocket, pages) stay under the prefix.
"""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "INGRESS_PATH_HEADER",
    "IngressGuard",
    "base_href_of",
    "ingress_trusted",
    "with_base_href",
]

logger = logging.getLogger(__name__)

INGRESS_PATH_HEADER: Final = "x-ingress-path"
"""Header in which the Supervisor's proxy names the prefix it stripped."""

_LOOPBACK: Final = frozenset({"127.0.0.1", "::1"})
_HEALTH_PATH: Final = "/api/v1/health"  # what a loopback peer may still ask
_BASE_TAG = re.compile(r'<base href="[^"]*"\s*/?>')
# a path of plain segments: nothing a header could smuggle into the HTML
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)+")


class IngressGuard:
    """ASGI middleware: only ``proxy`` may connect (HTTP 403 or WebSocket refusal)."""

    def __init__(self, app: ASGIApp, *, proxy: str) -> None:
        self.app = app
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the proxy's connections on; refuse everyone else's."""
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = None if client is None else client[0]
        health_check = scope["type"] == "http" and scope["path"] == _HEALTH_PATH
        if peer == self.proxy or (health_check and peer in _LOOPBACK):
            await self.app(scope, receive, send)
            return
        logger.warning("ingress: refused %s from %s (only %s)", scope["path"], peer, self.proxy)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"detail":"only Home Assistant\'s ingress proxy may connect"}'
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def ingress_trusted(connection: HTTPConnection) -> bool:
    """Whether this request came through the trusted ingress proxy (no token needed)."""
    proxy: str | None = getattr(connection.app.state, "ingress_proxy", None)
    client = connection.client
    return proxy is not None and client is not None and client.host == proxy


def base_href_of(connection: HTTPConnection) -> str:
    """Return the UI's base path for this request: the ingress prefix and ``/``, or ``/``.

    Only a trusted proxy's ``X-Ingress-Path`` counts, and only a plain path
    (``/api/hassio_ingress/<id>``); anything else is logged and ignored.
    """
    if not ingress_trusted(connection):
        return "/"
    prefix = connection.headers.get(INGRESS_PATH_HEADER, "").rstrip("/")
    if not prefix:
        return "/"
    if _PREFIX.fullmatch(prefix) is None:
        logger.warning("ingress: ignored %s %r (not a plain path)", INGRESS_PATH_HEADER, prefix)
        return "/"
    return prefix + "/"


def with_base_href(page: str, base: str) -> str:
    """Set ``<base href>`` of the built ``index.html`` to ``base`` (the tag is in the source).

    Examples
    --------
    >>> with_base_href('<head><base href="/" /></head>', "/api/hassio_ingress/x/")
    '<head><base href="/api/hassio_ingress/x/" /></head>'
    """
    tag = f'<base href="{html.escape(base, quote=True)}" />'
    return _BASE_TAG.sub(tag, page, count=1)
