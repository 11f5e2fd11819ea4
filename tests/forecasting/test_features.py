from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.evaluate import horizon_slots, prior_history
from darkstar.aurora.features import (
    LOAD_FEATURES,
    PV_FEATURES,
    Site,
    build_load_features,
    build_pv_features,
    history_features,
    same_slot_days_before,
    slot_features,
    weather_features,
)
from darkstar.errors import InputError
from darkstar.simulation.testbed import ForecastYear

NOW = datetime(2018, 1, 20, 11, tzinfo=UTC)  # 12:00 local


def _cut(series: pd.Series, now: datetime) -> pd.Series:
    """The series as it would be known at ``now``: everything from ``now`` on is NaN."""
    return series.where(series.index < pd.Timestamp(now))


@pytest.mark.parametrize("now", [NOW, NOW + timedelta(hours=7, minutes=45)])
def test_build_features_no_leakage(bed: ForecastYear, site: Site, now: datetime) -> None:
    targets = horizon_slots(now, site=site)
    run = bed.nwp.at(now)
    history = prior_history(bed.nwp, bed.prior_pv_kw, bed.index[: 96 * 40])
    load = {
        "full": build_load_features(
            now=now, index=targets, load_kw=bed.load_kw, run=run, site=site
        ),
        "cut": build_load_features(
            now=now, index=targets, load_kw=_cut(bed.load_kw, now), run=run, site=site
        ),
    }
    pv = {
        name: build_pv_features(
            now=now,
            index=targets,
            pv_kw=series,
            prior_history_kw=_cut(history, now) if name == "cut" else history,
            run=run,
            prior=bed.prior_pv_kw,
            site=site,
        )
        for name, series in (("full", bed.pv_kw), ("cut", _cut(bed.pv_kw, now)))
    }
    pd.testing.assert_frame_equal(load["full"], load["cut"])
    pd.testing.assert_frame_equal(pv["full"], pv["cut"])
    assert list(load["full"].columns) == list(LOAD_FEATURES)
    assert list(pv["full"].columns) == [*PV_FEATURES, "night"]
    # history columns are really there (not all NaN), so the check means something
    assert load["full"]["load_baseline_kw"].notna().all()
    assert pv["full"]["pv_ratio_7d"].notna().all()


def test_history_features_hand_computed(site: Site) -> None:
    index = pd.date_range("2018-01-01", periods=96 * 10, freq="15min", tz="UTC")
    day = np.arange(len(index)) // 96
    series = pd.Series(day.astype(float), index=index)  # value = day number
    now = datetime(2018, 1, 9, 12, tzinfo=UTC)
    targets = pd.DatetimeIndex(
        ["2018-01-09 18:00", "2018-01-10 06:00", "2018-01-10 18:00"], tz="UTC"
    )
    frame = history_features(series, targets, now=now, site=site, name="load")
    # day 9 18:00: day 8 18:00 is after now, so its 7 days are days 1..7, like day 8's
    assert frame["load_baseline_kw"].tolist() == [4.0, 5.0, 4.0]
    assert frame["load_lag_1d_kw"].iloc[:2].tolist() == [7.0, 8.0]
    assert np.isnan(frame["load_lag_1d_kw"].iloc[2])
    assert frame["load_lag_7d_kw"].tolist() == [1.0, 2.0, 2.0]
    assert (frame["load_mean_24h_kw"] == 7.5).all()  # half of day 7, half of day 8
    assert (frame["load_level_7d_kw"] == 4.5).all()  # day 1 12:00 .. day 8 12:00


def test_same_slot_days_before_across_dst() -> None:
    zone = ZoneInfo("Europe/Stockholm")
    after = pd.DatetimeIndex(["2018-10-29 17:00"], tz="UTC")  # 18:00 CET
    before = same_slot_days_before(after, days=1, zone=zone)
    assert str(before[0]) == "2018-10-28 17:00:00+00:00"  # 18:00 CET, day of the change
    assert str(same_slot_days_before(after, days=2, zone=zone)[0]) == "2018-10-27 16:00:00+00:00"


def test_slot_features_calendar_and_night(site: Site) -> None:
    index = pd.date_range("2018-06-05 22:00", periods=4 * 24, freq="15min", tz="UTC")
    frame = slot_features(index, site=site)
    local = index.tz_convert(site.zone)
    holiday = frame["holiday"].to_numpy() == 1
    assert (local[holiday].date == pd.Timestamp("2018-06-06").date()).all()  # National Day
    assert holiday.sum() == 96
    assert frame.loc["2018-06-06 00:00+00:00", "night"] == 1  # 02:00 local
    assert frame.loc["2018-06-06 10:00+00:00", "night"] == 0
    assert frame["local_hour_h"].iloc[0] == 0.0  # 00:00 CEST
    assert frame["weekday"].iloc[0] == 2  # Wednesday


def test_weather_features_refuses_uncovered_targets(bed: ForecastYear, site: Site) -> None:
    run = bed.nwp.at(NOW)
    late = pd.date_range(run.index[-1] + timedelta(hours=1), periods=4, freq="15min")
    with pytest.raises(InputError, match=r"run\.index"):
        weather_features(run, late, site=site)


def test_history_features_naive_now(bed: ForecastYear, site: Site) -> None:
    with pytest.raises(InputError, match="now"):
        history_features(
            bed.load_kw,
            bed.index[:4],
            now=datetime(2018, 1, 2),  # noqa: DTZ001 - the naive time is the point
            site=site,
            name="load",
        )


def test_site_unknown_country() -> None:
    with pytest.raises(InputError, match="country"):
        Site(latitude=55.6, longitude=13.0, country="XX")
