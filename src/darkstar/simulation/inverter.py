r"""Hybrid inverter dispatch (pure): battery power by work mode, fuse limit, shedding.

One call of :func:`dispatch` balances one sub-step of the simulated home: given the PV
available, the demand (base load, water heater, EV) and the battery's SoC, it returns
every electrical flow in kW, all >= 0, with

.. math:: pv_{used} + d + g_{imp} = load_{served} + heater + ev + c + g_{exp}

Work modes (:class:`~darkstar.simulation.entities.InverterMode`); the charge and
discharge limits of :class:`InverterSettings` apply in every mode:

``self_consumption``
    The battery stores the PV surplus (up to 100 %) and covers the deficit, but not
    below the SoC target. The target is a *discharge floor* here, as ``schedule.json``
    uses it: ``hold`` -> the SoC at the slot start, ``discharge`` -> the min SoC,
    ``pv_charge`` -> the planned end SoC (so the battery only charges).
``force_charge``
    Charge at the limit up to the SoC target, from PV surplus first and from the grid
    for the rest, from the grid only while ``grid_charging`` is on. Never discharges;
    idle once the target is reached.
``force_discharge``
    Discharge at the limit down to the SoC target (never below the hardware
    ``min_soc_percent``); what the house does not use is exported.
``hold``
    The battery is idle; the grid balances the house.

Fuse protection overrides the mode: if the grid power would exceed ``fuse_kw`` in
either direction, the battery first moves towards the limit (less charging or more
discharging on import; less discharging or more charging on export) within its hardware
limits only (rated powers, ``min_soc_percent``, 100 %). What is still over the fuse is
shed (EV charging first, then the water heater, then the base load) or, on export,
curtailed PV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from darkstar.errors import require
from darkstar.physics.battery import soc_after_slot_kwh
from darkstar.simulation.entities import InverterMode

__all__ = [
    "BatterySimSpec",
    "Flows",
    "GridSpec",
    "InverterSettings",
    "battery_limits_kw",
    "dispatch",
    "soc_after_kwh",
]


@dataclass(frozen=True, kw_only=True)
class BatterySimSpec:
    """Battery of the simulated home.

    Attributes
    ----------
    capacity_kwh : float
        Capacity from 0 to 100 % [kWh].
    min_soc_percent : float
        Hardware floor the BMS enforces, in [0, 100) [%].
    max_charge_kw, max_discharge_kw : float
        Rated AC charge and discharge power, > 0 [kW].
    charge_efficiency, discharge_efficiency : float
        In (0, 1]: the SoC gains ``charge_efficiency`` x the AC charge and loses the AC
        discharge / ``discharge_efficiency`` (``docs/nomenclature.md``).
    initial_soc_percent : float
        SoC at the start, in [min_soc_percent, 100] [%].
    """

    capacity_kwh: float
    min_soc_percent: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    initial_soc_percent: float

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            require(math.isfinite(value), f"battery.{name}", f"must be finite, got {value}")
        require(self.capacity_kwh > 0, "battery.capacity_kwh", "must be > 0")
        require(0 <= self.min_soc_percent < 100, "battery.min_soc_percent", "must be in [0, 100)")
        require(self.max_charge_kw > 0, "battery.max_charge_kw", "must be > 0")
        require(self.max_discharge_kw > 0, "battery.max_discharge_kw", "must be > 0")
        for name in ("charge_efficiency", "discharge_efficiency"):
            require(0 < getattr(self, name) <= 1, f"battery.{name}", "must be in (0, 1]")
        require(
            self.min_soc_percent <= self.initial_soc_percent <= 100,
            "battery.initial_soc_percent",
            f"must be in [min_soc_percent={self.min_soc_percent}, 100]",
        )

    @property
    def min_soc_kwh(self) -> float:
        """Hardware floor [kWh]."""
        return self.capacity_kwh * self.min_soc_percent / 100.0


@dataclass(frozen=True, kw_only=True)
class GridSpec:
    """Grid connection.

    Attributes
    ----------
    fuse_kw : float
        Limit of the grid power, the same for import and export, > 0 [kW].
    """

    fuse_kw: float

    def __post_init__(self) -> None:
        require(math.isfinite(self.fuse_kw) and self.fuse_kw > 0, "grid.fuse_kw", "must be > 0")


@dataclass(frozen=True, kw_only=True)
class InverterSettings:
    """What the executor has written to the inverter.

    Attributes
    ----------
    mode : InverterMode
        Work mode.
    charge_limit_kw, discharge_limit_kw : float
        AC power limits, >= 0, in every mode; the setpoints of the force modes [kW].
    soc_target_percent : float
        Discharge floor (``self_consumption``, ``force_discharge``) or charge ceiling
        (``force_charge``), in [0, 100] [%].
    grid_charging : bool
        Whether ``force_charge`` may charge from the grid.
    """

    mode: InverterMode
    charge_limit_kw: float
    discharge_limit_kw: float
    soc_target_percent: float
    grid_charging: bool = False

    def __post_init__(self) -> None:
        for name in ("charge_limit_kw", "discharge_limit_kw"):
            value = getattr(self, name)
            require(math.isfinite(value) and value >= 0, f"inverter.{name}", "must be >= 0")
        require(
            0 <= self.soc_target_percent <= 100,
            "inverter.soc_target_percent",
            "must be in [0, 100]",
        )


class Flows(NamedTuple):
    """The electrical flows of the house, all >= 0.

    :func:`dispatch` returns them in kW; integrated over time the same tuple holds kWh,
    so the unit is the caller's (names stay free of a unit suffix for that reason).
    ``load_shed`` is all demand not served (EV, water heater and base load);
    ``load_served`` is the base load served.
    """

    pv_used: float
    pv_curtailed: float
    load_served: float
    load_shed: float
    water_heater: float
    ev_charge: float
    battery_charge: float
    battery_discharge: float
    grid_import: float
    grid_export: float


def battery_limits_kw(
    *, soc_kwh: float, floor_kwh: float, ceiling_kwh: float, battery: BatterySimSpec, dt_h: float
) -> tuple[float, float]:
    """Return the largest AC charge and discharge power that keep the SoC in bounds.

    Parameters
    ----------
    soc_kwh : float
        Stored energy at the start of the sub-step [kWh].
    floor_kwh, ceiling_kwh : float
        SoC bounds for the end of the sub-step [kWh].
    battery : BatterySimSpec
        Rated powers and efficiencies.
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    tuple of float
        ``(charge_kw, discharge_kw)``, each in [0, rated power] [kW].
    """
    charge_kw = (ceiling_kwh - soc_kwh) / (battery.charge_efficiency * dt_h)
    discharge_kw = (soc_kwh - floor_kwh) * battery.discharge_efficiency / dt_h
    return (
        max(0.0, min(battery.max_charge_kw, charge_kw)),
        max(0.0, min(battery.max_discharge_kw, discharge_kw)),
    )


def _mode_battery_kw(
    *,
    surplus_kw: float,
    soc_kwh: float,
    battery: BatterySimSpec,
    settings: InverterSettings,
    dt_h: float,
) -> float:
    """Return the signed AC battery power the mode asks for: + charge, - discharge [kW]."""
    mode = settings.mode
    target_kwh = battery.capacity_kwh * settings.soc_target_percent / 100.0
    if mode is InverterMode.HOLD:
        return 0.0
    charging_self = mode is InverterMode.SELF_CONSUMPTION and surplus_kw >= 0
    if mode is InverterMode.FORCE_CHARGE or charging_self:
        ceiling_kwh = battery.capacity_kwh if charging_self else target_kwh
        charge_kw, _ = battery_limits_kw(
            soc_kwh=soc_kwh, floor_kwh=0.0, ceiling_kwh=ceiling_kwh, battery=battery, dt_h=dt_h
        )
        charge_kw = min(charge_kw, settings.charge_limit_kw)
        if charging_self or not settings.grid_charging:
            charge_kw = min(charge_kw, max(surplus_kw, 0.0))
        return charge_kw
    _, discharge_kw = battery_limits_kw(
        soc_kwh=soc_kwh,
        floor_kwh=max(target_kwh, battery.min_soc_kwh),
        ceiling_kwh=battery.capacity_kwh,
        battery=battery,
        dt_h=dt_h,
    )
    discharge_kw = min(discharge_kw, settings.discharge_limit_kw)
    if mode is InverterMode.SELF_CONSUMPTION:
        discharge_kw = min(discharge_kw, -surplus_kw)
    return -discharge_kw


def dispatch(
    *,
    pv_kw: float,
    load_kw: float,
    heater_kw: float,
    ev_kw: float,
    soc_kwh: float,
    battery: BatterySimSpec,
    settings: InverterSettings,
    fuse_kw: float,
    dt_h: float,
) -> Flows:
    r"""Balance one sub-step: battery by mode, then the fuse, then shedding or curtailment.

    Parameters
    ----------
    pv_kw : float
        PV power available [kW].
    load_kw, heater_kw, ev_kw : float
        Demand of the base load, the water heater element and the EV charger [kW].
    soc_kwh : float
        Battery energy at the start of the sub-step [kWh].
    battery : BatterySimSpec
        The battery.
    settings : InverterSettings
        Mode, limits, SoC target, grid charging.
    fuse_kw : float
        Grid limit in each direction [kW].
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    Flows
        Every flow in kW.

    Notes
    -----
    With :math:`D` the total demand and :math:`b` the signed battery power
    (+ charge) of the mode, the grid power is :math:`g = D - P + b`. If
    :math:`g > F`, :math:`b \leftarrow \max(b - (g - F), -\bar d)`; if :math:`g < -F`,
    :math:`b \leftarrow \min(b + (-F - g), \bar c)`, with :math:`\bar c, \bar d` the
    hardware limits. Then shed :math:`= \max(0, g - F)`, curtailed
    :math:`= \max(0, -F - g)`, import :math:`= \min(\max(g, 0), F)`, export
    :math:`= \min(\max(-g, 0), F)`.

    Examples
    --------
    >>> battery = BatterySimSpec(capacity_kwh=10, min_soc_percent=10, max_charge_kw=5,
    ...     max_discharge_kw=5, charge_efficiency=1, discharge_efficiency=1,
    ...     initial_soc_percent=50)
    >>> settings = InverterSettings(mode=InverterMode.SELF_CONSUMPTION,
    ...     charge_limit_kw=5, discharge_limit_kw=5, soc_target_percent=10)
    >>> flows = dispatch(pv_kw=0.0, load_kw=2.0, heater_kw=0.0, ev_kw=0.0, soc_kwh=5.0,
    ...     battery=battery, settings=settings, fuse_kw=11.0, dt_h=1 / 60)
    >>> flows.battery_discharge, flows.grid_import
    (2.0, 0.0)
    """
    demand_kw = load_kw + heater_kw + ev_kw
    battery_kw = _mode_battery_kw(
        surplus_kw=pv_kw - demand_kw, soc_kwh=soc_kwh, battery=battery, settings=settings, dt_h=dt_h
    )
    hw_charge_kw, hw_discharge_kw = battery_limits_kw(
        soc_kwh=soc_kwh,
        floor_kwh=battery.min_soc_kwh,
        ceiling_kwh=battery.capacity_kwh,
        battery=battery,
        dt_h=dt_h,
    )
    grid_kw = demand_kw - pv_kw + battery_kw
    if grid_kw > fuse_kw:
        battery_kw = max(battery_kw - (grid_kw - fuse_kw), -hw_discharge_kw)
    elif grid_kw < -fuse_kw:
        battery_kw = min(battery_kw + (-fuse_kw - grid_kw), hw_charge_kw)
    grid_kw = demand_kw - pv_kw + battery_kw
    shed_kw = max(0.0, grid_kw - fuse_kw)
    ev_shed_kw = min(ev_kw, shed_kw)
    heater_shed_kw = min(heater_kw, shed_kw - ev_shed_kw)
    curtailed_kw = max(0.0, -fuse_kw - grid_kw)
    return Flows(
        pv_used=pv_kw - curtailed_kw,
        pv_curtailed=curtailed_kw,
        load_served=load_kw - max(0.0, shed_kw - ev_shed_kw - heater_shed_kw),
        load_shed=shed_kw,
        water_heater=heater_kw - heater_shed_kw,
        ev_charge=ev_kw - ev_shed_kw,
        battery_charge=max(battery_kw, 0.0),
        battery_discharge=max(-battery_kw, 0.0),
        grid_import=min(max(grid_kw, 0.0), fuse_kw),
        grid_export=min(max(-grid_kw, 0.0), fuse_kw),
    )


def soc_after_kwh(*, soc_kwh: float, flows: Flows, battery: BatterySimSpec, dt_h: float) -> float:
    """Return the battery energy after one sub-step of ``flows`` (in kW).

    Parameters
    ----------
    soc_kwh : float
        Energy at the start of the sub-step [kWh].
    flows : Flows
        The sub-step's flows [kW].
    battery : BatterySimSpec
        Efficiencies and bounds.
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    float
        :func:`darkstar.physics.battery.soc_after_slot_kwh`, clipped to
        [``min_soc_kwh``, ``capacity_kwh``] against float rounding only (the flows
        already respect the bounds) [kWh].
    """
    soc_end_kwh = soc_after_slot_kwh(
        soc_kwh=soc_kwh,
        charge_kw=flows.battery_charge,
        discharge_kw=flows.battery_discharge,
        slot_h=dt_h,
        charge_efficiency=battery.charge_efficiency,
        discharge_efficiency=battery.discharge_efficiency,
    )
    return min(battery.capacity_kwh, max(battery.min_soc_kwh, soc_end_kwh))
