"""Shared data of the Aurora tests: the test-bed year and a few weeks of feature rows."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from darkstar.aurora.evaluate import (
    EvaluationInputs,
    EvaluationSpec,
    daily_issues,
    issue_frames,
)
from darkstar.aurora.features import Site
from darkstar.aurora.models import TrainingParams
from darkstar.simulation.testbed import ForecastYear, forecast_year

#: the test data: the first six weeks of the year (local time)
WEEKS_END = pd.Timestamp("2018-02-12", tz="Europe/Stockholm").tz_convert("UTC")


@pytest.fixture(scope="session")
def fast() -> TrainingParams:
    """Small, quick boosters: the tests check behaviour, not skill."""
    return TrainingParams(num_boost_round=25, num_leaves=15, min_data_in_leaf=20)


@pytest.fixture(scope="session")
def bed() -> ForecastYear:
    return forecast_year(load_profile="H0-A")


@pytest.fixture(scope="session")
def site() -> Site:
    return Site(latitude=55.6, longitude=13.0)


@pytest.fixture(scope="session")
def inputs(bed: ForecastYear, site: Site) -> EvaluationInputs:
    """Six weeks of the test bed (winter: short days, a quick evaluation)."""
    keep = bed.index < WEEKS_END
    return EvaluationInputs(
        site=site,
        weather=bed.nwp,
        prior=bed.prior_pv_kw,
        pv_kw=bed.pv_kw[keep],
        load_kw={"H0-A": bed.load_kw[keep]},
    )


@pytest.fixture(scope="session")
def issues(inputs: EvaluationInputs, site: Site) -> list[datetime]:
    return daily_issues(inputs.pv_kw.index, site=site, issue_time=EvaluationSpec().issue_time)


@pytest.fixture(scope="session")
def frames(
    inputs: EvaluationInputs, issues: list[datetime]
) -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    return issue_frames(inputs, issues)
