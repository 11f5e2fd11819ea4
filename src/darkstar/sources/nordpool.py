"""Nord Pool day-ahead prices from the public data-portal API.

``GET {base}/DayAheadPrices?date=YYYY-MM-DD&market=DayAhead&deliveryArea=SE3&currency=SEK``
answers ``200`` with one delivery day::

    {"deliveryDateCET": "2025-10-01", "version": 3, "updatedAt": "2025-09-30T11:04:21Z",
     "deliveryAreas": ["SE3"], "market": "DayAhead", "currency": "SEK",
     "multiAreaEntries": [{"deliveryStart": "2025-09-30T22:00:00Z",
                           "deliveryEnd": "2025-09-30T22:15:00Z",
                           "entryPerArea": {"SE3": 412.37}}, ...],
     "areaStates": [{"state": "Final", "areas": ["SE3"]}], ...}

with prices per MWh in ``currency`` (hourly entries before 1 October 2025, quarter-hours
since), and ``204 No Content`` while the day is not published yet (tomorrow's prices
appear around 12:45 CET). This adapter converts once: per MWh -> per kWh, ISO ``Z`` ->
tz-aware UTC, and checks the day (:class:`darkstar.market.PriceDay`): every slot priced,
contiguous, covering the CET delivery day (92, 96 or 100 quarter-hours).

Failures are one :class:`NordPoolError` line naming ``prices.nordpool_url`` and what
happened; connection errors, time-outs, ``429`` and ``5xx`` are retried with exponential
backoff first. A day not published is not an error: :meth:`NordPoolClient.fetch_day`
returns ``None``.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import httpx2 as httpx

from darkstar.errors import AdapterError, InputError
from darkstar.market import PriceDay, SpotSlot
from darkstar.sources.http import RetriesExhausted, get_with_retries

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_URL", "NordPoolClient", "NordPoolError", "parse_day"]

logger = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://dataportal-api.nordpoolgroup.com/api"
"""The public data-portal API (``prices.nordpool_url``)."""

SOURCE: Final = "prices.nordpool_url"
_ENDPOINT: Final = "DayAheadPrices"
_MAX_BODY_CHARS: Final = 200


class NordPoolError(AdapterError):
    """Nord Pool could not be reached or answered something unusable."""

    def __init__(self, message: str) -> None:
        super().__init__(SOURCE, message)


def _utc(text: Any, field: str) -> datetime:
    if not isinstance(text, str):
        raise NordPoolError(f"reply: {field} is {text!r}, not an ISO time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise NordPoolError(f"reply: {field} is {text!r}, not an ISO time") from None
    if moment.utcoffset() is None:
        raise NordPoolError(f"reply: {field} is {text!r}, without a UTC offset")
    return moment.astimezone(UTC)


def _final(reply: dict[str, Any], area: str) -> bool:
    """Whether ``areaStates`` calls the area's prices final (absent: final)."""
    for entry in reply.get("areaStates") or []:
        if isinstance(entry, dict) and area in (entry.get("areas") or []):
            return str(entry.get("state", "Final")).lower() == "final"
    return True


def parse_day(reply: Any, *, area: str, day: date, currency: str) -> PriceDay | None:
    """Parse one ``DayAheadPrices`` reply into a :class:`PriceDay` (per kWh, UTC).

    ``None`` when the reply holds no entries (not published). ``currency`` is what was
    asked for; the reply's own ``currency`` wins when present (the caller compares).

    Raises
    ------
    NordPoolError
        Naming the field: not an object, another delivery day, a slot without a price
        for ``area``, a non-numeric price, times without offsets, or a day that does not
        cover the delivery day with contiguous equal slots.
    """
    if not isinstance(reply, dict):
        raise NordPoolError(f"reply: expected a JSON object, got {type(reply).__name__}")
    entries = reply.get("multiAreaEntries")
    if not entries:
        return None
    if not isinstance(entries, list):
        raise NordPoolError("reply: multiAreaEntries is not a list")
    cet_day = reply.get("deliveryDateCET")
    if cet_day is not None and cet_day != day.isoformat():
        raise NordPoolError(f"reply: deliveryDateCET is {cet_day!r}, asked for {day}")
    slots = []
    for i, entry in enumerate(entries):
        field = f"multiAreaEntries[{i}]"
        if not isinstance(entry, dict):
            raise NordPoolError(f"reply: {field} is not an object")
        per_area = entry.get("entryPerArea")
        price = per_area.get(area) if isinstance(per_area, dict) else None
        if isinstance(price, bool) or not isinstance(price, int | float):
            msg = f"reply: {field}.entryPerArea.{area} is {price!r}, not a price"
            raise NordPoolError(msg)
        if not math.isfinite(price):
            raise NordPoolError(f"reply: {field}.entryPerArea.{area} is {price}, not finite")
        slots.append(
            SpotSlot(
                start=_utc(entry.get("deliveryStart"), f"{field}.deliveryStart"),
                end=_utc(entry.get("deliveryEnd"), f"{field}.deliveryEnd"),
                spot_per_kwh=round(float(price) / 1000.0, 9),  # per MWh -> per kWh
            )
        )
    updated = reply.get("updatedAt")
    try:
        return PriceDay(
            area=area,
            currency=str(reply.get("currency") or currency),
            delivery_date=day,
            slots=tuple(sorted(slots, key=lambda s: s.start)),
            final=_final(reply, area),
            updated_at=None if updated is None else _utc(updated, "updatedAt"),
        )
    except InputError as exc:
        raise NordPoolError(
            f"reply: {exc.field.replace('slots', 'multiAreaEntries')}: {exc.message}"
        ) from None


class NordPoolClient:
    """Fetch day-ahead prices, one delivery day per call.

    Parameters
    ----------
    base_url : str
        ``prices.nordpool_url``: the API root (``.../api``); ``/DayAheadPrices`` is
        appended unless the URL already ends with it.
    timeout_s : float
        Time-out of each HTTP request [s].
    retries : int
        Further attempts after a connection error, time-out, ``429`` or ``5xx``.
    backoff_s : float
        Wait before the first retry; doubled before each next one [s].
    sleep : callable
        Waits between retries (tests pass a recorder).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = base_url.rstrip("/")
        self.url = base if base.endswith("/" + _ENDPOINT) else f"{base}/{_ENDPOINT}"
        self.retries, self.backoff_s, self._sleep = retries, backoff_s, sleep
        self.timeout_s = timeout_s
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=True)

    @property
    def name(self) -> str:
        """Where the prices come from, in words."""
        return f"Nord Pool ({self.url})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> NordPoolClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _answered(self, response: httpx.Response) -> str:
        return f"{self.url} answered {response.status_code}: {response.text[:_MAX_BODY_CHARS]}"

    def _get(self, params: dict[str, str]) -> httpx.Response:
        """GET with retries; return the last response (any status) or raise."""
        try:
            return get_with_retries(
                self._client,
                self.url,
                params,
                name="Nord Pool",
                retries=self.retries,
                backoff_s=self.backoff_s,
                describe=lambda r: (
                    f"{self.url} answered {r.status_code}: {r.text[:_MAX_BODY_CHARS]}"
                ),
                sleep=self._sleep,
            )
        except RetriesExhausted as exc:
            raise NordPoolError(str(exc)) from None

    def fetch_day(self, area: str, day: date, *, currency: str = "SEK") -> PriceDay | None:
        """Return ``area``'s prices for the delivery day ``day``; ``None`` if not published.

        Raises
        ------
        NordPoolError
            Unreachable or failing after the retries, an error status, or a reply that
            is not a valid day (naming the field).
        """
        params = {
            "date": day.isoformat(),
            "market": "DayAhead",
            "deliveryArea": area,
            "currency": currency,
        }
        response = self._get(params)
        if response.status_code == httpx.codes.NO_CONTENT or not response.content.strip():
            return None
        if response.status_code != httpx.codes.OK:
            raise NordPoolError(self._answered(response))
        try:
            reply = response.json()
        except ValueError:
            raise NordPoolError(f"reply from {self.url} is not JSON") from None
        return parse_day(reply, area=area, day=day, currency=currency)
