"""Health and live status."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from darkstar import __version__
from darkstar.web.deps import RuntimeDep
from darkstar.web.schemas import HealthOut, StatusOut

router = APIRouter(tags=["status"])


@router.get("/health", response_model=HealthOut)
async def health(runtime: RuntimeDep) -> dict[str, object]:
    """Liveness, version, the simulated time and what is degraded (in words)."""
    problems = runtime.problems()
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "version": __version__,
        "uptime_s": (datetime.now(UTC) - runtime.started_at).total_seconds(),
        "sim_time": runtime.agent.house.now.astimezone(runtime.agent.tz).isoformat(),
    }


@router.get("/status", response_model=StatusOut)
async def status(runtime: RuntimeDep) -> dict[str, object]:
    """House, plan and executor now (cached per change; computed off the event loop)."""
    cached = runtime.cached_status
    return cached if cached is not None else await run_in_threadpool(runtime.status)
