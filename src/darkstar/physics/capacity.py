"""The capacity (power) tariff's billed quantity, from measured or planned imports (pure).

A grid operator with a capacity tariff bills ``fee x mean of the month's N highest
hourly peaks``. An hourly peak is the mean import of one clock hour [kW] (the hour's
energy in kWh over one hour: slots of the hour not given count as zero import), weighted
by ``night_factor`` outside the tariff's ``hours``; with ``distinct_days`` only each local
day's highest counts. Months outside ``months`` are not billed.

The planner (:func:`darkstar.planner.solver.adapter.capacity_tariff_spec`), the closed-loop
backtest and the agent's month peaks all key hours with :func:`hour_key`, so what the plan
optimises is what the bill counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from zoneinfo import ZoneInfo

    from darkstar.config.models import CapacityTariffConfig

__all__ = [
    "HourKey",
    "billed_peak_kw",
    "capacity_charge_sek",
    "counted_peaks_kw",
    "hour_key",
    "month_peaks_kw",
    "month_start_utc",
]

HourKey = tuple[int, int, int, int]
"""(local year, local month, local day, local hour x 100 + UTC hour) of one clock hour."""


def hour_key(start: datetime, tz: ZoneInfo) -> HourKey:
    """Return the clock hour a slot starting at ``start`` belongs to.

    The repeated local hour of an autumn DST change is two hours: the UTC hour tells them
    apart (the local hour, which the tariff's ``hours`` use, is ``key[3] // 100``).

    >>> from datetime import UTC, datetime
    >>> from zoneinfo import ZoneInfo
    >>> tz = ZoneInfo("Europe/Stockholm")
    >>> hour_key(datetime(2018, 10, 28, 0, 15, tzinfo=UTC), tz)
    (2018, 10, 28, 200)
    >>> hour_key(datetime(2018, 10, 28, 1, 15, tzinfo=UTC), tz)
    (2018, 10, 28, 201)
    """
    local = start.astimezone(tz)
    return (local.year, local.month, local.day, local.hour * 100 + start.hour)


def counted_peaks_kw(
    slots: Iterable[tuple[datetime, float]],
    tariff: CapacityTariffConfig,
    *,
    tz: ZoneInfo,
    slot_h: float,
) -> dict[tuple[int, int], list[float]]:
    """Return each billed month's counted peak values [kW] from ``(start, import_kw)`` slots.

    One value per clock hour, or per local day with ``distinct_days``; hours of months not
    in ``tariff.months`` and hours weighted 0 are left out.

    >>> from datetime import UTC, datetime, timedelta
    >>> from zoneinfo import ZoneInfo
    >>> from darkstar.config.models import CapacityTariffConfig
    >>> t0 = datetime(2018, 1, 8, 17, tzinfo=UTC)
    >>> slots = [(t0 + i * timedelta(minutes=15), kw) for i, kw in enumerate([4, 4, 2, 2, 1])]
    >>> tariff = CapacityTariffConfig(sek_per_kw_month=80, distinct_days=False)
    >>> counted_peaks_kw(slots, tariff, tz=ZoneInfo("Europe/Stockholm"), slot_h=0.25)
    {(2018, 1): [3.0, 0.25]}
    """
    energy_kwh: dict[HourKey, float] = defaultdict(float)
    for start, import_kw in slots:
        energy_kwh[hour_key(start, tz)] += import_kw * slot_h
    values: dict[tuple[int, int], dict[tuple[int, ...], float]] = defaultdict(dict)
    for key, kwh in energy_kwh.items():
        year, month, day, hour = key
        weight = tariff.weight_at_hour(hour // 100)
        if month not in tariff.months or weight <= 0:
            continue
        value_key = (day,) if tariff.distinct_days else (day, hour)
        month_values = values[year, month]
        month_values[value_key] = max(month_values.get(value_key, 0.0), weight * kwh)
    return {month: list(v.values()) for month, v in values.items()}


def month_start_utc(now: datetime, tz: ZoneInfo) -> datetime:
    """Return the start of ``now``'s local month, in UTC.

    >>> from datetime import UTC, datetime
    >>> from zoneinfo import ZoneInfo
    >>> month_start_utc(datetime(2018, 1, 15, 12, tzinfo=UTC), ZoneInfo("Europe/Stockholm"))
    datetime.datetime(2017, 12, 31, 23, 0, tzinfo=datetime.timezone.utc)
    """
    local = now.astimezone(tz)
    return datetime(local.year, local.month, 1, tzinfo=tz).astimezone(UTC)


def month_peaks_kw(
    slots: Iterable[tuple[datetime, float]],
    tariff: CapacityTariffConfig,
    *,
    now: datetime,
    tz: ZoneInfo,
    slot_h: float,
) -> tuple[float, ...]:
    """Return the counted peak values of ``now``'s month from measured ``(start, import_kw)``.

    ``slots`` are those of the month before ``now`` (today's peak so far is one of the
    values); empty without a capacity tariff or outside its months.
    """
    if tariff.sek_per_kw_month <= 0:
        return ()
    local = now.astimezone(tz)
    values = counted_peaks_kw(slots, tariff, tz=tz, slot_h=slot_h)
    return tuple(values.get((local.year, local.month), ()))


def billed_peak_kw(values: Iterable[float], peaks_counted: int) -> float:
    """Return the billed peak: the mean of the ``peaks_counted`` largest values [kW].

    Fewer values than ``peaks_counted`` count the missing ones as zero (the month's bill
    divides by N either way).

    >>> billed_peak_kw([5.0, 1.0, 3.0, 4.0], 3), billed_peak_kw([6.0], 3)
    (4.0, 2.0)
    """
    ordered = sorted(values, reverse=True)
    return float(sum(ordered[:peaks_counted])) / peaks_counted


def capacity_charge_sek(values: Iterable[float], tariff: CapacityTariffConfig) -> float:
    """Return one month's capacity charge [SEK]: fee x billed peak."""
    return tariff.sek_per_kw_month * billed_peak_kw(values, tariff.peaks_counted)
