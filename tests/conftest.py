"""Shared test setup: Hypothesis profiles.

Locally Hypothesis explores new random examples on every run (and keeps failures in its
database); in CI (``CI`` set) it is derandomized, so a run is repeatable and a red CI is
never a roll of the dice. Both run the same number of examples.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
