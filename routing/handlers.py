"""Routing's handlers and actions; HANDLERS at the end.

Events in: the report as submitted (the story the agency reads), what the citizen added,
verified (route, or route again after a return), the SLA's first-response deadline, the
reporter's reply, and the system's closing. Actions (from the API and the console): an
agency forwards, returns, posts a follow-up or a question, resolves; an administrator
re-routes, or connects a regional government, which releases its pending reports.
Every action writes its log entry and its event in one transaction.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from routing import directory, domain, feed
from routing.models import (
    Agency,
    DirectorySeed,
    Entry,
    HeldVerification,
    ReportCopy,
    RevokedRegionClient,
    Routing,
    Rule,
)
from services import areas, lifecycle, localtime, sealing, uploads
from services.bus import HandlerContext, Outbox, concerning, ignore
from services.contracts import (
    AttachmentRef,
    CloudEvent,
    DeadlineOpened,
    DeadlineUpdated,
    Payload,
    RegionClientChanged,
    ReportClosed,
    ReportEscalated,
    ReportFollowupPosted,
    ReportForwarded,
    ReportInformationAdded,
    ReportPendingRegion,
    ReportReopened,
    ReportReporterReplied,
    ReportResolved,
    ReportReturned,
    ReportRouted,
    ReportSubmitted,
    ReportVerified,
)
from services.metrics import after_commit

Emit = feed.Emit
log = logging.getLogger(__name__)

ROUTED = Counter(
    "aduan_routing_routed_total",
    "Reports handed to an agency (first routing, release of a pending report, re-routing), "
    "by agency, kind of agency and province.",
    ["agency", "kind", "province", "how"],
)
PENDING = Gauge(
    "aduan_routing_pending",
    "Reports waiting for their regional government to connect, by province and regency "
    "(the evidence that brings a Pemda on board).",
    ["province", "regency"],
)
HOPS = Counter(
    "aduan_routing_hops_total",
    "What agencies did: forwarded (within or across agencies), returned, follow-ups, "
    "questions to the reporter, resolved; by kind of agency.",
    ["action", "kind"],
)
FIRST_RESPONSE = Histogram(
    "aduan_routing_first_response_seconds",
    "Time from routing to the agency's first follow-up or question, by kind of agency.",
    ["kind"],
    buckets=(3600, 4 * 3600, 86400, 2 * 86400, 3 * 86400, 5 * 86400, 7 * 86400, 14 * 86400),
)
REPLIES = Counter(
    "aduan_routing_reporter_replies_total",
    "Reporters' replies to an agency's answer: solved, not_solved (re-opened) or no_verdict.",
    ["verdict"],
)

# Routing's status is the report's lifecycle state (services.lifecycle) as routing knows
# it: the states in which the agency holds the report and may act on it.
OPEN = ("routed", "in_progress", "reopened", "escalated")
ACTIVE = (*OPEN, "resolved")


class ActionRefused(Exception):
    """An action that is not allowed now; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- directory ------------------------------------------------------------------


def node(agency: Agency) -> domain.Node:
    return domain.Node(
        agency.id,
        agency.kind,
        agency.name,
        agency.parent_id,
        agency.region_code,
        agency.connected,
        agency.active,
    )


def lookup(session: Session) -> domain.Lookup:
    """Directory lookups for one transaction (each entry read once)."""
    cache: dict[str, domain.Node | None] = {}

    def get(agency_id: str) -> domain.Node | None:
        if agency_id not in cache:
            found = session.get(Agency, agency_id)
            cache[agency_id] = node(found) if found is not None else None
        return cache[agency_id]

    return get


def rules(session: Session) -> list[Rule]:
    return list(session.exec(select(Rule).where(Rule.active == True)))  # noqa: E712


def seed(session: Session) -> int:
    """Fill an empty directory and the default rules (once per seed version)."""
    if session.get(DirectorySeed, directory.SEED_VERSION) is not None:
        return 0
    now = datetime.now(UTC)
    rows = directory.seed_rows()
    session.add(DirectorySeed(version=directory.SEED_VERSION, rows=len(rows), applied_at=now))
    try:
        session.flush()
    except IntegrityError:  # another instance seeds it
        session.rollback()
        return 0
    existing = set(session.exec(select(Agency.id)))
    table = Agency.__table__  # type: ignore[attr-defined]
    fresh = [
        {
            "id": r.id,
            "kind": r.kind,
            "name": r.name,
            "parent_id": r.parent_id,
            "region_code": r.region_code,
            "categories": json.dumps(r.categories),
            "connected": r.connected,
            "active": True,
            "updated_at": now,
            "updated_by": "seed",
        }
        for r in rows
        if r.id not in existing
    ]
    for start in range(0, len(fresh), 2000):
        session.execute(sa.insert(table), fresh[start : start + 2000])
    if session.exec(select(sa.func.count()).select_from(Rule)).one() == 0:
        for d in directory.DEFAULT_RULES:
            session.add(
                Rule(
                    category=d.category,
                    region_prefix=d.region_prefix,
                    target=d.target,
                    unit_code=d.unit_code,
                    to_district=d.to_district,
                    priority=d.priority,
                    note=d.note,
                    created_at=now,
                )
            )
    return len(fresh)


# --- events in --------------------------------------------------------------------


def _log(
    session: Session,
    report_id: str,
    kind: str,
    actor: str,
    at: datetime,
    agency_id: str | None = None,
    target_id: str | None = None,
    text: str = "",
    satisfied: bool | None = None,
    attachments: list[AttachmentRef] | None = None,
    entry_id: str | None = None,
) -> Entry:
    entry = Entry(
        id=entry_id or str(uuid.uuid4()),
        report_id=report_id,
        at=at,
        kind=kind,
        actor=actor,
        agency_id=agency_id,
        target_id=target_id,
        text=text,
        satisfied=satisfied,
        attachments=json.dumps([a.model_dump() for a in attachments or []]),
    )
    session.add(entry)
    if kind in STEP_OF_ENTRY:
        refold(session, report_id, entry.id)
    return entry


# Routing's log kinds that are lifecycle steps (services.lifecycle), by the step's name.
STEP_OF_ENTRY: dict[str, str] = {
    "routed": "routed",
    "pending": "pending_region",
    "forwarded": "forwarded",
    "rerouted": "transferred",
    "returned": "returned",
    "followup": "followup",
    "question": "question",
    "acknowledgement": "acknowledgement",
    "resolved": "resolved",
    "reply": "reporter_replied",
    "reopened": "reopened",
    "closed": "closed",
    "escalated": "escalated",
}
# Routing holds a report from its routing on: what came before is known to have happened.
_BEFORE = (
    lifecycle.Fact("_submitted", "submitted", datetime.min.replace(tzinfo=UTC)),
    lifecycle.Fact("_verified", "verified", datetime.min.replace(tzinfo=UTC)),
)


def refold(session: Session, report_id: str, entry_id: str | None = None) -> str | None:
    """Routing's status from its whole log, folded by the kit's lifecycle: the same
    state whatever order the events behind the log arrived in. A step the lifecycle
    refuses is logged and changes nothing."""
    session.flush()
    rows = session.exec(select(Entry.id, Entry.kind, Entry.at).where(Entry.report_id == report_id))
    folded = lifecycle.fold_rows(rows, STEP_OF_ENTRY.get, report_id, entry_id, _BEFORE)
    routing = session.get(Routing, report_id)
    if routing is not None and folded.state is not None and folded.state != "verified":
        routing.status = folded.state
    return folded.state


def _held_by(model: Any) -> sa.ScalarSelect[Any]:
    table: sa.Table = model.__table__
    return (
        sa.select(table.c.report_id)
        .where(table.c.report_id == sa.bindparam("report_id"))
        .scalar_subquery()
    )


_HOLDS = sa.select(_held_by(ReportCopy), _held_by(Routing), _held_by(HeldVerification))
_INSERT_COPY = sa.insert(ReportCopy.__table__)  # type: ignore[attr-defined]


def on_submitted(ctx: HandlerContext, event: ReportSubmitted) -> None:
    """Keep the story the agency will read (no contact data reaches routing)."""
    # What routing holds of the report, in one statement (each is rare but the copy);
    # the session is flushed first, so that it answers as the session's own reads would.
    ctx.session.flush()
    conn = ctx.session.connection()
    copied, routed, waiting = conn.execute(_HOLDS, {"report_id": event.report_id}).one()
    if copied is not None:
        return
    conn.execute(
        _INSERT_COPY,
        {
            "report_id": event.report_id,
            "tracking_number": event.tracking_number,
            "title": event.title,
            "body": event.body,
            "category": event.category,
            "regency_code": event.regency_code,
            "district_code": event.district_code,
            "anonymous": event.anonymous,
            "confidential": event.confidential,
            "channel": event.channel,
            "submitted_at": event.submitted_at,
            "report_type": event.report_type,
            "latitude": event.location.lat if event.location else None,
            "longitude": event.location.long if event.location else None,
            "files": uploads.with_refs("[]", event.attachments),
        },
    )
    routing = ctx.session.get(Routing, event.report_id) if routed is not None else None
    if routing is not None:  # verified overtook submitted: keep the strictest flags
        routing.anonymous = routing.anonymous or event.anonymous
        routing.confidential = routing.confidential or event.confidential
    held = ctx.session.get(HeldVerification, event.report_id) if waiting is not None else None
    if held is not None:  # the verification waited for this: route it now
        ctx.session.delete(held)
        ctx.session.flush()
        route_verified(ctx, ReportVerified.model_validate_json(held.event))


def on_information_added(ctx: HandlerContext, event: ReportInformationAdded) -> None:
    copy = ctx.session.get(ReportCopy, event.report_id)
    if copy is not None:
        if copy.added and copy.additions == "[]":  # kept before additions were kept apart
            stamp = localtime.format_local(event.added_at, copy.regency_code, short=True)
            copy.added = f"{copy.added}\n[{stamp}] {event.text}"
            copy.files = uploads.with_refs(copy.files, event.attachments)
            return
        # The inbox drops a redelivered event: no repeats here.
        additions = [*json.loads(copy.additions), [event.added_at.isoformat(), event.text]]
        copy.additions = json.dumps(additions, ensure_ascii=False)
        copy.added = _added(copy)
        if event.attachments:
            copy.files = uploads.with_refs(copy.files, event.attachments)


def _added(copy: ReportCopy) -> str:
    """What the citizen added, as the agency reads it: each addition stamped with its
    local time, a verifier's covered text in place of the words it covered."""
    covered: list[str] = json.loads(copy.covered_additions)
    lines = []
    for n, (at, text) in enumerate(json.loads(copy.additions)):
        stamp = localtime.format_local(datetime.fromisoformat(at), copy.regency_code, short=True)
        lines.append(f"[{stamp}] {covered[n] if n < len(covered) else text}")
    return "\n".join(lines)


def apply_redaction(copy: ReportCopy, event: ReportVerified) -> None:
    """A verifier's redaction replaces routing's copy of the reporter's words: the agency,
    the regions and the feed only ever read the covered version. The withheld files leave
    the copy (intake refuses them to officers too)."""
    redaction = event.redaction
    if redaction is None:
        return
    copy.title, copy.body, copy.redacted = redaction.title, redaction.story, True
    copy.covered_additions = json.dumps(redaction.additions, ensure_ascii=False)
    copy.added = _added(copy)
    if redaction.withheld:
        files = [f for f in json.loads(copy.files) if f["attachment_id"] not in redaction.withheld]
        copy.files = json.dumps(files, ensure_ascii=False)


def on_verified(ctx: HandlerContext, event: ReportVerified) -> None:
    """Route a verified report; route it again when it comes back after a return. A
    verification that overtook the report itself waits for it (see HeldVerification)."""
    if ctx.session.get(ReportCopy, event.report_id) is None:
        held = ctx.session.get(HeldVerification, event.report_id)
        if held is None:
            ctx.session.add(
                HeldVerification(
                    report_id=event.report_id,
                    event=event.model_dump_json(),
                    received_at=datetime.now(UTC),
                )
            )
        elif ReportVerified.model_validate_json(held.event).verified_at < event.verified_at:
            held.event = event.model_dump_json()
        log.info("verification held until the report arrives", extra={"report_id": event.report_id})
        return
    route_verified(ctx, event)


def route_verified(ctx: HandlerContext, event: ReportVerified) -> None:
    """Route a verified report whose story (and privacy flags) routing holds."""
    session = ctx.session
    routing = session.get(Routing, event.report_id)
    if routing is not None and routing.status != "returned":
        return  # a redelivery, or a second verification of a report already handled
    copy = session.get(ReportCopy, event.report_id)
    if copy is not None:
        apply_redaction(copy, event)
    anonymous = bool(event.anonymous) or bool(copy and copy.anonymous)
    confidential = bool(event.confidential) or bool(copy and copy.confidential)
    district = event.district_code
    if district is None and copy is not None and copy.district_code:
        district = copy.district_code if copy.district_code.startswith(event.regency_code) else None
    exclude = json.loads(routing.returned_by) if routing is not None else []
    decision = domain.choose(
        rules(session), event.category, event.regency_code, district, lookup(session), exclude
    )
    now = datetime.now(UTC)
    if routing is None:
        routing = Routing(
            report_id=event.report_id,
            agency_id=decision.agency.id,
            agency_name=decision.agency.name,
            regency_code=event.regency_code,
            category=event.category,
            rule=decision.rule,
            routed_at=now,
        )
        session.add(routing)
    routing.title = event.title
    routing.category = event.category
    routing.regency_code = event.regency_code
    routing.district_code = district
    routing.anonymous = anonymous
    routing.confidential = confidential
    apply_decision(session, ctx_emit(ctx), routing, decision, now, "system", "verified")


def apply_decision(
    session: Session,
    emit: Emit,
    routing: Routing,
    decision: domain.Decision,
    now: datetime,
    actor: str,
    how: str,
) -> None:
    """Hand the report to the decision's agency (or hold it as pending) and say so."""
    agency = decision.agency
    routing.agency_id, routing.agency_name, routing.rule = agency.id, agency.name, decision.rule
    routing.routed_at = now
    routing.updated_at = now
    routing.first_response_due = None
    province = routing.regency_code[:2]
    if decision.pending:
        routing.status = "pending_region"
        routing.unit_id = routing.unit_name = routing.subunit_id = routing.subunit_name = None
        _log(session, routing.report_id, "pending", actor, now, agency.id, text=decision.rule)
        emit(
            ReportPendingRegion(
                report_id=routing.report_id,
                pemda_id=agency.id,
                pemda_name=agency.name,
                regency_code=routing.regency_code,
                category=routing.category,
                pending_at=now,
            )
        )
        return
    routing.status = "routed"
    routing.first_response_at = None
    routing.resolved_at = None
    unit, subunit = decision.unit, decision.subunit
    assignee = subunit or unit
    routing.unit_id, routing.unit_name = (unit.id, unit.name) if unit else (None, None)
    routing.subunit_id, routing.subunit_name = (
        (subunit.id, subunit.name) if subunit else (None, None)
    )
    _log(
        session,
        routing.report_id,
        "routed",
        actor,
        now,
        agency.id,
        target_id=assignee.id if assignee else None,
        text=f"{decision.rule} ({how})",
    )
    emit(
        ReportRouted(
            report_id=routing.report_id,
            agency_id=agency.id,
            agency_name=agency.name,
            regency_code=routing.regency_code,
            rule=decision.rule,
            routed_at=now,
            timezone=decision.timezone,
            district_code=routing.district_code,
            category=routing.category,
            unit_id=routing.unit_id,
            unit_name=routing.unit_name,
            subunit_id=routing.subunit_id,
            subunit_name=routing.subunit_name,
            title=routing.title or None,
        )
    )
    actor_kind = "system" if actor == "system" else "administrator"
    feed.emit_change(session, emit, routing, "routed", now, actor_kind)
    after_commit(session, lambda: ROUTED.labels(agency.id, agency.kind, province, how).inc())


@concerning(lambda e: e.clock == "first_response")
def on_deadline(ctx: HandlerContext, event: DeadlineOpened | DeadlineUpdated) -> None:
    """Keep the first-response deadline for the inbox's order."""
    routing = ctx.session.get(Routing, event.report_id)
    if routing is None:
        return
    if isinstance(event, DeadlineOpened) or event.status == "open":
        routing.first_response_due = event.due_at
    else:
        routing.first_response_due = None


def on_replied(ctx: HandlerContext, event: ReportReporterReplied) -> None:
    """The reporter's answer joins the log; "not solved" re-opens the report."""
    session = ctx.session
    if session.get(Entry, f"reply-{event.reply_id}") is not None:
        return
    routing = session.get(Routing, event.report_id)
    _log(
        session,
        event.report_id,
        "reply",
        "reporter",
        event.replied_at,
        routing.agency_id if routing else None,
        text=event.text,
        satisfied=event.satisfied,
        entry_id=f"reply-{event.reply_id}",
    )
    verdict = {True: "solved", False: "not_solved", None: "no_verdict"}[event.satisfied]
    after_commit(session, lambda: REPLIES.labels(verdict).inc())
    if routing is None:
        return
    routing.updated_at = event.replied_at
    feed.emit_change(
        session,
        ctx_emit(ctx),
        routing,
        "reporter_replied",
        event.replied_at,
        "reporter",
        text=event.text,
        satisfied=event.satisfied,
    )
    # Routing owns the answer to the agency's work: "solved" closes the report, "not
    # solved" re-opens it, and everyone else learns it from the event said here.
    at = lifecycle.after(event.replied_at, datetime.now(UTC))
    if event.satisfied is True and routing.status in ACTIVE:
        ctx_emit(ctx)(ReportClosed(report_id=routing.report_id, reason="accepted", closed_at=at))
        close(session, ctx_emit(ctx), routing, "accepted", at)
    elif event.satisfied is False and routing.status == "resolved":
        routing.resolved_at = None
        routing.first_response_at = None
        _log(session, event.report_id, "reopened", "reporter", at, routing.agency_id)
        ctx_emit(ctx)(
            ReportReopened(
                report_id=routing.report_id,
                agency_id=routing.agency_id,
                reply_id=event.reply_id,
                reopened_at=at,
            )
        )
        feed.emit_change(session, ctx_emit(ctx), routing, "reopened", at, "reporter")


def close(session: Session, emit: Emit, routing: Routing, reason: str, at: datetime) -> None:
    """The report is closed (if the lifecycle allows it now): routing's state, its log,
    and the regions' feed."""
    _log(session, routing.report_id, "closed", "system", at, text=reason)
    if routing.status != "closed":
        return
    routing.updated_at = at
    feed.emit_change(session, emit, routing, "closed", at, "system", text=reason)


def on_closed(ctx: HandlerContext, event: ReportClosed) -> None:
    """Closed by the reporter's silence (the SLA); routing's own closing comes back here
    too, and is then already applied."""
    routing = ctx.session.get(Routing, event.report_id)
    if routing is None:  # kept, so that the fold places it once routing holds the report
        _log(ctx.session, event.report_id, "closed", "system", event.closed_at, text=event.reason)
        return
    if routing.status == "closed":
        return
    close(ctx.session, ctx_emit(ctx), routing, event.reason, event.closed_at)


def on_escalated(ctx: HandlerContext, event: ReportEscalated) -> None:
    """Offered to the Ombudsman: the agency still holds it and must still resolve it.
    Logged even before routing holds the report, so that the fold places it in time."""
    _log(ctx.session, event.report_id, "escalated", "system", event.escalated_at, text=event.reason)
    routing = ctx.session.get(Routing, event.report_id)
    if routing is None or routing.status != "escalated":
        return
    routing.updated_at = event.escalated_at
    feed.emit_change(
        ctx.session,
        ctx_emit(ctx),
        routing,
        "escalated",
        event.escalated_at,
        "system",
        text=event.reason,
    )


class OutboxEmit:
    """Emits into an outbox in the caller's transaction (see :class:`feed.Emit`)."""

    def __init__(self, session: Session, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.kit = outbox.kit

    def __call__(
        self, payload: Payload, topic: str | None = None, event_id: str | None = None
    ) -> CloudEvent:
        subject = payload.report_id  # type: ignore[attr-defined]
        return self.outbox.emit(self.session, payload, subject, topic=topic, event_id=event_id)


def ctx_emit(ctx: HandlerContext) -> Emit:
    return OutboxEmit(ctx.session, ctx.outbox)


def outbox_emit(session: Session, outbox: Outbox) -> Emit:
    return OutboxEmit(session, outbox)


# --- who sees what ----------------------------------------------------------------


def visible_to(routing: Routing, agency_id: str | None) -> bool:
    """An officer sees a report routed to their agency, or to their unit or sub-unit."""
    return agency_id is not None and agency_id in (
        routing.agency_id,
        routing.unit_id,
        routing.subunit_id,
    )


def inbox_filter(agency_id: str) -> Any:
    """The SQL condition of :func:`visible_to`."""
    c = Routing.__table__.c  # type: ignore[attr-defined]
    return sa.or_(c.agency_id == agency_id, c.unit_id == agency_id, c.subunit_id == agency_id)


# --- actions ------------------------------------------------------------------------


def _announce(
    session: Session,
    emit: Emit,
    routing: Routing,
    change: str,
    hop: str,
    at: datetime,
    actor_kind: str,
    text: str,
    external_id: str | None = None,
    attachments: list[AttachmentRef] | None = None,
) -> None:
    """An agency's action: on the regions' feed, and counted by kind of agency."""
    feed.emit_change(
        session,
        emit,
        routing,
        change,
        at,
        actor_kind,
        text,
        attachments=attachments,
        external_id=external_id,
    )
    kind = _kind_of(session, routing.agency_id)
    after_commit(session, lambda: HOPS.labels(hop, kind).inc())


def _require(routing: Routing, statuses: tuple[str, ...]) -> None:
    if routing.status not in statuses:
        raise ActionRefused(409, f"laporan berstatus {routing.status} / report is {routing.status}")


def _kind_of(session: Session, agency_id: str) -> str:
    found = session.get(Agency, agency_id)
    return found.kind if found else "unknown"


def forward(
    session: Session,
    emit: Emit,
    routing: Routing,
    actor: str,
    actor_agency: str,
    target_id: str,
    reason: str,
    actor_kind: str = "agency",
    external_id: str | None = None,
) -> Entry:
    """Pass the report down to a unit or kecamatan of the same agency."""
    _require(routing, OPEN)
    get = lookup(session)
    target = get(target_id)
    if target is None or not target.active or target.kind not in ("unit", "kecamatan"):
        raise ActionRefused(422, "unit tujuan tidak dikenal / unknown unit")
    if not domain.is_within(target, routing.agency_id, get):
        raise ActionRefused(422, "unit di luar instansi ini / unit outside this agency")
    if target.kind == "unit" and actor_agency not in (routing.agency_id,):
        raise ActionRefused(403, "hanya instansi induk / only the parent agency")
    if target.id in (routing.unit_id, routing.subunit_id):
        raise ActionRefused(409, "sudah di unit itu / already there")
    now = datetime.now(UTC)
    if target.kind == "unit":
        routing.unit_id, routing.unit_name = target.id, target.name
    else:
        routing.subunit_id, routing.subunit_name = target.id, target.name
    routing.updated_at = now
    entry = _log(
        session, routing.report_id, "forwarded", actor, now, actor_agency, target.id, reason
    )
    emit(
        ReportForwarded(
            report_id=routing.report_id,
            from_agency_id=actor_agency,
            to_agency_id=target.id,
            to_agency_name=target.name,
            within_agency=True,
            reason=reason,
            forwarded_by=actor,
            forwarded_at=now,
        )
    )
    _announce(
        session,
        emit,
        routing,
        "forwarded",
        "forwarded_within",
        now,
        actor_kind,
        reason,
        external_id,
    )
    return entry


def reroute(
    session: Session, emit: Emit, routing: Routing, actor: str, target_id: str, reason: str
) -> Entry:
    """An administrator hands the report to another agency (a manual disposition)."""
    _require(routing, (*OPEN, "pending_region"))
    target = session.get(Agency, target_id)
    if target is None or not target.active or target.kind in ("unit", "kecamatan", "kota_adm"):
        raise ActionRefused(422, "instansi tujuan tidak dikenal / unknown agency")
    if target.id == routing.agency_id:
        raise ActionRefused(409, "sudah di instansi itu / already there")
    now = datetime.now(UTC)
    previous = routing.agency_id
    if not target.connected and target.kind in domain.REGIONAL:
        decision = domain.Decision(node(target), f"manual:{actor}", pending=True)
        feed.emit_change(
            session, emit, routing, "rerouted", now, "administrator", reason, agency_id=previous
        )
        apply_decision(session, emit, routing, decision, now, actor, "manual")
        return _log(session, routing.report_id, "rerouted", actor, now, previous, target.id, reason)
    routing.agency_id, routing.agency_name = target.id, target.name
    routing.unit_id = routing.unit_name = routing.subunit_id = routing.subunit_name = None
    routing.rule = f"manual:{actor}"
    routing.status = "routed"
    routing.first_response_at = None
    routing.updated_at = now
    entry = _log(session, routing.report_id, "rerouted", actor, now, previous, target.id, reason)
    feed.emit_change(
        session, emit, routing, "rerouted", now, "administrator", reason, agency_id=previous
    )
    feed.emit_change(session, emit, routing, "routed", now, "administrator", reason)
    emit(
        ReportForwarded(
            report_id=routing.report_id,
            from_agency_id=previous,
            to_agency_id=target.id,
            to_agency_name=target.name,
            within_agency=False,
            reason=reason,
            forwarded_by=actor,
            forwarded_at=now,
        )
    )
    after_commit(session, lambda: HOPS.labels("forwarded_across", target.kind).inc())
    after_commit(
        session,
        lambda: ROUTED.labels(target.id, target.kind, routing.regency_code[:2], "manual").inc(),
    )
    return entry


def return_report(
    session: Session,
    emit: Emit,
    routing: Routing,
    actor: str,
    actor_agency: str,
    reason: str,
    actor_kind: str = "agency",
) -> Entry:
    """Not ours: back to verification for another routing, with the reason."""
    _require(routing, OPEN)
    if actor_agency != routing.agency_id:
        raise ActionRefused(403, "hanya instansi penanggung jawab / only the agency in charge")
    now = datetime.now(UTC)
    returned = json.loads(routing.returned_by)
    if routing.agency_id not in returned:
        returned.append(routing.agency_id)
    routing.returned_by = json.dumps(returned)
    routing.status = "returned"
    routing.updated_at = now
    routing.first_response_due = None
    entry = _log(session, routing.report_id, "returned", actor, now, routing.agency_id, text=reason)
    emit(
        ReportReturned(
            report_id=routing.report_id,
            agency_id=routing.agency_id,
            reason=reason,
            returned_by=actor,
            returned_at=now,
        )
    )
    _announce(session, emit, routing, "returned", "returned", now, actor_kind, reason)
    return entry


def post_followup(
    session: Session,
    emit: Emit,
    routing: Routing,
    actor: str,
    actor_agency: str,
    text: str,
    kind: str,
    attachments: list[AttachmentRef],
    entry_id: str,
    actor_kind: str = "agency",
    external_id: str | None = None,
    late_ok: bool = False,
) -> Entry:
    """A follow-up (tindak lanjut), a question to the reporter or an acknowledgement.

    ``late_ok``: a region's system may deliver a follow-up after its resolution (calls
    arrive out of order); it is logged and published, and the status stays.
    """
    _require(routing, (*OPEN, "resolved", "closed") if late_ok else OPEN)
    now = datetime.now(UTC)
    agency_kind = _kind_of(session, routing.agency_id)
    if routing.first_response_at is None:
        routing.first_response_at = now
        waited = (now - routing.routed_at).total_seconds()
        after_commit(session, lambda: FIRST_RESPONSE.labels(agency_kind).observe(max(0, waited)))
    if routing.status in OPEN:
        routing.status = "in_progress"
    routing.updated_at = now
    entry = _log(
        session,
        routing.report_id,
        kind,
        actor,
        now,
        actor_agency,
        text=text,
        attachments=attachments,
        entry_id=entry_id,
    )
    emit(
        ReportFollowupPosted(
            report_id=routing.report_id,
            agency_id=actor_agency,
            followup_id=entry_id,
            text=text,
            posted_by=actor,
            posted_at=now,
            kind=kind,  # type: ignore[arg-type]
            attachments=attachments,
        )
    )
    _announce(session, emit, routing, kind, kind, now, actor_kind, text, external_id, attachments)
    return entry


def resolve(
    session: Session,
    emit: Emit,
    routing: Routing,
    actor: str,
    actor_agency: str,
    summary: str,
    actor_kind: str = "agency",
    external_id: str | None = None,
) -> Entry:
    """The agency's work is done; the reporter is asked whether it solved the problem."""
    _require(routing, OPEN)
    now = datetime.now(UTC)
    routing.status = "resolved"
    routing.resolved_at = now
    routing.updated_at = now
    entry = _log(session, routing.report_id, "resolved", actor, now, actor_agency, text=summary)
    emit(
        ReportResolved(
            report_id=routing.report_id,
            agency_id=actor_agency,
            summary=summary,
            resolved_by=actor,
            resolved_at=now,
        )
    )
    _announce(session, emit, routing, "resolved", "resolved", now, actor_kind, summary, external_id)
    return entry


def set_connected(session: Session, emit: Emit, agency: Agency, connected: bool, actor: str) -> int:
    """Connect (or disconnect) a regional government; connecting releases its pending
    reports to it. Returns how many were released."""
    now = datetime.now(UTC)
    agency.connected = connected
    agency.updated_at, agency.updated_by = now, actor
    if not connected:
        return 0
    session.flush()
    held = session.exec(
        select(Routing).where(Routing.status == "pending_region", Routing.agency_id == agency.id)
    ).all()
    get, active_rules = lookup(session), rules(session)
    for routing in held:
        decision = domain.choose(
            active_rules,
            routing.category,
            routing.regency_code,
            routing.district_code,
            get,
            json.loads(routing.returned_by),
        )
        apply_decision(session, emit, routing, decision, now, actor, "released")
    return len(held)


def count_pending(session: Session) -> dict[str, int]:
    """Pending reports per regency."""
    c = Routing.__table__.c  # type: ignore[attr-defined]
    query = (
        sa.select(c.regency_code, sa.func.count())
        .where(c.status == "pending_region")
        .group_by(c.regency_code)
    )
    return {code: n for code, n in session.execute(query)}


def region_name(code: str | None) -> str:
    """A Kemendagri code with its name (``32.73 Kota Bandung``)."""
    if not code:
        return ""
    area = areas.get(code)
    return f"{code} {area.name}" if area else code


def on_region_client(ctx: HandlerContext, event: RegionClientChanged) -> None:
    """A regional client revoked at the gateway: its tokens stop opening the region API."""
    if event.revoked and ctx.session.get(RevokedRegionClient, event.client_id) is None:
        ctx.session.add(
            RevokedRegionClient(
                client_id=event.client_id, region=event.region, revoked_at=event.changed_at
            )
        )


HANDLERS: dict[str, Any] = {
    "id.aduan.region.client_changed.v1": on_region_client,
    "id.aduan.report.submitted.v1": on_submitted,
    "id.aduan.report.submitted.v2": sealing.opening(on_submitted, sealing.opened_submitted),
    "id.aduan.report.information_added.v1": on_information_added,
    "id.aduan.report.information_added.v2": sealing.opening(
        on_information_added, sealing.opened_added
    ),
    "id.aduan.report.verified.v1": on_verified,
    "id.aduan.report.reporter_replied.v1": on_replied,
    "id.aduan.sla.deadline_opened.v1": on_deadline,
    "id.aduan.sla.deadline_updated.v1": on_deadline,
    "id.aduan.sla.warning.v1": ignore,
    "id.aduan.sla.breached.v1": ignore,
    "id.aduan.report.closed.v1": on_closed,
    "id.aduan.report.escalated.v1": on_escalated,
}
