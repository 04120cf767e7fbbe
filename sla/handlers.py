"""SLA's handlers: every relevant event becomes a fact, and the report's clocks are
folded again from all its facts (see :mod:`sla.domain`). HANDLERS at the end.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlmodel import Session, select

from services.bus import Handler, HandlerContext, ignore
from services.contracts import (
    DeadlineOpened,
    DeadlineUpdated,
    Payload,
    ReportFollowupPosted,
    ReportForwarded,
    ReportInformationAdded,
    ReportInformationAddedSealed,
    ReportInformationRequested,
    ReportRejected,
    ReportReporterReplied,
    ReportResolved,
    ReportReturned,
    ReportRouted,
    ReportSubmitted,
    ReportSubmittedSealed,
    ReportVerified,
)
from services.metrics import after_commit
from sla import domain
from sla.models import CalendarEntryRow, CalendarMeta, Clock, ClockTally, FactRow
from sla.settings import SlaSettings
from sla.workdays import CalendarEntry, WorkingCalendar, check_closed_runs, parse_file

log = logging.getLogger(__name__)

# Emits one event in the caller's transaction: (payload, subject).
Emit = Callable[[Payload, str], None]


def _fact(event_id: str, payload: Any) -> domain.Fact:
    """The fact an event states."""
    if isinstance(payload, ReportSubmitted | ReportSubmittedSealed):
        return domain.Fact(
            event_id, "submitted", payload.submitted_at, regency_code=payload.regency_code
        )
    if isinstance(payload, ReportInformationRequested):
        return domain.Fact(event_id, "information_requested", payload.requested_at)
    if isinstance(payload, ReportInformationAdded | ReportInformationAddedSealed):
        return domain.Fact(event_id, "information_added", payload.added_at)
    if isinstance(payload, ReportVerified):
        return domain.Fact(event_id, "verified", payload.verified_at)
    if isinstance(payload, ReportRejected):
        return domain.Fact(event_id, "rejected", payload.rejected_at)
    if isinstance(payload, ReportRouted):
        return domain.Fact(
            event_id,
            "routed",
            payload.routed_at,
            agency_id=payload.agency_id,
            timezone=payload.timezone,
            regency_code=payload.regency_code,
        )
    if isinstance(payload, ReportForwarded):
        return domain.Fact(
            event_id,
            "forwarded",
            payload.forwarded_at,
            agency_id=payload.to_agency_id,
            within_agency=payload.within_agency,
        )
    if isinstance(payload, ReportReturned):
        return domain.Fact(event_id, "returned", payload.returned_at, agency_id=payload.agency_id)
    if isinstance(payload, ReportFollowupPosted):
        return domain.Fact(
            event_id, "followup_posted", payload.posted_at, agency_id=payload.agency_id
        )
    if isinstance(payload, ReportResolved):
        return domain.Fact(event_id, "resolved", payload.resolved_at, agency_id=payload.agency_id)
    if isinstance(payload, ReportReporterReplied):
        return domain.Fact(
            event_id, "reporter_replied", payload.replied_at, satisfied=payload.satisfied
        )
    raise TypeError(f"no fact for {type(payload).__name__}")


def next_fire(
    status: str,
    breached_at: datetime | None,
    warn_at: datetime | None,
    due_at: datetime,
    warned_due: datetime | None,
) -> datetime | None:
    """When the scheduler must next look at a clock: its warning, then its deadline."""
    if status != "open" or breached_at is not None:
        return None
    if warn_at is not None and warn_at < due_at and warned_due != due_at:
        return warn_at
    return due_at


# What the fold decides about a clock row (the scheduler owns the other columns).
_FOLDED = (
    "agency_id",
    "regency_code",
    "timezone",
    "starts_at",
    "due_at",
    "warn_at",
    "working_days",
    "status",
    "reason",
    "stopped_at",
    "paused_at",
    "remaining_days",
)


_CLOCKS: sa.Table = Clock.__table__  # type: ignore[attr-defined]
_FACTS: sa.Table = FactRow.__table__  # type: ignore[attr-defined]
# Built once: each event runs them, and building one costs more than SQLite takes to run it.
_UPDATE_CLOCK = _CLOCKS.update().where(_CLOCKS.c.id == sa.bindparam("clock_id"))
_FACT_KNOWN = sa.select(_FACTS.c.id).where(_FACTS.c.id == sa.bindparam("fact_id"))
_FACTS_OF = sa.select(_FACTS).where(_FACTS.c.report_id == sa.bindparam("report_id"))
_CLOCKS_OF = (
    sa.select(_CLOCKS).where(_CLOCKS.c.report_id == sa.bindparam("report_id")).with_for_update()
)
_CALENDAR_VERSION = sa.select(CalendarMeta.__table__.c.version).where(  # type: ignore[attr-defined]
    CalendarMeta.__table__.c.id == 1  # type: ignore[attr-defined]
)
# A transaction asks for the calendar's version once (bump_version forgets it).
_VERSION_SEEN = "aduan.sla.calendar_version"


def _opened(report_id: str, state: domain.ClockState) -> DeadlineOpened:
    return DeadlineOpened(
        report_id=report_id,
        deadline_id=state.id,
        clock=state.clock,  # type: ignore[arg-type]
        agency_id=state.agency_id,
        starts_at=state.starts_at,
        due_at=state.due_at,
        working_days=state.working_days,
        timezone=state.timezone,
    )


def _updated(report_id: str, state: domain.ClockState, now: datetime) -> DeadlineUpdated:
    return DeadlineUpdated(
        report_id=report_id,
        deadline_id=state.id,
        clock=state.clock,  # type: ignore[arg-type]
        agency_id=state.agency_id,
        status=state.status,  # type: ignore[arg-type]
        due_at=None if state.status == "paused" else state.due_at,
        reason=state.reason[:64],
        changed_at=now,
    )


def entry_of(row: CalendarEntryRow) -> CalendarEntry:
    """A stored calendar entry as the calendar takes it."""
    return CalendarEntry.model_validate(
        {"date": row.day, "kind": row.kind, "name": row.name, "source": row.source}
    )


class CalendarStore:
    """The working calendar, reloaded whenever its version in the database changes."""

    def __init__(self) -> None:
        self._calendar: WorkingCalendar | None = None

    def current(self, session: Session) -> WorkingCalendar:
        """The calendar as the database has it now (one small query per transaction when
        unchanged)."""
        version = session.info.get(_VERSION_SEEN)
        if version is None:
            version = session.connection().execute(_CALENDAR_VERSION).scalar() or 0
            session.info[_VERSION_SEEN] = version
        cached = self._calendar
        if cached is not None and cached.version == version:
            return cached
        rows = session.exec(select(CalendarEntryRow)).all()
        calendar = WorkingCalendar([entry_of(r) for r in rows], version)
        self._calendar = calendar
        return calendar


def bump_version(session: Session) -> int:
    """Mark the calendar changed (every instance reloads it on its next event)."""
    meta = session.get(CalendarMeta, 1)
    if meta is None:
        meta = CalendarMeta(id=1, version=0)
        session.add(meta)
    meta.version += 1
    session.flush()
    session.info.pop(_VERSION_SEEN, None)
    return meta.version


def put_entries(session: Session, entries: Iterable[CalendarEntry], who: str) -> list[date]:
    """Insert or replace calendar entries; returns the days that changed."""
    entries = list(entries)
    existing = {(r.day, r.kind): r for r in session.exec(select(CalendarEntryRow))}
    candidate = WorkingCalendar(
        [
            entry_of(r)
            for key, r in existing.items()
            if key not in {(e.day, e.kind.value) for e in entries}
        ]
        + entries
    )
    check_closed_runs(candidate, sorted({e.day.year for e in entries}))
    now = datetime.now(UTC)
    changed: list[date] = []
    for entry in entries:
        row = existing.get((entry.day, entry.kind.value))
        if row is not None and (row.name, row.source) == (entry.name, entry.source):
            continue
        if row is None:
            row = CalendarEntryRow(
                day=entry.day,
                kind=entry.kind.value,
                name="",
                source="",
                updated_by=who,
                updated_at=now,
            )
        row.name, row.source, row.updated_by, row.updated_at = entry.name, entry.source, who, now
        session.add(row)
        changed.append(entry.day)
    if changed:
        bump_version(session)
    return changed


def delete_entry(session: Session, day: date, kind: str) -> bool:
    """Remove one calendar entry; False if there was none."""
    row = session.get(CalendarEntryRow, (day, kind))
    if row is None:
        return False
    session.delete(row)
    bump_version(session)
    return True


def seed_calendar(session: Session, text: str) -> list[date]:
    """Load the shipped calendar file once per content change.

    Instances starting together take turns (an advisory lock on PostgreSQL; SQLite
    writes one at a time anyway), and the second one finds the file already loaded.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(7083002)"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    meta = session.get(CalendarMeta, 1)
    if meta is not None and meta.seeded_digest == digest:
        return []
    changed = put_entries(session, parse_file(text), "calendar-file")
    meta = session.get(CalendarMeta, 1) or CalendarMeta(id=1)
    meta.seeded_digest = digest
    session.add(meta)
    return changed


class SlaCore:
    """The SLA's state shared by handlers, the scheduler and the API."""

    def __init__(self, settings: SlaSettings) -> None:
        self.settings = settings
        self.rules = settings.rules()
        self.calendars = CalendarStore()

    def now(self) -> datetime:
        """The service's clock (shifted only in drills and tests)."""
        return datetime.now(UTC) + timedelta(seconds=self.settings.clock_offset_seconds)

    def record(self, session: Session, report_id: str, fact: domain.Fact, emit: Emit) -> None:
        """Keep a fact (once) and fold the report's clocks again."""
        # Core statements on the session's connection: no flush, no ORM on this path.
        conn = session.connection()
        if conn.execute(_FACT_KNOWN, {"fact_id": fact.id}).first():
            return
        # Parameters apart from the statement: SQLAlchemy caches the compiled insert.
        conn.execute(
            _FACTS.insert(),
            {
                "id": fact.id,
                "report_id": report_id,
                "kind": fact.kind,
                "at": fact.at,
                "agency_id": fact.agency_id,
                "timezone": fact.timezone,
                "regency_code": fact.regency_code,
                "within_agency": fact.within_agency,
                "satisfied": fact.satisfied,
                "recorded_at": datetime.now(UTC),
            },
        )
        self.refold(session, report_id, emit)

    def refold(self, session: Session, report_id: str, emit: Emit) -> int:
        """Bring a report's clock rows in line with its facts; returns how many changed.

        Core statements, no ORM: this runs for every event the SLA consumes.
        """
        conn = session.connection()
        facts = [
            domain.Fact(
                r.id,
                r.kind,
                r.at,
                agency_id=r.agency_id,
                timezone=r.timezone,
                regency_code=r.regency_code,
                within_agency=r.within_agency,
                satisfied=r.satisfied,
            )
            for r in conn.execute(_FACTS_OF, {"report_id": report_id})
        ]
        desired = domain.fold(facts, self.calendars.current(session), self.rules)
        rows = {r.id: r._mapping for r in conn.execute(_CLOCKS_OF, {"report_id": report_id})}
        now = datetime.now(UTC)
        changed = 0
        for state in desired.values():
            values: dict[str, Any] = {name: getattr(state, name) for name in _FOLDED}
            current = rows.get(state.id)
            if current is None:
                values.update(id=state.id, report_id=report_id, clock=state.clock, updated_at=now)
                values["next_fire_at"] = next_fire(
                    state.status, None, state.warn_at, state.due_at, None
                )
                conn.execute(_CLOCKS.insert(), values)
                emit(_opened(report_id, state), report_id)
                if state.status != "open":
                    emit(_updated(report_id, state, now), report_id)
                if state.status == "stopped":
                    _count_finished(session, state, False)
                changed += 1
                continue
            if all(current[name] == values[name] for name in _FOLDED):
                continue
            values["next_fire_at"] = next_fire(
                state.status,
                current["breached_at"],
                state.warn_at,
                state.due_at,
                current["warned_due"],
            )
            values["updated_at"] = now
            conn.execute(_UPDATE_CLOCK, {**values, "clock_id": state.id})
            if state.status == "stopped" and current["status"] != "stopped":
                _count_finished(session, state, current["breached_at"] is not None)
            before = (current["status"], current["due_at"], current["agency_id"])
            if before != (state.status, state.due_at, state.agency_id):
                emit(_updated(report_id, state, now), report_id)
            changed += 1
        return changed

    def reports_around(self, session: Session, days: list[date]) -> list[str]:
        """Reports with a running clock whose span covers one of ``days``."""
        if not days:
            return []
        first = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
        query = (
            select(Clock.report_id)
            .where(Clock.status.in_(("open", "paused")))  # type: ignore[attr-defined]
            .where(Clock.due_at >= first - timedelta(days=1))
            .distinct()
        )
        return list(session.exec(query))


def clocks_of(session: Session, report_id: str) -> list[Clock]:
    """Every clock of a report, oldest first."""
    rows = session.exec(select(Clock).where(Clock.report_id == report_id)).all()
    return sorted(rows, key=lambda c: (c.starts_at, domain.CLOCKS.index(c.clock), c.id))


FINISHED = Counter(
    "aduan_sla_deadlines_finished_total",
    "Clocks stopped by what they waited for, on time or late, by clock, agency and "
    "province (the first two digits of the regency code): compliance is on_time's share.",
    ["clock", "agency", "province", "outcome"],
)


def _count_finished(session: Session, state: domain.ClockState, breached: bool) -> None:
    outcome = domain.outcome(state, breached)
    if outcome is None:
        return
    child = FINISHED.labels(
        state.clock, state.agency_id or "none", (state.regency_code or "00")[:2], outcome
    )
    after_commit(session, child.inc)


def count_running(session: Session) -> dict[tuple[str, str], int]:
    """Running clocks by (clock, status): the running ones summed from ``clock_tallies``
    (kept by triggers), less the paused ones, counted through the (clock, status, due_at)
    index; not a count over every running clock (a million of them took 100-300 ms of
    the database, every SLA_GAUGE_SECONDS)."""
    t = ClockTally.__table__.c  # type: ignore[attr-defined]
    c = Clock.__table__.c  # type: ignore[attr-defined]
    running = sa.select(t.clock, sa.func.sum(t.running)).group_by(t.clock)
    paused = (
        sa.select(c.clock, sa.func.count())
        .where(c.clock.in_(domain.CLOCKS), c.status == "paused")
        .group_by(c.clock)
    )
    counts: dict[tuple[str, str], int] = {}
    for clock, n in session.execute(paused):
        counts[(clock, "paused")] = int(n)
    for clock, n in session.execute(running):
        counts[(clock, "open")] = int(n or 0) - counts.get((clock, "paused"), 0)
    return {key: n for key, n in counts.items() if n}


def count_overdue(session: Session, now: datetime) -> dict[str, tuple[int, float]]:
    """Open clocks past their deadline by clock: how many, and how long ago the oldest
    one was due (seconds)."""
    c = Clock.__table__.c  # type: ignore[attr-defined]
    query = (
        sa.select(c.clock, sa.func.count(), sa.func.min(c.due_at))
        .where(c.status == "open", c.due_at < now)
        .group_by(c.clock)
    )
    found: dict[str, tuple[int, float]] = {}
    for clock, n, oldest in session.execute(query):
        if oldest.tzinfo is None:  # SQLite hands back naive UTC for aggregates
            oldest = oldest.replace(tzinfo=UTC)
        found[clock] = (n, (now - oldest).total_seconds())
    return found


def handlers(core: SlaCore) -> dict[str, Handler]:
    """The handler table: every event type that moves a clock."""

    def on_event(ctx: HandlerContext, payload: Any) -> None:
        def emit(p: Payload, subject: str) -> None:
            ctx.emit(p, subject=subject)

        core.record(ctx.session, payload.report_id, _fact(ctx.event.id, payload), emit)

    types = (
        "id.aduan.report.submitted.v1",
        "id.aduan.report.submitted.v2",
        "id.aduan.report.information_requested.v1",
        "id.aduan.report.information_added.v1",
        "id.aduan.report.information_added.v2",
        "id.aduan.report.verified.v1",
        "id.aduan.report.rejected.v1",
        "id.aduan.report.routed.v1",
        "id.aduan.report.forwarded.v1",
        "id.aduan.report.returned.v1",
        "id.aduan.report.followup_posted.v1",
        "id.aduan.report.resolved.v1",
        "id.aduan.report.reporter_replied.v1",
    )
    # Re-opening restarts the agency's clock from the reporter's reply itself (its fact
    # "reporter_replied", not solved), which the SLA already folds.
    return {**dict.fromkeys(types, on_event), "id.aduan.report.reopened.v1": ignore}
