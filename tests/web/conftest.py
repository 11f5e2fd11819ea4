"""An in-process app around a warmed-up runtime (no background thread)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from darkstar.backends import open_runtime
from darkstar.service.logbuffer import LogBuffer
from darkstar.service.runtime import Runtime
from darkstar.web.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("DARKSTAR_CHROMIUM", "/usr/bin/chromium")
TOKEN = "test-token-123"
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder: Path = tmp_path_factory.mktemp("serve")
    rt = open_runtime(data_dir=folder, config_path=folder / "config.yaml", speed=math.inf)
    rt.warm_up(8)  # two hours: two plans, eight measured slots
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime, token=TOKEN, origin=ORIGIN, logs=LogBuffer(), manage_runtime=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium` (make test does it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()
