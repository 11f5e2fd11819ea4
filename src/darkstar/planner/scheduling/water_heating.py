"""Water-heating requirements: water days, comfort windows and the vacation cycle.

A *water day* runs from ``defer_up_to_hours`` after one local midnight to the same time
after the next (the morning deferral: with 3 h, heating at 02:00 still counts for the day
before). Water days partition the horizon, so no kWh counts twice. The first one starts at
the horizon start and has ``water_heated_today_kwh`` (heated since the current water day
began) deducted. A day whose window reaches past the horizon end asks only for the share
of its quota that matches the share of its remaining window inside the horizon; rolling
planning covers the rest.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from darkstar.planner.solver.types import WaterDay, WaterSpec

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from numpy.typing import NDArray

    from darkstar.config.models import WaterHeatingConfig
    from darkstar.planner.inputs.types import PlannerInput

__all__ = [
    "COMFORT_GAP_PENALTY_SEK_PER_H",
    "build_water_spec",
    "decision_groups",
    "decision_minutes",
    "top_up_slots",
    "water_day_start_utc",
    "water_days",
]

#: Price of one hour of pause beyond ``max_hours_between_heating``, by comfort level.
#: Level 3 (0.5 SEK/h) equals about 10 minutes of a 3 kW element at 1 SEK/kWh: it moves
#: heating blocks, but never buys extra energy on its own.
COMFORT_GAP_PENALTY_SEK_PER_H = {1: 0.1, 2: 0.25, 3: 0.5, 4: 1.0, 5: 2.0}

#: Shortfall on a quota costs this much above the highest import price per kWh, so the
#: quota is met whenever physics and the grid caps allow it.
SHORTFALL_MARGIN_SEK_PER_KWH = 5.0


def _slot_index(pin: PlannerInput, moment: datetime) -> int:
    """Return how many slots start before ``moment`` (clipped to the horizon)."""
    offset = (moment - pin.start) / pin.slot_duration
    return max(0, min(pin.n_slots, math.ceil(offset - 1e-9)))


def _quota_cap(required_kwh: float, slot_kwh: float) -> float:
    return math.ceil(required_kwh / slot_kwh - 1e-9) * slot_kwh


def _water_day_start(moment: datetime, tz: ZoneInfo, defer: timedelta) -> date:
    """Local date of the water day that contains ``moment`` (DST-safe, via the boundaries)."""
    day = moment.astimezone(tz).date()
    return day if moment >= _boundary(day, tz, defer) else day - timedelta(days=1)


def _boundary(day: date, tz: ZoneInfo, defer: timedelta) -> datetime:
    """Start of water day ``day`` in UTC (local midnight plus the deferral, DST-safe)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    return (midnight.astimezone(UTC) + defer) if defer else midnight.astimezone(UTC)


def top_up_slots(pin: PlannerInput, cfg: WaterHeatingConfig) -> NDArray[np.bool_]:
    """Slots where heating beyond the quota is allowed: import price <= 0.

    The model gives extra hot water no value of its own (no tank state yet), and curtailing
    surplus PV is free, so heating beyond the quota only pays where the grid pays for or
    gives away energy. Allowing it anywhere else adds nothing to the plan but lets the
    relaxation spread fractional heating over every slot: with top-ups allowed in PV-surplus
    slots, a 192-slot negative-price day took 2-5 s instead of 0.2 s.
    """
    if not cfg.enable_top_ups:
        return np.zeros(pin.n_slots, dtype=np.bool_)
    return pin.column("import_price_sek_per_kwh") <= 0.0


def water_day_start_utc(moment: datetime, *, tz: ZoneInfo, defer_up_to_hours: float) -> datetime:
    """Return when the water day containing ``moment`` began (UTC).

    The counterpart of ``state.water_heated_today_kwh``: heating since this instant.
    """
    defer = timedelta(hours=defer_up_to_hours)
    return _boundary(_water_day_start(moment, tz, defer), tz, defer)


def water_days(pin: PlannerInput, cfg: WaterHeatingConfig) -> list[WaterDay]:
    """Return the water days overlapping the horizon, with their required and maximum kWh.

    The maximum is the quota rounded up to whole switching blocks (an hour of the element
    when decisions are hourly), plus every top-up slot's energy in the window.
    """
    tz = pin.timezone
    defer = timedelta(hours=cfg.defer_up_to_hours)
    slot_minutes = round(pin.slot_duration.total_seconds() / 60)
    block_kwh = cfg.power_kw * decision_minutes(cfg, slot_minutes=slot_minutes) / 60.0
    top_up_kwh = top_up_slots(pin, cfg) * cfg.power_kw * pin.slot_h
    days: list[WaterDay] = []
    day = _water_day_start(pin.start, tz, defer)
    while True:
        window_start = max(pin.start, _boundary(day, tz, defer))
        if window_start >= pin.end:
            return days
        window_end = _boundary(day + timedelta(days=1), tz, defer)
        quota = cfg.min_kwh_per_day
        if not days:
            quota = max(0.0, quota - pin.state.water_heated_today_kwh)
        required = quota
        if window_end > pin.end:
            # the share of the quota for the share of the window inside the horizon, in
            # whole switching blocks: rolling planning heats the rest later, and a fraction
            # of a block would only buy a shortfall warning. The cap stays the whole quota,
            # so cheap hours in the tail may still be used.
            share = quota * (pin.end - window_start) / (window_end - window_start)
            required = math.floor(share / block_kwh + 1e-9) * block_kwh
        first, end = _slot_index(pin, window_start), _slot_index(pin, window_end)
        days.append(
            WaterDay(
                label=day.isoformat(),
                first_slot=first,
                end_slot=end,
                required_kwh=required,
                max_kwh=_quota_cap(quota, block_kwh) + float(np.sum(top_up_kwh[first:end])),
            )
        )
        day = day + timedelta(days=1)


def _legionella_days(pin: PlannerInput, cfg: WaterHeatingConfig) -> list[WaterDay]:
    vacation = cfg.vacation_mode
    last = pin.state.water_last_legionella_at
    due = (
        pin.start if last is None else last + timedelta(days=vacation.anti_legionella_interval_days)
    )
    if due >= pin.end or vacation.anti_legionella_kwh <= 0:
        return []
    first = _slot_index(pin, max(due, pin.start))
    required = vacation.anti_legionella_kwh
    return [
        WaterDay(
            label=f"anti-legionella due {due.astimezone(pin.timezone).isoformat()}",
            first_slot=first,
            end_slot=pin.n_slots,
            required_kwh=required,
            max_kwh=_quota_cap(
                required,
                cfg.power_kw
                * decision_minutes(cfg, slot_minutes=round(pin.slot_duration.total_seconds() / 60))
                / 60.0,
            ),
        )
    ]


def decision_minutes(cfg: WaterHeatingConfig, *, slot_minutes: int) -> int:
    """Switching granularity: the configured one, or auto (see ``decision_minutes`` key)."""
    if cfg.decision_minutes is not None:
        return max(cfg.decision_minutes, slot_minutes)
    comfort = cfg.max_hours_between_heating is not None and cfg.max_hours_between_heating < 24
    if cfg.block_start_penalty_sek > 0 or cfg.min_spacing_hours > 0 or comfort:
        return max(60, slot_minutes)
    return slot_minutes


def decision_groups(pin: PlannerInput, cfg: WaterHeatingConfig) -> tuple[int, ...] | None:
    """Per slot, the index of its local-clock switching period; None for per-slot decisions."""
    slot_minutes = round(pin.slot_duration.total_seconds() / 60)
    minutes = decision_minutes(cfg, slot_minutes=slot_minutes)
    if minutes <= slot_minutes:
        return None
    groups: list[int] = []
    previous: tuple[object, ...] | None = None
    for slot in pin.slots:
        local = slot.start.astimezone(pin.timezone)
        key = (local.date(), (local.hour * 60 + local.minute) // minutes, local.utcoffset())
        groups.append(len(groups) and groups[-1] + (key != previous))
        previous = key
    return tuple(groups)


def build_water_spec(
    pin: PlannerInput, cfg: WaterHeatingConfig, *, max_import_price_sek_per_kwh: float
) -> WaterSpec:
    """Translate the water-heating config into the solver's :class:`WaterSpec`."""
    vacation = cfg.vacation_mode.enabled
    days = _legionella_days(pin, cfg) if vacation else water_days(pin, cfg)
    window = None
    if cfg.max_hours_between_heating is not None and not vacation:
        window = max(1, round(cfg.max_hours_between_heating / pin.slot_h))
    return WaterSpec(
        decision_group=decision_groups(pin, cfg),
        power_kw=cfg.power_kw,
        days=tuple(days),
        shortfall_penalty_sek_per_kwh=max(0.0, max_import_price_sek_per_kwh)
        + SHORTFALL_MARGIN_SEK_PER_KWH,
        block_start_penalty_sek=cfg.block_start_penalty_sek,
        comfort_window_slots=window,
        comfort_gap_penalty_sek=COMFORT_GAP_PENALTY_SEK_PER_H[cfg.comfort_level],
        spacing_slots=round(cfg.min_spacing_hours / pin.slot_h),
    )
