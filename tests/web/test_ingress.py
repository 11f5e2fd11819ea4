"""Behind Home Assistant's ingress: only the proxy may connect, and it needs no token.

In-process cases use Starlette's test client with the peer address set (the proxy's
``172.30.32.2``, a neighbour on the add-on network, loopback); the browser case runs
``darkstar serve --ingress-proxy 127.0.0.2`` as a real process behind a real loopback
proxy that forwards ``/api/hassio_ingress/<id>/...`` from ``127.0.0.2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from ingress_proxy import PROXY_SOURCE, IngressProxy
from starlette.websockets import WebSocketDisconnect

from conftest import ORIGIN, TOKEN
from darkstar.service.logbuffer import LogBuffer
from darkstar.web.app import create_app, static_dir
from darkstar.web.process import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

    from darkstar.service.runtime import Runtime

SUPERVISOR = "172.30.32.2"
PREFIX = "/api/hassio_ingress/Xy-9_z"


def _client(runtime: Runtime, peer: str, *, ingress: str | None = SUPERVISOR) -> TestClient:
    app = create_app(
        runtime,
        token=TOKEN,
        origin=ORIGIN,
        logs=LogBuffer(),
        manage_runtime=False,
        ingress_proxy=ingress,
    )
    return TestClient(app, client=(peer, 40123))


@pytest.fixture(scope="module")
def proxied(runtime: Runtime) -> Iterator[TestClient]:
    with _client(runtime, SUPERVISOR) as client:
        yield client


@pytest.fixture(scope="module")
def neighbour(runtime: Runtime) -> Iterator[TestClient]:
    with _client(runtime, "172.30.33.7") as client:
        yield client


def test_the_proxy_reads_and_changes_state_without_a_token(proxied: TestClient) -> None:
    assert proxied.get("/api/v1/status").status_code == 200
    reply = proxied.post("/api/v1/executor/shadow", json={"enabled": True})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"shadow": True}
    assert proxied.post("/api/v1/executor/shadow", json={"enabled": False}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/status"),
        ("GET", "/api/v1/config"),
        ("GET", "/"),
        ("GET", "/dashboard"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/executor/shadow"),
    ],
)
def test_any_other_peer_is_refused_before_the_app(
    neighbour: TestClient, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Ingress-Path": PREFIX}
    reply = neighbour.request(method, path, headers=headers, json={"enabled": True})
    assert reply.status_code == 403
    assert "ingress proxy" in reply.json()["detail"]


def test_a_neighbours_websocket_is_refused(neighbour: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        neighbour.websocket_connect("/api/v1/live").__enter__()
    assert refused.value.code == 1008


def test_the_proxys_websocket_needs_no_token(proxied: TestClient) -> None:
    with proxied.websocket_connect("/api/v1/live", headers={"Origin": "http://ha.local"}) as ws:
        ws.send_json({"type": "auth", "token": ""})
        assert ws.receive_json() == {"type": "auth", "data": {"ok": True}}
        assert ws.receive_json()["type"] == "status"


def test_loopback_may_ask_only_for_health(runtime: Runtime) -> None:
    with _client(runtime, "127.0.0.1") as local:
        assert local.get("/api/v1/health").status_code == 200
        assert local.get("/api/v1/status").status_code == 403


def test_index_is_based_at_the_ingress_prefix(proxied: TestClient) -> None:
    if not (static_dir() / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    page = proxied.get("/dashboard", headers={"X-Ingress-Path": PREFIX}).text
    assert f'<base href="{PREFIX}/" />' in page
    assert '<base href="/" />' not in page


@pytest.mark.parametrize(
    "header", ['/x"><script>alert(1)</script>', "http://evil.example/", "/a b", "//evil"]
)
def test_a_strange_prefix_falls_back_to_the_root(proxied: TestClient, header: str) -> None:
    if not (static_dir() / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    page = proxied.get("/", headers={"X-Ingress-Path": header}).text
    assert '<base href="/" />' in page
    assert "<script>alert" not in page


def test_without_ingress_the_header_is_ignored_and_the_token_required(
    runtime: Runtime,
) -> None:
    with _client(runtime, SUPERVISOR, ingress=None) as plain:
        page = plain.get("/", headers={"X-Ingress-Path": PREFIX}).text
        assert PREFIX not in page
        assert plain.post("/api/v1/executor/shadow", json={"enabled": True}).status_code == 401


@pytest.mark.browser
def test_the_ui_works_through_the_proxy(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Pages, API calls, the live socket and a state change, all under the prefix."""
    if not (static_dir() / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    folder = tmp_path_factory.mktemp("ingress-serve")
    extra = ("--ingress-proxy", PROXY_SOURCE)
    with (
        running_server(folder, warmup_hours=4, speed=60, extra_args=extra) as server,
        IngressProxy(upstream_port=server.port, prefix=PREFIX) as proxy,
    ):
        # straight to the add-on from anywhere but the proxy: refused
        direct = httpx.get(f"{server.base_url}/api/v1/status", timeout=10)
        assert direct.status_code == 403
        assert httpx.get(f"{server.base_url}/api/v1/health", timeout=10).status_code == 200
        assert "token" not in server.log_path.read_text(encoding="utf-8").lower()

        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.goto(proxy.base_url)  # no token anywhere
        page.wait_for_selector('[data-testid="page-dashboard"][data-loaded="true"]')
        assert page.url == f"{proxy.base_url}dashboard"
        page.wait_for_selector("span.live.on")  # the live socket, through the proxy
        page.get_by_test_id("action-charge").click()  # a state change without a token
        page.wait_for_function(
            "document.querySelector('[data-testid=\"override-status\"]')"
            ".textContent.includes('charge')"
        )
        page.get_by_test_id("action-auto").click()
        page.get_by_test_id("tab-executor").click()
        page.wait_for_selector('[data-testid="page-executor"][data-loaded="true"]')
        assert page.url == f"{proxy.base_url}executor"
        page.reload()  # a deep link under the prefix
        page.wait_for_selector('[data-testid="page-executor"][data-loaded="true"]')
        context.close()
        assert failed == []
