"""Regenerate the Home Assistant reply fixtures in this folder from HA's own code.

Run with a Python that has ``homeassistant`` installed (they were made with
``homeassistant==2025.4.4``)::

    /path/to/ha-venv/bin/python tests/data/homeassistant/make_fixtures.py

Each fixture is ``{"source": <where the shape comes from>, ...}`` around the exact
bytes HA would send: states are serialised by ``State.as_dict_json`` /
``State.as_compressed_state`` and ``json_bytes``, subscription diffs by
``websocket_api.messages._state_diff_event``, so a change in HA's formats shows up as a
diff here. Shapes that need a running recorder (history, statistics) are built with the
same keys and conversions as the HA functions named in their ``source``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
T0 = datetime(2025, 4, 10, 12, 0, 0, 123456, tzinfo=UTC)
HA_VERSION = "2025.4.4"


def _write(name: str, payload: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", "utf-8")


def main() -> None:
    """Write every fixture."""
    from homeassistant.components.websocket_api import messages
    from homeassistant.core import Context, Event, State
    from homeassistant.helpers.json import json_bytes

    context_ids = itertools.count(1)

    def loads(raw: bytes | str) -> Any:
        return json.loads(raw)

    def state(
        entity_id: str, value: str, attributes: dict[str, Any], changed: datetime, **kw: Any
    ) -> State:
        updated = kw.pop("updated", changed)
        return State(
            entity_id,
            value,
            attributes,
            last_changed=changed,
            last_updated=updated,
            last_reported=updated,
            context=Context(id=f"01JRG5Z7Q3X{next(context_ids):015d}"),
        )

    pv = state(
        "sensor.pv_power",
        "1523",
        {
            "state_class": "measurement",
            "unit_of_measurement": "W",
            "device_class": "power",
            "friendly_name": "PV power",
        },
        T0,
        updated=T0 + timedelta(seconds=5),
    )
    soc = state(
        "sensor.battery_soc",
        "52.5",
        {
            "state_class": "measurement",
            "unit_of_measurement": "%",
            "device_class": "battery",
            "friendly_name": "Battery SoC",
        },
        T0,
    )
    grid = state(
        "sensor.grid_import_energy",
        "15234.7",
        {
            "state_class": "total_increasing",
            "unit_of_measurement": "kWh",
            "device_class": "energy",
            "friendly_name": "Grid import",
        },
        T0,
    )
    temp = state(
        "sensor.inverter_temperature",
        "98.6",
        {
            "state_class": "measurement",
            "unit_of_measurement": "°F",
            "device_class": "temperature",
            "friendly_name": "Inverter temperature",
        },
        T0,
    )
    load = state(
        "sensor.house_load",
        "unavailable",
        {
            "unit_of_measurement": "W",
            "device_class": "power",
            "friendly_name": "House load",
            "restored": True,
            "supported_features": 0,
        },
        T0,
    )
    min_soc = state(
        "input_number.battery_min_soc",
        "20.0",
        {
            "initial": None,
            "editable": True,
            "min": 0.0,
            "max": 100.0,
            "step": 1.0,
            "mode": "slider",
            "unit_of_measurement": "%",
            "friendly_name": "Battery min SoC",
        },
        T0,
    )
    states = [pv, soc, grid, temp, load, min_soc]
    rest_source = "homeassistant/components/api/__init__.py"

    _write(
        "api_running.json",
        {
            "source": f"{rest_source} APIStatusView.get: json_message('API running.')",
            "status": 200,
            "body": {"message": "API running."},
        },
    )
    _write(
        "unauthorized.json",
        {
            "source": "homeassistant/helpers/http.py request_handler_factory: raise "
            "HTTPUnauthorized (aiohttp's text body)",
            "status": 401,
            "text": "401: Unauthorized",
        },
    )
    _write(
        "states.json",
        {
            "source": f"{rest_source} APIStatesView.get: [State.as_dict_json, ...]",
            "status": 200,
            "body": [loads(s.as_dict_json) for s in states],
        },
    )
    _write(
        "state_pv_power.json",
        {
            "source": f"{rest_source} APIEntityStateView.get: State.as_dict_json",
            "status": 200,
            "body": loads(pv.as_dict_json),
        },
    )
    _write(
        "entity_not_found.json",
        {
            "source": f"{rest_source} APIEntityStateView.get: "
            "json_message('Entity not found.', HTTPStatus.NOT_FOUND)",
            "status": 404,
            "body": {"message": "Entity not found."},
        },
    )
    changed = state(
        "input_number.battery_min_soc",
        "35.0",
        dict(min_soc.attributes),
        T0 + timedelta(minutes=1),
    )
    _write(
        "service_set_value.json",
        {
            "source": f"{rest_source} APIDomainServicesView.post: the changed states, "
            "[State.json_fragment, ...]",
            "status": 200,
            "body": [loads(changed.as_dict_json)],
        },
    )
    _write(
        "service_bad_request.json",
        {
            "source": f"{rest_source} APIDomainServicesView.post: raise HTTPBadRequest "
            "from ServiceNotFound / vol.Invalid (aiohttp's text body)",
            "status": 400,
            "text": "400: Bad Request",
        },
    )
    # history: LazyState.as_dict (recorder/models/state.py) has five keys; the first state
    # of each list is the one in effect at start_time, stamped start_time
    # (recorder/history/modern.py _stmt_and_join_attributes_for_start_state + LazyState).
    start = datetime(2025, 4, 10, 10, 0, tzinfo=UTC)

    def lazy(s: State) -> dict[str, Any]:
        return {
            "entity_id": s.entity_id,
            "state": s.state,
            "attributes": dict(s.attributes),
            "last_changed": s.last_changed.isoformat(),
            "last_updated": s.last_updated.isoformat(),
        }

    grid_attrs = dict(grid.attributes)
    pv_attrs = dict(pv.attributes)
    history = [
        [
            lazy(state("sensor.grid_import_energy", "15230.1", grid_attrs, start)),
            lazy(
                state(
                    "sensor.grid_import_energy",
                    "15231.4",
                    grid_attrs,
                    start + timedelta(minutes=17, seconds=3, microseconds=250000),
                )
            ),
            lazy(
                state(
                    "sensor.grid_import_energy", "15233.0", grid_attrs, start + timedelta(hours=1)
                )
            ),
        ],
        [
            lazy(state("sensor.pv_power", "812", pv_attrs, start)),
            lazy(state("sensor.pv_power", "unavailable", pv_attrs, start + timedelta(minutes=30))),
            lazy(state("sensor.pv_power", "1402", pv_attrs, start + timedelta(minutes=31))),
        ],
    ]
    _write(
        "history.json",
        {
            "source": "homeassistant/components/history/__init__.py HistoryPeriodView: "
            "list(get_significant_states_with_session(...).values()) of LazyState.as_dict; "
            "request GET /api/history/period/2025-04-10T10:00:00+00:00"
            "?filter_entity_id=sensor.grid_import_energy,sensor.pv_power"
            "&end_time=2025-04-10T12:00:00+00:00&significant_changes_only=0",
            "status": 200,
            "body": history,
        },
    )

    # WebSocket: auth (websocket_api/auth.py)
    _write(
        "ws_auth.json",
        {
            "source": "homeassistant/components/websocket_api/auth.py AUTH_REQUIRED_MESSAGE, "
            "AUTH_OK_MESSAGE, auth_invalid_message('Invalid access token or password')",
            "auth_required": {"type": "auth_required", "ha_version": HA_VERSION},
            "auth_ok": {"type": "auth_ok", "ha_version": HA_VERSION},
            "auth_invalid": {"type": "auth_invalid", "message": "Invalid access token or password"},
        },
    )

    # subscribe_entities (websocket_api/commands.py handle_subscribe_entities): a result,
    # then {"a": {...}} with the current states, then one event per state_changed
    def diff(old: State | None, new: State | None, entity_id: str) -> Any:
        data = {"entity_id": entity_id, "old_state": old, "new_state": new}
        return loads(json_bytes(messages._state_diff_event(Event("state_changed", data))))

    pv2 = state("sensor.pv_power", "1610", pv_attrs, T0 + timedelta(seconds=30))
    pv3_attrs = {k: v for k, v in pv_attrs.items() if k != "friendly_name"}
    pv3_attrs["icon"] = "mdi:solar-power"
    pv3 = state(
        "sensor.pv_power",
        "1610",
        pv3_attrs,
        T0 + timedelta(seconds=30),
        updated=T0 + timedelta(seconds=45),
    )
    soc2 = state("sensor.battery_soc", "53.0", dict(soc.attributes), T0 + timedelta(seconds=60))
    soc3 = state("sensor.battery_soc", "53.5", dict(soc.attributes), T0 + timedelta(minutes=5))
    _write(
        "ws_subscribe_entities.json",
        {
            "source": "homeassistant/components/websocket_api/commands.py "
            "handle_subscribe_entities: result_message(id), then _send_handle_entities_init_"
            "response {'a': {entity_id: State.as_compressed_state}}; changes from "
            "messages._state_diff_event; each event is sent as "
            "{'type': 'event', 'event': <event>, 'id': <subscription id>}",
            "subscribed_entity_ids": ["sensor.battery_soc", "sensor.pv_power"],
            "result": {"type": "result", "success": True, "result": None},
            "initial": {
                "a": {s.entity_id: loads(json_bytes(s.as_compressed_state)) for s in (pv, soc)}
            },
            "state_changed": diff(pv, pv2, "sensor.pv_power"),
            "attributes_changed": diff(pv2, pv3, "sensor.pv_power"),
            "removed": diff(soc, None, "sensor.battery_soc"),
            "added": diff(None, soc2, "sensor.battery_soc"),
            "after_restart": diff(soc2, soc3, "sensor.battery_soc"),
        },
    )

    # get_states (commands.py handle_get_states): result_message with [State.as_dict_json]
    _write(
        "ws_get_states.json",
        {
            "source": "homeassistant/components/websocket_api/commands.py handle_get_states: "
            "construct_result_message(id, [State.as_dict_json, ...])",
            "result": {
                "type": "result",
                "success": True,
                "result": [loads(s.as_dict_json) for s in states],
            },
        },
    )

    # statistics (recorder/websocket_api.py): get_statistics_metadata ->
    # statistics._flatten_list_statistic_ids_metadata_result; statistics_during_period ->
    # _ws_get_statistics_during_period: {statistic_id: [row]}, start/end in epoch ms, values
    # converted to the requested units (grid counter stored in Wh, requested kWh)
    from homeassistant.components.recorder.statistics import (
        UNIT_CLASSES,
        _flatten_list_statistic_ids_metadata_result,
    )

    def meta(unit: str, display: str, *, has_sum: bool, mean_type: int, name: str) -> Any:
        return {
            "display_unit_of_measurement": display,
            "mean_type": mean_type,
            "has_sum": has_sum,
            "name": name,
            "source": "recorder",
            "unit_class": UNIT_CLASSES.get(unit),
            "unit_of_measurement": unit,
        }

    metadata = _flatten_list_statistic_ids_metadata_result(
        {
            "sensor.grid_import_energy": meta("Wh", "Wh", has_sum=True, mean_type=0, name=None),
            "sensor.pv_power": meta("W", "W", has_sum=False, mean_type=1, name=None),
            "sensor.battery_soc": meta("%", "%", has_sum=False, mean_type=1, name=None),
        }
    )
    hour_s = 3600.0
    start_ts = datetime(2025, 4, 10, 10, 0, tzinfo=UTC).timestamp()
    sums_kwh = [15230.512, 15230.924, 15231.9]
    rows = {
        "sensor.grid_import_energy": [
            {
                "start": int((start_ts + i * hour_s) * 1000),
                "end": int((start_ts + (i + 1) * hour_s) * 1000),
                "state": sums_kwh[i] + 0.188,
                "sum": sums_kwh[i],
                "change": None if i == 0 else round(sums_kwh[i] - sums_kwh[i - 1], 3),
            }
            for i in range(3)
        ],
        "sensor.pv_power": [
            {
                "start": int((start_ts + i * hour_s) * 1000),
                "end": int((start_ts + (i + 1) * hour_s) * 1000),
                "state": None,
                "sum": None,
                "change": None,
            }
            for i in range(2)
        ],
    }
    _write(
        "ws_statistics.json",
        {
            "source": "homeassistant/components/recorder/websocket_api.py "
            "ws_get_statistics_metadata (statistics._flatten_list_statistic_ids_metadata_"
            "result) and _ws_get_statistics_during_period (rows from statistics."
            "_build_converted_stats + _augment_result_with_change, start/end * 1000); "
            "request types [change, sum, state], period hour, units {energy: kWh, ...}; "
            "sensor.battery_soc has metadata but no rows in the window",
            "metadata_result": {"type": "result", "success": True, "result": metadata},
            "statistics_result": {"type": "result", "success": True, "result": rows},
            "unknown_command": {
                "type": "result",
                "success": False,
                "error": {"code": "unknown_command", "message": "Unknown command."},
            },
        },
    )


if __name__ == "__main__":
    main()
