"""Aurora's properties the issue asks for: DST-correct pure features, no leak of the future
(a shifted target collapses the score), a known pattern recovered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.features import Site, build_load_features, slot_features
from darkstar.aurora.metrics import mae
from darkstar.aurora.models import Target, TargetMode, TrainingParams, fit_quantile_model
from darkstar.simulation.testbed import ForecastYear

ZONE = "Europe/Stockholm"


def _local_day(day: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(day, tz=ZONE)
    end = start + pd.DateOffset(days=1)
    return pd.date_range(
        start.tz_convert("UTC"), end.tz_convert("UTC"), freq="15min", inclusive="left"
    )


@pytest.mark.parametrize(
    ("day", "slots", "hours"),
    [
        ("2018-03-25", 92, [0, 1, *range(3, 24)]),  # 02:00-03:00 does not exist
        ("2018-10-28", 100, [0, 1, 2, 2, *range(3, 24)]),  # 02:00-03:00 twice
        ("2018-06-01", 96, list(range(24))),
    ],
)
def test_slot_features_on_23_and_25_hour_days(
    site: Site, day: str, slots: int, hours: list[int]
) -> None:
    index = _local_day(day)
    assert len(index) == slots
    frame = slot_features(index, site=site)
    local_hour = frame["local_hour_h"].to_numpy()
    # the local clock, not UTC: each local hour's four quarters, in order
    assert [int(h) for h in local_hour[::4]] == hours
    np.testing.assert_allclose(local_hour[:4] % 1, [0.0, 0.25, 0.5, 0.75])
    weekday = pd.Timestamp(day).isoweekday()
    assert (frame["weekday"] == weekday - 1).all() or (frame["weekday"] == weekday).all()
    # pure: the same input gives the same frame and is left as it was
    before = index.copy()
    pd.testing.assert_frame_equal(frame, slot_features(index, site=site))
    assert index.equals(before)


def test_load_baseline_across_dst(bed: ForecastYear, site: Site) -> None:
    """The 7-day baseline of a slot after the spring change averages the same local slot."""
    now = datetime(2018, 3, 28, 10, 0, tzinfo=UTC)  # Wednesday after the change
    targets = pd.date_range(now, periods=8, freq="15min")
    run = bed.nwp.at(now)
    frame = build_load_features(now=now, index=targets, load_kw=bed.load_kw, run=run, site=site)
    zone = site.zone
    for target in targets[:2]:
        local = target.tz_convert(zone)
        days = [
            (local.tz_localize(None) - pd.Timedelta(days=d)).tz_localize(zone).tz_convert("UTC")
            for d in range(1, 8)
        ]
        expected = float(np.mean([bed.load_kw[t] for t in days]))
        assert frame.loc[target, "load_baseline_kw"] == pytest.approx(expected, rel=1e-12)


def test_a_target_shifted_into_the_future_is_not_learnable(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]], bed: ForecastYear
) -> None:
    """PV: trained on the PV of one day after each target, the score collapses (the
    features carry that slot's weather and sun, not tomorrow's); trained on the target
    with the target planted in a feature, it becomes near perfect: the check would see a
    leak."""
    frame, actual = frames["pv"]
    issued = frame["issued_at"]
    split = issued.iloc[len(issued) * 2 // 3]
    day = (frame["night"] < 0.5).to_numpy()
    train = (issued < split).to_numpy() & day
    test = (issued >= split).to_numpy() & day
    pv = bed.pv_kw  # the measured series (unique slots)
    now_y = pv.reindex(frame.index).to_numpy(float)
    np.testing.assert_array_equal(now_y, actual.to_numpy(float))
    later_y = pv.reindex(frame.index + pd.Timedelta(days=1)).to_numpy(float)
    leaky = frame.assign(pv_ratio_3h=now_y)
    scores = {}
    for name, rows, y in (
        ("target", frame, now_y),
        ("shifted", frame, later_y),
        ("leak", leaky, now_y),
    ):
        ok = np.isfinite(y)
        model = fit_quantile_model(
            rows.loc[train & ok],
            pd.Series(y[train & ok], index=rows.index[train & ok]),
            target=Target.PV,
            mode=TargetMode.DIRECT,
            trained_at=split.to_pydatetime(),
            params=TrainingParams(num_boost_round=200, num_leaves=15, min_data_in_leaf=20),
        )
        p50 = model.predict(rows.loc[test & ok])["p50_kw"].to_numpy()
        scores[name] = mae(p50, y[test & ok])
    assert scores["shifted"] > 1.5 * scores["target"], scores
    assert scores["leak"] < 0.5 * scores["target"], scores


def test_a_known_pattern_is_recovered(site: Site) -> None:
    """Load of 0.3 kW with 1.2 kW from 17:00 to 21:00 local on workdays, plus noise."""
    zone = site.zone
    index = pd.date_range("2018-01-01", "2018-03-01", freq="15min", tz=zone, inclusive="left")
    index = index.tz_convert("UTC")
    local = index.tz_convert(zone)
    evening = (local.hour >= 17) & (local.hour < 21) & (local.day_of_week < 5)
    truth = np.where(evening, 1.2, 0.3)
    rng = np.random.default_rng(3)
    load = pd.Series(truth + rng.normal(0.0, 0.05, len(index)), index=index)
    hours = pd.date_range(index[0], index[-1] + pd.Timedelta(days=3), freq="h")
    run = pd.DataFrame(
        {
            "ghi_w_per_m2": 0.0,
            "dhi_w_per_m2": 0.0,
            "dni_w_per_m2": 0.0,
            "temp_air_c": 2.0,
            "wind_speed_m_per_s": 1.0,
            "cloud_cover_octas": 4.0,
            "lead_h": 0.0,
        },
        index=hours,
    )
    slots = slot_features(pd.date_range(index[0], hours[-1], freq="15min"), site=site)
    rows = []
    for day in range(8, 58):
        now = (index[0] + pd.Timedelta(days=day, hours=11)).to_pydatetime()
        targets = pd.date_range(now, periods=96, freq="15min")
        rows.append(
            build_load_features(
                now=now, index=targets, load_kw=load, run=run, site=site, slots=slots
            ).assign(issued_at=pd.Timestamp(now))
        )
    frame = pd.concat(rows)
    actual = load.reindex(frame.index)
    cut = pd.Timestamp(index[0] + timedelta(days=50))
    train = (frame["issued_at"] < cut).to_numpy() & (frame.index < cut)
    test = (frame["issued_at"] >= cut).to_numpy()
    model = fit_quantile_model(
        frame.loc[train],
        actual.loc[train],
        target=Target.LOAD,
        mode=TargetMode.DIRECT,
        trained_at=cut.to_pydatetime(),
        params=TrainingParams(num_boost_round=100, num_leaves=15, min_data_in_leaf=20),
    )
    forecast = model.predict(frame.loc[test])
    expected = pd.Series(truth, index=index).reindex(frame.index[test]).to_numpy()
    p50 = forecast["p50_kw"].to_numpy()
    assert np.max(np.abs(p50 - expected)) < 0.15
    assert mae(p50, expected) < 0.03
    # the band holds the noise: about 80 % of the measured values inside P10-P90
    inside = (forecast["p10_kw"] <= actual[test].to_numpy()) & (
        actual[test].to_numpy() <= forecast["p90_kw"]
    )
    assert 0.6 < float(np.mean(inside)) <= 1.0
