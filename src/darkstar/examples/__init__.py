"""Bundled example plan requests built from real public data (see ``data/README.md``).

>>> sorted(p.stem for p in example_request_paths())[0]
'dk1-negative-prices-2018-03-17'
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = ["example_request_paths", "read_example_request"]


def example_request_paths() -> list[Path]:
    """Paths of the bundled example requests, sorted by name."""
    folder = Path(str(files("darkstar.examples").joinpath("data")))
    return sorted(folder.glob("*.json"))


def read_example_request(name: str) -> dict[str, Any]:
    """Read one bundled example request by file stem, e.g. ``"se4-winter-2018-01-17"``."""
    for path in example_request_paths():
        if path.stem == name:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
    known = ", ".join(p.stem for p in example_request_paths())
    msg = f"no example {name!r}; known: {known}"
    raise KeyError(msg)
