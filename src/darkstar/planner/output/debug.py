"""``planner_debug.json``: what one plan was made from, how the solver did, and why.

:func:`planner_debug` returns a JSON-ready document (no NaN: a missing number is ``null``)
next to ``schedule.json``, shown on the web UI's Debug page. Its sections:

``inputs``
    The horizon (slots, first and last start, slot length), import and export prices
    (min, mean, max), PV and load forecast totals as given and as the solver got them, the
    state at the start (SoC, car, the month's peaks) and how many slots carry each optional
    field (quantiles, temperature).
``strategy``
    The strategy layer's values (``meta.s_index`` of ``schedule.json``: load factor, PV
    confidence, target SoC and its time) and the target-SoC row the solver got.
``solver``
    Status, termination, model size, solve time, proven gap, objective, fallback reason.
``binding``
    The constraints the solution sits on, each a list of slot indices and local slot starts
    with the bound there. They are read from the solver's own column values against the
    model's own bounds and rows: a value within ``BINDING_TOL_FRAC x max(1, |bound|)`` of a
    bound is at it. Power limits of 0 (a manual hold, export switched off, the car away) are
    not listed: every slot would sit on them.
``marginal_value_sek_per_kwh``
    Per slot, the marginal value of stored energy (below).

Marginal value of stored energy
-------------------------------
With every integer column (exclusivity, water heater on/off, charger on/off) fixed at the
plan's value, the model is an LP, re-solved once with HiGHS. Its ``soc_balance`` row of
slot t is::

    E_t - E_{t-1} - h eta_c c_t + h d_t / eta_d = b_t        (b_0 = E_0, else 0)

and its dual ``y_t`` is the change of the optimal cost [SEK] per unit of ``b_t``: one kWh
more in the battery at the end of slot t, for free. The document gives
``marginal_value_sek_per_kwh[t] = -y_t``, the cost the plan saves per extra kWh stored at
the end of slot t [SEK/kWh]. Positive: stored energy is worth money (it displaces a later
import, or an earlier purchase); zero: one more kWh would go unused; negative: holding it
costs (e.g. the battery would have to dump it at a negative price).

Example: two one-hour slots at import prices 1 and 2 SEK/kWh, no wear, 2 kWh load in the
second, a lossless battery that can charge 1 kW. It charges 1 kWh in the first slot; one more
stored kWh would replace 1 kWh of import at 2 SEK in the second: the value is 2 SEK/kWh in
both slots (x ``eta_d`` with discharge losses). Were the charger not at its limit, the value
would be the first slot's price over ``eta_c``: the purchase the extra kWh saves.

Without a Kepler solution (a fallback plan: no model, no rows) ``binding`` and the marginal
values are ``null`` and a reason says why; without a battery only the marginal values are.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar.physics.timegrid import to_local_iso

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.solver.model import LinearModel, SolvedModel
    from darkstar.planner.solver.types import KeplerInput, KeplerResult

__all__ = ["BINDING_TOL_FRAC", "DEBUG_SCHEMA_VERSION", "planner_debug"]

logger = logging.getLogger(__name__)

DEBUG_SCHEMA_VERSION = 1

#: A value within this fraction of ``max(1, |bound|)`` of a bound is at it: ten times
#: HiGHS's primal feasibility tolerance (1e-7), so solver noise never hides a binding row.
BINDING_TOL_FRAC = 1e-6

_DIGITS = 6

_OPTIONAL_FIELDS = ("pv_p10_kwh", "pv_p90_kwh", "load_p10_kwh", "load_p90_kwh", "temperature_c")

_MARGINAL_VALUE_DEFINITION = (
    "SEK saved per extra kWh stored at the end of the slot: minus the dual of the slot's "
    "soc_balance row in the LP with the integer decisions fixed at the plan"
)


def _num(value: float | np.floating[Any] | None) -> float | None:
    """Return a finite number rounded for JSON (``-0.0`` as ``0.0``), else None."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), _DIGITS) + 0.0


def _stats(values: NDArray[np.float64]) -> dict[str, float | None]:
    """Min, mean and max of ``values`` (None for an empty array)."""
    if not len(values):
        return {"min": None, "mean": None, "max": None}
    return {
        "min": _num(np.min(values)),
        "mean": _num(np.mean(values)),
        "max": _num(np.max(values)),
    }


def _inputs(pin: PlannerInput, kin: KeplerInput) -> dict[str, Any]:
    """Return the ``inputs`` section."""
    tz, state, bat, ev = pin.timezone, pin.state, kin.battery, pin.state.ev
    return {
        "n_slots": pin.n_slots,
        "first_slot_start": to_local_iso(pin.start, tz),
        "last_slot_start": to_local_iso(pin.slots[-1].start, tz),
        "horizon_end": to_local_iso(pin.end, tz),
        "slot_minutes": round(pin.slot_duration.total_seconds() / 60),
        "timezone": tz.key,
        "import_price_sek_per_kwh": _stats(kin.import_price_sek_per_kwh),
        "export_price_sek_per_kwh": _stats(kin.export_price_sek_per_kwh),
        "pv_forecast_kwh": _num(np.sum(pin.column("pv_forecast_kwh"))),
        "load_forecast_kwh": _num(np.sum(pin.column("load_forecast_kwh"))),
        "adjusted_pv_kwh": _num(np.sum(kin.pv_kwh)),
        "adjusted_load_kwh": _num(np.sum(kin.load_kwh)),
        "initial_soc_percent": _num(state.soc_percent),
        "water_heated_today_kwh": _num(state.water_heated_today_kwh),
        "battery": None
        if bat is None
        else {
            "capacity_kwh": _num(bat.capacity_kwh),
            "min_soc_kwh": _num(bat.min_soc_kwh),
            "max_soc_kwh": _num(bat.max_soc_kwh),
            "initial_soc_kwh": _num(bat.initial_soc_kwh),
            "max_charge_kw": _num(bat.max_charge_kw),
            "max_discharge_kw": _num(bat.max_discharge_kw),
        },
        "grid": {
            "max_power_kw": _num(kin.grid.max_power_kw),
            "import_cap_kw": _num(kin.grid.import_cap_kw),
            "export_enabled": kin.grid.export_enabled,
        },
        "water_heater": kin.water is not None,
        "ev": None
        if ev is None
        else {
            "soc_percent": _num(ev.soc_percent),
            "plugged_in": ev.plugged_in,
            "departure": None if ev.departure is None else to_local_iso(ev.departure, tz),
            "target_soc_percent": _num(ev.target_soc_percent),
        },
        "month_peaks_kw": [_num(p) for p in state.month_peaks_kw] or None,
        "optional_fields": {
            name: sum(getattr(s, name) is not None for s in pin.slots) for name in _OPTIONAL_FIELDS
        },
    }


def _strategy(kin: KeplerInput, meta: dict[str, Any]) -> dict[str, Any]:
    """Return the ``strategy`` section: ``meta.s_index`` plus what reached the solver."""
    target, opts = kin.soc_target, kin.options
    manual = 0 if kin.manual is None else int(np.sum(kin.manual.manual_slots))
    return {
        **dict(meta.get("s_index") or {}),
        "plan_mode": meta.get("mode"),
        "target_soc_slot": None if target is None else target.slot,
        "target_soc_kwh": None if target is None else _num(target.soc_kwh),
        "target_soc_penalty_sek_per_kwh": None
        if target is None
        else _num(target.penalty_sek_per_kwh),
        "terminal_value_sek_per_kwh": _num(opts.terminal_value_sek_per_kwh),
        "export_threshold_sek_per_kwh": _num(opts.export_threshold_sek_per_kwh),
        "manual_slots": manual,
    }


def _solver(kin: KeplerInput, result: KeplerResult) -> dict[str, Any]:
    """Return the ``solver`` section."""
    rep = result.report
    return {
        "name": rep.solver,
        "status": str(result.status),
        "termination": rep.termination,
        "variables": rep.n_variables,
        "constraints": rep.n_constraints,
        "binaries": rep.n_binaries,
        "solves": rep.n_solves,
        "solve_time_ms": _num(rep.solve_time_ms),
        "mip_gap": _num(rep.mip_gap),
        "mip_gap_limit": _num(kin.options.mip_gap),
        "time_limit_s": _num(kin.options.time_limit_s),
        "objective_sek": _num(result.objective_sek),
        "fallback_reason": result.fallback_reason,
        "warnings": list(result.warnings),
    }


def _tol(bound: NDArray[np.float64]) -> NDArray[np.float64]:
    return BINDING_TOL_FRAC * np.maximum(1.0, np.abs(bound))


def _at_upper(value: NDArray[np.float64], bound: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where ``value`` sits on the finite, positive upper ``bound``."""
    finite = np.where(np.isfinite(bound), bound, 0.0)
    return np.asarray((finite > 0) & (value >= finite - _tol(finite)), dtype=np.bool_)


def _at_lower(value: NDArray[np.float64], bound: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Where ``value`` sits on (or, within tolerance, below) the lower ``bound``."""
    return np.asarray(value <= bound + _tol(bound), dtype=np.bool_)


class _Binding:
    """Collects binding entries of one solution, slot-indexed."""

    def __init__(self, pin: PlannerInput, solved: SolvedModel) -> None:
        self.m: LinearModel = solved.model
        self.x = solved.x
        self.starts = [to_local_iso(s.start, pin.timezone) for s in pin.slots]
        self.entries: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        description: str,
        mask: ArrayLike,
        bound: ArrayLike,
        *,
        unit: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        idx = np.flatnonzero(np.asarray(mask))
        bounds = np.broadcast_to(np.asarray(bound, dtype=np.float64), np.shape(mask))
        entry: dict[str, Any] = {
            "name": name,
            "description": description,
            "unit": unit,
            "slots": idx.tolist(),
            "starts": [self.starts[i] for i in idx],
            "bound": [_num(bounds[i]) for i in idx],
        }
        if detail is not None:
            entry["detail"] = detail
        self.entries.append(entry)

    def column_at_max(self, name: str, description: str, *, unit: str) -> None:
        """Slots where the column block ``name`` sits on a positive upper bound."""
        cols = self.m.cols(name)
        _, ub = self.m.col_bounds(cols)
        self.add(
            name.removesuffix("_kw") + "_max",
            description,
            _at_upper(self.x[cols], ub),
            ub,
            unit=unit,
        )

    def row_values(self, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Activity and lower bound of the row block ``name``."""
        rows = self.m.rows(name)
        return self.m.row_activity(self.x, rows), self.m.row_bounds(rows)[0]


def _battery_binding(b: _Binding, kin: KeplerInput) -> None:
    bat = kin.battery
    if bat is None:
        return
    activity, floor = b.row_values("soc_floor")  # E_t + s^low_t >= E_min
    b.add(
        "soc_floor",
        "SoC at its floor (min SoC), row soc_floor",
        _at_lower(activity, floor),
        floor,
        unit="kWh",
    )
    soc = b.x[b.m.cols("soc_kwh")]
    excess = b.m.cols("soc_ceiling_excess_kwh")  # only with a start above the ceiling
    held = soc - b.x[excess] if len(excess) else soc
    ceiling = np.full(kin.n_slots, bat.max_soc_kwh)
    b.add(
        "soc_ceiling", "SoC at its ceiling (max SoC)", _at_upper(held, ceiling), ceiling, unit="kWh"
    )
    b.column_at_max(
        "battery_charge_kw", "charge at its power limit (manual caps included)", unit="kW"
    )
    b.column_at_max(
        "battery_discharge_kw", "discharge at its power limit (manual caps included)", unit="kW"
    )
    target = kin.soc_target
    if target is not None:
        activity, lb = b.row_values("soc_target")  # E_{t*} + z >= E*
        mask = np.zeros(kin.n_slots, dtype=np.bool_)
        mask[target.slot] = bool(_at_lower(activity, lb)[0])
        b.add(
            "soc_target", "target SoC row soc_target at its slot", mask, target.soc_kwh, unit="kWh"
        )


def _ev_binding(b: _Binding, pin: PlannerInput, kin: KeplerInput) -> None:
    ev = kin.ev
    if ev is None:
        return
    b.column_at_max("ev_charge_kw", "car charging at the charger's limit", unit="kW")
    mask = np.zeros(kin.n_slots, dtype=np.bool_)
    detail: dict[str, Any] = {"target_slot": ev.target_slot, "row": False}
    if ev.target_slot is not None:
        t = ev.target_slot
        soc = float(b.x[b.m.cols("ev_soc_kwh")[t]])
        short = b.m.cols("ev_shortfall_kwh")  # without it the gap is a given (no row)
        detail |= {
            "deadline": to_local_iso(pin.slots[t].start + pin.slot_duration, pin.timezone),
            "target_kwh": _num(ev.target_kwh),
            "soc_at_deadline_kwh": _num(soc),
            "shortfall_kwh": _num(b.x[short[0]] if len(short) else max(0.0, ev.target_kwh - soc)),
        }
        if len(b.m.rows("ev_target")):  # S_{t*} + z >= S*: only when charging can help
            activity, lb = b.row_values("ev_target")
            detail["row"] = True
            mask[t] = bool(_at_lower(activity, lb)[0])
    b.add(
        "ev_target",
        "car target row ev_target at its departure deadline",
        mask,
        ev.target_kwh,
        unit="kWh",
        detail=detail,
    )


def _capacity_binding(b: _Binding, kin: KeplerInput) -> None:
    spec = kin.capacity_tariff
    if spec is None or not len(b.m.rows("peak_of_value")):
        return
    hours = np.flatnonzero(spec.hour_value >= 0)  # row r of peak_of_value is hour hours[r]
    activity, lb = b.row_values("peak_of_value")  # X_j - w_k h sum_{t in k} i_t >= 0
    counted = np.zeros(len(spec.value_month), dtype=np.bool_)
    for g in range(len(spec.existing_kw)):
        if len(b.m.rows(f"peak_top_n_new_{g}")):  # u_j - X_j + tau_g >= 0
            top, top_lb = b.row_values(f"peak_top_n_new_{g}")
            counted[spec.value_month == g] = _at_lower(top, top_lb)
    peaks = b.x[b.m.cols("peak_value_kw")]
    mask = np.zeros(kin.n_slots, dtype=np.bool_)
    bound = np.zeros(kin.n_slots)
    rows = []
    for r, k in enumerate(hours):
        j = int(spec.hour_value[k])
        if not (_at_lower(activity[r : r + 1], lb[r : r + 1])[0] and counted[j]):
            continue
        slots = np.flatnonzero(spec.slot_hour == k)
        mask[slots], bound[slots] = True, peaks[j]
        rows.append(
            {"hour_start": b.starts[slots[0]], "slots": slots.tolist(), "peak_kw": _num(peaks[j])}
        )
    description = "hours whose weighted mean import sets a counted month peak (peak_of_value)"
    b.add("capacity_peak", description, mask, bound, unit="kW", detail={"hours": rows})


def _binding(pin: PlannerInput, kin: KeplerInput, solved: SolvedModel) -> list[dict[str, Any]]:
    """Return the ``binding.constraints`` list of a Kepler solution."""
    b = _Binding(pin, solved)
    _battery_binding(b, kin)
    b.column_at_max("grid_import_kw", "import at its cap (fuse or import limit)", unit="kW")
    b.column_at_max("grid_export_kw", "export at its cap (fuse)", unit="kW")
    _ev_binding(b, pin, kin)
    _capacity_binding(b, kin)
    return b.entries


def _marginal_values(
    kin: KeplerInput, result: KeplerResult
) -> tuple[list[float | None] | None, dict[str, Any]]:
    """Per-slot marginal value of stored energy and how it was found (module docstring)."""
    info: dict[str, Any] = {
        "definition": _MARGINAL_VALUE_DEFINITION,
        "reason": None,
        "lp_termination": None,
        "lp_solve_time_ms": None,
        "lp_objective_sek": None,
    }
    solved = result.solved
    if solved is None:
        info["reason"] = f"no Kepler solution ({result.status}: {result.fallback_reason})"
        return None, info
    if kin.battery is None:
        info["reason"] = "no battery: there is no stored energy to value"
        return None, info
    duals = solved.model.solve_lp_fixed(solved.x, time_limit_s=kin.options.time_limit_s)
    info |= {
        "lp_termination": duals.termination,
        "lp_solve_time_ms": _num(duals.solve_time_ms),
        "lp_objective_sek": _num(duals.objective),
    }
    if duals.row_dual is None:
        info["reason"] = f"the LP with fixed integers has no dual solution ({duals.termination})"
        return None, info
    rows = solved.model.rows("soc_balance")
    return [_num(-y) for y in duals.row_dual[rows]], info


def planner_debug(
    pin: PlannerInput, kin: KeplerInput, result: KeplerResult, *, document: dict[str, Any]
) -> dict[str, Any]:
    """Return the ``planner_debug.json`` document of one plan (module docstring).

    Costs one extra LP solve (the marginal values) when the plan came from Kepler and the
    house has a battery.

    Parameters
    ----------
    pin : PlannerInput
        The planner input the plan was made from.
    kin : KeplerInput
        The solver input (adjusted forecasts, specs, target SoC).
    result : KeplerResult
        The plan as solved; its ``solved`` model gives the binding rows and the duals.
    document : dict
        The plan's ``schedule.json`` document (``meta``: planned at, mode, strategy).

    Returns
    -------
    dict
        JSON-ready (no NaN): ``inputs``, ``strategy``, ``solver``, ``binding``,
        ``marginal_value_sek_per_kwh`` (per slot or None) and ``marginal_value`` (how).
    """
    meta = document["meta"]
    solved = result.solved
    values, info = _marginal_values(kin, result)
    binding_reason = None if solved is not None else info["reason"]
    if values is not None:
        logger.debug("planner debug: fixed LP in %.1f ms", info["lp_solve_time_ms"])
    return {
        "schema_version": DEBUG_SCHEMA_VERSION,
        "planned_at": meta["planned_at"],
        "status": str(result.status),
        "slot_starts": [to_local_iso(s.start, pin.timezone) for s in pin.slots],
        "inputs": _inputs(pin, kin),
        "strategy": _strategy(kin, meta),
        "solver": _solver(kin, result),
        "binding": {
            "tolerance_frac": BINDING_TOL_FRAC,
            "reason": binding_reason,
            "constraints": None if solved is None else _binding(pin, kin, solved),
        },
        "marginal_value_sek_per_kwh": values,
        "marginal_value": info,
    }
