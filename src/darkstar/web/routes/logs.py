"""The in-memory log, for the Debug page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from darkstar.service.logbuffer import level_number
from darkstar.web.deps import LogsDep
from darkstar.web.schemas import ErrorOut, LogsOut

router = APIRouter(tags=["logs"])


@router.get("/logs", response_model=LogsOut, responses={422: {"model": ErrorOut}})
def logs(
    buffer: LogsDep,
    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], Query()] = "INFO",
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> dict[str, object]:
    """The newest records at ``level`` or above."""
    try:
        min_level = level_number(level)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return {
        "records": [
            {"at": r.at.isoformat(), "level": r.level, "logger": r.logger, "message": r.message}
            for r in buffer.records(min_level=min_level, limit=limit)
        ]
    }
