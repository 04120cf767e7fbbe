"""Notifications' HTTP API: which messages went out about a report (no addresses)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from notifications import handlers
from services.runtime import ServiceRuntime, runtime_of

router = APIRouter(prefix="/v1", tags=["notifications"])


class NotificationOut(BaseModel):
    """A message as staff and the tracking page may see it."""

    id: str
    template: str
    language: str | None
    text: str | None
    channel: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None


@router.get("/reports/{report_id}/notifications", response_model=list[NotificationOut])
async def notifications(
    report_id: str, rt: Annotated[ServiceRuntime, Depends(runtime_of)]
) -> list[NotificationOut]:
    """Messages about a report, oldest first."""

    def work() -> list[NotificationOut]:
        with rt.database.session() as session:
            return [
                NotificationOut.model_validate(n, from_attributes=True)
                for n in handlers.notifications_of(session, report_id)
            ]

    return await rt.database.read(work)
