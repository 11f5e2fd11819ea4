"""Adapters to the outside world: the only code that does network I/O.

Each subpackage speaks one external system and translates its names and units once, at
the boundary (DESIGN §1). :mod:`darkstar.sources.homeassistant` implements the house
interface (:class:`darkstar.house.House`) on Home Assistant.
"""

from __future__ import annotations

__all__: list[str] = []
