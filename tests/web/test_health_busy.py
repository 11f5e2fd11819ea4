"""``/health`` answers at once while the agent holds the runtime lock (a slow fetch)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from darkstar.service.runtime import Runtime

API = "/api/v1"


def test_health_does_not_wait_for_a_step_holding_the_lock(
    runtime: Runtime, client: TestClient
) -> None:
    runtime._problems["test"] = "a fault seen before the step"  # noqa: SLF001
    try:
        assert (
            "storage: a fault seen before the step"
            in client.get(f"{API}/health").json()["problems"]
        )
        held, release = threading.Event(), threading.Event()

        def slow_step() -> None:  # e.g. Nord Pool answering after 30 s, inside the step
            with runtime.lock:
                held.set()
                release.wait(10)

        thread = threading.Thread(target=slow_step, daemon=True)
        thread.start()
        assert held.wait(5)
        try:
            began = time.monotonic()
            body = client.get(f"{API}/health").json()
            assert time.monotonic() - began < 1.0
            assert body["status"] == "degraded"  # the problems as of the last read
            assert "storage: a fault seen before the step" in body["problems"]
        finally:
            release.set()
            thread.join(5)
    finally:
        del runtime._problems["test"]  # noqa: SLF001
    assert client.get(f"{API}/health").json()["problems"] == []
