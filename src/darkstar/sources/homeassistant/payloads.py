"""Home Assistant's JSON shapes, parsed once into :class:`~darkstar.house.EntityState`.

Shapes (Home Assistant 2025.4, ``homeassistant/core.py`` and
``components/websocket_api/messages.py``):

* a **state** (REST ``/api/states``, ``/api/history/period``, WS ``get_states``)::

    {"entity_id": "sensor.pv_power", "state": "1500", "attributes": {...},
     "last_changed": "2025-04-10T12:00:00.123456+00:00", "last_updated": "...", ...}

* a **compressed state** (WS ``subscribe_entities``, ``State.as_compressed_state``)::

    {"s": "1500", "a": {...}, "c": "<context id>", "lc": 1744286400.12, "lu": 1744286401.5}

  ``lu`` is omitted when it equals ``lc``;
* an **entities event** (``_state_diff_event``): ``{"a": {entity_id: compressed state}}``
  (added, or the initial states), ``{"c": {entity_id: {"+": {...}, "-": {"a": [keys]}}}}``
  (changed: ``+`` carries the new ``s``, changed or added attributes ``a``, ``lc`` when the
  state changed (then ``last_updated == last_changed``) or else ``lu``, and ``c``; ``-``
  lists removed attribute keys) and ``{"r": [entity_id]}`` (removed);
* a **statistics row** (WS ``recorder/statistics_during_period``): ``start``/``end`` in
  epoch milliseconds and the requested ``change``, ``sum``, ``state``, ``mean``, ``min``,
  ``max``.

Anything else raises :class:`UnexpectedReply` (a :class:`~darkstar.house.HouseError`),
never a half-parsed state.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from darkstar.house import STATE_UNAVAILABLE, EntityState, HouseError

__all__ = [
    "CompressedStates",
    "StatisticSeries",
    "StatisticsRow",
    "UnexpectedReply",
    "check_entity_id",
    "parse_history",
    "parse_state",
    "parse_states",
    "parse_statistics",
]

logger = logging.getLogger(__name__)

SOURCE = "home_assistant"
"""The ``source`` of errors that are about Home Assistant as a whole."""

# HA's valid_entity_id (homeassistant/core.py VALID_ENTITY_ID), which also keeps ids
# safe to put in a URL path
_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")


class UnexpectedReply(HouseError):
    """Home Assistant answered with JSON that is not the documented shape."""

    def __init__(self, what: str, error: ValidationError | str) -> None:
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            error = f"{where}: {first['msg']}"
        super().__init__(SOURCE, f"unexpected reply to {what}: {error}")


def check_entity_id(entity_id: str) -> None:
    """Raise :class:`HouseError` naming ``entity_id`` unless it is ``domain.object_id``.

    Examples
    --------
    >>> check_entity_id("sensor.pv_power")
    >>> check_entity_id("sensor/../x")
    Traceback (most recent call last):
    ...
    darkstar.house.interface.HouseError: sensor/../x: not a valid entity id (domain.object_id)
    """
    if not _ENTITY_ID.match(entity_id):
        raise HouseError(entity_id, "not a valid entity id (domain.object_id)")


def _utc_from_epoch_s(timestamp_s: float) -> datetime:
    return datetime.fromtimestamp(timestamp_s, tz=UTC)


class _State(BaseModel):
    model_config = ConfigDict(extra="ignore")

    entity_id: str
    state: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    last_updated: AwareDatetime


_STATES = TypeAdapter(list[_State])
_HISTORY = TypeAdapter(list[list[_State]])


def _to_entity_state(model: _State) -> EntityState:
    return EntityState(
        entity_id=model.entity_id,
        state=model.state,
        attributes=model.attributes,
        last_updated=model.last_updated.astimezone(UTC),
    )


def parse_state(payload: object, *, what: str) -> EntityState:
    """Parse one HA state dict (``last_updated`` ISO 8601 -> tz-aware UTC).

    Examples
    --------
    >>> parse_state({"entity_id": "sensor.pv", "state": "1500",
    ...              "attributes": {"unit_of_measurement": "W"},
    ...              "last_updated": "2025-04-10T14:00:00.5+02:00"}, what="test").last_updated
    datetime.datetime(2025, 4, 10, 12, 0, 0, 500000, tzinfo=datetime.timezone.utc)
    """
    try:
        return _to_entity_state(_State.model_validate(payload))
    except ValidationError as exc:
        raise UnexpectedReply(what, exc) from None


def parse_states(payload: object, *, what: str) -> list[EntityState]:
    """Parse a JSON list of HA state dicts."""
    try:
        return [_to_entity_state(model) for model in _STATES.validate_python(payload)]
    except ValidationError as exc:
        raise UnexpectedReply(what, exc) from None


def parse_history(payload: object, *, what: str) -> list[list[EntityState]]:
    """Parse ``/api/history/period``: one list of states per entity, oldest first."""
    try:
        return [[_to_entity_state(m) for m in group] for group in _HISTORY.validate_python(payload)]
    except ValidationError as exc:
        raise UnexpectedReply(what, exc) from None


class _Compressed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    s: str
    a: dict[str, Any] = Field(default_factory=dict)
    lc: float
    lu: float | None = None


class _DiffAdd(BaseModel):
    model_config = ConfigDict(extra="ignore")

    s: str | None = None
    a: dict[str, Any] | None = None
    lc: float | None = None
    lu: float | None = None


class _DiffRemove(BaseModel):
    model_config = ConfigDict(extra="ignore")

    a: list[str] = Field(default_factory=list)


class _Diff(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    add: _DiffAdd | None = Field(default=None, alias="+")
    remove: _DiffRemove | None = Field(default=None, alias="-")


class _EntitiesEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    a: dict[str, _Compressed] = Field(default_factory=dict)
    c: dict[str, _Diff] = Field(default_factory=dict)
    r: list[str] = Field(default_factory=list)


@dataclass
class _Mirror:
    state: str
    attributes: dict[str, Any]
    last_updated_s: float

    def to_entity_state(self, entity_id: str) -> EntityState:
        return EntityState(
            entity_id, self.state, self.attributes, _utc_from_epoch_s(self.last_updated_s)
        )


class CompressedStates:
    """The full states behind one ``subscribe_entities`` stream, rebuilt from its diffs.

    Feed every event of the subscription to :meth:`apply`; it returns the full states that
    the event added or changed. A removed entity comes back once as ``unavailable`` with
    no attributes (its device or integration went away), stamped ``removed_at``.
    """

    def __init__(self) -> None:
        self._mirrors: dict[str, _Mirror] = {}

    def clear(self) -> None:
        """Forget every state (before re-subscribing: HA sends them all again)."""
        self._mirrors.clear()

    def apply(self, event: object, *, removed_at: datetime) -> list[EntityState]:
        """Apply one ``{"a"|"c"|"r": ...}`` event; return the states it produced, in order.

        Raises
        ------
        UnexpectedReply
            When the event is not HA's compressed format.
        """
        try:
            parsed = _EntitiesEvent.model_validate(event)
        except ValidationError as exc:
            raise UnexpectedReply("subscribe_entities", exc) from None
        out: list[EntityState] = []
        for entity_id, compressed in parsed.a.items():
            mirror = _Mirror(compressed.s, dict(compressed.a), compressed.lu or compressed.lc)
            self._mirrors[entity_id] = mirror
            out.append(mirror.to_entity_state(entity_id))
        for entity_id, diff in parsed.c.items():
            if (mirror_or_none := self._mirrors.get(entity_id)) is None:
                logger.warning("change of %s before its initial state: ignored", entity_id)
                continue
            _apply_diff(mirror_or_none, diff)
            out.append(mirror_or_none.to_entity_state(entity_id))
        for entity_id in parsed.r:
            self._mirrors.pop(entity_id, None)
            out.append(EntityState(entity_id, STATE_UNAVAILABLE, {}, removed_at.astimezone(UTC)))
        return out


def _apply_diff(mirror: _Mirror, diff: _Diff) -> None:
    """Apply one ``{"+": ..., "-": ...}`` diff as HA's frontend does."""
    if (add := diff.add) is not None:
        if add.s is not None:
            mirror.state = add.s
        if add.a:
            mirror.attributes.update(add.a)
        if add.lc is not None:
            mirror.last_updated_s = add.lc  # state changed: last_updated == last_changed
        elif add.lu is not None:
            mirror.last_updated_s = add.lu
    if diff.remove is not None:
        for key in diff.remove.a:
            mirror.attributes.pop(key, None)


@dataclass(frozen=True)
class StatisticsRow:
    """One period of a long-term statistic, in the unit of its :class:`StatisticSeries`.

    Attributes
    ----------
    start, end : datetime
        The period, tz-aware UTC.
    change : float or None
        Growth of the counter during the period (``sum`` at end minus at start).
    sum : float or None
        Counter total since the statistic began (ignores meter resets).
    state : float or None
        The entity's state at the end of the period.
    mean, min, max : float or None
        For measurements (``state_class: measurement``).
    """

    start: datetime
    end: datetime
    change: float | None = None
    sum: float | None = None
    state: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class StatisticSeries:
    """The rows of one statistic, oldest first, and the unit they are in (``kWh``, ``kW``)."""

    statistic_id: str
    unit: str | None
    rows: tuple[StatisticsRow, ...]


class _StatRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: int
    end: int
    change: float | None = None
    sum: float | None = None
    state: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None


class _StatMeta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    statistic_id: str
    statistics_unit_of_measurement: str | None = None
    display_unit_of_measurement: str | None = None
    unit_class: str | None = None


_STAT_ROWS = TypeAdapter(dict[str, list[_StatRow]])
_STAT_METAS = TypeAdapter(list[_StatMeta])


def _series_unit(meta: _StatMeta, requested_units: dict[str, str]) -> str | None:
    """Return the unit HA converted the rows to (``_get_statistic_to_display_unit_converter``)."""
    if meta.unit_class is None:
        return meta.statistics_unit_of_measurement  # no converter: stored unit
    if meta.unit_class in requested_units:
        return requested_units[meta.unit_class]
    return meta.display_unit_of_measurement


def parse_statistics(
    metadata: object,
    rows: object,
    *,
    statistic_ids: list[str],
    requested_units: dict[str, str],
) -> dict[str, StatisticSeries]:
    """Join ``recorder/get_statistics_metadata`` and ``recorder/statistics_during_period``.

    Raises
    ------
    HouseError
        Naming a statistic id that Home Assistant has no statistics for.
    UnexpectedReply
        When either reply is not HA's shape.
    """
    try:
        metas = {meta.statistic_id: meta for meta in _STAT_METAS.validate_python(metadata)}
    except ValidationError as exc:
        raise UnexpectedReply("recorder/get_statistics_metadata", exc) from None
    try:
        by_id = _STAT_ROWS.validate_python(rows)
    except ValidationError as exc:
        raise UnexpectedReply("recorder/statistics_during_period", exc) from None
    out: dict[str, StatisticSeries] = {}
    for statistic_id in statistic_ids:
        if (meta := metas.get(statistic_id)) is None:
            msg = "Home Assistant keeps no statistics for it (does it have a state_class?)"
            raise HouseError(statistic_id, msg)
        rows_out = tuple(
            StatisticsRow(
                start=_utc_from_epoch_s(row.start / 1000),
                end=_utc_from_epoch_s(row.end / 1000),
                change=row.change,
                sum=row.sum,
                state=row.state,
                mean=row.mean,
                min=row.min,
                max=row.max,
            )
            for row in by_id.get(statistic_id, [])
        )
        out[statistic_id] = StatisticSeries(
            statistic_id, _series_unit(meta, requested_units), rows_out
        )
    return out
