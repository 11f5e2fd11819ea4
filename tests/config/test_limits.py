"""Limits at the config boundary: nesting depth and physical lower bounds.

A config value nested hundreds of levels deep used to raise :class:`RecursionError` from the
loader (``merge_config``, ``copy.deepcopy``, the YAML parser), also through
``validate_changes`` behind ``POST /config/validate``; a denormal ``1e-320`` kWh battery was
accepted and planned "optimal". Both are now ordinary errors naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from darkstar.config import load_config, parse_config, update_config_file
from darkstar.config.catalog import validate_changes
from darkstar.config.loader import read_config_file_data
from darkstar.errors import ConfigError
from darkstar.jsonlimits import MAX_JSON_DEPTH

TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels"


def _nested_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"x": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


# --- nesting depth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        pytest.param({"battery": {"x": _nested_dict(600)}}, "battery", id="dict-600"),
        pytest.param(
            {"battery.capacity_kwh": _nested_list(600)}, "battery.capacity_kwh", id="list-600"
        ),
        pytest.param({"battery": _nested_dict(100_000)}, "battery", id="dict-100000"),
        pytest.param({".".join(["a"] * 600): 1}, ".".join(["a"] * 600), id="dotted-key-600"),
    ],
)
def test_validate_changes_reports_deep_values_per_key(changes: dict[str, Any], key: str) -> None:
    merged, errors = validate_changes({}, {**changes, "grid.max_power_kw": -1})
    assert merged is None
    by_key = {e.field: e.message for e in errors}
    assert by_key[key] == TOO_DEEP
    assert by_key["grid.max_power_kw"].startswith("must be >= 0.1")  # others still checked


def test_validate_changes_accepts_shallow_changes() -> None:
    merged, errors = validate_changes({}, {"battery.capacity_kwh": 12.0})
    assert errors == []
    assert merged is not None
    assert merged.battery.capacity_kwh == 12.0


@pytest.mark.parametrize("deep", [_nested_dict(600), _nested_list(600), _nested_list(65)])
def test_parse_config_refuses_deep_sections_naming_them(deep: Any) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"battery": {"x": deep}})
    assert (info.value.field, info.value.message) == ("config.battery", TOO_DEEP)


def test_parse_config_within_the_limit_reports_the_usual_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"battery": {"capacity_kwh": _nested_list(MAX_JSON_DEPTH - 1)}})
    assert info.value.field == "config.battery.capacity_kwh"
    assert info.value.message.startswith("expected a number")


def test_load_config_refuses_deep_overrides_naming_the_section() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"grid": {"a": _nested_list(600)}})
    assert (info.value.field, info.value.message) == ("config.grid", TOO_DEEP)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("battery: " + "[" * 100_000 + "]" * 100_000, "{path}", id="parser-100000"),
        pytest.param("battery: " + "[" * 600 + "]" * 600, "{path}", id="parser-600"),
        pytest.param("battery:\n  x: " + "[" * 80 + "]" * 80, "deep.yaml.battery", id="80"),
        pytest.param(
            "".join(f"{'  ' * i}k{i}:\n" for i in range(70)) + "  " * 70 + "v: 1\n",
            "deep.yaml.k0",
            id="block-mappings-70",
        ),
    ],
)
def test_load_config_refuses_a_deep_yaml_file(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    for read in (load_config, read_config_file_data):
        with pytest.raises(ConfigError) as info:
            read(path)
        assert (info.value.field, info.value.message) == (field.format(path=path), TOO_DEEP)


def test_update_config_file_refuses_deep_changes_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\n  capacity_kwh: 12.0\n", encoding="utf-8")
    for changes in (
        {"battery": _nested_dict(100_000)},
        {".".join(["a"] * 600): 1},
    ):
        with pytest.raises(ConfigError, match=TOO_DEEP):
            update_config_file(path, changes)
    assert path.read_text(encoding="utf-8") == "battery:\n  capacity_kwh: 12.0\n"


# --- physical lower bounds --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "bound"),
    [
        ("battery.capacity_kwh", ">= 0.1"),
        ("battery.charge_efficiency", ">= 0.5"),
        ("battery.discharge_efficiency", ">= 0.5"),
        ("grid.max_power_kw", ">= 0.1"),
        ("grid.import_limit_kw", ">= 0.1"),
        ("water_heating.power_kw", ">= 0.1"),
        ("water_heating.max_hours_between_heating", ">= 0.25"),
        ("water_heating.vacation_mode.anti_legionella_interval_days", ">= 1"),
        ("kepler.time_limit_s", ">= 0.1"),
    ],
)
def test_denormal_values_are_refused_naming_the_key(key: str, bound: str) -> None:
    merged, errors = validate_changes({}, {key: 1e-320})
    assert merged is None
    assert [(e.field, e.message) for e in errors] == [(key, f"must be {bound}, got 1e-320")]


def test_denormal_capacity_in_a_request_config_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"battery": {"capacity_kwh": 1e-320}})
    assert info.value.field == "config.battery.capacity_kwh"
    assert info.value.message == "must be >= 0.1, got 1e-320"


def test_smallest_physical_values_are_accepted() -> None:
    cfg = parse_config(
        {
            "battery": {"capacity_kwh": 0.1, "charge_efficiency": 0.5, "discharge_efficiency": 0.5},
            "grid": {"max_power_kw": 0.1, "import_limit_kw": 0.1},
            "water_heating": {
                "power_kw": 0.1,
                "max_hours_between_heating": 0.25,
                "vacation_mode": {"anti_legionella_interval_days": 1},
            },
            "kepler": {"time_limit_s": 0.1},
        }
    )
    assert cfg.battery.capacity_kwh == 0.1
