"""The strategy log: append, read back newest first with filters, refuse bad input, and
never raise on a database error."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from darkstar.errors import InputError
from darkstar.learning.store import Store
from darkstar.learning.store.strategy_log import (
    StrategyKind,
    append_strategy_entry,
    read_strategy_log,
)

T0 = datetime(2018, 5, 30, 22, 0, tzinfo=UTC)


def _append(store: Store, at: datetime, kind: str, rule: str, value: float) -> bool:
    return append_strategy_entry(
        store,
        at=at,
        kind=kind,
        rule=rule,
        message=f"{rule} -> {value}",
        inputs={"low_soc_days": 4, "event_dates": ["2018-05-01"], "bias_frac": None},
        before={"s_index.base_factor": 1.1},
        after={"s_index.base_factor": value},
    )


def test_append_strategy_entry_reads_back_newest_first(store: Store) -> None:
    assert _append(store, T0, StrategyKind.REFLEX_PROPOSAL, "reflex.safety", 1.12)
    assert _append(store, T0, StrategyKind.REFLEX_APPLIED, "reflex.safety", 1.12)
    assert _append(store, T0 + timedelta(days=1), "strategy", "high_spread", 1.14)
    rows = read_strategy_log(store, limit=10)
    assert [(r.kind, r.rule) for r in rows] == [
        ("strategy", "high_spread"),
        ("reflex_applied", "reflex.safety"),  # same time: the later append first
        ("reflex_proposal", "reflex.safety"),
    ]
    newest = rows[1]
    assert newest.at == T0
    assert newest.inputs == {"bias_frac": None, "event_dates": ["2018-05-01"], "low_soc_days": 4}
    assert (newest.before, newest.after) == (
        {"s_index.base_factor": 1.1},
        {"s_index.base_factor": 1.12},
    )
    assert newest.to_dict()["at"] == "2018-05-30T22:00:00+00:00"


def test_read_strategy_log_filters_kind_rule_until_and_limit(store: Store) -> None:
    for day in range(5):
        _append(store, T0 + timedelta(days=day), "reflex_applied", "reflex.safety", 1.1 + day)
        _append(store, T0 + timedelta(days=day), "reflex_applied", "reflex.roi", 0.2)
    _append(store, T0, "reflex_proposal", "reflex.safety", 9.0)
    safety = read_strategy_log(store, limit=100, kind="reflex_applied", rule="reflex.safety")
    assert [r.after["s_index.base_factor"] for r in safety] == [5.1, 4.1, 3.1, 2.1, 1.1]
    until = read_strategy_log(
        store, limit=2, kind="reflex_applied", rule="reflex.safety", until=T0 + timedelta(days=2)
    )
    assert [r.at for r in until] == [T0 + timedelta(days=2), T0 + timedelta(days=1)]
    assert len(read_strategy_log(store, limit=100, kind="reflex_proposal")) == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("at", {"at": datetime(2018, 5, 1)}),  # noqa: DTZ001 - the naive time under test
        ("inputs", {"inputs": {"bias": float("nan")}}),
        ("before", {"before": {"when": object()}}),
        ("rule", {"rule": ""}),
        ("kind", {"kind": "k" * 33}),
    ],
)
def test_append_strategy_entry_refuses_bad_input(
    store: Store, field: str, kwargs: dict[str, object]
) -> None:
    args: dict[str, object] = {
        "at": T0,
        "kind": "reflex_proposal",
        "rule": "reflex.safety",
        "message": "m",
        "inputs": {},
        "before": {},
        "after": {},
    }
    with pytest.raises(InputError) as info:
        append_strategy_entry(store, **{**args, **kwargs})  # type: ignore[arg-type]
    assert info.value.field == field
    assert read_strategy_log(store, limit=1) == []


def test_read_strategy_log_refuses_a_zero_limit(store: Store) -> None:
    with pytest.raises(InputError, match="limit"):
        read_strategy_log(store, limit=0)


def test_append_strategy_entry_on_a_locked_store_returns_false(
    store: Store, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="darkstar.learning.store")
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        assert _append(store, T0, "reflex_applied", "reflex.safety", 1.12) is False
        assert store.last_write_error == f"cannot write {db_path}: database is locked"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert any("append_strategy_entry" in r.getMessage() for r in caplog.records)
    assert _append(store, T0, "reflex_applied", "reflex.safety", 1.12) is True
    assert store.last_write_error is None


def test_append_strategy_entry_on_a_read_only_store_returns_false(store: Store) -> None:
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only=ON"))
    assert _append(store, T0, "reflex_applied", "reflex.safety", 1.12) is False
    assert store.last_write_error is not None
    assert "readonly" in store.last_write_error
