"""The electric car in Kepler: a second store that is charged, never discharged.

Equations, for every slot t (``S_{-1} = S_0`` is the car's SoC now)::

    S_t = S_{t-1} + h eta q_t                                   (ev_soc_balance)
    0 <= q_t <= Q a_t,   0 <= S_t <= capacity                   (a_t: plugged in and home)
    q_t <= Q y_t,  q_t >= Q_min y_t,  y_t binary                (ev_power, if Q_min > 0)
    S_{t*} + z >= S*,   0 <= z <= S* - S_0                       (ev_target, soft)

Objective terms: ``P_ev z`` plus a throughput tie-break on ``q``. ``P_ev`` is the floor
penalty (:func:`~darkstar.planner.solver.kepler.hard_penalty_sek_per_kwh`): more than any
price of one more kWh in the car, through the grid or the home battery, so the target is
met whenever the charger, the fuse and the time allow; the shortfall slack only keeps the
model feasible when they do not. The car's charge ``q_t`` is a demand in the energy balance
(:func:`~darkstar.planner.solver.kepler.add_grid_constraints`), so the optimiser picks the
cheapest energy for it: cheap slots, PV surplus, or the home battery when that is cheaper
than the grid, never when it is dearer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from darkstar.planner.solver.model import LinearModel, lagged

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.types import EvSpec, KeplerInput

__all__ = ["EvVars", "add_ev_constraints", "ev_soc_trajectory_kwh", "ev_shortfall_kwh"]


@dataclass(frozen=True, kw_only=True)
class EvVars:
    """Columns of the car's charge power and SoC."""

    charge: NDArray[np.int64]
    soc: NDArray[np.int64]


def add_ev_constraints(
    m: LinearModel, kin: KeplerInput, *, penalty_sek_per_kwh: float, tiebreak_sek_per_kwh: float
) -> EvVars | None:
    """Add the car (module docstring); None when ``kin`` has no car."""
    ev = kin.ev
    if ev is None:
        return None
    n, h = kin.n_slots, kin.slot_h
    ub = np.where(ev.available, ev.max_charge_kw, 0.0)
    charge = m.add_vars("ev_charge_kw", n, ub=ub, cost=tiebreak_sek_per_kwh * h)
    soc = m.add_vars("ev_soc_kwh", n, ub=max(ev.capacity_kwh, ev.initial_soc_kwh))
    m.add_rows(
        "ev_soc_balance",
        [(soc, 1.0), (lagged(soc, 1), -1.0), (charge, -h * ev.charge_efficiency)],
        lb=np.r_[ev.initial_soc_kwh, np.zeros(n - 1)],
        ub=np.r_[ev.initial_soc_kwh, np.zeros(n - 1)],
    )
    slots = np.flatnonzero(ev.available)
    if ev.min_charge_kw > 0 and len(slots):
        on = m.add_vars("ev_on", len(slots), ub=1.0, integer=True)
        m.add_rows("ev_power_max", [(charge[slots], 1.0), (on, -ev.max_charge_kw)], ub=0.0)
        m.add_rows("ev_power_min", [(charge[slots], 1.0), (on, -ev.min_charge_kw)], lb=0.0)
    missing = ev.target_kwh - ev.initial_soc_kwh
    # no target row when nothing can be charged before it: the gap is then a given (it is
    # reported in meta.ev), not a cost the plan could change
    chargeable = ev.target_slot is not None and bool(ev.available[: ev.target_slot + 1].any())
    if ev.target_slot is not None and missing > 0 and chargeable:
        short = m.add_vars("ev_shortfall_kwh", 1, ub=missing, cost=penalty_sek_per_kwh)
        t = ev.target_slot
        m.add_rows("ev_target", [(soc[t : t + 1], 1.0), (short, 1.0)], lb=ev.target_kwh)
    return EvVars(charge=charge, soc=soc)


def ev_soc_trajectory_kwh(
    ev: EvSpec, charge_kw: NDArray[np.float64], slot_h: float
) -> NDArray[np.float64]:
    """Return the car's SoC at each slot's end from its charge powers (the recursion)."""
    return ev.initial_soc_kwh + np.cumsum(slot_h * ev.charge_efficiency * charge_kw)


def ev_shortfall_kwh(ev: EvSpec, soc_kwh: NDArray[np.float64]) -> float:
    """Return how far the car's SoC at departure stays below its target [kWh] (0: met)."""
    at_departure = ev.initial_soc_kwh if ev.target_slot is None else soc_kwh[ev.target_slot]
    return max(0.0, ev.target_kwh - float(at_departure))
