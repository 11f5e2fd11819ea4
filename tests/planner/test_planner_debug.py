"""The planner debug document: hand-checked marginal values, binding rows, JSON safety.

Micro scenarios use one-hour slots from 2026-03-10 00:00 (+01:00), mode ``baseline``, no PV,
no wear. ``c``/``d`` charge/discharge, ``i`` import (kW = kWh in a one-hour slot), ``E`` the
SoC at a slot's end. Marginal values carry the throughput tie-break (1e-5 SEK per kWh
through the battery), far below the tolerance used.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from darkstar.config import merge_config, parse_config
from darkstar.examples import build_request, read_example_request
from darkstar.planner import PlanOutcome, generate_schedule
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.output.debug import planner_debug
from darkstar.planner.pipeline import HEURISTIC_PRIMARY
from darkstar.planner.solver.model import LinearModel

START = "2026-03-10T00:00:00+01:00"
VALUE_TOL = 1e-4


def _battery(**overrides: Any) -> dict[str, Any]:
    return {
        "capacity_kwh": 10.0,
        "min_soc_percent": 0.0,
        "max_soc_percent": 100.0,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        **overrides,
    }


def _request(
    prices: list[float],
    load: list[float],
    *,
    soc: float = 0.0,
    battery: dict[str, Any] | None = None,
    grid: dict[str, Any] | None = None,
    has_battery: bool = True,
    **config: Any,
) -> dict[str, Any]:
    return build_request(
        import_prices=prices,
        export_prices=[0.0] * len(prices),
        pv_kwh=[0.0] * len(prices),
        load_kwh=load,
        start=START,
        slot_minutes=60,
        soc_percent=soc,
        config={
            "system": {"has_battery": has_battery, "has_water_heater": False},
            "battery": battery or _battery(),
            "battery_economics": {"battery_cycle_cost_kwh": 0.0},
            "grid": {"max_power_kw": 20.0, "import_limit_kw": None, **(grid or {})},
            "kepler": {"mip_gap": 0.0},
            **config,
        },
    )


def _plan(request: dict[str, Any], *, mode: str = "baseline") -> PlanOutcome:
    parsed = parse_plan_request(request)
    config = parse_config(merge_config({}, parsed.config))
    return generate_schedule(prepare_input(parsed), config, mode=mode, debug=True)


def _debug(out: PlanOutcome) -> dict[str, Any]:
    assert out.debug is not None
    # the document goes to disk and the API as strict JSON: no NaN, no infinity
    text = json.dumps(out.debug, allow_nan=False)
    return dict(json.loads(text))


def _binding(debug: dict[str, Any]) -> dict[str, list[int]]:
    return {entry["name"]: entry["slots"] for entry in debug["binding"]["constraints"]}


def _entry(debug: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in debug["binding"]["constraints"] if e["name"] == name)


def test_marginal_value_is_the_avoided_import_times_discharge_efficiency() -> None:
    # prices 1, 2; load 0, 2; c <= 1 kW; eta_c = 1, eta_d = 0.9. Charging is worth it
    # (1 SEK per stored kWh, which returns 0.9 kWh at 2 SEK = 1.8), so c_0 = 1 (the limit),
    # E_0 = 1, d_1 = 0.9, i_1 = 1.1. One more kWh stored at the end of slot 0 would be
    # discharged in slot 1 and save 0.9 kWh of import at 2 SEK: 1.8 SEK. At the end of slot 1
    # (E_1 = 0 on the floor) it likewise covers 0.9 kWh of slot 1's load: 1.8 SEK.
    out = _plan(
        _request(
            [1.0, 2.0], [0.0, 2.0], battery=_battery(max_charge_kw=1.0, discharge_efficiency=0.9)
        )
    )
    rows = out.document["schedule"]
    assert [r["battery_charge_kw"] for r in rows] == pytest.approx([1.0, 0.0], abs=1e-6)
    assert [r["grid_import_kw"] for r in rows] == pytest.approx([1.0, 1.1], abs=1e-6)
    debug = _debug(out)
    assert debug["marginal_value_sek_per_kwh"] == pytest.approx([1.8, 1.8], abs=VALUE_TOL)
    assert debug["marginal_value"]["reason"] is None
    assert debug["marginal_value"]["lp_termination"] == "Optimal"
    # the LP with fixed integers has the plan's optimum
    assert debug["marginal_value"]["lp_objective_sek"] == pytest.approx(
        debug["solver"]["objective_sek"], abs=1e-6
    )
    binding = _binding(debug)
    assert binding["battery_charge_max"] == [0]
    assert binding["soc_floor"] == [1]
    assert binding["soc_ceiling"] == []
    assert _entry(debug, "battery_charge_max")["starts"] == [START]
    assert _entry(debug, "battery_charge_max")["bound"] == [1.0]


def test_marginal_value_is_the_saved_purchase_when_charging_is_free() -> None:
    # prices 1, 2; load 0, 1; eta_c = 0.8, c <= 5 kW. The battery stores exactly slot 1's
    # 1 kWh: c_0 = 1.25 kW at 1 SEK. Charging is not at any limit, so one more stored kWh
    # saves 1 / 0.8 = 1.25 kWh bought in slot 0: 1.25 SEK, in both slots (not slot 1's 2 SEK).
    out = _plan(_request([1.0, 2.0], [0.0, 1.0], battery=_battery(charge_efficiency=0.8)))
    assert out.document["schedule"][0]["battery_charge_kw"] == pytest.approx(1.25, abs=1e-6)
    debug = _debug(out)
    assert debug["marginal_value_sek_per_kwh"] == pytest.approx([1.25, 1.25], abs=VALUE_TOL)
    assert _binding(debug)["battery_charge_max"] == []


def test_marginal_value_is_zero_for_energy_with_no_use() -> None:
    # a full battery, no load, export worth nothing: one more kWh has no use anywhere
    debug = _debug(_plan(_request([1.0, 2.0], [0.0, 0.0], soc=50.0)))
    assert debug["marginal_value_sek_per_kwh"] == pytest.approx([0.0, 0.0], abs=VALUE_TOL)


def test_binding_soc_ceiling_and_floor() -> None:
    # prices 1, 2; load 0, 12; c <= 20 kW, capacity 10: fill to the ceiling in slot 0
    # (E_0 = 10), empty it in slot 1 (E_1 = 0 on the floor) and import the other 2 kWh
    battery = _battery(max_charge_kw=20.0, max_discharge_kw=20.0)
    debug = _debug(_plan(_request([1.0, 2.0], [0.0, 12.0], battery=battery)))
    binding = _binding(debug)
    assert binding["soc_ceiling"] == [0]
    assert binding["soc_floor"] == [1]
    assert binding["battery_charge_max"] == []
    assert binding["grid_import_max"] == []
    assert _entry(debug, "soc_ceiling")["bound"] == [10.0]


def test_binding_soc_floor_above_zero() -> None:
    # min SoC 20 % (2 kWh), start 50 % (5 kWh), prices 2, 1, load 4, 0: discharge 3 kWh in
    # slot 0 down to the floor and stay there (charging in slot 1 has no later use)
    battery = _battery(min_soc_percent=20.0)
    debug = _debug(_plan(_request([2.0, 1.0], [4.0, 0.0], soc=50.0, battery=battery)))
    entry = _entry(debug, "soc_floor")
    assert entry["slots"] == [0, 1]
    assert entry["bound"] == [2.0, 2.0]
    assert _binding(debug)["soc_ceiling"] == []


def test_binding_import_cap() -> None:
    # prices 1, 3; load 0, 6; import limit 4 kW: import at the cap in slot 0 to charge 4 kWh,
    # in slot 1 discharge 4 and import 2
    debug = _debug(_plan(_request([1.0, 3.0], [0.0, 6.0], grid={"import_limit_kw": 4.0})))
    entry = _entry(debug, "grid_import_max")
    assert entry["slots"] == [0]
    assert entry["bound"] == [4.0]
    # the cap is what limits the storage: one more stored kWh saves 3 SEK in slot 1
    assert debug["marginal_value_sek_per_kwh"] == pytest.approx([3.0, 3.0], abs=VALUE_TOL)


def _ev_request(target_percent: float, *, plugged_in: bool = True) -> dict[str, Any]:
    request = _request([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], has_battery=False)
    request["config"]["ev"] = {
        "capacity_kwh": 10.0,
        "max_charge_kw": 2.0,
        "min_charge_kw": 0.0,
        "charge_efficiency": 1.0,
    }
    request["state"]["ev"] = {
        "soc_percent": 0.0,
        "plugged_in": plugged_in,
        "departure": "2026-03-10T02:00:00+01:00",
        "target_soc_percent": target_percent,
    }
    return request


def test_binding_ev_deadline() -> None:
    # the car leaves at 02:00 (target at the end of slot 1) wanting 4 kWh; the charger gives
    # 2 kW: both slots at the limit, and the target row is met exactly at the deadline
    debug = _debug(_plan(_ev_request(40.0)))
    entry = _entry(debug, "ev_target")
    assert entry["slots"] == [1]
    assert entry["detail"] == {
        "target_slot": 1,
        "row": True,
        "deadline": "2026-03-10T02:00:00+01:00",
        "target_kwh": 4.0,
        "soc_at_deadline_kwh": 4.0,
        "shortfall_kwh": 0.0,
    }
    assert _binding(debug)["ev_charge_max"] == [0, 1]
    assert debug["inputs"]["ev"]["departure"] == "2026-03-10T02:00:00+01:00"
    # no battery: nothing stored to value, but the rows are still read
    assert debug["marginal_value_sek_per_kwh"] is None
    assert "no battery" in debug["marginal_value"]["reason"]
    assert "soc_floor" not in _binding(debug)


def test_binding_ev_target_short() -> None:
    # 6 kWh wanted, 4 kWh possible: the row binds with the 2 kWh shortfall as its slack
    entry = _entry(_debug(_plan(_ev_request(60.0))), "ev_target")
    assert entry["slots"] == [1]
    assert entry["detail"]["shortfall_kwh"] == pytest.approx(2.0, abs=1e-6)


def test_binding_ev_unplugged_has_no_target_row() -> None:
    # nothing can be charged before the deadline: no ev_target row, the gap is a given
    entry = _entry(_debug(_plan(_ev_request(40.0, plugged_in=False))), "ev_target")
    assert entry["slots"] == []
    assert entry["detail"]["row"] is False
    assert entry["detail"]["shortfall_kwh"] == pytest.approx(4.0)


def test_binding_capacity_peak_hour() -> None:
    # capacity tariff 1 SEK/kW, three highest hours billed, 2.5 kW each so far; prices 1, 2, 2
    # and load 0, 3, 3 with a 4 kWh battery: at a fee below 3 the battery fills in hour 0 (a new
    # 4 kW peak, counted); hours 1-2 import 1 kW each, below the counted peaks
    request = _request(
        [1.0, 2.0, 2.0],
        [0.0, 3.0, 3.0],
        battery=_battery(capacity_kwh=4.0, max_charge_kw=4.0, max_discharge_kw=4.0),
        grid={
            "capacity_tariff": {
                "sek_per_kw_month": 1.0,
                "peaks_counted": 3,
                "distinct_days": False,
                "hours": "all",
            }
        },
    )
    request["state"]["month_peaks_kw"] = [2.5, 2.5, 2.5]
    debug = _debug(_plan(request))
    entry = _entry(debug, "capacity_peak")
    assert entry["slots"] == [0]
    assert entry["bound"] == [pytest.approx(4.0, abs=1e-6)]
    assert entry["detail"]["hours"] == [
        {"hour_start": START, "slots": [0], "peak_kw": pytest.approx(4.0, abs=1e-6)}
    ]
    assert debug["inputs"]["month_peaks_kw"] == [2.5, 2.5, 2.5]


def test_planner_debug_fallback_has_null_values_with_a_reason() -> None:
    out = _plan(_request([1.0, 2.0], [0.0, 2.0], planner={"primary": "heuristic"}))
    debug = _debug(out)
    assert debug["status"] == "fallback"
    assert debug["marginal_value_sek_per_kwh"] is None
    assert HEURISTIC_PRIMARY in debug["marginal_value"]["reason"]
    assert debug["binding"]["constraints"] is None
    assert debug["binding"]["reason"] == debug["marginal_value"]["reason"]
    assert debug["solver"]["objective_sek"] is None  # NaN in the result, null in JSON
    assert debug["solver"]["fallback_reason"] == HEURISTIC_PRIMARY


def test_planner_debug_example_day_is_strict_json() -> None:
    request = read_example_request("se4-winter-2018-01-17")
    out = _plan(request, mode="full")
    debug = _debug(out)
    n = len(out.document["schedule"])
    assert debug["inputs"]["n_slots"] == n == len(debug["slot_starts"])
    assert debug["slot_starts"] == [r["start"] for r in out.document["schedule"]]
    assert debug["planned_at"] == out.document["meta"]["planned_at"]
    values = debug["marginal_value_sek_per_kwh"]
    assert len(values) == n
    assert all(v is not None and math.isfinite(v) for v in values)
    # the strategy section carries what the pipeline computed
    s_index = out.document["meta"]["s_index"]
    assert debug["strategy"]["load_factor"] == s_index["load_factor"]
    assert debug["strategy"]["target_soc_slot"] == out.kepler_input.soc_target.slot
    assert debug["solver"]["variables"] == out.result.report.n_variables
    prices = [r["import_price_sek_per_kwh"] for r in out.document["schedule"]]
    assert debug["inputs"]["import_price_sek_per_kwh"]["max"] == pytest.approx(max(prices))
    # every listed slot really sits on its bound in the plan
    rows = out.document["schedule"]
    for slot in _binding(debug)["soc_floor"]:
        floor = out.kepler_input.battery.min_soc_kwh
        assert rows[slot]["projected_soc_kwh"] == pytest.approx(floor, abs=1e-4)


def test_generate_schedule_without_debug_builds_none() -> None:
    request = _request([1.0, 2.0], [0.0, 2.0])
    parsed = parse_plan_request(request)
    config = parse_config(merge_config({}, parsed.config))
    out = generate_schedule(prepare_input(parsed), config, mode="baseline")
    assert out.debug is None
    # built on demand from the same parts: charging is free up to 5 kW, so a stored kWh
    # is worth the 1 SEK it would cost in slot 0
    again = planner_debug(
        prepare_input(parsed), out.kepler_input, out.result, document=out.document
    )
    assert again["marginal_value_sek_per_kwh"] == pytest.approx([1.0, 1.0], abs=VALUE_TOL)


def test_solve_lp_fixed_prices_the_row_with_the_binary_fixed() -> None:
    # min x + y, x + 5 y >= 7, y binary, 0 <= x <= 10: y = 1, x = 2 (cost 3). With y fixed
    # at 1 one more unit of the row costs one more x: dual 1 (the relaxation's would be 0.2)
    m = LinearModel()
    x = m.add_vars("x", 1, ub=10.0, cost=1.0)
    y = m.add_vars("y", 1, ub=1.0, cost=1.0, integer=True)
    m.add_rows("need", [(x, 1.0), (y, 5.0)], lb=7.0)
    outcome = m.solve(time_limit_s=5.0, mip_gap=0.0)
    assert outcome.x is not None
    assert outcome.x.tolist() == pytest.approx([2.0, 1.0])
    assert m.row_activity(outcome.x, m.rows("need")).tolist() == pytest.approx([7.0])
    duals = m.solve_lp_fixed(outcome.x, time_limit_s=5.0)
    assert duals.row_dual is not None
    assert duals.row_dual[m.rows("need")].tolist() == pytest.approx([1.0])
    assert duals.objective == pytest.approx(3.0)
    lb, ub = m.col_bounds(np.concatenate([x, y]))
    assert lb.tolist() == [0.0, 0.0]
    assert ub.tolist() == [10.0, 1.0]  # the model itself is left as it was
