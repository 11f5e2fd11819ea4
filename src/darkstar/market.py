"""The day-ahead market: bidding areas, delivery days and a day's spot prices.

Pure types and rules, no I/O: :mod:`darkstar.sources.nordpool` parses replies into
:class:`PriceDay`, the learning store caches them and the service plans on them.

The day-ahead market (SDAC, Nord Pool's ``DayAhead``) trades one *delivery day* at a
time: 00:00 to 24:00 Central European time (CET/CEST), whatever the area's own clock.
A normal day has 24 hours or 96 quarter-hours (15-minute MTU since 1 October 2025); the
day the clocks go forward has 23 hours (92 quarter-hours), the day they go back 25
(100). Prices are published around 12:45 CET for the next day.

>>> day = date(2025, 10, 26)  # clocks go back: a 25-hour delivery day
>>> start, end = delivery_window(day)
>>> start.isoformat(), end.isoformat(), (end - start) // timedelta(minutes=15)
('2025-10-25T22:00:00+00:00', '2025-10-26T23:00:00+00:00', 100)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from darkstar.errors import InputError

__all__ = [
    "AREA_TIMEZONES",
    "MARKET_TZ",
    "PriceDay",
    "SpotSlot",
    "area_timezone",
    "delivery_date_of",
    "delivery_window",
]

MARKET_TZ: Final = ZoneInfo("Europe/Berlin")
"""Central European time: the clock of the delivery day."""

AREA_TIMEZONES: Final[dict[str, str]] = {
    **{f"SE{i}": "Europe/Stockholm" for i in range(1, 5)},
    **{f"NO{i}": "Europe/Oslo" for i in range(1, 6)},
    "DK1": "Europe/Copenhagen",
    "DK2": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "EE": "Europe/Tallinn",
    "LV": "Europe/Riga",
    "LT": "Europe/Vilnius",
    "SYS": "Europe/Oslo",
    "DE-LU": "Europe/Berlin",
    "GER": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "BG": "Europe/Sofia",
    "TEL": "Europe/Bucharest",
}
"""Local time of each bidding area Nord Pool publishes; other areas print in CET."""

_RESOLUTIONS: Final = (timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1))


def area_timezone(area: str) -> ZoneInfo:
    """Return the local time zone of ``area`` (CET for an area not in :data:`AREA_TIMEZONES`).

    >>> area_timezone("FI").key, area_timezone("XX").key
    ('Europe/Helsinki', 'Europe/Berlin')
    """
    return ZoneInfo(AREA_TIMEZONES.get(area, MARKET_TZ.key))


def delivery_window(day: date) -> tuple[datetime, datetime]:
    """Return the UTC start and end of the delivery day ``day`` (CET midnight to midnight)."""
    start = datetime.combine(day, time(0), tzinfo=MARKET_TZ)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=MARKET_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def delivery_date_of(moment: datetime) -> date:
    """Return the delivery day containing ``moment`` (tz-aware).

    >>> delivery_date_of(datetime(2025, 3, 29, 23, 30, tzinfo=UTC))
    datetime.date(2025, 3, 30)
    """
    return moment.astimezone(MARKET_TZ).date()


@dataclass(frozen=True)
class SpotSlot:
    """One market time unit: its UTC window and spot price.

    Attributes
    ----------
    start, end : datetime
        Tz-aware UTC.
    spot_per_kwh : float
        Spot price per kWh in the day's currency; may be negative.
    """

    start: datetime
    end: datetime
    spot_per_kwh: float


@dataclass(frozen=True)
class PriceDay:
    """One area's spot prices for one delivery day, validated.

    Attributes
    ----------
    area : str
        Bidding area (``SE3``).
    currency : str
        ISO code of the prices (``SEK``, ``EUR``).
    delivery_date : date
        The CET delivery day.
    slots : tuple of SpotSlot
        Contiguous, equally long, covering the delivery day exactly.
    final : bool
        Whether the market says the prices are final (not preliminary).
    updated_at : datetime or None
        When the market last changed them, UTC.

    Raises
    ------
    InputError
        Naming the field, when a price is not finite, the slots are not contiguous and
        equally long (15, 30 or 60 minutes) or do not cover the delivery day.
    """

    area: str
    currency: str
    delivery_date: date
    slots: tuple[SpotSlot, ...]
    final: bool = True
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.slots:
            raise InputError("slots", f"no prices for {self.area} on {self.delivery_date}")
        start, end = delivery_window(self.delivery_date)
        step = self.slots[0].end - self.slots[0].start
        if step not in _RESOLUTIONS:
            raise InputError("slots[0]", f"lasts {step}; expected 15, 30 or 60 minutes")
        expected = start
        for i, slot in enumerate(self.slots):
            if slot.start.utcoffset() != timedelta(0) or slot.end.utcoffset() != timedelta(0):
                raise InputError(f"slots[{i}]", "times must be tz-aware UTC")
            if slot.start != expected or slot.end - slot.start != step:
                raise InputError(
                    f"slots[{i}]",
                    f"starts {slot.start.isoformat()} and lasts {slot.end - slot.start}; "
                    f"expected {expected.isoformat()} and {step} (contiguous, equal slots)",
                )
            if not math.isfinite(slot.spot_per_kwh):
                raise InputError(f"slots[{i}]", f"price is {slot.spot_per_kwh}, not finite")
            expected = slot.end
        if expected != end:
            raise InputError(
                "slots",
                f"end at {expected.isoformat()}; the delivery day {self.delivery_date} "
                f"ends at {end.isoformat()}",
            )

    @property
    def resolution(self) -> timedelta:
        """Length of one slot (15 or 60 minutes, usually)."""
        return self.slots[0].end - self.slots[0].start

    @property
    def start(self) -> datetime:
        """UTC start of the delivery day."""
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        """UTC end of the delivery day."""
        return self.slots[-1].end

    def price_at(self, moment: datetime) -> float | None:
        """Spot price of the slot containing ``moment``; ``None`` outside the day."""
        if not self.start <= moment < self.end:
            return None
        return self.slots[(moment - self.start) // self.resolution].spot_per_kwh

    def rows(self) -> list[dict[str, str | float]]:
        """Return the day as ``darkstar prices --json`` prints it (a documented contract).

        One ``{"start", "end", "spot_per_kwh", "currency"}`` per slot; times are ISO 8601
        in the area's local time with their UTC offset.

        >>> utc = datetime(2025, 9, 30, 22, tzinfo=UTC)
        >>> slots = tuple(
        ...     SpotSlot(utc + timedelta(hours=h), utc + timedelta(hours=h + 1), 0.1 * h)
        ...     for h in range(24)
        ... )
        >>> PriceDay("SE3", "SEK", date(2025, 10, 1), slots).rows()[1]
        {'start': '2025-10-01T01:00:00+02:00', 'end': '2025-10-01T02:00:00+02:00', \
'spot_per_kwh': 0.1, 'currency': 'SEK'}
        """
        tz = area_timezone(self.area)
        return [
            {
                "start": s.start.astimezone(tz).isoformat(),
                "end": s.end.astimezone(tz).isoformat(),
                "spot_per_kwh": s.spot_per_kwh,
                "currency": self.currency,
            }
            for s in self.slots
        ]
