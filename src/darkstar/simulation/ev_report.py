"""``darkstar backtest --ev``: the commuting car and the capacity tariff in the closed loop.

Runs Kepler in the loop with the car charged smartly (Kepler plans it against its
configured departure and target) and with a plain charger (full power from arrival to the
target, known to the planner as load), and, when ``grid.capacity_tariff`` bills peaks, the
smart car once more with the tariff left out of the plan (peak-unaware). The bill is what
the meters saw: energy (import cost - export revenue) + battery wear + the capacity charge
of every month, less the value of energy left in the home battery and the car at the end
(the home battery's at the report's stored-energy value, the car's at the period's mean
import price over the charge efficiency: what putting it back would cost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table

from darkstar.physics.capacity import billed_peak_kw, capacity_charge_sek, counted_peaks_kw
from darkstar.simulation.backtest import EvPolicy, run_loop, stored_energy_value_sek_per_kwh
from darkstar.simulation.report import slot_costs_sek

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from darkstar.config.models import DarkstarConfig
    from darkstar.simulation.backtest import BacktestSpec, LoopResult
    from darkstar.simulation.datasets import YearData

__all__ = ["EvRow", "EvRun", "ev_rows", "ev_variants", "print_ev_report", "run_ev_variants"]

_SLOT_H = 0.25


@dataclass(frozen=True, kw_only=True)
class EvRun:
    """One variant of the car experiment: its name, loop result and wall time [s]."""

    name: str
    result: LoopResult
    seconds: float
    plans: int


@dataclass(frozen=True, kw_only=True)
class EvRow:
    """One row of the car table (money in SEK, energy in kWh, peaks in kW)."""

    name: str
    energy_sek: float
    wear_sek: float
    billed_peak_kw: float
    capacity_sek: float
    stored_credit_sek: float
    bill_sek: float
    car_charged_kwh: float
    car_mean_price_sek_per_kwh: float
    departures: int
    departures_below_target: int
    trip_shortfall_kwh: float
    plan_ms_mean: float


def ev_variants(cfg: DarkstarConfig, spec: BacktestSpec) -> list[tuple[str, BacktestSpec]]:
    """Return the runs of the experiment, named.

    The smart car, the plain charger, and (with a capacity tariff) the smart car planned
    without the tariff.
    """
    variants = [
        ("smart", replace(spec, ev=EvPolicy.SMART, peak_aware=True)),
        ("on_arrival", replace(spec, ev=EvPolicy.ON_ARRIVAL, peak_aware=True)),
    ]
    if cfg.grid.capacity_tariff.sek_per_kw_month > 0:
        variants.append(("smart_unaware", replace(spec, ev=EvPolicy.SMART, peak_aware=False)))
    return variants


def run_ev_variants(
    year: YearData,
    cfg: DarkstarConfig,
    spec: BacktestSpec,
    *,
    n_slots: int,
    timezone: str,
    progress: Callable[[str, int], None] | None = None,
) -> list[EvRun]:
    """Run every one of :func:`ev_variants` in the closed loop."""
    variants = ev_variants(cfg, spec)
    runs = []
    for name, variant in variants:
        t0 = time.perf_counter()

        def report(done: int, name: str = name) -> None:
            if progress is not None:
                progress(name, done)

        result = run_loop(
            year,
            cfg,
            variant,
            strategy="kepler",
            n_slots=n_slots,
            timezone=timezone,
            progress=report,
        )
        plans = -(-n_slots // (spec.replan_minutes // 15))
        runs.append(EvRun(name=name, result=result, seconds=time.perf_counter() - t0, plans=plans))
    return runs


def ev_rows(
    runs: list[EvRun], year: YearData, cfg: DarkstarConfig, *, n_slots: int, tz: ZoneInfo
) -> list[EvRow]:
    """Return the bill of every run (module docstring)."""
    tariff = cfg.grid.capacity_tariff
    imp = year.import_price_sek_per_kwh.to_numpy()[:n_slots]
    battery_value = stored_energy_value_sek_per_kwh(year, cfg, n_slots)
    car_value = float(np.mean(imp)) / cfg.ev.charge_efficiency
    b = cfg.battery
    start_kwh = b.capacity_kwh * b.min_soc_percent / 100.0
    starts = year.index[:n_slots].to_pydatetime()
    rows = []
    for run in runs:
        r = run.result
        energy = float(np.sum(slot_costs_sek(r, year, n_slots)))
        through = _SLOT_H * float(np.sum(r.battery_charge_kw + r.battery_discharge_kw))
        wear = cfg.battery_economics.battery_cycle_cost_kwh * through
        months = counted_peaks_kw(
            zip(starts, r.grid_import_kw, strict=True), tariff, tz=tz, slot_h=_SLOT_H
        )
        capacity = (
            sum(capacity_charge_sek(v, tariff) for v in months.values())
            if tariff.sek_per_kw_month > 0
            else 0.0
        )
        peaks = [billed_peak_kw(v, tariff.peaks_counted) for v in months.values()]
        car_start, car_end = r.ev_soc_kwh or (0.0, 0.0)
        credit = (float(r.soc_kwh[-1]) - start_kwh) * battery_value + (
            car_end - car_start
        ) * car_value
        car_kw = r.ev_charge_kw if r.ev_charge_kw is not None else np.zeros(n_slots)
        charged = _SLOT_H * float(np.sum(car_kw))
        below = [d for d in r.ev_departures if d.soc_percent < d.target_soc_percent - 0.5]
        rows.append(
            EvRow(
                name=run.name,
                energy_sek=energy,
                wear_sek=wear,
                billed_peak_kw=float(np.mean(peaks)) if peaks else 0.0,
                capacity_sek=capacity,
                stored_credit_sek=credit,
                bill_sek=energy + wear + capacity - credit,
                car_charged_kwh=charged,
                car_mean_price_sek_per_kwh=(
                    _SLOT_H * float(np.sum(car_kw * imp)) / charged if charged else 0.0
                ),
                departures=len(r.ev_departures),
                departures_below_target=len(below),
                trip_shortfall_kwh=sum(d.trip_shortfall_kwh for d in r.ev_departures),
                plan_ms_mean=r.solve_ms / max(1, run.plans),
            )
        )
    return rows


def print_ev_report(console: Console, rows: list[EvRow], *, title: str) -> None:
    """Print the car table."""
    table = Table(title=title)
    for header in (
        "strategy",
        "energy SEK",
        "wear SEK",
        "billed peak kW",
        "capacity SEK",
        "end credit SEK",
        "bill SEK",
        "car kWh",
        "price at car SEK/kWh",
        "left < target",
        "trip short kWh",
        "plan ms",
    ):
        if header == "strategy":
            table.add_column(header, no_wrap=True, min_width=13)
        else:
            table.add_column(header, justify="right")
    for r in rows:
        table.add_row(
            r.name,
            f"{r.energy_sek:.1f}",
            f"{r.wear_sek:.1f}",
            f"{r.billed_peak_kw:.2f}",
            f"{r.capacity_sek:.1f}",
            f"{r.stored_credit_sek:.1f}",
            f"{r.bill_sek:.1f}",
            f"{r.car_charged_kwh:.1f}",
            f"{r.car_mean_price_sek_per_kwh:.3f}",
            f"{r.departures_below_target}/{r.departures}",
            f"{r.trip_shortfall_kwh:.1f}",
            f"{r.plan_ms_mean:.0f}",
        )
    console.print(table)
