"""No secret in any log: registered secrets are masked in every record as it is made.

The API token, the Home Assistant token (from the config, a token file, an environment
variable or the add-on's ``SUPERVISOR_TOKEN``) are registered with :func:`register_secret`
where they are read. :func:`install` wraps the process's log-record factory once, so
*every* record, from Darkstar, uvicorn, httpx or anything else, and whatever handler later
writes it (console, file, the Debug page's buffer), has each secret replaced by
:data:`MASK` in its message and its traceback. Logging is process-wide, so is this.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Final

__all__ = ["MASK", "MIN_SECRET_CHARS", "install", "redact", "register_secret"]

MASK: Final = "***"
"""What a secret is replaced with."""

MIN_SECRET_CHARS: Final = 8
"""Shorter values are not registered: masking them would mangle ordinary words."""

_ENV_SECRETS: Final = ("SUPERVISOR_TOKEN", "DARKSTAR_HA_TOKEN")

_secrets: frozenset[str] = frozenset()
_guard = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every log record from now on (blank or short values are ignored)."""
    global _secrets  # one registry per process, like logging itself
    if value is None or len(value.strip()) < MIN_SECRET_CHARS:
        return
    with _guard:
        _secrets = _secrets | {value.strip()}


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by :data:`MASK`.

    Examples
    --------
    >>> register_secret("s3cr3t-token-value")
    >>> redact("Authorization: Bearer s3cr3t-token-value")
    'Authorization: Bearer ***'
    """
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _scrub(record: logging.LogRecord) -> None:
    """Mask the secrets in a record's message and traceback, in place."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a broken format: the handler reports it
        return
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


def install() -> None:
    """Wrap the log-record factory (once) and register the secrets of the environment."""
    global _installed  # the factory is wrapped once per process
    for name in _ENV_SECRETS:
        register_secret(os.environ.get(name))
    with _guard:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if _secrets:
            _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
