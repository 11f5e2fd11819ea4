"""Reflex on the simulated home: four histories with injected drift, analysed and applied.

:func:`simulated_drift_histories` runs the agent loop on the simulated home (SE4 2018 from
1 March, perfect forecasts) for each :class:`Drift`, each in its own data folder with a
commented ``config.yaml``, then runs Reflex on the history it wrote: a dry assessment, an
applied run (changes written to that ``config.yaml``) and a second applied run an hour
later (which the one-change-per-key-per-day limit must hold back). The drifts:

``clean``
    The defaults: the house is what the config says, the forecasts are right.
``capacity_fade``
    The battery holds :data:`CAPACITY_FADE_FRAC` less than ``battery.capacity_kwh``
    (the house's battery is built smaller; the agent plans on the configured one).
``pv_bias``
    The PV forecast is :data:`PV_FORECAST_BIAS_FRAC` too high: the house makes
    ``1 / (1 + bias)`` of the year's PV, while the forecasts keep the year's PV.
``evening_low_soc``
    A small battery (:data:`EVENING_BATTERY_KWH`, configured and real), no S-Index reserve
    (``s_index.base_factor: 1.0``: load not inflated, target SoC = minimum SoC) and an
    evening (16-20 h local) load :data:`EVENING_LOAD_FACTOR` times the year's that the
    forecasts do not know: the battery runs empty at the peak.

Why March (:data:`DRIFT_START`): the battery can only run empty in the 16-20 h window if
the plan discharges there. In May 2018 the plans discharged mostly after 20 h (the price
peak) and held the battery in the cheaper evening slots (the surprise load came from the
grid): before 20 h the SoC never went under 41 % with the 10 kWh battery, nor under 15 %
with the 3 kWh one; in March the peak is at 18-19 h. And with the default ``base_factor``
1.1 the plans keep the target SoC (15 %) through the evening, above the empty threshold
(12 %).

``scripts/reflex_drift.py`` prints the result; ``darkstar`` does not run it (about four
minutes per 30-day history).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from darkstar.config.loader import load_config
from darkstar.learning.reflex import ReflexReport, assess_reflex, run_reflex
from darkstar.service.agent import SLOT, AgentLoop
from darkstar.simulation.agent_run import open_agent

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from darkstar.learning.reflex import Assessment

__all__ = [
    "CAPACITY_FADE_FRAC",
    "DRIFT_CONFIG_TEXT",
    "DRIFT_START",
    "EVENING_BATTERY_KWH",
    "EVENING_LOAD_FACTOR",
    "PV_FORECAST_BIAS_FRAC",
    "Drift",
    "DriftRun",
    "comment_lines",
    "simulated_drift_histories",
]

logger = logging.getLogger(__name__)

CAPACITY_FADE_FRAC = 0.10
"""Capacity the ``capacity_fade`` house has lost against the configured one."""

PV_FORECAST_BIAS_FRAC = 0.20
"""How much too high the ``pv_bias`` house's PV forecast is (forecast / actual - 1)."""

EVENING_LOAD_FACTOR = 1.8
"""The ``evening_low_soc`` house's 16-20 h load against the forecast one."""

EVENING_BATTERY_KWH = 3.0
"""The ``evening_low_soc`` house's battery, in its config and in the house [kWh]."""

DRIFT_START = datetime(2018, 2, 28, 23, 0, tzinfo=UTC)
"""Default start of the histories: 1 March 2018, 00:00 local time (UTC)."""

_EVENING_HOURS = (16, 20)

DRIFT_CONFIG_TEXT = """\
# Darkstar config of a Reflex drift history (simulated home, SE4 2018).
# Reflex may tune the four keys below; every other comment must survive it.

battery:
  capacity_kwh: 10.0  # nameplate of the installed battery
  min_soc_percent: 10.0  # soft floor

# Wear: paid per kWh charged plus per kWh discharged.
battery_economics:
  battery_cycle_cost_kwh: 0.2  # SEK/kWh

s_index:
  base_factor: 1.1  # load inflation

forecasting:
  # share of the PV forecast the planner trusts
  pv_confidence_percent: 90.0
"""
"""The ``config.yaml`` each history starts from (the defaults, with comments)."""


class Drift(StrEnum):
    """The injected drift of a simulated history."""

    CLEAN = "clean"
    CAPACITY_FADE = "capacity_fade"
    PV_BIAS = "pv_bias"
    EVENING_LOW_SOC = "evening_low_soc"


@dataclass(frozen=True, kw_only=True)
class DriftRun:
    """One history and what Reflex made of it.

    Attributes
    ----------
    drift : Drift
        What was injected.
    days : float
        Simulated days run [day].
    now : datetime
        The end of the history: the analysis time.
    dry : tuple of Assessment
        The dry-run assessments (nothing written).
    applied : ReflexReport
        The applied run: its changes are in ``config_path``.
    again : ReflexReport
        An applied run an hour later: the daily rate limit must hold every changed key.
    config_path : Path
        The history's ``config.yaml``.
    comments_kept : bool
        Whether the file still has every comment it started with, in order.
    """

    drift: Drift
    days: float
    now: datetime
    dry: tuple[Assessment, ...]
    applied: ReflexReport
    again: ReflexReport
    config_path: Path
    comments_kept: bool


def comment_lines(text: str) -> list[str]:
    """Return the comments of a YAML text (whole-line and end-of-line), stripped."""
    found = []
    for line in text.splitlines():
        if "#" in line:
            found.append(line[line.index("#") :].strip())
    return found


def _run_history(
    drift: Drift,
    *,
    folder: Path,
    days: float,
    start: datetime,
    on_day: Callable[[Drift, int], None] | None,
) -> DriftRun:
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "config.yaml"
    text = DRIFT_CONFIG_TEXT
    if drift is Drift.EVENING_LOW_SOC:
        text = text.replace("capacity_kwh: 10.0", f"capacity_kwh: {EVENING_BATTERY_KWH}")
        text = text.replace("base_factor: 1.1", "base_factor: 1.0")
    config_path.write_text(text, encoding="utf-8")
    cfg = load_config(config_path)
    house_cfg = cfg
    if drift is Drift.CAPACITY_FADE:
        faded = cfg.battery.capacity_kwh * (1.0 - CAPACITY_FADE_FRAC)
        house_cfg = cfg.model_copy(
            update={"battery": cfg.battery.model_copy(update={"capacity_kwh": faded})}
        )
    agent, world, n_steps = open_agent(cfg=house_cfg, out_dir=folder, start=start, days=days)
    store = agent.store
    try:
        if house_cfg is not cfg:  # the house is built from house_cfg, the agent plans on cfg
            agent = AgentLoop(world=world, cfg=cfg, store=store, out_dir=folder)
        if drift is Drift.PV_BIAS:  # new arrays: the year's own stay as the forecasts
            world.pv_kw = world.pv_kw / (1.0 + PV_FORECAST_BIAS_FRAC)
        if drift is Drift.EVENING_LOW_SOC:
            hours = world.year.index.tz_convert(world.tz).hour
            evening = (hours >= _EVENING_HOURS[0]) & (hours < _EVENING_HOURS[1])
            world.load_kw = world.load_kw * (1.0 + (EVENING_LOAD_FACTOR - 1.0) * evening)
        per_day = timedelta(days=1) // SLOT
        for step in range(n_steps):
            agent.step()
            if on_day is not None and (step + 1) % per_day == 0:
                on_day(drift, (step + 1) // per_day)
        now, tz = world.house.now, world.tz
        dry = assess_reflex(store, cfg, now=now, tz=tz)
        applied = run_reflex(store, cfg, now=now, config_path=config_path, apply=True, tz=tz)
        later = now + timedelta(hours=1)
        again = run_reflex(
            store, load_config(config_path), now=later, config_path=config_path, apply=True, tz=tz
        )
    finally:
        store.close()
    kept = comment_lines(text) == comment_lines(config_path.read_text(encoding="utf-8"))
    return DriftRun(
        drift=drift,
        days=days,
        now=now,
        dry=dry,
        applied=applied,
        again=again,
        config_path=config_path,
        comments_kept=kept,
    )


def simulated_drift_histories(
    out_dir: Path,
    *,
    days: float = 30.0,
    start: datetime = DRIFT_START,
    drifts: Sequence[Drift] = tuple(Drift),
    on_day: Callable[[Drift, int], None] | None = None,
) -> dict[Drift, DriftRun]:
    """Run the agent on the simulated home with each drift, then Reflex on its history.

    Parameters
    ----------
    out_dir : Path
        One folder per drift is made here (store, ``schedule.json``, ``config.yaml``);
        an existing folder's store is appended to, so use a fresh ``out_dir``.
    days : float, default 30
        Simulated days per history (the ROI and capacity windows are 30 days) [day].
    start : datetime, default :data:`DRIFT_START`
        Simulated start, on a 15-minute boundary of 2018 (UTC).
    drifts : Sequence[Drift], default all four
        Which histories to run.
    on_day : callable, optional
        Called with the drift and the number of days done after each simulated day.

    Returns
    -------
    dict
        :class:`DriftRun` per drift.

    Raises
    ------
    InputError
        For a ``days`` or ``start`` off the data year.
    """
    return {
        drift: _run_history(
            drift, folder=out_dir / drift.value, days=days, start=start, on_day=on_day
        )
        for drift in drifts
    }
