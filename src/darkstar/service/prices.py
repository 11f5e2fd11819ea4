"""The price book: which day-ahead prices the agent knows, where from, and how old.

:class:`PriceBook` keeps the delivery days the plan needs (today and, once published,
tomorrow), reading each from the learning store's cache first and from its
:class:`PriceSource` (Nord Pool, or an HA sensor) only when the store does not have it
whole and final. A day arrives whole or not at all.

When the source fails, the book keeps what it has and plans on that: the horizon ends
where the known prices end, and :attr:`PriceBook.fault` says why in words a user reads
(shown in the plan's meta, ``/health``, ``/status`` and the Dashboard), e.g. ``Nord Pool:
prices for Wed 16 May not fetched since 13:00 (1 h 15 min): ... answered 503 ...; next
try 14:16; planning on prices known until Wed 16 May 00:00``, in the house's local time.
It tries again after a backoff that doubles from :data:`RETRY_FIRST` up to
:data:`RETRY_MAX`, in house time. Nothing is invented: no price is ever guessed for a
slot the market has not priced.

Retail prices come from the spot price with the configured tariff
(:class:`~darkstar.physics.tariff.TariffSpec`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol

from darkstar.errors import DarkstarError, InputError
from darkstar.learning.store.prices import load_price_day, store_price_day
from darkstar.market import MARKET_TZ, PriceDay, delivery_date_of
from darkstar.physics.tariff import TariffSpec

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from darkstar.config.models import TariffConfig
    from darkstar.learning.store import Store

__all__ = [
    "PUBLICATION",
    "RETRY_FIRST",
    "RETRY_MAX",
    "PriceBook",
    "PriceSource",
    "tariff_spec",
]

logger = logging.getLogger(__name__)

PUBLICATION = time(12, 45)
"""Nord Pool publishes the next delivery day around this CET time; not asked before."""

LATE = time(15, 0)
"""Tomorrow still unpublished at this CET time is reported (the auction is late)."""

RETRY_FIRST = timedelta(minutes=1)
"""Wait after the first failure (or an unpublished day) before asking again."""

RETRY_MAX = timedelta(minutes=30)
"""Longest wait between attempts."""

_SLOT = timedelta(minutes=15)


def tariff_spec(section: TariffConfig) -> TariffSpec:
    """Return the retail tariff of the config's ``tariff`` section."""
    return TariffSpec(
        grid_fee_sek_per_kwh=section.grid_fee_sek_per_kwh,
        energy_tax_sek_per_kwh=section.energy_tax_sek_per_kwh,
        vat_frac=section.vat_percent / 100.0,
        export_compensation_sek_per_kwh=section.export_compensation_sek_per_kwh,
    )


class PriceSource(Protocol):
    """Somewhere delivery days come from (``None``: not published yet)."""

    @property
    def name(self) -> str:
        """Where the prices come from, in words (``Nord Pool https://...``)."""
        ...

    def fetch_day(self, area: str, day: date, *, currency: str) -> PriceDay | None:
        """Return the day's prices, ``None`` when not published; raise on failure."""
        ...


@dataclass
class _Attempts:
    """When to ask for one day again, and how long the wait grew."""

    next_at: datetime
    wait: timedelta
    reason: str | None
    since: datetime
    """First failure of this run of failures (or first unpublished answer)."""


def _duration(span: timedelta) -> str:
    """``'35 min'``, ``'2 h 5 min'`` (whole minutes)."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


class PriceBook:
    """The delivery days the agent plans on, cached in the store.

    Parameters
    ----------
    source : PriceSource
        Where missing days are fetched.
    store : Store
        The learning store (the cache).
    area, currency : str
        Bidding area and currency asked for.
    tariff : TariffSpec
        Spot -> retail import and export price.
    tz : ZoneInfo, optional
        The house's local time, for the times in :attr:`fault` (default CET, the market's).
    """

    def __init__(
        self,
        *,
        source: PriceSource,
        store: Store,
        area: str,
        currency: str,
        tariff: TariffSpec,
        tz: ZoneInfo | None = None,
    ) -> None:
        self.source, self.store = source, store
        self.tz = MARKET_TZ if tz is None else tz
        self.area, self.currency, self.tariff = area, currency, tariff
        self.days: dict[date, PriceDay] = {}
        self.fault: str | None = None
        self.last_fetch_at: datetime | None = None
        self.fetches = 0
        self._attempts: dict[date, _Attempts] = {}
        self._past_failed: set[date] = set()

    def _wanted(self, now: datetime) -> list[date]:
        today = delivery_date_of(now)
        local = now.astimezone(MARKET_TZ)
        return [today, today + timedelta(days=1)] if local.time() >= PUBLICATION else [today]

    def refresh(self, now: datetime) -> None:
        """Make sure today's and (after publication) tomorrow's prices are known.

        Reads the cache first; asks the source only for a day the cache lacks (or holds
        as preliminary) and only when its backoff has passed. Sets :attr:`fault`.
        """
        faults = []
        for day in self._wanted(now):
            have = self.days.get(day)
            if have is not None and have.final:
                continue
            if have is None:
                cached = self._cached(day)
                if cached is not None:
                    self.days[day] = cached
                    if cached.final:
                        continue
            # missing or preliminary here: a failure to fetch it is a fault
            problem = self._fetch(day, now)
            if problem is not None:
                faults.append(problem)
        self.fault = None
        if faults:
            label = self.source.name.split(" (", 1)[0]
            self.fault = f"{label}: {'; '.join(faults)}; {self._planning_on(now)}"
        # keep yesterday (the plan in force may start there), drop older days
        oldest = delivery_date_of(now) - timedelta(days=1)
        for day in [d for d in self.days if d < oldest]:
            del self.days[day]

    def _local(self, moment: datetime, now: datetime) -> str:
        """``'14:16'`` today (house time), ``'Wed 16 May 00:00'`` on another day."""
        local = moment.astimezone(self.tz)
        same_day = local.date() == now.astimezone(self.tz).date()
        return local.strftime("%H:%M" if same_day else "%a %d %b %H:%M")

    def _planning_on(self, now: datetime) -> str:
        """Return what the plan can use, in words."""
        until = self.known_until(now)
        if until <= now:
            return "no price known for now: no new plan until prices arrive"
        return f"planning on prices known until {self._local(until, now)}"

    def _cached(self, day: date) -> PriceDay | None:
        """Return the day from the store's cache (whole), or ``None``."""
        return load_price_day(self.store, area=self.area, currency=self.currency, day=day)

    def _fetch(self, day: date, now: datetime) -> str | None:
        """Ask the source for ``day`` unless backing off; return a problem in words."""
        attempts = self._attempts.get(day)
        if attempts is not None and now < attempts.next_at:
            return self._problem(day, now, attempts)
        self.fetches += 1
        try:
            fetched = self.source.fetch_day(self.area, day, currency=self.currency)
        except (DarkstarError, OSError) as exc:
            logger.warning("prices for %s not fetched: %s", day, exc)
            return self._problem(day, now, self._back_off(day, now, str(exc)))
        if fetched is not None and fetched.currency != self.currency:
            reason = (
                f"answered in {fetched.currency} by {self.source.name}, not "
                f"{self.currency} (prices.currency)"
            )
            return self._problem(day, now, self._back_off(day, now, reason))
        self.last_fetch_at = now
        if fetched is None:
            return self._problem(day, now, self._back_off(day, now, None))
        self.days[day] = fetched
        self._attempts.pop(day, None)
        store_price_day(self.store, fetched, fetched_at=now)
        logger.info("prices for %s %s: %d slots", self.area, day, len(fetched.slots))
        return None

    def _problem(self, day: date, now: datetime, attempts: _Attempts) -> str | None:
        """Return what is wrong with ``day`` in words; an unpublished day only once due."""
        retry = self._local(attempts.next_at, now)
        named = f"prices for {day.strftime('%a %d %b')}"
        if attempts.reason is not None:
            since = self._local(attempts.since, now)
            return (
                f"{named} not fetched since {since} ({_duration(now - attempts.since)}): "
                f"{attempts.reason}; next try {retry}"
            )
        local = now.astimezone(MARKET_TZ)
        if day > local.date() and local.time() < LATE:
            return None  # tomorrow, before it is late: normal
        due = PUBLICATION.strftime("%H:%M")
        return (
            f"{named} not published yet (normally by {due} CET; now {self._local(now, now)}); "
            f"next try {retry}"
        )

    def _back_off(self, day: date, now: datetime, reason: str | None) -> _Attempts:
        """Wait before asking for ``day`` again (doubling); ``reason`` None: unpublished."""
        previous = self._attempts.get(day)
        wait = RETRY_FIRST if previous is None else min(previous.wait * 2, RETRY_MAX)
        same = previous is not None and (previous.reason is None) == (reason is None)
        since = previous.since if previous is not None and same else now
        attempts = _Attempts(next_at=now + wait, wait=wait, reason=reason, since=since)
        self._attempts[day] = attempts
        return attempts

    def known_until(self, now: datetime) -> datetime:
        """End of the contiguous prices known from the slot containing ``now``."""
        end = now - (now - datetime(2000, 1, 1, tzinfo=UTC)) % _SLOT
        while (day := self.days.get(delivery_date_of(end))) is not None:
            end = day.end
        return end

    def spot_at(self, moment: datetime) -> float | None:
        """Spot price of the slot containing ``moment``; ``None`` when unknown."""
        day = self.days.get(delivery_date_of(moment))
        return None if day is None else day.price_at(moment)

    def prices_at(self, moment: datetime) -> tuple[float, float] | None:
        """Retail import and export price of the slot containing ``moment``."""
        spot = self.spot_at(moment)
        return None if spot is None else self.tariff.prices_sek_per_kwh(spot)

    def past_prices_at(self, moment: datetime) -> tuple[float, float] | None:
        """Retail prices of a past slot, for recording it: memory, cache, then the source.

        A past day is asked of the source once per book (no backoff schedule: backfill
        is rare); ``None`` when it cannot be had.
        """
        day = delivery_date_of(moment)
        if day not in self.days and day not in self._past_failed:
            cached = self._cached(day)
            if cached is None:
                try:
                    cached = self.source.fetch_day(self.area, day, currency=self.currency)
                except (DarkstarError, OSError) as exc:
                    logger.warning("prices for %s (backfill) not fetched: %s", day, exc)
                    cached = None
                if cached is not None and cached.currency == self.currency:
                    store_price_day(self.store, cached)
                else:
                    cached = None
            if cached is None:
                self._past_failed.add(day)
                return None
            self.days[day] = cached
        return self.prices_at(moment)

    def slot_prices(self, start: datetime, end: datetime) -> list[tuple[float, float]]:
        """Retail prices of every 15-minute slot in ``[start, end)``; all must be known.

        Raises
        ------
        InputError
            Naming the first slot without a price.
        """
        out = []
        moment = start
        while moment < end:
            prices = self.prices_at(moment)
            if prices is None:
                raise InputError("prices", f"no price for the slot at {moment.isoformat()}")
            out.append(prices)
            moment += _SLOT
        return out

    def status(self, now: datetime) -> dict[str, object]:
        """Where the prices come from, how far they reach and what is wrong (JSON)."""
        until = self.known_until(now)
        return {
            "source": self.source.name,
            "area": self.area,
            "currency": self.currency,
            "known_until": until.isoformat(),
            "hours_ahead": round(max(0.0, (until - now).total_seconds() / 3600), 2),
            "last_fetch_at": None if self.last_fetch_at is None else self.last_fetch_at.isoformat(),
            "fault": self.fault,
        }
