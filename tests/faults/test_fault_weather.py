"""Open-Meteo down during a simulated day: PV from the last forecast, else climatology, said.

The service runs in the fault rig (:mod:`fault_harness`); the Open-Meteo stand-in answers
503 from the start (no forecast ever fetched: the PV prior is clear sky x climatology),
recovers at 11:00, fails again from 12:00 (the last forecast is planned on) and recovers
at 14:00. ``/health`` and ``/status`` name the fault in words while it lasts and drop it
when it clears; every plan is made; every slot has its observation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fault_harness import FaultRig, down_reply, fault_rig, unaccounted

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = [pytest.mark.ha, pytest.mark.slow]

TZ = ZoneInfo("Europe/Stockholm")
MORNING = datetime(2018, 5, 15, 9, tzinfo=TZ).astimezone(UTC)


def _pv_problem(rig: FaultRig) -> str | None:
    problems = [p for p in rig.problems() if p.startswith("PV forecast: ")]
    assert len(problems) <= 1, problems
    return problems[0] if problems else None


def test_fault_weather_down_plans_on_climatology_then_the_last_forecast(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    def inject(rig: FaultRig) -> None:
        local = rig.now.astimezone(TZ)
        if (local.hour, local.minute) in {(11, 0), (14, 0)}:
            rig.openmeteo.replies = [rig.weather_ok]
        elif (local.hour, local.minute) == (12, 0):
            rig.openmeteo.replies = [down_reply()]

    seen: dict[int, str | None] = {}
    midday_pv_kwh: dict[int, float] = {}
    with fault_rig(ha, tmp_path, start=MORNING) as rig:
        rig.openmeteo.replies = [down_reply()]
        while rig.now < MORNING + timedelta(hours=5, minutes=15):
            rig.step(each=inject)
            local = rig.now.astimezone(TZ)
            if local.minute == 15:  # just after an hourly plan
                seen[local.hour] = _pv_problem(rig)
                assert rig.runtime.agent.plan_problem is None  # every plan was made
                rows = rig.schedule()["schedule"]
                midday_pv_kwh[local.hour] = max(r["adjusted_pv_kwh"] for r in rows[:16])
        # down from the start: the prior is clear sky x climatology, and it says so
        assert seen[9] is not None
        assert seen[9].startswith(
            "PV forecast: Open-Meteo: no new weather forecast since 09:00 (0 min): "
        )
        assert "answered 503: service unavailable (after 4 attempts); next try 09:10" in seen[9]
        assert "PV from clear-sky x climatology (no weather forecast)" in seen[9]
        assert seen[10] is not None
        assert "since 09:00 (1.0 h)" in seen[10]
        assert midday_pv_kwh[9] > 0.2  # a May morning: the prior has sun, not zeros
        # back at 11:00: fetched, the fault is gone
        assert seen[11] is None
        # down again from 12:00: the forecast fetched at 11:00 is planned on, said so
        assert seen[12] is not None
        assert seen[12].startswith(
            "PV forecast: Open-Meteo: no new weather forecast since 12:00 (0 min): "
        )
        assert seen[12].endswith("PV from last Open-Meteo forecast issued Tue 15 May 11:00")
        assert seen[13] is not None
        assert seen[13].endswith("issued Tue 15 May 11:00 (2.0 h old)")
        assert seen[14] is None
        assert rig.health()["status"] == "ok"
        pv_row = rig.status()["inputs"][1]
        assert pv_row["name"] == "PV forecast"
        assert pv_row["fault"] is None
        ledger = rig.ledger(MORNING, rig.now)
        assert all(rows == 1 for rows, _ in ledger.values())
        assert unaccounted(ledger) == []
