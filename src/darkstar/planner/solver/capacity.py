"""The capacity (power) tariff in Kepler: the month's billed peak as an exact LP.

Many grid operators bill ``fee x mean of the month's N highest hourly import peaks``
(optionally one per day; peaks outside chosen hours weighted by a night factor). A plan
raises the bill only if it sets a new counted peak, so each hour's mean import enters the
month's "top N" beside the peaks measured so far (``state.month_peaks_kw``).

The sum of the N largest of a set of values is convex, and minimising it is an LP
(Ogryczak and Tamir, "Minimizing the sum of the k largest functions in linear time", 2003)::

    top_N(v) = min_{tau >= 0, u >= 0} N tau + sum_j u_j   s.t.  u_j >= v_j - tau

With ``H_k = h sum_{t in k} i_t`` the mean import of clock hour k [kW] and ``w_k`` its
weight, for every value j (a day with ``distinct_days``, else an hour) of month group g::

    X_j >= w_k H_k                       for every hour k of value j   (peak_of_value)
    u_j >= X_j - tau_g,  u_e >= p_e - tau_g                            (peak_top_n)

Objective term: ``(fee / N) (N tau_g + sum_j u_j + sum_e u_e) - (fee / N) top_N(p)``: the
*increase* of the month's capacity charge the plan causes (0 when no new peak counts).
A horizon running into a new month starts that month's peaks from zero. Hours of a month
outside ``months`` carry no capacity cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from darkstar.planner.solver.model import LinearModel
    from darkstar.planner.solver.types import CapacityTariffSpec

__all__ = ["PeakVars", "add_capacity_tariff", "billed_peak_kw", "top_n_sum"]


def top_n_sum(values: NDArray[np.float64] | list[float], n: int) -> float:
    """Return the sum of the ``n`` largest values (missing ones count as 0).

    >>> top_n_sum([5.0, 1.0, 3.0, 4.0], 3), top_n_sum([2.0], 3)
    (12.0, 2.0)
    """
    ordered = sorted((float(v) for v in values), reverse=True)
    return float(sum(ordered[:n]))


@dataclass(frozen=True, kw_only=True)
class PeakVars:
    """Columns of each value's peak."""

    peak: NDArray[np.int64]


def add_capacity_tariff(
    m: LinearModel, spec: CapacityTariffSpec, *, grid_import: NDArray[np.int64], slot_h: float
) -> PeakVars | None:
    """Add the capacity tariff's peak rows and cost (module docstring); None when off."""
    if spec.fee_sek_per_kw <= 0 or not len(spec.value_month):
        return None
    n_values = len(spec.value_month)
    peak = m.add_vars("peak_value_kw", n_values)
    # X_j - w_k h sum_{t in k} i_t >= 0, one row per hour k with a value
    hours = np.flatnonzero(spec.hour_value >= 0)
    rows, cols, vals = [], [], []
    for r, k in enumerate(hours):
        slots = np.flatnonzero(spec.slot_hour == k)
        rows.extend([r] * (len(slots) + 1))
        cols.extend([int(peak[spec.hour_value[k]]), *grid_import[slots].tolist()])
        vals.extend([1.0, *([-spec.hour_weight[k] * slot_h] * len(slots))])
    m.add_rows_coo(
        "peak_of_value",
        len(hours),
        (np.array(rows, np.int64), np.array(cols, np.int64), np.array(vals)),
        lb=0.0,
    )
    per_kw = spec.fee_sek_per_kw / spec.peaks_counted
    for g, existing in enumerate(spec.existing_kw):
        tau = m.add_vars(f"peak_threshold_{g}", 1, cost=spec.fee_sek_per_kw)
        new = peak[spec.value_month == g]
        if len(new):
            u = m.add_vars(f"peak_excess_new_{g}", len(new), cost=per_kw)
            m.add_rows(
                f"peak_top_n_new_{g}",
                [(u, 1.0), (new, -1.0), (np.full(len(new), tau[0]), 1.0)],
                lb=0.0,
            )
        if existing:
            p = np.asarray(existing, dtype=np.float64)
            u_old = m.add_vars(f"peak_excess_old_{g}", len(p), cost=per_kw)
            m.add_rows(
                f"peak_top_n_old_{g}",
                [(u_old, 1.0), (np.full(len(p), tau[0]), 1.0)],
                lb=p,
            )
        m.offset -= per_kw * top_n_sum(list(existing), spec.peaks_counted)
    return PeakVars(peak=peak)


def billed_peak_kw(
    spec: CapacityTariffSpec, grid_import_kw: NDArray[np.float64], slot_h: float
) -> tuple[float, float]:
    """Return the month's billed peak before and with the plan [kW] (top-N means).

    The plan's peaks are recomputed from its imports exactly as the tariff defines them:
    each hour's mean import, weighted, one value per day with ``distinct_days``.
    """
    values = np.zeros(len(spec.value_month))
    for k in np.flatnonzero(spec.hour_value >= 0):
        slots = spec.slot_hour == k
        hourly = spec.hour_weight[k] * slot_h * float(np.sum(grid_import_kw[slots]))
        j = spec.hour_value[k]
        values[j] = max(values[j], hourly)
    existing = list(spec.existing_kw[0]) if spec.existing_kw else []
    first = values[spec.value_month == 0].tolist() if len(values) else []
    n = spec.peaks_counted
    return top_n_sum(existing, n) / n, top_n_sum(existing + first, n) / n
