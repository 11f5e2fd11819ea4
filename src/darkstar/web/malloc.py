"""The C allocator's arenas of the service process: at most :data:`MALLOC_ARENAS`.

glibc's ``malloc`` gives a thread that finds the existing arenas busy an arena of its own,
up to 8 per core, and an arena keeps the pages it once held while any block near its top
is still in use. The web service runs the agent's thread, the event loop and a pool of
worker threads that AnyIO starts and retires on demand (up to 40); blocks larger than
Python's small-object allocator takes (numpy arrays, JSON texts, SQLite pages) then land
in ever more arenas. In the 7-day soak (``docs/soak.md``) the server's resident memory grew
by a fifth with the default arenas while Python's own objects stayed flat; with two arenas
it stayed within a few percent.

:func:`limit_malloc_arenas` caps them with ``mallopt(M_ARENA_MAX, n)`` before the service
starts its threads. glibc fixes its arena limit once more than 8 arenas exist, so the call
must come early; a ``MALLOC_ARENA_MAX`` set in the environment is left as the user set it.
Elsewhere (musl, macOS, Windows) nothing changes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from typing import Final

__all__ = ["MALLOC_ARENAS", "limit_malloc_arenas"]

logger = logging.getLogger(__name__)

MALLOC_ARENAS: Final = 2
"""Arenas the service's process may use (the main one and one shared by every thread)."""

_M_ARENA_MAX: Final = -8  # glibc <malloc.h>


def limit_malloc_arenas(max_arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas of this process at ``max_arenas``; return whether it did.

    Parameters
    ----------
    max_arenas : int, default :data:`MALLOC_ARENAS`
        Arenas allowed (>= 1).

    Returns
    -------
    bool
        ``True`` when glibc accepted the limit; ``False`` on another platform or C
        library, or when ``MALLOC_ARENA_MAX`` is set in the environment (it wins).

    Raises
    ------
    ValueError
        For ``max_arenas`` below 1.
    """
    if max_arenas < 1:
        msg = f"max_arenas: must be >= 1, got {max_arenas}"
        raise ValueError(msg)
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_ARENA_MAX, max_arenas))
    logger.debug("malloc arenas limited to %s: %s", max_arenas, done)
    return done
