"""Tests for darkstar.simulation.datasets.simbench_household_load_kw (SimBench 2016 profiles)."""

from __future__ import annotations

from datetime import date
from importlib import metadata
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from darkstar.errors import AdapterError, InputError
from darkstar.simulation import datasets
from darkstar.simulation.datasets import (
    DataPackageMissingError,
    household_load_kw,
    locate_package_file,
    simbench_household_load_kw,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
SIMBENCH_CSV = "simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv"


@pytest.fixture(scope="module")
def load_2018() -> pd.Series:
    return simbench_household_load_kw(year=2018, annual_kwh=5000.0)


@pytest.fixture(scope="module")
def raw_h0a() -> pd.Series:
    """The H0-A active-power column, indexed by its German wall-clock time string."""
    frame = pd.read_csv(
        locate_package_file("simbench", SIMBENCH_CSV), sep=";", usecols=["time", "H0-A_pload"]
    )
    return pd.Series(frame["H0-A_pload"].to_numpy(), index=frame["time"])


def _local_day(series: pd.Series, day: date) -> pd.Series:
    local = series.index.tz_convert(STOCKHOLM)
    return series[local.normalize().date == day]


def test_sums_to_annual_kwh(load_2018: pd.Series) -> None:
    assert load_2018.name == "load_kw"
    assert abs(float(load_2018.sum()) * 0.25 - 5000.0) < 1e-6


def test_same_index_as_household_load_kw(load_2018: pd.Series) -> None:
    assert len(load_2018) == 35040
    assert load_2018.index.equals(household_load_kw(year=2018, annual_kwh=5000.0).index)
    assert not load_2018.isna().any()


def test_dst_day_lengths(load_2018: pd.Series) -> None:
    assert len(_local_day(load_2018, date(2018, 3, 25))) == 92
    assert len(_local_day(load_2018, date(2018, 10, 28))) == 100
    assert len(_local_day(load_2018, date(2018, 6, 1))) == 96


def test_non_negative(load_2018: pd.Series) -> None:
    # H0-A has no negative values (minimum 0.01264 p.u.); negatives would be refused.
    assert float(load_2018.min()) > 0.0


def test_monday_equals_2016_monday(load_2018: pd.Series, raw_h0a: pd.Series) -> None:
    # 2018-01-08 (Monday, day 8) -> the 2016 Monday closest to day 8: 2016-01-11 (day 11).
    assert date(2016, 1, 11).weekday() == date(2018, 1, 8).weekday() == 0
    day_2018 = _local_day(load_2018, date(2018, 1, 8)).to_numpy()
    day_2016 = raw_h0a[[t.startswith("11.01.2016") for t in raw_h0a.index]].to_numpy()
    assert len(day_2018) == len(day_2016) == 96
    ratio = day_2018 / day_2016  # one annual scale factor for the whole year
    assert ratio[0] > 0.0
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)


def test_negative_profile_refused() -> None:
    # HLS_C_3.7 has 8 slightly negative values (min -1.2e-05 p.u.): refused, not clipped.
    with pytest.raises(AdapterError, match=r"line \d+: HLS_C_3\.7_pload .*negative"):
        simbench_household_load_kw(profile="HLS_C_3.7", year=2018, annual_kwh=5000.0)


def test_unknown_profile_lists_valid() -> None:
    with pytest.raises(InputError, match="G0-A") as info:
        simbench_household_load_kw(profile="G0-A", year=2018, annual_kwh=5000.0)
    assert "H0-A" in str(info.value)
    assert "H0-L" in str(info.value)
    assert "G0-A'," not in str(info.value).split("valid:")[1]


def test_invalid_annual_kwh() -> None:
    with pytest.raises(InputError, match="annual_kwh"):
        simbench_household_load_kw(year=2018, annual_kwh=0.0)


def test_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(datasets.metadata, "distribution", not_installed)
    with pytest.raises(DataPackageMissingError, match=r"pip install --no-deps simbench==1\.6\.3"):
        simbench_household_load_kw(year=2018, annual_kwh=5000.0)


def test_load_year_uses_the_named_load_profile() -> None:
    from darkstar.simulation.datasets import household_load_kw, load_year

    h25 = load_year(area="SE4", year=2018)
    simbench = load_year(area="SE4", year=2018, load_profile="H0-A")
    assert h25.load_kw.equals(household_load_kw(year=2018, annual_kwh=5000.0))
    assert simbench.load_kw.equals(
        simbench_household_load_kw(profile="H0-A", year=2018, annual_kwh=5000.0)
    )
    assert not np.allclose(h25.load_kw.to_numpy(), simbench.load_kw.to_numpy())
