from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.calibration import QUANTILE_COLUMNS, Calibration
from darkstar.aurora.models import (
    MODEL_FORMAT_VERSION,
    QuantileModel,
    Target,
    TargetMode,
    TrainingParams,
    fit_quantile_model,
    read_model,
)
from darkstar.errors import InputError

TRAINED_AT = datetime(2018, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def pv_model(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]], fast: TrainingParams
) -> QuantileModel:
    frame, actual = frames["pv"]
    return fit_quantile_model(
        frame,
        actual,
        target=Target.PV,
        mode=TargetMode.RESIDUAL,
        trained_at=TRAINED_AT,
        params=fast,
    )


def _check_quantiles(q: np.ndarray) -> None:
    assert (q >= 0.0).all()
    assert (np.diff(q, axis=1) >= 0.0).all()


@pytest.mark.parametrize("mode", list(TargetMode))
def test_model_quantiles_never_cross_nor_negative(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]], mode: TargetMode, fast: TrainingParams
) -> None:
    for name, target in (("pv", Target.PV), ("H0-A", Target.LOAD)):
        frame, actual = frames[name]
        model = fit_quantile_model(
            frame,
            actual,
            target=target,
            mode=mode,
            trained_at=TRAINED_AT,
            params=fast,
            calibration=Calibration(lower_frac=(3.0,), upper_frac=(3.0,)),
        )
        known = frame[frame["issued_at"] > frame["issued_at"].iloc[0]]  # a baseline exists
        forecast = model.predict(known)
        assert list(forecast.columns) == list(QUANTILE_COLUMNS)
        _check_quantiles(forecast.to_numpy())


def test_model_night_pv_is_zero(
    pv_model: QuantileModel, frames: dict[str, tuple[pd.DataFrame, pd.Series]]
) -> None:
    frame, _ = frames["pv"]
    forecast = pv_model.predict(frame)
    night = frame["night"].to_numpy() == 1
    assert night.any()
    assert (~night).any()
    assert (forecast.to_numpy()[night] == 0.0).all()
    assert forecast["p50_kw"].to_numpy()[~night].max() > 0.5  # it does forecast daylight


def test_model_save_read_round_trip(
    pv_model: QuantileModel, frames: dict[str, tuple[pd.DataFrame, pd.Series]], tmp_path: Path
) -> None:
    frame, _ = frames["pv"]
    model = pv_model.with_calibration(
        Calibration(
            lower_frac=(1.5, 1.2, 1.1, 1.0),
            upper_frac=(2.0, 1.3, 1.0, 0.9),
            column="sun_elevation_deg",
            edges=(5.0, 10.0, 20.0),
        )
    )
    model.save(tmp_path / "pv")
    loaded = read_model(tmp_path / "pv")
    pd.testing.assert_frame_equal(loaded.predict(frame), model.predict(frame), check_exact=True)
    document = json.loads((tmp_path / "pv" / "model.json").read_text(encoding="utf-8"))
    assert document["version"] == MODEL_FORMAT_VERSION
    assert document["target"] == "pv"
    assert document["mode"] == "residual"
    assert document["trained_at"] == "2018-02-01T00:00:00+00:00"
    assert document["train_start"] < document["train_end"]
    assert document["features"] == list(model.info.features)
    assert sorted(p.name for p in (tmp_path / "pv").iterdir()) == [
        "model.json",
        "p10_kw.txt",
        "p50_kw.txt",
        "p90_kw.txt",
    ]


def test_read_model_refuses_other_version(pv_model: QuantileModel, tmp_path: Path) -> None:
    pv_model.save(tmp_path)
    path = tmp_path / "model.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**document, "version": 99}), encoding="utf-8")
    with pytest.raises(InputError, match="version"):
        read_model(tmp_path)


def test_fit_is_deterministic(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]], fast: TrainingParams
) -> None:
    frame, actual = frames["H0-A"]
    first, second = (
        fit_quantile_model(
            frame,
            actual,
            target=Target.LOAD,
            mode=TargetMode.DIRECT,
            trained_at=TRAINED_AT,
            params=fast,
        ).predict(frame)
        for _ in range(2)
    )
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_predict_refuses_missing_reference(
    frames: dict[str, tuple[pd.DataFrame, pd.Series]],
    fast: TrainingParams,
) -> None:
    frame, actual = frames["H0-A"]
    model = fit_quantile_model(
        frame,
        actual,
        target=Target.LOAD,
        mode=TargetMode.RESIDUAL,
        trained_at=TRAINED_AT,
        params=fast,
    )
    with pytest.raises(InputError, match="load_baseline_kw"):
        model.predict(frame.iloc[:4])  # the first issue: no history, no baseline


def test_training_params_limit_threads() -> None:
    with pytest.raises(InputError, match="n_jobs"):
        TrainingParams(n_jobs=4)
