"""Manual blocks: battery windows a user draws on the Planning tab that the next plans obey.

A :class:`ManualBlock` says what the battery does from ``start`` to ``end`` (tz-aware UTC);
:func:`to_manual_overrides` maps a set of blocks onto the planner's slot grid as per-slot
bounds and pushes for Kepler (:class:`~darkstar.planner.solver.types.ManualOverrides`).

Semantics, per slot the block overlaps (a block touching part of a slot governs the whole
slot; blocks partly outside the horizon apply to the slots inside it, blocks wholly outside
are ignored):

* ``hold``: battery charge = 0 and discharge = 0 (hard bounds; always feasible: the grid,
  curtailment and, where physics forces it, load shedding balance the slot).
* ``charge``: discharge = 0 (hard), and the battery charges as much as it can (soft): at full
  power within the import cap, from the grid or PV at any price, unless the SoC ceiling
  stops it. Kepler prices ``min(power not used, room left at the block's end)`` in SoC kWh
  above any price (see :func:`darkstar.planner.solver.manual.add_manual_constraints`).
  The block is met either by charging at full power throughout or by ending at the ceiling;
  so the plan may fill the battery before the block when that is cheaper, and the block
  then keeps it full.
* ``discharge``: charge = 0 (hard), and the battery discharges as much as the load plus the
  export cap take, down to min SoC (soft, mirrored: ``min(power not used, energy left above
  the floor at the end)``).

Adjacent or overlapping blocks with the same action act as one block; blocks with different
actions may not share a slot (:class:`~darkstar.errors.InputError` naming ``blocks``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar.errors import InputError
from darkstar.planner.solver.types import ManualOverrides

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ManualAction",
    "ManualBlock",
    "check_manual_blocks",
    "manual_blocks_from_records",
    "to_manual_overrides",
]

logger = logging.getLogger(__name__)


class ManualAction(StrEnum):
    """What the battery does in a manual block."""

    CHARGE = "charge"
    DISCHARGE = "discharge"
    HOLD = "hold"


#: Per action: (charge bound [kW], discharge bound [kW], forced direction); inf = free.
_SLOT_EFFECT: dict[ManualAction, tuple[float, float, int]] = {
    ManualAction.HOLD: (0.0, 0.0, 0),
    ManualAction.CHARGE: (np.inf, 0.0, 1),
    ManualAction.DISCHARGE: (0.0, np.inf, -1),
}


def _check_utc(value: object, field: str) -> None:
    if not isinstance(value, datetime):
        raise InputError(field, f"must be a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        raise InputError(field, "naive datetime; must be tz-aware UTC")
    if offset != timedelta(0):
        raise InputError(field, f"has UTC offset {offset}; must be UTC")


@dataclass(frozen=True, kw_only=True)
class ManualBlock:
    """One user-drawn block: ``action`` from ``start`` to ``end``.

    Parameters
    ----------
    start, end : datetime
        Tz-aware UTC, ``end > start``.
    action : ManualAction
        ``charge``, ``discharge`` or ``hold`` (semantics in the module docstring).

    Raises
    ------
    InputError
        Naming ``start``, ``end`` or ``action``; :func:`manual_blocks_from_records` names
        them ``blocks[i].start`` etc.
    """

    start: datetime
    end: datetime
    action: ManualAction

    def __post_init__(self) -> None:
        _check_utc(self.start, "start")
        _check_utc(self.end, "end")
        if self.end <= self.start:
            raise InputError("end", f"must be after start ({self.start.isoformat()})")
        if not isinstance(self.action, ManualAction):
            raise InputError("action", f"must be a ManualAction, got {self.action!r}")


def _block_from_record(record: Mapping[str, Any]) -> ManualBlock:
    """Build one block; errors name the record's key."""
    for key in ("start", "end", "action"):
        if key not in record:
            raise InputError(key, "missing")
    action = record["action"]
    if action not in tuple(ManualAction):
        raise InputError("action", f"must be one of {', '.join(ManualAction)}, got {action!r}")
    return ManualBlock(start=record["start"], end=record["end"], action=ManualAction(action))


def manual_blocks_from_records(
    records: Iterable[Mapping[str, Any]],
) -> tuple[ManualBlock, ...]:
    """Build blocks from ``{"start", "end", "action"}`` records and check them as a set.

    ``start``/``end`` are datetimes (parsing text is the boundary schema's job); ``action``
    is a :class:`ManualAction` value such as ``"hold"``.

    Raises
    ------
    InputError
        Naming ``blocks[i].start``, ``blocks[i].end`` or ``blocks[i].action`` for a bad
        block, or ``blocks`` for a conflict (:func:`check_manual_blocks`).
    """
    blocks = []
    for i, record in enumerate(records):
        try:
            blocks.append(_block_from_record(record))
        except InputError as exc:
            raise InputError(f"blocks[{i}].{exc.field}", exc.message) from None
    out = tuple(blocks)
    check_manual_blocks(out)
    return out


def check_manual_blocks(blocks: Sequence[ManualBlock]) -> None:
    """Check that no two blocks with different actions overlap in time.

    Raises
    ------
    InputError
        Naming ``blocks``, with the indices of the first conflicting pair.
    """
    for i, a in enumerate(blocks):
        for j in range(i + 1, len(blocks)):
            b = blocks[j]
            if a.action is not b.action and a.start < b.end and b.start < a.end:
                msg = f"blocks[{i}] ({a.action}) and blocks[{j}] ({b.action}) overlap"
                raise InputError("blocks", msg)


def to_manual_overrides(
    blocks: Sequence[ManualBlock],
    *,
    slot_starts: Sequence[datetime],
    slot_duration: timedelta,
) -> ManualOverrides | None:
    """Map manual blocks onto the slot grid as per-slot bounds and pushes for Kepler.

    Parameters
    ----------
    blocks : Sequence[ManualBlock]
        The user's blocks, in any order.
    slot_starts : Sequence[datetime]
        Start of every slot of the horizon (tz-aware UTC).
    slot_duration : timedelta
        Length of every slot.

    Returns
    -------
    ManualOverrides or None
        Per slot: ``max_charge_kw`` and ``max_discharge_kw`` (``0`` where a block forbids
        the direction, ``inf`` elsewhere) and ``forced_direction`` (``+1`` charge block,
        ``-1`` discharge block, ``0`` otherwise). None when no block touches the horizon,
        so the solver input is exactly the one without blocks.

    Raises
    ------
    InputError
        Naming ``blocks`` when blocks with different actions overlap, or touch the same slot.

    Examples
    --------
    >>> from datetime import UTC
    >>> t0 = datetime(2026, 3, 10, tzinfo=UTC)
    >>> hour = timedelta(hours=1)
    >>> block = ManualBlock(start=t0 + hour, end=t0 + 2 * hour, action=ManualAction.HOLD)
    >>> out = to_manual_overrides([block], slot_starts=[t0, t0 + hour], slot_duration=hour)
    >>> out.max_charge_kw.tolist(), out.forced_direction.tolist()
    ([inf, 0.0], [0, 0])
    """
    check_manual_blocks(blocks)
    if slot_duration <= timedelta(0):
        raise InputError("slot_duration", "must be positive")
    n = len(slot_starts)
    owner: list[int | None] = [None] * n
    for i, block in enumerate(blocks):
        for t, start in enumerate(slot_starts):
            if not (start < block.end and block.start < start + slot_duration):
                continue
            j = owner[t]
            if j is not None and blocks[j].action is not block.action:
                msg = (
                    f"blocks[{j}] ({blocks[j].action}) and blocks[{i}] ({block.action}) "
                    f"both touch the slot starting {start.isoformat()}"
                )
                raise InputError("blocks", msg)
            owner[t] = i
    if all(j is None for j in owner):
        if blocks:
            logger.info("manual blocks: none of %d touches the horizon", len(blocks))
        return None
    max_charge_kw = np.full(n, np.inf)
    max_discharge_kw = np.full(n, np.inf)
    forced_direction = np.zeros(n, dtype=np.int8)
    for t, j in enumerate(owner):
        if j is not None:
            max_charge_kw[t], max_discharge_kw[t], forced_direction[t] = _SLOT_EFFECT[
                blocks[j].action
            ]
    logger.info(
        "manual blocks: %d slots overridden (%d charge, %d discharge)",
        sum(j is not None for j in owner),
        int(np.sum(forced_direction > 0)),
        int(np.sum(forced_direction < 0)),
    )
    return ManualOverrides(
        max_charge_kw=max_charge_kw,
        max_discharge_kw=max_discharge_kw,
        forced_direction=forced_direction,
    )
