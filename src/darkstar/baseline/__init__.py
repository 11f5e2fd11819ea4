"""Rule-based baseline planners: Kepler's benchmark reference and safe fallback."""

from __future__ import annotations

from darkstar.baseline.heuristic import do_nothing_plan, plan_cost_sek, plan_heuristic

__all__ = ["do_nothing_plan", "plan_cost_sek", "plan_heuristic"]
