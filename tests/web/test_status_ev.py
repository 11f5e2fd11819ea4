"""``GET /status`` with a car and a capacity tariff (the simulated home's commuting car)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from darkstar.backends import open_runtime
from darkstar.service.logbuffer import LogBuffer
from darkstar.web.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.service.runtime import Runtime

API = "/api/v1"
CONFIG = """\
system:
  has_ev: true
grid:
  capacity_tariff:
    sek_per_kw_month: 80.0
"""


@pytest.fixture(scope="module")
def ev_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder: Path = tmp_path_factory.mktemp("serve_ev")
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    rt = open_runtime(data_dir=folder, config_path=folder / "config.yaml", speed=math.inf)
    rt.warm_up(8)
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def ev_client(ev_runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(
        ev_runtime, token="t" * 20, origin="http://x", logs=LogBuffer(), manage_runtime=False
    )
    with TestClient(app) as test_client:
        yield test_client


def test_status_shows_the_car_and_its_plan(ev_client: TestClient) -> None:
    ev = ev_client.get(f"{API}/status").json()["ev"]
    assert ev is not None
    assert 0 <= ev["soc_percent"] <= 100
    assert isinstance(ev["plugged_in"], bool)
    assert ev["departure"].endswith("T07:00:00+02:00")  # the configured 07:00 (May: CEST)
    assert ev["target_soc_percent"] == 80.0
    assert ev["target_met"] in (True, False)
    assert ev["problem"] is None


def test_status_shows_this_months_billed_peak_and_charge(
    ev_client: TestClient, ev_runtime: Runtime
) -> None:
    cap = ev_client.get(f"{API}/status").json()["capacity_tariff"]
    assert cap is not None
    assert cap["month"] == ev_runtime.agent.house.now.astimezone(ev_runtime.agent.tz).strftime(
        "%Y-%m"
    )
    peaks = cap["peaks_kw"]
    assert 1 <= len(peaks) <= 3
    assert peaks == sorted(peaks, reverse=True)
    assert cap["billed_peak_kw"] == pytest.approx(sum(peaks) / 3)
    assert cap["charge_sek"] == pytest.approx(80.0 * sum(peaks) / 3)
    assert cap["planned_billed_peak_kw"] >= cap["billed_peak_kw"] - 1e-6
