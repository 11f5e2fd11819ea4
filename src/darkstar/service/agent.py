"""The agent loop on the simulated home: observe, plan, act and learn in accelerated time.

One simulated clock advances 15 minutes per step. At the start and every full hour the
agent OBSERVES the house through its Home Assistant-style states (the SoC sensor), PLANS
with :func:`darkstar.planner.generate_schedule` (mode ``full``) over the prices a real
house would know (:func:`darkstar.simulation.backtest.known_price_end`), writes
``schedule.json`` atomically and records the plan in the learning store. Every step it
ACTS (the current slot's command through ``call_service``, as the executor does), lets the
house run the slot on the actual PV and load, and LEARNS: the slot's energies from the
meter deltas go to ``slot_observations`` and the planned vs commanded vs observed SoC to
the execution log (DESIGN §2).

When the SoC sensor reads ``unavailable`` the agent does not plan on a made-up number: it
keeps executing the previous plan, logs a warning and counts the skipped plan.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from darkstar.errors import InputError
from darkstar.executor.controller import SlotCommand, command_for_slot, idle_command
from darkstar.learning.store import open_store
from darkstar.learning.store.repository import (
    DailyMetrics,
    daily_metrics,
    last_observation,
    log_execution,
    record_observation,
    record_plan,
)
from darkstar.planner.output.schedule import write_schedule
from darkstar.planner.pipeline import PlanMode, generate_schedule
from darkstar.simulation.backtest import (
    BacktestSpec,
    Forecaster,
    PriceHorizon,
    apply_command,
    house_spec,
    known_price_end,
    planner_input,
)
from darkstar.simulation.datasets import load_year
from darkstar.simulation.entities import STATE_UNAVAILABLE, SimEntity
from darkstar.simulation.house import SimulatedHouse

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.learning.store import Store
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.strategy.manual_plan import ManualBlock
    from darkstar.simulation.datasets import YearData
    from darkstar.simulation.house import StepResult

__all__ = [
    "DATA_AREA",
    "DATA_TIMEZONE",
    "DATA_YEAR",
    "DEFAULT_START",
    "AgentSummary",
    "AgentLoop",
    "AgentTick",
    "CommandHook",
    "PlanDraft",
    "PlanEvent",
    "loop_config",
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

SLOT = timedelta(minutes=15)
"""Length of one agent step and of one schedule slot."""

SCHEDULE_FILE = "schedule.json"
"""Name of the schedule written in ``out_dir``."""

DB_FILE = "planner_learning.db"
"""Name of the learning store in ``out_dir``."""

_REPLAN = timedelta(hours=1)

#: Meter counters read for each observation, by ``record_observation`` field [kWh].
_METERS = {
    "pv_kwh": SimEntity.PV_ENERGY,
    "load_kwh": SimEntity.LOAD_ENERGY,
    "grid_import_kwh": SimEntity.GRID_IMPORT_ENERGY,
    "grid_export_kwh": SimEntity.GRID_EXPORT_ENERGY,
    "battery_charge_kwh": SimEntity.BATTERY_CHARGE_ENERGY,
    "battery_discharge_kwh": SimEntity.BATTERY_DISCHARGE_ENERGY,
    "water_heater_kwh": SimEntity.WATER_HEATER_ENERGY,
}


class PlanEvent(StrEnum):
    """What the planning part of a step did."""

    PLANNED = "planned"
    """A new plan was made and written."""

    SKIPPED = "skipped"
    """Planning was due but the SoC was unavailable: the previous plan stays in force."""

    KEPT = "kept"
    """No planning was due: the plan in force continues."""


@dataclass(frozen=True, kw_only=True)
class AgentTick:
    """One executed slot, as shown live.

    Attributes
    ----------
    step : int
        Index of the step from the start (0-based).
    at : datetime
        Slot start, tz-aware UTC.
    soc_percent : float or None
        SoC read from the sensor at the slot end; ``None`` if unavailable [%].
    action : str
        Planned action of the slot (``hold`` without a plan).
    grid_kw : float
        Net grid power over the slot, import positive [kW].
    cost_sek : float
        Import cost - export revenue since the start, from the meters [SEK].
    plan_event : PlanEvent
        Whether this step planned, skipped a due plan or kept the plan in force.
    plan_status : str
        Status of the plan in force (``optimal``, ``feasible``, ``fallback``, ``none``).
    solve_ms : float or None
        Solver time of the plan made in this step, ``None`` when none was made [ms].
    """

    step: int
    at: datetime
    soc_percent: float | None
    action: str
    grid_kw: float
    cost_sek: float
    plan_event: PlanEvent
    plan_status: str
    solve_ms: float | None


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


def _observe_soc(house: SimulatedHouse) -> float | None:
    """SoC from the sensor's state string [%]; ``None`` when the sensor is unavailable."""
    state = house.get_state(SimEntity.BATTERY_SOC).state
    return None if state == STATE_UNAVAILABLE else float(state)


def _last_full_day(
    start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """Local midnights bounding the last full local day inside ``[start, end)``, or ``None``."""
    day = end.astimezone(tz).date()
    day_end = datetime(day.year, day.month, day.day, tzinfo=tz)
    before = day - timedelta(days=1)
    day_start = datetime(before.year, before.month, before.day, tzinfo=tz)
    return (day_start, day_end) if day_start >= start else None


@dataclass(kw_only=True)
class _Plan:
    """The plan in force: its rows and where they start."""

    rows: list[dict[str, Any]]
    start: datetime
    status: str

    def row_at(self, moment: datetime) -> dict[str, Any] | None:
        k = (moment - self.start) // SLOT
        return self.rows[k] if 0 <= k < len(self.rows) else None


def _act(house: SimulatedHouse, cmd: SlotCommand) -> str | None:
    """Write the command; return a note instead of raising when an entity refuses it."""
    try:
        apply_command(house, cmd)
    except (InputError, KeyError) as exc:
        # an unavailable setting refuses the write (InputError) or has no range (KeyError)
        logger.warning("act: command not fully applied: %s", exc)
        return f"command failed: {exc}"
    return None


@dataclass(frozen=True, kw_only=True)
class PlanDraft:
    """Everything one plan needs, frozen at the moment it was observed."""

    pin: PlannerInput
    cfg: DarkstarConfig
    planned_at: datetime
    manual_blocks: tuple[ManualBlock, ...]

    def solve(self) -> dict[str, Any]:
        """PLAN: run the pipeline (mode ``full``) and return the ``schedule.json`` document."""
        return generate_schedule(
            self.pin,
            self.cfg,
            mode=PlanMode.FULL,
            planned_at=self.planned_at,
            manual_blocks=self.manual_blocks,
        ).document


#: Rewrites the planned command for the slot starting at the given time; returns the
#: command to apply and a note for the execution log (``None`` when unchanged).
CommandHook = Callable[[datetime, SlotCommand], tuple[SlotCommand, str | None]]


class AgentLoop:
    """The agent on the simulated home, one 15-minute step at a time.

    :func:`run_agent` drives it in a loop; the web service (:mod:`darkstar.service.runtime`)
    drives it from a background thread and reads its state between steps. It is not
    thread-safe: the caller serialises :meth:`step`, :meth:`plan_now` and reads.

    Attributes
    ----------
    house : SimulatedHouse
        The simulated home, read and commanded through its HA-like interface.
    cfg : DarkstarConfig
        Planner and device settings; replace it to plan with new settings.
    plan_document : dict or None
        The ``schedule.json`` document in force.
    last_step : StepResult or None
        What the house did in the last executed slot.
    last_command : SlotCommand or None
        The command of the last executed slot (written unless ``shadow``).
    last_note : str or None
        The execution-log note of the last executed slot.
    shadow : bool
        When true, commands are computed and logged but not written to the house.
    command_hook : CommandHook or None
        Overrides (quick actions, water boost) applied to each slot's command.
    manual_blocks : tuple
        Manual blocks passed to every plan (:mod:`darkstar.planner.strategy.manual_plan`).
    schedule_write_error : str or None
        Why the last ``schedule.json`` write failed; ``None`` after a good write.
    resumed : bool
        Whether the run continues a stored history (:func:`open_agent` with ``resume``).
    """

    def __init__(
        self,
        *,
        year: YearData,
        cfg: DarkstarConfig,
        house: SimulatedHouse,
        store: Store,
        out_dir: Path,
        first: int,
    ) -> None:
        self.year, self.cfg, self.house, self.store = year, cfg, house, store
        self.tz = ZoneInfo(DATA_TIMEZONE)
        self.spec = BacktestSpec()
        self.forecaster = Forecaster(self.spec, len(year.index))  # perfect PV/load forecasts
        self.pv_kw, self.load_kw = year.pv_kw.to_numpy(), year.load_kw.to_numpy()
        self.imp = year.import_price_sek_per_kwh.to_numpy()
        self.exp = year.export_price_sek_per_kwh.to_numpy()
        self.schedule_path = out_dir / SCHEDULE_FILE
        self.start, self.first = house.now, first
        self.plan: _Plan | None = None
        self.plan_document: dict[str, Any] | None = None
        self.last_step: StepResult | None = None
        self.plans_made = self.plans_skipped = self.steps_run = 0
        self.cost_sek = 0.0
        self.shadow = False
        self.command_hook: CommandHook | None = None
        self.manual_blocks: tuple[ManualBlock, ...] = ()
        self.last_command: SlotCommand | None = None
        self.last_note: str | None = None
        self.schedule_write_error: str | None = None
        self.resumed = False

    @property
    def index(self) -> int:
        """Data index of the slot the next step executes."""
        return self.first + self.steps_run

    @property
    def steps_left(self) -> int:
        """Steps left before the end of the data year."""
        return len(self.year.index) - self.index

    def prices_at(self, index: int) -> tuple[float, float]:
        """Import and export price of data slot ``index`` [SEK/kWh]."""
        return float(self.imp[index]), float(self.exp[index])

    def pin_at(self, soc_percent: float) -> PlannerInput:
        """Build the planner input from the next slot on, with the prices a real house knows."""
        now, t = self.house.now, self.index
        known_end = known_price_end(now, tz=self.tz, horizon=PriceHorizon.DAYAHEAD)
        return planner_input(
            self.year,
            first=t,
            end=min(t + (known_end - now) // SLOT, len(self.year.index)),
            soc_percent=min(100.0, max(0.0, soc_percent)),
            tz=self.tz,
            forecaster=self.forecaster,
            spec=self.spec,
        )

    def draft_request(self, manual_blocks: Sequence[ManualBlock]) -> PlanDraft | None:
        """OBSERVE the SoC and freeze what a plan from the current slot needs.

        ``None`` when the SoC sensor is unavailable. The draft holds no reference to the
        live agent, so it can be solved without the caller's lock.
        """
        soc = _observe_soc(self.house)
        if soc is None:
            return None
        return PlanDraft(
            pin=self.pin_at(soc),
            cfg=self.cfg,
            planned_at=self.house.now,
            manual_blocks=tuple(manual_blocks),
        )

    def draft_plan(self, manual_blocks: Sequence[ManualBlock]) -> dict[str, Any] | None:
        """OBSERVE the SoC and PLAN from the current slot with ``manual_blocks``.

        Nothing is written or kept; ``None`` when the SoC sensor is unavailable.
        """
        draft = self.draft_request(manual_blocks)
        return None if draft is None else draft.solve()

    def plan_now(self) -> tuple[PlanEvent, float | None]:
        """Plan from the current slot and put the plan in force; skip without a SoC."""
        now = self.house.now
        document = self.draft_plan(self.manual_blocks)
        if document is None:
            self.plans_skipped += 1
            logger.warning("%s: SoC sensor unavailable, keeping the previous plan", now)
            return PlanEvent.SKIPPED, None
        try:
            write_schedule(document, self.schedule_path)
            self.schedule_write_error = None
        except (OSError, InputError) as exc:
            # the plan is valid and in memory: the executor goes on with it; the failed
            # write is reported (``/health`` degraded), never silent
            self.schedule_write_error = (
                exc.message  # OutputError: "<path>: <reason>"
                if isinstance(exc, InputError)
                else f"{self.schedule_path}: {exc}"
            )
            logger.error("%s", self.schedule_write_error)  # noqa: TRY400 - no traceback needed
        record_plan(self.store, document=document)
        meta = document["meta"]
        self.plan = _Plan(rows=document["schedule"], start=now, status=str(meta["status"]))
        self.plan_document = document
        self.plans_made += 1
        logger.info(
            "planned at %s: %s, %.2f SEK, %.0f ms",
            now.astimezone(self.tz).isoformat(timespec="minutes"),
            meta["status"],
            float(meta["objective_sek"]),
            float(meta["solve_time_ms"]),
        )
        return PlanEvent.PLANNED, float(meta["solve_time_ms"])

    def current_row(self) -> dict[str, Any] | None:
        """Return the plan's row for the slot the next step executes, if a plan covers it."""
        return None if self.plan is None else self.plan.row_at(self.house.now)

    def step(self, *, fault: str | None = None) -> AgentTick:
        """Plan when due (at the start and every full hour after it), then run one slot."""
        if fault is not None:
            self.house.set_available(fault, available=False)
        try:
            event, solve_ms = PlanEvent.KEPT, None
            if (self.house.now - self.start) % _REPLAN == timedelta(0):
                event, solve_ms = self.plan_now()
            return self._run_slot(event=event, solve_ms=solve_ms)
        finally:
            if fault is not None:
                self.house.set_available(fault, available=True)

    def _command(self, row: dict[str, Any] | None) -> tuple[SlotCommand, str | None]:
        idle = idle_command(min_soc_percent=self.cfg.battery.min_soc_percent)
        cmd = idle if row is None else command_for_slot(row)
        if self.command_hook is None:
            return cmd, None
        return self.command_hook(self.house.now, cmd)

    def _run_slot(self, *, event: PlanEvent, solve_ms: float | None) -> AgentTick:
        """ACT on the current slot, run the house through it and LEARN from the meters."""
        house, now, t = self.house, self.house.now, self.index
        row = self.current_row()
        cmd, note = self._command(row)
        if self.shadow:
            note = "shadow mode: not applied" + (f"; {note}" if note else "")
        else:
            failed = _act(house, cmd)
            note = failed if note is None else (f"{note}; {failed}" if failed else note)
        before = house.counters_kwh
        self.last_step = house.step(
            duration=SLOT, pv_kw=float(self.pv_kw[t]), load_kw=float(self.load_kw[t])
        )
        after = house.counters_kwh
        energies = {name: after[meter] - before[meter] for name, meter in _METERS.items()}
        soc_end = _observe_soc(house)
        prices = self.prices_at(t)
        record_observation(
            self.store,
            slot_start=now,
            import_price_sek_per_kwh=prices[0],
            export_price_sek_per_kwh=prices[1],
            soc_end_percent=soc_end,
            water_temp_c=house.water_temp_c,
            recorded_at=house.now,
            **energies,
        )
        planned_soc = None if row is None else float(row["projected_soc_percent"])
        if event is PlanEvent.SKIPPED:
            note = "plan skipped: SoC sensor unavailable" + (f"; {note}" if note else "")
        log_execution(
            self.store,
            at=house.now,
            slot_start=now,
            planned_action=None if row is None else str(row["action"]),
            commanded={
                "mode": cmd.mode.value,
                "charge_limit_kw": cmd.charge_limit_kw,
                "discharge_limit_kw": cmd.discharge_limit_kw,
                "soc_target_percent": cmd.soc_target_percent,
                "water_setpoint_c": cmd.water_setpoint_c,
                "planned_soc_percent": planned_soc,
                "applied": not self.shadow,
            },
            observed_soc_percent=soc_end,
            note=note,
        )
        self.last_command, self.last_note = cmd, note
        import_kwh, export_kwh = energies["grid_import_kwh"], energies["grid_export_kwh"]
        self.cost_sek += import_kwh * prices[0] - export_kwh * prices[1]
        step = self.steps_run
        self.steps_run += 1
        return AgentTick(
            step=step,
            at=now,
            soc_percent=soc_end,
            action="hold" if row is None else str(row["action"]),
            grid_kw=(import_kwh - export_kwh) / (SLOT.total_seconds() / 3600.0),
            cost_sek=self.cost_sek,
            plan_event=event,
            plan_status="none" if self.plan is None else self.plan.status,
            solve_ms=solve_ms,
        )


def loop_config(cfg: DarkstarConfig) -> DarkstarConfig:
    """Return ``cfg`` as the loop plans with it: the simulated tank is not planned."""
    return cfg.model_copy(
        update={"system": cfg.system.model_copy(update={"has_water_heater": False})}
    )


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
) -> tuple[AgentLoop, int]:
    """Open the store and the simulated home at ``start``; return the loop and its step count.

    Parameters are those of :func:`run_agent`. With ``resume`` and no ``start``, the run
    continues after the last slot in the store with its stored SoC (a restart of the service
    goes on where it stopped instead of replaying history). The caller closes ``loop.store``.
    """
    year = load_year(area=DATA_AREA, year=DATA_YEAR)
    cfg = loop_config(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)  # schedule.json is written there
    store = open_store(out_dir / DB_FILE)
    soc_percent = cfg.battery.min_soc_percent
    point = _resume_point(store, year, days) if resume and start is None else None
    if point is not None:
        start, soc_percent = point
        logger.info("resuming after the stored history at %s", start.isoformat())
    start = DEFAULT_START if start is None else start
    try:
        first, n_steps = _check_run(days=days, start=start, year=year)
    except InputError:
        store.close()
        raise
    house = SimulatedHouse(house_spec(cfg, initial_soc_percent=soc_percent), start=start)
    loop = AgentLoop(year=year, cfg=cfg, house=house, store=store, out_dir=out_dir, first=first)
    loop.resumed = point is not None
    return loop, n_steps


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
    agent, n_steps = open_agent(cfg=cfg, out_dir=out_dir, start=start, days=days)
    house, store = agent.house, agent.store
    meters_start = house.counters_kwh
    try:
        for step in range(n_steps):
            tick = agent.step(fault=(faults or {}).get(step))
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
            {name: house.counters_kwh[m] - meters_start[m] for name, m in _METERS.items()}
        ),
        schedule_path=agent.schedule_path,
        db_path=store.path,
        last_day_start=None if last_day is None else last_day[0],
        last_day_metrics=metrics,
    )
