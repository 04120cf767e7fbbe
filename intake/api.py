"""Intake's HTTP API: submit a report, follow it by tracking number."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from sqlmodel import Session

from intake import domain, handlers
from intake.models import Report
from services import areas, lifecycle, localtime
from services.contracts import AttachmentRef, ReportType
from services.http import language
from services.ratelimit import client_ip
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["reports"])


class ReporterIn(BaseModel):
    """How to reach the reporter. Stays in intake; agencies never see it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32)
    email: EmailStr | None = Field(None, max_length=254)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return domain.normalise_phone(value) if value else None


class ReportIn(BaseModel):
    """A citizen's report."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(max_length=20_000, description="The story. Verification judges it.")
    category: str = Field(max_length=64)
    regency_code: str = Field(pattern=r"^[0-9]{2}\.[0-9]{2}$", description="Kemendagri code")
    district_code: str | None = Field(
        None,
        pattern=r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$",
        description="Kemendagri district (kecamatan) code inside regency_code, e.g. 32.73.01",
    )
    report_type: ReportType = Field(
        "complaint",
        description="complaint (pengaduan), aspiration (aspirasi) or information_request.",
    )
    latitude: float | None = Field(None, ge=-90, le=90, description="A map point (WGS 84).")
    longitude: float | None = Field(None, ge=-180, le=180)
    anonymous: bool = False
    confidential: bool = False
    language: Literal["id", "en"] = "id"
    reporter: ReporterIn = Field(default_factory=ReporterIn)

    @model_validator(mode="after")
    def _point(self) -> ReportIn:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("titik peta perlu lintang dan bujur / a map point needs both")
        return self

    @model_validator(mode="after")
    def _district(self) -> ReportIn:
        if self.district_code is not None and (
            not self.district_code.startswith(self.regency_code + ".")
            or areas.get(self.district_code) is None
        ):
            raise ValueError(
                "kecamatan tidak dikenal di kabupaten/kota ini / "
                "unknown district for this regency or city"
            )
        return self

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if value not in domain.CATEGORIES:
            raise ValueError("kategori tidak dikenal / unknown category")
        return value


class Submitted(BaseModel):
    """What the citizen gets back: keep the tracking number and the secret."""

    report_id: str
    tracking_number: str
    tracking_secret: str | None = Field(
        None, description="Shown once; needed to open a confidential report."
    )
    status: str
    status_label: str
    tracking_url: str


class HistoryOut(BaseModel):
    """One step of the report's life."""

    at: datetime
    at_local: str = Field(description="The time in the report's zone, written for the reader.")
    kind: str
    label: str
    detail: str


class ReportOut(BaseModel):
    """A report as its reporter follows it. No contact data, ever."""

    tracking_number: str
    status: str = Field(description="The report's state (services.lifecycle).")
    status_label: str
    status_next: str = Field(description="What happens next, for the reader.")
    open311_status: Literal["open", "closed"]
    timezone: str = Field(description="The report's zone: WIB, WITA or WIT.")
    title: str
    report_type: ReportType
    category: str
    regency_code: str
    anonymous: bool
    confidential: bool
    agency: str | None
    response_due_at: datetime | None
    response_due_local: str | None = Field(
        None, description="The agency's deadline in the report's zone, written for the reader."
    )
    submitted_at: datetime
    history: list[HistoryOut]
    attachments: list[AttachmentRef] | None = Field(
        None, description="The reporter's files: listed only with the report's secret."
    )


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


@router.post("/reports", status_code=201, response_model=Submitted)
async def submit(
    body: ReportIn,
    request: Request,
    rt: Runtime,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    """Submit a report; answers with its tracking number (201, or 200 for a repeat).

    429 with Retry-After past the per-address and per-phone limits."""
    limit(rt, request, body.reporter.phone)
    cmd = command(body, "api", idempotency_key)

    def work() -> tuple[Report, str | None, bool]:
        for attempt in range(3):
            try:
                with rt.database.session() as session:
                    return handlers.submit_report(session, rt.outbox, cmd)
            except sa.exc.IntegrityError:
                # A concurrent request with the same idempotency key (or, rarely, the
                # same random tracking number) committed first: look again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    try:
        report, secret, created = await rt.database.write(work)
    except handlers.Blocked as exc:
        raise HTTPException(403, exc.text(language(request))) from exc
    if created:
        rt.wake_relay()
    lang = language(request)
    base = rt.definition.settings.public_base_url  # type: ignore[attr-defined]
    out = Submitted(
        report_id=report.id,
        tracking_number=report.tracking_number,
        tracking_secret=secret,
        status=report.status,
        status_label=domain.label(_status_labels(), report.status, lang),
        tracking_url=f"{base}/v1/reports/{report.tracking_number}",
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


def command(
    body: ReportIn, channel: str, idempotency_key: str | None, **extra: Any
) -> handlers.NewReport:
    """The report to store, from a validated form or API body (``extra``: the web's files
    and account)."""
    return handlers.NewReport(
        title=body.title,
        body=body.body,
        category=body.category,
        regency_code=body.regency_code,
        anonymous=body.anonymous,
        confidential=body.confidential,
        channel=channel,
        language=body.language,
        name=body.reporter.name,
        phone=body.reporter.phone,
        email=str(body.reporter.email) if body.reporter.email else None,
        idempotency_key=idempotency_key,
        district_code=body.district_code,
        report_type=body.report_type,
        latitude=body.latitude,
        longitude=body.longitude,
        **extra,
    )


def limit(rt: ServiceRuntime, request: Request, phone: str | None = None) -> None:
    """The per-address (and per-phone) rate limits: 429 with Retry-After."""
    limits = rt.definition.extra["limits"]
    settings = rt.definition.settings
    limits["ip"].check(client_ip(request, settings.trusted_proxies))  # type: ignore[attr-defined]
    if phone:
        limits["phone"].check(phone)


def limit_lookup(rt: ServiceRuntime, request: Request) -> None:
    """The per-address limit on looking one report up by its number: 429 with
    Retry-After (tracking numbers are 7 digits; guessing them must be slow)."""
    settings = rt.definition.settings
    limiter = rt.definition.extra["limits"]["lookup"]
    limiter.check(client_ip(request, settings.trusted_proxies))  # type: ignore[attr-defined]


class AnswerIn(BaseModel):
    """The reporter's words on a report, proven by the secret given at submission."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    secret: str = Field(min_length=8, max_length=100)
    text: str = Field(min_length=3, max_length=5000)


class ReplyIn(AnswerIn):
    satisfied: bool | None = Field(
        None, description="Did the agency's answer solve it? true closes the report."
    )
    text: str = Field("", max_length=5000)


def own_report(session: Session, tracking_number: str, secret: str) -> Report:
    """The report, if the secret proves the caller reported it (else 404, as for a report
    that does not exist: a tracking number alone opens nothing)."""
    report = handlers.find_report(session, tracking_number) if tracking_number.isdigit() else None
    if report is None or not domain.proves(secret, report.tracking_secret_hash):
        raise HTTPException(404, "Laporan tidak ditemukan / report not found")
    return report


@router.post("/reports/{tracking_number}/information", status_code=202)
async def add_information(
    tracking_number: str, body: AnswerIn, request: Request, rt: Runtime
) -> dict[str, str]:
    """Add what the report lacked (after verification asked), or any detail: verification
    checks it again."""
    limit(rt, request)

    def work() -> dict[str, str]:
        with rt.database.session() as session:
            report = own_report(session, tracking_number, body.secret)
            if not lifecycle.state(report.status).reporter_can_add:
                raise HTTPException(409, _finished(language(request)))
            handlers.add_information(session, rt.outbox, report, body.text)
            return {"status": "accepted"}

    done = await rt.database.write(work)
    rt.wake_relay()
    return done


@router.post("/reports/{tracking_number}/replies", status_code=202)
async def reply(
    tracking_number: str, body: ReplyIn, request: Request, rt: Runtime
) -> dict[str, str]:
    """Answer the agency (tanggapan): say whether it solved the problem. "Not solved"
    re-opens the report; "solved" closes it."""
    limit(rt, request)
    if body.satisfied is None and len(body.text) < 3:
        raise HTTPException(422, "Tulis tanggapan atau pilih selesai/belum / write or choose")

    def work() -> dict[str, str]:
        with rt.database.session() as session:
            report = own_report(session, tracking_number, body.secret)
            if report.status not in lifecycle.REPLYABLE:
                raise HTTPException(409, _nothing_to_reply(language(request)))
            handlers.reply(session, rt.outbox, report, body.text, body.satisfied)
            return {"status": "accepted"}

    done = await rt.database.write(work)
    rt.wake_relay()
    return done


def _status_labels() -> dict[str, tuple[str, str]]:
    return {k: (v[1], v[2]) for k, v in domain.STATUSES.items()}


def _finished(lang: str) -> str:
    return "The report is finished." if lang == "en" else "Laporan sudah selesai."


def _nothing_to_reply(lang: str) -> str:
    if lang == "en":
        return "There is no answer from the agency to reply to yet."
    return "Belum ada tanggapan instansi untuk dibalas."


@router.get("/reports/{tracking_number}", response_model=ReportOut)
async def track(
    tracking_number: str, request: Request, rt: Runtime, secret: str | None = None
) -> ReportOut:
    """Follow a report. A confidential report needs the secret given at submission."""
    limit_lookup(rt, request)
    if not tracking_number.isdigit() or len(tracking_number) != 7:
        raise HTTPException(404, "Laporan tidak ditemukan / report not found")

    def work() -> tuple[
        Report | None, list[handlers.HistoryEntry], list[AttachmentRef], handlers.Reading | None
    ]:
        with rt.database.session() as session:
            report = handlers.find_report(session, tracking_number)
            if report is None:
                return None, [], [], None
            files = [a.ref() for a in handlers.attachments_of(session, report.id)]
            public = handlers.for_public(session, report)
            return report, handlers.history_of(session, report.id), files, public

    report, history, files, public = await rt.database.read(work)
    if report is None or (
        report.confidential and not domain.proves(secret, report.tracking_secret_hash)
    ):
        # Same answer whether it does not exist or the proof is missing: a 7-digit number
        # alone must not reveal that a confidential report exists.
        raise HTTPException(404, "Laporan tidak ditemukan / report not found")
    lang = language(request)
    state = lifecycle.state(report.status)
    zone = localtime.zone_of(report.regency_code)
    # Without the proof, the report reads as the public reads it.
    shown = (
        handlers.for_reporter(report)
        if domain.proves(secret, report.tracking_secret_hash) or public is None
        else public
    )
    return ReportOut(
        tracking_number=report.tracking_number,
        status=report.status,
        status_label=state.label(lang),
        status_next=state.next_step(lang),
        open311_status=state.open311,
        timezone=localtime.zone_label(report.regency_code),
        title=shown.title,
        report_type=report.report_type,  # type: ignore[arg-type]
        category=report.category,
        regency_code=report.regency_code,
        anonymous=report.anonymous,
        confidential=report.confidential,
        agency=report.agency_name,
        response_due_at=report.due_at.astimezone(ZoneInfo(zone)) if report.due_at else None,
        response_due_local=localtime.format_local(report.due_at, report.regency_code, lang) or None,
        submitted_at=report.submitted_at.astimezone(ZoneInfo(zone)),
        history=[
            HistoryOut(
                at=h.occurred_at.astimezone(ZoneInfo(zone)),
                at_local=localtime.format_local(h.occurred_at, report.regency_code, lang),
                kind=h.kind,
                label=domain.label(domain.HISTORY_LABELS, h.kind, lang),
                detail=shown(
                    domain.history_detail(h.kind, shown.source(h), report.regency_code, lang)
                ),
            )
            for h in history
            if domain.proves(secret, report.tracking_secret_hash)
            or not h.kind.startswith("identity_")
        ],
        attachments=files if domain.proves(secret, report.tracking_secret_hash) else None,
    )


@router.get("/categories", tags=["reference"])
def categories(request: Request) -> list[dict[str, str]]:
    """The categories a report can have."""
    lang = language(request)
    return [
        {"code": code, "name": names[1] if lang == "en" else names[0]}
        for code, names in domain.CATEGORIES.items()
    ]
