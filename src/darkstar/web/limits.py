"""Request limits at the boundary: body size (``413``) and JSON nesting depth (``422``).

:class:`RequestLimits` is a plain ASGI middleware in front of every route. It reads the
body of a ``POST``/``PUT``/``PATCH``/``DELETE`` before anything parses it:

* a ``Content-Length`` above :data:`MAX_BODY_BYTES` is refused at once, without reading;
* a body that grows past the limit while streaming (chunked) is refused as soon as it does;
* a JSON body nested deeper than :data:`~darkstar.jsonlimits.MAX_JSON_DEPTH` is refused
  with the house error shape, before ``json.loads`` could recurse through it.

The body read is then replayed to the app unchanged. Measured before this existed: a 100 MB
unauthenticated body took the server from 253 to 582 MB and was parsed in full.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from darkstar.jsonlimits import MAX_JSON_DEPTH, json_depth

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "RequestLimits"]

MAX_BODY_BYTES: Final = 1_000_000
"""Largest request body accepted [bytes]; the largest real body (50 manual blocks or a
full config change) is under 20 kB."""

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _reply(send: Send, status: int, detail: str, field: str) -> None:
    """Send a JSON error in the house shape and close the exchange."""
    body = json.dumps({"detail": detail, "errors": [{"field": field, "message": detail}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


class RequestLimits:
    """ASGI middleware refusing oversized and over-nested request bodies.

    Parameters
    ----------
    app : ASGIApp
        The application behind it.
    max_body_bytes : int, default MAX_BODY_BYTES
        Largest accepted body [bytes].
    max_depth : int, default MAX_JSON_DEPTH
        Deepest accepted JSON nesting (objects and arrays).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app, self.max_body_bytes, self.max_depth = app, max_body_bytes, max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body, then pass the request on with the body replayed."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        too_large = f"request body larger than {self.max_body_bytes} bytes"
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _reply(send, 413, too_large, "body")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _reply(send, 413, too_large, "body")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(scope) and json_depth(body) > self.max_depth:
            detail = f"JSON nested deeper than {self.max_depth} levels"
            await _reply(send, 422, detail, "body")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
