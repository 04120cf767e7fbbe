"""SLA's tables: the facts of each report, its clocks, and the operator's calendar."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """SLA's own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class FactRow(Base, table=True):
    """An event that matters to a report's clocks (see :mod:`sla.domain`)."""

    __tablename__ = "sla_facts"

    id: str = Field(primary_key=True, max_length=64, description="The event's id.")
    report_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, description="When it happened.")
    agency_id: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=40)
    regency_code: str | None = Field(default=None, max_length=8)
    within_agency: bool = False
    satisfied: bool | None = None
    recorded_at: datetime = Field(sa_type=UTCDateTime)


class Clock(Base, table=True):
    """One clock of a report; ``next_fire_at`` is when the scheduler must look at it."""

    __tablename__ = "clocks"
    __table_args__ = (
        sa.Index("ix_clocks_status_clock", "status", "clock"),
        sa.Index("ix_clocks_agency_clock", "agency_id", "clock"),
        # The overdue ones (running, due before now), and a month's part from ``since``
        # read from the index alone (it holds every column the compliance report counts).
        sa.Index(
            "ix_clocks_clock_status_due", "clock", "status", "due_at", "agency_id", "regency_code"
        ),
        sa.Index(
            "ix_clocks_clock_starts",
            "clock",
            "starts_at",
            "status",
            "due_at",
            "stopped_at",
            "breached_at",
            "agency_id",
            "regency_code",
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    clock: str = Field(max_length=32)
    agency_id: str | None = Field(default=None, max_length=64)
    regency_code: str | None = Field(default=None, max_length=8)
    timezone: str = Field(max_length=40)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    warn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    working_days: int
    status: str = Field(default="open", max_length=16)
    reason: str = Field(default="opened", max_length=32)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remaining_days: int | None = None
    warned_due: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="The due time last warned about."
    )
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_fire_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ClockTally(Base, table=True):
    """On-time, late and running clocks per clock, agency, province and month of start,
    kept by triggers on ``clocks`` (migration a1b2c3d4e5f6): the compliance report sums
    these rows instead of scanning every clock. Cancelled clocks count nowhere."""

    __tablename__ = "clock_tallies"

    clock: str = Field(primary_key=True, max_length=32)
    agency_id: str = Field(primary_key=True, max_length=64, description="'' for none")
    province: str = Field(primary_key=True, max_length=2, description="'' for none")
    month: str = Field(primary_key=True, max_length=7, description="YYYY-MM of starts_at")
    on_time: int = 0
    late: int = 0
    running: int = 0
    clocks: int = 0


class CalendarEntryRow(Base, table=True):
    """The operator's calendar data: cuti bersama, closures, extra working days."""

    __tablename__ = "calendar_entries"

    day: date = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    source: str = Field(max_length=500)
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CalendarMeta(Base, table=True):
    """One row: the calendar's version (bumped on every change) and the file last seeded."""

    __tablename__ = "calendar_meta"

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    seeded_digest: str = Field(default="", max_length=64)
