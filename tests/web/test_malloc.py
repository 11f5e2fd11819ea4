"""Tests for ``darkstar.web.malloc`` (glibc's arena limit of the service process)."""

from __future__ import annotations

import platform
import sys

import pytest

from darkstar.web.malloc import MALLOC_ARENAS, limit_malloc_arenas

_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not _GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_limit_malloc_arenas_glibc_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(MALLOC_ARENAS)


def test_limit_malloc_arenas_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not limit_malloc_arenas()


def test_limit_malloc_arenas_bad_count_raises() -> None:
    with pytest.raises(ValueError, match="max_arenas"):
        limit_malloc_arenas(0)
