"""Tests for the agent loop on the simulated home (``darkstar.service.agent``)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from darkstar.config import load_config
from darkstar.errors import InputError
from darkstar.learning.store import open_store
from darkstar.learning.store.repository import PlanVsActual, read_plan_vs_actual
from darkstar.service import AgentTick, PlanEvent
from darkstar.simulation.agent_run import DEFAULT_START, AgentSummary, run_agent
from darkstar.simulation.entities import SimEntity

if TYPE_CHECKING:
    from pathlib import Path

SLOTS_PER_DAY = 96
FAULT_STEP = 8  # 02:00 local: a planning hour


@dataclasses.dataclass
class _Run:
    summary: AgentSummary
    ticks: list[AgentTick]
    rows: list[PlanVsActual]


def _run(out_dir: Path, *, faults: dict[int, str] | None = None) -> _Run:
    ticks: list[AgentTick] = []
    summary = run_agent(
        days=1,
        speed=0,
        start=None,
        out_dir=out_dir,
        cfg=load_config(),
        on_tick=ticks.append,
        sleep=lambda s: pytest.fail(f"slept {s} s at speed 0"),
        faults=faults,
    )
    store = open_store(summary.db_path)
    try:
        rows = read_plan_vs_actual(
            store, start=DEFAULT_START, end=DEFAULT_START + timedelta(days=1)
        )
    finally:
        store.close()
    return _Run(summary=summary, ticks=ticks, rows=rows)


@pytest.fixture(scope="module")
def day_run(tmp_path_factory: pytest.TempPathFactory) -> _Run:
    return _run(tmp_path_factory.mktemp("agent"))


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> _Run:
    return _run(tmp_path_factory.mktemp("fault"), faults={FAULT_STEP: SimEntity.BATTERY_SOC})


def test_run_agent_writes_valid_schedule(day_run: _Run) -> None:
    document = json.loads(day_run.summary.schedule_path.read_text(encoding="utf-8"))
    assert document["meta"]["status"] == "optimal"
    assert document["meta"]["mode"] == "full"
    # the last plan was made at 23:00 local and starts there
    last_plan_at = DEFAULT_START + timedelta(hours=23)
    assert datetime.fromisoformat(document["schedule"][0]["start"]) == last_plan_at


def test_run_agent_stores_96_observations_and_24_plans(day_run: _Run) -> None:
    summary, rows = day_run.summary, day_run.rows
    assert summary.db_path.name == "planner_learning.db"
    assert summary.slots_run == SLOTS_PER_DAY
    assert summary.plans_made == 24
    assert summary.plans_skipped == 0
    assert len(rows) == SLOTS_PER_DAY
    assert all(row.observed is not None for row in rows)
    # every hour's slots are covered last by the plan made at that hour
    plan_ids = [row.planned.plan_id for row in rows if row.planned is not None]
    assert len(plan_ids) == SLOTS_PER_DAY
    assert len(set(plan_ids)) == 24
    for hour in range(24):
        assert len(set(plan_ids[4 * hour : 4 * hour + 4])) == 1


def test_run_agent_observations_match_meters(day_run: _Run) -> None:
    observed = [row.observed for row in day_run.rows if row.observed is not None]
    totals = day_run.summary.meter_totals_kwh
    assert totals["grid_import_kwh"] > 0
    # the agent reads the counters as HA states (6 decimals), the totals are unrounded:
    # the sum of the deltas telescopes, so at most two roundings of 0.5e-6 apart
    for field, meter_kwh in totals.items():
        assert math.fsum(getattr(obs, field) for obs in observed) == pytest.approx(
            meter_kwh, abs=1e-6
        ), field


def test_run_agent_cost_is_import_cost_minus_export_revenue(day_run: _Run) -> None:
    observed = [row.observed for row in day_run.rows if row.observed is not None]
    expected = math.fsum(
        o.grid_import_kwh * o.import_price_sek_per_kwh
        - o.grid_export_kwh * o.export_price_sek_per_kwh
        for o in observed
    )
    summary = day_run.summary
    assert summary.total_cost_sek == pytest.approx(expected, abs=1e-9)
    assert day_run.ticks[-1].cost_sek == pytest.approx(expected, abs=1e-9)
    assert summary.last_day_metrics is not None
    assert summary.last_day_metrics.observed_slots == SLOTS_PER_DAY
    assert summary.last_day_metrics.actual_cost_sek == pytest.approx(expected, abs=1e-9)


def test_run_agent_ticks_once_per_slot(day_run: _Run) -> None:
    ticks = day_run.ticks
    assert [t.step for t in ticks] == list(range(SLOTS_PER_DAY))
    assert [t.at for t in ticks] == [
        DEFAULT_START + k * timedelta(minutes=15) for k in range(SLOTS_PER_DAY)
    ]
    assert [t.plan_event for t in ticks] == [
        PlanEvent.PLANNED if k % 4 == 0 else PlanEvent.KEPT for k in range(SLOTS_PER_DAY)
    ]
    assert all(t.solve_ms is not None for t in ticks[::4])
    assert all(t.soc_percent is not None and 0 <= t.soc_percent <= 100 for t in ticks)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ticks[0].cost_sek = 0.0  # type: ignore[misc]


def test_run_agent_unavailable_soc_keeps_previous_plan(fault_run: _Run) -> None:
    summary, ticks, rows = fault_run.summary, fault_run.ticks, fault_run.rows
    assert summary.plans_made == 23
    assert summary.plans_skipped == 1
    assert ticks[FAULT_STEP].plan_event is PlanEvent.SKIPPED
    assert ticks[FAULT_STEP].solve_ms is None
    assert ticks[FAULT_STEP].soc_percent is None  # nothing made up for the tick either
    # the hour without a new plan is executed from the plan made an hour earlier
    planned = [row.planned for row in rows]
    assert all(p is not None for p in planned)
    ids = [p.plan_id for p in planned if p is not None]
    hour_before = ids[FAULT_STEP - 4]
    assert ids[FAULT_STEP : FAULT_STEP + 4] == [hour_before] * 4
    assert ids[FAULT_STEP + 4] != hour_before
    assert len(rows) == SLOTS_PER_DAY
    assert all(row.observed is not None for row in rows)


def test_run_agent_sleeps_between_steps(tmp_path: Path) -> None:
    sleeps: list[float] = []
    summary = run_agent(
        days=0.25,
        speed=7200,
        start=datetime(2018, 6, 1, 10, tzinfo=UTC),
        out_dir=tmp_path,
        cfg=load_config(),
        sleep=sleeps.append,
    )
    assert summary.slots_run == 24
    assert summary.last_day_metrics is None
    assert sleeps == [pytest.approx(0.125)] * 23


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0.0}, "days"),
        ({"days": 400.0}, "days"),
        ({"start": DEFAULT_START + timedelta(minutes=5)}, "start"),
    ],
)
def test_run_agent_rejects_bad_run(tmp_path: Path, kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"days": 1.0, "start": None} | kwargs
    with pytest.raises(InputError) as info:
        run_agent(speed=0, out_dir=tmp_path, cfg=load_config(), **args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_unreadable_soc_writes_nothing_and_says_so(tmp_path: Path) -> None:
    from darkstar.simulation.agent_run import open_agent

    agent, world, _ = open_agent(cfg=load_config(), out_dir=tmp_path, days=1.0)
    try:
        agent.step()  # plans and writes the first slot
        house = world.house
        before = house.inverter
        writes: list[tuple[str, str]] = []
        real_call = house.call_service

        def spy(domain: str, service: str, data: object) -> None:
            writes.append((domain, service))
            real_call(domain, service, data)  # type: ignore[arg-type]

        house.call_service = spy  # type: ignore[method-assign]
        house.set_available(SimEntity.BATTERY_SOC, available=False)
        tick = agent.step()
        assert writes == []
        assert house.inverter == before
        assert agent.safe_state == "SoC unreadable: nothing written"
        assert tick.soc_percent is None
        assert agent.last_note is not None
        assert agent.last_note.startswith("SoC unreadable: nothing written")
        house.set_available(SimEntity.BATTERY_SOC, available=True)
        agent.step()
        assert agent.safe_state is None  # back to normal: the plan is followed again
        assert "nothing written" not in (agent.last_note or "")
    finally:
        agent.store.close()


def test_stale_plan_gives_safe_idle(tmp_path: Path) -> None:
    from darkstar.executor.controller import InverterMode
    from darkstar.service.agent import STALE_PLAN
    from darkstar.simulation.agent_run import open_agent

    agent, world, _ = open_agent(cfg=load_config(), out_dir=tmp_path, days=1.0)
    try:
        agent.step()
        agent.start += timedelta(minutes=1)  # never due again: no replanning
        for _ in range(int(STALE_PLAN / timedelta(minutes=15)) - 1):
            agent.step()
            assert agent.safe_state is None
        agent.step()
        assert agent.safe_state is not None
        assert agent.safe_state.startswith("plan stale")
        assert agent.last_command is not None
        assert agent.last_command.mode is InverterMode.HOLD
        assert world.house.inverter.mode == "hold"
    finally:
        agent.store.close()


def test_run_agent_plans_and_drives_the_water_heater(day_run: _Run) -> None:
    observed = [r.observed for r in day_run.rows if r.observed is not None]
    planned = [r.planned for r in day_run.rows if r.planned is not None]
    heated_kwh = sum(o.water_heater_kwh for o in observed)
    planned_kwh = sum(p.water_heating_kw * 0.25 for p in planned)
    assert planned_kwh > 0  # the plans heat the tank ...
    assert heated_kwh > 0.5 * planned_kwh  # ... and the executor makes it happen
    temps = [o.water_temp_c for o in observed if o.water_temp_c is not None]
    assert len(temps) == SLOTS_PER_DAY
    assert min(temps) >= 40.0  # the day's draws never left the tank cold
    assert day_run.summary.meter_totals_kwh["water_heater_kwh"] == pytest.approx(
        heated_kwh, abs=1e-5
    )
