"""Manual blocks (``planner/strategy/manual_plan.py``) and how Kepler obeys them.

Micro-scenarios: four one-hour slots from 2026-03-10 00:00 UTC, a lossless 10 kWh battery
(5 kW each way, min 0 %, max 100 %, no wear) at 50 % unless stated, planned in
``mode="baseline"``. Notation as in ``test_kepler_micro.py``: ``c`` charge, ``d``
discharge, ``i`` import, ``e`` export (kW = kWh per one-hour slot), ``E`` SoC at the end of
a slot. Objectives are compared after removing the throughput tie-break.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkstar.config import merge_config, parse_config
from darkstar.errors import InputError
from darkstar.examples import build_request
from darkstar.planner.inputs import parse_plan_request, prepare_input
from darkstar.planner.pipeline import PlanOutcome, generate_schedule
from darkstar.planner.solver import fallback, kepler
from darkstar.planner.solver.kepler import NoSolutionError
from darkstar.planner.strategy.manual_plan import (
    ManualAction,
    ManualBlock,
    check_manual_blocks,
    manual_blocks_from_records,
    to_manual_overrides,
)

OBJ_TOL = 1e-4
KW_TOL = 1e-5
T0 = datetime(2026, 3, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
PLANNED_AT = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)

HOLD, CHARGE, DISCHARGE = ManualAction.HOLD, ManualAction.CHARGE, ManualAction.DISCHARGE


def _block(first: float, last: float, action: ManualAction) -> ManualBlock:
    """Block from hour ``first`` to hour ``last`` after T0."""
    return ManualBlock(start=T0 + first * HOUR, end=T0 + last * HOUR, action=action)


def _plan(
    import_prices: list[float],
    *,
    blocks: tuple[ManualBlock, ...] = (),
    load: list[float] | None = None,
    export_prices: list[float] | None = None,
    soc: float = 50.0,
    battery: dict[str, Any] | None = None,
    grid: dict[str, Any] | None = None,
    export: bool = True,
    slot_minutes: int = 60,
    pv: list[float] | None = None,
) -> PlanOutcome:
    config = {
        "system": {"has_battery": True, "has_water_heater": False},
        "battery": {
            "capacity_kwh": 10.0,
            "min_soc_percent": 0.0,
            "max_soc_percent": 100.0,
            "max_charge_kw": 5.0,
            "max_discharge_kw": 5.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
            **(battery or {}),
        },
        "battery_economics": {"battery_cycle_cost_kwh": 0.0},
        "grid": {"max_power_kw": 20.0, "import_limit_kw": None, **(grid or {})},
        "export": {"enable_export": export},
        "kepler": {"mip_gap": 0.0},
    }
    request = build_request(
        import_prices=import_prices,
        export_prices=export_prices,
        pv_kwh=pv,
        load_kwh=load,
        start=T0.isoformat(),
        slot_minutes=slot_minutes,
        soc_percent=soc,
        config=config,
        timezone="UTC",
    )
    parsed = parse_plan_request(request)
    cfg = parse_config(merge_config({}, parsed.config))
    return generate_schedule(
        prepare_input(parsed),
        cfg,
        mode="baseline",
        planned_at=PLANNED_AT,
        manual_blocks=blocks,
    )


def _col(out: PlanOutcome, name: str) -> list[Any]:
    return [row[name] for row in out.document["schedule"]]


def _objective(out: PlanOutcome) -> float:
    """Objective without the throughput tie-break (one-hour slots: kW = kWh)."""
    rows = out.document["schedule"]
    throughput = float(sum(r["battery_charge_kw"] + r["battery_discharge_kw"] for r in rows))
    value = out.document["meta"]["objective_sek"]
    assert value is not None
    return float(value) - kepler.THROUGHPUT_TIEBREAK_SEK_PER_KWH * throughput


def _assert_plan(out: PlanOutcome, objective: float, **flows: list[float]) -> None:
    assert out.document["meta"]["status"] == "optimal"
    assert _objective(out) == pytest.approx(objective, abs=OBJ_TOL)
    names = {
        "c": "battery_charge_kw",
        "d": "battery_discharge_kw",
        "i": "grid_import_kw",
        "e": "grid_export_kw",
        "soc": "projected_soc_kwh",
    }
    for key, values in flows.items():
        assert _col(out, names[key]) == pytest.approx(values, abs=KW_TOL), key


# --- Kepler obeys the blocks -------------------------------------------------------------

#: Prices and load of the hold and discharge scenarios: expensive 01:00, dearer-than-base
#: 02:00, 4 kWh load in each.
PRICES = [1.0, 3.0, 2.0, 1.0]
LOAD = [0.0, 4.0, 4.0, 0.0]


def test_generate_schedule_without_blocks_reference() -> None:
    # 8 kWh of load, 5 kWh stored: buy the missing 3 at 1 SEK in slot 0 and cover both
    # load slots from the battery: c0 = 3, d1 = d2 = 4, objective 3.
    out = _plan(PRICES, load=LOAD)
    _assert_plan(out, 3.0, c=[3, 0, 0, 0], d=[0, 4, 4, 0], i=[3, 0, 0, 0], soc=[8, 4, 0, 0])
    assert "manual_block" not in _col(out, "reason")


def test_generate_schedule_hold_block_idles_battery() -> None:
    # Hold 01:00-02:00: d1 = 0, so slot 1 imports 4 at 3 SEK = 12; the stored 5 kWh cover
    # slot 2 (d2 = 4), and nothing is bought in slot 0. Objective 12.
    out = _plan(PRICES, load=LOAD, blocks=(_block(1, 2, HOLD),))
    _assert_plan(out, 12.0, c=[0, 0, 0, 0], d=[0, 0, 4, 0], i=[0, 4, 0, 0], soc=[5, 5, 1, 1])
    assert _col(out, "reason")[1] == "manual_block"
    assert _col(out, "action")[1] == "hold"
    assert "manual_block" not in _col(out, "reason")[:1] + _col(out, "reason")[2:]


def test_generate_schedule_charge_block_at_expensive_slot() -> None:
    # Charge 00:00-01:00 at 3 SEK (later slots cost 1, no load, nothing to sell): the block
    # charges at full power, c0 = 5, not "until full": with eta_c = 0.9, E0 = 5 + 4.5 =
    # 9.5 < 10. Objective 5 * 3 = 15 (0 without the block).
    out = _plan(
        [3.0, 1.0, 1.0, 1.0],
        blocks=(_block(0, 1, CHARGE),),
        battery={"charge_efficiency": 0.9},
    )
    _assert_plan(out, 15.0, c=[5, 0, 0, 0], d=[0, 0, 0, 0], i=[5, 0, 0, 0])
    assert _col(out, "projected_soc_kwh") == pytest.approx([9.5] * 4, abs=KW_TOL)
    assert _col(out, "reason")[0] == "manual_block"
    assert _col(out, "action")[0] == "charge"


def test_generate_schedule_charge_block_reaches_ceiling_mid_block() -> None:
    # Charge 00:00-02:00 from 50 %: 10 kWh of reach, 5 kWh of room. The block is met by
    # ending full, so the 5 kWh go into the cheaper block slot (2 < 3): c1 = 5, E1 = 10.
    # Objective 10. Still optimal, no penalty.
    out = _plan([3.0, 2.0, 1.0, 1.0], blocks=(_block(0, 2, CHARGE),))
    _assert_plan(out, 10.0, c=[0, 5, 0, 0], d=[0, 0, 0, 0], soc=[5, 10, 10, 10])


def test_generate_schedule_charge_block_limited_by_fuse() -> None:
    # A 3 kW fuse: the block charges at the fuse, c0 = 3, and pays no penalty (reach is
    # measured within the import cap). Objective 3 * 3 = 9.
    out = _plan([3.0, 1.0, 1.0, 1.0], blocks=(_block(0, 1, CHARGE),), grid={"max_power_kw": 3.0})
    _assert_plan(out, 9.0, c=[3, 0, 0, 0], i=[3, 0, 0, 0])


def test_generate_schedule_discharge_block_pushes_to_export() -> None:
    # Discharge 01:00-02:00: d1 = 5 (load 4 plus 1 exported at 0 SEK; the 20 kW fuse allows
    # more, the battery's 5 kW does not). Slot 2 still needs 4, so slot 0 buys 4 at 1 SEK:
    # E0 = 9, E1 = 4, E2 = 0. Objective 4 (3 without the block).
    out = _plan(PRICES, load=LOAD, blocks=(_block(1, 2, DISCHARGE),))
    _assert_plan(
        out,
        4.0,
        c=[4, 0, 0, 0],
        d=[0, 5, 4, 0],
        i=[4, 0, 0, 0],
        e=[0, 1, 0, 0],
        soc=[9, 4, 0, 0],
    )
    assert _col(out, "reason")[1] == "manual_block"


def test_generate_schedule_discharge_block_stops_at_min_soc() -> None:
    # Min SoC 40 %, start 50 %, no export, 5 SEK in slot 0 (no pre-charging): discharge
    # 01:00-03:00 could move 8 kWh but only 1 kWh is above the floor, so the block is met
    # by ending at the floor: d1 = 1 (3 SEK beats 2). Slot 1 imports 3 at 3, slot 2 imports
    # 4 at 2: 17. The floor holds; the status stays optimal.
    out = _plan(
        [5.0, 3.0, 2.0, 1.0],
        load=LOAD,
        blocks=(_block(1, 3, DISCHARGE),),
        battery={"min_soc_percent": 40.0},
        export=False,
    )
    _assert_plan(out, 17.0, c=[0, 0, 0, 0], d=[0, 1, 0, 0], i=[0, 3, 4, 0], soc=[5, 4, 4, 4])


def test_generate_schedule_block_outside_horizon_changes_nothing() -> None:
    reference = _plan(PRICES, load=LOAD)
    out = _plan(PRICES, load=LOAD, blocks=(_block(24, 26, HOLD), _block(-3, -1, CHARGE)))
    assert out.kepler_input.manual is None
    assert out.document["schedule"] == reference.document["schedule"]
    assert out.document["meta"]["objective_sek"] == reference.document["meta"]["objective_sek"]


def test_generate_schedule_block_partly_outside_horizon() -> None:
    # Hold from 22:00 the day before to 02:00 governs slots 0 and 1: slot 1 imports 4 at 3
    # SEK, slot 2 takes the stored 5 kWh. Same plan as the one-slot hold: 12.
    out = _plan(PRICES, load=LOAD, blocks=(_block(-2, 2, HOLD),))
    _assert_plan(out, 12.0, c=[0, 0, 0, 0], d=[0, 0, 4, 0])
    assert _col(out, "reason")[:2] == ["manual_block", "manual_block"]


def test_generate_schedule_conflicting_blocks_raise() -> None:
    with pytest.raises(InputError) as info:
        _plan(PRICES, blocks=(_block(1, 3, HOLD), _block(2, 4, CHARGE)))
    assert info.value.field == "blocks"


def test_generate_schedule_fallback_warns_blocks_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_solution(*_: object) -> None:
        raise NoSolutionError("time limit reached")

    monkeypatch.setattr(fallback, "solve_kepler", no_solution)
    out = _plan(PRICES, load=LOAD, blocks=(_block(1, 2, HOLD),))
    meta = out.document["meta"]
    assert meta["status"] == "fallback"
    assert any(w.startswith("manual_blocks:") for w in meta["warnings"])
    assert "manual_block" not in _col(out, "reason")


# --- blocks and their slot grid (pure) -------------------------------------------------


def test_to_manual_overrides_arrays() -> None:
    # Half-hour grid over 3 h: charge 00:15-00:45 touches slots 0 and 1 (partial slots
    # count whole); hold 01:00-01:30 is slot 2; discharge from 02:00 runs past the horizon.
    starts = [T0 + k * HOUR / 2 for k in range(6)]
    blocks = (_block(0.25, 0.75, CHARGE), _block(1, 1.5, HOLD), _block(2, 9, DISCHARGE))
    out = to_manual_overrides(blocks, slot_starts=starts, slot_duration=HOUR / 2)
    assert out is not None
    inf = np.inf
    assert out.max_charge_kw.tolist() == [inf, inf, 0.0, inf, 0.0, 0.0]
    assert out.max_discharge_kw.tolist() == [0.0, 0.0, 0.0, inf, inf, inf]
    assert out.forced_direction.tolist() == [1, 1, 0, 0, -1, -1]
    assert out.manual_slots.tolist() == [True, True, True, False, True, True]
    assert out.windows(1) == [(0, 2)]
    assert out.windows(-1) == [(4, 6)]


def test_to_manual_overrides_same_action_overlap_merges() -> None:
    blocks = (_block(0, 2, CHARGE), _block(1, 3, CHARGE))
    out = to_manual_overrides(
        blocks, slot_starts=[T0 + k * HOUR for k in range(4)], slot_duration=HOUR
    )
    assert out is not None
    assert out.windows(1) == [(0, 3)]


def test_to_manual_overrides_no_block_in_horizon_is_none() -> None:
    starts = [T0 + k * HOUR for k in range(4)]
    assert to_manual_overrides((), slot_starts=starts, slot_duration=HOUR) is None
    blocks = (_block(4, 5, HOLD),)  # starts exactly at the horizon's end
    assert to_manual_overrides(blocks, slot_starts=starts, slot_duration=HOUR) is None


def test_to_manual_overrides_slot_conflict_raises() -> None:
    # Disjoint in time, but both touch the one-hour slot 01:00.
    blocks = (_block(1, 1.5, HOLD), _block(1.5, 2, CHARGE))
    check_manual_blocks(blocks)  # fine without a grid
    starts = [T0 + k * HOUR for k in range(4)]
    with pytest.raises(InputError) as info:
        to_manual_overrides(blocks, slot_starts=starts, slot_duration=HOUR)
    assert info.value.field == "blocks"


def test_check_manual_blocks_conflict_names_blocks() -> None:
    with pytest.raises(
        InputError, match=r"blocks\[0\] \(hold\) and blocks\[2\] \(discharge\)"
    ) as info:
        check_manual_blocks((_block(0, 2, HOLD), _block(2, 3, CHARGE), _block(1, 3, DISCHARGE)))
    assert info.value.field == "blocks"


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 3, 10, 1), T0 + 2 * HOUR, "start"),  # noqa: DTZ001 - naive on purpose
        (T0, datetime(2026, 3, 10, 2), "end"),  # noqa: DTZ001
        (T0.astimezone(ZoneInfo("Europe/Stockholm")), T0 + HOUR, "start"),
        (T0 + HOUR, T0 + HOUR, "end"),
        (T0 + 2 * HOUR, T0 + HOUR, "end"),
    ],
)
def test_manual_block_rejects_bad_times(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(InputError) as info:
        ManualBlock(start=start, end=end, action=HOLD)
    assert info.value.field == field
    records = [
        {"start": T0, "end": T0 + HOUR, "action": "hold"},
        {"start": start, "end": end, "action": "hold"},
    ]
    with pytest.raises(InputError) as info:
        manual_blocks_from_records(records)
    assert info.value.field == f"blocks[1].{field}"


def test_manual_blocks_from_records_bad_action_and_conflict() -> None:
    with pytest.raises(InputError) as info:
        manual_blocks_from_records([{"start": T0, "end": T0 + HOUR, "action": "boost"}])
    assert info.value.field == "blocks[0].action"
    with pytest.raises(InputError) as info:
        manual_blocks_from_records([{"start": T0, "end": T0 + HOUR}])
    assert info.value.field == "blocks[0].action"
    records = [
        {"start": T0, "end": T0 + 2 * HOUR, "action": "charge"},
        {"start": T0 + HOUR, "end": T0 + 3 * HOUR, "action": "discharge"},
    ]
    with pytest.raises(InputError) as info:
        manual_blocks_from_records(records)
    assert info.value.field == "blocks"
    ok = manual_blocks_from_records([{"start": T0, "end": T0 + HOUR, "action": "charge"}])
    assert ok == (_block(0, 1, CHARGE),)


# --- property: never infeasible, holds hold --------------------------------------------


def _grid(lo: float, hi: float, step: float) -> st.SearchStrategy[float]:
    return st.integers(round(lo / step), round(hi / step)).map(lambda k: round(k * step, 6))


@st.composite
def _blocks(draw: st.DrawFn, n_slots: int) -> tuple[ManualBlock, ...]:
    """Up to 4 blocks on quarter-hour edges, some reaching past the horizon.

    Kept blocks are at least an hour apart, so no two touch the same one-hour slot.
    """
    quarters = draw(st.sets(st.integers(-8, 4 * n_slots + 8), min_size=2, max_size=8))
    cuts = sorted(quarters)
    out: list[ManualBlock] = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        block = _block(a / 4, b / 4, draw(st.sampled_from(list(ManualAction))))
        if not out or block.start >= out[-1].end + HOUR:
            out.append(block)
    return tuple(out)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generate_schedule_random_blocks_never_infeasible(data: st.DataObject) -> None:
    n = 24
    imp = data.draw(st.lists(_grid(-1.0, 5.0, 0.01), min_size=n, max_size=n))
    exp = [round(max(-1.0, p - 0.3), 6) for p in imp]
    min_soc = data.draw(_grid(0.0, 50.0, 5.0))
    max_soc = data.draw(_grid(min_soc + 10.0, 100.0, 5.0))
    battery = {
        "min_soc_percent": min_soc,
        "max_soc_percent": max_soc,
        "max_charge_kw": data.draw(_grid(0.5, 6.0, 0.5)),
        "max_discharge_kw": data.draw(_grid(0.5, 6.0, 0.5)),
        "charge_efficiency": data.draw(_grid(0.8, 1.0, 0.05)),
        "discharge_efficiency": data.draw(_grid(0.8, 1.0, 0.05)),
    }
    blocks = data.draw(_blocks(n))
    out = _plan(
        imp,
        export_prices=exp,
        load=data.draw(st.lists(_grid(0.0, 3.0, 0.01), min_size=n, max_size=n)),
        pv=data.draw(st.lists(_grid(0.0, 3.0, 0.01), min_size=n, max_size=n)),
        soc=data.draw(_grid(min_soc, max_soc, 1.0)),
        battery=battery,
        grid={"max_power_kw": data.draw(_grid(4.0, 20.0, 1.0))},
        export=data.draw(st.booleans()),
        blocks=blocks,
    )
    assert out.document["meta"]["status"] in {"optimal", "feasible"}, out.document["meta"]
    kin = out.kepler_input
    ch = np.array(_col(out, "battery_charge_kw"))
    dis = np.array(_col(out, "battery_discharge_kw"))
    soc = np.array(_col(out, "projected_soc_kwh"))
    if kin.manual is None:
        assert "manual_block" not in _col(out, "reason")
        return
    manual, bat = kin.manual, kin.battery
    assert bat is not None
    hold = (manual.max_charge_kw == 0) & (manual.max_discharge_kw == 0)
    assert np.all(ch[hold] == 0.0)
    assert np.all(dis[hold] == 0.0)
    assert np.all(dis[manual.forced_direction > 0] == 0.0)
    assert np.all(ch[manual.forced_direction < 0] == 0.0)
    reasons = np.array(_col(out, "reason"))
    assert np.all((reasons == "manual_block") == manual.manual_slots)
    # Each push window is met: its SoC change equals full power within the fuse (the
    # reach, recomputed here), or it ends at the SoC limit.
    h = kin.slot_h
    net_kw = (kin.load_kwh - kin.pv_kwh) / h
    export_cap = kin.grid.max_power_kw if kin.grid.export_enabled else 0.0
    pushes = (
        (1, ch, np.clip(kin.grid.import_cap_kw - net_kw, 0.0, bat.max_charge_kw), bat.max_soc_kwh),
        (-1, dis, np.clip(net_kw + export_cap, 0.0, bat.max_discharge_kw), bat.min_soc_kwh),
    )
    for direction, flow_kw, reach_kw, limit_kwh in pushes:
        for a, b in manual.windows(direction):
            at_power = np.sum(flow_kw[a:b]) >= np.sum(reach_kw[a:b]) - 1e-4
            assert at_power or abs(soc[b - 1] - limit_kwh) < 1e-3, (direction, a, b)
