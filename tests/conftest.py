"""Shared test setup: Hypothesis profiles, and ``tests/fakes`` importable from every folder.

Locally Hypothesis explores new random examples on every run (and keeps failures in its
database); in CI (``CI`` set) it is derandomized, so a run is repeatable and a red CI is
never a roll of the dice. Both run the same number of examples.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

# stand-ins for external services (Nord Pool, ...) shared by several test folders
sys.path.insert(0, str(Path(__file__).resolve().parent / "fakes"))

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
