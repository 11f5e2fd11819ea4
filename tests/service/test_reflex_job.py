"""Aurora Reflex in the served loop: the daily run on the house clock, dry and applied runs
on a drifted history, and failures that are reported without stopping the agent."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fade_history import EFFICIENCY, write_fade_history

from darkstar.backends import open_runtime
from darkstar.learning.store.strategy_log import StrategyKind, read_strategy_log
from darkstar.service import reflex_job
from darkstar.service.reflex_job import ReflexBusy, next_reflex_run
from darkstar.service.runtime import Runtime
from darkstar.service.views import reflex_view
from darkstar.simulation.reflex_drift import DRIFT_CONFIG_TEXT, comment_lines

TZ = ZoneInfo("Europe/Stockholm")
#: 1 March 2018, 02:00 local: the first daily run is due after ten 15-minute steps
START = datetime(2018, 3, 1, 1, 0, tzinfo=UTC)
FIRST_RUN = datetime(2018, 3, 1, 3, 30, tzinfo=UTC)  # 04:30 local
STEPS_TO_FIRST_RUN = 10


def _runtime(folder: Path, *, config: str = DRIFT_CONFIG_TEXT, drift: bool = True) -> Runtime:
    config_path = folder / "config.yaml"
    config_path.write_text(config, encoding="utf-8")
    runtime = open_runtime(data_dir=folder, config_path=config_path, speed=math.inf, start=START)
    if drift:  # 10 % fade: the house's battery holds 9 of the configured 10 kWh
        midnight = datetime(2018, 3, 1, tzinfo=TZ)
        write_fade_history(runtime.agent.store, end=midnight, days=40, capacity_kwh=9.0)
    return runtime


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Runtime]:
    runtime = _runtime(tmp_path)
    yield runtime
    runtime.stop()


@pytest.fixture
def events(served: Runtime) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []
    publish = served.publish

    def record(kind: str, data: Any) -> None:
        sent.append((kind, data))
        publish(kind, data)

    served.reflex._publish = record  # noqa: SLF001 - the job's WebSocket hook
    return sent


def _run_daily(runtime: Runtime) -> None:
    runtime.warm_up(STEPS_TO_FIRST_RUN)
    runtime.reflex.join(30)
    assert not runtime.reflex.running


def test_next_reflex_run_is_the_next_local_0430() -> None:
    assert next_reflex_run(START, TZ) == FIRST_RUN
    assert next_reflex_run(FIRST_RUN, TZ) == FIRST_RUN + timedelta(days=1)  # strictly after
    # the night summer time begins (25 March 2018): 04:30 CEST is 02:30 UTC
    assert next_reflex_run(datetime(2018, 3, 24, 12, tzinfo=UTC), TZ) == datetime(
        2018, 3, 25, 2, 30, tzinfo=UTC
    )


def test_the_daily_run_comes_once_a_local_day_at_its_time(
    served: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[datetime] = []
    real = reflex_job.run_reflex

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["now"])
        return real(*args, **kwargs)

    monkeypatch.setattr(reflex_job, "run_reflex", counted)
    served.warm_up(STEPS_TO_FIRST_RUN - 1)  # 04:15 local
    served.reflex.join(30)
    assert calls == []
    served.warm_up(1)  # 04:30
    served.reflex.join(30)
    assert calls == [FIRST_RUN]
    served.warm_up(4 * 20)  # to 00:30 the next day
    served.reflex.join(30)
    assert calls == [FIRST_RUN]
    served.warm_up(16)  # 04:30 the next day
    served.reflex.join(30)
    assert calls == [FIRST_RUN, FIRST_RUN + timedelta(days=1)]
    view = reflex_view(served)
    assert view["last_run"]["reason"] == "scheduled"
    assert view["next_run"] == "2018-03-03T04:30:00+01:00"


def test_reflex_off_logs_proposals_and_leaves_the_config_file(
    served: Runtime, events: list[tuple[str, Any]]
) -> None:
    assert not served.reflex_enabled
    _run_daily(served)
    run = served.reflex.last_run
    assert run is not None
    assert run.state == "done"
    assert run.report is not None
    proposed = {a.key: a.proposed for a in run.report.proposals}
    assert proposed == {"battery.capacity_kwh": 9.5}
    assert run.applied == 0
    assert served.config_path.read_text(encoding="utf-8") == DRIFT_CONFIG_TEXT
    assert served.agent.cfg.battery.capacity_kwh == 10.0
    logged = read_strategy_log(served.agent.store, limit=10)
    assert [(r.kind, r.rule) for r in logged] == [("reflex_proposal", "reflex.capacity")]
    assert logged[0].after == {"battery.capacity_kwh": 9.5}
    assert any(
        "Reflex proposes battery.capacity_kwh 10 -> 9.5" in n.message for n in served.notices
    )
    reflex_events = [d for k, d in events if k == "reflex"]
    assert len(reflex_events) == 1
    assert reflex_events[0]["dry_run"] is True
    assert reflex_events[0]["report"]["applied"] == {}
    view = reflex_view(served)
    capacity = next(p for p in view["proposals"] if p["key"] == "battery.capacity_kwh")
    assert (capacity["current"], capacity["proposed"]) == (10.0, 9.5)
    assert capacity["bounds"] == [6.0, 10.0]
    assert "deep discharges" in capacity["signal_summary"]
    assert len(view["proposals"]) == 4  # the holds too, each with its reason
    assert all(p["reason"] for p in view["proposals"])
    assert view["history"][0]["kind"] == "reflex_proposal"
    assert view["history"][0]["at"] == "2018-03-01T04:30:00+01:00"
    assert (view["history"][0]["before"], view["history"][0]["after"]) == (10.0, 9.5)


def test_reflex_on_writes_the_config_keeps_comments_and_reloads(
    served: Runtime, events: list[tuple[str, Any]]
) -> None:
    served.set_reflex(enabled=True)
    _run_daily(served)
    run = served.reflex.last_run
    assert run is not None
    assert run.error is None
    assert run.report is not None
    assert dict(run.report.applied) == {"battery.capacity_kwh": (10.0, 9.5)}
    text = served.config_path.read_text(encoding="utf-8")
    assert text != DRIFT_CONFIG_TEXT
    assert re.search(r"\n  capacity_kwh: 9\.5 +# nameplate of the installed battery\n", text)
    assert comment_lines(text) == comment_lines(DRIFT_CONFIG_TEXT)
    assert served.agent.cfg.battery.capacity_kwh == 9.5  # the running config is reloaded
    assert served.strategy[-1].message == "configuration reloaded after Reflex"
    applied = read_strategy_log(served.agent.store, limit=10, kind=StrategyKind.REFLEX_APPLIED)
    assert [(r.before, r.after) for r in applied] == [
        ({"battery.capacity_kwh": 10.0}, {"battery.capacity_kwh": 9.5})
    ]
    assert any(
        n.message == "Reflex applied battery.capacity_kwh 10 -> 9.5; configuration reloaded"
        for n in served.notices
    )
    event = next(d for k, d in events if k == "reflex")
    assert event["applied"] == 1
    assert event["report"]["applied"] == {"battery.capacity_kwh": {"before": 10.0, "after": 9.5}}
    # the next plans use the new capacity
    served.warm_up(4)
    assert served.agent.cfg.battery.capacity_kwh == 9.5


def test_a_store_error_is_notified_and_the_loop_goes_on(
    served: Runtime, events: list[tuple[str, Any]]
) -> None:
    engine = served.agent.store.engine
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE strategy_log RENAME TO strategy_log_away")
    try:
        _run_daily(served)
        steps = served.agent.steps_run
        served.warm_up(2)  # the loop goes on
        assert served.agent.steps_run == steps + 2
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE strategy_log_away RENAME TO strategy_log")
    run = served.reflex.last_run
    assert run is not None
    assert run.state == "failed"
    assert run.error is not None
    assert "strategy log" in run.error
    errors = [n for n in served.notices if n.level == "error"]
    assert errors
    assert errors[-1].message.startswith("Reflex run failed: cannot read the strategy log")
    assert [d["state"] for k, d in events if k == "reflex"] == ["failed"]
    view = reflex_view(served)
    assert view["last_run"]["state"] == "failed"
    assert view["last_run"]["error"] == run.error
    assert served.config_path.read_text(encoding="utf-8") == DRIFT_CONFIG_TEXT


def test_an_unreadable_config_file_fails_the_applied_run(served: Runtime) -> None:
    served.set_reflex(enabled=True)
    served.warm_up(STEPS_TO_FIRST_RUN - 1)
    served.config_path.write_text("battery: [not a mapping\n", encoding="utf-8")
    run = served.run_reflex_now()
    assert run.state == "failed"
    assert "config.yaml" in (run.error or "")
    assert run.applied == 0
    assert served.agent.cfg.battery.capacity_kwh == 10.0  # the running config stays
    assert any(n.level == "error" and "config.yaml" in n.message for n in served.notices)


def test_a_second_run_is_refused_while_one_runs(
    served: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, entered = threading.Event(), threading.Event()
    real = reflex_job.run_reflex

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(reflex_job, "run_reflex", slow)
    first = threading.Thread(target=served.run_reflex_now)
    first.start()
    assert entered.wait(10)
    assert served.reflex.running
    with pytest.raises(ReflexBusy, match="already in progress"):
        served.run_reflex_now()
    release.set()
    first.join(10)
    assert not served.reflex.running
    assert served.reflex.last_run is not None
    assert served.reflex.last_run.reason == "requested"


def test_the_daily_run_lets_the_analyst_write_the_days_metrics(served: Runtime) -> None:
    from darkstar.learning.store.daily import read_daily_metrics

    assert read_daily_metrics(served.agent.store) == []
    _run_daily(served)
    days = read_daily_metrics(served.agent.store)
    # The drift history ends at the start: the 7 completed local days before 1 March.
    assert [d.day.isoformat() for d in days][:2] == ["2018-02-28", "2018-02-27"]
    assert len(days) == 7
    # One 70 % deep cycle a day on the 10 kWh battery: 7.37 kWh in, 6.65 kWh out.
    assert days[0].battery_efficiency_realized == pytest.approx(EFFICIENCY**2, abs=1e-6)
