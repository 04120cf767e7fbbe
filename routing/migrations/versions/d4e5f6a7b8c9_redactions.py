"""a verifier's redaction: each addition on its own, the covered ones

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-12-01 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'd4e5f6a7b8c9'
down_revision: str | None = 'c3d4e5f6a7b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch:
        batch.add_column(sa.Column('additions', sa.Text(), nullable=False, server_default='[]'))
        batch.add_column(
            sa.Column('covered_additions', sa.Text(), nullable=False, server_default='[]')
        )
        batch.add_column(
            sa.Column('redacted', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch:
        batch.drop_column('redacted')
        batch.drop_column('covered_additions')
        batch.drop_column('additions')
