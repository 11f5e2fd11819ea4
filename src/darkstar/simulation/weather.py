"""DWD test-reference-year weather and the PV power it yields.

Owns two things:

- parsing the text of a DWD test reference year (TRY 2010) file into Darkstar's
  hourly weather frame (:func:`parse_try`, :func:`parse_try_station`) and picking the
  station nearest to a site (:func:`nearest_station`);
- :func:`pv_power_kw`, the AC power of one or more fixed PV arrays under that weather,
  through pvlib (Hay-Davies transposition, Faiman cell temperature, PVWatts DC and a flat
  system loss).

No file is opened here; :func:`darkstar.simulation.datasets.read_weather` finds the file
in the installed ``demandlib`` package and passes its text in.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib

from darkstar.errors import AdapterError, InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_KM",
    "GAMMA_PDC_PER_K",
    "PV_SYSTEM_LOSS_FRAC",
    "WEATHER_COLUMNS",
    "PvArraySpec",
    "TryStation",
    "nearest_station",
    "parse_try",
    "parse_try_station",
    "pv_power_kw",
]

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM: Final = 6371.0
"""Mean Earth radius used by the haversine distance. [km]"""

GAMMA_PDC_PER_K: Final = -0.0037
"""PVWatts DC temperature coefficient of crystalline silicon modules. [1/K]"""

PV_SYSTEM_LOSS_FRAC: Final = 0.14
"""PVWatts-style lumped losses: soiling, wiring, mismatch, inverter, availability. [-]"""

ZENITH_MAX_FOR_DNI_DEG: Final = 87.0
"""Above this solar zenith, beam on the horizontal is not converted to DNI. [deg]"""

ALBEDO_FRAC: Final = 0.2
"""Ground reflectance used for the reflected component on tilted arrays. [-]"""

WEATHER_COLUMNS: Final = (
    "ghi_w_per_m2",
    "dhi_w_per_m2",
    "dni_w_per_m2",
    "temp_air_c",
    "wind_speed_m_per_s",
    "cloud_cover_octas",
)
"""Columns of the weather frame returned by :func:`parse_try`."""

# DWD TRY 2010 column names, in file order (see the file header for their meaning).
_TRY_COLUMNS: Final = (
    *("RG", "IS", "MM", "DD", "HH", "N", "WR", "WG", "t", "p"),
    *("x", "RF", "W", "B", "D", "IK", "A", "E", "IL"),
)
# Boundary map from DWD names to ours (B and D are summed / converted, not renamed).
_TRY_TO_WEATHER: Final = {"t": "temp_air_c", "WG": "wind_speed_m_per_s", "N": "cloud_cover_octas"}
_TRY_UTC_OFFSET: Final = timedelta(hours=1)  # MEZ: UTC+1 all year, no daylight saving
_TRY_OBSCURED_SKY: Final = 9  # DWD code for "sky not visible" (fog); mapped to 8 octas
_LOCATION_RE: Final = re.compile(r"Lage:\s*(\d+)°(\d+)'N\D+?(\d+)°(\d+)'O\D+?(-?\d+)\s*Meter")
_STATION_RE: Final = re.compile(r"Station:\s*(.+?)\s+WMO-Nummer")


@dataclass(frozen=True, kw_only=True)
class TryStation:
    """A DWD test-reference-year station.

    Parameters
    ----------
    name : str
        Station name as written in the file header (``"Rostock"``).
    latitude_deg : float
        Latitude, north positive. [deg]
    longitude_deg : float
        Longitude, east positive. [deg]
    elevation_m : float
        Height above sea level. [m]
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float


@dataclass(frozen=True, kw_only=True)
class PvArraySpec:
    """One fixed PV array.

    Parameters
    ----------
    kwp : float
        DC nameplate power at standard test conditions, > 0. [kWp]
    tilt_deg : float
        Tilt from horizontal, in [0, 90]. [deg]
    azimuth_deg : float
        Direction the array faces, clockwise from north, in [0, 360):
        90 = east, 180 = south, 270 = west. [deg]

    Raises
    ------
    InputError
        If a field is not finite or out of range.
    """

    kwp: float
    tilt_deg: float
    azimuth_deg: float

    def __post_init__(self) -> None:
        for field in ("kwp", "tilt_deg", "azimuth_deg"):
            if not math.isfinite(getattr(self, field)):
                raise InputError(field, f"must be finite, got {getattr(self, field)}")
        if self.kwp <= 0.0:
            raise InputError("kwp", f"must be > 0, got {self.kwp}")
        if not 0.0 <= self.tilt_deg <= 90.0:
            raise InputError("tilt_deg", f"must be in [0, 90], got {self.tilt_deg}")
        if not 0.0 <= self.azimuth_deg < 360.0:
            raise InputError("azimuth_deg", f"must be in [0, 360), got {self.azimuth_deg}")


def _check_coordinates(*, latitude: float, longitude: float) -> None:
    """Raise :class:`InputError` unless the coordinates are finite and in range."""
    if not -90.0 <= latitude <= 90.0:
        raise InputError("latitude", f"must be in [-90, 90] degrees, got {latitude}")
    if not -180.0 <= longitude <= 180.0:
        raise InputError("longitude", f"must be in [-180, 180] degrees, got {longitude}")


def _haversine_km(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Return the great-circle distance between two points [km]."""
    phi1, phi2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dphi, dlmb = phi2 - phi1, math.radians(lon2_deg - lon1_deg)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def nearest_station(
    stations: Sequence[TryStation], *, latitude: float, longitude: float
) -> TryStation:
    """Return the station closest to a site by great-circle (haversine) distance.

    Parameters
    ----------
    stations : sequence of TryStation
        Candidates; at least one.
    latitude : float
        Site latitude, north positive, in [-90, 90]. [deg]
    longitude : float
        Site longitude, east positive, in [-180, 180]. [deg]

    Returns
    -------
    TryStation
        The nearest station (the first one listed on a tie).

    Raises
    ------
    InputError
        If no station is given or a coordinate is out of range.

    Examples
    --------
    >>> a = TryStation(name="A", latitude_deg=54.0, longitude_deg=12.0, elevation_m=0.0)
    >>> b = TryStation(name="B", latitude_deg=48.0, longitude_deg=12.0, elevation_m=0.0)
    >>> nearest_station([a, b], latitude=50.0, longitude=12.0).name
    'B'
    """
    _check_coordinates(latitude=latitude, longitude=longitude)
    if not stations:
        raise InputError("stations", "at least one station is required")
    return min(
        stations,
        key=lambda s: _haversine_km(latitude, longitude, s.latitude_deg, s.longitude_deg),
    )


def parse_try_station(text: str, *, source: str = "DWD TRY") -> TryStation:
    r"""Parse the station name and location from the header of a DWD TRY 2010 file.

    Parameters
    ----------
    text : str
        The file's text (only the first lines are needed).
    source : str
        Names the file in error messages.

    Returns
    -------
    TryStation
        Name, coordinates (degrees and arc minutes converted to decimal degrees) and
        elevation.

    Raises
    ------
    AdapterError
        If the ``Station:`` or ``Lage:`` header line is missing or malformed.

    Examples
    --------
    >>> station = parse_try_station("TRY04\nStation: Potsdam   WMO-Nummer: 10379\n"
    ...     "Lage: 52°23'N <- B.  13°04'O <- L.    81 Meter über NN\n")
    >>> station.name, round(station.latitude_deg, 4), round(station.longitude_deg, 4)
    ('Potsdam', 52.3833, 13.0667)
    """
    station = _STATION_RE.search(text)
    location = _LOCATION_RE.search(text)
    if station is None or location is None:
        raise AdapterError(source, "header lacks a 'Station:' or 'Lage:' line")
    lat_d, lat_m, lon_d, lon_m, elevation = (int(g) for g in location.groups())
    return TryStation(
        name=station.group(1).strip(),
        latitude_deg=lat_d + lat_m / 60.0,
        longitude_deg=lon_d + lon_m / 60.0,
        elevation_m=float(elevation),
    )


def _try_rows(text: str, source: str) -> pd.DataFrame:
    """Return the whitespace-separated data rows that follow the ``***`` line."""
    lines = text.splitlines()
    try:
        first = lines.index("***") + 1
    except ValueError:
        raise AdapterError(source, "no '***' line before the data rows") from None
    rows = pd.read_csv(
        io.StringIO("\n".join(lines[first:])), sep=r"\s+", header=None, names=_TRY_COLUMNS
    )
    if rows.isna().to_numpy().any():
        raise AdapterError(source, "data rows have missing or extra fields")
    return rows


def _try_index_utc(rows: pd.DataFrame, *, year: int, source: str) -> pd.DatetimeIndex:
    """Place TRY rows on ``year``: interval starts in UTC (HH is hour-ending MEZ)."""
    if len(rows) != 8760:
        raise AdapterError(source, f"expected 8760 hourly rows, found {len(rows)}")
    days = pd.to_datetime(pd.DataFrame({"year": year, "month": rows["MM"], "day": rows["DD"]}))
    local_start = days + pd.to_timedelta(rows["HH"] - 1, unit="h")
    index = pd.DatetimeIndex(local_start - _TRY_UTC_OFFSET).tz_localize("UTC")
    first = pd.Timestamp(year, 1, 1, tz="UTC") - _TRY_UTC_OFFSET
    expected = pd.date_range(first, periods=8760, freq="h")
    bad = np.flatnonzero(index != expected)
    if bad.size:
        raise AdapterError(source, f"row {bad[0]} is {index[bad[0]]}, expected {expected[bad[0]]}")
    return expected.rename("start")


def _dni_extra_w_per_m2(times: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Return the extraterrestrial normal irradiance on each day [W/m²]."""
    # pvlib reads the deprecated DatetimeIndex.dayofyear; pass day numbers instead.
    day_of_year = times.tz_convert("UTC").day_of_year.to_numpy()
    return np.asarray(pvlib.irradiance.get_extra_radiation(day_of_year), dtype=float)


def _dni_w_per_m2(
    beam_horizontal_w_per_m2: pd.Series, *, latitude: float, longitude: float
) -> pd.Series:
    """DNI from beam-on-horizontal and the solar zenith at each hour's midpoint."""
    midpoints = beam_horizontal_w_per_m2.index + pd.Timedelta(minutes=30)
    zenith_deg = pvlib.solarposition.get_solarposition(midpoints, latitude, longitude)["zenith"]
    dni_extra = _dni_extra_w_per_m2(midpoints)
    cos_zenith = np.cos(np.radians(zenith_deg.to_numpy()))
    high_sun = zenith_deg.to_numpy() <= ZENITH_MAX_FOR_DNI_DEG
    dni = np.zeros(len(midpoints))
    dni[high_sun] = beam_horizontal_w_per_m2.to_numpy()[high_sun] / cos_zenith[high_sun]
    return pd.Series(
        np.clip(dni, 0.0, dni_extra), index=beam_horizontal_w_per_m2.index, name="dni_w_per_m2"
    )


def parse_try(text: str, *, year: int = 2018, source: str = "DWD TRY") -> pd.DataFrame:
    """Parse a DWD test reference year (TRY 2010) file into an hourly weather frame.

    Parameters
    ----------
    text : str
        The whole file's text.
    year : int
        Calendar year to place the typical year on; must not be a leap year (a TRY has
        365 days).
    source : str
        Names the file in error messages.

    Returns
    -------
    pandas.DataFrame
        8760 rows indexed by the tz-aware UTC start of each hour, from 23:00 UTC on
        31 December of ``year - 1``. Columns (see :data:`WEATHER_COLUMNS`):
        ``ghi_w_per_m2`` = B + D [W/m²], ``dhi_w_per_m2`` = D [W/m²], ``dni_w_per_m2``
        [W/m²], ``temp_air_c`` [°C], ``wind_speed_m_per_s`` at 10 m [m/s],
        ``cloud_cover_octas`` [octas, 0-8]. ``attrs`` holds ``station``,
        ``latitude_deg``, ``longitude_deg`` and ``elevation_m``.

    Raises
    ------
    InputError
        If ``year`` is a leap year.
    AdapterError
        If the header or the rows are malformed or the rows are not the 8760 hours of a
        year in order.

    Notes
    -----
    Row ``HH`` (1-24) is the hour ENDING at HH:00 MEZ (UTC+1, no daylight saving), so
    HH = 1 on 1 January covers 00:00-01:00 MEZ = 23:00-24:00 UTC on 31 December.
    B and D are the hour's mean direct and diffuse irradiance on the horizontal.
    DNI = B / cos(zenith), with the zenith computed by pvlib at the hour's midpoint and
    the station's coordinates; it is 0 where the zenith exceeds
    :data:`ZENITH_MAX_FOR_DNI_DEG` and clipped to [0, extraterrestrial DNI].
    DWD cloud code 9 ("sky not visible", fog) is reported as 8 octas (overcast).

    Caveat, measured on the 2010 files: fitting clear-sky hours (N <= 1) to the
    hour-averaged cosine of the zenith fits best with the hours shifted 20-30 min LATER
    than this convention, at all five stations tried. A south-facing array's annual
    yield barely changes with such a shift (< 0.5 %), but east/west splits do (about
    9 % at Rostock), so treat east-west results with care.
    """
    if pd.Timestamp(year, 1, 1).is_leap_year:
        raise InputError("year", f"{year} is a leap year; a test reference year has 365 days")
    station = parse_try_station(text, source=source)
    rows = _try_rows(text, source)
    index = _try_index_utc(rows, year=year, source=source)
    weather = rows[list(_TRY_TO_WEATHER)].rename(columns=_TRY_TO_WEATHER).set_index(index)
    cloud = weather["cloud_cover_octas"].replace(_TRY_OBSCURED_SKY, 8)
    outside = cloud.index[~cloud.between(0, 8)]
    if len(outside):
        raise AdapterError(source, f"cloud cover outside 0-8 octas at {outside[0].isoformat()}")
    weather["cloud_cover_octas"] = cloud
    beam = pd.Series(rows["B"].to_numpy(dtype=float), index=index)
    weather["ghi_w_per_m2"] = beam + rows["D"].to_numpy(dtype=float)
    weather["dhi_w_per_m2"] = rows["D"].to_numpy(dtype=float)
    weather["dni_w_per_m2"] = _dni_w_per_m2(
        beam, latitude=station.latitude_deg, longitude=station.longitude_deg
    )
    weather = weather[list(WEATHER_COLUMNS)].astype(float)
    weather.attrs = {
        "station": station.name,
        "latitude_deg": station.latitude_deg,
        "longitude_deg": station.longitude_deg,
        "elevation_m": station.elevation_m,
    }
    logger.debug("parsed TRY station %s for year %s", station.name, year)
    return weather


def _check_weather(weather: pd.DataFrame) -> None:
    """Raise :class:`InputError` unless ``weather`` is a usable hourly UTC frame."""
    missing = [c for c in WEATHER_COLUMNS if c not in weather.columns]
    if missing:
        raise InputError(f"weather.{missing[0]}", "column missing")
    if not isinstance(weather.index, pd.DatetimeIndex) or str(weather.index.tz) != "UTC":
        raise InputError("weather.index", "must be a tz-aware UTC DatetimeIndex")
    if len(weather) > 1 and (weather.index.to_series().diff().iloc[1:] != pd.Timedelta("1h")).any():
        raise InputError("weather.index", "must be hourly, without gaps")
    for column in WEATHER_COLUMNS:
        if weather[column].isna().any():
            raise InputError(f"weather.{column}", "contains NaN")


def _array_power_kw(
    weather: pd.DataFrame, solar_position: pd.DataFrame, array: PvArraySpec
) -> pd.Series:
    """Return the AC power of one array [kW]."""
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=array.tilt_deg,
        surface_azimuth=array.azimuth_deg,
        solar_zenith=solar_position["zenith"],
        solar_azimuth=solar_position["azimuth"],
        dni=weather["dni_w_per_m2"],
        ghi=weather["ghi_w_per_m2"],
        dhi=weather["dhi_w_per_m2"],
        dni_extra=solar_position["dni_extra"],
        albedo=ALBEDO_FRAC,
        model="haydavies",
    )["poa_global"]
    temp_cell_c = pvlib.temperature.faiman(
        poa, weather["temp_air_c"], weather["wind_speed_m_per_s"]
    )
    dc_kw = pvlib.pvsystem.pvwatts_dc(poa, temp_cell_c, array.kwp, GAMMA_PDC_PER_K)
    return (dc_kw * (1.0 - PV_SYSTEM_LOSS_FRAC)).clip(lower=0.0)


def pv_power_kw(
    weather: pd.DataFrame,
    *,
    arrays: Sequence[PvArraySpec],
    latitude: float,
    longitude: float,
) -> pd.Series:
    r"""Return the mean AC power of fixed PV arrays in each hour of ``weather``.

    Parameters
    ----------
    weather : pandas.DataFrame
        Hourly weather as returned by :func:`parse_try`: UTC index of interval starts
        and the :data:`WEATHER_COLUMNS`.
    arrays : sequence of PvArraySpec
        One or more arrays; their powers are summed.
    latitude : float
        Site latitude, north positive. [deg]
    longitude : float
        Site longitude, east positive. [deg]

    Returns
    -------
    pandas.Series
        ``pv_power_kw`` on the weather's index: mean AC power over each hour, >= 0. [kW]

    Raises
    ------
    InputError
        If ``arrays`` is empty, a weather column is missing or NaN, the index is not
        hourly UTC, a coordinate is out of range, or the model yields NaN.

    Notes
    -----
    For each array, at each hour's midpoint:

    1. Solar position (pvlib ``get_solarposition``) at the site.
    2. Plane-of-array irradiance :math:`G_{poa}` by the Hay-Davies model
       (``get_total_irradiance``), ground albedo :data:`ALBEDO_FRAC`.
    3. Cell temperature :math:`T_c` by the Faiman model from :math:`G_{poa}`, air
       temperature and wind speed.
    4. PVWatts DC: :math:`P_{dc} = P_{nom} G_{poa} / 1000 (1 + \gamma (T_c - 25))`
       with :math:`\gamma` = :data:`GAMMA_PDC_PER_K`.
    5. :math:`P_{ac} = P_{dc} (1 - L)` with :math:`L` = :data:`PV_SYSTEM_LOSS_FRAC`;
       no inverter clipping, no angle-of-incidence or shading loss beyond :math:`L`.
    """
    if not arrays:
        raise InputError("arrays", "at least one PV array is required")
    _check_coordinates(latitude=latitude, longitude=longitude)
    _check_weather(weather)
    midpoints = weather.index + pd.Timedelta(minutes=30)
    solar_position = pvlib.solarposition.get_solarposition(midpoints, latitude, longitude)
    solar_position["dni_extra"] = _dni_extra_w_per_m2(midpoints)
    solar_position.index = weather.index
    total_kw = sum(
        (_array_power_kw(weather, solar_position, array) for array in arrays),
        start=pd.Series(0.0, index=weather.index),
    )
    if total_kw.isna().any():
        raise InputError("weather", f"PV model gave NaN at {total_kw.index[total_kw.isna()][0]}")
    return total_kw.rename("pv_power_kw")
