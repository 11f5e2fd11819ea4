"""Migrations of the learning store: tables, drift against the models, idempotent reopen."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from darkstar.learning.store import Base, Store, open_store

TABLES = {"slot_observations", "slot_plans", "plans", "execution_log"}


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
        assert version == "0001_initial"
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
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                "0001_initial"
            )
    finally:
        again.close()


def test_open_store_first_open_runs_initial_migration(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alembic")
    open_store(db_path).close()
    assert any("0001_initial" in r.getMessage() for r in caplog.records)
