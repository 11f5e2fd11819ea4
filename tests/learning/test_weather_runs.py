"""Weather runs in the store: kept as fetched, read back as of a time in Aurora's format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from darkstar.aurora.features import FORECAST_WEATHER_COLUMNS, Site, weather_features
from darkstar.errors import InputError
from darkstar.learning.store import Store
from darkstar.learning.store.models import WeatherRun
from darkstar.learning.store.weather import (
    WIND_SPEED_M_PER_S,
    first_weather_run,
    read_weather_hours,
    read_weather_run,
    record_weather_run,
)

DAY = datetime(2026, 6, 1, tzinfo=UTC)
EARLY = DAY + timedelta(hours=6, minutes=20)  # fetched 06:20 UTC
LATE = DAY + timedelta(hours=12, minutes=5)  # fetched 12:05 UTC


def _hourly(first: datetime, hours: int, *, ghi: float, cloud_percent: float) -> pd.DataFrame:
    index = pd.date_range(first, periods=hours, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "ghi_w_per_m2": np.full(hours, ghi),
            "dni_w_per_m2": np.full(hours, ghi / 2),
            "dhi_w_per_m2": np.full(hours, ghi / 4),
            "temp_air_c": np.full(hours, 14.5),
            "cloud_cover_percent": np.full(hours, cloud_percent),
        },
        index=index,
    )


@pytest.fixture
def two_runs(store: Store) -> Store:
    """Runs fetched at 06:20 (from 06:00, 12 h) and 12:05 (from 12:00, 12 h)."""
    early = _hourly(DAY + timedelta(hours=6), 12, ghi=300.0, cloud_percent=50.0)
    late = _hourly(DAY + timedelta(hours=12), 12, ghi=600.0, cloud_percent=25.0)
    assert record_weather_run(store, issued_at=EARLY, hourly=early)
    assert record_weather_run(store, issued_at=LATE, hourly=late)
    return store


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (EARLY - timedelta(seconds=1), None),  # before the first run: none
        (EARLY, EARLY),  # at its issue time
        (LATE - timedelta(seconds=1), EARLY),
        (LATE, LATE),
        (LATE + timedelta(days=3), LATE),  # the newest, however old
    ],
)
def test_read_weather_run_newest_at_or_before(
    two_runs: Store, at: datetime, expected: datetime | None
) -> None:
    run = read_weather_run(two_runs, at=at)
    if expected is None:
        assert run is None
    else:
        assert run is not None
        assert run.attrs["issued_at"] == expected


def test_first_weather_run(store: Store) -> None:
    assert first_weather_run(store) is None
    hourly = _hourly(DAY + timedelta(hours=12), 2, ghi=1.0, cloud_percent=1.0)
    assert record_weather_run(store, issued_at=LATE, hourly=hourly)
    assert record_weather_run(store, issued_at=EARLY, hourly=hourly)
    assert first_weather_run(store) == EARLY


def test_read_weather_run_converts_octas_lead_and_wind(two_runs: Store) -> None:
    run = read_weather_run(two_runs, at=EARLY + timedelta(hours=1))
    assert run is not None
    assert set(FORECAST_WEATHER_COLUMNS) <= set(run.columns)
    assert str(run.index.tz) == "UTC"
    assert run.index[0] == pd.Timestamp("2026-06-01 06:00", tz="UTC")
    assert len(run) == 12
    # 50 % cloud cover = 4 of 8 octas; fetched 06:20: hour 06:00 has lead 0, 08:00 lead 2
    assert run["cloud_cover_octas"].iloc[0] == pytest.approx(4.0)
    assert run["lead_h"].iloc[:3].tolist() == [0.0, 1.0, 2.0]
    assert (run["wind_speed_m_per_s"] == WIND_SPEED_M_PER_S).all()
    assert run["ghi_w_per_m2"].iloc[0] == pytest.approx(300.0)
    assert run["temp_air_c"].iloc[0] == pytest.approx(14.5)
    late = read_weather_run(two_runs, at=LATE)
    assert late is not None
    assert late["cloud_cover_octas"].iloc[0] == pytest.approx(2.0)  # 25 % = 2 octas
    # Aurora takes it as it is: a slot at 13:30 is 1.5 h after the run's hour 12:00
    index = pd.DatetimeIndex([pd.Timestamp("2026-06-01 13:30", tz="UTC")])
    site = Site(latitude=55.6, longitude=13.0)
    assert weather_features(late, index, site=site)["lead_h"].iloc[0] == pytest.approx(1.5)


def test_record_weather_run_replaces_a_run_of_the_same_time(two_runs: Store) -> None:
    again = _hourly(DAY + timedelta(hours=6), 3, ghi=111.0, cloud_percent=100.0)
    assert record_weather_run(two_runs, issued_at=EARLY, hourly=again)
    run = read_weather_run(two_runs, at=EARLY)
    assert run is not None
    assert len(run) == 3
    assert run["ghi_w_per_m2"].tolist() == [111.0] * 3
    assert run["cloud_cover_octas"].iloc[0] == pytest.approx(8.0)
    with Session(two_runs.engine) as session:
        assert session.scalar(select(func.count()).select_from(WeatherRun)) == 3 + 12


def test_read_weather_run_stops_at_the_first_missing_hour(store: Store) -> None:
    hourly = _hourly(DAY, 6, ghi=200.0, cloud_percent=0.0).drop(DAY + timedelta(hours=3))
    assert record_weather_run(store, issued_at=DAY, hourly=hourly)
    run = read_weather_run(store, at=DAY)
    assert run is not None
    assert list(run.index.hour) == [0, 1, 2]  # 04:00 and 05:00 lie after the gap


def test_read_weather_hours_takes_each_hour_from_the_run_before_it(two_runs: Store) -> None:
    hours = read_weather_hours(two_runs, start=DAY, end=DAY + timedelta(hours=24))
    # 06:00 lies before the 06:20 run was fetched: no run holds it as known then
    assert hours.index[0] == pd.Timestamp("2026-06-01 07:00", tz="UTC")
    ghi = hours["ghi_w_per_m2"]
    assert (ghi[hours.index.hour <= 12] == 300.0).all()  # 12:00 began before 12:05
    assert (ghi[hours.index.hour >= 13] == 600.0).all()
    assert hours.loc[pd.Timestamp("2026-06-01 13:00", tz="UTC"), "lead_h"] == 1.0
    assert hours.index[-1] == pd.Timestamp("2026-06-01 23:00", tz="UTC")


def test_record_weather_run_refuses_bad_input(store: Store) -> None:
    good = _hourly(DAY, 2, ghi=100.0, cloud_percent=10.0)
    with pytest.raises(InputError, match="issued_at"):
        record_weather_run(store, issued_at=datetime(2026, 6, 1), hourly=good)  # noqa: DTZ001
    with pytest.raises(InputError, match=r"hourly\.ghi_w_per_m2"):
        record_weather_run(
            store, issued_at=DAY, hourly=good.assign(ghi_w_per_m2=[1.0, float("nan")])
        )
    with pytest.raises(InputError, match=r"hourly\.index"):
        record_weather_run(
            store, issued_at=DAY, hourly=good.set_axis(good.index + timedelta(minutes=15))
        )
    with pytest.raises(InputError, match=r"hourly\.cloud_cover_percent"):
        record_weather_run(store, issued_at=DAY, hourly=good.drop(columns="cloud_cover_percent"))
    assert read_weather_run(store, at=DAY + timedelta(days=1)) is None
    with pytest.raises(InputError, match="at"):
        read_weather_run(store, at=datetime(2026, 6, 1))  # noqa: DTZ001
