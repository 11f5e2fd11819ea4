"""The simulated home behind the Home Assistant adapter's interface.

:class:`SimulatedHouse` holds the state of a battery with a hybrid inverter, a grid fuse,
an electric hot-water tank and an optional EV. It answers ``get_state``, ``get_states``
and ``call_service`` over the entities of :mod:`darkstar.simulation.entities` as HA
would, and :meth:`SimulatedHouse.step` advances the physics with the PV, load, hot-water
draws and EV trips the caller supplies. Nothing inside is random.

A step is cut into equal sub-steps of at most :data:`SUBSTEP_MAX_S`. In each:

1. The step's hot-water draw, spread evenly over the sub-steps, mixes in cold water
   (:func:`~darkstar.simulation.tank.mix_draw_temp_c`).
2. The thermostat (2 K deadband) switches the element; an element that is on draws full
   power, except in the sub-step that reaches the setpoint, where it draws just enough
   to land on it and switches off (:func:`~darkstar.simulation.tank.heater_demand_kw`).
3. The EV charges at its set power while plugged in with the charger switch on, up to
   its capacity (the EV meter counts the AC energy; the car gains it times its efficiency).
4. The inverter balances the house (:func:`~darkstar.simulation.inverter.dispatch`:
   work modes, fuse, shedding, curtailment); then battery, tank and EV are integrated.

The cumulative meters add each step's energies, so they equal the sums of the
:class:`StepResult` energies; every step balances
``pv_used + battery_discharge + grid_import = load_served + water_heater + ev_charge +
battery_charge + grid_export`` [kWh] up to float rounding.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError, require
from darkstar.simulation.entities import (
    COUNTER_FLOWS,
    EV_ENTITIES,
    SIM_ENTITY_MAP,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    EntityState,
    InverterMode,
    SimEntity,
    format_number_state,
)
from darkstar.simulation.inverter import (
    BatterySimSpec,
    Flows,
    GridSpec,
    InverterSettings,
    dispatch,
    soc_after_kwh,
)
from darkstar.simulation.tank import WaterTankSpec, start_substep, tank_temp_after_c

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "HISTORY_STEPS",
    "SUBSTEP_MAX_S",
    "BatterySimSpec",
    "EvSpec",
    "GridSpec",
    "HouseSpec",
    "SimulatedHouse",
    "StepResult",
    "WaterTankSpec",
]

SUBSTEP_MAX_S = 60.0
"""Longest physics sub-step [s]."""

HISTORY_STEPS = 14 * 96
"""Sensor states the house remembers for :meth:`SimulatedHouse.history` (14 days of slots)."""

_ENTITY_IDS = frozenset(entity.value for entity in SimEntity)
_SETPOINT_REACHED_K = 1e-9  # float slack when the element lands exactly on the setpoint
_WATER_HEATER_STATE = "electric"
_SERVICE_FIELDS: dict[tuple[str, str], str | None] = {
    ("select", "select_option"): "option",
    ("number", "set_value"): "value",
    ("switch", "turn_on"): None,
    ("switch", "turn_off"): None,
    ("water_heater", "set_temperature"): "temperature",
}


@dataclass(frozen=True, kw_only=True)
class EvSpec:
    """Electric vehicle and its charger.

    Attributes
    ----------
    capacity_kwh : float
        Battery capacity, > 0 [kWh].
    max_charge_kw : float
        Rated charger power, > 0 [kW].
    initial_soc_percent : float
        SoC at the start, in [0, 100] [%].
    initial_plugged : bool
        Whether the EV is plugged in at the start.
    charge_efficiency : float
        Car energy gained per AC kWh the charger draws, in (0, 1] [-]; the EV meter
        counts the AC side.
    """

    capacity_kwh: float
    max_charge_kw: float
    initial_soc_percent: float
    initial_plugged: bool = True
    charge_efficiency: float = 1.0

    def __post_init__(self) -> None:
        for name in ("capacity_kwh", "max_charge_kw"):
            value = getattr(self, name)
            require(math.isfinite(value) and value > 0, f"ev.{name}", "must be > 0")
        require(
            0 <= self.initial_soc_percent <= 100, "ev.initial_soc_percent", "must be in [0, 100]"
        )
        require(0 < self.charge_efficiency <= 1, "ev.charge_efficiency", "must be in (0, 1]")


@dataclass(frozen=True, kw_only=True)
class HouseSpec:
    """Everything in the simulated home; the EV is optional."""

    battery: BatterySimSpec
    tank: WaterTankSpec
    grid: GridSpec
    ev: EvSpec | None = None


@dataclass(frozen=True, kw_only=True)
class StepResult:
    """What happened in one step: energies [kWh], mean powers [kW] and end states.

    The ten electrical energies follow :class:`~darkstar.simulation.inverter.Flows`
    (``load_shed_kwh`` is all demand not served: EV, water heater and base load;
    ``load_served_kwh`` is the base load served); each has a ``_kw`` property with the
    mean power over the step. ``tank_loss_kwh`` and ``hot_water_kwh`` are the heat that
    left the tank through its insulation and with the drawn water (relative to cold
    water); ``ev_trip_kwh`` is the energy driven and ``ev_trip_shortfall_kwh`` what a
    trip asked for beyond the EV's SoC. End states: ``soc_kwh``, ``water_temp_c``,
    ``ev_soc_kwh`` and ``ev_plugged`` (None without an EV).
    """

    start: datetime
    duration: timedelta
    pv_used_kwh: float
    pv_curtailed_kwh: float
    load_served_kwh: float
    load_shed_kwh: float
    water_heater_kwh: float
    ev_charge_kwh: float
    battery_charge_kwh: float
    battery_discharge_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    tank_loss_kwh: float
    hot_water_kwh: float
    ev_trip_kwh: float
    ev_trip_shortfall_kwh: float
    soc_kwh: float
    water_temp_c: float
    ev_soc_kwh: float | None
    ev_plugged: bool | None

    @property
    def end(self) -> datetime:
        """End of the step (UTC)."""
        return self.start + self.duration

    @property
    def duration_h(self) -> float:
        """Step length [h]."""
        return self.duration.total_seconds() / 3600.0

    @property
    def pv_used_kw(self) -> float:
        """PV used in the house or exported [kW]."""
        return self.pv_used_kwh / self.duration_h

    @property
    def pv_curtailed_kw(self) -> float:
        """PV curtailed because the export hit the fuse [kW]."""
        return self.pv_curtailed_kwh / self.duration_h

    @property
    def load_served_kw(self) -> float:
        """Base load served [kW]."""
        return self.load_served_kwh / self.duration_h

    @property
    def load_shed_kw(self) -> float:
        """Demand shed at the fuse (EV, water heater, base load) [kW]."""
        return self.load_shed_kwh / self.duration_h

    @property
    def water_heater_kw(self) -> float:
        """Water heater element [kW]."""
        return self.water_heater_kwh / self.duration_h

    @property
    def ev_charge_kw(self) -> float:
        """EV charging [kW]."""
        return self.ev_charge_kwh / self.duration_h

    @property
    def battery_charge_kw(self) -> float:
        """Battery charging, AC side [kW]."""
        return self.battery_charge_kwh / self.duration_h

    @property
    def battery_discharge_kw(self) -> float:
        """Battery discharging, AC side [kW]."""
        return self.battery_discharge_kwh / self.duration_h

    @property
    def grid_import_kw(self) -> float:
        """Grid import [kW]."""
        return self.grid_import_kwh / self.duration_h

    @property
    def grid_export_kw(self) -> float:
        """Grid export [kW]."""
        return self.grid_export_kwh / self.duration_h


def _parse_number(field: str, raw: object) -> float:
    """Read a service-call number (int, float or numeric string) or raise naming the field."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InputError(field, f"must be a number, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise InputError(field, f"must be a number, got {raw!r}") from None
    require(math.isfinite(value), field, f"must be finite, got {raw!r}")
    return value


class SimulatedHouse:
    """A deterministic simulated home with the Home Assistant adapter's interface.

    Parameters
    ----------
    spec : HouseSpec
        The equipment.
    start : datetime
        Simulation start, tz-aware UTC.
    keep_history : bool, default False
        Record sensor states for :meth:`history` (the agent's world does; backtests don't).

    Raises
    ------
    InputError
        If ``start`` is naive or not UTC.

    Notes
    -----
    Settings at the start: ``self_consumption``; charge, discharge and EV power limits at
    their rated values; SoC target at ``min_soc_percent``; grid charging and the EV
    charger off; water setpoint ``tank.initial_setpoint_c``. Number entities take W, %
    and °C, as in HA; they are converted to kW here, once. Sensor states show the
    latest step (powers are its means); ``last_updated`` is the end of the latest step
    for sensors and the time of the last write for settings.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> spec = HouseSpec(
    ...     battery=BatterySimSpec(capacity_kwh=10, min_soc_percent=10, max_charge_kw=5,
    ...                            max_discharge_kw=5, charge_efficiency=0.95,
    ...                            discharge_efficiency=0.95, initial_soc_percent=50),
    ...     tank=WaterTankSpec(volume_l=200, heater_power_kw=3, initial_temp_c=55),
    ...     grid=GridSpec(fuse_kw=11))
    >>> house = SimulatedHouse(spec, start=datetime(2025, 1, 1, tzinfo=UTC))
    >>> result = house.step(duration=timedelta(minutes=15), pv_kw=0.0, load_kw=2.0)
    >>> round(result.battery_discharge_kw, 9), round(result.grid_import_kw, 9)
    (2.0, 0.0)
    >>> house.get_state("sensor.darkstar_sim_battery_soc").state
    '44.74'
    """

    def __init__(self, spec: HouseSpec, *, start: datetime, keep_history: bool = False) -> None:
        require(start.utcoffset() == timedelta(0), "start", "must be a tz-aware UTC datetime")
        battery, tank, ev = spec.battery, spec.tank, spec.ev
        self._spec = spec
        self._now = start
        self._soc_kwh = battery.capacity_kwh * battery.initial_soc_percent / 100.0
        self._water_temp_c = tank.initial_temp_c
        self._heating = False
        self._ev_soc_kwh = 0.0 if ev is None else ev.capacity_kwh * ev.initial_soc_percent / 100
        self._ev_plugged = ev is not None and ev.initial_plugged
        self._inverter = InverterSettings(
            mode=InverterMode.SELF_CONSUMPTION,
            charge_limit_kw=battery.max_charge_kw,
            discharge_limit_kw=battery.max_discharge_kw,
            soc_target_percent=battery.min_soc_percent,
        )
        self._water_setpoint_c = tank.initial_setpoint_c
        self._ev_charger_on = False
        self._ev_limit_kw = 0.0 if ev is None else ev.max_charge_kw
        self._entities = tuple(e for e in SimEntity if ev is not None or e not in EV_ENTITIES)
        self._counters_kwh = {e: 0.0 for e in COUNTER_FLOWS if e in self._entities}
        self._last_kw = {SimEntity.PV_POWER: 0.0, SimEntity.LOAD_POWER: 0.0}
        self._updated = dict.fromkeys(self._entities, start)
        self._unavailable: set[SimEntity] = set()
        self._history: dict[str, deque[EntityState]] | None = {} if keep_history else None
        self._subscribers: list[tuple[frozenset[str], Callable[[EntityState], None]]] = []

    @property
    def now(self) -> datetime:
        """Current simulated time, tz-aware UTC."""
        return self._now

    @property
    def soc_kwh(self) -> float:
        """Battery energy, unrounded [kWh]."""
        return self._soc_kwh

    @property
    def water_temp_c(self) -> float:
        """Tank temperature, unrounded [°C]."""
        return self._water_temp_c

    @property
    def ev_soc_kwh(self) -> float | None:
        """EV energy, unrounded, None without an EV [kWh]."""
        return None if self._spec.ev is None else self._ev_soc_kwh

    @property
    def inverter(self) -> InverterSettings:
        """What has been written to the inverter."""
        return self._inverter

    @property
    def counters_kwh(self) -> dict[SimEntity, float]:
        """Cumulative meter readings, unrounded (a copy) [kWh]."""
        return dict(self._counters_kwh)

    def get_state(self, entity_id: str) -> EntityState:
        """Return one entity's state as HA would.

        Parameters
        ----------
        entity_id : str
            An id from :class:`~darkstar.simulation.entities.SimEntity`.

        Returns
        -------
        EntityState
            State string, attributes (name, unit, classes, ``min``/``max``/``options``)
            and ``last_updated``.

        Raises
        ------
        InputError
            If this house has no such entity.
        """
        entity = self._entity(entity_id, "entity_id")
        attributes = SIM_ENTITY_MAP[entity].static_attributes()
        state = STATE_UNAVAILABLE
        if entity not in self._unavailable:
            state, extra = self._read(entity)
            attributes.update(extra)
        return EntityState(entity.value, state, attributes, self._updated[entity])

    def get_states(self, entity_ids: Sequence[str] | None = None) -> dict[str, EntityState]:
        """Return the states of ``entity_ids`` (default: every entity), keyed by id."""
        ids = [e.value for e in self._entities] if entity_ids is None else list(entity_ids)
        return {entity_id: self.get_state(entity_id) for entity_id in ids}

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Return the states each entity had at the step ends in ``[start, end]``.

        A house made with ``keep_history`` keeps :data:`HISTORY_STEPS` steps, like a
        recorder with a short retention; older states are gone (the caller flags the gap).
        Without it the history is empty.
        """
        out: dict[str, list[EntityState]] = {}
        for entity_id in entity_ids:
            self._entity(entity_id, "entity_ids")
            out[entity_id] = [
                state
                for state in (self._history or {}).get(entity_id, ())
                if start <= state.last_updated <= end
            ]
        return out

    def subscribe(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Callable[[], None]:
        """Call ``callback`` with each of ``entity_ids`` after every step and write."""
        entry = (frozenset(entity_ids), callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def _notify(self, entities: Iterable[SimEntity]) -> None:
        if not self._subscribers:
            return
        for entity in entities:
            state = self.get_state(entity)
            for ids, callback in list(self._subscribers):
                if entity.value in ids:
                    callback(state)

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        """Call an HA service on one entity, refusing what HA would refuse.

        Parameters
        ----------
        domain, service : str
            ``select.select_option`` (field ``option``), ``number.set_value`` (``value``,
            in the entity's unit), ``switch.turn_on`` / ``switch.turn_off``,
            ``water_heater.set_temperature`` (``temperature`` [°C]).
        data : Mapping[str, Any]
            ``entity_id`` and the service's field.

        Raises
        ------
        InputError
            Naming the service, entity or field: unknown service or entity, an entity of
            another domain or unavailable, a missing or extra field, an unknown option, a
            value that is not a number or outside the entity's ``min``/``max``.
        """
        name = f"{domain}.{service}"
        require((domain, service) in _SERVICE_FIELDS, name, "unknown service")
        field = _SERVICE_FIELDS[(domain, service)]
        for key in data:
            require(key in {"entity_id", field}, f"{name}.{key}", "unexpected field")
        entity = self._entity(data.get("entity_id"), f"{name}.entity_id")
        require(entity.domain == domain, entity.value, f"is not a {domain} entity")
        require(entity not in self._unavailable, entity.value, "is unavailable")
        if field is not None:
            require(field in data, f"{entity.value}.{field}", "missing")
        if domain == "select":
            option, options = data["option"], [mode.value for mode in InverterMode]
            require(option in options, f"{entity.value}.option", f"{option!r} not in {options}")
            self._inverter = replace(self._inverter, mode=InverterMode(option))
        elif entity is SimEntity.GRID_CHARGING:
            self._inverter = replace(self._inverter, grid_charging=service == "turn_on")
        elif entity is SimEntity.EV_CHARGER:
            self._ev_charger_on = service == "turn_on"
        else:
            label = f"{entity.value}.{field}"
            self._set_number(entity, _parse_number(label, data[str(field)]), label)
        self._updated[entity] = self._now
        self._notify((entity,))

    def set_available(self, entity_id: str, *, available: bool) -> None:
        """Inject a fault: an unavailable entity reads ``"unavailable"`` and refuses writes."""
        entity = self._entity(entity_id, "entity_id")
        if available:
            self._unavailable.discard(entity)
        else:
            self._unavailable.add(entity)
        self._updated[entity] = self._now

    def step(
        self,
        *,
        duration: timedelta,
        pv_kw: float,
        load_kw: float,
        hot_water_draw_l: float = 0.0,
        ev_trip_kwh: float = 0.0,
        ev_plugged: bool | None = None,
    ) -> StepResult:
        """Advance the house by one step.

        Parameters
        ----------
        duration : timedelta
            Step length, > 0 (typically 1-15 min); cut into sub-steps of at most 60 s.
        pv_kw : float
            PV power available, mean over the step [kW].
        load_kw : float
            Base load (without water heater and EV), mean over the step [kW].
        hot_water_draw_l : float
            Hot water drawn during the step, in [0, tank volume] [L].
        ev_trip_kwh : float
            Energy driven during the step; the EV must be unplugged [kWh].
        ev_plugged : bool or None
            Plug state from the start of the step; None keeps it.

        Returns
        -------
        StepResult
            Energies, mean powers and end states.

        Raises
        ------
        InputError
            Naming the argument: a non-positive duration, negative or non-finite values,
            a draw larger than the tank, EV arguments without an EV, a trip while plugged.
        """
        start = self._now
        self._check_step(
            duration=duration,
            inputs={"pv_kw": pv_kw, "load_kw": load_kw, "hot_water_draw_l": hot_water_draw_l},
            trip_kwh=ev_trip_kwh,
            plugged=ev_plugged,
        )
        trip = self._drive(trip_kwh=ev_trip_kwh, plugged=ev_plugged)
        n_sub = max(1, math.ceil(duration.total_seconds() / SUBSTEP_MAX_S))
        dt_h = duration.total_seconds() / 3600.0 / n_sub
        totals = [0.0] * len(Flows._fields)
        loss_kwh = draw_kwh = 0.0
        for _ in range(n_sub):
            water = start_substep(
                self._spec.tank,
                temp_c=self._water_temp_c,
                setpoint_c=self._water_setpoint_c,
                heating=self._heating,
                draw_l=hot_water_draw_l / n_sub,
                dt_h=dt_h,
            )
            self._water_temp_c, self._heating = water.temp_c, water.heating
            flows = dispatch(
                pv_kw=pv_kw,
                load_kw=load_kw,
                heater_kw=water.heater_kw,
                ev_kw=self._ev_demand_kw(dt_h),
                soc_kwh=self._soc_kwh,
                battery=self._spec.battery,
                settings=self._inverter,
                fuse_kw=self._spec.grid.fuse_kw,
                dt_h=dt_h,
            )
            self._integrate(flows, loss_kw=water.loss_kw, dt_h=dt_h)
            totals = [total + kw * dt_h for total, kw in zip(totals, flows, strict=True)]
            loss_kwh += water.loss_kw * dt_h
            draw_kwh += water.draw_heat_kwh
        result = self._result(start, duration, Flows(*totals), (loss_kwh, draw_kwh), trip)
        self._record(result)
        return result

    def _entity(self, entity_id: object, field: str) -> SimEntity:
        known = isinstance(entity_id, str) and entity_id in _ENTITY_IDS
        require(known, field, f"unknown entity {entity_id!r}")
        entity = SimEntity(str(entity_id))
        require(entity in self._entities, field, f"{entity_id!r} does not exist (no EV)")
        return entity

    def _numbers(self) -> dict[SimEntity, tuple[float, float, float]]:
        """Return (value, min, max) of every writable number, in HA units (W, %, °C)."""
        bat, tank, inv = self._spec.battery, self._spec.tank, self._inverter
        powers_kw = {  # (setting, rated) [kW]
            SimEntity.BATTERY_CHARGE_POWER: (inv.charge_limit_kw, bat.max_charge_kw),
            SimEntity.BATTERY_DISCHARGE_POWER: (inv.discharge_limit_kw, bat.max_discharge_kw),
        }
        if self._spec.ev is not None:
            powers_kw[SimEntity.EV_CHARGE_POWER] = (self._ev_limit_kw, self._spec.ev.max_charge_kw)
        numbers = {e: (kw * 1000.0, 0.0, rated * 1000.0) for e, (kw, rated) in powers_kw.items()}
        numbers[SimEntity.SOC_TARGET] = (inv.soc_target_percent, bat.min_soc_percent, 100.0)
        numbers[SimEntity.WATER_HEATER] = (
            self._water_setpoint_c,
            tank.cold_water_c,
            tank.max_temp_c,
        )
        return numbers

    def _set_number(self, entity: SimEntity, value: float, label: str) -> None:
        _, low, high = self._numbers()[entity]
        require(low <= value <= high, label, f"{value} not in [{low}, {high}]")
        if entity is SimEntity.BATTERY_CHARGE_POWER:
            self._inverter = replace(self._inverter, charge_limit_kw=value / 1000.0)
        elif entity is SimEntity.BATTERY_DISCHARGE_POWER:
            self._inverter = replace(self._inverter, discharge_limit_kw=value / 1000.0)
        elif entity is SimEntity.SOC_TARGET:
            self._inverter = replace(self._inverter, soc_target_percent=value)
        elif entity is SimEntity.EV_CHARGE_POWER:
            self._ev_limit_kw = value / 1000.0
        else:
            self._water_setpoint_c = value

    def _sensors(self) -> dict[SimEntity, float]:
        """Return the value of every numeric sensor, in HA units (W, kWh, %, °C)."""
        ev_capacity_kwh = 1.0 if self._spec.ev is None else self._spec.ev.capacity_kwh
        return {
            **self._counters_kwh,
            **{entity: kw * 1000.0 for entity, kw in self._last_kw.items()},
            SimEntity.BATTERY_SOC: 100.0 * self._soc_kwh / self._spec.battery.capacity_kwh,
            SimEntity.WATER_TEMPERATURE: self._water_temp_c,
            SimEntity.EV_SOC: 100.0 * self._ev_soc_kwh / ev_capacity_kwh,
        }

    def _read(self, entity: SimEntity) -> tuple[str, dict[str, Any]]:
        """Return the state string and dynamic attributes of an available entity."""
        switches = {
            SimEntity.GRID_CHARGING: self._inverter.grid_charging,
            SimEntity.EV_CHARGER: self._ev_charger_on,
            SimEntity.EV_PLUGGED: self._ev_plugged,
        }
        if entity in switches:
            return (STATE_ON if switches[entity] else STATE_OFF), {}
        if entity is SimEntity.INVERTER_MODE:
            return self._inverter.mode.value, {"options": [mode.value for mode in InverterMode]}
        precision = SIM_ENTITY_MAP[entity].precision or 0
        numbers = self._numbers()
        if entity is SimEntity.WATER_HEATER:
            setpoint_c, low, high = numbers[entity]
            return _WATER_HEATER_STATE, {
                "temperature": setpoint_c,
                "current_temperature": round(self._water_temp_c, precision),
                "min_temp": low,
                "max_temp": high,
                "operation_list": [_WATER_HEATER_STATE],
            }
        if entity in numbers:
            value, low, high = numbers[entity]
            attributes = {"min": low, "max": high, "step": 1.0, "mode": "box"}
            return format_number_state(value, precision=precision), attributes
        return format_number_state(self._sensors()[entity], precision=precision), {}

    def _check_step(
        self,
        *,
        duration: timedelta,
        inputs: dict[str, float],
        trip_kwh: float,
        plugged: bool | None,
    ) -> None:
        require(duration > timedelta(0), "duration", f"must be positive, got {duration}")
        for name, value in (inputs | {"ev_trip_kwh": trip_kwh}).items():
            require(math.isfinite(value) and value >= 0, name, f"must be >= 0, got {value}")
        draw_l, volume_l = inputs["hot_water_draw_l"], self._spec.tank.volume_l
        require(draw_l <= volume_l, "hot_water_draw_l", f"{draw_l} exceeds the tank {volume_l} L")
        if self._spec.ev is None:
            require(trip_kwh == 0, "ev_trip_kwh", "the house has no EV")
            require(plugged is None, "ev_plugged", "the house has no EV")
        now_plugged = self._ev_plugged if plugged is None else plugged
        require(trip_kwh == 0 or not now_plugged, "ev_trip_kwh", "the EV is plugged in")

    def _drive(self, *, trip_kwh: float, plugged: bool | None) -> tuple[float, float]:
        """Apply the plug state and the trip; return (energy driven, shortfall) [kWh]."""
        if plugged is not None and plugged != self._ev_plugged:
            self._ev_plugged = plugged
            self._updated[SimEntity.EV_PLUGGED] = self._now
        driven_kwh = min(trip_kwh, self._ev_soc_kwh)
        self._ev_soc_kwh -= driven_kwh
        return driven_kwh, trip_kwh - driven_kwh

    def _ev_demand_kw(self, dt_h: float) -> float:
        ev = self._spec.ev
        if ev is None or not (self._ev_plugged and self._ev_charger_on):
            return 0.0
        headroom_kw = (ev.capacity_kwh - self._ev_soc_kwh) / dt_h / ev.charge_efficiency
        return max(0.0, min(self._ev_limit_kw, ev.max_charge_kw, headroom_kw))

    def _integrate(self, flows: Flows, *, loss_kw: float, dt_h: float) -> None:
        """Move the battery, tank and EV through one sub-step of ``flows`` [kW]."""
        battery, tank, ev = self._spec.battery, self._spec.tank, self._spec.ev
        self._soc_kwh = soc_after_kwh(
            soc_kwh=self._soc_kwh, flows=flows, battery=battery, dt_h=dt_h
        )
        self._water_temp_c = tank_temp_after_c(
            temp_c=self._water_temp_c,
            heater_kw=flows.water_heater,
            loss_kw=loss_kw,
            volume_l=tank.volume_l,
            dt_h=dt_h,
        )
        if self._water_temp_c >= self._water_setpoint_c - _SETPOINT_REACHED_K:
            self._heating = False
        if ev is not None:
            gained_kwh = flows.ev_charge * dt_h * ev.charge_efficiency
            self._ev_soc_kwh = min(ev.capacity_kwh, self._ev_soc_kwh + gained_kwh)

    def _result(
        self,
        start: datetime,
        duration: timedelta,
        energy: Flows,
        thermal_kwh: tuple[float, float],
        trip_kwh: tuple[float, float],
    ) -> StepResult:
        """Assemble the result; ``thermal_kwh`` = (loss, draw), ``trip_kwh`` = (driven, short)."""
        has_ev = self._spec.ev is not None
        return StepResult(
            start=start,
            duration=duration,
            pv_used_kwh=energy.pv_used,
            pv_curtailed_kwh=energy.pv_curtailed,
            load_served_kwh=energy.load_served,
            load_shed_kwh=energy.load_shed,
            water_heater_kwh=energy.water_heater,
            ev_charge_kwh=energy.ev_charge,
            battery_charge_kwh=energy.battery_charge,
            battery_discharge_kwh=energy.battery_discharge,
            grid_import_kwh=energy.grid_import,
            grid_export_kwh=energy.grid_export,
            tank_loss_kwh=thermal_kwh[0],
            hot_water_kwh=thermal_kwh[1],
            ev_trip_kwh=trip_kwh[0],
            ev_trip_shortfall_kwh=trip_kwh[1],
            soc_kwh=self._soc_kwh,
            water_temp_c=self._water_temp_c,
            ev_soc_kwh=self._ev_soc_kwh if has_ev else None,
            ev_plugged=self._ev_plugged if has_ev else None,
        )

    def _record(self, result: StepResult) -> None:
        """Advance the clock, the meters and the sensors' ``last_updated``."""
        self._now = result.end
        for entity in self._counters_kwh:
            self._counters_kwh[entity] += float(getattr(result, COUNTER_FLOWS[entity]))
        self._last_kw = {
            SimEntity.PV_POWER: result.pv_used_kw,
            SimEntity.LOAD_POWER: result.load_served_kw,
        }
        sensors = [e for e in self._entities if e.domain in {"sensor", "binary_sensor"}]
        for entity in sensors:
            self._updated[entity] = self._now
        if self._history is not None:
            for entity in sensors:
                self._history.setdefault(entity.value, deque(maxlen=HISTORY_STEPS)).append(
                    self.get_state(entity)
                )
        self._notify(sensors)
