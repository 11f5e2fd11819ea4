"""``darkstar plan --debug-output PATH``: the planner debug document beside the schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.examples import build_request


def _request() -> dict[str, Any]:
    return build_request(
        import_prices=[1.0, 2.0, 1.5, 3.0],
        export_prices=[0.3] * 4,
        pv_kwh=[0.0] * 4,
        load_kwh=[0.6] * 4,
        soc_percent=40.0,
        slot_minutes=60,
        config={"system": {"has_water_heater": False}},
    )


def _no_constant(name: str) -> Any:
    raise AssertionError(f"non-JSON constant {name} in the debug document")


def _plan(tmp_path: Path, *extra: str) -> Any:
    request_path = tmp_path / "request.json"
    request_path.write_text(json.dumps(_request()), encoding="utf-8")
    args = ["plan", "--input", str(request_path), "--output", str(tmp_path / "schedule.json")]
    return CliRunner().invoke(app, [*args, *extra])


def test_plan_debug_output_writes_the_document(tmp_path: Path) -> None:
    plain = _plan(tmp_path)
    assert plain.exit_code == 0, plain.output
    debug_path = tmp_path / "planner_debug.json"
    result = _plan(tmp_path, "--debug-output", str(debug_path))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    # stdout is the same one line as without the option (only the timing may differ)
    assert result.stdout.split(", solved in")[0] == plain.stdout.split(", solved in")[0]
    document = json.loads(debug_path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    schedule = json.loads((tmp_path / "schedule.json").read_text(encoding="utf-8"))
    assert document["planned_at"] == schedule["meta"]["planned_at"]
    assert document["slot_starts"] == [row["start"] for row in schedule["schedule"]]
    assert len(document["marginal_value_sek_per_kwh"]) == 4
    assert document["solver"]["termination"] == "Optimal"


def test_plan_without_debug_output_writes_no_debug_file(tmp_path: Path) -> None:
    assert _plan(tmp_path).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["request.json", "schedule.json"]


def test_plan_debug_output_in_a_missing_folder_names_the_option(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "planner_debug.json"
    result = _plan(tmp_path, "--debug-output", str(target))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: --debug-output: {target}: folder ")
    assert "does not exist" in lines[0]
    assert not (tmp_path / "schedule.json").exists()  # nothing written on a user error
