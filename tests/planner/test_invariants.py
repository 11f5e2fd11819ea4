"""Property tests of Kepler's plans (STYLE §J.35, DESIGN §3.2 invariants).

Hypothesis draws small random horizons (1-24 slots of 15, 30 or 60 minutes, across DST
changes), prices, forecasts, battery, grid and water-heater settings, plans them with
``plan_request(..., mode="baseline")`` and checks every per-slot invariant of the
``schedule.json`` document against the solver input, plus "never worse than doing nothing".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkstar.baseline import do_nothing_plan, plan_cost_sek, plan_heuristic
from darkstar.examples import build_request
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver import kepler
from darkstar.planner.solver.fallback import fallback_result
from darkstar.planner.solver.types import KeplerInput, PlanArrays

KWH_TOL = 1e-5
KW_TOL = 1e-6
#: Slack on hard limits [kW]: the grid exchange absorbs the solver's ~1e-7 balance residual
#: and the document rounds to 1e-6, so a binding cap can read 1e-6 over.
LIMIT_TOL = 1e-5

STARTS = (
    "2026-03-10T00:00:00+01:00",
    "2026-03-29T00:00:00+01:00",  # spring DST change at 02:00
    "2026-10-25T00:00:00+02:00",  # autumn DST change at 03:00
    "2026-06-01T13:00:00+02:00",
)


def _grid(lo: float, hi: float, step: float) -> st.SearchStrategy[float]:
    """Floats in ``[lo, hi]`` on a ``step`` grid: readable counterexamples, no 5e-324."""
    return st.integers(round(lo / step), round(hi / step)).map(lambda k: round(k * step, 6))


@dataclass(frozen=True)
class Case:
    request: dict[str, Any]
    water: bool
    econ_knobs: bool


@st.composite
def cases(draw: st.DrawFn, *, fair: bool = False) -> Case:
    """A random plan request; ``fair``: one where doing nothing pays no penalty at all.

    Fair cases have no water heater, no economic knobs, a start within [min, max] SoC and
    loads the grid alone can carry.
    """
    n = draw(st.integers(1, 24))
    slot_minutes = draw(st.sampled_from([15, 30, 60]))
    imp = draw(st.lists(_grid(-1.0, 5.0, 0.01), min_size=n, max_size=n))
    if draw(st.integers(0, 4)) == 0:  # now and then export is independent of import
        exp = draw(st.lists(_grid(-1.0, 5.0, 0.01), min_size=n, max_size=n))
    else:
        spread = draw(st.lists(_grid(0.0, 1.5, 0.01), min_size=n, max_size=n))
        exp = [round(max(-1.0, p - s), 6) for p, s in zip(imp, spread, strict=True)]
    fuse = draw(_grid(3.0, 20.0, 0.1))
    import_limit = draw(st.none() | _grid(1.0, 20.0, 0.1))
    max_load = 3.0
    if fair:
        max_load = min(max_load, min(fuse, import_limit or fuse) * slot_minutes / 60.0)
    pv = draw(st.lists(_grid(0.0, 3.0, 0.001), min_size=n, max_size=n))
    load = draw(st.lists(_grid(0.0, max_load, 0.001), min_size=n, max_size=n))
    min_soc = draw(_grid(0.0, 80.0, 0.5))
    max_soc = draw(_grid(min_soc + 5.0, 100.0, 0.5))
    soc = draw(_grid(min_soc, max_soc, 0.1) if fair else _grid(0.0, 100.0, 0.1))
    battery = {
        "capacity_kwh": draw(_grid(1.0, 20.0, 0.1)),
        "min_soc_percent": min_soc,
        "max_soc_percent": max_soc,
        "max_charge_kw": draw(_grid(0.5, 10.0, 0.1)),
        "max_discharge_kw": draw(_grid(0.5, 10.0, 0.1)),
        "charge_efficiency": draw(_grid(0.7, 1.0, 0.01)),
        "discharge_efficiency": draw(_grid(0.7, 1.0, 0.01)),
    }
    has_water = not fair and draw(st.booleans())
    econ_knobs = not fair and draw(st.integers(0, 3)) == 0
    knobs: dict[str, Any] = {"time_limit_s": 10.0}
    if econ_knobs:
        knobs |= {
            "ramping_cost_sek_per_kw": draw(_grid(0.0, 0.5, 0.01)),
            "export_threshold_sek_per_kwh": draw(_grid(0.0, 0.5, 0.01)),
            "terminal_value_sek_per_kwh": draw(_grid(0.0, 2.0, 0.01)),
        }
    config: dict[str, Any] = {
        "system": {"has_battery": draw(st.integers(0, 9)) > 0, "has_water_heater": has_water},
        "battery": battery,
        "battery_economics": {"battery_cycle_cost_kwh": draw(_grid(0.0, 0.5, 0.01))},
        "grid": {"max_power_kw": fuse, "import_limit_kw": import_limit},
        "export": {"enable_export": draw(st.booleans())},
        "kepler": knobs,
    }
    if has_water:
        config["water_heating"] = {
            "power_kw": draw(_grid(1.0, 3.0, 0.5)),
            "min_kwh_per_day": draw(_grid(0.0, 4.0, 0.5)),
            "defer_up_to_hours": draw(_grid(0.0, 3.0, 1.0)),
            "block_start_penalty_sek": draw(_grid(0.0, 1.0, 0.1)),
            "max_hours_between_heating": draw(st.none() | _grid(1.0, 8.0, 1.0)),
            "comfort_level": draw(st.integers(1, 5)),
            "min_spacing_hours": draw(_grid(0.0, 2.0, 0.5)),
            "enable_top_ups": draw(st.booleans()),
            "decision_minutes": draw(st.sampled_from([None, 15, 30, 60])),
            "vacation_mode": {"enabled": draw(st.integers(0, 9)) == 0},
        }
    request = build_request(
        import_prices=imp,
        export_prices=exp,
        pv_kwh=pv,
        load_kwh=load,
        start=draw(st.sampled_from(STARTS)),
        slot_minutes=slot_minutes,
        soc_percent=soc,
        water_heated_today_kwh=draw(_grid(0.0, 3.0, 0.5)),
        config=config,
    )
    return Case(request=request, water=has_water, econ_knobs=econ_knobs)


def _cols(out: PlanOutcome) -> dict[str, np.ndarray[Any, np.dtype[np.float64]]]:
    rows = out.document["schedule"]
    numeric = [k for k, v in rows[0].items() if isinstance(v, int | float)]
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in numeric}


def _deficit_above_grid_cap(kin: KeplerInput) -> bool:
    """True if some slot's net load cannot be carried by the grid alone."""
    return bool(np.any((kin.load_kwh - kin.pv_kwh) / kin.slot_h > kin.grid.import_cap_kw + 1e-9))


def _violation_forced(kin: KeplerInput) -> bool:
    """True if physics may force shedding or a SoC-window breach (the caps are active)."""
    bat = kin.battery
    outside = bat is not None and not (bat.min_soc_kwh <= bat.initial_soc_kwh <= bat.max_soc_kwh)
    return outside or bool(np.any(kin.load_kwh / kin.slot_h > kin.grid.import_cap_kw))


def _do_nothing_cost_sek(kin: KeplerInput) -> tuple[float, float]:
    """Energy cost of an idle battery (no water heater) and the PV it curtails [SEK, kWh]."""
    h = kin.slot_h
    net_kwh = kin.load_kwh - kin.pv_kwh
    imp_kw = np.minimum(np.maximum(net_kwh, 0.0) / h, kin.grid.import_cap_kw)
    export_cap = kin.grid.max_power_kw if kin.grid.export_enabled else 0.0
    exp_kw = np.minimum(np.maximum(-net_kwh, 0.0) / h, export_cap)
    curtailed_kwh = float(np.sum(np.maximum(-net_kwh, 0.0) - h * exp_kw))
    cost = h * float(
        np.sum(imp_kw * kin.import_price_sek_per_kwh - exp_kw * kin.export_price_sek_per_kwh)
    )
    return cost, curtailed_kwh


def _check_invariants(case: Case, out: PlanOutcome) -> None:
    """Every per-slot invariant of DESIGN §3.2, and a few economic no-brainers."""
    doc, kin = out.document, out.kepler_input
    if doc["meta"]["status"] == "fallback":
        # Known bug (xfail test_plan_request_violation_caps_stay_feasible): the caps that
        # hold forced violations at their minimum can make the MILP infeasible.
        assert _violation_forced(kin), doc["meta"]
        assert doc["meta"]["fallback_reason"]
    else:
        assert doc["meta"]["status"] in {"optimal", "feasible"}, doc["meta"]
    assert len(doc["schedule"]) == kin.n_slots
    c = _cols(out)
    # Baseline mode: the solver sees the forecasts as given.
    pv = np.array([s["pv_forecast_kwh"] for s in case.request["slots"]])
    load = np.array([s["load_forecast_kwh"] for s in case.request["slots"]])
    np.testing.assert_allclose(kin.pv_kwh, pv, atol=1e-12)
    np.testing.assert_allclose(kin.load_kwh, load, atol=1e-12)
    np.testing.assert_allclose(c["adjusted_pv_kwh"], pv, atol=1e-9)
    np.testing.assert_allclose(c["adjusted_load_kwh"], load, atol=1e-9)
    _check_flows(kin, c)
    _check_economics(kin, c)
    _check_battery(out, c)
    if kin.water is None:
        assert np.all(c["water_heating_kw"] == 0.0)
        assert doc["meta"]["warnings"] == []
    else:
        _check_water(out, c["water_heating_kw"])
    # Reported costs add up.
    assert doc["meta"]["energy_cost_sek"] == pytest.approx(
        float(np.sum(c["planned_cost_sek"])), abs=1e-5 * kin.n_slots
    )


def _check_flows(kin: KeplerInput, c: dict[str, np.ndarray[Any, np.dtype[np.float64]]]) -> None:
    """Flows are non-negative, within limits, exclusive, and balance every slot."""
    h = kin.slot_h
    ch, dis = c["battery_charge_kw"], c["battery_discharge_kw"]
    imp, exp = c["grid_import_kw"], c["grid_export_kw"]
    curt, shed, water = c["pv_curtailment_kw"], c["load_shedding_kw"], c["water_heating_kw"]
    for name, values in c.items():
        if name.endswith("_kw"):
            assert np.all(values >= 0.0), name
    assert np.all(imp <= kin.grid.import_cap_kw + LIMIT_TOL)
    assert np.all(exp <= (kin.grid.max_power_kw if kin.grid.export_enabled else 0.0) + LIMIT_TOL)
    assert np.all(curt <= kin.pv_kwh / h + LIMIT_TOL)
    assert np.all(shed <= kin.load_kwh / h + LIMIT_TOL)
    assert not np.any((ch > KW_TOL) & (dis > KW_TOL)), "charges and discharges at once"
    assert not np.any((imp > KW_TOL) & (exp > KW_TOL)), "imports and exports at once"
    bat = kin.battery
    if bat is None:
        assert np.all(ch == 0.0)
        assert np.all(dis == 0.0)
    else:
        assert np.all(ch <= bat.max_charge_kw + LIMIT_TOL)
        assert np.all(dis <= bat.max_discharge_kw + LIMIT_TOL)

    # Energy balance per slot [kWh].
    supply = kin.pv_kwh + h * (dis + imp + shed - curt)
    demand = kin.load_kwh + h * (ch + exp + water + c["ev_charging_kw"])
    np.testing.assert_allclose(supply, demand, atol=KWH_TOL, rtol=0)

    # Load is shed only when the grid alone cannot carry it: never to refill a battery
    # below its floor, never to make room for water heating.
    if not _deficit_above_grid_cap(kin):
        assert np.all(shed <= LIMIT_TOL), shed


def _check_economics(kin: KeplerInput, c: dict[str, np.ndarray[Any, np.dtype[np.float64]]]) -> None:
    """Never pay to export, never buy energy that is then thrown away."""
    imp, exp, curt = c["grid_import_kw"], c["grid_export_kw"], c["pv_curtailment_kw"]
    bat, knobs = kin.battery, kin.options
    # Paying to export can pay off to make room for a later import at a negative price,
    # to drain a start above max SoC, or to smooth a priced ramp.
    above_max = bat is not None and bat.initial_soc_kwh > bat.max_soc_kwh
    never_paid = bool(np.all(kin.import_price_sek_per_kwh >= 0))
    if knobs.ramping_cost_sek_per_kw == 0 and not above_max and never_paid:
        paid = kin.export_price_sek_per_kwh - knobs.export_threshold_sek_per_kwh < 0
        assert not np.any(paid & (exp > LIMIT_TOL)), "exports at a negative price"
    wasted = (kin.import_price_sek_per_kwh > 0) & (imp > LIMIT_TOL) & (curt > LIMIT_TOL)
    assert not np.any(wasted), "imports at a positive price while curtailing PV"


def _check_battery(out: PlanOutcome, c: dict[str, np.ndarray[Any, np.dtype[np.float64]]]) -> None:
    """SoC follows the efficiencies from the state SoC and stays within its bounds."""
    kin, meta = out.kepler_input, out.document["meta"]
    bat, h = kin.battery, kin.slot_h
    ch, dis, soc = c["battery_charge_kw"], c["battery_discharge_kw"], c["projected_soc_kwh"]
    if bat is None:
        assert meta["wear_cost_sek"] == 0.0
        return
    before = np.r_[bat.initial_soc_kwh, soc[:-1]]
    step = h * (bat.charge_efficiency * ch - dis / bat.discharge_efficiency)
    np.testing.assert_allclose(soc, before + step, atol=KWH_TOL, rtol=0)
    assert np.all(soc >= -KWH_TOL)
    assert np.all(soc <= max(bat.max_soc_kwh, bat.initial_soc_kwh) + KWH_TOL)
    # The floor is soft only where physics forces it: never for water heating.
    if bat.initial_soc_kwh >= bat.min_soc_kwh and not _deficit_above_grid_cap(kin):
        assert np.all(soc >= bat.min_soc_kwh - KWH_TOL), (soc, bat.min_soc_kwh)
    np.testing.assert_allclose(
        c["projected_soc_percent"] * bat.capacity_kwh / 100.0, soc, atol=KWH_TOL, rtol=0
    )
    wear = h * bat.cycle_cost_sek_per_kwh * float(np.sum(ch + dis))
    assert meta["wear_cost_sek"] == pytest.approx(wear, abs=1e-5)


def _check_water(out: PlanOutcome, water: np.ndarray[Any, np.dtype[np.float64]]) -> None:
    spec, h = out.kepler_input.water, out.kepler_input.slot_h
    assert spec is not None
    on = np.isclose(water, spec.power_kw, atol=KW_TOL)
    assert np.all(on | (water == 0.0)), water
    if spec.decision_group is not None:
        group = np.asarray(spec.decision_group)
        for g in np.unique(group):
            assert len(set(on[group == g].tolist())) == 1, ("group split", g, on)
    # Off-runs between two heating blocks last at least the spacing.
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    starts = [int(e) + 1 for e in edges if not on[e]]
    ends = [int(e) + 1 for e in edges if on[e]]  # first off slot after a block
    for end in ends:
        later = [s for s in starts if s > end]
        if later:
            assert later[0] - end >= spec.spacing_slots, (on, spec.spacing_slots)
    short = 0
    for day in spec.days:
        heated = float(np.sum(water[day.first_slot : day.end_slot])) * h
        if day.max_kwh is not None:
            assert heated <= day.max_kwh + KWH_TOL, (day, heated)
        short += day.required_kwh - heated > 1e-6
    warnings = out.document["meta"]["warnings"]
    if out.document["meta"]["status"] != "fallback":
        # Known bug (xfail test_fallback_result_reports_water_shortfall): a fallback plan
        # never reports its water shortfall.
        assert sum("water_heating" in w for w in warnings) == short, warnings


def _check_beats_do_nothing(case: Case, out: PlanOutcome) -> bool:
    """Plan energy cost + wear <= do-nothing cost, where that comparison is fair.

    Fair: no water heater (do-nothing would have to place it too), no terminal value,
    ramping or export threshold (they change the objective, not the energy cost), a start
    within [min, max] SoC and a grid that carries every slot's net load (else do-nothing
    pays soft-constraint penalties that Kepler may spend energy to avoid).
    """
    kin, meta = out.kepler_input, out.document["meta"]
    bat = kin.battery
    if case.water or case.econ_knobs or _deficit_above_grid_cap(kin):
        return False
    if bat is not None and not bat.min_soc_kwh <= bat.initial_soc_kwh <= bat.max_soc_kwh:
        return False
    reference, curtailed_kwh = _do_nothing_cost_sek(kin)
    assert reference == pytest.approx(plan_cost_sek(kin, do_nothing_plan(kin)), abs=1e-9)
    planned = meta["energy_cost_sek"] + meta["wear_cost_sek"]
    objective = meta["objective_sek"]
    gap = meta["mip_gap"] or 0.0
    binaries = meta["solver"]["binaries"]
    # Gap: HiGHS stops at the relative gap or an absolute gap of 1e-4; a curtailment
    # tie-break (if the model has one, 1e-4 SEK/kWh) may make the reference's objective
    # exceed its energy cost. Rounding of the reported costs to 1e-6.
    tol = 1e-5 + gap * max(1.0, abs(objective)) + (1e-4 if binaries else 0.0)
    tol += 1e-4 * curtailed_kwh
    assert planned <= reference + tol, (planned, reference, tol)
    return True


def _model_objective_sek(kin: KeplerInput, plan: PlanArrays) -> float:
    """Kepler's objective (DESIGN §4, no water heater) evaluated for any valid plan."""
    h, opts = kin.slot_h, kin.options
    bat = kin.battery
    penalty = kepler.hard_penalty_sek_per_kwh(kin)
    energy = h * float(
        np.sum(plan.grid_import_kw * kin.import_price_sek_per_kwh)
        - np.sum(
            plan.grid_export_kw * (kin.export_price_sek_per_kwh - opts.export_threshold_sek_per_kwh)
        )
    )
    total = energy + 2.0 * penalty * h * float(np.sum(plan.load_shedding_kw))
    if bat is None:
        return total
    tiebreak = vars(kepler).get("THROUGHPUT_TIEBREAK_SEK_PER_KWH", 0.0)
    throughput = h * float(np.sum(plan.battery_charge_kw + plan.battery_discharge_kw))
    power = plan.battery_discharge_kw - plan.battery_charge_kw
    soc = plan.soc_kwh
    total += (bat.cycle_cost_sek_per_kwh + tiebreak) * throughput
    total += opts.ramping_cost_sek_per_kw * float(np.sum(np.abs(np.diff(power))))
    total -= opts.terminal_value_sek_per_kwh * float(soc[-1])
    total += penalty * float(np.sum(np.maximum(bat.min_soc_kwh - soc, 0.0)))
    if bat.initial_soc_kwh > bat.max_soc_kwh:
        total += penalty * float(np.sum(np.maximum(soc - bat.max_soc_kwh, 0.0)))
    return total


def _violations(kin: KeplerInput, plan: PlanArrays) -> tuple[float, float]:
    """Shed energy [kWh] and SoC-window breach [kWh x slots] of a plan."""
    shed = kin.slot_h * float(np.sum(plan.load_shedding_kw))
    bat = kin.battery
    if bat is None:
        return shed, 0.0
    low = np.maximum(bat.min_soc_kwh - plan.soc_kwh, 0.0)
    high = np.maximum(plan.soc_kwh - max(bat.max_soc_kwh, 0.0), 0.0)
    return shed, float(np.sum(low) + (np.sum(high) if bat.initial_soc_kwh > bat.max_soc_kwh else 0))


def _check_beats_heuristic(case: Case, out: PlanOutcome) -> None:
    """Kepler is no worse than the rule-based and idle plans, scored the same way.

    Kepler ranks plans lexicographically: least load shedding, then least SoC-window
    breach, then objective; a reference plan that violates more is beaten already.
    """
    if case.water or out.document["meta"]["status"] == "fallback":
        return
    kin, meta = out.kepler_input, out.document["meta"]
    objective = meta["objective_sek"]
    # The plan's SoC is recomputed from its flows (exact physics); the solver met its SoC
    # rows only to ~1e-7 each, which the 10-60 SEK/kWh per-slot penalties magnify.
    recomputed = _model_objective_sek(kin, out.result.plan)
    assert objective == pytest.approx(recomputed, abs=1e-3, rel=1e-5)
    shed, breach = _violations(kin, out.result.plan)
    gap = meta["mip_gap"] or 0.0
    tol = 1e-5 + gap * max(1.0, abs(objective)) + (1e-4 if meta["solver"]["binaries"] else 0.0)
    for reference in (plan_heuristic(kin), do_nothing_plan(kin)):
        ref_shed, ref_breach = _violations(kin, reference)
        assert shed <= ref_shed + KWH_TOL, (shed, ref_shed)
        if ref_shed > shed + KWH_TOL or ref_breach > breach + KWH_TOL:
            continue
        ref_objective = _model_objective_sek(kin, reference)
        assert objective <= ref_objective + tol, (objective, ref_objective)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_plan_request_invariants_hold(case: Case) -> None:
    out = plan_request(case.request, mode="baseline")
    _check_invariants(case, out)
    _check_beats_do_nothing(case, out)
    _check_beats_heuristic(case, out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(fair=True))
def test_plan_request_never_worse_than_do_nothing(case: Case) -> None:
    out = plan_request(case.request, mode="baseline")
    _check_invariants(case, out)
    assert _check_beats_do_nothing(case, out)
    _check_beats_heuristic(case, out)
    _check_beats_heuristic(case, out)


def test_plan_request_violation_caps_stay_feasible() -> None:
    # Found by the property test above. 13 quarter-hours, prices 0, a start 16.2 % above
    # the 5.5 % ceiling (excess 0.107 kWh) and a 0.963 kWh load at 02:30 that the 3 kW fuse
    # plus the 0.5 kW battery cannot carry (shedding forced). The shed minimum needs the
    # battery full again before 02:30, so the excess is drained and refilled; the
    # ceiling-excess LP then reports a minimum that its own capped model (and the MILP)
    # cannot meet: "Infeasible" in 2 ms, reported as "no solution within the time limit".
    load = [0.0] * 13
    load[10], load[12] = 0.963, 0.626
    request = build_request(
        import_prices=[0.0] * 13,
        load_kwh=load,
        slot_minutes=15,
        soc_percent=16.2,
        config={
            "system": {"has_battery": True, "has_water_heater": False},
            "battery": {
                "capacity_kwh": 1.0,
                "min_soc_percent": 0.5,
                "max_soc_percent": 5.5,
                "max_charge_kw": 0.5,
                "max_discharge_kw": 0.5,
                "charge_efficiency": 0.81,
                "discharge_efficiency": 0.7,
            },
            "battery_economics": {"battery_cycle_cost_kwh": 0.0},
            "grid": {"max_power_kw": 3.0, "import_limit_kw": None},
        },
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal", out.document["meta"]["fallback_reason"]


def test_fallback_result_reports_water_shortfall() -> None:
    # A 3 kWh quota in a one-hour window behind a 1 kW fuse: no plan can meet it, and
    # the Kepler plan says so in its warnings. The fallback plan must say so too.
    request = build_request(
        import_prices=[1.0],
        start="2026-03-10T02:00:00+01:00",
        config={
            "system": {"has_battery": False, "has_water_heater": True},
            "grid": {"max_power_kw": 1.0},
            "water_heating": {"power_kw": 3.0, "min_kwh_per_day": 3.0},
        },
    )
    out = plan_request(request, mode="baseline")
    assert len(out.result.warnings) == 1
    fallback = fallback_result(out.kepler_input, "test")
    assert fallback.warnings == out.result.warnings
