"""Forecasts as issued next to what happened: the PV pairs behind Reflex's PV bias.

:func:`read_pv_as_issued` pairs each observed slot with the PV P50 of the *latest forecast
issued at or before the slot's start* (``slot_forecasts``): the forecast the plan that ran
the slot was made on. It is the raw forecast, before ``forecasting.pv_confidence_percent``
scales it -- unlike the plan's ``adjusted_pv_kwh``, which already carries the confidence and
so would move whenever Reflex moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import SlotForecast, SlotObservation

if TYPE_CHECKING:
    from darkstar.learning.store.engine import Store

__all__ = ["PvAsIssued", "read_pv_as_issued"]


@dataclass(frozen=True, kw_only=True)
class PvAsIssued:
    """One observed slot with the PV forecast in force when it started [kWh per slot]."""

    slot_start: datetime
    issued_at: datetime
    pv_forecast_kwh: float
    pv_kwh: float


def _epoch_s(moment: datetime, field: str) -> int:
    if moment.utcoffset() is None:
        raise InputError(field, f"{moment!r} must be tz-aware")
    return int(moment.timestamp())


def read_pv_as_issued(store: Store, *, start: datetime, end: datetime) -> list[PvAsIssued]:
    """Return the observed slots in ``[start, end)`` that have a forecast, by slot start.

    Per slot the PV P50 of the latest forecast issued at or before the slot start; slots
    without such a forecast (or without an observation) are left out.

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the database cannot be read.
    """
    lo, hi = _epoch_s(start, "start"), _epoch_s(end, "end")
    latest = (
        select(
            SlotForecast.slot_start_utc.label("slot"),
            func.max(SlotForecast.issued_at_utc).label("issued"),
        )
        .where(
            SlotForecast.slot_start_utc >= lo,
            SlotForecast.slot_start_utc < hi,
            SlotForecast.issued_at_utc <= SlotForecast.slot_start_utc,
        )
        .group_by(SlotForecast.slot_start_utc)
        .subquery()
    )
    query = (
        select(
            SlotObservation.slot_start_utc,
            latest.c.issued,
            SlotForecast.pv_p50_kwh,
            SlotObservation.pv_kwh,
        )
        .join(latest, latest.c.slot == SlotObservation.slot_start_utc)
        .join(
            SlotForecast,
            (SlotForecast.slot_start_utc == latest.c.slot)
            & (SlotForecast.issued_at_utc == latest.c.issued),
        )
        .order_by(SlotObservation.slot_start_utc)
    )
    try:
        with Session(store.engine) as session:
            rows = session.execute(query).all()
    except SQLAlchemyError as exc:
        msg = f"cannot read PV forecasts as issued: {exc}"
        raise StoreError(msg) from exc
    return [
        PvAsIssued(
            slot_start=datetime.fromtimestamp(slot, UTC),
            issued_at=datetime.fromtimestamp(issued, UTC),
            pv_forecast_kwh=float(forecast),
            pv_kwh=float(observed),
        )
        for slot, issued, forecast, observed in rows
    ]
