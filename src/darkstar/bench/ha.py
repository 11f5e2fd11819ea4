"""Bench of one observe -> plan -> act cycle against the real sandbox Home Assistant.

:func:`run_ha_bench` starts the sandbox (:mod:`darkstar.simulation.ha_sandbox`), opens the
agent in the :class:`~darkstar.simulation.ha_sandbox.bridge.SandboxWorld` and times each
agent step: observe the SoC over HA's REST API, plan when due (every hour), write the
slot's command to HA's entities (only what changed) and read the counters back. The
simulated home's own step (applying HA's controls, physics, publishing its meters) is
timed apart: a real house does that itself. Goal: a cycle under 2 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

from darkstar.bench.planner import table_console
from darkstar.config import load_config
from darkstar.errors import InputError
from darkstar.service.agent import PlanEvent
from darkstar.simulation.ha_sandbox.instance import running_home_assistant
from darkstar.simulation.ha_sandbox.run import open_sandbox_agent
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

__all__ = ["TARGET_CYCLE_S", "HaBenchResult", "print_ha_bench", "run_ha_bench"]

TARGET_CYCLE_S = 2.0
"""Goal for one observe -> plan -> act cycle against Home Assistant [s]."""


@dataclass(frozen=True, kw_only=True)
class HaBenchResult:
    """Cycle times and writes of one bench run (times in ms)."""

    slots: int
    plan_cycles_ms: list[float]
    other_cycles_ms: list[float]
    house_step_ms: list[float]
    writes: int
    ha_startup_s: float

    @property
    def worst_cycle_ms(self) -> float:
        """The slowest cycle, with or without planning [ms]."""
        return max(self.plan_cycles_ms + self.other_cycles_ms)


def run_ha_bench(*, slots: int = 96) -> HaBenchResult:
    """Run ``slots`` agent cycles through the sandbox Home Assistant and time them."""
    if slots < 4:
        raise InputError("slots", f"must be >= 4, got {slots}")
    plan_ms: list[float] = []
    other_ms: list[float] = []
    house_ms: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="darkstar-bench-ha-") as folder,
        running_home_assistant(Path(folder) / "ha") as ha,
        HomeAssistantHouse(HomeAssistantConnection(url=ha.url, token=ha.token)) as house,
    ):
        agent, world = open_sandbox_agent(cfg=load_config(), out_dir=Path(folder), ha=house)
        advance = world.advance

        def timed_advance(tick: Callable[[], None] | None = None) -> None:
            started = time.perf_counter()
            advance(tick)
            house_ms.append(1000 * (time.perf_counter() - started))

        world.advance = timed_advance  # type: ignore[method-assign]
        try:
            for _ in range(slots):
                started = time.perf_counter()
                tick = agent.step()
                total_ms = 1000 * (time.perf_counter() - started) - house_ms[-1]
                (plan_ms if tick.plan_event is PlanEvent.PLANNED else other_ms).append(total_ms)
        finally:
            agent.store.close()
        startup = ha.startup_s
    return HaBenchResult(
        slots=slots,
        plan_cycles_ms=plan_ms,
        other_cycles_ms=other_ms,
        house_step_ms=house_ms,
        writes=agent.writes,
        ha_startup_s=startup,
    )


def _row(name: str, values: list[float]) -> tuple[str, ...]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        name,
        str(len(values)),
        f"{statistics.median(values):.0f}",
        f"{p95:.0f}",
        f"{max(values):.0f}",
    )


def print_ha_bench(result: HaBenchResult, console: Console | None = None) -> None:
    """Print the cycle times as a table with the verdict."""
    console = console or table_console()
    table = Table(
        title=f"Darkstar agent cycle through Home Assistant ({result.slots} slots)",
        box=box.SIMPLE_HEAD,
        caption="observe (REST reads) -> plan (when due) -> act (writes on change) -> "
        "read counters; the simulated home's own step is timed apart [ms]",
    )
    for header in ("cycle", "n", "median", "p95", "max"):
        table.add_column(header, justify="right")
    table.add_row(*_row("with planning", result.plan_cycles_ms))
    table.add_row(*_row("without planning", result.other_cycles_ms))
    table.add_row(*_row("simulated home step", result.house_step_ms))
    console.print(table)
    per_cycle = result.writes / result.slots
    console.print(
        f"writes: {result.writes} service calls in {result.slots} cycles "
        f"({per_cycle:.2f} per cycle); Home Assistant started in {result.ha_startup_s:.1f} s"
    )
    verdict = "met" if result.worst_cycle_ms < 1000 * TARGET_CYCLE_S else "NOT met"
    console.print(f"goal: every cycle under {TARGET_CYCLE_S:g} s: {verdict}")
