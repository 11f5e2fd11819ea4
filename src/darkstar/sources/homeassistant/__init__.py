"""The Home Assistant adapter: the only code in Darkstar that speaks Home Assistant.

:class:`HomeAssistantHouse` implements :class:`darkstar.house.House` on HA's REST API
(:class:`HomeAssistantRest`: states, history, service calls) and WebSocket API
(:class:`HomeAssistantWebSocket`: subscriptions, long-term statistics, reconnecting on
its own). :func:`resolve_connection` finds the URL and token (config, token file,
environment, add-on Supervisor). Every failure is a :class:`~darkstar.house.HouseError`
that names what to fix (``home_assistant.url``, ``home_assistant.token``, the entity or
the service); configuration mistakes are :class:`~darkstar.errors.InputError`.

:func:`check_home_assistant` checks a config's entities against a live Home Assistant
(``darkstar check-ha``), and :func:`publish_state` shows Darkstar's plan there as
``sensor.darkstar_*`` entities.
"""

from __future__ import annotations

from darkstar.sources.homeassistant.check import (
    COUNTER_HISTORY,
    Problem,
    check_home_assistant,
    configured_entities,
)
from darkstar.sources.homeassistant.config import (
    DEFAULT_TOKEN_ENV,
    SUPERVISOR_TOKEN_ENV,
    SUPERVISOR_URL,
    HomeAssistantConnection,
    resolve_connection,
    resolve_token,
)
from darkstar.sources.homeassistant.house import HomeAssistantHouse
from darkstar.sources.homeassistant.payloads import (
    StatisticSeries,
    StatisticsRow,
    UnexpectedReply,
)
from darkstar.sources.homeassistant.publish import (
    MAX_ATTRIBUTES_BYTES,
    MAX_SERIES_ENTRIES,
    DarkstarSensor,
    PublishSnapshot,
    attributes_size_bytes,
    entity_payloads,
    publish_plan,
    publish_state,
)
from darkstar.sources.homeassistant.rest import HomeAssistantRest
from darkstar.sources.homeassistant.websocket import (
    REQUESTED_UNITS,
    HomeAssistantWebSocket,
    StatisticsPeriod,
    StatisticsType,
)

__all__ = [
    "COUNTER_HISTORY",
    "DEFAULT_TOKEN_ENV",
    "MAX_ATTRIBUTES_BYTES",
    "MAX_SERIES_ENTRIES",
    "REQUESTED_UNITS",
    "SUPERVISOR_TOKEN_ENV",
    "SUPERVISOR_URL",
    "DarkstarSensor",
    "HomeAssistantConnection",
    "HomeAssistantHouse",
    "HomeAssistantRest",
    "HomeAssistantWebSocket",
    "Problem",
    "PublishSnapshot",
    "StatisticSeries",
    "StatisticsPeriod",
    "StatisticsRow",
    "StatisticsType",
    "UnexpectedReply",
    "attributes_size_bytes",
    "check_home_assistant",
    "configured_entities",
    "entity_payloads",
    "publish_plan",
    "publish_state",
    "resolve_connection",
    "resolve_token",
]
