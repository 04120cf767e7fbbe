"""lifecycle states from the kit; the agency's files on history entries; proven phones

Revision ID: b7c1e2d3f4a5
Revises: 14fddc9f8405
Create Date: 2026-12-01 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'b7c1e2d3f4a5'
down_revision: str | None = '14fddc9f8405'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_history') as batch:
        batch.add_column(sa.Column('attachments', sa.Text(), nullable=False, server_default='[]'))
    with op.batch_alter_table('reporters') as batch:
        batch.add_column(
            sa.Column('phone_proven', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The kit's lifecycle names the waiting state "pending_region".
    op.execute("UPDATE reports SET status = 'pending_region' WHERE status = 'pending'")


def downgrade() -> None:
    op.execute("UPDATE reports SET status = 'pending' WHERE status = 'pending_region'")
    with op.batch_alter_table('report_history') as batch:
        batch.drop_column('attachments')
    with op.batch_alter_table('reporters') as batch:
        batch.drop_column('phone_proven')
