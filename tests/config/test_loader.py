"""Tests for darkstar.config.loader: defaults file, merging, validation errors, loading."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML

from darkstar.config import (
    DarkstarConfig,
    load_config,
    merge_config,
    parse_config,
    read_default_config_text,
)
from darkstar.errors import ConfigError, InputError

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[a-z_][a-z0-9_]*):")


def _field_paths(model: type[BaseModel], prefix: str = "") -> dict[str, FieldInfo]:
    """All fields of a model, recursively, by dotted path (sections included)."""
    paths: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths[path] = field
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.update(_field_paths(annotation, f"{path}."))
    return paths


def _comments_above_keys(text: str) -> dict[str, str]:
    """Map each key's dotted path to the comment block directly above it (lines joined)."""
    above: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(key for _, key in stack), match.group("key")])
        block, k = [], index - 1  # the comment block right above the key, joined
        while k >= 0 and lines[k].lstrip().startswith("#"):
            block.insert(0, lines[k].strip())
            k -= 1
        above[path] = " ".join(block) if block else (lines[index - 1] if index else "")
        stack.append((indent, match.group("key")))
    return above


def _number(limit: object) -> str:
    assert isinstance(limit, int | float)
    return f"{limit:g}"


def _expected_range(field: FieldInfo) -> str:
    """The range text a field's comment must contain, built from its Field metadata."""
    annotation = field.annotation
    args = typing.get_args(annotation)
    nullable = type(None) in args
    if annotation is bool:
        return "Range: true or false."
    if typing.get_origin(annotation) is typing.Literal:
        return f"Range: one of {', '.join(str(v) for v in args)}."
    if annotation is str or str in args:  # entity ids, URLs, paths: the comment says which
        return "Range: null or" if nullable else "Range:"
    literal = next((a for a in args if typing.get_origin(a) is typing.Literal), None)
    if literal is not None:
        choices = ", ".join(str(v) for v in typing.get_args(literal))
        return f"Range: {'null or ' if nullable else ''}one of {choices}."
    if typing.get_origin(annotation) is list:  # a list of sub-models: its length bounds
        longest = next(m.max_length for m in field.metadata if hasattr(m, "max_length"))
        return f"Range: 1 to {longest}"
    lower = upper = ""
    for item in field.metadata:
        if isinstance(item, annotated_types.Gt):
            lower = f"{_number(item.gt)} < "
        elif isinstance(item, annotated_types.Ge):
            lower = f"{_number(item.ge)} <= "
        elif isinstance(item, annotated_types.Le):
            upper = f" <= {_number(item.le)}"
        elif isinstance(item, annotated_types.Lt):
            upper = f" < {_number(item.lt)}"
    text = f"{lower}x{upper}."
    if annotation is int:
        text = f"integer {text}"
    if nullable:
        text = f"null or {text}"
    return f"Range: {text}"


def _load_yaml(text: str) -> Any:
    return YAML(typ="safe").load(text)


def _error(data: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(data, **kwargs)
    return info.value


# --- read_default_config_text: drift between the defaults file and the models ---------------


def test_read_default_config_text_parses_to_model_defaults() -> None:
    data = _load_yaml(read_default_config_text())
    assert data == DarkstarConfig().model_dump()
    assert DarkstarConfig.model_validate(data, strict=True) == DarkstarConfig()
    assert parse_config(data) == DarkstarConfig()


def test_read_default_config_text_keeps_model_key_order() -> None:
    def key_order(mapping: dict[str, Any]) -> list[str]:
        keys = []
        for key, value in mapping.items():
            keys.append(key)
            if isinstance(value, dict):
                keys.extend(f"{key}.{sub}" for sub in key_order(value))
        return keys

    data = _load_yaml(read_default_config_text())
    assert key_order(data) == list(_field_paths(DarkstarConfig))


def test_read_default_config_text_documents_every_field() -> None:
    above = _comments_above_keys(read_default_config_text())
    fields = _field_paths(DarkstarConfig)
    assert sorted(above) == sorted(fields)
    for path, field in fields.items():
        comment = above[path]
        assert comment.lstrip().startswith("#"), f"{path} has no comment above it"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            assert path in comment, f"section header of {path} does not name it"
            continue
        assert _expected_range(field) in comment, f"{path}: comment range out of date"
        if annotation is not bool:
            assert re.search(r"\[[^\]]+\]", comment), f"{path}: comment has no [unit]"


# --- merge_config -----------------------------------------------------------------------------


def test_merge_config_merges_nested_mappings() -> None:
    base = {"battery": {"capacity_kwh": 10.0, "max_charge_kw": 5.0}, "grid": {"max_power_kw": 11}}
    override = {"battery": {"capacity_kwh": 9.5}, "export": {"enable_export": False}}
    assert merge_config(base, override) == {
        "battery": {"capacity_kwh": 9.5, "max_charge_kw": 5.0},
        "grid": {"max_power_kw": 11},
        "export": {"enable_export": False},
    }


def test_merge_config_deeply_nested() -> None:
    base = {"water_heating": {"power_kw": 3.0, "vacation_mode": {"enabled": False, "x": 1}}}
    override = {"water_heating": {"vacation_mode": {"enabled": True}}}
    assert merge_config(base, override) == {
        "water_heating": {"power_kw": 3.0, "vacation_mode": {"enabled": True, "x": 1}}
    }


def test_merge_config_none_replaces() -> None:
    base = {"grid": {"import_limit_kw": 5.0}}
    assert merge_config(base, {"grid": {"import_limit_kw": None}}) == {
        "grid": {"import_limit_kw": None}
    }
    assert merge_config({"battery": {"capacity_kwh": 1.0}}, {"battery": None}) == {"battery": None}


def test_merge_config_scalar_and_mapping_replace_each_other() -> None:
    assert merge_config({"battery": {"capacity_kwh": 1.0}}, {"battery": 5}) == {"battery": 5}
    assert merge_config({"battery": 5}, {"battery": {"capacity_kwh": 1.0}}) == {
        "battery": {"capacity_kwh": 1.0}
    }


def test_merge_config_lists_are_replaced_not_merged() -> None:
    assert merge_config({"a": [1, 2, 3]}, {"a": [4]}) == {"a": [4]}


def test_merge_config_leaves_inputs_unchanged_and_unshared() -> None:
    base = {"battery": {"capacity_kwh": 10.0}, "tags": ["a"]}
    override = {"battery": {"max_charge_kw": 3.0}, "extra": {"list": [1]}}
    merged = merge_config(base, override)
    merged["battery"]["capacity_kwh"] = 0.0
    merged["tags"].append("b")
    merged["extra"]["list"].append(2)
    assert base == {"battery": {"capacity_kwh": 10.0}, "tags": ["a"]}
    assert override == {"battery": {"max_charge_kw": 3.0}, "extra": {"list": [1]}}


def test_merge_config_returns_plain_dicts() -> None:
    merged = merge_config(types.MappingProxyType({"a": types.MappingProxyType({"b": 1})}), {})
    assert type(merged) is dict
    assert type(merged["a"]) is dict


_configs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False),
    lambda children: st.dictionaries(st.sampled_from("abcd"), children, max_size=4),
    max_leaves=12,
)
_mappings = st.dictionaries(st.sampled_from("abcd"), _configs, max_size=4)


@given(base=_mappings, override=_mappings)
def test_merge_config_properties(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = merge_config(base, override)
    assert merge_config(base, {}) == base
    assert merge_config({}, override) == override
    assert merge_config(merged, override) == merged  # idempotent
    assert set(merged) == set(base) | set(override)
    for key, value in override.items():
        if not isinstance(value, dict):
            assert merged[key] == value


# --- parse_config: valid input ----------------------------------------------------------------


def test_parse_config_none_and_empty_give_defaults() -> None:
    assert parse_config(None) == DarkstarConfig()
    assert parse_config({}) == DarkstarConfig()


def test_parse_config_partial_section_keeps_other_defaults() -> None:
    config = parse_config({"battery": {"capacity_kwh": 9.5}, "grid": {"import_limit_kw": 6}})
    assert config.battery.capacity_kwh == 9.5
    assert config.battery.max_soc_percent == 95.0
    assert config.grid.import_limit_kw == 6.0
    assert config.water_heating == DarkstarConfig().water_heating


def test_parse_config_whole_number_for_decimal_key() -> None:
    config = parse_config({"battery": {"capacity_kwh": 12}})
    assert config.battery.capacity_kwh == 12.0
    assert isinstance(config.battery.capacity_kwh, float)


def test_parse_config_nested_section() -> None:
    config = parse_config({"water_heating": {"vacation_mode": {"enabled": True}}})
    assert config.water_heating.vacation_mode.enabled is True
    assert config.water_heating.vacation_mode.anti_legionella_kwh == 3.0


def test_parse_config_does_not_mutate_input() -> None:
    data = {"battery": {"capacity_kwh": 9.5}}
    parse_config(data)
    assert data == {"battery": {"capacity_kwh": 9.5}}


# --- parse_config: errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param(
            {"battery": {"max_soc_percent": 120}},
            "config.battery.max_soc_percent",
            "must be <= 100, got 120",
            id="le",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": 0}},
            "config.battery.capacity_kwh",
            "must be >= 0.1, got 0",
            id="ge-physical",
        ),
        pytest.param(
            {"battery": {"max_charge_kw": -1.5}},
            "config.battery.max_charge_kw",
            "must be >= 0, got -1.5",
            id="ge",
        ),
        pytest.param(
            {"kepler": {"mip_gap": 0.75}},
            "config.kepler.mip_gap",
            "must be <= 0.5, got 0.75",
            id="le-fraction",
        ),
        pytest.param(
            {"s_index": {"base_factor": 0.5}},
            "config.s_index.base_factor",
            "must be >= 1, got 0.5",
            id="ge-float-bound",
        ),
        pytest.param(
            {"water_heating": {"comfort_level": 6}},
            "config.water_heating.comfort_level",
            "must be <= 5, got 6",
            id="le-int",
        ),
        pytest.param(
            {"water_heating": {"vacation_mode": {"anti_legionella_interval_days": 0}}},
            "config.water_heating.vacation_mode.anti_legionella_interval_days",
            "must be >= 1, got 0",
            id="nested-section",
        ),
        pytest.param(
            {"grid": {"import_limit_kw": -2}},
            "config.grid.import_limit_kw",
            "must be >= 0.1, got -2",
            id="nullable-range",
        ),
    ],
)
def test_parse_config_range_errors(data: dict[str, Any], field: str, message: str) -> None:
    error = _error(data)
    assert (error.field, error.message) == (field, message)
    assert str(error) == f"{field}: {message}"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param(
            {"battery": {"capacity_kwh": "ten"}},
            "config.battery.capacity_kwh",
            "expected a number, got 'ten'",
            id="str-for-float",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": "10"}},
            "config.battery.capacity_kwh",
            "expected a number, got '10'",
            id="numeric-str-not-coerced",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": True}},
            "config.battery.capacity_kwh",
            "expected a number, got true",
            id="bool-for-float",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": None}},
            "config.battery.capacity_kwh",
            "expected a number, got null",
            id="null-for-float",
        ),
        pytest.param(
            {"grid": {"import_limit_kw": "none"}},
            "config.grid.import_limit_kw",
            "expected a number or null, got 'none'",
            id="nullable",
        ),
        pytest.param(
            {"water_heating": {"comfort_level": 2.5}},
            "config.water_heating.comfort_level",
            "expected a whole number, got 2.5",
            id="float-for-int",
        ),
        pytest.param(
            {"system": {"has_battery": "yes"}},
            "config.system.has_battery",
            "expected true or false, got 'yes'",
            id="str-for-bool",
        ),
        pytest.param(
            {"export": {"enable_export": 1}},
            "config.export.enable_export",
            "expected true or false, got 1",
            id="int-for-bool",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": float("inf")}},
            "config.battery.capacity_kwh",
            "must be a finite number, got inf",
            id="inf",
        ),
        pytest.param(
            {"battery": {"capacity_kwh": [1, 2]}},
            "config.battery.capacity_kwh",
            "expected a number, got a list",
            id="list-for-float",
        ),
    ],
)
def test_parse_config_type_errors(data: dict[str, Any], field: str, message: str) -> None:
    error = _error(data)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param(
            {"battery": {"max_soc_pct": 90}},
            "config.battery.max_soc_pct",
            "unknown key; did you mean 'max_soc_percent'?",
            id="key",
        ),
        pytest.param(
            {"water_heating": {"vacation_mode": {"enable": True}}},
            "config.water_heating.vacation_mode.enable",
            "unknown key; did you mean 'enabled'?",
            id="nested-key",
        ),
        pytest.param(
            {"batery": {"capacity_kwh": 9.0}},
            "config.batery",
            "unknown section; did you mean 'battery'?",
            id="section",
        ),
        pytest.param(
            {"export": {"zzz": 1}},
            "config.export.zzz",
            "unknown key; known keys: enable_export",
            id="no-close-match",
        ),
        pytest.param(
            {"web": {}},
            "config.web",
            "unknown section; known sections: system, battery, battery_economics, grid, "
            "export, water_heating, kepler, s_index, strategy, forecasting, automation, planner, "
            "home_assistant, input_sensors, executor, ev, prices, tariff, location, weather, pv, "
            "retention",
            id="no-close-section",
        ),
    ],
)
def test_parse_config_unknown_key(data: dict[str, Any], field: str, message: str) -> None:
    error = _error(data)
    assert (error.field, error.message) == (field, message)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param(
            {"battery": 5},
            "config.battery",
            "expected a section (a mapping of keys), got 5",
            id="int",
        ),
        pytest.param(
            {"battery": None},
            "config.battery",
            "expected a section (a mapping of keys), got null",
            id="null",
        ),
        pytest.param(
            {"water_heating": {"vacation_mode": "off"}},
            "config.water_heating.vacation_mode",
            "expected a section (a mapping of keys), got 'off'",
            id="nested",
        ),
        pytest.param(
            {"grid": [1, 2]},
            "config.grid",
            "expected a section (a mapping of keys), got a list",
            id="list",
        ),
    ],
)
def test_parse_config_non_mapping_section(data: dict[str, Any], field: str, message: str) -> None:
    error = _error(data)
    assert (error.field, error.message) == (field, message)


def test_parse_config_non_mapping_top_level() -> None:
    error = _error([1, 2])
    assert (error.field, error.message) == ("config", "expected a mapping of sections, got a list")


def test_parse_config_non_text_key() -> None:
    error = _error({"battery": {1: 2}})
    assert (error.field, error.message) == ("config.battery[1]", "keys must be text, got 1")


def test_parse_config_battery_validator_error() -> None:
    error = _error({"battery": {"min_soc_percent": 95, "max_soc_percent": 95}})
    assert error.field == "config.battery"
    assert error.message == "min_soc_percent (95.0) must be below max_soc_percent (95.0)"


def test_parse_config_first_error_is_deterministic() -> None:
    bad = {"max_soc_percent": 120, "capacity_kwh": -1, "typo_key": 1}
    reordered = dict(reversed(bad.items()))
    first = _error({"grid": {"max_power_kw": 0}, "battery": bad})
    second = _error({"battery": reordered, "grid": {"max_power_kw": 0}})
    # Sections and keys are reported in model order, whatever order the input has.
    assert (first.field, first.message) == ("config.battery.capacity_kwh", "must be >= 0.1, got -1")
    assert (second.field, second.message) == (first.field, first.message)


def test_parse_config_field_prefix() -> None:
    error = _error({"battery": {"capacity_kwh": 0}}, field_prefix="home.yaml")
    assert error.field == "home.yaml.battery.capacity_kwh"


def test_parse_config_error_is_input_and_value_error() -> None:
    error = _error({"battery": {"capacity_kwh": 0}})
    assert isinstance(error, InputError)
    assert isinstance(error, ValueError)
    assert "\n" not in str(error)


# --- load_config ------------------------------------------------------------------------------


def test_load_config_without_path_gives_defaults() -> None:
    assert load_config() == DarkstarConfig()


def test_load_config_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\n  capacity_kwh: 13.5  # kWh\ngrid:\n  import_limit_kw: 8\n")
    config = load_config(path)
    assert config.battery.capacity_kwh == 13.5
    assert config.grid.import_limit_kw == 8.0
    assert config.kepler == DarkstarConfig().kepler


def test_load_config_copied_default_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(read_default_config_text(), encoding="utf-8")
    assert load_config(path) == DarkstarConfig()


@pytest.mark.parametrize("text", ["", "\n\n", "# all commented out\n#battery:\n"])
def test_load_config_empty_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert load_config(path) == DarkstarConfig()


def test_load_config_overrides_win_over_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\n  capacity_kwh: 13.5\n  max_charge_kw: 3.0\n")
    config = load_config(path, overrides={"battery": {"capacity_kwh": 7.0}})
    assert config.battery.capacity_kwh == 7.0
    assert config.battery.max_charge_kw == 3.0


def test_load_config_overrides_without_file() -> None:
    config = load_config(overrides={"export": {"enable_export": False}})
    assert config.export.enable_export is False


def test_load_config_override_error_uses_config_prefix() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides={"battery": {"capacity_kwh": 0}})
    assert info.value.field == "config.battery.capacity_kwh"


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.field, info.value.message) == (str(path), "config file not found")


def test_load_config_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.field == str(tmp_path)
    assert info.value.message.startswith("cannot read config file: ")


def test_load_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"battery:\n  capacity_kwh: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.field, info.value.message) == (str(path), "config file is not UTF-8 text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "battery:\n  capacity_kwh: 10\n max_charge_kw: 5\n",
            "invalid YAML at line 3, column 2: expected <block end>, but found "
            "'<block mapping start>'",
            id="indentation",
        ),
        pytest.param(
            "grid:\n  max_power_kw: [11\n",
            "invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'",
            id="unclosed-flow",
        ),
        pytest.param(
            "battery:\n  capacity_kwh: 10\n  capacity_kwh: 11\n",
            'invalid YAML at line 3, column 3: found duplicate key "capacity_kwh" with value '
            '"11" (original value: "10")',
            id="duplicate-key",
        ),
    ],
)
def test_load_config_yaml_syntax_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.field, info.value.message) == (str(path), message)


def test_load_config_top_level_not_mapping(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("- battery\n- grid\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.field, info.value.message) == (
        "config.yaml",
        "expected a mapping of sections, got a list",
    )


def test_load_config_validation_error_prefixed_with_file_name(tmp_path: Path) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("battery:\n  max_soc_percent: 120\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == "home.yaml.battery.max_soc_percent: must be <= 100, got 120 (line 2)"


def test_load_config_yaml_1_2_booleans(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("export:\n  enable_export: no\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.message == "expected true or false, got 'no' (line 2)"


def test_load_config_yaml_null_section(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\ngrid:\n  max_power_kw: 16\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "config.yaml.battery"
    assert info.value.message == "expected a section (a mapping of keys), got null (line 1)"


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        pytest.param(
            "# a\nbattery:\n  capacity_kwh: 9\n  max_soc_pct: 90\n", "max_soc_pct", 4, id="key"
        ),
        pytest.param(
            "water_heating:\n  vacation_mode:\n\n    enable: true\n", "enable", 4, id="nested"
        ),
        pytest.param("batery:\n  capacity_kwh: 9\n", "batery", 1, id="section"),
    ],
)
def test_load_config_error_names_the_line_of_the_key(
    tmp_path: Path, text: str, field: str, line: int
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field.endswith(f".{field}")
    assert info.value.message.endswith(f" (line {line})")


def test_load_config_error_from_overrides_names_no_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\n  capacity_kwh: 9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides={"grid": {"max_power": 3}})
    assert "(line" not in info.value.message
