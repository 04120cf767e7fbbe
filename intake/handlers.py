"""Intake's handlers: one function per command or event; HANDLERS at the end."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from intake import domain
from intake.models import (
    Account,
    BlockedSender,
    HistoryEntry,
    Report,
    ReportAttachment,
    Reporter,
    SmsOptOut,
)
from intake.settings import IntakeSettings
from services import auth, lifecycle, masking, sealing, uploads
from services.bus import Handler, HandlerContext, Outbox, concerning, ignore
from services.contracts import (
    AttachmentRef,
    DeadlineOpened,
    DeadlineUpdated,
    GeoPoint,
    NotificationSent,
    ReportClosed,
    ReporterCodeRequested,
    ReporterContactRecorded,
    ReportEscalated,
    ReportFollowupPosted,
    ReportForwarded,
    ReportInformationAdded,
    ReportInformationRequested,
    ReportPendingRegion,
    ReportRejected,
    ReportReopened,
    ReportReporterReplied,
    ReportResolved,
    ReportReturned,
    ReportRouted,
    ReportSubmitted,
    ReportVerified,
    SlaBreached,
)
from services.metrics import after_commit
from services.settings import KitSettings

log = logging.getLogger(__name__)

SUBMITTED = Counter("aduan_reports_submitted_total", "Reports received, by channel.", ["channel"])
STAGE_SECONDS = Histogram(
    "aduan_report_stage_seconds",
    "Time from a report's submission to the moment it reached a stage (verified, "
    "rejected, routed, closed, escalated): the platform's end-to-end latency.",
    ["stage"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400),
)
REPORTS = Gauge("aduan_reports", "Reports held by intake, by current status.", ["status"])


@dataclass(frozen=True)
class NewReport:
    """A validated report from any channel."""

    title: str
    body: str
    category: str
    regency_code: str
    anonymous: bool
    confidential: bool
    channel: str
    language: str
    name: str | None
    phone: str | None
    email: str | None
    idempotency_key: str | None
    district_code: str | None = None
    report_type: str = "complaint"
    latitude: float | None = None
    longitude: float | None = None
    files: tuple[uploads.Stored, ...] = ()
    account_id: str | None = None
    account_reporter_ref: str | None = None


class Blocked(Exception):
    """The sender is on the administrators' blocked list."""

    ID = "Pengirim ini diblokir administrator karena penyalahgunaan; laporan tidak diterima."
    EN = "This sender was blocked by an administrator for abuse; the report is not accepted."

    def text(self, lang: str) -> str:
        return self.EN if lang == "en" else self.ID


def blocked(session: Session, phone: str | None, email: str | None) -> bool:
    """Whether this phone or email is on the blocked list."""
    values = [v for v in (phone, (email or "").lower() or None) if v]
    if not values:
        return False
    return session.connection().execute(_BLOCKED, {"values": values}).first() is not None


_BLOCKED_SENDERS: sa.Table = BlockedSender.__table__  # type: ignore[attr-defined]
_BLOCKED = sa.select(_BLOCKED_SENDERS.c.id).where(
    _BLOCKED_SENDERS.c.value.in_(sa.bindparam("values", expanding=True))
)


def submit_report(
    session: Session, outbox: Outbox, cmd: NewReport
) -> tuple[Report, str | None, bool]:
    """Store a report and its reporter, emit report.submitted and the private contact.

    Returns the report, its tracking secret (None for a repeat) and whether it is new:
    a repeated idempotency key answers with the report it created the first time.
    """
    # Core statements built once, on the session's connection: the ORM's unit of work
    # cost more than the rest of a POST (py-spy of intake under load, issue 18).
    conn = session.connection()
    if cmd.idempotency_key:
        existing_id = conn.execute(_REPORT_BY_KEY, {"key": cmd.idempotency_key}).scalar()
        if existing_id is not None:
            existing = session.get(Report, existing_id)
            assert existing is not None  # found by its key in this transaction
            return existing, None, False
    now = datetime.now(UTC)
    account_reporter = (
        session.get(Reporter, cmd.account_reporter_ref) if cmd.account_reporter_ref else None
    )
    if blocked(session, cmd.phone, cmd.email) or (
        account_reporter is not None
        and blocked(session, account_reporter.phone, account_reporter.email)
    ):
        raise Blocked()
    # A contact links a report to a reporter already known only when it is proven: the
    # account the citizen signed in to, or the phone an SMS came from. A typed phone or
    # email proves nothing, so it makes a reporter of its own, and a new report never
    # changes a known reporter's name or contact (else anyone could take over a
    # citizen's notices by typing their email beside another phone).
    reporter = account_reporter or (
        _proven_phone(session, cmd.phone) if cmd.channel == "sms" else None
    )
    if reporter is None:
        reporter = Reporter(
            ref=uuid.uuid4().hex,
            name=cmd.name,
            phone=cmd.phone,
            email=cmd.email,
            language=cmd.language,
            phone_proven=cmd.channel == "sms" and cmd.phone is not None,
            created_at=now,
        )
        _insert_persistent(session, reporter)
    secret = domain.new_tracking_secret()
    tracking = _unused_tracking_number(session)
    report = Report(
        id=str(uuid.uuid4()),
        tracking_number=tracking,
        tracking_secret_hash=domain.hash_secret(secret),
        title=cmd.title,
        body=cmd.body,
        category=cmd.category,
        regency_code=cmd.regency_code,
        district_code=cmd.district_code,
        report_type=cmd.report_type,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        account_id=cmd.account_id,
        reporter_ref=reporter.ref,
        anonymous=cmd.anonymous,
        confidential=cmd.confidential,
        channel=cmd.channel,
        language=cmd.language,
        status="submitted",
        status_rank=1,
        idempotency_key=cmd.idempotency_key,
        submitted_at=now,
        updated_at=now,
    )
    # The public texts are set before the row is written, so that the search index is
    # written once (an UPDATE of them rewrites the report's full-text entry).
    publish_texts(session, report)
    _insert_persistent(session, report)
    refs = attach(session, report, cmd.files, now)
    location = (
        GeoPoint(lat=cmd.latitude, long=cmd.longitude)
        if cmd.latitude is not None and cmd.longitude is not None
        else None
    )
    event = outbox.emit(
        session,
        sealing.seal_submitted(
            ReportSubmitted(
                report_id=report.id,
                tracking_number=tracking,
                title=outgoing(session, report, report.title)[:200],
                body=outgoing(session, report, report.body)[:20_000],
                anonymous_title=(if_anonymous(session, report, report.title) or "")[:200] or None,
                anonymous_body=(if_anonymous(session, report, report.body) or "")[:20_000] or None,
                category=report.category,
                regency_code=report.regency_code,
                district_code=report.district_code,
                reporter_ref=reporter.ref,
                anonymous=report.anonymous,
                confidential=report.confidential,
                channel=report.channel,  # type: ignore[arg-type]
                sender_ref=sender_ref(outbox.kit, reporter.phone or reporter.email),
                language=report.language,  # type: ignore[arg-type]
                submitted_at=now,
                report_type=report.report_type,  # type: ignore[arg-type]
                location=location,
                attachments=refs,
            )
        ),
        subject=report.id,
    )
    # Contact data goes only to the private topic, keyed by the reporter reference.
    _publish_contact(session, outbox, reporter)
    conn.execute(
        _INSERT_HISTORY,
        {
            "report_id": report.id,
            "event_id": event.id,
            "kind": "submitted",
            "detail": "",
            "occurred_at": now,
            "attachments": "[]",
        },
    )
    after_commit(session, SUBMITTED.labels(report.channel).inc)
    log.info("report submitted via %s", report.channel, extra={"report_id": report.id})
    return report, secret, True


def _insert_persistent(session: Session, row: Report | Reporter) -> None:
    """Write a new row with one Core INSERT and keep the object in the session as if
    loaded (no unit-of-work flush; ``session.get`` finds it without a query)."""
    table: sa.Table = type(row).__table__  # type: ignore[union-attr]
    session.connection().execute(table.insert(), row.model_dump())
    make_transient_to_detached(row)
    session.add(row)


_REPORT_BY_KEY = sa.select(Report.__table__.c.id).where(  # type: ignore[attr-defined]
    Report.__table__.c.idempotency_key == sa.bindparam("key")  # type: ignore[attr-defined]
)
_TRACKED = sa.select(Report.__table__.c.id).where(  # type: ignore[attr-defined]
    Report.__table__.c.tracking_number == sa.bindparam("number")  # type: ignore[attr-defined]
)
_OPTED_OUT = sa.select(SmsOptOut.__table__.c.phone).where(  # type: ignore[attr-defined]
    SmsOptOut.__table__.c.phone == sa.bindparam("phone")  # type: ignore[attr-defined]
)


def identity_of(session: Session, report: Report) -> re.Pattern[str] | None:
    """What names a report's reporter (name parts, phone, email, account name)."""
    reporter = session.get(Reporter, report.reporter_ref)
    account = session.get(Account, report.account_id) if report.account_id else None
    return masking.identity_pattern(
        reporter.name if reporter else None,
        reporter.phone if reporter else None,
        reporter.email if reporter else None,
        [account.username] if account else [],
    )


def if_anonymous(session: Session, report: Report, text: str) -> str | None:
    """A named report's text as it would leave intake were the report Anonim (a verifier
    may make it so): None when it is Anonim already, or when masking changes nothing."""
    if report.anonymous or not text:
        return None
    masked = masking.mask_identity(text, identity_of(session, report))
    return masked if masked != text else None


def outgoing(session: Session, report: Report, text: str) -> str:
    """A reporter's words as they leave intake: an Anonim reporter's own identity masked
    (the reporter keeps their own words on their own page)."""
    return masking.mask_identity(text, identity_of(session, report)) if report.anonymous else text


@dataclass(frozen=True)
class Reading:
    """How one reader reads a report: its title and story, and how any other text of it
    (a history line) is masked for them."""

    title: str
    story: str
    mask: Callable[[str], str]
    # Everyone but the reporter: a history line a verifier covered reads as covered.
    public: bool = True

    def __call__(self, text: str) -> str:
        return self.mask(text)

    def source(self, entry: HistoryEntry) -> str:
        """The stored text of a history line as this reader reads it, before masking."""
        if self.public and entry.public_detail is not None:
            return entry.public_detail
        return entry.detail


def for_public(session: Session, report: Report) -> Reading:
    """How the public (and anyone who has not proven the report) reads it: a verifier's
    redaction, an Anonim reporter's identity masked, and any phone, email or NIK masked
    in every report."""
    pattern = identity_of(session, report) if report.anonymous else None

    def mask(text: str) -> str:
        return masking.mask_contacts(masking.mask_identity(text, pattern))

    title = report.public_title if report.public_title is not None else report.title
    story = report.public_body if report.public_body is not None else report.body
    return Reading(mask(title), mask(story), mask)


def for_reporter(report: Report) -> Reading:
    """How the reporter reads their own report: their own words."""
    return Reading(report.title, report.body, str, public=False)


def publish_texts(
    session: Session, report: Report, title: str | None = None, story: str | None = None
) -> None:
    """Store the title and story as the public reads them (search looks there): from the
    verifier's redaction when given, else from what is public now."""
    report.public_title = title if title is not None else report.public_title
    report.public_body = story if story is not None else report.public_body
    public = for_public(session, report)
    report.public_title, report.public_body = public.title[:200], public.story


def attachment_count(session: Session, report_id: str) -> int:
    """How many files a report has."""
    return session.exec(
        select(sa.func.count())
        .select_from(ReportAttachment)
        .where(ReportAttachment.report_id == report_id)
    ).one()


def attachments_of(session: Session, report_id: str) -> list[ReportAttachment]:
    """A report's files, in the order they came."""
    return list(
        session.exec(
            select(ReportAttachment)
            .where(ReportAttachment.report_id == report_id)
            .order_by(ReportAttachment.uploaded_at, ReportAttachment.filename)  # type: ignore[arg-type]
        ).all()
    )


def attach(
    session: Session, report: Report, files: tuple[uploads.Stored, ...], at: datetime
) -> list[AttachmentRef]:
    """Record the reporter's stored files; their references for the event. Shown as
    ``lampiran-N.ext``: the citizen's own file name may carry their name."""
    if not files:
        return []
    taken = attachment_count(session, report.id)
    rows = [
        ReportAttachment(
            id=f.attachment_id,
            report_id=report.id,
            filename=f"lampiran-{n}.{uploads.KINDS[f.media_type]}",
            media_type=f.media_type,
            size=f.size,
            storage_name=f.storage_name,
            uploaded_at=at,
        )
        for n, f in enumerate(files, start=taken + 1)
    ]
    session.add_all(rows)
    return [row.ref() for row in rows]


@lru_cache(maxsize=4)
def _sender_key(var_dir: Path) -> bytes:
    configured = IntakeSettings().sender_key
    if configured is not None:
        return configured.get_secret_value().encode()
    return auth.load_or_create_secret(var_dir / "intake-sender-key").encode()


def sender_ref(kit: KitSettings, contact: str | None) -> str | None:
    """A keyed hash of the contact a report came with, the same for the same phone (else
    email): verification tells one sender's repeated, flooding or blocked reports apart
    without learning who it is, and without the contact proving anything. The key is
    intake's alone (``INTAKE_SENDER_KEY``)."""
    if not contact:
        return None
    key = _sender_key(kit.aduan_var_dir)
    return hmac.new(key, b"sender:" + contact.lower().encode(), hashlib.sha256).hexdigest()[:40]


def _proven_phone(session: Session, phone: str | None) -> Reporter | None:
    """The reporter whose phone an earlier SMS proved, if any."""
    if not phone:
        return None
    return session.exec(
        select(Reporter).where(Reporter.phone == phone, Reporter.phone_proven.is_(True))  # type: ignore[attr-defined]
    ).first()


def _unused_tracking_number(session: Session) -> str:
    for _ in range(20):
        candidate = domain.new_tracking_number()
        taken = session.connection().execute(_TRACKED, {"number": candidate}).first()
        if taken is None:
            return candidate
    raise RuntimeError("no free tracking number after 20 draws")


def _advance(
    ctx: HandlerContext,
    report_id: str,
    kind: str,
    occurred_at: datetime,
    detail: str = "",
    _attachments: list[AttachmentRef] | None = None,
    **changes: Any,
) -> None:
    """Record a history entry and fold the report's state again (services.lifecycle).

    Core statements, no ORM load: intake applies five of these per report.
    """
    # On the session's connection, with statements built once: no flush, no ORM.
    conn = ctx.session.connection()
    # The columns to set are the parameters' names (the changes vary by event).
    result = conn.execute(
        _UPDATE_REPORT, {"report_id_": report_id, "updated_at": datetime.now(UTC), **changes}
    )
    if not result.rowcount:
        # An event about a report this intake does not hold: a contract breach.
        raise LookupError("unknown report")
    conn.execute(
        _INSERT_HISTORY,
        {
            "report_id": report_id,
            "event_id": ctx.event.id,
            "kind": kind,
            "detail": detail[:5000],
            "occurred_at": occurred_at,
            "attachments": json.dumps([a.model_dump() for a in _attachments or []]),
        },
    )
    if domain.step_of(kind) is not None:
        refold(ctx.session, report_id, ctx.event.id)


_REPORTS: sa.Table = Report.__table__  # type: ignore[attr-defined]
_HISTORY: sa.Table = HistoryEntry.__table__  # type: ignore[attr-defined]
_UPDATE_REPORT = _REPORTS.update().where(_REPORTS.c.id == sa.bindparam("report_id_"))
_INSERT_HISTORY = _HISTORY.insert()
_FACTS_OF = sa.select(_HISTORY.c.event_id, _HISTORY.c.kind, _HISTORY.c.occurred_at).where(
    _HISTORY.c.report_id == sa.bindparam("report_id")
)
_MOVE = (
    _REPORTS.update()
    .where(_REPORTS.c.id == sa.bindparam("report_id_"), _REPORTS.c.status != sa.bindparam("to"))
    .values(status=sa.bindparam("to"), status_rank=sa.bindparam("rank"))
    .returning(_REPORTS.c.submitted_at)
)


def refold(session: Session, report_id: str, event_id: str) -> str | None:
    """The report's state from all its lifecycle facts, in any order they came: stored on
    the report. A step the lifecycle refuses is logged and changes nothing."""
    conn = session.connection()
    rows = conn.execute(_FACTS_OF, {"report_id": report_id}).all()
    folded = lifecycle.fold_rows(rows, domain.step_of, report_id, event_id)
    if folded.state is None:
        return None
    moved = conn.execute(
        _MOVE, {"report_id_": report_id, "to": folded.state, "rank": len(folded.applied)}
    ).first()
    if moved is not None and folded.since is not None:
        stage, since = folded.state, folded.since
        submitted_at = moved[0] if moved[0].tzinfo else moved[0].replace(tzinfo=UTC)
        took = max((since - submitted_at).total_seconds(), 0.0)
        after_commit(session, lambda: STAGE_SECONDS.labels(stage).observe(took))
    return folded.state


def on_verified(ctx: HandlerContext, event: ReportVerified) -> None:
    """The report passed verification; a verifier may have made it Anonim or Rahasia to
    protect the reporter (never the other way round here: only the citizen loosens)."""
    protect: dict[str, Any] = {
        flag: True for flag in ("anonymous", "confidential") if getattr(event, flag) is True
    }
    redaction = event.redaction
    if redaction is not None and redaction.withheld:
        protect["withheld"] = json.dumps(redaction.withheld)
    _advance(ctx, event.report_id, "verified", event.verified_at, event.reason, **protect)
    if redaction is not None or protect.get("anonymous"):
        # What the public reads changes: the redaction, or the reporter now Anonim.
        report = ctx.session.get(Report, event.report_id)
        assert report is not None  # _advance found it
        ctx.session.refresh(report)
        publish_texts(
            ctx.session,
            report,
            redaction.title if redaction else None,
            redaction.story if redaction else None,
        )
    if redaction is not None and redaction.additions:
        # What the reporter added before the verification, as the verifier left it: the
        # n-th covered addition is the n-th added (intake wrote them all before).
        added = ctx.session.exec(
            select(HistoryEntry)
            .where(
                HistoryEntry.report_id == event.report_id,
                HistoryEntry.kind == "information_added",
            )
            .order_by(HistoryEntry.occurred_at, HistoryEntry.id)  # type: ignore[arg-type]
        ).all()
        for entry, covered in zip(added, redaction.additions, strict=False):
            entry.public_detail = covered[:5000]
            ctx.session.add(entry)


def on_rejected(ctx: HandlerContext, event: ReportRejected) -> None:
    """The report was not accepted; the reason is shown to the citizen."""
    _advance(ctx, event.report_id, "rejected", event.rejected_at, event.reason)


def on_routed(ctx: HandlerContext, event: ReportRouted) -> None:
    """The report went to an agency."""
    _advance(
        ctx,
        event.report_id,
        "routed",
        event.routed_at,
        event.agency_name,
        agency_name=event.agency_name,
        agency_ids=" ".join(a for a in (event.agency_id, event.unit_id, event.subunit_id) if a)[
            :400
        ],
    )


def _publish_contact(session: Session, outbox: Outbox, reporter: Reporter) -> None:
    """The reporter's contact, on the private topic only, keyed by the reference."""
    stopped = (
        reporter.phone is not None
        and session.connection().execute(_OPTED_OUT, {"phone": reporter.phone}).first() is not None
    )
    outbox.emit(
        session,
        ReporterContactRecorded(
            reporter_ref=reporter.ref,
            phone=reporter.phone,
            email=reporter.email,
            language=reporter.language,  # type: ignore[arg-type]
            sms_notices=not stopped,
        ),
        subject=None,
        key=reporter.ref,
    )


def set_sms_notices(session: Session, outbox: Outbox, phone: str, on: bool) -> None:
    """STOP (``on`` False) or MULAI from a phone: its notices by SMS stop or start again,
    for every reporter with that phone (the SMS itself proves the phone)."""
    row = session.get(SmsOptOut, phone)
    if on and row is not None:
        session.delete(row)
    elif not on and row is None:
        session.add(SmsOptOut(phone=phone, since=datetime.now(UTC)))
    session.flush()
    for reporter in session.exec(select(Reporter).where(Reporter.phone == phone)):
        _publish_contact(session, outbox, reporter)


def reported_by(session: Session, report: Report, phone: str) -> bool:
    """Whether this phone number is the report's reporter's."""
    reporter = session.get(Reporter, report.reporter_ref)
    return reporter is not None and reporter.phone == phone


def add_information(
    session: Session,
    outbox: Outbox,
    report: Report,
    text: str,
    files: tuple[uploads.Stored, ...] = (),
) -> list[AttachmentRef]:
    """The reporter adds to the report: verification checks it again, routing shows it.
    Files alone are announced by their names. Returns the files' references."""
    now = datetime.now(UTC)
    refs = attach(session, report, files, now)
    text = text or "Lampiran ditambahkan: " + ", ".join(r.filename for r in refs)
    event = outbox.emit(
        session,
        sealing.seal_added(
            ReportInformationAdded(
                report_id=report.id,
                text=outgoing(session, report, text)[:20_000],
                added_at=now,
                attachments=refs,
                anonymous_text=(if_anonymous(session, report, text) or "")[:20_000] or None,
            )
        ),
        report.id,
    )
    _remember(session, report, event.id, "information_added", text, now)
    return refs


def reply(
    session: Session, outbox: Outbox, report: Report, text: str, satisfied: bool | None
) -> None:
    """The reporter answers the agency (tanggapan)."""
    now = datetime.now(UTC)
    event = outbox.emit(
        session,
        ReportReporterReplied(
            report_id=report.id,
            reply_id=uuid.uuid4().hex,
            satisfied=satisfied,
            text=outgoing(session, report, text)[:5000],
            replied_at=now,
        ),
        report.id,
    )
    _remember(session, report, event.id, "reply", text, now)


# How many times one report's code may be sent (a mistyped contact cannot be flooded).
CODE_SENDS = 3


class TooMany(Exception):
    """The report's code was sent as often as it may be."""


def send_code(session: Session, outbox: Outbox, report: Report, code: str, via: str) -> None:
    """Ask notifications to send the report's secret code to the reporter's own phone or
    email (never to an address given now); recorded on the reporter's history."""
    h = HistoryEntry.__table__.c  # type: ignore[attr-defined]
    sent = session.execute(
        sa.select(sa.func.count())
        .select_from(HistoryEntry.__table__)  # type: ignore[attr-defined]
        .where(h.report_id == report.id, h.kind.in_(("code_sms", "code_email")))
    ).scalar_one()
    if sent >= CODE_SENDS:
        raise TooMany
    now = datetime.now(UTC)
    event = outbox.emit(
        session,
        ReporterCodeRequested(report_id=report.id, code=code, via=via, requested_at=now),  # type: ignore[arg-type]
        report.id,
    )
    _remember(session, report, event.id, f"code_{via}", "", now)


def _remember(
    session: Session, report: Report, event_id: str, kind: str, detail: str, at: datetime
) -> None:
    session.add(
        HistoryEntry(
            report_id=report.id, event_id=event_id, kind=kind, detail=detail[:5000], occurred_at=at
        )
    )
    report.updated_at = at
    session.add(report)
    if domain.step_of(kind) is not None:
        session.flush()
        state = refold(session, report.id, event_id)
        if state is not None:
            report.status = state


def on_pending_region(ctx: HandlerContext, event: ReportPendingRegion) -> None:
    """The regional government in charge has not joined: the report waits for it."""
    _advance(
        ctx,
        event.report_id,
        "pending",
        event.pending_at,
        event.pemda_name,
        agency_name=event.pemda_name,
    )


def on_forwarded(ctx: HandlerContext, event: ReportForwarded) -> None:
    """Passed on inside the agency, or to another agency: the citizen sees where."""
    changes: dict[str, Any] = {"agency_ids": event.to_agency_id}
    if event.within_agency:
        held = ctx.session.get(Report, event.report_id)
        ids = (held.agency_ids.split() if held else []) + [event.to_agency_id]
        changes = {"agency_ids": " ".join(dict.fromkeys(ids))[:400]}
    else:
        changes["agency_name"] = event.to_agency_name
    kind = "forwarded" if event.within_agency else "transferred"
    _advance(ctx, event.report_id, kind, event.forwarded_at, event.to_agency_name, **changes)


def on_followup_posted(ctx: HandlerContext, event: ReportFollowupPosted) -> None:
    """The agency's answer (or its question) is shown on the tracking page, with the
    references of its files (routing serves them to the proven reporter)."""
    _advance(
        ctx,
        event.report_id,
        event.kind,
        event.posted_at,
        event.text,
        _attachments=event.attachments,
    )


def on_resolved(ctx: HandlerContext, event: ReportResolved) -> None:
    _advance(ctx, event.report_id, "resolved", event.resolved_at, event.summary)


def on_information_requested(ctx: HandlerContext, event: ReportInformationRequested) -> None:
    """Verification asks the reporter for what is missing: the page says what, in the
    reader's language (the elements are kept as codes)."""
    _advance(
        ctx,
        event.report_id,
        "information_requested",
        event.requested_at,
        " ".join(event.missing),
    )


def on_returned(ctx: HandlerContext, event: ReportReturned) -> None:
    """The agency says it is not theirs: the verifiers look for the right one."""
    _advance(ctx, event.report_id, "returned", event.returned_at, event.reason)


def on_reopened(ctx: HandlerContext, event: ReportReopened) -> None:
    """The reporter said "not solved": the agency must act again."""
    _advance(ctx, event.report_id, "reopened", event.reopened_at)


# The SLA's clocks intake keeps on the report, beside the agency's (due_at).
_CITIZENS_CLOCKS = {"verification": "verification_due_at", "reporter_reply": "reply_due_at"}


def _set_clock(ctx: HandlerContext, report_id: str, column: str, due: datetime | None) -> None:
    # On the connection, with the statement built once (its SET is the parameters'
    # names): no flush, no ORM.
    ctx.session.connection().execute(_UPDATE_REPORT, {"report_id_": report_id, column: due})


@concerning(lambda e: e.clock in _CITIZENS_CLOCKS or e.clock == "first_response")
def on_deadline_opened(ctx: HandlerContext, event: DeadlineOpened) -> None:
    """A clock started. The agency's first response is shown in the history and as the
    agency's deadline; a verifier's check and the reporter's own answer say by when on
    the tracking page (resolution's 60 days are the SLA's to watch)."""
    if event.clock in _CITIZENS_CLOCKS:
        _set_clock(ctx, event.report_id, _CITIZENS_CLOCKS[event.clock], event.due_at)
        return
    _advance(
        ctx,
        event.report_id,
        "deadline",
        event.starts_at,
        domain.deadline_detail(event.due_at, event.working_days),
        due_at=event.due_at,
    )


@concerning(
    lambda e: (
        e.clock in _CITIZENS_CLOCKS
        or (e.clock == "first_response" and e.status not in ("stopped", "cancelled"))
    )
)
def on_deadline_updated(ctx: HandlerContext, event: DeadlineUpdated) -> None:
    """A clock moved (a forward, a calendar change), paused or ended."""
    if event.clock in _CITIZENS_CLOCKS:
        running = event.status == "open"
        column = _CITIZENS_CLOCKS[event.clock]
        _set_clock(ctx, event.report_id, column, event.due_at if running else None)
        return
    _set_clock(ctx, event.report_id, "due_at", event.due_at)


@concerning(lambda e: e.clock == "first_response")
def on_breached(ctx: HandlerContext, event: SlaBreached) -> None:
    """The agency missed its deadline: the citizen sees it in the history."""
    _advance(ctx, event.report_id, "overdue", event.breached_at, event.agency_id or "")


def on_closed(ctx: HandlerContext, event: ReportClosed) -> None:
    """The report is closed (accepted, or no reply in time)."""
    _advance(ctx, event.report_id, "closed", event.closed_at, event.reason)


def on_escalated(ctx: HandlerContext, event: ReportEscalated) -> None:
    """Unresolved for too long: the citizen is offered the Ombudsman."""
    _advance(ctx, event.report_id, "escalated", event.escalated_at, event.ombudsman_url)


@concerning(lambda e: e.channel == "in_app" and e.audience == "reporter")
def on_notification_sent(ctx: HandlerContext, event: NotificationSent) -> None:
    """A notice for the reporter: its text goes on the tracking page (the in_app copy;
    the SMS or email that repeats it is notifications' business)."""
    _advance(ctx, event.report_id, "notification", event.sent_at, (event.text or "")[:500])


def agency_files(
    history: list[HistoryEntry], secret: str | None, routing_url: str, report_id: str
) -> dict[int, list[dict[str, Any]]]:
    """The agency's files per history entry, each with a download link to routing that
    carries a short-lived grant (for a reporter who proved the report)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for h in history:
        refs = json.loads(h.attachments or "[]")
        if not refs or h.id is None:
            continue
        out[h.id] = [
            {
                **ref,
                "url": f"{routing_url}/v1/reporter-files/{report_id}/{ref['attachment_id']}"
                f"?grant={auth.issue_file_grant(secret, report_id, ref['attachment_id'])}"
                if secret
                else None,
            }
            for ref in refs
        ]
    return out


def count_by_status(session: Session) -> dict[str, int]:
    """Reports by current status (for the gauge)."""
    c = Report.__table__.c  # type: ignore[attr-defined]
    query = sa.select(c.status, sa.func.count()).group_by(c.status)
    return {status: n for status, n in session.execute(query)}


def find_report(session: Session, tracking_number: str) -> Report | None:
    """A report by its tracking number."""
    return session.exec(select(Report).where(Report.tracking_number == tracking_number)).first()


def history_of(session: Session, report_id: str) -> list[HistoryEntry]:
    """A report's history, oldest first (same instant: in lifecycle order)."""
    entries = session.exec(select(HistoryEntry).where(HistoryEntry.report_id == report_id))
    return sorted(
        entries,
        key=lambda h: (h.occurred_at, domain.HISTORY_ORDER.get(h.kind, 99), h.id or 0),
    )


HANDLERS: dict[str, Handler] = {
    "id.aduan.report.verified.v1": on_verified,
    "id.aduan.report.rejected.v1": on_rejected,
    "id.aduan.report.routed.v1": on_routed,
    "id.aduan.report.pending_region.v1": on_pending_region,
    "id.aduan.report.forwarded.v1": on_forwarded,
    "id.aduan.report.returned.v1": on_returned,
    "id.aduan.report.reopened.v1": on_reopened,
    "id.aduan.report.information_requested.v1": on_information_requested,
    "id.aduan.report.followup_posted.v1": on_followup_posted,
    "id.aduan.report.resolved.v1": on_resolved,
    "id.aduan.sla.deadline_opened.v1": on_deadline_opened,
    "id.aduan.sla.deadline_updated.v1": on_deadline_updated,
    "id.aduan.sla.warning.v1": ignore,
    "id.aduan.sla.breached.v1": on_breached,
    "id.aduan.report.closed.v1": on_closed,
    "id.aduan.report.escalated.v1": on_escalated,
    "id.aduan.notification.sent.v1": on_notification_sent,
}
