"""Units at the house boundary: HA states in, our units out, nothing unreadable made up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from darkstar.house import EntityState, HouseError, Quantity, UnreadableState, read_number

AT = datetime(2026, 3, 28, 12, tzinfo=UTC)


def _state(value: str, unit: str | None, entity_id: str = "sensor.x") -> EntityState:
    attributes = {} if unit is None else {"unit_of_measurement": unit}
    return EntityState(entity_id, value, attributes, AT)


@pytest.mark.parametrize(
    ("value", "unit", "quantity", "expected"),
    [
        ("1500", "W", Quantity.POWER_KW, 1.5),
        ("1.5", "kW", Quantity.POWER_KW, 1.5),
        ("0.0015", "MW", Quantity.POWER_KW, 1.5),
        ("-2500", "W", Quantity.POWER_KW, -2.5),
        ("12345", "Wh", Quantity.ENERGY_KWH, 12.345),
        ("12.345", "kWh", Quantity.ENERGY_KWH, 12.345),
        ("0.012345", "MWh", Quantity.ENERGY_KWH, 12.345),
        ("55.5", "%", Quantity.PERCENT, 55.5),
        ("16", "A", Quantity.CURRENT_A, 16.0),
        ("500", "mA", Quantity.CURRENT_A, 0.5),
        ("230.1", "V", Quantity.VOLTAGE_V, 230.1),
        ("55", "°C", Quantity.TEMPERATURE_C, 55.0),
        ("131", "°F", Quantity.TEMPERATURE_C, 55.0),
    ],
)
def test_read_number_converts_to_our_units(
    value: str, unit: str, quantity: Quantity, expected: float
) -> None:
    assert read_number(_state(value, unit), quantity) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value", ["unavailable", "unknown", "", "on", "nan", "inf", "-inf"])
def test_read_number_refuses_what_is_not_a_finite_number(value: str) -> None:
    with pytest.raises(UnreadableState) as info:
        read_number(_state(value, "W", "sensor.pv_power"), Quantity.POWER_KW)
    assert info.value.entity_id == "sensor.pv_power"
    assert str(info.value).startswith("sensor.pv_power: state is")


@pytest.mark.parametrize(
    ("unit", "quantity"),
    [
        (None, Quantity.POWER_KW),
        ("kWh", Quantity.POWER_KW),  # an energy counter configured as a power sensor
        ("W", Quantity.ENERGY_KWH),
        ("VA", Quantity.POWER_KW),
        ("K", Quantity.TEMPERATURE_C),
        ("", Quantity.PERCENT),
    ],
)
def test_read_number_refuses_unknown_units_naming_the_entity(
    unit: str | None, quantity: Quantity
) -> None:
    with pytest.raises(UnreadableState, match=r"^sensor\.meter: unit ") as info:
        read_number(_state("1.0", unit, "sensor.meter"), quantity)
    assert isinstance(info.value, HouseError)


def test_entity_state_needs_utc() -> None:
    from datetime import timedelta, timezone

    with pytest.raises(ValueError, match="tz-aware UTC"):
        EntityState("sensor.x", "1", {}, datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1))))
