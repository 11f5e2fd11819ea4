"""kill -9 of the real ``darkstar serve`` at random moments, restarted on the same data folder.

The server runs in its own process on the simulated home at 3600x (a slot every ~0.3 s)
on loopback. It is killed with SIGKILL five times at seeded random moments and started
again each time on the same folder. Before one kill the user sets, through the API, a
charge override for 120 minutes, a water boost and shadow mode; before the next they are
cleared. Afterwards:

* the learning store passes ``PRAGMA integrity_check`` and is in WAL mode; every slot
  from the first to the last has exactly one observation row (or a flagged gap), no
  executor tick or plan is stored twice;
* ``schedule.json`` parses and keeps its invariants; no temp file is left behind;
* each restart resumes right after the stored history (the server says where) and says
  in a notification that the last run did not stop cleanly; a temp file of a write the
  kill interrupted is removed;
* the overrides set before a kill are in force after the restart (the first slot run
  after it is commanded under them, and ``/executor`` shows them); cleared ones stay
  cleared.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pytest
from fault_files import (
    SLOT,
    check_schedule_file,
    check_store,
    observed_slots,
    stray_temp_files,
)

from darkstar.service.agent import DB_FILE
from darkstar.web.process import ServerProcess, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = [pytest.mark.slow]

KILLS = 5
SEED = 20180515
SPEED = 3600.0
_RESUMED = re.compile(r"resuming the simulated home at (\S+ \S+)")


@contextlib.contextmanager
def _client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{server.base_url}/api/v1",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30.0,
        trust_env=False,
    ) as client:
        yield client


def _json(reply: httpx.Response) -> dict[str, Any]:
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def _resumed_at(server: ServerProcess) -> datetime | None:
    found = _RESUMED.search(server.log_path.read_text(errors="replace"))
    return None if found is None else datetime.fromisoformat(found.group(1)).astimezone(UTC)


def _tick_of(data_dir: Path, slot: datetime) -> tuple[dict[str, Any], str | None]:
    """The execution log's commanded JSON and note of ``slot`` (waits until it is logged)."""
    deadline = time.monotonic() + 30
    while True:
        with contextlib.closing(sqlite3.connect(data_dir / DB_FILE, timeout=10)) as conn:
            row = conn.execute(
                "SELECT commanded, note FROM execution_log WHERE slot_start_utc = ?",
                (int(slot.timestamp()),),
            ).fetchone()
        if row is not None:
            return json.loads(row[0]), row[1]
        assert time.monotonic() < deadline, f"slot {slot} never logged"
        time.sleep(0.1)


def test_fault_kill_9_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(SEED)
    delays = [rng.uniform(0.3, 3.0) for _ in range(KILLS)]
    first_run = last_seen = None
    posted: dict[str, Any] = {}
    report = []
    for k, delay in enumerate(delays):
        stored = observed_slots(data) if k else []
        with running_server(data, warmup_hours=1, speed=SPEED) as server, _client(server) as api:
            resumed = _resumed_at(server)
            if k == 0:
                assert resumed is None  # a fresh folder: warm-up, no resume
            else:  # right after the stored history, never replaying or skipping it
                assert resumed == stored[-1] + SLOT, (resumed, stored[-1])
                tick, note = _tick_of(data, resumed)
                executor = _json(api.get("/executor"))
                notices = [n["message"] for n in executor["notifications"]]
                assert any("did not stop cleanly" in n for n in notices), notices
                if k == 2:  # set before the last kill: in force on the first slot run
                    assert tick["mode"] == "force_charge", tick
                    assert tick["applied"] is False, tick  # shadow mode
                    assert tick["water_setpoint_c"] == 75.0, tick
                    assert note is not None
                    assert "shadow mode: not applied" in note, note
                    assert "override charge" in note, note
                    assert "water boost" in note, note
                    assert executor["shadow"] is True
                    if executor["override"] is not None:  # not yet run out
                        assert executor["override"] == posted["override"]
                if k == 3:  # cleared before the last kill: stays cleared
                    assert tick["applied"] is True, tick
                    assert "override" not in (note or ""), note
                    assert executor["shadow"] is False
                    assert executor["override"] is None
                    assert executor["water_override"] is None
            if k == 1:  # the user's settings, then a kill at once
                assert _json(api.post("/executor/shadow", json={"enabled": True}))["shadow"]
                posted = _json(api.post("/actions", json={"action": "charge", "minutes": 120}))
                _json(api.post("/water/boost", json={"minutes": 120}))
                delay = rng.uniform(0.0, 0.2)
            elif k == 2:
                assert not _json(api.post("/executor/shadow", json={"enabled": False}))["shadow"]
                assert _json(api.post("/actions", json={"action": "auto"}))["override"] is None
                _json(api.post("/water/boost", json={"minutes": 0}))
                delay = rng.uniform(0.0, 0.2)
            time.sleep(delay)
            os.kill(server.pid, signal.SIGKILL)  # running_server reaps it
        slots = observed_slots(data)
        first_run = first_run or slots[0]
        assert last_seen is None or slots[-1] > last_seen  # every run went on
        last_seen = slots[-1]
        report.append((round(delay, 2), len(slots) - len(stored)))
        # after every kill: the store and the schedule are whole
        check_store(data)
        check_schedule_file(data)
    # a last start on the folder the kills left behind, as if the last kill had hit a
    # write of schedule.json half-way: it serves, goes on and tidies up
    stored = observed_slots(data)
    (data / ".schedule.json.k9x2ab.tmp").write_text('{"meta": {"sche', encoding="utf-8")
    with running_server(data, warmup_hours=1, speed=SPEED) as server, _client(server) as api:
        assert _resumed_at(server) == stored[-1] + SLOT
        health = _json(api.get("/health"))
        assert health["status"] == "ok", health
        notices = [n["message"] for n in _json(api.get("/executor"))["notifications"]]
        unclean = [n for n in notices if "did not stop cleanly" in n]
        assert len(unclean) == 1, notices
        assert "1 unfinished temp file(s) removed" in unclean[0]
    counts = check_store(data, start=first_run)
    check_schedule_file(data)
    assert stray_temp_files(data) == []
    assert counts["flagged"] == 0  # the simulated home never loses a reading
    print(f"kill -9 x{KILLS} (delay s, slots run): {report}; store: {counts}")  # noqa: T201
