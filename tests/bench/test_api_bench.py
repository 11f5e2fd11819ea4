"""Tests for the API benchmark in ``darkstar.bench.api`` (a real server in a subprocess).

Speed is measured by ``darkstar bench api``, never asserted here: the run is short and the
machine may be busy.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
from rich.console import Console

from darkstar.bench.api import ApiBenchResult, print_api_bench, run_api_bench
from darkstar.errors import InputError


def test_run_api_bench_short_run_no_errors() -> None:
    result = run_api_bench(clients=5, duration_s=1.0, warmup_hours=1.0)
    assert result.errors == 0, result.first_error
    assert result.requests > 0
    assert result.response_bytes > 0
    assert result.throughput_per_s == pytest.approx(result.requests / 1.0)
    assert 0.0 < result.latency_p50_ms <= result.latency_p99_ms <= result.latency_max_ms
    console = Console(file=io.StringIO(), width=200, record=True)
    print_api_bench(result, console)
    assert "/api/v1/schedule" in console.export_text()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"clients": 0}, "clients"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"duration_s": math.nan}, "duration_s"),
        ({"path": "api/v1/health"}, "path"),
        ({"path": "/a b"}, "path"),
        ({"warmup_hours": -1.0}, "warmup_hours"),
        ({"simulations": -1}, "simulations"),
    ],
)
def test_run_api_bench_bad_argument_names_it(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        run_api_bench(**kwargs)
    assert info.value.field == field


def test_print_api_bench_no_requests_says_not_met() -> None:
    nan = math.nan
    result = ApiBenchResult(
        path="/api/v1/health",
        clients=1,
        duration_s=1.0,
        requests=0,
        errors=3,
        throughput_per_s=0.0,
        latency_p50_ms=nan,
        latency_p90_ms=nan,
        latency_p99_ms=nan,
        latency_max_ms=nan,
        response_bytes=0,
        client_cpu_frac=0.0,
        server_cpu_frac=None,
        first_error="HTTP 503",
    )
    console = Console(file=io.StringIO(), width=200, record=True)
    print_api_bench(result, console)
    text = console.export_text()
    assert "NOT met (but this run had 1 clients)" in text
    assert "first error: HTTP 503" in text
