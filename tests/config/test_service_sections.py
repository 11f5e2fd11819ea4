"""The service's config sections: Home Assistant, the entities read and written, the executor."""

from __future__ import annotations

import pytest

from darkstar.config.catalog import SECRET_MASK, config_fields, validate_changes
from darkstar.config.loader import parse_config
from darkstar.config.models import REQUIRED_WITH_HOME_ASSISTANT
from darkstar.errors import ConfigError

TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789"


def test_defaults_run_on_the_simulated_home() -> None:
    cfg = parse_config({})
    assert cfg.home_assistant.url is None
    assert cfg.executor.interval_seconds == 60
    assert cfg.executor.shadow_mode is False
    assert cfg.planner.primary == "kepler"


def test_home_assistant_without_entities_names_every_missing_key() -> None:
    cfg = parse_config({"home_assistant": {"url": "http://127.0.0.1:8123"}})
    assert cfg.missing_home_assistant_entities() == list(REQUIRED_WITH_HOME_ASSISTANT)
    full = parse_config(
        {
            "home_assistant": {"url": "http://127.0.0.1:8123"},
            "input_sensors": {
                k.split(".")[1]: f"sensor.{k.split('.')[1]}"
                for k in REQUIRED_WITH_HOME_ASSISTANT
                if k.startswith("input_sensors.")
            },
            "executor": {
                "inverter_mode": "select.mode",
                "charge_power": "number.charge",
                "discharge_power": "number.discharge",
                "soc_target": "number.soc_target",
            },
        }
    )
    assert full.missing_home_assistant_entities() == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"input_sensors": {"battery_soc": "battery soc"}}, "config.input_sensors.battery_soc"),
        ({"input_sensors": {"battery_soc": "Sensor.SoC"}}, "config.input_sensors.battery_soc"),
        ({"executor": {"soc_target": "soc_target"}}, "config.executor.soc_target"),
        ({"home_assistant": {"url": "homeassistant:8123"}}, "config.home_assistant.url"),
        ({"home_assistant": {"token": "short"}}, "config.home_assistant.token"),
        ({"executor": {"interval_seconds": 1}}, "config.executor.interval_seconds"),
        ({"planner": {"primary": "milp"}}, "config.planner.primary"),
    ],
)
def test_bad_service_values_name_the_key(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, field_prefix="config")
    assert info.value.field == field


def test_the_token_is_never_shown() -> None:
    cfg = parse_config({"home_assistant": {"token": TOKEN}})
    shown = {f.key: f.value for f in config_fields(cfg)}
    assert shown["home_assistant.token"] == SECRET_MASK
    assert TOKEN not in repr([f.value for f in config_fields(cfg)])
    assert {f.key: f.value for f in config_fields(parse_config({}))}["home_assistant.token"] is None


def test_saving_the_mask_back_is_refused() -> None:
    merged, errors = validate_changes({}, {"home_assistant.token": SECRET_MASK})
    assert merged is None
    assert [(e.field, e.message) for e in errors] == [
        ("home_assistant.token", "enter the secret itself, not its mask")
    ]


def test_the_readme_example_config_is_valid_and_complete() -> None:
    from pathlib import Path

    from ruamel.yaml import YAML

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    cfg = parse_config(YAML(typ="safe").load(block))
    assert cfg.home_assistant.url == "http://homeassistant.local:8123"
    assert cfg.missing_home_assistant_entities() == []
    assert cfg.executor.shadow_mode is True
    assert (cfg.prices.area, cfg.location.timezone) == ("SE3", "Europe/Stockholm")
    assert cfg.pv.arrays[0].inverter_kw == 6.0
