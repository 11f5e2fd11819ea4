r"""The simulated home's *actual* PV output, and the physics prior a forecaster starts from.

Owns the gap between the PV model a user configures and the PV system on the roof. The
configured model (:func:`prior_pv_kw`, which is :func:`darkstar.simulation.weather.
pv_power_kw` unchanged) is what a forecaster knows; :func:`true_pv_kw` is what the house
produces. The difference is five :class:`Imperfection`\ s, each a named, documented
constant below, so a learning forecaster has something real to learn and a planner fed
the prior has something to lose:

1. **azimuth**: the arrays face :data:`AZIMUTH_OFFSET_DEG` further clockwise (west) than
   configured (a roof plan read by eye is easily 10-15° off);
2. **shading**: an obstacle (a neighbour's house, a tree line) blocks the beam when the
   sun is below :data:`SHADING_ELEVATION_MAX_DEG` within the azimuth sector
   [:data:`SHADING_AZIMUTH_MIN_DEG`, :data:`SHADING_AZIMUTH_MAX_DEG`] (east-south-east);
   the diffuse sky is kept;
3. **clipping**: the inverter (or the grid-feed limit) caps AC power at
   :data:`AC_LIMIT_FRAC` of the nameplate kWp;
4. **soiling**: dust builds up by :data:`SOILING_RATE_FRAC_PER_DAY` per dry day up to
   :data:`SOILING_MAX_FRAC` and is washed off by a rain day (seeded, with the monthly
   frequency :data:`RAIN_DAY_PROB_BY_MONTH`);
5. **snow**: on a cold morning (:data:`SNOW_MORNING_TEMP_MAX_C`) with a seeded snowfall
   (:data:`SNOW_PROB_GIVEN_COLD_MORNING`) the panels give nothing until they clear, at
   :data:`SNOW_CLEAR_HOUR_UTC` or after :data:`SNOW_CLEAR_WARM_HOURS` hours above 0 °C.

The chain per hour, each step applied only if its imperfection is enabled:

.. math::

    P_{true} = \min\bigl(P_{pvlib}(w', a') \, (1 - \ell_{soil}(d)) \, (1 - c_{snow}),
                         \; f_{ac} \textstyle\sum kWp \bigr)

with :math:`w'` the weather with DNI set to 0 in shaded hours, :math:`a'` the rotated
arrays, :math:`\ell_{soil}(d)` the soiling loss of the hour's UTC day and :math:`c_{snow}`
1 while the panels are covered. :func:`energy_table` and :func:`pv_error_table` give the
numbers quoted in ``docs/aurora_testbed.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib

from darkstar.errors import InputError
from darkstar.simulation.nwp import NwpForecaster, lead_error_table
from darkstar.simulation.weather import pv_power_kw

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Sequence
    from datetime import datetime

    import numpy.typing as npt

    from darkstar.simulation.weather import PvArraySpec

__all__ = [
    "AC_LIMIT_FRAC",
    "ALL_IMPERFECTIONS",
    "AZIMUTH_OFFSET_DEG",
    "RAIN_DAY_PROB_BY_MONTH",
    "SHADING_AZIMUTH_MAX_DEG",
    "SHADING_AZIMUTH_MIN_DEG",
    "SHADING_ELEVATION_MAX_DEG",
    "SNOW_CLEAR_HOUR_UTC",
    "SNOW_CLEAR_WARM_HOURS",
    "SNOW_MORNING_TEMP_MAX_C",
    "SNOW_PROB_GIVEN_COLD_MORNING",
    "SOILING_MAX_FRAC",
    "SOILING_RATE_FRAC_PER_DAY",
    "Imperfection",
    "energy_table",
    "prior_pv_kw",
    "pv_error_table",
    "rain_days",
    "shaded_hours",
    "snow_covered_hours",
    "soiling_loss_frac",
    "true_pv_kw",
]

logger = logging.getLogger(__name__)


class Imperfection(StrEnum):
    """What the real PV system has that its configured model does not know."""

    AZIMUTH = "azimuth"
    SHADING = "shading"
    CLIPPING = "clipping"
    SOILING = "soiling"
    SNOW = "snow"


ALL_IMPERFECTIONS: Final = frozenset(Imperfection)
"""Every imperfection: the house's actual PV."""

AZIMUTH_OFFSET_DEG: Final = 12.0
"""True minus configured array azimuth, clockwise (positive = more westward). Large
enough to move the daily profile visibly (its centroid about 12 min later for a south
array on the bundled year), small
enough to be a plausible error in a user's configuration. [deg]"""

SHADING_AZIMUTH_MIN_DEG: Final = 100.0
"""Start of the obstacle's azimuth sector, clockwise from north. [deg]"""

SHADING_AZIMUTH_MAX_DEG: Final = 150.0
"""End of the obstacle's azimuth sector (east-south-east: winter sunrise and summer
mornings). [deg]"""

SHADING_ELEVATION_MAX_DEG: Final = 12.0
"""The obstacle's top as seen from the array: the beam is blocked while the sun, inside
the sector, is above the horizon and below this elevation. [deg]"""

AC_LIMIT_FRAC: Final = 0.70
"""AC power limit as a fraction of the nameplate DC power (sum over arrays). 70 % is the
German EEG feed-in limit for small systems without remote control (the
"70-Prozent-Regelung", required of new small systems from 2012 until 2022), which
installers often set in the inverter. The 85 % of a merely undersized inverter would clip
hourly means almost never (0.06 % of the energy of 8 kWp south on the bundled year),
leaving nothing to learn. [-]"""

SOILING_RATE_FRAC_PER_DAY: Final = 0.0015
"""Soiling loss added by each day without rain: a modelling assumption of the order of
dry-period rates reported for fixed systems. [1/day]"""

SOILING_MAX_FRAC: Final = 0.06
"""Soiling loss is capped here: wind and dew remove some dust, so it saturates. [-]"""

RAIN_DAY_PROB_BY_MONTH: Final = (
    0.55, 0.57, 0.35, 0.20, 0.55, 0.47, 0.39, 0.29, 0.30, 0.26, 0.63, 0.35,
)  # fmt: skip
"""Probability that a day (January first) washes the panels. The weather frame has no
precipitation, so rain days are drawn with these frequencies, computed once from the
Rostock TRY 2010 (demandlib ``TRY2010_02_Jahr.dat``, column W, WMO present-weather code):
the share of days with at least 3 hours coded drizzle, rain, showers or thunderstorm
(50-69, 80-84, 91-99). W is missing (-1) in about 60 % of the hours, so this undercounts
light rain, which barely cleans panels anyway. [-]"""

SNOW_MORNING_TEMP_MAX_C: Final = -2.0
"""A day can bring snow on the panels if the air is below this at some hour from 00 to
08 UTC (the morning at the site). [°C]"""

SNOW_PROB_GIVEN_COLD_MORNING: Final = 0.2
"""Chance of snowfall on such a cold morning: in the Rostock TRY, 3 of the 15 days
colder than -2 °C in the morning report snow (W 70-79, 85-86). [-]"""

SNOW_CLEAR_HOUR_UTC: Final = 11
"""Snow slides off by midday (solar noon is about 11:10 UTC at 13° E): the panels
produce again from this hour. [h, UTC]"""

SNOW_CLEAR_WARM_HOURS: Final = 2
"""...or earlier, after this many hours above 0 °C since midnight UTC. [h]"""

_SNOW_MORNING_LAST_HOUR_UTC: Final = 8  # the morning is 00:00-08:59 UTC
_RAIN_STREAM: Final = 1  # independent random streams per seed
_SNOW_STREAM: Final = 2


def _check_seed(seed: int) -> None:
    """Raise :class:`InputError` unless ``seed`` is a non-negative integer."""
    if seed < 0:
        raise InputError("seed", f"must be >= 0, got {seed}")


def _utc_days(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, npt.NDArray[np.int_]]:
    """Return the UTC days of ``index`` and, per hour, the position of its day."""
    days = index.floor("D")
    unique = days.unique()
    return unique, unique.get_indexer(days)


def _day_draws(days: pd.DatetimeIndex, *, seed: int, stream: int) -> npt.NDArray[np.float64]:
    """Return one uniform draw per day, fixed by (seed, stream, date) alone."""
    ordinals = [day.toordinal() for day in days.date]
    return np.array([np.random.default_rng((seed, stream, n)).random() for n in ordinals])


def rain_days(days: pd.DatetimeIndex, *, seed: int) -> npt.NDArray[np.bool_]:
    """Return which days are rain days, drawn with :data:`RAIN_DAY_PROB_BY_MONTH`.

    Parameters
    ----------
    days : pandas.DatetimeIndex
        Midnights (UTC) of the days, ascending.
    seed : int
        Seed, >= 0; a day's draw depends only on the seed and its date, so any frame
        containing that day gives the same answer.

    Returns
    -------
    numpy.ndarray of bool
        One entry per day.

    Examples
    --------
    >>> days = pd.date_range("2018-01-01", periods=365, freq="D", tz="UTC")
    >>> int(rain_days(days, seed=0).sum()) in range(120, 200)
    True
    """
    _check_seed(seed)
    draws = _day_draws(days, seed=seed, stream=_RAIN_STREAM)
    probability = np.take(RAIN_DAY_PROB_BY_MONTH, days.month.to_numpy() - 1)
    return np.asarray(draws < probability, dtype=bool)


def soiling_loss_frac(rain: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return each day's soiling loss, given which days are rain days.

    Parameters
    ----------
    rain : array_like of bool
        Rain days, in order; the panels are clean before the first day.

    Returns
    -------
    numpy.ndarray
        Loss fraction per day, in [0, :data:`SOILING_MAX_FRAC`]: 0 on a rain day, else
        the previous day's loss plus :data:`SOILING_RATE_FRAC_PER_DAY`. [-]

    Examples
    --------
    >>> soiling_loss_frac([False, False, True, False]).round(4).tolist()
    [0.0015, 0.003, 0.0, 0.0015]
    """
    washed = np.asarray(rain, dtype=bool)
    dry_days = np.zeros(washed.size)
    count = 0
    for day, is_rain in enumerate(washed):
        count = 0 if is_rain else count + 1
        dry_days[day] = count
    return np.minimum(dry_days * SOILING_RATE_FRAC_PER_DAY, SOILING_MAX_FRAC)


def snow_covered_hours(weather: pd.DataFrame, *, seed: int) -> pd.Series:
    """Return the hours in which snow covers the panels.

    Parameters
    ----------
    weather : pandas.DataFrame
        Hourly weather with ``temp_air_c`` [°C] on a UTC index of hour starts.
    seed : int
        Seed of the snowfall draws, >= 0.

    Returns
    -------
    pandas.Series
        ``snow_covered`` (bool) on the weather's index.

    Notes
    -----
    A UTC day is a snow day if its air temperature is below
    :data:`SNOW_MORNING_TEMP_MAX_C` in some hour from 00 to 08 UTC and a seeded draw
    falls under :data:`SNOW_PROB_GIVEN_COLD_MORNING` (one draw per day, cold or not, so
    the draws do not depend on the temperature). The panels are covered from 00 UTC
    until :data:`SNOW_CLEAR_HOUR_UTC` or until :data:`SNOW_CLEAR_WARM_HOURS` hours above
    0 °C have passed, whichever comes first.
    """
    _check_seed(seed)
    days, day_of_hour = _utc_days(weather.index)
    draws = _day_draws(days, seed=seed, stream=_SNOW_STREAM)
    hours = weather.index.hour.to_numpy()
    temp_c = weather["temp_air_c"].to_numpy(float)
    covered = np.zeros(len(weather), dtype=bool)
    morning = hours <= _SNOW_MORNING_LAST_HOUR_UTC
    cold = np.zeros(len(days), dtype=bool)
    np.logical_or.at(cold, day_of_hour[morning], temp_c[morning] < SNOW_MORNING_TEMP_MAX_C)
    for day in np.flatnonzero(cold & (draws < SNOW_PROB_GIVEN_COLD_MORNING)):
        rows = np.flatnonzero((day_of_hour == day) & (hours < SNOW_CLEAR_HOUR_UTC))
        warm_before = np.cumsum(temp_c[rows] > 0.0) - (temp_c[rows] > 0.0)
        covered[rows[warm_before < SNOW_CLEAR_WARM_HOURS]] = True
        logger.debug("snow on the panels on %s", days[day].date())
    return pd.Series(covered, index=weather.index, name="snow_covered")


def shaded_hours(index: pd.DatetimeIndex, *, latitude: float, longitude: float) -> pd.Series:
    """Return the hours in which the obstacle blocks the beam.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        UTC hour starts; the sun is taken at each hour's midpoint.
    latitude : float
        Site latitude, north positive. [deg]
    longitude : float
        Site longitude, east positive. [deg]

    Returns
    -------
    pandas.Series
        ``shaded`` (bool): the sun's apparent elevation is in
        (0, :data:`SHADING_ELEVATION_MAX_DEG`) and its azimuth in
        [:data:`SHADING_AZIMUTH_MIN_DEG`, :data:`SHADING_AZIMUTH_MAX_DEG`].
    """
    sun = pvlib.solarposition.get_solarposition(
        index + pd.Timedelta(minutes=30), latitude, longitude
    )
    elevation = sun["apparent_elevation"].to_numpy()
    azimuth = sun["azimuth"].to_numpy()
    low = (elevation > 0.0) & (elevation < SHADING_ELEVATION_MAX_DEG)
    in_sector = (azimuth >= SHADING_AZIMUTH_MIN_DEG) & (azimuth <= SHADING_AZIMUTH_MAX_DEG)
    return pd.Series(low & in_sector, index=index, name="shaded")


def prior_pv_kw(
    weather: pd.DataFrame,
    *,
    arrays: Sequence[PvArraySpec],
    latitude: float,
    longitude: float,
) -> pd.Series:
    """Return the physics prior: the configured arrays through pvlib, nothing else.

    Parameters
    ----------
    weather : pandas.DataFrame
        Hourly weather (actual, or a forecast from
        :class:`darkstar.simulation.nwp.NwpForecaster`; extra columns are ignored).
    arrays : sequence of PvArraySpec
        The arrays as configured.
    latitude, longitude : float
        Site. [deg]

    Returns
    -------
    pandas.Series
        ``pv_prior_kw``: :func:`darkstar.simulation.weather.pv_power_kw`, unchanged. [kW]
    """
    prior = pv_power_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude)
    return prior.rename("pv_prior_kw")


def true_pv_kw(
    weather: pd.DataFrame,
    *,
    arrays: Sequence[PvArraySpec],
    latitude: float,
    longitude: float,
    seed: int,
    imperfections: Collection[Imperfection] = ALL_IMPERFECTIONS,
) -> pd.Series:
    """Return the house's actual PV output under the actual weather.

    Parameters
    ----------
    weather : pandas.DataFrame
        The actual hourly weather (:func:`darkstar.simulation.weather.parse_try`).
    arrays : sequence of PvArraySpec
        The arrays as configured (the truth differs from them as documented).
    latitude, longitude : float
        Site. [deg]
    seed : int
        Seed of the rain and snowfall days, >= 0.
    imperfections : collection of Imperfection
        Which imperfections apply (default all); the empty set gives the prior.

    Returns
    -------
    pandas.Series
        ``pv_true_kw``: mean AC power per hour on the weather's index, >= 0. [kW]

    Raises
    ------
    InputError
        As :func:`darkstar.simulation.weather.pv_power_kw`, or if ``seed`` < 0.

    Notes
    -----
    See the module docstring for the chain. Shading zeroes DNI in the weather handed to
    pvlib, which removes the beam on the plane and, in the Hay-Davies model, turns the
    circumsolar diffuse into isotropic diffuse (the obstacle hides the circumsolar
    region too); the diffuse sky and the ground-reflected light stay.
    """
    _check_seed(seed)
    enabled = frozenset(Imperfection(item) for item in imperfections)
    if Imperfection.AZIMUTH in enabled:
        arrays = [
            dataclasses.replace(a, azimuth_deg=(a.azimuth_deg + AZIMUTH_OFFSET_DEG) % 360.0)
            for a in arrays
        ]
    if Imperfection.SHADING in enabled:
        shaded = shaded_hours(weather.index, latitude=latitude, longitude=longitude)
        weather = weather.assign(dni_w_per_m2=weather["dni_w_per_m2"].where(~shaded, 0.0))
    power = pv_power_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude)
    power_kw = power.to_numpy(dtype=float)
    if Imperfection.SOILING in enabled:
        days, day_of_hour = _utc_days(weather.index)
        loss = soiling_loss_frac(rain_days(days, seed=seed))
        power_kw = power_kw * (1.0 - loss[day_of_hour])
    if Imperfection.SNOW in enabled:
        power_kw = np.where(snow_covered_hours(weather, seed=seed).to_numpy(), 0.0, power_kw)
    if Imperfection.CLIPPING in enabled:
        power_kw = np.minimum(power_kw, AC_LIMIT_FRAC * sum(a.kwp for a in arrays))
    return pd.Series(power_kw, index=weather.index, name="pv_true_kw")


def energy_table(
    weather: pd.DataFrame,
    *,
    arrays: Sequence[PvArraySpec],
    latitude: float,
    longitude: float,
    seed: int,
) -> pd.DataFrame:
    """Return the energy of the prior, of each imperfection alone and of the truth.

    Parameters
    ----------
    weather : pandas.DataFrame
        The actual hourly weather (a year for annual figures).
    arrays : sequence of PvArraySpec
        The arrays as configured.
    latitude, longitude : float
        Site. [deg]
    seed : int
        Seed of the rain and snowfall days, >= 0.

    Returns
    -------
    pandas.DataFrame
        Rows ``prior``, one per :class:`Imperfection` (alone) and ``truth`` (all);
        columns ``energy_kwh`` [kWh] and ``vs_prior_pct`` (relative difference to the
        prior) [%].
    """
    prior = prior_pv_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude)
    prior_kwh = float(prior.sum())  # hourly means: kW x 1 h = kWh
    energies = {"prior": prior_kwh}
    for item in (*Imperfection, None):
        truth = true_pv_kw(
            weather,
            arrays=arrays,
            latitude=latitude,
            longitude=longitude,
            seed=seed,
            imperfections=ALL_IMPERFECTIONS if item is None else {item},
        )
        energies["truth" if item is None else item.value] = float(truth.sum())
    table = pd.DataFrame({"energy_kwh": energies})
    table["vs_prior_pct"] = 100.0 * (table["energy_kwh"] / prior_kwh - 1.0)
    return table


def pv_error_table(
    forecaster: NwpForecaster,
    *,
    arrays: Sequence[PvArraySpec],
    latitude: float,
    longitude: float,
    seed: int,
    issues: Iterable[datetime] | None = None,
) -> pd.DataFrame:
    """Return the error of the prior on forecast weather against the truth, by lead.

    Parameters
    ----------
    forecaster : NwpForecaster
        The weather forecasts; its ``weather`` is the actual weather.
    arrays : sequence of PvArraySpec
        The arrays as configured.
    latitude, longitude : float
        Site. [deg]
    seed : int
        Seed of the truth's rain and snowfall days, >= 0.
    issues : iterable of datetime, optional
        Runs to score; default every run inside the year
        (:meth:`NwpForecaster.issues`).

    Returns
    -------
    pandas.DataFrame
        :func:`darkstar.simulation.nwp.lead_error_table` of :func:`prior_pv_kw` on each
        run's forecast against :func:`true_pv_kw` [kW], over the hours in which either
        is above zero.
    """
    truth_kw = true_pv_kw(
        forecaster.weather, arrays=arrays, latitude=latitude, longitude=longitude, seed=seed
    ).to_numpy()
    leads, forecasts, actuals = [], [], []
    for issue in forecaster.issues() if issues is None else issues:
        run = forecaster.issued_at(issue)
        prior = prior_pv_kw(run, arrays=arrays, latitude=latitude, longitude=longitude).to_numpy()
        truth = truth_kw[forecaster.weather_rows(issue)]
        keep = (prior > 0.0) | (truth > 0.0)
        leads.append(run["lead_h"].to_numpy()[keep])
        forecasts.append(prior[keep])
        actuals.append(truth[keep])
    if not leads:
        raise InputError("issues", "no runs to score")
    return lead_error_table(
        lead_h=np.concatenate(leads),
        forecast=np.concatenate(forecasts),
        actual=np.concatenate(actuals),
    )


def main() -> None:
    """Print the energy and PV error tables for the default home on the 2018 weather."""
    from darkstar.simulation.datasets import DEFAULT_ARRAYS, read_weather

    latitude, longitude = 55.6, 13.0  # load_year's default site (Malmö)
    weather = read_weather(latitude=latitude, longitude=longitude, year=2018)
    energy = energy_table(
        weather, arrays=DEFAULT_ARRAYS, latitude=latitude, longitude=longitude, seed=0
    )
    errors = pv_error_table(
        NwpForecaster(weather, seed=0),
        arrays=DEFAULT_ARRAYS,
        latitude=latitude,
        longitude=longitude,
        seed=0,
    )
    sys.stdout.write(
        f"Annual PV energy, {weather.attrs['station']} weather, 8 kWp south:\n"
        f"{energy.round(1).to_string()}\n"
        f"Prior on forecast weather vs truth [kW, %]:\n{errors.round(2).to_string()}\n"
    )


if __name__ == "__main__":
    main()
