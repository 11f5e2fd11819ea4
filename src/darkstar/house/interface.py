"""The :class:`House` protocol and the Home Assistant-shaped :class:`EntityState`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from darkstar.errors import AdapterError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "STATE_UNAVAILABLE",
    "STATE_UNKNOWN",
    "EntityState",
    "House",
    "HouseError",
    "Unsubscribe",
]

STATE_UNAVAILABLE = "unavailable"
"""The state of an entity whose device or integration cannot be reached."""

STATE_UNKNOWN = "unknown"
"""The state of an entity that has no value yet."""

Unsubscribe = Callable[[], None]
"""Stops a subscription (idempotent)."""


@dataclass(frozen=True)
class EntityState:
    """One entity's state, shaped like a Home Assistant state object.

    Attributes
    ----------
    entity_id : str
        ``<domain>.<object_id>``.
    state : str
        Always a string, as HA reports it (``"52.3"``, ``"on"``, ``"unavailable"``).
    attributes : Mapping[str, Any]
        Read-only attributes (``unit_of_measurement``, ``device_class``, ``min``, ...).
    last_updated : datetime
        When the state was last written, tz-aware UTC.
    """

    entity_id: str
    state: str
    attributes: Mapping[str, Any]
    last_updated: datetime

    def __post_init__(self) -> None:
        if self.last_updated.utcoffset() != timedelta(0):
            msg = f"EntityState.last_updated of {self.entity_id} must be tz-aware UTC"
            raise ValueError(msg)
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


class HouseError(AdapterError):
    """The house could not answer or refused a call; names the entity or service."""


@runtime_checkable
class House(Protocol):
    """What the agent needs from a home (Home Assistant or the simulated home).

    Every method may raise :class:`HouseError` (unreachable, unknown entity, refused
    service); none blocks longer than the backend's timeout.
    """

    @property
    def now(self) -> datetime:
        """The house's clock, tz-aware UTC (wall time, or simulated time)."""
        ...

    def get_state(self, entity_id: str) -> EntityState:
        """Return one entity's current state."""
        ...

    def get_states(self, entity_ids: Sequence[str]) -> dict[str, EntityState]:
        """Return the current states of ``entity_ids``, keyed by id (all of them, or raise)."""
        ...

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        """Call ``domain.service`` with ``data`` (``entity_id`` and the service's fields)."""
        ...

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Return the recorded states of each entity in ``[start, end]``, oldest first."""
        ...

    def subscribe(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Unsubscribe:
        """Call ``callback`` on every state change of ``entity_ids``; return an unsubscribe."""
        ...
