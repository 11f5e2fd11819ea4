"""``GET /api/v1/planner/debug`` on a real runtime (simulated home, real planner)."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from darkstar.backends import open_runtime
from darkstar.service.agent import PLANNER_DEBUG_FILE
from darkstar.service.logbuffer import LogBuffer
from darkstar.web.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.service.runtime import Runtime

API = "/api/v1"
TOKEN = "test-token-123"


def test_planner_debug_is_the_written_document_of_the_plan_in_force(
    client: TestClient, runtime: Runtime
) -> None:
    reply = client.get(f"{API}/planner/debug")
    assert reply.status_code == 200
    body = reply.json()
    on_disk_path = runtime.agent.schedule_path.parent / PLANNER_DEBUG_FILE
    on_disk = json.loads(
        on_disk_path.read_text(encoding="utf-8"),
        parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"),
    )
    assert body == on_disk
    schedule = client.get(f"{API}/schedule").json()
    assert body["planned_at"] == schedule["meta"]["planned_at"]
    assert body["status"] == schedule["meta"]["status"] == "optimal"
    assert body["slot_starts"] == [row["start"] for row in schedule["schedule"]]
    assert body["inputs"]["n_slots"] == len(schedule["schedule"])
    assert body["strategy"]["load_factor"] == pytest.approx(1.1)
    assert body["solver"]["termination"] == "Optimal"
    assert body["solver"]["variables"] > 0
    values = body["marginal_value_sek_per_kwh"]
    assert len(values) == len(schedule["schedule"])
    assert all(v is not None and math.isfinite(v) for v in values)
    names = {entry["name"] for entry in body["binding"]["constraints"]}
    assert {"soc_floor", "soc_ceiling", "grid_import_max", "grid_export_max"} <= names


def test_planner_debug_follows_a_new_plan(
    client: TestClient, runtime: Runtime, auth: dict[str, str]
) -> None:
    assert client.get(f"{API}/planner/debug").json()["strategy"]["manual_slots"] == 0
    now = runtime.agent.house.now.astimezone(runtime.agent.tz)
    block = {
        "start": (now + timedelta(hours=2)).isoformat(),
        "end": (now + timedelta(hours=3)).isoformat(),
        "action": "hold",
    }
    try:  # saving blocks replans at once: the debug document is the new plan's
        reply = client.put(f"{API}/planning/blocks", json={"blocks": [block]}, headers=auth)
        assert reply.status_code == 200
        body = client.get(f"{API}/planner/debug").json()
        assert body["strategy"]["manual_slots"] == 4  # one hour of 15-minute slots
        held = [
            slot
            for slot, start in enumerate(body["slot_starts"])
            if block["start"] <= start < block["end"]
        ]
        limited = {e["name"]: e["slots"] for e in body["binding"]["constraints"]}
        assert not set(held) & set(limited["battery_charge_max"])  # a hold's 0 kW is not listed
    finally:
        client.put(f"{API}/planning/blocks", json={"blocks": []}, headers=auth)


@pytest.fixture(scope="module")
def unplanned_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder: Path = tmp_path_factory.mktemp("serve-unplanned")
    rt = open_runtime(data_dir=folder, config_path=folder / "config.yaml", speed=math.inf)
    app = create_app(
        rt, token=TOKEN, origin="http://127.0.0.1:8000", logs=LogBuffer(), manage_runtime=False
    )
    with TestClient(app) as test_client:
        yield test_client
    rt.stop()


def test_planner_debug_before_the_first_plan_is_404(unplanned_client: TestClient) -> None:
    reply = unplanned_client.get(f"{API}/planner/debug")
    assert reply.status_code == 404
    assert reply.json() == {
        "detail": "no planner debug yet: the first plan is pending",
        "errors": [],
    }
