"""SLA's HTTP API: each report's clocks, compliance, breaches, and the calendar.

Reads are open to the platform's own consoles and dashboards (they carry no personal
data: report ids, agencies, regions and times). Calendar changes need an
administrator's staff token.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from services.auth import Administrator, CaseReader
from services.runtime import ServiceRuntime, runtime_of
from sla import domain, handlers
from sla.handlers import SlaCore
from sla.models import CalendarEntryRow, Clock, ClockTally
from sla.workdays import CalendarEntry, EntryKind, WorkingCalendar, dump_file, parse_file

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["sla"])

Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def core_of(request: Request) -> SlaCore:
    """FastAPI dependency: the SLA's shared state."""
    core: SlaCore = request.app.state.runtime.definition.extra["core"]
    return core


Core = Annotated[SlaCore, Depends(core_of)]


class ClockView(BaseModel):
    """One clock of a report, with the time left on it."""

    deadline_id: str
    clock: str
    status: str
    agency_id: str | None
    regency_code: str | None
    timezone: str
    starts_at: datetime
    due_at: datetime | None = Field(description="None while the clock is paused.")
    warn_at: datetime | None
    working_days: int = Field(description="Length in working days (0: calendar days).")
    time_left_seconds: int | None = Field(description="Negative once overdue.")
    working_days_left: int | None
    warned: bool
    breached_at: datetime | None
    stopped_at: datetime | None
    outcome: Literal["on_time", "late"] | None


class ReportSla(BaseModel):
    """Every clock of a report."""

    report_id: str
    now: datetime
    clocks: list[ClockView]


def view(row: Clock, cal: WorkingCalendar, now: datetime) -> ClockView:
    """A clock as the API shows it."""
    state = domain.ClockState(
        id=row.id,
        clock=row.clock,
        agency_id=row.agency_id,
        timezone=row.timezone,
        regency_code=row.regency_code,
        starts_at=row.starts_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        working_days=row.working_days,
        status=row.status,
        stopped_at=row.stopped_at,
    )
    running = row.status == "open"
    left_days = None
    if running:
        left_days = (
            cal.working_days_between(now, row.due_at, row.timezone) if row.due_at > now else 0
        )
    elif row.status == "paused":
        left_days = row.remaining_days
    return ClockView(
        deadline_id=row.id,
        clock=row.clock,
        status=row.status,
        agency_id=row.agency_id,
        regency_code=row.regency_code,
        timezone=row.timezone,
        starts_at=row.starts_at,
        due_at=None if row.status == "paused" else row.due_at,
        warn_at=row.warn_at,
        working_days=row.working_days,
        time_left_seconds=int((row.due_at - now).total_seconds()) if running else None,
        working_days_left=left_days,
        warned=row.warned_due is not None,
        breached_at=row.breached_at,
        stopped_at=row.stopped_at,
        outcome=domain.outcome(state, row.breached_at is not None),  # type: ignore[arg-type]
    )


async def _clocks(
    rt: ServiceRuntime, core: SlaCore, report_id: str
) -> tuple[list[Clock], WorkingCalendar]:
    """A report's clocks and the calendar that measures their time left."""

    def work() -> tuple[list[Clock], WorkingCalendar]:
        with rt.database.session() as session:
            return handlers.clocks_of(session, report_id), core.calendars.current(session)

    return await rt.database.read(work)


@router.get("/reports/{report_id}/sla", response_model=ReportSla)
async def report_sla(report_id: str, rt: Runtime, core: Core, staff: CaseReader) -> ReportSla:
    """The SLA state of a report: each clock, its deadline and the time left."""

    rows, cal = await _clocks(rt, core, report_id)
    if not rows:
        raise HTTPException(404, "Laporan tidak dikenal. Unknown report.")
    now = core.now()
    return ReportSla(report_id=report_id, now=now, clocks=[view(r, cal, now) for r in rows])


@router.get("/reports/{report_id}/deadlines", response_model=list[ClockView])
async def deadlines(report_id: str, rt: Runtime, core: Core, staff: CaseReader) -> list[ClockView]:
    """Every clock of a report (an empty list for an unknown report)."""

    rows, cal = await _clocks(rt, core, report_id)
    now = core.now()
    return [view(r, cal, now) for r in rows]


class ComplianceRow(BaseModel):
    """Clocks of one agency or region: met on time, late, still open."""

    key: str | None
    on_time: int
    late: int
    open: int
    overdue: int = Field(description="Still open and already past the deadline.")
    on_time_share: float | None = Field(description="on_time / (on_time + late).")


@router.get("/compliance", response_model=list[ComplianceRow])
async def compliance(
    rt: Runtime,
    core: Core,
    by: Literal["agency", "region"] = "agency",
    clock: Literal["verification", "first_response", "reporter_reply", "resolution"] = (
        "first_response"
    ),
    since: datetime | None = None,
) -> list[ComplianceRow]:
    """On-time, late and open clocks per agency or per province (region code).

    Summed from ``clock_tallies`` (kept by triggers on ``clocks``); only what depends on
    the moment is counted from the clocks themselves: the overdue ones (an index range
    of running clocks due before now), and, for a ``since`` inside a month, that month's
    clocks from ``since`` on."""
    now = core.now()
    c = Clock.__table__.c  # type: ignore[attr-defined]
    t = ClockTally.__table__.c  # type: ignore[attr-defined]
    since = _aware(since) if since is not None else None
    tally_key = t.agency_id if by == "agency" else t.province
    clock_key = (
        sa.func.coalesce(c.agency_id, "")
        if by == "agency"
        else sa.func.coalesce(sa.func.substr(c.regency_code, 1, 2), "")
    )
    summed = sa.select(
        tally_key,
        sa.func.sum(t.on_time),
        sa.func.sum(t.late),
        sa.func.sum(t.running),
        sa.func.sum(t.clocks),
    ).where(t.clock == clock)
    partial = None
    if since is not None:
        month = f"{since.year:04d}-{since.month:02d}"
        month_start = datetime(since.year, since.month, 1, tzinfo=UTC)
        if since == month_start:
            summed = summed.where(t.month >= month)
        else:
            # Whole months after since's from the tallies; since's own month from here.
            summed = summed.where(t.month > month)
            following = (month_start + timedelta(days=32)).replace(day=1)
            on_time_cond = sa.and_(
                c.status == "stopped", c.stopped_at <= c.due_at, c.breached_at.is_(None)
            )
            late_cond = sa.or_(
                c.breached_at.is_not(None),
                sa.and_(c.status == "stopped", c.stopped_at > c.due_at),
            )
            partial = (
                sa.select(
                    clock_key,
                    sa.func.sum(sa.case((on_time_cond, 1), else_=0)),
                    sa.func.sum(sa.case((late_cond, 1), else_=0)),
                    sa.func.sum(sa.case((c.status.in_(("open", "paused")), 1), else_=0)),
                    sa.func.count(),
                )
                .where(
                    c.clock == clock,
                    c.status != "cancelled",
                    c.starts_at >= since,
                    c.starts_at < following,
                )
                .group_by(clock_key)
            )
    summed = summed.group_by(tally_key)
    overdue_query = sa.select(clock_key, sa.func.count()).where(
        c.clock == clock, c.status.in_(("open", "paused")), c.due_at < now
    )
    if since is not None:
        overdue_query = overdue_query.where(c.starts_at >= since)
    overdue_query = overdue_query.group_by(clock_key)

    def work() -> tuple[list[Any], list[Any], dict[Any, int]]:
        with rt.database.engine.connect() as conn:
            return (
                list(conn.execute(summed)),
                list(conn.execute(partial)) if partial is not None else [],
                {k: int(n) for k, n in conn.execute(overdue_query)},
            )

    tallied, partial_rows, overdue = await rt.database.read(work)
    totals: dict[str, list[int]] = {}
    for k, *counts in [*tallied, *partial_rows]:
        row = totals.setdefault(k or "", [0, 0, 0, 0])
        for i, n in enumerate(counts):
            row[i] += int(n or 0)
    rows = []
    for k in sorted(totals):
        on_time, late, open_, clocks = totals[k]
        if clocks == 0:
            continue
        done = on_time + late
        rows.append(
            ComplianceRow(
                key=k or None,
                on_time=on_time,
                late=late,
                open=open_,
                overdue=overdue.get(k, 0),
                on_time_share=round(on_time / done, 4) if done else None,
            )
        )
    return rows


class BreachRow(BaseModel):
    """Breaches of one agency on one clock."""

    agency_id: str | None
    clock: str
    breaches: int


@router.get("/breaches", response_model=list[BreachRow])
async def breaches(rt: Runtime, since: datetime | None = None) -> list[BreachRow]:
    """Deadlines passed, by agency and clock, most first."""
    c = Clock.__table__.c  # type: ignore[attr-defined]
    count = sa.func.count().label("n")
    query = (
        sa.select(c.agency_id, c.clock, count)
        .where(c.breached_at.is_not(None))
        .group_by(c.agency_id, c.clock)
        .order_by(count.desc(), c.agency_id)
    )
    if since is not None:
        query = query.where(c.breached_at >= _aware(since))

    def work() -> list[Any]:
        with rt.database.engine.connect() as conn:
            return list(conn.execute(query))

    return [BreachRow(agency_id=a, clock=k, breaches=n) for a, k, n in await rt.database.read(work)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------------------------ calendar


class DayOff(BaseModel):
    """A day that is not a working day, and why."""

    day: date
    why: str


class CalendarEntryIn(BaseModel):
    """An operator's entry for one day."""

    name: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500, description="Decree or notice.")


class CalendarEntryOut(CalendarEntryIn):
    """An entry with who changed it last."""

    day: date
    kind: EntryKind
    updated_by: str
    updated_at: datetime


class DeadlinePreview(BaseModel):
    """Where a clock started at a moment would end."""

    start: datetime
    working_days: int
    timezone: str
    due_at: datetime
    days_off: list[DayOff]


@router.get("/calendar/days-off", response_model=list[DayOff], tags=["calendar"])
async def days_off(rt: Runtime, core: Core, year: int = Query(ge=2000, le=2100)) -> list[DayOff]:
    """Every non-working weekday of a year (national holidays, cuti bersama, closures)."""

    def work() -> list[DayOff]:
        with rt.database.session() as session:
            cal = core.calendars.current(session)
        out = []
        day = date(year, 1, 1)
        while day.year == year:
            why = cal.why_closed(day)
            if why is not None and why != "weekend":
                out.append(DayOff(day=day, why=why))
            day += timedelta(days=1)
        return out

    return await rt.database.read(work)


@router.get("/calendar/entries", response_model=list[CalendarEntryOut], tags=["calendar"])
async def entries(rt: Runtime, year: int | None = Query(None, ge=2000, le=2100)) -> list[Any]:
    """The operator's calendar data, with sources."""

    def work() -> list[Any]:
        with rt.database.session() as session:
            query = select(CalendarEntryRow).order_by(CalendarEntryRow.day)  # type: ignore[arg-type]
            rows = session.exec(query).all()
        return [r for r in rows if year is None or r.day.year == year]

    return await rt.database.read(work)


@router.get("/calendar/export", response_class=PlainTextResponse, tags=["calendar"])
async def export(rt: Runtime) -> str:
    """The operator's calendar data in the file format (YAML)."""

    def work() -> str:
        with rt.database.session() as session:
            rows = session.exec(select(CalendarEntryRow)).all()
        return dump_file(handlers.entry_of(r) for r in rows)

    return await rt.database.read(work)


def _changed(rt: ServiceRuntime, core: SlaCore, days: list[date]) -> None:
    if days:
        rt.spawn(recompute(rt, core, days), "sla-recompute")


@router.put("/calendar/entries/{day}/{kind}", response_model=CalendarEntryOut, tags=["calendar"])
async def put_entry(
    day: date, kind: EntryKind, body: CalendarEntryIn, rt: Runtime, core: Core, staff: Administrator
) -> Any:
    """Add or change one entry (administrators); open deadlines are recomputed."""
    entry = CalendarEntry.model_validate(
        {"date": day, "kind": kind, "name": body.name, "source": body.source}
    )

    def work() -> tuple[list[date], CalendarEntryRow | None]:
        with rt.database.session() as session:
            changed = handlers.put_entries(session, [entry], staff.sub)
            session.flush()
            return changed, session.get(CalendarEntryRow, (day, kind.value))

    try:
        changed, row = await rt.database.write(work)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    log.info("calendar %s %s set by %s", day, kind.value, staff.sub)
    _changed(rt, core, changed)
    return row


@router.delete("/calendar/entries/{day}/{kind}", status_code=204, tags=["calendar"])
async def delete_entry(
    day: date, kind: EntryKind, rt: Runtime, core: Core, staff: Administrator
) -> None:
    """Remove one entry (administrators); open deadlines are recomputed."""

    def work() -> bool:
        with rt.database.session() as session:
            return handlers.delete_entry(session, day, kind.value)

    if not await rt.database.write(work):
        raise HTTPException(404, "Tidak ada entri itu. No such entry.")
    log.info("calendar %s %s removed by %s", day, kind.value, staff.sub)
    _changed(rt, core, [day])


class ImportResult(BaseModel):
    """What an import changed."""

    entries: int
    changed_days: list[date]


@router.post("/calendar/import", response_model=ImportResult, tags=["calendar"])
async def import_file(
    request: Request, rt: Runtime, core: Core, staff: Administrator
) -> ImportResult:
    """Load entries in the file format (YAML or JSON body); administrators only."""
    raw = await request.body()
    try:
        parsed = parse_file(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(
            422, f"Berkas kalender tidak valid. Invalid calendar file: {_short(exc)}"
        ) from exc

    def work() -> list[date]:
        with rt.database.session() as session:
            return handlers.put_entries(session, parsed, staff.sub)

    try:
        changed = await rt.database.write(work)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    log.info("calendar import by %s: %d entries, %d changed", staff.sub, len(parsed), len(changed))
    _changed(rt, core, changed)
    return ImportResult(entries=len(parsed), changed_days=sorted(set(changed)))


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return " ".join(text[:3])[:300]


@router.get("/calendar/deadline", response_model=DeadlinePreview, tags=["calendar"])
async def preview(
    rt: Runtime,
    core: Core,
    start: datetime,
    working_days: int = Query(ge=0, le=365),
    timezone: str = "Asia/Jakarta",
) -> DeadlinePreview:
    """Dry run: where a clock of ``working_days`` started at ``start`` would end."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(422, "Zona waktu tidak dikenal. Unknown time zone.") from exc

    def work() -> DeadlinePreview:
        with rt.database.session() as session:
            cal = core.calendars.current(session)
        begin = _aware(start)
        due = cal.add_working_days(begin, working_days, timezone)
        skipped = []
        day = cal.local_date(begin, timezone) + timedelta(days=1)
        while day <= due.date():
            why = cal.why_closed(day)
            if why:
                skipped.append(DayOff(day=day, why=why))
            day += timedelta(days=1)
        return DeadlinePreview(
            start=begin, working_days=working_days, timezone=timezone, due_at=due, days_off=skipped
        )

    return await rt.database.read(work)


async def recompute(rt: ServiceRuntime, core: SlaCore, days: list[date], batch: int = 200) -> int:
    """Fold again every report whose running clocks a calendar change may move."""

    def find() -> list[str]:
        with rt.database.session() as session:
            return core.reports_around(session, days)

    report_ids = await rt.database.read(find)
    for i in range(0, len(report_ids), batch):
        chunk = report_ids[i : i + batch]

        def work(chunk: list[str] = chunk) -> None:
            with rt.database.session() as session:
                for report_id in chunk:

                    def emit(p: Any, subject: str, s: Session = session) -> None:
                        rt.outbox.emit(s, p, subject)

                    core.refold(session, report_id, emit)

        await rt.database.write(work)
        rt.wake_relay()
    log.info("calendar change: %d reports' clocks recomputed", len(report_ids))
    return len(report_ids)
