"""The capacity tariff in Kepler: hand-checked optima, brute force, and the billed peak.

Scenario (one-hour slots, mode baseline, ideal 4 kWh battery starting empty, no PV):
prices 1, 2, 2 SEK/kWh, load 0, 3, 3 kWh; the month's peaks so far 2.5, 2.5, 2.5 kW, the
three highest hours billed (any day). Charging c kWh in hour 0 and spreading it over hours
1-2 costs ``c + 2 (6 - c) = 12 - c`` in energy; hour 0 then imports c kW, which raises the
billed mean by ``(c - 2.5) / 3`` kW once c > 2.5 (hours 1-2 import ``3 - c/2 <= 2.5`` for
c >= 1). With a fee F per kW and month the total is ``12 - c + F (c - 2.5) / 3`` for
c in [2.5, 4]: the slope ``-1 + F/3`` says shave (c = 2.5, total 9.5) when F > 3 SEK/kW and
charge fully (c = 4, total 8 + 0.5 F) when F < 3.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkstar.config.models import CapacityTariffConfig
from darkstar.examples import build_request
from darkstar.physics.capacity import billed_peak_kw, counted_peaks_kw
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver.capacity import top_n_sum
from darkstar.planner.solver.kepler import THROUGHPUT_TIEBREAK_SEK_PER_KWH

OBJ_TOL = 1e-4


def _request(
    fee: float,
    *,
    prices: list[float] | None = None,
    load: list[float] | None = None,
    peaks: list[float] | None = None,
    tariff: dict[str, Any] | None = None,
    capacity: float = 4.0,
    start: str = "2026-03-10T00:00:00+01:00",
) -> dict[str, Any]:
    request = build_request(
        import_prices=prices or [1.0, 2.0, 2.0],
        load_kwh=load or [0.0, 3.0, 3.0],
        soc_percent=0.0,
        start=start,
        config={
            "system": {"has_battery": True, "has_water_heater": False},
            "battery": {
                "capacity_kwh": capacity,
                "min_soc_percent": 0.0,
                "max_soc_percent": 100.0,
                "max_charge_kw": 4.0,
                "max_discharge_kw": 4.0,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
            },
            "battery_economics": {"battery_cycle_cost_kwh": 0.0},
            "grid": {
                "max_power_kw": 20.0,
                "capacity_tariff": {
                    "sek_per_kw_month": fee,
                    "peaks_counted": 3,
                    "distinct_days": False,
                    "hours": "all",
                    **(tariff or {}),
                },
            },
            "kepler": {"mip_gap": 0.0},
        },
    )
    request["state"]["month_peaks_kw"] = [2.5, 2.5, 2.5] if peaks is None else peaks
    return request


def _objective(out: PlanOutcome) -> float:
    rows = out.document["schedule"]
    through = sum(r["battery_charge_kw"] + r["battery_discharge_kw"] for r in rows)
    return float(out.document["meta"]["objective_sek"]) - THROUGHPUT_TIEBREAK_SEK_PER_KWH * through


def _col(out: PlanOutcome, name: str) -> list[float]:
    return [r[name] for r in out.document["schedule"]]


def _brute_force(fee: float, step: float = 0.5) -> float:
    """Least energy + capacity cost over every battery schedule on a 0.5 kWh grid."""
    prices, load, cap = [1.0, 2.0, 2.0], [0.0, 3.0, 3.0], 4.0
    grid = [k * step for k in range(int(2 * cap / step) + 1)]
    best = float("inf")
    for moves in itertools.product([g - cap for g in grid], repeat=3):  # + charge, - discharge
        soc, imports, ok = 0.0, [], True
        for move, demand in zip(moves, load, strict=True):
            soc += move
            if not -1e-9 <= soc <= cap + 1e-9 or abs(move) > 4.0:
                ok = False
                break
            imports.append(demand + move)
        if not ok or min(imports) < -1e-9:  # no export in this scenario (price 0 anyway)
            continue
        energy = sum(p * i for p, i in zip(prices, imports, strict=True))
        before = top_n_sum([2.5, 2.5, 2.5], 3) / 3
        after = top_n_sum([2.5, 2.5, 2.5, *imports], 3) / 3
        best = min(best, energy + fee * (after - before))
    return best


def test_a_peak_worth_shaving_is_shaved() -> None:
    out = plan_request(_request(80.0), mode="baseline")
    assert _col(out, "battery_charge_kw")[0] == pytest.approx(2.5)
    assert max(_col(out, "grid_import_kw")) <= 2.5 + 1e-6
    assert _objective(out) == pytest.approx(9.5, abs=OBJ_TOL)
    meta = out.document["meta"]["capacity_tariff"]
    assert meta["billed_peak_kw_before"] == pytest.approx(2.5)
    assert meta["billed_peak_kw_planned"] == pytest.approx(2.5)
    assert meta["increase_sek"] == pytest.approx(0.0, abs=1e-6)


def test_a_peak_not_worth_shaving_is_not() -> None:
    # F = 2 < 3: charge all 4 kWh at 1 SEK, hour 0's peak of 4 kW raises the billed mean
    # by 0.5 kW: 8 + 2 x 0.5 = 9
    out = plan_request(_request(2.0), mode="baseline")
    assert _col(out, "battery_charge_kw")[0] == pytest.approx(4.0)
    assert _objective(out) == pytest.approx(9.0, abs=OBJ_TOL)
    meta = out.document["meta"]["capacity_tariff"]
    assert meta["billed_peak_kw_planned"] == pytest.approx(3.0)
    assert meta["increase_sek"] == pytest.approx(1.0)


@pytest.mark.parametrize("fee", [0.0, 1.0, 2.0, 2.9, 3.1, 6.0, 80.0])
def test_the_optimum_equals_brute_force_enumeration(fee: float) -> None:
    out = plan_request(_request(fee), mode="baseline")
    assert _objective(out) == pytest.approx(_brute_force(fee), abs=OBJ_TOL)


def test_distinct_days_count_one_peak_per_day() -> None:
    # every hour is one day here: the day's single value is its highest hour (4 kW when
    # charging fully), so the same optimum as with hours counted separately
    out = plan_request(_request(2.0, tariff={"distinct_days": True}), mode="baseline")
    assert out.document["meta"]["capacity_tariff"]["billed_peak_kw_planned"] == pytest.approx(3.0)
    # with fewer peaks so far than counted, a new day's peak enters the mean by itself:
    # peaks [2.5]: top 3 of {2.5, x} = (2.5 + x) / 3
    few = plan_request(_request(80.0, peaks=[2.5], tariff={"distinct_days": True}), mode="baseline")
    planned = few.document["meta"]["capacity_tariff"]["billed_peak_kw_planned"]
    day_peak = max(_col(few, "grid_import_kw"))
    assert planned == pytest.approx((2.5 + day_peak) / 3)


def test_night_hours_count_at_their_factor() -> None:
    # the charging hour 00:00 is outside 7-19 and counts half: 4 kW -> 2 kW < 2.5: no
    # capacity cost, so even F = 80 charges fully (total 8)
    out = plan_request(
        _request(80.0, tariff={"hours": "7-19", "night_factor": 0.5}), mode="baseline"
    )
    assert _col(out, "battery_charge_kw")[0] == pytest.approx(4.0)
    assert _objective(out) == pytest.approx(8.0, abs=OBJ_TOL)


def test_months_outside_the_tariff_have_no_capacity_cost() -> None:
    out = plan_request(_request(80.0, tariff={"months": [6, 7, 8]}), mode="baseline")
    assert _objective(out) == pytest.approx(8.0, abs=OBJ_TOL)


def _independent_billed(
    rows: list[dict[str, Any]], tariff: dict[str, Any], peaks: list[float]
) -> float:
    """The billed peak from the schedule rows, as the tariff defines it."""
    hourly: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        start = datetime.fromisoformat(r["start"])
        end = datetime.fromisoformat(r["end"])
        h = (end - start).total_seconds() / 3600
        hourly[(r["start"][:13], r["start"][-6:])] += r["grid_import_kw"] * h
    values: dict[Any, float] = defaultdict(float)
    first, last = (0, 24) if tariff["hours"] == "all" else map(int, tariff["hours"].split("-"))
    for (hour, offset), kwh in hourly.items():
        local_hour = int(hour[11:13])
        weight = 1.0 if first <= local_hour < last else tariff["night_factor"]
        key = hour[:10] if tariff["distinct_days"] else (hour, offset)
        values[key] = max(values[key], weight * kwh)
    n = tariff["peaks_counted"]
    return top_n_sum([*peaks, *values.values()], n) / n


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prices=st.lists(st.floats(0.1, 3.0), min_size=8, max_size=8),
    load=st.lists(st.floats(0.0, 2.0), min_size=8, max_size=8),
    peaks=st.lists(st.floats(0.0, 3.0), max_size=4),
    fee=st.sampled_from([5.0, 80.0]),
    distinct=st.booleans(),
    hours=st.sampled_from(["all", "1-3"]),
)
def test_the_billed_peak_is_computed_as_defined(
    prices: list[float],
    load: list[float],
    peaks: list[float],
    fee: float,
    distinct: bool,
    hours: str,
) -> None:
    tariff = {"distinct_days": distinct, "hours": hours, "night_factor": 0.5, "peaks_counted": 3}
    config = _request(fee, tariff=tariff)["config"]
    # half-hour slots from 22:30: hours split in two, the horizon crosses midnight
    request = build_request(
        import_prices=prices,
        load_kwh=load,
        start="2026-03-10T22:30:00+01:00",
        slot_minutes=30,
        soc_percent=0.0,
        config=config,
    )
    request["state"]["month_peaks_kw"] = peaks
    out = plan_request(request, mode="baseline")
    meta = out.document["meta"]["capacity_tariff"]
    full = config["grid"]["capacity_tariff"]
    expected = _independent_billed(out.document["schedule"], full, peaks)
    assert meta["billed_peak_kw_planned"] == pytest.approx(expected, abs=1e-3)
    # the bill the agent and the backtest compute from measured imports says the same
    measured = [
        (datetime.fromisoformat(r["start"]).astimezone(UTC), r["grid_import_kw"])
        for r in out.document["schedule"]
    ]
    values = counted_peaks_kw(
        measured, CapacityTariffConfig(**full), tz=ZoneInfo("Europe/Stockholm"), slot_h=0.5
    )
    assert billed_peak_kw([*peaks, *values[2026, 3]], 3) == pytest.approx(expected, abs=1e-9)
    assert meta["billed_peak_kw_before"] == pytest.approx(top_n_sum(peaks, 3) / 3, abs=1e-6)
    assert meta["increase_sek"] == pytest.approx(
        fee * (meta["billed_peak_kw_planned"] - meta["billed_peak_kw_before"]), abs=1e-3
    )
