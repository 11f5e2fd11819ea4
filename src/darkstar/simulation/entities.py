"""The simulated home's entity map: Home Assistant-style entity ids, units and state objects.

This module is the one place where the simulator's quantities get HA names and HA units
(W, kWh, %, °C). Everything on the HA side of the boundary uses these ids and units;
everything inside Darkstar uses kW, kWh and ``_percent`` names (``docs/nomenclature.md``).
An adapter translates between the two once, through :data:`SIM_ENTITY_MAP`.

States are strings, exactly as HA reports them: numbers are formatted with the entity's
``precision`` decimals, switches and binary sensors are ``"on"``/``"off"`` and a faulty
entity reads ``"unavailable"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from darkstar.house import STATE_UNAVAILABLE, EntityState
from darkstar.service.world import HouseEntities

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "COUNTER_FLOWS",
    "EV_ENTITIES",
    "SIM_HOUSE_ENTITIES",
    "SIM_HOUSE_ENTITIES_EV",
    "SIM_ENTITY_MAP",
    "STATE_OFF",
    "STATE_ON",
    "STATE_UNAVAILABLE",
    "EntityDescription",
    "EntityState",
    "InverterMode",
    "SimEntity",
    "format_number_state",
]

STATE_ON = "on"
STATE_OFF = "off"


class InverterMode(StrEnum):
    """Work modes of the simulated hybrid inverter (the options of its ``select``).

    :mod:`darkstar.simulation.inverter` documents what each mode does.
    """

    SELF_CONSUMPTION = "self_consumption"
    FORCE_CHARGE = "force_charge"
    FORCE_DISCHARGE = "force_discharge"
    HOLD = "hold"


class SimEntity(StrEnum):
    """Every entity the simulated home exposes; the value is the HA entity id."""

    BATTERY_SOC = "sensor.darkstar_sim_battery_soc"
    PV_POWER = "sensor.darkstar_sim_pv_power"
    LOAD_POWER = "sensor.darkstar_sim_load_power"
    GRID_IMPORT_ENERGY = "sensor.darkstar_sim_grid_import_energy"
    GRID_EXPORT_ENERGY = "sensor.darkstar_sim_grid_export_energy"
    PV_ENERGY = "sensor.darkstar_sim_pv_energy"
    LOAD_ENERGY = "sensor.darkstar_sim_load_energy"
    BATTERY_CHARGE_ENERGY = "sensor.darkstar_sim_battery_charge_energy"
    BATTERY_DISCHARGE_ENERGY = "sensor.darkstar_sim_battery_discharge_energy"
    WATER_HEATER_ENERGY = "sensor.darkstar_sim_water_heater_energy"
    EV_CHARGE_ENERGY = "sensor.darkstar_sim_ev_charge_energy"
    WATER_TEMPERATURE = "sensor.darkstar_sim_water_temperature"
    EV_PLUGGED = "binary_sensor.darkstar_sim_ev_plugged"
    EV_SOC = "sensor.darkstar_sim_ev_soc"
    INVERTER_MODE = "select.darkstar_sim_inverter_mode"
    BATTERY_CHARGE_POWER = "number.darkstar_sim_battery_charge_power"
    BATTERY_DISCHARGE_POWER = "number.darkstar_sim_battery_discharge_power"
    SOC_TARGET = "number.darkstar_sim_soc_target"
    GRID_CHARGING = "switch.darkstar_sim_grid_charging"
    WATER_HEATER = "water_heater.darkstar_sim_tank"
    EV_CHARGER = "switch.darkstar_sim_ev_charger"
    EV_CHARGE_POWER = "number.darkstar_sim_ev_charge_power"

    @property
    def domain(self) -> str:
        """The HA domain, the part of the id before the dot (``sensor``, ``number``...)."""
        return self.value.split(".", 1)[0]


@dataclass(frozen=True, kw_only=True)
class EntityDescription:
    """Static description of one entity: name, HA unit, device and state class.

    Attributes
    ----------
    entity_id : SimEntity
        The entity.
    name : str
        Friendly name.
    unit_of_measurement : str or None
        HA unit (``"W"``, ``"kWh"``, ``"%"``, ``"°C"``), None for unitless entities.
    device_class : str or None
        HA device class (``"power"``, ``"energy"``, ``"battery"``, ``"temperature"``...).
    state_class : str or None
        ``"measurement"`` or ``"total_increasing"`` (cumulative meters), sensors only.
    precision : int or None
        Decimals of the state string for numeric entities.
    """

    entity_id: SimEntity
    name: str
    unit_of_measurement: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    precision: int | None = None

    def static_attributes(self) -> dict[str, Any]:
        """Return the HA attributes that never change (name, unit, classes)."""
        attributes: dict[str, Any] = {"friendly_name": self.name}
        if self.unit_of_measurement is not None:
            attributes["unit_of_measurement"] = self.unit_of_measurement
        if self.device_class is not None:
            attributes["device_class"] = self.device_class
        if self.state_class is not None:
            attributes["state_class"] = self.state_class
        return attributes


def _power(entity_id: SimEntity, name: str) -> EntityDescription:
    return EntityDescription(
        entity_id=entity_id,
        name=name,
        unit_of_measurement="W",
        device_class="power",
        state_class="measurement",
        precision=1,
    )


def _energy(entity_id: SimEntity, name: str) -> EntityDescription:
    return EntityDescription(
        entity_id=entity_id,
        name=name,
        unit_of_measurement="kWh",
        device_class="energy",
        state_class="total_increasing",
        precision=6,
    )


def _power_setting(entity_id: SimEntity, name: str) -> EntityDescription:
    return EntityDescription(
        entity_id=entity_id, name=name, unit_of_measurement="W", device_class="power", precision=1
    )


def _soc(entity_id: SimEntity, name: str, state_class: str | None) -> EntityDescription:
    return EntityDescription(
        entity_id=entity_id,
        name=name,
        unit_of_measurement="%",
        device_class="battery",
        state_class=state_class,
        precision=2,
    )


def _temperature(entity_id: SimEntity, name: str, state_class: str | None) -> EntityDescription:
    return EntityDescription(
        entity_id=entity_id,
        name=name,
        unit_of_measurement="°C",
        device_class="temperature",
        state_class=state_class,
        precision=2,
    )


E = SimEntity
_DESCRIPTIONS = (
    _soc(E.BATTERY_SOC, "Battery state of charge", "measurement"),
    _power(E.PV_POWER, "PV power"),
    _power(E.LOAD_POWER, "House load power (base load)"),
    _energy(E.GRID_IMPORT_ENERGY, "Grid import energy"),
    _energy(E.GRID_EXPORT_ENERGY, "Grid export energy"),
    _energy(E.PV_ENERGY, "PV energy"),
    _energy(E.LOAD_ENERGY, "House load energy (base load)"),
    _energy(E.BATTERY_CHARGE_ENERGY, "Battery charge energy"),
    _energy(E.BATTERY_DISCHARGE_ENERGY, "Battery discharge energy"),
    _energy(E.WATER_HEATER_ENERGY, "Water heater energy"),
    _energy(E.EV_CHARGE_ENERGY, "EV charge energy"),
    _temperature(E.WATER_TEMPERATURE, "Water tank temperature", "measurement"),
    EntityDescription(entity_id=E.EV_PLUGGED, name="EV plugged in", device_class="plug"),
    _soc(E.EV_SOC, "EV state of charge", "measurement"),
    EntityDescription(entity_id=E.INVERTER_MODE, name="Inverter work mode"),
    _power_setting(E.BATTERY_CHARGE_POWER, "Battery charge power limit"),
    _power_setting(E.BATTERY_DISCHARGE_POWER, "Battery discharge power limit"),
    _soc(E.SOC_TARGET, "Battery SoC target", None),
    EntityDescription(entity_id=E.GRID_CHARGING, name="Battery grid charging"),
    _temperature(E.WATER_HEATER, "Water heater", None),
    EntityDescription(entity_id=E.EV_CHARGER, name="EV charger"),
    _power_setting(E.EV_CHARGE_POWER, "EV charge power"),
)
del E

SIM_ENTITY_MAP: Mapping[SimEntity, EntityDescription] = MappingProxyType(
    {description.entity_id: description for description in _DESCRIPTIONS}
)
"""Description of every simulated entity, keyed by entity id."""

COUNTER_FLOWS: Mapping[SimEntity, str] = MappingProxyType(
    {
        SimEntity.GRID_IMPORT_ENERGY: "grid_import_kwh",
        SimEntity.GRID_EXPORT_ENERGY: "grid_export_kwh",
        SimEntity.PV_ENERGY: "pv_used_kwh",
        SimEntity.LOAD_ENERGY: "load_served_kwh",
        SimEntity.BATTERY_CHARGE_ENERGY: "battery_charge_kwh",
        SimEntity.BATTERY_DISCHARGE_ENERGY: "battery_discharge_kwh",
        SimEntity.WATER_HEATER_ENERGY: "water_heater_kwh",
        SimEntity.EV_CHARGE_ENERGY: "ev_charge_kwh",
    }
)
"""Cumulative meter entity -> the ``StepResult`` energy field it integrates [kWh]."""

EV_ENTITIES: frozenset[SimEntity] = frozenset(
    {
        SimEntity.EV_PLUGGED,
        SimEntity.EV_SOC,
        SimEntity.EV_CHARGER,
        SimEntity.EV_CHARGE_POWER,
        SimEntity.EV_CHARGE_ENERGY,
    }
)
"""Entities that exist only when the house has an EV."""


def format_number_state(value: float, *, precision: int) -> str:
    """Format a number as an HA state string, rounded to ``precision`` decimals.

    Parameters
    ----------
    value : float
        The value, in the entity's HA unit.
    precision : int
        Decimals to keep.

    Returns
    -------
    str
        The state, ``"unavailable"`` for NaN or infinite values.

    Examples
    --------
    >>> format_number_state(1234.5678, precision=1)
    '1234.6'
    >>> format_number_state(-0.0000001, precision=2)
    '0.0'
    """
    if not math.isfinite(value):
        return STATE_UNAVAILABLE
    return str(round(value, precision) + 0.0)


SIM_HOUSE_ENTITIES = HouseEntities(
    battery_soc=SimEntity.BATTERY_SOC,
    pv_energy=SimEntity.PV_ENERGY,
    load_energy=SimEntity.LOAD_ENERGY,
    grid_import_energy=SimEntity.GRID_IMPORT_ENERGY,
    grid_export_energy=SimEntity.GRID_EXPORT_ENERGY,
    battery_charge_energy=SimEntity.BATTERY_CHARGE_ENERGY,
    battery_discharge_energy=SimEntity.BATTERY_DISCHARGE_ENERGY,
    water_heater_energy=SimEntity.WATER_HEATER_ENERGY,
    water_temperature=SimEntity.WATER_TEMPERATURE,
    inverter_mode=SimEntity.INVERTER_MODE,
    charge_power=SimEntity.BATTERY_CHARGE_POWER,
    discharge_power=SimEntity.BATTERY_DISCHARGE_POWER,
    soc_target=SimEntity.SOC_TARGET,
    grid_charging=SimEntity.GRID_CHARGING,
    water_heater=SimEntity.WATER_HEATER,
)
"""The simulated home's entities in their roles (without a car)."""

SIM_HOUSE_ENTITIES_EV = replace(
    SIM_HOUSE_ENTITIES,
    ev_soc=SimEntity.EV_SOC,
    ev_plugged=SimEntity.EV_PLUGGED,
    ev_charger=SimEntity.EV_CHARGER,
    ev_charge_power=SimEntity.EV_CHARGE_POWER,
)
"""The simulated home's entities in their roles, with its car."""
