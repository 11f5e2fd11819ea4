from __future__ import annotations

import numpy as np
import pytest

from darkstar.errors import InputError
from darkstar.simulation.datasets import to_quarter_hours
from darkstar.simulation.pv_truth import true_pv_kw
from darkstar.simulation.testbed import ForecastYear, evaluation_inputs


def test_forecast_year_pv_is_the_truth(bed: ForecastYear) -> None:
    truth = true_pv_kw(
        bed.weather, arrays=bed.arrays, latitude=bed.latitude, longitude=bed.longitude, seed=0
    )
    np.testing.assert_array_equal(bed.pv_kw.to_numpy(), to_quarter_hours(truth).to_numpy())
    assert bed.pv_kw.index.equals(bed.load_kw.index)
    assert len(bed.index) == 35040
    assert bed.load_profile == "H0-A"
    assert bed.pv_kw.sum() * 0.25 == pytest.approx(8021.6, abs=0.1)  # docs/aurora_testbed.md


def test_forecast_year_prior_on_a_run(bed: ForecastYear) -> None:
    run = bed.nwp.at(bed.index[100].to_pydatetime())
    prior = bed.prior_pv_kw(run)
    assert prior.index.equals(run.index)
    assert (prior >= 0.0).all()
    assert prior.max() > 0.0


def test_the_house_model_is_the_truth_on_any_weather(bed: ForecastYear) -> None:
    """On the actual weather it gives the actual PV; on a run, a forecast of it."""
    actual = to_quarter_hours(bed.house_pv_kw(bed.weather))
    np.testing.assert_array_equal(actual.to_numpy(), bed.pv_kw.to_numpy())
    run = bed.nwp.at(bed.index[96 * 150].to_pydatetime())  # 31 May
    house, prior = bed.house_pv_kw(run), bed.prior_pv_kw(run)
    assert house.index.equals(run.index)
    # what the prior does not know: clipping at 70 % of 8 kWp, the other losses
    assert house.max() <= 0.7 * 8.0 + 1e-9 < prior.max()
    assert house.sum() < prior.sum()


def test_evaluation_inputs_carry_the_house_model(bed: ForecastYear) -> None:
    inputs = evaluation_inputs(load_profiles=("h25",))
    assert inputs.house_pv is not None
    run = bed.nwp.at(bed.index[96 * 150].to_pydatetime())
    np.testing.assert_array_equal(inputs.house_pv(run).to_numpy(), bed.house_pv_kw(run).to_numpy())


def test_evaluation_inputs_needs_a_profile() -> None:
    with pytest.raises(InputError, match="load_profiles"):
        evaluation_inputs(load_profiles=())
