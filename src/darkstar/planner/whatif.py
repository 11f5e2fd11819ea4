"""The export what-if: "what if I export X kWh at tomorrow's price peak?".

The answer comes from re-solving, not from a formula. The request is planned as usual (the
base plan); then the very same solver input gets an :class:`ExportCommitment` (at least X
kWh exported within the window) and goes through the same solver path again (Kepler, with
the pipeline's heuristic fallback). The net impact is the difference of the two plans'
costs, energy plus battery wear::

    net_impact_sek = cost(what-if) - cost(base)        (negative = the export earns money)

so it includes everything the re-plan changes: extra charging before the window, load
served from the grid afterwards instead of from the battery, exports moved from other
slots. What the fuse, battery and PV cannot deliver is reported as a shortfall, never an
infeasible model.

The window is one local clock hour: the hour of today or tomorrow (local calendar days,
today being the day the horizon starts) with the highest mean export price, or the hour
starting at a given local time.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar.errors import InputError
from darkstar.physics.timegrid import to_local_iso
from darkstar.planner.pipeline import (
    PlanMode,
    PlanOutcome,
    generate_schedule,
    solve_kepler_input,
)
from darkstar.planner.solver.types import ExportCommitment, PlanStatus

if TYPE_CHECKING:
    from rich.console import Console

    from darkstar.config.models import DarkstarConfig
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.solver.types import KeplerInput, PlanArrays
    from darkstar.planner.strategy.manual_plan import ManualBlock

__all__ = [
    "PEAK_CHOICES",
    "ExportWhatIf",
    "print_export_whatif",
    "resolve_peak_window",
    "whatif_export",
    "whatif_export_input",
]

logger = logging.getLogger(__name__)

#: The named windows ``at`` accepts besides an ISO 8601 local time.
PEAK_CHOICES = ("today peak", "tomorrow peak")

#: Exports this close to the commitment [kWh] count as meeting it (solver tolerance).
_SHORTFALL_TOL_KWH = 1e-6

_HOUR = timedelta(hours=1)


def _local_iso_minutes(moment_utc: datetime, pin: PlannerInput) -> str:
    return moment_utc.astimezone(pin.timezone).isoformat(timespec="minutes")


def _horizon_text(pin: PlannerInput) -> str:
    return f"{_local_iso_minutes(pin.start, pin)} to {_local_iso_minutes(pin.end, pin)}"


def _hour_groups(pin: PlannerInput, day: date) -> list[tuple[int, int]]:
    """Slot ranges ``[first, end)`` of each local clock hour of ``day`` in the horizon.

    The hour repeated when DST ends is two hours here (told apart by their UTC offset).
    """
    groups: dict[tuple[datetime, timedelta | None], list[int]] = {}
    for i, slot in enumerate(pin.slots):
        local = slot.start.astimezone(pin.timezone)
        if local.date() != day:
            continue
        hour = local.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        groups.setdefault((hour, local.utcoffset()), []).append(i)
    return [(idx[0], idx[-1] + 1) for idx in groups.values()]


def _peak_hour(pin: PlannerInput, day: date, *, label: str) -> tuple[int, int]:
    groups = _hour_groups(pin, day)
    if not groups:
        raise InputError(
            "at",
            f"{label!r}: {label.split()[0]} ({day.isoformat()}) is not in the horizon "
            f"({_horizon_text(pin)})",
        )
    prices = pin.column("export_price_sek_per_kwh")
    means = [float(np.mean(prices[first:end])) for first, end in groups]
    return groups[int(np.argmax(means))]  # the earliest hour on a tie


def _parse_local_time(at: str, pin: PlannerInput) -> datetime:
    """Parse an ISO 8601 time; a time without offset is local time in the request's zone."""
    text = at.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or not ("T" in text.upper() or " " in text):
        choices = ", ".join(repr(c) for c in PEAK_CHOICES)
        raise InputError(
            "at", f"expected {choices} or an ISO 8601 local time like 2018-05-17T18:00, got {at!r}"
        )
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    local = moment.replace(tzinfo=pin.timezone)
    moment_utc = local.astimezone(UTC)
    if moment_utc.astimezone(pin.timezone).replace(tzinfo=None) != moment:
        raise InputError(
            "at", f"{at!r} does not exist in {pin.timezone.key} (the clock skips it at DST)"
        )
    return moment_utc


def _hour_from(pin: PlannerInput, at: str) -> tuple[int, int]:
    start = _parse_local_time(at, pin)
    if not pin.start <= start < pin.end:
        raise InputError("at", f"{at!r} is outside the horizon ({_horizon_text(pin)})")
    offset = start - pin.start
    if offset % pin.slot_duration:
        minutes = round(pin.slot_duration.total_seconds() / 60)
        raise InputError(
            "at",
            f"{at!r} is not a slot start (slots are {minutes} min from "
            f"{_local_iso_minutes(pin.start, pin)})",
        )
    first = offset // pin.slot_duration
    end = first + max(1, _HOUR // pin.slot_duration)
    if end > pin.n_slots:
        raise InputError(
            "at", f"the hour from {at!r} runs past the horizon end ({_horizon_text(pin)})"
        )
    return first, end


def resolve_peak_window(pin: PlannerInput, at: str) -> tuple[int, int]:
    """Return the slot range ``[first_slot, end_slot)`` of the what-if window.

    Parameters
    ----------
    pin : PlannerInput
        The planned horizon.
    at : str
        ``"tomorrow peak"``: the local clock hour of tomorrow (the local calendar day after
        the horizon starts) with the highest mean export price; ``"today peak"``: the same
        for the day the horizon starts, from its first slot; or an ISO 8601 time (local in
        the request's zone unless it carries an offset): the hour starting then. Case and
        spacing of the names do not matter; ties go to the earliest hour.

    Raises
    ------
    InputError
        With field ``at``: unknown form, the day or hour is not (wholly) in the horizon,
        or the time is not a slot start.
    """
    name = " ".join(at.lower().split())
    if name in PEAK_CHOICES:
        today = pin.start.astimezone(pin.timezone).date()
        day = today if name == "today peak" else today + timedelta(days=1)
        return _peak_hour(pin, day, label=name)
    return _hour_from(pin, at)


@dataclass(frozen=True, kw_only=True)
class ExportWhatIf:
    """The answer to "what if I export ``energy_kwh`` in this window?".

    Costs are energy (import cost - export revenue) plus battery wear, in SEK, over the
    whole horizon; energies in kWh; times are ISO 8601 with the local offset.
    """

    mode: str
    at: str
    energy_kwh: float
    """The export committed in the window [kWh]."""
    first_slot: int
    end_slot: int
    window_start: str
    window_end: str
    base_cost_sek: float
    whatif_cost_sek: float
    net_impact_sek: float
    """``whatif_cost_sek - base_cost_sek``: negative = the commitment earns money."""
    base_export_kwh: float
    """Energy the base plan already exports in the window [kWh]."""
    whatif_export_kwh: float
    shortfall_kwh: float
    """What the fuse, battery and PV cannot deliver of ``energy_kwh`` [kWh]."""
    soc_end_change_kwh: float
    """Battery energy at the horizon end, what-if - base [kWh] (not priced in the impact)."""
    warnings: tuple[str, ...]
    base_document: dict[str, Any]
    whatif_document: dict[str, Any]

    @property
    def base_status(self) -> str:
        """Status of the base plan (``optimal``, ``feasible`` or ``fallback``)."""
        return str(self.base_document["meta"]["status"])

    @property
    def whatif_status(self) -> str:
        """Status of the what-if plan."""
        return str(self.whatif_document["meta"]["status"])

    def to_dict(self, *, include_documents: bool = True) -> dict[str, Any]:
        """Return a JSON-ready dict (the schedules under ``base_schedule``, ``whatif_schedule``)."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "at": self.at,
            "energy_kwh": self.energy_kwh,
            "window": {
                "start": self.window_start,
                "end": self.window_end,
                "first_slot": self.first_slot,
                "end_slot": self.end_slot,
            },
            "base_cost_sek": round(self.base_cost_sek, 6),
            "whatif_cost_sek": round(self.whatif_cost_sek, 6),
            "net_impact_sek": round(self.net_impact_sek, 6),
            "base_export_kwh": round(self.base_export_kwh, 6),
            "whatif_export_kwh": round(self.whatif_export_kwh, 6),
            "shortfall_kwh": round(self.shortfall_kwh, 6),
            "soc_end_change_kwh": round(self.soc_end_change_kwh, 6),
            "base_status": self.base_status,
            "whatif_status": self.whatif_status,
            "warnings": list(self.warnings),
        }
        if include_documents:
            out["base_schedule"] = self.base_document
            out["whatif_schedule"] = self.whatif_document
        return out


def _cost_sek(kin: KeplerInput, plan: PlanArrays) -> float:
    """Energy cost plus wear of a plan [SEK] (as ``energy_cost_sek + wear_cost_sek``)."""
    h = kin.slot_h
    energy = h * float(
        np.sum(
            plan.grid_import_kw * kin.import_price_sek_per_kwh
            - plan.grid_export_kw * kin.export_price_sek_per_kwh
        )
    )
    if kin.battery is None:
        return energy
    throughput_kwh = h * float(np.sum(plan.battery_charge_kw + plan.battery_discharge_kw))
    return energy + kin.battery.cycle_cost_sek_per_kwh * throughput_kwh


def _replan(
    pin: PlannerInput,
    base: PlanOutcome,
    commitment: ExportCommitment,
    *,
    mode: PlanMode,
    planned_at: datetime,
) -> PlanOutcome:
    """Solve the base plan's own solver input plus ``commitment``, as the pipeline does.

    Through :func:`darkstar.planner.pipeline.solve_kepler_input`, the same steps the base
    plan took after its solver input was built.
    """
    kin = replace(base.kepler_input, export_commitment=commitment)
    strategy_meta = copy.deepcopy(base.document["meta"]["s_index"])
    return solve_kepler_input(
        pin, kin, mode=mode, strategy_meta=strategy_meta, planned_at=planned_at
    )


def _shortfall_warning(
    kin: KeplerInput, commitment: ExportCommitment, window: str, *, exported_kwh: float
) -> str:
    short = commitment.energy_kwh - exported_kwh
    head = (
        f"only {exported_kwh:.2f} of {commitment.energy_kwh:.2f} kWh can be exported "
        f"{window} (short by {short:.2f} kWh): "
    )
    if not kin.grid.export_enabled:
        return head + "export is disabled (export.enable_export = false)"
    n_window = commitment.end_slot - commitment.first_slot
    fuse_kwh = kin.grid.max_power_kw * kin.slot_h * n_window
    fuse = f"grid.max_power_kw = {kin.grid.max_power_kw:g} kW"
    if exported_kwh >= fuse_kwh - 1e-4:
        return head + f"the fuse allows at most {fuse_kwh:.2f} kWh in the window ({fuse})"
    return head + (
        f"the battery and PV cannot deliver more (the fuse would allow {fuse_kwh:.2f} kWh, {fuse})"
    )


def _target_shortfall_kwh(kin: KeplerInput, plan: PlanArrays) -> float:
    target = kin.soc_target
    if target is None:
        return 0.0
    return max(0.0, target.soc_kwh - float(plan.soc_kwh[target.slot]))


def _side_effect_warnings(base: PlanOutcome, whatif: PlanOutcome) -> list[str]:
    """Warn of what the commitment costs besides money, and of answers without meaning."""
    out = []
    for label, outcome in (("base", base), ("what-if", whatif)):
        if outcome.result.status is PlanStatus.FALLBACK:
            out.append(
                f"the {label} plan is the rule-based fallback "
                f"({outcome.result.fallback_reason}): the impact is not an optimum"
            )
    base_warnings = set(base.result.warnings)
    out.extend(f"what-if: {w}" for w in whatif.result.warnings if w not in base_warnings)
    kin = whatif.kepler_input
    extra_target = _target_shortfall_kwh(kin, whatif.result.plan) - _target_shortfall_kwh(
        kin, base.result.plan
    )
    if extra_target > _SHORTFALL_TOL_KWH:
        out.append(f"what-if: the target SoC is missed by {extra_target:.2f} kWh more")
    return out


def whatif_export(
    request: dict[str, Any],
    *,
    energy_kwh: float,
    at: str,
    mode: PlanMode | str = PlanMode.BASELINE,
    base_config: DarkstarConfig | None = None,
) -> ExportWhatIf:
    """Plan ``request`` with and without exporting ``energy_kwh`` in the window ``at``.

    Parameters
    ----------
    request : dict
        A decoded plan request (DESIGN §3.1); its ``config`` is merged over ``base_config``
        (default: the defaults file), as in :func:`darkstar.planner.pipeline.plan_request`.
    energy_kwh : float
        Energy to export within the window [kWh], >= 0.
    at : str
        The window, see :func:`resolve_peak_window`.
    mode : PlanMode or str
        ``baseline`` (Kepler alone) or ``full`` (with the strategy layers); both plans use it.

    Returns
    -------
    ExportWhatIf
        Both plans' costs, the net impact, the exports in the window, any shortfall.

    Raises
    ------
    InputError
        Naming ``energy_kwh``, ``mode``, ``at`` or the first invalid request field.
    """
    from darkstar.config import merge_config, parse_config
    from darkstar.planner.inputs import parse_plan_request, prepare_input

    _check_energy(energy_kwh)
    plan_mode = _mode(mode)
    parsed = parse_plan_request(request)
    base_data = {} if base_config is None else base_config.model_dump()
    config = parse_config(merge_config(base_data, parsed.config))
    return whatif_export_input(
        prepare_input(parsed), config, energy_kwh=energy_kwh, at=at, mode=plan_mode
    )


def _check_energy(energy_kwh: float) -> None:
    if not (math.isfinite(energy_kwh) and energy_kwh >= 0):
        raise InputError("energy_kwh", f"must be a finite number >= 0, got {energy_kwh:g}")


def _mode(mode: PlanMode | str) -> PlanMode:
    try:
        return PlanMode(mode)
    except ValueError:
        raise InputError("mode", f"must be 'full' or 'baseline', got {mode!r}") from None


def whatif_export_input(
    pin: PlannerInput,
    config: DarkstarConfig,
    *,
    energy_kwh: float,
    at: str,
    mode: PlanMode | str = PlanMode.BASELINE,
    manual_blocks: tuple[ManualBlock, ...] = (),
) -> ExportWhatIf:
    """:func:`whatif_export` on a prepared planner input (the agent's, for the API).

    Raises
    ------
    InputError
        Naming ``energy_kwh``, ``mode`` or ``at``.
    """
    _check_energy(energy_kwh)
    plan_mode = _mode(mode)
    first, end = resolve_peak_window(pin, at)
    window_start = pin.slots[first].start
    window_end = pin.slots[end - 1].start + pin.slot_duration
    window = f"{_local_iso_minutes(window_start, pin)} to {_local_iso_minutes(window_end, pin)}"
    logger.info("what-if: export %.3f kWh from %s (slots %d-%d)", energy_kwh, window, first, end)

    planned_at = datetime.now(UTC)
    base = generate_schedule(
        pin, config, mode=plan_mode, planned_at=planned_at, manual_blocks=manual_blocks
    )
    commitment = ExportCommitment(first_slot=first, end_slot=end, energy_kwh=energy_kwh)
    whatif = _replan(pin, base, commitment, mode=plan_mode, planned_at=planned_at)

    h = pin.slot_h
    base_export = h * float(np.sum(base.result.plan.grid_export_kw[first:end]))
    whatif_export = h * float(np.sum(whatif.result.plan.grid_export_kw[first:end]))
    shortfall = energy_kwh - whatif_export
    warnings = []
    if shortfall > _SHORTFALL_TOL_KWH:
        warnings.append(
            _shortfall_warning(whatif.kepler_input, commitment, window, exported_kwh=whatif_export)
        )
    else:
        shortfall = 0.0
    warnings.extend(_side_effect_warnings(base, whatif))
    soc_change = float(whatif.result.plan.soc_kwh[-1] - base.result.plan.soc_kwh[-1])
    terminal = base.kepler_input.options.terminal_value_sek_per_kwh
    if terminal > 0 and abs(soc_change) > 1e-3:
        warnings.append(
            f"the what-if ends with {soc_change:+.2f} kWh in the battery, worth "
            f"{soc_change * terminal:+.2f} SEK at kepler.terminal_value_sek_per_kwh, "
            "not included in the impact"
        )
    base_cost = _cost_sek(base.kepler_input, base.result.plan)
    whatif_cost = _cost_sek(whatif.kepler_input, whatif.result.plan)
    for warning in warnings:
        logger.info("what-if: %s", warning)  # returned in the result, shown by the caller
    return ExportWhatIf(
        mode=str(plan_mode),
        at=at,
        energy_kwh=energy_kwh,
        first_slot=first,
        end_slot=end,
        window_start=to_local_iso(window_start, pin.timezone),
        window_end=to_local_iso(window_end, pin.timezone),
        base_cost_sek=base_cost,
        whatif_cost_sek=whatif_cost,
        net_impact_sek=whatif_cost - base_cost,
        base_export_kwh=base_export,
        whatif_export_kwh=whatif_export,
        shortfall_kwh=shortfall,
        soc_end_change_kwh=soc_change,
        warnings=tuple(warnings),
        base_document=base.document,
        whatif_document=whatif.document,
    )


def print_export_whatif(result: ExportWhatIf, console: Console | None = None) -> None:
    """Print a short summary of ``result`` (rich)."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    start, end = (
        datetime.fromisoformat(t).isoformat(timespec="minutes")
        for t in (result.window_start, result.window_end)
    )
    console.print(
        f"[bold]Export what-if[/bold]: {result.energy_kwh:g} kWh at {escape(result.at)} "
        f"({result.mode} mode)"
    )
    console.print(f"window: {start} to {end}")
    table = Table(box=box.SIMPLE, show_header=True)
    table.add_column("")
    table.add_column("base plan", justify="right")
    table.add_column("what-if", justify="right")
    table.add_row("status", result.base_status, result.whatif_status)
    table.add_row(
        "cost, energy + wear (SEK)", f"{result.base_cost_sek:.2f}", f"{result.whatif_cost_sek:.2f}"
    )
    table.add_row(
        "exported in window (kWh)",
        f"{result.base_export_kwh:.2f}",
        f"{result.whatif_export_kwh:.2f}",
    )
    console.print(table)
    impact = result.net_impact_sek
    if abs(impact) < 0.005:  # below half an öre: no "-0.00"
        impact, verdict = 0.0, "no change"
    else:
        verdict = "you gain" if impact < 0 else "it costs you"
    console.print(f"[bold]net impact: {impact:+.2f} SEK[/bold] ({verdict})")
    if result.shortfall_kwh > 0:
        console.print(f"[yellow]shortfall: {result.shortfall_kwh:.2f} kWh[/yellow]")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
