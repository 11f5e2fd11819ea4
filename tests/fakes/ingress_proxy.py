"""A stand-in for the Supervisor's ingress proxy, on real loopback sockets.

Like Home Assistant's proxy it takes ``/api/hassio_ingress/<id>/...`` from the browser,
forwards ``/...`` with ``X-Ingress-Path: /api/hassio_ingress/<id>`` and connects to the
add-on from one fixed address of its own (here ``127.0.0.2``, bound as the source of
every upstream connection). Each request gets ``Connection: close``, so after the first
request head the bytes are piped both ways unchanged (a WebSocket upgrade included).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

PROXY_SOURCE = "127.0.0.2"
"""The address the proxy connects from (the add-on's ``--ingress-proxy``)."""

_HEAD_END = b"\r\n\r\n"


def _rewrite_head(head: bytes, prefix: str) -> bytes | None:
    """Strip ``prefix`` from the request path and set the ingress and connection headers."""
    lines = head.decode("latin-1").split("\r\n")
    method, path, version = lines[0].split(" ", 2)
    if not (path == prefix or path.startswith(prefix + "/")):
        return None
    inner = path[len(prefix) :] or "/"
    kept = [
        line
        for line in lines[1:]
        if line and line.split(":", 1)[0].strip().lower() not in {"connection", "x-ingress-path"}
    ]
    upgrade = any(line.lower().startswith("upgrade:") for line in kept)
    kept.append("Connection: Upgrade" if upgrade else "Connection: close")
    kept.append(f"X-Ingress-Path: {prefix}")
    return ("\r\n".join([f"{method} {inner} {version}", *kept]) + "\r\n\r\n").encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


class IngressProxy:
    """Serve ``prefix`` on ``127.0.0.1:<port>`` for the add-on at ``upstream_port``."""

    def __init__(self, *, upstream_port: int, prefix: str = "/api/hassio_ingress/t0k3n") -> None:
        self.upstream_port = upstream_port
        self.prefix = prefix
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingress-proxy", daemon=True)

    def __enter__(self) -> IngressProxy:
        self._thread.start()
        if not self._ready.wait(10):
            msg = "ingress proxy did not start"
            raise RuntimeError(msg)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        """The UI's address through the proxy (ends with ``/``)."""
        return f"http://127.0.0.1:{self.port}{self.prefix}/"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            head = await client_r.readuntil(_HEAD_END)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            client_w.close()
            return
        rewritten = _rewrite_head(head, self.prefix)
        if rewritten is None:
            client_w.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await client_w.drain()
            client_w.close()
            return
        upstream_r, upstream_w = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port, local_addr=(PROXY_SOURCE, 0)
        )
        upstream_w.write(rewritten)
        try:
            await asyncio.gather(_pipe(client_r, upstream_w), _pipe(upstream_r, client_w))
        finally:
            for writer in (upstream_w, client_w):
                writer.close()
