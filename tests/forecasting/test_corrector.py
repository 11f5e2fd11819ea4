from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.corrector import (
    DEFAULT_LOAD_KW,
    LOAD_CORRECTION_MAX_KW,
    PV_FACTOR_MAX,
    PV_FACTOR_MIN,
    Corrector,
    ResidualCorrection,
    Stage,
    fit_corrector,
    fit_residual_correction,
    prior_quantiles,
    stage_for,
)
from darkstar.aurora.evaluate import training_mask
from darkstar.aurora.models import Target, TargetMode, TrainingParams, fit_quantile_model
from darkstar.errors import InputError

ZONE = "Europe/Stockholm"


@pytest.mark.parametrize(
    ("days", "stage"),
    [
        (0.0, Stage.PRIOR),
        (3.99, Stage.PRIOR),
        (4.0, Stage.RESIDUAL),
        (13.99, Stage.RESIDUAL),
        (14.0, Stage.MODEL),
        (300.0, Stage.MODEL),
    ],
)
def test_stage_for_switches_at_4_and_14_days(days: float, stage: Stage) -> None:
    assert stage_for(timedelta(days=days)) == stage


def test_stage_for_negative_history() -> None:
    with pytest.raises(InputError, match="history"):
        stage_for(timedelta(days=-1))


@pytest.mark.parametrize(
    ("days", "stage"), [(3.5, Stage.PRIOR), (4.5, Stage.RESIDUAL), (16.5, Stage.MODEL)]
)
def test_fit_corrector_graduates_with_history(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]],
    days: float,
    stage: Stage,
    fast: TrainingParams,
) -> None:
    for name, target in (("H0-A", Target.LOAD), ("pv", Target.PV)):
        frame, actual = frames[name]
        start = frame.index[0].to_pydatetime()
        now = start + timedelta(days=days)
        train = training_mask(frame["issued_at"], frame.index, now)
        corrector = fit_corrector(
            frame.loc[train],
            actual.loc[train],
            target=target,
            now=now,
            history_start=start,
            timezone=ZONE,
            params=fast,
        )
        assert corrector.stage == stage
        if stage == Stage.MODEL:
            assert {"prior_mae_p50_kw", "residual_mae_p50_kw", "mode"} <= set(corrector.validation)
        else:
            assert corrector.used == stage
        later = frame.loc[frame["issued_at"] >= pd.Timestamp(now)]
        forecast = corrector.predict(later).to_numpy()
        assert (forecast >= 0.0).all()
        assert (np.diff(forecast, axis=1) >= 0.0).all()


def test_prior_stage_forecasts_the_prior(frames: dict[str, tuple[pd.DataFrame, pd.Series]]) -> None:
    load, _ = frames["H0-A"]
    quantiles = prior_quantiles(load, target=Target.LOAD)
    baseline = load["load_baseline_kw"].to_numpy()
    expected = np.where(np.isnan(baseline), DEFAULT_LOAD_KW, baseline)
    np.testing.assert_array_equal(quantiles[:, 1], expected)
    pv, _ = frames["pv"]
    np.testing.assert_array_equal(prior_quantiles(pv, target=Target.PV)[:, 1], pv["pv_prior_kw"])


def test_model_unused_when_it_cannot_beat_a_perfect_prior(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]],
    fast: TrainingParams,
) -> None:
    frame, _ = frames["H0-A"]
    frame = frame[frame["load_baseline_kw"].notna()]
    perfect = frame["load_baseline_kw"].rename("actual")  # the baseline is the truth
    start = frame.index[0].to_pydatetime() - timedelta(days=1)
    now = start + timedelta(days=20)
    train = training_mask(frame["issued_at"], frame.index, now)
    corrector = fit_corrector(
        frame.loc[train],
        perfect.loc[train],
        target=Target.LOAD,
        now=now,
        history_start=start,
        timezone=ZONE,
        params=fast,
    )
    assert corrector.stage == Stage.MODEL
    assert corrector.used == Stage.PRIOR
    assert corrector.model is None


def test_load_correction_bounded(frames: dict[str, tuple[pd.DataFrame, pd.Series]]) -> None:
    frame, _ = frames["H0-A"]
    frame = frame[frame["load_baseline_kw"].notna()]
    for sign in (1.0, -1.0):
        wild = frame["load_baseline_kw"] + sign * 10.0  # 10 kW off the baseline, always
        correction = fit_residual_correction(frame, wild, target=Target.LOAD, timezone=ZONE)
        values = correction.corrections(frame.index)
        np.testing.assert_array_equal(values, sign * LOAD_CORRECTION_MAX_KW)
        assert set(correction.by_weekday_hour.values()) == {sign * LOAD_CORRECTION_MAX_KW}


def test_pv_correction_bounded(frames: dict[str, tuple[pd.DataFrame, pd.Series]]) -> None:
    frame, _ = frames["pv"]
    prior = frame["pv_prior_kw"]
    for actual, bound in ((10.0 * prior, PV_FACTOR_MAX), (0.0 * prior, PV_FACTOR_MIN)):
        correction = fit_residual_correction(frame, actual, target=Target.PV, timezone=ZONE)
        assert correction.by_hour
        assert set(correction.by_hour.values()) == {bound}
        factors = correction.corrections(frame.index)
        assert ((factors == bound) | (factors == 1.0)).all()  # 1: hours without enough sun


def test_residual_correction_refuses_unbounded() -> None:
    with pytest.raises(InputError, match="correction"):
        ResidualCorrection(target=Target.LOAD, timezone=ZONE, by_hour={12: 2.0})
    with pytest.raises(InputError, match="correction"):
        ResidualCorrection(target=Target.PV, timezone=ZONE, by_hour={12: 3.0})


def test_model_stage_falls_back_to_prior_without_baseline(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]], fast: TrainingParams
) -> None:
    frame, actual = frames["H0-A"]
    model = fit_quantile_model(
        frame,
        actual,
        target=Target.LOAD,
        mode=TargetMode.RESIDUAL,
        trained_at=frame.index[-1].to_pydatetime(),
        params=fast,
    )
    corrector = Corrector(target=Target.LOAD, stage=Stage.MODEL, used=Stage.MODEL, model=model)
    forecast = corrector.predict(frame).to_numpy()
    missing = frame["load_baseline_kw"].isna().to_numpy()
    assert missing.any()
    assert (forecast[missing, 1] == DEFAULT_LOAD_KW).all()
    known = model.predict(frame.loc[~missing]).to_numpy()
    np.testing.assert_array_equal(forecast[~missing], known)
