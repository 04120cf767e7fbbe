"""Routing's HTTP API: the agencies' inbox and actions, and the administrators' directory,
rules, dry run, pending regions and manual dispositions.

Officers (role ``agency_officer``) see only reports routed to their agency, unit or
sub-unit: any other report id answers 404, as if it did not exist. Administrators see
everything. Contact data never reaches routing; a reporter's identity is never shown.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Header, HTTPException, Query, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from routing import domain, handlers
from routing.models import (
    Agency,
    Attachment,
    Entry,
    IdentityRequest,
    ReportCopy,
    Routing,
    Rule,
)
from routing.settings import RoutingSettings
from services import auth, uploads
from services.auth import AGENCY_ROLES, DISPOSERS, Role, Staff, require_staff
from services.categories import CATEGORIES
from services.contracts import AttachmentRef
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["routing"])
# For reporters, with a grant signed by intake: no staff token.
reporter_router = APIRouter(prefix="/v1", tags=["reporters"])

Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
# Who works on reports: agency staff (their own) and administrators.
Officer = Annotated[Staff, Depends(require_staff(*AGENCY_ROLES, Role.administrator))]
# Who may dispose a report to a unit, return it, or ask for the reporter's identity.
Disposer = Annotated[Staff, Depends(require_staff(*DISPOSERS))]
# Who reads the inbox and reports: officers and monitors (read-only, every agency).
Watcher = Annotated[Staff, Depends(require_staff(*AGENCY_ROLES, Role.administrator, Role.monitor))]
Reader = Annotated[Staff, Depends(require_staff(*AGENCY_ROLES, Role.administrator, Role.verifier))]
Administrator = Annotated[Staff, Depends(require_staff(Role.administrator))]
Planner = Annotated[Staff, Depends(require_staff(Role.administrator, Role.verifier))]

T = TypeVar("T")

NOT_FOUND = "laporan tidak ditemukan / report not found"
KINDS = ("ministry", "agency", "bumn", "pemprov", "pemkab", "pemkot", "unit", "kecamatan")


# --- views -------------------------------------------------------------------------


def routing_view(r: Routing) -> dict[str, Any]:
    return {
        "report_id": r.report_id,
        "status": r.status,
        "title": r.title,
        "category": r.category,
        "regency_code": r.regency_code,
        "region": handlers.region_name(r.regency_code),
        "district_code": r.district_code,
        "agency_id": r.agency_id,
        "agency_name": r.agency_name,
        "unit_id": r.unit_id,
        "unit_name": r.unit_name,
        "subunit_id": r.subunit_id,
        "subunit_name": r.subunit_name,
        "rule": r.rule,
        "routed_at": r.routed_at,
        "first_response_due": r.first_response_due,
        "first_response_at": r.first_response_at,
        "resolved_at": r.resolved_at,
        "anonymous": r.anonymous,
        "confidential": r.confidential,
    }


def entry_view(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at,
        "kind": e.kind,
        "actor": e.actor,
        "agency_id": e.agency_id,
        "target_id": e.target_id,
        "text": e.text,
        "satisfied": e.satisfied,
        "attachments": json.loads(e.attachments),
    }


def agency_view(a: Agency) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "name": a.name,
        "parent_id": a.parent_id,
        "region_code": a.region_code,
        "region": handlers.region_name(a.region_code),
        "categories": json.loads(a.categories),
        "connected": a.connected,
        "active": a.active,
        "updated_at": a.updated_at,
        "updated_by": a.updated_by,
    }


def rule_view(r: Rule | domain.RuleLike) -> dict[str, Any]:
    assert isinstance(r, Rule)
    return r.model_dump(exclude={"active"})


def load_visible(session: Session, report_id: str, staff: Staff) -> Routing:
    """The routing of a report the caller may see, else 404."""
    routing = session.get(Routing, report_id)
    if routing is None:
        raise HTTPException(404, NOT_FOUND)
    if staff.in_agency and not handlers.visible_to(routing, staff.agency_id):
        raise HTTPException(404, NOT_FOUND)
    return routing


def report_detail(
    session: Session, routing: Routing, intake_url: str = "", staff: Staff | None = None
) -> dict[str, Any]:
    """Everything an agency reads about one report; the reporter's files link to intake,
    which serves them to staff who may see the report. ``identity``: the caller's agency's
    requests for the reporter's identity (all of them for an administrator) and, once one
    is released, where intake shows it."""
    copy = session.get(ReportCopy, routing.report_id)
    files = uploads.reporter_files(copy.files, intake_url, routing.report_id) if copy else []
    log = session.exec(
        select(Entry).where(Entry.report_id == routing.report_id).order_by(Entry.at, Entry.id)  # type: ignore[arg-type]
    ).all()
    return {
        **routing_view(routing),
        "tracking_number": copy.tracking_number if copy else None,
        "story": copy.body if copy else None,
        "added": copy.added if copy else "",
        "submitted_at": copy.submitted_at if copy else None,
        "channel": copy.channel if copy else None,
        "report_type": copy.report_type if copy else None,
        "location": (
            {"lat": copy.latitude, "long": copy.longitude}
            if copy and copy.latitude is not None
            else None
        ),
        "reporter_files": files,
        "district": handlers.region_name(routing.district_code),
        # Identity reaches an agency only when an administrator releases it; routing never
        # holds it, so the agency sees only whether the reporter chose to hide it.
        "reporter": "Anonim" if routing.anonymous else "Identitas tidak dibuka",
        "identity": _identity(session, routing, intake_url, staff),
        "log": [entry_view(e) for e in log],
    }


def _identity(
    session: Session, routing: Routing, intake_url: str, staff: Staff | None
) -> dict[str, Any]:
    query = select(IdentityRequest).where(IdentityRequest.report_id == routing.report_id)
    if staff is None or staff.role is not Role.administrator:
        query = query.where(IdentityRequest.agency_id == (staff and _acting_agency(staff, routing)))
    requests = session.exec(query.order_by(IdentityRequest.created_at)).all()  # type: ignore[arg-type]
    released = any(r.status == "released" for r in requests)
    return {
        "requests": [{**r.model_dump(exclude={"id"}), "request_id": r.id} for r in requests],
        "released": released,
        "url": f"{intake_url}/v1/staff/reports/{routing.report_id}/identity" if released else None,
    }


async def _read(rt: ServiceRuntime, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with rt.database.session() as session:
            return work(session)

    return await rt.database.read(run)


async def _write(rt: ServiceRuntime, work: Callable[[Session], T]) -> T:
    def run() -> T:
        with rt.database.session() as session:
            try:
                return work(session)
            except handlers.ActionRefused as exc:
                raise HTTPException(exc.status, exc.message) from exc

    found = await rt.database.write(run)
    rt.wake_relay()
    return found


def _emit(rt: ServiceRuntime, session: Session) -> handlers.Emit:
    return handlers.outbox_emit(session, rt.outbox)


def _acting_agency(staff: Staff, routing: Routing) -> str:
    """Whom an action is in the name of: the officer's agency, or for an administrator
    the agency in charge."""
    if staff.in_agency and staff.agency_id:
        return staff.agency_id
    return routing.agency_id


# --- the agencies' inbox and reports ---------------------------------------------------

Box = Literal["open", "pending", "resolved", "closed", "all"]
BOXES: dict[str, tuple[str, ...]] = {
    "open": handlers.OPEN,
    "resolved": ("resolved",),
    "closed": ("closed", "returned"),
    "pending": ("pending_region",),
}


def inbox(
    session: Session, staff: Staff, box: str, limit: int, offset: int, agency: str | None = None
) -> list[Routing]:
    """Reports visible to the caller, the nearest first-response deadline first."""
    c = Routing.__table__.c  # type: ignore[attr-defined]
    query = sa.select(Routing)
    if staff.in_agency:
        query = query.where(handlers.inbox_filter(staff.agency_id or ""))
    elif agency:
        query = query.where(handlers.inbox_filter(agency))
    if box in BOXES:
        query = query.where(c.status.in_(BOXES[box]))
    query = query.order_by(
        c.first_response_due.is_(None), c.first_response_due, c.routed_at, c.report_id
    )
    return list(session.scalars(query.limit(limit).offset(offset)))


@router.get("/inbox")
async def get_inbox(
    rt: Runtime,
    staff: Watcher,
    box: Box = "open",
    agency: str | None = Query(None, max_length=64, description="Administrators: one agency"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=100_000),
) -> list[dict[str, Any]]:
    """The caller's reports, the nearest first-response deadline first."""
    return await _read(
        rt, lambda s: [routing_view(r) for r in inbox(s, staff, box, limit, offset, agency)]
    )


@router.get("/reports/{report_id}")
async def get_report(report_id: str, rt: Runtime, staff: Watcher) -> dict[str, Any]:
    """One report: the story, where it is, and every step of its handling."""
    intake_url = rt.settings.intake_url  # type: ignore[attr-defined]
    return await _read(
        rt, lambda s: report_detail(s, load_visible(s, report_id, staff), intake_url, staff)
    )


@router.get("/routings/{report_id}")
async def get_routing(report_id: str, rt: Runtime, staff: Reader) -> dict[str, Any]:
    """Where a report was routed (verifiers see every routing, officers their own)."""
    return await _read(rt, lambda s: routing_view(load_visible(s, report_id, staff)))


class ForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: str = Field(max_length=64, description="A unit or kecamatan of the agency in charge.")
    reason: str = Field(min_length=3, max_length=500)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    summary: str = Field(min_length=3, max_length=2000)


class RerouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_id: str = Field(max_length=64)
    reason: str = Field(min_length=3, max_length=500)


async def _officer_action(rt: ServiceRuntime, report_id: str, staff: Staff, act: Any) -> Any:
    """``act(session, emit, routing, acting_agency)`` on a report the caller may see."""

    def work(s: Session) -> dict[str, Any]:
        routing = load_visible(s, report_id, staff)
        act(s, _emit(rt, s), routing, _acting_agency(staff, routing))
        return routing_view(routing)

    return await _write(rt, work)


async def do_forward(rt: ServiceRuntime, report_id: str, staff: Staff, body: ForwardIn) -> Any:
    return await _officer_action(
        rt,
        report_id,
        staff,
        lambda s, emit, r, agency: handlers.forward(
            s, emit, r, staff.sub, agency, body.to, body.reason
        ),
    )


async def do_return(rt: ServiceRuntime, report_id: str, staff: Staff, body: ReasonIn) -> Any:
    return await _officer_action(
        rt,
        report_id,
        staff,
        lambda s, emit, r, agency: handlers.return_report(
            s, emit, r, staff.sub, agency, body.reason
        ),
    )


async def do_resolve(rt: ServiceRuntime, report_id: str, staff: Staff, body: ResolveIn) -> Any:
    return await _officer_action(
        rt,
        report_id,
        staff,
        lambda s, emit, r, agency: handlers.resolve(s, emit, r, staff.sub, agency, body.summary),
    )


async def do_followup(
    rt: ServiceRuntime,
    report_id: str,
    staff: Staff,
    text: str,
    kind: str,
    files: Sequence[tuple[str | None, bytes]],
    key: str | None,
) -> dict[str, Any]:
    """Store the files (checked, cleaned), then post the follow-up with them."""
    settings = rt.settings
    assert isinstance(settings, RoutingSettings)
    text = text.strip()
    if not 3 <= len(text) <= 5000:
        raise HTTPException(422, "teks 3 sampai 5000 huruf / text of 3 to 5000 characters")
    if kind not in ("followup", "question"):
        raise HTTPException(422, "kind: followup atau question")
    files = [(n, d) for n, d in files if d]
    if len(files) > settings.attachments_per_followup:
        raise HTTPException(
            422,
            f"paling banyak {settings.attachments_per_followup} berkas / "
            f"at most {settings.attachments_per_followup} files",
        )

    def check(s: Session) -> tuple[str, dict[str, Any] | None]:
        routing = load_visible(s, report_id, staff)
        agency = _acting_agency(staff, routing)
        entry_id = (
            f"fu-{uuid.uuid5(uuid.NAMESPACE_URL, f'{agency}/{report_id}/{key}')}"
            if key
            else (f"fu-{uuid.uuid4()}")
        )
        done = s.get(Entry, entry_id)
        return entry_id, entry_view(done) if done is not None else None

    entry_id, done = await _read(rt, check)
    if done is not None:  # the same Idempotency-Key again: the same follow-up
        return done
    store = attachment_store(rt)
    stored: list[uploads.Stored] = []
    try:
        for name, data in files:
            stored.append(store.save(data, name, settings.attachment_max_bytes))
    except uploads.UploadRefused as exc:
        store.discard(stored)
        raise HTTPException(422, str(exc)) from exc
    # Neutral names, as intake gives the reporter's files: an officer's own file name can
    # carry a person's name, or a path.
    refs = [
        AttachmentRef(
            attachment_id=f.attachment_id,
            filename=f"lampiran-{n}.{uploads.KINDS[f.media_type]}",
            media_type=f.media_type,
            size=f.size,
        )
        for n, f in enumerate(stored, 1)
    ]

    def work(s: Session) -> dict[str, Any]:
        routing = load_visible(s, report_id, staff)
        if s.get(Entry, entry_id) is not None:
            return entry_view(s.get(Entry, entry_id))  # type: ignore[arg-type]
        agency = _acting_agency(staff, routing)
        now = datetime.now(UTC)
        for f, ref in zip(stored, refs, strict=True):
            s.add(
                Attachment(
                    id=ref.attachment_id,
                    report_id=report_id,
                    entry_id=entry_id,
                    filename=ref.filename,
                    media_type=f.media_type,
                    size=f.size,
                    storage_name=f.storage_name,
                    uploaded_by=staff.sub,
                    uploaded_at=now,
                )
            )
        entry = handlers.post_followup(
            s, _emit(rt, s), routing, staff.sub, agency, text, kind, refs, entry_id
        )
        return entry_view(entry)

    try:
        return await _write(rt, work)
    except BaseException:
        store.discard(stored)
        raise


def attachment_store(rt: ServiceRuntime) -> uploads.Store:
    settings = rt.settings
    assert isinstance(settings, RoutingSettings)
    return uploads.Store(settings.attachments_dir or rt.kit.aduan_var_dir / "routing-attachments")


@router.post("/reports/{report_id}/forward")
async def forward(report_id: str, body: ForwardIn, rt: Runtime, staff: Disposer) -> Any:
    """Pass the report down to a work unit or kecamatan of the agency in charge."""
    return await do_forward(rt, report_id, staff, body)


@router.post("/reports/{report_id}/return")
async def return_report(report_id: str, body: ReasonIn, rt: Runtime, staff: Disposer) -> Any:
    """Not this agency's: back to verification for another routing, with the reason."""
    return await do_return(rt, report_id, staff, body)


@router.post("/reports/{report_id}/resolve")
async def resolve(report_id: str, body: ResolveIn, rt: Runtime, staff: Officer) -> Any:
    """The work is done: the reporter has 10 working days to say whether it is solved."""
    return await do_resolve(rt, report_id, staff, body)


@router.post("/reports/{report_id}/followups", status_code=201)
async def followup(
    report_id: str,
    rt: Runtime,
    staff: Officer,
    text: Annotated[str, Form(max_length=5000)],
    kind: Annotated[Literal["followup", "question"], Form()] = "followup",
    files: Annotated[list[UploadFile] | None, File()] = None,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, Any]:
    """Post a follow-up (tindak lanjut) or a question to the reporter, with files
    (photos, PDF, video; checked by content). The same ``Idempotency-Key`` twice posts
    once."""
    read = [(f.filename, await f.read()) for f in files or []]
    return await do_followup(rt, report_id, staff, text, kind, read, idempotency_key)


@router.get("/reports/{report_id}/attachments/{attachment_id}")
async def attachment(report_id: str, attachment_id: str, rt: Runtime, staff: Watcher) -> Response:
    """A follow-up's file, for staff who may see the report."""

    def work(s: Session) -> Attachment:
        load_visible(s, report_id, staff)
        found = s.get(Attachment, attachment_id)
        if found is None or found.report_id != report_id:
            raise HTTPException(404, "lampiran tidak ditemukan / attachment not found")
        return found

    return file_response(rt, await _read(rt, work))


@reporter_router.get("/reporter-files/{report_id}/{attachment_id}")
async def reporter_file(report_id: str, attachment_id: str, grant: str, rt: Runtime) -> Response:
    """A follow-up's file for the reporter, with the grant intake's tracking page signed
    for this file once the reporter proved the report (404 otherwise, as for no file)."""
    missing = HTTPException(404, "lampiran tidak ditemukan / attachment not found")
    secret = rt.kit.auth_secret_value()
    try:
        granted = auth.verify_file_grant(secret or "", grant) if secret else None
    except auth.InvalidToken:
        granted = None
    if granted != (report_id, attachment_id):
        raise missing

    def work(s: Session) -> Attachment:
        found = s.get(Attachment, attachment_id)
        if found is None or found.report_id != report_id:
            raise missing
        return found

    return file_response(rt, await _read(rt, work))


def file_response(rt: ServiceRuntime, found: Attachment) -> Response:
    """A stored attachment, downloaded (never rendered by the browser)."""
    return attachment_store(rt).response(found.storage_name, found.media_type, found.filename)


# --- administrators: dispositions, pending regions ------------------------------------


async def do_reroute(rt: ServiceRuntime, report_id: str, staff: Staff, body: RerouteIn) -> Any:
    def work(s: Session) -> dict[str, Any]:
        routing = load_visible(s, report_id, staff)
        handlers.reroute(s, _emit(rt, s), routing, staff.sub, body.agency_id, body.reason)
        return routing_view(routing)

    return await _write(rt, work)


@router.post("/reports/{report_id}/reroute")
async def reroute(report_id: str, body: RerouteIn, rt: Runtime, staff: Administrator) -> Any:
    """Hand the report to another agency by hand (a manual disposition)."""
    return await do_reroute(rt, report_id, staff, body)


def pending_regions(session: Session) -> list[dict[str, Any]]:
    """Pending reports per regency, with the government each waits for."""
    c = Routing.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(c.regency_code, sa.func.count(), sa.func.max(c.agency_id))
        .where(c.status == "pending_region")
        .group_by(c.regency_code)
    ).all()
    out = []
    for code, n, waits in sorted(rows, key=lambda r: (-r[1], r[0])):
        agency = session.get(Agency, waits)
        out.append(
            {
                "regency_code": code,
                "region": handlers.region_name(code),
                "pending": n,
                "agency_id": waits,
                "agency_name": agency.name if agency else waits,
                "connected": bool(agency and agency.connected),
            }
        )
    return out


@router.get("/pending")
async def pending(rt: Runtime, staff: Planner) -> list[dict[str, Any]]:
    """Reports waiting for their regional government to connect, per regency."""
    return await _read(rt, pending_regions)


# --- administrators: the directory ------------------------------------------------------


def search_agencies(
    session: Session,
    q: str | None,
    kind: str | None,
    region: str | None,
    connected: bool | None,
    parent: str | None,
    limit: int,
    offset: int,
) -> list[Agency]:
    query = select(Agency)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            sa.or_(sa.func.lower(Agency.name).like(like), sa.func.lower(Agency.id).like(like))
        )
    if kind:
        query = query.where(Agency.kind == kind)
    if region:
        query = query.where(Agency.region_code.startswith(region))  # type: ignore[union-attr]
    if connected is not None:
        query = query.where(Agency.connected == connected)
    if parent:
        query = query.where(Agency.parent_id == parent)
    return list(session.exec(query.order_by(Agency.id).limit(limit).offset(offset)))


@router.get("/agencies")
async def agencies(
    rt: Runtime,
    staff: Reader,
    q: str | None = Query(None, max_length=100),
    kind: str | None = Query(None, max_length=16),
    region: str | None = Query(None, max_length=13, pattern=r"^[0-9.]+$"),
    connected: bool | None = None,
    parent: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000),
) -> list[dict[str, Any]]:
    """Search the directory (officers use it to pick a unit to forward to)."""
    found = await _read(
        rt, lambda s: search_agencies(s, q, kind, region, connected, parent, limit, offset)
    )
    return [agency_view(a) for a in found]


@router.get("/agencies/{agency_id}")
async def agency(agency_id: str, rt: Runtime, staff: Reader) -> dict[str, Any]:
    """One directory entry with its units and sub-units."""

    def work(s: Session) -> dict[str, Any]:
        found = s.get(Agency, agency_id)
        if found is None:
            raise HTTPException(404, "instansi tidak ditemukan / agency not found")
        children = s.exec(select(Agency).where(Agency.parent_id == agency_id).order_by(Agency.id))
        return {**agency_view(found), "children": [agency_view(c) for c in children]}

    return await _read(rt, work)


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$")
    kind: Literal["ministry", "agency", "bumn", "unit", "kecamatan"]
    name: str = Field(min_length=3, max_length=200)
    parent_id: str | None = Field(None, max_length=64)
    region_code: str | None = Field(None, pattern=r"^\d{2}(\.\d{2}){0,2}$")
    categories: list[str] = Field(default_factory=list, max_length=20)
    connected: bool = True


class AgencyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=3, max_length=200)
    categories: list[str] | None = Field(None, max_length=20)
    connected: bool | None = None
    active: bool | None = None


def _check_categories(codes: list[str]) -> None:
    unknown = [c for c in codes if c not in CATEGORIES]
    if unknown:
        raise HTTPException(422, f"kategori tidak dikenal / unknown categories: {unknown}")


@router.post("/agencies", status_code=201)
async def create_agency(body: AgencyIn, rt: Runtime, staff: Administrator) -> dict[str, Any]:
    """Add an agency, a work unit or a sub-unit to the directory."""
    return await do_create_agency(rt, staff, body)


async def do_create_agency(rt: ServiceRuntime, staff: Staff, body: AgencyIn) -> dict[str, Any]:
    _check_categories(body.categories)
    if body.kind in ("unit", "kecamatan") and not body.parent_id:
        raise HTTPException(422, "unit perlu instansi induk / a unit needs a parent agency")

    def work(s: Session) -> dict[str, Any]:
        if s.get(Agency, body.id) is not None:
            raise HTTPException(409, "id sudah dipakai / id already exists")
        if body.parent_id and s.get(Agency, body.parent_id) is None:
            raise HTTPException(422, "instansi induk tidak ada / unknown parent")
        row = Agency(
            **body.model_dump(exclude={"categories"}),
            categories=json.dumps(body.categories),
            updated_at=datetime.now(UTC),
            updated_by=staff.sub,
        )
        s.add(row)
        s.flush()
        return agency_view(row)

    return await _write(rt, work)


async def do_patch_agency(
    rt: ServiceRuntime, agency_id: str, staff: Staff, body: AgencyPatch
) -> dict[str, Any]:
    if body.categories is not None:
        _check_categories(body.categories)

    def work(s: Session) -> dict[str, Any]:
        found = s.get(Agency, agency_id)
        if found is None:
            raise HTTPException(404, "instansi tidak ditemukan / agency not found")
        now = datetime.now(UTC)
        if body.name is not None:
            found.name = body.name
        if body.categories is not None:
            found.categories = json.dumps(body.categories)
        if body.active is not None:
            found.active = body.active
        released = 0
        if body.connected is not None and body.connected != found.connected:
            released = handlers.set_connected(s, _emit(rt, s), found, body.connected, staff.sub)
        found.updated_at, found.updated_by = now, staff.sub
        s.flush()
        return {**agency_view(found), "released": released}

    return await _write(rt, work)


@router.patch("/agencies/{agency_id}")
async def patch_agency(
    agency_id: str, body: AgencyPatch, rt: Runtime, staff: Administrator
) -> dict[str, Any]:
    """Rename, change categories, (de)activate, or connect a regional government: its
    pending reports are then released to it at once (``released`` says how many)."""
    return await do_patch_agency(rt, agency_id, staff, body)


# --- administrators: the rules and the dry run ----------------------------------------------


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str = Field(max_length=64, description="A category code, or * for any.")
    region_prefix: str = Field("", pattern=r"^(\d{2}(\.\d{2})?)?$")
    target: str = Field(max_length=80, pattern=r"^(pemda|pemprov|agency:[a-z0-9][a-z0-9.-]{1,63})$")
    unit_code: str | None = Field(None, max_length=32, pattern=r"^[a-z0-9-]+$")
    to_district: bool = False
    priority: int = Field(0, ge=-100, le=100)
    note: str = Field("", max_length=200)


@router.get("/rules")
async def get_rules(rt: Runtime, staff: Planner) -> list[dict[str, Any]]:
    """The active routing rules, the most specific first."""

    def work(s: Session) -> list[dict[str, Any]]:
        active = handlers.rules(s)
        ordered = sorted(
            active,
            key=lambda r: (r.priority, len(r.region_prefix), r.category != "*", -(r.id or 0)),
            reverse=True,
        )
        return [rule_view(r) for r in ordered]

    return await _read(rt, work)


async def do_add_rule(rt: ServiceRuntime, staff: Staff, body: RuleIn) -> dict[str, Any]:
    if body.category != "*":
        _check_categories([body.category])

    def work(s: Session) -> dict[str, Any]:
        if body.target.startswith("agency:"):
            target = s.get(Agency, body.target.split(":", 1)[1])
            if target is None or target.kind in ("unit", "kecamatan"):
                raise HTTPException(422, "instansi tujuan tidak dikenal / unknown agency")
        rule = Rule(**body.model_dump(), created_by=staff.sub, created_at=datetime.now(UTC))
        s.add(rule)
        s.flush()
        return rule_view(rule)

    return await _write(rt, work)


@router.post("/rules", status_code=201)
async def add_rule(body: RuleIn, rt: Runtime, staff: Administrator) -> dict[str, Any]:
    """Add a rule; it applies to reports routed from now on (try it with the dry run)."""
    return await do_add_rule(rt, staff, body)


async def do_delete_rule(rt: ServiceRuntime, rule_id: int) -> None:
    def work(s: Session) -> None:
        rule = s.get(Rule, rule_id)
        if rule is None or not rule.active:
            raise HTTPException(404, "aturan tidak ditemukan / rule not found")
        rule.active = False

    await _write(rt, work)


@router.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(
    rule_id: Annotated[int, FastPath(ge=1, le=2**31 - 1)], rt: Runtime, staff: Administrator
) -> None:
    """Retire a rule (kept, inactive, for the record of past routings)."""
    await do_delete_rule(rt, rule_id)


def dry_run(
    session: Session, category: str, regency_code: str, district_code: str | None
) -> dict[str, Any]:
    """Where a report would go now, and the rules considered, without routing anything."""
    active = handlers.rules(session)
    decision = domain.choose(
        active, category, regency_code, district_code, handlers.lookup(session)
    )
    return {
        "agency_id": decision.agency.id,
        "agency_name": decision.agency.name,
        "pending": decision.pending,
        "unit_id": decision.unit.id if decision.unit else None,
        "unit_name": decision.unit.name if decision.unit else None,
        "subunit_id": decision.subunit.id if decision.subunit else None,
        "subunit_name": decision.subunit.name if decision.subunit else None,
        "rule": decision.rule,
        "timezone": decision.timezone,
        "region": handlers.region_name(regency_code),
        "considered": [rule_view(r) for r in domain.applicable(active, category, regency_code)],
    }


@router.get("/routing/preview")
async def preview(
    rt: Runtime,
    staff: Planner,
    category: str = Query(max_length=64),
    regency_code: str = Query(pattern=r"^\d{2}\.\d{2}$"),
    district_code: str | None = Query(None, pattern=r"^\d{2}\.\d{2}\.\d{2}$"),
) -> dict[str, Any]:
    """Dry run: where a report of this category and place would go now."""
    if category not in CATEGORIES:
        raise HTTPException(422, f"kategori tidak dikenal / unknown category: {category}")
    return await _read(rt, lambda s: dry_run(s, category, regency_code, district_code))
