"""Verification's handlers; HANDLERS at the end."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from services.bus import HandlerContext
from services.contracts import ReportRejected, ReportSubmitted, ReportVerified
from verification import domain
from verification.models import Decision
from verification.settings import VerificationSettings


def make_on_submitted(settings: VerificationSettings):  # type: ignore[no-untyped-def]
    """The handler for new reports, with its threshold bound."""

    def on_submitted(ctx: HandlerContext, event: ReportSubmitted) -> None:
        """Decide automatically and say so."""
        if ctx.session.get(Decision, event.report_id) is not None:
            return  # decided already (a replayed submission under a new event id)
        verdict = domain.judge(event.title, event.body, settings.min_words)
        now = datetime.now(UTC)
        ctx.session.add(
            Decision(
                report_id=event.report_id,
                outcome=verdict.outcome,
                reason_code=verdict.reason_code,
                reason=verdict.reason,
                decided_by="auto",
                category=event.category,
                regency_code=event.regency_code,
                decided_at=now,
            )
        )
        if verdict.outcome == "verified":
            ctx.emit(
                ReportVerified(
                    report_id=event.report_id,
                    title=event.title,
                    category=event.category,
                    regency_code=event.regency_code,
                    decided_by="auto",
                    reason=verdict.reason,
                    verified_at=now,
                ),
                subject=event.report_id,
            )
        else:
            ctx.emit(
                ReportRejected(
                    report_id=event.report_id,
                    reason_code=verdict.reason_code,  # type: ignore[arg-type]
                    reason=verdict.reason,
                    decided_by="auto",
                    rejected_at=now,
                ),
                subject=event.report_id,
            )

    return on_submitted


def get_decision(session: Session, report_id: str) -> Decision | None:
    """The decision about a report, if any."""
    return session.get(Decision, report_id)


def handlers(settings: VerificationSettings) -> dict[str, object]:
    """The handler table."""
    return {"id.aduan.report.submitted.v1": make_on_submitted(settings)}
