"""Tests for darkstar.simulation.nwp: issue cycles, error structure, calibration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from darkstar.errors import InputError
from darkstar.simulation.datasets import read_weather
from darkstar.simulation.nwp import (
    HORIZON_H,
    KT_MAX,
    LEAD_KNOTS_H,
    TEMP_ERROR_SIGMA_K,
    NwpForecaster,
    ghi_error_table,
    issue_times,
    latest_issue,
    lead_error_table,
)
from darkstar.simulation.weather import WEATHER_COLUMNS

MALMO = (55.6, 13.0)  # load_year's default site; its nearest TRY station is Rostock


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    return read_weather(latitude=MALMO[0], longitude=MALMO[1], year=2018)


@pytest.fixture(scope="module")
def nwp(weather: pd.DataFrame) -> NwpForecaster:
    return NwpForecaster(weather, seed=0)


@pytest.fixture(scope="module")
def ghi_table(nwp: NwpForecaster) -> pd.DataFrame:
    return ghi_error_table(nwp)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _errors(nwp: NwpForecaster, issue: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GHI error, lead and daylight flag of one run."""
    run = nwp.issued_at(issue)
    rows = nwp.weather_rows(issue)
    actual = nwp.weather["ghi_w_per_m2"].to_numpy()[rows]
    daylight = nwp.daylight.to_numpy()[rows]
    return run["ghi_w_per_m2"].to_numpy() - actual, run["lead_h"].to_numpy(), daylight


# --- issue cycles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (_utc(2018, 6, 1, 4, 59), _utc(2018, 5, 31, 18)),
        (_utc(2018, 6, 1, 5, 0), _utc(2018, 6, 1, 0)),
        (_utc(2018, 6, 1, 10, 59, 59), _utc(2018, 6, 1, 0)),
        (_utc(2018, 6, 1, 11, 0), _utc(2018, 6, 1, 6)),
        (_utc(2018, 6, 1, 23, 0), _utc(2018, 6, 1, 18)),
        (_utc(2018, 1, 1, 2, 0), _utc(2017, 12, 31, 18)),
    ],
)
def test_latest_issue_boundaries(now: datetime, expected: datetime) -> None:
    assert latest_issue(now) == expected


def test_latest_issue_converts_local_time() -> None:
    # 07:00 in Stockholm (CEST, UTC+2) is 05:00 UTC: the 00 UTC run has just arrived
    now = datetime(2018, 6, 1, 7, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert latest_issue(now) == _utc(2018, 6, 1, 0)


def test_latest_issue_naive() -> None:
    with pytest.raises(InputError, match="now"):
        latest_issue(datetime(2018, 6, 1, 5, 0))  # noqa: DTZ001 - the case under test


def test_issue_times_includes_bounds() -> None:
    runs = issue_times(_utc(2018, 6, 1, 0), _utc(2018, 6, 2, 0))
    assert runs == [_utc(2018, 6, 1, h) for h in (0, 6, 12, 18)] + [_utc(2018, 6, 2, 0)]
    assert issue_times(_utc(2018, 6, 1, 1), _utc(2018, 6, 1, 5)) == []


# --- shape, determinism, caching ----------------------------------------------------


def test_issued_at_shape(nwp: NwpForecaster) -> None:
    issue = _utc(2018, 6, 1, 6)
    run = nwp.issued_at(issue)
    assert len(run) == HORIZON_H + 1 == 169
    assert list(run.columns) == [*WEATHER_COLUMNS, "lead_h"]
    assert run.index[0] == issue
    assert str(run.index.tz) == "UTC"
    assert (run.index.to_series().diff().iloc[1:] == pd.Timedelta("1h")).all()
    assert run["lead_h"].tolist() == list(range(169))
    assert run.attrs["issued_at"] == issue.isoformat()
    assert not run.isna().to_numpy().any()


def test_at_is_latest_issue(nwp: NwpForecaster) -> None:
    now = _utc(2018, 6, 1, 12, 30)
    pd.testing.assert_frame_equal(nwp.at(now), nwp.issued_at(_utc(2018, 6, 1, 6)))


def test_issued_at_deterministic_per_seed(weather: pd.DataFrame) -> None:
    issue = _utc(2018, 4, 10, 12)
    first = NwpForecaster(weather, seed=7)
    second = NwpForecaster(weather, seed=7, cache_size=1)
    second.issued_at(_utc(2018, 9, 1, 0))  # other runs asked first change nothing
    pd.testing.assert_frame_equal(first.issued_at(issue), second.issued_at(issue))
    other = NwpForecaster(weather, seed=8).issued_at(issue)
    assert not np.allclose(other["ghi_w_per_m2"], first.issued_at(issue)["ghi_w_per_m2"])


def test_issued_at_returns_copy(nwp: NwpForecaster) -> None:
    issue = _utc(2018, 7, 1, 0)
    run = nwp.issued_at(issue)
    run["ghi_w_per_m2"] = -1.0
    assert (nwp.issued_at(issue)["ghi_w_per_m2"] >= 0.0).all()


@pytest.mark.parametrize(
    "issue",
    [_utc(2018, 6, 1, 3), datetime(2018, 6, 1, 6)],  # noqa: DTZ001 - case under test
)
def test_issued_at_rejects_bad_issue(nwp: NwpForecaster, issue: datetime) -> None:
    with pytest.raises(InputError, match="issue"):
        nwp.issued_at(issue)


def test_issued_at_wraps_typical_year(nwp: NwpForecaster) -> None:
    run = nwp.issued_at(_utc(2018, 12, 30, 0))  # targets reach into January 2019
    assert len(run) == 169
    rows = nwp.weather_rows(_utc(2018, 12, 30, 0))
    assert rows.max() == len(nwp.weather) - 1
    assert rows.min() == 0


def test_issued_at_partial_weather_not_wrapped(weather: pd.DataFrame) -> None:
    nwp = NwpForecaster(weather.iloc[:1000], seed=0)
    assert len(nwp.issued_at(_utc(2018, 1, 2, 0))) == 169
    with pytest.raises(InputError, match="issue"):
        nwp.issued_at(_utc(2018, 2, 10, 0))


def test_forecaster_checks_weather(weather: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"weather\.temp_air_c"):
        NwpForecaster(weather.drop(columns="temp_air_c"), seed=0)
    with pytest.raises(InputError, match="seed"):
        NwpForecaster(weather, seed=-1)
    bare = weather.copy()
    bare.attrs = {}
    with pytest.raises(InputError, match="latitude"):
        NwpForecaster(bare, seed=0)


# --- physical bounds ----------------------------------------------------------------


def test_ghi_bounded_and_dark_at_night(nwp: NwpForecaster) -> None:
    clear = nwp.clear_sky_ghi_w_per_m2.to_numpy()
    for issue in nwp.issues()[::37]:
        run = nwp.issued_at(issue)
        sky = clear[nwp.weather_rows(issue)]
        ghi = run["ghi_w_per_m2"].to_numpy()
        assert (ghi >= 0.0).all()
        assert (ghi[sky == 0.0] == 0.0).all()
        assert (ghi <= KT_MAX * sky + 1e-9).all()
        assert (run["dni_w_per_m2"] >= 0.0).all()
        assert (run["dhi_w_per_m2"] >= 0.0).all()
        assert (run["dhi_w_per_m2"] <= ghi + 1e-9).all()
        assert run["cloud_cover_octas"].isin(range(9)).all()
        assert (run["wind_speed_m_per_s"] >= 0.0).all()


def test_lead_zero_close_to_truth(nwp: NwpForecaster) -> None:
    errors, leads, daylight = zip(*(_errors(nwp, i) for i in nwp.issues()[::5]), strict=True)
    error = np.concatenate(errors)[np.concatenate(leads) == 0]
    mask = np.concatenate(daylight)[np.concatenate(leads) == 0]
    actual_mean = nwp.weather["ghi_w_per_m2"][nwp.daylight].mean()
    assert np.sqrt(np.mean(error[mask] ** 2)) / actual_mean < 0.2


# --- calibration and error structure ------------------------------------------------


def test_ghi_rrmse_grows_with_lead(ghi_table: pd.DataFrame) -> None:
    rrmse = ghi_table["rrmse_pct"].to_numpy()
    assert (np.diff(rrmse) > 0.0).all(), ghi_table
    assert 10.0 <= ghi_table.loc["0-6", "rrmse_pct"] <= 25.0
    assert 25.0 <= ghi_table.loc["24-48", "rrmse_pct"] <= 45.0
    assert 45.0 <= ghi_table.loc["72-120", "rrmse_pct"] <= 65.0
    assert (ghi_table["bias_pct"].abs() < 5.0).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_ghi_day_ahead_rrmse_other_seeds(weather: pd.DataFrame, seed: int) -> None:
    nwp = NwpForecaster(weather, seed=seed)
    table = ghi_error_table(nwp, nwp.issues()[::5])
    assert 25.0 <= table.loc["24-48", "rrmse_pct"] <= 45.0


def test_temperature_error_grows_to_a_few_kelvin(nwp: NwpForecaster) -> None:
    table = ghi_error_table(nwp, nwp.issues()[::3], column="temp_air_c")
    assert (np.diff(table["rmse"].to_numpy()) > 0.0).all()
    assert 0.6 <= table.loc["6-24", "rmse"] <= 1.3
    assert 1.8 <= table.loc["72-120", "rmse"] <= 3.0


def test_temperature_error_size_matches_table(nwp: NwpForecaster) -> None:
    # the run-to-run sum of innovations has exactly the tabulated variance at each lead
    errors = []
    for issue in nwp.issues():
        run = nwp.issued_at(issue)
        actual = nwp.weather["temp_air_c"].to_numpy()[nwp.weather_rows(issue)]
        errors.append(run["temp_air_c"].to_numpy() - actual)
    std_k = np.std(np.stack(errors), axis=0)
    for lead_h, sigma_k in zip(LEAD_KNOTS_H, TEMP_ERROR_SIGMA_K, strict=True):
        assert std_k[int(lead_h)] == pytest.approx(sigma_k, rel=0.15), lead_h


def test_ghi_errors_correlated_in_time(nwp: NwpForecaster) -> None:
    before, after = [], []
    for issue in nwp.issues()[::4]:
        error, lead, daylight = _errors(nwp, issue)
        pair = (lead[:-1] > 24) & daylight[:-1] & daylight[1:]
        before.append(error[:-1][pair])
        after.append(error[1:][pair])
    lag1 = np.corrcoef(np.concatenate(before), np.concatenate(after))[0, 1]
    assert lag1 > 0.5


@pytest.mark.parametrize("newer_by_h", [6, 24])
def test_newer_issue_closer(nwp: NwpForecaster, newer_by_h: int) -> None:
    older_sq, newer_sq = [], []
    runs = nwp.issues()
    step = newer_by_h // 6
    for n in range(0, len(runs) - step, 3):
        older, lead, daylight = _errors(nwp, runs[n])
        newer, _, _ = _errors(nwp, runs[n + step])
        common = HORIZON_H + 1 - newer_by_h
        keep = daylight[newer_by_h:]
        older_sq.append(older[newer_by_h:][keep] ** 2)
        newer_sq.append(newer[:common][keep] ** 2)
    assert np.mean(np.concatenate(newer_sq)) < 0.95 * np.mean(np.concatenate(older_sq))


def test_consecutive_issues_share_errors(nwp: NwpForecaster) -> None:
    # the newer run corrects the older one, it does not start afresh
    older, lead, daylight = _errors(nwp, _utc(2018, 5, 1, 0))
    newer, _, _ = _errors(nwp, _utc(2018, 5, 1, 6))
    keep = daylight[6:] & (lead[6:] > 48)
    assert np.corrcoef(older[6:][keep], newer[:-6][keep])[0, 1] > 0.7


# --- error table --------------------------------------------------------------------


def test_lead_error_table_buckets() -> None:
    table = lead_error_table(
        lead_h=[0, 5, 6, 168], forecast=[3.0, 1.0, 4.0, 0.0], actual=[2.0, 2.0, 2.0, 1.0]
    )
    assert table.index.tolist() == ["0-6", "6-24", "24-48", "48-72", "72-120", "120-168"]
    assert table.loc["0-6"].tolist() == [2.0, 2.0, 1.0, 50.0, 0.0]
    assert table.loc["6-24", "bias_pct"] == 100.0
    assert table.loc["120-168", "n_hours"] == 1.0  # 168 h belongs to the last bucket
    assert np.isnan(table.loc["24-48", "rmse"])


def test_lead_error_table_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="forecast"):
        lead_error_table(lead_h=[1, 2], forecast=[1.0], actual=[1.0, 2.0])
    with pytest.raises(InputError, match="actual"):
        lead_error_table(lead_h=[1], forecast=[1.0], actual=[float("nan")])


def test_ghi_error_table_rejects_unknown_column(nwp: NwpForecaster) -> None:
    with pytest.raises(InputError, match="column"):
        ghi_error_table(nwp, [_utc(2018, 6, 1, 0)], column="rain_mm")
    with pytest.raises(InputError, match="issues"):
        ghi_error_table(nwp, [])


def test_issues_cover_year_without_wrap(nwp: NwpForecaster) -> None:
    runs = nwp.issues()
    assert runs[0] == _utc(2018, 1, 1, 0)
    assert runs[-1] + timedelta(hours=HORIZON_H) <= nwp.weather.index[-1]
    assert len(runs) == 1432
