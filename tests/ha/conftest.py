"""The sandbox Home Assistant for integration tests: one real instance per test session.

HA runs from ``build/ha/venv`` (``make ha-venv``; ``make test`` does it). A missing venv is a
failure, not a skip, so CI cannot pass without these tests running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx2 as httpx
import pytest

from darkstar.simulation.ha_sandbox import (
    HomeAssistantInstance,
    default_ha_venv,
    running_home_assistant,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomeAssistantInstance]:
    """A running, onboarded sandbox Home Assistant (``url``, ``token``, ``restart()``)."""
    hass = default_ha_venv() / "bin" / "hass"
    if not hass.exists():
        pytest.fail(f"no Home Assistant at {hass}: run `make ha-venv` (make test does it)")
    with running_home_assistant(tmp_path_factory.mktemp("ha-sandbox")) as instance:
        yield instance


@pytest.fixture
def ha_api(ha: HomeAssistantInstance) -> Iterator[httpx.Client]:
    """An HTTP client for the sandbox's REST API, authenticated with its long-lived token."""
    with httpx.Client(
        base_url=ha.url,
        headers={"Authorization": f"Bearer {ha.token}"},
        timeout=10.0,
        trust_env=False,
    ) as client:
        yield client
