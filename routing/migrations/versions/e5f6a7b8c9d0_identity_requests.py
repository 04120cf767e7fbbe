"""identity release: an agency's request for a reporter's identity

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-01 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db


revision: str = 'e5f6a7b8c9d0'
down_revision: str | None = 'd4e5f6a7b8c9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('identity_requests',
    sa.Column('id', text(length=64), nullable=False),
    sa.Column('report_id', text(length=36), nullable=False),
    sa.Column('agency_id', text(length=64), nullable=False),
    sa.Column('agency_name', text(length=200), nullable=False),
    sa.Column('requested_by', text(length=64), nullable=False),
    sa.Column('reason', text(length=500), nullable=False),
    sa.Column('status', text(length=20), nullable=False),
    sa.Column('decided_by', text(length=64), nullable=True),
    sa.Column('note', text(length=500), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_identity_requests_report_id', 'identity_requests', ['report_id'])
    op.create_index('ix_identity_requests_status', 'identity_requests', ['status'])


def downgrade() -> None:
    op.drop_index('ix_identity_requests_status', table_name='identity_requests')
    op.drop_index('ix_identity_requests_report_id', table_name='identity_requests')
    op.drop_table('identity_requests')
