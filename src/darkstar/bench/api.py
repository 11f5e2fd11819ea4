"""API benchmark: latency and throughput of the real web service under concurrent clients.

:func:`run_api_bench` starts ``darkstar serve`` as a subprocess (``sys.executable -m
darkstar serve``) on a free loopback port with a throw-away data folder, waits until
``/api/v1/health`` answers, then runs ``clients`` closed-loop clients against one ``GET``
path: each client has its own keep-alive connection and sends its next request as soon as
the previous answer is read. The first :data:`WARMUP_S` seconds are not counted; then every
request started and finished within ``duration_s`` is. The server is always terminated.

The client is a minimal HTTP/1.1 client on :func:`asyncio.open_connection` (request line and
``Host`` out; status line, headers and ``Content-Length`` body bytes in), so on a 2-core
machine it costs less CPU than the server it measures. The CPU both processes used during
the measured window is reported, so a result can be checked for that: a client near one full
core means the client, not the server, was the limit.

With ``simulations`` > 0, that many more clients post ``/planning/simulate`` with
:data:`SIMULATION_BLOCKS` manual blocks in a loop meanwhile (the review's probe: readers must
stay fast while simulations solve); the report counts the ones solved and the ones refused
with 429.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from rich import box
from rich.markup import escape
from rich.table import Table

from darkstar.bench.http_client import (
    HOST,
    ProtocolError,
    close_writer,
    get_request,
    read_response,
)
from darkstar.bench.planner import table_console
from darkstar.bench.procfs import machine_busy_s, process_cpu_s
from darkstar.errors import InputError
from darkstar.web.process import HEALTH_PATH, running_server

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "TARGET_CLIENTS",
    "TARGET_P99_MS",
    "WARMUP_S",
    "ApiBenchResult",
    "print_api_bench",
    "run_api_bench",
]

logger = logging.getLogger(__name__)

WARMUP_S: Final = 1.0
"""Seconds the clients run before counting starts (connections open, caches warm) [s]."""

TARGET_P99_MS: Final = 50.0
"""Target: p99 latency below this with :data:`TARGET_CLIENTS` clients on loopback [ms]."""

TARGET_CLIENTS: Final = 50
"""Concurrent clients the latency target is set for."""

SERVER_SPEED: Final = 180.0
"""Simulated seconds per real second of the benchmarked server (the ``serve`` default)."""

SIMULATION_BLOCKS: Final = 50
"""Manual blocks in each simulation request (the most a request may carry)."""

_READ_TIMEOUT_S: Final = 10.0
_RECONNECT_PAUSE_S: Final = 0.05


@dataclass(frozen=True, kw_only=True)
class ApiBenchResult:
    """What one API bench run measured.

    Attributes
    ----------
    path : str
        The ``GET`` path loaded.
    clients : int
        Concurrent closed-loop clients, one keep-alive connection each.
    duration_s : float
        Measured window, after :data:`WARMUP_S` [s].
    requests : int
        Requests answered 200 within the window.
    errors : int
        Requests in the window that failed: another status, a broken connection, a timeout.
    throughput_per_s : float
        ``requests / duration_s`` [1/s].
    latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms : float
        Latency of the successful requests, from writing the request to reading the last
        body byte [ms]; ``nan`` when there were none.
    response_bytes : int
        Body size of the last successful response [B].
    client_cpu_frac : float
        CPU time of the bench process over the window, per wall second (1.0 = one core).
    server_cpu_frac : float or None
        The same for the server process; ``None`` where ``/proc`` is not available.
    other_cpu_frac : float or None
        CPU the rest of the machine used meanwhile (other processes, the kernel), in cores;
        well above 0 means the numbers were measured on a busy machine.
    first_error : str or None
        The first error seen in the window, for the report.
    simulations : int
        Clients posting ``/planning/simulate`` in a loop during the run.
    simulations_solved, simulations_refused : int
        Simulations answered 200, and refused with 429, inside the window.
    """

    path: str
    clients: int
    duration_s: float
    requests: int
    errors: int
    throughput_per_s: float
    latency_p50_ms: float
    latency_p90_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    response_bytes: int
    client_cpu_frac: float
    server_cpu_frac: float | None
    other_cpu_frac: float | None = None
    first_error: str | None = None
    simulations: int = 0
    simulations_solved: int = 0
    simulations_refused: int = 0

    @property
    def meets_target(self) -> bool:
        """Whether p99 is below :data:`TARGET_P99_MS` with no errors (any client count)."""
        return self.errors == 0 and self.latency_p99_ms < TARGET_P99_MS


@dataclass(kw_only=True)
class _Tally:
    """Counts shared by every client of one run (one event loop: no locking needed)."""

    measure_from: float
    stop_at: float
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    response_bytes: int = 0
    first_error: str | None = None
    simulations_solved: int = 0
    simulations_refused: int = 0

    def fail(self, at: float, message: str) -> None:
        """Count an error if it happened inside the measured window."""
        if self.measure_from <= at <= self.stop_at:
            self.errors += 1
            if self.first_error is None:
                self.first_error = message


def _check_args(
    *, clients: int, duration_s: float, path: str, warmup_hours: float, simulations: int = 0
) -> None:
    """Raise :class:`InputError` naming the first bad argument."""
    if simulations < 0:
        raise InputError("simulations", f"must be >= 0, got {simulations}")
    if clients < 1:
        raise InputError("clients", f"must be >= 1, got {clients}")
    if not duration_s > 0:
        raise InputError("duration_s", f"must be > 0, got {duration_s}")
    if not path.startswith("/") or any(c.isspace() for c in path):
        raise InputError("path", f"must start with '/' and hold no whitespace, got {path!r}")
    if not warmup_hours >= 0:
        raise InputError("warmup_hours", f"must be >= 0, got {warmup_hours}")


async def _client(*, port: int, request: bytes, tally: _Tally) -> None:
    """One closed-loop client on its own keep-alive connection until ``tally.stop_at``."""
    loop = asyncio.get_running_loop()
    writer: asyncio.StreamWriter | None = None
    try:
        while loop.time() < tally.stop_at:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, port)
                except OSError as exc:
                    tally.fail(loop.time(), f"connect: {exc}")
                    await asyncio.sleep(_RECONNECT_PAUSE_S)
                    continue
            started = loop.time()
            try:
                async with asyncio.timeout(_READ_TIMEOUT_S):
                    writer.write(request)
                    status, body, close = await read_response(reader)
            except (OSError, TimeoutError, EOFError, ValueError, ProtocolError) as exc:
                # IncompleteReadError is an EOFError, LimitOverrunError a ValueError
                tally.fail(started, f"{type(exc).__name__}: {exc}")
                await close_writer(writer)
                writer = None
                continue
            finished = loop.time()
            if status != 200:
                tally.fail(started, f"HTTP {status}")
            elif started >= tally.measure_from and finished <= tally.stop_at:
                tally.latencies_s.append(finished - started)
                tally.response_bytes = len(body)
            if close:
                await close_writer(writer)
                writer = None
    finally:
        if writer is not None:
            await close_writer(writer)


def _simulate_request(*, port: int, token: str, sim_time: str) -> bytes:
    """Build a ``POST /planning/simulate`` of :data:`SIMULATION_BLOCKS` blocks (from now)."""
    now = datetime.fromisoformat(sim_time)
    actions = ("charge", "discharge", "hold")
    blocks = [
        {
            "start": (now + timedelta(minutes=30 * i + 60)).isoformat(),
            "end": (now + timedelta(minutes=30 * i + 75)).isoformat(),
            "action": actions[i % 3],
        }
        for i in range(SIMULATION_BLOCKS)
    ]
    body = json.dumps({"blocks": blocks}).encode()
    head = (
        f"POST /api/v1/planning/simulate HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _simulator(*, port: int, request: bytes, tally: _Tally) -> None:
    """Post simulations back to back until ``tally.stop_at``; count solved and refused."""
    loop = asyncio.get_running_loop()
    while loop.time() < tally.stop_at:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError as exc:
            tally.fail(loop.time(), f"simulate connect: {exc}")
            await asyncio.sleep(_RECONNECT_PAUSE_S)
            continue
        try:
            while loop.time() < tally.stop_at:
                started = loop.time()
                async with asyncio.timeout(60.0):
                    writer.write(request)
                    status, _, close = await read_response(reader)
                inside = started >= tally.measure_from and loop.time() <= tally.stop_at
                if status == 200:
                    tally.simulations_solved += inside
                elif status == 429:
                    tally.simulations_refused += inside
                    await asyncio.sleep(_RECONNECT_PAUSE_S)
                else:
                    tally.fail(started, f"simulate: HTTP {status}")
                if close:
                    break
        except (OSError, TimeoutError, EOFError, ValueError, ProtocolError) as exc:
            tally.fail(loop.time(), f"simulate: {type(exc).__name__}: {exc}")
        finally:
            await close_writer(writer)


@dataclass(frozen=True, kw_only=True)
class _CpuUse:
    """CPU seconds used inside the measured window."""

    client_s: float
    server_s: float | None
    other_s: float | None


async def _cpu_window(*, server_pid: int, tally: _Tally) -> _CpuUse:
    """Sample CPU times of this process, the server and the machine around the window."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, tally.measure_from - loop.time()))
    start = (time.process_time(), process_cpu_s(server_pid), machine_busy_s())
    await asyncio.sleep(max(0.0, tally.stop_at - loop.time()))
    end = (time.process_time(), process_cpu_s(server_pid), machine_busy_s())
    client_s = end[0] - start[0]
    server_s = None if start[1] is None or end[1] is None else end[1] - start[1]
    other_s = (
        None
        if server_s is None or start[2] is None or end[2] is None
        else max(0.0, end[2] - start[2] - client_s - server_s)
    )
    return _CpuUse(client_s=client_s, server_s=server_s, other_s=other_s)


async def _load(
    *,
    port: int,
    path: str,
    clients: int,
    duration_s: float,
    server_pid: int,
    simulations: int = 0,
    simulate_request: bytes = b"",
) -> tuple[_Tally, _CpuUse]:
    """Run the clients: :data:`WARMUP_S` uncounted, then ``duration_s`` counted."""
    request = get_request(path, port=port)
    now = asyncio.get_running_loop().time()
    tally = _Tally(measure_from=now + WARMUP_S, stop_at=now + WARMUP_S + duration_s)
    cpu = asyncio.create_task(_cpu_window(server_pid=server_pid, tally=tally))
    await asyncio.gather(
        *(_client(port=port, request=request, tally=tally) for _ in range(clients)),
        *(_simulator(port=port, request=simulate_request, tally=tally) for _ in range(simulations)),
    )
    return tally, await cpu


def _summarise(
    tally: _Tally,
    *,
    path: str,
    clients: int,
    duration_s: float,
    cpu: _CpuUse,
    simulations: int = 0,
) -> ApiBenchResult:
    """Turn the raw latencies into the result."""
    latencies_ms = 1000.0 * np.asarray(tally.latencies_s, dtype=float)
    if latencies_ms.size:
        p50, p90, p99 = (float(v) for v in np.percentile(latencies_ms, [50.0, 90.0, 99.0]))
        worst = float(latencies_ms.max())
    else:
        p50 = p90 = p99 = worst = float("nan")
    return ApiBenchResult(
        path=path,
        clients=clients,
        duration_s=duration_s,
        requests=int(latencies_ms.size),
        errors=tally.errors,
        throughput_per_s=latencies_ms.size / duration_s,
        latency_p50_ms=p50,
        latency_p90_ms=p90,
        latency_p99_ms=p99,
        latency_max_ms=worst,
        response_bytes=tally.response_bytes,
        client_cpu_frac=cpu.client_s / duration_s,
        server_cpu_frac=None if cpu.server_s is None else cpu.server_s / duration_s,
        other_cpu_frac=None if cpu.other_s is None else cpu.other_s / duration_s,
        first_error=tally.first_error,
        simulations=simulations,
        simulations_solved=tally.simulations_solved,
        simulations_refused=tally.simulations_refused,
    )


def _sim_time(base_url: str) -> str:
    """Return the server's simulated time (house-local ISO) from ``/health``."""
    with urllib.request.urlopen(f"{base_url}{HEALTH_PATH}", timeout=10) as reply:  # noqa: S310
        return str(json.load(reply)["sim_time"])


def run_api_bench(
    *,
    clients: int = 50,
    duration_s: float = 10.0,
    path: str = "/api/v1/schedule",
    warmup_hours: float = 6.0,
    port: int | None = None,
    startup_timeout_s: float = 120.0,
    simulations: int = 0,
) -> ApiBenchResult:
    """Start the real server and load one ``GET`` path with concurrent keep-alive clients.

    Parameters
    ----------
    clients : int, default 50
        Concurrent closed-loop clients, each on its own keep-alive connection.
    duration_s : float, default 10.0
        Measured window after a :data:`WARMUP_S` warm-up that is not counted [s].
    path : str, default "/api/v1/schedule"
        The ``GET`` path (with any query) every request asks for.
    warmup_hours : float, default 6.0
        Simulated hours the server runs before serving (``--warmup-hours``) [h].
    port : int, optional
        Loopback port for the server; a free one when ``None``.
    startup_timeout_s : float, default 120.0
        How long to wait for :data:`~darkstar.web.process.HEALTH_PATH` to answer [s].
    simulations : int, default 0
        Extra clients posting ``/planning/simulate`` in a loop meanwhile.

    Returns
    -------
    ApiBenchResult
        Requests, errors, throughput, latency percentiles and CPU use.

    Raises
    ------
    InputError
        For a bad argument, naming it.
    DarkstarError
        When the server exits or does not answer within ``startup_timeout_s``.
    """
    _check_args(
        clients=clients,
        duration_s=duration_s,
        path=path,
        warmup_hours=warmup_hours,
        simulations=simulations,
    )
    with (
        tempfile.TemporaryDirectory(prefix="darkstar-bench-api-") as folder,
        running_server(
            Path(folder),
            port=port,
            warmup_hours=warmup_hours,
            speed=SERVER_SPEED,
            startup_timeout_s=startup_timeout_s,
        ) as server,
    ):
        simulate_request = (
            _simulate_request(
                port=server.port, token=server.token, sim_time=_sim_time(server.base_url)
            )
            if simulations
            else b""
        )
        tally, cpu = asyncio.run(
            _load(
                port=server.port,
                path=path,
                clients=clients,
                duration_s=duration_s,
                server_pid=server.pid,
                simulations=simulations,
                simulate_request=simulate_request,
            )
        )
    return _summarise(
        tally,
        path=path,
        clients=clients,
        duration_s=duration_s,
        cpu=cpu,
        simulations=simulations,
    )


def _fmt_cpu(frac: float | None) -> str:
    return "n/a" if frac is None else f"{frac:.2f}"


def print_api_bench(result: ApiBenchResult, console: Console | None = None) -> None:
    """Print one API bench result as a rich table, with the target verdict.

    Parameters
    ----------
    result : ApiBenchResult
        Output of :func:`run_api_bench`.
    console : rich.console.Console, optional
        Where to print (default: a new console on stdout).
    """
    console = console or table_console()
    title = (
        f"Darkstar API bench: GET {result.path}, {result.clients} clients, "
        f"{result.duration_s:g} s, {os.cpu_count()} CPUs"
    )
    table = Table(
        title=escape(title),
        box=box.SIMPLE_HEAD,
        caption=escape(
            "Closed-loop keep-alive clients on loopback after a "
            f"{WARMUP_S:g} s warm-up; latency [ms] from request to last body byte; CPU in "
            "cores (1.00 = one core busy); 'other' is the rest of the machine."
        ),
    )
    headers = ("requests", "errors", "req/s", "p50", "p90", "p99", "max", "size kB")
    for header in (*headers, "client CPU", "server CPU", "other CPU"):
        table.add_column(header, justify="right")
    table.add_row(
        str(result.requests),
        str(result.errors),
        f"{result.throughput_per_s:.0f}",
        f"{result.latency_p50_ms:.1f}",
        f"{result.latency_p90_ms:.1f}",
        f"{result.latency_p99_ms:.1f}",
        f"{result.latency_max_ms:.1f}",
        f"{result.response_bytes / 1000.0:.1f}",
        f"{result.client_cpu_frac:.2f}",
        _fmt_cpu(result.server_cpu_frac),
        _fmt_cpu(result.other_cpu_frac),
    )
    console.print(table)
    if result.simulations:
        console.print(
            escape(
                f"meanwhile {result.simulations} clients posted /planning/simulate "
                f"({SIMULATION_BLOCKS} blocks each): {result.simulations_solved} solved, "
                f"{result.simulations_refused} refused with 429 (one runs at a time)"
            )
        )
    verdict = "met" if result.meets_target else "NOT met"
    if result.clients != TARGET_CLIENTS:
        verdict += f" (but this run had {result.clients} clients)"
    console.print(
        escape(f"target p99 < {TARGET_P99_MS:g} ms with {TARGET_CLIENTS} clients: {verdict}")
    )
    if result.first_error is not None:
        console.print(escape(f"first error: {result.first_error}"))
