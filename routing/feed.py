"""The regions' feed: every change to a report held by a connected regional government,
as ``id.aduan.region.report_changed.v1``, to ``region.feed`` (the gateway's input) and to
the province's own topic (``<namespace>.region.<code>``, for regions reading Kafka), in
the transaction of the change itself.

The province topic is what a province may read (services/regions.py): a confidential
report held by one of its regencies arrives there without its texts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from routing.models import Agency, ReportCopy, Routing
from services import lifecycle, regions
from services.contracts import AttachmentRef, CloudEvent, Payload, RegionReportChanged
from services.settings import KitSettings


class Emit(Protocol):
    """Emits into the outbox of the current transaction: to the payload's catalogue
    topic, or to ``topic`` (a full name) with the CloudEvent id ``event_id``."""

    kit: KitSettings

    def __call__(
        self, payload: Payload, topic: str | None = None, event_id: str | None = None
    ) -> CloudEvent: ...


def emit_change(
    session: Session,
    emit: Emit,
    routing: Routing,
    change: str,
    at: datetime,
    actor_kind: str,
    text: str = "",
    satisfied: bool | None = None,
    attachments: list[AttachmentRef] | None = None,
    external_id: str | None = None,
    agency_id: str | None = None,
) -> RegionReportChanged | None:
    """Tell the regions about a change, if a connected regional government holds the
    report (``agency_id``: a government it just left, for ``rerouted``)."""
    holder = session.get(Agency, agency_id or routing.agency_id)
    if holder is None or holder.kind not in regions.REGIONAL_KINDS or not holder.connected:
        return None
    copy = session.get(ReportCopy, routing.report_id)
    payload = RegionReportChanged(
        report_id=routing.report_id,
        change=change,  # type: ignore[arg-type]
        occurred_at=at,
        actor_kind=actor_kind,  # type: ignore[arg-type]
        external_id=external_id,
        text=text[:5000],
        satisfied=satisfied,
        attachments=attachments or [],
        tracking_number=copy.tracking_number if copy else None,
        status=routing.status,
        status_label=lifecycle.label(routing.status),
        province_code=routing.regency_code[:2],
        regency_code=routing.regency_code,
        district_code=routing.district_code,
        category=routing.category,
        title=routing.title or (copy.title if copy else ""),
        story=(copy.body + (f"\n\n{copy.added}" if copy.added else "")) if copy else "",
        agency_id=holder.id,
        agency_name=holder.name,
        unit_id=routing.unit_id if holder.id == routing.agency_id else None,
        unit_name=routing.unit_name if holder.id == routing.agency_id else None,
        subunit_id=routing.subunit_id if holder.id == routing.agency_id else None,
        subunit_name=routing.subunit_name if holder.id == routing.agency_id else None,
        anonymous=routing.anonymous,
        confidential=routing.confidential,
    )
    event = emit(payload)
    province = payload.province_code
    seen = RegionReportChanged.model_validate(regions.view(province, payload.model_dump()))
    emit(seen, regions.province_topic(emit.kit, province), event.id)
    return payload
