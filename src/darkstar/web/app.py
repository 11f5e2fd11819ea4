"""The FastAPI app factory: API routers under ``/api/v1``, the UI, CORS, errors, lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from darkstar import __version__, redact
from darkstar.service.logbuffer import LogBuffer
from darkstar.web import live
from darkstar.web.errors import install_error_handlers
from darkstar.web.ingress import IngressGuard, base_href_of, with_base_href
from darkstar.web.limits import RequestLimits
from darkstar.web.routes import aurora, config, executor, learning, logs, planner, planning
from darkstar.web.routes import schedule as schedule_routes
from darkstar.web.routes import status as status_routes
from darkstar.web.schemas import ErrorOut

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from darkstar.service.runtime import Runtime

__all__ = ["API_PREFIX", "UI_PATHS", "create_app", "static_dir"]

API_PREFIX = "/api/v1"
"""Every API route lives under this prefix."""

UI_PATHS = ("dashboard", "planning", "aurora", "executor", "settings", "debug")
"""Client-side routes of the SPA: each serves ``index.html``."""

_NOT_BUILT = """<!doctype html><title>Darkstar</title><h1>Darkstar</h1>
<p>The UI is not built. Run <code>make</code> (or <code>cd frontend && npm ci && npm run
build</code>); the API is up at <a href="/api/v1/docs">/api/v1/docs</a>.</p>"""


def static_dir() -> Path:
    """Folder of the built UI inside the package (``frontend`` builds into it)."""
    return Path(str(files("darkstar.web").joinpath("static")))


def _api_router() -> APIRouter:
    # every 422 has the house error shape (errors.py), not FastAPI's default
    router = APIRouter(prefix=API_PREFIX, responses={422: {"model": ErrorOut}})
    for module in (
        status_routes,
        schedule_routes,
        planner,
        planning,
        aurora,
        learning,
        executor,
        config,
        logs,
        live,
    ):
        router.include_router(module.router)
    return router


def _mount_ui(app: FastAPI, folder: Path) -> None:
    index = folder / "index.html"
    if (folder / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=folder / "assets"), name="assets")

    def serve_index(request: Request) -> Response:
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT)
        page = index.read_text(encoding="utf-8")  # ~1 KB; a rebuilt UI shows at once
        return HTMLResponse(with_base_href(page, base_href_of(request)))

    app.get("/", include_in_schema=False)(serve_index)
    for path in UI_PATHS:
        app.get(f"/{path}", include_in_schema=False)(serve_index)

    @app.get("/favicon.svg", include_in_schema=False)
    def favicon() -> FileResponse:
        icon = folder / "favicon.svg"
        if not icon.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no favicon")
        return FileResponse(icon)


def create_app(
    runtime: Runtime,
    *,
    token: str,
    origin: str,
    extra_origins: Sequence[str] = (),
    logs: LogBuffer | None = None,
    manage_runtime: bool = True,
    ui_folder: Path | None = None,
    ingress_proxy: str | None = None,
) -> FastAPI:
    """Build the app around a :class:`~darkstar.service.runtime.Runtime`.

    Parameters
    ----------
    runtime : Runtime
        The running service the routes read and change.
    token : str
        The API token every state-changing call must carry.
    origin : str
        The UI's own origin (``http://127.0.0.1:8000``): the only one CORS allows, with
        ``extra_origins`` (e.g. the Vite dev server).
    logs : LogBuffer, optional
        Log buffer for ``/logs``; a new one attached to the ``darkstar`` logger if omitted.
    manage_runtime : bool, default True
        Start the agent thread at startup and stop it at shutdown.
    ui_folder : Path, optional
        The built UI; defaults to :func:`static_dir`.
    ingress_proxy : str, optional
        Address of Home Assistant's ingress proxy (an add-on: ``172.30.32.2``): only it
        may connect, and what it forwards needs no token (:mod:`darkstar.web.ingress`).
    """
    redact.install()  # no secret reaches a log, whoever builds the app
    if logs is None:
        logs = LogBuffer()
        logging.getLogger("darkstar").addHandler(logs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                runtime.stop()

    app = FastAPI(
        title="Darkstar",
        version=__version__,
        summary="Home energy manager: plans, forecasts, executor and learning.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime, app.state.token, app.state.logs = runtime, token, logs
    app.state.origins = frozenset([origin, *extra_origins])  # CORS and the WebSocket
    app.state.ingress_proxy = ingress_proxy
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin, *extra_origins],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.add_middleware(RequestLimits)  # nothing reads a body before it
    if ingress_proxy is not None:  # outermost: a refused peer reaches nothing
        app.add_middleware(IngressGuard, proxy=ingress_proxy)
    install_error_handlers(app)
    app.include_router(_api_router())
    _mount_ui(app, ui_folder or static_dir())
    return app
