"""Idempotent history: one plan per (planned_at, mode), one execution_log row per tick.

Before this revision a restart that replayed the same slots appended them again (after
five ``kill -9``: 754 ``execution_log`` rows for 161 ticks, 150 repeated ``planned_at``).
The upgrade first removes the duplicates, keeping the newest row of each key (the highest
``id`` / ``plan_id``; the ``slot_plans`` of a removed plan go with it), then adds
``uq_plans_planned_at_mode`` and ``uq_execution_log_at_utc``. The unique constraint's
index replaces ``ix_execution_log_at_utc``.

SQLite cannot add a constraint in place, so batch mode rebuilds both tables (create a
copy, copy the rows, drop the old table, rename). Foreign keys must be off while
``plans`` is dropped: ``slot_plans`` refers to it with ``ON DELETE CASCADE``, so the drop
would delete every slot of every plan. :func:`~darkstar.learning.store.open_store`
turns them off around the migrations, and this script refuses to run when they are on.

Revision ID: 0002_idempotent_history
Revises: 0001_initial
Create Date: 2027-01-10
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from darkstar.learning.store.models import NAMING_CONVENTION

revision: str = "0002_idempotent_history"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

logger = logging.getLogger("darkstar.learning.store.migrations")

_KEPT_PLANS = "SELECT max(plan_id) FROM plans GROUP BY planned_at, mode"
_DEDUPLICATE = {
    "execution_log": (
        "DELETE FROM execution_log WHERE id NOT IN"
        " (SELECT max(id) FROM execution_log GROUP BY at_utc)"
    ),
    "slot_plans": (
        "DELETE FROM slot_plans WHERE plan_id IN"
        f" (SELECT plan_id FROM plans WHERE plan_id NOT IN ({_KEPT_PLANS}))"
    ),
    "plans": f"DELETE FROM plans WHERE plan_id NOT IN ({_KEPT_PLANS})",
}


def _check_foreign_keys_off() -> None:
    """Refuse to rebuild ``plans`` while its drop would cascade into ``slot_plans``."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        msg = (
            "0002_idempotent_history rebuilds 'plans'; run it with PRAGMA foreign_keys=OFF"
            " (open_store does) or the rebuild deletes every slot_plans row"
        )
        raise RuntimeError(msg)


def upgrade() -> None:
    """Delete duplicate history rows (keep the newest), then add the unique constraints."""
    _check_foreign_keys_off()
    bind = op.get_bind()
    for table, statement in _DEDUPLICATE.items():
        removed = bind.execute(sa.text(statement)).rowcount
        if removed:
            logger.info("removed %d duplicate %s rows (kept the newest)", removed, table)
    with op.batch_alter_table("plans", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.create_unique_constraint("uq_plans_planned_at_mode", ["planned_at", "mode"])
    with op.batch_alter_table("execution_log", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.drop_index("ix_execution_log_at_utc")
        batch_op.create_unique_constraint("uq_execution_log_at_utc", ["at_utc"])


def downgrade() -> None:
    """Drop the unique constraints and restore the plain ``at_utc`` index (rows stay)."""
    _check_foreign_keys_off()
    with op.batch_alter_table("execution_log", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.drop_constraint("uq_execution_log_at_utc", type_="unique")
        batch_op.create_index("ix_execution_log_at_utc", ["at_utc"])
    with op.batch_alter_table("plans", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.drop_constraint("uq_plans_planned_at_mode", type_="unique")
