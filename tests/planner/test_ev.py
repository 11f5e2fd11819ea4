"""The electric car in Kepler: hand-checkable micro-scenarios and invariants.

One-hour slots from 2026-03-10 00:00 (+01:00), mode ``baseline``, no PV, no house load,
no water heater. ``q`` is the car's charge (kW = kWh in a one-hour slot), ``S`` its SoC.
The car's penalty for a missing kWh at departure is the floor penalty
``10 * max|price| + 10`` SEK/kWh. Each objective below is derived in the comment; the
only other term is the throughput tie-break (1e-5 SEK per kWh through the battery or the
charger), added back from the plan's own flows.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkstar.errors import InputError
from darkstar.examples import build_request
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver.kepler import THROUGHPUT_TIEBREAK_SEK_PER_KWH

START = "2026-03-10T00:00:00+01:00"
OBJ_TOL = 1e-4


def _departure(hours: float) -> str:
    whole = int(hours)
    minutes = round((hours - whole) * 60)
    return f"2026-03-10T{whole:02d}:{minutes:02d}:00+01:00"


def _request(
    prices: list[float],
    *,
    ev_soc: float = 0.0,
    target: float = 40.0,
    departure: float | None = None,
    plugged_in: bool = True,
    ev: dict[str, Any] | None = None,
    battery: bool = False,
    soc: float = 0.0,
    terminal: float = 0.0,
    pv: list[float] | None = None,
    export_prices: list[float] | None = None,
) -> dict[str, Any]:
    request = build_request(
        import_prices=prices,
        export_prices=export_prices or [0.0] * len(prices),
        pv_kwh=pv,
        start=START,
        slot_minutes=60,
        soc_percent=soc,
        config={
            "system": {"has_battery": battery, "has_water_heater": False},
            "battery": {
                "capacity_kwh": 10.0,
                "min_soc_percent": 0.0,
                "max_soc_percent": 100.0,
                "max_charge_kw": 5.0,
                "max_discharge_kw": 5.0,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
            },
            "battery_economics": {"battery_cycle_cost_kwh": 0.0},
            "grid": {"max_power_kw": 20.0},
            "kepler": {"mip_gap": 0.0, "terminal_value_sek_per_kwh": terminal},
            "ev": {
                "capacity_kwh": 10.0,
                "max_charge_kw": 2.0,
                "min_charge_kw": 0.0,
                "charge_efficiency": 1.0,
                **(ev or {}),
            },
        },
    )
    request["state"]["ev"] = {
        "soc_percent": ev_soc,
        "plugged_in": plugged_in,
        "departure": None if departure is None else _departure(departure),
        "target_soc_percent": target,
    }
    return request


def _plan(request: dict[str, Any]) -> PlanOutcome:
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    return out


def _col(out: PlanOutcome, name: str) -> list[float]:
    return [row[name] for row in out.document["schedule"]]


def _objective(out: PlanOutcome) -> float:
    """The objective without the throughput tie-break."""
    rows = out.document["schedule"]
    through = sum(
        r["battery_charge_kw"] + r["battery_discharge_kw"] + r["ev_charging_kw"] for r in rows
    )
    return float(out.document["meta"]["objective_sek"]) - THROUGHPUT_TIEBREAK_SEK_PER_KWH * through


def test_the_car_charges_in_the_cheapest_slots_before_departure() -> None:
    # need 4 kWh at 2 kW: the two 1-SEK slots (hours 1 and 3): 2 x 2 x 1 = 4 SEK
    out = _plan(_request([3.0, 1.0, 2.0, 1.0]))
    assert _col(out, "ev_charging_kw") == pytest.approx([0, 2, 0, 2])
    assert _col(out, "ev_soc_percent") == pytest.approx([0, 20, 20, 40])
    assert _objective(out) == pytest.approx(4.0, abs=OBJ_TOL)
    ev = out.document["meta"]["ev"]
    assert ev["target_met"] is True
    assert ev["shortfall_kwh"] == 0.0
    assert ev["charged_kwh"] == pytest.approx(4.0)
    assert ev["target_at"] == "2026-03-10T04:00:00+01:00"  # no departure: the horizon's end


def test_a_departure_puts_the_cheap_slot_after_it_out_of_reach() -> None:
    # leaves at 03:00: slots 0-2 only; 4 kWh = hour 1 (1 SEK) + hour 2 (2 SEK): 2 + 4 = 6
    out = _plan(_request([3.0, 1.0, 2.0, 1.0], departure=3))
    assert _col(out, "ev_charging_kw") == pytest.approx([0, 2, 2, 0])
    assert _objective(out) == pytest.approx(6.0, abs=OBJ_TOL)
    assert out.document["meta"]["ev"]["target_at"] == "2026-03-10T03:00:00+01:00"
    assert out.document["meta"]["ev"]["departure"] == "2026-03-10T03:00:00+01:00"


def test_a_departure_inside_a_slot_excludes_that_slot() -> None:
    # leaves at 02:30: slot 2 (02:00-03:00) does not end by then; 4 kWh in slots 0 and 1:
    # 2 x 3 + 2 x 1 = 8 SEK
    out = _plan(_request([3.0, 1.0, 2.0, 1.0], departure=2.5))
    assert _col(out, "ev_charging_kw") == pytest.approx([2, 2, 0, 0])
    assert _objective(out) == pytest.approx(8.0, abs=OBJ_TOL)


def test_an_unreachable_target_charges_all_it_can_and_reports_the_shortfall() -> None:
    # 8 kWh wanted by 02:00, 2 kW x 2 h = 4 kWh possible: shortfall 4 kWh at the penalty
    # 10 x 3 + 10 = 40 SEK/kWh; energy 2 x 3 + 2 x 1 = 8 SEK; objective 8 + 160 = 168
    out = _plan(_request([3.0, 1.0, 2.0, 1.0], target=80.0, departure=2))
    assert _col(out, "ev_charging_kw") == pytest.approx([2, 2, 0, 0])
    ev = out.document["meta"]["ev"]
    assert ev["target_met"] is False
    assert ev["shortfall_kwh"] == pytest.approx(4.0)
    assert ev["soc_at_target_percent"] == pytest.approx(40.0)
    assert _objective(out) == pytest.approx(168.0, abs=OBJ_TOL)


def test_the_charger_minimum_power_is_respected() -> None:
    # 1 kWh wanted; the charger runs at 1.5-2 kW or not at all: 1.5 kWh in the 1-SEK slot
    out = _plan(_request([3.0, 1.0, 2.0, 1.5], target=10.0, ev={"min_charge_kw": 1.5}))
    charge = _col(out, "ev_charging_kw")
    assert charge == pytest.approx([0, 1.5, 0, 0])
    assert all(q == 0 or q >= 1.5 - 1e-6 for q in charge)
    assert _objective(out) == pytest.approx(1.5, abs=OBJ_TOL)


def test_charging_losses_are_bought() -> None:
    # 4 kWh in the car at 80 % efficiency: 5 kWh AC, 2 + 2 + 1 kW in the three cheapest
    # slots (1, 1, 2 SEK): 2 + 2 + 2 = 6 SEK
    out = _plan(_request([3.0, 1.0, 2.0, 1.0], ev={"charge_efficiency": 0.8}))
    assert _col(out, "ev_charging_kw") == pytest.approx([0, 2, 1, 2])
    assert _col(out, "ev_soc_percent")[-1] == pytest.approx(40.0)
    assert _objective(out) == pytest.approx(6.0, abs=OBJ_TOL)


def test_an_unplugged_car_is_not_charged_and_its_gap_is_reported() -> None:
    out = _plan(_request([1.0, 1.0], ev_soc=25.0, target=40.0, plugged_in=False))
    assert _col(out, "ev_charging_kw") == [0.0, 0.0]
    assert _col(out, "ev_soc_percent") == pytest.approx([25.0, 25.0])
    assert out.document["meta"]["ev"]["shortfall_kwh"] == pytest.approx(1.5)
    assert _objective(out) == pytest.approx(0.0, abs=OBJ_TOL)  # nothing to pay for


def test_the_home_battery_charges_the_car_only_when_that_is_cheaper() -> None:
    # the home battery holds 4 kWh; grid energy costs 2 SEK. With no value on stored
    # energy the battery feeds the car (objective 0). Valued at 3 SEK/kWh at the horizon's
    # end, stored energy is dearer than the grid: the battery keeps its 4 kWh (and fills
    # up with the 6 kWh it has room for), the grid charges the car: 10 kWh imported at 2,
    # 10 kWh stored at 3: 20 - 30 = -10
    free = _plan(_request([2.0, 2.0], battery=True, soc=40.0))
    assert sum(_col(free, "battery_discharge_kw")) == pytest.approx(4.0)
    assert sum(_col(free, "grid_import_kw")) == pytest.approx(0.0)
    assert _objective(free) == pytest.approx(0.0, abs=OBJ_TOL)
    kept = _plan(_request([2.0, 2.0], battery=True, soc=40.0, terminal=3.0))
    assert sum(_col(kept, "battery_discharge_kw")) == pytest.approx(0.0)
    assert sum(_col(kept, "grid_import_kw")) == pytest.approx(10.0)
    assert sum(_col(kept, "ev_charging_kw")) == pytest.approx(4.0)
    assert _objective(kept) == pytest.approx(-10.0, abs=OBJ_TOL)


def test_pv_surplus_goes_to_the_car_before_the_grid() -> None:
    # 2 kWh of PV in hour 0 would be exported for nothing: the car takes it; the other
    # 2 kWh come from the cheapest slot (1 SEK): objective 2
    out = _plan(_request([3.0, 1.0, 2.0], pv=[2.0, 0.0, 0.0]))
    assert _col(out, "ev_charging_kw") == pytest.approx([2, 2, 0])
    assert _col(out, "grid_export_kw") == pytest.approx([0, 0, 0])
    assert _objective(out) == pytest.approx(2.0, abs=OBJ_TOL)


def test_without_a_car_the_rows_say_so() -> None:
    request = _request([1.0, 2.0])
    del request["state"]["ev"]
    out = _plan(request)
    assert _col(out, "ev_soc_percent") == [None, None]
    assert _col(out, "ev_charging_kw") == [0.0, 0.0]
    assert out.document["meta"]["ev"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["state"]["ev"].update(departure="2026-03-09T23:00:00+01:00"), "departure"),
        (lambda r: r["state"]["ev"].update(soc_percent=120), "soc_percent"),
        (lambda r: r["state"]["ev"].update(plugged=True), "plugged"),
        (lambda r: r["state"]["ev"].pop("target_soc_percent"), "target_soc_percent"),
        (lambda r: r["config"]["ev"].update(min_charge_kw=5.0), "ev"),
    ],
)
def test_a_bad_car_names_the_field(change: Any, field: str) -> None:
    request = _request([1.0, 2.0])
    change(request)
    with pytest.raises(InputError) as info:
        plan_request(request, mode="baseline")
    assert field in info.value.field or field in info.value.message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prices=st.lists(st.floats(-1.0, 4.0, allow_nan=False), min_size=2, max_size=8),
    ev_soc=st.floats(0, 100),
    target=st.floats(0, 100),
    departure=st.one_of(st.none(), st.integers(1, 8)),
    plugged=st.booleans(),
    min_kw=st.sampled_from([0.0, 1.4]),
    efficiency=st.floats(0.5, 1.0),
    battery=st.booleans(),
)
def test_car_invariants(
    prices: list[float],
    ev_soc: float,
    target: float,
    departure: int | None,
    plugged: bool,
    min_kw: float,
    efficiency: float,
    battery: bool,
) -> None:
    request = _request(
        prices,
        ev_soc=ev_soc,
        target=target,
        departure=departure,
        plugged_in=plugged,
        ev={"min_charge_kw": min_kw, "charge_efficiency": efficiency},
        battery=battery,
        soc=50.0,
    )
    out = plan_request(request, mode="baseline")
    rows = out.document["schedule"]
    capacity = 10.0
    soc = ev_soc / 100 * capacity
    for t, row in enumerate(rows):
        q = row["ev_charging_kw"]
        home = departure is None or t + 1 <= departure
        if not (plugged and home):
            assert q == 0.0  # never charged unplugged or after departure
        assert 0 <= q <= 2.0 + 1e-6
        assert q == 0 or q >= min_kw - 1e-5  # the charger's floor
        soc += efficiency * q  # energy balance of the car, one-hour slots
        assert row["ev_soc_percent"] == pytest.approx(100 * soc / capacity, abs=1e-3)
        assert row["ev_soc_percent"] <= 100 + 1e-6
    meta = out.document["meta"]["ev"]
    last = len(rows) - 1 if departure is None else min(departure, len(rows)) - 1
    reached = rows[last]["ev_soc_percent"]
    assert meta["shortfall_kwh"] == pytest.approx(
        max(0.0, (target - reached) / 100 * capacity), abs=1e-3
    )
    assert meta["target_met"] is (meta["shortfall_kwh"] <= 1e-3)


def test_a_capacity_tariff_never_keeps_the_car_below_its_target() -> None:
    # the car needs 4 kWh by 02:00 at up to 2 kW: both hours at 2 kW, whatever the
    # tariff; each hour sets a new peak of 2 kW at 80 SEK/kW/month, one peak counted, so
    # the plan pays 1 SEK/kWh energy + 80 x 2 = 160 SEK capacity rather than leave 4 kWh
    # short (the floor penalty alone, 10 x 1 + 10 = 20 SEK/kWh, was below 80 SEK/kWh)
    request = _request([1.0, 1.0, 1.0], target=40.0, departure=2.0)
    request["config"]["grid"]["capacity_tariff"] = {
        "sek_per_kw_month": 80.0,
        "peaks_counted": 1,
        "distinct_days": False,
    }
    out = plan_request(request, mode="baseline")
    meta = out.document["meta"]
    assert meta["ev"]["target_met"] is True
    assert [r["ev_charging_kw"] for r in out.document["schedule"]] == pytest.approx([2.0, 2.0, 0.0])
    assert meta["capacity_tariff"]["increase_sek"] == pytest.approx(160.0, abs=1e-6)
    assert _objective(out) == pytest.approx(4.0 + 160.0, abs=OBJ_TOL)
