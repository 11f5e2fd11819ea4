"""The learning store: the one package that owns SQL (STYLE §H.28, DESIGN §5).

SQLite file ``planner_learning.db`` with typed SQLAlchemy models, numbered Alembic
migrations applied by :func:`open_store`, and keyword-only repository functions that
each run in one transaction. Writes never break the control loop: a database failure is
logged and reported as ``False``/``None`` (see :mod:`darkstar.learning.store.repository`).
"""

from __future__ import annotations

from darkstar.learning.store.engine import Store, StoreError, migrations_config, open_store
from darkstar.learning.store.models import Base, ExecutionLog, Plan, SlotObservation, SlotPlan

__all__ = [
    "Base",
    "ExecutionLog",
    "Plan",
    "SlotObservation",
    "SlotPlan",
    "Store",
    "StoreError",
    "migrations_config",
    "open_store",
]
