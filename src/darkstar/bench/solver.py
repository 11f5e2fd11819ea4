r"""Solver benchmark: solve time, proven gap and model size of Kepler on realistic instances.

Instances come from the two bundled 192-slot example days (``se4-winter-2018-01-17`` and
``dk1-negative-prices-2018-03-17``), taken in turn. Each day is tiled with copies shifted by
+2 days (its own length) until it covers the requested length plus a random start offset of
up to one day, then sliced there. Per instance, seeded: load x U(0.8, 1.2) per slot, start
SoC U(10, 90) %, water already heated today U(0, 6) kWh. Prices stay real unless
``price_noise_frac`` > 0 (stress mode), which multiplies both prices of each slot by
U(1 - x, 1 + x).

Every instance is planned twice through the real pipeline
(:func:`darkstar.planner.plan_request`, mode ``baseline``): once with realistic water heating
(:data:`WATER_HEATING_CONFIG`) and once without a water heater. The battery, grid and wear
settings are the example's. The time reported is the pipeline's own
:attr:`~darkstar.planner.solver.types.SolverReport.solve_time_ms`.
"""

from __future__ import annotations

import copy
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from rich import box
from rich.markup import escape
from rich.table import Table

from darkstar.bench.planner import table_console
from darkstar.errors import InputError
from darkstar.examples import read_example_request
from darkstar.planner import PlanMode, plan_request

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

__all__ = [
    "BASE_EXAMPLES",
    "CONFIGS",
    "WATER_HEATING_CONFIG",
    "SolverBenchRow",
    "build_bench_request",
    "highs_version",
    "print_solver_bench",
    "run_solver_bench",
]

logger = logging.getLogger(__name__)

BASE_EXAMPLES: Final = ("se4-winter-2018-01-17", "dk1-negative-prices-2018-03-17")
"""Bundled example days the instances are cut from (both 192 x 15 min)."""

WATER_HEATING_CONFIG: Final[dict[str, Any]] = {
    "power_kw": 3.0,
    "min_kwh_per_day": 6.0,
    "block_start_penalty_sek": 0.5,
    "max_hours_between_heating": 8.0,
    "comfort_level": 3,
    "min_spacing_hours": 2.0,
    "defer_up_to_hours": 3.0,
    "enable_top_ups": True,
}
"""Realistic water heating: every feature that makes the MILP hard is switched on."""

CONFIGS: Final = ("water", "no water", "water+ev+peak")
"""The configurations each instance is planned with (the last adds :data:`EV_STATE` with
:data:`EV_CONFIG` and :data:`CAPACITY_TARIFF` to the water heating)."""

EV_CONFIG: Final[dict[str, Any]] = {
    "capacity_kwh": 60.0,
    "max_charge_kw": 11.0,
    "min_charge_kw": 4.1,
    "charge_efficiency": 0.9,
}
"""A three-phase 11 kW charger (4.1 kW minimum) and a 60 kWh car."""

EV_STATE: Final[dict[str, Any]] = {"soc_percent": 30.0, "target_soc_percent": 80.0}
"""The car at the start: plugged in, leaving 14 h after the first slot with 80 % wanted."""

EV_DEPARTURE: Final = timedelta(hours=14)

CAPACITY_TARIFF: Final[dict[str, Any]] = {
    "sek_per_kw_month": 80.0,
    "peaks_counted": 3,
    "distinct_days": True,
    "hours": "7-19",
    "night_factor": 0.5,
}
"""80 SEK/kW/month on the mean of the month's three highest daily peaks, nights at half."""

MONTH_PEAKS_KW: Final = [4.0, 3.5, 3.0]
"""The month's counted peaks so far in the ``water+ev+peak`` configuration [kW]."""

_TILE_SHIFT: Final = timedelta(days=2)
"""Shift between tiled copies of a base day; equals its 192 x 15 min length."""

_MAX_OFFSET_H: Final = 24.0
"""Largest random start offset into the tiled days [h]; one day, so every start hour occurs."""

_LOAD_NOISE_FRAC: Final = 0.2
"""Half-width of the multiplicative load noise [fraction]."""

_SOC_RANGE_PCT: Final = (10.0, 90.0)
"""Range of the random start state of charge [%]."""

_WATER_HEATED_RANGE_KWH: Final = (0.0, 6.0)
"""Range of the random energy already heated into the water today [kWh]."""


@dataclass(frozen=True, kw_only=True)
class SolverBenchRow:
    """Statistics of one (horizon length, configuration) cell of the solver bench.

    Attributes
    ----------
    n_slots : int
        Horizon length [slots of 15 min].
    config : str
        ``"water"``, ``"no water"`` or ``"water+ev+peak"``.
    n_instances : int
        Instances solved.
    median_solve_ms, p95_solve_ms, max_solve_ms : float
        Solve time over the instances [ms]; p95 is linearly interpolated.
    max_mip_gap_frac : float
        Largest relative gap the solver proved [fraction]; NaN if no instance reported one.
    status_counts : dict of str to int
        Instances per plan status (``optimal``, ``feasible``, ``fallback``).
    n_variables, n_constraints, n_binaries : int
        Model size of the first instance.
    mip_gap_frac : float
        The ``kepler.mip_gap`` the solver was asked to stop at [fraction].
    price_noise_frac : float
        Half-width of the price noise (0 = real prices) [fraction].
    n_warned : int
        Instances whose plan carried warnings (e.g. a water quota that cannot be met).
    slowest : str
        The slowest instance: base example and local start of its horizon.
    """

    n_slots: int
    config: str
    n_instances: int
    median_solve_ms: float
    p95_solve_ms: float
    max_solve_ms: float
    max_mip_gap_frac: float
    status_counts: dict[str, int] = field(hash=False)
    n_variables: int
    n_constraints: int
    n_binaries: int
    mip_gap_frac: float
    price_noise_frac: float
    n_warned: int
    slowest: str


def highs_version() -> str:
    """Version of the installed ``highspy`` package, or ``"unknown"``."""
    try:
        return version("highspy")
    except PackageNotFoundError:
        return "unknown"


def _shifted_slots(
    slots: list[dict[str, Any]], *, copy_index: int, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Copy ``slots`` with every start moved by ``copy_index`` x :data:`_TILE_SHIFT`."""
    out = []
    for slot in slots:
        moved = dict(slot)
        start = datetime.fromisoformat(slot["start"]) + copy_index * _TILE_SHIFT
        moved["start"] = start.astimezone(zone).isoformat()
        out.append(moved)
    return out


def build_bench_request(
    base: dict[str, Any],
    *,
    n_slots: int,
    rng: np.random.Generator,
    price_noise_frac: float = 0.0,
) -> dict[str, Any]:
    """Cut one randomised bench instance (a plan request) out of a base example day.

    Parameters
    ----------
    base : dict
        A decoded plan request (DESIGN §3.1) of 15-min slots spanning two days.
    n_slots : int
        Length of the instance [slots].
    rng : numpy.random.Generator
        Source of the offset, load noise, start SoC, water state and price noise.
    price_noise_frac : float, default 0.0
        Multiply each slot's import and export price by U(1 - x, 1 + x) [fraction].

    Returns
    -------
    dict
        A plan request with ``base``'s timezone and config (deep-copied) and the new slots
        and state.
    """
    zone = ZoneInfo(base["timezone"])
    slots_per_h = (
        3600.0
        / (
            datetime.fromisoformat(base["slots"][1]["start"])
            - datetime.fromisoformat(base["slots"][0]["start"])
        ).total_seconds()
    )
    offset = int(rng.integers(0, round(_MAX_OFFSET_H * slots_per_h) + 1))
    tiled: list[dict[str, Any]] = []
    copy_index = 0
    while len(tiled) < offset + n_slots:
        tiled += _shifted_slots(base["slots"], copy_index=copy_index, zone=zone)
        copy_index += 1
    slots = tiled[offset : offset + n_slots]
    load_factor = rng.uniform(1.0 - _LOAD_NOISE_FRAC, 1.0 + _LOAD_NOISE_FRAC, size=n_slots)
    price_factor = rng.uniform(1.0 - price_noise_frac, 1.0 + price_noise_frac, size=n_slots)
    for slot, f_load, f_price in zip(slots, load_factor, price_factor, strict=True):
        slot["load_forecast_kwh"] = round(float(slot["load_forecast_kwh"] * f_load), 6)
        if price_noise_frac > 0:
            for key in ("import_price_sek_per_kwh", "export_price_sek_per_kwh"):
                slot[key] = round(float(slot[key] * f_price), 6)
    return {
        "timezone": base["timezone"],
        "slots": slots,
        "state": {
            "soc_percent": round(float(rng.uniform(*_SOC_RANGE_PCT)), 3),
            "water_heated_today_kwh": round(float(rng.uniform(*_WATER_HEATED_RANGE_KWH)), 3),
        },
        "config": copy.deepcopy(base.get("config", {})),
    }


def _with_config(request: dict[str, Any], *, config: str, mip_gap: float) -> dict[str, Any]:
    """Return ``request`` with the bench configuration ``config`` merged into its config."""
    out = dict(request)
    cfg = copy.deepcopy(request["config"])
    cfg.setdefault("system", {})["has_water_heater"] = config != "no water"
    if config != "no water":
        cfg["water_heating"] = dict(WATER_HEATING_CONFIG)
    if config == "water+ev+peak":
        cfg["ev"] = dict(EV_CONFIG)
        cfg.setdefault("grid", {})["capacity_tariff"] = dict(CAPACITY_TARIFF)
        first = datetime.fromisoformat(request["slots"][0]["start"])
        out["state"] = {
            **request["state"],
            "ev": {
                **EV_STATE,
                "plugged_in": True,
                "departure": (first + EV_DEPARTURE).isoformat(),
            },
            "month_peaks_kw": list(MONTH_PEAKS_KW),
        }
    cfg.setdefault("kepler", {})["mip_gap"] = mip_gap
    out["config"] = cfg
    return out


@dataclass(frozen=True, kw_only=True)
class _Solve:
    """What one planned instance reports."""

    label: str
    solve_ms: float
    mip_gap_frac: float
    status: str
    warned: bool
    model_size: tuple[int, int, int]


def _solve_one(request: dict[str, Any], *, label: str) -> _Solve:
    """Plan ``request`` through the real pipeline (mode baseline) and keep the solver facts."""
    outcome = plan_request(request, mode=PlanMode.BASELINE)
    rep = outcome.result.report
    return _Solve(
        label=label,
        solve_ms=rep.solve_time_ms,
        mip_gap_frac=rep.mip_gap,
        status=str(outcome.result.status),
        warned=bool(outcome.result.warnings),
        model_size=(rep.n_variables, rep.n_constraints, rep.n_binaries),
    )


def _summarise(
    solves: list[_Solve],
    *,
    n_slots: int,
    config: str,
    mip_gap: float,
    price_noise_frac: float,
) -> SolverBenchRow:
    """Fold the instances of one (length, configuration) cell into a row."""
    times_ms = np.array([s.solve_ms for s in solves])
    gaps = np.array([s.mip_gap_frac for s in solves])
    finite_gaps = gaps[np.isfinite(gaps)]
    n_variables, n_constraints, n_binaries = solves[0].model_size
    slowest = solves[int(np.argmax(times_ms))]
    return SolverBenchRow(
        n_slots=n_slots,
        config=config,
        n_instances=len(solves),
        median_solve_ms=float(np.median(times_ms)),
        p95_solve_ms=float(np.percentile(times_ms, 95)),
        max_solve_ms=float(np.max(times_ms)),
        max_mip_gap_frac=float(np.max(finite_gaps)) if finite_gaps.size else float("nan"),
        status_counts=dict(Counter(s.status for s in solves)),
        n_variables=n_variables,
        n_constraints=n_constraints,
        n_binaries=n_binaries,
        mip_gap_frac=mip_gap,
        price_noise_frac=price_noise_frac,
        n_warned=sum(s.warned for s in solves),
        slowest=slowest.label,
    )


def run_solver_bench(
    *,
    slot_counts: Sequence[int],
    repeats: int,
    mip_gap: float,
    price_noise_frac: float = 0.0,
    seed: int = 0,
) -> list[SolverBenchRow]:
    """Plan ``repeats`` random instances per horizon length, with and without water heating.

    Parameters
    ----------
    slot_counts : sequence of int
        Horizon lengths to bench [slots of 15 min], each > 0.
    repeats : int
        Instances per length (the same instances serve both configurations), > 0.
    mip_gap : float
        ``kepler.mip_gap`` the solver stops at [fraction].
    price_noise_frac : float, default 0.0
        Stress mode: multiply each slot's prices by U(1 - x, 1 + x); 0 <= x <= 1 [fraction].
    seed : int, default 0
        Seed of the instance generator; the same seed gives the same instances.

    Returns
    -------
    list of SolverBenchRow
        One row per (length, configuration), in the order of ``slot_counts`` then
        :data:`CONFIGS`.

    Raises
    ------
    InputError
        If a length or ``repeats`` is not positive or ``price_noise_frac`` is out of range.
    """
    if not slot_counts or any(n <= 0 for n in slot_counts):
        raise InputError("sizes", f"horizon lengths must be positive, got {list(slot_counts)}")
    if repeats <= 0:
        raise InputError("repeats", f"must be positive, got {repeats}")
    if not 0.0 <= price_noise_frac <= 1.0:
        raise InputError("price_noise_frac", f"must be within [0, 1], got {price_noise_frac}")
    bases = {name: read_example_request(name) for name in BASE_EXAMPLES}
    rows = []
    for n_slots in slot_counts:
        rng = np.random.default_rng([seed, n_slots])
        instances = []
        for i in range(repeats):
            name = BASE_EXAMPLES[i % len(BASE_EXAMPLES)]
            request = build_bench_request(
                bases[name], n_slots=n_slots, rng=rng, price_noise_frac=price_noise_frac
            )
            instances.append((f"{name} from {request['slots'][0]['start']}", request))
        for config in CONFIGS:
            solves = [
                _solve_one(_with_config(request, config=config, mip_gap=mip_gap), label=label)
                for label, request in instances
            ]
            row = _summarise(
                solves,
                n_slots=n_slots,
                config=config,
                mip_gap=mip_gap,
                price_noise_frac=price_noise_frac,
            )
            logger.info(
                "bench %d slots, %s: median %.1f ms, max %.1f ms (%s)",
                n_slots,
                config,
                row.median_solve_ms,
                row.max_solve_ms,
                row.slowest,
            )
            rows.append(row)
    return rows


def _fmt_gap(gap_frac: float) -> str:
    return "-" if not np.isfinite(gap_frac) else f"{100.0 * gap_frac:.4f}%"


def _fmt_status(row: SolverBenchRow) -> str:
    text = " ".join(f"{v} {k}" for k, v in sorted(row.status_counts.items()))
    return f"{text} ({row.n_warned} warned)" if row.n_warned else text


def print_solver_bench(rows: Sequence[SolverBenchRow], *, console: Console | None = None) -> None:
    """Print the solver bench as a rich table titled with the machine and HiGHS version.

    Parameters
    ----------
    rows : sequence of SolverBenchRow
        Output of :func:`run_solver_bench`.
    console : rich.console.Console, optional
        Where to print (default: a new console on stdout).
    """
    console = console or table_console()
    title = f"Kepler solver bench: {os.cpu_count()} CPUs, HiGHS {highs_version()}"
    if rows:
        title += f", mip_gap {100.0 * rows[0].mip_gap_frac:g} %"
        if rows[0].price_noise_frac > 0:
            title += f", STRESS prices x U(1 ± {rows[0].price_noise_frac:g})"
    table = Table(
        title=escape(title),
        box=box.SIMPLE_HEAD,
        caption=escape(
            "Solve times [ms] are the pipeline's solve_time_ms (mode baseline), 15-min "
            "slots; gap = largest proven MIP gap; vars/rows/bin = model size of the first "
            "instance. Target (DESIGN §4): 192 slots with water, median < 300 ms, gap <= 0.5 %."
        ),
    )
    for header in ("slots", "config", "n", "median", "p95", "max", "gap"):
        table.add_column(header, justify="left" if header == "config" else "right")
    table.add_column("status")
    for header in ("vars", "rows", "bin"):
        table.add_column(header, justify="right")
    for row in rows:
        table.add_row(
            str(row.n_slots),
            row.config,
            str(row.n_instances),
            f"{row.median_solve_ms:.0f}",
            f"{row.p95_solve_ms:.0f}",
            f"{row.max_solve_ms:.0f}",
            _fmt_gap(row.max_mip_gap_frac),
            _fmt_status(row),
            str(row.n_variables),
            str(row.n_constraints),
            str(row.n_binaries),
        )
    console.print(table)
    for row in rows:
        console.print(
            f"slowest {row.n_slots} {row.config}: {row.slowest} ({row.max_solve_ms:.0f} ms)"
        )
