"""history: an addition as the public reads it once a verifier covered words in it

Revision ID: b9c0d1e2f3a4
Revises: a8b9c0d1e2f3
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b9c0d1e2f3a4'
down_revision: str | None = 'a8b9c0d1e2f3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_history') as batch:
        batch.add_column(sa.Column('public_detail', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_history') as batch:
        batch.drop_column('public_detail')
