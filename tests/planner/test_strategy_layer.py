"""The strategy layer beyond one key at a time: S-Index edges, DST days, the overlay's bounds,
the Strategy Engine's floors, and mode baseline leaving all of it out.

The per-key cases (each S-Index and Strategy Engine key changes the solver input it should,
with hand-computed objectives) are in ``test_config_keys.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkstar.config import DarkstarConfig, merge_config, parse_config
from darkstar.examples import build_request
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.inputs.types import PlannerInput, PlannerState, SlotData
from darkstar.planner.pipeline import PlanOutcome, generate_schedule
from darkstar.planner.strategy.engine import run_engine
from darkstar.planner.strategy.overlays import (
    OVERLAY_MAX_SHARE,
    OVERLAY_MIN_SAMPLES,
    HourlyBias,
    apply_overlay,
    hourly_bias,
)
from darkstar.planner.strategy.s_index import (
    StrategyContext,
    compute_s_index,
    target_soc_percent,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _pin(
    start_local: str,
    hours: int,
    *,
    temperature: float | None = None,
    pv: float = 0.0,
    load: float = 0.5,
    load_p90: float | None = None,
) -> PlannerInput:
    first = datetime.fromisoformat(start_local).astimezone(UTC)
    slots = tuple(
        SlotData(
            start=first + timedelta(hours=h),
            import_price_sek_per_kwh=1.0,
            export_price_sek_per_kwh=0.5,
            pv_forecast_kwh=pv,
            load_forecast_kwh=load,
            load_p90_kwh=load_p90,
            temperature_c=temperature,
        )
        for h in range(hours)
    )
    return PlannerInput(
        timezone=STOCKHOLM,
        slots=slots,
        slot_duration=timedelta(hours=1),
        state=PlannerState(soc_percent=50.0),
    )


def _cfg(**s_index: Any) -> DarkstarConfig:
    return DarkstarConfig.model_validate({"s_index": s_index})


# --- target SoC and S-Index -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("min_soc", "scaling", "risk", "expected"),
    [
        (10.0, 50.0, 1.0, 10.0),  # no risk: the minimum
        (10.0, 50.0, 1.2, 20.0),  # 10 + 0.2 x 50
        (5.0, 40.0, 1.5, 25.0),  # 5 + 0.5 x 40
        (10.0, 100.0, 3.0, 95.0),  # 10 + 200 clipped to max_soc_percent (95 by default)
    ],
)
def test_target_soc_formula_hand_computed(
    min_soc: float, scaling: float, risk: float, expected: float
) -> None:
    cfg = DarkstarConfig.model_validate(
        {"battery": {"min_soc_percent": min_soc}, "s_index": {"soc_scaling_percent": scaling}}
    )
    assert target_soc_percent(s_index=cfg.s_index, battery=cfg.battery, risk=risk) == expected


@pytest.mark.parametrize(
    ("start", "day2", "hours_in_day2"),
    [
        ("2026-03-28T00:00:00+01:00", "2026-03-29", 23),  # spring forward: a 23 h day 2
        ("2026-10-24T00:00:00+02:00", "2026-10-25", 25),  # fall back: a 25 h day 2
    ],
)
def test_day_two_is_local_and_whole_on_dst_days(start: str, day2: str, hours_in_day2: int) -> None:
    # 24 h today + day 2 (23 or 25 h) exactly: day 2 counts whole, day 3 not at all.
    pin = _pin(start, 24 + hours_in_day2, temperature=0.0)
    s = compute_s_index(pin, cfg=_cfg(mode="dynamic").s_index, battery=DarkstarConfig().battery)
    assert list(s.risk_inputs["days"]) == [day2]
    assert s.risk == pytest.approx(1.12)
    # One slot short of day 2's end: no whole day, the risk falls back to base_factor.
    short = _pin(start, 24 + hours_in_day2 - 1, temperature=0.0)
    s = compute_s_index(short, cfg=_cfg(mode="dynamic").s_index, battery=DarkstarConfig().battery)
    assert s.risk == 1.1
    assert "neither day 2 nor day 3" in s.risk_inputs["note"]
    assert not s.weather_risk


def test_dynamic_pv_deficit_needs_a_season() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 72, pv=0.0)
    battery = DarkstarConfig().battery
    cfg = _cfg(mode="dynamic", temp_weight=0.0).s_index
    blind = compute_s_index(pin, cfg=cfg, battery=battery)
    dark = compute_s_index(
        pin, cfg=cfg, battery=battery, context=StrategyContext(pv_season_kwh_per_day=8.0)
    )
    assert blind.risk == 1.0  # no season: deficit not counted
    assert "no season reference" in blind.risk_inputs["pv_note"]
    assert dark.risk == pytest.approx(1.3)  # no PV at all: deficit 1 x 0.3
    assert dark.load_factor == pytest.approx(1.4)  # 1.1 + 0.3 today
    assert dark.factor_inputs["next_24h"]["pv_deficit"] == 1.0


def test_factor_and_risk_are_bounded() -> None:
    pin = _pin("2026-01-10T00:00:00+01:00", 72, temperature=-30.0)
    battery = DarkstarConfig().battery
    s = compute_s_index(
        pin,
        cfg=_cfg(mode="dynamic", temp_weight=2.0, max_factor=1.3).s_index,
        battery=battery,
        context=StrategyContext(pv_season_kwh_per_day=5.0),
    )
    assert (s.load_factor, s.risk) == (1.3, 1.3)
    # max_factor never cuts below base_factor (requests with base_factor 2 stay valid).
    high_base = compute_s_index(
        pin, cfg=_cfg(mode="dynamic", base_factor=2.0, temp_weight=0.0).s_index, battery=battery
    )
    assert high_base.load_factor == 2.0


def test_probabilistic_without_p90_falls_back_to_dynamic() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 72, temperature=10.0)
    s = compute_s_index(
        pin, cfg=_cfg(mode="probabilistic").s_index, battery=DarkstarConfig().battery
    )
    assert s.mode == "dynamic"
    assert "no load P90" in s.factor_inputs["note"]
    assert s.load_factor == pytest.approx(1.14)  # 1.1 + 0.2 x (15 - 10) / 25


def test_probabilistic_spread_by_appetite() -> None:
    pin = _pin("2026-03-10T00:00:00+01:00", 48, load=0.4, load_p90=0.6)  # spread 0.5
    battery = DarkstarConfig().battery
    factors = [
        compute_s_index(
            pin, cfg=_cfg(mode="probabilistic", risk_appetite=a).s_index, battery=battery
        ).load_factor
        for a in (1, 2, 3, 4, 5)
    ]
    assert factors == pytest.approx([1.5, 1.375, 1.25, 1.125, 1.0])


# --- the overlay ------------------------------------------------------------------------------


def test_hourly_bias_by_local_hour_not_utc() -> None:
    # Slots at 11:00 UTC are 12:00 in Stockholm in winter.
    starts = [datetime(2026, 1, d, 11, tzinfo=UTC) for d in range(1, 31)]
    hours = np.array([s.astimezone(STOCKHOLM).hour for s in starts])
    bias = hourly_bias(
        hours,
        pv_forecast_kw=np.full(30, 2.0),
        pv_actual_kw=np.full(30, 1.5),
        load_forecast_kw=np.full(30, 0.5),
        load_actual_kw=np.full(30, 0.7),
        window_days=30,
    )
    assert bias.pv_kw[12] == pytest.approx(0.5)
    assert bias.load_kw[12] == pytest.approx(-0.2)
    assert bias.pv_samples[12] == 30
    assert bias.pv_samples[11] == 0
    assert bias.pv_kw[11] == 0.0


def test_overlay_needs_enough_samples() -> None:
    few = HourlyBias(
        pv_kw=(1.0,) * 24,
        pv_samples=(OVERLAY_MIN_SAMPLES - 1,) * 24,
        load_samples=(OVERLAY_MIN_SAMPLES,) * 24,
    )
    out = apply_overlay(
        few,
        pv_kwh=np.array([2.0]),
        load_kwh=np.array([1.0]),
        slot_starts=[datetime(2026, 6, 1, 10, tzinfo=UTC)],
        slot_duration=timedelta(hours=1),
        tz=STOCKHOLM,
    )
    assert out.pv_kwh.tolist() == [2.0]


@settings(max_examples=60, deadline=None)
@given(
    bias=st.lists(st.floats(-20, 20), min_size=48, max_size=48),
    pv=st.lists(st.floats(0, 10), min_size=8, max_size=8),
    load=st.lists(st.floats(0, 10), min_size=8, max_size=8),
)
def test_overlay_moves_each_slot_at_most_its_share(
    bias: list[float], pv: list[float], load: list[float]
) -> None:
    hb = HourlyBias(
        pv_kw=tuple(bias[:24]),
        load_kw=tuple(bias[24:]),
        pv_samples=(OVERLAY_MIN_SAMPLES,) * 24,
        load_samples=(OVERLAY_MIN_SAMPLES,) * 24,
    )
    starts = [datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(8)]
    out = apply_overlay(
        hb,
        pv_kwh=np.array(pv),
        load_kwh=np.array(load),
        slot_starts=starts,
        slot_duration=timedelta(minutes=15),
        tz=STOCKHOLM,
    )
    for before, after in ((np.array(pv), out.pv_kwh), (np.array(load), out.load_kwh)):
        assert np.all(after >= 0.0)
        assert np.all(np.abs(after - before) <= OVERLAY_MAX_SHARE * before + 1e-12)


# --- mode baseline leaves the strategy layer out -----------------------------------------------


def _plan(mode: str, config: dict[str, Any], context: StrategyContext | None) -> PlanOutcome:
    request = build_request(
        import_prices=[1.0, 1.0, 1.01, 1.01],
        pv_kwh=[2.0, 2.0, 0.0, 0.0],
        load_kwh=[1.0] * 4,
        config=config,
    )
    for slot in request["slots"]:
        slot["load_p90_kwh"] = 3.0
    parsed = parse_plan_request(request)
    return generate_schedule(
        prepare_input(parsed), parse_config(parsed.config), mode=mode, context=context
    )


ALL_ON = {
    "s_index": {"mode": "dynamic"},
    "strategy": {
        "flat_prices": True,
        "calm_prices": True,
        "weather_risk": True,
        "vacation": True,
        "fuse_headroom": True,
        "analyst_overlay": True,
    },
}


def test_baseline_has_no_overlay_no_s_index_no_engine() -> None:
    bias = HourlyBias(
        pv_kw=(1.0,) * 24, pv_samples=(OVERLAY_MIN_SAMPLES,) * 24, load_samples=(28,) * 24
    )
    context = StrategyContext(pv_season_kwh_per_day=1.0, hourly_bias=bias)
    baseline = _plan("baseline", ALL_ON, context)
    full = _plan("full", ALL_ON, context)
    rows = baseline.document["schedule"]
    assert [r["adjusted_pv_kwh"] for r in rows] == [2.0, 2.0, 0.0, 0.0]
    assert [r["adjusted_load_kwh"] for r in rows] == [1.0] * 4
    assert baseline.document["meta"]["s_index"] == {"mode": "off"}
    assert "strategy_engine" not in baseline.document["meta"]
    assert baseline.kepler_input.options.ramping_cost_sek_per_kw == 0.0
    assert baseline.kepler_input.grid.import_limit_kw is None
    # The same request in mode full: overlay, factor and the engine's rules all act.
    assert full.document["meta"]["s_index"]["overlay"]["pv_change_kwh"] == pytest.approx(-1.0)
    rules = {d["rule"] for d in full.document["meta"]["strategy_engine"]["decisions"]}
    assert rules == {"flat_prices", "calm_prices", "fuse_headroom"}
    assert full.kepler_input.options.ramping_cost_sek_per_kw == pytest.approx(0.01)


# --- Strategy Engine floors and edges -----------------------------------------------------------


def test_fuse_headroom_never_below_the_p90_peak() -> None:
    cfg = DarkstarConfig.model_validate(
        {"grid": {"max_power_kw": 10.0}, "strategy": {"fuse_headroom": True}}
    )
    start = "2026-03-10T00:00:00+01:00"
    # Gap 2 kW: 10 - 2 = 8 kW.
    narrow = run_engine(_pin(start, 4, load=1.0, load_p90=3.0), cfg, risk=None)
    assert narrow.overrides.import_limit_kw == pytest.approx(8.0)
    assert narrow.decisions[0].inputs == {"gap_kw": 2.0, "fuse_kw": 10.0, "p90_peak_kw": 3.0}
    # Gap 6 kW: 10 - 6 = 4 kW would be below the 7 kW P90 load: the limit stays at 7 kW.
    peak = run_engine(_pin(start, 4, load=1.0, load_p90=7.0), cfg, risk=None)
    assert peak.overrides.import_limit_kw == pytest.approx(7.0)
    # A configured limit already tighter than that: unchanged, no decision.
    tight = cfg.model_copy(update={"grid": cfg.grid.model_copy(update={"import_limit_kw": 6.0})})
    assert run_engine(_pin(start, 4, load=1.0, load_p90=3.0), tight, risk=None).decisions == ()
    # No P90: the rule cannot measure a gap and changes nothing.
    blind = run_engine(_pin(start, 4, load=1.0), cfg, risk=None)
    assert blind.overrides.import_limit_kw is None
    assert blind.decisions == ()


def test_weather_risk_needs_a_measured_risk() -> None:
    cfg = DarkstarConfig.model_validate({"strategy": {"weather_risk": True}})
    pin = _pin("2026-03-10T00:00:00+01:00", 4)
    assert run_engine(pin, cfg, risk=None).decisions == ()
    assert run_engine(pin, cfg, risk=1.05).decisions == ()
    hit = run_engine(pin, cfg, risk=1.1)
    assert hit.overrides.export_threshold_sek_per_kwh == pytest.approx(0.1)
    assert hit.meta()["decisions"][0]["inputs"] == {"risk": 1.1}


def test_rules_off_by_default_leave_no_decision() -> None:
    result = run_engine(
        _pin("2026-03-10T00:00:00+01:00", 4, load_p90=2.0), DarkstarConfig(), risk=2.0
    )
    assert result.enabled_rules == ()
    assert result.decisions == ()
    assert result.overrides == type(result.overrides)()


def test_merge_keeps_rule_switches_independent() -> None:
    cfg = parse_config(merge_config({}, {"strategy": {"calm_prices": True}}))
    assert run_engine(_pin("2026-03-10T00:00:00+01:00", 4), cfg, risk=None).enabled_rules == (
        "calm_prices",
    )
