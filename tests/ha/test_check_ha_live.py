"""``darkstar check-ha`` against the real sandbox Home Assistant (the ``ha`` fixture).

A ``config.yaml`` naming the sandbox's entities in their roles passes once the measured
values are published (before that the template sensors are ``unavailable``, as a real
house's are while its integration starts); a misspelt entity fails, named.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.house import Quantity, UnreadableState, read_number
from darkstar.simulation.entities import SimEntity
from darkstar.simulation.ha_sandbox import RAW_UNAVAILABLE, SANDBOX_ENTITIES
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = pytest.mark.ha

E = SimEntity
#: Config key -> the sandbox entity that plays the role.
ROLES = {
    "input_sensors.battery_soc": E.BATTERY_SOC,
    "input_sensors.pv_energy": E.PV_ENERGY,
    "input_sensors.load_energy": E.LOAD_ENERGY,
    "input_sensors.grid_import_energy": E.GRID_IMPORT_ENERGY,
    "input_sensors.grid_export_energy": E.GRID_EXPORT_ENERGY,
    "input_sensors.battery_charge_energy": E.BATTERY_CHARGE_ENERGY,
    "input_sensors.battery_discharge_energy": E.BATTERY_DISCHARGE_ENERGY,
    "input_sensors.water_heater_energy": E.WATER_HEATER_ENERGY,
    "input_sensors.water_temperature": E.WATER_TEMPERATURE,
    "executor.inverter_mode": E.INVERTER_MODE,
    "executor.charge_power": E.BATTERY_CHARGE_POWER,
    "executor.discharge_power": E.BATTERY_DISCHARGE_POWER,
    "executor.soc_target": E.SOC_TARGET,
    "executor.grid_charging": E.GRID_CHARGING,
    "executor.water_heater": E.WATER_HEATER,
}
del E
COUNTERS = [SANDBOX_ENTITIES[sim] for key, sim in ROLES.items() if key.endswith("_energy")]
#: Measured value published per role [%, kWh or °C].
VALUES = {SimEntity.BATTERY_SOC: 55.0, SimEntity.WATER_TEMPERATURE: 58.5} | {
    counter.sim_entity: 100.0 + i for i, counter in enumerate(COUNTERS)
}


def _wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s} s")
        time.sleep(0.2)


@pytest.fixture
def house(ha: HomeAssistantInstance) -> Iterator[HomeAssistantHouse]:
    with HomeAssistantHouse(HomeAssistantConnection(ha.url, ha.token)) as home:
        yield home


def _only_our_values(house: HomeAssistantHouse) -> bool:
    """Whether the counters show our values now and their recent history holds no other."""
    now = house.now
    ids = [counter.entity_id for counter in COUNTERS]
    history = house.history(ids, start=now - timedelta(hours=2), end=now)
    for counter in COUNTERS:
        values = set()
        for state in history[counter.entity_id]:
            try:
                values.add(read_number(state, Quantity.ENERGY_KWH))
            except UnreadableState:
                continue
        if values != {VALUES[counter.sim_entity]}:
            return False
    return True


@pytest.fixture
def published(house: HomeAssistantHouse) -> Iterator[None]:
    """Publish the measured values the config names; as found afterwards (unavailable)."""
    measured = [SANDBOX_ENTITIES[sim] for sim in VALUES]
    # other tests publish counters too: only this test's values may be in their history
    counter_ids = [counter.entity_id for counter in COUNTERS]
    house.call_service("recorder", "purge_entities", {"entity_id": counter_ids, "keep_days": 0})
    try:
        for entity in measured:
            house.call_service(
                "input_number",
                "set_value",
                {"entity_id": entity.raw_entity_id, "value": VALUES[entity.sim_entity]},
            )
        _wait_for(
            lambda: all(
                house.get_state(e.entity_id).state not in {"unavailable", "unknown"}
                for e in measured
            ),
            timeout_s=10,
            what="published measured values",
        )
        _wait_for(lambda: _only_our_values(house), timeout_s=20, what="a clean counter history")
        yield
    finally:
        for entity in measured:
            house.call_service(
                "input_number",
                "set_value",
                {"entity_id": entity.raw_entity_id, "value": RAW_UNAVAILABLE},
            )


def _config(tmp_path: Path, ha: HomeAssistantInstance, **overrides: str) -> Path:
    token_file = tmp_path / "ha_token"
    token_file.write_text(ha.token, encoding="utf-8")
    token_file.chmod(0o600)
    config: dict[str, Any] = {
        "home_assistant": {"url": ha.url, "token_file": str(token_file)},
        "input_sensors": {},
        "executor": {},
    }
    roles = {key: SANDBOX_ENTITIES[sim].entity_id for key, sim in ROLES.items()} | overrides
    for key, entity_id in roles.items():
        section, role = key.split(".")
        config[section][role] = entity_id
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _check_ha(path: Path) -> Any:
    return CliRunner().invoke(app, ["check-ha", "--config", str(path), "--verbose"])


@pytest.mark.usefixtures("published")
def test_check_ha_sandbox_has_no_problems(ha: HomeAssistantInstance, tmp_path: Path) -> None:
    result = _check_ha(_config(tmp_path, ha))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        *(f"{key} ({SANDBOX_ENTITIES[sim].entity_id}): ok" for key, sim in ROLES.items()),
        f"no problems: {len(ROLES)} entities checked",
    ]
    assert result.stderr == ""


@pytest.mark.usefixtures("published")
def test_check_ha_sandbox_missing_entity_named(ha: HomeAssistantInstance, tmp_path: Path) -> None:
    missing = "sensor.darkstar_sim_no_such_soc"
    result = _check_ha(_config(tmp_path, ha, **{"input_sensors.battery_soc": missing}))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"input_sensors.battery_soc ({missing}): no such entity in Home Assistant (404)"
    )
    assert lines[-1] == f"1 problem, {len(ROLES) - 1} of {len(ROLES)} entities ok"
    assert len(lines) == len(ROLES) + 1


def test_check_ha_sandbox_unpublished_values_are_unavailable(
    ha: HomeAssistantInstance, house: HomeAssistantHouse, tmp_path: Path
) -> None:
    """Before the bridge publishes, every measured value is named as unavailable."""
    measured = [SANDBOX_ENTITIES[sim] for sim in VALUES]
    for entity in measured:  # as after a restart (and as found: others publish too)
        house.call_service(
            "input_number",
            "set_value",
            {"entity_id": entity.raw_entity_id, "value": RAW_UNAVAILABLE},
        )
    _wait_for(
        lambda: all(house.get_state(e.entity_id).state == "unavailable" for e in measured),
        timeout_s=10,
        what="unavailable measured values",
    )
    result = _check_ha(_config(tmp_path, ha))
    assert result.exit_code == 1, result.output
    unavailable = [line for line in result.stdout.splitlines() if "'unavailable'" in line]
    assert len(unavailable) == len(COUNTERS) + 2
    soc = SANDBOX_ENTITIES[SimEntity.BATTERY_SOC].entity_id
    assert (
        f"input_sensors.battery_soc ({soc}): state is 'unavailable' "
        "(the device or its integration cannot be reached)"
    ) in unavailable
