"""``darkstar reflex``: prints the signals and proposals; --dry-run writes nothing at all,
--apply writes config.yaml (comments kept) and the strategy log; one-line errors, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import history_rows, insert_rows, record_pv_forecasts
from darkstar.cli import app
from darkstar.config import load_config
from darkstar.learning.store import open_store
from darkstar.learning.store.strategy_log import read_strategy_log

CONFIG = """\
# my house
battery:
  capacity_kwh: 10.0  # nameplate
location:
  timezone: Europe/Stockholm  # the house's clock
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with a drifted history (10 % fade, PV forecast 20 % high)."""
    folder = tmp_path / "serve"
    store = open_store(folder / "planner_learning.db")
    try:
        rows = history_rows(days=35, capacity_kwh=9.0)
        insert_rows(store, rows)
        record_pv_forecasts(store, rows, factor=1.2)
    finally:
        store.close()
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder


def _log_rows(data_dir: Path) -> int:
    store = open_store(data_dir / "planner_learning.db")
    try:
        return len(read_strategy_log(store, limit=100))
    finally:
        store.close()


def test_reflex_dry_run_prints_proposals_and_writes_nothing(data_dir: Path) -> None:
    db = data_dir / "planner_learning.db"
    before = db.stat().st_mtime_ns
    result = CliRunner().invoke(
        app, ["reflex", "--data-dir", str(data_dir)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Aurora Reflex at 2018-05-31 23:15 CEST", "capacity", "9.5", "85", "dry run"):
        assert text in out
    assert "PV -16.7 % vs forecast" in out
    assert (data_dir / "config.yaml").read_text(encoding="utf-8") == CONFIG
    assert db.stat().st_mtime_ns == before
    assert _log_rows(data_dir) == 0


def test_reflex_apply_writes_config_and_log(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["reflex", "--data-dir", str(data_dir), "--apply"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "applied battery.capacity_kwh: 10 -> 9.5" in result.stdout
    text = (data_dir / "config.yaml").read_text(encoding="utf-8")
    assert "# my house" in text
    assert "# nameplate" in text
    assert "# the house's clock" in text
    cfg = load_config(data_dir / "config.yaml")
    assert (cfg.battery.capacity_kwh, cfg.forecasting.pv_confidence_percent) == (9.5, 85.0)
    assert _log_rows(data_dir) == 4  # two proposals, two applied changes


def test_reflex_missing_store_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reflex", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --data-dir: no learning store at {tmp_path / 'nowhere' / 'planner_learning.db'}"
    ]
    assert not (tmp_path / "nowhere").exists()


def test_reflex_apply_without_config_file_is_exit_2(data_dir: Path) -> None:
    (data_dir / "config.yaml").unlink()
    result = CliRunner().invoke(app, ["reflex", "--data-dir", str(data_dir), "--apply"])
    assert result.exit_code == 2
    assert "--config:" in result.stderr
    # a dry run without config.yaml analyses on the defaults
    dry = CliRunner().invoke(app, ["reflex", "--data-dir", str(data_dir)], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "defaults (no config.yaml)" in dry.stdout


def test_reflex_unknown_timezone_is_exit_2(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["reflex", "--data-dir", str(data_dir), "--timezone", "Mars/Olympus"]
    )
    assert result.exit_code == 2
    assert "--timezone: unknown time zone 'Mars/Olympus'" in result.stderr
