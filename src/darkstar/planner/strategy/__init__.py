"""Planner strategy package."""
