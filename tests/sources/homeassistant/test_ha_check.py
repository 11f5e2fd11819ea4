"""``check_home_assistant`` against a fake Home Assistant whose states each test sets.

One :class:`Problem` per finding, each naming the config key and the entity; a house fit
for every role gives none; an unreachable HA or a refused token is a single problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_ha import TOKEN
from stateful_fake_ha import (
    ENTITIES,
    MODES,
    StatefulFakeHomeAssistant,
    config_dict,
    counter,
    ha_state,
)

from darkstar.config.models import DarkstarConfig
from darkstar.sources.homeassistant import (
    HomeAssistantConnection,
    HomeAssistantHouse,
    Problem,
    check_home_assistant,
    configured_entities,
)


@pytest.fixture
def house(server: StatefulFakeHomeAssistant) -> Iterator[HomeAssistantHouse]:
    with HomeAssistantHouse(server.connection()) as home:
        yield home


def _config(server: StatefulFakeHomeAssistant, **overrides: str | None) -> DarkstarConfig:
    return DarkstarConfig.model_validate(config_dict(server.url, **overrides))


def _check(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse, **overrides: str | None
) -> list[Problem]:
    return check_home_assistant(house, _config(server, **overrides))


def _recent(minutes_ago: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes_ago)


def test_check_home_assistant_all_good_is_empty(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    assert _check(server, house) == []
    checked = {r.path for r in server.requests if r.method == "GET"}
    assert {f"/api/states/{entity_id}" for entity_id in ENTITIES.values()} <= checked
    history = [r for r in server.requests if r.path.startswith("/api/history/period/")]
    assert len(history) == 1  # one call for all counters
    assert set(history[0].query["filter_entity_id"].split(",")) == {
        entity_id for key, entity_id in ENTITIES.items() if key.endswith("_energy")
    }


def test_check_home_assistant_missing_entity_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    del server.states["sensor.grid_export_energy"]
    assert _check(server, house) == [
        Problem(
            "input_sensors.grid_export_energy",
            "sensor.grid_export_energy",
            "no such entity in Home Assistant (404)",
        )
    ]


def test_check_home_assistant_missing_required_key_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    problems = _check(server, house, **{"executor.soc_target": None})
    assert problems == [
        Problem("executor.soc_target", None, "is not set (required when home_assistant.url is set)")
    ]
    assert str(problems[0]) == (
        "executor.soc_target: is not set (required when home_assistant.url is set)"
    )


def test_check_home_assistant_optional_keys_may_be_null(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    optional = ("water_heater_energy", "water_temperature")
    nulls: dict[str, str | None] = {f"input_sensors.{role}": None for role in optional}
    nulls |= {"executor.grid_charging": None, "executor.water_heater": None}
    assert _check(server, house, **nulls) == []


@pytest.mark.parametrize(
    ("state", "why"),
    [
        ("unavailable", "state is 'unavailable' (the device or its integration cannot be reached)"),
        ("unknown", "state is 'unknown' (the entity has no value yet)"),
        ("n/a", "state is 'n/a', not a number"),
    ],
)
def test_check_home_assistant_unavailable_soc_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse, state: str, why: str
) -> None:
    server.set("sensor.battery_soc", state, unit_of_measurement="%")
    problems = _check(server, house)
    assert problems == [Problem("input_sensors.battery_soc", "sensor.battery_soc", why)]
    assert str(problems[0]) == f"input_sensors.battery_soc (sensor.battery_soc): {why}"


def test_check_home_assistant_unavailable_without_attributes_is_one_problem(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("sensor.pv_energy", "unavailable")  # HA drops attributes of some devices
    assert [p.message for p in _check(server, house)] == [
        "state is 'unavailable' (the device or its integration cannot be reached)"
    ]


def test_check_home_assistant_soc_out_of_range_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("sensor.battery_soc", "130", unit_of_measurement="%")
    assert _check(server, house) == [
        Problem("input_sensors.battery_soc", "sensor.battery_soc", "reads 130 %, outside 0-100 %")
    ]


def test_check_home_assistant_wrong_unit_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("sensor.load_energy", "1500", unit_of_measurement="W", state_class="measurement")
    server.set("sensor.battery_soc", "52", unit_of_measurement="kWh")
    server.set("sensor.water_temperature", "55")
    assert _check(server, house) == [
        Problem("input_sensors.battery_soc", "sensor.battery_soc", "unit 'kWh' is not %"),
        Problem(
            "input_sensors.load_energy", "sensor.load_energy", "unit 'W' is not Wh, kWh or MWh"
        ),
        Problem(
            "input_sensors.load_energy",
            "sensor.load_energy",
            "state_class is 'measurement', not total_increasing",
        ),
        Problem(
            "input_sensors.water_temperature",
            "sensor.water_temperature",
            "has no unit_of_measurement; expected °C or °F",
        ),
    ]


def test_check_home_assistant_counter_without_state_class_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("sensor.pv_energy", "12.5", unit_of_measurement="kWh")
    assert _check(server, house) == [
        Problem(
            "input_sensors.pv_energy",
            "sensor.pv_energy",
            "has no state_class; a cumulative energy counter is total_increasing",
        )
    ]


def test_check_home_assistant_counter_decreasing_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    at = _recent(30)
    server.set_history(
        "sensor.grid_import_energy",
        [
            (_recent(90), "15230.1"),
            (_recent(60), "unavailable"),  # a gap is skipped, not a fall
            (_recent(45), "15231.4"),
            (at, "15100.0"),
            (_recent(10), "15101.0"),
        ],
        "kWh",
    )
    assert _check(server, house) == [
        Problem(
            "input_sensors.grid_import_energy",
            "sensor.grid_import_energy",
            f"decreased from 15231.4 kWh to 15100 kWh at {at.isoformat(timespec='seconds')}; "
            "a total_increasing counter may only fall by a reset to ~0",
        )
    ]
    history = next(r for r in server.requests if r.path.startswith("/api/history/period/"))
    start = datetime.fromisoformat(history.path.removeprefix("/api/history/period/"))
    end = datetime.fromisoformat(history.query["end_time"])
    assert end - start == timedelta(hours=2)


def test_check_home_assistant_counter_decrease_across_units_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.history_states["sensor.pv_energy"] = [
        ha_state("sensor.pv_energy", "2.0", counter("MWh"), _recent(50)),
        ha_state("sensor.pv_energy", "1500", counter("kWh"), _recent(20)),  # 2000 -> 1500 kWh
    ]
    [problem] = _check(server, house)
    assert problem.key == "input_sensors.pv_energy"
    assert problem.message.startswith("decreased from 2000 kWh to 1500 kWh at ")


@pytest.mark.parametrize(
    "values",
    [
        ["15230.1", "0.0", "0.4"],  # meter replaced: a reset to ~0
        ["25.3", "0.05"],  # a daily counter at midnight
        ["12.000000001", "12.0"],  # float noise
        ["12.5"],
        [],
    ],
)
def test_check_home_assistant_counter_reset_or_noise_is_fine(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse, values: list[str]
) -> None:
    server.set_history(
        "sensor.load_energy",
        [(_recent(100 - 10 * i), value) for i, value in enumerate(values)],
        "kWh",
    )
    assert _check(server, house) == []


def test_check_home_assistant_select_missing_options_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("select.inverter_mode", "Self Use", options=["Self Use", "force_charge", "hold"])
    assert _check(server, house) == [
        Problem(
            "executor.inverter_mode",
            "select.inverter_mode",
            "options lack self_consumption, force_discharge (Darkstar selects every InverterMode)",
        )
    ]


def test_check_home_assistant_select_without_options_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("select.inverter_mode", "hold")
    assert [p.message for p in _check(server, house)] == ["has no options attribute"]


def test_check_home_assistant_wrong_domains_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("sensor.inverter_mode", "hold", options=MODES)
    server.set("input_select.grid_charging", "off", options=["on", "off"])
    server.set("switch.water_heater", "on")
    problems = _check(
        server,
        house,
        **{
            "executor.inverter_mode": "sensor.inverter_mode",
            "executor.grid_charging": "input_select.grid_charging",
            "executor.water_heater": "switch.water_heater",
        },
    )
    assert [str(p) for p in problems] == [
        "executor.inverter_mode (sensor.inverter_mode): domain 'sensor' cannot carry this "
        "role; use select or input_select",
        "executor.grid_charging (input_select.grid_charging): domain 'input_select' cannot "
        "carry this role; use switch or input_boolean",
        "executor.water_heater (switch.water_heater): domain 'switch' cannot carry this role; "
        "use water_heater, number or input_number",
    ]


def test_check_home_assistant_power_limits_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("number.battery_charge_power", "5", unit_of_measurement="A", max=100)
    server.set("input_number.battery_discharge_power", "5", unit_of_measurement="kW", min="low")
    assert [str(p) for p in _check(server, house)] == [
        "executor.charge_power (number.battery_charge_power): unit 'A' is not W or kW",
        "executor.charge_power (number.battery_charge_power): has no min attribute "
        "(limits are clamped to min and max)",
        "executor.discharge_power (input_number.battery_discharge_power): min attribute is "
        "'low', not a number",
        "executor.discharge_power (input_number.battery_discharge_power): has no max attribute "
        "(limits are clamped to min and max)",
    ]


def test_check_home_assistant_setpoint_units_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("number.battery_soc_target", "40", unit_of_measurement="kWh", min=0, max=10)
    server.set("input_number.water_setpoint", "130", unit_of_measurement="°F", min=70, max=180)
    problems = _check(server, house, **{"executor.water_heater": "input_number.water_setpoint"})
    assert [str(p) for p in problems] == [
        "executor.soc_target (number.battery_soc_target): unit 'kWh' is not %",
        "executor.water_heater (input_number.water_setpoint): unit '°F' is not °C",
    ]


def test_check_home_assistant_unavailable_control_named(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    server.set("switch.battery_grid_charging", "unavailable")
    assert [str(p) for p in _check(server, house)] == [
        "executor.grid_charging (switch.battery_grid_charging): state is 'unavailable': "
        "Darkstar could not write to it"
    ]


def test_check_home_assistant_reports_every_finding(
    server: StatefulFakeHomeAssistant, house: HomeAssistantHouse
) -> None:
    del server.states["sensor.pv_energy"]
    server.set("sensor.battery_soc", "unavailable", unit_of_measurement="%")
    server.set("select.inverter_mode", "hold", options=MODES[1:])
    problems = _check(server, house, **{"input_sensors.load_energy": None})
    assert [(p.key, p.entity_id) for p in problems] == [
        ("input_sensors.load_energy", None),
        ("input_sensors.battery_soc", "sensor.battery_soc"),
        ("input_sensors.pv_energy", "sensor.pv_energy"),
        ("executor.inverter_mode", "select.inverter_mode"),
    ]


def test_check_home_assistant_wrong_token_is_one_problem(
    server: StatefulFakeHomeAssistant,
) -> None:
    del server.states["sensor.pv_energy"]
    with HomeAssistantHouse(server.connection(token="wrong-token")) as intruder:
        problems = check_home_assistant(intruder, _config(server))
    assert problems == [
        Problem("home_assistant.token", None, "Home Assistant refused the token (401)")
    ]


def test_check_home_assistant_unreachable_is_one_problem(refused_url: str) -> None:
    cfg = DarkstarConfig.model_validate(config_dict(refused_url))
    with HomeAssistantHouse(HomeAssistantConnection(refused_url, TOKEN)) as house:
        problems = check_home_assistant(house, cfg)
    [problem] = problems
    assert problem.key == "home_assistant.url"
    assert problem.entity_id is None
    assert problem.message.startswith(f"cannot reach {refused_url}: ")


def test_configured_entities_in_config_order(server: StatefulFakeHomeAssistant) -> None:
    cfg = _config(server, **{"executor.grid_charging": None})
    assert configured_entities(cfg) == [
        (key, entity_id) for key, entity_id in ENTITIES.items() if key != "executor.grid_charging"
    ]
