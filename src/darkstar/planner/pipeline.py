"""The planning pipeline: strategy -> solver input -> Kepler (or fallback) -> schedule.

One call per step, each logged. ``mode="baseline"`` is Kepler alone: forecasts as given,
no S-Index, no PV confidence, no target SoC. ``mode="full"`` adds the static S-Index load
inflation, the PV confidence factor and the target-SoC floor at a fixed local hour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar import __version__
from darkstar.baseline import plan_heuristic
from darkstar.config import merge_config
from darkstar.physics.timegrid import to_local_iso
from darkstar.planner.output.schedule import (
    SCHEMA_VERSION,
    BatteryView,
    ScheduleError,
    build_schedule_rows,
    check_schedule,
)
from darkstar.planner.solver.adapter import to_kepler_input
from darkstar.planner.solver.kepler import solve_kepler
from darkstar.planner.solver.types import KeplerResult, PlanStatus, SolverReport
from darkstar.planner.strategy.s_index import risk_factor, target_soc_percent
from darkstar.planner.strategy.target_soc import target_soc_slot

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.config.models import DarkstarConfig
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.solver.types import KeplerInput

__all__ = ["PlanMode", "PlanOutcome", "generate_schedule", "plan_request"]

logger = logging.getLogger(__name__)


class PlanMode(StrEnum):
    """Which layers run: ``full`` (strategy + Kepler) or ``baseline`` (Kepler only)."""

    FULL = "full"
    BASELINE = "baseline"


@dataclass(frozen=True, kw_only=True)
class PlanOutcome:
    """A planned horizon: the ``schedule.json`` document and what produced it."""

    document: dict[str, Any]
    result: KeplerResult
    kepler_input: KeplerInput


@dataclass(frozen=True, kw_only=True)
class _Strategy:
    pv_kwh: NDArray[np.float64]
    load_kwh: NDArray[np.float64]
    meta: dict[str, Any]
    soc_target: tuple[int, float] | None


def _apply_strategy(pin: PlannerInput, cfg: DarkstarConfig, mode: PlanMode) -> _Strategy:
    pv = pin.column("pv_forecast_kwh")
    load = pin.column("load_forecast_kwh")
    if mode is PlanMode.BASELINE:
        return _Strategy(pv_kwh=pv, load_kwh=load, meta={"mode": "off"}, soc_target=None)
    factor = risk_factor(cfg.s_index)
    pv_confidence = cfg.forecasting.pv_confidence_percent / 100.0
    target_pct = target_soc_percent(s_index=cfg.s_index, battery=cfg.battery)
    slot = target_soc_slot(pin, hour=cfg.s_index.target_soc_hour)
    meta = {
        "mode": "static",
        "load_factor": factor,
        "pv_confidence_percent": cfg.forecasting.pv_confidence_percent,
        "target_soc_percent": target_pct,
        "target_soc_at": None
        if slot is None
        else to_local_iso(pin.slots[slot].start + pin.slot_duration, pin.timezone),
    }
    logger.info(
        "strategy: load x%.3f, pv x%.2f, target SoC %.1f %% at slot %s",
        factor,
        pv_confidence,
        target_pct,
        slot,
    )
    return _Strategy(
        pv_kwh=pv * pv_confidence,
        load_kwh=load * factor,
        meta=meta,
        soc_target=None if slot is None else (slot, target_pct),
    )


def _solve_or_fallback(kin: KeplerInput) -> KeplerResult:
    reason = "solver found no solution within the time limit"
    try:
        result = solve_kepler(kin)
    except Exception as exc:  # the planner must always hand back a plan
        logger.exception("kepler failed; using the rule-based fallback plan")
        result, reason = None, f"solver error: {type(exc).__name__}: {exc}"
    return result if result is not None else _fallback(kin, reason)


def _fallback(kin: KeplerInput, reason: str) -> KeplerResult:
    logger.warning("planner fallback: %s", reason)
    plan = plan_heuristic(kin)
    return KeplerResult(
        status=PlanStatus.FALLBACK,
        plan=plan,
        objective_sek=float("nan"),
        report=SolverReport(
            solver="heuristic",
            termination=reason,
            solve_time_ms=0.0,
            mip_gap=float("nan"),
            n_variables=0,
            n_constraints=0,
            n_binaries=0,
            n_solves=0,
        ),
        fallback_reason=reason,
    )


def _finite_or_none(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


def generate_schedule(
    pin: PlannerInput,
    cfg: DarkstarConfig,
    *,
    mode: PlanMode | str = PlanMode.FULL,
    planned_at: datetime | None = None,
) -> PlanOutcome:
    """Plan one horizon and return the validated ``schedule.json`` document.

    Never raises for a valid input: when the solver fails, the document carries
    ``status = "fallback"`` and the reason.
    """
    mode = PlanMode(mode)
    strategy = _apply_strategy(pin, cfg, mode)
    kin = to_kepler_input(
        pin,
        cfg,
        pv_kwh=strategy.pv_kwh,
        load_kwh=strategy.load_kwh,
        soc_target=strategy.soc_target,
    )
    result = _solve_or_fallback(kin)
    plan = result.plan
    bat = kin.battery
    view = (
        None
        if bat is None
        else BatteryView(
            capacity_kwh=bat.capacity_kwh,
            min_soc_kwh=bat.min_soc_kwh,
            max_soc_kwh=bat.max_soc_kwh,
            initial_soc_kwh=bat.initial_soc_kwh,
        )
    )
    rows = build_schedule_rows(
        pin, plan, adjusted_pv_kwh=kin.pv_kwh, adjusted_load_kwh=kin.load_kwh, battery=view
    )
    try:
        check_schedule(rows, slot_h=pin.slot_h)
    except ScheduleError as exc:  # a solver result that breaks physics is never written
        logger.exception("solver plan failed validation")
        result = _fallback(kin, f"solver plan failed validation: {exc}")
        plan = result.plan
        rows = build_schedule_rows(
            pin, plan, adjusted_pv_kwh=kin.pv_kwh, adjusted_load_kwh=kin.load_kwh, battery=view
        )
        check_schedule(rows, slot_h=pin.slot_h)
    h = pin.slot_h
    energy_cost = float(
        h
        * np.sum(
            plan.grid_import_kw * kin.import_price_sek_per_kwh
            - plan.grid_export_kw * kin.export_price_sek_per_kwh
        )
    )
    wear = (
        0.0
        if bat is None
        else float(
            h
            * bat.cycle_cost_sek_per_kwh
            * np.sum(plan.battery_charge_kw + plan.battery_discharge_kw)
        )
    )
    for warning in result.warnings:
        logger.warning("%s", warning)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "planned_at": (planned_at or datetime.now(UTC)).astimezone(pin.timezone).isoformat(),
        "planner_version": __version__,
        "mode": str(mode),
        "status": str(result.status),
        "objective_sek": _finite_or_none(result.objective_sek),
        "energy_cost_sek": round(energy_cost, 6),
        "wear_cost_sek": round(wear, 6),
        "solve_time_ms": round(result.report.solve_time_ms, 3),
        "mip_gap": _finite_or_none(result.report.mip_gap),
        "s_index": strategy.meta,
        "target_soc_percent": strategy.meta.get("target_soc_percent"),
        "timezone": pin.timezone.key,
        "slot_minutes": round(pin.slot_duration.total_seconds() / 60),
        "solver": {
            "name": result.report.solver,
            "termination": result.report.termination,
            "variables": result.report.n_variables,
            "constraints": result.report.n_constraints,
            "binaries": result.report.n_binaries,
            "solves": result.report.n_solves,
        },
        "warnings": list(result.warnings),
        "fallback_reason": result.fallback_reason,
    }
    return PlanOutcome(document={"meta": meta, "schedule": rows}, result=result, kepler_input=kin)


def plan_request(
    request: dict[str, Any],
    *,
    mode: PlanMode | str = PlanMode.FULL,
    base_config: DarkstarConfig | None = None,
) -> PlanOutcome:
    """Validate a decoded plan request (DESIGN §3.1) and plan it.

    The request's ``config`` is merged over ``base_config`` (default: the defaults file).

    Raises
    ------
    InputError
        Naming the first invalid field of the request or its config.
    """
    from darkstar.config import parse_config
    from darkstar.planner.inputs import parse_plan_request, prepare_input

    parsed = parse_plan_request(request)
    base = {} if base_config is None else base_config.model_dump()
    config = parse_config(merge_config(base, parsed.config))
    return generate_schedule(prepare_input(parsed), config, mode=mode)
