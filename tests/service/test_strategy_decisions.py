"""The Strategy Engine's decisions of each plan in the store's strategy log: parsed from
``meta.strategy_engine``, appended once per change, not again after a restart."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from darkstar.backends import open_runtime
from darkstar.learning.store import open_store
from darkstar.learning.store.strategy_log import StrategyKind, read_strategy_log
from darkstar.service import agent as agent_module
from darkstar.service.agent import DB_FILE
from darkstar.service.runtime import Runtime
from darkstar.service.strategy_decisions import decisions_from_meta

START = datetime(2018, 5, 1, 0, 0, tzinfo=UTC)

WEAR = {
    "rule": "wide_spread",
    "parameter": "battery_economics.battery_cycle_cost_kwh",
    "before": 0.2,
    "after": 0.1,
    "reason": "price spread 1.8 SEK/kWh: cheaper cycling",
    "inputs": {"spread_sek_per_kwh": 1.8},
}
EXPORT = {
    "rule": "volatile_prices",
    "parameter": "export.threshold_sek_per_kwh",
    "before": 0.0,
    "after": 0.05,
    "reason": "volatility 0.4",
    "inputs": {"volatility": 0.4},
}


def _engine(*decisions: dict[str, Any]) -> dict[str, Any]:
    return {"decisions": list(decisions), "enabled_rules": ["wide_spread", "volatile_prices"]}


def test_decisions_from_meta_absent_or_empty_is_none() -> None:
    assert decisions_from_meta({}) == ()
    assert decisions_from_meta({"strategy_engine": None}) == ()
    assert decisions_from_meta({"strategy_engine": {"decisions": []}}) == ()


def test_decisions_from_meta_skips_malformed_ones(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        "not an object",
        {"parameter": "x", "after": 1.0},  # no rule
        {**WEAR, "after": float("nan")},
        {**WEAR, "before": "0.2"},
        {**WEAR, "inputs": [1, 2]},
    ]
    with caplog.at_level(logging.WARNING):
        decisions = decisions_from_meta({"strategy_engine": _engine(*bad, EXPORT)})
    assert [d.rule for d in decisions] == ["volatile_prices"]
    assert decisions[0].before == 0.0
    assert decisions[0].message == "export.threshold_sek_per_kwh: 0 -> 0.05 (volatility 0.4)"
    assert sum("skipped" in r.getMessage() for r in caplog.records) == len(bad)


class _Planner:
    """Wraps the agent's planner: every plan gets ``meta.strategy_engine = engine``.

    ``engine`` None: the key is removed, as in plans from before the Strategy Engine.
    """

    def __init__(self) -> None:
        self.engine: dict[str, Any] | None = None
        self.plans = 0
        self._real = agent_module.generate_schedule

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outcome = self._real(*args, **kwargs)
        meta = outcome.document["meta"]
        if self.engine is None:
            meta.pop("strategy_engine", None)
        else:
            meta["strategy_engine"] = self.engine
        self.plans += 1
        return outcome


@pytest.fixture
def planner(monkeypatch: pytest.MonkeyPatch) -> _Planner:
    wrapped = _Planner()
    monkeypatch.setattr(agent_module, "generate_schedule", wrapped)
    return wrapped


def _rows(runtime: Runtime) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    rows = read_strategy_log(runtime.agent.store, limit=100, kind=StrategyKind.STRATEGY)
    return [(r.rule, r.before, r.after) for r in reversed(rows)]  # oldest first


def test_decisions_are_persisted_once_per_change(tmp_path: Path, planner: _Planner) -> None:
    config = tmp_path / "config.yaml"
    runtime = open_runtime(data_dir=tmp_path, config_path=config, speed=math.inf, start=START)
    try:
        planner.engine = _engine(WEAR, EXPORT)
        runtime.warm_up(4)
        assert planner.plans >= 1
        first = _rows(runtime)
        assert first == [
            ("wide_spread", {WEAR["parameter"]: 0.2}, {WEAR["parameter"]: 0.1}),
            ("volatile_prices", {EXPORT["parameter"]: 0.0}, {EXPORT["parameter"]: 0.05}),
        ]
        record = read_strategy_log(runtime.agent.store, limit=1, kind=StrategyKind.STRATEGY)[0]
        assert record.inputs == {"volatility": 0.4}
        assert record.message == "export.threshold_sek_per_kwh: 0 -> 0.05 (volatility 0.4)"
        assert record.at == datetime.fromisoformat(
            runtime.agent.plan_document["meta"]["planned_at"]
        )
        plans = planner.plans
        runtime.warm_up(8)  # hourly replans deciding the same: no new rows
        assert planner.plans >= plans + 2
        assert _rows(runtime) == first
        # the same decisions in another order are the same set
        planner.engine = _engine(EXPORT, WEAR)
        runtime.warm_up(4)
        assert _rows(runtime) == first
        # one value changes: the new set is logged
        planner.engine = _engine(WEAR, {**EXPORT, "after": 0.08})
        runtime.warm_up(4)
        changed = _rows(runtime)
        assert len(changed) == 4
        assert changed[2:] == [
            ("wide_spread", {WEAR["parameter"]: 0.2}, {WEAR["parameter"]: 0.1}),
            ("volatile_prices", {EXPORT["parameter"]: 0.0}, {EXPORT["parameter"]: 0.08}),
        ]
        # an older plan without the Strategy Engine: nothing logged, nothing fails
        planner.engine = None
        runtime.warm_up(4)
        assert _rows(runtime) == changed
        assert runtime.agent.plan_document["meta"].get("strategy_engine") is None
        # decisions coming back after plans without any are a new start: logged again
        planner.engine = _engine(WEAR, {**EXPORT, "after": 0.08})
        runtime.warm_up(4)
        assert _rows(runtime) == changed + changed[2:]
    finally:
        runtime.stop()


def test_a_restart_does_not_log_the_same_decisions_again(tmp_path: Path, planner: _Planner) -> None:
    config = tmp_path / "config.yaml"
    planner.engine = _engine(WEAR)
    runtime = open_runtime(data_dir=tmp_path, config_path=config, speed=math.inf, start=START)
    runtime.warm_up(4)
    runtime.stop()
    assert len(_rows_of(tmp_path)) == 1
    again = open_runtime(data_dir=tmp_path, config_path=config, speed=math.inf)
    try:
        assert again.agent.resumed
        plans = planner.plans
        again.warm_up(4)
        assert planner.plans > plans
        assert len(_rows(again)) == 1  # the last persisted set is read back
        planner.engine = _engine(WEAR, EXPORT)
        again.warm_up(4)
        assert len(_rows(again)) == 3
    finally:
        again.stop()


def _rows_of(folder: Path) -> list[Any]:
    store = open_store(folder / DB_FILE)
    try:
        return read_strategy_log(store, limit=100, kind=StrategyKind.STRATEGY)
    finally:
        store.close()
