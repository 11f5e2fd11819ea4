"""The Analyst's daily metrics in the store: round trip, upsert by day, refused input, write
failures that never raise, and migration 0007 on an existing 0006 database."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import event, inspect, text

from darkstar.errors import InputError
from darkstar.learning.store import Store, StoreError, migrations_config, open_store
from darkstar.learning.store.daily import DayMetrics, read_daily_metrics, write_daily_metrics

AT = datetime(2026, 6, 11, 4, 0, tzinfo=UTC)


def _day(day: date | datetime, **overrides: Any) -> DayMetrics:
    values: dict[str, Any] = {
        "day": day,
        "timezone": "Europe/Stockholm",
        "observed_slots": 96,
        "matched_slots": 90,
        "forecast_slots": 80,
        "pv_mae_kwh": 0.1,
        "pv_bias_kwh": 0.05,
        "load_mae_kwh": 0.2,
        "load_bias_kwh": -0.1,
        "planned_cost_sek": 12.5,
        "actual_cost_sek": 13.0,
        "cost_deviation_sek": 0.5,
        "battery_efficiency_realized": 0.9,
        "soc_tracking_error_percent": 3.5,
        "low_soc_events": 0,
        "computed_at": AT,
    }
    return DayMetrics(**(values | overrides))


def test_write_daily_metrics_reads_back_newest_first(store: Store) -> None:
    days = [_day(date(2026, 6, d)) for d in (8, 10, 9)]
    nulls = _day(
        date(2026, 6, 7),
        forecast_slots=0,
        pv_mae_kwh=None,
        pv_bias_kwh=None,
        load_mae_kwh=None,
        load_bias_kwh=None,
        low_soc_events=None,
    )
    assert write_daily_metrics(store, [*days, nulls]) is True
    stored = read_daily_metrics(store)
    assert [m.day for m in stored] == [date(2026, 6, d) for d in (10, 9, 8, 7)]
    assert stored[0] == days[1]
    assert stored[-1] == nulls
    assert stored[-1].pv_mae_kwh is None
    assert stored[-1].low_soc_events is None
    assert [m.day for m in read_daily_metrics(store, since=date(2026, 6, 9))] == [
        date(2026, 6, 10),
        date(2026, 6, 9),
    ]
    assert [m.day for m in read_daily_metrics(store, limit=1)] == [date(2026, 6, 10)]


def test_write_daily_metrics_same_day_replaces_the_row(store: Store) -> None:
    day = date(2026, 6, 10)
    assert write_daily_metrics(store, [_day(day, observed_slots=40, pv_mae_kwh=0.3)])
    later = AT.replace(hour=5)
    again = _day(day, observed_slots=96, pv_mae_kwh=None, computed_at=later)
    assert write_daily_metrics(store, [again])
    assert read_daily_metrics(store) == [again]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM learning_daily_metrics")).scalar() == 1
        stored_at = conn.execute(text("SELECT computed_at FROM learning_daily_metrics")).scalar()
    assert stored_at == "2026-06-11T05:00:00.000000+00:00"


def test_write_daily_metrics_nothing_to_write_is_true(store: Store) -> None:
    assert write_daily_metrics(store, []) is True
    assert read_daily_metrics(store) == []


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("pv_mae_kwh", {"pv_mae_kwh": float("nan")}),
        ("actual_cost_sek", {"actual_cost_sek": float("inf")}),
        ("observed_slots", {"observed_slots": -1}),
        ("low_soc_events", {"low_soc_events": 1.5}),
        ("timezone", {"timezone": ""}),
        ("computed_at", {"computed_at": datetime(2026, 6, 11)}),  # noqa: DTZ001 - under test
    ],
)
def test_day_metrics_refuses_bad_values(field: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(InputError) as info:
        _day(date(2026, 6, 10), **overrides)
    assert info.value.field == field


def test_day_metrics_refuses_a_datetime_as_day() -> None:
    with pytest.raises(InputError) as info:
        _day(datetime(2026, 6, 10, tzinfo=UTC))
    assert info.value.field == "day"


def test_write_daily_metrics_refuses_a_day_twice(store: Store) -> None:
    day = _day(date(2026, 6, 10))
    with pytest.raises(InputError) as info:
        write_daily_metrics(store, [day, day])
    assert info.value.field == "metrics[1].day"
    assert read_daily_metrics(store) == []


def test_read_daily_metrics_refuses_bad_arguments(store: Store) -> None:
    with pytest.raises(InputError, match="limit"):
        read_daily_metrics(store, limit=0)
    with pytest.raises(InputError, match="since"):
        read_daily_metrics(store, since="2026-06-10")  # type: ignore[arg-type]


def test_write_daily_metrics_on_a_locked_store_returns_false(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="darkstar.learning.store")
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        assert write_daily_metrics(store, [_day(date(2026, 6, 10))]) is False
        assert store.last_write_error == f"cannot write {db_path}: database is locked"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert any("write_daily_metrics" in r.getMessage() for r in caplog.records)
    assert read_daily_metrics(store) == []
    assert write_daily_metrics(store, [_day(date(2026, 6, 10))]) is True
    assert store.last_write_error is None


def test_write_daily_metrics_on_a_read_only_store_returns_false(store: Store) -> None:
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only=ON"))
    assert write_daily_metrics(store, [_day(date(2026, 6, 10))]) is False
    assert store.last_write_error is not None
    assert "readonly" in store.last_write_error


def test_read_daily_metrics_unreadable_raises_store_error(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE learning_daily_metrics"))
    with pytest.raises(StoreError, match="daily metrics"):
        read_daily_metrics(store)


def test_upgrade_0006_database_adds_daily_metrics(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(migrations_config(f"sqlite:///{db_path}"), "0006_strategy_log")
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "INSERT INTO strategy_log (at_utc, kind, rule, message, inputs, before, after)"
            " VALUES (100, 'reflex_applied', 'reflex.safety', 'm', '{}', '{}', '{}')"
        )
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    raw.close()
    assert "learning_daily_metrics" not in tables
    store = open_store(db_path)
    try:
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert conn.execute(text("SELECT count(*) FROM strategy_log")).scalar() == 1
        assert version == "0007_daily_metrics"
        columns = {
            c["name"]: c for c in inspect(store.engine).get_columns("learning_daily_metrics")
        }
        assert columns["pv_mae_kwh"]["nullable"] is True
        assert columns["observed_slots"]["nullable"] is False
        assert inspect(store.engine).get_pk_constraint("learning_daily_metrics")[
            "constrained_columns"
        ] == ["day"]
        assert write_daily_metrics(store, [_day(date(2026, 6, 10))])
        assert len(read_daily_metrics(store)) == 1
    finally:
        store.close()
    command.downgrade(migrations_config(f"sqlite:///{db_path}"), "0006_strategy_log")
    with sqlite3.connect(db_path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert raw.execute("SELECT count(*) FROM strategy_log").fetchone() == (1,)
    raw.close()
    assert "learning_daily_metrics" not in tables
