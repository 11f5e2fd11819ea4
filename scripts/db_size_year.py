# ruff: noqa: T201
"""The learning store's size over time, without and with retention (docs/housekeeping.md).

Two measurements, each run twice (retention off, then on):

``agent``
    The service's agent loop on the simulated home from 1 January 2018 (HiGHS plans every
    hour, the executor logs every slot, Reflex runs daily), ``--days`` days at unbounded
    speed. With retention on, the service's own daily job prunes at the config's smallest
    allowed days (observations 91, plans, forecasts and weather runs 15, execution log 7,
    strategy log 30), so the plateau shows within weeks. The simulated home keeps no weather
    runs and plans on perfect forecasts, which it records about once a day.

``synthetic``
    A real home with Aurora, at the row rates the agent loop writes (plans of 190 slots
    every hour, the executor log and observations every slot) plus what the simulated home
    does not write: a forecast of 190 slots every hour (Aurora issues on each new weather
    run), a weather run of 60 hours every hour, 8 strategy-log rows and the Analyst's 7 days
    each day; all through the store's repository functions, no solver. With retention on,
    :func:`~darkstar.learning.store.retention.prune` runs daily at the default days. Ends
    with the first prune of the unpruned store (a service upgraded after years) and a
    ``VACUUM``, timed.

Sizes are the database file after a WAL checkpoint.

    .venv/bin/python scripts/db_size_year.py agent --days 60
    .venv/bin/python scripts/db_size_year.py synthetic --days 1095
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import text

from darkstar.backends import open_runtime
from darkstar.config.models import RetentionConfig
from darkstar.learning.store import Store, open_store
from darkstar.learning.store.daily import DayMetrics, write_daily_metrics
from darkstar.learning.store.forecasts import ForecastSlot, record_forecast
from darkstar.learning.store.repository import log_execution, record_observation, record_plan
from darkstar.learning.store.retention import PrunedTable, prune, vacuum
from darkstar.learning.store.strategy_log import StrategyKind, append_strategy_entry
from darkstar.learning.store.weather import record_weather_run
from darkstar.service.housekeeping import retention_policy

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2018, 1, 1, tzinfo=TZ).astimezone(UTC)
SLOT = timedelta(minutes=15)
PLAN_SLOTS = 190  # measured: slot_plans / plans of the agent loop
RUN_HOURS = 60  # a weather run reaches 49-72 hours
CHECKPOINTS = (7, 30, 60, 90, 180, 365, 730, 1095)
SMALL_RETENTION = (
    "retention:\n  observations_days: 91\n  plans_days: 15\n  forecasts_days: 15\n"
    "  weather_runs_days: 15\n  execution_log_days: 7\n  strategy_log_days: 30\n"
)
TABLES = [t.value for t in PrunedTable]


def _measure(store: Store) -> tuple[int, dict[str, int]]:
    """Return the file's size after a WAL checkpoint [bytes] and the rows per table."""
    with store.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        rows = {
            t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
            for t in TABLES
        }
    return store.path.stat().st_size, rows


def _print(label: str, day: int, size: int, rows: dict[str, int], elapsed_s: float) -> None:
    counts = " ".join(f"{t}={n}" for t, n in rows.items())
    print(f"{label:>5} day {day:>4}: {size / 1e6:7.1f} MB  ({elapsed_s:6.0f} s)  {counts}")
    sys.stdout.flush()


def run_agent(folder: Path, *, days: int, retention: bool) -> None:
    """Run the simulated home's service loop for ``days`` days (retention at the minimums)."""
    config = SMALL_RETENTION if retention else "retention:\n  enabled: false\n"
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    runtime = open_runtime(
        data_dir=folder, config_path=folder / "config.yaml", speed=math.inf, start=START
    )
    label = "on" if retention else "off"
    started = time.perf_counter()
    try:
        for day in range(1, days + 1):
            runtime.warm_up(96)
            runtime.housekeeping.join(600)
            if day in CHECKPOINTS or day == days:
                size, rows = _measure(runtime.agent.store)
                _print(label, day, size, rows, time.perf_counter() - started)
        problems = runtime.problems()
        if problems:
            print(f"problems: {problems}")
    finally:
        runtime.stop()


def _plan_document(planned_at: datetime, rng: np.random.Generator) -> dict[str, object]:
    values = rng.random((PLAN_SLOTS, 8))
    rows = [
        {
            "start": (planned_at + k * SLOT).isoformat(),
            "end": (planned_at + (k + 1) * SLOT).isoformat(),
            "import_price_sek_per_kwh": 1.5 * v[0],
            "export_price_sek_per_kwh": 0.8 * v[0],
            "adjusted_pv_kwh": v[1],
            "adjusted_load_kwh": v[2],
            "battery_charge_kw": 5 * v[3],
            "battery_discharge_kw": 0.0,
            "grid_import_kw": 3 * v[4],
            "grid_export_kw": 0.0,
            "water_heating_kw": 0.0,
            "projected_soc_percent": 100 * v[5],
            "soc_target_percent": 100 * v[6],
            "planned_cost_sek": v[7],
            "action": "charge",
            "reason": "cheap_grid",
        }
        for k, v in enumerate(values)
    ]
    meta = {
        "planned_at": planned_at.isoformat(),
        "mode": "full",
        "status": "optimal",
        "objective_sek": 12.3,
        "solve_time_ms": 150.0,
    }
    return {"meta": meta, "schedule": rows}


def _write_hour(store: Store, hour: datetime, rng: np.random.Generator) -> None:
    """Write one hour of a live home with Aurora: a plan, a forecast, a weather run, 4 slots."""
    assert record_plan(store, document=_plan_document(hour, rng)) is not None
    quantiles = np.sort(rng.random((PLAN_SLOTS, 3)), axis=1)
    slots = [
        ForecastSlot(
            slot_start=hour + k * SLOT,
            pv_p10_kwh=q[0],
            pv_p50_kwh=q[1],
            pv_p90_kwh=q[2],
            load_p10_kwh=q[0],
            load_p50_kwh=q[1],
            load_p90_kwh=q[2],
        )
        for k, q in enumerate(quantiles)
    ]
    assert record_forecast(
        store,
        issued_at=hour,
        slots=slots,
        pv_source="aurora model 2018",
        load_source="aurora model 2018",
    )
    index = pd.date_range(hour, periods=RUN_HOURS, freq="h", tz="UTC")
    weather = rng.random((RUN_HOURS, 5)) * [800, 600, 200, 20, 100]
    columns = ["ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2", "temp_air_c", "cloud_cover_percent"]
    hourly = pd.DataFrame(weather, index=index, columns=columns)
    assert record_weather_run(store, issued_at=hour + timedelta(minutes=3), hourly=hourly)
    for k in range(4):
        slot = hour + k * SLOT
        e = rng.random(6)
        assert record_observation(
            store,
            slot_start=slot,
            pv_kwh=e[0],
            load_kwh=e[1],
            grid_import_kwh=e[2],
            grid_export_kwh=0.0,
            battery_charge_kwh=e[3],
            battery_discharge_kwh=e[4],
            water_heater_kwh=0.0,
            import_price_sek_per_kwh=1.2,
            export_price_sek_per_kwh=0.6,
            soc_end_percent=100 * e[5],
            water_temp_c=55.0,
            recorded_at=slot + SLOT,
        )
        commanded = {
            "mode": "force_charge",
            "charge_limit_kw": 5 * e[3],
            "discharge_limit_kw": 0.0,
            "soc_target_percent": 80.0,
            "water_setpoint_c": 55.0,
            "planned_soc_percent": 100 * e[5],
            "applied": True,
        }
        assert log_execution(
            store,
            at=slot + SLOT,
            slot_start=slot,
            planned_action="charge",
            commanded=commanded,
            observed_soc_percent=100 * e[5],
        )


def _write_day_extras(store: Store, day: date, at: datetime) -> None:
    """Write a day's strategy-log rows (4 proposals, 4 decisions) and the Analyst's 7 days."""
    for k in range(8):
        kind = StrategyKind.REFLEX_PROPOSAL if k < 4 else StrategyKind.STRATEGY
        assert append_strategy_entry(
            store,
            at=at + timedelta(seconds=k),
            kind=kind,
            rule=f"rule.{k}",
            message="capacity 10 -> 9.5: 12 deep discharges measured 9.1 kWh",
            inputs={"low_soc_days": 4, "window_days": 30, "bias_frac": -0.12},
            before={"battery.capacity_kwh": 10.0},
            after={"battery.capacity_kwh": 9.5},
        )
    days = [
        DayMetrics(
            day=day - timedelta(days=k),
            timezone="Europe/Stockholm",
            observed_slots=96,
            matched_slots=96,
            forecast_slots=96,
            pv_mae_kwh=0.05,
            pv_bias_kwh=0.01,
            load_mae_kwh=0.04,
            load_bias_kwh=-0.01,
            planned_cost_sek=20.0,
            actual_cost_sek=21.0,
            cost_deviation_sek=1.0,
            battery_efficiency_realized=0.9,
            soc_tracking_error_percent=3.0,
            low_soc_events=0,
            computed_at=at,
        )
        for k in range(1, 8)
    ]
    assert write_daily_metrics(store, days)


def run_synthetic(folder: Path, *, days: int, retention: bool) -> None:
    """Write ``days`` of a live home's rows; prune daily at the default days with ``retention``."""
    store = open_store(folder / "planner_learning.db")
    rng = np.random.default_rng(0)
    policy = retention_policy(RetentionConfig())
    label = "on" if retention else "off"
    started = time.perf_counter()
    worst = (0.0, 0)
    try:
        for day in range(1, days + 1):
            midnight = START + timedelta(days=day - 1)
            for hour in range(24):
                _write_hour(store, midnight + timedelta(hours=hour), rng)
            local = (midnight + timedelta(hours=4, minutes=45)).astimezone(TZ)
            _write_day_extras(store, local.date(), local.astimezone(UTC))
            if retention:
                report = prune(store, now=local, policy=policy, pause_s=0.0)
                worst = max(worst, (report.seconds, report.batches))
            if day in CHECKPOINTS or day == days:
                size, rows = _measure(store)
                _print(label, day, size, rows, time.perf_counter() - started)
        if retention:
            print(f"slowest daily prune: {worst[0]:.2f} s in {worst[1]} batches")
        else:
            end = START + timedelta(days=days)
            first = prune(store, now=end, policy=policy, pause_s=0.0)
            print(
                f"first prune of the unpruned store: {first.describe()}; "
                f"{first.seconds / max(1, first.batches) * 1000:.0f} ms a batch"
            )
            wal = store.path.with_name(store.path.name + "-wal")
            print(f"WAL after it: {wal.stat().st_size / 1e6:.1f} MB")
            began = time.perf_counter()
            before, after = vacuum(store)
            print(
                f"VACUUM: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB in "
                f"{time.perf_counter() - began:.1f} s"
            )
    finally:
        store.close()


def main() -> int:
    """Run one measurement without and with retention; print size and rows at checkpoints."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["agent", "synthetic"])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("build/db-size"))
    parser.add_argument("--only", choices=["off", "on"], help="run one of the two")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    run = run_agent if args.mode == "agent" else run_synthetic
    for retention in (False, True):
        label = "on" if retention else "off"
        if args.only not in (None, label):
            continue
        folder = args.out / f"{args.mode}-{label}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        first = START.astimezone(TZ).date()
        print(f"--- {args.mode}, retention {label}, {args.days} days from {first} ---")
        run(folder, days=args.days, retention=retention)
    return 0


if __name__ == "__main__":
    sys.exit(main())
