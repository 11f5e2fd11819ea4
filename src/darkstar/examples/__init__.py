"""Bundled example plan requests built from real public data (see ``data/README.md``).

>>> sorted(p.stem for p in example_request_paths())[0]
'dk1-negative-prices-2018-03-17'
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["build_request", "example_request_paths", "read_example_request"]


def example_request_paths() -> list[Path]:
    """Paths of the bundled example requests, sorted by name."""
    folder = Path(str(files("darkstar.examples").joinpath("data")))
    return sorted(folder.glob("*.json"))


def read_example_request(name: str) -> dict[str, Any]:
    """Read one bundled example request by file stem, e.g. ``"se4-winter-2018-01-17"``."""
    for path in example_request_paths():
        if path.stem == name:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    known = ", ".join(p.stem for p in example_request_paths())
    msg = f"no example {name!r}; known: {known}"
    raise KeyError(msg)


def build_request(
    *,
    import_prices: list[float],
    export_prices: list[float] | None = None,
    pv_kwh: list[float] | None = None,
    load_kwh: list[float] | None = None,
    start: str = "2026-03-10T00:00:00+01:00",
    slot_minutes: int = 60,
    soc_percent: float = 50.0,
    water_heated_today_kwh: float = 0.0,
    config: dict[str, Any] | None = None,
    timezone: str = "Europe/Stockholm",
) -> dict[str, Any]:
    """Build a plan request (DESIGN §3.1) from per-slot lists; missing lists are zeros.

    Examples
    --------
    >>> req = build_request(import_prices=[1.0, 2.0], load_kwh=[0.5, 0.5])
    >>> [s["start"] for s in req["slots"]]
    ['2026-03-10T00:00:00+01:00', '2026-03-10T01:00:00+01:00']
    """
    n = len(import_prices)
    first_utc = datetime.fromisoformat(start).astimezone(UTC)
    zone = ZoneInfo(timezone)
    slots = []
    for i in range(n):
        moment = (first_utc + timedelta(minutes=slot_minutes * i)).astimezone(zone)
        slots.append(
            {
                "start": moment.isoformat(),
                "import_price_sek_per_kwh": import_prices[i],
                "export_price_sek_per_kwh": (export_prices or [0.0] * n)[i],
                "pv_forecast_kwh": (pv_kwh or [0.0] * n)[i],
                "load_forecast_kwh": (load_kwh or [0.0] * n)[i],
            }
        )
    return {
        "timezone": timezone,
        "slots": slots,
        "state": {"soc_percent": soc_percent, "water_heated_today_kwh": water_heated_today_kwh},
        "config": config or {},
    }
