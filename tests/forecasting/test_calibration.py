from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkstar.aurora.calibration import (
    Calibration,
    bin_of,
    finalize_quantiles,
    fit_calibration,
)
from darkstar.aurora.models import Target, calibrate
from darkstar.errors import InputError


def _check_quantiles(q: np.ndarray) -> None:
    assert (q >= 0.0).all()
    assert (np.diff(q, axis=1) >= 0.0).all()


def test_finalize_quantiles_never_cross_nor_negative() -> None:
    raw = np.random.default_rng(0).normal(0.0, 2.0, size=(1000, 3))
    calibration = Calibration(lower_frac=(2.0,), upper_frac=(0.5,))
    _check_quantiles(finalize_quantiles(raw))
    _check_quantiles(finalize_quantiles(raw, calibration=calibration))


def test_fit_calibration_reaches_coverage() -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(0.0, 1.0, 4000)
    raw = np.column_stack([np.full(4000, -0.5), np.zeros(4000), np.full(4000, 0.5)])
    calibration = fit_calibration(raw[:2000], actual[:2000], coverage_frac=0.8)
    q = finalize_quantiles(raw[2000:] + 10.0, calibration=calibration) - 10.0
    covered = np.mean((actual[2000:] >= q[:, 0]) & (actual[2000:] <= q[:, 2]))
    assert covered == pytest.approx(0.8, abs=0.03)
    assert calibration.lower_frac[0] == pytest.approx(2 * 1.2816, rel=0.1)  # z(0.9) / 0.5


def test_fit_calibration_per_group() -> None:
    frame = pd.DataFrame({"sun_elevation_deg": np.repeat([2.0, 40.0], 500), "night": 0})
    spread = np.repeat([0.1, 1.0], 500)  # the low sun's errors are 10x its model spread
    raw = np.column_stack([-0.1 * np.ones(1000), np.zeros(1000), 0.1 * np.ones(1000)])
    actual = np.random.default_rng(2).normal(0.0, 1.0, 1000) * spread * 10 * 0.1
    calibration = calibrate(raw, actual, frame=frame, target=Target.PV)
    assert calibration.edges == (5.0, 10.0, 20.0)
    low, high = calibration.upper_frac[0], calibration.upper_frac[3]
    assert high / low == pytest.approx(10.0, rel=0.25)
    assert calibration.upper_frac[1] == calibration.upper_frac[2]  # empty groups: pooled
    groups = calibration.groups(frame)
    assert set(groups.tolist()) == {0, 3}


def test_bin_of_edges() -> None:
    assert bin_of([0.0, 5.0, 7.0, 10.0, 25.0], (5.0, 10.0, 20.0)).tolist() == [0, 0, 1, 1, 3]


def test_finalize_quantiles_needs_groups_for_grouped_calibration() -> None:
    calibration = Calibration(
        lower_frac=(1.0, 1.0), upper_frac=(1.0, 1.0), column="x", edges=(1.0,)
    )
    with pytest.raises(InputError, match="groups"):
        finalize_quantiles([[0.0, 1.0, 2.0]], calibration=calibration)


def test_finalize_quantiles_night_is_zero() -> None:
    q = finalize_quantiles([[0.5, 1.0, 2.0], [0.5, 1.0, 2.0]], night=[True, False])
    assert q[0].tolist() == [0.0, 0.0, 0.0]
    assert q[1].tolist() == [0.5, 1.0, 2.0]


def test_calibration_refuses_bad_factors() -> None:
    with pytest.raises(InputError, match="lower_frac"):
        Calibration(lower_frac=(-1.0,), upper_frac=(1.0,))
    with pytest.raises(InputError, match="upper_frac"):
        Calibration(lower_frac=(1.0, 1.0), upper_frac=(1.0,), column="x", edges=(1.0,))
