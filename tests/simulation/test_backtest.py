"""Tests of the closed-loop backtest (``simulation/backtest.py``) on real SE4 2018 data.

``run_loop`` always starts at slot 0 of the :class:`YearData` it is given (the house starts
at ``index[0]`` at the minimum SoC), so the windows below are :class:`YearData` slices
that start at a local midnight. Each slice carries four days after the window: prices are
known at most to the end of tomorrow and persistence adds two more days, so the planner
sees the same horizon as in a full-year run. Loop results are cached per module.

The default battery: 10 kWh, SoC 10-95 % (1.0-9.5 kWh), 5 kW each way, efficiencies
0.95, wear 0.2 SEK/kWh each way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.config import parse_config
from darkstar.config.models import DarkstarConfig
from darkstar.errors import InputError
from darkstar.planner.solver import kepler
from darkstar.planner.solver.types import KeplerInput, KeplerResult
from darkstar.simulation import backtest
from darkstar.simulation.backtest import (
    BacktestSpec,
    ForecastKind,
    LoopResult,
    PriceHorizon,
    TerminalPolicy,
    known_price_end,
    perfect_foresight,
    run_backtest,
    run_loop,
)
from darkstar.simulation.datasets import YearData, load_year
from darkstar.simulation.report import _total_cost, strategy_metrics

TZ_NAME = "Europe/Stockholm"
TZ = ZoneInfo(TZ_NAME)
H = 0.25
KW_TOL = 1e-6
KWH_TOL = 1e-6
SEK_TOL = 1e-6
MIN_SOC_KWH = 1.0
MAX_SOC_KWH = 9.5
WEAR_SEK_PER_KWH = 0.2
#: Days after a window kept in its slice (tomorrow's prices + two persistence days + 1).
LOOKAHEAD_DAYS = 4

#: Windows: local start date and length in days (the DST windows hold a 23 h / 25 h day).
WINDOWS = {
    "jan": (date(2018, 1, 1), 7),
    "mar_dst": (date(2018, 3, 24), 3),
    "jul": (date(2018, 7, 1), 3),
    "oct_dst": (date(2018, 10, 27), 3),
}
PERFECT = BacktestSpec()
NOISY_SEED_1 = BacktestSpec(forecast=ForecastKind.NOISY, seed=1)

Window = tuple[YearData, int]
Loop = Callable[..., tuple[LoopResult, YearData, int]]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _slot_of(year: YearData, day: date) -> int:
    start = pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=TZ)).tz_convert("UTC")
    return int(year.index.get_loc(start))


def _slice(year: YearData, first: int, end: int) -> YearData:
    parts: dict[str, Any] = {
        f.name: getattr(year, f.name)
        if f.name == "station"
        else getattr(year, f.name).iloc[first:end]
        for f in fields(year)
    }
    return YearData(**parts)


def _window(year: YearData, start: date, days: int) -> Window:
    """The slice from local midnight ``start`` and the window's slot count."""
    first = _slot_of(year, start)
    n_slots = _slot_of(year, start + timedelta(days=days)) - first
    end = _slot_of(year, start + timedelta(days=days + LOOKAHEAD_DAYS))
    return _slice(year, first, end), n_slots


@pytest.fixture(scope="module")
def year() -> YearData:
    return load_year(area="SE4", year=2018)


@pytest.fixture(scope="module")
def cfg() -> DarkstarConfig:
    return parse_config(
        {
            "battery": {
                "capacity_kwh": 10.0,
                "min_soc_percent": 10.0,
                "max_soc_percent": 95.0,
                "max_charge_kw": 5.0,
                "max_discharge_kw": 5.0,
                "charge_efficiency": 0.95,
                "discharge_efficiency": 0.95,
            },
            "battery_economics": {"battery_cycle_cost_kwh": WEAR_SEK_PER_KWH},
        }
    )


@pytest.fixture(scope="module")
def windows(year: YearData) -> dict[str, Window]:
    return {name: _window(year, start, days) for name, (start, days) in WINDOWS.items()}


@pytest.fixture(scope="module")
def loop(windows: dict[str, Window], cfg: DarkstarConfig) -> Loop:
    """``loop(window, strategy, spec)``: the cached loop result, its slice and slot count."""
    cache: dict[tuple[str, str, BacktestSpec], LoopResult] = {}

    def run(
        window: str, strategy: str, spec: BacktestSpec = PERFECT
    ) -> tuple[LoopResult, YearData, int]:
        data, n_slots = windows[window]
        key = (window, strategy, spec)
        if key not in cache:
            if strategy == "perfect_foresight":
                cache[key] = perfect_foresight(data, cfg, n_slots=n_slots, timezone=TZ_NAME)
            else:
                cache[key] = run_loop(
                    data, cfg, spec, strategy=strategy, n_slots=n_slots, timezone=TZ_NAME
                )
        return cache[key], data, n_slots

    return run


# --- known_price_end ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # CEST (UTC+2): 12:00 local, before publication -> end of today
        pytest.param(_utc(2018, 5, 1, 10), _utc(2018, 5, 1, 22), id="before_13_summer"),
        pytest.param(_utc(2018, 5, 1, 10, 45), _utc(2018, 5, 1, 22), id="12_45_summer"),
        pytest.param(_utc(2018, 5, 1, 11), _utc(2018, 5, 2, 22), id="exactly_13_summer"),
        pytest.param(_utc(2018, 5, 1, 21, 45), _utc(2018, 5, 2, 22), id="23_45_summer"),
        pytest.param(_utc(2018, 5, 1, 22), _utc(2018, 5, 2, 22), id="local_midnight_summer"),
        # CET (UTC+1)
        pytest.param(_utc(2018, 1, 15, 11, 59), _utc(2018, 1, 15, 23), id="12_59_winter"),
        pytest.param(_utc(2018, 1, 15, 12), _utc(2018, 1, 16, 23), id="exactly_13_winter"),
        pytest.param(_utc(2018, 12, 31, 12), _utc(2019, 1, 1, 23), id="after_13_new_year"),
        # 2018-03-25 has 23 h (02:00 CET -> 03:00 CEST); its end is 22:00 UTC
        pytest.param(_utc(2018, 3, 24, 11, 45), _utc(2018, 3, 24, 23), id="day_before_spring"),
        pytest.param(_utc(2018, 3, 24, 12), _utc(2018, 3, 25, 22), id="13_before_spring_dst"),
        pytest.param(_utc(2018, 3, 25, 0, 30), _utc(2018, 3, 25, 22), id="spring_dst_night"),
        pytest.param(_utc(2018, 3, 25, 10, 45), _utc(2018, 3, 25, 22), id="spring_dst_12_45"),
        pytest.param(_utc(2018, 3, 25, 11), _utc(2018, 3, 26, 22), id="spring_dst_13"),
        # 2018-10-28 has 25 h (03:00 CEST -> 02:00 CET); its end is 23:00 UTC
        pytest.param(_utc(2018, 10, 27, 11), _utc(2018, 10, 28, 23), id="13_before_fall_dst"),
        pytest.param(_utc(2018, 10, 28, 0, 30), _utc(2018, 10, 28, 23), id="fall_02_30_first"),
        pytest.param(_utc(2018, 10, 28, 1, 30), _utc(2018, 10, 28, 23), id="fall_02_30_second"),
        pytest.param(_utc(2018, 10, 28, 11, 45), _utc(2018, 10, 28, 23), id="fall_dst_12_45"),
        pytest.param(_utc(2018, 10, 28, 12), _utc(2018, 10, 29, 23), id="fall_dst_13"),
    ],
)
def test_known_price_end_dayahead(now: datetime, expected: datetime) -> None:
    end = known_price_end(now, tz=TZ, horizon=PriceHorizon.DAYAHEAD)
    assert end == expected
    assert end.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("day_start", "now", "hours"),
    [
        pytest.param(_utc(2018, 3, 24, 23), _utc(2018, 3, 25, 5), 23, id="spring_23h"),
        pytest.param(_utc(2018, 10, 27, 22), _utc(2018, 10, 28, 5), 25, id="fall_25h"),
        pytest.param(_utc(2018, 5, 1, 22), _utc(2018, 5, 2, 5), 24, id="normal_24h"),
    ],
)
def test_known_price_end_dst_day_length(day_start: datetime, now: datetime, hours: int) -> None:
    # before publication the known prices end at the next local midnight
    end = known_price_end(now, tz=TZ, horizon=PriceHorizon.DAYAHEAD)
    assert end - day_start == timedelta(hours=hours)
    assert end.astimezone(TZ).hour == 0


def test_known_price_end_local_input_same_as_utc() -> None:
    local = datetime(2018, 10, 28, 13, 0, tzinfo=TZ)  # 12:00 UTC, after publication
    assert known_price_end(local, tz=TZ, horizon=PriceHorizon.DAYAHEAD) == _utc(2018, 10, 29, 23)


@pytest.mark.parametrize(
    "now",
    [_utc(2018, 5, 1, 10), _utc(2018, 5, 1, 11), _utc(2018, 3, 24, 12), _utc(2018, 10, 27, 23)],
)
def test_known_price_end_48h(now: datetime) -> None:
    assert known_price_end(now, tz=TZ, horizon=PriceHorizon.H48) == now + timedelta(hours=48)


# --- BacktestSpec ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"replan_minutes": 7}, "replan_minutes"),
        ({"replan_minutes": 0}, "replan_minutes"),
        ({"replan_minutes": 1455}, "replan_minutes"),
        ({"noise_frac": 1.0}, "noise_frac"),
        ({"noise_frac": -0.1}, "noise_frac"),
    ],
)
def test_backtest_spec_invalid(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        BacktestSpec(**kwargs)
    assert info.value.field == field


# --- run_loop: invariants ----------------------------------------------------------------

INVARIANT_CASES = [
    pytest.param(window, strategy, PERFECT, id=f"{window}-{strategy}")
    for window in WINDOWS
    for strategy in ("no_battery", "heuristic", "kepler")
] + [pytest.param("oct_dst", "kepler", NOISY_SEED_1, id="oct_dst-kepler-noisy")]


def test_run_loop_dst_windows_slot_counts(windows: dict[str, Window]) -> None:
    assert {name: n for name, (_, n) in windows.items()} == {
        "jan": 7 * 96,
        "mar_dst": 3 * 96 - 4,
        "jul": 3 * 96,
        "oct_dst": 3 * 96 + 4,
    }


def test_run_loop_no_battery_keeps_battery_idle(loop: Loop) -> None:
    for window in WINDOWS:
        r, data, n = loop(window, "no_battery")
        assert len(r.soc_kwh) == n
        np.testing.assert_array_equal(r.battery_charge_kw, 0.0)
        np.testing.assert_array_equal(r.battery_discharge_kw, 0.0)
        np.testing.assert_allclose(r.soc_kwh, MIN_SOC_KWH, rtol=0, atol=KWH_TOL)
        # so the house meets the load from PV and the grid alone
        net = data.load_kw.to_numpy()[:n] - data.pv_kw.to_numpy()[:n]
        np.testing.assert_allclose(r.grid_import_kw - r.grid_export_kw, net, rtol=0, atol=KW_TOL)


@pytest.mark.parametrize(("window", "strategy", "spec"), INVARIANT_CASES)
def test_run_loop_energy_balance(
    loop: Loop, window: str, strategy: str, spec: BacktestSpec
) -> None:
    r, data, n = loop(window, strategy, spec)
    pv = data.pv_kw.to_numpy()[:n]
    load = data.load_kw.to_numpy()[:n]
    # the water heater is off in the loop, so the actual load is all the demand
    supply = r.pv_used_kw + r.battery_discharge_kw + r.grid_import_kw + r.load_shed_kw
    demand = load + r.battery_charge_kw + r.grid_export_kw
    np.testing.assert_allclose(supply, demand, rtol=0, atol=KW_TOL)
    assert np.all(r.pv_used_kw <= pv + KW_TOL)
    assert np.all(r.pv_used_kw >= -KW_TOL)
    np.testing.assert_allclose(r.load_shed_kw, 0.0, atol=KW_TOL)


@pytest.mark.parametrize(("window", "strategy", "spec"), INVARIANT_CASES)
def test_run_loop_soc_within_bounds(
    loop: Loop, window: str, strategy: str, spec: BacktestSpec
) -> None:
    r, _, _ = loop(window, strategy, spec)
    assert r.soc_kwh.min() >= MIN_SOC_KWH - KWH_TOL
    assert r.soc_kwh.max() <= MAX_SOC_KWH + KWH_TOL
    # and the SoC follows the metered flows
    soc = MIN_SOC_KWH + np.cumsum(H * (0.95 * r.battery_charge_kw - r.battery_discharge_kw / 0.95))
    np.testing.assert_allclose(r.soc_kwh, soc, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("window", "strategy", "spec"), INVARIANT_CASES)
def test_run_loop_no_simultaneous_flows(
    loop: Loop, window: str, strategy: str, spec: BacktestSpec
) -> None:
    r, _, _ = loop(window, strategy, spec)
    assert not np.any((r.battery_charge_kw > KW_TOL) & (r.battery_discharge_kw > KW_TOL))
    assert not np.any((r.grid_import_kw > KW_TOL) & (r.grid_export_kw > KW_TOL))


@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("strategy", ["heuristic", "kepler"])
def test_run_loop_perfect_forecast_follows_plan(loop: Loop, window: str, strategy: str) -> None:
    # with perfect forecasts the house does exactly what was planned (rows are rounded)
    r, _, _ = loop(window, strategy)
    np.testing.assert_allclose(r.soc_kwh, r.planned_soc_kwh, rtol=0, atol=1e-5)
    assert H * r.battery_discharge_kw.sum() > 1.0  # the battery was used at all [kWh]


def test_run_loop_records_solve_time(loop: Loop) -> None:
    r, _, _ = loop("mar_dst", "kepler")
    assert r.solve_ms > 0.0


# --- run_loop: what the planner may know ---------------------------------------------------


@pytest.mark.parametrize(
    ("horizon", "same"),
    [(PriceHorizon.DAYAHEAD, True), (PriceHorizon.H48, False)],
    ids=["dayahead", "48h"],
)
def test_run_loop_no_price_lookahead(
    year: YearData, cfg: DarkstarConfig, horizon: PriceHorizon, same: bool
) -> None:
    # Plans made before 13:00 on 2018-01-02 know prices to the end of that day only, so
    # changing later prices must not change the first 13 hours. With 48 h prices it must.
    data, _ = _window(year, date(2018, 1, 2), 1)
    tomorrow = _slot_of(year, date(2018, 1, 3)) - _slot_of(year, date(2018, 1, 2))
    changed: dict[str, Any] = {}
    for name in ("import_price_sek_per_kwh", "export_price_sek_per_kwh"):
        series = getattr(data, name)
        values = series.to_numpy().copy()
        values[tomorrow:] = values[tomorrow:][::-1] + 1.0
        changed[name] = pd.Series(values, index=series.index, name=series.name)
    other = replace(data, **changed)
    spec = BacktestSpec(price_horizon=horizon)
    n = 13 * 4
    a = run_loop(data, cfg, spec, strategy="kepler", n_slots=n, timezone=TZ_NAME)
    b = run_loop(other, cfg, spec, strategy="kepler", n_slots=n, timezone=TZ_NAME)
    flows_a = np.r_[a.grid_import_kw, a.battery_charge_kw, a.battery_discharge_kw, a.soc_kwh]
    flows_b = np.r_[b.grid_import_kw, b.battery_charge_kw, b.battery_discharge_kw, b.soc_kwh]
    assert np.array_equal(flows_a, flows_b) is same


# --- run_loop: noisy forecasts -----------------------------------------------------------


def test_run_loop_noisy_reproducible_with_seed(loop: Loop, cfg: DarkstarConfig) -> None:
    first, data, n = loop("oct_dst", "kepler", NOISY_SEED_1)
    again = run_loop(data, cfg, NOISY_SEED_1, strategy="kepler", n_slots=n, timezone=TZ_NAME)
    for field in ("grid_import_kw", "grid_export_kw", "battery_charge_kw", "soc_kwh"):
        np.testing.assert_array_equal(getattr(again, field), getattr(first, field))


def test_run_loop_noisy_differs_with_other_seed(loop: Loop, cfg: DarkstarConfig) -> None:
    first, data, n = loop("oct_dst", "kepler", NOISY_SEED_1)
    seed_2 = replace(NOISY_SEED_1, seed=2)
    other = run_loop(data, cfg, seed_2, strategy="kepler", n_slots=n, timezone=TZ_NAME)
    perfect, _, _ = loop("oct_dst", "kepler")
    assert np.max(np.abs(other.soc_kwh - first.soc_kwh)) > 0.1
    assert np.max(np.abs(perfect.soc_kwh - first.soc_kwh)) > 0.1
    # forecast errors make the house deviate from the plan
    assert np.max(np.abs(first.soc_kwh - first.planned_soc_kwh)) > 0.01


# --- run_loop: against the references ----------------------------------------------------


def _cost(loop: Loop, cfg: DarkstarConfig, window: str, strategy: str, **kw: Any) -> float:
    r, data, n = loop(window, strategy, **kw)
    return _total_cost(r, data, cfg, n)


def _cost_held_energy_at_import(
    loop: Loop, cfg: DarkstarConfig, window: str, strategy: str, **kw: Any
) -> float:
    """Cost with the final stored energy worth what it displaces (mean import x eta_d).

    A loop does not know a short test window ends: the planner holds energy for tomorrow,
    as it should in a running system. The report credits held energy at its conservative
    export value (so perfect foresight stays a lower bound); comparing two loop strategies
    on a few days needs the value a continuing system gets from it instead.
    """
    r, data, n = loop(window, strategy, **kw)
    value = 0.95 * float(np.mean(data.import_price_sek_per_kwh.to_numpy()[:n]))
    return _total_cost(r, data, cfg, n, stored_value_sek_per_kwh=value)


@pytest.mark.parametrize(
    "window",
    [
        "jan",
        pytest.param(
            "mar_dst",
            marks=pytest.mark.xfail(
                strict=True,
                reason="Kepler -5.941 SEK vs heuristic -6.081 SEK: Kepler's energy + wear is "
                "1.63 SEK lower (-1.674 vs -0.044) but it ends at 4.20 kWh vs 5.53 kWh, and "
                "_total_cost credits end SoC at mean import price x 0.95 = 1.332 SEK/kWh",
            ),
        ),
        "jul",
        "oct_dst",
    ],
)
def test_run_loop_kepler_not_worse_than_heuristic(
    loop: Loop, cfg: DarkstarConfig, window: str
) -> None:
    kepler_cost = _cost_held_energy_at_import(loop, cfg, window, "kepler")
    assert kepler_cost <= _cost_held_energy_at_import(loop, cfg, window, "heuristic") + SEK_TOL
    assert kepler_cost < _cost_held_energy_at_import(loop, cfg, window, "no_battery") - 1.0


@pytest.mark.parametrize("window", list(WINDOWS))
def test_run_loop_kepler_not_better_than_perfect_foresight(
    loop: Loop, cfg: DarkstarConfig, window: str
) -> None:
    pf_cost = _cost(loop, cfg, window, "perfect_foresight")
    assert _cost(loop, cfg, window, "kepler") >= pf_cost - SEK_TOL


def _capture(loop: Loop, cfg: DarkstarConfig, window: str, name: str) -> float:
    results = {s: loop(window, s)[0] for s in ("no_battery", name, "perfect_foresight")}
    _, data, n = loop(window, "no_battery")
    metrics = strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    capture = {m.name: m.capture_percent for m in metrics}[name]
    assert capture is not None
    return capture


def test_run_loop_kepler_capture_perfect_dayahead_7_days(loop: Loop, cfg: DarkstarConfig) -> None:
    # 87.2 % on 2018-01-01..07 (measured) under the report's conservative credit: the loop
    # does not know the week ends and holds energy for the next morning, which the report
    # values at the export price, while the reference empties the battery. The full year
    # (`darkstar backtest`, where every strategy ends at the floor) captures 99.0 %.
    kepler_capture = _capture(loop, cfg, "jan", "kepler")
    assert 85.0 <= kepler_capture <= 100.0 + 1e-6


def test_run_loop_persistence_not_worse_than_zero_terminal(loop: Loop, cfg: DarkstarConfig) -> None:
    zero = replace(PERFECT, terminal=TerminalPolicy.ZERO)
    persistence = _cost_held_energy_at_import(loop, cfg, "jan", "kepler")
    zero_cost = _cost_held_energy_at_import(loop, cfg, "jan", "kepler", spec=zero)
    assert persistence <= zero_cost + SEK_TOL
    assert PERFECT.terminal is TerminalPolicy.PERSISTENCE


# --- perfect_foresight -------------------------------------------------------------------


@pytest.fixture(scope="module")
def foresight_solve(windows: dict[str, Window], cfg: DarkstarConfig) -> Any:
    """The ``jul`` perfect-foresight result with the Kepler input and result it solved."""
    seen: list[tuple[KeplerInput, KeplerResult]] = []

    def spy(kin: KeplerInput) -> KeplerResult | None:
        result = kepler.solve_kepler(kin)
        assert result is not None
        seen.append((kin, result))
        return result

    data, n = windows["jul"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backtest, "solve_kepler", spy)
        pf = perfect_foresight(data, cfg, n_slots=n, timezone=TZ_NAME)
    assert len(seen) == 1
    return pf, seen[0][0], seen[0][1], data, n


def test_perfect_foresight_cost_equals_objective(foresight_solve: Any, cfg: DarkstarConfig) -> None:
    pf, kin, result, data, n = foresight_solve
    imp = data.import_price_sek_per_kwh.to_numpy()[:n]
    exp = data.export_price_sek_per_kwh.to_numpy()[:n]
    # it plans on the actual prices, PV and load, no water heater
    np.testing.assert_array_equal(kin.import_price_sek_per_kwh, imp)
    np.testing.assert_array_equal(kin.export_price_sek_per_kwh, exp)
    np.testing.assert_allclose(kin.pv_kwh, H * data.pv_kw.to_numpy()[:n], rtol=1e-12)
    np.testing.assert_allclose(kin.load_kwh, H * data.load_kw.to_numpy()[:n], rtol=1e-12)
    assert kin.water is None
    # it values the energy left at the end exactly as the report credits every strategy
    value = float(np.mean(exp)) * 0.95
    assert kin.options.terminal_value_sek_per_kwh == pytest.approx(value, rel=1e-12)
    throughput = H * float(np.sum(pf.battery_charge_kw + pf.battery_discharge_kw))
    energy = H * float(np.sum(pf.grid_import_kw * imp - pf.grid_export_kw * exp))
    direct = energy + WEAR_SEK_PER_KWH * throughput
    tiebreak = kepler.THROUGHPUT_TIEBREAK_SEK_PER_KWH * throughput
    credit = value * float(pf.soc_kwh[-1])
    assert result.objective_sek - tiebreak == pytest.approx(direct - credit, abs=SEK_TOL)
    # so the solver minimised the report's cost (which credits the change from min SoC)
    report_cost = direct - value * (float(pf.soc_kwh[-1]) - MIN_SOC_KWH)
    assert _total_cost(pf, data, cfg, n) == pytest.approx(report_cost, abs=SEK_TOL)


def test_perfect_foresight_starts_at_min_soc(foresight_solve: Any) -> None:
    pf, kin, _, _, _ = foresight_solve
    assert kin.battery.initial_soc_kwh == pytest.approx(MIN_SOC_KWH)
    first = MIN_SOC_KWH + H * (0.95 * pf.battery_charge_kw[0] - pf.battery_discharge_kw[0] / 0.95)
    assert pf.soc_kwh[0] == pytest.approx(first, abs=KWH_TOL)


def test_perfect_foresight_energy_balance_and_bounds(foresight_solve: Any) -> None:
    pf, _, _, data, n = foresight_solve
    load = data.load_kw.to_numpy()[:n]
    supply = pf.pv_used_kw + pf.battery_discharge_kw + pf.grid_import_kw + pf.load_shed_kw
    demand = load + pf.battery_charge_kw + pf.grid_export_kw
    np.testing.assert_allclose(supply, demand, rtol=0, atol=KW_TOL)
    assert pf.soc_kwh.min() >= MIN_SOC_KWH - KWH_TOL
    assert pf.soc_kwh.max() <= MAX_SOC_KWH + KWH_TOL
    np.testing.assert_array_equal(pf.index, np.arange(n))


# --- run_backtest ------------------------------------------------------------------------


def test_run_backtest_strategies_and_progress(year: YearData, cfg: DarkstarConfig) -> None:
    data, n = _window(year, date(2018, 6, 10), 1)
    done: dict[str, int] = {}

    def progress(name: str, slots: int) -> None:
        done[name] = done.get(name, 0) + slots

    run = run_backtest(data, cfg, PERFECT, n_slots=n, timezone=TZ_NAME, progress=progress)
    assert list(run.results) == ["no_battery", "heuristic", "kepler", "perfect_foresight"]
    assert done == {"no_battery": n, "heuristic": n, "kepler": n}
    assert set(run.seconds) == set(run.results)
    assert run.n_slots == n == 96
    for name, r in run.results.items():
        assert r.name == name
        assert len(r.soc_kwh) == n


# --- darkstar backtest (command line) ----------------------------------------------------


def test_backtest_cli_two_days_writes_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["backtest", "--days", "2", "--out-dir", str(out)])
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr == ""
    text = " ".join(result.stdout.split())  # rich wraps long lines
    title = "Backtest SE4 2018, 2 days, replan 60 min, forecast perfect, prices dayahead"
    assert title in text
    for name in ("no_battery", "heuristic", "kepler", "perfect_foresight"):
        assert name in text
    assert f"wrote {out}/backtest.csv, backtest.png, backtest.html" in text
    frame = pd.read_csv(out / "backtest.csv", index_col="start")
    assert len(frame) == 2 * 96
    assert frame.index[0] == "2018-01-01T00:00:00+01:00"
    assert "kepler.soc_kwh" in frame.columns
    assert (out / "backtest.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    page = (out / "backtest.html").read_text(encoding="utf-8")
    assert "<table>" in page
    assert "<td>perfect_foresight</td>" in page
    assert "src='data:image/png;base64," in page


@pytest.mark.parametrize(
    ("args", "prefix"),
    [
        pytest.param(
            ["--forecast", "psychic"],
            "error: --forecast: must be one of perfect, noisy, aurora, naive, oracle, "
            "got 'psychic'",
            id="forecast_unknown",
        ),
        pytest.param(
            ["--forecast", "aurora,aurora"], "error: --forecast: each forecast once", id="twice"
        ),
        pytest.param(
            ["--forecast", "aurora", "--ev"],
            "error: --forecast: --ev runs one forecast, perfect or noisy",
            id="ev_aurora",
        ),
        pytest.param(["--mode", "fast"], "error: --mode: must be one of full, baseline", id="mode"),
        pytest.param(["--days", "0"], "error: --days: must be >= 1", id="days_0"),
        pytest.param(["--days", "-3"], "error: --days: must be >= 1", id="days_negative"),
        pytest.param(
            ["--price-horizon", "36h"],
            "error: --price-horizon: must be one of dayahead, 48h, got '36h'",
            id="price_horizon_36h",
        ),
        pytest.param(["--terminal", "foo"], "error: --terminal: must be one of", id="terminal"),
        pytest.param(
            ["--area", "XX", "--days", "1"], "error: --area: unknown area 'XX'", id="area"
        ),
        pytest.param(["--year", "2016", "--days", "1"], "error: --year: no SMARD", id="year"),
    ],
)
def test_backtest_cli_invalid_option(tmp_path: Path, args: list[str], prefix: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["backtest", *args, "--out-dir", str(out)])
    assert result.exit_code == 2, (result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--area", "XX"], "--area"),
        (["--replan-minutes", "7"], "--replan-minutes"),
    ],
    ids=["area", "replan_minutes"],
)
def test_backtest_cli_error_names_option(tmp_path: Path, args: list[str], flag: str) -> None:
    result = CliRunner().invoke(app, ["backtest", *args, "--days", "1", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {flag}: ")


# --- water heating in the loop -----------------------------------------------------------


@pytest.fixture(scope="module")
def water_runs(windows: dict[str, Window], cfg: DarkstarConfig) -> dict[str, Any]:
    data, _ = windows["jan"]
    n = 2 * 96
    spec = BacktestSpec(water=True)
    runs = {
        s: run_loop(data, cfg, spec, strategy=s, n_slots=n, timezone=TZ_NAME)
        for s in ("no_battery", "kepler")
    }
    return {"runs": runs, "data": data, "n": n}


def test_run_loop_water_records_heating_and_tank(water_runs: dict[str, Any]) -> None:
    for r in water_runs["runs"].values():
        assert r.water_heater_kw is not None
        assert r.tank_temp_c is not None
        # the element is on/off at the configured 3 kW within each 1-minute sub-step, so a
        # slot average lies in [0, 3]; over two days it heats about the draws plus losses
        assert np.all((r.water_heater_kw >= 0) & (r.water_heater_kw <= 3.0 + 1e-9))
        assert 5.0 < H * float(np.sum(r.water_heater_kw)) < 20.0
        # the floor setpoint (45 degC) keeps the tank above the comfort limit
        assert float(np.min(r.tank_temp_c)) >= 40.0


def test_run_loop_water_balance_includes_the_element(water_runs: dict[str, Any]) -> None:
    data, n = water_runs["data"], water_runs["n"]
    pv, load = data.pv_kw.to_numpy()[:n], data.load_kw.to_numpy()[:n]
    r = water_runs["runs"]["kepler"]
    assert r.water_heater_kw is not None
    supply = np.minimum(r.pv_used_kw, pv) + r.battery_discharge_kw + r.grid_import_kw
    demand = load + r.battery_charge_kw + r.grid_export_kw + r.water_heater_kw
    np.testing.assert_allclose(supply + r.load_shed_kw, demand, atol=1e-6)


def test_run_loop_water_planned_cheaper_than_conventional(
    water_runs: dict[str, Any], cfg: DarkstarConfig
) -> None:
    data, n = water_runs["data"], water_runs["n"]
    costs = {s: _total_cost(r, data, cfg, n) for s, r in water_runs["runs"].items()}
    assert costs["kepler"] < costs["no_battery"] - 1.0


def test_backtest_cli_water_reports_comfort(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["backtest", "--days", "1", "--water", "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.stderr
    assert "tank < 40 °C" in result.stdout
    assert (tmp_path / "backtest.csv").exists()
