"""What a connected regional government's own system sends back: acknowledgements,
follow-ups, questions, forwards to its units, resolutions. They become the same events
as the agency console's.

Authenticated with a region token (services/regions.py). A region acts only on reports
its own government is in charge of; any other report answers 404. Every call carries the
caller's id (``external_id``): the same id again answers what the first call did, and
the same id with a different request is refused (409). Calls may arrive out of order: a
follow-up after the resolution is recorded (status unchanged); a second resolution, or a
forward to where the report already is, is refused with 409 and the reason.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from routing import api, handlers
from routing.models import Attachment, RegionCall, ReportCopy, RevokedRegionClient, Routing
from services import regions
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1/region", tags=["regions"])

Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Token = Annotated[regions.RegionClient, Depends(regions.require_region())]


async def not_revoked(client: Token, rt: Runtime) -> regions.RegionClient:
    """A valid region token whose client the gateway has not revoked (it tells routing on
    ``region.clients``): 401 otherwise, within moments of the revocation."""

    def work(session: Session) -> bool:
        return session.get(RevokedRegionClient, client.client_id) is not None

    if await api._read(rt, work):
        raise HTTPException(
            401, "Kredensial dicabut / credentials revoked", {"WWW-Authenticate": "Bearer"}
        )
    return client


Client = Annotated[regions.RegionClient, Depends(not_revoked)]
NOT_FOUND = "laporan tidak ditemukan di wilayah ini / report not found in this region"


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(
        min_length=1, max_length=100, description="Your system's id of this action."
    )
    officer: str = Field(
        "region-system",
        max_length=64,
        pattern=r"^[A-Za-z0-9._@-]+$",
        description="Who acted, in your system (a staff reference, never a citizen).",
    )


class FollowupIn(Call):
    text: str = Field(min_length=3, max_length=5000)
    kind: Literal["followup", "question"] = "followup"


class AcknowledgeIn(Call):
    text: str = Field("Laporan diterima dan sedang ditangani.", min_length=3, max_length=5000)


class ForwardIn(Call):
    to: str = Field(max_length=64, description="A unit or kecamatan of your government.")
    reason: str = Field(min_length=3, max_length=500)


class ResolveIn(Call):
    summary: str = Field(min_length=3, max_length=2000)


def _visible(session: Session, report_id: str, client: regions.RegionClient) -> Routing:
    routing = session.get(Routing, report_id)
    if routing is None or routing.agency_id != client.government:
        raise HTTPException(404, NOT_FOUND)
    return routing


def _fingerprint(action: str, body: Call) -> str:
    text = json.dumps([action, body.model_dump()], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def _call(
    rt: ServiceRuntime,
    client: regions.RegionClient,
    report_id: str,
    action: str,
    body: Call,
    act: Any,
) -> dict[str, Any]:
    """Run ``act(session, emit, routing)`` once per (region, external_id)."""
    fingerprint = _fingerprint(f"{report_id}/{action}", body)

    def work(s: Session) -> dict[str, Any]:
        done = s.get(RegionCall, (client.region, body.external_id))
        if done is not None:
            if done.fingerprint != fingerprint:
                raise HTTPException(
                    409,
                    "external_id sudah dipakai untuk permintaan lain / "
                    "external_id already used for another request",
                )
            return {**json.loads(done.result), "duplicate": True}
        routing = _visible(s, report_id, client)
        act(s, handlers.outbox_emit(s, rt.outbox), routing)
        result = {**api.routing_view(routing), "external_id": body.external_id}
        s.add(
            RegionCall(
                region=client.region,
                external_id=body.external_id,
                report_id=report_id,
                action=action,
                fingerprint=fingerprint,
                result=json.dumps(result, default=str),
                created_at=datetime.now(UTC),
            )
        )
        s.flush()
        return {**result, "duplicate": False}

    try:
        return await api._write(rt, work)
    except IntegrityError:  # the same external_id raced in: answer as the winner did
        return await api._write(rt, work)


@router.get("/reports/{report_id}")
async def report(report_id: str, rt: Runtime, client: Client) -> dict[str, Any]:
    """A report as the region may see it now (to re-synchronise after an outage)."""

    def work(s: Session) -> dict[str, Any]:
        routing = s.get(Routing, report_id)
        copy = s.get(ReportCopy, report_id)
        if routing is None:
            raise HTTPException(404, NOT_FOUND)
        data = {
            **api.routing_view(routing),
            "province_code": routing.regency_code[:2],
            "tracking_number": copy.tracking_number if copy else None,
            "story": copy.body if copy else "",
        }
        if routing.status == "pending_region" or not regions.sees(client.region, data):
            raise HTTPException(404, NOT_FOUND)
        return regions.view(client.region, data)

    return await api._read(rt, work)


@router.get("/reports/{report_id}/attachments/{attachment_id}")
async def attachment(report_id: str, attachment_id: str, rt: Runtime, client: Client) -> Response:
    """A follow-up's file, for a region that may read the report in full."""

    def work(s: Session) -> Attachment:
        routing = s.get(Routing, report_id)
        found = s.get(Attachment, attachment_id)
        data = (
            {
                "agency_id": routing.agency_id,
                "province_code": routing.regency_code[:2],
                "confidential": routing.confidential,
            }
            if routing is not None
            else {}
        )
        if (
            routing is None
            or found is None
            or found.report_id != report_id
            or not regions.sees(client.region, data)
            or regions.view(client.region, data).get("redacted")
        ):
            raise HTTPException(404, "lampiran tidak ditemukan / attachment not found")
        return found

    return api.file_response(rt, await api._read(rt, work))


async def _post(
    rt: ServiceRuntime,
    client: regions.RegionClient,
    report_id: str,
    action: str,
    body: Call,
    kind: str,
    text: str,
) -> dict[str, Any]:
    """A follow-up, question or acknowledgement from the region's system."""
    entry_id = f"rg-{client.region}-{body.external_id}"[:64]

    def act(s: Session, emit: handlers.Emit, routing: Routing) -> None:
        handlers.post_followup(
            s,
            emit,
            routing,
            body.officer,
            client.government,
            text,
            kind,
            [],
            entry_id,
            actor_kind="region",
            external_id=body.external_id,
            late_ok=True,
        )

    return await _call(rt, client, report_id, action, body, act)


@router.post("/reports/{report_id}/acknowledge")
async def acknowledge(
    report_id: str, body: AcknowledgeIn, rt: Runtime, client: Client
) -> dict[str, Any]:
    """The region received the report and is handling it (a first response)."""
    return await _post(rt, client, report_id, "acknowledge", body, "acknowledgement", body.text)


@router.post("/reports/{report_id}/followups")
async def followup(report_id: str, body: FollowupIn, rt: Runtime, client: Client) -> dict[str, Any]:
    """A follow-up (tindak lanjut) or a question to the reporter."""
    return await _post(rt, client, report_id, "followup", body, body.kind, body.text)


@router.post("/reports/{report_id}/forward")
async def forward(report_id: str, body: ForwardIn, rt: Runtime, client: Client) -> dict[str, Any]:
    """Pass the report to one of the government's units or kecamatan."""

    def act(s: Session, emit: handlers.Emit, routing: Routing) -> None:
        handlers.forward(
            s,
            emit,
            routing,
            body.officer,
            client.government,
            body.to,
            body.reason,
            actor_kind="region",
            external_id=body.external_id,
        )

    return await _call(rt, client, report_id, "forward", body, act)


@router.post("/reports/{report_id}/resolve")
async def resolve(report_id: str, body: ResolveIn, rt: Runtime, client: Client) -> dict[str, Any]:
    """The work is done; the reporter is asked whether it solved the problem."""

    def act(s: Session, emit: handlers.Emit, routing: Routing) -> None:
        handlers.resolve(
            s,
            emit,
            routing,
            body.officer,
            client.government,
            body.summary,
            actor_kind="region",
            external_id=body.external_id,
        )

    return await _call(rt, client, report_id, "resolve", body, act)
