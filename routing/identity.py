"""Identity release, as LAPOR!'s FAQ describes it: an agency may learn who reported one
report only when it asks with a reason and an administrator approves; for an Anonim
report, only when the reporter also consents (intake asks them on their tracking page and
by SMS). On release that agency, for that report alone, reads the name and contact at
intake (``GET /v1/staff/reports/{id}/identity``), which checks the release itself.

Routing keeps the requests and their decisions, logs every step in the report's handling
log (the audit the agency and administrators read) and says each step on
``report.identity``. It never holds the identity.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from routing import api, handlers
from routing.models import IdentityRequest, Routing
from services.auth import Staff
from services.bus import HandlerContext
from services.contracts import IdentityReleaseChanged, IdentityStep
from services.runtime import ServiceRuntime

log = logging.getLogger("routing.identity")

router = APIRouter(prefix="/v1", tags=["identity release"])
OPEN = ("requested", "awaiting_consent")
# Where a report must be for its agency to ask: handed to it, not yet closed.
ASKABLE = ("routed", "in_progress", "resolved", "reopened", "escalated")


class RequestIn(BaseModel):
    """Why the agency needs to know who reported it (the administrator and, for an
    Anonim report, the reporter read it)."""

    reason: str = Field(min_length=10, max_length=500)


class DecisionIn(BaseModel):
    """An administrator's decision on a request."""

    approve: bool
    note: str = Field("", max_length=500)


class RequestOut(BaseModel):
    """A request and where it stands."""

    request_id: str
    report_id: str
    agency_id: str
    agency_name: str
    requested_by: str
    reason: str
    status: str
    decided_by: str | None
    note: str
    created_at: datetime
    updated_at: datetime


def view(r: IdentityRequest) -> dict[str, Any]:
    return {**r.model_dump(exclude={"id"}), "request_id": r.id}


def _say(
    session: Session, emit: handlers.Emit, r: IdentityRequest, step: IdentityStep, actor: str
) -> None:
    """Log the step in the report's handling log and publish it."""
    now = datetime.now(UTC)
    r.updated_at = now
    text = r.note if step in ("refused", "released") and r.note else r.reason
    handlers._log(session, r.report_id, f"identity_{step}", actor, now, r.agency_id, text=text)
    emit(
        IdentityReleaseChanged(
            report_id=r.report_id,
            request_id=r.id,
            agency_id=r.agency_id,
            agency_name=r.agency_name,
            step=step,
            actor=actor,
            reason=text,
            occurred_at=now,
        )
    )


def for_agency(session: Session, report_id: str, agency_id: str | None) -> list[IdentityRequest]:
    """An agency's requests for one report, newest first."""
    if agency_id is None:
        return []
    return list(
        session.exec(
            select(IdentityRequest)
            .where(IdentityRequest.report_id == report_id, IdentityRequest.agency_id == agency_id)
            .order_by(IdentityRequest.created_at.desc())  # type: ignore[attr-defined]
        ).all()
    )


@router.post("/reports/{report_id}/identity-requests", status_code=201, response_model=RequestOut)
async def request_identity(
    report_id: str, body: RequestIn, rt: api.Runtime, staff: api.Disposer
) -> dict[str, Any]:
    """Ask for the reporter's identity, for this report only, with a reason. One open
    request per agency and report (409 for a second); 404 for a report the caller's
    agency does not hold."""
    return await do_request(rt, report_id, staff, body)


async def do_request(
    rt: ServiceRuntime, report_id: str, staff: Staff, body: RequestIn
) -> dict[str, Any]:
    """The API's and the console's path."""

    def work(session: Session) -> dict[str, Any]:
        routing = api.load_visible(session, report_id, staff)
        if routing.status not in ASKABLE:
            raise HTTPException(409, "laporan belum/tidak lagi di instansi / not with an agency")
        agency = api._acting_agency(staff, routing)
        mine = for_agency(session, report_id, agency)
        if any(r.status in (*OPEN, "released") for r in mine):
            raise HTTPException(409, "permintaan sudah ada / a request exists already")
        now = datetime.now(UTC)
        name = routing.agency_name if agency == routing.agency_id else agency
        if agency in (routing.unit_id, routing.subunit_id):
            name = (
                routing.unit_name if agency == routing.unit_id else routing.subunit_name
            ) or agency
        r = IdentityRequest(
            id=uuid.uuid4().hex,
            report_id=report_id,
            agency_id=agency,
            agency_name=name,
            requested_by=staff.sub,
            reason=body.reason,
            status="requested",
            created_at=now,
            updated_at=now,
        )
        session.add(r)
        _say(session, api._emit(rt, session), r, "requested", staff.sub)
        session.flush()
        return view(r)

    return await api._write(rt, work)


@router.get("/identity-requests", response_model=list[RequestOut])
async def list_requests(
    rt: api.Runtime,
    staff: api.Administrator,
    status: Annotated[
        Literal["requested", "awaiting_consent", "released", "refused", "declined"] | None,
        Query(),
    ] = "requested",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """The requests administrators decide (by default those waiting for them), oldest
    first."""

    def work(session: Session) -> list[dict[str, Any]]:
        query = select(IdentityRequest).order_by(IdentityRequest.created_at).limit(limit)  # type: ignore[arg-type]
        if status:
            query = query.where(IdentityRequest.status == status)
        return [view(r) for r in session.exec(query).all()]

    return await api._read(rt, work)


@router.post("/identity-requests/{request_id}/decision", response_model=RequestOut)
async def decide(
    request_id: str, body: DecisionIn, rt: api.Runtime, staff: api.Administrator
) -> dict[str, Any]:
    """Approve or refuse. Approved, a named report's identity is released to the agency
    at once; an Anonim one's waits for the reporter's consent."""
    return await do_decide(rt, request_id, staff, body)


async def do_decide(
    rt: ServiceRuntime, request_id: str, staff: Staff, body: DecisionIn
) -> dict[str, Any]:
    """The API's and the console's path."""

    def work(session: Session) -> dict[str, Any]:
        r = session.get(IdentityRequest, request_id)
        if r is None:
            raise HTTPException(404, "permintaan tidak ditemukan / request not found")
        if r.status != "requested":
            raise HTTPException(409, f"sudah diputuskan ({r.status}) / decided already")
        routing = session.get(Routing, r.report_id)
        r.decided_by, r.note = staff.sub, body.note
        emit = api._emit(rt, session)
        if not body.approve:
            r.status = "refused"
            _say(session, emit, r, "refused", staff.sub)
        elif routing is not None and routing.anonymous:
            r.status = "awaiting_consent"
            _say(session, emit, r, "consent_requested", staff.sub)
        else:
            release(session, emit, r, staff.sub)
        session.flush()
        return view(r)

    return await api._write(rt, work)


def release(session: Session, emit: handlers.Emit, r: IdentityRequest, actor: str) -> None:
    r.status = "released"
    routing = session.get(Routing, r.report_id)
    if routing is not None:
        routing.identity_released = True
    _say(session, emit, r, "released", actor)


def on_identity(ctx: HandlerContext, event: IdentityReleaseChanged) -> None:
    """The reporter's answer (from intake) to an approved request for an Anonim report;
    routing's own steps come back here too and change nothing."""
    if event.step not in ("consented", "declined"):
        return
    r = ctx.session.get(IdentityRequest, event.request_id)
    if r is None or r.status != "awaiting_consent":
        log.info("a consent for no waiting request", extra={"report_id": event.report_id})
        return
    if event.step == "declined":
        r.status = "declined"
        handlers._log(
            ctx.session,
            r.report_id,
            "identity_declined",
            "reporter",
            event.occurred_at,
            r.agency_id,
        )
        r.updated_at = datetime.now(UTC)
        return
    release(ctx.session, handlers.ctx_emit(ctx), r, "reporter")


HANDLERS: dict[str, Any] = {"id.aduan.report.identity_release.v1": on_identity}
