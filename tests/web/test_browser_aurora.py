"""Aurora in the UI, in a real browser: the first training, the Bridge, the forecast bands.

The server is ``darkstar serve`` on the simulated home planning on Aurora (as ``make
demo`` does): its first training learns the home's history in the background.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2 as httpx
import pytest

from darkstar.web.process import running_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
DESKTOP = {"width": 1400, "height": 900}
#: the Dashboard chart's series without forecast bands (test_browser.SERIES)
SERIES = {
    "Import price",
    "PV",
    "Load",
    "Charge",
    "Discharge",
    "Export",
    "Water",
    "EV",
    "SoC projected",
    "SoC actual",
    "SoC target",
}


if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

BANDS = {"PV P10", "PV P10–P90", "Load P10", "Load P10–P90"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder: Path = tmp_path_factory.mktemp("aurora-serve")
    (folder / "config.yaml").write_text(
        "forecasting:\n  simulated_forecasts: aurora\n", encoding="utf-8"
    )
    with running_server(folder, warmup_hours=2, speed=60) as process:
        yield process.base_url, process.token


@pytest.fixture
def page(browser: Browser, server: tuple[str, str]) -> Iterator[Page]:
    base, token = server
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{base}/dashboard#token={token}")
    yield tab
    context.close()


def test_the_first_training_shows_on_the_bridge(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    page.goto(f"{base}/aurora")
    page.wait_for_selector('[data-testid="page-aurora"][data-loaded="true"]')
    # learning four months of history takes a while on a busy machine
    page.wait_for_selector(
        '[data-testid="aurora-training-state"][data-state="done"]', timeout=240_000
    )
    for target in ("pv", "load"):
        row = page.get_by_test_id(f"aurora-model-{target}")
        row.wait_for()
        assert row.get_attribute("data-stage") in {"prior", "residual", "model"}
    bridge = httpx.get(f"{base}/api/v1/aurora").json()["bridge"]
    assert bridge["training"]["reason"] == "first training"
    assert {m["target"] for m in bridge["models"]} == {"pv", "load"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "aurora-trained.png"), full_page=True)
    # a second training is refused while one runs, in the backend's words
    page.get_by_test_id("aurora-retrain").click()
    page.wait_for_function(
        "['running', 'done'].includes(document.querySelector("
        "'[data-testid=\"aurora-training-state\"]').dataset.state)"
    )


def test_the_dashboard_draws_the_forecast_bands(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    page.goto(f"{base}/dashboard")
    page.wait_for_selector('[data-testid="page-dashboard"][data-loaded="true"]')
    page.wait_for_function(
        "document.querySelector('[data-testid=\"chart-main\"]').dataset.seriesPoints"
    )
    points = json.loads(
        page.get_by_test_id("chart-main").get_attribute("data-series-points") or "{}"
    )
    assert set(points) >= BANDS
    assert set(points) - BANDS <= SERIES
    assert all(points[name] > 0 for name in BANDS)
    rows = httpx.get(f"{base}/api/v1/schedule").json()["schedule"]
    assert all(r["pv_p10_kwh"] <= r["pv_p90_kwh"] for r in rows)
