"""Tests of the backtest report (``simulation/report.py``).

Two kinds of input: hand-made :class:`YearData` of a few slots with round prices, where
every metric can be worked out by hand, and a real three-day SE4 window from local
2018-01-30 to 2018-02-02 (all four strategies from :func:`run_backtest`), which crosses a
local month boundary one hour before the UTC one.

The default battery: 10 kWh, SoC 10-95 % (usable 8.5 kWh, floor 1.0 kWh), efficiencies
0.95, wear 0.2 SEK/kWh each way.
"""

from __future__ import annotations

import base64
import re
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from darkstar.config import parse_config
from darkstar.config.models import DarkstarConfig
from darkstar.simulation.backtest import BacktestSpec, LoopResult, run_backtest
from darkstar.simulation.datasets import YearData, load_year
from darkstar.simulation.report import (
    _total_cost,
    monthly_costs,
    print_report,
    slot_costs_sek,
    strategy_metrics,
    write_chart,
    write_csv,
)

TZ_NAME = "Europe/Stockholm"
TZ = ZoneInfo(TZ_NAME)
H = 0.25
SEK_TOL = 1e-6
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STRATEGIES = ["no_battery", "heuristic", "kepler", "perfect_foresight"]
FLOW_FIELDS = (
    "grid_import_kw",
    "grid_export_kw",
    "battery_charge_kw",
    "battery_discharge_kw",
    "soc_kwh",
    "planned_soc_kwh",
)

Real = tuple[dict[str, LoopResult], YearData, int]


@pytest.fixture(scope="module")
def cfg() -> DarkstarConfig:
    return parse_config(None)


def _hand_year(start_utc: str, imp: list[float], exp: list[float], load: float) -> YearData:
    """Hand-made prices [SEK/kWh], no PV and a constant load [kW] from ``start_utc``."""
    index = pd.date_range(start_utc, periods=len(imp), freq="15min", tz="UTC")

    def series(values: Any, name: str) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=np.float64), index=index, name=name)

    return YearData(
        spot_price_sek_per_kwh=series(imp, "spot_price_sek_per_kwh"),
        import_price_sek_per_kwh=series(imp, "import_price_sek_per_kwh"),
        export_price_sek_per_kwh=series(exp, "export_price_sek_per_kwh"),
        pv_kw=series(np.zeros(len(imp)), "pv_kw"),
        load_kw=series(np.full(len(imp), load), "load_kw"),
        temp_air_c=series(np.full(len(imp), 10.0), "temp_air_c"),
        station="hand-made",
    )


def _result(name: str, **arrays: list[float]) -> LoopResult:
    n = len(arrays["grid_import_kw"])
    zeros = np.zeros(n)
    values = {k: np.asarray(arrays.get(k, zeros), dtype=np.float64) for k in FLOW_FIELDS}
    values["planned_soc_kwh"] = values["soc_kwh"]
    return LoopResult(
        name=name,
        index=np.arange(n),
        pv_used_kw=zeros,
        load_shed_kw=zeros,
        **values,
    )


# Eight slots from 16:00 local (15:00 UTC, CET) on 2018-01-10, all in the evening peak.
# Load 2 kW, no PV. Import 1 SEK/kWh for an hour, then 3; export 0.5, then 2.
HAND_IMPORT = [1.0] * 4 + [3.0] * 4
HAND_EXPORT = [0.5] * 4 + [2.0] * 4
#: No battery: 0.25 h x 2 kW x (4 x 1 + 4 x 3) = 8.0 SEK.
NO_BATTERY = _result("no_battery", grid_import_kw=[2.0] * 8, soc_kwh=[1.0] * 8)
#: Charge 4 kW for two slots (+1.9 kWh), then discharge 1.805 kW for four (-1.9 kWh).
#: Energy 0.25 (6 x 1 x 2 + 2 x 1 x 2 + 0.195 x 3 x 4) = 4.585; wear 0.2 x 0.25 x (8 + 7.22)
#: = 0.761; total 5.346 SEK.
CYCLED = _result(
    "cycled",
    grid_import_kw=[6.0, 6.0, 2.0, 2.0] + [0.195] * 4,
    battery_charge_kw=[4.0, 4.0] + [0.0] * 6,
    battery_discharge_kw=[0.0] * 4 + [1.805] * 4,
    soc_kwh=[1.95, 2.9, 2.9, 2.9, 2.425, 1.95, 1.475, 1.0],
)
#: Charge the same and keep it: energy 0.25 (12 + 4 + 24) = 10.0, wear 0.4, end SoC 2.9,
#: credit 1.9 kWh x mean export 1.25 x 0.95 = 2.25625: total 8.14375 SEK.
CHARGED = _result(
    "charged",
    grid_import_kw=[6.0, 6.0] + [2.0] * 6,
    battery_charge_kw=[4.0, 4.0] + [0.0] * 6,
    soc_kwh=[1.95] + [2.9] * 7,
)


@pytest.fixture(scope="module")
def hand_year() -> YearData:
    return _hand_year("2018-01-10 15:00", HAND_IMPORT, HAND_EXPORT, load=2.0)


@pytest.fixture(scope="module")
def real() -> Real:
    """``run_backtest`` on local 2018-01-30..2018-02-01 (4 more days in the slice)."""
    year = load_year(area="SE4", year=2018)

    def slot(day: date) -> int:
        start = datetime(day.year, day.month, day.day, tzinfo=TZ)
        return int(year.index.get_loc(pd.Timestamp(start).tz_convert("UTC")))

    first, n = slot(date(2018, 1, 30)), 3 * 96
    end = slot(date(2018, 2, 6))
    data = YearData(
        **{
            f.name: getattr(year, f.name)
            if f.name == "station"
            else getattr(year, f.name).iloc[first:end]
            for f in fields(year)
        }
    )
    run = run_backtest(data, parse_config(None), BacktestSpec(), n_slots=n, timezone=TZ_NAME)
    return run.results, data, n


# --- strategy_metrics --------------------------------------------------------------------


def test_total_cost_hand_checked(hand_year: YearData, cfg: DarkstarConfig) -> None:
    assert _total_cost(NO_BATTERY, hand_year, cfg, 8) == pytest.approx(8.0, abs=SEK_TOL)
    assert _total_cost(CYCLED, hand_year, cfg, 8) == pytest.approx(5.346, abs=SEK_TOL)
    assert _total_cost(CHARGED, hand_year, cfg, 8) == pytest.approx(8.14375, abs=SEK_TOL)


def test_strategy_metrics_hand_checked(hand_year: YearData, cfg: DarkstarConfig) -> None:
    results = {"no_battery": NO_BATTERY, "cycled": CYCLED, "charged": CHARGED}
    metrics = {
        m.name: m for m in strategy_metrics(results, hand_year, cfg, n_slots=8, timezone=TZ_NAME)
    }
    assert list(metrics) == ["no_battery", "cycled", "charged"]
    cycled = metrics["cycled"]
    assert cycled.cost_sek == pytest.approx(5.346, abs=SEK_TOL)
    assert cycled.savings_sek == pytest.approx(2.654, abs=SEK_TOL)
    assert cycled.cycles == pytest.approx(1.805 / 8.5, abs=1e-12)  # 1.805 kWh out / 8.5
    assert cycled.peak_import_kw == 6.0
    assert cycled.end_soc_kwh == 1.0
    assert cycled.low_soc_events == 1  # 1.0 kWh at 17:45, within 0.1 kWh of the floor
    assert cycled.self_consumption_percent == 0.0  # no PV at all
    assert metrics["charged"].cycles == 0.0
    assert metrics["charged"].low_soc_events == 0  # never below 2.9 kWh
    assert metrics["charged"].savings_sek == pytest.approx(-0.14375, abs=SEK_TOL)
    assert metrics["no_battery"].savings_sek == 0.0
    assert metrics["no_battery"].low_soc_events == 1
    # no perfect-foresight reference: no capture at all
    assert all(m.capture_percent is None for m in metrics.values())


def test_strategy_metrics_capture_hand_checked(hand_year: YearData, cfg: DarkstarConfig) -> None:
    best = _result("perfect_foresight", **{k: getattr(CYCLED, k).tolist() for k in FLOW_FIELDS[:5]})
    results = {"no_battery": NO_BATTERY, "charged": CHARGED, "perfect_foresight": best}
    capture = {
        m.name: m.capture_percent
        for m in strategy_metrics(results, hand_year, cfg, n_slots=8, timezone=TZ_NAME)
    }
    assert capture["no_battery"] is None
    assert capture["perfect_foresight"] == pytest.approx(100.0, abs=1e-9)
    assert capture["charged"] == pytest.approx(100.0 * -0.14375 / 2.654, abs=1e-9)


def test_strategy_metrics_low_soc_events_count_local_days(cfg: DarkstarConfig) -> None:
    # 2018-01-10 16:00 local to 2018-01-12 19:45 local, hourly steps are irrelevant: every
    # evening (16-20 local) the SoC sits on the floor -> 3 distinct local days
    n = 2 * 96 + 16
    year = _hand_year("2018-01-10 15:00", [1.0] * n, [0.5] * n, load=1.0)
    flat = _result("no_battery", grid_import_kw=[1.0] * n, soc_kwh=[1.0] * n)
    (metric,) = strategy_metrics({"no_battery": flat}, year, cfg, n_slots=n, timezone=TZ_NAME)
    assert metric.low_soc_events == 3


def test_strategy_metrics_real_capture(real: Real, cfg: DarkstarConfig) -> None:
    results, data, n = real
    metrics = {m.name: m for m in strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME)}
    assert list(metrics) == STRATEGIES
    assert metrics["no_battery"].capture_percent is None
    assert metrics["no_battery"].cycles == 0.0
    assert metrics["perfect_foresight"].capture_percent == pytest.approx(100.0, abs=1e-9)
    base = metrics["no_battery"].cost_sek
    for m in metrics.values():
        assert m.savings_sek == pytest.approx(base - m.cost_sek, abs=1e-12)
        assert m.cost_sek == pytest.approx(_total_cost(results[m.name], data, cfg, n))
        expected_cycles = H * results[m.name].battery_discharge_kw.sum() / 8.5
        assert m.cycles == pytest.approx(expected_cycles, abs=1e-12)
    assert metrics["kepler"].savings_sek > 1.0


def test_strategy_metrics_capture_at_most_100(real: Real, cfg: DarkstarConfig) -> None:
    results, data, n = real
    for m in strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME):
        assert m.capture_percent is None or m.capture_percent <= 100.0 + 1e-6, m


# --- monthly_costs -----------------------------------------------------------------------


def test_monthly_costs_hand_checked_local_month_boundary(cfg: DarkstarConfig) -> None:
    # 22:30-23:30 UTC on 2018-01-31 = 23:30-00:30 CET: two January and two February slots.
    # Stored energy is worth the mean export price 0.5 x 0.95 = 0.475 SEK/kWh.
    year = _hand_year("2018-01-31 22:30", [1.0, 2.0, 3.0, 4.0], [0.5] * 4, load=1.0)
    flat = _result("no_battery", grid_import_kw=[1.0] * 4, soc_kwh=[1.0] * 4)
    # +0.475 kWh in January (2 kW for a slot), the same out on 1 February (1.805 kW)
    carried = _result(
        "carried",
        grid_import_kw=[3.0, 1.0, 0.0, 1.0],
        grid_export_kw=[0.0, 0.0, 0.805, 0.0],
        battery_charge_kw=[2.0, 0.0, 0.0, 0.0],
        battery_discharge_kw=[0.0, 0.0, 1.805, 0.0],
        soc_kwh=[1.475, 1.475, 1.0, 1.0],
    )
    results = {"no_battery": flat, "carried": carried}
    frame = monthly_costs(results, year, cfg, n_slots=4, timezone=TZ_NAME)
    assert frame.index.tolist() == ["2018-01", "2018-02"]
    assert frame.columns.tolist() == ["no_battery", "carried"]
    np.testing.assert_allclose(frame["no_battery"], [0.75, 1.75], rtol=0, atol=SEK_TOL)
    # January: 0.25 (3 x 1 + 1 x 2) + wear 0.05 x 2 - 0.475 kWh x 0.475 = 1.124375
    # February: 0.25 (1 x 4 - 0.805 x 0.5) + wear 0.05 x 1.805 + 0.475 x 0.475 = 1.21525
    np.testing.assert_allclose(frame["carried"], [1.124375, 1.21525], rtol=0, atol=SEK_TOL)
    # the months add up to the total cost
    total = _total_cost(carried, year, cfg, 4)
    assert frame["carried"].sum() == pytest.approx(total, abs=SEK_TOL)


def test_monthly_costs_real_split_at_local_midnight(real: Real, cfg: DarkstarConfig) -> None:
    results, data, n = real
    frame = monthly_costs(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    assert frame.index.tolist() == ["2018-01", "2018-02"]
    assert frame.columns.tolist() == STRATEGIES
    # the window starts at 2018-01-29 23:00 UTC; local February at 2018-01-31 23:00 UTC
    boundary = int(data.index.get_loc(pd.Timestamp("2018-01-31 23:00", tz="UTC")))
    assert boundary == 2 * 96
    wear = 0.2 * H
    value = 0.95 * float(np.mean(data.export_price_sek_per_kwh.to_numpy()[:n]))
    for name, r in results.items():
        per_slot = slot_costs_sek(r, data, n) + wear * (
            r.battery_charge_kw + r.battery_discharge_kw
        )
        jan_soc = r.soc_kwh[boundary - 1]
        jan = per_slot[:boundary].sum() - (jan_soc - 1.0) * value
        feb = per_slot[boundary:].sum() - (r.soc_kwh[-1] - jan_soc) * value
        assert frame.loc["2018-01", name] == pytest.approx(jan, abs=1e-9)
        assert frame.loc["2018-02", name] == pytest.approx(feb, abs=1e-9)
        total = _total_cost(r, data, cfg, n)
        assert frame[name].sum() == pytest.approx(total, abs=SEK_TOL)
    # a UTC split would move the first local February hour, which has a cost
    first_hour = slot_costs_sek(results["no_battery"], data, n)[boundary : boundary + 4].sum()
    assert abs(first_hour) > 0.01


# --- write_csv, write_chart, print_report ------------------------------------------------


def test_write_csv_columns_and_rows(real: Real, tmp_path: Path) -> None:
    results, data, n = real
    path = tmp_path / "nested" / "backtest.csv"
    write_csv(path, results, data, n_slots=n, timezone=TZ_NAME)
    frame = pd.read_csv(path, index_col="start")
    expected = ["import_price_sek_per_kwh", "export_price_sek_per_kwh", "pv_kw", "load_kw"]
    expected += [f"{name}.{field}" for name in STRATEGIES for field in FLOW_FIELDS]
    assert frame.columns.tolist() == expected
    assert len(frame) == n == 288
    assert frame.index[0] == "2018-01-30T00:00:00+01:00"
    assert frame.index[-1] == "2018-02-01T23:45:00+01:00"
    np.testing.assert_allclose(frame["kepler.soc_kwh"], results["kepler"].soc_kwh, atol=1e-6)
    np.testing.assert_allclose(
        frame["import_price_sek_per_kwh"],
        data.import_price_sek_per_kwh.to_numpy()[:n],
        atol=1e-6,
    )


def test_write_chart_png_and_html(real: Real, cfg: DarkstarConfig, tmp_path: Path) -> None:
    results, data, n = real
    metrics = strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    monthly = monthly_costs(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    png_path, html_path = tmp_path / "charts" / "b.png", tmp_path / "charts" / "b.html"
    title = "Backtest <SE4> & friends"
    write_chart(
        png_path,
        html_path,
        metrics=metrics,
        monthly=monthly,
        results=results,
        year=data,
        n_slots=n,
        title=title,
    )
    png = png_path.read_bytes()
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 10_000
    page = html_path.read_text(encoding="utf-8")
    assert "<title>Backtest &lt;SE4&gt; &amp; friends</title>" in page
    assert page.count("<table>") == 1
    for m in metrics:
        assert f"<tr><td>{m.name}</td><td>{m.cost_sek:.2f}</td>" in page
    assert "<td>100.00</td>" in page  # perfect foresight's capture
    embedded = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert embedded is not None
    assert base64.b64decode(embedded.group(1)) == png


def test_write_chart_creates_html_folder(real: Real, cfg: DarkstarConfig, tmp_path: Path) -> None:
    results, data, n = real
    write_chart(
        tmp_path / "png" / "b.png",
        tmp_path / "html" / "b.html",
        metrics=strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME),
        monthly=monthly_costs(results, data, cfg, n_slots=n, timezone=TZ_NAME),
        results=results,
        year=data,
        n_slots=n,
        title="t",
    )
    assert (tmp_path / "html" / "b.html").is_file()


def test_print_report_tables(real: Real, cfg: DarkstarConfig) -> None:
    results, data, n = real
    metrics = strategy_metrics(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    monthly = monthly_costs(results, data, cfg, n_slots=n, timezone=TZ_NAME)
    console = Console(record=True, width=200)
    print_report(console, metrics, monthly, title="Backtest test")
    text = console.export_text()
    assert "Backtest test" in text
    for name in STRATEGIES:
        assert name in text
    assert "100.00 %" in text
    assert f"{monthly.loc['2018-02', 'kepler']:.2f}" in text
    for month in ("2018-01", "2018-02"):
        assert month in text


def test_slot_costs_sek_hand_checked(hand_year: YearData) -> None:
    costs = slot_costs_sek(CYCLED, hand_year, 8)
    expected = H * np.array([6.0, 6.0, 2.0, 2.0] + [0.195 * 3] * 4)
    np.testing.assert_allclose(costs, expected, rtol=0, atol=1e-12)
