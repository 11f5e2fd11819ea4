"""A small array-based MILP container and its HiGHS solve.

Variables and rows are added in named blocks (``battery_charge_kw``, ``soc_balance``) as
numpy arrays, assembled once into a column-wise sparse matrix and passed to HiGHS with
``passModel``: no per-coefficient Python calls, no modelling layer.

For the planner's debug view (:mod:`darkstar.planner.output.debug`) a solved model is kept
with its solution (:class:`SolvedModel`): its blocks can be read back by name (bounds, row
activities), and :meth:`LinearModel.solve_lp_fixed` re-solves it as an LP with the integer
columns fixed at the solution, for the row duals.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "HIGHS_OPTIONS",
    "FixedLpDuals",
    "LinearModel",
    "SolveOutcome",
    "SolvedModel",
    "Term",
    "lagged",
]

logger = logging.getLogger(__name__)

INF = highspy.kHighsInf

#: One term of a row block: (column index per row, coefficient per row or one for all).
#: A column index of -1 means "no term in this row".
Term = tuple["NDArray[np.int64]", "ArrayLike"]


@dataclass(frozen=True, kw_only=True)
class SolveOutcome:
    """Raw result of one HiGHS run."""

    x: NDArray[np.float64] | None
    termination: str
    has_solution: bool
    proven_optimal: bool
    objective: float
    mip_gap: float
    solve_time_ms: float


@dataclass(frozen=True, kw_only=True)
class FixedLpDuals:
    """Row duals of a MILP's LP with its integer columns fixed (:meth:`LinearModel.solve_lp_fixed`).

    Attributes
    ----------
    row_dual : NDArray[np.float64] or None
        Per row, HiGHS's dual: the change of the optimal objective per unit increase of the
        row's active bound [objective unit per row unit]; None when HiGHS has no valid dual
        solution (``termination`` says why).
    termination : str
        HiGHS's model status of the LP solve.
    objective : float
        The LP's optimal objective (NaN without a solution).
    solve_time_ms : float
        Wall time of the LP solve [ms].
    """

    row_dual: NDArray[np.float64] | None
    termination: str
    objective: float
    solve_time_ms: float


#: HiGHS options set on every solve, each with its reason.
HIGHS_OPTIONS: dict[str, float | int | bool] = {
    # 1e-4 SEK: below one öre, so relative gaps on near-zero objectives still terminate.
    "mip_abs_gap": 1e-4,
    # Same answer on the same input: no run-to-run variation in plans.
    "random_seed": 0,
    # The feasibility-jump heuristic spends most of the root node on water-heating models
    # and rarely finds the incumbent here; off, 192-slot negative-price days with comfort
    # features solved in about half the time (measured with ``darkstar bench solver``).
    "mip_heuristic_run_feasibility_jump": False,
}


SOFT_STOP_S = 1.0
"""Solve time after which a plan proven within :data:`SOFT_STOP_GAP` is accepted [s]."""

SOFT_STOP_GAP = 0.02
"""Relative gap accepted after :data:`SOFT_STOP_S` [-].

Car charging with a minimum power under a capacity tariff has a weak LP relaxation (it
trickle-charges below the charger's floor): HiGHS finds the best plan early but can spend
tens of seconds proving it, as the bound moves only by branching. On the 13 slowest plans
of four January days (1-4 Jan 2018, smart car, 80 SEK/kW/month) the plan in hand after
1 s was the proven optimum in 12 and 0.28 SEK (0.4 %) above it in one; proving took up to
25 s. HiGHS reports no simplex iterations to its MIP callback, only time and nodes, and
nodes come too slowly at the root, so the rule is in seconds: on a slower machine the
same input can stop at a different plan, never one more than 2 % from the bound, and a
solve under a second (almost every plan) is untouched and exact.
"""


def _soft_stop(event: Any) -> None:  # noqa: ANN401 - highspy's callback event is untyped
    """HiGHS MIP interrupt callback: stop within :data:`SOFT_STOP_GAP` after a while."""
    out = event.data_out
    if out.running_time >= SOFT_STOP_S and out.mip_gap <= SOFT_STOP_GAP:
        event.interrupt()


def lagged(idx: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Return ``idx[t - k]`` for every t, and -1 (no term) where ``t - k < 0``.

    >>> lagged(np.array([5, 6, 7]), 1).tolist()
    [-1, 5, 6]
    """
    out = np.full_like(idx, -1)
    out[k:] = idx[: len(idx) - k]
    return out


_banner_shown = False


def _new_highs() -> highspy.Highs:
    """Create a silent HiGHS instance.

    HiGHS prints a copyright banner to the process's stdout (file descriptor 1) when the
    first instance is created, which would corrupt machine-readable CLI output; the
    first construction runs with fd 1 pointed at /dev/null.
    """
    global _banner_shown  # noqa: PLW0603 - one-time process state
    if _banner_shown:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


class LinearModel:
    """Columns, rows and costs of a MILP, built block by block."""

    def __init__(self) -> None:
        self._lb: list[NDArray[np.float64]] = []
        self._ub: list[NDArray[np.float64]] = []
        self._cost: list[NDArray[np.float64]] = []
        self._integer: list[NDArray[np.bool_]] = []
        self._rows_i: list[NDArray[np.int64]] = []
        self._rows_j: list[NDArray[np.int64]] = []
        self._rows_v: list[NDArray[np.float64]] = []
        self._row_lb: list[NDArray[np.float64]] = []
        self._row_ub: list[NDArray[np.float64]] = []
        self.n_cols = 0
        self.n_rows = 0
        self.offset = 0.0
        self.col_blocks: dict[str, tuple[int, int]] = {}
        self.row_blocks: dict[str, tuple[int, int]] = {}

    @property
    def n_integer(self) -> int:
        """Number of integer (binary) columns."""
        return int(sum(int(b.sum()) for b in self._integer))

    def add_vars(
        self,
        name: str,
        n: int,
        *,
        lb: ArrayLike = 0.0,
        ub: ArrayLike = INF,
        cost: ArrayLike = 0.0,
        integer: bool = False,
    ) -> NDArray[np.int64]:
        """Add ``n`` columns named ``name``; return their indices."""
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy())
        self._integer.append(np.full(n, integer, dtype=np.bool_))
        self.col_blocks[name] = (self.n_cols, n)
        self.n_cols += n
        return idx

    def add_cost(self, cols: NDArray[np.int64], cost: ArrayLike) -> None:
        """Add ``cost`` to the objective coefficients of ``cols``."""
        flat_cost = np.concatenate(self._cost)
        np.add.at(flat_cost, cols, np.broadcast_to(np.asarray(cost, np.float64), cols.shape))
        self._cost = [flat_cost]

    def cols(self, name: str) -> NDArray[np.int64]:
        """Column indices of the block ``name`` (empty when the block was not added)."""
        start, n = self.col_blocks.get(name, (0, 0))
        return np.arange(start, start + n, dtype=np.int64)

    def costs(self, cols: NDArray[np.int64]) -> NDArray[np.float64]:
        """Objective coefficients of ``cols``."""
        return np.concatenate(self._cost)[cols]

    def keep_costs_only(self, cols: NDArray[np.int64]) -> None:
        """Zero every objective coefficient except those of ``cols``."""
        flat = np.concatenate(self._cost)
        kept = np.zeros_like(flat)
        kept[cols] = flat[cols]
        self._cost = [kept]
        self.offset = 0.0

    def set_upper(self, cols: NDArray[np.int64], value: float) -> None:
        """Set the upper bound of ``cols``."""
        flat = np.concatenate(self._ub)
        flat[cols] = value
        self._ub = [flat]

    def set_integer(self, cols: NDArray[np.int64]) -> None:
        """Mark existing columns as integer."""
        flat = np.concatenate(self._integer)
        flat[cols] = True
        self._integer = [flat]

    def add_rows(
        self, name: str, terms: Sequence[Term], *, lb: ArrayLike = -INF, ub: ArrayLike = INF
    ) -> None:
        """Add one row per entry of the term arrays: ``lb <= sum_k coef_k x[col_k] <= ub``."""
        n = len(terms[0][0])
        rows = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64)
        for cols, coef in terms:
            cols_arr = np.asarray(cols, dtype=np.int64)
            vals = np.broadcast_to(np.asarray(coef, dtype=np.float64), (n,))
            keep = (cols_arr >= 0) & (vals != 0.0)
            self._rows_i.append(rows[keep])
            self._rows_j.append(cols_arr[keep])
            self._rows_v.append(vals[keep].copy())
        self._finish_rows(name, n, lb, ub)

    def add_rows_coo(
        self,
        name: str,
        n: int,
        entries: tuple[NDArray[np.int64], NDArray[np.int64], ArrayLike],
        *,
        lb: ArrayLike = -INF,
        ub: ArrayLike = INF,
    ) -> None:
        """Add ``n`` rows from (local row, column, value) triples."""
        local_rows, cols, vals = entries
        self._rows_i.append(np.asarray(local_rows, dtype=np.int64) + self.n_rows)
        self._rows_j.append(np.asarray(cols, dtype=np.int64))
        self._rows_v.append(np.broadcast_to(np.asarray(vals, np.float64), cols.shape).copy())
        self._finish_rows(name, n, lb, ub)

    def _finish_rows(self, name: str, n: int, lb: ArrayLike, ub: ArrayLike) -> None:
        self._row_lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy())
        self._row_ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy())
        self.row_blocks[name] = (self.n_rows, n)
        self.n_rows += n

    def rows(self, name: str) -> NDArray[np.int64]:
        """Row indices of the block ``name`` (empty when the block was not added)."""
        start, n = self.row_blocks.get(name, (0, 0))
        return np.arange(start, start + n, dtype=np.int64)

    def col_bounds(
        self, cols: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lower and upper bounds of ``cols``."""
        return np.concatenate(self._lb)[cols], np.concatenate(self._ub)[cols]

    def row_bounds(
        self, rows: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lower and upper bounds of ``rows``."""
        if not self._row_lb:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._row_lb)[rows], np.concatenate(self._row_ub)[rows]

    def row_activity(self, x: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
        """Return ``sum_k coef_k x[col_k]`` of each of ``rows`` at the point ``x``."""
        if not self._rows_i:
            return np.zeros(len(rows))
        i = np.concatenate(self._rows_i)
        j = np.concatenate(self._rows_j)
        v = np.concatenate(self._rows_v)
        activity = np.bincount(i, weights=v * x[j], minlength=self.n_rows)
        return np.asarray(activity[rows], dtype=np.float64)

    def _to_highs_lp(self, *, fix_integer_at: NDArray[np.float64] | None = None) -> highspy.HighsLp:
        """Assemble the HiGHS model; with ``fix_integer_at``, the LP with integers fixed."""
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = np.concatenate(self._cost)
        col_lower = np.concatenate(self._lb)
        col_upper = np.concatenate(self._ub)
        integer = np.concatenate(self._integer)
        if fix_integer_at is not None:
            fixed = np.clip(
                np.round(fix_integer_at[integer]), col_lower[integer], col_upper[integer]
            )
            col_lower[integer] = fixed
            col_upper[integer] = fixed
            integer = np.zeros_like(integer)
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = np.concatenate(self._row_lb) if self._row_lb else np.zeros(0)
        lp.row_upper_ = np.concatenate(self._row_ub) if self._row_ub else np.zeros(0)
        lp.offset_ = self.offset
        rows = np.concatenate(self._rows_i) if self._rows_i else np.zeros(0, np.int64)
        cols = np.concatenate(self._rows_j) if self._rows_j else np.zeros(0, np.int64)
        vals = np.concatenate(self._rows_v) if self._rows_v else np.zeros(0)
        order = np.lexsort((rows, cols))
        rows, cols, vals = rows[order], cols[order], vals[order]
        starts = np.searchsorted(cols, np.arange(self.n_cols + 1))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts.astype(np.int32)
        lp.a_matrix_.index_ = rows.astype(np.int32)
        lp.a_matrix_.value_ = vals
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                for b in integer
            ]
        return lp

    def solve(self, *, time_limit_s: float, mip_gap: float, threads: int = 1) -> SolveOutcome:
        """Solve with HiGHS within ``time_limit_s`` seconds, stopping at ``mip_gap``."""
        t0 = time.perf_counter()
        h = _new_highs()
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        for key, value in HIGHS_OPTIONS.items():
            h.setOptionValue(key, value)
        h.passModel(self._to_highs_lp())
        if self.n_integer:
            h.cbMipInterrupt += _soft_stop
        h.run()
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
        status = h.getModelStatus()
        info = h.getInfo()
        termination = h.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kInterrupt:  # only the soft stop interrupts
            termination = (
                f"Soft stop: within {SOFT_STOP_GAP:.0%} of the bound after {SOFT_STOP_S:g} s"
            )
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_solution else None
        proven = status == highspy.HighsModelStatus.kOptimal
        gap = float(info.mip_gap) if self.n_integer else 0.0
        if not np.isfinite(gap):
            gap = 0.0 if proven else float("inf")
        logger.debug(
            "highs: %s in %.1f ms, %d cols, %d rows, %d int, gap %.4g",
            termination,
            elapsed_ms,
            self.n_cols,
            self.n_rows,
            self.n_integer,
            gap,
        )
        return SolveOutcome(
            x=x,
            termination=termination,
            has_solution=has_solution,
            proven_optimal=proven,
            objective=float(info.objective_function_value) if has_solution else float("nan"),
            mip_gap=gap,
            solve_time_ms=elapsed_ms,
        )

    def solve_lp_fixed(self, x: NDArray[np.float64], *, time_limit_s: float) -> FixedLpDuals:
        """Re-solve as an LP with every integer column fixed at its (rounded) value in ``x``.

        The continuous columns keep their bounds, so the LP's optimum is the MILP's for the
        same on/off decisions, and its row duals price each row at that solution (for a
        minimisation, ``row_dual[r] = d objective / d bound_r``). Where the LP is degenerate
        HiGHS returns one of several valid dual solutions.

        Parameters
        ----------
        x : NDArray[np.float64]
            A solution of this model (every column), e.g. :attr:`SolveOutcome.x`.
        time_limit_s : float
            Time limit of the LP solve [s].

        Returns
        -------
        FixedLpDuals
            The duals, or ``row_dual`` None with HiGHS's termination when it has none.
        """
        t0 = time.perf_counter()
        h = _new_highs()
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("random_seed", 0)
        h.passModel(self._to_highs_lp(fix_integer_at=np.asarray(x, dtype=np.float64)))
        h.run()
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
        status = h.getModelStatus()
        info = h.getInfo()
        termination = h.modelStatusToString(status)
        solved = status == highspy.HighsModelStatus.kOptimal and info.dual_solution_status == 2
        row_dual = np.asarray(h.getSolution().row_dual, dtype=np.float64) if solved else None
        logger.debug("highs fixed LP: %s in %.1f ms", termination, elapsed_ms)
        return FixedLpDuals(
            row_dual=row_dual,
            termination=termination,
            objective=float(info.objective_function_value) if solved else float("nan"),
            solve_time_ms=elapsed_ms,
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class SolvedModel:
    """A built model and the solution a plan was extracted from (for the debug view).

    Attributes
    ----------
    model : LinearModel
        The model of the final solve, blocks named as the builders named them.
    x : NDArray[np.float64]
        The solver's value of every column (before any cleaning of the plan).
    """

    model: LinearModel
    x: NDArray[np.float64]
