"""Routing's handlers; HANDLERS at the end."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from routing import domain
from routing.models import Routing
from services.bus import HandlerContext
from services.contracts import ReportRouted, ReportVerified


def on_verified(ctx: HandlerContext, event: ReportVerified) -> None:
    """Route a verified report to its agency, once."""
    if ctx.session.get(Routing, event.report_id) is not None:
        return
    agency, rule = domain.choose(event.category, event.regency_code)
    now = datetime.now(UTC)
    ctx.session.add(
        Routing(
            report_id=event.report_id,
            agency_id=agency.id,
            agency_name=agency.name,
            regency_code=event.regency_code,
            category=event.category,
            rule=rule,
            routed_at=now,
        )
    )
    ctx.emit(
        ReportRouted(
            report_id=event.report_id,
            agency_id=agency.id,
            agency_name=agency.name,
            regency_code=event.regency_code,
            rule=rule,
            routed_at=now,
            timezone=domain.timezone_of(rule, event.regency_code),
        ),
        subject=event.report_id,
    )


def get_routing(session: Session, report_id: str) -> Routing | None:
    """Where a report was routed, if it was."""
    return session.get(Routing, report_id)


HANDLERS = {"id.aduan.report.verified.v1": on_verified}
