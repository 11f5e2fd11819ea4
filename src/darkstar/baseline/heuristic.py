r"""Rule-based reference planner: Kepler's benchmark and its safe fallback plan.

This module owns three pure functions on :class:`~darkstar.planner.solver.types.KeplerInput`:

* :func:`plan_heuristic`: "charge in the cheapest hours, discharge in the most
  expensive, keep a reserve", with the water heater placed first in the cheapest slots;
* :func:`do_nothing_plan`: the idle-battery reference (same water placement);
* :func:`plan_cost_sek`: energy cost plus battery wear of any plan.

Both planners never raise on a valid input and always return a physically valid plan:
every array is float64 of length ``n`` and non-negative, each slot balances exactly,

.. math::

    pv/h - curtail + discharge + import + shed = load/h + charge + export + water,

the SoC follows :math:`soc_t = soc_{t-1} + h(\eta_c c_t - d_t/\eta_d)`, stays within
``[0, max(max_soc_kwh, initial_soc_kwh)]``, and no slot both charges and discharges or both
imports and exports. Import stays within ``grid.import_cap_kw`` and export within
``grid.max_power_kw`` (zero when export is disabled); unmet load becomes load shedding.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from darkstar.physics.battery import soc_after_slot_kwh

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.types import BatterySpec, KeplerInput, PlanArrays

__all__ = ["do_nothing_plan", "plan_cost_sek", "plan_heuristic"]

logger = logging.getLogger(__name__)

CHUNK_H = 24.0
"""Length of the price chunks in which cheap and expensive slots are paired [h]."""

_TOL = 1e-9
"""Absolute tolerance for energy comparisons [kWh]; below float noise of real inputs."""


def _free_water_slot(kin: KeplerInput, *, slot: int, power_kw: float) -> bool:
    """Tell whether the grid and PV alone can feed the element in ``slot``."""
    need_kw = (kin.load_kwh[slot] - kin.pv_kwh[slot]) / kin.slot_h + power_kw
    return bool(need_kw <= max(kin.grid.import_cap_kw, 0.0) + _TOL)


def _place_water(kin: KeplerInput) -> NDArray[np.float64]:
    """Water-heater power per slot [kW]: on/off in the cheapest slots of each day's window."""
    n = kin.n_slots
    water_kw = np.zeros(n, dtype=np.float64)
    spec = kin.water
    if spec is None or not spec.power_kw > 0:
        return water_kw
    slot_kwh = spec.power_kw * kin.slot_h
    for day in spec.days:
        first, end = max(day.first_slot, 0), min(day.end_slot, n)
        if first >= end or not day.required_kwh > 0:
            continue
        heated_kwh = float(np.sum(water_kw[first:end])) * kin.slot_h  # overlap counted once
        order = first + np.argsort(kin.import_price_sek_per_kwh[first:end], kind="stable")
        for slot in order.tolist():
            if heated_kwh >= day.required_kwh - _TOL:
                break
            if day.max_kwh is not None and heated_kwh + slot_kwh > day.max_kwh + _TOL:
                break
            if water_kw[slot] > 0 or not _free_water_slot(kin, slot=slot, power_kw=spec.power_kw):
                continue
            water_kw[slot] = spec.power_kw
            heated_kwh += slot_kwh
        if heated_kwh < day.required_kwh - _TOL:
            logger.debug(
                "water day %s: %.3f of %.3f kWh placed", day.label, heated_kwh, day.required_kwh
            )
    return water_kw


def _chunks(n: int, slot_h: float) -> list[range]:
    """Consecutive slot ranges of ``CHUNK_H`` hours (the last may be shorter)."""
    size = max(1, round(CHUNK_H / slot_h))
    return [range(a, min(a + size, n)) for a in range(0, n, size)]


def _need_kwh(need_kwh: list[float], refill_kwh: list[float]) -> float:
    """SoC above the floor needed now to serve the later slots' needs, net of refills [kWh]."""
    total = 0.0
    for need, refill in zip(reversed(need_kwh), reversed(refill_kwh), strict=True):
        total = max(0.0, total + need - refill)
    return total


def _battery_rules(
    kin: KeplerInput, net_kw: NDArray[np.float64]
) -> tuple[list[bool], list[float], list[float]]:
    """Grid-charge mask, grid-charge SoC target [kWh] and discharge floor [kWh] per slot.

    In each chunk the ``k`` cheapest slots followed by a deficit slot ``s`` with
    ``p_s * eta_c * eta_d - p_t > 2 * wear`` become grid-charge slots (``k`` slots fill the
    battery from min to max SoC). A charge slot charges up to the SoC that the later paying
    deficits of its chunk need (net of PV and grid refills); a discharge keeps back what the
    later, dearer deficits of the chunk need (the price-ordered reserve above min SoC).
    """
    bat = kin.battery
    if bat is None:  # pragma: no cover - callers check
        return [], [], []
    n, h = kin.n_slots, kin.slot_h
    eta_cd = bat.charge_efficiency * bat.discharge_efficiency
    max_ch = max(bat.max_charge_kw, 0.0)
    wear2 = 2.0 * bat.cycle_cost_sek_per_kwh
    price = kin.import_price_sek_per_kwh.tolist()
    deficit = np.maximum(-net_kw, 0.0).tolist()
    dis_kwh = [d * h / bat.discharge_efficiency for d in deficit]
    surplus = np.maximum(net_kw, 0.0).tolist()
    den = max_ch * h * bat.charge_efficiency
    usable_slots = (bat.max_soc_kwh - bat.min_soc_kwh) / den if den > 0 else 0.0
    mask = [False] * n
    chunks = _chunks(n, h)
    for chunk in chunks:
        k = int(min(len(chunk), math.ceil(min(usable_slots, 1e12))))
        good = [
            t
            for t in chunk
            if any(
                deficit[s] > 0 and price[s] * eta_cd - price[t] > wear2
                for s in range(t + 1, chunk.stop)
            )
        ]
        for t in sorted(good, key=lambda t: price[t])[:k]:
            mask[t] = True
        logger.debug(
            "chunk at slot %d: grid-charge slots %s", chunk.start, [t for t in chunk if mask[t]]
        )
    refill = [
        h * bat.charge_efficiency * (max_ch if mask[s] else min(max_ch, surplus[s]))
        for s in range(n)
    ]
    target = [bat.min_soc_kwh] * n
    floor = [bat.min_soc_kwh] * n
    for chunk in chunks:
        for t in chunk:
            later = range(t + 1, chunk.stop)
            later_refill = [refill[s] for s in later]
            if mask[t]:
                pays = [
                    dis_kwh[s] if not mask[s] and price[s] * eta_cd - price[t] > wear2 else 0.0
                    for s in later
                ]
                need = _need_kwh(pays, later_refill)
                target[t] = min(bat.max_soc_kwh, bat.min_soc_kwh + need)
            dearer = [dis_kwh[s] if not mask[s] and price[s] > price[t] else 0.0 for s in later]
            floor[t] = min(bat.max_soc_kwh, bat.min_soc_kwh + _need_kwh(dearer, later_refill))
    return mask, target, floor


def _battery_kw(
    bat: BatterySpec,
    *,
    soc_kwh: float,
    net_kw: float,
    slot_h: float,
    import_cap_kw: float,
    price_sek_per_kwh: float,
    charge_slot: bool,
    target_kwh: float,
    floor_kwh: float,
) -> tuple[float, float]:
    """Charge and discharge power [kW] of one slot given the SoC at its start."""
    eta_c, eta_d = bat.charge_efficiency, bat.discharge_efficiency
    room_kw = max(0.0, min(bat.max_charge_kw, (bat.max_soc_kwh - soc_kwh) / (eta_c * slot_h)))
    want_kw = min(room_kw, max(0.0, (target_kwh - soc_kwh) / (eta_c * slot_h)))
    if net_kw >= 0:  # PV surplus: store it, top up from the grid in a charge slot
        pv_kw = min(net_kw, room_kw)
        grid_kw = max(0.0, min(want_kw - pv_kw, import_cap_kw)) if charge_slot else 0.0
        return pv_kw + grid_kw, 0.0
    deficit_kw = -net_kw
    if charge_slot and deficit_kw <= import_cap_kw:
        return max(0.0, min(want_kw, import_cap_kw - deficit_kw)), 0.0
    max_dis_kw = max(bat.max_discharge_kw, 0.0)
    dis_kw = 0.0
    if not charge_slot and price_sek_per_kwh > bat.cycle_cost_sek_per_kwh:
        dis_kw = max(0.0, min(deficit_kw, max_dis_kw, (soc_kwh - floor_kwh) * eta_d / slot_h))
    if deficit_kw - dis_kw > import_cap_kw:  # the grid cannot carry the load: drain to 0 SoC
        drain_kw = min(deficit_kw - import_cap_kw, max_dis_kw, max(soc_kwh, 0.0) * eta_d / slot_h)
        dis_kw = max(dis_kw, drain_kw)
    return 0.0, dis_kw


_FIELDS = (
    "battery_charge_kw",
    "battery_discharge_kw",
    "grid_import_kw",
    "grid_export_kw",
    "pv_curtailment_kw",
    "load_shedding_kw",
    "soc_kwh",
)
"""PlanArrays fields filled slot by slot by :func:`_simulate` (water is placed up front)."""


def _simulate(kin: KeplerInput, *, idle_battery: bool) -> PlanArrays:
    """Run the slot rules forward and settle the grid, curtailment and shedding."""
    from darkstar.planner.solver.types import PlanArrays  # deferred: darkstar.planner imports us

    n, h = kin.n_slots, kin.slot_h
    water_kw = _place_water(kin)
    net_kw = (kin.pv_kwh - kin.load_kwh) / h - water_kw
    bat = kin.battery
    active = (
        bat is not None
        and not idle_battery
        and bat.charge_efficiency > 0
        and bat.discharge_efficiency > 0
    )
    import_cap_kw = max(kin.grid.import_cap_kw, 0.0)
    export_cap_kw = max(kin.grid.max_power_kw, 0.0) if kin.grid.export_enabled else 0.0
    mask, target, floor = _battery_rules(kin, net_kw) if active else ([False] * n, [], [])
    out = {name: np.zeros(n, dtype=np.float64) for name in _FIELDS}
    soc = bat.initial_soc_kwh if bat is not None else 0.0
    price = kin.import_price_sek_per_kwh.tolist()
    for t, net in enumerate(net_kw.tolist()):
        ch = dis = 0.0
        if active and bat is not None:
            ch, dis = _battery_kw(
                bat,
                soc_kwh=soc,
                net_kw=net,
                slot_h=h,
                import_cap_kw=import_cap_kw,
                price_sek_per_kwh=price[t],
                charge_slot=mask[t],
                target_kwh=target[t],
                floor_kwh=floor[t],
            )
            soc = soc_after_slot_kwh(
                soc_kwh=soc,
                charge_kw=ch,
                discharge_kw=dis,
                slot_h=h,
                charge_efficiency=bat.charge_efficiency,
                discharge_efficiency=bat.discharge_efficiency,
            )
        grid_kw = ch - dis - net  # > 0: must come from the grid; < 0: surplus to dispose of
        imp = exp = cur = shed = 0.0
        if grid_kw > 0:
            imp = min(grid_kw, import_cap_kw)
            shed = grid_kw - imp
        elif grid_kw < 0:
            if idle_battery or kin.export_price_sek_per_kwh[t] > 0:
                exp = min(-grid_kw, export_cap_kw)
            cur = -grid_kw - exp
        values = (ch, dis, imp, exp, cur, shed, soc)
        for name, value in zip(_FIELDS, values, strict=True):
            out[name][t] = value
    return PlanArrays(water_heating_kw=water_kw, **out)


def plan_heuristic(kin: KeplerInput) -> PlanArrays:
    r"""Plan by rules: water in the cheapest slots, then charge cheap and discharge dear.

    Parameters
    ----------
    kin : KeplerInput
        The problem; ``slot_h`` must be > 0 [h].

    Returns
    -------
    PlanArrays
        A physically valid plan (see the module docstring for the invariants).

    Notes
    -----
    Water: each :class:`~darkstar.planner.solver.types.WaterDay` switches the element on at
    full power in the cheapest free slots of its window until ``required_kwh`` is met,
    never above ``max_kwh``; energy in overlapping windows counts once, and a slot is
    used only if grid and PV alone can carry the element there.

    Battery, per 24 h chunk of the horizon: the cheapest slots followed by a deficit slot
    where :math:`p_{high}\eta_c\eta_d - p_{low} > 2\,wear` charge from the grid up to
    what those deficits need; deficits are covered from the battery (never exported)
    when the price exceeds the wear cost, keeping min SoC plus what later, dearer deficits
    need. PV surplus is stored up to max SoC, then exported if the export price is > 0,
    else curtailed. If the grid cap cannot carry the load the battery drains below min
    SoC (down to 0), then load is shed.

    Examples
    --------
    >>> import numpy as np
    >>> from darkstar.planner.solver.types import GridSpec, KeplerInput
    >>> kin = KeplerInput(slot_h=1.0, import_price_sek_per_kwh=np.array([1.0]),
    ...     export_price_sek_per_kwh=np.array([0.5]), pv_kwh=np.array([0.0]),
    ...     load_kwh=np.array([2.0]), grid=GridSpec(max_power_kw=16.0))
    >>> plan_heuristic(kin).grid_import_kw.tolist()
    [2.0]
    """
    return _simulate(kin, idle_battery=False)


def do_nothing_plan(kin: KeplerInput) -> PlanArrays:
    """Plan with an idle battery: the reference every optimised plan must beat.

    Parameters
    ----------
    kin : KeplerInput
        The problem; ``slot_h`` must be > 0 [h].

    Returns
    -------
    PlanArrays
        SoC constant at ``initial_soc_kwh`` (0 without a battery), water placed as in
        :func:`plan_heuristic`, deficits imported up to the cap (the rest shed), surplus
        exported at any price when export is enabled (up to the fuse), the rest curtailed.
    """
    return _simulate(kin, idle_battery=True)


def plan_cost_sek(kin: KeplerInput, plan: PlanArrays) -> float:
    r"""Energy cost plus battery wear of a plan [SEK].

    Parameters
    ----------
    kin : KeplerInput
        The problem the plan was made for.
    plan : PlanArrays
        Per-slot powers [kW].

    Returns
    -------
    float
        :math:`h\sum_t (i_t p^{imp}_t - e_t p^{exp}_t) + h\,wear \sum_t (c_t + d_t)` [SEK].
    """
    h = kin.slot_h
    energy_sek = h * float(
        np.sum(plan.grid_import_kw * kin.import_price_sek_per_kwh)
        - np.sum(plan.grid_export_kw * kin.export_price_sek_per_kwh)
    )
    wear = kin.battery.cycle_cost_sek_per_kwh if kin.battery is not None else 0.0
    throughput_kwh = h * float(np.sum(plan.battery_charge_kw + plan.battery_discharge_kw))
    return energy_sek + wear * throughput_kwh
