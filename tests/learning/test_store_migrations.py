"""Migrations of the learning store: tables, drift against the models, idempotent reopen,
0002 (duplicate history removed, unique keys added) and its downgrade."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from darkstar.learning.store import Base, Store, StoreError, migrations_config, open_store

TABLES = {
    "slot_observations",
    "slot_plans",
    "plans",
    "execution_log",
    "spot_prices",
    "slot_forecasts",
    "forecast_models",
    "weather_runs",
    "strategy_log",
    "learning_daily_metrics",
}
HEAD = "0007_daily_metrics"


def test_open_store_creates_file_and_all_tables(db_path: Path) -> None:
    assert not db_path.exists()
    store = open_store(db_path)
    try:
        assert db_path.is_file()
        inspector = inspect(store.engine)
        assert TABLES | {"alembic_version"} == set(inspector.get_table_names())
        columns = {c["name"]: c for c in inspector.get_columns("slot_observations")}
        assert columns["water_temp_c"]["nullable"] is True
        assert columns["pv_kwh"]["nullable"] is False
        assert inspector.get_pk_constraint("slot_observations")["constrained_columns"] == [
            "slot_start_utc"
        ]
        uniques = inspector.get_unique_constraints("slot_plans")
        assert [u["column_names"] for u in uniques] == [["plan_id", "slot_start_utc"]]
        with store.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == HEAD
    finally:
        store.close()


def test_models_match_migrated_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_open_store_existing_db_is_noop(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = open_store(db_path)
    with first.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plans (planned_at, mode, status, horizon_start_utc,"
                " horizon_end_utc) VALUES ('2026-01-01T00:00:00.000000+00:00', 'full',"
                " 'optimal', 0, 3600)"
            )
        )
    first.close()
    caplog.set_level(logging.INFO, logger="alembic")
    again = open_store(db_path)
    try:
        assert not [r for r in caplog.records if "Running upgrade" in r.getMessage()]
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM plans")).scalar() == 1
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    finally:
        again.close()


def test_open_store_first_open_runs_initial_migration(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alembic")
    open_store(db_path).close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("0001_initial" in m for m in messages)
    assert any(HEAD in m for m in messages)


_SLOT_COLUMNS = (
    "plan_id, slot_start_utc, slot_end_utc, import_price_sek_per_kwh, export_price_sek_per_kwh,"
    " battery_charge_kw, battery_discharge_kw, grid_import_kw, grid_export_kw, water_heating_kw,"
    " ev_charging_kw, pv_curtailment_kw, load_shedding_kw, projected_soc_percent, action"
)


def _url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


def _create_at_0001(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(migrations_config(_url(db_path)), "0001_initial")


def _insert_history(db_path: Path, sql: list[str]) -> None:
    with sqlite3.connect(db_path) as conn:
        for statement in sql:
            conn.execute(statement)
    conn.close()


def _plan(plan_id: int, planned_at: str, mode: str, status: str) -> str:
    return (
        "INSERT INTO plans (plan_id, planned_at, mode, status, horizon_start_utc,"
        f" horizon_end_utc) VALUES ({plan_id}, '{planned_at}', '{mode}', '{status}', 0, 7200)"
    )


def _slots(plan_id: int, import_kw: float) -> list[str]:
    return [
        f"INSERT INTO slot_plans ({_SLOT_COLUMNS}) VALUES"
        f" ({plan_id}, {start}, {start + 3600}, 1, 0.5, 0, 0, {import_kw}, 0, 0, 0, 0, 0, 50,"
        " 'idle')"
        for start in (0, 3600)
    ]


def _tick(at_utc: int, note: str) -> str:
    return (
        f"INSERT INTO execution_log (at_utc, commanded, note) VALUES ({at_utc}, '{{}}', '{note}')"
    )


def test_upgrade_0002_removes_duplicates_keeps_newest(db_path: Path) -> None:
    _create_at_0001(db_path)
    t0 = "2026-03-10T00:00:00.000000+00:00"
    t1 = "2026-03-10T01:00:00.000000+00:00"
    _insert_history(
        db_path,
        [
            _plan(1, t0, "full", "old"),
            *_slots(1, 1.0),
            _plan(2, t0, "full", "new"),  # replayed after a restart: kept (highest plan_id)
            *_slots(2, 2.0),
            _plan(3, t1, "full", "other"),
            *_slots(3, 3.0),
            _plan(4, t0, "manual", "manual"),  # same time, other mode: not a duplicate
            _tick(100, "first"),
            _tick(100, "second"),
            _tick(100, "third"),
            _tick(200, "alone"),
        ],
    )
    store = open_store(db_path)
    try:
        with store.engine.connect() as conn:
            plans = conn.execute(text("SELECT plan_id, status FROM plans ORDER BY plan_id"))
            assert [tuple(r) for r in plans] == [(2, "new"), (3, "other"), (4, "manual")]
            # the kept plans' slots survived the rebuild of ``plans`` (no FK cascade)
            slots = conn.execute(
                text("SELECT plan_id, grid_import_kw FROM slot_plans ORDER BY plan_id, id")
            )
            assert [tuple(r) for r in slots] == [(2, 2.0), (2, 2.0), (3, 3.0), (3, 3.0)]
            ticks = conn.execute(text("SELECT at_utc, note FROM execution_log ORDER BY at_utc"))
            assert [tuple(r) for r in ticks] == [(100, "third"), (200, "alone")]
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == HEAD
        inspector = inspect(store.engine)
        uniques = {
            table: {u["name"]: u["column_names"] for u in inspector.get_unique_constraints(table)}
            for table in ("plans", "execution_log")
        }
        assert uniques == {
            "plans": {"uq_plans_planned_at_mode": ["planned_at", "mode"]},
            "execution_log": {"uq_execution_log_at_utc": ["at_utc"]},
        }
        assert inspector.get_indexes("execution_log") == []
        fks = inspector.get_foreign_keys("slot_plans")
        assert [(fk["referred_table"], fk["options"].get("ondelete")) for fk in fks] == [
            ("plans", "CASCADE")
        ]
        with store.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text(_tick(200, "duplicate")))
    finally:
        store.close()


def test_upgrade_0002_refuses_with_foreign_keys_on(db_path: Path) -> None:
    _create_at_0001(db_path)
    _insert_history(db_path, [_plan(1, "2026-03-10T00:00:00+00:00", "full", "ok"), *_slots(1, 1)])
    engine = create_engine(_url(db_path))
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=ON"))
    config = migrations_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            with pytest.raises(RuntimeError, match="foreign_keys=OFF"):
                command.upgrade(config, "head")
    finally:
        engine.dispose()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT count(*) FROM slot_plans").fetchone() == (2,)
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0001_initial",
        )
    raw.close()


def test_downgrade_to_0001_and_back(db_path: Path) -> None:
    store = open_store(db_path)
    with store.engine.begin() as conn:
        conn.execute(text(_plan(1, "2026-03-10T00:00:00+00:00", "full", "ok")))
        for statement in [*_slots(1, 1.5), _tick(100, "kept")]:
            conn.execute(text(statement))
    store.close()
    command.downgrade(migrations_config(_url(db_path)), "0001_initial")
    engine = create_engine(_url(db_path))
    try:
        inspector = inspect(engine)
        assert inspector.get_unique_constraints("plans") == []
        assert inspector.get_unique_constraints("execution_log") == []
        assert [i["name"] for i in inspector.get_indexes("execution_log")] == [
            "ix_execution_log_at_utc"
        ]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                "0001_initial"
            )
            # 0001 allows a second tick at the same time again
            conn.execute(text(_tick(100, "again")))
            conn.rollback()
    finally:
        engine.dispose()
    again = open_store(db_path)
    try:
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            assert conn.execute(text("SELECT count(*) FROM slot_plans")).scalar() == 2
            assert conn.execute(text("SELECT note FROM execution_log")).scalar() == "kept"
    finally:
        again.close()


def test_open_store_unknown_revision_raises_store_error(db_path: Path) -> None:
    open_store(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    raw.close()
    with pytest.raises(StoreError, match="9999_from_the_future"):
        open_store(db_path)
