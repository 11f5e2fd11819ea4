"""Aurora and the naive baselines as the closed-loop backtest's forecasters.

Owns the bridge between the Aurora test bed's year (:mod:`darkstar.simulation.testbed`)
and the loop (:mod:`darkstar.simulation.backtest`): :class:`BedForecasts` issues a
forecast of PV and load (P10/P50/P90) from the data start and then whenever a new
weather run becomes available (every 6 h, 5 h after its nominal time), with
:class:`~darkstar.aurora.forecaster.AuroraForecaster` (``aurora``: walk-forward,
retrained weekly on its own past issues) or the baselines (``naive``). A plan at
``now`` uses the newest issue at or before ``now``; so it never sees a weather run, a
measurement or a model newer than ``now``.

Issued forecasts are kept by time, so the loops of one backtest (heuristic, Kepler)
share them: the forecaster is trained once per backtest.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.aurora.calibration import QUANTILE_COLUMNS
from darkstar.aurora.evaluate import prior_history
from darkstar.aurora.features import Site, slot_features
from darkstar.aurora.forecaster import AuroraForecaster
from darkstar.errors import InputError
from darkstar.simulation.backtest import BandForecast
from darkstar.simulation.datasets import to_quarter_hours
from darkstar.simulation.nwp import ISSUE_DELAY, ISSUE_INTERVAL, latest_issue

if TYPE_CHECKING:
    from collections.abc import Callable

    from darkstar.aurora.forecaster import Issued, Training
    from darkstar.aurora.models import QuantileModel, TrainingParams
    from darkstar.simulation.datasets import YearData
    from darkstar.simulation.testbed import ForecastYear

__all__ = ["HISTORY_ISSUE_EVERY", "ISSUE_HORIZON_DAYS", "BedForecasts", "OracleForecasts"]

logger = logging.getLogger(__name__)

ISSUE_HORIZON_DAYS: Final = 4
"""An issue covers its slots to the end of the local day this many days after its own:
the known prices (to the end of tomorrow), the backtest's two persistence days, and a
day for a plan after local midnight on an issue of the evening before. [d]"""

HISTORY_ISSUE_EVERY: Final = timedelta(days=1)
"""Spacing of the forecasts of the history a first training learns from: one a day
gives each slot of the day a row (more would double the training time). [d]"""

_SLOT: Final = pd.Timedelta(minutes=15)


def _issue_time(bed: ForecastYear, now: datetime) -> pd.Timestamp:
    """Return the newest issue time at or before ``now``: data start or a run's arrival."""
    start = bed.index[0]
    moment = pd.Timestamp(now).tz_convert("UTC")
    if moment < start:
        raise InputError("now", f"{moment.isoformat()} is before the data start")
    arrival = pd.Timestamp(latest_issue(moment.to_pydatetime()) + ISSUE_DELAY)
    return max(arrival, start)


class BedForecasts:
    """Forecasts of the test-bed year as a running house would have issued them.

    Parameters
    ----------
    bed : ForecastYear
        The year: actual PV and load (shown to the forecaster only before each issue),
        the weather forecasts and the physics prior.
    naive : bool
        The baselines instead of Aurora.
    country : str
        Public holidays of the household.
    retrain_every : timedelta or None
        Aurora's retraining interval inside :meth:`at`; ``None``: only by :meth:`retrain`
        (the served home's scheduled and forced retrainings).
    params : TrainingParams, optional
        LightGBM settings.
    history_until : datetime, optional
        The house ran before this (the served home's start): its first retraining
        learns from that history (:meth:`retrain`). Forecasts issued before it is done
        come from the prior.
    """

    def __init__(
        self,
        bed: ForecastYear,
        *,
        naive: bool = False,
        country: str = "SE",
        retrain_every: timedelta | None = timedelta(days=7),
        params: TrainingParams | None = None,
        history_until: datetime | None = None,
    ) -> None:
        self.bed = bed
        self.name = "naive" if naive else "aurora"
        self.site = Site(
            latitude=bed.latitude, longitude=bed.longitude, timezone=bed.timezone, country=country
        )
        started = time.perf_counter()
        index = bed.index
        self._slots = slot_features(index, site=self.site)
        self._prior_history = prior_history(bed.nwp, bed.prior_pv_kw, index)
        self._end = index[-1] + _SLOT
        self.aurora = AuroraForecaster(
            site=self.site,
            prior=bed.prior_pv_kw,
            history_start=index[0].to_pydatetime(),
            retrain_every=retrain_every,
            params=params,
            naive=naive,
        )
        self.history_until = history_until
        self._history_kept = False
        self._issued: dict[pd.Timestamp, Issued] = {}
        self._times: list[pd.Timestamp] = []
        self.features_s = time.perf_counter() - started
        self.issue_s = 0.0

    @property
    def trainings(self) -> list[Training]:
        """Aurora's retrainings so far."""
        return self.aurora.trainings

    def issue_time(self, now: datetime) -> pd.Timestamp:
        """Return the newest issue time at or before ``now``: data start or a run's arrival."""
        return _issue_time(self.bed, now)

    def _targets(self, issued: pd.Timestamp) -> pd.DatetimeIndex:
        local_day = issued.tz_convert(self.site.zone).normalize().tz_localize(None)
        end = (
            (local_day + pd.Timedelta(days=ISSUE_HORIZON_DAYS + 1))
            .tz_localize(self.site.zone)
            .tz_convert("UTC")
        )
        return pd.date_range(issued, min(end, self._end), freq=_SLOT, inclusive="left")

    def _issue(self, at: pd.Timestamp) -> Issued:
        started = time.perf_counter()
        moment = at.to_pydatetime()
        issued = self.aurora.issue(
            moment,
            self._targets(at),
            run=self.bed.nwp.at(moment),
            pv_kw=self.bed.pv_kw,
            load_kw=self.bed.load_kw,
            prior_history_kw=self._prior_history,
            slots=self._slots,
        )
        self.issue_s += time.perf_counter() - started
        self._issued[at] = issued
        self._times.append(at)
        return issued

    def at(self, now: datetime) -> Issued:
        """Return the forecast in force at ``now``, issuing every one due up to it."""
        wanted = self.issue_time(now)
        if wanted in self._issued:
            return self._issued[wanted]
        last = self._times[-1] if self._times else None
        if last is not None and wanted < last:
            raise InputError("now", f"{wanted.isoformat()} was skipped (issues go forward)")
        step = pd.Timedelta(ISSUE_INTERVAL)
        if last is not None:
            moment = self.issue_time(last + step)
        elif self.history_until is not None:  # the history is learnt from in retrain()
            moment = self.issue_time(self.history_until)
        else:
            moment = self.bed.index[0]
        while moment < wanted:
            self._issue(moment)
            moment = self.issue_time(moment + step)
        return self._issue(wanted)

    def _learn_history(self, progress: Callable[[float, str], None] | None) -> None:
        """Keep the rows of daily forecasts from the data start to :attr:`history_until`."""
        until = self.history_until
        if until is None or self._history_kept:
            return
        moment, end = self.bed.index[0], pd.Timestamp(until)
        every = pd.Timedelta(HISTORY_ISSUE_EVERY)
        total = max(1.0, (end - moment) / every)
        done = 0
        while moment < end:
            at = moment.to_pydatetime()
            self.aurora.keep_history(
                at,
                self._targets(moment),
                run=self.bed.nwp.at(at),
                pv_kw=self.bed.pv_kw,
                load_kw=self.bed.load_kw,
                prior_history_kw=self._prior_history,
                slots=self._slots,
            )
            done += 1
            if progress is not None:
                progress(done / total, "forecasts of the house's history")
            moment = self.issue_time(moment + every)
        self._history_kept = True

    def retrain(
        self, now: datetime, *, progress: Callable[[float, str], None] | None = None
    ) -> Training:
        """Retrain Aurora at ``now`` on what it issued before (measured before ``now``).

        With :attr:`history_until`, the first retraining first learns the house's history
        before it (daily forecasts from the data start, :data:`HISTORY_ISSUE_EVERY`):
        about 60 % of its time.
        """
        if self.history_until is not None and not self._history_kept:
            self._learn_history(
                None if progress is None else lambda share, text: progress(0.6 * share, text)
            )
            inner = None if progress is None else lambda s, t: progress(0.6 + 0.4 * s, t)
        else:
            inner = progress
        return self.aurora.retrain(
            now, pv_kw=self.bed.pv_kw, load_kw=self.bed.load_kw, progress=inner
        )

    def describe(self, now: datetime) -> list[dict[str, Any]]:
        """Return what each target uses now (:meth:`AuroraForecaster.describe`)."""
        return self.aurora.describe(now)

    def models(self) -> dict[str, QuantileModel | None]:
        """Target -> the LightGBM model in use, or ``None`` (prior or residual stage)."""
        return {str(t): c.model for t, c in self.aurora.correctors.items()}

    def forecast(self, year: YearData, first: int, last: int) -> BandForecast:
        """Return P50 and the P10-P90 band of slots ``first`` to ``last`` of ``year``."""
        index = year.index[first:last]
        issued = self.at(index[0].to_pydatetime())
        pv = issued.pv.reindex(index).loc[:, list(QUANTILE_COLUMNS)].to_numpy(float)
        load = issued.load.reindex(index).loc[:, list(QUANTILE_COLUMNS)].to_numpy(float)
        if np.isnan(pv).any() or np.isnan(load).any():
            missing = index[np.isnan(pv).any(axis=1) | np.isnan(load).any(axis=1)][0]
            raise InputError(
                "forecast", f"the issue of {issued.issued_at} does not cover {missing}"
            )
        return BandForecast(
            pv_kw=pv[:, 1],
            load_kw=load[:, 1],
            pv_p10_kw=pv[:, 0],
            pv_p90_kw=pv[:, 2],
            load_p10_kw=load[:, 0],
            load_p90_kw=load[:, 2],
        )


class OracleForecasts:
    """The test-bed year's forecasts from a forecaster that knows the house exactly.

    PV is the house's own model (:meth:`ForecastYear.house_pv_kw`: the true orientation,
    shading, clipping, soiling and snow) driven by the newest weather run at the plan
    time instead of the actual weather; load is the actual load. A loop on these
    forecasts measures what the weather forecast's error costs once everything a
    forecaster can learn about the house is known (a statistical forecaster can still
    correct the forecast weather's biases and shrink towards climatology, a little).
    P50 only.

    Parameters
    ----------
    bed : ForecastYear
        The year.
    """

    name = "oracle"

    def __init__(self, bed: ForecastYear) -> None:
        self.bed = bed
        self._runs: dict[pd.Timestamp, pd.Series] = {}

    def _pv_kw(self, issued: pd.Timestamp) -> pd.Series:
        if issued not in self._runs:
            hourly = self.bed.house_pv_kw(self.bed.nwp.at(issued.to_pydatetime()))
            self._runs = {issued: to_quarter_hours(hourly)}  # plans only go forward
        return self._runs[issued]

    def forecast(self, year: YearData, first: int, last: int) -> BandForecast:
        """Return the house's PV on the run in force at slot ``first``, and the actual load."""
        index = year.index[first:last]
        issued = _issue_time(self.bed, index[0].to_pydatetime())
        pv = self._pv_kw(issued).reindex(index).to_numpy(float)
        if np.isnan(pv).any():
            missing = index[np.isnan(pv)][0]
            raise InputError("forecast", f"the weather run of {issued} does not cover {missing}")
        return BandForecast(pv_kw=pv, load_kw=year.load_kw.to_numpy(float)[first:last])
