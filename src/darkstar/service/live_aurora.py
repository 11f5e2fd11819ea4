"""Aurora on a real home: PV and load P10/P50/P90 from the stored weather runs and history.

:class:`LiveAurora` is the :class:`~darkstar.service.world.ForecastEngine` of the
:class:`~darkstar.service.live_world.LiveWorld`, the Home Assistant counterpart of the
simulated home's ``BedForecasts``. It runs one
:class:`~darkstar.aurora.forecaster.AuroraForecaster` (``retrain_every=None``: the
service's training job retrains it) on what the learning store holds:

- **history**: PV and load per slot [kW] from the store's observations (kWh per slot /
  0.25 h) on a regular 15-minute UTC grid from the first observation to now, NaN where
  nothing was measured (Aurora's features skip NaN and its training drops rows whose
  target is NaN). Kept in memory and extended at each use: the last
  :data:`HISTORY_REREAD` are read again, as backfill may still fill them;
- **weather**: the runs the PV forecaster fetched and kept
  (:mod:`darkstar.learning.store.weather`); a forecast issued at ``now`` uses the newest
  run issued at or before ``now``, the prior history of each past hour the newest run
  issued before that hour began (:func:`~darkstar.aurora.evaluate.prior_history` over
  :class:`_StoredHours`), cached and extended hour by hour;
- **the prior**: the physics PV model of :mod:`darkstar.sources.pv` on the configured
  arrays, applied to the hourly run (:func:`physics_prior`);
- **forecasts** (:meth:`LiveAurora.forecast`): a new issue when a newer run is stored or
  the last issue is :data:`ISSUE_MAX_AGE` old, the cached one otherwise. Slots the run
  does not reach, or every slot when no run is stored, are not covered: the world plans
  them on its prior-stage fallback (the physics PV on the fetched forecast, the 7-day
  load baseline) and reports it (:attr:`LiveBand.fault`);
- **training** (:meth:`LiveAurora.retrain`): the first one learns the stored history
  first: a forecast kept (``keep_history``) once a day at :data:`HISTORY_ISSUE_TIME`
  local time on every day with a stored run and observations, with the run available
  then; later ones learn from the forecasts issued since.

Holidays come from a country derived from the bidding area (:func:`holiday_country`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final

import holidays
import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.aurora.corrector import DEFAULT_LOAD_KW
from darkstar.aurora.evaluate import prior_history
from darkstar.aurora.forecaster import TRAIN_MAX_HORIZON, AuroraForecaster, quantile_arrays
from darkstar.learning.store.repository import first_observation, read_observations
from darkstar.learning.store.weather import (
    first_weather_run,
    read_weather_hours,
    read_weather_run,
)
from darkstar.sources.pv import pv_forecast_kw

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from darkstar.aurora.features import PriorPv, Site
    from darkstar.aurora.forecaster import Issued, Training
    from darkstar.aurora.models import QuantileModel, TrainingParams
    from darkstar.learning.store import Store
    from darkstar.sources.pv import PvArray

__all__ = [
    "DEFAULT_COUNTRY",
    "HISTORY_ISSUE_TIME",
    "HISTORY_REREAD",
    "ISSUE_HORIZON",
    "ISSUE_MAX_AGE",
    "LiveAurora",
    "LiveBand",
    "holiday_country",
    "physics_prior",
]

logger = logging.getLogger(__name__)

ISSUE_MAX_AGE: Final = timedelta(hours=1)
"""An issue this old is renewed even without a newer run (new measurements). [h]"""

ISSUE_HORIZON: Final = timedelta(days=4)
"""Longest reach of an issue (the fetched runs reach about 3 days). [d]"""

HISTORY_ISSUE_TIME: Final = time(12, 0)
"""Local time of the daily forecasts a first training learns the history from (the
day-ahead plan's time, as in ``darkstar forecast eval``)."""

HISTORY_REREAD: Final = timedelta(days=8)
"""Observations this recent are read again at each use: backfill fills missed slots of
the last 7 days. [d]"""

DEFAULT_COUNTRY: Final = "SE"
"""Holidays used when the bidding area names no known country."""

_AREA_COUNTRY: Final = {"GER": "DE", "TEL": "RO", "SYS": DEFAULT_COUNTRY}
"""Bidding areas whose first two letters are not their country."""

_SLOT: Final = pd.Timedelta(minutes=15)
_SLOT_H: Final = 0.25
_HOUR: Final = pd.Timedelta(hours=1)
_PRIOR_COLUMNS: Final = {
    "ghi_w_per_m2": "ghi_w_m2",
    "dni_w_per_m2": "dni_w_m2",
    "dhi_w_per_m2": "dhi_w_m2",
    "temp_air_c": "temp_air_c",
}


def holiday_country(area: str) -> str:
    """Return the country of a bidding area's public holidays (``holidays`` code).

    The area's first two letters (``SE3`` -> ``SE``, ``DE-LU`` -> ``DE``, ``NO1`` ->
    ``NO``); ``GER`` -> ``DE``, ``TEL`` -> ``RO``; :data:`DEFAULT_COUNTRY` for the
    system price ``SYS`` and for anything ``holidays`` does not know (logged).

    Examples
    --------
    >>> holiday_country("SE4"), holiday_country("DE-LU"), holiday_country("SYS")
    ('SE', 'DE', 'SE')
    """
    code = area.upper()
    country = _AREA_COUNTRY.get(code, code[:2])
    if country not in holidays.list_supported_countries():
        logger.warning("no public holidays known for area %s: using %s's", area, DEFAULT_COUNTRY)
        return DEFAULT_COUNTRY
    return country


def physics_prior(
    *, arrays: Sequence[PvArray], latitude: float, longitude: float, altitude_m: float = 0.0
) -> PriorPv:
    """Return the physics PV prior on an hourly weather run (Aurora's ``prior``).

    Parameters
    ----------
    arrays : sequence of PvArray
        The configured arrays.
    latitude, longitude : float
        Site [deg].
    altitude_m : float
        Site altitude [m].

    Returns
    -------
    callable
        ``prior(run) -> pandas.Series``: :func:`~darkstar.sources.pv.pv_forecast_kw` on
        the run's hourly ``ghi_w_per_m2``, ``dni_w_per_m2``, ``dhi_w_per_m2`` [W/m²] and
        ``temp_air_c`` [°C] (each hour at its mid-point), the mean AC power per hour on
        the run's index [kW]; NaN for a daylight hour with NaN weather.
    """
    chosen = tuple(arrays)

    def prior(run: pd.DataFrame) -> pd.Series:
        weather = run.loc[:, list(_PRIOR_COLUMNS)].rename(columns=_PRIOR_COLUMNS)
        single = len(weather) == 1  # one row has no step of its own: give it its hour
        if single:
            weather = pd.concat([weather, weather.set_axis(weather.index + _HOUR)])
        power = pv_forecast_kw(
            weather, arrays=chosen, latitude=latitude, longitude=longitude, altitude_m=altitude_m
        )
        return (power.iloc[:1] if single else power).rename("pv_prior_kw")

    return prior


@dataclass(frozen=True, kw_only=True)
class LiveBand:
    """Aurora's forecast of some slots: P10, P50, P90 per slot [kW], NaN where not covered.

    ``covered`` marks the slots Aurora forecast (both targets); ``used`` names each
    target's stage (``prior``, ``residual``, ``model``; empty without an issue),
    ``version`` the retraining (``"none"`` before the first), ``fault`` why slots are not
    covered (``None`` when all are).
    """

    pv_kw: np.ndarray
    load_kw: np.ndarray
    covered: np.ndarray
    issued_at: datetime | None
    run_issued_at: datetime | None
    used: dict[str, str]
    version: str
    fault: str | None


class _StoredHours:
    """A :class:`~darkstar.aurora.evaluate.WeatherSource` over stored hours (one per hour).

    ``at(moment)`` returns the hour holding ``moment`` as the newest run before it began
    forecast it (:func:`~darkstar.learning.store.weather.read_weather_hours`), or that hour
    as NaN when no stored run holds it (no prior known for it).
    """

    def __init__(self, hours: pd.DataFrame) -> None:
        self.hours = hours

    def at(self, now: datetime) -> pd.DataFrame:
        """Return the one-hour "run" of the hour holding ``now``."""
        hour = pd.Timestamp(now).tz_convert("UTC").floor(_HOUR)
        if hour in self.hours.index:
            return self.hours.loc[[hour]]
        return pd.DataFrame(np.nan, index=pd.DatetimeIndex([hour]), columns=self.hours.columns)


def _slot_floor(moment: datetime) -> pd.Timestamp:
    """Return the start of the slot holding ``moment`` (UTC)."""
    return pd.Timestamp(moment).tz_convert("UTC").floor(_SLOT)


class LiveAurora:
    """Aurora on a real home's store (a :class:`~darkstar.service.world.ForecastEngine`).

    Parameters
    ----------
    store : Store
        The learning store: observations and weather runs.
    site : Site
        Location, time zone and holiday country.
    prior : callable
        The physics prior on an hourly run (:func:`physics_prior`).
    params : TrainingParams, optional
        LightGBM settings.
    default_load_kw : float
        Load P50 before any history. [kW]
    now : datetime, optional
        Start of the history when nothing is observed yet (default: the wall clock).

    Notes
    -----
    Aurora's ``history_start`` (which sets the corrector's stage: prior, residual,
    model) is the later of the first stored observation and the first stored weather
    run (:meth:`_check_start`).
    """

    def __init__(
        self,
        *,
        store: Store,
        site: Site,
        prior: PriorPv,
        params: TrainingParams | None = None,
        default_load_kw: float = DEFAULT_LOAD_KW,
        now: datetime | None = None,
    ) -> None:
        self.store, self.site, self.prior = store, site, prior
        first = first_observation(store)
        self._observed = first is not None
        start = _slot_floor(now or datetime.now(UTC)) if first is None else first.slot_start
        self._start = _slot_floor(start)
        self._learnable = False  # history_start set from the stored history
        self.aurora = AuroraForecaster(
            site=site,
            prior=prior,
            history_start=self._start.to_pydatetime(),
            retrain_every=None,
            params=params,
            default_load_kw=default_load_kw,
        )
        self._lock = threading.Lock()  # the caches: the agent and the training thread
        self._pv: pd.Series | None = None
        self._load: pd.Series | None = None
        self._read_until: pd.Timestamp | None = None
        self._prior_kw: pd.Series | None = None
        self._prior_next = self._start.floor(_HOUR)
        self._history_kept = False
        self._first_issue: datetime | None = None
        self._issued: Issued | None = None
        self._issued_run: datetime | None = None
        self._check_start()

    @property
    def version(self) -> str:
        """The retraining the forecasts come from (``"none"`` before the first)."""
        return self.aurora.version

    def stages(self) -> dict[str, str]:
        """Target -> the stage in use (``prior``, ``residual``, ``model``)."""
        return {str(t): c.used.value for t, c in self.aurora.correctors.items()}

    # --- history -----------------------------------------------------------------------
    def _check_start(self) -> None:
        """Find where the history begins, once the store holds it (lock held).

        The series start at the first observation; Aurora's history (its stage clock,
        ``history_start``) at the later of that and the first stored run: only days with
        both give forecasts to learn from (observations from before the runs were kept,
        e.g. from an older version, teach nothing yet).
        """
        if not self._observed:
            first = first_observation(self.store)
            if first is None:
                return
            self._observed = True
            self._start = _slot_floor(first.slot_start)
            self._pv = self._load = self._read_until = None
            self.aurora.history_start = self._start.to_pydatetime()
        if not self._learnable:
            run = first_weather_run(self.store)
            if run is None:
                return
            self._learnable = True
            start = max(self._start, pd.Timestamp(run).tz_convert("UTC"))
            self.aurora.history_start = start.to_pydatetime()

    def history(self, now: datetime) -> tuple[pd.Series, pd.Series]:
        """Return measured PV and load per slot before ``now`` [kW] (NaN: not measured).

        On a regular 15-minute UTC grid from the first observation (at least one slot);
        the last :data:`HISTORY_REREAD` are read from the store again.
        """
        with self._lock:
            self._check_start()
            end = max(_slot_floor(now), self._start + _SLOT)
            index = pd.date_range(self._start, end, freq=_SLOT, inclusive="left", name="start")
            reread = (
                self._start
                if self._read_until is None
                else max(self._start, self._read_until - HISTORY_REREAD)
            )
            rows = read_observations(
                self.store, start=reread.to_pydatetime(), end=end.to_pydatetime()
            )
            series = {}
            for name, old in (("pv", self._pv), ("load", self._load)):
                values = (
                    np.full(len(index), np.nan)
                    if old is None
                    else old.reindex(index).to_numpy(float, copy=True)
                )
                values[index >= reread] = np.nan
                series[name] = values
            if rows:
                times = pd.DatetimeIndex([r.slot_start for r in rows]).tz_convert("UTC")
                where = index.get_indexer(times)
                ok = where >= 0
                pv_kw = np.array([r.pv_kwh for r in rows]) / _SLOT_H
                load_kw = np.array([r.load_kwh for r in rows]) / _SLOT_H
                series["pv"][where[ok]] = pv_kw[ok]
                series["load"][where[ok]] = load_kw[ok]
            self._pv = pd.Series(series["pv"], index=index, name="pv_kw")
            self._load = pd.Series(series["load"], index=index, name="load_kw")
            self._read_until = end
            return self._pv, self._load

    def prior_history(self, now: datetime) -> pd.Series:
        """Return the prior of every past hour's slots as forecast then [kW] (NaN: no run).

        From the hour of the first observation to the hour holding ``now``; new hours are
        added to the cached series (an hour's run never changes once it has begun).
        """
        with self._lock:
            last = pd.Timestamp(now).tz_convert("UTC").floor(_HOUR)
            if self._prior_next <= last:
                stop = last + _HOUR
                hours = read_weather_hours(
                    self.store,
                    start=self._prior_next.to_pydatetime(),
                    end=stop.to_pydatetime(),
                )
                index = pd.date_range(self._prior_next, stop, freq=_SLOT, inclusive="left")
                new = prior_history(_StoredHours(hours), self.prior, index)
                old = self._prior_kw
                self._prior_kw = new if old is None else pd.concat([old, new])
                self._prior_next = stop
            if self._prior_kw is None:  # now before the first hour: one NaN slot
                index = pd.DatetimeIndex([self._prior_next], name="start")
                return pd.Series(np.nan, index=index, name="pv_prior_kw")
            return self._prior_kw

    # --- forecasts ---------------------------------------------------------------------
    def _targets(self, at: pd.Timestamp, run: pd.DataFrame, reach: timedelta) -> pd.DatetimeIndex:
        """Return the slots from ``at`` the run reaches, at most ``reach`` ahead."""
        end = min(run.index[-1] + _HOUR, at + pd.Timedelta(reach))
        return pd.date_range(at, end, freq=_SLOT, inclusive="left", name="start")

    def _uncovered(self, index: pd.DatetimeIndex, fault: str, run_at: datetime | None) -> LiveBand:
        n = len(index)
        return LiveBand(
            pv_kw=np.full((n, 3), np.nan),
            load_kw=np.full((n, 3), np.nan),
            covered=np.zeros(n, dtype=bool),
            issued_at=None,
            run_issued_at=run_at,
            used={},
            version=self.aurora.version,
            fault=fault,
        )

    def issue(self, now: datetime, *, known_at: datetime | None = None) -> Issued | None:
        """Return the issue in force at ``now``: cached, or new (module docstring).

        The run is the newest stored at or before ``known_at`` (default ``now``; the wall
        clock when the plan is made a little after its slot began). ``None`` when no
        stored run reaches ``now``.
        """
        run = read_weather_run(self.store, at=known_at or now)
        if run is None:
            return None
        run_at: datetime = run.attrs["issued_at"]
        cached = self._issued
        if (
            cached is not None
            and self._issued_run == run_at
            and timedelta(0) <= now - cached.issued_at < ISSUE_MAX_AGE
        ):
            return cached
        at = _slot_floor(now)
        targets = self._targets(at, run, ISSUE_HORIZON)
        if targets.empty:
            return None
        pv_kw, load_kw = self.history(now)
        issued = self.aurora.issue(
            at.to_pydatetime(),
            targets,
            run=run,
            pv_kw=pv_kw,
            load_kw=load_kw,
            prior_history_kw=self.prior_history(now),
        )
        self._issued, self._issued_run = issued, run_at
        if self._first_issue is None:
            self._first_issue = issued.issued_at
        return issued

    def forecast(
        self, now: datetime, starts: Sequence[datetime], *, known_at: datetime | None = None
    ) -> LiveBand:
        """Return P10/P50/P90 of PV and load of the slots ``starts`` as known at ``now``.

        Parameters
        ----------
        now : datetime
            The issue time: the start of the current slot (tz-aware); measurements from
            it on are not used.
        starts : sequence of datetime
            Slot starts (UTC, 15 minutes).
        known_at : datetime, optional
            Weather runs stored by this moment are used (default ``now``): the wall
            clock, which is a little past the slot's start when the plan is made.

        Returns
        -------
        LiveBand
            Slots beyond the newest stored run (all of them without one) are not covered,
            with the reason in ``fault``.
        """
        index = pd.DatetimeIndex(list(starts)).tz_convert("UTC")
        issued = self.issue(now, known_at=known_at)
        if issued is None:
            newest = read_weather_run(self.store, at=known_at or now)
            if newest is None:
                return self._uncovered(index, "no weather run stored yet", None)
            run_at = newest.attrs["issued_at"]
            return self._uncovered(
                index,
                f"the newest weather run ({run_at:%Y-%m-%d %H:%M} UTC) ends before now",
                run_at,
            )
        pv = quantile_arrays(issued.pv, index)
        load = quantile_arrays(issued.load, index)
        covered = np.isfinite(pv).all(axis=1) & np.isfinite(load).all(axis=1)
        missing = int((~covered).sum())
        fault = (
            None
            if missing == 0
            else (
                f"{missing} of {len(index)} slots beyond the weather run of "
                f"{self._issued_run:%Y-%m-%d %H:%M} UTC"
            )
        )
        return LiveBand(
            pv_kw=pv,
            load_kw=load,
            covered=covered,
            issued_at=issued.issued_at,
            run_issued_at=self._issued_run,
            used=dict(issued.used),
            version=issued.version,
            fault=fault,
        )

    # --- training ----------------------------------------------------------------------
    def _learn_history(self, now: datetime, progress: Callable[[float, str], None] | None) -> int:
        """Keep a forecast a day of the stored history before ``now``; return how many."""
        pv_kw, load_kw = self.history(now)
        prior_kw = self.prior_history(now)
        until = pd.Timestamp(min(now, self._first_issue or now)).tz_convert("UTC")
        zone = self.site.zone
        first_day = self._start.tz_convert(zone).date()
        days = pd.date_range(first_day, until.tz_convert(zone).date(), freq="D")
        kept = 0
        for k, day in enumerate(days):
            local = pd.Timestamp(datetime.combine(day.date(), HISTORY_ISSUE_TIME))
            at = local.tz_localize(zone, nonexistent="shift_forward").tz_convert("UTC")
            run = read_weather_run(self.store, at=at.to_pydatetime()) if at < until else None
            targets = (
                pd.DatetimeIndex([], tz="UTC")
                if run is None
                else self._targets(at, run, TRAIN_MAX_HORIZON)
            )
            measured = load_kw.reindex(targets).notna() | pv_kw.reindex(targets).notna()
            if run is not None and measured.any():
                self.aurora.keep_history(
                    at.to_pydatetime(),
                    targets,
                    run=run,
                    pv_kw=pv_kw,
                    load_kw=load_kw,
                    prior_history_kw=prior_kw,
                )
                kept += 1
            if progress is not None:
                progress((k + 1) / len(days), "forecasts of the house's history")
        self._history_kept = True
        logger.info("aurora: learnt %d days of the house's history before %s", kept, until)
        return kept

    def retrain(
        self, now: datetime, *, progress: Callable[[float, str], None] | None = None
    ) -> Training:
        """Retrain Aurora at ``now`` on what was measured before it.

        The first time, the stored history is learnt first (about 60 % of the progress).
        """
        inner = progress
        if not self._history_kept:
            self._learn_history(
                now, None if progress is None else lambda share, text: progress(0.6 * share, text)
            )
            inner = None if progress is None else lambda s, t: progress(0.6 + 0.4 * s, t)
        pv_kw, load_kw = self.history(now)
        training = self.aurora.retrain(now, pv_kw=pv_kw, load_kw=load_kw, progress=inner)
        self._issued = None  # the next forecast is issued by the new correctors
        return training

    def describe(self, now: datetime) -> list[dict[str, Any]]:
        """Return what each target uses now (:meth:`AuroraForecaster.describe`)."""
        return self.aurora.describe(now)

    def models(self) -> dict[str, QuantileModel | None]:
        """Target -> the LightGBM model in use, or ``None`` (prior or residual stage)."""
        return {str(t): c.model for t, c in self.aurora.correctors.items()}
