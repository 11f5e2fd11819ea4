"""Manual blocks in the MILP: the soft "as much as it can" rows of charge and discharge windows.

The per-slot caps of manual blocks (0 in hold slots, no discharge in a charge block, ...) are
variable bounds set by the battery builder in :mod:`darkstar.planner.solver.kepler`; this
module adds what a bound cannot say: a charge (discharge) window should run at full power
unless the battery gets full (empty) first. See ``docs/planner_model.md``, *Manual blocks*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.model import LinearModel
    from darkstar.planner.solver.types import BatterySpec, KeplerInput

__all__ = ["add_manual_constraints", "manual_shortfall_penalty_sek_per_kwh"]


def manual_shortfall_penalty_sek_per_kwh(
    kin: KeplerInput, *, floor_penalty_sek_per_kwh: float
) -> float:
    """Price of each SoC kWh a manual charge or discharge block falls short [SEK/kWh].

    ``(M + 2 w + v + 2 r / h) / min(eta_c, eta_d)`` with ``M`` the floor penalty
    (``floor_penalty_sek_per_kwh``, Kepler's ``hard_penalty_sek_per_kwh``). One SoC
    kWh less in the block saves at most ``1 / eta`` AC kWh at the highest price, frees room
    (or keeps energy) worth at most that again later, the wear both ways, the terminal value
    and two ramps; ``M >= 10 max|p| + 10`` also covers a water shortfall or target-SoC
    penalty the same kWh could avoid. So the block is met whenever physics allows, at any
    price, and the slack only keeps the model feasible (shedding and SoC breaches stay
    capped at their physical minimum, so they are never traded for it).
    """
    bat = kin.battery
    if bat is None:
        return 0.0
    opts = kin.options
    value = (
        floor_penalty_sek_per_kwh
        + 2.0 * bat.cycle_cost_sek_per_kwh
        + opts.terminal_value_sek_per_kwh
        + 2.0 * opts.ramping_cost_sek_per_kw / kin.slot_h
    )
    return value / min(bat.charge_efficiency, bat.discharge_efficiency)


def _manual_reach_kwh(kin: KeplerInput, bat: BatterySpec, direction: int) -> NDArray[np.float64]:
    """Per slot, the SoC change a manual push can reach: full power within the fuse [kWh]."""
    grid, h = kin.grid, kin.slot_h
    net_kw = (kin.load_kwh - kin.pv_kwh) / h
    if direction > 0:
        power_kw = np.clip(grid.import_cap_kw - net_kw, 0.0, bat.max_charge_kw)
        return h * bat.charge_efficiency * power_kw
    export_cap = grid.max_power_kw if grid.export_enabled else 0.0
    power_kw = np.clip(net_kw + export_cap, 0.0, bat.max_discharge_kw)
    return h / bat.discharge_efficiency * power_kw


def add_manual_constraints(
    m: LinearModel,
    kin: KeplerInput,
    *,
    charge: NDArray[np.int64],
    discharge: NDArray[np.int64],
    soc: NDArray[np.int64],
    floor_penalty_sek_per_kwh: float,
) -> None:
    """Add the soft "as much as it can" rows of manual charge and discharge windows.

    For a charge window ``W = [a, b)`` with reach ``K = h eta_c sum_{t in W} Cr_t``,
    ``Cr_t = min(C, max(0, I - (L_t - PV_t)/h))`` (full power within the import cap), the
    shortfall ``s = min(K - h eta_c sum_W c_t, E_max - E_{b-1})`` (power not used, or room
    left at the end, whichever is smaller) is priced, with a binary ``y`` choosing the
    branch::

        s + h eta_c sum_{t in W} c_t + K y >= K                  (manual_charge_reach)
        s + E_{b-1} - E_max y >= 0                               (manual_charge_full)
        0 <= s <= K,  y binary

    A discharge window mirrors it with ``Dr_t = min(D, max(0, (L_t - PV_t)/h + X))``
    (load plus export cap ``X``), ``K = (h / eta_d) sum_W Dr_t`` and the floor, big-M
    ``B = E_max + x_0 - E_min``::

        s + (h / eta_d) sum_{t in W} d_t + K y >= K              (manual_discharge_reach)
        s - E_{b-1} - B y >= -E_min - B                          (manual_discharge_empty)

    Objective term: ``P_man s`` (:func:`manual_shortfall_penalty_sek_per_kwh`). ``s = K,
    y = 0`` always satisfies both rows, so the model stays feasible.
    """
    manual, bat = kin.manual, kin.battery
    if manual is None or bat is None:
        return
    penalty = manual_shortfall_penalty_sek_per_kwh(
        kin, floor_penalty_sek_per_kwh=floor_penalty_sek_per_kwh
    )
    excess0 = max(0.0, bat.initial_soc_kwh - bat.max_soc_kwh)
    for direction, flows, per_kw in (
        (1, charge, kin.slot_h * bat.charge_efficiency),
        (-1, discharge, kin.slot_h / bat.discharge_efficiency),
    ):
        reach = _manual_reach_kwh(kin, bat, direction)
        windows = [(a, b) for a, b in manual.windows(direction) if reach[a:b].sum() > 1e-9]
        if not windows:
            continue
        name = "manual_charge" if direction > 0 else "manual_discharge"
        k = np.array([reach[a:b].sum() for a, b in windows])
        short = m.add_vars(f"{name}_shortfall_kwh", len(windows), ub=k, cost=penalty)
        done = m.add_vars(f"{name}_done", len(windows), ub=1.0, integer=True)
        rows, cols, vals = [], [], []
        for w, (a, b) in enumerate(windows):
            rows.append(np.full(b - a + 2, w))
            cols.append(np.r_[flows[a:b], short[w], done[w]])
            vals.append(np.r_[np.full(b - a, per_kw), 1.0, k[w]])
        triplets = (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))
        m.add_rows_coo(f"{name}_reach", len(windows), triplets, lb=k)
        end_soc = soc[[b - 1 for _, b in windows]]
        if direction > 0:
            m.add_rows(
                f"{name}_full", [(short, 1.0), (end_soc, 1.0), (done, -bat.max_soc_kwh)], lb=0.0
            )
        else:
            big = bat.max_soc_kwh + excess0 - bat.min_soc_kwh
            m.add_rows(
                f"{name}_empty",
                [(short, 1.0), (end_soc, -1.0), (done, -big)],
                lb=-bat.min_soc_kwh - big,
            )
