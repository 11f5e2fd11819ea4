"""The live PV forecaster keeps every fetched weather run in the learning store.

The real Open-Meteo client talks to :class:`fake_openmeteo.FakeOpenMeteo` on 127.0.0.1.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from fake_openmeteo import FakeOpenMeteo

from darkstar.learning.store import Store, open_store
from darkstar.learning.store.weather import read_weather_run
from darkstar.sources import pv_forecast
from darkstar.sources.openmeteo import OpenMeteoClient
from darkstar.sources.pv import PvArray
from darkstar.sources.pv_forecast import REFRESH, Site, WeatherPvForecaster, hourly_run

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NOW = datetime(2025, 6, 21, 6, 10, tzinfo=UTC)  # inside the recorded reply's day
SITE = Site(latitude=55.6, longitude=13.0)
ARRAYS = [PvArray(kwp=6.0, tilt_deg=30.0, azimuth_deg=180.0)]
STARTS = [NOW.replace(minute=0) + k * timedelta(minutes=15) for k in range(8)]


@pytest.fixture
def meteo() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "planner_learning.db")
    yield opened
    opened.close()


def _forecaster(url: str, cache: Path, store: Store | None) -> WeatherPvForecaster:
    client = OpenMeteoClient(url, retries=0, timeout_s=2.0)
    return WeatherPvForecaster(
        client=client, arrays=ARRAYS, site=SITE, cache_dir=cache, store=store
    )


def test_a_fetched_run_is_kept_as_hourly_means_from_its_hour_on(
    meteo: FakeOpenMeteo, tmp_path: Path, store: Store
) -> None:
    pv = _forecaster(meteo.url, tmp_path, store)
    pv.pv_kw(STARTS, now=NOW)
    assert pv.forecast is not None
    run = read_weather_run(store, at=NOW)
    assert run is not None
    assert run.attrs["issued_at"] == NOW
    assert run.index[0] == pd.Timestamp("2025-06-21 06:00", tz="UTC")  # the fetch's hour
    assert run["lead_h"].iloc[0] == 0.0
    # each hour is the mean of its four slots (cloud cover in octas)
    slots = pv.forecast.frame.loc["2025-06-21 09:00":"2025-06-21 09:45"]
    hour = run.loc[pd.Timestamp("2025-06-21 09:00", tz="UTC")]
    assert hour["ghi_w_per_m2"] == pytest.approx(slots["ghi_w_m2"].mean())
    assert hour["dni_w_per_m2"] == pytest.approx(slots["dni_w_m2"].mean())
    assert hour["cloud_cover_octas"] == pytest.approx(slots["cloud_cover_percent"].mean() * 0.08)
    # only complete hours: the reply's last hour lacks a slot (the 24:00 label)
    assert run.index[-1] < pd.Timestamp("2025-06-22 00:00", tz="UTC")
    assert hourly_run(pv.forecast).index.equals(run.index)
    # a fresh forecast is not fetched again, so no second run is kept
    pv.pv_kw(STARTS, now=NOW + REFRESH - timedelta(minutes=1))
    again = read_weather_run(store, at=NOW + REFRESH)
    assert again is not None
    assert again.attrs["issued_at"] == NOW


def test_a_failed_store_write_is_logged_and_the_forecast_goes_on(
    meteo: FakeOpenMeteo,
    tmp_path: Path,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: object, **__: object) -> bool:
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(pv_forecast, "record_weather_run", broken)
    pv = _forecaster(meteo.url, tmp_path, store)
    with caplog.at_level(logging.ERROR, logger="darkstar.sources.pv_forecast"):
        power = pv.pv_kw(STARTS, now=NOW)
    assert max(power) > 0.5
    assert pv.status()["fault"] is None
    assert any("not kept" in r.getMessage() for r in caplog.records)


def test_without_a_store_nothing_is_kept(meteo: FakeOpenMeteo, tmp_path: Path) -> None:
    pv = _forecaster(meteo.url, tmp_path, None)
    assert len(pv.pv_kw(STARTS, now=NOW)) == len(STARTS)
