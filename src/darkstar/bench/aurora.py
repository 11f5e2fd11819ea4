"""Aurora bench: a year of feature rows, training on them, and a 7-day forecast, timed.

Owns ``darkstar bench aurora``. On the Aurora test-bed year
(:func:`darkstar.simulation.testbed.forecast_year`) it runs
:class:`~darkstar.aurora.forecaster.AuroraForecaster` as
:class:`~darkstar.simulation.bed_forecasts.BedForecasts` does and times three steps:

1. **features**: an issue every 12 h (the arrivals of the :data:`PASS_RUN_HOURS_UTC`
   weather runs) over the whole year, each to the end of the local day
   :data:`~darkstar.simulation.bed_forecasts.ISSUE_HORIZON_DAYS` days later, keeping the
   rows a running system learns from. The forecaster's retraining interval is longer than
   the year, so nothing is trained during the pass but the first issue's fit on no rows
   (the prior). Only :meth:`~darkstar.aurora.forecaster.AuroraForecaster.issue` is timed:
   synthesising the weather run is the simulator's cost, not Aurora's;
2. **training**: one :meth:`~darkstar.aurora.forecaster.AuroraForecaster.retrain` at the
   end of the data on every kept row: both targets through
   :func:`~darkstar.aurora.corrector.fit_corrector` (validation on the last 28 days,
   every model mode a candidate, the winner refitted on all rows). Bar:
   :data:`TRAINING_BAR_S`;
3. **inference**: ``repeats`` issues of :data:`INFERENCE_SLOTS` slots (7 days) from a
   weather run 7 days before the end of the data, with the slot features precomputed (as
   the backtest has them) and without (as a live system has them). Timed from the inputs
   (run, measured series) to the calibrated quantiles of both targets. Bar:
   :data:`INFERENCE_BAR_S` on the slowest repeat.

A 7-day run covers 169 hours from its nominal time but becomes available
:data:`~darkstar.simulation.nwp.ISSUE_DELAY` later, when 7 days no longer fit in it; so
the inference issues at the run's nominal time, as if it had no delay. That changes the
weather values, not the work.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

import lightgbm as lgb
import pandas as pd  # type: ignore[import-untyped]
from rich import box
from rich.markup import escape
from rich.table import Table

from darkstar.aurora.corrector import Stage
from darkstar.aurora.evaluate import prior_history
from darkstar.aurora.features import Site, slot_features
from darkstar.aurora.forecaster import AuroraForecaster
from darkstar.aurora.models import Target, TrainingParams
from darkstar.bench.planner import table_console
from darkstar.errors import InputError
from darkstar.simulation.bed_forecasts import ISSUE_HORIZON_DAYS
from darkstar.simulation.nwp import ISSUE_DELAY, issue_times, latest_issue
from darkstar.simulation.testbed import forecast_year

if TYPE_CHECKING:
    from rich.console import Console

    from darkstar.aurora.forecaster import Training
    from darkstar.simulation.testbed import ForecastYear

__all__ = [
    "INFERENCE_BAR_S",
    "INFERENCE_SLOTS",
    "MIN_DAYS",
    "PASS_RUN_HOURS_UTC",
    "TRAINING_BAR_S",
    "AuroraBenchResult",
    "TargetFit",
    "print_aurora_bench",
    "run_aurora_bench",
]

logger = logging.getLogger(__name__)

TRAINING_BAR_S: Final = 60.0
"""Goal for training both targets on a year of 15-minute data (the issue's bar). [s]"""

INFERENCE_BAR_S: Final = 1.0
"""Goal for one 7-day forecast of both targets, inputs to quantiles. [s]"""

INFERENCE_SLOTS: Final = 672
"""Target slots of the inference issue: 7 days of 15 minutes."""

PASS_RUN_HOURS_UTC: Final = (0, 12)
"""The feature pass issues when these runs arrive: every 12 h, every other run (the
forecaster keeps the rows of issues at least 11 h apart anyway). [h, UTC]"""

MIN_DAYS: Final = 8
"""Fewest days the bench runs on: the 7 inference days and one before them. [d]"""

_SLOT: Final = pd.Timedelta(minutes=15)
_SLOTS_PER_DAY: Final = 96
_INFERENCE_SPAN: Final = timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class TargetFit:
    """What the year's retraining made of one target.

    Attributes
    ----------
    target : str
        ``pv`` or ``load``.
    kept_rows : int
        Kept feature rows the retraining saw (every issue's targets under 48 h ahead).
    stage : str
        What the history length allows (``prior``, ``residual``, ``model``).
    used : str
        What validation chose.
    mode : str
        The model mode that won among the candidates (``direct``, ``residual``,
        ``ratio``; used only if ``used`` is ``model``), or ``""`` without validation.
    model_rows : int
        Rows the final model was fitted on (PV: daylight only), 0 without a model.
    """

    target: str
    kept_rows: int
    stage: str
    used: str
    mode: str
    model_rows: int


@dataclass(frozen=True, kw_only=True)
class AuroraBenchResult:
    """Timings of one Aurora bench run.

    Attributes
    ----------
    load_profile : str
        Household load profile of the test bed.
    seed : int
        Seed of the test bed's weather forecasts and PV truth.
    n_slots : int
        15-minute slots of data used.
    cpu_count : int or None
        ``os.cpu_count()`` of the machine.
    params : TrainingParams
        LightGBM settings of every booster.
    setup_s : float
        Test-bed year, slot features of every slot and the prior history. [s]
    issue_times : list of datetime
        Issue times of the feature pass (UTC).
    issue_ms : list of float
        Time of each issue of the feature pass. [ms]
    training : Training
        The year's retraining (``seconds`` is the training time [s]).
    fits : list of TargetFit
        Per target (PV, then load).
    inference_at : datetime
        Issue time of the inference forecasts (UTC).
    inference_slots : int
        Target slots per inference forecast.
    inference_ms : list of float
        Each repeat with precomputed slot features. [ms]
    inference_live_ms : list of float
        Each repeat computing the slot features (a live system). [ms]
    """

    load_profile: str
    seed: int
    n_slots: int
    cpu_count: int | None
    params: TrainingParams
    setup_s: float
    issue_times: list[datetime]
    issue_ms: list[float]
    training: Training
    fits: list[TargetFit]
    inference_at: datetime
    inference_slots: int
    inference_ms: list[float]
    inference_live_ms: list[float]

    @property
    def features_s(self) -> float:
        """Total time of the feature pass's issues [s]."""
        return sum(self.issue_ms) / 1000.0

    @property
    def training_met(self) -> bool:
        """Whether training beat :data:`TRAINING_BAR_S`."""
        return self.training.seconds < TRAINING_BAR_S

    @property
    def inference_met(self) -> bool:
        """Whether every inference repeat, with or without slots, beat the bar."""
        slowest_ms = max(self.inference_ms + self.inference_live_ms)
        return slowest_ms < 1000.0 * INFERENCE_BAR_S


def _pass_times(start: pd.Timestamp, end: pd.Timestamp) -> list[datetime]:
    """Return the feature pass's issue times: 00 and 12 UTC run arrivals in [start, end)."""
    runs = issue_times((start - ISSUE_DELAY).to_pydatetime(), end.to_pydatetime())
    arrivals = [r + ISSUE_DELAY for r in runs if r.hour in PASS_RUN_HOURS_UTC]
    return [t for t in arrivals if start <= pd.Timestamp(t) < end]


def _targets(issued: datetime, *, site: Site, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Return an issue's targets: to the end of the local day 4 days later, before ``end``."""
    at = pd.Timestamp(issued)
    local_day = at.tz_convert(site.zone).normalize().tz_localize(None)
    last = (
        (local_day + pd.Timedelta(days=ISSUE_HORIZON_DAYS + 1))
        .tz_localize(site.zone)
        .tz_convert("UTC")
    )
    return pd.date_range(at, min(last, end), freq=_SLOT, inclusive="left")


def _fit(forecaster: AuroraForecaster, training: Training, target: Target) -> TargetFit:
    corrector = forecaster.correctors[target]
    model = corrector.model if corrector.used == Stage.MODEL else None
    return TargetFit(
        target=str(target),
        kept_rows=training.rows[str(target)],
        stage=corrector.stage.value,
        used=corrector.used.value,
        mode=str(corrector.validation.get("mode", "")),
        model_rows=model.info.n_rows if model is not None else 0,
    )


def _ms(started: float) -> float:
    return 1000.0 * (time.perf_counter() - started)


def _cut(bed: ForecastYear, days: int | None) -> tuple[pd.DatetimeIndex, pd.Series, pd.Series]:
    """Return the index, PV and load of the first ``days`` days (all without ``days``)."""
    n = len(bed.index) if days is None else days * _SLOTS_PER_DAY
    if n > len(bed.index):
        most = len(bed.index) // _SLOTS_PER_DAY
        raise InputError("days", f"must be <= {most} (the year), got {days}")
    return bed.index[:n], bed.pv_kw.iloc[:n], bed.load_kw.iloc[:n]


def run_aurora_bench(
    *,
    load_profile: str = "H0-A",
    repeats: int = 5,
    seed: int = 0,
    days: int | None = None,
    params: TrainingParams | None = None,
    country: str = "SE",
) -> AuroraBenchResult:
    """Time Aurora's feature pass, training and 7-day inference on the test-bed year.

    Parameters
    ----------
    load_profile : str
        Household load profile (``"h25"`` or a SimBench profile such as ``"H0-A"``).
    repeats : int
        Inference forecasts per variant (with and without precomputed slots), >= 1.
    seed : int
        Seed of the test bed's weather forecasts and PV truth, >= 0.
    days : int, optional
        Use only the first ``days`` days of the year (>= :data:`MIN_DAYS`); default all.
    params : TrainingParams, optional
        LightGBM settings (default :class:`~darkstar.aurora.models.TrainingParams`).
    country : str
        Public holidays of the household.

    Returns
    -------
    AuroraBenchResult
        Setup, per-issue, training [s] and inference [ms] times, and what was trained.

    Raises
    ------
    InputError
        If ``repeats`` or ``days`` is out of range, or the test bed refuses
        ``load_profile`` (field ``profile``) or ``seed``.
    """
    if repeats < 1:
        raise InputError("repeats", f"must be >= 1, got {repeats}")
    if days is not None and days < MIN_DAYS:
        raise InputError("days", f"must be >= {MIN_DAYS}, got {days}")
    params = params or TrainingParams()
    started = time.perf_counter()
    bed = forecast_year(load_profile=load_profile, seed=seed)
    index, pv_kw, load_kw = _cut(bed, days)
    site = Site(
        latitude=bed.latitude, longitude=bed.longitude, timezone=bed.timezone, country=country
    )
    slots = slot_features(index, site=site)
    history_kw = prior_history(bed.nwp, bed.prior_pv_kw, index)
    setup_s = time.perf_counter() - started
    end = index[-1] + _SLOT
    forecaster = AuroraForecaster(
        site=site,
        prior=bed.prior_pv_kw,
        history_start=index[0].to_pydatetime(),
        retrain_every=timedelta(days=400),  # longer than the data: no retraining in the pass
        params=params,
    )

    times = _pass_times(index[0], end)
    issue_ms = []
    for moment in times:
        targets = _targets(moment, site=site, end=end)
        run = bed.nwp.at(moment)
        started = time.perf_counter()
        forecaster.issue(
            moment,
            targets,
            run=run,
            pv_kw=pv_kw,
            load_kw=load_kw,
            prior_history_kw=history_kw,
            slots=slots,
        )
        issue_ms.append(_ms(started))
    logger.info("aurora bench: %d issues in %.1f s", len(times), sum(issue_ms) / 1000.0)

    training = forecaster.retrain(end.to_pydatetime(), pv_kw=pv_kw, load_kw=load_kw)
    logger.info("aurora bench: trained in %.1f s: %s", training.seconds, training.rows)
    fits = [_fit(forecaster, training, t) for t in (Target.PV, Target.LOAD)]

    at = latest_issue((end + ISSUE_DELAY).to_pydatetime() - _INFERENCE_SPAN)
    run = bed.nwp.issued_at(at)  # nominal time, no delay: the module docstring says why
    targets = pd.date_range(at, periods=INFERENCE_SLOTS, freq=_SLOT)
    timed: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for precomputed in (True, False):
            started = time.perf_counter()
            forecaster.issue(
                at,
                targets,
                run=run,
                pv_kw=pv_kw,
                load_kw=load_kw,
                prior_history_kw=history_kw,
                slots=slots if precomputed else None,
            )
            timed[precomputed].append(_ms(started))
    return AuroraBenchResult(
        load_profile=load_profile,
        seed=seed,
        n_slots=len(index),
        cpu_count=os.cpu_count(),
        params=params,
        setup_s=setup_s,
        issue_times=times,
        issue_ms=issue_ms,
        training=training,
        fits=fits,
        inference_at=at,
        inference_slots=len(targets),
        inference_ms=timed[True],
        inference_live_ms=timed[False],
    )


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _fmt_ms(values: list[float]) -> tuple[str, str]:
    """Return the median and max of times [ms] as text, in s from 10 s on."""
    median, worst = statistics.median(values), max(values)
    if worst >= 10_000.0:
        return f"{median / 1000.0:.1f} s", f"{worst / 1000.0:.1f} s"
    return f"{median:.0f} ms", f"{worst:.0f} ms"


def print_aurora_bench(result: AuroraBenchResult, console: Console | None = None) -> None:
    """Print the Aurora bench as a rich table titled with the machine and LightGBM.

    Parameters
    ----------
    result : AuroraBenchResult
        Output of :func:`run_aurora_bench`.
    console : rich.console.Console, optional
        Where to print (default: a new console on stdout).
    """
    console = console or table_console()
    p = result.params
    days = result.n_slots / _SLOTS_PER_DAY
    title = (
        f"Aurora bench: {result.load_profile}, seed {result.seed}, {days:.0f} days; "
        f"{result.cpu_count} CPUs, LightGBM {lgb.__version__}, n_jobs {p.n_jobs}, "
        f"{p.num_boost_round} rounds, {p.num_leaves} leaves"
    )
    table = Table(
        title=escape(title),
        box=box.SIMPLE_HEAD,
        caption=escape(
            "features: issue() per 12 h over the data (weather run synthesis not timed); "
            "training: one retrain() of PV and load on all kept rows (validation + model "
            "selection + refit); inference: issue() of 7 days from inputs to quantiles, "
            "slots precomputed or not (live). met = slowest under the bar."
        ),
    )
    table.add_column("step")
    for header in ("rows / slots", "n", "total", "median", "max", "bar", "met"):
        table.add_column(header, justify="right")
    table.add_row(
        "setup: year, slot features, prior history",
        f"{result.n_slots} slots",
        "1",
        f"{result.setup_s:.1f} s",
        "-",
        "-",
        "-",
        "-",
    )
    kept = " / ".join(f"{f.target} {f.kept_rows}" for f in result.fits)
    if result.issue_ms:
        median, worst = _fmt_ms(result.issue_ms)
    else:
        median = worst = "-"
    table.add_row(
        "features: issue + keep rows",
        f"{kept} rows",
        f"{len(result.issue_ms)} issues",
        f"{result.features_s:.1f} s",
        median,
        worst,
        "-",
        "-",
    )
    seconds = result.training.seconds
    table.add_row(
        "training: retrain pv + load",
        f"{kept} rows",
        "1",
        f"{seconds:.1f} s",
        "-",
        "-",
        f"< {TRAINING_BAR_S:g} s",
        _met(result.training_met),
    )
    for name, values in (
        ("inference 7 d, slots precomputed", result.inference_ms),
        ("inference 7 d, live (no slots)", result.inference_live_ms),
    ):
        median, worst = _fmt_ms(values)
        table.add_row(
            name,
            f"{result.inference_slots} slots",
            str(len(values)),
            f"{sum(values) / 1000.0:.2f} s",
            median,
            worst,
            f"< {INFERENCE_BAR_S:g} s",
            _met(max(values) < 1000.0 * INFERENCE_BAR_S),
        )
    console.print(table)
    for fit in result.fits:
        if fit.model_rows:
            model = f", mode {fit.mode}, model on {fit.model_rows} rows"
        elif fit.mode:
            model = f" (the best model, mode {fit.mode}, lost on validation)"
        else:
            model = ""
        console.print(
            escape(
                f"{fit.target}: stage {fit.stage}, used {fit.used}{model}; "
                f"{fit.kept_rows} kept rows"
            )
        )
    per_issue = result.features_s / max(len(result.issue_ms), 1)
    rate = (
        f"{sum(f.kept_rows for f in result.fits) / seconds:.0f} rows/s"
        if seconds > 0 and math.isfinite(seconds)
        else "-"
    )
    console.print(
        escape(
            f"features {1000.0 * per_issue:.0f} ms per issue; training {rate}; "
            f"inference issued at {pd.Timestamp(result.inference_at).isoformat()}"
        )
    )
