"""identity release: the agencies' requests as intake follows them

Revision ID: a8b9c0d1e2f3
Revises: f6a7b8c9d0e1
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db


revision: str = 'a8b9c0d1e2f3'
down_revision: str | None = 'f6a7b8c9d0e1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('identity_grants',
    sa.Column('request_id', text(length=64), nullable=False),
    sa.Column('report_id', text(length=36), nullable=False),
    sa.Column('agency_id', text(length=64), nullable=False),
    sa.Column('agency_name', text(length=200), nullable=False),
    sa.Column('reason', text(length=500), nullable=False),
    sa.Column('status', text(length=20), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index('ix_identity_grants_report_id', 'identity_grants', ['report_id'])


def downgrade() -> None:
    op.drop_index('ix_identity_grants_report_id', table_name='identity_grants')
    op.drop_table('identity_grants')
