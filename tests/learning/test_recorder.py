"""Slot energies from cumulative counters: hand-checkable cases and an invariant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkstar.errors import InputError
from darkstar.house import EntityState
from darkstar.learning.recorder import (
    SLOT,
    CounterGapError,
    CounterSample,
    CounterSeries,
    SlotEnergies,
    SlotGap,
    counter_at,
    counter_increase_kwh,
    series_from_states,
    slot_energies,
)

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _series(entity_id: str, *points: tuple[float, float | None]) -> CounterSeries:
    """Samples at ``T0 + minutes`` (``None`` = unreadable)."""
    return CounterSeries(
        entity_id,
        tuple(
            CounterSample(T0 + m * MIN, v, None if v is not None else "state is 'unavailable'")
            for m, v in points
        ),
    )


def _state(entity_id: str, minutes: float, state: str, unit: str = "kWh") -> EntityState:
    return EntityState(entity_id, state, {"unit_of_measurement": unit}, T0 + minutes * MIN)


def _energies(result: SlotEnergies | SlotGap) -> dict[str, float]:
    assert isinstance(result, SlotEnergies), result
    return dict(result.energy_kwh)


def _gap(result: SlotEnergies | SlotGap) -> str:
    assert isinstance(result, SlotGap), result
    return result.reason


# -- the value at a boundary -------------------------------------------------------------


def test_counter_at_last_sample_at_or_before_the_moment() -> None:
    pv = _series("sensor.pv", (0, 10.0), (7, 10.25), (15, 10.5))
    assert counter_at(pv, T0) == 10.0
    assert counter_at(pv, T0 + 6 * MIN) == 10.0
    assert counter_at(pv, T0 + 7 * MIN) == 10.25  # a sample stamped at the moment counts
    assert counter_at(pv, T0 + 15 * MIN) == 10.5
    assert counter_at(pv, T0 + 5 * SLOT) == 10.5  # a counter holds until the next change


def test_counter_at_no_sample_before_raises_naming_the_entity() -> None:
    pv = _series("sensor.pv", (5, 10.0))
    with pytest.raises(CounterGapError, match=r"sensor\.pv: no state at or before") as info:
        counter_at(pv, T0)
    assert info.value.entity_id == "sensor.pv"


def test_counter_at_unreadable_state_in_effect_raises() -> None:
    pv = _series("sensor.pv", (0, 10.0), (5, None), (12, 10.5))
    with pytest.raises(CounterGapError, match="unreadable.*unavailable"):
        counter_at(pv, T0 + 10 * MIN)
    assert counter_at(pv, T0 + 12 * MIN) == 10.5


def test_counter_at_old_sample_is_known_unless_an_age_limit_is_set() -> None:
    pv = _series("sensor.pv", (0, 10.0))
    assert counter_at(pv, T0 + 8 * SLOT) == 10.0  # nothing flowed at night: still known
    with pytest.raises(CounterGapError, match="old"):
        counter_at(pv, T0 + 8 * SLOT, max_sample_age=SLOT)


def test_counter_at_held_across_a_long_unsampled_change_is_unknown_with_a_span_limit() -> None:
    # HA down from minute 3 to 50: it recorded nothing, so its history holds 10.0 until
    # the state written at its restart; when the 0.8 kWh flowed in between is unknown
    load = _series("sensor.load", (0, 9.9), (3, 10.0), (50, 10.8), (52, 10.81))
    assert counter_at(load, T0 + SLOT) == 10.0  # without the limit: held (the old rule)
    with pytest.raises(CounterGapError, match=r"changed from 10 to 10\.8 kWh between .* unknown"):
        counter_at(load, T0 + SLOT, max_change_span=SLOT)
    assert counter_at(load, T0 + 2 * MIN, max_change_span=SLOT) == 9.9  # samples 3 min apart
    assert counter_at(load, T0 + 51 * MIN, max_change_span=SLOT) == 10.8
    # unchanged across the span is exact (a counter never goes back): PV at night
    pv = _series("sensor.pv", (0, 7.5), (300, 7.5), (310, 7.6))
    assert counter_at(pv, T0 + 4 * SLOT, max_change_span=SLOT) == 7.5


def test_slot_energies_span_limit_turns_the_outage_slots_into_gaps() -> None:
    load = _series("sensor.load", (0, 10.0), (50, 10.8), (60, 11.0))
    out = slot_energies({"load_kwh": load}, [T0 + k * SLOT for k in range(4)], max_change_span=SLOT)
    assert "changed from 10 to 10.8 kWh" in _gap(out[0])  # its end lies in the outage
    assert "changed from 10 to 10.8 kWh" in _gap(out[3])  # its start lies in the outage
    assert _energies(slot_energies({"load_kwh": load}, [T0])[0]) == {"load_kwh": 0.0}


def test_counter_at_naive_moment_raises_input_error() -> None:
    pv = _series("sensor.pv", (0, 10.0))
    with pytest.raises(InputError, match="moment"):
        counter_at(pv, datetime(2026, 3, 10, 10))  # noqa: DTZ001 - the point of the test


def test_counter_series_unsorted_samples_raise_naming_the_sample() -> None:
    with pytest.raises(InputError, match=r"sensor\.pv\.samples\[1\]\.at"):
        _series("sensor.pv", (5, 10.0), (0, 9.0))


# -- slot energies: micro cases ------------------------------------------------------------


def test_slot_energies_hand_checked_three_slots() -> None:
    pv = _series("sensor.pv", (-3, 100.0), (5, 100.25), (15, 100.5), (20, 101.0), (40, 101.25))
    load = _series("sensor.load", (0, 50.0), (15, 50.125), (30, 50.375), (45, 50.5))
    starts = [T0, T0 + SLOT, T0 + 2 * SLOT]
    out = slot_energies({"pv_kwh": pv, "load_kwh": load}, starts)
    assert [r.slot_start for r in out] == starts
    assert _energies(out[0]) == {"pv_kwh": 0.5, "load_kwh": 0.125}
    assert _energies(out[1]) == {"pv_kwh": 0.5, "load_kwh": 0.25}
    assert _energies(out[2]) == {"pv_kwh": 0.25, "load_kwh": 0.125}


def test_slot_energies_idle_counter_gives_zero_not_a_gap() -> None:
    pv = _series("sensor.pv", (-120, 7.5))  # the state in effect since two hours ago
    assert _energies(slot_energies({"pv_kwh": pv}, [T0])[0]) == {"pv_kwh": 0.0}


def test_slot_energies_counter_reset_mid_slot_adds_the_new_cycle() -> None:
    # 100.0 at the slot start, 100.5 before the inverter reboots to 0, 0.25 at the end
    grid = _series("sensor.grid_in", (0, 100.0), (5, 100.5), (8, 0.0), (15, 0.25))
    assert _energies(slot_energies({"grid_import_kwh": grid}, [T0])[0]) == {
        "grid_import_kwh": (100.5 - 100.0) + 0.25
    }


def test_slot_energies_reset_exactly_at_a_boundary_starts_the_next_slot_at_zero() -> None:
    meter = _series("sensor.meter", (0, 100.0), (10, 100.5), (15, 0.0), (30, 0.25))
    out = slot_energies({"load_kwh": meter}, [T0, T0 + SLOT])
    assert [_energies(r)["load_kwh"] for r in out] == [0.5, 0.25]


def test_counter_increase_matches_home_assistant_total_increasing_table() -> None:
    # developers.home-assistant.io, "New sensor state class: total_increasing": sum 0 -> 15
    meter = _series("sensor.meter", (0, 1000.0), (15, 1010.0), (30, 0.0), (45, 5.0))
    assert counter_increase_kwh(meter, start=T0, end=T0 + 45 * MIN) == 15.0


def test_slot_energies_dip_under_ten_percent_is_a_gap_not_a_reset() -> None:
    meter = _series("sensor.meter", (0, 100.0), (15, 95.0), (30, 96.0))
    out = slot_energies({"load_kwh": meter}, [T0, T0 + SLOT])
    assert "load_kwh: sensor.meter: fell by 5 kWh" in _gap(out[0])
    assert _energies(out[1]) == {"load_kwh": 1.0}


def test_slot_energies_dip_recovered_within_the_slot_counts_net() -> None:
    meter = _series("sensor.meter", (0, 100.0), (5, 95.0), (15, 101.0))
    assert _energies(slot_energies({"load_kwh": meter}, [T0])[0]) == {"load_kwh": 1.0}


def test_slot_energies_glitch_to_zero_and_back_is_not_a_new_cycle() -> None:
    meter = _series("sensor.meter", (0, 12345.0), (5, 0.0), (10, 12345.5), (30, 0.0), (35, 12346.0))
    out = slot_energies({"load_kwh": meter}, [T0, T0 + SLOT])
    assert _energies(out[0]) == {"load_kwh": 0.5}  # the bad read inside the slot is skipped
    assert "glitch" in _gap(out[1])  # the bad read is in effect at the slot end


def test_slot_energies_negative_reading_is_unreadable() -> None:
    meter = _series("sensor.meter", (0, 5.0), (15, -1.0))
    assert "negative reading" in _gap(slot_energies({"load_kwh": meter}, [T0])[0])


# -- states through read_number ------------------------------------------------------------


def test_series_from_states_wh_kwh_and_mwh_give_kwh() -> None:
    pv = series_from_states(
        "sensor.pv", [_state("sensor.pv", 0, "10000", "Wh"), _state("sensor.pv", 15, "10500", "Wh")]
    )
    load = series_from_states(
        "sensor.load", [_state("sensor.load", 0, "2.5"), _state("sensor.load", 15, "2.75")]
    )
    grid = series_from_states(
        "sensor.grid",
        [_state("sensor.grid", 0, "1.0", "MWh"), _state("sensor.grid", 15, "1.001", "MWh")],
    )
    out = _energies(
        slot_energies({"pv_kwh": pv, "load_kwh": load, "grid_import_kwh": grid}, [T0])[0]
    )
    assert out == pytest.approx({"pv_kwh": 0.5, "load_kwh": 0.25, "grid_import_kwh": 1.0})


def test_slot_energies_unavailable_at_a_boundary_is_a_gap_naming_the_entity() -> None:
    states = [
        _state("sensor.grid_in", 0, "3.0"),
        _state("sensor.grid_in", 12, "unavailable"),
        _state("sensor.grid_in", 20, "3.5"),
        _state("sensor.grid_in", 40, "3.75"),
    ]
    grid = series_from_states("sensor.grid_in", states)
    pv = _series("sensor.pv", (0, 1.0), (45, 1.5))
    out = slot_energies({"pv_kwh": pv, "grid_import_kwh": grid}, [T0 + k * SLOT for k in range(3)])
    for result in out[:2]:  # 10:15 is the end of the first slot and the start of the second
        reason = _gap(result)
        assert reason.startswith(
            "grid_import_kwh: sensor.grid_in: state in effect at 2026-03-10T10:15:00+00:00"
        )
        assert "'unavailable'" in reason
        assert "pv_kwh" not in reason  # only the failing counter is named
    assert _energies(out[2]) == {"pv_kwh": 0.5, "grid_import_kwh": 0.25}


def test_slot_energies_unavailable_inside_a_slot_is_skipped() -> None:
    states = [
        _state("sensor.grid_in", 0, "3.0"),
        _state("sensor.grid_in", 4, "unknown"),
        _state("sensor.grid_in", 9, "3.25"),
    ]
    grid = series_from_states("sensor.grid_in", states)
    assert _energies(slot_energies({"grid_import_kwh": grid}, [T0])[0]) == {"grid_import_kwh": 0.25}


def test_slot_energies_unknown_unit_is_a_gap() -> None:
    states = [_state("sensor.pv", 0, "1.0", "W"), _state("sensor.pv", 15, "2.0", "W")]
    reason = _gap(slot_energies({"pv_kwh": series_from_states("sensor.pv", states)}, [T0])[0])
    assert "pv_kwh: sensor.pv:" in reason
    assert "unit 'W'" in reason


def test_slot_energies_no_sample_before_the_first_boundary_is_a_gap() -> None:
    pv = _series("sensor.pv", (3, 10.0), (15, 10.25), (30, 10.5))
    out = slot_energies({"pv_kwh": pv}, [T0, T0 + SLOT])
    assert _gap(out[0]) == f"pv_kwh: sensor.pv: no state at or before {T0.isoformat()}"
    assert _energies(out[1]) == {"pv_kwh": 0.25}


def test_slot_energies_gap_lists_every_failing_counter() -> None:
    pv = _series("sensor.pv", (5, 1.0))
    load = _series("sensor.load", (5, 1.0))
    reason = _gap(slot_energies({"pv_kwh": pv, "load_kwh": load}, [T0])[0])
    assert "pv_kwh: sensor.pv" in reason
    assert "load_kwh: sensor.load" in reason


def test_slot_energies_other_slot_length() -> None:
    pv = _series("sensor.pv", (0, 1.0), (60, 3.0))
    out = slot_energies({"pv_kwh": pv}, [T0], slot=timedelta(hours=1))
    assert _energies(out[0]) == {"pv_kwh": 2.0}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"counters": {}}, "counters"),
        ({"slot": timedelta(0)}, "slot"),
        ({"slot_starts": [datetime(2026, 3, 10)]}, r"slot_starts\[0\]"),  # noqa: DTZ001
    ],
)
def test_slot_energies_invalid_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "counters": {"pv_kwh": _series("sensor.pv", (0, 1.0))},
        "slot_starts": [T0],
    } | kwargs
    with pytest.raises(InputError, match=field):
        slot_energies(**args)  # type: ignore[arg-type]


# -- invariant -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_slot_energies_sum_to_the_counters_increase_with_resets_added_back(
    data: st.DataObject,
) -> None:
    n_slots = data.draw(st.integers(1, 12), label="n_slots")
    span_s = n_slots * int(SLOT.total_seconds())
    n = data.draw(st.integers(0, 40), label="n")
    offsets = sorted(data.draw(st.lists(st.integers(1, span_s), min_size=n, max_size=n)))
    steps = data.draw(
        st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=n, max_size=n),
        label="steps",
    )
    value = data.draw(st.floats(10.0, 1e5), label="base")
    lead_s = data.draw(st.integers(0, 7200), label="lead_s")
    samples = [CounterSample(T0 - timedelta(seconds=lead_s), value)]
    expected = 0.0
    for offset, (energy, reset) in zip(offsets, steps, strict=True):
        # a new cycle starts from 0; only from >= 10 kWh, so the drop is a reset for HA
        value = energy if reset and value >= 10.0 else value + energy
        expected += energy
        samples.append(CounterSample(T0 + timedelta(seconds=offset), value))
    samples.append(CounterSample(T0 + timedelta(seconds=span_s + 1), value + 5.0))  # after
    series = CounterSeries("sensor.meter", tuple(samples))
    out = slot_energies({"load_kwh": series}, [T0 + k * SLOT for k in range(n_slots)])
    total = sum(_energies(r)["load_kwh"] for r in out)
    assert all(_energies(r)["load_kwh"] >= 0 for r in out)
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9)
