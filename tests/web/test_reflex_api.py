"""Reflex and the strategy log over HTTP: ``POST /reflex/run``, the Reflex card of
``GET /aurora`` and ``GET /strategy/log`` with the store's rows merged in."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from darkstar.learning.store import StoreError
from darkstar.learning.store.strategy_log import StrategyKind, append_strategy_entry
from darkstar.service import reflex_job
from darkstar.service.runtime import Runtime

API = "/api/v1"


def test_reflex_run_needs_the_token(client: TestClient, runtime: Runtime) -> None:
    before = runtime.reflex.last_run
    assert client.post(f"{API}/reflex/run").status_code == 401
    reply = client.post(f"{API}/reflex/run", headers={"Authorization": "Bearer wrong"})
    assert reply.status_code == 401
    assert runtime.reflex.last_run is before  # nothing ran


def test_reflex_run_is_a_dry_run_while_reflex_is_off(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    config_before = runtime.config_path.read_text(encoding="utf-8")
    reply = client.post(f"{API}/reflex/run", headers=auth)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["reason"] == "requested"
    assert body["state"] == "done"
    assert body["dry_run"] is True
    assert body["error"] is None
    assert body["at"] == runtime.agent.house.now.astimezone(runtime.agent.tz).isoformat()
    analyzers = [a["analyzer"] for a in body["report"]["assessments"]]
    assert analyzers == ["safety", "confidence", "roi", "capacity"]
    assert body["report"]["applied"] == {}
    assert runtime.config_path.read_text(encoding="utf-8") == config_before
    reflex = client.get(f"{API}/aurora").json()["reflex"]
    assert reflex["last_run"] == {k: body[k] for k in reflex["last_run"]}
    assert reflex["assessed_at"] == body["at"]
    assert [p["analyzer"] for p in reflex["proposals"]] == analyzers
    assert all(p["reason"] and p["signal_summary"] for p in reflex["proposals"])
    assert reflex["proposals"][0]["bounds"] == [1.0, 1.3]
    assert reflex["running"] is False
    assert datetime.fromisoformat(reflex["next_run"]) > runtime.agent.house.now


def test_reflex_run_is_refused_while_one_runs(
    client: TestClient, runtime: Runtime, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    release, entered = threading.Event(), threading.Event()
    real = reflex_job.run_reflex

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(reflex_job, "run_reflex", slow)
    first = threading.Thread(target=runtime.run_reflex_now)
    first.start()
    try:
        assert entered.wait(10)
        reply = client.post(f"{API}/reflex/run", headers=auth)
        assert reply.status_code == 409
        assert reply.json()["detail"] == "a Reflex run is already in progress"
        assert client.get(f"{API}/aurora").json()["reflex"]["running"] is True
    finally:
        release.set()
        first.join(10)
    assert client.post(f"{API}/reflex/run", headers=auth).status_code == 200


def test_a_failed_reflex_run_is_503_and_notified(
    client: TestClient, runtime: Runtime, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        msg = "cannot read the strategy log: disk I/O error"
        raise StoreError(msg)

    monkeypatch.setattr(reflex_job, "run_reflex", broken)
    reply = client.post(f"{API}/reflex/run", headers=auth)
    assert reply.status_code == 503
    assert reply.json()["detail"] == (
        "Reflex run failed: cannot read the strategy log: disk I/O error"
    )
    notes = client.get(f"{API}/executor").json()["notifications"]
    assert notes[0]["level"] == "error"
    assert notes[0]["message"] == reply.json()["detail"]
    last = client.get(f"{API}/aurora").json()["reflex"]["last_run"]
    assert (last["state"], last["error"]) == (
        "failed",
        "run failed: cannot read the strategy log: disk I/O error",
    )


def test_reflex_switch_reply_is_the_full_reflex_card(
    client: TestClient, auth: dict[str, str]
) -> None:
    reply = client.post(f"{API}/aurora/reflex", json={"enabled": False}, headers=auth)
    assert reply.status_code == 200
    body = reply.json()
    assert body["enabled"] is False
    assert {"proposals", "note", "history", "next_run", "last_run", "running"} <= set(body)


def test_strategy_log_merges_the_persisted_rows(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    runtime.warm_up(4)  # a new plan in memory
    with runtime.lock:
        now = runtime.agent.house.now
    store = runtime.agent.store
    assert append_strategy_entry(
        store,
        at=now + timedelta(minutes=1),
        kind=StrategyKind.REFLEX_APPLIED,
        rule="reflex.capacity",
        message="battery.capacity_kwh: 10 -> 9.5 in config.yaml (fade)",
        inputs={"episodes": 5},
        before={"battery.capacity_kwh": 10.0},
        after={"battery.capacity_kwh": 9.5},
    )
    assert append_strategy_entry(
        store,
        at=now - timedelta(days=30),
        kind=StrategyKind.STRATEGY,
        rule="flat_prices",
        message="old",
        inputs={},
        before={"cycle_cost_sek_per_kwh": 0.2},
        after={"cycle_cost_sek_per_kwh": 0.1},
    )
    entries = client.get(f"{API}/strategy/log", params={"limit": 3}).json()["entries"]
    assert len(entries) == 3
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times, reverse=True)
    newest = entries[0]
    assert newest["kind"] == "reflex_applied"
    assert newest["rule"] == "reflex.capacity"
    assert newest["before"] == {"battery.capacity_kwh": 10.0}
    assert newest["after"] == {"battery.capacity_kwh": 9.5}
    assert newest["inputs"] == {"episodes": 5}
    assert newest["values"] == {}
    assert newest["at"] == (now + timedelta(minutes=1)).astimezone(runtime.agent.tz).isoformat()
    plan = next(e for e in entries if e["kind"] == "plan")  # the service's own entries stay
    assert plan["rule"] is None
    assert plan["values"]["status"] == "optimal"
    assert "old" not in [e["message"] for e in entries]  # beyond the limit
    everything = client.get(f"{API}/strategy/log", params={"limit": 500}).json()
    assert everything["entries"][-1]["message"] == "old"
    assert everything["problem"] is None
    history = client.get(f"{API}/aurora").json()["reflex"]["history"]
    assert history[0]["kind"] == "reflex_applied"
    assert (history[0]["key"], history[0]["before"], history[0]["after"]) == (
        "battery.capacity_kwh",
        10.0,
        9.5,
    )
