"""Routing's tables: the agency directory, the rules, each report's routing and its log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from services.db import UTCDateTime, add_kit_tables


class Base(SQLModel, registry=registry()):
    """Routing's own metadata."""


OUTBOX, INBOX = add_kit_tables(Base.metadata)


class Agency(Base, table=True):
    """One entry of the directory: a ministry, agency, BUMN, regional government (pemprov,
    pemkab, pemkot, or an administrative city of DKI), a work unit or a kecamatan."""

    __tablename__ = "agencies"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16, index=True)
    name: str = Field(max_length=200)
    parent_id: str | None = Field(default=None, max_length=64, index=True)
    region_code: str | None = Field(default=None, max_length=13, index=True)
    categories: str = Field(default="[]", max_length=1000, description="JSON list of codes.")
    connected: bool = Field(default=False, description="Receives its reports (Pemda).")
    active: bool = True
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(default="seed", max_length=64)


class Rule(Base, table=True):
    """Category (or ``*``) in a region (a Kemendagri code prefix, or every region) goes to a
    target: ``pemda`` (the regency/city government), ``pemprov`` (the province) or
    ``agency:<id>``; inside a Pemda, to the work unit ``unit_code`` and, when
    ``to_district``, to the kecamatan of the report's district."""

    __tablename__ = "routing_rules"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(max_length=64, index=True)
    region_prefix: str = Field(default="", max_length=5)
    target: str = Field(max_length=80)
    unit_code: str | None = Field(default=None, max_length=32)
    to_district: bool = False
    priority: int = 0
    note: str = Field(default="", max_length=200)
    active: bool = True
    created_by: str = Field(default="seed", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DirectorySeed(Base, table=True):
    """Which seed versions were applied (the row also serialises concurrent instances)."""

    __tablename__ = "directory_seed"

    version: int = Field(primary_key=True)
    rows: int
    applied_at: datetime = Field(sa_type=UTCDateTime)


class HeldVerification(Base, table=True):
    """A verification that reached routing before the report itself (they travel on
    different topics). It waits here for report.submitted, which brings the reporter's
    Anonim and Rahasia flags: no event leaves routing for a report whose privacy it does
    not know yet."""

    __tablename__ = "held_verifications"

    report_id: str = Field(primary_key=True, max_length=36)
    event: str = Field(sa_type=sa.Text, description="The report.verified payload, JSON.")
    received_at: datetime = Field(sa_type=UTCDateTime)


class ReportCopy(Base, table=True):
    """What the agency reads: the report as submitted, and what the citizen added."""

    __tablename__ = "reports"

    report_id: str = Field(primary_key=True, max_length=36)
    tracking_number: str = Field(max_length=7)
    title: str = Field(max_length=200)
    body: str = Field(sa_type=sa.Text)
    added: str = Field(default="", sa_type=sa.Text)
    category: str = Field(max_length=64)
    regency_code: str = Field(max_length=5)
    district_code: str | None = Field(default=None, max_length=8)
    anonymous: bool
    confidential: bool
    channel: str = Field(max_length=16)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    report_type: str = Field(
        default="complaint", max_length=24, sa_column_kwargs={"server_default": "complaint"}
    )
    latitude: float | None = None
    longitude: float | None = None
    # The reporter's files as JSON references (id, neutral name, type, size); the bytes
    # stay with intake, which serves them to staff who may see the report.
    files: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    # Each addition on its own (JSON [[added_at, text], ...]), and a verifier's redaction of
    # the first ones (JSON list of covered texts: the n-th replaces the n-th addition,
    # whether it came before the verification or after it); ``added`` is drawn from both.
    additions: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    covered_additions: str = Field(
        default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"}
    )
    redacted: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Routing(Base, table=True):
    """Where a report is: the responsible agency, its unit and sub-unit, and its state."""

    __tablename__ = "routings"
    __table_args__ = (sa.Index("ix_routings_agency_status", "agency_id", "status"),)

    report_id: str = Field(primary_key=True, max_length=36)
    agency_id: str = Field(max_length=64, index=True)
    agency_name: str = Field(max_length=200)
    regency_code: str = Field(max_length=5, index=True)
    category: str = Field(max_length=64)
    rule: str = Field(max_length=200)
    routed_at: datetime = Field(sa_type=UTCDateTime)
    # routed, in_progress (answered), resolved, pending_region, returned, closed
    status: str = Field(default="routed", max_length=16, index=True)
    title: str = Field(default="", max_length=200)
    district_code: str | None = Field(default=None, max_length=8)
    unit_id: str | None = Field(default=None, max_length=64, index=True)
    unit_name: str | None = Field(default=None, max_length=200)
    subunit_id: str | None = Field(default=None, max_length=64, index=True)
    subunit_name: str | None = Field(default=None, max_length=200)
    anonymous: bool = False
    confidential: bool = False
    identity_released: bool = False
    first_response_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    returned_by: str = Field(default="[]", max_length=1000, description="JSON agency ids.")
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Entry(Base, table=True):
    """One step of a report's handling: routed, forwarded, returned, a follow-up, a
    question, resolved, the reporter's reply, closed."""

    __tablename__ = "handling_log"

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=24)
    actor: str = Field(max_length=64)
    agency_id: str | None = Field(default=None, max_length=64)
    target_id: str | None = Field(default=None, max_length=64)
    text: str = Field(default="", sa_type=sa.Text)
    satisfied: bool | None = None
    attachments: str = Field(default="[]", sa_type=sa.Text, description="JSON AttachmentRef.")


class Attachment(Base, table=True):
    """A file an agency attached to a follow-up, stored under a server-made name."""

    __tablename__ = "attachments"

    id: str = Field(primary_key=True, max_length=36)
    report_id: str = Field(max_length=36, index=True)
    entry_id: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    storage_name: str = Field(max_length=80)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)


class RegionCall(Base, table=True):
    """A call from a region's own system, kept so that the same ``external_id`` again
    answers what the first call did (and a different request under it is refused)."""

    __tablename__ = "region_calls"

    region: str = Field(primary_key=True, max_length=5)
    external_id: str = Field(primary_key=True, max_length=100)
    report_id: str = Field(max_length=36, index=True)
    action: str = Field(max_length=16)
    fingerprint: str = Field(max_length=64)
    result: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class IdentityRequest(Base, table=True):
    """An agency's request to know who reported one report (LAPOR!'s identity release):
    requested (an administrator decides), awaiting_consent (an Anonim reporter decides),
    released, refused (by the administrator) or declined (by the reporter). Routing never
    holds the identity: intake shows it to this agency once released."""

    __tablename__ = "identity_requests"

    id: str = Field(primary_key=True, max_length=64)
    report_id: str = Field(max_length=36, index=True)
    agency_id: str = Field(max_length=64)
    agency_name: str = Field(max_length=200)
    requested_by: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    status: str = Field(max_length=20, index=True)
    decided_by: str | None = Field(default=None, max_length=64)
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RevokedRegionClient(Base, table=True):
    """A regional government's client revoked at the gateway (``region.clients``): its
    tokens no longer open routing's region API, though they have not expired."""

    __tablename__ = "revoked_region_clients"

    client_id: str = Field(primary_key=True, max_length=64)
    region: str = Field(max_length=5)
    revoked_at: datetime = Field(sa_type=UTCDateTime)


# --- staff accounts (routing/staff.py; decision 0016) --------------------------------


class StaffAccount(Base, table=True):
    """A member of staff: their role and, for agency staff, their agency, unit or
    kecamatan (an ``agencies`` row). The password is an Argon2id hash; the TOTP secret
    is sealed with the platform's text keys."""

    __tablename__ = "staff_accounts"

    id: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    agency_id: str | None = Field(default=None, max_length=64, index=True)
    password_hash: str | None = Field(default=None, max_length=200)
    totp_secret: str | None = Field(default=None, max_length=400)
    # The last TOTP time step used: a code is good once.
    totp_last_step: int | None = None
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=255, index=True)
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(Base, table=True):
    """A sign-in: the sign-in page's cookie keeps its random token; the table keeps only
    its SHA-256."""

    __tablename__ = "staff_sessions"

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64, index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    method: str = Field(max_length=16, description="password, password+totp or oidc")
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=64)


class StaffInvitation(Base, table=True):
    """A one-time link to set a password: an invitation, or an administrator's reset."""

    __tablename__ = "staff_invitations"

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64, index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    purpose: str = Field(max_length=16, description="invitation or reset")
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffAudit(Base, table=True):
    """Who signed in, out or failed to, and what was done to whose account."""

    __tablename__ = "staff_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    account_id: str | None = Field(default=None, max_length=64, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    ip: str = Field(default="", max_length=64)
    detail: str = Field(default="", max_length=300)
