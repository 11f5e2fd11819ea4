"""Service: the agent loop that runs observe -> plan -> act -> learn (DESIGN §2)."""

from __future__ import annotations

from darkstar.service.agent import AgentSummary, AgentTick, PlanEvent, run_agent

__all__ = ["AgentSummary", "AgentTick", "PlanEvent", "run_agent"]
