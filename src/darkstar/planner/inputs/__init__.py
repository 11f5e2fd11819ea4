"""Planner inputs: the request contract, frozen input types and their preparation."""

from __future__ import annotations

from darkstar.planner.inputs.data_prep import prepare_input
from darkstar.planner.inputs.request import PlanRequest, parse_plan_request
from darkstar.planner.inputs.types import PlannerInput, PlannerState, SlotData

__all__ = [
    "PlanRequest",
    "PlannerInput",
    "PlannerState",
    "SlotData",
    "parse_plan_request",
    "prepare_input",
]
