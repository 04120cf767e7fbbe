"""Notifications' tables: contacts by reporter reference, what is known of each report,
notices, their deliveries with every attempt, and agencies' and regions' endpoints."""

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
    sms_notices: bool = Field(
        default=True,
        sa_column_kwargs={"server_default": sa.true()},
        description="False while the phone has sent STOP to 1708 (until MULAI).",
    )
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Recipient(Base, table=True):
    """What notifications knows of a report: who its messages go to, in which language,
    and what an agency's message about it may say."""

    __tablename__ = "recipients"

    report_id: str = Field(primary_key=True, max_length=36)
    reporter_ref: str = Field(max_length=64, index=True)
    tracking_number: str = Field(max_length=7)
    language: str = Field(default="id", max_length=2)
    title: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=64)
    regency_code: str = Field(default="", max_length=5)
    anonymous: bool = False
    confidential: bool = False
    agency_id: str | None = Field(default=None, max_length=64)
    agency_name: str | None = Field(default=None, max_length=200)


class Notification(Base, table=True):
    """One notice about a report, for the reporter or for an agency.

    Recorded when its event arrives; rendered once the report's recipient (from
    report.submitted) is known, then delivered on each channel that applies, since events
    on different topics arrive in any order.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("source_event_id", "template", name="uq_notification_event"),
    )

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    source_event_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    audience: str = Field(default="reporter", max_length=16)
    agency_id: str | None = Field(default=None, max_length=64)
    values: str = Field(default="{}", max_length=4000, description="Template values, JSON.")
    language: str | None = Field(default=None, max_length=2)
    text: str | None = Field(default=None, max_length=1000)
    channel: str | None = Field(default=None, max_length=16)
    status: str = Field(default="pending", max_length=16, index=True)
    event_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(Base, table=True):
    """One notice to one recipient on one channel: sent once, or known failed.

    The unique key (notice's source event, template, channel, recipient) is what makes a
    redelivered event send nothing twice, even after the inbox forgot the event.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint(
            "source_event_id", "template", "channel", "recipient", name="uq_delivery_once"
        ),
        sa.Index("ix_deliveries_due", "status", "channel", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    notification_id: str = Field(max_length=64, index=True)
    report_id: str = Field(max_length=36, index=True)
    source_event_id: str = Field(max_length=64)
    template: str = Field(max_length=64)
    audience: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    recipient: str = Field(
        max_length=80, description="Reporter reference or endpoint id, never an address."
    )
    status: str = Field(
        default="pending", max_length=16, description="pending, sending, sent, dead, skipped"
    )
    attempts: int = 0
    # Times an administrator sent it again after it died: each round's dead letter is
    # its own fact (its own event id).
    rounds: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    send_started_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="Written just before the message goes to the gateway, cleared when the "
        "attempt is recorded: set on a lease that ran out, the send is uncertain.",
    )
    last_error: str | None = Field(default=None, max_length=300)
    event_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(Base, table=True):
    """Every try of a delivery, with what came back (no address, no body)."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=64, index=True)
    number: int
    outcome: str = Field(
        max_length=16,
        description="sent, retry, dead, gone; uncertain: the instance died during the send "
        "(the gateway may have taken it), and it is sent again",
    )
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    retry_after_seconds: float | None = None
    duration_ms: float
    at: datetime = Field(sa_type=UTCDateTime)


class Endpoint(Base, table=True):
    """Where an agency or a region receives its notices: a webhook URL (signed per
    Standard Webhooks) or an email address. Secrets: JSON list of
    ``{"secret", "expires_at"}``, newest first; expired ones are no longer signed with."""

    __tablename__ = "endpoints"
    __table_args__ = (sa.Index("ix_endpoints_owner", "owner_kind", "owner_id", "status"),)

    id: str = Field(primary_key=True, max_length=64)
    owner_kind: str = Field(max_length=16, description="agency or region")
    owner_id: str = Field(max_length=64)
    kind: str = Field(max_length=16, description="webhook or email")
    target: str = Field(max_length=2000, description="The URL or the email address.")
    secrets: str = Field(default="[]", max_length=2000)
    events: str = Field(default='["*"]', max_length=1000, description="Templates, JSON list.")
    status: str = Field(default="active", max_length=16, description="active or disabled")
    disabled_reason: str | None = Field(default=None, max_length=300)
    consecutive_failures: int = 0
    first_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    description: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RegionEvent(Base, table=True):
    """The regions' feed: every ``region.report_changed`` event, numbered in the order
    it was stored (``region.feed`` has one partition, so one writer at a time: a cursor
    never skips an event committed later with a smaller number)."""

    __tablename__ = "region_events"
    __table_args__ = (sa.Index("ix_region_events_scope", "province_code", "seq"),)

    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    report_id: str = Field(max_length=36, index=True)
    province_code: str = Field(max_length=2)
    agency_id: str = Field(max_length=64, index=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    envelope: str = Field(sa_type=sa.Text, description="The CloudEvent, JSON, unredacted.")
    stored_at: datetime = Field(sa_type=UTCDateTime)


class RegionClient(Base, table=True):
    """A regional government's client credentials for the gateway. The secret is kept
    only as its SHA-256 (it is 32 random bytes); after a rotation the previous one works
    until ``previous_expires_at``. Revoked clients get no new token, and their tokens
    stop opening the feed at once."""

    __tablename__ = "region_clients"

    client_id: str = Field(primary_key=True, max_length=40)
    region: str = Field(max_length=5, index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    previous_hash: str | None = Field(default=None, max_length=64)
    previous_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
