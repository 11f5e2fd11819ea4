"""Planner solver package."""
