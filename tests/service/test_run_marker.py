"""The marker that tells a clean stop from a kill."""

from __future__ import annotations

from typing import TYPE_CHECKING

from darkstar.service.run_marker import RUN_MARKER, begin_run, end_run

if TYPE_CHECKING:
    from pathlib import Path


def test_run_marker_clean_stop_says_nothing(tmp_path: Path) -> None:
    assert begin_run(tmp_path) is None
    assert (tmp_path / RUN_MARKER).exists()
    end_run(tmp_path)
    assert not (tmp_path / RUN_MARKER).exists()
    assert begin_run(tmp_path) is None


def test_run_marker_left_behind_is_an_unclean_stop_and_strays_go(tmp_path: Path) -> None:
    assert begin_run(tmp_path) is None  # ... then killed: no end_run
    (tmp_path / ".schedule.json.x1y2.tmp").write_text('{"me', encoding="utf-8")
    (tmp_path / "schedule.json").write_text("{}", encoding="utf-8")
    note = begin_run(tmp_path)
    assert note is not None
    assert "did not stop cleanly" in note
    assert note.endswith("; 1 unfinished temp file(s) removed")
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_MARKER, "schedule.json"]
