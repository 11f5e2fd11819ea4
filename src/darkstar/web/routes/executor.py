"""Executor state, shadow mode, quick actions and water boost."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from darkstar.service.views import executor_view, override_view
from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.schemas import (
    ActionRequest,
    ErrorOut,
    ExecutorOut,
    OverrideState,
    ShadowIn,
    ShadowOut,
    WaterBoostIn,
    WaterBoostOut,
)

router = APIRouter(tags=["executor"])

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    503: {"model": ErrorOut, "description": "Could not be saved: nothing changed."},
}


@router.get("/executor", response_model=ExecutorOut)
def executor(
    runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=2000)] = 96
) -> dict[str, object]:
    """Shadow mode, overrides, the last ticks and the notifications."""
    return executor_view(runtime, limit=limit)


@router.post("/executor/shadow", response_model=ShadowOut, responses=_AUTH)
def set_shadow(body: ShadowIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, bool]:
    """Shadow mode: compute and log commands without writing them to the devices."""
    runtime.set_shadow(enabled=body.enabled)
    return {"shadow": runtime.agent.shadow}  # config executor.shadow_mode keeps it on


@router.post("/actions", response_model=OverrideState, responses=_AUTH)
def quick_action(body: ActionRequest, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Force charge, discharge or hold for ``minutes``; ``auto`` returns to the plan."""
    kind = None if body.action == "auto" else body.action
    override = runtime.set_override(kind, body.minutes)
    return {"override": override_view(override, runtime.agent.tz)}


@router.post("/water/boost", response_model=WaterBoostOut, responses=_AUTH)
def water_boost(body: WaterBoostIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Heat the tank to the boost setpoint for ``minutes``; 0 cancels."""
    override = runtime.set_water_boost(body.minutes)
    return {"water_override": override_view(override, runtime.agent.tz)}
