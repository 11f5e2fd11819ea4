"""Backfill: restore missing slot observations from the house's counter history.

When the agent was down, ``slot_observations`` has holes. :func:`backfill` finds them
(:func:`missing_slots`), fetches the counters' state history for each run of missing
slots (in chunks of at most 24 h, each with the state in effect at its start), computes
each slot's energy with :mod:`darkstar.learning.recorder` and records every complete slot
that has a price. Nothing is invented: a slot that cannot be measured is reported as a
gap with its reason.

Home Assistant keeps full state history only ``purge_keep_days`` (default 10), hourly
long-term statistics forever. For slots without any state history, the optional
``statistics`` source (the shape of ``HomeAssistantHouse.statistics``) gives each UTC
hour's ``change`` per counter. Minus the slots of that hour already known (stored, or
measured in this run), it is the energy of the hour's remaining slots:

* one remaining slot -> its energy exactly: recorded ("from statistics"; a remainder
  below zero by float round-off only, under 1e-9 kWh, is 0; a larger one means the stored
  slots and the statistics disagree, and the slot is a gap);
* two to four remaining slots -> only their total is known; it is **not** split into
  invented 15-minute values. The hour is reported as an :class:`HourlyTotal` (kWh per
  field, for display) and its slots as gaps "hourly total only from long-term statistics".

A house without a water-heater counter records ``water_heater_kwh = 0.0``, as the agent
does. One INFO line per backfill gives the numbers.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from darkstar.errors import InputError
from darkstar.house.interface import HouseError
from darkstar.house.units import UNIT_MAP, Quantity
from darkstar.learning.recorder import (
    SLOT,
    SlotEnergies,
    SlotGap,
    series_from_states,
    slot_energies,
)
from darkstar.learning.store.repository import read_plan_vs_actual, record_observation

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from darkstar.house.interface import House
    from darkstar.learning.store import Store
    from darkstar.service.world import HouseEntities

__all__ = [
    "HISTORY_CHUNK",
    "HOURLY_ONLY",
    "BackfillReport",
    "HourlyTotal",
    "StatisticsSource",
    "backfill",
    "missing_slots",
]

logger = logging.getLogger(__name__)

HISTORY_CHUNK = timedelta(hours=24)
"""Longest window asked of ``house.history`` in one call."""

_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WATER = "water_heater_kwh"
_ROUND_OFF_KWH = 1e-9  # float error of "hour change - known slots"; a real mismatch is larger
HOURLY_ONLY = "hourly total only from long-term statistics"
"""Gap reason of a slot whose energy is known only inside an :class:`HourlyTotal`."""


class _StatisticsRow(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def change(self) -> float | None: ...


class _StatisticSeries(Protocol):
    @property
    def unit(self) -> str | None: ...
    @property
    def rows(self) -> Sequence[_StatisticsRow]: ...


class StatisticsSource(Protocol):
    """Long-term statistics, shaped like ``HomeAssistantHouse.statistics``."""

    def __call__(
        self,
        statistic_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        period: Literal["hour"] = ...,
        types: Sequence[Literal["change"]] = ...,
    ) -> Mapping[str, _StatisticSeries]:
        """Return each id's rows for the periods starting in ``[start, end)``."""
        ...


@dataclass(frozen=True, kw_only=True)
class HourlyTotal:
    """The energy of an hour's unrecorded slots, known only as their total.

    ``energy_kwh`` is the hour's statistics ``change`` minus the slots of the hour already
    known, per observation field [kWh]; ``slot_starts`` are the slots it covers.
    """

    hour_start: datetime
    slot_starts: tuple[datetime, ...]
    energy_kwh: Mapping[str, float]


@dataclass(frozen=True, kw_only=True)
class BackfillReport:
    """What a backfill did over ``[start, end)``.

    ``slots_restored`` were measured from state history, ``slots_from_statistics`` derived
    exactly from hourly statistics; every other missing slot is in ``gaps`` with its reason.
    """

    start: datetime
    end: datetime
    slots_missing: int
    slots_restored: int
    slots_from_statistics: int
    gaps: tuple[tuple[datetime, str], ...]
    hourly_totals: tuple[HourlyTotal, ...] = ()

    @property
    def slots_flagged(self) -> int:
        """Missing slots left unrecorded (each in :attr:`gaps`)."""
        return len(self.gaps)

    def summary(self) -> str:
        """One line with the numbers, for logs and the UI."""
        return (
            f"backfill {self.start.isoformat()} .. {self.end.isoformat()}: "
            f"{self.slots_missing} missing, {self.slots_restored} restored from history, "
            f"{self.slots_from_statistics} from statistics, {self.slots_flagged} flagged "
            f"({len(self.hourly_totals)} hours with hourly totals only)"
        )


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(name, "naive datetime; pass a timezone-aware datetime")
    return value.astimezone(UTC)


def _grid(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Multiples of ``step`` since the Unix epoch in ``[start, end)``."""
    first = _EPOCH + -((_EPOCH - start) // step) * step
    return [first + k * step for k in range(max(0, -((first - end) // step)))]


def missing_slots(
    store: Store, *, start: datetime, end: datetime, slot: timedelta = SLOT
) -> list[datetime]:
    """Return the slot starts in ``[start, end)`` with no stored observation (UTC).

    Slots are on the grid of multiples of ``slot`` since the Unix epoch (quarter hours).

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``, or a non-positive ``slot``.
    StoreError
        When the store cannot be read.
    """
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if slot <= timedelta(0):
        raise InputError("slot", f"must be positive, got {slot}")
    stored = _observed(store, lo, hi)
    return [moment for moment in _grid(lo, hi, slot) if moment not in stored]


def _observed(store: Store, lo: datetime, hi: datetime) -> dict[datetime, dict[str, float]]:
    """Return the stored observations in ``[lo, hi)``: slot start -> kWh per field."""
    rows = read_plan_vs_actual(store, start=lo, end=hi)
    return {
        obs.slot_start: {
            f.name: getattr(obs, f.name) for f in fields(obs) if f.name.endswith("_kwh")
        }
        for obs in (row.observed for row in rows)
        if obs is not None
    }


def _runs(slots: Sequence[datetime], slot: timedelta) -> list[list[datetime]]:
    """Contiguous runs of slots, each cut to at most :data:`HISTORY_CHUNK`."""
    runs: list[list[datetime]] = []
    for moment in slots:
        run = runs[-1] if runs else None
        if run and moment == run[-1] + slot and moment + slot - run[0] <= HISTORY_CHUNK:
            run.append(moment)
        else:
            runs.append([moment])
    return runs


def _measure(
    house: House,
    counters: Mapping[str, str],
    slots: list[datetime],
    max_sample_age: timedelta | None,
    max_change_span: timedelta | None,
) -> tuple[list[SlotEnergies | SlotGap], set[datetime]]:
    """Measure one run of slots from state history; also return the slots it lacks.

    A slot lacks state history when no counter has a state at or before its start (HA
    purged it, or never recorded it).
    """
    try:
        states = house.history(list(counters.values()), start=slots[0], end=slots[-1] + SLOT)
    except HouseError as exc:
        return [SlotGap(s, f"history unavailable: {exc}") for s in slots], set()
    series = {name: series_from_states(eid, states.get(eid, [])) for name, eid in counters.items()}
    firsts = [s.samples[0].at for s in series.values() if s.samples]
    lacking = {moment for moment in slots if not firsts or moment < min(firsts)}
    measured = slot_energies(
        series, slots, max_sample_age=max_sample_age, max_change_span=max_change_span
    )
    return measured, lacking


def backfill(
    house: House,
    *,
    entities: HouseEntities,
    store: Store,
    start: datetime,
    end: datetime,
    prices_at: Callable[[datetime], tuple[float, float] | None],
    statistics: StatisticsSource | None = None,
    max_sample_age: timedelta | None = None,
    max_change_span: timedelta | None = None,
) -> BackfillReport:
    """Restore the missing slots of ``[start, end)`` from the house's counter history.

    Parameters
    ----------
    house : House
        Gives ``history`` (and ``now``, stamped as ``recorded_at``).
    entities : HouseEntities
        Which entity is which counter (``entities.counters()``).
    store : Store
        The learning store; only missing slots are written.
    start, end : datetime
        tz-aware; the range to check.
    prices_at : callable
        Slot start -> ``(import, export)`` [SEK/kWh], or ``None`` (the slot is a gap).
    statistics : StatisticsSource, optional
        Hourly long-term statistics for slots without state history.
    max_sample_age, max_change_span : timedelta, optional
        Passed to :func:`~darkstar.learning.recorder.slot_energies`.

    Returns
    -------
    BackfillReport
        Counts, gaps with reasons and hourly-only totals.

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the store cannot be read.
    """
    missing = missing_slots(store, start=start, end=end)
    counters = entities.counters()
    results: dict[datetime, SlotEnergies | SlotGap] = {}
    no_history: set[datetime] = set()
    for slots in _runs(missing, SLOT):
        measured_run, lacking = _measure(house, counters, slots, max_sample_age, max_change_span)
        results.update((r.slot_start, r) for r in measured_run)
        no_history |= lacking
    measured = {s: dict(r.energy_kwh) for s, r in results.items() if isinstance(r, SlotEnergies)}
    for energy in measured.values():
        energy.setdefault(_WATER, 0.0)
    gaps = {s: r.reason for s, r in results.items() if isinstance(r, SlotGap)}
    from_stats: dict[datetime, dict[str, float]] = {}
    hourly: list[HourlyTotal] = []
    if no_history:
        if statistics is None:
            gaps.update((s, "no state history and no long-term statistics") for s in no_history)
        else:
            from_stats, hourly = _from_statistics(
                statistics, counters, store, measured, no_history, gaps
            )
    restored = _record(store, house, prices_at, measured, gaps)
    derived = _record(store, house, prices_at, from_stats, gaps)
    report = BackfillReport(
        start=_utc(start, "start"),
        end=_utc(end, "end"),
        slots_missing=len(missing),
        slots_restored=restored,
        slots_from_statistics=derived,
        gaps=tuple(sorted(gaps.items())),
        hourly_totals=tuple(hourly),
    )
    logger.info("%s", report.summary())
    return report


def _record(
    store: Store,
    house: House,
    prices_at: Callable[[datetime], tuple[float, float] | None],
    energies: Mapping[datetime, Mapping[str, float]],
    gaps: dict[datetime, str],
) -> int:
    """Record each slot that has a finite price; the others become gaps. Returns the count."""
    stored = 0
    for moment, energy in sorted(energies.items()):
        prices = prices_at(moment)
        if prices is None or not all(math.isfinite(p) for p in prices):
            gaps[moment] = "no price" if prices is None else f"price not finite: {prices}"
            continue
        ok = record_observation(
            store,
            slot_start=moment,
            import_price_sek_per_kwh=prices[0],
            export_price_sek_per_kwh=prices[1],
            recorded_at=house.now,
            **energy,
        )
        if ok:
            stored += 1
        else:
            gaps[moment] = f"not stored: {store.last_write_error}"
    return stored


def _hour_change(series: _StatisticSeries | None, hour: datetime, entity_id: str) -> float | str:
    """Return the hour's ``change`` [kWh], or why it is unknown."""
    row = None if series is None else next((r for r in series.rows if r.start == hour), None)
    if series is None or row is None or row.change is None:
        return f"{entity_id}: no hourly statistics for {hour.isoformat()}"
    scale = UNIT_MAP[Quantity.ENERGY_KWH].get(series.unit or "")
    if scale is None:
        return f"{entity_id}: statistics unit {series.unit!r} is not energy"
    return scale(row.change)


def _from_statistics(
    statistics: StatisticsSource,
    counters: Mapping[str, str],
    store: Store,
    measured: Mapping[datetime, Mapping[str, float]],
    no_history: set[datetime],
    gaps: dict[datetime, str],
) -> tuple[dict[datetime, dict[str, float]], list[HourlyTotal]]:
    """Slots exactly known from hourly statistics, and hours known only as a total."""
    by_hour: dict[datetime, list[datetime]] = defaultdict(list)
    for moment in sorted(no_history):
        by_hour[moment - (moment - _EPOCH) % _HOUR].append(moment)
    lo, hi = min(by_hour), max(by_hour) + _HOUR
    known = {**_observed(store, lo, hi), **measured}
    ids = list(counters.values())
    try:
        fetched = statistics(ids, start=lo, end=hi, period="hour", types=("change",))
    except HouseError as exc:
        gaps.update((s, f"no state history; statistics unavailable: {exc}") for s in no_history)
        return {}, []
    exact: dict[datetime, dict[str, float]] = {}
    totals: list[HourlyTotal] = []
    for hour, mine in by_hour.items():
        grid = _grid(hour, hour + _HOUR, SLOT)
        unknown = tuple(s for s in grid if s not in known)
        remainder: dict[str, float] = {} if _WATER in counters else {_WATER: 0.0}
        problems = []
        for name, entity_id in counters.items():
            change = _hour_change(fetched.get(entity_id), hour, entity_id)
            if isinstance(change, str):
                problems.append(f"{name}: {change}")
                continue
            rest = change - sum(known[s][name] for s in grid if s in known)
            remainder[name] = 0.0 if -_ROUND_OFF_KWH < rest < 0.0 else rest
            if remainder[name] < 0:
                why = f"hourly change {change:.6g} kWh is less than its known slots"
                problems.append(f"{name}: {entity_id} {why}")
        if problems:
            gaps.update((s, "no state history; " + "; ".join(problems)) for s in mine)
        elif len(unknown) == 1:
            exact[unknown[0]] = remainder
            gaps.pop(unknown[0], None)
        else:
            totals.append(HourlyTotal(hour_start=hour, slot_starts=unknown, energy_kwh=remainder))
            gaps.update((s, HOURLY_ONLY) for s in mine)
    return exact, totals
