"""The fault-injection rig: the live service wiring on a simulated clock, on loopback only.

:class:`FaultRig` runs the same wiring as ``darkstar serve`` with ``home_assistant.url``
(:func:`darkstar.backends.open_live_world`: :class:`~darkstar.service.live_world.LiveWorld`
on :class:`~darkstar.sources.homeassistant.HomeAssistantHouse`, the real Nord Pool and
Open-Meteo clients, Aurora, the learning store), behind the real
:class:`~darkstar.service.runtime.Runtime` and the web app served by uvicorn on
127.0.0.1. Around it, on loopback too:

* the **sandbox Home Assistant** (a real HA process; the ``ha`` fixture), holding the
  simulated home's entities: the simulated home publishes its meters into HA after every
  slot and obeys HA's controls (:class:`~darkstar.simulation.ha_sandbox.bridge.SandboxWorld`);
* a **cable** (:class:`LoopbackCable`, a TCP relay) between the service and HA that can be
  cut and mended: HA keeps running and recording while the service cannot reach it;
* :class:`~fake_nordpool.FakeNordPool` (down, slow, garbage, wrong, late) and
  :class:`~fake_openmeteo.FakeOpenMeteo` (weather made for the simulated days).

Time: the world's clock is the simulated home's (the year 2018 replayed); a wait inside a
slot moves it on at once, and at the slot's end the simulated home runs that slot and
publishes. HA's recorder stamps states with the wall clock, so the service sees HA's history
through the sandbox's clock map (simulated time <-> wall time). A simulated day (96 slots)
takes about a minute.

:func:`slot_ledger` reads the learning store directly (sqlite3): per slot of a range,
how many observation rows it has and the execution log's note (a gap is flagged there).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pandas as pd
import uvicorn
from fake_nordpool import FakeNordPool, build_reply
from fake_openmeteo import FakeOpenMeteo, Reply, ok

from darkstar.backends import open_live_world
from darkstar.config import load_config
from darkstar.learning.store import open_store
from darkstar.market import delivery_window
from darkstar.service.agent import DB_FILE, AgentLoop
from darkstar.service.config_guard import load_guarded
from darkstar.service.logbuffer import LogBuffer
from darkstar.service.runtime import Runtime
from darkstar.simulation.agent_run import DATA_AREA, DATA_TIMEZONE, DATA_YEAR
from darkstar.simulation.backtest import house_spec
from darkstar.simulation.datasets import load_year
from darkstar.simulation.entities import SimEntity
from darkstar.simulation.ha_sandbox.bridge import (
    SANDBOX_HOUSE_ENTITIES,
    SandboxWorld,
    _SimClockedHouse,
)
from darkstar.simulation.house import SimulatedHouse
from darkstar.simulation.world import SimulatedWorld
from darkstar.sources.homeassistant import HomeAssistantConnection, HomeAssistantHouse
from darkstar.sources.homeassistant.publish import publish_plan
from darkstar.sources.pv import clear_sky_irradiance
from darkstar.web.app import create_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from darkstar.house import House
    from darkstar.simulation.ha_sandbox import HomeAssistantInstance

__all__ = [
    "SLOT",
    "START",
    "TOKEN",
    "FaultRig",
    "LoopbackCable",
    "day_prices",
    "slot_ledger",
    "weather_reply",
]

SLOT = timedelta(minutes=15)
START = datetime(2018, 5, 14, 22, tzinfo=UTC)
"""Tuesday 15 May 2018, local midnight in Stockholm (the replayed year's house)."""
TOKEN = "fault-suite-token-0123456789"
METERS = {
    "pv_kwh": SimEntity.PV_ENERGY,
    "load_kwh": SimEntity.LOAD_ENERGY,
    "grid_import_kwh": SimEntity.GRID_IMPORT_ENERGY,
    "grid_export_kwh": SimEntity.GRID_EXPORT_ENERGY,
    "battery_charge_kwh": SimEntity.BATTERY_CHARGE_ENERGY,
    "battery_discharge_kwh": SimEntity.BATTERY_DISCHARGE_ENERGY,
    "water_heater_kwh": SimEntity.WATER_HEATER_ENERGY,
}
"""Observation field -> the simulated home's meter."""
LATITUDE, LONGITUDE = 55.6, 13.0


def day_prices(day: date) -> list[float]:
    """Spot prices of a delivery day, one per quarter hour [SEK/kWh]: cheap night, dear evening.

    The count follows the CET day (92, 96 or 100 quarter hours on DST days).
    """
    begin, end = delivery_window(day)
    n = round((end - begin) / SLOT)
    return [0.2 if (k // 4) < 6 else 1.5 if 17 <= (k // 4) < 21 else 0.6 for k in range(n)]


def weather_reply(first: date, days: int) -> dict[str, Any]:
    """An Open-Meteo ``/v1/forecast`` reply (hourly block, GMT) for ``days`` UTC days.

    The weather is 80 % of pvlib's clear sky, 15 °C, 20 % cloud; radiation values are the
    means of the preceding hour, labelled at its end, as Open-Meteo gives them.
    """
    labels = pd.date_range(
        pd.Timestamp(first, tz="UTC"), periods=24 * days, freq="h", inclusive="left"
    )
    sky = clear_sky_irradiance(
        labels - pd.Timedelta(minutes=30), latitude=LATITUDE, longitude=LONGITUDE
    )
    hourly = {
        "time": [t.strftime("%Y-%m-%dT%H:%M") for t in labels],
        "cloud_cover": [20.0] * len(labels),
        "temperature_2m": [15.0] * len(labels),
        "shortwave_radiation": [round(0.8 * v, 2) for v in sky["ghi_w_m2"]],
        "direct_normal_irradiance": [round(0.8 * v, 2) for v in sky["dni_w_m2"]],
        "diffuse_radiation": [round(0.8 * v, 2) for v in sky["dhi_w_m2"]],
    }
    return {
        "latitude": LATITUDE,
        "longitude": LONGITUDE,
        "generationtime_ms": 0.1,
        "utc_offset_seconds": 0,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": 12.0,
        "hourly_units": {
            "time": "iso8601",
            "cloud_cover": "%",
            "temperature_2m": "°C",
            "shortwave_radiation": "W/m²",
            "direct_normal_irradiance": "W/m²",
            "diffuse_radiation": "W/m²",
        },
        "hourly": hourly,
    }


class LoopbackCable:
    """A TCP relay on 127.0.0.1 in front of a local port, that can be cut and mended.

    Cut: the listening socket and every relayed connection are closed (a new connection is
    refused, as when the other side is down); mended: it listens again on the same port.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.mend()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_cut(self) -> bool:
        """Whether the cable is cut right now."""
        return self._listener is None

    def mend(self) -> None:
        """Listen (again) and relay."""
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close the listener and every open relay."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns -= {src, dst}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_rig_config(
    path: Path, *, ha_url: str, ha_token: str, nordpool_url: str, open_meteo_url: str
) -> Path:
    """Write the ``config.yaml`` of the rig's home (the sandbox entities; loopback URLs)."""
    e = SANDBOX_HOUSE_ENTITIES
    path.write_text(
        f"""# the fault suite's home
home_assistant:
  url: {ha_url}
  token: {ha_token}
  timeout_s: 2
input_sensors:
  battery_soc: {e.battery_soc}
  pv_energy: {e.pv_energy}
  load_energy: {e.load_energy}
  grid_import_energy: {e.grid_import_energy}
  grid_export_energy: {e.grid_export_energy}
  battery_charge_energy: {e.battery_charge_energy}
  battery_discharge_energy: {e.battery_discharge_energy}
  water_heater_energy: {e.water_heater_energy}
  water_temperature: {e.water_temperature}
executor:
  inverter_mode: {e.inverter_mode}
  charge_power: {e.charge_power}
  discharge_power: {e.discharge_power}
  soc_target: {e.soc_target}
  grid_charging: {e.grid_charging}
  water_heater: {e.water_heater}
  interval_seconds: 300
prices:
  area: {DATA_AREA}
  nordpool_url: {nordpool_url}
  timeout_s: 1
weather:
  open_meteo_url: {open_meteo_url}
  timeout_s: 1
location:
  latitude: {LATITUDE}
  longitude: {LONGITUDE}
  timezone: {DATA_TIMEZONE}
automation:
  ml_training:
    enabled: false
""",
        encoding="utf-8",
    )
    return path


class _SimClock:
    """The world's clock: the simulated home's slot start plus the time waited in the slot.

    ``skew`` is what the service's wall clock is off by (0 until a step is injected with
    :meth:`step`); :meth:`elapsed` is the clock that never steps (the home's own time).
    """

    def __init__(self, sandbox: SandboxWorld) -> None:
        self.sandbox = sandbox
        self.offset = timedelta(0)
        self.skew = timedelta(0)
        self._pending: list[tuple[timedelta, timedelta]] = []
        self.truth: dict[datetime, dict[str, float]] = {}
        """Each slot's energies by the simulated home's own meters [kWh]."""

    def now(self) -> datetime:
        return self.sandbox.sim_world.house.now + self.offset + self.skew

    def elapsed(self) -> float:
        """The monotonic clock [s]: the home's own time, which never steps."""
        return (self.sandbox.sim_world.house.now + self.offset - START).total_seconds()

    def step(self, delta: timedelta, *, into_slot: timedelta | None = None) -> None:
        """Step the service's wall clock by ``delta`` (NTP): now, or ``into_slot`` into
        the next slot the service waits in."""
        if into_slot is None:
            self.skew += delta
        else:
            self._pending.append((into_slot, delta))

    def wait(self, seconds: float) -> bool:
        """Move on ``seconds``; at the slot's end the simulated home runs the slot."""
        self.offset += timedelta(seconds=seconds)
        for at, delta in list(self._pending):
            if self.offset >= at:
                self._pending.remove((at, delta))
                self.skew += delta
        if self.offset >= SLOT:
            house = self.sandbox.sim_world.house
            slot, before = house.now, dict(house.counters_kwh)
            self.sandbox.advance()  # apply HA's controls, run the slot, publish the meters
            after = house.counters_kwh
            self.truth[slot] = {
                field: after[entity] - before[entity] for field, entity in METERS.items()
            }
            self.offset = timedelta(0)
        return False


@dataclass
class _Api:
    """The web app on a loopback port (uvicorn in a thread)."""

    server: uvicorn.Server
    thread: threading.Thread
    client: httpx.Client


class FaultRig:
    """The service on a simulated clock in the fault rig (see the module docstring).

    Parameters
    ----------
    ha : HomeAssistantInstance
        The sandbox Home Assistant.
    folder : Path
        Holds ``config.yaml`` and the data folder ``data/``.
    start : datetime
        Simulated start (a slot start in 2018).
    soc_percent : float
        The simulated battery's SoC at the start.
    """

    def __init__(
        self,
        ha: HomeAssistantInstance,
        folder: Path,
        *,
        start: datetime = START,
        soc_percent: float = 50.0,
    ) -> None:
        self.ha = ha
        self.folder = folder
        self.data_dir = folder / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start = start
        self._stack = contextlib.ExitStack()
        try:
            self._open(soc_percent)
        except BaseException:
            self._stack.close()
            raise

    # --- opening -------------------------------------------------------------------------
    def _open(self, soc_percent: float) -> None:
        stack = self._stack
        self.nordpool = FakeNordPool()
        first = self.start.date() - timedelta(days=8)
        for k in range(12):
            self.serve_prices(first + timedelta(days=k))
        self.nordpool.start()
        stack.callback(self.nordpool.stop)
        self.openmeteo = FakeOpenMeteo()
        self.weather_ok = ok(weather_reply(self.start.date() - timedelta(days=1), 5))
        self.openmeteo.replies = [self.weather_ok]
        self.openmeteo.start()
        stack.callback(self.openmeteo.stop)
        self.cable = LoopbackCable(int(self.ha.url.rsplit(":", 1)[1]))
        stack.callback(self.cable.cut)
        # the simulated home's side: its own connection to HA (not through the cable)
        bridge_house = HomeAssistantHouse(
            HomeAssistantConnection(url=self.ha.url, token=self.ha.token)
        )
        stack.callback(bridge_house.close)
        cfg = load_config(self._config_path())
        year = load_year(area=DATA_AREA, year=DATA_YEAR)
        sim = SimulatedHouse(
            house_spec(cfg, initial_soc_percent=soc_percent, water=True), start=self.start
        )
        self.sandbox = SandboxWorld(
            sim_world=SimulatedWorld(year=year, house=sim, timezone=DATA_TIMEZONE), ha=bridge_house
        )
        self.clock = _SimClock(self.sandbox)
        self.runtime = self._open_runtime()
        stack.callback(self.runtime.stop)
        self.api = self._serve()

    def _config_path(self) -> Path:
        path = self.folder / "config.yaml"
        if not path.exists():
            write_rig_config(
                path,
                ha_url=self.cable.url,
                ha_token=self.ha.token,
                nordpool_url=self.nordpool.url,
                open_meteo_url=self.openmeteo.url,
            )
        return path

    def _view(self, house: HomeAssistantHouse) -> House:
        """HA as the service sees it: on the simulated clock, history mapped to it."""
        sim = self.sandbox.sim_world.house
        return _SimClockedHouse(house, lambda: sim.now, self.sandbox.clock_map)

    def _open_runtime(self) -> Runtime:
        """What :func:`darkstar.backends.open_runtime` does, on the simulated clock."""
        config_path = self._config_path()
        cfg, config_fault = load_guarded(config_path, self.data_dir)
        store = open_store(self.data_dir / DB_FILE)
        try:
            world, house = open_live_world(
                cfg,
                store=store,
                data_dir=self.data_dir,
                clock=self.clock.now,
                wait=self.clock.wait,
                elapsed=self.clock.elapsed,
                house_view=self._view,
            )
        except BaseException:
            store.close()
            raise
        agent = AgentLoop(world=world, cfg=cfg, store=store, out_dir=self.data_dir)
        runtime = Runtime(
            agent=agent, data_dir=self.data_dir, config_path=config_path, speed=math.inf
        )
        runtime.after_step = lambda plan, now, cost: publish_plan(house, plan, now, cost)
        runtime.closers.append(house.close)
        runtime.config_watch.fault = config_fault
        return runtime

    def _serve(self) -> _Api:
        app = create_app(
            self.runtime,
            token=TOKEN,
            origin="http://127.0.0.1:8000",
            logs=LogBuffer(),
            manage_runtime=False,
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                msg = "the fault rig's API did not start"
                raise RuntimeError(msg)
            time.sleep(0.05)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30.0,
            trust_env=False,
        )

        def stop() -> None:
            client.close()
            server.should_exit = True
            thread.join(10)

        self._stack.callback(stop)
        return _Api(server=server, thread=thread, client=client)

    def close(self) -> None:
        """Stop the service, the API, the fakes and the cable."""
        self._stack.close()

    def __enter__(self) -> FaultRig:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- driving -------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The simulated time (a slot start between steps)."""
        return self.clock.now()

    def serve_prices(self, day: date) -> None:
        """Let the Nord Pool stand-in answer ``day`` (publish it)."""
        self.nordpool.add(build_reply(DATA_AREA, day, day_prices(day)))

    def withhold_prices(self, day: date) -> None:
        """Make ``day`` unpublished again (204)."""
        self.nordpool.replies.pop((DATA_AREA, day.isoformat(), "SEK"), None)

    def step(self, count: int = 1, *, each: Callable[[FaultRig], None] | None = None) -> None:
        """Run ``count`` slots through the runtime (as its thread does); ``each`` before each."""
        for _ in range(count):
            if each is not None:
                each(self)
            self.runtime.step()

    def run_until(
        self, moment: datetime, *, each: Callable[[FaultRig], None] | None = None
    ) -> None:
        """Run slots until the simulated time is ``moment``."""
        while self.now < moment:
            self.step(each=each)

    # --- looking -------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``GET /api/v1/health`` over loopback."""
        reply = self.api.client.get("/health")
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body

    def status(self) -> dict[str, Any]:
        """``GET /api/v1/status`` over loopback (a fresh one)."""
        self.runtime.refresh_status()
        reply = self.api.client.get("/status")
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body

    def problems(self) -> list[str]:
        """The problems ``/health`` lists, checked against ``/status``'s.

        Both name the same faults; the detail of a failed call (the socket error) may differ
        between the two reads, so only the start of each line is compared.
        """
        health = self.health()
        status = self.status()
        heads = [[p[:40] for p in d["problems"]] for d in (health, status)]
        assert heads[0] == heads[1], (health["problems"], status["problems"])
        assert (health["status"] == "degraded") == bool(health["problems"])
        problems: list[str] = health["problems"]
        return problems

    def schedule(self) -> dict[str, Any]:
        """``schedule.json`` as written (it must parse)."""
        doc: dict[str, Any] = json.loads((self.data_dir / "schedule.json").read_text("utf-8"))
        return doc

    def misrecorded(self, start: datetime, end: datetime, *, abs_kwh: float = 0.0011) -> list[str]:
        """Stored observations in ``[start, end)`` that differ from the meters (0.001 kWh).

        HA shows each counter at 3 decimals, so a slot's delta is exact to 0.001 kWh.
        """
        lo, hi = int(start.timestamp()), int(end.timestamp())
        columns = ", ".join(METERS)
        with contextlib.closing(sqlite3.connect(self.data_dir / DB_FILE, timeout=10)) as conn:
            rows = conn.execute(
                f"SELECT slot_start_utc, {columns} FROM slot_observations "
                "WHERE slot_start_utc >= ? AND slot_start_utc < ?",
                (lo, hi),
            ).fetchall()
        bad = []
        for key, *values in rows:
            slot = datetime.fromtimestamp(key, UTC)
            truth = self.clock.truth.get(slot)
            if truth is None:
                bad.append(f"{slot}: no meter reading")
                continue
            for field, got in zip(METERS, values, strict=True):
                if abs(got - truth[field]) > abs_kwh:
                    bad.append(f"{slot} {field}: stored {got:.4f}, meter {truth[field]:.4f}")
        return bad

    def ledger(self, start: datetime, end: datetime) -> dict[datetime, tuple[int, str | None]]:
        """:func:`slot_ledger` of the rig's store."""
        return slot_ledger(self.data_dir / DB_FILE, start, end)


def slot_ledger(db: Path, start: datetime, end: datetime) -> dict[datetime, tuple[int, str | None]]:
    """Per slot in ``[start, end)``: observation rows and the execution log's note.

    Read with sqlite3 directly (a second connection, as a user's tool would).
    """
    lo, hi = int(start.timestamp()), int(end.timestamp())
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        counts = dict(
            conn.execute(
                "SELECT slot_start_utc, COUNT(*) FROM slot_observations "
                "WHERE slot_start_utc >= ? AND slot_start_utc < ? GROUP BY slot_start_utc",
                (lo, hi),
            ).fetchall()
        )
        notes = dict(
            conn.execute(
                "SELECT slot_start_utc, note FROM execution_log "
                "WHERE slot_start_utc >= ? AND slot_start_utc < ?",
                (lo, hi),
            ).fetchall()
        )
    out = {}
    moment = start
    while moment < end:
        key = int(moment.timestamp())
        out[moment] = (int(counts.get(key, 0)), notes.get(key))
        moment += SLOT
    return out


def unaccounted(ledger: dict[datetime, tuple[int, str | None]]) -> list[datetime]:
    """Slots with neither an observation nor a gap flagged in the execution log."""
    flags = ("not recorded", "backfilled later")
    return [
        slot
        for slot, (rows, note) in ledger.items()
        if rows == 0 and not (note and any(f in note for f in flags))
    ]


def down_reply() -> Reply:
    """An Open-Meteo that is down (503)."""
    return Reply(503, b'{"error": true, "reason": "service unavailable"}')


@contextlib.contextmanager
def fault_rig(ha: HomeAssistantInstance, folder: Path, **kwargs: Any) -> Iterator[FaultRig]:
    """A :class:`FaultRig`, always closed."""
    rig = FaultRig(ha, folder, **kwargs)
    try:
        yield rig
    finally:
        rig.close()
