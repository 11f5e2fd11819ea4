r"""Planner benchmark: what Kepler's plan costs against the heuristic and doing nothing.

For each example request, Kepler plans it through the real pipeline
(:func:`darkstar.planner.plan_request`, mode ``baseline`` by default), and the rule-based
:func:`~darkstar.baseline.plan_heuristic` and the idle-battery
:func:`~darkstar.baseline.do_nothing_plan` plan the very same
:class:`~darkstar.planner.solver.types.KeplerInput`. All three are priced by
:func:`~darkstar.baseline.plan_cost_sek`:

.. math::

    cost = h\sum_t (i_t p^{imp}_t - e_t p^{exp}_t) + h\,wear \sum_t (c_t + d_t)

(import cost - export revenue + battery wear, SEK). Kepler's own penalties (water comfort,
block starts, SoC floor) are not part of this cost. Neither is the energy left in the battery
at the end, so the SoC each plan ends at is reported next to its cost.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from darkstar.baseline import do_nothing_plan, plan_cost_sek, plan_heuristic
from darkstar.errors import InputError
from darkstar.examples import example_request_paths
from darkstar.planner import PlanMode, plan_request

if TYPE_CHECKING:
    from collections.abc import Sequence

    from darkstar.planner import PlanOutcome
    from darkstar.planner.solver.types import KeplerInput, PlanArrays

__all__ = [
    "PlannerBenchRow",
    "compare_plans",
    "print_planner_bench",
    "read_requests",
    "run_planner_bench",
    "table_console",
]

logger = logging.getLogger(__name__)


TABLE_MIN_WIDTH = 160
"""Columns a table gets when stdout is not a terminal (rich would assume 80 and squash it)."""


def table_console() -> Console:
    """Return a console on stdout, at least :data:`TABLE_MIN_WIDTH` wide when piped."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, TABLE_MIN_WIDTH))
    return console


def _pct(part: float, whole: float) -> float:
    """``100 * part / |whole|``, NaN when ``whole`` is (nearly) zero."""
    return 100.0 * part / abs(whole) if abs(whole) > 1e-9 else math.nan


@dataclass(frozen=True, kw_only=True)
class PlannerBenchRow:
    """Costs of Kepler, the heuristic and doing nothing on one example.

    Attributes
    ----------
    example : str
        Name of the request (file stem).
    n_slots : int
        Horizon length [slots].
    status : str
        Kepler's plan status (``optimal``, ``feasible`` or ``fallback``).
    kepler_cost_sek, heuristic_cost_sek, do_nothing_cost_sek : float
        Import cost - export revenue + wear of each plan [SEK].
    kepler_end_soc_kwh, heuristic_end_soc_kwh, do_nothing_end_soc_kwh : float
        State of charge each plan ends the horizon with [kWh] (0 without a battery).
    """

    example: str
    n_slots: int
    status: str
    kepler_cost_sek: float
    heuristic_cost_sek: float
    do_nothing_cost_sek: float
    kepler_end_soc_kwh: float
    heuristic_end_soc_kwh: float
    do_nothing_end_soc_kwh: float

    @property
    def kepler_savings_sek(self) -> float:
        """Do-nothing cost minus Kepler's cost [SEK]."""
        return self.do_nothing_cost_sek - self.kepler_cost_sek

    @property
    def heuristic_savings_sek(self) -> float:
        """Do-nothing cost minus the heuristic's cost [SEK]."""
        return self.do_nothing_cost_sek - self.heuristic_cost_sek

    @property
    def kepler_savings_pct(self) -> float:
        """Kepler's savings relative to ``|do-nothing cost|`` [%]; NaN if that is ~0."""
        return _pct(self.kepler_savings_sek, self.do_nothing_cost_sek)

    @property
    def heuristic_savings_pct(self) -> float:
        """The heuristic's savings relative to ``|do-nothing cost|`` [%]; NaN if that is ~0."""
        return _pct(self.heuristic_savings_sek, self.do_nothing_cost_sek)

    @property
    def heuristic_share_pct(self) -> float:
        """Share of Kepler's savings the heuristic also achieves [%]; NaN if Kepler saves ~0."""
        if abs(self.kepler_savings_sek) <= 1e-9:
            return math.nan
        return 100.0 * self.heuristic_savings_sek / self.kepler_savings_sek


def _end_soc_kwh(kin: KeplerInput, plan: PlanArrays) -> float:
    if kin.battery is None or len(plan.soc_kwh) == 0:
        return 0.0
    return float(plan.soc_kwh[-1])


def compare_plans(example: str, outcome: PlanOutcome) -> PlannerBenchRow:
    """Price Kepler's plan, the heuristic and doing nothing on the outcome's solver input.

    Parameters
    ----------
    example : str
        Name to report.
    outcome : PlanOutcome
        A planned horizon; its ``kepler_input`` (forecasts as the solver saw them) is what
        the heuristic and the do-nothing plan are made and priced on.

    Returns
    -------
    PlannerBenchRow
        Costs [SEK] and end states of charge [kWh] of the three plans.
    """
    kin = outcome.kepler_input
    kepler = outcome.result.plan
    heuristic = plan_heuristic(kin)
    nothing = do_nothing_plan(kin)
    return PlannerBenchRow(
        example=example,
        n_slots=kin.n_slots,
        status=str(outcome.result.status),
        kepler_cost_sek=plan_cost_sek(kin, kepler),
        heuristic_cost_sek=plan_cost_sek(kin, heuristic),
        do_nothing_cost_sek=plan_cost_sek(kin, nothing),
        kepler_end_soc_kwh=_end_soc_kwh(kin, kepler),
        heuristic_end_soc_kwh=_end_soc_kwh(kin, heuristic),
        do_nothing_end_soc_kwh=_end_soc_kwh(kin, nothing),
    )


def read_requests(folder: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Read every ``*.json`` plan request in ``folder`` (default: the bundled examples).

    Parameters
    ----------
    folder : pathlib.Path, optional
        Folder of plan requests; ``None`` = :func:`darkstar.examples.example_request_paths`.

    Returns
    -------
    list of (str, dict)
        (file stem, decoded request), sorted by file name.

    Raises
    ------
    InputError
        If the folder does not exist, holds no ``*.json`` file or a file is not valid JSON.
    """
    if folder is None:
        paths = example_request_paths()
    else:
        if not folder.is_dir():
            raise InputError("examples", f"not a folder: {folder}")
        paths = sorted(folder.glob("*.json"))
        if not paths:
            raise InputError("examples", f"no *.json plan requests in {folder}")
    requests = []
    for path in paths:
        try:
            requests.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError("examples", f"cannot read {path}: {exc}") from None
    return requests


def run_planner_bench(
    examples: Path | None = None, *, mode: PlanMode | str = PlanMode.BASELINE
) -> list[PlannerBenchRow]:
    """Compare Kepler, the heuristic and doing nothing on every example request.

    Parameters
    ----------
    examples : pathlib.Path, optional
        Folder of plan requests (every ``*.json``); default: the bundled examples.
    mode : PlanMode or str, default ``"baseline"``
        Pipeline mode Kepler plans in.

    Returns
    -------
    list of PlannerBenchRow
        One row per request, sorted by file name.

    Raises
    ------
    InputError
        If the folder cannot be read or a request is invalid (naming the field).
    """
    rows = []
    for name, request in read_requests(examples):
        try:
            outcome = plan_request(request, mode=mode)
        except InputError as exc:
            raise InputError(f"{name}: {exc.field}", exc.message) from None
        row = compare_plans(name, outcome)
        logger.info(
            "%s: kepler %.2f SEK, heuristic %.2f SEK, do nothing %.2f SEK",
            name,
            row.kepler_cost_sek,
            row.heuristic_cost_sek,
            row.do_nothing_cost_sek,
        )
        rows.append(row)
    return rows


def _fmt(value: float, spec: str) -> str:
    return "-" if not math.isfinite(value) else format(value, spec)


def print_planner_bench(rows: Sequence[PlannerBenchRow], *, console: Console | None = None) -> None:
    """Print the planner bench as a rich table.

    Parameters
    ----------
    rows : sequence of PlannerBenchRow
        Output of :func:`run_planner_bench`.
    console : rich.console.Console, optional
        Where to print (default: a new console on stdout).
    """
    console = console or table_console()
    table = Table(
        title=escape("Plan cost: Kepler vs heuristic vs do-nothing [SEK]"),
        box=box.SIMPLE_HEAD,
        caption=escape(
            "cost = import - export revenue + wear; saved = vs do-nothing (% of its |cost|); "
            "share = heuristic savings / Kepler savings; end SoC [kWh] of Kepler/heuristic/"
            "nothing is not valued in the cost."
        ),
    )
    table.add_column("example")
    for header in (
        "slots",
        "status",
        "Kepler",
        "heuristic",
        "nothing",
        "K saved",
        "H saved",
        "share",
        "end SoC K/H/N",
    ):
        table.add_column(header, justify="left" if header == "status" else "right")
    for r in rows:
        table.add_row(
            r.example,
            str(r.n_slots),
            r.status,
            f"{r.kepler_cost_sek:.2f}",
            f"{r.heuristic_cost_sek:.2f}",
            f"{r.do_nothing_cost_sek:.2f}",
            f"{r.kepler_savings_sek:.2f} ({_fmt(r.kepler_savings_pct, '.0f')}%)",
            f"{r.heuristic_savings_sek:.2f} ({_fmt(r.heuristic_savings_pct, '.0f')}%)",
            f"{_fmt(r.heuristic_share_pct, '.0f')}%",
            f"{r.kepler_end_soc_kwh:.1f}/{r.heuristic_end_soc_kwh:.1f}/"
            f"{r.do_nothing_end_soc_kwh:.1f}",
        )
    console.print(table)
