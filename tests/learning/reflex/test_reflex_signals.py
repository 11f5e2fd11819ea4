"""Reflex's signals on hand-made histories: evening low-SoC days and the clean streak, the
PV bias against the forecast as issued, the battery's value per cycle, realised capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import END, TZ, HistoryWriter, history_rows
from darkstar.errors import InputError
from darkstar.learning.reflex.signals import (
    CAPACITY_MIN_EPISODES,
    CONFIDENCE_MIN_PV_DAYS,
    capacity_signal_from,
    confidence_signal_from,
    read_capacity_signal,
    read_confidence_signal,
    read_roi_signal,
    read_safety_signal,
    roi_signal_from,
    safety_signal_from,
)
from darkstar.learning.store import Store
from darkstar.learning.store.as_issued import PvAsIssued, read_pv_as_issued
from darkstar.learning.store.forecasts import ForecastSlot, record_forecast
from darkstar.learning.store.repository import ObservedSlot


def _slot(start: datetime, **values: float | None) -> ObservedSlot:
    fields: dict[str, float | None] = {
        "pv_kwh": 0.0,
        "load_kwh": 0.0,
        "grid_import_kwh": 0.0,
        "grid_export_kwh": 0.0,
        "battery_charge_kwh": 0.0,
        "battery_discharge_kwh": 0.0,
        "water_heater_kwh": 0.0,
        "soc_end_percent": 50.0,
        "import_price_sek_per_kwh": 1.0,
        "export_price_sek_per_kwh": 0.3,
        **values,
    }
    return ObservedSlot(slot_start=start, water_temp_c=None, recorded_at="", **fields)  # type: ignore[arg-type]


def _observed(rows: list[dict[str, object]]) -> list[ObservedSlot]:
    return [
        _slot(
            datetime.fromtimestamp(int(r["slot_start_utc"]), UTC),  # type: ignore[call-overload]
            **{k: r[k] for k in r if k.endswith(("_kwh", "_percent"))},  # type: ignore[misc]
        )
        for r in rows
    ]


# --- safety ---------------------------------------------------------------------------


def test_read_safety_signal_counts_empty_evenings_and_the_clean_streak(
    store: Store, write_history: HistoryWriter
) -> None:
    write_history(days=40, empty_evenings={30, 35})  # day 39 is the evening of 31 May
    signal = read_safety_signal(store, now=END, tz=TZ, min_soc_percent=10.0)
    assert signal.event_dates == (date(2018, 5, 22), date(2018, 5, 27))
    assert signal.low_soc_days == 2
    assert signal.evenings_observed == 30
    assert signal.clean_streak_days == 4  # 28-31 May
    assert signal.low_soc_threshold_percent == 12.0


def test_safety_signal_an_unobserved_evening_ends_the_clean_streak() -> None:
    slots = _observed(history_rows(days=10, unobserved_evenings={7}))  # type: ignore[arg-type]
    signal = safety_signal_from(slots, now=END, tz=TZ, min_soc_percent=10.0)
    assert signal.clean_streak_days == 2
    assert signal.evenings_observed == 9


def test_safety_signal_since_the_last_change_drops_older_evidence() -> None:
    slots = _observed(history_rows(days=40, empty_evenings={30, 35}))  # type: ignore[arg-type]
    since = datetime(2018, 5, 25, 1, 0, tzinfo=TZ)
    signal = safety_signal_from(slots, now=END, tz=TZ, min_soc_percent=10.0, since=since)
    assert signal.event_dates == (date(2018, 5, 27),)
    assert signal.evenings_observed == 7  # 25-31 May
    assert signal.window_start == since


@pytest.mark.parametrize(
    ("hour", "soc_percent", "event"),
    [
        (15, 10.0, False),  # before the evening
        (16, 10.0, True),
        (19, 12.0, True),  # at the margin above the floor
        (19, 12.5, False),
        (20, 10.0, False),  # the slot starting at 20 h is after the evening
    ],
)
def test_safety_signal_evening_window_and_margin(
    hour: int, soc_percent: float, event: bool
) -> None:
    day = datetime(2018, 5, 31, tzinfo=TZ)
    slots = [_slot(day + timedelta(hours=h), soc_end_percent=50.0) for h in (16, 17, 18)]
    slots.append(_slot(day + timedelta(hours=hour), soc_end_percent=soc_percent))
    signal = safety_signal_from(slots, now=END, tz=TZ, min_soc_percent=10.0)
    assert signal.low_soc_days == int(event)


def test_safety_signal_ignores_an_evening_still_running() -> None:
    now = datetime(2018, 5, 31, 19, 30, tzinfo=TZ)
    slots = [_slot(datetime(2018, 5, 31, 18, tzinfo=TZ), soc_end_percent=10.0)]
    assert safety_signal_from(slots, now=now, tz=TZ, min_soc_percent=10.0).low_soc_days == 0
    later = now + timedelta(minutes=30)
    assert safety_signal_from(slots, now=later, tz=TZ, min_soc_percent=10.0).low_soc_days == 1


def test_read_safety_signal_refuses_a_naive_now(store: Store) -> None:
    with pytest.raises(InputError, match="now"):
        read_safety_signal(store, now=datetime(2018, 6, 1), tz=TZ, min_soc_percent=10.0)  # noqa: DTZ001


# --- confidence -----------------------------------------------------------------------


def test_read_confidence_signal_measures_pv_against_the_forecast(
    store: Store, write_history: HistoryWriter
) -> None:
    write_history(days=20, pv_forecast_factor=1.2)
    signal = read_confidence_signal(store, now=END, tz=TZ)
    assert signal.pv_days == 14
    assert signal.pv_kwh == pytest.approx(14 * 15.0)
    assert signal.bias_frac == pytest.approx(1 / 1.2 - 1)


def test_read_pv_as_issued_uses_the_latest_forecast_issued_before_each_slot(
    store: Store, write_history: HistoryWriter
) -> None:
    rows = write_history(days=1, pv_forecast_factor=1.2)  # issued at midnight
    noon = datetime(2018, 5, 31, 12, tzinfo=TZ)
    later = [
        ForecastSlot(
            slot_start=datetime.fromtimestamp(int(r["slot_start_utc"]), UTC),
            pv_p10_kwh=r["pv_kwh"],
            pv_p50_kwh=r["pv_kwh"],
            pv_p90_kwh=r["pv_kwh"],
            load_p10_kwh=1.0,
            load_p50_kwh=1.0,
            load_p90_kwh=1.0,
        )
        for r in rows
    ]
    assert record_forecast(store, issued_at=noon, slots=later, pv_source="t", load_source="t")
    pairs = [
        p for p in read_pv_as_issued(store, start=END - timedelta(days=1), end=END) if p.pv_kwh
    ]
    assert [p.slot_start.astimezone(TZ).hour for p in pairs] == [10, 11, 12, 13, 14]
    assert [p.pv_forecast_kwh for p in pairs] == pytest.approx([3.6, 3.6, 3.0, 3.0, 3.0])


def _pairs(days: int, *, forecast_kwh: float, pv_kwh: float) -> list[PvAsIssued]:
    noon = datetime(2018, 5, 1, 12, tzinfo=TZ)
    return [
        PvAsIssued(
            slot_start=noon + timedelta(days=d),
            issued_at=noon,
            pv_forecast_kwh=forecast_kwh,
            pv_kwh=pv_kwh,
        )
        for d in range(days)
    ]


def test_confidence_signal_without_pv_has_no_bias() -> None:
    signal = confidence_signal_from(_pairs(14, forecast_kwh=0.0, pv_kwh=0.0), tz=TZ)
    assert (signal.pv_days, signal.bias_frac) == (0, None)


@pytest.mark.parametrize(("days", "measured"), [(CONFIDENCE_MIN_PV_DAYS - 1, False), (7, True)])
def test_confidence_signal_needs_enough_pv_days(days: int, measured: bool) -> None:
    signal = confidence_signal_from(_pairs(days, forecast_kwh=5.0, pv_kwh=6.0), tz=TZ)
    assert (signal.bias_frac is not None) is measured
    if measured:
        assert signal.bias_frac == pytest.approx(0.2)


# --- ROI ------------------------------------------------------------------------------


def test_roi_signal_values_the_battery_against_the_house_without_it() -> None:
    t0 = datetime(2018, 5, 31, 2, tzinfo=TZ)
    slots = [
        # 1 kWh charged from the grid at 0.5: without the battery nothing is imported
        _slot(t0, grid_import_kwh=1.0, battery_charge_kwh=1.0, import_price_sek_per_kwh=0.5),
        # 0.9 kWh discharged into a 1 kWh load at 2.0: without it 1 kWh is imported
        _slot(
            t0 + timedelta(hours=1),
            load_kwh=1.0,
            grid_import_kwh=0.1,
            battery_discharge_kwh=0.9,
            import_price_sek_per_kwh=2.0,
        ),
    ]
    signal = roi_signal_from(slots, capacity_kwh=10.0, window_start=t0)
    assert signal.value_sek == pytest.approx((0.0 - 0.5) + (2.0 - 0.2))
    assert signal.full_cycles == pytest.approx(0.09)
    assert signal.profit_per_cycle_sek == pytest.approx(1.3 / 0.09)
    assert signal.observed_days == pytest.approx(2 / 24)
    assert signal.throughput_kwh == pytest.approx(1.9)


def test_roi_signal_without_discharge_has_no_profit_per_cycle() -> None:
    signal = roi_signal_from([], capacity_kwh=10.0, window_start=END)
    assert (signal.profit_per_cycle_sek, signal.cycles_per_day) == (None, None)
    with pytest.raises(InputError, match="capacity_kwh"):
        roi_signal_from([], capacity_kwh=0.0, window_start=END)


def test_read_roi_signal_counts_since_the_last_change(
    store: Store, write_history: HistoryWriter
) -> None:
    write_history(days=40)
    whole = read_roi_signal(store, now=END, capacity_kwh=10.0)
    since = read_roi_signal(store, now=END, capacity_kwh=10.0, since=END - timedelta(days=10))
    assert whole.observed_days == pytest.approx(30.0)
    assert since.observed_days == pytest.approx(10.0)
    assert since.window_start == END - timedelta(days=10)
    # a day: 6 evening hours of 1 kWh load at 2.0 not imported (and the 6.65 - 6 kWh surplus
    # exported at 0.3); 7.37 kWh of PV charged instead of exported at 0.3
    discharged, charged = 0.7 * 10 * 0.95, 0.7 * 10 / 0.95
    per_day = 6 * 2.0 + (discharged - 6) * 0.3 - charged * 0.3
    assert since.value_sek == pytest.approx(10 * per_day)
    assert since.full_cycles == pytest.approx(10 * 0.665)


# --- capacity -------------------------------------------------------------------------


def test_read_capacity_signal_finds_the_real_capacity(
    store: Store, write_history: HistoryWriter
) -> None:
    write_history(days=10, capacity_kwh=9.0)
    signal = read_capacity_signal(store, now=END, charge_efficiency=0.95, discharge_efficiency=0.95)
    assert signal.episodes == 10
    assert signal.capacity_kwh == pytest.approx(9.0)


def _discharges(depths: list[float], *, capacity_kwh: float = 10.0) -> list[ObservedSlot]:
    """One slot at 90 %, then per depth: a discharge slot and a charging slot back to 90 %."""
    t = datetime(2018, 5, 1, tzinfo=TZ)
    slots = [_slot(t, soc_end_percent=90.0)]
    for depth in depths:
        t += timedelta(hours=1)
        out = depth / 100 * capacity_kwh * 0.95
        slots.append(_slot(t, battery_discharge_kwh=out, soc_end_percent=90.0 - depth))
        t += timedelta(hours=1)
        charged = depth / 100 * capacity_kwh / 0.95
        slots.append(_slot(t, battery_charge_kwh=charged, soc_end_percent=90.0))
    return slots


def test_capacity_signal_leaves_out_shallow_discharges() -> None:
    signal = capacity_signal_from(
        _discharges([29.0] * 5 + [40.0] * 2), charge_efficiency=0.95, discharge_efficiency=0.95
    )
    assert (signal.episodes, signal.shallow_episodes) == (2, 5)
    assert signal.capacity_kwh is None  # 2 deep ones < CAPACITY_MIN_EPISODES


def test_capacity_signal_needs_min_episodes() -> None:
    signal = capacity_signal_from(
        _discharges([40.0] * CAPACITY_MIN_EPISODES, capacity_kwh=8.0),
        charge_efficiency=0.95,
        discharge_efficiency=0.95,
    )
    assert signal.capacity_kwh == pytest.approx(8.0)


def test_capacity_signal_a_gap_or_a_missing_soc_splits_an_episode() -> None:
    t = datetime(2018, 5, 1, tzinfo=TZ)
    out = 0.2 * 10 * 0.95  # 20 % per slot
    run = [_slot(t, soc_end_percent=90.0)]
    run += [
        _slot(t + k * timedelta(hours=1), battery_discharge_kwh=out, soc_end_percent=90.0 - 20 * k)
        for k in (1, 2, 3)
    ]
    whole = capacity_signal_from(run, charge_efficiency=0.95, discharge_efficiency=0.95)
    assert (whole.episodes, whole.depth_percent) == (1, pytest.approx(60.0))
    gap = capacity_signal_from(
        [run[0], run[1], run[3]], charge_efficiency=0.95, discharge_efficiency=0.95
    )
    assert (gap.episodes, gap.shallow_episodes) == (0, 1)
    missing = [*run[:2], _slot(run[2].slot_start, soc_end_percent=None), run[3]]
    cut = capacity_signal_from(missing, charge_efficiency=0.95, discharge_efficiency=0.95)
    assert (cut.episodes, cut.shallow_episodes) == (0, 1)


def test_capacity_signal_a_trickle_charge_does_not_end_an_episode() -> None:
    t = datetime(2018, 5, 1, tzinfo=TZ)
    slots = [
        _slot(t, soc_end_percent=90.0),
        _slot(t + timedelta(hours=1), battery_discharge_kwh=0.2 * 9.5, soc_end_percent=70.0),
        _slot(t + timedelta(hours=2), battery_charge_kwh=0.005, soc_end_percent=70.0),
        _slot(t + timedelta(hours=3), battery_discharge_kwh=0.2 * 9.5, soc_end_percent=50.0),
    ]
    signal = capacity_signal_from(slots, charge_efficiency=0.95, discharge_efficiency=0.95)
    assert (signal.episodes, signal.depth_percent) == (1, pytest.approx(40.0))
    assert signal.soc_energy_kwh == pytest.approx(4.0 - 0.005 * 0.95)


def test_capacity_signal_refuses_an_efficiency_out_of_range() -> None:
    with pytest.raises(InputError, match="discharge_efficiency"):
        capacity_signal_from([], charge_efficiency=0.95, discharge_efficiency=0.0)
