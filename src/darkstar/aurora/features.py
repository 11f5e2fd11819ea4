"""Aurora's feature frames: what is known at issue time ``now`` about each target slot.

Owns the translation of a forecasting situation (an issue time, the target slots, the
newest weather forecast, the measured history) into one row of numbers per target slot.
Every function is pure (frames in, frame out) and every column carries its unit.

Three kinds of columns:

- **slot** columns (:func:`slot_features`) depend on the target time only: the local
  calendar (clock hour, weekday, weekend, public holiday of a country via ``holidays``,
  day of the year as sine and cosine) and the sun (pvlib solar position and Ineichen
  clear-sky GHI at the slot's midpoint). They can be computed once for a whole year;
- **weather** columns (:func:`weather_features`) come from the newest forecast run at
  ``now``, aligned in UTC: the run's hour holding the slot's start gives the slot its
  values (hourly means, as the run forecasts them), and ``lead_h`` is the slot's start
  minus the run's time;
- **history** columns (:func:`history_features`, :func:`pv_residual_features`) use
  measurements strictly before ``now``: the series is cut at ``now`` before anything
  is looked up, so values after ``now`` cannot leak (``tests/forecasting`` checks it).

"Same slot d days before" is local wall-clock time: a target at 18:00 local looks at
18:00 local d days earlier, across daylight-saving changes (the skipped spring hour has
no value, the repeated autumn hour takes its first occurrence).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib

from darkstar.errors import InputError
from darkstar.sources.pv import clear_sky_irradiance

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    PriorPv = Callable[[pd.DataFrame], pd.Series]

__all__ = [
    "BASELINE_DAYS",
    "FORECAST_WEATHER_COLUMNS",
    "LOAD_FEATURES",
    "PV_FEATURES",
    "SLOT",
    "Site",
    "build_load_features",
    "build_pv_features",
    "check_slots",
    "clear_sky_run",
    "history_features",
    "prior_on",
    "pv_residual_features",
    "same_slot_days_before",
    "slot_features",
    "weather_features",
]

logger = logging.getLogger(__name__)

SLOT: Final = timedelta(minutes=15)
"""Aurora's resolution: one target slot. [min]"""

BASELINE_DAYS: Final = 7
"""Days averaged by the load baseline (same local slot of the 7 latest days before
``now``), the naive forecast Aurora has to beat (DESIGN §6)."""

_LAG_SEARCH_DAYS: Final = 9  # a target up to 2 days ahead finds 7 past days within 9
_RESIDUAL_WINDOW: Final = timedelta(days=7)
_LEVEL_WINDOW: Final = timedelta(days=7)
_SMOOTH_SLOTS: Final = 5  # the 1-hour baseline: the slot and two on each side
_ROLLING_WINDOW: Final = timedelta(hours=24)
_INDEX_MIN_CLEAR_KW: Final = 0.01  # below, the forecast PV index is NaN
_RATIO_MIN_PRIOR_KWH: Final = 1.0
_NOWCAST_WINDOW: Final = timedelta(hours=3)
_NOWCAST_MIN_PRIOR_KWH: Final = 0.2  # below this prior energy in the window the ratio is NaN
_HOUR: Final = timedelta(hours=1)

FORECAST_WEATHER_COLUMNS: Final = ("ghi_w_per_m2", "temp_air_c", "cloud_cover_octas", "lead_h")
"""Columns a weather run must have: hourly means on a UTC index of hour starts, and the
lead time of each hour (hour start minus the run's time). [W/m², °C, octas, h]"""

_CALENDAR: Final = (
    "local_hour_h",
    "weekday",
    "weekend",
    "holiday",
    "day_of_year_sin",
    "day_of_year_cos",
)
_SUN: Final = ("sun_elevation_deg", "sun_azimuth_deg", "clear_sky_ghi_w_per_m2")
_CLEAR_SAMPLES: Final = 4  # clear-sky samples per hour (mid-points of its quarters)
_KT_MIN_CLEAR_W_PER_M2: Final = 20.0  # below, the clear-sky index is too noisy to use

LOAD_FEATURES: Final = (
    *_CALENDAR,
    "temp_forecast_c",
    "temp_forecast_day_c",
    "kt_forecast_day",
    "horizon_h",
    "load_baseline_kw",
    "load_baseline_1h_kw",
    "load_lag_1d_kw",
    "load_lag_7d_kw",
    "load_mean_24h_kw",
    "load_level_7d_kw",
)
"""Columns of the load model (:func:`build_load_features`)."""

PV_FEATURES: Final = (
    "local_hour_h",
    *_SUN,
    "kt_forecast",
    "kt_forecast_3h",
    "kt_forecast_day",
    "temp_forecast_c",
    "cloud_forecast_octas",
    "lead_h",
    "horizon_h",
    "pv_prior_kw",
    "pv_clear_sky_kw",
    "pv_index_forecast",
    "pv_ratio_7d",
    "pv_ratio_3h",
)
"""Columns of the PV model (:func:`build_pv_features`). No raw GHI and no day of the
year: both change with the season, so a model trained on one season would extrapolate
into the next; the clear-sky indices and the prior carry the weather instead."""


@dataclass(frozen=True, kw_only=True)
class Site:
    """Where the house is: its sun, its clock and its public holidays.

    Parameters
    ----------
    latitude, longitude : float
        Site, north and east positive. [deg]
    timezone : str
        IANA time zone of the household's clock (local calendar features).
    country : str
        ISO 3166 code of the public holidays (``holidays`` package), e.g. ``"SE"``.

    Raises
    ------
    InputError
        If a coordinate is out of range or the time zone or country is unknown.
    """

    latitude: float
    longitude: float
    timezone: str = "Europe/Stockholm"
    country: str = "SE"

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0:
            raise InputError("latitude", f"must be in [-90, 90], got {self.latitude}")
        if not -180.0 <= self.longitude <= 180.0:
            raise InputError("longitude", f"must be in [-180, 180], got {self.longitude}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError("timezone", f"unknown time zone {self.timezone!r}") from None
        if self.country not in holidays.list_supported_countries():
            raise InputError("country", f"no public holidays known for {self.country!r}")

    @property
    def zone(self) -> ZoneInfo:
        """The household's time zone."""
        return ZoneInfo(self.timezone)


def _check_now(now: datetime) -> pd.Timestamp:
    """Return ``now`` as a UTC timestamp; raise if naive."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError("now", "must be timezone-aware")
    return pd.Timestamp(now).tz_convert(UTC)


def check_slots(index: pd.DatetimeIndex, *, field: str = "index") -> None:
    """Raise :class:`InputError` unless ``index`` is a non-empty, sorted UTC slot grid.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Slot starts: tz-aware UTC, on quarter hours, strictly increasing (gaps allowed).
    field : str
        Name used in the error.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None or str(index.tz) != "UTC":
        raise InputError(field, "must be a tz-aware UTC DatetimeIndex")
    if len(index) == 0:
        raise InputError(field, "must not be empty")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise InputError(field, "must be sorted without duplicates")
    if ((index - index.floor(SLOT)) != pd.Timedelta(0)).any():
        raise InputError(field, "slot starts must lie on quarter hours")


def _check_series(series: pd.Series, field: str) -> None:
    """Raise unless ``series`` has a UTC slot index."""
    check_slots(series.index, field=f"{field}.index")


def _elevation_deg(times: pd.DatetimeIndex, site: Site) -> npt.NDArray[np.float64]:
    """Return the sun's apparent elevation at ``times`` [deg]."""
    sun = pvlib.solarposition.get_solarposition(times, site.latitude, site.longitude)
    return np.asarray(sun["apparent_elevation"].to_numpy(), dtype=float)


def slot_features(index: pd.DatetimeIndex, *, site: Site) -> pd.DataFrame:
    """Return the columns that depend on the target slot only: calendar and sun.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    site : Site
        Location, time zone and holiday country.

    Returns
    -------
    pandas.DataFrame
        On ``index``: ``local_hour_h`` (local clock hour + minute / 60) [h], ``weekday``
        (0 = Monday), ``weekend`` and ``holiday`` (0/1; public holiday of
        ``site.country`` on the local date), ``day_of_year_sin`` / ``_cos`` (local day
        of the year on the unit circle) [-], ``sun_elevation_deg`` and
        ``sun_azimuth_deg`` (apparent, at the slot's midpoint) [deg],
        ``clear_sky_ghi_w_per_m2`` (Ineichen at the midpoint) [W/m²] and ``night``
        (1 if the sun is below the horizon at the slot's start, midpoint and end: PV
        is 0 all slot long).

    Raises
    ------
    InputError
        If ``index`` is not a UTC slot grid.
    """
    check_slots(index)
    local = index.tz_convert(site.zone)
    years = range(int(local.year.min()), int(local.year.max()) + 1)
    public = holidays.country_holidays(site.country, years=years)
    dates = local.date
    angle = 2.0 * np.pi * (local.day_of_year.to_numpy() - 0.5) / 365.25
    weekday = local.day_of_week.to_numpy()
    sky = clear_sky_irradiance(index + SLOT / 2, latitude=site.latitude, longitude=site.longitude)
    elevation_deg = 90.0 - sky["apparent_zenith_deg"].to_numpy()
    highest_deg = np.maximum.reduce(
        [elevation_deg, _elevation_deg(index, site), _elevation_deg(index + SLOT, site)]
    )
    return pd.DataFrame(
        {
            "local_hour_h": local.hour.to_numpy() + local.minute.to_numpy() / 60.0,
            "weekday": weekday,
            "weekend": (weekday >= 5).astype(int),
            "holiday": np.array([d in public for d in dates], dtype=int),
            "day_of_year_sin": np.sin(angle),
            "day_of_year_cos": np.cos(angle),
            "sun_elevation_deg": elevation_deg,
            "sun_azimuth_deg": sky["azimuth_deg"].to_numpy(),
            "clear_sky_ghi_w_per_m2": sky["ghi_w_m2"].to_numpy(),
            "night": (highest_deg <= 0.0).astype(int),
        },
        index=index,
    )


def _check_run(run: pd.DataFrame, index: pd.DatetimeIndex) -> npt.NDArray[np.int_]:
    """Return the run row holding each slot's start; raise if the run does not cover it."""
    missing = [c for c in FORECAST_WEATHER_COLUMNS if c not in run.columns]
    if missing:
        raise InputError(f"run.{missing[0]}", "column missing")
    hours = run.index
    if not isinstance(hours, pd.DatetimeIndex) or str(hours.tz) != "UTC":
        raise InputError("run.index", "must be a tz-aware UTC DatetimeIndex")
    if len(hours) > 1 and ((hours[1:] - hours[:-1]) != pd.Timedelta(_HOUR)).any():
        raise InputError("run.index", "must be hourly without gaps")
    rows = hours.get_indexer(index.floor(_HOUR))
    if (rows < 0).any():
        first = index[rows < 0][0]
        raise InputError("run.index", f"does not cover the target slot {first.isoformat()}")
    return np.asarray(rows)


def _hourly_clear_sky(hours: pd.DatetimeIndex, site: Site) -> pd.DataFrame:
    """Return Ineichen GHI, DNI and DHI averaged over each hour (4 samples) [W/m²]."""
    offsets = pd.to_timedelta(
        np.tile((np.arange(_CLEAR_SAMPLES) + 0.5) * 60.0 / _CLEAR_SAMPLES, len(hours)), "min"
    )
    times = hours.repeat(_CLEAR_SAMPLES) + offsets
    sky = clear_sky_irradiance(times, latitude=site.latitude, longitude=site.longitude)
    means = {
        f"{ours}_w_per_m2": sky[f"{ours}_w_m2"].to_numpy(float).reshape(-1, _CLEAR_SAMPLES).mean(1)
        for ours in ("ghi", "dni", "dhi")
    }
    return pd.DataFrame(means, index=hours)


def clear_sky_run(run: pd.DataFrame, *, site: Site) -> pd.DataFrame:
    """Return ``run`` under a cloudless sky: the prior on it is PV without clouds.

    Parameters
    ----------
    run : pandas.DataFrame
        Hourly weather forecast (UTC index of hour starts) with ``ghi_w_per_m2``,
        ``dni_w_per_m2`` and ``dhi_w_per_m2`` among its columns.
    site : Site
        Where the sun is.

    Returns
    -------
    pandas.DataFrame
        A copy with GHI, DNI and DHI replaced by the Ineichen clear sky averaged over
        each hour (as the run's values are hour means) and ``cloud_cover_octas`` set to
        0; other columns unchanged. [W/m²]
    """
    sky = _hourly_clear_sky(run.index, site)
    clear = run.copy()
    for column in sky.columns:
        clear[column] = sky[column].to_numpy(float)
    if "cloud_cover_octas" in clear.columns:
        clear["cloud_cover_octas"] = 0.0
    return clear


def _clear_sky_index(
    ghi: npt.NDArray[np.float64], clear: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Return GHI / clear-sky GHI, NaN where the clear sky is below the threshold."""
    return np.where(clear >= _KT_MIN_CLEAR_W_PER_M2, ghi / np.maximum(clear, 1.0), np.nan)


def weather_features(run: pd.DataFrame, index: pd.DatetimeIndex, *, site: Site) -> pd.DataFrame:
    """Return the forecast weather of each target slot from one run.

    Parameters
    ----------
    run : pandas.DataFrame
        The newest weather forecast at issue time: hourly :data:`FORECAST_WEATHER_COLUMNS`
        on a UTC index of hour starts covering every target.
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    site : Site
        Its sun makes the clear-sky index, its time zone the local days.

    Returns
    -------
    pandas.DataFrame
        On ``index``, from the run's hour holding the slot's start:
        ``ghi_forecast_w_per_m2`` [W/m²]; ``kt_forecast`` (forecast GHI / the hour's
        mean clear-sky GHI, NaN below 20 W/m² of clear sky), ``kt_forecast_3h``
        (its mean over the hour and its neighbours) and ``kt_forecast_day`` (forecast
        over clear-sky GHI energy of the slot's local day, over the hours the run
        covers) [-]; ``temp_forecast_c`` and ``temp_forecast_day_c`` (local-day mean)
        [°C]; ``cloud_forecast_octas`` [octas]; ``lead_h`` (slot start minus the run's
        time) [h].

    Raises
    ------
    InputError
        If the run misses a column, is not hourly UTC or does not cover a target.
    """
    check_slots(index)
    rows = _check_run(run, index)
    ghi = run["ghi_w_per_m2"].to_numpy(float)
    temp = run["temp_air_c"].to_numpy(float)
    clear = _hourly_clear_sky(run.index, site)["ghi_w_per_m2"].to_numpy(float)
    kt = _clear_sky_index(ghi, clear)
    kt_3h = pd.Series(kt).rolling(3, center=True, min_periods=1).mean().to_numpy(float)
    run_days = run.index.tz_convert(site.zone).date
    by_day = pd.DataFrame({"ghi": ghi, "clear": clear, "temp": temp}).groupby(run_days)
    day_kt = by_day["ghi"].sum() / by_day["clear"].sum().clip(lower=1.0)
    slot_days = index.tz_convert(site.zone).date
    minutes = (index - index.floor(_HOUR)).total_seconds().to_numpy() / 3600.0
    return pd.DataFrame(
        {
            "ghi_forecast_w_per_m2": ghi[rows],
            "kt_forecast": kt[rows],
            "kt_forecast_3h": kt_3h[rows],
            "kt_forecast_day": day_kt.reindex(slot_days).to_numpy(float),
            "temp_forecast_c": temp[rows],
            "temp_forecast_day_c": by_day["temp"].mean().reindex(slot_days).to_numpy(float),
            "cloud_forecast_octas": run["cloud_cover_octas"].to_numpy(float)[rows],
            "lead_h": run["lead_h"].to_numpy(float)[rows] + minutes,
        },
        index=index,
    )


def same_slot_days_before(
    index: pd.DatetimeIndex, *, days: int, zone: ZoneInfo
) -> pd.DatetimeIndex:
    """Return, for each slot, the same local wall-clock slot ``days`` days earlier, in UTC.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Slot starts (UTC).
    days : int
        How many local days back, >= 0.
    zone : ZoneInfo
        The local clock.

    Returns
    -------
    pandas.DatetimeIndex
        UTC times, NaT where the local time did not exist (spring DST gap); a repeated
        autumn hour maps to its first (summer-time) occurrence.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> idx = pd.DatetimeIndex(["2018-03-26 10:00"], tz="UTC")  # 12:00 CEST
    >>> str(same_slot_days_before(idx, days=1, zone=ZoneInfo("Europe/Stockholm"))[0])
    '2018-03-25 10:00:00+00:00'
    >>> str(same_slot_days_before(idx, days=2, zone=ZoneInfo("Europe/Stockholm"))[0])
    '2018-03-24 11:00:00+00:00'
    """
    if days < 0:
        raise InputError("days", f"must be >= 0, got {days}")
    wall = index.tz_convert(zone).tz_localize(None) - pd.Timedelta(days=days)
    first = np.ones(len(wall), dtype=bool)
    return wall.tz_localize(zone, ambiguous=first, nonexistent="NaT").tz_convert(UTC)


def _values_at(known: pd.Series, times: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Return ``known`` at ``times`` (NaN where absent or NaT)."""
    return np.asarray(known.reindex(times).to_numpy(float), dtype=float)


def _mean_since(known: pd.Series, start: pd.Timestamp) -> float:
    """Return the mean of the measured values from ``start`` on (NaN if none)."""
    recent = known[known.index >= start]
    return float(recent.mean()) if recent.notna().any() else np.nan


def _latest_days_mean(lags: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return the row means of the first :data:`BASELINE_DAYS` known values (NaN if none)."""
    valid = ~np.isnan(lags)
    taken = valid & (np.cumsum(valid, axis=1) <= BASELINE_DAYS)
    count = taken.sum(axis=1)
    total = np.where(taken, lags, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.full(len(lags), np.nan), where=count > 0)
    return np.asarray(mean, dtype=float)


def history_features(
    series: pd.Series, index: pd.DatetimeIndex, *, now: datetime, site: Site, name: str
) -> pd.DataFrame:
    """Return what a measured series says about each target, using values before ``now``.

    Parameters
    ----------
    series : pandas.Series
        Measured mean power per slot on a UTC slot index (NaN = not measured). Values at
        or after ``now`` are ignored. [kW]
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    now : datetime
        Issue time (tz-aware).
    site : Site
        Its time zone defines "the same slot".
    name : str
        Column prefix, e.g. ``"load"``.

    Returns
    -------
    pandas.DataFrame
        On ``index`` [kW]: ``{name}_baseline_kw``, the mean of the same local slot on
        the :data:`BASELINE_DAYS` latest days on which it lies before ``now`` and was
        measured (NaN if none within 9 days); ``{name}_lag_1d_kw`` and
        ``{name}_lag_7d_kw``, the same slot 1 and 7 days before the target if that is
        before ``now`` (else NaN); ``{name}_mean_24h_kw`` and ``{name}_level_7d_kw``, the
        means over the 24 h and the 7 days before ``now``.

    Raises
    ------
    InputError
        If ``now`` is naive or an index is not a UTC slot grid.
    """
    moment = _check_now(now)
    check_slots(index)
    _check_series(series, name)
    known = series[series.index < moment].astype(float)  # the cut: nothing at or after now
    smooth = known.rolling(_SMOOTH_SLOTS, center=True, min_periods=1).mean()
    lags = np.full((len(index), _LAG_SEARCH_DAYS), np.nan)
    smooth_lags = np.full((len(index), _LAG_SEARCH_DAYS), np.nan)
    for d in range(1, _LAG_SEARCH_DAYS + 1):
        times = same_slot_days_before(index, days=d, zone=site.zone)
        lags[:, d - 1] = _values_at(known, times)
        smooth_lags[:, d - 1] = _values_at(smooth, times)
    baseline = _latest_days_mean(lags)
    baseline_1h = _latest_days_mean(smooth_lags)
    mean_24h = _mean_since(known, moment - _ROLLING_WINDOW)
    level_7d = _mean_since(known, moment - _LEVEL_WINDOW)
    return pd.DataFrame(
        {
            f"{name}_baseline_kw": baseline,
            f"{name}_baseline_1h_kw": baseline_1h,
            f"{name}_lag_1d_kw": lags[:, 0],
            f"{name}_lag_7d_kw": lags[:, 6],
            f"{name}_mean_24h_kw": np.full(len(index), mean_24h),
            f"{name}_level_7d_kw": np.full(len(index), level_7d),
        },
        index=index,
    )


def _energy_ratio(actual: pd.Series, prior: pd.Series, *, min_prior_kwh: float) -> float:
    """Return actual / prior energy over slots where both are known (NaN if too little)."""
    both = actual.notna().to_numpy() & prior.notna().to_numpy()
    prior_kwh = float(prior.to_numpy()[both].sum()) * (SLOT / _HOUR)
    actual_kwh = float(actual.to_numpy()[both].sum()) * (SLOT / _HOUR)
    return actual_kwh / prior_kwh if prior_kwh >= min_prior_kwh else np.nan


def pv_residual_features(
    pv_kw: pd.Series, prior_kw: pd.Series, index: pd.DatetimeIndex, *, now: datetime
) -> pd.DataFrame:
    """Return the recent ratio of the actual PV to the prior, from values before ``now``.

    Parameters
    ----------
    pv_kw : pandas.Series
        Measured PV per slot (UTC slot index). Values at or after ``now`` are ignored.
        [kW]
    prior_kw : pandas.Series
        The physics prior per slot as it was forecast at the time (e.g. on the newest
        run at each slot), same kind of index. [kW]
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    now : datetime
        Issue time (tz-aware).

    Returns
    -------
    pandas.DataFrame
        On ``index`` [-]: ``pv_ratio_7d`` and ``pv_ratio_3h``, the actual over the prior
        energy in the 7 days and the 3 hours before ``now``, over slots where both are
        known (NaN below 1 kWh and 0.2 kWh of prior: night, snow-free nothing to say).
    """
    moment = _check_now(now)
    check_slots(index)
    _check_series(pv_kw, "pv_kw")
    _check_series(prior_kw, "prior_kw")
    known = pv_kw[pv_kw.index < moment]
    ratios = {}
    for column, window, min_kwh in (
        ("pv_ratio_7d", _RESIDUAL_WINDOW, _RATIO_MIN_PRIOR_KWH),
        ("pv_ratio_3h", _NOWCAST_WINDOW, _NOWCAST_MIN_PRIOR_KWH),
    ):
        actual = known[known.index >= moment - window]
        prior = prior_kw.reindex(actual.index)
        ratios[column] = np.full(len(index), _energy_ratio(actual, prior, min_prior_kwh=min_kwh))
    return pd.DataFrame(ratios, index=index)


def _horizon_h(index: pd.DatetimeIndex, now: datetime) -> pd.DataFrame:
    """Return ``horizon_h`` [h]: each slot's start minus the issue time."""
    hours = (index - _check_now(now)).total_seconds().to_numpy() / 3600.0
    return pd.DataFrame({"horizon_h": hours}, index=index)


def _slot_part(index: pd.DatetimeIndex, site: Site, slots: pd.DataFrame | None) -> pd.DataFrame:
    """Return the slot columns of ``index``, from ``slots`` when it covers them."""
    if slots is None:
        return slot_features(index, site=site)
    part = slots.reindex(index)
    if part.isna().all(axis=1).any():
        raise InputError("slots", "precomputed slot features do not cover every target")
    return part


def build_load_features(
    *,
    now: datetime,
    index: pd.DatetimeIndex,
    load_kw: pd.Series,
    run: pd.DataFrame,
    site: Site,
    slots: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the load model's feature frame for targets ``index`` issued at ``now``.

    Parameters
    ----------
    now : datetime
        Issue time (tz-aware).
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    load_kw : pandas.Series
        Measured household load per slot; values at or after ``now`` are ignored. [kW]
    run : pandas.DataFrame
        The newest weather run at ``now`` (:func:`weather_features`).
    site : Site
        Location, clock and holidays.
    slots : pandas.DataFrame, optional
        :func:`slot_features` precomputed over a superset of ``index`` (speed only).

    Returns
    -------
    pandas.DataFrame
        The :data:`LOAD_FEATURES` columns on ``index``.
    """
    slot = _slot_part(index, site, slots)
    weather = weather_features(run, index, site=site)
    history = history_features(load_kw, index, now=now, site=site, name="load")
    frame = pd.concat([slot, weather, _horizon_h(index, now), history], axis=1)
    return frame.loc[:, list(LOAD_FEATURES)]


def build_pv_features(
    *,
    now: datetime,
    index: pd.DatetimeIndex,
    pv_kw: pd.Series,
    prior_history_kw: pd.Series,
    run: pd.DataFrame,
    prior: PriorPv,
    site: Site,
    slots: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the PV model's feature frame for targets ``index`` issued at ``now``.

    Parameters
    ----------
    now : datetime
        Issue time (tz-aware).
    index : pandas.DatetimeIndex
        Target slot starts (UTC).
    pv_kw : pandas.Series
        Measured PV per slot; values at or after ``now`` are ignored. [kW]
    prior_history_kw : pandas.Series
        The prior per past slot as forecast then (:func:`pv_residual_features`). [kW]
    run : pandas.DataFrame
        The newest weather run at ``now`` (:func:`weather_features`).
    prior : callable
        The physics prior: hourly weather frame in, hourly PV [kW] on its index out.
    site : Site
        Location, clock and holidays.
    slots : pandas.DataFrame, optional
        :func:`slot_features` precomputed over a superset of ``index`` (speed only).

    Returns
    -------
    pandas.DataFrame
        The :data:`PV_FEATURES` columns and ``night`` (:func:`slot_features`, not a
        model input: the night rule) on ``index``. Besides the slot, weather and
        history columns, ``pv_prior_kw`` (the prior on ``run``), ``pv_clear_sky_kw``
        (the prior on :func:`clear_sky_run`) [kW] and ``pv_index_forecast`` (their
        ratio, NaN below 10 W of clear-sky PV) [-], each of the run's hour holding the
        slot.
    """
    slot = _slot_part(index, site, slots)
    rows = _check_run(run, index)
    run_prior = prior_on(prior, run, "prior")
    clear_prior = prior_on(prior, clear_sky_run(run, site=site), "prior")
    weather = weather_features(run, index, site=site)
    residual = pv_residual_features(pv_kw, prior_history_kw, index, now=now)
    forecast_kw, clear_kw = run_prior[rows], clear_prior[rows]
    physics = pd.DataFrame(
        {
            "pv_prior_kw": forecast_kw,
            "pv_clear_sky_kw": clear_kw,
            "pv_index_forecast": np.where(
                clear_kw >= _INDEX_MIN_CLEAR_KW, forecast_kw / np.maximum(clear_kw, 1e-9), np.nan
            ),
        },
        index=index,
    )
    frame = pd.concat([slot, weather, _horizon_h(index, now), physics, residual], axis=1)
    return frame.loc[:, [*PV_FEATURES, "night"]]


def prior_on(prior: PriorPv, weather: pd.DataFrame, field: str) -> npt.NDArray[np.float64]:
    """Return a PV model's output on ``weather`` as an array on its rows, checked.

    Raises
    ------
    InputError
        Naming ``field``, if the model returns no Series on the weather's index, or NaN
        or negative PV.
    """
    result = prior(weather)
    if not isinstance(result, pd.Series) or not result.index.equals(weather.index):
        raise InputError(field, "must return a Series on the weather's index")
    values = np.asarray(result.to_numpy(float), dtype=float)
    if np.isnan(values).any() or (values < 0.0).any():
        raise InputError(field, "returned NaN or negative PV")
    return values
