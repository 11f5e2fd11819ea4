"""The running service: the agent loop in a background thread, and what the web reads.

:class:`Runtime` owns one :class:`~darkstar.service.agent.AgentLoop` (opened in its world by
:mod:`darkstar.backends`) and runs it at ``speed`` simulated seconds per real second in a
daemon thread. Every read
and write of the agent goes through ``Runtime.lock``, so the web handlers see a consistent
state between two steps. It also holds what the executor needs from the user (quick-action
overrides, water boost, shadow mode, manual blocks), the plan-run jobs, a short memory of
what each plan projected (for the SoC tunnel and the forecast error), and the event
subscribers of the WebSocket (:meth:`Runtime.subscribe`).

Override durations are in house time: at ``speed`` 180 a 60-minute boost lasts 20 s.

What the user sets (shadow mode, Reflex, overrides, the water boost, manual blocks) is one
:class:`~darkstar.service.user_state.UserState`, written to ``state.json`` *before* it is
applied: a change is persisted and applied, or refused with
:class:`~darkstar.errors.StorageError` and not applied. Failed writes of the agent's own
outputs (``schedule.json``, the learning store) do not stop the control loop; they are
kept in :meth:`Runtime.problems` and reported by ``/health`` and ``/status``.

Aurora Reflex runs once a house-local day and on request (:attr:`Runtime.reflex`, a
:class:`~darkstar.service.reflex_job.ReflexJob`); after it changed ``config.yaml`` the
runtime plans with the file, as after ``PUT /config``. Each new plan's Strategy Engine
decisions go to the store's strategy log when they changed
(:class:`~darkstar.service.strategy_decisions.DecisionLog`).

Plans are drafted under the lock and solved outside it (the agent's hourly plan, a plan
run, saved manual blocks), one at a time and put in force in the order they were drafted,
so a web request never waits for the MILP. Simulations (:meth:`Runtime.simulate_blocks`)
also take a snapshot under the lock and solve outside it, one at a time: a second
concurrent one is refused with :class:`~darkstar.errors.BusyError` (HTTP 429).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from darkstar.config.loader import load_config, read_config_file_data
from darkstar.config.yaml_io import update_config_file
from darkstar.errors import BusyError, InputError, StorageError
from darkstar.executor.controller import InverterMode, SlotCommand
from darkstar.planner.pipeline import HEURISTIC_PRIMARY, PlanMode
from darkstar.planner.strategy.manual_plan import ManualBlock, manual_blocks_from_records
from darkstar.planner.whatif import whatif_export_input
from darkstar.service.agent import SLOT, AgentLoop, PlanEvent, PlanTurn, SlotRun
from darkstar.service.config_guard import ConfigWatch
from darkstar.service.housekeeping import Housekeeping
from darkstar.service.priority import lower_thread_priority
from darkstar.service.reflex_job import ReflexBusy, ReflexJob, ReflexRequest, ReflexRun
from darkstar.service.run_marker import begin_run, end_run
from darkstar.service.strategy_decisions import DecisionLog
from darkstar.service.training import AuroraTraining, TrainingBusy
from darkstar.service.user_state import (
    Override,
    UserState,
    read_user_state,
    write_user_state,
)
from darkstar.service.views import job_view, status_view

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig

__all__ = ["Job", "Notice", "Override", "Runtime", "StrategyEntry", "ensure_config_file"]

logger = logging.getLogger(__name__)

WATER_BOOST_C = 75.0
"""Tank setpoint during a water boost [°C]."""

_MEMORY = timedelta(days=15)
_QUEUE_SIZE = 256
_BLOCK_REACH = timedelta(days=30)  # a manual block further away is a typo
_SIMULATIONS = 1  # simulations solved at once; more are refused (429)


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A notification for the Executor page."""

    at: datetime
    level: str
    message: str


@dataclass(frozen=True, kw_only=True)
class StrategyEntry:
    """One strategy decision (a plan's S-Index and status, an override, a config change)."""

    at: datetime
    kind: str
    message: str
    values: dict[str, float | str | None]


@dataclass(kw_only=True)
class Job:
    """A long-running request (a plan run) and its progress."""

    id: str
    kind: str
    state: str = "queued"
    progress: float = 0.0
    message: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class SlotMemory:
    """What the plans said about one slot: the latest forecast and the projected SoC range."""

    pv_kwh: float
    load_kwh: float
    soc_low_percent: float
    soc_high_percent: float


#: Called after every step with the plan in force, the house time and today's cost [SEK]
#: (outside the lock); the wiring sets it, e.g. to publish ``sensor.darkstar_*`` to HA.
AfterStep = Callable[[Mapping[str, Any], datetime, float], None]


def ensure_config_file(path: Path) -> None:
    """Create the user's ``config.yaml`` with a header comment when it is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Darkstar config: only the keys that differ from config.default.yaml.\n{}\n",
            encoding="utf-8",
        )


def _override_command(kind: str, cmd: SlotCommand, cfg: DarkstarConfig) -> SlotCommand:
    """Return the command a battery override gives instead of the plan's."""
    if kind == "charge":
        return replace(
            cmd,
            mode=InverterMode.FORCE_CHARGE,
            charge_limit_kw=cfg.battery.max_charge_kw,
            discharge_limit_kw=0.0,
            soc_target_percent=cfg.battery.max_soc_percent,
        )
    if kind == "discharge":
        return replace(
            cmd,
            mode=InverterMode.FORCE_DISCHARGE,
            charge_limit_kw=0.0,
            discharge_limit_kw=cfg.battery.max_discharge_kw,
            soc_target_percent=cfg.battery.min_soc_percent,
        )
    return replace(cmd, mode=InverterMode.HOLD, charge_limit_kw=0.0, discharge_limit_kw=0.0)


class Runtime:
    """The agent loop, its thread and the state the web service reads and changes.

    Parameters
    ----------
    data_dir : pathlib.Path
        Where ``schedule.json``, ``planner_learning.db`` and ``config.yaml`` live.
    config_path : pathlib.Path
        The user's ``config.yaml`` (created with a header comment when missing).
    speed : float
        Simulated seconds per real second (> 0); ``inf`` runs without pausing.
    agent : AgentLoop
        The agent in its world, opened by the caller (:mod:`darkstar.backends`): the
        service never builds a house itself.
    """

    def __init__(
        self, *, agent: AgentLoop, data_dir: Path, config_path: Path, speed: float
    ) -> None:
        if not speed > 0:
            msg = f"speed: must be > 0, got {speed}"
            raise ValueError(msg)
        self.data_dir, self.config_path, self.speed = data_dir, config_path, speed
        self.lock = threading.RLock()
        # plans are drafted, solved and put in force one at a time, in order; taken before
        # ``lock`` (never while holding it), and ``lock`` is free during the solve
        self._planning = threading.Lock()
        self._solver: ThreadPoolExecutor | None = None  # made by _solve, under _planning
        self.agent = agent
        self.user_state = UserState()
        self._problems: dict[str, str] = {}
        self._last_problems: list[str] = []  # what problems() found last (lock busy)
        self._simulation = threading.BoundedSemaphore(_SIMULATIONS)
        self._normal_water_c = self.agent.water_setpoint_c()
        self.notices: deque[Notice] = deque(maxlen=200)
        self.strategy: deque[StrategyEntry] = deque(maxlen=500)
        self.ticks: deque[dict[str, Any]] = deque(maxlen=2000)
        self.memory: dict[datetime, SlotMemory] = {}
        self.jobs: dict[str, Job] = {}
        self.started_at = datetime.now(UTC)
        self.schedule_bytes: bytes | None = None
        self._status: dict[str, Any] | None = None
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending_water_reset = False  # put the normal setpoint back after a boost
        self.agent.command_hook = self._command_hook
        self.after_step: AfterStep | None = None
        self.closers: list[Callable[[], None]] = []
        self.training = AuroraTraining(
            store=agent.store,
            data_dir=data_dir,
            publish=self.publish,
            clock=lambda: self.agent.house.now,
        )
        self.reflex = ReflexJob(
            config_path=config_path,
            reload_config=self._reload_after_reflex,
            notify=self.notify,
            publish=self.publish,
            since=agent.house.now,
            tz=agent.tz,
        )
        self.decisions = DecisionLog(agent.store)
        self.config_watch = ConfigWatch(config_path, data_dir)  # hand edits, polled per step
        self.housekeeping = Housekeeping(
            store=agent.store,
            since=agent.house.now,
            tz=agent.tz,
            problems=self._problems,
            lock=self.lock,
            data_dir=data_dir,
        )
        state, note = read_user_state(data_dir)
        self._apply(state)
        if note is not None:
            self.notify("warning", note)

    # --- user state ----------------------------------------------------------------------
    @property
    def override(self) -> Override | None:
        """The battery override in force, if any."""
        return self.user_state.override

    @property
    def water_override(self) -> Override | None:
        """The water boost in force, if any."""
        return self.user_state.water_override

    @property
    def reflex_enabled(self) -> bool:
        """Whether Reflex may tune parameters."""
        return self.user_state.reflex_enabled

    def _apply(self, state: UserState) -> None:
        """Make ``state`` the one the agent obeys (caller holds the lock or is ``__init__``)."""
        self.user_state = state
        # config executor.shadow_mode forces shadow mode on, whatever the switch says
        self.agent.shadow = state.shadow or self.agent.cfg.executor.shadow_mode
        self.agent.manual_blocks = state.manual_blocks
        self._status = None

    def _commit(self, state: UserState) -> None:
        """Persist ``state``, then apply it; on a failed write nothing changes.

        Raises
        ------
        StorageError
            When ``state.json`` cannot be written (the problem is also reported).
        """
        with self.lock:
            try:
                write_user_state(self.data_dir, state)
            except StorageError as exc:
                self._problems["state"] = str(exc)
                self._status = None
                raise
            self._problems.pop("state", None)
            self._apply(state)

    def _expire(self, state: UserState) -> None:
        """Apply an expiry the clock caused, persisting it if possible.

        A failed write is harmless here: an expired override is ignored after a restart too.
        """
        try:
            self._commit(state)
        except StorageError:
            logger.warning("could not persist an expired override; applied in memory")
            self._apply(state)

    def _retry_state_write(self) -> None:
        """After a refused change, check each step whether ``state.json`` is writable again.

        Rewrites the state in force (nothing new), so ``/health`` recovers by itself once the
        folder is repaired.
        """
        if "state" not in self._problems:
            return
        try:
            write_user_state(self.data_dir, self.user_state)
        except StorageError as exc:
            self._problems["state"] = str(exc)
            return
        del self._problems["state"]
        self.notify("info", "the data folder is writable again")

    def problems(self) -> list[str]:
        """Return what is degraded right now, in words (empty when all is well).

        Never waits for the agent (``/health`` answers at once): while another thread
        holds the lock (a step fetching prices or weather can take half a minute), the
        problems as of the last read are returned.
        """
        if not self.lock.acquire(blocking=False):
            return list(self._last_problems)
        try:
            found = dict(self._problems)
            if self.agent.schedule_write_error is not None:
                found["schedule"] = self.agent.schedule_write_error
            store_problem = self.agent.store_problem
            if store_problem is not None:
                found["store"] = store_problem
            problems = [f"storage: {found[k]}" for k in sorted(found)]
            inputs = self.agent.world.inputs(self.agent.house.now)
            for name, key in (("clock", "clock"), ("prices", "prices"), ("PV forecast", "pv")):
                fault = (inputs.get(key) or {}).get("fault")
                if fault:
                    problems.append(f"{name}: {fault}")
            if self.config_watch.fault is not None:
                problems.append(f"config: {self.config_watch.fault}")
            if (plan := self.agent.plan_fault) is not None:
                problems.append(f"planner: {plan}")
            house = self.agent.house_problem
            if house is not None:
                problems.insert(0, house)
            self._last_problems = problems
        finally:
            self.lock.release()
        return list(problems)

    # --- running -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the agent thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def warm_up(self, slots: int) -> None:
        """Run ``slots`` steps at once (no pause), so history exists before serving."""
        left = self.agent.steps_left
        for _ in range(max(0, slots if left is None else min(slots, left))):
            self.step()

    def start(self) -> None:
        """Start the agent thread (idempotent), and Aurora's first training when it learns.

        The first training learns the house's history (the simulated home's since 1
        January) in the background; until it is done the plans use the prior.
        """
        if self.running:
            return
        unclean = begin_run(self.data_dir)  # a marker left behind: killed, crashed
        if unclean is not None:
            now = self.agent.house.now.astimezone(self.agent.tz)
            self.notify("warning", f"{unclean} (at {now.strftime('%Y-%m-%d %H:%M')})")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="darkstar-agent", daemon=True)
        self._thread.start()
        with self.lock:
            engine, now = self.agent.world.aurora, self.agent.house.now
        if engine is not None and not self.training.started_once:
            try:
                self.training.start(engine, now, reason="first training")
            except TrainingBusy:
                logger.warning("Aurora: first training not started", exc_info=True)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, wait for it and close the store."""
        self._stop.set()
        self.agent.world.close()  # a real-time world stops waiting for the slot's end
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.training.join(timeout_s)  # a model half written is worse than a late stop
        self.reflex.join(timeout_s)
        self.housekeeping.join(timeout_s)
        with self._planning:  # a plan run or saved blocks may still be solving
            if self._solver is not None:
                self._solver.shutdown(wait=True)
                self._solver = None
        with self.lock:
            self.agent.store.close()
            for close in self.closers:  # e.g. the Home Assistant connections
                close()
            self.closers.clear()
        end_run(self.data_dir)

    def _loop(self) -> None:
        pause_s = 900.0 / self.speed if math.isfinite(self.speed) else 0.0
        while not self._stop.is_set():
            left = self.agent.steps_left
            if left is not None and left <= 0:
                self.notify("warning", "end of the simulated data year: the agent stopped")
                self.refresh_status()
                return
            try:
                self.step()
            except Exception:  # the loop must survive one bad step; it is logged in full
                logger.exception("agent step failed")
                self.notify("error", "agent step failed; see the Debug log")
            self._stop.wait(pause_s)

    def step(self) -> None:
        """Run one agent step and publish what changed.

        The plan due at the step is drafted under the lock, solved outside it and put in
        force under it again (:meth:`_plan_and_act`), so reads never wait for the MILP. A
        real-time world's slot lasts 15 wall-clock minutes: the lock is released while the
        world waits (the executor tick takes it briefly every
        ``executor.interval_seconds``) and taken again to learn.
        """
        world = self.agent.world
        run = self._plan_and_act()
        if world.realtime:
            if run.event is not PlanEvent.KEPT:
                self._publish_step()
            world.advance(tick=partial(self._executor_tick, run))
            with self.lock:
                tick = self.agent.finish_step(run)
                self._record_tick(tick.soc_percent)
        else:
            with self.lock:  # the simulated home moves on: readers see before or after
                world.advance(tick=partial(self._executor_tick, run))
                tick = self.agent.finish_step(run)
                self._record_tick(tick.soc_percent)
        with self.lock:
            agent = self.agent
            started = self.training.check_schedule(
                agent.world.aurora,
                schedule=agent.cfg.automation.ml_training,
                now=agent.house.now,
                tz=agent.tz,
            )
        if started:
            self.notify("info", "Aurora: scheduled retraining started")
        self._check_reflex()
        with self.lock:  # the daily prune of the learning store, in its own thread
            self.housekeeping.check(self.agent.house.now, self.agent.cfg.retention)
        self._check_config_file()
        self._publish_step()

    def _plan_and_act(self) -> SlotRun:
        """Plan if due (solved outside the lock), then ACT on the current slot."""
        with self._planning:
            with self.lock:
                self._retry_state_write()
                turn = self.agent.plan_turn()
            if turn is not None:
                self._solve(turn)
            with self.lock:
                run = self.agent.begin_step(turn)
                self._plan_news(run.event)
        return run

    def _replan(self) -> tuple[PlanEvent, float | None]:
        """Plan now (drafted under the lock, solved outside it); caller holds ``_planning``."""
        with self.lock:
            turn = self.agent.prepare_plan()
        self._solve(turn)
        with self.lock:
            event, solve_ms = self.agent.adopt_plan(turn)
            if event is PlanEvent.PLANNED:
                self._after_plan()
        return event, solve_ms

    def _solve(self, turn: PlanTurn) -> None:
        """Solve ``turn`` in the solver thread, at background priority; caller holds ``_planning``.

        The MILP is the service's heaviest work; a thread of its own, niced
        (:func:`~darkstar.service.priority.lower_thread_priority`), leaves the cores to the
        web handlers when they need them. The caller waits for it, so plans stay in order.
        """
        if self._solver is None:
            self._solver = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="darkstar-solver",
                initializer=lower_thread_priority,
            )
        self._solver.submit(turn.solve).result()

    def _check_config_file(self) -> None:
        """Plan with ``config.yaml`` when it was edited by hand and is valid; else keep."""
        with self.lock:
            cfg, new_fault = self.config_watch.poll()
        if cfg is not None:
            self.replace_config(cfg, message="config.yaml changed on disk: reloaded")
            self.notify("info", "config.yaml changed on disk: reloaded")
        elif new_fault:
            self.notify("error", f"config.yaml refused: {self.config_watch.fault}")

    # --- Reflex ----------------------------------------------------------------------------
    def _reflex_request(self) -> ReflexRequest:
        """Read what a Reflex run needs from the agent, under the lock."""
        with self.lock:
            agent = self.agent
            return ReflexRequest(
                store=agent.store,
                cfg=agent.cfg,
                now=agent.house.now,
                tz=agent.tz,
                apply=self.reflex_enabled,
            )

    def _check_reflex(self) -> None:
        """Start the daily Reflex run in its thread when its local time has passed."""
        with self.lock:
            due = self.reflex.check_schedule(self.agent.house.now)
        if not due:
            return
        try:
            self.reflex.start(self._reflex_request(), reason="scheduled")
        except ReflexBusy:  # a requested run started meanwhile
            logger.info("Reflex: daily run skipped, a run is going")

    def run_reflex_now(self) -> ReflexRun:
        """Run Reflex now in this thread (a dry run unless the switch is on).

        Raises
        ------
        ReflexBusy
            While a run is going.
        """
        return self.reflex.run(self._reflex_request(), reason="requested")

    def _reload_after_reflex(self) -> None:
        """Plan with ``config.yaml`` as Reflex wrote it (raises ``ConfigError``)."""
        cfg = self.load_cfg()
        self.config_watch.saved()
        self.replace_config(cfg, message="configuration reloaded after Reflex")

    def start_training(self) -> dict[str, Any]:
        """Retrain Aurora now (in a thread); return the training state.

        Raises
        ------
        TrainingBusy
            Without a learning forecaster, or while a training runs.
        """
        with self.lock:
            agent = self.agent
            now, tz, engine = agent.house.now, agent.tz, agent.world.aurora
            schedule = agent.cfg.automation.ml_training
        self.training.start(engine, now, reason="requested")
        return self.training.view(schedule=schedule, now=now, tz=tz)

    def _executor_tick(self, run: SlotRun) -> None:
        with self.lock:
            self.agent.executor_tick(run)

    def _plan_news(self, event: PlanEvent) -> None:
        """Keep a new plan's strategy entries, or say why a due plan was skipped (lock held)."""
        if event is PlanEvent.PLANNED:
            self._after_plan()
        elif event is PlanEvent.SKIPPED:
            problem = self.agent.plan_problem
            self.notify("warning", f"{problem}: plan skipped, previous plan kept")

    def _publish_step(self) -> None:
        """Publish the fresh status live and run the after-step hook (lock not held)."""
        with self.lock:
            self._status = None
            status = self.status()
            document = self.agent.plan_document
            now = self.agent.house.now
        self.publish("status", status)
        if self.after_step is not None and document is not None:
            try:  # e.g. the plan's entities in Home Assistant; never breaks the loop
                self.after_step(document, now, float(status["cost_today_sek"]))
            except Exception:
                logger.exception("after-step hook failed")

    def status(self) -> dict[str, Any]:
        """Return the live status, computed once per change (routes and events share it)."""
        with self.lock:
            if self._status is None:
                self._status = status_view(self)
            return self._status

    @property
    def cached_status(self) -> dict[str, Any] | None:
        """The status computed since the last change, or ``None`` (read without the lock)."""
        return self._status

    def refresh_status(self) -> None:
        """Drop the cached status: the next read computes it again."""
        with self.lock:
            self._status = None

    def set_shadow(self, *, enabled: bool) -> None:
        """Turn shadow mode on or off (raises ``StorageError``: nothing changed)."""
        with self.lock:
            self._commit(replace(self.user_state, shadow=enabled))
        self.notify("info", f"shadow mode {'on' if enabled else 'off'}")

    def set_reflex(self, *, enabled: bool) -> None:
        """Turn Reflex on or off (raises ``StorageError``: nothing changed)."""
        with self.lock:
            self._commit(replace(self.user_state, reflex_enabled=enabled))
        self.notify("info", f"Reflex {'on' if enabled else 'off'}")

    # --- plans -------------------------------------------------------------------------
    def _after_plan(self) -> None:
        """Cache the encoded schedule, remember projections, log the strategy."""
        document = self.agent.plan_document
        self._status = None
        if document is None:
            return
        self.schedule_bytes = json.dumps(document, separators=(",", ":")).encode()
        meta = document["meta"]
        for row in document["schedule"]:
            start = datetime.fromisoformat(row["start"]).astimezone(UTC)
            soc = float(row["projected_soc_percent"])
            old = self.memory.get(start)
            self.memory[start] = SlotMemory(
                pv_kwh=float(row["adjusted_pv_kwh"]),
                load_kwh=float(row["adjusted_load_kwh"]),
                soc_low_percent=soc if old is None else min(old.soc_low_percent, soc),
                soc_high_percent=soc if old is None else max(old.soc_high_percent, soc),
            )
        horizon_start = self.agent.house.now - _MEMORY
        for old_start in [s for s in self.memory if s < horizon_start]:
            del self.memory[old_start]
        s_index = meta.get("s_index") or {}
        planned_at = datetime.fromisoformat(str(meta["planned_at"])).astimezone(UTC)
        objective = meta["objective_sek"]  # None for a fallback plan
        self.strategy.append(
            StrategyEntry(
                at=planned_at,
                kind="plan",
                message=(
                    f"plan {meta['status']}: {len(document['schedule'])} slots, "
                    + ("no objective" if objective is None else f"objective {objective:.2f} SEK")
                ),
                values={
                    "status": str(meta["status"]),
                    "load_factor": s_index.get("load_factor"),
                    "pv_confidence_percent": s_index.get("pv_confidence_percent"),
                    "target_soc_percent": meta.get("target_soc_percent"),
                    "solve_time_ms": float(meta["solve_time_ms"]),
                },
            )
        )
        self.decisions.record(meta, at=planned_at)
        for warning in meta.get("warnings") or []:
            self.strategy.append(
                StrategyEntry(at=planned_at, kind="warning", message=str(warning), values={})
            )
        reason = meta.get("fallback_reason")
        if meta["status"] == "fallback" and reason != HEURISTIC_PRIMARY:
            self.notify("warning", f"planner fell back to the heuristic: {reason}")
        self.publish("schedule", {"planned_at": meta["planned_at"], "status": meta["status"]})

    def start_plan_job(self) -> Job:
        """Start a plan run in its own thread; raise ``RuntimeError`` if one is running."""
        with self.lock:
            if any(j.state in {"queued", "running"} for j in self.jobs.values()):
                msg = "a plan run is already in progress"
                raise RuntimeError(msg)
            job = Job(id=uuid.uuid4().hex[:12], kind="plan", message="queued")
            self.jobs[job.id] = job
        threading.Thread(target=self._run_plan_job, args=(job,), daemon=True).start()
        return job

    def _job_update(self, job: Job, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(job, key, value)
        self.publish("job", job_view(job))

    def _run_plan_job(self, job: Job) -> None:
        self._job_update(job, state="running", progress=0.1, message="planning")
        try:
            with self._planning:
                event, solve_ms = self._replan()
        except Exception as exc:  # reported on the job and in the log, never lost
            logger.exception("plan run %s failed", job.id)
            self._job_update(
                job, state="failed", progress=1.0, message=str(exc), finished_at=datetime.now(UTC)
            )
            return
        message = (
            f"planned in {solve_ms:.0f} ms"
            if solve_ms is not None
            else f"{self.agent.plan_problem}: plan skipped"
        )
        state = "done" if event is PlanEvent.PLANNED else "failed"
        self._job_update(
            job, state=state, progress=1.0, message=message, finished_at=datetime.now(UTC)
        )

    def config_file_data(self) -> dict[str, Any]:
        """Return the user's ``config.yaml`` as nested data (defaults not merged).

        Raises
        ------
        ConfigError
            When the file is unreadable or not YAML (naming the file).
        """
        return dict(read_config_file_data(self.config_path))

    def save_config(self, changes: Mapping[str, Any], cfg: DarkstarConfig) -> None:
        """Write validated dotted-key ``changes`` to ``config.yaml`` and plan with ``cfg``."""
        update_config_file(self.config_path, changes)
        self.config_watch.saved()
        self.replace_config(cfg)
        self.notify("info", f"configuration saved: {', '.join(sorted(changes))}")

    def replace_config(self, cfg: DarkstarConfig, *, message: str = "configuration saved") -> None:
        """Plan with ``cfg`` from now on (the water heater stays off in the simulated loop)."""
        with self.lock:
            self.agent.configure(cfg)
            self._status = None
            self.strategy.append(
                StrategyEntry(at=self.agent.house.now, kind="config", message=message, values={})
            )

    # --- manual blocks ---------------------------------------------------------------------
    def _parse_blocks(self, blocks: list[dict[str, str]]) -> tuple[ManualBlock, ...]:
        """Blocks from the API (ISO text, no offset = house time) as checked planner blocks."""
        records = []
        for i, block in enumerate(blocks):
            times = {}
            for name in ("start", "end"):
                try:
                    moment = datetime.fromisoformat(block[name])
                except ValueError as exc:
                    raise InputError(f"blocks[{i}].{name}", "is not an ISO 8601 time") from exc
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=self.agent.tz)  # house local time
                try:
                    times[name] = moment.astimezone(UTC)
                except OverflowError as exc:  # year 1 or 9999 shifted by the offset
                    raise InputError(f"blocks[{i}].{name}", "is out of range") from exc
                if abs(times[name] - self.agent.house.now) > _BLOCK_REACH:
                    raise InputError(
                        f"blocks[{i}].{name}", f"must be within {_BLOCK_REACH.days} days of now"
                    )
            records.append({**block, **times})
        return manual_blocks_from_records(records)

    def blocks_view(self) -> list[dict[str, str]]:
        """Return the saved blocks as JSON (local times)."""
        with self.lock:
            tz = self.agent.tz
            return [
                {
                    "start": b.start.astimezone(tz).isoformat(),
                    "end": b.end.astimezone(tz).isoformat(),
                    "action": str(b.action),
                }
                for b in self.user_state.manual_blocks
            ]

    def simulate_blocks(self, blocks: list[dict[str, str]]) -> dict[str, Any]:
        """Plan now with ``blocks`` without saving; compare costs over the same slots.

        The planner input is taken under the lock and solved outside it, so the agent and
        every reader go on meanwhile. One simulation runs at a time.

        Raises
        ------
        BusyError
            While another simulation is running.
        InputError
            For a bad block, or when the SoC sensor is unavailable.
        """
        if not self._simulation.acquire(blocking=False):
            raise BusyError("simulation", "another simulation is running; try again shortly")
        try:
            with self.lock:
                parsed = self._parse_blocks(blocks)
                draft = self.agent.draft_request(parsed)
                document_now = self.agent.plan_document
            if draft is None:
                raise InputError("soc", "the SoC sensor is unavailable: cannot simulate now")
            document = draft.solve()
        finally:
            self._simulation.release()
        current = (
            {}
            if document_now is None
            else {r["start"]: float(r["planned_cost_sek"]) for r in document_now["schedule"]}
        )
        simulated = {r["start"]: float(r["planned_cost_sek"]) for r in document["schedule"]}
        common = [start for start in simulated if start in current]
        current_cost = sum(current[s] for s in common)
        simulated_cost = sum(simulated[s] for s in common)
        return {
            "schedule": document,
            "current_cost_sek": current_cost,
            "simulated_cost_sek": simulated_cost,
            "delta_sek": simulated_cost - current_cost,
        }

    def whatif_export(self, *, energy_kwh: float, at: str) -> dict[str, Any]:
        """Re-plan from now with ``energy_kwh`` exported in the window ``at``; save nothing.

        The agent's planner input (its prices, forecasts, manual blocks and config, mode
        ``full``) is taken under the lock and solved twice outside it, like a simulation,
        one at a time (:func:`darkstar.planner.whatif.whatif_export_input`).

        Raises
        ------
        BusyError
            While another simulation is running.
        InputError
            Naming ``energy_kwh`` or ``at``, or when the SoC sensor is unavailable.
        """
        if not self._simulation.acquire(blocking=False):
            raise BusyError("simulation", "another simulation is running; try again shortly")
        try:
            with self.lock:
                draft = self.agent.draft_request(self.agent.manual_blocks)
            if draft is None:
                problem = self.agent.plan_problem or "the SoC sensor is unavailable"
                raise InputError("soc", f"{problem}: cannot plan a what-if now")
            result = whatif_export_input(
                draft.pin,
                draft.cfg,
                energy_kwh=energy_kwh,
                at=at,
                mode=PlanMode.FULL,
                manual_blocks=draft.manual_blocks,
            )
        finally:
            self._simulation.release()
        return result.to_dict(include_documents=False)

    def save_blocks(self, blocks: list[dict[str, str]]) -> None:
        """Save ``blocks`` for every later plan and replan now.

        Raises
        ------
        InputError
            For a bad block (nothing saved).
        StorageError
            When ``state.json`` cannot be written (nothing saved, nothing applied).
        """
        with self._planning:  # no plan drafted before the blocks is put in force after them
            with self.lock:
                parsed = self._parse_blocks(blocks)
                self._commit(replace(self.user_state, manual_blocks=parsed))
                self.strategy.append(
                    StrategyEntry(
                        at=self.agent.house.now,
                        kind="manual",
                        message=f"{len(parsed)} manual block(s) saved",
                        values={},
                    )
                )
            self._replan()

    # --- executor ------------------------------------------------------------------------
    def set_override(self, kind: str | None, minutes: int) -> Override | None:
        """Set (or clear with ``None``) the battery override for ``minutes`` of house time.

        Raises ``StorageError`` when it cannot be persisted (nothing changed).
        """
        with self.lock:
            now = self.agent.house.now
            override = (
                None
                if kind is None
                else Override(kind=kind, until=now + timedelta(minutes=minutes), created_at=now)
            )
            self._commit(replace(self.user_state, override=override))
            text = "cleared" if kind is None else f"{kind} for {minutes} min"
            self.notify("info", f"battery override {text}")
            return override

    def set_water_boost(self, minutes: int) -> Override | None:
        """Boost the tank to :data:`WATER_BOOST_C` for ``minutes`` (0 cancels).

        Raises ``StorageError`` when it cannot be persisted (nothing changed).
        """
        with self.lock:
            now = self.agent.house.now
            if minutes <= 0:
                self._commit(replace(self.user_state, water_override=None))
                self._pending_water_reset = True
                self.notify("info", "water boost cancelled")
                return None
            boost = Override(
                kind="water_boost", until=now + timedelta(minutes=minutes), created_at=now
            )
            self._commit(replace(self.user_state, water_override=boost))
            self.notify("info", f"water boost for {minutes} min")
            return boost

    def _command_hook(self, now: datetime, cmd: SlotCommand) -> tuple[SlotCommand, str | None]:
        notes = []
        override = self.override
        if override is not None and now >= override.until:
            self.notify("info", f"battery override {override.kind} ended")
            self._expire(replace(self.user_state, override=None))
            override = None
        if override is not None:
            cmd = _override_command(override.kind, cmd, self.agent.cfg)
            notes.append(f"override {override.kind}")
        water = self.water_override
        if water is not None and now >= water.until:
            self.notify("info", "water boost ended")
            self._expire(replace(self.user_state, water_override=None))
            water, self._pending_water_reset = None, True
        if water is not None:
            cmd = replace(cmd, water_setpoint_c=WATER_BOOST_C)
            notes.append("water boost")
        elif self._pending_water_reset:
            cmd = replace(cmd, water_setpoint_c=self._normal_water_c)
            self._pending_water_reset = False
        return cmd, "; ".join(notes) or None

    def _record_tick(self, observed_soc_percent: float | None) -> None:
        cmd, agent = self.agent.last_command, self.agent
        if cmd is None:
            return
        slot_start = agent.house.now - SLOT
        row = None if agent.plan is None else agent.plan.row_at(slot_start)
        self.ticks.append(
            {
                "at": agent.house.now,
                "slot_start": slot_start,
                "planned_action": None if row is None else str(row["action"]),
                "planned_soc_percent": None if row is None else row["projected_soc_percent"],
                "observed_soc_percent": observed_soc_percent,
                "mode": cmd.mode.value,
                "charge_limit_kw": cmd.charge_limit_kw,
                "discharge_limit_kw": cmd.discharge_limit_kw,
                "soc_target_percent": cmd.soc_target_percent,
                "water_setpoint_c": cmd.water_setpoint_c,
                "applied": not agent.shadow,
                "note": agent.last_note,
            }
        )

    # --- notifications and events ---------------------------------------------------------
    def notify(self, level: str, message: str) -> None:
        """Add a notification (and log it)."""
        logger.log(logging.WARNING if level != "info" else logging.INFO, "%s", message)
        self.notices.append(Notice(at=self.agent.house.now, level=level, message=message))

    def subscribe(self) -> asyncio.Queue[str]:
        """Return a queue receiving every event as JSON text (call from the event loop)."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._subscribers.add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop sending events to ``queue``."""
        self._subscribers = {s for s in self._subscribers if s[1] is not queue}

    def publish(self, kind: str, data: Any) -> None:
        """Send ``{"type": kind, "data": data}`` to every subscriber (from any thread)."""
        text = json.dumps({"type": kind, "data": data}, default=_json_default)
        for loop, queue in list(self._subscribers):
            try:
                loop.call_soon_threadsafe(_offer, queue, text)
            except RuntimeError:  # that event loop is closed: forget the subscriber
                self._subscribers.discard((loop, queue))

    def memory_for(self, start: datetime) -> SlotMemory | None:
        """Return what the plans said about the slot starting at ``start``."""
        return self.memory.get(start)

    def load_cfg(self) -> DarkstarConfig:
        """Read ``config.yaml`` again (raises ``ConfigError``)."""
        return load_config(self.config_path)


def _offer(queue: asyncio.Queue[str], text: str) -> None:
    """Put ``text`` on ``queue``, dropping the oldest event when a slow client lags."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    msg = f"cannot encode {type(value).__name__}"
    raise TypeError(msg)
