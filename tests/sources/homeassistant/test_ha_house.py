"""HomeAssistantHouse: the house interface over REST and WebSocket on one Home Assistant."""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_ha import TOKEN, FakeHomeAssistant

from darkstar.house import EntityState, House, Quantity, read_number
from darkstar.sources.homeassistant import HomeAssistantHouse


@pytest.fixture
def house(fake_ha: FakeHomeAssistant) -> Iterator[HomeAssistantHouse]:
    home = HomeAssistantHouse(fake_ha.connection(), backoff_initial_s=0.05)
    yield home
    home.close()


def test_house_implements_the_house_protocol(house: HomeAssistantHouse) -> None:
    assert isinstance(house, House)
    now = house.now
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=1)


def test_house_reads_writes_and_subscribes(
    house: HomeAssistantHouse, fake_ha: FakeHomeAssistant
) -> None:
    house.check()
    assert read_number(house.get_state("sensor.pv_power"), Quantity.POWER_KW) == pytest.approx(
        1.523
    )
    assert set(house.get_states(["sensor.battery_soc"])) == {"sensor.battery_soc"}
    house.call_service("input_number", "set_value", {"entity_id": "input_number.x", "value": 1})
    assert fake_ha.requests[-1].path == "/api/services/input_number/set_value"
    start = datetime(2025, 4, 10, 10, tzinfo=UTC)
    history = house.history(["sensor.pv_power"], start=start, end=start + timedelta(hours=2))
    assert len(history["sensor.pv_power"]) == 3
    states: queue.Queue[EntityState] = queue.Queue()
    unsubscribe = house.subscribe(["sensor.pv_power"], states.put)
    assert states.get(timeout=5).state == "1523"
    assert house.websocket.connected
    unsubscribe()
    series = house.statistics(["sensor.grid_import_energy"], start=start, end=start)
    assert series["sensor.grid_import_energy"].unit == "kWh"


def test_house_close_is_idempotent(fake_ha: FakeHomeAssistant) -> None:
    with HomeAssistantHouse(fake_ha.connection()) as house:
        house.check()
    house.close()


def test_the_token_is_never_logged(
    fake_ha: FakeHomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), HomeAssistantHouse(fake_ha.connection()) as house:
        house.check()
        states: queue.Queue[EntityState] = queue.Queue()
        house.subscribe(["sensor.pv_power"], states.put)
        states.get(timeout=5)
        house.websocket.get_states()
    assert "connected to Home Assistant 2025.4.4" in caplog.text
    assert "/api/" in caplog.text  # httpx logs its requests
    assert TOKEN not in caplog.text


def test_home_assistant_house_is_a_house_for_the_type_checker() -> None:
    from darkstar.house import House
    from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

    house: House = HomeAssistantHouse(
        HomeAssistantConnection(url="http://127.0.0.1:9", token="x" * 32)
    )
    assert isinstance(house, House)
