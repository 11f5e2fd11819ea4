"""Pure physics and time functions: battery state of charge, the slot time grid."""

from __future__ import annotations

from darkstar.physics.battery import soc_after_slot_kwh, soc_trajectory_kwh
from darkstar.physics.timegrid import (
    ALLOWED_SLOT_MINUTES,
    check_slot_grid,
    local_midnights_utc,
    to_local_iso,
)

__all__ = [
    "ALLOWED_SLOT_MINUTES",
    "check_slot_grid",
    "local_midnights_utc",
    "soc_after_slot_kwh",
    "soc_trajectory_kwh",
    "to_local_iso",
]
