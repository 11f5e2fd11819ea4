r"""The Analyst: each local day against its forecasts and plans, and the forecasts' hourly bias.

The Learning Engine's measuring half (Reflex, :mod:`darkstar.learning.reflex`, is the
tuning half). It only reads the learning store's history -- observations, plans and
forecasts as issued -- and writes its results to ``learning_daily_metrics``
(:mod:`darkstar.learning.store.daily`):

:func:`compute_day`
    One local day as :class:`~darkstar.learning.store.daily.DayMetrics`. Its bounds are
    local midnights (:func:`local_day_bounds`), so a DST change day has 23 or 25 hours.
    Over the observed slots :math:`s` with a forecast issued at or before their start
    (:func:`~darkstar.learning.store.as_issued.read_pv_as_issued`, P50, before
    ``pv_confidence_percent`` scales it), with :math:`e_s = f_s - a_s` [kWh per slot]:

    .. math:: \mathrm{MAE} = \frac{1}{n}\sum_s |e_s|, \qquad
              \mathrm{bias} = \frac{1}{n}\sum_s e_s

    for PV and load alike (positive bias: the forecast was too high). Costs and the realised
    battery efficiency are :func:`~darkstar.learning.store.repository.daily_metrics`'s. The
    SoC tracking error is the mean :math:`|SoC^{plan}_s - SoC^{obs}_s|` at the end of the
    slots a plan covered and an SoC reading exists for (the latest plan's
    ``projected_soc_percent`` is the SoC at the slot's end). Low-SoC events are Reflex's
    (:mod:`darkstar.learning.reflex.signals`): evening slots (``SAFETY_EVENING_HOURS``,
    local) that ended at or below ``min_soc_percent + SAFETY_LOW_SOC_MARGIN_PERCENT``,
    counted per slot here. Every metric without data is ``None``, never 0.
:func:`hourly_bias_from` / :func:`read_hourly_bias`
    Mean forecast - actual *power* per local hour of day over the
    :data:`ANALYST_BIAS_WINDOW_DAYS` before ``now``, PV and load, with the sample counts:
    :math:`b_h = \frac{1}{n_h}\sum_{s \in h} e_s / \Delta t_s` [kW]. The planner's overlay
    (:mod:`darkstar.planner.strategy.overlays`) subtracts it from new forecasts.
:func:`run_analyst`
    Recomputes and upserts the :data:`ANALYST_BACKFILL_DAYS` last completed local days
    (late observations change them) and measures the hourly bias.

Reads raise :class:`~darkstar.learning.store.StoreError`; the write of the days never
raises on a database error (:class:`AnalystReport` says so instead).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from darkstar.errors import InputError
from darkstar.learning.recorder import SLOT
from darkstar.learning.reflex.signals import SAFETY_EVENING_HOURS, SAFETY_LOW_SOC_MARGIN_PERCENT
from darkstar.learning.store.as_issued import read_load_as_issued, read_pv_as_issued
from darkstar.learning.store.daily import DayMetrics, write_daily_metrics
from darkstar.learning.store.repository import daily_metrics, read_plan_vs_actual
from darkstar.planner.strategy.overlays import HourlyBias, hourly_bias

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.learning.store import Store

__all__ = [
    "ANALYST_BACKFILL_DAYS",
    "ANALYST_BIAS_WINDOW_DAYS",
    "AnalystReport",
    "BiasSample",
    "DayMetrics",
    "HourlyBias",
    "compute_day",
    "hourly_bias_from",
    "local_day_bounds",
    "read_hourly_bias",
    "run_analyst",
]

logger = logging.getLogger(__name__)

ANALYST_BACKFILL_DAYS: Final = 7
"""Completed local days the Analyst recomputes on every run [days]: observations
backfilled after an outage of up to a week still reach their days' rows."""

ANALYST_BIAS_WINDOW_DAYS: Final = 14
"""Window of the hourly bias [days]: two weeks of weather, as Reflex's PV bias."""

_HOURS_PER_DAY: Final = 24
_SECONDS_PER_HOUR: Final = 3600.0


def _check_aware(moment: datetime, field: str) -> None:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InputError(field, f"{moment!r} must be a tz-aware datetime")


def _check_day(day: date, field: str = "day") -> None:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InputError(field, f"expected a date, got {day!r}")


def _check_days(count: int, field: str) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(field, f"must be a whole number of days >= 1, got {count!r}")


def _zone_name(tz: tzinfo) -> str:
    """Return the IANA key of a ``ZoneInfo``, else the zone's own name (``UTC``)."""
    key = getattr(tz, "key", None)
    return str(key) if key else str(tz)


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a local day: its midnight and the next one.

    A DST change day is 23 or 25 hours long; a midnight the change skips maps to the
    change itself.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> start, end = local_day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Stockholm"))
    >>> start.isoformat(), end - start
    ('2026-03-28T23:00:00+00:00', datetime.timedelta(seconds=82800))
    """
    _check_day(day)
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return start, end


def _mean_errors(errors: Sequence[float]) -> tuple[float | None, float | None]:
    """``(MAE, bias)`` of forecast - actual errors; ``(None, None)`` without any."""
    if not errors:
        return None, None
    return sum(abs(e) for e in errors) / len(errors), sum(errors) / len(errors)


def _check_min_soc(min_soc_percent: float | None) -> None:
    if min_soc_percent is not None and not 0.0 <= min_soc_percent <= 100.0:  # NaN fails too
        raise InputError("min_soc_percent", f"must be in [0, 100], got {min_soc_percent}")


def compute_day(
    store: Store,
    *,
    day: date,
    tz: tzinfo,
    min_soc_percent: float | None = None,
    computed_at: datetime | None = None,
) -> DayMetrics:
    """Measure one local day on the store's history (reads only).

    Parameters
    ----------
    store : Store
        The learning store.
    day : date
        The local date; its slots are those starting from its midnight up to the next
        (:func:`local_day_bounds`). A day still running gives the metrics so far.
    tz : tzinfo
        The house's local time.
    min_soc_percent : float, optional
        The battery's minimum SoC [%] (``battery.min_soc_percent``), for the low-SoC
        events; without it ``low_soc_events`` is ``None``.
    computed_at : datetime, optional
        The time recorded as ``computed_at`` (tz-aware); default: now (UTC).

    Returns
    -------
    DayMetrics
        The day's metrics (module docstring); ``None`` for a metric without data.

    Raises
    ------
    InputError
        For a ``day`` that is not a date, a ``min_soc_percent`` outside [0, 100] or a naive
        ``computed_at``.
    StoreError
        When the store cannot be read.
    """
    _check_min_soc(min_soc_percent)
    at = datetime.now(UTC) if computed_at is None else computed_at
    _check_aware(at, "computed_at")
    start, end = local_day_bounds(day, tz)
    costs = daily_metrics(store, day_start=start, day_end=end)
    pv = read_pv_as_issued(store, start=start, end=end)
    load = read_load_as_issued(store, start=start, end=end)
    rows = read_plan_vs_actual(store, start=start, end=end)
    pv_mae, pv_bias = _mean_errors([p.pv_forecast_kwh - p.pv_kwh for p in pv])
    load_mae, load_bias = _mean_errors([p.load_forecast_kwh - p.load_kwh for p in load])
    soc_errors = [
        abs(row.planned.projected_soc_percent - row.observed.soc_end_percent)
        for row in rows
        if row.planned is not None
        and row.observed is not None
        and row.observed.soc_end_percent is not None
    ]
    evening_h0, evening_h1 = SAFETY_EVENING_HOURS
    evening_socs = [
        row.observed.soc_end_percent
        for row in rows
        if row.observed is not None
        and row.observed.soc_end_percent is not None
        and evening_h0 <= row.slot_start.astimezone(tz).hour < evening_h1
    ]
    low_soc_events = None
    if min_soc_percent is not None and evening_socs:
        threshold = min_soc_percent + SAFETY_LOW_SOC_MARGIN_PERCENT
        low_soc_events = sum(1 for soc in evening_socs if soc <= threshold)
    observed = costs.observed_slots > 0
    return DayMetrics(
        day=day,
        timezone=_zone_name(tz),
        observed_slots=costs.observed_slots,
        matched_slots=costs.matched_slots,
        forecast_slots=len(pv),
        pv_mae_kwh=pv_mae,
        pv_bias_kwh=pv_bias,
        load_mae_kwh=load_mae,
        load_bias_kwh=load_bias,
        planned_cost_sek=costs.planned_cost_sek,
        actual_cost_sek=costs.actual_cost_sek if observed else None,
        cost_deviation_sek=costs.cost_deviation_sek,
        battery_efficiency_realized=costs.battery_efficiency_realized,
        soc_tracking_error_percent=sum(soc_errors) / len(soc_errors) if soc_errors else None,
        low_soc_events=low_soc_events,
        computed_at=at,
    )


@dataclass(frozen=True, kw_only=True)
class BiasSample:
    """One observed slot with the PV and load forecast as issued [kWh per slot].

    Attributes
    ----------
    slot_start : datetime
        The slot's start (tz-aware).
    slot_duration : timedelta
        The slot's length (> 0): turns its energies into mean powers.
    pv_forecast_kwh, pv_kwh : float
        PV P50 as issued and observed PV [kWh].
    load_forecast_kwh, load_kwh : float
        Load P50 as issued and observed load [kWh].
    """

    slot_start: datetime
    slot_duration: timedelta
    pv_forecast_kwh: float
    pv_kwh: float
    load_forecast_kwh: float
    load_kwh: float


def _check_sample(sample: BiasSample, index: int) -> None:
    where = f"pairs[{index}]"
    _check_aware(sample.slot_start, f"{where}.slot_start")
    if not sample.slot_duration > timedelta(0):
        raise InputError(f"{where}.slot_duration", f"must be > 0, got {sample.slot_duration}")
    for name in ("pv_forecast_kwh", "pv_kwh", "load_forecast_kwh", "load_kwh"):
        if not math.isfinite(getattr(sample, name)):
            raise InputError(f"{where}.{name}", "must be finite")


def hourly_bias_from(pairs: Sequence[BiasSample], *, tz: tzinfo, window_days: int) -> HourlyBias:
    r"""Reduce observed slots with their forecasts to the mean error per local hour of day.

    Parameters
    ----------
    pairs : Sequence[BiasSample]
        The slots (any order); each counts in the local hour its start falls in.
    tz : tzinfo
        The house's local time (hour of day).
    window_days : int
        The window the pairs were read over [days], kept in the result.

    Returns
    -------
    HourlyBias
        Per hour :math:`h` (0-23), :math:`b_h = \frac{1}{n_h}\sum_{s \in h}
        (f_s - a_s) / \Delta t_s` [kW] for PV and load, and :math:`n_h`; an hour without
        a sample has bias 0.0 and 0 samples.

    Raises
    ------
    InputError
        For ``window_days < 1``, a naive slot start, a slot duration <= 0 or a non-finite
        energy, naming the pair.

    Examples
    --------
    >>> pair = BiasSample(slot_start=datetime(2026, 6, 1, 10, tzinfo=UTC),
    ...     slot_duration=timedelta(minutes=15), pv_forecast_kwh=1.0, pv_kwh=0.75,
    ...     load_forecast_kwh=0.25, load_kwh=0.25)
    >>> bias = hourly_bias_from([pair], tz=UTC, window_days=14)
    >>> bias.pv_kw[10], bias.pv_samples[10], bias.pv_samples[11]
    (1.0, 1, 0)
    """
    _check_days(window_days, "window_days")
    hours, pv_kw, pv_fc_kw, load_kw, load_fc_kw = [], [], [], [], []
    for index, sample in enumerate(pairs):
        _check_sample(sample, index)
        slot_h = sample.slot_duration.total_seconds() / _SECONDS_PER_HOUR
        hours.append(sample.slot_start.astimezone(tz).hour)
        pv_fc_kw.append(sample.pv_forecast_kwh / slot_h)
        pv_kw.append(sample.pv_kwh / slot_h)
        load_fc_kw.append(sample.load_forecast_kwh / slot_h)
        load_kw.append(sample.load_kwh / slot_h)
    return hourly_bias(
        np.array(hours, dtype=np.int64),
        pv_forecast_kw=np.array(pv_fc_kw, dtype=float),
        pv_actual_kw=np.array(pv_kw, dtype=float),
        load_forecast_kw=np.array(load_fc_kw, dtype=float),
        load_actual_kw=np.array(load_kw, dtype=float),
        window_days=window_days,
    )


def _slot_duration(starts: Sequence[datetime]) -> timedelta:
    """Return the slot length: the shortest gap between paired slot starts.

    With fewer than two slots (no gap to measure) it is the recorder's
    :data:`~darkstar.learning.recorder.SLOT`, the grid every observation is recorded on.
    """
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False) if b > a]
    return min(gaps) if gaps else SLOT


def read_hourly_bias(
    store: Store, *, now: datetime, tz: tzinfo, window_days: int = ANALYST_BIAS_WINDOW_DAYS
) -> HourlyBias:
    """Measure the :class:`HourlyBias` over the observed slots in ``[now - window, now)``.

    Each slot is paired with the PV and load P50 of the latest forecast issued at or before
    its start; slots without one are left out. The slot length is the shortest gap
    between the paired slots (the recorder's 15 minutes when there is only one).

    Raises
    ------
    InputError
        For a naive ``now`` or ``window_days < 1``.
    StoreError
        When the store cannot be read.
    """
    _check_aware(now, "now")
    _check_days(window_days, "window_days")
    start = now - timedelta(days=window_days)
    pv = read_pv_as_issued(store, start=start, end=now)
    load = {p.slot_start: p for p in read_load_as_issued(store, start=start, end=now)}
    step = _slot_duration([p.slot_start for p in pv])
    pairs = [
        BiasSample(
            slot_start=p.slot_start,
            slot_duration=step,
            pv_forecast_kwh=p.pv_forecast_kwh,
            pv_kwh=p.pv_kwh,
            load_forecast_kwh=load[p.slot_start].load_forecast_kwh,
            load_kwh=load[p.slot_start].load_kwh,
        )
        for p in pv
        if p.slot_start in load  # both come from the same rows; a write between the reads
    ]
    return hourly_bias_from(pairs, tz=tz, window_days=window_days)


@dataclass(frozen=True, kw_only=True)
class AnalystReport:
    """What one run of the Analyst measured and kept.

    Attributes
    ----------
    now : datetime
        The analysis time.
    days : tuple of DayMetrics
        The completed local days with at least one observation, oldest first.
    empty_days : tuple of date
        The days of the backfill window without any observation (not stored).
    bias : HourlyBias
        The forecasts' bias per local hour over the window before ``now``.
    write_error : str or None
        Why the days could not be stored; ``None`` when they were.
    """

    now: datetime
    days: tuple[DayMetrics, ...]
    empty_days: tuple[date, ...]
    bias: HourlyBias
    write_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``now``, ``days``, ``empty_days``, ``bias``, ``write_error``."""
        return {
            "now": self.now.isoformat(),
            "days": [d.to_dict() for d in self.days],
            "empty_days": [d.isoformat() for d in self.empty_days],
            "bias": self.bias.to_dict(),
            "write_error": self.write_error,
        }


def run_analyst(
    store: Store,
    *,
    now: datetime,
    tz: tzinfo,
    backfill_days: int = ANALYST_BACKFILL_DAYS,
    min_soc_percent: float | None = None,
) -> AnalystReport:
    """Recompute and keep the last completed local days, and measure the hourly bias.

    Parameters
    ----------
    store : Store
        The learning store; the days go to ``learning_daily_metrics``.
    now : datetime
        The analysis time, tz-aware: the days that ended at or before it count (the wall
        clock on a real home, the simulated time on the simulated one).
    tz : tzinfo
        The house's local time (day boundaries, hours of day).
    backfill_days : int, default :data:`ANALYST_BACKFILL_DAYS`
        How many completed days, back from yesterday (local), are recomputed [days].
    min_soc_percent : float, optional
        ``battery.min_soc_percent`` [%], for the low-SoC events (``None`` without it).

    Returns
    -------
    AnalystReport
        The days with observations (upserted in one transaction; ``computed_at`` is
        ``now``), the days without any, the hourly bias over
        :data:`ANALYST_BIAS_WINDOW_DAYS`, and the write error if the days were not stored.

    Raises
    ------
    InputError
        For a naive ``now``, ``backfill_days < 1`` or a ``min_soc_percent`` outside
        [0, 100].
    StoreError
        When the store cannot be read (a failed write is reported, never raised).
    """
    _check_aware(now, "now")
    _check_days(backfill_days, "backfill_days")
    _check_min_soc(min_soc_percent)
    today = now.astimezone(tz).date()  # the last completed day is always yesterday
    window = [today - timedelta(days=k) for k in range(backfill_days, 0, -1)]
    measured = [
        compute_day(store, day=d, tz=tz, min_soc_percent=min_soc_percent, computed_at=now)
        for d in window
    ]
    days = tuple(m for m in measured if m.observed_slots > 0)
    empty = tuple(m.day for m in measured if m.observed_slots == 0)
    write_error = None
    if not write_daily_metrics(store, days):
        write_error = store.last_write_error or "the daily metrics could not be written"
        logger.error("Analyst: %d days not stored: %s", len(days), write_error)
    bias = read_hourly_bias(store, now=now, tz=tz)
    logger.info(
        "Analyst at %s: %d days measured, %d without observations",
        now.isoformat(),
        len(days),
        len(empty),
    )
    return AnalystReport(now=now, days=days, empty_days=empty, bias=bias, write_error=write_error)
