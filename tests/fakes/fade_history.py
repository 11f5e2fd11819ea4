"""A stored history of a battery that holds less than its configured capacity.

:func:`write_fade_history` writes ``days`` days of 15-minute observations before ``end``:
each local day PV charges the battery from 20 % to 90 % (10-15 h) and the evening (16-22 h)
discharges it back to 20 %, one 70 % deep discharge a day from which Reflex's capacity
analyzer measures the real capacity (``capacity_kwh``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.sqlite import insert

from darkstar.learning.store import SlotObservation

if TYPE_CHECKING:
    from darkstar.learning.store import Store

TZ = ZoneInfo("Europe/Stockholm")
SLOT = timedelta(minutes=15)
EFFICIENCY = 0.95  # the default config's charge and discharge efficiency


def fade_rows(*, end: datetime, days: int, capacity_kwh: float) -> list[dict[str, Any]]:
    """Return the observation rows of ``days`` days before ``end`` (on the UTC grid)."""
    rows, soc = [], 20.0
    first = end.astimezone(UTC) - timedelta(days=days)
    for i in range(days * 96):  # on the UTC grid: a DST day has 92 or 100 slots
        slot = first + i * SLOT
        local = slot.astimezone(TZ)
        hour = local.hour + local.minute / 60
        charge = discharge = 0.0
        if 10 <= hour < 15:  # noqa: PLR2004 - 20 slots of +3.5 %
            soc += 3.5
            charge = 0.035 * capacity_kwh / EFFICIENCY
        elif 16 <= hour < 22:  # noqa: PLR2004 - 24 slots of -70/24 %
            soc -= 70.0 / 24
            discharge = 0.7 / 24 * capacity_kwh * EFFICIENCY
        pv = 0.75 if 10 <= hour < 15 else 0.0  # noqa: PLR2004
        net = 0.25 - pv + charge - discharge
        rows.append(
            {
                "slot_start_utc": int(slot.timestamp()),
                "pv_kwh": pv,
                "load_kwh": 0.25,
                "grid_import_kwh": max(net, 0.0),
                "grid_export_kwh": max(-net, 0.0),
                "battery_charge_kwh": charge,
                "battery_discharge_kwh": discharge,
                "water_heater_kwh": 0.0,
                "soc_end_percent": round(soc, 6),
                "water_temp_c": None,
                "import_price_sek_per_kwh": 2.0 if 16 <= hour < 22 else 1.0,  # noqa: PLR2004
                "export_price_sek_per_kwh": 0.3,
                "recorded_at": slot.astimezone(UTC).isoformat(),
            }
        )
    return rows


def write_fade_history(store: Store, *, end: datetime, days: int, capacity_kwh: float) -> None:
    """Write :func:`fade_rows` into the store's observations (one transaction)."""
    rows = fade_rows(end=end, days=days, capacity_kwh=capacity_kwh)
    with store.engine.begin() as connection:
        connection.execute(insert(SlotObservation), rows)
