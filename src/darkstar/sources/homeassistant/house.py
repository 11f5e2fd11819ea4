"""The house interface on Home Assistant: REST for reads and writes, WebSocket for live data.

:class:`HomeAssistantHouse` is the :class:`darkstar.house.House` the service uses against
a real home. Reads, history and service calls go over REST (stateless, one request each);
subscriptions and long-term statistics go over one WebSocket connection that is opened
on first use and re-established after Home Assistant restarts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from darkstar.sources.homeassistant.rest import HomeAssistantRest
from darkstar.sources.homeassistant.websocket import HomeAssistantWebSocket

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from darkstar.house import EntityState, Unsubscribe
    from darkstar.sources.homeassistant.config import HomeAssistantConnection
    from darkstar.sources.homeassistant.payloads import StatisticSeries
    from darkstar.sources.homeassistant.websocket import StatisticsPeriod, StatisticsType

__all__ = ["HomeAssistantHouse"]

logger = logging.getLogger(__name__)


class HomeAssistantHouse:
    """A :class:`darkstar.house.House` backed by one Home Assistant instance.

    Every method raises :class:`~darkstar.house.HouseError` on failure and returns within
    the connection's ``timeout_s``. Thread-safe. Subscription callbacks run on the
    WebSocket thread (see :mod:`darkstar.sources.homeassistant.websocket`).

    Parameters
    ----------
    connection : HomeAssistantConnection
        URL, token, timeout and TLS checking.
    backoff_initial_s, backoff_max_s : float
        WebSocket reconnection backoff [s].
    """

    def __init__(
        self,
        connection: HomeAssistantConnection,
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self._rest = HomeAssistantRest(connection)
        self._websocket = HomeAssistantWebSocket(
            connection, backoff_initial_s=backoff_initial_s, backoff_max_s=backoff_max_s
        )

    @property
    def rest(self) -> HomeAssistantRest:
        """The REST client."""
        return self._rest

    @property
    def websocket(self) -> HomeAssistantWebSocket:
        """The WebSocket client (``connected``, ``last_error``)."""
        return self._websocket

    def check(self) -> None:
        """Check that Home Assistant answers and accepts the token (one clear error if not)."""
        self._rest.check_api()

    @property
    def now(self) -> datetime:
        """The wall clock, tz-aware UTC."""
        return datetime.now(tz=UTC)

    def get_state(self, entity_id: str) -> EntityState:
        """Return one entity's current state (REST)."""
        return self._rest.get_state(entity_id)

    def get_states(self, entity_ids: Sequence[str]) -> dict[str, EntityState]:
        """Return the current states of ``entity_ids`` (REST; all of them, or raise)."""
        return self._rest.get_states(entity_ids)

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        """Call ``domain.service`` with ``data`` (REST)."""
        self._rest.call_service(domain, service, data)

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Return the recorded states of each entity in ``[start, end]``, oldest first (REST)."""
        return self._rest.history(entity_ids, start=start, end=end)

    def subscribe(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Unsubscribe:
        """Call ``callback`` with the current state, then on every change (WebSocket thread)."""
        return self._websocket.subscribe_entities(entity_ids, callback)

    def statistics(
        self,
        statistic_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        period: StatisticsPeriod = "hour",
        types: Sequence[StatisticsType] = ("change", "sum", "state"),
    ) -> dict[str, StatisticSeries]:
        """Return long-term statistics (energy in kWh, power in kW) over the WebSocket."""
        return self._websocket.statistics(
            statistic_ids, start=start, end=end, period=period, types=types
        )

    def close(self) -> None:
        """Close both connections (idempotent)."""
        self._websocket.close()
        self._rest.close()

    def __enter__(self) -> HomeAssistantHouse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
