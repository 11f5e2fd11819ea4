"""Where the target-SoC floor applies: the first slot ending at the configured local hour."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from darkstar.planner.inputs.types import PlannerInput

__all__ = ["target_soc_slot"]


def target_soc_slot(pin: PlannerInput, *, hour: int) -> int | None:
    """Index of the first slot whose end is ``hour``:00 local time, or None if none is."""
    for i, slot in enumerate(pin.slots):
        end_local = (slot.start + pin.slot_duration).astimezone(pin.timezone)
        if end_local.hour == hour and end_local.minute == 0:
            return i
    return None
