"""The agent loop: observe, plan, act and learn, one 15-minute slot at a time.

:class:`AgentLoop` runs in a :class:`~darkstar.service.world.World`: the house (Home
Assistant or the simulated home, through :class:`darkstar.house.House`), what planning
needs, and time. At the start and every full hour it OBSERVES the SoC sensor, PLANS with
:func:`darkstar.planner.generate_schedule` (mode ``full``), writes ``schedule.json``
atomically and records the plan in the learning store. Every slot it ACTS (the slot's
command through :func:`darkstar.executor.dispatcher.write_command`), lets the world run
the slot, and LEARNS: the slot's energies from the counter deltas go to
``slot_observations`` and the planned vs commanded vs observed SoC to the execution log
(DESIGN §2).

What cannot be read is never made up: an unreadable SoC skips the plan (the previous plan
stays in force); an unreadable counter leaves the slot's observation out (a gap, logged
and noted in the execution log), never a guessed number. What cannot be written is not
lost either: a slot's rows the store refuses (disk full, a read-only folder) are kept in
memory and written once it takes them again, while the agent goes on.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from darkstar.errors import DarkstarError, InputError
from darkstar.executor.controller import (
    SlotCommand,
    WaterHeaterSetpoints,
    command_for_slot,
    idle_command,
)
from darkstar.executor.dispatcher import write_command
from darkstar.house import HouseError, Quantity, UnreadableState, read_number, read_on_off
from darkstar.learning.store.forecasts import ForecastSlot, record_forecast
from darkstar.learning.store.repository import (
    last_observation,
    log_execution,
    read_plan_vs_actual,
    record_observation,
    record_plan,
)
from darkstar.physics.capacity import month_peaks_kw, month_start_utc
from darkstar.planner.inputs.types import EvState
from darkstar.planner.output.schedule import write_schedule
from darkstar.planner.pipeline import HEURISTIC_PRIMARY, PlanMode, generate_schedule
from darkstar.planner.scheduling.water_heating import water_day_start_utc
from darkstar.planner.strategy.s_index import StrategyContext

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from types import EllipsisType

    from darkstar.config.models import DarkstarConfig
    from darkstar.house import House
    from darkstar.learning.store import Store
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.strategy.manual_plan import ManualBlock
    from darkstar.service.world import World

__all__ = [
    "DB_FILE",
    "PLANNER_DEBUG_FILE",
    "SCHEDULE_FILE",
    "SLOT",
    "STALE_PLAN",
    "UNSAVED_MAX",
    "AgentLoop",
    "AgentTick",
    "CommandHook",
    "PlanDraft",
    "PlanEvent",
    "PlanTurn",
    "SlotRun",
    "loop_config",
]

logger = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
"""Length of one agent step and of one schedule slot."""

_SLOT_H = SLOT.total_seconds() / 3600.0

SCHEDULE_FILE = "schedule.json"
"""Name of the schedule written in ``out_dir``."""

PLANNER_DEBUG_FILE = "planner_debug.json"
"""Name of the plan's debug document written next to the schedule
(:func:`darkstar.planner.output.debug.planner_debug`)."""

DB_FILE = "planner_learning.db"
"""Name of the learning store in ``out_dir``."""

_REPLAN = timedelta(hours=1)

_FLAG_REACH = timedelta(days=7)  # slots skipped further back are not flagged one by one

UNSAVED_MAX = 2 * 7 * 96
"""Slot rows (observations and execution-log rows) kept in memory while the store cannot
be written: a week of both; beyond it the oldest are dropped (logged)."""

STALE_PLAN = timedelta(hours=3)
"""A plan older than this (three hourly replans missed) is not followed: safe idle."""

#: What a failed read or write of the house raises (the simulated home refuses with
#: InputError, Home Assistant with HouseError; KeyError: an attribute it lacks).
_HOUSE_ERRORS = (HouseError, InputError, KeyError)


class PlanEvent(StrEnum):
    """What the planning part of a step did."""

    PLANNED = "planned"
    """A new plan was made and written."""

    SKIPPED = "skipped"
    """Planning was due but could not run (SoC unavailable, no price for the current
    slot): the previous plan stays in force; :attr:`AgentLoop.plan_problem` says why."""

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
class SlotRun:
    """What :meth:`AgentLoop.begin_step` did, for the tick and :meth:`AgentLoop.finish_step`."""

    now: datetime
    prices: tuple[float, float] | None
    row: dict[str, Any] | None
    cmd: SlotCommand
    note: str | None
    before: dict[str, float] | None
    event: PlanEvent
    solve_ms: float | None


@dataclass(kw_only=True)
class _Plan:
    """The plan in force: its rows and where they start."""

    rows: list[dict[str, Any]]
    start: datetime
    status: str

    def row_at(self, moment: datetime) -> dict[str, Any] | None:
        k = (moment - self.start) // SLOT
        return self.rows[k] if 0 <= k < len(self.rows) else None


def _read(house: House, entity_id: str | None, quantity: Quantity) -> float | None:
    """Read one entity as ``quantity``; ``None`` when it is absent or unreadable (logged)."""
    if entity_id is None:
        return None
    try:
        return read_number(house.get_state(entity_id), quantity)
    except _HOUSE_ERRORS as exc:
        logger.warning("cannot read %s: %s", entity_id, exc)
        return None


def _noted(text: str, note: str | None) -> str:
    """Put ``text`` in front of the execution-log ``note`` (``"; "`` between)."""
    return text + (f"; {note}" if note else "")


def _act(house: House, world: World, cmd: SlotCommand) -> tuple[int, str | None]:
    """Write the command (what changed); return the writes made and a note on failure."""
    try:
        calls = write_command(house, world.entities, cmd)
    except (*_HOUSE_ERRORS, DarkstarError) as exc:
        logger.warning("act: command not fully applied: %s", exc)
        return 0, f"command failed: {exc}"
    return len(calls), None


@dataclass(frozen=True, kw_only=True)
class PlanDraft:
    """Everything one plan needs, frozen at the moment it was observed."""

    pin: PlannerInput
    cfg: DarkstarConfig
    planned_at: datetime
    manual_blocks: tuple[ManualBlock, ...]
    inputs: Mapping[str, Any] = field(default_factory=dict)
    context: StrategyContext | None = None

    def solve(self) -> dict[str, Any]:
        """PLAN: run the pipeline (mode ``full``) and return the ``schedule.json`` document.

        ``meta.inputs`` says where the prices and forecasts came from (:meth:`World.inputs`).
        """
        return self.solve_with_debug(debug=False)[0]

    def solve_with_debug(self, *, debug: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """PLAN like :meth:`solve`; with ``debug`` also return ``planner_debug.json``."""
        outcome = generate_schedule(
            self.pin,
            self.cfg,
            mode=PlanMode.FULL,
            planned_at=self.planned_at,
            manual_blocks=self.manual_blocks,
            debug=debug,
            context=self.context,
        )
        document = outcome.document
        document["meta"]["inputs"] = dict(self.inputs)
        return document, outcome.debug


@dataclass
class PlanTurn:
    """A plan of the agent: drafted under the caller's lock, solved outside it, adopted.

    ``draft`` is ``None`` when the plan was skipped (no SoC, no price for now):
    :meth:`AgentLoop.adopt_plan` then keeps the plan in force. :meth:`solve` reads only the
    frozen draft, so a web request never waits for the MILP behind the caller's lock.
    """

    draft: PlanDraft | None
    solved: tuple[dict[str, Any], dict[str, Any] | None] | None = None

    def solve(self) -> None:
        """Solve the draft (with ``planner_debug.json``) unless skipped or solved already."""
        if self.draft is not None and self.solved is None:
            self.solved = self.draft.solve_with_debug(debug=True)


#: Rewrites the planned command for the slot starting at the given time; returns the
#: command to apply and a note for the execution log (``None`` when unchanged).
CommandHook = Callable[[datetime, SlotCommand], tuple[SlotCommand, str | None]]


class AgentLoop:
    """The agent in a :class:`~darkstar.service.world.World`, one 15-minute step at a time.

    The simulated runs (:mod:`darkstar.simulation.agent_run`) drive it in a loop; the web
    service (:mod:`darkstar.service.runtime`) drives it from a background thread and reads
    its state between steps. It is not thread-safe: the caller serialises :meth:`step`,
    :meth:`plan_now` and reads. A caller that must not hold its lock during a solve splits a
    plan in three: :meth:`plan_turn` or :meth:`prepare_plan` (draft), :meth:`PlanTurn.solve`,
    :meth:`begin_step` or :meth:`adopt_plan` (put in force).

    Attributes
    ----------
    world : World
        The house, what planning needs, and time.
    house : House
        ``world.house``, read and commanded through its entities.
    cfg : DarkstarConfig
        Planner and device settings; replace it to plan with new settings.
    plan_document : dict or None
        The ``schedule.json`` document in force.
    plan_debug : dict or None
        The ``planner_debug.json`` document of the plan in force (written next to
        ``schedule.json``); None before the first plan.
    last_flows_kw : dict
        Mean powers of the last executed slot from the counters (``pv_kwh`` -> kW, ...);
        empty before the first slot or after an unreadable counter.
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
    unsaved : deque
        Slot rows (observations, execution-log rows) the store refused (disk full, a
        read-only folder), written oldest first once it takes them again
        (:attr:`store_problem` says so meanwhile).
    resumed : bool
        Whether the run continues a stored history (set by whoever opened it).
    writes : int
        Service calls made so far (only what changed is written).
    house_error : str or None
        Why the house did not answer the last SoC read (unreachable, refused token);
        ``None`` once it answers again.
    safe_state : str or None
        Why the last slot was not executed as planned, in words: ``SoC unreadable:
        nothing written`` (the devices keep their settings) or ``plan stale ...: safe
        idle`` (a plan older than :data:`STALE_PLAN`); ``None`` when all was normal.
    """

    def __init__(self, *, world: World, cfg: DarkstarConfig, store: Store, out_dir: Path) -> None:
        self.world, self.store = world, store
        self.cfg = loop_config(cfg, water_heater=world.entities.water_heater is not None)
        self.house: House = world.house
        self.tz = world.tz
        self.schedule_path = out_dir / SCHEDULE_FILE
        self.debug_path = out_dir / PLANNER_DEBUG_FILE
        self.start = self.house.now
        self.plan: _Plan | None = None
        self.plan_document: dict[str, Any] | None = None
        self.plan_debug: dict[str, Any] | None = None
        self.last_flows_kw: dict[str, float] = {}
        self.plans_made = self.plans_skipped = self.steps_run = 0
        self.cost_sek = 0.0
        self.shadow = False
        self.command_hook: CommandHook | None = None
        self.manual_blocks: tuple[ManualBlock, ...] = ()
        self.last_command: SlotCommand | None = None
        self.last_note: str | None = None
        self.schedule_write_error: str | None = None
        self.resumed = False
        self.safe_state: str | None = None
        self.writes = 0
        self.house_error: str | None = None
        self.house_down_since: datetime | None = None
        self.plan_problem: str | None = None
        self.ev_problem: str | None = None
        self._last_forecast: tuple[dict[str, str], set[tuple[datetime, float, float]]] | None = None
        self.unsaved: deque[Callable[[], bool]] = deque(maxlen=UNSAVED_MAX)
        self._expected: datetime | None = None  # the slot the next step should begin
        # slots before this were run already (the clock stepped back): never recorded again
        self._rerun_until: datetime | None = None
        if world.realtime:  # a wall clock behind the stored history must not overwrite it
            last = last_observation(store)
            self._rerun_until = None if last is None else last.slot_start + SLOT

    @property
    def steps_left(self) -> int | None:
        """Steps the world can still run; ``None`` when it has no end (a real home)."""
        return self.world.slots_left

    def _house_answered(self, error: str | None) -> None:
        """Note whether the house answered (``error`` None) and since when it does not."""
        self.house_error = error
        if error is None:
            self.house_down_since = None
        elif self.house_down_since is None:
            self.house_down_since = self.house.now

    def observe_soc(self) -> float | None:
        """OBSERVE the battery SoC [%]; ``None`` when the sensor cannot be read."""
        entity_id = self.world.entities.battery_soc
        try:
            value = read_number(self.house.get_state(entity_id), Quantity.PERCENT)
        except UnreadableState as exc:  # the house answered: the sensor is the problem
            self._house_answered(None)
            logger.warning("cannot read %s: %s", entity_id, exc)
            return None
        except _HOUSE_ERRORS as exc:  # the house itself did not answer
            self._house_answered(str(exc))
            logger.warning("cannot read %s: %s", entity_id, exc)
            return None
        self._house_answered(None)
        return value

    @property
    def house_problem(self) -> str | None:
        """What is wrong with the house and what the executor does about it, in words.

        ``None`` when the house answers and the executor acts normally (for ``/health``).
        """
        if self.house_error is not None:
            since = self.house_down_since or self.house.now
            minutes = int((self.house.now - since).total_seconds() // 60)
            return (
                f"house: no answer since {since.astimezone(self.tz).strftime('%H:%M')} "
                f"({minutes} min): {self.house_error}; nothing is written to the house until "
                "it answers (the devices keep their last settings); slots without readings "
                "are filled from its history once it is back, or left as gaps"
            )
        if self.safe_state is not None:
            kept = " (the devices keep their last settings)" * (
                "nothing written" in self.safe_state
            )
            return f"executor: {self.safe_state}{kept}"
        return None

    def _save(self, write: Callable[[], bool]) -> None:
        """Write one slot row to the store, or keep it until the store takes it again.

        ``write`` returns ``False`` when the database write failed (disk full, a read-only
        folder): the row waits in :attr:`unsaved` and is written, oldest first, by the
        next save that succeeds. Nothing measured is lost while the agent runs.
        """
        self.flush_unsaved()
        if not self.unsaved and write():
            return
        if len(self.unsaved) == self.unsaved.maxlen:
            logger.error("store unwritable for too long: the oldest unsaved slot row is dropped")
        self.unsaved.append(write)

    def flush_unsaved(self) -> None:
        """Write the slot rows kept in memory, oldest first, until one fails."""
        while self.unsaved:
            if not self.unsaved[0]():
                return
            self.unsaved.popleft()

    @property
    def store_problem(self) -> str | None:
        """What is wrong with the learning store, in words; ``None`` when all is written."""
        error, waiting = self.store.last_write_error, len(self.unsaved)
        kept = (
            f"{waiting} slot row(s) kept in memory until the store takes them; "
            "the agent goes on planning and acting"
        )
        if error is None:
            return None if not waiting else kept
        return f"{error}; {kept}" if waiting else error

    @property
    def plan_fault(self) -> str | None:
        """What falls short in the plan in force, in words; ``None`` when it is optimal.

        Kepler stopped by ``kepler.time_limit_s`` with a plan (``feasible``: the best found,
        its gap said), or without one (``fallback``: the rule-based plan, Kepler's reason
        said). A heuristic plan on purpose (``planner.primary``) and a deliberate early stop
        close to the bound are no fault.
        """
        document = self.plan_document
        if document is None:
            return None
        meta = document["meta"]
        at = datetime.fromisoformat(str(meta["planned_at"])).astimezone(self.tz)
        made = f"the plan of {at.strftime('%H:%M')}"
        reason = meta.get("fallback_reason")
        if meta["status"] == "fallback" and reason != HEURISTIC_PRIMARY:
            return f"{made} is the rule-based fallback: Kepler gave no plan ({reason})"
        termination = str((meta.get("solver") or {}).get("termination", ""))
        if meta["status"] == "feasible" and "time limit" in termination.lower():
            gap = meta.get("mip_gap")
            shown = "unknown" if gap is None else f"{100 * float(gap):.1f} %"
            return (
                f"{made} is the best Kepler found within kepler.time_limit_s "
                f"({self.cfg.kepler.time_limit_s:g} s): gap to the optimum {shown}"
            )
        return None

    def water_temp_c(self) -> float | None:
        """Read the tank temperature [°C]; ``None`` without a readable sensor."""
        return _read(self.house, self.world.entities.water_temperature, Quantity.TEMPERATURE_C)

    def water_setpoint_c(self) -> float | None:
        """Read the water heater's setpoint [°C]; ``None`` without a water heater."""
        heater = self.world.entities.water_heater
        if heater is None:
            return None
        try:
            state = self.house.get_state(heater)
            if heater.startswith("water_heater."):
                return float(state.attributes["temperature"])
            return read_number(state, Quantity.TEMPERATURE_C)
        except (*_HOUSE_ERRORS, ValueError, TypeError) as exc:
            logger.warning("cannot read the water setpoint of %s: %s", heater, exc)
            return None

    def prices_now(self) -> tuple[float, float] | None:
        """Import and export price of the slot the next step executes [SEK/kWh]."""
        return self.world.prices_at(self.house.now)

    def configure(self, cfg: DarkstarConfig) -> None:
        """Plan with ``cfg`` from now on (the tank only if the house can drive it)."""
        self.cfg = loop_config(cfg, water_heater=self.world.entities.water_heater is not None)

    @property
    def plans_water(self) -> bool:
        """Whether plans include the water heater."""
        return self.cfg.system.has_water_heater

    def water_heated_today_kwh(self) -> float:
        """Energy the water heater used since the water day began, from the counters [kWh]."""
        if not self.plans_water:
            return 0.0
        now = self.house.now
        start = water_day_start_utc(
            now, tz=self.tz, defer_up_to_hours=self.cfg.water_heating.defer_up_to_hours
        )
        rows = read_plan_vs_actual(self.store, start=start, end=now)
        return sum(r.observed.water_heater_kwh for r in rows if r.observed is not None)

    def observe_ev(self) -> EvState | None:
        """OBSERVE the car: SoC and plug, with the configured departure and target.

        ``None`` without a car (``system.has_ev`` and the car's entity roles), or when its
        state cannot be read (:attr:`ev_problem` says why; the plan then leaves the car out
        and the executor leaves the charger as it is).
        """
        entities, ev = self.world.entities, self.cfg.ev
        self.ev_problem = None
        if not (self.cfg.system.has_ev and entities.has_ev):
            return None
        soc_id, plug_id = str(entities.ev_soc), str(entities.ev_plugged)
        try:
            states = self.house.get_states([soc_id, plug_id])
            soc = read_number(states[soc_id], Quantity.PERCENT)
            plugged = read_on_off(states[plug_id])
        except _HOUSE_ERRORS as exc:
            self.ev_problem = f"car state unreadable: {exc}"
            logger.warning("%s", self.ev_problem)
            return None
        now = self.house.now
        return EvState(
            soc_percent=min(100.0, max(0.0, soc)),
            plugged_in=plugged,
            departure=ev.next_departure(now, self.tz),
            target_soc_percent=ev.target_soc_percent,
        )

    def month_peaks_kw(self) -> tuple[float, ...]:
        """Return the capacity tariff's counted peaks of this month measured so far [kW].

        From the stored observations (grid import per slot), the bill's definition
        (:func:`darkstar.physics.capacity.counted_peaks_kw`); today's peak so far is one of
        them. Empty without a capacity tariff.
        """
        tariff, now = self.cfg.grid.capacity_tariff, self.house.now
        if tariff.sek_per_kw_month <= 0:
            return ()  # no store read without a tariff
        rows = read_plan_vs_actual(self.store, start=month_start_utc(now, self.tz), end=now)
        slots = [
            (r.slot_start, r.observed.grid_import_kwh / _SLOT_H)
            for r in rows
            if r.observed is not None
        ]
        return month_peaks_kw(slots, tariff, now=now, tz=self.tz, slot_h=_SLOT_H)

    def pin_at(self, soc_percent: float) -> PlannerInput:
        """Build the planner input from the next slot on, with what the world knows now.

        The car's state and the month's measured peaks are added here, from the house and
        the store, the same for every world.
        """
        pin = self.world.planner_input(
            soc_percent=min(100.0, max(0.0, soc_percent)),
            now=self.house.now,
            water_heated_today_kwh=self.water_heated_today_kwh(),
        )
        state = replace(pin.state, ev=self.observe_ev(), month_peaks_kw=self.month_peaks_kw())
        return replace(pin, state=state)

    def draft_request(self, manual_blocks: Sequence[ManualBlock]) -> PlanDraft | None:
        """OBSERVE the SoC and freeze what a plan from the current slot needs.

        ``None`` when the SoC sensor is unavailable. The draft holds no reference to the
        live agent, so it can be solved without the caller's lock.
        """
        soc = self.observe_soc()
        if soc is None:
            self.plan_problem = "SoC sensor unavailable"
            return None
        now = self.house.now
        try:
            pin = self.pin_at(soc)
        except InputError as exc:  # e.g. no price known for the current slot
            self.plan_problem = exc.message
            logger.warning("%s: cannot plan: %s", now, exc)
            return None
        self.plan_problem = None
        return PlanDraft(
            pin=pin,
            cfg=self.cfg,
            planned_at=now,
            manual_blocks=tuple(manual_blocks),
            inputs=self.world.inputs(now),
            context=self.strategy_context(now),
        )

    def strategy_context(self, now: datetime) -> StrategyContext:
        """Return what a plan knows beyond its slots: the season's PV and the Analyst's bias.

        The season is the world's 14-day mean daily PV (None without measured PV, or when
        the S-Index is static and does not use it); the bias is the Analyst's of the last
        14 days, read only with ``strategy.analyst_overlay`` on
        (:func:`darkstar.learning.analyst.read_hourly_bias`). Either is None, logged, when
        it cannot be read: the plan then goes without it (said in ``meta.s_index``).
        """
        from darkstar.learning.analyst import read_hourly_bias

        season: float | None = None
        try:
            if self.cfg.s_index.mode != "static":  # the static S-Index reads no season
                mean = self.world.pv_outlook(now).mean_daily_kwh
                season = mean if mean > 0 else None
        except (*_HOUSE_ERRORS, DarkstarError):
            logger.warning("strategy context: no PV season", exc_info=True)
        bias = None
        try:
            if self.cfg.strategy.analyst_overlay:
                bias = read_hourly_bias(self.store, now=now, tz=self.tz)
        except DarkstarError:
            logger.warning("strategy context: no Analyst bias", exc_info=True)
        return StrategyContext(pv_season_kwh_per_day=season, hourly_bias=bias)

    def draft_plan(self, manual_blocks: Sequence[ManualBlock]) -> dict[str, Any] | None:
        """OBSERVE the SoC and PLAN from the current slot with ``manual_blocks``.

        Nothing is written or kept; ``None`` when the SoC sensor is unavailable.
        """
        draft = self.draft_request(manual_blocks)
        return None if draft is None else draft.solve()

    def prepare_plan(self) -> PlanTurn:
        """OBSERVE and draft a plan from the current slot (skipped without a SoC or price).

        Solve it with :meth:`PlanTurn.solve` (outside the caller's lock) and put it in
        force with :meth:`adopt_plan`.
        """
        draft = self.draft_request(self.manual_blocks)
        if draft is None:
            self.plans_skipped += 1
            logger.warning("%s: %s, keeping the previous plan", self.house.now, self.plan_problem)
        return PlanTurn(draft)

    def plan_now(self) -> tuple[PlanEvent, float | None]:
        """Plan from the current slot and put the plan in force; skip without a SoC."""
        return self.adopt_plan(self.prepare_plan())

    def adopt_plan(self, turn: PlanTurn) -> tuple[PlanEvent, float | None]:
        """Put the plan of ``turn`` in force (solving it first if the caller did not).

        The plan's ``planner_debug.json`` is kept (:attr:`plan_debug`) and written next to
        ``schedule.json``; a failed write of it is logged and changes nothing else.
        """
        draft = turn.draft
        if draft is None:
            return PlanEvent.SKIPPED, None
        turn.solve()
        assert turn.solved is not None  # noqa: S101 - solve() sets it for a draft
        document, debug = turn.solved
        now = draft.planned_at
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
        self._write_debug(debug)
        record_plan(self.store, document=document)
        self._record_forecast(draft.pin, now)
        meta = document["meta"]
        self.plan = _Plan(rows=document["schedule"], start=now, status=str(meta["status"]))
        self.plan_document = document
        self.plan_debug = debug
        self.plans_made += 1
        objective = meta["objective_sek"]  # None for a fallback plan (no objective)
        logger.info(
            "planned at %s: %s, %s SEK, %.0f ms",
            now.astimezone(self.tz).isoformat(timespec="minutes"),
            meta["status"],
            "-" if objective is None else f"{float(objective):.2f}",
            float(meta["solve_time_ms"]),
        )
        return PlanEvent.PLANNED, float(meta["solve_time_ms"])

    def _record_forecast(self, pin: PlannerInput, now: datetime) -> None:
        """Keep the plan's forecasts in ``slot_forecasts`` when they changed since the last.

        P10/P90 default to the P50 when the world gives none; each quantity is kept with
        where it came from (:meth:`World.forecast_versions`). Unchanged forecasts (the same
        issue planned on again) are not written twice.
        """
        rows, key = [], []
        for slot in pin.slots:
            pv, load = slot.pv_forecast_kwh, slot.load_forecast_kwh
            pv10 = pv if slot.pv_p10_kwh is None else min(slot.pv_p10_kwh, pv)
            pv90 = pv if slot.pv_p90_kwh is None else max(slot.pv_p90_kwh, pv)
            load10 = load if slot.load_p10_kwh is None else min(slot.load_p10_kwh, load)
            load90 = load if slot.load_p90_kwh is None else max(slot.load_p90_kwh, load)
            rows.append(
                ForecastSlot(
                    slot_start=slot.start,
                    pv_p10_kwh=max(0.0, pv10),
                    pv_p50_kwh=max(0.0, pv),
                    pv_p90_kwh=max(0.0, pv90),
                    load_p10_kwh=max(0.0, load10),
                    load_p50_kwh=max(0.0, load),
                    load_p90_kwh=max(0.0, load90),
                )
            )
            key.append((slot.start, pv, load))
        versions = self.world.forecast_versions()
        last = self._last_forecast
        if last is not None and last[0] == versions and set(key[: len(key) // 2]) <= last[1]:
            return
        ok = record_forecast(
            self.store,
            issued_at=now,
            slots=rows,
            pv_source=versions.get("pv", "unknown"),
            load_source=versions.get("load", "unknown"),
        )
        if ok:
            self._last_forecast = (versions, set(key))

    def _write_debug(self, debug: dict[str, Any] | None) -> None:
        """Write ``planner_debug.json`` atomically (None: remove the previous plan's).

        A failure is logged, never raised: the file is a view, the plan goes on without it.
        """
        try:
            if debug is None:
                self.debug_path.unlink(missing_ok=True)
            else:
                write_schedule(debug, self.debug_path)  # the same atomic JSON write
        except (OSError, InputError) as exc:
            logger.warning("%s: %s", self.debug_path, exc)

    def current_row(self) -> dict[str, Any] | None:
        """Return the plan's row for the slot the next step executes, if a plan covers it."""
        return None if self.plan is None else self.plan.row_at(self.house.now)

    def step(self) -> AgentTick:
        """Plan when due (at the start and every full hour after it), then run one slot.

        The three phases, for a caller that must not hold a lock while the world waits
        (a real home's slot lasts 15 wall-clock minutes): :meth:`begin_step` (plan, act),
        ``world.advance(tick=...)`` with :meth:`executor_tick`, :meth:`finish_step` (learn).
        """
        run = self.begin_step()
        self.world.advance(tick=lambda: self.executor_tick(run))
        return self.finish_step(run)

    def _command(self, row: dict[str, Any] | None) -> tuple[SlotCommand, str | None]:
        water = WaterHeaterSetpoints() if self.plans_water else None
        idle = idle_command(
            min_soc_percent=self.cfg.battery.min_soc_percent,
            water_setpoint_c=None if water is None else water.floor_c,
        )
        # the car is driven only by a plan that has it (its state was read)
        planned_ev = self.plan_document is not None and self.plan_document["meta"].get("ev")
        cmd = idle if row is None else command_for_slot(row, water=water, ev=bool(planned_ev))
        if self.command_hook is None:
            return cmd, None
        return self.command_hook(self.house.now, cmd)

    def _counters(self) -> dict[str, float] | None:
        """Read every energy counter in one call [kWh]; ``None`` if any cannot be read."""
        counters = self.world.entities.counters()
        try:
            states = self.house.get_states(list(counters.values()))
            return {
                field: read_number(states[entity_id], Quantity.ENERGY_KWH)
                for field, entity_id in counters.items()
            }
        except _HOUSE_ERRORS as exc:
            logger.warning("cannot read the energy counters: %s", exc)
            return None

    def _slot_order(self, now: datetime) -> bool:
        """Check that ``now`` is the slot after the last one begun; return whether it is not.

        Another slot means the clock stepped (or the agent fell behind a whole slot):
        forward, the slots in between were not run and are flagged in the execution log
        (backfilled later where the house kept a history); back, the slots up to the last
        one begun were run already and are not recorded again (:meth:`finish_step`).
        """
        expected, self._expected = self._expected, now + SLOT
        if expected is None or now == expected:
            return False
        if now > expected:
            first = max(expected, self._rerun_until or expected, now - _FLAG_REACH)
            text = (
                f"not run (the clock moved on from {self._local(expected)} to "
                f"{self._local(now)}): slot not recorded (backfilled later)"
            )
            for k in range((now - first) // SLOT):
                slot = first + k * SLOT
                self._save(
                    partial(
                        log_execution,
                        self.store,
                        at=slot + SLOT,
                        slot_start=slot,
                        commanded={"applied": False},
                        note=text,
                    )
                )
        else:
            self._rerun_until = max(expected, self._rerun_until or expected)
        logger.warning(
            "slot %s follows %s: the clock stepped; planning again",
            self._local(now),
            self._local(expected - SLOT),
        )
        return True

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def plan_turn(self) -> PlanTurn | None:
        """Draft the plan due at this step, or ``None`` when the plan in force is kept.

        A plan is due at the start and every full hour after it; a step of the clock
        (:meth:`_slot_order`) makes one due at once. Call it once per step, before
        :meth:`begin_step`.
        """
        stepped = self._slot_order(self.house.now)
        if stepped or (self.house.now - self.start) % _REPLAN == timedelta(0):
            return self.prepare_plan()
        return None

    def begin_step(self, turn: PlanTurn | None | EllipsisType = ...) -> SlotRun:
        """Put the step's plan in force, then ACT on the current slot; read the counters.

        ``turn`` is what :meth:`plan_turn` returned for this step (solved or not); by
        default the step drafts and solves its plan itself.
        """
        if turn is ...:
            turn = self.plan_turn()
        event, solve_ms = (PlanEvent.KEPT, None) if turn is None else self.adopt_plan(turn)
        house, now = self.house, self.house.now
        prices = self.world.prices_at(now)
        row = self.current_row()
        self.safe_state = None
        if row is not None and self.plan is not None and now - self.plan.start >= STALE_PLAN:
            self.safe_state = f"plan stale (made {self.plan.start.isoformat()}): safe idle"
            row = None  # the idle command; overrides still apply
        cmd, note = self._command(row)
        if self.safe_state is not None:
            note = _noted(self.safe_state, note)
        if self.shadow:
            note = _noted("shadow mode: not applied", note)
        elif self.observe_soc() is None:
            # never act on unknown state: the devices keep what they had, and it is shown
            self.safe_state = "SoC unreadable: nothing written"
            note = _noted(self.safe_state, note)
        else:
            writes, failed = _act(house, self.world, cmd)
            self.writes += writes
            note = failed if note is None else (f"{note}; {failed}" if failed else note)
        return SlotRun(
            now=now,
            prices=prices,
            row=row,
            cmd=cmd,
            note=note,
            before=self._counters(),
            event=event,
            solve_ms=solve_ms,
        )

    def executor_tick(self, run: SlotRun) -> None:
        """Apply the slot's command again mid-slot (every ``executor.interval_seconds``).

        Writes only what drifted (someone changed a setting, the inverter restarted);
        nothing in shadow mode or while the SoC cannot be read.
        """
        if self.shadow:
            return
        if self.observe_soc() is None:
            self.safe_state = "SoC unreadable: nothing written"
            return
        writes, failed = _act(self.house, self.world, run.cmd)
        self.writes += writes
        if failed:
            logger.warning("executor tick: %s", failed)

    def finish_step(self, run: SlotRun) -> AgentTick:
        """LEARN from the slot that just ran: counters, SoC, execution log."""
        house, now, prices, row, note = self.house, run.now, run.prices, run.row, run.note
        cmd, before = run.cmd, run.before
        after = self._counters()
        soc_end = self.observe_soc()
        energies = (
            None
            if before is None or after is None
            else {field: after[field] - before[field] for field in after}
        )
        rerun = self._rerun_until is not None and now < self._rerun_until
        if rerun:  # the clock stepped back: what is stored for the slot stays
            gap: str | None = "clock stepped back: slot run before, not recorded again"
        elif not self.world.runs_whole(now):
            gap = (
                "not seen whole (joined mid-slot, or the clock stepped): "
                "slot not recorded (backfilled later)"
            )
        elif energies is None:
            gap = "counters unreadable: slot not recorded"
        elif any(v < 0 for v in energies.values()):
            gap = "counter reset: slot not recorded"  # a gap, not a negative flow
        elif prices is None:  # backfill records it once the day's prices are known
            gap = "no price known: slot not recorded"
        else:
            gap = None
        if gap is not None:
            self.last_flows_kw = {}
            note = _noted(gap, note)
        elif energies is not None and prices is not None:  # always, once there is no gap
            energies.setdefault("water_heater_kwh", 0.0)
            self.last_flows_kw = {k: v / _SLOT_H for k, v in energies.items()}
            self._save(
                partial(
                    record_observation,
                    self.store,
                    slot_start=now,
                    import_price_sek_per_kwh=prices[0],
                    export_price_sek_per_kwh=prices[1],
                    soc_end_percent=soc_end,
                    water_temp_c=self.water_temp_c(),
                    recorded_at=house.now,
                    **energies,
                )
            )
            self.cost_sek += (
                energies["grid_import_kwh"] * prices[0] - energies["grid_export_kwh"] * prices[1]
            )
        planned_soc = None if row is None else float(row["projected_soc_percent"])
        if run.event is PlanEvent.SKIPPED:
            note = _noted(f"plan skipped: {self.plan_problem}", note)
        if rerun:
            logger.warning("%s: %s", self._local(now), note)
        else:
            self._save(
                partial(
                    log_execution,
                    self.store,
                    at=now + SLOT,  # the slot's end (house.now, unless the clock stepped)
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
            )
        self.last_command, self.last_note = cmd, note
        flows = self.last_flows_kw
        step = self.steps_run
        self.steps_run += 1
        return AgentTick(
            step=step,
            at=now,
            soc_percent=soc_end,
            action="hold" if row is None else str(row["action"]),
            grid_kw=flows.get("grid_import_kwh", 0.0) - flows.get("grid_export_kwh", 0.0),
            cost_sek=self.cost_sek,
            plan_event=run.event,
            plan_status="none" if self.plan is None else self.plan.status,
            solve_ms=run.solve_ms,
        )


def loop_config(cfg: DarkstarConfig, *, water_heater: bool) -> DarkstarConfig:
    """Return ``cfg`` as the loop plans with it: the tank only when the house can drive it.

    ``water_heater``: whether the world has a water heater entity to write setpoints to.
    """
    planned = cfg.system.has_water_heater and water_heater
    return cfg.model_copy(
        update={"system": cfg.system.model_copy(update={"has_water_heater": planned})}
    )
