r"""PV power from weather, with pvlib: pure functions, no I/O.

This module owns the physics between a weather table and AC power:

* :class:`PvArray`, one plane of modules behind its own inverter (or MPPT input);
* :func:`pv_forecast_kw`, mean AC power per slot of a weather table;
* :func:`clear_sky_weather`, a weather table without a weather service: pvlib's Ineichen
  clear sky scaled by a monthly clear-sky index, the fallback when Open-Meteo is down and
  no cached forecast exists;
* :func:`clear_sky_irradiance`, the clear sky both of the above and
  :mod:`darkstar.sources.openmeteo` (hourly to 15-minute distribution) share.

A weather table is a DataFrame on a tz-aware UTC index of slot *starts* with the columns
of :data:`WEATHER_COLUMNS`; each row holds the mean over the slot ``[t, t + step)``. Sun
geometry is therefore evaluated at slot mid-points, ``t + step / 2``.

The chain per array and slot (pvlib names in brackets):

.. math::

    E_{poa} &= \mathrm{HayDavies}(\beta, \gamma, \theta_z, \gamma_s, DNI, GHI, DHI,
               E_{0})  \quad [\texttt{irradiance.get\_total\_irradiance}] \\
    E_{eff} &= E_{poa,beam} \cdot \mathrm{IAM}(\theta) + E_{poa,diffuse}
               \quad [\texttt{iam.physical}] \\
    T_{cell} &= T_{air} + E_{poa} / (u_0 + u_1 v)  \quad [\texttt{temperature.faiman}] \\
    P_{dc} &= P_{nom} \, E_{eff} / 1000 \, (1 + \gamma_{pdc} (T_{cell} - 25))
               \quad [\texttt{pvsystem.pvwatts\_dc}] \\
    P_{ac} &= \min(P_{dc} (1 - L / 100), P_{inv})

with :math:`\gamma_{pdc} = -0.004` /K, wind :math:`v = 1` m/s (no wind is forecast), and
:math:`L` the array's total losses (wiring, soiling, mismatch *and* inverter). The result
is summed over arrays, clipped at 0, and 0 whenever the sun's apparent elevation at the
slot mid-point is not above the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib

from darkstar.errors import InputError

__all__ = [
    "GAMMA_PDC_PER_K",
    "MONTHLY_CLEAR_SKY_INDEX",
    "MONTHLY_CLOUD_COVER_PERCENT",
    "MONTHLY_TEMP_AIR_C",
    "WEATHER_COLUMNS",
    "PvArray",
    "clear_sky_irradiance",
    "clear_sky_weather",
    "pv_forecast_kw",
]

WEATHER_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c", "cloud_cover_percent")
"""Columns of a weather table; irradiance is the slot mean [W/m²], temperature [°C]."""

GAMMA_PDC_PER_K = -0.004
"""DC power temperature coefficient [1/K]; typical crystalline silicon (PVWatts v5 uses -0.0047
for standard modules, -0.0035 for premium)."""

_WIND_SPEED_M_S = 1.0
"""Wind speed for the cell temperature [m/s]: no wind is forecast, so faiman's default."""
_SLOT = timedelta(minutes=15)
_IRRADIANCE = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2")

# Monthly climatology, January .. December, from the DWD test reference year (TRY 2010,
# "mittleres Jahr", reference period 1988-2007) for region 2, "Ostseeküste", station
# Rostock (54°11'N 12°05'E, 4 m), the TRY station closest to southern Sweden. The file
# is demandlib 0.2.2's ``demandlib/vdi/resources_weather/TRY2010_02_Jahr.dat``. Computed
# once (demandlib is not needed at runtime) as follows: HH is the hour 1..24 in MEZ
# (UTC+1) and radiation is the mean of the hour ending at HH, so each row was stamped at
# its mid-point HH - 1.5 h UTC on the non-leap year 2010; GHI = B + D (direct + diffuse
# horizontal); the clear sky is pvlib 0.16.1 ``Location(54.1833, 12.0833, altitude=4)
# .get_clearsky(times, model="ineichen")`` (Linke turbidity from pvlib's monthly table);
# clear-sky index = sum of GHI over the month / sum of clear-sky GHI over the month.
# Temperature is the monthly mean of ``t`` [°C]; cloud cover the monthly mean of ``N``
# (octas, 9 = sky obscured left out) times 12.5 [%]. Rounded as written.
MONTHLY_CLEAR_SKY_INDEX = (
    0.465, 0.472, 0.720, 0.765, 0.642, 0.769, 0.728, 0.770, 0.662, 0.761, 0.601, 0.406,
)  # fmt: skip
"""Monthly clear-sky index (GHI / clear-sky GHI), January first [-]."""
MONTHLY_TEMP_AIR_C = (2.3, 2.4, 4.3, 8.0, 12.4, 15.6, 18.0, 18.0, 14.7, 10.2, 5.5, 2.6)
"""Monthly mean air temperature, January first [°C]."""
MONTHLY_CLOUD_COVER_PERCENT = (
    83.0,
    78.0,
    63.0,
    53.0,
    72.0,
    66.0,
    64.0,
    54.0,
    65.0,
    62.0,
    78.0,
    89.0,
)
"""Monthly mean total cloud cover, January first [%]."""


def _check_finite(field: str, value: float, *, low: float, high: float, closed: bool) -> None:
    """Raise :class:`InputError` naming ``field`` unless ``low < value <= high`` (or ``<=``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (low <= value if closed else low < value) and value <= high
    if not ok:
        bracket = "[" if closed else "("
        raise InputError(field, f"must be a number in {bracket}{low:g}, {high:g}], got {value!r}")


@dataclass(frozen=True, kw_only=True)
class PvArray:
    """One PV array: modules of one orientation, optionally clipped by their own inverter.

    Parameters
    ----------
    kwp : float
        DC nameplate power at STC [kW], > 0.
    tilt_deg : float
        Tilt from horizontal [°], 0 (flat) to 90 (vertical).
    azimuth_deg : float
        Direction the modules face [°], pvlib convention: 0 north, 90 east, 180 south,
        270 west; 0 to 360.
    losses_percent : float, default 14.0
        All losses between module DC at STC efficiency and AC (wiring, soiling, mismatch,
        inverter) [%], 0 to < 100.
    inverter_kw : float or None, default None
        AC limit of this array's inverter [kW], > 0; ``None`` for no clipping.

    Raises
    ------
    InputError
        Naming the field that is out of range.
    """

    kwp: float
    tilt_deg: float
    azimuth_deg: float
    losses_percent: float = 14.0
    inverter_kw: float | None = None

    def __post_init__(self) -> None:
        _check_finite("kwp", self.kwp, low=0.0, high=1e6, closed=False)
        _check_finite("tilt_deg", self.tilt_deg, low=0.0, high=90.0, closed=True)
        _check_finite("azimuth_deg", self.azimuth_deg, low=0.0, high=360.0, closed=True)
        _check_finite("losses_percent", self.losses_percent, low=0.0, high=99.999, closed=True)
        if self.inverter_kw is not None:
            _check_finite("inverter_kw", self.inverter_kw, low=0.0, high=1e6, closed=False)


def _check_site(latitude: float, longitude: float, altitude_m: float) -> None:
    _check_finite("latitude", latitude, low=-90.0, high=90.0, closed=True)
    _check_finite("longitude", longitude, low=-180.0, high=180.0, closed=True)
    _check_finite("altitude_m", altitude_m, low=-500.0, high=9000.0, closed=True)


def _slot_step(index: pd.Index, field: str) -> pd.Timedelta:
    """Return the step of a regular tz-aware UTC index (15 min for a single slot)."""
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise InputError(field, "must be a tz-aware UTC DatetimeIndex of slot starts")
    if str(index.tz) != "UTC":
        raise InputError(field, f"must be in UTC, got {index.tz}")
    if len(index) < 2:  # one slot has no step of its own
        return pd.Timedelta(_SLOT)
    steps = index[1:] - index[:-1]
    if steps.min() <= pd.Timedelta(0) or steps.min() != steps.max():
        raise InputError(field, "slots must be increasing with one constant step")
    return pd.Timedelta(steps[0])


def _dni_extra_w_m2(times: pd.DatetimeIndex) -> np.ndarray:
    """Extraterrestrial normal irradiance on each instant's UTC day [W/m²]."""
    day_of_year = times.tz_convert("UTC").day_of_year.to_numpy()
    return np.asarray(pvlib.irradiance.get_extra_radiation(day_of_year), dtype=float)


def clear_sky_irradiance(
    times: pd.DatetimeIndex, *, latitude: float, longitude: float, altitude_m: float = 0.0
) -> pd.DataFrame:
    """Return Ineichen clear-sky irradiance and the sun's position at the given instants.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        tz-aware instants, e.g. slot mid-points.
    latitude, longitude : float
        Site [°], WGS84, east positive.
    altitude_m : float, default 0.0
        Site altitude above sea level [m].

    Returns
    -------
    pandas.DataFrame
        On ``times``: ``ghi_w_m2``, ``dni_w_m2``, ``dhi_w_m2`` [W/m²] (Linke turbidity
        from pvlib's monthly climatology), ``zenith_deg`` (true), ``apparent_zenith_deg``
        (refraction-corrected) and ``azimuth_deg`` [°], ``dni_extra_w_m2`` [W/m²].

    Notes
    -----
    The Linke turbidity is pvlib's monthly value, not interpolated between months.
    """
    _check_site(latitude, longitude, altitude_m)
    location = pvlib.location.Location(latitude, longitude, altitude=altitude_m)
    solar = location.get_solarposition(times)
    dni_extra = _dni_extra_w_m2(times)
    # pvlib reads the deprecated DatetimeIndex.dayofyear when it interpolates turbidity or
    # computes dni_extra from times; monthly turbidity and day numbers avoid both.
    turbidity = pvlib.clearsky.lookup_linke_turbidity(
        times, latitude, longitude, interp_turbidity=False
    )
    clear = location.get_clearsky(
        times,
        model="ineichen",
        solar_position=solar,
        dni_extra=dni_extra,
        linke_turbidity=turbidity,
    )
    return pd.DataFrame(
        {
            "ghi_w_m2": clear["ghi"].to_numpy(float),
            "dni_w_m2": clear["dni"].to_numpy(float),
            "dhi_w_m2": clear["dhi"].to_numpy(float),
            "zenith_deg": solar["zenith"].to_numpy(float),
            "apparent_zenith_deg": solar["apparent_zenith"].to_numpy(float),
            "azimuth_deg": solar["azimuth"].to_numpy(float),
            "dni_extra_w_m2": dni_extra,
        },
        index=times,
    )


def _array_ac_kw(array: PvArray, weather: pd.DataFrame, sun: pd.DataFrame) -> np.ndarray:
    """Mean AC power of one array per slot [kW], before the night mask."""
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg,
        array.azimuth_deg,
        sun["apparent_zenith_deg"],
        sun["azimuth_deg"],
        dni=weather["dni_w_m2"],
        ghi=weather["ghi_w_m2"],
        dhi=weather["dhi_w_m2"],
        dni_extra=sun["dni_extra_w_m2"],
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(
        array.tilt_deg, array.azimuth_deg, sun["apparent_zenith_deg"], sun["azimuth_deg"]
    )
    effective = poa["poa_direct"] * pvlib.iam.physical(aoi) + poa["poa_diffuse"]
    temp_cell = pvlib.temperature.faiman(
        poa["poa_global"], weather["temp_air_c"], wind_speed=_WIND_SPEED_M_S
    )
    dc_w = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, array.kwp * 1000.0, GAMMA_PDC_PER_K)
    ac_kw = np.asarray(dc_w, dtype=float) / 1000.0 * (1.0 - array.losses_percent / 100.0)
    if array.inverter_kw is not None:
        ac_kw = np.minimum(ac_kw, array.inverter_kw)
    return np.maximum(ac_kw, 0.0)


def pv_forecast_kw(
    weather: pd.DataFrame,
    *,
    arrays: tuple[PvArray, ...] | list[PvArray],
    latitude: float,
    longitude: float,
    altitude_m: float = 0.0,
) -> pd.Series:
    """Return the mean AC power of all arrays per slot of a weather table.

    Parameters
    ----------
    weather : pandas.DataFrame
        Slot means on a tz-aware UTC index of slot starts with one constant step (a single
        row counts as a 15-minute slot): ``ghi_w_m2``, ``dni_w_m2``, ``dhi_w_m2`` [W/m²]
        and ``temp_air_c`` [°C]; other columns are ignored. NaN marks a gap.
    arrays : sequence of PvArray
        At least one array; their AC power is summed.
    latitude, longitude : float
        Site [°], WGS84, east positive.
    altitude_m : float, default 0.0
        Site altitude [m].

    Returns
    -------
    pandas.Series
        ``pv_kw_forecast`` [kW] on the weather index: never negative, never above the sum of
        the inverter limits, 0 while the sun is below the horizon at the slot mid-point,
        and NaN for a daylight slot whose weather has a gap (gaps are not filled).

    Raises
    ------
    InputError
        Naming the missing or negative column (``weather.ghi_w_m2``), a bad index
        (``weather.index``), an empty ``arrays`` or an out-of-range site.

    Notes
    -----
    The model chain is written out in the module docstring.

    Examples
    --------
    >>> index = pd.date_range("2025-06-21 11:00", periods=1, freq="15min", tz="UTC")
    >>> weather = pd.DataFrame({"ghi_w_m2": [1000.0], "dni_w_m2": [0.0], "dhi_w_m2": [1000.0],
    ...                         "temp_air_c": [25.0 - 1000.0 / (25.0 + 6.84)]}, index=index)
    >>> flat = PvArray(kwp=5.0, tilt_deg=0.0, azimuth_deg=180.0)
    >>> round(float(pv_forecast_kw(weather, arrays=[flat], latitude=55.6,
    ...                            longitude=13.0).iloc[0]), 3)  # 5 kWp * 0.86
    4.3
    """
    _check_site(latitude, longitude, altitude_m)
    if not arrays:
        raise InputError("arrays", "at least one PV array is needed")
    step = _slot_step(weather.index, "weather.index")
    for column in (*_IRRADIANCE, "temp_air_c"):
        if column not in weather.columns:
            raise InputError(f"weather.{column}", "missing column")
    for column in _IRRADIANCE:
        negative = weather[column].to_numpy(float) < 0.0
        if negative.any():
            when = weather.index[np.argmax(negative)].isoformat()
            raise InputError(f"weather.{column}", f"negative irradiance at {when}")
    mid = weather.index + step / 2
    sun = clear_sky_irradiance(mid, latitude=latitude, longitude=longitude, altitude_m=altitude_m)
    inputs = weather[[*_IRRADIANCE, "temp_air_c"]].astype(float).set_axis(mid)
    total_kw = np.zeros(len(weather))
    for array in arrays:
        total_kw = total_kw + _array_ac_kw(array, inputs, sun)
    night = sun["apparent_zenith_deg"].to_numpy() >= 90.0  # the horizon
    total_kw[night] = 0.0
    return pd.Series(total_kw, index=weather.index, name="pv_kw_forecast")


def clear_sky_weather(
    index: pd.DatetimeIndex,
    *,
    latitude: float,
    longitude: float,
    altitude_m: float = 0.0,
    climatology: bool = True,
) -> pd.DataFrame:
    """Return a weather table from the clear sky and a monthly climatology.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        tz-aware UTC slot starts with one constant step (one slot counts as 15 minutes).
    latitude, longitude : float
        Site [°], WGS84, east positive.
    altitude_m : float, default 0.0
        Site altitude [m].
    climatology : bool, default True
        Scale the clear sky by :data:`MONTHLY_CLEAR_SKY_INDEX` (an average day of the
        month) and split GHI into DNI and DHI with the Erbs model, cloud cover from
        :data:`MONTHLY_CLOUD_COVER_PERCENT`. ``False`` gives the cloudless sky (Ineichen
        GHI, DNI, DHI) and 0 % cloud cover, an upper bound.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`WEATHER_COLUMNS` on ``index``, evaluated at slot mid-points.
        Temperature is always the monthly mean :data:`MONTHLY_TEMP_AIR_C`.

    Notes
    -----
    The tables describe the southern Baltic coast (see the comment at their definition);
    elsewhere they are a rough prior only (on the southern hemisphere they are wrong).

    Examples
    --------
    >>> index = pd.date_range("2025-06-21", periods=96, freq="15min", tz="UTC")
    >>> weather = clear_sky_weather(index, latitude=55.6, longitude=13.0)
    >>> float(weather["ghi_w_m2"].iloc[0]), bool(weather["ghi_w_m2"].max() > 500)
    (0.0, True)
    """
    step = _slot_step(index, "index")
    mid = index + step / 2
    sun = clear_sky_irradiance(mid, latitude=latitude, longitude=longitude, altitude_m=altitude_m)
    month = mid.month.to_numpy() - 1
    temp_air_c = np.take(MONTHLY_TEMP_AIR_C, month)
    if climatology:
        ghi = sun["ghi_w_m2"].to_numpy() * np.take(MONTHLY_CLEAR_SKY_INDEX, month)
        split = pvlib.irradiance.erbs(ghi, sun["zenith_deg"].to_numpy(), mid.day_of_year.to_numpy())
        dni, dhi = np.asarray(split["dni"], float), np.asarray(split["dhi"], float)
        cloud_cover = np.take(MONTHLY_CLOUD_COVER_PERCENT, month)
    else:
        ghi, dni, dhi = (sun[column].to_numpy() for column in _IRRADIANCE)
        cloud_cover = np.zeros(len(index))
    columns = (ghi, dni, dhi, temp_air_c, cloud_cover)
    data = {
        name: np.asarray(values, dtype=float)
        for name, values in zip(WEATHER_COLUMNS, columns, strict=True)
    }
    return pd.DataFrame(data, index=index)
