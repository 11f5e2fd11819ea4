"""Reflex on the Aurora page, in a real browser: "Run Reflex now" on a drifted history shows
the proposal, its history row and the strategy-log row.

The server is ``darkstar serve`` on the simulated home, resuming after 40 days of stored
history of a battery that holds 9 of its configured 10 kWh (10 % fade).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx2 as httpx
import pytest
from fade_history import write_fade_history

from darkstar.learning.store import open_store
from darkstar.service.agent import DB_FILE
from darkstar.web.process import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

TZ = ZoneInfo("Europe/Stockholm")
HISTORY_END = datetime(2018, 5, 1, tzinfo=TZ)  # the server resumes here
SLOT = timedelta(minutes=15)
EFFICIENCY = 0.95  # the default config's charge and discharge efficiency
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def _write_fade_history(folder: Path, *, days: int = 40, capacity_kwh: float = 9.0) -> None:
    """Store ``days`` days before :data:`HISTORY_END`: PV charges 20 -> 90 %, evenings drain."""
    store = open_store(folder / DB_FILE)
    try:
        write_fade_history(store, end=HISTORY_END, days=days, capacity_kwh=capacity_kwh)
    finally:
        store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder: Path = tmp_path_factory.mktemp("reflex-serve")
    _write_fade_history(folder)
    with running_server(folder, warmup_hours=0, speed=60) as process:
        yield process.base_url, process.token


@pytest.fixture
def page(browser: Browser, server: tuple[str, str]) -> Iterator[Page]:
    base, token = server
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto(f"{base}/aurora#token={token}")
    yield tab
    context.close()


def test_run_reflex_now_shows_the_proposal_and_its_history(
    page: Page, server: tuple[str, str]
) -> None:
    base, _ = server
    status = httpx.get(f"{base}/api/v1/status").json()
    assert status["now"].startswith("2018-05-01")  # resumed after the stored history
    page.wait_for_selector('[data-testid="page-aurora"][data-loaded="true"]')
    assert page.get_by_test_id("aurora-reflex-history-row").count() == 0
    page.get_by_test_id("aurora-reflex-run").click()
    result = page.get_by_test_id("aurora-reflex-result")
    result.filter(has_text="Dry run").wait_for()
    assert result.inner_text() == "Dry run: 1 proposal, nothing applied"
    proposal = page.locator(
        '[data-testid="aurora-reflex-proposal"][data-key="battery.capacity_kwh"]'
        '[data-changed="true"]'
    )
    proposal.wait_for()
    assert "10 → 9.5" in proposal.inner_text()
    assert "6 – 10" in proposal.inner_text()  # bounds: the floor to the nameplate
    held = page.locator('[data-testid="aurora-reflex-proposal"][data-changed="false"]')
    assert held.count() == 3  # the other analyzers hold, each with its reason
    row = page.locator('[data-testid="aurora-reflex-history-row"][data-kind="reflex_proposal"]')
    row.wait_for()
    assert row.get_attribute("data-key") == "battery.capacity_kwh"
    assert "10 → 9.5" in row.inner_text()
    log_row = page.locator('[data-testid="strategy-log-row"][data-kind="reflex_proposal"]').first
    log_row.wait_for()
    assert "reflex.capacity" in log_row.inner_text()
    assert "battery.capacity_kwh: 10 → 9.5" in log_row.inner_text()
    last = page.get_by_test_id("aurora-reflex-last-run")
    assert last.get_attribute("data-state") == "done"
    # a dry run: the configuration is as it was
    config = httpx.get(f"{base}/api/v1/config").json()["fields"]
    capacity = next(f for f in config if f["key"] == "battery.capacity_kwh")
    assert capacity["value"] == 10.0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("aurora-reflex").screenshot(path=str(SCREENSHOTS / "aurora-reflex.png"))
