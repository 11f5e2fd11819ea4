"""The house interface: what the agent needs from a home, whichever backend runs it.

Two backends implement :class:`House`: the Home Assistant adapter
(:mod:`darkstar.sources.homeassistant`) and the simulated home
(:mod:`darkstar.simulation.house`). The service talks only to this interface; the demo and
``serve`` wire a backend in from outside. States are Home Assistant-shaped (strings plus
attributes); :mod:`darkstar.house.units` turns them into numbers in our units, once,
and refuses what it cannot read.
"""

from __future__ import annotations

from darkstar.house.interface import (
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityState,
    House,
    HouseError,
    Unsubscribe,
)
from darkstar.house.units import (
    Quantity,
    UnreadableState,
    read_number,
    read_on_off,
)

__all__ = [
    "STATE_UNAVAILABLE",
    "STATE_UNKNOWN",
    "EntityState",
    "House",
    "HouseError",
    "Quantity",
    "UnreadableState",
    "Unsubscribe",
    "read_number",
    "read_on_off",
]
