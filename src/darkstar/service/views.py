"""Read models of the running service: plain JSON-ready dicts for the web API.

Each function takes the :class:`~darkstar.service.runtime.Runtime` and returns one
resource of ``docs/api.md``; the caller holds no lock, each function takes
``runtime.lock`` for the moments it reads the agent. Reads of the learning store that
take more than a few rows run outside it (SQLite in WAL mode: they see the last commit and
never wait for the agent's writes), so a chart's query does not hold up the agent or the
other requests. Times are ISO strings with the house's
local offset; powers kW, energies kWh, money SEK.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from darkstar.learning.analyst import local_day_bounds
from darkstar.learning.reflex import Analyzer, Assessment, describe_signal
from darkstar.learning.reflex.analyzers import (
    CAPACITY_FLOOR_FRAC,
    CONFIDENCE_BOUNDS,
    ROI_BOUNDS,
    SAFETY_BOUNDS,
)
from darkstar.learning.store import StoreError
from darkstar.learning.store.forecasts import read_forecasts
from darkstar.learning.store.repository import (
    ObservedSlot,
    metrics_of,
    read_observations,
    read_plan_vs_actual,
)
from darkstar.learning.store.strategy_log import (
    StrategyKind,
    StrategyRecord,
    read_strategy_log,
)
from darkstar.physics.capacity import billed_peak_kw, capacity_charge_sek
from darkstar.physics.timegrid import to_local_iso
from darkstar.service.agent import SLOT
from darkstar.service.reflex_job import REFLEX_LOCAL_TIME, next_reflex_run

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from zoneinfo import ZoneInfo

    from darkstar.learning.store import Store
    from darkstar.service.agent import AgentLoop
    from darkstar.service.runtime import Job, Override, Runtime, SlotMemory

__all__ = [
    "aurora_view",
    "executor_view",
    "forecasts_view",
    "history_view",
    "job_view",
    "learning_view",
    "override_view",
    "performance_view",
    "planner_debug_view",
    "reflex_view",
    "status_view",
    "strategy_log_view",
]

_SLOT_H = SLOT.total_seconds() / 3600.0


def override_view(override: Override | None, tz: ZoneInfo) -> dict[str, Any] | None:
    """Override as JSON, or ``None``."""
    if override is None:
        return None
    return {
        "kind": override.kind,
        "until": to_local_iso(override.until, tz),
        "created_at": to_local_iso(override.created_at, tz),
    }


def job_view(job: Job) -> dict[str, Any]:
    """Return a job as JSON (wall-clock times in UTC)."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": job.progress,
        "message": job.message,
        "created_at": job.created_at.isoformat(),
        "finished_at": None if job.finished_at is None else job.finished_at.isoformat(),
    }


def planner_debug_view(runtime: Runtime) -> dict[str, Any] | None:
    """Return the plan in force's ``planner_debug.json`` document; ``None`` before a plan.

    The document is built once per plan and never changed, so it is returned as is.
    """
    with runtime.lock:
        return runtime.agent.plan_debug


def _local_midnight(moment: datetime, tz: ZoneInfo) -> datetime:
    return local_day_bounds(moment.astimezone(tz).date(), tz)[0]


def status_view(runtime: Runtime) -> dict[str, Any]:
    """Return the live status (``Status`` in ``docs/api.md``)."""
    with runtime.lock:
        agent = runtime.agent
        house, tz, flows = agent.house, agent.tz, agent.last_flows_kw
        row = agent.current_row()
        document = agent.plan_document
        meta = None if document is None else document["meta"]
        prices = agent.prices_now() or (None, None)
        today = _observed_since(runtime, _local_midnight(house.now, tz))
        return {
            "now": to_local_iso(house.now, tz),
            "timezone": str(tz),
            "running": runtime.running,
            "speed": runtime.speed if runtime.speed < float("inf") else 0.0,
            "soc_percent": agent.observe_soc(),
            # mean powers of the last slot, from the counters (0 before the first one)
            "battery_kw": flows.get("battery_charge_kwh", 0.0)
            - flows.get("battery_discharge_kwh", 0.0),
            "grid_kw": flows.get("grid_import_kwh", 0.0) - flows.get("grid_export_kwh", 0.0),
            "pv_kw": flows.get("pv_kwh", 0.0),
            "load_kw": flows.get("load_kwh", 0.0),
            "water_temp_c": agent.water_temp_c(),
            "import_price_sek_per_kwh": prices[0],
            "export_price_sek_per_kwh": prices[1],
            "current_action": None if row is None else row["action"],
            "current_reason": None if row is None else row["reason"],
            "plan": {
                "planned_at": None if meta is None else meta["planned_at"],
                "status": "none" if meta is None else meta["status"],
                "objective_sek": None if meta is None else meta["objective_sek"],
                "solve_time_ms": None if meta is None else meta["solve_time_ms"],
            },
            "s_index": None if meta is None else meta.get("s_index"),
            "executor": {
                "shadow": agent.shadow,
                "override": override_view(runtime.override, tz),
                "water_override": override_view(runtime.water_override, tz),
                "safe_state": agent.safe_state,
            },
            "cost_today_sek": sum(o.energy_cost_sek for o in today),
            "water_planned": agent.plans_water,
            "water_cold_minutes_today": _cold_minutes(today),
            "problems": runtime.problems(),
            "inputs": inputs_view(agent.world.inputs(house.now), tz),
            "ev": _ev_view(agent, row, meta),
            "capacity_tariff": _capacity_view(agent, meta),
        }


def _ev_view(
    agent: AgentLoop, row: Mapping[str, Any] | None, meta: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Return the car's status, or None without one (``Status.ev``)."""
    if not (agent.cfg.system.has_ev and agent.world.entities.has_ev):
        return None
    state, tz = agent.observe_ev(), agent.tz
    planned = None if meta is None else meta.get("ev")
    return {
        "soc_percent": None if state is None else state.soc_percent,
        "plugged_in": None if state is None else state.plugged_in,
        "departure": None
        if state is None or state.departure is None
        else to_local_iso(state.departure, tz),
        "target_soc_percent": agent.cfg.ev.target_soc_percent,
        "charging_kw": None if row is None else row.get("ev_charging_kw"),
        "target_met": None if planned is None else planned["target_met"],
        "shortfall_kwh": None if planned is None else planned["shortfall_kwh"],
        "problem": agent.ev_problem,
    }


def _capacity_view(agent: AgentLoop, meta: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return the month's counted peaks and their charge, or None without a tariff."""
    tariff = agent.cfg.grid.capacity_tariff
    if tariff.sek_per_kw_month <= 0:
        return None
    peaks = sorted(agent.month_peaks_kw(), reverse=True)[: tariff.peaks_counted]
    planned = None if meta is None else meta.get("capacity_tariff")
    return {
        "month": agent.house.now.astimezone(agent.tz).strftime("%Y-%m"),
        "sek_per_kw_month": tariff.sek_per_kw_month,
        "peaks_counted": tariff.peaks_counted,
        "peaks_kw": peaks,
        "billed_peak_kw": billed_peak_kw(peaks, tariff.peaks_counted),
        "charge_sek": capacity_charge_sek(peaks, tariff),
        "planned_billed_peak_kw": None if planned is None else planned["billed_peak_kw_planned"],
    }


def inputs_view(inputs: Mapping[str, Any], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Where each planning input came from, how far or how old, and its fault (JSON rows).

    ``inputs`` is :meth:`World.inputs`; rows: ``{"name", "source", "detail", "fault"}``.
    """
    rows = []
    prices = inputs.get("prices") or {}
    if prices:
        known = prices.get("known_until")
        detail = None if known is None else f"known until {_local(known, tz)}"
        if prices.get("last_fetch_at"):
            detail = f"{detail}; last fetched {_local(prices['last_fetch_at'], tz)}"
        rows.append(_input_row("Prices", prices, detail))
    if "pv" in inputs:
        pv = inputs["pv"]
        issued = pv.get("issued_at")
        rows.append(_input_row("PV forecast", pv, issued and f"issued {_local(issued, tz)}"))
        load = inputs.get("load") or {}
        rows.append(_input_row("Load forecast", load, f"{load.get('days', 0)} days of history"))
    elif "forecasts" in inputs:
        rows.append(_input_row("Forecasts", inputs["forecasts"], None))
    if inputs.get("backfill"):
        rows.append(
            {
                "name": "Backfill",
                "source": "house history",
                "detail": inputs["backfill"],
                "fault": None,
            }
        )
    return rows


def _input_row(name: str, data: Mapping[str, Any], detail: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "source": data.get("source"),
        "detail": detail,
        "fault": data.get("fault"),
    }


def _local(iso: str, tz: ZoneInfo) -> str:
    """``2018-05-03 00:00`` in the house's local time (for words, not for machines)."""
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M")


COMFORT_MIN_C = 40.0
"""Hot water below this at the end of a slot counts as a comfort miss (a shower's 40 °C)."""


def _observed_since(runtime: Runtime, start: datetime) -> list[ObservedSlot]:
    """Return the measured slots from ``start`` to now, oldest first (one store read)."""
    return read_observations(runtime.agent.store, start=start, end=runtime.agent.house.now)


def _cold_minutes(observed: list[ObservedSlot]) -> float:
    """Minutes of ``observed`` whose slot ended with the tank below :data:`COMFORT_MIN_C`."""
    cold = [o for o in observed if o.water_temp_c is not None and o.water_temp_c < COMFORT_MIN_C]
    return len(cold) * SLOT.total_seconds() / 60.0


def _clock(runtime: Runtime) -> tuple[Store, datetime, ZoneInfo]:
    """Return the store, the house's time and zone (read under the lock)."""
    with runtime.lock:
        agent = runtime.agent
        return agent.store, agent.house.now, agent.tz


def _memories(runtime: Runtime, starts: Iterable[datetime]) -> dict[datetime, SlotMemory]:
    """Return what the plans said about the slots starting at ``starts`` (under the lock)."""
    with runtime.lock:
        found = ((start, runtime.memory_for(start)) for start in starts)
        return {start: memory for start, memory in found if memory is not None}


def history_view(runtime: Runtime, *, hours: int) -> dict[str, Any]:
    """Measured slots of the last ``hours`` with the plan that covered them."""
    store, now, tz = _clock(runtime)
    rows = read_plan_vs_actual(store, start=now - timedelta(hours=hours), end=now)
    slots = []
    for row in rows:
        seen, plan = row.observed, row.planned
        if seen is None:
            continue
        slots.append(
            {
                "start": to_local_iso(row.slot_start, tz),
                "end": to_local_iso(row.slot_start + SLOT, tz),
                "import_price_sek_per_kwh": seen.import_price_sek_per_kwh,
                "export_price_sek_per_kwh": seen.export_price_sek_per_kwh,
                "planned_soc_percent": None if plan is None else plan.projected_soc_percent,
                "actual_soc_percent": seen.soc_end_percent,
                "pv_kw": seen.pv_kwh / _SLOT_H,
                "load_kw": seen.load_kwh / _SLOT_H,
                "grid_import_kw": seen.grid_import_kwh / _SLOT_H,
                "grid_export_kw": seen.grid_export_kwh / _SLOT_H,
                "battery_charge_kw": seen.battery_charge_kwh / _SLOT_H,
                "battery_discharge_kw": seen.battery_discharge_kwh / _SLOT_H,
                "water_heating_kw": seen.water_heater_kwh / _SLOT_H,
                "planned_cost_sek": None if plan is None else plan.energy_cost_sek,
                "actual_cost_sek": seen.energy_cost_sek,
            }
        )
    return {"slots": slots}


def forecasts_view(runtime: Runtime) -> dict[str, Any]:
    """PV and load forecasts (P10/P50/P90) over the current plan's horizon.

    With a learning forecaster (Aurora), from ``slot_forecasts`` (the forecasts as
    issued, before the planner's adjustments): per slot the latest issued by now. Without
    one, or for a slot without a kept forecast: what the plan used (``adjusted_*``) as
    P50 and no band.
    """
    with runtime.lock:
        agent = runtime.agent
        document, tz, source = agent.plan_document, agent.tz, agent.world.forecast_source
        store, now, banded = agent.store, agent.house.now, agent.world.aurora is not None
    rows = [] if document is None else document["schedule"]
    kept: dict[datetime, Any] = {}
    if rows and banded:
        start = datetime.fromisoformat(rows[0]["start"])
        end = datetime.fromisoformat(rows[-1]["end"])
        kept = {
            s.slot_start: s for _, s in read_forecasts(store, start=start, end=end, issued_by=now)
        }
    slots = []
    for row in rows:
        slot = kept.get(datetime.fromisoformat(row["start"]))
        if slot is None:
            slots.append(
                {
                    "start": row["start"],
                    "pv_p10_kw": None,
                    "pv_p50_kw": row["adjusted_pv_kwh"] / _SLOT_H,
                    "pv_p90_kw": None,
                    "load_p10_kw": None,
                    "load_p50_kw": row["adjusted_load_kwh"] / _SLOT_H,
                    "load_p90_kw": None,
                }
            )
            continue
        slots.append(
            {"start": row["start"]}
            | {
                f"{name}_p{q}_kw": getattr(slot, f"{name}_p{q}_kwh") / _SLOT_H
                for name in ("pv", "load")
                for q in (10, 50, 90)
            }
        )
    return {"source": source, "slots": slots, "timezone": str(tz)}


def _local_days(now: datetime, tz: ZoneInfo, days: int) -> list[tuple[datetime, datetime]]:
    """Local day bounds (UTC) of the last ``days`` days, today included, oldest first."""
    today = now.astimezone(tz).date()
    return [local_day_bounds(today - timedelta(days=back), tz) for back in range(days - 1, -1, -1)]


def _mae(
    observed: Sequence[ObservedSlot], memories: Mapping[datetime, SlotMemory]
) -> tuple[float | None, float | None]:
    """Mean absolute error of the plans' PV and load vs measured, per slot [kWh]."""
    pv, load = [], []
    for seen in observed:
        memory = memories.get(seen.slot_start)
        if memory is None:
            continue
        pv.append(abs(memory.pv_kwh - seen.pv_kwh))
        load.append(abs(memory.load_kwh - seen.load_kwh))
    if not pv:
        return None, None
    return statistics.fmean(pv), statistics.fmean(load)


def learning_view(runtime: Runtime, *, days: int) -> dict[str, Any]:
    """Daily metrics of the last ``days`` local days (one store read)."""
    store, now, tz = _clock(runtime)
    bounds = _local_days(now, tz, days)
    rows = read_plan_vs_actual(store, start=bounds[0][0], end=bounds[-1][1])
    memories = _memories(runtime, (r.slot_start for r in rows if r.observed is not None))
    out = []
    for start, end in bounds:
        day = [r for r in rows if start <= r.slot_start < end]
        metrics = metrics_of(day)
        if metrics.observed_slots == 0:
            continue
        pv_mae, load_mae = _mae([r.observed for r in day if r.observed is not None], memories)
        out.append(
            {
                "day": start.astimezone(tz).date().isoformat(),
                "observed_slots": metrics.observed_slots,
                "matched_slots": metrics.matched_slots,
                "actual_cost_sek": metrics.actual_cost_sek,
                "planned_cost_sek": metrics.planned_cost_sek,
                "cost_deviation_sek": metrics.cost_deviation_sek,
                "battery_charge_kwh": metrics.battery_charge_kwh,
                "battery_discharge_kwh": metrics.battery_discharge_kwh,
                "battery_efficiency_realized": metrics.battery_efficiency_realized,
                "pv_mae_kwh": pv_mae,
                "load_mae_kwh": load_mae,
            }
        )
    return {"days": out}


def performance_view(runtime: Runtime, *, hours: int) -> dict[str, Any]:
    """SoC tunnel (planned, actual, range of projections) and cost reality per day.

    One store read covers both: the last ``hours`` and the local days they touch.
    """
    store, now, tz = _clock(runtime)
    since = now - timedelta(hours=hours)
    bounds = _local_days(now, tz, max(1, -(-hours // 24)))
    rows = read_plan_vs_actual(store, start=min(since, bounds[0][0]), end=max(now, bounds[-1][1]))
    recent = [row for row in rows if since <= row.slot_start < now]
    memories = _memories(runtime, (row.slot_start for row in recent))
    tunnel = []
    for row in recent:
        memory = memories.get(row.slot_start)
        tunnel.append(
            {
                "start": to_local_iso(row.slot_start, tz),
                "planned_soc_percent": (
                    None if row.planned is None else row.planned.projected_soc_percent
                ),
                "actual_soc_percent": (
                    None if row.observed is None else row.observed.soc_end_percent
                ),
                "low_soc_percent": None if memory is None else memory.soc_low_percent,
                "high_soc_percent": None if memory is None else memory.soc_high_percent,
            }
        )
    costs = []
    for start, end in bounds:
        metrics = metrics_of([row for row in rows if start <= row.slot_start < end])
        if metrics.observed_slots:
            costs.append(
                {
                    "day": start.astimezone(tz).date().isoformat(),
                    "planned_cost_sek": metrics.planned_cost_sek,
                    "actual_cost_sek": metrics.actual_cost_sek,
                }
            )
    return {"soc_tunnel": tunnel, "cost_reality": costs}


def _risk(pv_day2_kwh: float | None, mean_daily_pv_kwh: float) -> dict[str, str]:
    if pv_day2_kwh is None or mean_daily_pv_kwh <= 0:
        return {"level": "medium", "reason": "no day-2 PV outlook"}
    ratio = pv_day2_kwh / mean_daily_pv_kwh
    level = "high" if ratio < 0.25 else "medium" if ratio < 0.6 else "low"  # noqa: PLR2004
    return {
        "level": level,
        "reason": f"day-2 PV {pv_day2_kwh:.1f} kWh is {ratio:.0%} of the 14-day mean",
    }


def aurora_view(runtime: Runtime) -> dict[str, Any]:
    """Bridge (forecaster status and accuracy), Context Radar and Reflex state."""
    with runtime.lock:
        agent = runtime.agent
        now = agent.house.now
        document = agent.plan_document
        rows = [] if document is None else document["schedule"]
        prices = [float(r["import_price_sek_per_kwh"]) for r in rows]
        per_day = 96
        outlook = agent.world.pv_outlook(now)
        pv_day2, mean_daily = outlook.day2_kwh, outlook.mean_daily_kwh
        source = agent.world.forecast_source
        inputs = inputs_view(agent.world.inputs(now), agent.tz)
        engine = agent.world.aurora
        models = [] if engine is None else engine.describe(now)
        training = runtime.training.view(
            schedule=agent.cfg.automation.ml_training, now=now, tz=agent.tz
        )
    week = read_observations(agent.store, start=now - timedelta(days=7), end=now)
    pv_mae, load_mae = _mae(week, _memories(runtime, (seen.slot_start for seen in week)))
    for model in models:
        if model.get("trained_at"):
            model["trained_at"] = (
                datetime.fromisoformat(model["trained_at"]).astimezone(agent.tz).isoformat()
            )
    return {
        "bridge": {
            "status": "running" if runtime.running else "stopped",
            "forecaster": source,
            "models": models,
            "training": training,
            "accuracy": {"pv_mae_kwh": pv_mae, "load_mae_kwh": load_mae, "window_days": 7},
        },
        "radar": {
            "price": {
                "mean": statistics.fmean(prices) if prices else None,
                "min": min(prices) if prices else None,
                "max": max(prices) if prices else None,
                "spread": (max(prices) - min(prices)) if prices else None,
                "volatility": statistics.pstdev(prices) if prices else None,
            },
            "weather": {
                "pv_next_24h_kwh": sum(float(r["adjusted_pv_kwh"]) for r in rows[:per_day]),
                "pv_day2_kwh": pv_day2,
            },
            "risk": _risk(pv_day2, mean_daily),
            "inputs": inputs,
        },
        "reflex": reflex_view(runtime),
    }


REFLEX_HISTORY_ROWS = 20
"""Strategy-log rows of Reflex (proposals and applied changes) on the Aurora page."""

_REFLEX_BOUNDS = {
    Analyzer.SAFETY: SAFETY_BOUNDS,
    Analyzer.CONFIDENCE: CONFIDENCE_BOUNDS,
    Analyzer.ROI: ROI_BOUNDS,
}


def _reflex_bounds(a: Assessment) -> list[float] | None:
    """Return the assessed key's hard bounds; capacity: from the floor to the nameplate."""
    if a.analyzer is not Analyzer.CAPACITY:
        return list(_REFLEX_BOUNDS[a.analyzer])
    nameplate = a.signal.get("nameplate_kwh")
    if not isinstance(nameplate, int | float):
        return None
    return [CAPACITY_FLOOR_FRAC * nameplate, float(nameplate)]


def _reflex_row(record: StrategyRecord, tz: ZoneInfo) -> dict[str, Any]:
    """One Reflex row of the strategy log: the key and its value before and after."""
    key = next(iter(record.after), None) or next(iter(record.before), "")
    return {
        "at": to_local_iso(record.at, tz),
        "kind": record.kind,
        "rule": record.rule,
        "key": key,
        "before": record.before.get(key),
        "after": record.after.get(key),
        "message": record.message,
    }


def _reflex_history(runtime: Runtime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Read the newest Reflex proposals and changes, newest first (raises StoreError)."""
    store = runtime.agent.store
    records = [
        r
        for kind in (StrategyKind.REFLEX_PROPOSAL, StrategyKind.REFLEX_APPLIED)
        for r in read_strategy_log(store, limit=REFLEX_HISTORY_ROWS, kind=kind)
    ]
    records.sort(key=lambda r: (r.at, r.id), reverse=True)
    return [_reflex_row(r, tz) for r in records[:REFLEX_HISTORY_ROWS]]


def reflex_view(runtime: Runtime) -> dict[str, Any]:
    """Reflex: the switch, the last run, its assessments, the logged history, the next run.

    ``proposals`` holds the latest assessment of each analyzer (a hold too, with its
    reason); ``history`` the newest ``reflex_proposal`` and ``reflex_applied`` rows of the
    strategy log. Times in the house's time zone.
    """
    with runtime.lock:
        enabled = runtime.reflex_enabled
        now, tz = runtime.agent.house.now, runtime.agent.tz
    job = runtime.reflex
    last, report = job.last_run, job.last_report
    notes = [
        f"Reflex runs daily at {REFLEX_LOCAL_TIME} house time; "
        + (
            "it writes its bounded changes to config.yaml (one per key a day)."
            if enabled
            else "it is off: it proposes and logs, and changes nothing."
        )
    ]
    try:
        history = _reflex_history(runtime, tz)
    except StoreError as exc:
        history = []
        notes.append(f"history unavailable: {exc}")
    if report is None:
        notes.append("No run since the service started.")
    assessments = () if report is None else report.assessments
    return {
        "enabled": enabled,
        "proposals": [
            {
                **a.to_dict(),
                "bounds": _reflex_bounds(a),
                "signal_summary": describe_signal(a),
            }
            for a in assessments
        ],
        "note": " ".join(notes),
        "running": job.running,
        "assessed_at": None if report is None else to_local_iso(report.now, tz),
        "last_run": None if last is None else last.summary(tz),
        "next_run": to_local_iso(next_reflex_run(now, tz), tz),
        "history": history,
    }


def strategy_log_view(runtime: Runtime, *, limit: int) -> dict[str, Any]:
    """Return the strategy log, newest first: the service's entries and the store's rows.

    The service keeps its entries (plans, warnings, config changes, manual blocks) in
    memory; Reflex and the Strategy Engine write theirs to the store (``rule``, ``inputs``,
    ``before``, ``after``). When the store cannot be read, ``problem`` says so and only the
    service's entries are listed.
    """
    with runtime.lock:
        tz, memory = runtime.agent.tz, list(runtime.strategy)[::-1][:limit]
    entries: list[tuple[datetime, dict[str, Any]]] = [
        (
            e.at,
            {
                "kind": e.kind,
                "message": e.message,
                "values": e.values,
                "rule": None,
                "before": None,
                "after": None,
                "inputs": None,
            },
        )
        for e in memory
    ]
    problem = None
    try:
        records = read_strategy_log(runtime.agent.store, limit=limit)
    except StoreError as exc:
        records, problem = [], str(exc)
    entries += [
        (
            r.at,
            {
                "kind": r.kind,
                "message": r.message,
                "values": {},
                "rule": r.rule,
                "before": r.before,
                "after": r.after,
                "inputs": r.inputs,
            },
        )
        for r in records
    ]
    entries.sort(key=lambda item: item[0], reverse=True)  # stable: ties keep their order
    return {
        "entries": [{"at": to_local_iso(at, tz), **e} for at, e in entries[:limit]],
        "problem": problem,
    }


def executor_view(runtime: Runtime, *, limit: int) -> dict[str, Any]:
    """Executor state, its last ``limit`` ticks and the notifications, newest first."""
    with runtime.lock:
        tz = runtime.agent.tz
        ticks = list(runtime.ticks)[-limit:][::-1]
        notices = list(runtime.notices)[::-1]
        shadow, safe_state = runtime.agent.shadow, runtime.agent.safe_state
        override = override_view(runtime.override, tz)
        water = override_view(runtime.water_override, tz)
    return {
        "shadow": shadow,
        "override": override,
        "water_override": water,
        "safe_state": safe_state,
        "ticks": [
            {**t, "at": to_local_iso(t["at"], tz), "slot_start": to_local_iso(t["slot_start"], tz)}
            for t in ticks
        ],
        "notifications": [
            {"at": to_local_iso(n.at, tz), "level": n.level, "message": n.message} for n in notices
        ],
    }
