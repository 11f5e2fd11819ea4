"""Hand-checkable micro-scenarios for Kepler (STYLE §J.32).

Every test plans 1-6 one-hour slots in ``mode="baseline"`` with round battery numbers and
asserts the exact objective and the exact charge/discharge/import/export pattern. The
expected optimum is derived by hand in each test's comment.

Notation in the comments: ``c`` charge, ``d`` discharge, ``i`` import, ``e`` export (kW,
which equal kWh in a one-hour slot), ``E`` SoC at the end of a slot (kWh), ``P_floor`` the
min-SoC penalty ``10 * max|price| + 10`` SEK/kWh per slot (``hard_penalty_sek_per_kwh``).

The objective also carries tiny tie-breaks (water ``1e-6 * slot index`` per heating slot,
and a per-kWh throughput or curtailment tie-break in Kepler). They are not economics, so the
comments leave them out and :func:`_tiebreaks_sek` adds them from the plan's own flows.
"""

from __future__ import annotations

from typing import Any

import pytest

from darkstar.examples import build_request
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver import kepler, water

OBJ_TOL = 1e-4
KW_TOL = 1e-5

#: Water days run from 03:00 to 03:00 (``defer_up_to_hours`` 3), so six slots from 21:00
#: are exactly one whole water day and the full quota is due inside the horizon.
WATER_DAY_START = "2026-03-09T21:00:00+01:00"


def _battery(**overrides: Any) -> dict[str, Any]:
    battery: dict[str, Any] = {
        "capacity_kwh": 10.0,
        "min_soc_percent": 0.0,
        "max_soc_percent": 100.0,
        "max_charge_kw": 5.0,
        "max_discharge_kw": 5.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
    }
    battery.update(overrides)
    return battery


def _config(
    *,
    battery: dict[str, Any] | None = None,
    wear: float = 0.0,
    grid: dict[str, Any] | None = None,
    export: bool = True,
    kepler: dict[str, Any] | None = None,
    water: dict[str, Any] | None = None,
    has_battery: bool = True,
) -> dict[str, Any]:
    return {
        "system": {"has_battery": has_battery, "has_water_heater": water is not None},
        "battery": battery or _battery(),
        "battery_economics": {"battery_cycle_cost_kwh": wear},
        "grid": {"max_power_kw": 20.0, "import_limit_kw": None, **(grid or {})},
        "export": {"enable_export": export},
        "kepler": {"mip_gap": 0.0, **(kepler or {})},
        "water_heating": water or {},
    }


def _plan(
    import_prices: list[float],
    *,
    export_prices: list[float] | None = None,
    pv: list[float] | None = None,
    load: list[float] | None = None,
    soc: float = 0.0,
    start: str = "2026-03-10T00:00:00+01:00",
    water_heated_today_kwh: float = 0.0,
    **config: Any,
) -> PlanOutcome:
    request = build_request(
        import_prices=import_prices,
        export_prices=export_prices,
        pv_kwh=pv,
        load_kwh=load,
        start=start,
        slot_minutes=60,
        soc_percent=soc,
        water_heated_today_kwh=water_heated_today_kwh,
        config=_config(**config),
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    return out


def _col(out: PlanOutcome, name: str) -> list[float]:
    return [row[name] for row in out.document["schedule"]]


def _assert_flows(out: PlanOutcome, **expected: list[float]) -> None:
    """Assert per-slot columns, e.g. ``battery_charge_kw=[5, 0]`` (short names allowed)."""
    aliases = {
        "charge": "battery_charge_kw",
        "discharge": "battery_discharge_kw",
        "imp": "grid_import_kw",
        "exp": "grid_export_kw",
        "curtail": "pv_curtailment_kw",
        "shed": "load_shedding_kw",
        "water": "water_heating_kw",
        "soc": "projected_soc_kwh",
    }
    for key, values in expected.items():
        name = aliases.get(key, key)
        assert _col(out, name) == pytest.approx(values, abs=KW_TOL), name


def _tiebreaks_sek(out: PlanOutcome) -> float:
    """Tie-break part of the objective, from whichever tie-breaks the model defines."""
    constants = vars(kepler)
    throughput = constants.get("THROUGHPUT_TIEBREAK_SEK_PER_KWH", 0.0)
    curtail = constants.get("CURTAILMENT_TIEBREAK_SEK_PER_KWH", 0.0)
    rows = out.document["schedule"]
    total = 0.0
    for t, row in enumerate(rows):
        total += throughput * (row["battery_charge_kw"] + row["battery_discharge_kw"])
        total += curtail * row["pv_curtailment_kw"]
        total += water.WATER_TIEBREAK_SEK * t * (row["water_heating_kw"] > 0)
    return total  # one-hour slots: kW x 1 h = kWh


def _objective(out: PlanOutcome) -> float:
    """The objective without tie-breaks: what the hand computations give."""
    value = out.document["meta"]["objective_sek"]
    assert value is not None
    return float(value) - _tiebreaks_sek(out)


# --- arbitrage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price_high", "expected_obj", "charge", "discharge", "imp"),
    [
        # eta_c eta_d = 0.9 * 0.8 = 0.72. At 3 SEK: 1 SEK/kWh bought at 01:00 returns
        # 0.72 kWh worth 2.16 SEK > 1, so charge all we can: c0 = 5 (max_charge_kw; 5 < 4 /
        # 0.72 = 5.56 needed for the whole load), E0 = 4.5, d1 = 4.5 * 0.8 = 3.6,
        # i1 = 4 - 3.6 = 0.4. Objective 5 * 1 + 0.4 * 3 = 6.2 (vs 12 doing nothing).
        (3.0, 6.2, [5.0, 0.0], [0.0, 3.6], [5.0, 0.4]),
        # At 1.3 SEK: 0.72 * 1.3 = 0.936 < 1, the losses eat the spread: no cycle,
        # objective 4 * 1.3 = 5.2.
        (1.3, 5.2, [0.0, 0.0], [0.0, 0.0], [0.0, 4.0]),
    ],
)
def test_plan_arbitrage_only_when_spread_beats_losses(
    price_high: float,
    expected_obj: float,
    charge: list[float],
    discharge: list[float],
    imp: list[float],
) -> None:
    out = _plan(
        [1.0, price_high],
        load=[0.0, 4.0],
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, charge=charge, discharge=discharge, imp=imp, exp=[0.0, 0.0])


@pytest.mark.parametrize(
    ("export_high", "expected_obj", "charge", "discharge", "exp"),
    [
        # Sell high: buy 5 at 1 SEK (c0 = 5, E0 = 4.5), export d1 = 3.6 at 3 SEK:
        # 5 - 3.6 * 3 = -5.8.
        (3.0, -5.8, [5.0, 0.0], [0.0, 3.6], [0.0, 3.6]),
        # 0.72 * 1.3 = 0.936 < 1: buying to export loses money; do nothing, objective 0.
        (1.3, 0.0, [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),
    ],
)
def test_plan_export_arbitrage_only_when_spread_beats_losses(
    export_high: float,
    expected_obj: float,
    charge: list[float],
    discharge: list[float],
    exp: list[float],
) -> None:
    out = _plan(
        [1.0, 4.0],
        export_prices=[0.5, export_high],
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, charge=charge, discharge=discharge, exp=exp, imp=charge)


@pytest.mark.parametrize(
    ("wear", "expected_obj", "cycled"),
    [
        # Lossless battery, spread 1.3 - 1 = 0.3 SEK/kWh. Wear 0.2 on charge and again on
        # discharge = 0.4 > 0.3: no cycle, 4 * 1.3 = 5.2.
        (0.2, 5.2, 0.0),
        # Wear 0.1: 0.2 < 0.3, cycle all 4 kWh: 4 * 1 + 0.1 * (4 + 4) = 4.8.
        (0.1, 4.8, 4.0),
    ],
)
def test_plan_wear_cost_blocks_marginal_cycle(
    wear: float, expected_obj: float, cycled: float
) -> None:
    out = _plan([1.0, 1.3], load=[0.0, 4.0], wear=wear)
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, charge=[cycled, 0.0], discharge=[0.0, cycled], imp=[cycled, 4.0 - cycled])
    assert out.document["meta"]["wear_cost_sek"] == pytest.approx(wear * 2 * cycled, abs=1e-6)


# --- PV surplus ----------------------------------------------------------------------


def test_plan_pv_surplus_stored_for_expensive_evening() -> None:
    # 4 kWh PV at 01:00, 4 kWh load at 02:00 costing 2 SEK; export pays only 0.5.
    # Storing 1 kWh returns 0.72 kWh worth 1.44 SEK > 0.5, so store everything:
    # c0 = 4, E0 = 3.6, d1 = 2.88, i1 = 1.12, objective 1.12 * 2 = 2.24. (Topping up
    # from the grid at 01:00 would cost 3 > 1.44 per kWh, so c0 stays at the PV.)
    out = _plan(
        [3.0, 2.0],
        export_prices=[0.5, 0.5],
        pv=[4.0, 0.0],
        load=[0.0, 4.0],
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
    )
    assert _objective(out) == pytest.approx(2.24, abs=OBJ_TOL)
    _assert_flows(
        out,
        charge=[4.0, 0.0],
        discharge=[0.0, 2.88],
        imp=[0.0, 1.12],
        exp=[0.0, 0.0],
        curtail=[0.0, 0.0],
        soc=[3.6, 0.0],
    )


def test_plan_pv_surplus_exported_when_later_import_cheap() -> None:
    # Storing saves 0.4 SEK/kWh at 02:00, exporting earns 0.5 now: export all 4 kWh and
    # buy the evening load: -4 * 0.5 + 4 * 0.4 = -0.4. The battery stays idle.
    out = _plan(
        [1.0, 0.4],
        export_prices=[0.5, 0.3],
        pv=[4.0, 0.0],
        load=[0.0, 4.0],
    )
    assert _objective(out) == pytest.approx(-0.4, abs=OBJ_TOL)
    _assert_flows(out, charge=[0.0, 0.0], discharge=[0.0, 0.0], exp=[4.0, 0.0], imp=[0.0, 4.0])


def test_plan_negative_export_price_curtails() -> None:
    # Battery full (10 kWh, max 100 %), 2 kWh surplus in each slot, export costs 0.5.
    # Exporting costs money, the battery cannot take more, and discharging would only
    # add energy that must be curtailed too: curtail 2 + 2, objective 0.
    out = _plan(
        [1.0, 1.0],
        export_prices=[-0.5, -0.5],
        pv=[3.0, 3.0],
        load=[1.0, 1.0],
        soc=100.0,
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
    )
    assert _objective(out) == pytest.approx(0.0, abs=1e-7)
    _assert_flows(
        out,
        charge=[0.0, 0.0],
        discharge=[0.0, 0.0],
        imp=[0.0, 0.0],
        exp=[0.0, 0.0],
        curtail=[2.0, 2.0],
        soc=[10.0, 10.0],
    )
    assert [r["reason"] for r in out.document["schedule"]] == ["curtail_negative_price"] * 2


def test_plan_negative_export_price_never_cycles_to_burn_energy() -> None:
    # Half-full lossy battery (0.9 / 0.8, zero wear), 2 kWh surplus in each of three
    # slots, export costs 0.5, no load deficit anywhere. Exporting costs money and
    # burning the surplus through the battery losses (charge and discharge at once, or
    # charge now and discharge into the next surplus) earns nothing over curtailing, so
    # the plan never discharges and never exports. Whether the surplus is stored or
    # curtailed is a tie-break; the economics are 0.
    out = _plan(
        [1.0, 1.0, 1.0],
        export_prices=[-0.5, -0.5, -0.5],
        pv=[3.0, 3.0, 3.0],
        load=[1.0, 1.0, 1.0],
        soc=50.0,
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
    )
    assert _objective(out) == pytest.approx(0.0, abs=OBJ_TOL)
    _assert_flows(out, discharge=[0.0] * 3, exp=[0.0] * 3, imp=[0.0] * 3)
    stored = [0.9 * c for c in _col(out, "battery_charge_kw")]
    curtailed = _col(out, "pv_curtailment_kw")
    assert [s + u for s, u in zip(stored, curtailed, strict=True)] == pytest.approx(
        [2.0 - 0.1 * c for c in _col(out, "battery_charge_kw")], abs=KW_TOL
    )


def test_plan_negative_import_price_imports_and_charges() -> None:
    # 01:00 pays 0.5 SEK per imported kWh. Import as much as the house can absorb:
    # load 1 + c0 = 5 (max_charge_kw) -> i0 = 6, earning 3 SEK. PV 2 kWh is curtailed
    # because every kWh of PV used displaces a paid import; export costs 0.6, so nothing
    # is exported. 02:00 (1 SEK): d1 = 1 covers the load. Objective -0.5 * 6 = -3.
    out = _plan(
        [-0.5, 1.0],
        export_prices=[-0.6, 0.0],
        pv=[2.0, 0.0],
        load=[1.0, 1.0],
    )
    assert _objective(out) == pytest.approx(-3.0, abs=1e-7)
    _assert_flows(
        out,
        charge=[5.0, 0.0],
        discharge=[0.0, 1.0],
        imp=[6.0, 0.0],
        exp=[0.0, 0.0],
        curtail=[2.0, 0.0],
        soc=[5.0, 4.0],
    )
    assert out.document["schedule"][0]["reason"] == "negative_import_price"


@pytest.mark.parametrize(
    ("export", "expected_obj", "discharge", "exp", "curtail"),
    [
        # Full battery (10 kWh), 2 kWh PV surplus at 01:00 where export pays 1, load 2 at
        # 02:00 where import costs 2. Export on: export the surplus plus d0 = 5 (1 SEK
        # each); d1 = 5 covers the load (saving 2 SEK each) and exports 3 more (1 SEK
        # each); the battery ends empty. Objective -7 - 3 = -10, nothing imported.
        (True, -10.0, [5.0, 5.0], [7.0, 3.0], [0.0, 0.0]),
        # Export off: the surplus cannot leave the house and the battery is full, so it
        # is curtailed; d1 = 2 covers the load. Objective 0.
        (False, 0.0, [0.0, 2.0], [0.0, 0.0], [2.0, 0.0]),
    ],
)
def test_plan_export_disabled_curtails_surplus(
    export: bool,  # noqa: FBT001 - parametrized
    expected_obj: float,
    discharge: list[float],
    exp: list[float],
    curtail: list[float],
) -> None:
    out = _plan(
        [2.0, 2.0],
        export_prices=[1.0, 1.0],
        pv=[3.0, 0.0],
        load=[1.0, 2.0],
        soc=100.0,
        export=export,
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=1e-7)
    _assert_flows(
        out, charge=[0.0, 0.0], discharge=discharge, imp=[0.0, 0.0], exp=exp, curtail=curtail
    )


# --- grid limits -----------------------------------------------------------------------


def test_plan_fuse_limits_import_battery_covers_excess_load() -> None:
    # Fuse 3 kW, load 5 kWh at 02:00 (price 1): the battery must deliver 2 kWh there.
    # Charging costs 2 SEK at 01:00, so charge exactly 2 (no more: 02:00 is cheaper).
    # Objective 2 * 2 + 3 * 1 = 7, no shedding.
    out = _plan([2.0, 1.0], load=[0.0, 5.0], grid={"max_power_kw": 3.0})
    assert _objective(out) == pytest.approx(7.0, abs=OBJ_TOL)
    _assert_flows(out, charge=[2.0, 0.0], discharge=[0.0, 2.0], imp=[2.0, 3.0], shed=[0.0, 0.0])


def test_plan_import_limit_precharges_before_peak() -> None:
    # Peak shaving at 2 kW; load 1, 1, 4. 03:00 needs 2 kWh from the battery. At 01:00
    # (1 SEK) only 2 - 1 = 1 kW of charge fits under the limit, so the other 1 kWh is
    # charged at 02:00 (1.5 SEK). Objective 2 * 1 + 2 * 1.5 + 2 * 1 = 7.
    out = _plan(
        [1.0, 1.5, 1.0],
        load=[1.0, 1.0, 4.0],
        grid={"import_limit_kw": 2.0},
    )
    assert _objective(out) == pytest.approx(7.0, abs=OBJ_TOL)
    _assert_flows(
        out,
        charge=[1.0, 1.0, 0.0],
        discharge=[0.0, 0.0, 2.0],
        imp=[2.0, 2.0, 2.0],
        shed=[0.0, 0.0, 0.0],
    )


def test_plan_load_above_grid_cap_and_empty_battery_sheds() -> None:
    # Fuse 3 kW, empty battery that can only charge 1 kW: at 02:00 load 6 needs
    # 3 from the grid + 1 from the battery, so 2 kWh are shed. Shedding costs
    # 2 * P_floor = 2 * (10 * 1 + 10) = 40 SEK/kWh. Objective: 1 (charge) + 3 + 2 * 40
    # = 84 (the 1 kWh charged is used at once, the floor at 0 % never binds).
    out = _plan(
        [1.0, 1.0],
        load=[0.0, 6.0],
        grid={"max_power_kw": 3.0},
        battery=_battery(max_charge_kw=1.0),
    )
    assert _objective(out) == pytest.approx(84.0, abs=OBJ_TOL)
    _assert_flows(out, charge=[1.0, 0.0], discharge=[0.0, 1.0], imp=[1.0, 3.0], shed=[0.0, 2.0])


def test_plan_never_sheds_load_to_refill_battery_below_min() -> None:
    # Start empty, floor 50 % = 5 kWh, charge limited to 1 kW, fuse 3 kW, every price 0
    # (P_floor = 10 * 0 + 10 = 10 SEK/kWh per slot, shedding 2 * P_floor = 20 SEK/kWh).
    # The 3 kWh load at 00:00 fills the fuse, so the sane plan charges 0, 1, 1, 1:
    # E = 0, 1, 2, 3, breach 5 + 4 + 3 + 2 = 14 kWh-slots -> objective 140, no shedding.
    # Regression: by penalties alone, shedding 1 kWh at 00:00 to charge 1 kW there
    # (E = 1, 2, 3, 4, breach 10 -> 100, plus 20 for the shed kWh = 120 < 140) looked
    # cheaper: a kWh shed buys one kWh of floor in every remaining slot. Shedding must
    # stay at the physical minimum (here 0) whatever the floor penalty.
    out = _plan(
        [0.0, 0.0, 0.0, 0.0],
        load=[3.0, 0.0, 0.0, 0.0],
        grid={"max_power_kw": 3.0},
        battery=_battery(min_soc_percent=50.0, max_charge_kw=1.0),
    )
    _assert_flows(out, shed=[0.0] * 4, charge=[0.0, 1.0, 1.0, 1.0], imp=[3.0, 1.0, 1.0, 1.0])
    assert _objective(out) == pytest.approx(140.0, abs=OBJ_TOL)


# --- SoC window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_charge_kw", "expected_obj", "charge", "soc"),
    [
        # Start at 0 %, floor 20 % = 2 kWh. Charging 2 kWh at 1 SEK in the first slot
        # puts E0 on the floor: objective 2, nothing more (terminal value 0).
        (5.0, 2.0, [2.0, 0.0], [2.0, 2.0]),
        # With 1 kW of charge the floor is 1 kWh short at the end of 01:00: the breach
        # costs P_floor = 10 * 2 + 10 = 30 SEK/kWh, then 1 kWh more at 2 SEK fills it.
        # Objective 1 + 30 + 2 = 33: the floor is soft, never infeasible.
        (1.0, 33.0, [1.0, 1.0], [1.0, 2.0]),
    ],
)
def test_plan_start_below_min_soc_charges_to_floor(
    max_charge_kw: float, expected_obj: float, charge: list[float], soc: list[float]
) -> None:
    out = _plan(
        [1.0, 2.0],
        soc=0.0,
        battery=_battery(min_soc_percent=20.0, max_charge_kw=max_charge_kw),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, charge=charge, discharge=[0.0, 0.0], imp=charge, soc=soc)


def test_plan_start_above_max_soc_drains_at_once() -> None:
    # Start 100 % = 10 kWh with max 80 % = 8 kWh. Exporting earns 0.05 but costs 0.1
    # wear, so only the forced 2 kWh are exported, all in the first slot (each slot above
    # the ceiling costs P = 10 * 1 + 10 = 20 SEK/kWh). Objective 2 * 0.1 - 2 * 0.05 = 0.1.
    out = _plan(
        [1.0, 1.0],
        export_prices=[0.05, 0.05],
        soc=100.0,
        wear=0.1,
        battery=_battery(max_soc_percent=80.0),
    )
    assert _objective(out) == pytest.approx(0.1, abs=OBJ_TOL)
    _assert_flows(out, charge=[0.0, 0.0], discharge=[2.0, 0.0], exp=[2.0, 0.0], soc=[8.0, 8.0])


def test_plan_start_above_max_soc_without_outlet_is_not_infeasible() -> None:
    # Same start, but export is off: the battery can only drain into the 1 kWh load of
    # each slot. E0 = 9 is 1 kWh above the ceiling for one slot (P = 20), E1 = 8.
    # Objective 20, status optimal, nothing imported.
    out = _plan(
        [1.0, 1.0],
        load=[1.0, 1.0],
        soc=100.0,
        export=False,
        battery=_battery(max_soc_percent=80.0),
    )
    assert _objective(out) == pytest.approx(20.0, abs=OBJ_TOL)
    _assert_flows(out, discharge=[1.0, 1.0], imp=[0.0, 0.0], soc=[9.0, 8.0])


@pytest.mark.parametrize(
    ("terminal", "expected_obj", "discharge", "imp"),
    [
        # No terminal value: the 5 kWh stored give 5 * 0.8 = 4 kWh AC, exactly the load.
        # Objective 0.
        (0.0, 0.0, [2.0, 2.0], [0.0, 0.0]),
        # Terminal value 1 SEK/kWh of SoC: discharging 1 kWh AC saves 1 SEK but costs
        # 1 / 0.8 = 1.25 SEK of terminal value, so keep it; charging gains 0.9 < 1 SEK per
        # kWh bought, so do not buy either. Objective 4 * 1 - 1 * 5 = -1.
        (1.0, -1.0, [0.0, 0.0], [2.0, 2.0]),
    ],
)
def test_plan_terminal_value_keeps_energy(
    terminal: float, expected_obj: float, discharge: list[float], imp: list[float]
) -> None:
    out = _plan(
        [1.0, 1.0],
        load=[2.0, 2.0],
        soc=50.0,
        battery=_battery(charge_efficiency=0.9, discharge_efficiency=0.8),
        kepler={"terminal_value_sek_per_kwh": terminal},
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, charge=[0.0, 0.0], discharge=discharge, imp=imp)


@pytest.mark.parametrize(
    ("threshold", "expected_obj", "energy_cost", "exp"),
    [
        # Full battery, export pays 0.3, nothing else to do: export 5 + 5 = 10 kWh.
        (0.0, -3.0, -3.0, [5.0, 5.0]),
        # Threshold 0.2: still earns 0.1 per kWh in the objective (-1), energy cost -3.
        (0.2, -1.0, -3.0, [5.0, 5.0]),
        # Threshold 0.4 > 0.3: the export is marginal, keep the energy. Objective 0.
        (0.4, 0.0, 0.0, [0.0, 0.0]),
    ],
)
def test_plan_export_threshold_blocks_marginal_export(
    threshold: float, expected_obj: float, energy_cost: float, exp: list[float]
) -> None:
    out = _plan(
        [1.0, 1.0],
        export_prices=[0.3, 0.3],
        soc=100.0,
        kepler={"export_threshold_sek_per_kwh": threshold},
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    assert out.document["meta"]["energy_cost_sek"] == pytest.approx(energy_cost, abs=1e-6)
    _assert_flows(out, discharge=exp, exp=exp, imp=[0.0, 0.0])


@pytest.mark.parametrize(
    ("ramp", "expected_obj", "charge"),
    [
        # No ramping cost: any split of the 4 kWh over 01:00 and 02:00 is optimal;
        # objective 4 (only the total is checked below).
        (0.0, 4.0, None),
        # Battery power (d - c) is [-a, -b, 4] with a + b = 4; the ramp is
        # |a - b| + |4 + b|, smallest (6 kW) at a = b = 2. Cycling 1 kWh saves
        # 3 - 1 = 2 SEK and costs 1.5 * 0.1 of ramping, so cycle all 4:
        # objective 4 * 1 + 0.1 * 6 = 4.6.
        (0.1, 4.6, [2.0, 2.0, 0.0]),
    ],
)
def test_plan_ramping_cost_smooths_charging(
    ramp: float, expected_obj: float, charge: list[float] | None
) -> None:
    out = _plan(
        [1.0, 1.0, 3.0],
        load=[0.0, 0.0, 4.0],
        kepler={"ramping_cost_sek_per_kw": ramp},
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    assert sum(_col(out, "battery_charge_kw")) == pytest.approx(4.0, abs=KW_TOL)
    _assert_flows(out, discharge=[0.0, 0.0, 4.0], imp=[*_col(out, "battery_charge_kw")[:2], 0.0])
    if charge is not None:
        _assert_flows(out, charge=charge)


def test_plan_ramping_cost_above_spread_blocks_cycle() -> None:
    # Cycling x kWh saves 2x and, split evenly, ramps 1.5x kW; at 2 SEK/kW that costs
    # 3x > 2x: no cycle. Objective 4 * 3 = 12.
    out = _plan(
        [1.0, 1.0, 3.0],
        load=[0.0, 0.0, 4.0],
        kepler={"ramping_cost_sek_per_kw": 2.0},
    )
    assert _objective(out) == pytest.approx(12.0, abs=OBJ_TOL)
    _assert_flows(out, charge=[0.0, 0.0, 0.0], discharge=[0.0, 0.0, 0.0], imp=[0.0, 0.0, 4.0])


# --- water heater ----------------------------------------------------------------------


def _water(**overrides: Any) -> dict[str, Any]:
    water: dict[str, Any] = {
        "power_kw": 2.0,
        "min_kwh_per_day": 4.0,
        "defer_up_to_hours": 3.0,
        "block_start_penalty_sek": 0.0,
        "max_hours_between_heating": None,
        "min_spacing_hours": 0.0,
        "enable_top_ups": False,
    }
    water.update(overrides)
    return water


@pytest.mark.parametrize(
    ("heated_today", "expected_obj", "water"),
    [
        # Quota 4 kWh = two 2-kW hours; cheapest are 00:00 (0.5) and 22:00 (1):
        # 2 * (0.5 + 1) = 3.
        (0.0, 3.0, [0, 2, 0, 2, 0, 0]),
        # 2 kWh already heated today: one hour left, at 00:00: 2 * 0.5 = 1.
        (2.0, 1.0, [0, 0, 0, 2, 0, 0]),
    ],
)
def test_plan_water_heater_uses_cheapest_slots(
    heated_today: float, expected_obj: float, water: list[float]
) -> None:
    out = _plan(
        [3.0, 1.0, 2.0, 0.5, 4.0, 1.5],
        start=WATER_DAY_START,
        water_heated_today_kwh=heated_today,
        has_battery=False,
        water=_water(),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, water=water, imp=water)
    assert out.document["meta"]["warnings"] == []


@pytest.mark.parametrize(
    ("penalty", "expected_obj", "water"),
    [
        # No start cost: the two cheapest hours 21:00 (1) and 00:00 (1.2), two blocks:
        # 2 * (1 + 1.2) = 4.4.
        (0.0, 4.4, [2, 0, 0, 2, 0, 0]),
        # 1 SEK per block start: two blocks cost 4.4 + 2 = 6.4, one block 21:00-23:00
        # costs 2 * (1 + 1.5) + 1 = 6: merge.
        (1.0, 6.0, [2, 2, 0, 0, 0, 0]),
    ],
)
def test_plan_water_block_start_penalty_merges_blocks(
    penalty: float, expected_obj: float, water: list[float]
) -> None:
    out = _plan(
        [1.0, 1.5, 5.0, 1.2, 5.0, 5.0],
        start=WATER_DAY_START,
        has_battery=False,
        water=_water(block_start_penalty_sek=penalty),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, water=water)


@pytest.mark.parametrize(
    ("top_ups", "expected_obj", "water"),
    [
        # Quota 2 kWh = one hour, met at 22:00 (-1 SEK): 2 * -1 = -2. With top-ups the
        # element also runs at 00:00 (-0.5), which pays 1 SEK more: -3.
        (True, -3.0, [0, 2, 0, 2, 0, 0]),
        # Without top-ups the day is capped at its quota: only 22:00.
        (False, -2.0, [0, 2, 0, 0, 0, 0]),
    ],
)
def test_plan_water_top_up_only_when_enabled(
    top_ups: bool,  # noqa: FBT001 - parametrized
    expected_obj: float,
    water: list[float],
) -> None:
    out = _plan(
        [0.5, -1.0, 1.0, -0.5, 1.0, 1.0],
        start=WATER_DAY_START,
        has_battery=False,
        water=_water(min_kwh_per_day=2.0, enable_top_ups=top_ups),
    )
    assert _objective(out) == pytest.approx(expected_obj, abs=OBJ_TOL)
    _assert_flows(out, water=water, imp=water)


def test_plan_water_impossible_quota_reports_shortfall() -> None:
    # Quota 20 kWh, but six hours at 2 kW give at most 12: heat every hour (12 SEK at
    # 1 SEK/kWh) and pay the shortfall 8 kWh * (max price 1 + 5) = 48. Objective 60.
    # Still optimal, with a warning.
    out = _plan(
        [1.0] * 6,
        start=WATER_DAY_START,
        has_battery=False,
        water=_water(min_kwh_per_day=20.0),
    )
    assert out.document["meta"]["status"] == "optimal"
    assert _objective(out) == pytest.approx(60.0, abs=OBJ_TOL)
    _assert_flows(out, water=[2.0] * 6)
    warnings = out.document["meta"]["warnings"]
    assert len(warnings) == 1
    assert "short by 8.00 kWh" in warnings[0]
    assert "required 20.00 kWh" in warnings[0]


def test_plan_water_blocked_by_fuse_reports_shortfall() -> None:
    # A 2 kW element behind a 1 kW fuse can never run: the whole 4 kWh quota is short,
    # 4 * (2 + 5) = 28 SEK, the 1 kWh loads are imported (1 + 2 = 3). Objective 31.
    out = _plan(
        [1.0, 2.0],
        load=[1.0, 1.0],
        start="2026-03-10T01:00:00+01:00",
        has_battery=False,
        grid={"max_power_kw": 1.0},
        water=_water(),
    )
    assert out.document["meta"]["status"] == "optimal"
    assert _objective(out) == pytest.approx(31.0, abs=OBJ_TOL)
    _assert_flows(out, water=[0.0, 0.0], imp=[1.0, 1.0], shed=[0.0, 0.0])
    assert len(out.document["meta"]["warnings"]) == 1


def test_plan_never_sheds_load_to_heat_water() -> None:
    # One hour, 3 kW fuse, 0.2 kWh household load, 3 kW element, 3 kWh quota, 1 SEK.
    # Heating needs 3.2 kW: it does not fit the fuse, so the sane plan is: import the
    # load (0.2 SEK) and report the quota short, 3 kWh * (1 + 5) = 18. Objective 18.2.
    # Regression: by penalties alone, heating and shedding the 0.2 kWh of load looked
    # cheaper: 3 + 0.2 * 2 * (10 * 1 + 10) = 11 < 18.2, a fuse overload for hot water.
    out = _plan(
        [1.0],
        load=[0.2],
        start="2026-03-10T02:00:00+01:00",
        has_battery=False,
        grid={"max_power_kw": 3.0},
        water=_water(power_kw=3.0, min_kwh_per_day=3.0),
    )
    _assert_flows(out, shed=[0.0], water=[0.0], imp=[0.2])
    assert _objective(out) == pytest.approx(18.2, abs=OBJ_TOL)
    assert len(out.document["meta"]["warnings"]) == 1


def test_plan_never_breaks_min_soc_to_heat_water() -> None:
    # One hour, import capped at 2.5 kW (peak shaving), battery at its 10 % floor (1 kWh),
    # no load, 3 kW element, 3 kWh quota, 1 SEK. Heating needs 0.5 kW from the battery,
    # below its floor; the plan keeps the floor and reports the quota short:
    # 3 * (1 + 5) = 18. Regression: by penalties alone, heating with a 0.5 kWh floor
    # breach looked cheaper: import 2.5 + 0.5 * (10 * 1 + 10) = 12.5 < 18.
    out = _plan(
        [1.0],
        soc=10.0,
        start="2026-03-10T02:00:00+01:00",
        battery=_battery(min_soc_percent=10.0),
        grid={"import_limit_kw": 2.5},
        water=_water(power_kw=3.0, min_kwh_per_day=3.0),
    )
    _assert_flows(out, water=[0.0], discharge=[0.0], soc=[1.0])
    assert _objective(out) == pytest.approx(18.0, abs=OBJ_TOL)
    assert len(out.document["meta"]["warnings"]) == 1


def test_plan_start_above_max_never_breaks_min_soc_to_heat_water() -> None:
    # Two hours, floor 40 % (4 kWh), ceiling 50 % (5 kWh), start 52 % (5.2 kWh), no load,
    # export off, import capped at 1.5 kW, 3 kW element, 3 kWh quota, 1 SEK,
    # P = 10 * 1 + 10 = 20. Heating needs 1.5 kW from the battery: 5.2 -> 3.7 kWh, below
    # the floor, so it cannot heat without an unforced breach. Without the element the
    # excess 0.2 kWh cannot leave the battery (no load, no export): 2 * 0.2 * 20 = 8, plus
    # the shortfall 3 * (1 + 5) = 18. Objective 26, SoC 5.2, 5.2.
    # Regression: with one SoC-violation budget (8 SEK) for floor and ceiling together,
    # heating at 01:00 removed the excess and spent the freed budget on a 0.3 kWh floor
    # breach for one slot (6 <= 8): import 1.5 + 0.3, objective 1.8 + 6 = 7.8.
    out = _plan(
        [1.0, 1.0],
        soc=52.0,
        start="2026-03-10T01:00:00+01:00",
        export=False,
        battery=_battery(min_soc_percent=40.0, max_soc_percent=50.0),
        grid={"import_limit_kw": 1.5},
        water=_water(power_kw=3.0, min_kwh_per_day=3.0),
    )
    _assert_flows(out, water=[0.0, 0.0], soc=[5.2, 5.2])
    assert _objective(out) == pytest.approx(26.0, abs=OBJ_TOL)


@pytest.mark.parametrize(
    ("export", "threshold"),
    [(False, 0.0), (True, 0.4)],
    ids=["export_disabled", "below_export_threshold"],
)
def test_plan_curtailment_reason_names_its_cause(
    export: bool,  # noqa: FBT001 - parametrized
    threshold: float,
) -> None:
    # 2 kWh PV, no load, no battery, export pays +0.3 SEK/kWh. With export off, or with a
    # 0.4 SEK/kWh export threshold (0.3 - 0.4 < 0 in the objective), the surplus is
    # curtailed: objective 0. The price is positive, so "negative price" is not the cause.
    out = _plan(
        [1.0],
        export_prices=[0.3],
        pv=[2.0],
        has_battery=False,
        export=export,
        kepler={"export_threshold_sek_per_kwh": threshold},
    )
    assert _objective(out) == pytest.approx(0.0, abs=OBJ_TOL)
    _assert_flows(out, exp=[0.0], curtail=[2.0])
    assert out.document["schedule"][0]["reason"] != "curtail_negative_price"
