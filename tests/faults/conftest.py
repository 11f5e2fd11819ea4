"""The fault suite's sandbox Home Assistant: one real instance per test session.

The same fixture as ``tests/ha/conftest.py`` (a missing ``build/ha/venv`` is a failure, not
a skip); the rig itself is :mod:`fault_harness` in ``tests/fakes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    """A running, onboarded sandbox Home Assistant (``url``, ``token``, ``stop()``, ``start()``)."""
    hass = default_ha_venv() / "bin" / "hass"
    if not hass.exists():
        pytest.fail(f"no Home Assistant at {hass}: run `make ha-venv` (make test does it)")
    with running_home_assistant(tmp_path_factory.mktemp("ha-sandbox")) as instance:
        yield instance
