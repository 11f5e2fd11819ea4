"""Check a ``config.yaml`` against a live Home Assistant before Darkstar drives it.

:func:`check_home_assistant` reads every entity the ``input_sensors`` and ``executor``
sections name and returns one :class:`Problem` per finding (it never raises for one), so a
user fixes them all in one go (``darkstar check-ha``). What is checked, per config key:

=====================================  =================================================
key                                    the entity must
=====================================  =================================================
``input_sensors.battery_soc``          read as a number in ``%`` (0-100)
``input_sensors.*_energy``             read as energy (Wh, kWh, MWh), have
                                       ``state_class: total_increasing``, and not
                                       decrease over the last :data:`COUNTER_HISTORY`
                                       except by a reset to ~0
``input_sensors.water_temperature``    read as a temperature (°C, or °F converted)
``executor.inverter_mode``             be a ``select``/``input_select`` whose options hold
                                       every :class:`~darkstar.executor.controller.InverterMode`
``executor.charge_power``,             be a ``number``/``input_number`` in W or kW with
``executor.discharge_power``           ``min`` and ``max`` attributes
``executor.soc_target``                be a ``number``/``input_number`` in ``%``
``executor.grid_charging``             be a ``switch``/``input_boolean``
``executor.water_heater``              be a ``water_heater``, or a
                                       ``number``/``input_number`` in °C
=====================================  =================================================

The domains are those :mod:`darkstar.executor.dispatcher` writes to, and the units those
:mod:`darkstar.house.units` reads. Required keys that are null are problems too
(:meth:`~darkstar.config.models.DarkstarConfig.missing_home_assistant_entities`). When Home
Assistant cannot be reached or refuses the token, the result is that single problem
(``home_assistant.url`` or ``home_assistant.token``): nothing else can be checked.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from darkstar.executor.controller import InverterMode
from darkstar.house import STATE_UNAVAILABLE, STATE_UNKNOWN, HouseError, Quantity, read_number
from darkstar.house.units import UNIT_MAP, UnreadableState

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from darkstar.config.models import DarkstarConfig
    from darkstar.house import EntityState
    from darkstar.sources.homeassistant.house import HomeAssistantHouse

__all__ = [
    "COUNTER_HISTORY",
    "Problem",
    "check_home_assistant",
    "configured_entities",
]

logger = logging.getLogger(__name__)

COUNTER_HISTORY = timedelta(hours=2)
"""How far back the energy counters are checked for decreases."""

_RESET_FRAC = 0.05
"""A counter falling to at most this share of its last value is a reset (a meter replaced,
a daily counter at midnight), not a fault."""

_RESET_MAX_KWH = 0.1
"""...and so is a fall to at most this much [kWh], whatever the last value."""

_DECREASE_REL_TOLERANCE = 1e-9
"""Float noise in a counter's state that is not a decrease (relative, absolute below 1)."""

_URL_KEY = "home_assistant.url"
_TOKEN_KEY = "home_assistant.token"

_COUNTER_ROLES = (
    "pv_energy",
    "load_energy",
    "grid_import_energy",
    "grid_export_energy",
    "battery_charge_energy",
    "battery_discharge_energy",
    "water_heater_energy",
)
_INPUT_ROLES = ("battery_soc", *_COUNTER_ROLES, "water_temperature")
_EXECUTOR_ROLES = (
    "inverter_mode",
    "charge_power",
    "discharge_power",
    "soc_target",
    "grid_charging",
    "water_heater",
)
_NUMBER_DOMAINS = ("number", "input_number")
_POWER_UNITS = ("W", "kW")
_STATE_CLASS = "total_increasing"


@dataclass(frozen=True)
class Problem:
    """One finding about one config key.

    Attributes
    ----------
    key : str
        The config key to fix, e.g. ``input_sensors.battery_soc`` or ``home_assistant.url``.
    entity_id : str or None
        The entity the key names, when the finding is about one.
    message : str
        What is wrong, in one line.
    """

    key: str
    entity_id: str | None
    message: str

    def __str__(self) -> str:
        """Return ``<key> (<entity_id>): <message>`` (``<key>: <message>`` without entity)."""
        where = self.key if self.entity_id is None else f"{self.key} ({self.entity_id})"
        return f"{where}: {self.message}"


def configured_entities(cfg: DarkstarConfig) -> list[tuple[str, str]]:
    """Return ``(config key, entity id)`` of every entity the config names, in config order.

    Examples
    --------
    >>> from darkstar.config.models import DarkstarConfig
    >>> cfg = DarkstarConfig.model_validate({"input_sensors": {"battery_soc": "sensor.soc"}})
    >>> configured_entities(cfg)
    [('input_sensors.battery_soc', 'sensor.soc')]
    """
    out = []
    for section, roles in (("input_sensors", _INPUT_ROLES), ("executor", _EXECUTOR_ROLES)):
        for role in roles:
            entity_id = getattr(getattr(cfg, section), role)
            if entity_id is not None:
                out.append((f"{section}.{role}", entity_id))
    return out


def _error_text(exc: HouseError) -> str:
    """``exc``'s message without the ``<source>: `` prefix."""
    return str(exc).removeprefix(f"{exc.source}: ")


def _connection_problem(exc: HouseError) -> Problem | None:
    """Return the single problem of an unreachable HA or a refused token (else None)."""
    if exc.source in (_URL_KEY, _TOKEN_KEY):
        return Problem(exc.source, None, _error_text(exc))
    return None


def _alternatives(names: Sequence[str]) -> str:
    """Return ``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _domain(entity_id: str) -> str:
    return entity_id.split(".", 1)[0]


def _not_a_value(state: EntityState) -> str | None:
    """Why ``state`` holds no value (``unavailable``/``unknown``), or None."""
    if state.state == STATE_UNAVAILABLE:
        return "state is 'unavailable' (the device or its integration cannot be reached)"
    if state.state == STATE_UNKNOWN:
        return "state is 'unknown' (the entity has no value yet)"
    return None


def _number(state: EntityState, quantity: Quantity) -> tuple[list[str], float | None]:
    """Return the findings about reading ``state`` as ``quantity``, and its value."""
    found = []
    if (why := _not_a_value(state)) is not None:
        found.append(why)
    unit = state.attributes.get("unit_of_measurement")
    units = UNIT_MAP[quantity]
    if unit is None and not found:
        found.append(f"has no unit_of_measurement; expected {_alternatives(list(units))}")
    elif unit is not None and unit not in units:
        found.append(f"unit {unit!r} is not {_alternatives(list(units))}")
    if found:
        return found, None
    try:
        return [], read_number(state, quantity)
    except UnreadableState as exc:
        return [_error_text(exc)], None


def _check_soc(state: EntityState) -> list[str]:
    found, value = _number(state, Quantity.PERCENT)
    if value is not None and not 0.0 <= value <= 100.0:
        found.append(f"reads {value:g} %, outside 0-100 %")
    return found


def _check_counter(state: EntityState) -> list[str]:
    found, _ = _number(state, Quantity.ENERGY_KWH)
    state_class = state.attributes.get("state_class")
    if state_class is None:
        if _not_a_value(state) is None or state.attributes:
            found.append(f"has no state_class; a cumulative energy counter is {_STATE_CLASS}")
    elif state_class != _STATE_CLASS:
        found.append(f"state_class is {state_class!r}, not {_STATE_CLASS}")
    return found


def _check_temperature(state: EntityState) -> list[str]:
    return _number(state, Quantity.TEMPERATURE_C)[0]


def _wrong_domain(entity_id: str, domains: Sequence[str]) -> str | None:
    if _domain(entity_id) in domains:
        return None
    return f"domain {_domain(entity_id)!r} cannot carry this role; use {_alternatives(domains)}"


def _unit_is(state: EntityState, units: Sequence[str]) -> list[str]:
    unit = state.attributes.get("unit_of_measurement")
    if unit is None:
        return [f"has no unit_of_measurement; expected {_alternatives(list(units))}"]
    if unit not in units:
        return [f"unit {unit!r} is not {_alternatives(list(units))}"]
    return []


def _control(
    domains: Sequence[str], then: Callable[[EntityState], list[str]] | None = None
) -> Callable[[EntityState], list[str]]:
    """Return a control's check: an accepted domain, available, then ``then``."""

    def check(state: EntityState) -> list[str]:
        if (wrong := _wrong_domain(state.entity_id, domains)) is not None:
            return [wrong]
        if state.state == STATE_UNAVAILABLE:
            return ["state is 'unavailable': Darkstar could not write to it"]
        return [] if then is None else then(state)

    return check


def _mode_options(state: EntityState) -> list[str]:
    options = state.attributes.get("options")
    if not isinstance(options, list | tuple):
        return ["has no options attribute"]
    missing = [str(mode) for mode in InverterMode if str(mode) not in options]
    if missing:
        return [f"options lack {', '.join(missing)} (Darkstar selects every InverterMode)"]
    return []


def _power_limit(state: EntityState) -> list[str]:
    found = _unit_is(state, _POWER_UNITS)
    for bound in ("min", "max"):
        value = state.attributes.get(bound)
        if value is None:
            found.append(f"has no {bound} attribute (limits are clamped to min and max)")
        elif not (isinstance(value, int | float) and math.isfinite(value)):
            found.append(f"{bound} attribute is {value!r}, not a number")
    return found


def _setpoint_c(state: EntityState) -> list[str]:
    return _unit_is(state, ("°C",))


def _soc_percent(state: EntityState) -> list[str]:
    return _unit_is(state, ("%",))


_WATER_HEATER_ENTITY = _control(("water_heater",))
_WATER_SETPOINT = _control(_NUMBER_DOMAINS, _setpoint_c)


def _water_heater(state: EntityState) -> list[str]:
    """Check for a ``water_heater`` entity, or a ``number``/``input_number`` in °C."""
    wrong = _wrong_domain(state.entity_id, ("water_heater", *_NUMBER_DOMAINS))
    if wrong is not None:
        return [wrong]
    if _domain(state.entity_id) == "water_heater":
        return _WATER_HEATER_ENTITY(state)
    return _WATER_SETPOINT(state)


_CHECKS: dict[str, Callable[[EntityState], list[str]]] = {
    "input_sensors.battery_soc": _check_soc,
    **{f"input_sensors.{role}": _check_counter for role in _COUNTER_ROLES},
    "input_sensors.water_temperature": _check_temperature,
    "executor.inverter_mode": _control(("select", "input_select"), _mode_options),
    "executor.charge_power": _control(_NUMBER_DOMAINS, _power_limit),
    "executor.discharge_power": _control(_NUMBER_DOMAINS, _power_limit),
    "executor.soc_target": _control(_NUMBER_DOMAINS, _soc_percent),
    "executor.grid_charging": _control(("switch", "input_boolean")),
    "executor.water_heater": _water_heater,
}
"""Config key -> the findings about its entity's current state."""


def _kwh(value_kwh: float) -> str:
    """Return ``1523.25 kWh`` (at most three decimals, trailing zeros dropped)."""
    return f"{value_kwh:.3f}".rstrip("0").rstrip(".") + " kWh"


def _decrease(states: Sequence[EntityState]) -> str | None:
    """Describe the first fall of a counter that is not a reset to ~0 (None: no such fall)."""
    previous: float | None = None
    for state in states:
        try:
            value_kwh = read_number(state, Quantity.ENERGY_KWH)
        except UnreadableState:
            continue  # unavailable for a while: compare across the gap
        if previous is not None:
            last_kwh = previous
            tolerance_kwh = _DECREASE_REL_TOLERANCE * max(1.0, abs(last_kwh))
            is_reset = value_kwh <= max(_RESET_MAX_KWH, _RESET_FRAC * last_kwh)
            if value_kwh < last_kwh - tolerance_kwh and not is_reset:
                at = state.last_updated.isoformat(timespec="seconds")
                return (
                    f"decreased from {_kwh(last_kwh)} to {_kwh(value_kwh)} at {at}; "
                    f"a {_STATE_CLASS} counter may only fall by a reset to ~0"
                )
        previous = value_kwh
    return None


def _counter_problems(
    house: HomeAssistantHouse, counters: Sequence[tuple[str, str]]
) -> list[Problem]:
    """Problems of counters that decreased over :data:`COUNTER_HISTORY` (no history: none).

    Raises
    ------
    HouseError
        When Home Assistant cannot be reached or refuses the token.
    """
    if not counters:
        return []
    now = house.now
    ids = list(dict.fromkeys(entity_id for _, entity_id in counters))
    try:
        history = house.history(ids, start=now - COUNTER_HISTORY, end=now)
    except HouseError as exc:
        if _connection_problem(exc) is not None:
            raise
        logger.warning("counter history not checked: %s", exc)
        return []
    problems = []
    for key, entity_id in counters:
        if (message := _decrease(history.get(entity_id, []))) is not None:
            problems.append(Problem(key, entity_id, message))
    return problems


def _entity_problems(house: HomeAssistantHouse, cfg: DarkstarConfig) -> list[Problem]:
    """Problems of every configured entity, in config order.

    Raises
    ------
    HouseError
        When Home Assistant cannot be reached or refuses the token.
    """
    problems = []
    readable_counters = []
    counter_keys = {f"input_sensors.{role}" for role in _COUNTER_ROLES}
    for key, entity_id in configured_entities(cfg):
        try:
            state = house.get_state(entity_id)
        except HouseError as exc:
            if _connection_problem(exc) is not None:
                raise
            message = _error_text(exc) if exc.source == entity_id else str(exc)
            problems.append(Problem(key, entity_id, message))
            continue
        found = _CHECKS[key](state)
        problems.extend(Problem(key, entity_id, message) for message in found)
        if key in counter_keys and not found:
            readable_counters.append((key, entity_id))
    problems.extend(_counter_problems(house, readable_counters))
    order = {key: i for i, (key, _) in enumerate(configured_entities(cfg))}
    return sorted(problems, key=lambda problem: order[problem.key])


def check_home_assistant(house: HomeAssistantHouse, cfg: DarkstarConfig) -> list[Problem]:
    """Check that ``cfg``'s entities exist in ``house`` and can play their roles.

    Parameters
    ----------
    house : HomeAssistantHouse
        The Home Assistant to check (one REST call per entity, one history call).
    cfg : DarkstarConfig
        The configuration whose ``input_sensors`` and ``executor`` entities are checked.

    Returns
    -------
    list[Problem]
        One problem per finding: null required keys first, then the entities in config
        order (several findings about one entity are several problems). Empty when
        everything is fine. When Home Assistant cannot be reached or refuses the token, the
        single problem naming ``home_assistant.url`` or ``home_assistant.token``.
    """
    try:
        house.check()
    except HouseError as exc:
        return [_connection_problem(exc) or Problem(_URL_KEY, None, str(exc))]
    problems = [
        Problem(key, None, "is not set (required when home_assistant.url is set)")
        for key in cfg.missing_home_assistant_entities()
    ]
    try:
        problems += _entity_problems(house, cfg)
    except HouseError as exc:
        return [_connection_problem(exc) or Problem(_URL_KEY, None, str(exc))]
    return problems
