"""Water-heater model for Kepler: on/off element, daily quotas, blocks, spacing, comfort.

Equations (``w_t`` binary; start ``s_t`` and end ``f_t`` continuous in [0, 1], integral
whenever ``w`` is, because of the first two rows)::

    w_t - w_{t-1} = s_t - f_t                                  (water_on_flow)
    s_t <= w_t                                                 (water_start_on)
    w_t + sum_{j=t-L+1}^{t} f_j <= 1,  L = max(1, spacing)     (water_spacing)
    sum_{t in day d} P h w_t + q_d >= Q_d                      (water_quota, soft)
    sum_{t in day d} P h w_t <= Qmax_d                         (water_quota_max, no top-ups)
    w_k + sum_{j=k+1}^{k+G-1} s_j + g_k >= 1                   (water_comfort, G slots)

    w_t = w_{first slot of its group}                          (water_hourly_decision)

Objective terms: ``P_q q_d + start_penalty s_t + comfort_penalty h g_k + 1e-6 t w_t``.

Decision groups: with block-start costs, spacing or comfort gaps shorter than a day, the
element is switched per local clock hour, not per 15-minute slot. Measured on 12 noisy
192-slot days (``darkstar bench solver``), 15-minute decisions took 2.0 s median and 6.8 s
p95 to reach a 0.1 % gap, 30-minute ones 0.5 s and 3.9 s, hourly ones 0.08 s and 0.5 s;
a comfort blip is a comfort feature only when it lasts, so an hour is no loss to a user.
A plain quota (no start cost, spacing or sub-day comfort window) keeps 15-minute
decisions: it solves in about 0.15 s.

The first three rows are the start-up/shut-down formulation of minimum up/down times
(Rajan and Takriti, 2005), whose LP relaxation is the convex hull of those rows alone.
The comfort row counts heating that *touches* window ``[k, k+G)`` (on at ``k`` or a start
inside it); summing ``w`` over the window instead lets the relaxation spread ``1/G`` of
heating in every slot, which proves nothing and made a 192-slot plan take 10 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from darkstar.planner.solver.model import lagged
from darkstar.planner.solver.types import WaterDay

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.model import LinearModel
    from darkstar.planner.solver.types import KeplerInput, WaterSpec

__all__ = ["WATER_TIEBREAK_SEK", "WaterVars", "add_water_constraints", "water_shortfalls_kwh"]

#: Among equally priced slots (hourly prices on a 15-minute grid repeat four times) the
#: earliest is preferred: 1e-6 SEK per slot index, at most 3e-4 SEK over 288 slots, far
#: below any price difference, so it only removes symmetric optima from the search.
WATER_TIEBREAK_SEK = 1e-6


@dataclass(frozen=True, kw_only=True)
class WaterVars:
    """Column indices of the water model."""

    on: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]


def _day_rows(
    days: list[WaterDay], cols: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """COO (local row, column) pairs summing ``cols`` over each water day."""
    local = np.concatenate(
        [np.full(d.end_slot - d.first_slot, k, np.int64) for k, d in enumerate(days)]
    )
    return local, np.concatenate([cols[d.first_slot : d.end_slot] for d in days])


def _add_quota_rows(
    m: LinearModel, water: WaterSpec, on: NDArray[np.int64], slot_kwh: float
) -> None:
    """Per-day quota (soft, priced shortfall) and, without top-ups, the per-day cap."""
    days = [d for d in water.days if d.end_slot > d.first_slot]
    if not days:
        return
    n_days = len(days)
    short = m.add_vars("water_shortfall_kwh", n_days, cost=water.shortfall_penalty_sek_per_kwh)
    local, cols = _day_rows(days, on)
    m.add_rows_coo(
        "water_quota",
        n_days,
        (
            np.r_[local, np.arange(n_days)],
            np.r_[cols, short],
            np.r_[np.full(len(cols), slot_kwh), np.ones(n_days)],
        ),
        lb=np.array([d.required_kwh for d in days]),
    )
    capped = [d for d in days if d.max_kwh is not None]
    if capped:
        local, cols = _day_rows(capped, on)
        m.add_rows_coo(
            "water_quota_max",
            len(capped),
            (local, cols, slot_kwh),
            ub=np.array([d.max_kwh for d in capped], dtype=np.float64),
        )


def add_water_constraints(m: LinearModel, kin: KeplerInput) -> WaterVars | None:
    """Add the water heater; the equations are in the module docstring."""
    water = kin.water
    if water is None:
        return None
    n, h = kin.n_slots, kin.slot_h
    on = m.add_vars("water_on", n, ub=1.0, integer=True, cost=_tie_break(n))
    start = m.add_vars("water_start", n, ub=1.0, cost=water.block_start_penalty_sek)
    end = m.add_vars("water_end", n, ub=1.0)
    m.add_rows(
        "water_on_flow",
        [(on, 1.0), (lagged(on, 1), -1.0), (start, -1.0), (end, 1.0)],
        lb=0.0,
        ub=0.0,
    )
    m.add_rows("water_start_on", [(start, 1.0), (on, -1.0)], ub=0.0)
    spacing = min(max(1, water.spacing_slots), n)
    m.add_rows(
        "water_spacing", [(on, 1.0)] + [(lagged(end, k), 1.0) for k in range(spacing)], ub=1.0
    )
    _add_quota_rows(m, water, on, water.power_kw * h)
    if water.decision_group is not None:
        group = np.asarray(water.decision_group, dtype=np.int64)
        first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
        leader = first[np.searchsorted(first, np.arange(n), side="right") - 1]
        follow = np.flatnonzero(leader != np.arange(n))
        if len(follow):
            m.add_rows(
                "water_hourly_decision",
                [(on[follow], 1.0), (on[leader[follow]], -1.0)],
                lb=0.0,
                ub=0.0,
            )
    window = water.comfort_window_slots
    if window is not None and window <= n and water.comfort_gap_penalty_sek > 0:
        n_windows = n - window + 1
        gap = m.add_vars(
            "water_comfort_gap", n_windows, ub=1.0, cost=water.comfort_gap_penalty_sek * h
        )
        comfort = [(on[:n_windows], 1.0), (gap, 1.0)]
        comfort += [(start[j : j + n_windows], 1.0) for j in range(1, window)]
        m.add_rows("water_comfort", comfort, lb=1.0)
    return WaterVars(on=on, start=start, end=end)


def _tie_break(n: int) -> NDArray[np.float64]:
    """Symmetry breaking: heating slot ``t`` costs ``t x WATER_TIEBREAK_SEK`` extra."""
    return WATER_TIEBREAK_SEK * np.arange(n, dtype=np.float64)


def water_shortfalls_kwh(
    water: WaterSpec, water_kw: NDArray[np.float64], slot_h: float
) -> list[tuple[WaterDay, float]]:
    """Return (day, missing kWh) for every water day whose quota the plan does not meet."""
    out = []
    for day in water.days:
        heated = float(np.sum(water_kw[day.first_slot : day.end_slot]) * slot_h)
        if day.required_kwh - heated > 1e-6:
            out.append((day, day.required_kwh - heated))
    return out
