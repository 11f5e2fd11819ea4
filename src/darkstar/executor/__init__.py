"""Executor: turns the current slot of the plan into device commands."""

from __future__ import annotations

from darkstar.executor.controller import (
    InverterMode,
    SlotCommand,
    WaterHeaterSetpoints,
    command_for_slot,
    idle_command,
)

__all__ = [
    "InverterMode",
    "SlotCommand",
    "WaterHeaterSetpoints",
    "command_for_slot",
    "idle_command",
]
