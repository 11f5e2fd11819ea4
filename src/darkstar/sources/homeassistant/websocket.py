"""Home Assistant's WebSocket API: live entity states and long-term statistics.

:class:`HomeAssistantWebSocket` keeps one connection open from an asyncio loop in its
own daemon thread and offers a synchronous API to the rest of Darkstar:

* :meth:`~HomeAssistantWebSocket.subscribe_entities` follows entities with HA's
  ``subscribe_entities`` (compressed diffs, rebuilt into full states by
  :class:`~darkstar.sources.homeassistant.payloads.CompressedStates`);
* :meth:`~HomeAssistantWebSocket.statistics` reads ``recorder/statistics_during_period``
  (hourly or 5-minute counters, energy converted by HA to kWh and power to kW);
* :meth:`~HomeAssistantWebSocket.get_states` reads ``get_states``.

Protocol (Home Assistant 2025.4, ``components/websocket_api/auth.py``, ``commands.py``):
HA sends ``auth_required``; the client answers ``{"type": "auth", "access_token": ...}``;
HA replies ``auth_ok`` or ``auth_invalid`` (then closes). Commands carry an ``id`` that
must increase on a connection; HA answers ``{"id", "type": "result", "success",
"result" | "error": {"code", "message"}}`` and streams subscriptions as
``{"id", "type": "event", "event"}``.

When the connection drops (HA restarts, network), the client reconnects with exponential
backoff (1 s doubling to 30 s, with jitter), authenticates again and re-subscribes every
subscription; :attr:`~HomeAssistantWebSocket.connected` and
:attr:`~HomeAssistantWebSocket.last_error` report where it stands. A refused token
(``auth_invalid``) is final: it would not get better by retrying, and each try raises a
failed-login notification in HA.

Threading: subscription callbacks run **on the WebSocket thread**. They must return
quickly, must not call this client's blocking methods (that raises ``RuntimeError``:
it would wait on the thread it blocks) and their exceptions are logged and dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import logging
import random
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from darkstar.house import HouseError
from darkstar.sources.homeassistant.payloads import (
    SOURCE,
    CompressedStates,
    StatisticSeries,
    UnexpectedReply,
    check_entity_id,
    parse_states,
    parse_statistics,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping, Sequence

    from darkstar.house import EntityState, Unsubscribe
    from darkstar.sources.homeassistant.config import HomeAssistantConnection

__all__ = [
    "REQUESTED_UNITS",
    "HomeAssistantWebSocket",
    "StatisticsPeriod",
    "StatisticsType",
]

logger = logging.getLogger(__name__)

# The websockets library logs every frame at DEBUG, the auth frame with the token
# included: its logger for our connections never goes below INFO.
_FRAME_LOGGER = logging.getLogger(f"{__name__}.frames")
_FRAME_LOGGER.setLevel(logging.INFO)

StatisticsPeriod = Literal["5minute", "hour", "day", "week", "month"]
"""Periods ``recorder/statistics_during_period`` accepts."""

StatisticsType = Literal["change", "sum", "state", "mean", "min", "max"]
"""Columns ``recorder/statistics_during_period`` can return."""

REQUESTED_UNITS: Mapping[str, str] = MappingProxyType(
    {"energy": "kWh", "power": "kW", "temperature": "°C", "voltage": "V", "electric_current": "A"}
)
"""Units HA converts statistics to, per HA unit class (our units, STYLE §C)."""

_MAX_MESSAGE_BYTES = 32 * 2**20
"""Largest message accepted: ``get_states`` of a big home exceeds the 1 MiB default."""

_GRACE_S = 2.0
"""Extra wait for the loop thread beyond the request timeout before giving up on it."""

_T = TypeVar("_T")


class _AuthRefused(Exception):
    """HA answered ``auth_invalid``."""


class _CommandFailed(Exception):
    """HA answered a command with ``success: false``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(eq=False)
class _Subscription:
    entity_ids: frozenset[str]
    callback: Callable[[EntityState], None]
    states: CompressedStates = field(default_factory=CompressedStates)
    ha_id: int | None = None
    awaiting_initial: bool = True
    cancelled: bool = False


def _json_or_text(raw: str | bytes) -> Any:
    """Parse a message; what is not JSON comes back as (shortened) text for the error."""
    try:
        return json.loads(raw)
    except ValueError:
        return str(raw)[:200]


def _utc_iso(name: str, value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{name} must be tz-aware, got {value!r}"
        raise ValueError(msg)
    return value.astimezone(UTC).isoformat()


class HomeAssistantWebSocket:
    """A self-healing connection to HA's WebSocket API, with a synchronous interface.

    The connection starts on first use (or :meth:`start`) and lives until :meth:`close`.
    Every blocking method waits at most the connection's ``timeout_s`` (connecting
    included) and raises :class:`~darkstar.house.HouseError` on failure.

    Parameters
    ----------
    connection : HomeAssistantConnection
        URL, token, timeout and TLS checking.
    backoff_initial_s, backoff_max_s : float
        First and longest wait between reconnection attempts [s].
    """

    def __init__(
        self,
        connection: HomeAssistantConnection,
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ) -> None:
        self._connection = connection
        self._url = connection.websocket_url
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # touched on the loop thread only
        self._main_task: asyncio.Task[None] | None = None
        self._closing = False
        self._ready = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: list[_Subscription] = []
        self._by_ha_id: dict[int, _Subscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # written on the loop thread, read anywhere
        self._connected = False
        self._session_up = False
        self._last_error: str | None = None
        self._refused: str | None = None
        self._ha_version: str | None = None

    # ---- public, any thread -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the connection is open and authenticated right now."""
        return self._connected

    @property
    def last_error(self) -> str | None:
        """The last connection or subscription failure (one line), None once connected."""
        return self._last_error

    @property
    def ha_version(self) -> str | None:
        """Home Assistant's version, as it announced in ``auth_ok``."""
        return self._ha_version

    def start(self) -> None:
        """Start the connection thread (idempotent; every other method calls it)."""
        self._start()

    def wait_connected(self) -> None:
        """Block until connected and authenticated, at most ``timeout_s``.

        Raises
        ------
        HouseError
            ``home_assistant.token`` when the token is refused, ``home_assistant.url``
            when Home Assistant cannot be reached in time (with the last error).
        """
        self._run_sync(self._nothing, "connect")

    def subscribe_entities(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Unsubscribe:
        """Call ``callback`` with the full state of ``entity_ids`` on every change.

        The subscription survives reconnections. ``callback`` first gets each entity's
        current state (on subscribing and again after every reconnect, so nothing missed
        while disconnected stays unseen), then every change. An entity removed from HA
        is delivered once as ``unavailable`` with no attributes. Callbacks run on the
        WebSocket thread (see the module docstring). Returns at once, without waiting
        for HA; failures show in :attr:`last_error` and the log.

        Returns
        -------
        Unsubscribe
            Stops the subscription (idempotent); no callback starts after it returns.
        """
        ids = frozenset(entity_ids)
        if not ids:
            raise HouseError(SOURCE, "subscribe_entities needs at least one entity id")
        for entity_id in ids:
            check_entity_id(entity_id)
        subscription = _Subscription(ids, callback)
        loop = self._start()
        loop.call_soon_threadsafe(self._add_subscription, subscription)

        def unsubscribe() -> None:
            if subscription.cancelled:
                return
            subscription.cancelled = True
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self._remove_subscription, subscription)

        return unsubscribe

    def get_states(self, entity_ids: Sequence[str] | None = None) -> dict[str, EntityState]:
        """Return the current states (``get_states``), all or only ``entity_ids``.

        Raises
        ------
        HouseError
            Naming the first requested entity that HA does not know.
        """

        async def fetch() -> Any:
            return await self._command({"type": "get_states"}, "get_states")

        states = parse_states(self._run_sync(fetch, "get_states"), what="get_states")
        by_id = {state.entity_id: state for state in states}
        if entity_ids is None:
            return by_id
        for entity_id in entity_ids:
            if entity_id not in by_id:
                raise HouseError(entity_id, "no such entity in Home Assistant")
        return {entity_id: by_id[entity_id] for entity_id in entity_ids}

    def statistics(
        self,
        statistic_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        period: StatisticsPeriod = "hour",
        types: Sequence[StatisticsType] = ("change", "sum", "state"),
    ) -> dict[str, StatisticSeries]:
        """Return HA's long-term statistics of ``statistic_ids`` for periods in ``[start, end)``.

        Sends ``recorder/get_statistics_metadata`` (to know each statistic's unit) and
        ``recorder/statistics_during_period`` with :data:`REQUESTED_UNITS`, so energy
        counters come in kWh and power in kW whatever unit the sensor reports.

        Parameters
        ----------
        statistic_ids : Sequence[str]
            Entity ids of sensors with a ``state_class`` (or external ``domain:name`` ids).
        start, end : datetime
            tz-aware; HA returns the periods that start in ``[start, end)``.
        period : {"5minute", "hour", "day", "week", "month"}
            Row length; 5-minute rows are kept about 10 days, hourly ones forever.
        types : sequence of {"change", "sum", "state", "mean", "min", "max"}
            Columns to fill; the others are None.

        Returns
        -------
        dict[str, StatisticSeries]
            Per requested id: the unit and the rows, oldest first (empty when none).

        Raises
        ------
        HouseError
            Naming a statistic HA does not keep; or as :meth:`wait_connected`.
        """
        if period not in get_args(StatisticsPeriod):
            known = ", ".join(get_args(StatisticsPeriod))
            raise HouseError(SOURCE, f"statistics period {period!r} is not one of {known}")
        if not set(types) <= set(get_args(StatisticsType)):
            raise HouseError(SOURCE, f"statistics types {list(types)} are not all known")
        ids = list(dict.fromkeys(statistic_ids))
        if not ids:
            return {}
        units = dict(REQUESTED_UNITS)
        request = {
            "type": "recorder/statistics_during_period",
            "start_time": _utc_iso("start", start),
            "end_time": _utc_iso("end", end),
            "statistic_ids": ids,
            "period": period,
            "types": list(types),
            "units": units,
        }

        async def fetch() -> tuple[Any, Any]:
            metadata = await self._command(
                {"type": "recorder/get_statistics_metadata", "statistic_ids": ids},
                "recorder/get_statistics_metadata",
            )
            rows = await self._command(request, "recorder/statistics_during_period")
            return metadata, rows

        metadata, rows = self._run_sync(fetch, "recorder/statistics_during_period")
        return parse_statistics(metadata, rows, statistic_ids=ids, requested_units=units)

    def close(self) -> None:
        """Close the connection and stop the thread (idempotent).

        From a subscription callback it only asks the thread to stop (it cannot wait for
        itself).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(self._stop)
        if threading.current_thread() is thread:
            return
        thread.join(timeout=self._connection.timeout_s + _GRACE_S)
        if thread.is_alive():
            logger.warning("the Home Assistant WebSocket thread did not stop in time")

    def __enter__(self) -> HomeAssistantWebSocket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- thread plumbing ----------------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise HouseError(SOURCE, "the WebSocket client is closed")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._run, args=(self._loop,), name="darkstar-ha-websocket", daemon=True
                )
                self._thread.start()
            return self._loop

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        """Thread body: run :meth:`_main` until :meth:`close`, then tidy the loop up."""
        asyncio.set_event_loop(loop)
        self._main_task = loop.create_task(self._main())
        try:
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            pass
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _stop(self) -> None:
        self._closing = True
        if self._main_task is not None:
            self._main_task.cancel()

    def _run_sync(self, make: Callable[[], Coroutine[Any, Any, _T]], what: str) -> _T:
        """Run ``make()`` on the loop once connected; all of it within ``timeout_s``."""
        loop = self._start()
        if threading.current_thread() is self._thread:
            msg = f"{what}: blocking call from a subscription callback (the WebSocket thread)"
            raise RuntimeError(msg)
        future = asyncio.run_coroutine_threadsafe(self._bounded(make, what), loop)
        try:
            return future.result(timeout=self._connection.timeout_s + _GRACE_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise self._timeout_error(what) from None

    def _timeout_error(self, what: str) -> HouseError:
        timeout_s = self._connection.timeout_s
        detail = "" if self._connected else f"; not connected: {self._last_error or 'connecting'}"
        msg = f"no answer from {self._url} within {timeout_s:g} s ({what}{detail})"
        return HouseError("home_assistant.url", msg)

    # ---- on the loop thread -------------------------------------------------------------

    async def _nothing(self) -> None:
        return None

    async def _bounded(self, make: Callable[[], Coroutine[Any, Any, _T]], what: str) -> _T:
        try:
            async with asyncio.timeout(self._connection.timeout_s):
                await self._ready.wait()
                if self._refused is not None:
                    raise HouseError("home_assistant.token", self._refused)
                return await make()
        except TimeoutError:
            raise self._timeout_error(what) from None

    async def _main(self) -> None:
        """Connect, serve, and reconnect with backoff until closed or the token is refused."""
        failures = 0
        while not self._closing:
            self._session_up = False
            try:
                await self._session()
                error = HouseError("home_assistant.url", f"{self._url} closed the connection")
            except _AuthRefused as exc:
                self._refuse(str(exc))
                # keep the loop: requests fail at once until close() cancels this
                await asyncio.get_running_loop().create_future()
                return
            except TimeoutError:
                timeout_s = self._connection.timeout_s
                msg = f"no answer from {self._url} within {timeout_s:g} s"
                error = HouseError("home_assistant.url", msg)
            except HouseError as exc:
                error = exc
            except (OSError, WebSocketException) as exc:
                error = HouseError("home_assistant.url", f"cannot reach {self._url}: {exc}")
            except Exception as exc:  # a bug must not end the thread: log it and reconnect
                logger.exception("Home Assistant WebSocket client failed")
                error = HouseError(SOURCE, f"WebSocket client failed: {exc!r}")
            if self._session_up:
                failures = 0  # the session was up: start the backoff over
            message = str(error)
            log = logger.debug if message == self._last_error else logger.warning
            self._last_error = message
            if self._closing:
                return
            delay_s = min(self._backoff_max_s, self._backoff_initial_s * 2.0**failures)
            delay_s *= random.uniform(0.8, 1.0)  # jitter: clients restarted together spread out
            failures += 1
            log("%s; reconnecting in %.1f s", message, delay_s)
            await asyncio.sleep(delay_s)

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self._url.startswith("wss://"):
            return None
        context = ssl.create_default_context()
        if not self._connection.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _session(self) -> None:
        """One connection: open, authenticate, re-subscribe, dispatch until it closes."""
        timeout_s = self._connection.timeout_s
        ws = await connect(
            self._url,
            open_timeout=timeout_s,
            close_timeout=timeout_s,
            max_size=_MAX_MESSAGE_BYTES,
            ssl=self._ssl_context(),
            logger=_FRAME_LOGGER,
        )
        try:
            async with asyncio.timeout(timeout_s):
                await self._authenticate(ws)
            self._ws = ws
            self._session_up = True
            self._connected = True
            self._last_error = None
            subscriptions = list(self._subscriptions)
            self._ready.set()
            logger.info("connected to Home Assistant %s at %s", self._ha_version, self._url)
            for subscription in subscriptions:
                self._spawn(self._subscribe_on_ha(subscription))
            async for raw in ws:
                self._dispatch(raw)
        except ConnectionClosed as exc:
            msg = f"connection to {self._url} lost: {exc}"
            raise HouseError("home_assistant.url", msg) from None
        finally:
            self._end_session()
            await ws.close()

    def _end_session(self) -> None:
        """Forget the connection: fail pending requests, mark subscriptions to resend."""
        self._ws = None
        self._connected = False
        self._ready.clear()
        lost = HouseError("home_assistant.url", f"connection to {self._url} lost")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(lost)
        self._pending.clear()
        self._by_ha_id.clear()
        for subscription in self._subscriptions:
            subscription.ha_id = None

    async def _authenticate(self, ws: ClientConnection) -> None:
        first = _json_or_text(await ws.recv())
        if not isinstance(first, dict) or first.get("type") != "auth_required":
            msg = f"{self._url} is not Home Assistant's WebSocket API (first message {first!r})"
            raise HouseError("home_assistant.url", msg)
        await ws.send(json.dumps({"type": "auth", "access_token": self._connection.token}))
        reply = _json_or_text(await ws.recv())
        kind = reply.get("type") if isinstance(reply, dict) else None
        if kind == "auth_ok":
            self._ha_version = str(reply.get("ha_version"))
            return
        if kind == "auth_invalid":
            raise _AuthRefused(str(reply.get("message", "")))
        raise HouseError("home_assistant.url", f"unexpected answer to auth: {reply!r}")

    def _refuse(self, message: str) -> None:
        """Stop for good after ``auth_invalid``, and wake every waiting request."""
        self._refused = f"Home Assistant refused the token (auth_invalid: {message})"
        self._last_error = f"home_assistant.token: {self._refused}"
        logger.error("%s; not reconnecting (fix the token and restart)", self._last_error)
        self._ready.set()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _command(
        self, payload: Mapping[str, Any], what: str, *, msg_id: int | None = None
    ) -> Any:
        """Send one command and return HA's ``result`` (no timeout of its own)."""
        ws = self._ws
        if ws is None:
            raise HouseError("home_assistant.url", f"not connected to {self._url} ({what})")
        message_id = next(self._ids) if msg_id is None else msg_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await ws.send(json.dumps({"id": message_id, **payload}))
            return await future
        except ConnectionClosed as exc:
            msg = f"connection to {self._url} lost ({what}): {exc}"
            raise HouseError("home_assistant.url", msg) from None
        except _CommandFailed as exc:
            raise HouseError(SOURCE, f"{what} failed ({exc.code}): {exc.message}") from None
        finally:
            self._pending.pop(message_id, None)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            logger.warning("Home Assistant sent a message that is not JSON: ignored")
            return
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                self._handle(item)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, message_id = message.get("type"), message["id"]
        if kind == "event":
            subscription = self._by_ha_id.get(message_id)
            if subscription is not None and not subscription.cancelled:
                self._handle_event(subscription, message.get("event"))
            return
        if kind not in ("result", "pong"):
            return
        future = self._pending.get(message_id)
        if future is None or future.done():
            return
        if kind == "pong" or message.get("success") is True:
            future.set_result(message.get("result"))
            return
        error = message.get("error")
        error = error if isinstance(error, dict) else {}
        future.set_exception(
            _CommandFailed(str(error.get("code", "unknown")), str(error.get("message", "")))
        )

    def _handle_event(self, subscription: _Subscription, event: object) -> None:
        try:
            states = subscription.states.apply(event, removed_at=datetime.now(tz=UTC))
        except UnexpectedReply as exc:
            logger.warning("%s: ignored", exc)
            return
        if subscription.awaiting_initial:
            subscription.awaiting_initial = False
            missing = subscription.entity_ids - {state.entity_id for state in states}
            for entity_id in sorted(missing):
                logger.warning("%s: not in Home Assistant (subscribed anyway)", entity_id)
        for state in states:
            if state.entity_id not in subscription.entity_ids or subscription.cancelled:
                continue
            try:
                subscription.callback(state)
            except Exception:
                logger.exception("state callback for %s failed", state.entity_id)

    def _add_subscription(self, subscription: _Subscription) -> None:
        if subscription.cancelled:
            return
        self._subscriptions.append(subscription)
        if self._ws is not None:
            self._spawn(self._subscribe_on_ha(subscription))

    def _remove_subscription(self, subscription: _Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)
        if (ha_id := subscription.ha_id) is not None:
            subscription.ha_id = None
            self._by_ha_id.pop(ha_id, None)
            if self._ws is not None:
                self._spawn(self._unsubscribe_on_ha(ha_id))

    async def _subscribe_on_ha(self, subscription: _Subscription) -> None:
        if subscription.cancelled or self._ws is None:
            return
        entity_ids = sorted(subscription.entity_ids)
        message_id = next(self._ids)
        subscription.ha_id = message_id
        subscription.awaiting_initial = True
        subscription.states.clear()
        self._by_ha_id[message_id] = subscription
        what = f"subscribe_entities {', '.join(entity_ids)}"
        try:
            async with asyncio.timeout(self._connection.timeout_s):
                await self._command(
                    {"type": "subscribe_entities", "entity_ids": entity_ids},
                    what,
                    msg_id=message_id,
                )
        except TimeoutError:
            error = self._timeout_error(what)
        except HouseError as exc:
            error = exc
        else:
            logger.debug("subscribed to %s", what)
            return
        if self._by_ha_id.get(message_id) is subscription:
            del self._by_ha_id[message_id]
            subscription.ha_id = None
        if self._ws is not None:  # not a lost connection: the next session would resend it
            self._last_error = str(error)
            logger.warning("%s", error)

    async def _unsubscribe_on_ha(self, ha_id: int) -> None:
        what = "unsubscribe_events"
        try:
            async with asyncio.timeout(self._connection.timeout_s):
                await self._command({"type": what, "subscription": ha_id}, what)
        except (TimeoutError, HouseError) as exc:
            logger.debug("%s %d: %s", what, ha_id, exc or "timed out")
