"""The last log records in memory, for the Debug page.

:class:`LogBuffer` is a :class:`logging.Handler` keeping the newest ``capacity`` records
of the ``darkstar`` loggers; :meth:`LogBuffer.records` filters them by level.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["LogBuffer", "LogEntry", "level_number"]


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One log record: wall-clock time (UTC), level name, logger and message."""

    at: datetime
    level: str
    levelno: int
    logger: str
    message: str


def level_number(name: str) -> int:
    """Return the number of a level name (``DEBUG``, ``INFO``, ...), case-insensitive.

    Raises
    ------
    ValueError
        For an unknown level name.

    Examples
    --------
    >>> level_number("warning")
    30
    """
    number = logging.getLevelNamesMapping().get(name.upper())
    if number is None:
        msg = f"unknown log level {name!r}; use DEBUG, INFO, WARNING or ERROR"
        raise ValueError(msg)
    return number


class LogBuffer(logging.Handler):
    """Keep the newest ``capacity`` log records (thread-safe)."""

    def __init__(self, capacity: int = 2000) -> None:
        super().__init__(level=logging.DEBUG)
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Store one record (formatting errors are reported by ``handleError``)."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            self.handleError(record)
            return
        entry = LogEntry(
            at=datetime.fromtimestamp(record.created, tz=UTC),
            level=record.levelname,
            levelno=record.levelno,
            logger=record.name,
            message=message,
        )
        with self._guard:
            self._entries.append(entry)

    def records(self, *, min_level: int, limit: int) -> list[LogEntry]:
        """Return up to ``limit`` records at ``min_level`` or above, newest first."""
        with self._guard:
            entries = list(self._entries)
        picked = [e for e in reversed(entries) if e.levelno >= min_level]
        return picked[:limit]
