"""The real server in its own process under faults: kill -9 restarts, WebSocket clients leaving.

Regression tests of issue 9, findings 5 (history duplicated by restarts), 6 (the live
socket open to anyone) and 9 (a disconnect logged as an ERROR traceback).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
import urllib.request
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from darkstar.web.process import running_server

if TYPE_CHECKING:
    from pathlib import Path

KILLS = 5


def _socket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/api/v1/live"


def test_five_kill_9_restarts_leave_no_duplicated_history(tmp_path: Path) -> None:
    sim_times = []
    for _ in range(KILLS):
        with running_server(tmp_path, warmup_hours=2, speed=3600) as server:
            time.sleep(1.5)  # a few slots at a slot per 0.25 s
            with urllib.request.urlopen(f"{server.base_url}/api/v1/health") as reply:
                sim_times.append(datetime.fromisoformat(json.load(reply)["sim_time"]))
            os.kill(server.pid, signal.SIGKILL)
    with sqlite3.connect(tmp_path / "planner_learning.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        ticks, tick_times, tick_slots = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT at_utc), COUNT(DISTINCT slot_start_utc) "
            "FROM execution_log"
        ).fetchone()
        plans, plan_times = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT planned_at) FROM plans"
        ).fetchone()
        observations = db.execute("SELECT COUNT(*) FROM slot_observations").fetchone()[0]
    # every run went on after the one before instead of replaying it
    assert sim_times == sorted(set(sim_times))
    assert ticks == tick_times == tick_slots
    assert plans == plan_times
    # one observation per executed slot, at most one slot lost per kill (killed mid-step)
    assert ticks - KILLS <= observations <= ticks + KILLS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    with running_server(tmp_path_factory.mktemp("ws"), warmup_hours=1, speed=3600) as running:
        yield running


def test_clients_leaving_the_live_socket_are_not_errors(server) -> None:  # noqa: ANN001
    for _ in range(5):
        with connect(_socket_url(server.base_url), open_timeout=10) as socket:
            socket.send(json.dumps({"type": "auth", "token": server.token}))
            assert json.loads(socket.recv(timeout=10))["type"] == "auth"
            assert json.loads(socket.recv(timeout=10))["type"] == "status"
        # leaving mid-stream: the server was about to send the next status
    with connect(_socket_url(server.base_url), open_timeout=10) as socket:
        socket.send(json.dumps({"type": "auth", "token": server.token}))
        socket.recv(timeout=10)
        socket.close_socket()  # abrupt: no closing handshake
    time.sleep(1.0)  # several events were published to the gone clients
    log = server.log_path.read_text(errors="replace")
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log


def test_live_socket_from_a_foreign_origin_is_refused(server) -> None:  # noqa: ANN001
    with pytest.raises(InvalidStatus) as info:
        connect(
            _socket_url(server.base_url),
            additional_headers={"Origin": "http://evil.example"},
            open_timeout=10,
        )
    assert info.value.response.status_code == 403


def test_live_socket_without_the_token_streams_nothing(server) -> None:  # noqa: ANN001
    with connect(_socket_url(server.base_url), open_timeout=10) as socket:
        socket.send(json.dumps({"type": "auth", "token": "x" * 32}))
        with pytest.raises(ConnectionClosed) as info:
            socket.recv(timeout=10)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4401
