"""Home Assistant's REST API: states, history and service calls, synchronously.

Every call has the connection's timeout. Failures become one
:class:`~darkstar.house.HouseError` line that names what to fix:

* ``home_assistant.url: cannot reach <url>: <reason>`` (refused, DNS, TLS) and
  ``home_assistant.url: no answer from <url> within <t> s (<request>)``;
* ``home_assistant.token: Home Assistant refused the token (401)``;
* ``<entity_id>: no such entity in Home Assistant (404)``;
* ``<domain>.<service>: Home Assistant refused the call (400): <HA's message>``;
* ``<entity_id>: Home Assistant refused the state (400): <HA's message>`` (a state write).

Endpoints and reply shapes: ``homeassistant/components/api/__init__.py`` and
``components/history/__init__.py`` (Home Assistant 2025.4).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx2 as httpx

from darkstar.house import HouseError
from darkstar.sources.homeassistant.payloads import (
    SOURCE,
    UnexpectedReply,
    check_entity_id,
    parse_history,
    parse_state,
    parse_states,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from darkstar.house import EntityState
    from darkstar.sources.homeassistant.config import HomeAssistantConnection

__all__ = ["HomeAssistantRest"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9_]+$")
_MAX_MESSAGE_CHARS = 300
_MAX_STATE_CHARS = 255
"""Longest state Home Assistant accepts (``const.py`` ``MAX_LENGTH_STATE_STATE``)."""
_BARE_REASONS = {
    400: "unknown service, or data the service does not accept (e.g. a value out of range)",
    500: "the service failed; Home Assistant's log has the reason",
}
"""What a service call's bare aiohttp error page means (``api/__init__.py``)."""


def _reply_message(response: httpx.Response) -> str:
    """Return HA's error text: ``{"message": ...}`` from its views, else the body text.

    aiohttp's own errors (``raise HTTPBadRequest``) carry only ``"400: Bad Request"``.
    """
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(message := payload.get("message"), str):
        return message[:_MAX_MESSAGE_CHARS]
    text = " ".join(response.text.split())
    return text[:_MAX_MESSAGE_CHARS] or response.reason_phrase


def _check_utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{name} must be tz-aware, got {value!r}"
        raise ValueError(msg)
    return value.astimezone(UTC)


class HomeAssistantRest:
    """A synchronous client of Home Assistant's REST API (thread-safe).

    Parameters
    ----------
    connection : HomeAssistantConnection
        URL, token, timeout and TLS checking.

    Examples
    --------
    >>> from darkstar.sources.homeassistant import HomeAssistantConnection
    >>> with HomeAssistantRest(HomeAssistantConnection("http://127.0.0.1:1", "t")) as rest:
    ...     rest.check_api()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    darkstar.house.interface.HouseError: home_assistant.url: cannot reach http://127.0.0.1:1: ...
    """

    def __init__(self, connection: HomeAssistantConnection) -> None:
        self._connection = connection
        self._client = httpx.Client(
            base_url=connection.url,
            headers={"Authorization": f"Bearer {connection.token}"},
            timeout=httpx.Timeout(connection.timeout_s),
            verify=connection.verify_tls,
            follow_redirects=False,
        )

    def __enter__(self) -> HomeAssistantRest:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one request; map transport failures, 401 and 403 to one clear error."""
        url = self._connection.url
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.TimeoutException:
            timeout_s = self._connection.timeout_s
            msg = f"no answer from {url} within {timeout_s:g} s ({method} {path})"
            raise HouseError("home_assistant.url", msg) from None
        except httpx.TransportError as exc:
            raise HouseError("home_assistant.url", f"cannot reach {url}: {exc}") from None
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise HouseError("home_assistant.token", "Home Assistant refused the token (401)")
        if response.status_code == httpx.codes.FORBIDDEN:
            msg = f"Home Assistant denied access (403): {_reply_message(response)}"
            raise HouseError("home_assistant.token", msg)
        return response

    def _json(self, response: httpx.Response, what: str) -> Any:
        """Return the JSON body of a 200 reply; any other status is an error naming ``what``."""
        if response.status_code != httpx.codes.OK:
            msg = f"{what} answered {response.status_code}: {_reply_message(response)}"
            raise HouseError(SOURCE, msg)
        try:
            return response.json()
        except ValueError:
            raise UnexpectedReply(what, "not JSON") from None

    def check_api(self) -> None:
        """Check that Home Assistant answers and accepts the token (``GET /api/``).

        Raises
        ------
        HouseError
            ``home_assistant.url`` when unreachable, ``home_assistant.token`` on 401.
        """
        payload = self._json(self._request("GET", "/api/"), "GET /api/")
        logger.debug("Home Assistant API at %s: %s", self._connection.url, payload)

    def location(self) -> tuple[float, float, float, str]:
        """Return HA's home: latitude, longitude [deg], elevation [m], time zone (IANA).

        ``GET /api/config`` (``homeassistant/core_config.py`` ``Config.as_dict``).

        Raises
        ------
        HouseError
            Unreachable, refused, or a reply without these fields.
        """
        what = "GET /api/config"
        payload = self._json(self._request("GET", "/api/config"), what)
        try:
            return (
                float(payload["latitude"]),
                float(payload["longitude"]),
                float(payload.get("elevation") or 0.0),
                str(payload["time_zone"]),
            )
        except (KeyError, TypeError, ValueError):
            raise UnexpectedReply(what, "no latitude, longitude or time_zone") from None

    def get_state(self, entity_id: str) -> EntityState:
        """Return one entity's state (``GET /api/states/<entity_id>``).

        Raises
        ------
        HouseError
            Naming the entity when HA does not know it (404).
        """
        check_entity_id(entity_id)
        path = f"/api/states/{entity_id}"
        response = self._request("GET", path)
        if response.status_code == httpx.codes.NOT_FOUND:
            raise HouseError(entity_id, "no such entity in Home Assistant (404)")
        return parse_state(self._json(response, f"GET {path}"), what=f"GET {path}")

    def get_states(self, entity_ids: Sequence[str]) -> dict[str, EntityState]:
        """Return the states of ``entity_ids`` (one ``GET /api/states``).

        Raises
        ------
        HouseError
            Naming the first requested entity that HA does not know.
        """
        for entity_id in entity_ids:
            check_entity_id(entity_id)
        if not entity_ids:
            return {}
        what = "GET /api/states"
        states = parse_states(self._json(self._request("GET", "/api/states"), what), what=what)
        wanted = set(entity_ids)
        found = {state.entity_id: state for state in states if state.entity_id in wanted}
        for entity_id in entity_ids:
            if entity_id not in found:
                raise HouseError(entity_id, "no such entity in Home Assistant")
        return {entity_id: found[entity_id] for entity_id in entity_ids}

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        """Call ``domain.service`` with ``data`` (``POST /api/services/<domain>/<service>``).

        Raises
        ------
        HouseError
            Naming ``domain.service``: refused (400: unknown service, invalid data, a value
            out of range; with HA's message when it gives one) or failed (500: HA's log
            has the reason).
        """
        name = f"{domain}.{service}"
        if not (_NAME.match(domain) and _NAME.match(service)):
            raise HouseError(name, "not a valid service name (domain.service)")
        response = self._request("POST", f"/api/services/{domain}/{service}", json=dict(data))
        status = response.status_code
        if status == httpx.codes.OK:
            logger.debug("called %s", name)
            return
        message = _reply_message(response)
        if message == f"{status}: {response.reason_phrase}":  # aiohttp's bare error page
            message = _BARE_REASONS.get(status, message)
        if status == httpx.codes.BAD_REQUEST:
            msg = f"Home Assistant refused the call (400): {message}"
        elif status >= httpx.codes.INTERNAL_SERVER_ERROR:
            msg = f"Home Assistant failed the call ({status}): {message}"
        else:
            msg = f"Home Assistant answered {status}: {message}"
        raise HouseError(name, msg)

    def set_state(self, entity_id: str, state: str, attributes: Mapping[str, Any]) -> None:
        """Create or overwrite an entity's state (``POST /api/states/<entity_id>``).

        The entity exists only in Home Assistant's state machine (no integration owns it):
        it is gone after a restart until written again, as EMHASS's published sensors are.

        Parameters
        ----------
        entity_id : str
            ``<domain>.<object_id>``, e.g. ``sensor.darkstar_plan_status``.
        state : str
            The new state, at most 255 characters.
        attributes : Mapping[str, Any]
            JSON-serialisable attributes; they replace the old ones entirely.

        Raises
        ------
        HouseError
            Naming the entity when Home Assistant refuses the state (400, with its message)
            or answers anything but 200/201; ``home_assistant.url``/``home_assistant.token``
            as every call.
        """
        check_entity_id(entity_id)
        if len(state) > _MAX_STATE_CHARS:
            msg = f"state has {len(state)} characters; Home Assistant takes {_MAX_STATE_CHARS}"
            raise HouseError(entity_id, msg)
        body = {"state": state, "attributes": dict(attributes)}
        response = self._request("POST", f"/api/states/{entity_id}", json=body)
        status = response.status_code
        if status in (httpx.codes.OK, httpx.codes.CREATED):
            logger.debug("wrote %s = %s", entity_id, state)
            return
        message = _reply_message(response)
        if status == httpx.codes.BAD_REQUEST:
            raise HouseError(entity_id, f"Home Assistant refused the state (400): {message}")
        raise HouseError(entity_id, f"Home Assistant answered {status}: {message}")

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        """Return the recorded states of each entity in ``[start, end]``, oldest first.

        ``GET /api/history/period/<start>?filter_entity_id=...&end_time=...`` with every
        change (``significant_changes_only=0``) and attributes kept, so units are known.
        HA starts each list with the state in effect at ``start``, stamped ``start``. An
        entity without records in the window gets an empty list.
        """
        for entity_id in entity_ids:
            check_entity_id(entity_id)
        start_utc = _check_utc("start", start)
        end_utc = _check_utc("end", end)
        if not entity_ids or end_utc <= start_utc:
            return {entity_id: [] for entity_id in entity_ids}
        path = "/api/history/period/" + quote(start_utc.isoformat(), safe="")
        params = {
            "filter_entity_id": ",".join(entity_ids),
            "end_time": end_utc.isoformat(),
            "significant_changes_only": "0",
        }
        what = "GET /api/history/period"
        groups = parse_history(
            self._json(self._request("GET", path, params=params), what), what=what
        )
        out: dict[str, list[EntityState]] = {entity_id: [] for entity_id in entity_ids}
        for group in groups:
            for state in group:
                if state.entity_id in out:
                    out[state.entity_id].append(state)
        for states in out.values():
            states.sort(key=lambda state: state.last_updated)
        return out
