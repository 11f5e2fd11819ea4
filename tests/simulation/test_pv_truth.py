"""Tests for darkstar.simulation.pv_truth: the house's real PV against the physics prior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkstar.errors import InputError
from darkstar.simulation.datasets import read_weather
from darkstar.simulation.nwp import NwpForecaster
from darkstar.simulation.pv_truth import (
    AC_LIMIT_FRAC,
    SHADING_AZIMUTH_MAX_DEG,
    SHADING_AZIMUTH_MIN_DEG,
    SHADING_ELEVATION_MAX_DEG,
    SNOW_CLEAR_HOUR_UTC,
    SNOW_CLEAR_WARM_HOURS,
    SNOW_MORNING_TEMP_MAX_C,
    SOILING_MAX_FRAC,
    SOILING_RATE_FRAC_PER_DAY,
    Imperfection,
    energy_table,
    prior_pv_kw,
    pv_error_table,
    rain_days,
    shaded_hours,
    snow_covered_hours,
    soiling_loss_frac,
    true_pv_kw,
)
from darkstar.simulation.weather import PvArraySpec, pv_power_kw

LAT, LON = 55.6, 13.0  # load_year's default site (Malmö), Rostock weather
SOUTH_8KWP = (PvArraySpec(kwp=8.0, tilt_deg=35.0, azimuth_deg=180.0),)
SITE = {"arrays": SOUTH_8KWP, "latitude": LAT, "longitude": LON}


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    return read_weather(latitude=LAT, longitude=LON, year=2018)


@pytest.fixture(scope="module")
def prior(weather: pd.DataFrame) -> pd.Series:
    return prior_pv_kw(weather, **SITE)


def _only(weather: pd.DataFrame, item: Imperfection, seed: int = 0) -> pd.Series:
    return true_pv_kw(weather, **SITE, seed=seed, imperfections={item})


def _daily_centroid_h(power: pd.Series) -> float:
    """Energy-weighted mean hour of day (UTC, hour midpoints)."""
    hour = power.index.hour.to_numpy() + 0.5
    return float((hour * power.to_numpy()).sum() / power.sum())


# --- prior --------------------------------------------------------------------------


def test_prior_equals_pv_power_kw(weather: pd.DataFrame, prior: pd.Series) -> None:
    expected = pv_power_kw(weather, arrays=SOUTH_8KWP, latitude=LAT, longitude=LON)
    assert np.array_equal(prior.to_numpy(), expected.to_numpy())
    assert prior.index.equals(expected.index)
    assert prior.name == "pv_prior_kw"


def test_prior_on_forecast_weather(weather: pd.DataFrame) -> None:
    run = NwpForecaster(weather, seed=0).issued_at(pd.Timestamp("2018-06-01 06:00", tz="UTC"))
    power = prior_pv_kw(run, **SITE)
    assert len(power) == 169
    assert (power >= 0.0).all()
    assert power.max() > 1.0


def test_true_without_imperfections_is_prior(weather: pd.DataFrame, prior: pd.Series) -> None:
    truth = true_pv_kw(weather, **SITE, seed=0, imperfections=())
    assert np.array_equal(truth.to_numpy(), prior.to_numpy())


def test_true_deterministic_per_seed(weather: pd.DataFrame) -> None:
    first = true_pv_kw(weather, **SITE, seed=5)
    pd.testing.assert_series_equal(first, true_pv_kw(weather, **SITE, seed=5))
    assert not np.array_equal(first.to_numpy(), true_pv_kw(weather, **SITE, seed=6).to_numpy())


def test_true_rejects_negative_seed(weather: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="seed"):
        true_pv_kw(weather, **SITE, seed=-1)


# --- each imperfection --------------------------------------------------------------


def test_clipping_caps_at_ac_limit(weather: pd.DataFrame, prior: pd.Series) -> None:
    limit_kw = AC_LIMIT_FRAC * 8.0
    clipped = _only(weather, Imperfection.CLIPPING)
    assert clipped.max() == pytest.approx(limit_kw)
    assert (prior > limit_kw).sum() > 100  # the limit binds in many hours
    below = prior <= limit_kw
    assert np.array_equal(clipped[below].to_numpy(), prior[below].to_numpy())


def test_shading_removes_beam_only_at_low_sun_in_sector(
    weather: pd.DataFrame, prior: pd.Series
) -> None:
    shaded = shaded_hours(weather.index, latitude=LAT, longitude=LON)
    assert 100 < shaded.sum() < 1000
    power = _only(weather, Imperfection.SHADING)
    assert np.array_equal(power[~shaded].to_numpy(), prior[~shaded].to_numpy())
    beam = shaded & (weather["dni_w_per_m2"] > 50.0)
    assert (power[beam] < prior[beam]).all()
    diffuse = shaded & (weather["dhi_w_per_m2"] > 20.0)
    assert (power[diffuse] > 0.0).all()  # the sky is still seen


def test_shaded_hours_geometry(weather: pd.DataFrame) -> None:
    import pvlib

    shaded = shaded_hours(weather.index, latitude=LAT, longitude=LON)
    sun = pvlib.solarposition.get_solarposition(weather.index + pd.Timedelta(minutes=30), LAT, LON)
    elevation = sun["apparent_elevation"][shaded.to_numpy()]
    azimuth = sun["azimuth"][shaded.to_numpy()]
    assert ((elevation > 0.0) & (elevation < SHADING_ELEVATION_MAX_DEG)).all()
    assert azimuth.between(SHADING_AZIMUTH_MIN_DEG, SHADING_AZIMUTH_MAX_DEG).all()
    summer = shaded[(shaded.index.month >= 5) & (shaded.index.month <= 8)]
    assert not summer.any()  # the summer sun is already high in the east-south-east


def test_soiling_loss_resets_after_rain() -> None:
    loss = soiling_loss_frac([False, False, False, True, False])
    rate = SOILING_RATE_FRAC_PER_DAY
    assert loss == pytest.approx([rate, 2 * rate, 3 * rate, 0.0, rate])


def test_soiling_loss_capped() -> None:
    loss = soiling_loss_frac(np.zeros(200, dtype=bool))
    assert loss.max() == SOILING_MAX_FRAC
    assert np.all(np.diff(loss) >= 0.0)


def test_soiling_in_truth_follows_rain_days(weather: pd.DataFrame, prior: pd.Series) -> None:
    power = _only(weather, Imperfection.SOILING, seed=3)
    days = weather.index.floor("D")
    rain = pd.Series(rain_days(days.unique(), seed=3), index=days.unique())
    loss = pd.Series(soiling_loss_frac(rain.to_numpy()), index=days.unique())
    sunny = prior > 0.5
    ratio = (power[sunny] / prior[sunny]).to_numpy()
    assert ratio == pytest.approx(1.0 - loss.reindex(days[sunny.to_numpy()]).to_numpy())
    assert (ratio[rain.reindex(days[sunny.to_numpy()]).to_numpy()] == 1.0).all()


def test_rain_days_frequency_by_month() -> None:
    days = pd.date_range("2018-01-01", periods=365 * 20, freq="D", tz="UTC")
    rain = pd.Series(rain_days(days, seed=0), index=days)
    by_month = rain.groupby(rain.index.month).mean()
    assert by_month[11] > by_month[4] + 0.3  # November is wet, April dry (Rostock TRY)


def test_rain_days_depend_on_date_not_frame() -> None:
    days = pd.date_range("2018-01-01", periods=365, freq="D", tz="UTC")
    assert np.array_equal(rain_days(days[100:200], seed=4), rain_days(days, seed=4)[100:200])


def test_azimuth_offset_shifts_profile_later(weather: pd.DataFrame, prior: pd.Series) -> None:
    turned = _only(weather, Imperfection.AZIMUTH)
    shift_h = _daily_centroid_h(turned) - _daily_centroid_h(prior)
    assert 0.1 < shift_h < 0.4  # 12° west of south: about 12 minutes later


def test_snow_covers_cold_mornings_until_clear(weather: pd.DataFrame) -> None:
    covered = snow_covered_hours(weather, seed=0)
    assert covered.any()
    hours = covered.index.hour
    temp_c = weather["temp_air_c"]
    for day in covered[covered].index.floor("D").unique():
        today = (covered.index >= day) & (covered.index < day + pd.Timedelta(days=1))
        morning = temp_c[today & (hours <= 8)]
        assert morning.min() < SNOW_MORNING_TEMP_MAX_C
        snowed = covered[today]
        assert snowed.iloc[0]  # covered from midnight
        last = snowed[snowed].index[-1].hour
        assert last < SNOW_CLEAR_HOUR_UTC
        warm_before = (temp_c[today].iloc[:last] > 0.0).sum()
        assert warm_before < SNOW_CLEAR_WARM_HOURS
        assert not snowed.iloc[last + 1 :].any()


def test_snow_zeroes_power(weather: pd.DataFrame, prior: pd.Series) -> None:
    covered = snow_covered_hours(weather, seed=0)
    power = _only(weather, Imperfection.SNOW)
    assert (power[covered] == 0.0).all()
    assert np.array_equal(power[~covered].to_numpy(), prior[~covered].to_numpy())
    assert prior[covered].sum() > 1.0  # the snow hid some sunshine


# --- reports ------------------------------------------------------------------------


def test_energy_table_each_imperfection_costs(weather: pd.DataFrame) -> None:
    table = energy_table(weather, **SITE, seed=0)
    assert table.index.tolist() == [
        "prior",
        *(item.value for item in Imperfection),
        "truth",
    ]
    single = table.loc[[item.value for item in Imperfection], "vs_prior_pct"]
    assert (single < 0.0).all()
    assert -8.0 < table.loc["truth", "vs_prior_pct"] < -2.0


def test_pv_error_table_prior_on_forecast(weather: pd.DataFrame) -> None:
    nwp = NwpForecaster(weather, seed=0)
    table = pv_error_table(nwp, **SITE, seed=0, issues=nwp.issues()[::13])
    rrmse = table["rrmse_pct"]
    assert rrmse["0-6"] < rrmse["24-48"] < rrmse["120-168"]
    assert 20.0 < rrmse["0-6"] < 45.0
    assert (table["bias_pct"] > 0.0).all()  # the prior misses the losses
