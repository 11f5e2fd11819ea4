"""The Strategy Engine's decisions of each new plan, kept in the store's strategy log.

A plan carries them in ``meta["strategy_engine"]``::

    {"decisions": [{"rule": str, "parameter": str, "before": float | None,
                    "after": float | None, "reason": str, "inputs": {...}}, ...],
     "enabled_rules": [str, ...]}

(absent or empty in older plans). :class:`DecisionLog` appends each decision as one
``strategy`` row (``before``/``after`` as ``{parameter: value}``) when the plan's set of
``(rule, parameter, after)`` differs from the previous plan's, so hourly replans that decide
the same add no rows. The previous set is remembered in memory and, after a restart, read
back from the newest ``strategy`` rows. A set that became empty is remembered too: the same
decisions coming back later are logged again, as a new start.

Failures never reach the agent loop: a failed write is logged (and reported by the store's
``last_write_error``) and retried with the next plan; a malformed decision is skipped with a
warning.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from darkstar.errors import InputError
from darkstar.learning.store import StoreError
from darkstar.learning.store.strategy_log import (
    StrategyKind,
    append_strategy_entry,
    read_strategy_log,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from darkstar.learning.store import Store

__all__ = ["Decision", "DecisionLog", "decisions_from_meta"]

logger = logging.getLogger(__name__)

_SEED_ROWS = 200  # newest strategy rows read to find the last persisted set after a restart
_DIGITS = 9  # values equal to this many decimals are the same decision

DecisionKey = tuple[str, str, float | None]


def _number(value: Any) -> float | None:
    """Return a finite float, ``None`` for ``None``; anything else raises ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"not a finite number: {value!r}"
        raise ValueError(msg)
    return float(value)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One Strategy Engine decision of a plan.

    Attributes
    ----------
    rule : str
        The rule that decided.
    parameter : str
        The planner parameter it overrode (a dotted config key or an override name).
    before, after : float or None
        Its value without and with the rule, in the parameter's unit.
    reason : str
        Why, in words.
    inputs : Mapping[str, Any]
        The context the rule read (JSON-ready).
    """

    rule: str
    parameter: str
    before: float | None
    after: float | None
    reason: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> DecisionKey:
        """``(rule, parameter, after)``: what makes two plans' decisions the same."""
        return self.rule, self.parameter, None if self.after is None else round(self.after, _DIGITS)

    @property
    def message(self) -> str:
        """One line: ``parameter: before -> after (reason)``."""
        before = "-" if self.before is None else f"{self.before:g}"
        after = "-" if self.after is None else f"{self.after:g}"
        return f"{self.parameter}: {before} -> {after} ({self.reason})"


def _decision(item: Any) -> Decision:
    """One decision of the plan's meta; raises ``KeyError``/``TypeError``/``ValueError``."""
    if not isinstance(item, dict):
        msg = "not an object"
        raise TypeError(msg)
    rule, parameter = item["rule"], item["parameter"]
    if not (isinstance(rule, str) and rule and isinstance(parameter, str) and parameter):
        msg = "rule and parameter must be non-empty text"
        raise TypeError(msg)
    inputs = item.get("inputs") or {}
    if not isinstance(inputs, dict):
        msg = "inputs must be an object"
        raise TypeError(msg)
    return Decision(
        rule=rule,
        parameter=parameter,
        before=_number(item.get("before")),
        after=_number(item.get("after")),
        reason=str(item.get("reason") or ""),
        inputs=inputs,
    )


def decisions_from_meta(meta: Mapping[str, Any]) -> tuple[Decision, ...]:
    """Return the decisions in a plan's ``meta["strategy_engine"]`` (none when absent).

    A malformed decision is skipped with a warning (never a guess).

    Examples
    --------
    >>> decisions_from_meta({"planned_at": "2018-05-01T00:00:00+00:00"})
    ()
    >>> meta = {"strategy_engine": {"decisions": [{"rule": "spread", "parameter": "wear",
    ...         "before": 0.2, "after": 0.1, "reason": "wide spread", "inputs": {}}]}}
    >>> decisions_from_meta(meta)[0].message
    'wear: 0.2 -> 0.1 (wide spread)'
    """
    engine = meta.get("strategy_engine")
    if not isinstance(engine, dict):
        return ()
    raw = engine.get("decisions") or []
    if not isinstance(raw, list):
        logger.warning("meta.strategy_engine.decisions is not a list: ignored")
        return ()
    decisions = []
    for i, item in enumerate(raw):
        try:
            decisions.append(_decision(item))
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("meta.strategy_engine.decisions[%d] skipped: %s", i, exc)
    return tuple(decisions)


def _persisted_key(rule: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> DecisionKey:
    parameter = next(iter(after), None) or next(iter(before), "")
    value = after.get(parameter)
    number = float(value) if isinstance(value, int | float) else None
    return rule, parameter, None if number is None else round(number, _DIGITS)


class DecisionLog:
    """Appends a plan's Strategy Engine decisions to the strategy log when they change.

    Parameters
    ----------
    store : Store
        The learning store whose strategy log gets the ``strategy`` rows.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._last: frozenset[DecisionKey] | None = None

    def _last_persisted(self) -> frozenset[DecisionKey]:
        """Return the set of the newest ``strategy`` rows (a plan's decisions share a time)."""
        try:
            rows = read_strategy_log(self.store, limit=_SEED_ROWS, kind=StrategyKind.STRATEGY)
        except StoreError:
            logger.warning("strategy log unreadable: the plan's decisions are logged anew")
            return frozenset()
        newest = [r for r in rows if rows and r.at == rows[0].at]
        return frozenset(_persisted_key(r.rule, r.before, r.after) for r in newest)

    def record(self, meta: Mapping[str, Any], *, at: datetime) -> int:
        """Log the decisions of the plan with ``meta`` made at ``at`` if they changed.

        Returns
        -------
        int
            Rows appended (0: unchanged, none, or the write failed and is retried with the
            next plan).
        """
        decisions = decisions_from_meta(meta)
        keys = frozenset(d.key for d in decisions)
        if self._last is None:
            self._last = self._last_persisted()
        if keys == self._last:
            return 0
        written, failed = 0, False
        for d in decisions:
            try:
                ok = append_strategy_entry(
                    self.store,
                    at=at,
                    kind=StrategyKind.STRATEGY,
                    rule=d.rule,
                    message=d.message,
                    inputs=d.inputs,
                    before={d.parameter: d.before},
                    after={d.parameter: d.after},
                )
            except InputError as exc:  # e.g. a rule name too long, inputs not JSON
                logger.warning("strategy decision %s not logged: %s", d.rule, exc)
                continue
            written += ok
            failed |= not ok
        if not failed:
            self._last = keys
        return written
