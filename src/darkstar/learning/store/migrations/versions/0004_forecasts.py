"""Aurora's forecasts and models: ``slot_forecasts`` and ``forecast_models``.

Every plan cycle forecasts its horizon; each slot's P10/P50/P90 of PV and load is kept with
the time it was issued and the models that made it, so forecast error can be measured
against what was known then. ``forecast_models`` is the registry: model files live in the
data folder (outside git), their metadata here.

Revision ID: 0004_forecasts
Revises: 0003_spot_prices
Create Date: 2027-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_forecasts"
down_revision: str | None = "0003_spot_prices"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``slot_forecasts`` (natural key: issue time and slot) and ``forecast_models``."""
    op.create_table(
        "slot_forecasts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issued_at_utc", sa.Integer(), nullable=False),
        sa.Column("slot_start_utc", sa.Integer(), nullable=False),
        sa.Column("pv_p10_kwh", sa.Float(), nullable=False),
        sa.Column("pv_p50_kwh", sa.Float(), nullable=False),
        sa.Column("pv_p90_kwh", sa.Float(), nullable=False),
        sa.Column("load_p10_kwh", sa.Float(), nullable=False),
        sa.Column("load_p50_kwh", sa.Float(), nullable=False),
        sa.Column("load_p90_kwh", sa.Float(), nullable=False),
        sa.Column("pv_source", sa.String(64), nullable=False),
        sa.Column("load_source", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slot_forecasts"),
        sa.UniqueConstraint(
            "issued_at_utc", "slot_start_utc", name="uq_slot_forecasts_issued_at_utc"
        ),
    )
    op.create_index("ix_slot_forecasts_slot_start_utc", "slot_forecasts", ["slot_start_utc"])
    op.create_table(
        "forecast_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(8), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("trained_at", sa.String(32), nullable=False),
        sa.Column("train_start_utc", sa.Integer(), nullable=False),
        sa.Column("train_end_utc", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_forecast_models"),
        sa.UniqueConstraint("target", "version", name="uq_forecast_models_target"),
    )


def downgrade() -> None:
    """Drop both (forecasts are made again; model files stay on disk)."""
    op.drop_table("forecast_models")
    op.drop_index("ix_slot_forecasts_slot_start_utc", table_name="slot_forecasts")
    op.drop_table("slot_forecasts")
