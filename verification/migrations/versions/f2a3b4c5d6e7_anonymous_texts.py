"""a named report's texts with the reporter's identity masked, for a verifier who makes
it Anonim

Revision ID: f2a3b4c5d6e7
Revises: e1f2a3b4c5d6
Create Date: 2026-12-01 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'f2a3b4c5d6e7'
down_revision: str | None = 'e1f2a3b4c5d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch:
        batch.add_column(sa.Column('anonymous_texts', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch:
        batch.drop_column('anonymous_texts')
