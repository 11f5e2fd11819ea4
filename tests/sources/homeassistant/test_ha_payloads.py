"""Parsing Home Assistant's JSON shapes (recorded from HA's own serialisers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fake_ha import fixture

from darkstar.house import HouseError
from darkstar.sources.homeassistant.payloads import (
    CompressedStates,
    UnexpectedReply,
    check_entity_id,
    parse_state,
    parse_states,
    parse_statistics,
)

EVENTS = fixture("ws_subscribe_entities.json")
REMOVED_AT = datetime(2025, 4, 10, 13, 0, tzinfo=UTC)


def test_parse_states_every_recorded_state() -> None:
    states = parse_states(fixture("states.json")["body"], what="GET /api/states")
    assert [s.entity_id for s in states][:2] == ["sensor.pv_power", "sensor.battery_soc"]
    assert all(s.last_updated.tzinfo is UTC for s in states)
    number = next(s for s in states if s.entity_id == "input_number.battery_min_soc")
    assert (number.attributes["min"], number.attributes["max"]) == (0.0, 100.0)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"entity_id": "sensor.x", "state": "1", "attributes": {}}, "last_updated"),
        (
            {"entity_id": "sensor.x", "state": "1", "last_updated": "2025-04-10T12:00:00"},
            "last_updated",
        ),
        ({"entity_id": "sensor.x", "state": 1, "last_updated": "2025-04-10T12:00:00Z"}, "state"),
        ([], "(top level)"),
    ],
)
def test_parse_state_refuses_other_shapes(payload: object, where: str) -> None:
    with pytest.raises(UnexpectedReply, match=f"unexpected reply to test: {re.escape(where)}"):
        parse_state(payload, what="test")


def test_compressed_states_follow_adds_changes_and_removals() -> None:
    mirror = CompressedStates()
    initial = mirror.apply(EVENTS["initial"], removed_at=REMOVED_AT)
    assert {s.entity_id: s.state for s in initial} == {
        "sensor.pv_power": "1523",
        "sensor.battery_soc": "52.5",
    }
    [pv] = mirror.apply(EVENTS["state_changed"], removed_at=REMOVED_AT)
    assert pv.state == "1610"
    assert pv.attributes["friendly_name"] == "PV power"
    [pv] = mirror.apply(EVENTS["attributes_changed"], removed_at=REMOVED_AT)
    assert "friendly_name" not in pv.attributes
    assert pv.attributes["icon"] == "mdi:solar-power"
    [gone] = mirror.apply(EVENTS["removed"], removed_at=REMOVED_AT)
    assert (gone.state, gone.last_updated) == ("unavailable", REMOVED_AT)
    # a change for an entity never added is ignored, not invented
    assert mirror.apply(EVENTS["after_restart"], removed_at=REMOVED_AT) == []
    [back] = mirror.apply(EVENTS["added"], removed_at=REMOVED_AT)
    assert back.state == "53.0"


def test_compressed_states_refuse_other_shapes() -> None:
    with pytest.raises(UnexpectedReply, match="subscribe_entities"):
        CompressedStates().apply({"a": {"sensor.x": {"s": "1"}}}, removed_at=REMOVED_AT)


def test_parse_statistics_units_follow_the_unit_class() -> None:
    recorded = fixture("ws_statistics.json")
    series = parse_statistics(
        recorded["metadata_result"]["result"],
        recorded["statistics_result"]["result"],
        statistic_ids=["sensor.grid_import_energy", "sensor.battery_soc"],
        requested_units={"energy": "kWh"},
    )
    assert series["sensor.grid_import_energy"].unit == "kWh"
    assert series["sensor.battery_soc"].unit == "%"  # unitless class: display unit
    with pytest.raises(HouseError, match="sensor.absent: Home Assistant keeps no statistics"):
        parse_statistics([], {}, statistic_ids=["sensor.absent"], requested_units={})


@pytest.mark.parametrize(
    "entity_id", ["sensor", "sensor.", ".x", "Sensor.x", "sensor.a b", "a/b.c"]
)
def test_check_entity_id_refuses(entity_id: str) -> None:
    with pytest.raises(HouseError) as caught:
        check_entity_id(entity_id)
    assert caught.value.source == entity_id
