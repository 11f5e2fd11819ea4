"""The live PV forecast's fallback chain: Open-Meteo, then the last forecast, then climatology.

The real Open-Meteo client talks to :class:`fake_openmeteo.FakeOpenMeteo` on 127.0.0.1;
the forecaster caches the last good forecast in its data folder, as the service does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fake_openmeteo import FakeOpenMeteo, Reply

from darkstar.sources.openmeteo import OpenMeteoClient
from darkstar.sources.pv import PvArray
from darkstar.sources.pv_forecast import CACHE_FILE, REFRESH, Site, WeatherPvForecaster

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NOW = datetime(2025, 6, 21, 6, 0, tzinfo=UTC)  # inside the recorded reply's day
SITE = Site(latitude=55.6, longitude=13.0)
ARRAYS = [PvArray(kwp=6.0, tilt_deg=30.0, azimuth_deg=180.0, inverter_kw=5.0)]
STARTS = [NOW + k * timedelta(minutes=15) for k in range(24)]  # 06:00-12:00 UTC


@pytest.fixture
def meteo() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo()
    server.start()
    yield server
    server.stop()


def _forecaster(url: str, cache: Path) -> WeatherPvForecaster:
    client = OpenMeteoClient(url, retries=0, timeout_s=2.0)
    return WeatherPvForecaster(client=client, arrays=ARRAYS, site=SITE, cache_dir=cache)


def test_a_fresh_forecast_is_used_cached_and_not_fetched_again_within_the_hour(
    meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    pv = _forecaster(meteo.url, tmp_path)
    power = pv.pv_kw(STARTS, now=NOW)
    assert len(power) == len(STARTS)
    assert max(power) > 1.0
    assert all(0.0 <= p <= 5.0 for p in power)  # never above the inverter limit
    status = pv.status()
    assert status["source"].startswith("pvlib on Open-Meteo issued 2025-06-21T06:00")
    assert status["fault"] is None
    assert (tmp_path / CACHE_FILE).exists()
    pv.pv_kw(STARTS, now=NOW + REFRESH - timedelta(minutes=1))
    assert len(meteo.requests) == 1  # younger than REFRESH: not asked again


def test_open_meteo_down_uses_the_last_forecast_then_says_so(
    meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    first = _forecaster(meteo.url, tmp_path)
    expected = first.pv_kw(STARTS, now=NOW)
    # a restart while Open-Meteo is down: the cached forecast, flagged
    meteo.replies = [Reply(503, b'{"error": true, "reason": "maintenance"}')]
    later = NOW + 2 * REFRESH
    again = _forecaster(meteo.url, tmp_path)
    assert again.pv_kw(STARTS, now=later) == pytest.approx(expected)
    status = again.status()
    assert status["source"].startswith("pvlib on last Open-Meteo forecast issued 2025-06-21T06:00")
    assert "(2.0 h old)" in status["source"]
    assert status["fault"].startswith(
        "Open-Meteo: no new weather forecast since 08:00 UTC (0 min): open-meteo: "
    )
    assert status["fault"].endswith(
        "; next try 08:10 UTC; PV from last Open-Meteo forecast issued 2025-06-21T06:00+00:00 "
        "(2.0 h old)"
    )


def test_no_forecast_at_all_falls_back_to_climatology_flagged(tmp_path: Path) -> None:
    pv = _forecaster("http://127.0.0.1:1", tmp_path)
    power = pv.pv_kw(STARTS, now=NOW)
    assert max(power) > 0.5  # a June morning in Malmö, clear sky x the June climatology
    assert pv.status()["source"] == "pvlib on clear-sky x climatology (no weather forecast)"
    assert pv.status()["fault"] is not None


def test_slots_beyond_the_forecast_are_climatology_and_counted(
    meteo: FakeOpenMeteo, tmp_path: Path
) -> None:
    pv = _forecaster(meteo.url, tmp_path)
    evening = datetime(2025, 6, 21, 22, 0, tzinfo=UTC)  # the reply ends at 23:45 UTC
    pv.pv_kw([evening + k * timedelta(minutes=15) for k in range(16)], now=NOW)
    source = pv.status()["source"]
    # 00:00-01:45 on 22 June are beyond the reply, and the reply's last evening hour has
    # no hourly mean to spread (labelled 24:00, not in the reply): 12 slots in all
    assert pv.forecast is not None
    missing = pv.forecast.frame.reindex([evening + k * timedelta(minutes=15) for k in range(16)])[
        "ghi_w_m2"
    ].isna()
    assert int(missing.sum()) >= 8
    assert f"; {int(missing.sum())} of 16 slots clear-sky x climatology" in source
