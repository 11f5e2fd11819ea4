"""Run the web service: the agent on the simulated home plus the API and UI (uvicorn).

:func:`serve` warms the agent up (``warmup_hours`` of simulated time without pausing, so
the charts have history at once), prints the UI address with the token, and serves until
interrupted.
"""

from __future__ import annotations

import gc
import logging
import sys
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from typing import TYPE_CHECKING, Protocol

from darkstar import redact
from darkstar.service.logbuffer import LogBuffer
from darkstar.web.app import create_app
from darkstar.web.auth import TOKEN_FILE, load_or_create_token
from darkstar.web.malloc import limit_malloc_arenas

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime
    from pathlib import Path

    from darkstar.service.runtime import Runtime

__all__ = ["RuntimeOpener", "ServeOptions", "rotating_log_file", "serve"]

logger = logging.getLogger(__name__)


class RuntimeOpener(Protocol):
    """Opens the service runtime in its world (:func:`darkstar.backends.open_runtime`)."""

    def __call__(
        self, *, data_dir: Path, config_path: Path, speed: float, start: datetime | None
    ) -> Runtime:
        """Return the opened runtime."""
        ...


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """How to run the service.

    Attributes
    ----------
    host, port : str, int
        Where to listen (loopback by default: the API changes devices).
    data_dir : Path
        ``schedule.json``, ``planner_learning.db``, ``config.yaml`` and ``api_token``.
    config_path : Path or None
        The config file edited by Settings; ``data_dir/config.yaml`` when ``None``.
    speed : float
        Simulated seconds per real second (180: one 15-minute slot every 5 s).
    warmup_hours : float
        Simulated hours run at once before serving [h].
    start : datetime or None
        Simulated start (UTC); ``None`` is 1 May 2018 local midnight.
    extra_origins : Sequence[str]
        More CORS origins (e.g. the Vite dev server).
    access_log : bool
        Log every request (off by default: it costs time under load).
    ingress_proxy : str or None
        Home Assistant's ingress proxy address (add-on): only it may connect and it needs
        no token; the token is then not printed either.
    show_token : bool or None
        Print the UI address with the API token; ``None`` prints it only when standard
        output is a terminal (a journal or ``docker logs`` is a log others may read).
    log_file : Path or None
        Also write INFO and above there, rotated (:func:`rotating_log_file`).
    log_max_bytes, log_backups : int
        Rotate at this size [bytes]; keep this many old files.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path
    config_path: Path | None = None
    speed: float = 180.0
    warmup_hours: float = 24.0
    start: datetime | None = None
    extra_origins: Sequence[str] = ()
    access_log: bool = False
    ingress_proxy: str | None = None
    show_token: bool | None = None
    log_file: Path | None = None
    log_max_bytes: int = 10_000_000
    log_backups: int = 5


_UVICORN_LOGGERS = ("uvicorn", "uvicorn.access")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def rotating_log_file(path: Path, *, max_bytes: int, backups: int) -> logging.Handler:
    """Return an INFO handler writing ``path``, rotated at ``max_bytes`` into ``backups`` files.

    The log never grows past ``(backups + 1) * max_bytes`` (plus one record): ``path``,
    then ``path.1`` ... ``path.<backups>``, the oldest deleted.

    Raises
    ------
    ValueError
        For ``max_bytes`` under 1 kB or ``backups`` under 1 (naming the option).
    OSError
        When the file cannot be opened (the message names it).
    """
    if max_bytes < 1_000:
        msg = f"--log-max-mb: must be at least 0.001 (1 kB), got {max_bytes / 1e6:g}"
        raise ValueError(msg)
    if backups < 1:
        msg = f"--log-backups: must be at least 1, got {backups}"
        raise ValueError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=False
    )
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    return handler


def serve(
    options: ServeOptions,
    *,
    open_runtime: RuntimeOpener,
    announce: Callable[[str], None] = print,
) -> None:
    """Open the runtime, warm up, announce the URL and token, and serve until interrupted.

    ``open_runtime`` chooses the world (:func:`darkstar.backends.open_runtime`); the web
    layer never builds a house itself.
    """
    import uvicorn

    limit_malloc_arenas()  # before any thread starts: the worker pool fragments arenas
    redact.install()
    logs = LogBuffer()
    package_logger = logging.getLogger("darkstar")
    package_logger.addHandler(logs)
    package_logger.setLevel(logging.INFO)  # INFO reaches the Debug page ...
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)  # ... while the console shows warnings only
    log_file = None
    if options.log_file is not None:
        log_file = rotating_log_file(
            options.log_file, max_bytes=options.log_max_bytes, backups=options.log_backups
        )
        logging.getLogger("darkstar").addHandler(log_file)
    data_dir = options.data_dir
    runtime = open_runtime(
        data_dir=data_dir,
        config_path=options.config_path or data_dir / "config.yaml",
        speed=options.speed,
        start=options.start,
    )
    token = load_or_create_token(data_dir)
    if runtime.agent.world.realtime:
        announce(f"Darkstar: running the house through Home Assistant ({runtime.agent.world.tz})")
    elif runtime.agent.resumed:  # the charts already have the stored history
        announce(f"Darkstar: resuming the simulated home at {runtime.agent.house.now}")
    else:
        slots = round(options.warmup_hours * 4)
        announce(f"Darkstar: warming up the simulated home ({slots} slots of 15 min)...")
        runtime.warm_up(slots)
    # the warm-up's objects live for the whole run: keep full collections from walking
    # them again and again under load (they made the p99 latency ~100 ms)
    gc.collect()
    gc.freeze()
    origin = f"http://{options.host}:{options.port}"
    app = create_app(
        runtime,
        token=token,
        origin=origin,
        extra_origins=options.extra_origins,
        logs=logs,
        ingress_proxy=options.ingress_proxy,
    )
    token_file = data_dir / TOKEN_FILE
    if options.ingress_proxy is not None:
        announce(f"Darkstar: serving Home Assistant's ingress proxy {options.ingress_proxy} only")
    elif options.show_token if options.show_token is not None else sys.stdout.isatty():
        announce(f"Darkstar UI:  {origin}/#token={token}")
        announce(f"API token:    {token}   (stored in {token_file})")
    else:  # a console that is not a terminal is a log (journal, docker logs): no secrets
        announce(f"Darkstar UI:  {origin}/  (API token in {token_file}; open /#token=<it>)")
    announce(f"API docs:     {origin}/api/v1/docs   - Ctrl+C stops")
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level="info",
        access_log=options.access_log,
        ws="websockets-sansio",
    )
    if log_file is not None:  # after uvicorn has configured its own loggers
        for name in _UVICORN_LOGGERS:
            logging.getLogger(name).addHandler(log_file)
    uvicorn.Server(config).run()
