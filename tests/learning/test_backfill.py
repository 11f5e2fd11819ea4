"""Backfill on a real SQLite store from a small recorded house (HA history semantics)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from darkstar.errors import InputError
from darkstar.house import EntityState, House, HouseError
from darkstar.learning.backfill import (
    HISTORY_CHUNK,
    HOURLY_ONLY,
    BackfillReport,
    backfill,
    missing_slots,
)
from darkstar.learning.store import SlotObservation, Store, open_store
from darkstar.learning.store.repository import read_plan_vs_actual, record_observation
from darkstar.service.world import HouseEntities
from darkstar.sources.homeassistant.payloads import StatisticSeries, StatisticsRow

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
SLOT = timedelta(minutes=15)
HOUR = timedelta(hours=1)
FIELDS = (
    "pv_kwh",
    "load_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    "water_heater_kwh",
)
ENTITY = {field: "sensor." + field.removesuffix("_kwh") + "_energy" for field in FIELDS}
WH_FIELDS = {"grid_import_kwh"}  # this counter reports Wh: read_number converts it


def _energy(field: str, k: int) -> float:
    """Energy of slot ``k`` (from T0) for ``field``: dyadic, so counter sums are exact."""
    return 0.125 * ((k + FIELDS.index(field)) % 4 + 1)


def _entities(*, water: bool = True) -> HouseEntities:
    return HouseEntities(
        battery_soc="sensor.soc",
        pv_energy=ENTITY["pv_kwh"],
        load_energy=ENTITY["load_kwh"],
        grid_import_energy=ENTITY["grid_import_kwh"],
        grid_export_energy=ENTITY["grid_export_kwh"],
        battery_charge_energy=ENTITY["battery_charge_kwh"],
        battery_discharge_energy=ENTITY["battery_discharge_kwh"],
        water_heater_energy=ENTITY["water_heater_kwh"] if water else None,
        water_temperature=None,
        inverter_mode="select.mode",
        charge_power="number.charge",
        discharge_power="number.discharge",
        soc_target="number.soc_target",
        grid_charging=None,
        water_heater=None,
    )


def _recorded_states(slots: int) -> dict[str, list[EntityState]]:
    """Each counter's states: one at every slot start and one mid-slot (half the energy)."""
    out: dict[str, list[EntityState]] = {}
    for field, entity_id in ENTITY.items():
        unit, scale = ("Wh", 1000.0) if field in WH_FIELDS else ("kWh", 1.0)
        value, states = 1000.0, []
        for k in range(-4, slots):
            for half in (0, 1):
                at = T0 + k * SLOT + half * SLOT / 2
                states.append(
                    EntityState(entity_id, str(value * scale), {"unit_of_measurement": unit}, at)
                )
                value += _energy(field, k) / 2
        out[entity_id] = states
    return out


class RecordedHouse:
    """A read-only house replaying recorded states with Home Assistant's history rules.

    ``history`` returns, per entity, the state in effect at ``start`` (stamped ``start``)
    and every later state up to ``end``; states before ``purged_before`` are gone.
    """

    def __init__(
        self,
        states: Mapping[str, list[EntityState]],
        *,
        now: datetime,
        purged_before: datetime | None = None,
    ) -> None:
        self._states = {k: sorted(v, key=lambda s: s.last_updated) for k, v in states.items()}
        self._now = now
        self._purged_before = purged_before
        self.history_calls: list[tuple[datetime, datetime]] = []

    @property
    def now(self) -> datetime:
        return self._now

    def _kept(self, entity_id: str) -> list[EntityState]:
        if entity_id not in self._states:
            raise HouseError(entity_id, "no such entity")
        cut = self._purged_before
        return [s for s in self._states[entity_id] if cut is None or s.last_updated >= cut]

    def get_state(self, entity_id: str) -> EntityState:
        return self._states[entity_id][-1]

    def get_states(self, entity_ids: Sequence[str]) -> dict[str, EntityState]:
        return {entity_id: self.get_state(entity_id) for entity_id in entity_ids}

    def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> None:
        raise HouseError(f"{domain}.{service}", "the recorded house is read-only")

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        self.history_calls.append((start, end))
        out = {}
        for entity_id in entity_ids:
            kept = self._kept(entity_id)
            before = [s for s in kept if s.last_updated <= start]
            first = (
                [EntityState(entity_id, before[-1].state, before[-1].attributes, start)]
                if before
                else []
            )
            out[entity_id] = first + [s for s in kept if start < s.last_updated <= end]
        return out

    def subscribe(
        self, entity_ids: Sequence[str], callback: Callable[[EntityState], None]
    ) -> Callable[[], None]:
        return lambda: None


class HourlyStatistics:
    """Long-term statistics of the recorded counters: each hour's ``change`` in kWh."""

    def __init__(
        self,
        *,
        hours_kept: Sequence[datetime] | None = None,
        changes: Mapping[tuple[str, datetime], float] | None = None,
    ) -> None:
        self.hours_kept = hours_kept
        self.changes = dict(changes or {})
        self.calls: list[tuple[datetime, datetime, str]] = []

    def __call__(
        self,
        statistic_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        period: str = "hour",
        types: Sequence[str] = ("change", "sum", "state"),
    ) -> dict[str, StatisticSeries]:
        self.calls.append((start, end, period))
        out = {}
        for entity_id in statistic_ids:
            field = next(f for f, e in ENTITY.items() if e == entity_id)
            rows = []
            hour = start
            while hour < end:
                k0 = int((hour - T0) / SLOT)
                change = self.changes.get(
                    (field, hour), sum(_energy(field, k) for k in range(k0, k0 + 4))
                )
                if self.hours_kept is None or hour in self.hours_kept:
                    rows.append(StatisticsRow(start=hour, end=hour + HOUR, change=change))
                hour += HOUR
            out[entity_id] = StatisticSeries(entity_id, "kWh", tuple(rows))
        return out


def _prices(moment: datetime) -> tuple[float, float] | None:
    return (1.5, 0.5)


def _store_slot(store: Store, k: int, **overrides: float) -> None:
    values = {field: _energy(field, k) for field in FIELDS} | overrides
    assert record_observation(
        store,
        slot_start=T0 + k * SLOT,
        import_price_sek_per_kwh=2.0,
        export_price_sek_per_kwh=0.25,
        recorded_at=T0 - timedelta(days=1),
        **values,
    )


def _observed(store: Store, start: datetime, end: datetime) -> dict[int, dict[str, float]]:
    out = {}
    for row in read_plan_vs_actual(store, start=start, end=end):
        if row.observed is not None:
            k = int((row.slot_start - T0) / SLOT)
            out[k] = {field: getattr(row.observed, field) for field in FIELDS}
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "db")
    yield opened
    opened.close()


def _with_hole(
    store: Store, *, slots: int = 24, hole: range = range(6, 18), load_kwh: float | None = 99.0
) -> None:
    """Store every slot but ``hole``; by default with a load the counters would not give."""
    for k in range(slots):
        if k not in hole:
            _store_slot(store, k, **({} if load_kwh is None else {"load_kwh": load_kwh}))


# -- missing_slots ---------------------------------------------------------------------------


def test_missing_slots_lists_slot_starts_without_an_observation(store: Store) -> None:
    _with_hole(store, slots=8, hole=range(2, 5))
    assert missing_slots(store, start=T0, end=T0 + 8 * SLOT) == [T0 + k * SLOT for k in (2, 3, 4)]


def test_missing_slots_uses_the_quarter_hour_grid(store: Store) -> None:
    got = missing_slots(store, start=T0 + timedelta(minutes=7), end=T0 + timedelta(minutes=46))
    assert got == [T0 + SLOT, T0 + 2 * SLOT, T0 + 3 * SLOT]


def test_missing_slots_naive_start_names_the_field(store: Store) -> None:
    with pytest.raises(InputError, match="start"):
        missing_slots(store, start=datetime(2026, 3, 10), end=T0 + HOUR)  # noqa: DTZ001


# -- backfill from state history -------------------------------------------------------------


def test_recorded_house_implements_the_house_protocol() -> None:
    assert isinstance(RecordedHouse({}, now=T0), House)


def test_backfill_restores_a_three_hour_hole_exactly(store: Store) -> None:
    _with_hole(store)
    house = RecordedHouse(_recorded_states(24), now=T0 + 7 * HOUR)
    report = backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + 6 * HOUR, prices_at=_prices
    )
    assert (report.slots_missing, report.slots_restored, report.slots_flagged) == (12, 12, 0)
    assert report.slots_from_statistics == 0
    observed = _observed(store, T0, T0 + 6 * HOUR)
    for k in range(6, 18):
        assert observed[k] == pytest.approx({f: _energy(f, k) for f in FIELDS}, abs=1e-12), k
    assert house.history_calls == [(T0 + 6 * SLOT, T0 + 18 * SLOT)]


def test_backfill_does_not_touch_stored_slots(store: Store) -> None:
    _with_hole(store)
    with Session(store.engine) as session:
        before = {
            row.slot_start_utc: (row.load_kwh, row.recorded_at, row.import_price_sek_per_kwh)
            for row in session.scalars(select(SlotObservation))
        }
    house = RecordedHouse(_recorded_states(24), now=T0 + 7 * HOUR)
    backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + 6 * HOUR, prices_at=_prices
    )
    with Session(store.engine) as session:
        after = {
            row.slot_start_utc: (row.load_kwh, row.recorded_at, row.import_price_sek_per_kwh)
            for row in session.scalars(select(SlotObservation))
        }
    assert {k: after[k] for k in before} == before
    assert len(after) == 24


def test_backfill_again_has_nothing_to_do(store: Store) -> None:
    _with_hole(store)
    house = RecordedHouse(_recorded_states(24), now=T0 + 7 * HOUR)
    args: dict[str, Any] = {"entities": _entities(), "store": store, "prices_at": _prices}
    backfill(house, start=T0, end=T0 + 6 * HOUR, **args)
    again = backfill(house, start=T0, end=T0 + 6 * HOUR, **args)
    assert (again.slots_missing, again.slots_restored, again.gaps) == (0, 0, ())


def test_backfill_asks_history_in_chunks_of_at_most_24_hours(store: Store) -> None:
    house = RecordedHouse(_recorded_states(30 * 4), now=T0 + 31 * HOUR)
    report = backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + 30 * HOUR, prices_at=_prices
    )
    assert report.slots_restored == 120
    assert [end - start for start, end in house.history_calls] == [HISTORY_CHUNK, 6 * HOUR]
    assert house.history_calls[1][0] == house.history_calls[0][1]


def test_backfill_without_a_water_counter_records_zero_water(store: Store) -> None:
    states = _recorded_states(4)
    del states[ENTITY["water_heater_kwh"]]
    house = RecordedHouse(states, now=T0 + HOUR)
    report = backfill(
        house,
        entities=_entities(water=False),
        store=store,
        start=T0,
        end=T0 + HOUR,
        prices_at=_prices,
    )
    assert report.slots_restored == 4
    assert {obs["water_heater_kwh"] for obs in _observed(store, T0, T0 + HOUR).values()} == {0.0}


def test_backfill_missing_price_is_a_gap(store: Store) -> None:
    house = RecordedHouse(_recorded_states(4), now=T0 + HOUR)

    def prices(moment: datetime) -> tuple[float, float] | None:
        return None if moment == T0 + SLOT else (1.5, 0.5)

    report = backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + HOUR, prices_at=prices
    )
    assert report.slots_restored == 3
    assert report.gaps == ((T0 + SLOT, "no price"),)
    assert sorted(_observed(store, T0, T0 + HOUR)) == [0, 2, 3]


def test_backfill_unavailable_counter_is_a_gap_naming_the_entity(store: Store) -> None:
    states = _recorded_states(4)
    pv = ENTITY["pv_kwh"]
    # unavailable (HA drops the unit) from 00:30 until the next state at 00:37:30
    states[pv].append(EntityState(pv, "unavailable", {"friendly_name": "PV"}, T0 + 2 * SLOT))
    house = RecordedHouse(states, now=T0 + HOUR)
    report = backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + HOUR, prices_at=_prices
    )
    assert report.slots_restored == 2
    assert [moment for moment, _ in report.gaps] == [T0 + SLOT, T0 + 2 * SLOT]
    assert all(f"pv_kwh: {pv}:" in reason and "unavailable" in reason for _, reason in report.gaps)


def test_backfill_history_error_is_a_gap_not_a_crash(store: Store) -> None:
    house = RecordedHouse({}, now=T0 + HOUR)  # knows none of the counters: history raises
    report = backfill(
        house, entities=_entities(), store=store, start=T0, end=T0 + HOUR, prices_at=_prices
    )
    assert report.slots_flagged == 4
    assert all(reason.startswith("history unavailable:") for _, reason in report.gaps)


def test_backfill_logs_one_info_line(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    house = RecordedHouse(_recorded_states(4), now=T0 + HOUR)
    with caplog.at_level(logging.INFO, logger="darkstar.learning.backfill"):
        report = backfill(
            house, entities=_entities(), store=store, start=T0, end=T0 + HOUR, prices_at=_prices
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "darkstar.learning.backfill"]
    assert lines == [report.summary()]
    assert "4 missing, 4 restored from history, 0 from statistics, 0 flagged" in lines[0]


# -- purged history: long-term statistics ------------------------------------------------------


def _purged_backfill(
    store: Store, statistics: HourlyStatistics | None, *, hours: int = 6
) -> BackfillReport:
    """Backfill ``[T0, T0 + hours)`` from a house whose state history starts at 05:00."""
    house = RecordedHouse(_recorded_states(24), now=T0 + 12 * HOUR, purged_before=T0 + 5 * HOUR)
    return backfill(
        house,
        entities=_entities(),
        store=store,
        start=T0,
        end=T0 + hours * HOUR,
        prices_at=_prices,
        statistics=statistics,
    )


def test_backfill_purged_history_reports_hours_as_hourly_totals_only(store: Store) -> None:
    _with_hole(store, load_kwh=None)  # the hole is 01:30-04:30, history is purged before 05:00
    statistics = HourlyStatistics()
    report = _purged_backfill(store, statistics)
    # 01:00 and 04:00 have two stored slots each; 02:00 and 03:00 are whole missing hours
    assert [t.hour_start for t in report.hourly_totals] == [T0 + h * HOUR for h in (1, 2, 3, 4)]
    for total in report.hourly_totals:
        ks = [int((s - T0) / SLOT) for s in total.slot_starts]
        assert ks == [
            k for k in range(6, 18) if timedelta(0) <= T0 + k * SLOT - total.hour_start < HOUR
        ]
        expected = {f: sum(_energy(f, k) for k in ks) for f in FIELDS}
        assert total.energy_kwh == pytest.approx(expected, abs=1e-12)
    assert len(report.hourly_totals[1].slot_starts) == 4
    assert (report.slots_restored, report.slots_from_statistics, report.slots_flagged) == (0, 0, 12)
    assert report.gaps == tuple((T0 + k * SLOT, HOURLY_ONLY) for k in range(6, 18))
    assert sorted(_observed(store, T0, T0 + 6 * HOUR)) == [k for k in range(24) if not 6 <= k < 18]
    assert statistics.calls == [(T0 + HOUR, T0 + 5 * HOUR, "hour")]
    assert "12 flagged (4 hours with hourly totals only)" in report.summary()


def test_backfill_purged_history_one_missing_slot_of_an_hour_is_exact(store: Store) -> None:
    _with_hole(store, hole=range(9, 10), load_kwh=None)  # only 02:15 is missing
    report = _purged_backfill(store, HourlyStatistics())
    assert (report.slots_from_statistics, report.slots_flagged, report.hourly_totals) == (1, 0, ())
    expected = {f: _energy(f, 9) for f in FIELDS}
    assert _observed(store, T0, T0 + 6 * HOUR)[9] == pytest.approx(expected, abs=1e-12)


def test_backfill_purged_history_without_statistics_flags_the_slots(store: Store) -> None:
    _with_hole(store)
    report = _purged_backfill(store, None)
    assert report.slots_flagged == 12
    assert {reason for _, reason in report.gaps} == {"no state history and no long-term statistics"}


def test_backfill_statistics_that_disagree_with_stored_slots_are_a_gap(store: Store) -> None:
    _with_hole(store, hole=range(9, 10))  # the stored slots say 99 kWh of load each
    report = _purged_backfill(store, HourlyStatistics())
    assert report.slots_from_statistics == 0
    ((moment, reason),) = report.gaps
    assert moment == T0 + 9 * SLOT
    assert "load_kwh: sensor.load_energy hourly change" in reason


def test_backfill_hour_missing_from_statistics_is_a_gap_naming_the_entity(store: Store) -> None:
    _with_hole(store, load_kwh=None)
    report = _purged_backfill(store, HourlyStatistics(hours_kept=[T0 + 2 * HOUR]))
    assert [t.hour_start for t in report.hourly_totals] == [T0 + 2 * HOUR]
    reasons = dict(report.gaps)
    assert reasons[T0 + 8 * SLOT] == HOURLY_ONLY
    assert (
        "pv_kwh: sensor.pv_energy: no hourly statistics for 2026-03-10T03:00:00+00:00"
        in (reasons[T0 + 12 * SLOT])
    )


def test_backfill_statistics_round_off_below_zero_is_zero(store: Store) -> None:
    for k, pv_kwh in ((0, 0.1), (1, 0.2), (2, 0.0)):  # 0.1 + 0.2 > 0.3 in floats
        _store_slot(store, k, pv_kwh=pv_kwh)
    statistics = HourlyStatistics(changes={("pv_kwh", T0): 0.3})
    report = _purged_backfill(store, statistics, hours=1)
    assert (report.slots_from_statistics, report.gaps) == (1, ())
    assert _observed(store, T0, T0 + HOUR)[3]["pv_kwh"] == 0.0
