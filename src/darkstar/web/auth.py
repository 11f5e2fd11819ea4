"""The API token: generated on first start, required for every state-changing call."""

from __future__ import annotations

import logging
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["TOKEN_FILE", "load_or_create_token", "token_matches"]

logger = logging.getLogger(__name__)

TOKEN_FILE = "api_token"
"""Name of the token file in the data folder (mode 0600)."""


def load_or_create_token(data_dir: Path) -> str:
    """Return the token stored in ``data_dir``, creating a new random one on first start.

    Raises
    ------
    ValueError
        When the stored file is empty or holds whitespace inside the token.
    """
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if not token or any(c.isspace() for c in token):
            msg = f"{path}: not a valid token; delete the file to generate a new one"
            raise ValueError(msg)
        return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    logger.info("generated a new API token in %s", path)
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
