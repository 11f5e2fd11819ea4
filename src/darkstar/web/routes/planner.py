"""Plan runs (background jobs) and the planner's debug document."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from darkstar.service.views import job_view, planner_debug_view
from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.schemas import ErrorOut, JobOut, PlannerDebugOut

router = APIRouter(tags=["planner"])


@router.post(
    "/planner/run",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ErrorOut}, 401: {"model": ErrorOut}},
)
def run_plan(runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Start a plan run now; progress arrives on ``/live`` and ``/jobs/{id}``."""
    try:
        job = runtime.start_plan_job()
    except RuntimeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return job_view(job)


@router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}})
def get_job(job_id: str, runtime: RuntimeDep) -> dict[str, object]:
    """One job's state."""
    job = runtime.jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id!r}")
    return job_view(job)


@router.get(
    "/planner/debug",
    response_model=PlannerDebugOut,
    responses={404: {"model": ErrorOut, "description": "No plan yet."}},
)
def planner_debug(runtime: RuntimeDep) -> dict[str, object]:
    """The plan in force's ``planner_debug.json``: inputs, strategy, solver, binding, values."""
    document = planner_debug_view(runtime)
    if document is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "no planner debug yet: the first plan is pending"
        )
    return document
