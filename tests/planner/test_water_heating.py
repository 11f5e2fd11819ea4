"""Unit tests of ``darkstar.planner.scheduling.water_heating``.

Water days (local midnight + deferral to the next), the ``water_heated_today_kwh``
deduction, the pro-rata quota at the horizon end (rounded down to whole switching blocks),
the cap (the full quota, also on a pro-rated day, rounded up to whole blocks plus the
top-up slots), the vacation
(anti-legionella) cycle and the local-clock decision groups, including DST days.

A switching block holds ``power_kw x decision_minutes / 60`` kWh. With ``PLAIN`` (no block
penalty, spacing or comfort window) decisions are per slot: 2 kWh on hourly slots, 0.5 kWh
on quarter-hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from darkstar.config.models import VacationModeConfig, WaterHeatingConfig
from darkstar.examples import build_request
from darkstar.planner.inputs import PlannerInput, parse_plan_request, prepare_input
from darkstar.planner.pipeline import plan_request
from darkstar.planner.scheduling.water_heating import (
    COMFORT_GAP_PENALTY_SEK_PER_H,
    SHORTFALL_MARGIN_SEK_PER_KWH,
    build_water_spec,
    decision_groups,
    decision_minutes,
    top_up_slots,
    water_days,
)
from darkstar.planner.solver.types import WaterDay

#: Every comfort feature off: decisions per slot, no spacing, quota only.
PLAIN: dict[str, Any] = {
    "power_kw": 2.0,
    "min_kwh_per_day": 6.0,
    "defer_up_to_hours": 0.0,
    "block_start_penalty_sek": 0.0,
    "max_hours_between_heating": None,
    "min_spacing_hours": 0.0,
    "enable_top_ups": True,
}


def _cfg(**overrides: Any) -> WaterHeatingConfig:
    return WaterHeatingConfig(**{**PLAIN, **overrides})


def _pin(
    start: str,
    n_slots: int,
    *,
    slot_minutes: int = 60,
    heated_kwh: float = 0.0,
    last_legionella_at: str | None = None,
    prices: list[float] | None = None,
    timezone: str = "Europe/Stockholm",
) -> PlannerInput:
    request = build_request(
        import_prices=prices or [1.0] * n_slots,
        start=start,
        slot_minutes=slot_minutes,
        water_heated_today_kwh=heated_kwh,
        timezone=timezone,
    )
    if last_legionella_at is not None:
        request["state"]["water_last_legionella_at"] = last_legionella_at
    return prepare_input(parse_plan_request(request))


def _windows(days: list[WaterDay] | tuple[WaterDay, ...]) -> list[tuple[str, int, int]]:
    return [(d.label, d.first_slot, d.end_slot) for d in days]


def _assert_partition(days: list[WaterDay], n_slots: int) -> None:
    """Water days cover the horizon exactly once, in order, without empty days."""
    assert days, "no water day"
    assert days[0].first_slot == 0
    for before, after in zip(days, days[1:], strict=False):
        assert before.end_slot == after.first_slot
    assert days[-1].end_slot == n_slots
    assert all(d.end_slot > d.first_slot for d in days), _windows(days)


# --- water_days --------------------------------------------------------------------------


def test_water_days_midnight_to_midnight_without_deferral() -> None:
    days = water_days(_pin("2026-03-10T00:00:00+01:00", 48), _cfg())
    assert _windows(days) == [("2026-03-10", 0, 24), ("2026-03-11", 24, 48)]
    assert [d.required_kwh for d in days] == [6.0, 6.0]
    # 6 kWh = three 2 kWh hours; no top-up slot at 1 SEK/kWh.
    assert [d.max_kwh for d in days] == [6.0, 6.0]


def test_water_days_deferral_keeps_early_hours_in_the_previous_day() -> None:
    # With 3 h deferral, 00:00-03:00 still belongs to yesterday's water day: its whole quota
    # (nothing heated yet) is due before 03:00. Today's day runs 03:00 -> 03:00 tomorrow.
    days = water_days(_pin("2026-03-10T00:00:00+01:00", 48), _cfg(defer_up_to_hours=3))
    assert _windows(days) == [
        ("2026-03-09", 0, 3),
        ("2026-03-10", 3, 27),
        ("2026-03-11", 27, 48),  # end_slot is clipped to the horizon
    ]
    assert days[0].required_kwh == pytest.approx(6.0)
    assert days[1].required_kwh == pytest.approx(6.0)
    # 21 of 24 hours: 6 x 21/24 = 5.25 kWh, 5.25 / 2 = 2.625 -> 2 whole 2 kWh hours = 4 kWh.
    assert days[2].required_kwh == pytest.approx(4.0)
    # The cap is the full quota, not the share: 6 kWh / 2 kWh = 3 whole hours = 6 kWh (no
    # top-up slot at 1 SEK/kWh).
    assert days[2].max_kwh == pytest.approx(6.0)


def test_water_days_start_after_the_deferral_belongs_to_today() -> None:
    days = water_days(_pin("2026-03-10T03:00:00+01:00", 24), _cfg(defer_up_to_hours=3))
    assert _windows(days) == [("2026-03-10", 0, 24)]
    assert days[0].required_kwh == pytest.approx(6.0)


def test_water_days_start_inside_the_deferral_belongs_to_yesterday() -> None:
    days = water_days(_pin("2026-03-10T02:00:00+01:00", 24), _cfg(defer_up_to_hours=3))
    assert _windows(days) == [("2026-03-09", 0, 1), ("2026-03-10", 1, 24)]
    # Yesterday's window ends at 03:00, inside the horizon: its whole quota.
    assert days[0].required_kwh == pytest.approx(6.0)
    # Today 03:00 -> 03:00, horizon ends 02:00: 6 x 23/24 = 5.75 kWh, 5.75 / 2 = 2.875
    # -> 2 whole 2 kWh hours = 4 kWh.
    assert days[1].required_kwh == pytest.approx(4.0)


def test_water_days_heated_today_is_deducted_from_the_first_day_only() -> None:
    pin = _pin("2026-03-10T13:00:00+01:00", 35, heated_kwh=2.5)
    days = water_days(pin, _cfg())
    assert _windows(days) == [("2026-03-10", 0, 11), ("2026-03-11", 11, 35)]
    assert days[0].required_kwh == pytest.approx(6.0 - 2.5)
    assert days[1].required_kwh == pytest.approx(6.0)
    # 3.5 kWh / 2 kWh = 1.75 -> capped at two whole hours = 4 kWh; tomorrow 6 kWh = 3 hours.
    assert [d.max_kwh for d in days] == pytest.approx([4.0, 6.0])


def test_water_days_heated_today_above_quota_needs_nothing() -> None:
    days = water_days(_pin("2026-03-10T13:00:00+01:00", 11, heated_kwh=9.0), _cfg())
    assert days[0].required_kwh == 0.0


def test_water_days_pro_rata_over_the_remaining_window() -> None:
    # Horizon 13:00-19:00: 6 of the 11 remaining hours of today, so 6/11 of what is left:
    # (6 - 0.5) x 6/11 = 3 kWh. Hourly slots: 3 / 2 kWh = 1.5 -> one whole hour = 2 kWh.
    # The cap is what is left of the whole quota, 6 - 0.5 = 5.5 kWh, rounded up to whole
    # 2 kWh hours: 2.75 -> 3 hours = 6 kWh (no top-up slot at 1 SEK/kWh).
    days = water_days(_pin("2026-03-10T13:00:00+01:00", 6, heated_kwh=0.5), _cfg())
    assert _windows(days) == [("2026-03-10", 0, 6)]
    assert days[0].required_kwh == pytest.approx(2.0)
    assert days[0].max_kwh == pytest.approx(6.0)
    # Quarter-hours (0.5 kWh blocks): 3 / 0.5 = 6 whole blocks, so the full 3 kWh; the cap
    # 5.5 / 0.5 = 11 whole blocks = 5.5 kWh.
    pin = _pin("2026-03-10T13:00:00+01:00", 24, slot_minutes=15, heated_kwh=0.5)
    days = water_days(pin, _cfg())
    assert _windows(days) == [("2026-03-10", 0, 24)]
    assert days[0].required_kwh == pytest.approx(3.0)
    assert days[0].max_kwh == pytest.approx(5.5)


def test_water_days_horizon_ending_at_midnight_has_no_empty_next_day() -> None:
    days = water_days(_pin("2026-03-10T13:00:00+01:00", 11), _cfg())
    assert _windows(days) == [("2026-03-10", 0, 11)]
    assert days[0].required_kwh == pytest.approx(6.0)


def test_water_days_tomorrow_missing_six_hour_quarter_hour_horizon() -> None:
    # Tomorrow's prices not yet published: 24 quarter-hours from 18:00 to midnight. With the
    # default 3 h deferral today's water day runs to 03:00, so 6 of its remaining 9 hours are
    # in the horizon: (6 - 1) x 6/9 = 3.33 kWh; 0.5 kWh quarter-hour blocks: 6.67 -> 6 = 3 kWh.
    pin = _pin("2026-03-10T18:00:00+01:00", 24, slot_minutes=15, heated_kwh=1.0)
    days = water_days(pin, _cfg(defer_up_to_hours=3))
    assert _windows(days) == [("2026-03-10", 0, 24)]
    assert days[0].required_kwh == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("required_share", "slot_minutes", "power_kw", "overrides", "expected_kwh", "cap_kwh"),
    [
        # 6 x 21/24 = 5.25 kWh, 2 kWh hours: 2.625 -> 2 hours = 4 kWh; cap 6 / 2 = 3 hours
        (21 / 24, 60, 2.0, {}, 4.0, 6.0),
        # 6 x 8/24 = 2 kWh: exactly one hour, not zero (float-safe floor); cap 3 hours = 6 kWh
        (8 / 24, 60, 2.0, {}, 2.0, 6.0),
        # 6 x 6/24 = 1.5 kWh: less than one 2 kWh hour -> nothing (rolling planning heats
        # it); the cap is still the whole quota, 3 hours = 6 kWh
        (6 / 24, 60, 2.0, {}, 0.0, 6.0),
        # 6 x 13/24 = 3.25 kWh, 0.75 kWh quarter-hours: 4.33 -> 4 quarter-hours = 3 kWh;
        # cap 6 / 0.75 = 8 quarter-hours = 6 kWh
        (13 / 24, 15, 3.0, {}, 3.0, 6.0),
        # 3.25 kWh, 0.5 kWh quarter-hours: 6.5 -> 6 quarter-hours = 3 kWh; cap 12 = 6 kWh
        (13 / 24, 15, 2.0, {}, 3.0, 6.0),
        # 3.25 kWh, but a block-start penalty makes decisions hourly: 2 kWh blocks,
        # 1.625 -> one hour = 2 kWh; cap 6 / 2 = 3 hours = 6 kWh
        (13 / 24, 15, 2.0, {"block_start_penalty_sek": 0.5}, 2.0, 6.0),
        # 2.5 kWh hours: 6 x 21/24 = 5.25 kWh, 2.1 -> 2 hours = 5 kWh; the cap rounds the
        # quota UP: 6 / 2.5 = 2.4 -> 3 hours = 7.5 kWh
        (21 / 24, 60, 2.5, {}, 5.0, 7.5),
    ],
)
def test_water_days_pro_rata_rounds_down_to_whole_blocks(
    required_share: float,
    slot_minutes: int,
    power_kw: float,
    overrides: dict[str, Any],
    expected_kwh: float,
    cap_kwh: float,
) -> None:
    # The horizon ends `required_share` of the way into tomorrow's water day. Its required
    # kWh is the share rounded down to whole blocks; its cap is the FULL quota (6 kWh)
    # rounded up to whole blocks (no top-ups), so cheap hours in the tail may be used.
    n_tomorrow = round(24 * 60 / slot_minutes * required_share)
    pin = _pin(
        "2026-03-10T00:00:00+01:00", 24 * 60 // slot_minutes + n_tomorrow, slot_minutes=slot_minutes
    )
    days = water_days(pin, _cfg(enable_top_ups=False, power_kw=power_kw, **overrides))
    assert len(days) == 2
    assert days[-1].required_kwh == pytest.approx(expected_kwh)
    assert days[-1].max_kwh == pytest.approx(cap_kwh)
    # Today is whole: 6 kWh required, capped at the same whole-block quota as tomorrow.
    assert days[0].required_kwh == pytest.approx(6.0)
    assert days[0].max_kwh == pytest.approx(cap_kwh)


@pytest.mark.parametrize(
    ("slot_minutes", "power_kw", "overrides", "heated_kwh", "expected_cap_kwh"),
    [
        # quota 6: exactly three 2 kWh hours, not four (float-safe ceiling)
        (60, 2.0, {}, 0.0, 6.0),
        # quota 6 - 2.5 = 3.5 kWh: 1.75 -> two 2 kWh hours = 4 kWh
        (60, 2.0, {}, 2.5, 4.0),
        # 3.5 kWh in 0.5 kWh quarter-hours: exactly 7 = 3.5 kWh
        (15, 2.0, {}, 2.5, 3.5),
        # 3.5 kWh, hourly decisions (block penalty) on quarter-hours: two 2 kWh hours = 4 kWh
        (15, 2.0, {"block_start_penalty_sek": 0.5}, 2.5, 4.0),
        # 6 - 1 = 5 kWh, 0.75 kWh quarter-hours: 6.67 -> 7 = 5.25 kWh
        (15, 3.0, {}, 1.0, 5.25),
        # 5 kWh, hourly decisions (8 h comfort window): 3 kWh hours, 1.67 -> 2 = 6 kWh
        (15, 3.0, {"max_hours_between_heating": 8.0}, 1.0, 6.0),
    ],
)
def test_water_days_cap_rounds_the_quota_up_to_whole_blocks(
    slot_minutes: int,
    power_kw: float,
    overrides: dict[str, Any],
    heated_kwh: float,
    expected_cap_kwh: float,
) -> None:
    pin = _pin(
        "2026-03-10T00:00:00+01:00",
        24 * 60 // slot_minutes,
        slot_minutes=slot_minutes,
        heated_kwh=heated_kwh,
    )
    days = water_days(pin, _cfg(enable_top_ups=False, power_kw=power_kw, **overrides))
    assert _windows(days) == [("2026-03-10", 0, 24 * 60 // slot_minutes)]
    assert days[0].required_kwh == pytest.approx(6.0 - heated_kwh)
    assert days[0].max_kwh == pytest.approx(expected_cap_kwh)


def test_top_up_slots_only_at_import_price_zero_or_below() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 4, prices=[-0.5, 0.0, 0.01, 1.0])
    assert top_up_slots(pin, _cfg(enable_top_ups=True)).tolist() == [True, True, False, False]
    assert top_up_slots(pin, _cfg(enable_top_ups=False)).tolist() == [False] * 4


def test_water_days_top_ups_lift_the_cap_in_free_slots() -> None:
    # Two free hours (-0.5 and 0 SEK/kWh) and one at 0.01 SEK/kWh: with top-ups the element
    # may run in the two free hours beyond the quota, 2 x 2 kW x 1 h = 4 kWh more; without
    # top-ups the day is capped at the rounded quota, 6 kWh = three whole hours.
    pin = _pin("2026-03-10T00:00:00+01:00", 24, prices=[-0.5, 0.0, 0.01] + [1.0] * 21)
    capped = water_days(pin, _cfg(enable_top_ups=False))
    topped = water_days(pin, _cfg(enable_top_ups=True))
    assert capped[0].max_kwh == pytest.approx(6.0)
    assert topped[0].max_kwh == pytest.approx(6.0 + 4.0)
    assert topped[0].required_kwh == capped[0].required_kwh == 6.0


def test_water_days_top_ups_count_only_inside_each_window() -> None:
    # Quarter-hours, 2 kW: a free quarter-hour holds 0.5 kWh. Two free quarter-hours today
    # (slots 0, 1) and three in tomorrow's partial window (slots 96-98); horizon ends 06:00.
    prices = [1.0] * 120
    for free in (0, 1, 96, 97, 98):
        prices[free] = -0.1
    pin = _pin("2026-03-10T00:00:00+01:00", 120, slot_minutes=15, prices=prices)
    days = water_days(pin, _cfg())
    assert _windows(days) == [("2026-03-10", 0, 96), ("2026-03-11", 96, 120)]
    # Today: 6 kWh (12 blocks) + 2 x 0.5 kWh = 7 kWh.
    assert days[0].max_kwh == pytest.approx(7.0)
    # Tomorrow requires 6 x 6/24 = 1.5 kWh = 3 whole blocks; its cap is the full quota,
    # 6 kWh (12 blocks), + 3 x 0.5 kWh = 7.5 kWh. Today's free slots do not count.
    assert days[1].required_kwh == pytest.approx(1.5)
    assert days[1].max_kwh == pytest.approx(7.5)


@pytest.mark.parametrize(
    ("start", "n_hours", "windows"),
    [
        # Spring forward: 23 local hours.
        ("2026-03-29T00:00:00+01:00", 47, [("2026-03-29", 0, 23), ("2026-03-30", 23, 47)]),
        # Fall back: 25 local hours.
        ("2026-10-25T00:00:00+02:00", 49, [("2026-10-25", 0, 25), ("2026-10-26", 25, 49)]),
    ],
)
def test_water_days_dst_day_lengths(start: str, n_hours: int, windows: list[Any]) -> None:
    assert _windows(water_days(_pin(start, n_hours), _cfg())) == windows


def test_water_days_dst_quarter_hours_spring_92_fall_100() -> None:
    spring = water_days(_pin("2026-03-29T00:00:00+01:00", 92, slot_minutes=15), _cfg())
    fall = water_days(_pin("2026-10-25T00:00:00+02:00", 100, slot_minutes=15), _cfg())
    assert _windows(spring) == [("2026-03-29", 0, 92)]
    assert _windows(fall) == [("2026-10-25", 0, 100)]
    assert spring[0].required_kwh == fall[0].required_kwh == 6.0


@pytest.mark.parametrize(
    "start",
    [
        "2026-03-10T02:30:00+01:00",  # ordinary day, inside the deferral
        "2026-03-10T03:30:00+01:00",  # ordinary day, after the deferral
        "2026-03-29T01:30:00+01:00",  # spring day, before the clocks go forward
        "2026-10-25T02:30:00+02:00",  # fall day, first 02:30
    ],
)
def test_water_days_partition_the_horizon_with_deferral(start: str) -> None:
    pin = _pin(start, 96, slot_minutes=15, heated_kwh=2.0)
    days = water_days(pin, _cfg(defer_up_to_hours=3))
    _assert_partition(days, pin.n_slots)
    assert days[0].required_kwh == pytest.approx(4.0)


def test_water_days_partition_spring_forward_after_the_gap() -> None:
    # Start 03:30 CEST = 01:30 UTC. Water day 2026-03-29 starts 3 elapsed hours after local
    # midnight (23:00 UTC) = 02:00 UTC = 04:00 CEST, so 03:30-04:00 CEST (2 quarter-hours)
    # still belongs to 2026-03-28, with its whole quota less the heated 2 kWh (its window
    # ends inside the horizon). 2026-03-29 runs 23 h (spring day) to 01:00 UTC on the 30th:
    # slots 2 + 92 = 94. The horizon ends at 01:30 UTC, half an hour into 2026-03-30:
    # 6 x 0.5/24 = 0.125 kWh, less than one 0.5 kWh block -> 0.
    pin = _pin("2026-03-29T03:30:00+02:00", 96, slot_minutes=15, heated_kwh=2.0)
    days = water_days(pin, _cfg(defer_up_to_hours=3))
    _assert_partition(days, pin.n_slots)
    assert _windows(days) == [
        ("2026-03-28", 0, 2),
        ("2026-03-29", 2, 94),
        ("2026-03-30", 94, 96),
    ]
    assert [d.required_kwh for d in days] == pytest.approx([4.0, 6.0, 0.0])


def test_water_days_partition_fall_back_second_half_hour() -> None:
    # Start at the second 02:30 (CET) = 01:30 UTC. Water day 2026-10-25 starts 3 elapsed
    # hours after local midnight (22:00 UTC) = 01:00 UTC, so the start is inside it, and it
    # gets the heated_today deduction: 6 - 2 = 4 kWh. It runs 25 h to 02:00 UTC on the 26th
    # (midnight CET = 23:00 UTC, + 3 h), past the horizon end at 01:30 UTC: 24 of its
    # remaining 24.5 h -> 4 x 24/24.5 = 3.92 kWh, 7.84 blocks of 0.5 kWh -> 7 = 3.5 kWh.
    pin = _pin("2026-10-25T02:30:00+01:00", 96, slot_minutes=15, heated_kwh=2.0)
    days = water_days(pin, _cfg(defer_up_to_hours=3))
    _assert_partition(days, pin.n_slots)
    assert _windows(days) == [("2026-10-25", 0, 96)]
    assert days[0].required_kwh == pytest.approx(3.5)


# --- decision_minutes / decision_groups ---------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "slot_minutes", "expected"),
    [
        ({}, 15, 15),  # plain quota: per slot
        ({"block_start_penalty_sek": 0.5}, 15, 60),
        ({"min_spacing_hours": 1.0}, 15, 60),
        ({"max_hours_between_heating": 8.0}, 15, 60),
        ({"max_hours_between_heating": 24.0}, 15, 15),  # a day-long window is not comfort
        ({"block_start_penalty_sek": 0.5}, 60, 60),
        ({"decision_minutes": 30}, 15, 30),
        ({"decision_minutes": 15, "block_start_penalty_sek": 0.5}, 15, 15),
        ({"decision_minutes": 15}, 60, 60),  # never finer than a slot
    ],
)
def test_decision_minutes_auto_and_explicit(
    overrides: dict[str, Any], slot_minutes: int, expected: int
) -> None:
    assert decision_minutes(_cfg(**overrides), slot_minutes=slot_minutes) == expected


def test_decision_groups_none_when_decisions_are_per_slot() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 8, slot_minutes=15)
    assert decision_groups(pin, _cfg()) is None
    hourly = _pin("2026-03-10T00:00:00+01:00", 8)
    assert decision_groups(hourly, _cfg(block_start_penalty_sek=1.0)) is None


def test_decision_groups_hourly_on_quarter_hours_start_mid_hour() -> None:
    pin = _pin("2026-03-10T13:30:00+01:00", 10, slot_minutes=15)
    groups = decision_groups(pin, _cfg(decision_minutes=60))
    assert groups == (0, 0, 1, 1, 1, 1, 2, 2, 2, 2)


def test_decision_groups_half_hourly() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 8, slot_minutes=15)
    assert decision_groups(pin, _cfg(decision_minutes=30)) == (0, 0, 1, 1, 2, 2, 3, 3)


def test_decision_groups_follow_the_local_clock_not_utc() -> None:
    # India is UTC+05:30: local hours start at :30 UTC.
    pin = _pin("2026-03-10T00:00:00+05:30", 8, slot_minutes=15, timezone="Asia/Kolkata")
    assert decision_groups(pin, _cfg(decision_minutes=60)) == (0, 0, 0, 0, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("start", "n_slots", "n_groups"),
    [("2026-03-29T00:00:00+01:00", 92, 23), ("2026-10-25T00:00:00+02:00", 100, 25)],
)
def test_decision_groups_dst_days(start: str, n_slots: int, n_groups: int) -> None:
    pin = _pin(start, n_slots, slot_minutes=15)
    groups = decision_groups(pin, _cfg(decision_minutes=60))
    assert groups is not None
    assert len(groups) == n_slots
    assert groups == tuple(sorted(groups))
    sizes = [groups.count(g) for g in range(n_groups)]
    assert sizes == [4] * n_groups, "every local hour is one group of four quarter-hours"
    # Each group is one local clock hour: the hour of every slot in it is the same.
    for g in range(n_groups):
        members = [pin.slots[i].start.astimezone(pin.timezone) for i in range(n_slots)]
        hours = {(m.hour, m.utcoffset()) for i, m in enumerate(members) if groups[i] == g}
        assert len(hours) == 1


def test_decision_groups_fall_back_repeated_hour_is_two_groups() -> None:
    pin = _pin("2026-10-25T01:00:00+02:00", 12, slot_minutes=15)
    groups = decision_groups(pin, _cfg(decision_minutes=60))
    # 01:00+02, 02:00+02 and 02:00+01 (the repeated hour) are three separate hours.
    assert groups == (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2)


# --- build_water_spec -----------------------------------------------------------------------


def test_build_water_spec_translates_the_config() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 96, slot_minutes=15)
    cfg = WaterHeatingConfig(
        power_kw=3.0,
        block_start_penalty_sek=0.7,
        max_hours_between_heating=8.0,
        comfort_level=4,
        min_spacing_hours=2.0,
    )
    spec = build_water_spec(pin, cfg, max_import_price_sek_per_kwh=2.5)
    assert spec.power_kw == 3.0
    assert spec.block_start_penalty_sek == 0.7
    assert spec.comfort_window_slots == 32
    assert spec.comfort_gap_penalty_sek == COMFORT_GAP_PENALTY_SEK_PER_H[4]
    assert spec.spacing_slots == 8
    assert spec.shortfall_penalty_sek_per_kwh == pytest.approx(2.5 + SHORTFALL_MARGIN_SEK_PER_KWH)
    assert spec.decision_group == decision_groups(pin, cfg)
    assert spec.days == tuple(water_days(pin, cfg))


def test_build_water_spec_shortfall_penalty_never_below_the_margin() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 4)
    spec = build_water_spec(pin, _cfg(), max_import_price_sek_per_kwh=-3.0)
    assert spec.shortfall_penalty_sek_per_kwh == SHORTFALL_MARGIN_SEK_PER_KWH


def test_build_water_spec_no_comfort_window_when_unset() -> None:
    spec = build_water_spec(
        _pin("2026-03-10T00:00:00+01:00", 4), _cfg(), max_import_price_sek_per_kwh=1.0
    )
    assert spec.comfort_window_slots is None
    assert spec.spacing_slots == 0
    assert spec.decision_group is None


def test_comfort_penalty_rises_with_the_comfort_level() -> None:
    levels = [COMFORT_GAP_PENALTY_SEK_PER_H[k] for k in range(1, 6)]
    assert levels == sorted(levels)
    assert len(set(levels)) == 5


def _vacation(**overrides: Any) -> WaterHeatingConfig:
    return _cfg(
        max_hours_between_heating=8.0,
        vacation_mode=VacationModeConfig(enabled=True, **overrides),
    )


def test_build_water_spec_vacation_never_heated_is_due_now() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 24)
    spec = build_water_spec(
        pin, _vacation(anti_legionella_kwh=3.0), max_import_price_sek_per_kwh=1.0
    )
    assert len(spec.days) == 1
    (cycle,) = spec.days
    assert (cycle.first_slot, cycle.end_slot) == (0, 24)
    assert cycle.required_kwh == 3.0
    assert cycle.max_kwh == pytest.approx(4.0)  # capped at two whole 2 kWh hours
    assert cycle.label.startswith("anti-legionella due 2026-03-10T00:00:00+01:00")
    assert spec.comfort_window_slots is None, "no comfort heating while away"


def test_build_water_spec_vacation_not_due_within_the_horizon() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 48, last_legionella_at="2026-03-05T12:00:00+01:00")
    spec = build_water_spec(
        pin, _vacation(anti_legionella_interval_days=7.0), max_import_price_sek_per_kwh=1.0
    )
    assert spec.days == ()


def test_build_water_spec_vacation_due_inside_the_horizon() -> None:
    # Last cycle 2026-03-04 12:00 + 7 days = 2026-03-11 12:00 local = slot 36.
    pin = _pin("2026-03-10T00:00:00+01:00", 48, last_legionella_at="2026-03-04T12:00:00+01:00")
    spec = build_water_spec(
        pin, _vacation(anti_legionella_interval_days=7.0), max_import_price_sek_per_kwh=1.0
    )
    assert [(d.first_slot, d.end_slot) for d in spec.days] == [(36, 48)]


def test_build_water_spec_vacation_overdue_is_due_from_the_start() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 24, last_legionella_at="2026-02-01T00:00:00+01:00")
    spec = build_water_spec(pin, _vacation(), max_import_price_sek_per_kwh=1.0)
    assert [(d.first_slot, d.end_slot) for d in spec.days] == [(0, 24)]
    assert spec.days[0].label.startswith("anti-legionella due 2026-02-08")


def test_build_water_spec_vacation_due_exactly_at_the_horizon_end_is_not_due() -> None:
    last = (datetime(2026, 3, 10, tzinfo=UTC) - timedelta(days=6)).isoformat()
    pin = _pin("2026-03-10T00:00:00+00:00", 24, last_legionella_at=last, timezone="UTC")
    spec = build_water_spec(
        pin, _vacation(anti_legionella_interval_days=7.0), max_import_price_sek_per_kwh=1.0
    )
    assert spec.days == ()


def test_build_water_spec_vacation_zero_kwh_cycle_needs_nothing() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 24)
    spec = build_water_spec(
        pin, _vacation(anti_legionella_kwh=0.0), max_import_price_sek_per_kwh=1.0
    )
    assert spec.days == ()


def test_build_water_spec_vacation_ignores_the_daily_quota_and_heated_today() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 24, heated_kwh=5.0)
    spec = build_water_spec(
        pin, _vacation(anti_legionella_kwh=3.0), max_import_price_sek_per_kwh=1.0
    )
    assert [d.required_kwh for d in spec.days] == [3.0]


# --- in the planner ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail_prices", "top_ups", "heated_slots", "objective_sek"),
    [
        # Positive prices: tomorrow needs its share, one hour, and gets it at 02:00, the
        # cheapest hour of the tail: 2 x 0.2 = 0.4 SEK; 03:00 (0.3) would only add cost.
        # Total 8.4 + 0.4 = 8.8 SEK.
        ([0.8, 0.7, 0.2, 0.3, 0.6, 0.5], True, [13], 8.8),
        # 02:00-04:00 pays (-0.2, -0.3 SEK/kWh) and top-ups are off, so only the quota cap
        # bounds tomorrow: it is the full 8 kWh (4 hours), not the 2 kWh share, so both
        # paying hours are heated, 4 kWh > 2 kWh required: 2 x (-0.2 - 0.3) = -1.0 SEK.
        # Total 8.4 - 1.0 = 7.4 SEK (a cap at the share would allow only 03:00: 7.8 SEK).
        ([0.8, 0.7, -0.2, -0.3, 0.6, 0.5], False, [13, 14], 7.4),
    ],
)
def test_planner_heats_in_the_cheap_tail_of_a_pro_rated_day(
    tail_prices: list[float], top_ups: bool, heated_slots: list[int], objective_sek: float
) -> None:
    # Hourly slots from 13:00 to 06:00 tomorrow (later prices not known yet), no deferral,
    # 2 kW element, 8 kWh a day. Today 13:00-24:00 (slots 0-10) needs all 8 kWh = 4 hours:
    # 20-23 (slots 7-10) are the cheapest, 2 x (1.2 + 1.1 + 1.0 + 0.9) = 8.4 SEK.
    # Tomorrow 00-06 (slots 11-16) is 6/24 of its window: 8 x 6/24 = 2 kWh = one whole
    # hour required; cap 8 / 2 = 4 whole hours = 8 kWh (no top-up slot in either case).
    today = [1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9]
    config = {
        "system": {"has_battery": False, "has_water_heater": True},
        "water_heating": {**PLAIN, "min_kwh_per_day": 8.0, "enable_top_ups": top_ups},
    }
    request = build_request(
        import_prices=today + tail_prices, start="2026-03-10T13:00:00+01:00", config=config
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    days = out.kepler_input.water.days  # type: ignore[union-attr]
    assert _windows(days) == [("2026-03-10", 0, 11), ("2026-03-11", 11, 17)]
    assert [d.required_kwh for d in days] == pytest.approx([8.0, 2.0])
    assert [d.max_kwh for d in days] == pytest.approx([8.0, 8.0])
    water_kw = [row["water_heating_kw"] for row in out.document["schedule"]]
    assert [t for t, kw in enumerate(water_kw) if kw > 0] == [7, 8, 9, 10, *heated_slots]
    assert set(water_kw) == {0.0, 2.0}
    # Within 2e-3 SEK: the earliest-slot tie-break adds 1e-6 SEK x slot index per heated
    # slot (6.1e-5 SEK here).
    assert out.result.objective_sek == pytest.approx(objective_sek, abs=2e-3)
