"""What every fault test checks in a data folder afterwards: nothing corrupt, nothing lost.

* :func:`check_store`: ``PRAGMA integrity_check`` is ``ok``, the journal is WAL, and every
  slot of a range has exactly one observation row or a gap flagged in the execution log
  (read with sqlite3, a second connection, as a user's tool would);
* :func:`check_schedule_file`: ``schedule.json`` parses and its rows keep the invariants
  of DESIGN §3.2;
* :func:`stray_temp_files`: temp files an atomic write left behind.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from darkstar.planner.output.schedule import check_schedule
from darkstar.service.agent import DB_FILE, SCHEDULE_FILE

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "SLOT",
    "check_schedule_file",
    "check_store",
    "observed_slots",
    "stray_temp_files",
]

SLOT = timedelta(minutes=15)
_FLAGS = ("not recorded", "backfilled later")


def observed_slots(data_dir: Path) -> list[datetime]:
    """Every slot with an observation row, in order (UTC)."""
    with contextlib.closing(sqlite3.connect(data_dir / DB_FILE, timeout=10)) as conn:
        keys = conn.execute(
            "SELECT slot_start_utc FROM slot_observations ORDER BY slot_start_utc"
        ).fetchall()
    return [datetime.fromtimestamp(k, UTC) for (k,) in keys]


def check_store(data_dir: Path, *, start: datetime | None = None) -> dict[str, Any]:
    """Check the learning store; return counts for the test's report.

    From ``start`` (default: the first observation) to the last observation, every slot
    has exactly one observation row, or none and a flagged gap in the execution log.
    """
    db = data_dir / DB_FILE
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        counts = dict(
            conn.execute(
                "SELECT slot_start_utc, COUNT(*) FROM slot_observations GROUP BY slot_start_utc"
            ).fetchall()
        )
        notes = dict(
            conn.execute(
                "SELECT slot_start_utc, note FROM execution_log WHERE slot_start_utc IS NOT NULL"
            ).fetchall()
        )
        ticks, tick_times = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT at_utc) FROM execution_log"
        ).fetchone()
        plans, plan_times = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT planned_at || mode) FROM plans"
        ).fetchone()
    assert ticks == tick_times, "an executor tick logged twice"
    assert plans == plan_times, "a plan stored twice"
    assert counts, "no observation at all"
    assert max(counts.values()) == 1, {k: n for k, n in counts.items() if n > 1}
    first = int(start.timestamp()) if start is not None else min(counts)
    last = max(counts)
    missing, flagged = [], 0
    for key in range(first, last + 1, int(SLOT.total_seconds())):
        if key in counts:
            continue
        note = notes.get(key)
        if note and any(flag in note for flag in _FLAGS):
            flagged += 1
        else:
            missing.append(datetime.fromtimestamp(key, UTC).isoformat())
    assert missing == [], f"slots neither observed nor flagged: {missing}"
    return {"observed": len(counts), "flagged": flagged, "first": first, "last": last}


def check_schedule_file(data_dir: Path) -> dict[str, Any]:
    """``schedule.json`` parses, has rows, and keeps the per-slot invariants; return it."""
    document: dict[str, Any] = json.loads((data_dir / SCHEDULE_FILE).read_text("utf-8"))
    rows = document["schedule"]
    assert rows, "an empty schedule"
    first = datetime.fromisoformat(rows[0]["start"])
    slot_h = (datetime.fromisoformat(rows[0]["end"]) - first).total_seconds() / 3600.0
    check_schedule(rows, slot_h=slot_h)
    assert document["meta"]["status"] in {"optimal", "feasible", "fallback"}
    return document


def stray_temp_files(data_dir: Path) -> list[str]:
    """Temp files of writes (``.<name>.*.tmp``, ``<name>.tmp``) left in the data folder."""
    return sorted(p.name for p in data_dir.glob("*.tmp"))
