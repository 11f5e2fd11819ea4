"""Nord Pool day-ahead prices: the real client against replies served on a real socket.

The replies in ``tests/data/nordpool/`` carry real 2018 prices in the data portal's
reply shape (``make_nordpool_replies.py`` says how they were made); the client under test sends
real HTTP to :class:`fake_nordpool.FakeNordPool` on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fake_nordpool import FakeNordPool, reply_file
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from darkstar.cli import app
from darkstar.errors import InputError
from darkstar.market import PriceDay, SpotSlot, delivery_window
from darkstar.sources.nordpool import NordPoolClient, NordPoolError, parse_day

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REPLIES = {
    "hourly": ("se4-2018-05-16-hourly-sek.json", "SE4", date(2018, 5, 16)),
    "quarter": ("se3-2025-10-01-quarter-sek.json", "SE3", date(2025, 10, 1)),
    "autumn": ("se3-2025-10-26-dst-autumn-sek.json", "SE3", date(2025, 10, 26)),
    "spring": ("se3-2026-03-29-dst-spring-sek.json", "SE3", date(2026, 3, 29)),
    "negative": ("dk1-2018-03-17-negative-sek.json", "DK1", date(2018, 3, 17)),
    "eur": ("de-lu-2018-12-03-hourly-eur.json", "DE-LU", date(2018, 12, 3)),
    "preliminary": ("se3-2025-10-02-preliminary-sek.json", "SE3", date(2025, 10, 2)),
}


@pytest.fixture
def nordpool() -> Iterator[FakeNordPool]:
    server = FakeNordPool()
    for name, _, _ in REPLIES.values():
        server.add(reply_file(name))
    server.start()
    yield server
    server.stop()


def _client(server: FakeNordPool, **kwargs: Any) -> NordPoolClient:
    return NordPoolClient(server.url, sleep=lambda _: None, **kwargs)


def _fetch(server: FakeNordPool, kind: str, currency: str = "SEK") -> PriceDay:
    name, area, day = REPLIES[kind]
    with _client(server) as client:
        result = client.fetch_day(area, day, currency=currency)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("kind", "slots", "minutes"),
    [("hourly", 24, 60), ("quarter", 96, 15), ("autumn", 100, 15), ("spring", 92, 15)],
)
def test_a_day_parses_to_the_delivery_day(
    nordpool: FakeNordPool, kind: str, slots: int, minutes: int
) -> None:
    day = _fetch(nordpool, kind)
    name, area, wanted = REPLIES[kind]
    start, end = delivery_window(wanted)
    assert (len(day.slots), day.resolution) == (slots, timedelta(minutes=minutes))
    assert (day.start, day.end) == (start, end)
    assert day.start.utcoffset() == timedelta(0)
    # per MWh -> per kWh, slot by slot, exactly as the reply has it
    raw = [e["entryPerArea"][area] for e in reply_file(name)["multiAreaEntries"]]
    assert [s.spot_per_kwh for s in day.slots] == [round(v / 1000, 9) for v in raw]
    assert nordpool.requests[-1] == {
        "date": wanted.isoformat(),
        "market": "DayAhead",
        "deliveryArea": area,
        "currency": "SEK",
    }


def test_the_spring_day_has_no_2_am_and_the_autumn_day_two() -> None:
    spring = parse_day(
        reply_file(REPLIES["spring"][0]), area="SE3", day=date(2026, 3, 29), currency="SEK"
    )
    autumn = parse_day(
        reply_file(REPLIES["autumn"][0]), area="SE3", day=date(2025, 10, 26), currency="SEK"
    )
    assert spring is not None
    assert autumn is not None
    spring_local = [r["start"][11:16] for r in spring.rows()]
    autumn_local = [r["start"][11:22] for r in autumn.rows()]
    assert "02:00" not in spring_local
    assert spring_local[8:9] == ["03:00"]  # 01:45 is followed by 03:00
    assert autumn_local.count("02:00:00+02") == 1
    assert autumn_local.count("02:00:00+01") == 1


def test_negative_prices_stay_negative(nordpool: FakeNordPool) -> None:
    day = _fetch(nordpool, "negative")
    lowest = min(s.spot_per_kwh for s in day.slots)
    assert lowest == pytest.approx(-0.12168)
    assert sum(s.spot_per_kwh < 0 for s in day.slots) >= 1


def test_a_eur_reply_keeps_its_currency(nordpool: FakeNordPool) -> None:
    day = _fetch(nordpool, "eur", currency="EUR")
    assert day.currency == "EUR"
    assert day.rows()[0]["start"] == "2018-12-03T00:00:00+01:00"
    assert day.slots[0].spot_per_kwh == pytest.approx(
        reply_file(REPLIES["eur"][0])["multiAreaEntries"][0]["entryPerArea"]["DE-LU"] / 1000
    )


def test_preliminary_prices_are_marked(nordpool: FakeNordPool) -> None:
    assert _fetch(nordpool, "preliminary").final is False
    assert _fetch(nordpool, "quarter").final is True


def test_a_day_not_published_is_none(nordpool: FakeNordPool) -> None:
    with _client(nordpool) as client:
        assert client.fetch_day("SE3", date(2025, 10, 3)) is None
    assert len(nordpool.requests) == 1  # 204 is an answer, not a failure: no retry


def test_failures_are_retried_with_backoff_then_succeed(nordpool: FakeNordPool) -> None:
    waits: list[float] = []
    nordpool.fail_next(2, 503)
    with NordPoolClient(nordpool.url, sleep=waits.append, backoff_s=0.5) as client:
        day = client.fetch_day("SE3", date(2025, 10, 1))
    assert day is not None
    assert len(nordpool.requests) == 3
    assert waits == [0.5, 1.0]


def test_a_lasting_failure_is_one_line_naming_the_url(nordpool: FakeNordPool) -> None:
    nordpool.fail_next(10, 502)
    with _client(nordpool, retries=2) as client, pytest.raises(NordPoolError) as info:
        client.fetch_day("SE3", date(2025, 10, 1))
    assert str(info.value).startswith("prices.nordpool_url: ")
    assert "answered 502" in str(info.value)
    assert "after 3 attempts" in str(info.value)
    assert len(nordpool.requests) == 3


def test_a_client_error_is_not_retried(nordpool: FakeNordPool) -> None:
    nordpool.fail_next(1, 400)
    with _client(nordpool) as client, pytest.raises(NordPoolError, match="answered 400"):
        client.fetch_day("SE3", date(2025, 10, 1))
    assert len(nordpool.requests) == 1


def test_garbage_is_refused(nordpool: FakeNordPool) -> None:
    nordpool.garbage = True
    with _client(nordpool) as client, pytest.raises(NordPoolError, match="not JSON"):
        client.fetch_day("SE3", date(2025, 10, 1))


def test_an_unreachable_server_is_one_clear_error() -> None:
    with (
        NordPoolClient("http://127.0.0.1:1/api", retries=1, sleep=lambda _: None) as client,
        pytest.raises(NordPoolError, match=r"cannot reach http://127\.0\.0\.1:1/api"),
    ):
        client.fetch_day("SE3", date(2025, 10, 1))


def _entries(reply: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = reply["multiAreaEntries"]
    return entries


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda r: _entries(r)[5]["entryPerArea"].pop("SE3"), r"\[5\]\.entryPerArea\.SE3"),
        (lambda r: _entries(r)[5]["entryPerArea"].update(SE3="12,3"), "not a price"),
        (lambda r: _entries(r).pop(40), r"multiAreaEntries\[40\]: starts"),
        (lambda r: _entries(r).pop(), "delivery day 2025-10-01 ends"),
        (lambda r: _entries(r)[0].update(deliveryStart="2025-10-01T00:00:00"), "UTC offset"),
        (lambda r: r.update(deliveryDateCET="2025-10-02"), "asked for 2025-10-01"),
    ],
)
def test_a_broken_day_names_the_field(break_it: Any, message: str) -> None:
    reply = reply_file(REPLIES["quarter"][0])
    break_it(reply)
    with pytest.raises(NordPoolError, match=message):
        parse_day(reply, area="SE3", day=date(2025, 10, 1), currency="SEK")


def test_a_base_url_ending_with_the_endpoint_is_used_as_is(nordpool: FakeNordPool) -> None:
    with NordPoolClient(nordpool.url + "/DayAheadPrices/") as client:
        assert client.fetch_day("SE3", date(2025, 10, 1)) is not None
    assert nordpool.paths == ["/api/DayAheadPrices"]


@given(
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    minutes=st.sampled_from([15, 60]),
    prices=st.lists(st.floats(-500, 5000, allow_nan=False), min_size=100, max_size=100),
)
def test_any_whole_day_round_trips_through_rows(
    day: date, minutes: int, prices: list[float]
) -> None:
    start, end = delivery_window(day)
    step = timedelta(minutes=minutes)
    n = (end - start) // step
    assert n in {23 * 60 // minutes, 24 * 60 // minutes, 25 * 60 // minutes}
    slots = tuple(SpotSlot(start + i * step, start + (i + 1) * step, prices[i]) for i in range(n))
    priced = PriceDay("SE3", "SEK", day, slots)
    rows = priced.rows()
    assert len(rows) == n
    for row, slot in zip(rows, slots, strict=True):
        assert datetime.fromisoformat(str(row["start"])) == slot.start
        assert datetime.fromisoformat(str(row["end"])) == slot.end
        assert row["spot_per_kwh"] == slot.spot_per_kwh
    assert priced.price_at(start) == prices[0]
    assert priced.price_at(end) is None
    with pytest.raises(InputError):
        PriceDay("SE3", "SEK", day, slots[1:])


def test_a_non_finite_price_is_refused() -> None:
    start, _ = delivery_window(date(2025, 1, 1))
    slots = tuple(
        SpotSlot(start + timedelta(hours=h), start + timedelta(hours=h + 1), math.nan)
        for h in range(24)
    )
    with pytest.raises(InputError, match=r"slots\[0\]: price is nan"):
        PriceDay("SE3", "SEK", date(2025, 1, 1), slots)


# --- darkstar prices ------------------------------------------------------------------


def _config(tmp_path: Path, server: FakeNordPool, currency: str = "SEK") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"prices:\n  nordpool_url: {server.url}\n  currency: {currency}\n")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["prices", *args])


def test_cli_json_is_the_documented_shape(nordpool: FakeNordPool, tmp_path: Path) -> None:
    config = _config(tmp_path, nordpool)
    result = _cli("--area", "SE3", "--date", "2025-10-01", "--config", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 96
    assert rows[0] == {
        "start": "2025-10-01T00:00:00+02:00",
        "end": "2025-10-01T00:15:00+02:00",
        "spot_per_kwh": reply_file(REPLIES["quarter"][0])["multiAreaEntries"][0]["entryPerArea"][
            "SE3"
        ]
        / 1000,
        "currency": "SEK",
    }
    assert rows[-1]["end"] == "2025-10-02T00:00:00+02:00"


def test_cli_autumn_day_has_100_rows_with_both_offsets(
    nordpool: FakeNordPool, tmp_path: Path
) -> None:
    config = _config(tmp_path, nordpool)
    result = _cli("--area", "SE3", "--date", "2025-10-26", "-c", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 100
    assert {r["start"][-6:] for r in rows} == {"+02:00", "+01:00"}


def test_cli_table_shows_local_and_utc_times(nordpool: FakeNordPool, tmp_path: Path) -> None:
    config = _config(tmp_path, nordpool)
    result = _cli("--area", "se4", "--date", "2018-05-16", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Nord Pool day-ahead SE4 2018-05-16 (Europe/Stockholm): 24 slots")
    assert lines[2].split()[:3] == ["2018-05-16T00:00:00+02:00", "2018-05-15", "22:00"]


def test_cli_not_published_exits_1_with_one_line(nordpool: FakeNordPool, tmp_path: Path) -> None:
    config = _config(tmp_path, nordpool)
    result = _cli("--area", "SE3", "--date", "2030-01-01", "--config", str(config), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: prices for SE3 on 2030-01-01 are not published yet\n"


def test_cli_eur_area(nordpool: FakeNordPool, tmp_path: Path) -> None:
    config = _config(tmp_path, nordpool, currency="EUR")
    result = _cli("--area", "DE-LU", "--date", "2018-12-03", "-c", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["currency"] for r in rows} == {"EUR"}
    assert nordpool.requests[-1]["currency"] == "EUR"


def test_cli_bad_date_exits_2(nordpool: FakeNordPool, tmp_path: Path) -> None:
    result = _cli("--area", "SE3", "--date", "1 Oct", "-c", str(_config(tmp_path, nordpool)))
    assert result.exit_code == 2
    assert result.stderr == "error: --date: '1 Oct' is not a date (YYYY-MM-DD)\n"


def test_cli_unreachable_exits_1_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("prices:\n  nordpool_url: http://127.0.0.1:1/api\n  timeout_s: 1\n")
    result = _cli("--area", "SE3", "--date", "2025-10-01", "--config", str(path))
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert "prices.nordpool_url: cannot reach" in result.stderr


def test_today_defaults_to_the_area_day(nordpool: FakeNordPool, tmp_path: Path) -> None:
    _cli("--area", "FI", "-c", str(_config(tmp_path, nordpool)))
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Helsinki"))
    assert nordpool.requests[0]["date"] in {
        today.date().isoformat(),
        (today - timedelta(minutes=1)).date().isoformat(),
    }
