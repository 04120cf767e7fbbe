"""Notifications' tables: contacts by reporter reference, recipients, messages."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """Notifications' own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Contact(Base, table=True):
    """How to reach a reporter reference (from intake's private topic)."""

    __tablename__ = "contacts"

    reporter_ref: str = Field(primary_key=True, max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="id", max_length=2)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Recipient(Base, table=True):
    """Who a report's messages go to, and in which language."""

    __tablename__ = "recipients"

    report_id: str = Field(primary_key=True, max_length=36)
    reporter_ref: str = Field(max_length=64, index=True)
    tracking_number: str = Field(max_length=7)
    language: str = Field(default="id", max_length=2)


class Notification(Base, table=True):
    """One message about a report: what, by which channel, whether it went.

    Recorded when its event arrives; rendered and sent once both the report's recipient
    (from report.submitted) and the contact (from the private topic) are known, since
    events on different topics arrive in any order.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "template", name="uq_notification_event"),
    )

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    source_event_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    values: str = Field(default="{}", max_length=2000, description="Template values, JSON.")
    language: str | None = Field(default=None, max_length=2)
    text: str | None = Field(default=None, max_length=1000)
    channel: str | None = Field(default=None, max_length=16)
    status: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
