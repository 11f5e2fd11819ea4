"""The soak's numbers: what a run recorded, what it amounts to, and the verdict.

:func:`summarise_soak` turns a :class:`SoakRecord` (the raw samples
:func:`darkstar.bench.soak.run_soak` collects) into a :class:`SoakResult`;
:func:`judge_soak` holds the bars of the issue "Trust it with a real battery":

* **memory**: the server's resident memory grows less than :data:`MAX_RSS_GROWTH_PCT` from
  the start to the end of the run;
* **errors**: nothing is logged at ERROR or above (the server's console log, and its
  in-memory log at ``/api/v1/logs``) and no request fails;
* **latency**: the p99 latency of the last window is at most :data:`MAX_P99_RATIO` times
  the p99 of the first.

A fourth check keeps the machinery honest: every WebSocket client received status events
all through the run (no gap longer than :data:`WS_MAX_GAP_H`) and none had to reconnect.

**Start.** The start is the later of (a) :attr:`SoakRecord.settle_h` simulated hours after
the load began (the warm-up's objects are built and frozen by the server, the first live
plans are solved, every socket is open) and (b) the moment every polled path has answered
once (each route's lazy imports and first-use caches are in; (a) alone if a path never
answered, which fails the errors bar anyway). Memory before that is the service starting,
not the service running: counting it would call the start-up's one-off step a growth.
Latency windows begin there too, so a cold first request cannot flatter the ratio.

**Windows.** Latency compares the first and the last simulated day of the run, or the first
and the last 10 % of a run shorter than 2 days (:func:`window_days`).

**Memory curve.** One RSS value per simulated day (:attr:`SoakResult.rss_by_day_mib`) and
the growth of each half of the run: a one-off step shows in the first half only, a leak in
both halves alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from rich import box
from rich.markup import escape
from rich.table import Table

from darkstar.bench.planner import table_console

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from rich.console import Console

__all__ = [
    "MAX_P99_RATIO",
    "MAX_RSS_GROWTH_PCT",
    "WS_MAX_GAP_H",
    "PathLatency",
    "SoakRecord",
    "SoakResult",
    "SoakVerdict",
    "WsClientRecord",
    "judge_soak",
    "parse_log_problems",
    "print_soak",
    "summarise_soak",
    "window_days",
]

MAX_RSS_GROWTH_PCT: Final = 10.0
"""Bar: resident memory grows less than this from start to end [%]."""

MAX_P99_RATIO: Final = 1.2
"""Bar: p99 latency of the last window at most this times the first window's (within 20 %)."""

WS_MAX_GAP_H: Final = 1.0
"""Check: no WebSocket client goes longer than this without a status event [simulated h]."""

_DAY_S: Final = 86_400.0
_HOUR_S: Final = 3_600.0
_MIB_PER_KIB: Final = 1.0 / 1024.0
_EXAMPLES: Final = 20  # error and warning lines kept in the result

# "ERROR darkstar.x: ..." (the CLI's basicConfig) or "ERROR:    ..." (uvicorn)
_LEVEL_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)[: ]")


@dataclass(frozen=True, kw_only=True)
class WsClientRecord:
    """What one WebSocket client received.

    Attributes
    ----------
    messages : int
        Every event received after the auth reply.
    status_sim_s : tuple[float, ...]
        The simulated time (``data.now``) of each ``status`` event [POSIX s].
    reconnects : int
        Times the socket had to be opened again after the first connection.
    errors : tuple[str, ...]
        Why a connection ended or failed, in order.
    """

    messages: int
    status_sim_s: tuple[float, ...]
    reconnects: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SoakRecord:
    """The raw samples of one soak run (wall times from one monotonic clock [s]).

    Attributes
    ----------
    days : float
        Simulated days asked for.
    speed : float
        The server's ``--speed`` (simulated s per real s).
    ws_clients, pollers : int
        WebSocket clients and UI pollers.
    poll_scale : float
        The UI's intervals were divided by this.
    warmup_hours : float
        ``--warmup-hours`` of the server [h].
    settle_h : float
        Simulated hours after the load began before the start is taken [h].
    startup_wall_s : float
        From launching the server to its first health answer (includes the warm-up) [s].
    clock_wall_s, clock_sim_s : NDArray[np.float64]
        When ``/api/v1/health`` was asked, and the ``sim_time`` it answered [POSIX s].
    load_start_wall_s : float
        When every client was connected and the pollers started.
    all_paths_wall_s : float or None
        When every polled path had answered once (``None``: some never did).
    request_wall_s, request_latency_s : NDArray[np.float64]
        Start and latency of every answered request (request written to last body byte).
    request_path_index : NDArray[np.int64]
        Index into ``paths`` of each request.
    paths : tuple[str, ...]
        The paths polled (with their query).
    request_errors : tuple[str, ...]
        Each failed request: another status than 200, a broken connection, a timeout.
    rss_wall_s : NDArray[np.float64]
        When the server's memory was sampled.
    rss_kib : NDArray[np.float64]
        Its ``VmRSS`` then [KiB].
    load1 : NDArray[np.float64]
        The machine's 1-minute load average then (``nan`` where unreadable).
    open_fds, threads : NDArray[np.float64]
        The server's open file descriptors and threads then (``nan`` where unreadable).
    ws : tuple[WsClientRecord, ...]
        One record per WebSocket client.
    server_log : str
        The server's console output (``server.log``: WARNING and above of every logger,
        uvicorn's own lines).
    api_log : tuple[str, ...]
        ``/api/v1/logs?level=WARNING`` at the end, as ``"LEVEL logger: message"``.
    plan_sim_s, plan_solve_ms : NDArray[np.float64]
        When each plan of the strategy log was made [POSIX s] and how long HiGHS took [ms].
    server_cpu_s, bench_cpu_s, machine_busy_s : float or None
        CPU time of the server, of this benchmark and of the whole machine during the load
        [s] (``None`` where ``/proc`` is unreadable).
    timed_out : bool
        The run was stopped before ``days`` simulated days (the server stalled).
    """

    days: float
    speed: float
    ws_clients: int
    pollers: int
    poll_scale: float
    warmup_hours: float
    settle_h: float
    startup_wall_s: float
    clock_wall_s: NDArray[np.float64]
    clock_sim_s: NDArray[np.float64]
    load_start_wall_s: float
    all_paths_wall_s: float | None
    request_wall_s: NDArray[np.float64]
    request_latency_s: NDArray[np.float64]
    request_path_index: NDArray[np.int64]
    paths: tuple[str, ...]
    request_errors: tuple[str, ...]
    rss_wall_s: NDArray[np.float64]
    rss_kib: NDArray[np.float64]
    load1: NDArray[np.float64]
    open_fds: NDArray[np.float64]
    threads: NDArray[np.float64]
    ws: tuple[WsClientRecord, ...]
    server_log: str
    api_log: tuple[str, ...]
    plan_sim_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    plan_solve_ms: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    server_cpu_s: float | None = None
    bench_cpu_s: float | None = None
    machine_busy_s: float | None = None
    timed_out: bool = False


@dataclass(frozen=True, kw_only=True)
class SoakVerdict:
    """The bars, each met or not (see the module docstring)."""

    complete: bool
    memory_ok: bool
    errors_ok: bool
    latency_ok: bool
    ws_ok: bool

    @property
    def passed(self) -> bool:
        """Whether the run finished and met every bar."""
        return (
            self.complete and self.memory_ok and self.errors_ok and self.latency_ok and self.ws_ok
        )


@dataclass(frozen=True, kw_only=True)
class PathLatency:
    """Latency of one polled path over the run and in its first and last window [ms]."""

    path: str
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_p99_ms: float
    last_p99_ms: float


@dataclass(frozen=True, kw_only=True)
class SoakResult:
    """What a soak run amounts to (``nan`` where there was nothing to measure).

    Attributes
    ----------
    days, speed, ws_clients, pollers, poll_scale, warmup_hours
        As asked for (:class:`SoakRecord`).
    sim_days_run : float
        Simulated days from the start of the load to the end [d].
    wall_s, startup_wall_s : float
        Wall time of the load, and of the server's start with its warm-up [s].
    speed_achieved : float
        Simulated s per real s the agent loop kept up during the load.
    start_sim_h : float
        Where the start lies, in simulated hours after the load began [h].
    rss_start_mib, rss_end_mib, rss_max_mib : float
        The server's resident memory at the start, at the end, and its peak after the
        start [MiB].
    rss_growth_pct : float
        ``100 * (end - start) / start`` [%].
    rss_growth_first_half_pct, rss_growth_second_half_pct : float
        The growth of each half of the run (from start to the middle, from the middle to
        the end), both relative to the start [%].
    rss_slope_mib_per_day : float
        Least-squares slope of RSS over simulated time after the start [MiB/d].
    rss_by_day_mib : tuple[float, ...]
        RSS at the start, after each whole simulated day, and at the end [MiB].
    open_fds_start, open_fds_end : float
        The server's open file descriptors at the start and the end.
    threads_start, threads_end, threads_max : float
        The server's threads at the start, at the end and at most (the worker threads of
        the web server's thread pool are started on demand).
    requests : int
        Answered requests.
    request_errors : tuple[str, ...]
        Failed requests (all of them counted, the first few kept).
    request_error_count : int
        How many requests failed.
    window_days : float
        Length of the first and the last latency window [simulated d].
    first_requests, last_requests : int
        Requests in each window.
    first_p50_ms, first_p99_ms, last_p50_ms, last_p99_ms : float
        Latency percentiles of each window [ms].
    p99_ratio : float
        ``last_p99_ms / first_p99_ms``.
    paths : tuple[PathLatency, ...]
        The same per polled path.
    first_solve_ms, last_solve_ms : tuple[float, float]
        Mean and longest solve of the plans in each window [ms]: the agent holds the
        runtime lock while it plans, so a read that arrives then waits for the solve.
    ws_messages_min, ws_messages_max : int
        Events received per client (fewest, most).
    ws_status_min, ws_status_max : int
        ``status`` events per client (fewest, most).
    ws_slots_run : int
        15-minute slots the agent stepped during the load (one status event each).
    ws_max_gap_h : float
        Longest stretch any client went without a status event, from the start of the
        load to its end [simulated h].
    ws_reconnects : int
        Reconnects of all clients together.
    ws_errors : tuple[str, ...]
        Why connections ended (first few).
    errors_logged, warnings_logged : tuple[str, ...]
        ERROR/CRITICAL (and unlogged tracebacks) and WARNING lines of the server's log.
    api_log : tuple[str, ...]
        WARNING and above in the server's in-memory log at the end (newest first).
    load1_mean, load1_max, load1_first_mean, load1_last_mean : float
        The machine's 1-minute load average over the run, and in each latency window.
    cpu_count : int
        CPUs of the machine.
    server_cpu_frac, bench_cpu_frac, other_cpu_frac : float
        Cores used by the server, by this benchmark and by everything else during the load.
    verdict : SoakVerdict
        The bars.
    """

    days: float
    speed: float
    ws_clients: int
    pollers: int
    poll_scale: float
    warmup_hours: float
    sim_days_run: float
    wall_s: float
    startup_wall_s: float
    speed_achieved: float
    start_sim_h: float
    rss_start_mib: float
    rss_end_mib: float
    rss_max_mib: float
    rss_growth_pct: float
    rss_growth_first_half_pct: float
    rss_growth_second_half_pct: float
    rss_slope_mib_per_day: float
    rss_by_day_mib: tuple[float, ...]
    open_fds_start: float
    open_fds_end: float
    threads_start: float
    threads_end: float
    threads_max: float
    requests: int
    request_error_count: int
    request_errors: tuple[str, ...]
    window_days: float
    first_requests: int
    first_p50_ms: float
    first_p99_ms: float
    last_requests: int
    last_p50_ms: float
    last_p99_ms: float
    p99_ratio: float
    paths: tuple[PathLatency, ...]
    first_solve_ms: tuple[float, float]
    last_solve_ms: tuple[float, float]
    ws_messages_min: int
    ws_messages_max: int
    ws_status_min: int
    ws_status_max: int
    ws_slots_run: int
    ws_max_gap_h: float
    ws_reconnects: int
    ws_errors: tuple[str, ...]
    errors_logged: tuple[str, ...]
    warnings_logged: tuple[str, ...]
    api_log: tuple[str, ...]
    load1_mean: float
    load1_max: float
    load1_first_mean: float
    load1_last_mean: float
    cpu_count: int
    server_cpu_frac: float
    bench_cpu_frac: float
    other_cpu_frac: float
    verdict: SoakVerdict

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (``nan`` as ``None``, ``passed`` added)."""
        data = _no_nan(asdict(self))
        data["verdict"]["passed"] = self.verdict.passed
        return data  # type: ignore[no-any-return]


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


def window_days(run_days: float) -> float:
    """Return the length of the first and last latency windows for a run [simulated d].

    One simulated day for runs of 2 days or more, else 10 % of the run.

    Examples
    --------
    >>> window_days(7.0), window_days(0.5)
    (1.0, 0.05)
    """
    return 1.0 if run_days >= 2.0 else 0.1 * run_days


def judge_soak(
    *,
    sim_days_run: float,
    days: float,
    rss_growth_pct: float,
    errors_logged: int,
    request_errors: int,
    p99_ratio: float,
    ws_max_gap_h: float,
    ws_reconnects: int,
) -> SoakVerdict:
    """Hold a run's numbers against the bars (``nan`` never passes).

    Parameters
    ----------
    sim_days_run, days : float
        Simulated days run and asked for [d].
    rss_growth_pct : float
        Memory growth from start to end [%]; passes below :data:`MAX_RSS_GROWTH_PCT`.
    errors_logged, request_errors : int
        Lines logged at ERROR or above, failed requests; both must be 0.
    p99_ratio : float
        Last window's p99 over the first's; passes at most :data:`MAX_P99_RATIO`.
    ws_max_gap_h : float
        Longest time a client went without a status event [simulated h]; passes at most
        :data:`WS_MAX_GAP_H`, with ``ws_reconnects`` 0.

    Examples
    --------
    >>> v = judge_soak(sim_days_run=7.0, days=7.0, rss_growth_pct=3.0, errors_logged=0,
    ...                request_errors=0, p99_ratio=1.1, ws_max_gap_h=0.25, ws_reconnects=0)
    >>> v.passed
    True
    """
    return SoakVerdict(
        complete=sim_days_run >= days,
        memory_ok=rss_growth_pct < MAX_RSS_GROWTH_PCT,
        errors_ok=errors_logged == 0 and request_errors == 0,
        latency_ok=p99_ratio <= MAX_P99_RATIO,
        ws_ok=ws_max_gap_h <= WS_MAX_GAP_H and ws_reconnects == 0,
    )


def parse_log_problems(text: str) -> tuple[list[str], list[str]]:
    r"""Return the ERROR and the WARNING lines of a console log.

    A record starts with its level (``ERROR name: ...`` or uvicorn's ``ERROR:    ...``);
    ERROR and CRITICAL count as errors, and so does a traceback printed outside an error
    record (an exception that escaped a thread). Continuation lines are not listed.

    Examples
    --------
    >>> parse_log_problems("INFO:  up\nWARNING a: slow\nTraceback (most recent call last):")
    (['Traceback (most recent call last):'], ['WARNING a: slow'])
    """
    errors: list[str] = []
    warnings: list[str] = []
    in_error = False
    for line in text.splitlines():
        match = _LEVEL_LINE.match(line)
        if match is not None:
            level = match.group(1)
            in_error = level in {"ERROR", "CRITICAL"}
            if in_error:
                errors.append(line.strip())
            elif level == "WARNING":
                warnings.append(line.strip())
        elif line.startswith(("Traceback", "Exception in thread")) and not in_error:
            errors.append(line.strip())
            in_error = True
    return errors, warnings


def _percentiles_ms(latency_s: NDArray[np.float64]) -> tuple[float, float, float]:
    """Return p50, p99 and max of ``latency_s`` in ms (``nan`` when empty)."""
    if latency_s.size == 0:
        return math.nan, math.nan, math.nan
    p50, p99 = np.percentile(latency_s, [50.0, 99.0])
    return 1000.0 * float(p50), 1000.0 * float(p99), 1000.0 * float(latency_s.max())


def _mean(values: NDArray[np.float64]) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _max_status_gap_h(status_sim_s: tuple[float, ...], *, begin_s: float, end_s: float) -> float:
    """Longest simulated stretch without a status event between ``begin_s`` and ``end_s`` [h]."""
    times = np.sort(np.asarray(status_sim_s, dtype=float))
    times = times[(times >= begin_s) & (times <= end_s)]
    edges = np.concatenate(([begin_s], times, [end_s]))
    return float(np.diff(edges).max()) / _HOUR_S


@dataclass(frozen=True, kw_only=True)
class _Memory:
    start_mib: float
    end_mib: float
    max_mib: float
    growth_pct: float
    first_half_pct: float
    second_half_pct: float
    slope_mib_per_day: float
    by_day_mib: tuple[float, ...]
    fds_start: float
    fds_end: float
    threads: tuple[float, float, float]


def _memory(record: SoakRecord, *, sim_s: NDArray[np.float64], start_s: float) -> _Memory:
    """RSS at the start, at the end and per simulated day; growth and slope."""
    after = sim_s >= start_s
    if not after.any():
        nan = math.nan
        return _Memory(
            start_mib=nan,
            end_mib=nan,
            max_mib=nan,
            growth_pct=nan,
            first_half_pct=nan,
            second_half_pct=nan,
            slope_mib_per_day=nan,
            by_day_mib=(),
            fds_start=nan,
            fds_end=nan,
            threads=(nan, nan, nan),
        )
    rss_mib = record.rss_kib[after] * _MIB_PER_KIB
    days = (sim_s[after] - start_s) / _DAY_S
    fds, threads = record.open_fds[after], record.threads[after]
    start, end = float(rss_mib[0]), float(rss_mib[-1])
    middle = float(rss_mib[np.searchsorted(days, days[-1] / 2.0)])
    by_day = [start]
    by_day += [float(rss_mib[np.searchsorted(days, d)]) for d in range(1, int(days[-1]) + 1)]
    slope = float(np.polyfit(days, rss_mib, 1)[0]) if days[-1] > days[0] else math.nan
    return _Memory(
        start_mib=start,
        end_mib=end,
        max_mib=float(rss_mib.max()),
        growth_pct=100.0 * (end - start) / start,
        first_half_pct=100.0 * (middle - start) / start,
        second_half_pct=100.0 * (end - middle) / start,
        slope_mib_per_day=slope,
        by_day_mib=(*by_day, end),
        fds_start=float(fds[0]),
        fds_end=float(fds[-1]),
        threads=(float(threads[0]), float(threads[-1]), float(np.nanmax(threads))),
    )


def _path_latencies(
    record: SoakRecord, *, first: NDArray[np.bool_], last: NDArray[np.bool_]
) -> tuple[PathLatency, ...]:
    rows = []
    for index, path in enumerate(record.paths):
        mine = record.request_path_index == index
        p50, p99, worst = _percentiles_ms(record.request_latency_s[mine])
        rows.append(
            PathLatency(
                path=path,
                requests=int(mine.sum()),
                p50_ms=p50,
                p99_ms=p99,
                max_ms=worst,
                first_p99_ms=_percentiles_ms(record.request_latency_s[mine & first])[1],
                last_p99_ms=_percentiles_ms(record.request_latency_s[mine & last])[1],
            )
        )
    return tuple(rows)


def _solves(record: SoakRecord, *, start_s: float, end_s: float) -> tuple[float, float]:
    """Mean and longest solve time of the plans made in ``[start_s, end_s)`` [ms]."""
    inside = (record.plan_sim_s >= start_s) & (record.plan_sim_s < end_s)
    solves = record.plan_solve_ms[inside]
    return (float(solves.mean()), float(solves.max())) if solves.size else (math.nan, math.nan)


def _cpu_frac(cpu_s: float | None, wall_s: float) -> float:
    return math.nan if cpu_s is None or wall_s <= 0 else cpu_s / wall_s


def summarise_soak(record: SoakRecord, *, cpu_count: int = 1) -> SoakResult:
    """Turn the raw samples of a run into the result and its verdict.

    Simulated times of requests and memory samples are interpolated from the health clock
    (``clock_wall_s`` -> ``clock_sim_s``). See the module docstring for the start and the
    windows.
    """
    clock_wall, clock_sim = record.clock_wall_s, record.clock_sim_s
    sim_begin_s = float(np.interp(record.load_start_wall_s, clock_wall, clock_sim))
    sim_end_s = float(clock_sim[-1])
    settled_wall = float(np.interp(sim_begin_s + record.settle_h * _HOUR_S, clock_sim, clock_wall))
    paths_wall = record.all_paths_wall_s
    start_wall = settled_wall if paths_wall is None else max(settled_wall, paths_wall)
    start_s = float(np.interp(start_wall, clock_wall, clock_sim))
    wall_s = float(clock_wall[-1] - record.load_start_wall_s)
    run_days = (sim_end_s - sim_begin_s) / _DAY_S
    window_s = min(window_days(run_days) * _DAY_S, max(0.0, sim_end_s - start_s) / 2.0)

    memory = _memory(
        record, sim_s=np.interp(record.rss_wall_s, clock_wall, clock_sim), start_s=start_s
    )

    request_sim = np.interp(record.request_wall_s, clock_wall, clock_sim)
    first = (request_sim >= start_s) & (request_sim < start_s + window_s)
    last = (request_sim > sim_end_s - window_s) & (request_sim <= sim_end_s)
    first_p50, first_p99, _ = _percentiles_ms(record.request_latency_s[first])
    last_p50, last_p99, _ = _percentiles_ms(record.request_latency_s[last])

    messages = [c.messages for c in record.ws] or [0]
    statuses = [len(c.status_sim_s) for c in record.ws] or [0]
    gaps = [
        _max_status_gap_h(c.status_sim_s, begin_s=sim_begin_s, end_s=sim_end_s) for c in record.ws
    ]
    reconnects = sum(c.reconnects for c in record.ws)
    errors, warnings = parse_log_problems(record.server_log)
    api_errors = [line for line in record.api_log if line.startswith(("ERROR", "CRITICAL"))]

    rss_sim = np.interp(record.rss_wall_s, clock_wall, clock_sim)
    first_load = (rss_sim >= start_s) & (rss_sim < start_s + window_s)
    last_load = rss_sim > sim_end_s - window_s
    busy = record.machine_busy_s
    other_s = (
        None
        if busy is None or record.server_cpu_s is None or record.bench_cpu_s is None
        else max(0.0, busy - record.server_cpu_s - record.bench_cpu_s)
    )
    ratio = last_p99 / first_p99 if first_p99 > 0 else math.nan
    sim_days_run = run_days
    verdict = judge_soak(
        sim_days_run=sim_days_run,
        days=record.days,
        rss_growth_pct=memory.growth_pct,
        errors_logged=len(errors) + len(api_errors),
        request_errors=len(record.request_errors),
        p99_ratio=ratio,
        ws_max_gap_h=max(gaps, default=math.inf),
        ws_reconnects=reconnects,
    )
    return SoakResult(
        days=record.days,
        speed=record.speed,
        ws_clients=record.ws_clients,
        pollers=record.pollers,
        poll_scale=record.poll_scale,
        warmup_hours=record.warmup_hours,
        sim_days_run=sim_days_run,
        wall_s=wall_s,
        startup_wall_s=record.startup_wall_s,
        speed_achieved=(sim_end_s - sim_begin_s) / wall_s if wall_s > 0 else math.nan,
        start_sim_h=(start_s - sim_begin_s) / _HOUR_S,
        rss_start_mib=memory.start_mib,
        rss_end_mib=memory.end_mib,
        rss_max_mib=memory.max_mib,
        rss_growth_pct=memory.growth_pct,
        rss_growth_first_half_pct=memory.first_half_pct,
        rss_growth_second_half_pct=memory.second_half_pct,
        rss_slope_mib_per_day=memory.slope_mib_per_day,
        rss_by_day_mib=memory.by_day_mib,
        open_fds_start=memory.fds_start,
        open_fds_end=memory.fds_end,
        threads_start=memory.threads[0],
        threads_end=memory.threads[1],
        threads_max=memory.threads[2],
        requests=int(record.request_latency_s.size),
        request_error_count=len(record.request_errors),
        request_errors=record.request_errors[:_EXAMPLES],
        window_days=window_s / _DAY_S,
        first_requests=int(first.sum()),
        first_p50_ms=first_p50,
        first_p99_ms=first_p99,
        last_requests=int(last.sum()),
        last_p50_ms=last_p50,
        last_p99_ms=last_p99,
        p99_ratio=ratio,
        paths=_path_latencies(record, first=first, last=last),
        first_solve_ms=_solves(record, start_s=start_s, end_s=start_s + window_s),
        last_solve_ms=_solves(record, start_s=sim_end_s - window_s, end_s=sim_end_s),
        ws_messages_min=min(messages),
        ws_messages_max=max(messages),
        ws_status_min=min(statuses),
        ws_status_max=max(statuses),
        ws_slots_run=round((sim_end_s - sim_begin_s) / 900.0),
        ws_max_gap_h=max(gaps, default=math.nan),
        ws_reconnects=reconnects,
        ws_errors=tuple(e for c in record.ws for e in c.errors)[:_EXAMPLES],
        errors_logged=tuple(errors + api_errors)[:_EXAMPLES],
        warnings_logged=tuple(warnings)[:_EXAMPLES],
        api_log=record.api_log[:_EXAMPLES],
        load1_mean=_mean(record.load1),
        load1_max=float(np.nanmax(record.load1)) if np.isfinite(record.load1).any() else math.nan,
        load1_first_mean=_mean(record.load1[first_load]),
        load1_last_mean=_mean(record.load1[last_load]),
        cpu_count=cpu_count,
        server_cpu_frac=_cpu_frac(record.server_cpu_s, wall_s),
        bench_cpu_frac=_cpu_frac(record.bench_cpu_s, wall_s),
        other_cpu_frac=_cpu_frac(other_s, wall_s),
        verdict=verdict,
    )


def _ok(flag: bool) -> str:  # noqa: FBT001 - a formatter
    return "PASS" if flag else "FAIL"


def print_soak(result: SoakResult, console: Console | None = None) -> None:
    """Print a soak result: the bars table, the RSS curve, per-path latency, the logs.

    Parameters
    ----------
    result : SoakResult
        Output of :func:`darkstar.bench.soak.run_soak`.
    console : rich.console.Console, optional
        Where to print (default: a new console on stdout).
    """
    console = console or table_console()
    r, v = result, result.verdict
    title = (
        f"Darkstar soak: {r.sim_days_run:.2f} simulated days in {r.wall_s:.0f} s "
        f"(speed {r.speed:g}, achieved {r.speed_achieved:.0f}), {r.ws_clients} WebSocket "
        f"clients, {r.pollers} UI pollers at {r.poll_scale:g}x their intervals"
    )
    table = Table(title=escape(title), box=box.SIMPLE_HEAD)
    for header in ("bar", "start", "end", "change", "limit", "verdict"):
        table.add_column(header, justify="right" if header != "bar" else "left")
    table.add_row(
        "server RSS [MiB]",
        f"{r.rss_start_mib:.1f}",
        f"{r.rss_end_mib:.1f}",
        f"{r.rss_growth_pct:+.1f} %",
        f"< {MAX_RSS_GROWTH_PCT:g} %",
        _ok(v.memory_ok),
    )
    table.add_row(
        f"p99 latency [ms] (first/last {r.window_days:g} d)",
        f"{r.first_p99_ms:.1f}",
        f"{r.last_p99_ms:.1f}",
        f"x{r.p99_ratio:.2f}",
        f"<= x{MAX_P99_RATIO:g}",
        _ok(v.latency_ok),
    )
    table.add_row("p50 latency [ms]", f"{r.first_p50_ms:.1f}", f"{r.last_p50_ms:.1f}", "", "", "")
    table.add_row(
        "plan solve mean / max [ms] (lock held)",
        f"{r.first_solve_ms[0]:.0f} / {r.first_solve_ms[1]:.0f}",
        f"{r.last_solve_ms[0]:.0f} / {r.last_solve_ms[1]:.0f}",
        "",
        "",
        "",
    )
    table.add_row(
        "errors logged / failed requests",
        "",
        f"{len(r.errors_logged)} / {r.request_error_count}",
        "",
        "0 / 0",
        _ok(v.errors_ok),
    )
    table.add_row(
        "WS status events per client (min-max)",
        "",
        f"{r.ws_status_min}-{r.ws_status_max} of {r.ws_slots_run}",
        f"gap {r.ws_max_gap_h:.2f} h, {r.ws_reconnects} reconnects",
        f"gap <= {WS_MAX_GAP_H:g} h, 0",
        _ok(v.ws_ok),
    )
    table.add_row(
        "simulated days", "", f"{r.sim_days_run:.2f}", "", f">= {r.days:g}", _ok(v.complete)
    )
    console.print(table)
    curve = ", ".join(f"{m:.0f}" for m in r.rss_by_day_mib)
    console.print(
        escape(
            f"start = {r.start_sim_h:.1f} simulated h into the load (after the warm-up of "
            f"{r.warmup_hours:g} h); RSS per simulated day [MiB]: {curve}; first half "
            f"{r.rss_growth_first_half_pct:+.1f} %, second half "
            f"{r.rss_growth_second_half_pct:+.1f} %, slope {r.rss_slope_mib_per_day:+.2f} MiB/d; "
            f"open fds {r.open_fds_start:.0f} -> {r.open_fds_end:.0f}; threads "
            f"{r.threads_start:.0f} -> {r.threads_end:.0f} (max {r.threads_max:.0f})"
        )
    )
    console.print(
        escape(
            f"{r.requests} requests; WS events per client {r.ws_messages_min}-"
            f"{r.ws_messages_max}; machine: {r.cpu_count} CPUs, load1 mean {r.load1_mean:.2f} "
            f"(first window {r.load1_first_mean:.2f}, last {r.load1_last_mean:.2f}, max "
            f"{r.load1_max:.2f}); cores used: server {r.server_cpu_frac:.2f}, bench "
            f"{r.bench_cpu_frac:.2f}, others {r.other_cpu_frac:.2f}; startup with warm-up "
            f"{r.startup_wall_s:.0f} s"
        )
    )
    paths = Table(box=box.SIMPLE_HEAD, caption="latency per path [ms]")
    for header in ("path", "requests", "p50", "p99", "max", "first p99", "last p99"):
        paths.add_column(header, justify="left" if header == "path" else "right")
    for p in r.paths:
        paths.add_row(
            escape(p.path),
            str(p.requests),
            f"{p.p50_ms:.1f}",
            f"{p.p99_ms:.1f}",
            f"{p.max_ms:.1f}",
            f"{p.first_p99_ms:.1f}",
            f"{p.last_p99_ms:.1f}",
        )
    console.print(paths)
    for heading, lines in (
        ("errors logged", r.errors_logged),
        ("failed requests", r.request_errors),
        ("warnings logged", r.warnings_logged),
        ("WebSocket connection ends", r.ws_errors),
    ):
        if lines:
            console.print(escape(f"{heading}:"))
            for line in lines:
                console.print(escape(f"  {line}"))
    console.print(escape(f"soak: {'PASS' if v.passed else 'FAIL'}"))
