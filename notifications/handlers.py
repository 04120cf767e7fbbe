"""Notifications' handlers; HANDLERS at the end.

A message is recorded when its event arrives and sent as soon as the report's recipient
and the reporter's contact are both known: they arrive on other topics, in any order.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlmodel import Session, select

from notifications import domain
from notifications.models import Contact, Notification, Recipient
from notifications.senders import LoggingSender, Sender
from services.bus import HandlerContext
from services.contracts import (
    NotificationSent,
    ReporterContactRecorded,
    ReportRejected,
    ReportRouted,
    ReportSubmitted,
)

SENDER: Sender = LoggingSender()


def _queue(ctx: HandlerContext, report_id: str, template: str, **values: str) -> None:
    note = Notification(
        id=uuid.uuid4().hex,
        report_id=report_id,
        source_event_id=ctx.event.id,
        template=template,
        values=json.dumps(values, ensure_ascii=False),
        created_at=datetime.now(UTC),
    )
    ctx.session.add(note)
    ctx.session.flush()
    _deliver_pending(ctx, [report_id])


def _deliver_pending(ctx: HandlerContext, report_ids: list[str]) -> None:
    """Send every pending message of these reports whose recipient and contact are known."""
    if not report_ids:
        return
    pending = ctx.session.exec(
        select(Notification, Recipient, Contact)
        .join(Recipient, Recipient.report_id == Notification.report_id)  # type: ignore[arg-type]
        .join(Contact, Contact.reporter_ref == Recipient.reporter_ref)  # type: ignore[arg-type]
        .where(
            Notification.report_id.in_(report_ids),  # type: ignore[attr-defined]
            Notification.status == "pending",
        )
        .order_by(Notification.created_at)  # type: ignore[arg-type]
    )
    ready = sorted(
        pending, key=lambda r: (domain.TEMPLATE_ORDER.get(r[0].template, 99), r[0].created_at)
    )
    for note, recipient, contact in ready:
        _deliver(ctx, note, recipient, contact)


def _deliver(
    ctx: HandlerContext, note: Notification, recipient: Recipient, contact: Contact
) -> None:
    channel = domain.channel_for(contact.phone, contact.email)
    address = contact.phone if channel == "sms" else contact.email if channel == "email" else None
    note.language = recipient.language
    note.text = domain.render(
        note.template,
        recipient.language,
        tracking_number=recipient.tracking_number,
        **json.loads(note.values),
    )
    SENDER.send(channel, address, note.text, note.report_id)
    note.channel = channel
    note.status = "sent"
    note.sent_at = datetime.now(UTC)
    ctx.session.add(note)
    ctx.emit(
        NotificationSent(
            report_id=note.report_id,
            notification_id=note.id,
            template=note.template,
            channel=channel,  # type: ignore[arg-type]
            sent_at=note.sent_at,
        ),
        subject=note.report_id,
    )


def on_contact_recorded(ctx: HandlerContext, event: ReporterContactRecorded) -> None:
    """Remember how to reach a reporter, then send what was waiting for it."""
    contact = ctx.session.get(Contact, event.reporter_ref) or Contact(
        reporter_ref=event.reporter_ref, updated_at=datetime.now(UTC)
    )
    contact.phone, contact.email, contact.language = event.phone, event.email, event.language
    contact.updated_at = datetime.now(UTC)
    ctx.session.add(contact)
    ctx.session.flush()
    reports = ctx.session.exec(
        select(Recipient.report_id).where(Recipient.reporter_ref == event.reporter_ref)
    )
    _deliver_pending(ctx, list(reports))


def on_submitted(ctx: HandlerContext, event: ReportSubmitted) -> None:
    """Learn the report's recipient, and confirm receipt with the tracking number."""
    if ctx.session.get(Recipient, event.report_id) is None:
        ctx.session.add(
            Recipient(
                report_id=event.report_id,
                reporter_ref=event.reporter_ref,
                tracking_number=event.tracking_number,
                language=event.language,
            )
        )
        ctx.session.flush()
    _queue(ctx, event.report_id, "received")


def on_rejected(ctx: HandlerContext, event: ReportRejected) -> None:
    """Tell the reporter why the report was not accepted."""
    _queue(ctx, event.report_id, "rejected", reason=event.reason)


def on_routed(ctx: HandlerContext, event: ReportRouted) -> None:
    """Tell the reporter which agency has the report now."""
    _queue(ctx, event.report_id, "routed", agency_name=event.agency_name)


def notifications_of(session: Session, report_id: str) -> list[Notification]:
    """Every message about a report, in the order they were sent (pending ones last)."""
    notes = session.exec(select(Notification).where(Notification.report_id == report_id))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        notes,
        key=lambda n: (
            n.sent_at or far,
            domain.TEMPLATE_ORDER.get(n.template, 99),
            n.created_at,
        ),
    )


HANDLERS = {
    "id.aduan.reporter.contact_recorded.v1": on_contact_recorded,
    "id.aduan.report.submitted.v1": on_submitted,
    "id.aduan.report.rejected.v1": on_rejected,
    "id.aduan.report.routed.v1": on_routed,
}
