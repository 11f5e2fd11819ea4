"""What the user set, kept in ``<data_dir>/state.json`` so it survives a restart.

Shadow mode, Reflex on/off, the battery override, the water boost and the manual blocks
are one :class:`UserState`. The runtime changes it only through :func:`write_user_state`
*before* applying the change: a change is either written and applied, or refused and not
applied (a read-only data folder gives :class:`~darkstar.errors.StorageError`, never a
half-done change). The file is written atomically (temp file, fsync, rename).

A file that cannot be read back (corrupt, hand-edited) is not guessed at:
:func:`read_user_state` moves it aside to ``state.json.bad`` and starts from the defaults,
and says so in the returned note, which the runtime shows as a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from darkstar.errors import InputError, StorageError
from darkstar.planner.strategy.manual_plan import ManualBlock, manual_blocks_from_records

__all__ = ["STATE_FILE", "Override", "UserState", "read_user_state", "write_user_state"]

STATE_FILE = "state.json"
"""Name of the user-state file in the data folder."""

_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class Override:
    """A user override of the executor until ``until`` (house time, tz-aware UTC)."""

    kind: str
    until: datetime
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class UserState:
    """Everything the user set that the agent obeys."""

    shadow: bool = False
    reflex_enabled: bool = False
    override: Override | None = None
    water_override: Override | None = None
    manual_blocks: tuple[ManualBlock, ...] = field(default_factory=tuple)


def _override_to_json(value: Override | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {
        "kind": value.kind,
        "until": value.until.isoformat(),
        "created_at": value.created_at.isoformat(),
    }


def _override_from_json(data: Any, name: str) -> Override | None:
    if data is None:
        return None
    try:
        return Override(
            kind=str(data["kind"]),
            until=_aware(data["until"], f"{name}.until"),
            created_at=_aware(data["created_at"], f"{name}.created_at"),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(name, f"malformed override: {exc}") from exc


def _aware(text: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise InputError(name, "is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise InputError(name, "must carry a UTC offset")
    return moment


def to_json(state: UserState) -> dict[str, Any]:
    """Return ``state`` as JSON data (times as ISO 8601 with offset)."""
    return {
        "version": _VERSION,
        "shadow": state.shadow,
        "reflex_enabled": state.reflex_enabled,
        "override": _override_to_json(state.override),
        "water_override": _override_to_json(state.water_override),
        "manual_blocks": [
            {"start": b.start.isoformat(), "end": b.end.isoformat(), "action": str(b.action)}
            for b in state.manual_blocks
        ],
    }


def from_json(data: Any) -> UserState:
    """Parse :func:`to_json` data; raise :class:`InputError` naming the bad field."""
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        raise InputError("version", f"expected a state object of version {_VERSION}")
    for name in ("shadow", "reflex_enabled"):
        if not isinstance(data.get(name), bool):
            raise InputError(name, "must be true or false")
    blocks = data.get("manual_blocks")
    if not isinstance(blocks, list):
        raise InputError("manual_blocks", "must be a list")
    records = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise InputError(f"manual_blocks[{i}]", "must be an object")
        records.append(
            {
                **block,
                "start": _aware(block.get("start"), f"manual_blocks[{i}].start"),
                "end": _aware(block.get("end"), f"manual_blocks[{i}].end"),
            }
        )
    return UserState(
        shadow=data["shadow"],
        reflex_enabled=data["reflex_enabled"],
        override=_override_from_json(data.get("override"), "override"),
        water_override=_override_from_json(data.get("water_override"), "water_override"),
        manual_blocks=manual_blocks_from_records(records),
    )


def read_user_state(data_dir: Path) -> tuple[UserState, str | None]:
    """Read the saved state; return it and a note when the file had to be set aside.

    A missing file is the default state (first start). An unreadable or invalid file is
    renamed to ``state.json.bad`` (kept for the user) and the defaults are used.
    """
    path = data_dir / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserState(), None
    except (OSError, UnicodeDecodeError) as exc:
        return UserState(), f"{path}: unreadable ({exc}); starting from the defaults"
    try:
        return from_json(json.loads(text)), None
    except (ValueError, RecursionError) as exc:  # InputError and JSONDecodeError included
        bad = path.with_name(STATE_FILE + ".bad")
        with contextlib.suppress(OSError):
            path.replace(bad)
        return UserState(), f"{path}: invalid ({exc}); moved to {bad.name}, using the defaults"


def write_user_state(data_dir: Path, state: UserState) -> None:
    """Write ``state`` atomically; raise :class:`StorageError` naming the file on failure."""
    path = data_dir / STATE_FILE
    text = json.dumps(to_json(state), indent=1, sort_keys=True) + "\n"
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{STATE_FILE}.", suffix=".tmp", dir=data_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except OSError as exc:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()
        raise StorageError(str(path), exc.strerror or str(exc)) from exc
