"""Run ``darkstar serve`` in a child process (benchmarks and browser tests use the real server).

:func:`running_server` starts it on a loopback port, waits until ``/api/v1/health``
answers, yields where it listens and its token, and always stops it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from darkstar.errors import DarkstarError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

__all__ = ["HEALTH_PATH", "ServerProcess", "free_port", "running_server"]

logger = logging.getLogger(__name__)

HEALTH_PATH: Final = "/api/v1/health"
"""Polled until the server answers 200."""

_HOST: Final = "127.0.0.1"
_POLL_S: Final = 0.1
_STOP_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, kw_only=True)
class ServerProcess:
    """A running server: where it listens, its process id, token and log file."""

    port: int
    pid: int
    token: str
    log_path: Path

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{_HOST}:{self.port}"


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _last_log_line(log_path: Path) -> str:
    """Return the last non-empty line of the server log, or a placeholder."""
    with contextlib.suppress(OSError):
        lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1].strip()
    return "(no output)"


def _wait_healthy(
    server: subprocess.Popen[bytes], *, port: int, timeout_s: float, log_path: Path
) -> None:
    """Poll :data:`HEALTH_PATH` until it answers 200; raise if the server dies or is slow."""
    url = f"http://{_HOST}:{port}{HEALTH_PATH}"
    deadline = time.monotonic() + timeout_s
    while True:
        code = server.poll()
        if code is not None:
            msg = f"server exited with code {code} before answering: {_last_log_line(log_path)}"
            raise DarkstarError(msg)
        # URLError (refused), reset, timeout: not up yet
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1.0) as reply:
            if reply.status == 200:
                return
        if time.monotonic() > deadline:
            msg = (
                f"server did not answer {HEALTH_PATH} within {timeout_s:g} s: "
                f"{_last_log_line(log_path)}"
            )
            raise DarkstarError(msg)
        time.sleep(_POLL_S)


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server (SIGTERM, then SIGKILL) and reap it."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning("server %s ignored SIGTERM; killing it", server.pid)
            server.kill()
    server.wait()


@contextmanager
def running_server(
    data_dir: Path,
    *,
    port: int | None = None,
    warmup_hours: float = 6.0,
    speed: float = 180.0,
    startup_timeout_s: float = 120.0,
    extra_args: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """Start ``darkstar serve`` on loopback, wait until it is healthy, stop it on exit.

    Parameters
    ----------
    data_dir : pathlib.Path
        The server's data folder (its log goes to ``data_dir/server.log``).
    port : int, optional
        Loopback port; a free one when ``None``.
    warmup_hours, speed : float
        ``--warmup-hours`` [h] and ``--speed`` (simulated s per real s).
    startup_timeout_s : float, default 120.0
        How long to wait for :data:`HEALTH_PATH` [s].
    extra_args : Sequence[str]
        More ``darkstar serve`` options (e.g. ``("--ingress-proxy", "127.0.0.2")``).

    Raises
    ------
    DarkstarError
        When the server exits or does not answer in time (with its last log line).
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    command = [
        sys.executable,
        "-m",
        "darkstar",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--warmup-hours",
        f"{warmup_hours:g}",
        "--speed",
        f"{speed:g}",
        *extra_args,
    ]
    logger.info("starting %s", " ".join(command))
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own CLI, no shell
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(server, port=port, timeout_s=startup_timeout_s, log_path=log_path)
        token = (data_dir / "api_token").read_text(encoding="utf-8").strip()
        yield ServerProcess(port=port, pid=server.pid, token=token, log_path=log_path)
    finally:
        _stop_server(server)
