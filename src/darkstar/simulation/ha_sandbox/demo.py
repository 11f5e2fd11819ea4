"""``darkstar ha-demo``: the whole system on the simulated home *through* a real Home Assistant.

Starts the sandbox Home Assistant (:func:`~darkstar.simulation.ha_sandbox.running_home_assistant`),
opens the agent in the :class:`~darkstar.simulation.ha_sandbox.bridge.SandboxWorld` (every
read and write goes through HA's REST API) and serves the UI, as ``darkstar serve`` does.
Home Assistant's own UI is at the printed address (user ``darkstar``, password
``darkstar-sandbox``): its entities move as the simulated home runs and the agent acts.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from darkstar.config.loader import load_config
from darkstar.service.runtime import Runtime, ensure_config_file
from darkstar.simulation.ha_sandbox.instance import (
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    running_home_assistant,
)
from darkstar.simulation.ha_sandbox.run import open_sandbox_agent
from darkstar.sources.homeassistant import (
    HomeAssistantConnection,
    HomeAssistantHouse,
    publish_plan,
)
from darkstar.web.server import ServeOptions, serve

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path

__all__ = ["run_ha_demo"]


def run_ha_demo(
    *,
    data_dir: Path,
    port: int = 8000,
    speed: float = 180.0,
    warmup_hours: float = 24.0,
    announce: Callable[[str], None] = print,
) -> None:
    """Start the sandbox Home Assistant and serve Darkstar on it until interrupted."""
    announce("Darkstar: starting the sandbox Home Assistant ...")
    with running_home_assistant(data_dir / "home-assistant") as ha:
        announce(
            f"Home Assistant: {ha.url}  (user {SANDBOX_USERNAME}, password {SANDBOX_PASSWORD}; "
            f"started in {ha.startup_s:.1f} s)"
        )
        house = HomeAssistantHouse(HomeAssistantConnection(url=ha.url, token=ha.token))

        def open_runtime(
            *, data_dir: Path, config_path: Path, speed: float, start: datetime | None
        ) -> Runtime:
            ensure_config_file(config_path)
            agent, _ = open_sandbox_agent(
                cfg=load_config(config_path), out_dir=data_dir, ha=house, start=start
            )
            runtime = Runtime(agent=agent, data_dir=data_dir, config_path=config_path, speed=speed)
            runtime.after_step = partial(publish_plan, house)
            return runtime

        try:
            serve(
                ServeOptions(
                    port=port, data_dir=data_dir / "serve", speed=speed, warmup_hours=warmup_hours
                ),
                open_runtime=open_runtime,
                announce=announce,
            )
        finally:
            house.close()
