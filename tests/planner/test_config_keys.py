"""Every config key that ``darkstar plan`` must honour reaches the model (DESIGN §3.1, §4).

One case per leaf key of :class:`~darkstar.config.models.DarkstarConfig`: a small scenario
in which the key matters is planned twice, with two values of the key and everything else
equal, and the case asserts the specific difference the key must make (objective, plan,
model size, adjusted forecasts, target SoC or solver options). Most scenarios are
hand-computable (ideal battery, hourly slots, no wear, no water heater) and assert the exact
objective. :func:`test_every_config_key_has_a_case` fails when a key is added to the config
without a case here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from darkstar.config import DarkstarConfig, merge_config
from darkstar.examples import build_request
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver import model as solver_model

Scenario = Callable[[dict[str, Any]], dict[str, Any]]

#: Objectives are compared to hand-computed values within this [SEK]: the solver's
#: tie-breaks (fractions of an öre per kWh) may add a little, nothing real can hide in it.
OBJ_TOL = 2e-3

#: An ideal 10 kWh battery (efficiency 1, no wear, SoC window 0-100 %) and no water heater,
#: so that battery scenarios have round, hand-computable objectives.
IDEAL_BATTERY: dict[str, Any] = {
    "system": {"has_battery": True, "has_water_heater": False},
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
}

#: Neither battery nor water heater: forecasts and grid only.
NO_DEVICES: dict[str, Any] = {"system": {"has_battery": False, "has_water_heater": False}}

#: A 2 kW water heater with a 4 kWh quota and every comfort feature off; no battery.
PLAIN_WATER: dict[str, Any] = {
    "system": {"has_battery": False, "has_water_heater": True},
    "water_heating": {
        "power_kw": 2.0,
        "min_kwh_per_day": 4.0,
        "defer_up_to_hours": 0.0,
        "block_start_penalty_sek": 0.0,
        "max_hours_between_heating": None,
        "comfort_level": 3,
        "min_spacing_hours": 0.0,
        "enable_top_ups": False,
        "decision_minutes": None,
    },
}


def _nested(key: str, value: object) -> dict[str, Any]:
    """``"battery.capacity_kwh", 5`` -> ``{"battery": {"capacity_kwh": 5}}``."""
    out: dict[str, Any] = {}
    node = out
    *parents, leaf = key.split(".")
    for part in parents:
        node[part] = {}
        node = node[part]
    node[leaf] = value
    return out


def _plan(
    scenario: Scenario, base: dict[str, Any], key: str, value: object, *, mode: str = "baseline"
) -> PlanOutcome:
    """Plan ``scenario`` with ``base`` config and ``key`` set to ``value``."""
    return plan_request(scenario(merge_config(base, _nested(key, value))), mode=mode)


def _col(out: PlanOutcome, name: str) -> np.ndarray:
    return np.array([row[name] for row in out.document["schedule"]], dtype=np.float64)


def _objective(out: PlanOutcome) -> float:
    assert out.document["meta"]["status"] == "optimal"
    return out.result.objective_sek


def _starts(water_kw: np.ndarray) -> list[int]:
    """Slots where a heating block starts."""
    on = water_kw > 0
    return [t for t in range(len(on)) if on[t] and (t == 0 or not on[t - 1])]


# --- scenarios ---------------------------------------------------------------------------


def _arbitrage(config: dict[str, Any]) -> dict[str, Any]:
    """Two cheap hours (1 SEK) then two dear hours (3 SEK) with 5 kWh load each, empty battery.

    Ideal battery: charge 5 + 5 kWh at 1 SEK, discharge 5 + 5 kWh at 3 SEK -> 10 SEK
    (no battery: 30 SEK).
    """
    return build_request(
        import_prices=[1.0, 1.0, 3.0, 3.0],
        load_kwh=[0.0, 0.0, 5.0, 5.0],
        soc_percent=0.0,
        config=config,
    )


def _half_full_arbitrage(config: dict[str, Any]) -> dict[str, Any]:
    """Like :func:`_arbitrage` but the battery starts at 50 %."""
    request = _arbitrage(config)
    request["state"]["soc_percent"] = 50.0
    return request


def _pv_surplus(config: dict[str, Any]) -> dict[str, Any]:
    """One hour with 5 kWh PV surplus, export price 0.1 SEK/kWh, no battery."""
    return build_request(
        import_prices=[1.0],
        export_prices=[0.1],
        pv_kwh=[5.0],
        config=merge_config(config, {"system": {"has_battery": False, "has_water_heater": False}}),
    )


def _sell_or_keep(config: dict[str, Any]) -> dict[str, Any]:
    """Two hours, no load, import 2 SEK, export 1 SEK, battery at 50 %."""
    return build_request(
        import_prices=[2.0, 2.0], export_prices=[1.0, 1.0], soc_percent=50.0, config=config
    )


def _water_day(prices: list[float]) -> Scenario:
    """A local day (hourly slots from midnight) with these import prices."""

    def scenario(config: dict[str, Any]) -> dict[str, Any]:
        return build_request(import_prices=prices, config=config)

    return scenario


#: Two cheap hours at 00-02, flat afterwards.
CHEAP_MORNING = _water_day([0.1, 0.1] + [1.0] * 22)
#: The two cheapest hours (01 and 03) are one hour apart.
SPLIT_CHEAP = _water_day([5.0, 1.0, 5.0, 1.2] + [5.0] * 20)
#: Negative prices for four hours.
NEGATIVE_MORNING = _water_day([-1.0] * 4 + [1.0] * 20)
#: Distinct prices: 01 and 02 the cheapest of 00-03, 22 and 23 the cheapest of the day.
CHEAP_EVENING = _water_day([1.2, 1.0, 1.1] + [2.0] * 19 + [0.1, 0.2])


def _quarter_hours(config: dict[str, Any]) -> dict[str, Any]:
    """A day of 15-minute slots with noisy prices (cheapest quarters in different hours)."""
    prices = np.round(1.0 + np.random.default_rng(0).random(96), 3).tolist()
    return build_request(import_prices=prices, slot_minutes=15, config=config)


def _legionella(last_days_ago: int | None) -> Scenario:
    """A flat-price day with the last anti-legionella cycle ``last_days_ago`` days ago."""

    def scenario(config: dict[str, Any]) -> dict[str, Any]:
        request = build_request(import_prices=[1.0] * 24, config=config)
        if last_days_ago is not None:
            request["state"]["water_last_legionella_at"] = (
                f"2026-03-{10 - last_days_ago:02d}T00:00:00+01:00"
            )
        return request

    return scenario


def _overnight(config: dict[str, Any]) -> dict[str, Any]:
    """From 00:00 to 12:00, no load, prices falling by 1 öre an hour, battery at 0 %.

    Only the target-SoC floor makes the battery charge, and as late as it can.
    """
    prices = [1.2 - 0.01 * t for t in range(12)]
    return build_request(import_prices=prices, soc_percent=0.0, config=config)


def _sunny(config: dict[str, Any]) -> dict[str, Any]:
    """Two hours with PV above the load, import 1 SEK/kWh, export 0.5 SEK/kWh."""
    return build_request(
        import_prices=[1.0, 1.0],
        export_prices=[0.5, 0.5],
        pv_kwh=[2.0, 4.0],
        load_kwh=[1.0, 2.0],
        config=config,
    )


# --- the cases, one per key --------------------------------------------------------------

CASES: dict[str, Callable[[str], None]] = {}


def _case(key: str) -> Callable[[Callable[[str], None]], Callable[[str], None]]:
    def register(func: Callable[[str], None]) -> Callable[[str], None]:
        assert key not in CASES, f"two cases for {key}"
        CASES[key] = func
        return func

    return register


@_case("system.has_battery")
def _has_battery(key: str) -> None:
    with_battery = _plan(_arbitrage, IDEAL_BATTERY, key, True)
    without = _plan(_arbitrage, IDEAL_BATTERY, key, False)
    assert _objective(with_battery) == pytest.approx(10.0, abs=OBJ_TOL)
    assert _objective(without) == pytest.approx(30.0, abs=OBJ_TOL)
    assert without.kepler_input.battery is None
    assert not _col(without, "battery_charge_kw").any()


@_case("system.has_water_heater")
def _has_water_heater(key: str) -> None:
    with_heater = _plan(CHEAP_MORNING, PLAIN_WATER, key, True)
    without = _plan(CHEAP_MORNING, PLAIN_WATER, key, False)
    assert _col(with_heater, "water_heating_kw").sum() == pytest.approx(4.0)
    assert without.kepler_input.water is None
    assert not _col(without, "water_heating_kw").any()
    assert _objective(with_heater) > _objective(without) + 0.1


@_case("battery.capacity_kwh")
def _capacity(key: str) -> None:
    # 5 kWh: charge 5 at 1 SEK, import the other 5 at 3 SEK -> 20 SEK.
    assert _objective(_plan(_arbitrage, IDEAL_BATTERY, key, 10.0)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    small = _plan(_arbitrage, IDEAL_BATTERY, key, 5.0)
    assert _objective(small) == pytest.approx(20.0, abs=OBJ_TOL)
    assert _col(small, "projected_soc_kwh").max() == pytest.approx(5.0)


@_case("battery.min_soc_percent")
def _min_soc(key: str) -> None:
    # 5 kWh stored at start; floor 0: charge 5 more at 1 SEK -> 5 SEK. Floor 50 %: only
    # 5 kWh usable (charge 5, discharge 5), import 5 at 3 SEK -> 20 SEK.
    low = _plan(_half_full_arbitrage, IDEAL_BATTERY, key, 0.0)
    high = _plan(_half_full_arbitrage, IDEAL_BATTERY, key, 50.0)
    assert _objective(low) == pytest.approx(5.0, abs=OBJ_TOL)
    assert _objective(high) == pytest.approx(20.0, abs=OBJ_TOL)
    assert _col(high, "projected_soc_percent").min() >= 50.0 - 1e-6


@_case("battery.max_soc_percent")
def _max_soc(key: str) -> None:
    full = _plan(_arbitrage, IDEAL_BATTERY, key, 100.0)
    half = _plan(_arbitrage, IDEAL_BATTERY, key, 50.0)
    assert _objective(full) == pytest.approx(10.0, abs=OBJ_TOL)
    assert _objective(half) == pytest.approx(20.0, abs=OBJ_TOL)
    assert _col(half, "projected_soc_percent").max() <= 50.0 + 1e-6


@_case("battery.max_charge_kw")
def _max_charge(key: str) -> None:
    slow = _plan(_arbitrage, IDEAL_BATTERY, key, 2.5)
    assert _objective(_plan(_arbitrage, IDEAL_BATTERY, key, 5.0)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    assert _objective(slow) == pytest.approx(5.0 + 5.0 * 3.0, abs=OBJ_TOL)
    assert _col(slow, "battery_charge_kw").max() == pytest.approx(2.5)


@_case("battery.max_discharge_kw")
def _max_discharge(key: str) -> None:
    slow = _plan(_arbitrage, IDEAL_BATTERY, key, 2.5)
    assert _objective(_plan(_arbitrage, IDEAL_BATTERY, key, 5.0)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    assert _objective(slow) == pytest.approx(5.0 + 5.0 * 3.0, abs=OBJ_TOL)
    assert _col(slow, "battery_discharge_kw").max() == pytest.approx(2.5)


@_case("battery.charge_efficiency")
def _charge_efficiency(key: str) -> None:
    # eta_c = 0.5: 10 kWh in (the charge limit over two hours) stores 5 kWh; the other
    # 5 kWh of load are imported at 3 SEK -> 10 + 15 = 25 SEK.
    lossy = _plan(_arbitrage, IDEAL_BATTERY, key, 0.5)
    assert _objective(lossy) == pytest.approx(25.0, abs=OBJ_TOL)
    assert _col(lossy, "projected_soc_kwh").max() == pytest.approx(5.0)
    assert _col(lossy, "battery_charge_kw").sum() == pytest.approx(10.0)


@_case("battery.discharge_efficiency")
def _discharge_efficiency(key: str) -> None:
    # eta_d = 0.5: 10 kWh stored give 5 kWh AC; 5 kWh imported at 3 SEK -> 25 SEK.
    lossy = _plan(_arbitrage, IDEAL_BATTERY, key, 0.5)
    assert _objective(lossy) == pytest.approx(25.0, abs=OBJ_TOL)
    assert _col(lossy, "battery_discharge_kw").sum() == pytest.approx(5.0)
    assert _col(lossy, "projected_soc_kwh")[1] == pytest.approx(10.0)


@_case("battery_economics.battery_cycle_cost_kwh")
def _cycle_cost(key: str) -> None:
    # 0.5 SEK per kWh charged and per kWh discharged: 10 + 0.5 x 20 = 20 SEK. At 1.5 SEK
    # a cycled kWh costs 3 SEK of wear and saves 2 SEK: the battery stays idle, 30 SEK.
    worn = _plan(_arbitrage, IDEAL_BATTERY, key, 0.5)
    assert _objective(worn) == pytest.approx(20.0, abs=OBJ_TOL)
    assert worn.document["meta"]["wear_cost_sek"] == pytest.approx(10.0)
    expensive = _plan(_arbitrage, IDEAL_BATTERY, key, 1.5)
    assert _objective(expensive) == pytest.approx(30.0, abs=OBJ_TOL)
    assert not _col(expensive, "battery_charge_kw").any()


@_case("grid.max_power_kw")
def _max_power(key: str) -> None:
    # 3 kW fuse: charge 3 + 3 kWh at 1 SEK, import the other 4 kWh at 3 SEK -> 18 SEK.
    capped = _plan(_arbitrage, IDEAL_BATTERY, key, 3.0)
    assert _objective(_plan(_arbitrage, IDEAL_BATTERY, key, 11.0)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    assert _objective(capped) == pytest.approx(18.0, abs=OBJ_TOL)
    assert _col(capped, "grid_import_kw").max() <= 3.0 + 1e-6
    # The fuse also caps export.
    sunny = _plan(_pv_surplus, {}, key, 2.0)
    assert _col(sunny, "grid_export_kw").max() == pytest.approx(2.0)
    assert _col(sunny, "pv_curtailment_kw").sum() == pytest.approx(3.0)


@_case("grid.import_limit_kw")
def _import_limit(key: str) -> None:
    capped = _plan(_arbitrage, IDEAL_BATTERY, key, 3.0)
    assert _objective(_plan(_arbitrage, IDEAL_BATTERY, key, None)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    assert _objective(capped) == pytest.approx(18.0, abs=OBJ_TOL)
    assert _col(capped, "grid_import_kw").max() <= 3.0 + 1e-6
    # Peak shaving caps import only, never export.
    assert _col(_plan(_pv_surplus, {}, key, 1.0), "grid_export_kw").max() == pytest.approx(5.0)


@_case("export.enable_export")
def _enable_export(key: str) -> None:
    exporting = _plan(_pv_surplus, {}, key, True)
    curtailing = _plan(_pv_surplus, {}, key, False)
    assert _col(exporting, "grid_export_kw").sum() == pytest.approx(5.0)
    assert _objective(exporting) == pytest.approx(-0.5, abs=OBJ_TOL)
    assert not _col(curtailing, "grid_export_kw").any()
    assert _col(curtailing, "pv_curtailment_kw").sum() == pytest.approx(5.0)
    assert _objective(curtailing) == pytest.approx(0.0, abs=OBJ_TOL)


@_case("water_heating.power_kw")
def _water_power(key: str) -> None:
    # Quota 4 kWh: two hours at 2 kW, or, at 4 kW, one hour (00-01, the cheapest).
    two = _col(_plan(CHEAP_MORNING, PLAIN_WATER, key, 2.0), "water_heating_kw")
    four = _col(_plan(CHEAP_MORNING, PLAIN_WATER, key, 4.0), "water_heating_kw")
    assert set(two.tolist()) == {0.0, 2.0}
    assert two.sum() == pytest.approx(4.0)
    assert set(four.tolist()) == {0.0, 4.0}
    assert four.sum() == pytest.approx(4.0)


@_case("water_heating.min_kwh_per_day")
def _water_quota(key: str) -> None:
    four = _plan(CHEAP_MORNING, PLAIN_WATER, key, 4.0)
    eight = _plan(CHEAP_MORNING, PLAIN_WATER, key, 8.0)
    assert _col(four, "water_heating_kw").sum() == pytest.approx(4.0)
    assert _col(eight, "water_heating_kw").sum() == pytest.approx(8.0)
    # 00-02 at 0.1 SEK, then two hours at 1 SEK.
    assert _objective(eight) == pytest.approx(0.4 + 4.0, abs=OBJ_TOL)


@_case("water_heating.defer_up_to_hours")
def _water_defer(key: str) -> None:
    # Deferral 0: one water day (today), 4 kWh = two hours in the two cheapest, 22 and 23:
    # 2 x (0.1 + 0.2) = 0.6 SEK. Deferral 3 h: 00-03 still belongs to yesterday's water day,
    # whose quota (nothing heated yet) must be met before 03:00: hours 01 and 02,
    # 2 x (1.0 + 1.1) = 4.2 SEK. Today's window 03:00 -> 03:00 asks for 21/24 of the quota,
    # 4 x 21/24 = 3.5 kWh, rounded down to whole 2 kWh hours: 1.75 -> one hour = 2 kWh:
    # hour 22 at 0.1 SEK, 0.2 SEK. Total 4.4 SEK. Its cap is the full quota, 4 kWh = two
    # whole hours (no top-ups), so hour 23 would be allowed too, but at 0.2 SEK/kWh it
    # would only add 0.4 SEK: heat beyond the required kWh has no value in the model.
    now = _plan(CHEAP_EVENING, PLAIN_WATER, key, 0.0)
    deferred = _plan(CHEAP_EVENING, PLAIN_WATER, key, 3.0)
    assert np.flatnonzero(_col(now, "water_heating_kw")).tolist() == [22, 23]
    assert _objective(now) == pytest.approx(0.6, abs=OBJ_TOL)
    assert np.flatnonzero(_col(deferred, "water_heating_kw")).tolist() == [1, 2, 22]
    assert _objective(deferred) == pytest.approx(4.4, abs=OBJ_TOL)
    days = deferred.kepler_input.water.days  # type: ignore[union-attr]
    assert [(d.first_slot, d.end_slot) for d in days] == [(0, 3), (3, 24)]
    assert [d.required_kwh for d in days] == pytest.approx([4.0, 2.0])
    assert [d.max_kwh for d in days] == pytest.approx([4.0, 4.0])


@_case("water_heating.block_start_penalty_sek")
def _block_start(key: str) -> None:
    # Cheapest hours 01 and 03 (two blocks, 4.4 SEK); at 10 SEK per start one block of two
    # hours (12 SEK of energy) is cheaper.
    free = _plan(SPLIT_CHEAP, PLAIN_WATER, key, 0.0)
    penalised = _plan(SPLIT_CHEAP, PLAIN_WATER, key, 10.0)
    assert _starts(_col(free, "water_heating_kw")) == [1, 3]
    assert len(_starts(_col(penalised, "water_heating_kw"))) == 1
    assert _objective(penalised) == pytest.approx(12.0 + 10.0, abs=OBJ_TOL)


@_case("water_heating.max_hours_between_heating")
def _max_hours_between(key: str) -> None:
    # Without a comfort window both heating hours go to the cheap morning; with a 6-hour
    # window at comfort level 5 the heating is spread out to cover more windows.
    base = merge_config(PLAIN_WATER, {"water_heating": {"comfort_level": 5}})
    none = _plan(CHEAP_MORNING, base, key, None)
    six = _plan(CHEAP_MORNING, base, key, 6.0)
    assert np.flatnonzero(_col(none, "water_heating_kw")).tolist() == [0, 1]
    assert len(_starts(_col(six, "water_heating_kw"))) == 2
    assert six.kepler_input.water.comfort_window_slots == 6  # type: ignore[union-attr]
    assert six.result.report.n_variables > none.result.report.n_variables


@_case("water_heating.comfort_level")
def _comfort_level(key: str) -> None:
    # A gap hour costs 0.1 SEK at level 1 (not worth moving 2 kWh away from 0.1 SEK) and
    # 2 SEK at level 5 (worth it).
    base = merge_config(PLAIN_WATER, {"water_heating": {"max_hours_between_heating": 6.0}})
    low = _plan(CHEAP_MORNING, base, key, 1)
    high = _plan(CHEAP_MORNING, base, key, 5)
    assert np.flatnonzero(_col(low, "water_heating_kw")).tolist() == [0, 1]
    assert len(_starts(_col(high, "water_heating_kw"))) == 2
    assert low.kepler_input.water.comfort_gap_penalty_sek == pytest.approx(0.1)  # type: ignore[union-attr]
    assert high.kepler_input.water.comfort_gap_penalty_sek == pytest.approx(2.0)  # type: ignore[union-attr]


@_case("water_heating.min_spacing_hours")
def _min_spacing(key: str) -> None:
    # Blocks at 01 and 03 leave a 1-hour pause; a 2-hour spacing forbids it.
    free = _plan(SPLIT_CHEAP, PLAIN_WATER, key, 0.0)
    spaced = _col(_plan(SPLIT_CHEAP, PLAIN_WATER, key, 2.0), "water_heating_kw")
    assert _starts(_col(free, "water_heating_kw")) == [1, 3]
    on = np.flatnonzero(spaced)
    assert on.tolist() in ([0, 1], [1, 2])


@_case("water_heating.enable_top_ups")
def _top_ups(key: str) -> None:
    capped = _plan(NEGATIVE_MORNING, PLAIN_WATER, key, False)
    topped = _plan(NEGATIVE_MORNING, PLAIN_WATER, key, True)
    assert _col(capped, "water_heating_kw").sum() == pytest.approx(4.0)
    assert _col(topped, "water_heating_kw").sum() == pytest.approx(8.0)
    assert _objective(topped) == pytest.approx(-8.0, abs=OBJ_TOL)


@_case("water_heating.decision_minutes")
def _decision_minutes(key: str) -> None:
    base = merge_config(PLAIN_WATER, {"water_heating": {"min_kwh_per_day": 2.0}})
    quarter = _plan(_quarter_hours, base, key, 15)
    hourly = _plan(_quarter_hours, base, key, 60)
    q_on = _col(quarter, "water_heating_kw").reshape(24, 4) > 0
    h_on = _col(hourly, "water_heating_kw").reshape(24, 4) > 0
    assert (h_on.all(axis=1) | ~h_on.any(axis=1)).all(), "hourly decisions split an hour"
    assert not (q_on.all(axis=1) | ~q_on.any(axis=1)).all()
    assert quarter.kepler_input.water.decision_group is None  # type: ignore[union-attr]
    assert hourly.result.report.n_constraints > quarter.result.report.n_constraints
    assert _objective(hourly) > _objective(quarter)


@_case("water_heating.vacation_mode.enabled")
def _vacation_enabled(key: str) -> None:
    # Last cycle one day ago: on vacation nothing is due, so nothing is heated.
    home = _plan(_legionella(1), PLAIN_WATER, key, False)
    away = _plan(_legionella(1), PLAIN_WATER, key, True)
    assert _col(home, "water_heating_kw").sum() == pytest.approx(4.0)
    assert not _col(away, "water_heating_kw").any()
    assert away.kepler_input.water.days == ()  # type: ignore[union-attr]


@_case("water_heating.vacation_mode.anti_legionella_interval_days")
def _legionella_interval(key: str) -> None:
    base = merge_config(PLAIN_WATER, {"water_heating": {"vacation_mode": {"enabled": True}}})
    # Last cycle three days ago: due with a 2-day interval, not due with 7 days.
    due = _plan(_legionella(3), base, key, 2.0)
    not_due = _plan(_legionella(3), base, key, 7.0)
    assert _col(due, "water_heating_kw").sum() == pytest.approx(4.0)  # 3 kWh -> 2 hours
    assert not _col(not_due, "water_heating_kw").any()


@_case("water_heating.vacation_mode.anti_legionella_kwh")
def _legionella_kwh(key: str) -> None:
    base = merge_config(PLAIN_WATER, {"water_heating": {"vacation_mode": {"enabled": True}}})
    small = _plan(_legionella(None), base, key, 2.0)
    large = _plan(_legionella(None), base, key, 6.0)
    assert _col(small, "water_heating_kw").sum() == pytest.approx(2.0)
    assert _col(large, "water_heating_kw").sum() == pytest.approx(6.0)


def _highs_option(key: str, value: float, option: str) -> list[float]:
    """Plan with ``key = value``; return ``option`` as set on every HiGHS instance used."""
    created: list[Any] = []
    original = solver_model._new_highs

    def spy() -> Any:
        highs = original()
        created.append(highs)
        return highs

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solver_model, "_new_highs", spy)
        out = _plan(_arbitrage, IDEAL_BATTERY, key, value)
    assert out.document["meta"]["status"] == "optimal"
    assert created, "no HiGHS instance was created"
    status_values = [h.getOptionValue(option) for h in created]
    return [v[1] if isinstance(v, tuple) else v for v in status_values]


@_case("kepler.time_limit_s")
def _time_limit(key: str) -> None:
    # The first solve gets the whole budget (later lazy re-solves get what is left).
    assert _highs_option(key, 2.5, "time_limit")[0] == pytest.approx(2.5)
    assert _highs_option(key, 30.0, "time_limit")[0] == pytest.approx(30.0)


@_case("kepler.mip_gap")
def _mip_gap(key: str) -> None:
    assert _highs_option(key, 0.0, "mip_rel_gap") == pytest.approx([0.0])
    assert _highs_option(key, 0.05, "mip_rel_gap") == pytest.approx([0.05])


@_case("kepler.ramping_cost_sek_per_kw")
def _ramping(key: str) -> None:
    # Battery power (discharge - charge) -5, -5, 5, 5 changes by 10 kW once: 10 x 0.5 SEK.
    free = _plan(_arbitrage, IDEAL_BATTERY, key, 0.0)
    ramped = _plan(_arbitrage, IDEAL_BATTERY, key, 0.5)
    assert _objective(ramped) == pytest.approx(10.0 + 10.0 * 0.5, abs=OBJ_TOL)
    assert ramped.result.report.n_variables == free.result.report.n_variables + 2 * 3


@_case("kepler.export_threshold_sek_per_kwh")
def _export_threshold(key: str) -> None:
    # Export earns 0.1 SEK/kWh: worth it without a threshold, not with 0.5 SEK/kWh.
    exporting = _plan(_pv_surplus, {}, key, 0.0)
    curtailing = _plan(_pv_surplus, {}, key, 0.5)
    assert _col(exporting, "grid_export_kw").sum() == pytest.approx(5.0)
    assert not _col(curtailing, "grid_export_kw").any()
    assert _col(curtailing, "pv_curtailment_kw").sum() == pytest.approx(5.0)


@_case("kepler.terminal_value_sek_per_kwh")
def _terminal_value(key: str) -> None:
    # No terminal value: sell the 5 kWh at 1 SEK (-5 SEK). At 3 SEK/kWh left in the battery,
    # fill it instead: 5 kWh bought at 2 SEK, 10 kWh worth 30 SEK -> 10 - 30 = -20 SEK.
    sell = _plan(_sell_or_keep, IDEAL_BATTERY, key, 0.0)
    keep = _plan(_sell_or_keep, IDEAL_BATTERY, key, 3.0)
    assert _objective(sell) == pytest.approx(-5.0, abs=OBJ_TOL)
    assert _col(sell, "projected_soc_kwh")[-1] == pytest.approx(0.0)
    assert _objective(keep) == pytest.approx(-20.0, abs=OBJ_TOL)
    assert _col(keep, "projected_soc_kwh")[-1] == pytest.approx(10.0)


@_case("s_index.base_factor")
def _base_factor(key: str) -> None:
    low = _plan(_sunny, NO_DEVICES, key, 1.0, mode="full")
    high = _plan(_sunny, NO_DEVICES, key, 1.3, mode="full")
    assert _col(low, "adjusted_load_kwh").tolist() == pytest.approx([1.0, 2.0])
    assert _col(high, "adjusted_load_kwh").tolist() == pytest.approx([1.3, 2.6])
    assert high.document["meta"]["s_index"]["load_factor"] == pytest.approx(1.3)


@_case("s_index.soc_scaling_percent")
def _soc_scaling(key: str) -> None:
    # Target = 0 % + (1.1 - 1) x scaling: 5 % (0.5 kWh) or 10 % (1 kWh) at 06:00.
    low = _plan(_overnight, IDEAL_BATTERY, key, 50.0, mode="full")
    high = _plan(_overnight, IDEAL_BATTERY, key, 100.0, mode="full")
    assert low.document["meta"]["target_soc_percent"] == pytest.approx(5.0)
    assert high.document["meta"]["target_soc_percent"] == pytest.approx(10.0)
    assert low.kepler_input.soc_target.soc_kwh == pytest.approx(0.5)  # type: ignore[union-attr]
    assert _col(low, "projected_soc_kwh")[5] == pytest.approx(0.5)
    assert _col(high, "projected_soc_kwh")[5] == pytest.approx(1.0)


@_case("s_index.target_soc_hour")
def _target_hour(key: str) -> None:
    six = _plan(_overnight, IDEAL_BATTERY, key, 6, mode="full")
    nine = _plan(_overnight, IDEAL_BATTERY, key, 9, mode="full")
    assert six.document["meta"]["s_index"]["target_soc_at"] == "2026-03-10T06:00:00+01:00"
    assert nine.document["meta"]["s_index"]["target_soc_at"] == "2026-03-10T09:00:00+01:00"
    assert six.kepler_input.soc_target.slot == 5  # type: ignore[union-attr]
    assert nine.kepler_input.soc_target.slot == 8  # type: ignore[union-attr]
    # The floor is met just in time: the SoC rises to the target at the slot ending then.
    assert _col(six, "projected_soc_kwh")[5] == pytest.approx(0.5)
    assert _col(nine, "projected_soc_kwh")[5] == pytest.approx(0.0)
    assert _col(nine, "projected_soc_kwh")[8] == pytest.approx(0.5)


@_case("forecasting.pv_confidence_percent")
def _pv_confidence(key: str) -> None:
    full = _plan(_sunny, NO_DEVICES, key, 100.0, mode="full")
    half = _plan(_sunny, NO_DEVICES, key, 50.0, mode="full")
    assert _col(full, "adjusted_pv_kwh").tolist() == pytest.approx([2.0, 4.0])
    assert _col(half, "adjusted_pv_kwh").tolist() == pytest.approx([1.0, 2.0])
    # Load x 1.1: surplus 0.9 + 1.8 kWh exported at 0.5 SEK, or none at 50 %.
    assert _objective(full) == pytest.approx(-0.5 * 2.7, abs=OBJ_TOL)
    assert _objective(half) > 0.0


#: No battery, no water heater; a 10 kWh car on a 2 kW charger that takes any power.
PLAIN_EV: dict[str, Any] = {
    **NO_DEVICES,
    "ev": {
        "capacity_kwh": 10.0,
        "max_charge_kw": 2.0,
        "min_charge_kw": 0.0,
        "charge_efficiency": 1.0,
    },
}


def _car(config: dict[str, Any]) -> dict[str, Any]:
    """Four hours at 3, 1, 2, 1 SEK; the empty car wants 40 % by the horizon's end."""
    request = build_request(import_prices=[3.0, 1.0, 2.0, 1.0], soc_percent=0.0, config=config)
    request["state"]["ev"] = {
        "soc_percent": 0.0,
        "plugged_in": True,
        "departure": None,
        "target_soc_percent": 40.0,
    }
    return request


@_case("ev.capacity_kwh")
def _ev_capacity(key: str) -> None:
    # 40 % of 10 kWh = 4 kWh in the two 1-SEK hours: 4 SEK; of 5 kWh = 2 kWh: 2 SEK
    assert _objective(_plan(_car, PLAIN_EV, key, 10.0)) == pytest.approx(4.0, abs=OBJ_TOL)
    assert _objective(_plan(_car, PLAIN_EV, key, 5.0)) == pytest.approx(2.0, abs=OBJ_TOL)


@_case("ev.max_charge_kw")
def _ev_max(key: str) -> None:
    # 4 kWh: 2 kW in both 1-SEK hours (4 SEK); at 1 kW it takes every hour: 3+1+2+1 = 7
    assert _objective(_plan(_car, PLAIN_EV, key, 2.0)) == pytest.approx(4.0, abs=OBJ_TOL)
    slow = _plan(_car, PLAIN_EV, key, 1.0)
    assert _objective(slow) == pytest.approx(7.0, abs=OBJ_TOL)
    assert _col(slow, "ev_charging_kw").max() == pytest.approx(1.0)


@_case("ev.min_charge_kw")
def _ev_min(key: str) -> None:
    # a 3.75 kWh car wants 1.5 kWh: any power buys exactly 1.5 kWh at 1 SEK; with a 2 kW
    # floor the charger cannot run for less, so it buys 2 kWh at 1 SEK
    small = merge_config(PLAIN_EV, {"ev": {"capacity_kwh": 3.75}})
    free = _plan(_car, small, key, 0.0)
    floor = _plan(_car, small, key, 2.0)
    assert _col(free, "ev_charging_kw").sum() == pytest.approx(1.5)
    assert _objective(free) == pytest.approx(1.5, abs=OBJ_TOL)
    charged = _col(floor, "ev_charging_kw")
    assert charged.sum() == pytest.approx(2.0)
    assert all(q == 0 or q >= 2.0 - 1e-6 for q in charged)
    assert _objective(floor) == pytest.approx(2.0, abs=OBJ_TOL)


@_case("ev.charge_efficiency")
def _ev_efficiency(key: str) -> None:
    # 4 kWh in the car at 80 %: 5 kWh AC = 2 + 2 (1 SEK) + 1 (2 SEK) = 6 SEK
    assert _objective(_plan(_car, PLAIN_EV, key, 0.8)) == pytest.approx(6.0, abs=OBJ_TOL)
    assert _objective(_plan(_car, PLAIN_EV, key, 1.0)) == pytest.approx(4.0, abs=OBJ_TOL)


#: An ideal empty 4 kWh battery; a capacity tariff of 80 SEK/kW/month on the 3 highest
#: hours (any day, all hours); the month's peaks so far 2.5, 2.5, 2.5 kW.
PEAK_TARIFF: dict[str, Any] = {
    **IDEAL_BATTERY,
    "battery": {
        **IDEAL_BATTERY["battery"],
        "capacity_kwh": 4.0,
        "max_charge_kw": 4.0,
        "max_discharge_kw": 4.0,
    },
    "grid": {
        "max_power_kw": 20.0,
        "capacity_tariff": {
            "sek_per_kw_month": 80.0,
            "peaks_counted": 3,
            "distinct_days": False,
            "hours": "all",
            "months": list(range(1, 13)),
            "night_factor": 1.0,
        },
    },
}


def _peak(config: dict[str, Any]) -> dict[str, Any]:
    """Hours 00-02 at 1, 2, 2 SEK with 0, 3, 3 kWh load (tests/planner/test_capacity_tariff).

    Charging c kWh at 00:00 costs ``12 - c`` in energy and raises the billed mean by
    ``(c - 2.5) / 3`` kW above 2.5: with 80 SEK/kW shave (c = 2.5, 9.5 SEK), else c = 4.
    """
    request = build_request(
        import_prices=[1.0, 2.0, 2.0],
        load_kwh=[0.0, 3.0, 3.0],
        soc_percent=0.0,
        config=config,
    )
    request["state"]["month_peaks_kw"] = [2.5, 2.5, 2.5]
    return request


def _charged(out: PlanOutcome) -> float:
    return float(_col(out, "battery_charge_kw")[0])


@_case("grid.capacity_tariff.sek_per_kw_month")
def _peak_fee(key: str) -> None:
    assert _objective(_plan(_peak, PEAK_TARIFF, key, 80.0)) == pytest.approx(9.5, abs=OBJ_TOL)
    assert _objective(_plan(_peak, PEAK_TARIFF, key, 0.0)) == pytest.approx(8.0, abs=OBJ_TOL)


@_case("grid.capacity_tariff.peaks_counted")
def _peak_count(key: str) -> None:
    # the billed peak is the mean of the counted ones, missing ones as 0: one counted ->
    # 2.5 kW; ten counted -> (3 x 2.5) / 10 = 0.75 kW
    one = _plan(_peak, PEAK_TARIFF, key, 1)
    ten = _plan(_peak, PEAK_TARIFF, key, 10)
    assert one.document["meta"]["capacity_tariff"]["billed_peak_kw_before"] == pytest.approx(2.5)
    assert ten.document["meta"]["capacity_tariff"]["billed_peak_kw_before"] == pytest.approx(0.75)


@_case("grid.capacity_tariff.distinct_days")
def _peak_days(key: str) -> None:
    # one day: with distinct days its three hours are one value (the day's highest)
    both = _plan(
        _peak,
        merge_config(PEAK_TARIFF, {"grid": {"capacity_tariff": {"sek_per_kw_month": 2.0}}}),
        key,
        False,
    )
    one = _plan(
        _peak,
        merge_config(PEAK_TARIFF, {"grid": {"capacity_tariff": {"sek_per_kw_month": 2.0}}}),
        key,
        True,
    )
    assert both.document["meta"]["capacity_tariff"]["billed_peak_kw_planned"] == pytest.approx(3.0)
    assert one.document["meta"]["capacity_tariff"]["billed_peak_kw_planned"] == pytest.approx(3.0)
    assert both.kepler_input.capacity_tariff is not None
    assert one.kepler_input.capacity_tariff is not None
    assert len(both.kepler_input.capacity_tariff.value_month) == 3
    assert len(one.kepler_input.capacity_tariff.value_month) == 1


@_case("grid.capacity_tariff.hours")
def _peak_hours(key: str) -> None:
    # 00:00 outside 7-19 counts with the night factor 1.0 here: same; at 0 (below) it
    # does not count, so the battery charges fully
    night = merge_config(PEAK_TARIFF, {"grid": {"capacity_tariff": {"night_factor": 0.0}}})
    assert _charged(_plan(_peak, night, key, "all")) == pytest.approx(2.5)
    assert _charged(_plan(_peak, night, key, "7-19")) == pytest.approx(4.0)


@_case("grid.capacity_tariff.months")
def _peak_months(key: str) -> None:
    assert _charged(_plan(_peak, PEAK_TARIFF, key, [3])) == pytest.approx(2.5)  # 10 March
    assert _charged(_plan(_peak, PEAK_TARIFF, key, [6, 7])) == pytest.approx(4.0)


@_case("grid.capacity_tariff.night_factor")
def _peak_night(key: str) -> None:
    hours = merge_config(PEAK_TARIFF, {"grid": {"capacity_tariff": {"hours": "7-19"}}})
    assert _charged(_plan(_peak, hours, key, 1.0)) == pytest.approx(2.5)
    assert _charged(_plan(_peak, hours, key, 0.5)) == pytest.approx(4.0)  # 4 x 0.5 < 2.5


# --- S-Index modes and the Strategy Engine (mode full) ----------------------------------------


def _with_slot_field(request: dict[str, Any], name: str, values: list[float]) -> dict[str, Any]:
    for slot, value in zip(request["slots"], values, strict=True):
        slot[name] = value
    return request


def _three_days(config: dict[str, Any]) -> dict[str, Any]:
    """72 hourly slots from local midnight: today 10 °C, day 2 and 3 at 0 °C; 0.5 kWh load.

    Flat 1 SEK/kWh, ideal battery at 0 %. Cold today: (15 - 10) / 25 = 0.2; day 2-3: 0.6.
    """
    request = build_request(
        import_prices=[1.0] * 72, load_kwh=[0.5] * 72, soc_percent=0.0, config=config
    )
    return _with_slot_field(request, "temperature_c", [10.0] * 24 + [0.0] * 48)


def _full(base: dict[str, Any], key: str, value: object, scenario: Scenario) -> PlanOutcome:
    return _plan(scenario, base, key, value, mode="full")


DYNAMIC = merge_config(IDEAL_BATTERY, {"s_index": {"mode": "dynamic"}})


@_case("s_index.mode")
def _s_index_mode(key: str) -> None:
    static = _full(IDEAL_BATTERY, key, "static", _three_days)
    dynamic = _full(IDEAL_BATTERY, key, "dynamic", _three_days)
    # static: load x 1.1, risk 1.1 -> target 5 %; dynamic: 1.1 + 0.2 x 0.2 = 1.14 today,
    # risk 1 + 0.2 x 0.6 = 1.12 from day 2-3 -> target 6 %.
    assert _col(static, "adjusted_load_kwh")[0] == pytest.approx(0.55)
    assert _col(dynamic, "adjusted_load_kwh")[0] == pytest.approx(0.57)
    assert static.kepler_input.soc_target.soc_kwh == pytest.approx(0.5)  # type: ignore[union-attr]
    assert dynamic.kepler_input.soc_target.soc_kwh == pytest.approx(0.6)  # type: ignore[union-attr]
    meta = dynamic.document["meta"]["s_index"]
    assert (meta["mode"], meta["risk"], meta["target_soc_percent"]) == ("dynamic", 1.12, 6.0)
    assert meta["risk_inputs"]["days"]["2026-03-11"]["cold"] == pytest.approx(0.6)


@_case("s_index.max_factor")
def _max_factor(key: str) -> None:
    hot = merge_config(DYNAMIC, {"s_index": {"temp_weight": 2.0}})  # risk 1 + 2 x 0.6 = 2.2
    low = _full(hot, key, 1.5, _three_days)
    high = _full(hot, key, 3.0, _three_days)
    assert low.document["meta"]["s_index"]["risk"] == pytest.approx(1.5)
    assert high.document["meta"]["s_index"]["risk"] == pytest.approx(2.2)
    assert low.kepler_input.soc_target.soc_kwh == pytest.approx(2.5)  # type: ignore[union-attr]
    assert high.kepler_input.soc_target.soc_kwh == pytest.approx(6.0)  # type: ignore[union-attr]
    # Today's factor 1.1 + 2 x 0.2 = 1.5 is within both bounds.
    assert _col(high, "adjusted_load_kwh")[0] == pytest.approx(0.75)


def _spread(config: dict[str, Any]) -> dict[str, Any]:
    """The three days with a load P90 of 1.5 x P50: spread 0.5."""
    return _with_slot_field(_three_days(config), "load_p90_kwh", [0.75] * 72)


@_case("s_index.risk_appetite")
def _risk_appetite(key: str) -> None:
    base = merge_config(IDEAL_BATTERY, {"s_index": {"mode": "probabilistic"}})
    careful = _full(base, key, 1, _spread)  # 1 + 1.0 x 0.5
    middle = _full(base, key, 3, _spread)  # 1 + 0.5 x 0.5
    bold = _full(base, key, 5, _spread)  # P50
    assert _col(careful, "adjusted_load_kwh")[0] == pytest.approx(0.75)
    assert _col(middle, "adjusted_load_kwh")[0] == pytest.approx(0.625)
    assert _col(bold, "adjusted_load_kwh")[0] == pytest.approx(0.5)
    assert middle.document["meta"]["s_index"]["factor_inputs"]["load_spread"] == 0.5
    # The risk (target SoC) comes from the weather as in mode dynamic.
    assert bold.document["meta"]["s_index"]["risk"] == pytest.approx(1.12)


def _plan_in_season(
    base: dict[str, Any], key: str, value: object, *, season: float, pv_per_hour: float
) -> PlanOutcome:
    """:func:`_three_days` with PV in every daylight hour, planned with a season reference."""
    from darkstar.config import parse_config
    from darkstar.planner.inputs import parse_plan_request, prepare_input
    from darkstar.planner.pipeline import generate_schedule
    from darkstar.planner.strategy.s_index import StrategyContext

    request = _three_days(merge_config(base, _nested(key, value)))
    pv = [pv_per_hour if 8 <= h % 24 < 18 else 0.0 for h in range(72)]
    request = _with_slot_field(request, "pv_forecast_kwh", pv)
    parsed = parse_plan_request(request)
    return generate_schedule(
        prepare_input(parsed),
        parse_config(parsed.config),
        mode="full",
        context=StrategyContext(pv_season_kwh_per_day=season),
    )


@_case("s_index.pv_deficit_weight")
def _pv_deficit_weight(key: str) -> None:
    # 5 kWh a day against a 10 kWh season: deficit 0.5; no cold (temp_weight 0).
    base = merge_config(DYNAMIC, {"s_index": {"temp_weight": 0.0}})
    low = _plan_in_season(base, key, 0.3, season=10.0, pv_per_hour=0.5)
    high = _plan_in_season(base, key, 1.0, season=10.0, pv_per_hour=0.5)
    assert low.document["meta"]["s_index"]["risk"] == pytest.approx(1.15)
    assert high.document["meta"]["s_index"]["risk"] == pytest.approx(1.5)
    assert low.kepler_input.soc_target.soc_kwh == pytest.approx(0.75)  # type: ignore[union-attr]
    assert high.kepler_input.soc_target.soc_kwh == pytest.approx(2.5)  # type: ignore[union-attr]
    # A sunny season (PV at the season's mean) has no deficit.
    sunny = _plan_in_season(base, key, 1.0, season=5.0, pv_per_hour=0.5)
    assert sunny.document["meta"]["s_index"]["risk"] == pytest.approx(1.0)


@_case("s_index.temp_weight")
def _temp_weight(key: str) -> None:
    off = _full(DYNAMIC, key, 0.0, _three_days)
    on = _full(DYNAMIC, key, 0.2, _three_days)
    assert off.kepler_input.soc_target.soc_kwh == pytest.approx(0.0)  # type: ignore[union-attr]
    assert on.kepler_input.soc_target.soc_kwh == pytest.approx(0.6)  # type: ignore[union-attr]


@_case("s_index.temp_baseline_c")
def _temp_baseline(key: str) -> None:
    mild = _full(DYNAMIC, key, 5.0, _three_days)  # cold (5 - 0) / 15 = 1/3: risk 1.0667
    assert mild.document["meta"]["s_index"]["risk"] == pytest.approx(1 + 0.2 / 3, abs=1e-6)
    assert _full(DYNAMIC, key, 15.0, _three_days).document["meta"]["s_index"]["risk"] == 1.12


@_case("s_index.temp_cold_c")
def _temp_cold(key: str) -> None:
    # cold (15 - 0) / (15 - 0) = 1 at temp_cold_c 0: risk 1.2, target 10 %.
    harsh = _full(DYNAMIC, key, 0.0, _three_days)
    assert harsh.kepler_input.soc_target.soc_kwh == pytest.approx(1.0)  # type: ignore[union-attr]
    assert _full(DYNAMIC, key, -10.0, _three_days).document["meta"]["s_index"]["risk"] == 1.12


def _flat_arbitrage(config: dict[str, Any]) -> dict[str, Any]:
    """:func:`_arbitrage` with a 0.25 SEK/kWh spread (P90 - P10 = 0.25)."""
    return build_request(
        import_prices=[1.0, 1.0, 1.25, 1.25],
        load_kwh=[0.0, 0.0, 5.0, 5.0],
        soc_percent=0.0,
        config=config,
    )


#: Mode full without the S-Index's load inflation and target SoC, PV trusted as given.
PLAIN_FULL: dict[str, Any] = {
    "s_index": {"base_factor": 1.0},
    "forecasting": {"pv_confidence_percent": 100.0},
}
#: Ideal battery with 0.1 SEK/kWh wear: a cycled kWh costs 0.2 and saves 0.25 SEK.
WORN = merge_config(
    merge_config(IDEAL_BATTERY, PLAIN_FULL), {"battery_economics": {"battery_cycle_cost_kwh": 0.1}}
)
FLAT_ON = merge_config(WORN, {"strategy": {"flat_prices": True}})


def _engine(out: PlanOutcome) -> list[tuple[str, str, float | None, float]]:
    return [
        (d["rule"], d["parameter"], d["before"], d["after"])
        for d in out.document["meta"]["strategy_engine"]["decisions"]
    ]


@_case("strategy.flat_prices")
def _flat_prices(key: str) -> None:
    # Off: cycle 10 kWh, 10 SEK + 0.1 x 20 wear = 12 SEK. On: wear x 1.5 = 0.15, a cycled
    # kWh costs 0.30 > 0.25 saved: idle, 12.5 SEK.
    off = _full(WORN, key, False, _flat_arbitrage)
    on = _full(WORN, key, True, _flat_arbitrage)
    assert _objective(off) == pytest.approx(12.0, abs=OBJ_TOL)
    assert _objective(on) == pytest.approx(12.5, abs=OBJ_TOL)
    assert on.kepler_input.battery.cycle_cost_sek_per_kwh == pytest.approx(0.15)  # type: ignore[union-attr]
    assert _engine(on) == [("flat_prices", "cycle_cost_sek_per_kwh", 0.1, 0.15)]
    assert _engine(off) == []


@_case("strategy.flat_spread_sek_per_kwh")
def _flat_spread(key: str) -> None:
    assert _objective(_full(FLAT_ON, key, 0.2, _flat_arbitrage)) == pytest.approx(12.0, abs=OBJ_TOL)
    assert _objective(_full(FLAT_ON, key, 0.3, _flat_arbitrage)) == pytest.approx(12.5, abs=OBJ_TOL)


@_case("strategy.flat_wear_factor")
def _flat_wear_factor(key: str) -> None:
    # x 1.2: 0.24 per cycled kWh < 0.25: cycles, 10 + 0.12 x 20 = 12.4 SEK.
    assert _objective(_full(FLAT_ON, key, 1.2, _flat_arbitrage)) == pytest.approx(12.4, abs=OBJ_TOL)
    assert _objective(_full(FLAT_ON, key, 1.5, _flat_arbitrage)) == pytest.approx(12.5, abs=OBJ_TOL)


def _calm_arbitrage(config: dict[str, Any]) -> dict[str, Any]:
    """:func:`_arbitrage` with 1.00 / 1.03 SEK: mean price step 0.01 SEK/kWh; no wear."""
    return build_request(
        import_prices=[1.0, 1.0, 1.03, 1.03],
        load_kwh=[0.0, 0.0, 5.0, 5.0],
        soc_percent=0.0,
        config=config,
    )


CALM_BASE = merge_config(IDEAL_BATTERY, PLAIN_FULL)
CALM_ON = merge_config(CALM_BASE, {"strategy": {"calm_prices": True}})


@_case("strategy.calm_prices")
def _calm_prices(key: str) -> None:
    # Battery power -5, -5, 5, 5: one 10 kW change x 0.01 SEK/kW on top of 10 SEK.
    off = _full(CALM_BASE, key, False, _calm_arbitrage)
    on = _full(CALM_BASE, key, True, _calm_arbitrage)
    assert _objective(off) == pytest.approx(10.0, abs=OBJ_TOL)
    assert _objective(on) == pytest.approx(10.1, abs=OBJ_TOL)
    assert on.kepler_input.options.ramping_cost_sek_per_kw == pytest.approx(0.01)
    assert on.result.report.n_variables == off.result.report.n_variables + 2 * 3


@_case("strategy.calm_step_sek_per_kwh")
def _calm_step(key: str) -> None:
    assert _objective(_full(CALM_ON, key, 0.005, _calm_arbitrage)) == pytest.approx(
        10.0, abs=OBJ_TOL
    )
    assert _objective(_full(CALM_ON, key, 0.02, _calm_arbitrage)) == pytest.approx(
        10.1, abs=OBJ_TOL
    )


@_case("strategy.calm_ramping_cost_sek_per_kw")
def _calm_ramping(key: str) -> None:
    # 0.02 SEK/kW: 10 + 10 x 0.02 = 10.2 SEK; at 0.05 the 0.5 SEK of ramping exceeds the
    # 0.3 SEK the battery saves: idle, 10.3 SEK.
    assert _objective(_full(CALM_ON, key, 0.02, _calm_arbitrage)) == pytest.approx(
        10.2, abs=OBJ_TOL
    )
    idle = _full(CALM_ON, key, 0.05, _calm_arbitrage)
    assert _objective(idle) == pytest.approx(10.3, abs=OBJ_TOL)
    assert not _col(idle, "battery_charge_kw").any()


def _cold_surplus(config: dict[str, Any]) -> dict[str, Any]:
    """Three cold days (0 °C), no devices, 5 kWh PV surplus at noon exported at 0.05 SEK."""
    pv = [5.0 if h == 12 else 0.0 for h in range(72)]
    request = build_request(
        import_prices=[1.0] * 72,
        export_prices=[0.05] * 72,
        pv_kwh=pv,
        config=merge_config(config, NO_DEVICES),
    )
    return _with_slot_field(request, "temperature_c", [0.0] * 72)


RISK_ON = merge_config(
    {"s_index": {"mode": "dynamic"}, "forecasting": {"pv_confidence_percent": 100.0}},
    {"strategy": {"weather_risk": True}},
)


@_case("strategy.weather_risk")
def _weather_risk(key: str) -> None:
    # Day 2-3 risk 1.12 >= 1.1: export threshold 0 -> 0.1 > 0.05 earned: curtail.
    off = _full(RISK_ON, key, False, _cold_surplus)
    on = _full(RISK_ON, key, True, _cold_surplus)
    assert _col(off, "grid_export_kw").sum() == pytest.approx(5.0)
    assert not _col(on, "grid_export_kw").any()
    assert on.kepler_input.options.export_threshold_sek_per_kwh == pytest.approx(0.1)
    assert _engine(on) == [("weather_risk", "export_threshold_sek_per_kwh", 0.0, 0.1)]


@_case("strategy.weather_risk_min")
def _weather_risk_min(key: str) -> None:
    assert _col(_full(RISK_ON, key, 1.2, _cold_surplus), "grid_export_kw").sum() == 5.0
    assert not _col(_full(RISK_ON, key, 1.1, _cold_surplus), "grid_export_kw").any()


@_case("strategy.weather_risk_export_premium_sek_per_kwh")
def _weather_premium(key: str) -> None:
    assert _col(_full(RISK_ON, key, 0.01, _cold_surplus), "grid_export_kw").sum() == 5.0
    assert not _col(_full(RISK_ON, key, 0.1, _cold_surplus), "grid_export_kw").any()


@_case("strategy.vacation")
def _vacation(key: str) -> None:
    # A 0.5 SEK/kWh export threshold curtails 0.1 SEK exports; on vacation it is 0.
    base = merge_config(
        PLAIN_FULL,
        {
            "kepler": {"export_threshold_sek_per_kwh": 0.5},
            "water_heating": {"vacation_mode": {"enabled": True}},
        },
    )
    off = _full(base, key, False, _pv_surplus)
    on = _full(base, key, True, _pv_surplus)
    assert not _col(off, "grid_export_kw").any()
    assert _col(on, "grid_export_kw").sum() == pytest.approx(5.0)
    assert on.kepler_input.options.export_threshold_sek_per_kwh == 0.0
    assert _engine(on) == [("vacation", "export_threshold_sek_per_kwh", 0.5, 0.0)]


def _fuse(config: dict[str, Any]) -> dict[str, Any]:
    """Charge at 1 SEK, export at 2.5 SEK; 0.5 kWh load with a P90 2 kWh higher; 6 kW fuse."""
    request = build_request(
        import_prices=[1.0, 1.0, 3.0, 3.0],
        export_prices=[0.0, 0.0, 2.5, 2.5],
        load_kwh=[0.5] * 4,
        soc_percent=0.0,
        config=merge_config(config, {"grid": {"max_power_kw": 6.0}}),
    )
    return _with_slot_field(request, "load_p90_kwh", [2.5] * 4)


@_case("strategy.fuse_headroom")
def _fuse_headroom(key: str) -> None:
    base = merge_config(IDEAL_BATTERY, PLAIN_FULL)
    off = _full(base, key, False, _fuse)
    on = _full(base, key, True, _fuse)
    # Off: import 5.5 kW twice (11 SEK), export 4.5 kWh twice at 2.5 (-22.5): -11.5 SEK.
    # On: import limit 6 - 2 = 4 kW, so 3.5 + 3.5 kWh charged (8 SEK), 6 kWh exported (-15).
    assert _objective(off) == pytest.approx(-11.5, abs=OBJ_TOL)
    assert _objective(on) == pytest.approx(-7.0, abs=OBJ_TOL)
    assert on.kepler_input.grid.import_limit_kw == pytest.approx(4.0)
    assert off.kepler_input.grid.import_limit_kw is None
    assert _col(on, "grid_import_kw").max() <= 4.0 + 1e-6


@_case("strategy.analyst_overlay")
def _analyst_overlay(key: str) -> None:
    from darkstar.config import parse_config
    from darkstar.planner.inputs import parse_plan_request, prepare_input
    from darkstar.planner.pipeline import generate_schedule
    from darkstar.planner.strategy.overlays import HourlyBias
    from darkstar.planner.strategy.s_index import StrategyContext

    # PV forecast 1 kW too high at 00-01 local in the last two weeks (28+ slots measured).
    bias = HourlyBias(pv_kw=(1.0,) + (0.0,) * 23, pv_samples=(28,) * 24, load_samples=(28,) * 24)
    context = StrategyContext(hourly_bias=bias)

    def plan(value: bool) -> PlanOutcome:
        config = merge_config(
            merge_config(NO_DEVICES, PLAIN_FULL), {"strategy": {"analyst_overlay": value}}
        )
        parsed = parse_plan_request(_sunny(config))
        return generate_schedule(
            prepare_input(parsed), parse_config(parsed.config), mode="full", context=context
        )

    # 00-01: 2 kWh - min(1 kWh, 25 % of 2) = 1.5 kWh; 01-02: no bias.
    assert _col(plan(True), "adjusted_pv_kwh").tolist() == pytest.approx([1.5, 4.0])
    assert _col(plan(False), "adjusted_pv_kwh").tolist() == pytest.approx([2.0, 4.0])
    assert plan(True).document["meta"]["s_index"]["overlay"]["pv_change_kwh"] == -0.5


#: Keys that do not reach the plan yet (bugs), as xfail(strict) cases: key -> reason.
KNOWN_DEAD_KEYS: dict[str, str] = {}


def _params() -> list[Any]:
    return [
        pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEAD_KEYS[key]))
        if key in KNOWN_DEAD_KEYS
        else key
        for key in sorted(CASES)
    ]


@pytest.mark.parametrize("key", _params())
def test_config_key_changes_plan(key: str) -> None:
    CASES[key](key)


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _leaf_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


#: Sections the service reads, not the planner (the agent's tests cover them).
SERVICE_SECTIONS = (
    "planner.",
    "home_assistant.",
    "input_sensors.",
    "executor.",
    "prices.",  # a plan request carries its prices; the live loop fetches them
    "tariff.",
    "location.",
    "weather.",
    "pv.",
    "automation.",  # Aurora's retraining schedule (tests/service/test_aurora_training.py)
    "retention.",  # the store's daily prune (tests/learning/test_retention.py)
)
#: Single keys the live loop reads, not the planner.
SERVICE_KEYS = {
    "forecasting.default_load_kw",
    "forecasting.simulated_forecasts",
    # the car's state and departure come with a request's state.ev; the agent reads these
    "system.has_ev",
    "ev.departure_time",
    "ev.departure_weekdays",
    "ev.target_soc_percent",
}


def test_every_config_key_has_a_case() -> None:
    leaves = {
        k
        for k in _leaf_keys(DarkstarConfig)
        if not k.startswith(SERVICE_SECTIONS) and k not in SERVICE_KEYS
    }
    assert "water_heating.vacation_mode.enabled" in leaves
    assert "executor.shadow_mode" in _leaf_keys(DarkstarConfig)
    assert set(CASES) == leaves
