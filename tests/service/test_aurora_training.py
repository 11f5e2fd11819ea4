"""Aurora in the served loop: first training, forced and scheduled retraining, models kept."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from darkstar.backends import open_runtime
from darkstar.config.models import MlTrainingConfig
from darkstar.learning.store.forecasts import list_models, read_forecasts
from darkstar.service.runtime import Runtime
from darkstar.service.training import AuroraTraining, TrainingBusy
from darkstar.service.views import aurora_view

TZ = ZoneInfo("Europe/Stockholm")
#: three weeks of history before the start: the first training reaches the model stage
START = datetime(2018, 1, 21, 23, 0, tzinfo=UTC)


class _Engine:
    """A forecaster that learns nothing, for the schedule and the job's bookkeeping."""

    def __init__(self) -> None:
        self.calls: list[datetime] = []

    def retrain(self, now: datetime, *, progress: Any = None) -> None:
        self.calls.append(now)
        if progress is not None:
            progress(0.5, "half")

    def describe(self, now: datetime) -> list[dict[str, Any]]:  # noqa: ARG002
        return [{"target": "pv", "stage": "prior", "version": None}]

    def models(self) -> dict[str, Any]:
        return {"pv": None, "load": None}


def _training(tmp_path: Path) -> tuple[AuroraTraining, list[tuple[str, Any]]]:
    sent: list[tuple[str, Any]] = []
    store: Any = None  # no model is kept by the fake engine
    return AuroraTraining(
        store=store, data_dir=tmp_path, publish=lambda k, d: sent.append((k, d))
    ), sent


def test_nothing_to_retrain_is_said(tmp_path: Path) -> None:
    training, _ = _training(tmp_path)
    with pytest.raises(TrainingBusy, match="forecasting.simulated_forecasts: aurora"):
        training.start(None, START, reason="requested")


def test_the_schedule_starts_a_training_once_per_passed_time(tmp_path: Path) -> None:
    training, sent = _training(tmp_path)
    engine = _Engine()
    schedule = MlTrainingConfig(days=[4], time="03:00")  # Thursdays
    wednesday = datetime(2018, 5, 2, 0, 50, tzinfo=UTC)  # 02:50 local
    check = training.check_schedule
    assert not check(engine, schedule=schedule, now=wednesday, tz=TZ)  # first check: none
    assert not check(engine, schedule=schedule, now=wednesday + timedelta(days=1), tz=TZ)
    thursday_0315 = datetime(2018, 5, 3, 1, 15, tzinfo=UTC)
    assert check(engine, schedule=schedule, now=thursday_0315, tz=TZ)
    training.join(5)
    assert engine.calls == [thursday_0315]
    assert not check(engine, schedule=schedule, now=thursday_0315 + timedelta(hours=1), tz=TZ)
    states = [d["state"] for k, d in sent if k == "aurora_training"]
    assert states[0] == "running"
    assert states[-1] == "done"
    assert any(d["progress"] == 0.5 and d["message"] == "half" for _, d in sent)
    view = training.view(schedule=schedule, now=thursday_0315, tz=TZ)
    assert view["schedule"] == "Thu at 03:00"
    assert view["next_at"] == "2018-05-10T03:00:00+02:00"
    assert view["reason"] == "scheduled"
    off = MlTrainingConfig(enabled=False)
    assert not check(engine, schedule=off, now=thursday_0315 + timedelta(days=7), tz=TZ)


def test_a_failed_training_is_reported(tmp_path: Path) -> None:
    training, sent = _training(tmp_path)
    engine = _Engine()

    def broken(now: datetime, *, progress: Any = None) -> None:  # noqa: ARG001
        msg = "no rows"
        raise ValueError(msg)

    engine.retrain = broken  # type: ignore[method-assign]
    training.start(engine, START, reason="requested")
    training.join(5)
    assert sent[-1][1]["state"] == "failed"
    assert sent[-1][1]["message"] == "failed: no rows"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("aurora")
    config = folder / "config.yaml"
    config.write_text("forecasting:\n  simulated_forecasts: aurora\n", encoding="utf-8")
    runtime = open_runtime(data_dir=folder, config_path=config, speed=math.inf, start=START)
    runtime.warm_up(4)  # an hour on the prior, before any training
    yield runtime
    runtime.stop()


def test_the_served_home_plans_on_the_prior_until_trained(served: Runtime) -> None:
    world = served.agent.world
    assert world.aurora is not None
    assert world.forecast_versions() == {"pv": "aurora prior none", "load": "aurora prior none"}
    rows = served.agent.plan_document["schedule"]
    # the plan carries the forecast's band
    assert all(r["load_p10_kwh"] <= r["load_p90_kwh"] for r in rows)
    assert all(r["pv_p10_kwh"] <= r["pv_p90_kwh"] for r in rows)
    kept = read_forecasts(served.agent.store, start=START, end=START + timedelta(days=1))
    assert kept, "the plan's forecast is kept in slot_forecasts"


def test_a_forced_retraining_learns_the_history_and_keeps_the_models(served: Runtime) -> None:
    state = served.start_training()
    assert state["state"] == "running"
    with pytest.raises(TrainingBusy, match="already running"):
        served.start_training()
    served.training.join(120)
    view = aurora_view(served)["bridge"]
    assert view["training"]["state"] == "done", view["training"]
    stages = {m["target"]: m["stage"] for m in view["models"]}
    assert set(stages) == {"pv", "load"}
    assert stages["load"] == "model"  # three weeks of history: the model beat the prior
    load = next(m for m in view["models"] if m["target"] == "load")
    assert load["rows"] > 0
    assert load["history_days"] >= 21
    assert load["mae_kw"] < load["baseline_mae_kw"]
    registered = {m.target: m for m in list_models(served.agent.store)}
    assert registered["load"].active
    assert (Path(registered["load"].path) / "model.json").is_file()
    # the next plan uses the trained forecaster and says so where forecasts are kept
    served.warm_up(4)
    versions = served.agent.world.forecast_versions()
    assert versions["load"].startswith("aurora model 2018-01-2")


def test_a_training_is_timed_on_the_house_clock(tmp_path: Path) -> None:
    sent: list[tuple[str, Any]] = []
    house_now = datetime(2018, 5, 2, 1, 0, tzinfo=UTC)
    store: Any = None
    training = AuroraTraining(
        store=store,
        data_dir=tmp_path,
        publish=lambda k, d: sent.append((k, d)),
        clock=lambda: house_now,
    )
    training.start(_Engine(), house_now, reason="requested")
    training.join(5)
    view = training.view(schedule=MlTrainingConfig(), now=house_now, tz=TZ)
    assert view["started_at"] == "2018-05-02T03:00:00+02:00"
    assert view["finished_at"] == "2018-05-02T03:00:00+02:00"


def test_the_forecasts_endpoint_gives_the_band_as_issued(served: Runtime) -> None:
    from darkstar.service.views import forecasts_view

    view = forecasts_view(served)
    slots = view["slots"]
    assert slots
    for slot in slots:
        for name in ("pv", "load"):
            p10, p50, p90 = (slot[f"{name}_p{q}_kw"] for q in (10, 50, 90))
            assert 0.0 <= p10 <= p50 <= p90
    # Aurora's load P50 before the planner's load inflation (s_index: x1.1)
    rows = served.agent.plan_document["schedule"]
    first = next(s for s in slots if s["start"] == rows[0]["start"])
    assert rows[0]["adjusted_load_kwh"] == pytest.approx(1.1 * first["load_p50_kw"] / 4, rel=1e-3)
