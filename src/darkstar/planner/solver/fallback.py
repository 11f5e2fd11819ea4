"""Never without a plan: Kepler, or the rule-based heuristic with the reason recorded."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from darkstar.baseline import plan_heuristic
from darkstar.planner.solver.kepler import NoSolutionError, solve_kepler, water_warnings
from darkstar.planner.solver.types import KeplerResult, PlanStatus, SolverReport

if TYPE_CHECKING:
    from darkstar.planner.solver.types import KeplerInput

__all__ = ["fallback_result", "solve_with_fallback"]

logger = logging.getLogger(__name__)


def fallback_result(kin: KeplerInput, reason: str) -> KeplerResult:
    """Return the heuristic plan as a ``fallback`` result carrying ``reason``."""
    logger.warning("planner fallback: %s", reason)
    plan = plan_heuristic(kin)
    return KeplerResult(
        status=PlanStatus.FALLBACK,
        plan=plan,
        warnings=tuple(water_warnings(kin, plan)),
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


def solve_with_fallback(kin: KeplerInput) -> KeplerResult:
    """Solve with Kepler; on no solution or any solver error, fall back (never raises)."""
    try:
        return solve_kepler(kin)
    except NoSolutionError as exc:
        return fallback_result(kin, str(exc))
    except Exception as exc:  # the planner must always hand back a plan
        logger.exception("kepler failed")
        return fallback_result(kin, f"solver error: {type(exc).__name__}: {exc}")
