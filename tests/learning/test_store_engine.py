"""The store's engine: WAL journal and pragmas per connection, close, write health."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from darkstar.learning.store import Store, open_store


def test_open_store_journal_mode_wal(store: Store, db_path: Path) -> None:
    with store.engine.connect() as conn:
        pragmas = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1}  # 1 = NORMAL
    # WAL is a property of the file: another connection sees it too
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_store_close_removes_wal_files(db_path: Path) -> None:
    store = open_store(db_path)
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO execution_log (at_utc, commanded) VALUES (1, '{}'), (2, '{}')")
        )
    assert db_path.with_name(db_path.name + "-wal").exists()
    store.close()
    # the WAL was folded into the file: it alone holds the data and the folder can go
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]
    raw = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        assert raw.execute("SELECT count(*) FROM execution_log").fetchone() == (2,)
    finally:
        raw.close()
    shutil.rmtree(db_path.parent)
    reopened = open_store(db_path)
    try:
        with reopened.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM execution_log")).scalar() == 0
    finally:
        reopened.close()


def test_store_note_write_failed_names_file_and_reason(store: Store, db_path: Path) -> None:
    error = OperationalError(
        "INSERT INTO execution_log ...", {}, sqlite3.OperationalError("disk I/O error")
    )
    message = store.note_write_failed(error)
    assert message == f"cannot write {db_path}: disk I/O error"
    assert store.last_write_error == message
    store.note_write_ok()
    assert store.last_write_error is None


def test_store_stays_frozen_with_own_write_health(store: Store, db_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        store.path = db_path.with_name("other.db")  # type: ignore[misc]
    other = Store(path=db_path, engine=store.engine)
    store.note_write_failed(OSError("boom"))
    assert other.last_write_error is None
    assert "boom" not in repr(store)
