"""Tests for ``darkstar demo`` (``darkstar.demo.run_demo``)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from rich.console import Console

from darkstar.demo import run_demo
from darkstar.examples import example_request_paths, read_example_request
from darkstar.planner.output.schedule import check_schedule

if TYPE_CHECKING:
    from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_run_demo_writes_schedule_and_chart_per_example(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    results = run_demo(tmp_path, console=console)
    names = [p.stem for p in example_request_paths()]
    assert [r.example for r in results] == names
    text = console.export_text()
    for name in names:
        schedule_path = tmp_path / name / "schedule.json"
        chart_path = tmp_path / name / "plan.png"
        document = json.loads(schedule_path.read_text(encoding="utf-8"))
        meta, rows = document["meta"], document["schedule"]
        assert meta["schema_version"] == 1
        assert meta["mode"] == "full"
        assert meta["status"] in {"optimal", "feasible", "fallback"}
        assert len(rows) == len(read_example_request(name)["slots"])
        check_schedule(rows, slot_h=meta["slot_minutes"] / 60.0)
        png = chart_path.read_bytes()
        assert png.startswith(PNG_MAGIC)
        assert len(png) > 10_000
        assert name in text
        assert str(chart_path) in text
    for result in results:
        assert result.costs.kepler_cost_sek <= result.costs.do_nothing_cost_sek + 1e-6
