"""The strategy log in the store (``strategy_log``): what was decided, why, before and after.

Aurora Reflex appends every proposal (``reflex_proposal``) and every change it wrote to the
config (``reflex_applied``, with the old value in ``before``); the Strategy Engine's
decisions (``strategy``) are meant to follow. :func:`read_strategy_log` reads the log back,
newest first, for the Aurora page and for Reflex's own rate limit.

Failure behaviour follows :mod:`darkstar.learning.store.repository`: a write never raises
on a database error (it is logged, :attr:`Store.last_write_error
<darkstar.learning.store.Store.last_write_error>` is set and ``False`` returned), invalid
input raises :class:`~darkstar.errors.InputError`, and a read raises
:class:`~darkstar.learning.store.StoreError`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import StrategyLogEntry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from darkstar.learning.store.engine import Store

__all__ = [
    "StrategyKind",
    "StrategyRecord",
    "append_strategy_entry",
    "read_strategy_log",
]

logger = logging.getLogger(__name__)

_KIND_LEN = 32
_RULE_LEN = 64


class StrategyKind(StrEnum):
    """What a strategy-log row records."""

    REFLEX_PROPOSAL = "reflex_proposal"
    """Reflex proposed a config change (applied or not)."""
    REFLEX_APPLIED = "reflex_applied"
    """Reflex wrote a config change; ``before`` holds the old value."""
    STRATEGY = "strategy"
    """A Strategy Engine decision (overrides of one plan)."""


@dataclass(frozen=True, kw_only=True)
class StrategyRecord:
    """One row of the strategy log as read back.

    Attributes
    ----------
    id : int
        Row id; increases with every append (the tie-break of equal ``at``).
    at : datetime
        When the decision was made, UTC (whole seconds).
    kind : str
        A :class:`StrategyKind` value (kept as text, so a newer writer's kinds read back).
    rule : str
        The rule that decided, e.g. ``reflex.safety``.
    message : str
        One line for people.
    inputs, before, after : dict
        The signal it came from, and the affected config keys' values before and after.
    """

    id: int
    at: datetime
    kind: str
    rule: str
    message: str
    inputs: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-ready values (``at`` as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "rule": self.rule,
            "message": self.message,
            "inputs": self.inputs,
            "before": self.before,
            "after": self.after,
        }


def _epoch_s(moment: datetime, field: str) -> int:
    """Integer UTC epoch seconds of a tz-aware datetime; naive raises ``InputError``."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InputError(field, f"{moment!r} must be a tz-aware datetime")
    return math.floor(moment.timestamp())


def _json(value: Mapping[str, Any], field: str) -> str:
    """JSON text of a mapping (sorted keys, finite numbers only)."""
    try:
        return json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(field, f"not JSON-serialisable: {exc}") from exc


def append_strategy_entry(
    store: Store,
    *,
    at: datetime,
    kind: StrategyKind | str,
    rule: str,
    message: str,
    inputs: Mapping[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> bool:
    """Append one decision to the strategy log (one transaction).

    Parameters
    ----------
    store : Store
        The open learning store.
    at : datetime
        When it was decided, tz-aware (stored as whole UTC seconds).
    kind : StrategyKind or str
        What the row records (at most 32 characters).
    rule : str
        The rule that decided, e.g. ``reflex.safety`` (at most 64 characters).
    message : str
        One line for people.
    inputs, before, after : Mapping[str, Any]
        The signal, and the config keys' values before and after (JSON-serialisable).

    Returns
    -------
    bool
        ``True`` when stored; ``False`` when the database write failed (logged, and in
        ``store.last_write_error``).

    Raises
    ------
    InputError
        For a naive ``at``, an empty or too long ``kind``/``rule``, or a mapping that is not
        JSON-serialisable (NaN included).
    """
    at_utc = _epoch_s(at, "at")
    for name, text, limit in (("kind", str(kind), _KIND_LEN), ("rule", rule, _RULE_LEN)):
        if not 0 < len(text) <= limit:
            raise InputError(name, f"must be 1 to {limit} characters, got {text!r}")
    row = StrategyLogEntry(
        at_utc=at_utc,
        kind=str(kind),
        rule=rule,
        message=message,
        inputs=_json(inputs, "inputs"),
        before=_json(before, "before"),
        after=_json(after, "after"),
    )
    try:
        with Session(store.engine) as session, session.begin():
            session.add(row)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("append_strategy_entry: could not log %s %s", kind, rule)
        return False
    store.note_write_ok()
    return True


def _record(row: StrategyLogEntry) -> StrategyRecord:
    return StrategyRecord(
        id=row.id,
        at=datetime.fromtimestamp(row.at_utc, UTC),
        kind=row.kind,
        rule=row.rule,
        message=row.message,
        inputs=json.loads(row.inputs),
        before=json.loads(row.before),
        after=json.loads(row.after),
    )


def read_strategy_log(
    store: Store,
    *,
    limit: int,
    kind: StrategyKind | str | None = None,
    rule: str | None = None,
    until: datetime | None = None,
) -> list[StrategyRecord]:
    """Return the latest ``limit`` log rows, newest first (ties: the later append first).

    Parameters
    ----------
    store : Store
        The open learning store.
    limit : int
        Most rows returned, >= 1.
    kind, rule : str, optional
        Only rows of this kind / this rule.
    until : datetime, optional
        Only rows at or before this time (tz-aware).

    Raises
    ------
    InputError
        For ``limit < 1`` or a naive ``until``.
    StoreError
        When the database cannot be read.
    """
    if limit < 1:
        raise InputError("limit", f"must be >= 1, got {limit}")
    query = select(StrategyLogEntry)
    if kind is not None:
        query = query.where(StrategyLogEntry.kind == str(kind))
    if rule is not None:
        query = query.where(StrategyLogEntry.rule == rule)
    if until is not None:
        query = query.where(StrategyLogEntry.at_utc <= _epoch_s(until, "until"))
    query = query.order_by(StrategyLogEntry.at_utc.desc(), StrategyLogEntry.id.desc())
    try:
        with Session(store.engine) as session:
            return [_record(r) for r in session.scalars(query.limit(limit)).all()]
    except SQLAlchemyError as exc:
        msg = f"cannot read the strategy log: {exc}"
        raise StoreError(msg) from exc
