"""Background threads lower their own CPU priority, and only their own (Linux)."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from darkstar.service.priority import BACKGROUND_NICE, in_background, lower_thread_priority

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a nice value per thread is Linux's"
)


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(target: Callable[[], object]) -> dict[str, object]:
    seen: dict[str, object] = {}

    def run() -> None:
        seen["before"] = _nice()
        seen["result"] = target()
        seen["after"] = _nice()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return seen


def test_lowers_the_calling_thread_only() -> None:
    caller = _nice()
    seen = _in_thread(lower_thread_priority)
    assert seen["result"] is True
    assert seen["before"] == caller
    assert seen["after"] == min(19, caller + BACKGROUND_NICE)
    assert _nice() == caller  # the caller (the event loop's thread in the service) keeps it


def test_stops_at_the_lowest_priority() -> None:
    seen = _in_thread(lambda: (lower_thread_priority(15), lower_thread_priority(15)))
    assert seen["after"] == 19


def test_steps_are_never_negative() -> None:
    with pytest.raises(ValueError, match="steps: must be >= 0, got -1"):
        lower_thread_priority(-1)


def test_in_background_lowers_then_runs_the_target() -> None:
    caller = _nice()
    seen = _in_thread(lambda: in_background(_nice)())
    assert seen["result"] == min(19, caller + BACKGROUND_NICE)
    assert seen["after"] == seen["result"]
