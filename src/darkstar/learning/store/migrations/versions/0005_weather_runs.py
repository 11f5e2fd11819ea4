"""Weather forecast runs as fetched: ``weather_runs``, one row per run and hour.

Aurora learns how the house answers the weather *as it was forecast*: a first training on
a real home needs every forecast run the service fetched, with the time it was fetched
(the run a forecast issued at a given moment would have seen). Each row is one hour of
one run: hourly means of GHI, DNI, DHI [W/m²], air temperature [°C] and cloud cover [%].

Revision ID: 0005_weather_runs
Revises: 0004_forecasts
Create Date: 2027-04-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_weather_runs"
down_revision: str | None = "0004_forecasts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``weather_runs`` (natural key: issue time and hour) with an hour index."""
    op.create_table(
        "weather_runs",
        sa.Column("issued_at_utc", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour_utc", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ghi_w_per_m2", sa.Float(), nullable=False),
        sa.Column("dni_w_per_m2", sa.Float(), nullable=False),
        sa.Column("dhi_w_per_m2", sa.Float(), nullable=False),
        sa.Column("temp_air_c", sa.Float(), nullable=False),
        sa.Column("cloud_cover_percent", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("issued_at_utc", "hour_utc", name="pk_weather_runs"),
    )
    op.create_index("ix_weather_runs_hour_utc", "weather_runs", ["hour_utc"])


def downgrade() -> None:
    """Drop the runs (they cannot be fetched again: forecasts of the past are gone)."""
    op.drop_index("ix_weather_runs_hour_utc", table_name="weather_runs")
    op.drop_table("weather_runs")
