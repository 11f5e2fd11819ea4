"""The configuration kept safe from a broken ``config.yaml`` (start and hand edits)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from darkstar.errors import ConfigError
from darkstar.service.config_guard import LAST_GOOD_FILE, ConfigWatch, load_guarded

if TYPE_CHECKING:
    from pathlib import Path


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()  # a new mtime even within the clock's resolution
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_load_guarded_keeps_a_copy_and_falls_back_to_it(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    _write(config, "battery:\n  capacity_kwh: 12\n")
    cfg, fault = load_guarded(config, tmp_path)
    assert (cfg.battery.capacity_kwh, fault) == (12, None)
    assert (tmp_path / LAST_GOOD_FILE).read_text("utf-8") == config.read_text("utf-8")
    _write(config, "battery:\n  capacity_kwh: 12\n  max_charge_kww: 3\n")
    cfg, fault = load_guarded(config, tmp_path)
    assert cfg.battery.capacity_kwh == 12
    assert fault == (
        "config.yaml.battery.max_charge_kww: unknown key; did you mean 'max_charge_kw'? "
        f"(line 3); running on the last good configuration ({tmp_path / LAST_GOOD_FILE})"
    )


def test_load_guarded_without_a_copy_raises_the_files_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    _write(config, "battery: [\n")
    with pytest.raises(ConfigError, match="invalid YAML at line 2"):
        load_guarded(config, tmp_path)
    assert not (tmp_path / LAST_GOOD_FILE).exists()


def test_config_watch_refuses_then_takes_hand_edits(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    _write(config, "battery:\n  capacity_kwh: 12\n")
    watch = ConfigWatch(config, tmp_path)
    assert watch.poll() == (None, False)  # unchanged
    _write(config, "battery:\n  capacity_kwh: -1\n")
    cfg, new = watch.poll()
    assert (cfg, new) == (None, True)
    assert watch.fault is not None
    assert watch.fault.startswith("config.yaml.battery.capacity_kwh: must be >= 0.1, got -1")
    assert watch.poll() == (None, False)  # said once
    _write(config, "battery:\n  capacity_kwh: 9\n")
    cfg, new = watch.poll()
    assert cfg is not None
    assert cfg.battery.capacity_kwh == 9
    assert (new, watch.fault) == (False, None)
    assert "capacity_kwh: 9" in (tmp_path / LAST_GOOD_FILE).read_text("utf-8")
