"""One HTTP GET with retries, shared by the sources that poll public APIs.

Connection errors, time-outs, ``429`` and ``5xx`` are retried after ``backoff_s``,
doubling; any other reply is returned as it is, for the caller to judge. When every
attempt failed, :class:`RetriesExhausted` carries the last problem in words, ending in
``(after N attempts)``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import httpx2 as httpx

from darkstar.errors import DarkstarError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["RetriesExhausted", "get_with_retries"]

logger = logging.getLogger(__name__)


class RetriesExhausted(DarkstarError):
    """Every attempt failed; the message says how the last one did."""


def _retryable(status: int) -> bool:
    return status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR


def get_with_retries(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any],
    *,
    name: str,
    retries: int,
    backoff_s: float,
    describe: Callable[[httpx.Response], str],
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """GET ``url``; retry ``retries`` times on transient failures; return the final reply.

    ``describe`` words a retryable reply (``"answered 503: ..."``); ``name`` is the
    source in log lines.

    Raises
    ------
    RetriesExhausted
        When the last attempt failed too.
    """
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            response = client.get(url, params=params)
        except httpx.TimeoutException:
            timeout = client.timeout.read
            problem = f"no answer from {url} within {timeout:g} s"
        except httpx.TransportError as exc:
            problem = f"cannot reach {url}: {exc}"
        else:
            if not _retryable(response.status_code):
                return response
            problem = describe(response)
        if attempt == attempts:
            plural = "s" if attempts > 1 else ""
            msg = f"{problem} (after {attempts} attempt{plural})"
            raise RetriesExhausted(msg)
        wait = backoff_s * 2 ** (attempt - 1)
        logger.warning("%s: %s; retrying in %g s", name, problem, wait)
        sleep(wait)
    raise AssertionError  # pragma: no cover - the loop returns or raises
