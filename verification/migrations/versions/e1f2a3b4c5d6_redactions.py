"""a verifier's redaction: each addition on its own, withheld attachments

Revision ID: e1f2a3b4c5d6
Revises: 08704d332101
Create Date: 2026-12-01 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'e1f2a3b4c5d6'
down_revision: str | None = '08704d332101'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch:
        batch.add_column(sa.Column('additions', sa.Text(), nullable=False, server_default='[]'))
        batch.add_column(
            sa.Column(
                'withheld',
                sqlmodel.sql.sqltypes.AutoString(length=1400),
                nullable=False,
                server_default='[]',
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch:
        batch.drop_column('withheld')
        batch.drop_column('additions')
