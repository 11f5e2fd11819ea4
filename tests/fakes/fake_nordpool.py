"""A Nord Pool data-portal stand-in on a real local socket, for the real client.

:class:`FakeNordPool` serves ``GET /api/DayAheadPrices`` from replies registered per
``(area, date, currency)`` (the files in ``tests/data/nordpool/``, or built in a test),
answers ``204`` for a day it does not have (not published), and can be made to fail:
``fail_next(n, status)`` answers the next ``n`` requests with ``status``; ``garbage``
answers a body that is not JSON; ``wrong`` answers JSON with one quarter hour missing (a
day that is not whole); ``delay_s`` holds every answer back that long (a slow server).
Every request's query is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from darkstar.market import delivery_window

DATA = Path(__file__).resolve().parents[1] / "data" / "nordpool"


def reply_file(name: str) -> dict[str, Any]:
    """One reply from ``tests/data/nordpool/``."""
    reply: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return reply


def build_reply(
    area: str, day: date, spot_per_kwh: list[float], *, currency: str = "SEK"
) -> dict[str, Any]:
    """A ``DayAheadPrices`` reply for ``day`` with one price per slot [per kWh].

    The slot length follows from the count: 92/96/100 -> 15 minutes, 23/24/25 -> 1 hour.
    """
    start, end = delivery_window(day)
    step = (end - start) / len(spot_per_kwh)
    if step not in {timedelta(minutes=15), timedelta(hours=1)}:
        msg = f"{len(spot_per_kwh)} prices do not divide {day} into 15- or 60-minute slots"
        raise ValueError(msg)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "deliveryDateCET": day.isoformat(),
        "version": 1,
        "updatedAt": (start - timedelta(hours=11)).strftime(iso),
        "deliveryAreas": [area],
        "market": "DayAhead",
        "multiAreaEntries": [
            {
                "deliveryStart": (start + i * step).strftime(iso),
                "deliveryEnd": (start + (i + 1) * step).strftime(iso),
                "entryPerArea": {area: round(price * 1000, 6)},
            }
            for i, price in enumerate(spot_per_kwh)
        ],
        "currency": currency,
        "areaStates": [{"state": "Final", "areas": [area]}],
    }


class FakeNordPool:
    """Serve registered day-ahead replies on ``http://127.0.0.1:<port>/api``."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.failures: list[int] = []
        self.garbage = False
        self.wrong = False
        self.delay_s = 0.0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = fake._answer(self.path)
                if fake.delay_s > 0:
                    time.sleep(fake.delay_s)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The API root to put in ``prices.nordpool_url``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    def add(self, reply: dict[str, Any], *, currency: str | None = None) -> None:
        """Serve ``reply`` for its area and delivery day (in ``currency``, default its own)."""
        key = (reply["deliveryAreas"][0], reply["deliveryDateCET"], currency or reply["currency"])
        self.replies[key] = reply

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status``."""
        with self._lock:
            self.failures.extend([status] * count)

    def _answer(self, path: str) -> tuple[int, bytes]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(query)
            self.paths.append(parts.path)
            failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            return failure, b'{"message": "injected failure"}'
        if parts.path != "/api/DayAheadPrices":
            return 404, b'{"message": "not found"}'
        if self.garbage:
            return 200, b"<html>maintenance</html>"
        key = (query.get("deliveryArea", ""), query.get("date", ""), query.get("currency", ""))
        reply = self.replies.get(key)
        if reply is None:
            return 204, b""
        if self.wrong:
            entries = reply["multiAreaEntries"]
            reply = {**reply, "multiAreaEntries": entries[:10] + entries[11:]}
        return 200, json.dumps(reply).encode()

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
