r"""Hot-water tank physics (pure functions): heat capacity, draws, standing loss, thermostat.

The tank is one fully mixed volume of water at temperature :math:`T` [°C] with heat
capacity :math:`C = m c_p` (:math:`c_p` = 4186 J/(kg K), 1 kg/L). Over a sub-step of
:math:`\Delta t` hours, with electric element power :math:`q` [kW] and a UA value
[W/K] towards the ambient air, an explicit Euler energy balance gives

.. math:: C (T' - T) = q \Delta t - UA (T - T_a) \Delta t / 1000

with :math:`C` in kWh/K. A draw of :math:`V` litres replaced by cold water at
:math:`T_c` mixes instantly: :math:`T \leftarrow T - V / V_{tank} (T - T_c)`.

The simulator (:mod:`darkstar.simulation.house`) calls these once per sub-step of at
most 60 s; every function here is pure and works on floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from darkstar.errors import require

__all__ = [
    "THERMOSTAT_DEADBAND_K",
    "WATER_DENSITY_KG_PER_L",
    "WATER_HEAT_CAPACITY_J_PER_KG_K",
    "SubstepStart",
    "WaterTankSpec",
    "draw_heat_kwh",
    "heater_demand_kw",
    "mix_draw_temp_c",
    "standing_loss_kw",
    "start_substep",
    "tank_heat_capacity_kwh_per_k",
    "tank_temp_after_c",
    "thermostat_on",
]

WATER_HEAT_CAPACITY_J_PER_KG_K = 4186.0
WATER_DENSITY_KG_PER_L = 1.0
THERMOSTAT_DEADBAND_K = 2.0
"""The element switches on again once the tank is this far below the setpoint [K]."""

_J_PER_KWH = 3.6e6


@dataclass(frozen=True, kw_only=True)
class WaterTankSpec:
    """Electric hot-water tank: one fully mixed volume with a thermostat.

    Attributes
    ----------
    volume_l : float
        Water volume, > 0 [L].
    heater_power_kw : float
        Rated element power, >= 0 [kW].
    initial_temp_c : float
        Temperature at the start, in [cold_water_c, max_temp_c] [°C].
    cold_water_c : float
        Temperature of the mains water that replaces draws [°C].
    ambient_c : float
        Air temperature around the tank [°C].
    loss_w_per_k : float
        Standing-loss UA value, >= 0 [W/K].
    max_temp_c : float
        Highest allowed setpoint, in (cold_water_c, 100] [°C].
    initial_setpoint_c : float
        Thermostat setpoint at the start, in [cold_water_c, max_temp_c] [°C].
    """

    volume_l: float
    heater_power_kw: float
    initial_temp_c: float
    cold_water_c: float = 10.0
    ambient_c: float = 20.0
    loss_w_per_k: float = 2.0
    max_temp_c: float = 85.0
    initial_setpoint_c: float = 55.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            require(math.isfinite(value), f"tank.{name}", f"must be finite, got {value}")
        require(self.volume_l > 0, "tank.volume_l", "must be > 0")
        require(self.heater_power_kw >= 0, "tank.heater_power_kw", "must be >= 0")
        require(self.loss_w_per_k >= 0, "tank.loss_w_per_k", "must be >= 0")
        require(
            self.cold_water_c < self.max_temp_c <= 100,
            "tank.max_temp_c",
            f"must be in (cold_water_c={self.cold_water_c}, 100]",
        )
        for name in ("initial_temp_c", "initial_setpoint_c"):
            require(
                self.cold_water_c <= getattr(self, name) <= self.max_temp_c,
                f"tank.{name}",
                f"must be in [cold_water_c={self.cold_water_c}, max_temp_c={self.max_temp_c}]",
            )


def tank_heat_capacity_kwh_per_k(volume_l: float) -> float:
    """Return the heat capacity of a full tank.

    Parameters
    ----------
    volume_l : float
        Tank volume [L].

    Returns
    -------
    float
        :math:`m c_p` [kWh/K].

    Examples
    --------
    >>> round(tank_heat_capacity_kwh_per_k(200.0), 6)
    0.232556
    """
    return volume_l * WATER_DENSITY_KG_PER_L * WATER_HEAT_CAPACITY_J_PER_KG_K / _J_PER_KWH


def standing_loss_kw(*, temp_c: float, ambient_c: float, loss_w_per_k: float) -> float:
    """Return the heat lost through the tank's insulation, :math:`UA (T - T_a)`.

    Parameters
    ----------
    temp_c : float
        Tank temperature [°C].
    ambient_c : float
        Air temperature around the tank [°C].
    loss_w_per_k : float
        UA value [W/K].

    Returns
    -------
    float
        Heat loss [kW]; negative if the tank is colder than the ambient air (it gains).
    """
    return loss_w_per_k * (temp_c - ambient_c) / 1000.0


def mix_draw_temp_c(*, temp_c: float, draw_l: float, volume_l: float, cold_water_c: float) -> float:
    """Return the tank temperature after a draw replaced by cold water.

    Parameters
    ----------
    temp_c : float
        Tank temperature before the draw [°C].
    draw_l : float
        Hot water drawn, in [0, volume_l] [L].
    volume_l : float
        Tank volume [L].
    cold_water_c : float
        Temperature of the incoming cold water [°C].

    Returns
    -------
    float
        :math:`T - V/V_{tank} (T - T_c)` [°C].

    Examples
    --------
    >>> mix_draw_temp_c(temp_c=60.0, draw_l=50.0, volume_l=200.0, cold_water_c=10.0)
    47.5
    """
    return temp_c - draw_l / volume_l * (temp_c - cold_water_c)


def draw_heat_kwh(*, temp_c: float, draw_l: float, volume_l: float, cold_water_c: float) -> float:
    """Return the heat a draw takes out of the tank (relative to cold water).

    Parameters
    ----------
    temp_c : float
        Tank temperature before the draw [°C].
    draw_l : float
        Hot water drawn [L].
    volume_l : float
        Tank volume [L].
    cold_water_c : float
        Temperature of the incoming cold water [°C].

    Returns
    -------
    float
        :math:`C (T - T')` with :math:`T'` from :func:`mix_draw_temp_c` [kWh].
    """
    after_c = mix_draw_temp_c(
        temp_c=temp_c, draw_l=draw_l, volume_l=volume_l, cold_water_c=cold_water_c
    )
    return tank_heat_capacity_kwh_per_k(volume_l) * (temp_c - after_c)


def thermostat_on(*, temp_c: float, setpoint_c: float, was_on: bool) -> bool:
    """Return whether the thermostat closes the element circuit (hysteresis).

    Parameters
    ----------
    temp_c : float
        Tank temperature [°C].
    setpoint_c : float
        Target temperature [°C].
    was_on : bool
        Whether the element was on in the previous sub-step.

    Returns
    -------
    bool
        Off at or above the setpoint, on below ``setpoint_c - THERMOSTAT_DEADBAND_K``,
        unchanged in between.

    Examples
    --------
    >>> thermostat_on(temp_c=54.0, setpoint_c=55.0, was_on=False)
    False
    >>> thermostat_on(temp_c=52.9, setpoint_c=55.0, was_on=False)
    True
    """
    if temp_c >= setpoint_c:
        return False
    if temp_c < setpoint_c - THERMOSTAT_DEADBAND_K:
        return True
    return was_on


def heater_demand_kw(
    *,
    temp_c: float,
    setpoint_c: float,
    heater_power_kw: float,
    loss_kw: float,
    volume_l: float,
    dt_h: float,
) -> float:
    r"""Return the element power for a sub-step in which the thermostat is on.

    Full power, except in the sub-step that reaches the setpoint: then just the power
    that lands exactly on it (the element switches off part-way through).

    Parameters
    ----------
    temp_c : float
        Tank temperature at the start of the sub-step [°C].
    setpoint_c : float
        Target temperature [°C].
    heater_power_kw : float
        Rated element power [kW].
    loss_kw : float
        Standing loss during the sub-step [kW].
    volume_l : float
        Tank volume [L].
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    float
        :math:`\min(P, \max(0, (C (T_{set} - T) / \Delta t + loss)))` [kW].
    """
    to_setpoint_kw = tank_heat_capacity_kwh_per_k(volume_l) * (setpoint_c - temp_c) / dt_h
    return min(heater_power_kw, max(0.0, to_setpoint_kw + loss_kw))


def tank_temp_after_c(
    *, temp_c: float, heater_kw: float, loss_kw: float, volume_l: float, dt_h: float
) -> float:
    r"""Return the tank temperature after one sub-step of heating and standing loss.

    Parameters
    ----------
    temp_c : float
        Temperature at the start of the sub-step (after any draw) [°C].
    heater_kw : float
        Electric element power, all of it into the water [kW].
    loss_kw : float
        Standing loss [kW].
    volume_l : float
        Tank volume [L].
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    float
        :math:`T + (q - loss) \Delta t / C` [°C].

    Examples
    --------
    >>> round(tank_temp_after_c(temp_c=20.0, heater_kw=3.0, loss_kw=0.0,
    ...                         volume_l=200.0, dt_h=1.0), 4)
    32.9001
    """
    capacity_kwh_per_k = tank_heat_capacity_kwh_per_k(volume_l)
    return temp_c + (heater_kw - loss_kw) * dt_h / capacity_kwh_per_k


class SubstepStart(NamedTuple):
    """The tank at the start of a sub-step, after the draw and the thermostat.

    Attributes
    ----------
    temp_c : float
        Temperature after the draw [°C].
    heating : bool
        Whether the thermostat has the element on.
    heater_kw : float
        Element demand for the sub-step [kW].
    loss_kw : float
        Standing loss during the sub-step [kW].
    draw_heat_kwh : float
        Heat the draw took out [kWh].
    """

    temp_c: float
    heating: bool
    heater_kw: float
    loss_kw: float
    draw_heat_kwh: float


def start_substep(
    tank: WaterTankSpec,
    *,
    temp_c: float,
    setpoint_c: float,
    heating: bool,
    draw_l: float,
    dt_h: float,
) -> SubstepStart:
    """Apply a draw, then run the thermostat, for one sub-step of the tank.

    Parameters
    ----------
    tank : WaterTankSpec
        The tank.
    temp_c : float
        Temperature at the start of the sub-step [°C].
    setpoint_c : float
        Thermostat setpoint [°C].
    heating : bool
        Whether the element was on in the previous sub-step.
    draw_l : float
        Hot water drawn in this sub-step [L].
    dt_h : float
        Sub-step length [h].

    Returns
    -------
    SubstepStart
        The state after the draw, the thermostat's decision and the element's demand.
        The caller integrates with the element power actually served
        (:func:`tank_temp_after_c`).

    Examples
    --------
    >>> tank = WaterTankSpec(volume_l=200.0, heater_power_kw=3.0, initial_temp_c=50.0)
    >>> start = start_substep(tank, temp_c=50.0, setpoint_c=55.0, heating=False,
    ...                       draw_l=0.0, dt_h=1 / 60)
    >>> start.heating, start.heater_kw
    (True, 3.0)
    """
    mix = {"draw_l": draw_l, "volume_l": tank.volume_l, "cold_water_c": tank.cold_water_c}
    heat_kwh = draw_heat_kwh(temp_c=temp_c, **mix)
    temp_c = mix_draw_temp_c(temp_c=temp_c, **mix)
    loss_kw = standing_loss_kw(
        temp_c=temp_c, ambient_c=tank.ambient_c, loss_w_per_k=tank.loss_w_per_k
    )
    heating = thermostat_on(temp_c=temp_c, setpoint_c=setpoint_c, was_on=heating)
    heater_kw = 0.0
    if heating:
        heater_kw = heater_demand_kw(
            temp_c=temp_c,
            setpoint_c=setpoint_c,
            heater_power_kw=tank.heater_power_kw,
            loss_kw=loss_kw,
            volume_l=tank.volume_l,
            dt_h=dt_h,
        )
    return SubstepStart(temp_c, heating, heater_kw, loss_kw, heat_kwh)
