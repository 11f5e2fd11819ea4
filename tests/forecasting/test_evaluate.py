from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

import darkstar.aurora.evaluate as evaluation
from darkstar.aurora.corrector import Corrector
from darkstar.aurora.evaluate import (
    EvaluationInputs,
    EvaluationSpec,
    horizon_slots,
    house_model_mae,
    retrain_times,
    run_evaluation,
    training_mask,
)
from darkstar.aurora.features import Site
from darkstar.aurora.models import TrainingParams
from darkstar.errors import InputError


@pytest.mark.parametrize(
    ("issue", "slots"),
    [
        (datetime(2018, 6, 1, 10, tzinfo=UTC), 144),  # 12:00 CEST -> 36 h
        (datetime(2018, 10, 27, 10, tzinfo=UTC), 148),  # tomorrow has 25 hours
        (datetime(2018, 3, 24, 11, tzinfo=UTC), 140),  # tomorrow has 23 hours
    ],
)
def test_horizon_slots_to_end_of_tomorrow(issue: datetime, slots: int, site: Site) -> None:
    index = horizon_slots(issue, site=site)
    assert len(index) == slots
    assert index[0] == pd.Timestamp(issue)
    end = (index[-1] + timedelta(minutes=15)).tz_convert(site.zone)
    assert (end.hour, end.minute) == (0, 0)


def test_daily_issues_at_local_noon(inputs: EvaluationInputs, issues: list[datetime]) -> None:
    assert all(i.hour == 11 for i in issues)  # 12:00 CET
    assert len(issues) == 41  # 42 days of data; the last horizon would run past its end
    assert issues == sorted(issues)


def test_training_mask_excludes_rows_at_or_after_now() -> None:
    now = datetime(2018, 1, 10, 11, tzinfo=UTC)
    issued = pd.Series(
        pd.to_datetime(
            ["2018-01-09 11:00", "2018-01-09 11:00", "2018-01-10 11:00", "2018-01-08 11:00"],
            utc=True,
        )
    )
    targets = pd.DatetimeIndex(
        ["2018-01-10 10:45", "2018-01-10 11:00", "2018-01-10 11:15", "2018-01-09 00:00"], tz="UTC"
    )
    assert training_mask(issued, targets, now).tolist() == [True, False, False, True]


def test_retrain_times_weekly() -> None:
    issues = [datetime(2018, 1, d, 11, tzinfo=UTC) for d in range(1, 31)]
    times = retrain_times(issues, start=issues[9], every=timedelta(days=7))
    assert [t.day for t in times] == [10, 17, 24]


def test_walk_forward_never_trains_on_the_future(
    inputs: EvaluationInputs, monkeypatch: pytest.MonkeyPatch, fast: TrainingParams
) -> None:
    seen: list[tuple[datetime, pd.Timestamp, pd.Timestamp]] = []
    real = evaluation.fit_corrector

    def spy(frame: pd.DataFrame, actual: pd.Series, **kwargs: Any) -> Corrector:
        seen.append((kwargs["now"], frame.index.max(), frame["issued_at"].max()))
        assert actual.index.equals(frame.index)
        return real(frame, actual, **kwargs)

    monkeypatch.setattr(evaluation, "fit_corrector", spy)
    spec = EvaluationSpec(test_months=1, params=fast)
    report = run_evaluation(inputs, spec, note="six weeks")
    assert len(seen) == 2 * report.n_retrains == 2 * 5  # PV and one load, weekly
    for now, last_target, last_issue in seen:
        assert last_target < pd.Timestamp(now)
        assert last_issue < pd.Timestamp(now)
    assert report.test_start == "2018-01-11T23:00:00+00:00"  # 12 Jan local midnight
    names = [s.name for s in report.scores]
    assert names == ["pv", "load H0-A"]
    for score in report.scores:
        assert score.n_issues == 30  # 12 Jan .. 10 Feb
        assert math.isfinite(score.mae_ratio)
        assert score.mae_ratio > 0.0
        assert 0.0 <= score.coverage_pct <= 100.0
        assert sum(score.used.values()) == 5
    pv = report.scores[0]
    assert pv.coverage_slots < pv.n_slots  # nights do not count
    # no house model given: no ceiling scored
    assert all(s.house_model_mae_kw is None for s in report.scores)
    document = json.loads(json.dumps(report.to_dict()))
    assert document["info"]["note"] == "six weeks"


def test_evaluation_inputs_check_indexes(inputs: EvaluationInputs) -> None:
    with pytest.raises(InputError, match="load_kw"):
        dataclasses.replace(inputs, load_kw={"x": inputs.pv_kw.iloc[1:]})


def test_evaluation_spec_bounds() -> None:
    with pytest.raises(InputError, match="test_months"):
        EvaluationSpec(test_months=0)


def test_the_house_model_is_scored_on_each_issues_forecast_weather(
    inputs: EvaluationInputs, site: Site
) -> None:
    """The ceiling: the house's model on the run of each issue, over the scored rows."""
    runs: list[pd.Timestamp] = []

    def house(weather: pd.DataFrame) -> pd.Series:
        runs.append(weather.index[0])
        return pd.Series(1.0, index=weather.index)  # 1 kW whatever the weather

    first, second = datetime(2018, 1, 20, 11, tzinfo=UTC), datetime(2018, 1, 21, 11, tzinfo=UTC)
    rows = []
    for issued, actual in ((first, 0.25), (second, 1.5)):
        slots = horizon_slots(issued, site=site)
        rows.append(pd.DataFrame({"issued_at": issued, "actual_kw": actual}, index=slots))
    forecast = pd.concat(rows)
    assert house_model_mae(inputs, forecast) is None  # no house model: nothing to score
    with_house = dataclasses.replace(inputs, house_pv=house)
    n1, n2 = (len(horizon_slots(t, site=site)) for t in (first, second))
    expected = (0.75 * n1 + 0.5 * n2) / (n1 + n2)
    assert house_model_mae(with_house, forecast) == pytest.approx(expected, rel=1e-12)
    # each issue's own run (the 06 UTC run, available at 11 UTC), nothing newer
    assert runs == [
        pd.Timestamp("2018-01-20 06:00", tz="UTC"),
        pd.Timestamp("2018-01-21 06:00", tz="UTC"),
    ]
    broken = dataclasses.replace(inputs, house_pv=lambda w: pd.Series(float("nan"), index=w.index))
    with pytest.raises(InputError, match="house_pv"):
        house_model_mae(broken, forecast)


def test_the_printed_report_shows_the_house_model_line() -> None:
    from rich.console import Console

    from darkstar.aurora.evaluate import EvaluationReport, TargetScore, print_evaluation

    def score(name: str, house: float | None) -> TargetScore:
        return TargetScore(
            name=name,
            baseline="physics prior",
            n_issues=2,
            n_slots=288,
            mae_p50_kw=0.1324,
            baseline_mae_kw=0.1402,
            mae_ratio=0.1324 / 0.1402,
            pinball_kw=0.0466,
            coverage_pct=76.5,
            coverage_slots=100,
            used={"model (residual)": 2},
            train_s_per_retrain=7.0,
            house_model_mae_kw=house,
            house_model_ratio=None if house is None else house / 0.1402,
        )

    report = EvaluationReport(
        scores=(score("pv", 0.1330), score("load H0-A", None)),
        test_start="2018-09-30T22:00:00+00:00",
        test_end="2018-12-31T23:00:00+00:00",
        n_retrains=2,
        issue_time="12:00",
        features_s=1.0,
        runtime_s=2.0,
        info={"timezone": "Europe/Stockholm"},
    )
    console = Console(record=True, width=200)
    print_evaluation(report, console)
    text = console.export_text()
    assert "pv: the house's own PV model on the same forecast weather" in text
    assert "MAE 0.1330 kW, ratio 0.949" in text
    assert "load H0-A: the house's own" not in text
