"""Where Home Assistant is and how Darkstar proves who it is (URL, access token).

The token is looked up in a fixed order (:func:`resolve_token`): the config value, a
token file readable by its owner only, an environment variable, and last the add-on's
``SUPERVISOR_TOKEN`` (then Home Assistant is reached through the Supervisor proxy at
:data:`SUPERVISOR_URL`). The token is never logged and never shown in a ``repr``.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from darkstar.errors import InputError
from darkstar.redact import register_secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "DEFAULT_TOKEN_ENV",
    "SUPERVISOR_TOKEN_ENV",
    "SUPERVISOR_URL",
    "HomeAssistantConnection",
    "resolve_connection",
    "resolve_token",
]

logger = logging.getLogger(__name__)

DEFAULT_TOKEN_ENV = "DARKSTAR_HA_TOKEN"
"""Environment variable holding a long-lived access token."""

SUPERVISOR_TOKEN_ENV = "SUPERVISOR_TOKEN"
"""Set by the Supervisor inside an add-on; valid only through :data:`SUPERVISOR_URL`."""

SUPERVISOR_URL = "http://supervisor/core"
"""Home Assistant as an add-on reaches it: REST under ``/api``, WebSocket at ``/websocket``."""

_TOKEN_FIELD = "home_assistant.token"
_TOKEN_FILE_FIELD = "home_assistant.token_file"
_URL_FIELD = "home_assistant.url"


@dataclass(frozen=True)
class HomeAssistantConnection:
    """How to reach one Home Assistant instance.

    Attributes
    ----------
    url : str
        Base URL, ``http(s)://host:port`` (a path prefix is kept, a trailing ``/`` dropped).
    token : str
        Long-lived access token (or the add-on's Supervisor token); hidden from ``repr``.
    timeout_s : float
        Upper bound of every request [s], connecting included.
    verify_tls : bool
        Check the server certificate on ``https``/``wss``.
    """

    url: str
    token: str = field(repr=False)
    timeout_s: float = 10.0
    verify_tls: bool = True

    def __post_init__(self) -> None:
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(_URL_FIELD, f"{self.url!r} is not an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise InputError(_URL_FIELD, f"{self.url!r} must not have a query or fragment")
        object.__setattr__(self, "url", self.url.strip().rstrip("/"))
        if not self.token.strip():
            raise InputError(_TOKEN_FIELD, "is empty")
        object.__setattr__(self, "token", self.token.strip())
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise InputError("home_assistant.timeout_s", f"{self.timeout_s} is not > 0 s")

    @property
    def websocket_url(self) -> str:
        """Return the WebSocket URL (``.../api/websocket``; add-on: ``.../core/websocket``)."""
        scheme = "wss" if self.url.startswith("https://") else "ws"
        rest = self.url.split("://", 1)[1]
        path = "/websocket" if self.url == SUPERVISOR_URL else "/api/websocket"
        return f"{scheme}://{rest}{path}"


def _read_token_file(path: Path) -> str:
    """Return the token in ``path``; refuse a file that others can read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise InputError(_TOKEN_FILE_FIELD, f"cannot read {path}: {exc.strerror}") from exc
    if mode & 0o077:
        msg = (
            f"{path} has mode {mode:04o}, so others can read the Home Assistant token; "
            f"run: chmod 600 {path}"
        )
        raise InputError(_TOKEN_FILE_FIELD, msg)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_TOKEN_FILE_FIELD, f"cannot read {path}: {exc}") from exc
    if not token:
        raise InputError(_TOKEN_FILE_FIELD, f"{path} is empty")
    return token


def _find_token(
    *,
    token: str | None,
    token_file: Path | None,
    env_var: str,
    environ: Mapping[str, str],
) -> tuple[str, str]:
    """Return ``(token, where it came from)``; ``where`` is ``"supervisor"`` for an add-on."""
    if token is not None and token.strip():
        return token.strip(), "config"
    if token_file is not None:
        return _read_token_file(token_file), "file"
    if value := environ.get(env_var, "").strip():
        return value, "env"
    if value := environ.get(SUPERVISOR_TOKEN_ENV, "").strip():
        return value, "supervisor"
    msg = (
        f"no Home Assistant access token: set home_assistant.token, "
        f"home_assistant.token_file or the {env_var} environment variable "
        "(create a long-lived access token in your Home Assistant profile)"
    )
    raise InputError(_TOKEN_FIELD, msg)


def resolve_token(
    *,
    token: str | None,
    token_file: Path | None,
    env_var: str = DEFAULT_TOKEN_ENV,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return the Home Assistant access token from the first place that has one.

    Order: ``token`` (the config value; blank counts as unset), ``token_file``, the
    environment variable ``env_var``, then ``SUPERVISOR_TOKEN`` (add-on; use
    :func:`resolve_connection` to get the matching Supervisor URL too).

    Parameters
    ----------
    token : str or None
        The configured token.
    token_file : Path or None
        A file holding the token; must not be readable by group or others (mode 0600).
    env_var : str
        Environment variable to look in.
    environ : Mapping[str, str] or None
        The environment (``os.environ`` when None).

    Returns
    -------
    str
        The token, stripped of surrounding whitespace.

    Raises
    ------
    InputError
        ``home_assistant.token`` when no source has a token;
        ``home_assistant.token_file`` when the file is missing, empty or readable by others.
    """
    found, _ = _find_token(
        token=token,
        token_file=token_file,
        env_var=env_var,
        environ=os.environ if environ is None else environ,
    )
    register_secret(found)
    return found


def resolve_connection(
    *,
    url: str | None,
    token: str | None,
    token_file: Path | None,
    env_var: str = DEFAULT_TOKEN_ENV,
    timeout_s: float = 10.0,
    verify_tls: bool = True,
    environ: Mapping[str, str] | None = None,
) -> HomeAssistantConnection:
    """Return the connection to use: the token as :func:`resolve_token` finds it, and its URL.

    When the token is the add-on's ``SUPERVISOR_TOKEN`` the URL is :data:`SUPERVISOR_URL`
    whatever ``url`` says (that token is only valid through the Supervisor proxy).

    Raises
    ------
    InputError
        As :func:`resolve_token`; ``home_assistant.url`` when no URL is configured outside
        an add-on, or the URL is not http(s).
    """
    found, source = _find_token(
        token=token,
        token_file=token_file,
        env_var=env_var,
        environ=os.environ if environ is None else environ,
    )
    register_secret(found)  # never in a log, wherever it came from
    if source == "supervisor":
        if url is not None and url.rstrip("/") != SUPERVISOR_URL:
            logger.info(
                "running as an add-on (SUPERVISOR_TOKEN): using %s instead of %s",
                SUPERVISOR_URL,
                url,
            )
        url = SUPERVISOR_URL
    if url is None or not url.strip():
        raise InputError(_URL_FIELD, "is not set (e.g. http://homeassistant.local:8123)")
    logger.debug("Home Assistant at %s, token from %s", url, source)
    return HomeAssistantConnection(url=url, token=found, timeout_s=timeout_s, verify_tls=verify_tls)
