"""The day-ahead price cache: whole delivery days in ``spot_prices``.

:func:`store_price_day` writes a day in one transaction (replacing an earlier copy, e.g.
preliminary prices that became final); :func:`load_price_day` reads it back as the
validated :class:`~darkstar.market.PriceDay`, or ``None`` when the store does not have it
whole. A restart therefore never fetches a cached day again.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.models import SpotPrice
from darkstar.market import PriceDay, SpotSlot

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from darkstar.learning.store.engine import Store

__all__ = ["load_price_day", "store_price_day"]

logger = logging.getLogger(__name__)


def _key(area: str, currency: str, day: date) -> tuple[ColumnElement[bool], ...]:
    return (
        SpotPrice.area == area,
        SpotPrice.currency == currency,
        SpotPrice.delivery_date == day.isoformat(),
    )


def store_price_day(store: Store, day: PriceDay, *, fetched_at: datetime | None = None) -> bool:
    """Cache ``day`` whole, replacing any earlier copy; ``False`` when the write failed."""
    at = (fetched_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    rows = [
        SpotPrice(
            area=day.area,
            currency=day.currency,
            delivery_date=day.delivery_date.isoformat(),
            start_utc=int(s.start.timestamp()),
            end_utc=int(s.end.timestamp()),
            spot_per_kwh=s.spot_per_kwh,
            final=day.final,
            fetched_at=at,
        )
        for s in day.slots
    ]
    try:
        with Session(store.engine) as session, session.begin():
            session.execute(
                delete(SpotPrice).where(*_key(day.area, day.currency, day.delivery_date))
            )
            session.add_all(rows)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("store_price_day: could not cache %s %s", day.area, day.delivery_date)
        return False
    store.note_write_ok()
    return True


def load_price_day(store: Store, *, area: str, currency: str, day: date) -> PriceDay | None:
    """Return the cached delivery day, or ``None`` when it is not cached whole."""
    query = select(SpotPrice).where(*_key(area, currency, day)).order_by(SpotPrice.start_utc)
    with Session(store.engine) as session:
        rows = session.scalars(query).all()
    if not rows:
        return None
    try:
        return PriceDay(
            area=area,
            currency=currency,
            delivery_date=day,
            slots=tuple(
                SpotSlot(
                    datetime.fromtimestamp(r.start_utc, UTC),
                    datetime.fromtimestamp(r.end_utc, UTC),
                    r.spot_per_kwh,
                )
                for r in rows
            ),
            final=all(r.final for r in rows),
        )
    except InputError as exc:  # a partial or damaged copy: fetch again
        logger.warning("cached prices %s %s %s unusable: %s", area, currency, day, exc)
        return None
