"""The Analyst's daily metrics: ``learning_daily_metrics``, one row per local day.

Every day the Analyst measures the last completed local days: forecast error of PV and
load against the P50 as issued (MAE and bias per slot [kWh]), planned vs actual cost
[SEK], realised battery efficiency, how far the SoC strayed from the plan's projection
[percentage points] and the evening low-SoC slots. ``day`` is the local date
(``YYYY-MM-DD``) in ``timezone``; a day is recomputed and its row replaced while late
observations arrive. Columns without data for a day are NULL, never 0.

Revision ID: 0007_daily_metrics
Revises: 0006_strategy_log
Create Date: 2027-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_daily_metrics"
down_revision: str | None = "0006_strategy_log"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``learning_daily_metrics`` (natural key: the local day)."""
    op.create_table(
        "learning_daily_metrics",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("observed_slots", sa.Integer(), nullable=False),
        sa.Column("matched_slots", sa.Integer(), nullable=False),
        sa.Column("forecast_slots", sa.Integer(), nullable=False),
        sa.Column("pv_mae_kwh", sa.Float(), nullable=True),
        sa.Column("pv_bias_kwh", sa.Float(), nullable=True),
        sa.Column("load_mae_kwh", sa.Float(), nullable=True),
        sa.Column("load_bias_kwh", sa.Float(), nullable=True),
        sa.Column("planned_cost_sek", sa.Float(), nullable=True),
        sa.Column("actual_cost_sek", sa.Float(), nullable=True),
        sa.Column("cost_deviation_sek", sa.Float(), nullable=True),
        sa.Column("battery_efficiency_realized", sa.Float(), nullable=True),
        sa.Column("soc_tracking_error_percent", sa.Float(), nullable=True),
        sa.Column("low_soc_events", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_learning_daily_metrics"),
    )


def downgrade() -> None:
    """Drop the metrics (the Analyst recomputes only its backfill window from history)."""
    op.drop_table("learning_daily_metrics")
