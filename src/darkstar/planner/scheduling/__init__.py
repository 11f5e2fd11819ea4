"""Planner scheduling package."""
