r"""Open-Meteo's forecast API: weather on Darkstar's 15-minute UTC slot grid.

:class:`OpenMeteoClient` asks ``GET /v1/forecast`` for 15-minute and hourly radiation and
temperature plus hourly cloud cover, in GMT (``timezone=GMT``, so ``utc_offset_seconds``
must be 0) with ISO 8601 times, and returns a :class:`WeatherForecast`: one row per slot
start with the columns of :data:`darkstar.sources.pv.WEATHER_COLUMNS`.

Time stamps (Open-Meteo docs, "Hourly/15-Minutely Parameter Definition"):

* radiation (``shortwave_radiation`` = GHI, ``direct_normal_irradiance``,
  ``diffuse_radiation``) is the mean over the PRECEDING interval, labelled at the
  interval's END. Slot ``[t, t + 15 min)`` therefore takes the 15-minute value labelled
  ``t + 15 min``, and the hourly value labelled ``h`` covers the four slots of
  ``[h - 1 h, h)``;
* ``temperature_2m`` and ``cloud_cover`` are instants; a slot gets the value linearly
  interpolated to its mid-point (``t + 7.5 min``), from samples at most 1 h away.

15-minute values are preferred. Where a slot's three 15-minute radiation values are not
all there (null, or no ``minutely_15`` block), the hour's mean is distributed over its
four slots with the clear-sky index method, which keeps the hour's mean exactly:

.. math::

    GHI_s = \frac{\overline{GHI}_h}{\overline{GHI^{cs}}_h} \, GHI^{cs}_s, \qquad
    DHI_s = \frac{\overline{DHI}_h}{\overline{GHI^{cs}}_h} \, GHI^{cs}_s, \qquad
    DNI_s = \frac{GHI_s - DHI_s}{\cos \theta_{z,s}}

with the Ineichen clear sky :math:`GHI^{cs}_s` at the slot mid-point and
:math:`\overline{GHI^{cs}}_h` its mean over the hour's four slots (an hour whose clear sky
is 0 throughout is spread evenly). DNI follows from closure; above 87° zenith it is 0 and
DHI = GHI. Values still missing after that stay NaN: the gaps are reported
(:attr:`WeatherForecast.gap_slots`), never invented.

Failures raise one :class:`WeatherError` line naming what failed: the connection, the
HTTP status with Open-Meteo's ``{"error": true, "reason": ...}``, or the malformed field
(``hourly_units.cloud_cover``, ``minutely_15.diffuse_radiation``, ...). Connection errors,
timeouts, 429 and 5xx are retried with exponential backoff; any other status is final.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.errors import AdapterError, InputError
from darkstar.sources.http import RetriesExhausted, get_with_retries
from darkstar.sources.pv import WEATHER_COLUMNS, clear_sky_irradiance

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_BASE_URL",
    "SOURCE",
    "OpenMeteoClient",
    "WeatherError",
    "WeatherForecast",
    "parse_forecast",
]

logger = logging.getLogger(__name__)

SOURCE = "open-meteo"
DEFAULT_BASE_URL = "https://api.open-meteo.com"
_PATH = "/v1/forecast"
_SLOT = timedelta(minutes=15)
_HOUR = timedelta(hours=1)
_MAX_INSTANT_GAP = timedelta(hours=1)
_MAX_ZENITH_FOR_DNI_DEG = 87.0
_MAX_REASON_CHARS = 300
_MAX_COORDINATE_OFFSET_DEG = 0.5
"""How far the reply's grid cell may lie from the site; Open-Meteo picks a cell nearby."""

_VARIABLE_MAP = {
    "shortwave_radiation": "ghi_w_m2",
    "direct_normal_irradiance": "dni_w_m2",
    "diffuse_radiation": "dhi_w_m2",
    "temperature_2m": "temp_air_c",
    "cloud_cover": "cloud_cover_percent",
}
"""Open-Meteo variable -> Darkstar column (the one place the names are translated)."""
_UNITS = {
    "shortwave_radiation": "W/m²",
    "direct_normal_irradiance": "W/m²",
    "diffuse_radiation": "W/m²",
    "temperature_2m": "°C",
    "cloud_cover": "%",
}
_RADIATION = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation")
_MINUTELY_VARIABLES = (*_RADIATION, "temperature_2m")
_HOURLY_VARIABLES = ("cloud_cover", "temperature_2m", *_RADIATION)
_RAD_COLUMNS = ["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]


class WeatherError(AdapterError):
    """Open-Meteo failed or sent a reply Darkstar cannot use; names the field if one is bad.

    Parameters
    ----------
    message : str
        What went wrong, one line.
    field : str or None
        The offending part of the reply (``hourly_units.cloud_cover``), if any.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(SOURCE, f"{field}: {message}" if field else message)


@dataclass(frozen=True, eq=False)
class WeatherForecast:
    """Weather per 15-minute slot, as Open-Meteo forecast it.

    Parameters
    ----------
    issued_at : datetime
        When the forecast was fetched (tz-aware UTC).
    source : str
        Where it came from, ``"open-meteo"``.
    frame : pandas.DataFrame
        One row per slot, on a tz-aware UTC index of slot starts (15-minute step), with the
        columns of :data:`~darkstar.sources.pv.WEATHER_COLUMNS`: slot means of
        ``ghi_w_m2``, ``dni_w_m2``, ``dhi_w_m2`` [W/m²], ``temp_air_c`` [°C] and
        ``cloud_cover_percent`` [%]. NaN marks a gap in the reply.
    latitude, longitude : float
        Centre of the weather model's grid cell [°].
    elevation_m : float
        Elevation Open-Meteo used for the cell [m].
    """

    issued_at: datetime
    source: str
    frame: pd.DataFrame
    latitude: float
    longitude: float
    elevation_m: float

    @property
    def gap_slots(self) -> pd.DatetimeIndex:
        """Slot starts where at least one column is missing (NaN)."""
        return self.frame.index[self.frame.isna().any(axis=1).to_numpy()]


def _number(value: Any, field: str) -> float:
    """Return a JSON number as float; reject booleans, strings and NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise WeatherError(f"expected a number, got {value!r}", field=field)
    return float(value)


def _times(block: Mapping[str, Any], name: str, step: timedelta) -> pd.DatetimeIndex:
    """Parse a block's ``time`` array (GMT wall time) into a regular UTC index."""
    raw = block.get("time")
    if not isinstance(raw, list) or not raw:
        raise WeatherError("missing or empty", field=f"{name}.time")
    try:
        stamps = [datetime.fromisoformat(text) for text in raw]
    except (TypeError, ValueError):
        raise WeatherError("not ISO 8601 times", field=f"{name}.time") from None
    utc = [t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC) for t in stamps]
    index = pd.DatetimeIndex(utc).as_unit("s")
    if not (off_grid := index[index.floor(step) != index]).empty:
        raise WeatherError(
            f"{off_grid[0].isoformat()} is not on the {step} grid", field=f"{name}.time"
        )
    steps = index[1:] - index[:-1]
    if len(steps) and not (steps == step).all():
        bad = index[1:][steps != step][0].isoformat()
        raise WeatherError(
            f"expected one step of {step} throughout, not at {bad}", field=f"{name}.time"
        )
    return index


def _values(raw: Any, variable: str, field: str, index: pd.DatetimeIndex) -> np.ndarray:
    """Parse one variable's array: null -> NaN (a gap), NaN or negative irradiance -> error."""
    if not isinstance(raw, list) or len(raw) != len(index):
        got = f"{len(raw)} values" if isinstance(raw, list) else repr(type(raw).__name__)
        raise WeatherError(f"expected {len(index)} values like 'time', got {got}", field=field)
    out = np.full(len(raw), np.nan)
    for i, value in enumerate(raw):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problem = f"not a number: {value!r}"
        elif math.isnan(value):
            problem = "NaN"
        elif variable in _RADIATION and value < 0:
            problem = f"negative irradiance {value} W/m²"
        else:
            out[i] = value
            continue
        raise WeatherError(f"{problem} at {index[i].isoformat()}", field=field)
    return out


def _block(
    payload: Mapping[str, Any], name: str, variables: tuple[str, ...], step: timedelta
) -> pd.DataFrame:
    """Return one block (``hourly``, ``minutely_15``) as columns on its label times."""
    block, units = payload.get(name), payload.get(f"{name}_units")
    if not isinstance(block, dict):
        raise WeatherError("missing or not an object", field=name)
    if not isinstance(units, dict):
        raise WeatherError("missing or not an object", field=f"{name}_units")
    if units.get("time", "iso8601") != "iso8601":
        raise WeatherError(f"expected 'iso8601', got {units['time']!r}", field=f"{name}_units.time")
    index = _times(block, name, step)
    columns = {}
    for variable in variables:
        if variable not in block:
            raise WeatherError("missing variable", field=f"{name}.{variable}")
        unit = units.get(variable)
        if unit != _UNITS[variable]:
            msg = f"expected {_UNITS[variable]!r}, got {unit!r}"
            raise WeatherError(msg, field=f"{name}_units.{variable}")
        field = f"{name}.{variable}"
        columns[_VARIABLE_MAP[variable]] = _values(block[variable], variable, field, index)
    return pd.DataFrame(columns, index=index)


def _seconds(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((index - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1), dtype=float)


def _at_mid_points(instants: pd.Series, mid: pd.DatetimeIndex) -> np.ndarray:
    """Interpolate instantaneous samples linearly to ``mid``; NaN if no sample within 1 h."""
    valid = instants.dropna()
    if valid.empty:
        return np.full(len(mid), np.nan)
    x, xm = _seconds(pd.DatetimeIndex(valid.index)), _seconds(mid)
    values = np.interp(xm, x, valid.to_numpy(float))
    position = np.searchsorted(x, xm)
    left = x[np.clip(position - 1, 0, len(x) - 1)]
    right = x[np.clip(position, 0, len(x) - 1)]
    nearest = np.minimum(np.abs(xm - left), np.abs(xm - right))
    values[nearest > _MAX_INSTANT_GAP.total_seconds()] = np.nan
    return np.asarray(values, dtype=float)


def _distribute_hourly(
    hourly: pd.DataFrame, starts: pd.DatetimeIndex, sun: pd.DataFrame
) -> pd.DataFrame:
    """Spread hourly radiation means over their four slots by the clear-sky index."""
    label = (starts + _SLOT).ceil("h")  # the end of the hour the slot lies in
    hour = hourly.reindex(label)
    clear = sun["ghi_w_m2"].to_numpy()
    clear_mean = pd.Series(clear).groupby(label.asi8).transform("mean").to_numpy()
    shape = np.divide(clear, clear_mean, out=np.ones_like(clear), where=clear_mean > 0)
    ghi = hour["ghi_w_m2"].to_numpy() * shape
    dhi = np.minimum(hour["dhi_w_m2"].to_numpy() * shape, ghi)
    zenith = sun["zenith_deg"].to_numpy()
    high_sun = zenith < _MAX_ZENITH_FOR_DNI_DEG
    cos_zenith = np.cos(np.radians(np.where(high_sun, zenith, 0.0)))
    dni = np.where(high_sun, (ghi - dhi) / cos_zenith, 0.0)
    dhi = np.where(high_sun, dhi, ghi)
    return pd.DataFrame({"ghi_w_m2": ghi, "dni_w_m2": dni, "dhi_w_m2": dhi}, index=starts)


def _slots(
    hourly: pd.DataFrame,
    minutely: pd.DataFrame | None,
    *,
    latitude: float,
    longitude: float,
    elevation_m: float,
) -> pd.DataFrame:
    """Merge the blocks onto one UTC grid of 15-minute slot starts."""
    first, last = hourly.index[0] - _HOUR, hourly.index[-1] - _SLOT
    if minutely is not None:
        first = min(first, minutely.index[0] - _SLOT)
        last = max(last, minutely.index[-1] - _SLOT)
    starts = pd.date_range(first, last, freq=_SLOT, name="start")
    mid = starts + _SLOT / 2
    sun = clear_sky_irradiance(mid, latitude=latitude, longitude=longitude, altitude_m=elevation_m)
    frame = _distribute_hourly(hourly[_RAD_COLUMNS], starts, sun)
    temp_air_c = _at_mid_points(hourly["temp_air_c"], mid)
    if minutely is not None:
        fine = minutely[_RAD_COLUMNS].set_axis(minutely.index - _SLOT).reindex(starts)
        use = fine.notna().all(axis=1).to_numpy()
        frame.loc[use, _RAD_COLUMNS] = fine.loc[use, _RAD_COLUMNS]
        fine_temp = _at_mid_points(minutely["temp_air_c"], mid)
        temp_air_c = np.where(np.isnan(fine_temp), temp_air_c, fine_temp)
    frame["temp_air_c"] = temp_air_c
    frame["cloud_cover_percent"] = _at_mid_points(hourly["cloud_cover_percent"], mid)
    return frame[list(WEATHER_COLUMNS)]


def parse_forecast(payload: Any, *, issued_at: datetime) -> WeatherForecast:
    """Turn a ``/v1/forecast`` JSON reply (``timezone=GMT``) into a :class:`WeatherForecast`.

    Parameters
    ----------
    payload : Any
        The decoded JSON reply.
    issued_at : datetime
        When it was fetched, tz-aware.

    Returns
    -------
    WeatherForecast
        The slots covered by the ``hourly`` block, and by ``minutely_15`` when present.

    Raises
    ------
    WeatherError
        Naming the field: a non-zero ``utc_offset_seconds``, a missing block or variable,
        a unit other than W/m², °C or %, irregular times, NaN or negative irradiance, or
        Open-Meteo's own ``{"error": true, "reason": ...}``.
    """
    if not isinstance(payload, dict):
        raise WeatherError(f"reply is not a JSON object but {type(payload).__name__}")
    if payload.get("error") is True:
        raise WeatherError(f"Open-Meteo reported an error: {payload.get('reason')}")
    offset = payload.get("utc_offset_seconds")
    if offset != 0 or isinstance(offset, bool):
        raise WeatherError(f"must be 0 (timezone=GMT), got {offset!r}", field="utc_offset_seconds")
    latitude = _number(payload.get("latitude"), "latitude")
    longitude = _number(payload.get("longitude"), "longitude")
    elevation_m = _number(payload.get("elevation"), "elevation")
    hourly = _block(payload, "hourly", _HOURLY_VARIABLES, _HOUR)
    minutely = None
    if "minutely_15" in payload:
        minutely = _block(payload, "minutely_15", _MINUTELY_VARIABLES, _SLOT)
    frame = _slots(
        hourly, minutely, latitude=latitude, longitude=longitude, elevation_m=elevation_m
    )
    return WeatherForecast(
        issued_at=_utc(issued_at, "issued_at"),
        source=SOURCE,
        frame=frame,
        latitude=latitude,
        longitude=longitude,
        elevation_m=elevation_m,
    )


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(field, f"must be tz-aware, got {value!r}")
    return value.astimezone(UTC)


def _reason(response: httpx.Response) -> str:
    """Open-Meteo's ``reason`` from an error reply, else the body text or the status phrase."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(reason := payload.get("reason"), str):
        return reason[:_MAX_REASON_CHARS]
    text = " ".join(response.text.split())
    return text[:_MAX_REASON_CHARS] or response.reason_phrase


class OpenMeteoClient:
    """A synchronous client of Open-Meteo's forecast API.

    Parameters
    ----------
    base_url : str, default "https://api.open-meteo.com"
        Server; ``/v1/forecast`` is appended unless the URL already ends with it.
    timeout_s : float, default 10.0
        Connect and read timeout of each attempt [s].
    retries : int, default 3
        Further attempts after a connection error, a timeout, 429 or 5xx.
    backoff_s : float, default 1.0
        Wait before the first retry [s]; it doubles for each further one.
    transport : httpx.BaseTransport or None
        Replaces the network (tests, proxies).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> with OpenMeteoClient("http://127.0.0.1:1", retries=0) as client:
    ...     client.fetch(55.6, 13.0, now=datetime.now(UTC))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    darkstar.sources.openmeteo.WeatherError: open-meteo: cannot reach http://127.0.0.1:1/v1/...
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not timeout_s > 0:
            raise InputError("timeout_s", f"must be > 0, got {timeout_s}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InputError("retries", f"must be an integer >= 0, got {retries!r}")
        if not backoff_s >= 0:
            raise InputError("backoff_s", f"must be >= 0, got {backoff_s}")
        url = base_url.rstrip("/")
        self.url = url if url.endswith(_PATH) else url + _PATH
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> OpenMeteoClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _get(self, params: Mapping[str, str | int | float]) -> httpx.Response:
        """GET with retries on connection errors, timeouts, 429 and 5xx; return the 200 reply."""
        try:
            response = get_with_retries(
                self._client,
                self.url,
                params,
                name="open-meteo",
                retries=self._retries,
                backoff_s=self._backoff_s,
                describe=lambda r: f"Open-Meteo answered {r.status_code}: {_reason(r)}",
            )
        except RetriesExhausted as exc:
            raise WeatherError(str(exc)) from None
        if response.status_code != httpx.codes.OK:
            raise WeatherError(f"Open-Meteo answered {response.status_code}: {_reason(response)}")
        return response

    def fetch(
        self,
        latitude: float,
        longitude: float,
        *,
        now: datetime,
        forecast_days: int = 3,
        past_days: int = 1,
    ) -> WeatherForecast:
        """Fetch the forecast for a site (``GET /v1/forecast``).

        Parameters
        ----------
        latitude, longitude : float
            Site [°], WGS84, east positive.
        now : datetime
            The current time, tz-aware; becomes ``issued_at`` and must lie in the reply.
        forecast_days : int, default 3
            Days from today (UTC) on, 1 to 16.
        past_days : int, default 1
            Days before today (UTC), 0 to 92.

        Returns
        -------
        WeatherForecast
            Slots from ``past_days`` before today 00:00 UTC to the end of the forecast.

        Raises
        ------
        WeatherError
            Unreachable, no answer within the timeout, an HTTP error (with Open-Meteo's
            reason), or a malformed reply (naming the field) -- see :func:`parse_forecast`.
        InputError
            For an out-of-range argument or a naive ``now``.
        """
        now_utc = _utc(now, "now")
        if not -90.0 <= latitude <= 90.0:
            raise InputError("latitude", f"must be in [-90, 90], got {latitude}")
        if not -180.0 <= longitude <= 180.0:
            raise InputError("longitude", f"must be in [-180, 180], got {longitude}")
        if not 1 <= forecast_days <= 16:  # Open-Meteo's range
            raise InputError("forecast_days", f"must be 1 to 16, got {forecast_days}")
        if not 0 <= past_days <= 92:  # Open-Meteo's range
            raise InputError("past_days", f"must be 0 to 92, got {past_days}")
        params: dict[str, str | int | float] = {
            "latitude": latitude,
            "longitude": longitude,
            "minutely_15": ",".join(_MINUTELY_VARIABLES),
            "hourly": ",".join(_HOURLY_VARIABLES),
            "timezone": "GMT",
            "timeformat": "iso8601",
            "temperature_unit": "celsius",
            "wind_speed_unit": "ms",
            "forecast_days": forecast_days,
            "past_days": past_days,
        }
        response = self._get(params)
        try:
            payload = response.json()
        except ValueError:
            raise WeatherError("reply is not JSON") from None
        forecast = parse_forecast(payload, issued_at=now_utc)
        for field, asked, got in (
            ("latitude", latitude, forecast.latitude),
            ("longitude", longitude, forecast.longitude),
        ):
            if abs(got - asked) > _MAX_COORDINATE_OFFSET_DEG:
                raise WeatherError(f"reply is for {got}, not the requested {asked}", field=field)
        index = forecast.frame.index
        if not index[0] <= now_utc < index[-1] + _SLOT:
            msg = f"reply covers {index[0]} to {index[-1] + _SLOT}, not now ({now_utc})"
            raise WeatherError(msg, field="hourly.time")
        if len(gaps := forecast.gap_slots):
            logger.info("open-meteo reply has %d slots with gaps, from %s", len(gaps), gaps[0])
        logger.debug("open-meteo forecast: %d slots from %s", len(index), index[0])
        return forecast
