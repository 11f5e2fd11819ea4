"""Weather forecast runs as fetched: ``weather_runs`` (migration ``0005_weather_runs``).

Aurora learns from the weather *as it was forecast* at each moment, so every run the
service fetches is kept: :func:`record_weather_run` stores one run (hourly means from its
issue hour on) under the time it was fetched, and the readers give it back in Aurora's
hourly run format (:data:`darkstar.aurora.features.FORECAST_WEATHER_COLUMNS`):

- :func:`read_weather_run`: the newest run issued at or before a moment, what a forecast
  issued then would have seen;
- :func:`read_weather_hours`: per past hour, that hour as forecast by the newest run
  issued at or before its start (the physics prior "as forecast then" of each slot).

Translation to Aurora's columns (done here, once):

- ``cloud_cover_octas = cloud_cover_percent * 8 / 100``;
- ``wind_speed_m_per_s`` is :data:`WIND_SPEED_M_PER_S` throughout: the Open-Meteo reply
  the service asks for carries no wind (the physics model assumes the same constant);
- ``lead_h`` = the hour's start minus the run's issue time floored to the hour (the
  first hour of a run, which holds the issue time, has lead 0) [h];
- ``attrs["issued_at"]`` is the run's issue time (tz-aware UTC).

A run is used from its first hour up to its first missing hour (Aurora needs a run
without gaps); the hours after a gap are left out and so count as not covered.

Writes log a database failure and return ``False`` (never raise, STYLE §H.28); reads
raise :class:`~darkstar.learning.store.StoreError`. The service fetches a run an hour, each
from its hour to the end of the reply (the end of the UTC day after tomorrow: 49-72
hours), so the table grows by about 1,450 rows (about 120 kB of SQLite, measured) a day,
some 45 MB a year; hours older than ``retention.weather_runs_days`` are pruned daily
(:mod:`darkstar.learning.store.retention`).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.learning.store.as_issued import latest_issued
from darkstar.learning.store.engine import StoreError
from darkstar.learning.store.models import WeatherRun

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.learning.store.engine import Store

__all__ = [
    "OCTAS_PER_PERCENT",
    "RUN_COLUMNS",
    "WIND_SPEED_M_PER_S",
    "first_weather_run",
    "read_weather_hours",
    "read_weather_run",
    "record_weather_run",
]

logger = logging.getLogger(__name__)

RUN_COLUMNS: Final = (
    "ghi_w_per_m2",
    "dni_w_per_m2",
    "dhi_w_per_m2",
    "temp_air_c",
    "cloud_cover_percent",
)
"""Columns of a stored run hour (hourly means): W/m², W/m², W/m², °C, %."""

WIND_SPEED_M_PER_S: Final = 1.0
"""Wind speed of every read hour: no wind is fetched (faiman's default, as in
:mod:`darkstar.sources.pv`). [m/s]"""

OCTAS_PER_PERCENT: Final = 8.0 / 100.0
"""Cloud cover in octas per percent. [octas/%]"""

_HOUR: Final = 3600
_IRRADIANCE: Final = ("ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2")


def _epoch_s(moment: datetime, field: str) -> int:
    """Return integer UTC epoch seconds; naive raises ``InputError``."""
    if not isinstance(moment, datetime):
        raise InputError(field, f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(field, "naive datetime; pass a timezone-aware datetime")
    return math.floor(moment.timestamp())


def _check_hourly(hourly: pd.DataFrame) -> None:
    """Raise unless ``hourly`` is a non-empty UTC hour grid of finite :data:`RUN_COLUMNS`."""
    index = hourly.index
    if not isinstance(index, pd.DatetimeIndex) or str(index.tz) != "UTC":
        raise InputError("hourly.index", "must be a tz-aware UTC DatetimeIndex")
    if len(index) == 0:
        raise InputError("hourly", "no hours")
    if (index != index.floor("h")).any() or index.has_duplicates:
        raise InputError("hourly.index", "must be distinct whole UTC hours")
    for column in RUN_COLUMNS:
        if column not in hourly.columns:
            raise InputError(f"hourly.{column}", "column missing")
        values = hourly[column].to_numpy(float)
        if not np.isfinite(values).all():
            raise InputError(f"hourly.{column}", "NaN or infinite value")
        if column in _IRRADIANCE and (values < 0.0).any():
            raise InputError(f"hourly.{column}", "negative irradiance")


def record_weather_run(store: Store, *, issued_at: datetime, hourly: pd.DataFrame) -> bool:
    """Keep a weather run fetched at ``issued_at`` (replacing one fetched at the same time).

    Parameters
    ----------
    store : Store
        The learning store.
    issued_at : datetime
        When the run was fetched (tz-aware).
    hourly : pandas.DataFrame
        Hourly means on a UTC index of hour starts (gaps allowed: missing hours are not
        stored), with the :data:`RUN_COLUMNS`: ``ghi_w_per_m2``, ``dni_w_per_m2``,
        ``dhi_w_per_m2`` [W/m²], ``temp_air_c`` [°C] and ``cloud_cover_percent`` [%].

    Returns
    -------
    bool
        ``False`` when the write failed (:attr:`Store.last_write_error` says why).

    Raises
    ------
    InputError
        For a naive ``issued_at``, an index that is not whole UTC hours, a missing
        column, a NaN or a negative irradiance.
    """
    issued = _epoch_s(issued_at, "issued_at")
    _check_hourly(hourly)
    hours = [math.floor(t.timestamp()) for t in hourly.index]
    values = hourly.loc[:, list(RUN_COLUMNS)].to_numpy(float)
    rows = [
        WeatherRun(
            issued_at_utc=issued,
            hour_utc=int(hour),
            **{name: float(v) for name, v in zip(RUN_COLUMNS, row, strict=True)},
        )
        for hour, row in zip(hours, values, strict=True)
    ]
    try:
        with Session(store.engine) as session, session.begin():
            session.execute(delete(WeatherRun).where(WeatherRun.issued_at_utc == issued))
            session.add_all(rows)
    except SQLAlchemyError as exc:
        store.note_write_failed(exc)
        logger.exception("record_weather_run: could not keep the run of %s", issued_at)
        return False
    store.note_write_ok()
    return True


def _frame(rows: Sequence[WeatherRun]) -> pd.DataFrame:
    """Return stored hours (sorted by hour) in Aurora's run format, lead per own run."""
    hours = np.array([r.hour_utc for r in rows], dtype=np.int64)
    issued = np.array([r.issued_at_utc for r in rows], dtype=np.int64)
    index = pd.DatetimeIndex(pd.to_datetime(hours, unit="s", utc=True), name="hour")
    columns = {
        name: np.array([getattr(r, name) for r in rows], dtype=float) for name in RUN_COLUMNS
    }
    return pd.DataFrame(
        {
            "ghi_w_per_m2": columns["ghi_w_per_m2"],
            "dni_w_per_m2": columns["dni_w_per_m2"],
            "dhi_w_per_m2": columns["dhi_w_per_m2"],
            "temp_air_c": columns["temp_air_c"],
            "cloud_cover_octas": columns["cloud_cover_percent"] * OCTAS_PER_PERCENT,
            "wind_speed_m_per_s": np.full(len(rows), WIND_SPEED_M_PER_S),
            "lead_h": (hours - (issued // _HOUR) * _HOUR) / float(_HOUR),
        },
        index=index,
    )


def read_weather_run(store: Store, *, at: datetime) -> pd.DataFrame | None:
    """Return the newest run issued at or before ``at``, as Aurora's hourly run frame.

    Parameters
    ----------
    store : Store
        The learning store.
    at : datetime
        The moment (tz-aware).

    Returns
    -------
    pandas.DataFrame or None
        On a UTC index of hour starts from the run's first hour up to its first missing
        one: ``ghi_w_per_m2``, ``dni_w_per_m2``, ``dhi_w_per_m2`` [W/m²],
        ``temp_air_c`` [°C], ``cloud_cover_octas`` [octas], ``wind_speed_m_per_s``
        [m/s] and ``lead_h`` [h] (module docstring); ``attrs["issued_at"]`` the issue
        time. ``None`` when no run was issued by ``at``.

    Raises
    ------
    InputError
        For a naive ``at``.
    StoreError
        When the database cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import timedelta
    >>> from pathlib import Path
    >>> from darkstar.learning.store import open_store
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = open_store(Path(folder) / "planner_learning.db")
    ...     hours = pd.date_range("2026-06-01 10:00", periods=2, freq="h", tz="UTC")
    ...     hourly = pd.DataFrame({"ghi_w_per_m2": [500.0, 600.0], "dni_w_per_m2": 400.0,
    ...         "dhi_w_per_m2": 100.0, "temp_air_c": 20.0, "cloud_cover_percent": 50.0},
    ...         index=hours)
    ...     issued = datetime(2026, 6, 1, 10, 20, tzinfo=UTC)
    ...     _ = record_weather_run(store, issued_at=issued, hourly=hourly)
    ...     run = read_weather_run(store, at=issued + timedelta(hours=1))
    ...     store.close()
    >>> run["cloud_cover_octas"].tolist(), run["lead_h"].tolist()
    ([4.0, 4.0], [0.0, 1.0])
    """
    moment = _epoch_s(at, "at")
    newest = select(func.max(WeatherRun.issued_at_utc)).where(WeatherRun.issued_at_utc <= moment)
    try:
        with Session(store.engine) as session:
            issued = session.scalar(newest)
            if issued is None:
                return None
            query = (
                select(WeatherRun)
                .where(WeatherRun.issued_at_utc == issued)
                .order_by(WeatherRun.hour_utc)
            )
            rows = session.scalars(query).all()
    except SQLAlchemyError as exc:
        msg = f"cannot read the weather run at {at.isoformat()}: {exc}"
        raise StoreError(msg) from exc
    run = _frame(rows)
    gaps = np.flatnonzero(np.diff(run.index) != pd.Timedelta(hours=1))
    if gaps.size:  # Aurora needs a run without gaps: the hours after one count as missing
        run = run.iloc[: gaps[0] + 1]
    run.attrs["issued_at"] = datetime.fromtimestamp(int(issued), UTC)
    return run


def first_weather_run(store: Store) -> datetime | None:
    """Return the issue time of the oldest stored run, ``None`` without any.

    Raises
    ------
    StoreError
        When the database cannot be read.
    """
    try:
        with Session(store.engine) as session:
            issued = session.scalar(select(func.min(WeatherRun.issued_at_utc)))
    except SQLAlchemyError as exc:
        msg = f"cannot read the first weather run: {exc}"
        raise StoreError(msg) from exc
    return None if issued is None else datetime.fromtimestamp(int(issued), UTC)


def read_weather_hours(store: Store, *, start: datetime, end: datetime) -> pd.DataFrame:
    """Return each stored hour in ``[start, end)`` as the newest run before it forecast it.

    For every hour, the row of the newest run issued at or before the hour's start that
    holds the hour: what a running system knew of that hour when it began.

    Parameters
    ----------
    store : Store
        The learning store.
    start, end : datetime
        Hour starts (tz-aware); hours no such run holds are absent.

    Returns
    -------
    pandas.DataFrame
        Aurora's run columns (:func:`read_weather_run`) on a UTC index of the hours
        found, ascending (not necessarily without gaps); ``lead_h`` of each hour from its
        own run.

    Raises
    ------
    InputError
        For a naive ``start`` or ``end``.
    StoreError
        When the database cannot be read.
    """
    lo, hi = _epoch_s(start, "start"), _epoch_s(end, "end")
    newest = latest_issued(key=WeatherRun.hour_utc, issued=WeatherRun.issued_at_utc, lo=lo, hi=hi)
    query = (
        select(WeatherRun)
        .join(
            newest,
            (WeatherRun.hour_utc == newest.c.key) & (WeatherRun.issued_at_utc == newest.c.issued),
        )
        .order_by(WeatherRun.hour_utc)
    )
    try:
        with Session(store.engine) as session:
            rows = session.scalars(query).all()
    except SQLAlchemyError as exc:
        msg = f"cannot read the weather hours from {start.isoformat()}: {exc}"
        raise StoreError(msg) from exc
    return _frame(rows)
