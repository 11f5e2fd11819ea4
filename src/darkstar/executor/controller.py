"""From one planned slot to one device command (pure: no I/O, no clock).

The inverter is driven the way real hybrid inverters are: a work mode plus power limits
and a SoC target. The mapping per planned action:

=============  ==================  ==============================================
action         inverter mode       limits and target
=============  ==================  ==============================================
charge         force_charge        charge power = planned charge; target = block end
pv_charge      self_consumption    charge limit = planned charge; no discharge
discharge      self_consumption    discharge limit = planned discharge; no charge
export         force_discharge     power = planned discharge; target = block end
hold           hold                battery idle
=============  ==================  ==============================================

In ``self_consumption`` the inverter follows the real house within the limits, so a
forecast error is absorbed by the battery instead of the grid, but never by more power
than the plan allowed. The water heater gets a high setpoint in planned heating slots and
a comfort floor otherwise, so the tank never goes cold because of a plan. With ``ev``, the
car's charger is switched on at the planned ``ev_charging_kw`` and off when it is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "InverterMode",
    "SlotCommand",
    "WaterHeaterSetpoints",
    "command_for_slot",
    "idle_command",
]


class InverterMode(StrEnum):
    """Inverter work modes the executor uses."""

    SELF_CONSUMPTION = "self_consumption"
    FORCE_CHARGE = "force_charge"
    FORCE_DISCHARGE = "force_discharge"
    HOLD = "hold"


@dataclass(frozen=True, kw_only=True)
class WaterHeaterSetpoints:
    """Tank setpoints: while the plan heats, and the comfort floor otherwise [°C]."""

    heating_c: float = 75.0
    floor_c: float = 45.0


@dataclass(frozen=True, kw_only=True)
class SlotCommand:
    """What the devices should do during one slot."""

    mode: InverterMode
    charge_limit_kw: float
    discharge_limit_kw: float
    soc_target_percent: float
    water_setpoint_c: float | None
    ev_charge_kw: float | None = None
    """Car charging power [kW]: 0 = charger off; None = the car is not controlled."""


def command_for_slot(
    row: dict[str, Any], *, water: WaterHeaterSetpoints | None = None, ev: bool = False
) -> SlotCommand:
    """Return the command for one ``schedule.json`` row (see the module table).

    Examples
    --------
    >>> row = {"action": "charge", "battery_charge_kw": 2.5, "battery_discharge_kw": 0.0,
    ...        "soc_target_percent": 80.0, "water_heating_kw": 0.0}
    >>> command_for_slot(row).mode
    <InverterMode.FORCE_CHARGE: 'force_charge'>
    """
    action = row["action"]
    charge_kw = float(row["battery_charge_kw"])
    discharge_kw = float(row["battery_discharge_kw"])
    target = float(row["soc_target_percent"])
    if action == "charge":
        mode, charge_limit, discharge_limit = InverterMode.FORCE_CHARGE, charge_kw, 0.0
    elif action == "export":
        mode, charge_limit, discharge_limit = InverterMode.FORCE_DISCHARGE, 0.0, discharge_kw
    elif action == "pv_charge":
        mode, charge_limit, discharge_limit = InverterMode.SELF_CONSUMPTION, charge_kw, 0.0
    elif action == "discharge":
        mode, charge_limit, discharge_limit = InverterMode.SELF_CONSUMPTION, 0.0, discharge_kw
    elif action == "hold":
        mode, charge_limit, discharge_limit = InverterMode.HOLD, 0.0, 0.0
    else:
        msg = f"schedule row action: unknown action {action!r}"
        raise ValueError(msg)
    setpoint = None
    if water is not None:
        heating = float(row.get("water_heating_kw", 0.0)) > 0
        setpoint = water.heating_c if heating else water.floor_c
    return SlotCommand(
        mode=mode,
        charge_limit_kw=charge_limit,
        discharge_limit_kw=discharge_limit,
        soc_target_percent=target,
        water_setpoint_c=setpoint,
        ev_charge_kw=float(row.get("ev_charging_kw") or 0.0) if ev else None,
    )


def idle_command(
    *,
    min_soc_percent: float,
    water_setpoint_c: float | None = None,
    ev_charge_kw: float | None = None,
) -> SlotCommand:
    """Return the command for a slot no plan covers: battery idle, water and car as given."""
    return SlotCommand(
        mode=InverterMode.HOLD,
        charge_limit_kw=0.0,
        discharge_limit_kw=0.0,
        soc_target_percent=min_soc_percent,
        water_setpoint_c=water_setpoint_c,
        ev_charge_kw=ev_charge_kw,
    )
