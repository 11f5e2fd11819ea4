"""Aurora in the store: forecasts as issued (``slot_forecasts``) and the model registry.

:func:`record_forecast` keeps every slot of a forecast with the time it was issued and
where each quantity came from (a model version, the physics prior, a baseline), so its
error can later be measured against what was known then (:func:`read_forecasts` returns,
per slot, the latest forecast issued at or before a given time). :func:`register_model`
adds a trained model (its files stay in the data folder) and makes it the active one of
its target; :func:`list_models` and :func:`active_models` read the registry back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.models import ForecastModel, SlotForecast

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from darkstar.learning.store.engine import Store

__all__ = [
    "ForecastSlot",
    "ModelRecord",
    "active_models",
    "list_models",
    "read_forecasts",
    "record_forecast",
    "register_model",
]

logger = logging.getLogger(__name__)

TARGETS = ("pv", "load")
"""What Aurora forecasts."""


@dataclass(frozen=True, kw_only=True)
class ForecastSlot:
    """One slot of a forecast [kWh per slot]; quantiles ordered P10 <= P50 <= P90."""

    slot_start: datetime
    pv_p10_kwh: float
    pv_p50_kwh: float
    pv_p90_kwh: float
    load_p10_kwh: float
    load_p50_kwh: float
    load_p90_kwh: float

    def __post_init__(self) -> None:
        if self.slot_start.utcoffset() is None:
            raise InputError("slot_start", "must be tz-aware")
        for name in ("pv", "load"):
            p10, p50, p90 = (getattr(self, f"{name}_p{q}_kwh") for q in (10, 50, 90))
            if not 0.0 <= p10 <= p50 <= p90:
                raise InputError(
                    f"{name}_p10_kwh",
                    f"quantiles must be 0 <= P10 <= P50 <= P90, got {p10}, {p50}, {p90}",
                )


@dataclass(frozen=True, kw_only=True)
class ModelRecord:
    """A registered model: target (``pv``/``load``), version, when and on what it trained."""

    target: str
    version: str
    trained_at: datetime
    train_start: datetime
    train_end: datetime
    path: str
    metrics: dict[str, Any]
    active: bool


def _utc(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise InputError("time", f"{moment!r} must be tz-aware")
    return int(moment.timestamp())


def record_forecast(
    store: Store,
    *,
    issued_at: datetime,
    slots: Sequence[ForecastSlot],
    pv_source: str,
    load_source: str,
) -> bool:
    """Keep a forecast issued at ``issued_at`` (replacing one issued at the same time).

    Returns ``False`` when the write failed (:attr:`Store.last_write_error` says why).
    """
    issued = _utc(issued_at)
    rows = [
        SlotForecast(
            issued_at_utc=issued,
            slot_start_utc=_utc(s.slot_start),
            pv_p10_kwh=s.pv_p10_kwh,
            pv_p50_kwh=s.pv_p50_kwh,
            pv_p90_kwh=s.pv_p90_kwh,
            load_p10_kwh=s.load_p10_kwh,
            load_p50_kwh=s.load_p50_kwh,
            load_p90_kwh=s.load_p90_kwh,
            pv_source=pv_source[:64],
            load_source=load_source[:64],
        )
        for s in slots
    ]
    try:
        with Session(store.engine) as session, session.begin():
            session.execute(delete(SlotForecast).where(SlotForecast.issued_at_utc == issued))
            session.add_all(rows)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("record_forecast: could not keep the forecast of %s", issued_at)
        return False
    store.note_write_ok()
    return True


def read_forecasts(
    store: Store, *, start: datetime, end: datetime, issued_by: datetime | None = None
) -> list[tuple[datetime, ForecastSlot]]:
    """Return ``(issued_at, slot)`` for slots in ``[start, end)``, ordered by slot.

    Per slot the latest forecast issued at or before ``issued_by`` (default: any time).
    """
    last = select(
        SlotForecast.slot_start_utc, func.max(SlotForecast.issued_at_utc).label("issued")
    ).where(SlotForecast.slot_start_utc >= _utc(start), SlotForecast.slot_start_utc < _utc(end))
    if issued_by is not None:
        last = last.where(SlotForecast.issued_at_utc <= _utc(issued_by))
    latest = last.group_by(SlotForecast.slot_start_utc).subquery()
    query = (
        select(SlotForecast)
        .join(
            latest,
            (SlotForecast.slot_start_utc == latest.c.slot_start_utc)
            & (SlotForecast.issued_at_utc == latest.c.issued),
        )
        .order_by(SlotForecast.slot_start_utc)
    )
    with Session(store.engine) as session:
        rows = session.scalars(query).all()
    return [
        (
            datetime.fromtimestamp(r.issued_at_utc, UTC),
            ForecastSlot(
                slot_start=datetime.fromtimestamp(r.slot_start_utc, UTC),
                pv_p10_kwh=r.pv_p10_kwh,
                pv_p50_kwh=r.pv_p50_kwh,
                pv_p90_kwh=r.pv_p90_kwh,
                load_p10_kwh=r.load_p10_kwh,
                load_p50_kwh=r.load_p50_kwh,
                load_p90_kwh=r.load_p90_kwh,
            ),
        )
        for r in rows
    ]


def register_model(
    store: Store,
    *,
    target: str,
    version: str,
    trained_at: datetime,
    train_start: datetime,
    train_end: datetime,
    path: str,
    metrics: Mapping[str, Any],
) -> bool:
    """Add a trained model and make it its target's active one; ``False`` if not written.

    Raises
    ------
    InputError
        For an unknown ``target`` or an empty ``version``.
    """
    if target not in TARGETS:
        raise InputError("target", f"must be one of {', '.join(TARGETS)}, got {target!r}")
    if not version:
        raise InputError("version", "must not be empty")
    row = ForecastModel(
        target=target,
        version=version[:64],
        trained_at=trained_at.astimezone(UTC).isoformat(timespec="microseconds"),
        train_start_utc=_utc(train_start),
        train_end_utc=_utc(train_end),
        path=path,
        metrics=json.dumps(dict(metrics), sort_keys=True, allow_nan=False),
        active=True,
    )
    try:
        with Session(store.engine) as session, session.begin():
            session.execute(
                update(ForecastModel).where(ForecastModel.target == target).values(active=False)
            )
            session.execute(
                delete(ForecastModel).where(
                    ForecastModel.target == target, ForecastModel.version == row.version
                )
            )
            session.add(row)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("register_model: could not register %s %s", target, version)
        return False
    store.note_write_ok()
    return True


def _record(row: ForecastModel) -> ModelRecord:
    return ModelRecord(
        target=row.target,
        version=row.version,
        trained_at=datetime.fromisoformat(row.trained_at),
        train_start=datetime.fromtimestamp(row.train_start_utc, UTC),
        train_end=datetime.fromtimestamp(row.train_end_utc, UTC),
        path=row.path,
        metrics=json.loads(row.metrics),
        active=row.active,
    )


def list_models(store: Store, *, limit: int | None = 50) -> list[ModelRecord]:
    """Return the registered models, newest first (``limit=None``: all of them)."""
    query = select(ForecastModel).order_by(ForecastModel.trained_at.desc()).limit(limit)
    with Session(store.engine) as session:
        return [_record(r) for r in session.scalars(query).all()]


def active_models(store: Store) -> dict[str, ModelRecord]:
    """Return the active model of each target that has one."""
    query = select(ForecastModel).where(ForecastModel.active.is_(True))
    with Session(store.engine) as session:
        return {r.target: _record(r) for r in session.scalars(query).all()}
