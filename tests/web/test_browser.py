"""The UI in a real browser: Debian's Chromium driven by Playwright, against a real server.

The server is ``darkstar serve`` in its own process (the simulated home running the real
agent loop, warmed up by 24 simulated hours). Screenshots of every tab, at desktop and
phone width, are written to ``build/screenshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2 as httpx
import pytest

from darkstar.web.app import static_dir
from darkstar.web.process import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TABS = ("dashboard", "planning", "aurora", "executor", "settings", "debug")
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
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 375, "height": 812}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A running ``darkstar serve``: (base URL, token)."""
    if not (static_dir() / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    folder = tmp_path_factory.mktemp("browser-serve")
    # a house with a commuting car and a capacity tariff: every Dashboard card has data
    (folder / "config.yaml").write_text(
        "system:\n  has_ev: true\ngrid:\n  capacity_tariff:\n    sek_per_kw_month: 80.0\n",
        encoding="utf-8",
    )
    with running_server(folder, warmup_hours=24, speed=180) as process:
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


def _open(page: Page, base: str, tab: str) -> None:
    page.goto(f"{base}/{tab}")
    page.wait_for_selector(f'[data-testid="page-{tab}"][data-loaded="true"]')


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_loads_with_data(page: Page, server: tuple[str, str], tab: str) -> None:
    base, _ = server
    _open(page, base, tab)
    assert not page.get_by_test_id("error-banner").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(700)  # let the charts finish their entry animation
    page.screenshot(path=str(SCREENSHOTS / f"{tab}.png"), full_page=True)


def test_tabs_are_reachable_from_the_navigation(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    for tab in TABS:
        page.get_by_test_id(f"tab-{tab}").click()
        page.wait_for_selector(f'[data-testid="page-{tab}"][data-loaded="true"]')
        assert page.url.endswith(f"/{tab}")


def test_dashboard_chart_draws_every_series(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    chart = page.get_by_test_id("chart-main")
    page.wait_for_function(
        "document.querySelector('[data-testid=\"chart-main\"]').dataset.seriesPoints"
    )
    # read back from the ECharts instance: what is drawn, and how many points hold a value
    points = json.loads(chart.get_attribute("data-series-points") or "{}")
    assert set(points) == SERIES
    empty = [name for name, count in points.items() if count == 0]
    assert not empty, f"series drawn without data: {empty}"
    # 24 h of measured prices (96 slots) plus the plan ahead, as steps
    assert points["Import price"] > 2 * 96
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 600
    assert box["height"] > 250
    assert chart.locator("canvas").count() >= 1


def test_quick_action_round_trips(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    page.get_by_test_id("action-charge").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=\"override-status\"]').textContent.includes('charge')"
    )
    status = httpx.get(f"{base}/api/v1/status").json()
    assert status["executor"]["override"]["kind"] == "charge"
    page.get_by_test_id("action-auto").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=\"override-status\"]').textContent.includes('none')"
    )
    assert httpx.get(f"{base}/api/v1/status").json()["executor"]["override"] is None


def test_invalid_setting_shows_the_backend_message(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "settings")
    field = page.get_by_test_id("field-battery.capacity_kwh")
    field.fill("-1")
    page.get_by_test_id("settings-save").click()
    message = page.get_by_test_id("fielderror-battery.capacity_kwh")
    message.wait_for()
    assert message.text_content() == "must be >= 0.1, got -1"  # the backend's words
    config = httpx.get(f"{base}/api/v1/config").json()
    value = next(f["value"] for f in config["fields"] if f["key"] == "battery.capacity_kwh")
    assert value == 10.0  # nothing saved


def test_state_change_without_token_is_refused(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    status = page.evaluate(
        """async () => (await fetch('/api/v1/actions', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({action: 'hold', minutes: 30})})).status"""
    )
    assert status == 401
    page.evaluate("localStorage.removeItem('darkstar.token')")
    page.reload()
    page.wait_for_selector('[data-testid="page-dashboard"][data-loaded="true"]')
    page.get_by_test_id("action-hold").click()
    banner = page.get_by_test_id("error-banner")
    banner.wait_for()
    assert "missing or invalid token" in (banner.text_content() or "")
    assert httpx.get(f"{base}/api/v1/status").json()["executor"]["override"] is None


def test_live_updates_need_the_token(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    page.wait_for_selector("span.live.on")  # the UI authenticated its socket
    page.evaluate("localStorage.removeItem('darkstar.token')")
    page.reload()
    page.wait_for_selector('[data-testid="page-dashboard"][data-loaded="true"]')
    page.wait_for_timeout(1500)
    assert page.locator("span.live.off").is_visible()  # refused: the UI polls instead
    # no socket without the token ever gets a status message
    received = page.evaluate(
        """() => new Promise((done) => {
             const ws = new WebSocket(`ws://${location.host}/api/v1/live`);
             const got = [];
             ws.onopen = () => ws.send(JSON.stringify({type: 'auth', token: 'x'.repeat(32)}));
             ws.onmessage = (e) => got.push(JSON.parse(e.data).type);
             ws.onclose = (e) => done({code: e.code, got});
           })"""
    )
    assert received == {"code": 4401, "got": []}


def test_request_failure_is_shown_not_spun(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    page.route("**/api/v1/aurora", lambda route: route.abort())
    page.goto(f"{base}/aurora")
    page.wait_for_selector('[data-testid="page-aurora"][data-loaded="error"]')
    assert page.get_by_test_id("error-banner").is_visible()


@pytest.mark.parametrize("tab", TABS)
def test_phone_width_has_no_horizontal_scroll(
    browser: Browser, server: tuple[str, str], tab: str
) -> None:
    base, token = server
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/{tab}#token={token}")
    page.wait_for_selector(f'[data-testid="page-{tab}"][data-loaded="true"]')
    page.wait_for_timeout(300)
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{tab}-phone.png"), full_page=True)
    context.close()
    assert widths[0] <= widths[1], f"{tab}: page is {widths[0]} px wide in a {widths[1]} px view"


def test_dashboard_and_radar_say_where_the_inputs_come_from(
    page: Page, server: tuple[str, str]
) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    inputs = page.get_by_test_id("dashboard-inputs")
    inputs.wait_for()
    prices = inputs.locator('[data-input="Prices"]')
    assert "replayed day-ahead prices" in (prices.text_content() or "")
    assert "known until" in (prices.text_content() or "")
    assert inputs.locator(".input-row.fault").count() == 0
    _open(page, base, "aurora")
    radar = page.get_by_test_id("aurora-inputs")
    radar.wait_for()
    assert "Forecasts" in (radar.text_content() or "")


def test_planning_export_whatif_shows_the_net_impact(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "planning")
    panel = page.get_by_test_id("whatif-export")
    panel.get_by_test_id("whatif-kwh").fill("2")
    panel.get_by_test_id("whatif-at").select_option("today peak")
    panel.get_by_test_id("whatif-run").click()
    impact = panel.get_by_test_id("whatif-impact")
    impact.wait_for(timeout=30_000)
    text = impact.text_content() or ""
    assert "SEK" in text
    assert "Window" in (panel.get_by_test_id("whatif-result").text_content() or "")


def test_debug_page_shows_the_planner_debug(page: Page, server: tuple[str, str]) -> None:
    base, _ = server
    _open(page, base, "debug")
    page.wait_for_selector('[data-testid="planner-debug"][data-state="ready"]')
    # the car under a capacity tariff may stop within 2 % of the bound after 1 s
    solver = page.get_by_test_id("planner-debug-solver").text_content() or ""
    assert "highs: Optimal" in solver or "highs: Soft stop: within 2% of the bound" in solver
    assert "min" in (page.get_by_test_id("planner-debug-inputs").text_content() or "")
    rows = page.get_by_test_id("binding-row")
    names = {rows.nth(i).get_attribute("data-name") for i in range(rows.count())}
    assert {"soc_floor", "soc_ceiling", "grid_import_max", "grid_export_max"} <= names
    page.wait_for_function(
        "document.querySelector('[data-testid=\"chart-marginal-value\"]')?.dataset.seriesPoints"
    )
    chart = page.get_by_test_id("chart-marginal-value")
    points = json.loads(chart.get_attribute("data-series-points") or "{}")
    assert set(points) == {"Marginal value"}
    assert points["Marginal value"] > 96  # one value per slot of the plan (>= one day)
    document = httpx.get(f"{base}/api/v1/planner/debug").json()
    assert document["status"] in {"optimal", "feasible"}


def test_dashboard_shows_the_car_and_the_months_billed_peak(
    page: Page, server: tuple[str, str]
) -> None:
    base, _ = server
    _open(page, base, "dashboard")
    car = page.get_by_test_id("card-ev")
    car.wait_for()
    assert "Departure" in car.inner_text()
    assert "07:00" in car.inner_text()
    capacity = page.get_by_test_id("card-capacity")
    text = capacity.inner_text()
    assert "kW" in text
    assert "SEK/kW/month" in text
    assert "80" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-ev.png"), full_page=True)
