"""compliance at a million clocks: tallies kept with the data

Revision ID: a1b2c3d4e5f6
Revises: f59e48ac0cd3
Create Date: 2026-12-05 01:50:00

``clock_tallies`` holds, per clock, agency, province and month of start, how many clocks
there are (not cancelled), how many stopped on time, how many are late (breached, or stopped after their deadline) and how
many run (open or paused). Triggers on ``clocks`` move a clock's counts in the same
transaction as any write that changes what it counts for. A later SQLite migration that
recreates ``clocks`` (batch mode) drops the triggers and must create them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'a1b2c3d4e5f6'
down_revision: str | None = 'f59e48ac0cd3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counts(row: str, sqlite: bool) -> tuple[str, str, str, str]:
    # (The fourth count, the clocks themselves, is 1 a row.)
    """The key and the three counts a clock row adds (row: NEW or OLD)."""
    month = (
        f"substr({row}.starts_at, 1, 7)"
        if sqlite
        else f"to_char({row}.starts_at AT TIME ZONE 'UTC', 'YYYY-MM')"
    )
    key = (
        f"{row}.clock, coalesce({row}.agency_id, ''), "
        f"coalesce(substr({row}.regency_code, 1, 2), ''), {month}"
    )
    on_time = (
        f"CASE WHEN {row}.status = 'stopped' AND {row}.stopped_at <= {row}.due_at "
        f"AND {row}.breached_at IS NULL THEN 1 ELSE 0 END"
    )
    late = (
        f"CASE WHEN {row}.breached_at IS NOT NULL OR ({row}.status = 'stopped' "
        f"AND {row}.stopped_at > {row}.due_at) THEN 1 ELSE 0 END"
    )
    running = f"CASE WHEN {row}.status IN ('open', 'paused') THEN 1 ELSE 0 END"
    return key, on_time, late, running


def _add(row: str, sign: str, sqlite: bool) -> str:
    key, on_time, late, running = _counts(row, sqlite)
    t = "" if sqlite else "clock_tallies."
    return (
        f"INSERT INTO clock_tallies "
        f"(clock, agency_id, province, month, on_time, late, running, clocks) "
        f"SELECT {key}, {sign}({on_time}), {sign}({late}), {sign}({running}), {sign}1 "
        f"WHERE {row}.status <> 'cancelled' "
        f"ON CONFLICT (clock, agency_id, province, month) DO UPDATE SET "
        f"on_time = {t}on_time + excluded.on_time, late = {t}late + excluded.late, "
        f"running = {t}running + excluded.running, clocks = {t}clocks + excluded.clocks"
    )


CHANGED = " OR ".join(
    f"OLD.{c} IS DISTINCT FROM NEW.{c}"
    for c in (
        "status", "stopped_at", "due_at", "breached_at", "agency_id", "regency_code",
        "starts_at", "clock",
    )
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        'clock_tallies',
        sa.Column('clock', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('on_time', sa.Integer(), nullable=False),
        sa.Column('late', sa.Integer(), nullable=False),
        sa.Column('running', sa.Integer(), nullable=False),
        sa.Column('clocks', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('clock', 'agency_id', 'province', 'month'),
    )
    op.create_index(
        'ix_clocks_clock_status_due',
        'clocks',
        ['clock', 'status', 'due_at', 'agency_id', 'regency_code'],
    )
    op.create_index(
        'ix_clocks_clock_starts',
        'clocks',
        ['clock', 'starts_at', 'status', 'due_at', 'stopped_at', 'breached_at', 'agency_id',
         'regency_code'],
    )
    key, on_time, late, running = _counts("c", sqlite)
    op.execute(
        f"INSERT INTO clock_tallies "
        f"(clock, agency_id, province, month, on_time, late, running, clocks) "
        f"SELECT {key}, sum({on_time}), sum({late}), sum({running}), count(*) FROM clocks c "
        f"WHERE c.status <> 'cancelled' GROUP BY 1, 2, 3, 4"
    )
    if sqlite:
        changed = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
        op.execute(
            f"CREATE TRIGGER clock_tallies_insert AFTER INSERT ON clocks BEGIN "
            f"{_add('NEW', '', True)}; END"
        )
        op.execute(
            f"CREATE TRIGGER clock_tallies_update AFTER UPDATE ON clocks WHEN {changed} BEGIN "
            f"{_add('OLD', '-', True)}; {_add('NEW', '', True)}; END"
        )
        op.execute(
            f"CREATE TRIGGER clock_tallies_delete AFTER DELETE ON clocks BEGIN "
            f"{_add('OLD', '-', True)}; END"
        )
    else:
        op.execute(
            f"""
            CREATE FUNCTION aduan_clock_tallies() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {_add('OLD', '-', False)};
              END IF;
              IF TG_OP IN ('INSERT', 'UPDATE') THEN
                {_add('NEW', '', False)};
              END IF;
              RETURN NULL;
            END $$"""
        )
        op.execute(
            "CREATE TRIGGER clock_tallies_insert AFTER INSERT OR DELETE ON clocks "
            "FOR EACH ROW EXECUTE FUNCTION aduan_clock_tallies()"
        )
        op.execute(
            f"CREATE TRIGGER clock_tallies_update AFTER UPDATE ON clocks FOR EACH ROW "
            f"WHEN ({CHANGED}) EXECUTE FUNCTION aduan_clock_tallies()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("clock_tallies_insert", "clock_tallies_update", "clock_tallies_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS clock_tallies_insert ON clocks")
        op.execute("DROP TRIGGER IF EXISTS clock_tallies_update ON clocks")
        op.execute("DROP FUNCTION IF EXISTS aduan_clock_tallies()")
    op.drop_index('ix_clocks_clock_starts', 'clocks')
    op.drop_index('ix_clocks_clock_status_due', 'clocks')
    op.drop_table('clock_tallies')
