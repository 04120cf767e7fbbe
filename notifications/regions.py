"""The regions' gateway: the feed of ``region.report_changed`` events for connected
regional governments, by pull (after a cursor), by server-sent events, and by signed
webhooks (Standard Webhooks, through the dispatcher like every other delivery).

Regions authenticate with client credentials, issued and revoked by administrators and
stored hashed here, exchanged at ``POST /v1/region/token`` for a 15-minute token. A
region sees only its events (services/regions.py: a regency its own government's
reports; a province every regional report in it, confidential ones without their texts).

Delivery is at least once: a client keeps the cursor of the last event it processed,
and asks again from there after a restart; events it already has come again only if it
had not saved its cursor, and carry the same CloudEvent id.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from notifications import webhooks
from notifications.models import Delivery, Endpoint, Notification, RegionClient, RegionEvent
from notifications.settings import NotificationsSettings
from services import regions
from services.auth import InvalidToken, Role, Staff, require_staff
from services.bus import HandlerContext
from services.contracts import RegionClientChanged, RegionReportChanged, encode
from services.runtime import ServiceRuntime, runtime_of
from services.settings import KitSettings

TEMPLATE = "report_changed"
router = APIRouter(prefix="/v1/region", tags=["regions"])
admin_router = APIRouter(prefix="/v1/regions", tags=["regions"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(rt: ServiceRuntime) -> NotificationsSettings:
    return rt.definition.extra["settings"]  # type: ignore[no-any-return]


# --- the feed in ---------------------------------------------------------------------------


_REGION_EVENTS: sa.Table = RegionEvent.__table__  # type: ignore[attr-defined]
_STORED = sa.select(_REGION_EVENTS.c.seq).where(
    _REGION_EVENTS.c.event_id == sa.bindparam("event_id")
)
_STORE = _REGION_EVENTS.insert().returning(_REGION_EVENTS.c.seq)


def on_region_changed(ctx: HandlerContext, event: RegionReportChanged) -> None:
    """Number the event in the feed, and queue it to every region webhook that sees it."""
    session = ctx.session
    # Core statements on the session's connection: numbered without a flush.
    conn = session.connection()
    if conn.execute(_STORED, {"event_id": ctx.event.id}).first() is not None:
        return
    seq: int = conn.execute(
        _STORE,
        {
            "event_id": ctx.event.id,
            "report_id": event.report_id,
            "province_code": event.province_code,
            "agency_id": event.agency_id,
            "occurred_at": event.occurred_at,
            "envelope": encode(ctx.event).decode(),
            "stored_at": _now(),
        },
    ).scalar_one()
    data = event.model_dump(mode="json")
    hooks = session.exec(
        select(Endpoint).where(
            Endpoint.owner_kind == "region",
            Endpoint.kind == "webhook",
            Endpoint.status == "active",
            col(Endpoint.owner_id).in_((event.province_code, event.regency_code)),
        )
    ).all()
    targets = [
        h for h in hooks if TEMPLATE in json.loads(h.events) and regions.sees(h.owner_id, data)
    ]
    if not targets:
        return
    note = Notification(
        id=f"rf-{seq}-{uuid.uuid4().hex[:12]}",
        report_id=event.report_id,
        source_event_id=ctx.event.id,
        template=TEMPLATE,
        audience="agency",
        agency_id=event.agency_id,
        values=json.dumps({"seq": seq}),
        language="id",
        text="",
        status="shown",
        channel="endpoints",
        event_time=event.occurred_at,
        created_at=_now(),
    )
    session.add(note)
    now = _now()
    for hook in targets:
        session.add(
            Delivery(
                id=uuid.uuid4().hex,
                notification_id=note.id,
                report_id=event.report_id,
                source_event_id=ctx.event.id,
                template=TEMPLATE,
                audience="agency",
                channel="webhook",
                recipient=hook.id,
                # Feed order: the dispatcher takes the earliest first.
                next_attempt_at=now + timedelta(microseconds=seq),
                event_time=event.occurred_at,
                created_at=now,
            )
        )


def webhook_body(session: Session, note: Notification, endpoint: Endpoint) -> bytes | None:
    """The CloudEvent a region's webhook receives, as that region may read it."""
    seq = json.loads(note.values).get("seq")
    row = session.get(RegionEvent, seq)
    if row is None:
        return None
    return json.dumps(_as_seen(row, endpoint.owner_id), separators=(",", ":")).encode()


def _as_seen(row: RegionEvent, region: str) -> dict[str, Any]:
    envelope = json.loads(row.envelope)
    envelope["data"] = regions.view(region, envelope["data"])
    envelope["sequence"] = str(row.seq)  # CloudEvents sequence extension: the cursor
    return envelope


# --- credentials --------------------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ClientIn(BaseModel):
    region: str = Field(pattern=r"^\d{2}(\.\d{2})?$", description="32 or 32.73")
    name: str = Field(min_length=3, max_length=200)


class ClientOut(BaseModel):
    client_id: str
    region: str
    name: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ClientCreated(ClientOut):
    client_secret: str = Field(description="Shown once: only its hash is kept.")


def _client_out(c: RegionClient, cls: type[ClientOut] = ClientOut, **extra: Any) -> Any:
    return cls(
        client_id=c.client_id,
        region=c.region,
        name=c.name,
        created_at=c.created_at,
        rotated_at=c.rotated_at,
        revoked_at=c.revoked_at,
        last_used_at=c.last_used_at,
        **extra,
    )


@admin_router.post("/clients", response_model=ClientCreated, status_code=201)
async def create_client(body: ClientIn, rt: Runtime, staff: Administrator) -> ClientCreated:
    """Credentials for a region's system; the secret is in the answer, and only there."""
    secret = secrets.token_urlsafe(32)
    client = RegionClient(
        client_id=f"rg_{uuid.uuid4().hex[:20]}",
        region=body.region,
        name=body.name,
        secret_hash=_hash(secret),
        created_by=staff.sub,
        created_at=_now(),
    )

    def work() -> None:
        with rt.database.session() as s:
            s.add(client)

    await rt.database.write(work)
    return _client_out(client, ClientCreated, client_secret=secret)  # type: ignore[no-any-return]


@admin_router.get("/clients", response_model=list[ClientOut])
async def list_clients(
    rt: Runtime, staff: Administrator, region: str | None = Query(None, max_length=5)
) -> list[ClientOut]:
    def work() -> list[ClientOut]:
        with rt.database.session() as s:
            query = select(RegionClient).order_by(RegionClient.created_at)  # type: ignore[arg-type]
            if region:
                query = query.where(RegionClient.region == region)
            return [_client_out(c) for c in s.exec(query)]

    return await rt.database.read(work)


class RotateIn(BaseModel):
    grace_hours: float = Field(24.0, ge=0, le=24 * 30)


@admin_router.post("/clients/{client_id}/rotate", response_model=ClientCreated)
async def rotate_client(
    client_id: str, body: RotateIn, rt: Runtime, staff: Administrator
) -> ClientCreated:
    """A new secret; the old one still gets tokens for ``grace_hours``."""
    secret = secrets.token_urlsafe(32)

    def work() -> ClientCreated:
        with rt.database.session() as s:
            c = s.get(RegionClient, client_id)
            if c is None or c.revoked_at is not None:
                raise HTTPException(404, "no such client")
            now = _now()
            c.previous_hash, c.previous_expires_at = (
                c.secret_hash,
                now + timedelta(hours=body.grace_hours),
            )
            c.secret_hash, c.rotated_at = _hash(secret), now
            s.add(c)
            return _client_out(c, ClientCreated, client_secret=secret)  # type: ignore[no-any-return]

    return await rt.database.write(work)


@admin_router.delete("/clients/{client_id}", status_code=204)
async def revoke_client(client_id: str, rt: Runtime, staff: Administrator) -> None:
    """Revoke: no new token, and its tokens stop opening the feed at once."""

    def work() -> None:
        with rt.database.session() as s:
            c = s.get(RegionClient, client_id)
            if c is None:
                raise HTTPException(404, "no such client")
            if c.revoked_at is None:
                c.revoked_at = _now()
                # Routing accepts the same tokens: it learns of the revocation here.
                rt.outbox.emit(
                    s,
                    RegionClientChanged(
                        client_id=c.client_id, region=c.region, changed_at=c.revoked_at
                    ),
                    None,
                    key=c.client_id,
                )
            s.add(c)

    await rt.database.write(work)
    rt.wake_relay()


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


@router.post("/token")
async def token(
    rt: Runtime,
    grant_type: Annotated[str, Form(max_length=40)],
    client_id: Annotated[str | None, Form(max_length=40)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    authorization: Annotated[str | None, Header(max_length=400)] = None,
) -> dict[str, Any]:
    """OAuth 2.0 client credentials (RFC 6749 4.4): form fields or HTTP Basic."""
    if grant_type != "client_credentials":
        raise HTTPException(400, {"error": "unsupported_grant_type"})
    basic = _basic(authorization)
    if basic:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise HTTPException(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
    secret_value = KitSettings().auth_secret_value()
    if not secret_value:
        raise HTTPException(503, "ADUAN_AUTH_SECRET is not configured")
    given = _hash(client_secret)

    def work() -> str | None:
        with rt.database.session() as s:
            c = s.get(RegionClient, client_id)
            if c is None or c.revoked_at is not None:
                return None
            now = _now()
            ok = hmac.compare_digest(given, c.secret_hash) or (
                c.previous_hash is not None
                and c.previous_expires_at is not None
                and c.previous_expires_at > now
                and hmac.compare_digest(given, c.previous_hash)
            )
            if not ok:
                return None
            c.last_used_at = now
            s.add(c)
            return c.region

    region = await rt.database.write(work)
    if region is None:
        raise HTTPException(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
    ttl = timedelta(minutes=_settings(rt).region_token_minutes)
    return {
        "access_token": regions.issue_token(secret_value, client_id, region, ttl),
        "token_type": "Bearer",
        "expires_in": int(ttl.total_seconds()),
        "region": region,
    }


async def current_client(request: Request, rt: Runtime) -> regions.RegionClient:
    """A valid region token of a client that is not revoked."""
    secret = KitSettings().auth_secret_value()
    if not secret:
        raise HTTPException(503, "ADUAN_AUTH_SECRET is not configured")
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not raw:
            raise InvalidToken("missing")
        client = regions.verify_token(secret, raw.strip())
    except InvalidToken as exc:
        raise HTTPException(
            401, "Token wilayah tidak valid / invalid region token", {"WWW-Authenticate": "Bearer"}
        ) from exc

    def revoked() -> bool:
        with rt.database.session() as s:
            row = s.get(RegionClient, client.client_id)
            return row is None or row.revoked_at is not None

    if await rt.database.read(revoked):
        raise HTTPException(401, "Kredensial dicabut / credentials revoked")
    return client


Client = Annotated[regions.RegionClient, Depends(current_client)]


# --- pull and stream ------------------------------------------------------------------------


def _scope(region: str) -> Any:
    c = RegionEvent.__table__.c  # type: ignore[attr-defined]
    if len(region) == 2:
        return c.province_code == region
    return c.agency_id == regions.government_of(region)


def page(session: Session, region: str, after: int, limit: int) -> list[RegionEvent]:
    c = RegionEvent.__table__.c  # type: ignore[attr-defined]
    query = sa.select(RegionEvent).where(_scope(region), c.seq > after).order_by(c.seq).limit(limit)
    return list(session.scalars(query))


def _cursor(text: str | None) -> int:
    if text in (None, ""):
        return 0
    if not text.isdigit() or len(text) > 18:
        raise HTTPException(422, "cursor tidak valid / invalid cursor")
    return int(text)


@router.get("/events")
async def events(
    rt: Runtime,
    client: Client,
    after: Annotated[str | None, Query(max_length=20, description="The last cursor seen")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The region's events after ``after`` (oldest first) and the cursor to ask from next.
    Save ``next`` only once the events are processed: at least once, never lost."""
    start = _cursor(after)

    def work() -> list[RegionEvent]:
        with rt.database.session() as s:
            return page(s, client.region, start, limit)

    rows = await rt.database.read(work)
    out = [_as_seen(r, client.region) for r in rows]
    return {"events": out, "next": str(rows[-1].seq) if rows else str(start)}


@router.get("/stream")
async def stream(
    request: Request,
    rt: Runtime,
    client: Client,
    after: Annotated[str | None, Query(max_length=20)] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Server-sent events: each event's ``id`` is its cursor, so a reconnecting browser
    or client (``Last-Event-ID``) resumes where it stopped."""
    start = _cursor(last_event_id or after)
    settings = _settings(rt)

    async def gen() -> AsyncIterator[bytes]:
        cursor = start
        idle = 0.0
        yield b"retry: 2000\n\n"
        while not await request.is_disconnected():

            def work(after_seq: int = cursor) -> list[RegionEvent]:
                with rt.database.session() as s:
                    return page(s, client.region, after_seq, 100)

            rows = await rt.database.read(work)
            for row in rows:
                body = json.dumps(_as_seen(row, client.region), separators=(",", ":"))
                yield f"id: {row.seq}\nevent: {TEMPLATE}\ndata: {body}\n\n".encode()
                cursor = row.seq or cursor
            if rows:
                idle = 0.0
                continue
            await asyncio.sleep(settings.region_stream_poll_seconds)
            idle += settings.region_stream_poll_seconds
            if idle >= settings.region_stream_heartbeat_seconds:
                idle = 0.0
                yield b": keep-alive\n\n"

    return StreamingResponse(
        gen(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- the region's own webhooks -----------------------------------------------------------------


class HookIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    description: str = Field("", max_length=200)


@router.post("/webhooks", status_code=201)
async def create_webhook(body: HookIn, rt: Runtime, client: Client) -> dict[str, Any]:
    """Subscribe a URL to the region's feed; the signing secret is in the answer, once."""
    from notifications.api import check_target

    target = check_target("webhook", body.url, _settings(rt))
    secret = webhooks.new_secret()
    now = _now()
    hook = Endpoint(
        id=uuid.uuid4().hex,
        owner_kind="region",
        owner_id=client.region,
        kind="webhook",
        target=target,
        secrets=json.dumps([{"secret": secret, "expires_at": None}]),
        events=json.dumps([TEMPLATE]),
        description=body.description or f"region client {client.client_id}",
        created_at=now,
        updated_at=now,
    )

    def work() -> None:
        with rt.database.session() as s:
            s.add(hook)

    await rt.database.write(work)
    return {"id": hook.id, "url": target, "secret": secret, "events": [TEMPLATE]}


@router.get("/webhooks")
async def list_webhooks(rt: Runtime, client: Client) -> list[dict[str, Any]]:
    def work() -> list[dict[str, Any]]:
        with rt.database.session() as s:
            rows = s.exec(
                select(Endpoint).where(
                    Endpoint.owner_kind == "region",
                    Endpoint.owner_id == client.region,
                    Endpoint.kind == "webhook",
                )
            )
            return [
                {"id": e.id, "url": e.target, "status": e.status, "events": json.loads(e.events)}
                for e in rows
            ]

    return await rt.database.read(work)


@router.delete("/webhooks/{hook_id}", status_code=204)
async def delete_webhook(hook_id: str, rt: Runtime, client: Client) -> None:
    def work() -> None:
        with rt.database.session() as s:
            e = s.get(Endpoint, hook_id)
            if e is None or e.owner_kind != "region" or e.owner_id != client.region:
                raise HTTPException(404, "no such webhook")
            e.status, e.disabled_reason, e.updated_at = "disabled", "deleted by region", _now()
            s.add(e)

    await rt.database.write(work)
