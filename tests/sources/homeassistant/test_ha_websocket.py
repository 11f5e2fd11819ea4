"""The WebSocket client against a local server replaying Home Assistant's recorded messages."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fake_ha import TOKEN, FakeHomeAssistant, fixture, wait_until

from darkstar.house import EntityState, HouseError, Quantity, read_number
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantWebSocket

SUBSCRIBED = ["sensor.battery_soc", "sensor.pv_power"]
EVENTS = fixture("ws_subscribe_entities.json")


class Inbox:
    """Collects states delivered on the WebSocket thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[EntityState] = queue.Queue()
        self.threads: set[str] = set()

    def __call__(self, state: EntityState) -> None:
        self.threads.add(threading.current_thread().name)
        self.queue.put(state)

    def take(self, count: int) -> list[EntityState]:
        return [self.queue.get(timeout=5) for _ in range(count)]

    def assert_empty(self) -> None:
        time.sleep(0.1)
        assert self.queue.empty()


@pytest.fixture
def client(fake_ha: FakeHomeAssistant) -> Iterator[HomeAssistantWebSocket]:
    ws = HomeAssistantWebSocket(fake_ha.connection(), backoff_initial_s=0.05, backoff_max_s=0.2)
    yield ws
    ws.close()


def test_wait_connected_authenticates(client: HomeAssistantWebSocket) -> None:
    assert not client.connected
    client.wait_connected()
    assert client.connected
    assert client.last_error is None
    assert client.ha_version == "2025.4.4"


def test_wrong_token_is_one_clear_error_and_no_retry(fake_ha: FakeHomeAssistant) -> None:
    connection = fake_ha.connection(token="wrong")
    with HomeAssistantWebSocket(connection, backoff_initial_s=0.01) as client:
        with pytest.raises(HouseError) as caught:
            client.wait_connected()
        assert str(caught.value) == (
            "home_assistant.token: Home Assistant refused the token "
            "(auth_invalid: Invalid access token or password)"
        )
        assert client.last_error == str(caught.value)
        assert not client.connected
        time.sleep(0.2)
        assert fake_ha.ws_connections == 1  # a refused token is not retried
        with pytest.raises(HouseError, match="refused the token"):
            client.statistics(["sensor.x"], start=datetime.now(UTC), end=datetime.now(UTC))


def test_subscribe_delivers_initial_states_then_changes(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    inbox = Inbox()
    client.subscribe_entities(SUBSCRIBED, inbox)
    initial = {state.entity_id: state for state in inbox.take(2)}
    assert fake_ha.ws_commands[0] == {
        "id": 1,
        "type": "subscribe_entities",
        "entity_ids": SUBSCRIBED,
    }
    pv = initial["sensor.pv_power"]
    assert read_number(pv, Quantity.POWER_KW) == pytest.approx(1.523)
    assert pv.attributes["friendly_name"] == "PV power"
    # "lu" present: last_updated is lu, not lc
    assert pv.last_updated == datetime(2025, 4, 10, 12, 0, 5, 123456, tzinfo=UTC)
    soc = initial["sensor.battery_soc"]
    assert (soc.state, soc.attributes["unit_of_measurement"]) == ("52.5", "%")
    assert soc.last_updated == datetime(2025, 4, 10, 12, 0, 0, 123456, tzinfo=UTC)
    assert inbox.threads == {"darkstar-ha-websocket"}

    fake_ha.push(EVENTS["state_changed"])  # "+": s and lc
    [changed] = inbox.take(1)
    assert (changed.entity_id, changed.state) == ("sensor.pv_power", "1610")
    assert changed.last_updated == datetime(2025, 4, 10, 12, 0, 30, 123456, tzinfo=UTC)
    assert changed.attributes["unit_of_measurement"] == "W"

    fake_ha.push(EVENTS["attributes_changed"])  # "+": a and lu; "-": a removed
    [changed] = inbox.take(1)
    assert changed.state == "1610"
    assert changed.attributes["icon"] == "mdi:solar-power"
    assert "friendly_name" not in changed.attributes
    assert changed.last_updated == datetime(2025, 4, 10, 12, 0, 45, 123456, tzinfo=UTC)

    fake_ha.push(EVENTS["removed"])  # "r"
    [removed] = inbox.take(1)
    assert (removed.entity_id, removed.state, dict(removed.attributes)) == (
        "sensor.battery_soc",
        "unavailable",
        {},
    )

    fake_ha.push(EVENTS["added"])  # "a" again
    [added] = inbox.take(1)
    assert (added.entity_id, added.state) == ("sensor.battery_soc", "53.0")
    inbox.assert_empty()


def test_subscribe_delivers_only_the_requested_entities(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    inbox = Inbox()
    client.subscribe_entities(["sensor.battery_soc"], inbox)
    [initial] = inbox.take(1)  # the fake sends both; the client filters
    assert initial.entity_id == "sensor.battery_soc"
    fake_ha.push(EVENTS["state_changed"])  # sensor.pv_power
    inbox.assert_empty()


def test_unsubscribe_stops_delivery_and_tells_home_assistant(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    inbox = Inbox()
    unsubscribe = client.subscribe_entities(SUBSCRIBED, inbox)
    inbox.take(2)
    unsubscribe()
    unsubscribe()  # idempotent
    wait_until(
        lambda: any(c["type"] == "unsubscribe_events" for c in fake_ha.ws_commands),
        what="unsubscribe_events",
    )
    assert fake_ha.ws_commands[-1]["subscription"] == fake_ha.ws_commands[0]["id"]
    fake_ha.push(EVENTS["state_changed"])
    inbox.assert_empty()


def test_a_failing_callback_is_logged_and_the_stream_goes_on(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def explode(state: EntityState) -> None:
        inbox(state)
        if state.entity_id == "sensor.pv_power" and state.state == "1523":
            raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR):
        client.subscribe_entities(SUBSCRIBED, explode)
        inbox.take(2)
        fake_ha.push(EVENTS["state_changed"])
        [changed] = inbox.take(1)
    assert changed.state == "1610"
    assert "state callback for sensor.pv_power failed" in caplog.text


def test_blocking_call_from_a_callback_is_refused(client: HomeAssistantWebSocket) -> None:
    errors: queue.Queue[BaseException] = queue.Queue()

    def call_back_in(state: EntityState) -> None:
        try:
            client.get_states()
        except RuntimeError as exc:
            errors.put(exc)

    client.subscribe_entities(["sensor.pv_power"], call_back_in)
    assert "blocking call from a subscription callback" in str(errors.get(timeout=5))


def test_reconnects_and_resubscribes_after_a_restart(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    inbox = Inbox()
    client.subscribe_entities(SUBSCRIBED, inbox)
    inbox.take(2)
    assert client.connected

    fake_ha.restart()

    # HA resends the current states on the new subscription
    again = {state.entity_id: state.state for state in inbox.take(2)}
    assert again == {"sensor.pv_power": "1523", "sensor.battery_soc": "52.5"}
    assert fake_ha.ws_connections == 2
    assert fake_ha.subscription_count == 2
    ids = [c["id"] for c in fake_ha.ws_commands]
    assert ids == sorted(set(ids))  # ids keep increasing
    wait_until(lambda: client.connected, what="connected")
    fake_ha.push(EVENTS["after_restart"])
    [changed] = inbox.take(1)
    assert (changed.entity_id, changed.state) == ("sensor.battery_soc", "53.5")


def test_keeps_retrying_while_home_assistant_is_down(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    inbox = Inbox()
    client.subscribe_entities(SUBSCRIBED, inbox)
    inbox.take(2)
    fake_ha.stop()
    wait_until(lambda: not client.connected, what="disconnected")
    wait_until(lambda: "cannot reach" in (client.last_error or ""), what="connect refused")
    assert str(client.last_error).startswith(
        f"home_assistant.url: cannot reach ws://127.0.0.1:{fake_ha.port}"
    )
    fake_ha.start()
    assert len(inbox.take(2)) == 2
    assert client.connected
    assert client.last_error is None


def test_statistics_parses_rows_and_units(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    start = datetime(2025, 4, 10, 10, 0, tzinfo=UTC)
    end = datetime(2025, 4, 10, 13, 0, tzinfo=UTC)
    ids = ["sensor.grid_import_energy", "sensor.pv_power", "sensor.battery_soc"]
    series = client.statistics(ids, start=start, end=end, period="hour")

    metadata, request = fake_ha.ws_commands
    assert metadata == {"id": 1, "type": "recorder/get_statistics_metadata", "statistic_ids": ids}
    assert request == {
        "id": 2,
        "type": "recorder/statistics_during_period",
        "start_time": "2025-04-10T10:00:00+00:00",
        "end_time": "2025-04-10T13:00:00+00:00",
        "statistic_ids": ids,
        "period": "hour",
        "types": ["change", "sum", "state"],
        "units": {
            "energy": "kWh",
            "power": "kW",
            "temperature": "°C",
            "voltage": "V",
            "electric_current": "A",
        },
    }
    grid = series["sensor.grid_import_energy"]
    assert grid.unit == "kWh"  # stored in Wh; HA converted to the requested kWh
    assert [row.start for row in grid.rows] == [
        datetime(2025, 4, 10, hour, 0, tzinfo=UTC) for hour in (10, 11, 12)
    ]
    assert grid.rows[0].end == datetime(2025, 4, 10, 11, 0, tzinfo=UTC)
    assert [row.change for row in grid.rows] == [None, 0.412, 0.976]
    assert grid.rows[2].sum == 15231.9
    assert series["sensor.pv_power"].unit == "kW"
    assert len(series["sensor.pv_power"].rows) == 2
    assert series["sensor.battery_soc"].unit == "%"
    assert series["sensor.battery_soc"].rows == ()


def test_statistics_unknown_statistic_names_it(client: HomeAssistantWebSocket) -> None:
    now = datetime.now(UTC)
    with pytest.raises(HouseError) as caught:
        client.statistics(["sensor.no_state_class"], start=now, end=now)
    assert caught.value.source == "sensor.no_state_class"


def test_get_states_over_websocket(client: HomeAssistantWebSocket) -> None:
    states = client.get_states(["sensor.inverter_temperature", "sensor.house_load"])
    assert read_number(states["sensor.inverter_temperature"], Quantity.TEMPERATURE_C) == (
        pytest.approx(37.0)
    )
    assert states["sensor.house_load"].state == "unavailable"
    with pytest.raises(HouseError, match="sensor.nope"):
        client.get_states(["sensor.nope"])


def test_statistics_without_the_recorder_is_a_house_error(
    client: HomeAssistantWebSocket, fake_ha: FakeHomeAssistant
) -> None:
    fake_ha.without_recorder = True
    now = datetime.now(UTC)
    with pytest.raises(HouseError) as caught:
        client.statistics(["sensor.grid_import_energy"], start=now, end=now)
    assert str(caught.value) == (
        "home_assistant: recorder/get_statistics_metadata failed (unknown_command): "
        "Unknown command."
    )


def test_server_that_never_answers_times_out(silent_ha: FakeHomeAssistant) -> None:
    connection = silent_ha.connection(timeout_s=0.3)
    with HomeAssistantWebSocket(connection) as client:
        client.wait_connected()
        start = time.monotonic()
        with pytest.raises(HouseError) as caught:
            client.get_states()
        assert time.monotonic() - start < 1.0
    assert caught.value.source == "home_assistant.url"
    assert "within 0.3 s (get_states)" in str(caught.value)


def test_socket_that_never_answers_the_handshake_times_out(black_hole: str) -> None:
    connection = HomeAssistantConnection(black_hole, TOKEN, timeout_s=0.3)
    with HomeAssistantWebSocket(connection) as client:
        start = time.monotonic()
        with pytest.raises(HouseError, match=r"within 0.3 s \(connect; not connected"):
            client.wait_connected()
        assert time.monotonic() - start < 1.0
        assert not client.connected


def test_connection_refused_names_the_url(refused_url: str) -> None:
    connection = HomeAssistantConnection(refused_url, TOKEN, timeout_s=0.5)
    with (
        HomeAssistantWebSocket(connection, backoff_initial_s=0.05) as client,
        pytest.raises(HouseError) as caught,
    ):
        client.wait_connected()
    ws_url = refused_url.replace("http://", "ws://") + "/api/websocket"
    assert f"cannot reach {ws_url}" in str(caught.value)


def test_close_is_idempotent_and_final(fake_ha: FakeHomeAssistant) -> None:
    client = HomeAssistantWebSocket(fake_ha.connection())
    client.wait_connected()
    client.close()
    client.close()
    assert not any(
        t.name == "darkstar-ha-websocket" and t.is_alive() for t in threading.enumerate()
    )
    with pytest.raises(HouseError, match="closed"):
        client.subscribe_entities(["sensor.pv_power"], print)
