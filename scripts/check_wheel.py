"""Check that a built Darkstar wheel carries what the package reads at run time.

Usage: ``python scripts/check_wheel.py DIR_OR_WHEEL``. The wheel must hold the built UI
(``index.html`` and every asset it references), the documented defaults and the Alembic
migrations; a wheel built before ``make ui`` (or from a context without the UI) is
refused. Exit 0 when complete, 1 naming what is missing. Standard library only, so the
Docker builder stage can run it too.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

STATIC = "darkstar/web/static/"
REQUIRED = (
    f"{STATIC}index.html",
    "darkstar/py.typed",
    "darkstar/config/config.default.yaml",
    "darkstar/learning/store/migrations/env.py",
    "darkstar/learning/store/migrations/script.py.mako",
)
# src/href of the built index.html: "./assets/index-abc.js", "/assets/x.css", "assets/..."
_ASSET_REF = re.compile(r'(?:src|href)="(?:\.?/)?(assets/[^"]+)"')


def find_wheel(target: Path) -> Path:
    """Return ``target`` or the single ``darkstar-*.whl`` in it."""
    if target.is_file():
        return target
    wheels = sorted(target.glob("darkstar-*.whl"))
    if len(wheels) != 1:
        msg = f"expected one darkstar-*.whl in {target}, found {len(wheels)}"
        raise SystemExit(msg)
    return wheels[0]


def missing_files(wheel: Path) -> list[str]:
    """Return what the wheel lacks (empty when it is complete)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        index = f"{STATIC}index.html"
        missing = [name for name in REQUIRED if name not in names]
        if index in names:
            page = archive.read(index).decode("utf-8")
            assets = _ASSET_REF.findall(page)
            if not assets:
                missing.append(f"{index} references no assets/ file (not a built UI?)")
            missing += [STATIC + a for a in assets if STATIC + a not in names]
        if not any(n.startswith("darkstar/learning/store/migrations/versions/") for n in names):
            missing.append("darkstar/learning/store/migrations/versions/*.py")
    return missing


def main(argv: list[str]) -> int:
    """Check the wheel named by ``argv[1]``; return the exit code."""
    if len(argv) != 2:  # the program and one argument
        sys.stderr.write(__doc__ or "")
        return 2
    wheel = find_wheel(Path(argv[1]))
    missing = missing_files(wheel)
    for name in missing:
        sys.stderr.write(f"{wheel.name}: missing {name}\n")
    if not missing:
        sys.stdout.write(f"{wheel.name}: UI, defaults and migrations present\n")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
