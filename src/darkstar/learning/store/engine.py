"""Opening the learning store: the SQLite engine and migrations applied at startup.

:func:`open_store` is the only way to get a :class:`Store`. It creates the database file
when it is missing and runs ``alembic upgrade head`` through the Alembic API, with the
migration scripts shipped inside this package (no ``alembic.ini``, no CLI).

Every connection runs with foreign keys on, ``journal_mode=WAL`` (the dashboard's reads
and the agent's writes do not block each other, and a commit is one append to the WAL)
and ``synchronous=NORMAL`` (safe with WAL: a killed process loses no commit, a power cut
may lose the last few but never corrupts the file). While the store is open,
``planner_learning.db-wal`` and ``-shm`` sit next to the file, so copy all three (or use
SQLite's backup API) for a live backup; when the last connection closes
(:meth:`Store.close`) SQLite folds the WAL back into the file and removes both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import URL, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from darkstar.errors import DarkstarError

if TYPE_CHECKING:
    from sqlite3 import Connection as SQLiteConnection

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["Store", "StoreError", "migrations_config", "open_store"]

logger = logging.getLogger(__name__)


class StoreError(DarkstarError):
    """The learning store could not be read (writes log and return ``False``/``None``)."""


@dataclass(slots=True)
class _WriteHealth:
    """The mutable part of a :class:`Store`: the outcome of its latest write."""

    last_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Store:
    """An open learning store: the database file, its SQLAlchemy engine and write health.

    The store itself is immutable; only the outcome of the latest write changes, in a
    small holder, so :attr:`last_write_error` tells the service whether the store is
    currently writable without parsing logs.
    """

    path: Path
    engine: Engine
    _health: _WriteHealth = field(default_factory=_WriteHealth, repr=False, compare=False)

    @property
    def last_write_error(self) -> str | None:
        """Why the latest write failed, or ``None`` when it succeeded (or none ran yet).

        Set by a write that returned ``False``/``None`` (or, for ``delete_all``, raised),
        e.g. ``"cannot write /data/planner_learning.db: database is locked"``, and cleared by
        the next successful write. Invalid input (``InputError``) does not touch it. Writes
        from several threads share it: the latest write wins.
        """
        return self._health.last_error

    def note_write_failed(self, error: BaseException) -> str:
        """Record a failed write (repository use) and return the message stored.

        The message names the file and the driver's reason (for a SQLAlchemy error its
        DBAPI error, without the SQL statement).
        """
        reason = getattr(error, "orig", None) or error
        message = f"cannot write {self.path}: {reason}"
        self._health.last_error = message
        return message

    def note_write_ok(self) -> None:
        """Record a successful write (repository use): clears :attr:`last_write_error`."""
        self._health.last_error = None

    def close(self) -> None:
        """Release the engine's pooled connections (the last one out removes the WAL)."""
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


def _configure_connection(dbapi_connection: SQLiteConnection, _: ConnectionPoolEntry) -> None:
    """Set the per-connection pragmas: foreign keys, WAL journal, ``synchronous=NORMAL``.

    ``journal_mode=WAL`` is stored in the file, so after the first connection it is a
    no-op; ``foreign_keys`` and ``synchronous`` are per connection. The busy timeout is
    already set by the driver (``connect_args``), so switching the journal waits for locks.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
    journal = None if mode is None else str(mode[0]).lower()
    if journal != "wal":
        logger.warning("learning store journal_mode is %s, not wal", journal)


def _upgrade_to_head(connection: Connection) -> None:
    """Run the pending migrations on ``connection`` with foreign keys off meanwhile.

    Batch migrations rebuild a table by dropping it; with foreign keys on, dropping
    ``plans`` would cascade into ``slot_plans``. The pragma is ignored inside a
    transaction, hence it is set (and committed) before the migration transaction begins.
    """
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    config = migrations_config()
    config.attributes["connection"] = connection
    with connection.begin():
        command.upgrade(config, "head")
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    connection.commit()


def open_store(path: Path, *, busy_timeout_s: float = 5.0) -> Store:
    """Open (creating if missing) the SQLite learning store and migrate it to head.

    Re-opening an up-to-date database runs no migration and changes nothing. The file is
    switched to ``journal_mode=WAL`` (kept in the file) on the first connection.

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
        When the file cannot be created or migrated (also when it is at a revision this
        version does not know). This happens at startup, so it is raised rather than
        logged: the agent must not run without its store.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = open_store(Path(folder) / "planner_learning.db")
    ...     store.close()
    """
    engine: Engine | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        url = URL.create("sqlite+pysqlite", database=str(path))
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})
        event.listen(engine, "connect", _configure_connection)
        with engine.connect() as connection:
            _upgrade_to_head(connection)
    except (OSError, SQLAlchemyError, CommandError) as exc:
        if engine is not None:
            engine.dispose()
        msg = f"cannot open learning store {path}: {exc}"
        raise StoreError(msg) from exc
    logger.debug("learning store %s at schema head", path)
    return Store(path=path, engine=engine)
