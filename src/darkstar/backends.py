"""Wiring: which world the agent runs in (DESIGN §1: the service never builds a house).

:func:`open_runtime` opens the service's :class:`~darkstar.service.runtime.Runtime` on the
simulated home (SE4 2018 replayed, resuming after the stored history). The Home Assistant
world will be chosen here too, when the config has a ``home_assistant`` section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkstar.config.loader import load_config
from darkstar.service.runtime import Runtime, ensure_config_file
from darkstar.simulation.agent_run import open_agent

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

__all__ = ["open_runtime"]


def open_runtime(
    *, data_dir: Path, config_path: Path, speed: float, start: datetime | None = None
) -> Runtime:
    """Open the runtime on the simulated home.

    Parameters
    ----------
    data_dir : Path
        ``schedule.json``, ``planner_learning.db``, ``state.json``.
    config_path : Path
        The user's ``config.yaml`` (created with a header comment when missing).
    speed : float
        Simulated seconds per real second (> 0); ``inf`` runs without pausing.
    start : datetime or None
        Simulated start; ``None`` resumes after the stored history, or starts on 1 May.

    Raises
    ------
    ConfigError
        For an invalid ``config.yaml``.
    InputError
        For a ``start`` off the data year.
    """
    if not speed > 0:
        msg = f"speed: must be > 0, got {speed}"
        raise ValueError(msg)
    ensure_config_file(config_path)
    cfg = load_config(config_path)
    # the start is checked for a one-day run; the thread then runs to the end of the year
    agent, _, _ = open_agent(cfg=cfg, out_dir=data_dir, start=start, days=1.0, resume=True)
    return Runtime(agent=agent, data_dir=data_dir, config_path=config_path, speed=speed)
