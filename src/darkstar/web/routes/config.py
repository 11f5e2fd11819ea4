"""The configuration: read, validate, save; clearing caches."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from darkstar.config.catalog import config_fields, validate_changes
from darkstar.errors import ConfigError
from darkstar.web.deps import RuntimeDep, TokenDep
from darkstar.web.errors import ApiError
from darkstar.web.schemas import ClearOut, ConfigChanges, ConfigOut, ErrorOut, ValidateOut

router = APIRouter(tags=["config"])


def _config_out(runtime: RuntimeDep) -> dict[str, Any]:
    try:
        cfg = runtime.load_cfg()
    except ConfigError as exc:
        raise ApiError(status.HTTP_409_CONFLICT, str(exc)) from exc
    return {
        "path": str(runtime.config_path),
        "fields": [vars(f) for f in config_fields(cfg)],
    }


@router.get("/config", response_model=ConfigOut, responses={409: {"model": ErrorOut}})
def get_config(runtime: RuntimeDep) -> dict[str, Any]:
    """Every key with its value, default, help text and kind."""
    return _config_out(runtime)


@router.post("/config/validate", response_model=ValidateOut, responses={401: {"model": ErrorOut}})
def validate(body: ConfigChanges, runtime: RuntimeDep, _: TokenDep) -> dict[str, Any]:
    """Check changes without saving; one message per bad key."""
    _merged, errors = validate_changes(runtime.config_file_data(), body.changes)
    return {"valid": not errors, "errors": [vars(e) for e in errors]}


@router.put(
    "/config",
    response_model=ConfigOut,
    responses={422: {"model": ErrorOut}, 401: {"model": ErrorOut}},
)
def save(body: ConfigChanges, runtime: RuntimeDep, _: TokenDep) -> dict[str, Any]:
    """Validate and save changes to ``config.yaml`` (comments kept); plan with them."""
    merged, errors = validate_changes(runtime.config_file_data(), body.changes)
    if merged is None:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid configuration: nothing saved",
            [vars(e) for e in errors],
        )
    try:
        runtime.save_config(body.changes, merged)
    except (ConfigError, OSError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"could not save: {exc}") from exc
    return _config_out(runtime)


@router.post("/cache/clear", response_model=ClearOut, responses={401: {"model": ErrorOut}})
def clear_cache(runtime: RuntimeDep, _: TokenDep) -> dict[str, list[str]]:
    """Forget the plans' projection memory (SoC tunnel band, forecast error)."""
    with runtime.lock:
        runtime.memory.clear()
    return {"cleared": ["plan projection memory"]}
