"""Notifications' handlers; HANDLERS at the end.

A handler only records: the notice, and one delivery row per channel and recipient. The
dispatcher (``notifications.dispatcher``) sends them on its own loops, so a slow or dead
channel never holds up the consumer. Events arrive on different topics in any order, so
a notice waits until the report's recipient (from report.submitted) is known, and its
SMS or email until the reporter's contact (from the private topic) is known.

Notice status: ``pending`` (report not known yet), ``shown`` (on the tracking page; its
SMS or email waiting or under way), ``sent`` (delivered on its channel), ``failed`` (its
delivery dead-lettered; still on the tracking page).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from notifications import domain, regions
from notifications.models import Contact, Delivery, Endpoint, Notification, Recipient
from services import areas, lifecycle, localtime, sealing
from services.bus import Handler, HandlerContext, ignore
from services.categories import CATEGORIES
from services.contracts import (
    IdentityReleaseChanged,
    NotificationSent,
    ReportClosed,
    ReporterCodeRequested,
    ReporterContactRecorded,
    ReportEscalated,
    ReportFollowupPosted,
    ReportForwarded,
    ReportInformationRequested,
    ReportPendingRegion,
    ReportRejected,
    ReportReopened,
    ReportResolved,
    ReportRouted,
    ReportSubmitted,
    ReportVerified,
    SlaBreached,
    SlaWarning,
    StaffInvitationIssued,
)

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _notice(
    ctx: HandlerContext,
    report_id: str,
    template: str,
    occurred_at: datetime,
    audience: str = "reporter",
    agency_id: str | None = None,
    **values: str,
) -> None:
    """Record one notice of this event (once), then move the report's notices on."""
    if _record(ctx, report_id, template, occurred_at, audience, agency_id, **values):
        advance(ctx, [report_id])


def _record(
    ctx: HandlerContext,
    report_id: str,
    template: str,
    occurred_at: datetime,
    audience: str = "reporter",
    agency_id: str | None = None,
    **values: str,
) -> bool:
    """Record one notice of this event unless it has it; False when the lifecycle
    refuses a reporter's notice (nothing recorded)."""
    if audience == "reporter" and domain.STEP_OF_TEMPLATE.get(template) is not None:
        # One read of the report's notices answers both: whether the lifecycle allows
        # this one, and whether this event recorded it already.
        rows = ctx.session.execute(_REPORTER_NOTICES, {"report_id": report_id}).all()
        others = [r for r in rows if r[0] != ctx.event.id]
        if not _tells_a_step(ctx, report_id, template, occurred_at, others):
            return False
        exists = any(r[0] == ctx.event.id and r[1] == template for r in rows)
    else:
        found = ctx.session.execute(
            _NOTICE_OF_EVENT, {"event_id": ctx.event.id, "template": template}
        ).first()
        exists = found is not None
    if not exists:
        # A Core insert: the notice is in the transaction at once, so the query that
        # advances it next need not flush the session first.
        ctx.session.connection().execute(
            _INSERT_NOTICE,
            {
                "id": uuid.uuid4().hex,
                "report_id": report_id,
                "source_event_id": ctx.event.id,
                "template": template,
                "audience": audience,
                "agency_id": agency_id,
                "values": json.dumps(values, ensure_ascii=False),
                "status": "pending",
                "event_time": occurred_at,
                "created_at": _now(),
            },
        )
    return True


# The statements run for every event, built once: building one costs more than SQLite
# takes to run it, and a built statement keeps its cache key.
_REPORTER_NOTICES = sa.select(
    col(Notification.source_event_id), col(Notification.template), col(Notification.event_time)
).where(
    col(Notification.report_id) == sa.bindparam("report_id"),
    col(Notification.audience) == "reporter",
)
_INSERT_NOTICE = sa.insert(Notification.__table__)  # type: ignore[attr-defined]
_NOTICE_OF_EVENT = sa.select(col(Notification.id)).where(
    col(Notification.source_event_id) == sa.bindparam("event_id"),
    col(Notification.template) == sa.bindparam("template"),
)
# A report's notices with work left: to render (pending), or to queue (shown, no channel
# yet). A region's feed events are queued when they arrive (notifications.regions).
_NOTICES_TO_ADVANCE = (
    select(Notification, Recipient, Contact)
    .join(Recipient, col(Recipient.report_id) == col(Notification.report_id))
    .outerjoin(Contact, col(Contact.reporter_ref) == col(Recipient.reporter_ref))
    .where(
        col(Notification.report_id).in_(sa.bindparam("report_ids", expanding=True)),
        sa.or_(
            col(Notification.status) == "pending",
            sa.and_(col(Notification.status) == "shown", col(Notification.channel).is_(None)),
        ),
        col(Notification.template) != regions.TEMPLATE,
    )
)
_ENDPOINTS = select(Endpoint).where(
    col(Endpoint.status) == "active",
    sa.or_(
        sa.and_(
            col(Endpoint.owner_kind) == "agency", col(Endpoint.owner_id) == sa.bindparam("agency")
        ),
        sa.and_(
            col(Endpoint.owner_kind) == "region",
            col(Endpoint.owner_id).in_([sa.bindparam("regency"), sa.bindparam("province")]),
        ),
    ),
)
_RECIPIENTS: sa.Table = Recipient.__table__  # type: ignore[attr-defined]
_NOTICES: sa.Table = Notification.__table__  # type: ignore[attr-defined]
_UPDATE_NOTICE = _NOTICES.update().where(_NOTICES.c.id == sa.bindparam("id_"))
_INSERT_DELIVERY = sa.insert(Delivery.__table__)  # type: ignore[attr-defined]
_UPDATE_RECIPIENT = _RECIPIENTS.update().where(
    _RECIPIENTS.c.report_id == sa.bindparam("report_id_")
)
_CONTACTS: sa.Table = Contact.__table__  # type: ignore[attr-defined]
_CONTACT = sa.select(
    _CONTACTS.c.phone, _CONTACTS.c.email, _CONTACTS.c.language, _CONTACTS.c.sms_notices
).where(_CONTACTS.c.reporter_ref == sa.bindparam("ref"))
_INSERT_CONTACT = _CONTACTS.insert()
_UPDATE_CONTACT = _CONTACTS.update().where(_CONTACTS.c.reporter_ref == sa.bindparam("ref"))
_RECIPIENT_KNOWN = sa.select(_RECIPIENTS.c.report_id).where(
    _RECIPIENTS.c.report_id == sa.bindparam("report_id")
)
_REPORTS_OF_REPORTER = sa.select(col(Recipient.report_id)).where(
    col(Recipient.reporter_ref) == sa.bindparam("ref")
)


def _tells_a_step(
    ctx: HandlerContext, report_id: str, template: str, at: datetime, rows: list[Any]
) -> bool:
    """Whether a reporter's notice tells a step the lifecycle allows, folded with the
    notices already recorded (``rows``: their source event, template and event time, in
    any order they came). Notifications does not see every step (the fold fills the
    gaps), so only a contradiction holds a notice back: anything after the closing, a
    second closing, an escalation after the agency's answer. Logged when refused."""
    step = domain.STEP_OF_TEMPLATE.get(template)
    if step is None:
        return True
    known = [(eid, t, when or at) for eid, t, when in rows]
    # The report itself may not be known yet (its notices wait for it, see advance): the
    # fold takes its submission as given.
    received = step == "submitted" or any(t == "received" for _, t, _ in known)
    before = [] if received else [lifecycle.Fact("", "submitted", datetime.min.replace(tzinfo=UTC))]
    folded = lifecycle.fold_rows(
        [*known, (ctx.event.id, template, at)],
        domain.STEP_OF_TEMPLATE.get,
        report_id,
        ctx.event.id,
        before,
        gaps=True,
    )
    return ctx.event.id not in folded.refused_from


def advance(ctx: HandlerContext, report_ids: list[str]) -> None:
    """Move these reports' notices as far as what is known allows: render and show the
    pending ones whose report is known, and queue deliveries whose recipient is known."""
    if not report_ids:
        return
    rows = ctx.session.execute(_NOTICES_TO_ADVANCE, {"report_ids": report_ids}).all()
    ready = sorted(
        rows, key=lambda r: (domain.TEMPLATE_ORDER.get(r[0].template, 99), r[0].created_at)
    )
    for order, (note, recipient, contact) in enumerate(ready):
        if note.status == "pending":
            _show(ctx, note, recipient)
        if note.audience == "reporter":
            if contact is not None:
                _queue_reporter(ctx, note, recipient, contact, order)
        else:
            _queue_agency(ctx, note, recipient, order)


def _values(note: Notification, recipient: Recipient) -> dict[str, str]:
    regency = areas.get(recipient.regency_code) if recipient.regency_code else None
    values: dict[str, str] = {
        "tracking_number": recipient.tracking_number,
        "agency_name": recipient.agency_name or "instansi terkait",
        "title": recipient.title,
        "category": recipient.category,
        "regency_code": recipient.regency_code,
        # For the texts people read: names, never codes.
        "category_name": CATEGORIES.get(recipient.category, (recipient.category,))[0],
        "region": regency.name if regency else recipient.regency_code,
    }
    values.update(json.loads(note.values))
    return values


def _show(ctx: HandlerContext, note: Notification, recipient: Recipient) -> None:
    """Render the notice; a reporter's goes on the tracking page at once (in_app)."""
    language = recipient.language if note.audience == "reporter" else "id"
    text = domain.render(note.template, language, **_values(note, recipient))[:1000]
    _set_notice(ctx, note, language=language, text=text, status="shown")
    if note.audience == "reporter" and note.template != domain.CODE_TEMPLATE:
        ctx.emit(
            NotificationSent(
                report_id=note.report_id,
                notification_id=note.id,
                template=note.template,
                channel="in_app",
                text=note.text,
                sent_at=_now(),
            ),
            subject=note.report_id,
        )


def _add_delivery(
    ctx: HandlerContext,
    note: Notification,
    channel: str,
    recipient_key: str,
    order: int,
) -> bool:
    """Queue one delivery. Called only for a notice that has no channel yet, which the
    caller sets in the same transaction; the unique key (uq_delivery_once) is the guard
    behind that."""
    now = _now()
    # A Core insert (the columns' defaults fill the rest): no later query of this event's
    # transaction flushes the session for it, and no model object is built.
    ctx.session.connection().execute(
        _INSERT_DELIVERY,
        {
            "id": uuid.uuid4().hex,
            "notification_id": note.id,
            "report_id": note.report_id,
            "source_event_id": note.source_event_id,
            "template": note.template,
            "audience": note.audience,
            "channel": channel,
            "recipient": recipient_key,
            # Lifecycle order among notices queued together: the dispatcher takes the
            # earliest first.
            "next_attempt_at": now + timedelta(microseconds=order),
            "event_time": note.event_time,
            "created_at": now,
        },
    )
    return True


def _set_notice(ctx: HandlerContext, note: Notification, **values: Any) -> None:
    """One UPDATE of a loaded notice, without a flush; the object is given the values as
    loaded (not as a change), so the session stays clean for the queries that follow."""
    ctx.session.connection().execute(_UPDATE_NOTICE, {"id_": note.id, **values})
    for name, value in values.items():
        set_committed_value(note, name, value)


def _queue_reporter(
    ctx: HandlerContext, note: Notification, recipient: Recipient, contact: Contact, order: int
) -> None:
    if note.channel is not None:
        return
    phone = contact.phone if contact.sms_notices else None
    channel = domain.channel_for(phone, contact.email)
    if note.template == domain.CODE_TEMPLATE:
        # The way the reporter asked for, if they gave it; the code is never sent anywhere
        # else (nor shown on the tracking page).
        via = json.loads(note.values).get("via")
        channel = {"sms": phone, "email": contact.email}.get(via) and via
        if channel is None:
            forget_code(note)
            _set_notice(
                ctx, note, values=note.values, text=note.text, channel="none", status="failed"
            )
            return
    if channel is None:
        if contact.phone and not contact.sms_notices:
            # The phone sent STOP: this notice stays on the tracking page, and MULAI later
            # does not send it after all.
            _set_notice(ctx, note, channel="in_app")
        return
    _set_notice(ctx, note, channel=channel)
    _add_delivery(ctx, note, channel, recipient.reporter_ref, order)


def _queue_agency(
    ctx: HandlerContext, note: Notification, recipient: Recipient, order: int
) -> None:
    if note.channel is not None:
        return
    for endpoint in endpoints_for(ctx.session, note.agency_id, recipient.regency_code):
        subscribed = json.loads(endpoint.events)
        if "*" in subscribed or note.template in subscribed:
            _add_delivery(ctx, note, endpoint.kind, endpoint.id, order)
    _set_notice(ctx, note, channel="endpoints")


def endpoints_for(session: Session, agency_id: str | None, regency_code: str) -> list[Endpoint]:
    """The active endpoints of an agency, and of the region (province or regency) the
    report is in."""
    if not agency_id and not regency_code:
        return []
    found = session.execute(
        _ENDPOINTS,
        {
            "agency": agency_id,
            "regency": regency_code or None,
            "province": regency_code[:2] or None,
        },
    ).scalars()
    return list(found)


def on_contact_recorded(ctx: HandlerContext, event: ReporterContactRecorded) -> None:
    """Remember how to reach a reporter, then queue what was waiting for it."""
    # Core statements, no flush; a copy the session holds is given the new values as
    # loaded (the notices' query below reads contacts through the session).
    conn = ctx.session.connection()
    values = {
        "phone": event.phone,
        "email": event.email,
        "language": event.language,
        "sms_notices": event.sms_notices,
    }
    known = conn.execute(_CONTACT, {"ref": event.reporter_ref}).first()
    same = known is not None and tuple(known) == tuple(values.values())
    if known is None:
        conn.execute(
            _INSERT_CONTACT, {"reporter_ref": event.reporter_ref, "updated_at": _now(), **values}
        )
    else:
        conn.execute(_UPDATE_CONTACT, {"ref": event.reporter_ref, "updated_at": _now(), **values})
        _as_loaded(ctx, Contact, event.reporter_ref, values)
    if same:
        # One reporter, many reports (intake keeps one reference per phone or email):
        # notices waiting for a contact exist only while none was known.
        return
    reports = ctx.session.execute(_REPORTS_OF_REPORTER, {"ref": event.reporter_ref}).scalars()
    advance(ctx, list(reports))


def on_submitted(ctx: HandlerContext, event: ReportSubmitted) -> None:
    """Learn the report and its recipient, and confirm receipt with the tracking number."""
    conn = ctx.session.connection()
    if conn.execute(_RECIPIENT_KNOWN, {"report_id": event.report_id}).first() is None:
        # A Core insert, as _add_delivery's: the agency columns stay NULL until routing.
        conn.execute(
            _RECIPIENTS.insert(),
            {
                "report_id": event.report_id,
                "reporter_ref": event.reporter_ref,
                "tracking_number": event.tracking_number,
                "language": event.language,
                "title": event.title,
                "category": event.category,
                "regency_code": event.regency_code,
                "anonymous": event.anonymous,
                "confidential": event.confidential,
            },
        )
    _notice(ctx, event.report_id, "received", event.submitted_at)


def _update_recipient(ctx: HandlerContext, report_id: str, **values: Any) -> None:
    """One UPDATE, without loading the recipient or flushing the session first; a copy
    the session already holds is given the same values (as loaded, not as a change)."""
    ctx.session.connection().execute(_UPDATE_RECIPIENT, {"report_id_": report_id, **values})
    _as_loaded(ctx, Recipient, report_id, values)


def _as_loaded(ctx: HandlerContext, model: type[Any], key: str, values: dict[str, Any]) -> None:
    """Give a copy of the row the session already holds (if any) the values a Core
    UPDATE just wrote, as loaded rather than as a change: no flush will write them again."""
    held = ctx.session.identity_map.get(identity_key(model, key))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def on_verified(ctx: HandlerContext, event: ReportVerified) -> None:
    """The report passed verification (with the verifier's corrections)."""
    _update_recipient(
        ctx,
        event.report_id,
        title=event.title,
        category=event.category,
        regency_code=event.regency_code,
    )
    _notice(ctx, event.report_id, "verified", event.verified_at)


def on_rejected(ctx: HandlerContext, event: ReportRejected) -> None:
    """Tell the reporter why the report was not accepted."""
    _notice(ctx, event.report_id, "rejected", event.rejected_at, reason=event.reason)


def on_information_requested(ctx: HandlerContext, event: ReportInformationRequested) -> None:
    """Ask the reporter for what the report lacks."""
    _notice(
        ctx,
        event.report_id,
        "information_requested",
        event.requested_at,
        message=event.message,
        missing=" ".join(event.missing),
    )


def on_routed(ctx: HandlerContext, event: ReportRouted) -> None:
    """Tell the reporter which agency has the report, and the agency that it has one."""
    _update_recipient(
        ctx, event.report_id, agency_id=event.agency_id, agency_name=event.agency_name
    )
    values = {"agency_name": event.agency_name}
    # Recorded only: the agency's notice, below, moves both on at once.
    _record(ctx, event.report_id, "routed", event.routed_at, agency_name=event.agency_name)
    if event.title:  # as the verifier left it, even before report.verified arrives here
        values["title"] = event.title
    _notice(
        ctx,
        event.report_id,
        "new_report",
        event.routed_at,
        audience="agency",
        agency_id=event.agency_id,
        **values,
    )


def on_pending_region(ctx: HandlerContext, event: ReportPendingRegion) -> None:
    """The government in charge has not joined: the reporter is told the report waits."""
    _notice(ctx, event.report_id, "pending_region", event.pending_at, agency_name=event.pemda_name)


def on_forwarded(ctx: HandlerContext, event: ReportForwarded) -> None:
    """A forward to another agency is a new report for it; within an agency, nothing."""
    if event.within_agency:
        return
    _update_recipient(
        ctx, event.report_id, agency_id=event.to_agency_id, agency_name=event.to_agency_name
    )
    _notice(
        ctx,
        event.report_id,
        "new_report",
        event.forwarded_at,
        audience="agency",
        agency_id=event.to_agency_id,
        agency_name=event.to_agency_name,
    )


def on_followup_posted(ctx: HandlerContext, event: ReportFollowupPosted) -> None:
    """The agency answered: the reporter is told to read and reply."""
    _notice(ctx, event.report_id, "followup_posted", event.posted_at)


def on_resolved(ctx: HandlerContext, event: ReportResolved) -> None:
    """The agency says it is done: the reporter is asked whether it solved the problem."""
    _notice(ctx, event.report_id, "resolved", event.resolved_at)


def _due(ctx: HandlerContext, report_id: str, when: datetime) -> str:
    """A deadline in the report's own zone (WIB, WITA or WIT), named."""
    recipient = ctx.session.get(Recipient, report_id)
    return localtime.format_local(when, recipient.regency_code if recipient else None)


def _agency_deadline(
    ctx: HandlerContext, event: SlaWarning | SlaBreached, template: str, at: datetime
) -> None:
    """The agency's own clock (first response) is near its end or past it."""
    if event.clock == "first_response" and event.agency_id:
        _notice(
            ctx,
            event.report_id,
            template,
            at,
            audience="agency",
            agency_id=event.agency_id,
            due_at=_due(ctx, event.report_id, event.due_at),
        )


def on_warning(ctx: HandlerContext, event: SlaWarning) -> None:
    """Near a deadline: the reporter is reminded to reply; the agency is warned."""
    if event.clock == "reporter_reply":
        _notice(ctx, event.report_id, "reply_reminder", event.warned_at)
    _agency_deadline(ctx, event, "deadline_warning", event.warned_at)


def on_breached(ctx: HandlerContext, event: SlaBreached) -> None:
    """An agency missed its deadline: it is told (the reporter sees it on the page)."""
    _agency_deadline(ctx, event, "deadline_breached", event.breached_at)


def on_reopened(ctx: HandlerContext, event: ReportReopened) -> None:
    """ "Not solved": the reporter hears that the agency must act again."""
    _notice(ctx, event.report_id, "reopened", event.reopened_at)


def on_closed(ctx: HandlerContext, event: ReportClosed) -> None:
    """The report is closed, accepted or for want of a reply."""
    _notice(ctx, event.report_id, f"closed_{event.reason}", event.closed_at)


def on_escalated(ctx: HandlerContext, event: ReportEscalated) -> None:
    """Unresolved too long: the reporter is pointed to the Ombudsman."""
    _notice(
        ctx, event.report_id, "escalated", event.escalated_at, ombudsman_url=event.ombudsman_url
    )


def notifications_of(session: Session, report_id: str) -> list[Notification]:
    """Every reporter notice about a report, in the order of the steps they tell (their
    events' time, as the lifecycle orders them; a re-opening comes between the two
    resolutions), pending ones last."""
    notes = session.exec(
        select(Notification).where(
            Notification.report_id == report_id, Notification.audience == "reporter"
        )
    )
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        notes,
        key=lambda n: (
            n.status == "pending",
            n.event_time or far,
            domain.TEMPLATE_ORDER.get(n.template, 99),
            n.sent_at or far,
            n.created_at,
        ),
    )


def on_identity(ctx: HandlerContext, event: IdentityReleaseChanged) -> None:
    """An Anonim reporter is asked to consent; any reporter is told their identity was
    opened to an agency (for one report only). Never the identity itself."""
    template = {"consent_requested": "identity_consent", "released": "identity_released"}.get(
        event.step
    )
    if template is not None:
        name = event.agency_name or event.agency_id
        _notice(ctx, event.report_id, template, event.occurred_at, agency_name=name)


def forget_code(note: Notification) -> None:
    """A secret code's notice, or a staff member's one-time link, keeps neither the code
    (link) nor its text once it is done."""
    if note.template in (domain.CODE_TEMPLATE, *domain.STAFF_TEMPLATES):
        values = json.loads(note.values)
        values.pop("code", None)
        values.pop("link", None)
        values.pop("email", None)
        note.values = json.dumps(values)
        note.text = "" if note.text is not None else None


def on_staff_link(ctx: HandlerContext, event: StaffInvitationIssued) -> None:
    """A member of staff's one-time link (invitation or reset): one email, to the address
    it was issued for; notifications keeps neither the link nor the text once sent."""
    template = f"staff_{event.purpose}"
    exists = ctx.session.exec(
        select(Notification.id).where(Notification.source_event_id == ctx.event.id)
    ).first()
    if exists is not None:
        return
    values = {
        "name": event.name,
        "role": domain.role_name(event.role, event.language),
        "agency_name": event.agency_name,
        "link": event.link,
        "email": event.email,
        "expires_at": localtime.format_local(event.expires_at, None, event.language),
    }
    note = Notification(
        id=uuid.uuid4().hex,
        report_id="",
        source_event_id=ctx.event.id,
        template=template,
        audience="staff",
        values=json.dumps(values, ensure_ascii=False),
        language=event.language,
        text=domain.render(template, event.language, **values)[:1000],
        channel="email",
        status="shown",
        event_time=ctx.event.time,
        created_at=_now(),
    )
    ctx.session.add(note)
    now = _now()
    ctx.session.add(
        Delivery(
            id=uuid.uuid4().hex,
            notification_id=note.id,
            report_id="",
            source_event_id=ctx.event.id,
            template=template,
            audience="staff",
            channel="email",
            recipient=(ctx.event.subject or event.invitation_id)[:80],
            next_attempt_at=now,
            event_time=ctx.event.time,
            created_at=now,
        )
    )


def on_code_requested(ctx: HandlerContext, event: ReporterCodeRequested) -> None:
    """The reporter asked for their secret code by SMS or email: sent once, to the
    report's own contact, by the way asked (nothing if that way is unknown)."""
    _notice(
        ctx,
        event.report_id,
        domain.CODE_TEMPLATE,
        event.requested_at,
        code=event.code,
        via=event.via,
    )


HANDLERS: dict[str, Handler] = {
    "id.aduan.staff.invitation_issued.v1": on_staff_link,
    "id.aduan.reporter.code_requested.v1": on_code_requested,
    "id.aduan.report.identity_release.v1": on_identity,
    "id.aduan.region.report_changed.v1": regions.on_region_changed,
    "id.aduan.reporter.contact_recorded.v1": on_contact_recorded,
    "id.aduan.report.submitted.v1": on_submitted,
    # Its words are sealed, and no notice needs them (the agency's says the routed title).
    "id.aduan.report.submitted.v2": sealing.opening(on_submitted, sealing.facts_of_submitted),
    "id.aduan.report.verified.v1": on_verified,
    "id.aduan.report.rejected.v1": on_rejected,
    "id.aduan.report.information_requested.v1": on_information_requested,
    "id.aduan.report.routed.v1": on_routed,
    "id.aduan.report.pending_region.v1": on_pending_region,
    "id.aduan.report.forwarded.v1": on_forwarded,
    "id.aduan.report.returned.v1": ignore,
    "id.aduan.report.followup_posted.v1": on_followup_posted,
    "id.aduan.report.resolved.v1": on_resolved,
    "id.aduan.report.reopened.v1": on_reopened,
    "id.aduan.sla.deadline_opened.v1": ignore,
    "id.aduan.sla.deadline_updated.v1": ignore,
    "id.aduan.sla.warning.v1": on_warning,
    "id.aduan.sla.breached.v1": on_breached,
    "id.aduan.report.closed.v1": on_closed,
    "id.aduan.report.escalated.v1": on_escalated,
}
