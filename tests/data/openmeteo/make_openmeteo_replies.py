"""Regenerate the Open-Meteo ``/v1/forecast`` replies in this folder.

These replies are CONSTRUCTED in the documented reply format, not recorded from the live
service (this machine has no internet). The format follows Open-Meteo's API docs
(open-meteo-website, ``src/routes/en/docs/+page.svelte``: "JSON Return Object",
"Errors", "15-Minutely Parameter Definition"): top-level ``latitude``, ``longitude``,
``generationtime_ms``, ``utc_offset_seconds``, ``timezone``, ``timezone_abbreviation``,
``elevation``, then ``<block>_units`` and ``<block>`` for ``minutely_15`` and ``hourly``,
each block a ``time`` array (ISO 8601 wall time without offset, here GMT) plus one array
per variable, ``null`` where there is no value; errors are ``{"error": true, "reason":
...}`` with HTTP 400.

The site is in southern Sweden (lat 55.6, lon 13.0, 12 m); the day is 2025-06-21 (UTC),
as asked with ``timezone=GMT&forecast_days=1&past_days=0``. The weather is pvlib's
Ineichen clear sky, computed every minute, under a made-up cloud pattern: clear until
09:00 UTC, passing cumulus until 14:00, overcast until 16:00, then nearly clear. Cloud
cuts the beam by ``0.9 c`` and scatters ``0.35 c`` of it into the diffuse part (``c``
cloud fraction), so GHI = DHI + DNI cos(zenith) minute by minute. As Open-Meteo does, each
radiation value is the mean over the PRECEDING 15 minutes or hour, labelled at its end;
temperature and cloud cover are instants at the label.

* ``minutely_15_day.json``: 15-minute and hourly blocks; the 15-minute values after
  18:00 UTC are ``null``, as where a 15-minute model's run ends, so the client must fall
  back to the hourly block there.
* ``hourly_only_day.json``: the same day with the hourly block only.
* ``error_400.json``: the error body of the docs' example (served with HTTP 400).

Run from the repository root::

    .venv/bin/python tests/data/openmeteo/make_openmeteo_replies.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib

HERE = Path(__file__).resolve().parent
LATITUDE, LONGITUDE, ELEVATION_M = 55.6, 13.0, 12.0
DAY = pd.Timestamp("2025-06-21", tz="UTC")
NULL_AFTER = DAY + pd.Timedelta(hours=18)
RADIATION = ("shortwave_radiation", "direct_normal_irradiance", "diffuse_radiation")


def _cloud_fraction(minutes: pd.DatetimeIndex) -> np.ndarray:
    """The made-up cloud pattern, 0 (clear) to 1 (overcast), per minute."""
    hours = np.asarray((minutes - DAY) / pd.Timedelta(hours=1), dtype=float)
    cumulus = np.clip(0.5 + 0.45 * np.sin(2 * np.pi * (hours - 9.0) * 60.0 / 50.0), 0.0, 1.0)
    return np.select([hours < 9.0, hours < 14.0, hours < 16.0], [0.0, cumulus, 0.85], default=0.1)


def _minute_weather() -> pd.DataFrame:
    """Per-minute GHI, DNI, DHI under the cloud pattern, from 23:00 UTC the day before."""
    minutes = pd.date_range(
        DAY - pd.Timedelta(hours=1), DAY + pd.Timedelta(days=1), freq="1min", inclusive="left"
    )
    mid = minutes + pd.Timedelta(seconds=30)
    location = pvlib.location.Location(LATITUDE, LONGITUDE, altitude=ELEVATION_M)
    solar = location.get_solarposition(mid)
    clear = location.get_clearsky(mid, model="ineichen", solar_position=solar)
    cos_zenith = np.clip(np.cos(np.radians(solar["zenith"].to_numpy())), 0.0, None)
    cloud = _cloud_fraction(minutes)
    beam_horizontal = clear["dni"].to_numpy() * cos_zenith
    dni = clear["dni"].to_numpy() * (1.0 - 0.9 * cloud)
    dhi = clear["dhi"].to_numpy() + 0.35 * cloud * beam_horizontal
    ghi = dhi + dni * cos_zenith
    return pd.DataFrame(
        {"shortwave_radiation": ghi, "direct_normal_irradiance": dni, "diffuse_radiation": dhi},
        index=minutes,
    )


def _preceding_means(minute: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Means over each preceding interval, labelled at the interval's end."""
    label = (minute.index + pd.Timedelta(minutes=1)).ceil(freq)
    return minute.groupby(label).mean().round(1)


def _temperature_c(times: pd.DatetimeIndex) -> np.ndarray:
    """A summer day: 15 °C mean, warmest at 14:00 UTC, cooler under cloud."""
    hours = np.asarray((times - DAY) / pd.Timedelta(hours=1), dtype=float)
    return np.round(
        15.0 + 6.0 * np.cos(2 * np.pi * (hours - 14.0) / 24.0) - 2.0 * _cloud_fraction(times), 1
    )


def _iso(times: pd.DatetimeIndex) -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M") for t in times]


def _block(means: pd.DataFrame, times: pd.DatetimeIndex, *, cloud: bool) -> dict[str, list[Any]]:
    block: dict[str, list[Any]] = {"time": _iso(times)}
    if cloud:
        block["cloud_cover"] = [int(v) for v in np.round(100 * _cloud_fraction(times))]
    block["temperature_2m"] = [float(v) for v in _temperature_c(times)]
    for name in RADIATION:
        block[name] = [float(v) for v in means.loc[times, name]]
    return block


def _reply(*, minutely: bool) -> dict[str, Any]:
    minute = _minute_weather()
    hours = pd.date_range(DAY, periods=24, freq="h")
    payload: dict[str, Any] = {
        "latitude": 55.600002,
        "longitude": 13.000002,
        "generationtime_ms": 0.7139444351196289,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": ELEVATION_M,
    }
    if minutely:
        quarters = pd.date_range(DAY, periods=96, freq="15min")
        block = _block(_preceding_means(minute, "15min"), quarters, cloud=False)
        for name in ("temperature_2m", *RADIATION):
            block[name] = [
                None if t > NULL_AFTER else v for t, v in zip(quarters, block[name], strict=True)
            ]
        units = {
            "time": "iso8601",
            "shortwave_radiation": "W/m²",
            "direct_normal_irradiance": "W/m²",
        }
        units |= {"diffuse_radiation": "W/m²", "temperature_2m": "°C"}
        payload["minutely_15_units"] = units
        payload["minutely_15"] = {k: block[k] for k in units}
    units = {"time": "iso8601", "cloud_cover": "%", "temperature_2m": "°C"}
    units |= {
        "shortwave_radiation": "W/m²",
        "direct_normal_irradiance": "W/m²",
        "diffuse_radiation": "W/m²",
    }
    payload["hourly_units"] = units
    block = _block(_preceding_means(minute, "h"), hours, cloud=True)
    payload["hourly"] = {k: block[k] for k in units}
    return payload


def _write(name: str, payload: dict[str, Any]) -> None:
    """Write one top-level key (and one block variable) per line, arrays kept on one line."""
    lines = []
    for key, value in payload.items():
        if isinstance(value, dict) and key in ("minutely_15", "hourly"):
            inner = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(f" {json.dumps(key)}: {{\n{inner}\n }}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    (HERE / name).write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def main() -> None:
    """Write every reply."""
    _write("minutely_15_day.json", _reply(minutely=True))
    _write("hourly_only_day.json", _reply(minutely=False))
    reason = (
        "Cannot initialize WeatherVariable from invalid String value tempeture_2m for key hourly"
    )
    _write("error_400.json", {"error": True, "reason": reason})


if __name__ == "__main__":
    main()
