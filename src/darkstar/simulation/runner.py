"""``darkstar backtest``: load the year, run the loop with a progress bar, write the report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from darkstar.simulation.backtest import run_backtest
from darkstar.simulation.datasets import load_year
from darkstar.simulation.report import (
    monthly_costs,
    print_report,
    strategy_metrics,
    write_chart,
    write_csv,
)

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.simulation.backtest import BacktestSpec

__all__ = ["run_backtest_command"]


def run_backtest_command(
    *,
    area: str,
    year: int,
    days: int | None,
    spec: BacktestSpec,
    cfg: DarkstarConfig,
    out_dir: Path,
    timezone: str = "Europe/Stockholm",
    load_profile: str = "h25",
    console: Console | None = None,
) -> None:
    """Run the whole backtest and write ``backtest.csv``, ``backtest.png``, ``backtest.html``."""
    console = console or Console(width=140)
    t0 = time.perf_counter()
    data = load_year(area=area, year=year, timezone=timezone, load_profile=load_profile)
    n_slots = len(data.index) if days is None else min(len(data.index), days * 96)
    with Progress(
        TextColumn("{task.description:>12}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks = {
            name: progress.add_task(name, total=n_slots)
            for name in ("no_battery", "heuristic", "kepler")
        }
        run = run_backtest(
            data,
            cfg,
            spec,
            n_slots=n_slots,
            timezone=timezone,
            progress=lambda name, done: progress.advance(tasks[name], done),
        )
    metrics = strategy_metrics(run.results, data, cfg, n_slots=n_slots, timezone=timezone)
    monthly = monthly_costs(run.results, data, cfg, n_slots=n_slots, timezone=timezone)
    title = (
        f"Backtest {area} {year}, {n_slots / 96:.0f} days, replan {spec.replan_minutes} min, "
        f"forecast {spec.forecast}, prices {spec.price_horizon}, terminal {spec.terminal}, "
        f"load {load_profile}"
    )
    print_report(console, metrics, monthly, title=title)
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
