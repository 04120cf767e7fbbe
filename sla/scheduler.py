"""The durable timers: fire warnings and breaches from the database, exactly once.

Nothing is held in memory: each tick takes the clocks whose ``next_fire_at`` has passed
(an indexed column), oldest first, and in one transaction per batch marks each one
fired and writes its events to the outbox. A kill -9 at any point either loses the
whole transaction (the clock fires on the next tick, late but once) or keeps all of
it. Several instances split the work: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``,
everywhere with a conditional update that only one of them can win; and each fired
event has an id derived from the clock and its deadline, which the outbox's unique key
refuses twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from services.bus import Outbox
from services.contracts import Payload, ReportClosed, ReportEscalated, SlaBreached, SlaWarning
from services.metrics import after_commit
from services.runtime import ServiceRuntime, every
from sla import domain
from sla.handlers import (
    SlaCore,
    clocks_of,
    count_overdue,
    count_running,
    next_fire,
    seed_calendar,
)
from sla.models import Clock

log = logging.getLogger(__name__)

OPEN_DEADLINES = Gauge(
    "aduan_sla_open_deadlines",
    "Clocks still running, by clock and status (open or paused).",
    ["clock", "status"],
)
OVERDUE = Gauge(
    "aduan_sla_overdue_deadlines",
    "Open clocks past their deadline, by clock: for the verification clock, the reports "
    "waiting in the verification queue longer than its clock allows.",
    ["clock"],
)
OLDEST_OVERDUE = Gauge(
    "aduan_sla_oldest_overdue_seconds",
    "How long ago the most overdue open clock was due, by clock (0 when none is).",
    ["clock"],
)
WARNINGS = Counter("aduan_sla_warnings_total", "Deadline warnings fired.", ["clock"])
BREACHES = Counter(
    "aduan_sla_breaches_total", "Deadlines passed, by clock and agency.", ["clock", "agency"]
)
OUTCOMES = Counter(
    "aduan_sla_report_outcomes_total", "Reports closed or escalated by the SLA.", ["outcome"]
)
LATENESS = Histogram(
    "aduan_sla_firing_lateness_seconds",
    "How long after its time a warning or breach fired.",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)

_IDS = uuid.UUID("6f1b2c1e-59f4-4e0e-9a53-8d1f0d6a2a10")


def event_id(*parts: str) -> str:
    """A deterministic event id: the same firing always gets the same id."""
    return str(uuid.uuid5(_IDS, "/".join(parts)))


def _claim(session: Session, row: Clock, guards: list[Any], **values: Any) -> bool:
    """Set values on a clock only if its guards still hold; True if this caller won.

    The loaded row is updated in place as if it had been read after the update, so that
    later work in the same session sees (and does not overwrite) what was fired.
    """
    table = Clock.__table__  # type: ignore[attr-defined]
    result = session.execute(table.update().where(table.c.id == row.id, *guards).values(**values))
    if cast(CursorResult[Any], result).rowcount != 1:
        return False
    for name, value in values.items():
        set_committed_value(row, name, value)
    return True


def fire_due(session: Session, core: SlaCore, outbox: Outbox, now: datetime, limit: int) -> int:
    """Fire every due warning and breach (up to ``limit`` clocks); returns events fired."""
    # next_fire_at is set only on open clocks, so its index alone finds the work (a
    # status filter here would tempt the planner into scanning every open clock).
    query = (
        select(Clock)
        .where(Clock.next_fire_at <= now)  # type: ignore[operator]
        .order_by(Clock.next_fire_at)  # type: ignore[arg-type]
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    fired = 0
    for row in session.exec(query).all():
        table = Clock.__table__  # type: ignore[attr-defined]
        due_iso = row.due_at.isoformat()
        if row.status != "open":
            row.next_fire_at = None
            session.add(row)
        elif row.due_at <= now:
            won = _claim(
                session,
                row,
                [table.c.breached_at.is_(None), table.c.status == "open"],
                breached_at=now,
                warned_due=row.due_at,
                next_fire_at=None,
            )
            if not won:
                continue
            _breach(session, core, outbox, row, now, due_iso)
            fired += 1
        elif row.warn_at is not None and row.warn_at <= now:
            won = _claim(
                session,
                row,
                [
                    table.c.status == "open",
                    sa.or_(table.c.warned_due.is_(None), table.c.warned_due != row.due_at),
                ],
                warned_due=row.due_at,
                next_fire_at=row.due_at,
            )
            if not won:
                continue
            warning = SlaWarning(**_alert_fields(row), warned_at=now)
            outbox.emit(
                session, warning, row.report_id, event_id=event_id(row.id, "warning", due_iso)
            )
            after_commit(session, WARNINGS.labels(row.clock).inc)
            LATENESS.labels("warning").observe(max((now - row.warn_at).total_seconds(), 0))
            fired += 1
        else:  # a stale next_fire_at (the clock moved): recompute it
            row.next_fire_at = next_fire(
                row.status, row.breached_at, row.warn_at, row.due_at, row.warned_due
            )
            session.add(row)
    return fired


def _alert_fields(row: Clock) -> dict[str, Any]:
    """What a warning and a breach say about their clock."""
    return {
        "report_id": row.report_id,
        "deadline_id": row.id,
        "clock": row.clock,
        "agency_id": row.agency_id,
        "due_at": row.due_at,
    }


def _breach(
    session: Session, core: SlaCore, outbox: Outbox, row: Clock, now: datetime, due_iso: str
) -> None:
    breached = SlaBreached(**_alert_fields(row), breached_at=now)
    outbox.emit(session, breached, row.report_id, event_id=event_id(row.id, "breached", due_iso))
    after_commit(session, BREACHES.labels(row.clock, row.agency_id or "none").inc)
    LATENESS.labels("breach").observe(max((now - row.due_at).total_seconds(), 0))
    if row.clock == "reporter_reply":
        # The reporter's silence closes the report (and stops its other clocks).
        closed = ReportClosed(report_id=row.report_id, reason="no_reply", closed_at=now)
        outbox.emit(session, closed, row.report_id, event_id=event_id(row.id, "closed"))
        fact = domain.Fact(event_id(row.id, "closed-fact"), "closed", now)

        def emit(p: Payload, subject: str) -> None:
            outbox.emit(session, p, subject)

        session.flush()
        core.record(session, row.report_id, fact, emit)
        after_commit(session, OUTCOMES.labels("closed_no_reply").inc)
    elif row.clock == "resolution":
        escalated = ReportEscalated(
            report_id=row.report_id,
            agency_id=row.agency_id,
            reason=f"Belum selesai setelah {core.settings.resolution_days} hari; "
            f"not resolved after {core.settings.resolution_days} days.",
            ombudsman_url=core.settings.ombudsman_url,
            escalated_at=now,
        )
        outbox.emit(session, escalated, row.report_id, event_id=event_id(row.id, "escalated"))
        after_commit(session, OUTCOMES.labels("escalated").inc)


async def run(rt: ServiceRuntime, core: SlaCore) -> None:
    """The scheduler loop: fire what is due, then sleep a tick."""
    settings = core.settings
    while True:
        try:
            now = core.now()

            def work(now: datetime = now) -> int:
                with rt.database.session() as session:
                    return fire_due(session, core, rt.outbox, now, settings.fire_batch)

            fired = await rt.database.write(work)
            if fired:
                rt.wake_relay()
            if fired >= settings.fire_batch:
                continue  # behind: no sleep until caught up
            pause = await _until_next(rt, core, settings.tick_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler tick failed; retrying")
            pause = settings.tick_seconds
        await asyncio.sleep(pause)


async def _until_next(rt: ServiceRuntime, core: SlaCore, tick: float) -> float:
    """Seconds to sleep: until the next clock is due, but at most one tick (clocks that
    events open meanwhile are found on the next tick)."""

    def work() -> datetime | None:
        with rt.database.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.min(Clock.next_fire_at))).scalar()

    nearest = await rt.database.read(work)
    if nearest is None:
        return tick
    if nearest.tzinfo is None:  # SQLite hands back naive UTC for aggregates
        nearest = nearest.replace(tzinfo=UTC)
    return min(max((nearest - core.now()).total_seconds(), 0.005), tick)


async def gauges(rt: ServiceRuntime, core: SlaCore) -> None:
    """Recount running clocks every ``SLA_GAUGE_SECONDS`` (apart from the firing loop: a
    count over a million clocks takes a few hundred milliseconds)."""

    async def step() -> None:
        await refresh_gauges(rt, core.now())

    await every(core.settings.gauge_seconds, "counting open deadlines", step)


async def refresh_gauges(rt: ServiceRuntime, now: datetime) -> None:
    """Recount running clocks, and those past their deadline, for the gauges."""

    def work() -> tuple[dict[tuple[str, str], int], dict[str, tuple[int, float]]]:
        with rt.database.session() as session:
            return count_running(session), count_overdue(session, now)

    counts, overdue = await rt.database.read(work)
    for clock in domain.CLOCKS:
        for status in ("open", "paused"):
            OPEN_DEADLINES.labels(clock, status).set(counts.get((clock, status), 0))
        late, oldest = overdue.get(clock, (0, 0.0))
        OVERDUE.labels(clock).set(late)
        OLDEST_OVERDUE.labels(clock).set(oldest)


async def seed(rt: ServiceRuntime, core: SlaCore) -> None:
    """Load the calendar file (when it changed) before any clock is computed."""
    text = core.settings.calendar_file.read_text(encoding="utf-8")

    def work() -> None:
        with rt.database.session() as session:
            changed = seed_calendar(session, text)
            if changed:
                log.info("calendar file loaded: %d days changed", len(changed))

    await rt.database.write(work)


__all__ = ["clocks_of", "fire_due", "run", "seed"]
