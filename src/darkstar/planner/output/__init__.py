"""Planner output package."""
