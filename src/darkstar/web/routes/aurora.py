"""Aurora cockpit: Bridge, Context Radar, Strategy Log, Reflex (switch and runs), retraining."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from darkstar.service.reflex_job import ReflexBusy
from darkstar.service.training import TrainingBusy
from darkstar.service.views import aurora_view, reflex_view, strategy_log_view
from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.schemas import (
    AuroraOut,
    ErrorOut,
    ReflexIn,
    ReflexOut,
    ReflexRunOut,
    RetrainOut,
    StrategyLogOut,
)

router = APIRouter(tags=["aurora"])


@router.get("/aurora", response_model=AuroraOut)
def aurora(runtime: RuntimeDep) -> dict[str, object]:
    """Forecaster status and accuracy, price and weather context, Reflex state."""
    return aurora_view(runtime)


@router.post(
    "/aurora/reflex",
    response_model=ReflexOut,
    responses={401: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def set_reflex(body: ReflexIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Turn Reflex auto-tuning on or off."""
    runtime.set_reflex(enabled=body.enabled)
    return reflex_view(runtime)


@router.post(
    "/reflex/run",
    response_model=ReflexRunOut,
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def run_reflex(runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Run Reflex now: a dry run unless the Reflex switch is on; the run and its report.

    409 while a run is going; 503 when it failed (the store or ``config.yaml`` could not
    be read or written: nothing was applied, or the reload failed after writing).
    """
    try:
        run = runtime.run_reflex_now()
    except ReflexBusy as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if run.error is not None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Reflex {run.error}")
    return run.to_dict(runtime.agent.tz)


@router.post(
    "/aurora/retrain",
    responses={409: {"model": ErrorOut}, 401: {"model": ErrorOut}},
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetrainOut,
)
def retrain(runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Retrain Aurora's models now; progress follows on the WebSocket (``aurora_training``).

    409 when the house's forecasts do not learn, or while a training runs.
    """
    try:
        return {"training": runtime.start_training()}
    except TrainingBusy as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/strategy/log", response_model=StrategyLogOut)
def strategy_log(
    runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, object]:
    """Strategy decisions, newest first: the service's entries and the store's strategy log."""
    return strategy_log_view(runtime, limit=limit)
