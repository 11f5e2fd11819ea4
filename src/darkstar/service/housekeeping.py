"""Housekeeping in the running service: the learning store pruned once a house-local day.

Aurora's model files are pruned with it: beyond ``retention.model_versions`` per target,
the oldest versions' folders go (the active one stays; the registry keeps every row).

Owns the service's daily run of :func:`darkstar.learning.store.retention.prune` with the
``retention`` section of the configuration in force: at :data:`HOUSEKEEPING_LOCAL_TIME` on
the house's clock (the simulated home's clock when it runs faster than the wall clock,
like Reflex in :mod:`darkstar.service.reflex_job`), in its own thread, one run at a time.
The prune deletes in short batches, so the agent's own writes go on meanwhile.

What it pruned is logged at INFO. A failure is logged with its traceback and kept as the
runtime's ``housekeeping`` problem (``/health`` says ``degraded`` in words) until a later
run succeeds; it never reaches the agent loop. With ``retention.enabled: false`` nothing is
pruned and no problem is kept.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from darkstar.config.loader import load_config
from darkstar.learning.store import open_store
from darkstar.learning.store.repository import last_observation
from darkstar.learning.store.retention import PruneReport, RetentionPolicy, prune, vacuum
from darkstar.physics.timegrid import next_local_time_utc
from darkstar.service.priority import in_background
from darkstar.service.training import ModelFilesPruned, prune_model_files

if TYPE_CHECKING:
    from datetime import tzinfo
    from pathlib import Path

    from darkstar.config.models import RetentionConfig
    from darkstar.learning.store import Store

__all__ = [
    "HOUSEKEEPING_LOCAL_TIME",
    "PROBLEM_KEY",
    "Housekeeping",
    "next_housekeeping_run",
    "prune_file",
    "retention_policy",
]

logger = logging.getLogger(__name__)

HOUSEKEEPING_LOCAL_TIME: Final = "04:45"
"""House-local HH:MM of the daily prune: a quiet hour after Aurora's retraining (03:00)
and Reflex with the Analyst (04:30), before the morning's plans."""

PROBLEM_KEY: Final = "housekeeping"
"""Key of a failed prune in the runtime's problems."""

_SLOT: Final = timedelta(minutes=15)


def next_housekeeping_run(after: datetime, tz: tzinfo) -> datetime:
    """Return the first local :data:`HOUSEKEEPING_LOCAL_TIME` strictly after ``after`` (UTC).

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> stockholm = ZoneInfo("Europe/Stockholm")
    >>> str(next_housekeeping_run(datetime(2018, 3, 24, 12, tzinfo=UTC), stockholm))
    '2018-03-25 02:45:00+00:00'
    """
    return next_local_time_utc(after, tz, HOUSEKEEPING_LOCAL_TIME)


def retention_policy(cfg: RetentionConfig) -> RetentionPolicy:
    """Return the days per table of the ``retention`` section."""
    return RetentionPolicy(
        observations_days=cfg.observations_days,
        plans_days=cfg.plans_days,
        forecasts_days=cfg.forecasts_days,
        weather_runs_days=cfg.weather_runs_days,
        execution_log_days=cfg.execution_log_days,
        strategy_log_days=cfg.strategy_log_days,
    )


class Housekeeping:
    """The service's daily prune of the learning store.

    Parameters
    ----------
    store : Store
        The learning store.
    since : datetime
        The house time the schedule counts from: a :data:`HOUSEKEEPING_LOCAL_TIME` after
        it is due.
    tz : tzinfo
        The house's time zone.
    problems : dict
        The runtime's problems (key -> words): a failed run sets :data:`PROBLEM_KEY`, a
        successful or disabled one removes it; changed only while holding ``lock``.
    lock : threading.RLock
        The runtime's lock.
    data_dir : pathlib.Path, optional
        The data folder: Aurora's old model files under ``models/`` are removed after the
        store's prune, beyond ``retention.model_versions`` per target
        (:func:`~darkstar.service.training.prune_model_files`). ``None``: left alone.
    """

    def __init__(
        self,
        *,
        store: Store,
        since: datetime,
        tz: tzinfo,
        problems: dict[str, str],
        lock: threading.RLock,
        data_dir: Path | None = None,
    ) -> None:
        self.store, self._tz, self._data_dir = store, tz, data_dir
        self._problems, self._runtime_lock = problems, lock
        self._lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._checked = since
        self._last: PruneReport | None = None

    @property
    def last_report(self) -> PruneReport | None:
        """What the last successful run pruned, if any."""
        with self._lock:
            return self._last

    def check(self, now: datetime, retention: RetentionConfig) -> bool:
        """Start the daily run in its thread when its time passed; say whether it started.

        Due once for each :data:`HOUSEKEEPING_LOCAL_TIME` passed since the last check (a
        service that was down for days prunes once); while a run is going the due time
        stays pending for the next check.
        """
        due = next_housekeeping_run(self._checked, self._tz)
        if due > now:
            self._checked = now
            return False
        with self._lock:
            if self._running:
                return False
            self._running = True
        self._checked = now
        self._thread = threading.Thread(
            target=in_background(self.run),
            args=(now, retention),
            name="darkstar-housekeeping",
            daemon=True,
        )
        self._thread.start()
        return True

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the running prune (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def run(self, now: datetime, retention: RetentionConfig) -> PruneReport | None:
        """Prune now in this thread; return the report (``None``: disabled or failed).

        Never raises: a failure is logged and kept in the runtime's problems.
        """
        what = "pruning the learning store"
        try:
            report = None
            if retention.enabled:
                report = prune(self.store, now=now, policy=retention_policy(retention))
                logger.info("housekeeping: %s", report.describe())
                if self._data_dir is not None:
                    what = "removing old model files"
                    files = prune_model_files(
                        self.store, self._data_dir, keep=retention.model_versions
                    )
                    logger.info("housekeeping: %s", files.describe())
            else:
                logger.info("housekeeping: retention disabled, nothing pruned")
        except Exception as exc:  # a store error or a bug: the agent must go on regardless
            logger.exception("housekeeping: %s failed", what)
            problem = f"{what} failed at {now.isoformat()}: {exc}"
            with self._runtime_lock:
                self._problems[PROBLEM_KEY] = problem
            return None
        finally:
            with self._lock:
                self._running = False
        with self._lock:
            self._last = report or self._last
        with self._runtime_lock:
            self._problems.pop(PROBLEM_KEY, None)
        return report


def prune_file(
    db_path: Path,
    config_path: Path | None,
    *,
    dry_run: bool,
    shrink: bool,
    data_dir: Path | None = None,
) -> tuple[PruneReport, tuple[int, int] | None, ModelFilesPruned | None]:
    """Prune a data folder's learning store with its config's ``retention`` days (the CLI).

    The cut-offs count back from the end of the newest observed slot (the house's clock
    as the store knows it, so a simulated home's 2018 store is not pruned against today),
    the wall clock when nothing is observed. ``retention.enabled`` is not consulted: the
    command is the user's. With ``shrink`` (and not ``dry_run``) the file is then
    rewritten without its free pages (:func:`~darkstar.learning.store.retention.vacuum`:
    stop the service first).

    With ``data_dir``, Aurora's old model files under it are pruned too
    (``retention.model_versions``).

    Returns
    -------
    tuple
        The report; with ``shrink``, the file's bytes before and after (else ``None``);
        with ``data_dir``, the model files removed (else ``None``).

    Raises
    ------
    ConfigError
        For an invalid config file.
    StoreError
        When the store cannot be opened, read or written.
    """
    cfg = load_config(config_path)
    store = open_store(db_path)
    try:
        last = last_observation(store)
        now = datetime.now(UTC) if last is None else last.slot_start + _SLOT
        policy = retention_policy(cfg.retention)
        report = prune(store, now=now, policy=policy, dry_run=dry_run)
        files = None
        if data_dir is not None:
            keep = cfg.retention.model_versions
            files = prune_model_files(store, data_dir, keep=keep, dry_run=dry_run)
        sizes = vacuum(store) if shrink and not dry_run else None
    finally:
        store.close()
    return report, sizes, files
