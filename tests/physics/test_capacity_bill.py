"""The capacity tariff's billed quantity from measured imports (darkstar.physics.capacity)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from darkstar.config.models import CapacityTariffConfig
from darkstar.physics.capacity import billed_peak_kw, capacity_charge_sek, counted_peaks_kw

TZ = ZoneInfo("Europe/Stockholm")
Q = timedelta(minutes=15)


def _slots(start: datetime, kws: list[float]) -> list[tuple[datetime, float]]:
    return [(start + i * Q, kw) for i, kw in enumerate(kws)]


def test_distinct_days_keep_each_days_highest_hour() -> None:
    # 8 Jan 2018: hour 18 local averages 3 kW, hour 19 averages 1 kW; 9 Jan: one hour at 2 kW
    day1 = _slots(datetime(2018, 1, 8, 17, tzinfo=UTC), [3, 3, 3, 3, 1, 1, 1, 1])
    day2 = _slots(datetime(2018, 1, 9, 17, tzinfo=UTC), [2, 2, 2, 2])
    tariff = CapacityTariffConfig(sek_per_kw_month=80, peaks_counted=3, distinct_days=True)
    values = counted_peaks_kw(day1 + day2, tariff, tz=TZ, slot_h=0.25)
    assert values == {(2018, 1): [3.0, 2.0]}
    # two counted values, three billed: the missing one counts as 0 -> (3 + 2 + 0) / 3
    assert capacity_charge_sek(values[2018, 1], tariff) == pytest.approx(80 * 5 / 3)


def test_hours_outside_the_window_count_at_the_night_factor() -> None:
    # 02:00-03:00 local at 4 kW, 08:00-09:00 local at 3 kW; window 7-19, night factor 0.5
    night = _slots(datetime(2018, 1, 8, 1, tzinfo=UTC), [4] * 4)
    day = _slots(datetime(2018, 1, 9, 7, tzinfo=UTC), [3] * 4)
    tariff = CapacityTariffConfig(
        sek_per_kw_month=80, hours="7-19", night_factor=0.5, distinct_days=False
    )
    assert counted_peaks_kw(night + day, tariff, tz=TZ, slot_h=0.25) == {(2018, 1): [2.0, 3.0]}
    zero = tariff.model_copy(update={"night_factor": 0.0})
    assert counted_peaks_kw(night + day, zero, tz=TZ, slot_h=0.25) == {(2018, 1): [3.0]}


def test_the_repeated_autumn_hour_is_two_hours_and_months_split() -> None:
    # 28 Oct 2018: local 02:00-03:00 happens twice (00:00 and 01:00 UTC)
    slots = _slots(datetime(2018, 10, 28, 0, tzinfo=UTC), [2] * 4 + [6] * 4)
    tariff = CapacityTariffConfig(sek_per_kw_month=80, distinct_days=False, months=[10, 11])
    assert counted_peaks_kw(slots, tariff, tz=TZ, slot_h=0.25) == {(2018, 10): [2.0, 6.0]}
    # 31 Oct 23:00 local is October, 1 Nov 00:00 local November; December is not billed
    edge = _slots(datetime(2018, 10, 31, 22, tzinfo=UTC), [1] * 4 + [5] * 4)
    december = _slots(datetime(2018, 12, 3, 12, tzinfo=UTC), [9] * 4)
    values = counted_peaks_kw(edge + december, tariff, tz=TZ, slot_h=0.25)
    assert values == {(2018, 10): [1.0], (2018, 11): [5.0]}


def test_a_partial_hour_counts_its_energy_over_the_whole_hour() -> None:
    slots = _slots(datetime(2018, 1, 8, 17, 30, tzinfo=UTC), [4, 4])
    tariff = CapacityTariffConfig(sek_per_kw_month=80, distinct_days=False)
    assert counted_peaks_kw(slots, tariff, tz=TZ, slot_h=0.25) == {(2018, 1): [2.0]}


def test_billed_peak_is_the_mean_of_the_n_largest() -> None:
    assert billed_peak_kw([1.0, 7.0, 4.0, 2.0], 2) == pytest.approx(5.5)
    assert billed_peak_kw([], 3) == 0.0
