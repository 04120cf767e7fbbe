"""SLA's tables: one row per clock per report."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """SLA's own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Deadline(Base, table=True):
    """A running (or finished) clock."""

    __tablename__ = "deadlines"
    __table_args__ = (sa.UniqueConstraint("report_id", "clock", name="uq_deadline_clock"),)

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    clock: str = Field(max_length=32)
    agency_id: str | None = Field(default=None, max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    working_days: int
    status: str = Field(default="open", max_length=16)
