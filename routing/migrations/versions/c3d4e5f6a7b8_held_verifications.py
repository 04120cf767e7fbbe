"""verifications held until the report's story (and its privacy flags) arrives

Revision ID: c3d4e5f6a7b8
Revises: 46fcbcd8915b
Create Date: 2026-12-01 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db


revision: str = 'c3d4e5f6a7b8'
down_revision: str | None = '46fcbcd8915b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('held_verifications',
    sa.Column('report_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('received_at', services.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('report_id')
    )


def downgrade() -> None:
    op.drop_table('held_verifications')
