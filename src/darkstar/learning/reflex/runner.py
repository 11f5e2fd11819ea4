"""Running Reflex: measure the signals, assess each key, log proposals, apply changes.

:func:`assess_reflex` only reads (the store and its strategy log) and returns one
:class:`~darkstar.learning.reflex.analyzers.Assessment` per analyzer: ``darkstar reflex
--dry-run`` prints them and writes nothing. :func:`run_reflex` also appends every proposal
to the strategy log (``reflex_proposal``) and, with ``apply`` (the Reflex switch on), writes
the proposed values to ``config.yaml`` in one validated, atomic, comment-preserving
:func:`~darkstar.config.yaml_io.update_config_file` call and logs each change
(``reflex_applied``, the old value in ``before``).

A key's history comes from the strategy log alone:

* **last change** -- the latest ``reflex_applied`` row of its rule (the rate limit: one
  change per key per local day; and the start of the evidence of the step rules);
* **user value** -- :func:`user_value`: the value before the unbroken chain of Reflex's
  changes that led to the current value. For ``battery.capacity_kwh`` it is the
  *nameplate* Reflex never exceeds: the capacity the user configured before Reflex first
  lowered it. It needs no new config key and follows the user: a value the user types in
  later (a new battery) breaks the chain and becomes the new nameplate.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from darkstar.config.loader import load_config
from darkstar.config.yaml_io import update_config_file
from darkstar.errors import InputError
from darkstar.learning.reflex.analyzers import (
    CONFIG_KEYS,
    Analyzer,
    Assessment,
    analyze_capacity,
    analyze_confidence,
    analyze_roi,
    analyze_safety,
)
from darkstar.learning.reflex.signals import (
    read_capacity_signal,
    read_confidence_signal,
    read_roi_signal,
    read_safety_signal,
)
from darkstar.learning.store.strategy_log import (
    StrategyKind,
    StrategyRecord,
    append_strategy_entry,
    read_strategy_log,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime, tzinfo
    from pathlib import Path

    from darkstar.config.models import DarkstarConfig
    from darkstar.learning.store import Store

__all__ = [
    "KEY_HISTORY_LIMIT",
    "KeyHistory",
    "ReflexReport",
    "assess_reflex",
    "config_value",
    "describe_signal",
    "key_history",
    "run_reflex",
    "user_value",
]

logger = logging.getLogger(__name__)

KEY_HISTORY_LIMIT = 1000
"""Applied changes of one key read back to find its user value (at most one a day: the
chain of nearly three years of daily changes)."""


def config_value(cfg: DarkstarConfig, key: str) -> float:
    """Return the value of a dotted config key, e.g. ``battery.capacity_kwh``."""
    node: Any = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return float(node)


def user_value(applied: Sequence[StrategyRecord], *, key: str, current: float) -> float:
    """Return ``key``'s value before Reflex's unbroken chain of changes leading to ``current``.

    Parameters
    ----------
    applied : Sequence[StrategyRecord]
        The key's ``reflex_applied`` rows, newest first.
    key : str
        The config key.
    current : float
        Its value now.

    Returns
    -------
    float
        Walking back from the newest change while each change's ``after`` is the value that
        followed it, the ``before`` of the oldest; ``current`` when the newest change did not
        lead to it (the user set it since) or there is none.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> def change(before: float, after: float) -> StrategyRecord:
    ...     at = datetime(2027, 5, 1, tzinfo=UTC)
    ...     return StrategyRecord(id=0, at=at, kind="reflex_applied", rule="reflex.capacity",
    ...                           message="", inputs={}, before={"c": before}, after={"c": after})
    >>> user_value([change(9.5, 9.0), change(10.0, 9.5)], key="c", current=9.0)
    10.0
    >>> user_value([change(9.5, 9.0)], key="c", current=12.0)  # the user set a new value
    12.0
    """
    value = current
    for entry in applied:
        before, after = entry.before.get(key), entry.after.get(key)
        if not isinstance(before, int | float) or not isinstance(after, int | float):
            break
        if not math.isclose(after, value, rel_tol=1e-9, abs_tol=1e-9):
            break
        value = float(before)
    return value


@dataclass(frozen=True, kw_only=True)
class KeyHistory:
    """What the strategy log says about one key.

    Attributes
    ----------
    last_change : datetime or None
        When Reflex last changed it (UTC); ``None``: never.
    user_value : float
        :func:`user_value` of its current value.
    """

    last_change: datetime | None
    user_value: float


def key_history(store: Store, analyzer: Analyzer, *, current: float, now: datetime) -> KeyHistory:
    """Read the key's ``reflex_applied`` rows up to ``now`` into a :class:`KeyHistory`.

    Raises
    ------
    StoreError
        When the store cannot be read.
    """
    applied = read_strategy_log(
        store,
        limit=KEY_HISTORY_LIMIT,
        kind=StrategyKind.REFLEX_APPLIED,
        rule=analyzer.rule,
        until=now,
    )
    return KeyHistory(
        last_change=applied[0].at if applied else None,
        user_value=user_value(applied, key=CONFIG_KEYS[analyzer], current=current),
    )


def assess_reflex(
    store: Store, cfg: DarkstarConfig, *, now: datetime, tz: tzinfo
) -> tuple[Assessment, ...]:
    """Measure the four signals before ``now`` and assess each key; write nothing.

    Parameters
    ----------
    store : Store
        The learning store (observations, forecasts as issued, the strategy log).
    cfg : DarkstarConfig
        The configuration in force (the current values, battery minimum SoC, capacity and
        efficiencies the signals need).
    now : datetime
        The analysis time, tz-aware: windows end here and the strategy log is read up to it.
    tz : tzinfo
        The house's local time (evenings, days).

    Returns
    -------
    tuple of Assessment
        Safety, confidence, ROI, capacity, in that order.

    Raises
    ------
    InputError
        For a naive ``now``.
    StoreError
        When the store cannot be read.
    """
    if now.utcoffset() is None:
        raise InputError("now", f"{now!r} must be tz-aware")
    current = {a: config_value(cfg, CONFIG_KEYS[a]) for a in Analyzer}
    history = {a: key_history(store, a, current=current[a], now=now) for a in Analyzer}
    battery = cfg.battery
    safety = read_safety_signal(
        store,
        now=now,
        tz=tz,
        min_soc_percent=battery.min_soc_percent,
        since=history[Analyzer.SAFETY].last_change,
    )
    roi = read_roi_signal(
        store,
        now=now,
        capacity_kwh=battery.capacity_kwh,
        since=history[Analyzer.ROI].last_change,
    )
    capacity = read_capacity_signal(
        store,
        now=now,
        charge_efficiency=battery.charge_efficiency,
        discharge_efficiency=battery.discharge_efficiency,
    )
    confidence = read_confidence_signal(store, now=now, tz=tz)
    return (
        analyze_safety(
            safety,
            current=current[Analyzer.SAFETY],
            last_change=history[Analyzer.SAFETY].last_change,
            now=now,
            tz=tz,
        ),
        analyze_confidence(
            confidence,
            current=current[Analyzer.CONFIDENCE],
            user_value=history[Analyzer.CONFIDENCE].user_value,
            last_change=history[Analyzer.CONFIDENCE].last_change,
            now=now,
            tz=tz,
        ),
        analyze_roi(
            roi,
            current=current[Analyzer.ROI],
            last_change=history[Analyzer.ROI].last_change,
            now=now,
            tz=tz,
        ),
        analyze_capacity(
            capacity,
            current=current[Analyzer.CAPACITY],
            nameplate=history[Analyzer.CAPACITY].user_value,
            last_change=history[Analyzer.CAPACITY].last_change,
            now=now,
            tz=tz,
        ),
    )


@dataclass(frozen=True, kw_only=True)
class ReflexReport:
    """What one run of Reflex concluded, logged and wrote.

    Attributes
    ----------
    now : datetime
        The analysis time.
    assessments : tuple of Assessment
        One per analyzer (safety, confidence, ROI, capacity).
    applied : Mapping[str, tuple[float, float]]
        Key -> ``(before, after)`` of each change written to the config file.
    not_applied : Mapping[str, str]
        Key -> why a proposal was not written although ``apply`` was asked.
    log_error : str or None
        Why a strategy-log write failed (``None``: all were written).
    """

    now: datetime
    assessments: tuple[Assessment, ...]
    applied: Mapping[str, tuple[float, float]] = field(default_factory=lambda: MappingProxyType({}))
    not_applied: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    log_error: str | None = None

    @property
    def proposals(self) -> tuple[Assessment, ...]:
        """The assessments that propose a change."""
        return tuple(a for a in self.assessments if a.changed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``now``, ``assessments``, ``applied``, ``not_applied``, ``log_error``."""
        return {
            "now": self.now.isoformat(),
            "assessments": [a.to_dict() for a in self.assessments],
            "applied": {k: {"before": b, "after": a} for k, (b, a) in self.applied.items()},
            "not_applied": dict(self.not_applied),
            "log_error": self.log_error,
        }


def describe_signal(assessment: Assessment) -> str:
    """Return the signal behind an assessment in a few words, for tables (CLI, web).

    Examples
    --------
    >>> from darkstar.learning.reflex.analyzers import Analyzer, Assessment
    >>> describe_signal(Assessment(analyzer=Analyzer.CONFIDENCE, key="k", current=90.0,
    ...                            proposed=None, reason="", signal={"bias_frac": -0.1667,
    ...                            "pv_days": 14}))
    'PV -16.7 % vs forecast, 14 PV days'
    """
    s = assessment.signal
    if assessment.analyzer is Analyzer.SAFETY:
        return (
            f"{s.get('low_soc_days')} low-SoC evenings of {s.get('evenings_observed')}, "
            f"clean streak {s.get('clean_streak_days')} d"
        )
    if assessment.analyzer is Analyzer.CONFIDENCE:
        bias = s.get("bias_frac")
        shown = "no bias" if bias is None else f"PV {round(100 * bias, 1) + 0.0:+.1f} % vs forecast"
        return f"{shown}, {s.get('pv_days')} PV days"
    if assessment.analyzer is Analyzer.ROI:
        per_cycle = s.get("profit_per_cycle_sek")
        shown = "no cycle" if per_cycle is None else f"{per_cycle:.2f} SEK/cycle"
        return f"{shown}, {s.get('full_cycles', 0.0):.1f} cycles"
    capacity = s.get("capacity_kwh")
    shown = "no estimate" if capacity is None else f"{capacity:.2f} kWh"
    return f"{shown}, {s.get('episodes')} deep discharges"


def _log(store: Store, kind: StrategyKind, a: Assessment, *, now: datetime, message: str) -> bool:
    return append_strategy_entry(
        store,
        at=now,
        kind=kind,
        rule=a.analyzer.rule,
        message=message,
        inputs=a.signal,
        before={a.key: a.current},
        after={a.key: a.proposed},
    )


def _apply(
    store: Store, proposals: Sequence[Assessment], *, now: datetime, config_path: Path
) -> tuple[dict[str, tuple[float, float]], dict[str, str], bool]:
    """Write the proposals whose key still holds the assessed value; log each change."""
    on_file = load_config(config_path)
    changes: list[Assessment] = []
    skipped: dict[str, str] = {}
    for a in proposals:
        value = config_value(on_file, a.key)
        if math.isclose(value, a.current, rel_tol=1e-9, abs_tol=1e-9):
            changes.append(a)
        else:
            skipped[a.key] = f"{config_path.name} holds {value:g}, not the assessed {a.current:g}"
    if not changes:
        return {}, skipped, True
    update_config_file(config_path, {a.key: a.proposed for a in changes})
    logged = True
    for a in changes:
        message = f"{a.key}: {a.current:g} -> {a.proposed:g} in {config_path.name} ({a.reason})"
        logger.info("Reflex applied %s", message)
        logged &= _log(store, StrategyKind.REFLEX_APPLIED, a, now=now, message=message)
    applied = {a.key: (a.current, float(a.proposed or 0.0)) for a in changes}
    return applied, skipped, logged


def run_reflex(
    store: Store,
    cfg: DarkstarConfig,
    *,
    now: datetime,
    config_path: Path | None,
    apply: bool,
    tz: tzinfo,
) -> ReflexReport:
    """Assess, log every proposal and, with ``apply``, write the changes to the config file.

    Parameters
    ----------
    store : Store
        The learning store; proposals and changes go to its strategy log.
    cfg : DarkstarConfig
        The configuration in force.
    now : datetime
        The analysis time, tz-aware (log entries carry it).
    config_path : Path or None
        The user's ``config.yaml``; needed with ``apply``.
    apply : bool
        Write the proposals (the Reflex switch is on). A proposal is not written when the
        file no longer holds the value it was assessed on (someone changed it meanwhile),
        nor when the proposals could not be logged (the rate limit reads the log).
    tz : tzinfo
        The house's local time.

    Returns
    -------
    ReflexReport
        The assessments, what was applied and what was not, and why. The caller reloads
        its configuration after changes (``cfg`` is not updated).

    Raises
    ------
    InputError
        With ``apply`` and proposals but no ``config_path``; a naive ``now``.
    ConfigError
        When the config file cannot be read or the changed file would not be valid
        (nothing is written then).
    OSError
        When the config file cannot be written.
    StoreError
        When the store cannot be read.
    """
    assessments = assess_reflex(store, cfg, now=now, tz=tz)
    proposals = [a for a in assessments if a.changed]
    logged = True
    for a in proposals:
        message = f"{a.key}: {a.current:g} -> {a.proposed:g} ({a.reason})"
        logger.info("Reflex proposes %s", message)
        logged &= _log(store, StrategyKind.REFLEX_PROPOSAL, a, now=now, message=message)
    log_error = None if logged else store.last_write_error or "strategy log write failed"
    if not (apply and proposals):
        return ReflexReport(now=now, assessments=assessments, log_error=log_error)
    if config_path is None:
        raise InputError("config_path", "Reflex needs the config file to apply its changes")
    if not logged:
        reason = f"not applied: the strategy log cannot be written ({log_error})"
        logger.error("Reflex: %s", reason)
        not_applied = {a.key: reason for a in proposals}
        return ReflexReport(
            now=now,
            assessments=assessments,
            not_applied=MappingProxyType(not_applied),
            log_error=log_error,
        )
    applied, skipped, logged = _apply(store, proposals, now=now, config_path=config_path)
    for key, why in skipped.items():
        logger.warning("Reflex did not apply %s: %s", key, why)
    return ReflexReport(
        now=now,
        assessments=assessments,
        applied=MappingProxyType(applied),
        not_applied=MappingProxyType(skipped),
        log_error=None if logged else store.last_write_error or "strategy log write failed",
    )
