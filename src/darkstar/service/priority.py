"""Background work yields the CPU to the web service and the executor.

The service runs CPU-heavy work next to its web handlers: the MILP solve of each plan
(about 0.1-1 s, in HiGHS, which releases the GIL), Aurora's training (LightGBM) and the
daily Reflex and housekeeping runs. On a small box (two cores, a Raspberry Pi) they compete
with the requests of the UI for the cores. None of them is urgent to the second, a page is.

Linux keeps a nice value per thread (``setpriority(2)`` with a thread id: the NPTL threads
are scheduled one by one), so a worker thread can lower its own priority without touching
the event loop's. :func:`lower_thread_priority` does that, by :data:`BACKGROUND_NICE`
steps; threads it then starts inherit the value (LightGBM's OpenMP workers, when the
training thread is the one that starts them). Elsewhere it does nothing: on macOS and the
BSDs the value is per process.

In the 7-day soak (``docs/soak.md``) the plan solves were what set the tail of the API
latency; ``docs/soak.md`` has the figures before and after.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BACKGROUND_NICE", "in_background", "lower_thread_priority"]

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger(__name__)

BACKGROUND_NICE: Final = 10
"""Nice steps a background thread gives up (the range is -20 ... 19; 19 is the lowest)."""

_LOWEST: Final = 19


def lower_thread_priority(steps: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's CPU priority by ``steps`` nice steps (Linux only).

    Parameters
    ----------
    steps : int, default :data:`BACKGROUND_NICE`
        Nice steps to add (>= 0); the value stops at 19.

    Returns
    -------
    bool
        ``True`` when the thread now runs at the lower priority; ``False`` on another
        platform, or when the kernel refused (logged).

    Raises
    ------
    ValueError
        For ``steps`` below 0 (raising a priority needs privileges and is not background).
    """
    if steps < 0:
        msg = f"steps: must be >= 0, got {steps}"
        raise ValueError(msg)
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(_LOWEST, nice + steps))
    except OSError as exc:  # e.g. a seccomp profile that forbids it: run at normal priority
        logger.info("background thread kept its priority: %s", exc)
        return False
    return True


def in_background(target: Callable[P, R]) -> Callable[P, R]:
    """Wrap a thread's ``target`` so that it first lowers the thread's priority.

    >>> in_background(max)(2, 3)
    3
    """

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        lower_thread_priority()
        return target(*args, **kwargs)

    return run
