"""Forecasts as issued next to what happened: the PV and load pairs of Reflex and the Analyst.

:func:`read_pv_as_issued` and :func:`read_load_as_issued` pair each observed slot with the
P50 of the *latest forecast issued at or before the slot's start* (``slot_forecasts``): the
forecast the plan that ran the slot was made on. It is the raw forecast, before
``forecasting.pv_confidence_percent`` scales it -- unlike the plan's ``adjusted_pv_kwh``,
which already carries the confidence and so would move whenever Reflex moves it.

:func:`latest_issued` is that "newest issue at or before each slot" query on its own; the
weather runs (:mod:`darkstar.learning.store.weather`) pick each hour's run with it too.
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
    from sqlalchemy import Subquery
    from sqlalchemy.orm import InstrumentedAttribute

    from darkstar.learning.store.engine import Store

__all__ = [
    "LoadAsIssued",
    "PvAsIssued",
    "latest_issued",
    "read_load_as_issued",
    "read_pv_as_issued",
]


@dataclass(frozen=True, kw_only=True)
class PvAsIssued:
    """One observed slot with the PV forecast in force when it started [kWh per slot]."""

    slot_start: datetime
    issued_at: datetime
    pv_forecast_kwh: float
    pv_kwh: float


@dataclass(frozen=True, kw_only=True)
class LoadAsIssued:
    """One observed slot with the load forecast in force when it started [kWh per slot]."""

    slot_start: datetime
    issued_at: datetime
    load_forecast_kwh: float
    load_kwh: float


def _epoch_s(moment: datetime, field: str) -> int:
    if moment.utcoffset() is None:
        raise InputError(field, f"{moment!r} must be tz-aware")
    return int(moment.timestamp())


def latest_issued(
    *, key: InstrumentedAttribute[int], issued: InstrumentedAttribute[int], lo: int, hi: int
) -> Subquery:
    """Return the subquery of the newest issue at or before each key in ``[lo, hi)``.

    Parameters
    ----------
    key : InstrumentedAttribute[int]
        The integer UTC epoch column a row forecasts (a slot or hour start) [s].
    issued : InstrumentedAttribute[int]
        The integer UTC epoch issue time of the same table [s].
    lo, hi : int
        Keys from ``lo`` (inclusive) to ``hi`` (exclusive) [s].

    Returns
    -------
    Subquery
        Columns ``key`` and ``issued``: one row per key that has an issue at or before it;
        join it back on both columns to get those rows.
    """
    return (
        select(key.label("key"), func.max(issued).label("issued"))
        .where(key >= lo, key < hi, issued <= key)
        .group_by(key)
        .subquery()
    )


def _read_as_issued(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    forecast: InstrumentedAttribute[float],
    observed: InstrumentedAttribute[float],
    what: str,
) -> list[tuple[datetime, datetime, float, float]]:
    """``(slot_start, issued_at, forecast, observed)`` of the paired slots, by slot start."""
    lo, hi = _epoch_s(start, "start"), _epoch_s(end, "end")
    latest = latest_issued(
        key=SlotForecast.slot_start_utc, issued=SlotForecast.issued_at_utc, lo=lo, hi=hi
    )
    query = (
        select(SlotObservation.slot_start_utc, latest.c.issued, forecast, observed)
        .join(latest, latest.c.key == SlotObservation.slot_start_utc)
        .join(
            SlotForecast,
            (SlotForecast.slot_start_utc == latest.c.key)
            & (SlotForecast.issued_at_utc == latest.c.issued),
        )
        .order_by(SlotObservation.slot_start_utc)
    )
    try:
        with Session(store.engine) as session:
            rows = session.execute(query).all()
    except SQLAlchemyError as exc:
        msg = f"cannot read {what} forecasts as issued: {exc}"
        raise StoreError(msg) from exc
    return [
        (
            datetime.fromtimestamp(slot, UTC),
            datetime.fromtimestamp(issued, UTC),
            float(forecast_kwh),
            float(observed_kwh),
        )
        for slot, issued, forecast_kwh, observed_kwh in rows
    ]


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
    rows = _read_as_issued(
        store,
        start=start,
        end=end,
        forecast=SlotForecast.pv_p50_kwh,
        observed=SlotObservation.pv_kwh,
        what="PV",
    )
    return [
        PvAsIssued(slot_start=slot, issued_at=issued, pv_forecast_kwh=forecast, pv_kwh=observed)
        for slot, issued, forecast, observed in rows
    ]


def read_load_as_issued(store: Store, *, start: datetime, end: datetime) -> list[LoadAsIssued]:
    """Return the observed slots in ``[start, end)`` that have a forecast, by slot start.

    As :func:`read_pv_as_issued`, with the load P50 and the observed load [kWh per slot].

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the database cannot be read.
    """
    rows = _read_as_issued(
        store,
        start=start,
        end=end,
        forecast=SlotForecast.load_p50_kwh,
        observed=SlotObservation.load_kwh,
        what="load",
    )
    return [
        LoadAsIssued(
            slot_start=slot, issued_at=issued, load_forecast_kwh=forecast, load_kwh=observed
        )
        for slot, issued, forecast, observed in rows
    ]
