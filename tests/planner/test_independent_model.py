"""Cross-check Kepler against an independently written model of DESIGN §3-4.

The reference below is a dense, textbook formulation written from the design text alone
(no code shared with ``darkstar.planner.solver``) and solved with ``scipy.optimize.milp``.
Kepler's energy cost (import - export + wear) must match the reference optimum to 1e-6
relative on random baseline-mode requests with comfort penalties off.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from darkstar.examples import build_request
from darkstar.planner import plan_request


def reference_cost(
    *,
    imp: np.ndarray,
    exp: np.ndarray,
    pv: np.ndarray,
    load: np.ndarray,
    h: float,
    cap: float,
    soc0: float,
    soc_min: float,
    soc_max: float,
    p_ch: float,
    p_dis: float,
    eta_c: float,
    eta_d: float,
    wear: float,
    fuse: float,
    export_on: bool,
    water_kw: float = 0.0,
    water_days: list[tuple[int, int, float]] | None = None,
) -> float:
    """Minimum of import cost - export revenue + wear, by a separate dense MILP.

    Variables per slot: ch, dis, imp, exp, curt, soc, water_on (binary), mode (binary).
    """
    n = len(imp)
    nv = 8
    ch, dis, im, ex, cu, so, wo, md = (np.arange(n) + k * n for k in range(nv))
    size = nv * n
    c = np.zeros(size)
    c[im] = h * imp
    c[ex] = -h * exp
    c[ch] = h * wear
    c[dis] = h * wear
    lb = np.zeros(size)
    ub = np.zeros(size)
    ub[ch], ub[dis], ub[im] = p_ch, p_dis, fuse
    ub[ex] = fuse if export_on else 0.0
    ub[cu] = pv / h
    ub[so] = soc_max
    lb[so] = soc_min
    ub[wo] = 1.0 if water_days else 0.0
    ub[md] = 1.0
    rows, lo, hi = [], [], []

    def row(coefs: dict[int, float], low: float, high: float) -> None:
        r = np.zeros(size)
        for j, v in coefs.items():
            r[j] += v
        rows.append(r)
        lo.append(low)
        hi.append(high)

    for t in range(n):
        # balance: pv/h - curt + dis + imp = load/h + ch + exp + water
        rhs = (load[t] - pv[t]) / h
        row({cu[t]: -1, dis[t]: 1, im[t]: 1, ch[t]: -1, ex[t]: -1, wo[t]: -water_kw}, rhs, rhs)
        prev = {so[t - 1]: -1.0} if t else {}
        start = 0.0 if t else soc0
        row({so[t]: 1, ch[t]: -h * eta_c, dis[t]: h / eta_d, **prev}, start, start)
        # exclusivity with one binary per slot: charge xor discharge, and import xor export
        row({ch[t]: 1, md[t]: -p_ch}, -np.inf, 0)
        row({dis[t]: 1, md[t]: p_dis}, -np.inf, p_dis)
    for first, end, kwh in water_days or []:
        row({wo[t]: water_kw * h for t in range(first, end)}, kwh - 1e-6, np.inf)
    integrality = np.zeros(size)
    integrality[wo] = 1
    integrality[md] = 1
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 1e-9},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def _kepler_energy_cost(request: dict) -> float:
    meta = plan_request(request, mode="baseline").document["meta"]
    assert meta["status"] == "optimal"
    return meta["energy_cost_sek"] + meta["wear_cost_sek"]


@st.composite
def _scenario(draw: st.DrawFn) -> dict:
    n = draw(st.integers(2, 12))
    minutes = draw(st.sampled_from([15, 30, 60]))
    h = minutes / 60
    prices = st.floats(0.05, 4.0, allow_nan=False)
    imp = [round(draw(prices), 3) for _ in range(n)]
    exp = [round(max(0.0, p - draw(st.floats(0.05, 1.0))), 3) for p in imp]
    pv = [round(draw(st.floats(0, 4)) * h, 3) for _ in range(n)]
    load = [round(draw(st.floats(0, 4)) * h, 3) for _ in range(n)]
    cap = draw(st.floats(2, 15))
    lo = draw(st.floats(0, 40))
    hi = draw(st.floats(lo + 10, 100))
    soc = draw(st.floats(lo, hi))
    return {
        "n": n,
        "minutes": minutes,
        "imp": imp,
        "exp": exp,
        "pv": pv,
        "load": load,
        "soc": soc,
        "battery": {
            "capacity_kwh": cap,
            "min_soc_percent": lo,
            "max_soc_percent": hi,
            "max_charge_kw": draw(st.floats(0.5, 6)),
            "max_discharge_kw": draw(st.floats(0.5, 6)),
            "charge_efficiency": draw(st.floats(0.8, 1.0)),
            "discharge_efficiency": draw(st.floats(0.8, 1.0)),
        },
        "wear": draw(st.floats(0, 0.3)),
        "fuse": draw(st.floats(8, 20)),
        "export_on": draw(st.booleans()),
    }


def _request(s: dict, *, water: dict | None = None) -> dict:
    config = {
        "battery": s["battery"],
        "battery_economics": {"battery_cycle_cost_kwh": s["wear"]},
        "grid": {"max_power_kw": s["fuse"]},
        "export": {"enable_export": s["export_on"]},
        "system": {"has_water_heater": water is not None},
    }
    if water:
        config["water_heating"] = water
    # end the horizon at local midnight so the water day lies wholly inside it (no pro-rata)
    start = datetime(2026, 3, 11, tzinfo=ZoneInfo("Europe/Stockholm")) - timedelta(
        minutes=s["minutes"] * s["n"]
    )
    return build_request(
        start=start.isoformat(),
        import_prices=s["imp"],
        export_prices=s["exp"],
        pv_kwh=s["pv"],
        load_kwh=s["load"],
        slot_minutes=s["minutes"],
        soc_percent=s["soc"],
        config=config,
    )


def _reference(s: dict, **water: object) -> float:
    b = s["battery"]
    cap = b["capacity_kwh"]
    return reference_cost(
        imp=np.array(s["imp"]),
        exp=np.array(s["exp"]),
        pv=np.array(s["pv"]),
        load=np.array(s["load"]),
        h=s["minutes"] / 60,
        cap=cap,
        soc0=cap * s["soc"] / 100,
        soc_min=cap * b["min_soc_percent"] / 100,
        soc_max=cap * b["max_soc_percent"] / 100,
        p_ch=b["max_charge_kw"],
        p_dis=b["max_discharge_kw"],
        eta_c=b["charge_efficiency"],
        eta_d=b["discharge_efficiency"],
        wear=s["wear"],
        fuse=s["fuse"],
        export_on=s["export_on"],
        **water,  # type: ignore[arg-type]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_kepler_matches_independent_model_battery(s: dict) -> None:
    expected = _reference(s)
    got = _kepler_energy_cost(_request(s))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario(), st.floats(1.0, 3.0), st.integers(1, 4))
def test_kepler_matches_independent_model_water_quota(s: dict, power: float, slots: int) -> None:
    """Water heater with a plain quota (comfort off): same optimum as the reference."""
    h = s["minutes"] / 60
    quota = power * h * slots
    if slots > s["n"]:
        return
    water = {
        "power_kw": power,
        "min_kwh_per_day": quota,
        "defer_up_to_hours": 0,
        "block_start_penalty_sek": 0.0,
        "min_spacing_hours": 0,
        "max_hours_between_heating": None,
        "enable_top_ups": False,
    }
    s = {**s, "fuse": 20.0}
    expected = _reference(s, water_kw=power, water_days=[(0, s["n"], quota)])
    got = _kepler_energy_cost(_request(s, water=water))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-4)
