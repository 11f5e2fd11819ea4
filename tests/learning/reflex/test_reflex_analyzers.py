"""Reflex's analyzers at their edges: thresholds, bounds, steps, the daily rate limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import TZ
from darkstar.learning.reflex.analyzers import (
    CAPACITY_MAX_STEP_FRAC,
    CONFIDENCE_BOUNDS,
    MAX_CHANGE_PER_DAY,
    ROI_BOUNDS,
    SAFETY_BOUNDS,
    SAFETY_CLEAN_DAYS,
    SAFETY_MAX_EVENT_DAYS,
    SAFETY_STEP_DOWN,
    SAFETY_STEP_UP,
    Analyzer,
    analyze_capacity,
    analyze_confidence,
    analyze_roi,
    analyze_safety,
    changed_today,
)
from darkstar.learning.reflex.signals import (
    CapacitySignal,
    ConfidenceSignal,
    RoiSignal,
    SafetySignal,
)

NOW = datetime(2018, 6, 1, 0, 30, tzinfo=TZ)


def _safety(*, low_soc_days: int = 0, clean_streak_days: int = 0) -> SafetySignal:
    return SafetySignal(
        evenings_observed=30,
        low_soc_days=low_soc_days,
        event_dates=tuple(date(2018, 5, 1 + d) for d in range(low_soc_days)),
        clean_streak_days=clean_streak_days,
        low_soc_threshold_percent=12.0,
        window_start=NOW - timedelta(days=30),
    )


def _confidence(bias_frac: float | None, pv_days: int = 14) -> ConfidenceSignal:
    forecast = 100.0
    actual = forecast if bias_frac is None else forecast * (1 + bias_frac)
    return ConfidenceSignal(
        pv_kwh=actual, pv_forecast_kwh=forecast, pv_days=pv_days, slots=500, bias_frac=bias_frac
    )


def _roi(*, value_sek: float, cycles: float, days: float = 30.0) -> RoiSignal:
    return RoiSignal(
        value_sek=value_sek,
        charge_kwh=cycles * 10 / 0.9,
        discharge_kwh=cycles * 10,
        full_cycles=cycles,
        observed_days=days,
        window_start=NOW - timedelta(days=days),
    )


def _capacity(capacity_kwh: float | None) -> CapacitySignal:
    return CapacitySignal(
        episodes=0 if capacity_kwh is None else 12,
        shallow_episodes=3,
        soc_energy_kwh=0.0 if capacity_kwh is None else capacity_kwh * 6,
        depth_percent=0.0 if capacity_kwh is None else 600.0,
        capacity_kwh=capacity_kwh,
    )


# --- safety ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "proposed"), [(SAFETY_MAX_EVENT_DAYS, None), (SAFETY_MAX_EVENT_DAYS + 1, 1.12)]
)
def test_analyze_safety_raises_after_more_than_three_low_evenings(
    days: int, proposed: float | None
) -> None:
    a = analyze_safety(_safety(low_soc_days=days), current=1.1, last_change=None, now=NOW, tz=TZ)
    assert a.proposed == proposed
    assert a.key == "s_index.base_factor"
    assert f"{days} low-SoC evening(s)" in a.reason


@pytest.mark.parametrize(
    ("streak", "proposed"), [(SAFETY_CLEAN_DAYS - 1, None), (SAFETY_CLEAN_DAYS, 1.09)]
)
def test_analyze_safety_lowers_after_sixty_clean_evenings(
    streak: int, proposed: float | None
) -> None:
    signal = _safety(clean_streak_days=streak)
    a = analyze_safety(signal, current=1.1, last_change=None, now=NOW, tz=TZ)
    assert a.proposed == proposed


@pytest.mark.parametrize(
    ("current", "signal", "proposed"),
    [
        (1.29, _safety(low_soc_days=9), 1.3),  # clamped to the upper bound
        (1.3, _safety(low_soc_days=9), None),  # at the bound
        (1.005, _safety(clean_streak_days=90), 1.0),
        (1.0, _safety(clean_streak_days=90), None),
        (1.5, _safety(low_soc_days=9), None),  # the user's value outside the bounds
        (1.5, _safety(clean_streak_days=90), None),  # ... is never moved, not even inwards
    ],
)
def test_analyze_safety_stays_within_bounds(
    current: float, signal: SafetySignal, proposed: float | None
) -> None:
    a = analyze_safety(signal, current=current, last_change=None, now=NOW, tz=TZ)
    assert a.proposed == proposed
    if proposed is not None:
        assert SAFETY_BOUNDS[0] <= proposed <= SAFETY_BOUNDS[1]
        assert abs(proposed - current) <= max(SAFETY_STEP_UP, SAFETY_STEP_DOWN) + 1e-12
    if current > SAFETY_BOUNDS[1]:
        assert "left to the user" in a.reason


def test_analyze_safety_rate_limit_is_one_change_per_local_day() -> None:
    signal = _safety(low_soc_days=5)
    earlier_today = datetime(2018, 6, 1, 0, 5, tzinfo=TZ)
    held = analyze_safety(signal, current=1.1, last_change=earlier_today, now=NOW, tz=TZ)
    assert held.proposed is None
    assert held.reason.startswith("rate limit")
    # 23 h 55 min ago, but yesterday: a daily job a little early is not locked out
    yesterday = NOW - timedelta(hours=23, minutes=55)
    again = analyze_safety(signal, current=1.1, last_change=yesterday, now=NOW, tz=TZ)
    assert again.proposed == 1.12


def test_changed_today_uses_the_local_calendar_day() -> None:
    late = datetime(2018, 5, 31, 21, 59, tzinfo=UTC)  # 23:59 in Stockholm
    assert not changed_today(late, now=NOW, tz=TZ)
    assert changed_today(late, now=NOW, tz=UTC)
    assert not changed_today(None, now=NOW, tz=TZ)


# --- confidence -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bias", "current", "user", "proposed"),
    [
        (1 / 1.2 - 1, 90.0, 90.0, 85.0),  # forecast 20 % high: target 75 -> 80, 5 a day
        (1 / 1.2 - 1, 82.0, 90.0, 80.0),  # ... down to the bound
        (1 / 1.2 - 1, 80.0, 90.0, None),  # ... and no further
        (0.15, 90.0, 90.0, 95.0),  # forecast 13 % low: target 103.5 -> 100
        (0.15, 98.0, 90.0, 100.0),
        (-0.01, 90.0, 90.0, None),  # unbiased within the deadband: the user's margin stays
        (0.0, 85.0, 90.0, 90.0),  # bias learnt away: back to the user's value
        (-0.5, 70.0, 70.0, None),  # the user's 70 % is outside the bounds: left alone
    ],
)
def test_analyze_confidence_tracks_the_users_margin_on_the_measured_bias(
    bias: float, current: float, user: float, proposed: float | None
) -> None:
    a = analyze_confidence(
        _confidence(bias), current=current, user_value=user, last_change=None, now=NOW, tz=TZ
    )
    assert a.proposed == proposed
    if proposed is not None:
        assert CONFIDENCE_BOUNDS[0] <= proposed <= CONFIDENCE_BOUNDS[1]
        assert abs(proposed - current) <= MAX_CHANGE_PER_DAY[a.key]


def test_analyze_confidence_holds_without_pv() -> None:
    a = analyze_confidence(
        _confidence(None, pv_days=0), current=90.0, user_value=90.0, last_change=None, now=NOW,
        tz=TZ,
    )  # fmt: skip
    assert a.proposed is None
    assert "too little PV" in a.reason


def test_analyze_confidence_rate_limited() -> None:
    a = analyze_confidence(
        _confidence(-0.3), current=90.0, user_value=90.0, last_change=NOW, now=NOW, tz=TZ
    )
    assert (a.proposed, a.reason[:10]) == (None, "rate limit")


# --- ROI ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_sek", "cycles", "current", "proposed"),
    [
        # wear per cycle at 0.2: 0.2 x (11.1 + 10) = 4.22 SEK
        (30 * 4.0, 30.0, 0.2, 0.25),  # 4.00 SEK a cycle < its wear: raise
        (30 * 4.3, 30.0, 0.2, None),  # pays, busy (1 cycle a day): hold
        (30 * 20.0, 30.0, 0.2, None),  # pays 4.7x, but busy: hold
        (8 * 20.0, 8.0, 0.2, 0.15),  # pays 4.7x, idle (0.27 a day): lower
        (8 * 12.0, 8.0, 0.2, None),  # idle, pays 2.8x: hold
        (4 * 1.0, 4.0, 0.2, None),  # 4 cycles: too few to tell
        (30 * 4.0, 30.0, 0.48, 0.5),  # raise clamped to the bound
        (30 * 4.0, 30.0, 0.5, None),
        (8 * 20.0, 8.0, 0.12, 0.1),
        (8 * 20.0, 8.0, 0.0, None),  # a zero wear cost is the user's, outside the bounds
    ],
)
def test_analyze_roi_steps_by_profit_per_cycle_vs_wear(
    value_sek: float, cycles: float, current: float, proposed: float | None
) -> None:
    a = analyze_roi(
        _roi(value_sek=value_sek, cycles=cycles), current=current, last_change=None, now=NOW, tz=TZ
    )
    assert a.proposed == (None if proposed is None else pytest.approx(proposed))
    if proposed is not None:
        assert ROI_BOUNDS[0] <= proposed <= ROI_BOUNDS[1]
        assert abs(proposed - current) <= MAX_CHANGE_PER_DAY[a.key] + 1e-12


def test_analyze_roi_reason_names_the_margin() -> None:
    a = analyze_roi(
        _roi(value_sek=30 * 4.0, cycles=30.0), current=0.2, last_change=None, now=NOW, tz=TZ
    )
    assert a.signal["margin"] == pytest.approx(4.0 / (0.2 * (10 / 0.9 + 10)), abs=1e-3)
    assert "do not pay" in a.reason


# --- capacity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "current", "nameplate", "proposed"),
    [
        (9.0, 10.0, 10.0, 9.5),  # 10 % fade: 5 % of the nameplate a day
        (9.0, 9.5, 10.0, 9.0),
        (9.8, 10.0, 10.0, None),  # within the 3 % deadband
        (11.0, 10.0, 10.0, None),  # never up
        (12.0, 9.0, 10.0, None),  # never up, not even back to the nameplate
        (5.0, 10.0, 10.0, None),  # under 60 % of the nameplate: implausible
        (6.2, 6.5, 10.0, 6.2),  # a long fade: near the floor, still followed
        (9.0, 10.0, 9.5, None),  # the current value above the nameplate: the user's
    ],
)
def test_analyze_capacity_only_down_never_above_the_nameplate(
    estimate: float, current: float, nameplate: float, proposed: float | None
) -> None:
    a = analyze_capacity(
        _capacity(estimate), current=current, nameplate=nameplate, last_change=None, now=NOW, tz=TZ
    )
    assert a.proposed == proposed
    if proposed is not None:
        assert proposed < current <= nameplate
        assert current - proposed <= CAPACITY_MAX_STEP_FRAC * nameplate + 1e-9


def test_analyze_capacity_without_an_estimate_holds() -> None:
    a = analyze_capacity(
        _capacity(None), current=10.0, nameplate=10.0, last_change=None, now=NOW, tz=TZ
    )
    assert a.proposed is None
    assert "too shallow" in a.reason


def test_analyze_capacity_implausible_estimate_says_so() -> None:
    a = analyze_capacity(
        _capacity(5.0), current=10.0, nameplate=10.0, last_change=None, now=NOW, tz=TZ
    )
    assert "implausible" in a.reason


def test_assessment_to_dict_is_json_ready() -> None:
    a = analyze_safety(_safety(low_soc_days=5), current=1.1, last_change=None, now=NOW, tz=TZ)
    d = a.to_dict()
    assert d["analyzer"] == "safety"
    assert (d["key"], d["current"], d["proposed"]) == ("s_index.base_factor", 1.1, 1.12)
    assert d["signal"]["event_dates"][0] == "2018-05-01"
    assert Analyzer.SAFETY.rule == "reflex.safety"
