"""Backtest results: metrics per strategy, monthly costs, CSV, charts and the rich table.

Costs are what the meters saw: ``h * sum(import x import price - export x export price)``
plus battery wear, minus the value of the change in stored energy (valued at the period's
mean export price x discharge efficiency, what a stored kWh is surely worth, so a strategy
that ends fuller is not punished for energy it still holds).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from darkstar.simulation.backtest import COMFORT_MIN_C, stored_energy_value_sek_per_kwh

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from rich.console import Console

    from darkstar.config.models import DarkstarConfig
    from darkstar.simulation.backtest import LoopResult
    from darkstar.simulation.datasets import YearData

__all__ = [
    "StrategyMetrics",
    "monthly_costs",
    "print_report",
    "strategy_metrics",
    "write_chart",
    "write_csv",
]

_SLOT_H = 0.25
#: Evening peak hours (local) in which the SoC at its floor counts as a low-SoC event.
LOW_SOC_HOURS = range(16, 20)
#: Share of the slots, by import price, counted as the most expensive.
PEAK_PRICE_SHARE = 0.05


@dataclass(frozen=True, kw_only=True)
class StrategyMetrics:
    """One row of the backtest table."""

    name: str
    cost_sek: float
    savings_sek: float
    capture_percent: float | None
    cycles: float
    self_consumption_percent: float
    peak_import_kw: float
    low_soc_events: int
    end_soc_kwh: float
    peak_price_import_kwh: float = 0.0
    """Energy imported in the most expensive :data:`PEAK_PRICE_SHARE` of the slots."""
    water_heater_kwh: float | None = None
    minutes_below_comfort: int | None = None


def slot_costs_sek(result: LoopResult, year: YearData, n_slots: int) -> NDArray[np.float64]:
    """Energy cost per slot [SEK] (import cost - export revenue)."""
    imp = np.asarray(year.import_price_sek_per_kwh.to_numpy()[:n_slots], dtype=np.float64)
    exp = np.asarray(year.export_price_sek_per_kwh.to_numpy()[:n_slots], dtype=np.float64)
    costs: NDArray[np.float64] = _SLOT_H * (
        result.grid_import_kw * imp - result.grid_export_kw * exp
    )
    return costs


def _total_cost(
    result: LoopResult,
    year: YearData,
    cfg: DarkstarConfig,
    n_slots: int,
    *,
    stored_value_sek_per_kwh: float | None = None,
) -> float:
    """Energy cost + wear - final stored energy x its value (default: the report's)."""
    b = cfg.battery
    throughput = _SLOT_H * float(np.sum(result.battery_charge_kw + result.battery_discharge_kw))
    wear = cfg.battery_economics.battery_cycle_cost_kwh * throughput
    start_kwh = b.capacity_kwh * b.min_soc_percent / 100.0
    stored_value = stored_value_sek_per_kwh
    if stored_value is None:
        stored_value = stored_energy_value_sek_per_kwh(year, cfg, n_slots)
    delta_kwh = float(result.soc_kwh[-1]) - start_kwh
    return float(np.sum(slot_costs_sek(result, year, n_slots))) + wear - delta_kwh * stored_value


def strategy_metrics(
    results: dict[str, LoopResult],
    year: YearData,
    cfg: DarkstarConfig,
    *,
    n_slots: int,
    timezone: str,
) -> list[StrategyMetrics]:
    """Metrics for every strategy; savings are against ``no_battery``."""
    costs = {name: _total_cost(r, year, cfg, n_slots) for name, r in results.items()}
    base = costs["no_battery"]
    best = costs.get("perfect_foresight")
    b = cfg.battery
    usable_kwh = b.capacity_kwh * (b.max_soc_percent - b.min_soc_percent) / 100.0
    floor_kwh = b.capacity_kwh * b.min_soc_percent / 100.0
    local_hour = year.index[:n_slots].tz_convert(timezone).hour.to_numpy()
    local_day = year.index[:n_slots].tz_convert(timezone).date
    evening = np.isin(local_hour, list(LOW_SOC_HOURS))
    pv_kw = year.pv_kw.to_numpy()[:n_slots]
    imp = year.import_price_sek_per_kwh.to_numpy()[:n_slots]
    dearest = imp >= np.quantile(imp, 1.0 - PEAK_PRICE_SHARE)
    out = []
    for name, r in results.items():
        saved = base - costs[name]
        capture = None
        if best is not None and base - best > 1e-9 and name not in {"no_battery"}:
            capture = 100.0 * saved / (base - best)
        at_floor = evening & (r.soc_kwh <= floor_kwh + 0.01 * b.capacity_kwh)
        pv_total = float(np.sum(pv_kw))
        used_on_site = float(np.sum(np.minimum(r.pv_used_kw, pv_kw) - r.grid_export_kw))
        out.append(
            StrategyMetrics(
                name=name,
                cost_sek=costs[name],
                savings_sek=saved,
                capture_percent=capture,
                cycles=_SLOT_H * float(np.sum(r.battery_discharge_kw)) / usable_kwh,
                self_consumption_percent=100.0 * max(0.0, used_on_site) / pv_total
                if pv_total > 0
                else 0.0,
                peak_import_kw=float(np.max(r.grid_import_kw)),
                low_soc_events=len({d for d, hit in zip(local_day, at_floor, strict=True) if hit}),
                end_soc_kwh=float(r.soc_kwh[-1]),
                peak_price_import_kwh=_SLOT_H * float(np.sum(r.grid_import_kw[dearest])),
                water_heater_kwh=None
                if r.water_heater_kw is None
                else _SLOT_H * float(np.sum(r.water_heater_kw)),
                minutes_below_comfort=None
                if r.tank_temp_c is None
                else 15 * int(np.sum(r.tank_temp_c < COMFORT_MIN_C)),
            )
        )
    return out


def monthly_costs(
    results: dict[str, LoopResult],
    year: YearData,
    cfg: DarkstarConfig,
    *,
    n_slots: int,
    timezone: str,
) -> pd.DataFrame:
    """Cost per local calendar month and strategy [SEK], valued like the totals.

    Energy cost plus battery wear, minus the change in stored energy over the month at
    :func:`_stored_value_sek_per_kwh` (without it a strategy that carries energy into the
    next month looks worse in this month and better in the next).
    """
    months = year.index[:n_slots].tz_convert(timezone).strftime("%Y-%m")
    wear = cfg.battery_economics.battery_cycle_cost_kwh * _SLOT_H
    value = stored_energy_value_sek_per_kwh(year, cfg, n_slots)
    start_kwh = cfg.battery.capacity_kwh * cfg.battery.min_soc_percent / 100.0
    columns = {}
    for name, r in results.items():
        cost = (
            pd.Series(
                slot_costs_sek(r, year, n_slots)
                + wear * (r.battery_charge_kw + r.battery_discharge_kw),
                index=months,
            )
            .groupby(level=0)
            .sum()
        )
        soc_end = pd.Series(r.soc_kwh, index=months).groupby(level=0).last()
        soc_start = soc_end.shift(1).fillna(start_kwh)
        columns[name] = cost - (soc_end - soc_start) * value
    return pd.DataFrame(columns)


def write_csv(
    path: Path, results: dict[str, LoopResult], year: YearData, *, n_slots: int, timezone: str
) -> None:
    """Per-slot CSV: prices, PV, load, and every strategy's realised flows and SoC."""
    index = year.index[:n_slots].tz_convert(timezone)
    columns: dict[str, NDArray[np.float64]] = {
        "import_price_sek_per_kwh": year.import_price_sek_per_kwh.to_numpy()[:n_slots],
        "export_price_sek_per_kwh": year.export_price_sek_per_kwh.to_numpy()[:n_slots],
        "pv_kw": year.pv_kw.to_numpy()[:n_slots],
        "load_kw": year.load_kw.to_numpy()[:n_slots],
    }
    for name, r in results.items():
        for field in (
            "grid_import_kw",
            "grid_export_kw",
            "battery_charge_kw",
            "battery_discharge_kw",
            "soc_kwh",
            "planned_soc_kwh",
        ):
            columns[f"{name}.{field}"] = getattr(r, field)
    frame = pd.DataFrame(columns, index=pd.Index([t.isoformat() for t in index], name="start"))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.round(6).to_csv(path)


def _chart_png(
    monthly: pd.DataFrame, results: dict[str, LoopResult], year: YearData, n_slots: int
) -> bytes:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), constrained_layout=True)
    colors = {name: f"C{i}" for i, name in enumerate(monthly.columns)}
    monthly.plot.bar(ax=top, width=0.8, color=[colors[c] for c in monthly.columns])
    top.set_xlabel("month (local)")
    top.set_ylabel("energy cost + wear [SEK]")
    top.set_title("Monthly cost by strategy (lower is better)")
    top.grid(axis="y", alpha=0.3)
    base = np.cumsum(slot_costs_sek(results["no_battery"], year, n_slots))
    days = np.arange(n_slots) * _SLOT_H / 24.0
    for name, r in results.items():
        if name != "no_battery":
            saved = base - np.cumsum(slot_costs_sek(r, year, n_slots))
            bottom.plot(days, saved, label=name, color=colors.get(name))
    bottom.set_xlabel("day of the run")
    bottom.set_ylabel("savings vs no battery [SEK]")
    bottom.set_title("Cumulative energy-cost savings vs no battery (before wear)")
    bottom.legend()
    bottom.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def write_chart(
    png_path: Path,
    html_path: Path,
    *,
    metrics: list[StrategyMetrics],
    monthly: pd.DataFrame,
    results: dict[str, LoopResult],
    year: YearData,
    n_slots: int,
    title: str,
) -> None:
    """Write the chart as PNG and a self-contained HTML page with the metrics table."""
    png = _chart_png(monthly, results, year, n_slots)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(png)
    rows = "".join(
        f"<tr><td>{html.escape(m.name)}</td><td>{m.cost_sek:.2f}</td><td>{m.savings_sek:.2f}"
        f"</td><td>{'' if m.capture_percent is None else f'{m.capture_percent:.2f}'}</td>"
        f"<td>{m.cycles:.1f}</td><td>{m.self_consumption_percent:.1f}</td>"
        f"<td>{m.peak_import_kw:.2f}</td><td>{m.low_soc_events}</td>"
        f"<td>{m.peak_price_import_kwh:.1f}</td></tr>"
        for m in metrics
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "td,th{padding:4px 10px;text-align:right}table{border-collapse:collapse}"
        "tr:nth-child(even){background:#f3f3f3}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table><tr><th>strategy</th><th>cost SEK</th>"
        "<th>saved SEK</th><th>captured %</th><th>cycles</th><th>self-consumption %</th>"
        "<th>peak import kW</th><th>low-SoC days</th>"
        f"<th>import in dearest 5 % kWh</th></tr>{rows}</table>"
        f"<img alt='monthly costs and cumulative savings' style='max-width:100%' "
        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'></body></html>"
    )
    html_path.write_text(page, encoding="utf-8")


def print_report(
    console: Console, metrics: list[StrategyMetrics], monthly: pd.DataFrame, *, title: str
) -> None:
    """Print the metrics and the monthly costs as rich tables."""
    from rich.table import Table

    table = Table(title=title)
    water = any(m.water_heater_kwh is not None for m in metrics)
    headers = ["strategy", "cost SEK", "saved SEK", "captured", "cycles", "self-cons."]
    headers += ["peak import", "low-SoC days", "top-5 % import", "end SoC"]
    if water:
        headers += ["water kWh", f"tank < {COMFORT_MIN_C:.0f} °C"]
    for header in headers:
        table.add_column(header, justify="right")
    for m in metrics:
        cells = [
            m.name,
            f"{m.cost_sek:.2f}",
            f"{m.savings_sek:.2f}",
            "" if m.capture_percent is None else f"{m.capture_percent:.2f} %",
            f"{m.cycles:.1f}",
            f"{m.self_consumption_percent:.1f} %",
            f"{m.peak_import_kw:.2f} kW",
            str(m.low_soc_events),
            f"{m.peak_price_import_kwh:.1f} kWh",
            f"{m.end_soc_kwh:.2f} kWh",
        ]
        if water:
            cells += [f"{m.water_heater_kwh or 0.0:.1f}", f"{m.minutes_below_comfort or 0} min"]
        table.add_row(*cells)
    console.print(table)
    months = Table(title="Cost per month [SEK]: energy + wear - change in stored energy")
    months.add_column("month")
    for name in monthly.columns:
        months.add_column(str(name), justify="right")
    for month, row in monthly.iterrows():
        months.add_row(str(month), *(f"{v:.2f}" for v in row.to_numpy()))
    console.print(months)
