"""Tests of the export what-if (``planner/whatif.py``) and ``darkstar whatif export``.

The micro-scenarios plan three one-hour slots from 2026-03-10 00:00 local time with a
lossless battery (efficiencies 1.0, no wear, floor 0 %), so every kW is a kWh and the net
impact can be worked out by hand. Notation in the comments: ``c`` charge, ``d`` discharge,
``i`` import, ``e`` export (kWh per slot), ``E`` the SoC at the end of a slot.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.errors import InputError
from darkstar.examples import build_request
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.inputs.types import PlannerInput
from darkstar.planner.pipeline import plan_request
from darkstar.planner.solver import kepler
from darkstar.planner.solver.types import ExportCommitment
from darkstar.planner.whatif import ExportWhatIf, resolve_peak_window, whatif_export

IMPACT_TOL = 1e-6
KW_TOL = 1e-6


def _config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
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
        "grid": {"max_power_kw": 20.0, "import_limit_kw": None},
        "export": {"enable_export": True},
        "kepler": {"mip_gap": 0.0},
    }
    for section, values in overrides.items():
        config[section] = {**config[section], **values}
    return config


def _request(
    import_prices: list[float],
    export_prices: list[float],
    *,
    load: list[float] | None = None,
    pv: list[float] | None = None,
    soc: float = 0.0,
    **config: Any,
) -> dict[str, Any]:
    return build_request(
        import_prices=import_prices,
        export_prices=export_prices,
        load_kwh=load,
        pv_kwh=pv,
        soc_percent=soc,
        config=_config(**config),
    )


def _hand_case() -> dict[str, Any]:
    return _request(
        [1.0, 3.0, 3.5],
        [0.1, 0.8, 0.1],
        load=[1.0, 1.0, 2.0],
        soc=20.0,
        battery={"max_charge_kw": 2.0},
    )


def _col(document: dict[str, Any], name: str) -> list[float]:
    return [row[name] for row in document["schedule"]]


def _pin(request: dict[str, Any]) -> PlannerInput:
    return prepare_input(parse_plan_request(request))


def _hourly_days(start: str, n: int, export_prices: list[float], slot_minutes: int = 60) -> Any:
    return _pin(
        build_request(
            import_prices=[1.0] * n,
            export_prices=export_prices,
            start=start,
            slot_minutes=slot_minutes,
        )
    )


# --- the net impact, by re-solving ------------------------------------------------------


def test_whatif_export_hand_computed_impact() -> None:
    # Prices: import 1.0 / 3.0 / 3.5, export 0.1 / 0.8 / 0.1; load 1 / 1 / 2 kWh; the
    # battery starts at E_0 = 2 kWh and charges at most 2 kW. Export 2 kWh in slot 1.
    #
    # Base: the 3 kWh of load in slots 1-2 come from the battery (2 kWh stored plus 1 kWh
    # charged in slot 0 at 1.0); exporting at 0.8 never beats charging at 1.0.
    #   c = [1, 0, 0], d = [0, 1, 2], i = [2, 0, 0], e = 0:    cost = 2 x 1.0 = 2.0 SEK
    # What-if: slot 1 must send 2 kWh out on top of its 1 kWh load, so d_1 = 3; with
    # c_0 <= 2, E_1 = 2 + c_0 - 3 leaves c_0 - 1 <= 1 kWh for slot 2's 2 kWh load. Each
    # kWh charged in slot 0 (1.0) saves a kWh imported in slot 2 (3.5): c_0 = 2.
    #   c = [2, 0, 0], d = [0, 3, 1], i = [3, 0, 1], e = [0, 2, 0]:
    #   cost = 3 x 1.0 - 2 x 0.8 + 1 x 3.5 = 4.9 SEK
    # Net impact = 1 kWh more charged at 1.0 + 1 kWh of later load now bought at 3.5
    #            - 2 kWh sold at 0.8 = 1.0 + 3.5 - 1.6 = +2.9 SEK (it costs money).
    result = whatif_export(_hand_case(), energy_kwh=2.0, at="2026-03-10T01:00")

    assert result.base_cost_sek == pytest.approx(2.0, abs=IMPACT_TOL)
    assert result.whatif_cost_sek == pytest.approx(4.9, abs=IMPACT_TOL)
    assert result.net_impact_sek == pytest.approx(2.9, abs=IMPACT_TOL)
    assert (result.first_slot, result.end_slot) == (1, 2)
    assert result.window_start == "2026-03-10T01:00:00+01:00"
    assert result.window_end == "2026-03-10T02:00:00+01:00"
    assert result.base_export_kwh == pytest.approx(0.0, abs=KW_TOL)
    assert result.whatif_export_kwh == pytest.approx(2.0, abs=KW_TOL)
    assert result.shortfall_kwh == 0.0
    assert result.warnings == ()
    assert (result.base_status, result.whatif_status) == ("optimal", "optimal")
    base, whatif = result.base_document, result.whatif_document
    assert _col(base, "battery_charge_kw") == pytest.approx([1, 0, 0], abs=KW_TOL)
    assert _col(base, "battery_discharge_kw") == pytest.approx([0, 1, 2], abs=KW_TOL)
    assert _col(whatif, "battery_charge_kw") == pytest.approx([2, 0, 0], abs=KW_TOL)
    assert _col(whatif, "battery_discharge_kw") == pytest.approx([0, 3, 1], abs=KW_TOL)
    assert _col(whatif, "grid_import_kw") == pytest.approx([3, 0, 1], abs=KW_TOL)
    assert _col(whatif, "grid_export_kw") == pytest.approx([0, 2, 0], abs=KW_TOL)
    meta = whatif["meta"]
    assert meta["energy_cost_sek"] + meta["wear_cost_sek"] == pytest.approx(4.9, abs=1e-5)


def test_whatif_export_today_peak_is_the_hand_case_window() -> None:
    result = whatif_export(_hand_case(), energy_kwh=2.0, at="Today  Peak")
    assert (result.first_slot, result.end_slot) == (1, 2)  # export price 0.8 is the peak
    assert result.net_impact_sek == pytest.approx(2.9, abs=IMPACT_TOL)


def test_whatif_export_already_exported_costs_nothing() -> None:
    # 4 kWh of PV in slot 1, no load, an empty battery, export 0.9 there and 0.5 elsewhere:
    # storing PV to sell later at 0.5 loses, so the base plan exports all 4 kWh in slot 1
    # (cost -3.6 SEK). A commitment of 3 kWh there is already met: impact 0.
    request = _request([1.0, 1.0, 1.0], [0.5, 0.9, 0.5], pv=[0.0, 4.0, 0.0])
    result = whatif_export(request, energy_kwh=3.0, at="today peak")

    assert result.base_export_kwh == pytest.approx(4.0, abs=KW_TOL)
    assert result.whatif_export_kwh == pytest.approx(4.0, abs=KW_TOL)
    assert result.base_cost_sek == pytest.approx(-3.6, abs=IMPACT_TOL)
    assert result.net_impact_sek == pytest.approx(0.0, abs=IMPACT_TOL)
    assert result.shortfall_kwh == 0.0
    assert result.warnings == ()


def test_whatif_export_fuse_limits_commitment_shortfall() -> None:
    # Fuse 2 kW, battery at E_0 = 2 kWh, no load; export 0.2 / 0.5 / 0.9, import 1.0.
    # Base: the 2 kWh are sold in slot 2 at 0.9 (cost -1.8 SEK); buying at 1.0 to sell
    # never pays. What-if: 5 kWh in slot 1, but the fuse passes at most 2 kWh there. The
    # cheapest 2 kWh are the battery's own (selling them at 0.5 instead of 0.9 loses 0.4
    # per kWh; charging at 1.0 to sell at 0.5 would lose 0.5): cost -1.0 SEK.
    # Net impact = 2 x (0.9 - 0.5) = +0.8 SEK; shortfall 5 - 2 = 3 kWh; the model solves.
    request = _request([1.0, 1.0, 1.0], [0.2, 0.5, 0.9], soc=20.0, grid={"max_power_kw": 2.0})
    result = whatif_export(request, energy_kwh=5.0, at="2026-03-10T01:00")

    assert result.whatif_status == "optimal"
    assert result.whatif_export_kwh == pytest.approx(2.0, abs=KW_TOL)
    assert result.shortfall_kwh == pytest.approx(3.0, abs=KW_TOL)
    assert result.net_impact_sek == pytest.approx(0.8, abs=IMPACT_TOL)
    assert _col(result.whatif_document, "grid_export_kw") == pytest.approx([0, 2, 0], abs=KW_TOL)
    assert len(result.warnings) == 1
    assert "short by 3.00 kWh" in result.warnings[0]
    assert "fuse allows at most 2.00 kWh" in result.warnings[0]


def test_whatif_export_battery_limits_commitment_shortfall() -> None:
    # Same as the hand case but 30 kWh: slot 0 charges its 2 kW limit, so slot 1 can send
    # out E_0 + 2 - load = 2 + 2 - 1 = 3 kWh; the fuse (20 kW) is not what binds.
    result = whatif_export(_hand_case(), energy_kwh=30.0, at="2026-03-10T01:00")
    assert result.whatif_export_kwh == pytest.approx(3.0, abs=KW_TOL)
    assert result.shortfall_kwh == pytest.approx(27.0, abs=KW_TOL)
    assert "battery and PV cannot deliver more" in result.warnings[0]


def test_whatif_export_export_disabled_all_short() -> None:
    request = _request([1.0, 1.0, 1.0], [0.2, 0.5, 0.9], soc=50.0, export={"enable_export": False})
    result = whatif_export(request, energy_kwh=1.5, at="today peak")
    assert result.whatif_export_kwh == 0.0
    assert result.shortfall_kwh == pytest.approx(1.5, abs=KW_TOL)
    assert result.net_impact_sek == pytest.approx(0.0, abs=IMPACT_TOL)
    assert "export.enable_export = false" in result.warnings[0]


@pytest.mark.parametrize("mode", ["baseline", "full"])
def test_whatif_export_base_plan_is_the_pipeline_plan(mode: str) -> None:
    # The base plan is exactly what ``darkstar plan`` gives in that mode (strategy layers
    # included), and a 0 kWh commitment re-solves to the same plan.
    request = _hand_case()
    result = whatif_export(request, energy_kwh=0.0, at="today peak", mode=mode)
    planned = plan_request(request, mode=mode).document
    assert result.base_document["schedule"] == planned["schedule"]
    assert result.base_document["meta"]["s_index"] == planned["meta"]["s_index"]
    assert result.whatif_document["schedule"] == result.base_document["schedule"]
    assert result.net_impact_sek == pytest.approx(0.0, abs=IMPACT_TOL)
    assert result.mode == mode


def test_whatif_export_to_dict_is_json() -> None:
    result = whatif_export(_hand_case(), energy_kwh=2.0, at="today peak")
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["net_impact_sek"] == pytest.approx(2.9, abs=IMPACT_TOL)
    assert data["window"] == {
        "start": "2026-03-10T01:00:00+01:00",
        "end": "2026-03-10T02:00:00+01:00",
        "first_slot": 1,
        "end_slot": 2,
    }
    assert data["whatif_schedule"]["meta"]["status"] == "optimal"
    assert "base_schedule" not in result.to_dict(include_documents=False)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"energy_kwh": -1.0, "at": "today peak"}, "energy_kwh"),
        ({"energy_kwh": float("nan"), "at": "today peak"}, "energy_kwh"),
        ({"energy_kwh": 1.0, "at": "today peak", "mode": "fast"}, "mode"),
        ({"energy_kwh": 1.0, "at": "tomorrow peak"}, "at"),
    ],
)
def test_whatif_export_bad_input(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        whatif_export(_hand_case(), **kwargs)
    assert info.value.field == field


# --- the window ---------------------------------------------------------------------------


def test_resolve_peak_window_tomorrow_on_two_days() -> None:
    # Today's evening peak (5.0 at 18:00) is higher than anything tomorrow; tomorrow's
    # highest export price is 2.0 at 08:00, slot 24 + 8.
    prices = [0.3] * 48
    prices[18] = 5.0
    prices[24 + 8] = 2.0
    prices[24 + 20] = 1.5
    pin = _hourly_days("2026-03-10T00:00:00+01:00", 48, prices)
    assert resolve_peak_window(pin, "tomorrow peak") == (32, 33)
    assert resolve_peak_window(pin, "today peak") == (18, 19)


def test_resolve_peak_window_tomorrow_peak_by_hourly_mean() -> None:
    # 15-minute slots: tomorrow 07:00 has one quarter at 3.0 (hour mean 0.75), 08:00 has
    # four quarters at 1.0 (mean 1.0). The peak is the hour with the highest mean.
    prices = [0.0] * 192
    prices[96 + 7 * 4 + 2] = 3.0
    for q in range(4):
        prices[96 + 8 * 4 + q] = 1.0
    pin = _hourly_days("2026-03-10T00:00:00+01:00", 192, prices, slot_minutes=15)
    assert resolve_peak_window(pin, "tomorrow peak") == (128, 132)


def test_resolve_peak_window_today_from_horizon_start() -> None:
    # The horizon starts at 20:00: "today" is 20:00-24:00, "tomorrow" the next day.
    prices = [0.5, 0.7, 0.6, 0.4] + [0.1] * 24
    prices[4 + 17] = 0.9
    pin = _hourly_days("2026-03-10T20:00:00+01:00", 28, prices)
    assert resolve_peak_window(pin, "today peak") == (1, 2)
    assert resolve_peak_window(pin, "tomorrow peak") == (21, 22)


def test_resolve_peak_window_repeated_dst_hour() -> None:
    # 2026-10-25 in Stockholm has 25 hours: 02:00 CEST (slot 26) and 02:00 CET (slot 27)
    # are two different clock hours; the second one holds tomorrow's peak.
    prices = [0.2] * 49
    prices[26] = 0.8
    prices[27] = 1.0
    pin = _hourly_days("2026-10-24T00:00:00+02:00", 49, prices)
    assert resolve_peak_window(pin, "tomorrow peak") == (27, 28)


@pytest.mark.parametrize(
    ("at", "slot_minutes", "expected"),
    [
        ("2026-03-10T01:00", 60, (1, 2)),
        ("2026-03-10 01:00", 60, (1, 2)),
        ("2026-03-10T01:00", 15, (4, 8)),
        ("2026-03-10T01:15", 15, (5, 9)),
        ("2026-03-10T00:00:00+00:00", 15, (4, 8)),  # 01:00 local
    ],
)
def test_resolve_peak_window_local_time(
    at: str, slot_minutes: int, expected: tuple[int, int]
) -> None:
    n = 3 * 60 // slot_minutes
    pin = _hourly_days("2026-03-10T00:00:00+01:00", n, [0.1] * n, slot_minutes=slot_minutes)
    assert resolve_peak_window(pin, at) == expected


@pytest.mark.parametrize(
    ("at", "needle"),
    [
        ("noon", "expected 'today peak', 'tomorrow peak' or an ISO 8601 local time"),
        ("2026-03-10", "expected"),
        ("tomorrow peak", "tomorrow (2026-03-11) is not in the horizon"),
        ("2030-01-01T00:00", "outside the horizon"),
        ("2026-03-09T23:00", "outside the horizon"),
        ("2026-03-10T01:10", "not a slot start"),
        ("2026-03-10T02:30", "runs past the horizon end"),
    ],
)
def test_resolve_peak_window_errors(at: str, needle: str) -> None:
    pin = _hourly_days("2026-03-10T00:00:00+01:00", 12, [0.1] * 12, slot_minutes=15)
    with pytest.raises(InputError) as info:
        resolve_peak_window(pin, at)
    assert info.value.field == "at"
    assert needle in info.value.message


def test_resolve_peak_window_skipped_dst_time() -> None:
    pin = _hourly_days("2026-03-29T00:00:00+01:00", 6, [0.1] * 6)
    with pytest.raises(InputError, match="does not exist in Europe/Stockholm"):
        resolve_peak_window(pin, "2026-03-29T02:30")


# --- command line -------------------------------------------------------------------------


def _invoke(tmp_path: Path, *args: str, request: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request or _hand_case()), encoding="utf-8")
    return CliRunner().invoke(app, ["whatif", "export", "--input", str(path), *args])


def test_cli_whatif_export_summary(tmp_path: Path) -> None:
    result = _invoke(tmp_path, "--kwh", "2", "--at", "today peak")
    assert result.exit_code == 0, result.output
    assert "net impact: +2.90 SEK (it costs you)" in result.stdout
    assert "2026-03-10T01:00+01:00 to 2026-03-10T02:00+01:00" in result.stdout


def test_cli_whatif_export_json(tmp_path: Path) -> None:
    result = _invoke(tmp_path, "--kwh", "2", "--at", "2026-03-10T01:00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["net_impact_sek"] == pytest.approx(2.9, abs=IMPACT_TOL)
    assert data["whatif_export_kwh"] == pytest.approx(2.0, abs=KW_TOL)
    assert len(data["whatif_schedule"]["schedule"]) == 3


@pytest.mark.parametrize(
    ("args", "prefix", "needle"),
    [
        (["--kwh", "-1", "--at", "today peak"], "--kwh", "must be a finite number >= 0"),
        (["--kwh", "abc", "--at", "today peak"], "--kwh", "expected a number of kWh"),
        (["--kwh", "inf", "--at", "today peak"], "--kwh", "finite"),
        (["--kwh", "1", "--at", "noon"], "--at", "expected 'today peak'"),
        (["--kwh", "1", "--at", "tomorrow peak"], "--at", "not in the horizon"),
        (["--kwh", "1", "--at", "2030-01-01T18:00"], "--at", "outside the horizon"),
        (["--kwh", "1", "--at", "today peak", "--mode", "fast"], "--mode", "'full' or"),
    ],
)
def test_cli_whatif_export_bad_input_exit_2(
    tmp_path: Path, args: list[str], prefix: str, needle: str
) -> None:
    result = _invoke(tmp_path, *args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {prefix}: "), lines[0]
    assert needle in lines[0]
    assert result.stdout == ""


def test_cli_whatif_export_bad_request_names_field(tmp_path: Path) -> None:
    request = _hand_case()
    request["state"]["soc_percent"] = 140.0
    result = _invoke(tmp_path, "--kwh", "1", "--at", "today peak", request=request)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: state.soc_percent: ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("first", "end", "energy"),
    [(1, 1, 1.0), (-1, 2, 1.0), (0, 2, -0.5), (0, 2, float("inf"))],
)
def test_export_commitment_validation(first: int, end: int, energy: float) -> None:
    with pytest.raises(ValueError, match="ExportCommitment"):
        ExportCommitment(first_slot=first, end_slot=end, energy_kwh=energy)


def test_kepler_input_commitment_inside_horizon() -> None:
    kin = plan_request(_hand_case(), mode="baseline").kepler_input
    with pytest.raises(ValueError, match="export_commitment ends at slot 4, after 3"):
        replace(kin, export_commitment=ExportCommitment(first_slot=2, end_slot=4, energy_kwh=1))


def test_add_export_commitment_constraints_row_and_penalty() -> None:
    kin = plan_request(_hand_case(), mode="baseline").kepler_input
    kin = replace(kin, export_commitment=ExportCommitment(first_slot=1, end_slot=3, energy_kwh=2))
    none = np.zeros(0, dtype=np.int64)
    m, _ = kepler.build_model(kin, battery_binaries=none, grid_binaries=none)
    short = m.cols("export_shortfall_kwh")
    assert len(short) == 1
    assert m.costs(short)[0] == kepler.EXPORT_SHORTFALL_PENALTY_SEK_PER_KWH
    assert m.row_blocks["export_commitment"][1] == 1
    plain = replace(kin, export_commitment=None)
    m, _ = kepler.build_model(plain, battery_binaries=none, grid_binaries=none)
    assert "export_commitment" not in m.row_blocks


def test_whatif_result_is_frozen() -> None:
    result = whatif_export(_hand_case(), energy_kwh=0.0, at="today peak")
    assert isinstance(result, ExportWhatIf)
    with pytest.raises(AttributeError):
        result.net_impact_sek = 1.0  # type: ignore[misc]
