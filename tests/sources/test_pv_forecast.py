"""PV power from a weather table (pvlib), and the clear-sky fallback weather."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkstar.errors import InputError
from darkstar.sources.pv import (
    MONTHLY_CLEAR_SKY_INDEX,
    MONTHLY_CLOUD_COVER_PERCENT,
    MONTHLY_TEMP_AIR_C,
    WEATHER_COLUMNS,
    PvArray,
    clear_sky_weather,
    pv_forecast_kw,
)

LATITUDE, LONGITUDE = 55.6, 13.0
SOUTH = PvArray(kwp=5.0, tilt_deg=35.0, azimuth_deg=180.0)
FLAT = PvArray(kwp=5.0, tilt_deg=0.0, azimuth_deg=180.0)
# Faiman: T_cell = T_air + E_poa / (u0 + u1 * 1 m/s) = T_air + 1000 / 31.84 at 1000 W/m²
TEMP_AIR_FOR_25C_CELL = 25.0 - 1000.0 / (25.0 + 6.84)


def _day(date: str = "2025-06-21", periods: int = 96) -> pd.DatetimeIndex:
    return pd.date_range(date, periods=periods, freq="15min", tz="UTC")


def _diffuse_1000(index: pd.DatetimeIndex) -> pd.DataFrame:
    """1000 W/m² of pure diffuse light at a 25 °C cell: hand-checkable on a flat array."""
    n = len(index)
    return pd.DataFrame(
        {
            "ghi_w_m2": np.full(n, 1000.0),
            "dni_w_m2": np.zeros(n),
            "dhi_w_m2": np.full(n, 1000.0),
            "temp_air_c": np.full(n, TEMP_AIR_FOR_25C_CELL),
        },
        index=index,
    )


NOON = pd.date_range("2025-06-21 11:00", periods=1, freq="15min", tz="UTC")


# --- PvArray ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kwp": 0.0}, "kwp"),
        ({"kwp": -1.0}, "kwp"),
        ({"kwp": math.nan}, "kwp"),
        ({"kwp": "5"}, "kwp"),
        ({"tilt_deg": 91.0}, "tilt_deg"),
        ({"tilt_deg": -1.0}, "tilt_deg"),
        ({"azimuth_deg": 361.0}, "azimuth_deg"),
        ({"azimuth_deg": math.inf}, "azimuth_deg"),
        ({"losses_percent": 100.0}, "losses_percent"),
        ({"losses_percent": -0.1}, "losses_percent"),
        ({"inverter_kw": 0.0}, "inverter_kw"),
        ({"inverter_kw": True}, "inverter_kw"),
    ],
)
def test_pv_array_out_of_range_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"kwp": 5.0, "tilt_deg": 35.0, "azimuth_deg": 180.0} | kwargs
    with pytest.raises(InputError) as caught:
        PvArray(**values)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: must be a number in ")


def test_pv_array_defaults() -> None:
    assert SOUTH.losses_percent == 14.0
    assert SOUTH.inverter_kw is None


# --- pv_forecast_kw ---------------------------------------------------------------------


def test_pv_forecast_kw_hand_checked_flat_array() -> None:
    # flat array, only diffuse light: POA = DHI = 1000 W/m², cell at 25 °C, so
    # P = 5 kWp * 1000/1000 * (1 - 0.14) = 4.3 kW
    pv = pv_forecast_kw(_diffuse_1000(NOON), arrays=[FLAT], latitude=LATITUDE, longitude=LONGITUDE)
    assert pv.name == "pv_kw_forecast"
    assert pv.iloc[0] == pytest.approx(4.3, rel=1e-9)


def test_pv_forecast_kw_clips_at_the_inverter() -> None:
    clipped = PvArray(kwp=5.0, tilt_deg=0.0, azimuth_deg=180.0, inverter_kw=3.0)
    pv = pv_forecast_kw(
        _diffuse_1000(NOON), arrays=[clipped], latitude=LATITUDE, longitude=LONGITUDE
    )
    assert pv.iloc[0] == 3.0


def test_pv_forecast_kw_clips_each_array_at_its_own_inverter() -> None:
    clipped = PvArray(kwp=5.0, tilt_deg=0.0, azimuth_deg=180.0, inverter_kw=3.0)
    pv = pv_forecast_kw(
        _diffuse_1000(NOON), arrays=[clipped, FLAT], latitude=LATITUDE, longitude=LONGITUDE
    )
    assert pv.iloc[0] == pytest.approx(3.0 + 4.3)


def test_pv_forecast_kw_two_arrays_sum() -> None:
    weather = clear_sky_weather(_day(), latitude=LATITUDE, longitude=LONGITUDE)
    east = PvArray(kwp=4.0, tilt_deg=20.0, azimuth_deg=90.0, inverter_kw=3.5)
    west = PvArray(kwp=3.0, tilt_deg=45.0, azimuth_deg=270.0, losses_percent=10.0)
    site = {"latitude": LATITUDE, "longitude": LONGITUDE}
    both = pv_forecast_kw(weather, arrays=[east, west], **site)
    alone = pv_forecast_kw(weather, arrays=[east], **site) + pv_forecast_kw(
        weather, arrays=[west], **site
    )
    assert np.allclose(both, alone, rtol=1e-12, atol=0.0)
    # the east array peaks in the morning, the west one in the afternoon (UTC)
    assert pv_forecast_kw(weather, arrays=[east], **site).idxmax().hour < 11
    assert pv_forecast_kw(weather, arrays=[west], **site).idxmax().hour > 11


def test_pv_forecast_kw_is_zero_at_night_whatever_the_weather() -> None:
    night = pd.date_range("2025-12-21 20:00", periods=8, freq="15min", tz="UTC")
    pv = pv_forecast_kw(
        _diffuse_1000(night), arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE
    )
    assert (pv == 0.0).all()


def test_pv_forecast_kw_clear_summer_day_is_plausible() -> None:
    weather = clear_sky_weather(_day(), latitude=LATITUDE, longitude=LONGITUDE, climatology=False)
    pv = pv_forecast_kw(weather, arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)
    energy_kwh = pv.sum() * 0.25
    assert 25.0 < energy_kwh < 40.0  # 5-8 kWh/kWp on a cloudless midsummer day at 55.6°N
    assert pv.max() < SOUTH.kwp
    assert 10 <= pv.idxmax().hour <= 12  # solar noon is about 11:08 UTC at 13°E


def test_pv_forecast_kw_hourly_slots_use_their_own_mid_points() -> None:
    hourly = pd.date_range("2025-06-21", periods=24, freq="h", tz="UTC")
    weather = clear_sky_weather(hourly, latitude=LATITUDE, longitude=LONGITUDE)
    pv = pv_forecast_kw(weather, arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)
    assert pv.index.equals(hourly)
    assert pv["2025-06-21 02:00+00:00"] > 0.0  # [02:00, 03:00): the sun rises at 02:25
    assert pv["2025-06-21 01:00+00:00"] == 0.0


def test_pv_forecast_kw_gap_in_daylight_stays_a_gap() -> None:
    weather = clear_sky_weather(_day(), latitude=LATITUDE, longitude=LONGITUDE)
    weather.iloc[44, weather.columns.get_loc("ghi_w_m2")] = np.nan
    pv = pv_forecast_kw(weather, arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)
    assert np.isnan(pv.iloc[44])
    assert pv.drop(pv.index[44]).notna().all()


@pytest.mark.parametrize("column", ["ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c"])
def test_pv_forecast_kw_missing_column_names_it(column: str) -> None:
    weather = _diffuse_1000(NOON).drop(columns=column)
    with pytest.raises(InputError) as caught:
        pv_forecast_kw(weather, arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)
    assert caught.value.field == f"weather.{column}"


def test_pv_forecast_kw_negative_irradiance_names_the_column() -> None:
    weather = _diffuse_1000(NOON)
    weather["dni_w_m2"] = -1.0
    with pytest.raises(
        InputError, match=r"weather\.dni_w_m2: negative irradiance at 2025-06-21T11:00"
    ):
        pv_forecast_kw(weather, arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (pd.date_range("2025-06-21 11:00", periods=2, freq="15min"), "tz-aware UTC"),
        (
            pd.date_range("2025-06-21 11:00", periods=2, freq="15min", tz="Europe/Stockholm"),
            "in UTC",
        ),
        (
            pd.DatetimeIndex(
                ["2025-06-21 11:00", "2025-06-21 11:15", "2025-06-21 12:00"], tz="UTC"
            ),
            "one constant step",
        ),
    ],
)
def test_pv_forecast_kw_bad_index_is_refused(index: pd.DatetimeIndex, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        pv_forecast_kw(_diffuse_1000(index), arrays=[SOUTH], latitude=LATITUDE, longitude=LONGITUDE)
    assert caught.value.field == "weather.index"


def test_pv_forecast_kw_needs_an_array() -> None:
    with pytest.raises(InputError) as caught:
        pv_forecast_kw(_diffuse_1000(NOON), arrays=[], latitude=LATITUDE, longitude=LONGITUDE)
    assert caught.value.field == "arrays"


def test_pv_forecast_kw_site_out_of_range_names_it() -> None:
    with pytest.raises(InputError) as caught:
        pv_forecast_kw(_diffuse_1000(NOON), arrays=[SOUTH], latitude=91.0, longitude=LONGITUDE)
    assert caught.value.field == "latitude"


_ARRAYS = st.lists(
    st.builds(
        PvArray,
        kwp=st.floats(0.1, 30.0),
        tilt_deg=st.floats(0.0, 90.0),
        azimuth_deg=st.floats(0.0, 360.0),
        losses_percent=st.floats(0.0, 30.0),
        inverter_kw=st.none() | st.floats(0.1, 30.0),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(
    arrays=_ARRAYS,
    latitude=st.floats(-60.0, 70.0),
    longitude=st.floats(-180.0, 180.0),
    day_of_year=st.integers(0, 364),
    clear_sky_index=st.floats(0.0, 1.0),
    temp_air_c=st.floats(-25.0, 40.0),
)
def test_pv_forecast_kw_is_bounded_for_any_arrays(
    arrays: list[PvArray],
    latitude: float,
    longitude: float,
    day_of_year: int,
    clear_sky_index: float,
    temp_air_c: float,
) -> None:
    date = (pd.Timestamp("2025-01-01") + pd.Timedelta(days=day_of_year)).strftime("%Y-%m-%d")
    index = _day(date)
    sky = clear_sky_weather(index, latitude=latitude, longitude=longitude, climatology=False)
    weather = sky.assign(
        ghi_w_m2=sky["ghi_w_m2"] * clear_sky_index,
        dni_w_m2=sky["dni_w_m2"] * clear_sky_index,
        dhi_w_m2=sky["dhi_w_m2"] * clear_sky_index,
        temp_air_c=temp_air_c,
    )
    pv = pv_forecast_kw(weather, arrays=arrays, latitude=latitude, longitude=longitude)
    # a cloudless sky gives at most ~1.3 kW/m² on any plane and a cold cell gains < 4 %,
    # so no array can exceed 1.5 x its kWp, nor its inverter
    limit_kw = sum(min(a.inverter_kw or math.inf, 1.5 * a.kwp) for a in arrays)
    assert pv.notna().all()
    assert (pv >= 0.0).all()
    assert (pv <= limit_kw + 1e-9).all()
    assert (pv[weather["ghi_w_m2"] == 0.0] == 0.0).all()


# --- clear_sky_weather ------------------------------------------------------------------


def test_clear_sky_weather_is_positive_by_day_and_zero_at_night() -> None:
    weather = clear_sky_weather(_day(), latitude=LATITUDE, longitude=LONGITUDE)
    assert list(weather.columns) == list(WEATHER_COLUMNS)
    assert weather.index.equals(_day())
    noon = weather.loc["2025-06-21 10:00+00:00":"2025-06-21 12:00+00:00"]
    assert (noon[["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]] > 0).all().all()
    night = weather.loc["2025-06-21 00:00+00:00":"2025-06-21 01:00+00:00"]
    assert (night[["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]] == 0).all().all()
    assert (weather["temp_air_c"] == MONTHLY_TEMP_AIR_C[5]).all()
    assert (weather["cloud_cover_percent"] == MONTHLY_CLOUD_COVER_PERCENT[5]).all()


def test_clear_sky_weather_climatology_scales_the_clear_sky_by_the_month() -> None:
    index = _day("2025-12-21")
    site = {"latitude": LATITUDE, "longitude": LONGITUDE}
    cloudless = clear_sky_weather(index, climatology=False, **site)
    average = clear_sky_weather(index, **site)
    assert average["ghi_w_m2"].sum() == pytest.approx(
        MONTHLY_CLEAR_SKY_INDEX[11] * cloudless["ghi_w_m2"].sum(), rel=1e-9
    )
    assert (cloudless["cloud_cover_percent"] == 0.0).all()
    day = average["ghi_w_m2"] > 0
    assert (average["dhi_w_m2"][day] > 0).all()  # Erbs: a cloudy average day has diffuse light
    # closure GHI = DHI + DNI cos(zenith): the implied cos(zenith) lies in (0, 1), and
    # where Erbs gives no beam (sun within 3° of the horizon) all light is diffuse
    beam = average[day & (average["dni_w_m2"] > 0)]
    cos_zenith = (beam["ghi_w_m2"] - beam["dhi_w_m2"]) / beam["dni_w_m2"]
    assert len(beam) > 10
    assert ((cos_zenith > 0) & (cos_zenith < 1)).all()
    no_beam = average[day & (average["dni_w_m2"] == 0)]
    assert (no_beam["dhi_w_m2"] == no_beam["ghi_w_m2"]).all()


def test_monthly_tables_have_twelve_plausible_values() -> None:
    assert len(MONTHLY_CLEAR_SKY_INDEX) == 12
    assert all(0.0 < kt <= 1.0 for kt in MONTHLY_CLEAR_SKY_INDEX)
    assert len(MONTHLY_TEMP_AIR_C) == 12
    assert max(MONTHLY_TEMP_AIR_C[5:8]) > max(MONTHLY_TEMP_AIR_C[:2])  # summer is warmer
    assert len(MONTHLY_CLOUD_COVER_PERCENT) == 12
    assert all(0.0 <= cc <= 100.0 for cc in MONTHLY_CLOUD_COVER_PERCENT)


def test_clear_sky_weather_refuses_a_naive_index() -> None:
    with pytest.raises(InputError) as caught:
        clear_sky_weather(_day().tz_localize(None), latitude=LATITUDE, longitude=LONGITUDE)
    assert caught.value.field == "index"
