"""``darkstar demo``: plan the bundled example days, write schedules and charts, print a summary.

Each bundled example request is planned in full mode through the real pipeline; the demo
writes ``<out_dir>/<example>/schedule.json`` (DESIGN §3.2) and ``<out_dir>/<example>/plan.png``
(flows, import price and state of charge over local time) and prints a rich summary table
comparing Kepler's plan with the rule-based heuristic and an idle battery. It runs offline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from rich import box
from rich.markup import escape
from rich.table import Table

from darkstar.bench.planner import compare_plans, table_console
from darkstar.examples import example_request_paths, read_example_request
from darkstar.planner import PlanMode, plan_request
from darkstar.planner.output.schedule import write_schedule

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes
    from numpy.typing import NDArray
    from rich.console import Console

    from darkstar.bench.planner import PlannerBenchRow
    from darkstar.config.models import DarkstarConfig
    from darkstar.service.agent import AgentTick
    from darkstar.simulation.agent_run import AgentSummary

__all__ = ["DemoResult", "plot_schedule", "run_demo", "run_live_agent"]

logger = logging.getLogger(__name__)

CHART_SIZE_IN = (12.0, 7.0)
"""Width and height of each chart [inch]."""

CHART_DPI = 110
"""Resolution of the PNG charts [dots per inch]."""

_FLOW_LINES = (
    ("battery_charge_kw", "battery charge", "tab:green"),
    ("battery_discharge_kw", "battery discharge", "tab:blue"),
    ("grid_export_kw", "grid export", "tab:purple"),
)
"""Flows drawn as step lines in the top panel: (schedule field, label, colour)."""


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    """One planned example and the files written for it.

    Attributes
    ----------
    example : str
        Name of the example (file stem).
    status : str
        Plan status (``optimal``, ``feasible`` or ``fallback``).
    solve_time_ms : float
        Solver time of the pipeline [ms].
    energy_cost_sek : float
        Import cost - export revenue of the plan, from ``meta`` [SEK].
    costs : PlannerBenchRow
        Kepler vs heuristic vs do-nothing cost on the same solver input (wear included).
    schedule_path, chart_path : pathlib.Path
        The ``schedule.json`` and ``plan.png`` written.
    """

    example: str
    status: str
    solve_time_ms: float
    energy_cost_sek: float
    costs: PlannerBenchRow
    schedule_path: Path
    chart_path: Path


def _steps(rows: list[dict[str, Any]], key: str, *, scale: float = 1.0) -> list[float]:
    """Per-slot values of ``key`` with the last repeated, for ``step(where="post")``."""
    values = [scale * float(r[key]) for r in rows]
    return [*values, values[-1]]


def _draw_flows(
    ax: Axes, rows: list[dict[str, Any]], edges: NDArray[np.datetime64], slot_h: float
) -> Axes:
    """Top panel: PV, load, water and battery/grid flows [kW]; import price on a twin axis."""
    pv_kw = _steps(rows, "adjusted_pv_kwh", scale=1.0 / slot_h)
    load_kw = _steps(rows, "adjusted_load_kwh", scale=1.0 / slot_h)
    ax.fill_between(edges, pv_kw, step="post", color="gold", alpha=0.45, label="PV")
    ax.fill_between(
        edges,
        _steps(rows, "water_heating_kw"),
        step="post",
        color="tab:red",
        alpha=0.25,
        label="water heating",
    )
    ax.step(edges, load_kw, where="post", color="black", linewidth=1.2, label="load")
    for key, label, colour in _FLOW_LINES:
        ax.step(edges, _steps(rows, key), where="post", color=colour, linewidth=1.2, label=label)
    ax.set_ylabel("power [kW]")
    ax.set_ylim(bottom=0.0)
    ax.grid(visible=True, alpha=0.3)
    price_ax = ax.twinx()
    price_ax.step(
        edges,
        _steps(rows, "import_price_sek_per_kwh"),
        where="post",
        color="tab:orange",
        linewidth=1.6,
        label="import price (right)",
    )
    price_ax.set_ylabel("import price [SEK/kWh]")
    return price_ax


def _draw_soc(
    ax: Axes, rows: list[dict[str, Any]], edges: NDArray[np.datetime64], *, initial_soc_pct: float
) -> None:
    """Bottom panel: projected SoC at slot ends and the SoC target as a step line [%]."""
    soc_pct = [initial_soc_pct, *(float(r["projected_soc_percent"]) for r in rows)]
    ax.plot(edges, soc_pct, color="tab:blue", linewidth=1.6, label="projected SoC")
    ax.step(
        edges,
        _steps(rows, "soc_target_percent"),
        where="post",
        color="tab:gray",
        linestyle="--",
        linewidth=1.2,
        label="SoC target",
    )
    ax.set_ylabel("state of charge [%]")
    ax.set_ylim(0.0, 105.0)
    ax.grid(visible=True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncols=2)


def _utc_edges(rows: list[dict[str, Any]]) -> NDArray[np.datetime64]:
    """Slot starts plus the last end, as naive UTC ``datetime64`` (matplotlib's convention)."""
    moments = [datetime.fromisoformat(r["start"]) for r in rows]
    moments.append(datetime.fromisoformat(rows[-1]["end"]))
    return np.array([m.astimezone(UTC).replace(tzinfo=None) for m in moments], "datetime64[s]")


def plot_schedule(
    document: dict[str, Any],
    path: Path,
    *,
    title: str,
    initial_soc_pct: float,
) -> None:
    """Draw a ``schedule.json`` document as a two-panel PNG chart over local time.

    Top: PV, load, water heating, battery charge and discharge and grid export [kW], with the
    import price as a step line on the right axis [SEK/kWh]. Bottom: projected SoC and the
    SoC target [%].

    Parameters
    ----------
    document : dict
        A ``schedule.json`` document (DESIGN §3.2) with at least one slot.
    path : pathlib.Path
        Where to write the PNG (the folder must exist).
    title : str
        Chart title.
    initial_soc_pct : float
        State of charge at the start of the horizon [%], where the SoC line starts.
    """
    rows = document["schedule"]
    zone = ZoneInfo(document["meta"].get("timezone") or "UTC")
    edges = _utc_edges(rows)
    slot_h = float((edges[1] - edges[0]) / np.timedelta64(1, "h"))
    fig = Figure(figsize=CHART_SIZE_IN, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.0])
    bottom.xaxis_date(zone)
    with rc_context({"date.converter": "concise"}):
        price_ax = _draw_flows(top, rows, edges, slot_h)
        _draw_soc(bottom, rows, edges, initial_soc_pct=initial_soc_pct)
    handles, labels = top.get_legend_handles_labels()
    price_handles, price_labels = price_ax.get_legend_handles_labels()
    fig.legend(
        handles + price_handles,
        labels + price_labels,
        loc="outside lower center",
        fontsize="small",
        ncols=len(labels) + len(price_labels),
    )
    for ax in (top, price_ax, bottom):
        ax.margins(x=0.0)
    bottom.set_xlabel(f"local time ({zone.key})")
    fig.suptitle(title)
    fig.savefig(path, dpi=CHART_DPI)


def _summary_table(results: list[DemoResult]) -> Table:
    table = Table(
        title=escape("darkstar demo: bundled examples planned in full mode [SEK]"),
        box=box.SIMPLE_HEAD,
        caption=escape(
            "energy = import - export revenue (meta.energy_cost_sek); Kepler/heuristic/nothing "
            "= energy + wear, on the same adjusted forecasts."
        ),
    )
    table.add_column("example")
    for header in ("slots", "status", "solve ms", "energy", "Kepler", "heuristic", "nothing"):
        table.add_column(header, justify="left" if header == "status" else "right")
    for r in results:
        table.add_row(
            r.example,
            str(r.costs.n_slots),
            r.status,
            f"{r.solve_time_ms:.0f}",
            f"{r.energy_cost_sek:.2f}",
            f"{r.costs.kepler_cost_sek:.2f}",
            f"{r.costs.heuristic_cost_sek:.2f}",
            f"{r.costs.do_nothing_cost_sek:.2f}",
        )
    return table


def run_demo(out_dir: Path, *, console: Console | None = None) -> list[DemoResult]:
    """Plan every bundled example (mode full), write schedules and charts, print a summary.

    Parameters
    ----------
    out_dir : pathlib.Path
        Output folder; ``<out_dir>/<example>/schedule.json`` and ``plan.png`` are written
        (folders are created, existing files replaced).
    console : rich.console.Console, optional
        Where to print the summary (default: stdout).

    Returns
    -------
    list of DemoResult
        One per bundled example, sorted by name.
    """
    console = console or table_console()
    results = []
    for request_path in example_request_paths():
        name = request_path.stem
        outcome = plan_request(read_example_request(name), mode=PlanMode.FULL)
        meta = outcome.document["meta"]
        folder = out_dir / name
        schedule_path = folder / "schedule.json"
        chart_path = folder / "plan.png"
        folder.mkdir(parents=True, exist_ok=True)  # write_schedule does not create folders
        write_schedule(outcome.document, schedule_path)
        bat = outcome.kepler_input.battery
        initial_soc_pct = 0.0 if bat is None else 100.0 * bat.initial_soc_kwh / bat.capacity_kwh
        plot_schedule(
            outcome.document,
            chart_path,
            title=f"{name}: {meta['status']}, energy cost {meta['energy_cost_sek']:.2f} SEK "
            f"(mode {meta['mode']}, solved in {meta['solve_time_ms']:.0f} ms)",
            initial_soc_pct=initial_soc_pct,
        )
        logger.info("demo %s: wrote %s and %s", name, schedule_path, chart_path)
        results.append(
            DemoResult(
                example=name,
                status=str(meta["status"]),
                solve_time_ms=float(meta["solve_time_ms"]),
                energy_cost_sek=float(meta["energy_cost_sek"]),
                costs=compare_plans(name, outcome),
                schedule_path=schedule_path,
                chart_path=chart_path,
            )
        )
    console.print(_summary_table(results))
    for r in results:
        console.print(f"wrote {escape(str(r.schedule_path))}")
        console.print(f"wrote {escape(str(r.chart_path))}")
    return results


LIVE_ROWS = 12
"""Latest slots shown in the live agent table."""


def _agent_table(ticks: list[AgentTick], *, days: float, speed: float) -> Table:
    """Live table of the latest agent slots (local time of the replayed house)."""
    from darkstar.service.agent import PlanEvent
    from darkstar.simulation.agent_run import DATA_TIMEZONE

    zone = ZoneInfo(DATA_TIMEZONE)
    table = Table(
        title=escape(f"darkstar agent: simulated home, {days:g} days at {speed:g}x"),
        box=box.SIMPLE_HEAD,
        caption=escape("grid: import positive [kW]; cost: import - export revenue so far [SEK]"),
    )
    for header in ("sim time", "SoC %", "action", "grid kW", "cost SEK", "last plan"):
        table.add_column(header, justify="left" if header in {"action", "last plan"} else "right")
    last_plan = "-"
    first_shown = len(ticks) - LIVE_ROWS
    for i, tick in enumerate(ticks):
        local = tick.at.astimezone(zone)
        if tick.plan_event is PlanEvent.PLANNED:
            last_plan = f"{local:%H:%M} {tick.plan_status} ({tick.solve_ms or 0.0:.0f} ms)"
        elif tick.plan_event is PlanEvent.SKIPPED:
            last_plan = f"{local:%H:%M} skipped: SoC unavailable"
        if i >= first_shown:
            table.add_row(
                f"{local:%Y-%m-%d %H:%M}",
                "n/a" if tick.soc_percent is None else f"{tick.soc_percent:.1f}",
                tick.action,
                f"{tick.grid_kw:+.2f}",
                f"{tick.cost_sek:.2f}",
                last_plan,
            )
    return table


def run_live_agent(
    out_dir: Path,
    *,
    days: float,
    speed: float,
    cfg: DarkstarConfig,
    console: Console | None = None,
) -> AgentSummary:
    """Run the agent loop on the simulated home with a live table, then print the paths.

    Parameters
    ----------
    out_dir : pathlib.Path
        Where the agent writes ``schedule.json`` and ``planner_learning.db``.
    days : float
        Simulated duration [day].
    speed : float
        Simulated seconds per real second (0: as fast as possible).
    cfg : DarkstarConfig
        The configuration of the house and planner.
    console : rich.console.Console, optional
        Where to print (default: stdout).

    Returns
    -------
    AgentSummary
        What :func:`darkstar.simulation.agent_run.run_agent` returned.
    """
    from rich.live import Live

    from darkstar.simulation.agent_run import run_agent

    console = console or table_console()
    ticks: list[AgentTick] = []
    with Live(_agent_table(ticks, days=days, speed=speed), console=console) as live:

        def on_tick(tick: AgentTick) -> None:
            ticks.append(tick)
            live.update(_agent_table(ticks, days=days, speed=speed))

        summary = run_agent(
            days=days, speed=speed, start=None, out_dir=out_dir, cfg=cfg, on_tick=on_tick
        )
    if not console.is_terminal:
        console.line()  # a non-interactive Live leaves the cursor after its last render
    console.print(
        f"agent: {summary.slots_run} slots, {summary.plans_made} plans "
        f"({summary.plans_skipped} skipped), cost {summary.total_cost_sek:.2f} SEK"
    )
    metrics = summary.last_day_metrics
    if metrics is not None and summary.last_day_start is not None:
        deviation = metrics.cost_deviation_sek
        console.print(
            f"last full day {summary.last_day_start.date()}: actual {metrics.actual_cost_sek:.2f}"
            f" SEK, planned {metrics.planned_cost_sek or 0.0:.2f} SEK, deviation "
            f"{0.0 if deviation is None else deviation:+.2f} SEK"
        )
    console.print(f"wrote {escape(str(summary.schedule_path))}")
    console.print(f"wrote {escape(str(summary.db_path))}")
    return summary
