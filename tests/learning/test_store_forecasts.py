"""Aurora in the store: forecasts as issued and the model registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from darkstar.errors import InputError
from darkstar.learning.store.forecasts import (
    ForecastSlot,
    active_models,
    list_models,
    read_forecasts,
    record_forecast,
    register_model,
)

if TYPE_CHECKING:
    from darkstar.learning.store import Store

T0 = datetime(2026, 3, 28, 12, tzinfo=UTC)
Q = timedelta(minutes=15)


def _slots(first: datetime, n: int, pv: float) -> list[ForecastSlot]:
    return [
        ForecastSlot(
            slot_start=first + i * Q,
            pv_p10_kwh=pv * 0.5,
            pv_p50_kwh=pv,
            pv_p90_kwh=pv * 1.5,
            load_p10_kwh=0.1,
            load_p50_kwh=0.2,
            load_p90_kwh=0.3,
        )
        for i in range(n)
    ]


def test_read_forecasts_gives_each_slot_the_latest_issue_known_then(store: Store) -> None:
    assert record_forecast(
        store, issued_at=T0, slots=_slots(T0, 8, 1.0), pv_source="prior", load_source="baseline"
    )
    later = T0 + timedelta(hours=1)
    assert record_forecast(
        store, issued_at=later, slots=_slots(later, 4, 2.0), pv_source="m1", load_source="m1"
    )
    rows = read_forecasts(store, start=T0, end=T0 + 8 * Q)
    assert [issued for issued, _ in rows] == [T0] * 4 + [later] * 4
    assert [s.pv_p50_kwh for _, s in rows] == [1.0] * 4 + [2.0] * 4
    # as known half an hour after the first issue: the first forecast only
    rows = read_forecasts(store, start=T0, end=T0 + 8 * Q, issued_by=T0 + 2 * Q)
    assert {issued for issued, _ in rows} == {T0}
    assert len(rows) == 8


def test_a_forecast_issued_again_replaces_the_first(store: Store) -> None:
    record_forecast(store, issued_at=T0, slots=_slots(T0, 4, 1.0), pv_source="a", load_source="a")
    record_forecast(store, issued_at=T0, slots=_slots(T0, 2, 3.0), pv_source="b", load_source="b")
    rows = read_forecasts(store, start=T0, end=T0 + 4 * Q)
    assert [s.pv_p50_kwh for _, s in rows] == [3.0, 3.0]


def test_crossing_quantiles_are_refused_naming_the_field() -> None:
    with pytest.raises(InputError, match="load_p10_kwh"):
        ForecastSlot(
            slot_start=T0,
            pv_p10_kwh=0.0,
            pv_p50_kwh=0.0,
            pv_p90_kwh=0.0,
            load_p10_kwh=0.3,
            load_p50_kwh=0.2,
            load_p90_kwh=0.4,
        )


def test_the_newest_registered_model_of_a_target_is_active(store: Store) -> None:
    for version, day in (("load-1", 1), ("load-2", 8)):
        assert register_model(
            store,
            target="load",
            version=version,
            trained_at=T0 + timedelta(days=day),
            train_start=T0 - timedelta(days=30),
            train_end=T0 + timedelta(days=day),
            path=f"/data/models/{version}",
            metrics={"mae_kwh": 0.05, "baseline_mae_kwh": 0.07},
        )
    register_model(
        store,
        target="pv",
        version="pv-1",
        trained_at=T0,
        train_start=T0 - timedelta(days=30),
        train_end=T0,
        path="/data/models/pv-1",
        metrics={},
    )
    active = active_models(store)
    assert {t: m.version for t, m in active.items()} == {"load": "load-2", "pv": "pv-1"}
    assert active["load"].metrics == {"baseline_mae_kwh": 0.07, "mae_kwh": 0.05}
    assert [m.version for m in list_models(store)] == ["load-2", "load-1", "pv-1"]
    assert [m.active for m in list_models(store)] == [True, False, True]


def test_register_model_refuses_an_unknown_target(store: Store) -> None:
    with pytest.raises(InputError, match="target"):
        register_model(
            store,
            target="wind",
            version="w",
            trained_at=T0,
            train_start=T0,
            train_end=T0,
            path="x",
            metrics={},
        )
