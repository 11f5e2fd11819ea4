"""Tests for darkstar.simulation.weather: TRY parsing, nearest station, PV power."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from darkstar.errors import AdapterError, InputError
from darkstar.simulation.datasets import locate_package_file, read_weather
from darkstar.simulation.weather import (
    PvArraySpec,
    TryStation,
    nearest_station,
    parse_try,
    parse_try_station,
    pv_power_kw,
)

ROSTOCK = (54.09, 12.13)
MALMO = (55.6, 13.0)
SOUTH_8KWP = PvArraySpec(kwp=8.0, tilt_deg=35.0, azimuth_deg=180.0)


@pytest.fixture(scope="module")
def rostock_weather() -> pd.DataFrame:
    return read_weather(latitude=ROSTOCK[0], longitude=ROSTOCK[1])


@pytest.fixture(scope="module")
def try_text() -> str:
    path = locate_package_file("demandlib", "demandlib/vdi/resources_weather/TRY2010_02_Jahr.dat")
    return path.read_text(encoding="utf-8")


# --- parsing ------------------------------------------------------------------------


def test_parse_try_station_rostock(try_text: str) -> None:
    station = parse_try_station(try_text)
    assert station == TryStation(
        name="Rostock", latitude_deg=54 + 11 / 60, longitude_deg=12 + 5 / 60, elevation_m=4.0
    )


def test_parse_try_station_missing_header() -> None:
    with pytest.raises(AdapterError, match="Lage"):
        parse_try_station("Station: X  WMO-Nummer: 1\n")


def test_parse_try_index_is_interval_start_utc(try_text: str) -> None:
    weather = parse_try(try_text, year=2018)
    assert len(weather) == 8760
    # HH = 1 on 1 January MEZ covers 00:00-01:00 MEZ = 23:00-24:00 UTC on 31 December
    assert weather.index[0] == pd.Timestamp("2017-12-31 23:00", tz="UTC")
    assert weather.index[-1] == pd.Timestamp("2018-12-31 22:00", tz="UTC")
    assert weather.index.is_monotonic_increasing
    assert weather.index.is_unique
    assert list(weather.columns) == [
        "ghi_w_per_m2",
        "dhi_w_per_m2",
        "dni_w_per_m2",
        "temp_air_c",
        "wind_speed_m_per_s",
        "cloud_cover_octas",
    ]


def test_parse_try_other_year(try_text: str) -> None:
    weather = parse_try(try_text, year=2015)
    assert weather.index[0] == pd.Timestamp("2014-12-31 23:00", tz="UTC")


def test_parse_try_leap_year(try_text: str) -> None:
    with pytest.raises(InputError, match="year"):
        parse_try(try_text, year=2020)


def test_parse_try_truncated(try_text: str) -> None:
    with pytest.raises(AdapterError, match="8760"):
        parse_try("\n".join(try_text.splitlines()[:-24]), year=2018)


def test_parse_try_no_data_marker(try_text: str) -> None:
    with pytest.raises(AdapterError, match=r"\*\*\*"):
        parse_try(try_text.replace("\n***\n", "\n"), year=2018)


def test_parse_try_dni_consistent(rostock_weather: pd.DataFrame) -> None:
    beam = rostock_weather["ghi_w_per_m2"] - rostock_weather["dhi_w_per_m2"]
    dni = rostock_weather["dni_w_per_m2"]
    assert (dni >= 0.0).all()
    assert dni.max() < 1400.0
    # beam in hours with the sun below 3° elevation is dropped: some, but under 1 %
    lost_beam = beam[dni == 0.0].sum()
    assert 0.0 < lost_beam < 0.01 * beam.sum()


def test_parse_try_night_is_dark(rostock_weather: pd.DataFrame) -> None:
    june_nights = rostock_weather[
        (rostock_weather.index.month == 6) & (rostock_weather.index.hour.isin([21, 22, 23, 0]))
    ]
    assert (june_nights[["ghi_w_per_m2", "dhi_w_per_m2", "dni_w_per_m2"]] == 0.0).all().all()


# --- nearest station ----------------------------------------------------------------


def test_nearest_station_haversine() -> None:
    north = TryStation(name="N", latitude_deg=60.0, longitude_deg=0.0, elevation_m=0.0)
    east = TryStation(name="E", latitude_deg=50.0, longitude_deg=12.0, elevation_m=0.0)
    # 10° north = 1112 km, 12° east at 50° N is about 858 km: east is nearer
    assert nearest_station([north, east], latitude=50.0, longitude=0.0).name == "E"


def test_nearest_station_empty() -> None:
    with pytest.raises(InputError, match="stations"):
        nearest_station([], latitude=50.0, longitude=10.0)


# --- PV -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kwp": 0.0, "tilt_deg": 30.0, "azimuth_deg": 180.0}, "kwp"),
        ({"kwp": 5.0, "tilt_deg": 95.0, "azimuth_deg": 180.0}, "tilt_deg"),
        ({"kwp": 5.0, "tilt_deg": 30.0, "azimuth_deg": 360.0}, "azimuth_deg"),
        ({"kwp": float("nan"), "tilt_deg": 30.0, "azimuth_deg": 180.0}, "kwp"),
    ],
)
def test_pv_array_spec_invalid(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError, match=field):
        PvArraySpec(**kwargs)


def test_pv_array_spec_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SOUTH_8KWP.kwp = 1.0  # type: ignore[misc]


def test_pv_power_kw_zero_at_night(rostock_weather: pd.DataFrame) -> None:
    pv = pv_power_kw(
        rostock_weather, arrays=[SOUTH_8KWP], latitude=ROSTOCK[0], longitude=ROSTOCK[1]
    )
    assert pv.name == "pv_power_kw"
    assert pv.index.equals(rostock_weather.index)
    assert (pv >= 0.0).all()
    assert (pv[rostock_weather["ghi_w_per_m2"] == 0.0] == 0.0).all()
    assert (pv[pv.index.hour.isin([22, 23, 0, 1])] == 0.0).all()
    assert pv.max() < 8.0


def test_pv_power_kw_annual_yield_northern_germany(rostock_weather: pd.DataFrame) -> None:
    pv = pv_power_kw(
        rostock_weather, arrays=[SOUTH_8KWP], latitude=ROSTOCK[0], longitude=ROSTOCK[1]
    )
    kwh_per_kwp = pv.sum() / 8.0  # hourly mean kW x 1 h
    assert 800.0 < kwh_per_kwp < 1200.0


def test_pv_power_kw_annual_yield_default_site() -> None:
    weather = read_weather(latitude=MALMO[0], longitude=MALMO[1])
    pv = pv_power_kw(weather, arrays=[SOUTH_8KWP], latitude=MALMO[0], longitude=MALMO[1])
    assert 800.0 < pv.sum() / 8.0 < 1200.0
    # summer dominates: June yields several times December
    assert pv[pv.index.month == 6].sum() > 4 * pv[pv.index.month == 12].sum()


def test_pv_power_kw_two_arrays_sum(rostock_weather: pd.DataFrame) -> None:
    east = PvArraySpec(kwp=3.0, tilt_deg=20.0, azimuth_deg=90.0)
    west = PvArraySpec(kwp=4.0, tilt_deg=20.0, azimuth_deg=270.0)
    site = {"latitude": ROSTOCK[0], "longitude": ROSTOCK[1]}
    both = pv_power_kw(rostock_weather, arrays=[east, west], **site)
    separate = pv_power_kw(rostock_weather, arrays=[east], **site) + pv_power_kw(
        rostock_weather, arrays=[west], **site
    )
    np.testing.assert_allclose(both.to_numpy(), separate.to_numpy(), rtol=1e-12, atol=1e-12)
    # east peaks before west within the day
    hour_east = pv_power_kw(rostock_weather, arrays=[east], **site).groupby(
        rostock_weather.index.hour
    )
    hour_west = pv_power_kw(rostock_weather, arrays=[west], **site).groupby(
        rostock_weather.index.hour
    )
    assert hour_east.sum().idxmax() < hour_west.sum().idxmax()


def test_pv_power_kw_no_arrays(rostock_weather: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="arrays"):
        pv_power_kw(rostock_weather, arrays=[], latitude=54.0, longitude=12.0)


def test_pv_power_kw_missing_column(rostock_weather: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="weather.temp_air_c"):
        pv_power_kw(
            rostock_weather.drop(columns="temp_air_c"),
            arrays=[SOUTH_8KWP],
            latitude=54.0,
            longitude=12.0,
        )


def test_pv_power_kw_nan_weather(rostock_weather: pd.DataFrame) -> None:
    broken = rostock_weather.copy()
    broken.iloc[100, broken.columns.get_loc("ghi_w_per_m2")] = np.nan
    with pytest.raises(InputError, match="weather.ghi_w_per_m2"):
        pv_power_kw(broken, arrays=[SOUTH_8KWP], latitude=54.0, longitude=12.0)
