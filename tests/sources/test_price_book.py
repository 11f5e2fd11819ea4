"""The agent on live day-ahead prices: cache, backoff, and a Nord Pool outage mid-day.

The simulated home replays 15-17 May 2018 (SE4) while its prices come through the real
Nord Pool client from :class:`fake_nordpool.FakeNordPool` on 127.0.0.1, which serves the
same year's prices in the data portal's reply shape and can be made to fail.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fake_nordpool import FakeNordPool, build_reply

from darkstar.config.models import DarkstarConfig
from darkstar.learning.store import open_store
from darkstar.market import delivery_window
from darkstar.physics.tariff import TariffSpec
from darkstar.service.prices import PriceBook
from darkstar.simulation.agent_run import DATA_AREA, DATA_YEAR, open_agent
from darkstar.simulation.datasets import load_year
from darkstar.sources.nordpool import NordPoolClient

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from darkstar.service.agent import AgentLoop

START = datetime(2018, 5, 14, 22, tzinfo=UTC)  # 15 May 2018, 00:00 local
DAYS = [date(2018, 5, 15), date(2018, 5, 16), date(2018, 5, 17)]


@pytest.fixture(scope="module")
def year_spot() -> dict[date, list[float]]:
    year = load_year(area=DATA_AREA, year=DATA_YEAR)
    spot = year.spot_price_sek_per_kwh
    out = {}
    for day in DAYS:
        start, end = delivery_window(day)
        out[day] = [float(v) for v in spot[(spot.index >= start) & (spot.index < end)]]
    return out


@pytest.fixture
def nordpool(year_spot: dict[date, list[float]]) -> Iterator[FakeNordPool]:
    server = FakeNordPool()
    for day, prices in year_spot.items():
        server.add(build_reply("SE4", day, prices))
    server.start()
    yield server
    server.stop()


def _client(server: FakeNordPool) -> NordPoolClient:
    return NordPoolClient(server.url, retries=0, timeout_s=2.0)


def _run(agent: AgentLoop, steps: int, *, before_step: object = None) -> list[dict[str, object]]:
    """Run ``steps`` slots; return the ``meta`` of every plan made."""
    metas = []
    for k in range(steps):
        if callable(before_step):
            before_step(k)
        agent.step()
        if agent.plan_document is not None and agent.plans_made > len(metas):
            metas.append(agent.plan_document["meta"])
    return metas


def _open(tmp_path: Path, source: NordPoolClient | None) -> AgentLoop:
    cfg = DarkstarConfig()
    agent, _, _ = open_agent(cfg=cfg, out_dir=tmp_path, start=START, price_source=source)
    return agent


def test_a_day_on_live_prices_costs_what_it_costs_on_the_replayed_ones(
    nordpool: FakeNordPool, tmp_path: Path
) -> None:
    live = _open(tmp_path / "live", _client(nordpool))
    replay = _open(tmp_path / "replay", None)
    try:
        metas = _run(live, 96)
        _run(replay, 96)
        assert live.cost_sek == pytest.approx(replay.cost_sek, abs=1e-9)
        assert metas[0]["inputs"]["prices"]["source"].startswith("Nord Pool (http://127.0.0.1")
        assert all(m["inputs"]["prices"]["fault"] is None for m in metas)
        # today at the start, tomorrow once at 13:00 local: two fetches, nothing more
        assert [q["date"] for q in nordpool.requests] == ["2018-05-15", "2018-05-16"]
    finally:
        live.store.close()
        replay.store.close()


def test_an_outage_leaves_the_plan_on_the_known_prices_and_flags_it(
    nordpool: FakeNordPool, tmp_path: Path
) -> None:
    agent = _open(tmp_path, _client(nordpool))

    def outage(step: int) -> None:
        if step == 40:  # 10:00 local: Nord Pool goes down for the rest of the day
            nordpool.fail_next(10_000, 503)

    try:
        metas = _run(agent, 96, before_step=outage)
        assert agent.steps_run == 96
        assert agent.plans_made == 24  # every hourly plan was made, on what was known
        midnight = datetime(2018, 5, 15, 22, tzinfo=UTC)
        after = [
            m
            for m in metas
            if datetime.fromisoformat(str(m["planned_at"])) >= START + timedelta(hours=13)
        ]
        assert len(after) == 11
        for meta in after:
            prices = meta["inputs"]["prices"]
            assert prices["known_until"] == midnight.isoformat()
            assert prices["fault"].startswith("Nord Pool: prices for Wed 16 May not fetched")
            assert "answered 503" in prices["fault"]
        # the failed day is asked again after 1, 2, 4, 8, 16, 30, 30 ... minutes of house
        # time, not every slot: 13:00 to 24:00 is 11 hourly plans -> at most 11 attempts
        retried = [q for q in nordpool.requests if q["date"] == "2018-05-16"]
        assert 1 <= len(retried) <= 11
    finally:
        agent.store.close()


def test_a_restart_does_not_fetch_a_cached_day(nordpool: FakeNordPool, tmp_path: Path) -> None:
    store = open_store(tmp_path / "db")
    try:
        first = PriceBook(
            source=_client(nordpool), store=store, area="SE4", currency="SEK", tariff=TariffSpec()
        )
        now = datetime(2018, 5, 15, 12, tzinfo=UTC)  # 14:00 local: today and tomorrow
        first.refresh(now)
        assert len(nordpool.requests) == 2
        again = PriceBook(
            source=_client(nordpool), store=store, area="SE4", currency="SEK", tariff=TariffSpec()
        )
        again.refresh(now)
        assert len(nordpool.requests) == 2  # both days came from the store
        assert again.fetches == 0
        assert again.known_until(now) == datetime(2018, 5, 16, 22, tzinfo=UTC)
        assert again.slot_prices(now, now + timedelta(hours=1)) == first.slot_prices(
            now, now + timedelta(hours=1)
        )
    finally:
        store.close()


def test_tomorrow_unpublished_is_normal_until_15_cet_then_a_fault(tmp_path: Path) -> None:
    server = FakeNordPool()
    server.add(build_reply("SE4", date(2018, 5, 15), [0.3] * 96))
    server.start()
    store = open_store(tmp_path / "db")
    try:
        book = PriceBook(
            source=_client(server), store=store, area="SE4", currency="SEK", tariff=TariffSpec()
        )
        book.refresh(datetime(2018, 5, 15, 11, tzinfo=UTC))  # 13:00 CEST
        assert book.fault is None
        book.refresh(datetime(2018, 5, 15, 13, 5, tzinfo=UTC))  # 15:05 CEST
        assert book.fault is not None
        assert book.fault == (
            "Nord Pool: prices for Wed 16 May not published yet (normally by 12:45 CET; "
            "now 15:05); next try 15:07; planning on prices known until Wed 16 May 00:00"
        )
        imp, exp = TariffSpec().prices_sek_per_kwh(0.3)
        assert book.prices_at(datetime(2018, 5, 15, 13, tzinfo=UTC)) == (imp, exp)
        assert book.prices_at(datetime(2018, 5, 15, 22, tzinfo=UTC)) is None
    finally:
        store.close()
        server.stop()


def test_backoff_doubles_in_house_time(tmp_path: Path) -> None:
    server = FakeNordPool()
    server.start()
    server.fail_next(1000, 500)
    store = open_store(tmp_path / "db")
    try:
        book = PriceBook(
            source=_client(server), store=store, area="SE4", currency="SEK", tariff=TariffSpec()
        )
        t0 = datetime(2018, 5, 15, 6, tzinfo=UTC)
        for minute in range(0, 64):
            book.refresh(t0 + timedelta(minutes=minute))
        # attempts at 0, 1, 3, 7, 15, 31 and 63 minutes
        assert len(server.requests) == 7
        assert book.fault is not None
        assert book.fault.startswith(
            "Nord Pool: prices for Tue 15 May not fetched since 08:00 (1 h 3 min): "
        )
        assert book.fault.endswith(
            "(after 1 attempt); next try 09:31; no price known for now: no new plan until "
            "prices arrive"
        )
        assert math.isclose(book.status(t0)["hours_ahead"], 0.0)  # type: ignore[arg-type]
    finally:
        store.close()
        server.stop()


def test_no_price_for_the_current_slot_skips_the_plan_in_words(tmp_path: Path) -> None:
    server = FakeNordPool()  # has nothing: every day 204
    server.start()
    try:
        agent = _open(tmp_path, _client(server))
        tick = agent.step()
        assert tick.plan_event.value == "skipped"
        assert agent.plan_problem == "no price for the slot at 2018-05-14T22:00:00+00:00"
        agent.store.close()
    finally:
        server.stop()
