"""Verification's HTTP API: the verifiers' queue and decisions, the block list.

Verifiers and administrators sign in with staff tokens (services/auth.py); agency
officers get 403 here. Every action is one transaction: the case, the decision, the
event in the outbox and the audit line together.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import Session, select

from services import uploads
from services.auth import Role, Staff, require_staff
from services.categories import CATEGORIES
from services.runtime import ServiceRuntime, runtime_of
from verification import checks, handlers
from verification.models import BlockedSender, Case, ClockDue, Decision

router = APIRouter(prefix="/v1", tags=["verification"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
Verifier = Annotated[Staff, Depends(require_staff(Role.verifier, Role.administrator))]
Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]


class FindingOut(BaseModel):
    """What a check found and why."""

    check: str
    rule: str
    detail: str
    evidence: list[str]
    confident: bool


class CaseOut(BaseModel):
    """A report as the verifier sees it (no contact data: verification never has any)."""

    report_id: str
    tracking_number: str
    title: str
    text: str
    category: str
    regency_code: str
    channel: str
    anonymous: bool
    confidential: bool
    state: str
    outcome: str | None
    queue_reason: str
    findings: list[FindingOut]
    missing: list[str]
    duplicate_of: str | None
    answers: int
    submitted_at: datetime
    due_at: datetime | None
    time_left_seconds: float | None
    deferred_until: datetime | None
    report_type: str = "complaint"
    withheld: list[str] = Field(
        default_factory=list, description="Files withheld from agencies, regions and the public."
    )
    reporter_files: list[dict[str, Any]] = Field(
        default_factory=list, description="The reporter's files, each with its intake url."
    )


class AuditOut(BaseModel):
    """One line of a report's audit log."""

    actor: str
    role: str
    action: str
    detail: str
    at: datetime


class CaseDetail(CaseOut):
    """A case with its audit log."""

    audit: list[AuditOut]


def intake_url(rt: ServiceRuntime) -> str:
    """Where staff download the reporter's files."""
    return str(getattr(rt.settings, "intake_url", ""))


def case_view(case: Case, due_at: datetime | None, base: str = "") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        **{k: getattr(case, k) for k in CaseOut.model_fields if hasattr(case, k)},
        "reporter_files": uploads.reporter_files(case.files, base, case.report_id),
        "withheld": json.loads(case.withheld),
        "findings": json.loads(case.findings),
        "missing": json.loads(case.missing),
        "due_at": due_at,
        "time_left_seconds": (due_at - now).total_seconds() if due_at else None,
    }


@router.get("/queue", response_model=list[CaseOut])
async def list_queue(
    rt: Runtime,
    staff: Verifier,
    state: Literal["queued", "awaiting_info"] = "queued",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[dict[str, Any]]:
    """Reports waiting for a verifier, the nearest 3-working-day deadline first."""

    def work() -> list[dict[str, Any]]:
        with rt.database.session() as session:
            return [
                case_view(c, due, intake_url(rt))
                for c, due in handlers.queue(session, state, limit, offset)
            ]

    return await rt.database.read(work)


def load_case(session: Session, report_id: str) -> tuple[Case, datetime | None]:
    case = session.get(Case, report_id)
    if case is None:
        raise HTTPException(404, "laporan tidak ditemukan / no such report")
    due = session.get(ClockDue, report_id)
    return case, due.due_at if due is not None else None


@router.get("/cases/{report_id}", response_model=CaseDetail)
async def get_case(report_id: str, rt: Runtime, staff: Verifier) -> dict[str, Any]:
    """One report with the checks' findings, the duplicate found and its audit log."""

    def work() -> dict[str, Any]:
        with rt.database.session() as session:
            case, due = load_case(session, report_id)
            log = handlers.audit_log(session, report_id)
            return {**case_view(case, due, intake_url(rt)), "audit": [a.model_dump() for a in log]}

    return await rt.database.read(work)


_CATEGORIES = set(CATEGORIES)


class VerifyIn(BaseModel):
    """Verify, correcting what the citizen got wrong, and protect the reporter if needed."""

    reason: str = Field(min_length=3, max_length=500)
    title: str | None = Field(None, min_length=3, max_length=200)
    category: str | None = Field(None, max_length=64)
    regency_code: str | None = Field(None, pattern=r"^\d{2}\.\d{2}$")
    anonymous: bool | None = None
    confidential: bool | None = None
    redact: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    ] = Field(
        default_factory=list,
        max_length=20,
        description="Words to cover wherever they occur in the title, the story and what "
        "the citizen added (any case): agencies, regions and the public read the covered "
        "version; the reporter and administrators the original.",
    )
    withhold: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=list,
        max_length=10,
        description="Ids of the reporter's files to withhold from agencies, regions and "
        "the public.",
    )


class RejectIn(BaseModel):
    """Not accepted, with the reason the citizen will read."""

    reason_code: Literal["incomplete", "out_of_scope", "abuse", "duplicate"]
    reason: str = Field(min_length=3, max_length=500)
    duplicate_of: str | None = Field(None, max_length=36)


class RequestInformationIn(BaseModel):
    """Ask the citizen for what is missing (the clock pauses)."""

    missing: list[Literal["what", "who", "why", "where", "when", "how"]] = Field(
        default_factory=list, max_length=6
    )
    message: str = Field(min_length=3, max_length=1000)


class DeferIn(BaseModel):
    """Put a case aside (tunda) until a date, with why."""

    reason: str = Field(min_length=3, max_length=500)
    days: int = Field(1, ge=1, le=30)


async def _decide(
    rt: ServiceRuntime,
    report_id: str,
    staff: Staff,
    decide: Any,
    allowed: tuple[str, ...] = ("queued", "awaiting_info"),
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        with rt.database.session() as session:
            case, due = load_case(session, report_id)
            if case.state not in allowed:
                raise HTTPException(
                    409, f"laporan sudah diputuskan ({case.outcome}) / already decided"
                )
            decide(session, case)
            session.flush()
            return case_view(case, due, intake_url(rt))

    found = await rt.database.write(work)
    rt.wake_relay()
    return found


def _emit(rt: ServiceRuntime, session: Session) -> handlers.Emit:
    return handlers.outbox_emitter(session, rt.outbox)


async def do_verify(
    rt: ServiceRuntime, report_id: str, staff: Staff, body: VerifyIn
) -> dict[str, Any]:
    """Verify the report with the corrections given (the API's and the console's path)."""
    if body.category is not None and body.category not in _CATEGORIES:
        raise HTTPException(422, f"kategori tidak dikenal / unknown category: {body.category}")

    def decide(session: Session, case: Case) -> None:
        outcome = checks.Outcome("verified", None, body.reason, _findings(case))
        fix = body.model_dump(exclude={"reason", "redact", "withhold"}, exclude_none=True)
        try:
            handlers.apply_decision(
                session,
                _emit(rt, session),
                case,
                outcome,
                actor=staff.sub,
                role=staff.role,
                corrections=fix,
                cover=(body.redact, body.withhold) if body.redact or body.withhold else None,
            )
        except ValueError as exc:  # an attachment the report does not have
            raise HTTPException(422, str(exc)) from exc
        if fix:
            if "title" in fix:  # as the redaction left it: the audit never keeps covered words
                fix["title"] = case.title
            detail = json.dumps(fix, ensure_ascii=False)
            handlers.audit(session, case.report_id, staff.sub, staff.role, "corrected", detail)

    return await _decide(rt, report_id, staff, decide)


@router.post("/cases/{report_id}/verify", response_model=CaseOut)
async def verify(report_id: str, body: VerifyIn, rt: Runtime, staff: Verifier) -> dict[str, Any]:
    """Verify the report: it goes on to routing, with the corrections given."""
    return await do_verify(rt, report_id, staff, body)


async def _decide_as_staff(
    rt: ServiceRuntime,
    report_id: str,
    staff: Staff,
    make: Any,
    allowed: tuple[str, ...] = ("queued", "awaiting_info"),
) -> dict[str, Any]:
    """A verifier's outcome (``make(findings)``) applied like an automatic one."""

    def decide(session: Session, case: Case) -> None:
        outcome = make(_findings(case))
        handlers.apply_decision(
            session, _emit(rt, session), case, outcome, actor=staff.sub, role=staff.role
        )

    return await _decide(rt, report_id, staff, decide, allowed)


async def do_reject(
    rt: ServiceRuntime, report_id: str, staff: Staff, body: RejectIn
) -> dict[str, Any]:
    """Reject the report with the reason the citizen will read."""
    code, reason, dup = body.reason_code, body.reason, body.duplicate_of
    return await _decide_as_staff(
        rt,
        report_id,
        staff,
        lambda found: checks.Outcome("rejected", code, reason, found, duplicate_of=dup),
    )


@router.post("/cases/{report_id}/reject", response_model=CaseOut)
async def reject(report_id: str, body: RejectIn, rt: Runtime, staff: Verifier) -> dict[str, Any]:
    """Not accepted (not our authority, archived as abuse, a duplicate, incomplete)."""
    return await do_reject(rt, report_id, staff, body)


async def do_request_information(
    rt: ServiceRuntime, report_id: str, staff: Staff, body: RequestInformationIn
) -> dict[str, Any]:
    """Ask the citizen for what is missing."""
    message, missing = body.message, tuple(body.missing)
    return await _decide_as_staff(
        rt,
        report_id,
        staff,
        lambda found: checks.Outcome(
            "information_requested", "incomplete", message, found, missing=missing
        ),
        allowed=("queued",),
    )


@router.post("/cases/{report_id}/request-information", response_model=CaseOut)
async def request_information(
    report_id: str, body: RequestInformationIn, rt: Runtime, staff: Verifier
) -> dict[str, Any]:
    """Ask the citizen; the case waits (and its clock pauses) until the answer."""
    return await do_request_information(rt, report_id, staff, body)


async def do_defer(
    rt: ServiceRuntime, report_id: str, staff: Staff, body: DeferIn
) -> dict[str, Any]:
    """Put the case aside until a date."""

    def decide(session: Session, case: Case) -> None:
        case.deferred_until = datetime.now(UTC) + timedelta(days=body.days)
        case.queue_reason = f"Ditunda: {body.reason}"[:500]
        session.add(case)
        handlers.audit(session, case.report_id, staff.sub, staff.role, "deferred", body.reason)

    return await _decide(rt, report_id, staff, decide, allowed=("queued",))


@router.post("/cases/{report_id}/defer", response_model=CaseOut)
async def defer(report_id: str, body: DeferIn, rt: Runtime, staff: Verifier) -> dict[str, Any]:
    """Put the case aside (tunda): it goes to the end of the queue until the date. The
    verification clock keeps running."""
    return await do_defer(rt, report_id, staff, body)


def _findings(case: Case) -> tuple[checks.Finding, ...]:
    return tuple(
        checks.Finding(f["check"], f["rule"], f["detail"], tuple(f["evidence"]), f["confident"])
        for f in json.loads(case.findings)
    )


@router.get("/decisions/{report_id}", response_model=Decision)
async def decision(report_id: str, rt: Runtime, staff: Verifier) -> Decision:
    """The decision taken about a report (staff only: the citizen reads the outcome and
    the reason on the tracking page)."""

    def work() -> Decision | None:
        with rt.database.session() as session:
            return handlers.get_decision(session, report_id)

    found = await rt.database.read(work)
    if found is None:
        raise HTTPException(404, "belum ada keputusan / no decision yet")
    return found


class BlockIn(BaseModel):
    """Block the sender of a report (their later reports are refused as abuse)."""

    report_id: str = Field(max_length=36)
    reason: str = Field(min_length=3, max_length=500)


class BlockedOut(BaseModel):
    """A blocked sender, by the opaque reporter reference (never an identity)."""

    reporter_ref: str
    reason: str
    blocked_by: str
    blocked_at: datetime


@router.get("/blocked-senders", response_model=list[BlockedOut])
async def blocked_senders(rt: Runtime, staff: Administrator) -> list[BlockedSender]:
    """The block list."""

    def work() -> list[BlockedSender]:
        with rt.database.session() as session:
            return list(session.exec(select(BlockedSender)).all())

    return await rt.database.read(work)


@router.post("/blocked-senders", response_model=BlockedOut, status_code=201)
async def block(body: BlockIn, rt: Runtime, staff: Administrator) -> BlockedSender:
    """Block the sender of a report."""

    def work() -> BlockedSender:
        with rt.database.session() as session:
            case = session.get(Case, body.report_id)
            if case is None:
                raise HTTPException(404, "laporan tidak ditemukan / no such report")
            row = session.get(BlockedSender, case.reporter_ref) or BlockedSender(
                reporter_ref=case.reporter_ref,
                reason=body.reason,
                blocked_by=staff.sub,
                blocked_at=datetime.now(UTC),
            )
            row.reason, row.blocked_by = body.reason, staff.sub
            session.add(row)
            handlers.audit(session, case.report_id, staff.sub, staff.role, "blocked", body.reason)
            session.flush()
            return row

    return await rt.database.write(work)


@router.delete("/blocked-senders/{reporter_ref}", status_code=204)
async def unblock(reporter_ref: str, rt: Runtime, staff: Administrator) -> None:
    """Take a sender off the block list."""

    def work() -> None:
        with rt.database.session() as session:
            row = session.get(BlockedSender, reporter_ref)
            if row is None:
                raise HTTPException(404, "tidak diblokir / not blocked")
            session.delete(row)

    await rt.database.write(work)
