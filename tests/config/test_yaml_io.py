"""Tests for darkstar.config.yaml_io.update_config_file: round-trip edits, refusal, atomicity."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from darkstar.config import (
    DarkstarConfig,
    load_config,
    read_default_config_text,
    update_config_file,
)
from darkstar.errors import ConfigError

_USER_CONFIG = """\
# My house.
battery:
  capacity_kwh: 13.5  # replaced in 2023
  # Keep some reserve for outages.
  min_soc_percent: 20

# === grid ===
grid:
  max_power_kw: 16
  import_limit_kw: null  # no peak tariff yet

water_heating:
  vacation_mode:
    enabled: false

    # trailing vacation note

# === kepler ===
kepler:
  time_limit_s: 30  # slow box
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(_USER_CONFIG, encoding="utf-8")
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1
    return text.replace(old, new)


def test_update_config_file_default_file_changes_only_the_value(tmp_path: Path) -> None:
    text = read_default_config_text()
    path = _write(tmp_path, text)
    update_config_file(path, {"battery.capacity_kwh": 9.5})
    expected = _replace_once(text, "  capacity_kwh: 10.0\n", "  capacity_kwh: 9.5\n")
    assert path.read_bytes() == expected.encode("utf-8")


def test_update_config_file_default_file_several_values(tmp_path: Path) -> None:
    text = read_default_config_text()
    path = _write(tmp_path, text)
    update_config_file(
        path,
        {
            "grid.import_limit_kw": 8.0,
            "water_heating.vacation_mode.enabled": True,
            "kepler.mip_gap": 0.01,
            "export.enable_export": False,
        },
    )
    expected = _replace_once(text, "  import_limit_kw: null\n", "  import_limit_kw: 8.0\n")
    expected = _replace_once(expected, "    enabled: false\n", "    enabled: true\n")
    expected = _replace_once(expected, "  mip_gap: 0.0001\n", "  mip_gap: 0.01\n")
    expected = _replace_once(expected, "  enable_export: true\n", "  enable_export: false\n")
    assert path.read_text(encoding="utf-8") == expected


def test_update_config_file_keeps_end_of_line_comment(config_path: Path) -> None:
    update_config_file(config_path, {"battery.capacity_kwh": 9.5})
    # The comment stays at its column, so aligned comments stay aligned.
    expected = _replace_once(_USER_CONFIG, "capacity_kwh: 13.5  #", "capacity_kwh: 9.5   #")
    assert config_path.read_text(encoding="utf-8") == expected


def test_update_config_file_writes_null(config_path: Path) -> None:
    update_config_file(config_path, {"water_heating.max_hours_between_heating": None})
    assert load_config(config_path).water_heating.max_hours_between_heating is None
    text = config_path.read_text(encoding="utf-8")
    assert "  import_limit_kw: null  # no peak tariff yet\n" in text
    assert "  max_hours_between_heating: null\n" in text


def test_update_config_file_nested_mapping_same_as_dotted(tmp_path: Path) -> None:
    dotted = tmp_path / "dotted.yaml"
    nested = tmp_path / "nested.yaml"
    dotted.write_text(_USER_CONFIG, encoding="utf-8")
    nested.write_text(_USER_CONFIG, encoding="utf-8")
    update_config_file(dotted, {"battery.max_charge_kw": 4.0, "grid.max_power_kw": 20})
    update_config_file(nested, {"battery": {"max_charge_kw": 4.0}, "grid": {"max_power_kw": 20}})
    assert dotted.read_text(encoding="utf-8") == nested.read_text(encoding="utf-8")
    config = load_config(nested)
    assert config.battery.max_charge_kw == 4.0
    assert config.battery.capacity_kwh == 13.5  # the section was merged, not replaced


def test_update_config_file_new_key_goes_before_next_section_comment(config_path: Path) -> None:
    update_config_file(config_path, {"battery.max_charge_kw": 4.0})
    expected = _replace_once(
        _USER_CONFIG, "  min_soc_percent: 20\n", "  min_soc_percent: 20\n  max_charge_kw: 4.0\n"
    )
    assert config_path.read_text(encoding="utf-8") == expected


def test_update_config_file_new_key_after_nested_section(config_path: Path) -> None:
    update_config_file(config_path, {"water_heating.power_kw": 2.0})
    expected = _replace_once(
        _USER_CONFIG, "    enabled: false\n", "    enabled: false\n  power_kw: 2.0\n"
    )
    assert config_path.read_text(encoding="utf-8") == expected


def test_update_config_file_creates_missing_sections(config_path: Path) -> None:
    update_config_file(
        config_path,
        {"export.enable_export": False, "s_index.base_factor": 1.2},
    )
    expected = _USER_CONFIG + "export:\n  enable_export: false\ns_index:\n  base_factor: 1.2\n"
    assert config_path.read_text(encoding="utf-8") == expected
    config = load_config(config_path)
    assert config.export.enable_export is False
    assert config.s_index.base_factor == 1.2


def test_update_config_file_creates_nested_missing_sections(tmp_path: Path) -> None:
    path = _write(tmp_path, "battery:\n  capacity_kwh: 8.0\n")
    update_config_file(path, {"water_heating.vacation_mode.enabled": True})
    assert path.read_text(encoding="utf-8") == (
        "battery:\n  capacity_kwh: 8.0\nwater_heating:\n  vacation_mode:\n    enabled: true\n"
    )


def test_update_config_file_fills_empty_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "battery:  # todo\n  # capacity_kwh: 5\ngrid:\n  max_power_kw: 16\n")
    update_config_file(path, {"battery.capacity_kwh": 7.5})
    assert path.read_text(encoding="utf-8") == (
        "battery:  # todo\n  # capacity_kwh: 5\n  capacity_kwh: 7.5\ngrid:\n  max_power_kw: 16\n"
    )


def test_update_config_file_empty_mapping_keeps_existing_section(config_path: Path) -> None:
    update_config_file(config_path, {"battery": {}})
    assert config_path.read_text(encoding="utf-8") == _USER_CONFIG


def test_update_config_file_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    update_config_file(path, {"battery.capacity_kwh": 7.5})
    assert path.read_text(encoding="utf-8") == "battery:\n  capacity_kwh: 7.5\n"


def test_update_config_file_comments_only_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "# Darkstar config\n\n")
    update_config_file(path, {"battery.capacity_kwh": 7.5})
    assert path.read_text(encoding="utf-8") == (
        "# Darkstar config\n\nbattery:\n  capacity_kwh: 7.5\n"
    )


def test_update_config_file_keeps_four_space_indent(tmp_path: Path) -> None:
    text = "battery:\n    capacity_kwh: 8.0\n    # note\n    max_charge_kw: 3.0\n"
    path = _write(tmp_path, text)
    update_config_file(path, {"battery.max_charge_kw": 4.0, "grid.max_power_kw": 20})
    assert path.read_text(encoding="utf-8") == (
        "battery:\n    capacity_kwh: 8.0\n    # note\n    max_charge_kw: 4.0\n"
        "grid:\n    max_power_kw: 20\n"
    )


def test_update_config_file_keeps_document_markers(tmp_path: Path) -> None:
    text = "# header above the marker\n---\nbattery:\n  capacity_kwh: 8.0\n...\n# after\n"
    path = _write(tmp_path, text)
    update_config_file(path, {"battery.capacity_kwh": 9.0})
    assert path.read_text(encoding="utf-8") == _replace_once(text, "8.0", "9.0")


def test_update_config_file_keeps_quotes_and_long_lines(tmp_path: Path) -> None:
    long_comment = "# " + "x" * 150
    text = f"{long_comment}\nbattery:\n  'capacity_kwh': 8.0\n  max_charge_kw: 3.0\n"
    path = _write(tmp_path, text)
    update_config_file(path, {"battery.max_charge_kw": 4.0})
    assert path.read_text(encoding="utf-8") == _replace_once(text, "3.0", "4.0")


def test_update_config_file_no_changes_does_not_rewrite(config_path: Path) -> None:
    inode = config_path.stat().st_ino
    update_config_file(config_path, {})
    assert config_path.stat().st_ino == inode
    assert config_path.read_text(encoding="utf-8") == _USER_CONFIG


def test_update_config_file_replaces_file_atomically(config_path: Path) -> None:
    inode = config_path.stat().st_ino
    update_config_file(config_path, {"battery.capacity_kwh": 9.5})
    assert config_path.stat().st_ino != inode  # a new file was moved into place
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["config.yaml"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_update_config_file_keeps_file_mode(config_path: Path) -> None:
    config_path.chmod(0o600)
    update_config_file(config_path, {"battery.capacity_kwh": 9.5})
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"battery.max_soc_percent": 120},
            "config.yaml.battery.max_soc_percent",
            "must be <= 100, got 120",
            id="range",
        ),
        pytest.param(
            {"battery.capacity_kw": 9.0},
            "config.yaml.battery.capacity_kw",
            "unknown key; did you mean 'capacity_kwh'?",
            id="unknown-key",
        ),
        pytest.param(
            {"batery.capacity_kwh": 9.0},
            "config.yaml.batery",
            "unknown section; did you mean 'battery'?",
            id="unknown-section",
        ),
        pytest.param(
            {"battery.min_soc_percent": 99},
            "config.yaml.battery",
            "min_soc_percent (99.0) must be below max_soc_percent (95.0)",
            id="validator",
        ),
        pytest.param(
            {"export.enable_export": "no"},
            "config.yaml.export.enable_export",
            "expected true or false, got 'no'",
            id="type",
        ),
        pytest.param(
            {"battery.capacity_kwh.value": 9.0},
            "config.yaml.battery.capacity_kwh",
            "expected a section (a mapping of keys), got 9.0",
            id="through-scalar",
        ),
        pytest.param(
            {"battery..capacity_kwh": 9.0},
            "config.yaml.battery..capacity_kwh",
            "invalid key path; use dotted keys like 'battery.capacity_kwh'",
            id="empty-part",
        ),
    ],
)
def test_update_config_file_invalid_change_leaves_file_unchanged(
    config_path: Path, changes: dict[str, object], field: str, message: str
) -> None:
    before = config_path.read_bytes()
    with pytest.raises(ConfigError) as info:
        update_config_file(config_path, {"battery.capacity_kwh": 9.0, **changes})
    assert (info.value.field, info.value.message) == (field, message)
    assert config_path.read_bytes() == before
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["config.yaml"]


def test_update_config_file_invalid_existing_value_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "battery:\n  capacity_kwh: -1\n")
    with pytest.raises(ConfigError) as info:
        update_config_file(path, {"grid.max_power_kw": 20})
    assert str(info.value) == "config.yaml.battery.capacity_kwh: must be >= 0.1, got -1"
    assert path.read_text(encoding="utf-8") == "battery:\n  capacity_kwh: -1\n"


def test_update_config_file_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigError) as info:
        update_config_file(path, {"battery.capacity_kwh": 9.0})
    assert (info.value.field, info.value.message) == (str(path), "config file not found")
    assert not path.exists()


def test_update_config_file_yaml_syntax_error(tmp_path: Path) -> None:
    text = "battery:\n  capacity_kwh: 10\n max_charge_kw: 5\n"
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        update_config_file(path, {"battery.capacity_kwh": 9.0})
    assert info.value.field == str(path)
    assert info.value.message.startswith("invalid YAML at line 3, column 2: ")
    assert path.read_text(encoding="utf-8") == text


def test_update_config_file_top_level_not_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- 1\n")
    with pytest.raises(ConfigError) as info:
        update_config_file(path, {"battery.capacity_kwh": 9.0})
    assert str(info.value) == "config.yaml: expected a mapping of sections, got a list"


def test_update_config_file_write_failure_leaves_file_and_no_temp(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        update_config_file(config_path, {"battery.capacity_kwh": 9.0})
    assert config_path.read_text(encoding="utf-8") == _USER_CONFIG
    assert sorted(p.name for p in config_path.parent.iterdir()) == ["config.yaml"]


def test_update_config_file_result_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, read_default_config_text())
    update_config_file(path, {"battery.capacity_kwh": 9.5, "grid.import_limit_kw": 6})
    expected = DarkstarConfig().model_copy(deep=True)
    expected.battery.capacity_kwh = 9.5
    expected.grid.import_limit_kw = 6.0
    assert load_config(path) == expected
