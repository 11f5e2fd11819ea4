"""Repository functions of the learning store: every read and write of its SQL.

All functions take the :class:`~darkstar.learning.store.Store` first and everything else
keyword-only; each write is one transaction. Datetimes must be tz-aware (any zone; they
are stored as integer UTC epoch seconds) and a naive one raises
:class:`~darkstar.errors.InputError` naming the field.

Writes are idempotent, so a service that replays the same slots after a restart rewrites
rows instead of adding them: each is one ``INSERT ... ON CONFLICT DO UPDATE`` on the
table's natural key -- :func:`record_observation` on the slot start, :func:`log_execution`
on the tick time (whole seconds), :func:`record_plan` on ``(planned_at, mode)`` (replacing
that plan's slots in the same transaction). :func:`last_observation` tells the service
where to resume.

Failure behaviour (STYLE §H.28, the control loop must keep running):

* **Writes** -- :func:`record_plan` (returns ``None``), :func:`record_observation` and
  :func:`log_execution` (return ``False``): a database error (locked, read-only, disk
  full, ...) is logged at ERROR level with its traceback and reported through the
  return value, never raised. Every write also sets
  :attr:`Store.last_write_error <darkstar.learning.store.Store.last_write_error>`
  (a short message naming the file and the reason) or clears it on success, so the
  service can report the store's health without parsing logs.
  Invalid input (naive datetime, missing field, NaN) still raises ``InputError``: that is a
  bug in the caller, not an outage, and leaves ``last_write_error`` as it was.
* **Reads** -- :func:`read_plan_vs_actual`, :func:`daily_metrics` and
  :func:`last_observation` raise :class:`~darkstar.learning.store.StoreError` on a
  database error; they serve the analyst, the dashboard and the service's startup, not
  the running control loop.
* :func:`delete_all` raises ``StoreError`` (a user asked for it) and also updates
  ``last_write_error``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.sqlite import Insert, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import ExecutionLog, Plan, SlotObservation, SlotPlan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.learning.store.engine import Store
    from darkstar.learning.store.models import Base

__all__ = [
    "DailyMetrics",
    "ObservedSlot",
    "PlanVsActual",
    "PlannedSlot",
    "daily_metrics",
    "delete_all",
    "first_observation",
    "last_observation",
    "log_execution",
    "metrics_of",
    "read_observations",
    "read_plan_vs_actual",
    "record_observation",
    "record_plan",
]

logger = logging.getLogger(__name__)

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, kw_only=True)
class PlannedSlot:
    """One slot of a stored plan. Powers are slot averages [kW], prices [SEK/kWh]."""

    plan_id: int
    planned_at: str
    slot_start: datetime
    slot_end: datetime
    action: str
    import_price_sek_per_kwh: float
    export_price_sek_per_kwh: float
    battery_charge_kw: float
    battery_discharge_kw: float
    grid_import_kw: float
    grid_export_kw: float
    water_heating_kw: float
    projected_soc_percent: float
    soc_target_percent: float | None

    @property
    def energy_cost_sek(self) -> float:
        """Planned import cost minus export revenue, from the plan's flows and prices [SEK]."""
        hours = (self.slot_end - self.slot_start).total_seconds() / _SECONDS_PER_HOUR
        return hours * (
            self.grid_import_kw * self.import_price_sek_per_kwh
            - self.grid_export_kw * self.export_price_sek_per_kwh
        )


@dataclass(frozen=True, kw_only=True)
class ObservedSlot:
    """Measured energy of one slot [kWh] with the prices that applied [SEK/kWh]."""

    slot_start: datetime
    pv_kwh: float
    load_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    battery_charge_kwh: float
    battery_discharge_kwh: float
    water_heater_kwh: float
    soc_end_percent: float | None
    water_temp_c: float | None
    import_price_sek_per_kwh: float
    export_price_sek_per_kwh: float
    recorded_at: str

    @property
    def energy_cost_sek(self) -> float:
        """Actual import cost minus export revenue [SEK]."""
        return (
            self.grid_import_kwh * self.import_price_sek_per_kwh
            - self.grid_export_kwh * self.export_price_sek_per_kwh
        )


@dataclass(frozen=True, kw_only=True)
class PlanVsActual:
    """A slot with the latest plan covering it and its observation (either may be missing)."""

    slot_start: datetime
    planned: PlannedSlot | None
    observed: ObservedSlot | None


@dataclass(frozen=True, kw_only=True)
class DailyMetrics:
    """Forecast-free metrics of a period (usually one local day).

    ``cost_deviation_sek`` and ``planned_cost_sek`` only use slots with both a plan and an
    observation (``matched_slots``); ``actual_cost_sek`` uses every observed slot.
    """

    observed_slots: int
    matched_slots: int
    actual_cost_sek: float
    planned_cost_sek: float | None
    cost_deviation_sek: float | None
    battery_charge_kwh: float
    battery_discharge_kwh: float
    battery_efficiency_realized: float | None


def _to_epoch_s(value: datetime, field: str) -> int:
    """Integer UTC epoch seconds of a tz-aware datetime; naive raises ``InputError``."""
    if not isinstance(value, datetime):
        raise InputError(field, f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(field, "naive datetime; pass a timezone-aware datetime")
    return math.floor(value.timestamp())


def _from_epoch_s(epoch_s: int) -> datetime:
    """UTC datetime of integer epoch seconds."""
    return datetime.fromtimestamp(epoch_s, tz=UTC)


def _utc_iso(value: datetime) -> str:
    """ISO 8601 UTC text with microseconds, so stored strings sort chronologically."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_iso(text: Any, field: str) -> datetime:
    """Parse an ISO 8601 timestamp that must carry an offset."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise InputError(field, f"not an ISO 8601 timestamp: {text!r}") from exc
    _to_epoch_s(moment, field)
    return moment


def _finite(value: Any, field: str) -> float:
    """Return a finite float, or raise ``InputError`` naming the field."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(field, f"expected a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise InputError(field, f"must be finite, got {number}")
    return number


def _optional(value: Any, field: str) -> float | None:
    """Return a finite float or ``None``."""
    return None if value is None else _finite(value, field)


def _upsert(model: type[Base], values: Mapping[str, Any], *, key: tuple[str, ...]) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` setting every other column of ``values``."""
    statement = insert(model).values(dict(values))
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in values if name not in key},
    )


def _slot_plan(row: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Translate one ``schedule.json`` row into the values of a :class:`SlotPlan` row.

    Without ``plan_id``; the rows go in with one bulk ``INSERT`` (the ORM's unit of work
    took 15 ms for a plan's 192 rows, under the runtime lock).
    """
    where = f"schedule[{index}]"

    def need(key: str) -> float:
        if key not in row:
            raise InputError(f"{where}.{key}", "missing")
        return _finite(row[key], f"{where}.{key}")

    def maybe(key: str, default: float | None = None) -> float | None:
        value = row.get(key, default)
        return _optional(value, f"{where}.{key}")

    if "action" not in row:
        raise InputError(f"{where}.action", "missing")
    reason = row.get("reason")
    return dict(
        slot_start_utc=_to_epoch_s(_parse_iso(row.get("start"), f"{where}.start"), "start"),
        slot_end_utc=_to_epoch_s(_parse_iso(row.get("end"), f"{where}.end"), "end"),
        import_price_sek_per_kwh=need("import_price_sek_per_kwh"),
        export_price_sek_per_kwh=need("export_price_sek_per_kwh"),
        adjusted_pv_kwh=maybe("adjusted_pv_kwh"),
        adjusted_load_kwh=maybe("adjusted_load_kwh"),
        battery_charge_kw=need("battery_charge_kw"),
        battery_discharge_kw=need("battery_discharge_kw"),
        grid_import_kw=need("grid_import_kw"),
        grid_export_kw=need("grid_export_kw"),
        water_heating_kw=maybe("water_heating_kw", 0.0) or 0.0,
        ev_charging_kw=maybe("ev_charging_kw", 0.0) or 0.0,
        pv_curtailment_kw=maybe("pv_curtailment_kw", 0.0) or 0.0,
        load_shedding_kw=maybe("load_shedding_kw", 0.0) or 0.0,
        projected_soc_percent=need("projected_soc_percent"),
        soc_target_percent=maybe("soc_target_percent"),
        planned_cost_sek=maybe("planned_cost_sek"),
        action=str(row["action"]),
        reason=None if reason is None else str(reason),
    )


def record_plan(store: Store, *, document: Mapping[str, Any]) -> int | None:
    """Store a ``schedule.json`` document (DESIGN §3.2) as one plan and its slot rows.

    A plan is identified by ``meta.planned_at`` (as a UTC instant) and ``meta.mode``.
    Recording a document whose plan already exists replaces it in one transaction: the
    plan row is updated in place (its ``plan_id`` is kept) and its slots are replaced by
    the document's, so replaying a plan after a restart does not duplicate it.

    Parameters
    ----------
    store : Store
        The open learning store.
    document : Mapping
        ``{"meta": {...}, "schedule": [...]}``; slot times (ISO 8601 with offset) become
        integer UTC epoch seconds, so the repeated local hour of a DST change stays two keys.

    Returns
    -------
    int or None
        The ``plan_id`` (new, or kept when the plan was replaced); ``None`` when the
        database write failed (logged, and in ``store.last_write_error``).

    Raises
    ------
    InputError
        Naming the field of a malformed document (missing key, naive time, NaN, slots not
        strictly increasing).
    """
    meta = document.get("meta") or {}
    rows = document.get("schedule")
    if not isinstance(rows, list) or not rows:
        raise InputError("schedule", "must be a non-empty list of slots")
    slots = [_slot_plan(row, i) for i, row in enumerate(rows)]
    for i, (before, after) in enumerate(zip(slots, slots[1:], strict=False), start=1):
        if after["slot_start_utc"] <= before["slot_start_utc"]:
            raise InputError(f"schedule[{i}].start", "slot starts must strictly increase")
    planned_at = meta.get("planned_at")
    planned = _parse_iso(planned_at, "meta.planned_at") if planned_at else datetime.now(UTC)
    plan = {
        "planned_at": _utc_iso(planned),
        "mode": str(meta.get("mode", "unknown")),
        "status": str(meta.get("status", "unknown")),
        "objective_sek": _optional(meta.get("objective_sek"), "meta.objective_sek"),
        "solve_time_ms": _optional(meta.get("solve_time_ms"), "meta.solve_time_ms"),
        "horizon_start_utc": slots[0]["slot_start_utc"],
        "horizon_end_utc": slots[-1]["slot_end_utc"],
    }
    upsert = _upsert(Plan, plan, key=("planned_at", "mode")).returning(Plan.plan_id)
    try:
        with Session(store.engine) as session, session.begin():
            plan_id = session.execute(upsert).scalar_one()
            old_slots = delete(SlotPlan).where(SlotPlan.plan_id == plan_id)
            replaced = session.execute(old_slots).rowcount  # type: ignore[attr-defined]
            for slot in slots:
                slot["plan_id"] = plan_id
            session.execute(insert(SlotPlan), slots)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("record_plan: could not store a plan of %d slots", len(slots))
        return None
    store.note_write_ok()
    logger.debug(
        "%s plan %d (%d slots)", "replaced" if replaced else "recorded", plan_id, len(slots)
    )
    return plan_id


def record_observation(
    store: Store,
    *,
    slot_start: datetime,
    pv_kwh: float,
    load_kwh: float,
    grid_import_kwh: float,
    grid_export_kwh: float,
    battery_charge_kwh: float,
    battery_discharge_kwh: float,
    water_heater_kwh: float,
    import_price_sek_per_kwh: float,
    export_price_sek_per_kwh: float,
    soc_end_percent: float | None = None,
    water_temp_c: float | None = None,
    recorded_at: datetime | None = None,
) -> bool:
    """Insert or replace the measured energy of one slot (upsert on ``slot_start``).

    Energies are per slot [kWh], prices [SEK/kWh], ``soc_end_percent`` at the slot end [%],
    ``water_temp_c`` [°C]. ``recorded_at`` defaults to now (UTC).

    Returns
    -------
    bool
        ``True`` when stored; ``False`` when the database write failed (logged, and in
        ``store.last_write_error``).

    Raises
    ------
    InputError
        For a naive datetime or a non-finite number, naming the field.
    """
    key = _to_epoch_s(slot_start, "slot_start")
    at = datetime.now(UTC) if recorded_at is None else recorded_at
    _to_epoch_s(at, "recorded_at")
    values = {
        "pv_kwh": pv_kwh,
        "load_kwh": load_kwh,
        "grid_import_kwh": grid_import_kwh,
        "grid_export_kwh": grid_export_kwh,
        "battery_charge_kwh": battery_charge_kwh,
        "battery_discharge_kwh": battery_discharge_kwh,
        "water_heater_kwh": water_heater_kwh,
        "import_price_sek_per_kwh": import_price_sek_per_kwh,
        "export_price_sek_per_kwh": export_price_sek_per_kwh,
    }
    row = {
        "slot_start_utc": key,
        **{name: _finite(value, name) for name, value in values.items()},
        "soc_end_percent": _optional(soc_end_percent, "soc_end_percent"),
        "water_temp_c": _optional(water_temp_c, "water_temp_c"),
        "recorded_at": _utc_iso(at),
    }
    try:
        with store.engine.begin() as connection:
            connection.execute(_upsert(SlotObservation, row, key=("slot_start_utc",)))
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("record_observation: could not store slot %s", slot_start)
        return False
    store.note_write_ok()
    return True


def log_execution(
    store: Store,
    *,
    at: datetime,
    commanded: Mapping[str, Any],
    slot_start: datetime | None = None,
    planned_action: str | None = None,
    observed_soc_percent: float | None = None,
    note: str | None = None,
) -> bool:
    """Store one executor tick: planned action, commanded values (JSON), observed SoC.

    There is one row per tick time ``at`` (whole UTC seconds): logging a tick at the same
    ``at`` again replaces the earlier row (every column), so a restart that replays ticks
    does not duplicate them.

    Returns
    -------
    bool
        ``True`` when stored; ``False`` when the database write failed (logged, and in
        ``store.last_write_error``).

    Raises
    ------
    InputError
        For a naive datetime, a non-finite SoC or ``commanded`` that is not JSON-serialisable.
    """
    at_utc = _to_epoch_s(at, "at")
    slot_utc = None if slot_start is None else _to_epoch_s(slot_start, "slot_start")
    try:
        commanded_json = json.dumps(dict(commanded), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError("commanded", f"not JSON-serialisable: {exc}") from exc
    entry = {
        "at_utc": at_utc,
        "slot_start_utc": slot_utc,
        "planned_action": planned_action,
        "commanded": commanded_json,
        "observed_soc_percent": _optional(observed_soc_percent, "observed_soc_percent"),
        "note": note,
    }
    try:
        with store.engine.begin() as connection:
            connection.execute(_upsert(ExecutionLog, entry, key=("at_utc",)))
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("log_execution: could not log the tick at %s", at)
        return False
    store.note_write_ok()
    return True


def _planned(slot: SlotPlan, planned_at: str) -> PlannedSlot:
    """Read model of a stored plan slot."""
    return PlannedSlot(
        plan_id=slot.plan_id,
        planned_at=planned_at,
        slot_start=_from_epoch_s(slot.slot_start_utc),
        slot_end=_from_epoch_s(slot.slot_end_utc),
        action=slot.action,
        import_price_sek_per_kwh=slot.import_price_sek_per_kwh,
        export_price_sek_per_kwh=slot.export_price_sek_per_kwh,
        battery_charge_kw=slot.battery_charge_kw,
        battery_discharge_kw=slot.battery_discharge_kw,
        grid_import_kw=slot.grid_import_kw,
        grid_export_kw=slot.grid_export_kw,
        water_heating_kw=slot.water_heating_kw,
        projected_soc_percent=slot.projected_soc_percent,
        soc_target_percent=slot.soc_target_percent,
    )


def _observed(row: SlotObservation) -> ObservedSlot:
    """Read model of a stored observation."""
    return ObservedSlot(
        slot_start=_from_epoch_s(row.slot_start_utc),
        pv_kwh=row.pv_kwh,
        load_kwh=row.load_kwh,
        grid_import_kwh=row.grid_import_kwh,
        grid_export_kwh=row.grid_export_kwh,
        battery_charge_kwh=row.battery_charge_kwh,
        battery_discharge_kwh=row.battery_discharge_kwh,
        water_heater_kwh=row.water_heater_kwh,
        soc_end_percent=row.soc_end_percent,
        water_temp_c=row.water_temp_c,
        import_price_sek_per_kwh=row.import_price_sek_per_kwh,
        export_price_sek_per_kwh=row.export_price_sek_per_kwh,
        recorded_at=row.recorded_at,
    )


def read_plan_vs_actual(store: Store, *, start: datetime, end: datetime) -> list[PlanVsActual]:
    """Each slot in ``[start, end)`` with the latest plan covering it and its observation.

    "Latest" is the plan with the greatest ``planned_at`` (ties: the later ``plan_id``).
    Slots with only a plan or only an observation are included with the other side ``None``.

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the database cannot be read.
    """
    lo = _to_epoch_s(start, "start")
    hi = _to_epoch_s(end, "end")
    rank = (
        func.row_number()
        .over(
            partition_by=SlotPlan.slot_start_utc,
            order_by=(Plan.planned_at.desc(), Plan.plan_id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(SlotPlan.id, Plan.planned_at, rank)
        .join(Plan, Plan.plan_id == SlotPlan.plan_id)
        .where(SlotPlan.slot_start_utc >= lo, SlotPlan.slot_start_utc < hi)
        .subquery()
    )
    latest = select(SlotPlan, ranked.c.planned_at).join(ranked, ranked.c.id == SlotPlan.id)
    observed = select(SlotObservation).where(
        SlotObservation.slot_start_utc >= lo, SlotObservation.slot_start_utc < hi
    )
    try:
        with Session(store.engine) as session:
            plans = {
                slot.slot_start_utc: _planned(slot, planned_at)
                for slot, planned_at in session.execute(latest.where(ranked.c.rank == 1))
            }
            observations = {row.slot_start_utc: _observed(row) for row in session.scalars(observed)}
    except SQLAlchemyError as exc:
        msg = f"cannot read plan vs actual: {exc}"
        raise StoreError(msg) from exc
    return [
        PlanVsActual(
            slot_start=_from_epoch_s(key), planned=plans.get(key), observed=observations.get(key)
        )
        for key in sorted(plans.keys() | observations.keys())
    ]


def last_observation(store: Store) -> ObservedSlot | None:
    """Return the stored observation with the greatest slot start (where to resume).

    Returns
    -------
    ObservedSlot or None
        The latest observed slot; ``None`` when nothing has been observed yet.

    Raises
    ------
    StoreError
        When the database cannot be read.
    """
    latest = select(SlotObservation).order_by(SlotObservation.slot_start_utc.desc()).limit(1)
    try:
        with Session(store.engine) as session:
            row = session.scalars(latest).first()
            observed = None if row is None else _observed(row)
    except SQLAlchemyError as exc:
        msg = f"cannot read the last observation: {exc}"
        raise StoreError(msg) from exc
    return observed


def first_observation(store: Store) -> ObservedSlot | None:
    """Return the stored observation with the smallest slot start (where history begins).

    Raises
    ------
    StoreError
        When the database cannot be read.
    """
    first = select(SlotObservation).order_by(SlotObservation.slot_start_utc).limit(1)
    try:
        with Session(store.engine) as session:
            row = session.scalars(first).first()
            observed = None if row is None else _observed(row)
    except SQLAlchemyError as exc:
        msg = f"cannot read the first observation: {exc}"
        raise StoreError(msg) from exc
    return observed


def read_observations(store: Store, *, start: datetime, end: datetime) -> list[ObservedSlot]:
    """Return the observations of the slots starting in ``[start, end)``, by slot start.

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the database cannot be read.
    """
    query = (
        select(SlotObservation)
        .where(
            SlotObservation.slot_start_utc >= _to_epoch_s(start, "start"),
            SlotObservation.slot_start_utc < _to_epoch_s(end, "end"),
        )
        .order_by(SlotObservation.slot_start_utc)
    )
    try:
        with Session(store.engine) as session:
            observed = [_observed(row) for row in session.scalars(query)]
    except SQLAlchemyError as exc:
        msg = f"cannot read observations: {exc}"
        raise StoreError(msg) from exc
    return observed


def daily_metrics(store: Store, *, day_start: datetime, day_end: datetime) -> DailyMetrics:
    """Forecast-free metrics of the slots starting in ``[day_start, day_end)``.

    Notes
    -----
    Over the observed slots :math:`s` (energies in kWh, prices :math:`p` in SEK/kWh)::

        actual_cost_sek = sum_s (import_kwh * p_import - export_kwh * p_export)
        battery_efficiency_realized = sum_s discharge_kwh / sum_s charge_kwh

    (``None`` when nothing was charged). Over the matched slots :math:`m` (observed and
    covered by a plan, using the latest plan's flows in kW, slot length :math:`h` hours and
    the plan's prices)::

        planned_cost_sek = sum_m h * (grid_import_kw * p_import - grid_export_kw * p_export)
        cost_deviation_sek = sum_m actual cost - planned_cost_sek

    Both are ``None`` when no slot is matched. A positive deviation means reality cost more.

    Raises
    ------
    InputError
        For a naive ``day_start`` or ``day_end`` (naming it).
    StoreError
        When the database cannot be read.
    """
    _to_epoch_s(day_start, "day_start")
    _to_epoch_s(day_end, "day_end")
    return metrics_of(read_plan_vs_actual(store, start=day_start, end=day_end))


def metrics_of(rows: Sequence[PlanVsActual]) -> DailyMetrics:
    """Return the :func:`daily_metrics` of rows read already (:func:`read_plan_vs_actual`)."""
    observed = [row.observed for row in rows if row.observed is not None]
    matched = [
        (row.planned, row.observed)
        for row in rows
        if row.planned is not None and row.observed is not None
    ]
    charge_kwh = sum(obs.battery_charge_kwh for obs in observed)
    discharge_kwh = sum(obs.battery_discharge_kwh for obs in observed)
    planned_cost = sum(plan.energy_cost_sek for plan, _ in matched) if matched else None
    matched_actual = sum(obs.energy_cost_sek for _, obs in matched)
    return DailyMetrics(
        observed_slots=len(observed),
        matched_slots=len(matched),
        actual_cost_sek=sum(obs.energy_cost_sek for obs in observed),
        planned_cost_sek=planned_cost,
        cost_deviation_sek=None if planned_cost is None else matched_actual - planned_cost,
        battery_charge_kwh=charge_kwh,
        battery_discharge_kwh=discharge_kwh,
        battery_efficiency_realized=discharge_kwh / charge_kwh if charge_kwh > 0 else None,
    )


def delete_all(store: Store) -> int:
    """Delete every plan, slot plan, observation and execution record in one transaction.

    The schema and its migration version stay. Returns the number of rows deleted.

    Raises
    ------
    StoreError
        When the store cannot be written (a user asked for it, so it is not swallowed;
        ``store.last_write_error`` is set too).
    """
    try:
        with Session(store.engine) as session, session.begin():
            deleted = 0
            for model in (ExecutionLog, SlotPlan, Plan, SlotObservation):
                deleted += session.execute(delete(model)).rowcount or 0  # type: ignore[attr-defined]
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        msg = f"cannot reset learning store {store.path}: {exc}"
        raise StoreError(msg) from exc
    store.note_write_ok()
    logger.info("learning store reset: %d rows deleted", deleted)
    return deleted
