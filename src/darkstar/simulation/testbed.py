"""The Aurora test bed's year: what a forecaster is scored against, and what it may see.

Owns the assembly of one honest forecasting year (``docs/aurora_testbed.md``) from the
bundled data: :func:`forecast_year` returns a :class:`ForecastYear` holding

- the house's *actual* PV (:func:`darkstar.simulation.pv_truth.true_pv_kw`, with its
  five imperfections) on the 15-minute grid, in place of :func:`load_year`'s PV, which
  is the configured model on the actual weather;
- the household load of a profile (BDEW H25 or a SimBench household) and the actual
  air temperature, on the same grid;
- an :class:`~darkstar.simulation.nwp.NwpForecaster` over the same actual weather, and
  the physics prior (:func:`~darkstar.simulation.pv_truth.prior_pv_kw` with the
  configured arrays) to run on its forecasts.

A forecaster may use ``nwp.at(now)``, the prior on it and the actual series strictly
before ``now``; never :attr:`ForecastYear.weather` or anything after ``now``. Aurora's
evaluation (:mod:`darkstar.aurora.evaluate`) and the backtest use this module; the
``aurora`` package itself never imports the simulator, it receives these objects.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from darkstar.errors import InputError
from darkstar.simulation.datasets import (
    DEFAULT_ARRAYS,
    YearData,
    load_year,
    read_weather,
    to_quarter_hours,
)
from darkstar.simulation.nwp import NwpForecaster
from darkstar.simulation.pv_truth import prior_pv_kw, true_pv_kw

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd  # type: ignore[import-untyped]

    from darkstar.aurora.evaluate import EvaluationInputs
    from darkstar.simulation.weather import PvArraySpec

__all__ = ["ForecastYear", "evaluation_inputs", "forecast_year"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ForecastYear:
    """One simulated year as the Aurora test bed sees it.

    Parameters
    ----------
    data : YearData
        Prices, load, temperature and ``pv_kw`` = the house's actual PV on the
        15-minute UTC grid of the local year. [kW, SEK/kWh, °C]
    weather : pandas.DataFrame
        The actual hourly weather (the truth: never shown to a forecaster).
    nwp : NwpForecaster
        Synthetic forecasts of ``weather``.
    arrays : tuple of PvArraySpec
        The PV arrays as configured (the prior's model of the roof).
    latitude, longitude : float
        Site. [deg]
    timezone : str
        The household's IANA time zone (its local calendar).
    load_profile : str
        ``"h25"`` or the SimBench profile of ``data.load_kw``.
    seed : int
        Seed of the forecast errors and of the truth's rain and snow days.
    """

    data: YearData
    weather: pd.DataFrame
    nwp: NwpForecaster
    arrays: tuple[PvArraySpec, ...]
    latitude: float
    longitude: float
    timezone: str
    load_profile: str
    seed: int

    @property
    def index(self) -> pd.DatetimeIndex:
        """The 15-minute UTC grid of interval starts."""
        return self.data.index

    @property
    def load_kw(self) -> pd.Series:
        """The household load [kW]."""
        return self.data.load_kw

    @property
    def pv_kw(self) -> pd.Series:
        """The house's actual PV [kW]."""
        return self.data.pv_kw

    def house_pv_kw(self, weather: pd.DataFrame) -> pd.Series:
        """Return the house's own PV model (its five imperfections) on hourly weather [kW].

        On the actual weather this is :attr:`pv_kw` (hourly); on a forecast run it is the
        best PV forecast that run allows, which no forecaster knows: a ceiling to score
        against, never an input.
        """
        return true_pv_kw(
            weather,
            arrays=self.arrays,
            latitude=self.latitude,
            longitude=self.longitude,
            seed=self.seed,
        )

    def prior_pv_kw(self, weather: pd.DataFrame) -> pd.Series:
        """Return the physics prior on hourly (forecast) weather, hourly [kW].

        Parameters
        ----------
        weather : pandas.DataFrame
            Hourly weather, e.g. a run from :meth:`NwpForecaster.at`.

        Returns
        -------
        pandas.Series
            ``pv_prior_kw`` on the weather's index: the configured arrays through pvlib.
            [kW]
        """
        return prior_pv_kw(
            weather, arrays=self.arrays, latitude=self.latitude, longitude=self.longitude
        )


def forecast_year(
    *,
    area: str = "SE4",
    year: int = 2018,
    load_profile: str = "h25",
    seed: int = 0,
    latitude: float = 55.6,
    longitude: float = 13.0,
    arrays: Sequence[PvArraySpec] = DEFAULT_ARRAYS,
    timezone: str = "Europe/Stockholm",
) -> ForecastYear:
    """Return the test-bed year: actual PV, a load profile, temperature and forecasts.

    Parameters
    ----------
    area : str
        Price area of the prices carried along (:func:`load_year`).
    year : int
        Local calendar year (2015 or 2018, the bundled price years).
    load_profile : str
        ``"h25"`` (BDEW H25 standard profile) or a SimBench household profile
        (``"H0-A"``, a measured-shape household).
    seed : int
        Seed of the NWP errors and of the truth's rain and snow days, >= 0.
    latitude, longitude : float
        Site (default Malmö). [deg]
    arrays : sequence of PvArraySpec
        PV arrays as configured (default 8 kWp, 35°, south).
    timezone : str
        The household's IANA time zone.

    Returns
    -------
    ForecastYear
        ``data.pv_kw`` is :func:`~darkstar.simulation.pv_truth.true_pv_kw` on the actual
        weather, repeated over each hour's quarter hours (hourly means: energy kept).

    Raises
    ------
    InputError
        As :func:`load_year`, :func:`read_weather`, :class:`NwpForecaster` or
        :func:`~darkstar.simulation.pv_truth.true_pv_kw`; also if ``arrays`` is empty.

    Examples
    --------
    >>> bed = forecast_year(load_profile="H0-A")
    >>> len(bed.index), round(float(bed.pv_kw.sum()) * 0.25)
    (35040, 8022)
    """
    if not arrays:
        raise InputError("arrays", "at least one PV array is required")
    data = load_year(
        area=area,
        year=year,
        latitude=latitude,
        longitude=longitude,
        arrays=arrays,
        timezone=timezone,
        load_profile=load_profile,
    )
    weather = read_weather(latitude=latitude, longitude=longitude, year=year)
    truth = true_pv_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude, seed=seed)
    pv_kw = to_quarter_hours(truth).reindex(data.index)
    if pv_kw.isna().any():
        first = data.index[pv_kw.isna().to_numpy()][0]
        raise InputError("pv_kw", f"no actual PV for {first.isoformat()}")
    data = dataclasses.replace(data, pv_kw=pv_kw.rename("pv_kw"))
    nwp = NwpForecaster(weather, seed=seed)  # clear sky at the weather station
    logger.debug("test-bed year %s %s, load %s, seed %s", area, year, load_profile, seed)
    return ForecastYear(
        data=data,
        weather=weather,
        nwp=nwp,
        arrays=tuple(arrays),
        latitude=latitude,
        longitude=longitude,
        timezone=timezone,
        load_profile=load_profile,
        seed=seed,
    )


def evaluation_inputs(
    *,
    area: str = "SE4",
    year: int = 2018,
    load_profiles: Sequence[str] = ("H0-A", "h25"),
    seed: int = 0,
    country: str = "SE",
) -> EvaluationInputs:
    """Return Aurora's evaluation inputs on the test-bed year (default site and arrays).

    Parameters
    ----------
    area, year, seed : str, int, int
        As :func:`forecast_year`.
    load_profiles : sequence of str
        Load profiles to evaluate, at least one (``"h25"``, ``"H0-A"``, ...).
    country : str
        Public holidays of the household.

    Returns
    -------
    darkstar.aurora.evaluate.EvaluationInputs
        The actual PV and loads, the NWP forecaster and the physics prior; never the
        actual weather. The house's own PV model comes along as ``house_pv``, scored as
        the ceiling on the same forecast weather.

    Raises
    ------
    InputError
        If no profile is given or :func:`forecast_year` refuses an argument.
    """
    from darkstar.aurora.evaluate import EvaluationInputs
    from darkstar.aurora.features import Site

    if not load_profiles:
        raise InputError("load_profiles", "give at least one load profile")
    beds = [
        forecast_year(area=area, year=year, load_profile=profile, seed=seed)
        for profile in dict.fromkeys(load_profiles)
    ]
    bed = beds[0]
    site = Site(
        latitude=bed.latitude, longitude=bed.longitude, timezone=bed.timezone, country=country
    )
    return EvaluationInputs(
        site=site,
        weather=bed.nwp,
        prior=bed.prior_pv_kw,
        pv_kw=bed.pv_kw,
        load_kw={b.load_profile: b.load_kw for b in beds},
        house_pv=bed.house_pv_kw,
    )
