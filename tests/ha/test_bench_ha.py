"""``darkstar bench ha``: a short run through the real sandbox (timings are not asserted)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from darkstar.bench.ha import print_ha_bench, run_ha_bench
from darkstar.errors import InputError


def test_run_ha_bench_times_every_cycle() -> None:
    result = run_ha_bench(slots=5)
    assert len(result.plan_cycles_ms) == 2  # at the start and one hour later
    assert len(result.other_cycles_ms) == 3
    assert len(result.house_step_ms) == 5
    assert all(ms > 0 for ms in result.plan_cycles_ms + result.other_cycles_ms)
    assert result.writes > 0
    console = Console(file=io.StringIO(), width=120, record=True)
    print_ha_bench(result, console)
    text = console.export_text()
    assert "with planning" in text
    assert "goal: every cycle under 2 s" in text


def test_run_ha_bench_refuses_too_few_slots() -> None:
    with pytest.raises(InputError) as info:
        run_ha_bench(slots=1)
    assert info.value.field == "slots"
