"""regional clients revoked at the gateway

Revision ID: f6a7b8c9d0e2
Revises: e5f6a7b8c9d0
Create Date: 2026-12-01 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db


revision: str = 'f6a7b8c9d0e2'
down_revision: str | None = 'e5f6a7b8c9d0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('revoked_region_clients',
    sa.Column('client_id', text(length=64), nullable=False),
    sa.Column('region', text(length=5), nullable=False),
    sa.Column('revoked_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )


def downgrade() -> None:
    op.drop_table('revoked_region_clients')
