"""Verification's tables: one decision per report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """Verification's own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Decision(Base, table=True):
    """What was decided about a report, by whom, and why."""

    __tablename__ = "decisions"

    report_id: str = Field(primary_key=True, max_length=36)
    outcome: str = Field(max_length=16)
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str = Field(max_length=500)
    decided_by: str = Field(max_length=16)
    category: str = Field(max_length=64)
    regency_code: str = Field(max_length=5)
    decided_at: datetime = Field(sa_type=UTCDateTime)
