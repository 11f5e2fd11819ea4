"""Darkstar inside Home Assistant: the plan as ``sensor.darkstar_*`` entities.

As EMHASS does, Darkstar writes its own sensors with ``POST /api/states/<entity_id>``
(:meth:`~darkstar.sources.homeassistant.HomeAssistantRest.set_state`); no integration
owns them, so they are gone after a Home Assistant restart until the next write. The
service calls :func:`publish_state` after every plan and every slot with a
:class:`PublishSnapshot`; :func:`entity_payloads` is the pure part (what each entity
shows), tested without Home Assistant.

=======================================  ==========  ============================================
entity                                   unit        state; attributes
=======================================  ==========  ============================================
``sensor.darkstar_current_action``       -           the current slot's ``action``; ``reason``
``sensor.darkstar_soc_target``           %           the current slot's ``soc_target_percent``
``sensor.darkstar_plan_status``          -           ``optimal``/``feasible``/``fallback``;
                                                     ``planned_at``, ``objective_sek``,
                                                     ``solve_time_ms``, ``fallback_reason``
``sensor.darkstar_cost_today``           SEK         energy cost since local midnight
``sensor.darkstar_savings_today``        SEK         against no battery (``unknown`` if not known)
``sensor.darkstar_battery_schedule``     kW          planned battery power now; ``schedule``
``sensor.darkstar_price_forecast``       SEK/kWh     import price now; ``prices``
``sensor.darkstar_pv_forecast``          kW          PV forecast now; ``forecast``
``sensor.darkstar_load_forecast``        kW          load forecast now; ``forecast``
=======================================  ==========  ============================================

``battery_kw`` in ``schedule`` is the one signed power Darkstar publishes, as HA's energy
cards draw batteries: ``battery_charge_kw - battery_discharge_kw`` (> 0 charging, < 0
discharging); ``soc_percent`` is the SoC planned at the end of the slot. The PV and load
forecasts are those the planner used (``adjusted_pv_kwh``, ``adjusted_load_kwh`` per slot),
as average kW. The series start at the current slot and hold at most
:data:`MAX_SERIES_ENTRIES` entries, fewer when the entity's attributes would pass
:data:`MAX_ATTRIBUTES_BYTES`: above that Home Assistant's recorder stores none of them
(``recorder/db_schema.py`` ``MAX_STATE_ATTRS_BYTES``; 192 schedule entries take ~22 kB, so a
15-minute plan publishes its first ~35 h).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from darkstar.errors import InputError
from darkstar.house import STATE_UNKNOWN
from darkstar.planner.output.schedule import SlotAction
from darkstar.planner.solver.types import PlanStatus
from darkstar.sources.homeassistant.house import HomeAssistantHouse

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from darkstar.sources.homeassistant.rest import HomeAssistantRest

__all__ = [
    "MAX_ATTRIBUTES_BYTES",
    "MAX_SERIES_ENTRIES",
    "DarkstarSensor",
    "PublishSnapshot",
    "attributes_size_bytes",
    "entity_payloads",
    "publish_state",
]

logger = logging.getLogger(__name__)

MAX_SERIES_ENTRIES = 192
"""Most entries of a published series (48 h of 15-minute slots)."""

MAX_ATTRIBUTES_BYTES = 16_000
"""Budget of one entity's attributes as compact UTF-8 JSON [bytes].

Home Assistant's recorder drops attributes above 16 384 bytes (``MAX_STATE_ATTRS_BYTES``,
with a warning in its log); the margin covers its encoder (orjson) writing a float or a
string differently from :func:`json.dumps`.
"""

_CURRENCY = "SEK"
_POWER_DIGITS = 3
_PRICE_DIGITS = 4
_PERCENT_DIGITS = 1
_MONEY_DIGITS = 2


class DarkstarSensor(StrEnum):
    """The entities :func:`publish_state` writes; the value is the entity id."""

    CURRENT_ACTION = "sensor.darkstar_current_action"
    SOC_TARGET = "sensor.darkstar_soc_target"
    PLAN_STATUS = "sensor.darkstar_plan_status"
    COST_TODAY = "sensor.darkstar_cost_today"
    SAVINGS_TODAY = "sensor.darkstar_savings_today"
    BATTERY_SCHEDULE = "sensor.darkstar_battery_schedule"
    PRICE_FORECAST = "sensor.darkstar_price_forecast"
    PV_FORECAST = "sensor.darkstar_pv_forecast"
    LOAD_FORECAST = "sensor.darkstar_load_forecast"


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise InputError(name, f"must be a finite number, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class PublishSnapshot:
    """What Darkstar shows in Home Assistant at one moment, built by the service.

    Attributes
    ----------
    document : Mapping[str, Any]
        The current ``schedule.json`` document (``meta`` and ``schedule``).
    now : datetime
        The house's time, tz-aware; picks the current slot.
    cost_today_sek : float
        Energy cost since local midnight [SEK].
    savings_today_sek : float or None
        Saved today against the house without a battery [SEK]; None when not known.
    """

    document: Mapping[str, Any]
    now: datetime
    cost_today_sek: float
    savings_today_sek: float | None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise InputError("now", f"must be tz-aware, got {self.now!r}")
        _finite("cost_today_sek", self.cost_today_sek)
        if self.savings_today_sek is not None:
            _finite("savings_today_sek", self.savings_today_sek)
        if not isinstance(self.document.get("meta"), dict):
            raise InputError("document.meta", "missing: not a schedule.json document")
        if not isinstance(self.document.get("schedule"), list):
            raise InputError("document.schedule", "missing: not a schedule.json document")


@dataclass(frozen=True)
class _Slot:
    start: datetime
    end: datetime
    row: Mapping[str, Any]

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


def _slots(rows: Sequence[Mapping[str, Any]]) -> list[_Slot]:
    """Parse the rows' ``start`` and ``end``; name the row of a bad one."""
    out = []
    for i, row in enumerate(rows):
        try:
            start = datetime.fromisoformat(str(row["start"]))
            end = datetime.fromisoformat(str(row["end"]))
        except (KeyError, ValueError) as exc:
            raise InputError(f"document.schedule[{i}]", f"no valid start/end: {exc}") from None
        if start.tzinfo is None or end <= start:
            raise InputError(f"document.schedule[{i}]", "start/end must be tz-aware, end > start")
        out.append(_Slot(start, end, row))
    return out


def _number(value: float, digits: int) -> float:
    """Round for display; ``-0.0`` becomes ``0.0``."""
    return round(float(value), digits) + 0.0


def _state(value: float | None, digits: int) -> str:
    return STATE_UNKNOWN if value is None else repr(_number(value, digits))


def attributes_size_bytes(attributes: Mapping[str, Any]) -> int:
    """Return the size of ``attributes`` as Home Assistant's recorder measures it [bytes].

    Compact UTF-8 JSON, as ``json_bytes`` (orjson) writes it.

    Examples
    --------
    >>> attributes_size_bytes({"unit_of_measurement": "°C"})  # ° takes two bytes
    29
    """
    text = json.dumps(attributes, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode("utf-8"))


def _fit(attributes: dict[str, Any], key: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Return ``attributes`` with ``key`` = the longest head of ``entries`` within the budget."""
    size = attributes_size_bytes({**attributes, key: []})
    kept = 0
    for entry in entries[:MAX_SERIES_ENTRIES]:
        size += attributes_size_bytes(entry) + (1 if kept else 0)  # the separating comma
        if size > MAX_ATTRIBUTES_BYTES:
            break
        kept += 1
    if kept < len(entries):
        logger.debug("%s: %d of %d entries published", key, kept, len(entries))
    return {**attributes, key: entries[:kept]}


def _sensor(
    name: str, icon: str, *, unit: str | None = None, device_class: str | None = None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {"friendly_name": name, "icon": icon}
    if unit is not None:
        attributes["unit_of_measurement"] = unit
    if device_class is not None:
        attributes["device_class"] = device_class
    return attributes


def _measurement(name: str, icon: str, *, unit: str, power: bool = False) -> dict[str, Any]:
    attributes = _sensor(name, icon, unit=unit, device_class="power" if power else None)
    return {**attributes, "state_class": "measurement"}


def _money_today(name: str, icon: str, *, last_reset: datetime | None) -> dict[str, Any]:
    """Return a daily SEK total's attributes (a ``total`` reset at local midnight)."""
    attributes = _sensor(name, icon, unit=_CURRENCY, device_class="monetary")
    if last_reset is not None:
        attributes |= {"state_class": "total", "last_reset": last_reset.isoformat()}
    return attributes


def _local_midnight(now: datetime, timezone: object) -> datetime | None:
    try:
        zone = ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = now.astimezone(zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone)


def _kw(slot: _Slot, energy_key: str) -> float:
    """Return the average power of a per-slot energy column [kW]."""
    return float(slot.row[energy_key]) / slot.hours


def _battery_kw(slot: _Slot) -> float:
    return float(slot.row["battery_charge_kw"]) - float(slot.row["battery_discharge_kw"])


def _import_price(slot: _Slot) -> float:
    return float(slot.row["import_price_sek_per_kwh"])


def _pv_kw(slot: _Slot) -> float:
    return _kw(slot, "adjusted_pv_kwh")


def _load_kw(slot: _Slot) -> float:
    return _kw(slot, "adjusted_load_kwh")


def _battery_entry(slot: _Slot) -> dict[str, Any]:
    return {
        "start": slot.row["start"],
        "battery_kw": _number(_battery_kw(slot), _POWER_DIGITS),
        "soc_percent": _number(slot.row["projected_soc_percent"], _PERCENT_DIGITS),
        "import_price": _number(_import_price(slot), _PRICE_DIGITS),
        "action": slot.row["action"],
    }


def _price_entry(slot: _Slot) -> dict[str, Any]:
    return {
        "start": slot.row["start"],
        "import": _number(_import_price(slot), _PRICE_DIGITS),
        "export": _number(slot.row["export_price_sek_per_kwh"], _PRICE_DIGITS),
    }


def _pv_entry(slot: _Slot) -> dict[str, Any]:
    return {"start": slot.row["start"], "pv_kw": _number(_pv_kw(slot), _POWER_DIGITS)}


def _load_entry(slot: _Slot) -> dict[str, Any]:
    return {"start": slot.row["start"], "load_kw": _number(_load_kw(slot), _POWER_DIGITS)}


@dataclass(frozen=True, kw_only=True)
class _Series:
    """A series entity: its value now, and one attribute entry per slot ahead."""

    name: str
    icon: str
    unit: str
    power: bool
    key: str
    entry: Callable[[_Slot], dict[str, Any]]
    value_now: Callable[[_Slot], float]
    digits: int

    def payload(self, slots: Sequence[_Slot], current: _Slot | None) -> tuple[str, dict[str, Any]]:
        attributes = _measurement(self.name, self.icon, unit=self.unit, power=self.power)
        value = None if current is None else self.value_now(current)
        return _state(value, self.digits), _fit(
            attributes, self.key, [self.entry(s) for s in slots]
        )


_SERIES = {
    DarkstarSensor.BATTERY_SCHEDULE: _Series(
        name="Darkstar battery schedule",
        icon="mdi:home-battery",
        unit="kW",
        power=True,
        key="schedule",
        entry=_battery_entry,
        value_now=_battery_kw,
        digits=_POWER_DIGITS,
    ),
    DarkstarSensor.PRICE_FORECAST: _Series(
        name="Darkstar price forecast",
        icon="mdi:cash-clock",
        unit=f"{_CURRENCY}/kWh",
        power=False,
        key="prices",
        entry=_price_entry,
        value_now=_import_price,
        digits=_PRICE_DIGITS,
    ),
    DarkstarSensor.PV_FORECAST: _Series(
        name="Darkstar PV forecast",
        icon="mdi:solar-power",
        unit="kW",
        power=True,
        key="forecast",
        entry=_pv_entry,
        value_now=_pv_kw,
        digits=_POWER_DIGITS,
    ),
    DarkstarSensor.LOAD_FORECAST: _Series(
        name="Darkstar load forecast",
        icon="mdi:home-lightning-bolt",
        unit="kW",
        power=True,
        key="forecast",
        entry=_load_entry,
        value_now=_load_kw,
        digits=_POWER_DIGITS,
    ),
}


def entity_payloads(snapshot: PublishSnapshot) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return what each ``sensor.darkstar_*`` entity shows: ``entity_id -> (state, attributes)``.

    Pure: no Home Assistant needed. The current slot is the one with
    ``start <= now < end``; without one (a plan from the future, or one that has run
    out) the per-slot states are ``unknown`` and the series hold the slots still ahead.

    Parameters
    ----------
    snapshot : PublishSnapshot
        The plan, the time and today's money.

    Returns
    -------
    dict[str, tuple[str, dict[str, Any]]]
        One item per :class:`DarkstarSensor`, in its order: states are strings (numbers
        rounded), attributes JSON-serialisable and each at most :data:`MAX_ATTRIBUTES_BYTES`.

    Raises
    ------
    InputError
        Naming the schedule row whose ``start``/``end`` cannot be read.
    """
    meta = snapshot.document["meta"]
    slots = _slots(snapshot.document["schedule"])
    now = snapshot.now
    current = next((s for s in slots if s.start <= now < s.end), None)
    ahead = [s for s in slots if s.end > now]
    row = current.row if current is not None else {}
    midnight = _local_midnight(now, meta.get("timezone"))
    payloads: dict[DarkstarSensor, tuple[str, dict[str, Any]]] = {
        DarkstarSensor.CURRENT_ACTION: (
            str(row.get("action", STATE_UNKNOWN)),
            {
                **_sensor("Darkstar current action", "mdi:battery-sync", device_class="enum"),
                "options": [str(action) for action in SlotAction],
                "reason": row.get("reason"),
                "slot_start": row.get("start"),
                "slot_end": row.get("end"),
            },
        ),
        DarkstarSensor.SOC_TARGET: (
            _state(row.get("soc_target_percent"), _PERCENT_DIGITS),
            _measurement("Darkstar SoC target", "mdi:battery-arrow-up", unit="%"),
        ),
        DarkstarSensor.PLAN_STATUS: (
            str(meta.get("status", STATE_UNKNOWN)),
            {
                **_sensor("Darkstar plan status", "mdi:clipboard-check", device_class="enum"),
                "options": [str(status) for status in PlanStatus],
                "planned_at": meta.get("planned_at"),
                "objective_sek": meta.get("objective_sek"),
                "solve_time_ms": meta.get("solve_time_ms"),
                "fallback_reason": meta.get("fallback_reason"),
            },
        ),
        DarkstarSensor.COST_TODAY: (
            _state(snapshot.cost_today_sek, _MONEY_DIGITS),
            _money_today("Darkstar cost today", "mdi:cash", last_reset=midnight),
        ),
        DarkstarSensor.SAVINGS_TODAY: (
            _state(snapshot.savings_today_sek, _MONEY_DIGITS),
            _money_today("Darkstar savings today", "mdi:piggy-bank", last_reset=midnight),
        ),
        **{sensor: series.payload(ahead, current) for sensor, series in _SERIES.items()},
    }
    return {str(entity): payload for entity, payload in payloads.items()}


def publish_state(target: HomeAssistantHouse | HomeAssistantRest, snapshot: PublishSnapshot) -> int:
    """Write every ``sensor.darkstar_*`` entity of ``snapshot`` to Home Assistant.

    Parameters
    ----------
    target : HomeAssistantHouse or HomeAssistantRest
        Where to write (``POST /api/states/<entity_id>``, one request per entity).
    snapshot : PublishSnapshot
        What to show.

    Returns
    -------
    int
        The number of entities written (all of them).

    Raises
    ------
    HouseError
        At the first write that fails (as
        :meth:`~darkstar.sources.homeassistant.HomeAssistantRest.set_state`); the entities
        before it are written.
    InputError
        As :func:`entity_payloads`; nothing is written.
    """
    rest = target.rest if isinstance(target, HomeAssistantHouse) else target
    payloads = entity_payloads(snapshot)
    for entity_id, (state, attributes) in payloads.items():
        rest.set_state(entity_id, state, attributes)
    logger.debug("published %d Darkstar entities to Home Assistant", len(payloads))
    return len(payloads)


def publish_plan(
    house: HomeAssistantHouse, document: Mapping[str, Any], now: datetime, cost_today_sek: float
) -> None:
    """Publish the plan in force as ``sensor.darkstar_*`` entities (a runtime after-step hook).

    The savings are not known in the loop yet (no no-battery reference runs beside it).
    """
    snapshot = PublishSnapshot(
        document=document, now=now, cost_today_sek=cost_today_sek, savings_today_sek=None
    )
    publish_state(house.rest, snapshot)
