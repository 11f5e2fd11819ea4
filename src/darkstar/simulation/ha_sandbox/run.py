"""Open the agent in the sandbox: the simulated home behind a real Home Assistant.

:func:`open_sandbox_agent` is :func:`darkstar.simulation.agent_run.open_agent` with the
house swapped for the sandbox Home Assistant: the agent observes and acts only through HA
(:class:`~darkstar.simulation.ha_sandbox.bridge.SandboxWorld`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkstar.learning.store import open_store
from darkstar.service.agent import DB_FILE, AgentLoop
from darkstar.simulation.agent_run import DATA_AREA, DATA_TIMEZONE, DATA_YEAR, DEFAULT_START
from darkstar.simulation.backtest import draw_litres, house_spec
from darkstar.simulation.datasets import load_year
from darkstar.simulation.ha_sandbox.bridge import SandboxWorld
from darkstar.simulation.house import SimulatedHouse
from darkstar.simulation.world import SimulatedWorld

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.sources.homeassistant import HomeAssistantHouse

__all__ = ["open_sandbox_agent"]


def open_sandbox_agent(
    *,
    cfg: DarkstarConfig,
    out_dir: Path,
    ha: HomeAssistantHouse,
    start: datetime | None = None,
    initial_soc_percent: float | None = None,
) -> tuple[AgentLoop, SandboxWorld]:
    """Open the store and the sandbox world at ``start`` (default 1 May 2018, local midnight).

    The caller closes ``loop.store`` and ``ha``.
    """
    year = load_year(area=DATA_AREA, year=DATA_YEAR)
    start = DEFAULT_START if start is None else start
    soc = cfg.battery.min_soc_percent if initial_soc_percent is None else initial_soc_percent
    water = cfg.system.has_water_heater
    sim = SimulatedHouse(house_spec(cfg, initial_soc_percent=soc, water=water), start=start)
    draws = draw_litres(year, cfg, len(year.index), DATA_TIMEZONE) if water else None
    world = SandboxWorld(
        sim_world=SimulatedWorld(year=year, house=sim, timezone=DATA_TIMEZONE, draws_l=draws),
        ha=ha,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(out_dir / DB_FILE)
    return AgentLoop(world=world, cfg=cfg, store=store, out_dir=out_dir), world
