"""Learning metrics, the performance mirror and resetting what was learned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from darkstar.learning.store.repository import delete_all
from darkstar.service.views import learning_view, performance_view
from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.schemas import ErrorOut, LearningOut, PerformanceOut, ResetOut

router = APIRouter(tags=["learning"])


@router.get("/learning/metrics", response_model=LearningOut)
def metrics(runtime: RuntimeDep, days: Annotated[int, Query(ge=1, le=90)] = 7) -> dict[str, object]:
    """Daily cost, deviation, realised battery efficiency and forecast error."""
    return learning_view(runtime, days=days)


@router.get("/performance", response_model=PerformanceOut)
def performance(
    runtime: RuntimeDep, hours: Annotated[int, Query(ge=1, le=336)] = 48
) -> dict[str, object]:
    """SoC tunnel and cost reality."""
    return performance_view(runtime, hours=hours)


@router.post("/learning/reset", response_model=ResetOut, responses={401: {"model": ErrorOut}})
def reset(runtime: RuntimeDep, _: TokenDep) -> dict[str, int]:
    """Delete every plan, observation and execution record; the agent keeps running."""
    with runtime.lock:
        deleted = delete_all(runtime.agent.store)
        runtime.memory.clear()
    runtime.refresh_status()
    runtime.notify("warning", f"learning store reset: {deleted} rows deleted")
    return {"deleted_rows": deleted}
