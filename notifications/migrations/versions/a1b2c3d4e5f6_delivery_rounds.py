"""a delivery sent again after it died: its rounds, each dead letter its own fact

Revision ID: a1b2c3d4e5f6
Revises: df67c0016c7b
Create Date: 2026-12-01 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'a1b2c3d4e5f6'
down_revision: str | None = 'df67c0016c7b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch:
        batch.add_column(sa.Column('rounds', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch:
        batch.drop_column('rounds')
