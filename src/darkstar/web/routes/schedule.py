"""The schedule in force, its measured history and the forecasts behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from darkstar.service.views import forecasts_view, history_view
from darkstar.web.deps import RuntimeDep
from darkstar.web.schemas import ErrorOut, ForecastsOut, HistoryOut, ScheduleDocument

router = APIRouter(tags=["schedule"])


@router.get(
    "/schedule",
    response_model=ScheduleDocument,
    responses={404: {"model": ErrorOut, "description": "No plan yet."}},
)
async def schedule(runtime: RuntimeDep) -> Response:
    """The current ``schedule.json`` (served from the bytes cached when it was planned)."""
    body = runtime.schedule_bytes
    if body is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no schedule yet: the first plan is pending")
    return Response(content=body, media_type="application/json")


@router.get("/schedule/history", response_model=HistoryOut)
def history(
    runtime: RuntimeDep, hours: Annotated[int, Query(ge=1, le=168)] = 24
) -> dict[str, object]:
    """Measured slots of the last ``hours``, with the plan that covered each."""
    return history_view(runtime, hours=hours)


@router.get("/forecasts", response_model=ForecastsOut)
def forecasts(runtime: RuntimeDep) -> dict[str, object]:
    """PV and load forecasts over the current plan's horizon."""
    return forecasts_view(runtime)
