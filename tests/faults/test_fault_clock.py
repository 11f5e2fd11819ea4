"""The wall clock stepping (NTP forward and back) and the DST days, during a simulated day.

The service runs in the fault rig (:mod:`fault_harness`): the live wiring on the sandbox
Home Assistant, on a simulated clock. The service's wall clock is stepped against the
home's own time (which never steps: the service's monotonic clock), mid-slot and between
slots. Expected:

* **forward** (+2 h, five minutes into a slot): the slot in progress and the one jumped
  into are seen only in part, the slots jumped over were not run: all are flagged in the
  execution log (and backfilled from HA's history once it has them), never recorded as
  whole slots; the agent plans again at once;
* **back** (-1 h between slots; -30 min mid-slot): the slots it ran already are run again
  (the executor keeps acting, on a plan made at once) but not recorded again: their
  observation and execution-log rows stay as they were;
* ``/health`` and ``/status`` say ``clock: stepped forward by 2 h at 09:05: ...`` for an
  hour of the new clock; no crash, no duplicated row, every slot present or flagged;
* **DST** (the last Sundays of March and October in Stockholm): time inside is UTC, so
  nothing steps: no clock fault, every slot of the 23 h or 25 h night recorded once, the
  schedule's local times change their offset at 02:00/03:00.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from fault_files import check_schedule_file, check_store
from fault_harness import FaultRig, fault_rig

from darkstar.service.agent import DB_FILE

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = [pytest.mark.ha, pytest.mark.slow]

TZ = ZoneInfo("Europe/Stockholm")
SIX = datetime(2018, 5, 15, 6, tzinfo=TZ).astimezone(UTC)
SLOT = timedelta(minutes=15)
DAY = date(2018, 5, 15)


def _at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def _clock_problems(rig: FaultRig) -> list[str]:
    return [p for p in rig.problems() if p.startswith("clock: ")]


def _rows(rig: FaultRig, start: datetime, end: datetime) -> list[tuple[Any, ...]]:
    """Every stored row of the slots in ``[start, end)``: observations, then ticks."""
    lo, hi = int(start.timestamp()), int(end.timestamp())
    with contextlib.closing(sqlite3.connect(rig.data_dir / DB_FILE, timeout=10)) as conn:
        observed = conn.execute(
            "SELECT * FROM slot_observations WHERE slot_start_utc >= ? AND slot_start_utc < ? "
            "ORDER BY slot_start_utc",
            (lo, hi),
        ).fetchall()
        ticks = conn.execute(
            "SELECT * FROM execution_log WHERE slot_start_utc >= ? AND slot_start_utc < ? "
            "ORDER BY at_utc",
            (lo, hi),
        ).fetchall()
    return observed + ticks


def _planned_at(rig: FaultRig) -> datetime:
    return datetime.fromisoformat(rig.schedule()["meta"]["planned_at"]).astimezone(UTC)


def test_fault_clock_steps_forward_and_back_record_nothing_twice(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    with fault_rig(ha, tmp_path, start=SIX) as rig:
        agent = rig.runtime.agent
        rig.step(4)  # 06:00 - 07:00
        # --- +2 h five minutes into the 07:00 slot ---------------------------------------
        rig.clock.step(timedelta(hours=2), into_slot=timedelta(minutes=5))
        rig.step()  # the 07:00 slot, cut at 07:05 = 09:05
        assert rig.now == _at(9, 5)
        rig.step()  # the 09:00 slot from 09:05: planned again at once
        assert _planned_at(rig) == _at(9)
        assert _clock_problems(rig) == [
            "clock: stepped forward by 2 h at 09:05: the slots it skipped are flagged and "
            "backfilled from the house's history; planned again at once"
        ]
        assert rig.health()["status"] == "degraded"
        ledger = rig.ledger(_at(7), _at(9, 15))
        assert ledger[_at(7)][1] is not None
        assert "not seen whole" in ledger[_at(7)][1]
        assert ledger[_at(9)][1] is not None
        assert "not seen whole" in ledger[_at(9)][1]
        for k in range(1, 8):  # 07:15 - 08:45 were not run
            note = ledger[_at(7) + k * SLOT][1]
            assert note is not None
            assert note.startswith("not run (the clock moved on from 2018-05-15 07:15 to ")
        rig.run_until(_at(10, 15))  # an hour of the new clock: the fault is gone
        assert _clock_problems(rig) == []
        # --- -1 h between two slots, at 10:45 --------------------------------------------
        rig.run_until(_at(10, 45))
        before = _rows(rig, _at(9, 45), _at(10, 45))
        assert len(before) == 8  # four slots: observation and tick each
        writes = agent.writes
        rig.clock.step(timedelta(hours=-1))
        rig.step()  # the 09:45 slot again
        assert _planned_at(rig) == _at(9, 45)  # planned again at once
        assert _clock_problems(rig) == [
            "clock: stepped back by 1 h at 09:45: the slots it ran already are not "
            "recorded again; planned again at once"
        ]
        rig.run_until(_at(10, 45))  # 09:45 - 10:45 run again ...
        assert _rows(rig, _at(9, 45), _at(10, 45)) == before  # ... and not recorded again
        assert agent.writes > writes or agent.last_command is not None  # still acting
        assert agent.safe_state is None
        # --- -30 min five minutes into the 11:30 slot -----------------------------------
        rig.run_until(_at(11, 30))
        before = _rows(rig, _at(11), _at(11, 30))
        rig.clock.step(timedelta(minutes=-30), into_slot=timedelta(minutes=5))
        rig.step()  # the 11:30 slot, cut at 11:35 = 11:05
        assert rig.now == _at(11, 5)
        assert _clock_problems(rig)[0].startswith("clock: stepped back by 30 min at 11:05: ")
        rig.run_until(_at(12, 15))
        assert _rows(rig, _at(11), _at(11, 30)) == before
        ledger = rig.ledger(_at(11, 30), _at(11, 45))
        note = ledger[_at(11, 30)][1]
        assert note is not None
        assert "not seen whole" in note
        # --- afterwards: nothing corrupt, nothing twice, every slot present or flagged ---
        counts = check_store(rig.data_dir, start=SIX)
        assert counts["last"] >= int(_at(12).timestamp())
        check_schedule_file(rig.data_dir)
        assert rig.misrecorded(SIX, _at(7)) == []  # before any step: equal to the meters


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param(date(2018, 3, 25), 23, id="march-23h"),
        pytest.param(date(2018, 10, 28), 25, id="october-25h"),
    ],
)
def test_fault_clock_dst_night_is_no_clock_step(
    ha: HomeAssistantInstance, tmp_path: Path, day: date, hours: int
) -> None:
    midnight = _at(0, day=day)
    assert _at(0, day=day + timedelta(days=1)) - midnight == timedelta(hours=hours)
    end = _at(5, day=day)
    with fault_rig(ha, tmp_path, start=midnight) as rig:
        while rig.now < end:
            rig.step()
            assert rig.problems() == [], rig.now
        counts = check_store(rig.data_dir, start=midnight)
        assert counts["observed"] == (end - midnight) // SLOT  # every slot once
        assert counts["flagged"] == 0
        rows = check_schedule_file(rig.data_dir)["schedule"]
        starts = [datetime.fromisoformat(r["start"]) for r in rows]
        assert all(b - a == SLOT for a, b in zip(starts, starts[1:], strict=False))
        assert rig.misrecorded(midnight, end) == []
    # the night's slots in local time: 02:00-02:45 missing in March, twice in October
    local = [(midnight + k * SLOT).astimezone(TZ) for k in range((end - midnight) // SLOT)]
    twos = [t for t in local if t.hour == 2]
    assert len(twos) == (0 if hours == 23 else 8)
