"""A real local Home Assistant that plays the simulated home, for integration tests and the demo.

:mod:`~darkstar.simulation.ha_sandbox.config` writes its configuration (helpers and template
sensors mirroring :mod:`darkstar.simulation.entities`) and
:mod:`~darkstar.simulation.ha_sandbox.instance` starts, onboards and stops it. Home Assistant
itself lives in its own Python 3.13 venv, installed by ``make ha-venv``.
"""

from __future__ import annotations

from darkstar.simulation.ha_sandbox.config import (
    RAW_MAX,
    RAW_UNAVAILABLE,
    SANDBOX_ENTITIES,
    SandboxEntity,
    render_configuration,
    write_config,
)
from darkstar.simulation.ha_sandbox.instance import (
    HA_VENV_ENV,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    HomeAssistantInstance,
    SandboxError,
    default_ha_venv,
    running_home_assistant,
)

__all__ = [
    "HA_VENV_ENV",
    "RAW_MAX",
    "RAW_UNAVAILABLE",
    "SANDBOX_ENTITIES",
    "SANDBOX_PASSWORD",
    "SANDBOX_USERNAME",
    "HomeAssistantInstance",
    "SandboxEntity",
    "SandboxError",
    "default_ha_venv",
    "render_configuration",
    "running_home_assistant",
    "write_config",
]
