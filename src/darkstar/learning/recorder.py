"""Slot energies from cumulative energy counters: the pure maths of the recorder.

A slot's energy is the **increase of a cumulative counter** over ``[start, end)`` -- an
integral read from the meter, never a power snapshot times 0.25 h (DESIGN §2, step 6).
No I/O here: the backfill (:mod:`darkstar.learning.backfill`) fetches the states.

Rules (the choices are deliberate; tests pin each one):

* **Boundary value.** A counter is a step function, as Home Assistant records it: a state
  holds until the next change. The value at a boundary ``t`` is the last sample at or
  before ``t`` (a sample stamped exactly ``t`` counts).
* **Unknown boundary.** A boundary is unknown -- and every slot it delimits is a gap --
  when there is no sample at or before it, or when the sample in effect at it is
  unreadable (``unavailable``, ``unknown``, non-numeric, a unit that is not energy, a
  negative reading). Age alone does *not* make a value unknown: a counter that does not
  change because nothing flows (PV at night) is legitimately old, and HA's history starts
  each list with the state in effect at its ``start``, stamped ``start``, so "no change"
  is known. ``max_sample_age`` (default ``None``, no limit) exists for sources that
  re-report periodically, where silence does mean trouble.
* **Held across a change** (``max_change_span``, default ``None``: off). A held value is
  exact only while nothing moved, or while Home Assistant was recording: when the counter
  *changed* between the sample before a boundary and the one after it, and those two lie
  further apart than ``max_change_span``, nobody knows when in between the energy flowed
  (HA was down -- it records nothing then and shows the old state as held -- or the sensor
  reports rarely), so the boundary is unknown. Unchanged across the span stays exact (a
  counter never goes back: PV at night). The live backfill sets it to one slot.
* **Resets** follow HA's ``total_increasing`` rule (``reset_detected`` in
  ``homeassistant/components/sensor/recorder.py``): a reading below 90 % of the previous
  one starts a new meter cycle from 0 (meter replaced, inverter reboot), so the energy
  across it is ``(value before - value at the slot start) + value after``. A smaller
  drop (a *dip*, >= 90 %) is not a reset: HA's ``sum`` follows it down and back up. We do
  the same arithmetic, so our slots add up to HA's hourly ``change``; a slot whose energy
  comes out negative is a gap, never a clipped 0.
* **Glitches** (our addition to HA's rule): a reset whose next readable sample climbs
  back to at least the value before the drop (``12345 -> 0 -> 12345.1``, a bad Modbus
  read) is not a new cycle -- HA would count 12345 kWh -- it is treated as an unreadable
  sample. Unreadable samples strictly inside a slot are skipped (HA skips non-numeric
  states too); only the boundaries must be readable.

A slot is either :class:`SlotEnergies` (every field, kWh) or :class:`SlotGap` (the reason in
words, naming field and entity). Gaps are never filled.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from darkstar.errors import DarkstarError, InputError
from darkstar.house.interface import STATE_UNAVAILABLE, STATE_UNKNOWN
from darkstar.house.units import Quantity, UnreadableState, read_number

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from darkstar.house.interface import EntityState

__all__ = [
    "RESET_FRAC",
    "SLOT",
    "CounterGapError",
    "CounterSample",
    "CounterSeries",
    "SlotEnergies",
    "SlotGap",
    "counter_at",
    "counter_increase_kwh",
    "series_from_states",
    "slot_energies",
]

SLOT = timedelta(minutes=15)
"""Default slot length."""

RESET_FRAC = 0.9
"""A reading below this fraction of the previous one is a new cycle (HA ``reset_detected``)."""


class CounterSample(NamedTuple):
    """One recorded counter state: when it was written and its value [kWh].

    ``value_kwh`` is ``None`` for an unreadable state, with ``problem`` saying why.
    """

    at: datetime
    value_kwh: float | None
    problem: str | None = None


class CounterGapError(DarkstarError):
    """A counter's value or increase is unknown; names the entity and the reason."""

    def __init__(self, entity_id: str, reason: str) -> None:
        self.entity_id = entity_id
        self.reason = reason
        super().__init__(f"{entity_id}: {reason}")


def _check_utc(value: datetime, name: str) -> None:
    """Raise ``InputError`` naming ``name`` unless ``value`` is tz-aware UTC."""
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise InputError(name, f"must be a tz-aware UTC datetime, got {value!r}")


def _marked(samples: Sequence[CounterSample]) -> tuple[CounterSample, ...]:
    """Mark negative readings and glitches (drop, then back up) as unreadable."""
    readable = [(i, s.value_kwh) for i, s in enumerate(samples) if s.value_kwh is not None]
    following: list[float | None] = []  # the next non-negative reading after each one
    nxt: float | None = None
    for _, value in reversed(readable):
        following.append(nxt)
        nxt = value if value >= 0 else nxt
    following.reverse()
    out = list(samples)
    prev: float | None = None
    for (i, value), nxt in zip(readable, following, strict=True):
        if value < 0:
            out[i] = samples[i]._replace(value_kwh=None, problem=f"negative reading {value}")
            continue
        if prev is not None and value < RESET_FRAC * prev and nxt is not None and nxt >= prev:
            problem = f"read {value} kWh between {prev} and {nxt}: a glitch, not a new cycle"
            out[i] = samples[i]._replace(value_kwh=None, problem=problem)
            continue
        prev = value
    return tuple(out)


@dataclass(frozen=True)
class CounterSeries:
    """The samples of one cumulative energy counter, oldest first.

    Attributes
    ----------
    entity_id : str
        The counter's entity, named in every gap reason.
    samples : tuple of CounterSample
        Sorted by ``at`` (tz-aware UTC); equal times keep their order (the last wins).
    """

    entity_id: str
    samples: tuple[CounterSample, ...]
    _readings: tuple[CounterSample, ...] = field(init=False, repr=False, compare=False)
    _times: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for i, sample in enumerate(self.samples):
            _check_utc(sample.at, f"{self.entity_id}.samples[{i}].at")
            if i and sample.at < self.samples[i - 1].at:
                raise InputError(f"{self.entity_id}.samples[{i}].at", "samples are not sorted")
        object.__setattr__(self, "_readings", _marked(self.samples))
        object.__setattr__(self, "_times", tuple(s.at for s in self.samples))


def series_from_states(entity_id: str, states: Iterable[EntityState]) -> CounterSeries:
    """Read HA-shaped states of one counter into a :class:`CounterSeries` [kWh].

    Each state goes through :func:`~darkstar.house.units.read_number` (Wh, kWh and MWh
    become kWh); one it refuses becomes an unreadable sample carrying its reason.
    """
    samples = []
    for state in states:
        if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):  # before its unit, often gone
            samples.append(CounterSample(state.last_updated, None, f"state is {state.state!r}"))
            continue
        try:
            samples.append(
                CounterSample(state.last_updated, read_number(state, Quantity.ENERGY_KWH))
            )
        except UnreadableState as exc:
            problem = str(exc).removeprefix(f"{state.entity_id}: ")
            samples.append(CounterSample(state.last_updated, None, problem))
    return CounterSeries(entity_id, tuple(samples))


def _index_at(series: CounterSeries, moment: datetime) -> int:
    """Index of the last sample at or before ``moment`` (-1: none)."""
    return bisect.bisect_right(series._times, moment) - 1


def counter_at(
    series: CounterSeries,
    moment: datetime,
    *,
    max_sample_age: timedelta | None = None,
    max_change_span: timedelta | None = None,
) -> float:
    """Return the counter's value in effect at ``moment``: the last sample at or before it.

    Parameters
    ----------
    series : CounterSeries
        The counter's samples.
    moment : datetime
        tz-aware UTC.
    max_sample_age : timedelta, optional
        When set, a sample older than this at ``moment`` makes the value unknown.
    max_change_span : timedelta, optional
        When set, a value held at ``moment`` between two samples further apart than this
        whose values differ is unknown (see the module's rules).

    Returns
    -------
    float
        The counter value. [kWh]

    Raises
    ------
    CounterGapError
        No sample at or before ``moment``, an unreadable one in effect, or a stale one.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 10, 10, tzinfo=UTC)
    >>> s = CounterSeries("sensor.pv", (CounterSample(t, 10.0), CounterSample(t + SLOT, 10.5)))
    >>> counter_at(s, t + SLOT / 2), counter_at(s, t + SLOT)
    (10.0, 10.5)
    """
    _check_utc(moment, "moment")
    i = _index_at(series, moment)
    if i < 0:
        raise CounterGapError(series.entity_id, f"no state at or before {moment.isoformat()}")
    sample = series._readings[i]
    if sample.value_kwh is None:
        why = f"state in effect at {moment.isoformat()} is unreadable ({sample.problem})"
        raise CounterGapError(series.entity_id, why)
    if max_sample_age is not None and moment - sample.at > max_sample_age:
        age = moment - sample.at
        why = f"last state at {sample.at.isoformat()} is {age} old (limit {max_sample_age})"
        raise CounterGapError(series.entity_id, why)
    if max_change_span is not None and sample.at < moment:
        after = next((r for r in series._readings[i + 1 :] if r.value_kwh is not None), None)
        if (
            after is not None
            and after.at - sample.at > max_change_span
            and after.value_kwh != sample.value_kwh
        ):
            why = (
                f"changed from {sample.value_kwh:g} to {after.value_kwh:g} kWh between "
                f"{sample.at.isoformat()} and {after.at.isoformat()} with no state in between "
                "(Home Assistant down, or a sensor that reports rarely): its value at "
                f"{moment.isoformat()} is unknown"
            )
            raise CounterGapError(series.entity_id, why)
    return sample.value_kwh


def counter_increase_kwh(
    series: CounterSeries,
    *,
    start: datetime,
    end: datetime,
    max_sample_age: timedelta | None = None,
    max_change_span: timedelta | None = None,
) -> float:
    """Return the counter's increase over ``[start, end)``, resets added back [kWh].

    Notes
    -----
    HA's ``sum`` arithmetic: walking the readable samples in ``(start, end]`` from the value
    at ``start``, a sample below 0.9 times the previous one closes a cycle (adding
    ``previous - cycle start``) and opens the next at 0; the last cycle adds
    ``value at end - cycle start``. Without a reset this is just ``end - start`` (one
    subtraction, no accumulated round-off). Both boundaries must be known.

    Raises
    ------
    CounterGapError
        A boundary is unknown (see :func:`counter_at`), or the increase is negative (a dip).
    """
    limits = {"max_sample_age": max_sample_age, "max_change_span": max_change_span}
    prev = cycle_start = counter_at(series, start, **limits)
    counter_at(series, end, **limits)
    total = 0.0
    first, last = _index_at(series, start) + 1, _index_at(series, end)
    for sample in series._readings[first : last + 1]:
        if sample.value_kwh is None:
            continue
        if sample.value_kwh < RESET_FRAC * prev:  # a new cycle, counting from 0
            total += prev - cycle_start
            cycle_start = 0.0
        prev = sample.value_kwh
    total += prev - cycle_start
    if total < 0:
        why = (
            f"fell by {-total:.6g} kWh in [{start.isoformat()}, {end.isoformat()}) without a"
            " reset (a dip of less than 10 %, which total_increasing keeps as a decrease)"
        )
        raise CounterGapError(series.entity_id, why)
    return total


@dataclass(frozen=True)
class SlotEnergies:
    """The measured energy of one slot: observation field -> kWh, for every counter."""

    slot_start: datetime
    energy_kwh: Mapping[str, float]


@dataclass(frozen=True)
class SlotGap:
    """A slot whose energy is unknown, with the reason in words (field and entity named)."""

    slot_start: datetime
    reason: str


def slot_energies(
    counters: Mapping[str, CounterSeries],
    slot_starts: Sequence[datetime],
    *,
    slot: timedelta = SLOT,
    max_sample_age: timedelta | None = None,
    max_change_span: timedelta | None = None,
) -> list[SlotEnergies | SlotGap]:
    """Compute each slot's energy per field from cumulative counters.

    Parameters
    ----------
    counters : Mapping[str, CounterSeries]
        Observation field (``pv_kwh``, ...) -> its counter's samples.
    slot_starts : Sequence[datetime]
        tz-aware UTC slot starts; each slot is ``[start, start + slot)``.
    slot : timedelta, default 15 min
        Slot length.
    max_sample_age : timedelta, optional
        See :func:`counter_at`; ``None`` (default) never calls a value stale.
    max_change_span : timedelta, optional
        See :func:`counter_at`; ``None`` (default) trusts a held value however long.

    Returns
    -------
    list of SlotEnergies or SlotGap
        One per slot start, in order. A gap lists every field that failed.

    Raises
    ------
    InputError
        No counters, a non-positive ``slot``, or a slot start that is not tz-aware UTC.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 10, 10, tzinfo=UTC)
    >>> pv = CounterSeries("sensor.pv", (CounterSample(t, 10.0), CounterSample(t + SLOT, 10.5)))
    >>> slot_energies({"pv_kwh": pv}, [t])[0].energy_kwh
    {'pv_kwh': 0.5}
    """
    if not counters:
        raise InputError("counters", "no counters given")
    if slot <= timedelta(0):
        raise InputError("slot", f"must be positive, got {slot}")
    out: list[SlotEnergies | SlotGap] = []
    for i, start in enumerate(slot_starts):
        _check_utc(start, f"slot_starts[{i}]")
        energy: dict[str, float] = {}
        reasons: list[str] = []
        for name, series in counters.items():
            try:
                energy[name] = counter_increase_kwh(
                    series,
                    start=start,
                    end=start + slot,
                    max_sample_age=max_sample_age,
                    max_change_span=max_change_span,
                )
            except CounterGapError as exc:
                reasons.append(f"{name}: {exc}")
        out.append(SlotGap(start, "; ".join(reasons)) if reasons else SlotEnergies(start, energy))
    return out
