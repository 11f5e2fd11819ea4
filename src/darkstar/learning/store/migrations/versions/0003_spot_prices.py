"""Cache of day-ahead spot prices: ``spot_prices``, one row per area, currency and slot.

A restart must not fetch a delivery day again that it already has (issue: live data);
the service stores each day whole when it arrives and reads it back from here first.

Revision ID: 0003_spot_prices
Revises: 0002_idempotent_history
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_spot_prices"
down_revision: str | None = "0002_idempotent_history"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``spot_prices`` with its natural key and day index."""
    op.create_table(
        "spot_prices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("delivery_date", sa.String(10), nullable=False),
        sa.Column("start_utc", sa.Integer(), nullable=False),
        sa.Column("end_utc", sa.Integer(), nullable=False),
        sa.Column("spot_per_kwh", sa.Float(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spot_prices"),
        sa.UniqueConstraint("area", "currency", "start_utc", name="uq_spot_prices_area"),
    )
    op.create_index(
        "ix_spot_prices_delivery_date", "spot_prices", ["area", "currency", "delivery_date"]
    )


def downgrade() -> None:
    """Drop the cache (prices are fetched again)."""
    op.drop_index("ix_spot_prices_delivery_date", table_name="spot_prices")
    op.drop_table("spot_prices")
