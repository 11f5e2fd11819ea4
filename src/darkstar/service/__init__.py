"""Service: the agent loop that runs observe -> plan -> act -> learn (DESIGN §2).

It runs in a :class:`~darkstar.service.world.World` handed in from outside
(:mod:`darkstar.backends`, :mod:`darkstar.simulation.agent_run`); nothing here imports the
simulator.
"""

from __future__ import annotations

from darkstar.service.agent import AgentLoop, AgentTick, PlanEvent
from darkstar.service.world import HouseEntities, World

__all__ = ["AgentLoop", "AgentTick", "HouseEntities", "PlanEvent", "World"]
