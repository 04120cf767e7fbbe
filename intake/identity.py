"""Identity release at intake, the only service that holds identities (routing decides;
see routing/identity.py).

- An approved request for an Anonim report asks the reporter: on their tracking page
  (and the API) and by SMS (``SETUJU 1234567`` / ``TOLAK 1234567`` from the phone that
  made it). Their answer goes back on ``report.identity``.
- On release the reporter is told (their history; notifications sends the notice), and
  that agency, for that report alone, reads the name and contact here. Each reading is
  logged, by who and for which report, never with the identity.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from intake import handlers
from intake.models import IdentityGrant, Report, Reporter
from services import auth
from services.bus import HandlerContext, Outbox
from services.console import CONSOLE_COOKIES
from services.contracts import IdentityReleaseChanged
from services.runtime import ServiceRuntime, runtime_of

log = logging.getLogger("intake.identity")
router = APIRouter(prefix="/v1", tags=["identity release"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
StaffMember = Annotated[
    auth.Staff,
    Depends(auth.require_staff(*auth.DISPOSERS, cookie=CONSOLE_COOKIES)),
]
NOT_FOUND = "tidak ditemukan / not found"

# What the reporter's history says (their page; never public).
_HISTORY = {
    "consent_requested": "identity_consent",
    "released": "identity_released",
    "declined": "identity_declined",
}


def on_identity(ctx: HandlerContext, event: IdentityReleaseChanged) -> None:
    """Follow a request: ask an Anonim reporter, record the release, tell the reporter.
    Intake's own steps (consented, declined) come back here and change nothing more."""
    grant = ctx.session.get(IdentityGrant, event.request_id)
    if grant is None:
        grant = IdentityGrant(
            request_id=event.request_id,
            report_id=event.report_id,
            agency_id=event.agency_id,
            agency_name=event.agency_name,
            reason=event.reason,
            status=event.step,
            updated_at=event.occurred_at,
        )
    if event.step == "requested":
        grant.reason = event.reason
    if event.step not in ("consented", "declined"):  # those are intake's own, recorded
        grant.status = event.step
    grant.updated_at = datetime.now(UTC)
    ctx.session.add(grant)
    kind = _HISTORY.get(event.step)
    if kind is not None and event.step in ("consent_requested", "released"):
        detail = f"{event.agency_name or event.agency_id}: {grant.reason}"
        handlers._advance(ctx, event.report_id, kind, event.occurred_at, detail[:5000])


def waiting(session: Session, report_id: str) -> IdentityGrant | None:
    """The request an Anonim reporter has to answer, if any."""
    return session.exec(
        select(IdentityGrant).where(
            IdentityGrant.report_id == report_id, IdentityGrant.status == "consent_requested"
        )
    ).first()


def answer(session: Session, outbox: Outbox, report: Report, consent: bool) -> IdentityGrant:
    """The reporter consents or declines: said to routing on ``report.identity``."""
    grant = waiting(session, report.id)
    if grant is None:
        raise LookupError("no request waits for this reporter")
    now = datetime.now(UTC)
    grant.status = "consented" if consent else "declined"
    grant.updated_at = now
    session.add(grant)
    outbox.emit(
        session,
        IdentityReleaseChanged(
            report_id=report.id,
            request_id=grant.request_id,
            agency_id=grant.agency_id,
            agency_name=grant.agency_name,
            step=grant.status,  # type: ignore[arg-type]
            actor="reporter",
            occurred_at=now,
        ),
        report.id,
    )
    if not consent:
        session.add(
            handlers.HistoryEntry(
                report_id=report.id,
                event_id=f"identity-declined-{grant.request_id}",
                kind="identity_declined",
                detail=grant.agency_name or grant.agency_id,
                occurred_at=now,
            )
        )
    return grant


class ConsentIn(BaseModel):
    """The reporter's answer, with the secret code given at submission."""

    secret: str = Field(min_length=8, max_length=100)
    consent: bool


@router.post("/reports/{tracking_number}/identity-consent")
async def consent_api(
    tracking_number: str, body: ConsentIn, request: Request, rt: Runtime
) -> dict[str, Any]:
    """Consent (or not) to the agency reading one's identity for this report; 404 without
    the proof or when nothing is asked."""
    from intake import api, domain

    api.limit(rt, request)

    def work() -> dict[str, Any]:
        with rt.database.session() as session:
            report = handlers.find_report(session, tracking_number)
            if report is None or not domain.proves(body.secret, report.tracking_secret_hash):
                raise HTTPException(404, NOT_FOUND)
            try:
                grant = answer(session, rt.outbox, report, body.consent)
            except LookupError as exc:
                raise HTTPException(404, "tidak ada permintaan / nothing is asked") from exc
            return {"status": grant.status, "agency": grant.agency_name}

    found = await rt.database.write(work)
    rt.wake_relay()
    return found


@router.get("/staff/reports/{report_id}/identity", tags=["staff"])
async def identity(report_id: str, rt: Runtime, staff: StaffMember) -> dict[str, Any]:
    """The reporter's name and contact, for the agency it was released to (for this report
    only) and for administrators; 404 for anyone else."""

    def work() -> dict[str, Any]:
        with rt.database.session() as session:
            report = session.get(Report, report_id)
            if report is None:
                raise HTTPException(404, NOT_FOUND)
            if staff.in_agency:
                released = session.exec(
                    select(IdentityGrant).where(
                        IdentityGrant.report_id == report_id,
                        IdentityGrant.agency_id == staff.agency_id,
                        IdentityGrant.status == "released",
                    )
                ).first()
                if released is None or not staff.agency_id:
                    raise HTTPException(404, NOT_FOUND)
            reporter = session.get(Reporter, report.reporter_ref)
            log.info(
                "identity read by %s (%s)", staff.sub, staff.role, extra={"report_id": report_id}
            )
            return {
                "report_id": report.id,
                "tracking_number": report.tracking_number,
                "name": reporter.name if reporter else None,
                "phone": reporter.phone if reporter else None,
                "email": reporter.email if reporter else None,
            }

    return await rt.database.read(work)


HANDLERS = {"id.aduan.report.identity_release.v1": on_identity}
