"""The service's boundary (DESIGN §1): it runs on the house interface, never on the simulator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import darkstar

PACKAGE = Path(darkstar.__file__).parent

#: Packages that must not import the simulator: the service talks to a World/House, the
#: web to the service, the executor and house interface to anything that is a house.
CLEAN = ("service", "web", "executor", "house", "planner", "learning", "sources", "aurora")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", CLEAN)
def test_package_never_imports_the_simulator(package: str) -> None:
    files = sorted((PACKAGE / package).rglob("*.py"))
    if package != "sources":
        assert files, package
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.startswith("darkstar.simulation")
        )
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_check_sees_an_import_of_the_simulator(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from darkstar.simulation.house import SimulatedHouse\nimport os\n")
    assert "darkstar.simulation.house" in _imports(module)
