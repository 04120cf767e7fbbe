"""the public pages at a million reports: statistics kept with the data, full-text search

Revision ID: e2f3a4b5c6d7
Revises: d1e2f3a4b5c6
Create Date: 2026-12-05 01:40:00

- ``report_stats`` and ``answer_stats`` are kept by triggers on ``reports`` (and
  ``reports.first_answer_at`` by a trigger on ``report_history``), so every write that
  changes a report's status, agency, place or answer moves its counts in the same
  transaction, whatever code made it.
- The public texts are searched by words: an FTS5 table on SQLite whose rowid is
  ``reports.search_id`` (given by a trigger in the order reports arrive, so that the
  newest matches are read first and alone), a generated ``tsvector`` with a GIN index
  on PostgreSQL.

A later SQLite migration that recreates ``reports`` (batch mode) drops its triggers and
must create them again (``TRIGGERS_SQLITE`` below).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import services.db

revision: str = 'e2f3a4b5c6d7'
down_revision: str | None = 'd1e2f3a4b5c6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERS = "('followup', 'question', 'acknowledgement', 'resolved')"
TEXT = "coalesce(public_title, title) || ' ' || coalesce(public_body, body)"

TRIGGERS_SQLITE = [
    # reports -> report_stats
    """
    CREATE TRIGGER report_stats_insert AFTER INSERT ON reports BEGIN
      INSERT INTO report_stats (month, status, province, agency_name, n)
      VALUES (substr(NEW.submitted_at, 1, 7), NEW.status, substr(NEW.regency_code, 1, 2),
              coalesce(NEW.agency_name, ''), 1)
      ON CONFLICT (month, status, province, agency_name) DO UPDATE SET n = n + 1;
      UPDATE reports SET search_id = (SELECT coalesce(max(search_id), 0) + 1 FROM reports)
      WHERE id = NEW.id;
      INSERT INTO reports_search (rowid, words)
      SELECT search_id, coalesce(NEW.public_title, NEW.title) || ' '
             || coalesce(NEW.public_body, NEW.body)
      FROM reports WHERE id = NEW.id;
    END""",
    """
    CREATE TRIGGER report_stats_update AFTER UPDATE OF status, agency_name, regency_code,
        submitted_at ON reports
    WHEN OLD.status IS NOT NEW.status OR OLD.agency_name IS NOT NEW.agency_name
      OR OLD.regency_code IS NOT NEW.regency_code OR OLD.submitted_at IS NOT NEW.submitted_at
    BEGIN
      UPDATE report_stats SET n = n - 1
      WHERE month = substr(OLD.submitted_at, 1, 7) AND status = OLD.status
        AND province = substr(OLD.regency_code, 1, 2)
        AND agency_name = coalesce(OLD.agency_name, '');
      INSERT INTO report_stats (month, status, province, agency_name, n)
      VALUES (substr(NEW.submitted_at, 1, 7), NEW.status, substr(NEW.regency_code, 1, 2),
              coalesce(NEW.agency_name, ''), 1)
      ON CONFLICT (month, status, province, agency_name) DO UPDATE SET n = n + 1;
    END""",
    """
    CREATE TRIGGER report_stats_delete AFTER DELETE ON reports BEGIN
      UPDATE report_stats SET n = n - 1
      WHERE month = substr(OLD.submitted_at, 1, 7) AND status = OLD.status
        AND province = substr(OLD.regency_code, 1, 2)
        AND agency_name = coalesce(OLD.agency_name, '');
      UPDATE answer_stats SET answered = answered - 1,
        on_time = on_time - (OLD.first_answer_at <= OLD.due_at)
      WHERE OLD.first_answer_at IS NOT NULL AND OLD.due_at IS NOT NULL
        AND month = substr(OLD.submitted_at, 1, 7)
        AND province = substr(OLD.regency_code, 1, 2)
        AND agency_name = coalesce(OLD.agency_name, '');
      DELETE FROM reports_search WHERE rowid = OLD.search_id;
    END""",
    # reports -> answer_stats
    """
    CREATE TRIGGER answer_stats_update AFTER UPDATE OF first_answer_at, due_at, agency_name,
        regency_code, submitted_at ON reports
    WHEN OLD.first_answer_at IS NOT NEW.first_answer_at OR OLD.due_at IS NOT NEW.due_at
      OR OLD.agency_name IS NOT NEW.agency_name OR OLD.regency_code IS NOT NEW.regency_code
      OR OLD.submitted_at IS NOT NEW.submitted_at
    BEGIN
      UPDATE answer_stats SET answered = answered - 1,
        on_time = on_time - (OLD.first_answer_at <= OLD.due_at)
      WHERE OLD.first_answer_at IS NOT NULL AND OLD.due_at IS NOT NULL
        AND month = substr(OLD.submitted_at, 1, 7)
        AND province = substr(OLD.regency_code, 1, 2)
        AND agency_name = coalesce(OLD.agency_name, '');
      INSERT INTO answer_stats (month, province, agency_name, on_time, answered)
      SELECT substr(NEW.submitted_at, 1, 7), substr(NEW.regency_code, 1, 2),
             coalesce(NEW.agency_name, ''), NEW.first_answer_at <= NEW.due_at, 1
      WHERE NEW.first_answer_at IS NOT NULL AND NEW.due_at IS NOT NULL
      ON CONFLICT (month, province, agency_name) DO UPDATE
        SET answered = answered + 1, on_time = on_time + excluded.on_time;
    END""",
    # report_history -> reports.first_answer_at
    f"""
    CREATE TRIGGER report_first_answer AFTER INSERT ON report_history
    WHEN NEW.kind IN {ANSWERS}
    BEGIN
      UPDATE reports SET first_answer_at = NEW.occurred_at
      WHERE id = NEW.report_id
        AND (first_answer_at IS NULL OR first_answer_at > NEW.occurred_at);
    END""",
    # reports -> reports_search (the public texts change when published or redacted)
    """
    CREATE TRIGGER reports_search_update AFTER UPDATE OF title, body, public_title,
        public_body ON reports
    BEGIN
      DELETE FROM reports_search WHERE rowid = OLD.search_id;
      INSERT INTO reports_search (rowid, words)
      VALUES (NEW.search_id,
              coalesce(NEW.public_title, NEW.title) || ' ' || coalesce(NEW.public_body, NEW.body));
    END""",
]

FUNCTIONS_POSTGRES = [
    f"""
    CREATE FUNCTION aduan_report_stats() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE report_stats SET n = n - 1
        WHERE month = to_char(OLD.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')
          AND status = OLD.status AND province = substr(OLD.regency_code, 1, 2)
          AND agency_name = coalesce(OLD.agency_name, '');
        IF OLD.first_answer_at IS NOT NULL AND OLD.due_at IS NOT NULL THEN
          UPDATE answer_stats SET answered = answered - 1,
            on_time = on_time - (OLD.first_answer_at <= OLD.due_at)::int
          WHERE month = to_char(OLD.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')
            AND province = substr(OLD.regency_code, 1, 2)
            AND agency_name = coalesce(OLD.agency_name, '');
        END IF;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_stats (month, status, province, agency_name, n)
        VALUES (to_char(NEW.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'), NEW.status,
                substr(NEW.regency_code, 1, 2), coalesce(NEW.agency_name, ''), 1)
        ON CONFLICT (month, status, province, agency_name)
          DO UPDATE SET n = report_stats.n + 1;
        IF NEW.first_answer_at IS NOT NULL AND NEW.due_at IS NOT NULL THEN
          INSERT INTO answer_stats (month, province, agency_name, on_time, answered)
          VALUES (to_char(NEW.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'),
                  substr(NEW.regency_code, 1, 2), coalesce(NEW.agency_name, ''),
                  (NEW.first_answer_at <= NEW.due_at)::int, 1)
          ON CONFLICT (month, province, agency_name) DO UPDATE
            SET answered = answer_stats.answered + 1,
                on_time = answer_stats.on_time + excluded.on_time;
        END IF;
      END IF;
      RETURN NULL;
    END $$""",
    f"""
    CREATE FUNCTION aduan_first_answer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.kind IN {ANSWERS} THEN
        UPDATE reports SET first_answer_at = NEW.occurred_at
        WHERE id = NEW.report_id
          AND (first_answer_at IS NULL OR first_answer_at > NEW.occurred_at);
      END IF;
      RETURN NULL;
    END $$""",
]

TRIGGERS_POSTGRES = [
    "CREATE TRIGGER report_stats_insert AFTER INSERT OR DELETE ON reports "
    "FOR EACH ROW EXECUTE FUNCTION aduan_report_stats()",
    "CREATE TRIGGER report_stats_update AFTER UPDATE OF status, agency_name, regency_code, "
    "submitted_at, first_answer_at, due_at ON reports FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.agency_name IS DISTINCT FROM NEW.agency_name "
    "OR OLD.regency_code IS DISTINCT FROM NEW.regency_code "
    "OR OLD.submitted_at IS DISTINCT FROM NEW.submitted_at "
    "OR OLD.first_answer_at IS DISTINCT FROM NEW.first_answer_at "
    "OR OLD.due_at IS DISTINCT FROM NEW.due_at) "
    "EXECUTE FUNCTION aduan_report_stats()",
    "CREATE TRIGGER report_first_answer AFTER INSERT ON report_history "
    "FOR EACH ROW EXECUTE FUNCTION aduan_first_answer()",
]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('first_answer_at', services.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('search_id', sa.Integer(), nullable=True))
    op.create_index('ix_reports_submitted_at', 'reports', ['submitted_at'])
    op.create_index('ix_reports_search_id', 'reports', ['search_id'], unique=True)
    op.create_table(
        'report_stats',
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column('agency_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'status', 'province', 'agency_name'),
    )
    op.create_table(
        'answer_stats',
        sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column('province', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column('agency_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('on_time', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'province', 'agency_name'),
    )
    # What is there already, counted once; the triggers keep it from now on.
    month = (
        "substr(submitted_at, 1, 7)"
        if sqlite
        else "to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')"
    )
    on_time = "first_answer_at <= due_at" if sqlite else "(first_answer_at <= due_at)::int"
    op.execute(
        f"UPDATE reports SET first_answer_at = (SELECT min(occurred_at) FROM report_history h "
        f"WHERE h.report_id = reports.id AND h.kind IN {ANSWERS})"
    )
    op.execute(
        f"INSERT INTO report_stats (month, status, province, agency_name, n) "
        f"SELECT {month}, status, substr(regency_code, 1, 2), coalesce(agency_name, ''), "
        f"count(*) FROM reports GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        f"INSERT INTO answer_stats (month, province, agency_name, on_time, answered) "
        f"SELECT {month}, substr(regency_code, 1, 2), coalesce(agency_name, ''), "
        f"sum({on_time}), count(*) FROM reports "
        f"WHERE first_answer_at IS NOT NULL AND due_at IS NOT NULL GROUP BY 1, 2, 3"
    )
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE reports_search USING fts5(words, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TEMP TABLE arrival AS SELECT id, "
            "row_number() OVER (ORDER BY submitted_at, id) AS n FROM reports"
        )
        op.execute("CREATE UNIQUE INDEX temp.ix_arrival ON arrival (id)")
        op.execute("UPDATE reports SET search_id = (SELECT n FROM arrival WHERE arrival.id = reports.id)")
        op.execute("DROP TABLE temp.arrival")
        op.execute(
            f"INSERT INTO reports_search (rowid, words) SELECT search_id, {TEXT} FROM reports"
        )
        for sql in TRIGGERS_SQLITE:
            op.execute(sql)
    else:
        op.execute(
            f"ALTER TABLE reports ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('simple', {TEXT})) STORED"
        )
        op.execute(
            "CREATE INDEX ix_reports_search_vector ON reports USING gin (search_vector)"
        )
        for sql in FUNCTIONS_POSTGRES + TRIGGERS_POSTGRES:
            op.execute(sql)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in (
            "report_stats_insert",
            "report_stats_update",
            "report_stats_delete",
            "answer_stats_update",
            "report_first_answer",
            "reports_search_update",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS reports_search")
    else:
        op.execute("DROP TRIGGER IF EXISTS report_stats_insert ON reports")
        op.execute("DROP TRIGGER IF EXISTS report_stats_update ON reports")
        op.execute("DROP TRIGGER IF EXISTS report_first_answer ON report_history")
        op.execute("DROP FUNCTION IF EXISTS aduan_report_stats()")
        op.execute("DROP FUNCTION IF EXISTS aduan_first_answer()")
        op.execute("DROP INDEX IF EXISTS ix_reports_search_vector")
        op.execute("ALTER TABLE reports DROP COLUMN IF EXISTS search_vector")
    op.drop_table('answer_stats')
    op.drop_table('report_stats')
    op.drop_index('ix_reports_search_id', 'reports')
    op.drop_index('ix_reports_submitted_at', 'reports')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('search_id')
        batch.drop_column('first_answer_at')
