"""WebSocket ``/api/v1/live``: status after every slot, schedule and job events.

Who may listen (the events carry the house's state, so they get the API's protection):

1. **Origin**: a browser always sends ``Origin``; it must be the page's own (the UI
   served by this server, at whatever address it was opened: :func:`same_origin`) or one
   of the extra origins CORS allows (``--cors-origin``, e.g. the Vite dev server), or the
   handshake is refused (HTTP 403) before anything is sent. Clients that are not
   browsers send no ``Origin`` and go on to step 2.
2. **Token**: the first message must be ``{"type": "auth", "token": "<API token>"}``
   within :data:`AUTH_TIMEOUT_S`. The token is never put in the URL (URLs end up in logs).
   A wrong or missing token closes the socket with code :data:`CLOSE_UNAUTHORIZED`.

Behind Home Assistant's ingress proxy (``serve --ingress-proxy``) only the proxy can
connect, Home Assistant has authenticated the user, and both checks pass
(:func:`~darkstar.web.ingress.ingress_trusted`).

Then the server sends ``{"type": "auth", "data": {"ok": true}}``, the status at once, and
every event the runtime publishes. A client going away is normal and logged at DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Final

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from darkstar.service.runtime import Runtime
from darkstar.service.views import status_view
from darkstar.web.auth import token_matches
from darkstar.web.ingress import ingress_trusted

__all__ = ["AUTH_TIMEOUT_S", "CLOSE_UNAUTHORIZED", "router", "same_origin"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

AUTH_TIMEOUT_S: Final = 10.0
"""How long a new socket may take to send its auth message [s]."""

CLOSE_UNAUTHORIZED: Final = 4401
"""Close code for a missing or wrong token (4000-4999 are the application's)."""

_CLOSE_POLICY: Final = 1008  # policy violation: a refused Origin

# what a closed or closing connection raises when written to (uvicorn's ClientDisconnected
# is an OSError; Starlette raises RuntimeError once a close was sent)
_GONE = (WebSocketDisconnect, OSError, RuntimeError)


def same_origin(origin: str, host: str | None) -> bool:
    """Return whether ``origin`` is the page's own: ``http(s)://`` + the request's ``Host``.

    A page served by this server connects back to the address it was loaded from, so
    its ``Origin`` names the same host and port the browser put in ``Host``; a page of
    another site names its own. (The token is still required: a page on a name that
    resolves to this server gets no further without it.)

    Examples
    --------
    >>> same_origin("http://192.168.1.50:8000", "192.168.1.50:8000")
    True
    >>> same_origin("https://NAS.local", "nas.local")
    True
    >>> same_origin("http://evil.example", "192.168.1.50:8000")
    False
    >>> same_origin("null", "192.168.1.50:8000"), same_origin("http://a:1", None)
    (False, False)
    """
    if not host:
        return False
    scheme, _, netloc = origin.partition("://")
    return scheme.lower() in {"http", "https"} and netloc.lower() == host.strip().lower()


def _origin_allowed(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    return (
        origin is None
        or origin in websocket.app.state.origins
        or same_origin(origin, websocket.headers.get("host"))
        or ingress_trusted(websocket)
    )


async def _authenticate(websocket: WebSocket) -> bool:
    """Read the first message and check its token."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        message = json.loads(text)
    except (TimeoutError, ValueError, KeyError):
        return False
    if not isinstance(message, dict) or message.get("type") != "auth":
        return False
    token = message.get("token")
    if not isinstance(token, str):
        return False
    return token_matches(websocket.app.state.token, f"Bearer {token}")


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    """Check Origin and token, then send the status and every event as JSON text."""
    if not _origin_allowed(websocket):
        logger.warning("live: refused Origin %s", websocket.headers.get("origin"))
        await websocket.close(code=_CLOSE_POLICY)  # before accept: an HTTP 403
        return
    await websocket.accept()
    runtime: Runtime = websocket.app.state.runtime
    queue: asyncio.Queue[str] | None = None
    try:
        if not (ingress_trusted(websocket) or await _authenticate(websocket)):
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing or invalid token")
            return
        queue = runtime.subscribe()
        await websocket.send_text(json.dumps({"type": "auth", "data": {"ok": True}}))
        first = await asyncio.to_thread(status_view, runtime)
        await websocket.send_text(json.dumps({"type": "status", "data": first}))
        await _forward(websocket, queue)
    except _GONE:
        logger.debug("live: client went away")
    finally:
        if queue is not None:
            runtime.unsubscribe(queue)
        with contextlib.suppress(*_GONE):
            await websocket.close()


async def _forward(websocket: WebSocket, queue: asyncio.Queue[str]) -> None:
    """Send queued events until the client goes away."""
    receiver = asyncio.create_task(_drain(websocket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_text(getter.result())
            else:
                getter.cancel()
    finally:
        receiver.cancel()


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client goes away."""
    with contextlib.suppress(*_GONE):
        while True:
            await websocket.receive_text()
