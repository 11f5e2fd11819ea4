"""The HTTP API on a real runtime (simulated home, real planner, real SQLite store)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from darkstar.service.runtime import Runtime
from darkstar.web.auth import load_or_create_token, token_matches

ORIGIN = "http://127.0.0.1:8000"

API = "/api/v1"


def _state_changing_routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get(f"{API}/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"post", "put", "delete"}
    ]


def test_every_route_has_a_response_model(client: TestClient) -> None:
    spec = client.get(f"{API}/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            ok = operation["responses"].get("200") or operation["responses"].get("202")
            assert ok is not None, f"{method} {path}"
            assert "$ref" in json.dumps(ok), f"{method} {path} has no response model"


def test_state_changing_calls_without_the_token_are_refused(client: TestClient) -> None:
    routes = _state_changing_routes(client)
    assert len(routes) >= 10  # the list is read from the spec: a new route is covered too
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            reply = client.request(method, path.replace("{job_id}", "x"), headers=headers, json={})
            assert reply.status_code == 401, (method, path, headers)
            assert reply.json() == {"detail": "missing or invalid token", "errors": []}


def test_status_describes_the_house_now(client: TestClient, runtime: Runtime) -> None:
    body = client.get(f"{API}/status").json()
    assert body["timezone"] == "Europe/Stockholm"
    assert body["now"] == runtime.agent.house.now.astimezone(runtime.agent.tz).isoformat()
    assert 0 <= body["soc_percent"] <= 100
    assert body["plan"]["status"] == "optimal"
    assert body["s_index"]["load_factor"] == pytest.approx(1.1)
    assert body["executor"] == {
        "shadow": False,
        "override": None,
        "water_override": None,
        "safe_state": None,
    }
    # where the plan's inputs came from, in words (simulated home: replayed prices)
    names = [row["name"] for row in body["inputs"]]
    assert names == ["Prices", "Forecasts"]
    prices = body["inputs"][0]
    assert prices["source"].startswith("replayed day-ahead prices")
    assert prices["detail"].startswith("known until ")
    assert prices["fault"] is None
    # no car and no capacity tariff in the default home
    assert body["ev"] is None
    assert body["capacity_tariff"] is None


def test_schedule_is_the_written_schedule_json(client: TestClient, runtime: Runtime) -> None:
    reply = client.get(f"{API}/schedule")
    assert reply.status_code == 200
    on_disk = json.loads(runtime.agent.schedule_path.read_text(encoding="utf-8"))
    assert reply.json() == on_disk


def test_history_covers_the_measured_slots(client: TestClient) -> None:
    slots = client.get(f"{API}/schedule/history", params={"hours": 24}).json()["slots"]
    assert len(slots) >= 8
    starts = [datetime.fromisoformat(s["start"]) for s in slots]
    assert all(b - a == timedelta(minutes=15) for a, b in zip(starts, starts[1:], strict=False))
    first = slots[0]
    # the meters close the energy balance of every slot
    assert first["pv_kw"] + first["grid_import_kw"] + first["battery_discharge_kw"] == (
        pytest.approx(
            first["load_kw"]
            + first["grid_export_kw"]
            + first["battery_charge_kw"]
            + first["water_heating_kw"],
            abs=1e-6,
        )
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/schedule/history", {"hours": 0}),
        ("/schedule/history", {"hours": 169}),
        ("/learning/metrics", {"days": 0}),
        ("/logs", {"level": "LOUD"}),
        ("/executor", {"limit": -1}),
    ],
)
def test_bad_query_names_the_parameter(client: TestClient, path: str, params: dict) -> None:
    reply = client.get(API + path, params=params)
    assert reply.status_code == 422
    body = reply.json()
    assert body["detail"]
    assert set(body) == {"detail", "errors"}


def test_quick_action_round_trips_to_the_house(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    reply = client.post(f"{API}/actions", json={"action": "charge", "minutes": 30}, headers=auth)
    assert reply.status_code == 200
    assert reply.json()["override"]["kind"] == "charge"
    runtime.step()
    tick = client.get(f"{API}/executor", params={"limit": 1}).json()["ticks"][0]
    assert tick["mode"] == "force_charge"
    assert tick["charge_limit_kw"] == runtime.agent.cfg.battery.max_charge_kw
    assert "override charge" in tick["note"]
    assert client.get(f"{API}/status").json()["executor"]["override"]["kind"] == "charge"
    cleared = client.post(f"{API}/actions", json={"action": "auto"}, headers=auth)
    assert cleared.json() == {"override": None}


def test_override_ends_by_itself(client: TestClient, runtime: Runtime, auth: dict) -> None:
    client.post(f"{API}/actions", json={"action": "hold", "minutes": 15}, headers=auth)
    runtime.step()  # the 15 minutes run out in this slot
    runtime.step()
    assert client.get(f"{API}/status").json()["executor"]["override"] is None
    notes = [n["message"] for n in client.get(f"{API}/executor").json()["notifications"]]
    assert "battery override hold ended" in notes


def test_shadow_mode_logs_but_does_not_apply(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    assert client.post(f"{API}/executor/shadow", json={"enabled": True}, headers=auth).json() == {
        "shadow": True
    }
    runtime.step()
    tick = client.get(f"{API}/executor", params={"limit": 1}).json()["ticks"][0]
    assert tick["applied"] is False
    assert tick["note"].startswith("shadow mode: not applied")
    client.post(f"{API}/executor/shadow", json={"enabled": False}, headers=auth)


def test_water_boost_heats_the_tank(client: TestClient, runtime: Runtime, auth: dict) -> None:
    reply = client.post(f"{API}/water/boost", json={"minutes": 30}, headers=auth)
    assert reply.json()["water_override"]["kind"] == "water_boost"
    runtime.step()
    tick = client.get(f"{API}/executor", params={"limit": 1}).json()["ticks"][0]
    assert tick["water_setpoint_c"] == 75.0
    assert "water boost" in tick["note"]
    heater = runtime.agent.house.get_state("water_heater.darkstar_sim_tank")
    assert heater.attributes["temperature"] == 75.0  # the tank's thermostat got the boost
    assert client.post(f"{API}/water/boost", json={"minutes": 0}, headers=auth).json() == {
        "water_override": None
    }


def test_config_save_with_invalid_values_names_each_key(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    before = runtime.config_path.read_text(encoding="utf-8")
    reply = client.put(
        f"{API}/config",
        json={"changes": {"battery.capacity_kwh": -1, "grid.max_power_kw": "ten"}},
        headers=auth,
    )
    assert reply.status_code == 422
    errors = {e["field"]: e["message"] for e in reply.json()["errors"]}
    assert errors == {
        "battery.capacity_kwh": "must be >= 0.1, got -1",
        "grid.max_power_kw": "expected a number, got 'ten'",
    }
    assert runtime.config_path.read_text(encoding="utf-8") == before  # nothing saved


def test_config_validate_checks_rules_between_keys(
    client: TestClient, auth: dict[str, str]
) -> None:
    reply = client.post(
        f"{API}/config/validate", json={"changes": {"battery.min_soc_percent": 99}}, headers=auth
    )
    assert reply.json() == {
        "valid": False,
        "errors": [
            {
                "field": "battery.min_soc_percent",
                "message": "min_soc_percent (99.0) must be below max_soc_percent (95.0)",
            }
        ],
    }


def test_config_save_writes_the_file_and_plans_with_it(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    reply = client.put(
        f"{API}/config", json={"changes": {"battery.max_charge_kw": 4.0}}, headers=auth
    )
    assert reply.status_code == 200
    fields = {f["key"]: f for f in reply.json()["fields"]}
    assert fields["battery.max_charge_kw"]["value"] == 4.0
    assert fields["battery.max_charge_kw"]["default"] == 5.0
    assert "AC charge power" in fields["battery.max_charge_kw"]["help"]
    assert "max_charge_kw: 4.0" in runtime.config_path.read_text(encoding="utf-8")
    assert runtime.agent.cfg.battery.max_charge_kw == 4.0
    assert runtime.agent.cfg.system.has_water_heater is True  # the tank is planned too


def test_config_lists_every_key_with_help(client: TestClient) -> None:
    fields = client.get(f"{API}/config").json()["fields"]
    assert len(fields) >= 30
    assert all(f["help"] for f in fields)
    assert {f["kind"] for f in fields} <= {"number", "integer", "boolean", "string", "list"}


def test_plan_run_is_a_job_that_finishes(client: TestClient, auth: dict[str, str]) -> None:
    reply = client.post(f"{API}/planner/run", headers=auth)
    assert reply.status_code == 202
    job_id = reply.json()["id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = client.get(f"{API}/jobs/{job_id}").json()
        if job["state"] in {"done", "failed"}:
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert job["progress"] == 1.0
    assert client.get(f"{API}/jobs/nope").status_code == 404


def test_simulate_hold_block_keeps_the_battery_idle(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    block = {
        "start": (now + timedelta(hours=10)).isoformat(),
        "end": (now + timedelta(hours=12)).isoformat(),
        "action": "hold",
    }
    reply = client.post(f"{API}/planning/simulate", headers=auth, json={"blocks": [block]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    rows = body["schedule"]["schedule"]
    held = [r for r in rows if block["start"] <= r["start"] < block["end"]]
    assert len(held) == 8
    assert all(r["battery_charge_kw"] == 0 and r["battery_discharge_kw"] == 0 for r in held)
    assert body["delta_sek"] == pytest.approx(body["simulated_cost_sek"] - body["current_cost_sek"])
    assert client.get(f"{API}/planning/blocks").json() == {"blocks": []}  # nothing saved


def test_export_whatif_re_plans_the_agents_horizon(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    before = runtime.agent.plan_document
    reply = client.post(
        f"{API}/planning/whatif/export", headers=auth, json={"energy_kwh": 3, "at": "today peak"}
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["mode"] == "full"
    assert body["energy_kwh"] == 3
    assert body["window"]["end_slot"] - body["window"]["first_slot"] == 4  # one hour
    assert body["whatif_export_kwh"] + body["shortfall_kwh"] == pytest.approx(3.0, abs=1e-6)
    assert body["net_impact_sek"] == pytest.approx(
        body["whatif_cost_sek"] - body["base_cost_sek"], abs=1e-5
    )
    assert runtime.agent.plan_document is before  # nothing saved or put in force


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"energy_kwh": -1}, 422, "energy_kwh"),
        ({"energy_kwh": 1, "at": "next tuesday"}, 422, "at"),
        ({"energy_kwh": 1, "extra": 1}, 422, "extra"),
    ],
)
def test_export_whatif_refuses_bad_input(
    client: TestClient, auth: dict[str, str], payload: dict[str, object], status: int, field: str
) -> None:
    reply = client.post(f"{API}/planning/whatif/export", headers=auth, json=payload)
    assert reply.status_code == status
    assert field in reply.text


def test_export_whatif_needs_the_token(client: TestClient) -> None:
    reply = client.post(f"{API}/planning/whatif/export", json={"energy_kwh": 1})
    assert reply.status_code == 401


def test_bad_block_names_the_field(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    reply = client.post(
        f"{API}/planning/simulate",
        headers=auth,
        json={"blocks": [{"start": "soon", "end": "later", "action": "hold"}]},
    )
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "blocks[0].start"
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    backwards = {"start": now.isoformat(), "end": now.isoformat(), "action": "hold"}
    reply = client.post(f"{API}/planning/simulate", headers=auth, json={"blocks": [backwards]})
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "blocks[0].end"


def test_saved_blocks_apply_to_the_next_plans(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    block = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=3)).isoformat(),
        "action": "hold",
    }
    reply = client.put(f"{API}/planning/blocks", json={"blocks": [block]}, headers=auth)
    assert reply.status_code == 200
    assert reply.json()["blocks"] == [block]
    rows = client.get(f"{API}/schedule").json()["schedule"]
    held = [r for r in rows if block["start"] <= r["start"] < block["end"]]
    assert held
    assert all(r["reason"] == "manual_block" for r in held)
    client.put(f"{API}/planning/blocks", json={"blocks": []}, headers=auth)


def test_aurora_performance_learning_and_logs(client: TestClient, auth: dict) -> None:
    aurora = client.get(f"{API}/aurora").json()
    assert aurora["radar"]["price"]["spread"] >= 0
    assert aurora["radar"]["risk"]["level"] in {"low", "medium", "high"}
    perf = client.get(f"{API}/performance", params={"hours": 24}).json()
    assert perf["soc_tunnel"]
    for slot in perf["soc_tunnel"]:
        if slot["low_soc_percent"] is not None:
            assert slot["low_soc_percent"] <= slot["planned_soc_percent"] + 1e-9
            assert slot["planned_soc_percent"] <= slot["high_soc_percent"] + 1e-9
    days = client.get(f"{API}/learning/metrics").json()["days"]
    assert days
    assert days[-1]["observed_slots"] > 0
    retrain = client.post(f"{API}/aurora/retrain", headers=auth)
    assert retrain.status_code == 409
    assert "Aurora" in retrain.json()["detail"]
    assert client.get(f"{API}/strategy/log").json()["entries"][0]["kind"] in {
        "plan",
        "config",
        "manual",
        "warning",
    }
    assert client.get(f"{API}/logs", params={"level": "DEBUG"}).status_code == 200


def test_cors_allows_only_the_ui_origin(client: TestClient) -> None:
    ok = client.options(
        f"{API}/status",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert ok.headers.get("access-control-allow-origin") == ORIGIN
    evil = client.options(
        f"{API}/status",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in evil.headers


def test_live_socket_sends_status_then_events(
    client: TestClient, runtime: Runtime, token: str
) -> None:
    with client.websocket_connect(f"{API}/live") as socket:
        socket.send_json({"type": "auth", "token": token})
        assert socket.receive_json() == {"type": "auth", "data": {"ok": True}}
        first = socket.receive_json()
        assert first["type"] == "status"
        runtime.step()
        kinds = set()
        while "status" not in kinds:
            kinds.add(socket.receive_json()["type"])
        assert "status" in kinds


def test_ui_paths_serve_the_app_or_a_build_hint(client: TestClient) -> None:
    for path in ("/", "/dashboard", "/settings"):
        reply = client.get(path)
        assert reply.status_code == 200
        assert "<html" in reply.text.lower() or "<!doctype" in reply.text.lower()
        assert "Darkstar" in reply.text


def test_learning_reset_empties_the_store(client: TestClient, auth: dict[str, str]) -> None:
    reply = client.post(f"{API}/learning/reset", headers=auth)
    assert reply.status_code == 200
    assert reply.json()["deleted_rows"] > 0
    assert client.get(f"{API}/schedule/history").json() == {"slots": []}


def test_token_file_is_private_and_stable(tmp_path) -> None:
    token = load_or_create_token(tmp_path)
    assert load_or_create_token(tmp_path) == token
    assert (tmp_path / "api_token").stat().st_mode & 0o777 == 0o600
    assert token_matches(token, f"Bearer {token}")
    (tmp_path / "api_token").write_text("\n")
    with pytest.raises(ValueError, match="at least 24 characters"):
        load_or_create_token(tmp_path)


def test_strategy_log_times_are_the_plan_times(client: TestClient) -> None:
    schedule = client.get(f"{API}/schedule").json()
    entries = client.get(f"{API}/strategy/log").json()["entries"]
    plan_times = [e["at"] for e in entries if e["kind"] == "plan"]
    assert schedule["meta"]["planned_at"] in plan_times


def test_plan_job_progress_arrives_on_the_live_socket(
    client: TestClient, auth: dict[str, str], token: str
) -> None:
    with client.websocket_connect(f"{API}/live") as socket:
        socket.send_json({"type": "auth", "token": token})
        assert socket.receive_json()["type"] == "auth"
        assert socket.receive_json()["type"] == "status"
        job_id = client.post(f"{API}/planner/run", headers=auth).json()["id"]
        states, kinds = [], set()
        while "done" not in states and "failed" not in states:
            message = socket.receive_json()
            kinds.add(message["type"])
            if message["type"] == "job" and message["data"]["id"] == job_id:
                states.append(message["data"]["state"])
        assert states[0] == "running"
        assert states[-1] == "done"
        assert "schedule" in kinds  # the new plan is announced too
