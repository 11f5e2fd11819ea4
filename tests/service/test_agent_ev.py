"""The agent loop with a commuting car and a capacity tariff on the simulated home."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from darkstar.config import parse_config
from darkstar.learning.store.repository import read_plan_vs_actual
from darkstar.physics.capacity import counted_peaks_kw
from darkstar.simulation.agent_run import open_agent
from darkstar.simulation.entities import SimEntity

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.service.agent import AgentLoop
    from darkstar.simulation.world import SimulatedWorld

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2018, 1, 14, 23, tzinfo=UTC)  # Monday 15 January 2018, 00:00 local
CFG = parse_config(
    {
        "system": {"has_ev": True},
        "grid": {"capacity_tariff": {"sek_per_kw_month": 80.0}},
    }
)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[AgentLoop, SimulatedWorld, list]:
    out: Path = tmp_path_factory.mktemp("ev")
    agent, world, n_steps = open_agent(cfg=CFG, out_dir=out, start=START, days=1)
    seen = []  # (slot start, plugged in the slot, car charging kW, plan in force)
    assert world.car is not None
    for _ in range(n_steps):
        now = world.house.now
        plugged = bool(world.car.plugged[world.index_at(now)])
        agent.step()
        step = world.last_step
        assert step is not None
        seen.append((now, plugged, step.ev_charge_kw, agent.plan_document))
    yield agent, world, seen
    agent.store.close()


def test_the_car_is_planned_and_charged_only_while_plugged_in(day: tuple) -> None:
    _, _, seen = day
    assert all(s[3]["meta"]["ev"] is not None for s in seen)
    assert all(kw == 0.0 for _, plugged, kw, _ in seen if not plugged)
    assert sum(kw for _, plugged, kw, _ in seen if plugged) > 0.0
    # the charger runs at 0 or between its 4.1 kW floor and 11 kW
    assert all(kw == 0.0 or 4.1 - 1e-6 <= kw <= 11.0 + 1e-6 for _, _, kw, _ in seen)


def test_the_car_leaves_at_its_target(day: tuple) -> None:
    _, _, seen = day
    departures = [i for i in range(1, len(seen)) if seen[i - 1][1] and not seen[i][1]]
    assert len(departures) == 1  # Monday's commute
    left_at = seen[departures[0]][0].astimezone(TZ).time()
    assert left_at >= time(7, 0)  # the bundled trip leaves after the configured 07:00
    plan = seen[departures[0] - 1][3]["meta"]["ev"]
    assert plan["target_met"] is True


def test_month_peaks_are_the_bills_counted_values_from_the_store(day: tuple) -> None:
    agent, _, _ = day
    month_start = datetime(2018, 1, 1, tzinfo=TZ).astimezone(UTC)
    rows = read_plan_vs_actual(agent.store, start=month_start, end=agent.house.now)
    slots = [(r.slot_start, r.observed.grid_import_kwh / 0.25) for r in rows if r.observed]
    assert len(slots) == 96
    expected = counted_peaks_kw(slots, CFG.grid.capacity_tariff, tz=TZ, slot_h=0.25)
    assert agent.month_peaks_kw() == tuple(expected[2018, 1])
    # one counted value per day (distinct days): Monday, and Tuesday's first hour
    assert len(agent.month_peaks_kw()) == 1 + (agent.house.now.astimezone(TZ).hour > 0)


def test_an_unreadable_car_is_left_out_of_the_plan_and_alone(
    tmp_path: Path,
) -> None:
    agent, world, _ = open_agent(cfg=CFG, out_dir=tmp_path, start=START, days=1)
    try:
        agent.step()  # planned with the car; it charges or not as planned
        charger = world.house.get_state(SimEntity.EV_CHARGER).state
        world.house.set_available(SimEntity.EV_SOC, available=False)
        # the next hour's plan cannot read the car
        for _ in range(4):
            agent.step()
        assert agent.plan_document is not None
        assert agent.plan_document["meta"]["ev"] is None
        assert "car state unreadable" in str(agent.ev_problem)
        assert world.house.get_state(SimEntity.EV_CHARGER).state == charger
    finally:
        agent.store.close()


def test_the_car_state_is_read_with_the_configured_departure(day: tuple) -> None:
    agent, _, _ = day
    state = agent.observe_ev()
    assert state is not None
    assert state.departure is not None
    assert state.departure.astimezone(TZ).time() == time(7, 0)
    assert state.departure - agent.house.now <= timedelta(days=1)
    assert state.target_soc_percent == 80.0


def _ha_config(**ev_entities: str | None) -> dict:
    sensors = {
        k: f"sensor.{k}"
        for k in (
            "battery_soc",
            "pv_energy",
            "load_energy",
            "grid_import_energy",
            "grid_export_energy",
            "battery_charge_energy",
            "battery_discharge_energy",
        )
    }
    executor = {k: f"number.{k}" for k in ("charge_power", "discharge_power", "soc_target")}
    executor["inverter_mode"] = "select.mode"
    return {
        "system": {"has_ev": True},
        "input_sensors": sensors
        | {k: v for k, v in ev_entities.items() if k in ("ev_soc", "ev_plugged")},
        "executor": executor
        | {k: v for k, v in ev_entities.items() if k in ("ev_charger", "ev_charge_power")},
    }


def test_house_entities_read_the_cars_roles_from_the_config() -> None:
    from darkstar.service.world import HouseEntities

    cfg = parse_config(
        _ha_config(
            ev_soc="sensor.car_soc",
            ev_plugged="binary_sensor.car_plugged",
            ev_charger="switch.car_charger",
            ev_charge_power="number.car_power",
        )
    )
    entities = HouseEntities.from_config(cfg)
    assert entities.has_ev
    assert (entities.ev_soc, entities.ev_charger) == ("sensor.car_soc", "switch.car_charger")
    # without system.has_ev the car's entities are not used
    off = cfg.model_copy(update={"system": cfg.system.model_copy(update={"has_ev": False})})
    assert not HouseEntities.from_config(off).has_ev


def test_a_car_without_its_entities_is_refused_naming_the_key() -> None:
    from darkstar.errors import ConfigError
    from darkstar.service.world import HouseEntities

    cfg = parse_config(_ha_config(ev_soc="sensor.car_soc"))
    with pytest.raises(ConfigError, match=r"input_sensors\.ev_plugged"):
        HouseEntities.from_config(cfg)
