"""Darkstar's exception hierarchy.

Every error a user can cause names the offending field (``field``) so the CLI and the
API can print one clear line instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "BusyError",
    "ConfigError",
    "DarkstarError",
    "InputError",
    "StorageError",
    "require",
]


class DarkstarError(Exception):
    """Base class of every error Darkstar raises on purpose."""


class InputError(DarkstarError, ValueError):
    """Invalid planner input: names the field (``slots[3].import_price_sek_per_kwh``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ConfigError(InputError):
    """Invalid configuration: names the key path (``battery.max_soc_percent``)."""


class AdapterError(DarkstarError):
    """An external source (HA, Nord Pool, Open-Meteo) failed; names the source."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class StorageError(DarkstarError):
    """A write to the data folder failed: the change it carried was not applied.

    Names the path, so the API can answer ``503`` and the UI can say which file.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"cannot write {path}: {message}")


class BusyError(DarkstarError):
    """A bounded resource (e.g. the simulation slot) is in use; try again later (HTTP 429)."""

    def __init__(self, resource: str, message: str) -> None:
        self.resource = resource
        super().__init__(f"{resource}: {message}")


def require(ok: bool, field: str, message: str) -> None:  # noqa: FBT001 - reads as a check
    """Raise :class:`InputError` naming ``field`` unless ``ok``."""
    if not ok:
        raise InputError(field, message)
