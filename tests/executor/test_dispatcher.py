"""From a slot command to HA service calls, for integration entities and sandbox helpers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from darkstar.errors import InputError
from darkstar.executor.controller import InverterMode, SlotCommand
from darkstar.executor.dispatcher import ServiceCall, command_calls, pending_calls
from darkstar.house import EntityState
from darkstar.service.world import HouseEntities

AT = datetime(2026, 3, 28, 12, tzinfo=UTC)

HELPERS = HouseEntities(
    battery_soc="sensor.soc",
    pv_energy="sensor.pv_energy",
    load_energy="sensor.load_energy",
    grid_import_energy="sensor.import_energy",
    grid_export_energy="sensor.export_energy",
    battery_charge_energy="sensor.charge_energy",
    battery_discharge_energy="sensor.discharge_energy",
    water_heater_energy=None,
    water_temperature=None,
    inverter_mode="input_select.mode",
    charge_power="input_number.charge",
    discharge_power="input_number.discharge",
    soc_target="input_number.soc_target",
    grid_charging="input_boolean.grid_charging",
    water_heater="input_number.water_setpoint",
)
CMD = SlotCommand(
    mode=InverterMode.FORCE_CHARGE,
    charge_limit_kw=2.5,
    discharge_limit_kw=0.0,
    soc_target_percent=80.0,
    water_setpoint_c=60.0,
)


def _number(entity_id: str, unit: str, low: float, high: float) -> EntityState:
    attributes = {"unit_of_measurement": unit, "min": low, "max": high}
    return EntityState(entity_id, str(low), attributes, AT)


STATES = {
    "input_number.charge": _number("input_number.charge", "W", 0, 5000),
    "input_number.discharge": _number("input_number.discharge", "kW", 0, 5),
    "input_number.soc_target": _number("input_number.soc_target", "%", 10, 100),
    "input_number.water_setpoint": _number("input_number.water_setpoint", "°C", 20, 85),
}


def test_command_calls_follow_the_entity_domains_and_units() -> None:
    calls = command_calls(CMD, HELPERS, STATES)
    assert calls == [
        ServiceCall(
            domain="input_select",
            service="select_option",
            data={"entity_id": "input_select.mode", "option": "force_charge"},
        ),
        ServiceCall(
            domain="input_number",
            service="set_value",
            data={"entity_id": "input_number.charge", "value": 2500.0},  # W
        ),
        ServiceCall(
            domain="input_number",
            service="set_value",
            data={"entity_id": "input_number.discharge", "value": 0.0},  # kW
        ),
        ServiceCall(
            domain="input_number",
            service="set_value",
            data={"entity_id": "input_number.soc_target", "value": 80.0},
        ),
        ServiceCall(
            domain="input_boolean",
            service="turn_on",
            data={"entity_id": "input_boolean.grid_charging"},
        ),
        ServiceCall(
            domain="input_number",
            service="set_value",
            data={"entity_id": "input_number.water_setpoint", "value": 60.0},
        ),
    ]


def test_command_calls_clamp_to_the_entity_range() -> None:
    cmd = replace(CMD, charge_limit_kw=9.0, soc_target_percent=5.0, water_setpoint_c=99.0)
    values = {c.data["entity_id"]: c.data.get("value") for c in command_calls(cmd, HELPERS, STATES)}
    assert values["input_number.charge"] == 5000.0
    assert values["input_number.soc_target"] == 10.0
    assert values["input_number.water_setpoint"] == 85.0


def test_command_calls_turn_grid_charging_off_outside_force_charge() -> None:
    cmd = replace(CMD, mode=InverterMode.SELF_CONSUMPTION)
    calls = command_calls(cmd, HELPERS, STATES)
    assert (
        ServiceCall(
            domain="input_boolean",
            service="turn_off",
            data={"entity_id": "input_boolean.grid_charging"},
        )
        in calls
    )


def test_command_calls_use_set_temperature_for_a_water_heater_entity() -> None:
    entities = replace(HELPERS, water_heater="water_heater.tank")
    calls = command_calls(CMD, entities, STATES)
    assert calls[-1] == ServiceCall(
        domain="water_heater",
        service="set_temperature",
        data={"entity_id": "water_heater.tank", "temperature": 60.0},
    )


def test_command_calls_write_no_water_setpoint_when_the_command_has_none() -> None:
    calls = command_calls(replace(CMD, water_setpoint_c=None), HELPERS, STATES)
    assert all(c.data["entity_id"] != "input_number.water_setpoint" for c in calls)


def test_command_calls_refuse_a_power_limit_in_an_unknown_unit() -> None:
    states = {**STATES, "input_number.charge": _number("input_number.charge", "A", 0, 50)}
    with pytest.raises(InputError, match=r"^input_number\.charge: power limit unit 'A'"):
        command_calls(CMD, HELPERS, states)


def test_command_calls_refuse_an_inverter_mode_that_is_no_select() -> None:
    entities = replace(HELPERS, inverter_mode="sensor.mode")
    with pytest.raises(InputError, match="inverter_mode must be a select"):
        command_calls(CMD, entities, STATES)


def _shown(entity_id: str, state: str, **attributes: object) -> EntityState:
    return EntityState(entity_id, state, attributes, AT)


def test_pending_calls_skip_what_the_house_already_shows() -> None:
    calls = command_calls(CMD, HELPERS, STATES)
    following = {
        "input_select.mode": _shown("input_select.mode", "force_charge"),
        "input_number.charge": _shown("input_number.charge", "2500.0", unit_of_measurement="W"),
        "input_number.discharge": _shown("input_number.discharge", "0.0"),
        "input_number.soc_target": _shown("input_number.soc_target", "80.0"),
        "input_boolean.grid_charging": _shown("input_boolean.grid_charging", "on"),
        "input_number.water_setpoint": _shown("input_number.water_setpoint", "60.0"),
    }
    assert pending_calls(calls, following) == []  # a steady plan writes nothing
    changed = {**following, "input_number.charge": _shown("input_number.charge", "2400.0")}
    assert [c.data["entity_id"] for c in pending_calls(calls, changed)] == ["input_number.charge"]
    off = {**following, "input_boolean.grid_charging": _shown("input_boolean.grid_charging", "off")}
    assert [c.service for c in pending_calls(calls, off)] == ["turn_on"]
    unknown = {**following, "input_select.mode": _shown("input_select.mode", "unavailable")}
    assert [c.service for c in pending_calls(calls, unknown)] == ["select_option"]


def test_pending_calls_compare_water_heater_setpoints() -> None:
    entities = replace(HELPERS, water_heater="water_heater.tank")
    call = command_calls(CMD, entities, STATES)[-1]
    same = {"water_heater.tank": _shown("water_heater.tank", "electric", temperature=60.0)}
    other = {"water_heater.tank": _shown("water_heater.tank", "electric", temperature=55.0)}
    assert pending_calls([call], same) == []
    assert pending_calls([call], other) == [call]


EV_HELPERS = replace(
    HELPERS,
    ev_soc="sensor.car_soc",
    ev_plugged="binary_sensor.car_plugged",
    ev_charger="switch.car_charger",
    ev_charge_power="number.car_power",
)
CAR_IDS = {"switch.car_charger", "number.car_power"}
EV_STATES = STATES | {"number.car_power": _number("number.car_power", "W", 0, 11000)}


def test_command_calls_switch_the_car_charger_on_at_the_planned_power() -> None:
    calls = command_calls(replace(CMD, ev_charge_kw=4.1), EV_HELPERS, EV_STATES)
    assert calls[-2:] == [
        ServiceCall(
            domain="number",
            service="set_value",
            data={"entity_id": "number.car_power", "value": 4100.0},  # W
        ),
        ServiceCall(domain="switch", service="turn_on", data={"entity_id": "switch.car_charger"}),
    ]


def test_command_calls_switch_the_car_charger_off_without_touching_its_power() -> None:
    calls = command_calls(replace(CMD, ev_charge_kw=0.0), EV_HELPERS, EV_STATES)
    assert calls[-1] == ServiceCall(
        domain="switch", service="turn_off", data={"entity_id": "switch.car_charger"}
    )
    assert all(c.data["entity_id"] != "number.car_power" for c in calls)


def test_command_calls_leave_the_car_alone_when_the_command_does_not_drive_it() -> None:
    calls = command_calls(replace(CMD, ev_charge_kw=None), EV_HELPERS, EV_STATES)
    assert {c.data["entity_id"] for c in calls}.isdisjoint(
        {"switch.car_charger", "number.car_power"}
    )
    # and a house without the car's roles never gets a car call, whatever the command says
    calls = command_calls(replace(CMD, ev_charge_kw=3.0), HELPERS, STATES)
    assert {c.data["entity_id"] for c in calls}.isdisjoint(
        {"switch.car_charger", "number.car_power"}
    )


def test_command_calls_refuse_a_car_charger_that_is_no_switch() -> None:
    entities = replace(EV_HELPERS, ev_charger="number.car_charger")
    with pytest.raises(InputError, match=r"number\.car_charger"):
        command_calls(replace(CMD, ev_charge_kw=3.0), entities, EV_STATES)
