"""Day-ahead prices from a Home Assistant sensor (``prices.source: home_assistant``).

The Nord Pool custom integration (and template sensors built like it) keeps the day's and
tomorrow's prices in the attributes ``raw_today`` and ``raw_tomorrow``: lists of
``{"start": ISO time, "end": ISO time, "value": price per kWh}``, with the sensor's
``currency`` attribute. :class:`HomeAssistantPriceSensor` reads one delivery day from
them as a :class:`~darkstar.market.PriceDay` (validated: whole, contiguous, finite), so
the price book treats it exactly like Nord Pool. Only today and tomorrow are there: an
older day is ``None`` (not available), as is tomorrow before publication.

Prices must be spot prices per kWh; a sensor whose ``unit_of_measurement`` is per MWh is
converted, and one that includes the retail tariff should not be used (the tariff is
added from config, it would count twice).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError
from darkstar.house import HouseError
from darkstar.market import PriceDay, SpotSlot, delivery_window

if TYPE_CHECKING:
    from darkstar.house import House

__all__ = ["HomeAssistantPriceSensor"]

_KEYS = ("raw_today", "raw_tomorrow")


def _time(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise HouseError(field, f"{value!r} is not an ISO time") from None
    if moment.utcoffset() is None:
        raise HouseError(field, f"{value!r} has no UTC offset")
    return moment.astimezone(UTC)


class HomeAssistantPriceSensor:
    """Delivery days from a price sensor's ``raw_today``/``raw_tomorrow`` attributes."""

    def __init__(self, house: House, entity_id: str) -> None:
        self.house, self.entity_id = house, entity_id

    @property
    def name(self) -> str:
        """Where the prices come from, in words."""
        return f"Home Assistant {self.entity_id}"

    def fetch_day(self, area: str, day: date, *, currency: str) -> PriceDay | None:
        """Return ``day`` from the sensor's attributes; ``None`` when it does not hold it.

        Raises
        ------
        HouseError
            Naming the entity and attribute: unreadable sensor, entries without times or
            prices, or a day that is not whole.
        """
        state = self.house.get_state(self.entity_id)
        unit = str(state.attributes.get("unit_of_measurement") or "")
        scale = 1e-3 if "mwh" in unit.lower() else 1.0
        start, end = delivery_window(day)
        for key in _KEYS:
            entries = state.attributes.get(key) or []
            if not isinstance(entries, list):
                raise HouseError(f"{self.entity_id}.{key}", "is not a list")
            slots = []
            for i, entry in enumerate(entries):
                field = f"{self.entity_id}.{key}[{i}]"
                if not isinstance(entry, dict):
                    raise HouseError(field, "is not an object")
                value = entry.get("value")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise HouseError(f"{field}.value", f"{value!r} is not a price")
                if not math.isfinite(value):
                    raise HouseError(f"{field}.value", f"{value} is not finite")
                slot = SpotSlot(
                    _time(entry.get("start"), f"{field}.start"),
                    _time(entry.get("end"), f"{field}.end"),
                    float(value) * scale,
                )
                if start <= slot.start < end:
                    slots.append(slot)
            if not slots:
                continue
            try:
                return PriceDay(
                    area=area,
                    currency=str(state.attributes.get("currency") or currency),
                    delivery_date=day,
                    slots=tuple(sorted(slots, key=lambda s: s.start)),
                )
            except InputError as exc:
                raise HouseError(f"{self.entity_id}.{key}", exc.message) from None
        return None
