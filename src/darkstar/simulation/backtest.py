"""Closed-loop backtest: the agent loop on the simulated home, against references.

The loop is forecast -> plan -> execute -> record, over real prices, weather and load.
Every ``replan_minutes`` the planner sees what a real house would know (prices to the end
of today, and of tomorrow after the 13:00 publication, with ``dayahead``) and forecasts
of PV and load; its current slots are then executed on :class:`SimulatedHouse` through
the same commands the executor writes (:func:`darkstar.executor.command_for_slot`), and
the house's meters give the realised flows. The references are: no battery (the battery
held idle), the rule-based heuristic in the same loop, and Kepler with perfect foresight
over the whole period in one solve (the best any plan could have done).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from darkstar.baseline import plan_heuristic
from darkstar.errors import InputError
from darkstar.executor.controller import (
    SlotCommand,
    WaterHeaterSetpoints,
    command_for_slot,
    idle_command,
)
from darkstar.executor.dispatcher import write_command
from darkstar.physics.capacity import month_peaks_kw, month_start_utc
from darkstar.planner.inputs.types import EvState, PlannerInput, PlannerState, SlotData
from darkstar.planner.pipeline import PlanMode, generate_schedule
from darkstar.planner.scheduling.terminal_value import persistence_extension
from darkstar.planner.scheduling.water_heating import water_day_start_utc
from darkstar.planner.solver.adapter import to_kepler_input
from darkstar.planner.solver.kepler import solve_kepler
from darkstar.planner.strategy.overlays import HourlyBias, hourly_bias
from darkstar.planner.strategy.s_index import StrategyContext
from darkstar.simulation.datasets import ev_trips, hot_water_draw_kwh
from darkstar.simulation.entities import SIM_HOUSE_ENTITIES, SIM_HOUSE_ENTITIES_EV
from darkstar.simulation.house import (
    BatterySimSpec,
    EvSpec,
    GridSpec,
    HouseSpec,
    SimulatedHouse,
    WaterTankSpec,
)
from darkstar.simulation.tank import tank_heat_capacity_kwh_per_k

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    from numpy.typing import NDArray

    from darkstar.config.models import DarkstarConfig
    from darkstar.service.world import HouseEntities
    from darkstar.simulation.datasets import EvTrip, YearData

__all__ = [
    "BacktestRun",
    "BacktestSpec",
    "BandForecast",
    "CarSlots",
    "EvDeparture",
    "EvPolicy",
    "Forecaster",
    "ForecastKind",
    "LoopResult",
    "PriceHorizon",
    "SlotForecaster",
    "TerminalPolicy",
    "apply_command",
    "car_slots",
    "commuting_car",
    "house_spec",
    "known_price_end",
    "on_arrival_charging_kw",
    "perfect_foresight",
    "planner_input",
    "run_backtest",
    "run_loop",
    "stored_energy_value_sek_per_kwh",
]

logger = logging.getLogger(__name__)

_SLOT = timedelta(minutes=15)
_SLOT_H = 0.25
#: Day-ahead prices for tomorrow are published at 13:00 local time (Nord Pool, CET).
PUBLICATION_HOUR = 13

#: The Analyst's window in the loop [days] (as the service's Analyst).
ANALYST_WINDOW_DAYS = 14


class ForecastKind(StrEnum):
    """What the planner is told about PV and load."""

    PERFECT = "perfect"
    NOISY = "noisy"
    AURORA = "aurora"
    """Aurora, walk-forward on the test bed (:mod:`darkstar.simulation.bed_forecasts`)."""
    NAIVE = "naive"
    """The baselines: load = same slot of the last 7 days, PV = the physics prior."""
    ORACLE = "oracle"
    """A forecaster that knows the house exactly: its own PV model (all imperfections) on
    the newest weather run, and the actual load: what the weather's error alone costs."""


class PriceHorizon(StrEnum):
    """How far ahead prices are known."""

    DAYAHEAD = "dayahead"
    H48 = "48h"


class EvPolicy(StrEnum):
    """How the car in the closed loop is charged."""

    SMART = "smart"
    """Kepler plans the car: cheapest slots before the configured departure."""
    ON_ARRIVAL = "on_arrival"
    """A plain charger: full power from plug-in until the target (the planner only sees it
    as load, known in advance, so the comparison isolates the control of the car)."""


class TerminalPolicy(StrEnum):
    """How the planner values energy left at the end of the known prices."""

    ZERO = "zero"
    PERSISTENCE = "persistence"


@dataclass(frozen=True, kw_only=True)
class BacktestSpec:
    """How the closed loop runs."""

    replan_minutes: int = 60
    forecast: ForecastKind = ForecastKind.PERFECT
    price_horizon: PriceHorizon = PriceHorizon.DAYAHEAD
    terminal: TerminalPolicy = TerminalPolicy.PERSISTENCE
    noise_frac: float = 0.2
    seed: int = 0
    water: bool = False
    """Plan the water heater too (hot-water draws, tank physics, comfort metric)."""
    persistence_days: int = 2
    """Days of persistence prices after the last known one (``terminal="persistence"``)."""
    ev: EvPolicy | None = None
    """A commuting car (the bundled trips, ``config.ev``), charged by this policy."""
    peak_aware: bool = True
    """Plan with ``grid.capacity_tariff``; false plans without it (the bill still counts it)."""
    mode: PlanMode = PlanMode.BASELINE
    """Kepler's plans: ``baseline`` (forecasts as given) or ``full`` (the agent's: PV
    confidence, S-Index load factor and target SoC, as configured)."""

    def __post_init__(self) -> None:
        if self.replan_minutes % 15 or not 15 <= self.replan_minutes <= 24 * 60:
            raise InputError("replan_minutes", "must be a multiple of 15 in [15, 1440]")
        if not 0 <= self.noise_frac < 1:
            raise InputError("noise_frac", "must be in [0, 1)")
        if self.persistence_days < 1:
            raise InputError("persistence_days", "must be >= 1")


@dataclass(frozen=True, kw_only=True)
class LoopResult:
    """Per-slot record of one strategy: realised flows [kW] and SoC at slot end [kWh]."""

    name: str
    index: NDArray[np.int64]
    grid_import_kw: NDArray[np.float64]
    grid_export_kw: NDArray[np.float64]
    battery_charge_kw: NDArray[np.float64]
    battery_discharge_kw: NDArray[np.float64]
    pv_used_kw: NDArray[np.float64]
    load_shed_kw: NDArray[np.float64]
    soc_kwh: NDArray[np.float64]
    planned_soc_kwh: NDArray[np.float64]
    solve_ms: float = 0.0
    water_heater_kw: NDArray[np.float64] | None = None
    tank_temp_c: NDArray[np.float64] | None = None
    ev_charge_kw: NDArray[np.float64] | None = None
    """Car charging (AC) with ``spec.ev`` [kW]."""
    ev_departures: tuple[EvDeparture, ...] = ()
    """The car's SoC at each departure against its target, with ``spec.ev``."""
    ev_soc_kwh: tuple[float, float] | None = None
    """The car's energy at the start and the end of the run, with ``spec.ev`` [kWh]."""


@dataclass(frozen=True, kw_only=True)
class EvDeparture:
    """The car leaving: when, its SoC and the configured target [%], energy it lacked."""

    at: datetime
    soc_percent: float
    target_soc_percent: float
    trip_shortfall_kwh: float


def known_price_end(now: datetime, *, tz: ZoneInfo, horizon: PriceHorizon) -> datetime:
    """Return the end of the prices known at ``now`` (UTC).

    ``dayahead``: the end of today, or of tomorrow from 13:00 local time on. ``48h``: 48 h
    ahead (a what-if with more knowledge than a real house has).

    Examples
    --------
    >>> tz = ZoneInfo("Europe/Stockholm")
    >>> known_price_end(datetime(2018, 5, 1, 10, tzinfo=UTC), tz=tz,
    ...                 horizon=PriceHorizon.DAYAHEAD).isoformat()
    '2018-05-01T22:00:00+00:00'
    >>> known_price_end(datetime(2018, 5, 1, 11, tzinfo=UTC), tz=tz,
    ...                 horizon=PriceHorizon.DAYAHEAD).isoformat()
    '2018-05-02T22:00:00+00:00'
    """
    if horizon is PriceHorizon.H48:
        return now + timedelta(hours=48)
    local = now.astimezone(tz)
    days = 2 if local.hour >= PUBLICATION_HOUR else 1
    end_day = local.date() + timedelta(days=days)
    return datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz).astimezone(UTC)


#: Tank of the simulated home when the water heater is planned: 200 L at 55 degC to start.
TANK_VOLUME_L = 200.0
TANK_START_C = 55.0
#: The car's SoC when a run starts [%].
EV_START_SOC_PERCENT = 50.0
#: Hot water below this is a comfort miss (a shower needs about 40 degC at the tap).
COMFORT_MIN_C = 40.0
#: Hot-water draws are sized from the daily quota: the rest of it covers standing losses.
DRAW_SHARE_OF_QUOTA = 0.7
#: Tank temperature a litre of draw is counted at when energy becomes litres [degC].
DRAW_REFERENCE_C = 50.0
#: A conventional heater's fixed thermostat, used by the no-battery reference [degC].
CONVENTIONAL_SETPOINT_C = 55.0


def house_spec(
    cfg: DarkstarConfig, *, initial_soc_percent: float, water: bool = False
) -> HouseSpec:
    """Return the simulated home for ``cfg``: its battery, fuse and 200 L tank.

    The tank's element is the configured one and starts at 55 degC with ``water``;
    otherwise the tank sits idle at ambient temperature.
    """
    b = cfg.battery
    return HouseSpec(
        battery=BatterySimSpec(
            capacity_kwh=b.capacity_kwh,
            min_soc_percent=b.min_soc_percent,
            max_charge_kw=b.max_charge_kw,
            max_discharge_kw=b.max_discharge_kw,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            initial_soc_percent=initial_soc_percent,
        ),
        # without planned water heating the thermostat sits at the cold-water temperature
        # with the tank at ambient, so the element never runs
        tank=WaterTankSpec(
            volume_l=TANK_VOLUME_L,
            heater_power_kw=cfg.water_heating.power_kw,
            initial_temp_c=TANK_START_C,
            initial_setpoint_c=WaterHeaterSetpoints().floor_c,
        )
        if water
        else WaterTankSpec(
            volume_l=TANK_VOLUME_L,
            heater_power_kw=3.0,
            initial_temp_c=20.0,
            initial_setpoint_c=10.0,
        ),
        grid=GridSpec(fuse_kw=cfg.grid.max_power_kw),
    )


def apply_command(
    house: SimulatedHouse, cmd: SlotCommand, entities: HouseEntities = SIM_HOUSE_ENTITIES
) -> None:
    """Write one command to the house, as the executor does through HA."""
    write_command(house, entities, cmd)


@dataclass(frozen=True, kw_only=True)
class CarSlots:
    """The commuting car per slot of a run: plugged in for the whole slot, energy driven."""

    plugged: NDArray[np.bool_]
    trip_kwh: NDArray[np.float64]


def car_slots(trips: list[EvTrip], index: pd.DatetimeIndex) -> CarSlots:
    """Place ``trips`` on the slots of ``index``.

    The car is away from the slot holding the departure to the one holding the arrival;
    the trip's energy is spread evenly over those slots.
    """
    n, first = len(index), index[0].to_pydatetime()
    plugged, trip_kwh = np.ones(n, dtype=bool), np.zeros(n)
    for trip in trips:
        a = max(0, (trip.departure - first) // _SLOT)
        b = min(n, -(-(trip.arrival - first) // _SLOT))  # ceil: the arrival's slot is away
        if a < b:
            plugged[a:b] = False
            trip_kwh[a:b] += trip.energy_kwh / (b - a)
    return CarSlots(plugged=plugged, trip_kwh=trip_kwh)


def commuting_car(
    cfg: DarkstarConfig,
    index: pd.DatetimeIndex,
    *,
    seed: int,
    timezone: str,
    first: int = 0,
) -> tuple[CarSlots, EvSpec]:
    """Return the commuting car over ``index``: its slots and its spec.

    The slots place the bundled seeded trips; the spec is ``config.ev``'s car at
    :data:`EV_START_SOC_PERCENT`, plugged in as in slot ``first``.
    """
    first_day = index[0].tz_convert(timezone).date()
    trips = ev_trips(start=first_day, days=len(index) // 96 + 2, seed=seed, timezone=timezone)
    car = car_slots(trips, index)
    spec = EvSpec(
        capacity_kwh=cfg.ev.capacity_kwh,
        max_charge_kw=cfg.ev.max_charge_kw,
        initial_soc_percent=EV_START_SOC_PERCENT,
        initial_plugged=bool(car.plugged[first]),
        charge_efficiency=cfg.ev.charge_efficiency,
    )
    return car, spec


def on_arrival_charging_kw(
    car: CarSlots,
    cfg: DarkstarConfig,
    *,
    load_kw: NDArray[np.float64],
    initial_soc_kwh: float,
) -> NDArray[np.float64]:
    """Charging of a plain charger: from plug-in at full power to the target [kW per slot].

    Its power is the charger's maximum, less what the fuse leaves beside the house's load
    (a charger with load balancing), and just enough in the slot that reaches the target.
    The same recursion as the simulated car, so the house realises exactly this profile.
    """
    ev = cfg.ev
    target_kwh = ev.capacity_kwh * ev.target_soc_percent / 100.0
    soc, out = initial_soc_kwh, np.zeros(len(car.plugged))
    for t in range(len(out)):
        soc = max(0.0, soc - float(car.trip_kwh[t]))
        if car.plugged[t] and soc < target_kwh:
            room_kw = max(0.0, cfg.grid.max_power_kw - float(load_kw[t]))
            need_kw = (target_kwh - soc) / (ev.charge_efficiency * _SLOT_H)
            out[t] = min(ev.max_charge_kw, room_kw, need_kw)
            soc += out[t] * _SLOT_H * ev.charge_efficiency
    return out


@dataclass(frozen=True, kw_only=True)
class BandForecast:
    """PV and load per slot: P50 and, when the forecaster has them, P10 and P90 [kW]."""

    pv_kw: NDArray[np.float64]
    load_kw: NDArray[np.float64]
    pv_p10_kw: NDArray[np.float64] | None = None
    pv_p90_kw: NDArray[np.float64] | None = None
    load_p10_kw: NDArray[np.float64] | None = None
    load_p90_kw: NDArray[np.float64] | None = None


class SlotForecaster(Protocol):
    """What the loop's planner is told about PV and load."""

    def forecast(self, year: YearData, first: int, last: int) -> BandForecast:
        """Return the forecast of slots ``first`` to ``last`` of ``year`` at slot ``first``."""
        ...


class Forecaster:
    """PV and load forecasts: the actual values, or the actual values with seeded noise."""

    def __init__(self, spec: BacktestSpec, n: int) -> None:
        if spec.forecast not in (ForecastKind.PERFECT, ForecastKind.NOISY):
            raise InputError(
                "forecast",
                f"{spec.forecast!s} needs the test bed's year (darkstar.simulation.bed_forecasts)",
            )
        rng = np.random.default_rng(spec.seed)
        noisy = spec.forecast is ForecastKind.NOISY
        scale = spec.noise_frac if noisy else 0.0
        self.pv_factor = np.clip(1.0 + scale * rng.standard_normal(n), 0.0, None)
        self.load_factor = np.clip(1.0 + scale * rng.standard_normal(n), 0.0, None)

    def forecast(self, year: YearData, first: int, last: int) -> BandForecast:
        """Return the actual PV and load of the slots, times the noise factors (P50 only)."""
        return BandForecast(
            pv_kw=year.pv_kw.to_numpy()[first:last] * self.pv_factor[first:last],
            load_kw=year.load_kw.to_numpy()[first:last] * self.load_factor[first:last],
        )


#: A planner returns the schedule rows and the time it spent planning [ms]; the context
#: (season, Analyst bias) is used in mode full only.
Planner = Callable[[PlannerInput, StrategyContext | None], tuple[list[dict[str, Any]], float]]


def _kepler_planner(cfg: DarkstarConfig, mode: PlanMode = PlanMode.BASELINE) -> Planner:
    def plan(
        pin: PlannerInput, context: StrategyContext | None
    ) -> tuple[list[dict[str, Any]], float]:
        document = generate_schedule(pin, cfg, mode=mode, context=context).document
        return document["schedule"], float(document["meta"]["solve_time_ms"])

    return plan


def _heuristic_planner(cfg: DarkstarConfig) -> Planner:
    from darkstar.planner.output.schedule import build_schedule_rows

    def plan(pin: PlannerInput, _: StrategyContext | None) -> tuple[list[dict[str, Any]], float]:
        t0 = time.perf_counter()
        kin = to_kepler_input(
            pin, cfg, pv_kwh=pin.column("pv_forecast_kwh"), load_kwh=pin.column("load_forecast_kwh")
        )
        arrays = plan_heuristic(kin)
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
        rows = build_schedule_rows(
            pin,
            arrays,
            adjusted_pv_kwh=kin.pv_kwh,
            adjusted_load_kwh=kin.load_kwh,
            battery=kin.battery,
        )
        return rows, elapsed_ms

    return plan


def planner_input(
    year: YearData,
    *,
    first: int,
    end: int,
    soc_percent: float,
    tz: ZoneInfo,
    forecaster: SlotForecaster,
    spec: BacktestSpec,
    water_heated_today_kwh: float = 0.0,
    prices: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    ev: EvState | None = None,
    month_peaks_kw: tuple[float, ...] = (),
    extra_load_kw: NDArray[np.float64] | None = None,
) -> PlannerInput:
    """Build what the planner knows at slot ``first``: prices to ``end`` (+ extension).

    ``prices``: import and export prices of slots ``first`` to ``end`` from elsewhere (a
    live price source) instead of the year's own. ``extra_load_kw`` (aligned with the
    year) is load known in advance on top of the household's, e.g. a plain car charger.
    """
    index = year.index
    all_imp = year.import_price_sek_per_kwh.to_numpy()
    all_exp = year.export_price_sek_per_kwh.to_numpy()
    if prices is not None:
        all_imp, all_exp = all_imp.copy(), all_exp.copy()
        all_imp[first:end], all_exp[first:end] = prices
    imp, exp = all_imp[first:end], all_exp[first:end]
    if spec.terminal is TerminalPolicy.PERSISTENCE:
        days = spec.persistence_days
        imp = np.r_[imp, persistence_extension(all_imp[:end], slots_per_day=96, days=days)]
        exp = np.r_[exp, persistence_extension(all_exp[:end], slots_per_day=96, days=days)]
    last = min(first + len(imp), len(index))
    imp, exp = imp[: last - first], exp[: last - first]
    fc = forecaster.forecast(year, first, last)
    extra = np.zeros(last - first) if extra_load_kw is None else extra_load_kw[first:last]

    def kwh(kw: NDArray[np.float64] | None, add: NDArray[np.float64] | None = None) -> list[Any]:
        if kw is None:
            return [None] * (last - first)
        return [float(v) for v in (kw + (0.0 if add is None else add)) * _SLOT_H]

    pv, pv10, pv90 = kwh(fc.pv_kw), kwh(fc.pv_p10_kw), kwh(fc.pv_p90_kw)
    load = kwh(fc.load_kw, extra)
    load10, load90 = kwh(fc.load_p10_kw, extra), kwh(fc.load_p90_kw, extra)
    temps = year.temp_air_c.to_numpy()[first:last]  # the day-ahead temperature, as measured
    slots = tuple(
        SlotData(
            start=index[first + i].to_pydatetime(),
            import_price_sek_per_kwh=float(imp[i]),
            export_price_sek_per_kwh=float(exp[i]),
            pv_forecast_kwh=float(pv[i]),
            load_forecast_kwh=float(load[i]),
            pv_p10_kwh=pv10[i],
            pv_p90_kwh=pv90[i],
            load_p10_kwh=load10[i],
            load_p90_kwh=load90[i],
            temperature_c=float(temps[i]),
        )
        for i in range(last - first)
    )
    return PlannerInput(
        timezone=tz,
        slots=slots,
        slot_duration=_SLOT,
        state=PlannerState(
            soc_percent=soc_percent,
            water_heated_today_kwh=water_heated_today_kwh,
            ev=ev,
            month_peaks_kw=month_peaks_kw,
        ),
    )


def draw_litres(
    year: YearData, cfg: DarkstarConfig, n_slots: int, timezone: str
) -> NDArray[np.float64]:
    """Hot-water draws per slot [L] from the synthetic daily profile."""
    daily_kwh = DRAW_SHARE_OF_QUOTA * cfg.water_heating.min_kwh_per_day
    kwh = hot_water_draw_kwh(index=year.index[:n_slots], daily_kwh=daily_kwh, timezone=timezone)
    kwh_per_litre = tank_heat_capacity_kwh_per_k(1.0) * (DRAW_REFERENCE_C - 10.0)
    return np.asarray(kwh.to_numpy(), dtype=np.float64) / kwh_per_litre


def _month_peaks_kw(
    index: pd.DatetimeIndex,
    import_kw: NDArray[np.float64],
    now: datetime,
    cfg: DarkstarConfig,
    tz: ZoneInfo,
) -> tuple[float, ...]:
    """Return the counted peaks of ``now``'s month measured before it (today's so far too)."""
    first = index[0].to_pydatetime()
    a = max(0, (month_start_utc(now, tz) - first) // _SLOT)
    b = (now - first) // _SLOT
    slots = zip(index[a:b].to_pydatetime(), import_kw[a:b].tolist(), strict=True)
    return month_peaks_kw(slots, cfg.grid.capacity_tariff, now=now, tz=tz, slot_h=_SLOT_H)


class LoopMemory:
    """What the agent in the loop knows of its past: the season's PV and its forecasts' bias.

    As the service gets them from its store (mode ``full``): the season is the mean daily
    PV of the last 14 days measured (None before the first whole day); the Analyst's bias
    per local hour compares the P50 each slot was planned on (the newest plan before it)
    with what happened, over the last 14 days, recomputed once a day.
    """

    def __init__(
        self,
        index: pd.DatetimeIndex,
        *,
        pv_kw: NDArray[np.float64],
        load_kw: NDArray[np.float64],
        tz: ZoneInfo,
    ) -> None:
        self.pv_kw = np.asarray(pv_kw, dtype=float)
        self.load_kw = np.asarray(load_kw, dtype=float)
        self.hours = np.asarray(index.tz_convert(tz).hour, dtype=np.int64)
        self.fc_pv_kw = np.full(len(index), np.nan)
        self.fc_load_kw = np.full(len(index), np.nan)
        self._bias: tuple[int, HourlyBias] | None = None

    def keep(self, pin: PlannerInput, first: int, step: int) -> None:
        """Remember the P50 forecasts the plan at slot ``first`` used for its ``step`` slots."""
        n = min(step, pin.n_slots, len(self.fc_pv_kw) - first)
        self.fc_pv_kw[first : first + n] = pin.column("pv_forecast_kwh")[:n] / _SLOT_H
        self.fc_load_kw[first : first + n] = pin.column("load_forecast_kwh")[:n] / _SLOT_H

    def context(self, first: int) -> StrategyContext:
        """Return the context of a plan made at slot ``first``."""
        lo = max(0, first - ANALYST_WINDOW_DAYS * 96)
        days = (first - lo) // 96
        season = None
        if days:
            season = float(np.sum(self.pv_kw[first - days * 96 : first])) * _SLOT_H / days
        day = first // 96
        if self._bias is None or self._bias[0] != day:
            self._bias = (
                day,
                hourly_bias(
                    self.hours[lo:first],
                    pv_forecast_kw=self.fc_pv_kw[lo:first],
                    pv_actual_kw=self.pv_kw[lo:first],
                    load_forecast_kw=self.fc_load_kw[lo:first],
                    load_actual_kw=self.load_kw[lo:first],
                    window_days=ANALYST_WINDOW_DAYS,
                ),
            )
        return StrategyContext(pv_season_kwh_per_day=season, hourly_bias=self._bias[1])


def run_loop(
    year: YearData,
    cfg: DarkstarConfig,
    spec: BacktestSpec,
    *,
    strategy: str,
    n_slots: int,
    timezone: str = "Europe/Stockholm",
    progress: Callable[[int], None] | None = None,
    forecaster: SlotForecaster | None = None,
) -> LoopResult:
    """Run one strategy (``kepler``, ``heuristic`` or ``no_battery``) in the closed loop.

    With ``spec.water`` the water heater is planned too (``no_battery`` runs it as a
    conventional heater on a fixed 55 degC thermostat), hot water is drawn from the tank,
    and the tank temperature at every slot end is recorded for the comfort metric.

    With ``spec.ev`` a car commutes on the bundled trips (:func:`ev_trips`, seeded by
    ``spec.seed``) and arrives with less energy: ``kepler`` charges it as ``spec.ev`` says,
    the other strategies with a plain charger (``on_arrival``). With a capacity tariff in
    ``cfg`` each plan gets the month's peaks measured so far; ``spec.peak_aware=False``
    plans as if there were no such tariff.

    ``forecaster`` tells the planner PV and load (default: ``spec.forecast``'s perfect or
    noisy forecasts of the year's actual values).
    """
    tz = ZoneInfo(timezone)
    cfg = cfg.model_copy(
        update={"system": cfg.system.model_copy(update={"has_water_heater": spec.water})}
    )
    plan_cfg = cfg
    if not spec.peak_aware:
        no_tariff = cfg.grid.capacity_tariff.model_copy(update={"sek_per_kw_month": 0.0})
        plan_cfg = cfg.model_copy(
            update={"grid": cfg.grid.model_copy(update={"capacity_tariff": no_tariff})}
        )
    index = year.index
    start_soc = cfg.battery.min_soc_percent
    pv_kw, load_kw = year.pv_kw.to_numpy(), year.load_kw.to_numpy()
    car: CarSlots | None = None
    plain_kw: NDArray[np.float64] | None = None
    smart = spec.ev is EvPolicy.SMART and strategy == "kepler"
    spec_house = house_spec(cfg, initial_soc_percent=start_soc, water=spec.water)
    if spec.ev is not None:
        car, ev_spec = commuting_car(cfg, index[:n_slots], seed=spec.seed, timezone=timezone)
        ev_start_kwh = cfg.ev.capacity_kwh * EV_START_SOC_PERCENT / 100.0
        spec_house = replace(spec_house, ev=ev_spec)
        if not smart:
            plain_kw = np.zeros(len(index))
            plain_kw[:n_slots] = on_arrival_charging_kw(
                car, cfg, load_kw=load_kw[:n_slots], initial_soc_kwh=ev_start_kwh
            )
    house = SimulatedHouse(spec_house, start=index[0].to_pydatetime())
    entities = SIM_HOUSE_ENTITIES if car is None else SIM_HOUSE_ENTITIES_EV
    if forecaster is None:
        forecaster = Forecaster(spec, len(index))
    planner = (
        _kepler_planner(plan_cfg, spec.mode) if strategy == "kepler" else _heuristic_planner(cfg)
    )
    draws_l = draw_litres(year, cfg, n_slots, timezone) if spec.water else np.zeros(n_slots)
    setpoints = WaterHeaterSetpoints() if spec.water else None
    memory = None
    if strategy == "kepler" and spec.mode is PlanMode.FULL:
        memory = LoopMemory(index, pv_kw=pv_kw, load_kw=load_kw, tz=tz)
    out = {
        k: np.zeros(n_slots)
        for k in (
            "grid_import_kw",
            "grid_export_kw",
            "battery_charge_kw",
            "battery_discharge_kw",
            "pv_used_kw",
            "load_shed_kw",
            "soc_kwh",
            "planned_soc_kwh",
            "water_heater_kw",
            "tank_temp_c",
            "ev_charge_kw",
        )
    }
    departures: list[list[Any]] = []  # [at, soc %, trip shortfall kWh]
    step = spec.replan_minutes // 15
    hold = idle_command(
        min_soc_percent=cfg.battery.min_soc_percent,
        water_setpoint_c=CONVENTIONAL_SETPOINT_C if spec.water else None,
    )
    solve_ms = 0.0
    for first in range(0, n_slots, step):
        rows: list[dict[str, Any]] = []
        if strategy != "no_battery":
            now = index[first].to_pydatetime()
            end = (known_price_end(now, tz=tz, horizon=spec.price_horizon) - index[0]) // _SLOT
            soc_percent = 100.0 * house.soc_kwh / cfg.battery.capacity_kwh
            day_start = water_day_start_utc(
                now, tz=tz, defer_up_to_hours=cfg.water_heating.defer_up_to_hours
            )
            since = max(0, (day_start - index[0]) // _SLOT)
            heated_kwh = _SLOT_H * float(np.sum(out["water_heater_kw"][since:first]))
            ev_state = None
            if smart and car is not None:
                ev_state = EvState(
                    soc_percent=100.0 * float(house.ev_soc_kwh or 0.0) / cfg.ev.capacity_kwh,
                    plugged_in=bool(car.plugged[first]),
                    departure=cfg.ev.next_departure(now, tz),
                    target_soc_percent=cfg.ev.target_soc_percent,
                )
            pin = planner_input(
                year,
                first=first,
                end=min(int(end), len(index)),
                soc_percent=min(100.0, max(0.0, soc_percent)),
                tz=tz,
                forecaster=forecaster,
                spec=spec,
                water_heated_today_kwh=heated_kwh,
                ev=ev_state,
                month_peaks_kw=_month_peaks_kw(index, out["grid_import_kw"], now, plan_cfg, tz),
                extra_load_kw=plain_kw,
            )
            context = None if memory is None else memory.context(first)
            rows, planning_ms = planner(pin, context)
            if memory is not None:
                memory.keep(pin, first, step)
            solve_ms += planning_ms
        for k in range(min(step, n_slots - first)):
            t = first + k
            cmd = command_for_slot(rows[k], water=setpoints, ev=smart) if rows else hold
            if plain_kw is not None:
                cmd = replace(cmd, ev_charge_kw=float(plain_kw[t]))
            apply_command(house, cmd, entities)
            trip_kwh, plugged = 0.0, None
            if car is not None:
                trip_kwh, plugged = float(car.trip_kwh[t]), bool(car.plugged[t])
                if t > 0 and car.plugged[t - 1] and not car.plugged[t]:
                    soc_pct = 100.0 * float(house.ev_soc_kwh or 0.0) / cfg.ev.capacity_kwh
                    departures.append([index[t].to_pydatetime(), soc_pct, 0.0])
            r = house.step(
                duration=_SLOT,
                pv_kw=float(pv_kw[t]),
                load_kw=float(load_kw[t]),
                hot_water_draw_l=float(draws_l[t]),
                ev_trip_kwh=trip_kwh,
                ev_plugged=plugged,
            )
            if departures:
                departures[-1][2] += r.ev_trip_shortfall_kwh
            out["grid_import_kw"][t] = r.grid_import_kw
            out["grid_export_kw"][t] = r.grid_export_kw
            out["battery_charge_kw"][t] = r.battery_charge_kw
            out["battery_discharge_kw"][t] = r.battery_discharge_kw
            out["pv_used_kw"][t] = r.pv_used_kw
            out["load_shed_kw"][t] = r.load_shed_kw
            out["soc_kwh"][t] = r.soc_kwh
            out["planned_soc_kwh"][t] = rows[k]["projected_soc_kwh"] if rows else r.soc_kwh
            out["water_heater_kw"][t] = r.water_heater_kw
            out["tank_temp_c"][t] = r.water_temp_c
            out["ev_charge_kw"][t] = r.ev_charge_kw
        if progress is not None:
            progress(min(step, n_slots - first))
    water_heater_kw = out.pop("water_heater_kw")
    tank_temp_c = out.pop("tank_temp_c")
    ev_charge_kw = out.pop("ev_charge_kw")
    return LoopResult(
        name=strategy,
        index=np.arange(n_slots),
        solve_ms=solve_ms,
        water_heater_kw=water_heater_kw if spec.water else None,
        tank_temp_c=tank_temp_c if spec.water else None,
        ev_charge_kw=ev_charge_kw if car is not None else None,
        ev_soc_kwh=None if car is None else (ev_start_kwh, float(house.ev_soc_kwh or 0.0)),
        ev_departures=tuple(
            EvDeparture(
                at=at,
                soc_percent=soc,
                target_soc_percent=cfg.ev.target_soc_percent,
                trip_shortfall_kwh=short,
            )
            for at, soc, short in departures
        ),
        **out,
    )


def stored_energy_value_sek_per_kwh(year: YearData, cfg: DarkstarConfig, n_slots: int) -> float:
    """Value of a kWh left in the battery at the end of a run [SEK/kWh].

    The period's mean export price times the discharge efficiency: what a stored kWh is
    surely worth (it could be sold). Every strategy's cost is credited with it for its
    final SoC, and the perfect-foresight reference optimises with it as terminal value, so
    the reference is a true lower bound of the reported cost. The import price would be
    the more generous value, but it makes buying energy just to hold it at the end pay,
    which the reference then does.
    """
    mean_price = float(np.mean(year.export_price_sek_per_kwh.to_numpy()[:n_slots]))
    return mean_price * cfg.battery.discharge_efficiency


def perfect_foresight(
    year: YearData, cfg: DarkstarConfig, *, n_slots: int, timezone: str = "Europe/Stockholm"
) -> LoopResult:
    """Kepler over the whole period in one solve, on the actual PV and load.

    Its terminal value is :func:`stored_energy_value_sek_per_kwh`, the same credit the
    report gives every strategy for its final SoC.
    """
    tz = ZoneInfo(timezone)
    cfg = cfg.model_copy(
        update={"system": cfg.system.model_copy(update={"has_water_heater": False})}
    )
    cfg = cfg.model_copy(update={"kepler": cfg.kepler.model_copy(update={"time_limit_s": 600.0})})
    spec = BacktestSpec(terminal=TerminalPolicy.ZERO)
    pin = planner_input(
        year,
        first=0,
        end=n_slots,
        soc_percent=cfg.battery.min_soc_percent,
        tz=tz,
        forecaster=Forecaster(spec, len(year.index)),
        spec=spec,
    )
    kin = to_kepler_input(
        pin, cfg, pv_kwh=pin.column("pv_forecast_kwh"), load_kwh=pin.column("load_forecast_kwh")
    )
    terminal = stored_energy_value_sek_per_kwh(year, cfg, n_slots)
    kin = replace(kin, options=replace(kin.options, terminal_value_sek_per_kwh=terminal))
    result = solve_kepler(kin)  # NoSolutionError propagates: a reference must be exact
    p = result.plan
    pv_used = pin.column("pv_forecast_kwh") / _SLOT_H - p.pv_curtailment_kw
    return LoopResult(
        name="perfect_foresight",
        index=np.arange(n_slots),
        grid_import_kw=p.grid_import_kw,
        grid_export_kw=p.grid_export_kw,
        battery_charge_kw=p.battery_charge_kw,
        battery_discharge_kw=p.battery_discharge_kw,
        pv_used_kw=pv_used,
        load_shed_kw=p.load_shedding_kw,
        soc_kwh=p.soc_kwh,
        planned_soc_kwh=p.soc_kwh,
        solve_ms=result.report.solve_time_ms,
    )


@dataclass(frozen=True, kw_only=True)
class BacktestRun:
    """Everything one backtest produced."""

    results: dict[str, LoopResult]
    n_slots: int
    seconds: dict[str, float]


def run_backtest(
    year: YearData,
    cfg: DarkstarConfig,
    spec: BacktestSpec,
    *,
    n_slots: int,
    timezone: str = "Europe/Stockholm",
    progress: Callable[[str, int], None] | None = None,
    forecasters: Mapping[str, SlotForecaster] | None = None,
) -> BacktestRun:
    """Run no battery, the heuristic and Kepler in the loop, and the perfect-foresight plan.

    ``forecasters`` (name -> forecaster, default ``spec.forecast``'s): with one, the loops
    are ``no_battery``, ``heuristic`` and ``kepler``; with several, the heuristic runs on
    the first and Kepler on each (``kepler_<name>``), so forecasts are compared on the
    same plans. ``progress(strategy, slots_done)`` is called as the loops advance.
    """
    if forecasters is None:
        forecasters = {spec.forecast.value: Forecaster(spec, len(year.index))}
    if not forecasters:
        raise InputError("forecasters", "give at least one")
    names = list(forecasters)
    loops = [("no_battery", "no_battery", names[0]), ("heuristic", "heuristic", names[0])]
    loops += [("kepler" if len(names) == 1 else f"kepler_{name}", "kepler", name) for name in names]
    results: dict[str, LoopResult] = {}
    seconds: dict[str, float] = {}
    for label, strategy, forecast in loops:
        t0 = time.perf_counter()

        def report(done: int, label: str = label) -> None:
            if progress is not None:
                progress(label, done)

        result = run_loop(
            year,
            cfg,
            spec,
            strategy=strategy,
            n_slots=n_slots,
            timezone=timezone,
            progress=report,
            forecaster=forecasters[forecast],
        )
        results[label] = replace(result, name=label)
        seconds[label] = time.perf_counter() - t0
    # a whole-period MILP with water or car binaries is no quick reference
    if not spec.water and spec.ev is None:
        t0 = time.perf_counter()
        results["perfect_foresight"] = perfect_foresight(
            year, cfg, n_slots=n_slots, timezone=timezone
        )
        seconds["perfect_foresight"] = time.perf_counter() - t0
    return BacktestRun(results=results, n_slots=n_slots, seconds=seconds)
