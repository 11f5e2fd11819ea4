"""``schedule.json`` (DESIGN §3.2): per-slot rows, actions, SoC targets, validation, atomic write.

Each slot gets an ``action`` (what the battery does) and a ``reason`` (why, from prices and
flows; ``manual_block`` in a slot a user's manual block governs), and the
``soc_target_percent`` the executor writes to the inverter:

* ``hold`` -> the SoC at the start of the slot (do not discharge);
* ``discharge`` -> the battery's min SoC (cover the load, no further);
* ``charge`` / ``pv_charge`` -> the SoC planned at the end of the charge block;
* ``export`` -> the SoC planned at the end of the export block (the floor export stops at).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkstar import __version__
from darkstar.errors import InputError
from darkstar.physics.timegrid import to_local_iso
from darkstar.planner.solver.capacity import billed_peak_kw
from darkstar.planner.solver.ev import ev_shortfall_kwh

if TYPE_CHECKING:
    from darkstar.planner.inputs.types import PlannerInput
    from darkstar.planner.solver.types import (
        BatterySpec,
        EvSpec,
        KeplerInput,
        KeplerResult,
        PlanArrays,
    )

__all__ = [
    "SCHEMA_VERSION",
    "OutputError",
    "ScheduleError",
    "SlotAction",
    "build_schedule_document",
    "build_schedule_rows",
    "check_schedule",
    "write_schedule",
]

SCHEMA_VERSION = 1

_EPS_KW = 1e-6
_DIGITS = 6


class ScheduleError(RuntimeError):
    """A schedule breaks an invariant it must keep (a bug, never an input problem)."""


class OutputError(InputError):
    """``schedule.json`` cannot be written where asked; names the path.

    An :class:`~darkstar.errors.InputError` with field ``output``: the user chose the path,
    so the command line exits 2 with one line (``error: output: <path>: <reason>``).
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__("output", f"{path}: {message}")


class SlotAction(StrEnum):
    """What the battery does in a slot."""

    CHARGE = "charge"
    PV_CHARGE = "pv_charge"
    DISCHARGE = "discharge"
    EXPORT = "export"
    HOLD = "hold"


def _actions(plan: PlanArrays) -> list[SlotAction]:
    out = []
    for c, d, i, e in zip(
        plan.battery_charge_kw,
        plan.battery_discharge_kw,
        plan.grid_import_kw,
        plan.grid_export_kw,
        strict=True,
    ):
        if c > _EPS_KW:
            out.append(SlotAction.CHARGE if i > _EPS_KW else SlotAction.PV_CHARGE)
        elif d > _EPS_KW:
            out.append(SlotAction.EXPORT if e > _EPS_KW else SlotAction.DISCHARGE)
        else:
            out.append(SlotAction.HOLD)
    return out


def _reason(
    action: SlotAction,
    *,
    import_price: float,
    export_price: float,
    soc_end: float,
    bat: BatterySpec | None,
    export_kw: float,
    import_kw: float,
    curtail_kw: float,
) -> str:
    if action is SlotAction.CHARGE:
        return "negative_import_price" if import_price < 0 else "cheap_grid_charge"
    if action is SlotAction.PV_CHARGE:
        return "store_pv_surplus"
    if action is SlotAction.EXPORT:
        return "profitable_export"
    if action is SlotAction.DISCHARGE:
        return "cover_load"
    if curtail_kw > _EPS_KW:
        # below zero the grid charges for export; otherwise export is off, at the fuse,
        # or not worth the export threshold
        return "curtail_negative_price" if export_price < 0 else "curtail_no_export_value"
    if bat is None:
        return "no_battery"
    if export_kw > _EPS_KW:
        return "battery_full" if soc_end >= bat.max_soc_kwh - 1e-3 else "pv_surplus_export"
    if import_kw > _EPS_KW:
        return "battery_at_min" if soc_end <= bat.min_soc_kwh + 1e-3 else "hold_for_later"
    return "self_sufficient"


def _soc_targets(
    actions: list[SlotAction], soc_end: np.ndarray[Any, np.dtype[np.float64]], bat: BatterySpec
) -> list[float]:
    n = len(actions)
    soc_start = np.r_[bat.initial_soc_kwh, soc_end[:-1]]
    targets = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and actions[j + 1] is actions[i]:
            j += 1
        for k in range(i, j + 1):
            action = actions[k]
            if action is SlotAction.HOLD:
                value = soc_start[k]
            elif action is SlotAction.DISCHARGE:
                value = bat.min_soc_kwh
            else:
                value = soc_end[j]
            targets[k] = 100.0 * value / bat.capacity_kwh
        i = j + 1
    return targets


_QUANTILE_FIELDS = ("pv_p10_kwh", "pv_p90_kwh", "load_p10_kwh", "load_p90_kwh")


def build_schedule_rows(
    pin: PlannerInput,
    plan: PlanArrays,
    *,
    adjusted_pv_kwh: np.ndarray[Any, np.dtype[np.float64]],
    adjusted_load_kwh: np.ndarray[Any, np.dtype[np.float64]],
    battery: BatterySpec | None,
    manual_slots: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ev: EvSpec | None = None,
) -> list[dict[str, Any]]:
    """Return the ``schedule`` list of ``schedule.json``.

    ``manual_slots`` marks the slots a manual block governs: their ``reason`` is
    ``manual_block`` (the ``action`` still follows the flows). With a car (``ev``), each
    row has its charge power and its SoC at the slot's end; without, ``ev_charging_kw``
    is 0 and ``ev_soc_percent`` null. A slot's P10/P90 forecasts, when given, are
    copied as given (the band the plan was made in).
    """
    h = pin.slot_h
    ev_kw = np.zeros(pin.n_slots) if plan.ev_charge_kw is None else plan.ev_charge_kw
    ev_pct: list[float | None] = [None] * pin.n_slots
    if ev is not None:
        ev_pct = [100.0 * float(x) / ev.capacity_kwh for x in _ev_soc_kwh(pin, ev, plan)]
    actions = _actions(plan)
    soc_end = plan.soc_kwh
    targets = _soc_targets(actions, soc_end, battery) if battery else [0.0] * pin.n_slots
    rows = []
    for t, slot in enumerate(pin.slots):
        imp, exp = plan.grid_import_kw[t], plan.grid_export_kw[t]
        cost = h * (imp * slot.import_price_sek_per_kwh - exp * slot.export_price_sek_per_kwh)
        soc_pct = 100.0 * soc_end[t] / battery.capacity_kwh if battery else 0.0
        reason = _reason(
            actions[t],
            import_price=slot.import_price_sek_per_kwh,
            export_price=slot.export_price_sek_per_kwh,
            soc_end=soc_end[t],
            bat=battery,
            export_kw=exp,
            import_kw=imp,
            curtail_kw=plan.pv_curtailment_kw[t],
        )
        if manual_slots is not None and manual_slots[t]:
            reason = "manual_block"
        row = {
            "start": to_local_iso(slot.start, pin.timezone),
            "end": to_local_iso(slot.start + pin.slot_duration, pin.timezone),
            "import_price_sek_per_kwh": slot.import_price_sek_per_kwh,
            "export_price_sek_per_kwh": slot.export_price_sek_per_kwh,
            "adjusted_pv_kwh": adjusted_pv_kwh[t],
            "adjusted_load_kwh": adjusted_load_kwh[t],
            "battery_charge_kw": plan.battery_charge_kw[t],
            "battery_discharge_kw": plan.battery_discharge_kw[t],
            "grid_import_kw": imp,
            "grid_export_kw": exp,
            "water_heating_kw": plan.water_heating_kw[t],
            "ev_charging_kw": ev_kw[t],
            "ev_soc_percent": ev_pct[t],
            "pv_curtailment_kw": plan.pv_curtailment_kw[t],
            "load_shedding_kw": plan.load_shedding_kw[t],
            "projected_soc_percent": soc_pct,
            "projected_soc_kwh": soc_end[t],
            "soc_target_percent": targets[t],
            "planned_cost_sek": cost,
            "action": str(actions[t]),
            "reason": reason,
        }
        for name in _QUANTILE_FIELDS:  # the forecast's band, when the request had it
            value = getattr(slot, name)
            if value is not None:
                row[name] = value
        rows.append(
            {
                k: round(float(v), _DIGITS) if isinstance(v, float | np.floating) else v
                for k, v in row.items()
            }
        )
    return rows


def _finite_or_none(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


def build_schedule_document(
    pin: PlannerInput,
    kin: KeplerInput,
    result: KeplerResult,
    *,
    mode: str,
    strategy_meta: dict[str, Any],
    planned_at: datetime | None = None,
) -> dict[str, Any]:
    """Return the whole ``schedule.json`` document (``meta`` and ``schedule``).

    Rows get the ``manual_block`` reason only when the plan came from Kepler (the fallback
    heuristic does not follow manual blocks).
    """
    plan, bat, h = result.plan, kin.battery, pin.slot_h
    manual = kin.manual.manual_slots if kin.manual is not None and result.is_ok else None
    rows = build_schedule_rows(
        pin,
        plan,
        adjusted_pv_kwh=kin.pv_kwh,
        adjusted_load_kwh=kin.load_kwh,
        battery=bat,
        manual_slots=manual,
        ev=kin.ev,
    )
    energy_cost = h * np.sum(
        plan.grid_import_kw * kin.import_price_sek_per_kwh
        - plan.grid_export_kw * kin.export_price_sek_per_kwh
    )
    throughput_kwh = h * np.sum(plan.battery_charge_kw + plan.battery_discharge_kw)
    wear = 0.0 if bat is None else bat.cycle_cost_sek_per_kwh * throughput_kwh
    report = result.report
    meta = {
        "schema_version": SCHEMA_VERSION,
        "planned_at": (planned_at or datetime.now(UTC)).astimezone(pin.timezone).isoformat(),
        "planner_version": __version__,
        "mode": mode,
        "status": str(result.status),
        "objective_sek": _finite_or_none(result.objective_sek),
        "energy_cost_sek": round(float(energy_cost), 6),
        "wear_cost_sek": round(float(wear), 6),
        "solve_time_ms": round(report.solve_time_ms, 3),
        "mip_gap": _finite_or_none(report.mip_gap),
        "s_index": strategy_meta,
        "target_soc_percent": strategy_meta.get("target_soc_percent"),
        "timezone": pin.timezone.key,
        "slot_minutes": round(pin.slot_duration.total_seconds() / 60),
        "solver": {
            "name": report.solver,
            "termination": report.termination,
            "variables": report.n_variables,
            "constraints": report.n_constraints,
            "binaries": report.n_binaries,
            "solves": report.n_solves,
        },
        "warnings": list(result.warnings),
        "fallback_reason": result.fallback_reason,
        "ev": _ev_meta(pin, kin.ev, plan),
        "capacity_tariff": _capacity_meta(kin, plan),
    }
    return {"meta": meta, "schedule": rows}


def _ev_soc_kwh(
    pin: PlannerInput, ev: EvSpec, plan: PlanArrays
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Return the car's SoC at each slot's end: the plan's, or the start value (fallback)."""
    if plan.ev_soc_kwh is None:
        return np.full(pin.n_slots, ev.initial_soc_kwh)
    return plan.ev_soc_kwh


def _capacity_meta(kin: KeplerInput, plan: PlanArrays) -> dict[str, Any] | None:
    """``meta.capacity_tariff``: this month's billed peak before and with the plan."""
    spec = kin.capacity_tariff
    if spec is None:
        return None
    before, planned = billed_peak_kw(spec, plan.grid_import_kw, kin.slot_h)
    return {
        "sek_per_kw_month": spec.fee_sek_per_kw,
        "peaks_counted": spec.peaks_counted,
        "billed_peak_kw_before": round(before, 6),
        "billed_peak_kw_planned": round(planned, 6),
        "increase_sek": round(spec.fee_sek_per_kw * (planned - before), 6),
    }


def _ev_meta(pin: PlannerInput, ev: EvSpec | None, plan: PlanArrays) -> dict[str, Any] | None:
    """``meta.ev``: whether the car reaches its target by departure, and by how much not."""
    if ev is None:
        return None
    state = pin.state.ev
    soc = _ev_soc_kwh(pin, ev, plan)
    charge = np.zeros(pin.n_slots) if plan.ev_charge_kw is None else plan.ev_charge_kw
    short = ev_shortfall_kwh(ev, soc)
    deadline = (
        None if ev.target_slot is None else pin.slots[ev.target_slot].start + pin.slot_duration
    )
    return {
        "target_met": short <= 1e-3,
        "shortfall_kwh": round(short, 4),
        "target_soc_percent": None if state is None else state.target_soc_percent,
        "target_at": None if deadline is None else to_local_iso(deadline, pin.timezone),
        "departure": (
            None
            if state is None or state.departure is None
            else to_local_iso(state.departure, pin.timezone)
        ),
        "plugged_in": None if state is None else state.plugged_in,
        "charged_kwh": round(float(pin.slot_h * np.sum(charge)), 4),
        "soc_at_target_percent": round(
            100.0
            * float(ev.initial_soc_kwh if ev.target_slot is None else soc[ev.target_slot])
            / ev.capacity_kwh,
            3,
        ),
    }


def check_schedule(
    rows: list[dict[str, Any]], *, slot_h: float, tolerance_kwh: float = 1e-4
) -> None:
    """Check the per-slot invariants of DESIGN §3.2.

    Raises
    ------
    ScheduleError
        If energy does not balance, a flow is negative, or a slot both charges and
        discharges or both imports and exports.
    """
    flows = (
        "battery_charge_kw",
        "battery_discharge_kw",
        "grid_import_kw",
        "grid_export_kw",
        "water_heating_kw",
        "ev_charging_kw",
        "pv_curtailment_kw",
        "load_shedding_kw",
    )
    for t, r in enumerate(rows):
        for name in flows:
            if r[name] < 0:
                raise ScheduleError(f"schedule[{t}].{name} is negative ({r[name]})")
        supply = r["adjusted_pv_kwh"] + slot_h * (
            r["battery_discharge_kw"]
            + r["grid_import_kw"]
            + r["load_shedding_kw"]
            - r["pv_curtailment_kw"]
        )
        demand = r["adjusted_load_kwh"] + slot_h * (
            r["battery_charge_kw"]
            + r["grid_export_kw"]
            + r["water_heating_kw"]
            + r["ev_charging_kw"]
        )
        if abs(supply - demand) > tolerance_kwh:
            raise ScheduleError(f"schedule[{t}]: energy balance off by {supply - demand:.6f} kWh")
        if min(r["battery_charge_kw"], r["battery_discharge_kw"]) > _EPS_KW:
            raise ScheduleError(f"schedule[{t}]: charges and discharges at once")
        if min(r["grid_import_kw"], r["grid_export_kw"]) > _EPS_KW:
            raise ScheduleError(f"schedule[{t}]: imports and exports at once")


def _file_kind(mode: int) -> str:
    """Name the kind of a file that is not a regular file (``st_mode`` from ``stat``)."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _output_target(path: Path) -> tuple[Path, str]:
    """Return the file to replace (symlinks resolved) and how errors name it.

    Raises
    ------
    OutputError
        If the target exists but is not a regular file, or its folder does not exist.
    """
    target = Path(os.path.realpath(path))
    shown = f"{path} -> {target}" if path.is_symlink() else str(path)
    parent = target.parent
    if not parent.is_dir():
        if parent.exists():
            raise OutputError(shown, f"{parent} is not a folder")
        raise OutputError(shown, f"folder {parent} does not exist")
    try:
        mode: int | None = target.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(shown, f"cannot write ({exc.strerror or exc})") from exc
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(shown, f"is {_file_kind(mode)}, not a regular file; not replaced")
    return target, shown


def write_schedule(document: dict[str, Any], path: Path) -> None:
    """Write ``schedule.json`` atomically (temp file in the same folder, then rename).

    A symlink is followed: its (resolved) target is replaced, the link is kept. The folder
    must exist (it is not created), and an existing target must be a regular file: a
    directory, device, FIFO or socket is never replaced. The checks run just before the
    write, so a file swapped in between can still be replaced.

    Parameters
    ----------
    document : dict
        The ``schedule.json`` document; NaN and infinity are refused.
    path : Path
        Where to write.

    Raises
    ------
    OutputError
        If ``path`` is not a regular file, its folder is missing, or the write fails
        (permissions, disk full, a read-only file system); names the path.
    ValueError
        If the document holds NaN or infinity (nothing is written).
    """
    path = Path(path)
    target, shown = _output_target(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(shown, f"cannot create a file in {target.parent} ({reason})") from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp_name).chmod(0o666 & ~umask)  # mkstemp makes 0600; schedules are readable
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(target)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise OutputError(shown, f"cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
