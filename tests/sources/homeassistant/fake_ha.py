"""A fake Home Assistant that replays recorded replies over real HTTP and WebSocket.

:class:`FakeHomeAssistant` is a small ASGI app served by uvicorn on 127.0.0.1 in a thread:
REST under ``/api`` and the WebSocket API at ``/api/websocket`` on one port, as HA has.
Its replies are the fixtures in ``tests/data/homeassistant/`` (made from HA's own code by
``make_fixtures.py``); it records every request so tests can check what the adapter sent.
The clients under test are the real ones: nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from darkstar.sources.homeassistant import HomeAssistantConnection

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

DATA = Path(__file__).resolve().parents[2] / "data" / "homeassistant"
TOKEN = "good-token"


def fixture(name: str) -> Any:
    """Return one recorded reply file."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_until(check: Callable[[], bool], *, timeout_s: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        time.sleep(0.01)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    authorization: str | None
    body: Any


def _reply(name: str) -> Response:
    recorded = fixture(name)
    if "text" in recorded:  # aiohttp's HTTPException bodies are text/plain
        return PlainTextResponse(recorded["text"], status_code=recorded["status"])
    return JSONResponse(recorded["body"], status_code=recorded["status"])


class FakeHomeAssistant:
    """Recorded Home Assistant replies on a real socket; restartable on the same port.

    Parameters
    ----------
    silent : bool
        Authenticate WebSocket clients, then never answer a command.
    """

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.without_recorder = False
        self.port = free_port()
        self.requests: list[Recorded] = []
        self.ws_commands: list[dict[str, Any]] = []
        self.ws_connections = 0
        self._subscriptions: list[tuple[WebSocket, int]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/api/", self._api),
                Route("/api/states", self._states),
                Route("/api/states/{entity_id}", self._state),
                Route("/api/services/{domain}/{service}", self._service, methods=["POST"]),
                Route("/api/history/period/{start:path}", self._history),
                WebSocketRoute("/api/websocket", self._websocket),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self, *, token: str = TOKEN, timeout_s: float = 5.0) -> HomeAssistantConnection:
        return HomeAssistantConnection(self.url, token, timeout_s=timeout_s)

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            loop="asyncio",
            ws="websockets-sansio",
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_until(lambda: self._server is not None and self._server.started, what="uvicorn")

    def stop(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()
        self._subscriptions.clear()

    def restart(self) -> None:
        """Stop (closing every WebSocket, as HA does on restart) and start on the same port."""
        self.stop()
        self.start()

    # ---- test helpers -------------------------------------------------------------------

    @property
    def subscription_count(self) -> int:
        return sum(1 for c in self.ws_commands if c["type"] == "subscribe_entities")

    def push(self, event: dict[str, Any]) -> None:
        """Send ``event`` to every live ``subscribe_entities`` subscription."""
        assert self._loop is not None

        async def send() -> None:
            for websocket, message_id in list(self._subscriptions):
                await websocket.send_json({"type": "event", "event": event, "id": message_id})

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=5)

    # ---- REST ---------------------------------------------------------------------------

    async def _record(self, request: Request) -> bool:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                request.headers.get("authorization"),
                body,
            )
        )
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def _api(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        return _reply("api_running.json")

    async def _states(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        return _reply("states.json")

    async def _state(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        if request.path_params["entity_id"] == "sensor.pv_power":
            return _reply("state_pv_power.json")
        return _reply("entity_not_found.json")

    async def _service(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        if (request.path_params["domain"], request.path_params["service"]) == (
            "input_number",
            "set_value",
        ):
            return _reply("service_set_value.json")
        return _reply("service_bad_request.json")

    async def _history(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        return _reply("history.json")

    # ---- WebSocket ----------------------------------------------------------------------

    async def _websocket(self, websocket: WebSocket) -> None:
        self._loop = asyncio.get_running_loop()
        auth = fixture("ws_auth.json")
        await websocket.accept()
        self.ws_connections += 1
        await websocket.send_json(auth["auth_required"])
        message = await websocket.receive_json()
        if message != {"type": "auth", "access_token": TOKEN}:
            await websocket.send_json(auth["auth_invalid"])
            await websocket.close()
            return
        await websocket.send_json(auth["auth_ok"])
        try:
            while True:
                command = await websocket.receive_json()
                self.ws_commands.append(command)
                if not self.silent:
                    await self._answer(websocket, command)
        except WebSocketDisconnect:
            pass
        finally:
            self._subscriptions[:] = [s for s in self._subscriptions if s[0] is not websocket]

    async def _answer(self, websocket: WebSocket, command: dict[str, Any]) -> None:
        message_id, kind = command["id"], command["type"]
        if kind == "subscribe_entities":
            recorded = fixture("ws_subscribe_entities.json")
            await websocket.send_json({"id": message_id, **recorded["result"]})
            await websocket.send_json(
                {"type": "event", "event": recorded["initial"], "id": message_id}
            )
            self._subscriptions.append((websocket, message_id))
        elif kind == "unsubscribe_events":
            self._subscriptions[:] = [
                s for s in self._subscriptions if s[1] != command["subscription"]
            ]
            await websocket.send_json(
                {"id": message_id, "type": "result", "success": True, "result": None}
            )
        elif kind.startswith("recorder/") and self.without_recorder:
            await websocket.send_json(
                {"id": message_id, **fixture("ws_statistics.json")["unknown_command"]}
            )
        elif kind == "recorder/get_statistics_metadata":
            await websocket.send_json(
                {"id": message_id, **fixture("ws_statistics.json")["metadata_result"]}
            )
        elif kind == "recorder/statistics_during_period":
            await websocket.send_json(
                {"id": message_id, **fixture("ws_statistics.json")["statistics_result"]}
            )
        elif kind == "get_states":
            await websocket.send_json({"id": message_id, **fixture("ws_get_states.json")["result"]})
        else:
            await websocket.send_json(
                {"id": message_id, **fixture("ws_statistics.json")["unknown_command"]}
            )
