"""Frozen planner input types: one :class:`SlotData` per slot and the whole :class:`PlannerInput`.

Built once by :func:`darkstar.planner.inputs.data_prep.prepare_input` from a validated request;
all times are tz-aware UTC, energies per slot in kWh, prices in SEK/kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from numpy.typing import NDArray

__all__ = ["PlannerInput", "PlannerState", "SlotData"]


@dataclass(frozen=True, kw_only=True)
class SlotData:
    """Prices and forecasts for one slot (start in UTC)."""

    start: datetime
    import_price_sek_per_kwh: float
    export_price_sek_per_kwh: float
    pv_forecast_kwh: float
    load_forecast_kwh: float
    pv_p10_kwh: float | None = None
    pv_p90_kwh: float | None = None
    load_p10_kwh: float | None = None
    load_p90_kwh: float | None = None
    temperature_c: float | None = None

    def __post_init__(self) -> None:
        if self.start.utcoffset() != timedelta(0):
            msg = "SlotData.start must be in UTC"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class EvState:
    """The electric car now: SoC [%], plugged in, departure (UTC or None), target [%]."""

    soc_percent: float
    plugged_in: bool
    departure: datetime | None
    target_soc_percent: float


@dataclass(frozen=True, kw_only=True)
class PlannerState:
    """Measured state at the start of the horizon."""

    soc_percent: float
    water_heated_today_kwh: float = 0.0
    water_last_legionella_at: datetime | None = None
    ev: EvState | None = None
    month_peaks_kw: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PlannerInput:
    """Everything the planner needs about the horizon, validated."""

    timezone: ZoneInfo
    slots: tuple[SlotData, ...]
    slot_duration: timedelta
    state: PlannerState

    @property
    def n_slots(self) -> int:
        """Number of slots in the horizon."""
        return len(self.slots)

    @property
    def slot_h(self) -> float:
        """Slot length [h]."""
        return self.slot_duration.total_seconds() / 3600.0

    @property
    def start(self) -> datetime:
        """Start of the first slot (UTC)."""
        return self.slots[0].start

    @property
    def end(self) -> datetime:
        """End of the last slot (UTC)."""
        return self.slots[-1].start + self.slot_duration

    def column(self, name: str) -> NDArray[np.float64]:
        """Return one numeric slot field as an array (missing values as NaN)."""
        values = [getattr(s, name) for s in self.slots]
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
