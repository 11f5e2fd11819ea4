"""Darkstar's ``sensor.darkstar_*`` entities in the real sandbox Home Assistant.

A plan made for now is published with ``publish_state``; every entity must then be in
``/api/states`` with exactly the attributes sent, and be recorded with them (the
recorder drops attributes above 16 kB, with a warning in HA's log).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from darkstar.config import merge_config, parse_config
from darkstar.examples import build_request
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.pipeline import generate_schedule
from darkstar.sources.homeassistant import (
    DarkstarSensor,
    HomeAssistantConnection,
    HomeAssistantHouse,
    PublishSnapshot,
    entity_payloads,
    publish_state,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx2 as httpx

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

pytestmark = pytest.mark.ha

SLOT = timedelta(minutes=15)


def _wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s} s")
        time.sleep(0.2)


def _plan_from(now: datetime) -> dict[str, Any]:
    """Two days of quarter-hour slots from the slot holding ``now``, planned at ``now``."""
    slot_s = SLOT.total_seconds()
    start = datetime.fromtimestamp(now.timestamp() // slot_s * slot_s, tz=UTC)
    n = 192
    request = build_request(
        import_prices=[1.2 + 0.9 * math.sin(2 * math.pi * i / 96) for i in range(n)],
        export_prices=[0.4 + 0.3 * math.sin(2 * math.pi * i / 96) for i in range(n)],
        pv_kwh=[max(0.0, 0.8 * math.sin(2 * math.pi * (i - 24) / 96)) for i in range(n)],
        load_kwh=[0.15 + 0.05 * (i % 4) for i in range(n)],
        start=start.isoformat(),
        slot_minutes=15,
    )
    parsed = parse_plan_request(request)
    cfg = parse_config(merge_config({}, parsed.config))
    document: dict[str, Any] = generate_schedule(
        prepare_input(parsed), cfg, mode="full", planned_at=now
    ).document
    return document


@pytest.fixture
def house(ha: HomeAssistantInstance, ha_api: httpx.Client) -> Iterator[HomeAssistantHouse]:
    with HomeAssistantHouse(HomeAssistantConnection(ha.url, ha.token)) as home:
        yield home
    for sensor in DarkstarSensor:  # as found: no Darkstar entities
        ha_api.delete(f"/api/states/{sensor}")


def test_publish_state_every_sensor_appears_with_its_attributes(
    ha: HomeAssistantInstance, ha_api: httpx.Client, house: HomeAssistantHouse
) -> None:
    log_size = ha.log_path.stat().st_size
    now = house.now
    snapshot = PublishSnapshot(
        document=_plan_from(now), now=now, cost_today_sek=23.45, savings_today_sek=None
    )
    expected = entity_payloads(snapshot)

    assert publish_state(house, snapshot) == len(DarkstarSensor) == 9

    response = ha_api.get("/api/states")
    assert response.status_code == 200
    states = {state["entity_id"]: state for state in response.json()}
    for entity_id, (state, attributes) in expected.items():
        assert entity_id in states, entity_id
        assert states[entity_id]["state"] == state, entity_id
        assert states[entity_id]["attributes"] == attributes, entity_id
    # "feasible" when the soft stop (2 % after 1 s) ended the solve on a loaded machine
    assert states["sensor.darkstar_plan_status"]["state"] in {"optimal", "feasible"}
    assert states["sensor.darkstar_savings_today"]["state"] == "unknown"
    assert states["sensor.darkstar_current_action"]["state"] in {
        "charge",
        "pv_charge",
        "discharge",
        "export",
        "hold",
    }
    assert len(states["sensor.darkstar_price_forecast"]["attributes"]["prices"]) == 192

    def recorded() -> bool:
        history = house.history(
            list(expected), start=now - timedelta(seconds=5), end=house.now + timedelta(seconds=5)
        )
        return all(
            any(state.attributes.get("friendly_name") for state in history[entity_id])
            for entity_id in expected
        )

    _wait_for(recorded, timeout_s=15, what="Darkstar's entities in the recorder")
    schedule_id = str(DarkstarSensor.BATTERY_SCHEDULE)
    history = house.history([schedule_id], start=now - timedelta(seconds=5), end=house.now)
    recorded_schedule = history[schedule_id][-1].attributes["schedule"]
    assert recorded_schedule == expected[schedule_id][1]["schedule"]
    log = ha.log_path.read_bytes()[log_size:].decode(errors="replace")
    assert "exceed maximum size" not in log, log


def test_publish_state_overwrites_on_the_next_slot(
    ha_api: httpx.Client, house: HomeAssistantHouse
) -> None:
    now = house.now
    document = _plan_from(now)
    for slot, cost_sek in ((0, 1.0), (1, 2.5)):
        snapshot = PublishSnapshot(
            document=document,
            now=now + slot * SLOT,
            cost_today_sek=cost_sek,
            savings_today_sek=0.75,
        )
        publish_state(house.rest, snapshot)
    state = ha_api.get("/api/states/sensor.darkstar_current_action").json()
    assert state["attributes"]["slot_start"] == document["schedule"][1]["start"]
    assert ha_api.get("/api/states/sensor.darkstar_cost_today").json()["state"] == "2.5"
    assert ha_api.get("/api/states/sensor.darkstar_savings_today").json()["state"] == "0.75"
