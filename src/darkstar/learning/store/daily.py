"""The Analyst's daily metrics in the store (``learning_daily_metrics``, one row per local day).

:class:`DayMetrics` is one local day as the Analyst (:mod:`darkstar.learning.analyst`)
measured it; :func:`write_daily_metrics` upserts days by their date (a day recomputed after
late observations replaces its row) and :func:`read_daily_metrics` reads them back, newest
first, for the CLI and the dashboard.

Failure behaviour follows :mod:`darkstar.learning.store.strategy_log`: a write never raises
on a database error (it is logged, :attr:`Store.last_write_error
<darkstar.learning.store.Store.last_write_error>` is set and ``False`` returned), invalid
input raises :class:`~darkstar.errors.InputError`, and a read raises
:class:`~darkstar.learning.store.StoreError`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import DailyMetricsRow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.learning.store.engine import Store

__all__ = [
    "DAILY_METRICS_READ_LIMIT",
    "DayMetrics",
    "read_daily_metrics",
    "write_daily_metrics",
]

logger = logging.getLogger(__name__)

DAILY_METRICS_READ_LIMIT: Final = 366
"""Days :func:`read_daily_metrics` returns by default: a year, leap day included."""

_TIMEZONE_LEN: Final = 64
_COUNTS: Final = ("observed_slots", "matched_slots", "forecast_slots")
_OPTIONAL_FLOATS: Final = (
    "pv_mae_kwh",
    "pv_bias_kwh",
    "load_mae_kwh",
    "load_bias_kwh",
    "planned_cost_sek",
    "actual_cost_sek",
    "cost_deviation_sek",
    "battery_efficiency_realized",
    "soc_tracking_error_percent",
)


@dataclass(frozen=True, kw_only=True)
class DayMetrics:
    """What one local day did against its forecasts and plans; ``None``: no data for it.

    Attributes
    ----------
    day : date
        The local date.
    timezone : str
        The zone the day is local to (IANA name, e.g. ``Europe/Stockholm``).
    observed_slots : int
        Slots with an observation.
    matched_slots : int
        Observed slots a stored plan covered (the planned cost and SoC error use these).
    forecast_slots : int
        Observed slots with a forecast issued at or before their start (the forecast
        errors use these).
    pv_mae_kwh, load_mae_kwh : float or None
        Mean absolute error of the P50 as issued per slot [kWh].
    pv_bias_kwh, load_bias_kwh : float or None
        Mean forecast - actual per slot [kWh]; positive: the forecast was too high.
    planned_cost_sek, cost_deviation_sek : float or None
        Cost the plans expected over the matched slots, and what they actually cost more
        [SEK] (:func:`~darkstar.learning.store.repository.daily_metrics`).
    actual_cost_sek : float or None
        Import cost minus export revenue of the observed slots [SEK].
    battery_efficiency_realized : float or None
        Discharged over charged energy [fraction].
    soc_tracking_error_percent : float or None
        Mean ``|projected SoC - observed SoC|`` at the end of the matched slots with an SoC
        reading [percentage points].
    low_soc_events : int or None
        Evening slots (16-20 h local) that ended at or below the minimum SoC plus the
        safety margin; ``None`` without an evening SoC reading or a minimum SoC.
    computed_at : datetime
        When the day was measured (tz-aware).
    """

    day: date
    timezone: str
    observed_slots: int
    matched_slots: int
    forecast_slots: int
    pv_mae_kwh: float | None
    pv_bias_kwh: float | None
    load_mae_kwh: float | None
    load_bias_kwh: float | None
    planned_cost_sek: float | None
    actual_cost_sek: float | None
    cost_deviation_sek: float | None
    battery_efficiency_realized: float | None
    soc_tracking_error_percent: float | None
    low_soc_events: int | None
    computed_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.day, date) or isinstance(self.day, datetime):
            raise InputError("day", f"expected a date, got {self.day!r}")
        if not 0 < len(self.timezone) <= _TIMEZONE_LEN:
            raise InputError("timezone", f"must be 1 to {_TIMEZONE_LEN} characters")
        for name in (*_COUNTS, "low_soc_events"):
            count = getattr(self, name)
            if count is None and name == "low_soc_events":
                continue
            if not isinstance(count, int) or count < 0:
                raise InputError(name, f"must be a count >= 0, got {count!r}")
        for name in _OPTIONAL_FLOATS:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InputError(name, f"must be finite or None, got {value}")
        if self.computed_at.utcoffset() is None:
            raise InputError("computed_at", f"{self.computed_at!r} must be tz-aware")

    def to_dict(self) -> dict[str, Any]:
        """Return the day as JSON-ready values (``day`` ISO date, ``computed_at`` ISO UTC)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["day"] = self.day.isoformat()
        values["computed_at"] = self.computed_at.astimezone(UTC).isoformat()
        return values


def _row_values(metrics: DayMetrics) -> dict[str, Any]:
    """Return the table row of a day: ``day`` as ``YYYY-MM-DD``, ``computed_at`` as ISO UTC text."""
    values = {f.name: getattr(metrics, f.name) for f in fields(metrics)}
    values["day"] = metrics.day.isoformat()
    values["computed_at"] = metrics.computed_at.astimezone(UTC).isoformat(timespec="microseconds")
    return values


def write_daily_metrics(store: Store, metrics: Sequence[DayMetrics]) -> bool:
    """Insert or replace the metrics of each day (upsert on ``day``, one transaction).

    Parameters
    ----------
    store : Store
        The open learning store.
    metrics : Sequence[DayMetrics]
        The days to keep, each at most once; a stored day is replaced whole.

    Returns
    -------
    bool
        ``True`` when stored (or nothing to store); ``False`` when the database write failed
        (logged, and in ``store.last_write_error``; no day is written then).

    Raises
    ------
    InputError
        When a day appears twice, or an item is not a :class:`DayMetrics`.
    """
    rows: list[dict[str, Any]] = []
    seen: set[date] = set()
    for i, item in enumerate(metrics):
        if not isinstance(item, DayMetrics):
            raise InputError(f"metrics[{i}]", f"expected DayMetrics, got {type(item).__name__}")
        if item.day in seen:
            raise InputError(f"metrics[{i}].day", f"{item.day} appears twice")
        seen.add(item.day)
        rows.append(_row_values(item))
    if not rows:
        return True
    statement = insert(DailyMetricsRow).values(rows)
    upsert = statement.on_conflict_do_update(
        index_elements=["day"],
        set_={name: statement.excluded[name] for name in rows[0] if name != "day"},
    )
    try:
        with Session(store.engine) as session, session.begin():
            session.execute(upsert)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("write_daily_metrics: could not keep %d days", len(rows))
        return False
    store.note_write_ok()
    return True


def _metrics(row: DailyMetricsRow) -> DayMetrics:
    return DayMetrics(
        day=date.fromisoformat(row.day),
        timezone=row.timezone,
        observed_slots=row.observed_slots,
        matched_slots=row.matched_slots,
        forecast_slots=row.forecast_slots,
        pv_mae_kwh=row.pv_mae_kwh,
        pv_bias_kwh=row.pv_bias_kwh,
        load_mae_kwh=row.load_mae_kwh,
        load_bias_kwh=row.load_bias_kwh,
        planned_cost_sek=row.planned_cost_sek,
        actual_cost_sek=row.actual_cost_sek,
        cost_deviation_sek=row.cost_deviation_sek,
        battery_efficiency_realized=row.battery_efficiency_realized,
        soc_tracking_error_percent=row.soc_tracking_error_percent,
        low_soc_events=row.low_soc_events,
        computed_at=datetime.fromisoformat(row.computed_at),
    )


def read_daily_metrics(
    store: Store, *, since: date | None = None, limit: int = DAILY_METRICS_READ_LIMIT
) -> list[DayMetrics]:
    """Return the stored days, newest first.

    Parameters
    ----------
    store : Store
        The open learning store.
    since : date, optional
        Only days on or after this local date.
    limit : int, default :data:`DAILY_METRICS_READ_LIMIT`
        Most days returned, >= 1.

    Raises
    ------
    InputError
        For ``limit < 1`` or a ``since`` that is not a date.
    StoreError
        When the database cannot be read.
    """
    if limit < 1:
        raise InputError("limit", f"must be >= 1, got {limit}")
    query = select(DailyMetricsRow)
    if since is not None:
        if not isinstance(since, date) or isinstance(since, datetime):
            raise InputError("since", f"expected a date, got {since!r}")
        query = query.where(DailyMetricsRow.day >= since.isoformat())
    query = query.order_by(DailyMetricsRow.day.desc()).limit(limit)
    try:
        with Session(store.engine) as session:
            return [_metrics(row) for row in session.scalars(query).all()]
    except SQLAlchemyError as exc:
        msg = f"cannot read the daily metrics: {exc}"
        raise StoreError(msg) from exc
