"""What ``/proc`` says about a process and the machine: CPU time, resident memory, load.

Linux only; every reader returns ``None`` where ``/proc`` (or the process) is not there, so
a benchmark reports "n/a" instead of failing. Used by :mod:`darkstar.bench.api` and
:mod:`darkstar.bench.soak`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "load_average",
    "machine_busy_s",
    "open_fd_count",
    "process_cpu_s",
    "process_rss_kib",
    "process_threads",
]


def process_cpu_s(pid: int) -> float | None:
    """Return user + system CPU time of process ``pid`` from ``/proc/<pid>/stat`` [s]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # fields 3.. of proc(5); utime, stime are 14, 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float | None:
    """Return CPU time the whole machine spent busy (all cores) from ``/proc/stat`` [s]."""
    try:
        with Path("/proc/stat").open(encoding="ascii") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # guest time is in user


def _status_field(pid: int, name: str) -> int | None:
    """Return the first number of field ``name`` in ``/proc/<pid>/status``, if readable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])  # "VmRSS:   123456 kB", "Threads:  41"
    return None


def process_rss_kib(pid: int) -> int | None:
    """Return the resident set size of process ``pid`` (``VmRSS`` in ``/proc/<pid>/status``).

    ``VmRSS`` counts the anonymous, file-backed and shared pages resident now [KiB].
    """
    return _status_field(pid, "VmRSS")


def process_threads(pid: int) -> int | None:
    """Return how many threads process ``pid`` runs now."""
    return _status_field(pid, "Threads")


def open_fd_count(pid: int) -> int | None:
    """Return how many file descriptors process ``pid`` has open (sockets, files)."""
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return None


def load_average() -> float | None:
    """Return the machine's 1-minute load average (runnable + uninterruptible tasks)."""
    try:
        return float(Path("/proc/loadavg").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None
