"""Notifications' HTTP API.

- ``GET /v1/reports/{id}/notifications``: the reporter's notices (what the tracking page
  shows), never an address.
- Staff (administrators; an agency officer for the agency's own endpoints):
  deliveries with every attempt, dead letters and their retry, and the endpoints where
  agencies and regions receive notices (webhooks signed per Standard Webhooks, or email).
  A webhook's secret is shown once, when it is created or rotated.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, field_validator
from sqlmodel import col, select

from notifications import dispatcher, domain, handlers, webhooks
from notifications.models import Delivery, DeliveryAttempt, Endpoint
from notifications.settings import NotificationsSettings
from services.auth import (
    AGENCY_ROLES,
    DISPOSERS,
    Administrator,
    CaseReader,
    Role,
    Staff,
    require_staff,
)
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["notifications"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
StaffMember = Annotated[Staff, Depends(require_staff(Role.administrator, *AGENCY_ROLES))]


class NotificationOut(BaseModel):
    """A notice as the reporter's tracking page shows it."""

    id: str
    template: str
    language: str | None
    text: str | None
    channel: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None


@router.get("/reports/{report_id}/notifications", response_model=list[NotificationOut])
async def notifications(report_id: str, rt: Runtime, staff: CaseReader) -> list[NotificationOut]:
    """Notices about a report for its reporter, in lifecycle order (staff only: the
    reporter reads them on the tracking page)."""

    def work() -> list[NotificationOut]:
        with rt.database.session() as session:
            return [
                NotificationOut.model_validate(n, from_attributes=True)
                for n in handlers.notifications_of(session, report_id)
            ]

    return await rt.database.read(work)


class AttemptOut(BaseModel):
    """One try."""

    number: int
    outcome: str
    status_code: int | None
    error: str | None
    retry_after_seconds: float | None
    duration_ms: float
    at: datetime


class DeliveryOut(BaseModel):
    """One delivery: which notice, channel and recipient reference (never an address)."""

    id: str
    notification_id: str
    report_id: str
    template: str
    audience: str
    channel: str
    recipient: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    tries: list[AttemptOut] = []


def _deliveries(rt: ServiceRuntime, where: Any, limit: int = 200) -> list[DeliveryOut]:
    with rt.database.session() as session:
        rows = list(
            session.exec(
                select(Delivery).where(where).order_by(Delivery.created_at).limit(limit)  # type: ignore[arg-type]
            )
        )
        ids = [d.id for d in rows]
        tries: dict[str, list[AttemptOut]] = {}
        if ids:
            for a in session.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_(ids))  # type: ignore[attr-defined]
                .order_by(DeliveryAttempt.number)  # type: ignore[arg-type]
            ):
                tries.setdefault(a.delivery_id, []).append(
                    AttemptOut.model_validate(a, from_attributes=True)
                )
        return [
            DeliveryOut.model_validate(d, from_attributes=True).model_copy(
                update={"tries": tries.get(d.id, [])}
            )
            for d in rows
        ]


@router.get("/reports/{report_id}/deliveries", response_model=list[DeliveryOut])
async def report_deliveries(report_id: str, rt: Runtime, staff: Administrator) -> list[DeliveryOut]:
    """Every delivery of a report's notices, with each attempt."""
    return await rt.database.read(_deliveries, rt, Delivery.report_id == report_id)


@router.get("/deliveries", response_model=list[DeliveryOut])
async def deliveries(
    rt: Runtime,
    staff: Administrator,
    status: Annotated[Literal["pending", "sending", "sent", "dead", "skipped"], Query()] = "dead",
    channel: Annotated[Literal["sms", "email", "webhook"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DeliveryOut]:
    """Deliveries by status: the dead letters by default."""
    where = col(Delivery.status) == status
    if channel:
        where = sa.and_(where, col(Delivery.channel) == channel)
    return await rt.database.read(_deliveries, rt, where, limit)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry(delivery_id: str, rt: Runtime, staff: Administrator) -> DeliveryOut:
    """Send a dead-lettered delivery again (after the channel is fixed): a fresh set of
    attempts; its history stays."""

    def work() -> None:
        with rt.database.session() as session:
            try:
                dispatcher.restart(session, delivery_id, datetime.now(UTC))
            except LookupError as exc:
                raise HTTPException(404, "no such delivery") from exc
            except ValueError as exc:
                raise HTTPException(409, f"delivery is {exc}") from exc

    await rt.database.write(work)
    found = await rt.database.read(_deliveries, rt, Delivery.id == delivery_id)
    return found[0]


# -- Endpoints ------------------------------------------------------------------------
# report_changed: a region's feed (notifications/regions.py), for region endpoints.
ALL_TEMPLATES = {*domain.AGENCY_TEMPLATES, "report_changed"}


class EndpointIn(BaseModel):
    """A new endpoint for an agency (its id in the directory) or a region (a province
    code like ``32`` or a regency code like ``32.73``)."""

    owner_kind: Literal["agency", "region"]
    owner_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    kind: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=2000)
    events: list[str] = Field(default_factory=lambda: ["*"], max_length=20)
    description: str = Field("", max_length=200)

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e != "*" and e not in ALL_TEMPLATES]
        if unknown:
            raise ValueError(f"unknown events {unknown}; known: {sorted(ALL_TEMPLATES)}")
        return value or ["*"]


class EndpointOut(BaseModel):
    """An endpoint as staff see it: the secret is never shown again."""

    id: str
    owner_kind: str
    owner_id: str
    kind: str
    target: str
    events: list[str]
    status: str
    disabled_reason: str | None
    consecutive_failures: int
    description: str
    secret_count: int
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    """The answer to a creation or rotation: the secret, this once."""

    secret: str | None = None


def _out(e: Endpoint, cls: type[EndpointOut] = EndpointOut, **extra: Any) -> Any:
    return cls(
        id=e.id,
        owner_kind=e.owner_kind,
        owner_id=e.owner_id,
        kind=e.kind,
        target=e.target,
        events=json.loads(e.events),
        status=e.status,
        disabled_reason=e.disabled_reason,
        consecutive_failures=e.consecutive_failures,
        description=e.description,
        secret_count=len(json.loads(e.secrets)),
        created_at=e.created_at,
        updated_at=e.updated_at,
        **extra,
    )


def _may_manage(staff: Staff, owner_kind: str, owner_id: str) -> None:
    if staff.role == Role.administrator:
        return
    if staff.role in DISPOSERS and owner_kind == "agency" and owner_id == staff.agency_id:
        return
    raise HTTPException(404, "no such endpoint")


def check_target(kind: str, target: str, settings: NotificationsSettings) -> str:
    """A webhook URL (http or https, no credentials, no internal address literal) or an
    email address; the connect-time guard checks every resolved address again."""
    if kind == "email":
        try:
            return validate_email(target, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise HTTPException(422, f"not an email address: {exc}") from exc
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPException(422, "a webhook URL is http(s)://host/path")
    if parts.username or parts.password:
        raise HTTPException(422, "a webhook URL may not carry credentials")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not domain.address_allowed(
        str(literal), settings.allowed_networks()
    ):
        raise HTTPException(422, "webhooks may not point at internal addresses")
    if parts.hostname.lower() in ("localhost",) and not settings.webhook_allowed_networks:
        raise HTTPException(422, "webhooks may not point at internal addresses")
    return target


def _settings(rt: ServiceRuntime) -> NotificationsSettings:
    return rt.definition.extra["settings"]  # type: ignore[no-any-return]


@router.post("/endpoints", response_model=EndpointCreated, status_code=201)
async def create_endpoint(body: EndpointIn, rt: Runtime, staff: StaffMember) -> EndpointCreated:
    """Add an endpoint; a webhook's signing secret is in the answer, and only there."""
    _may_manage(staff, body.owner_kind, body.owner_id)
    target = check_target(body.kind, body.target, _settings(rt))
    now = datetime.now(UTC)
    secret = webhooks.new_secret() if body.kind == "webhook" else None
    endpoint = Endpoint(
        id=uuid.uuid4().hex,
        owner_kind=body.owner_kind,
        owner_id=body.owner_id,
        kind=body.kind,
        target=target,
        secrets=json.dumps([{"secret": secret, "expires_at": None}] if secret else []),
        events=json.dumps(body.events),
        description=body.description,
        created_at=now,
        updated_at=now,
    )

    def work() -> None:
        with rt.database.session() as session:
            session.add(endpoint)

    await rt.database.write(work)
    return _out(endpoint, EndpointCreated, secret=secret)  # type: ignore[no-any-return]


@router.get("/endpoints", response_model=list[EndpointOut])
async def list_endpoints(
    rt: Runtime,
    staff: StaffMember,
    owner_kind: Annotated[Literal["agency", "region"] | None, Query()] = None,
    owner_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[EndpointOut]:
    """Endpoints, by owner (an agency officer sees the agency's own)."""
    if staff.in_agency:
        owner_kind, owner_id = "agency", staff.agency_id

    def work() -> list[EndpointOut]:
        with rt.database.session() as session:
            query = select(Endpoint).order_by(Endpoint.created_at)  # type: ignore[arg-type]
            if owner_kind:
                query = query.where(Endpoint.owner_kind == owner_kind)
            if owner_id:
                query = query.where(Endpoint.owner_id == owner_id)
            return [_out(e) for e in session.exec(query)]

    return await rt.database.read(work)


async def _change(
    rt: ServiceRuntime, staff: Staff, endpoint_id: str, change: Any
) -> EndpointCreated:
    def work() -> EndpointCreated:
        with rt.database.session() as session:
            endpoint = session.get(Endpoint, endpoint_id)
            if endpoint is None:
                raise HTTPException(404, "no such endpoint")
            _may_manage(staff, endpoint.owner_kind, endpoint.owner_id)
            extra = change(endpoint) or {}
            endpoint.updated_at = datetime.now(UTC)
            session.add(endpoint)
            return _out(endpoint, EndpointCreated, **extra)  # type: ignore[no-any-return]

    return await rt.database.write(work)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(endpoint_id: str, rt: Runtime, staff: StaffMember) -> EndpointOut:
    """One endpoint (a read: nothing is written)."""

    def work() -> EndpointOut:
        with rt.database.session() as session:
            endpoint = session.get(Endpoint, endpoint_id)
            if endpoint is None:
                raise HTTPException(404, "no such endpoint")
            _may_manage(staff, endpoint.owner_kind, endpoint.owner_id)
            return _out(endpoint)  # type: ignore[no-any-return]

    return await rt.database.read(work)


class Rotation(BaseModel):
    """How long the old secret still signs (receivers switch in the meantime)."""

    grace_hours: float = Field(24.0, ge=0, le=24 * 30)


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=EndpointCreated)
async def rotate(
    endpoint_id: str, body: Rotation, rt: Runtime, staff: StaffMember
) -> EndpointCreated:
    """A new secret; messages are signed with both until the old one expires."""

    def change(e: Endpoint) -> dict[str, Any]:
        if e.kind != "webhook":
            raise HTTPException(409, "only webhooks have secrets")
        now = datetime.now(UTC)
        expiry = (now + timedelta(hours=body.grace_hours)).isoformat()
        old = [
            {**s, "expires_at": s.get("expires_at") or expiry}
            for s in json.loads(e.secrets)
            if s.get("expires_at") is None or datetime.fromisoformat(s["expires_at"]) > now
        ]
        secret = webhooks.new_secret()
        e.secrets = json.dumps([{"secret": secret, "expires_at": None}, *old][:5])
        return {"secret": secret}

    return await _change(rt, staff, endpoint_id, change)


@router.post("/endpoints/{endpoint_id}/enable", response_model=EndpointOut)
async def enable(endpoint_id: str, rt: Runtime, staff: StaffMember) -> EndpointOut:
    """Turn a disabled endpoint back on (after 410 or long failure was fixed)."""

    def change(e: Endpoint) -> None:
        e.status, e.disabled_reason = "active", None
        e.consecutive_failures, e.first_failure_at = 0, None

    return await _change(rt, staff, endpoint_id, change)


@router.post("/endpoints/{endpoint_id}/disable", response_model=EndpointOut)
async def disable(endpoint_id: str, rt: Runtime, staff: StaffMember) -> EndpointOut:
    """Stop sending to an endpoint; what was queued for it is skipped."""

    def change(e: Endpoint) -> None:
        e.status, e.disabled_reason = "disabled", f"disabled by {staff.sub}"

    return await _change(rt, staff, endpoint_id, change)
