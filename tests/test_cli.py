"""Tests of the ``darkstar plan`` command line (DESIGN §3.1).

Invalid input ends with exit code 2 and exactly one line on stderr, ``error: <field>:
<message>``, never a traceback, and no schedule is written. A valid request writes a
``schedule.json`` following DESIGN §3.2. Most cases run in-process through Typer's
``CliRunner`` (whose vendored Click keeps stdout and stderr apart, ``result.stderr``); a few
run ``python -m darkstar`` as a real subprocess.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.examples import build_request, example_request_paths

#: Fields of DESIGN §3.2.
META_FIELDS = {
    "schema_version",
    "planned_at",
    "planner_version",
    "mode",
    "status",
    "objective_sek",
    "energy_cost_sek",
    "solve_time_ms",
    "mip_gap",
    "s_index",
    "target_soc_percent",
}
ROW_FIELDS = {
    "start",
    "end",
    "import_price_sek_per_kwh",
    "export_price_sek_per_kwh",
    "adjusted_pv_kwh",
    "adjusted_load_kwh",
    "battery_charge_kw",
    "battery_discharge_kw",
    "grid_import_kw",
    "grid_export_kw",
    "water_heating_kw",
    "ev_charging_kw",
    "pv_curtailment_kw",
    "load_shedding_kw",
    "projected_soc_percent",
    "projected_soc_kwh",
    "soc_target_percent",
    "planned_cost_sek",
    "action",
    "reason",
}


def _valid_request() -> dict[str, Any]:
    """A day of hourly slots from local midnight; water quota met without warnings."""
    return build_request(
        import_prices=[1.0 + 0.5 * ((i * 7) % 5) / 4 for i in range(24)],
        export_prices=[0.3] * 24,
        pv_kwh=[max(0.0, 2.0 - abs(i - 12) * 0.4) for i in range(24)],
        load_kwh=[0.6] * 24,
        soc_percent=40.0,
        config={"water_heating": {"defer_up_to_hours": 0}},
    )


def _invoke(tmp_path: Path, request_text: str | None, *extra: str) -> Any:
    """Run ``darkstar plan`` in-process; ``request_text=None`` leaves the input file out."""
    request_path = tmp_path / "request.json"
    if request_text is not None:
        request_path.write_text(request_text, encoding="utf-8")
    args = ["plan", "--input", str(request_path), "--output", str(tmp_path / "schedule.json")]
    return CliRunner().invoke(app, [*args, *extra])


def _assert_input_error(result: Any, tmp_path: Path, field: str, *needles: str) -> str:
    """Exit 2, one stderr line naming ``field``, no traceback, nothing written."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: {field}: "), line
    for needle in needles:
        assert needle in line, line
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not (tmp_path / "schedule.json").exists()
    return line


def _edited(edit: Callable[[dict[str, Any]], None]) -> str:
    request = copy.deepcopy(_valid_request())
    edit(request)
    return json.dumps(request)


def _swap_second_and_third(request: dict[str, Any]) -> None:
    slots = request["slots"]
    slots[1], slots[2] = slots[2], slots[1]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a value by a dotted path with list indices (``slots.3.start``)."""

    def edit(request: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = request
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(leaf) if leaf.isdigit() else leaf] = value

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(request: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = request
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(leaf) if leaf.isdigit() else leaf]

    return edit


def _nan_price() -> str:
    text = _edited(_set("slots.5.import_price_sek_per_kwh", 123.25))
    return text.replace("123.25", "NaN")


def _infinite_price() -> str:
    text = _edited(_set("slots.5.export_price_sek_per_kwh", 123.25))
    return text.replace("123.25", "Infinity")


def _reversed_slots() -> str:
    def edit(request: dict[str, Any]) -> None:
        request["slots"].reverse()

    return _edited(edit)


BAD_REQUESTS = {
    "nan-price": (_nan_price, "slots[5].import_price_sek_per_kwh", ["finite"]),
    "infinite-price": (_infinite_price, "slots[5].export_price_sek_per_kwh", ["finite"]),
    "gap": (lambda: _edited(_delete("slots.6")), "slots[6].start", ["gap", "consecutive"]),
    "unsorted": (_reversed_slots, "slots[1].start", ["sorted"]),
    "duplicate-start": (
        lambda: _edited(_set("slots.1.start", "2026-03-10T00:00:00+01:00")),
        "slots[1].start",
        ["sorted"],
    ),
    "mixed-slot-lengths": (
        lambda: _edited(_set("slots.23.start", "2026-03-10T22:30:00+01:00")),
        "slots[23].start",
        ["mixed slot lengths", "30 min"],
    ),
    "slot-length-not-allowed": (
        lambda: json.dumps(build_request(import_prices=[1.0] * 4, slot_minutes=20)),
        "slots[1].start",
        ["15, 30 or 60"],
    ),
    "unknown-slot-key": (
        lambda: _edited(_set("slots.2.import_price_sek_per_kwhh", 1.0)),
        "slots[2].import_price_sek_per_kwhh",
        ["unknown key", "did you mean 'import_price_sek_per_kwh'"],
    ),
    "misspelt-required-key": (
        # "state" is then also missing: the unknown key explains both, so it is reported
        lambda: _edited(lambda request: request.update(stat=request.pop("state"))),
        "stat",
        ["stat: unknown key; did you mean 'state'?"],
    ),
    "unknown-state-key": (
        lambda: _edited(_set("state.soc_pct", 40.0)),
        "state.soc_pct",
        ["unknown key", "did you mean 'soc_percent'"],
    ),
    "unknown-top-level-key": (
        lambda: _edited(_set("confg", {})),
        "confg",
        ["unknown key", "did you mean 'config'"],
    ),
    "wrong-type": (
        lambda: _edited(_set("slots.1.load_forecast_kwh", "lots")),
        "slots[1].load_forecast_kwh",
        ["number", "'lots'"],
    ),
    "wrong-type-state": (
        lambda: _edited(_set("state.soc_percent", [40])),
        "state.soc_percent",
        ["number"],
    ),
    "negative-pv": (
        lambda: _edited(_set("slots.0.pv_forecast_kwh", -1.0)),
        "slots[0].pv_forecast_kwh",
        ["greater than or equal to 0", "-1"],
    ),
    "soc-above-100": (
        lambda: _edited(_set("state.soc_percent", 120.0)),
        "state.soc_percent",
        ["100"],
    ),
    "missing-slot-field": (
        lambda: _edited(_delete("slots.1.export_price_sek_per_kwh")),
        "slots[1].export_price_sek_per_kwh",
        ["required"],
    ),
    "missing-state": (lambda: _edited(_delete("state")), "state", ["required"]),
    "missing-timezone": (lambda: _edited(_delete("timezone")), "timezone", ["required"]),
    "empty-slots": (lambda: _edited(_set("slots", [])), "slots", ["at least 1"]),
    "naive-start": (
        lambda: _edited(_set("slots.0.start", "2026-03-10T00:00:00")),
        "slots[0].start",
        ["timezone"],
    ),
    "unknown-timezone": (
        lambda: _edited(_set("timezone", "Europe/Stockholmm")),
        "timezone",
        # the whole message, right after the field: no pydantic "value error, " prefix
        ["timezone: unknown IANA time zone 'Europe/Stockholmm'"],
    ),
    "quantile-crossing": (
        lambda: _edited(_set("slots.12.pv_p90_kwh", 0.0)),
        "slots[12].pv_p90_kwh",
        ["below pv_forecast_kwh"],
    ),
    "invalid-json": (lambda: '{"timezone": "Europe/Stockholm", ', "input", ["invalid JSON"]),
    "json-not-an-object": (lambda: "[1, 2, 3]", "request", ["JSON object"]),
    "config-value-out-of-range": (
        lambda: _edited(_set("config", {"battery": {"max_soc_percent": 120}})),
        "config.battery.max_soc_percent",
        ["<= 100", "120"],
    ),
    "config-unknown-section": (
        lambda: _edited(_set("config", {"batery": {"capacity_kwh": 9.0}})),
        "config.batery",
        ["did you mean 'battery'"],
    ),
    "config-unknown-key": (
        lambda: _edited(_set("config", {"battery": {"capacity": 9.0}})),
        "config.battery.capacity",
        ["did you mean 'capacity_kwh'"],
    ),
    "config-wrong-type": (
        lambda: _edited(_set("config", {"export": {"enable_export": "yes"}})),
        "config.export.enable_export",
        ["true or false"],
    ),
    "config-cross-field": (
        lambda: _edited(_set("config", {"battery": {"min_soc_percent": 96}})),
        "config.battery",
        ["min_soc_percent"],
    ),
    "config-not-a-mapping": (lambda: _edited(_set("config", [1])), "config", ["dictionary"]),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_plan_bad_request_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    make_text, field, needles = BAD_REQUESTS[case]
    result = _invoke(tmp_path, make_text())
    _assert_input_error(result, tmp_path, field, *needles)


def test_plan_unsorted_first_slots_say_sorted(tmp_path: Path) -> None:
    # Starts 00:00, 02:00, 01:00, 03:00, ...: the first step (2 h) is no allowed slot length,
    # but order is checked first; slot 2 (01:00) is the first not after its predecessor.
    result = _invoke(tmp_path, _edited(_swap_second_and_third))
    line = _assert_input_error(result, tmp_path, "slots[2].start", "sorted")
    assert line == "error: slots[2].start: slots must be sorted by start, without duplicates"


def test_plan_missing_input_file(tmp_path: Path) -> None:
    result = _invoke(tmp_path, None)
    _assert_input_error(result, tmp_path, "input", "file not found")


def test_plan_input_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "request.json").mkdir()
    result = _invoke(tmp_path, None)
    _assert_input_error(result, tmp_path, "input", "cannot read")


def test_plan_input_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "request.json").write_bytes(b'{"timezone": "\xff"}')
    _assert_input_error(_invoke(tmp_path, None), tmp_path, "input", "cannot read")


def test_plan_bad_mode(tmp_path: Path) -> None:
    result = _invoke(tmp_path, json.dumps(_valid_request()), "--mode", "turbo")
    _assert_input_error(result, tmp_path, "--mode", "'full' or 'baseline'", "'turbo'")


def test_plan_bad_config_file_value(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("battery:\n  capacity_kwh: -3  # oops\n", encoding="utf-8")
    result = _invoke(tmp_path, json.dumps(_valid_request()), "--config", str(config))
    _assert_input_error(result, tmp_path, "config.yaml.battery.capacity_kwh", ">= 0.1", "-3")


def test_plan_bad_config_file_yaml_syntax(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("battery: [\n", encoding="utf-8")
    result = _invoke(tmp_path, json.dumps(_valid_request()), "--config", str(config))
    _assert_input_error(result, tmp_path, str(config), "invalid YAML", "line 2")


def test_plan_bad_config_file_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("grid:\n  max_power: 16\n", encoding="utf-8")
    result = _invoke(tmp_path, json.dumps(_valid_request()), "--config", str(config))
    _assert_input_error(result, tmp_path, "config.yaml.grid.max_power", "'max_power_kw'")


def test_plan_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = _invoke(tmp_path, json.dumps(_valid_request()), "--config", str(missing))
    _assert_input_error(result, tmp_path, str(missing), "not found")


def test_plan_bad_request_keeps_the_previous_schedule(tmp_path: Path) -> None:
    (tmp_path / "schedule.json").write_text('{"old": true}\n', encoding="utf-8")
    result = _invoke(tmp_path, _nan_price())
    assert result.exit_code == 2
    assert (tmp_path / "schedule.json").read_text(encoding="utf-8") == '{"old": true}\n'


# --- valid requests -----------------------------------------------------------------------------


def _read_schedule(tmp_path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (tmp_path / "schedule.json").read_text(encoding="utf-8"),
        parse_constant=lambda name: pytest.fail(f"non-JSON constant {name} in schedule"),
    )
    return document


def test_plan_valid_request_writes_schedule(tmp_path: Path) -> None:
    request = _valid_request()
    result = _invoke(tmp_path, json.dumps(request))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("optimal: 24 slots")
    assert str(tmp_path / "schedule.json") in result.stdout
    document = _read_schedule(tmp_path)
    meta, rows = document["meta"], document["schedule"]
    assert set(meta) >= META_FIELDS
    assert meta["status"] == "optimal"
    assert meta["mode"] == "full"
    assert meta["schema_version"] == 1
    assert len(rows) == 24
    for row in rows:
        assert set(row) >= ROW_FIELDS
    assert rows[0]["start"] == "2026-03-10T00:00:00+01:00"
    assert rows[-1]["end"] == "2026-03-11T00:00:00+01:00"
    assert [r["import_price_sek_per_kwh"] for r in rows] == [
        s["import_price_sek_per_kwh"] for s in request["slots"]
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.json", "schedule.json"]


def test_plan_mode_baseline_is_recorded(tmp_path: Path) -> None:
    request = _valid_request()
    result = _invoke(tmp_path, json.dumps(request), "--mode", "baseline")
    assert result.exit_code == 0, result.output
    meta = _read_schedule(tmp_path)["meta"]
    assert meta["mode"] == "baseline"
    assert meta["target_soc_percent"] is None
    rows = _read_schedule(tmp_path)["schedule"]
    assert [r["adjusted_load_kwh"] for r in rows] == [
        s["load_forecast_kwh"] for s in request["slots"]
    ]


def test_plan_config_file_applies_and_request_config_wins(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "# my house\nbattery:\n  capacity_kwh: 20.0\ngrid:\n  max_power_kw: 16.0\n",
        encoding="utf-8",
    )

    def capacity_kwh(request: dict[str, Any]) -> float:
        result = _invoke(tmp_path, json.dumps(request), "--config", str(config))
        assert result.exit_code == 0, result.output
        row = _read_schedule(tmp_path)["schedule"][0]
        return float(row["projected_soc_kwh"] / row["projected_soc_percent"] * 100.0)

    assert capacity_kwh(_valid_request()) == pytest.approx(20.0, rel=1e-4)
    request = _valid_request()
    request["config"]["battery"] = {"capacity_kwh": 15.0}
    assert capacity_kwh(request) == pytest.approx(15.0, rel=1e-4)


def test_plan_short_options_and_nested_output(tmp_path: Path) -> None:
    request_path = tmp_path / "request.json"
    request_path.write_text(json.dumps(_valid_request()), encoding="utf-8")
    output = tmp_path / "out" / "dir" / "schedule.json"
    output.parent.mkdir(parents=True)  # the folder must exist (tests/test_cli_hardening.py)
    result = CliRunner().invoke(app, ["plan", "-i", str(request_path), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["meta"]["status"] == "optimal"


# --- a real subprocess ----------------------------------------------------------------------------


def _run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-m", "darkstar", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_plan_subprocess_valid_and_invalid(tmp_path: Path) -> None:
    example = example_request_paths()[0]
    output = tmp_path / "schedule.json"
    ok = _run_module(
        "plan", "--input", str(example), "--output", str(output), "--mode", "baseline", cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr
    # stdout is exactly the one summary line: no HiGHS banner, no log noise.
    assert ok.stdout.count("\n") == 1
    assert ok.stdout.startswith("optimal: ")
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["meta"]["status"] == "optimal"
    assert document["meta"]["mode"] == "baseline"
    assert set(document["meta"]) >= META_FIELDS

    bad = tmp_path / "bad.json"
    bad.write_text(_nan_price(), encoding="utf-8")
    output.unlink()
    failed = _run_module("plan", "--input", str(bad), "--output", str(output), cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.splitlines() == [
        "error: slots[5].import_price_sek_per_kwh: must be a finite number, got nan"
    ]
    assert not output.exists()


def test_plan_warnings_go_to_stderr(tmp_path: Path) -> None:
    # A real process: the warning comes from logging (set up by the CLI on stderr), which
    # pytest's own log capture would swallow in-process. The default 3 kW element can heat
    # 24 h x 3 kW = 72 kWh of the 200 kWh quota: short by 200 - 72 = 128 kWh.
    request = _valid_request()
    request["config"] = {"water_heating": {"min_kwh_per_day": 200.0, "defer_up_to_hours": 0}}
    request_path = tmp_path / "request.json"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    output = tmp_path / "schedule.json"
    result = _run_module(
        "plan", "--input", str(request_path), "--output", str(output), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    warning = "water_heating: quota for 2026-03-10 short by 128.00 kWh (required 200.00 kWh)"
    assert result.stderr.splitlines() == [f"WARNING darkstar.planner.pipeline: {warning}"]
    assert result.stderr.count("short by") == 1
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith("optimal: 24 slots")
    assert _read_schedule(tmp_path)["meta"]["warnings"] == [warning]


def test_plan_subprocess_unknown_key_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(_edited(_set("slots.2.load_forecast", 0.5)), encoding="utf-8")
    failed = _run_module("plan", "--input", str(bad), cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [
        "error: slots[2].load_forecast: unknown key; did you mean 'load_forecast_kwh'?"
    ]
    missing = _run_module("plan", "--input", str(tmp_path / "nope.json"), cwd=tmp_path)
    assert missing.returncode == 2
    assert len(missing.stderr.splitlines()) == 1
    assert missing.stderr.startswith("error: input: file not found")
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "schedule.json").exists()
