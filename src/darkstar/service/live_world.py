"""A real home in real time: any :class:`~darkstar.house.House`, live prices and forecasts.

:class:`LiveWorld` is the :class:`~darkstar.service.world.World` of ``darkstar serve``
against Home Assistant (:mod:`darkstar.backends` wires the adapters in):

* **time** is the wall clock, seen by the agent as the start of the current 15-minute
  slot (:class:`SlotClockHouse`); :meth:`LiveWorld.advance` waits for the slot's end and
  calls the executor tick every ``executor.interval_seconds`` meanwhile;
* **prices** come from the :class:`~darkstar.service.prices.PriceBook` (Nord Pool, cached);
* **PV** from a :class:`PvForecaster` (weather forecast through pvlib, with its fallbacks);
* **load** from the house's own history: the mean of the same local slot over the last
  :data:`LOAD_HISTORY_DAYS` days of recorded observations, a flat
  ``forecasting.default_load_kw`` where there is none yet, flagged as such;
* **Aurora** (optional, :class:`~darkstar.service.live_aurora.LiveAurora`): P10/P50/P90
  of PV and load from the stored weather runs and the house's history replace the two
  above (P50 as the forecast, the quantiles alongside) wherever Aurora covers a slot;
  the slots it does not cover (beyond the newest stored run, or all without one, or when
  it fails) keep the physics PV and the 7-day load baseline, reported as a fault;
* **learning**: slots the agent did not see whole (it started mid-slot, it was down) are
  backfilled from the house's counter history (:func:`darkstar.learning.backfill.backfill`)
  at the start and after every slot, never invented.

Every input says where it came from in :meth:`LiveWorld.inputs` (plan ``meta.inputs``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from darkstar.errors import InputError
from darkstar.learning.backfill import backfill, missing_slots
from darkstar.learning.store.repository import read_plan_vs_actual
from darkstar.planner.inputs.types import PlannerInput, PlannerState, SlotData
from darkstar.service.world import PvOutlook

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from zoneinfo import ZoneInfo

    from darkstar.house import EntityState, House, Unsubscribe
    from darkstar.learning.store import Store
    from darkstar.service.live_aurora import LiveAurora, LiveBand
    from darkstar.service.prices import PriceBook
    from darkstar.service.world import HouseEntities

__all__ = [
    "CLOCK_STEP_MIN",
    "LOAD_HISTORY_DAYS",
    "MAX_HORIZON",
    "ClockStep",
    "LiveWorld",
    "PvForecaster",
    "SlotClockHouse",
]

logger = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
_SLOT_H = SLOT.total_seconds() / 3600.0
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

LOAD_HISTORY_DAYS = 7
"""Days of recorded load behind the load forecast (same local slot, mean)."""

MAX_HORIZON = timedelta(hours=48)
"""Longest plan horizon (day-ahead prices reach at most about 35 h)."""

BACKFILL_WINDOW = timedelta(days=LOAD_HISTORY_DAYS)
"""How far back missing slots are looked for."""

CLOCK_STEP_MIN = timedelta(minutes=1)
"""A change of the wall clock against the monotonic clock this large is a step (NTP, a
hand-set clock, a resumed suspend), not drift or a late wake-up."""

CLOCK_STEP_SHOWN = timedelta(hours=1)
"""How long a clock step stays reported, in time of the (new) clock."""


@dataclass(frozen=True, kw_only=True)
class ClockStep:
    """The wall clock jumped: when (its reading just after) and by how much (+ forward)."""

    at: datetime
    delta: timedelta

    def describe(self, tz: ZoneInfo) -> str:
        """Say it in words, e.g. ``stepped back by 1 h at 13:07``."""
        seconds = abs(self.delta.total_seconds())
        hours, minutes = int(seconds // 3600), round(seconds % 3600 / 60)
        size = " ".join(
            part for part in (f"{hours} h" * (hours > 0), f"{minutes} min" * (minutes > 0)) if part
        )
        way = "forward" if self.delta > timedelta(0) else "back"
        return f"stepped {way} by {size or '1 min'} at {self.at.astimezone(tz).strftime('%H:%M')}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _slot(
    start: datetime,
    prices: tuple[float, float],
    *,
    pv_kwh: float,
    load_kwh: float,
    band: LiveBand | None,
    k: int,
) -> SlotData:
    """One slot: Aurora's P50 and quantiles where it covers slot ``k``, else the fallback."""
    imp, exp = prices
    if band is None or not band.covered[k]:
        return SlotData(
            start=start,
            import_price_sek_per_kwh=imp,
            export_price_sek_per_kwh=exp,
            pv_forecast_kwh=pv_kwh,
            load_forecast_kwh=load_kwh,
        )
    pv = [float(v) * _SLOT_H for v in band.pv_kw[k]]
    load = [float(v) * _SLOT_H for v in band.load_kw[k]]
    return SlotData(
        start=start,
        import_price_sek_per_kwh=imp,
        export_price_sek_per_kwh=exp,
        pv_forecast_kwh=pv[1],
        load_forecast_kwh=load[1],
        pv_p10_kwh=pv[0],
        pv_p90_kwh=pv[2],
        load_p10_kwh=load[0],
        load_p90_kwh=load[2],
    )


def slot_floor(moment: datetime) -> datetime:
    """Return the start of the 15-minute slot containing ``moment`` (UTC).

    >>> slot_floor(datetime(2026, 3, 29, 1, 7, 30, tzinfo=UTC)).isoformat()
    '2026-03-29T01:00:00+00:00'
    """
    return moment.astimezone(UTC) - (moment - _EPOCH) % SLOT


class PvForecaster(Protocol):
    """Mean PV power per slot, with where it came from."""

    def pv_kw(self, starts: Sequence[datetime], *, now: datetime) -> list[float]:
        """Mean PV power of each slot [kW] (never NaN: a fallback fills what is missing)."""
        ...

    def status(self) -> dict[str, Any]:
        """``{"source", "issued_at", "fault"}`` of the last forecast used (JSON)."""
        ...


class SlotClockHouse:
    """A house whose clock reads the start of the current slot (the agent's time grid)."""

    def __init__(self, house: House, clock: Callable[[], datetime]) -> None:
        self.inner, self._clock = house, clock

    @property
    def now(self) -> datetime:
        """Start of the current 15-minute slot, UTC."""
        return slot_floor(self._clock())

    def get_state(self, entity_id: str) -> EntityState:
        """Return one entity's current state."""
        return self.inner.get_state(entity_id)

    def get_states(self, entity_ids: Sequence[str]) -> dict[str, EntityState]:
        """Return the current states of ``entity_ids``."""
        return self.inner.get_states(entity_ids)

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        """Call ``domain.service``."""
        self.inner.call_service(domain, service, data)

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Return the recorded states of each entity in ``[start, end]``."""
        return self.inner.history(entity_ids, start=start, end=end)

    def subscribe(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Unsubscribe:
        """Subscribe to state changes."""
        return self.inner.subscribe(entity_ids, callback)


class LiveWorld:
    """A real home on the wall clock (a :class:`~darkstar.service.world.World`).

    Parameters
    ----------
    house : House
        The home (Home Assistant); its ``now`` is the wall clock.
    entities : HouseEntities
        Entity roles from ``input_sensors`` and ``executor``.
    tz : ZoneInfo
        The house's local time.
    prices : PriceBook
        Day-ahead prices.
    pv : PvForecaster
        The PV forecast.
    store : Store
        The learning store (load history, backfill).
    interval_s : float
        Executor tick while a slot runs [s].
    default_load_kw : float
        Load assumed for a local slot without any recorded history [kW].
    clock : callable
        Wall clock (tests move it).
    wait : callable
        ``wait(seconds) -> bool``: sleep, ``True`` when asked to stop early.
    elapsed : callable
        A clock that never steps, in seconds (default :func:`time.monotonic`): the wall
        clock moving against it by :data:`CLOCK_STEP_MIN` or more is a clock step
        (:attr:`clock_step`).
    aurora : LiveAurora, optional
        Aurora on the stored weather runs and history; ``None``: the physics PV and the
        7-day load baseline only.
    """

    realtime = True
    aurora: LiveAurora | None
    """The learning forecaster behind the forecasts (``None``: physics and baseline)."""

    def __init__(
        self,
        *,
        house: House,
        entities: HouseEntities,
        tz: ZoneInfo,
        prices: PriceBook,
        pv: PvForecaster,
        store: Store,
        interval_s: float = 60.0,
        default_load_kw: float = 0.5,
        clock: Callable[[], datetime] | None = None,
        wait: Callable[[float], bool] | None = None,
        aurora: LiveAurora | None = None,
        elapsed: Callable[[], float] | None = None,
    ) -> None:
        self.aurora = aurora
        self.aurora_band: LiveBand | None = None
        self.aurora_note: str | None = None
        self.stopping = threading.Event()
        self._wall = clock or (lambda: datetime.now(UTC))
        self._elapsed = elapsed or time.monotonic
        self._drift: timedelta | None = None
        self._last_read: datetime | None = None
        self.clock_step: ClockStep | None = None
        self._clock = self._read_clock
        self._wait = wait or self.stopping.wait
        self._house = SlotClockHouse(house, self._clock)
        self._entities, self._tz = entities, tz
        self.prices, self.pv, self.store = prices, pv, store
        self.interval_s, self.default_load_kw = interval_s, default_load_kw
        self._interrupted: set[datetime] = set()
        opened = self._clock()
        # the slot it was opened in is seen only in part: not recorded from its counters
        floor = slot_floor(opened)
        self._first_whole = floor if opened == floor else floor + SLOT
        self.load_note: str | None = None
        self.load_days = 0
        self.last_backfill: str | None = None
        self.catch_up()

    def _read_clock(self) -> datetime:
        """Read the wall clock, noticing a step against the monotonic clock.

        A step is kept in :attr:`clock_step` (reported for :data:`CLOCK_STEP_SHOWN`), and
        the slot in progress when it happened is not seen whole (a gap, backfilled later).
        """
        now = self._wall()
        drift = now - _EPOCH - timedelta(seconds=self._elapsed())
        if self._drift is not None and abs(drift - self._drift) >= CLOCK_STEP_MIN:
            self.clock_step = ClockStep(at=now, delta=drift - self._drift)
            last = self._last_read
            # the slot it was in ends here (read at a slot's start going back: that slot
            # was not begun, and comes again)
            if last is not None and (now > last or last != slot_floor(last)):
                self._interrupted.add(slot_floor(last))
            if now != slot_floor(now):  # and the one it jumped into is seen only in part
                self._interrupted.add(slot_floor(now))
            logger.warning("the wall clock %s", self.clock_step.describe(self._tz))
        self._drift, self._last_read = drift, now
        return now

    @property
    def clock_fault(self) -> str | None:
        """The last clock step in words while it is recent; ``None`` otherwise."""
        step = self.clock_step
        if step is None:
            return None
        now = self._last_read or step.at
        if not step.at <= now < step.at + CLOCK_STEP_SHOWN:
            return None
        consequence = (
            "the slots it ran already are not recorded again"
            if step.delta < timedelta(0)
            else "the slots it skipped are flagged and backfilled from the house's history"
        )
        return f"{step.describe(self._tz)}: {consequence}; planned again at once"

    # --- World ---------------------------------------------------------------------------
    @property
    def house(self) -> SlotClockHouse:
        """The home, on the slot clock."""
        return self._house

    @property
    def entities(self) -> HouseEntities:
        """Entity roles."""
        return self._entities

    @property
    def tz(self) -> ZoneInfo:
        """The house's local time."""
        return self._tz

    @property
    def forecast_source(self) -> str:
        """Where PV and load forecasts come from, in words."""
        fallback = (
            f"PV: {self.pv.status()['source']}; load: the house's own history "
            f"(same slot, last {LOAD_HISTORY_DAYS} days)"
        )
        if self.aurora is None:
            return fallback
        stages = ", ".join(f"{t} {s}" for t, s in self.aurora.stages().items())
        return (
            f"Aurora on the house's history ({stages}; version {self.aurora.version}); "
            f"weather: stored Open-Meteo runs; where Aurora has no forecast: {fallback}"
        )

    @property
    def slots_left(self) -> None:
        """A real home has no end."""
        return None

    def runs_whole(self, slot_start: datetime) -> bool:
        """Whether the agent saw the slot from its start to its end."""
        return slot_start >= self._first_whole and slot_start not in self._interrupted

    def planner_input(
        self, *, soc_percent: float, now: datetime, water_heated_today_kwh: float = 0.0
    ) -> PlannerInput:
        """Known prices from ``now`` (up to 48 h), the PV forecast and the load forecast.

        Raises
        ------
        InputError
            ``prices`` when no price is known for the current slot.
        """
        self.prices.refresh(now)
        end = min(self.prices.known_until(now), now + MAX_HORIZON)
        if end <= now:
            fault = self.prices.fault or "no prices yet"
            raise InputError("prices", f"no price known for the slot at {now.isoformat()}: {fault}")
        starts = [now + k * SLOT for k in range((end - now) // SLOT)]
        pairs = self.prices.slot_prices(now, end)
        # the physics PV first: it fetches (and keeps) the weather run Aurora uses
        clock = self._clock()
        pv_kw = self.pv.pv_kw(starts, now=clock)
        load_kwh = self._load_forecast_kwh(starts, now)
        band = self._aurora_band(now, starts, known_at=clock)
        slots = tuple(
            _slot(start, prices, pv_kwh=max(0.0, pv) * _SLOT_H, load_kwh=load, band=band, k=k)
            for k, (start, prices, pv, load) in enumerate(
                zip(starts, pairs, pv_kw, load_kwh, strict=True)
            )
        )
        return PlannerInput(
            timezone=self._tz,
            slots=slots,
            slot_duration=SLOT,
            state=PlannerState(
                soc_percent=min(100.0, max(0.0, soc_percent)),
                water_heated_today_kwh=water_heated_today_kwh,
            ),
        )

    def _aurora_band(
        self, now: datetime, starts: Sequence[datetime], *, known_at: datetime
    ) -> LiveBand | None:
        """Aurora's forecast of ``starts``, or ``None`` (no Aurora, or it failed: reported)."""
        self.aurora_band, self.aurora_note = None, None
        if self.aurora is None:
            return None
        fallback = f"physics PV and the {LOAD_HISTORY_DAYS}-day load baseline"
        try:
            band = self.aurora.forecast(now, starts, known_at=known_at)
        except Exception as exc:  # a forecaster bug must not stop the house: plan on the prior
            logger.exception("Aurora forecast failed")
            self.aurora_note = f"Aurora failed ({exc}): {fallback} for every slot"
            return None
        self.aurora_band = band
        if band.fault is not None:
            self.aurora_note = f"Aurora: {band.fault}; {fallback} there"
        return band

    def _load_forecast_kwh(self, starts: Sequence[datetime], now: datetime) -> list[float]:
        """Mean load of the same local slot over the recorded last days [kWh per slot]."""
        rows = read_plan_vs_actual(
            self.store, start=now - timedelta(days=LOAD_HISTORY_DAYS), end=now
        )
        by_slot: dict[tuple[int, int], list[float]] = defaultdict(list)
        days = set()
        for row in rows:
            if row.observed is not None:
                local = row.slot_start.astimezone(self._tz)
                by_slot[local.hour, local.minute].append(row.observed.load_kwh)
                days.add(local.date())
        fallback = self.default_load_kw * _SLOT_H
        out, missing = [], 0
        for start in starts:
            local = start.astimezone(self._tz)
            values = by_slot.get((local.hour, local.minute))
            if values:
                out.append(sum(values) / len(values))
            else:
                out.append(fallback)
                missing += 1
        self.load_note = (
            None
            if missing == 0
            else (
                f"{missing} of {len(starts)} slots without recorded history: "
                f"flat {self.default_load_kw:g} kW (forecasting.default_load_kw)"
            )
        )
        self.load_days = len(days)
        return out

    def prices_at(self, moment: datetime) -> tuple[float, float] | None:
        """Retail import and export price of the slot containing ``moment``."""
        return self.prices.prices_at(moment)

    def forecast_versions(self) -> dict[str, str]:
        """Aurora's stage and retraining per target, else the physics PV and the baseline.

        ``aurora <stage> <version>`` (``aurora prior none`` before the first training),
        with `` + physics`` / `` + baseline`` when some slots were not Aurora's.
        """
        band = self.aurora_band
        if band is None or not band.covered.any():
            return {
                "pv": f"physics: {self.pv.status()['source']}"[:64],
                "load": f"baseline: same slot, last {LOAD_HISTORY_DAYS} days",
            }
        partial = not band.covered.all()
        return {
            target: (
                f"aurora {band.used.get(target, 'prior')} {band.version}"
                + (f" + {fallback}" if partial else "")
            )[:64]
            for target, fallback in (("pv", "physics"), ("load", "baseline"))
        }

    def pv_outlook(self, now: datetime) -> PvOutlook:
        """Return the forecast PV of the day after tomorrow and the recorded daily mean."""
        day2 = now.astimezone(self._tz).date() + timedelta(days=2)
        start, end = (
            datetime(d.year, d.month, d.day, tzinfo=self._tz).astimezone(UTC)
            for d in (day2, day2 + timedelta(days=1))
        )
        starts = [start + k * SLOT for k in range((end - start) // SLOT)]
        try:
            day2_kwh: float | None = sum(self.pv.pv_kw(starts, now=self._clock())) * _SLOT_H
        except Exception:  # an outlook is optional; the plan does not depend on it
            logger.warning("no PV outlook for %s", day2, exc_info=True)
            day2_kwh = None
        rows = read_plan_vs_actual(self.store, start=now - timedelta(days=14), end=now)
        observed = [r.observed.pv_kwh for r in rows if r.observed is not None]
        days = max(1.0, len(observed) / 96)
        return PvOutlook(day2_kwh=day2_kwh, mean_daily_kwh=sum(observed) / days)

    def inputs(self, now: datetime) -> dict[str, Any]:
        """Where prices, PV and load came from, how old, and what is wrong (JSON).

        With Aurora, ``pv`` and ``load`` name it as their source where it forecast any
        slot, and its fault (slots it did not cover, or its failure) is in both faults
        (after the weather fetch's) and in ``aurora``.
        """
        pv = self.pv.status()
        load = {
            "source": f"house history: same local slot, last {LOAD_HISTORY_DAYS} days",
            "days": self.load_days,
            "fault": self.load_note,
        }
        band = self.aurora_band
        all_aurora = band is not None and bool(band.covered.all())
        load_fault = None if all_aurora else self.load_note  # the baseline was not used
        faults = [f for f in (self.aurora_note, pv.get("fault"), load_fault) if f]
        if band is not None and band.covered.any():
            run = _iso(band.run_issued_at)
            pv["source"] = (
                f"Aurora {band.used.get('pv')} ({band.version}) on the weather run of {run}"
                + ("" if all_aurora else f"; elsewhere {pv['source']}")
            )
            load["source"] = f"Aurora {band.used.get('load')} ({band.version})" + (
                "" if all_aurora else f"; elsewhere {load['source']}"
            )
        if self.aurora_note is not None:
            pv["fault"] = "; ".join(f for f in (pv.get("fault"), self.aurora_note) if f)
            load["fault"] = "; ".join(f for f in (load_fault, self.aurora_note) if f)
        elif all_aurora:
            load["fault"] = None
        out: dict[str, Any] = {
            "clock": {"source": "the wall clock", "fault": self.clock_fault},
            "prices": self.prices.status(now),
            "forecasts": {"source": self.forecast_source, "fault": "; ".join(faults) or None},
            "pv": pv,
            "load": load,
            "backfill": self.last_backfill,
        }
        if self.aurora is not None:
            out["aurora"] = {
                "stages": self.aurora.stages(),
                "version": self.aurora.version,
                "issued_at": _iso(None if band is None else band.issued_at),
                "weather_run_issued_at": _iso(None if band is None else band.run_issued_at),
                "covered_slots": 0 if band is None else int(band.covered.sum()),
                "slots": None if band is None else len(band.covered),
                "fault": self.aurora_note,
            }
        return out

    def advance(self, tick: Callable[[], None] | None = None) -> None:
        """Wait for the current slot's end, calling ``tick`` every ``interval_s`` meanwhile.

        Stopping early (:attr:`stopping` set) marks the slot as not seen whole, as does a
        step of the clock (which ends the slot at once). After the slot that follows the
        first whole one, and then every hour, missing earlier slots are backfilled from
        the house's history.
        """
        slot_start = self._house.now
        end = slot_start + SLOT
        step = self.clock_step
        while (left := (end - self._clock()).total_seconds()) > 0:
            if self.clock_step is not step:  # the clock stepped back: the slot ends here
                break
            if self._wait(min(self.interval_s, left)):
                self._interrupted.add(slot_start)
                return
            if tick is not None and (end - self._clock()).total_seconds() > 1.0:
                tick()
        if self.clock_step is not step:  # stepped while it ran: seen in part
            self._interrupted.add(slot_start)
            return
        if slot_start == self._first_whole or slot_start.minute == 0:
            self.catch_up(until=slot_start)

    def catch_up(self, until: datetime | None = None) -> None:
        """Backfill slots missing in the last days up to ``until`` (default: this slot)."""
        until = self._house.now if until is None else until
        start = until - BACKFILL_WINDOW
        if not missing_slots(self.store, start=start, end=until):
            return
        try:
            report = backfill(
                self._house.inner,
                entities=self._entities,
                store=self.store,
                start=start,
                end=until,
                prices_at=self.prices.past_prices_at,
                statistics=getattr(self._house.inner, "statistics", None),
                # a counter that moved with no state recorded for longer than a slot (HA
                # was down, it shows the old state as held): when is unknown, a gap
                max_change_span=SLOT,
            )
        except Exception:  # backfill is best effort: the live loop must go on
            logger.exception("backfill failed")
            self.last_backfill = "backfill failed; see the log"
            return
        self.last_backfill = report.summary()

    def close(self) -> None:
        """Stop waiting (the runtime is stopping)."""
        self.stopping.set()
