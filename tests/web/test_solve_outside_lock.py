"""Reads never wait for a plan's MILP: plans are solved outside the runtime lock.

The agent's hourly plan is drafted under ``Runtime.lock``, solved outside it and put in
force under it again; plans of other callers (a saved manual block) are put in force in the
order they were drafted. Each test holds a solve open on an event, so a read or a write that
waited for it would time out instead of passing by luck.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from darkstar.backends import open_runtime
from darkstar.service.agent import PlanTurn
from darkstar.service.priority import BACKGROUND_NICE

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.service.runtime import Runtime


class HeldSolve:
    """Make the next :meth:`PlanTurn.solve` wait until :meth:`release` (once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.released = threading.Event(), threading.Event()
        self.solved_blocks: list[int] = []  # manual blocks of each solved draft, in order
        real = PlanTurn.solve

        def solve(turn: PlanTurn) -> None:
            if turn.draft is not None and turn.solved is None:  # adopt_plan calls it again
                self.solved_blocks.append(len(turn.draft.manual_blocks))
            if not self.entered.is_set():
                self.entered.set()
                assert self.released.wait(20), "the held solve was never released"
            real(turn)

        monkeypatch.setattr(PlanTurn, "solve", solve)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_runtime(data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf)
    rt.warm_up(1)  # the first plan, one measured slot
    yield rt
    rt.stop()


def _step_until_a_plan_solves(runtime: Runtime, held: HeldSolve) -> threading.Thread:
    """Run steps in a thread until one's plan is held in its solve (a plan is due hourly)."""

    def steps() -> None:
        for _ in range(4):
            runtime.step()
            if held.entered.is_set():
                return

    thread = threading.Thread(target=steps, daemon=True)
    thread.start()
    assert held.entered.wait(30), "no plan became due within four steps"
    return thread


def test_reads_do_not_wait_for_the_hourly_solve(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = runtime.agent.plan_document
    assert before is not None
    held = HeldSolve(monkeypatch)
    thread = _step_until_a_plan_solves(runtime, held)
    try:
        began = time.monotonic()
        status = runtime.status()  # takes the runtime lock
        with runtime.lock:
            in_force = runtime.agent.plan_document
        assert time.monotonic() - began < 2.0
        assert status["plan"]["planned_at"] == before["meta"]["planned_at"]
        assert in_force is before  # the plan being solved is not in force yet
    finally:
        held.release()
        thread.join(30)
    assert not thread.is_alive()
    after = runtime.agent.plan_document
    assert after is not None
    assert after is not before
    planned_at = datetime.fromisoformat(after["meta"]["planned_at"])
    assert planned_at - datetime.fromisoformat(before["meta"]["planned_at"]) == timedelta(hours=1)
    assert runtime.strategy[-1].kind == "plan"  # the new plan was announced


def test_blocks_saved_during_a_solve_are_in_the_plan_in_force(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldSolve(monkeypatch)
    thread = _step_until_a_plan_solves(runtime, held)
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    block = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=3)).isoformat(),
        "action": "hold",
    }
    saver = threading.Thread(target=runtime.save_blocks, args=([block],), daemon=True)
    try:
        saver.start()
        saver.join(1.0)
        assert saver.is_alive()  # its plan waits for the plan drafted before the blocks
        assert held.solved_blocks == [0]
    finally:
        held.release()
        thread.join(30)
        saver.join(30)
    assert not saver.is_alive()
    assert held.solved_blocks == [0, 1]  # in the order drafted: without, then with
    document = runtime.agent.plan_document
    assert document is not None
    rows = [r for r in document["schedule"] if block["start"] <= r["start"] < block["end"]]
    assert rows
    assert all(r["reason"] == "manual_block" for r in rows)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_plans_are_solved_in_the_background_solver_thread(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int]] = []
    real = PlanTurn.solve

    def solve(turn: PlanTurn) -> None:
        if turn.draft is not None and turn.solved is None:  # adopt_plan calls it again
            tid = threading.get_native_id()
            seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, tid)))
        real(turn)

    monkeypatch.setattr(PlanTurn, "solve", solve)
    for _ in range(4):  # a plan is due hourly
        runtime.step()
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen
    assert all(name.startswith("darkstar-solver") for name, _ in seen)
    assert {nice for _, nice in seen} == {min(19, caller + BACKGROUND_NICE)}
    runtime.stop()  # the solver thread ends with the runtime
    assert not any(t.name.startswith("darkstar-solver") for t in threading.enumerate())
