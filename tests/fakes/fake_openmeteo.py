"""An Open-Meteo stand-in on a real local socket, for the real client.

:class:`FakeOpenMeteo` answers ``GET /v1/forecast`` with queued :class:`Reply` objects (the
last one repeats), each with a status, a body and an optional delay; every request's path
and query are recorded. The replies in ``tests/data/openmeteo/`` are built in Open-Meteo's
documented format by ``make_openmeteo_replies.py``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parents[1] / "data" / "openmeteo"


def load_reply(name: str) -> dict[str, Any]:
    """One reply from ``tests/data/openmeteo/``."""
    reply: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return reply


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    delay_s: float = 0.0


def ok(payload: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(payload, ensure_ascii=False).encode())


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]


class _Server(ThreadingHTTPServer):
    fake: FakeOpenMeteo

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hung up early (the timeout test does that)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        with fake.lock:
            fake.requests.append(Request(url.path, parse_qs(url.query)))
            reply = fake.replies.pop(0) if len(fake.replies) > 1 else fake.replies[0]
        time.sleep(reply.delay_s)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


class FakeOpenMeteo:
    """Answers each GET with the next scripted :class:`Reply`; the last one repeats."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [ok(load_reply("minutely_15_day.json"))]
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
