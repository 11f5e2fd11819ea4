"""The built UI: present, small, and every asset index.html names is served."""

from __future__ import annotations

import gzip
import re

import pytest

from darkstar.web.app import static_dir

BUDGET_BYTES = 1_500_000  # the limit for the whole built UI, gzipped


@pytest.fixture(scope="module")
def folder():
    built = static_dir()
    if not (built / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (make test does it)")
    return built


def test_built_ui_is_under_budget_gzipped(folder) -> None:
    files = [f for f in folder.rglob("*") if f.is_file()]
    total = sum(len(gzip.compress(f.read_bytes(), compresslevel=9)) for f in files)
    assert total < BUDGET_BYTES, f"{total} bytes gzipped in {len(files)} files"


def test_index_names_only_existing_assets(folder) -> None:
    index = (folder / "index.html").read_text(encoding="utf-8")
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', index)
    assert assets, "index.html names no script or stylesheet"
    for asset in assets:
        assert (folder / asset).is_file(), asset
