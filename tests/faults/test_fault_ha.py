"""Home Assistant unreachable and Home Assistant restarting, during a simulated morning.

The service runs in the fault rig (:mod:`fault_harness`) and reaches the sandbox HA only
through a loopback cable:

* **cable cut** (HA keeps running and recording; the simulated home keeps publishing into
  it): nothing is read or written meanwhile (the executor is in its safe state, reported
  in words by ``/health`` and ``/status``), the slots are flagged, and once the cable is
  mended they are restored from HA's history, equal to the home's own meters;
* **HA process stopped and started** (it records nothing while down and then shows the
  old states as held): the slots it missed stay flagged gaps, never made-up zeros.

Both: no crash, no duplicated observation row, the fault dropped once HA answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fault_harness import FaultRig, fault_rig, unaccounted

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = [pytest.mark.ha, pytest.mark.slow]

TZ = ZoneInfo("Europe/Stockholm")
SIX = datetime(2018, 5, 15, 6, tzinfo=TZ).astimezone(UTC)
SLOT = timedelta(minutes=15)


def _house_problem(rig: FaultRig) -> str:
    problems = rig.problems()
    assert problems, "no problem reported"
    assert problems[0].startswith("house: no answer since 06:30 ("), problems
    return problems[0]


def _controls(rig: FaultRig) -> tuple[str, float, float]:
    inverter = rig.sandbox.sim_world.house.inverter
    return inverter.mode.value, inverter.charge_limit_kw, inverter.discharge_limit_kw


def test_fault_ha_cable_cut_holds_the_devices_then_backfills_from_history(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with fault_rig(ha, tmp_path, start=SIX) as rig:
        agent = rig.runtime.agent
        rig.step(2)
        rig.cable.cut()  # 06:30
        writes, settings = agent.writes, _controls(rig)
        for k in range(4):  # one hour without HA, a plan due at 07:00
            rig.step()
            problem = _house_problem(rig)
            assert f"({15 * (k + 1)} min): home_assistant.url: cannot reach " in problem
            assert "nothing is written to the house until it answers" in problem
            assert agent.safe_state == "SoC unreadable: nothing written"
            assert rig.health()["status"] == "degraded"
            assert rig.status()["executor"]["safe_state"] == "SoC unreadable: nothing written"
        assert agent.writes == writes  # never acted on what it could not read
        assert _controls(rig) == settings  # the devices kept their last settings
        rig.cable.mend()  # 07:30
        rig.step()
        assert rig.problems() == []
        assert agent.safe_state is None
        rig.run_until(SIX + timedelta(hours=2, minutes=15))  # the 08:00 backfill ran
        ledger = rig.ledger(SIX, rig.now)
        assert all(rows == 1 for rows, _ in ledger.values()), ledger
        cut = [SIX + 2 * SLOT + k * SLOT for k in range(4)]
        assert all("counters unreadable: slot not recorded" in str(ledger[s][1]) for s in cut)
        assert rig.misrecorded(SIX, rig.now) == []  # restored slots equal the meters
        assert rig.health()["status"] == "ok"
        assert rig.schedule()["meta"]["status"] in {"optimal", "feasible"}


def test_fault_ha_restart_leaves_the_missed_slots_as_flagged_gaps(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with fault_rig(ha, tmp_path, start=SIX) as rig:
        agent = rig.runtime.agent
        rig.step(2)
        ha.stop()  # 06:30
        try:
            writes = agent.writes
            for _ in range(3):
                rig.step()
                assert "home_assistant.url: cannot reach " in _house_problem(rig)
            assert agent.writes == writes
        finally:
            ha.start()
        rig.run_until(SIX + timedelta(hours=2, minutes=15))
        assert rig.problems() == []
        assert agent.writes > writes  # acting again, on fresh readings
        ledger = rig.ledger(SIX, rig.now)
        assert unaccounted(ledger) == []
        assert all(rows <= 1 for rows, _ in ledger.values())
        missed = [s for s, (rows, _) in ledger.items() if rows == 0]
        # HA recorded nothing while down: those slots are gaps, not zeros
        assert SIX + 2 * SLOT in missed
        assert SIX + 3 * SLOT in missed
        assert len(missed) <= 4
        assert rig.misrecorded(SIX, rig.now) == []
