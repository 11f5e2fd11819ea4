r"""Synthetic numerical-weather-prediction (NWP) forecasts of the simulated home's weather.

Owns the test bed's weather *forecast*: what a forecaster may know at a given time about
the weather the simulated home will actually get (:func:`darkstar.simulation.weather.
parse_try`'s frame). Planners fed the actual weather are forecasting with hindsight; this
module gives them a forecast that fails the way real ones do:

- :func:`latest_issue`: the newest run a forecaster can see at ``now`` (runs at
  :data:`ISSUE_HOURS_UTC`, available :data:`ISSUE_DELAY` later);
- :class:`NwpForecaster`: the forecast issued at a run, hourly over :data:`HORIZON_H`
  hours, deterministic for a seed and a run, cached;
- :func:`lead_error_table` and :func:`ghi_error_table`: rRMSE and bias by lead time.

Error model
-----------
Let :math:`k` be a target hour, :math:`i` a run issued at :math:`t_i` with lead
:math:`L = k - t_i` [h]. GHI is forecast through the clear-sky index
:math:`\kappa = GHI / GHI_{cs}` (Ineichen clear sky at the weather station, averaged over
the hour). :math:`\kappa` is mapped month by month to a standard normal variable
:math:`g = \Phi^{-1}(F_{month}(\kappa))` (Gaussian anamorphosis through the month's
empirical distribution), and

.. math::

    g^f_{i,k} = \frac{g(k + s_{i,k}) + e_{i,k}}{\sqrt{1 + \sigma_e^2(L)}}, \qquad
    \kappa^f_{i,k} = \min(F^{-1}_{month}(\Phi(g^f_{i,k})), \kappa_{max}), \qquad
    GHI^f = \kappa^f \, GHI_{cs}

- :math:`s_{i,k}` [h] is a timing error: fronts arrive early or late. :math:`g` is
  interpolated linearly in time (and across nights and low sun, where :math:`\kappa` is
  not measured).
- :math:`e_{i,k}` is an amplitude error; dividing by :math:`\sqrt{1 + \sigma_e^2}` keeps
  the forecast's distribution that of the actual weather (a run 7 days ahead still shows
  realistic clear and overcast hours, only at the wrong times), its correlation with the
  truth falling as :math:`1 / \sqrt{1 + \sigma_e^2(L)}`.
- :math:`\kappa_{max}` = :data:`KT_MAX` bounds the forecast by the clear sky and
  :math:`GHI_{cs} = 0` keeps nights dark. DNI and DHI follow from the forecast GHI by the
  Erbs decomposition (pvlib ``irradiance.erbs``).
- Temperature and wind get additive errors, cloud cover the GHI error with the opposite
  sign (mapped through its own monthly distribution), so no column leaks the truth.

Every error field :math:`x \in \{s, e, e_T, e_{wind}\}` is built so that consecutive runs
are consistent (the martingale model of forecast evolution: each run adds information,
newer runs err less). Each run :math:`m` draws one unit-variance AR(1) series per field
over its horizon, :math:`z_m(k)`, correlation time :math:`\tau_x` (seeded by
``(seed, m)``); the error of run :math:`i` at target :math:`k` sums the innovations of
run :math:`i` and all later runs up to the target:

.. math::

    x_{i,k} = \sum_{m=i}^{M(k)} b_m(k) \, z_m(k), \quad
    b_m^2 = \sigma_x^2(k - t_m) - \sigma_x^2(k - t_{m+1}) \; (m < M(k)), \quad
    b_{M(k)}^2 = \sigma_x^2(k - t_{M(k)})

with :math:`M(k)` the last run at or before :math:`k`. So :math:`Var(x_{i,k}) =
\sigma_x^2(L)` (the sum telescopes), run :math:`i+1` differs from run :math:`i` only by
the innovation :math:`b_i z_i`, and errors are correlated in time within a run. The
:math:`\sigma_x(L)` are piecewise linear in lead (:data:`LEAD_KNOTS_H`).

Calibration
-----------
Tuned so that the hourly GHI rRMSE (RMSE over daylight hours / mean actual GHI) on the
bundled Rostock TRY is about 20 % at lead 0-6 h, 35 % day-ahead (24-48 h) and 50 % at
day 3-5 (72-120 h), with a 24 h persistence forecast at 70 %:
roughly what Lorenz et al. (2009), "Irradiance forecasting for the power prediction of
grid-connected photovoltaic systems" (IEEE JSTARS 2(1)) and Perez et al. (2013),
"Comparison of numerical weather prediction solar irradiance forecasts in the US, Canada
and Europe" (Solar Energy 94) report for single sites (see ``docs/aurora_testbed.md``
for the measured table). Temperature errors are about 1 K on day one and 2.5 K on day
five.
"""

from __future__ import annotations

import logging
import math
import sys
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pvlib

from darkstar.errors import InputError
from darkstar.simulation.weather import WEATHER_COLUMNS
from darkstar.sources.pv import clear_sky_irradiance

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "CORRELATION_TIME_H",
    "HORIZON_H",
    "ISSUE_DELAY",
    "ISSUE_HOURS_UTC",
    "ISSUE_INTERVAL",
    "KT_ERROR_SIGMA",
    "KT_MAX",
    "LEAD_BUCKETS_H",
    "LEAD_KNOTS_H",
    "SHIFT_SIGMA_H",
    "TEMP_ERROR_SIGMA_K",
    "WIND_ERROR_SIGMA_M_PER_S",
    "NwpForecaster",
    "ghi_error_table",
    "issue_times",
    "latest_issue",
    "lead_error_table",
]

logger = logging.getLogger(__name__)

ISSUE_INTERVAL: Final = timedelta(hours=6)
"""Time between model runs (00, 06, 12 and 18 UTC, like ECMWF HRES and DWD ICON)."""

ISSUE_HOURS_UTC: Final = (0, 6, 12, 18)
"""Hours of the model runs. [h, UTC]"""

ISSUE_DELAY: Final = timedelta(hours=5)
"""From a run's nominal time to the moment its forecast can be downloaded (global models
take roughly 4-6 h to assimilate, integrate and disseminate)."""

HORIZON_H: Final = 168
"""Last lead time of a run: 7 days, so a run has ``HORIZON_H + 1`` hourly rows. [h]"""

KT_MAX: Final = 1.1
"""Upper bound of the forecast clear-sky index: a forecast never exceeds the clear sky by
more than 10 % (cloud enhancement). [-]"""

KT_MIN_CLEAR_SKY_W_PER_M2: Final = 20.0
"""Below this hourly clear-sky GHI the clear-sky index is not taken from the data (too
noisy at sunrise and sunset) but interpolated in time. [W/m²]"""

LEAD_KNOTS_H: Final = (0.0, 6.0, 24.0, 48.0, 72.0, 120.0, 168.0)
"""Lead times at which the error sizes below are given; linear in between. [h]"""

KT_ERROR_SIGMA: Final = (0.22, 0.30, 0.36, 0.55, 0.72, 1.05, 1.35)
"""Standard deviation of the amplitude error :math:`e` in normal-score units, at
:data:`LEAD_KNOTS_H`; calibrated against the GHI rRMSE (module docstring). [-]"""

SHIFT_SIGMA_H: Final = (0.0, 0.3, 0.6, 1.0, 1.3, 1.7, 2.1)
"""Standard deviation of the timing error :math:`s` at :data:`LEAD_KNOTS_H`. [h]"""

TEMP_ERROR_SIGMA_K: Final = (0.4, 0.7, 1.0, 1.4, 1.8, 2.5, 3.0)
"""Standard deviation of the 2 m temperature error at :data:`LEAD_KNOTS_H`. [K]"""

WIND_ERROR_SIGMA_M_PER_S: Final = (0.5, 0.8, 1.1, 1.4, 1.7, 2.2, 2.6)
"""Standard deviation of the 10 m wind speed error at :data:`LEAD_KNOTS_H`. [m/s]"""

CORRELATION_TIME_H: Final = {"kt": 6.0, "shift": 24.0, "temp": 12.0, "wind": 8.0}
"""e-folding time of each error field's AR(1) innovations along target time: clear-sky
index errors live for hours (a cloud field), timing errors for a day (a front). [h]"""

LEAD_BUCKETS_H: Final = ((0, 6), (6, 24), (24, 48), (48, 72), (72, 120), (120, 168))
"""Lead-time buckets of :func:`lead_error_table`, ``[low, high)``, the last one closed. [h]"""

_FIELDS: Final = ("kt", "shift", "temp", "wind")
_SIGMAS: Final = {
    "kt": KT_ERROR_SIGMA,
    "shift": SHIFT_SIGMA_H,
    "temp": TEMP_ERROR_SIGMA_K,
    "wind": WIND_ERROR_SIGMA_M_PER_S,
}
_HOUR: Final = timedelta(hours=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS: Final = HORIZON_H + 1
_RUNS_PER_HORIZON: Final = HORIZON_H // 6 + 1  # runs whose innovations reach one target
_CLEAR_SKY_SAMPLES: Final = 5  # per hour, at 6, 18, 30, 42 and 54 minutes
_NORMAL_GRID: Final = np.linspace(-8.0, 8.0, 3201)
_NORMAL_CDF: Final = np.array([0.5 * math.erfc(-x / math.sqrt(2.0)) for x in _NORMAL_GRID])


def _check_utc(moment: datetime, field: str) -> datetime:
    """Return ``moment`` in UTC; raise :class:`InputError` if it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, "must be timezone-aware")
    return moment.astimezone(UTC)


def latest_issue(now: datetime) -> datetime:
    """Return the newest model run whose forecast is available at ``now``.

    Parameters
    ----------
    now : datetime
        tz-aware moment.

    Returns
    -------
    datetime
        The run's nominal time in UTC: the last of :data:`ISSUE_HOURS_UTC` at or before
        ``now - ISSUE_DELAY``.

    Raises
    ------
    InputError
        If ``now`` is naive.

    Examples
    --------
    >>> latest_issue(datetime(2018, 6, 1, 4, 59, tzinfo=UTC)).isoformat()
    '2018-05-31T18:00:00+00:00'
    >>> latest_issue(datetime(2018, 6, 1, 5, 0, tzinfo=UTC)).isoformat()
    '2018-06-01T00:00:00+00:00'
    """
    seen = _check_utc(now, "now") - ISSUE_DELAY
    return _EPOCH + ((seen - _EPOCH) // ISSUE_INTERVAL) * ISSUE_INTERVAL


def issue_times(start: datetime, end: datetime) -> list[datetime]:
    """Return every model run from ``start`` to ``end`` (both included), in UTC.

    Parameters
    ----------
    start, end : datetime
        tz-aware bounds.

    Returns
    -------
    list of datetime
        Runs at :data:`ISSUE_HOURS_UTC`, ascending; empty if ``end < start``.

    Raises
    ------
    InputError
        If a bound is naive.
    """
    first = -((_EPOCH - _check_utc(start, "start")) // ISSUE_INTERVAL)
    last = (_check_utc(end, "end") - _EPOCH) // ISSUE_INTERVAL
    return [_EPOCH + n * ISSUE_INTERVAL for n in range(first, last + 1)]


def _sigma_at_leads(knots: Sequence[float]) -> FloatArray:
    """Return the error size at leads 0..HORIZON_H h, piecewise linear through ``knots``."""
    sigma = np.asarray(np.interp(np.arange(_ROWS, dtype=float), LEAD_KNOTS_H, knots), float)
    if np.any(np.diff(sigma) < 0.0):
        raise InputError("sigma", "error sizes must not decrease with lead time")
    return sigma


def _innovation_weights(sigma: FloatArray) -> FloatArray:
    """Return the weight ``b[q, j]`` of run ``i + q``'s innovation at row ``j`` of run ``i``."""
    weights = np.zeros((_RUNS_PER_HORIZON, _ROWS))
    rows = np.arange(_ROWS)
    for q in range(_RUNS_PER_HORIZON):
        lead = rows - 6 * q
        later = lead - 6
        seen = lead >= 0
        variance = np.where(later >= 0, sigma[np.clip(lead, 0, None)] ** 2, 0.0)
        variance -= np.where(later >= 0, sigma[np.clip(later, 0, None)] ** 2, 0.0)
        last = seen & (later < 0)
        variance[last] = sigma[lead[last]] ** 2
        weights[q] = np.sqrt(np.clip(variance, 0.0, None))
    return weights


@lru_cache(maxsize=512)
def _run_innovations(seed: int, run: int) -> FloatArray:
    """Return one run's unit-variance AR(1) innovations, shape (fields, HORIZON_H + 1)."""
    rng = np.random.default_rng((seed, run))
    white = rng.standard_normal((len(_FIELDS), _ROWS + 1))
    phi = np.array([math.exp(-1.0 / CORRELATION_TIME_H[f]) for f in _FIELDS])
    series = np.empty((len(_FIELDS), _ROWS))
    state = white[:, 0]
    scale = np.sqrt(1.0 - phi**2)
    for j in range(_ROWS):
        state = phi * state + scale * white[:, j + 1]
        series[:, j] = state
    series.flags.writeable = False
    return series


def _to_normal_scores(
    values: FloatArray, months: npt.NDArray[np.int_], valid: npt.NDArray[np.bool_]
) -> tuple[FloatArray, list[FloatArray]]:
    """Return month-wise normal scores (NaN where not valid) and each month's sorted values."""
    scores = np.full(values.shape, np.nan)
    sorted_by_month: list[FloatArray] = []
    for month in range(1, 13):
        members = valid & (months == month)
        ordered = np.sort(values[members])
        if ordered.size == 0:
            ordered = np.sort(values[valid])
        sorted_by_month.append(ordered)
        if not members.any():
            continue
        low = np.searchsorted(ordered, values[members], side="left")
        high = np.searchsorted(ordered, values[members], side="right")
        prob = (low + high + 1) / 2.0 / (ordered.size + 1)
        scores[members] = np.interp(prob, _NORMAL_CDF, _NORMAL_GRID)
    return scores, sorted_by_month


def _from_normal_scores(
    scores: FloatArray, months: npt.NDArray[np.int_], sorted_by_month: list[FloatArray]
) -> FloatArray:
    """Invert :func:`_to_normal_scores` through each month's empirical quantiles."""
    prob = np.interp(scores, _NORMAL_GRID, _NORMAL_CDF)
    values = np.empty(scores.shape)
    for month in np.unique(months):
        ordered = sorted_by_month[month - 1]
        members = months == month
        levels = np.arange(1, ordered.size + 1) / (ordered.size + 1)
        values[members] = np.interp(prob[members], levels, ordered)
    return values


def _fill_in_time(scores: FloatArray) -> FloatArray:
    """Interpolate NaN scores linearly in time (nights, low sun), ends held."""
    known = np.flatnonzero(~np.isnan(scores))
    if known.size == 0:
        return np.zeros(scores.shape)
    return np.interp(np.arange(scores.size), known, scores[known])


def _hourly_clear_sky(
    index: pd.DatetimeIndex, *, latitude: float, longitude: float, elevation_m: float
) -> tuple[FloatArray, FloatArray]:
    """Return the hour-mean Ineichen clear-sky GHI [W/m²] and the mid-hour zenith [deg]."""
    offsets = (np.arange(_CLEAR_SKY_SAMPLES) + 0.5) * (60.0 / _CLEAR_SKY_SAMPLES)
    times = index.repeat(_CLEAR_SKY_SAMPLES) + pd.to_timedelta(
        np.tile(offsets, len(index)), unit="min"
    )
    sky = clear_sky_irradiance(
        times, latitude=latitude, longitude=longitude, altitude_m=elevation_m
    )
    ghi = sky["ghi_w_m2"].to_numpy(float).reshape(len(index), _CLEAR_SKY_SAMPLES)
    zenith = sky["zenith_deg"].to_numpy(float).reshape(len(index), _CLEAR_SKY_SAMPLES)
    return ghi.mean(axis=1), zenith[:, _CLEAR_SKY_SAMPLES // 2]


def _check_weather(weather: pd.DataFrame) -> None:
    """Raise :class:`InputError` unless ``weather`` is an hourly UTC weather frame."""
    missing = [c for c in WEATHER_COLUMNS if c not in weather.columns]
    if missing:
        raise InputError(f"weather.{missing[0]}", "column missing")
    index = weather.index
    if not isinstance(index, pd.DatetimeIndex) or str(index.tz) != "UTC":
        raise InputError("weather.index", "must be a tz-aware UTC DatetimeIndex")
    if len(index) < _ROWS or ((index[1:] - index[:-1]) != pd.Timedelta(_HOUR)).any():
        raise InputError("weather.index", f"must be hourly without gaps, >= {_ROWS} rows")
    if (index[0] - _EPOCH) % _HOUR:
        raise InputError("weather.index", "must start on a whole hour")
    for column in WEATHER_COLUMNS:
        if weather[column].isna().any():
            raise InputError(f"weather.{column}", "contains NaN")


class NwpForecaster:
    """Weather forecasts issued four times a day over the actual weather of a year.

    Parameters
    ----------
    weather : pandas.DataFrame
        The actual hourly weather, as :func:`darkstar.simulation.weather.parse_try`
        returns it (UTC index of hour starts, :data:`~darkstar.simulation.weather.
        WEATHER_COLUMNS`). A frame of exactly 365 or 366 days is a typical year and is
        repeated cyclically, so runs near its ends still cover 7 days.
    seed : int
        Seed of the error fields, >= 0. The same seed and run give the same forecast.
    latitude, longitude : float, optional
        Where the weather was measured [deg]; default ``weather.attrs`` (the station).
    elevation_m : float, optional
        Station height [m]; default ``weather.attrs["elevation_m"]`` or 0.
    cache_size : int
        Runs kept in the LRU cache (a year has 1460).

    Raises
    ------
    InputError
        If the weather frame is unusable, the seed is negative or the location is
        neither given nor in ``weather.attrs``.

    Examples
    --------
    >>> from darkstar.simulation.datasets import read_weather
    >>> nwp = NwpForecaster(read_weather(latitude=55.6, longitude=13.0), seed=1)
    >>> run = nwp.at(datetime(2018, 6, 1, 12, tzinfo=UTC))
    >>> run.attrs["issued_at"], len(run), float(run["lead_h"].iloc[-1])
    ('2018-06-01T06:00:00+00:00', 169, 168.0)
    """

    def __init__(
        self,
        weather: pd.DataFrame,
        *,
        seed: int,
        latitude: float | None = None,
        longitude: float | None = None,
        elevation_m: float | None = None,
        cache_size: int = 2048,
    ) -> None:
        _check_weather(weather)
        if seed < 0:
            raise InputError("seed", f"must be >= 0, got {seed}")
        lat = weather.attrs.get("latitude_deg") if latitude is None else latitude
        lon = weather.attrs.get("longitude_deg") if longitude is None else longitude
        if lat is None or lon is None:
            raise InputError("latitude", "give the location or weather.attrs['latitude_deg']")
        height = elevation_m if elevation_m is not None else weather.attrs.get("elevation_m", 0.0)
        self.seed = seed
        self.weather = weather.copy()  # later changes by the caller must not reach the cache
        self._start = weather.index[0].to_pydatetime()
        self._cyclic = len(weather) in (365 * 24, 366 * 24)
        self._cache: OrderedDict[datetime, pd.DataFrame] = OrderedDict()
        self._cache_size = cache_size
        self._weights = {f: _innovation_weights(_sigma_at_leads(_SIGMAS[f])) for f in _FIELDS}
        self._kt_sigma = _sigma_at_leads(KT_ERROR_SIGMA)
        clear_ghi, self._zenith_deg = _hourly_clear_sky(
            weather.index, latitude=float(lat), longitude=float(lon), elevation_m=float(height)
        )
        self.clear_sky_ghi_w_per_m2 = pd.Series(
            clear_ghi, index=weather.index, name="clear_sky_ghi_w_per_m2"
        )
        self._months = weather.index.month.to_numpy()
        self._doy = (weather.index + timedelta(minutes=30)).day_of_year.to_numpy()
        ghi = weather["ghi_w_per_m2"].to_numpy(float)
        measured = clear_ghi >= KT_MIN_CLEAR_SKY_W_PER_M2
        kt = np.where(measured, ghi / np.maximum(clear_ghi, 1.0), np.nan)
        kt_scores, self._kt_sorted = _to_normal_scores(kt, self._months, measured)
        self._kt_scores = _fill_in_time(kt_scores)
        cloud = weather["cloud_cover_octas"].to_numpy(float)
        cloud_scores, self._cloud_sorted = _to_normal_scores(
            cloud, self._months, np.ones(cloud.shape, dtype=bool)
        )
        self._cloud_scores = cloud_scores
        logger.debug(
            "NWP forecaster at (%.2f, %.2f), seed %s, %s hours, cyclic=%s",
            lat,
            lon,
            seed,
            len(weather),
            self._cyclic,
        )

    @property
    def daylight(self) -> pd.Series:
        """Hours in which the sun is up for some of the hour (clear-sky GHI > 0)."""
        return (self.clear_sky_ghi_w_per_m2 > 0.0).rename("daylight")

    def weather_rows(self, issue: datetime) -> npt.NDArray[np.int_]:
        """Return the positions in :attr:`weather` of a run's 169 target hours.

        Parameters
        ----------
        issue : datetime
            tz-aware run time.

        Returns
        -------
        numpy.ndarray of int
            Row positions, wrapped around a cyclic (whole-year) weather frame, so that
            ``weather.iloc[rows]`` or ``series.to_numpy()[rows]`` of anything on the
            weather's index is the truth the run forecasts.

        Raises
        ------
        InputError
            If ``issue`` is naive or (non-cyclic weather) the horizon is not covered.
        """
        issue = _check_utc(issue, "issue")
        first = (issue - self._start) // _HOUR
        rows = np.arange(first, first + _ROWS)
        if self._cyclic:
            return rows % len(self.weather)
        if rows[0] < 0 or rows[-1] >= len(self.weather):
            raise InputError("issue", f"{issue.isoformat()}: horizon not covered by weather")
        return rows

    def _errors(self, run: int) -> dict[str, FloatArray]:
        """Return each field's error at the run's rows, from its own and later innovations."""
        total = {f: np.zeros(_ROWS) for f in _FIELDS}
        for q in range(_RUNS_PER_HORIZON):
            innovations = _run_innovations(self.seed, run + q)
            lag = 6 * q
            for n, field in enumerate(_FIELDS):
                total[field][lag:] += self._weights[field][q, lag:] * innovations[n, : _ROWS - lag]
        return total

    def _build(self, issue: datetime) -> pd.DataFrame:
        """Compute the run issued at ``issue`` (see the module docstring)."""
        rows = self.weather_rows(issue)
        run = (issue - _EPOCH) // ISSUE_INTERVAL
        errors = self._errors(run)
        n = len(self.weather)
        shifted = (rows + errors["shift"]) % n if self._cyclic else rows + errors["shift"]
        positions = np.arange(n + 1, dtype=float)
        kt_scores = np.interp(shifted, positions, np.append(self._kt_scores, self._kt_scores[0]))
        cloud_scores = np.interp(
            shifted, positions, np.append(self._cloud_scores, self._cloud_scores[0])
        )
        shrink = np.sqrt(1.0 + self._kt_sigma**2)
        months = self._months[rows]
        kt = _from_normal_scores((kt_scores + errors["kt"]) / shrink, months, self._kt_sorted)
        clear = self.clear_sky_ghi_w_per_m2.to_numpy()[rows]
        ghi = np.clip(kt, 0.0, KT_MAX) * clear
        split = pvlib.irradiance.erbs(ghi, self._zenith_deg[rows], self._doy[rows])
        cloud = _from_normal_scores(
            (cloud_scores - errors["kt"]) / shrink, months, self._cloud_sorted
        )
        actual = self.weather.iloc[rows]
        index = pd.date_range(issue, periods=_ROWS, freq="h", name=self.weather.index.name)
        forecast = pd.DataFrame(
            {
                "ghi_w_per_m2": ghi,
                "dhi_w_per_m2": np.asarray(split["dhi"], dtype=float),
                "dni_w_per_m2": np.asarray(split["dni"], dtype=float),
                "temp_air_c": actual["temp_air_c"].to_numpy() + errors["temp"],
                "wind_speed_m_per_s": np.clip(
                    actual["wind_speed_m_per_s"].to_numpy() + errors["wind"], 0.0, None
                ),
                "cloud_cover_octas": np.clip(np.round(cloud), 0.0, 8.0),
                "lead_h": np.arange(_ROWS, dtype=float),
            },
            index=index,
        )
        forecast.attrs = {**self.weather.attrs, "issued_at": issue.isoformat()}
        return forecast

    def issued_at(self, issue: datetime) -> pd.DataFrame:
        """Return the forecast of the run issued at ``issue``.

        Parameters
        ----------
        issue : datetime
            tz-aware nominal run time, one of :data:`ISSUE_HOURS_UTC` on the hour.

        Returns
        -------
        pandas.DataFrame
            ``HORIZON_H + 1`` = 169 hourly rows from ``issue`` (UTC hour starts), the
            weather columns of :func:`~darkstar.simulation.weather.parse_try` as forecast
            and ``lead_h`` (target minus issue) [h]. ``attrs["issued_at"]`` is the run's
            ISO time. A fresh copy: callers may change it.

        Raises
        ------
        InputError
            If ``issue`` is naive or not a run time, or (non-cyclic weather) the horizon
            is not covered.
        """
        issue = _check_utc(issue, "issue")
        if (issue - _EPOCH) % ISSUE_INTERVAL:
            raise InputError("issue", f"{issue.isoformat()} is not a 00/06/12/18 UTC run")
        if issue < _EPOCH:
            raise InputError("issue", f"{issue.isoformat()} is before 1970")
        cached = self._cache.get(issue)
        if cached is None:
            cached = self._build(issue)
            self._cache[issue] = cached
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(issue)
        return cached.copy()

    def at(self, now: datetime) -> pd.DataFrame:
        """Return the newest forecast available at ``now`` (:func:`latest_issue`)."""
        return self.issued_at(latest_issue(now))

    def issues(self) -> list[datetime]:
        """Return every run whose whole horizon lies within the weather's index."""
        last = self.weather.index[-1].to_pydatetime() - timedelta(hours=HORIZON_H)
        return issue_times(self._start, last)


def lead_error_table(
    *,
    lead_h: npt.ArrayLike,
    forecast: npt.ArrayLike,
    actual: npt.ArrayLike,
) -> pd.DataFrame:
    r"""Return the forecast error by lead-time bucket.

    Parameters
    ----------
    lead_h : array_like
        Lead time of each pair, in [0, HORIZON_H]. [h]
    forecast : array_like
        Forecast values (any unit, e.g. [W/m²] or [kW]).
    actual : array_like
        Actual values, same unit and length.

    Returns
    -------
    pandas.DataFrame
        One row per :data:`LEAD_BUCKETS_H` bucket, indexed ``"0-6"`` ... ``"120-168"``:
        ``n_hours``, ``mean_actual`` and ``rmse`` (the input's unit), ``rrmse_pct`` =
        100 RMSE / mean actual and ``bias_pct`` = 100 mean(forecast - actual) / mean
        actual [%]. Empty buckets hold NaN.

    Raises
    ------
    InputError
        If the arrays differ in length or contain NaN.

    Examples
    --------
    >>> table = lead_error_table(lead_h=[1, 2, 30], forecast=[1.0, 3.0, 2.0],
    ...                          actual=[2.0, 2.0, 2.0])
    >>> table.loc["0-6", ["n_hours", "rmse", "rrmse_pct", "bias_pct"]].tolist()
    [2.0, 1.0, 50.0, 0.0]
    """
    leads = np.asarray(lead_h, dtype=float)
    pred = np.asarray(forecast, dtype=float)
    truth = np.asarray(actual, dtype=float)
    if not leads.shape == pred.shape == truth.shape:
        raise InputError("forecast", "lead_h, forecast and actual must have one length")
    for name, values in (("lead_h", leads), ("forecast", pred), ("actual", truth)):
        if np.isnan(values).any():
            raise InputError(name, "contains NaN")
    rows = []
    for low, high in LEAD_BUCKETS_H:
        upper = leads <= high if high == LEAD_BUCKETS_H[-1][1] else leads < high
        member = (leads >= low) & upper
        error = pred[member] - truth[member]
        mean = float(truth[member].mean()) if member.any() else math.nan
        rmse = float(np.sqrt(np.mean(error**2))) if member.any() else math.nan
        bias = float(error.mean()) if member.any() else math.nan
        rows.append(
            {
                "n_hours": float(member.sum()),
                "mean_actual": mean,
                "rmse": rmse,
                "rrmse_pct": 100.0 * rmse / mean if mean else math.nan,
                "bias_pct": 100.0 * bias / mean if mean else math.nan,
            }
        )
    labels = [f"{low}-{high}" for low, high in LEAD_BUCKETS_H]
    return pd.DataFrame(rows, index=pd.Index(labels, name="lead_h"))


def ghi_error_table(
    forecaster: NwpForecaster,
    issues: Iterable[datetime] | None = None,
    *,
    column: str = "ghi_w_per_m2",
) -> pd.DataFrame:
    """Return :func:`lead_error_table` of one forecast column over many runs.

    Parameters
    ----------
    forecaster : NwpForecaster
        The forecasts and, in ``forecaster.weather``, the truth.
    issues : iterable of datetime, optional
        Runs to score; default :meth:`NwpForecaster.issues` (a year: 1,431 runs).
    column : str
        Weather column scored (default GHI [W/m²]; ``"temp_air_c"`` gives RMSE in K).

    Returns
    -------
    pandas.DataFrame
        As :func:`lead_error_table`, over daylight hours only
        (:attr:`NwpForecaster.daylight`).
    """
    if column not in WEATHER_COLUMNS:
        raise InputError("column", f"must be one of {WEATHER_COLUMNS}, got {column!r}")
    leads, forecasts, actuals = [], [], []
    daylight = forecaster.daylight.to_numpy()
    truth = forecaster.weather[column].to_numpy(float)
    for issue in forecaster.issues() if issues is None else issues:
        run = forecaster.issued_at(issue)
        rows = forecaster.weather_rows(issue)
        keep = daylight[rows]
        leads.append(run["lead_h"].to_numpy()[keep])
        forecasts.append(run[column].to_numpy()[keep])
        actuals.append(truth[rows][keep])
    if not leads:
        raise InputError("issues", "no runs to score")
    return lead_error_table(
        lead_h=np.concatenate(leads),
        forecast=np.concatenate(forecasts),
        actual=np.concatenate(actuals),
    )


def main() -> None:
    """Print the GHI and temperature error tables of the bundled 2018 weather."""
    from darkstar.simulation.datasets import read_weather

    weather = read_weather(latitude=55.6, longitude=13.0, year=2018)
    forecaster = NwpForecaster(weather, seed=0)
    ghi = ghi_error_table(forecaster)
    temp = ghi_error_table(forecaster, column="temp_air_c")[["n_hours", "rmse"]]
    sys.stdout.write(
        f"Station {weather.attrs['station']}, seed 0, {len(forecaster.issues())} runs\n"
        f"GHI [W/m², %], daylight hours:\n{ghi.round(1).to_string()}\n"
        f"Air temperature [°C, K], daylight hours:\n{temp.round(2).to_string()}\n"
    )


if __name__ == "__main__":
    main()
