"""The sandbox Home Assistant: a real HA 2025.4 with the simulated home's entities.

Everything here talks to a real ``hass`` process over its REST API (the ``ha`` fixture), and
checks the HA behaviours the bridge and the adapter rely on: units and classes, raw helper ->
template sensor, the unavailable sentinel, recorder history, and a restart that keeps the
token and the controls but drops measured values until they are published again.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from darkstar.simulation.entities import SIM_ENTITY_MAP, InverterMode, SimEntity
from darkstar.simulation.ha_sandbox import (
    RAW_UNAVAILABLE,
    SANDBOX_ENTITIES,
    SandboxEntity,
    SandboxError,
    running_home_assistant,
)
from darkstar.simulation.ha_sandbox.instance import TOKEN_FILENAME

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx2 as httpx

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = pytest.mark.ha

PV = SANDBOX_ENTITIES[SimEntity.PV_POWER]
GRID_IMPORT = SANDBOX_ENTITIES[SimEntity.GRID_IMPORT_ENERGY]
SOC_TARGET = SANDBOX_ENTITIES[SimEntity.SOC_TARGET]


def _state(api: httpx.Client, entity_id: str) -> dict[str, Any]:
    response = api.get(f"/api/states/{entity_id}")
    assert response.status_code == 200, f"{entity_id}: {response.status_code} {response.text}"
    state: dict[str, Any] = response.json()
    return state


def _set_raw(api: httpx.Client, entity: SandboxEntity, value: float) -> None:
    response = api.post(
        "/api/services/input_number/set_value",
        json={"entity_id": entity.raw_entity_id, "value": value},
    )
    assert response.status_code == 200, response.text


def _wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> float:
    """Poll ``check`` until it is true; return the seconds it took."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"{what} not within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


def test_sandbox_entities_cover_the_simulated_home() -> None:
    measured = {sim for sim, entity in SANDBOX_ENTITIES.items() if entity.is_measurement}
    assert len(measured) == 11
    assert SimEntity.EV_SOC not in SANDBOX_ENTITIES
    assert SANDBOX_ENTITIES[SimEntity.WATER_HEATER].entity_id == (
        "input_number.darkstar_sim_water_setpoint"
    )
    assert PV.entity_id == "sensor.darkstar_sim_pv_power"
    assert PV.raw_entity_id == "input_number.darkstar_sim_raw_pv_power"
    assert all(entity.sim_entity is sim for sim, entity in SANDBOX_ENTITIES.items())


def test_running_home_assistant_without_venv_names_the_make_target(tmp_path: Path) -> None:
    with (
        pytest.raises(SandboxError, match="run `make ha-venv`"),
        running_home_assistant(tmp_path / "config", ha_venv=tmp_path / "no-venv"),
    ):
        pass


def test_running_home_assistant_refuses_a_busy_port(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with (
            pytest.raises(SandboxError, match=f"port {port} on 127.0.0.1 is in use"),
            running_home_assistant(tmp_path / "config", port=port),
        ):
            pass
    assert ha.is_running


def test_api_answers_with_the_stored_token(ha: HomeAssistantInstance, ha_api: httpx.Client) -> None:
    response = ha_api.get("/api/")
    assert response.status_code == 200
    assert response.json() == {"message": "API running."}
    assert ha.url.startswith("http://127.0.0.1:")
    token_path = ha.config_dir / TOKEN_FILENAME
    assert token_path.read_text().strip() == ha.token
    assert token_path.stat().st_mode & 0o777 == 0o600


def test_onboarding_is_finished_and_leaves_no_cloud_entries(ha_api: httpx.Client) -> None:
    # HA serves /api/onboarding until the first start after onboarding finished
    response = ha_api.get("/api/onboarding")
    if response.status_code != 404:
        assert all(step["done"] for step in response.json()), response.text
    entries = ha_api.get("/api/config/config_entries/entry").json()
    assert {entry["domain"] for entry in entries} == {"backup"}
    config = ha_api.get("/api/config").json()
    assert config["time_zone"] == "Europe/Stockholm"
    assert config["currency"] == "SEK"
    assert config["unit_system"]["temperature"] == "°C"


def test_every_sandbox_entity_exists_with_units_and_classes(ha_api: httpx.Client) -> None:
    states = {state["entity_id"]: state for state in ha_api.get("/api/states").json()}
    for entity in SANDBOX_ENTITIES.values():
        description = SIM_ENTITY_MAP[entity.sim_entity]
        assert entity.entity_id in states, entity.entity_id
        attributes = states[entity.entity_id]["attributes"]
        assert attributes["friendly_name"] == description.name
        if entity.domain in {"sensor", "input_number"}:
            assert attributes["unit_of_measurement"] == description.unit_of_measurement
        if entity.is_measurement:
            assert attributes["device_class"] == description.device_class
            assert attributes["state_class"] == description.state_class
            raw = states[str(entity.raw_entity_id)]["attributes"]
            assert raw["unit_of_measurement"] == description.unit_of_measurement
            assert raw["min"] == RAW_UNAVAILABLE
    assert states["input_select.darkstar_sim_inverter_mode"]["attributes"]["options"] == [
        mode.value for mode in InverterMode
    ]
    water = states["input_number.darkstar_sim_water_setpoint"]["attributes"]
    assert (water["min"], water["max"]) == (20, 85)
    assert states["input_boolean.darkstar_sim_grid_charging"]["state"] in {"on", "off"}
    sandbox_ids = {entity_id for entity_id in states if "darkstar_sim_" in entity_id}
    expected = {entity.entity_id for entity in SANDBOX_ENTITIES.values()} | {
        str(entity.raw_entity_id) for entity in SANDBOX_ENTITIES.values() if entity.is_measurement
    }
    assert sandbox_ids == expected


def test_measured_values_are_unavailable_until_published(ha_api: httpx.Client) -> None:
    # raw helpers start at the sentinel: nothing was published to the energy counter yet
    assert _state(ha_api, str(GRID_IMPORT.raw_entity_id))["state"] == str(RAW_UNAVAILABLE)
    assert _state(ha_api, GRID_IMPORT.entity_id)["state"] == "unavailable"


def test_setting_a_raw_value_changes_the_template_sensor(ha_api: httpx.Client) -> None:
    _set_raw(ha_api, PV, 1234.5)
    _wait_for(
        lambda: _state(ha_api, PV.entity_id)["state"] == "1234.5",
        timeout_s=5,
        what="sensor.darkstar_sim_pv_power == 1234.5",
    )
    _set_raw(ha_api, GRID_IMPORT, 12.345678)
    _wait_for(
        lambda: _state(ha_api, GRID_IMPORT.entity_id)["state"] == "12.345678",
        timeout_s=5,
        what="grid import energy == 12.345678",
    )


def test_the_sentinel_makes_a_sensor_unavailable(ha_api: httpx.Client) -> None:
    _set_raw(ha_api, PV, 500.0)
    _wait_for(lambda: _state(ha_api, PV.entity_id)["state"] == "500.0", timeout_s=5, what="500")
    _set_raw(ha_api, PV, RAW_UNAVAILABLE)
    _wait_for(
        lambda: _state(ha_api, PV.entity_id)["state"] == "unavailable",
        timeout_s=5,
        what="sensor.darkstar_sim_pv_power unavailable",
    )
    _set_raw(ha_api, PV, 0.0)
    _wait_for(lambda: _state(ha_api, PV.entity_id)["state"] == "0.0", timeout_s=5, what="0.0")


def test_controls_take_service_calls(ha_api: httpx.Client) -> None:
    mode = SANDBOX_ENTITIES[SimEntity.INVERTER_MODE].entity_id
    response = ha_api.post(
        "/api/services/input_select/select_option",
        json={"entity_id": mode, "option": InverterMode.FORCE_CHARGE.value},
    )
    assert response.status_code == 200
    assert _state(ha_api, mode)["state"] == "force_charge"
    charging = SANDBOX_ENTITIES[SimEntity.GRID_CHARGING].entity_id
    assert ha_api.post("/api/services/input_boolean/turn_on", json={"entity_id": charging})
    assert _state(ha_api, charging)["state"] == "on"
    # out of range: HA refuses the call and keeps the value
    response = ha_api.post(
        "/api/services/input_number/set_value",
        json={"entity_id": SOC_TARGET.entity_id, "value": 101},
    )
    assert response.status_code == 400
    response = ha_api.post(
        "/api/services/input_number/set_value",
        json={"entity_id": SOC_TARGET.entity_id, "value": 42.5},
    )
    assert response.status_code == 200
    assert _state(ha_api, SOC_TARGET.entity_id)["state"] == "42.5"


def test_the_recorder_has_history_within_seconds(ha_api: httpx.Client) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    _set_raw(ha_api, PV, 4321.5)

    def recorded() -> bool:
        response = ha_api.get(
            f"/api/history/period/{start.isoformat()}",
            params={"filter_entity_id": PV.entity_id, "minimal_response": "", "no_attributes": ""},
        )
        assert response.status_code == 200, response.text
        series = response.json()
        return bool(series) and any(row["state"] == "4321.5" for row in series[0])

    _wait_for(recorded, timeout_s=10, what="history of sensor.darkstar_sim_pv_power")


def test_restart_keeps_the_token_and_controls_and_drops_measured_values(
    ha: HomeAssistantInstance, ha_api: httpx.Client
) -> None:
    _set_raw(ha_api, PV, 777.0)
    ha_api.post(
        "/api/services/input_number/set_value",
        json={"entity_id": SOC_TARGET.entity_id, "value": 55},
    )
    pid, token, url = ha.pid, ha.token, ha.url
    log_size = ha.log_path.stat().st_size

    ha.restart()

    assert ha.pid != pid
    assert (ha.token, ha.url) == (token, url)
    assert ha_api.get("/api/").status_code == 200
    assert _state(ha_api, SOC_TARGET.entity_id)["state"] == "55.0"
    assert _state(ha_api, PV.entity_id)["state"] == "unavailable"
    _set_raw(ha_api, PV, 778.0)
    _wait_for(lambda: _state(ha_api, PV.entity_id)["state"] == "778.0", timeout_s=5, what="778")
    # a clean start: no errors in the log since the restart
    restart_log = ha.log_path.read_bytes()[log_size:].decode(errors="replace")
    assert " ERROR " not in restart_log, restart_log
