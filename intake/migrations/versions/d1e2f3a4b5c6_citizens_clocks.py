"""the clocks a citizen waits on: verification's and the reporter's own reply

Revision ID: d1e2f3a4b5c6
Revises: c0d1e2f3a4b5
Create Date: 2026-12-05 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import services.db

revision: str = 'd1e2f3a4b5c6'
down_revision: str | None = 'c0d1e2f3a4b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('verification_due_at', services.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('reply_due_at', services.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('reply_due_at')
        batch.drop_column('verification_due_at')
