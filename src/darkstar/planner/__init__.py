"""Kepler planning pipeline: public API.

>>> from darkstar.planner import generate_schedule, PlanMode  # doctest: +SKIP
"""

from __future__ import annotations

from darkstar.planner.pipeline import PlanMode, PlanOutcome, generate_schedule, plan_request

__all__ = ["PlanMode", "PlanOutcome", "generate_schedule", "plan_request"]
