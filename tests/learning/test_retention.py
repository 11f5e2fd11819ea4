"""Retention: each table's cut-off, rows at and around it, batches, dry runs, untouched tables.

Every case uses one policy, ``now`` = 20 March 2018 12:30:45 UTC, so the cut-offs are
whole hours: observations 10 days back (10 March 12:00), plans 5 (15 March 12:00),
forecasts 3, weather runs 4, execution log 2 and strategy log 1 day back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select

from darkstar.errors import InputError
from darkstar.learning.store import Store, StoreError
from darkstar.learning.store.daily import DayMetrics, read_daily_metrics, write_daily_metrics
from darkstar.learning.store.forecasts import (
    ForecastSlot,
    list_models,
    read_forecasts,
    record_forecast,
    register_model,
)
from darkstar.learning.store.models import (
    Base,
    ExecutionLog,
    Plan,
    SlotObservation,
    SlotPlan,
    SpotPrice,
    WeatherRun,
)
from darkstar.learning.store.prices import store_price_day
from darkstar.learning.store.repository import (
    log_execution,
    read_observations,
    record_observation,
    record_plan,
)
from darkstar.learning.store.retention import (
    PrunedTable,
    RetentionPolicy,
    cutoffs,
    prune,
    vacuum,
)
from darkstar.learning.store.strategy_log import (
    StrategyKind,
    append_strategy_entry,
    read_strategy_log,
)
from darkstar.learning.store.weather import read_weather_hours, record_weather_run
from darkstar.market import PriceDay, SpotSlot, delivery_window

NOW = datetime(2018, 3, 20, 12, 30, 45, tzinfo=UTC)
POLICY = RetentionPolicy(
    observations_days=10,
    plans_days=5,
    forecasts_days=3,
    weather_runs_days=4,
    execution_log_days=2,
    strategy_log_days=1,
)
OBSERVATIONS_CUT = datetime(2018, 3, 10, 12, tzinfo=UTC)
PLANS_CUT = datetime(2018, 3, 15, 12, tzinfo=UTC)
FORECASTS_CUT = datetime(2018, 3, 17, 12, tzinfo=UTC)
WEATHER_CUT = datetime(2018, 3, 16, 12, tzinfo=UTC)
EXECUTION_CUT = datetime(2018, 3, 18, 12, tzinfo=UTC)
STRATEGY_CUT = datetime(2018, 3, 19, 12, tzinfo=UTC)
SLOT = timedelta(minutes=15)
SECOND = timedelta(seconds=1)


def _observe(store: Store, start: datetime) -> None:
    assert record_observation(
        store,
        slot_start=start,
        pv_kwh=0.1,
        load_kwh=0.2,
        grid_import_kwh=0.1,
        grid_export_kwh=0.0,
        battery_charge_kwh=0.0,
        battery_discharge_kwh=0.0,
        water_heater_kwh=0.0,
        import_price_sek_per_kwh=1.0,
        export_price_sek_per_kwh=0.5,
        recorded_at=start + SLOT,
    )


def _plan(store: Store, start: datetime, slots: int) -> int:
    rows = [
        {
            "start": (start + k * SLOT).isoformat(),
            "end": (start + (k + 1) * SLOT).isoformat(),
            "import_price_sek_per_kwh": 1.0,
            "export_price_sek_per_kwh": 0.5,
            "battery_charge_kw": 0.0,
            "battery_discharge_kw": 0.0,
            "grid_import_kw": 1.0,
            "grid_export_kw": 0.0,
            "projected_soc_percent": 50.0,
            "action": "hold",
        }
        for k in range(slots)
    ]
    meta = {"planned_at": start.isoformat(), "mode": "full", "status": "optimal"}
    plan_id = record_plan(store, document={"meta": meta, "schedule": rows})
    assert plan_id is not None
    return plan_id


def _forecast(store: Store, issued_at: datetime, starts: list[datetime]) -> None:
    slots = [
        ForecastSlot(
            slot_start=s,
            pv_p10_kwh=0.0,
            pv_p50_kwh=0.1,
            pv_p90_kwh=0.2,
            load_p10_kwh=0.1,
            load_p50_kwh=0.2,
            load_p90_kwh=0.3,
        )
        for s in starts
    ]
    assert record_forecast(
        store, issued_at=issued_at, slots=slots, pv_source="perfect", load_source="perfect"
    )


def _weather(store: Store, issued_at: datetime, first_hour: datetime, hours: int) -> None:
    index = pd.date_range(first_hour, periods=hours, freq="h", tz="UTC")
    hourly = pd.DataFrame(
        {
            "ghi_w_per_m2": 100.0,
            "dni_w_per_m2": 50.0,
            "dhi_w_per_m2": 50.0,
            "temp_air_c": 5.0,
            "cloud_cover_percent": 50.0,
        },
        index=index,
    )
    assert record_weather_run(store, issued_at=issued_at, hourly=hourly)


def _strategy(store: Store, at: datetime, kind: StrategyKind) -> None:
    assert append_strategy_entry(
        store,
        at=at,
        kind=kind,
        rule="reflex.safety",
        message="",
        inputs={},
        before={"s_index.base_factor": 1.1},
        after={"s_index.base_factor": 1.2},
    )


def _day(day: date) -> DayMetrics:
    return DayMetrics(
        day=day,
        timezone="Europe/Stockholm",
        observed_slots=96,
        matched_slots=96,
        forecast_slots=96,
        pv_mae_kwh=None,
        pv_bias_kwh=None,
        load_mae_kwh=None,
        load_bias_kwh=None,
        planned_cost_sek=None,
        actual_cost_sek=None,
        cost_deviation_sek=None,
        battery_efficiency_realized=None,
        soc_tracking_error_percent=None,
        low_soc_events=None,
        computed_at=NOW,
    )


def _rows(store: Store, model: type[Base]) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


def _only(table: PrunedTable, count: int, **more: int) -> dict[PrunedTable, int]:
    """The expected ``deleted``: ``count`` rows of ``table`` (and ``more``), 0 elsewhere."""
    expected = dict.fromkeys(PrunedTable, 0)
    expected[table] = count
    expected.update({PrunedTable(k): v for k, v in more.items()})
    return expected


# --- cut-offs (pure) ------------------------------------------------------------------------


def test_cutoffs_count_back_each_tables_days_to_the_whole_hour() -> None:
    cut = cutoffs(NOW, POLICY)
    assert cut == {
        PrunedTable.SLOT_OBSERVATIONS: OBSERVATIONS_CUT,
        PrunedTable.LEARNING_DAILY_METRICS: OBSERVATIONS_CUT,
        PrunedTable.PLANS: PLANS_CUT,
        PrunedTable.SLOT_PLANS: PLANS_CUT,
        PrunedTable.SLOT_FORECASTS: FORECASTS_CUT,
        PrunedTable.WEATHER_RUNS: WEATHER_CUT,
        PrunedTable.EXECUTION_LOG: EXECUTION_CUT,
        PrunedTable.STRATEGY_LOG: STRATEGY_CUT,
    }


def test_cutoffs_of_a_local_time_are_in_utc() -> None:
    from zoneinfo import ZoneInfo

    local = NOW.astimezone(ZoneInfo("Europe/Stockholm"))  # 13:30:45 CET
    assert cutoffs(local, POLICY) == cutoffs(NOW, POLICY)


def test_cutoffs_naive_now_is_refused() -> None:
    with pytest.raises(InputError, match="now: naive datetime"):
        cutoffs(NOW.replace(tzinfo=None), POLICY)


@pytest.mark.parametrize("days", [0, -1, 1.5, True, None])
def test_retention_policy_bad_days_name_the_field(days: Any) -> None:
    with pytest.raises(InputError) as info:
        RetentionPolicy(
            observations_days=10,
            plans_days=5,
            forecasts_days=days,
            weather_runs_days=4,
            execution_log_days=2,
            strategy_log_days=1,
        )
    assert info.value.field == "forecasts_days"


# --- each table at its cut-off --------------------------------------------------------------


def test_prune_observations_before_the_cutoff_only(store: Store) -> None:
    for start in (OBSERVATIONS_CUT - SLOT, OBSERVATIONS_CUT, OBSERVATIONS_CUT + SLOT):
        _observe(store, start)
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.SLOT_OBSERVATIONS, 1)
    left = read_observations(store, start=OBSERVATIONS_CUT - SLOT, end=NOW)
    assert [o.slot_start for o in left] == [OBSERVATIONS_CUT, OBSERVATIONS_CUT + SLOT]


def test_prune_execution_log_to_the_second(store: Store) -> None:
    for at in (EXECUTION_CUT - SECOND, EXECUTION_CUT, EXECUTION_CUT + SECOND):
        assert log_execution(store, at=at, commanded={"mode": "hold"})
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.EXECUTION_LOG, 1)
    with store.engine.connect() as connection:
        left = list(connection.scalars(select(ExecutionLog.at_utc).order_by(ExecutionLog.at_utc)))
    assert left == [int(EXECUTION_CUT.timestamp()), int(EXECUTION_CUT.timestamp()) + 1]


def test_prune_strategy_log_keeps_reflex_applied_changes_of_any_age(store: Store) -> None:
    _strategy(store, STRATEGY_CUT - SECOND, StrategyKind.REFLEX_PROPOSAL)  # deleted
    _strategy(store, STRATEGY_CUT - SECOND, StrategyKind.STRATEGY)  # deleted
    _strategy(store, STRATEGY_CUT - timedelta(days=400), StrategyKind.REFLEX_APPLIED)  # kept
    _strategy(store, STRATEGY_CUT, StrategyKind.REFLEX_PROPOSAL)  # kept: at the cut-off
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.STRATEGY_LOG, 2)
    left = read_strategy_log(store, limit=10)
    assert [(r.kind, r.at) for r in left] == [
        ("reflex_proposal", STRATEGY_CUT),
        ("reflex_applied", STRATEGY_CUT - timedelta(days=400)),
    ]


def test_prune_forecasts_by_slot_keeps_later_slots_of_an_older_issue(store: Store) -> None:
    issued = FORECASTS_CUT - timedelta(hours=2)
    _forecast(store, issued, [FORECASTS_CUT - SLOT, FORECASTS_CUT, FORECASTS_CUT + SLOT])
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.SLOT_FORECASTS, 1)
    left = read_forecasts(store, start=FORECASTS_CUT - SLOT, end=NOW)
    assert [(at, s.slot_start) for at, s in left] == [
        (issued, FORECASTS_CUT),
        (issued, FORECASTS_CUT + SLOT),
    ]


def test_prune_weather_runs_by_hour_keeps_the_runs_later_hours(store: Store) -> None:
    issued = WEATHER_CUT - timedelta(hours=2, minutes=10)
    _weather(store, issued, WEATHER_CUT - timedelta(hours=2), hours=4)  # 10:00 to 13:00
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.WEATHER_RUNS, 2)
    hours = read_weather_hours(store, start=WEATHER_CUT - timedelta(hours=2), end=NOW)
    assert list(hours.index) == [
        pd.Timestamp(WEATHER_CUT),
        pd.Timestamp(WEATHER_CUT + timedelta(hours=1)),
    ]
    assert list(hours["lead_h"]) == [3.0, 4.0]  # still the lead in their run (from 09:00)


def test_prune_plans_whose_whole_horizon_ended_by_the_cutoff(store: Store) -> None:
    ended = _plan(store, PLANS_CUT - timedelta(hours=1), slots=4)  # ends at the cut-off
    straddles = _plan(store, PLANS_CUT - timedelta(hours=1, minutes=15), slots=6)  # + 15 min
    later = _plan(store, PLANS_CUT, slots=4)
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.PLANS, 1, slot_plans=4)
    with store.engine.connect() as connection:
        plans = set(connection.scalars(select(Plan.plan_id)))
        slots = int(connection.scalar(select(func.count()).select_from(SlotPlan)) or 0)
    assert plans == {straddles, later}
    assert ended not in plans
    assert slots == 6 + 4


def test_prune_daily_metrics_whose_local_day_ended_in_every_zone(store: Store) -> None:
    days = [date(2018, 3, 8), date(2018, 3, 9), date(2018, 3, 10)]  # the cut-off: 10 March 12:00
    assert write_daily_metrics(store, [_day(d) for d in days])
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.deleted == _only(PrunedTable.LEARNING_DAILY_METRICS, 1)
    assert [m.day for m in read_daily_metrics(store)] == days[:0:-1]


def test_prune_leaves_spot_prices_and_the_model_registry(store: Store) -> None:
    old = date(2016, 1, 10)
    start, _ = delivery_window(old)
    hours = [start + timedelta(hours=h) for h in range(24)]
    slots = tuple(SpotSlot(start=h, end=h + timedelta(hours=1), spot_per_kwh=0.5) for h in hours)
    day = PriceDay(area="SE4", currency="SEK", delivery_date=old, slots=slots)
    assert store_price_day(store, day, fetched_at=start)
    assert register_model(
        store,
        target="pv",
        version="2016-01-10",
        trained_at=start,
        train_start=start - timedelta(days=30),
        train_end=start,
        path="/models/pv/1",
        metrics={},
    )
    report = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert report.total == 0
    assert _rows(store, SpotPrice) == 24
    assert [m.version for m in list_models(store)] == ["2016-01-10"]


# --- batches, dry runs, reports, failures -----------------------------------------------------


def test_prune_deletes_more_rows_than_a_batch_in_several(store: Store) -> None:
    for k in range(12):  # 12 slots before the cut-off, 1 at it
        _observe(store, OBSERVATIONS_CUT - (k + 1) * SLOT)
    _observe(store, OBSERVATIONS_CUT)
    report = prune(store, now=NOW, policy=POLICY, batch_rows=5, pause_s=0)
    assert report.deleted == _only(PrunedTable.SLOT_OBSERVATIONS, 12)
    # observations 5 + 5 + 2; the six other tables one (empty) batch each
    assert report.batches == 3 + 6
    assert _rows(store, SlotObservation) == 1


def test_prune_plans_in_batches_of_whole_plans(store: Store) -> None:
    for k in range(3):
        _plan(store, PLANS_CUT - timedelta(days=k + 1), slots=4)
    report = prune(store, now=NOW, policy=POLICY, batch_rows=1, pause_s=0)
    assert report.deleted == _only(PrunedTable.PLANS, 3, slot_plans=12)
    assert report.batches == (3 + 1) + 6  # one plan a batch (and the empty last); the others
    assert _rows(store, Plan) == 0


def _mixed(store: Store) -> None:
    _observe(store, OBSERVATIONS_CUT - SLOT)
    _observe(store, OBSERVATIONS_CUT)
    _plan(store, PLANS_CUT - timedelta(hours=1), slots=4)
    _forecast(store, FORECASTS_CUT - SLOT, [FORECASTS_CUT - SLOT, FORECASTS_CUT])
    _weather(store, WEATHER_CUT - timedelta(hours=1), WEATHER_CUT - timedelta(hours=1), hours=3)
    assert log_execution(store, at=EXECUTION_CUT - SECOND, commanded={})
    _strategy(store, STRATEGY_CUT - SECOND, StrategyKind.REFLEX_PROPOSAL)
    assert write_daily_metrics(store, [_day(date(2018, 3, 1)), _day(date(2018, 3, 20))])


MIXED = {
    PrunedTable.SLOT_OBSERVATIONS: 1,
    PrunedTable.LEARNING_DAILY_METRICS: 1,
    PrunedTable.PLANS: 1,
    PrunedTable.SLOT_PLANS: 4,
    PrunedTable.SLOT_FORECASTS: 1,
    PrunedTable.WEATHER_RUNS: 1,
    PrunedTable.EXECUTION_LOG: 1,
    PrunedTable.STRATEGY_LOG: 1,
}


def test_prune_dry_run_counts_what_the_prune_deletes(store: Store) -> None:
    _mixed(store)
    dry = prune(store, now=NOW, policy=POLICY, dry_run=True)
    assert dry.dry_run
    assert dry.deleted == MIXED
    assert dry.batches == 0
    assert _rows(store, SlotObservation) == 2  # nothing deleted
    assert _rows(store, WeatherRun) == 3
    done = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert done.deleted == MIXED
    assert done.total == 11
    again = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert again.total == 0


def test_prune_report_says_what_went(store: Store) -> None:
    _observe(store, OBSERVATIONS_CUT - SLOT)
    text = prune(store, now=NOW, policy=POLICY, pause_s=0).describe()
    assert text.startswith("pruned 1 rows (slot_observations 1) in 7 batches, ")
    assert "MB free for reuse" in text
    nothing = prune(store, now=NOW, policy=POLICY, dry_run=True).describe()
    assert nothing.startswith("would prune 0 rows (nothing older than the cut-offs)")


def test_prune_database_error_raises_naming_the_file(store: Store) -> None:
    _observe(store, OBSERVATIONS_CUT - SLOT)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE weather_runs RENAME TO weather_runs_away")
    with pytest.raises(StoreError) as info:
        prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert str(store.path) in str(info.value)
    assert "after 1 rows deleted" in str(info.value)  # the observation went before
    assert "weather_runs" in str(info.value)
    assert store.last_write_error is None  # the agent's writes are not concerned


def test_prune_refuses_a_batch_of_no_rows(store: Store) -> None:
    with pytest.raises(InputError, match="batch_rows"):
        prune(store, now=NOW, policy=POLICY, batch_rows=0)


def test_vacuum_gives_the_pruned_pages_back(store: Store) -> None:
    for k in range(10):
        _plan(store, PLANS_CUT - timedelta(days=3, hours=k), slots=4 * 48)
    full = prune(store, now=NOW, policy=POLICY, pause_s=0)
    assert full.deleted[PrunedTable.SLOT_PLANS] == 10 * 192
    assert full.free_bytes > full.file_bytes / 2
    before, after = vacuum(store)
    assert before == full.file_bytes
    assert after <= before - full.free_bytes + 4096
