"""The Reflex drift histories run end to end (shortened): the faded house's battery really
is smaller than the configured one, Reflex runs three times, the comments survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkstar.simulation.reflex_drift import (
    CAPACITY_FADE_FRAC,
    DRIFT_CONFIG_TEXT,
    Drift,
    comment_lines,
    simulated_drift_histories,
)


def test_comment_lines_finds_whole_line_and_end_of_line_comments() -> None:
    assert comment_lines("# a\nkey: 1  # b\nother: 2\n") == ["# a", "# b"]
    assert len(comment_lines(DRIFT_CONFIG_TEXT)) == 8


def test_simulated_drift_histories_capacity_fade_two_days(tmp_path: Path) -> None:
    days: list[int] = []
    runs = simulated_drift_histories(
        tmp_path,
        days=2,
        drifts=[Drift.CAPACITY_FADE],
        on_day=lambda _drift, day: days.append(day),
    )
    run = runs[Drift.CAPACITY_FADE]
    assert days == [1, 2]
    assert [a.analyzer.value for a in run.dry] == ["safety", "confidence", "roi", "capacity"]
    capacity = run.dry[3].signal
    realised = capacity["soc_energy_kwh"] / (capacity["depth_percent"] / 100)
    assert realised == pytest.approx(10.0 * (1 - CAPACITY_FADE_FRAC), rel=0.02)
    assert run.again.applied == {}
    assert run.comments_kept
    assert run.config_path == tmp_path / "capacity_fade" / "config.yaml"
