"""The configuration in force, kept safe from a broken or hand-edited ``config.yaml``.

A controller of a real battery must not stop because a file was mistyped: the devices would
keep whatever they were last told (a forced discharge, say) with nobody watching. So:

* **at start** (:func:`load_guarded`): a valid ``config.yaml`` is loaded and its text kept
  as ``<data_dir>/config.last_good.yaml``; an invalid one, when such a copy exists, is
  refused in words (the file, the line, the key) and the service runs on the copy, the
  fault shown in ``/health`` and ``/status``; without a copy (a first start) the error is
  raised and ``darkstar serve`` exits with that one line;
* **while running** (:class:`ConfigWatch`, polled after every agent step): a change of the
  file on disk (a hand edit) is loaded; valid, it is planned with from then on (as after
  ``PUT /config``); invalid, the configuration in force is kept and the fault shown until
  the file is valid again.

``PUT /config`` and Reflex write the file themselves after validating it
(:func:`~darkstar.config.yaml_io.update_config_file`) and tell the watch
(:meth:`ConfigWatch.saved`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from darkstar.config.loader import load_config
from darkstar.errors import ConfigError

if TYPE_CHECKING:
    from darkstar.config.models import DarkstarConfig

__all__ = ["LAST_GOOD_FILE", "ConfigWatch", "keep_last_good", "load_guarded"]

logger = logging.getLogger(__name__)

LAST_GOOD_FILE = "config.last_good.yaml"
"""The text of the last ``config.yaml`` that loaded, in the data folder."""

_Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> _Stamp:
    """Return what changes when the file is edited or replaced (``None``: missing)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def keep_last_good(config_path: Path, data_dir: Path) -> None:
    """Copy the (valid) ``config.yaml`` to :data:`LAST_GOOD_FILE`, atomically.

    Best effort: a failure (a full or read-only data folder, reported elsewhere) is logged.
    """
    target = data_dir / LAST_GOOD_FILE
    tmp_name: str | None = None
    try:
        text = config_path.read_bytes()
        if target.exists() and target.read_bytes() == text:
            return
        fd, tmp_name = tempfile.mkstemp(prefix=f".{LAST_GOOD_FILE}.", suffix=".tmp", dir=data_dir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(target)
    except OSError as exc:
        logger.warning("cannot keep %s: %s", target, exc)
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()


def load_guarded(config_path: Path, data_dir: Path) -> tuple[DarkstarConfig, str | None]:
    """Load ``config.yaml``, or the last good copy when it is invalid.

    Returns the configuration and, when the copy was used, the fault in words.

    Raises
    ------
    ConfigError
        When ``config.yaml`` is invalid and there is no usable copy (the file's error).
    """
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        backup = data_dir / LAST_GOOD_FILE
        if not backup.exists():
            raise
        try:
            cfg = load_config(backup)
        except ConfigError:
            logger.warning("%s is not usable either", backup, exc_info=True)
            raise exc from None
        fault = f"{exc}; running on the last good configuration ({backup})"
        logger.error("%s", fault)  # noqa: TRY400 - the one line says it all
        return cfg, fault
    keep_last_good(config_path, data_dir)
    return cfg, None


class ConfigWatch:
    """Notices changes of ``config.yaml`` on disk between agent steps.

    Parameters
    ----------
    config_path : Path
        The user's ``config.yaml``.
    data_dir : Path
        Where :data:`LAST_GOOD_FILE` is kept.

    Attributes
    ----------
    fault : str or None
        Why the configuration in force is not the file's (its error, the line and the
        key named); ``None`` when they agree. Set by whoever opened the runtime when it
        started on the last good copy.
    """

    def __init__(self, config_path: Path, data_dir: Path) -> None:
        self.config_path, self.data_dir = config_path, data_dir
        self.fault: str | None = None
        self._seen = _stamp(config_path)

    def poll(self) -> tuple[DarkstarConfig | None, bool]:
        """Load the file if it changed since the last look.

        Returns the new configuration (``None``: unchanged, or invalid) and whether the
        fault is new (a warning to give once).
        """
        stamp = _stamp(self.config_path)
        if stamp == self._seen:
            return None, False
        self._seen = stamp
        before = self.fault
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            self.fault = f"{exc}; the configuration in force is kept until the file is valid"
            logger.error("%s", self.fault)  # noqa: TRY400 - one line, no traceback
            return None, self.fault != before
        self.fault = None
        keep_last_good(self.config_path, self.data_dir)
        return cfg, False

    def saved(self) -> None:
        """Take the file the service wrote itself, validated (``PUT /config``, Reflex)."""
        self._seen = _stamp(self.config_path)
        self.fault = None
        keep_last_good(self.config_path, self.data_dir)
