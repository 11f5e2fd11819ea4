"""Darkstar's ``sensor.darkstar_*`` entities: what they show, their size, and the writes.

``entity_payloads`` runs on real plans (the bundled SE4 winter day, 192 quarter-hour
slots, and a 200-slot synthetic horizon) without Home Assistant; ``publish_state`` and
``HomeAssistantRest.set_state`` write to a fake Home Assistant over HTTP.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_ha import TOKEN
from stateful_fake_ha import StatefulFakeHomeAssistant

from darkstar.config import merge_config, parse_config
from darkstar.errors import InputError
from darkstar.examples import build_request, read_example_request
from darkstar.house import HouseError
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.pipeline import generate_schedule
from darkstar.sources.homeassistant import (
    MAX_ATTRIBUTES_BYTES,
    MAX_SERIES_ENTRIES,
    DarkstarSensor,
    HomeAssistantHouse,
    HomeAssistantRest,
    PublishSnapshot,
    attributes_size_bytes,
    entity_payloads,
    publish_state,
)

HA_MAX_STATE_ATTRS_BYTES = 16_384
"""Home Assistant's recorder limit (``recorder/db_schema.py``)."""

SERIES_KEYS = {
    DarkstarSensor.BATTERY_SCHEDULE: "schedule",
    DarkstarSensor.PRICE_FORECAST: "prices",
    DarkstarSensor.PV_FORECAST: "forecast",
    DarkstarSensor.LOAD_FORECAST: "forecast",
}


def _plan(request: dict[str, Any], planned_at: datetime) -> dict[str, Any]:
    parsed = parse_plan_request(request)
    cfg = parse_config(merge_config({}, parsed.config))
    document: dict[str, Any] = generate_schedule(
        prepare_input(parsed), cfg, mode="full", planned_at=planned_at
    ).document
    return document


@pytest.fixture(scope="module")
def winter() -> dict[str, Any]:
    """The SE4 winter example day planned: 192 quarter-hour slots from 2018-01-17 00:00 CET."""
    return _plan(
        read_example_request("se4-winter-2018-01-17"), datetime(2018, 1, 16, 23, tzinfo=UTC)
    )


@pytest.fixture(scope="module")
def long_horizon() -> dict[str, Any]:
    """200 hourly slots with PV, varying prices and load: more than a series may hold."""
    n = 200
    request = build_request(
        import_prices=[1.0 + 0.8 * math.sin(i / 5) for i in range(n)],
        export_prices=[0.3 + 0.2 * math.sin(i / 5) for i in range(n)],
        pv_kwh=[max(0.0, 3.0 * math.sin(math.pi * ((i % 24) - 6) / 12)) for i in range(n)],
        load_kwh=[0.4 + 0.1 * (i % 3) for i in range(n)],
        start="2026-03-10T00:00:00+01:00",
        slot_minutes=60,
    )
    return _plan(request, datetime(2026, 3, 9, 23, tzinfo=UTC))


def _at(document: Mapping[str, Any], slot: int, into: timedelta = timedelta(minutes=5)) -> datetime:
    """A moment ``into`` the slot number ``slot``."""
    start = datetime.fromisoformat(document["schedule"][slot]["start"])
    return start.astimezone(UTC) + into


def _payloads(
    document: Mapping[str, Any],
    now: datetime,
    *,
    cost_sek: float = 12.3456,
    savings_sek: float | None = 3.21,
) -> dict[str, tuple[str, dict[str, Any]]]:
    snapshot = PublishSnapshot(
        document=document, now=now, cost_today_sek=cost_sek, savings_today_sek=savings_sek
    )
    return entity_payloads(snapshot)


def test_entity_payloads_names_every_sensor(winter: dict[str, Any]) -> None:
    payloads = _payloads(winter, _at(winter, 0))
    assert list(payloads) == [str(sensor) for sensor in DarkstarSensor]
    assert len(payloads) == 9
    for entity_id, (state, attributes) in payloads.items():
        assert entity_id.startswith("sensor.darkstar_")
        assert isinstance(state, str)
        assert 0 < len(state) <= 255
        assert attributes["friendly_name"].startswith("Darkstar ")
        assert attributes["icon"].startswith("mdi:")
        json.dumps(attributes, allow_nan=False)  # serialisable, no NaN


def test_entity_payloads_current_slot_values(winter: dict[str, Any]) -> None:
    slot = 34  # 08:30 local: the battery covers the morning peak
    row = winter["schedule"][slot]
    assert row["action"] == "discharge"
    payloads = _payloads(winter, _at(winter, slot))

    state, attributes = payloads["sensor.darkstar_current_action"]
    assert state == row["action"]
    assert attributes["reason"] == row["reason"]
    assert (attributes["slot_start"], attributes["slot_end"]) == (row["start"], row["end"])
    assert attributes["device_class"] == "enum"
    assert state in attributes["options"]

    state, attributes = payloads["sensor.darkstar_soc_target"]
    assert float(state) == pytest.approx(row["soc_target_percent"], abs=0.05)
    assert attributes["unit_of_measurement"] == "%"

    battery_kw = row["battery_charge_kw"] - row["battery_discharge_kw"]
    state, attributes = payloads["sensor.darkstar_battery_schedule"]
    assert float(state) == pytest.approx(battery_kw, abs=5e-4)
    assert (attributes["unit_of_measurement"], attributes["device_class"]) == ("kW", "power")

    state, _ = payloads["sensor.darkstar_price_forecast"]
    assert float(state) == pytest.approx(row["import_price_sek_per_kwh"], abs=5e-5)
    state, _ = payloads["sensor.darkstar_pv_forecast"]
    assert float(state) == pytest.approx(row["adjusted_pv_kwh"] / 0.25, abs=5e-4)
    state, _ = payloads["sensor.darkstar_load_forecast"]
    assert float(state) == pytest.approx(row["adjusted_load_kwh"] / 0.25, abs=5e-4)


def test_entity_payloads_battery_kw_is_charge_minus_discharge(
    long_horizon: dict[str, Any],
) -> None:
    rows = long_horizon["schedule"]
    discharging = next(i for i, row in enumerate(rows) if row["battery_discharge_kw"] > 0.1)
    charging = next(i for i, row in enumerate(rows) if row["battery_charge_kw"] > 0.1)
    for slot, sign in ((discharging, -1.0), (charging, 1.0)):
        payloads = _payloads(long_horizon, _at(long_horizon, slot))
        state, attributes = payloads["sensor.darkstar_battery_schedule"]
        assert math.copysign(1.0, float(state)) == sign
        assert attributes["schedule"][0]["battery_kw"] == float(state)


def test_entity_payloads_series_start_at_the_current_slot(winter: dict[str, Any]) -> None:
    slot = 10
    rows = winter["schedule"][slot:]
    payloads = _payloads(winter, _at(winter, slot, timedelta(minutes=14, seconds=59)))
    schedule = payloads["sensor.darkstar_battery_schedule"][1]["schedule"]
    for entry, row in zip(schedule, rows, strict=False):
        assert set(entry) == {"start", "battery_kw", "soc_percent", "import_price", "action"}
        assert entry["start"] == row["start"]
        battery_kw = row["battery_charge_kw"] - row["battery_discharge_kw"]
        assert entry["battery_kw"] == pytest.approx(battery_kw, abs=5e-4)
        assert entry["soc_percent"] == pytest.approx(row["projected_soc_percent"], abs=0.05)
        assert entry["import_price"] == pytest.approx(row["import_price_sek_per_kwh"], abs=5e-5)
        assert entry["action"] == row["action"]
    prices = payloads["sensor.darkstar_price_forecast"][1]["prices"]
    assert len(prices) == len(rows)
    assert prices[0] == {
        "start": rows[0]["start"],
        "import": round(rows[0]["import_price_sek_per_kwh"], 4),
        "export": round(rows[0]["export_price_sek_per_kwh"], 4),
    }
    pv = payloads["sensor.darkstar_pv_forecast"][1]["forecast"]
    load = payloads["sensor.darkstar_load_forecast"][1]["forecast"]
    assert [e["start"] for e in pv] == [e["start"] for e in load] == [r["start"] for r in rows]
    assert [e["pv_kw"] for e in pv] == pytest.approx(
        [r["adjusted_pv_kwh"] / 0.25 for r in rows], abs=5e-4
    )
    assert [e["load_kw"] for e in load] == pytest.approx(
        [r["adjusted_load_kwh"] / 0.25 for r in rows], abs=5e-4
    )


def test_entity_payloads_plan_status_attributes(winter: dict[str, Any]) -> None:
    meta = winter["meta"]
    state, attributes = _payloads(winter, _at(winter, 0))["sensor.darkstar_plan_status"]
    assert state == meta["status"] == "optimal"
    assert attributes["planned_at"] == meta["planned_at"] == "2018-01-17T00:00:00+01:00"
    assert attributes["objective_sek"] == meta["objective_sek"]
    assert attributes["solve_time_ms"] == meta["solve_time_ms"]
    assert attributes["fallback_reason"] is None
    assert attributes["options"] == ["optimal", "feasible", "fallback"]


def test_entity_payloads_cost_and_savings_today(winter: dict[str, Any]) -> None:
    payloads = _payloads(winter, _at(winter, 40), cost_sek=12.3456, savings_sek=-0.004)
    cost_state, cost = payloads["sensor.darkstar_cost_today"]
    savings_state, savings = payloads["sensor.darkstar_savings_today"]
    assert (cost_state, savings_state) == ("12.35", "0.0")
    for attributes in (cost, savings):
        assert attributes["unit_of_measurement"] == "SEK"
        assert attributes["device_class"] == "monetary"
        assert attributes["state_class"] == "total"
        midnight = datetime(2018, 1, 17, tzinfo=ZoneInfo("Europe/Stockholm"))
        assert datetime.fromisoformat(attributes["last_reset"]) == midnight


def test_entity_payloads_unknown_savings(winter: dict[str, Any]) -> None:
    payloads = _payloads(winter, _at(winter, 0), savings_sek=None)
    assert payloads["sensor.darkstar_savings_today"][0] == "unknown"
    assert payloads["sensor.darkstar_cost_today"][0] == "12.35"


@pytest.mark.parametrize("after", [True, False])
def test_entity_payloads_without_current_slot_is_unknown(
    winter: dict[str, Any], after: bool
) -> None:
    first = _at(winter, 0, timedelta(0))
    now = first + timedelta(days=2) if after else first - timedelta(minutes=1)
    payloads = _payloads(winter, now)
    for sensor in (
        DarkstarSensor.CURRENT_ACTION,
        DarkstarSensor.SOC_TARGET,
        DarkstarSensor.BATTERY_SCHEDULE,
        DarkstarSensor.PRICE_FORECAST,
        DarkstarSensor.PV_FORECAST,
        DarkstarSensor.LOAD_FORECAST,
    ):
        assert payloads[sensor][0] == "unknown", sensor
    assert payloads["sensor.darkstar_current_action"][1]["reason"] is None
    assert payloads["sensor.darkstar_plan_status"][0] == "optimal"
    prices = payloads["sensor.darkstar_price_forecast"][1]["prices"]
    assert len(prices) == (0 if after else 192)


def test_entity_payloads_series_capped_at_192(long_horizon: dict[str, Any]) -> None:
    assert len(long_horizon["schedule"]) == 200
    payloads = _payloads(long_horizon, _at(long_horizon, 0))
    assert MAX_SERIES_ENTRIES == 192
    for sensor, key in SERIES_KEYS.items():
        entries = payloads[sensor][1][key]
        assert 0 < len(entries) <= MAX_SERIES_ENTRIES, sensor
    # short entries: the cap binds; long ones: the size does
    assert len(payloads[DarkstarSensor.PV_FORECAST][1]["forecast"]) == 192
    assert len(payloads[DarkstarSensor.PRICE_FORECAST][1]["prices"]) == 192


@pytest.mark.parametrize("slot", [0, 37, 150])
def test_entity_payloads_attributes_fit_the_recorder(
    winter: dict[str, Any], long_horizon: dict[str, Any], slot: int
) -> None:
    assert MAX_ATTRIBUTES_BYTES < HA_MAX_STATE_ATTRS_BYTES
    for document in (winter, long_horizon):
        for entity_id, (_, attributes) in _payloads(document, _at(document, slot)).items():
            size = len(json.dumps(attributes, separators=(",", ":"), ensure_ascii=False).encode())
            assert size == attributes_size_bytes(attributes)
            assert size <= MAX_ATTRIBUTES_BYTES, entity_id
            # the spaced encoding too (a margin for any JSON encoder)
            assert len(json.dumps(attributes).encode()) < HA_MAX_STATE_ATTRS_BYTES * 1.3


def test_entity_payloads_truncates_the_schedule_to_fit(winter: dict[str, Any]) -> None:
    """192 schedule entries take ~22 kB: the head that fits is kept, whole and in order."""
    payloads = _payloads(winter, _at(winter, 0))
    attributes = payloads["sensor.darkstar_battery_schedule"][1]
    schedule = attributes["schedule"]
    assert 120 <= len(schedule) < 192
    assert [e["start"] for e in schedule] == [r["start"] for r in winter["schedule"]][
        : len(schedule)
    ]
    row = winter["schedule"][len(schedule)]
    one_more = {
        "start": row["start"],
        "battery_kw": 0.0,
        "soc_percent": 0.0,
        "import_price": 0.0,
        "action": "hold",
    }
    assert attributes_size_bytes({**attributes, "schedule": [*schedule, one_more]}) > (
        MAX_ATTRIBUTES_BYTES
    )


def test_publish_snapshot_checks_its_fields(winter: dict[str, Any]) -> None:
    naive = datetime(2018, 1, 17, 12)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(InputError, match="^now: must be tz-aware"):
        PublishSnapshot(document=winter, now=naive, cost_today_sek=0.0, savings_today_sek=None)
    now = _at(winter, 0)
    with pytest.raises(InputError, match="^cost_today_sek: must be a finite number"):
        PublishSnapshot(document=winter, now=now, cost_today_sek=math.nan, savings_today_sek=None)
    with pytest.raises(InputError, match="^savings_today_sek: "):
        PublishSnapshot(document=winter, now=now, cost_today_sek=0.0, savings_today_sek=math.inf)
    with pytest.raises(InputError, match="^document.schedule: missing"):
        PublishSnapshot(document={"meta": {}}, now=now, cost_today_sek=0.0, savings_today_sek=None)


def test_entity_payloads_bad_row_names_it(winter: dict[str, Any]) -> None:
    rows = [dict(row) for row in winter["schedule"][:3]]
    rows[1]["start"] = "17 January"
    document = {"meta": winter["meta"], "schedule": rows}
    with pytest.raises(InputError, match=r"^document.schedule\[1\]: no valid start/end"):
        _payloads(document, _at(winter, 0))


# --- writing to Home Assistant ------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[StatefulFakeHomeAssistant]:
    fake = StatefulFakeHomeAssistant()
    fake.start()
    yield fake
    fake.stop()


def test_publish_state_writes_every_entity(
    server: StatefulFakeHomeAssistant, winter: dict[str, Any]
) -> None:
    now = _at(winter, 70)
    snapshot = PublishSnapshot(document=winter, now=now, cost_today_sek=8.5, savings_today_sek=None)
    with HomeAssistantHouse(server.connection()) as house:
        assert publish_state(house, snapshot) == 9
    expected = entity_payloads(snapshot)
    posts = [r for r in server.requests if r.method == "POST"]
    assert [r.path for r in posts] == [f"/api/states/{entity_id}" for entity_id in expected]
    for post in posts:
        state, attributes = expected[post.path.removeprefix("/api/states/")]
        assert post.body == {"state": state, "attributes": attributes}
        assert post.authorization == f"Bearer {TOKEN}"
    assert server.states["sensor.darkstar_savings_today"]["state"] == "unknown"


def test_publish_state_accepts_the_rest_client_and_overwrites(
    server: StatefulFakeHomeAssistant, winter: dict[str, Any]
) -> None:
    with HomeAssistantRest(server.connection()) as rest:
        for slot in (0, 1):
            snapshot = PublishSnapshot(
                document=winter, now=_at(winter, slot), cost_today_sek=1.0, savings_today_sek=0.5
            )
            assert publish_state(rest, snapshot) == 9
    start = server.states["sensor.darkstar_current_action"]["attributes"]["slot_start"]
    assert start == winter["schedule"][1]["start"]


def test_set_state_refused_names_the_entity(server: StatefulFakeHomeAssistant) -> None:
    server.refuse_writes = True
    with HomeAssistantRest(server.connection()) as rest, pytest.raises(HouseError) as caught:
        rest.set_state("sensor.darkstar_plan_status", "optimal", {})
    assert caught.value.source == "sensor.darkstar_plan_status"
    assert str(caught.value) == (
        "sensor.darkstar_plan_status: Home Assistant refused the state (400): "
        "Invalid state specified."
    )


def test_set_state_wrong_token_names_the_token(server: StatefulFakeHomeAssistant) -> None:
    with (
        HomeAssistantRest(server.connection(token="wrong")) as rest,
        pytest.raises(HouseError) as caught,
    ):
        rest.set_state("sensor.darkstar_plan_status", "optimal", {})
    assert str(caught.value) == "home_assistant.token: Home Assistant refused the token (401)"


def test_set_state_refuses_a_long_state_or_bad_id_before_sending(
    server: StatefulFakeHomeAssistant,
) -> None:
    with HomeAssistantRest(server.connection()) as rest:
        with pytest.raises(HouseError, match="state has 256 characters"):
            rest.set_state("sensor.darkstar_plan_status", "x" * 256, {})
        with pytest.raises(HouseError, match="not a valid entity id"):
            rest.set_state("sensor/../x", "1", {})
    assert server.requests == []


def test_publish_state_unreachable_names_the_url(refused_url: str, winter: dict[str, Any]) -> None:
    from darkstar.sources.homeassistant import HomeAssistantConnection

    snapshot = PublishSnapshot(
        document=winter, now=_at(winter, 0), cost_today_sek=0.0, savings_today_sek=None
    )
    with (
        HomeAssistantRest(HomeAssistantConnection(refused_url, TOKEN)) as rest,
        pytest.raises(HouseError) as caught,
    ):
        publish_state(rest, snapshot)
    assert caught.value.source == "home_assistant.url"
