"""Regression tests of the security and fault review (issue 9), in process.

Each test reproduces one finding; each failed on the main branch before the fix.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from darkstar.backends import open_runtime
from darkstar.service.agent import PlanDraft
from darkstar.service.logbuffer import LogBuffer
from darkstar.service.runtime import Runtime
from darkstar.web.app import create_app
from darkstar.web.auth import load_or_create_token
from darkstar.web.limits import MAX_BODY_BYTES
from darkstar.web.live import CLOSE_UNAUTHORIZED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

API = "/api/v1"
TOKEN = "hardening-token-0123456789abcdef"
ORIGIN = "http://127.0.0.1:8000"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    rt.warm_up(4)
    yield rt
    rt.stop()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime, token=TOKEN, origin=ORIGIN, logs=LogBuffer(), manage_runtime=False)
    with TestClient(app) as test_client:
        yield test_client


def _blocks(runtime: Runtime, n: int = 3) -> list[dict[str, str]]:
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    return [
        {
            "start": (now + timedelta(minutes=30 * i + 15)).isoformat(),
            "end": (now + timedelta(minutes=30 * i + 30)).isoformat(),
            "action": ("charge", "discharge", "hold")[i % 3],
        }
        for i in range(n)
    ]


# --- 1. simulations: token, outside the lock, one at a time -----------------------------
def test_simulate_needs_the_token(client: TestClient, runtime: Runtime) -> None:
    reply = client.post(f"{API}/planning/simulate", json={"blocks": _blocks(runtime)})
    assert reply.status_code == 401


def test_simulate_solves_outside_the_lock_and_one_at_a_time(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    solving, release = threading.Event(), threading.Event()
    real_solve = PlanDraft.solve

    def slow_solve(self: PlanDraft) -> dict[str, object]:
        solving.set()
        assert release.wait(10)
        return real_solve(self)

    monkeypatch.setattr(PlanDraft, "solve", slow_solve)
    replies: list[int] = []
    body = {"blocks": _blocks(runtime, 50)}
    first = threading.Thread(
        target=lambda: replies.append(
            client.post(f"{API}/planning/simulate", json=body, headers=AUTH).status_code
        )
    )
    first.start()
    try:
        assert solving.wait(10)
        # the agent and every reader can take the lock while the simulation solves
        got = runtime.lock.acquire(timeout=1.0)
        assert got, "the simulation holds the runtime lock"
        runtime.lock.release()
        assert client.get(f"{API}/executor").status_code == 200
        busy = client.post(f"{API}/planning/simulate", json=body, headers=AUTH)
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["detail"].startswith("simulation: another simulation is running")
    finally:
        release.set()
        first.join(30)
    assert replies == [200]
    # the slot is free again
    assert client.post(f"{API}/planning/simulate", json=body, headers=AUTH).status_code == 200


# --- 3. deep nesting ----------------------------------------------------------------------
def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"x": value}
    return value


def test_deep_config_value_is_a_422_not_a_500(client: TestClient) -> None:
    for path, method in ((f"{API}/config/validate", "POST"), (f"{API}/config", "PUT")):
        reply = client.request(
            method, path, json={"changes": {"battery.capacity_kwh": _nested(600)}}, headers=AUTH
        )
        assert reply.status_code == 422, (path, reply.text[:200])
        assert reply.json()["detail"] == "JSON nested deeper than 64 levels"


def test_very_deep_body_is_refused_before_parsing(client: TestClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    reply = client.post(
        f"{API}/config/validate",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {"field": "body", "message": "JSON nested deeper than 64 levels"}
    ]


def test_moderately_nested_config_value_is_refused_by_key(client: TestClient) -> None:
    reply = client.post(
        f"{API}/config/validate",
        json={"changes": {"battery.capacity_kwh": _nested(40)}},
        headers=AUTH,
    )
    assert reply.status_code == 200
    assert reply.json()["valid"] is False
    assert reply.json()["errors"][0]["field"] == "battery.capacity_kwh"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00", "0001-01-01T01:00:00"),
        ("9999-12-31T23:00:00", "9999-12-31T23:59:59"),
        ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
    ],
)
def test_blocks_at_the_ends_of_the_calendar_are_a_422(
    client: TestClient, start: str, end: str
) -> None:
    blocks = [{"start": start, "end": end, "action": "hold"}]
    for method, path in (("PUT", "/planning/blocks"), ("POST", "/planning/simulate")):
        reply = client.request(method, f"{API}{path}", json={"blocks": blocks}, headers=AUTH)
        assert reply.status_code == 422, (path, reply.text[:300])
        assert reply.json()["errors"][0]["field"] == "blocks[0].start"


def test_malformed_json_names_the_body(client: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    for body in (b"{not json", b"\xff\xfe" * 10):
        reply = client.post(f"{API}/planning/simulate", content=body, headers=headers)
        assert reply.status_code == 422
        assert reply.json()["errors"][0]["field"] == "body"


# --- 4. an unwritable data folder: refused and not applied; reported ----------------------
def test_unwritable_state_refuses_the_change_and_reports_it(
    client: TestClient, runtime: Runtime
) -> None:
    state = runtime.data_dir / "state.json"
    state.unlink(missing_ok=True)
    state.mkdir()  # a folder in the way: every write of state.json fails, even as root
    try:
        blocks = _blocks(runtime)
        reply = client.put(f"{API}/planning/blocks", json={"blocks": blocks}, headers=AUTH)
        assert reply.status_code == 503
        assert "state.json" in reply.json()["detail"]
        assert reply.json()["detail"].endswith("nothing was changed")
        assert client.get(f"{API}/planning/blocks").json() == {"blocks": []}
        assert runtime.agent.manual_blocks == ()
        for path, body in (
            ("/actions", {"action": "charge", "minutes": 30}),
            ("/executor/shadow", {"enabled": True}),
            ("/water/boost", {"minutes": 30}),
            ("/aurora/reflex", {"enabled": True}),
        ):
            assert client.post(f"{API}{path}", json=body, headers=AUTH).status_code == 503, path
        status = client.get(f"{API}/status").json()
        assert status["executor"] == {
            "shadow": False,
            "override": None,
            "water_override": None,
            "safe_state": None,
        }
        health = client.get(f"{API}/health").json()
        assert health["status"] == "degraded"
        assert any("state.json" in p for p in health["problems"])
        assert status["problems"] == health["problems"]
        runtime.step()  # still unwritable: still reported
        assert client.get(f"{API}/health").json()["status"] == "degraded"
    finally:
        state.rmdir()
    runtime.step()  # the next step finds the folder writable again
    assert client.get(f"{API}/health").json()["problems"] == []
    reply = client.put(f"{API}/planning/blocks", json={"blocks": blocks}, headers=AUTH)
    assert reply.status_code == 200
    assert len(runtime.agent.manual_blocks) == 3
    health = client.get(f"{API}/health").json()
    assert (health["status"], health["problems"]) == ("ok", [])


def test_unwritable_schedule_keeps_the_loop_running_and_is_reported(runtime: Runtime) -> None:
    path = runtime.agent.schedule_path
    path.unlink()
    path.mkdir()  # schedule.json cannot be written
    try:
        runtime.warm_up(4)  # plans once more; the step must not fail
        assert runtime.agent.steps_run == 8
        assert any("schedule.json" in p for p in runtime.problems())
    finally:
        path.rmdir()
    runtime.agent.plan_now()
    assert runtime.problems() == []


def test_user_state_survives_a_restart(tmp_path: Path) -> None:
    first = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    first.warm_up(2)
    first.set_shadow(enabled=True)
    first.set_override("hold", 60)
    blocks = _blocks(first)
    first.save_blocks(blocks)
    first.stop()
    second = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    try:
        assert second.agent.shadow is True
        assert second.override is not None
        assert second.override.kind == "hold"
        assert second.blocks_view() == first.blocks_view()
    finally:
        second.stop()


def test_a_corrupt_state_file_is_kept_aside_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text('{"version": 1, "shadow": "yes"}')
    rt = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    try:
        assert rt.agent.shadow is False
        assert (tmp_path / "state.json.bad").is_file()
        assert any("state.json" in n.message for n in rt.notices)
    finally:
        rt.stop()


# --- 5. no duplicated history after restarts ------------------------------------------------
def test_restarts_resume_without_duplicating_history(tmp_path: Path) -> None:
    ends = []
    for _ in range(3):
        rt = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
        start = rt.agent.house.now
        rt.warm_up(6)
        ends.append((start, rt.agent.house.now))
        rt.stop()
    # each run goes on where the last one stopped
    assert ends[1][0] == ends[0][1]
    assert ends[2][0] == ends[1][1]
    with sqlite3.connect(tmp_path / "planner_learning.db") as db:
        ticks, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT at_utc) FROM execution_log"
        ).fetchone()
        plans, plan_times = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT planned_at) FROM plans"
        ).fetchone()
        observations = db.execute("SELECT COUNT(*) FROM slot_observations").fetchone()[0]
    assert ticks == distinct == 18
    assert observations == 18
    assert plans == plan_times


# --- 6. the live socket: Origin and token ---------------------------------------------------
def test_live_socket_refuses_a_foreign_origin(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect(f"{API}/live", headers={"Origin": "http://evil.example"}),
    ):
        pass
    assert info.value.code == 1008


def test_live_socket_accepts_the_page_at_any_address_it_is_served_at(client: TestClient) -> None:
    """The UI opened at a LAN address (Docker, a Pi): same origin, no --cors-origin."""
    here = {"Origin": "http://192.168.1.50:8000", "Host": "192.168.1.50:8000"}
    with client.websocket_connect(f"{API}/live", headers=here) as socket:
        socket.send_json({"type": "auth", "token": TOKEN})
        assert socket.receive_json() == {"type": "auth", "data": {"ok": True}}
    # another site's page aimed at the same server is still refused
    for origin in ("http://evil.example", "http://192.168.1.50:8001", "file://192.168.1.50:8000"):
        with (
            pytest.raises(WebSocketDisconnect) as info,
            client.websocket_connect(
                f"{API}/live", headers={"Origin": origin, "Host": "192.168.1.50:8000"}
            ),
        ):
            pass
        assert info.value.code == 1008, origin


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "token": "wrong"},
        {"type": "auth"},
        {"type": "hello"},
        "not json",
    ],
)
def test_live_socket_without_the_token_gets_nothing(client: TestClient, first: object) -> None:
    with client.websocket_connect(f"{API}/live", headers={"Origin": ORIGIN}) as socket:
        if isinstance(first, str):
            socket.send_text(first)
        else:
            socket.send_json(first)
        with pytest.raises(WebSocketDisconnect) as info:
            socket.receive_json()
    assert info.value.code == CLOSE_UNAUTHORIZED


def test_live_socket_with_the_token_streams(client: TestClient) -> None:
    with client.websocket_connect(f"{API}/live", headers={"Origin": ORIGIN}) as socket:
        socket.send_json({"type": "auth", "token": TOKEN})
        assert socket.receive_json() == {"type": "auth", "data": {"ok": True}}
        assert socket.receive_json()["type"] == "status"


# --- 7. body size ---------------------------------------------------------------------------
def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    big = json.dumps({"changes": {"x": "a" * (MAX_BODY_BYTES + 10)}})
    reply = client.post(
        f"{API}/config/validate", content=big, headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 413
    assert reply.json()["detail"] == f"request body larger than {MAX_BODY_BYTES} bytes"


def test_oversized_streamed_body_is_refused_with_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 100_000

    reply = client.post(
        f"{API}/config/validate", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert reply.status_code == 413


# --- 10. the token file ----------------------------------------------------------------------
def test_loose_token_file_is_made_private_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "api_token"
    path.write_text("A" * 32 + "\n")
    path.chmod(0o644)
    with caplog.at_level("WARNING"):
        assert load_or_create_token(tmp_path) == "A" * 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert "mode 0644" in caplog.text


@pytest.mark.parametrize("weak", ["x", "short-token", "a" * 23, "spaces in the token here!!"])
def test_weak_token_is_refused(tmp_path: Path, weak: str) -> None:
    path = tmp_path / "api_token"
    path.write_text(weak)
    path.chmod(0o600)
    with pytest.raises(ValueError, match="at least 24 characters"):
        load_or_create_token(tmp_path)


# --- also seen: strict bodies -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/executor/shadow", {"enabled": "yes"}, "enabled"),
        ("/executor/shadow", {"enabled": 1}, "enabled"),
        ("/aurora/reflex", {"enabled": "true"}, "enabled"),
        ("/actions", {"action": "charge", "minutes": "60"}, "minutes"),
        ("/executor/shadow", {"enabled": True, "force": True}, "force"),
        ("/water/boost", {"minutes": 30, "temperature_c": 90}, "temperature_c"),
    ],
)
def test_bodies_are_strict(client: TestClient, path: str, body: object, field: str) -> None:
    reply = client.post(f"{API}{path}", json=body, headers=AUTH)
    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"] == field


def test_health_is_ok_when_nothing_is_wrong(client: TestClient) -> None:
    health = client.get(f"{API}/health").json()
    assert health["status"] == "ok"
    assert health["problems"] == []


def test_config_shadow_mode_forces_shadow_on(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("executor:\n  shadow_mode: true\n")
    rt = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    try:
        assert rt.agent.shadow is True
        rt.set_shadow(enabled=False)
        assert rt.agent.shadow is True
        rt.warm_up(1)
        assert rt.ticks[-1]["applied"] is False
    finally:
        rt.stop()


def test_after_step_hook_gets_the_plan_and_never_breaks_the_loop(runtime: Runtime) -> None:
    seen: list[tuple[str, float]] = []

    def hook(document: object, now: object, cost: float) -> None:
        assert isinstance(document, dict)
        seen.append((document["meta"]["status"], cost))
        raise RuntimeError("the house is gone")  # logged, the loop goes on

    runtime.after_step = hook  # type: ignore[assignment]
    runtime.step()
    runtime.step()
    assert len(seen) == 2
    assert seen[0][0] == "optimal"
    assert runtime.agent.steps_run == 6
