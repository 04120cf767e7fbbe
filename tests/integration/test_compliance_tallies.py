"""The SLA's compliance report from tallies kept with the data, on SQLite and PostgreSQL:
after a random run of the writes the SLA makes to its clocks (opened, paused, stopped on
time or late, breached, cancelled, moved to another agency, removed), every answer of
``GET /v1/compliance`` (by agency and by province, each clock, with and without a
``since`` inside a month or at its start) equals the same report counted over every
clock, as the service counted it before the tallies."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from services.db import Database, migrate
from sla import api, handlers
from sla.models import Clock
from tests.conftest import PgDatabases, new_namespace

ROOT = Path(__file__).resolve().parents[2]
CLOCKS = ("verification", "first_response", "reporter_reply", "resolution")
AGENCIES = (None, "pemda-32.73", "pemda-32.01", "kemenkes")
REGENCIES = (None, "32.73", "32.01", "51.71")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path, pg: PgDatabases) -> Any:
    url = (
        f"sqlite:///{tmp_path}/sla.sqlite3"
        if request.param == "sqlite"
        else pg.create(f"{new_namespace()}_sla")
    )
    migrate(url, ROOT / "sla" / "migrations")
    db = Database(url)
    yield db
    db.close()


def reference(conn: Any, by: str, clock: str, since: datetime | None) -> list[tuple]:
    """The report as it was counted before the tallies: over every clock."""
    c = Clock.__table__.c  # type: ignore[attr-defined]
    key = c.agency_id if by == "agency" else sa.func.substr(c.regency_code, 1, 2)
    late = sa.or_(
        c.breached_at.is_not(None), sa.and_(c.status == "stopped", c.stopped_at > c.due_at)
    )
    on_time = sa.and_(c.status == "stopped", c.stopped_at <= c.due_at, c.breached_at.is_(None))
    running = c.status.in_(("open", "paused"))
    query = (
        sa.select(
            key,
            sa.func.sum(sa.case((on_time, 1), else_=0)),
            sa.func.sum(sa.case((late, 1), else_=0)),
            sa.func.sum(sa.case((running, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(running, c.due_at < NOW), 1), else_=0)),
        )
        .where(c.clock == clock, c.status != "cancelled")
        .group_by(key)
    )
    if since is not None:
        query = query.where(c.starts_at >= since)
    rows = [(k, int(a), int(b), int(r), int(o)) for k, a, b, r, o in conn.execute(query)]
    return sorted(rows, key=_order)


def _order(row: tuple) -> tuple:
    return (row[0] is not None, row[0] or "", row[1:])


def test_compliance_from_tallies_equals_the_full_count(database: Database) -> None:
    rng = random.Random(12)
    table = Clock.__table__  # type: ignore[attr-defined]
    ids = []
    with database.engine.begin() as conn:
        for _ in range(400):
            starts = NOW - timedelta(days=rng.randrange(120), minutes=rng.randrange(1440))
            cid = f"c:{uuid.uuid4()}"
            ids.append(cid)
            conn.execute(
                table.insert().values(
                    id=cid,
                    report_id=str(uuid.uuid4()),
                    clock=rng.choice(CLOCKS),
                    agency_id=rng.choice(AGENCIES),
                    regency_code=rng.choice(REGENCIES),
                    timezone="Asia/Jakarta",
                    starts_at=starts,
                    due_at=starts + timedelta(days=rng.randrange(1, 30)),
                    working_days=5,
                    status="open",
                    updated_at=starts,
                )
            )
    for _ in range(1500):
        cid = rng.choice(ids)
        change: dict[str, Any] = rng.choice(
            [
                {"status": "paused"},
                {"status": "open"},
                {"status": "cancelled"},
                {"status": "stopped", "stopped_at": NOW - timedelta(days=rng.randrange(100))},
                {"breached_at": NOW - timedelta(days=rng.randrange(60))},
                {"breached_at": None},
                {"due_at": NOW - timedelta(days=rng.randrange(-20, 100))},
                {"agency_id": rng.choice(AGENCIES)},
                {"regency_code": rng.choice(REGENCIES)},
                {"next_fire_at": NOW, "warned_due": NOW},  # counts for nothing
            ]
        )
        with database.engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == cid).values(**change))
    with database.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.id == ids.pop()))

    rt = SimpleNamespace(database=database)
    core = SimpleNamespace(now=lambda: NOW)
    month_start = datetime(2026, 10, 1, tzinfo=UTC)
    checked = 0
    for by in ("agency", "region"):
        for clock in CLOCKS:
            for since in (None, month_start, month_start + timedelta(days=9, hours=5)):
                got = asyncio.run(api.compliance(rt, core, by, clock, since))  # type: ignore[arg-type]
                with database.engine.connect() as conn:
                    want = reference(conn, by, clock, since)
                mine = [(r.key, r.on_time, r.late, r.open, r.overdue) for r in got]
                assert sorted(mine, key=_order) == want, (by, clock, since)
                checked += len(want)
    assert checked > 50

    # The open-deadline gauges come from the tallies too, and agree with the full count.
    c = table.c
    with database.engine.connect() as conn:
        every = conn.execute(
            sa.select(c.clock, c.status, sa.func.count())
            .where(c.status.in_(("open", "paused")))
            .group_by(c.clock, c.status)
        )
        want_running = {(k, s): int(n) for k, s, n in every}
    with database.session() as session:
        assert handlers.count_running(session) == want_running
    assert {s for _, s in want_running} == {"open", "paused"}
