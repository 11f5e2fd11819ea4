"""The running forecaster: stages by history, retraining schedule, what it may learn from."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.calibration import QUANTILE_COLUMNS
from darkstar.aurora.evaluate import prior_history
from darkstar.aurora.features import Site, slot_features
from darkstar.aurora.forecaster import TRAIN_MAX_HORIZON, AuroraForecaster
from darkstar.aurora.models import TrainingParams
from darkstar.errors import InputError
from darkstar.simulation.testbed import ForecastYear

#: four weeks of the test bed
WEEKS_END = pd.Timestamp("2018-02-01", tz="Europe/Stockholm").tz_convert("UTC")


@pytest.fixture(scope="module")
def history(bed: ForecastYear) -> pd.Series:
    keep = bed.index < WEEKS_END
    return prior_history(bed.nwp, bed.prior_pv_kw, bed.index[keep])


def _run(
    bed: ForecastYear,
    site: Site,
    history: pd.Series,
    fast: TrainingParams,
    *,
    days: int,
    naive: bool = False,
) -> AuroraForecaster:
    """Issue every 12 h for ``days`` days from the data start."""
    keep = bed.index < WEEKS_END
    slots = slot_features(bed.index[keep], site=site)
    aurora = AuroraForecaster(
        site=site,
        prior=bed.prior_pv_kw,
        history_start=bed.index[0].to_pydatetime(),
        params=fast,
        naive=naive,
    )
    aurora.issued = []  # type: ignore[attr-defined]
    for k in range(2 * days):
        now = (bed.index[0] + pd.Timedelta(hours=12 * k)).to_pydatetime()
        targets = pd.date_range(now, periods=96, freq="15min")
        aurora.issued.append(  # type: ignore[attr-defined]
            aurora.issue(
                now,
                targets,
                run=bed.nwp.at(now),
                pv_kw=bed.pv_kw[keep],
                load_kw=bed.load_kw[keep],
                prior_history_kw=history,
                slots=slots,
            )
        )
    return aurora


@pytest.fixture(scope="module")
def three_weeks(
    bed: ForecastYear, site: Site, history: pd.Series, fast: TrainingParams
) -> AuroraForecaster:
    return _run(bed, site, history, fast, days=22)


def test_the_prior_is_used_until_there_is_history(three_weeks: AuroraForecaster) -> None:
    first = three_weeks.issued[0]  # type: ignore[attr-defined]
    assert first.used == {"pv": "prior", "load": "prior"}
    assert first.version == three_weeks.trainings[0].at.isoformat()


def test_retrains_weekly_and_graduates(three_weeks: AuroraForecaster) -> None:
    trainings = three_weeks.trainings
    gaps = {b.at - a.at for a, b in zip(trainings, trainings[1:], strict=False)}
    assert gaps == {timedelta(days=7)}
    # stages by history length at each retraining: 0, 7, 14, 21 days
    assert [t.used["load"] for t in trainings] == ["prior", "residual", "model", "model"]
    # two issues a day kept, 48 h of targets each, only targets measured by then
    assert [t.rows["load"] for t in trainings] == [0, 1296, 2640, 3984]


def test_trains_only_on_measured_targets(three_weeks: AuroraForecaster, bed: ForecastYear) -> None:
    # rows kept per issue: targets within 48 h; at a retraining only targets before it count
    for training in three_weeks.trainings[1:]:
        frames = three_weeks._rows[next(iter(three_weeks._rows))].frames
        kept = pd.concat(frames)
        measured = int((kept.index < pd.Timestamp(training.at)).sum())
        assert training.rows["pv"] == measured
        assert (kept.index - kept["issued_at"] < TRAIN_MAX_HORIZON).all()


def test_issued_quantiles_never_cross(three_weeks: AuroraForecaster) -> None:
    for issued in three_weeks.issued:  # type: ignore[attr-defined]
        for frame in (issued.pv, issued.load):
            q = frame.loc[:, list(QUANTILE_COLUMNS)].to_numpy()
            assert np.isfinite(q).all()
            assert (q[:, 0] >= 0).all()
            assert (np.diff(q, axis=1) >= -1e-12).all()


def test_naive_never_trains(
    bed: ForecastYear, site: Site, history: pd.Series, fast: TrainingParams
) -> None:
    naive = _run(bed, site, history, fast, days=3, naive=True)
    assert naive.trainings == []
    last = naive.issued[-1]  # type: ignore[attr-defined]
    assert last.used == {"pv": "prior", "load": "prior"}
    assert last.version == "none"


def test_refuses_a_naive_start(site: Site, bed: ForecastYear) -> None:
    with pytest.raises(InputError, match="history_start"):
        AuroraForecaster(
            site=site,
            prior=bed.prior_pv_kw,
            history_start=pd.Timestamp("2018-01-01").to_pydatetime(),
        )
    with pytest.raises(InputError, match="retrain_every"):
        AuroraForecaster(
            site=site,
            prior=bed.prior_pv_kw,
            history_start=bed.index[0].to_pydatetime(),
            retrain_every=timedelta(hours=6),
        )
