"""Intake's tables: reports, their reporters' contact data, and their history."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.contracts import AttachmentRef
from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """Intake's own metadata: no other service's tables mix in."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Report(Base, table=True):
    """A report as the citizen sent it, and where it stands now."""

    __tablename__ = "reports"

    id: str = Field(primary_key=True, max_length=36)
    tracking_number: str = Field(max_length=7, unique=True, index=True)
    tracking_secret_hash: str = Field(max_length=64)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    category: str = Field(max_length=64)
    regency_code: str = Field(max_length=5, index=True)
    district_code: str | None = Field(default=None, max_length=8)
    report_type: str = Field(
        default="complaint",
        max_length=24,
        sa_column_kwargs={"server_default": "complaint"},
        description="complaint (pengaduan), aspiration (aspirasi), information_request.",
    )
    latitude: float | None = None
    longitude: float | None = None
    reporter_ref: str = Field(max_length=64, index=True)
    account_id: str | None = Field(default=None, max_length=36, index=True)
    anonymous: bool = False
    confidential: bool = False
    channel: str = Field(max_length=16)
    language: str = Field(max_length=2, default="id")
    status: str = Field(max_length=32, default="submitted")
    status_rank: int = 0
    agency_name: str | None = Field(default=None, max_length=200)
    # The agencies (and their units) that hold the report, space-separated: the officers
    # who may open the reporter's attachments.
    agency_ids: str = Field(default="", max_length=400, sa_column_kwargs={"server_default": ""})
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The other clocks the citizen waits on (the SLA's): a verifier's check, and the
    # reporter's own answer to a resolution. None while paused, stopped or not started.
    verification_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reply_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, max_length=128, unique=True)
    # The title and story as everyone but the reporter and administrators reads them
    # (masked; a verifier's redaction once verified): public pages, search and Open311.
    public_title: str | None = Field(default=None, max_length=200)
    public_body: str | None = Field(default=None, sa_type=sa.Text)
    # The reporter's files a verifier withheld from agencies, regions and the public (JSON).
    withheld: str = Field(default="[]", max_length=1400, sa_column_kwargs={"server_default": "[]"})
    submitted_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The agency's first answer (follow-up, question, acknowledgement or resolution): kept
    # by a trigger on report_history, for the on-time statistics.
    first_answer_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SQLite's full-text index keys a report by this number, given in the order reports
    # arrive (a trigger; unused on PostgreSQL, which searches a tsvector column).
    search_id: int | None = Field(default=None, unique=True, index=True)


class ReportStat(Base, table=True):
    """Reports per month of submission, status, province and agency, kept by triggers on
    ``reports`` (migration e2f3a4b5c6d7): the statistics page sums these rows instead of
    scanning every report."""

    __tablename__ = "report_stats"

    month: str = Field(primary_key=True, max_length=7, description="YYYY-MM (UTC)")
    status: str = Field(primary_key=True, max_length=32)
    province: str = Field(primary_key=True, max_length=2)
    agency_name: str = Field(primary_key=True, max_length=200, description="'' before routing")
    n: int = 0


class AnswerStat(Base, table=True):
    """First answers per month of submission, province and agency, and how many came on
    time, kept by triggers on ``reports`` (first_answer_at, due_at)."""

    __tablename__ = "answer_stats"

    month: str = Field(primary_key=True, max_length=7)
    province: str = Field(primary_key=True, max_length=2)
    agency_name: str = Field(primary_key=True, max_length=200)
    on_time: int = 0
    answered: int = 0


class Reporter(Base, table=True):
    """Who to contact about a report. Never leaves intake except on the private topic."""

    __tablename__ = "reporters"

    ref: str = Field(primary_key=True, max_length=64)
    name: str | None = Field(default=None, max_length=120)
    # Indexed: one phone or email keeps one reference, so that verification can tell a
    # reporter's repeated or flooding reports apart without learning who it is.
    phone: str | None = Field(default=None, max_length=20, index=True)
    email: str | None = Field(default=None, max_length=254, index=True)
    language: str = Field(max_length=2, default="id")
    phone_proven: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": sa.false()},
        description="The phone sent an SMS itself: later SMS from it are this reporter's.",
    )
    created_at: datetime = Field(sa_type=UTCDateTime)


class HistoryEntry(Base, table=True):
    """One step in a report's life, built from a lifecycle event."""

    __tablename__ = "report_history"

    id: int | None = Field(default=None, primary_key=True)
    report_id: str = Field(max_length=36, index=True, foreign_key="reports.id")
    event_id: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=32)
    detail: str = Field(default="", sa_type=sa.Text, description="Up to 5000 characters.")
    public_detail: str | None = Field(
        default=None,
        sa_type=sa.Text,
        description="An addition as everyone but the reporter reads it, once a verifier "
        "covered words in it (report.verified redaction); null: the detail, masked.",
    )
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    attachments: str = Field(
        default="[]",
        sa_type=sa.Text,
        sa_column_kwargs={"server_default": "[]"},
        description="The agency's files on a follow-up (references, JSON); routing keeps "
        "the bytes.",
    )


class PartnerKey(Base, table=True):
    """An Open311 api_key of a partner app; only its SHA-256 is kept (32 random bytes)."""

    __tablename__ = "partner_keys"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    key_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SmsDraft(Base, table=True):
    """An SMS report waiting for its place: the next SMS from the phone completes it."""

    __tablename__ = "sms_drafts"

    phone: str = Field(primary_key=True, max_length=20)
    text: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class SmsOptOut(Base, table=True):
    """A phone that sent STOP: no notice goes to it by SMS until it sends MULAI."""

    __tablename__ = "sms_opt_outs"

    phone: str = Field(primary_key=True, max_length=20)
    since: datetime = Field(sa_type=UTCDateTime)


class ReportAttachment(Base, table=True):
    """A file the reporter attached: stored under a server-made name, shown under a
    neutral one (a citizen's file name can carry their own name)."""

    __tablename__ = "report_attachments"

    id: str = Field(primary_key=True, max_length=36)
    report_id: str = Field(max_length=36, index=True, foreign_key="reports.id")
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    storage_name: str = Field(max_length=80)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)

    def ref(self) -> AttachmentRef:
        """The reference events and answers carry (never the storage name)."""
        return AttachmentRef(
            attachment_id=self.id,
            filename=self.filename,
            media_type=self.media_type,
            size=self.size,
        )


class Account(Base, table=True):
    """A citizen's optional account: reports made signed in are listed and opened without
    their codes. The password is kept as a salted scrypt hash."""

    __tablename__ = "accounts"

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(max_length=32, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    reporter_ref: str = Field(max_length=64, foreign_key="reporters.ref")
    created_at: datetime = Field(sa_type=UTCDateTime)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountSession(Base, table=True):
    """A signed-in browser: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "account_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=36, index=True, foreign_key="accounts.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class BlockedSender(Base, table=True):
    """A phone number or email administrators blocked for abuse: its new reports are
    refused on every channel (verification's own list blocks by reporter reference)."""

    __tablename__ = "blocked_senders"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=8, description="phone or email")
    value: str = Field(max_length=254, unique=True, description="E.164, or a lower-case email")
    reason: str = Field(max_length=500)
    blocked_by: str = Field(max_length=64)
    blocked_at: datetime = Field(sa_type=UTCDateTime)


class IdentityGrant(Base, table=True):
    """One agency's request for a report's reporter identity, as intake follows it
    (routing decides; see routing/identity.py): consent_requested (the Anonim reporter
    is asked), consented, declined, released (that agency may read the name and contact
    here), refused."""

    __tablename__ = "identity_grants"

    request_id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    agency_id: str = Field(max_length=64)
    agency_name: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=500)
    status: str = Field(max_length=20)
    updated_at: datetime = Field(sa_type=UTCDateTime)
