"""The agent loop driving the simulated home through a real Home Assistant (the sandbox).

The agent observes and acts only through HA; the simulated home publishes its meters into
HA and obeys HA's control entities. A sandbox day is compared with the same day run
directly on the simulated home.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from darkstar.config import load_config
from darkstar.learning.store.repository import read_plan_vs_actual
from darkstar.simulation.agent_run import open_agent
from darkstar.simulation.entities import SimEntity
from darkstar.simulation.ha_sandbox.bridge import SANDBOX_HOUSE_ENTITIES
from darkstar.simulation.ha_sandbox.run import open_sandbox_agent
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.executor.controller import SlotCommand
    from darkstar.service.agent import AgentLoop
    from darkstar.simulation.ha_sandbox import HomeAssistantInstance
    from darkstar.simulation.ha_sandbox.bridge import SandboxWorld

START = datetime(2018, 5, 14, 22, tzinfo=UTC)  # 15 May 2018, local midnight
DAY = 96
CONTROLS = [
    SANDBOX_HOUSE_ENTITIES.inverter_mode,
    SANDBOX_HOUSE_ENTITIES.charge_power,
    SANDBOX_HOUSE_ENTITIES.discharge_power,
    SANDBOX_HOUSE_ENTITIES.soc_target,
]


@pytest.fixture
def house(ha: HomeAssistantInstance) -> Iterator[HomeAssistantHouse]:
    with HomeAssistantHouse(HomeAssistantConnection(url=ha.url, token=ha.token)) as h:
        yield h


@pytest.fixture
def sandbox(house: HomeAssistantHouse, tmp_path: Path) -> Iterator[tuple[AgentLoop, SandboxWorld]]:
    agent, world = open_sandbox_agent(
        cfg=load_config(), out_dir=tmp_path / "sandbox", ha=house, start=START
    )
    yield agent, world
    agent.store.close()


def _changes(commands: list[SlotCommand]) -> int:
    """Values the executor had to change: every field that differs from the slot before."""
    # the first command sets mode, both limits, the target and the water setpoint
    changed = 4 + (commands[0].water_setpoint_c is not None)
    fields = ("mode", "charge_limit_kw", "discharge_limit_kw", "soc_target_percent")
    for before, after in zip(commands, commands[1:], strict=False):
        a, b = dataclasses.asdict(before), dataclasses.asdict(after)
        changed += sum(a[k] != b[k] for k in fields)
        changed += a["water_setpoint_c"] != b["water_setpoint_c"]
        changed += (a["mode"] == "force_charge") != (b["mode"] == "force_charge")  # grid switch
    return changed


def test_a_sandbox_day_matches_the_same_day_on_the_simulated_home(
    sandbox: tuple[AgentLoop, SandboxWorld], tmp_path: Path
) -> None:
    agent, world = sandbox
    direct, direct_world, _ = open_agent(
        cfg=load_config(), out_dir=tmp_path / "direct", start=START, days=1.0
    )
    commands = []
    try:
        for _ in range(DAY):
            direct_tick, tick = direct.step(), agent.step()
            cmd = agent.last_command
            assert cmd is not None
            commands.append(cmd)
            # the simulated inverter got exactly what the agent wrote to HA
            inverter = world.sim_world.house.inverter
            assert inverter.mode == cmd.mode
            assert inverter.charge_limit_kw == pytest.approx(cmd.charge_limit_kw, abs=1e-6)
            assert inverter.discharge_limit_kw == pytest.approx(cmd.discharge_limit_kw, abs=1e-6)
            # and the battery went where it went without HA in between (0.01 % SoC rounding)
            assert tick.soc_percent == pytest.approx(direct_tick.soc_percent, abs=0.02)
        # the day's cost through HA is the cost run directly (the goal: within 1 %)
        assert direct.cost_sek != 0
        assert agent.cost_sek == pytest.approx(direct.cost_sek, rel=0.01)
        rows = read_plan_vs_actual(agent.store, start=START, end=world.house.now)
        assert len(rows) == DAY
        assert all(r.planned is not None and r.observed is not None for r in rows)
        assert world.sim_world.house.soc_kwh == pytest.approx(direct_world.house.soc_kwh, abs=1e-3)
        # writes only on change: never more service calls than values that changed
        assert 0 < agent.writes <= _changes(commands)
        assert world.bridge.last_error is None
    finally:
        direct.store.close()


def test_shadow_mode_writes_nothing_to_home_assistant(
    sandbox: tuple[AgentLoop, SandboxWorld], house: HomeAssistantHouse
) -> None:
    agent, _ = sandbox
    agent.shadow = True
    before = house.get_states(CONTROLS)
    for _ in range(8):
        agent.step()
    after = house.get_states(CONTROLS)
    assert agent.writes == 0
    assert {k: (v.state, v.last_updated) for k, v in after.items()} == {
        k: (v.state, v.last_updated) for k, v in before.items()
    }
    assert (agent.last_note or "").startswith("shadow mode: not applied")


def test_unavailable_soc_in_home_assistant_writes_nothing(
    sandbox: tuple[AgentLoop, SandboxWorld], house: HomeAssistantHouse
) -> None:
    agent, world = sandbox
    agent.step()
    world.sim_world.house.set_available(SimEntity.BATTERY_SOC, available=False)
    world.bridge.publish()  # HA now shows the SoC sensor unavailable
    assert house.get_state(SANDBOX_HOUSE_ENTITIES.battery_soc).state == "unavailable"
    writes, before = agent.writes, house.get_states(CONTROLS)
    for _ in range(4):
        tick = agent.step()
        assert tick.soc_percent is None
        assert agent.safe_state == "SoC unreadable: nothing written"
    assert agent.writes == writes
    assert house.get_states(CONTROLS) == before
    world.sim_world.house.set_available(SimEntity.BATTERY_SOC, available=True)
    world.bridge.publish()  # the sensor is back in HA
    agent.step()
    assert agent.safe_state is None


def test_a_home_assistant_restart_mid_run_is_survived(
    sandbox: tuple[AgentLoop, SandboxWorld], ha: HomeAssistantInstance
) -> None:
    agent, world = sandbox
    for _ in range(4):
        agent.step()
    ha.stop()
    try:
        for _ in range(2):  # Home Assistant down: nothing read, nothing written, no crash
            tick = agent.step()
            assert tick.soc_percent is None
            assert agent.safe_state == "SoC unreadable: nothing written"
            assert "counters unreadable" in (agent.last_note or "")
    finally:
        ha.start()
    world.bridge.publish()
    for _ in range(4):
        tick = agent.step()
    assert tick.soc_percent is not None
    assert agent.safe_state is None
    assert "unreadable" not in (agent.last_note or "")
    observed = [
        r.slot_start
        for r in read_plan_vs_actual(agent.store, start=START, end=world.house.now)
        if r.observed is not None
    ]
    # the two slots while HA was down are gaps, never made-up numbers
    assert len(observed) == 8


def test_home_assistant_down_at_start_is_reported_and_retried(
    ha: HomeAssistantInstance, house: HomeAssistantHouse, tmp_path: Path
) -> None:
    ha.stop()
    try:
        agent, world = open_sandbox_agent(  # no exception: the agent starts
            cfg=load_config(), out_dir=tmp_path / "down", ha=house, start=START
        )
        for _ in range(2):
            agent.step()
            assert agent.safe_state == "SoC unreadable: nothing written"
            assert agent.house_error is not None
            assert agent.house_error.startswith("home_assistant.url: cannot reach")
            assert world.bridge.last_error is not None
    finally:
        ha.start()
    try:
        world.bridge.publish()
        for _ in range(2):
            agent.step()
        assert agent.house_error is None
        assert agent.safe_state is None
        assert agent.writes > 0
    finally:
        agent.store.close()


def test_the_served_loop_publishes_its_plan_into_home_assistant(
    sandbox: tuple[AgentLoop, SandboxWorld], house: HomeAssistantHouse, tmp_path: Path
) -> None:
    import math

    from darkstar.service.runtime import Runtime, ensure_config_file
    from darkstar.sources.homeassistant import publish_plan

    agent, world = sandbox
    config_path = tmp_path / "config.yaml"
    ensure_config_file(config_path)
    runtime = Runtime(agent=agent, data_dir=tmp_path, config_path=config_path, speed=math.inf)
    runtime.after_step = lambda document, now, cost: publish_plan(house, document, now, cost)
    runtime.warm_up(2)
    action = house.get_state("sensor.darkstar_current_action")
    row = agent.current_row()
    assert row is not None
    assert action.state == row["action"]
    schedule = house.get_state("sensor.darkstar_battery_schedule")
    assert len(schedule.attributes["schedule"]) > 8
    status = house.get_state("sensor.darkstar_plan_status")
    # "feasible" when the soft stop (2 % after 1 s) ended the solve on a loaded machine
    assert status.state == agent.plan_document["meta"]["status"]
    assert status.state in {"optimal", "feasible"}
    assert house.get_state("sensor.darkstar_cost_today").attributes["unit_of_measurement"] == "SEK"
