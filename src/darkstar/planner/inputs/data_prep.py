"""Turn a validated :class:`PlanRequest` into a frozen :class:`PlannerInput`.

Checks what pydantic cannot see field by field: the slot grid (consecutive, equal length,
sorted), quantile ordering, and converts every time to UTC. Nothing is reindexed or filled.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from darkstar.errors import InputError
from darkstar.physics.timegrid import check_slot_grid
from darkstar.planner.inputs.types import EvState, PlannerInput, PlannerState, SlotData

if TYPE_CHECKING:
    from darkstar.planner.inputs.request import PlanRequest, SlotIn

__all__ = ["prepare_input"]

_QUANTILE_TRIPLES = (
    ("pv_p10_kwh", "pv_forecast_kwh", "pv_p90_kwh"),
    ("load_p10_kwh", "load_forecast_kwh", "load_p90_kwh"),
)


def _check_quantiles(i: int, slot: SlotIn) -> None:
    for low_name, mid_name, high_name in _QUANTILE_TRIPLES:
        low, mid, high = (getattr(slot, n) for n in (low_name, mid_name, high_name))
        if low is not None and low > mid + 1e-9:
            raise InputError(f"slots[{i}].{low_name}", f"{low} exceeds {mid_name} ({mid})")
        if high is not None and high < mid - 1e-9:
            raise InputError(f"slots[{i}].{high_name}", f"{high} is below {mid_name} ({mid})")


def prepare_input(request: PlanRequest) -> PlannerInput:
    """Build the planner input from a request.

    Raises
    ------
    InputError
        If the slot grid is not consecutive and equal-length, or quantiles cross.
    """
    starts = [s.start.astimezone(UTC) for s in request.slots]
    slot_duration = check_slot_grid(starts)
    slots = []
    for i, (slot, start) in enumerate(zip(request.slots, starts, strict=True)):
        _check_quantiles(i, slot)
        slots.append(
            SlotData(
                start=start,
                import_price_sek_per_kwh=slot.import_price_sek_per_kwh,
                export_price_sek_per_kwh=slot.export_price_sek_per_kwh,
                pv_forecast_kwh=slot.pv_forecast_kwh,
                load_forecast_kwh=slot.load_forecast_kwh,
                pv_p10_kwh=slot.pv_p10_kwh,
                pv_p90_kwh=slot.pv_p90_kwh,
                load_p10_kwh=slot.load_p10_kwh,
                load_p90_kwh=slot.load_p90_kwh,
                temperature_c=slot.temperature_c,
            )
        )
    legionella = request.state.water_last_legionella_at
    ev = request.state.ev
    ev_state = None
    if ev is not None:
        if ev.departure is not None and ev.departure <= starts[0]:
            raise InputError(
                "state.ev.departure",
                f"is not after the first slot's start ({request.slots[0].start.isoformat()})",
            )
        ev_state = EvState(
            soc_percent=ev.soc_percent,
            plugged_in=ev.plugged_in,
            departure=None if ev.departure is None else ev.departure.astimezone(UTC),
            target_soc_percent=ev.target_soc_percent,
        )
    state = PlannerState(
        soc_percent=request.state.soc_percent,
        water_heated_today_kwh=request.state.water_heated_today_kwh,
        water_last_legionella_at=None if legionella is None else legionella.astimezone(UTC),
        ev=ev_state,
        month_peaks_kw=tuple(request.state.month_peaks_kw),
    )
    return PlannerInput(
        timezone=ZoneInfo(request.timezone),
        slots=tuple(slots),
        slot_duration=slot_duration,
        state=state,
    )
