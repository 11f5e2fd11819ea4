"""The API token: generated on first start, required for every state-changing call."""

from __future__ import annotations

import logging
import os
import secrets
import stat
import string
from typing import TYPE_CHECKING

from darkstar.redact import register_secret

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["MIN_TOKEN_CHARS", "TOKEN_FILE", "load_or_create_token", "token_matches"]

logger = logging.getLogger(__name__)

TOKEN_FILE = "api_token"
"""Name of the token file in the data folder (mode 0600)."""

MIN_TOKEN_CHARS = 24
"""Shortest accepted token: 24 URL-safe characters carry 144 bits (a generated one has 32)."""

# the b64token characters of a Bearer token (RFC 6750 §2.1)
_TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-._~+/=")


def _check_strength(token: str, path: Path) -> None:
    """Refuse a token too short or with characters outside the URL-safe set."""
    if len(token) < MIN_TOKEN_CHARS or not set(token) <= _TOKEN_ALPHABET:
        msg = (
            f"{path}: the API token must be at least {MIN_TOKEN_CHARS} characters of "
            "A-Z a-z 0-9 - . _ ~ + / = ; delete the file to generate a new one"
        )
        raise ValueError(msg)


def _secure_mode(path: Path) -> None:
    """Make the token file readable by its owner only; warn when it was not."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(0o600)
        except OSError as exc:
            msg = f"{path}: mode {mode:04o} lets others read the API token; chmod failed: {exc}"
            raise ValueError(msg) from exc
        logger.warning("%s had mode %04o (others could read the token): set to 0600", path, mode)


def load_or_create_token(data_dir: Path) -> str:
    """Return the token stored in ``data_dir``, creating a new random one on first start.

    A stored token must be at least :data:`MIN_TOKEN_CHARS` URL-safe characters; a file
    that others can read is set to mode 0600 with a warning (refused if that fails).

    Raises
    ------
    ValueError
        When the stored token is too weak or its permissions cannot be made private.
    """
    path = data_dir / TOKEN_FILE
    if path.exists():
        _secure_mode(path)
        token = path.read_text(encoding="utf-8").strip()
        _check_strength(token, path)
        register_secret(token)
        return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    logger.info("generated a new API token in %s", path)
    register_secret(token)
    return token


def token_matches(expected: str, authorization: str | None) -> bool:
    """Check an ``Authorization: Bearer <token>`` header in constant time.

    Examples
    --------
    >>> token_matches("abc", "Bearer abc"), token_matches("abc", "Bearer abd")
    (True, False)
    >>> token_matches("abc", None)
    False
    """
    if authorization is None:
        return False
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(value.strip().encode(), expected.encode())
