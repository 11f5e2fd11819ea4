"""Manual blocks (list, simulate before saving, save) and the export what-if."""

from __future__ import annotations

from fastapi import APIRouter

from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.schemas import (
    BlocksIn,
    BlocksOut,
    ErrorOut,
    ExportWhatIfIn,
    ExportWhatIfOut,
    SimulateOut,
)

router = APIRouter(tags=["planning"])


@router.get("/planning/blocks", response_model=BlocksOut)
def get_blocks(runtime: RuntimeDep) -> dict[str, object]:
    """The saved manual blocks."""
    return {"blocks": runtime.blocks_view()}


@router.post(
    "/planning/simulate",
    response_model=SimulateOut,
    responses={
        422: {"model": ErrorOut},
        401: {"model": ErrorOut},
        429: {"model": ErrorOut, "description": "Another simulation is running."},
    },
)
def simulate(body: BlocksIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Plan now with ``blocks`` (nothing is saved) and compare with the plan in force.

    Solved outside the agent's lock, one at a time: a second concurrent call gets 429.
    """
    return runtime.simulate_blocks([b.model_dump() for b in body.blocks])


@router.put(
    "/planning/blocks",
    response_model=BlocksOut,
    responses={
        422: {"model": ErrorOut},
        401: {"model": ErrorOut},
        503: {"model": ErrorOut, "description": "Could not be saved: nothing changed."},
    },
)
def save_blocks(body: BlocksIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Save ``blocks``; every plan from now on obeys them; replans at once."""
    runtime.save_blocks([b.model_dump() for b in body.blocks])
    return {"blocks": runtime.blocks_view()}


@router.post(
    "/planning/whatif/export",
    response_model=ExportWhatIfOut,
    responses={
        422: {"model": ErrorOut},
        401: {"model": ErrorOut},
        429: {"model": ErrorOut, "description": "Another simulation is running."},
    },
)
def whatif_export(body: ExportWhatIfIn, runtime: RuntimeDep, _: TokenDep) -> dict[str, object]:
    """Export ``energy_kwh`` at ``at`` (``tomorrow peak``, ``today peak`` or a local time).

    Re-plans from now twice, with and without the commitment, and returns the net impact
    on the horizon's cost (negative: the export earns money); nothing is saved.
    """
    return runtime.whatif_export(energy_kwh=body.energy_kwh, at=body.at)
