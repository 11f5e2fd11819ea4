"""Tests for the soak benchmark (``darkstar.bench.soak`` and ``darkstar.bench.soak_report``).

The verdict and the summary are checked on hand-made numbers; one short run of the real
server checks the machinery (sockets, pollers, memory samples, log reading). The soak's
bars are measured by ``darkstar bench soak``, never asserted on a real run here.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from darkstar.bench.soak import UI_REQUESTS, run_soak
from darkstar.bench.soak_report import (
    SoakRecord,
    WsClientRecord,
    judge_soak,
    parse_log_problems,
    print_soak,
    summarise_soak,
    window_days,
)
from darkstar.errors import InputError

_SIM0_S = 1.5e9  # a POSIX time for the simulated start
_SIM_PER_WALL = 1000.0  # simulated s per wall s of the hand-made run
_GOOD = {
    "sim_days_run": 7.0,
    "days": 7.0,
    "rss_growth_pct": 3.0,
    "errors_logged": 0,
    "request_errors": 0,
    "p99_ratio": 1.1,
    "ws_max_gap_h": 0.25,
    "ws_reconnects": 0,
}


def test_judge_soak_all_bars_met_passes() -> None:
    verdict = judge_soak(**_GOOD)
    assert verdict.passed
    assert (verdict.memory_ok, verdict.errors_ok, verdict.latency_ok, verdict.ws_ok) == (
        True,
        True,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"rss_growth_pct": 10.0}, "memory_ok"),
        ({"rss_growth_pct": math.nan}, "memory_ok"),
        ({"errors_logged": 1}, "errors_ok"),
        ({"request_errors": 2}, "errors_ok"),
        ({"p99_ratio": 1.21}, "latency_ok"),
        ({"p99_ratio": math.nan}, "latency_ok"),
        ({"ws_max_gap_h": 1.5}, "ws_ok"),
        ({"ws_reconnects": 1}, "ws_ok"),
        ({"sim_days_run": 6.5}, "complete"),
    ],
)
def test_judge_soak_one_bar_missed_fails(change: dict[str, Any], failed: str) -> None:
    verdict = judge_soak(**{**_GOOD, **change})
    assert not verdict.passed
    flags = {
        name: getattr(verdict, name)
        for name in ("complete", "memory_ok", "errors_ok", "latency_ok", "ws_ok")
    }
    assert [name for name, ok in flags.items() if not ok] == [failed]


def test_judge_soak_latency_at_the_bar_passes() -> None:
    assert judge_soak(**{**_GOOD, "p99_ratio": 1.2}).latency_ok
    assert judge_soak(**{**_GOOD, "rss_growth_pct": 9.99, "p99_ratio": 0.5}).passed


def test_window_days_one_day_or_a_tenth() -> None:
    assert window_days(7.0) == 1.0
    assert window_days(2.0) == 1.0
    assert window_days(1.0) == pytest.approx(0.1)


def test_parse_log_problems_levels_and_tracebacks() -> None:
    text = "\n".join(
        [
            "INFO:     Uvicorn running on http://127.0.0.1:8000",
            "WARNING darkstar.service.runtime: prices late",
            "ERROR darkstar.service.runtime: agent step failed",
            "Traceback (most recent call last):",  # belongs to the ERROR above
            '  File "x.py", line 1, in <module>',
            "ValueError: boom",
            "INFO darkstar.x: fine again",
            "Exception in thread darkstar-agent:",  # escaped a thread: an error of its own
            "Traceback (most recent call last):",
            "ERROR:    Exception in ASGI application",
            "CRITICAL darkstar.y: gone",
        ]
    )
    errors, warnings = parse_log_problems(text)
    assert warnings == ["WARNING darkstar.service.runtime: prices late"]
    assert errors == [
        "ERROR darkstar.service.runtime: agent step failed",
        "Exception in thread darkstar-agent:",
        "ERROR:    Exception in ASGI application",
        "CRITICAL darkstar.y: gone",
    ]


def _status_times(
    *, end_wall_s: float, skip: tuple[float, float] | None = None
) -> tuple[float, ...]:
    """A status event every 15 simulated minutes, without the ``skip`` wall range."""
    times = np.arange(_SIM0_S, _SIM0_S + end_wall_s * _SIM_PER_WALL, 900.0)
    if skip is not None:
        low, high = (_SIM0_S + w * _SIM_PER_WALL for w in skip)
        times = times[(times < low) | (times > high)]
    return tuple(float(t) for t in times)


def _record(**changes: Any) -> SoakRecord:
    """A hand-made 250 s run: 2.9 simulated days, start at wall 10 s (all paths answered).

    RSS is 50 MiB before the start (ignored), then 100 -> 105 MiB; latency 10 ms until wall
    130 s, then 11 ms; plans solve in 100 ms, then 200 ms; one socket misses 2 simulated
    hours of status events.
    """
    clock_wall = np.arange(0.0, 251.0)
    request_wall = np.arange(0.0, 250.0, 0.5)
    rss_wall = np.arange(0.0, 251.0)
    rss_mib = np.where(rss_wall < 10.0, 50.0, 100.0 + 5.0 * (rss_wall - 10.0) / 240.0)
    fields: dict[str, Any] = {
        "days": 2.0,
        "speed": _SIM_PER_WALL,
        "ws_clients": 2,
        "pollers": 1,
        "poll_scale": 10.0,
        "warmup_hours": 24.0,
        "settle_h": 1.0,
        "startup_wall_s": 5.0,
        "clock_wall_s": clock_wall,
        "clock_sim_s": _SIM0_S + _SIM_PER_WALL * clock_wall,
        "load_start_wall_s": 0.0,
        "all_paths_wall_s": 10.0,
        "request_wall_s": request_wall,
        "request_latency_s": np.where(request_wall < 130.0, 0.010, 0.011),
        "request_path_index": np.arange(request_wall.size) % 2,
        "paths": ("/api/v1/status", "/api/v1/schedule"),
        "request_errors": (),
        "rss_wall_s": rss_wall,
        "rss_kib": rss_mib * 1024.0,
        "load1": np.full(rss_wall.size, 1.5),
        "open_fds": np.full(rss_wall.size, 40.0),
        "threads": np.where(rss_wall < 100.0, 20.0, 30.0),
        "ws": (
            WsClientRecord(messages=300, status_sim_s=_status_times(end_wall_s=250.0)),
            WsClientRecord(
                messages=290, status_sim_s=_status_times(end_wall_s=250.0, skip=(50.0, 57.2))
            ),
        ),
        "server_log": "INFO:     up\nWARNING darkstar.a: slow\nERROR darkstar.b: broke\n",
        "api_log": ("WARNING darkstar.a: slow",),
        "plan_sim_s": _SIM0_S + np.arange(0.0, 250_000.0, 3600.0),
        "plan_solve_ms": np.where(np.arange(0.0, 250_000.0, 3600.0) < 130_000.0, 100.0, 200.0),
        "server_cpu_s": 100.0,
        "bench_cpu_s": 10.0,
        "machine_busy_s": 200.0,
    }
    return SoakRecord(**{**fields, **changes})


def test_summarise_soak_start_after_all_paths_answered() -> None:
    result = summarise_soak(_record(), cpu_count=2)
    assert result.start_sim_h == pytest.approx(10.0 * _SIM_PER_WALL / 3600.0)
    assert result.rss_start_mib == pytest.approx(100.0, abs=0.03)  # not the 50 MiB before
    assert result.rss_end_mib == pytest.approx(105.0)
    assert result.rss_growth_pct == pytest.approx(5.0, abs=0.05)
    assert result.rss_growth_first_half_pct == pytest.approx(2.5, abs=0.05)
    assert result.rss_growth_second_half_pct == pytest.approx(2.5, abs=0.05)
    assert result.rss_slope_mib_per_day == pytest.approx(5.0 / (240.0 / 86.4), rel=1e-3)
    curve = result.rss_by_day_mib
    assert len(curve) == 4  # start, after day 1, after day 2, end
    assert curve[0] == result.rss_start_mib
    assert curve[-1] == result.rss_end_mib
    assert list(curve) == sorted(curve)
    assert (result.threads_start, result.threads_end, result.threads_max) == (20.0, 30.0, 30.0)


def test_summarise_soak_settle_time_when_paths_answer_early() -> None:
    result = summarise_soak(_record(all_paths_wall_s=1.0, settle_h=2.0))
    assert result.start_sim_h == pytest.approx(2.0)
    never = summarise_soak(_record(all_paths_wall_s=None, settle_h=2.0))
    assert never.start_sim_h == pytest.approx(2.0)


def test_summarise_soak_latency_windows_and_ratio() -> None:
    result = summarise_soak(_record())
    assert result.window_days == 1.0
    assert result.first_p99_ms == pytest.approx(10.0)
    assert result.last_p99_ms == pytest.approx(11.0)
    assert result.p99_ratio == pytest.approx(1.1)
    assert result.first_requests == pytest.approx(86.4 * 2, abs=2)
    assert result.requests == 500
    assert [p.requests for p in result.paths] == [250, 250]
    assert result.first_solve_ms == (100.0, 100.0)  # the plans' solves, for context
    assert result.last_solve_ms == (200.0, 200.0)


def test_summarise_soak_verdict_and_counts() -> None:
    result = summarise_soak(_record(), cpu_count=2)
    assert result.sim_days_run == pytest.approx(250.0 * _SIM_PER_WALL / 86_400.0)
    assert result.speed_achieved == pytest.approx(_SIM_PER_WALL)
    assert (result.ws_messages_min, result.ws_messages_max) == (290, 300)
    assert result.ws_status_max == 278
    assert result.ws_slots_run == 278
    assert result.ws_max_gap_h == pytest.approx(2.25)  # 7.2 wall s = 2 h, to the next slot
    assert result.errors_logged == ("ERROR darkstar.b: broke",)
    assert result.warnings_logged == ("WARNING darkstar.a: slow",)
    assert result.server_cpu_frac == pytest.approx(100.0 / 250.0)
    assert result.other_cpu_frac == pytest.approx(90.0 / 250.0)
    verdict = result.verdict
    assert verdict.complete
    assert verdict.memory_ok
    assert verdict.latency_ok
    assert not verdict.errors_ok
    assert not verdict.ws_ok
    assert not verdict.passed


def test_soak_result_to_dict_is_json_without_nan() -> None:
    result = summarise_soak(_record(server_cpu_s=None, request_latency_s=np.zeros(500)))
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert data["p99_ratio"] is None  # 0 ms first p99: no ratio
    assert data["server_cpu_frac"] is None
    assert data["verdict"]["passed"] is False
    assert "rss_by_day_mib" in json.loads(text)


def test_print_soak_shows_bars_curve_and_verdict() -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    print_soak(summarise_soak(_record()), console)
    text = console.export_text()
    assert "server RSS [MiB]" in text
    assert "RSS per simulated day [MiB]: 100, 102, 104, 105" in text
    assert "ERROR darkstar.b: broke" in text
    assert "/api/v1/schedule" in text
    assert text.rstrip().endswith("soak: FAIL")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": 0.0}, "days"),
        ({"days": math.nan}, "days"),
        ({"speed": -1.0}, "speed"),
        ({"ws_clients": 0}, "ws_clients"),
        ({"pollers": -1}, "pollers"),
        ({"poll_scale": 0.0}, "poll_scale"),
        ({"warmup_hours": -1.0}, "warmup_hours"),
        ({"days": 0.1, "settle_hours": 2.0}, "settle_hours"),
    ],
)
def test_run_soak_bad_argument_names_it(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        run_soak(**kwargs)
    assert info.value.field == field


@pytest.mark.slow
def test_run_soak_short_run_machinery() -> None:
    result = run_soak(
        days=3.0 / 24.0,
        speed=900.0,
        ws_clients=3,
        pollers=1,
        warmup_hours=1.0,
        settle_hours=0.25,
    )
    assert result.sim_days_run >= 3.0 / 24.0
    assert result.verdict.complete
    # every socket stayed connected and got the status after every slot
    assert result.ws_reconnects == 0, result.ws_errors
    assert result.ws_status_min >= result.ws_slots_run - 1 > 0
    assert result.ws_max_gap_h <= 0.5
    # every UI path and the health clock were asked and answered
    assert result.request_error_count == 0, result.request_errors
    assert {p.path for p in result.paths} == {r.path for r in UI_REQUESTS} | {"/api/v1/health"}
    assert all(p.requests > 0 for p in result.paths)
    assert result.first_requests > 0
    assert result.last_requests > 0
    assert 0.0 < result.first_p50_ms <= result.first_p99_ms
    # memory sampled
    assert result.rss_start_mib > 50.0
    assert result.rss_end_mib > 50.0
    assert result.open_fds_end > 0
    assert math.isfinite(result.rss_growth_pct)
    assert result.errors_logged == ()
    assert json.dumps(result.to_dict(), allow_nan=False)
