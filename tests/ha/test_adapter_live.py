"""The Home Assistant adapter against the real sandbox Home Assistant (the ``ha`` fixture).

The same client code as in production talks to a real ``hass`` over REST and WebSocket:
states with units, recorder history, a service call on a helper, a live subscription, the
recorder's statistics metadata, a refused token, and a restart the WebSocket client must
ride out on its own (reconnect, re-authenticate, re-subscribe).
"""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from darkstar.house import EntityState, HouseError, Quantity, read_number
from darkstar.simulation.entities import SimEntity
from darkstar.simulation.ha_sandbox import RAW_UNAVAILABLE, SANDBOX_ENTITIES, SandboxEntity
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = pytest.mark.ha

PV = SANDBOX_ENTITIES[SimEntity.PV_POWER]
GRID_IMPORT = SANDBOX_ENTITIES[SimEntity.GRID_IMPORT_ENERGY]
SOC_TARGET = SANDBOX_ENTITIES[SimEntity.SOC_TARGET]


@pytest.fixture
def house(ha: HomeAssistantInstance) -> Iterator[HomeAssistantHouse]:
    connection = HomeAssistantConnection(ha.url, ha.token, timeout_s=10.0)
    with HomeAssistantHouse(connection, backoff_initial_s=0.2, backoff_max_s=1.0) as home:
        yield home


def _publish(house: HomeAssistantHouse, entity: SandboxEntity, value: float) -> None:
    """Set a measured value the way the sandbox bridge does: its raw helper."""
    house.call_service(
        "input_number", "set_value", {"entity_id": entity.raw_entity_id, "value": value}
    )


def _wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s} s")
        time.sleep(0.1)


def _next_with(states: queue.Queue[EntityState], state: str, *, timeout_s: float) -> EntityState:
    """Return the first delivered state equal to ``state`` (skipping earlier ones)."""
    deadline = time.monotonic() + timeout_s
    while (left_s := deadline - time.monotonic()) > 0:
        try:
            delivered = states.get(timeout=left_s)
        except queue.Empty:
            break
        if delivered.state == state:
            return delivered
    pytest.fail(f"no state {state!r} delivered within {timeout_s} s")


def test_check_accepts_the_token_and_refuses_another(
    ha: HomeAssistantInstance, house: HomeAssistantHouse
) -> None:
    house.check()
    wrong = HomeAssistantConnection(ha.url, "not-a-token", timeout_s=10.0)
    with HomeAssistantHouse(wrong) as intruder, pytest.raises(HouseError) as caught:
        intruder.check()
    assert str(caught.value) == "home_assistant.token: Home Assistant refused the token (401)"


def test_states_are_read_with_units(house: HomeAssistantHouse) -> None:
    _publish(house, PV, 1500.0)
    _publish(house, GRID_IMPORT, 12.5)
    _wait_for(
        lambda: house.get_state(PV.entity_id).state == "1500.0", timeout_s=5, what="PV 1500 W"
    )
    states = house.get_states([PV.entity_id, GRID_IMPORT.entity_id])
    assert states[PV.entity_id].attributes["unit_of_measurement"] == "W"
    assert read_number(states[PV.entity_id], Quantity.POWER_KW) == pytest.approx(1.5)
    _wait_for(
        lambda: house.get_state(GRID_IMPORT.entity_id).state == "12.5",
        timeout_s=5,
        what="grid import 12.5 kWh",
    )
    energy = house.get_state(GRID_IMPORT.entity_id)
    _publish(house, GRID_IMPORT, RAW_UNAVAILABLE)  # as found: nothing published yet
    assert read_number(energy, Quantity.ENERGY_KWH) == pytest.approx(12.5)
    assert energy.last_updated.tzinfo is UTC
    with pytest.raises(HouseError) as caught:
        house.get_state("sensor.darkstar_sim_does_not_exist")
    assert caught.value.source == "sensor.darkstar_sim_does_not_exist"


def test_history_is_fetched_with_attributes(house: HomeAssistantHouse) -> None:
    start = house.now - timedelta(seconds=1)
    _publish(house, PV, 2345.5)

    def recorded() -> bool:
        history = house.history([PV.entity_id], start=start, end=house.now)
        return any(state.state == "2345.5" for state in history[PV.entity_id])

    _wait_for(recorded, timeout_s=10, what="history of the PV sensor")
    history = house.history([PV.entity_id], start=start, end=house.now)[PV.entity_id]
    assert [s.last_updated for s in history] == sorted(s.last_updated for s in history)
    assert all(s.last_updated.tzinfo is UTC for s in history)
    published = next(s for s in history if s.state == "2345.5")
    assert read_number(published, Quantity.POWER_KW) == pytest.approx(2.3455)


def test_a_service_call_changes_an_input_number(house: HomeAssistantHouse) -> None:
    house.call_service(
        "input_number", "set_value", {"entity_id": SOC_TARGET.entity_id, "value": 37}
    )
    assert house.get_state(SOC_TARGET.entity_id).state == "37.0"
    with pytest.raises(HouseError) as caught:  # out of range: HA refuses, the value stays
        house.call_service(
            "input_number", "set_value", {"entity_id": SOC_TARGET.entity_id, "value": 101}
        )
    assert caught.value.source == "input_number.set_value"
    assert "refused the call (400)" in str(caught.value)
    assert house.get_state(SOC_TARGET.entity_id).state == "37.0"


def test_subscribe_delivers_a_change(house: HomeAssistantHouse) -> None:
    _publish(house, PV, 100.0)
    states: queue.Queue[EntityState] = queue.Queue()
    unsubscribe = house.subscribe([PV.entity_id], states.put)
    _next_with(states, "100.0", timeout_s=10)  # the current state comes first
    _publish(house, PV, 1234.5)
    changed = _next_with(states, "1234.5", timeout_s=5)
    assert changed.entity_id == PV.entity_id
    assert read_number(changed, Quantity.POWER_KW) == pytest.approx(1.2345)
    unsubscribe()


def test_statistics_metadata_comes_in_our_units(house: HomeAssistantHouse) -> None:
    now = house.now
    series = house.statistics(
        [GRID_IMPORT.entity_id, PV.entity_id], start=now - timedelta(hours=1), end=now
    )
    assert series[GRID_IMPORT.entity_id].unit == "kWh"
    assert series[PV.entity_id].unit == "kW"
    with pytest.raises(HouseError) as caught:  # a helper keeps no statistics
        house.statistics([SOC_TARGET.entity_id], start=now - timedelta(hours=1), end=now)
    assert caught.value.source == SOC_TARGET.entity_id


def test_subscription_survives_a_restart(
    ha: HomeAssistantInstance, house: HomeAssistantHouse
) -> None:
    states: queue.Queue[EntityState] = queue.Queue()
    house.subscribe([PV.entity_id], states.put)
    house.websocket.wait_connected()
    states.get(timeout=10)

    ha.restart()

    # measured values are unavailable after a restart until published again
    _next_with(states, "unavailable", timeout_s=30)
    assert house.websocket.connected
    _publish(house, PV, 4321.0)
    changed = _next_with(states, "4321.0", timeout_s=10)
    assert changed.last_updated > datetime.now(UTC) - timedelta(minutes=1)
    assert house.websocket.last_error is None
