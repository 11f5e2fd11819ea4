"""The agent loop on the simulated home: SE4 2018 replayed in accelerated time.

This is the wiring the service must not do itself (DESIGN §1): it opens the learning store,
builds the :class:`~darkstar.simulation.world.SimulatedWorld` at a start (or where the
stored history ends) and hands it to :class:`~darkstar.service.agent.AgentLoop`.
:func:`run_agent` drives a fixed run for ``darkstar demo --no-serve`` and the tests;
:func:`open_agent` gives the loop to the web service's runtime.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from darkstar.errors import InputError
from darkstar.learning.store import open_store
from darkstar.learning.store.repository import DailyMetrics, daily_metrics, last_observation
from darkstar.service.agent import DB_FILE, SLOT, AgentLoop, AgentTick
from darkstar.service.prices import PriceBook, PriceSource, tariff_spec
from darkstar.simulation.backtest import commuting_car, draw_litres, house_spec
from darkstar.simulation.bed_forecasts import BedForecasts
from darkstar.simulation.datasets import load_year
from darkstar.simulation.entities import SIM_HOUSE_ENTITIES, SimEntity
from darkstar.simulation.house import SimulatedHouse
from darkstar.simulation.testbed import forecast_year
from darkstar.simulation.world import SimulatedWorld

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.learning.store import Store
    from darkstar.simulation.datasets import YearData

__all__ = [
    "DATA_AREA",
    "DATA_TIMEZONE",
    "DATA_YEAR",
    "DEFAULT_START",
    "AgentSummary",
    "open_agent",
    "run_agent",
]

logger = logging.getLogger(__name__)

DATA_AREA = "SE4"
"""Price area of the replayed year."""

DATA_YEAR = 2018
"""Replayed year (:func:`darkstar.simulation.datasets.load_year`)."""

DATA_TIMEZONE = "Europe/Stockholm"
"""Local time of the replayed house: price days and daily metrics follow it."""

DEFAULT_START = datetime(2018, 4, 30, 22, 0, tzinfo=UTC)
"""Default simulated start: 1 May 2018, 00:00 local time (UTC)."""


@dataclass(frozen=True, kw_only=True)
class AgentSummary:
    """What a run of the agent did and wrote.

    Attributes
    ----------
    slots_run : int
        Slots executed.
    plans_made : int
        Plans written to ``schedule.json`` and the store.
    plans_skipped : int
        Due plans skipped because the SoC sensor was unavailable.
    total_cost_sek : float
        Import cost - export revenue over the run, from the meters [SEK].
    meter_totals_kwh : Mapping[str, float]
        Energy counted by each meter over the run, keyed by observation field
        (``grid_import_kwh``, ``pv_kwh``, ...) [kWh].
    schedule_path, db_path : pathlib.Path
        The ``schedule.json`` and ``planner_learning.db`` written.
    last_day_start : datetime or None
        Local midnight starting the last full local day of the run.
    last_day_metrics : DailyMetrics or None
        :func:`~darkstar.learning.store.repository.daily_metrics` of that day; ``None``
        when the run covers no full local day.
    """

    slots_run: int
    plans_made: int
    plans_skipped: int
    total_cost_sek: float
    meter_totals_kwh: Mapping[str, float]
    schedule_path: Path
    db_path: Path
    last_day_start: datetime | None
    last_day_metrics: DailyMetrics | None


def _check_run(*, days: float, start: datetime, year: YearData) -> tuple[int, int]:
    """Return (index of ``start``, number of steps); raise ``InputError`` naming the field."""
    if not (math.isfinite(days) and days > 0):
        raise InputError("days", f"must be a positive number, got {days}")
    if start.utcoffset() != timedelta(0):
        raise InputError("start", "must be a tz-aware UTC datetime")
    first_data = year.index[0].to_pydatetime()
    offset = start - first_data
    if offset < timedelta(0) or offset % SLOT:
        raise InputError("start", f"must be a 15-minute boundary from {first_data.isoformat()}")
    first = offset // SLOT
    n_steps = max(1, round(days * 24 * 3600 / SLOT.total_seconds()))
    if first + n_steps > len(year.index):
        raise InputError("days", f"the run must end within the data year {DATA_YEAR}")
    return first, n_steps


def _last_full_day(
    start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """Local midnights bounding the last full local day inside ``[start, end)``, or ``None``."""
    day = end.astimezone(tz).date()
    day_end = datetime(day.year, day.month, day.day, tzinfo=tz)
    before = day - timedelta(days=1)
    day_start = datetime(before.year, before.month, before.day, tzinfo=tz)
    return (day_start, day_end) if day_start >= start else None


def _resume_point(store: Store, year: YearData, days: float) -> tuple[datetime, float] | None:
    """Return the slot after the last stored observation and its end SoC, if usable.

    ``None`` when the store is empty, the SoC was not read, or the rest of the data year is
    too short for a run of ``days``.
    """
    last = last_observation(store)
    if last is None or last.soc_end_percent is None:
        return None
    start = last.slot_start + SLOT
    try:
        _check_run(days=days, start=start, year=year)
    except InputError:
        logger.warning("stored history ends at %s: cannot resume there, starting over", start)
        return None
    return start, last.soc_end_percent


def open_agent(
    *,
    cfg: DarkstarConfig,
    out_dir: Path,
    start: datetime | None = None,
    days: float = 1.0,
    resume: bool = False,
    price_source: PriceSource | None = None,
) -> tuple[AgentLoop, SimulatedWorld, int]:
    """Open the store and the simulated home at ``start``.

    Returns the loop, its world and the number of steps of a run of ``days``.

    Parameters are those of :func:`run_agent`. With ``resume`` and no ``start``, the run
    continues after the last slot in the store with its stored SoC (a restart of the service
    goes on where it stopped instead of replaying history). The caller closes ``loop.store``.
    With a ``price_source`` the house plans on the day-ahead prices it delivers (area SE4,
    SEK, cached in the store: :class:`~darkstar.service.prices.PriceBook`) instead of the
    replayed year's; tests point it at a local Nord Pool stand-in to inject outages.
    """
    bed = None
    if cfg.forecasting.simulated_forecasts == "aurora":
        # the test bed's year: the house's true PV (which the configured arrays describe
        # only roughly) and synthetic weather forecasts, so Aurora has something to learn
        bed = forecast_year(area=DATA_AREA, year=DATA_YEAR)
        year = bed.data
    else:
        year = load_year(area=DATA_AREA, year=DATA_YEAR)
    out_dir.mkdir(parents=True, exist_ok=True)  # schedule.json is written there
    store = open_store(out_dir / DB_FILE)
    soc_percent = cfg.battery.min_soc_percent
    point = _resume_point(store, year, days) if resume and start is None else None
    if point is not None:
        start, soc_percent = point
        logger.info("resuming after the stored history at %s", start.isoformat())
    start = DEFAULT_START if start is None else start
    try:
        _, n_steps = _check_run(days=days, start=start, year=year)
    except InputError:
        store.close()
        raise
    water = cfg.system.has_water_heater
    spec = house_spec(cfg, initial_soc_percent=soc_percent, water=water)
    car = None
    if cfg.system.has_ev:  # the commuting car of the backtest, over the whole data year
        first = (start - year.index[0]) // SLOT
        car, ev = commuting_car(cfg, year.index, seed=0, timezone=DATA_TIMEZONE, first=first)
        spec = replace(spec, ev=ev)
    house = SimulatedHouse(spec, start=start, keep_history=True)
    draws = draw_litres(year, cfg, len(year.index), DATA_TIMEZONE) if water else None
    book = (
        None
        if price_source is None
        else PriceBook(
            source=price_source,
            store=store,
            area=DATA_AREA,
            currency="SEK",
            tariff=tariff_spec(cfg.tariff),
        )
    )
    # Aurora learns the house's history since 1 January at its first training (a job the
    # service starts); until then its forecasts are the prior's
    forecasts = None if bed is None else BedForecasts(bed, retrain_every=None, history_until=start)
    world = SimulatedWorld(
        year=year,
        house=house,
        timezone=DATA_TIMEZONE,
        draws_l=draws,
        prices=book,
        car=car,
        forecasts=forecasts,
    )
    loop = AgentLoop(world=world, cfg=cfg, store=store, out_dir=out_dir)
    loop.resumed = point is not None
    return loop, world, n_steps


def run_agent(
    *,
    days: float,
    speed: float,
    start: datetime | None,
    out_dir: Path,
    cfg: DarkstarConfig,
    on_tick: Callable[[AgentTick], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    faults: Mapping[int, str] | None = None,
) -> AgentSummary:
    """Run the agent loop on the simulated home, replaying SE4 2018 in accelerated time.

    Parameters
    ----------
    days : float
        Simulated duration, > 0 (rounded to whole 15-minute steps) [day].
    speed : float
        Simulated seconds per real second: the loop sleeps ``900 / speed`` s between
        steps; ``speed <= 0`` or infinite runs without sleeping.
    start : datetime or None
        Simulated start, tz-aware UTC on a 15-minute boundary of the data year; ``None``
        means :data:`DEFAULT_START`. The agent plans at the start and every hour after it.
    out_dir : pathlib.Path
        Where ``schedule.json`` and ``planner_learning.db`` are written (created). An
        existing store is kept and appended to, as the real system would.
    cfg : DarkstarConfig
        Battery and grid of the house and planner settings (the water heater is off:
        the simulated tank is not planned in this loop).
    on_tick : callable, optional
        Called with an :class:`AgentTick` after every slot.
    sleep : callable, default time.sleep
        How to wait between steps [s] (injectable for tests).
    faults : Mapping[int, str], optional
        Step index -> entity id marked unavailable during that step (fault injection).

    Returns
    -------
    AgentSummary
        Counts, total cost, the written paths and the last full day's metrics.

    Raises
    ------
    InputError
        For a non-positive ``days``, a ``start`` off the data grid, or a run past the year.
    StoreError
        When the learning store cannot be opened.
    """
    pause_s = 900.0 / speed if 0 < speed < math.inf else 0.0
    agent, world, n_steps = open_agent(cfg=cfg, out_dir=out_dir, start=start, days=days)
    house, store = world.house, agent.store
    meters_start = house.counters_kwh
    try:
        for step in range(n_steps):
            fault = (faults or {}).get(step)
            if fault is not None:
                house.set_available(fault, available=False)
            try:
                tick = agent.step()
            finally:
                if fault is not None:
                    house.set_available(fault, available=True)
            if on_tick is not None:
                on_tick(tick)
            if pause_s > 0 and step < n_steps - 1:
                sleep(pause_s)
        last_day = _last_full_day(agent.start, house.now, ZoneInfo(DATA_TIMEZONE))
        metrics = (
            None
            if last_day is None
            else daily_metrics(store, day_start=last_day[0], day_end=last_day[1])
        )
    finally:
        store.close()
    return AgentSummary(
        slots_run=n_steps,
        plans_made=agent.plans_made,
        plans_skipped=agent.plans_skipped,
        total_cost_sek=agent.cost_sek,
        meter_totals_kwh=MappingProxyType(
            {
                name: house.counters_kwh[SimEntity(entity)] - meters_start[SimEntity(entity)]
                for name, entity in SIM_HOUSE_ENTITIES.counters().items()
            }
        ),
        schedule_path=agent.schedule_path,
        db_path=store.path,
        last_day_start=None if last_day is None else last_day[0],
        last_day_metrics=metrics,
    )
