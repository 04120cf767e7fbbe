"""The reporter's files: photos, video and PDF attached to a report.

Checked by content and cleaned by the kit (`services.uploads`: magic bytes, EXIF gone,
server-made names), limited in size and number, and never public: the reporter (with the
report's secret code, or signed in) and staff who may see the report download them.
Agencies learn of them from ``report.submitted`` and ``report.information_added``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from intake import api, forms, handlers
from intake.models import Report, ReportAttachment
from intake.settings import IntakeSettings
from services import auth, uploads
from services.console import CONSOLE_COOKIES
from services.contracts import AttachmentRef
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["attachments"])
Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]
NOT_FOUND = "lampiran tidak ditemukan / attachment not found"


def settings_of(rt: ServiceRuntime) -> IntakeSettings:
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)
    return settings


def store(rt: ServiceRuntime) -> uploads.Store:
    settings = settings_of(rt)
    return uploads.Store(settings.attachments_dir or rt.kit.aduan_var_dir / "intake-attachments")


async def read_uploads(
    rt: ServiceRuntime, files: Sequence[StarletteUpload], already: int = 0
) -> list[tuple[str | None, bytes]]:
    """The non-empty files of a form, read up to one byte over the limit (422 past the
    count; the size is judged when stored)."""
    settings = settings_of(rt)
    chosen = [f for f in files if f.filename or f.size]
    if len(chosen) + already > settings.attachments_per_report:
        n = settings.attachments_per_report
        raise uploads.UploadRefused(
            f"Paling banyak {n} lampiran per laporan.", f"At most {n} files per report."
        )
    return [(f.filename, await f.read(settings.attachment_max_bytes + 1)) for f in chosen]


async def save(rt: ServiceRuntime, files: list[tuple[str | None, bytes]]) -> list[uploads.Stored]:
    """Check, clean and store each file on a worker thread (re-encoding a phone photo
    takes half a second: never on the event loop); on any refusal none is kept."""
    if not files:
        return []
    target = store(rt)
    limit = settings_of(rt).attachment_max_bytes

    def work() -> list[uploads.Stored]:
        stored: list[uploads.Stored] = []
        try:
            for name, data in files:
                stored.append(target.save(data, name, limit))
        except uploads.UploadRefused:
            target.discard(stored)
            raise
        return stored

    return await asyncio.to_thread(work)


def download(rt: ServiceRuntime, found: ReportAttachment) -> Response:
    return store(rt).response(found.storage_name, found.media_type, found.filename)


def refused(exc: uploads.UploadRefused, lang: str) -> HTTPException:
    return HTTPException(422, exc.en_text if lang == "en" else exc.id_text)


@router.post("/reports/{tracking_number}/attachments", status_code=201)
async def add_files(
    tracking_number: str,
    request: Request,
    rt: Runtime,
    secret: Annotated[str, Form(min_length=8, max_length=100)],
    files: Annotated[list[UploadFile], File(description="Photos, PDF or video")],
    text: Annotated[str, Form(max_length=5000)] = "",
) -> list[AttachmentRef]:
    """Attach files to one's report (with the secret given at submission). Agencies see
    them with the information added; 422 with the reason for a refused file."""
    api.limit(rt, request)

    def check() -> int:
        with rt.database.session() as session:
            report = api.own_report(session, tracking_number, secret)
            if report.status in ("rejected", "closed", "escalated"):
                raise HTTPException(409, "Laporan sudah selesai / the report is finished")
            return handlers.attachment_count(session, report.id)

    already = await rt.database.read(check)
    try:
        stored = await save(rt, await read_uploads(rt, files, already))
    except uploads.UploadRefused as exc:
        raise refused(exc, api.language(request)) from exc
    if not stored:
        raise HTTPException(422, "Pilih berkas / choose a file")

    def work() -> list[AttachmentRef]:
        with rt.database.session() as session:
            report = api.own_report(session, tracking_number, secret)
            if (
                handlers.attachment_count(session, report.id) + len(stored)
                > settings_of(rt).attachments_per_report
            ):
                raise HTTPException(422, "Terlalu banyak lampiran / too many files")
            return handlers.add_information(session, rt.outbox, report, text, tuple(stored))

    try:
        refs = await rt.database.write(work)
    except BaseException:
        store(rt).discard(stored)
        raise
    rt.wake_relay()
    return refs


@router.get("/reports/{tracking_number}/attachments/{attachment_id}")
async def reporter_file(
    tracking_number: str, attachment_id: str, rt: Runtime, secret: str = ""
) -> Response:
    """One of the reporter's own files, with the report's secret."""

    def work() -> ReportAttachment:
        with rt.database.session() as session:
            report = api.own_report(session, tracking_number, secret)
            found = session.get(ReportAttachment, attachment_id)
            if found is None or found.report_id != report.id:
                raise HTTPException(404, NOT_FOUND)
            return found

    return download(rt, await rt.database.read(work))


# A bearer token, or the consoles' sign-in cookie: the consoles link here.
StaffMember = Annotated[auth.Staff, Depends(auth.require_staff(cookie=CONSOLE_COOKIES))]


def may_see(staff: auth.Staff, report: Report, attachment_id: str | None = None) -> bool:
    """Verifiers and administrators see every report; a monitor too, and an officer the
    reports routed to their agency, unit or kecamatan, but never a file a verifier
    withheld."""
    if staff.role in (auth.Role.administrator, auth.Role.verifier):
        return True
    if attachment_id is not None and attachment_id in json.loads(report.withheld):
        return False
    if staff.role is auth.Role.monitor:  # reads across agencies, never a withheld file
        return True
    return bool(staff.agency_id) and staff.agency_id in report.agency_ids.split()


@router.get("/staff/reports/{report_id}/attachments/{attachment_id}")
async def staff_file(
    report_id: str, attachment_id: str, rt: Runtime, staff: StaffMember
) -> Response:
    """A reporter's file, for staff who may see the report (a bearer token, or the
    consoles' sign-in); 404 for a report outside an officer's agency."""

    def work() -> ReportAttachment:
        with rt.database.session() as session:
            report = session.get(Report, report_id)
            found = session.get(ReportAttachment, attachment_id)
            if (
                report is None
                or found is None
                or found.report_id != report.id
                or not may_see(staff, report, attachment_id)
            ):
                raise HTTPException(404, NOT_FOUND)
            return found

    return download(rt, await rt.database.read(work))


Administrator = Annotated[
    auth.Staff, Depends(auth.require_staff(auth.Role.administrator, cookie=CONSOLE_COOKIES))
]


@router.get("/staff/reports/{report_id}/original", tags=["staff"])
async def original(report_id: str, rt: Runtime, staff: Administrator) -> dict[str, object]:
    """The reporter's own words, for administrators only: the title and story as the
    citizen wrote them, what they added, beside what everyone else reads (a verifier's
    redaction and the masking), and the files withheld. Never the reporter's contact."""

    def work() -> dict[str, object]:
        with rt.database.session() as session:
            report = session.get(Report, report_id)
            if report is None:
                raise HTTPException(404, "laporan tidak ditemukan / report not found")
            public = handlers.for_public(session, report)
            added = [
                h.detail
                for h in handlers.history_of(session, report.id)
                if h.kind == "information_added"
            ]
            return {
                "report_id": report.id,
                "tracking_number": report.tracking_number,
                "title": report.title,
                "story": report.body,
                "added": added,
                "public_title": public.title,
                "public_story": public.story,
                "withheld": json.loads(report.withheld),
                "anonymous": report.anonymous,
                "confidential": report.confidential,
            }

    return await rt.database.read(work)


# --- files kept while the form comes back ------------------------------------------------
# A report form that comes back (the Anonim warning, a field to fix) keeps the files the
# citizen chose: they are cleaned and held on the server, and the form carries a signed
# list of them, bound to this browser's form cookie. The next post takes them from there;
# held files nobody came back for are removed after a day.

HELD_HOURS = 24


def held_store(rt: ServiceRuntime) -> uploads.Store:
    return uploads.Store(store(rt).root / "held")


def _held_mac(request: Request, payload: str) -> str:
    bound = request.cookies.get(forms.COOKIE, "")
    mac = hmac.new(forms.key(), f"held:{bound}:{payload}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def seal_held(request: Request, held: Sequence[uploads.Stored]) -> str:
    """The hidden field that carries held files to the next post ("" for none)."""
    if not held:
        return ""
    rows = [[f.storage_name, f.media_type, f.size, f.filename] for f in held]
    payload = base64.urlsafe_b64encode(json.dumps(rows).encode()).decode()
    return f"{payload}.{_held_mac(request, payload)}"


def unseal_held(rt: ServiceRuntime, request: Request, sealed: str) -> list[uploads.Stored]:
    """The held files a form names, if its seal is this browser's and they are still
    there; anything else is ignored (the citizen is shown what is attached)."""
    payload, _, mac = sealed.partition(".")
    if not payload or not hmac.compare_digest(mac, _held_mac(request, payload)):
        return []
    try:
        rows = json.loads(base64.urlsafe_b64decode(payload.encode()))
        found = [uploads.Stored(str(a), str(b), int(c), str(d)) for a, b, c, d in rows]
    except (ValueError, TypeError):
        return []
    target = held_store(rt)
    kept = []
    for f in found[: settings_of(rt).attachments_per_report]:
        try:
            if target.path(f.storage_name).exists():
                kept.append(f)
        except FileNotFoundError:
            continue
    return kept


async def hold(rt: ServiceRuntime, files: list[tuple[str | None, bytes]]) -> list[uploads.Stored]:
    """Clean and keep a returning form's new files (refused ones are not kept) and sweep
    what was held longer than a day."""
    target = held_store(rt)
    limit = settings_of(rt).attachment_max_bytes

    def work() -> list[uploads.Stored]:
        kept = []
        for name, data in files:
            try:
                kept.append(target.save(data, name, limit))
            except uploads.UploadRefused:
                continue
        cutoff = time.time() - HELD_HOURS * 3600
        for old in target.root.glob("*"):
            if old.is_file() and old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
        return kept

    return await asyncio.to_thread(work)


def take_held(rt: ServiceRuntime, held: Sequence[uploads.Stored]) -> list[uploads.Stored]:
    """Move held files into the store, for the report that now takes them."""
    source, target = held_store(rt), store(rt)
    moved = []
    for f in held:
        with contextlib.suppress(FileNotFoundError):
            os.replace(source.path(f.storage_name), target.path(f.storage_name))
            moved.append(f)
    return moved
