"""Edge cases of the whole planning pipeline (``plan_request`` -> ``schedule.json``).

DST days (23 and 25 local hours), negative prices, short horizons (tomorrow's prices
missing), a start above the SoC ceiling, an impossible water quota, the bundled example
days in both modes, 15/30/60-minute slots, solver failure (fallback) and the atomic write.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from darkstar.examples import build_request, example_request_paths, read_example_request
from darkstar.planner.output.schedule import OutputError, write_schedule
from darkstar.planner.pipeline import PlanOutcome, plan_request
from darkstar.planner.solver import fallback
from darkstar.planner.solver.kepler import NoSolutionError

STOCKHOLM = "Europe/Stockholm"

#: Fields of DESIGN §3.2 that every schedule row and the meta must carry.
ROW_FIELDS = {
    "start",
    "end",
    "import_price_sek_per_kwh",
    "export_price_sek_per_kwh",
    "adjusted_pv_kwh",
    "adjusted_load_kwh",
    "battery_charge_kw",
    "battery_discharge_kw",
    "grid_import_kw",
    "grid_export_kw",
    "water_heating_kw",
    "ev_charging_kw",
    "pv_curtailment_kw",
    "load_shedding_kw",
    "projected_soc_percent",
    "projected_soc_kwh",
    "soc_target_percent",
    "planned_cost_sek",
    "action",
    "reason",
}
META_FIELDS = {
    "schema_version",
    "planned_at",
    "planner_version",
    "mode",
    "status",
    "objective_sek",
    "energy_cost_sek",
    "solve_time_ms",
    "mip_gap",
    "s_index",
    "target_soc_percent",
}

#: A 10 kWh battery with the default ratings, no water heater.
BATTERY_ONLY: dict[str, Any] = {"system": {"has_battery": True, "has_water_heater": False}}


def _col(out: PlanOutcome, name: str) -> np.ndarray:
    return np.array([row[name] for row in out.document["schedule"]], dtype=np.float64)


def _assert_contract(out: PlanOutcome) -> None:
    """The document follows DESIGN §3.2 and is strict JSON."""
    doc = out.document
    assert set(doc) >= {"meta", "schedule"}
    assert set(doc["meta"]) >= META_FIELDS
    for row in doc["schedule"]:
        assert set(row) >= ROW_FIELDS
    json.dumps(doc, allow_nan=False)


def _assert_soc_follows_efficiencies(out: PlanOutcome) -> None:
    bat = out.kepler_input.battery
    assert bat is not None
    h = out.kepler_input.slot_h
    soc = np.r_[bat.initial_soc_kwh, _col(out, "projected_soc_kwh")]
    step = h * (
        bat.charge_efficiency * _col(out, "battery_charge_kw")
        - _col(out, "battery_discharge_kw") / bat.discharge_efficiency
    )
    np.testing.assert_allclose(np.diff(soc), step, atol=1e-4)


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


def _dst_request(start: str, n_slots: int, **config: Any) -> dict[str, Any]:
    """A Stockholm day of quarter-hours with an evening price peak, PV at midday."""
    t = np.arange(n_slots) / 4.0
    prices = 1.0 + 0.8 * np.exp(-(((t - 18.0) / 2.0) ** 2)) + 0.3 * np.sin(t / 3.0)
    pv = np.clip(np.sin((t - 7.0) / 10.0 * np.pi), 0.0, None) * 0.8
    return build_request(
        import_prices=np.round(prices, 4).tolist(),
        export_prices=np.round(prices - 0.6, 4).tolist(),
        pv_kwh=np.round(pv, 4).tolist(),
        load_kwh=[0.15] * n_slots,
        start=start,
        slot_minutes=15,
        timezone=STOCKHOLM,
        config=config,
    )


# --- DST days ------------------------------------------------------------------------------

DST_DAYS = [
    pytest.param("2026-03-29T00:00:00+01:00", 92, "2026-03-30T00:00:00+02:00", id="spring-23h"),
    pytest.param("2026-10-25T00:00:00+02:00", 100, "2026-10-26T00:00:00+01:00", id="fall-25h"),
]


@pytest.mark.parametrize(("start", "n_slots", "end"), DST_DAYS)
def test_plan_dst_day_succeeds_with_local_offsets(start: str, n_slots: int, end: str) -> None:
    request = _dst_request(start, n_slots)
    # The request's own slots cover the local day exactly.
    assert _utc(end) - _utc(start) == timedelta(minutes=15 * n_slots)
    out = plan_request(request)
    _assert_contract(out)
    assert out.document["meta"]["status"] == "optimal"
    rows = out.document["schedule"]
    assert len(rows) == n_slots
    assert rows[0]["start"] == start
    assert rows[-1]["end"] == end
    starts = [_utc(r["start"]) for r in rows]
    ends = [_utc(r["end"]) for r in rows]
    assert all(b - a == timedelta(minutes=15) for a, b in zip(starts, starts[1:], strict=False))
    assert all(e - s == timedelta(minutes=15) for s, e in zip(starts, ends, strict=True))
    assert ends[:-1] == starts[1:]
    # Every written time carries the offset in force at that instant.
    for row in rows:
        for key in ("start", "end"):
            local = datetime.fromisoformat(row[key])
            expected = _utc(row[key]).astimezone(ZoneInfo(STOCKHOLM)).utcoffset()
            assert local.utcoffset() == expected, row[key]
    _assert_soc_follows_efficiencies(out)


def test_plan_spring_forward_times_jump_from_0200_to_0300() -> None:
    rows = plan_request(_dst_request("2026-03-29T00:00:00+01:00", 92)).document["schedule"]
    assert rows[7]["start"] == "2026-03-29T01:45:00+01:00"
    assert rows[7]["end"] == "2026-03-29T03:00:00+02:00"
    assert rows[8]["start"] == "2026-03-29T03:00:00+02:00"
    assert {r["start"][-6:] for r in rows[:8]} == {"+01:00"}
    assert {r["start"][-6:] for r in rows[8:]} == {"+02:00"}
    assert not any("T02:" in r["start"] for r in rows), "02:xx does not exist on this day"


def test_plan_fall_back_repeats_0200_with_both_offsets() -> None:
    rows = plan_request(_dst_request("2026-10-25T00:00:00+02:00", 100)).document["schedule"]
    assert rows[11]["start"] == "2026-10-25T02:45:00+02:00"
    assert rows[11]["end"] == "2026-10-25T02:00:00+01:00"
    assert rows[12]["start"] == "2026-10-25T02:00:00+01:00"
    assert {r["start"][-6:] for r in rows[:12]} == {"+02:00"}
    assert {r["start"][-6:] for r in rows[12:]} == {"+01:00"}
    assert sum("T02:" in r["start"] for r in rows) == 8, "02:xx happens twice"


@pytest.mark.parametrize(
    ("start", "n_slots", "target_slot", "target_at"),
    [
        # 06:00 CEST is 5 elapsed hours after midnight on the spring day ...
        ("2026-03-29T00:00:00+01:00", 92, 19, "2026-03-29T06:00:00+02:00"),
        # ... and 7 elapsed hours on the fall day.
        ("2026-10-25T00:00:00+02:00", 100, 27, "2026-10-25T06:00:00+01:00"),
    ],
)
def test_plan_dst_target_soc_lands_at_local_clock_hour(
    start: str, n_slots: int, target_slot: int, target_at: str
) -> None:
    out = plan_request(
        _dst_request(start, n_slots, s_index={"target_soc_hour": 6, "base_factor": 1.4})
    )
    meta = out.document["meta"]
    assert meta["s_index"]["target_soc_at"] == target_at
    assert out.kepler_input.soc_target is not None
    assert out.kepler_input.soc_target.slot == target_slot
    row = out.document["schedule"][target_slot]
    assert row["end"] == target_at
    # Target = 10 % + 0.4 x 50 = 30 %, met at that slot end.
    assert meta["target_soc_percent"] == pytest.approx(30.0)
    assert row["projected_soc_percent"] >= 30.0 - 1e-4


@pytest.mark.parametrize(
    ("start", "n_hours", "local_day_lengths"),
    [
        ("2026-03-28T00:00:00+01:00", 24 + 23 + 24, [24, 23, 24]),
        ("2026-10-24T00:00:00+02:00", 24 + 25 + 24, [24, 25, 24]),
    ],
)
def test_plan_dst_water_days_start_at_local_midnight(
    start: str, n_hours: int, local_day_lengths: list[int]
) -> None:
    config = {
        "system": {"has_battery": False},
        "water_heating": {"defer_up_to_hours": 0, "enable_top_ups": False},
    }
    request = build_request(
        import_prices=[1.0 + 0.1 * math.sin(i) for i in range(n_hours)],
        start=start,
        config=config,
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    assert out.document["meta"]["warnings"] == []
    water = out.kepler_input.water
    assert water is not None
    rows = out.document["schedule"]
    assert [d.end_slot - d.first_slot for d in water.days] == local_day_lengths
    for day in water.days:
        assert rows[day.first_slot]["start"][11:19] == "00:00:00"
        assert rows[day.first_slot]["start"].startswith(day.label)
        heated = _col(out, "water_heating_kw")[day.first_slot : day.end_slot].sum()
        assert heated == pytest.approx(6.0), day.label


def test_plan_water_day_with_deferral_after_dst_starts_at_local_0300() -> None:
    # The day after the spring change: 2026-03-30 03:00 is local 03:00 (+02:00).
    config = {"system": {"has_battery": False}, "water_heating": {"defer_up_to_hours": 3}}
    request = build_request(
        import_prices=[1.0] * 24, start="2026-03-30T00:00:00+02:00", config=config
    )
    out = plan_request(request, mode="baseline")
    water = out.kepler_input.water
    assert water is not None
    assert [d.label for d in water.days] == ["2026-03-29", "2026-03-30"]
    assert out.document["schedule"][water.days[1].first_slot]["start"] == (
        "2026-03-30T03:00:00+02:00"
    )


# --- negative prices -------------------------------------------------------------------------


def test_plan_negative_export_price_curtails_instead_of_cycling() -> None:
    # Three sunny hours with a big PV surplus, then three dark hours with 1 kWh load each;
    # export always costs money, import is positive; lossy battery (0.95/0.95), no wear.
    # The battery stores exactly what the evening needs, the rest of the PV is curtailed:
    # nothing is exported and nothing is cycled just to burn energy.
    config = {
        **BATTERY_ONLY,
        "battery": {"min_soc_percent": 10, "max_soc_percent": 100},
        "battery_economics": {"battery_cycle_cost_kwh": 0.0},
    }
    request = build_request(
        import_prices=[0.5] * 3 + [2.0] * 3,
        export_prices=[-0.2] * 6,
        pv_kwh=[6.0] * 3 + [0.0] * 3,
        load_kwh=[1.0] * 6,
        soc_percent=10.0,
        config=config,
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    assert not _col(out, "grid_export_kw").any()
    assert not _col(out, "grid_import_kw").any()
    charge, discharge = _col(out, "battery_charge_kw"), _col(out, "battery_discharge_kw")
    assert not discharge[:3].any()
    assert discharge.sum() == pytest.approx(3.0, abs=1e-4)
    assert charge.sum() == pytest.approx(3.0 / 0.95 / 0.95, abs=1e-4)
    assert _col(out, "pv_curtailment_kw").sum() == pytest.approx(
        3 * 5.0 - 3.0 / 0.95 / 0.95, abs=1e-4
    )
    assert _col(out, "projected_soc_percent")[-1] == pytest.approx(10.0, abs=1e-4)
    _assert_soc_follows_efficiencies(out)


def test_plan_negative_export_price_full_battery_curtails() -> None:
    config = {**BATTERY_ONLY, "battery": {"max_soc_percent": 100}}
    request = build_request(
        import_prices=[0.5] * 2,
        export_prices=[-0.2] * 2,
        pv_kwh=[4.0] * 2,
        load_kwh=[1.0] * 2,
        soc_percent=100.0,
        config=config,
    )
    out = plan_request(request, mode="baseline")
    rows = out.document["schedule"]
    assert [r["pv_curtailment_kw"] for r in rows] == [3.0, 3.0]
    assert [r["reason"] for r in rows] == ["curtail_negative_price"] * 2
    assert not _col(out, "battery_charge_kw").any()
    assert not _col(out, "battery_discharge_kw").any()


def test_plan_negative_import_price_charges_and_is_paid() -> None:
    config = {**BATTERY_ONLY, "battery_economics": {"battery_cycle_cost_kwh": 0.0}}
    request = build_request(
        import_prices=[-0.5, -0.5, 1.0, 1.0],
        export_prices=[-0.6, -0.6, 0.1, 0.1],
        load_kwh=[0.5] * 4,
        soc_percent=10.0,
        config=config,
    )
    out = plan_request(request, mode="baseline")
    rows = out.document["schedule"]
    assert out.document["meta"]["status"] == "optimal"
    assert rows[0]["action"] == "charge"
    assert rows[0]["reason"] == "negative_import_price"
    assert out.document["meta"]["energy_cost_sek"] < 0
    assert not _col(out, "grid_export_kw")[:2].any()
    charge, discharge = _col(out, "battery_charge_kw"), _col(out, "battery_discharge_kw")
    assert not (np.minimum(charge, discharge) > 1e-6).any()


def test_plan_dk1_negative_prices_example_never_exports_at_a_loss() -> None:
    request = read_example_request("dk1-negative-prices-2018-03-17")
    out = plan_request(request)
    export_price = _col(out, "export_price_sek_per_kwh")
    import_price = _col(out, "import_price_sek_per_kwh")
    assert (export_price < 0).any()
    assert (import_price > 0).all()
    assert not _col(out, "grid_export_kw")[export_price < 0].any()
    charge, discharge = _col(out, "battery_charge_kw"), _col(out, "battery_discharge_kw")
    imp, exp = _col(out, "grid_import_kw"), _col(out, "grid_export_kw")
    assert not (np.minimum(charge, discharge) > 1e-6).any()
    assert not (np.minimum(imp, exp) > 1e-6).any()
    _assert_soc_follows_efficiencies(out)


# --- short horizons, SoC outside its window, impossible quotas ------------------------------


def test_plan_six_hour_horizon_pro_rates_the_water_quota() -> None:
    # Tomorrow's prices missing: only 12:00-18:00 in quarter-hours. Half of today's
    # remaining water-day window (12:00-24:00) is in the horizon, so half the quota is due.
    config = {
        "system": {"has_battery": False},
        "water_heating": {"defer_up_to_hours": 0, "enable_top_ups": False},
    }
    request = build_request(
        import_prices=[1.0 + 0.01 * i for i in range(24)],
        start="2026-03-10T12:00:00+01:00",
        slot_minutes=15,
        config=config,
    )
    out = plan_request(request)
    assert out.document["meta"]["status"] == "optimal"
    assert len(out.document["schedule"]) == 24
    water = out.kepler_input.water
    assert water is not None
    assert [d.required_kwh for d in water.days] == [pytest.approx(3.0)]
    assert _col(out, "water_heating_kw").sum() * 0.25 == pytest.approx(3.0)
    assert out.document["meta"]["warnings"] == []


def test_plan_start_soc_above_max_drains_to_the_ceiling() -> None:
    config = {**BATTERY_ONLY, "battery": {"max_soc_percent": 80.0}}
    request = build_request(
        import_prices=[1.0] * 4, load_kwh=[1.0] * 4, soc_percent=100.0, config=config
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    soc = _col(out, "projected_soc_percent")
    # 2 kWh too much: at most 5 kW x 1 h / 0.95 can leave in the first hour, enough.
    assert soc[0] <= 80.0 + 1e-6
    assert (soc <= 80.0 + 1e-6).all()
    _assert_soc_follows_efficiencies(out)


def test_plan_start_soc_below_min_is_not_infeasible() -> None:
    config = {**BATTERY_ONLY, "battery": {"min_soc_percent": 20.0}}
    request = build_request(
        import_prices=[2.0, 1.0, 3.0], load_kwh=[0.5] * 3, soc_percent=0.0, config=config
    )
    out = plan_request(request, mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    # Back above the floor as fast as the charger allows: 5 kW x 0.95 > 2 kWh in hour one.
    assert (_col(out, "projected_soc_percent") >= 20.0 - 1e-6).all()
    assert not _col(out, "load_shedding_kw").any()


def test_plan_impossible_water_quota_uses_slack_and_warns() -> None:
    # 200 kWh a day from a 3 kW element is impossible (72 kWh at most).
    config = {
        "system": {"has_battery": False},
        "water_heating": {"min_kwh_per_day": 200.0, "defer_up_to_hours": 0},
    }
    request = build_request(import_prices=[1.0] * 24, config=config)
    out = plan_request(request, mode="baseline")
    meta = out.document["meta"]
    assert meta["status"] == "optimal"
    assert len(meta["warnings"]) == 1
    assert "water_heating" in meta["warnings"][0]
    assert "short by 128.00 kWh" in meta["warnings"][0]
    assert _col(out, "water_heating_kw").tolist() == [3.0] * 24, "heats all it can"


def test_plan_water_quota_blocked_by_import_limit_warns() -> None:
    # The element (3 kW) does not fit under a 2 kW import cap without a battery or PV.
    config = {
        "system": {"has_battery": False},
        "grid": {"import_limit_kw": 2.0},
        "water_heating": {"defer_up_to_hours": 0},
    }
    out = plan_request(build_request(import_prices=[1.0] * 24, config=config), mode="baseline")
    assert out.document["meta"]["status"] == "optimal"
    assert not _col(out, "water_heating_kw").any()
    assert any("short by 6.00 kWh" in w for w in out.document["meta"]["warnings"])


# --- bundled examples, slot lengths -----------------------------------------------------------

EXAMPLES = [p.stem for p in example_request_paths()]


def test_examples_are_bundled() -> None:
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("mode", ["full", "baseline"])
@pytest.mark.parametrize("name", EXAMPLES)
def test_plan_bundled_example_is_optimal(name: str, mode: str) -> None:
    request = read_example_request(name)
    out = plan_request(request, mode=mode)
    _assert_contract(out)
    meta = out.document["meta"]
    assert meta["status"] == "optimal"
    assert meta["mode"] == mode
    assert meta["mip_gap"] <= 0.005
    rows = out.document["schedule"]
    assert len(rows) == len(request["slots"])
    assert [_utc(r["start"]) for r in rows] == [_utc(s["start"]) for s in request["slots"]]
    _assert_soc_follows_efficiencies(out)
    if mode == "baseline":
        assert _col(out, "adjusted_load_kwh").tolist() == pytest.approx(
            [s["load_forecast_kwh"] for s in request["slots"]]
        )
        assert meta["target_soc_percent"] is None


def _hourly_day_at(slot_minutes: int) -> dict[str, Any]:
    """The same day at any resolution: hourly prices, energy split evenly over sub-slots."""
    hourly_price = [
        0.8 + 0.6 * math.sin(i / 24 * 2 * math.pi - 2.0) + 0.2 * (i % 3) for i in range(24)
    ]
    hourly_pv = [max(0.0, 3.0 * math.sin((i - 6) / 12 * math.pi)) for i in range(24)]
    per_hour = 60 // slot_minutes
    return build_request(
        import_prices=[p for p in hourly_price for _ in range(per_hour)],
        export_prices=[p - 0.5 for p in hourly_price for _ in range(per_hour)],
        pv_kwh=[v / per_hour for v in hourly_pv for _ in range(per_hour)],
        load_kwh=[0.6 / per_hour] * (24 * per_hour),
        slot_minutes=slot_minutes,
    )


def test_plan_slot_lengths_15_30_60_minutes() -> None:
    objectives = {}
    for minutes in (15, 30, 60):
        out = plan_request(_hourly_day_at(minutes))
        _assert_contract(out)
        meta = out.document["meta"]
        assert meta["status"] == "optimal", minutes
        assert meta["slot_minutes"] == minutes
        assert len(out.document["schedule"]) == 24 * 60 // minutes
        assert out.document["schedule"][-1]["end"] == "2026-03-11T00:00:00+01:00"
        assert _col(out, "water_heating_kw").sum() * minutes / 60 >= 6.0 - 1e-6
        _assert_soc_follows_efficiencies(out)
        objectives[minutes] = out.result.objective_sek
    # A finer grid of the same day can only do as well or better.
    assert objectives[15] <= objectives[30] + 1e-2
    assert objectives[30] <= objectives[60] + 1e-2


# --- the solver fails: fallback ---------------------------------------------------------------


def test_plan_solver_without_solution_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_solution(kin: object) -> None:
        raise NoSolutionError("Time limit reached")

    monkeypatch.setattr(fallback, "solve_kepler", no_solution)
    out = plan_request(read_example_request("se4-winter-2018-01-17"))
    meta = out.document["meta"]
    assert meta["status"] == "fallback"
    assert meta["fallback_reason"] == "solver found no solution (Time limit reached)"
    assert meta["objective_sek"] is None
    assert meta["mip_gap"] is None
    _assert_contract(out)


def test_plan_solver_error_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(kin: object) -> None:
        raise RuntimeError("highs exploded")

    monkeypatch.setattr(fallback, "solve_kepler", boom)
    out = plan_request(read_example_request("se4-winter-2018-01-17"))
    assert out.document["meta"]["status"] == "fallback"
    assert "highs exploded" in out.document["meta"]["fallback_reason"]
    _assert_contract(out)


# --- atomic write -----------------------------------------------------------------------------


def test_write_schedule_writes_valid_json_and_leaves_no_temp_files(tmp_path: Path) -> None:
    out = plan_request(_hourly_day_at(60))
    target = tmp_path / "nested" / "schedule.json"
    target.parent.mkdir()
    write_schedule(out.document, target)
    write_schedule(out.document, target)  # overwriting works too
    assert [p.name for p in target.parent.iterdir()] == ["schedule.json"]
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(
        json.dumps(out.document, allow_nan=False)
    )


def test_write_schedule_does_not_create_folders(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "schedule.json"
    with pytest.raises(OutputError) as info:
        write_schedule({"meta": {}, "schedule": []}, target)
    assert info.value.field == "output"
    assert info.value.message == f"{target}: folder {target.parent} does not exist"
    assert not target.parent.exists()


def test_write_schedule_never_replaces_a_fifo_or_a_directory(tmp_path: Path) -> None:
    fifo, folder = tmp_path / "pipe", tmp_path / "folder"
    os.mkfifo(fifo)
    folder.mkdir()
    for target, kind in ((fifo, "a FIFO"), (folder, "a directory")):
        with pytest.raises(OutputError, match=f"is {kind}, not a regular file"):
            write_schedule({"meta": {}, "schedule": []}, target)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert folder.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe"]


def test_write_schedule_follows_a_symlink_and_keeps_it(tmp_path: Path) -> None:
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("{}", encoding="utf-8")
    link.symlink_to(real.name)
    write_schedule({"meta": {}, "schedule": []}, link)
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8")) == {"meta": {}, "schedule": []}


def test_write_schedule_os_errors_name_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root a chmod 555 folder is still writable, so the errors are injected.
    target = tmp_path / "schedule.json"
    target.write_text('{"old": true}\n', encoding="utf-8")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OutputError, match=r"schedule\.json: cannot write \(No space left"):
        write_schedule({"meta": {}, "schedule": []}, target)
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["schedule.json"]

    def denied(**_: Any) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match=f"cannot create a file in {tmp_path} \\(Permission"):
        write_schedule({"meta": {}, "schedule": []}, target)


def test_write_schedule_refuses_nan_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "schedule.json"
    target.write_text('{"old": true}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_schedule({"meta": {"objective_sek": float("nan")}, "schedule": []}, target)
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["schedule.json"]


def test_write_schedule_replaces_via_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The final file only ever appears through Path.replace of a temp file in the same folder.
    moves: list[tuple[Path, Path]] = []
    original = Path.replace

    def spy(self: Path, target: Any) -> Path:
        moves.append((self, Path(target)))
        return original(self, target)

    monkeypatch.setattr(Path, "replace", spy)
    target = tmp_path / "schedule.json"
    write_schedule({"meta": {}, "schedule": []}, target)
    assert len(moves) == 1
    source, dest = moves[0]
    assert dest == target
    assert source.parent == tmp_path
    assert source.name != target.name


def test_planner_primary_heuristic_plans_with_the_rule_based_planner() -> None:
    from darkstar.config import parse_config
    from darkstar.examples import read_example_request
    from darkstar.planner import generate_schedule
    from darkstar.planner.inputs import parse_plan_request, prepare_input
    from darkstar.planner.pipeline import HEURISTIC_PRIMARY

    request = parse_plan_request(read_example_request("se4-price-spike-2018-05-16"))
    pin = prepare_input(request)
    kepler = generate_schedule(pin, parse_config({}))
    rules = generate_schedule(pin, parse_config({"planner": {"primary": "heuristic"}}))
    assert kepler.document["meta"]["status"] == "optimal"
    assert rules.document["meta"]["status"] == "fallback"
    assert rules.document["meta"]["fallback_reason"] == HEURISTIC_PRIMARY
    # the heuristic's plan is a different, dearer one (Kepler is the optimum)
    assert rules.document["meta"]["energy_cost_sek"] > kepler.document["meta"]["energy_cost_sek"]
