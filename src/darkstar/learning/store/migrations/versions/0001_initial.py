"""Initial learning store: plans, slot_plans, slot_observations, execution_log.

Revision ID: 0001_initial
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the four tables of the first schema version."""
    op.create_table(
        "slot_observations",
        sa.Column("slot_start_utc", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pv_kwh", sa.Float(), nullable=False),
        sa.Column("load_kwh", sa.Float(), nullable=False),
        sa.Column("grid_import_kwh", sa.Float(), nullable=False),
        sa.Column("grid_export_kwh", sa.Float(), nullable=False),
        sa.Column("battery_charge_kwh", sa.Float(), nullable=False),
        sa.Column("battery_discharge_kwh", sa.Float(), nullable=False),
        sa.Column("water_heater_kwh", sa.Float(), nullable=False),
        sa.Column("soc_end_percent", sa.Float(), nullable=True),
        sa.Column("water_temp_c", sa.Float(), nullable=True),
        sa.Column("import_price_sek_per_kwh", sa.Float(), nullable=False),
        sa.Column("export_price_sek_per_kwh", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("slot_start_utc", name="pk_slot_observations"),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("planned_at", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective_sek", sa.Float(), nullable=True),
        sa.Column("solve_time_ms", sa.Float(), nullable=True),
        sa.Column("horizon_start_utc", sa.Integer(), nullable=False),
        sa.Column("horizon_end_utc", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name="pk_plans"),
    )
    op.create_table(
        "slot_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("slot_start_utc", sa.Integer(), nullable=False),
        sa.Column("slot_end_utc", sa.Integer(), nullable=False),
        sa.Column("import_price_sek_per_kwh", sa.Float(), nullable=False),
        sa.Column("export_price_sek_per_kwh", sa.Float(), nullable=False),
        sa.Column("adjusted_pv_kwh", sa.Float(), nullable=True),
        sa.Column("adjusted_load_kwh", sa.Float(), nullable=True),
        sa.Column("battery_charge_kw", sa.Float(), nullable=False),
        sa.Column("battery_discharge_kw", sa.Float(), nullable=False),
        sa.Column("grid_import_kw", sa.Float(), nullable=False),
        sa.Column("grid_export_kw", sa.Float(), nullable=False),
        sa.Column("water_heating_kw", sa.Float(), nullable=False),
        sa.Column("ev_charging_kw", sa.Float(), nullable=False),
        sa.Column("pv_curtailment_kw", sa.Float(), nullable=False),
        sa.Column("load_shedding_kw", sa.Float(), nullable=False),
        sa.Column("projected_soc_percent", sa.Float(), nullable=False),
        sa.Column("soc_target_percent", sa.Float(), nullable=True),
        sa.Column("planned_cost_sek", sa.Float(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.plan_id"],
            name="fk_slot_plans_plan_id_plans",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slot_plans"),
        sa.UniqueConstraint("plan_id", "slot_start_utc", name="uq_slot_plans_plan_id_slot_start"),
    )
    op.create_index("ix_slot_plans_slot_start_utc", "slot_plans", ["slot_start_utc"])
    op.create_table(
        "execution_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_utc", sa.Integer(), nullable=False),
        sa.Column("slot_start_utc", sa.Integer(), nullable=True),
        sa.Column("planned_action", sa.String(length=32), nullable=True),
        sa.Column("commanded", sa.String(), nullable=False),
        sa.Column("observed_soc_percent", sa.Float(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_execution_log"),
    )
    op.create_index("ix_execution_log_at_utc", "execution_log", ["at_utc"])


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_index("ix_execution_log_at_utc", table_name="execution_log")
    op.drop_table("execution_log")
    op.drop_index("ix_slot_plans_slot_start_utc", table_name="slot_plans")
    op.drop_table("slot_plans")
    op.drop_table("plans")
    op.drop_table("slot_observations")
