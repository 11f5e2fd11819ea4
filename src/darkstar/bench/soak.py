"""Soak benchmark: days of the simulated home at high speed under the UI's load.

:func:`run_soak` starts the real ``darkstar serve`` in a child process
(:func:`~darkstar.web.process.running_server`, a throw-away data folder unless one is
given) at ``speed`` after a ``warmup_hours`` warm-up, then:

* opens ``ws_clients`` WebSocket clients on ``/api/v1/live`` (auth message first, as the UI
  does) that stay connected the whole run and count every event they receive;
* starts ``pollers`` UI pollers, each asking for every path of :data:`UI_REQUESTS` at the
  UI's own interval divided by ``poll_scale``, on keep-alive connections (the minimal
  client of :mod:`darkstar.bench.http_client`), recording each request's latency and time;
* samples the server's resident memory (``VmRSS``), its open file descriptors and threads,
  and the machine's load every :data:`SAMPLE_INTERVAL_S`;
* reads the simulated time from ``/api/v1/health`` (``sim_time``) every
  :data:`CLOCK_INTERVAL_S`, as a health checker would, and stops after ``days`` simulated
  days;
* reads ``/api/v1/logs?level=WARNING`` and the plans' solve times (``/strategy/log``) at
  the end and, once the server has stopped, its console log (``server.log``) for WARNING
  and ERROR lines.

:mod:`darkstar.bench.soak_report` turns the samples into the result and the verdict (the
start, the windows and the bars are defined there).

**Speed.** The agent loop pauses ``900 / speed`` s after each 15-minute step, so the
simulated home runs at ``900 / (step time + 900 / speed)``. With no pause (``--speed
inf``) the loop steps back to back and holds the runtime lock nearly all the time; the
readers then queue behind it and the latencies measure lock contention, not the service.
:data:`SOAK_SPEED` (900) leaves the loop a 1 s pause after each step (0.1-0.15 s), gives
the hourly solve about 7 % of the wall clock on average (about a quarter at 3600x), and
gives each simulated day about 1,400 requests (``docs/soak.md`` has both speeds' runs).

**UI load.** :data:`UI_REQUESTS` is what the pages of ``frontend/src`` ask for, at their
intervals: with the live socket up the Dashboard reloads the history on each status event
(at most every 5 s) and the Executor page its table (at most every 3 s); at the soak's
speed status events come faster than that, so those are polls at the throttle interval. The
15 s polls are the Dashboard's fallback while the socket is down; the Debug page refreshes
its log every 5 s; the Aurora bridge polls ``/aurora`` every 5 s during a training; the
pages' one-off reads are taken once a minute (a user switching pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from darkstar.bench.http_client import HOST, ProtocolError, close_writer, get_request, read_response
from darkstar.bench.procfs import (
    load_average,
    machine_busy_s,
    open_fd_count,
    process_cpu_s,
    process_rss_kib,
    process_threads,
)
from darkstar.bench.soak_report import SoakRecord, SoakResult, WsClientRecord, summarise_soak
from darkstar.errors import DarkstarError, InputError
from darkstar.web.process import HEALTH_PATH, running_server

if TYPE_CHECKING:
    from darkstar.web.process import ServerProcess

__all__ = [
    "CLOCK_INTERVAL_S",
    "SAMPLE_INTERVAL_S",
    "SOAK_POLLERS",
    "SOAK_POLL_SCALE",
    "SOAK_SPEED",
    "SOAK_WARMUP_HOURS",
    "UI_REQUESTS",
    "UiRequest",
    "run_soak",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class UiRequest:
    """A ``GET`` the UI sends: its path, how often [s] and which code sends it."""

    path: str
    interval_s: float
    source: str


UI_REQUESTS: Final = (
    UiRequest(path="/api/v1/status", interval_s=15.0, source="Dashboard.tsx POLL_MS"),
    UiRequest(path="/api/v1/schedule", interval_s=15.0, source="Dashboard.tsx POLL_MS"),
    UiRequest(
        path="/api/v1/schedule/history?hours=24",
        interval_s=5.0,
        source="Dashboard.tsx: each status event, at most every 5 s",
    ),
    UiRequest(
        path="/api/v1/executor?limit=96",
        interval_s=3.0,
        source="Executor.tsx: each status event, at most every 3 s",
    ),
    UiRequest(
        path="/api/v1/logs?level=INFO&limit=200", interval_s=5.0, source="Debug.tsx auto-refresh"
    ),
    UiRequest(path="/api/v1/aurora", interval_s=5.0, source="AuroraBridge.tsx TRAINING_POLL_MS"),
    UiRequest(path="/api/v1/strategy/log?limit=50", interval_s=60.0, source="Aurora.tsx open"),
    UiRequest(path="/api/v1/performance?hours=48", interval_s=60.0, source="Aurora.tsx open"),
    UiRequest(path="/api/v1/planning/blocks", interval_s=60.0, source="Planning.tsx open"),
    UiRequest(path="/api/v1/config", interval_s=60.0, source="Settings.tsx open"),
    UiRequest(path="/api/v1/planner/debug", interval_s=60.0, source="Debug.tsx open"),
)
"""What one UI poller asks for (every page open at once, the socket's events fast)."""

SOAK_SPEED: Final = 900.0
"""Default ``--speed`` of the soaked server: one 15-minute slot per real second.

At 3600x the plan solves (0.3-1 s an hour of house time) held a core about a quarter of
the time and each day's latency window had ~450 requests; see ``docs/soak.md``.
"""

SOAK_POLL_SCALE: Final = 1.0
"""Default divisor of the UI's intervals (1: the UI's own; more pollers add load instead)."""

SOAK_POLLERS: Final = 10
"""Default UI pollers: ten browsers with every page open, beside the 20 sockets."""

SOAK_WARMUP_HOURS: Final = 504.0
"""Default warm-up: 21 simulated days, so every bounded history is full before the start [h].

The runtime keeps 2000 executor ticks (20.8 days of slots) and 15 days of projections, the
simulated home 14 days of sensor history, ``/aurora`` a 7-day error window. Starting with
less, those fill during the soak and read as growth (memory, and latency of the reads
that walk them); a real home has them full after its first three weeks.
"""

CLOCK_INTERVAL_S: Final = 0.5
"""How often ``/api/v1/health`` is asked for the simulated time [s]."""

SAMPLE_INTERVAL_S: Final = 1.0
"""How often the server's memory, open files and threads and the machine's load are sampled [s]."""

_DAY_S: Final = 86_400.0
_OPEN_PAGES_S: Final = 5.0  # the pollers open their pages (first requests) within 5 s
_READ_TIMEOUT_S: Final = 10.0
_CONNECT_TIMEOUT_S: Final = 30.0
_RECONNECT_PAUSE_S: Final = 0.5
_LIVE_PATH: Final = "/api/v1/live"
_API_LOG_PATH: Final = "/api/v1/logs?level=WARNING&limit=2000"
_STRATEGY_PATH: Final = "/api/v1/strategy/log?limit=500"  # its plans' solve times


class _KeepAlive:
    """One keep-alive connection to the server, opened again after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect unless connected."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(HOST, self.port)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request``; return the status and body (closes the connection on failure).

        A kept-alive connection the server closed while idle (uvicorn after 5 s) is opened
        again and the request sent once more, as browsers do; a fresh one is not retried.
        """
        reused = self._writer is not None
        try:
            return await self._send(request)
        except (EOFError, ConnectionError):
            if not reused:
                raise
        return await self._send(request)

    async def _send(self, request: bytes) -> tuple[int, bytes]:
        await self.open()
        assert self._reader is not None  # noqa: S101 - opened above
        assert self._writer is not None  # noqa: S101
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                self._writer.write(request)
                status, body, close = await read_response(self._reader)
        except BaseException:
            await self.close()
            raise
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        """Close the connection if open."""
        if self._writer is not None:
            writer, self._writer, self._reader = self._writer, None, None
            await close_writer(writer)


# what a failed request raises (IncompleteReadError is an EOFError, LimitOverrun a ValueError)
_FAILED = (OSError, TimeoutError, EOFError, ValueError, ProtocolError)


@dataclass(kw_only=True)
class _WsTally:
    messages: int = 0
    status_sim_s: list[float] = field(default_factory=list)
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class _Tally:
    """Everything the run records (one event loop: no locking needed)."""

    paths: tuple[str, ...]
    polled: int  # (poller, path) pairs that must answer once before the start
    request_wall_s: list[float] = field(default_factory=list)
    request_latency_s: list[float] = field(default_factory=list)
    request_path_index: list[int] = field(default_factory=list)
    request_errors: list[str] = field(default_factory=list)
    answered: set[tuple[int, int]] = field(default_factory=set)
    all_paths_wall_s: float | None = None
    clock_wall_s: list[float] = field(default_factory=list)
    clock_sim_s: list[float] = field(default_factory=list)
    rss_wall_s: list[float] = field(default_factory=list)
    rss_kib: list[float] = field(default_factory=list)
    load1: list[float] = field(default_factory=list)
    open_fds: list[float] = field(default_factory=list)
    threads: list[float] = field(default_factory=list)
    ws: list[_WsTally] = field(default_factory=list)
    ws_ready: asyncio.Event = field(default_factory=asyncio.Event)
    load_start_wall_s: float = 0.0
    timed_out: bool = False

    def record(self, *, index: int, started: float, finished: float, status: int) -> None:
        """Keep one answered request (a status other than 200 is a failed request)."""
        if status != 200:
            self.request_errors.append(f"{self.paths[index]}: HTTP {status}")
            return
        self.request_wall_s.append(started)
        self.request_latency_s.append(finished - started)
        self.request_path_index.append(index)


def _check_args(
    *,
    days: float,
    speed: float,
    ws_clients: int,
    pollers: int,
    poll_scale: float,
    warmup_hours: float,
    settle_hours: float,
) -> None:
    """Raise :class:`InputError` naming the first bad argument."""
    checks = (
        ("days", days > 0, f"must be > 0, got {days}"),
        ("speed", speed > 0, f"must be > 0, got {speed}"),
        ("ws_clients", ws_clients >= 1, f"must be >= 1, got {ws_clients}"),
        ("pollers", pollers >= 0, f"must be >= 0, got {pollers}"),
        ("poll_scale", poll_scale > 0, f"must be > 0, got {poll_scale}"),
        ("warmup_hours", warmup_hours >= 0, f"must be >= 0, got {warmup_hours}"),
        (
            "settle_hours",
            0 <= settle_hours < 12.0 * days,
            f"must be >= 0 and under half the run, got {settle_hours}",
        ),
    )
    for name, ok, message in checks:
        if not ok:  # a NaN fails every comparison, so it lands here too
            raise InputError(name, message)


async def _ws_client(*, port: int, token: str, tally: _Tally, mine: _WsTally) -> None:
    """Stay connected to ``/live`` until cancelled; count events; reconnect if dropped."""
    connected_once = False
    while True:
        try:
            async with connect(
                f"ws://{HOST}:{port}{_LIVE_PATH}",
                ping_interval=None,  # a browser sends no pings either
                open_timeout=_CONNECT_TIMEOUT_S,
            ) as socket:
                await socket.send(json.dumps({"type": "auth", "token": token}))
                reply = json.loads(await socket.recv())
                if not (reply.get("type") == "auth" and reply.get("data", {}).get("ok")):
                    mine.errors.append(f"auth refused: {reply}")
                    return
                if connected_once:
                    mine.reconnects += 1
                connected_once = True
                async for text in socket:
                    message = json.loads(text)
                    mine.messages += 1
                    if message.get("type") == "status":
                        now = datetime.fromisoformat(message["data"]["now"])
                        mine.status_sim_s.append(now.timestamp())
                        if len(mine.status_sim_s) == 1:
                            _maybe_ready(tally)
                mine.errors.append("server closed the socket")
        except (*_FAILED, WebSocketException) as exc:
            mine.errors.append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(_RECONNECT_PAUSE_S)


def _maybe_ready(tally: _Tally) -> None:
    """Set ``ws_ready`` once every client has received its first status event."""
    if all(w.status_sim_s for w in tally.ws):
        tally.ws_ready.set()


async def _poller(
    *,
    port: int,
    index: int,
    poller: int,
    interval_s: float,
    first_s: float,
    offset_s: float,
    tally: _Tally,
) -> None:
    """Ask for ``tally.paths[index]`` until cancelled, on its own keep-alive connection.

    First after ``first_s`` (the page opens), again ``offset_s`` later, then every
    ``interval_s`` (fixed rate). The random offset keeps the pollers' timers apart, as
    browsers opened at different moments are; in step, ten pollers would queue ten reads
    on the runtime lock at once.
    """
    loop = asyncio.get_running_loop()
    connection = _KeepAlive(port)
    request = get_request(tally.paths[index], port=port)
    next_at, gap_s = loop.time() + first_s, offset_s
    try:
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at, gap_s = max(next_at + gap_s, loop.time()), interval_s
            try:
                await connection.open()
                started = loop.time()
                status, _ = await connection.get(request)
            except _FAILED as exc:
                tally.request_errors.append(f"{tally.paths[index]}: {type(exc).__name__}: {exc}")
                continue
            tally.record(index=index, started=started, finished=loop.time(), status=status)
            tally.answered.add((poller, index))
            if tally.all_paths_wall_s is None and len(tally.answered) == tally.polled:
                tally.all_paths_wall_s = loop.time()
    finally:
        await connection.close()


def _sim_s(body: bytes) -> float:
    """Return ``sim_time`` of a ``/health`` answer as POSIX seconds."""
    sim_time = json.loads(body).get("sim_time")
    if not isinstance(sim_time, str):
        msg = f"{HEALTH_PATH} has no sim_time: the soak needs the simulated home"
        raise DarkstarError(msg)
    return datetime.fromisoformat(sim_time).timestamp()


async def _clock(*, port: int, days: float, max_wall_s: float, tally: _Tally) -> None:
    """Read the simulated time from ``/health`` until ``days`` have passed (or time is up)."""
    loop = asyncio.get_running_loop()
    connection = _KeepAlive(port)
    request = get_request(HEALTH_PATH, port=port)
    index = tally.paths.index(HEALTH_PATH)
    deadline = loop.time() + max_wall_s
    end_s = None
    try:
        while True:
            try:
                await connection.open()
                started = loop.time()
                status, body = await connection.get(request)
            except _FAILED as exc:
                tally.request_errors.append(f"{HEALTH_PATH}: {type(exc).__name__}: {exc}")
                status, body = 0, b""
            finished = loop.time()
            if status == 200:
                tally.record(index=index, started=started, finished=finished, status=status)
                sim_s = _sim_s(body)
                tally.clock_wall_s.append(finished)
                tally.clock_sim_s.append(sim_s)
                end_s = sim_s + days * _DAY_S if end_s is None else end_s
                if sim_s >= end_s:
                    return
            elif status:
                tally.record(index=index, started=started, finished=finished, status=status)
            if finished > deadline:
                tally.timed_out = True
                logger.warning(
                    "soak: stopped after %.0f s, before %g simulated days", max_wall_s, days
                )
                return
            await asyncio.sleep(CLOCK_INTERVAL_S)
    finally:
        await connection.close()


async def _sampler(*, pid: int, tally: _Tally) -> None:
    """Sample the server's RSS, open files and threads, and the machine's load, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        rss_kib, fds, threads = process_rss_kib(pid), open_fd_count(pid), process_threads(pid)
        load1 = load_average()
        if rss_kib is not None:
            tally.rss_wall_s.append(loop.time())
            tally.rss_kib.append(float(rss_kib))
            tally.open_fds.append(np.nan if fds is None else float(fds))
            tally.threads.append(np.nan if threads is None else float(threads))
            tally.load1.append(np.nan if load1 is None else load1)
        await asyncio.sleep(SAMPLE_INTERVAL_S)


@dataclass(frozen=True, kw_only=True)
class _Ending:
    """What is read once at the end: the in-memory log and the plans' solve times."""

    api_log: tuple[str, ...]
    plan_sim_s: tuple[float, ...] = ()
    plan_solve_ms: tuple[float, ...] = ()


async def _read_end(port: int) -> _Ending:
    """Read ``/logs?level=WARNING`` (as ``"LEVEL logger: message"``) and ``/strategy/log``."""
    connection = _KeepAlive(port)
    bodies: dict[str, bytes] = {}
    problems: list[str] = []
    try:
        for path in (_API_LOG_PATH, _STRATEGY_PATH):
            try:
                status, body = await connection.get(get_request(path, port=port))
            except _FAILED as exc:
                problems.append(f"ERROR soak: {path} failed: {type(exc).__name__}: {exc}")
                continue
            if status == 200:
                bodies[path] = body
            else:
                problems.append(f"ERROR soak: {path} answered HTTP {status}")
    finally:
        await connection.close()
    records = json.loads(bodies.get(_API_LOG_PATH, b"{}")).get("records", [])
    plans = [
        e
        for e in json.loads(bodies.get(_STRATEGY_PATH, b"{}")).get("entries", [])
        if e.get("kind") == "plan" and e.get("values", {}).get("solve_time_ms") is not None
    ][::-1]  # oldest first
    return _Ending(
        api_log=(*problems, *(f"{r['level']} {r['logger']}: {r['message']}" for r in records)),
        plan_sim_s=tuple(datetime.fromisoformat(e["at"]).timestamp() for e in plans),
        plan_solve_ms=tuple(float(e["values"]["solve_time_ms"]) for e in plans),
    )


@dataclass(frozen=True, kw_only=True)
class _Cpu:
    server_s: float | None
    bench_s: float
    machine_s: float | None


def _cpu_now(pid: int) -> _Cpu:
    return _Cpu(
        server_s=process_cpu_s(pid), bench_s=time.process_time(), machine_s=machine_busy_s()
    )


def _cpu_delta(start: _Cpu, end: _Cpu) -> _Cpu:
    server = (
        None if start.server_s is None or end.server_s is None else end.server_s - start.server_s
    )
    machine = (
        None
        if start.machine_s is None or end.machine_s is None
        else end.machine_s - start.machine_s
    )
    return _Cpu(server_s=server, bench_s=end.bench_s - start.bench_s, machine_s=machine)


async def _load(
    server: ServerProcess,
    *,
    days: float,
    ws_clients: int,
    pollers: int,
    poll_scale: float,
    max_wall_s: float,
    seed: int,
) -> tuple[_Tally, _Cpu, _Ending]:
    """Connect the sockets, run the pollers and the samplers until the clock stops."""
    loop = asyncio.get_running_loop()
    paths = (*(r.path for r in UI_REQUESTS), HEALTH_PATH)
    tally = _Tally(paths=paths, polled=pollers * len(UI_REQUESTS))
    tally.ws = [_WsTally() for _ in range(ws_clients)]
    sockets = [
        asyncio.create_task(_ws_client(port=server.port, token=server.token, tally=tally, mine=w))
        for w in tally.ws
    ]
    load: list[asyncio.Task[None]] = []
    try:
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                await tally.ws_ready.wait()
        except TimeoutError:
            ready = sum(1 for w in tally.ws if w.status_sim_s)
            msg = f"only {ready} of {ws_clients} WebSocket clients got a status event"
            raise DarkstarError(msg) from None
        tally.load_start_wall_s = loop.time()
        cpu_start = _cpu_now(server.pid)
        rng = random.Random(seed)
        for poller in range(pollers):
            for index, ui in enumerate(UI_REQUESTS):
                interval_s = ui.interval_s / poll_scale
                poll = _poller(
                    port=server.port,
                    index=index,
                    poller=poller,
                    interval_s=interval_s,
                    first_s=rng.uniform(0.0, min(interval_s, _OPEN_PAGES_S)),
                    offset_s=rng.uniform(0.0, interval_s),
                    tally=tally,
                )
                load.append(asyncio.create_task(poll))
        load.append(asyncio.create_task(_sampler(pid=server.pid, tally=tally)))
        await _clock(port=server.port, days=days, max_wall_s=max_wall_s, tally=tally)
        cpu = _cpu_delta(cpu_start, _cpu_now(server.pid))
    finally:
        for task in (*load, *sockets):
            task.cancel()
        await asyncio.gather(*load, *sockets, return_exceptions=True)
    return tally, cpu, await _read_end(server.port)


def _record(
    tally: _Tally,
    *,
    cpu: _Cpu,
    ending: _Ending,
    server_log: str,
    options: dict[str, float],
) -> SoakRecord:
    return SoakRecord(
        days=options["days"],
        speed=options["speed"],
        ws_clients=len(tally.ws),
        pollers=int(options["pollers"]),
        poll_scale=options["poll_scale"],
        warmup_hours=options["warmup_hours"],
        settle_h=options["settle_hours"],
        startup_wall_s=options["startup_wall_s"],
        clock_wall_s=np.asarray(tally.clock_wall_s, dtype=float),
        clock_sim_s=np.asarray(tally.clock_sim_s, dtype=float),
        load_start_wall_s=tally.load_start_wall_s,
        all_paths_wall_s=tally.all_paths_wall_s,
        request_wall_s=np.asarray(tally.request_wall_s, dtype=float),
        request_latency_s=np.asarray(tally.request_latency_s, dtype=float),
        request_path_index=np.asarray(tally.request_path_index, dtype=np.int64),
        paths=tally.paths,
        request_errors=tuple(tally.request_errors),
        rss_wall_s=np.asarray(tally.rss_wall_s, dtype=float),
        rss_kib=np.asarray(tally.rss_kib, dtype=float),
        load1=np.asarray(tally.load1, dtype=float),
        open_fds=np.asarray(tally.open_fds, dtype=float),
        threads=np.asarray(tally.threads, dtype=float),
        ws=tuple(
            WsClientRecord(
                messages=w.messages,
                status_sim_s=tuple(w.status_sim_s),
                reconnects=w.reconnects,
                errors=tuple(w.errors),
            )
            for w in tally.ws
        ),
        server_log=server_log,
        api_log=ending.api_log,
        plan_sim_s=np.asarray(ending.plan_sim_s, dtype=float),
        plan_solve_ms=np.asarray(ending.plan_solve_ms, dtype=float),
        server_cpu_s=cpu.server_s,
        bench_cpu_s=cpu.bench_s,
        machine_busy_s=cpu.machine_s,
        timed_out=tally.timed_out,
    )


def run_soak(
    *,
    days: float = 7.0,
    speed: float = SOAK_SPEED,
    ws_clients: int = 20,
    pollers: int = SOAK_POLLERS,
    poll_scale: float = SOAK_POLL_SCALE,
    warmup_hours: float = SOAK_WARMUP_HOURS,
    settle_hours: float = 1.0,
    data_dir: Path | None = None,
    startup_timeout_s: float = 900.0,
    seed: int = 0,
) -> SoakResult:
    """Run the real server for ``days`` simulated days under sockets and UI polling.

    Parameters
    ----------
    days : float, default 7.0
        Simulated days to run after the warm-up [d].
    speed : float, default :data:`SOAK_SPEED`
        The server's ``--speed`` (simulated s per real s).
    ws_clients : int, default 20
        WebSocket clients on ``/api/v1/live`` for the whole run.
    pollers : int, default :data:`SOAK_POLLERS`
        UI pollers, each asking for every path of :data:`UI_REQUESTS`.
    poll_scale : float, default :data:`SOAK_POLL_SCALE`
        The UI's intervals are divided by this (more load, more latency samples per day).
    warmup_hours : float, default :data:`SOAK_WARMUP_HOURS`
        ``--warmup-hours`` of the server [h].
    settle_hours : float, default 1.0
        Simulated hours after the load began before the start is taken [h]
        (:mod:`darkstar.bench.soak_report`).
    data_dir : pathlib.Path, optional
        The server's data folder, kept afterwards (``server.log`` ...); a temporary one
        when ``None``.
    startup_timeout_s : float, default 900.0
        How long the server may take to warm up and answer [s].
    seed : int, default 0
        Seed of the pollers' random phases.

    Returns
    -------
    SoakResult
        Memory, latency, WebSocket and log figures with the verdict.

    Raises
    ------
    InputError
        For a bad argument, naming it.
    DarkstarError
        When the server does not start, or the WebSocket clients cannot connect.
    """
    _check_args(
        days=days,
        speed=speed,
        ws_clients=ws_clients,
        pollers=pollers,
        poll_scale=poll_scale,
        warmup_hours=warmup_hours,
        settle_hours=settle_hours,
    )
    # the loop cannot run faster than it plans: allow 3x the nominal time, plus a margin
    max_wall_s = 3.0 * days * _DAY_S / speed + 120.0
    with contextlib.ExitStack() as stack:
        folder = data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="darkstar-soak-"))
        )
        launched = time.monotonic()
        with running_server(
            folder, warmup_hours=warmup_hours, speed=speed, startup_timeout_s=startup_timeout_s
        ) as server:
            startup_wall_s = time.monotonic() - launched
            tally, cpu, ending = asyncio.run(
                _load(
                    server,
                    days=days,
                    ws_clients=ws_clients,
                    pollers=pollers,
                    poll_scale=poll_scale,
                    max_wall_s=max_wall_s,
                    seed=seed,
                )
            )
        server_log = server.log_path.read_text(encoding="utf-8", errors="replace")
    options = {
        "days": days,
        "speed": speed,
        "pollers": pollers,
        "poll_scale": poll_scale,
        "warmup_hours": warmup_hours,
        "settle_hours": settle_hours,
        "startup_wall_s": startup_wall_s,
    }
    record = _record(tally, cpu=cpu, ending=ending, server_log=server_log, options=options)
    return summarise_soak(record, cpu_count=os.cpu_count() or 1)
