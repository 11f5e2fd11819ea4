"""A minimal HTTP/1.1 client on :func:`asyncio.open_connection`, for the loopback benchmarks.

It writes a request line with ``Host`` (and any headers given) and reads the status line,
the headers and ``Content-Length`` body bytes; nothing more (no chunked bodies, no TLS). On
a 2-core machine it costs far less CPU than a full client, so the benchmarks measure the
server rather than themselves. Used by :mod:`darkstar.bench.api` and
:mod:`darkstar.bench.soak`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

__all__ = ["HOST", "ProtocolError", "close_writer", "get_request", "read_response"]

HOST: Final = "127.0.0.1"
"""The loopback address the benchmarked server listens on."""


class ProtocolError(Exception):
    """The server's answer is not one this minimal client can read."""


def get_request(path: str, *, port: int) -> bytes:
    """Return the bytes of a keep-alive ``GET path`` to the loopback server on ``port``."""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode("ascii")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one response; return status, body and whether the server closes.

    Raises
    ------
    ProtocolError
        For a bad status line, a missing ``Content-Length`` or a chunked body.
    asyncio.IncompleteReadError
        When the connection ends inside the response.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0]!r}")
    length, close = None, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding":
            raise ProtocolError(f"transfer-encoding {value.strip()} is not supported")
    if length is None:
        raise ProtocolError("response without Content-Length")
    body = await reader.readexactly(length)
    return int(parts[1]), body, close


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a connection, ignoring a peer that is already gone."""
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
