"""Aurora and the naive baselines in the closed loop: issue times, coverage, no peeking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.config import load_config
from darkstar.errors import InputError
from darkstar.simulation.backtest import BacktestSpec, Forecaster, ForecastKind, run_backtest
from darkstar.simulation.bed_forecasts import BedForecasts
from darkstar.simulation.testbed import ForecastYear, forecast_year


@pytest.fixture(scope="module")
def bed() -> ForecastYear:
    return forecast_year()


@pytest.fixture(scope="module")
def naive(bed: ForecastYear) -> BedForecasts:
    return BedForecasts(bed, naive=True)


def test_issues_at_the_start_then_at_each_weather_run(
    bed: ForecastYear, naive: BedForecasts
) -> None:
    start = bed.index[0]  # 2017-12-31 23:00 UTC: the 18 UTC run arrives at 23 UTC
    assert naive.issue_time(start.to_pydatetime()) == start
    t = datetime(2018, 1, 1, 10, 59, tzinfo=UTC)
    assert naive.issue_time(t) == pd.Timestamp("2018-01-01 05:00", tz="UTC")
    assert naive.issue_time(t + timedelta(minutes=1)) == pd.Timestamp("2018-01-01 11:00", tz="UTC")
    with pytest.raises(InputError, match="before the data start"):
        naive.issue_time(start.to_pydatetime() - timedelta(minutes=15))


def test_a_plan_sees_the_newest_issue_before_it(bed: ForecastYear, naive: BedForecasts) -> None:
    now = datetime(2018, 1, 2, 16, 0, tzinfo=UTC)
    issued = naive.at(now)
    assert issued.issued_at == datetime(2018, 1, 2, 11, 0, tzinfo=UTC)
    # every issue on the way was made, in order, 6 h apart after the start
    times = naive._times
    assert times[0] == bed.index[0]
    assert {b - a for a, b in zip(times[1:], times[2:], strict=False)} == {pd.Timedelta(hours=6)}
    # an issue covers to the end of the 4th local day after its own
    local_end = pd.Timestamp("2018-01-07", tz="Europe/Stockholm").tz_convert("UTC")
    assert issued.pv.index[-1] == local_end - pd.Timedelta(minutes=15)
    # issues go forward only (a loop that rewinds reuses what was issued)
    assert (
        naive.at(now - timedelta(hours=6))
        is naive._issued[pd.Timestamp(now) - pd.Timedelta(hours=11)]
    )


def test_the_naive_forecast_is_the_baselines(bed: ForecastYear, naive: BedForecasts) -> None:
    first = 96 * 10 + 40  # 11 January, 10:00 local
    fc = naive.forecast(bed.data, first, first + 96)
    index = bed.index[first : first + 96]
    # load: the same local slot on the 7 days before the issue, averaged
    issued = naive.at(index[0].to_pydatetime()).issued_at
    known = bed.load_kw[bed.load_kw.index < pd.Timestamp(issued)]
    expected = np.mean(
        [known.reindex(index - pd.Timedelta(days=d)).to_numpy() for d in range(1, 8)], axis=0
    )
    # slots whose "same slot a day ago" is after the issue use the latest 7 known days
    early = index - pd.Timedelta(days=1) < pd.Timestamp(issued)
    np.testing.assert_allclose(fc.load_kw[early], expected[early], rtol=1e-9)
    assert fc.pv_p10_kw is not None
    assert fc.pv_p90_kw is not None
    assert (fc.pv_p10_kw <= fc.pv_kw).all()
    assert (fc.pv_kw <= fc.pv_p90_kw).all()


def test_the_perfect_forecaster_refuses_aurora() -> None:
    with pytest.raises(InputError, match="forecast"):
        Forecaster(BacktestSpec(forecast=ForecastKind.AURORA), 96)


def test_the_loop_compares_forecasts_on_the_same_year(
    bed: ForecastYear, naive: BedForecasts
) -> None:
    cfg = load_config(None)
    spec = BacktestSpec()
    run = run_backtest(
        bed.data,
        cfg,
        spec,
        n_slots=2 * 96,
        forecasters={"perfect": Forecaster(spec, len(bed.index)), "naive": naive},
    )
    assert list(run.results) == [
        "no_battery",
        "heuristic",
        "kepler_perfect",
        "kepler_naive",
        "perfect_foresight",
    ]
    perfect, guessed = run.results["kepler_perfect"], run.results["kepler_naive"]
    # the same house and year: only what the planner was told differs
    assert not np.allclose(perfect.planned_soc_kwh, guessed.planned_soc_kwh)
    assert run.results["kepler_naive"].name == "kepler_naive"


def test_backtest_cli_compares_forecasts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    forecasts = "perfect,naive,oracle"
    args = ["backtest", "--forecast", forecasts, "--days", "1", "--out-dir", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.stderr, result.exception)
    text = " ".join(result.stdout.split())
    assert "forecast perfect,naive,oracle (test-bed year)" in text
    assert "kepler_naive" in text
    assert "kepler_oracle" in text
    # 1 January: a day on which the battery saves nothing, even with perfect forecasts
    assert "share of the perfect-forecast loop's savings: none (it saved" in text
    frame = pd.read_csv(out / "backtest.csv", index_col="start")
    columns = {"kepler_perfect.soc_kwh", "kepler_naive.soc_kwh", "kepler_oracle.soc_kwh"}
    assert columns <= set(frame.columns)


def test_the_loop_can_plan_as_the_agent_does(bed: ForecastYear) -> None:
    """``mode=full``: the configured PV confidence (90 %) and load factor (1.1) reach Kepler."""
    from darkstar.planner.pipeline import PlanMode
    from darkstar.simulation.backtest import run_loop

    cfg = load_config(None)
    runs = {
        mode: run_loop(
            bed.data,
            cfg,
            BacktestSpec(mode=mode),
            strategy="kepler",
            n_slots=96,
        )
        for mode in (PlanMode.BASELINE, PlanMode.FULL)
    }
    base, full = runs[PlanMode.BASELINE], runs[PlanMode.FULL]
    # the same house and forecasts: only the plans differ
    assert not np.allclose(base.planned_soc_kwh, full.planned_soc_kwh)


def test_the_oracle_is_the_house_model_on_the_newest_run(bed: ForecastYear) -> None:
    """``oracle``: the true PV model on the forecast weather, the actual load; no peeking."""
    from darkstar.simulation.bed_forecasts import OracleForecasts
    from darkstar.simulation.pv_truth import true_pv_kw

    oracle = OracleForecasts(bed)
    first = 96 * 120 + 48  # 1 May 2018, 13:00 local = 11:00 UTC, when the 06 UTC run arrives
    fc = oracle.forecast(bed.data, first, first + 96)
    index = bed.index[first : first + 96]
    assert index[0] == pd.Timestamp("2018-05-01 11:00", tz="UTC")
    run = bed.nwp.at(index[0].to_pydatetime())
    assert run.index[0] == pd.Timestamp("2018-05-01 06:00", tz="UTC")
    site = {"arrays": bed.arrays, "latitude": bed.latitude, "longitude": bed.longitude}
    hourly = true_pv_kw(run, seed=bed.seed, **site)
    np.testing.assert_allclose(fc.pv_kw[::4], hourly.reindex(index[::4]).to_numpy())
    np.testing.assert_array_equal(fc.load_kw, bed.load_kw.to_numpy()[first : first + 96])
    # the forecast weather, not the actual: the PV differs from the truth, by hours
    assert np.abs(fc.pv_kw - bed.pv_kw.to_numpy()[first : first + 96]).max() > 0.5
    # a minute before the run arrives, the older one (00 UTC) is still in force
    earlier = oracle.forecast(bed.data, first - 1, first + 95)
    older = true_pv_kw(bed.nwp.at(index[0].to_pydatetime() - timedelta(minutes=15)), seed=0, **site)
    np.testing.assert_allclose(earlier.pv_kw[1::4], older.reindex(index[::4]).to_numpy())
