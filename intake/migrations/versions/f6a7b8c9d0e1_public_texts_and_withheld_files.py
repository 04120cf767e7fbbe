"""the public's title and story (masked, redacted), files a verifier withheld

Revision ID: f6a7b8c9d0e1
Revises: b7c1e2d3f4a5
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'f6a7b8c9d0e1'
down_revision: str | None = 'b7c1e2d3f4a5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch:
        batch.add_column(
            sa.Column('public_title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch.add_column(sa.Column('public_body', sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                'withheld',
                sqlmodel.sql.sqltypes.AutoString(length=1400),
                nullable=False,
                server_default='[]',
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch:
        batch.drop_column('withheld')
        batch.drop_column('public_body')
        batch.drop_column('public_title')
