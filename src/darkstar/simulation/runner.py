"""``darkstar backtest``: load the year, run the loop with a progress bar, write the report."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from darkstar.errors import InputError
from darkstar.simulation.backtest import Forecaster, ForecastKind, run_backtest
from darkstar.simulation.bed_forecasts import BedForecasts, OracleForecasts
from darkstar.simulation.datasets import load_year
from darkstar.simulation.ev_report import (
    EvRow,
    ev_rows,
    ev_variants,
    print_ev_report,
    run_ev_variants,
)
from darkstar.simulation.report import (
    StrategyMetrics,
    monthly_costs,
    print_report,
    strategy_metrics,
    write_chart,
    write_csv,
)
from darkstar.simulation.testbed import forecast_year

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.simulation.backtest import BacktestSpec, SlotForecaster
    from darkstar.simulation.datasets import YearData
    from darkstar.simulation.testbed import ForecastYear

__all__ = ["run_backtest_command", "run_ev_command", "start_slot"]


def start_slot(data: YearData, start: date | None, timezone: str) -> int:
    """Return the slot of local midnight ``start`` in ``data`` (0 without a start).

    Raises
    ------
    InputError
        Naming ``start`` when that day is not in the year.
    """
    if start is None:
        return 0
    midnight = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(timezone))
    first = int(data.index.searchsorted(midnight.astimezone(UTC)))
    if first >= len(data.index) or data.index[first] != midnight.astimezone(UTC):
        raise InputError("start", f"{start.isoformat()} is not a day of the data year")
    return first


def run_ev_command(
    *,
    area: str,
    year: int,
    start: date | None,
    days: int | None,
    spec: BacktestSpec,
    cfg: DarkstarConfig,
    timezone: str = "Europe/Stockholm",
    load_profile: str = "h25",
    console: Console | None = None,
) -> list[EvRow]:
    """Run the car experiment (:mod:`darkstar.simulation.ev_report`) and print its table."""
    console = console or Console(width=160)
    t0 = time.perf_counter()
    data = load_year(area=area, year=year, timezone=timezone, load_profile=load_profile)
    first = start_slot(data, start, timezone)
    data = data.window(first, len(data.index))
    n_slots = len(data.index) if days is None else min(len(data.index), days * 96)
    names = [name for name, _ in ev_variants(cfg, spec)]
    with _progress(console) as progress:
        tasks = {name: progress.add_task(name, total=n_slots) for name in names}
        runs = run_ev_variants(
            data,
            cfg,
            spec,
            n_slots=n_slots,
            timezone=timezone,
            progress=lambda name, done: progress.advance(tasks[name], done),
        )
    rows = ev_rows(runs, data, cfg, n_slots=n_slots, tz=ZoneInfo(timezone))
    tariff = cfg.grid.capacity_tariff
    fee = (
        f"capacity tariff {tariff.sek_per_kw_month:g} SEK/kW/month (top {tariff.peaks_counted}"
        f"{', distinct days' if tariff.distinct_days else ''}, hours {tariff.hours})"
        if tariff.sek_per_kw_month > 0
        else "no capacity tariff"
    )
    title = (
        f"EV backtest {area} from {data.index[0].tz_convert(timezone).date()}, "
        f"{n_slots / 96:.0f} days, load {load_profile}, {fee}, car {cfg.ev.capacity_kwh:g} kWh "
        f"{cfg.ev.max_charge_kw:g}/{cfg.ev.min_charge_kw:g} kW, departure "
        f"{cfg.ev.departure_time} at {cfg.ev.target_soc_percent:g} %"
    )
    print_ev_report(console, rows, title=title)
    timing = ", ".join(f"{r.name} {r.seconds:.1f} s" for r in runs)
    console.print(f"ran in {time.perf_counter() - t0:.1f} s ({timing})")
    return rows


#: Forecasts that run on the Aurora test bed's year (true PV, weather forecasts).
_BED_KINDS = frozenset({ForecastKind.AURORA, ForecastKind.NAIVE, ForecastKind.ORACLE})


def _forecaster(
    kind: ForecastKind, spec: BacktestSpec, data: YearData, bed: ForecastYear | None
) -> SlotForecaster:
    """Return the loop's forecaster of ``kind`` (aurora, naive, oracle: on the whole bed year)."""
    if kind in _BED_KINDS:
        if bed is None:
            raise InputError("forecast", f"{kind.value} runs on the test-bed year")
        if kind is ForecastKind.ORACLE:
            return OracleForecasts(bed)
        return BedForecasts(bed, naive=kind is ForecastKind.NAIVE)
    return Forecaster(replace(spec, forecast=kind), len(data.index))


def _print_forecasts(
    console: Console, metrics: list[StrategyMetrics], forecasters: Mapping[str, SlotForecaster]
) -> None:
    """Print each Kepler loop's share of the perfect-forecast loop's savings; retrainings."""
    saved = {m.name: m.savings_sek for m in metrics}
    perfect = saved.get("kepler_perfect")
    if perfect is not None and perfect > 0:
        shares = ", ".join(
            f"{name.removeprefix('kepler_')} {100.0 * value / perfect:.1f} %"
            for name, value in saved.items()
            if name.startswith("kepler_")
        )
        console.print(f"share of the perfect-forecast loop's savings: {shares}")
    elif perfect is not None:
        console.print(
            f"share of the perfect-forecast loop's savings: none (it saved {perfect:.2f} SEK)"
        )
    for forecaster in forecasters.values():
        if isinstance(forecaster, BedForecasts) and forecaster.trainings:
            trainings = forecaster.trainings
            used = Counter(
                f"pv {t.used['pv']}, load {t.used['load']}" for t in trainings
            ).most_common()
            seconds = [t.seconds for t in trainings]
            console.print(
                f"{forecaster.name}: {len(trainings)} retrainings, fit {np.mean(seconds):.1f} s "
                f"mean / {max(seconds):.1f} s max; issues {forecaster.issue_s:.0f} s; used: "
                + "; ".join(f"{k} x{v}" for k, v in used)
            )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:>18}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def run_backtest_command(
    *,
    area: str,
    year: int,
    days: int | None,
    spec: BacktestSpec,
    cfg: DarkstarConfig,
    out_dir: Path,
    start: date | None = None,
    timezone: str = "Europe/Stockholm",
    load_profile: str = "h25",
    console: Console | None = None,
    forecasts: Sequence[ForecastKind] = (),
) -> None:
    """Run the whole backtest and write ``backtest.csv``, ``backtest.png``, ``backtest.html``.

    ``forecasts`` (default ``spec.forecast``): with ``aurora`` or ``naive`` among them the
    year is the Aurora test bed's (:func:`forecast_year`: the house's true PV, which the
    configured arrays do not describe exactly, and weather forecasts), for every loop.
    """
    console = console or Console(width=180)
    t0 = time.perf_counter()
    kinds = list(forecasts) or [spec.forecast]
    bed = None
    if _BED_KINDS & set(kinds):
        bed = forecast_year(area=area, year=year, load_profile=load_profile, seed=spec.seed)
        data = bed.data
    else:
        data = load_year(area=area, year=year, timezone=timezone, load_profile=load_profile)
    data = data.window(start_slot(data, start, timezone), len(data.index))
    n_slots = len(data.index) if days is None else min(len(data.index), days * 96)
    forecasters = {k.value: _forecaster(k, spec, data, bed) for k in kinds}
    names = ["no_battery", "heuristic"]
    names += ["kepler"] if len(kinds) == 1 else [f"kepler_{k.value}" for k in kinds]
    with _progress(console) as progress:
        tasks = {name: progress.add_task(name, total=n_slots) for name in names}
        run = run_backtest(
            data,
            cfg,
            spec,
            n_slots=n_slots,
            timezone=timezone,
            progress=lambda name, done: progress.advance(tasks[name], done),
            forecasters=forecasters,
        )
    metrics = strategy_metrics(run.results, data, cfg, n_slots=n_slots, timezone=timezone)
    monthly = monthly_costs(run.results, data, cfg, n_slots=n_slots, timezone=timezone)
    title = (
        f"Backtest {area} {year}{f' from {start}' if start else ''}, {n_slots / 96:.0f} days, "
        f"replan {spec.replan_minutes} min, "
        f"forecast {','.join(k.value for k in kinds)}"
        f"{' (test-bed year)' if bed is not None else ''}, prices {spec.price_horizon}, "
        f"terminal {spec.terminal}, mode {spec.mode}, "
        f"load {load_profile}"
    )
    print_report(console, metrics, monthly, title=title)
    _print_forecasts(console, metrics, forecasters)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "backtest.csv", run.results, data, n_slots=n_slots, timezone=timezone)
    write_chart(
        out_dir / "backtest.png",
        out_dir / "backtest.html",
        metrics=metrics,
        monthly=monthly,
        results=run.results,
        year=data,
        n_slots=n_slots,
        title=title,
    )
    timing = ", ".join(f"{name} {sec:.1f} s" for name, sec in run.seconds.items())
    console.print(
        f"ran in {time.perf_counter() - t0:.1f} s ({timing}); wrote {out_dir}/backtest.csv, "
        "backtest.png, backtest.html"
    )
