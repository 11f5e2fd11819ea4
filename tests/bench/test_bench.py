"""Tests for the benchmarks in ``darkstar.bench`` (solver speed and plan cost)."""

from __future__ import annotations

import io
import json
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from rich.console import Console

from darkstar.bench import (
    print_planner_bench,
    print_solver_bench,
    run_planner_bench,
    run_solver_bench,
)
from darkstar.bench.solver import BASE_EXAMPLES, build_bench_request
from darkstar.errors import InputError
from darkstar.examples import example_request_paths, read_example_request

if TYPE_CHECKING:
    from pathlib import Path

COST_TOL_SEK = 1e-6


def _recording_console() -> Console:
    return Console(file=io.StringIO(), width=200, record=True)


def test_run_solver_bench_small_rows_sane() -> None:
    rows = run_solver_bench(slot_counts=[24], repeats=2, mip_gap=0.001)
    assert [(r.n_slots, r.config) for r in rows] == [
        (24, "water"),
        (24, "no water"),
        (24, "water+ev+peak"),
    ]
    water, _, full = rows
    assert full.n_variables > water.n_variables  # the car and the peak rows are there
    for row in rows:
        assert row.n_instances == 2
        assert row.status_counts == {"optimal": 2}
        assert row.max_mip_gap_frac <= 0.001 + 1e-12
        assert 0.0 < row.median_solve_ms <= row.p95_solve_ms <= row.max_solve_ms
        assert row.n_variables > 0
        assert row.n_constraints > 0
        assert row.price_noise_frac == 0.0
        assert row.slowest.startswith(BASE_EXAMPLES)


def test_run_solver_bench_stress_prices_still_optimal() -> None:
    rows = run_solver_bench(slot_counts=[16], repeats=1, mip_gap=0.01, price_noise_frac=0.5)
    assert all(r.status_counts == {"optimal": 1} for r in rows)
    assert all(r.price_noise_frac == 0.5 for r in rows)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"slot_counts": [], "repeats": 1}, "sizes"),
        ({"slot_counts": [0], "repeats": 1}, "sizes"),
        ({"slot_counts": [8], "repeats": 0}, "repeats"),
        ({"slot_counts": [8], "repeats": 1, "price_noise_frac": 1.5}, "price_noise_frac"),
    ],
)
def test_run_solver_bench_bad_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        run_solver_bench(mip_gap=0.001, **kwargs)
    assert info.value.field == field


def test_build_bench_request_randomises_within_bounds() -> None:
    base = read_example_request(BASE_EXAMPLES[0])
    request = build_bench_request(base, n_slots=288, rng=np.random.default_rng(1))
    slots = request["slots"]
    assert len(slots) == 288
    assert 10.0 <= request["state"]["soc_percent"] <= 90.0
    assert 0.0 <= request["state"]["water_heated_today_kwh"] <= 6.0
    assert request["config"] == base["config"]
    assert request["config"] is not base["config"]
    starts = [s["start"] for s in slots]
    assert len(set(starts)) == len(starts)
    base_prices = {s["import_price_sek_per_kwh"] for s in base["slots"]}
    assert all(s["import_price_sek_per_kwh"] in base_prices for s in slots)
    same = build_bench_request(base, n_slots=288, rng=np.random.default_rng(1))
    assert same == request


def test_build_bench_request_load_noise_and_price_noise() -> None:
    base = read_example_request(BASE_EXAMPLES[1])
    plain = build_bench_request(base, n_slots=96, rng=np.random.default_rng(7))
    stressed = build_bench_request(
        base, n_slots=96, rng=np.random.default_rng(7), price_noise_frac=0.3
    )
    by_start = {s["start"]: s for s in base["slots"]}
    for p, s in zip(plain["slots"], stressed["slots"], strict=True):
        ref = by_start[p["start"]]
        ratio = p["load_forecast_kwh"] / ref["load_forecast_kwh"]
        assert 0.8 - 1e-4 <= ratio <= 1.2 + 1e-4
        assert p["import_price_sek_per_kwh"] == ref["import_price_sek_per_kwh"]
        price_ratio = s["import_price_sek_per_kwh"] / ref["import_price_sek_per_kwh"]
        assert 0.7 - 1e-4 <= price_ratio <= 1.3 + 1e-4


def test_print_solver_bench_title_names_machine_and_highs() -> None:
    rows = run_solver_bench(slot_counts=[8], repeats=1, mip_gap=0.001)
    console = _recording_console()
    print_solver_bench(rows, console=console)
    text = console.export_text()
    assert "CPUs, HiGHS" in text
    assert "no water" in text


def test_run_planner_bench_kepler_never_worse() -> None:
    rows = run_planner_bench()
    assert [r.example for r in rows] == [p.stem for p in example_request_paths()]
    for row in rows:
        assert row.status == "optimal"
        assert row.kepler_cost_sek <= row.heuristic_cost_sek + COST_TOL_SEK, row.example
        assert row.kepler_cost_sek <= row.do_nothing_cost_sek + COST_TOL_SEK, row.example
        assert row.kepler_savings_sek == pytest.approx(
            row.do_nothing_cost_sek - row.kepler_cost_sek
        )


def test_run_planner_bench_folder(tmp_path: Path) -> None:
    source = example_request_paths()[0]
    shutil.copy(source, tmp_path / "day.json")
    (tmp_path / "notes.txt").write_text("not a request", encoding="utf-8")
    rows = run_planner_bench(tmp_path)
    assert [r.example for r in rows] == ["day"]
    console = _recording_console()
    print_planner_bench(rows, console=console)
    assert "day" in console.export_text()


def test_run_planner_bench_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no \\*.json"):
        run_planner_bench(tmp_path)


def test_run_planner_bench_invalid_request_names_file(tmp_path: Path) -> None:
    request = json.loads(example_request_paths()[0].read_text(encoding="utf-8"))
    request["state"]["soc_percent"] = 140.0
    (tmp_path / "bad.json").write_text(json.dumps(request), encoding="utf-8")
    with pytest.raises(InputError) as info:
        run_planner_bench(tmp_path)
    assert info.value.field.startswith("bad: state.soc_percent")
