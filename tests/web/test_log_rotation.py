"""``serve --log-file``: the log file is rotated and bounded, and carries no token."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx2 as httpx
import pytest

from darkstar import redact
from darkstar.web.process import running_server
from darkstar.web.server import rotating_log_file

if TYPE_CHECKING:
    from pathlib import Path


def test_rotation_keeps_the_newest_files_within_their_size(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "darkstar.log"
    handler = rotating_log_file(path, max_bytes=2_000, backups=2)
    logger = logging.getLogger("darkstar.test_rotation")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for number in range(300):
            logger.info("record %04d %s", number, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["darkstar.log", "darkstar.log.1", "darkstar.log.2"]
    record_bytes = len("YYYY-MM-DD HH:MM:SS,mmm INFO darkstar.test_rotation: record 0000 ") + 41
    for name in files:
        assert (path.parent / name).stat().st_size <= 2_000 + record_bytes, name
    newest = path.read_text(encoding="utf-8")
    assert "record 0299" in newest  # the newest records are kept, the oldest dropped
    kept = "".join((path.parent / n).read_text(encoding="utf-8") for n in files)
    assert "record 0000" not in kept


@pytest.mark.parametrize(
    ("max_bytes", "backups", "message"),
    [(999, 2, "--log-max-mb: must be at least"), (2_000, 0, "--log-backups: must be at least 1")],
)
def test_bad_rotation_options_are_named(
    tmp_path: Path, max_bytes: int, backups: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rotating_log_file(tmp_path / "x.log", max_bytes=max_bytes, backups=backups)


def test_secrets_are_masked_in_the_file(tmp_path: Path) -> None:
    redact.install()
    secret = "file-log-secret-0123456789"
    redact.register_secret(secret)
    path = tmp_path / "darkstar.log"
    handler = rotating_log_file(path, max_bytes=100_000, backups=1)
    logger = logging.getLogger("darkstar.test_rotation_secret")
    logger.addHandler(handler)
    try:
        logger.warning("token %s refused", secret)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert path.read_text(encoding="utf-8").endswith("token *** refused\n")


@pytest.mark.browser  # a real server process, like the browser tests
def test_serve_writes_a_rotated_log_without_the_token(tmp_path: Path) -> None:
    log = tmp_path / "log" / "darkstar.log"
    extra = ("--log-file", str(log), "--log-max-mb", "0.004", "--log-backups", "2")
    with running_server(
        tmp_path / "data", warmup_hours=1, speed=60, extra_args=(*extra, "--access-log")
    ) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for _ in range(150):  # one access-log line each
                assert client.get("/api/v1/health").status_code == 200
        token = server.token
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["darkstar.log", "darkstar.log.1", "darkstar.log.2"]
    text = "".join((log.parent / n).read_text(encoding="utf-8") for n in files)
    assert "GET /api/v1/health" in text
    assert token not in text
    assert all((log.parent / n).stat().st_size <= 4_000 + 300 for n in files)
