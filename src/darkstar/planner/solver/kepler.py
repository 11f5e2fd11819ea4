"""Kepler: the mixed-integer planner, one builder per subsystem, solved with HiGHS.

The model is written out in ``docs/planner_model.md``; each ``add_*_constraints`` builder
below states its equations. Notation: slot ``t`` of length ``h`` hours, powers in kW (slot
averages, AC side), energies in kWh, prices in SEK/kWh.

Speed comes from the formulation, not from tuning: the charge/discharge and import/export
exclusivity binaries are only added in slots where doing both at once could pay (negative
import price, export price above import price, a start above max SoC), and lazily in any
slot where the relaxed solution does both; the water heater (``water.py``) uses a tight
start/end formulation and, when its comfort features are priced, hourly decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from darkstar.errors import DarkstarError
from darkstar.physics.battery import soc_trajectory_kwh
from darkstar.planner.solver.capacity import add_capacity_tariff
from darkstar.planner.solver.ev import EvVars, add_ev_constraints, ev_soc_trajectory_kwh
from darkstar.planner.solver.manual import add_manual_constraints
from darkstar.planner.solver.model import LinearModel, SolvedModel, lagged
from darkstar.planner.solver.types import (
    KeplerInput,
    KeplerResult,
    PlanArrays,
    PlanStatus,
    SolverReport,
)
from darkstar.planner.solver.water import add_water_constraints, water_shortfalls_kwh

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "EXPORT_SHORTFALL_PENALTY_SEK_PER_KWH",
    "THROUGHPUT_TIEBREAK_SEK_PER_KWH",
    "add_battery_constraints",
    "VIOLATION_PRIORITY",
    "ViolationLimits",
    "add_export_commitment_constraints",
    "add_grid_constraints",
    "build_model",
    "cap_violations",
    "NoSolutionError",
    "hard_penalty_sek_per_kwh",
    "minimum_violations",
    "solve_kepler",
    "water_warnings",
]

logger = logging.getLogger(__name__)

#: Added to the wear price of every kWh charged or discharged: with zero wear and lossy
#: efficiencies, charging and discharging at once is a free way to burn surplus energy that
#: could just as well be curtailed; this tie-break (a thousandth of an öre per kWh, about
#: 0.0004 SEK on a busy day) makes "do nothing" strictly better than pointless cycling, so
#: the LP never needs an exclusivity binary for it. It never changes the economics.
THROUGHPUT_TIEBREAK_SEK_PER_KWH = 1e-5

#: Price of each kWh an export commitment falls short [SEK/kWh]. A kWh costs at most about
#: 50 SEK all-in (the SDAC day-ahead cap of 4000 EUR/MWh is about 45 SEK/kWh). Even bought
#: at that price through a 50 % round trip with the maximum wear (10 SEK/kWh each way), one
#: more kWh exported in the window costs under 150 SEK, and leaving a water quota or the
#: target SoC unmet costs the highest price plus a few SEK. At 1000 SEK/kWh the commitment
#: is met whenever the fuse, battery and PV allow; the slack only keeps the model feasible
#: when they cannot. Shedding and SoC breaches stay capped at their physical minimum
#: (:func:`cap_violations`), so they are never traded for it. Requests with prices beyond
#: any market's cap get the floor penalty instead, whichever is larger.
EXPORT_SHORTFALL_PENALTY_SEK_PER_KWH = 1000.0

#: Values below this (kW or kWh) in a solution are solver noise and are written as zero.
_CLEAN_TOL = 1e-7

#: How many times the model is re-solved with extra exclusivity binaries before all slots
#: get them.
_MAX_LAZY_ROUNDS = 3


def hard_penalty_sek_per_kwh(kin: KeplerInput) -> float:
    """Penalty for breaking the min-SoC floor [SEK/kWh per slot].

    Ten times the most a kWh can cost, plus 10 SEK: any plan that keeps the floor is
    cheaper than one that breaks it, so the floor is only broken where physics forces it
    (start below the floor, or load above the grid cap). Load shedding costs twice this.
    The most a kWh can cost is the largest absolute price plus, with a capacity tariff,
    ``fee / peaks_counted``: a kWh imported in one hour raises that hour's mean import by
    1 kW, so the month's billed mean by at most 1/N kW (without it, a capacity tariff of
    80 SEK/kW/month made a car leave below its target to keep a peak down).
    """
    prices = np.concatenate([kin.import_price_sek_per_kwh, kin.export_price_sek_per_kwh])
    per_kwh = float(np.max(np.abs(prices)))
    tariff = kin.capacity_tariff
    if tariff is not None:
        per_kwh += (
            tariff.fee_sek_per_kw
            / tariff.peaks_counted
            * float(np.max(tariff.hour_weight, initial=0.0))
        )
    return 10.0 * per_kwh + 10.0


@dataclass(frozen=True, kw_only=True)
class _Vars:
    charge: NDArray[np.int64]
    discharge: NDArray[np.int64]
    soc: NDArray[np.int64]
    grid_import: NDArray[np.int64]
    grid_export: NDArray[np.int64]
    curtail: NDArray[np.int64]
    shed: NDArray[np.int64]
    water_on: NDArray[np.int64] | None
    ev: EvVars | None = None


def add_battery_constraints(
    m: LinearModel, kin: KeplerInput, *, exclusive_slots: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Add battery variables, SoC recursion, soft floor, wear, ramping, terminal value, target.

    Equations, for every slot t (``E_{-1} = E_0`` is the initial SoC)::

        E_t = E_{t-1} + h (eta_c c_t - d_t / eta_d)             (soc_balance)
        E_t + s^low_t >= E_min,  0 <= s^low_t <= E_min           (soc_floor, soft)
        0 <= E_t <= E_max + x_0,  x_0 = max(0, E_0 - E_max)
        c_t <= min(C, C^man_t),  d_t <= min(D, D^man_t)          (manual blocks, if any)
        E_t - s^high_t <= E_max,  0 <= s^high_t <= x_0           (soc_ceiling, if x_0 > 0)
        c_t <= C b_t,  d_t <= D (1 - b_t),  b_t binary           (battery_mode, some t)
        (d_t - c_t) - (d_{t-1} - c_{t-1}) = r^+_t - r^-_t        (ramp, when priced)
        E_{t*} + z >= E*                                         (soc_target, soft)

    Objective terms: ``wear h (c_t + d_t) + M (s^low_t + s^high_t) + ramp (r^+_t + r^-_t)
    - v E_{T-1} + P_target z``. A start above ``E_max`` drains as fast as physics allows
    (the excess is priced like the floor) instead of making the model infeasible.
    """
    n, h = kin.n_slots, kin.slot_h
    bat = kin.battery
    if bat is None:
        zeros = m.add_vars("battery_charge_kw", n, ub=0.0)
        dis = m.add_vars("battery_discharge_kw", n, ub=0.0)
        soc = m.add_vars("soc_kwh", n, ub=0.0)
        return zeros, dis, soc
    penalty = hard_penalty_sek_per_kwh(kin)
    wear = (bat.cycle_cost_sek_per_kwh + THROUGHPUT_TIEBREAK_SEK_PER_KWH) * h
    charge_ub: float | NDArray[np.float64] = bat.max_charge_kw
    discharge_ub: float | NDArray[np.float64] = bat.max_discharge_kw
    if kin.manual is not None:  # manual blocks: per-slot caps, 0 in hold slots
        charge_ub = np.minimum(bat.max_charge_kw, kin.manual.max_charge_kw)
        discharge_ub = np.minimum(bat.max_discharge_kw, kin.manual.max_discharge_kw)
    charge = m.add_vars("battery_charge_kw", n, ub=charge_ub, cost=wear)
    discharge = m.add_vars("battery_discharge_kw", n, ub=discharge_ub, cost=wear)
    excess0 = max(0.0, bat.initial_soc_kwh - bat.max_soc_kwh)
    soc = m.add_vars("soc_kwh", n, ub=bat.max_soc_kwh + excess0)
    m.add_rows(
        "soc_balance",
        [
            (soc, 1.0),
            (lagged(soc, 1), -1.0),
            (charge, -h * bat.charge_efficiency),
            (discharge, h / bat.discharge_efficiency),
        ],
        lb=np.r_[bat.initial_soc_kwh, np.zeros(n - 1)],
        ub=np.r_[bat.initial_soc_kwh, np.zeros(n - 1)],
    )
    low = m.add_vars("soc_floor_breach_kwh", n, ub=bat.min_soc_kwh, cost=penalty)
    m.add_rows("soc_floor", [(soc, 1.0), (low, 1.0)], lb=bat.min_soc_kwh)
    if excess0 > 0:
        high = m.add_vars("soc_ceiling_excess_kwh", n, ub=excess0, cost=penalty)
        m.add_rows("soc_ceiling", [(soc, 1.0), (high, -1.0)], ub=bat.max_soc_kwh)
    if len(exclusive_slots):
        mode = m.add_vars("battery_mode_charge", len(exclusive_slots), ub=1.0, integer=True)
        m.add_rows(
            "battery_mode_charge_cap",
            [(charge[exclusive_slots], 1.0), (mode, -bat.max_charge_kw)],
            ub=0.0,
        )
        m.add_rows(
            "battery_mode_discharge_cap",
            [(discharge[exclusive_slots], 1.0), (mode, bat.max_discharge_kw)],
            ub=bat.max_discharge_kw,
        )
    ramp_cost = kin.options.ramping_cost_sek_per_kw
    if ramp_cost > 0 and n > 1:
        up = m.add_vars("ramp_up_kw", n - 1, cost=ramp_cost)
        down = m.add_vars("ramp_down_kw", n - 1, cost=ramp_cost)
        m.add_rows(
            "ramp",
            [
                (discharge[1:], 1.0),
                (charge[1:], -1.0),
                (discharge[:-1], -1.0),
                (charge[:-1], 1.0),
                (up, -1.0),
                (down, 1.0),
            ],
            lb=0.0,
            ub=0.0,
        )
    terminal = kin.options.terminal_value_sek_per_kwh
    if terminal > 0:
        m.add_cost(soc[-1:], -terminal)
    if kin.soc_target is not None:
        target = kin.soc_target
        short = m.add_vars("soc_target_shortfall_kwh", 1, ub=target.soc_kwh)
        m.add_cost(short, target.penalty_sek_per_kwh)
        m.add_rows(
            "soc_target",
            [(soc[target.slot : target.slot + 1], 1.0), (short, 1.0)],
            lb=target.soc_kwh,
        )
    return charge, discharge, soc


def add_grid_constraints(
    m: LinearModel,
    kin: KeplerInput,
    *,
    charge: NDArray[np.int64],
    discharge: NDArray[np.int64],
    water_on: NDArray[np.int64] | None,
    exclusive_slots: NDArray[np.int64],
    ev_charge: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Add grid import/export, curtailment, load shedding and the energy balance.

    Equations, for every slot t (PV and load forecasts given in kWh per slot; ``q_t`` the
    car's charge, :mod:`~darkstar.planner.solver.ev`)::

        pv_t/h - u_t + d_t + i_t + l_t = load_t/h + c_t + e_t + P w_t + q_t   (balance)
        0 <= i_t <= min(fuse, import_limit),  0 <= e_t <= fuse (0 if export is off)
        0 <= u_t <= pv_t/h,  0 <= l_t <= load_t/h
        i_t <= I g_t,  e_t <= E (1 - g_t),  g_t binary                     (grid_mode, some t)

    Objective terms: ``h (p^imp_t i_t - (p^exp_t - threshold) e_t + P_shed l_t)``.
    """
    n, h = kin.n_slots, kin.slot_h
    grid = kin.grid
    threshold = kin.options.export_threshold_sek_per_kwh
    import_cap = grid.import_cap_kw
    export_cap = grid.max_power_kw if grid.export_enabled else 0.0
    grid_import = m.add_vars(
        "grid_import_kw", n, ub=import_cap, cost=h * kin.import_price_sek_per_kwh
    )
    grid_export = m.add_vars(
        "grid_export_kw",
        n,
        ub=export_cap,
        cost=-h * (kin.export_price_sek_per_kwh - threshold),
    )
    curtail = m.add_vars("pv_curtailment_kw", n, ub=kin.pv_kwh / h)
    shed = m.add_vars(
        "load_shedding_kw", n, ub=kin.load_kwh / h, cost=h * 2.0 * hard_penalty_sek_per_kwh(kin)
    )
    terms = [
        (curtail, -1.0),
        (discharge, 1.0),
        (grid_import, 1.0),
        (shed, 1.0),
        (charge, -1.0),
        (grid_export, -1.0),
    ]
    if water_on is not None and kin.water is not None:
        terms.append((water_on, -kin.water.power_kw))
    if ev_charge is not None:
        terms.append((ev_charge, -1.0))
    rhs = (kin.load_kwh - kin.pv_kwh) / h
    m.add_rows("energy_balance", terms, lb=rhs, ub=rhs)
    if len(exclusive_slots) and export_cap > 0:
        mode = m.add_vars("grid_mode_import", len(exclusive_slots), ub=1.0, integer=True)
        m.add_rows(
            "grid_mode_import_cap",
            [(grid_import[exclusive_slots], 1.0), (mode, -import_cap)],
            ub=0.0,
        )
        m.add_rows(
            "grid_mode_export_cap",
            [(grid_export[exclusive_slots], 1.0), (mode, export_cap)],
            ub=export_cap,
        )
    return grid_import, grid_export, curtail, shed


def add_export_commitment_constraints(
    m: LinearModel, kin: KeplerInput, grid_export: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Add the export commitment of ``kin``: at least X kWh exported within a window.

    Equation, for the window ``W = [first_slot, end_slot)`` and committed energy ``X``::

        h sum_{t in W} e_t + s >= X,   0 <= s <= X                  (export_commitment)

    Objective term: ``P_short s`` with ``P_short`` the larger of
    :data:`EXPORT_SHORTFALL_PENALTY_SEK_PER_KWH` and the floor penalty, so ``s > 0`` only
    where the fuse, the battery and PV cannot deliver X (the model stays feasible).

    Returns
    -------
    NDArray[np.int64]
        The column of ``export_shortfall_kwh`` (empty when ``kin`` has no commitment).
    """
    commitment = kin.export_commitment
    if commitment is None:
        return np.zeros(0, dtype=np.int64)
    penalty = max(EXPORT_SHORTFALL_PENALTY_SEK_PER_KWH, hard_penalty_sek_per_kwh(kin))
    short = m.add_vars("export_shortfall_kwh", 1, ub=commitment.energy_kwh, cost=penalty)
    window = grid_export[commitment.first_slot : commitment.end_slot]
    m.add_rows_coo(
        "export_commitment",
        1,
        (
            np.zeros(len(window) + 1, dtype=np.int64),
            np.r_[window, short],
            np.r_[np.full(len(window), kin.slot_h), 1.0],
        ),
        lb=commitment.energy_kwh,
    )
    return short


def build_model(
    kin: KeplerInput, *, battery_binaries: NDArray[np.int64], grid_binaries: NDArray[np.int64]
) -> tuple[LinearModel, _Vars]:
    """Build the whole MILP for ``kin``."""
    m = LinearModel()
    charge, discharge, soc = add_battery_constraints(m, kin, exclusive_slots=battery_binaries)
    add_manual_constraints(
        m,
        kin,
        charge=charge,
        discharge=discharge,
        soc=soc,
        floor_penalty_sek_per_kwh=hard_penalty_sek_per_kwh(kin),
    )
    water_vars = add_water_constraints(m, kin)
    water_on = None if water_vars is None else water_vars.on
    ev = add_ev_constraints(
        m,
        kin,
        penalty_sek_per_kwh=hard_penalty_sek_per_kwh(kin),
        tiebreak_sek_per_kwh=THROUGHPUT_TIEBREAK_SEK_PER_KWH,
    )
    grid_import, grid_export, curtail, shed = add_grid_constraints(
        m,
        kin,
        charge=charge,
        discharge=discharge,
        water_on=water_on,
        exclusive_slots=grid_binaries,
        ev_charge=None if ev is None else ev.charge,
    )
    if kin.export_commitment is not None:
        add_export_commitment_constraints(m, kin, grid_export)
    if kin.capacity_tariff is not None:
        add_capacity_tariff(m, kin.capacity_tariff, grid_import=grid_import, slot_h=kin.slot_h)
    return m, _Vars(
        charge=charge,
        discharge=discharge,
        soc=soc,
        grid_import=grid_import,
        grid_export=grid_export,
        curtail=curtail,
        shed=shed,
        water_on=water_on,
        ev=ev,
    )


#: Column blocks that only physics may force above zero, in strict priority order: load
#: shedding (never shed while anything else helps), the excess over the ceiling at a start
#: above it, then the SoC floor breach.
VIOLATION_PRIORITY = ("load_shedding_kw", "soc_ceiling_excess_kwh", "soc_floor_breach_kwh")


@dataclass(frozen=True, kw_only=True)
class ViolationLimits:
    """The least priced violation physics forces, per block of :data:`VIOLATION_PRIORITY`."""

    limits_sek: tuple[float, ...] = (0.0,) * len(VIOLATION_PRIORITY)


def minimum_violations(kin: KeplerInput, *, battery_binaries: NDArray[np.int64]) -> ViolationLimits:
    """Return the least violations physics forces, one block at a time in priority order.

    Zero without a solve when every load fits under the import cap and the battery starts
    inside its SoC window (the battery can idle and the grid serve the load). Otherwise one
    small LP of the battery and grid alone per block (the water heater, target and export
    commitment can always be left unserved, so they never lower these minima), each with the
    blocks before it held at their minima. Manual blocks keep their bounds (a hold can force
    shedding) but not their soft rows.
    """
    bat = kin.battery
    may_shed = bool(np.any(kin.load_kwh / kin.slot_h > kin.grid.import_cap_kw + 1e-9))
    may_breach = bat is not None and not (
        bat.min_soc_kwh - 1e-9 <= bat.initial_soc_kwh <= bat.max_soc_kwh + 1e-9
    )
    if not may_shed and not may_breach:
        return ViolationLimits()
    no_binaries = np.zeros(0, dtype=np.int64)
    manual = None if kin.manual is None else kin.manual.bounds_only()
    lp_input = replace(
        kin,
        water=None,
        soc_target=None,
        export_commitment=None,
        manual=manual,
        ev=None,
        capacity_tariff=None,
    )
    m, _ = build_model(lp_input, battery_binaries=battery_binaries, grid_binaries=no_binaries)
    blocks = [m.cols(name) for name in VIOLATION_PRIORITY]
    weights = [m.costs(cols) for cols in blocks]
    limits: list[float] = []
    for cols, weight in zip(blocks, weights, strict=True):
        m.keep_costs_only(np.zeros(0, dtype=np.int64))
        m.add_cost(cols, weight)
        outcome = m.solve(time_limit_s=kin.options.time_limit_s, mip_gap=kin.options.mip_gap)
        limit = max(0.0, outcome.objective) if outcome.x is not None else float("inf")
        _cap(m, cols, weight, limit)
        limits.append(limit)
    return ViolationLimits(limits_sek=tuple(limits))


def _cap(
    m: LinearModel, cols: NDArray[np.int64], weights: NDArray[np.float64], limit: float
) -> None:
    if len(cols) == 0:
        return
    if limit <= 1e-9:
        m.set_upper(cols, 0.0)
    elif np.isfinite(limit):
        m.add_rows_coo(
            "violation_cap",
            1,
            (np.zeros(len(cols), np.int64), cols, weights),
            ub=limit * (1 + 1e-6) + 1e-6,
        )


def cap_violations(m: LinearModel, limits: ViolationLimits) -> None:
    """Keep shedding and SoC breaches at the physical minimum: never trade them for comfort.

    Penalties alone cannot do this: a sliver of shed load or floor breach can unlock a whole
    on/off water-heating block whose shortfall penalty is larger than the sliver's, a floor
    penalty paid in every slot can outgrow a one-off shed, and draining a start above the
    ceiling could free "budget" for an unforced floor breach. Each violation block is capped
    at the minimum found by :func:`minimum_violations`, which makes the priority strict.
    """
    for name, limit in zip(VIOLATION_PRIORITY, limits.limits_sek, strict=True):
        cols = m.cols(name)
        _cap(m, cols, m.costs(cols), limit)


def _initial_binary_slots(kin: KeplerInput) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Slots where doing both directions at once could pay, so exclusivity needs a binary."""
    imp, exp = kin.import_price_sek_per_kwh, kin.export_price_sek_per_kwh
    battery = imp <= 0.0
    if kin.battery is not None and kin.battery.initial_soc_kwh > kin.battery.max_soc_kwh:
        battery = np.ones_like(battery)
    grid = exp - kin.options.export_threshold_sek_per_kwh >= imp
    return np.flatnonzero(battery), np.flatnonzero(grid)


def _clean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Clip solver noise: every flow and SoC is >= 0; tiny values become exactly 0."""
    out = np.maximum(values, 0.0)
    out[out < _CLEAN_TOL] = 0.0
    return out


def _extract(kin: KeplerInput, v: _Vars, x: NDArray[np.float64]) -> PlanArrays:
    water_kw = np.zeros(kin.n_slots)
    if v.water_on is not None and kin.water is not None:
        water_kw = np.where(x[v.water_on] > 0.5, kin.water.power_kw, 0.0)
    return PlanArrays(
        battery_charge_kw=_clean(x[v.charge]),
        battery_discharge_kw=_clean(x[v.discharge]),
        grid_import_kw=_clean(x[v.grid_import]),
        grid_export_kw=_clean(x[v.grid_export]),
        pv_curtailment_kw=_clean(x[v.curtail]),
        load_shedding_kw=_clean(x[v.shed]),
        water_heating_kw=water_kw,
        soc_kwh=_clean(x[v.soc]),
        ev_charge_kw=None if v.ev is None else _clean(x[v.ev.charge]),
        ev_soc_kwh=None if v.ev is None else _clean(x[v.ev.soc]),
    )


def _exact_physics(kin: KeplerInput, plan: PlanArrays) -> PlanArrays:
    """Close the books exactly: SoC by the recursion, grid exchange by the balance.

    The solver meets its rows to about 1e-7 (scaled), which over a day of slots can leave
    the SoC 1e-5 kWh off the efficiency recursion. The executor acts on the flows, so the
    SoC is recomputed from them, and the grid exchange absorbs the balance residual.
    """
    h = kin.slot_h
    soc = np.zeros(kin.n_slots)
    bat = kin.battery
    if bat is not None:
        soc = soc_trajectory_kwh(
            initial_soc_kwh=bat.initial_soc_kwh,
            charge_kw=plan.battery_charge_kw,
            discharge_kw=plan.battery_discharge_kw,
            slot_h=h,
            charge_efficiency=bat.charge_efficiency,
            discharge_efficiency=bat.discharge_efficiency,
        )
        soc = np.maximum(soc, 0.0)
    net_kw = (
        (kin.load_kwh - kin.pv_kwh) / h
        + plan.pv_curtailment_kw
        - plan.load_shedding_kw
        + plan.battery_charge_kw
        - plan.battery_discharge_kw
        + plan.water_heating_kw
    )
    ev_soc = plan.ev_soc_kwh
    if kin.ev is not None and plan.ev_charge_kw is not None:
        net_kw = net_kw + plan.ev_charge_kw
        ev_soc = ev_soc_trajectory_kwh(kin.ev, plan.ev_charge_kw, h)
    return replace(
        plan,
        grid_import_kw=_clean(net_kw),
        grid_export_kw=_clean(-net_kw),
        soc_kwh=_clean(soc),
        ev_soc_kwh=ev_soc,
    )


def _both_ways(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.int64]:
    return np.flatnonzero((a > 1e-6) & (b > 1e-6))


def water_warnings(kin: KeplerInput, plan: PlanArrays) -> list[str]:
    """Return one warning per water day whose quota ``plan`` does not meet."""
    if kin.water is None:
        return []
    return [
        f"water_heating: quota for {day.label} short by {missing:.2f} kWh "
        f"(required {day.required_kwh:.2f} kWh)"
        for day, missing in water_shortfalls_kwh(kin.water, plan.water_heating_kw, kin.slot_h)
    ]


class NoSolutionError(DarkstarError):
    """HiGHS returned no plan; ``termination`` says why (infeasible, time limit, ...)."""

    def __init__(self, termination: str) -> None:
        self.termination = termination
        super().__init__(f"solver found no solution ({termination})")


def solve_kepler(kin: KeplerInput) -> KeplerResult:
    """Solve the planning MILP.

    Returns
    -------
    KeplerResult
        ``optimal`` or ``feasible`` result.

    Raises
    ------
    NoSolutionError
        When HiGHS found no solution (time limit without an incumbent, or a numerical
        failure); the caller then builds a fallback plan.
    """
    battery_slots, grid_slots = _initial_binary_slots(kin)
    total_ms = 0.0
    n_solves = 0
    limits = minimum_violations(kin, battery_binaries=battery_slots)
    limits_active = True
    while True:
        m, v = build_model(kin, battery_binaries=battery_slots, grid_binaries=grid_slots)
        if limits_active:
            cap_violations(m, limits)
        remaining = kin.options.time_limit_s - total_ms / 1000.0
        outcome = m.solve(time_limit_s=max(remaining, 0.05), mip_gap=kin.options.mip_gap)
        total_ms += outcome.solve_time_ms
        n_solves += 1
        if outcome.x is None and limits != ViolationLimits() and limits_active:
            # the caps come from an earlier solve; solver tolerances can make them a hair
            # too tight. Violations stay priced, so solving without the caps is still safe.
            logger.warning("kepler: %s with violation caps; solving without", outcome.termination)
            limits_active = False
            continue
        if outcome.x is None:
            logger.warning("kepler: no solution (%s) after %.0f ms", outcome.termination, total_ms)
            raise NoSolutionError(outcome.termination)
        plan = _extract(kin, v, outcome.x)
        extra_bat = np.setdiff1d(
            _both_ways(plan.battery_charge_kw, plan.battery_discharge_kw), battery_slots
        )
        extra_grid = np.setdiff1d(_both_ways(plan.grid_import_kw, plan.grid_export_kw), grid_slots)
        if not len(extra_bat) and not len(extra_grid):
            break
        if n_solves >= _MAX_LAZY_ROUNDS:
            extra_bat = np.arange(kin.n_slots)
            extra_grid = np.arange(kin.n_slots)
        logger.debug(
            "kepler: adding %d battery and %d grid exclusivity binaries",
            len(extra_bat),
            len(extra_grid),
        )
        battery_slots = np.union1d(battery_slots, extra_bat).astype(np.int64)
        grid_slots = np.union1d(grid_slots, extra_grid).astype(np.int64)
    plan = _exact_physics(kin, plan)
    status = PlanStatus.OPTIMAL if outcome.proven_optimal else PlanStatus.FEASIBLE
    report = SolverReport(
        solver="highs",
        termination=outcome.termination,
        solve_time_ms=total_ms,
        mip_gap=outcome.mip_gap,
        n_variables=m.n_cols,
        n_constraints=m.n_rows,
        n_binaries=m.n_integer,
        n_solves=n_solves,
    )
    logger.info(
        "kepler: %s, objective %.3f SEK, %.1f ms, gap %.4g, %d vars, %d rows, %d binaries",
        status,
        outcome.objective,
        total_ms,
        outcome.mip_gap,
        m.n_cols,
        m.n_rows,
        m.n_integer,
    )
    return KeplerResult(
        status=status,
        plan=plan,
        objective_sek=outcome.objective,
        report=report,
        warnings=tuple(water_warnings(kin, plan)),
        solved=SolvedModel(model=m, x=outcome.x),
    )
