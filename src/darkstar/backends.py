"""Wiring: which world the agent runs in (DESIGN §1: the service never builds a house).

:func:`open_runtime` opens the service's :class:`~darkstar.service.runtime.Runtime`:

* with ``home_assistant.url`` set: on that Home Assistant in real time
  (:class:`~darkstar.service.live_world.LiveWorld`), with Nord Pool (or an HA price
  sensor) prices, an Open-Meteo + pvlib PV forecast (its runs kept in the store), Aurora
  on those runs and the house's own history
  (:class:`~darkstar.service.live_aurora.LiveAurora`; the physics PV and the load history
  where it has no forecast), and the plan published back as ``sensor.darkstar_*``;
* without: on the simulated home (SE4 2018 replayed, resuming after the stored history).
"""

from __future__ import annotations

import logging
import math
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from darkstar.errors import ConfigError
from darkstar.learning.store import open_store
from darkstar.service.agent import DB_FILE, AgentLoop
from darkstar.service.config_guard import load_guarded
from darkstar.service.live_world import LiveWorld
from darkstar.service.prices import PriceBook, PriceSource, tariff_spec
from darkstar.service.runtime import Runtime, ensure_config_file
from darkstar.service.world import HouseEntities
from darkstar.simulation.agent_run import open_agent
from darkstar.sources.homeassistant import HomeAssistantHouse, publish_plan, resolve_connection

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from darkstar.config.models import DarkstarConfig
    from darkstar.house import House
    from darkstar.learning.store import Store

__all__ = ["open_live_world", "open_runtime"]

logger = logging.getLogger(__name__)


def open_runtime(
    *, data_dir: Path, config_path: Path, speed: float, start: datetime | None = None
) -> Runtime:
    """Open the runtime on Home Assistant (``home_assistant.url``) or the simulated home.

    Parameters
    ----------
    data_dir : Path
        ``schedule.json``, ``planner_learning.db``, ``state.json``.
    config_path : Path
        The user's ``config.yaml`` (created with a header comment when missing).
    speed : float
        Simulated seconds per real second (> 0); ``inf`` runs without pausing. A real
        home runs on the wall clock and ignores it.
    start : datetime or None
        Simulated start; ``None`` resumes after the stored history, or starts on 1 May.

    Raises
    ------
    ConfigError
        For an invalid ``config.yaml`` without a last good copy (a copy is used instead,
        the fault shown: :mod:`darkstar.service.config_guard`), or missing entities with
        Home Assistant.
    InputError
        For a ``start`` off the data year.
    """
    if not speed > 0:
        msg = f"speed: must be > 0, got {speed}"
        raise ValueError(msg)
    ensure_config_file(config_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg, config_fault = load_guarded(config_path, data_dir)  # broken: the last good copy
    if cfg.home_assistant.url is not None:
        store = open_store(data_dir / DB_FILE)
        try:
            world, house = open_live_world(cfg, store=store, data_dir=data_dir)
        except BaseException:
            store.close()
            raise
        try:
            agent = AgentLoop(world=world, cfg=cfg, store=store, out_dir=data_dir)
        except BaseException:
            house.close()
            store.close()
            raise
        runtime = Runtime(agent=agent, data_dir=data_dir, config_path=config_path, speed=math.inf)
        runtime.after_step = partial(publish_plan, house)
        runtime.closers.append(house.close)
    else:
        # the start is checked for a one-day run; the thread then runs to the end of the year
        agent, _, _ = open_agent(cfg=cfg, out_dir=data_dir, start=start, days=1.0, resume=True)
        runtime = Runtime(agent=agent, data_dir=data_dir, config_path=config_path, speed=speed)
    runtime.config_watch.fault = config_fault
    return runtime


def _location(cfg: DarkstarConfig, house: HomeAssistantHouse) -> tuple[float, float, float, str]:
    """Latitude, longitude, altitude and time zone: config first, else HA's own."""
    loc = cfg.location
    if loc.latitude is not None and loc.longitude is not None and loc.timezone is not None:
        return loc.latitude, loc.longitude, loc.altitude_m, loc.timezone
    from darkstar.house import HouseError

    try:
        lat, lon, elevation, tz = house.rest.location()
    except HouseError as exc:
        msg = (
            f"not set, and Home Assistant's location could not be read ({exc}); set "
            "location.latitude, location.longitude and location.timezone to start without it"
        )
        raise ConfigError("location", msg) from None
    return (
        lat if loc.latitude is None else loc.latitude,
        lon if loc.longitude is None else loc.longitude,
        elevation if loc.altitude_m == 0.0 else loc.altitude_m,
        tz if loc.timezone is None else loc.timezone,
    )


def _price_source(cfg: DarkstarConfig, house: HomeAssistantHouse) -> PriceSource:
    if cfg.prices.source == "home_assistant":
        from darkstar.sources.homeassistant.prices import HomeAssistantPriceSensor

        if cfg.prices.ha_entity is None:
            raise ConfigError("prices.ha_entity", "required with prices.source: home_assistant")
        return HomeAssistantPriceSensor(house, cfg.prices.ha_entity)
    from darkstar.sources.nordpool import NordPoolClient

    return NordPoolClient(cfg.prices.nordpool_url, timeout_s=cfg.prices.timeout_s, retries=2)


def open_live_world(
    cfg: DarkstarConfig,
    *,
    store: Store,
    data_dir: Path,
    clock: Callable[[], datetime] | None = None,
    wait: Callable[[float], bool] | None = None,
    house_view: Callable[[HomeAssistantHouse], House] | None = None,
    elapsed: Callable[[], float] | None = None,
) -> tuple[LiveWorld, HomeAssistantHouse]:
    """Build the real-time world on the Home Assistant of ``cfg`` (its adapters wired in).

    ``clock``, ``wait``, ``house_view`` and ``elapsed`` are for the fault-injection suite,
    which runs this same wiring on a simulated clock: the clock the world reads (default
    the wall clock), how it waits within a slot (default: sleeps), the house as the world
    sees it (default Home Assistant itself; the suite maps HA's wall-clock history onto
    the simulated clock), and the clock that never steps, against which a step of the
    wall clock is noticed (default :func:`time.monotonic`).

    Raises
    ------
    ConfigError
        Missing entities, token, or a location that is neither configured nor readable.
    """
    from darkstar.aurora.features import Site as AuroraSite
    from darkstar.service.live_aurora import LiveAurora, holiday_country, physics_prior
    from darkstar.sources.openmeteo import OpenMeteoClient
    from darkstar.sources.pv import PvArray
    from darkstar.sources.pv_forecast import Site, WeatherPvForecaster

    entities = HouseEntities.from_config(cfg)
    section = cfg.home_assistant
    connection = resolve_connection(
        url=str(section.url),
        token=section.token,
        token_file=None if section.token_file is None else Path(section.token_file),
        timeout_s=section.timeout_s,
    )
    house = HomeAssistantHouse(connection)
    try:
        lat, lon, altitude, tz_name = _location(cfg, house)
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("location.timezone", f"unknown time zone {tz_name!r}") from None
        prices = PriceBook(
            source=_price_source(cfg, house),
            store=store,
            area=cfg.prices.area,
            currency=cfg.prices.currency,
            tariff=tariff_spec(cfg.tariff),
            tz=tz,
        )
        arrays = [
            PvArray(
                kwp=a.kwp,
                tilt_deg=a.tilt_deg,
                azimuth_deg=a.azimuth_deg,
                losses_percent=a.losses_percent,
                inverter_kw=a.inverter_kw,
            )
            for a in cfg.pv.arrays
        ]
        pv = WeatherPvForecaster(
            client=OpenMeteoClient(cfg.weather.open_meteo_url, timeout_s=cfg.weather.timeout_s),
            arrays=arrays,
            site=Site(latitude=lat, longitude=lon, altitude_m=altitude),
            cache_dir=data_dir,
            store=store,
            tz=tz,
        )
        aurora = LiveAurora(
            store=store,
            site=AuroraSite(
                latitude=lat,
                longitude=lon,
                timezone=tz_name,
                country=holiday_country(cfg.prices.area),
            ),
            prior=physics_prior(arrays=arrays, latitude=lat, longitude=lon, altitude_m=altitude),
            default_load_kw=cfg.forecasting.default_load_kw,
        )
        world = LiveWorld(
            house=house if house_view is None else house_view(house),
            entities=entities,
            tz=tz,
            prices=prices,
            pv=pv,
            store=store,
            interval_s=cfg.executor.interval_seconds,
            default_load_kw=cfg.forecasting.default_load_kw,
            aurora=aurora,
            clock=clock,
            wait=wait,
            elapsed=elapsed,
        )
    except BaseException:
        house.close()
        raise
    logger.info("live world on %s (%s, %.3f, %.3f)", section.url, tz_name, lat, lon)
    return world, house
