"""The solver timing out during a simulated afternoon: an incumbent, or the safe fallback.

The service runs in the fault rig (:mod:`fault_harness`). A full Kepler solve of the
afternoon's horizon (140 slots with the water heater) takes about half a second here, so

* **time limit with an incumbent**: ``kepler.time_limit_s`` set to its minimum (0.1 s)
  through ``PUT /config`` makes HiGHS stop at the limit: the plan in force is the best
  found (``feasible``, termination ``Time limit reached``), said with its gap;
* **time limit without one**: HiGHS ending at the limit with no solution is injected in
  process (``solve_kepler`` raising :class:`NoSolutionError`, as it does then): the plan
  in force is the rule-based fallback, with Kepler's reason.

Both: ``schedule.json`` valid and written, the executor acting on it, the fault in words
in ``/health`` and ``/status`` (``planner: ...``) while that plan is in force, gone after
the next optimal plan; every slot observed once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from fault_files import check_schedule_file, check_store
from fault_harness import FaultRig, fault_rig

from darkstar.planner.solver import fallback
from darkstar.planner.solver.kepler import NoSolutionError

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.planner.solver.types import KeplerInput, KeplerResult
    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = [pytest.mark.ha, pytest.mark.slow]

TZ = ZoneInfo("Europe/Stockholm")
ONE = datetime(2018, 5, 15, 13, tzinfo=TZ).astimezone(UTC)
HOUR = timedelta(hours=1)
SLOT = timedelta(minutes=15)


def _planner_problems(rig: FaultRig) -> list[str]:
    return [p for p in rig.problems() if p.startswith("planner: ")]


def _meta(rig: FaultRig) -> dict[str, Any]:
    meta: dict[str, Any] = check_schedule_file(rig.data_dir)["meta"]
    assert meta == rig.api.client.get("/schedule").json()["meta"]  # the file is the plan
    return meta


def _time_limit(rig: FaultRig, seconds: float) -> None:
    reply = rig.api.client.put("/config", json={"changes": {"kepler.time_limit_s": seconds}})
    assert reply.status_code == 200, reply.text


def test_fault_solver_time_limit_gives_the_incumbent_or_the_fallback(
    ha: HomeAssistantInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fault_rig(ha, tmp_path, start=ONE) as rig:
        agent = rig.runtime.agent
        rig.step()
        meta = _meta(rig)
        assert meta["status"] == "optimal"
        assert meta["solve_time_ms"] > 150  # a full solve takes longer than the limit below
        assert rig.problems() == []
        # --- 13:15: the time limit at its minimum, through the API -----------------------
        _time_limit(rig, 0.1)
        rig.run_until(ONE + HOUR + SLOT)  # the 14:00 plan
        meta = _meta(rig)
        assert meta["planned_at"].startswith("2018-05-15T14:00")
        assert meta["solver"]["termination"] == "Time limit reached"
        if meta["status"] == "feasible":  # HiGHS had an incumbent: the best found
            gap = 100 * float(meta["mip_gap"])
            assert _planner_problems(rig) == [
                "planner: the plan of 14:00 is the best Kepler found within "
                f"kepler.time_limit_s (0.1 s): gap to the optimum {gap:.1f} %"
            ]
        else:  # none at all: the fallback
            assert meta["status"] == "fallback"
        assert rig.health()["status"] == "degraded"
        assert agent.last_command is not None
        assert agent.safe_state is None

        # --- 14:15: no solution at the limit (injected): the rule-based fallback ---------
        def no_incumbent(kin: KeplerInput) -> KeplerResult:
            raise NoSolutionError("Time limit reached")

        monkeypatch.setattr(fallback, "solve_kepler", no_incumbent)
        rig.run_until(ONE + 2 * HOUR + SLOT)  # the 15:00 plan
        meta = _meta(rig)
        assert meta["status"] == "fallback"
        reason = "solver found no solution (Time limit reached)"
        assert meta["fallback_reason"] == reason
        assert _planner_problems(rig) == [
            f"planner: the plan of 15:00 is the rule-based fallback: Kepler gave no plan ({reason})"
        ]
        notices = [n.message for n in rig.runtime.notices]
        assert f"planner fell back to the heuristic: {reason}" in notices
        assert agent.last_command is not None
        # --- 15:15: the solver back, the default limit: optimal, the fault gone ----------
        monkeypatch.undo()
        _time_limit(rig, 10.0)
        rig.run_until(ONE + 3 * HOUR + SLOT)  # the 16:00 plan
        assert _meta(rig)["status"] == "optimal"
        assert rig.problems() == []
        counts = check_store(rig.data_dir, start=ONE)
        assert counts["observed"] == (rig.now - ONE) // SLOT
        assert rig.misrecorded(ONE, rig.now) == []
