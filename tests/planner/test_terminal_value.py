"""Tests of the persistence price extension (``planner/scheduling/terminal_value.py``).

Hand-made price series with two to four slots per day, so every expected array can be
written out: the first extra day repeats the last known day slot by slot, the later days
repeat the mean daily profile of the last (at most) seven whole known days, aligned to the
end of the known prices.
"""

from __future__ import annotations

import numpy as np
import pytest

from darkstar.planner.scheduling.terminal_value import persistence_extension


def test_persistence_extension_last_day_then_mean_of_fewer_than_seven_days() -> None:
    # three days of four slots: last day [9, 10, 11, 12]; mean profile of the three days
    known = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0])
    out = persistence_extension(known, slots_per_day=4)
    np.testing.assert_array_equal(out, [9.0, 10.0, 11.0, 12.0, 5.0, 6.0, 7.0, 8.0])


def test_persistence_extension_mean_profile_uses_only_last_seven_days() -> None:
    # nine days of two slots, day k = [k, 10 k]; days 3..9 give the mean [6, 60]
    known = np.array([v for k in range(1, 10) for v in (float(k), 10.0 * k)])
    out = persistence_extension(known, slots_per_day=2)
    np.testing.assert_array_equal(out, [9.0, 90.0, 6.0, 60.0])


def test_persistence_extension_seven_days_exactly() -> None:
    known = np.array([v for k in range(1, 8) for v in (float(k), -float(k))])
    out = persistence_extension(known, slots_per_day=2, days=3)
    np.testing.assert_array_equal(out, [7.0, -7.0, 4.0, -4.0, 4.0, -4.0])


def test_persistence_extension_mean_profile_aligned_to_the_end() -> None:
    # 2.5 days of two slots: the whole days are the last four prices [2, 3], [4, 5]
    known = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = persistence_extension(known, slots_per_day=2)
    np.testing.assert_array_equal(out, [4.0, 5.0, 3.0, 4.0])


def test_persistence_extension_less_than_one_day_is_tiled() -> None:
    # three prices, four slots a day: tiled so the extension ends with the last price
    known = np.array([1.0, 2.0, 3.0])
    out = persistence_extension(known, slots_per_day=4)
    np.testing.assert_array_equal(out, [3.0, 1.0, 2.0, 3.0, 3.0, 1.0, 2.0, 3.0])


def test_persistence_extension_single_price_days_three() -> None:
    out = persistence_extension(np.array([-0.5]), slots_per_day=3, days=3)
    np.testing.assert_array_equal(out, np.full(9, -0.5))


def test_persistence_extension_days_one_is_last_day_only() -> None:
    known = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    out = persistence_extension(known, slots_per_day=3, days=1)
    np.testing.assert_array_equal(out, [4.0, 5.0, 6.0])


def test_persistence_extension_returns_float_copy() -> None:
    known = np.array([1, 2, 3, 4])
    out = persistence_extension(known, slots_per_day=2, days=1)
    assert out.dtype == np.float64
    out[:] = 99.0
    np.testing.assert_array_equal(known, [1, 2, 3, 4])


@pytest.mark.parametrize("days", [1, 2, 5])
def test_persistence_extension_length(days: int) -> None:
    known = np.linspace(0.1, 2.0, 96 * 9 + 17)
    out = persistence_extension(known, slots_per_day=96, days=days)
    assert out.shape == (96 * days,)
    np.testing.assert_array_equal(out[:96], known[-96:])


def test_persistence_extension_empty_input_error() -> None:
    with pytest.raises(ValueError, match=r"^known_prices: at least one known price"):
        persistence_extension(np.array([]), slots_per_day=96)


@pytest.mark.parametrize("days", [0, -1])
def test_persistence_extension_days_below_one_error(days: int) -> None:
    with pytest.raises(ValueError, match=rf"^days: must be >= 1, got {days}$"):
        persistence_extension(np.array([1.0, 2.0]), slots_per_day=2, days=days)
