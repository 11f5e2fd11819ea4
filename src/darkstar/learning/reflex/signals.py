r"""Reflex's four signals, measured on the learning store's history.

Each ``read_*_signal`` reads the store (through :mod:`darkstar.learning.store`, which owns
the SQL) over a window ending at ``now`` and reduces it with a pure ``*_signal_from``
function, so the arithmetic is testable on hand-made slots. Windows end at ``now`` (the
analysis time: the wall clock on a real home, the simulated time on the simulated one).

``safety`` -- evening low-SoC days [days]
    A local day has an *evening low-SoC event* when a slot starting in
    :data:`SAFETY_EVENING_HOURS` (16-20 h local) ended with the SoC at or below
    ``min_soc_percent + SAFETY_LOW_SOC_MARGIN_PERCENT``. Counted over the last
    :data:`SAFETY_WINDOW_DAYS` complete evenings; the *clean streak* is the number of
    consecutive complete evenings, back from the latest, that were observed (an SoC
    reading in at least :data:`SAFETY_MIN_EVENING_HOURS` of its hours) without an event.
``confidence`` -- PV bias over :data:`CONFIDENCE_WINDOW_DAYS` [fraction]
    .. math:: b = \frac{\sum_s pv_s}{\sum_s pv^{P50}_s} - 1

    over the observed slots, with each slot's P50 from the latest forecast issued at or
    before its start (:func:`~darkstar.learning.store.as_issued.read_pv_as_issued`): the
    raw forecast the plan was made on, before ``pv_confidence_percent`` scaled it (the
    plan's ``adjusted_pv_kwh`` carries that factor, so it would move with every change
    Reflex makes). Night slots add zero to both sums, so this is the daylight-energy ratio.
    ``None`` with fewer than :data:`CONFIDENCE_MIN_PV_DAYS` days forecast to make at least
    :data:`CONFIDENCE_MIN_DAY_FORECAST_KWH`.
``roi`` -- arbitrage profit per cycle over :data:`ROI_WINDOW_DAYS` [SEK per full cycle]
    The battery's value is what the metered slots would have cost without it minus what
    they cost: per slot, the grid exchange without the battery is
    :math:`n'_s = imp_s - exp_s - ch_s + dis_s` [kWh] at the slot's prices, so

    .. math:: V = \sum_s \big(p^{imp}_s \max(n'_s, 0) - p^{exp}_s \max(-n'_s, 0)\big)
              - \sum_s \big(p^{imp}_s\, imp_s - p^{exp}_s\, exp_s\big)

    (PV shifting counts: storing PV instead of exporting it is arbitrage between the export
    and the import price). Full cycles are :math:`N = \sum_s dis_s / C` with the configured
    capacity :math:`C`; the profit per cycle is :math:`V / N`.
``capacity`` -- realised capacity over :data:`CAPACITY_WINDOW_DAYS` [kWh]
    Over *discharge episodes* -- runs of adjacent slots without net charging -- at least
    :data:`CAPACITY_MIN_DEPTH_PERCENT` deep, the SoC energy that left the battery over the
    SoC it lost:

    .. math:: \hat C = \frac{\sum_e \sum_{s \in e} (dis_s / \eta_d - ch_s\, \eta_c)}
                            {\sum_e (SoC^{start}_e - SoC^{end}_e) / 100}

    with the configured efficiencies (without :math:`\eta_d` a healthy battery would read
    5 % small). ``None`` with fewer than :data:`CAPACITY_MIN_EPISODES` episodes.

Evidence before a key's last applied change is not counted again (``since``) for the two
step rules (safety, ROI): the step was the answer to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError
from darkstar.learning.store.as_issued import PvAsIssued, read_pv_as_issued
from darkstar.learning.store.repository import ObservedSlot, read_observations

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.learning.store import Store

__all__ = [
    "CAPACITY_IDLE_KWH",
    "CAPACITY_MIN_DEPTH_PERCENT",
    "CAPACITY_MIN_EPISODES",
    "CAPACITY_WINDOW_DAYS",
    "CONFIDENCE_MIN_DAY_FORECAST_KWH",
    "CONFIDENCE_MIN_PV_DAYS",
    "CONFIDENCE_WINDOW_DAYS",
    "ROI_WINDOW_DAYS",
    "SAFETY_EVENING_HOURS",
    "SAFETY_LOW_SOC_MARGIN_PERCENT",
    "SAFETY_MIN_EVENING_HOURS",
    "SAFETY_STREAK_LOOKBACK_DAYS",
    "SAFETY_WINDOW_DAYS",
    "CapacitySignal",
    "ConfidenceSignal",
    "RoiSignal",
    "SafetySignal",
    "capacity_signal_from",
    "confidence_signal_from",
    "read_capacity_signal",
    "read_confidence_signal",
    "read_roi_signal",
    "read_safety_signal",
    "roi_signal_from",
    "safety_signal_from",
]

SAFETY_WINDOW_DAYS = 30
"""Evenings counted for the raise rule [days] (the seed's 30 days)."""

SAFETY_EVENING_HOURS = (16, 20)
"""Local clock hours ``[start, end)`` of the evening peak the battery must last through."""

SAFETY_LOW_SOC_MARGIN_PERCENT = 2.0
"""An SoC this close above ``min_soc_percent`` counts as empty [percentage points]: the
floor is where the BMS stops, and SoC sensors report in 1 % steps, so ``<= floor + 1`` would
miss a battery parked one step above it."""

SAFETY_MIN_EVENING_HOURS = 2
"""An evening counts as observed (for the clean streak) with an SoC reading in at least
this many of its four hours; missing data is never evidence of a clean evening."""

SAFETY_STREAK_LOOKBACK_DAYS = 90
"""How far back the clean streak is counted [days]: past the relaxation rule's 60 days."""

CONFIDENCE_WINDOW_DAYS = 14
"""Window of the PV bias [days] (the seed's 14 days: two weeks of weather)."""

CONFIDENCE_MIN_DAY_FORECAST_KWH = 1.0
"""A day counts as a PV day when its forecast PV is at least this [kWh]: below it (snow,
winter, no PV configured) the ratio is noise."""

CONFIDENCE_MIN_PV_DAYS = 7
"""PV days needed in the window for a bias (half of it: one sunny and one grey week
would already show a systematic error)."""

ROI_WINDOW_DAYS = 30
"""Window of the arbitrage profit [days] (the seed's 30 days)."""

CAPACITY_WINDOW_DAYS = 30
"""Window of the capacity estimate [days] (the seed's 30 days)."""

CAPACITY_MIN_DEPTH_PERCENT = 30.0
"""Shallowest discharge episode used [percentage points]: a 1 % SoC step is then at most a
3.3 % error of that episode's estimate, and less once episodes are pooled."""

CAPACITY_MIN_EPISODES = 3
"""Deep episodes needed for an estimate: one episode can be one odd reading."""

CAPACITY_IDLE_KWH = 0.01
"""A slot whose charge exceeds its discharge by more than this ends an episode [kWh]
(10 Wh: meter rounding, not charging)."""

_SECONDS_PER_DAY = 86400.0


def _check_aware(moment: datetime, field: str) -> None:
    if moment.utcoffset() is None:
        raise InputError(field, f"{moment!r} must be tz-aware")


def _slot_length(slots: Sequence[ObservedSlot]) -> timedelta | None:
    """Return the shortest gap between consecutive slot starts (the slot length), if any."""
    gaps = [b.slot_start - a.slot_start for a, b in zip(slots, slots[1:], strict=False)]
    positive = [g for g in gaps if g > timedelta(0)]
    return min(positive) if positive else None


# --- safety -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SafetySignal:
    """Evening low-SoC days and the clean streak (see the module docstring).

    Attributes
    ----------
    evenings_observed : int
        Complete evenings in the window with enough SoC readings [days].
    low_soc_days : int
        Evenings in the window with an event [days].
    event_dates : tuple of date
        Their local dates, oldest first.
    clean_streak_days : int
        Consecutive observed evenings without an event, back from the latest [days].
    low_soc_threshold_percent : float
        The SoC at or below which a slot counts as empty [%].
    window_start : datetime
        Start of the evidence: ``now - 30 days`` or the last change, if later (UTC).
    """

    evenings_observed: int
    low_soc_days: int
    event_dates: tuple[date, ...]
    clean_streak_days: int
    low_soc_threshold_percent: float
    window_start: datetime

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers for the strategy log and the CLI."""
        return {
            "evenings_observed": self.evenings_observed,
            "low_soc_days": self.low_soc_days,
            "event_dates": [d.isoformat() for d in self.event_dates],
            "clean_streak_days": self.clean_streak_days,
            "low_soc_threshold_percent": self.low_soc_threshold_percent,
            "window_start": self.window_start.isoformat(),
        }


def _evening_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start_h, end_h = SAFETY_EVENING_HOURS
    return datetime.combine(day, time(start_h), tz), datetime.combine(day, time(end_h), tz)


def safety_signal_from(
    slots: Sequence[ObservedSlot],
    *,
    now: datetime,
    tz: tzinfo,
    min_soc_percent: float,
    since: datetime | None = None,
) -> SafetySignal:
    """Reduce observed slots (any order) to the :class:`SafetySignal` at ``now``.

    Only complete evenings (ended at or before ``now``) that started at or after ``since``
    count; the window holds the last :data:`SAFETY_WINDOW_DAYS` of them.
    """
    _check_aware(now, "now")
    threshold = min_soc_percent + SAFETY_LOW_SOC_MARGIN_PERCENT
    start_h, end_h = SAFETY_EVENING_HOURS
    hours: dict[date, set[int]] = defaultdict(set)
    low: set[date] = set()
    for slot in slots:
        local = slot.slot_start.astimezone(tz)
        if not start_h <= local.hour < end_h or slot.soc_end_percent is None:
            continue
        hours[local.date()].add(local.hour)
        if slot.soc_end_percent <= threshold:
            low.add(local.date())
    last = now.astimezone(tz).date()
    if _evening_bounds(last, tz)[1] > now:
        last -= timedelta(days=1)
    window_start = now - timedelta(days=SAFETY_WINDOW_DAYS)
    if since is not None:
        _check_aware(since, "since")
        window_start = max(window_start, since)

    def counts(day: date) -> bool:
        return _evening_bounds(day, tz)[0] >= window_start

    window = [last - timedelta(days=k) for k in range(SAFETY_WINDOW_DAYS)]
    window = [d for d in window if counts(d)]
    events = sorted(d for d in window if d in low)
    observed = [d for d in window if len(hours.get(d, ())) >= SAFETY_MIN_EVENING_HOURS]
    streak, day = 0, last
    streak_floor = now - timedelta(days=SAFETY_STREAK_LOOKBACK_DAYS)
    while _evening_bounds(day, tz)[0] >= max(streak_floor, since or streak_floor):
        if day in low or len(hours.get(day, ())) < SAFETY_MIN_EVENING_HOURS:
            break
        streak += 1
        day -= timedelta(days=1)
    return SafetySignal(
        evenings_observed=len(set(observed) | set(events)),
        low_soc_days=len(events),
        event_dates=tuple(events),
        clean_streak_days=streak,
        low_soc_threshold_percent=threshold,
        window_start=window_start,
    )


def read_safety_signal(
    store: Store,
    *,
    now: datetime,
    tz: tzinfo,
    min_soc_percent: float,
    since: datetime | None = None,
) -> SafetySignal:
    """Measure the :class:`SafetySignal` on the store's observations before ``now``.

    Reads :data:`SAFETY_STREAK_LOOKBACK_DAYS` of ``slot_observations`` (SoC at slot end).

    Raises
    ------
    StoreError
        When the store cannot be read.
    """
    _check_aware(now, "now")
    start = now - timedelta(days=SAFETY_STREAK_LOOKBACK_DAYS + 1)
    slots = read_observations(store, start=start, end=now)
    return safety_signal_from(slots, now=now, tz=tz, min_soc_percent=min_soc_percent, since=since)


# --- confidence ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConfidenceSignal:
    """PV observed vs forecast as issued over the window (see the module docstring).

    Attributes
    ----------
    pv_kwh, pv_forecast_kwh : float
        Observed and forecast PV energy of the paired slots [kWh].
    pv_days : int
        Local days forecast to make at least :data:`CONFIDENCE_MIN_DAY_FORECAST_KWH` [days].
    slots : int
        Slots paired with a forecast.
    bias_frac : float or None
        ``pv_kwh / pv_forecast_kwh - 1`` [fraction]; negative: the forecast was too high.
        ``None`` with too few PV days.
    """

    pv_kwh: float
    pv_forecast_kwh: float
    pv_days: int
    slots: int
    bias_frac: float | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers for the strategy log and the CLI."""
        return {
            "pv_kwh": round(self.pv_kwh, 3),
            "pv_forecast_kwh": round(self.pv_forecast_kwh, 3),
            "pv_days": self.pv_days,
            "slots": self.slots,
            "bias_frac": None if self.bias_frac is None else round(self.bias_frac, 4) + 0.0,
        }


def confidence_signal_from(pairs: Sequence[PvAsIssued], *, tz: tzinfo) -> ConfidenceSignal:
    """Reduce PV pairs (observed, forecast as issued) to the :class:`ConfidenceSignal`."""
    per_day: dict[date, float] = defaultdict(float)
    for pair in pairs:
        per_day[pair.slot_start.astimezone(tz).date()] += pair.pv_forecast_kwh
    pv_days = sum(1 for kwh in per_day.values() if kwh >= CONFIDENCE_MIN_DAY_FORECAST_KWH)
    actual = sum(p.pv_kwh for p in pairs)
    forecast = sum(p.pv_forecast_kwh for p in pairs)
    enough = pv_days >= CONFIDENCE_MIN_PV_DAYS and forecast > 0
    return ConfidenceSignal(
        pv_kwh=actual,
        pv_forecast_kwh=forecast,
        pv_days=pv_days,
        slots=len(pairs),
        bias_frac=actual / forecast - 1.0 if enough else None,
    )


def read_confidence_signal(store: Store, *, now: datetime, tz: tzinfo) -> ConfidenceSignal:
    """Measure the :class:`ConfidenceSignal` over the :data:`CONFIDENCE_WINDOW_DAYS` before ``now``.

    Raises
    ------
    StoreError
        When the store cannot be read.
    """
    _check_aware(now, "now")
    start = now - timedelta(days=CONFIDENCE_WINDOW_DAYS)
    return confidence_signal_from(read_pv_as_issued(store, start=start, end=now), tz=tz)


# --- ROI ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RoiSignal:
    """The battery's value and use over the window (see the module docstring).

    Attributes
    ----------
    value_sek : float
        Cost without the battery minus the actual cost [SEK].
    charge_kwh, discharge_kwh : float
        AC energy into and out of the battery [kWh].
    full_cycles : float
        ``discharge_kwh / capacity_kwh`` [cycles].
    observed_days : float
        Observed time in the window [days].
    window_start : datetime
        Start of the evidence: ``now - 30 days`` or the last change, if later (UTC).
    """

    value_sek: float
    charge_kwh: float
    discharge_kwh: float
    full_cycles: float
    observed_days: float
    window_start: datetime

    @property
    def profit_per_cycle_sek(self) -> float | None:
        """The battery's value per full cycle [SEK/cycle]; ``None`` without a cycle."""
        return self.value_sek / self.full_cycles if self.full_cycles > 0 else None

    @property
    def cycles_per_day(self) -> float | None:
        """Full cycles per observed day [1/day]; ``None`` without observed time."""
        return self.full_cycles / self.observed_days if self.observed_days > 0 else None

    @property
    def throughput_kwh(self) -> float:
        """Charge plus discharge: what the wear cost is paid on [kWh]."""
        return self.charge_kwh + self.discharge_kwh

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers for the strategy log and the CLI."""
        per_cycle, per_day = self.profit_per_cycle_sek, self.cycles_per_day
        return {
            "value_sek": round(self.value_sek, 3),
            "charge_kwh": round(self.charge_kwh, 3),
            "discharge_kwh": round(self.discharge_kwh, 3),
            "full_cycles": round(self.full_cycles, 3),
            "profit_per_cycle_sek": None if per_cycle is None else round(per_cycle, 3),
            "cycles_per_day": None if per_day is None else round(per_day, 3),
            "observed_days": round(self.observed_days, 2),
            "window_start": self.window_start.isoformat(),
        }


def roi_signal_from(
    slots: Sequence[ObservedSlot], *, capacity_kwh: float, window_start: datetime
) -> RoiSignal:
    """Reduce observed slots to the :class:`RoiSignal` (``capacity_kwh`` > 0 [kWh])."""
    if not capacity_kwh > 0:
        raise InputError("capacity_kwh", f"must be > 0, got {capacity_kwh}")
    value = 0.0
    for s in slots:
        net_kwh = s.grid_import_kwh - s.grid_export_kwh - s.battery_charge_kwh
        net_kwh += s.battery_discharge_kwh
        without = (
            max(net_kwh, 0.0) * s.import_price_sek_per_kwh
            - max(-net_kwh, 0.0) * s.export_price_sek_per_kwh
        )
        value += without - s.energy_cost_sek
    step = _slot_length(slots)
    observed_s = 0.0 if step is None else len(slots) * step.total_seconds()
    discharge = sum(s.battery_discharge_kwh for s in slots)
    return RoiSignal(
        value_sek=value,
        charge_kwh=sum(s.battery_charge_kwh for s in slots),
        discharge_kwh=discharge,
        full_cycles=discharge / capacity_kwh,
        observed_days=observed_s / _SECONDS_PER_DAY,
        window_start=window_start,
    )


def read_roi_signal(
    store: Store, *, now: datetime, capacity_kwh: float, since: datetime | None = None
) -> RoiSignal:
    """Measure the :class:`RoiSignal` over the :data:`ROI_WINDOW_DAYS` before ``now``.

    With ``since`` (the key's last change) the window starts there when that is later.

    Raises
    ------
    StoreError
        When the store cannot be read.
    """
    _check_aware(now, "now")
    start = now - timedelta(days=ROI_WINDOW_DAYS)
    if since is not None:
        _check_aware(since, "since")
        start = max(start, since)
    slots = read_observations(store, start=start, end=now)
    return roi_signal_from(slots, capacity_kwh=capacity_kwh, window_start=start)


# --- capacity -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CapacitySignal:
    """Deep discharge episodes and the capacity they imply (see the module docstring).

    Attributes
    ----------
    episodes : int
        Episodes at least :data:`CAPACITY_MIN_DEPTH_PERCENT` deep.
    shallow_episodes : int
        Episodes left out as too shallow.
    soc_energy_kwh : float
        SoC energy that left the battery over the deep episodes [kWh].
    depth_percent : float
        SoC they lost, summed [percentage points].
    capacity_kwh : float or None
        ``soc_energy_kwh / (depth_percent / 100)`` [kWh]; ``None`` with fewer than
        :data:`CAPACITY_MIN_EPISODES` episodes.
    """

    episodes: int
    shallow_episodes: int
    soc_energy_kwh: float
    depth_percent: float
    capacity_kwh: float | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers for the strategy log and the CLI."""
        return {
            "episodes": self.episodes,
            "shallow_episodes": self.shallow_episodes,
            "soc_energy_kwh": round(self.soc_energy_kwh, 3),
            "depth_percent": round(self.depth_percent, 2),
            "capacity_kwh": None if self.capacity_kwh is None else round(self.capacity_kwh, 3),
        }


def _segments(slots: Sequence[ObservedSlot]) -> list[list[ObservedSlot]]:
    """Split slots into runs of adjacent slots that all have an SoC reading."""
    step = _slot_length(slots)
    runs: list[list[ObservedSlot]] = []
    for slot in slots:
        if slot.soc_end_percent is None:
            runs.append([])
            continue
        if runs and runs[-1] and slot.slot_start - runs[-1][-1].slot_start == step:
            runs[-1].append(slot)
        else:
            runs.append([slot])
    return [r for r in runs if len(r) > 1]


def _episodes(
    run: Sequence[ObservedSlot], *, charge_efficiency: float, discharge_efficiency: float
) -> list[tuple[float, float]]:
    """``(soc_energy_kwh, depth_percent)`` of each episode in one run of adjacent slots."""
    found: list[tuple[float, float]] = []
    start_soc: float | None = None
    energy = end_soc = 0.0
    for before, slot in zip(run, run[1:], strict=False):
        charging = slot.battery_charge_kwh - slot.battery_discharge_kwh > CAPACITY_IDLE_KWH
        if charging:
            if start_soc is not None:
                found.append((energy, start_soc - end_soc))
            start_soc = None
            continue
        if start_soc is None:
            start_soc, energy = before.soc_end_percent, 0.0
        energy += slot.battery_discharge_kwh / discharge_efficiency
        energy -= slot.battery_charge_kwh * charge_efficiency
        end_soc = slot.soc_end_percent or 0.0
    if start_soc is not None:
        found.append((energy, start_soc - end_soc))
    return found


def capacity_signal_from(
    slots: Sequence[ObservedSlot], *, charge_efficiency: float, discharge_efficiency: float
) -> CapacitySignal:
    """Reduce observed slots (by slot start) to the :class:`CapacitySignal`.

    The efficiencies are the configured ones, in (0, 1].
    """
    for name, value in (("charge", charge_efficiency), ("discharge", discharge_efficiency)):
        if not 0 < value <= 1:
            raise InputError(f"{name}_efficiency", f"must be in (0, 1], got {value}")
    all_episodes = [
        episode
        for run in _segments(slots)
        for episode in _episodes(
            run, charge_efficiency=charge_efficiency, discharge_efficiency=discharge_efficiency
        )
        if episode[0] > 0 and episode[1] > 0
    ]
    deep = [e for e in all_episodes if e[1] >= CAPACITY_MIN_DEPTH_PERCENT]
    energy = sum(e[0] for e in deep)
    depth = sum(e[1] for e in deep)
    return CapacitySignal(
        episodes=len(deep),
        shallow_episodes=len(all_episodes) - len(deep),
        soc_energy_kwh=energy,
        depth_percent=depth,
        capacity_kwh=energy / (depth / 100.0) if len(deep) >= CAPACITY_MIN_EPISODES else None,
    )


def read_capacity_signal(
    store: Store, *, now: datetime, charge_efficiency: float, discharge_efficiency: float
) -> CapacitySignal:
    """Measure the :class:`CapacitySignal` over the :data:`CAPACITY_WINDOW_DAYS` before ``now``.

    Raises
    ------
    StoreError
        When the store cannot be read.
    """
    _check_aware(now, "now")
    start = now - timedelta(days=CAPACITY_WINDOW_DAYS)
    return capacity_signal_from(
        read_observations(store, start=start, end=now),
        charge_efficiency=charge_efficiency,
        discharge_efficiency=discharge_efficiency,
    )
