"""The live PV forecast: Open-Meteo weather through pvlib, with its fallbacks, cached.

:class:`WeatherPvForecaster` implements the service's
:class:`~darkstar.service.live_world.PvForecaster`. It asks Open-Meteo for a new forecast
at most every :data:`REFRESH` (hourly updates are what the models deliver), keeps the last
good one in memory and in ``<data_dir>/weather_forecast.json`` (so a restart has it), and
turns the weather into PV power per slot with :func:`~darkstar.sources.pv.pv_forecast_kw`.

When Open-Meteo fails it plans on the last forecast; slots that no forecast covers (or
whose weather has a gap) get the clear-sky-times-climatology weather of
:func:`~darkstar.sources.pv.clear_sky_weather`. Which one was used is in :meth:`status`
and so in each plan's ``meta.inputs.pv``; a failure is a ``fault`` there, never silent,
in words with the house's local times: ``Open-Meteo: no new weather forecast since 10:00
(2 h): ...; next try 12:10; PV from the last Open-Meteo forecast issued ...``.

With a learning store, every newly fetched run is also kept there
(:func:`~darkstar.learning.store.weather.record_weather_run`: the hourly means of its
slots from the hour it was fetched in on, complete hours only), for Aurora to learn from
and forecast with. A failed write is logged and never stops the PV forecast.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd  # type: ignore[import-untyped]

from darkstar.errors import DarkstarError
from darkstar.learning.store.weather import record_weather_run
from darkstar.sources.openmeteo import WeatherForecast
from darkstar.sources.pv import WEATHER_COLUMNS, clear_sky_weather, pv_forecast_kw

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from darkstar.learning.store import Store
    from darkstar.sources.openmeteo import OpenMeteoClient
    from darkstar.sources.pv import PvArray

__all__ = ["CACHE_FILE", "REFRESH", "Site", "WeatherPvForecaster", "hourly_run"]

logger = logging.getLogger(__name__)

REFRESH = timedelta(hours=1)
"""A forecast younger than this is not fetched again."""

RETRY = timedelta(minutes=10)
"""Wait after a failed fetch before the next."""

CACHE_FILE = "weather_forecast.json"
"""The last good forecast, in the data folder."""


_RUN_COLUMN_MAP = {
    "ghi_w_m2": "ghi_w_per_m2",
    "dni_w_m2": "dni_w_per_m2",
    "dhi_w_m2": "dhi_w_per_m2",
    "temp_air_c": "temp_air_c",
    "cloud_cover_percent": "cloud_cover_percent",
}
"""Slot weather column -> stored run column (:data:`~darkstar.learning.store.weather.
RUN_COLUMNS`)."""

_SLOTS_PER_HOUR = 4


def hourly_run(forecast: WeatherForecast) -> pd.DataFrame:
    """Return a fetched forecast as the hourly run kept in the store.

    Parameters
    ----------
    forecast : WeatherForecast
        Slot weather as fetched.

    Returns
    -------
    pandas.DataFrame
        On a UTC index of hour starts, from the hour holding ``issued_at`` on: the hourly
        means of the slot columns, renamed to the store's (``ghi_w_per_m2``,
        ``dni_w_per_m2``, ``dhi_w_per_m2`` [W/m²], ``temp_air_c`` [°C],
        ``cloud_cover_percent`` [%]). Only hours whose four slots are all complete are
        kept (a gap is left out, never filled).
    """
    frame = forecast.frame.loc[:, list(WEATHER_COLUMNS)].astype(float)
    first = pd.Timestamp(forecast.issued_at).tz_convert("UTC").floor("h")
    frame = frame[frame.index >= first]
    complete = frame.notna().all(axis=1)
    hours = frame.index.floor("h")
    means = frame.groupby(hours).mean()
    whole = complete.groupby(hours).sum() == _SLOTS_PER_HOUR
    hourly = means.loc[whole.reindex(means.index, fill_value=False).to_numpy()]
    hourly.index = pd.DatetimeIndex(hourly.index, name="hour")
    return hourly.rename(columns=_RUN_COLUMN_MAP)


@dataclass(frozen=True, kw_only=True)
class Site:
    """Where the arrays are."""

    latitude: float
    longitude: float
    altitude_m: float = 0.0


class WeatherPvForecaster:
    """PV forecast from Open-Meteo and pvlib, with the last forecast and climatology behind.

    Parameters
    ----------
    client : OpenMeteoClient
        The weather source.
    arrays : sequence of PvArray
        The house's arrays.
    site : Site
        Their location.
    cache_dir : pathlib.Path
        Where :data:`CACHE_FILE` is kept.
    store : Store, optional
        The learning store: every newly fetched run is kept there (:func:`hourly_run`).
    tz : ZoneInfo, optional
        The house's local time, for the times in the fault (default UTC).
    """

    def __init__(
        self,
        *,
        client: OpenMeteoClient,
        arrays: Sequence[PvArray],
        site: Site,
        cache_dir: Path,
        store: Store | None = None,
        tz: ZoneInfo | None = None,
    ) -> None:
        self.client, self.arrays, self.site = client, tuple(arrays), site
        self.store = store
        self.tz = tz
        self._failing_since: datetime | None = None
        self.cache_path = cache_dir / CACHE_FILE
        self.forecast: WeatherForecast | None = self._read_cache()
        self.fault: str | None = None
        self._next_try: datetime | None = None
        self._used: str = "none yet"

    def _read_cache(self) -> WeatherForecast | None:
        try:
            data = json.loads(self.cache_path.read_text(encoding="utf-8"))
            frame = pd.DataFrame(data["frame"]["data"], columns=data["frame"]["columns"])
            frame.index = pd.DatetimeIndex(pd.to_datetime(data["frame"]["index"], utc=True))
            return WeatherForecast(
                issued_at=datetime.fromisoformat(data["issued_at"]),
                source=str(data["source"]),
                frame=frame,
                latitude=float(data["latitude"]),
                longitude=float(data["longitude"]),
                elevation_m=float(data["elevation_m"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s unusable, ignored: %s", self.cache_path, exc)
            return None

    def _write_cache(self, forecast: WeatherForecast) -> None:
        frame = forecast.frame
        data = {
            "issued_at": forecast.issued_at.isoformat(),
            "source": forecast.source,
            "latitude": forecast.latitude,
            "longitude": forecast.longitude,
            "elevation_m": forecast.elevation_m,
            "frame": {
                "index": [t.isoformat() for t in frame.index],
                "columns": list(frame.columns),
                "data": frame.astype(object).where(frame.notna(), None).to_numpy().tolist(),
            },
        }
        tmp = self.cache_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.cache_path)
        except OSError as exc:  # the forecast is in memory; the cache is a convenience
            logger.warning("cannot write %s: %s", self.cache_path, exc)
            with contextlib.suppress(OSError):  # e.g. half written on a full disk
                tmp.unlink(missing_ok=True)

    def refresh(self, now: datetime) -> None:
        """Fetch a new forecast when the last is older than :data:`REFRESH`."""
        fresh = self.forecast is not None and now - self.forecast.issued_at < REFRESH
        if fresh or (self._next_try is not None and now < self._next_try):
            return
        try:
            forecast = self.client.fetch(self.site.latitude, self.site.longitude, now=now)
        except (DarkstarError, OSError) as exc:
            self._next_try = now + RETRY
            since = self._failing_since = self._failing_since or now
            minutes = int((now - since).total_seconds() // 60)
            age = f"{minutes} min" if minutes < 60 else f"{minutes / 60:.1f} h"
            self.fault = (
                f"Open-Meteo: no new weather forecast since {self._local(since)} ({age}): "
                f"{exc}; next try {self._local(self._next_try)}"
            )
            logger.warning("%s", self.fault)
            return
        self.forecast, self.fault, self._next_try = forecast, None, None
        self._failing_since = None
        self._write_cache(forecast)
        self._keep_run(forecast)

    def _local(self, moment: datetime) -> str:
        """``'14:10'`` in the house's time (UTC without one: ``'12:10 UTC'``)."""
        if self.tz is None:
            return moment.astimezone(UTC).strftime("%H:%M UTC")
        return moment.astimezone(self.tz).strftime("%H:%M")

    def _keep_run(self, forecast: WeatherForecast) -> None:
        """Keep the fetched run in the store; a failure is logged, the forecast goes on."""
        if self.store is None:
            return
        try:
            hourly = hourly_run(forecast)
            if hourly.empty:
                logger.warning(
                    "weather run of %s has no complete hour: not kept", forecast.issued_at
                )
                return
            record_weather_run(self.store, issued_at=forecast.issued_at, hourly=hourly)
        except Exception:  # the store is for learning; the PV forecast must go on
            logger.exception("weather run of %s not kept", forecast.issued_at)

    def pv_kw(self, starts: Sequence[datetime], *, now: datetime) -> list[float]:
        """Mean PV power of each slot [kW]: forecast weather, else climatology."""
        self.refresh(now)
        index = pd.DatetimeIndex(list(starts))
        climate = clear_sky_weather(
            index,
            latitude=self.site.latitude,
            longitude=self.site.longitude,
            altitude_m=self.site.altitude_m,
        )
        weather = climate.copy()
        covered = 0
        if self.forecast is not None:
            known = self.forecast.frame.reindex(index)
            complete = known[["ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c"]].notna().all(axis=1)
            covered = int(complete.sum())
            columns = list(climate.columns.intersection(known.columns))
            weather.loc[complete, columns] = known.loc[complete, columns]
        power = pv_forecast_kw(
            weather,
            arrays=self.arrays,
            latitude=self.site.latitude,
            longitude=self.site.longitude,
            altitude_m=self.site.altitude_m,
        )
        self._describe(covered, len(index), now)
        return [float(v) for v in power.fillna(0.0)]

    def _describe(self, covered: int, total: int, now: datetime) -> None:
        if self.forecast is None or covered == 0:
            self._used = "clear-sky x climatology (no weather forecast)"
            return
        age = now - self.forecast.issued_at
        what = "Open-Meteo" if self.fault is None else "last Open-Meteo forecast"
        issued = self.forecast.issued_at
        when = (
            issued.isoformat(timespec="minutes")
            if self.tz is None
            else issued.astimezone(self.tz).strftime("%a %d %b %H:%M")
        )
        self._used = f"{what} issued {when}"
        if age >= REFRESH * 2:
            self._used += f" ({age.total_seconds() / 3600:.1f} h old)"
        if covered < total:
            self._used += f"; {total - covered} of {total} slots clear-sky x climatology"

    def status(self) -> dict[str, Any]:
        """``{"source", "issued_at", "fault"}`` of the last forecast used (JSON)."""
        fault = None if self.fault is None else f"{self.fault}; PV from {self._used}"
        return {
            "source": f"pvlib on {self._used}",
            "issued_at": None if self.forecast is None else self.forecast.issued_at.isoformat(),
            "fault": fault,
            "arrays": len(self.arrays),
        }
