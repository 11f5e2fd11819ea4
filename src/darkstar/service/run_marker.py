"""Whether the last run of the service stopped cleanly: a marker file while it runs.

:func:`begin_run` writes ``<data_dir>/run.lock`` (the process id and when it started) when
the agent thread starts, and :func:`end_run` removes it on a clean stop. A marker found at
start means the previous run ended without stopping (``kill -9``, a crash, a power cut):
nothing is lost (the store is SQLite in WAL mode, every file is written atomically and the
run resumes after the stored history), but the user is told, in words, and the temp files
of the writes the kill interrupted are removed.

The marker is advisory: a data folder that cannot be written is reported elsewhere
(``/health``), so a failed write here is only logged.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["RUN_MARKER", "begin_run", "end_run"]

logger = logging.getLogger(__name__)

RUN_MARKER = "run.lock"
"""Name of the marker in the data folder."""


def _describe(path: Path) -> str:
    """When and as which process the unfinished run started (what the marker says)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f" (process {int(data['pid'])}, started {data['started_at']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # a marker torn by the kill itself says nothing more


def _remove_strays(data_dir: Path) -> int:
    """Remove the temp files of atomic writes a kill interrupted (``.<name>.*.tmp``).

    The file each one was to replace is intact (old or new, never half): only the temp
    file is garbage.
    """
    removed = 0
    for stray in data_dir.glob(".*.tmp"):
        try:
            stray.unlink()
        except OSError as exc:
            logger.warning("cannot remove %s: %s", stray, exc)
        else:
            removed += 1
    return removed


def begin_run(data_dir: Path) -> str | None:
    """Mark the run as started; return a note when the last run did not stop cleanly."""
    path = data_dir / RUN_MARKER
    note = None
    if path.exists():
        strays = _remove_strays(data_dir)
        note = (
            f"the last run{_describe(path)} did not stop cleanly (killed, crashed or "
            "power lost): nothing stored was lost; the run resumes after the stored history"
            + (f"; {strays} unfinished temp file(s) removed" if strays else "")
        )
    text = json.dumps({"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat()})
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        logger.warning("cannot write %s: %s", path, exc)
    return note


def end_run(data_dir: Path) -> None:
    """Mark the run as stopped cleanly (remove the marker)."""
    path = data_dir / RUN_MARKER
    if not path.exists():  # never marked (or a read-only folder: nothing to do)
        return
    try:
        path.unlink()
    except OSError as exc:
        logger.warning("cannot remove %s: %s", path, exc)
