"""Benchmarks behind ``darkstar bench``: Kepler's solve speed and the cost of its plans.

* :mod:`darkstar.bench.solver`: solve time, proven MIP gap and model size on randomised
  instances cut from the bundled example days, with and without water heating;
* :mod:`darkstar.bench.planner`: cost of Kepler's plan against the rule-based heuristic and
  an idle battery on example requests.
"""

from __future__ import annotations

from darkstar.bench.planner import (
    PlannerBenchRow,
    compare_plans,
    print_planner_bench,
    run_planner_bench,
)
from darkstar.bench.solver import SolverBenchRow, print_solver_bench, run_solver_bench

__all__ = [
    "PlannerBenchRow",
    "SolverBenchRow",
    "compare_plans",
    "print_planner_bench",
    "print_solver_bench",
    "run_planner_bench",
    "run_solver_bench",
]
