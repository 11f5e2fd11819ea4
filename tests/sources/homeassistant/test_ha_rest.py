"""The REST client against recorded Home Assistant replies on a real local server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fake_ha import TOKEN, FakeHomeAssistant

from darkstar.house import HouseError, Quantity, UnreadableState, read_number
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantRest


@pytest.fixture
def rest(fake_ha: FakeHomeAssistant) -> Iterator[HomeAssistantRest]:
    client = HomeAssistantRest(fake_ha.connection())
    yield client
    client.close()


def test_check_api_sends_the_bearer_token(
    rest: HomeAssistantRest, fake_ha: FakeHomeAssistant
) -> None:
    rest.check_api()
    assert fake_ha.requests[-1].path == "/api/"
    assert fake_ha.requests[-1].authorization == f"Bearer {TOKEN}"


def test_check_api_wrong_token_is_one_clear_line(fake_ha: FakeHomeAssistant) -> None:
    with (
        HomeAssistantRest(fake_ha.connection(token="wrong")) as rest,
        pytest.raises(HouseError) as caught,
    ):
        rest.check_api()
    assert str(caught.value) == "home_assistant.token: Home Assistant refused the token (401)"
    assert caught.value.source == "home_assistant.token"


def test_check_api_connection_refused_names_the_url(refused_url: str) -> None:
    with (
        HomeAssistantRest(HomeAssistantConnection(refused_url, TOKEN)) as rest,
        pytest.raises(HouseError) as caught,
    ):
        rest.check_api()
    assert str(caught.value).startswith(f"home_assistant.url: cannot reach {refused_url}: ")
    assert "\n" not in str(caught.value)


def test_get_state_no_answer_times_out(black_hole: str) -> None:
    with HomeAssistantRest(HomeAssistantConnection(black_hole, TOKEN, timeout_s=0.3)) as rest:
        start = time.monotonic()
        with pytest.raises(HouseError, match=r"no answer from .* within 0.3 s") as caught:
            rest.get_state("sensor.pv_power")
    assert time.monotonic() - start < 1.5
    assert caught.value.source == "home_assistant.url"


def test_get_state_parses_units_and_utc_time(rest: HomeAssistantRest) -> None:
    state = rest.get_state("sensor.pv_power")
    assert state.entity_id == "sensor.pv_power"
    assert state.state == "1523"
    assert state.attributes["unit_of_measurement"] == "W"
    assert state.last_updated == datetime(2025, 4, 10, 12, 0, 5, 123456, tzinfo=UTC)
    assert read_number(state, Quantity.POWER_KW) == pytest.approx(1.523)


def test_get_state_unknown_entity_names_it(rest: HomeAssistantRest) -> None:
    with pytest.raises(HouseError) as caught:
        rest.get_state("sensor.nope")
    assert caught.value.source == "sensor.nope"
    assert str(caught.value) == "sensor.nope: no such entity in Home Assistant (404)"


def test_get_state_refuses_an_id_that_is_not_an_entity_id(
    rest: HomeAssistantRest, fake_ha: FakeHomeAssistant
) -> None:
    with pytest.raises(HouseError, match="not a valid entity id"):
        rest.get_state("../config")
    assert fake_ha.requests == []


def test_get_states_filters_and_converts_units(rest: HomeAssistantRest) -> None:
    wanted = ["sensor.inverter_temperature", "sensor.grid_import_energy", "sensor.battery_soc"]
    states = rest.get_states(wanted)
    assert list(states) == wanted
    assert read_number(states["sensor.inverter_temperature"], Quantity.TEMPERATURE_C) == (
        pytest.approx(37.0)
    )
    assert read_number(states["sensor.grid_import_energy"], Quantity.ENERGY_KWH) == 15234.7
    assert read_number(states["sensor.battery_soc"], Quantity.PERCENT) == 52.5


def test_get_states_unavailable_is_never_a_number(rest: HomeAssistantRest) -> None:
    load = rest.get_states(["sensor.house_load"])["sensor.house_load"]
    assert load.state == "unavailable"
    with pytest.raises(UnreadableState, match="sensor.house_load"):
        read_number(load, Quantity.POWER_KW)


def test_get_states_missing_entity_names_it(rest: HomeAssistantRest) -> None:
    with pytest.raises(HouseError) as caught:
        rest.get_states(["sensor.pv_power", "sensor.missing_meter"])
    assert caught.value.source == "sensor.missing_meter"


def test_call_service_posts_the_payload(
    rest: HomeAssistantRest, fake_ha: FakeHomeAssistant
) -> None:
    data = {"entity_id": "input_number.battery_min_soc", "value": 35.0}
    rest.call_service("input_number", "set_value", data)
    sent = fake_ha.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/api/services/input_number/set_value")
    assert sent.body == data
    assert sent.authorization == f"Bearer {TOKEN}"


def test_call_service_refused_names_the_service(rest: HomeAssistantRest) -> None:
    with pytest.raises(HouseError) as caught:
        rest.call_service("input_number", "set_nothing", {"entity_id": "input_number.x"})
    assert caught.value.source == "input_number.set_nothing"
    assert str(caught.value) == (
        "input_number.set_nothing: Home Assistant refused the call (400): unknown service, "
        "or data the service does not accept (e.g. a value out of range)"
    )


def test_history_parses_every_entity_oldest_first_in_utc(
    rest: HomeAssistantRest, fake_ha: FakeHomeAssistant
) -> None:
    stockholm = timezone(timedelta(hours=2))
    start = datetime(2025, 4, 10, 12, 0, tzinfo=stockholm)  # 10:00 UTC
    end = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)
    ids = ["sensor.grid_import_energy", "sensor.pv_power", "sensor.battery_soc"]
    history = rest.history(ids, start=start, end=end)

    sent = fake_ha.requests[-1]
    assert sent.path == "/api/history/period/2025-04-10T10:00:00+00:00"
    assert sent.query == {
        "filter_entity_id": "sensor.grid_import_energy,sensor.pv_power,sensor.battery_soc",
        "end_time": "2025-04-10T12:00:00+00:00",
        "significant_changes_only": "0",
    }
    assert list(history) == ids
    grid = history["sensor.grid_import_energy"]
    assert [s.state for s in grid] == ["15230.1", "15231.4", "15233.0"]
    assert grid[0].last_updated == datetime(2025, 4, 10, 10, 0, tzinfo=UTC)
    assert grid[1].last_updated == datetime(2025, 4, 10, 10, 17, 3, 250000, tzinfo=UTC)
    assert all(s.last_updated.tzinfo is UTC for s in grid)
    assert all(s.attributes["unit_of_measurement"] == "kWh" for s in grid)
    assert [s.state for s in history["sensor.pv_power"]] == ["812", "unavailable", "1402"]
    assert history["sensor.battery_soc"] == []


def test_history_needs_tz_aware_times(rest: HomeAssistantRest) -> None:
    with pytest.raises(ValueError, match="start must be tz-aware"):
        rest.history(["sensor.pv_power"], start=datetime(2025, 4, 10), end=datetime.now(UTC))  # noqa: DTZ001
