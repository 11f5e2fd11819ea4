"""Which parts of the strategy layer pay: one closed loop per variant on the same forecasts.

Runs Kepler in the closed loop on the Aurora test bed (SE4 2018, default home, hourly
replans, day-ahead prices) once in mode baseline and once per mode-full variant: the
defaults (static S-Index, no overlay, no Strategy Engine rule), the Analyst's overlay, the
dynamic and probabilistic S-Index, and each Strategy Engine rule on its own on top of the
defaults. Aurora's forecasts are issued once (in the first loop,
walk-forward, retrained weekly) and shared by every variant, so the variants differ only in
how they plan. Prints one table: cost, share of the perfect-foresight savings, low-SoC
evening days, import in the most expensive 5 % of slots, cycles.

Usage::

    .venv/bin/python scripts/strategy_ablation.py [--start 2018-01-01] [--days 365]

(the year: ~60 min on one core: Aurora's weekly retrainings and issues take ~35).
"""

# ruff: noqa: T201
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import date
from typing import Any

from darkstar.config import DarkstarConfig, merge_config, parse_config
from darkstar.planner.pipeline import PlanMode
from darkstar.simulation.backtest import BacktestSpec, ForecastKind, perfect_foresight, run_loop
from darkstar.simulation.bed_forecasts import BedForecasts
from darkstar.simulation.report import strategy_metrics
from darkstar.simulation.runner import start_slot
from darkstar.simulation.testbed import forecast_year

TZ = "Europe/Stockholm"


def _rule(name: str) -> tuple[PlanMode, dict[str, Any]]:
    """Mode full as configured by default, with one switch of ``strategy`` on."""
    return PlanMode.FULL, {"strategy": {name: True}}


#: name -> (mode, config overrides); the first is run first and issues Aurora's forecasts.
VARIANTS: dict[str, tuple[PlanMode, dict[str, Any]]] = {
    "baseline": (PlanMode.BASELINE, {}),
    "full (defaults)": (PlanMode.FULL, {}),
    "full + analyst_overlay": _rule("analyst_overlay"),
    "full dynamic": (PlanMode.FULL, {"s_index": {"mode": "dynamic"}}),
    "full probabilistic": (PlanMode.FULL, {"s_index": {"mode": "probabilistic"}}),
    "full + flat_prices": _rule("flat_prices"),
    "full + calm_prices": _rule("calm_prices"),
    "full dynamic + weather_risk": (
        PlanMode.FULL,
        {"s_index": {"mode": "dynamic"}, "strategy": {"weather_risk": True}},
    ),
    "full + fuse_headroom": _rule("fuse_headroom"),
}

_STATE: dict[str, Any] = {}


def _loop(name: str) -> tuple[str, Any, float]:
    mode, overrides = VARIANTS[name]
    cfg = parse_config(merge_config(_STATE["base"], overrides))
    spec = replace(_STATE["spec"], mode=mode)
    t0 = time.perf_counter()
    result = run_loop(
        _STATE["data"],
        cfg,
        spec,
        strategy="kepler",
        n_slots=_STATE["n_slots"],
        timezone=TZ,
        forecaster=_STATE["forecaster"],
    )
    return name, result, time.perf_counter() - t0


def main() -> None:
    """Run the variants and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 1, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--load", default="h25")
    parser.add_argument(
        "--variants", default="", help="comma-separated variant names (default: all)"
    )
    parser.add_argument(
        "--overlay",
        action="store_true",
        help="every mode-full variant with the Analyst's overlay on (strategy.analyst_overlay)",
    )
    args = parser.parse_args()
    t0 = time.perf_counter()
    bed = forecast_year(area="SE4", year=2018, load_profile=args.load, seed=0)
    data = bed.data.window(start_slot(bed.data, args.start, TZ), len(bed.data.index))
    n_slots = min(len(data.index), args.days * 96)
    base = DarkstarConfig().model_dump()
    if args.overlay:
        base = merge_config(base, {"strategy": {"analyst_overlay": True}})
    spec = BacktestSpec(forecast=ForecastKind.AURORA)
    _STATE.update(base=base, spec=spec, data=data, n_slots=n_slots, forecaster=BedForecasts(bed))
    names = args.variants.split(",") if args.variants else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    first, result, sec = _loop(names[0])  # issues every forecast, shared by the rest
    results[first], seconds[first] = result, sec
    results["no_battery"] = run_loop(
        data,
        parse_config(base),
        spec,
        strategy="no_battery",
        n_slots=n_slots,
        timezone=TZ,
        forecaster=_STATE["forecaster"],
    )
    # one process: HiGHS does not survive a fork after it has solved (its workers hang)
    for name in names[1:]:
        _, results[name], seconds[name] = _loop(name)
        print(f"  {name}: {seconds[name]:.0f} s", flush=True)
    results["perfect_foresight"] = perfect_foresight(
        data, parse_config(base), n_slots=n_slots, timezone=TZ
    )
    metrics = {
        m.name: m
        for m in strategy_metrics(
            {k: replace(v, name=k) for k, v in results.items()},
            data,
            parse_config(base),
            n_slots=n_slots,
            timezone=TZ,
        )
    }
    base_cost = metrics[names[0]].cost_sek
    print(
        f"\nSE4 2018 test bed, Aurora forecasts, from {args.start}, {n_slots / 96:.0f} days, "
        f"load {args.load}; ran in {time.perf_counter() - t0:.0f} s\n"
    )
    print(
        f"| loop | cost SEK | vs {names[0]} | saved SEK | share of perfect-foresight savings "
        "| low-SoC evenings | import in dearest 5 % [kWh] | cycles |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ["no_battery", *names, "perfect_foresight"]:
        m = metrics[name]
        share = "" if m.capture_percent is None else f"{m.capture_percent:.2f} %"
        delta = 100.0 * (m.cost_sek - base_cost) / abs(base_cost)  # + costs more
        print(
            f"| {name} | {m.cost_sek:.2f} | {delta:+.2f} % | {m.savings_sek:.2f} | {share} | "
            f"{m.low_soc_events} | {m.peak_price_import_kwh:.1f} | {m.cycles:.1f} |"
        )


if __name__ == "__main__":
    main()
