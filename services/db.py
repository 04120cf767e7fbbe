"""Storage: one database per service, the kit's outbox and inbox tables, migrations.

Every service owns its database; no service reads another's. The outbox and inbox are
SQLAlchemy Core tables that the kit adds to each service's own metadata, so a state
change, the events it produces (outbox) and the event ids it consumed (inbox) commit in
one transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

log = logging.getLogger(__name__)
T = TypeVar("T")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def add_kit_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Define the outbox and inbox tables in a service's metadata."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.Index("ix_outbox_unpublished", "published_at", "id"),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    return outbox, inbox


# A standalone copy of the kit tables, for tools that open any service's database
# (the replay command) without importing the service.
KIT_METADATA = sa.MetaData()
OUTBOX, INBOX = add_kit_tables(KIT_METADATA)


SLOW_STATEMENT_SECONDS = 0.25


def _log_slow_statements(engine: Engine) -> None:
    # Statements only, never parameters: they may hold personal data.
    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, _cur: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, _cur: Any, stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        elapsed = time.perf_counter() - conn.info["query_started"].pop()
        if elapsed > SLOW_STATEMENT_SECONDS:
            log.warning("slow statement (%.0f ms): %s", elapsed * 1000, stmt[:200])


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite."""
    engine = _make_engine(url, pool_size)
    _log_slow_statements(engine)
    return engine


def _make_engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)


def is_postgres(engine: Engine) -> bool:
    """True on PostgreSQL."""
    return engine.dialect.name == "postgresql"


class Database:
    """A service's database: the engine, sessions, and a worker thread for blocking work.

    Writes from stream handlers run on one dedicated thread so that the event loop (and
    with it faust's heartbeats) never waits on the database.
    """

    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db-writer")

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking database work on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking reads on the default thread pool (they may run in parallel)."""
        return await asyncio.to_thread(fn, *args)

    def close(self) -> None:
        """Stop the writer thread and close pooled connections."""
        self._writer.shutdown(wait=True)
        self.engine.dispose()


def migrate(url: str, migrations_dir: Path) -> None:
    """Upgrade a service's database to the newest schema (Alembic ``upgrade head``).

    On PostgreSQL an advisory lock keeps two instances starting together from racing.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            if is_postgres(engine):
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7083001)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


# What a migration keeps beside the models, written in each database's own terms (intake's
# full-text search: an FTS5 table and its shadow tables on SQLite, a generated tsvector
# column and its GIN index on PostgreSQL): autogenerate and schema comparisons skip it.
_BESIDE_MODELS = re.compile(r"^(reports_search(_\w+)?|search_vector|ix_reports_search_vector)$")


def beside_models(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """Alembic's ``include_object``: False for the objects a migration keeps beside the
    models."""
    return not (reflected and other is None and _BESIDE_MODELS.match(name or ""))


def run_alembic_env(target_metadata: sa.MetaData) -> None:
    """Body of every service's ``migrations/env.py``."""
    from alembic import context

    def _run(conn: Connection) -> None:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
            compare_type=True,
            include_object=beside_models,
        )
        with context.begin_transaction():
            context.run_migrations()

    conn = context.config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()
