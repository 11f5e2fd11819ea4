"""Housekeeping in the service: the daily prune on the house clock (DST days too), its
problems, the ``retention`` config section and ``darkstar prune``."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from darkstar.backends import open_runtime
from darkstar.cli import app
from darkstar.config.catalog import validate_changes
from darkstar.config.loader import parse_config
from darkstar.config.models import RetentionConfig
from darkstar.errors import ConfigError, InputError
from darkstar.learning.store import Store, open_store
from darkstar.learning.store.repository import (
    log_execution,
    read_observations,
    record_observation,
)
from darkstar.service import housekeeping
from darkstar.service.housekeeping import (
    PROBLEM_KEY,
    Housekeeping,
    next_housekeeping_run,
    prune_file,
)
from darkstar.service.runtime import Runtime

TZ = ZoneInfo("Europe/Stockholm")
#: 1 March 2018, 04:00 local: the daily prune (04:45) is due after three 15-minute steps
START = datetime(2018, 3, 1, 3, 0, tzinfo=UTC)
FIRST_RUN = datetime(2018, 3, 1, 3, 45, tzinfo=UTC)
OLD = datetime(2016, 1, 1, tzinfo=UTC)  # beyond the default 730 days
SLOT = timedelta(minutes=15)


def _observe(store: Store, start: datetime) -> None:
    assert record_observation(
        store,
        slot_start=start,
        pv_kwh=0.0,
        load_kwh=0.2,
        grid_import_kwh=0.2,
        grid_export_kwh=0.0,
        battery_charge_kwh=0.0,
        battery_discharge_kwh=0.0,
        water_heater_kwh=0.0,
        import_price_sek_per_kwh=1.0,
        export_price_sek_per_kwh=0.5,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "planner_learning.db")
    yield opened
    opened.close()


# --- the schedule ---------------------------------------------------------------------------


def test_next_housekeeping_run_is_the_next_local_0445() -> None:
    assert next_housekeeping_run(START, TZ) == FIRST_RUN
    assert next_housekeeping_run(FIRST_RUN, TZ) == FIRST_RUN + timedelta(days=1)  # strictly
    # summer time begins 25 March 2018 (04:45 CEST = 02:45 UTC), ends 28 October
    assert next_housekeeping_run(datetime(2018, 3, 24, 12, tzinfo=UTC), TZ) == datetime(
        2018, 3, 25, 2, 45, tzinfo=UTC
    )
    assert next_housekeeping_run(datetime(2018, 10, 27, 12, tzinfo=UTC), TZ) == datetime(
        2018, 10, 28, 3, 45, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        pytest.param(
            datetime(2018, 3, 23, 22, tzinfo=UTC),
            [datetime(2018, 3, d, h, 45, tzinfo=UTC) for d, h in ((24, 3), (25, 2), (26, 2))],
            id="summer-time-begins",
        ),
        pytest.param(
            datetime(2018, 10, 26, 22, tzinfo=UTC),
            [datetime(2018, 10, d, h, 45, tzinfo=UTC) for d, h in ((27, 2), (28, 3), (29, 3))],
            id="summer-time-ends",
        ),
    ],
)
def test_check_prunes_once_a_local_day_at_its_time(
    store: Store, since: datetime, expected: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[datetime] = []
    real = housekeeping.prune

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["now"])
        return real(*args, **kwargs)

    monkeypatch.setattr(housekeeping, "prune", counted)
    job = Housekeeping(store=store, since=since, tz=TZ, problems={}, lock=threading.RLock())
    now = since
    while now < since + timedelta(days=3):  # three local days, slot by slot
        now += SLOT
        if job.check(now, RetentionConfig()):
            job.join(10)
    assert calls == expected


def test_a_disabled_retention_prunes_nothing(store: Store) -> None:
    _observe(store, OLD)
    problems = {PROBLEM_KEY: "an earlier failure"}
    job = Housekeeping(store=store, since=START, tz=TZ, problems=problems, lock=threading.RLock())
    assert job.run(FIRST_RUN, RetentionConfig(enabled=False)) is None
    assert len(read_observations(store, start=OLD, end=FIRST_RUN)) == 1
    assert problems == {}  # nothing is failing now
    report = job.run(FIRST_RUN, RetentionConfig())
    assert report is not None
    assert report.total == 1
    assert job.last_report is report


# --- in the served loop -----------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(
        data_dir=tmp_path, config_path=tmp_path / "config.yaml", speed=math.inf, start=START
    )
    yield runtime
    runtime.stop()


def test_the_served_loop_prunes_at_0445_and_logs_it(
    served: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    store = served.agent.store
    _observe(store, OLD)
    assert log_execution(store, at=START - timedelta(days=91), commanded={})
    models = [_trained(store, served.data_dir, "pv", day) for day in range(1, 6)]
    served.warm_up(2)  # 04:30 local
    served.housekeeping.join(30)
    assert served.housekeeping.last_report is None
    with caplog.at_level(logging.INFO, logger="darkstar.service.housekeeping"):
        served.warm_up(1)  # 04:45
        served.housekeeping.join(30)
    report = served.housekeeping.last_report
    assert report is not None
    assert report.now == FIRST_RUN
    assert report.deleted["slot_observations"] == 1
    assert report.deleted["execution_log"] == 1
    assert read_observations(store, start=OLD, end=START) == []
    assert len(read_observations(store, start=START, end=FIRST_RUN)) == 3  # the loop's own
    assert any(
        r.levelno == logging.INFO and r.getMessage().startswith("housekeeping: pruned 2 rows")
        for r in caplog.records
    )
    # and the oldest model version's files, beyond the 4 kept
    assert [folder.is_dir() for folder in models] == [False, True, True, True, True]
    assert any(
        r.getMessage().startswith("housekeeping: model files: removed 1 old version(s)")
        for r in caplog.records
    )
    assert served.problems() == []


def test_a_failing_prune_is_a_problem_and_the_loop_goes_on(served: Runtime) -> None:
    engine = served.agent.store.engine
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE weather_runs RENAME TO weather_runs_away")
    try:
        served.warm_up(3)  # to 04:45: the prune fails
        served.housekeeping.join(30)
        problems = served.problems()
        assert any("pruning the learning store failed" in p for p in problems), problems
        assert any("weather_runs" in p for p in problems), problems
        steps = served.agent.steps_run
        served.warm_up(2)  # the loop goes on
        assert served.agent.steps_run == steps + 2
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE weather_runs_away RENAME TO weather_runs")
    assert served.housekeeping.run(served.agent.house.now, served.agent.cfg.retention)
    assert not any("pruning" in p for p in served.problems())


# --- the config section -----------------------------------------------------------------------


def test_retention_defaults_keep_two_years_of_observations() -> None:
    retention = parse_config({}).retention
    assert retention.enabled
    assert retention.observations_days == 730  # >= 400: Aurora keeps last year's season
    assert (retention.plans_days, retention.forecasts_days) == (90, 60)
    assert retention.weather_runs_days == retention.observations_days
    assert (retention.execution_log_days, retention.strategy_log_days) == (90, 365)
    assert retention.model_versions == 4


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("observations_days", 90, "must be >= 91, got 90"),
        ("plans_days", 14, "must be >= 15, got 14"),
        ("forecasts_days", 3651, "must be <= 3650, got 3651"),
        ("weather_runs_days", 1.5, "expected a whole number, got 1.5"),
        ("execution_log_days", "ninety", "expected a whole number, got 'ninety'"),
        ("strategy_log_days", 29, "must be >= 30, got 29"),
        ("model_versions", 0, "must be >= 1, got 0"),
        ("enabled", "maybe", "expected true or false, got 'maybe'"),
    ],
)
def test_bad_retention_values_name_the_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"retention": {key: value}}, field_prefix="config")
    assert (info.value.field, info.value.message) == (f"config.retention.{key}", message)


def test_settings_changes_get_one_error_per_retention_key() -> None:
    merged, errors = validate_changes(
        {}, {"retention.plans_days": 0, "retention.strategy_log_days": 4000}
    )
    assert merged is None
    assert [(e.field, e.message) for e in errors] == [
        ("retention.plans_days", "must be >= 15, got 0"),
        ("retention.strategy_log_days", "must be <= 3650, got 4000"),
    ]


# --- darkstar prune ---------------------------------------------------------------------------


def _history(folder: Path) -> Path:
    """A data folder whose store's newest slot is 1 March 2018 and has one 2016 slot."""
    path = folder / "planner_learning.db"
    store = open_store(path)
    try:
        _observe(store, OLD)
        _observe(store, START)
    finally:
        store.close()
    return path


def test_prune_file_counts_back_from_the_newest_slot(tmp_path: Path) -> None:
    path = _history(tmp_path)
    report, sizes, files = prune_file(path, None, dry_run=True, shrink=True)
    assert report.now == START + SLOT  # the store's clock, not today's (which would empty it)
    assert report.deleted["slot_observations"] == 1
    assert sizes is None  # a dry run rewrites nothing
    assert files is None  # no data folder given: model files not looked at
    report, sizes, files = prune_file(path, None, dry_run=False, shrink=True)
    assert report.total == 1
    assert sizes is not None
    assert sizes[1] <= sizes[0]


def test_darkstar_prune_uses_the_data_folders_config(tmp_path: Path) -> None:
    _history(tmp_path)
    (tmp_path / "config.yaml").write_text("retention:\n  plans_days: 9\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prune", "--data-dir", str(tmp_path), "--dry-run"])
    assert result.exit_code == 2
    assert "retention.plans_days: must be >= 15, got 9" in result.stderr
    (tmp_path / "config.yaml").write_text("retention:\n  plans_days: 15\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["prune", "--data-dir", str(tmp_path), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("would prune 1 rows (slot_observations 1)")
    assert "model files: nothing to remove" in result.stdout
    result = CliRunner().invoke(app, ["prune", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "--data-dir: no learning store" in result.stderr


# --- Aurora's model files ---------------------------------------------------------------------


def _trained(store: Store, data_dir: Path, target: str, day: int) -> Path:
    """Register a model version trained on 2018-03-<day> with a 1,000-byte file."""
    from darkstar.learning.store.forecasts import register_model
    from darkstar.service.training import model_folder

    trained = datetime(2018, 3, day, 2, tzinfo=UTC)
    version = trained.isoformat()
    folder = model_folder(data_dir, target, version)
    folder.mkdir(parents=True)
    (folder / "p50_kw.txt").write_bytes(b"x" * 1000)
    assert register_model(
        store,
        target=target,
        version=version,
        trained_at=trained,
        train_start=trained - timedelta(days=30),
        train_end=trained,
        path=str(folder),
        metrics={},
    )
    return folder


def test_old_model_files_go_beyond_the_newest_per_target(store: Store, tmp_path: Path) -> None:
    from darkstar.learning.store.forecasts import list_models
    from darkstar.service.training import prune_model_files

    pv = [_trained(store, tmp_path, "pv", day) for day in (1, 2, 3, 4)]
    load = [_trained(store, tmp_path, "load", day) for day in (1, 2)]
    stray = tmp_path / "models" / "pv" / "not-registered"  # e.g. a training writing it
    stray.mkdir()
    counted = prune_model_files(store, tmp_path, keep=2, dry_run=True)
    assert counted.removed == ("pv 2018-03-02T02:00:00+00:00", "pv 2018-03-01T02:00:00+00:00")
    assert counted.freed_bytes == 2000
    assert counted.describe().startswith("model files: would remove 2 old version(s), 0.0 MB")
    assert all(folder.is_dir() for folder in pv)  # a dry run removes nothing
    done = prune_model_files(store, tmp_path, keep=2)
    assert done.removed == counted.removed
    assert [folder.is_dir() for folder in pv] == [False, False, True, True]
    assert all(folder.is_dir() for folder in load)
    assert stray.is_dir()
    assert len(list_models(store, limit=None)) == 6  # the registry keeps every version
    assert prune_model_files(store, tmp_path, keep=2).removed == ()  # nothing left to do
    with pytest.raises(InputError, match="retention.model_versions"):
        prune_model_files(store, tmp_path, keep=0)


def test_the_active_model_stays_whatever_its_age(store: Store, tmp_path: Path) -> None:
    from sqlalchemy import update

    from darkstar.learning.store.models import ForecastModel
    from darkstar.service.training import prune_model_files

    oldest = _trained(store, tmp_path, "pv", 1)
    for day in (2, 3):
        _trained(store, tmp_path, "pv", day)
    with store.engine.begin() as connection:  # make the oldest the active one again
        connection.execute(update(ForecastModel).values(active=False))
        connection.execute(
            update(ForecastModel)
            .where(ForecastModel.version == "2018-03-01T02:00:00+00:00")
            .values(active=True)
        )
    done = prune_model_files(store, tmp_path, keep=1)
    assert done.removed == ("pv 2018-03-02T02:00:00+00:00",)
    assert oldest.is_dir()


def test_the_daily_job_removes_old_model_files(store: Store, tmp_path: Path) -> None:
    folders = [_trained(store, tmp_path, "load", day) for day in range(1, 7)]
    job = Housekeeping(
        store=store, since=START, tz=TZ, problems={}, lock=threading.RLock(), data_dir=tmp_path
    )
    assert job.run(FIRST_RUN, RetentionConfig()) is not None
    assert [folder.is_dir() for folder in folders] == [False, False, True, True, True, True]
    # disabled retention keeps everything, model files too
    more = _trained(store, tmp_path, "load", 7)
    job.run(FIRST_RUN, RetentionConfig(enabled=False))
    assert folders[2].is_dir()
    assert more.is_dir()


def test_a_failing_model_prune_is_a_problem(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    for day in range(1, 7):
        _trained(store, tmp_path, "pv", day)

    def refuse(path: Any) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    problems: dict[str, str] = {}
    job = Housekeeping(
        store=store,
        since=START,
        tz=TZ,
        problems=problems,
        lock=threading.RLock(),
        data_dir=tmp_path,
    )
    assert job.run(FIRST_RUN, RetentionConfig()) is None
    assert problems[PROBLEM_KEY].startswith("removing old model files failed at 2018-03-01")
    assert "Permission denied" in problems[PROBLEM_KEY]
