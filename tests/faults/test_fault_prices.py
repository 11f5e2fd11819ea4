"""Nord Pool down, slow, answering garbage or a broken day, and late, during a simulated day.

The service runs in the fault rig (:mod:`fault_harness`): the live wiring on the sandbox
Home Assistant, on a simulated clock, with the Nord Pool stand-in on loopback. Each test
injects the fault while the day runs and checks what the issue asks: the last valid prices
are kept and planned on, ``/health`` and ``/status`` name the fault in words while it
lasts and drop it when it clears, ``schedule.json`` parses, and every slot has its one
observation row.
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
NOON = datetime(2018, 5, 15, 12, tzinfo=TZ).astimezone(UTC)  # Tuesday 15 May 2018
TOMORROW = NOON.date() + timedelta(days=1)
TODAY_END = datetime(2018, 5, 16, tzinfo=TZ)
TOMORROW_END = datetime(2018, 5, 17, tzinfo=TZ)


def _local(rig: FaultRig) -> tuple[int, int]:
    local = rig.now.astimezone(TZ)
    return local.hour, local.minute


def _plan_end(rig: FaultRig) -> datetime:
    return datetime.fromisoformat(rig.schedule()["schedule"][-1]["end"])


def _prices_problem(rig: FaultRig) -> str | None:
    problems = [p for p in rig.problems() if p.startswith("prices: ")]
    assert len(problems) <= 1, problems
    return problems[0] if problems else None


def _check_day(rig: FaultRig, start: datetime) -> None:
    """Every slot run has exactly one observation row; schedule.json parses."""
    ledger = rig.ledger(start, rig.now)
    assert len(ledger) == (rig.now - start) // timedelta(minutes=15)
    assert all(rows == 1 for rows, _ in ledger.values()), ledger
    assert unaccounted(ledger) == []
    assert rig.schedule()["meta"]["status"] in {"optimal", "feasible"}


def test_fault_prices_down_slow_garbage_wrong_then_recovered(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    def inject(rig: FaultRig) -> None:
        hour, minute = _local(rig)
        server = rig.nordpool
        if (hour, minute) == (12, 45):  # down just before tomorrow's prices are asked for
            server.fail_next(10_000, 503)
        elif (hour, minute) == (14, 0):  # slow: answers after 2 s, the client waits 1 s
            server.failures.clear()
            server.delay_s = 2.0
        elif (hour, minute) == (15, 0):  # up, but answering a maintenance page
            server.delay_s = 0.0
            server.garbage = True
        elif (hour, minute) == (16, 0):  # JSON, but a day with a quarter hour missing
            server.garbage = False
            server.wrong = True
        elif (hour, minute) == (17, 0):
            server.wrong = False

    seen: dict[int, str | None] = {}
    with fault_rig(ha, tmp_path, start=NOON) as rig:
        while rig.now < NOON + timedelta(hours=6):
            rig.step(each=inject)
            hour, minute = _local(rig)
            if minute == 15:  # just after an hourly plan
                seen[hour] = _prices_problem(rig)
                assert rig.runtime.agent.plan_problem is None  # every plan was made
                if 13 <= hour < 17:
                    # the last valid prices are kept and planned on, to their end
                    assert _plan_end(rig) == TODAY_END
                    assert rig.health()["status"] == "degraded"
        assert seen[12] is None
        assert seen[13] is not None
        assert seen[13].startswith(
            "prices: Nord Pool: prices for Wed 16 May not fetched since 13:00 (0 min): "
        )
        assert "answered 503" in seen[13]
        assert seen[13].endswith("planning on prices known until Wed 16 May 00:00")
        assert seen[14] is not None
        assert "not fetched since 13:00 (1 h): " in seen[14]
        assert "no answer from" in seen[14]
        assert "within 1 s (after 3 attempts)" in seen[14]
        assert seen[15] is not None
        assert "not fetched since 13:00 (2 h): " in seen[15]
        assert "is not JSON" in seen[15]
        assert seen[16] is not None
        assert "multiAreaEntries[10]" in seen[16]
        assert "contiguous" in seen[16]
        # recovered at 17:00: tomorrow is fetched, the fault is gone, the plan reaches on
        assert seen[17] is None
        assert _plan_end(rig) == TOMORROW_END
        assert rig.health()["status"] == "ok"
        prices_row = rig.status()["inputs"][0]
        assert prices_row["fault"] is None
        assert prices_row["detail"].startswith("known until 2018-05-17 00:00")
        _check_day(rig, NOON)


def test_fault_prices_late_publication_is_reported_after_15_cet_and_clears(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    def publish_late(rig: FaultRig) -> None:
        if _local(rig) == (16, 30):
            rig.serve_prices(TOMORROW)

    seen: dict[int, str | None] = {}
    with fault_rig(ha, tmp_path, start=NOON) as rig:
        rig.withhold_prices(TOMORROW)
        while rig.now < NOON + timedelta(hours=5, minutes=15):
            rig.step(each=publish_late)
            hour, minute = _local(rig)
            if minute == 15:
                seen[hour] = _prices_problem(rig)
        # not yet published before 15:00 CET is normal: nothing reported
        assert seen[12] is None
        assert seen[13] is None
        assert seen[14] is None
        assert seen[15] is not None
        assert seen[15].startswith(
            "prices: Nord Pool: prices for Wed 16 May not published yet "
            "(normally by 12:45 CET; now 15:00); next try "
        )
        assert seen[15].endswith("planning on prices known until Wed 16 May 00:00")
        assert seen[16] is not None
        assert "now 16:00" in seen[16]
        assert seen[17] is None  # published at 16:30, fetched with the 17:00 plan
        assert _plan_end(rig) == TOMORROW_END
        _check_day(rig, NOON)


def test_fault_prices_down_from_the_start_idles_then_plans_when_back(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    start = datetime(2018, 5, 15, 6, tzinfo=TZ).astimezone(UTC)
    with fault_rig(ha, tmp_path, start=start) as rig:
        rig.nordpool.fail_next(10_000, 503)
        rig.step(4)
        # nothing known, nothing invented: no plan, the executor idles, it is said
        agent = rig.runtime.agent
        assert agent.plan_document is None
        assert agent.plan_problem is not None
        assert agent.plan_problem.startswith("no price known for the slot at ")
        problem = _prices_problem(rig)
        assert problem is not None
        assert problem.startswith("prices: Nord Pool: prices for Tue 15 May not fetched since ")
        assert problem.endswith("no price known for now: no new plan until prices arrive")
        assert not (rig.data_dir / "schedule.json").exists()
        rig.nordpool.failures.clear()
        rig.step(4)
        assert agent.plan_document is not None
        assert _prices_problem(rig) is None
        ledger = rig.ledger(start, rig.now)
        # the slots before the first price have no price to record them with: flagged
        assert unaccounted(ledger) == []
        assert sum(rows for rows, _ in ledger.values()) >= 4
