"""The slot time grid: validation, local midnights and local ISO formatting.

Everything inside Darkstar is tz-aware UTC; local time only matters for day boundaries
(water days, the target-SoC clock hour) and for the times written to ``schedule.json``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from darkstar.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from zoneinfo import ZoneInfo

__all__ = [
    "ALLOWED_SLOT_MINUTES",
    "check_slot_grid",
    "local_midnights_utc",
    "next_local_time_utc",
    "to_local_iso",
]

ALLOWED_SLOT_MINUTES = (15, 30, 60)


def check_slot_grid(starts_utc: Sequence[datetime], *, field: str = "slots") -> timedelta:
    """Check that slot starts are consecutive and equally long; return the slot length.

    Parameters
    ----------
    starts_utc : sequence of datetime
        Tz-aware slot start times.
    field : str
        Field name used in error messages.

    Returns
    -------
    timedelta
        The common slot length (15, 30 or 60 minutes).

    Raises
    ------
    InputError
        If a start is naive, the grid is unsorted, has a gap or overlap, mixes lengths,
        or uses a length other than 15, 30 or 60 minutes.
    """
    if not starts_utc:
        raise InputError(field, "at least one slot is required")
    for i, start in enumerate(starts_utc):
        if start.tzinfo is None:
            raise InputError(f"{field}[{i}].start", "must carry a UTC offset")
    if len(starts_utc) == 1:
        return timedelta(minutes=60)
    for i in range(1, len(starts_utc)):
        if starts_utc[i] <= starts_utc[i - 1]:
            raise InputError(
                f"{field}[{i}].start", "slots must be sorted by start, without duplicates"
            )
    step = starts_utc[1] - starts_utc[0]
    if step not in {timedelta(minutes=m) for m in ALLOWED_SLOT_MINUTES}:
        raise InputError(
            f"{field}[1].start",
            f"slot length must be 15, 30 or 60 minutes, got {step.total_seconds() / 60:g} min",
        )
    for i in range(1, len(starts_utc)):
        this_step = starts_utc[i] - starts_utc[i - 1]
        if this_step == step:
            continue
        if this_step > step and this_step % step == timedelta(0):
            raise InputError(
                f"{field}[{i}].start",
                f"gap of {this_step - step} before this slot; slots must be consecutive",
            )
        raise InputError(
            f"{field}[{i}].start",
            f"mixed slot lengths: {this_step.total_seconds() / 60:g} min here, "
            f"{step.total_seconds() / 60:g} min before",
        )
    return step


def local_midnights_utc(start_utc: datetime, end_utc: datetime, tz: ZoneInfo) -> list[datetime]:
    """Return the local midnights in ``(start_utc, end_utc]`` as UTC datetimes.

    DST-safe: midnights are built from local calendar dates, not by adding 24 h.
    """
    out: list[datetime] = []
    day = start_utc.astimezone(tz).date()
    while True:
        day = day + timedelta(days=1)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        if midnight > end_utc:
            return out
        out.append(midnight)


def to_local_iso(moment_utc: datetime, tz: ZoneInfo) -> str:
    """Format a UTC instant as ISO 8601 in local time with its offset."""
    return moment_utc.astimezone(tz).isoformat()


def next_local_time_utc(after: datetime, tz: tzinfo, hhmm: str) -> datetime:
    """Return the first local clock time ``hhmm`` strictly after ``after``, in UTC.

    A daily job's next run: today's ``hhmm`` in ``tz`` or tomorrow's. On a DST day a time
    that does not exist locally (02:30 in spring) is read with the offset before the change,
    as :mod:`zoneinfo` does (fold 0).

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> stockholm = ZoneInfo("Europe/Stockholm")
    >>> str(next_local_time_utc(datetime(2018, 3, 24, 12, tzinfo=UTC), stockholm, "04:45"))
    '2018-03-25 02:45:00+00:00'
    >>> str(next_local_time_utc(datetime(2018, 3, 1, 3, 30, tzinfo=UTC), stockholm, "04:30"))
    '2018-03-02 03:30:00+00:00'
    """
    hour, minute = (int(x) for x in hhmm.split(":"))
    day = after.astimezone(tz).date()
    for offset in range(3):  # today's or tomorrow's; a DST day cannot skip two
        d = day + timedelta(days=offset)
        moment = datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz).astimezone(UTC)
        if moment > after:
            return moment
    msg = f"no {hhmm} after {after.isoformat()}"  # unreachable
    raise ValueError(msg)
