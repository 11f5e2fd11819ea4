"""Alembic environment of the learning store.

:func:`darkstar.learning.store.open_store` passes its open connection in
``config.attributes["connection"]``; otherwise ``sqlalchemy.url`` is used (for generating
a new revision from the models). ``render_as_batch`` lets SQLite alter tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from darkstar.learning.store.models import Base


def _run_migrations(connection: Connection) -> None:
    """Run the pending migrations on one connection."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the passed-in connection, or a fresh one from ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "set config.attributes['connection'] or the sqlalchemy.url option"
        raise RuntimeError(msg)
    engine = create_engine(url)
    with engine.begin() as fresh:
        _run_migrations(fresh)
    engine.dispose()


def _inside_alembic() -> bool:
    """Whether Alembic is running this file (not, e.g., pytest's doctest collection)."""
    # ``context.config`` only exists while an EnvironmentContext is installed.
    return getattr(context, "config", None) is not None


if _inside_alembic():
    run_migrations_online()
