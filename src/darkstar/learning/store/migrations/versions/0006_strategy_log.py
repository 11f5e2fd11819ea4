"""The strategy log: ``strategy_log``, one row per strategy decision or Reflex step.

Aurora Reflex proposes bounded changes of four config keys and, when allowed, applies them;
every proposal and every applied change is kept here with the signal it came from and the
value before and after, so the Aurora page can show the history and Reflex can rate-limit
itself (at most one applied change per key per day) and find a key's value before it first
touched it. ``kind`` says what a row is (``reflex_proposal``, ``reflex_applied``, later
``strategy``), ``rule`` which rule made it; ``inputs``, ``before`` and ``after`` are JSON text.

Revision ID: 0006_strategy_log
Revises: 0005_weather_runs
Create Date: 2027-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_strategy_log"
down_revision: str | None = "0005_weather_runs"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``strategy_log`` with an index on ``(kind, rule, at_utc)``."""
    op.create_table(
        "strategy_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_utc", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_strategy_log"),
    )
    op.create_index("ix_strategy_log_kind_rule_at", "strategy_log", ["kind", "rule", "at_utc"])


def downgrade() -> None:
    """Drop the log (the audit trail of Reflex's changes is lost with it)."""
    op.drop_index("ix_strategy_log_kind_rule_at", table_name="strategy_log")
    op.drop_table("strategy_log")
