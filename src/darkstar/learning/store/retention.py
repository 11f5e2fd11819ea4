"""Retention of the learning store: rows older than each table's cut-off are deleted.

:func:`cutoffs` is pure: the cut-off of each pruned table from a time and a
:class:`RetentionPolicy` (days per table). :func:`prune` deletes, table by table, the rows
that lie wholly before their cut-off, in batches of at most ``batch_rows`` rows, each
its own short transaction with a pause after it: a first prune of years of history never
holds SQLite's one write lock for long, so the agent's writes (which wait up to the
store's busy timeout, 5 s) go on between two batches.

What "older than the cut-off" means per table (a row at the cut-off is kept):

============================  =============================================  ===============
table                         deleted when                                   days
============================  =============================================  ===============
``slot_observations``         ``slot_start_utc < cut-off``                   observations
``learning_daily_metrics``    the local ``day`` < the cut-off's UTC date     observations
                              minus one (a local day ends at most 12 h
                              after the UTC one, so the whole day lies
                              before the cut-off in every zone)
``plans`` + ``slot_plans``    the plan's ``horizon_end_utc <= cut-off``      plans
                              (every slot of it starts before the cut-off;
                              its slots go with it, counted apart)
``slot_forecasts``            ``slot_start_utc < cut-off`` (the forecasts    forecasts
                              of later slots stay, whenever issued, so
                              "as issued" pairs after the cut-off are whole)
``weather_runs``              ``hour_utc < cut-off`` (likewise: every run's  weather_runs
                              hours from the cut-off on stay)
``execution_log``             ``at_utc < cut-off``                           execution_log
``strategy_log``              ``at_utc < cut-off``, except                   strategy_log
                              ``reflex_applied`` rows: kept at any age,
                              Reflex walks their chain back to the user's
                              own value (at most one per key and day)
============================  =============================================  ===============

``spot_prices`` and ``forecast_models`` are never touched. A cut-off is ``now`` minus the
table's days, floored to the whole UTC hour (so a run's hours are pruned whole).

Space: the store has ``auto_vacuum=NONE`` (SQLite's default), so ``PRAGMA
incremental_vacuum`` does nothing and deleted rows leave free pages in the file; SQLite
reuses them for the next inserts, so with a daily prune the file stops growing at the
size of one retention window (measured in ``docs/housekeeping.md``). :func:`vacuum`
shrinks the file to its content, but it rewrites the whole file under an exclusive lock
and needs as much free disk again: it is for ``darkstar prune --vacuum`` with the service
stopped, never the daily job.

Failures: :func:`prune` and :func:`vacuum` raise
:class:`~darkstar.learning.store.StoreError` on a database error (batches committed
before it stay deleted); they leave :attr:`Store.last_write_error
<darkstar.learning.store.Store.last_write_error>` alone, which tells the agent whether
*its* writes succeed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from sqlalchemy import Integer, delete, func, literal_column, select
from sqlalchemy.exc import SQLAlchemyError

from darkstar.errors import InputError
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import (
    DailyMetricsRow,
    ExecutionLog,
    Plan,
    SlotForecast,
    SlotObservation,
    SlotPlan,
    StrategyLogEntry,
    WeatherRun,
)
from darkstar.learning.store.strategy_log import StrategyKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy import ColumnClause, ColumnElement
    from sqlalchemy.engine import Connection

    from darkstar.learning.store.engine import Store

__all__ = [
    "BATCH_ROWS",
    "PAUSE_S",
    "PruneReport",
    "PrunedTable",
    "RetentionPolicy",
    "cutoffs",
    "prune",
    "vacuum",
]

logger = logging.getLogger(__name__)

BATCH_ROWS: Final = 5000
"""Most rows one delete transaction removes: a few tens of milliseconds of write lock
(measured in ``docs/housekeeping.md``)."""

PAUSE_S: Final = 0.05
"""Pause after each batch [s], so a writer waiting on the lock gets it before the next
batch (SQLite's busy handler polls; without a pause the prune could keep winning)."""

_PLAN_SLOTS: Final = 192
"""Slots of a plan at most (48 h of 15 minutes): plans per batch = rows / this."""

_ROWID: Final[ColumnClause[int]] = literal_column("rowid", Integer)


class PrunedTable(StrEnum):
    """The tables :func:`prune` deletes from (in the order it does)."""

    SLOT_OBSERVATIONS = "slot_observations"
    LEARNING_DAILY_METRICS = "learning_daily_metrics"
    PLANS = "plans"
    SLOT_PLANS = "slot_plans"
    SLOT_FORECASTS = "slot_forecasts"
    WEATHER_RUNS = "weather_runs"
    EXECUTION_LOG = "execution_log"
    STRATEGY_LOG = "strategy_log"


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy:
    """Days of history each table keeps (``retention`` in ``config.yaml``, without ``enabled``).

    Attributes
    ----------
    observations_days : int
        ``slot_observations`` and ``learning_daily_metrics``. [days]
    plans_days : int
        ``plans`` and their ``slot_plans``. [days]
    forecasts_days : int
        ``slot_forecasts``, by slot. [days]
    weather_runs_days : int
        ``weather_runs``, by forecast hour. [days]
    execution_log_days : int
        ``execution_log``. [days]
    strategy_log_days : int
        ``strategy_log`` (``reflex_applied`` rows are kept at any age). [days]
    """

    observations_days: int
    plans_days: int
    forecasts_days: int
    weather_runs_days: int
    execution_log_days: int
    strategy_log_days: int

    def __post_init__(self) -> None:
        for item in fields(self):
            days = getattr(self, item.name)
            if isinstance(days, bool) or not isinstance(days, int) or days < 1:
                raise InputError(item.name, f"must be a whole number of days >= 1, got {days!r}")


_DAYS_OF: Final = {
    PrunedTable.SLOT_OBSERVATIONS: "observations_days",
    PrunedTable.LEARNING_DAILY_METRICS: "observations_days",
    PrunedTable.PLANS: "plans_days",
    PrunedTable.SLOT_PLANS: "plans_days",
    PrunedTable.SLOT_FORECASTS: "forecasts_days",
    PrunedTable.WEATHER_RUNS: "weather_runs_days",
    PrunedTable.EXECUTION_LOG: "execution_log_days",
    PrunedTable.STRATEGY_LOG: "strategy_log_days",
}


def cutoffs(now: datetime, policy: RetentionPolicy) -> dict[PrunedTable, datetime]:
    """Return each pruned table's cut-off: ``now`` minus its days, floored to the UTC hour.

    Parameters
    ----------
    now : datetime
        The house's time (tz-aware).
    policy : RetentionPolicy
        Days per table.

    Returns
    -------
    dict
        :class:`PrunedTable` -> cut-off (UTC); rows wholly before it are deleted.

    Raises
    ------
    InputError
        For a naive ``now``.

    Examples
    --------
    >>> policy = RetentionPolicy(observations_days=730, plans_days=90, forecasts_days=60,
    ...     weather_runs_days=730, execution_log_days=90, strategy_log_days=365)
    >>> cut = cutoffs(datetime(2027, 6, 1, 4, 45, tzinfo=UTC), policy)
    >>> str(cut[PrunedTable.PLANS]), str(cut[PrunedTable.SLOT_OBSERVATIONS])
    ('2027-03-03 04:00:00+00:00', '2025-06-01 04:00:00+00:00')
    """
    if now.utcoffset() is None:
        raise InputError("now", "naive datetime; pass a timezone-aware datetime")
    utc = now.astimezone(UTC)
    return {
        table: (utc - timedelta(days=getattr(policy, name))).replace(
            minute=0, second=0, microsecond=0
        )
        for table, name in _DAYS_OF.items()
    }


@dataclass(frozen=True, kw_only=True)
class PruneReport:
    """What one :func:`prune` deleted (or, dry, would delete).

    Attributes
    ----------
    now : datetime
        The time the cut-offs were computed from (UTC).
    cutoffs : Mapping[PrunedTable, datetime]
        Each table's cut-off (UTC).
    deleted : Mapping[PrunedTable, int]
        Rows deleted per table (with ``dry_run``: rows that would be).
    batches : int
        Delete transactions run (0 when dry).
    seconds : float
        Wall-clock time of the prune. [s]
    dry_run : bool
        Whether only counted.
    file_bytes : int
        Size of the database's pages after the prune (the main file once the WAL is
        folded back). [bytes]
    free_bytes : int
        Of which free pages, reused by later inserts. [bytes]
    """

    now: datetime
    cutoffs: Mapping[PrunedTable, datetime]
    deleted: Mapping[PrunedTable, int]
    batches: int
    seconds: float
    dry_run: bool
    file_bytes: int
    free_bytes: int

    @property
    def total(self) -> int:
        """Rows deleted over all tables."""
        return sum(self.deleted.values())

    def describe(self) -> str:
        """Say what was pruned in one line, e.g. ``pruned 4560 rows (slot_plans 4536, ...)``."""
        verb = "would prune" if self.dry_run else "pruned"
        parts = ", ".join(f"{t} {n}" for t, n in self.deleted.items() if n)
        return (
            f"{verb} {self.total} rows ({parts or 'nothing older than the cut-offs'}) in "
            f"{self.batches} batches, {self.seconds:.2f} s; store {self.file_bytes / 1e6:.1f} MB "
            f"of which {self.free_bytes / 1e6:.1f} MB free for reuse"
        )


def _older(table: PrunedTable, cutoff: datetime) -> ColumnElement[bool]:
    """Return the condition of ``table``'s rows wholly before ``cutoff`` (module table)."""
    key = int(cutoff.timestamp())
    match table:
        case PrunedTable.SLOT_OBSERVATIONS:
            return SlotObservation.slot_start_utc < key
        case PrunedTable.LEARNING_DAILY_METRICS:
            return DailyMetricsRow.day < (cutoff.date() - timedelta(days=1)).isoformat()
        case PrunedTable.PLANS | PrunedTable.SLOT_PLANS:
            return Plan.horizon_end_utc <= key
        case PrunedTable.SLOT_FORECASTS:
            return SlotForecast.slot_start_utc < key
        case PrunedTable.WEATHER_RUNS:
            return WeatherRun.hour_utc < key
        case PrunedTable.EXECUTION_LOG:
            return ExecutionLog.at_utc < key
        case PrunedTable.STRATEGY_LOG:
            return (StrategyLogEntry.at_utc < key) & (
                StrategyLogEntry.kind != str(StrategyKind.REFLEX_APPLIED)
            )


_MODEL_OF: Final = {
    PrunedTable.SLOT_OBSERVATIONS: SlotObservation,
    PrunedTable.LEARNING_DAILY_METRICS: DailyMetricsRow,
    PrunedTable.SLOT_FORECASTS: SlotForecast,
    PrunedTable.WEATHER_RUNS: WeatherRun,
    PrunedTable.EXECUTION_LOG: ExecutionLog,
    PrunedTable.STRATEGY_LOG: StrategyLogEntry,
}


def _count(connection: Connection, table: PrunedTable, cutoff: datetime) -> int:
    """Rows of ``table`` older than ``cutoff`` (a dry run)."""
    old_plans = select(Plan.plan_id).where(_older(PrunedTable.PLANS, cutoff))
    query = (
        select(func.count()).select_from(SlotPlan).where(SlotPlan.plan_id.in_(old_plans))
        if table is PrunedTable.SLOT_PLANS
        else select(func.count())
        .select_from(Plan if table is PrunedTable.PLANS else _MODEL_OF[table])
        .where(_older(table, cutoff))
    )
    return int(connection.scalar(query) or 0)


def _delete_batch(connection: Connection, table: PrunedTable, cutoff: datetime, rows: int) -> int:
    """Delete at most ``rows`` rows of ``table`` older than ``cutoff``; return how many."""
    model = _MODEL_OF[table]
    doomed = select(_ROWID).select_from(model).where(_older(table, cutoff)).limit(rows)
    result = connection.execute(delete(model).where(_ROWID.in_(doomed)))
    return int(result.rowcount)


def _delete_plans(connection: Connection, cutoff: datetime, plans: int) -> tuple[int, int]:
    """Delete at most ``plans`` old plans and their slots; return ``(plans, slots)`` deleted."""
    old = select(Plan.plan_id).where(_older(PrunedTable.PLANS, cutoff)).limit(plans)
    ids = list(connection.scalars(old))
    if not ids:
        return 0, 0
    slots = connection.execute(delete(SlotPlan).where(SlotPlan.plan_id.in_(ids))).rowcount
    done = connection.execute(delete(Plan).where(Plan.plan_id.in_(ids))).rowcount
    return int(done), int(slots)


def _prune_table(
    store: Store, table: PrunedTable, cutoff: datetime, *, batch_rows: int, pause_s: float
) -> tuple[dict[PrunedTable, int], int]:
    """Delete ``table``'s old rows batch by batch; return rows per table and batches."""
    deleted: dict[PrunedTable, int] = {table: 0}
    if table is PrunedTable.PLANS:
        deleted[PrunedTable.SLOT_PLANS] = 0
    plans_per_batch = max(1, batch_rows // _PLAN_SLOTS)
    batches = 0
    while True:
        with store.engine.begin() as connection:
            if table is PrunedTable.PLANS:
                done, slots = _delete_plans(connection, cutoff, plans_per_batch)
                deleted[PrunedTable.SLOT_PLANS] += slots
                full = done == plans_per_batch
            else:
                done = _delete_batch(connection, table, cutoff, batch_rows)
                full = done == batch_rows
        batches += 1
        deleted[table] += done
        if not full:  # the last batch found fewer than it could take: nothing older is left
            return deleted, batches
        time.sleep(pause_s)


def _page_bytes(store: Store) -> tuple[int, int]:
    """Return ``(pages, free pages)`` of the database in bytes."""
    with store.engine.connect() as connection:
        size = int(connection.exec_driver_sql("PRAGMA page_size").scalar() or 0)
        pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        free = int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
    return pages * size, free * size


def prune(
    store: Store,
    *,
    now: datetime,
    policy: RetentionPolicy,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
    pause_s: float = PAUSE_S,
) -> PruneReport:
    """Delete the rows older than each table's cut-off, in bounded batches.

    Parameters
    ----------
    store : Store
        The open learning store.
    now : datetime
        The house's time (tz-aware): the cut-offs are counted back from it.
    policy : RetentionPolicy
        Days per table.
    dry_run : bool, default False
        Only count what would be deleted (one read, nothing written).
    batch_rows : int, default :data:`BATCH_ROWS`
        Most rows per delete transaction (plans: this many slot rows, at least one plan).
    pause_s : float, default :data:`PAUSE_S`
        Pause after each batch that deleted rows. [s]

    Returns
    -------
    PruneReport
        Rows deleted per table, the cut-offs, the batches, the time and the file's size.

    Raises
    ------
    InputError
        For a naive ``now`` or ``batch_rows < 1``.
    StoreError
        When the database cannot be read or written (batches committed before stay done).
    """
    if batch_rows < 1:
        raise InputError("batch_rows", f"must be >= 1, got {batch_rows}")
    cuts = cutoffs(now, policy)
    started = time.perf_counter()
    deleted = dict.fromkeys(PrunedTable, 0)
    batches = 0
    try:
        if dry_run:
            with store.engine.connect() as connection:
                deleted = {t: _count(connection, t, c) for t, c in cuts.items()}
        else:
            for table, cutoff in cuts.items():
                if table is PrunedTable.SLOT_PLANS:  # deleted with their plans
                    continue
                done, runs = _prune_table(
                    store, table, cutoff, batch_rows=batch_rows, pause_s=pause_s
                )
                deleted.update(done)
                batches += runs
        file_bytes, free_bytes = _page_bytes(store)
    except SQLAlchemyError as exc:
        done_so_far = sum(deleted.values())
        msg = f"cannot prune {store.path} (after {done_so_far} rows deleted): {exc}"
        raise StoreError(msg) from exc
    return PruneReport(
        now=now.astimezone(UTC),
        cutoffs=cuts,
        deleted=deleted,
        batches=batches,
        seconds=time.perf_counter() - started,
        dry_run=dry_run,
        file_bytes=file_bytes,
        free_bytes=free_bytes,
    )


def vacuum(store: Store) -> tuple[int, int]:
    """Rewrite the database without its free pages (``VACUUM``); return bytes before, after.

    Takes an exclusive lock for the whole rewrite and needs up to the file's size in free
    disk: run it with the service stopped (``darkstar prune --vacuum``), not while the
    agent writes.

    Raises
    ------
    StoreError
        When the database is busy or cannot be written.
    """
    try:
        before, _ = _page_bytes(store)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM")
        after, _ = _page_bytes(store)
    except SQLAlchemyError as exc:
        msg = f"cannot vacuum {store.path}: {exc}"
        raise StoreError(msg) from exc
    return before, after
