"""The fake Home Assistant with states a test sets: reads, writes and history of its own.

:class:`StatefulFakeHomeAssistant` keeps the recorded-reply server of ``fake_ha`` (token
check, request log, 401 and 404 replies) but answers ``/api/states`` and
``/api/history/period`` from :attr:`states` and :attr:`history_states`, and takes
``POST /api/states/<entity_id>`` as Home Assistant does (201 created, 200 updated, 400
without a state). :func:`good_house` fills it with a house whose every entity passes
``check-ha``; :data:`ENTITIES` is the matching config.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fake_ha import FakeHomeAssistant, _reply
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

AT = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)

#: Config key -> entity id of the good house (every role, optional ones too).
ENTITIES = {
    "input_sensors.battery_soc": "sensor.battery_soc",
    "input_sensors.pv_energy": "sensor.pv_energy",
    "input_sensors.load_energy": "sensor.load_energy",
    "input_sensors.grid_import_energy": "sensor.grid_import_energy",
    "input_sensors.grid_export_energy": "sensor.grid_export_energy",
    "input_sensors.battery_charge_energy": "sensor.battery_charge_energy",
    "input_sensors.battery_discharge_energy": "sensor.battery_discharge_energy",
    "input_sensors.water_heater_energy": "sensor.water_heater_energy",
    "input_sensors.water_temperature": "sensor.water_temperature",
    "executor.inverter_mode": "select.inverter_mode",
    "executor.charge_power": "number.battery_charge_power",
    "executor.discharge_power": "input_number.battery_discharge_power",
    "executor.soc_target": "number.battery_soc_target",
    "executor.grid_charging": "switch.battery_grid_charging",
    "executor.water_heater": "water_heater.tank",
}

MODES = ["self_consumption", "force_charge", "force_discharge", "hold"]


def ha_state(
    entity_id: str, state: str, attributes: dict[str, Any], at: datetime = AT
) -> dict[str, Any]:
    """Return a state as ``State.as_dict`` serialises it."""
    stamp = at.isoformat()
    return {
        "entity_id": entity_id,
        "state": state,
        "attributes": attributes,
        "last_changed": stamp,
        "last_reported": stamp,
        "last_updated": stamp,
        "context": {"id": "01JRG5Z7Q3X000000000000009", "parent_id": None, "user_id": None},
    }


def counter(unit: str = "kWh") -> dict[str, Any]:
    """Attributes of a cumulative energy meter."""
    return {
        "unit_of_measurement": unit,
        "device_class": "energy",
        "state_class": "total_increasing",
        "friendly_name": "meter",
    }


def config_dict(url: str, **overrides: str | None) -> dict[str, Any]:
    """A config mapping :data:`ENTITIES` (``overrides``: ``"executor.soc_target": None``)."""
    sections: dict[str, Any] = {
        "home_assistant": {"url": url},
        "input_sensors": {},
        "executor": {},
    }
    for key, entity_id in {**ENTITIES, **overrides}.items():
        section, role = key.split(".")
        sections[section][role] = entity_id
    return sections


class StatefulFakeHomeAssistant(FakeHomeAssistant):
    """A fake Home Assistant whose states and history the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, dict[str, Any]] = {}
        self.history_states: dict[str, list[dict[str, Any]]] = {}
        self.refuse_writes = False
        self.app = Starlette(
            routes=[
                Route("/api/", self._api),
                Route("/api/states", self._states),
                Route("/api/states/{entity_id}", self._state, methods=["GET", "POST"]),
                Route("/api/history/period/{start:path}", self._history),
            ]
        )

    def set(self, entity_id: str, state: str, **attributes: Any) -> None:
        self.states[entity_id] = ha_state(entity_id, state, attributes)

    def set_history(self, entity_id: str, values: list[tuple[datetime, str]], unit: str) -> None:
        self.history_states[entity_id] = [
            ha_state(entity_id, value, counter(unit), at) for at, value in values
        ]

    async def _states(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        return JSONResponse(list(self.states.values()))

    async def _state(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        entity_id = request.path_params["entity_id"]
        if request.method == "POST":
            body = self.requests[-1].body
            if self.refuse_writes:
                return JSONResponse({"message": "Invalid state specified."}, status_code=400)
            if not isinstance(body, dict) or body.get("state") is None:
                return JSONResponse({"message": "No state specified."}, status_code=400)
            created = entity_id not in self.states
            self.states[entity_id] = ha_state(
                entity_id, body["state"], body.get("attributes") or {}, datetime.now(UTC)
            )
            return JSONResponse(self.states[entity_id], status_code=201 if created else 200)
        if entity_id not in self.states:
            return _reply("entity_not_found.json")
        return JSONResponse(self.states[entity_id])

    async def _history(self, request: Request) -> Response:
        if not await self._record(request):
            return _reply("unauthorized.json")
        wanted = request.query_params.get("filter_entity_id", "").split(",")
        groups = [self.history_states[e] for e in wanted if self.history_states.get(e)]
        return JSONResponse(groups)


def good_house(server: StatefulFakeHomeAssistant) -> None:
    """Give ``server`` a state for every entity of :data:`ENTITIES`, each fit for its role."""
    server.set(
        "sensor.battery_soc",
        "52.5",
        unit_of_measurement="%",
        device_class="battery",
        state_class="measurement",
    )
    for key, entity_id in ENTITIES.items():
        if key.endswith("_energy"):
            unit = {"battery_charge_energy": "Wh", "battery_discharge_energy": "MWh"}.get(
                key.split(".")[1], "kWh"
            )
            server.set(entity_id, "1523.25", **counter(unit))
    server.set("sensor.water_temperature", "55.5", unit_of_measurement="°C")
    server.set("select.inverter_mode", "self_consumption", options=[*MODES, "off_grid"])
    server.set(
        "number.battery_charge_power",
        "5000",
        unit_of_measurement="W",
        min=0,
        max=10000,
        step=1,
    )
    server.set(
        "input_number.battery_discharge_power",
        "5.0",
        unit_of_measurement="kW",
        min=0.0,
        max=10.0,
        step=0.1,
    )
    server.set("number.battery_soc_target", "40", unit_of_measurement="%", min=0, max=100)
    server.set("switch.battery_grid_charging", "off")
    server.set("water_heater.tank", "eco", temperature=55, min_temp=20, max_temp=85)
