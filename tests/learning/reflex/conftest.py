"""A hand-made house history for Reflex's tests: hourly slots, one pattern a day.

Every local day (Europe/Stockholm): idle until 10 h; PV 3 kWh an hour from 10 to 15 h charges
the battery to 90 %; the evening (16-22 h, import price 2 SEK/kWh, else 1) discharges it to
20 %. On an *empty* evening the battery is drained to 10 % (the floor) by 18 h and stays
there. The battery's real capacity can differ from the configured one (fade); the PV forecast
can be off by a factor (bias).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects.sqlite import insert

from darkstar.learning.store import SlotObservation, Store
from darkstar.learning.store.forecasts import ForecastSlot, record_forecast

TZ = ZoneInfo("Europe/Stockholm")
END = datetime(2018, 6, 1, tzinfo=TZ)  # local midnight: the analysis time of the histories
EFFICIENCY = 0.95
HOUR = timedelta(hours=1)


def history_rows(
    *,
    days: int,
    end: datetime = END,
    capacity_kwh: float = 10.0,
    empty_evenings: Collection[int] = (),
    unobserved_evenings: Collection[int] = (),
) -> list[dict[str, Any]]:
    """Observation rows of ``days`` days ending at ``end``; day 0 is the oldest."""
    rows: list[dict[str, Any]] = []
    soc = 20.0
    first = end - timedelta(days=days)
    for day in range(days):
        start = (first + timedelta(days=day)).astimezone(TZ)
        midnight = datetime(start.year, start.month, start.day, tzinfo=TZ)
        at_ten = None
        for hour in range(24):
            slot_start = midnight + timedelta(hours=hour)
            charge = discharge = 0.0
            if 10 <= hour < 15:
                at_ten = soc if at_ten is None else at_ten
                gain = (90.0 - at_ten) / 5
                charge = gain / 100 * capacity_kwh / EFFICIENCY
                soc += gain
            elif 16 <= hour < 22 and day in empty_evenings:
                loss = 40.0 if hour < 18 else 0.0
                discharge = loss / 100 * capacity_kwh * EFFICIENCY
                soc -= loss
            elif 16 <= hour < 22:
                loss = 70.0 / 6
                discharge = loss / 100 * capacity_kwh * EFFICIENCY
                soc -= loss
            pv = 3.0 if 10 <= hour < 15 else 0.0
            net = 1.0 - pv + charge - discharge
            evening = 16 <= hour < 22
            observed_soc = None if day in unobserved_evenings and evening else round(soc, 6)
            rows.append(
                {
                    "slot_start_utc": int(slot_start.timestamp()),
                    "pv_kwh": pv,
                    "load_kwh": 1.0,
                    "grid_import_kwh": max(net, 0.0),
                    "grid_export_kwh": max(-net, 0.0),
                    "battery_charge_kwh": charge,
                    "battery_discharge_kwh": discharge,
                    "water_heater_kwh": 0.0,
                    "soc_end_percent": observed_soc,
                    "water_temp_c": None,
                    "import_price_sek_per_kwh": 2.0 if evening else 1.0,
                    "export_price_sek_per_kwh": 0.3,
                    "recorded_at": slot_start.astimezone(UTC).isoformat(),
                }
            )
    return rows


def insert_rows(store: Store, rows: list[dict[str, Any]]) -> None:
    """Bulk-insert observation rows (a fixture's shortcut past ``record_observation``)."""
    with store.engine.begin() as connection:
        connection.execute(insert(SlotObservation), rows)


def record_pv_forecasts(store: Store, rows: list[dict[str, Any]], *, factor: float) -> None:
    """Issue one forecast per local day at its midnight: P50 = observed PV x ``factor``."""
    by_day: dict[datetime, list[ForecastSlot]] = {}
    for row in rows:
        start = datetime.fromtimestamp(row["slot_start_utc"], UTC)
        local = start.astimezone(TZ)
        issued = datetime(local.year, local.month, local.day, tzinfo=TZ)
        pv = row["pv_kwh"] * factor
        by_day.setdefault(issued, []).append(
            ForecastSlot(
                slot_start=start,
                pv_p10_kwh=pv,
                pv_p50_kwh=pv,
                pv_p90_kwh=pv,
                load_p10_kwh=1.0,
                load_p50_kwh=1.0,
                load_p90_kwh=1.0,
            )
        )
    for issued, slots in by_day.items():
        assert record_forecast(store, issued_at=issued, slots=slots, pv_source="t", load_source="t")


HistoryWriter = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def write_history(store: Store) -> HistoryWriter:
    """Write :func:`history_rows` (and PV forecasts with ``pv_forecast_factor``) to ``store``."""

    def write(*, pv_forecast_factor: float | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        rows = history_rows(**kwargs)
        insert_rows(store, rows)
        if pv_forecast_factor is not None:
            record_pv_forecasts(store, rows, factor=pv_forecast_factor)
        return rows

    return write
