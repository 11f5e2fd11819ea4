"""Aurora on a real home's store: LiveAurora, and the LiveWorld planning on it.

The store is filled with three weeks of a synthetic home: weather runs fetched every 6 h
(a clear sky scaled by a daily clear-sky index, perfect forecasts, 15 °C), PV = 0.8 x the
physics prior on that weather, and a load with a daily pattern plus a weekend midday
block the 7-day same-slot baseline cannot see. Observations have gaps (a day and a half
in the second week, and single slots here and there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pvlib
import pytest
from sqlalchemy.orm import Session

from darkstar.aurora.features import Site
from darkstar.aurora.models import Target, TrainingParams
from darkstar.learning.store import SlotObservation, Store, open_store
from darkstar.learning.store.weather import record_weather_run
from darkstar.service.live_aurora import LiveAurora, holiday_country, physics_prior
from darkstar.service.live_world import LiveWorld
from darkstar.service.world import HouseEntities
from darkstar.sources.pv import PvArray, clear_sky_irradiance

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from darkstar.aurora.forecaster import Training
    from darkstar.house import EntityState

TZ = ZoneInfo("Europe/Stockholm")
SITE = Site(latitude=55.6, longitude=13.0, timezone="Europe/Stockholm", country="SE")
ARRAYS = (PvArray(kwp=5.0, tilt_deg=35.0, azimuth_deg=180.0),)
PRIOR = physics_prior(arrays=ARRAYS, latitude=SITE.latitude, longitude=SITE.longitude)
FAST = TrainingParams(num_boost_round=25, num_leaves=15, min_data_in_leaf=20)
SLOT = timedelta(minutes=15)
#: three weeks of history from Saturday 3 May 2025 (local midnight) to Saturday 24 May
START = datetime(2025, 5, 3, tzinfo=TZ).astimezone(UTC)
NOW = datetime(2025, 5, 24, tzinfo=TZ).astimezone(UTC)
#: no observation from Sunday 11 May 12:00 to Tuesday 13 May 00:00 (local)
GAP = (
    datetime(2025, 5, 11, 12, tzinfo=TZ).astimezone(UTC),
    datetime(2025, 5, 13, tzinfo=TZ).astimezone(UTC),
)
PV_FACTOR = 0.8


@dataclass(frozen=True)
class Home:
    """The synthetic home: its hourly weather, true PV and load per slot [kW]."""

    weather: pd.DataFrame
    pv_kw: pd.Series
    load_kw: pd.Series
    observed: pd.Series  # bool per slot: stored


def _weather(hours: pd.DatetimeIndex) -> pd.DataFrame:
    """Hourly means: clear sky x a clear-sky index per UTC day, 15 °C."""
    sky = clear_sky_irradiance(
        hours + timedelta(minutes=30), latitude=SITE.latitude, longitude=SITE.longitude
    )
    days = hours.normalize()
    rng = np.random.default_rng(7)
    kt_of_day = dict(zip(days.unique(), rng.uniform(0.35, 1.0, len(days.unique())), strict=True))
    kt = np.array([kt_of_day[d] for d in days])
    ghi = sky["ghi_w_m2"].to_numpy() * kt
    split = pvlib.irradiance.erbs(ghi, sky["zenith_deg"].to_numpy(), hours.day_of_year.to_numpy())
    return pd.DataFrame(
        {
            "ghi_w_per_m2": ghi,
            "dni_w_per_m2": np.asarray(split["dni"], float),
            "dhi_w_per_m2": np.asarray(split["dhi"], float),
            "temp_air_c": 15.0,
            "cloud_cover_percent": 100.0 * (1.0 - kt),
        },
        index=hours,
    )


def _load_kw(index: pd.DatetimeIndex) -> np.ndarray:
    """0.4 kW, +1.2 kW 17-21 h, +1.5 kW 10-15 h on weekends (local), noise."""
    local = index.tz_convert(TZ)
    hour = local.hour.to_numpy()
    weekend = local.day_of_week.to_numpy() >= 5
    load = 0.4 + 1.2 * ((hour >= 17) & (hour < 21)) + 1.5 * (weekend & (hour >= 10) & (hour < 15))
    noise = np.random.default_rng(11).normal(0.0, 0.05, len(index))
    return np.asarray(np.clip(load + noise, 0.05, None), dtype=float)


def _home() -> Home:
    hours = pd.date_range(START - timedelta(days=2), NOW + timedelta(days=5), freq="h", tz="UTC")
    weather = _weather(hours)
    index = pd.date_range(START, NOW + timedelta(days=2), freq=SLOT, inclusive="left", tz="UTC")
    prior_kw = PRIOR(weather).reindex(index, method="ffill")
    pv_kw = pd.Series(PV_FACTOR * prior_kw.to_numpy(), index=index)
    load_kw = pd.Series(_load_kw(index), index=index)
    rng = np.random.default_rng(3)
    observed = (index < NOW) & ~((index >= GAP[0]) & (index < GAP[1]))
    observed &= rng.uniform(size=len(index)) > 0.03  # single slots missing too
    return Home(weather, pv_kw, load_kw, pd.Series(observed, index=index))


def _fill(store: Store, home: Home, *, runs: bool = True) -> None:
    """Store the observations (kWh per slot) and the runs fetched every 6 h."""
    rows = [
        SlotObservation(
            slot_start_utc=int(t.timestamp()),
            pv_kwh=float(home.pv_kw[t]) * 0.25,
            load_kwh=float(home.load_kw[t]) * 0.25,
            grid_import_kwh=0.0,
            grid_export_kwh=0.0,
            battery_charge_kwh=0.0,
            battery_discharge_kwh=0.0,
            water_heater_kwh=0.0,
            soc_end_percent=50.0,
            water_temp_c=None,
            import_price_sek_per_kwh=1.0,
            export_price_sek_per_kwh=0.5,
            recorded_at=t.isoformat(),
        )
        for t in home.observed.index[home.observed.to_numpy()]
    ]
    with Session(store.engine) as session, session.begin():
        session.add_all(rows)
    if not runs:
        return
    fetched = START - timedelta(days=1) + timedelta(minutes=20)
    while fetched <= NOW + timedelta(hours=6):
        first = pd.Timestamp(fetched).floor("h")
        hourly = home.weather.loc[first : first + pd.Timedelta(hours=71)]
        assert record_weather_run(store, issued_at=fetched, hourly=hourly)
        fetched += timedelta(hours=6)


@pytest.fixture(scope="module")
def home() -> Home:
    return _home()


@pytest.fixture(scope="module")
def store(home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = open_store(tmp_path_factory.mktemp("live-aurora") / "planner_learning.db")
    _fill(opened, home)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def trained(store: Store) -> tuple[LiveAurora, Training]:
    live = LiveAurora(store=store, site=SITE, prior=PRIOR, params=FAST)
    return live, live.retrain(NOW)


def _day_after(now: datetime) -> list[datetime]:
    return [now + k * SLOT for k in range(96)]


def _baseline_kw(home: Home, starts: Sequence[datetime]) -> np.ndarray:
    """The 7-day baseline: the same local slot on the 7 latest stored days (within 9) [kW]."""
    load = home.load_kw.where(home.observed)
    out = []
    for start in starts:
        local = start.astimezone(TZ)
        days = [
            datetime.combine(local.date() - timedelta(days=d), local.time(), TZ).astimezone(UTC)
            for d in range(1, 10)
        ]
        values = [v for t in days if np.isfinite(v := load.get(pd.Timestamp(t), np.nan))]
        out.append(np.mean(values[:7]))
    return np.array(out)


def test_holiday_country_from_the_price_area() -> None:
    assert [holiday_country(a) for a in ("SE3", "NO1", "DK2", "FI", "DE-LU", "GER")] == [
        "SE",
        "NO",
        "DK",
        "FI",
        "DE",
        "DE",
    ]
    assert holiday_country("SYS") == "SE"


def test_before_training_the_prior_is_used(store: Store, home: Home) -> None:
    live = LiveAurora(store=store, site=SITE, prior=PRIOR, params=FAST)
    assert live.aurora.history_start == START  # the first stored observation
    starts = _day_after(NOW)
    band = live.forecast(NOW, starts)
    assert band.covered.all()
    assert band.fault is None
    assert band.used == {"pv": "prior", "load": "prior"}
    assert band.version == "none"
    # load P50: the mean of the same slot over the 7 days before; PV P50: the prior
    assert band.load_kw[:, 1] == pytest.approx(_baseline_kw(home, starts), abs=1e-9)
    prior = PRIOR(home.weather).reindex(pd.DatetimeIndex(starts), method="ffill").to_numpy()
    assert band.pv_kw[:, 1] == pytest.approx(prior, abs=1e-9)
    assert (np.diff(band.load_kw, axis=1) >= 0).all()
    assert (np.diff(band.pv_kw, axis=1) >= 0).all()
    # the same issue is used within the hour (nothing new stored)
    again = live.forecast(NOW + SLOT, starts[1:])
    assert again.issued_at == band.issued_at
    assert band.run_issued_at == NOW - timedelta(hours=5, minutes=40)
    # a run fetched after the slot began (the plan is made at 00:25) is used at once
    fresh = live.forecast(NOW + SLOT, starts[1:], known_at=NOW + timedelta(minutes=25))
    assert fresh.run_issued_at == NOW + timedelta(minutes=20)
    assert fresh.issued_at == NOW + SLOT


def test_after_training_load_beats_the_baseline_and_pv_learns_its_factor(
    trained: tuple[LiveAurora, Training], home: Home
) -> None:
    live, training = trained
    assert training.used["load"] == "model"
    starts = _day_after(NOW)  # Saturday 24 May: held out, never stored
    band = live.forecast(NOW, starts)
    assert band.covered.all()
    assert band.version == live.version != "none"
    truth = home.load_kw.reindex(pd.DatetimeIndex(starts)).to_numpy()
    model_mae = float(np.mean(np.abs(band.load_kw[:, 1] - truth)))
    baseline_mae = float(np.mean(np.abs(_baseline_kw(home, starts) - truth)))
    assert baseline_mae > 0.2  # the weekend block it cannot see
    assert model_mae < 0.6 * baseline_mae
    prior = PRIOR(home.weather).reindex(pd.DatetimeIndex(starts), method="ffill").to_numpy()
    ratio = band.pv_kw[:, 1].sum() / prior.sum()
    assert ratio == pytest.approx(PV_FACTOR, abs=0.08)  # the prior alone: 1.0


def test_gaps_are_not_trained_on(trained: tuple[LiveAurora, Training], home: Home) -> None:
    live, training = trained
    pv_kw, load_kw = live.history(NOW)
    assert pv_kw.index[0] == pd.Timestamp(START)
    assert pv_kw.index[-1] == pd.Timestamp(NOW) - SLOT
    assert pv_kw.index.freq == SLOT
    gap = (load_kw.index >= GAP[0]) & (load_kw.index < GAP[1])
    assert load_kw[gap].isna().all()
    assert load_kw.notna().sum() == home.observed[home.observed.index < NOW].sum()
    model = live.models()["load"]
    assert model is not None
    # rows of the history forecasts: 48 h from 12:00 local each day; what was measured
    measured = 0
    total = 0
    for day in pd.date_range(START.astimezone(TZ).date(), NOW.astimezone(TZ).date()):
        at = datetime.combine(day.date(), time(12), TZ)
        if at >= NOW:
            continue
        targets = pd.date_range(at, at + timedelta(hours=48), freq=SLOT, inclusive="left")
        targets = targets[targets < NOW]
        total += len(targets)
        measured += int(load_kw.reindex(targets).notna().sum())
    assert training.rows[str(Target.LOAD)] == total
    assert model.info.n_rows <= measured < total


def test_no_weather_run_stored_falls_back(home: Home, tmp_path: Path) -> None:
    store = open_store(tmp_path / "planner_learning.db")
    try:
        _fill(store, home, runs=False)
        live = LiveAurora(store=store, site=SITE, prior=PRIOR, params=FAST)
        band = live.forecast(NOW, _day_after(NOW))
        assert not band.covered.any()
        assert band.fault == "no weather run stored yet"
        assert np.isnan(band.pv_kw).all()
        world = _world(store, live, NOW)
        pin = world.planner_input(soc_percent=50.0, now=NOW)
        assert all(s.pv_p10_kwh is None and s.load_p90_kwh is None for s in pin.slots)
        assert pin.slots[0].pv_forecast_kwh == pytest.approx(_FakePv.KW * 0.25)
        fault = world.inputs(NOW)["forecasts"]["fault"]
        assert "Aurora: no weather run stored yet" in fault
        assert world.forecast_versions()["pv"].startswith("physics: ")
        # three weeks observed, but nothing to learn from before the first run is kept
        assert live.aurora.history_start == START
        fetched = NOW - timedelta(hours=1)
        first = pd.Timestamp(fetched).floor("h")
        hourly = home.weather.loc[first : first + pd.Timedelta(hours=71)]
        assert record_weather_run(store, issued_at=fetched, hourly=hourly)
        band = live.forecast(NOW, _day_after(NOW))
        assert band.covered.all()
        assert live.aurora.history_start == fetched
    finally:
        store.close()


# --- the LiveWorld on Aurora ---------------------------------------------------------------


class _FakeHouse:
    """A house with no recorded history (backfill finds nothing to restore)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def history(
        self, entity_ids: Sequence[str], *, start: datetime, end: datetime
    ) -> dict[str, list[EntityState]]:
        return {}


class _FlatPrices:
    """Prices known for two days from any moment: 1.0 import, 0.5 export [SEK/kWh]."""

    fault = None

    def refresh(self, now: datetime) -> None:
        pass

    def known_until(self, now: datetime) -> datetime:
        return now + timedelta(days=2)

    def slot_prices(self, start: datetime, end: datetime) -> list[tuple[float, float]]:
        return [(1.0, 0.5)] * ((end - start) // SLOT)

    def prices_at(self, moment: datetime) -> tuple[float, float]:
        return (1.0, 0.5)

    def past_prices_at(self, moment: datetime) -> tuple[float, float]:
        return (1.0, 0.5)

    def status(self, now: datetime) -> dict[str, Any]:
        return {"source": "flat", "fault": None}


class _FakePv:
    KW = 1.0

    def pv_kw(self, starts: Sequence[datetime], *, now: datetime) -> list[float]:
        return [self.KW] * len(starts)

    def status(self) -> Mapping[str, Any]:
        return {"source": "fake physics", "issued_at": None, "fault": None}


ENTITIES = HouseEntities(
    battery_soc="sensor.soc",
    pv_energy="sensor.pv",
    load_energy="sensor.load",
    grid_import_energy="sensor.imp",
    grid_export_energy="sensor.exp",
    battery_charge_energy="sensor.chg",
    battery_discharge_energy="sensor.dis",
    water_heater_energy=None,
    water_temperature=None,
    inverter_mode="select.mode",
    charge_power="number.chg",
    discharge_power="number.dis",
    soc_target="number.target",
    grid_charging=None,
    water_heater=None,
)


def _world(store: Store, aurora: LiveAurora | None, now: datetime) -> LiveWorld:
    house: Any = _FakeHouse(now)
    prices: Any = _FlatPrices()
    return LiveWorld(
        house=house,
        entities=ENTITIES,
        tz=TZ,
        prices=prices,
        pv=_FakePv(),
        store=store,
        clock=lambda: now,
        aurora=aurora,
    )


def test_live_world_plans_on_aurora_quantiles(
    trained: tuple[LiveAurora, Training], store: Store
) -> None:
    live, _ = trained
    world = _world(store, live, NOW)
    pin = world.planner_input(soc_percent=50.0, now=NOW)
    assert pin.n_slots == 192
    band = world.aurora_band
    assert band is not None
    for k, slot in enumerate(pin.slots):
        assert slot.pv_p10_kwh is not None
        assert slot.pv_p90_kwh is not None
        assert slot.load_p10_kwh is not None
        assert slot.load_p90_kwh is not None
        assert 0.0 <= slot.pv_p10_kwh <= slot.pv_forecast_kwh <= slot.pv_p90_kwh
        assert 0.0 <= slot.load_p10_kwh <= slot.load_forecast_kwh <= slot.load_p90_kwh
        assert slot.load_forecast_kwh == pytest.approx(band.load_kw[k, 1] * 0.25)
    versions = world.forecast_versions()
    assert versions["load"] == f"aurora model {live.version}"
    assert versions["pv"].startswith("aurora ")
    assert all(len(v) <= 64 for v in versions.values())
    inputs = world.inputs(NOW)
    assert inputs["aurora"]["covered_slots"] == 192
    assert inputs["aurora"]["version"] == live.version
    assert inputs["forecasts"]["fault"] is None
    assert inputs["load"]["source"] == f"Aurora model ({live.version})"
    assert inputs["pv"]["source"].startswith("Aurora ")
    assert inputs["pv"]["fault"] is None
    assert world.forecast_source.startswith("Aurora on the house's history (pv ")


def test_live_world_slots_beyond_the_run_use_the_fallback_reported(
    store: Store,
) -> None:
    later = NOW + timedelta(days=2)  # the newest run (fetched NOW + 20 min) reaches NOW + 72 h
    live = LiveAurora(store=store, site=SITE, prior=PRIOR, params=FAST)
    world = _world(store, live, later)
    pin = world.planner_input(soc_percent=50.0, now=later)
    band = world.aurora_band
    assert band is not None
    assert band.covered.any()
    assert not band.covered.all()
    beyond = [s for s, c in zip(pin.slots, band.covered, strict=True) if not c]
    assert all(s.pv_p90_kwh is None for s in beyond)
    assert all(s.pv_forecast_kwh == pytest.approx(_FakePv.KW * 0.25) for s in beyond)
    inputs = world.inputs(later)
    fault = inputs["forecasts"]["fault"]
    assert len(beyond) == 96
    assert "96 of 192 slots beyond the weather run" in fault
    assert "physics PV and the 7-day load baseline there" in fault
    assert "96 of 192 slots beyond the weather run" in inputs["pv"]["fault"]  # a problem
    assert inputs["pv"]["source"].endswith("; elsewhere fake physics")
    assert world.forecast_versions() == {
        "pv": "aurora prior none + physics",
        "load": "aurora prior none + baseline",
    }
