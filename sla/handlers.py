"""SLA's handlers; HANDLERS at the end."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from services.bus import HandlerContext
from services.contracts import DeadlineOpened, ReportRouted
from sla import domain
from sla.models import Deadline
from sla.settings import SlaSettings


def make_on_routed(settings: SlaSettings):  # type: ignore[no-untyped-def]
    """The handler that opens the agency's first-response clock."""

    def on_routed(ctx: HandlerContext, event: ReportRouted) -> None:
        """Open the first-response clock, once per report."""
        exists = ctx.session.exec(
            select(Deadline.id).where(
                Deadline.report_id == event.report_id, Deadline.clock == "first_response"
            )
        ).first()
        if exists is not None:
            return
        days = settings.first_response_working_days
        due = domain.add_working_days(event.routed_at, days, settings.default_timezone)
        deadline = Deadline(
            id=uuid.uuid4().hex,
            report_id=event.report_id,
            clock="first_response",
            agency_id=event.agency_id,
            starts_at=event.routed_at,
            due_at=due,
            working_days=days,
        )
        ctx.session.add(deadline)
        ctx.emit(
            DeadlineOpened(
                report_id=event.report_id,
                deadline_id=deadline.id,
                clock="first_response",
                agency_id=event.agency_id,
                starts_at=event.routed_at,
                due_at=due,
                working_days=days,
            ),
            subject=event.report_id,
        )

    return on_routed


def deadlines_of(session: Session, report_id: str) -> list[Deadline]:
    """Every clock of a report."""
    return list(session.exec(select(Deadline).where(Deadline.report_id == report_id)))


def handlers(settings: SlaSettings) -> dict[str, object]:
    """The handler table."""
    return {"id.aduan.report.routed.v1": make_on_routed(settings)}
