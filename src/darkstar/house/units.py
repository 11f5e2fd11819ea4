"""Units at the house boundary: an HA state string and its unit -> a number in our units.

The map below is the only place a Home Assistant unit is interpreted
(STYLE §A.5): power becomes kW, energy kWh, state of charge %, current A, voltage V and
temperature °C. A state that is not a finite number (``unavailable``, ``unknown``, empty,
``nan``) or a unit that is not in the map for the quantity asked raises
:class:`UnreadableState` naming the entity: it is never turned into a number.
"""

from __future__ import annotations

import math
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from darkstar.house.interface import HouseError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from darkstar.house.interface import EntityState

__all__ = ["UNIT_MAP", "Quantity", "UnreadableState", "read_number", "read_on_off"]


class Quantity(StrEnum):
    """What a numeric entity measures, and so which units it may carry."""

    POWER_KW = "power_kw"
    ENERGY_KWH = "energy_kwh"
    PERCENT = "percent"
    CURRENT_A = "current_a"
    VOLTAGE_V = "voltage_v"
    TEMPERATURE_C = "temperature_c"


def _scale(factor: float) -> Callable[[float], float]:
    return lambda value: value * factor


def _fahrenheit(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


UNIT_MAP: Mapping[Quantity, Mapping[str, Callable[[float], float]]] = MappingProxyType(
    {
        Quantity.POWER_KW: {"W": _scale(1e-3), "kW": _scale(1.0), "MW": _scale(1e3)},
        Quantity.ENERGY_KWH: {"Wh": _scale(1e-3), "kWh": _scale(1.0), "MWh": _scale(1e3)},
        Quantity.PERCENT: {"%": _scale(1.0)},
        Quantity.CURRENT_A: {"A": _scale(1.0), "mA": _scale(1e-3)},
        Quantity.VOLTAGE_V: {"V": _scale(1.0), "mV": _scale(1e-3), "kV": _scale(1e3)},
        Quantity.TEMPERATURE_C: {"°C": _scale(1.0), "°F": _fahrenheit},
    }
)
"""Accepted HA units per quantity, each with its conversion to our unit."""


class UnreadableState(HouseError):
    """An entity's state cannot be read as the quantity asked; names the entity."""

    def __init__(self, entity_id: str, message: str) -> None:
        self.entity_id = entity_id
        super().__init__(entity_id, message)


def read_number(state: EntityState, quantity: Quantity) -> float:
    """Return the state as a number in our unit for ``quantity``.

    Parameters
    ----------
    state : EntityState
        The HA-shaped state; its ``unit_of_measurement`` attribute names the unit.
    quantity : Quantity
        What the entity is expected to measure.

    Returns
    -------
    float
        kW, kWh, %, A, V or °C.

    Raises
    ------
    UnreadableState
        For a non-numeric or non-finite state, or a unit unknown for ``quantity``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from darkstar.house.interface import EntityState
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> read_number(EntityState("sensor.pv", "1500", {"unit_of_measurement": "W"}, at),
    ...             Quantity.POWER_KW)
    1.5
    >>> read_number(EntityState("sensor.pv", "unavailable", {"unit_of_measurement": "W"}, at),
    ...             Quantity.POWER_KW)
    Traceback (most recent call last):
    ...
    darkstar.house.units.UnreadableState: sensor.pv: state is 'unavailable', not a number
    """
    unit = str(state.attributes.get("unit_of_measurement"))
    units = UNIT_MAP[quantity]
    if unit not in units:
        known = ", ".join(units)
        raise UnreadableState(
            state.entity_id, f"unit {unit!r} is not one of {known} (for {quantity})"
        )
    try:
        value = float(state.state)
    except ValueError:
        raise UnreadableState(state.entity_id, f"state is {state.state!r}, not a number") from None
    if not math.isfinite(value):
        raise UnreadableState(state.entity_id, f"state is {state.state!r}, not a finite number")
    return units[unit](value)


def read_on_off(state: EntityState) -> bool:
    """Return a binary state (``binary_sensor``, ``switch``, ``input_boolean``) as a bool.

    Raises
    ------
    UnreadableState
        For anything but ``"on"`` or ``"off"`` (``unavailable``, ``unknown``...).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from darkstar.house.interface import EntityState
    >>> at = datetime(2026, 1, 1, tzinfo=UTC)
    >>> read_on_off(EntityState("binary_sensor.car_plugged", "on", {}, at))
    True
    >>> read_on_off(EntityState("binary_sensor.car_plugged", "unknown", {}, at))
    Traceback (most recent call last):
    ...
    darkstar.house.units.UnreadableState: binary_sensor.car_plugged: state is 'unknown', not on/off
    """
    if state.state not in {"on", "off"}:
        raise UnreadableState(state.entity_id, f"state is {state.state!r}, not on/off")
    return state.state == "on"
