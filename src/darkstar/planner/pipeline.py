"""The planning pipeline: strategy -> solver input -> Kepler (or fallback) -> schedule.

One call per step, each logged. ``mode="baseline"`` is Kepler alone: forecasts as given,
no S-Index, no PV confidence, no overlay, no target SoC, no Strategy Engine.
``mode="full"`` adds the Analyst's overlay (:mod:`~darkstar.planner.strategy.overlays`),
the S-Index load inflation (:mod:`~darkstar.planner.strategy.s_index`), the PV confidence
factor, the target-SoC floor at a fixed local hour and the Strategy Engine's solver
overrides (:mod:`~darkstar.planner.strategy.engine`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar.config import merge_config
from darkstar.physics.timegrid import to_local_iso
from darkstar.planner.output.debug import planner_debug
from darkstar.planner.output.schedule import (
    ScheduleError,
    build_schedule_document,
    check_schedule,
)
from darkstar.planner.solver.adapter import to_kepler_input
from darkstar.planner.solver.fallback import fallback_result, solve_with_fallback
from darkstar.planner.strategy.engine import EngineResult, run_engine
from darkstar.planner.strategy.manual_plan import to_manual_overrides
from darkstar.planner.strategy.overlays import OVERLAY_MIN_SAMPLES, apply_overlay
from darkstar.planner.strategy.s_index import StrategyContext, compute_s_index
from darkstar.planner.strategy.target_soc import target_soc_slot

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from numpy.typing import NDArray

    from darkstar.config.models import DarkstarConfig
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.solver.types import KeplerInput, KeplerResult
    from darkstar.planner.strategy.manual_plan import ManualBlock

__all__ = ["PlanMode", "PlanOutcome", "generate_schedule", "plan_request", "solve_kepler_input"]

logger = logging.getLogger(__name__)


class PlanMode(StrEnum):
    """Which layers run: ``full`` (strategy + Kepler) or ``baseline`` (Kepler only)."""

    FULL = "full"
    BASELINE = "baseline"


@dataclass(frozen=True, kw_only=True)
class PlanOutcome:
    """A planned horizon: the ``schedule.json`` document and what produced it.

    ``debug`` is the ``planner_debug.json`` document
    (:func:`darkstar.planner.output.debug.planner_debug`) when it was asked for, else None.
    """

    document: dict[str, Any]
    result: KeplerResult
    kepler_input: KeplerInput
    debug: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class _Strategy:
    pv_kwh: NDArray[np.float64]
    load_kwh: NDArray[np.float64]
    meta: dict[str, Any]
    soc_target: tuple[int, float] | None
    engine: EngineResult | None = None


def _overlay(
    pin: PlannerInput, cfg: DarkstarConfig, context: StrategyContext | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[str, Any]]:
    """Return PV and load after the Analyst's overlay (when on and measured) and its meta."""
    pv = pin.column("pv_forecast_kwh")
    load = pin.column("load_forecast_kwh")
    bias = None if context is None else context.hourly_bias
    if not cfg.strategy.analyst_overlay:
        return pv, load, {"enabled": False, "reason": "strategy.analyst_overlay is off"}
    if bias is None:
        return pv, load, {"enabled": True, "applied": False, "reason": "no measured bias"}
    out = apply_overlay(
        bias,
        pv_kwh=pv,
        load_kwh=load,
        slot_starts=[s.start for s in pin.slots],
        slot_duration=pin.slot_duration,
        tz=pin.timezone,
    )
    meta = {
        "enabled": True,
        "applied": True,
        "window_days": bias.window_days,
        "pv_hours_measured": sum(n >= OVERLAY_MIN_SAMPLES for n in bias.pv_samples),
        "load_hours_measured": sum(n >= OVERLAY_MIN_SAMPLES for n in bias.load_samples),
        "pv_change_kwh": round(out.pv_change_kwh, 4),
        "load_change_kwh": round(out.load_change_kwh, 4),
    }
    return out.pv_kwh, out.load_kwh, meta


def _apply_strategy(
    pin: PlannerInput, cfg: DarkstarConfig, mode: PlanMode, context: StrategyContext | None
) -> _Strategy:
    if mode is PlanMode.BASELINE:
        pv = pin.column("pv_forecast_kwh")
        load = pin.column("load_forecast_kwh")
        return _Strategy(pv_kwh=pv, load_kwh=load, meta={"mode": "off"}, soc_target=None)
    pv, load, overlay = _overlay(pin, cfg, context)
    s = compute_s_index(pin, cfg=cfg.s_index, battery=cfg.battery, context=context)
    pv_confidence = cfg.forecasting.pv_confidence_percent / 100.0
    slot = target_soc_slot(pin, hour=cfg.s_index.target_soc_hour)
    engine = run_engine(pin, cfg, risk=s.risk if s.weather_risk else None)
    meta = {
        "mode": s.mode,
        "load_factor": s.load_factor,
        "pv_confidence_percent": cfg.forecasting.pv_confidence_percent,
        "target_soc_percent": s.target_soc_percent,
        "target_soc_at": None
        if slot is None
        else to_local_iso(pin.slots[slot].start + pin.slot_duration, pin.timezone),
        "factor_inputs": s.factor_inputs,
        "risk": s.risk,
        "risk_inputs": s.risk_inputs,
        "overlay": overlay,
    }
    logger.info(
        "strategy: %s load x%.3f, pv x%.2f, risk %.3f, target SoC %.1f %% at slot %s; %d rule "
        "decision(s)",
        s.mode,
        s.load_factor,
        pv_confidence,
        s.risk,
        s.target_soc_percent,
        slot,
        len(engine.decisions),
    )
    return _Strategy(
        pv_kwh=pv * pv_confidence,
        load_kwh=load * s.load_factor,
        meta=meta,
        soc_target=None if slot is None else (slot, s.target_soc_percent),
        engine=engine,
    )


def generate_schedule(
    pin: PlannerInput,
    cfg: DarkstarConfig,
    *,
    mode: PlanMode | str = PlanMode.FULL,
    planned_at: datetime | None = None,
    manual_blocks: Sequence[ManualBlock] = (),
    debug: bool = False,
    context: StrategyContext | None = None,
) -> PlanOutcome:
    """Plan one horizon and return the validated ``schedule.json`` document.

    ``context`` (mode ``full``): the season's PV for the S-Index and the Analyst's bias for
    the overlay; without it neither is used (said in ``meta.s_index``). In mode ``full``
    ``meta.strategy_engine`` lists the Strategy Engine's decisions.

    Never raises for a valid input: when the solver fails, the document carries
    ``status = "fallback"`` and the reason. ``manual_blocks`` bind Kepler's plan in either
    mode; the fallback ignores them and says so in ``meta.warnings``. With ``debug``, the
    outcome also carries the ``planner_debug.json`` document (one extra LP solve; the
    backtest leaves it off).

    Raises
    ------
    InputError
        Naming ``blocks`` when manual blocks with different actions overlap.
    """
    mode = PlanMode(mode)
    strategy = _apply_strategy(pin, cfg, mode, context)
    kin = to_kepler_input(
        pin,
        cfg,
        pv_kwh=strategy.pv_kwh,
        load_kwh=strategy.load_kwh,
        soc_target=strategy.soc_target,
        overrides=None if strategy.engine is None else strategy.engine.overrides,
    )
    manual = to_manual_overrides(
        manual_blocks, slot_starts=[s.start for s in pin.slots], slot_duration=pin.slot_duration
    )
    kin = kin if manual is None else replace(kin, manual=manual)
    solve = _heuristic_primary if cfg.planner.primary == "heuristic" else solve_with_fallback
    outcome = solve_kepler_input(
        pin,
        kin,
        mode=mode,
        strategy_meta=strategy.meta,
        planned_at=planned_at,
        solve=solve,
        debug=debug,
    )
    if strategy.engine is not None:
        outcome.document["meta"]["strategy_engine"] = strategy.engine.meta()
    return outcome


HEURISTIC_PRIMARY = "planner.primary is heuristic"
"""The fallback reason of a plan made by the rule-based planner on purpose."""


def _heuristic_primary(kin: KeplerInput) -> KeplerResult:
    """Return the rule-based plan, by configuration (``planner.primary: heuristic``)."""
    return fallback_result(kin, HEURISTIC_PRIMARY)


def solve_kepler_input(
    pin: PlannerInput,
    kin: KeplerInput,
    *,
    mode: PlanMode | str,
    strategy_meta: dict[str, Any],
    planned_at: datetime | None = None,
    solve: Callable[[KeplerInput], KeplerResult] = solve_with_fallback,
    debug: bool = False,
) -> PlanOutcome:
    """Solve a prepared solver input and return the validated document (never raises).

    Kepler with the heuristic fallback (or ``solve``), the schedule document, and the
    fallback again if the plan fails validation. Shared by :func:`generate_schedule` and
    what-if re-solves. ``debug``: also build the ``planner_debug.json`` document.
    """
    result = _note_manual(kin, solve(kin))
    document = build_schedule_document(
        pin, kin, result, mode=str(mode), strategy_meta=strategy_meta, planned_at=planned_at
    )
    try:
        check_schedule(document["schedule"], slot_h=pin.slot_h)
    except ScheduleError as exc:  # a plan that breaks physics is never written
        logger.exception("solver plan failed validation")
        result = _note_manual(kin, fallback_result(kin, f"solver plan failed validation: {exc}"))
        document = build_schedule_document(
            pin, kin, result, mode=str(mode), strategy_meta=strategy_meta, planned_at=planned_at
        )
        check_schedule(document["schedule"], slot_h=pin.slot_h)
    for warning in result.warnings:
        logger.warning("%s", warning)
    debug_document = _debug_document(pin, kin, result, document) if debug else None
    return PlanOutcome(document=document, result=result, kepler_input=kin, debug=debug_document)


def _debug_document(
    pin: PlannerInput, kin: KeplerInput, result: KeplerResult, document: dict[str, Any]
) -> dict[str, Any] | None:
    """Return the debug document, or None (logged) when building it fails: never the plan."""
    try:
        return planner_debug(pin, kin, result, document=document)
    except Exception:  # a debug view must not take the plan down with it
        logger.exception("planner debug document failed")
        return None


def _note_manual(kin: KeplerInput, result: KeplerResult) -> KeplerResult:
    """Add a warning when a fallback plan, which ignores manual blocks, replaced Kepler's."""
    if kin.manual is None or result.is_ok:
        return result
    return replace(result, warnings=(*result.warnings, "manual_blocks: ignored by the fallback"))


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
