"""Running Reflex on hand-made histories: assess writes nothing, proposals are logged, applied
changes go to config.yaml with its comments and the old value in the log, the daily rate
limit, the nameplate, and the refusals (file changed meanwhile, log unwritable)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from conftest import END, TZ, HistoryWriter
from darkstar.config import load_config
from darkstar.errors import InputError
from darkstar.learning.reflex import assess_reflex, run_reflex
from darkstar.learning.store import Store
from darkstar.learning.store.strategy_log import StrategyKind, read_strategy_log

CONFIG = """\
# My house. Reflex may tune four keys; these comments must stay.
battery:
  capacity_kwh: 10.0  # nameplate
  min_soc_percent: 10.0

s_index:
  base_factor: 1.1  # load inflation

# forecasts
forecasting:
  pv_confidence_percent: 90.0  # trust in the PV forecast
"""

#: 10 % fade, the PV forecast 20 % high, 4 empty evenings in the last 30 days.
DRIFTED = {
    "days": 40,
    "capacity_kwh": 9.0,
    "pv_forecast_factor": 1.2,
    "empty_evenings": {22, 27, 33, 38},
}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _proposed(assessments: tuple[object, ...]) -> dict[str, tuple[float, float | None]]:
    return {a.key: (a.current, a.proposed) for a in assessments if a.changed}  # type: ignore[attr-defined]


def test_assess_reflex_proposes_and_writes_nothing(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    assessments = assess_reflex(store, load_config(config_path), now=END, tz=TZ)
    assert [a.analyzer.value for a in assessments] == ["safety", "confidence", "roi", "capacity"]
    assert _proposed(assessments) == {
        "s_index.base_factor": (1.1, 1.12),
        "forecasting.pv_confidence_percent": (90.0, 85.0),
        "battery.capacity_kwh": (10.0, 9.5),
    }
    roi = assessments[2]
    assert roi.proposed is None
    assert roi.signal["margin"] > 1
    assert read_strategy_log(store, limit=10) == []
    assert config_path.read_text(encoding="utf-8") == CONFIG


def test_run_reflex_clean_history_proposes_nothing(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(days=40, pv_forecast_factor=1.0)
    report = run_reflex(
        store, load_config(config_path), now=END, config_path=config_path, apply=True, tz=TZ
    )
    assert report.proposals == ()
    assert all(a.reason for a in report.assessments)
    assert read_strategy_log(store, limit=10) == []
    assert config_path.read_text(encoding="utf-8") == CONFIG


def test_run_reflex_without_apply_only_logs_proposals(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    report = run_reflex(
        store, load_config(config_path), now=END, config_path=config_path, apply=False, tz=TZ
    )
    assert len(report.proposals) == 3
    assert report.applied == {}
    rows = read_strategy_log(store, limit=10)
    assert {r.kind for r in rows} == {StrategyKind.REFLEX_PROPOSAL}
    assert {r.rule for r in rows} == {"reflex.safety", "reflex.confidence", "reflex.capacity"}
    assert config_path.read_text(encoding="utf-8") == CONFIG


def test_run_reflex_apply_keeps_comments_and_logs_the_old_value(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    report = run_reflex(
        store, load_config(config_path), now=END, config_path=config_path, apply=True, tz=TZ
    )
    assert dict(report.applied) == {
        "s_index.base_factor": (1.1, 1.12),
        "forecasting.pv_confidence_percent": (90.0, 85.0),
        "battery.capacity_kwh": (10.0, 9.5),
    }
    assert report.log_error is None
    lines = config_path.read_text(encoding="utf-8").splitlines()
    changed = {"capacity_kwh": "9.5", "base_factor": "1.12", "pv_confidence_percent": "85.0"}
    for before, after in zip(CONFIG.splitlines(), lines, strict=True):
        key = before.strip().split(":")[0]
        if key not in changed:
            assert after == before  # every other line, comments included, as it was
            continue
        value, _, comment = after.partition("#")
        assert value.strip() == f"{key}: {changed[key]}"
        assert comment == before.partition("#")[2]  # the key's own comment kept (column too)
    applied = read_strategy_log(store, limit=10, kind=StrategyKind.REFLEX_APPLIED)
    capacity = next(r for r in applied if r.rule == "reflex.capacity")
    assert (capacity.before, capacity.after) == (
        {"battery.capacity_kwh": 10.0},
        {"battery.capacity_kwh": 9.5},
    )
    assert capacity.at == END
    assert "10 -> 9.5 in config.yaml" in capacity.message
    assert capacity.inputs["capacity_kwh"] == pytest.approx(9.0)


def test_run_reflex_one_change_per_key_per_day_and_the_nameplate(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    run_reflex(store, load_config(config_path), now=END, config_path=config_path, apply=True, tz=TZ)
    later = END + timedelta(hours=20)
    again = run_reflex(
        store, load_config(config_path), now=later, config_path=config_path, apply=True, tz=TZ
    )
    assert again.applied == {}
    held = {a.key: a.reason for a in again.assessments if a.reason.startswith("rate limit")}
    assert set(held) == {
        "s_index.base_factor",
        "forecasting.pv_confidence_percent",
        "battery.capacity_kwh",
    }
    next_day = END + timedelta(days=1)
    third = run_reflex(
        store, load_config(config_path), now=next_day, config_path=config_path, apply=True, tz=TZ
    )
    # the low evenings were answered by the first raise: no new evidence, no second raise
    assert dict(third.applied) == {
        "forecasting.pv_confidence_percent": (85.0, 80.0),
        "battery.capacity_kwh": (9.5, 9.0),
    }
    capacity = third.assessments[3]
    assert capacity.signal["nameplate_kwh"] == 10.0  # before Reflex's first change
    assert third.assessments[1].signal["user_value_percent"] == 90.0
    cfg = load_config(config_path)
    assert (cfg.battery.capacity_kwh, cfg.s_index.base_factor) == (9.0, 1.12)


def test_run_reflex_does_not_apply_over_a_value_changed_meanwhile(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    cfg = load_config(config_path)
    config_path.write_text(CONFIG.replace("capacity_kwh: 10.0", "capacity_kwh: 12.0"), "utf-8")
    report = run_reflex(store, cfg, now=END, config_path=config_path, apply=True, tz=TZ)
    assert "battery.capacity_kwh" not in report.applied
    assert report.not_applied == {
        "battery.capacity_kwh": "config.yaml holds 12, not the assessed 10"
    }
    assert load_config(config_path).battery.capacity_kwh == 12.0
    assert load_config(config_path).s_index.base_factor == 1.12


def test_run_reflex_applies_nothing_when_the_log_cannot_be_written(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only=ON"))
    report = run_reflex(
        store, load_config(config_path), now=END, config_path=config_path, apply=True, tz=TZ
    )
    assert report.applied == {}
    assert report.log_error is not None
    assert set(report.not_applied) == {a.key for a in report.proposals}
    assert config_path.read_text(encoding="utf-8") == CONFIG


def test_run_reflex_apply_needs_a_config_path(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    with pytest.raises(InputError) as info:
        run_reflex(store, load_config(config_path), now=END, config_path=None, apply=True, tz=TZ)
    assert info.value.field == "config_path"


def test_reflex_report_to_dict(
    store: Store, write_history: HistoryWriter, config_path: Path
) -> None:
    write_history(**DRIFTED)
    report = run_reflex(
        store, load_config(config_path), now=END, config_path=config_path, apply=True, tz=TZ
    )
    d = report.to_dict()
    assert d["applied"]["battery.capacity_kwh"] == {"before": 10.0, "after": 9.5}
    assert [a["analyzer"] for a in d["assessments"]] == ["safety", "confidence", "roi", "capacity"]
