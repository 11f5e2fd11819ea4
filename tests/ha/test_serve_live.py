"""``serve`` on a real Home Assistant: the live world wired from ``config.yaml`` alone.

The sandbox HA holds the simulated home's entities (published once); prices come from a
Nord Pool stand-in on 127.0.0.1 serving today's and tomorrow's delivery days; Open-Meteo
points at a closed port, so the PV forecast must fall back to clear-sky x climatology and
say so. Time is the wall clock: the first step plans and acts at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fake_nordpool import FakeNordPool, build_reply

from darkstar.backends import open_runtime
from darkstar.config import load_config
from darkstar.errors import ConfigError
from darkstar.market import MARKET_TZ, delivery_date_of, delivery_window
from darkstar.service.agent import PlanEvent
from darkstar.service.live_world import slot_floor
from darkstar.service.prices import PUBLICATION
from darkstar.simulation.backtest import house_spec
from darkstar.simulation.ha_sandbox.bridge import SANDBOX_HOUSE_ENTITIES, SandboxBridge
from darkstar.simulation.house import SimulatedHouse
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance


def _prices(hours: float) -> list[float]:
    """A day with cheap nights and an expensive evening [SEK/kWh spot], per slot."""
    n = round(hours * 4)
    return [
        0.2 if (k // 4) % 24 < 6 else 1.5 if 17 <= (k // 4) % 24 < 21 else 0.6 for k in range(n)
    ]


@pytest.fixture
def nordpool() -> Iterator[FakeNordPool]:
    server = FakeNordPool()
    today = delivery_date_of(datetime.now(UTC))
    for day in (today, today + timedelta(days=1)):
        begin, end = delivery_window(day)  # 23, 24 or 25 hours
        server.add(build_reply("SE4", day, _prices((end - begin).total_seconds() / 3600)))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def published(ha: HomeAssistantInstance) -> Iterator[HomeAssistantHouse]:
    """The sandbox entities with the simulated home's values (SoC 50 %)."""
    with HomeAssistantHouse(HomeAssistantConnection(url=ha.url, token=ha.token)) as house:
        sim = SimulatedHouse(
            house_spec(load_config(), initial_soc_percent=50.0, water=True),
            start=datetime(2018, 5, 14, 22, tzinfo=UTC),
        )
        SandboxBridge(sim=sim, ha=house).publish()
        yield house


def _config(path: Path, ha: HomeAssistantInstance, nordpool: FakeNordPool, **extra: str) -> Path:
    e = SANDBOX_HOUSE_ENTITIES
    location = extra.get(
        "location", "  latitude: 55.6\n  longitude: 13.0\n  timezone: Europe/Stockholm\n"
    )
    path.write_text(
        f"""home_assistant:
  url: {ha.url}
  token: {ha.token}
input_sensors:
  battery_soc: {e.battery_soc}
  pv_energy: {e.pv_energy}
  load_energy: {e.load_energy}
  grid_import_energy: {e.grid_import_energy}
  grid_export_energy: {e.grid_export_energy}
  battery_charge_energy: {e.battery_charge_energy}
  battery_discharge_energy: {e.battery_discharge_energy}
  water_heater_energy: {e.water_heater_energy}
  water_temperature: {e.water_temperature}
executor:
  inverter_mode: {e.inverter_mode}
  charge_power: {e.charge_power}
  discharge_power: {e.discharge_power}
  soc_target: {e.soc_target}
  grid_charging: {e.grid_charging}
  water_heater: {e.water_heater}
prices:
  area: SE4
  nordpool_url: {nordpool.url}
weather:
  open_meteo_url: http://127.0.0.1:1
  timeout_s: 1
location:
{location}""",
        encoding="utf-8",
    )
    return path


def test_serve_with_home_assistant_plans_on_live_inputs_and_acts_through_ha(
    ha: HomeAssistantInstance,
    published: HomeAssistantHouse,
    nordpool: FakeNordPool,
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "config.yaml", ha, nordpool)
    before = datetime.now(UTC)  # the wall clock may cross a slot's start during the test
    runtime = open_runtime(data_dir=tmp_path / "data", config_path=config, speed=180.0)
    try:
        agent = runtime.agent
        world = agent.world
        assert world.realtime
        assert world.slots_left is None
        now = datetime.now(UTC)
        assert slot_floor(before) <= agent.house.now <= slot_floor(datetime.now(UTC))
        run = agent.begin_step()
        assert run.event is PlanEvent.PLANNED, agent.plan_problem
        meta = agent.plan_document["meta"]  # type: ignore[index]
        inputs = meta["inputs"]
        assert inputs["prices"]["source"].startswith("Nord Pool (http://127.0.0.1")
        assert inputs["prices"]["fault"] is None
        assert inputs["pv"]["source"] == "pvlib on clear-sky x climatology (no weather forecast)"
        assert inputs["pv"]["fault"].startswith("Open-Meteo: no new weather forecast since ")
        assert "flat 0.5 kW" in inputs["load"]["fault"]
        assert (tmp_path / "data" / "schedule.json").exists()
        # the plan reaches as far as the known prices, no further: today's end, or from
        # 12:45 CET (publication) tomorrow's
        rows = agent.plan_document["schedule"]  # type: ignore[index]
        known = datetime.fromisoformat(inputs["prices"]["known_until"])
        published_yet = now.astimezone(MARKET_TZ).time() >= PUBLICATION
        day = delivery_date_of(now) + timedelta(days=1 if published_yet else 0)
        assert known == delivery_window(day)[1]
        assert datetime.fromisoformat(rows[-1]["end"]) == known
        # the executor acted through HA: the inverter mode entity shows the slot's command
        mode = published.get_state(SANDBOX_HOUSE_ENTITIES.inverter_mode).state
        assert mode == run.cmd.mode.value
        assert agent.writes >= 1
        # the executor tick writes nothing when nothing drifted ...
        writes = agent.writes
        agent.executor_tick(run)
        assert agent.writes == writes
        # ... and puts back a setting someone changed
        other = "hold" if run.cmd.mode.value != "hold" else "self_consumption"
        published.call_service(
            "input_select",
            "select_option",
            {"entity_id": SANDBOX_HOUSE_ENTITIES.inverter_mode, "option": other},
        )
        agent.executor_tick(run)
        assert published.get_state(SANDBOX_HOUSE_ENTITIES.inverter_mode).state == mode
        assert agent.writes == writes + 1
        # the slot it was opened in is only partly seen: not recorded from its counters;
        # the first slot that began after it opened is seen whole
        assert not world.runs_whole(slot_floor(before)) or before == slot_floor(before)
        assert world.runs_whole(slot_floor(now) + timedelta(minutes=15))
    finally:
        runtime.stop()


def test_an_unknown_location_with_home_assistant_down_is_one_clear_error(
    ha: HomeAssistantInstance, nordpool: FakeNordPool, tmp_path: Path
) -> None:
    config = _config(tmp_path / "config.yaml", ha, nordpool, location="  altitude_m: 0.0\n")
    text = config.read_text().replace(ha.url, "http://127.0.0.1:1")
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        open_runtime(data_dir=tmp_path / "data", config_path=config, speed=180.0)
    assert info.value.field == "location"
    assert "set location.latitude, location.longitude and location.timezone" in info.value.message


def test_the_location_comes_from_home_assistant_when_not_configured(
    ha: HomeAssistantInstance, published: HomeAssistantHouse
) -> None:
    lat, lon, _, tz = published.rest.location()
    assert -90 <= lat <= 90
    assert -180 <= lon <= 180
    assert tz  # the sandbox's configured zone


def test_prices_from_a_home_assistant_price_sensor(published: HomeAssistantHouse) -> None:
    from darkstar.sources.homeassistant.prices import HomeAssistantPriceSensor

    day = delivery_date_of(datetime.now(UTC))
    begin, end = delivery_window(day)
    step = timedelta(minutes=15)
    n = (end - begin) // step
    raw = [
        {
            "start": (begin + k * step).astimezone(MARKET_TZ).isoformat(),
            "end": (begin + (k + 1) * step).astimezone(MARKET_TZ).isoformat(),
            "value": round(0.1 + 0.01 * k, 4),
        }
        for k in range(n)
    ]
    published.rest.set_state(
        "sensor.nordpool_kwh_se4_sek",
        "0.1",
        {"unit_of_measurement": "SEK/kWh", "currency": "SEK", "raw_today": raw, "raw_tomorrow": []},
    )
    sensor = HomeAssistantPriceSensor(published, "sensor.nordpool_kwh_se4_sek")
    got = sensor.fetch_day("SE4", day, currency="SEK")
    assert got is not None
    assert len(got.slots) == n
    assert got.slots[1].spot_per_kwh == pytest.approx(0.11)
    assert got.start == begin
    assert sensor.fetch_day("SE4", day + timedelta(days=1), currency="SEK") is None
