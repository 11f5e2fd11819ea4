"""Aurora Reflex in the running service: once a house-local day, and on request.

Each run first lets the Analyst (:func:`darkstar.learning.analyst.run_analyst`) recompute
the last days' metrics into ``learning_daily_metrics``; Reflex then reads the store.

Owns the service's Reflex job around :func:`darkstar.learning.reflex.run_reflex`: one run
at a time (a second is refused with :class:`ReflexBusy`, HTTP 409), the daily schedule at
:data:`REFLEX_LOCAL_TIME` on the house's clock (the simulated home's clock when it runs
faster than the wall clock, like Aurora's retraining in :mod:`darkstar.service.training`),
and the last run as the Aurora page shows it.

A scheduled run goes in its own thread, so the agent loop never waits on the store reads
(seconds at most); ``POST /reflex/run`` runs it in the request's thread. Each run is
decided on what the caller read under the runtime's lock (:class:`ReflexRequest`: the
configuration in force, the house time, the Reflex switch). After a run that wrote
``config.yaml`` the job calls ``reload_config`` (the runtime plans with the file from then
on), then says what happened (``notify``) and publishes ``{"type": "reflex", "data":
<run>}`` on the WebSocket. A store, config or file error is logged, notified and kept in
the run (``state: "failed"``); it never reaches the agent loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from darkstar.errors import ConfigError
from darkstar.learning.analyst import run_analyst
from darkstar.learning.reflex import ReflexReport, run_reflex
from darkstar.learning.store import StoreError
from darkstar.physics.timegrid import next_local_time_utc
from darkstar.service.priority import in_background

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.learning.store import Store

__all__ = [
    "REFLEX_LOCAL_TIME",
    "ReflexBusy",
    "ReflexJob",
    "ReflexRequest",
    "ReflexRun",
    "next_reflex_run",
]

logger = logging.getLogger(__name__)

REFLEX_LOCAL_TIME = "04:30"
"""House-local HH:MM of the daily Reflex run: the night's slots are measured by then, the
morning's plans are still ahead, and Aurora's default retraining (03:00) is done."""


class ReflexBusy(RuntimeError):
    """A Reflex run is already going."""


def next_reflex_run(after: datetime, tz: tzinfo) -> datetime:
    """Return the first local :data:`REFLEX_LOCAL_TIME` strictly after ``after`` (UTC).

    Examples
    --------
    >>> from datetime import UTC
    >>> from zoneinfo import ZoneInfo
    >>> next_reflex_run(datetime(2018, 3, 1, 3, 30, tzinfo=UTC), ZoneInfo("Europe/Stockholm"))
    datetime.datetime(2018, 3, 2, 3, 30, tzinfo=datetime.timezone.utc)
    """
    return next_local_time_utc(after, tz, REFLEX_LOCAL_TIME)


@dataclass(frozen=True, kw_only=True)
class ReflexRequest:
    """What one run needs, read under the runtime's lock.

    Attributes
    ----------
    store : Store
        The learning store (signals and the strategy log).
    cfg : DarkstarConfig
        The configuration the agent plans with.
    now : datetime
        The house time: the analysis time and the time of the log rows.
    tz : tzinfo
        The house's time zone.
    apply : bool
        The Reflex switch: write the proposals to ``config.yaml``.
    """

    store: Store
    cfg: DarkstarConfig
    now: datetime
    tz: tzinfo
    apply: bool


@dataclass(frozen=True, kw_only=True)
class ReflexRun:
    """One finished run of Reflex in the service.

    Attributes
    ----------
    at : datetime
        Its analysis time (house time, UTC).
    reason : str
        ``scheduled`` or ``requested``.
    apply : bool
        Whether it was allowed to write (the switch was on).
    report : ReflexReport or None
        What Reflex concluded; ``None`` when it failed before concluding.
    error : str or None
        Why it failed, in words (``None``: it did not).
    """

    at: datetime
    reason: str
    apply: bool
    report: ReflexReport | None
    error: str | None = None

    @property
    def state(self) -> str:
        """``done`` or ``failed``."""
        return "failed" if self.error is not None else "done"

    @property
    def proposed(self) -> int:
        """Number of proposed changes."""
        return 0 if self.report is None else len(self.report.proposals)

    @property
    def applied(self) -> int:
        """Number of changes written to ``config.yaml``."""
        return 0 if self.report is None else len(self.report.applied)

    def summary(self, tz: tzinfo) -> dict[str, Any]:
        """Return the run in a few fields (``at`` in house time), for the Aurora page."""
        return {
            "at": self.at.astimezone(tz).isoformat(),
            "reason": self.reason,
            "state": self.state,
            "dry_run": not self.apply,
            "proposed": self.proposed,
            "applied": self.applied,
            "error": self.error,
        }

    def to_dict(self, tz: tzinfo) -> dict[str, Any]:
        """:meth:`summary` with the full report (:meth:`ReflexReport.to_dict`, UTC times)."""
        return {
            **self.summary(tz),
            "report": None if self.report is None else self.report.to_dict(),
        }


def _changes(report: ReflexReport) -> str:
    return ", ".join(f"{k} {b:g} -> {a:g}" for k, (b, a) in report.applied.items())


def _proposals(report: ReflexReport) -> str:
    return ", ".join(f"{a.key} {a.current:g} -> {a.proposed:g}" for a in report.proposals)


class ReflexJob:
    """The service's Reflex runs: one at a time, daily on the house clock, and on request.

    Parameters
    ----------
    config_path : pathlib.Path
        The user's ``config.yaml`` (Reflex writes its changes there).
    reload_config : callable
        Called after a run wrote ``config.yaml``: plan with the file from now on. May raise
        ``ConfigError`` or ``OSError`` (the run is then failed).
    notify : callable
        ``notify(level, message)``: a notification for the user.
    publish : callable
        ``publish(kind, data)`` to every WebSocket subscriber (any thread).
    since : datetime
        The house time the schedule counts from: a :data:`REFLEX_LOCAL_TIME` after it is due.
    tz : tzinfo
        The house's time zone (for the published event's times).
    """

    def __init__(
        self,
        *,
        config_path: Path,
        reload_config: Callable[[], None],
        notify: Callable[[str, str], None],
        publish: Callable[[str, Any], None],
        since: datetime,
        tz: tzinfo,
    ) -> None:
        self.config_path = config_path
        self._reload, self._notify, self._publish = reload_config, notify, publish
        self._tz = tz
        self._lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._checked = since
        self._last: ReflexRun | None = None
        self._last_report: ReflexReport | None = None

    @property
    def running(self) -> bool:
        """Whether a run is going now."""
        with self._lock:
            return self._running

    @property
    def last_run(self) -> ReflexRun | None:
        """The last finished run, if any."""
        with self._lock:
            return self._last

    @property
    def last_report(self) -> ReflexReport | None:
        """The report of the last run that concluded (a failed run keeps the one before)."""
        with self._lock:
            return self._last_report

    def check_schedule(self, now: datetime) -> bool:
        """Whether a daily run is due at house time ``now``; the caller then starts it.

        Due once for each :data:`REFLEX_LOCAL_TIME` passed since the last due check; while
        a run is going the due time stays pending for the next check.
        """
        due = next_reflex_run(self._checked, self._tz)
        if due > now:
            self._checked = now
            return False
        if self.running:
            return False
        self._checked = now
        return True

    def _begin(self) -> None:
        with self._lock:
            if self._running:
                msg = "a Reflex run is already in progress"
                raise ReflexBusy(msg)
            self._running = True

    def start(self, request: ReflexRequest, *, reason: str) -> None:
        """Run Reflex in a thread (the daily run).

        Raises
        ------
        ReflexBusy
            While a run is going.
        """
        self._begin()
        self._thread = threading.Thread(
            target=in_background(self._run),
            args=(request, reason),
            name="darkstar-reflex",
            daemon=True,
        )
        self._thread.start()

    def run(self, request: ReflexRequest, *, reason: str) -> ReflexRun:
        """Run Reflex now in this thread and return the finished run.

        Raises
        ------
        ReflexBusy
            While a run is going.
        """
        self._begin()
        return self._run(request, reason)

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the daily run's thread (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self, request: ReflexRequest, reason: str) -> ReflexRun:
        """Run, reload the config after changes, report; always ends the run."""
        try:
            run = self._execute(request, reason)
            with self._lock:
                self._last = run
                if run.report is not None:
                    self._last_report = run.report
        finally:
            with self._lock:
                self._running = False
        self._tell(run)
        return run

    def _execute(self, request: ReflexRequest, reason: str) -> ReflexRun:
        report = None
        try:
            analyst = run_analyst(
                request.store,
                now=request.now,
                tz=request.tz,
                min_soc_percent=request.cfg.battery.min_soc_percent,
            )
            if analyst.write_error is not None:
                self._notify(
                    "warning", f"Analyst: daily metrics not written: {analyst.write_error}"
                )
            report = run_reflex(
                request.store,
                request.cfg,
                now=request.now,
                config_path=self.config_path,
                apply=request.apply,
                tz=request.tz,
            )
            if report.applied:
                self._reload()
        except (StoreError, ConfigError, OSError) as exc:
            stage = "config reload" if report is not None else "run"
            logger.exception("Reflex %s failed", stage)
            error = f"{stage} failed: {exc}"
            return ReflexRun(
                at=request.now, reason=reason, apply=request.apply, report=report, error=error
            )
        except Exception as exc:  # a bug must not kill the agent's thread; logged in full
            logger.exception("Reflex run failed")
            return ReflexRun(
                at=request.now,
                reason=reason,
                apply=request.apply,
                report=report,
                error=f"run failed: {exc}",
            )
        return ReflexRun(at=request.now, reason=reason, apply=request.apply, report=report)

    def _tell(self, run: ReflexRun) -> None:
        """Notify what the run did and publish it (``reflex`` event)."""
        report = run.report
        if run.error is not None:
            self._notify("error", f"Reflex {run.error}")
        elif report is not None and report.applied:
            self._notify("info", f"Reflex applied {_changes(report)}; configuration reloaded")
        elif report is not None and report.proposals:
            off = "" if run.apply else " (Reflex is off: not applied)"
            self._notify("info", f"Reflex proposes {_proposals(report)}{off}")
        if report is not None:
            for key, why in report.not_applied.items():
                self._notify("warning", f"Reflex did not apply {key}: {why}")
            if report.log_error is not None:
                self._notify("warning", f"Reflex: strategy log not written: {report.log_error}")
        self._publish("reflex", run.to_dict(self._tz))
