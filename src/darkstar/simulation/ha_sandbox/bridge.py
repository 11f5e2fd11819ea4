"""The simulated home inside the sandbox Home Assistant, and the world the agent runs in there.

:class:`SandboxBridge` is the simulated home's side of the sandbox: after every slot it
*publishes* its measured values into Home Assistant (the raw ``input_number`` helpers under
the template sensors of :mod:`~darkstar.simulation.ha_sandbox.config`), and before every
slot it *obeys* what is written to HA's control entities (inverter mode, power limits, SoC
target, grid charging, water setpoint) by applying them to the simulated inverter. Like a
real inverter, the simulated one keeps its last settings when Home Assistant is down.

:class:`SandboxWorld` is the :class:`~darkstar.service.world.World` of ``make ha-demo`` and
the integration tests: the agent reads and writes **only through Home Assistant**
(:class:`~darkstar.sources.homeassistant.HomeAssistantHouse`); prices, forecasts and time
come from the replayed year (:class:`~darkstar.simulation.world.SimulatedWorld`), so a
sandbox day can be compared with the same day run directly on the simulated home.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError
from darkstar.house import HouseError
from darkstar.service.live_world import SlotClockHouse
from darkstar.service.world import HouseEntities
from darkstar.simulation.entities import STATE_UNAVAILABLE, SimEntity
from darkstar.simulation.ha_sandbox.config import RAW_UNAVAILABLE, SANDBOX_ENTITIES

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from zoneinfo import ZoneInfo

    from darkstar.house import EntityState, House
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.service.world import ForecastEngine, PvOutlook
    from darkstar.simulation.house import SimulatedHouse
    from darkstar.simulation.world import SimulatedWorld
    from darkstar.sources.homeassistant import HomeAssistantHouse

__all__ = ["SANDBOX_HOUSE_ENTITIES", "ClockMap", "SandboxBridge", "SandboxWorld"]

logger = logging.getLogger(__name__)

_E = SimEntity
SANDBOX_HOUSE_ENTITIES = HouseEntities(
    battery_soc=SANDBOX_ENTITIES[_E.BATTERY_SOC].entity_id,
    pv_energy=SANDBOX_ENTITIES[_E.PV_ENERGY].entity_id,
    load_energy=SANDBOX_ENTITIES[_E.LOAD_ENERGY].entity_id,
    grid_import_energy=SANDBOX_ENTITIES[_E.GRID_IMPORT_ENERGY].entity_id,
    grid_export_energy=SANDBOX_ENTITIES[_E.GRID_EXPORT_ENERGY].entity_id,
    battery_charge_energy=SANDBOX_ENTITIES[_E.BATTERY_CHARGE_ENERGY].entity_id,
    battery_discharge_energy=SANDBOX_ENTITIES[_E.BATTERY_DISCHARGE_ENERGY].entity_id,
    water_heater_energy=SANDBOX_ENTITIES[_E.WATER_HEATER_ENERGY].entity_id,
    water_temperature=SANDBOX_ENTITIES[_E.WATER_TEMPERATURE].entity_id,
    inverter_mode=SANDBOX_ENTITIES[_E.INVERTER_MODE].entity_id,
    charge_power=SANDBOX_ENTITIES[_E.BATTERY_CHARGE_POWER].entity_id,
    discharge_power=SANDBOX_ENTITIES[_E.BATTERY_DISCHARGE_POWER].entity_id,
    soc_target=SANDBOX_ENTITIES[_E.SOC_TARGET].entity_id,
    grid_charging=SANDBOX_ENTITIES[_E.GRID_CHARGING].entity_id,
    water_heater=SANDBOX_ENTITIES[_E.WATER_HEATER].entity_id,
)
"""The sandbox's entities in their roles: what ``config.yaml`` would name for this house."""
del _E

_MEASURED = [s for s in SANDBOX_ENTITIES.values() if s.is_measurement]
_CONTROLS = {s.entity_id: s.sim_entity for s in SANDBOX_ENTITIES.values() if not s.is_measurement}


class SandboxBridge:
    """Publish the simulated home's meters into HA and apply HA's controls to it.

    Parameters
    ----------
    sim : SimulatedHouse
        The simulated home (its physics and meters).
    ha : HomeAssistantHouse
        The sandbox Home Assistant.
    """

    def __init__(self, *, sim: SimulatedHouse, ha: HomeAssistantHouse) -> None:
        self.sim, self.ha = sim, ha
        self.published = 0
        self.last_error: str | None = None
        self._seen: dict[str, str] = {}  # control -> the HA state last applied or synced
        self.clock_map: ClockMap | None = None  # set by SandboxWorld (history in sim time)

    def publish(self) -> int:
        """Set every raw helper to the simulated value (or unavailable); return the writes.

        Values are written at the entity's precision, so HA shows what the simulator shows.
        A Home Assistant that cannot be reached is logged; the next slot publishes again.
        """
        writes = 0
        if self.clock_map is not None:
            self.clock_map.mark(self.sim.now)
        try:
            for entity in _MEASURED:
                state = self.sim.get_state(entity.sim_entity).state
                value = RAW_UNAVAILABLE if state == STATE_UNAVAILABLE else float(state)
                self.ha.call_service(
                    "input_number",
                    "set_value",
                    {"entity_id": entity.raw_entity_id, "value": value},
                )
                writes += 1
        except HouseError as exc:
            self.last_error = str(exc)
            logger.warning("sandbox: could not publish the simulated meters: %s", exc)
        else:
            self.last_error = None
        self.published += writes
        return writes

    def apply_controls(self) -> None:
        """Apply what HA's control entities say to the simulated inverter and tank.

        When Home Assistant cannot be read the simulated devices keep their settings, as a
        real inverter does; a value the simulated device refuses is logged, not applied.
        """
        try:
            states = self.ha.get_states(list(_CONTROLS))
        except HouseError as exc:
            self.last_error = str(exc)
            logger.warning("sandbox: controls unreadable, devices keep their settings: %s", exc)
            return
        for entity_id, state in states.items():
            if self._seen.get(entity_id) == state.state:
                continue  # devices follow changes, as an integration does
            try:
                self._apply(_CONTROLS[entity_id], state)
            except (InputError, ValueError) as exc:
                logger.warning("sandbox: %s = %r not applied: %s", entity_id, state.state, exc)
            self._seen[entity_id] = state.state

    def _apply(self, target: SimEntity, state: EntityState) -> None:
        if state.state in {STATE_UNAVAILABLE, "unknown"}:
            return
        if target is SimEntity.INVERTER_MODE:
            self.sim.call_service(
                "select", "select_option", {"entity_id": target, "option": state.state}
            )
        elif target is SimEntity.GRID_CHARGING:
            service = "turn_on" if state.state == "on" else "turn_off"
            self.sim.call_service("switch", service, {"entity_id": target})
        elif target is SimEntity.WATER_HEATER:
            self.sim.call_service(
                "water_heater",
                "set_temperature",
                {"entity_id": target, "temperature": float(state.state)},
            )
        else:
            self.sim.call_service(
                "number", "set_value", {"entity_id": target, "value": float(state.state)}
            )

    def sync_controls_from_sim(self) -> None:
        """Write the simulated devices' current settings into HA's controls (at start).

        What HA then shows is the baseline: only later changes reach the simulated devices.

        Numbers are clamped to the HA control's range (the idle tank's thermostat sits at
        the cold-water temperature, below the sandbox setpoint's 20 °C minimum).
        """
        ranges = self.ha.get_states(list(_CONTROLS))
        for entity_id, target in _CONTROLS.items():
            sim_state = self.sim.get_state(target)
            domain = entity_id.split(".", 1)[0]
            if domain == "input_select":
                data: dict[str, Any] = {"entity_id": entity_id, "option": sim_state.state}
                self.ha.call_service(domain, "select_option", data)
            elif domain == "input_boolean":
                service = "turn_on" if sim_state.state == "on" else "turn_off"
                self.ha.call_service(domain, service, {"entity_id": entity_id})
            else:
                value = (
                    float(sim_state.attributes["temperature"])
                    if target is SimEntity.WATER_HEATER
                    else float(sim_state.state)
                )
                limits = ranges[entity_id].attributes
                value = min(max(value, float(limits["min"])), float(limits["max"]))
                self.ha.call_service(domain, "set_value", {"entity_id": entity_id, "value": value})
        self._seen = {e: st.state for e, st in self.ha.get_states(list(_CONTROLS)).items()}


class ClockMap:
    """When (wall clock) the simulated home's state at each simulated moment was published.

    The sandbox runs the replayed year faster than the wall clock, while Home Assistant's
    recorder stamps states with wall-clock time. Each publish is marked with the
    simulated moment it shows and the wall time it began, so a history query in
    simulated time maps to HA's wall-clock window and back, exactly: between two
    publishes nothing in HA changes. A real home needs no map (its clock is the wall's).
    """

    def __init__(self, wall: Callable[[], datetime] | None = None) -> None:
        self._wall = wall or (lambda: datetime.now(UTC))
        self.sims: list[datetime] = []
        self.walls: list[datetime] = []

    def mark(self, sim: datetime) -> None:
        """Record that the state at ``sim`` is being published now."""
        self.sims.append(sim)
        self.walls.append(self._wall())

    def wall_of(self, sim: datetime) -> datetime:
        """Return a wall time when HA showed the state published for ``sim`` (or just before)."""
        k = bisect.bisect_right(self.sims, sim) - 1
        if k < 0:
            return (self.walls[0] if self.walls else self._wall()) - timedelta(seconds=1)
        if k + 1 < len(self.walls):
            return self.walls[k + 1] - timedelta(milliseconds=1)
        return self._wall()

    def sim_of(self, wall: datetime) -> datetime | None:
        """Return the simulated moment whose publish wrote a state stamped ``wall``."""
        k = bisect.bisect_right(self.walls, wall) - 1
        return None if k < 0 else self.sims[k]


class _SimClockedHouse(SlotClockHouse):
    """Home Assistant on the simulated home's clock (always a slot start).

    History is asked in simulated time and answered in it, through the :class:`ClockMap`.
    """

    def __init__(
        self, ha: HomeAssistantHouse, clock: Callable[[], datetime], clock_map: ClockMap
    ) -> None:
        super().__init__(ha, clock)
        self._map = clock_map

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Home Assistant's recorder history, its wall-clock stamps mapped to simulated time."""
        recorded = self.inner.history(
            entity_ids, start=self._map.wall_of(start), end=self._map.wall_of(end)
        )
        out: dict[str, list[EntityState]] = {}
        for entity_id, states in recorded.items():
            out[entity_id] = []
            for state in states:
                sim = self._map.sim_of(state.last_updated)
                if sim is not None:
                    out[entity_id].append(dataclasses.replace(state, last_updated=sim))
        return out


class SandboxWorld:
    """The agent's world in the sandbox: HA for the house, the replayed year for the rest.

    Parameters
    ----------
    sim_world : SimulatedWorld
        The simulated home and the replayed year it runs on.
    ha : HomeAssistantHouse
        The sandbox Home Assistant mirroring ``sim_world.house``.
    """

    def __init__(self, *, sim_world: SimulatedWorld, ha: HomeAssistantHouse) -> None:
        self.sim_world = sim_world
        self.bridge = SandboxBridge(sim=sim_world.house, ha=ha)
        self.clock_map = ClockMap()
        self.bridge.clock_map = self.clock_map
        self._house = _SimClockedHouse(ha, lambda: sim_world.house.now, self.clock_map)
        self._synced = False
        self._sync()
        self.bridge.publish()

    def _sync(self) -> None:
        """Put the devices' settings into HA once it answers (HA down at start: retried)."""
        if self._synced:
            return
        try:
            self.bridge.sync_controls_from_sim()
        except HouseError as exc:
            logger.warning("sandbox: Home Assistant not reachable, retrying: %s", exc)
            return
        self._synced = True

    @property
    def house(self) -> House:
        """Home Assistant, on the simulated clock."""
        return self._house

    @property
    def entities(self) -> HouseEntities:
        """The sandbox entities in their roles."""
        return SANDBOX_HOUSE_ENTITIES

    @property
    def tz(self) -> ZoneInfo:
        """Local time of the replayed house."""
        return self.sim_world.tz

    @property
    def forecast_source(self) -> str:
        """Where forecasts come from."""
        return f"sandbox: {self.sim_world.forecast_source}"

    @property
    def slots_left(self) -> int:
        """Slots left in the replayed year."""
        return self.sim_world.slots_left

    def planner_input(
        self, *, soc_percent: float, now: datetime, water_heated_today_kwh: float = 0.0
    ) -> PlannerInput:
        """Prices and perfect forecasts of the replayed year."""
        return self.sim_world.planner_input(
            soc_percent=soc_percent, now=now, water_heated_today_kwh=water_heated_today_kwh
        )

    def prices_at(self, moment: datetime) -> tuple[float, float] | None:
        """Prices of the replayed year."""
        return self.sim_world.prices_at(moment)

    @property
    def aurora(self) -> ForecastEngine | None:
        """The replayed year's learning forecaster, if it has one."""
        return self.sim_world.aurora

    def forecast_versions(self) -> dict[str, str]:
        """Where the replayed year's forecasts come from."""
        return self.sim_world.forecast_versions()

    def pv_outlook(self, now: datetime) -> PvOutlook:
        """PV outlook of the replayed year."""
        return self.sim_world.pv_outlook(now)

    def inputs(self, now: datetime) -> dict[str, Any]:
        """Where the replayed year's prices and forecasts come from."""
        return self.sim_world.inputs(now)

    realtime = False

    def close(self) -> None:
        """Return at once: a simulated slot never waits."""

    def runs_whole(self, slot_start: datetime) -> bool:  # noqa: ARG002 - protocol
        """Return true: the simulated slot runs under the agent from start to end."""
        return True

    def advance(self, tick: Callable[[], None] | None = None) -> None:  # noqa: ARG002
        """Apply HA's controls to the simulated home, run the slot, publish its meters."""
        self._sync()
        if self._synced:
            self.bridge.apply_controls()
        self.sim_world.advance()
        self.bridge.publish()
