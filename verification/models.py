"""Verification's tables: one decision per report."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
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
    outcome: str = Field(max_length=32)
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str = Field(max_length=500)
    decided_by: str = Field(max_length=64)
    category: str = Field(max_length=64)
    regency_code: str = Field(max_length=5)
    decided_at: datetime = Field(sa_type=UTCDateTime)


class Case(Base, table=True):
    """A report as verification holds it until decided: its text (with what the citizen
    added), what the checks found, and where it waits."""

    __tablename__ = "cases"
    # The duplicate check looks for earlier cases in one regency and category.
    __table_args__ = (sa.Index("ix_cases_area", "regency_code", "category", "submitted_at"),)

    report_id: str = Field(primary_key=True, max_length=36)
    tracking_number: str = Field(max_length=7)
    reporter_ref: str = Field(max_length=64, index=True)
    category: str = Field(max_length=64)
    regency_code: str = Field(max_length=5)
    district_code: str | None = Field(default=None, max_length=8)
    title: str = Field(max_length=200)
    text: str = Field(sa_type=sa.Text, description="The story, then what the citizen added.")
    anonymous: bool
    confidential: bool
    channel: str = Field(max_length=16)
    submitted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    report_type: str = Field(
        default="complaint", max_length=24, sa_column_kwargs={"server_default": "complaint"}
    )
    # The reporter's files as JSON references; intake serves the bytes to verifiers.
    files: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    # awaiting_info (asked the citizen), queued (a verifier must decide), decided.
    state: str = Field(max_length=16, index=True)
    outcome: str | None = Field(default=None, max_length=32)
    findings: str = Field(default="[]", sa_type=sa.Text, description="JSON list of findings.")
    missing: str = Field(default="[]", max_length=200, description="JSON list of 5W1H.")
    duplicate_of: str | None = Field(default=None, max_length=36)
    queue_reason: str = Field(default="", max_length=500)
    answers: int = Field(default=0, description="Times the citizen added information.")
    # What the citizen added, each on its own (JSON list, in order): a verifier's redaction
    # covers each addition as routing and intake received it.
    additions: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    # A named report's texts with its reporter's identity masked (JSON {"title", "body",
    # "additions": [...]}, from intake), for a verifier who makes it Anonim; null: none.
    anonymous_texts: str | None = Field(default=None, sa_type=sa.Text)
    # Attachment ids a verifier withheld from agencies, regions and the public (JSON list).
    withheld: str = Field(default="[]", max_length=1400, sa_column_kwargs={"server_default": "[]"})
    deferred_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(Base, table=True):
    """Who did what to a report, when and why (automatic checks included)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    report_id: str = Field(max_length=36, index=True)
    actor: str = Field(max_length=64)
    role: str = Field(max_length=32)
    action: str = Field(max_length=32)
    detail: str = Field(default="", max_length=1000)
    at: datetime = Field(sa_type=UTCDateTime)


class BlockedSender(Base, table=True):
    """A reporter whose reports are refused as abuse (administrators manage the list)."""

    __tablename__ = "blocked_senders"

    reporter_ref: str = Field(primary_key=True, max_length=64)
    reason: str = Field(max_length=500)
    blocked_by: str = Field(max_length=64)
    blocked_at: datetime = Field(sa_type=UTCDateTime)


class ClockDue(Base, table=True):
    """The verification clock's deadline per report, as the SLA service last said it
    (``sla.deadline`` can arrive before the report itself: it waits here)."""

    __tablename__ = "clock_dues"

    report_id: str = Field(primary_key=True, max_length=36)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class EarlyAddition(Base, table=True):
    """What a citizen added to a report before verification learnt of the report itself
    (the two travel on different topics): applied, in order, when the report arrives."""

    __tablename__ = "early_additions"

    event_id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    added_at: datetime = Field(sa_type=UTCDateTime)
    event: str = Field(sa_type=sa.Text, description="report.information_added (v1 JSON).")
