"""Opening the learning store: the SQLite engine and migrations applied at startup.

:func:`open_store` is the only way to get a :class:`Store`. It creates the database file
when it is missing and runs ``alembic upgrade head`` through the Alembic API, with the
migration scripts shipped inside this package (no ``alembic.ini``, no CLI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, create_engine, event

from darkstar.errors import DarkstarError

if TYPE_CHECKING:
    from sqlite3 import Connection as SQLiteConnection

    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["Store", "StoreError", "migrations_config", "open_store"]

logger = logging.getLogger(__name__)


class StoreError(DarkstarError):
    """The learning store could not be read (writes log and return ``False``/``None``)."""


@dataclass(frozen=True, kw_only=True)
class Store:
    """An open learning store: the database file and its SQLAlchemy engine."""

    path: Path
    engine: Engine

    def close(self) -> None:
        """Release the engine's pooled connections."""
        self.engine.dispose()


def _migrations_dir() -> Path:
    """Folder of the Alembic environment shipped in this package."""
    return Path(str(files("darkstar.learning.store").joinpath("migrations")))


def migrations_config(url: str | None = None) -> Config:
    """Build the in-memory Alembic :class:`~alembic.config.Config` of the store.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL, only needed when no connection is passed in
        ``config.attributes["connection"]`` (for example to autogenerate a revision).
    """
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config


def _enable_foreign_keys(dbapi_connection: SQLiteConnection, _: ConnectionPoolEntry) -> None:
    """Turn on SQLite foreign keys on every new connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(path: Path, *, busy_timeout_s: float = 5.0) -> Store:
    """Open (creating if missing) the SQLite learning store and migrate it to head.

    Re-opening an up-to-date database runs no migration and changes nothing.

    Parameters
    ----------
    path : Path
        Database file (``planner_learning.db``); missing parent folders are created.
    busy_timeout_s : float, default 5.0
        How long a write waits for a lock held by another connection. [s]

    Returns
    -------
    Store
        The open store; call :meth:`Store.close` when done.

    Raises
    ------
    StoreError
        When the file cannot be created or migrated. This happens at startup, so it is
        raised rather than logged: the agent must not run without its store.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = open_store(Path(folder) / "planner_learning.db")
    ...     store.close()
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        url = URL.create("sqlite+pysqlite", database=str(path))
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
        event.listen(engine, "connect", _enable_foreign_keys)
        config = migrations_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (OSError, SQLAlchemyError) as exc:
        msg = f"cannot open learning store {path}: {exc}"
        raise StoreError(msg) from exc
    logger.debug("learning store %s at schema head", path)
    return Store(path=path, engine=engine)
