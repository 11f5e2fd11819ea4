"""Repository functions of the learning store on a real SQLite file."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.examples import build_request, read_example_request
from darkstar.learning.store import ExecutionLog, Plan, SlotObservation, SlotPlan, Store, StoreError
from darkstar.learning.store.repository import (
    daily_metrics,
    delete_all,
    last_observation,
    log_execution,
    read_plan_vs_actual,
    record_observation,
    record_plan,
)
from darkstar.planner import plan_request

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _row(start: datetime, *, import_kw: float, export_kw: float, p_in: float, p_out: float):
    return {
        "start": start.isoformat(),
        "end": (start + HOUR).isoformat(),
        "import_price_sek_per_kwh": p_in,
        "export_price_sek_per_kwh": p_out,
        "battery_charge_kw": 0.0,
        "battery_discharge_kw": 0.0,
        "grid_import_kw": import_kw,
        "grid_export_kw": export_kw,
        "water_heating_kw": 0.0,
        "projected_soc_percent": 50.0,
        "soc_target_percent": 20.0,
        "action": "idle",
    }


def _document(planned_at: datetime, rows: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {"planned_at": planned_at.isoformat(), "mode": "full", "status": "optimal"}
    return {"meta": meta, "schedule": rows}


def _observe(store: Store, start: datetime, **overrides: float) -> bool:
    values: dict[str, float] = {
        "pv_kwh": 0.0,
        "load_kwh": 1.0,
        "grid_import_kwh": 0.0,
        "grid_export_kwh": 0.0,
        "battery_charge_kwh": 0.0,
        "battery_discharge_kwh": 0.0,
        "water_heater_kwh": 0.0,
        "import_price_sek_per_kwh": 1.0,
        "export_price_sek_per_kwh": 0.5,
    } | overrides
    return record_observation(store, slot_start=start, soc_end_percent=50.0, **values)


def _slot_keys(store: Store, plan_id: int) -> list[int]:
    with Session(store.engine) as session:
        query = (
            select(SlotPlan.slot_start_utc)
            .where(SlotPlan.plan_id == plan_id)
            .order_by(SlotPlan.slot_start_utc)
        )
        return list(session.scalars(query))


@pytest.fixture(scope="module")
def spike_document() -> dict[str, Any]:
    return plan_request(read_example_request("se4-price-spike-2018-05-16")).document


def test_record_plan_real_document(store: Store, spike_document: dict[str, Any]) -> None:
    plan_id = record_plan(store, document=spike_document)
    assert plan_id is not None
    rows = spike_document["schedule"]
    expected = [int(datetime.fromisoformat(r["start"]).timestamp()) for r in rows]
    assert _slot_keys(store, plan_id) == expected
    assert len(expected) == len(rows)
    with Session(store.engine) as session:
        plan = session.get_one(Plan, plan_id)
        assert plan.horizon_start_utc == expected[0]
        assert plan.horizon_end_utc == int(datetime.fromisoformat(rows[-1]["end"]).timestamp())
        assert plan.status == spike_document["meta"]["status"]
        assert plan.planned_at.endswith("+00:00")
    # the planned cost rebuilt from flows x prices matches the planner's own per-slot cost
    start = datetime.fromisoformat(rows[0]["start"])
    end = datetime.fromisoformat(rows[-1]["end"])
    joined = read_plan_vs_actual(store, start=start, end=end)
    assert len(joined) == len(rows)
    rebuilt = sum(r.planned.energy_cost_sek for r in joined if r.planned is not None)
    assert rebuilt == pytest.approx(sum(r["planned_cost_sek"] for r in rows), abs=1e-3)


def test_record_plan_dst_autumn_keys_are_utc(store: Store) -> None:
    request = build_request(
        import_prices=[1.0 + 0.1 * (i % 5) for i in range(30)],
        load_kwh=[0.5] * 30,
        start="2026-10-24T22:00:00+02:00",
        slot_minutes=60,
    )
    document = plan_request(request).document
    plan_id = record_plan(store, document=document)
    assert plan_id is not None
    first = int(datetime(2026, 10, 24, 20, 0, tzinfo=UTC).timestamp())
    # 02:00+02:00 and 02:00+01:00 are two different slots, one hour apart
    assert _slot_keys(store, plan_id) == [first + 3600 * i for i in range(30)]


def test_record_plan_duplicate_start_refused(store: Store) -> None:
    rows = [_row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0)] * 2
    with pytest.raises(InputError) as info:
        record_plan(store, document=_document(T0, rows))
    assert info.value.field == "schedule[1].start"


def test_record_plan_missing_field_named(store: Store) -> None:
    row = _row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0)
    del row["grid_import_kw"]
    with pytest.raises(InputError) as info:
        record_plan(store, document=_document(T0, [row]))
    assert info.value.field == "schedule[0].grid_import_kw"


def test_record_observation_upsert_replaces(store: Store) -> None:
    local = T0.astimezone(ZoneInfo("Europe/Stockholm"))
    assert _observe(store, local, grid_import_kwh=1.0)
    assert _observe(store, T0, grid_import_kwh=2.5)
    with Session(store.engine) as session:
        rows = session.scalars(select(SlotObservation)).all()
        assert [(r.slot_start_utc, r.grid_import_kwh) for r in rows] == [(int(T0.timestamp()), 2.5)]


def test_read_plan_vs_actual_latest_plan(store: Store) -> None:
    newer = record_plan(
        store,
        document=_document(T0 - HOUR, [_row(T0, import_kw=2, export_kw=0, p_in=1, p_out=0.5)]),
    )
    # recorded later but planned earlier: must not win
    older = record_plan(
        store,
        document=_document(
            T0 - 3 * HOUR,
            [
                _row(T0, import_kw=9, export_kw=0, p_in=1, p_out=0.5),
                _row(T0 + HOUR, import_kw=4, export_kw=0, p_in=1, p_out=0.5),
            ],
        ),
    )
    assert _observe(store, T0, grid_import_kwh=2.2)
    assert _observe(store, T0 + 2 * HOUR)
    joined = read_plan_vs_actual(store, start=T0, end=T0 + 3 * HOUR)
    assert [r.slot_start for r in joined] == [T0, T0 + HOUR, T0 + 2 * HOUR]
    first, second, third = joined
    assert first.planned is not None
    assert (first.planned.plan_id, first.planned.grid_import_kw) == (newer, 2.0)
    assert first.observed is not None
    assert first.observed.grid_import_kwh == 2.2
    assert second.planned is not None
    assert second.planned.plan_id == older
    assert second.observed is None
    assert third.planned is None
    assert third.observed is not None


def test_daily_metrics_hand_computed(store: Store) -> None:
    # plan: slot A imports 2 kW at 1.0 (2.0 SEK), slot B exports 1 kW at 0.5 (-0.5 SEK)
    rows = [
        _row(T0, import_kw=2, export_kw=0, p_in=1.0, p_out=0.5),
        _row(T0 + HOUR, import_kw=0, export_kw=1, p_in=1.0, p_out=0.5),
    ]
    assert record_plan(store, document=_document(T0 - HOUR, rows)) is not None
    # reality: A 3 kWh import at 1.0 (3.0), charged 2 kWh; B 2 kWh export at 0.5 (-1.0),
    # discharged 1.6 kWh; C (no plan) 1 kWh import at 2.0 (2.0)
    assert _observe(store, T0, grid_import_kwh=3.0, battery_charge_kwh=2.0)
    assert _observe(store, T0 + HOUR, grid_export_kwh=2.0, battery_discharge_kwh=1.6)
    assert _observe(store, T0 + 2 * HOUR, grid_import_kwh=1.0, import_price_sek_per_kwh=2.0)
    # outside the day: ignored
    assert _observe(store, T0 + 24 * HOUR, grid_import_kwh=50.0, battery_charge_kwh=9.0)
    metrics = daily_metrics(store, day_start=T0, day_end=T0 + 24 * HOUR)
    assert metrics.observed_slots == 3
    assert metrics.matched_slots == 2
    assert metrics.actual_cost_sek == pytest.approx(4.0)
    assert metrics.planned_cost_sek == pytest.approx(1.5)
    assert metrics.cost_deviation_sek == pytest.approx(0.5)  # (3.0 - 1.0) - 1.5
    assert metrics.battery_efficiency_realized == pytest.approx(0.8)


def test_daily_metrics_no_charge_no_plan(store: Store) -> None:
    assert _observe(store, T0, grid_import_kwh=1.0)
    metrics = daily_metrics(store, day_start=T0, day_end=T0 + HOUR)
    assert metrics.battery_efficiency_realized is None
    assert metrics.planned_cost_sek is None
    assert metrics.cost_deviation_sek is None
    assert metrics.actual_cost_sek == pytest.approx(1.0)


def test_log_execution_stores_json(store: Store) -> None:
    assert log_execution(
        store,
        at=T0 + timedelta(seconds=61),
        slot_start=T0,
        planned_action="charge",
        commanded={"work_mode": "charge", "charge_kw": 3.0},
        observed_soc_percent=41.5,
    )
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT at_utc, slot_start_utc, commanded FROM execution_log"
        ).one()
    assert tuple(row) == (
        int(T0.timestamp()) + 61,
        int(T0.timestamp()),
        '{"charge_kw": 3.0, "work_mode": "charge"}',
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s, naive: _observe(s, naive), "slot_start"),
        (lambda s, naive: log_execution(s, at=naive, commanded={}), "at"),
        (lambda s, naive: read_plan_vs_actual(s, start=naive, end=T0), "start"),
        (lambda s, naive: daily_metrics(s, day_start=T0, day_end=naive), "day_end"),
        (
            lambda s, naive: record_plan(
                s,
                document=_document(T0, [_row(naive, import_kw=1, export_kw=0, p_in=1, p_out=0)]),
            ),
            "schedule[0].start",
        ),
    ],
)
def test_naive_datetime_refused(store: Store, call: Any, field: str) -> None:
    naive = datetime(2026, 3, 10, 0, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(InputError) as info:
        call(store, naive)
    assert info.value.field == field


def test_nan_refused(store: Store) -> None:
    with pytest.raises(InputError) as info:
        _observe(store, T0, pv_kwh=float("nan"))
    assert info.value.field == "pv_kwh"


def test_writes_on_locked_db_return_false_and_log(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="darkstar.learning.store")
    document = _document(T0, [_row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0)])
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        assert _observe(store, T0) is False
        assert log_execution(store, at=T0, commanded={"mode": "idle"}) is False
        assert record_plan(store, document=document) is None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(messages) == 3
    assert any("record_observation" in m for m in messages)
    # the store works again once the lock is gone
    assert _observe(store, T0) is True


def _count(store: Store, model: type[Any]) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_record_plan_same_planned_at_and_mode_replaces(store: Store) -> None:
    planned_at = T0 - HOUR
    first = _document(
        planned_at,
        [
            _row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0.5),
            _row(T0 + HOUR, import_kw=1, export_kw=0, p_in=1, p_out=0.5),
        ],
    )
    plan_id = record_plan(store, document=first)
    assert plan_id is not None
    # the same instant written in local time, re-planned with other slots and status
    again = _document(
        planned_at.astimezone(ZoneInfo("Europe/Stockholm")),
        [_row(T0 + 2 * HOUR, import_kw=7, export_kw=0, p_in=1, p_out=0.5)],
    )
    again["meta"]["status"] = "time_limit"
    assert record_plan(store, document=again) == plan_id
    assert _count(store, Plan) == 1
    assert _slot_keys(store, plan_id) == [int((T0 + 2 * HOUR).timestamp())]
    with Session(store.engine) as session:
        plan = session.get_one(Plan, plan_id)
        assert (plan.status, plan.horizon_start_utc) == (
            "time_limit",
            int((T0 + 2 * HOUR).timestamp()),
        )
    joined = read_plan_vs_actual(store, start=T0, end=T0 + 3 * HOUR)
    assert [r.slot_start for r in joined] == [T0 + 2 * HOUR]
    assert joined[0].planned is not None
    assert joined[0].planned.grid_import_kw == 7.0


def test_record_plan_same_planned_at_other_mode_is_new_plan(store: Store) -> None:
    rows = [_row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0.5)]
    full = record_plan(store, document=_document(T0 - HOUR, rows))
    manual = _document(T0 - HOUR, rows)
    manual["meta"]["mode"] = "manual"
    other = record_plan(store, document=manual)
    assert full is not None
    assert other is not None
    assert other != full
    assert _count(store, Plan) == 2
    assert _count(store, SlotPlan) == 2


def test_replayed_history_is_not_duplicated(store: Store) -> None:
    # a restart replays the same plan, observation and tick: nothing is stored twice
    document = _document(T0 - HOUR, [_row(T0, import_kw=2, export_kw=0, p_in=1, p_out=0.5)])
    plan_ids = set()
    for _ in range(3):
        plan_ids.add(record_plan(store, document=document))
        assert _observe(store, T0, grid_import_kwh=2.0)
        assert log_execution(store, at=T0 + HOUR, slot_start=T0, commanded={"mode": "idle"})
    assert len(plan_ids) == 1
    counts = {
        model.__tablename__: _count(store, model)
        for model in (Plan, SlotPlan, SlotObservation, ExecutionLog)
    }
    assert counts == {"plans": 1, "slot_plans": 1, "slot_observations": 1, "execution_log": 1}


def test_log_execution_same_tick_replaces(store: Store) -> None:
    assert log_execution(store, at=T0, commanded={"mode": "charge"}, note="first")
    # same whole second (sub-second part dropped), other values: replaces every column
    assert log_execution(
        store,
        at=T0 + timedelta(milliseconds=400),
        slot_start=T0,
        planned_action="idle",
        commanded={"mode": "idle"},
        observed_soc_percent=55.0,
    )
    assert log_execution(store, at=T0 + timedelta(seconds=1), commanded={"mode": "idle"})
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT at_utc, slot_start_utc, planned_action, commanded, observed_soc_percent, note"
            " FROM execution_log ORDER BY at_utc"
        ).all()
    key = int(T0.timestamp())
    assert [tuple(r) for r in rows] == [
        (key, key, "idle", '{"mode": "idle"}', 55.0, None),
        (key + 1, None, None, '{"mode": "idle"}', None, None),
    ]


def test_last_observation_greatest_slot(store: Store) -> None:
    assert last_observation(store) is None
    for hours, import_kwh in ((2, 3.0), (0, 1.0), (1, 2.0)):
        assert _observe(store, T0 + hours * HOUR, grid_import_kwh=import_kwh)
    latest = last_observation(store)
    assert latest is not None
    assert latest.slot_start == T0 + 2 * HOUR
    assert latest.slot_start.tzinfo == UTC
    assert latest.grid_import_kwh == 3.0


def test_last_observation_unreadable_raises_store_error(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE slot_observations"))
    with pytest.raises(StoreError, match="last observation"):
        last_observation(store)


def test_last_write_error_set_on_failure_cleared_on_success(store: Store, db_path: Path) -> None:
    assert store.last_write_error is None
    document = _document(T0, [_row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0)])
    locked = f"cannot write {db_path}: database is locked"
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        assert record_plan(store, document=document) is None
        assert store.last_write_error == locked
        assert _observe(store, T0) is False
        assert store.last_write_error == locked
        with pytest.raises(StoreError):
            delete_all(store)
        assert store.last_write_error == locked
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # invalid input is the caller's bug, not the store's health: left as it was
    with pytest.raises(InputError):
        log_execution(store, at=datetime(2026, 3, 10), commanded={})  # noqa: DTZ001
    assert store.last_write_error == locked
    assert log_execution(store, at=T0, commanded={"mode": "idle"}) is True
    assert store.last_write_error is None


def test_last_write_error_read_only_database(store: Store, db_path: Path) -> None:
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only=ON"))
    assert log_execution(store, at=T0, commanded={"mode": "idle"}) is False
    assert store.last_write_error == (
        f"cannot write {db_path}: attempt to write a readonly database"
    )


def test_delete_all_empties_every_table(store: Store) -> None:
    document = _document(T0 - HOUR, [_row(T0, import_kw=1, export_kw=0, p_in=1, p_out=0)])
    assert record_plan(store, document=document) is not None
    assert _observe(store, T0)
    assert log_execution(store, at=T0, commanded={})
    assert delete_all(store) == 4
    assert store.last_write_error is None
    assert [_count(store, m) for m in (Plan, SlotPlan, SlotObservation, ExecutionLog)] == [0] * 4
    # the schema stays: the store is writable right away
    assert record_plan(store, document=document) is not None
