"""The Open-Meteo client against constructed replies served by a real local HTTP server.

The replies in ``tests/data/openmeteo/`` are built in Open-Meteo's documented format by
``make_openmeteo_replies.py`` (no internet here); the server is a ``ThreadingHTTPServer`` on
127.0.0.1, so the client's real transport, query encoding and timeouts are exercised.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pvlib
import pytest
from fake_openmeteo import FakeOpenMeteo, Reply, ok

from darkstar.errors import AdapterError, InputError
from darkstar.sources.openmeteo import OpenMeteoClient, WeatherError, parse_forecast
from darkstar.sources.pv import WEATHER_COLUMNS, PvArray, pv_forecast_kw

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DATA = Path(__file__).resolve().parents[1] / "data" / "openmeteo"
LATITUDE, LONGITUDE = 55.6, 13.0
NOW = datetime(2025, 6, 21, 6, 0, tzinfo=UTC)
SLOT = pd.Timedelta(minutes=15)


def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture
def fake() -> Iterator[FakeOpenMeteo]:
    server = FakeOpenMeteo()
    server.start()
    yield server
    server.stop()


def _client(fake: FakeOpenMeteo, **kwargs: Any) -> OpenMeteoClient:
    kwargs.setdefault("backoff_s", 0.01)
    return OpenMeteoClient(fake.url, **kwargs)


def _fetch(fake: FakeOpenMeteo, **kwargs: Any) -> Any:
    with _client(fake, **kwargs) as client:
        return client.fetch(LATITUDE, LONGITUDE, now=NOW, forecast_days=1, past_days=0)


# --- the request ------------------------------------------------------------------------


def test_fetch_sends_a_utc_query_for_the_weather_variables(fake: FakeOpenMeteo) -> None:
    with _client(fake) as client:
        client.fetch(LATITUDE, LONGITUDE, now=NOW)
    (request,) = fake.requests
    query = {key: values[0] for key, values in request.query.items()}
    assert request.path == "/v1/forecast"
    assert query["timezone"] == "GMT"
    assert query["timeformat"] == "iso8601"
    assert (float(query["latitude"]), float(query["longitude"])) == (LATITUDE, LONGITUDE)
    assert set(query["minutely_15"].split(",")) == {
        "shortwave_radiation",
        "direct_normal_irradiance",
        "diffuse_radiation",
        "temperature_2m",
    }
    assert set(query["hourly"].split(",")) == {
        "cloud_cover",
        "temperature_2m",
        "shortwave_radiation",
        "direct_normal_irradiance",
        "diffuse_radiation",
    }
    assert (query["forecast_days"], query["past_days"]) == ("3", "1")
    assert query["temperature_unit"] == "celsius"
    assert query["wind_speed_unit"] == "ms"


def test_client_base_url_with_the_forecast_path_is_used_as_is(fake: FakeOpenMeteo) -> None:
    with OpenMeteoClient(fake.url + "/v1/forecast/") as client:
        client.fetch(LATITUDE, LONGITUDE, now=NOW, forecast_days=1, past_days=0)
    assert fake.requests[0].path == "/v1/forecast"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"now": datetime(2025, 6, 21, 6, 0)}, "now"),  # noqa: DTZ001 - the naive case
        ({"now": NOW, "forecast_days": 0}, "forecast_days"),
        ({"now": NOW, "past_days": 93}, "past_days"),
    ],
)
def test_fetch_bad_arguments_name_the_field(
    fake: FakeOpenMeteo, kwargs: dict[str, Any], field: str
) -> None:
    with _client(fake) as client, pytest.raises(InputError) as caught:
        client.fetch(LATITUDE, LONGITUDE, **kwargs)
    assert caught.value.field == field
    assert fake.requests == []


def test_fetch_latitude_out_of_range_names_it(fake: FakeOpenMeteo) -> None:
    with _client(fake) as client, pytest.raises(InputError, match="latitude"):
        client.fetch(95.0, LONGITUDE, now=NOW)


# --- parsing onto the slot grid ---------------------------------------------------------


def test_fetch_minutely_reply_is_on_the_utc_slot_grid(fake: FakeOpenMeteo) -> None:
    forecast = _fetch(fake)
    frame = forecast.frame
    assert forecast.source == "open-meteo"
    assert forecast.issued_at == NOW
    assert forecast.elevation_m == 12.0
    assert list(frame.columns) == list(WEATHER_COLUMNS)
    assert str(frame.index.tz) == "UTC"
    assert (frame.index[1:] - frame.index[:-1] == SLOT).all()
    # the hourly block's first hour [23:00, 00:00) starts the grid; the 15-minute block's
    # last label 23:45 ends it with the slot [23:30, 23:45)
    assert frame.index[0] == pd.Timestamp("2025-06-20 23:00", tz="UTC")
    assert frame.index[-1] == pd.Timestamp("2025-06-21 23:30", tz="UTC")


def test_fetch_slot_takes_the_15_minute_value_labelled_at_its_end(fake: FakeOpenMeteo) -> None:
    minutely = _load("minutely_15_day.json")["minutely_15"]
    frame = _fetch(fake).frame
    for name, column in [
        ("shortwave_radiation", "ghi_w_m2"),
        ("direct_normal_irradiance", "dni_w_m2"),
        ("diffuse_radiation", "dhi_w_m2"),
    ]:
        for label, value in zip(minutely["time"], minutely[name], strict=True):
            if value is None:
                continue
            start = pd.Timestamp(label, tz="UTC") - SLOT
            assert frame.loc[start, column] == value, (name, label)


def test_fetch_instants_are_interpolated_to_slot_mid_points(fake: FakeOpenMeteo) -> None:
    reply = _load("minutely_15_day.json")
    frame = _fetch(fake).frame
    # temperature: mean of the instants at 10:00 and 10:15 (15-minute block)
    temps = dict(
        zip(reply["minutely_15"]["time"], reply["minutely_15"]["temperature_2m"], strict=True)
    )
    expected = (temps["2025-06-21T10:00"] + temps["2025-06-21T10:15"]) / 2
    assert frame.loc["2025-06-21 10:00+00:00", "temp_air_c"] == pytest.approx(expected)
    # cloud cover, hourly only: 10:07:30 lies 1/8 of the way from 10:00 to 11:00
    cloud = dict(zip(reply["hourly"]["time"], reply["hourly"]["cloud_cover"], strict=True))
    expected = (
        cloud["2025-06-21T10:00"] + (cloud["2025-06-21T11:00"] - cloud["2025-06-21T10:00"]) / 8
    )
    assert frame.loc["2025-06-21 10:00+00:00", "cloud_cover_percent"] == pytest.approx(expected)


def test_fetch_null_15_minute_values_fall_back_to_the_hourly_block(fake: FakeOpenMeteo) -> None:
    reply = _load("minutely_15_day.json")
    frame = _fetch(fake).frame
    hourly = pd.Series(
        reply["hourly"]["shortwave_radiation"],
        index=pd.DatetimeIndex(reply["hourly"]["time"]).tz_localize("UTC"),
    )
    # 15-minute values are null after 18:00, so hours ending 19:00 .. 23:00 come from hourly
    evening = frame.loc["2025-06-21 18:00+00:00":"2025-06-21 22:45+00:00", "ghi_w_m2"]
    means = evening.groupby((evening.index + SLOT).ceil("h")).mean()
    assert np.allclose(means.to_numpy(), hourly.loc[means.index].to_numpy(), atol=1e-9)
    assert evening.notna().all()


def test_fetch_missing_values_stay_gaps_and_are_reported(fake: FakeOpenMeteo) -> None:
    reply = _load("minutely_15_day.json")
    times = reply["minutely_15"]["time"]
    for label in ("2025-06-21T11:15", "2025-06-21T11:30", "2025-06-21T11:45", "2025-06-21T12:00"):
        reply["minutely_15"]["shortwave_radiation"][times.index(label)] = None
    reply["hourly"]["shortwave_radiation"][reply["hourly"]["time"].index("2025-06-21T12:00")] = None
    fake.replies = [ok(reply)]
    forecast = _fetch(fake)
    hole = pd.date_range("2025-06-21 11:00", periods=4, freq="15min", tz="UTC")
    assert forecast.frame.loc[hole, "ghi_w_m2"].isna().all()
    assert set(hole) <= set(forecast.gap_slots)
    pv = pv_forecast_kw(
        forecast.frame,
        arrays=[PvArray(kwp=5.0, tilt_deg=35.0, azimuth_deg=180.0)],
        latitude=LATITUDE,
        longitude=LONGITUDE,
    )
    assert pv.loc[hole].isna().all()  # a daylight gap is not filled in
    assert pv.drop(hole).notna().all()


# --- hourly -> 15 minutes ---------------------------------------------------------------


def test_parse_forecast_hourly_distribution_keeps_each_hours_mean() -> None:
    reply = _load("hourly_only_day.json")
    frame = parse_forecast(reply, issued_at=NOW).frame
    labels = pd.DatetimeIndex(reply["hourly"]["time"]).tz_localize("UTC")
    hour_of_slot = (frame.index + SLOT).ceil("h")
    ghi_means = frame["ghi_w_m2"].groupby(hour_of_slot).mean()
    assert np.allclose(ghi_means.loc[labels], reply["hourly"]["shortwave_radiation"], atol=1e-9)
    # DHI keeps its hourly mean too, except in hours with the sun within 3° of the horizon,
    # where the beam counts as diffuse (DHI = GHI, DNI = 0)
    zenith = pvlib.solarposition.get_solarposition(frame.index + SLOT / 2, LATITUDE, LONGITUDE)
    zenith_deg = pd.Series(zenith["zenith"].to_numpy(), index=frame.index)
    high_sun = (zenith_deg < 87.0).groupby(hour_of_slot).all().loc[labels].to_numpy()
    dhi_means = frame["dhi_w_m2"].groupby(hour_of_slot).mean().loc[labels].to_numpy()
    hourly_dhi = np.asarray(reply["hourly"]["diffuse_radiation"])
    assert high_sun.sum() >= 14
    assert np.allclose(dhi_means[high_sun], hourly_dhi[high_sun], atol=1e-9)
    # and every slot closes: GHI = DHI + DNI cos(zenith)
    closure = frame["dhi_w_m2"] + frame["dni_w_m2"] * np.cos(np.radians(zenith_deg))
    assert np.allclose(closure, frame["ghi_w_m2"], atol=1e-9)


def _two_hours(ghi_w_m2: list[float], *, first: str) -> dict[str, Any]:
    """A minimal hourly-only reply with two hours, the second labelled ``first`` + 1 h."""
    reply = _load("hourly_only_day.json")
    start = datetime.fromisoformat(first)
    reply["hourly"] = {
        "time": [(start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M") for i in range(2)],
        "cloud_cover": [0, 0],
        "temperature_2m": [15.0, 15.0],
        "shortwave_radiation": ghi_w_m2,
        "direct_normal_irradiance": [0.0, 0.0],
        "diffuse_radiation": [0.0, 0.0],
    }
    return reply


def test_parse_forecast_hourly_noon_hour_is_about_flat_and_sums_to_four_times_the_mean() -> None:
    # hour [11:00, 12:00) UTC at 13°E is centred on solar noon (about 11:08 UTC): the
    # clear sky barely changes, so each slot is close to 400 and the four sum to 1600
    frame = parse_forecast(_two_hours([0.0, 400.0], first="2025-06-21T11:00"), issued_at=NOW).frame
    slots = frame.loc["2025-06-21 11:00+00:00":"2025-06-21 11:45+00:00", "ghi_w_m2"]
    assert len(slots) == 4
    assert slots.sum() == pytest.approx(1600.0, abs=1e-9)
    assert np.allclose(slots, 400.0, rtol=0.01)


def test_parse_forecast_hourly_sunrise_hour_puts_its_light_after_sunrise() -> None:
    # hour [02:00, 03:00) UTC: the sun rises at about 02:25 UTC, so the first slot stays
    # dark, later slots get more light, and the mean is still the hour's 4 W/m²
    frame = parse_forecast(_two_hours([0.0, 4.0], first="2025-06-21T02:00"), issued_at=NOW).frame
    slots = frame.loc["2025-06-21 02:00+00:00":"2025-06-21 02:45+00:00", "ghi_w_m2"].to_numpy()
    assert slots[0] == 0.0
    assert np.all(np.diff(slots[1:]) > 0)
    assert slots.mean() == pytest.approx(4.0)


def test_parse_forecast_hourly_light_in_a_dark_hour_is_spread_evenly() -> None:
    # hour [00:00, 01:00) UTC: no clear-sky light at all, so 2 W/m² go to every slot
    frame = parse_forecast(_two_hours([0.0, 2.0], first="2025-06-21T00:00"), issued_at=NOW).frame
    slots = frame.loc["2025-06-21 00:00+00:00":"2025-06-21 00:45+00:00"]
    assert (slots["ghi_w_m2"] == 2.0).all()
    assert (slots["dni_w_m2"] == 0.0).all()


# --- UTC alignment end to end -----------------------------------------------------------


@pytest.mark.parametrize("name", ["minutely_15_day.json", "hourly_only_day.json"])
def test_fetch_pv_ramps_match_pvlibs_solar_position(fake: FakeOpenMeteo, name: str) -> None:
    fake.replies = [ok(_load(name))]
    forecast = _fetch(fake)
    array = PvArray(kwp=5.0, tilt_deg=35.0, azimuth_deg=180.0)
    pv = pv_forecast_kw(forecast.frame, arrays=[array], latitude=LATITUDE, longitude=LONGITUDE)
    elevation = pvlib.solarposition.get_solarposition(pv.index + SLOT / 2, LATITUDE, LONGITUDE)
    sun_up = pv.index[elevation["elevation"].to_numpy() > 0]
    producing = pv.index[pv.fillna(0.0).to_numpy() > 0.002 * array.kwp]
    assert abs(producing[0] - sun_up[0]) <= SLOT  # sunrise, about 02:25 UTC
    assert abs(producing[-1] - sun_up[-1]) <= SLOT  # sunset, about 19:55 UTC


# --- HTTP failures ----------------------------------------------------------------------


def test_fetch_retries_503_and_succeeds_on_the_third_hit(fake: FakeOpenMeteo) -> None:
    busy = Reply(503, b'{"error": true, "reason": "Service unavailable"}')
    fake.replies = [busy, busy, ok(_load("minutely_15_day.json"))]
    forecast = _fetch(fake)
    assert len(fake.requests) == 3
    assert len(forecast.frame) > 0


def test_fetch_backs_off_exponentially(fake: FakeOpenMeteo) -> None:
    fake.replies = [Reply(500, b"oops")]
    start = time.monotonic()
    with pytest.raises(WeatherError, match=r"answered 500: oops \(after 4 attempts\)$"):
        _fetch(fake, retries=3, backoff_s=0.05)
    assert time.monotonic() - start >= 0.05 + 0.1 + 0.2
    assert len(fake.requests) == 4


def test_fetch_retries_429(fake: FakeOpenMeteo) -> None:
    limited = b'{"error": true, "reason": "Minutely API request limit exceeded."}'
    fake.replies = [Reply(429, limited), ok(_load("minutely_15_day.json"))]
    _fetch(fake)
    assert len(fake.requests) == 2


def test_fetch_400_is_final_with_open_meteos_reason(fake: FakeOpenMeteo) -> None:
    fake.replies = [Reply(400, (DATA / "error_400.json").read_bytes())]
    with pytest.raises(WeatherError) as caught:
        _fetch(fake)
    assert len(fake.requests) == 1
    reason = _load("error_400.json")["reason"]
    assert str(caught.value) == f"open-meteo: Open-Meteo answered 400: {reason}"
    assert isinstance(caught.value, AdapterError)
    assert caught.value.source == "open-meteo"


def test_fetch_404_is_final(fake: FakeOpenMeteo) -> None:
    fake.replies = [Reply(404, b"Not Found")]
    with pytest.raises(WeatherError, match="answered 404: Not Found$"):
        _fetch(fake)
    assert len(fake.requests) == 1


def test_fetch_timeout_is_one_clear_error(fake: FakeOpenMeteo) -> None:
    fake.replies = [Reply(200, b"{}", delay_s=0.6)]
    with pytest.raises(WeatherError) as caught:
        _fetch(fake, timeout_s=0.2, retries=1)
    message = str(caught.value)
    assert (
        message
        == f"open-meteo: no answer from {fake.url}/v1/forecast within 0.2 s (after 2 attempts)"
    )
    assert len(fake.requests) == 2


def test_fetch_unreachable_names_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # bound, not listening: refused
        with (
            OpenMeteoClient(url, retries=1, backoff_s=0.01) as client,
            pytest.raises(
                WeatherError, match=r"cannot reach .*/v1/forecast: .*\(after 2 attempts\)"
            ),
        ):
            client.fetch(LATITUDE, LONGITUDE, now=NOW)


def test_fetch_malformed_reply_is_final_and_names_the_field(fake: FakeOpenMeteo) -> None:
    reply = _load("minutely_15_day.json")
    reply["hourly_units"]["cloud_cover"] = "octas"
    fake.replies = [ok(reply)]
    with pytest.raises(WeatherError) as caught:
        _fetch(fake)
    assert caught.value.field == "hourly_units.cloud_cover"
    assert str(caught.value) == "open-meteo: hourly_units.cloud_cover: expected '%', got 'octas'"
    assert len(fake.requests) == 1


def test_fetch_reply_for_another_place_is_refused(fake: FakeOpenMeteo) -> None:
    with _client(fake) as client, pytest.raises(WeatherError) as caught:
        client.fetch(59.3, 18.1, now=NOW, forecast_days=1, past_days=0)
    assert caught.value.field == "latitude"


def test_fetch_reply_that_does_not_cover_now_is_refused(fake: FakeOpenMeteo) -> None:
    with _client(fake) as client, pytest.raises(WeatherError, match="not now") as caught:
        client.fetch(LATITUDE, LONGITUDE, now=NOW + timedelta(days=3))
    assert caught.value.field == "hourly.time"


# --- malformed replies, field by field --------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(reply: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target: Any = reply
        for parent in parents:
            target = target[parent]
        if isinstance(target, list):
            target[int(key)] = value
        else:
            target[key] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(reply: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target: Any = reply
        for parent in parents:
            target = target[parent]
        del target[key]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (_set("utc_offset_seconds", 7200), "utc_offset_seconds", "must be 0"),
        (
            _set("minutely_15_units.shortwave_radiation", "MJ/m²"),
            "minutely_15_units.shortwave_radiation",
            "'W/m²'",
        ),
        (
            _set("minutely_15_units.temperature_2m", "°F"),
            "minutely_15_units.temperature_2m",
            "'°C'",
        ),
        (
            _set("hourly_units.direct_normal_irradiance", "kW/m²"),
            "hourly_units.direct_normal_irradiance",
            "'W/m²'",
        ),
        (_set("hourly_units.time", "unixtime"), "hourly_units.time", "'iso8601'"),
        (_drop("hourly.cloud_cover"), "hourly.cloud_cover", "missing variable"),
        (
            _drop("minutely_15.diffuse_radiation"),
            "minutely_15.diffuse_radiation",
            "missing variable",
        ),
        (_drop("hourly"), "hourly", "missing"),
        (_drop("hourly_units"), "hourly_units", "missing"),
        (
            _set("minutely_15.shortwave_radiation.40", float("nan")),
            "minutely_15.shortwave_radiation",
            "NaN at 2025-06-21T10:00",
        ),
        (
            _set("hourly.diffuse_radiation.10", -5.0),
            "hourly.diffuse_radiation",
            "negative irradiance -5.0 W/m²",
        ),
        (_set("hourly.temperature_2m.3", "warm"), "hourly.temperature_2m", "not a number"),
        (_set("hourly.temperature_2m", [15.0]), "hourly.temperature_2m", "expected 24 values"),
        (_set("minutely_15.time.5", "2025-06-21T01:30"), "minutely_15.time", "one step of 0:15:00"),
        (_set("hourly.time.0", "yesterday"), "hourly.time", "not ISO 8601"),
        (_set("hourly.time.0", "2025-06-20T23:30"), "hourly.time", "not on the 1:00:00 grid"),
        (_set("elevation", None), "elevation", "expected a number"),
    ],
)
def test_parse_forecast_malformed_reply_names_the_field(
    mutate: Callable[[dict[str, Any]], None], field: str, fragment: str
) -> None:
    reply = copy.deepcopy(_load("minutely_15_day.json"))
    mutate(reply)
    with pytest.raises(WeatherError) as caught:
        parse_forecast(reply, issued_at=NOW)
    assert caught.value.field == field
    assert fragment in str(caught.value)
    assert str(caught.value).startswith(f"open-meteo: {field}: ")


def test_parse_forecast_error_object_gives_the_reason() -> None:
    with pytest.raises(WeatherError, match="tempeture_2m"):
        parse_forecast(_load("error_400.json"), issued_at=NOW)


def test_parse_forecast_without_minutely_block_uses_hourly_only() -> None:
    forecast = parse_forecast(_load("hourly_only_day.json"), issued_at=NOW)
    assert forecast.frame.index[-1] == pd.Timestamp("2025-06-21 22:45", tz="UTC")
    assert len(forecast.gap_slots) == 0
