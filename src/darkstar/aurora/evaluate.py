"""Walk-forward evaluation of Aurora's forecasts against naive baselines.

Owns ``darkstar forecast eval``'s experiment. Forecasts are issued once a day at a
fixed local time (:attr:`EvaluationSpec.issue_time`, 12:00: the planner's day-ahead
plan) for every slot up to the end of tomorrow (local midnight), as the planner uses
them. Time only moves forward:

- features of an issue use the weather run available at the issue time and the
  measurements strictly before it (:mod:`darkstar.aurora.features`);
- the forecaster (:func:`~darkstar.aurora.corrector.fit_corrector`) is retrained every
  :attr:`EvaluationSpec.retrain_every` on the rows of earlier issues whose target
  slot lies before the retraining time (:func:`training_mask`); its own validation
  window is the end of that history, never the test window;
- the test window is the last :attr:`EvaluationSpec.test_months` months of the data.
  Nothing is shuffled and nothing is tuned on it.

Baselines: load = the mean of the same local slot on the 7 latest days before the
issue (``load_baseline_kw``); PV = the physics prior on the forecast weather
(``pv_prior_kw``). Scores (:mod:`darkstar.aurora.metrics`): P50 MAE, its ratio to the
baseline's MAE, the pinball loss averaged over P10/P50/P90 and the P10-P90 coverage.
PV coverage counts daylight slots only (a night slot's [0, 0] always holds the 0).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.aurora.calibration import QUANTILE_COLUMNS, QUANTILES
from darkstar.aurora.corrector import fit_corrector
from darkstar.aurora.features import (
    SLOT,
    Site,
    build_load_features,
    build_pv_features,
    check_slots,
    prior_on,
    slot_features,
)
from darkstar.aurora.metrics import coverage_frac, mae, pinball_loss
from darkstar.aurora.models import REFERENCE_COLUMN, Target, TrainingParams
from darkstar.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from darkstar.aurora.features import PriorPv

__all__ = [
    "EvaluationInputs",
    "EvaluationReport",
    "EvaluationSpec",
    "Retrain",
    "TargetScore",
    "WeatherSource",
    "daily_issues",
    "run_evaluation",
    "horizon_slots",
    "house_model_mae",
    "issue_frames",
    "print_evaluation",
    "prior_history",
    "retrain_times",
    "training_mask",
    "walk_forward",
]

logger = logging.getLogger(__name__)

_HOUR: Final = timedelta(hours=1)


class WeatherSource(Protocol):
    """Hourly weather forecasts as available at a moment (e.g. ``NwpForecaster``)."""

    def at(self, now: datetime) -> pd.DataFrame:
        """Return the newest run available at ``now`` (hourly UTC frame with ``lead_h``)."""
        ...


@dataclass(frozen=True, kw_only=True)
class EvaluationInputs:
    """What the evaluation runs on: measurements, forecasts and the physics prior.

    Parameters
    ----------
    site : Site
        Location, clock and holidays of the house.
    weather : WeatherSource
        Weather forecasts as issued (never the actual weather).
    prior : callable
        The physics prior: hourly weather in, hourly PV [kW] out.
    pv_kw : pandas.Series
        Actual PV per slot on a regular 15-minute UTC index. [kW]
    load_kw : mapping of str to pandas.Series
        Actual household load per profile name (e.g. ``"H0-A"``), same index. [kW]
    house_pv : callable, optional
        The house's own PV model, when it is known (a test bed's truth): hourly weather
        in, hourly PV [kW] out. Run on the same forecast weather, it is scored as the
        ceiling of any forecaster of these weather forecasts; never a feature.
    """

    site: Site
    weather: WeatherSource
    prior: PriorPv
    pv_kw: pd.Series
    load_kw: Mapping[str, pd.Series]
    house_pv: PriorPv | None = None

    def __post_init__(self) -> None:
        check_slots(self.pv_kw.index, field="pv_kw.index")
        if ((self.pv_kw.index[1:] - self.pv_kw.index[:-1]) != pd.Timedelta(SLOT)).any():
            raise InputError("pv_kw.index", "must be a regular 15-minute grid")
        for name, series in self.load_kw.items():
            if not series.index.equals(self.pv_kw.index):
                raise InputError(f"load_kw[{name}].index", "must equal pv_kw's index")


@dataclass(frozen=True, kw_only=True)
class EvaluationSpec:
    """How the walk-forward runs.

    Parameters
    ----------
    test_months : int
        Months at the end of the data that are scored, >= 1.
    retrain_every : timedelta
        Time between retrainings, >= 1 day.
    issue_time : datetime.time
        Local clock time of the daily forecast.
    params : TrainingParams
        LightGBM settings.
    """

    test_months: int = 3
    retrain_every: timedelta = timedelta(days=7)
    issue_time: clock_time = clock_time(12, 0)
    params: TrainingParams = field(default_factory=TrainingParams)

    def __post_init__(self) -> None:
        if not 1 <= self.test_months <= 11:
            raise InputError("test_months", f"must be in [1, 11], got {self.test_months}")
        if self.retrain_every < timedelta(days=1):
            raise InputError("retrain_every", f"must be >= 1 day, got {self.retrain_every}")


def horizon_slots(now: datetime, *, site: Site) -> pd.DatetimeIndex:
    """Return the slots a forecast issued at ``now`` covers: up to the end of tomorrow.

    Examples
    --------
    >>> from datetime import UTC
    >>> site = Site(latitude=55.6, longitude=13.0)
    >>> slots = horizon_slots(datetime(2018, 6, 1, 10, tzinfo=UTC), site=site)
    >>> len(slots), str(slots[-1])
    (144, '2018-06-02 21:45:00+00:00')
    """
    start = pd.Timestamp(now).tz_convert("UTC")
    local_day = start.tz_convert(site.zone).normalize().tz_localize(None)
    end = (local_day + pd.Timedelta(days=2)).tz_localize(site.zone).tz_convert("UTC")
    return pd.date_range(start, end, freq=SLOT, inclusive="left", name="start")


def daily_issues(index: pd.DatetimeIndex, *, site: Site, issue_time: clock_time) -> list[datetime]:
    """Return the daily issue times whose whole horizon lies inside ``index``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        The data's UTC slot grid.
    site : Site
        Its time zone gives the local clock.
    issue_time : datetime.time
        Local time of day of every issue.

    Returns
    -------
    list of datetime
        UTC issue times, ascending.
    """
    check_slots(index)
    end = index[-1] + pd.Timedelta(SLOT)
    local = index.tz_convert(site.zone)
    days = pd.date_range(local[0].normalize().tz_localize(None), local[-1].tz_localize(None))
    issues = []
    for day in days:
        moment = pd.Timestamp(datetime.combine(day.date(), issue_time), tz=site.zone)
        utc = moment.tz_convert("UTC")
        if utc >= index[0] and horizon_slots(utc, site=site)[-1] < end:
            issues.append(utc.to_pydatetime())
    return issues


def prior_history(weather: WeatherSource, prior: PriorPv, index: pd.DatetimeIndex) -> pd.Series:
    """Return the prior of every slot as forecast by the newest run at that slot.

    This is what a running system would have stored: each hour's PV prior from the
    run it had at the time (known at the slot, so usable as history after it).

    Parameters
    ----------
    weather : WeatherSource
        Forecast runs.
    prior : callable
        The physics prior.
    index : pandas.DatetimeIndex
        Regular 15-minute UTC slots starting on a whole hour.

    Returns
    -------
    pandas.Series
        ``pv_prior_kw`` on ``index`` (each hour's value on its quarter hours). [kW]
    """
    check_slots(index)
    hours = pd.date_range(index[0].floor(_HOUR), index[-1].floor(_HOUR), freq=_HOUR)
    rows = []
    for hour in hours:
        run = weather.at(hour.to_pydatetime())
        if hour not in run.index:
            raise InputError("weather", f"the run available at {hour.isoformat()} misses it")
        rows.append(run.loc[hour])
    frame = pd.DataFrame(rows, index=hours)
    hourly = prior(frame)
    return hourly.reindex(index, method="ffill").rename("pv_prior_kw")


def training_mask(issued_at: pd.Series, targets: pd.DatetimeIndex, now: datetime) -> np.ndarray:
    """Return the rows a forecaster retrained at ``now`` may learn from.

    Parameters
    ----------
    issued_at : pandas.Series
        Issue time of each row (UTC timestamps).
    targets : pandas.DatetimeIndex
        Target slot of each row (UTC).
    now : datetime
        Retraining time (tz-aware).

    Returns
    -------
    numpy.ndarray of bool
        Rows issued before ``now`` whose target slot starts before ``now`` (its value
        is measured by then).
    """
    moment = pd.Timestamp(now).tz_convert("UTC")
    return np.asarray((issued_at.to_numpy() < moment) & (targets < moment), dtype=bool)


def retrain_times(issues: list[datetime], *, start: datetime, every: timedelta) -> list[datetime]:
    """Return the issues at which the forecaster is retrained.

    The first issue at or after ``start``, then the first at or after each previous
    retraining plus ``every``.
    """
    times: list[datetime] = []
    for issue in issues:
        if issue >= start and (not times or issue >= times[-1] + every):
            times.append(issue)
    return times


def issue_frames(
    inputs: EvaluationInputs, issues: list[datetime]
) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """Return each target's feature rows of every issue and what happened.

    Parameters
    ----------
    inputs : EvaluationInputs
        Measurements, forecasts and the prior.
    issues : list of datetime
        Issue times (tz-aware), e.g. :func:`daily_issues`.

    Returns
    -------
    dict
        ``"pv"`` and each load profile's name -> (feature rows of all issues, one per
        issue and target slot, with an ``issued_at`` column; the actual values [kW]).
    """
    site, index = inputs.site, inputs.pv_kw.index
    slots = slot_features(index, site=site)
    history = prior_history(inputs.weather, inputs.prior, index)
    parts: dict[str, list[pd.DataFrame]] = {"pv": [], **{n: [] for n in inputs.load_kw}}
    for issue in issues:
        targets = horizon_slots(issue, site=site)
        run = inputs.weather.at(issue)
        pv = build_pv_features(
            now=issue,
            index=targets,
            pv_kw=inputs.pv_kw,
            prior_history_kw=history,
            run=run,
            prior=inputs.prior,
            site=site,
            slots=slots,
        )
        parts["pv"].append(pv.assign(issued_at=pd.Timestamp(issue), actual=inputs.pv_kw))
        for name, load in inputs.load_kw.items():
            frame = build_load_features(
                now=issue, index=targets, load_kw=load, run=run, site=site, slots=slots
            )
            parts[name].append(frame.assign(issued_at=pd.Timestamp(issue), actual=load))
    frames = {}
    for name, chunks in parts.items():
        frame = pd.concat(chunks)
        frames[name] = (frame.drop(columns="actual"), frame["actual"])
    return frames


@dataclass(frozen=True, kw_only=True)
class Retrain:
    """One retraining of the walk-forward: when, how long, and what it chose."""

    at: str
    train_s: float
    used: str
    mode: str

    @property
    def label(self) -> str:
        """``used`` with the model's mode, e.g. ``model (residual)``."""
        return f"{self.used} ({self.mode})" if self.mode else self.used


def walk_forward(
    frame: pd.DataFrame,
    actual: pd.Series,
    *,
    target: Target,
    test_start: datetime,
    spec: EvaluationSpec,
    history_start: datetime,
    timezone: str,
) -> tuple[pd.DataFrame, list[Retrain]]:
    """Forecast every issue from ``test_start`` on, retraining on schedule.

    Parameters
    ----------
    frame : pandas.DataFrame
        Feature rows of all issues with an ``issued_at`` column (UTC index of targets).
    actual : pandas.Series
        What happened at each row. [kW]
    target : Target
        Load or PV.
    test_start : datetime
        First issue time scored (tz-aware).
    spec : EvaluationSpec
        Retraining interval and LightGBM settings.
    history_start : datetime
        First measurement.
    timezone : str
        The household's zone.

    Returns
    -------
    tuple of pandas.DataFrame and list of Retrain
        The scored rows (``issued_at``, the quantiles, ``baseline_kw``, ``actual_kw``,
        ``night``) and what each retraining chose, and how long it took.
    """
    issues = sorted({t.to_pydatetime() for t in frame["issued_at"]})
    retrains = retrain_times(issues, start=test_start, every=spec.retrain_every)
    if not retrains:
        raise InputError("test_start", "no issue in the test window")
    out, records = [], []
    for k, now in enumerate(retrains):
        until = retrains[k + 1] if k + 1 < len(retrains) else issues[-1] + timedelta(seconds=1)
        train = training_mask(frame["issued_at"], frame.index, now)
        started = time.perf_counter()
        corrector = fit_corrector(
            frame.loc[train],
            actual.loc[train],
            target=target,
            now=now,
            history_start=history_start,
            timezone=timezone,
            params=spec.params,
        )
        mode = str(corrector.validation.get("mode", "")) if corrector.model else ""
        records.append(
            Retrain(
                at=pd.Timestamp(now).isoformat(),
                train_s=time.perf_counter() - started,
                used=corrector.used.value,
                mode=mode,
            )
        )
        issued = frame["issued_at"]
        rows = (issued >= pd.Timestamp(now)) & (issued < pd.Timestamp(until))
        test = frame.loc[rows.to_numpy()]
        forecast = corrector.predict(test)
        forecast["issued_at"] = test["issued_at"].to_numpy()
        forecast["baseline_kw"] = test[REFERENCE_COLUMN[target]].to_numpy(float)
        forecast["actual_kw"] = actual.loc[rows.to_numpy()].to_numpy(float)
        forecast["night"] = test["night"].to_numpy() if "night" in test else 0
        out.append(forecast)
        logger.info("%s: retrained at %s: %s", target, now, records[-1])
    return pd.concat(out), records


@dataclass(frozen=True, kw_only=True)
class TargetScore:
    """The test-window scores of one target (units in the names)."""

    name: str
    baseline: str
    n_issues: int
    n_slots: int
    mae_p50_kw: float
    baseline_mae_kw: float
    mae_ratio: float
    pinball_kw: float
    coverage_pct: float
    coverage_slots: int
    used: dict[str, int]
    train_s_per_retrain: float
    house_model_mae_kw: float | None = None
    house_model_ratio: float | None = None


def house_model_mae(inputs: EvaluationInputs, forecast: pd.DataFrame) -> float | None:
    """Return the MAE of the house's own PV model on each scored issue's forecast weather.

    Parameters
    ----------
    inputs : EvaluationInputs
        ``house_pv`` is the model (``None``: nothing to score).
    forecast : pandas.DataFrame
        Scored PV rows (:func:`walk_forward`): ``issued_at`` and ``actual_kw`` on the
        target slots.

    Returns
    -------
    float or None
        Mean absolute error over the same rows as the P50's. [kW]
    """
    if inputs.house_pv is None:
        return None
    errors = []
    for issued, rows in forecast.groupby("issued_at", sort=True):
        run = inputs.weather.at(pd.Timestamp(issued).to_pydatetime())
        hourly = pd.Series(prior_on(inputs.house_pv, run, "house_pv"), index=run.index)
        values = hourly.reindex(rows.index.floor(_HOUR)).to_numpy(float)
        if np.isnan(values).any():
            raise InputError("house_pv", f"the run of {issued} does not cover its slots")
        errors.append(np.abs(values - rows["actual_kw"].to_numpy(float)))
    return float(np.mean(np.concatenate(errors)))


def _score(
    name: str, target: Target, forecast: pd.DataFrame, retrains: list[Retrain]
) -> TargetScore:
    """Return the scores of one target's test-window forecasts."""
    baseline = forecast["baseline_kw"].to_numpy(float)
    if np.isnan(baseline).any():
        raise InputError(f"{name}.baseline", "missing in the test window")
    actual = forecast["actual_kw"].to_numpy(float)
    quantiles = forecast.loc[:, list(QUANTILE_COLUMNS)].to_numpy(float)
    counted = forecast["night"].to_numpy() < 0.5 if target == Target.PV else slice(None)
    model_mae, baseline_mae = mae(quantiles[:, 1], actual), mae(baseline, actual)
    issues = forecast.drop_duplicates("issued_at")
    return TargetScore(
        name=name,
        baseline="physics prior" if target == Target.PV else "same slot, 7-day mean",
        n_issues=len(issues),
        n_slots=len(forecast),
        mae_p50_kw=model_mae,
        baseline_mae_kw=baseline_mae,
        mae_ratio=model_mae / baseline_mae if baseline_mae > 0.0 else float("nan"),
        pinball_kw=pinball_loss(quantiles, actual, levels=QUANTILES),
        coverage_pct=100.0
        * coverage_frac(quantiles[counted, 0], quantiles[counted, 2], actual[counted]),
        coverage_slots=int(np.size(actual[counted])),
        used=dict(Counter(r.label for r in retrains)),
        train_s_per_retrain=float(np.mean([r.train_s for r in retrains])),
    )


@dataclass(frozen=True, kw_only=True)
class EvaluationReport:
    """The evaluation's scores, window and timings."""

    scores: tuple[TargetScore, ...]
    test_start: str
    test_end: str
    n_retrains: int
    issue_time: str
    features_s: float
    runtime_s: float
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        document = asdict(self)
        document["scores"] = [asdict(s) for s in self.scores]
        return document


def run_evaluation(
    inputs: EvaluationInputs, spec: EvaluationSpec | None = None, **info: Any
) -> EvaluationReport:
    """Run the walk-forward evaluation of PV and of every load profile.

    Parameters
    ----------
    inputs : EvaluationInputs
        Measurements, forecasts and the prior.
    spec : EvaluationSpec, optional
        Test window, retraining and LightGBM settings.
    **info
        Recorded in the report as given (e.g. area, year, seed).

    Returns
    -------
    EvaluationReport
    """
    spec = spec or EvaluationSpec()
    started = time.perf_counter()
    index, site = inputs.pv_kw.index, inputs.site
    issues = daily_issues(index, site=site, issue_time=spec.issue_time)
    end_local = (index[-1] + pd.Timedelta(SLOT)).tz_convert(site.zone).normalize()
    test_start = (end_local - pd.DateOffset(months=spec.test_months)).tz_convert("UTC")
    frames = issue_frames(inputs, issues)
    features_s = time.perf_counter() - started
    scores, n_retrains = [], 0
    for name, (frame, actual) in frames.items():
        target = Target.PV if name == "pv" else Target.LOAD
        forecast, retrains = walk_forward(
            frame,
            actual,
            target=target,
            test_start=test_start.to_pydatetime(),
            spec=spec,
            history_start=index[0].to_pydatetime(),
            timezone=site.timezone,
        )
        label = "pv" if target == Target.PV else f"load {name}"
        score = _score(label, target, forecast, retrains)
        house = house_model_mae(inputs, forecast) if target == Target.PV else None
        if house is not None:
            ratio = house / score.baseline_mae_kw if score.baseline_mae_kw > 0 else float("nan")
            score = replace(score, house_model_mae_kw=house, house_model_ratio=ratio)
        scores.append(score)
        n_retrains = len(retrains)
    return EvaluationReport(
        scores=tuple(scores),
        test_start=test_start.isoformat(),
        test_end=(index[-1] + pd.Timedelta(SLOT)).isoformat(),
        n_retrains=n_retrains,
        issue_time=spec.issue_time.isoformat(timespec="minutes"),
        features_s=features_s,
        runtime_s=time.perf_counter() - started,
        info={"timezone": site.timezone, **info},
    )


def print_evaluation(report: EvaluationReport, console: Console | None = None) -> None:
    """Print the report as a table (rich)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    zone = str(report.info.get("timezone", "UTC"))
    start, end = (
        pd.Timestamp(t).tz_convert(zone).date().isoformat()
        for t in (report.test_start, report.test_end)
    )
    console.print(
        f"[bold]Aurora walk-forward[/bold]: test {start} to {end} (exclusive), issued daily "
        f"at {report.issue_time} local for the rest of today and tomorrow, "
        f"{report.n_retrains} retrains"
    )
    table = Table(box=box.SIMPLE, show_header=True)
    table.add_column("target")
    for column in ("P50 MAE kW", "baseline kW", "ratio", "pinball kW", "P10-P90 %", "fit s"):
        table.add_column(column, justify="right")
    for s in report.scores:
        table.add_row(
            s.name,
            f"{s.mae_p50_kw:.4f}",
            f"{s.baseline_mae_kw:.4f}",
            f"{s.mae_ratio:.3f}",
            f"{s.pinball_kw:.4f}",
            f"{s.coverage_pct:.1f}",
            f"{s.train_s_per_retrain:.1f}",
        )
    console.print(table)
    for s in report.scores:
        used = ", ".join(f"{k} x{v}" for k, v in s.used.items())
        console.print(f"{s.name}: baseline = {s.baseline}; used {used}")
        if s.house_model_mae_kw is not None:
            console.print(
                f"{s.name}: the house's own PV model on the same forecast weather (the test "
                f"bed's truth, unknown to Aurora): MAE {s.house_model_mae_kw:.4f} kW, ratio "
                f"{s.house_model_ratio:.3f}: the most that knowing the house can gain"
            )
    console.print(
        f"PV coverage over daylight slots; features {report.features_s:.0f} s, "
        f"total {report.runtime_s:.0f} s"
    )
