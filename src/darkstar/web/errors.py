"""One error shape for every reply: ``{"detail": str, "errors": [{field, message}]}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from darkstar.errors import BusyError, DarkstarError, InputError, StorageError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

__all__ = ["ApiError", "install_error_handlers"]


class ApiError(HTTPException):
    """An HTTP error with field messages."""

    def __init__(
        self, status_code: int, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(status_code, detail)
        self.errors = errors or []


def _body(detail: str, errors: list[dict[str, str]]) -> dict[str, Any]:
    return {"detail": detail, "errors": errors}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this type only
    errors = exc.errors if isinstance(exc, ApiError) else []
    return JSONResponse(
        _body(str(exc.detail), errors), status_code=exc.status_code, headers=exc.headers
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "header"}]
    return ".".join(parts) or "request"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = [
        {
            # a JSON syntax error is located by character offset: name the body instead
            "field": "body" if e["type"] == "json_invalid" else _field(e["loc"]),
            "message": str(e["msg"]),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse(_body(detail, errors), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _input_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)  # noqa: S101
    return JSONResponse(
        _body(str(exc), [{"field": exc.field, "message": exc.message}]),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _storage_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StorageError)  # noqa: S101
    return JSONResponse(
        _body(f"{exc}; nothing was changed", [{"field": "storage", "message": exc.message}]),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _busy_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BusyError)  # noqa: S101
    return JSONResponse(
        _body(str(exc), []),
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": "1"},
    )


async def _darkstar_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_body(str(exc), []), status_code=status.HTTP_409_CONFLICT)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(BusyError, _busy_error)
    app.add_exception_handler(DarkstarError, _darkstar_error)
