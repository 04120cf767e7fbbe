"""Verification's handlers and decisions; ``handlers()`` builds the table at the end.

Every report gets the automatic checks (verification/checks.py). A confident outcome is
published at once; an incomplete report asks the citizen (the clock pauses in the SLA
service) and is checked again when the answer comes; anything uncertain waits in the
verifiers' queue. Verifiers' actions go through :func:`apply_decision`, the same path,
and every step is written to the audit log.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from services import masking, sealing, uploads
from services.bus import Handler, HandlerContext, Outbox, concerning, ignore
from services.contracts import (
    DeadlineOpened,
    DeadlineUpdated,
    Redaction,
    ReportInformationAdded,
    ReportInformationRequested,
    ReportRejected,
    ReportReturned,
    ReportSubmitted,
    ReportVerified,
)
from services.metrics import after_commit
from verification import checks
from verification.models import (
    AuditEntry,
    BlockedSender,
    Case,
    ClockDue,
    Decision,
    EarlyAddition,
)
from verification.settings import VerificationSettings

DECISIONS = Counter(
    "aduan_verification_decisions_total",
    "Verification outcomes, by outcome (verified, rejected reason, information_requested, "
    "queued) and by who decided (auto or verifier).",
    ["outcome", "decided_by"],
)
FINDINGS = Counter(
    "aduan_verification_findings_total",
    "What the automatic checks found, by check and rule.",
    ["check", "rule"],
)
DECISION_SECONDS = Histogram(
    "aduan_verification_decision_seconds",
    "Time from a report's submission to its verification decision, by who decided.",
    ["decided_by"],
    buckets=(1, 10, 60, 600, 3600, 4 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400),
)

# Cases a later report can repeat: not those rejected (a duplicate links to the case it
# repeats, not to another duplicate; spam is no case).
_CANDIDATE_LIMIT = 500


_INSERT_AUDIT = sa.insert(AuditEntry.__table__)  # type: ignore[attr-defined]


def audit(
    session: Session, report_id: str, actor: str, role: str, action: str, detail: str
) -> None:
    """One line of the audit log: one INSERT on the session's connection, at once (no
    model object, nothing for a flush), so lines keep the order they were written in."""
    session.connection().execute(
        _INSERT_AUDIT,
        {
            "report_id": report_id,
            "actor": actor[:64],
            "role": role[:32],
            "action": action[:32],
            "detail": detail[:1000],
            "at": datetime.now(UTC),
        },
    )


def audit_log(session: Session, report_id: str) -> list[AuditEntry]:
    """A report's audit log, oldest first."""
    query = (
        select(AuditEntry).where(AuditEntry.report_id == report_id).order_by(AuditEntry.id)  # type: ignore[arg-type]
    )
    return list(session.exec(query).all())


def _candidates() -> sa.Select[Any]:
    c = Case.__table__.c  # type: ignore[attr-defined]
    same = sa.or_(
        c.reporter_ref == sa.bindparam("reporter_ref"),
        sa.and_(
            c.regency_code == sa.bindparam("regency_code"),
            c.category == sa.bindparam("category"),
        ),
    )
    not_rejected = sa.or_(c.outcome.is_(None), ~c.outcome.like("rejected%"))
    return (
        sa.select(c.report_id, c.tracking_number, c.reporter_ref, c.category, c.regency_code)
        .add_columns(c.text, c.submitted_at)
        .add_columns(
            # Another reporter may be told this report's number only if they can open it.
            sa.and_(c.outcome == "verified", c.confidential.is_(False), c.anonymous.is_(False))
        )
        .where(
            same,
            not_rejected,
            c.submitted_at >= sa.bindparam("since"),
            c.report_id != sa.bindparam("report_id"),
        )
        .order_by(c.submitted_at.desc())
        .limit(_CANDIDATE_LIMIT)
    )


def _recent() -> sa.Select[Any]:
    c = Case.__table__.c  # type: ignore[attr-defined]
    return sa.select(sa.func.count()).where(
        c.reporter_ref == sa.bindparam("reporter_ref"),
        c.submitted_at >= sa.bindparam("since"),
        c.report_id != sa.bindparam("report_id"),
    )


# Built once: these run for every report, and building a statement costs about as much
# as SQLite takes to run it.
_CANDIDATES = _candidates()
_RECENT = _recent()
_EARLY_ADDITIONS = (
    select(EarlyAddition)
    .where(EarlyAddition.report_id == sa.bindparam("report_id"))
    .order_by(EarlyAddition.added_at, EarlyAddition.event_id)  # type: ignore[arg-type]
)


def _earlier(session: Session, case: Case, window_days: int) -> list[checks.Earlier]:
    rows = session.execute(
        _CANDIDATES,
        {
            "reporter_ref": case.reporter_ref,
            "regency_code": case.regency_code,
            "category": case.category,
            "since": case.submitted_at - timedelta(days=window_days),
            "report_id": case.report_id,
        },
    )
    return [checks.Earlier(*row) for row in rows]


def _recent_by_reporter(session: Session, case: Case) -> int:
    found = session.execute(
        _RECENT,
        {
            "reporter_ref": case.reporter_ref,
            "since": case.submitted_at - timedelta(hours=1),
            "report_id": case.report_id,
        },
    )
    return int(found.scalar_one())


_BLOCKED_REASON = sa.select(BlockedSender.__table__.c.reason).where(  # type: ignore[attr-defined]
    BlockedSender.__table__.c.reporter_ref == sa.bindparam("ref")  # type: ignore[attr-defined]
)
_CASE_KNOWN = sa.select(sa.literal(1)).where(
    Case.__table__.c.report_id == sa.bindparam("report_id")  # type: ignore[attr-defined]
)


def check_case(session: Session, case: Case, settings: VerificationSettings) -> checks.Outcome:
    """Run every automatic check on a case as it stands now."""
    # On the connection: a sender is blocked by an administrator's own transaction, never
    # in the one that checks (nothing pending to flush first).
    blocked = session.connection().execute(_BLOCKED_REASON, {"ref": case.reporter_ref}).first()
    title, _, body = case.text.partition("\n")
    return checks.run_checks(
        title=title,
        body=body,
        category=case.category,
        anonymous=case.anonymous,
        reporter_ref=case.reporter_ref,
        regency_code=case.regency_code,
        submitted_at=case.submitted_at,
        earlier=_earlier(session, case, settings.duplicate_window_days),
        recent_by_reporter=_recent_by_reporter(session, case),
        blocked_reason=blocked[0] if blocked is not None else None,
        thresholds=settings.thresholds(),
    )


Emit = Callable[[Any, str], None]


def _parts(case: Case) -> tuple[str, str, list[str]]:
    """A case's text as its parts: the title as submitted, the story, each addition."""
    title_line, _, rest = case.text.partition("\n")
    additions: list[str] = json.loads(case.additions)
    tail = "".join(f"\n\n{a}" for a in additions)
    if not rest.endswith(tail):
        return title_line, rest, []  # an older case whose additions only live in its text
    return title_line, rest[: len(rest) - len(tail)], additions


def make_anonymous(case: Case) -> int:
    """A verifier made a named report Anonim: the case's texts become the ones intake
    masked the reporter's own identity out of (``report.submitted.anonymous_*``).
    Returns how many texts changed."""
    masked = json.loads(case.anonymous_texts) if case.anonymous_texts else None
    if not masked:
        return 0
    title_line, story, additions = _parts(case)
    changed = 0
    if masked.get("title"):
        if case.title == title_line:  # a title the verifier corrected is their own words
            case.title = masked["title"]
        title_line, changed = masked["title"], changed + 1
    if masked.get("body"):
        story, changed = masked["body"], changed + 1
    for n, text in enumerate(masked.get("additions", [])[: len(additions)]):
        if text:
            additions[n], changed = text, changed + 1
    case.text = f"{title_line}\n{story}" + "".join(f"\n\n{a}" for a in additions)
    case.additions = json.dumps(additions, ensure_ascii=False)
    case.anonymous, case.anonymous_texts = True, None
    return changed


def redact(
    case: Case, phrases: list[str], withheld: list[str], masked: int = 0
) -> tuple[Redaction, str] | None:
    """Cover the phrases in the case's title, story and additions (verification then holds
    only the covered texts), and withhold the files named: the redaction every reader but
    the reporter and the administrators will see, and the audit's account of it (where,
    how long, which files; never the covered words). ``masked``: texts make_anonymous
    changed, which go on as a redaction too. None when nothing was covered."""
    files = {f["attachment_id"] for f in json.loads(case.files)}
    unknown = [a for a in withheld if a not in files]
    if unknown:
        raise ValueError(f"lampiran tidak dikenal / unknown attachment: {', '.join(unknown)}")
    title_line, story, additions = _parts(case)
    title, in_title = masking.cover(case.title, phrases)
    story, in_story = masking.cover(story, phrases)
    covered = [masking.cover(a, phrases) for a in additions]
    passages = len(in_title) + len(in_story) + sum(len(spans) for _, spans in covered)
    if not passages and not withheld and not masked:
        return None
    case.title = title
    case.additions = json.dumps([a for a, _ in covered], ensure_ascii=False)
    case.text = f"{masking.cover(title_line, phrases)[0]}\n{story}" + "".join(
        f"\n\n{a}" for a, _ in covered
    )
    case.withheld = json.dumps(sorted(set(withheld)))
    findings = json.loads(case.findings)
    for f in findings:  # a check's evidence quotes the text ("nama: ...")
        f["detail"] = masking.cover(f["detail"], phrases)[0]
        f["evidence"] = [masking.cover(e, phrases)[0] for e in f["evidence"]]
    case.findings = json.dumps(findings, ensure_ascii=False)

    def where(name: str, spans: list[tuple[int, int]]) -> str:
        return f"{name} " + ", ".join(f"{a}-{b} ({b - a})" for a, b in spans)

    parts = [where("title", in_title)] if in_title else []
    parts += [where("story", in_story)] if in_story else []
    parts += [where(f"addition {n + 1}", sp) for n, (_, sp) in enumerate(covered) if sp]
    parts += [f"withheld {', '.join(sorted(set(withheld)))}"] if withheld else []
    parts += [f"the reporter's identity masked in {masked} text(s)"] if masked else []
    detail = f"{passages} passage(s) covered: " + "; ".join(parts)
    return (
        Redaction(
            title=title,
            story=story[:20_000],
            additions=[a for a, _ in covered],
            withheld=sorted(set(withheld)),
            passages=passages,
        ),
        detail[:1000],
    )


def apply_decision(
    session: Session,
    emit: Emit,
    case: Case,
    outcome: checks.Outcome,
    *,
    actor: str = "auto",
    role: str = "system",
    corrections: dict[str, Any] | None = None,
    cover: tuple[list[str], list[str]] | None = None,
) -> None:
    """Record an outcome on the case, publish its event, and audit it. ``cover``: the
    verifier's redaction (phrases to cover, attachment ids to withhold)."""
    now = datetime.now(UTC)
    decided_by = "auto" if actor == "auto" else "verifier"
    if cover:  # the verifier's reason is published too: it never says the covered words
        outcome = dataclasses.replace(outcome, reason=masking.cover(outcome.reason, cover[0])[0])
    case.findings = json.dumps([f.as_dict() for f in outcome.findings], ensure_ascii=False)
    case.missing = json.dumps(list(outcome.missing))
    case.duplicate_of = outcome.duplicate_of
    case.updated_at = now
    if outcome.action == "queued":
        case.state, case.outcome, case.queue_reason = "queued", None, outcome.reason[:500]
    elif outcome.action == "information_requested":
        case.state, case.outcome = "awaiting_info", "information_requested"
        emit(
            ReportInformationRequested(
                report_id=case.report_id,
                missing=list(outcome.missing),
                message=outcome.reason[:1000],
                requested_by=decided_by,  # type: ignore[arg-type]
                requested_at=now,
            ),
            case.report_id,
        )
    else:
        final = "verified" if outcome.action == "verified" else f"rejected:{outcome.reason_code}"
        case.state, case.outcome, case.queue_reason = "decided", final, ""
        _record_decision(session, case, outcome, decided_by, now)
        if outcome.action == "verified":
            fix = corrections or {}
            case.title = fix.get("title") or case.title
            case.category = fix.get("category") or case.category
            case.regency_code = fix.get("regency_code") or case.regency_code
            if case.district_code and not case.district_code.startswith(case.regency_code):
                case.district_code = None  # the verifier moved it to another regency
            # Made Anonim now: what leaves for the agency is masked as if it always was.
            masked = make_anonymous(case) if fix.get("anonymous") and not case.anonymous else 0
            redaction = (
                redact(case, *(cover or ([], [])), masked=masked) if cover or masked else None
            )
            if redaction is not None and cover:
                for line in audit_log(session, case.report_id):  # none keeps the words
                    line.detail = masking.cover(line.detail, cover[0])[0][:1000]
                    session.add(line)
            if redaction is not None:
                audit(session, case.report_id, actor, role, "redacted", redaction[1])
            emit(
                ReportVerified(
                    report_id=case.report_id,
                    title=case.title,
                    category=case.category,
                    regency_code=case.regency_code,
                    district_code=case.district_code,
                    decided_by=decided_by,  # type: ignore[arg-type]
                    reason=outcome.reason[:500],
                    verified_at=now,
                    anonymous=fix.get("anonymous"),
                    confidential=fix.get("confidential"),
                    redaction=redaction[0] if redaction else None,
                ),
                case.report_id,
            )
        else:
            emit(
                ReportRejected(
                    report_id=case.report_id,
                    reason_code=outcome.reason_code,  # type: ignore[arg-type]
                    reason=outcome.reason[:500],
                    decided_by=decided_by,  # type: ignore[arg-type]
                    rejected_at=now,
                ),
                case.report_id,
            )
        took = max((now - case.submitted_at).total_seconds(), 0.0)
        after_commit(session, lambda: DECISION_SECONDS.labels(decided_by).observe(took))
    session.add(case)
    label = outcome.action if outcome.action != "rejected" else f"rejected:{outcome.reason_code}"
    after_commit(session, DECISIONS.labels(label, decided_by).inc)
    for f in outcome.findings if actor == "auto" else ():
        after_commit(session, FINDINGS.labels(f.check, f.rule).inc)
    audit(session, case.report_id, actor, role, outcome.action, outcome.reason)


def _record_decision(
    session: Session, case: Case, outcome: checks.Outcome, decided_by: str, now: datetime
) -> None:
    """Insert the report's decision, or replace the one it has: one statement, no read
    first and no model object (nothing in a handler or the API holds a loaded decision
    in the same transaction)."""
    conn = session.connection()
    conn.execute(
        _KEEP_DECISION[conn.dialect.name],
        {
            "report_id": case.report_id,
            "outcome": "verified" if outcome.action == "verified" else "rejected",
            "reason_code": outcome.reason_code,
            "reason": outcome.reason[:500],
            "decided_by": decided_by,
            "category": case.category,
            "regency_code": case.regency_code,
            "decided_at": now,
        },
    )


def _add(session: Session, case: Case, event: ReportInformationAdded) -> None:
    """Put what the citizen added into the case (its texts, files and the audit)."""
    case.text = f"{case.text}\n\n{event.text}"[:40_000]
    before = len(json.loads(case.additions))
    case.additions = json.dumps([*json.loads(case.additions), event.text], ensure_ascii=False)
    if event.anonymous_text:  # aligned with the additions: the n-th masks the n-th
        masked = json.loads(case.anonymous_texts or "{}")
        kept = masked.get("additions", [])
        masked["additions"] = [*kept, *[None] * (before - len(kept)), event.anonymous_text]
        case.anonymous_texts = json.dumps(masked, ensure_ascii=False)
    case.answers += 1
    if event.attachments:
        case.files = uploads.with_refs(case.files, event.attachments)
    audit(session, case.report_id, "reporter", "citizen", "information_added", "")


def _keep_by_report(table: sa.Table, columns: Iterable[str]) -> dict[str, sa.Executable]:
    """Per dialect: insert a report's row of ``table``, or replace ``columns`` of the one
    it has (one statement, no read first)."""
    made: dict[str, sa.Executable] = {}
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert)):
        stmt = insert(table)
        made[name] = stmt.on_conflict_do_update(
            index_elements=["report_id"], set_={c: stmt.excluded[c] for c in columns}
        )
    return made


# The verification deadline (the clock's events come once per change) and the decision.
_KEEP_DUE = _keep_by_report(ClockDue.__table__, ("due_at", "status", "updated_at"))  # type: ignore[attr-defined]
_KEEP_DECISION = _keep_by_report(
    Decision.__table__,  # type: ignore[attr-defined]
    [c.name for c in Decision.__table__.columns if c.name != "report_id"],  # type: ignore[attr-defined]
)


def make_handlers(settings: VerificationSettings) -> dict[str, Handler]:
    """The handler table, with the settings bound."""

    def on_submitted(ctx: HandlerContext, event: ReportSubmitted) -> None:
        """Check a new report and decide what a machine can decide."""
        # Through the session: this flushes what earlier events of the batch left pending
        # (a case, an addition that came first), so that it is seen here and below.
        if ctx.session.execute(_CASE_KNOWN, {"report_id": event.report_id}).first():
            return  # checked already (a replayed submission under a new event id)
        case = Case(
            report_id=event.report_id,
            tracking_number=event.tracking_number,
            # The sender (a keyed hash of the contact given), for the same-sender, flood and
            # block checks; older events have only the reporter reference.
            reporter_ref=event.sender_ref or event.reporter_ref,
            category=event.category,
            regency_code=event.regency_code,
            district_code=event.district_code,
            title=event.title,
            text=f"{event.title}\n{event.body}",
            anonymous=event.anonymous,
            confidential=event.confidential,
            channel=event.channel,
            submitted_at=event.submitted_at,
            report_type=event.report_type,
            files=uploads.with_refs("[]", event.attachments),
            anonymous_texts=(
                json.dumps(
                    {"title": event.anonymous_title, "body": event.anonymous_body},
                    ensure_ascii=False,
                )
                if event.anonymous_title or event.anonymous_body
                else None
            ),
            state="new",
            updated_at=datetime.now(UTC),
        )
        # The case is written once, as decided (not INSERT, then UPDATE), by the next
        # event's flush or the commit's; its audit lines and decision are statements of
        # their own. The checks' queries leave out this report's own row, and nothing
        # else is pending, so nothing needs flushing before them.
        with ctx.session.no_autoflush:
            audit(ctx.session, case.report_id, "auto", "system", "received", f"via {case.channel}")
            # What the citizen added before the report itself reached us, in the order added.
            early = ctx.session.execute(_EARLY_ADDITIONS, {"report_id": case.report_id})
            for row in early.scalars():
                _add(ctx.session, case, ReportInformationAdded.model_validate_json(row.event))
                ctx.session.delete(row)
            outcome = check_case(ctx.session, case, settings)
            apply_decision(ctx.session, _emitter(ctx), case, outcome)

    def on_information_added(ctx: HandlerContext, event: ReportInformationAdded) -> None:
        """The citizen answered (or added unasked): check the report again."""
        case = ctx.session.get(Case, event.report_id)
        if case is None:  # it overtook report.submitted: kept until the report arrives
            ctx.session.add(
                EarlyAddition(
                    event_id=ctx.event.id,
                    report_id=event.report_id,
                    added_at=event.added_at,
                    event=event.model_dump_json(),
                )
            )
            return
        _add(ctx.session, case, event)
        if case.state != "awaiting_info":
            ctx.session.add(case)
            return  # a verifier will read it in the case, or it was decided already
        outcome = check_case(ctx.session, case, settings)
        if outcome.action == "information_requested":
            # Asked once and still short: a person decides rather than asking forever.
            outcome = checks.Outcome(
                "queued",
                None,
                "Pelapor sudah menjawab tetapi laporan masih kurang: "
                + ", ".join(outcome.missing)
                + ". / Answered, still missing: "
                + ", ".join(outcome.missing),
                outcome.findings,
                outcome.missing,
            )
        apply_decision(ctx.session, _emitter(ctx), case, outcome)

    def on_returned(ctx: HandlerContext, event: ReportReturned) -> None:
        """An agency says the report is not theirs: it comes back to the queue."""
        case = ctx.session.get(Case, event.report_id)
        if case is None:
            raise LookupError("a return for a report verification never received")
        case.state, case.outcome = "queued", None
        case.queue_reason = f"Dikembalikan oleh {event.agency_id}: {event.reason}"[:500]
        case.updated_at = datetime.now(UTC)
        ctx.session.add(case)
        audit(ctx.session, case.report_id, event.returned_by, "agency", "returned", event.reason)

    @concerning(lambda e: e.clock == "verification")
    def on_deadline(ctx: HandlerContext, event: DeadlineOpened | DeadlineUpdated) -> None:
        """Keep the verification clock's deadline for the queue's order."""
        conn = ctx.session.connection()
        conn.execute(
            _KEEP_DUE[conn.dialect.name],
            {
                "report_id": event.report_id,
                "due_at": event.due_at,
                "status": getattr(event, "status", "open"),
                "updated_at": datetime.now(UTC),
            },
        )

    return {
        "id.aduan.report.submitted.v1": on_submitted,
        "id.aduan.report.submitted.v2": sealing.opening(on_submitted, sealing.opened_submitted),
        "id.aduan.report.information_added.v1": on_information_added,
        "id.aduan.report.information_added.v2": sealing.opening(
            on_information_added, sealing.opened_added
        ),
        "id.aduan.report.returned.v1": on_returned,
        "id.aduan.report.forwarded.v1": ignore,
        "id.aduan.report.followup_posted.v1": ignore,
        "id.aduan.report.resolved.v1": ignore,
        "id.aduan.report.reopened.v1": ignore,
        "id.aduan.sla.deadline_opened.v1": on_deadline,
        "id.aduan.sla.deadline_updated.v1": on_deadline,
        "id.aduan.sla.warning.v1": ignore,
        "id.aduan.sla.breached.v1": ignore,
    }


def _emitter(ctx: HandlerContext) -> Emit:
    def emit(payload: Any, subject: str) -> None:
        ctx.emit(payload, subject=subject)

    return emit


def outbox_emitter(session: Session, outbox: Outbox) -> Emit:
    """An emitter for the API's decisions (the same outbox, the same transaction)."""

    def emit(payload: Any, subject: str) -> None:
        outbox.emit(session, payload, subject)

    return emit


def get_decision(session: Session, report_id: str) -> Decision | None:
    """The decision about a report, if any."""
    return session.get(Decision, report_id)


def queue(session: Session, state: str, limit: int, offset: int) -> list[tuple[Case, Any]]:
    """Cases waiting, the nearest verification deadline first (deferred ones last)."""
    due = ClockDue.__table__.c  # type: ignore[attr-defined]
    query = (
        select(Case, due.due_at)
        .join(ClockDue, ClockDue.report_id == Case.report_id, isouter=True)  # type: ignore[arg-type]
        .where(Case.state == state)
        .order_by(
            Case.deferred_until.is_not(None),  # type: ignore[union-attr]
            due.due_at.is_(None),
            due.due_at,
            Case.submitted_at,  # type: ignore[arg-type]
        )
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in session.exec(query)]  # type: ignore[call-overload]
