"""What the agent loop runs in: a :class:`World` (house, inputs, time) and its entity roles.

The agent never knows which backend it drives. A world gives it

* a :class:`~darkstar.house.House` to read and command, with :class:`HouseEntities`
  saying which entity plays which role (SoC sensor, energy counters, inverter mode, ...);
* what it needs to plan (:meth:`World.planner_input`: prices and forecasts from now on);
* time: :meth:`World.advance` lets one slot pass (the simulated home runs it at once; a
  real home waits for the wall clock).

The simulated world lives in :mod:`darkstar.simulation.world`; the demo and ``serve`` wire
it in from outside, so this package never imports the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from darkstar.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from darkstar.config.models import DarkstarConfig
    from darkstar.house import House
    from darkstar.planner.inputs.types import PlannerInput

__all__ = ["COUNTER_ROLES", "ForecastEngine", "HouseEntities", "PvOutlook", "World"]

#: Observation field (``record_observation``) -> the :class:`HouseEntities` counter role.
COUNTER_ROLES: Mapping[str, str] = {
    "pv_kwh": "pv_energy",
    "load_kwh": "load_energy",
    "grid_import_kwh": "grid_import_energy",
    "grid_export_kwh": "grid_export_energy",
    "battery_charge_kwh": "battery_charge_energy",
    "battery_discharge_kwh": "battery_discharge_energy",
    "water_heater_kwh": "water_heater_energy",
}


@dataclass(frozen=True, kw_only=True)
class HouseEntities:
    """Which entity id plays which role (config ``input_sensors`` and ``executor``).

    Read (``input_sensors``): ``battery_soc`` [%], the cumulative energy counters [kWh-like,
    ``total_increasing``], ``water_temperature`` [°C]. Written (``executor``):
    ``inverter_mode`` (a ``select``/``input_select``), ``charge_power`` and
    ``discharge_power`` (``number``/``input_number`` in W or kW), ``soc_target`` [%],
    ``grid_charging`` (``switch``/``input_boolean``), ``water_heater`` (a ``water_heater``
    entity, or a ``number``/``input_number`` setpoint in °C). ``None`` = not present.
    The car (with ``system.has_ev``): ``ev_soc`` [%] and ``ev_plugged`` (on = plugged) are
    read, ``ev_charger`` (``switch``/``input_boolean``) and ``ev_charge_power``
    (``number``/``input_number`` in W or kW) written.
    """

    battery_soc: str
    pv_energy: str
    load_energy: str
    grid_import_energy: str
    grid_export_energy: str
    battery_charge_energy: str
    battery_discharge_energy: str
    water_heater_energy: str | None
    water_temperature: str | None
    inverter_mode: str
    charge_power: str
    discharge_power: str
    soc_target: str
    grid_charging: str | None
    water_heater: str | None
    ev_soc: str | None = None
    ev_plugged: str | None = None
    ev_charger: str | None = None
    ev_charge_power: str | None = None

    @property
    def has_ev(self) -> bool:
        """Whether every car role is named (the car can be read and driven)."""
        roles = (self.ev_soc, self.ev_plugged, self.ev_charger, self.ev_charge_power)
        return all(r is not None for r in roles)

    @classmethod
    def from_config(cls, cfg: DarkstarConfig) -> HouseEntities:
        """Return the roles named in ``input_sensors`` and ``executor``.

        Raises
        ------
        ConfigError
            Naming every required key that is still null.
        """
        missing = cfg.missing_home_assistant_entities()
        if missing:
            raise ConfigError(
                missing[0],
                f"required to drive a house through Home Assistant (also: {', '.join(missing)})"
                if len(missing) > 1
                else "required to drive a house through Home Assistant",
            )
        sensors, executor = cfg.input_sensors, cfg.executor
        return cls(
            battery_soc=str(sensors.battery_soc),
            pv_energy=str(sensors.pv_energy),
            load_energy=str(sensors.load_energy),
            grid_import_energy=str(sensors.grid_import_energy),
            grid_export_energy=str(sensors.grid_export_energy),
            battery_charge_energy=str(sensors.battery_charge_energy),
            battery_discharge_energy=str(sensors.battery_discharge_energy),
            water_heater_energy=sensors.water_heater_energy,
            water_temperature=sensors.water_temperature,
            inverter_mode=str(executor.inverter_mode),
            charge_power=str(executor.charge_power),
            discharge_power=str(executor.discharge_power),
            soc_target=str(executor.soc_target),
            grid_charging=executor.grid_charging,
            water_heater=executor.water_heater,
            **(
                {
                    "ev_soc": sensors.ev_soc,
                    "ev_plugged": sensors.ev_plugged,
                    "ev_charger": executor.ev_charger,
                    "ev_charge_power": executor.ev_charge_power,
                }
                if cfg.system.has_ev
                else {}
            ),
        )

    def counters(self) -> dict[str, str]:
        """Observation field -> counter entity id, for the counters this house has."""
        out = {}
        for field, role in COUNTER_ROLES.items():
            entity = getattr(self, role)
            if entity is not None:
                out[field] = entity
        return out

    def all_ids(self) -> list[str]:
        """Every configured entity id (for checks and subscriptions)."""
        return [v for f in fields(self) if (v := getattr(self, f.name)) is not None]


@dataclass(frozen=True, kw_only=True)
class PvOutlook:
    """PV expected the day after tomorrow against the recent mean, for the risk radar."""

    day2_kwh: float | None
    mean_daily_kwh: float


class ForecastEngine(Protocol):
    """A forecaster that learns (Aurora) behind a world's forecasts.

    The service retrains it (on schedule or on request), keeps its models and shows what
    it uses; the world asks it for every plan's forecasts.
    """

    def retrain(
        self, now: datetime, *, progress: Callable[[float, str], None] | None = None
    ) -> Any:
        """Refit on the house's history before ``now``; ``progress(share, message)``."""
        ...

    def describe(self, now: datetime) -> list[dict[str, Any]]:
        """Return what each target uses now (``target``, ``stage``, ``version``, ...)."""
        ...

    def models(self) -> dict[str, Any]:
        """Target -> the trained model in use (with ``save(folder)``), or ``None``."""
        ...


class World(Protocol):
    """The agent's surroundings: a house, what planning needs, and time."""

    realtime: bool
    """Whether :meth:`advance` waits for the wall clock (a real home)."""

    @property
    def aurora(self) -> ForecastEngine | None:
        """The learning forecaster behind :meth:`planner_input`'s forecasts, if any."""
        ...

    @property
    def house(self) -> House:
        """The home to read and command."""
        ...

    @property
    def entities(self) -> HouseEntities:
        """Which entity plays which role."""
        ...

    @property
    def tz(self) -> ZoneInfo:
        """The house's local time zone (price days, daily metrics)."""
        ...

    @property
    def forecast_source(self) -> str:
        """Where PV and load forecasts come from, in words."""
        ...

    @property
    def slots_left(self) -> int | None:
        """Slots the world can still run (the end of replayed data); ``None``: no end."""
        ...

    def planner_input(
        self, *, soc_percent: float, now: datetime, water_heated_today_kwh: float = 0.0
    ) -> PlannerInput:
        """Prices and forecasts known at ``now``, from the slot starting at ``now``.

        ``water_heated_today_kwh`` is what the water heater used since the water day began
        (the agent measures it from its counters).
        """
        ...

    def prices_at(self, moment: datetime) -> tuple[float, float] | None:
        """Import and export price of the slot containing ``moment`` [SEK/kWh], if known."""
        ...

    def forecast_versions(self) -> dict[str, str]:
        """Return where the latest PV and load forecasts came from, per target.

        ``{"pv": ..., "load": ...}``, kept with each forecast in ``slot_forecasts`` (at
        most 64 characters each).
        """
        ...

    def pv_outlook(self, now: datetime) -> PvOutlook:
        """PV outlook for the risk radar."""
        ...

    def inputs(self, now: datetime) -> dict[str, Any]:
        """Where prices and forecasts come from, how far they reach, and any fault (JSON).

        ``{"prices": {"source", "known_until", "fault", ...}, "forecasts": {"source",
        ...}}``; put in each plan's ``meta.inputs`` and shown on the Dashboard.
        """
        ...

    def runs_whole(self, slot_start: datetime) -> bool:
        """Whether the agent was there for the whole slot starting at ``slot_start``.

        ``False`` for the slot a real-time world was opened in: its counter deltas cover
        only part of it, so it is not recorded from them (backfill restores it).
        """
        ...

    def close(self) -> None:
        """Stop waiting in :meth:`advance` (the service is stopping); idempotent."""
        ...

    def advance(self, tick: Callable[[], None] | None = None) -> None:
        """Let the current slot pass (the house runs it; counters move on).

        A real-time world calls ``tick`` every ``executor.interval_seconds`` while it
        waits (the executor re-applies the slot's command); a simulated one runs the slot
        at once and never calls it.
        """
        ...
