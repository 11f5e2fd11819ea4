"""The sandbox Home Assistant's configuration: helpers and template sensors of the simulated home.

This module owns the HA side of the sandbox: which HA entity stands for each
:class:`~darkstar.simulation.entities.SimEntity` (:data:`SANDBOX_ENTITIES`) and the
``configuration.yaml`` that creates those entities with HA's own helpers, so a stock Home
Assistant (no custom integration) can play the simulated home.

* **Controls** the executor writes are helpers: ``input_select`` (inverter mode),
  ``input_number`` (power limits, SoC target, water setpoint) and ``input_boolean``
  (grid charging).
* **Measured values** the simulated home publishes are ``template`` sensors
  ``sensor.darkstar_sim_<name>`` that carry the unit, device class and state class of
  :data:`~darkstar.simulation.entities.SIM_ENTITY_MAP`. Each one shows a raw
  ``input_number.darkstar_sim_raw_<name>`` that a bridge sets through the
  ``input_number.set_value`` service. The raw value :data:`RAW_UNAVAILABLE` (also the
  helper's minimum, hence its value before the bridge first writes it) makes the sensor
  ``unavailable``: one service call sets a value or takes it away, atomically. Raw values
  start at :data:`RAW_UNAVAILABLE` at every HA start (``initial``), so measured values are
  unavailable after a restart until the bridge publishes them again, while controls keep
  their last value (HA restores helpers without ``initial``).

The configuration loads nothing that needs the network or a package outside
``homeassistant`` and ``home-assistant-frontend`` (no ``default_config:``), and binds HTTP to
127.0.0.1 only.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from darkstar.simulation.entities import SIM_ENTITY_MAP, InverterMode, SimEntity

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.representer import Representer

__all__ = [
    "CONFIG_FILENAME",
    "RAW_MAX",
    "RAW_UNAVAILABLE",
    "SANDBOX_ENTITIES",
    "SandboxEntity",
    "render_configuration",
    "write_config",
]

CONFIG_FILENAME = "configuration.yaml"

RAW_UNAVAILABLE = -1_000_000_000.0
"""Raw helper value that makes its template sensor ``unavailable`` (the helper's minimum)."""

RAW_MAX = 1_000_000_000.0
"""Largest value a raw helper accepts (W, kWh, % or °C)."""

_RAW_STEP = 0.000001
_OBJECT_PREFIX = "darkstar_sim_"

# Core configuration: Stockholm, metric, SEK. Fixed so HA never guesses it from the network.
_CORE_CONFIG: dict[str, Any] = {
    "name": "Darkstar sandbox",
    "latitude": 59.3293,
    "longitude": 18.0686,
    "elevation": 28,
    "unit_system": "metric",
    "time_zone": "Europe/Stockholm",
    "currency": "SEK",
    "country": "SE",
    "language": "en",
}


@dataclass(frozen=True, kw_only=True)
class SandboxEntity:
    """How one simulated entity appears in the sandbox Home Assistant.

    Attributes
    ----------
    sim_entity : SimEntity
        The simulated entity it stands for (its unit and classes are in ``SIM_ENTITY_MAP``).
    entity_id : str
        The sandbox entity Darkstar reads (measured values) or writes (controls), for
        example ``sensor.darkstar_sim_pv_power`` or ``input_number.darkstar_sim_soc_target``.
    raw_entity_id : str or None
        Measured values only: the ``input_number`` a bridge sets to publish a value
        (:data:`RAW_UNAVAILABLE` makes ``entity_id`` unavailable). None for controls.
    """

    sim_entity: SimEntity
    entity_id: str
    raw_entity_id: str | None = None

    @property
    def domain(self) -> str:
        """The HA domain of ``entity_id`` (``sensor``, ``input_number``...)."""
        return self.entity_id.split(".", 1)[0]

    @property
    def object_id(self) -> str:
        """The part of ``entity_id`` after the dot."""
        return self.entity_id.split(".", 1)[1]

    @property
    def is_measurement(self) -> bool:
        """Whether this is a measured value published through a raw helper."""
        return self.raw_entity_id is not None


@dataclass(frozen=True, kw_only=True)
class _NumberControl:
    """Range of an ``input_number`` control, in the entity's HA unit."""

    min_value: float
    max_value: float
    step: float
    mode: str


E = SimEntity
_MEASUREMENTS = (
    E.BATTERY_SOC,
    E.PV_POWER,
    E.LOAD_POWER,
    E.GRID_IMPORT_ENERGY,
    E.GRID_EXPORT_ENERGY,
    E.PV_ENERGY,
    E.LOAD_ENERGY,
    E.BATTERY_CHARGE_ENERGY,
    E.BATTERY_DISCHARGE_ENERGY,
    E.WATER_HEATER_ENERGY,
    E.WATER_TEMPERATURE,
)
_CONTROLS: dict[SimEntity, str] = {
    E.INVERTER_MODE: "input_select.darkstar_sim_inverter_mode",
    E.BATTERY_CHARGE_POWER: "input_number.darkstar_sim_battery_charge_power",
    E.BATTERY_DISCHARGE_POWER: "input_number.darkstar_sim_battery_discharge_power",
    E.SOC_TARGET: "input_number.darkstar_sim_soc_target",
    E.GRID_CHARGING: "input_boolean.darkstar_sim_grid_charging",
    E.WATER_HEATER: "input_number.darkstar_sim_water_setpoint",
}
_NUMBER_CONTROLS: dict[SimEntity, _NumberControl] = {
    E.BATTERY_CHARGE_POWER: _NumberControl(min_value=0, max_value=10_000, step=1, mode="box"),
    E.BATTERY_DISCHARGE_POWER: _NumberControl(min_value=0, max_value=10_000, step=1, mode="box"),
    E.SOC_TARGET: _NumberControl(min_value=0, max_value=100, step=0.01, mode="slider"),
    E.WATER_HEATER: _NumberControl(min_value=20, max_value=85, step=0.5, mode="slider"),
}
del E


def _measurement(sim_entity: SimEntity) -> SandboxEntity:
    object_id = sim_entity.value.split(".", 1)[1]
    raw_object_id = object_id.replace(_OBJECT_PREFIX, f"{_OBJECT_PREFIX}raw_", 1)
    return SandboxEntity(
        sim_entity=sim_entity,
        entity_id=f"sensor.{object_id}",
        raw_entity_id=f"input_number.{raw_object_id}",
    )


SANDBOX_ENTITIES: Mapping[SimEntity, SandboxEntity] = MappingProxyType(
    {sim_entity: _measurement(sim_entity) for sim_entity in _MEASUREMENTS}
    | {
        sim_entity: SandboxEntity(sim_entity=sim_entity, entity_id=entity_id)
        for sim_entity, entity_id in _CONTROLS.items()
    }
)
"""Every simulated entity the sandbox mirrors -> its sandbox entity (and raw helper).

EV entities are not mirrored.
"""


def _object_id(entity_id: str) -> str:
    return entity_id.split(".", 1)[1]


def _raw_helper(entity: SandboxEntity) -> dict[str, Any]:
    description = SIM_ENTITY_MAP[entity.sim_entity]
    helper: dict[str, Any] = {
        "name": f"Raw: {description.name}",
        "min": RAW_UNAVAILABLE,
        "max": RAW_MAX,
        # not restored at a restart: unavailable until the bridge publishes again
        "initial": RAW_UNAVAILABLE,
        "step": _RAW_STEP,
        "mode": "box",
    }
    if description.unit_of_measurement is not None:
        helper["unit_of_measurement"] = description.unit_of_measurement
    return helper


def _template_sensor(entity: SandboxEntity) -> dict[str, Any]:
    description = SIM_ENTITY_MAP[entity.sim_entity]
    raw = f"states('{entity.raw_entity_id}')"
    # The object id is the name (HA derives a template entity's id from its name); the
    # friendly name comes from ``homeassistant.customize``.
    sensor: dict[str, Any] = {
        "name": entity.object_id,
        "state": f"{{{{ {raw} }}}}",
        "availability": f"{{{{ {raw} | float({RAW_UNAVAILABLE:.1f}) > {RAW_UNAVAILABLE:.1f} }}}}",
    }
    for key in ("unit_of_measurement", "device_class", "state_class"):
        value = getattr(description, key)
        if value is not None:
            sensor[key] = value
    return sensor


def _control_helper(entity: SandboxEntity) -> dict[str, Any]:
    description = SIM_ENTITY_MAP[entity.sim_entity]
    helper: dict[str, Any] = {"name": description.name}
    if entity.domain == "input_select":
        helper["options"] = [mode.value for mode in InverterMode]
    elif entity.domain == "input_number":
        number = _NUMBER_CONTROLS[entity.sim_entity]
        helper |= {
            "min": number.min_value,
            "max": number.max_value,
            "step": number.step,
            "mode": number.mode,
        }
        if description.unit_of_measurement is not None:
            helper["unit_of_measurement"] = description.unit_of_measurement
    return helper


def _configuration(*, port: int) -> dict[str, Any]:
    helpers: dict[str, dict[str, Any]] = {
        "input_number": {},
        "input_select": {},
        "input_boolean": {},
    }
    sensors: list[dict[str, Any]] = []
    customize: dict[str, dict[str, str]] = {}
    for entity in SANDBOX_ENTITIES.values():
        if entity.raw_entity_id is not None:
            helpers["input_number"][_object_id(entity.raw_entity_id)] = _raw_helper(entity)
            sensors.append(_template_sensor(entity))
            customize[entity.entity_id] = {"friendly_name": SIM_ENTITY_MAP[entity.sim_entity].name}
        else:
            helpers[entity.domain][entity.object_id] = _control_helper(entity)
    return {
        "homeassistant": _CORE_CONFIG | {"customize": customize},
        "http": {"server_host": ["127.0.0.1"], "server_port": port},
        "api": {},
        "websocket_api": {},
        "auth": {},
        "onboarding": {},
        "frontend": {},
        "config": {},
        "recorder": {"commit_interval": 1, "purge_keep_days": 30},
        "history": {},
        "logger": {
            "default": "warning",
            # camera snapshots are unused; the sandbox does not install libturbojpeg
            "logs": {"homeassistant.components.camera.img_util": "critical"},
        },
        **helpers,
        "template": [{"sensor": sensors}],
    }


def _represent_float(representer: Representer, value: float) -> ScalarNode:
    # YAML 1.1 (HA's loader) reads ``1e-06`` as a string: write every float in plain notation.
    text = repr(value)
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0")
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def render_configuration(*, port: int) -> str:
    """Return the sandbox ``configuration.yaml`` text.

    Parameters
    ----------
    port : int
        TCP port HA's HTTP server listens on (bound to 127.0.0.1).

    Returns
    -------
    str
        YAML text, starting with a comment saying it is generated.

    Examples
    --------
    >>> text = render_configuration(port=8123)
    >>> "server_port: 8123" in text and "step: 0.000001" in text
    True
    """
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(float, _represent_float)
    buffer = io.StringIO()
    buffer.write("# Generated by darkstar.simulation.ha_sandbox; rewritten at every start.\n")
    yaml.dump(_configuration(port=port), buffer)
    return buffer.getvalue()


def write_config(config_dir: Path, *, port: int) -> Path:
    """Write the sandbox ``configuration.yaml`` into ``config_dir`` (created if missing).

    Parameters
    ----------
    config_dir : Path
        HA configuration folder. HA keeps its state (users, tokens, entity registry, the
        SQLite recorder database) beside this file; only ``configuration.yaml`` is written.
    port : int
        TCP port HA's HTTP server listens on (bound to 127.0.0.1).

    Returns
    -------
    Path
        The written file.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / CONFIG_FILENAME
    path.write_text(render_configuration(port=port), encoding="utf-8")
    _write_loopback_only_network(config_dir)
    return path


def _write_loopback_only_network(config_dir: Path) -> None:
    """Enable only the loopback adapter in HA's network settings (``.storage/core.network``).

    Every HA HTTP client session starts an mDNS resolver (zeroconf) that binds port 5353 on
    the enabled adapters and joins the 224.0.0.251 group; the sandbox must send nothing
    beyond loopback, so only ``lo`` is enabled (zeroconf then gets no interface to join).
    """
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    document = {
        "version": 1,
        "minor_version": 1,
        "key": "core.network",
        "data": {"configured_adapters": ["lo"]},
    }
    (storage / "core.network").write_text(json.dumps(document, indent=2), encoding="utf-8")
