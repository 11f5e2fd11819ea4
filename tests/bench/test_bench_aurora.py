"""Tests for ``darkstar.bench.aurora`` (Aurora's training and inference bench)."""

from __future__ import annotations

import io
import math
from datetime import timedelta

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from darkstar.aurora.corrector import Stage
from darkstar.aurora.forecaster import TRAIN_MAX_HORIZON
from darkstar.aurora.models import TargetMode, TrainingParams
from darkstar.bench.aurora import (
    INFERENCE_SLOTS,
    PASS_RUN_HOURS_UTC,
    AuroraBenchResult,
    print_aurora_bench,
    run_aurora_bench,
)
from darkstar.cli import app
from darkstar.errors import InputError

DAYS = 20
TINY = TrainingParams(num_boost_round=25, num_leaves=15, min_data_in_leaf=20)
SLOT = pd.Timedelta(minutes=15)


@pytest.fixture(scope="module")
def result() -> AuroraBenchResult:
    return run_aurora_bench(days=DAYS, repeats=2, params=TINY)


def test_run_aurora_bench_issues_every_12_hours(result: AuroraBenchResult) -> None:
    times = [pd.Timestamp(t) for t in result.issue_times]
    start = pd.Timestamp("2017-12-31 23:00", tz="UTC")  # local 2018-01-01 00:00
    assert times[0] == pd.Timestamp("2018-01-01 05:00", tz="UTC")  # 00 UTC run + 5 h
    assert all(b - a == pd.Timedelta(hours=12) for a, b in zip(times, times[1:], strict=False))
    assert all((t - pd.Timedelta(hours=5)).hour in PASS_RUN_HOURS_UTC for t in times)
    end = start + pd.Timedelta(days=DAYS)
    assert times[-1] < end <= times[-1] + pd.Timedelta(hours=12)
    assert len(result.issue_ms) == len(times) == 2 * DAYS
    assert result.n_slots == 96 * DAYS


def test_run_aurora_bench_rows_counted_as_kept(result: AuroraBenchResult) -> None:
    end = pd.Timestamp("2017-12-31 23:00", tz="UTC") + pd.Timedelta(days=DAYS)
    # every issue keeps its targets under 48 h ahead that lie in the data
    expected = sum(
        (min(pd.Timestamp(t) + TRAIN_MAX_HORIZON, end) - pd.Timestamp(t)) // SLOT
        for t in result.issue_times
    )
    assert result.training.rows == {"pv": expected, "load": expected}
    assert [f.target for f in result.fits] == ["pv", "load"]
    assert all(f.kept_rows == expected for f in result.fits)
    assert result.training.at == end.to_pydatetime()


def test_run_aurora_bench_stages_valid(result: AuroraBenchResult) -> None:
    stages = {s.value for s in Stage}
    modes = {m.value for m in TargetMode}
    for fit in result.fits:
        assert fit.stage == Stage.MODEL  # 20 days of history allow the model
        assert fit.used in stages
        assert fit.used == result.training.used[fit.target]
        assert fit.mode in modes  # validated: a mode won among the candidates
        if fit.used == Stage.MODEL:
            assert 0 < fit.model_rows <= fit.kept_rows
        else:
            assert fit.model_rows == 0


def test_run_aurora_bench_inference_seven_days(result: AuroraBenchResult) -> None:
    assert result.inference_slots == INFERENCE_SLOTS == 672
    at = pd.Timestamp(result.inference_at)
    assert at == at.floor("6h")  # a run's nominal time
    end = result.training.at
    assert at + INFERENCE_SLOTS * SLOT <= pd.Timestamp(end)
    assert pd.Timestamp(end) - (at + INFERENCE_SLOTS * SLOT) < timedelta(hours=6)
    assert len(result.inference_ms) == len(result.inference_live_ms) == 2


def test_run_aurora_bench_timings_positive_finite(result: AuroraBenchResult) -> None:
    values = [
        result.setup_s,
        result.training.seconds,
        *result.issue_ms,
        *result.inference_ms,
        *result.inference_live_ms,
    ]
    assert all(math.isfinite(v) and v > 0.0 for v in values)
    assert result.features_s == pytest.approx(sum(result.issue_ms) / 1000.0)
    assert result.cpu_count is None or result.cpu_count >= 1


def test_print_aurora_bench_table(result: AuroraBenchResult) -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    print_aurora_bench(result, console=console)
    text = console.export_text()
    assert "CPUs, LightGBM" in text
    assert f"{2 * DAYS} issues" in text
    assert f"{INFERENCE_SLOTS} slots" in text
    assert "< 60 s" in text
    assert "< 1 s" in text
    assert f"pv {result.training.rows['pv']}" in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"repeats": 0}, "repeats"),
        ({"days": 7}, "days"),
        ({"days": 400}, "days"),
        ({"load_profile": "nope"}, "profile"),
    ],
)
def test_run_aurora_bench_bad_arguments(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        run_aurora_bench(params=TINY, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_cli_bench_aurora_help() -> None:
    outcome = CliRunner().invoke(app, ["bench", "aurora", "--help"])
    assert outcome.exit_code == 0
    for option in ("--load", "--repeats", "--seed"):
        assert option in outcome.output


def test_cli_bench_aurora_bad_repeats_one_line() -> None:
    outcome = CliRunner().invoke(app, ["bench", "aurora", "--repeats", "0"])
    assert outcome.exit_code == 2
    assert outcome.stderr == "error: --repeats: must be >= 1, got 0\n"
    assert "Traceback" not in outcome.output
