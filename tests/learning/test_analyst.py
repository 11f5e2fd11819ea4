"""The Analyst: a hand-computed day, DST days, days without forecasts, the hourly bias by
local hour, run_analyst's upsert and failure behaviour, and ``darkstar analyst``."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.errors import InputError
from darkstar.learning.analyst import (
    ANALYST_BIAS_WINDOW_DAYS,
    BiasSample,
    compute_day,
    hourly_bias_from,
    local_day_bounds,
    read_hourly_bias,
    run_analyst,
)
from darkstar.learning.store import Store, StoreError, open_store
from darkstar.learning.store.daily import read_daily_metrics
from darkstar.learning.store.forecasts import ForecastSlot, record_forecast
from darkstar.learning.store.repository import record_observation, record_plan

TZ = ZoneInfo("Europe/Stockholm")
DAY = date(2026, 6, 10)  # CEST, UTC+2
HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _observe(store: Store, start: datetime, **values: float | None) -> None:
    row: dict[str, Any] = {
        "pv_kwh": 0.0,
        "load_kwh": 1.0,
        "grid_import_kwh": 0.0,
        "grid_export_kwh": 0.0,
        "battery_charge_kwh": 0.0,
        "battery_discharge_kwh": 0.0,
        "water_heater_kwh": 0.0,
        "import_price_sek_per_kwh": 1.0,
        "export_price_sek_per_kwh": 0.5,
        "soc_end_percent": None,
    } | values
    assert record_observation(store, slot_start=start, **row)


def _forecast(store: Store, issued: datetime, slots: dict[datetime, tuple[float, float]]) -> None:
    """Issue a forecast: slot start -> (PV P50, load P50) [kWh]."""
    rows = [
        ForecastSlot(
            slot_start=start,
            pv_p10_kwh=pv,
            pv_p50_kwh=pv,
            pv_p90_kwh=pv,
            load_p10_kwh=load,
            load_p50_kwh=load,
            load_p90_kwh=load,
        )
        for start, (pv, load) in slots.items()
    ]
    assert record_forecast(store, issued_at=issued, slots=rows, pv_source="t", load_source="t")


def _plan_row(start: datetime, *, import_kw: float, export_kw: float, soc: float) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "end": (start + HOUR).isoformat(),
        "import_price_sek_per_kwh": 2.0 if start.hour >= 16 else 1.0,
        "export_price_sek_per_kwh": 0.5,
        "battery_charge_kw": 0.0,
        "battery_discharge_kw": 0.0,
        "grid_import_kw": import_kw,
        "grid_export_kw": export_kw,
        "water_heating_kw": 0.0,
        "projected_soc_percent": soc,
        "action": "idle",
    }


@pytest.fixture
def small_day(store: Store) -> Store:
    """Four hourly slots of DAY (12, 17, 18 and 21 h local), plans and forecasts around them.

    ====  =====================  ================  ==============  =========
    slot  observed pv/load, SoC  forecast pv/load  plan (kW, SoC)  cost SEK
    ====  =====================  ================  ==============  =========
    12 h  3.0 / 1.0, 60 %        4.0 / 1.5         export 2.5, 62  -1.0
    17 h  0.5 / 2.0, 12 %        0.0 / 1.5         import 1.0, 20   3.0
    18 h  0.0 / 1.0, 12.5 %      none as issued    import 1.0, 15   2.0
    21 h  0.0 / 0.5, 11 %        0.0 / 0.75        no plan          0.5
    ====  =====================  ================  ==============  =========
    """
    s12, s17, s18, s21 = (_local(DAY, h) for h in (12, 17, 18, 21))
    _observe(
        store, s12, pv_kwh=3.0, grid_export_kwh=2.0, battery_charge_kwh=1.0, soc_end_percent=60.0
    )
    _observe(
        store,
        s17,
        pv_kwh=0.5,
        load_kwh=2.0,
        grid_import_kwh=1.5,
        import_price_sek_per_kwh=2.0,
        battery_discharge_kwh=0.8,
        soc_end_percent=12.0,
    )
    _observe(store, s18, grid_import_kwh=1.0, import_price_sek_per_kwh=2.0, soc_end_percent=12.5)
    _observe(store, s21, load_kwh=0.5, grid_import_kwh=0.5, soc_end_percent=11.0)
    # outside the local day: the hours before and after it
    _observe(store, _local(DAY, 0) - HOUR, grid_import_kwh=50.0, soc_end_percent=0.0)
    _observe(store, _local(DAY + timedelta(days=1), 0), grid_import_kwh=50.0)
    # an older forecast (replaced), the one in force, one issued after 12 h and one after 18 h
    _forecast(store, _local(DAY, 0) - HOUR, {s12: (9.0, 9.0), s17: (9.0, 9.0)})
    _forecast(store, _local(DAY, 6), {s12: (4.0, 1.5), s17: (0.0, 1.5)})
    _forecast(store, _local(DAY, 12, 30), {s17: (0.0, 1.5)})
    _forecast(store, _local(DAY, 18, 30), {s18: (5.0, 5.0), s21: (0.0, 0.75)})
    rows = [
        _plan_row(s12, import_kw=0.0, export_kw=2.5, soc=62.0),
        _plan_row(s17, import_kw=1.0, export_kw=0.0, soc=20.0),
        _plan_row(s18, import_kw=1.0, export_kw=0.0, soc=15.0),
    ]
    meta = {"planned_at": _local(DAY, 6).isoformat(), "mode": "full", "status": "optimal"}
    assert record_plan(store, document={"meta": meta, "schedule": rows}) is not None
    return store


# --- compute_day ----------------------------------------------------------------------


def test_compute_day_hand_computed(small_day: Store) -> None:
    at = datetime(2026, 6, 11, 3, tzinfo=UTC)
    m = compute_day(small_day, day=DAY, tz=TZ, min_soc_percent=10.0, computed_at=at)
    assert (m.day, m.timezone, m.computed_at) == (DAY, "Europe/Stockholm", at)
    assert (m.observed_slots, m.matched_slots, m.forecast_slots) == (4, 3, 3)
    # PV errors (f - a): 12 h +1.0, 17 h -0.5, 21 h 0.0 (18 h had no forecast as issued)
    assert m.pv_mae_kwh == pytest.approx(1.5 / 3)
    assert m.pv_bias_kwh == pytest.approx(0.5 / 3)
    # load errors: 12 h +0.5, 17 h -0.5, 21 h +0.25
    assert m.load_mae_kwh == pytest.approx(1.25 / 3)
    assert m.load_bias_kwh == pytest.approx(0.25 / 3)
    assert m.actual_cost_sek == pytest.approx(-1.0 + 3.0 + 2.0 + 0.5)
    assert m.planned_cost_sek == pytest.approx(-1.25 + 2.0 + 2.0)
    assert m.cost_deviation_sek == pytest.approx((-1.0 + 3.0 + 2.0) - 2.75)
    assert m.battery_efficiency_realized == pytest.approx(0.8)
    # |62 - 60|, |20 - 12|, |15 - 12.5| over the planned slots
    assert m.soc_tracking_error_percent == pytest.approx((2.0 + 8.0 + 2.5) / 3)
    # evening (16-20 h) slots at or below 10 + 2 %: 17 h (12 %), not 18 h (12.5 %); the
    # 21 h slot (11 %) is after the evening
    assert m.low_soc_events == 1


def test_compute_day_without_min_soc_has_no_low_soc_count(small_day: Store) -> None:
    assert compute_day(small_day, day=DAY, tz=TZ).low_soc_events is None
    assert compute_day(small_day, day=DAY, tz=TZ, min_soc_percent=15.0).low_soc_events == 2


def test_compute_day_without_forecasts_or_plans_is_null_not_zero(store: Store) -> None:
    for hour in range(8, 12):
        _observe(store, _local(DAY, hour), grid_import_kwh=1.0)
    m = compute_day(store, day=DAY, tz=TZ, min_soc_percent=10.0)
    assert (m.observed_slots, m.forecast_slots, m.matched_slots) == (4, 0, 0)
    assert m.actual_cost_sek == pytest.approx(4.0)
    for name in (
        "pv_mae_kwh",
        "pv_bias_kwh",
        "load_mae_kwh",
        "load_bias_kwh",
        "planned_cost_sek",
        "cost_deviation_sek",
        "battery_efficiency_realized",
        "soc_tracking_error_percent",
        "low_soc_events",  # no evening SoC reading: not evidence of zero events
    ):
        assert getattr(m, name) is None, name


def test_compute_day_without_observations_has_no_cost(store: Store) -> None:
    _forecast(store, _local(DAY, 0), {_local(DAY, 12): (1.0, 1.0)})
    m = compute_day(store, day=DAY, tz=TZ)
    assert (m.observed_slots, m.forecast_slots) == (0, 0)
    assert m.actual_cost_sek is None
    assert m.pv_mae_kwh is None


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 10), 24)],
)
def test_compute_day_dst_days_count_their_local_hours(store: Store, day: date, hours: int) -> None:
    start, end = local_day_bounds(day, TZ)
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(TZ).hour == 0
    slot = start - 2 * HOUR  # two hours either side, which must not count
    while slot < end + 2 * HOUR:
        _observe(store, slot, pv_kwh=1.0, soc_end_percent=50.0)
        slot += HOUR
    _forecast(store, start - 3 * HOUR, {start + k * HOUR: (1.5, 1.0) for k in range(-2, 27)})
    m = compute_day(store, day=day, tz=TZ, min_soc_percent=10.0)
    assert (m.observed_slots, m.forecast_slots) == (hours, hours)
    assert m.pv_bias_kwh == pytest.approx(0.5)
    assert m.load_mae_kwh == pytest.approx(0.0)
    assert m.low_soc_events == 0


def test_compute_day_refuses_bad_input(store: Store) -> None:
    with pytest.raises(InputError) as info:
        compute_day(store, day=DAY, tz=TZ, min_soc_percent=float("nan"))
    assert info.value.field == "min_soc_percent"
    with pytest.raises(InputError) as info:
        compute_day(store, day=_local(DAY, 0), tz=TZ)  # type: ignore[arg-type]
    assert info.value.field == "day"


# --- hourly bias ----------------------------------------------------------------------


def _samples(days: int, *, pv_error_at: int, pv_error_kwh: float) -> list[BiasSample]:
    """15-minute slots from 6 to 21 h local for ``days`` days; PV off at one local hour."""
    out = []
    for d in range(days):
        for hour in range(6, 21):
            for quarter in range(4):
                start = _local(DAY + timedelta(days=d), hour, 15 * quarter)
                error = pv_error_kwh if hour == pv_error_at else 0.0
                out.append(
                    BiasSample(
                        slot_start=start.astimezone(UTC),
                        slot_duration=QUARTER,
                        pv_forecast_kwh=0.5 + error,
                        pv_kwh=0.5,
                        load_forecast_kwh=0.2 if hour == 18 else 0.3,
                        load_kwh=0.3,
                    )
                )
    return out


def test_hourly_bias_from_is_per_local_hour_in_kw() -> None:
    bias = hourly_bias_from(_samples(2, pv_error_at=12, pv_error_kwh=0.25), tz=TZ, window_days=14)
    assert bias.pv_kw[12] == pytest.approx(1.0)  # 0.25 kWh per 15 min
    assert bias.pv_kw[10] == 0.0  # 12 h local is 10 h UTC: the UTC hour has no bias
    assert bias.pv_samples[12] == 8  # two days of four slots
    assert bias.load_kw[18] == pytest.approx(-0.4)  # under-forecast 0.1 kWh per 15 min
    assert bias.load_kw[17] == pytest.approx(0.0)
    assert bias.window_days == 14


def test_hourly_bias_from_hours_without_samples_are_zero() -> None:
    bias = hourly_bias_from(_samples(1, pv_error_at=12, pv_error_kwh=0.25), tz=TZ, window_days=7)
    empty = [*range(6), *range(21, 24)]
    assert [bias.pv_samples[h] for h in empty] == [0] * len(empty)
    assert [bias.load_samples[h] for h in empty] == [0] * len(empty)
    assert [bias.pv_kw[h] for h in empty] == [0.0] * len(empty)
    assert all(bias.pv_samples[h] == 4 for h in range(6, 21))
    assert hourly_bias_from([], tz=TZ, window_days=7).pv_samples == (0,) * 24


def test_hourly_bias_from_refuses_bad_samples() -> None:
    good = _samples(1, pv_error_at=12, pv_error_kwh=0.0)[:2]
    bad = BiasSample(
        slot_start=good[1].slot_start,
        slot_duration=timedelta(0),
        pv_forecast_kwh=0.0,
        pv_kwh=0.0,
        load_forecast_kwh=0.0,
        load_kwh=0.0,
    )
    with pytest.raises(InputError) as info:
        hourly_bias_from([good[0], bad], tz=TZ, window_days=7)
    assert info.value.field == "pairs[1].slot_duration"
    with pytest.raises(InputError) as info:
        hourly_bias_from(good, tz=TZ, window_days=0)
    assert info.value.field == "window_days"


def test_read_hourly_bias_reads_the_window_before_now(store: Store) -> None:
    noon = _local(DAY, 12)
    slots = [noon + k * QUARTER for k in range(4)]
    for slot in slots:
        _observe(store, slot, pv_kwh=0.5, load_kwh=0.3)
    _forecast(store, _local(DAY, 6), {s: (0.75, 0.3) for s in slots})
    old = noon - timedelta(days=ANALYST_BIAS_WINDOW_DAYS + 1)  # outside the window
    _observe(store, old, pv_kwh=0.0)
    _forecast(store, old - HOUR, {old: (9.0, 9.0)})
    bias = read_hourly_bias(store, now=_local(DAY, 14), tz=TZ)
    assert bias.pv_kw[12] == pytest.approx(1.0)  # 0.25 kWh per 15-minute slot
    assert bias.pv_samples[12] == 4
    assert sum(bias.pv_samples) == 4
    assert bias.load_kw[12] == pytest.approx(0.0)
    assert bias.window_days == ANALYST_BIAS_WINDOW_DAYS


# --- run_analyst ----------------------------------------------------------------------


def test_run_analyst_upserts_completed_days_and_recomputes_them(small_day: Store) -> None:
    store = small_day  # observed on the 9th (23 h), the 10th and the 11th (0 h)
    now = _local(DAY + timedelta(days=1), 10)  # the 11th is still running
    report = run_analyst(store, now=now, tz=TZ, min_soc_percent=10.0)
    assert [m.day for m in report.days] == [DAY - timedelta(days=1), DAY]
    assert report.empty_days == tuple(DAY - timedelta(days=k) for k in range(6, 1, -1))
    assert report.write_error is None
    assert report.bias.pv_samples[12] == 1
    stored = read_daily_metrics(store)
    assert [m.day for m in stored] == [DAY, DAY - timedelta(days=1)]
    assert stored[0] == report.days[1]
    assert stored[0].computed_at == now
    # a late observation of the 10th: the next run replaces its row
    _observe(store, _local(DAY, 22), grid_import_kwh=2.0)
    later = now + HOUR
    run_analyst(store, now=later, tz=TZ, min_soc_percent=10.0)
    stored = read_daily_metrics(store)
    assert len(stored) == 2
    assert stored[0].observed_slots == 5
    assert stored[0].actual_cost_sek == pytest.approx(4.5 + 2.0)
    assert stored[0].computed_at == later
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["days"][1]["day"] == "2026-06-10"
    assert payload["bias"]["pv_samples"][12] == 1


def test_run_analyst_backfill_window_counts_back_from_yesterday(store: Store) -> None:
    for back in (1, 3, 4):
        _observe(store, _local(DAY - timedelta(days=back), 12))
    report = run_analyst(store, now=_local(DAY, 0), tz=TZ, backfill_days=3)
    assert [m.day for m in report.days] == [DAY - timedelta(days=3), DAY - timedelta(days=1)]
    assert report.empty_days == (DAY - timedelta(days=2),)


def test_run_analyst_write_failure_is_reported_not_raised(small_day: Store, db_path: Path) -> None:
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        report = run_analyst(small_day, now=_local(DAY + timedelta(days=1), 10), tz=TZ)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert report.write_error == f"cannot write {db_path}: database is locked"
    assert [m.day for m in report.days] == [DAY - timedelta(days=1), DAY]
    assert report.bias.pv_samples[12] == 1
    assert read_daily_metrics(small_day) == []


def test_run_analyst_read_failure_raises_store_error(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE slot_observations"))
    with pytest.raises(StoreError):
        run_analyst(store, now=_local(DAY, 10), tz=TZ)


def test_run_analyst_refuses_bad_input(store: Store) -> None:
    with pytest.raises(InputError) as info:
        run_analyst(store, now=datetime(2026, 6, 10, 10), tz=TZ)  # noqa: DTZ001 - under test
    assert info.value.field == "now"
    with pytest.raises(InputError) as info:
        run_analyst(store, now=_local(DAY, 10), tz=TZ, backfill_days=0)
    assert info.value.field == "backfill_days"


# --- darkstar analyst -----------------------------------------------------------------

CONFIG = """\
battery:
  min_soc_percent: 10.0
location:
  timezone: Europe/Stockholm
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> tuple[Path, date]:
    """A data folder with one observed, forecast day two days before today (local)."""
    folder = tmp_path / "serve"
    day = datetime.now(UTC).astimezone(TZ).date() - timedelta(days=2)
    store = open_store(folder / "planner_learning.db")
    try:
        slots = [_local(day, 12) + k * QUARTER for k in range(4)]
        for slot in slots:
            _observe(store, slot, pv_kwh=0.5, grid_export_kwh=0.2, soc_end_percent=50.0)
        _forecast(store, _local(day, 6), {s: (0.75, 1.0) for s in slots})
    finally:
        store.close()
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return folder, day


def test_analyst_cli_prints_and_keeps_the_days(data_dir: tuple[Path, date]) -> None:
    folder, day = data_dir
    result = CliRunner().invoke(app, ["analyst", "--data-dir", str(folder)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Analyst at" in result.stdout
    assert day.isoformat() in result.stdout
    assert "PV bias (14 d, forecast - actual): largest +1.000 kW at 12 h local (4 slots)" in (
        result.stdout
    )
    store = open_store(folder / "planner_learning.db")
    try:
        stored = read_daily_metrics(store)
    finally:
        store.close()
    assert [m.day for m in stored] == [day]
    assert stored[0].pv_bias_kwh == pytest.approx(0.25)
    assert stored[0].actual_cost_sek == pytest.approx(-0.4)


def test_analyst_cli_json(data_dir: tuple[Path, date]) -> None:
    folder, day = data_dir
    result = CliRunner().invoke(app, ["analyst", "--data-dir", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [d["day"] for d in report["days"]] == [day.isoformat()]
    assert report["days"][0]["forecast_slots"] == 4
    assert report["days"][0]["timezone"] == "Europe/Stockholm"
    assert report["days"][0]["low_soc_events"] is None  # no evening reading
    assert report["bias"]["pv_kw"][12] == pytest.approx(1.0)
    assert report["write_error"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "error: --timezone: unknown time zone 'Mars/Olympus'"),
        (["--config", "nowhere.yaml"], "error: --config: nowhere.yaml not found"),
    ],
)
def test_analyst_cli_bad_options_are_one_line_exit_2(
    data_dir: tuple[Path, date], args: list[str], message: str
) -> None:
    folder, _ = data_dir
    result = CliRunner().invoke(app, ["analyst", "--data-dir", str(folder), *args])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [message]


def test_analyst_cli_missing_store_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["analyst", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --data-dir: no learning store at {tmp_path / 'nowhere' / 'planner_learning.db'}"
    ]
    assert not (tmp_path / "nowhere").exists()
