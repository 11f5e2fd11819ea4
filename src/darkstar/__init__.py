"""Darkstar: a home energy manager that forecasts, plans and acts.

The public entry point for planning is :func:`darkstar.planner.generate_schedule`.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
