"""what a citizen added before verification learnt of the report: kept until it arrives

Revision ID: a3b4c5d6e7f8
Revises: f2a3b4c5d6e7
Create Date: 2026-12-01 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision: str = 'a3b4c5d6e7f8'
down_revision: str | None = 'f2a3b4c5d6e7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('early_additions',
    sa.Column('event_id', text(length=64), nullable=False),
    sa.Column('report_id', text(length=36), nullable=False),
    sa.Column('added_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index(op.f('ix_early_additions_report_id'), 'early_additions', ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_early_additions_report_id'), table_name='early_additions')
    op.drop_table('early_additions')
