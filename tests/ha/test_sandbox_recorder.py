"""The recorder and backfill against the real Home Assistant sandbox.

Per-slot actuals come from HA's energy counters (integrals, not power snapshots); they are
compared with the simulated home's own meters. Then Darkstar is "down" for 3 hours while
the house runs on (the simulated home obeys the settings it was last given and keeps
publishing into HA), and backfill restores those 12 slots from HA's recorder history.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from darkstar.config import load_config
from darkstar.learning.backfill import backfill
from darkstar.learning.store.repository import read_plan_vs_actual
from darkstar.simulation.entities import SimEntity
from darkstar.simulation.ha_sandbox.run import open_sandbox_agent
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.learning.store.repository import ObservedSlot
    from darkstar.simulation.ha_sandbox import HomeAssistantInstance
    from darkstar.simulation.ha_sandbox.bridge import SandboxWorld

START = datetime(2018, 5, 15, 6, tzinfo=UTC)  # 08:00 local: PV, load and battery all move
SLOT = timedelta(minutes=15)
METERS = {
    "pv_kwh": SimEntity.PV_ENERGY,
    "load_kwh": SimEntity.LOAD_ENERGY,
    "grid_import_kwh": SimEntity.GRID_IMPORT_ENERGY,
    "grid_export_kwh": SimEntity.GRID_EXPORT_ENERGY,
    "battery_charge_kwh": SimEntity.BATTERY_CHARGE_ENERGY,
    "battery_discharge_kwh": SimEntity.BATTERY_DISCHARGE_ENERGY,
    "water_heater_kwh": SimEntity.WATER_HEATER_ENERGY,
}
# HA shows each counter at 3 decimals (kWh): a slot's delta is exact to 0.001 kWh
ABS_KWH = 0.0011
REL = 0.005


def _meters(world: SandboxWorld) -> dict[str, float]:
    counters = world.sim_world.house.counters_kwh
    return {field: counters[entity] for field, entity in METERS.items()}


def _close(observed: ObservedSlot, truth: dict[str, float]) -> list[str]:
    """Fields where the recorded slot differs from the meters by more than 0.5 %."""
    bad = []
    for field, value in truth.items():
        got = getattr(observed, field)
        if abs(got - value) > max(REL * abs(value), ABS_KWH):
            bad.append(f"{field}: recorded {got:.4f}, meter {value:.4f}")
    return bad


def test_counters_give_the_meters_and_backfill_restores_an_outage(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with HomeAssistantHouse(HomeAssistantConnection(url=ha.url, token=ha.token)) as house:
        agent, world = open_sandbox_agent(
            cfg=load_config(), out_dir=tmp_path / "sandbox", ha=house, start=START
        )
        truth: dict[datetime, dict[str, float]] = {}
        try:
            # 2 h with the agent recording every slot from HA's counters
            for _ in range(8):
                slot, before = world.house.now, _meters(world)
                agent.step()
                after = _meters(world)
                truth[slot] = {k: after[k] - before[k] for k in after}
            recorded = {
                r.slot_start: r.observed
                for r in read_plan_vs_actual(agent.store, start=START, end=START + 8 * SLOT)
            }
            assert len(recorded) == 8
            for slot, observed in recorded.items():
                assert observed is not None
                assert _close(observed, truth[slot]) == [], slot
            moved = sum(truth[s]["battery_charge_kwh"] + truth[s]["pv_kwh"] for s in truth)
            assert moved > 1.0  # the comparison is about energy that flowed

            # Darkstar down for 3 h: the house runs on and keeps publishing into HA
            down = world.house.now
            for _ in range(12):
                slot, before = world.house.now, _meters(world)
                world.advance()
                after = _meters(world)
                truth[slot] = {k: after[k] - before[k] for k in after}
            up = world.house.now
            time.sleep(2.0)  # the recorder commits every second
            report = backfill(
                world.house,
                entities=world.entities,
                store=agent.store,
                start=START,
                end=up,
                prices_at=world.prices_at,
            )
            assert report.slots_missing == 12
            assert report.slots_restored == 12, report.summary()
            assert report.gaps == ()
            rows = read_plan_vs_actual(agent.store, start=down, end=up)
            assert [r.slot_start for r in rows] == [down + k * SLOT for k in range(12)]
            worst = 0.0
            for row in rows:
                assert row.observed is not None
                assert _close(row.observed, truth[row.slot_start]) == [], row.slot_start
                worst = max(
                    worst,
                    max(
                        abs(getattr(row.observed, f) - v) for f, v in truth[row.slot_start].items()
                    ),
                )
            assert worst <= ABS_KWH

            # what HA never had (before the sandbox ran) is flagged, not invented
            early = backfill(
                world.house,
                entities=world.entities,
                store=agent.store,
                start=START - timedelta(hours=2),
                end=START,
                prices_at=world.prices_at,
            )
            assert early.slots_restored == 0
            assert early.slots_flagged == 8
            before_run = read_plan_vs_actual(
                agent.store, start=START - timedelta(hours=2), end=START
            )
            assert before_run == []
        finally:
            agent.store.close()
