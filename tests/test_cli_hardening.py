"""Hostile inputs and outputs of ``darkstar plan``: every one is a user error (exit 2).

Each case here once ended in a traceback, exit 1 or a silently wrong result: ``--output``
replacing a FIFO or a symlink with a regular file (or a device, in the field: ``/dev/full``
became a file) and creating missing folders; an output that is a directory or under
``/proc``; ``1e308`` kWh in a slot overflowing the energy balance; a request nested 100,000
levels deep exhausting the recursion limit of ``json.loads``; a ``config.yaml`` whose YAML
parser recursed the same way. The contract is that of ``tests/test_cli.py``: exit 2, one
stderr line ``error: <field>: <message>``, no traceback, nothing written.

Devices are never used as targets here: a regression would replace them on the test host.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.examples import build_request, example_request_paths
from darkstar.jsonlimits import MAX_JSON_DEPTH

DEEP = 100_000


def _request() -> dict[str, Any]:
    """A valid day of hourly slots."""
    return build_request(
        import_prices=[1.0 + 0.1 * (i % 5) for i in range(24)],
        export_prices=[0.3] * 24,
        pv_kwh=[max(0.0, 2.0 - abs(i - 12) * 0.4) for i in range(24)],
        load_kwh=[0.6] * 24,
        soc_percent=40.0,
        config={"water_heating": {"defer_up_to_hours": 0}},
    )


def _plan(tmp_path: Path, output: Path, request_text: str | None = None, *extra: str) -> Any:
    request_path = tmp_path / "request.json"
    request_path.write_text(request_text or json.dumps(_request()), encoding="utf-8")
    args = ["plan", "--input", str(request_path), "--output", str(output), *extra]
    return CliRunner().invoke(app, args)


def _one_error_line(result: Any, field: str, *needles: str) -> str:
    """Exit 2 and exactly one stderr line ``error: <field>: ...`` holding ``needles``."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines: list[str] = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


# --- --output: special files, symlinks, missing folders ---------------------------------------


def test_plan_output_fifo_is_refused_and_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _one_error_line(_plan(tmp_path, fifo), "output", str(fifo), "FIFO", "not replaced")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_plan_output_socket_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        _one_error_line(_plan(tmp_path, path), "output", str(path), "socket")
    assert stat.S_ISSOCK(path.lstat().st_mode)


def test_plan_output_directory_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    _one_error_line(_plan(tmp_path, folder), "output", str(folder), "directory")
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_plan_output_in_missing_folder_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    output = tmp_path / "missing" / "deeper" / "schedule.json"
    line = _one_error_line(_plan(tmp_path, output), "output", str(output))
    assert f"folder {output.parent} does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_plan_output_under_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    output = tmp_path / "file" / "schedule.json"
    _one_error_line(_plan(tmp_path, output), "output", str(output), "is not a folder")


def test_plan_output_symlink_writes_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real" / "schedule.json"
    real.parent.mkdir()
    real.write_text("{}", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(Path("real") / "schedule.json")  # relative, as users make them
    result = _plan(tmp_path, link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8"))["meta"]["status"] == "optimal"
    assert sorted(p.name for p in real.parent.iterdir()) == ["schedule.json"]  # no temp left


def test_plan_output_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    real = tmp_path / "schedule.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert _plan(tmp_path, link).exit_code == 0
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8"))["schedule"]


def test_plan_output_symlink_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    _one_error_line(_plan(tmp_path, link), "output", str(link), str(fifo), "FIFO")
    assert link.is_symlink()
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_plan_output_symlink_loop_is_an_error(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    _one_error_line(_plan(tmp_path, loop), "output", str(loop))
    assert loop.is_symlink()


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")
@pytest.mark.parametrize("output", ["/proc/version", "/proc/nonexistent/x"])
def test_plan_output_under_proc_exits_2(tmp_path: Path, output: str) -> None:
    _one_error_line(_plan(tmp_path, Path(output)), "output", output)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores modes")
def test_plan_output_in_read_only_folder_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        output = folder / "schedule.json"
        _one_error_line(_plan(tmp_path, output), "output", str(output), "Permission denied")
    finally:
        folder.chmod(0o755)


# --- values outside physical sense ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "slot_key", "value"),
    [
        ("slots[3].load_forecast_kwh", "load_forecast_kwh", 1e308),
        ("slots[3].pv_forecast_kwh", "pv_forecast_kwh", 1e308),
        ("slots[3].pv_p90_kwh", "pv_p90_kwh", 1e308),
        ("slots[3].load_p10_kwh", "load_p10_kwh", 1e308),
        ("slots[3].import_price_sek_per_kwh", "import_price_sek_per_kwh", 1e308),
        ("slots[3].export_price_sek_per_kwh", "export_price_sek_per_kwh", -1e308),
        ("slots[3].load_forecast_kwh", "load_forecast_kwh", 1000.5),
        ("slots[3].import_price_sek_per_kwh", "import_price_sek_per_kwh", -1000.5),
    ],
)
def test_plan_refuses_values_outside_physical_bounds(
    tmp_path: Path, field: str, slot_key: str, value: float
) -> None:
    request = _request()
    request["slots"][3][slot_key] = value
    output = tmp_path / "schedule.json"
    _one_error_line(_plan(tmp_path, output, json.dumps(request)), field, "1000")
    assert not output.exists()


def test_plan_refuses_absurd_water_heated_today(tmp_path: Path) -> None:
    request = _request()
    request["state"]["water_heated_today_kwh"] = 1e308
    _one_error_line(
        _plan(tmp_path, tmp_path / "s.json", json.dumps(request)), "state.water_heated_today_kwh"
    )


def test_plan_accepts_values_at_the_bounds(tmp_path: Path) -> None:
    request = _request()
    for slot in request["slots"]:
        slot["load_forecast_kwh"] = slot["pv_forecast_kwh"] = 1000.0
    request["slots"][0]["import_price_sek_per_kwh"] = 1000.0
    request["slots"][1]["export_price_sek_per_kwh"] = -1000.0
    output = tmp_path / "schedule.json"
    result = _plan(tmp_path, output, json.dumps(request))
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["schedule"]


@pytest.mark.parametrize("path", example_request_paths(), ids=lambda p: p.stem)
def test_plan_bundled_examples_still_plan(tmp_path: Path, path: Path) -> None:
    output = tmp_path / "schedule.json"
    result = CliRunner().invoke(app, ["plan", "-i", str(path), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["schedule"]


# --- deep nesting ----------------------------------------------------------------------------


def test_plan_input_nested_100000_deep_exits_2(tmp_path: Path) -> None:
    text = "[" * DEEP + "]" * DEEP
    line = _one_error_line(_plan(tmp_path, tmp_path / "s.json", text), "input")
    assert line == f"error: input: nested deeper than {MAX_JSON_DEPTH} levels"


def test_plan_request_config_nested_100000_deep_exits_2(tmp_path: Path) -> None:
    text = json.dumps(_request())[:-1] + ', "deep": {"a": ' + "[" * DEEP + "]" * DEEP + "}}"
    _one_error_line(_plan(tmp_path, tmp_path / "s.json", text), "input", "nested deeper")


def test_plan_request_within_the_limit_gets_a_field_error(tmp_path: Path) -> None:
    # Nested, but not too deep: the request model names the bad key as usual.
    request = _request()
    request["config"]["battery"] = {"capacity_kwh": [[[[1.0]]]]}
    _one_error_line(
        _plan(tmp_path, tmp_path / "s.json", json.dumps(request)),
        "config.battery.capacity_kwh",
        "number",
    )


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        pytest.param("battery: " + "[" * DEEP + "]" * DEEP + "\n", "{path}", id="parser-recursion"),
        pytest.param(
            "battery:\n  x: " + "[" * 100 + "]" * 100 + "\n", "deep.yaml.battery", id="100"
        ),
    ],
)
def test_plan_deep_config_file_exits_2(tmp_path: Path, yaml_text: str, field: str) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text(yaml_text, encoding="utf-8")
    result = _plan(tmp_path, tmp_path / "s.json", None, "--config", str(config))
    _one_error_line(result, field.format(path=config), f"nested deeper than {MAX_JSON_DEPTH}")
