"""``darkstar check-ha --config config.yaml`` against a fake Home Assistant.

Exit 0 and a summary when every entity is fit for its role; exit 1 with one line per
problem (``<key> (<entity_id>): <message>``) and a summary otherwise; exit 2 with one
``error:`` line when the config cannot be used (invalid, no URL, no token).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_ha import TOKEN
from stateful_fake_ha import ENTITIES, StatefulFakeHomeAssistant, config_dict
from typer.testing import CliRunner

from darkstar.cli import app

N_ENTITIES = len(ENTITIES)


@pytest.fixture(autouse=True)
def _no_token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DARKSTAR_HA_TOKEN", raising=False)
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)


def _write_config(tmp_path: Path, config: dict[str, Any], *, token: str | None = TOKEN) -> Path:
    if token is not None:
        token_file = tmp_path / "ha_token"
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        config["home_assistant"]["token_file"] = str(token_file)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["check-ha", *args])


def test_check_ha_all_good_exits_0(server: StatefulFakeHomeAssistant, tmp_path: Path) -> None:
    path = _write_config(tmp_path, config_dict(server.url))
    result = _run("--config", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"no problems: {N_ENTITIES} entities checked\n"
    assert result.stderr == ""


def test_check_ha_verbose_prints_one_ok_line_per_entity(
    server: StatefulFakeHomeAssistant, tmp_path: Path
) -> None:
    path = _write_config(tmp_path, config_dict(server.url))
    result = _run("--config", str(path), "--verbose")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        *(f"{key} ({entity_id}): ok" for key, entity_id in ENTITIES.items()),
        f"no problems: {N_ENTITIES} entities checked",
    ]


def test_check_ha_problems_exit_1_with_one_line_each(
    server: StatefulFakeHomeAssistant, tmp_path: Path
) -> None:
    del server.states["sensor.grid_export_energy"]
    server.set("sensor.battery_soc", "unavailable", unit_of_measurement="%")
    server.set("select.inverter_mode", "hold", options=["hold", "force_charge"])
    config = config_dict(server.url, **{"executor.soc_target": None})
    result = _run("-c", str(_write_config(tmp_path, config)), "-v")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "executor.soc_target: is not set (required when home_assistant.url is set)",
        "input_sensors.battery_soc (sensor.battery_soc): state is 'unavailable' "
        "(the device or its integration cannot be reached)",
        "input_sensors.pv_energy (sensor.pv_energy): ok",
        "input_sensors.load_energy (sensor.load_energy): ok",
        "input_sensors.grid_import_energy (sensor.grid_import_energy): ok",
        "input_sensors.grid_export_energy (sensor.grid_export_energy): "
        "no such entity in Home Assistant (404)",
        "input_sensors.battery_charge_energy (sensor.battery_charge_energy): ok",
        "input_sensors.battery_discharge_energy (sensor.battery_discharge_energy): ok",
        "input_sensors.water_heater_energy (sensor.water_heater_energy): ok",
        "input_sensors.water_temperature (sensor.water_temperature): ok",
        "executor.inverter_mode (select.inverter_mode): options lack self_consumption, "
        "force_discharge (Darkstar selects every InverterMode)",
        "executor.charge_power (number.battery_charge_power): ok",
        "executor.discharge_power (input_number.battery_discharge_power): ok",
        "executor.grid_charging (switch.battery_grid_charging): ok",
        "executor.water_heater (water_heater.tank): ok",
        f"4 problems, 11 of {N_ENTITIES - 1} entities ok",
    ]
    assert result.stderr == ""


def test_check_ha_problems_without_verbose_prints_only_problems(
    server: StatefulFakeHomeAssistant, tmp_path: Path
) -> None:
    server.set("switch.battery_grid_charging", "unavailable")
    result = _run("--config", str(_write_config(tmp_path, config_dict(server.url))))
    assert result.exit_code == 1
    assert result.stdout == (
        "executor.grid_charging (switch.battery_grid_charging): state is 'unavailable': "
        "Darkstar could not write to it\n"
        f"1 problem, {N_ENTITIES - 1} of {N_ENTITIES} entities ok\n"
    )


def test_check_ha_refused_token_exits_1_naming_the_token(
    server: StatefulFakeHomeAssistant, tmp_path: Path
) -> None:
    path = _write_config(tmp_path, config_dict(server.url), token="not-the-token")
    result = _run("--config", str(path), "--verbose")
    assert result.exit_code == 1
    assert result.stdout == (
        "home_assistant.token: Home Assistant refused the token (401)\n"
        f"1 problem, 0 of {N_ENTITIES} entities ok\n"
    )


def test_check_ha_token_from_environment(
    server: StatefulFakeHomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DARKSTAR_HA_TOKEN", TOKEN)
    path = _write_config(tmp_path, config_dict(server.url), token=None)
    assert _run("--config", str(path)).exit_code == 0


def test_check_ha_without_url_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("battery:\n  capacity_kwh: 10\n", encoding="utf-8")
    result = _run("--config", str(path))
    assert result.exit_code == 2
    assert result.stderr == (f"error: home_assistant.url: is not set in {path}; nothing to check\n")
    assert result.stdout == ""


def test_check_ha_without_token_exits_2(tmp_path: Path) -> None:
    path = _write_config(tmp_path, config_dict("http://127.0.0.1:9"), token=None)
    result = _run("--config", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: home_assistant.token: no Home Assistant access token")
    assert len(result.stderr.splitlines()) == 1


def test_check_ha_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = config_dict("http://127.0.0.1:9", **{"input_sensors.battery_soc": "Battery SoC"})
    path = _write_config(tmp_path, config)
    result = _run("--config", str(path))
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: config.yaml.input_sensors.battery_soc: ")


def test_check_ha_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = _run("--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_check_ha_needs_the_config_option() -> None:
    result = _run()
    assert result.exit_code == 2
    assert "--config" in result.stderr
