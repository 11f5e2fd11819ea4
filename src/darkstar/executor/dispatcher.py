"""From a :class:`~darkstar.executor.controller.SlotCommand` to Home Assistant service calls.

The service follows the entity's domain, so the same command drives a hybrid inverter's
integration (``select``, ``number``, ``switch``, ``water_heater``) and the sandbox's helpers
(``input_select``, ``input_number``, ``input_boolean``). Powers go out in the entity's own
unit (``W`` or ``kW``, from its ``unit_of_measurement``) and are clamped to its
``min``/``max``, as an executor must (plans carry float noise).

Writes only on change (:func:`pending_calls`): a call whose entity already shows the
value (the option, on/off, or the number to :data:`WRITE_REL_TOLERANCE`) is not sent, so a
steady plan writes nothing and the inverter's flash is spared. The tolerance is tight on
purpose: a looser one (say 50 W) would make the house drift from the plan it follows.

=================  ==========================================  =====================
role               domains                                      service, field
=================  ==========================================  =====================
inverter_mode      select, input_select                         select_option, option
charge_power       number, input_number (W or kW)               set_value, value
discharge_power    number, input_number (W or kW)               set_value, value
soc_target         number, input_number (%)                     set_value, value
grid_charging      switch, input_boolean                        turn_on / turn_off
water_heater       water_heater; number, input_number (°C)      set_temperature /
                                                                set_value
ev_charger         switch, input_boolean                        turn_on / turn_off
ev_charge_power    number, input_number (W or kW)               set_value, value
=================  ==========================================  =====================

The car's power is written only while its charger is on (a charger keeps its last power).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError

if TYPE_CHECKING:
    from darkstar.executor.controller import SlotCommand
    from darkstar.house import EntityState, House
    from darkstar.service.world import HouseEntities

__all__ = [
    "WRITE_REL_TOLERANCE",
    "ServiceCall",
    "command_calls",
    "pending_calls",
    "write_command",
]

_POWER_UNITS = {"W": 1000.0, "kW": 1.0}

WRITE_REL_TOLERANCE = 1e-6
"""A number this close to the entity's state (relative, or absolute below 1) is not rewritten."""


@dataclass(frozen=True, kw_only=True)
class ServiceCall:
    """One Home Assistant service call."""

    domain: str
    service: str
    data: dict[str, Any]


def _domain(entity_id: str) -> str:
    return entity_id.split(".", 1)[0]


def _number_call(state: EntityState, value: float) -> ServiceCall:
    """``set_value`` on a number entity, clamped to its range."""
    attributes = state.attributes
    low, high = attributes.get("min"), attributes.get("max")
    if low is not None:
        value = max(value, float(low))
    if high is not None:
        value = min(value, float(high))
    return ServiceCall(
        domain=_domain(state.entity_id),
        service="set_value",
        data={"entity_id": state.entity_id, "value": value},
    )


def _power_value(state: EntityState, power_kw: float) -> float:
    unit = state.attributes.get("unit_of_measurement")
    if unit not in _POWER_UNITS:
        raise InputError(state.entity_id, f"power limit unit {unit!r} is not W or kW")
    return power_kw * _POWER_UNITS[str(unit)]


def command_calls(
    cmd: SlotCommand, entities: HouseEntities, states: dict[str, EntityState]
) -> list[ServiceCall]:
    """Return the service calls that write ``cmd`` (pure: ``states`` give units and ranges).

    Raises
    ------
    InputError
        Naming an entity whose domain or unit cannot carry its role.
    """
    calls = []
    mode_id = entities.inverter_mode
    if _domain(mode_id) not in {"select", "input_select"}:
        raise InputError(mode_id, "inverter_mode must be a select or input_select")
    calls.append(
        ServiceCall(
            domain=_domain(mode_id),
            service="select_option",
            data={"entity_id": mode_id, "option": str(cmd.mode)},
        )
    )
    for entity_id, power_kw in (
        (entities.charge_power, cmd.charge_limit_kw),
        (entities.discharge_power, cmd.discharge_limit_kw),
    ):
        calls.append(_number_call(states[entity_id], _power_value(states[entity_id], power_kw)))
    calls.append(_number_call(states[entities.soc_target], cmd.soc_target_percent))
    if entities.grid_charging is not None:
        calls.append(
            ServiceCall(
                domain=_domain(entities.grid_charging),
                service="turn_on" if cmd.mode == "force_charge" else "turn_off",
                data={"entity_id": entities.grid_charging},
            )
        )
    heater = entities.water_heater
    if heater is not None and cmd.water_setpoint_c is not None:
        if _domain(heater) == "water_heater":
            calls.append(
                ServiceCall(
                    domain="water_heater",
                    service="set_temperature",
                    data={"entity_id": heater, "temperature": cmd.water_setpoint_c},
                )
            )
        else:
            calls.append(_number_call(states[heater], cmd.water_setpoint_c))
    if entities.has_ev and cmd.ev_charge_kw is not None:
        charger, power = str(entities.ev_charger), str(entities.ev_charge_power)
        if _domain(charger) not in {"switch", "input_boolean"}:
            raise InputError(charger, "ev_charger must be a switch or input_boolean")
        on = cmd.ev_charge_kw > 0
        if on:
            calls.append(_number_call(states[power], _power_value(states[power], cmd.ev_charge_kw)))
        calls.append(
            ServiceCall(
                domain=_domain(charger),
                service="turn_on" if on else "turn_off",
                data={"entity_id": charger},
            )
        )
    return calls


def _already(call: ServiceCall, state: EntityState | None) -> bool:
    """Whether ``state`` already shows what ``call`` would write."""
    if state is None:
        return False
    if call.service == "select_option":
        return bool(state.state == call.data["option"])
    if call.service in {"turn_on", "turn_off"}:
        return state.state == call.service.removeprefix("turn_")
    if call.service == "set_temperature":
        target = state.attributes.get("temperature")
        return target is not None and _close(float(target), float(call.data["temperature"]))
    try:
        current = float(state.state)
    except ValueError:
        return False
    return _close(current, float(call.data["value"]))


def _close(current: float, wanted: float) -> bool:
    return abs(current - wanted) <= WRITE_REL_TOLERANCE * max(1.0, abs(wanted))


def pending_calls(calls: list[ServiceCall], states: dict[str, EntityState]) -> list[ServiceCall]:
    """Return the calls whose entity does not already show the value (writes on change)."""
    return [c for c in calls if not _already(c, states.get(c.data["entity_id"]))]


def write_command(house: House, entities: HouseEntities, cmd: SlotCommand) -> list[ServiceCall]:
    """Write ``cmd`` to the house, only what differs from the entities' states now.

    Returns the calls made (empty when the house already follows the command).

    Raises
    ------
    HouseError
        When the house cannot be reached or refuses a call (an unavailable entity).
    InputError
        Naming an entity whose domain or unit cannot carry its role.
    """
    targets = [entities.inverter_mode, entities.charge_power, entities.discharge_power]
    targets += [e for e in (entities.soc_target, entities.grid_charging) if e is not None]
    if entities.water_heater is not None and cmd.water_setpoint_c is not None:
        targets.append(entities.water_heater)
    if entities.has_ev and cmd.ev_charge_kw is not None:
        targets += [str(entities.ev_charger), str(entities.ev_charge_power)]
    states = house.get_states(targets)
    calls = pending_calls(command_calls(cmd, entities, states), states)
    for call in calls:
        house.call_service(call.domain, call.service, call.data)
    return calls
