"""A corrupt or hand-edited ``config.yaml``: while the service runs, and at a restart.

What is decided (``darkstar.service.config_guard``): a controller of a real battery does not
stop over a mistyped file (the devices would keep their last command unwatched), and it
does not guess either:

* **while running** (the fault rig: the live wiring on the sandbox Home Assistant), the
  file is looked at after every slot: a YAML syntax error or an unknown key written by
  hand is refused with the file, the line and the key named in ``/health`` and
  ``/status``, and the configuration in force is kept (the plans go on); a valid hand edit
  is taken, as after ``PUT /config``;
* **at a restart** (the real ``darkstar serve`` in its own process): on a broken file it
  starts on the last configuration that loaded (``config.last_good.yaml``, kept in the
  data folder), with the fault shown; on a first start there is no such copy, and it
  refuses with that one line (exit 2, no traceback).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from fault_files import check_schedule_file, check_store
from fault_harness import FaultRig, fault_rig

from darkstar.service.config_guard import LAST_GOOD_FILE
from darkstar.web.process import free_port, running_server

if TYPE_CHECKING:
    from pathlib import Path

    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

TZ = ZoneInfo("Europe/Stockholm")
SIX = datetime(2018, 5, 15, 6, tzinfo=TZ).astimezone(UTC)
KEPT = "the configuration in force is kept until the file is valid"


def _config_problems(rig: FaultRig) -> list[str]:
    return [p for p in rig.problems() if p.startswith("config: ")]


def _notices(rig: FaultRig) -> list[str]:
    return [n.message for n in rig.runtime.notices]


@pytest.mark.ha
@pytest.mark.slow
def test_fault_config_hand_edits_while_running_are_refused_or_taken(
    ha: HomeAssistantInstance, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    with fault_rig(ha, tmp_path, start=SIX) as rig:
        agent = rig.runtime.agent
        good = config.read_text(encoding="utf-8")
        lines = len(good.splitlines())
        rig.step(2)
        assert rig.problems() == []
        before = agent.cfg
        # 06:30: a YAML syntax error typed into the file
        config.write_text(good + "battery:\n  capacity_kwh: [10\n", encoding="utf-8")
        rig.step(3)  # the 07:00 plan is made on the configuration in force
        problems = _config_problems(rig)
        assert len(problems) == 1, problems
        assert problems[0].startswith(f"config: {config}: invalid YAML at line {lines + 3}, ")
        assert problems[0].endswith(KEPT)
        assert rig.health()["status"] == "degraded"
        assert agent.cfg is before
        assert agent.plan_problem is None
        assert rig.schedule()["meta"]["planned_at"].startswith("2018-05-15T07:00")
        reply = rig.api.client.get("/config")
        assert reply.status_code == 409
        assert f"line {lines + 3}" in reply.text
        assert sum("config.yaml refused" in n for n in _notices(rig)) == 1  # said once
        # 07:15: the syntax mended, but an unknown key and a bad value
        config.write_text(
            good + "battery:\n  capacity_kwh: 10\n  max_charge_kww: 3\n", encoding="utf-8"
        )
        rig.step()
        problems = _config_problems(rig)
        assert problems == [
            "config: config.yaml.battery.max_charge_kww: unknown key; did you mean "
            f"'max_charge_kw'? (line {lines + 3}); {KEPT}"
        ]
        assert agent.cfg is before
        config.write_text(good + "export:\n  enable_export: maybe\n", encoding="utf-8")
        rig.step()
        assert _config_problems(rig) == [
            "config: config.yaml.export.enable_export: expected true or false, got "
            f"'maybe' (line {lines + 2}); {KEPT}"
        ]
        # 07:45: a valid hand edit is taken from the next slot on, the fault is gone
        config.write_text(good + "battery:\n  max_charge_kw: 2.5\n", encoding="utf-8")
        rig.step()
        assert rig.problems() == []
        assert agent.cfg.battery.max_charge_kw == 2.5
        assert "config.yaml changed on disk: reloaded" in _notices(rig)
        assert "max_charge_kw: 2.5" in (rig.data_dir / LAST_GOOD_FILE).read_text("utf-8")
        rig.step(2)  # the 08:00 plan uses it
        rows = rig.schedule()["schedule"]
        assert max(r["battery_charge_kw"] for r in rows) <= 2.5 + 1e-6
        check_store(rig.data_dir, start=SIX)
        check_schedule_file(rig.data_dir)


def _health(base_url: str) -> dict[str, Any]:
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30.0, trust_env=False) as client:
        reply = client.get("/health")
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body


@pytest.mark.slow
def test_fault_config_broken_at_restart_runs_on_the_last_good_copy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = data / "config.yaml"
    config.write_text("# mine\nbattery:\n  capacity_kwh: 12\n", encoding="utf-8")
    with running_server(data, warmup_hours=0.5, speed=3600) as server:
        assert _health(server.base_url)["problems"] == []
    assert (data / LAST_GOOD_FILE).read_text("utf-8") == config.read_text("utf-8")
    config.write_text(
        "# mine\nbattery:\n  capacity_kwh: 12\n  max_charge_kww: 3\n", encoding="utf-8"
    )
    with running_server(data, warmup_hours=0.5, speed=3600) as server:
        health = _health(server.base_url)
        assert health["status"] == "degraded"
        assert health["problems"] == [
            "config: config.yaml.battery.max_charge_kww: unknown key; did you mean "
            "'max_charge_kw'? (line 4); running on the last good configuration "
            f"({data / LAST_GOOD_FILE})"
        ]
        with urllib.request.urlopen(f"{server.base_url}/api/v1/status") as reply:
            assert b"max_charge_kww" in reply.read()
    check_store(data)
    check_schedule_file(data)


@pytest.mark.slow
def test_fault_config_broken_on_a_first_start_refuses_with_one_line(tmp_path: Path) -> None:
    cases = {
        "battery:\n  capacity_kwh: [12\nexport:\n  enable_export: true\n": (
            "invalid YAML at line 3, column 7: expected ',' or ']', but got ':'"
        ),
        "battery:\n  capacity_kwh: 12\n  max_charge_kww: 3\n": (
            "config.yaml.battery.max_charge_kww: unknown key; did you mean "
            "'max_charge_kw'? (line 3)"
        ),
    }
    for k, (text, expected) in enumerate(cases.items()):
        data = tmp_path / f"first{k}"
        data.mkdir()
        (data / "config.yaml").write_text(text, encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "darkstar", "serve", "--data-dir", str(data)]
            + ["--port", str(free_port()), "--warmup-hours", "0"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, done
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr  # one line, no traceback
        assert lines[0].startswith("error: ")
        assert lines[0].endswith(expected), lines[0]
        assert not (data / LAST_GOOD_FILE).exists()
        assert not (data / "planner_learning.db").exists()  # refused before anything
